#![doc = include_str!("../README.md")]
//! NICE CXone workflow executions (seed 000) and workflow instances (seed 001).
//!
//! - [`Client::run`] runs one execution end to end: pre-flight checks
//!   of the definition, the input and the tenant quota (all violations in
//!   one error, nothing submitted when any fails), an idempotent submission,
//!   polling on a [`cx_http::Poller`] until COMPLETED/FAILED/CANCELLED,
//!   metrics ([`MetricsTracker`]) and output mapping ([`OutputMapping`]).
//! - [`Client::trigger`] creates an instance from a [`TriggerPayload`]
//!   (priority 1..=10, typed context variables coerced on construction)
//!   after a capacity check, with per-workflow [`TriggerStats`].
//! - Both write compliance records (seed 001 step 4 shape) to an
//!   [`cx_audit::AuditSink`] when one is set ([`Client::with_audit`]), and
//!   report a failing sink instead of dropping the record.
//! - Pure helpers for callers such as the `cx` CLI: [`validate_input`],
//!   [`check_prerequisites`], [`coerce_input`].
//!
//! Every request goes through the [`cx_http::Client`] it is given, which
//! retries (429 with `Retry-After`, 5xx for idempotent calls and calls with
//! an idempotency key) and refreshes tokens; this crate has no retry loop
//! of its own.
//!
//! | seed step | here |
//! |---|---|
//! | 000 step 1, validate status, keys and quota | [`check_prerequisites`], [`RunBuilder::send`] |
//! | 000 step 2, submit with 400/403 handling | [`RunBuilder::send`], [`ErrorKind`] |
//! | 000 step 3, poll with backoff | [`Config::poller`], [`ErrorKind::WaitTimeout`] |
//! | 000 step 4, metrics and output transform | [`MetricsTracker`], [`OutputMapping`] |
//! | 000 step 5, audit-log export | `cx_audit` (not this crate) |
//! | 001 step 1, payload and type coercion | [`TriggerPayload`], [`ContextVariable`], [`Priority`] |
//! | 001 step 2, concurrent-instance check | [`Client::running_instances`], [`WorkflowKind::CapacityExhausted`] |
//! | 001 step 3, atomic POST with retry | [`TriggerBuilder::send`] (idempotency key; the runtime retries) |
//! | 001 step 4, webhook + audit log | [`InstanceCompletion`], [`Client::record_completion`] |
//! | 001 step 5, orchestrator + metrics | [`TriggerBuilder::send`], [`TriggerStats`] |
//!
//! ```no_run
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! use std::sync::Arc;
//! use cx_workflow::{Client, Config, ContextType, OutputMapping, TriggerPayload, WorkflowId};
//! use serde_json::json;
//!
//! let (http, _tokens) = cx_auth::Tenant::new("https://api.example", "id", "secret").connect()?;
//! let client = Client::new(http, Config::default())
//!     .with_audit(Arc::new(cx_audit::MemorySink::new()));
//!
//! // Seed 000: an execution.
//! let id: WorkflowId = "wf_12345678-abcd-efgh-ijkl-1234567890ab".parse()?;
//! let report = client
//!     .run(&id)
//!     .input_value("customerId", json!("CUST-99887"))
//!     .input_value("priorityScore", json!(85))
//!     .mapping(OutputMapping::new().map("queue", "routingDecision"))
//!     .send()
//!     .await?;
//! println!("{} → {:?}", report.execution.status, report.output.get("queue"));
//!
//! // Seed 001: an instance.
//! let payload = TriggerPayload::builder(id.as_str())
//!     .priority(2)
//!     .context("priorityScore", json!("85"), ContextType::Integer)
//!     .context("requiresCallback", json!("true"), ContextType::Boolean)
//!     .metadata("sourceSystem", "erp_sync_module")
//!     .build()?;
//! let created = client.trigger(payload).send().await?;
//! println!("instance {} in {:.1} ms", created.instance_id, created.latency_ms);
//! # Ok(()) }
//! ```
//!
//! ## Features
//! None: the crate has no optional parts.

#![deny(missing_docs)]

pub mod client;
pub mod config;
pub mod error;
pub mod execute;
pub mod mapping;
pub mod metrics;
pub mod scripts;
pub mod trigger;
pub mod types;
pub mod validate;

pub use client::{Client, EXECUTION_OUTCOME_UNKNOWN, WORKFLOW_TRIGGER_OUTCOME_UNKNOWN};
pub use config::Config;
pub use error::{Error, ErrorDetail, ErrorKind, Rule, Violation, Violations, WorkflowKind};
pub use execute::{ExecutionReport, Progress, RunBuilder};
pub use mapping::{MappedOutput, MissingOutput, OutputMapping};
pub use metrics::{MetricsSnapshot, MetricsTracker, TriggerMetrics, TriggerStats};
pub use trigger::{TriggerBuilder, TriggerReport};
pub use types::{
    ContextType, ContextVariable, ContextVariableDecl, Execution, ExecutionError,
    ExecutionPriority, ExecutionStatus, InputType, InputVariable, InstanceCompletion, Priority,
    TriggerPayload, TriggerPayloadBuilder, WorkflowDefinition, WorkflowId, WorkflowStatus,
};
pub use validate::{check_prerequisites, coerce_input, validate_input};
