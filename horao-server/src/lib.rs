//! The HORAO daemon as a library: durable stores for the replicated model, and (to come) the
//! REST API that serves it. The binary in `main.rs` is a thin shell over this crate.

pub mod store;
