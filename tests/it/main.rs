//! Cross-crate scenarios: the SDK's crates together against cx-sim over
//! real HTTP, asserting on what the simulator recorded and on the audit
//! files left behind.

// Tests unwrap: a panic with the value is the failure report.
#![allow(clippy::unwrap_used)]

mod status_table;
mod support;
mod workflows;
