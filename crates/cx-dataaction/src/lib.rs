#![doc = include_str!("../README.md")]
//! NICE CXone data actions (seed 004): validated payloads, execution with
//! an idempotency key, job polling, JMESPath extraction into typed values
//! and an execution auditor.
//!
//! | seed 004 step | here |
//! |---|---|
//! | 1, construct payloads | [`Payload`] (`garde`: `versionId` is `v` + semver, `executionTimeoutMs` 1000..=60000) |
//! | 2, validate before invoking | [`Payload::check`], [`Payload::check_required`], [`RunBuilder::required`] or the action's definition ([`Client::definition`]) |
//! | 3, invoke and poll | [`Client::submit`] (idempotency key; the runtime retries 429/503), [`Client::wait`] on [`Config::poller`] (max wait 120 s) |
//! | 4, parse and coerce | [`Extraction`] (compiled once), [`coerce_str`], [`Typed`] |
//! | 5, audit and webhook | [`ExecutionAudit`], [`ErrorClass`], [`Config::webhook_url`], [`Client::with_audit`] |
//! | complete example, `run` | [`Client::run`] → [`RunBuilder::send`] → [`RunReport`] or [`Error`] with [`Error::audit`] |
//! | CXone's real counterpart (issue 17) | [`extraction`]: Data Extraction jobs → a file, under the tenant's one-call-per-30-s limit |
//!
//! Every request goes through the [`cx_http::Client`] it is given (retries,
//! `Retry-After`, token refresh, breaker); this crate has no retry or sleep
//! of its own. The time to see a finished job is bounded by the poll
//! schedule in [`config`] (≤ 400 ms between polls), not by the seed's 3 s.
//!
//! ```no_run
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! use std::sync::Arc;
//! use cx_dataaction::{ActionId, Client, Config, Extraction, Payload};
//! use serde_json::json;
//!
//! let (http, _tokens) = cx_auth::Tenant::new("https://api.example", "id", "secret").connect()?;
//! let client = Client::new(http, Config::default())
//!     .with_audit(Arc::new(cx_audit::MemorySink::new()));
//! let id = ActionId::new("DA-123456")?;
//! let payload = Payload::new("v2.1.0")
//!     .param("customerId", json!("CUST-8842"))
//!     .param("interactionType", json!("voice"))
//!     .param("thresholdScore", json!(0.85))
//!     .env("region", "us-east-1")
//!     .env("environment", "production")
//!     .timeout_ms(45_000);
//! match client.run(&id, payload).extract(Extraction::seed()).send().await {
//!     Ok(report) => println!("{:?} ({} ms)", report.values, report.audit.latency_ms),
//!     Err(e) => println!("{e} [{:?}]", e.audit().map(|a| a.error_classification)),
//! }
//! # Ok(()) }
//! ```
//!
//! ## Features
//! None: the crate has no optional parts.

#![deny(missing_docs)]

pub mod audit;
pub mod client;
pub mod config;
pub mod error;
pub mod extract;
pub mod extraction;
pub mod types;

pub use audit::{ErrorClass, ExecutionAudit, WebhookDelivery, payload_hash};
pub use client::{Client, RunBuilder, RunReport};
pub use config::Config;
pub use error::{DataActionKind, Error, ErrorDetail, ErrorKind, Rule, Violation, class_of};
pub use extract::{Extraction, Typed, coerce_str, coerce_value};
pub use rust_decimal::Decimal;
pub use types::{
    ActionDefinition, ActionId, ActionVersion, DEFAULT_TIMEOUT_MS, Job, JobAccepted, JobStatus,
    Payload, TIMEOUT_MS_RANGE, VersionId, version_id_problem,
};
