//! The cx-sim integration tests use the workspace's shared test support.

pub use cx_testkit::*;
