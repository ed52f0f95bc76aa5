//! Settings of a [`crate::Client`] and their defaults, all in one place.
//!
//! | setting | default | meaning |
//! |---|---|---|
//! | `max_update_attempts` | 3 | attempts of a conditional work-mode update, the first included (seed 002's `updateWithRetry`) |
//! | `patch_rate_limit` | 5/s, burst 1 | work-mode PATCHes per second per tenant (seed 002's 429 advice); retries take slots too |
//! | `publish_events` | true | publish `agent.availability.changed` after each successful update (seed 002 step 4) |
//!
//! Retries of individual calls (429 with `Retry-After`, 5xx of reads) are
//! the runtime's, configured on the [`cx_http::Client`].

use cx_http::RateLimit;

/// Settings of a [`crate::Client`]. See the module docs for the defaults.
#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    /// Attempts of a conditional update before [`crate::ErrorKind::Conflict`] (≥ 1).
    pub max_update_attempts: u32,
    /// Rate of work-mode PATCHes through one client (and its clones).
    pub patch_rate_limit: RateLimit,
    /// Publish `agent.availability.changed` after a successful update.
    pub publish_events: bool,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            max_update_attempts: 3,
            patch_rate_limit: RateLimit {
                per_second: 5,
                burst: 1,
            },
            publish_events: true,
        }
    }
}
