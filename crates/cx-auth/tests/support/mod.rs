//! Helpers shared by the cx-auth integration tests.

// Not every test file uses every helper.
#![allow(dead_code)]

use std::time::Duration;

use cx_http::RetryPolicy;

/// Runtime settings with two quick attempts, so failures surface fast.
pub fn fast_http() -> cx_http::Config {
    cx_http::Config::default().with_retry(
        RetryPolicy::default()
            .with_max_attempts(2)
            .with_initial_backoff(Duration::from_millis(5))
            .with_max_backoff(Duration::from_millis(10)),
    )
}
