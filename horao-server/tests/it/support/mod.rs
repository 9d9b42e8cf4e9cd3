//! Helpers shared by the integration tests: real external services started per test.

pub(crate) mod redis;
