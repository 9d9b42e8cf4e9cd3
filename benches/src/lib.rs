//! Shared code of the HORAO benchmark harness: instance readers, the solution checker glue and
//! report formatting used by the `horao-pack` binary.
