//! Settings of a [`crate::Client`] and their defaults, all in one place.
//!
//! | setting | default | meaning |
//! |---|---|---|
//! | `max_update_attempts` | 3 | attempts of a conditional work-mode update, the first included (seed 002's `updateWithRetry`) |
//! | `patch_rate_limit` | 5/s, burst 1 | work-mode PATCHes per second per tenant (seed 002's 429 advice); retries take slots too |
//! | `publish_events` | true | publish `agent.availability.changed` after each successful update (seed 002 step 4) |
//! | `clock` | [`SystemClock`] | "now" of shift rules, payload, event and audit timestamps |
//!
//! Retries of individual calls (429 with `Retry-After`, 5xx of reads) are
//! the runtime's, configured on the [`cx_http::Client`].

use std::sync::Arc;

use cx_http::{Clock, RateLimit, SystemClock};

/// Settings of a [`crate::Client`]. See the module docs for the defaults.
///
/// Built from `Default` and the `with_*` setters:
///
/// ```
/// let config = cx_agent::Config::default()
///     .with_max_update_attempts(5)
///     .with_patch_rate_limit(cx_http::RateLimit::new(2, 1))
///     .with_publish_events(false);
/// assert_eq!(config.max_update_attempts, 5);
/// ```
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Config {
    /// Attempts of a conditional update before [`crate::ErrorKind::Conflict`] (≥ 1).
    pub max_update_attempts: u32,
    /// Rate of work-mode PATCHes through one client (and its clones).
    pub patch_rate_limit: RateLimit,
    /// Publish `agent.availability.changed` after a successful update.
    pub publish_events: bool,
    /// Where "now" comes from. Default [`SystemClock`].
    pub clock: Arc<dyn Clock>,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            max_update_attempts: 3,
            patch_rate_limit: RateLimit::new(5, 1),
            publish_events: true,
            clock: Arc::new(SystemClock),
        }
    }
}

cx_http::with_setters! { Config {
    /// Set [`Config::max_update_attempts`] (≥ 1; 0 is refused by the update, before any request).
    with_max_update_attempts(max_update_attempts: u32);
    /// Set [`Config::patch_rate_limit`] (both numbers ≥ 1; 0 is refused by the update, before any request).
    with_patch_rate_limit(patch_rate_limit: RateLimit);
    /// Set [`Config::publish_events`].
    with_publish_events(publish_events: bool);
    /// Read "now" from `clock` ([`Config::clock`]).
    with_clock(clock: Arc<dyn Clock>);
}}
