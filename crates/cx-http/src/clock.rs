//! Where "now" comes from: service crates read an injectable [`Clock`]
//! (shift validation, payload timestamps, retention windows), so tests and
//! replays can pin time with a [`FixedClock`]. [`SystemClock`] is the default.

use std::fmt;

use chrono::{DateTime, Utc};

/// A source of the current UTC time.
pub trait Clock: Send + Sync + fmt::Debug {
    /// Now.
    fn now(&self) -> DateTime<Utc>;
}

/// The system's wall clock (`chrono::Utc::now`). The default.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }
}

/// A clock stopped at one instant (tests, replays).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FixedClock(pub DateTime<Utc>);

impl Clock for FixedClock {
    fn now(&self) -> DateTime<Utc> {
        self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fixed_clock_stays_put_and_system_clock_moves_forward() {
        let at = DateTime::parse_from_rfc3339("2024-05-01T12:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        let fixed = FixedClock(at);
        assert_eq!((fixed.now(), fixed.now()), (at, at));
        let before = Utc::now();
        assert!(SystemClock.now() >= before);
    }
}
