//! Helpers shared by the cx-auth integration tests.

// Not every test file uses every helper.
#![allow(dead_code)]

use std::time::Duration;

use cx_http::RetryPolicy;

/// Runtime settings with two quick attempts, so failures surface fast.
pub fn fast_http() -> cx_http::Config {
    cx_http::Config {
        retry: RetryPolicy {
            max_attempts: 2,
            initial_backoff: Duration::from_millis(5),
            max_backoff: Duration::from_millis(10),
            ..RetryPolicy::default()
        },
        ..cx_http::Config::default()
    }
}
