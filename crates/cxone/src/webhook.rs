//! Seed 001 step 4's completion webhook receiver (feature `webhook`).
//!
//! `handle_cxone_webhook_callback` made safe to expose: a
//! [`cx_audit::Receiver`] (signature and timestamp check, de-duplication,
//! one audit write per delivery) whose handler parses the body as a
//! [`cx_workflow::InstanceCompletion`], keys it by instance id, and writes
//! one `WORKFLOW_COMPLETED` record:
//!
//! ```json
//! {"instanceId", "workflowId", "status", "erpSyncStatus": "pending",
//!  "webhookReceivedAt": "<RFC 3339 ms Z>",
//!  "erpSync": {"externalId", "workflowId", "finalStatus", "customerData", "routingResult"}}
//! ```
//!
//! and answers the seed's `{"webhookStatus": "processed", "erpSyncStatus":
//! "queued", "instanceId"}`. The ERP call itself is out of scope, as in the
//! seed ("In production, replace with actual ERP API call"): the payload it
//! would send is in the record.
//!
//! It lives here, not in `cx-audit` (which must not depend on service crates)
//! nor in `cx-workflow` (which should not carry an HTTP server): the facade
//! is the one crate that sees both.

use std::path::Path;
use std::sync::Arc;

use cx_audit::{AuditRecord, AuditSink, Delivery, EventType, Receiver};
use cx_workflow::InstanceCompletion;
use secrecy::SecretString;
use serde_json::json;

/// Where `cx webhook serve` listens for completions.
pub const COMPLETION_PATH: &str = "/webhooks/instance-completed";

/// The receiver for instance-completion webhooks, writing to `sink` (see the
/// module docs). Serve it with `receiver.router(COMPLETION_PATH)`.
pub fn completion_receiver(secret: SecretString, sink: Arc<dyn AuditSink>) -> Receiver {
    Receiver::new(secret, sink, |body: &[u8]| {
        let completion = InstanceCompletion::from_json(body).map_err(|e| e.to_string())?;
        let received_at = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
        let record = AuditRecord::new(
            EventType::WORKFLOW_COMPLETED,
            json!({
                "instanceId": completion.instance_id,
                "workflowId": completion.workflow_id,
                "status": completion.status,
                "erpSyncStatus": "pending",
                "webhookReceivedAt": received_at,
                "erpSync": completion.erp_sync_payload(),
            }),
        );
        Ok(Delivery {
            response: json!({
                "webhookStatus": "processed",
                "erpSyncStatus": "queued",
                "instanceId": completion.instance_id,
            }),
            key: completion.instance_id,
            record,
        })
    })
}

/// The instance ids of the `WORKFLOW_COMPLETED` records already in the audit
/// files of `dir`, for [`Receiver::with_recorded`], so a restarted receiver
/// does not record a redelivered completion twice.
///
/// # Errors
///
/// When a file cannot be read or holds a line that is not a record.
pub fn recorded_completions(dir: &Path) -> Result<Vec<String>, cx_audit::Error> {
    let mut ids = Vec::new();
    for path in cx_audit::day_files(dir)? {
        for record in cx_audit::read_jsonl(&path)? {
            if record.event_type == EventType::WORKFLOW_COMPLETED
                && let Some(id) = record.payload()["instanceId"].as_str()
            {
                ids.push(id.to_owned());
            }
        }
    }
    Ok(ids)
}
