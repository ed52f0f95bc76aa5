#![doc = include_str!("../README.md")]
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
//! - [`chain`] — the hash chain (`prev_hash`, `hash`) that makes a log
//!   tamper-evident: edits, removals, reorderings and missing day files show.
//! - [`AuditSink`] — where records go; [`JsonlSink`] appends hash-chained
//!   lines to one `audit-YYYYMMDD.jsonl` file per UTC day, durably
//!   ([`FsyncPolicy`]) and repairing a crashed writer's partial line on open;
//!   [`WebhookSink`] POSTs each record signed ([`signing`]); [`TeeSink`]
//!   writes to several; [`MemorySink`] keeps them in memory ([`sink`],
//!   [`jsonl`], [`webhook`]).
//! - [`read_jsonl`], [`verify_file`], [`verify_dir`] — read files back and
//!   prove them intact, naming the first bad line ([`verify`]);
//!   [`verify_dir_with`] also checks signed checkpoints and an expected head,
//!   [`verify_appended`] only the lines a writer appended.
//! - [`SigningKey`], [`VerifyingKey`], [`Checkpoint`], [`Anchor`] — Ed25519
//!   signed checkpoints in the chain and the head line kept elsewhere
//!   ([`checkpoint`]).
//! - `Receiver` (feature `receiver`) — an axum router that verifies signed
//!   deliveries, de-duplicates them and audits each once (`receiver`).
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
//! | `receiver` | no | `receiver::Receiver`: the signed-webhook receiver (axum) |

#![deny(missing_docs)]

pub mod canonical;
pub mod chain;
pub mod checkpoint;
pub mod error;
pub mod export;
pub mod jsonl;
#[cfg(feature = "receiver")]
pub mod receiver;
pub mod record;
pub mod signing;
pub mod sink;
pub mod verify;
pub mod webhook;
mod writer;

pub use canonical::{canonical_json, compliance_hash, sha256_hex};
pub use chain::GENESIS_HASH;
pub use checkpoint::{Anchor, CHECKPOINT_EVENT, Checkpoint, SigningKey, VerifyingKey};
pub use error::{Error, ErrorKind};
pub use export::{AuditLogEntry, ExportQuery, ExportReport, export_audit_logs};
pub use jsonl::{
    AppendTracker, Appended, FsyncPolicy, JsonlSink, MAX_PAYLOAD_DEPTH, Repair, SinkOptions,
    day_file_name, day_files, day_of_file,
};
#[cfg(feature = "receiver")]
pub use receiver::{Delivery, Receiver};
pub use record::{AuditRecord, EventType};
pub use sink::{AuditSink, MemorySink, TeeSink};
pub use verify::{
    AppendedProblem, DirReport, FoundCheckpoint, Problem, ProblemKind, VerifyOptions, VerifyReport,
    latest_anchor, read_jsonl, verify_appended, verify_dir, verify_dir_with, verify_file,
};
pub use webhook::WebhookSink;
