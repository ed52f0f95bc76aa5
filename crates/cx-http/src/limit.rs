//! A client-side rate limiter that can be shared by many requests, clients
//! and tasks: the client-wide limit of [`crate::Config::rate_limit`] uses it,
//! and a caller can put any subset of its calls behind one of their own with
//! [`crate::RequestBuilder::rate_limiter`] (seed 002: "at most five work-mode
//! PATCHes per second per tenant").
//!
//! It is a GCRA limiter (governor): `per_second` slots per second, of which
//! up to `burst` may be taken at once after a quiet spell. With `burst = 1`
//! consecutive slots are at least `1 / per_second` apart, so no one-second
//! window holds more than `per_second` of them. Every attempt of a request
//! (retries included) takes a slot.
//!
//! A limiter made with [`RateLimiter::shared`] keeps its slots in a
//! [`SharedLimits`] store instead (issue 14: `cx_redis`, one GCRA step per
//! slot in Redis), so every process of a fleet draws from the tenant's one
//! quota. While the store is unreachable each process falls back to an
//! in-process limiter at `1 / SharedLimits::fallback_share` of the limit
//! (burst 1), and asks the store again for the next slot.

use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::Duration;

use governor::{DefaultDirectRateLimiter, Quota};

use crate::config::RateLimit;
use crate::error::Error;

/// A rate-limit store shared by many processes (e.g. `cx_redis::Redis`):
/// the same GCRA semantics as the in-process limiter, with its state
/// outside the process.
#[async_trait::async_trait]
pub trait SharedLimits: Send + Sync + 'static {
    /// One GCRA step of the limit called `name` (e.g. `agent.workmode.patch`)
    /// under `limit`: `Ok(None)` took a slot; `Ok(Some(wait))` took nothing
    /// and the next slot is free in `wait`.
    ///
    /// # Errors
    /// The store is unreachable; the caller takes a slot of its in-process
    /// fallback instead. The store reports (logs) that itself.
    async fn try_take(&self, name: &str, limit: RateLimit) -> Result<Option<Duration>, Error>;

    /// While the store is unreachable, each process takes `1 / share` of the
    /// limit in-process (≥ 1; `cx_redis` documents its default).
    fn fallback_share(&self) -> u32;
}

/// A [`SharedLimits`] store as a [`crate::Config`] setting: clones share it;
/// two settings are equal when they are the same store.
#[derive(Clone)]
pub struct SharedLimitStore(pub Arc<dyn SharedLimits>);

impl std::fmt::Debug for SharedLimitStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SharedLimitStore")
            .field("fallback_share", &self.0.fallback_share())
            .finish_non_exhaustive()
    }
}

impl PartialEq for SharedLimitStore {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }
}

/// A shareable rate limiter; clones share the same slots.
#[derive(Clone)]
pub struct RateLimiter {
    /// The slots (in-process), or the fallback of a shared limiter.
    inner: Arc<DefaultDirectRateLimiter>,
    limit: RateLimit,
    shared: Option<(SharedLimitStore, Arc<str>)>,
}

impl std::fmt::Debug for RateLimiter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RateLimiter")
            .field("per_second", &self.limit.per_second)
            .field("burst", &self.limit.burst)
            .field("shared", &self.shared.as_ref().map(|(_, name)| name))
            .finish()
    }
}

impl RateLimiter {
    /// A limiter allowing `limit.per_second` slots per `limit.period` (one
    /// second by default) with bursts of `limit.burst`.
    ///
    /// # Errors
    /// [`crate::ErrorKind::InvalidInput`] naming `rate_limit.per_second`,
    /// `rate_limit.burst` or `rate_limit.period` when one is zero.
    pub fn new(limit: RateLimit) -> Result<Self, Error> {
        NonZeroU32::new(limit.per_second)
            .ok_or_else(|| Error::invalid_input("rate_limit.per_second", "must be at least 1"))?;
        let burst = NonZeroU32::new(limit.burst)
            .ok_or_else(|| Error::invalid_input("rate_limit.burst", "must be at least 1"))?;
        let quota = Quota::with_period(limit.emission_interval()).ok_or_else(|| {
            Error::invalid_input("rate_limit.period", "must be at least 1 ns per slot")
        })?;
        Ok(Self {
            inner: Arc::new(DefaultDirectRateLimiter::direct(quota.allow_burst(burst))),
            limit,
            shared: None,
        })
    }

    /// A limiter whose slots are the limit `name` of `store`, shared with
    /// every process using the same store and name. While the store is
    /// unreachable, slots come from an in-process limiter at
    /// `limit.per_second / store.fallback_share()` per second, burst 1.
    ///
    /// # Errors
    /// As [`RateLimiter::new`]; [`crate::ErrorKind::InvalidInput`] naming
    /// `rate_limit.name` when `name` is empty.
    pub fn shared(
        limit: RateLimit,
        name: impl Into<Arc<str>>,
        store: SharedLimitStore,
    ) -> Result<Self, Error> {
        let name = name.into();
        if name.is_empty() {
            return Err(Error::invalid_input("rate_limit.name", "must not be empty"));
        }
        Self::new(limit)?;
        let share = store.0.fallback_share().max(1);
        let period = limit.emission_interval().saturating_mul(share);
        let quota = Quota::with_period(period)
            .ok_or_else(|| Error::invalid_input("rate_limit.per_second", "must be at least 1"))?;
        Ok(Self {
            inner: Arc::new(DefaultDirectRateLimiter::direct(quota)),
            limit,
            shared: Some((store, name)),
        })
    }

    /// The limit this limiter enforces.
    pub fn limit(&self) -> RateLimit {
        self.limit
    }

    /// Wait until a slot is free and take it. A shared limiter asks its
    /// store (sleeping as long as the store says the next slot is away),
    /// and takes an in-process fallback slot when the store is unreachable.
    pub async fn until_ready(&self) {
        if let Some((store, name)) = &self.shared {
            loop {
                match store.0.try_take(name, self.limit).await {
                    Ok(None) => return,
                    Ok(Some(wait)) => tokio::time::sleep(wait).await,
                    Err(_) => break,
                }
            }
        }
        self.inner.until_ready().await;
    }
}

/// Consecutive slots at least `interval` apart on tokio's clock, in this
/// process (clones share the slots): for a limit far slower than once a
/// second, such as Data Extraction's one call per 30 s
/// (`../shared/CXONE_REST.md` §6). Unlike [`RateLimiter`] (governor, the
/// wall clock) it waits on tokio's clock, so a test with paused time
/// checks a 30 s spacing without waiting 30 s. Pair it with a
/// [`RateLimiter::shared`] limit when a fleet shares the quota.
#[derive(Debug, Clone)]
pub struct Spacing {
    interval: Duration,
    last: Arc<tokio::sync::Mutex<Option<tokio::time::Instant>>>,
}

impl Spacing {
    /// Slots at least `interval` apart (zero: no spacing).
    pub fn new(interval: Duration) -> Self {
        Self {
            interval,
            last: Arc::new(tokio::sync::Mutex::new(None)),
        }
    }

    /// The spacing.
    pub fn interval(&self) -> Duration {
        self.interval
    }

    /// Wait until `interval` has passed since the previous slot was taken,
    /// then take one. Waiters are served one at a time, in order.
    pub async fn until_ready(&self) {
        let mut last = self.last.lock().await;
        if let Some(at) = *last
            && let Some(free) = at.checked_add(self.interval)
        {
            tokio::time::sleep_until(free).await;
        }
        *last = Some(tokio::time::Instant::now());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ErrorKind;

    #[tokio::test(start_paused = true)]
    async fn spacing_spaces_slots_on_tokios_clock() {
        let spacing = Spacing::new(Duration::from_secs(30));
        let start = tokio::time::Instant::now();
        let mut at = Vec::new();
        for _ in 0..3 {
            spacing.clone().until_ready().await;
            at.push(start.elapsed().as_secs());
        }
        assert_eq!(at, vec![0, 30, 60]);
    }

    #[test]
    fn a_limit_of_one_per_period_is_spaced_by_the_period() {
        let cases = [
            (RateLimit::one_per(Duration::from_secs(30)), 30_000_000),
            (RateLimit::new(5, 1), 200_000),
            (RateLimit::new(0, 1), 0),
        ];
        for (limit, micros) in cases {
            assert_eq!(limit.emission_interval().as_micros(), micros, "{limit:?}");
        }
        assert!(RateLimiter::new(RateLimit::one_per(Duration::from_secs(30))).is_ok());
        let zero = RateLimiter::new(RateLimit::one_per(Duration::ZERO)).err();
        assert!(zero.is_some_and(|e| e.to_string().contains("rate_limit.period")));
    }

    #[test]
    fn zero_limits_are_refused_by_name() {
        let cases = [
            (0, 1, Some("rate_limit.per_second")),
            (1, 0, Some("rate_limit.burst")),
            (5, 1, None),
        ];
        for (per_second, burst, field) in cases {
            let got = RateLimiter::new(RateLimit::new(per_second, burst));
            match field {
                None => assert!(got.is_ok()),
                Some(f) => {
                    let err = got.err().map(|e| (e.kind(), e.to_string()));
                    assert!(
                        matches!(&err, Some((ErrorKind::InvalidInput, m)) if m.contains(f)),
                        "{err:?}"
                    );
                }
            }
        }
    }
}
