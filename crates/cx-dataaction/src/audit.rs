//! The execution auditor (seed 004 step 5, `ExecutionAuditor`): one
//! [`ExecutionAudit`] per run with latency, the SHA-256 of the canonical
//! payload, the error classification and the compliance tag; written to an
//! [`cx_audit::AuditSink`] as event `DATA_ACTION_EXECUTED` and, when a
//! webhook is configured, posted to an external workflow engine through the
//! runtime.
//!
//! Unlike the seed, a failed webhook is not swallowed: the record says
//! whether it was delivered ([`WebhookDelivery`]), and the sink gets the
//! record with that outcome.

use std::time::Duration;

use chrono::{DateTime, SecondsFormat, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::types::Payload;

/// Event type of the audit record every run writes.
pub const EVENT_TYPE: cx_audit::EventType =
    cx_audit::EventType::from_static("DATA_ACTION_EXECUTED");

/// The seed's error classification (`errorClassification`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ErrorClass {
    /// The job COMPLETED and its output was extracted.
    None,
    /// No usable response from the API.
    Network,
    /// The job TIMED_OUT, or did not finish within the max wait.
    Timeout,
    /// The job FAILED, or compute was unavailable (503/429/5xx).
    Compute,
    /// The request was refused as given (local rules, 400, 403, 404).
    Validation,
}

impl ErrorClass {
    /// `NONE`, `NETWORK`, `TIMEOUT`, `COMPUTE` or `VALIDATION`.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorClass::None => "NONE",
            ErrorClass::Network => "NETWORK",
            ErrorClass::Timeout => "TIMEOUT",
            ErrorClass::Compute => "COMPUTE",
            ErrorClass::Validation => "VALIDATION",
        }
    }
}

/// What happened to the webhook POST. JSON: `{url, delivered, status?, error?}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WebhookDelivery {
    /// Where it was sent.
    pub url: String,
    /// True when the engine answered 2xx.
    pub delivered: bool,
    /// The engine's HTTP status, if it answered.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<u16>,
    /// Why it was not delivered.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// One run's audit entry (seed 004 step 5 `audit_entry`, plus the action,
/// version and failure details). JSON: camelCase.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ExecutionAudit {
    /// The job, or `UNKNOWN` when none was created (as the seed writes).
    pub job_id: String,
    /// The action.
    pub action_id: String,
    /// The payload's version id.
    pub version_id: String,
    /// RFC 3339 UTC, milliseconds.
    pub timestamp: String,
    /// The job's terminal status, or `ABORTED` when it has none (as the seed).
    pub status: String,
    /// Wall time of the run from validation to the terminal state, in ms (2 decimals).
    pub latency_ms: f64,
    /// Lowercase hex SHA-256 of the payload's RFC 8785 canonical JSON.
    pub payload_hash: String,
    /// The classification.
    pub error_classification: ErrorClass,
    /// E.g. `GDPR-CCPA-AUDIT` (the seed's).
    pub compliance_tag: String,
    /// The job's `errorDetail`, or the error message, when the run failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// The webhook outcome, when a webhook is configured.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub webhook: Option<WebhookDelivery>,
}

/// SHA-256 (lowercase hex) of the RFC 8785 canonical JSON of `payload`, so
/// any language can recompute it (the seed hashes Python's `model_dump_json`).
pub fn payload_hash(payload: &Payload) -> String {
    let value = serde_json::to_value(payload).unwrap_or(Value::Null);
    cx_audit::compliance_hash(&value)
}

/// The facts a run hands to the auditor.
pub(crate) struct RunFacts<'a> {
    pub action_id: &'a str,
    pub payload: &'a Payload,
    pub job_id: Option<&'a str>,
    pub status: Option<&'a str>,
    pub latency: Duration,
    pub class: ErrorClass,
    pub error: Option<String>,
    pub compliance_tag: &'a str,
    /// When the entry is written (the client's clock).
    pub at: DateTime<Utc>,
}

impl ExecutionAudit {
    pub(crate) fn from_facts(f: RunFacts<'_>) -> Self {
        Self {
            job_id: f.job_id.unwrap_or("UNKNOWN").to_owned(),
            action_id: f.action_id.to_owned(),
            version_id: f.payload.version_id.clone(),
            timestamp: f.at.to_rfc3339_opts(SecondsFormat::Millis, true),
            status: f.status.unwrap_or("ABORTED").to_owned(),
            latency_ms: (f.latency.as_secs_f64() * 100_000.0).round() / 100.0,
            payload_hash: payload_hash(f.payload),
            error_classification: f.class,
            compliance_tag: f.compliance_tag.to_owned(),
            error: f.error,
            webhook: None,
        }
    }

    /// The seed's webhook body: this entry without `webhook`.
    pub(crate) fn webhook_body(&self) -> Value {
        let mut v = serde_json::to_value(self).unwrap_or(Value::Null);
        if let Value::Object(m) = &mut v {
            m.remove("webhook");
        }
        v
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hash_ignores_member_order_and_matches_jcs() {
        let p = Payload::new("v2.1.0")
            .param("b", Value::from(1))
            .param("a", Value::from("x"));
        let q = Payload::new("v2.1.0")
            .param("a", Value::from("x"))
            .param("b", Value::from(1));
        assert_eq!(payload_hash(&p), payload_hash(&q));
        let canonical = br#"{"environmentContext":{},"executionTimeoutMs":30000,"inputParameters":{"a":"x","b":1},"versionId":"v2.1.0"}"#;
        assert_eq!(payload_hash(&p), cx_audit::sha256_hex(canonical));
        assert_eq!(payload_hash(&p).len(), 64);
    }

    #[test]
    fn classes_spell_as_the_seed() {
        let v = serde_json::to_value([
            ErrorClass::None,
            ErrorClass::Network,
            ErrorClass::Timeout,
            ErrorClass::Compute,
            ErrorClass::Validation,
        ])
        .expect("json");
        assert_eq!(
            v,
            serde_json::json!(["NONE", "NETWORK", "TIMEOUT", "COMPUTE", "VALIDATION"])
        );
        assert_eq!(ErrorClass::Compute.as_str(), "COMPUTE");
    }
}
