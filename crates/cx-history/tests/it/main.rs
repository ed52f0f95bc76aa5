//! Integration tests of cx-history: one test binary, one module per area.

#![allow(clippy::unwrap_used)]

mod props;
mod sdk;
