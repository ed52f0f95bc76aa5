#![doc = include_str!("../README.md")]
//! NICE CXone interaction history (seed 003): validated queries, streamed
//! retrieval, path analysis and a bottleneck report.
//!
//! | seed 003 step | here |
//! |---|---|
//! | 1, query payload and retention/quota validation | [`HistoryQuery`] (garde; injectable [`Clock`]), [`quote`] |
//! | 2, streamed paged retrieval, 429/5xx | [`Client::pages`], [`Client::interactions`] (at most [`Config::max_in_flight`] requests in flight; the runtime retries) |
//! | 3, path analysis | [`PathAnalyzer`], [`step_report`], [`VariableChanges`], [`DwellSketch`] |
//! | 4, latency, accuracy, audit, webhook | [`Client::report`] → [`ReportBuilder::send`] → [`HistoryReport`] |
//!
//! Every request goes through the [`cx_http::Client`] it is given: the
//! runtime retries 429 (with `Retry-After`) and 5xx (the query is a
//! read, sent as an idempotent POST), refreshes tokens and rate-limits;
//! this crate has no retry loop of its own.
//!
//! ```no_run
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! use std::time::Duration;
//! use chrono::Utc;
//! use cx_history::{Client, Config, HistoryQuery};
//!
//! let (http, _tokens) = cx_auth::Tenant::new("https://api.example", "id", "secret").connect()?;
//! let client = Client::new(http, Config::default());
//! let query = HistoryQuery::builder()
//!     .interaction("a1b2c3d4-e5f6-7890-abcd-ef1234567890")
//!     .start_at(Utc::now() - chrono::Duration::hours(2))
//!     .end_at(Utc::now())
//!     .errors_only()
//!     .limit(50)
//!     .build()?;
//! let report = client
//!     .report(&query)
//!     .threshold(Duration::from_secs(10))
//!     .send()
//!     .await?;
//! for b in &report.analysis.bottlenecks {
//!     println!("{} {} dwelt {:.1} s", b.interaction_id, b.node_id, b.dwell_seconds.unwrap_or(0.0));
//! }
//! # Ok(()) }
//! ```
//!
//! ## Features
//! None: the crate has no optional parts.

#![deny(missing_docs)]

pub mod analyze;
pub mod client;
pub mod config;
pub mod error;
pub mod query;
pub mod real;
pub mod report;
pub mod sketch;
mod time;
pub mod types;
mod wire;

pub use analyze::{
    Analysis, AnalyzerConfig, DataError, NodeStats, PathAnalyzer, PathCount, StepReport,
    VariableChange, VariableChanges, step_report,
};
pub use client::{Client, Page, Progress, ReportBuilder};
pub use config::Config;
pub use error::{Error, ErrorDetail, ErrorKind, HistoryKind, Rule, Violation};
pub use query::{
    Clock, FixedClock, HistoryQuery, HistoryQueryBuilder, MAX_AGE_SECS, RETENTION_DAYS,
    SystemClock, parse_instant, quote,
};
pub use report::{ComplianceStatus, HistoryReport, WebhookDelivery};
pub use sketch::DwellSketch;
pub use types::{Interaction, Step};
