//! The virtual clock.
//!
//! Sim time is "milliseconds since the simulator started": elapsed time
//! (tokio's clock, which is real time except under a test's paused tokio
//! time, where the simulator then runs on the same virtual time as its
//! client) plus an offset that only grows ([`crate::Sim::advance_clock`],
//! `POST /_sim/clock/advance`). Every lifecycle decision (execution and
//! instance completion, token expiry) and every timestamp the API renders
//! is derived from it, so advancing the clock completes due work on the
//! next read without any background timer.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use tokio::time::Instant;

use chrono::{DateTime, SecondsFormat, Utc};

/// Monotonic sim clock; cheap to read from any thread.
#[derive(Debug)]
pub(crate) struct Clock {
    origin: Instant,
    /// Wall-clock time at start, Unix ms (truncated to whole ms so rendered
    /// differences equal sim-time differences exactly).
    wall_origin_ms: i64,
    offset_ms: AtomicU64,
    /// Woken on every [`Clock::advance`], so a long poll waiting for sim
    /// time to pass (`get-next-event`) answers without real waiting.
    advanced: tokio::sync::Notify,
}

impl Clock {
    /// A clock starting now with no offset.
    pub(crate) fn new() -> Self {
        Self {
            origin: Instant::now(),
            wall_origin_ms: Utc::now().timestamp_millis(),
            offset_ms: AtomicU64::new(0),
            advanced: tokio::sync::Notify::new(),
        }
    }

    /// Sim time now, in ms since start.
    pub(crate) fn now_ms(&self) -> u64 {
        let real = u64::try_from(self.origin.elapsed().as_millis()).unwrap_or(u64::MAX);
        real.saturating_add(self.offset_ms.load(Ordering::Acquire))
    }

    /// Moves sim time forward by `by` (saturating).
    pub(crate) fn advance(&self, by: Duration) {
        let ms = duration_ms(by);
        // fetch_update only fails when the closure returns None; ours never does.
        let _ = self
            .offset_ms
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |cur| {
                Some(cur.saturating_add(ms))
            });
        self.advanced.notify_waiters();
    }

    /// Woken by the next [`Clock::advance`] (register it, with
    /// `Notified::enable`, before reading the time).
    pub(crate) fn advanced(&self) -> tokio::sync::futures::Notified<'_> {
        self.advanced.notified()
    }

    /// The wall-clock instant of sim time `sim_ms`.
    pub(crate) fn wall(&self, sim_ms: u64) -> DateTime<Utc> {
        let ms = self
            .wall_origin_ms
            .saturating_add(i64::try_from(sim_ms).unwrap_or(i64::MAX));
        DateTime::from_timestamp_millis(ms).unwrap_or(DateTime::<Utc>::MAX_UTC)
    }

    /// RFC 3339 with millisecond precision and a `Z` suffix, e.g.
    /// `2024-05-01T12:00:00.123Z`.
    pub(crate) fn rfc3339(&self, sim_ms: u64) -> String {
        self.wall(sim_ms)
            .to_rfc3339_opts(SecondsFormat::Millis, true)
    }
}

/// A duration in whole ms, saturating at `u64::MAX`.
pub(crate) fn duration_ms(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn advancing_moves_time_and_timestamps() {
        let clock = Clock::new();
        let before = clock.now_ms();
        clock.advance(Duration::from_secs(10));
        let after = clock.now_ms();
        assert!(after >= before + 10_000);
        let a = clock.wall(1_000);
        let b = clock.wall(3_500);
        assert_eq!((b - a).num_milliseconds(), 2_500);
        assert!(clock.rfc3339(0).ends_with('Z'));
        assert_eq!(clock.rfc3339(0).len(), "2024-05-01T12:00:00.123Z".len());
    }
}
