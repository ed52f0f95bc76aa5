//! The real CXone agent domain a tenant holds (`../shared/CXONE_REST.md`
//! §3): agents with teams, the skill catalogue, agent-skill assignments,
//! unavailable codes and each agent's current state. The routes that serve
//! it live in `routes::incontact`.
//!
//! Every tenant starts with the same data so a client sees something
//! without setup: six agents (ids 3100001..=3100006, the last inactive) in
//! three teams, sixty skills (ids 4100001..=4100060; 4100006 inactive),
//! eleven assignments, five unavailable codes (ids 501..=505; 504
//! inactive, 505 is ACW), the codes each team may use (Tier 1 all five,
//! Tier 2 501, 502 and 505, Supervisors 501, 502 and 504) and current
//! states (3100001 and 3100003 Available, 3100002 Unavailable with "Break",
//! the rest LoggedOut). All of it was last updated at sim time 0; each
//! write stamps the record with the virtual clock's "now" (ms), which
//! `updatedSince` compares against.
//!
//! The state history holds every change of an agent's state, whoever made
//! it (a supervisor or the agent's session), at the virtual clock's time.
//! It starts with an hour before sim time 0: agents 3100001..=3100003
//! Available at -60 min, Unavailable "Lunch" at -30 min, then their current
//! state at 0 (each in a seeded agent session `60000000NN`, NN the last two
//! digits of the agent id); the others LoggedOut at 0.

use std::collections::BTreeMap;

use serde_json::{Value, json};

use crate::clock::Clock;

/// One agent (the fields the simulator keeps).
#[derive(Debug, Clone)]
pub(crate) struct IcAgent {
    pub agent_id: u64,
    pub user_name: String,
    pub first_name: String,
    pub last_name: String,
    pub user_id: String,
    pub is_active: bool,
    pub team_id: u64,
    pub last_updated_ms: u64,
}

/// One skill of the catalogue.
#[derive(Debug, Clone)]
pub(crate) struct IcSkill {
    pub skill_id: u64,
    pub skill_name: String,
    pub media_type_id: u64,
    pub is_active: bool,
}

/// One agent-skill assignment.
#[derive(Debug, Clone)]
pub(crate) struct Assignment {
    pub proficiency: u64,
    pub is_active: bool,
    pub last_update_ms: u64,
}

/// One unavailable code (`outStateId`).
#[derive(Debug, Clone)]
pub(crate) struct UnavailableCode {
    pub id: u64,
    pub name: &'static str,
    pub is_active: bool,
    pub is_acw: bool,
}

/// An agent's current state.
#[derive(Debug, Clone)]
pub(crate) struct CurrentState {
    pub name: &'static str,
    pub out_state_id: u64,
    pub start_ms: u64,
    pub last_update_ms: u64,
}

/// One entry of an agent's state history: the state it entered at
/// `start_ms` (sim ms; the default tenant's seeded entries lie before the
/// simulator started, so it may be negative) and kept until the agent's
/// next entry.
#[derive(Debug, Clone)]
pub(crate) struct HistoryEntry {
    pub agent_id: u64,
    /// Position in the agent's history, from 1 (`stateIndex`).
    pub index: u64,
    pub name: &'static str,
    pub out_state_id: u64,
    /// The agent session that made the change (`None`: a supervisor's
    /// change or the seed's opening state).
    pub session_id: Option<String>,
    pub start_ms: i64,
}

/// A state a supervisor may set (`POST /agents/{agentId}/state`).
#[derive(Debug, Clone, Copy)]
pub(crate) enum StateChange {
    Available,
    Unavailable(u64),
}

/// The kind of a per-skill write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SkillOp {
    /// `POST`: assign (an assigned skill is updated).
    Assign,
    /// `PUT`: modify an assigned skill.
    Modify,
    /// `DELETE`: unassign.
    Remove,
}

const TEAMS: [(u64, &str); 3] = [(2001, "Tier 1"), (2002, "Tier 2"), (2003, "Supervisors")];
const MEDIA_TYPES: [(u64, &str); 4] = [
    (1, "Email"),
    (3, "Chat"),
    (4, "Phone Call"),
    (5, "Voice Mail"),
];
/// Proficiencies a write may set (CXone's range is unconfirmed; its UI
/// offers 1 to 20).
const PROFICIENCY: std::ops::RangeInclusive<u64> = 1..=20;
/// State history entries a tenant keeps.
const MAX_HISTORY: usize = 100_000;

/// The domain of one tenant.
#[derive(Debug)]
pub(crate) struct InContactStore {
    pub agents: Vec<IcAgent>,
    pub skills: Vec<IcSkill>,
    /// Keyed by (agentId, skillId).
    pub assignments: BTreeMap<(u64, u64), Assignment>,
    pub codes: Vec<UnavailableCode>,
    pub states: BTreeMap<u64, CurrentState>,
    /// Every state change of every agent, oldest first (at most
    /// [`MAX_HISTORY`]; the oldest tenth goes when it is full).
    pub history: Vec<HistoryEntry>,
    /// Entries each agent has had, kept or not (the last `stateIndex`).
    pub history_counts: BTreeMap<u64, u64>,
    /// The unavailable codes each team may use (`teamId` → code ids).
    pub team_codes: BTreeMap<u64, Vec<u64>>,
}

impl Default for InContactStore {
    fn default() -> Self {
        let people = [
            ("Ada", "Lovelace", 2001, true),
            ("Grace", "Hopper", 2001, true),
            ("Alan", "Turing", 2002, true),
            ("Edsger", "Dijkstra", 2002, true),
            ("Barbara", "Liskov", 2003, true),
            ("Ken", "Thompson", 2001, false),
        ];
        let agents = people
            .iter()
            .zip(3_100_001u64..)
            .map(|(&(first, last, team_id, is_active), agent_id)| IcAgent {
                agent_id,
                user_name: format!("{}.{}@sim.example", first, last).to_ascii_lowercase(),
                first_name: first.to_owned(),
                last_name: last.to_owned(),
                user_id: uuid::Uuid::from_u128(
                    0x5100_0000_0000_4000_8000_0000_0000_0000 | u128::from(agent_id),
                )
                .hyphenated()
                .to_string(),
                is_active,
                team_id,
                last_updated_ms: 0,
            })
            .collect();
        let named = [
            ("Sales Phone", 4),
            ("Support Phone", 4),
            ("Support Email", 1),
            ("Support Chat", 3),
            ("Billing Phone", 4),
            ("Retired Voicemail", 5),
        ];
        let skills = (1..=60u64)
            .map(|n| {
                let (name, media) = named
                    .get(usize::try_from(n - 1).unwrap_or(usize::MAX))
                    .map_or((format!("Skill {n:02}"), 4), |&(s, m)| (s.to_owned(), m));
                IcSkill {
                    skill_id: 4_100_000 + n,
                    skill_name: name,
                    media_type_id: media,
                    is_active: n != 6,
                }
            })
            .collect();
        let assignments = [
            (1, 1, 1),
            (1, 2, 3),
            (1, 3, 5),
            (2, 1, 2),
            (2, 4, 1),
            (3, 2, 1),
            (3, 5, 4),
            (4, 3, 2),
            (5, 1, 1),
            (5, 2, 1),
            (5, 4, 1),
        ]
        .into_iter()
        .map(|(a, s, proficiency)| {
            (
                (3_100_000 + a, 4_100_000 + s),
                Assignment {
                    proficiency,
                    is_active: true,
                    last_update_ms: 0,
                },
            )
        })
        .collect();
        let codes = vec![
            code(501, "Break", true, false),
            code(502, "Lunch", true, false),
            code(503, "Training", true, false),
            code(504, "Meeting", false, false),
            code(505, "After Call Work", true, true),
        ];
        let states: BTreeMap<u64, CurrentState> = (1..=6u64)
            .map(|a| {
                let (name, out) = match a {
                    1 | 3 => ("Available", 0),
                    2 => ("Unavailable", 501),
                    _ => ("LoggedOut", 0),
                };
                (
                    3_100_000 + a,
                    CurrentState {
                        name,
                        out_state_id: out,
                        start_ms: 0,
                        last_update_ms: 0,
                    },
                )
            })
            .collect();
        // An hour before the simulator started, agents 3100001..=3100003
        // logged in (Available), went to Lunch half an hour later, and at
        // sim time 0 entered their current state; the others were logged out.
        let mut seeded = Self {
            agents,
            skills,
            assignments,
            codes,
            states: BTreeMap::new(),
            history: Vec::new(),
            history_counts: BTreeMap::new(),
            team_codes: [
                (2001, vec![501, 502, 503, 504, 505]),
                (2002, vec![501, 502, 505]),
                (2003, vec![501, 502, 504]),
            ]
            .into_iter()
            .collect(),
        };
        for (&agent_id, state) in &states {
            let session = format!("{:010}", 6_000_000_000u64 + agent_id % 100);
            if state.name != "LoggedOut" {
                seeded.record(agent_id, "Available", 0, Some(&session), -3_600_000);
                seeded.record(agent_id, "Unavailable", 502, Some(&session), -1_800_000);
            }
            let at_zero = (state.name != "LoggedOut").then_some(session.as_str());
            seeded.record(agent_id, state.name, state.out_state_id, at_zero, 0);
        }
        seeded.states = states;
        seeded
    }
}

fn code(id: u64, name: &'static str, is_active: bool, is_acw: bool) -> UnavailableCode {
    UnavailableCode {
        id,
        name,
        is_active,
        is_acw,
    }
}

fn team_name(team_id: u64) -> &'static str {
    TEAMS
        .iter()
        .find(|(id, _)| *id == team_id)
        .map_or("", |(_, n)| n)
}

fn media_type_name(id: u64) -> &'static str {
    MEDIA_TYPES
        .iter()
        .find(|(m, _)| *m == id)
        .map_or("", |(_, n)| n)
}

/// `agentStateId` of a state name.
fn state_id(name: &str) -> u64 {
    match name {
        "Available" => 1,
        "Unavailable" => 2,
        _ => 0,
    }
}

impl InContactStore {
    /// The agent whose `agentId` (a number) or `userId` (a UUID, any case)
    /// is `id`.
    pub(crate) fn agent(&self, id: &str) -> Option<&IcAgent> {
        let number = id.parse::<u64>().ok();
        self.agents
            .iter()
            .find(|a| Some(a.agent_id) == number || a.user_id.eq_ignore_ascii_case(id))
    }

    /// An agent as CXone lists it.
    pub(crate) fn agent_json(&self, a: &IcAgent, clock: &Clock) -> Value {
        json!({
            "agentId": a.agent_id,
            "userName": a.user_name,
            "firstName": a.first_name,
            "lastName": a.last_name,
            "userID": a.user_id,
            "emailAddress": a.user_name,
            "isActive": a.is_active,
            "teamId": a.team_id,
            "teamName": team_name(a.team_id),
            "profileId": 1,
            "profileName": "Agent",
            "timeZone": "UTC",
            "isSupervisor": a.team_id == 2003,
            "lastUpdated": clock.rfc3339(a.last_updated_ms),
        })
    }

    /// Assignment `(agent_id, skill_id)` as CXone lists it.
    pub(crate) fn assignment_json(
        &self,
        (agent_id, skill_id): (u64, u64),
        asg: &Assignment,
        clock: &Clock,
    ) -> Value {
        let skill = self.skill(skill_id);
        let media = skill.map_or(0, |s| s.media_type_id);
        json!({
            "agentId": agent_id,
            "skillId": skill_id,
            "skillName": skill.map_or("", |s| s.skill_name.as_str()),
            "agentProficiencyValue": asg.proficiency,
            "agentProficiencyName": format!("Level {}", asg.proficiency),
            "isActive": asg.is_active,
            "isSkillActive": skill.is_some_and(|s| s.is_active),
            "mediaTypeId": media,
            "mediaTypeName": media_type_name(media),
            "isOutbound": false,
            "outboundStrategy": "",
            "isRestricted": false,
            "lastUpdateTime": clock.rfc3339(asg.last_update_ms),
        })
    }

    fn skill(&self, skill_id: u64) -> Option<&IcSkill> {
        self.skills.iter().find(|s| s.skill_id == skill_id)
    }

    /// A skill as `GET /skills` lists it.
    pub(crate) fn skill_json(s: &IcSkill) -> Value {
        json!({
            "skillId": s.skill_id,
            "skillName": s.skill_name,
            "mediaTypeId": s.media_type_id,
            "mediaTypeName": media_type_name(s.media_type_id),
            "isActive": s.is_active,
            "isOutbound": false,
            "requireDisposition": false,
            "campaignId": 0,
        })
    }

    /// An unavailable code as `GET /unavailable-codes` lists it.
    pub(crate) fn code_json(c: &UnavailableCode) -> Value {
        json!({
            "id": c.id,
            "name": c.name,
            "isActive": c.is_active,
            "isACW": c.is_acw,
            "agentTimeout": if c.is_acw { 120 } else { 0 },
        })
    }

    /// Agent `agent_id`'s current state as `GET /agents/states` lists it.
    pub(crate) fn state_json(&self, agent_id: u64, s: &CurrentState, clock: &Clock) -> Value {
        let agent = self.agents.iter().find(|a| a.agent_id == agent_id);
        let code = self.codes.iter().find(|c| c.id == s.out_state_id);
        json!({
            "agentId": agent_id,
            "firstName": agent.map_or("", |a| a.first_name.as_str()),
            "lastName": agent.map_or("", |a| a.last_name.as_str()),
            "teamId": agent.map_or(0, |a| a.team_id),
            "teamName": agent.map_or("", |a| team_name(a.team_id)),
            "agentStateId": state_id(s.name),
            "agentStateName": s.name,
            "outStateId": s.out_state_id,
            "outStateDescription": code.map_or("", |c| c.name),
            "isACW": code.is_some_and(|c| c.is_acw),
            "contactId": 0,
            "skillId": 0,
            "startDate": clock.rfc3339(s.start_ms),
            "lastUpdateTime": clock.rfc3339(s.last_update_ms),
        })
    }

    /// Applies `op` to each of `items` (`{skillId, proficiency?, isActive?}`)
    /// for agent `agent_id`, each on its own: an unknown skill, an
    /// unassigned skill for `Modify`/`Remove` or a bad field fails that
    /// item only. Returns the `resultSet` body.
    pub(crate) fn change_skills(
        &mut self,
        agent_id: u64,
        op: SkillOp,
        items: &[Value],
        now_ms: u64,
    ) -> Value {
        let results: Vec<Value> = items
            .iter()
            .map(|item| {
                let skill_id = item.get("skillId").and_then(id_value);
                let outcome = match skill_id {
                    None => Err("skillId is required and must be an integer".to_owned()),
                    Some(id) => self.change_one(agent_id, id, op, item, now_ms),
                };
                json!({
                    "skillId": skill_id.map_or(Value::Null, Value::from),
                    "success": outcome.is_ok(),
                    "error": outcome.err(),
                })
            })
            .collect();
        let errors = results.iter().filter(|r| r["success"] != true).count();
        json!({ "resultSet": { "errorCount": errors, "skillResults": results } })
    }

    fn change_one(
        &mut self,
        agent_id: u64,
        skill_id: u64,
        op: SkillOp,
        item: &Value,
        now_ms: u64,
    ) -> Result<(), String> {
        if self.skill(skill_id).is_none() {
            return Err("Invalid Skill Id".to_owned());
        }
        let key = (agent_id, skill_id);
        if op == SkillOp::Remove {
            return self
                .assignments
                .remove(&key)
                .map(drop)
                .ok_or_else(|| "Skill is not assigned to the agent".to_owned());
        }
        let proficiency = match item.get("proficiency") {
            None | Some(Value::Null) => None,
            Some(v) => match v.as_u64().filter(|p| PROFICIENCY.contains(p)) {
                Some(p) => Some(p),
                None => {
                    return Err(format!(
                        "proficiency must be an integer in {}..={}",
                        PROFICIENCY.start(),
                        PROFICIENCY.end()
                    ));
                }
            },
        };
        let is_active = match item.get("isActive") {
            None | Some(Value::Null) => None,
            Some(Value::Bool(b)) => Some(*b),
            Some(_) => return Err("isActive must be a boolean".to_owned()),
        };
        let asg = match (op, self.assignments.get_mut(&key)) {
            (_, Some(asg)) => asg,
            (SkillOp::Assign, None) => self.assignments.entry(key).or_insert(Assignment {
                proficiency: 1,
                is_active: true,
                last_update_ms: now_ms,
            }),
            (_, None) => return Err("Skill is not assigned to the agent".to_owned()),
        };
        if let Some(p) = proficiency {
            asg.proficiency = p;
        }
        if let Some(b) = is_active {
            asg.is_active = b;
        }
        asg.last_update_ms = now_ms;
        Ok(())
    }

    /// A supervisor's state change for a logged-in agent.
    ///
    /// # Errors
    /// The reason (for `icStatusDescription`): a logged-out agent, or an
    /// unknown or inactive unavailable code.
    pub(crate) fn set_state(
        &mut self,
        agent_id: u64,
        change: StateChange,
        now_ms: u64,
    ) -> Result<(), &'static str> {
        let (name, out_state_id) = match change {
            StateChange::Available => ("Available", 0),
            StateChange::Unavailable(code) => {
                if !self.codes.iter().any(|c| c.id == code && c.is_active) {
                    return Err("Invalid outStateId");
                }
                ("Unavailable", code)
            }
        };
        if self
            .states
            .get(&agent_id)
            .is_none_or(|s| s.name == "LoggedOut")
        {
            return Err("Agent is not logged in");
        }
        self.session_state(agent_id, name, out_state_id, now_ms, None);
        Ok(())
    }
}

impl InContactStore {
    /// The first active agent (who an agent session acts as when the
    /// request names none).
    pub(crate) fn first_active_agent(&self) -> Option<u64> {
        self.agents.iter().find(|a| a.is_active).map(|a| a.agent_id)
    }

    /// The id of the active unavailable code called `name` (any case).
    pub(crate) fn code_named(&self, name: &str) -> Option<u64> {
        self.codes
            .iter()
            .find(|c| c.is_active && c.name.eq_ignore_ascii_case(name.trim()))
            .map(|c| c.id)
    }

    /// Sets `agent_id`'s state as its own agent session `session_id` does
    /// (logging in or out included; `None`: a supervisor's change);
    /// `out_state_id` 0 is a plain Unavailable. A change of state or code
    /// is recorded in the state history.
    pub(crate) fn session_state(
        &mut self,
        agent_id: u64,
        name: &'static str,
        out_state_id: u64,
        now_ms: u64,
        session_id: Option<&str>,
    ) {
        let changed = self
            .states
            .get(&agent_id)
            .is_none_or(|s| s.name != name || s.out_state_id != out_state_id);
        let state = self.states.entry(agent_id).or_insert(CurrentState {
            name,
            out_state_id,
            start_ms: now_ms,
            last_update_ms: now_ms,
        });
        if changed {
            state.start_ms = now_ms;
        }
        state.name = name;
        state.out_state_id = out_state_id;
        state.last_update_ms = now_ms;
        if changed {
            let at = i64::try_from(now_ms).unwrap_or(i64::MAX);
            self.record(agent_id, name, out_state_id, session_id, at);
        }
    }

    /// Appends a state history entry (dropping the oldest tenth when the
    /// history is full).
    fn record(
        &mut self,
        agent_id: u64,
        name: &'static str,
        out_state_id: u64,
        session_id: Option<&str>,
        start_ms: i64,
    ) {
        if self.history.len() >= MAX_HISTORY {
            self.history.drain(..MAX_HISTORY / 10);
        }
        let count = self.history_counts.entry(agent_id).or_insert(0);
        *count += 1;
        self.history.push(HistoryEntry {
            agent_id,
            index: *count,
            name,
            out_state_id,
            session_id: session_id.map(str::to_owned),
            start_ms,
        });
    }

    /// The state history of `only` (an agent) or of every agent, as
    /// `GET /agents/state-history` lists it: each entry with its
    /// per-agent `stateIndex` (from 1), its `duration` in seconds (up to
    /// `now_ms` for the current state) and the sim ms it was last updated
    /// at (its end, or its start while it lasts), kept when `keep(start_ms,
    /// updated_ms)` holds. Ordered by start, then agent.
    pub(crate) fn state_history(
        &self,
        only: Option<u64>,
        now_ms: u64,
        clock: &Clock,
        keep: impl Fn(i64, i64) -> bool,
    ) -> Vec<Value> {
        let now = i64::try_from(now_ms).unwrap_or(i64::MAX);
        // Each entry ends where the agent's next one starts.
        let mut next_start: BTreeMap<u64, i64> = BTreeMap::new();
        let mut ends: Vec<Option<i64>> = self
            .history
            .iter()
            .rev()
            .map(|e| next_start.insert(e.agent_id, e.start_ms))
            .collect();
        ends.reverse();
        let mut out: Vec<(i64, u64, Value)> = Vec::new();
        for (e, end) in self.history.iter().zip(ends) {
            if only.is_some_and(|o| o != e.agent_id) || !keep(e.start_ms, end.unwrap_or(e.start_ms))
            {
                continue;
            }
            let code = self.codes.iter().find(|c| c.id == e.out_state_id);
            let millis = end.unwrap_or(now).saturating_sub(e.start_ms).max(0);
            out.push((
                e.start_ms,
                e.agent_id,
                json!({
                    "stateIndex": e.index,
                    "agentId": e.agent_id,
                    "startDate": rfc3339_signed(clock, e.start_ms),
                    "endDate": end.map(|t| rfc3339_signed(clock, t)),
                    "agentStateId": state_id(e.name),
                    "agentStateName": e.name,
                    "agentSessionId": e.session_id,
                    "contactId": 0,
                    "skillId": 0,
                    "outStateId": e.out_state_id,
                    "outStateDescription": code.map_or("", |c| c.name),
                    "isACW": code.is_some_and(|c| c.is_acw),
                    "duration": millis as f64 / 1000.0,
                }),
            ));
        }
        out.sort_by_key(|(start, agent, _)| (*start, *agent));
        out.into_iter().map(|(_, _, v)| v).collect()
    }

    /// The unavailable codes team `team_id` may use, as `GET
    /// /teams/{teamId}/unavailable-codes` lists them (only active ones
    /// when `active_only`); `None` for an unknown team.
    pub(crate) fn team_codes_json(&self, team_id: u64, active_only: bool) -> Option<Vec<Value>> {
        let ids = self.team_codes.get(&team_id)?;
        Some(
            ids.iter()
                .filter_map(|id| self.codes.iter().find(|c| c.id == *id))
                .filter(|c| !active_only || c.is_active)
                .map(|c| {
                    json!({
                        "outStateId": c.id,
                        "outStateName": c.name,
                        "isAcw": c.is_acw,
                        "isActive": c.is_active,
                        "isPersonalConnection": false,
                        "skillName": "",
                    })
                })
                .collect(),
        )
    }
}

/// `clock`'s rendering of sim ms `ms`, which may lie before the start.
fn rfc3339_signed(clock: &Clock, ms: i64) -> String {
    match u64::try_from(ms) {
        Ok(ms) => clock.rfc3339(ms),
        Err(_) => chrono::TimeDelta::try_milliseconds(ms.saturating_neg())
            .and_then(|back| clock.wall(0).checked_sub_signed(back))
            .unwrap_or(chrono::DateTime::<chrono::Utc>::MIN_UTC)
            .to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
    }
}

/// An id sent as a JSON number or a numeric string.
pub(crate) fn id_value(v: &Value) -> Option<u64> {
    match v {
        Value::Number(n) => n.as_u64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_full_history_drops_its_oldest_tenth_and_keeps_each_agents_numbering() {
        let mut store = InContactStore::default();
        let seeded = store.history.len();
        let changes = MAX_HISTORY - seeded + 1;
        for n in 0..changes {
            let name = if n % 2 == 0 {
                "Unavailable"
            } else {
                "Available"
            };
            store.session_state(3_100_001, name, 0, 1 + n as u64, None);
        }
        assert_eq!(store.history.len(), MAX_HISTORY - MAX_HISTORY / 10 + 1);
        let clock = Clock::new();
        let ada = store.state_history(Some(3_100_001), 0, &clock, |_, _| true);
        let last = ada.last().map(|v| v["stateIndex"].clone());
        assert_eq!(last, Some(json!(3 + changes)), "numbering goes on");
        let first = ada.first().map(|v| v["stateIndex"].clone());
        assert_ne!(first, Some(json!(1)), "the oldest went");
    }
}
