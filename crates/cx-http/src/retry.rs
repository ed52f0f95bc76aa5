//! Retry policy: full-jitter exponential backoff, `Retry-After` parsing and the
//! retry budget.
//!
//! Backoff follows the "full jitter" scheme: the wait before retry `n` (0-based)
//! is uniform in `[0, min(max_backoff, initial_backoff * multiplier^n)]`, which
//! spreads a herd of clients out instead of synchronising them (seed 000 step 3
//! uses a fixed base plus 0–500 ms; full jitter replaces it).

use std::sync::Mutex;
use std::time::{Duration, Instant, SystemTime};

/// When and how often to retry a failed attempt.
///
/// Defaults (also listed in [`crate::Config`]): 4 attempts, 100 ms initial
/// backoff, ×2 per retry, 10 s cap, 60 s total deadline, `Retry-After` capped at 60 s.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct RetryPolicy {
    /// Attempts in total, the first included (1 = never retry). Default 4.
    pub max_attempts: u32,
    /// Upper bound of the first backoff window. Default 100 ms.
    pub initial_backoff: Duration,
    /// Growth of the window per retry. Default 2.0.
    pub multiplier: f64,
    /// Cap on any single backoff window. Default 10 s.
    pub max_backoff: Duration,
    /// Total time budget for a call, all attempts and waits included. Default 60 s.
    pub total_deadline: Duration,
    /// Cap on a server's `Retry-After` (a larger value is waited only this long). Default 60 s.
    pub retry_after_cap: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_attempts: 4,
            initial_backoff: Duration::from_millis(100),
            multiplier: 2.0,
            max_backoff: Duration::from_secs(10),
            total_deadline: Duration::from_secs(60),
            retry_after_cap: Duration::from_secs(60),
        }
    }
}

crate::with_setters! { RetryPolicy {
    /// Set [`RetryPolicy::max_attempts`] (1 = never retry).
    with_max_attempts(max_attempts: u32);
    /// Set [`RetryPolicy::initial_backoff`].
    with_initial_backoff(initial_backoff: Duration);
    /// Set [`RetryPolicy::multiplier`].
    with_multiplier(multiplier: f64);
    /// Set [`RetryPolicy::max_backoff`].
    with_max_backoff(max_backoff: Duration);
    /// Set [`RetryPolicy::total_deadline`].
    with_total_deadline(total_deadline: Duration);
    /// Set [`RetryPolicy::retry_after_cap`].
    with_retry_after_cap(retry_after_cap: Duration);
}}

impl RetryPolicy {
    /// The upper bound of the backoff window before retry `retry` (0-based), capped.
    pub fn backoff_ceiling(&self, retry: u32) -> Duration {
        let exp = self.multiplier.max(1.0).powi(retry.min(64) as i32);
        let ceiling = self.initial_backoff.as_secs_f64() * exp;
        let cap = self.max_backoff.as_secs_f64();
        // A cap of about 2^64 s (`Duration::MAX`, no cap at all) is past
        // what a `Duration` made from an `f64` holds: the cap itself then.
        Duration::try_from_secs_f64(if ceiling.is_finite() {
            ceiling.min(cap)
        } else {
            cap
        })
        .unwrap_or(self.max_backoff)
    }

    /// A full-jitter backoff for retry `retry`: uniform in `[0, backoff_ceiling(retry)]`.
    /// `unit` is a uniform sample in `[0, 1)`.
    pub fn backoff(&self, retry: u32, unit: f64) -> Duration {
        self.backoff_ceiling(retry).mul_f64(unit.clamp(0.0, 1.0))
    }

    /// The wait a `Retry-After` asks for, capped at [`Self::retry_after_cap`].
    pub fn cap_retry_after(&self, wait: Duration) -> Duration {
        wait.min(self.retry_after_cap)
    }
}

/// Parse a `Retry-After` header value: delay-seconds (`"120"`) or an HTTP-date
/// (`"Wed, 21 Oct 2015 07:28:00 GMT"`), relative to `now`.
///
/// Returns `None` for anything else (negative numbers, garbage). A date in the
/// past gives a zero wait. Never panics.
pub fn parse_retry_after(value: &str, now: SystemTime) -> Option<Duration> {
    let value = value.trim();
    if !value.is_empty() && value.bytes().all(|b| b.is_ascii_digit()) {
        // Saturate absurdly long numbers rather than failing: the cap applies later.
        return Some(Duration::from_secs(
            value.parse::<u64>().unwrap_or(u64::MAX),
        ));
    }
    let when = httpdate::parse_http_date(value).ok()?;
    Some(when.duration_since(now).unwrap_or(Duration::ZERO))
}

/// `wait` after `at`; for a `wait` past what the clock holds
/// (`Duration::MAX` as "no limit"), an instant about 30 years after `at`
/// (tokio's "far future"), which no call lives to see. Never panics, unlike
/// `at + wait`: the one way the runtime and its stores (`cx_redis`) turn a
/// configured duration into a deadline.
pub fn instant_after(at: Instant, wait: Duration) -> Instant {
    const FAR_FUTURE: Duration = Duration::from_secs(86_400 * 365 * 30);
    at.checked_add(wait)
        .or_else(|| at.checked_add(FAR_FUTURE))
        .unwrap_or(at)
}

/// Settings of the [`RetryBudget`]. Default: 20% of requests may be retries,
/// plus a reserve of 10 retries per second so a quiet client can still retry.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct RetryBudgetConfig {
    /// Retry tokens earned per first attempt. Default 0.2.
    pub ratio: f64,
    /// Retry tokens earned per second regardless of traffic. Default 10.
    pub reserve_per_sec: f64,
    /// Most tokens that can be banked. Default 100.
    pub max_tokens: f64,
}

impl Default for RetryBudgetConfig {
    fn default() -> Self {
        Self {
            ratio: 0.2,
            reserve_per_sec: 10.0,
            max_tokens: 100.0,
        }
    }
}

crate::with_setters! { RetryBudgetConfig {
    /// Set [`RetryBudgetConfig::ratio`].
    with_ratio(ratio: f64);
    /// Set [`RetryBudgetConfig::reserve_per_sec`].
    with_reserve_per_sec(reserve_per_sec: f64);
    /// Set [`RetryBudgetConfig::max_tokens`].
    with_max_tokens(max_tokens: f64);
}}

/// A token bucket that bounds retries to a fraction of traffic, so that an
/// outage cannot multiply the load a client sends by `max_attempts`.
#[derive(Debug)]
pub struct RetryBudget {
    config: RetryBudgetConfig,
    state: Mutex<BudgetState>,
}

#[derive(Debug)]
struct BudgetState {
    tokens: f64,
    refilled_at: Instant,
}

impl RetryBudget {
    /// A full budget.
    pub fn new(config: RetryBudgetConfig) -> Self {
        let tokens = config.max_tokens.min(config.reserve_per_sec.max(1.0));
        Self {
            config,
            state: Mutex::new(BudgetState {
                tokens,
                refilled_at: Instant::now(),
            }),
        }
    }

    fn with_state<R>(&self, f: impl FnOnce(&mut BudgetState, &RetryBudgetConfig) -> R) -> R {
        let mut guard = match self.state.lock() {
            Ok(g) => g,
            Err(poisoned) => poisoned.into_inner(),
        };
        let now = Instant::now();
        let secs = now.duration_since(guard.refilled_at).as_secs_f64();
        guard.tokens =
            (guard.tokens + secs * self.config.reserve_per_sec).min(self.config.max_tokens);
        guard.refilled_at = now;
        f(&mut guard, &self.config)
    }

    /// Record a first attempt (earns `ratio` tokens).
    pub fn deposit(&self) {
        self.with_state(|s, c| s.tokens = (s.tokens + c.ratio).min(c.max_tokens));
    }

    /// Take one token for a retry; false when the budget is spent.
    pub fn try_withdraw(&self) -> bool {
        self.with_state(|s, _| {
            if s.tokens >= 1.0 {
                s.tokens -= 1.0;
                true
            } else {
                false
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_table() {
        let now = httpdate::parse_http_date("Wed, 21 Oct 2015 07:28:00 GMT").unwrap();
        let cases: &[(&str, Option<u64>)] = &[
            ("0", Some(0)),
            ("  7 ", Some(7)),
            ("120", Some(120)),
            ("Wed, 21 Oct 2015 07:28:30 GMT", Some(30)),
            ("Wed, 21 Oct 2015 07:27:00 GMT", Some(0)),
            ("-1", None),
            ("1.5", None),
            ("", None),
            ("soon", None),
        ];
        for (input, want) in cases {
            let got = parse_retry_after(input, now).map(|d| d.as_secs());
            assert_eq!(got, *want, "input {input:?}");
        }
    }

    #[test]
    fn budget_stops_retries_when_spent() {
        let budget = RetryBudget::new(RetryBudgetConfig {
            ratio: 0.5,
            reserve_per_sec: 0.0,
            max_tokens: 2.0,
        });
        // reserve_per_sec 0 → starts with 1 token.
        assert!(budget.try_withdraw());
        assert!(!budget.try_withdraw());
        budget.deposit();
        budget.deposit();
        assert!(budget.try_withdraw());
        assert!(!budget.try_withdraw());
    }
}
