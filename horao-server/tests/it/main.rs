//! horao-server's integration tests, one binary.

mod crud;
mod hostile;
mod lifecycle;
mod roles;
mod support;
