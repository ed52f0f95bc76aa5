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

use std::num::NonZeroU32;
use std::sync::Arc;

use governor::{DefaultDirectRateLimiter, Quota};

use crate::config::RateLimit;
use crate::error::Error;

/// A shareable rate limiter; clones share the same slots.
#[derive(Clone)]
pub struct RateLimiter {
    inner: Arc<DefaultDirectRateLimiter>,
    limit: RateLimit,
}

impl std::fmt::Debug for RateLimiter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RateLimiter")
            .field("per_second", &self.limit.per_second)
            .field("burst", &self.limit.burst)
            .finish()
    }
}

impl RateLimiter {
    /// A limiter allowing `limit.per_second` slots per second with bursts of
    /// `limit.burst`.
    ///
    /// # Errors
    /// [`crate::ErrorKind::InvalidInput`] naming `rate_limit.per_second` or
    /// `rate_limit.burst` when either is zero.
    pub fn new(limit: RateLimit) -> Result<Self, Error> {
        let per_second = NonZeroU32::new(limit.per_second)
            .ok_or_else(|| Error::invalid_input("rate_limit.per_second", "must be at least 1"))?;
        let burst = NonZeroU32::new(limit.burst)
            .ok_or_else(|| Error::invalid_input("rate_limit.burst", "must be at least 1"))?;
        Ok(Self {
            inner: Arc::new(DefaultDirectRateLimiter::direct(
                Quota::per_second(per_second).allow_burst(burst),
            )),
            limit,
        })
    }

    /// The limit this limiter enforces.
    pub fn limit(&self) -> RateLimit {
        self.limit
    }

    /// Wait until a slot is free and take it.
    pub async fn until_ready(&self) {
        self.inner.until_ready().await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ErrorKind;

    #[test]
    fn zero_limits_are_refused_by_name() {
        let cases = [
            (0, 1, Some("rate_limit.per_second")),
            (1, 0, Some("rate_limit.burst")),
            (5, 1, None),
        ];
        for (per_second, burst, field) in cases {
            let got = RateLimiter::new(RateLimit { per_second, burst });
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
