//! Where "now" comes from: shift validation and payload timestamps read an
//! injectable [`Clock`] ([`crate::Config::clock`]), so tests and replays can pin time. The clock types
//! are the runtime's ([`cx_http::Clock`]), re-exported here.

pub use cx_http::{Clock, FixedClock, SystemClock};
