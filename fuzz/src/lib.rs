//! Entry points of the fuzz targets that need more than one crate's public API: the model
//! targets ([`model`]). The horao-crdt targets call `horao_crdt::fuzzing` directly.

pub mod model;
