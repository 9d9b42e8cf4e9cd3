//! horao-server's integration tests, one binary.
