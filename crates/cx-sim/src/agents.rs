//! Seed 002 state: agents with their work mode, skill levels and ETag
//! version, each agent's skill catalogue (with `maximumConcurrentInteractions`),
//! WFM shifts, the history of accepted work-mode writes, and the events
//! published through `POST /api/v2/events/publish`.
//!
//! Fixtures (every tenant gets its own copy on first use):
//!
//! | agent | work mode | skills (max concurrent) | shifts |
//! |---|---|---|---|
//! | `agent-001` | `workMode-123` | `skill-456` (2), `skill-789` (1), `skill-101` (3), `skill-102` (1), `skill-103` (4) | `workMode-123` from 1 h before the simulator started to 8 h after, then `workMode-456` for 8 h |
//! | `agent-002` | `workMode-123` | `skill-456` (2) | none |
//! | `agent-003` | `workMode-123` | holds `skill-s00`; may take `skill-s00` … `skill-s63` (1 each) | `workMode-123` from 1 h before the start to 24 h after |
//!
//! A work-mode write may only name skills of the agent's catalogue (400
//! `unknown_skill` otherwise). `agent-003` is for concurrent writers that
//! each add a skill of their own.
//!
//! Shift times are sim-time offsets from the simulator's start, so "now"
//! stays inside `agent-001`'s first shift until the virtual clock is
//! advanced past it. Seed 002's example (`workMode-123`, `skill-456` at
//! 2 concurrent, `skill-789` at 0) passes validation against `agent-001`
//! as written.

use std::collections::HashMap;

use serde_json::{Map, Value, json};

use crate::fixtures::by_id;

/// One skill an agent holds (`GET /api/v2/agents/{id}/skills` entity).
#[derive(Debug, Clone)]
pub(crate) struct SkillDef {
    pub skill_id: String,
    pub skill_name: String,
    pub max_concurrent: u32,
}

/// One WFM shift, in sim ms relative to the simulator's start.
#[derive(Debug, Clone)]
pub(crate) struct Shift {
    pub shift_id: String,
    pub start_ms: i64,
    pub end_ms: i64,
    pub work_mode_id: String,
}

/// One agent.
#[derive(Debug, Clone)]
pub(crate) struct Agent {
    pub id: String,
    pub first_name: String,
    pub last_name: String,
    pub work_mode_id: String,
    /// Current skill levels, as the last write set them.
    pub skill_levels: Vec<Value>,
    pub catalogue: Vec<SkillDef>,
    pub shifts: Vec<Shift>,
    /// Bumped on every accepted write; the ETag is derived from it.
    pub version: u64,
    pub updated_ms: u64,
    /// Accepted work-mode writes, oldest first (the newest, as many as
    /// the retention keeps audit entries).
    pub writes: Vec<Value>,
    /// When set, the last skills page points back at the first (a server
    /// bug clients must survive).
    pub skills_page_loop: bool,
    /// When set, `nextPageUri` is absolute on this origin
    /// (`http://host:port`) instead of base-relative: a link to another
    /// host that clients must not send their token to.
    pub skills_next_origin: Option<String>,
}

impl Agent {
    /// The current ETag, e.g. `"agent-001-v3"` (quotes included).
    pub(crate) fn etag(&self) -> String {
        format!("\"{}-v{}\"", self.id, self.version)
    }

    /// Whether an `If-Match` value matches the current ETag (`*` always does;
    /// a weak `W/` prefix is ignored; a list matches when any member does).
    pub(crate) fn matches(&self, if_match: &str) -> bool {
        let current = self.etag();
        if_match
            .split(',')
            .map(str::trim)
            .any(|tag| tag == "*" || tag.strip_prefix("W/").unwrap_or(tag) == current.as_str())
    }
}

/// The seed-002 resources of one tenant.
#[derive(Debug)]
pub(crate) struct AgentStore {
    pub agents: HashMap<String, Agent>,
    /// Published events, oldest first (the newest, as many as the
    /// retention keeps audit entries; their idempotency keys are kept with
    /// the tenant's other stored responses).
    pub events: Vec<Value>,
}

impl Default for AgentStore {
    fn default() -> Self {
        Self {
            agents: by_id(builtin_agents(), |a| &a.id),
            events: Vec::new(),
        }
    }
}

const HOUR_MS: i64 = 3_600_000;

fn skill(id: &str, name: &str, max: u32) -> SkillDef {
    SkillDef {
        skill_id: id.to_owned(),
        skill_name: name.to_owned(),
        max_concurrent: max,
    }
}

fn agent(id: &str, first: &str, last: &str, catalogue: Vec<SkillDef>, shifts: Vec<Shift>) -> Agent {
    let skill_levels = catalogue
        .iter()
        .map(|s| json!({ "skillId": s.skill_id, "level": 1, "concurrentInteractions": 1 }))
        .collect();
    Agent {
        id: id.to_owned(),
        first_name: first.to_owned(),
        last_name: last.to_owned(),
        work_mode_id: "workMode-123".to_owned(),
        skill_levels,
        catalogue,
        shifts,
        version: 1,
        updated_ms: 0,
        writes: Vec::new(),
        skills_page_loop: false,
        skills_next_origin: None,
    }
}

/// The agents every tenant starts with (see the module docs).
fn builtin_agents() -> Vec<Agent> {
    vec![
        agent(
            "agent-001",
            "Ada",
            "Agent",
            vec![
                skill("skill-456", "Billing Voice", 2),
                skill("skill-789", "Retention Chat", 1),
                skill("skill-101", "Email Support", 3),
                skill("skill-102", "Spanish Voice", 1),
                skill("skill-103", "Tier 2 Chat", 4),
            ],
            vec![
                Shift {
                    shift_id: "shift-001-a".to_owned(),
                    start_ms: -HOUR_MS,
                    end_ms: 8 * HOUR_MS,
                    work_mode_id: "workMode-123".to_owned(),
                },
                Shift {
                    shift_id: "shift-001-b".to_owned(),
                    start_ms: 8 * HOUR_MS,
                    end_ms: 16 * HOUR_MS,
                    work_mode_id: "workMode-456".to_owned(),
                },
            ],
        ),
        agent(
            "agent-002",
            "Bo",
            "Unscheduled",
            vec![skill("skill-456", "Billing Voice", 2)],
            Vec::new(),
        ),
        storm_agent(),
    ]
}

/// `agent-003`: a catalogue of 64 skills, one of them held.
fn storm_agent() -> Agent {
    let catalogue = (0..64)
        .map(|i| skill(&format!("skill-s{i:02}"), &format!("Storm Skill {i:02}"), 1))
        .collect();
    let mut a = agent(
        "agent-003",
        "Sam",
        "Storm",
        catalogue,
        vec![Shift {
            shift_id: "shift-003-a".to_owned(),
            start_ms: -HOUR_MS,
            end_ms: 24 * HOUR_MS,
            work_mode_id: "workMode-123".to_owned(),
        }],
    );
    a.skill_levels.truncate(1);
    a
}

/// A JSON object from pairs (keeps the handlers short).
pub(crate) fn object(pairs: impl IntoIterator<Item = (&'static str, Value)>) -> Value {
    Value::Object(
        pairs
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v))
            .collect::<Map<String, Value>>(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn etag_matching() {
        let mut a = builtin_agents().remove(0);
        a.version = 3;
        let cases = [
            ("\"agent-001-v3\"", true),
            ("W/\"agent-001-v3\"", true),
            ("*", true),
            ("\"agent-001-v2\"", false),
            ("\"agent-001-v2\", \"agent-001-v3\"", true),
            ("agent-001-v3", false),
            ("", false),
        ];
        for (if_match, want) in cases {
            assert_eq!(a.matches(if_match), want, "{if_match}");
        }
    }
}
