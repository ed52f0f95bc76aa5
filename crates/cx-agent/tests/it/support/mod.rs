//! Shared helpers: a simulator, an agents client authenticated against it,
//! and readers of the simulator's `/_sim/` write history and events.
//! Helpers unwrap: a panic is the test failure report.

// Each test binary uses a different subset of these helpers.
#![allow(dead_code, clippy::unwrap_used)]

use std::sync::Arc;

use cx_agent::{
    AgentId, AgentProfile, Client, Config, FixedClock, SkillLevel, UpdateReport, WorkModePayload,
};
use cx_audit::MemorySink;
use cx_http::Versioned;
use cx_sim::Sim;
use serde_json::Value;

pub const AGENT: &str = "agent-001";
/// The simulator's agent with a 64-skill catalogue (`skill-s00`..`skill-s63`).
pub const STORM_AGENT: &str = "agent-003";

/// `raw` as an agent id.
pub fn id(raw: &str) -> AgentId {
    raw.parse().unwrap()
}

/// An authenticated runtime client for the simulator's default client.
pub use cx_testkit::sdk_http as http;

/// An agents client with `config`, auditing into the returned sink.
pub fn agents(sim: &Sim, config: Config) -> (Client, Arc<MemorySink>) {
    let sink = Arc::new(MemorySink::new());
    let client = Client::new(http(sim), config).with_audit(sink.clone());
    (client, sink)
}

/// Seed 002's example payload.
pub fn seed_payload() -> WorkModePayload {
    WorkModePayload::builder("workMode-123")
        .skill(SkillLevel::new("skill-456", 1, 2))
        .skill(SkillLevel::new("skill-789", 0, 0))
        .build(&FixedClock(chrono::Utc::now()))
        .unwrap()
}

/// The error of updating [`AGENT`] to [`seed_payload`] with `client`
/// (panics when the update succeeds).
pub async fn update_err(client: &Client) -> cx_agent::Error {
    client
        .update_work_mode(&id(AGENT), seed_payload())
        .send()
        .await
        .unwrap_err()
}

/// A real-binding client (`cx_agent::real`) for `sim` reading `page_size`
/// items a page.
pub fn real_client(sim: &Sim, page_size: u32) -> cx_agent::real::Client {
    cx_agent::real::Client::new(
        http(sim),
        cx_agent::real::RealConfig::default().with_page_size(page_size),
    )
    .unwrap()
}

/// A default simulator and a [`real_client`] for it.
pub async fn real_sim(page_size: u32) -> (Sim, cx_agent::real::Client) {
    let sim = Sim::start().await.unwrap();
    let client = real_client(&sim, page_size);
    (sim, client)
}

/// Update [`AGENT`] to [`seed_payload`] starting from `profile` (its ETag,
/// if any, goes in the first `If-Match`).
pub async fn update_from(client: &Client, profile: Versioned<AgentProfile>) -> UpdateReport {
    client
        .update_work_mode(&id(AGENT), seed_payload())
        .profile(profile)
        .send()
        .await
        .unwrap()
}

async fn admin(sim: &Sim, path: &str) -> Value {
    cx_http::Client::builder()
        .base_url(sim.base_url())
        .build()
        .unwrap()
        .link(cx_http::Method::GET, path)
        .without_auth()
        .send_json()
        .await
        .unwrap()
}

/// Every accepted write of `agent`, oldest first.
pub async fn writes(sim: &Sim, agent: &str) -> Vec<Value> {
    let v = admin(sim, &format!("/_sim/agents/{agent}/writes")).await;
    v.as_array().unwrap().clone()
}

/// Every published event, oldest first.
pub async fn events(sim: &Sim) -> Vec<Value> {
    admin(sim, "/_sim/events").await.as_array().unwrap().clone()
}

/// Journal entries with `method` whose path ends with `suffix`.
pub fn sent(sim: &Sim, method: &str, suffix: &str) -> Vec<cx_sim::JournalEntry> {
    cx_testkit::sent(sim, method, |p| p.ends_with(suffix))
}
