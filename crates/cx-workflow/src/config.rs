//! Settings of a [`crate::Client`] and their defaults, all in one place.
//!
//! | setting | default | meaning |
//! |---|---|---|
//! | `poller.first_delay` | 0 | first status poll right after submitting (seed 000) |
//! | `poller.initial_delay` | 2 s | wait after the first pending answer (seed 000 `baseDelayMs`) |
//! | `poller.multiplier` | 1.5 | growth per poll (seed 000) |
//! | `poller.max_delay` | 15 s | cap on one wait (seed 000) |
//! | `poller.jitter` | 0.1 | up to 10% of each wait removed at random |
//! | `poller.max_polls` | 30 | polls before [`crate::ErrorKind::WaitTimeout`] (seed 000 `maxAttempts`) |
//! | `poller.deadline` | none | the poll count bounds the wait (about 6.7 min with these delays) |
//! | `max_concurrent_executions` | none | seed 000 quota: refuse when this many executions run |
//! | `max_concurrent_instances` | 50 | seed 001 capacity: refuse when this many instances run |
//! | `definition_ttl` | 30 s | how long a definition read for prerequisite checks is reused |
//! | `clock` | [`SystemClock`] | "now" of audit records and completion timestamps |
//! | `durations` | empty | what executions of each workflow took (server-side); the status poll of a later run waits for that, then tightens ([`Poller::expected`]) |
//!
//! Retries of individual calls (429 with `Retry-After`, 5xx) are the
//! runtime's, configured on the [`cx_http::Client`]. On top, `poller`
//! bounds a whole operation: an execution's (or a trigger's) calls that
//! fail transiently are tried again on its schedule until its `deadline`
//! or `max_polls`.

use std::sync::Arc;
use std::time::Duration;

use cx_http::{Clock, DurationEstimates, Poller, SystemClock};

/// Settings of a [`crate::Client`]. See the module docs for the defaults.
///
/// ```
/// use std::time::Duration;
/// let config = cx_workflow::Config::default()
///     .with_max_concurrent_executions(10)
///     .with_poller(cx_workflow::Config::seed_poller().with_initial_delay(Duration::from_millis(500)));
/// assert_eq!(config.max_concurrent_executions, Some(10));
/// ```
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Config {
    /// How execution status is polled (seed 000 step 3).
    pub poller: Poller,
    /// Seed 000 step 1 quota: when `Some(n)`, count the workflow's running
    /// executions (`GET .../executions?status=running`) before submitting
    /// and refuse with [`WorkflowKind::QuotaExceeded`](crate::WorkflowKind::QuotaExceeded) when `count >= n`.
    /// Default `None` (no check).
    pub max_concurrent_executions: Option<u64>,
    /// Seed 001 step 2 capacity: when `Some(n)`, count the workflow's running
    /// instances before triggering and refuse with
    /// [`WorkflowKind::CapacityExhausted`](crate::WorkflowKind::CapacityExhausted) when `count >= n`.
    /// Default `Some(50)`, the seed's `max_allowed`.
    pub max_concurrent_instances: Option<u64>,
    /// How long [`crate::Client::run`] reuses a workflow definition it
    /// read for its prerequisite checks, so a burst of executions of one
    /// workflow reads it once. The server still refuses an execution of a
    /// workflow that stopped being deployable meanwhile (409), which also
    /// drops the cached copy. Default 30 s; `Duration::ZERO` reads it every time.
    pub definition_ttl: Duration,
    /// Where "now" comes from (audit records, `webhookReceivedAt`).
    /// Default [`SystemClock`].
    pub clock: Arc<dyn Clock>,
    /// What executions of each workflow took, `startedAt` to `completedAt`
    /// as the server reports them (issue 13). A run of a workflow with an
    /// estimate makes its first status read just after that much time,
    /// instead of on `poller`'s schedule from its start, unless `poller`
    /// sets [`Poller::expected`] itself. Default: an empty table of this
    /// client's own (clones of the config share it); the CLI keeps one per
    /// tenant in its cache directory.
    pub durations: Arc<DurationEstimates>,
}

impl Config {
    /// Seed 000's polling schedule: first poll at once, then 2 s ×1.5 capped
    /// at 15 s, 10% jitter, at most 30 polls, no separate deadline.
    pub fn seed_poller() -> Poller {
        Poller::default()
            .with_initial_delay(Duration::from_secs(2))
            .with_max_delay(Duration::from_secs(15))
            .with_deadline(None)
            .with_max_polls(Some(30))
    }
}

impl Default for Config {
    fn default() -> Self {
        Self {
            poller: Self::seed_poller(),
            max_concurrent_executions: None,
            max_concurrent_instances: Some(50),
            definition_ttl: Duration::from_secs(30),
            clock: Arc::new(SystemClock),
            durations: Arc::new(DurationEstimates::new()),
        }
    }
}

cx_http::with_setters! { Config {
    /// Set [`Config::poller`].
    with_poller(poller: Poller);
    /// Refuse an execution while `max_concurrent_executions` run ([`Config::max_concurrent_executions`]).
    with_max_concurrent_executions(max_concurrent_executions: u64) = Some(max_concurrent_executions);
    /// Set [`Config::max_concurrent_instances`] (`None`: no capacity check).
    with_max_concurrent_instances(max_concurrent_instances: Option<u64>);
    /// Set [`Config::definition_ttl`].
    with_definition_ttl(definition_ttl: Duration);
    /// Read "now" from `clock` ([`Config::clock`]).
    with_clock(clock: Arc<dyn Clock>);
    /// Learn and use execution durations in `durations` ([`Config::durations`]).
    with_durations(durations: Arc<DurationEstimates>);
}}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_the_seeds() {
        let c = Config::default();
        assert_eq!(c.poller.max_polls, Some(30));
        assert_eq!(c.poller.initial_delay, Duration::from_secs(2));
        assert_eq!(c.poller.delay_for(10), Duration::from_secs(15));
        assert_eq!(c.poller.first_delay, Duration::ZERO);
        assert_eq!(
            (c.poller.multiplier, c.poller.jitter, c.poller.deadline),
            (1.5, 0.1, None)
        );
        assert_eq!(c.max_concurrent_instances, Some(50));
        assert_eq!(c.max_concurrent_executions, None);
    }
}
