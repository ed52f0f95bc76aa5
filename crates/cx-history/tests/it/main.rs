//! Integration tests of cx-history: one test binary, one module per area.

#![allow(clippy::unwrap_used)]

mod borrowed;
mod contact_analytics;
mod props;
mod real;
mod sdk;
