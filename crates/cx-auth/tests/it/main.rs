//! Integration tests of cx-auth: one test binary, one module per area.

#![allow(clippy::unwrap_used)]

mod discovery;
mod support;
mod token_cache;
