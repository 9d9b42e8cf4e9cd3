//! Shared code of the HORAO benchmark harness: instance readers, the solution checker glue and
//! report formatting used by the `horao-pack` binary.
//!
//! [`instance`] reads BPPLIB and VPSolver files, [`bounds_file`] the best-known bounds,
//! [`runner`] runs an algorithm and checks its packing independently, [`report`] and [`plot`]
//! turn the records into a table or an SVG chart, [`progress`] shows a long run's progress,
//! [`lp_run`] times the LP bound by itself.

pub mod bounds_file;
pub mod class;
pub mod crdt_workload;
pub mod instance;
pub mod lp_run;
pub mod model_workload;
pub mod plot;
pub mod progress;
pub mod report;
pub mod runner;
