//! Property tests for the runtime's parsers and schedules.

// Tests unwrap: a panic with the value is the failure report.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use cx_http::{Poller, RetryPolicy, check_id, parse_retry_after};
use proptest::prelude::*;

fn now() -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(1_700_000_000)
}

/// The id rules stated plainly, as a table in their order: the first
/// broken rule is the answer.
fn id_rule(value: &str) -> Result<(), &'static str> {
    let rules = [
        (value.is_empty(), "must not be empty"),
        (matches!(value, "." | ".."), "must not be `.` or `..`"),
        (
            value.chars().any(|c| c == '/' || c == '\\'),
            "must not contain `/` or `\\`",
        ),
        (
            value.chars().any(char::is_control),
            "must not contain control characters",
        ),
    ];
    rules
        .into_iter()
        .find(|(broken, _)| *broken)
        .map_or(Ok(()), |(_, rule)| Err(rule))
}

proptest! {
    /// `check_id` gives the answer of the rules stated plainly
    /// for any text: ASCII, C0 and C1 controls (U+0080..U+009F), other
    /// non-ASCII, slashes and dots.
    #[test]
    fn check_id_is_the_plain_rule(
        value in r"[a-z0-9./\\\x00-\x1f\x7f\u{80}-\u{a0}é€😀-]{0,12}"
    ) {
        prop_assert_eq!(check_id(&value), id_rule(&value));
    }

    /// Any header text parses or is rejected; it never panics.
    #[test]
    fn retry_after_never_panics(s in ".{0,64}") {
        let _ = parse_retry_after(&s, now());
    }

    /// Delay-seconds round-trip exactly.
    #[test]
    fn retry_after_seconds_round_trip(n in 0u64..10_000_000) {
        prop_assert_eq!(parse_retry_after(&n.to_string(), now()), Some(Duration::from_secs(n)));
    }

    /// An HTTP-date in the past means "retry now"; in the future, the distance to it.
    #[test]
    fn retry_after_http_date(offset in -1_000_000i64..1_000_000) {
        let when = if offset >= 0 {
            now() + Duration::from_secs(offset as u64)
        } else {
            now() - Duration::from_secs(offset.unsigned_abs())
        };
        let header = httpdate::fmt_http_date(when);
        let wait = parse_retry_after(&header, now());
        prop_assert_eq!(wait, Some(Duration::from_secs(offset.max(0) as u64)));
    }

    /// Full-jitter backoff is never above the cap, for any retry and any settings.
    #[test]
    fn backoff_never_exceeds_the_cap(
        retry in 0u32..10_000,
        unit in 0.0f64..=1.0,
        initial_ms in 0u64..100_000,
        multiplier in 0.0f64..100.0,
        cap_ms in 0u64..600_000,
    ) {
        let policy = RetryPolicy::default()
            .with_initial_backoff(Duration::from_millis(initial_ms))
            .with_multiplier(multiplier)
            .with_max_backoff(Duration::from_millis(cap_ms));
        let wait = policy.backoff(retry, unit);
        prop_assert!(wait <= policy.max_backoff);
        prop_assert!(wait <= policy.backoff_ceiling(retry));
    }

    /// Backoff ceilings never shrink from one retry to the next.
    #[test]
    fn backoff_ceiling_is_monotonic(retry in 0u32..1_000, multiplier in 1.0f64..10.0) {
        let policy = RetryPolicy::default().with_multiplier(multiplier);
        prop_assert!(policy.backoff_ceiling(retry) <= policy.backoff_ceiling(retry + 1));
    }

    /// A cap as long as a `Duration` holds (no cap at all) is a cap like
    /// any other: backoff grows up to it and never panics.
    #[test]
    fn backoff_under_the_longest_cap(retry in 0u32..200, multiplier in 1.0f64..100.0) {
        let policy = RetryPolicy::default()
            .with_multiplier(multiplier)
            .with_max_backoff(Duration::MAX);
        prop_assert!(policy.backoff_ceiling(retry) <= policy.backoff_ceiling(retry + 1));
    }

    /// A poll delay under a cap as long as a `Duration` holds grows up to
    /// it and never panics.
    #[test]
    fn poll_delay_under_the_longest_cap(n in 0u32..200, multiplier in 1.0f64..100.0) {
        let p = Poller::default().with_multiplier(multiplier).with_max_delay(Duration::MAX);
        prop_assert!(p.delay_for(n) <= p.delay_for(n + 1));
    }

    /// Poll delays stay within the cap.
    #[test]
    fn poll_delay_never_exceeds_the_cap(n in 0u32..10_000, multiplier in 0.0f64..50.0, cap_ms in 0u64..60_000) {
        let p = Poller::default().with_multiplier(multiplier).with_max_delay(Duration::from_millis(cap_ms));
        prop_assert!(p.delay_for(n) <= p.max_delay);
    }
}
