//! Integration tests of cx-http: one test binary, one module per area.

#![allow(clippy::unwrap_used)]

mod conditional;
mod proptests;
mod runtime;
mod support;
