//! Helpers shared by the cx-auth integration tests.

use std::sync::Mutex;
use std::time::Duration;

use chrono::{DateTime, Utc};

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

/// A clock the test moves together with the simulator's virtual clock, so
/// token lifetimes pass without waiting.
#[derive(Debug)]
pub struct TestClock(Mutex<DateTime<Utc>>);

impl TestClock {
    /// A clock at the wall-clock "now".
    pub fn new() -> Self {
        Self(Mutex::new(Utc::now()))
    }

    /// Move this clock and `sim`'s virtual clock forward by `by`.
    pub fn advance(&self, sim: &cx_sim::Sim, by: Duration) {
        sim.advance_clock(by);
        *self.0.lock().unwrap() += chrono::TimeDelta::from_std(by).unwrap();
    }
}

impl cx_http::Clock for TestClock {
    fn now(&self) -> DateTime<Utc> {
        *self.0.lock().unwrap()
    }
}
