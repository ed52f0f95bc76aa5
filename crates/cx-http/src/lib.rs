#![doc = include_str!("../README.md")]
//! The cxone-rs runtime: one HTTP [`Client`] that every service crate sends
//! its CXone API calls through.
//!
//! What it does for every call (DESIGN.md, "The SDK runtime"):
//! - retries with full-jitter exponential backoff, a cap, a maximum number of
//!   attempts and a total deadline ([`RetryPolicy`]);
//! - honours `Retry-After` in delay-seconds and HTTP-date form, capped
//!   ([`parse_retry_after`]), and pauses the whole host after a 429 so that
//!   concurrent tasks wait together;
//! - retries POST/PATCH only when safe: 429/503, a connection that never
//!   reached the server, or with an idempotency key sent unchanged on every
//!   attempt ([`RequestBuilder::idempotency_key`]);
//! - on a 401 refreshes the access token once through [`Authenticate`] and
//!   replays the request;
//! - bounds retries with a [`RetryBudget`], load with a client-side rate limit
//!   and concurrency limit, and failing hosts with a circuit breaker;
//! - reports one [`Error`] with predicates and the API's error body;
//! - updates with `If-Match` and re-applies the change on a 409
//!   ([`ConditionalUpdate`]), and rate-limits chosen calls with a shared
//!   [`RateLimiter`] ([`RequestBuilder::rate_limiter`]);
//! - pages through lists as `Stream`s ([`paginate`]) and waits for long-running
//!   operations with a [`Poller`];
//! - opens a `tracing` span per request (`cx.request`, with the `status` and
//!   the number of `attempts` recorded at the end) and one per retry
//!   (`cx.attempt`, from the second attempt on), and records `metrics` counters and histograms:
//!   `cx_http_requests_total{method,status}`, `cx_http_attempts_total`,
//!   `cx_http_retries_total`, `cx_http_request_duration_seconds`,
//!   `cx_http_circuit_opened_total`, `cx_poll_polls`.
//!
//! Defaults are listed in one table in [`config`].
//!
//! ```no_run
//! # async fn demo() -> Result<(), cx_http::Error> {
//! let client = cx_http::Client::builder()
//!     .base_url("http://127.0.0.1:8080")
//!     .build()?;
//! let body: serde_json::Value = client.get("/api/v2/workflows/wf_1").send_json().await?;
//! # let _ = body; Ok(()) }
//! ```
//!
//! ## Features
//! None: the crate has no optional parts.

#![deny(missing_docs)]

mod auth;
mod breaker;
mod client;
mod clock;
pub mod conditional;
pub mod config;
pub mod domain_error;
mod error;
pub mod id;
mod limit;
mod open_enum;
pub mod paginate;
mod path;
mod poll;
mod retry;
pub mod service;
pub mod service_client;
pub mod setters;
mod text;
mod transport;
mod validation;
pub mod versions;
mod watchdog;

pub use auth::{AccessToken, Authenticate};
pub use breaker::BreakerConfig;
pub use client::{Client, ClientBuilder, IDEMPOTENCY_KEY, RequestBuilder, Response};
pub use clock::{Clock, FixedClock, SystemClock};
pub use conditional::{Applied, ConditionalUpdate, Versioned};
pub use config::{Config, DEFAULT_MAX_BODY_BYTES, RateLimit};
pub use error::{BoxError, Error, ErrorKind};
pub use id::TextId;
pub use limit::{RateLimiter, SharedLimitStore, SharedLimits, Spacing};
pub use paginate::{Page, PageFields};
pub use path::{ApiPath, check_id, is_version_segment};
pub use poll::{DurationEstimates, PollOutcome, PollProgress, PollStatus, Poller};
pub use retry::{RetryBudget, RetryBudgetConfig, RetryPolicy, instant_after, parse_retry_after};
pub use service::{Domain, DomainKind, ServiceError, ServiceKind};
pub use text::escape;
pub use validation::{Violation, ViolationRule, Violations, camel_case_path, report_violations};

/// serde, for the code [`open_enum!`] expands to.
#[doc(hidden)]
pub use serde as __serde;

/// Re-exported so callers can name methods without depending on `http`.
pub use http::Method;

/// Helpers for this crate's unit tests.
#[cfg(test)]
pub(crate) mod testing {
    /// Run `f` to completion on a fresh current-thread runtime.
    pub(crate) fn block_on<F: std::future::Future>(f: F) -> F::Output {
        match tokio::runtime::Builder::new_current_thread().build() {
            Ok(rt) => rt.block_on(f),
            Err(e) => panic!("runtime: {e}"),
        }
    }
}
