#![doc = include_str!("../README.md")]
//! NICE CXone agent availability (seed 002): profile and skills, WFM shift
//! rules, work-mode updates that never lose a write, events, and a routing
//! simulator.
//!
//! | seed 002 step | here |
//! |---|---|
//! | 1, profile + ETag, skills over every page | [`Client::profile`], [`Client::skills`] (follows `nextPageUri`, stops with [`ErrorKind::Pagination`] on a loop) |
//! | 2, shift and concurrency rules | [`validate_availability`] (every violation; [`Clock`] injectable), [`Client::validate`] |
//! | 3, payload + `If-Match` | [`WorkModePayload::builder`], [`UpdateBuilder::send`] |
//! | 409 "Code Fix" | [`cx_http::ConditionalUpdate`]: re-read, re-apply the change to the fresh state, retry, bounded ([`Config::max_update_attempts`], default 3) |
//! | 429 advice: ≤ 5 PATCH/s per tenant | [`Config::patch_rate_limit`] through a [`cx_http::RateLimiter`] |
//! | 4, publish + latency | `agent.availability.changed` with previous and new state; [`UpdateReport::latency_ms`], metric `cx_agent_workmode_update_seconds` |
//! | 5, audit record | `AGENT_AVAILABILITY_CHANGED` (`optimisticLockingApplied` only when an ETag was sent), `_REJECTED`, `_UPDATE_FAILED` through [`cx_audit::AuditSink`] |
//! | 6, routing simulator | [`RoutingSimulator`], [`routing_score`] (deterministic; latency only when seeded) |
//!
//! Every request goes through the [`cx_http::Client`] it is given; this
//! crate has no retry loop of its own besides the conditional-update loop it
//! borrows from the runtime.
//!
//! ```no_run
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! use std::sync::Arc;
//! use cx_agent::{Client, Config, SkillLevel, WorkModePayload};
//!
//! let (http, _tokens) = cx_auth::Tenant::new("https://api.example", "id", "secret").connect()?;
//! let agents = Client::new(http, Config::default())
//!     .with_audit(Arc::new(cx_audit::MemorySink::new()));
//! let payload = WorkModePayload::builder("workMode-123")
//!     .skill("skill-456:1:2".parse::<SkillLevel>()?)
//!     .skill(SkillLevel::new("skill-789", 0, 0))
//!     .build(agents.clock())?;
//! let agent: cx_agent::AgentId = "agent-001".parse()?;
//! let report = agents.update_work_mode(&agent, payload).send().await?;
//! println!("{} attempt(s), {:.1} ms", report.attempts, report.latency_ms);
//! # Ok(()) }
//! ```
//!
//! ## Features
//! None: the crate has no optional parts.

#![deny(missing_docs)]

pub mod client;
pub mod clock;
pub mod config;
pub mod error;
pub mod real;
pub mod simulate;
pub mod types;
pub mod update;
pub mod validate;

pub use client::{AVAILABILITY_CHANGED, Client, EventReceipt, PATCH_LIMIT_NAME};
pub use clock::{Clock, FixedClock, SystemClock};
pub use config::Config;
pub use error::{AgentKind, Error, ErrorDetail, ErrorKind, Rule, Violation};
pub use simulate::{RoutingSimulator, Simulation, routing_score};
pub use types::{
    AgentId, AgentProfile, PayloadMetadata, Schedule, Shift, Skill, SkillLevel, WorkModePayload,
    WorkModePayloadBuilder, WorkModeRef,
};
pub use update::{AgentState, SkillDelta, UpdateBuilder, UpdateReport, apply_skill_deltas};
pub use validate::{ValidationReport, validate_availability};
