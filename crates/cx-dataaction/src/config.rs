//! Settings of a [`crate::Client`] and their defaults, all in one place.
//!
//! | setting | default | meaning |
//! |---|---|---|
//! | `poller.first_delay` | 100 ms | first job poll after the execute answer (a job is never done sooner in practice) |
//! | `poller.initial_delay` | 100 ms | wait after the first pending answer |
//! | `poller.multiplier` | 1.5 | growth per poll: 100, 150, 225, 338, 400, 400, ... ms |
//! | `poller.max_delay` | 400 ms | cap on one wait: a finished job is seen within 400 ms + one request |
//! | `poller.jitter` | 0.1 | up to 10% of each wait removed at random (never lengthened) |
//! | `poller.deadline` | 120 s | the max wait (seed 004 `poll_job(max_wait=120)`) |
//! | `compliance_tag` | `GDPR-CCPA-AUDIT` | the seed's tag on every audit entry |
//! | `webhook_url` | none | external workflow engine that receives each audit entry |
//! | `webhook_timeout` | 5 s | one webhook attempt (the seed's `timeout=5`) |
//! | `clock` | [`SystemClock`] | "now" of audit entries |
//! | `durations` | empty | what jobs of each data action took (server-side); a later run's first poll waits for that, then tightens ([`Poller::expected`]) |
//!
//! The seed polls every 3 s, so a 500 ms job takes it about 3 s; this
//! schedule sees it at most ~400 ms after it finishes. The cost is bounded:
//! a job runs at most 60 s (`executionTimeoutMs`), i.e. at most about 150
//! status reads, 2.5 per second once the cap is reached.
//! [`Config::seed_poller`] gives the seed's schedule for comparison.

use std::sync::Arc;
use std::time::Duration;

use cx_http::{Clock, DurationEstimates, Poller, SystemClock};

/// Settings of a [`crate::Client`]. See the module docs for the defaults.
///
/// Built from `Default` and the `with_*` setters:
///
/// ```
/// use std::time::Duration;
/// use cx_dataaction::Config;
///
/// let config = Config::default()
///     .with_poller(Config::seed_poller())
///     .with_webhook_url("https://engine.example.com/audit")
///     .with_webhook_timeout(Duration::from_secs(2));
/// assert_eq!(config.webhook_url.as_deref(), Some("https://engine.example.com/audit"));
/// ```
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Config {
    /// How job status is polled; `deadline` is the max wait.
    pub poller: Poller,
    /// Tag written into every audit entry.
    pub compliance_tag: String,
    /// Absolute URL the audit entry is POSTed to after every run (seed 004
    /// step 5); `None` for no webhook.
    pub webhook_url: Option<String>,
    /// Timeout of one webhook attempt.
    pub webhook_timeout: Duration,
    /// Where "now" comes from (audit entry timestamps). Default [`SystemClock`].
    pub clock: Arc<dyn Clock>,
    /// What jobs of each data action took, `createdAt` to `completedAt` as
    /// the server reports them (issue 13). A run of an action with an
    /// estimate makes its first job poll just after that much time instead
    /// of on `poller`'s schedule, unless `poller` sets
    /// [`Poller::expected`] itself. Default: an empty table of this client's
    /// own (clones of the config share it); the CLI keeps one per tenant in
    /// its cache directory.
    pub durations: Arc<DurationEstimates>,
}

impl Config {
    /// The default poll schedule (see the module table): the runtime's
    /// ×1.5 growth, 10% jitter and 120 s deadline, with 100 ms steps capped
    /// at 400 ms.
    pub fn default_poller() -> Poller {
        Poller::default()
            .with_first_delay(Duration::from_millis(100))
            .with_initial_delay(Duration::from_millis(100))
            .with_max_delay(Duration::from_millis(400))
    }

    /// Seed 004's schedule: poll at once, then every 3 s, for up to 120 s.
    pub fn seed_poller() -> Poller {
        Poller::default()
            .with_initial_delay(Duration::from_secs(3))
            .with_multiplier(1.0)
            .with_max_delay(Duration::from_secs(3))
            .with_jitter(0.0)
    }
}

impl Default for Config {
    fn default() -> Self {
        Self {
            poller: Self::default_poller(),
            compliance_tag: "GDPR-CCPA-AUDIT".to_owned(),
            webhook_url: None,
            webhook_timeout: Duration::from_secs(5),
            clock: Arc::new(SystemClock),
            durations: Arc::new(DurationEstimates::new()),
        }
    }
}

cx_http::with_setters! { Config {
    /// Set [`Config::poller`] (its `deadline` is the max wait).
    with_poller(poller: Poller);
    /// Set [`Config::compliance_tag`].
    with_compliance_tag(compliance_tag: impl Into<String>) = compliance_tag.into();
    /// POST every audit entry to `webhook_url` ([`Config::webhook_url`]; an
    /// absolute URL, checked when a run posts).
    with_webhook_url(webhook_url: impl Into<String>) = Some(webhook_url.into());
    /// Set [`Config::webhook_timeout`].
    with_webhook_timeout(webhook_timeout: Duration);
    /// Read "now" from `clock` ([`Config::clock`]).
    with_clock(clock: Arc<dyn Clock>);
    /// Learn and use job durations in `durations` ([`Config::durations`]).
    with_durations(durations: Arc<DurationEstimates>);
}}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_schedule_is_capped_below_half_a_second() {
        let p = Config::default().poller;
        let ms: Vec<u128> = (1..=7).map(|n| p.delay_for(n).as_millis()).collect();
        assert_eq!(ms, [100, 150, 225, 337, 400, 400, 400]);
        assert_eq!(p.deadline, Some(Duration::from_secs(120)));
        assert_eq!((p.first_delay, p.jitter), (Duration::from_millis(100), 0.1));
        assert_eq!(Config::seed_poller().delay_for(9), Duration::from_secs(3));
    }
}
