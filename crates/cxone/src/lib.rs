#![doc = include_str!("../README.md")]
//! cxone-rs: automate NICE CXone from Rust.
//!
//! This facade re-exports the workspace's crates under short names, so an
//! application depends on one crate:
//!
//! | module | crate | what |
//! |---|---|---|
//! | [`http`] | `cx-http` | the runtime: retries, Retry-After, limits, breaker, paginators, poller |
//! | [`auth`] | `cx-auth` | OAuth2 client credentials and the token cache; [`auth::Tenant`] |
//! | [`audit`] | `cx-audit` | audit records, JSONL sinks, verification, CXone audit-log export |
//! | [`workflow`] | `cx-workflow` | workflow executions (seed 000) and instances (seed 001) |
//! | [`agent`] | `cx-agent` | agent availability: profile, skills, shift rules, work-mode updates (seed 002) |
//! | [`dataaction`] | `cx-dataaction` | data actions: execute, poll jobs, typed extraction, auditor (seed 004) |
//! | [`history`] | `cx-history` | interaction history queries, path analysis, bottlenecks (seed 003) |
//! | [`sim`] | `cx-sim` | the CXone simulator (feature `sim`) |
//! | `redis` | `cx-redis` | rate limits and tokens shared by a fleet of processes through Redis (feature `redis`) |
//!
//! ```no_run
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! let tenant = cxone::auth::Tenant::new("https://api.example.com", "client-id", "client-secret");
//! let (http, _tokens) = tenant.connect()?;
//! let workflows = cxone::workflow::Client::new(http, cxone::workflow::Config::default());
//! # let _ = workflows; Ok(()) }
//! ```
//!
//! ## Features
//!
//! | feature | default | adds |
//! |---|---|---|
//! | `sim` | via `cli` | [`sim`], the in-process simulator |
//! | `redis` | via `cli` | `redis`, shared limits and tokens (`redis` crate, tokio, connection manager; no TLS) |
//! | `webhook` | via `cli` | [`webhook`], seed 001's signed completion webhook receiver (axum) |
//! | `cli` | yes | the `cx` binary (clap, indicatif, tracing-subscriber) |

#![deny(missing_docs)]

pub use cx_agent as agent;
pub use cx_audit as audit;
pub use cx_auth as auth;
pub use cx_dataaction as dataaction;
pub use cx_history as history;
pub use cx_http as http;
#[cfg(feature = "redis")]
pub use cx_redis as redis;
#[cfg(feature = "sim")]
pub use cx_sim as sim;
pub use cx_workflow as workflow;
#[cfg(feature = "webhook")]
pub mod webhook;

/// The README's Rust examples, compiled as doc tests.
#[cfg(doctest)]
#[doc = include_str!("../../../README.md")]
pub struct ReadmeDoctests;
