//! [`Poller`]: waits for a long-running operation (a workflow execution, a
//! data-action job) to reach a terminal state, and retries the calls of an
//! operation ([`Poller::retry`], e.g. a submission with an idempotency key)
//! until the operation's own deadline.
//!
//! Delays grow geometrically from `initial_delay` by `multiplier` up to
//! `max_delay`, each shortened by up to `jitter` (a fraction) at random so
//! that many pollers do not synchronise. A `Retry-After` from the server
//! replaces the computed delay.
//!
//! When the operation's duration can be foreseen ([`Poller::expected`]: what
//! the server said, or what [`DurationEstimates`] learned from earlier runs
//! of the same workflow or action), the first check is made just after the
//! expected end instead of on the generic schedule (which lands at 0, 200,
//! 500 ms... whatever the operation), and the checks after a pending answer
//! tighten around it: a twentieth of the expected duration (at least 10 ms),
//! growing by `multiplier`. The jitter then only delays a check (by up to
//! half of `jitter` of the expected duration), so that clients do not
//! synchronise and still do not check before the expected end. An expected
//! end at or past the deadline is ignored (the generic schedule then): a
//! wait for it would reach the deadline without a single check.
//!
//! A check that fails *transiently* ([`Error::is_transient`]: no response,
//! 408, 429, 5xx but 501, or no token for one of these reasons) counts as a
//! poll and is tried again on the same schedule (honouring the error's
//! `Retry-After`): one request's retry budget never ends an operation. Each
//! check runs within what is left of `deadline`. Polling ends:
//! - with the value, when a check reports [`PollStatus::Done`];
//! - with the check's error, unchanged, when it is not transient;
//! - when `max_polls` polls were made or `deadline` passed: with the last
//!   transient error if the last check failed (its outcome is unknown), or
//!   [`ErrorKind::WaitTimeout`] naming the operation if it was pending or
//!   the deadline passed during a check.
//!
//! Retrying is paced by the poll schedule, so it adds no more load than
//! polling itself. Dropping the future cancels it (nothing runs in the
//! background).

use std::collections::HashMap;
use std::future::Future;
use std::sync::Mutex;
use std::time::Duration;

use tokio::time::Instant;

use crate::error::{Error, ErrorKind};

/// What one poll saw.
#[derive(Debug, Clone, PartialEq)]
pub enum PollStatus<T> {
    /// Terminal state reached, with its value.
    Done(T),
    /// Still running; the server may ask for a specific wait.
    Pending {
        /// The server's `Retry-After`, if any.
        retry_after: Option<Duration>,
    },
}

/// The terminal value and what it took to get it.
#[derive(Debug, Clone, PartialEq)]
pub struct PollOutcome<T> {
    /// The terminal value.
    pub value: T,
    /// Polls made (≥ 1).
    pub polls: u32,
    /// Time from the first poll's start to the terminal answer.
    pub elapsed: Duration,
}

/// Progress, reported before each wait.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PollProgress {
    /// Polls made so far.
    pub polls: u32,
    /// Time since polling started.
    pub elapsed: Duration,
    /// The wait before the next poll.
    pub next_delay: Duration,
}

/// Poll schedule. Default: first poll at once, then 200 ms ×1.5 capped at 5 s,
/// 10% jitter, 120 s deadline, no poll limit.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct Poller {
    /// Wait before the first poll. Default 0.
    pub first_delay: Duration,
    /// Wait after the first pending answer. Default 200 ms.
    pub initial_delay: Duration,
    /// Growth per poll. Default 1.5.
    pub multiplier: f64,
    /// Cap on one wait. Default 5 s.
    pub max_delay: Duration,
    /// Fraction of a wait removed at random, 0..=1. Default 0.1.
    pub jitter: f64,
    /// Give up after this long. Default 120 s; `None` for no deadline (as
    /// is one past what the clock holds, e.g. `Duration::MAX`).
    pub deadline: Option<Duration>,
    /// Give up after this many polls. Default `None`.
    pub max_polls: Option<u32>,
    /// How long the operation is expected to take from the start of
    /// polling, when known (see the module docs). Default `None`: the
    /// generic schedule.
    pub expected: Option<Duration>,
}

impl Default for Poller {
    fn default() -> Self {
        Self {
            first_delay: Duration::ZERO,
            initial_delay: Duration::from_millis(200),
            multiplier: 1.5,
            max_delay: Duration::from_secs(5),
            jitter: 0.1,
            deadline: Some(Duration::from_secs(120)),
            max_polls: None,
            expected: None,
        }
    }
}

crate::with_setters! { Poller {
    /// Set [`Poller::first_delay`].
    with_first_delay(first_delay: Duration);
    /// Set [`Poller::initial_delay`].
    with_initial_delay(initial_delay: Duration);
    /// Set [`Poller::multiplier`].
    with_multiplier(multiplier: f64);
    /// Set [`Poller::max_delay`].
    with_max_delay(max_delay: Duration);
    /// Set [`Poller::jitter`] (a fraction, 0..=1).
    with_jitter(jitter: f64);
    /// Set [`Poller::deadline`] (`None` for no deadline).
    with_deadline(deadline: Option<Duration>);
    /// Set [`Poller::max_polls`] (`None` for no limit).
    with_max_polls(max_polls: Option<u32>);
    /// Set [`Poller::expected`] (`None` for the generic schedule).
    with_expected(expected: Option<Duration>);
}}

/// `d` times `factor`, never panicking: a factor that is not a finite,
/// non-negative number (a `jitter` of NaN) leaves `d` as it is, and a product
/// past what a `Duration` holds is `Duration::MAX` (the deadline then bounds
/// the wait).
fn scale(d: Duration, factor: f64) -> Duration {
    if !factor.is_finite() || factor < 0.0 {
        return d;
    }
    Duration::try_from_secs_f64(d.as_secs_f64() * factor).unwrap_or(Duration::MAX)
}

/// Added to an expected duration before the first check, as a fraction of
/// it: a check that lands just before the end costs a second one.
const EXPECTED_MARGIN: f64 = 0.02;

/// The wait after a pending answer past the expected end, as a fraction of
/// the expected duration, before `multiplier` growth.
const EXPECTED_STEP: f64 = 0.05;

/// The shortest wait after a pending answer past the expected end.
const EXPECTED_STEP_FLOOR: Duration = Duration::from_millis(10);

impl Poller {
    /// The wait after `pending` pending answers (1-based), before jitter.
    ///
    /// With [`Poller::expected`] set, the steps start at a twentieth of it
    /// (at least 10 ms) instead of `initial_delay`.
    pub fn delay_for(&self, pending: u32) -> Duration {
        let exp = self
            .multiplier
            .max(1.0)
            .powi(pending.saturating_sub(1).min(64) as i32);
        let first = match self.expected {
            Some(e) => e.mul_f64(EXPECTED_STEP).max(EXPECTED_STEP_FLOOR),
            None => self.initial_delay,
        };
        let d = first.as_secs_f64() * exp;
        let cap = self.max_delay.as_secs_f64();
        // A cap of about 2^64 s (`Duration::MAX`) is past what a `Duration`
        // made from an `f64` holds: the cap itself then.
        Duration::try_from_secs_f64(if d.is_finite() { d.min(cap) } else { cap })
            .unwrap_or(self.max_delay)
    }

    /// The wait before the first check: `first_delay`, or with
    /// [`Poller::expected`] the expected duration plus a 2% margin and up
    /// to half of `jitter` of it at random (`unit` in 0..1), if longer.
    fn first_wait(&self, unit: f64) -> Duration {
        let expected = self.expected.map_or(Duration::ZERO, |e| {
            let late = EXPECTED_MARGIN + self.jitter.clamp(0.0, 1.0) * 0.5 * unit.clamp(0.0, 1.0);
            scale(e, 1.0 + late)
        });
        self.first_delay.max(expected)
    }

    /// The wait after the `pending`-th pending answer: [`Poller::delay_for`]
    /// shortened by up to `jitter` (`unit` in 0..1) — lengthened instead when
    /// the schedule follows an expected duration, so that a check never
    /// comes earlier than planned.
    fn jittered(&self, pending: u32, unit: f64) -> Duration {
        let base = self.delay_for(pending);
        let jitter = self.jitter.clamp(0.0, 1.0) * unit.clamp(0.0, 1.0);
        if self.expected.is_some() {
            scale(base, 1.0 + jitter * 0.5)
        } else {
            scale(base, 1.0 - jitter)
        }
    }

    /// The schedule left after `elapsed` was spent on earlier steps of the
    /// same operation (e.g. its submission): `deadline` shrinks accordingly,
    /// so that one operation keeps one deadline. `max_polls` stays: it
    /// bounds each step's calls.
    #[must_use]
    pub fn spent(&self, elapsed: Duration) -> Poller {
        Poller {
            deadline: self.deadline.map(|d| d.saturating_sub(elapsed)),
            ..self.clone()
        }
    }

    /// Call `attempt` until it succeeds, retrying transient failures on this
    /// schedule (without `first_delay`) within `deadline` and `max_polls`.
    ///
    /// `attempt` must be safe to repeat: a read, or a POST that carries the
    /// same idempotency key every time, so that a response lost after the
    /// server acted is recovered by the next attempt instead of acting twice.
    ///
    /// # Errors
    /// `attempt`'s first non-transient error; its last transient error when
    /// the deadline or the attempt limit ends the retries;
    /// [`ErrorKind::WaitTimeout`] when the deadline passes during an attempt.
    pub async fn retry<T, F, Fut>(
        &self,
        operation: &str,
        mut attempt: F,
    ) -> Result<PollOutcome<T>, Error>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, Error>>,
    {
        let schedule = Poller {
            first_delay: Duration::ZERO,
            expected: None,
            ..self.clone()
        };
        schedule
            .poll(operation, || {
                let fut = attempt();
                async move { fut.await.map(PollStatus::Done) }
            })
            .await
    }

    /// Poll `check` until it reports [`PollStatus::Done`] (see the module
    /// docs for transient failures).
    ///
    /// `operation` names what is polled (e.g. `"execution exec_123"`) in the
    /// exhaustion error. `check` is called again after a transient failure,
    /// so it must be safe to repeat.
    ///
    /// # Errors
    /// `check`'s non-transient error, unchanged; its last transient error
    /// when polls or time run out after a failed check;
    /// [`ErrorKind::WaitTimeout`] when they run out while the operation is
    /// pending or the deadline passes during a check (its message names
    /// `operation`, the polls and the ms waited).
    pub async fn poll<T, F, Fut>(&self, operation: &str, check: F) -> Result<PollOutcome<T>, Error>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<PollStatus<T>, Error>>,
    {
        self.poll_with_progress(operation, check, |_| {}).await
    }

    /// As [`Poller::poll`], calling `progress` before every wait (for spinners).
    ///
    /// # Errors
    /// As [`Poller::poll`].
    pub async fn poll_with_progress<T, F, Fut, P>(
        &self,
        operation: &str,
        mut check: F,
        mut progress: P,
    ) -> Result<PollOutcome<T>, Error>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<PollStatus<T>, Error>>,
        P: FnMut(&PollProgress),
    {
        let started = Instant::now();
        // A deadline past what the clock holds (`Duration::MAX`) never comes.
        let deadline = self.deadline.and_then(|d| started.checked_add(d));
        let mut first = self.first_wait(rand::random::<f64>());
        // An expected end at or past the deadline (an earlier run took
        // longer than this one may wait) would leave no check before it:
        // the generic schedule then, which looks while there is time.
        let generic;
        let this = match (deadline, self.expected) {
            (Some(at), Some(_)) if started.checked_add(first).is_none_or(|end| end >= at) => {
                generic = Poller {
                    expected: None,
                    ..self.clone()
                };
                first = generic.first_wait(0.0);
                &generic
            }
            _ => self,
        };
        if !first.is_zero() {
            let wait =
                deadline.map_or(first, |at| first.min(at.saturating_duration_since(started)));
            tokio::time::sleep(wait).await;
        }
        let mut polls = 0u32;
        loop {
            polls += 1;
            let answer = match deadline {
                None => check().await,
                Some(at) => match tokio::time::timeout_at(at, check()).await {
                    Ok(answer) => answer,
                    Err(_) => {
                        return Err(Error::new(
                            ErrorKind::WaitTimeout,
                            format!(
                                "{operation} did not finish within its deadline of {} ms (it passed during poll {polls})",
                                self.deadline.unwrap_or_default().as_millis()
                            ),
                        ));
                    }
                },
            };
            let (retry_after, failed) = match answer {
                Ok(PollStatus::Done(value)) => {
                    metrics::histogram!("cx_poll_polls").record(f64::from(polls));
                    return Ok(PollOutcome {
                        value,
                        polls,
                        elapsed: started.elapsed(),
                    });
                }
                Ok(PollStatus::Pending { retry_after }) => (retry_after, None),
                Err(e) if e.is_transient() => {
                    tracing::debug!(operation, polls, error = %e, "transient poll failure; polling on");
                    metrics::counter!("cx_poll_transient_failures_total").increment(1);
                    (e.retry_after(), Some(e))
                }
                Err(e) => return Err(e),
            };
            let elapsed = started.elapsed();
            let out_of_polls = self.max_polls.is_some_and(|max| polls >= max);
            let remaining = deadline.map(|at| at.saturating_duration_since(Instant::now()));
            if out_of_polls || remaining.is_some_and(|r| r.is_zero()) {
                if let Some(e) = failed {
                    return Err(e);
                }
                return Err(Error::new(
                    ErrorKind::WaitTimeout,
                    format!(
                        "{operation} had not finished after {polls} polls in {} ms (its outcome is unknown)",
                        elapsed.as_millis()
                    ),
                ));
            }
            let mut delay =
                retry_after.unwrap_or_else(|| this.jittered(polls, rand::random::<f64>()));
            if let Some(r) = remaining {
                delay = delay.min(r);
            }
            progress(&PollProgress {
                polls,
                elapsed,
                next_delay: delay,
            });
            tokio::time::sleep(delay).await;
        }
    }
}

/// What this client has seen operations take, per key (a workflow id, a
/// data action id): a small estimate to set [`Poller::expected`] from, so
/// that a run is checked once near its end instead of on a guess (issue 13).
///
/// Each key keeps an exponentially weighted mean (weight 1/2 for the newest
/// observation), so a changed duration is followed within a few runs. At
/// most [`DurationEstimates::MAX_KEYS`] keys are kept; the one observed
/// longest ago makes room. Observe the duration the server reports where it
/// reports one (e.g. an execution's `completedAt - startedAt`): what the
/// client measures includes its own lateness, and feeding that back would
/// make each estimate creep upwards. Thread-safe; share one through an
/// `Arc`. The CLI persists [`DurationEstimates::entries`] between runs.
#[derive(Debug, Default)]
pub struct DurationEstimates {
    inner: Mutex<EstimateTable>,
}

#[derive(Debug, Default)]
struct EstimateTable {
    /// key -> (estimate, the tick of its last observation)
    by_key: HashMap<String, (Duration, u64)>,
    tick: u64,
}

impl DurationEstimates {
    /// Keys kept at most.
    pub const MAX_KEYS: usize = 256;

    /// The longest estimate kept: 1 h. A poller without a deadline never
    /// waits longer than this before its first check because of what it
    /// learned.
    pub const MAX_ESTIMATE: Duration = Duration::from_secs(3600);

    /// An empty table.
    pub fn new() -> Self {
        Self::default()
    }

    /// A table holding `entries` (e.g. read back from a cache file), oldest
    /// first; past [`DurationEstimates::MAX_KEYS`] the first ones are dropped.
    pub fn from_entries(entries: impl IntoIterator<Item = (String, Duration)>) -> Self {
        let table = Self::new();
        for (key, d) in entries {
            table.set(key, d);
        }
        table
    }

    /// The expected duration of an operation of `key`, if one was observed.
    pub fn expected(&self, key: &str) -> Option<Duration> {
        self.lock().by_key.get(key).map(|(d, _)| *d)
    }

    /// Record that an operation of `key` took `took`.
    /// A duration past [`DurationEstimates::MAX_ESTIMATE`] (a clock jump on
    /// the server, a hand-edited cache) counts as that.
    pub fn observe(&self, key: &str, took: Duration) {
        let took = took.min(Self::MAX_ESTIMATE);
        let next = match self.expected(key) {
            Some(old) => old.saturating_add(took) / 2,
            None => took,
        };
        self.set(key.to_owned(), next);
    }

    /// Every estimate, observed longest ago first (what
    /// [`DurationEstimates::from_entries`] reads back).
    pub fn entries(&self) -> Vec<(String, Duration)> {
        let table = self.lock();
        let mut all: Vec<_> = table
            .by_key
            .iter()
            .map(|(k, (d, t))| (*t, k.clone(), *d))
            .collect();
        all.sort();
        all.into_iter().map(|(_, k, d)| (k, d)).collect()
    }

    fn set(&self, key: String, d: Duration) {
        let d = d.min(Self::MAX_ESTIMATE);
        let mut table = self.lock();
        table.tick += 1;
        let tick = table.tick;
        table.by_key.insert(key, (d, tick));
        if table.by_key.len() > Self::MAX_KEYS {
            let oldest = table
                .by_key
                .iter()
                .min_by_key(|(_, (_, t))| *t)
                .map(|(k, _)| k.clone());
            if let Some(k) = oldest {
                table.by_key.remove(&k);
            }
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, EstimateTable> {
        // A panic elsewhere while holding it leaves a table still worth using.
        self.inner
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_grow_and_cap() {
        let p = Poller {
            initial_delay: Duration::from_secs(2),
            multiplier: 1.5,
            max_delay: Duration::from_secs(15),
            ..Poller::default()
        };
        let secs: Vec<f64> = (1..=7).map(|n| p.delay_for(n).as_secs_f64()).collect();
        assert_eq!(secs, vec![2.0, 3.0, 4.5, 6.75, 10.125, 15.0, 15.0]);
    }

    /// Polls `"job j"` on `p`, `check(n)` answering poll `n` (from 1);
    /// returns the outcome, how many polls ran and the (paused) time spent.
    async fn poll_on<T, Fut>(
        p: Poller,
        check: impl Fn(u32) -> Fut,
    ) -> (Result<PollOutcome<T>, Error>, u32, Duration)
    where
        Fut: Future<Output = Result<PollStatus<T>, Error>>,
    {
        let started = tokio::time::Instant::now();
        let mut n = 0;
        let outcome = p
            .poll("job j", || {
                n += 1;
                check(n)
            })
            .await;
        (outcome, n, started.elapsed())
    }

    async fn pending(_: u32) -> Result<PollStatus<()>, Error> {
        Ok(PollStatus::Pending { retry_after: None })
    }

    fn unavailable() -> Error {
        Error::new(ErrorKind::Status, "GET /x failed").with_status(503)
    }

    #[tokio::test(start_paused = true)]
    async fn max_polls_ends_with_an_error_naming_the_operation() {
        let p = Poller::default().with_max_polls(Some(3));
        let (outcome, n, _) = poll_on(p, pending).await;
        assert_eq!(n, 3);
        let err = outcome.err().map(|e| (e.kind(), e.to_string()));
        assert!(
            matches!(&err, Some((ErrorKind::WaitTimeout, m)) if m.contains("job j") && m.contains("3 polls")),
            "{err:?}"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn deadline_ends_polling() {
        let p = Poller::default().with_deadline(Some(Duration::from_secs(10)));
        let (outcome, _, elapsed) = poll_on(p, pending).await;
        assert!(outcome.err().is_some_and(|e| e.is_timeout()));
        assert!(elapsed >= Duration::from_secs(10));
        assert!(elapsed < Duration::from_secs(11));
    }

    #[tokio::test(start_paused = true)]
    async fn a_deadline_longer_than_the_clock_holds_never_comes() {
        // `Duration::MAX` for "no deadline" (e.g. `cx workflow run --timeout`
        // with the largest number it takes).
        let p = Poller::default().with_deadline(Some(Duration::MAX));
        let (outcome, _, _) = poll_on(p, |n| {
            std::future::ready(Ok(if n < 2 {
                PollStatus::Pending { retry_after: None }
            } else {
                PollStatus::Done(n)
            }))
        })
        .await;
        assert_eq!(outcome.ok().map(|o| o.value), Some(2));
    }

    #[tokio::test(start_paused = true)]
    async fn transient_failures_are_polls_and_polling_goes_on() {
        let p = Poller::default().with_max_polls(Some(10));
        let (outcome, _, _) = poll_on(p, |n| {
            std::future::ready(if n <= 3 {
                Err(unavailable())
            } else {
                Ok(PollStatus::Done(n))
            })
        })
        .await;
        assert_eq!(outcome.ok().map(|o| (o.value, o.polls)), Some((4, 4)));
    }

    #[tokio::test(start_paused = true)]
    async fn the_deadline_bounds_a_check_that_hangs() {
        let p = Poller::default().with_deadline(Some(Duration::from_secs(3)));
        let (outcome, _, elapsed) = poll_on(p, |_| async {
            // The hang under test, on paused time: nothing waits on the
            // wall clock.
            tokio::time::sleep(Duration::from_secs(3600)).await;
            Ok(PollStatus::Done(()))
        })
        .await;
        let err = outcome.err();
        assert!(
            err.as_ref().is_some_and(
                |e| e.kind() == ErrorKind::WaitTimeout && e.to_string().contains("job j")
            ),
            "{err:?}"
        );
        assert_eq!(elapsed, Duration::from_secs(3));
    }

    #[tokio::test(start_paused = true)]
    async fn retry_spends_what_the_operation_has_left() {
        let p = Poller {
            first_delay: Duration::from_secs(1),
            deadline: Some(Duration::from_secs(10)),
            max_polls: Some(5),
            jitter: 0.0,
            ..Poller::default()
        };
        let left = p.spent(Duration::from_secs(4));
        assert_eq!(left.deadline, Some(Duration::from_secs(6)));
        assert_eq!(left.max_polls, Some(5));
        assert_eq!(
            p.spent(Duration::from_secs(20)).deadline,
            Some(Duration::ZERO)
        );
        let mut n = 0;
        let started = tokio::time::Instant::now();
        let err = left
            .retry("submitting", || {
                n += 1;
                async { Err::<(), _>(unavailable()) }
            })
            .await
            .err();
        assert_eq!(n, 5);
        assert_eq!(err.and_then(|e| e.status()), Some(503));
        // 200 + 300 + 450 + 675 ms between 5 attempts; no first_delay.
        assert_eq!(started.elapsed(), Duration::from_millis(1625));
    }

    #[test]
    fn with_an_expected_duration_the_first_check_comes_just_after_it() {
        let p = Poller::default().with_expected(Some(Duration::from_millis(300)));
        // 2% margin, then up to half the 10% jitter later, never earlier.
        assert_eq!(p.first_wait(0.0), Duration::from_millis(306));
        assert_eq!(p.first_wait(1.0), Duration::from_millis(321));
        // Pending past the end: a twentieth of it, growing, jitter later only.
        assert_eq!(p.delay_for(1), Duration::from_millis(15));
        assert_eq!(p.jittered(1, 0.0), Duration::from_millis(15));
        assert!(p.jittered(2, 1.0) > p.delay_for(2));
        // Tiny expectations still wait at least 10 ms between checks.
        let tiny = Poller::default().with_expected(Some(Duration::from_millis(20)));
        assert_eq!(tiny.delay_for(1), Duration::from_millis(10));
        // Without one: the generic schedule, jitter earlier only.
        let generic = Poller::default();
        assert_eq!(generic.first_wait(1.0), Duration::ZERO);
        assert!(generic.jittered(1, 1.0) < generic.delay_for(1));
    }

    /// Polls with `p` an operation that ends `after` from now (paused time):
    /// the checks made and the time taken.
    async fn poll_ending_after(p: Poller, after: Duration) -> (u32, Duration) {
        let started = tokio::time::Instant::now();
        let ends = started + after;
        let outcome = p
            .poll("execution e", || async move {
                Ok(if tokio::time::Instant::now() >= ends {
                    PollStatus::Done(())
                } else {
                    PollStatus::Pending { retry_after: None }
                })
            })
            .await;
        let outcome = outcome.unwrap_or_else(|e| panic!("{e}"));
        (outcome.polls, started.elapsed())
    }

    #[tokio::test(start_paused = true)]
    async fn an_operation_that_ends_on_time_is_checked_once() {
        let expected = Duration::from_millis(300);
        let p = Poller::default().with_expected(Some(expected));
        let (polls, took) = poll_ending_after(p, expected).await;
        assert_eq!(polls, 1);
        assert!(took <= expected.mul_f64(1.07), "{took:?}");
    }

    #[tokio::test(start_paused = true)]
    async fn an_expected_end_past_the_deadline_is_not_slept_through() {
        // An earlier run took an hour; this one may wait 10 s and ends in 1 s.
        let p = Poller::default()
            .with_expected(Some(Duration::from_secs(3600)))
            .with_deadline(Some(Duration::from_secs(10)));
        let (polls, took) = poll_ending_after(p, Duration::from_secs(1)).await;
        // The generic schedule: checks from the start, 200 ms growing ×1.5.
        assert!(polls > 1, "{polls}");
        assert!(took < Duration::from_secs(2), "{took:?}");
    }

    #[tokio::test(start_paused = true)]
    async fn retry_ignores_the_expected_duration() {
        let p = Poller::default().with_expected(Some(Duration::from_secs(5)));
        let started = tokio::time::Instant::now();
        let outcome = p.retry("submitting", || async { Ok(1) }).await;
        assert_eq!(outcome.ok().map(|o| o.value), Some(1));
        assert_eq!(started.elapsed(), Duration::ZERO);
    }

    #[test]
    fn estimates_follow_observations_and_keep_the_newest_keys() {
        let t = DurationEstimates::new();
        assert_eq!(t.expected("wf_1"), None);
        t.observe("wf_1", Duration::from_millis(300));
        assert_eq!(t.expected("wf_1"), Some(Duration::from_millis(300)));
        t.observe("wf_1", Duration::from_millis(500));
        assert_eq!(t.expected("wf_1"), Some(Duration::from_millis(400)));
        for i in 0..DurationEstimates::MAX_KEYS {
            t.observe(&format!("k{i}"), Duration::from_millis(1));
        }
        // wf_1 was observed longest ago: it made room.
        assert_eq!(t.expected("wf_1"), None);
        let entries = t.entries();
        assert_eq!(entries.len(), DurationEstimates::MAX_KEYS);
        assert_eq!(entries.first().map(|(k, _)| k.as_str()), Some("k0"));
        let back = DurationEstimates::from_entries(entries.clone());
        assert_eq!(back.entries(), entries);
    }

    #[test]
    fn hostile_durations_and_jitter_do_not_panic() {
        let huge = Poller::default().with_expected(Some(Duration::MAX));
        assert_eq!(huge.first_wait(1.0), Duration::MAX);
        let nan = Poller::default()
            .with_jitter(f64::NAN)
            .with_expected(Some(Duration::from_millis(300)));
        // A factor that is no number leaves the wait as it is.
        assert_eq!(nan.first_wait(1.0), Duration::from_millis(300));
        assert_eq!(nan.jittered(1, 1.0), nan.delay_for(1));
        let t = DurationEstimates::new();
        t.observe("wf", Duration::MAX);
        t.observe("wf", Duration::MAX);
        assert_eq!(t.expected("wf"), Some(DurationEstimates::MAX_ESTIMATE));
        let back = DurationEstimates::from_entries([("wf".to_owned(), Duration::MAX)]);
        assert_eq!(back.expected("wf"), Some(DurationEstimates::MAX_ESTIMATE));
    }
}
