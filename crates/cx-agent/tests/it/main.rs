//! Integration tests of cx-agent: one test binary, one module per area.

#![allow(clippy::unwrap_used)]

mod flow;
mod history;
mod lost_updates;
mod real;
mod sessions;
mod support;
