//! Runtime settings and their defaults, all in one place.
//!
//! | setting | default | meaning |
//! |---|---|---|
//! | `connect_timeout` | 10 s | TCP + TLS connect, per attempt |
//! | `attempt_timeout` | 30 s | one attempt, headers and body (seed 000 uses 30 s) |
//! | `retry.max_attempts` | 4 | attempts per call, the first included |
//! | `retry.initial_backoff` | 100 ms | first full-jitter window |
//! | `retry.multiplier` | 2.0 | window growth per retry |
//! | `retry.max_backoff` | 10 s | cap on one backoff window |
//! | `retry.total_deadline` | 60 s | all attempts and waits of one call |
//! | `retry.retry_after_cap` | 60 s | longest `Retry-After` honoured |
//! | `retry_budget.ratio` | 0.2 | retries earned per first attempt |
//! | `retry_budget.reserve_per_sec` | 10 | retries earned per second |
//! | `breaker` | 5 failures → open 30 s | per-host circuit breaker (`None` disables) |
//! | `rate_limit` | none | client-side requests/s with a burst |
//! | `max_in_flight` | none | client-side concurrency limit |
//! | `pool_max_idle_per_host` | 64 | idle keep-alive connections kept per host |
//! | `shared_limits` | none | a store shared by processes (`cx_redis`) for `rate_limit` and [`crate::Client::limiter`]s |
//! | `max_body_bytes` | 8 MiB | longest response body read, enforced while streaming (per request: `RequestBuilder::max_body_bytes`) |

use std::time::Duration;

use crate::breaker::BreakerConfig;
use crate::error::Error;
use crate::limit::SharedLimitStore;
use crate::retry::{RetryBudgetConfig, RetryPolicy};

/// Client-side rate limit: `per_second` requests per `period` (one second
/// unless made with [`RateLimit::one_per`]) with bursts of up to `burst`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct RateLimit {
    /// Sustained requests per `period` (≥ 1).
    pub per_second: u32,
    /// Requests that may go at once after a quiet spell (≥ 1).
    pub burst: u32,
    /// The window `per_second` requests are spread over: 1 s, or longer for
    /// a limit such as Data Extraction's one call per 30 s
    /// ([`RateLimit::one_per`]).
    pub period: Duration,
}

impl RateLimit {
    /// `per_second` requests per second with bursts of up to `burst` (both ≥ 1;
    /// [`crate::RateLimiter::new`] refuses 0, naming the field).
    pub const fn new(per_second: u32, burst: u32) -> Self {
        Self {
            per_second,
            burst,
            period: Duration::from_secs(1),
        }
    }

    /// One request per `period`, no burst: consecutive slots are at least
    /// `period` apart (`../shared/CXONE_REST.md` §6: Data Extraction allows
    /// one call per 30 s per tenant). [`crate::RateLimiter::new`] refuses a
    /// zero `period`, naming `rate_limit.period`.
    pub const fn one_per(period: Duration) -> Self {
        Self {
            per_second: 1,
            burst: 1,
            period,
        }
    }

    /// The spacing of consecutive slots: `period / per_second` (zero for a
    /// zero limit, which [`crate::RateLimiter::new`] refuses).
    pub fn emission_interval(&self) -> Duration {
        self.period
            .checked_div(self.per_second)
            .unwrap_or(Duration::ZERO)
    }
}

/// Settings of a [`crate::Client`]. See the module docs for the defaults table.
///
/// Built from `Default` and the `with_*` setters (the workspace's one
/// pattern, see [`crate::setters`]):
///
/// ```
/// use std::time::Duration;
/// use cx_http::{Config, RateLimit};
///
/// let config = Config::default()
///     .with_base_url("https://api-na1.niceincontact.com")
///     .with_attempt_timeout(Duration::from_secs(10))
///     .with_rate_limit(RateLimit::new(20, 5));
/// assert_eq!(config.rate_limit, Some(RateLimit::new(20, 5)));
/// ```
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct Config {
    /// Base URL every relative path is joined to, e.g. `https://api-na1.niceincontact.com`.
    pub base_url: String,
    /// `User-Agent` header.
    pub user_agent: String,
    /// Connect timeout per attempt. Default 10 s.
    pub connect_timeout: Duration,
    /// Timeout of one attempt (headers and body). Default 30 s.
    pub attempt_timeout: Duration,
    /// Retry policy.
    pub retry: RetryPolicy,
    /// Retry budget.
    pub retry_budget: RetryBudgetConfig,
    /// Circuit breaker per host; `None` disables it.
    pub breaker: Option<BreakerConfig>,
    /// Client-side rate limit; `None` for none.
    pub rate_limit: Option<RateLimit>,
    /// Most requests in flight at once; `None` for no limit.
    pub max_in_flight: Option<usize>,
    /// Idle keep-alive connections kept per host. Default 64.
    pub pool_max_idle_per_host: usize,
    /// Longest response body read, in bytes ([`DEFAULT_MAX_BODY_BYTES`]); a
    /// longer one (declared in `Content-Length` or seen while streaming)
    /// fails with [`crate::ErrorKind::TooLarge`] without being buffered.
    pub max_body_bytes: usize,
    /// Where the rate limits keep their slots: `None` (default) in this
    /// process; a shared store (issue 14, `cx_redis`) for one quota across a
    /// fleet of processes.
    pub shared_limits: Option<SharedLimitStore>,
}

/// Default [`Config::max_body_bytes`]: 8 MiB.
pub const DEFAULT_MAX_BODY_BYTES: usize = 8 * 1024 * 1024;

impl Default for Config {
    fn default() -> Self {
        Self {
            base_url: String::new(),
            user_agent: concat!("cxone-rs/", env!("CARGO_PKG_VERSION")).to_owned(),
            connect_timeout: Duration::from_secs(10),
            attempt_timeout: Duration::from_secs(30),
            retry: RetryPolicy::default(),
            retry_budget: RetryBudgetConfig::default(),
            breaker: Some(BreakerConfig::default()),
            rate_limit: None,
            max_in_flight: None,
            pool_max_idle_per_host: 64,
            max_body_bytes: DEFAULT_MAX_BODY_BYTES,
            shared_limits: None,
        }
    }
}

crate::with_setters! { Config {
    /// Set [`Config::base_url`].
    with_base_url(base_url: impl Into<String>) = base_url.into();
    /// Set [`Config::user_agent`].
    with_user_agent(user_agent: impl Into<String>) = user_agent.into();
    /// Set [`Config::connect_timeout`].
    with_connect_timeout(connect_timeout: Duration);
    /// Set [`Config::attempt_timeout`].
    with_attempt_timeout(attempt_timeout: Duration);
    /// Set [`Config::retry`].
    with_retry(retry: RetryPolicy);
    /// Set [`Config::retry_budget`].
    with_retry_budget(retry_budget: RetryBudgetConfig);
    /// Set [`Config::breaker`] (`None` disables the circuit breaker).
    with_breaker(breaker: Option<BreakerConfig>);
    /// Limit the client to `rate_limit` ([`Config::rate_limit`]).
    with_rate_limit(rate_limit: RateLimit) = Some(rate_limit);
    /// Allow at most `max_in_flight` requests at once ([`Config::max_in_flight`]).
    with_max_in_flight(max_in_flight: usize) = Some(max_in_flight);
    /// Set [`Config::pool_max_idle_per_host`].
    with_pool_max_idle_per_host(pool_max_idle_per_host: usize);
    /// Set [`Config::max_body_bytes`] (bytes).
    with_max_body_bytes(max_body_bytes: usize);
}}

impl Config {
    /// Keep the rate limits' slots in `store`, shared by every process that
    /// uses it (see [`crate::RateLimiter::shared`]).
    #[must_use]
    pub fn with_shared_limits(mut self, store: SharedLimitStore) -> Self {
        self.shared_limits = Some(store);
        self
    }
}

/// Check that `value`, the setting named `field` (`"api_url"`, `"auth_url"`),
/// is an absolute http(s) URL, so a bad setting is reported under its own
/// name rather than under a URL derived from it.
///
/// # Errors
/// [`crate::ErrorKind::Builder`] naming `field` and the value (escaped).
pub fn check_base_url(field: &str, value: &str) -> Result<(), Error> {
    crate::client::parse_base_url(field, value.trim_end_matches('/')).map(drop)
}
