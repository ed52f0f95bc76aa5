//! Compliance audit records for cxone-rs.
//!
//! Seed 001 step 4 (`WorkflowAuditLogger`) writes every workflow event as a
//! JSON line `{timestamp, event_type, payload, compliance_hash}`, where the hash
//! is the SHA-256 of the payload's canonical JSON. This crate is that logger,
//! made reusable by every service crate (workflows, agents, history, data
//! actions):
//!
//! - [`AuditRecord`] and [`EventType`] — the record and an open set of event
//!   names ([`record`]).
//! - [`canonical_json`], [`compliance_hash`] — RFC 8785 canonical JSON and its
//!   SHA-256, reproducible in any language ([`canonical`]).
//! - [`AuditSink`] — where records go; [`JsonlSink`] appends to one
//!   `audit-YYYYMMDD.jsonl` file per UTC day, [`MemorySink`] keeps them in
//!   memory ([`sink`], [`jsonl`]).
//! - [`read_jsonl`], [`verify_file`], [`verify_dir`] — read files back and
//!   check every hash.
//! - [`export_audit_logs`] — CXone's `/api/v2/audit/logs` paged into any sink
//!   (seed 000 step 5, [`export`]).
//! - [`Error`] — the crate's one error type ([`error`]).
//!
//! ```
//! use cx_audit::{AuditRecord, AuditSink, EventType, MemorySink};
//! use serde_json::json;
//!
//! # async fn run() -> Result<(), cx_audit::Error> {
//! let sink = MemorySink::new();
//! let record = AuditRecord::new(
//!     EventType::WORKFLOW_COMPLETED,
//!     json!({"instanceId": "inst_1", "status": "COMPLETED", "erpSyncStatus": "pending"}),
//! );
//! assert!(record.verify_hash());
//! sink.write(&record).await?;
//! assert_eq!(sink.records(), [record]);
//! # Ok(())
//! # }
//! ```
//!
//! # Features
//!
//! | feature | default | what it adds |
//! |---|---|---|
//! | *(none yet)* | | |

#![deny(missing_docs)]

pub mod canonical;
pub mod chain;
pub mod error;
pub mod export;
pub mod jsonl;
pub mod record;
pub mod signing;
pub mod sink;
pub mod verify;
pub mod webhook;
#[cfg(feature = "receiver")]
pub mod receiver;

pub use canonical::{canonical_json, compliance_hash, sha256_hex};
pub use chain::GENESIS_HASH;
pub use error::{Error, ErrorKind};
pub use export::{AuditLogEntry, ExportQuery, ExportReport, export_audit_logs};
pub use jsonl::{
    FsyncPolicy, JsonlSink, MAX_PAYLOAD_DEPTH, Repair, day_file_name, day_files, day_of_file,
};
pub use record::{AuditRecord, EventType};
pub use sink::{AuditSink, MemorySink, TeeSink};
pub use webhook::WebhookSink;
#[cfg(feature = "receiver")]
pub use receiver::{Delivery, Receiver};
pub use verify::{Problem, ProblemKind, VerifyReport, read_jsonl, verify_dir, verify_file};
