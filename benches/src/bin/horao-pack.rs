//! `horao-pack`: runs packing algorithms over BPPLIB and VPSolver instance files.
fn main() {}
