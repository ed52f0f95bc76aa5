//! Circuit breaker and the shared per-host pause after a 429.
//!
//! The breaker opens after `failure_threshold` consecutive failures (5xx,
//! connection errors, timeouts) to one host, rejects calls for `open_for`,
//! then lets a single trial call through (half-open): success closes it,
//! failure opens it again. 4xx answers, 429 included, are not failures of the
//! host's health and do not count.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::retry::instant_after;

/// Circuit breaker settings. Defaults: opens after 5 consecutive failures, stays open 30 s.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct BreakerConfig {
    /// Consecutive failures that open the circuit. Default 5.
    pub failure_threshold: u32,
    /// How long the circuit stays open before a trial call. Default 30 s.
    pub open_for: Duration,
}

impl Default for BreakerConfig {
    fn default() -> Self {
        Self {
            failure_threshold: 5,
            open_for: Duration::from_secs(30),
        }
    }
}

crate::with_setters! { BreakerConfig {
    /// Set [`BreakerConfig::failure_threshold`].
    with_failure_threshold(failure_threshold: u32);
    /// Set [`BreakerConfig::open_for`].
    with_open_for(open_for: Duration);
}}

#[derive(Debug, Clone, Copy)]
enum State {
    Closed { failures: u32 },
    Open { until: Instant },
    HalfOpen { trial_started: Instant },
}

/// Per-host circuit breakers.
#[derive(Debug)]
pub(crate) struct Breakers {
    config: BreakerConfig,
    hosts: Mutex<HashMap<String, State>>,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    match m.lock() {
        Ok(g) => g,
        Err(p) => p.into_inner(),
    }
}

impl Breakers {
    pub(crate) fn new(config: BreakerConfig) -> Self {
        Self {
            config,
            hosts: Mutex::new(HashMap::new()),
        }
    }

    /// May a call to `host` go ahead? `Err(remaining)` while open.
    pub(crate) fn admit(&self, host: &str) -> Result<(), Duration> {
        let mut hosts = lock(&self.hosts);
        // A host not seen yet is closed: it admits without allocating a key
        // (this runs on every request).
        let Some(state) = hosts.get_mut(host) else {
            return Ok(());
        };
        let now = Instant::now();
        match *state {
            State::Closed { .. } => Ok(()),
            State::Open { until } if now >= until => {
                *state = State::HalfOpen { trial_started: now };
                Ok(())
            }
            State::Open { until } => Err(until - now),
            // One trial at a time; a trial that never reported back (dropped
            // future) is presumed lost after `open_for`.
            State::HalfOpen { trial_started } if now - trial_started >= self.config.open_for => {
                *state = State::HalfOpen { trial_started: now };
                Ok(())
            }
            State::HalfOpen { trial_started } => Err(self.config.open_for - (now - trial_started)),
        }
    }

    pub(crate) fn record(&self, host: &str, healthy: bool) {
        let mut hosts = lock(&self.hosts);
        match hosts.get_mut(host) {
            Some(state) => *state = self.next(*state, healthy, host),
            // A host not seen yet is closed with no failures: a success
            // changes nothing, so only a failure adds its key.
            None if healthy => {}
            None => {
                let state = self.next(State::Closed { failures: 0 }, false, host);
                hosts.insert(host.to_owned(), state);
            }
        }
    }

    /// The state of `host` after `state` and a call that was `healthy`.
    fn next(&self, state: State, healthy: bool, host: &str) -> State {
        match (state, healthy) {
            (_, true) => State::Closed { failures: 0 },
            (State::Closed { failures }, false) if failures + 1 < self.config.failure_threshold => {
                State::Closed {
                    failures: failures + 1,
                }
            }
            (_, false) => {
                tracing::warn!(host, "circuit breaker opened");
                metrics::counter!("cx_http_circuit_opened_total").increment(1);
                State::Open {
                    until: instant_after(Instant::now(), self.config.open_for),
                }
            }
        }
    }
}

/// The shared pause per host: after a 429 every task waits out the same
/// `Retry-After` instead of each hammering the host on its own schedule.
#[derive(Debug, Default)]
pub(crate) struct HostPauses {
    hosts: Mutex<HashMap<String, Instant>>,
}

impl HostPauses {
    /// Pause `host` until `until` (extends, never shortens, a pause).
    pub(crate) fn pause(&self, host: &str, until: Instant) {
        let mut hosts = lock(&self.hosts);
        let entry = hosts.entry(host.to_owned()).or_insert(until);
        if *entry < until {
            *entry = until;
        }
    }

    /// How long calls to `host` must still wait.
    pub(crate) fn remaining(&self, host: &str) -> Option<Duration> {
        let mut hosts = lock(&self.hosts);
        let until = *hosts.get(host)?;
        let now = Instant::now();
        if until <= now {
            hosts.remove(host);
            None
        } else {
            Some(until - now)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Moves `host`'s open circuit to the end of its cooldown (time
    /// travel instead of sleeping through `open_for`).
    fn cool_down(b: &Breakers, host: &str) {
        let mut hosts = lock(&b.hosts);
        let state = hosts.get_mut(host).expect("a known host");
        assert!(matches!(state, State::Open { .. }), "{state:?}");
        *state = State::Open {
            until: Instant::now(),
        };
    }

    #[test]
    fn opens_after_threshold_and_half_opens_after_cooldown() {
        let open_for = Duration::from_secs(60);
        let b = Breakers::new(BreakerConfig {
            failure_threshold: 2,
            open_for,
        });
        assert!(b.admit("h").is_ok());
        b.record("h", false);
        assert!(b.admit("h").is_ok());
        b.record("h", false);
        let remaining = b.admit("h").expect_err("open after 2 failures");
        assert!(remaining <= open_for, "{remaining:?}");
        assert!(b.admit("h").is_err(), "still open");
        cool_down(&b, "h");
        assert!(b.admit("h").is_ok(), "half-open trial admitted");
        assert!(b.admit("h").is_err(), "only one trial at a time");
        b.record("h", true);
        assert!(b.admit("h").is_ok(), "closed after a good trial");
        assert!(b.admit("other").is_ok(), "hosts are independent");
    }

    #[test]
    fn pause_extends_but_never_shortens() {
        let p = HostPauses::default();
        let now = Instant::now();
        p.pause("h", now + Duration::from_secs(10));
        p.pause("h", now + Duration::from_secs(1));
        assert!(p.remaining("h").is_some_and(|d| d > Duration::from_secs(5)));
        assert!(p.remaining("x").is_none());
    }
}
