//! Executions (seed 000 steps 2–3): `POST /api/v2/workflows/{id}/executions`
//! and `GET /api/v2/workflows/{id}/executions/{executionId}`.

use std::str::FromStr;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::null_default;
use crate::error::{Error, Rule, Violation};
use cx_http::open_enum;

/// Priority of an execution (seed 000 step 2): `LOW`, `NORMAL` or `HIGH`.
/// The server's default is `NORMAL`. Parsed case-insensitively from text
/// (`"high"`), serialised upper-case.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum ExecutionPriority {
    /// `LOW`.
    Low,
    /// `NORMAL` (the server's default).
    #[default]
    Normal,
    /// `HIGH`.
    High,
}

impl ExecutionPriority {
    /// `"LOW"`, `"NORMAL"` or `"HIGH"`.
    pub fn as_str(self) -> &'static str {
        match self {
            ExecutionPriority::Low => "LOW",
            ExecutionPriority::Normal => "NORMAL",
            ExecutionPriority::High => "HIGH",
        }
    }
}

impl std::fmt::Display for ExecutionPriority {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for ExecutionPriority {
    type Err = Error;

    /// # Errors
    /// [`crate::ErrorKind::Validation`] naming `priority` for anything but
    /// low/normal/high (any case, surrounding spaces ignored).
    fn from_str(s: &str) -> Result<Self, Error> {
        match s.trim().to_ascii_uppercase().as_str() {
            "LOW" => Ok(ExecutionPriority::Low),
            "NORMAL" => Ok(ExecutionPriority::Normal),
            "HIGH" => Ok(ExecutionPriority::High),
            _ => Err(Error::violation(
                Violation::new("priority", Rule::Format, "must be LOW, NORMAL or HIGH")
                    .with_values("LOW, NORMAL or HIGH", format!("{s:?}")),
            )),
        }
    }
}

open_enum! {
    /// An execution's state. `PENDING` → `RUNNING` → one of the terminal
    /// states `COMPLETED`, `FAILED`, `CANCELLED`. A status this crate does
    /// not know is not terminal, but ends the wait of
    /// [`crate::Client::run`] at once with
    /// [`crate::ErrorKind::UnknownStatus`] naming it.
    pub enum ExecutionStatus {
        /// `PENDING`: accepted, not started.
        Pending => "PENDING",
        /// `RUNNING`.
        Running => "RUNNING",
        /// `COMPLETED`: finished with an output.
        Completed => "COMPLETED",
        /// `FAILED`: finished with errors.
        Failed => "FAILED",
        /// `CANCELLED`.
        Cancelled => "CANCELLED",
    }
}

impl ExecutionStatus {
    /// True for COMPLETED, FAILED and CANCELLED.
    pub fn is_terminal(&self) -> bool {
        matches!(
            self,
            ExecutionStatus::Completed | ExecutionStatus::Failed | ExecutionStatus::Cancelled
        )
    }
}

/// One error of a failed execution: `{code, message}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExecutionError {
    /// Machine-readable code, e.g. `DOWNSTREAM_TIMEOUT`.
    pub code: String,
    /// Human-readable message.
    #[serde(default)]
    pub message: String,
}

/// An execution as the server reports it: `{id, workflowId, status,
/// startedAt, completedAt?, output?, errors?: [{code, message}]}`
/// (camelCase, RFC 3339 timestamps; unknown fields ignored; `null` errors
/// read as none).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Execution {
    /// Execution id, e.g. `exec_0b6e...`.
    pub id: String,
    /// The workflow it runs.
    #[serde(default)]
    pub workflow_id: String,
    /// Current state.
    pub status: ExecutionStatus,
    /// When it started.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub started_at: Option<DateTime<Utc>>,
    /// When it reached a terminal state.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub completed_at: Option<DateTime<Utc>>,
    /// The workflow's output (COMPLETED executions).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output: Option<Map<String, Value>>,
    /// Why it failed (FAILED executions).
    #[serde(
        default,
        deserialize_with = "null_default",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub errors: Vec<ExecutionError>,
}

impl Execution {
    /// True once the status is COMPLETED, FAILED or CANCELLED.
    pub fn is_terminal(&self) -> bool {
        self.status.is_terminal()
    }

    /// Server-side run time in ms, `startedAt` → `completedAt`; `None` when
    /// either is missing or `completedAt` is before `startedAt`.
    pub fn latency_ms(&self) -> Option<f64> {
        let (start, end) = (self.started_at?, self.completed_at?);
        let ms = end.signed_duration_since(start).num_microseconds()? as f64 / 1000.0;
        (ms >= 0.0).then_some(ms)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn execution_decodes_and_measures_latency() -> Result<(), serde_json::Error> {
        let e: Execution = serde_json::from_value(json!({
            "id": "exec_1", "workflowId": "wf_1", "status": "COMPLETED", "priority": "HIGH",
            "startedAt": "2024-05-01T12:00:00Z", "completedAt": "2024-05-01T12:00:01.250Z",
            "output": {"a": 1}, "errors": null
        }))?;
        assert!(e.is_terminal());
        assert_eq!(e.latency_ms(), Some(1250.0));
        assert!(e.errors.is_empty());
        let odd: Execution = serde_json::from_value(json!({"id": "x", "status": "TIMED_OUT"}))?;
        assert!(!odd.is_terminal());
        assert_eq!(odd.latency_ms(), None);
        Ok(())
    }

    #[test]
    fn priority_parses_any_case() {
        let cases = [
            ("high", Some(ExecutionPriority::High)),
            (" Low ", Some(ExecutionPriority::Low)),
            ("NORMAL", Some(ExecutionPriority::Normal)),
            ("urgent", None),
            ("", None),
        ];
        for (text, want) in cases {
            assert_eq!(text.parse::<ExecutionPriority>().ok(), want, "{text:?}");
        }
    }
}
