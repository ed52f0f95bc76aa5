//! Integration tests for `cx-workflow`: real HTTP against `cx-sim`.

#[path = "../support/mod.rs"]
mod support;

mod coercion;
mod executions;
mod faults;
mod instances;
mod scripts;
