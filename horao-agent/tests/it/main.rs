//! Integration tests of the real btrfs backend and the real reconcile loop, on btrfs
//! filesystems made in image files and loop-mounted. They need root and loop devices; where
//! those are missing they report themselves skipped, unless `HORAO_REQUIRE_ROOT_TESTS=1`.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // Tests fail by panicking.

mod agent;
mod backend;
mod e2e;
mod kill;
mod reconcile;
mod support;
mod watch;
