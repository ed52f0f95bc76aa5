//! Where "now" comes from: shift validation and payload timestamps read an
//! injectable [`Clock`], so tests and replays can pin time. The clock types
//! are the runtime's ([`cx_http::Clock`]), re-exported here.

use std::sync::Arc;

pub use cx_http::{Clock, FixedClock, SystemClock};

/// The default clock, shared.
pub(crate) fn system() -> Arc<dyn Clock> {
    Arc::new(SystemClock)
}
