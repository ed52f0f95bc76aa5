//! Execution and trigger metrics (seed 000 step 4, seed 001 step 5).
//!
//! Both trackers are thread-safe (`&self` methods behind a mutex held only
//! to update or copy) so one [`crate::Client`] can be used from many tasks,
//! and both hand out serialisable snapshots.
//!
//! Differences from the seeds, on purpose:
//! - seed 000 averaged latency over *all* executions while adding only
//!   completed ones, which drags the average towards 0; here
//!   `average_latency_ms` is the mean over COMPLETED executions with both
//!   timestamps;
//! - a FAILED execution without error codes is counted under `UNSPECIFIED`
//!   in `error_frequency` instead of vanishing;
//! - CANCELLED executions are counted in their own field.

use std::collections::BTreeMap;
use std::sync::{Mutex, MutexGuard, PoisonError};

use serde::{Deserialize, Serialize};

use crate::types::{Execution, ExecutionStatus};

/// The `error_frequency` key for a FAILED execution that listed no error code.
pub const UNSPECIFIED_ERROR: &str = "UNSPECIFIED";

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // Updates are single assignments: a panic elsewhere cannot leave the
    // counters half-written, so a poisoned lock still holds good data.
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Seed 000's `ExecutionMetrics` at one moment. JSON: camelCase
/// (`totalExecutions`, `averageLatencyMs`, ...).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MetricsSnapshot {
    /// Executions recorded (terminal ones only).
    pub total_executions: u64,
    /// COMPLETED ones.
    pub successful_executions: u64,
    /// FAILED ones.
    pub failed_executions: u64,
    /// CANCELLED ones.
    pub cancelled_executions: u64,
    /// Mean server-side run time (`startedAt` → `completedAt`) of COMPLETED
    /// executions, in ms; 0 when there are none.
    pub average_latency_ms: f64,
    /// Error code → how many times FAILED executions reported it.
    pub error_frequency: BTreeMap<String, u64>,
}

#[derive(Debug, Default)]
struct ExecState {
    total: u64,
    successful: u64,
    failed: u64,
    cancelled: u64,
    latency_sum_ms: f64,
    latency_samples: u64,
    errors: BTreeMap<String, u64>,
}

/// Aggregates terminal executions (seed 000 step 4, `MetricsTracker`).
#[derive(Debug, Default)]
pub struct MetricsTracker {
    state: Mutex<ExecState>,
}

impl MetricsTracker {
    /// An empty tracker.
    pub fn new() -> Self {
        Self::default()
    }

    /// Record one execution. Non-terminal executions are ignored (their
    /// outcome is not known yet); returns whether it was recorded.
    pub fn record(&self, execution: &Execution) -> bool {
        if !execution.is_terminal() {
            return false;
        }
        let mut s = lock(&self.state);
        s.total += 1;
        match execution.status {
            ExecutionStatus::Completed => {
                s.successful += 1;
                if let Some(ms) = execution.latency_ms() {
                    s.latency_sum_ms += ms;
                    s.latency_samples += 1;
                }
            }
            ExecutionStatus::Failed => {
                s.failed += 1;
                if execution.errors.is_empty() {
                    *s.errors.entry(UNSPECIFIED_ERROR.to_owned()).or_default() += 1;
                }
                for e in &execution.errors {
                    *s.errors.entry(e.code.clone()).or_default() += 1;
                }
            }
            _ => s.cancelled += 1,
        }
        true
    }

    /// The current numbers.
    pub fn snapshot(&self) -> MetricsSnapshot {
        let s = lock(&self.state);
        MetricsSnapshot {
            total_executions: s.total,
            successful_executions: s.successful,
            failed_executions: s.failed,
            cancelled_executions: s.cancelled,
            average_latency_ms: if s.latency_samples == 0 {
                0.0
            } else {
                s.latency_sum_ms / s.latency_samples as f64
            },
            error_frequency: s.errors.clone(),
        }
    }

    /// Forget everything recorded.
    pub fn reset(&self) {
        *lock(&self.state) = ExecState::default();
    }
}

/// Seed 001's per-workflow trigger numbers at one moment, with the derived
/// `success_rate` and `avg_latency_ms` (`get_execution_metrics`). JSON:
/// snake_case as the seed.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct TriggerStats {
    /// Triggers that created an instance.
    pub success: u64,
    /// Triggers that failed (capacity, rate limit, API errors).
    pub failure: u64,
    /// Sum of every trigger's latency (successes and failures), in ms.
    pub total_latency_ms: f64,
    /// `success + failure`.
    pub total: u64,
    /// `success / total`, 0 when `total` is 0.
    pub success_rate: f64,
    /// `total_latency_ms / total`, 0 when `total` is 0.
    pub avg_latency_ms: f64,
}

#[derive(Debug, Default, Clone, Copy)]
struct Counts {
    success: u64,
    failure: u64,
    total_latency_ms: f64,
}

impl From<Counts> for TriggerStats {
    fn from(c: Counts) -> Self {
        let total = c.success + c.failure;
        let (success_rate, avg_latency_ms) = if total == 0 {
            (0.0, 0.0)
        } else {
            (
                c.success as f64 / total as f64,
                c.total_latency_ms / total as f64,
            )
        };
        TriggerStats {
            success: c.success,
            failure: c.failure,
            total_latency_ms: c.total_latency_ms,
            total,
            success_rate,
            avg_latency_ms,
        }
    }
}

/// Per-workflow trigger counters (seed 001 step 5, `WorkflowOrchestrator.metrics`).
#[derive(Debug, Default)]
pub struct TriggerMetrics {
    by_workflow: Mutex<BTreeMap<String, Counts>>,
}

impl TriggerMetrics {
    /// An empty tracker.
    pub fn new() -> Self {
        Self::default()
    }

    /// Record one trigger of `workflow_id` that took `latency_ms` ms.
    pub fn record(&self, workflow_id: &str, success: bool, latency_ms: f64) {
        let mut m = lock(&self.by_workflow);
        let c = m.entry(workflow_id.to_owned()).or_default();
        if success {
            c.success += 1;
        } else {
            c.failure += 1;
        }
        if latency_ms.is_finite() && latency_ms >= 0.0 {
            c.total_latency_ms += latency_ms;
        }
    }

    /// The numbers of one workflow (all zero if never triggered).
    pub fn stats(&self, workflow_id: &str) -> TriggerStats {
        lock(&self.by_workflow)
            .get(workflow_id)
            .copied()
            .unwrap_or_default()
            .into()
    }

    /// The numbers of every workflow triggered so far.
    pub fn all(&self) -> BTreeMap<String, TriggerStats> {
        lock(&self.by_workflow)
            .iter()
            .map(|(k, v)| (k.clone(), (*v).into()))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::ExecutionError;
    use std::sync::Arc;

    fn exec(status: ExecutionStatus, ms: Option<i64>, codes: &[&str]) -> Execution {
        let start = chrono::DateTime::from_timestamp(1_700_000_000, 0);
        Execution {
            id: "exec_1".into(),
            workflow_id: "wf_1".into(),
            status,
            started_at: start,
            completed_at: ms.and_then(|ms| start.map(|s| s + chrono::Duration::milliseconds(ms))),
            output: None,
            errors: codes
                .iter()
                .map(|c| ExecutionError {
                    code: (*c).into(),
                    message: String::new(),
                })
                .collect(),
        }
    }

    #[test]
    fn averages_over_completed_only_and_counts_codes() {
        let t = MetricsTracker::new();
        assert!(t.record(&exec(ExecutionStatus::Completed, Some(100), &[])));
        assert!(t.record(&exec(ExecutionStatus::Completed, Some(300), &[])));
        assert!(t.record(&exec(ExecutionStatus::Completed, None, &[])));
        assert!(t.record(&exec(
            ExecutionStatus::Failed,
            Some(50),
            &["DOWNSTREAM_TIMEOUT"]
        )));
        assert!(t.record(&exec(
            ExecutionStatus::Failed,
            Some(50),
            &["DOWNSTREAM_TIMEOUT", "X"]
        )));
        assert!(t.record(&exec(ExecutionStatus::Failed, None, &[])));
        assert!(t.record(&exec(ExecutionStatus::Cancelled, None, &[])));
        assert!(!t.record(&exec(ExecutionStatus::Running, None, &[])));
        let s = t.snapshot();
        assert_eq!(s.total_executions, 7);
        assert_eq!(s.successful_executions, 3);
        assert_eq!(s.failed_executions, 3);
        assert_eq!(s.cancelled_executions, 1);
        assert_eq!(s.average_latency_ms, 200.0);
        let freq: Vec<(&str, u64)> = s
            .error_frequency
            .iter()
            .map(|(k, v)| (k.as_str(), *v))
            .collect();
        assert_eq!(
            freq,
            [("DOWNSTREAM_TIMEOUT", 2), (UNSPECIFIED_ERROR, 1), ("X", 1)]
        );
        t.reset();
        assert_eq!(t.snapshot(), MetricsSnapshot::default());
    }

    #[test]
    fn concurrent_records_are_all_counted() {
        let t = Arc::new(MetricsTracker::new());
        let handles: Vec<_> = (0..8)
            .map(|_| {
                let t = Arc::clone(&t);
                std::thread::spawn(move || {
                    for _ in 0..100 {
                        t.record(&exec(ExecutionStatus::Completed, Some(10), &[]));
                    }
                })
            })
            .collect();
        for h in handles {
            assert!(h.join().is_ok());
        }
        assert_eq!(t.snapshot().total_executions, 800);
    }

    #[test]
    fn trigger_stats_derive_rate_and_average() {
        let m = TriggerMetrics::new();
        assert_eq!(m.stats("wf_1"), TriggerStats::default());
        m.record("wf_1", true, 10.0);
        m.record("wf_1", true, 20.0);
        m.record("wf_1", false, 30.0);
        m.record("wf_2", true, f64::NAN);
        let s = m.stats("wf_1");
        assert_eq!((s.success, s.failure, s.total), (2, 1, 3));
        assert!((s.success_rate - 2.0 / 3.0).abs() < 1e-9);
        assert_eq!(s.avg_latency_ms, 20.0);
        assert_eq!(m.all().len(), 2);
        assert_eq!(m.stats("wf_2").total_latency_ms, 0.0);
    }
}
