//! Export of CXone's own audit log into any [`AuditSink`] (seed 000 step 5).
//!
//! `GET /api/v2/audit/logs?resourceType&resourceId&pageSize&pageToken` returns
//! `{items: [{id, timestamp, userId, action, resourceType, resourceId, details}],
//! totalCount, nextPageToken?}`. The seed loops while `nextPageToken` is set;
//! here the runtime's page-token paginator follows it (with its loop guard and
//! retries), and each entry becomes one [`AuditRecord`] whose event type is the
//! entry's `action`, whose timestamp is the entry's, and whose payload is the
//! entry itself, so its compliance hash covers everything CXone sent.

use cx_http::{Client, PageFields};
use futures::TryStreamExt;
use serde::{Deserialize, Serialize};

use crate::error::{Error, ErrorKind};
use crate::record::AuditRecord;
use crate::sink::AuditSink;

/// One entry of CXone's audit log, as seed 000's `AuditLogEntry`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AuditLogEntry {
    /// Entry id.
    pub id: String,
    /// When it happened (RFC 3339).
    pub timestamp: String,
    /// Who did it (user or OAuth client id).
    #[serde(default)]
    pub user_id: String,
    /// What was done, e.g. `EXECUTION_CREATED`.
    pub action: String,
    /// Kind of resource, e.g. `workflow_execution`.
    pub resource_type: String,
    /// The resource's id (for executions, the workflow id).
    pub resource_id: String,
    /// Action-specific details.
    #[serde(default)]
    pub details: serde_json::Value,
}

/// Which entries to export.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct ExportQuery {
    /// `resourceType` filter, e.g. `workflow_execution` (seed 000).
    pub resource_type: Option<String>,
    /// `resourceId` filter, e.g. a workflow id.
    pub resource_id: Option<String>,
    /// Entries per page, 1..=1000. Default 100 (seed 000).
    pub page_size: u32,
}

impl Default for ExportQuery {
    fn default() -> Self {
        Self {
            resource_type: None,
            resource_id: None,
            page_size: 100,
        }
    }
}

cx_http::with_setters! { ExportQuery {
    /// Only entries of `resource_type` ([`ExportQuery::resource_type`]).
    with_resource_type(resource_type: impl Into<String>) = Some(resource_type.into());
    /// Only entries of `resource_id` ([`ExportQuery::resource_id`]).
    with_resource_id(resource_id: impl Into<String>) = Some(resource_id.into());
    /// Set [`ExportQuery::page_size`] (1..=1000, checked by the export).
    with_page_size(page_size: u32);
}}

/// What an export did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ExportReport {
    /// Entries read from CXone and written to the sink.
    pub exported: u64,
}

/// Page through `/api/v2/audit/logs` and write every entry to `sink`, in order.
///
/// Needs the `audit.read` scope. Entries already written stay written when a
/// later page fails; the error says how many were exported before it.
///
/// # Errors
/// - [`ErrorKind::InvalidInput`] when `page_size` is outside 1..=1000 (nothing sent);
/// - [`ErrorKind::Api`] when a page request fails (source: [`cx_http::Error`]),
///   or an entry's timestamp is not RFC 3339;
/// - the sink's error when a write fails.
pub async fn export_audit_logs(
    client: &Client,
    query: &ExportQuery,
    sink: &dyn AuditSink,
) -> Result<ExportReport, Error> {
    if !(1..=1000).contains(&query.page_size) {
        return Err(Error::new(
            ErrorKind::InvalidInput,
            format!(
                "invalid `page_size` {}: must be within 1..=1000",
                query.page_size
            ),
        ));
    }
    let mut params = vec![("pageSize".to_owned(), query.page_size.to_string())];
    if let Some(t) = &query.resource_type {
        params.push(("resourceType".to_owned(), t.clone()));
    }
    if let Some(id) = &query.resource_id {
        params.push(("resourceId".to_owned(), id.clone()));
    }
    let entries = client.page_token_stream::<AuditLogEntry>(
        "/api/v2/audit/logs".into(),
        params,
        PageFields {
            items: "items",
            next: "nextPageToken",
        },
        "pageToken",
    );
    futures::pin_mut!(entries);
    let mut report = ExportReport::default();
    loop {
        let entry = entries.try_next().await.map_err(|e| {
            Error::new(
                ErrorKind::Api,
                format!("audit-log export failed after {} entries", report.exported),
            )
            .with_source(e)
        })?;
        let Some(entry) = entry else { break };
        let timestamp = chrono::DateTime::parse_from_rfc3339(&entry.timestamp)
            .map_err(|e| {
                Error::new(
                    ErrorKind::Api,
                    format!(
                        "audit entry {:?} has a timestamp that is not RFC 3339: {:?}",
                        entry.id, entry.timestamp
                    ),
                )
                .with_source(e)
            })?
            .with_timezone(&chrono::Utc);
        let payload = serde_json::to_value(&entry).map_err(|e| {
            Error::new(ErrorKind::Serialize, "audit entry is not serialisable").with_source(e)
        })?;
        sink.write(&AuditRecord::at(timestamp, entry.action, payload))
            .await?;
        report.exported += 1;
    }
    sink.flush().await?;
    Ok(report)
}
