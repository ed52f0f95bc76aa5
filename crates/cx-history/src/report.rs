//! [`HistoryReport`]: seed 003 step 4's extraction report.

use serde::Serialize;

use crate::analyze::Analysis;

/// Seed 003's compliance status: VERIFIED when the accuracy is above
/// [`crate::Config::verified_accuracy`] (0.95), else REVIEW_REQUIRED.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ComplianceStatus {
    /// Enough of the reported records were retrieved.
    Verified,
    /// Too few records were retrieved; a person should look.
    ReviewRequired,
}

impl ComplianceStatus {
    /// `VERIFIED` or `REVIEW_REQUIRED`.
    pub fn as_str(self) -> &'static str {
        match self {
            ComplianceStatus::Verified => "VERIFIED",
            ComplianceStatus::ReviewRequired => "REVIEW_REQUIRED",
        }
    }
}

/// What happened to the completion webhook.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct WebhookDelivery {
    /// Where it was sent.
    pub url: String,
    /// Whether it was accepted (2xx) after the runtime's retries.
    pub delivered: bool,
    /// Attempts made.
    pub attempts: u32,
    /// Why it failed, when it did.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// The result of one history query: retrieval figures (seed 003 step 4)
/// and the path analysis (step 3). JSON in camelCase.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct HistoryReport {
    /// The filter sent.
    pub query_filter: String,
    /// Interactions (records) retrieved.
    pub records_retrieved: u64,
    /// Records the API reported (`totalCount` of the first page; the
    /// retrieved count when the API gave none).
    pub records_reported: u64,
    /// Steps retrieved.
    pub steps_retrieved: u64,
    /// Pages fetched.
    pub pages: u64,
    /// `records_retrieved / records_reported` (1.0 when none were reported).
    pub accuracy_rate: f64,
    /// From the first request to the last page, ms.
    pub extraction_latency_ms: f64,
    /// VERIFIED or REVIEW_REQUIRED.
    pub compliance_status: ComplianceStatus,
    /// The analysis.
    pub analysis: Analysis,
    /// The completion webhook, when one was configured.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub webhook: Option<WebhookDelivery>,
}

impl HistoryReport {
    /// Seed 003's audit log fields (also the webhook's `audit_log`):
    /// `{query_filter, records_processed, records_reported,
    /// extraction_latency_ms, accuracy_rate, compliance_status,
    /// bottleneck_count, data_error_count}`.
    pub fn audit_payload(&self) -> serde_json::Value {
        serde_json::json!({
            "query_filter": self.query_filter,
            "records_processed": self.records_retrieved,
            "records_reported": self.records_reported,
            "steps_processed": self.steps_retrieved,
            "extraction_latency_ms": self.extraction_latency_ms,
            "accuracy_rate": self.accuracy_rate,
            "compliance_status": self.compliance_status.as_str(),
            "bottleneck_count": self.analysis.bottleneck_count,
            "data_error_count": self.analysis.data_error_count,
        })
    }
}
