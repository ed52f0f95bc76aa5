//! The real CXone agent API (`../shared/CXONE_REST.md` §2–§3), on the shared
//! runtime: `{api}/inContactAPI/services/vNN.0/...`.
//!
//! | intent | here | CXone endpoint |
//! |---|---|---|
//! | list agents | [`Client::agents`] (`Stream`) | `GET /agents` (`top`/`skip`, `updateSince`, `isActive`, `searchString`, `fields`) |
//! | one agent | [`Client::agent`] | `GET /agents/{agentId}` → `{agents: [one]}` |
//! | an agent's skills | [`Client::skills`] (`Stream`) | `GET /agents/{agentId}/skills` |
//! | every assignment | [`Client::all_skill_assignments`] (`Stream`) | `GET /agents/skills` |
//! | skill catalogue | [`Client::skill_catalogue`] (`Stream`) | `GET /skills` |
//! | assign / modify / remove skills | [`Client::assign_skills`], [`Client::modify_skills`], [`Client::remove_skills`] | `POST`/`PUT`/`DELETE /agents/{agentId}/skills` (DELETE with a JSON body) |
//! | unavailable codes | [`Client::unavailable_codes`] (`Stream`) | `GET /unavailable-codes` |
//! | a team's unavailable codes | [`Client::team_unavailable_codes`] | `GET /teams/{teamId}/unavailable-codes?activityOnly=` |
//! | state history | [`Client::state_history`] (`Stream`) | `GET /agents/state-history`, `GET /agents/{agentId}/state-history` (`startDate`, `endDate`, `updatedSince`) |
//! | current states | [`Client::agent_states`] | `GET /agents/states` (`updatedSince`) |
//! | supervisor state change | [`Client::set_state`] | `POST /agents/{agentId}/state` |
//! | start an agent session | [`Client::start_session`] | `POST /agent-sessions` → 202 `{sessionId}` |
//! | join an agent's live session | [`Client::join_session`] | `POST /agent-sessions/join` → 202 `{sessionId}` |
//! | set the session's state | [`Client::set_session_state`] | `POST /agent-sessions/{sessionId}/state` → 202 |
//! | keep the session alive | [`Client::keep_alive`] | `POST /agent-sessions/{sessionId}/keep-alive` → 202 |
//! | end the session | [`Client::end_session`] | `DELETE /agent-sessions/{sessionId}` → 202 |
//! | the session's events | [`Client::events`] (`Stream`) | `GET /agent-sessions/{sessionId}/get-next-event?timeout=N` (long poll) |
//!
//! Lists page with `top`/`skip`: the first page is asked for with
//! `top` = [`RealConfig::page_size`], and each next page is `_links.next`,
//! followed through [`cx_http::Client::link`] (so it must stay on the API's
//! origin; a link elsewhere ends the stream with an error and nothing is
//! sent there). A 204 answer is an empty list. Ids are kept as text and
//! deserialize from a JSON number or string.
//!
//! There is no ETag on this API: a skill change is a per-skill write whose
//! answer lists each skill's result, and a write with any failed skill is
//! an error ([`ErrorKind::Api`]) that names every failed skill and its
//! reason — a partial failure is never reported as success.

use chrono::{DateTime, SecondsFormat, Utc};
use cx_http::paginate::{DEFAULT_MAX_PAGES, Page, items, link_pages};
use cx_http::{ApiPath, Method, RequestBuilder};
use futures::stream::{self, Stream, TryStreamExt as _};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use crate::error::{Error, ErrorKind};

mod history;
mod sessions;
use crate::types::AgentId;
pub use history::{HistoryFilter, StateRecord, TeamUnavailableCode};
pub use sessions::{EndSession, EventType, SessionEvent, SessionId, SessionState, StartSession};

cx_http::api_versions! {
    /// The `vNN.0` version segment of each resource family. Defaults are the
    /// versions `../shared/CXONE_REST.md` §3 records published clients using.
    pub struct Versions {
        /// `/agents` and `/agents/{agentId}` (default `v23.0`; v12, v23, v33
        /// and v34 are documented).
        with_agents(agents) = "v23.0";
        /// `/agents/{agentId}/skills` and `/agents/skills` (default `v23.0`).
        with_agent_skills(agent_skills) = "v23.0";
        /// `/skills` (default `v27.0`, as NICE's own client).
        with_skills(skills) = "v27.0";
        /// `/unavailable-codes` (default `v23.0`).
        with_unavailable_codes(unavailable_codes) = "v23.0";
        /// `/agents/states` (default `v23.0`).
        with_agent_states(agent_states) = "v23.0";
        /// `POST /agents/{agentId}/state` (default `v12.0`, the version documented).
        with_set_state(set_state) = "v12.0";
        /// `/agent-sessions` and its `state`, `DELETE` and `get-next-event`
        /// (default `v23.0`; v33 in newer published clients).
        with_agent_sessions(agent_sessions) = "v23.0";
        /// `POST /agent-sessions/{sessionId}/keep-alive` (default `v31.0`, the
        /// only version seen).
        with_keep_alive(keep_alive) = "v31.0";
        /// `/agents/state-history` and `/agents/{agentId}/state-history`
        /// (default `v23.0`).
        with_state_history(state_history) = "v23.0";
        /// `/teams/{teamId}/unavailable-codes` (default `v23.0`; v34 is seen too).
        with_teams(teams) = "v23.0";
    }
}

/// Settings of a real-API [`Client`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct RealConfig {
    /// Version segment per resource family.
    pub versions: Versions,
    /// `top` of every list request (items per page; 1..=10000, default 100).
    pub page_size: u32,
    /// `timeout` of each `get-next-event` long poll, in seconds (0..=60,
    /// default 60 as NICE's own client).
    pub event_timeout_secs: u32,
    /// How long past its `timeout` a poll may stay unanswered before it is
    /// dropped and sent again (default 30 s: NICE's client restarts a
    /// 60 s poll silent for 90 s).
    pub hung_poll_grace: std::time::Duration,
}

impl Default for RealConfig {
    fn default() -> Self {
        Self {
            versions: Versions::default(),
            page_size: 100,
            event_timeout_secs: 60,
            hung_poll_grace: std::time::Duration::from_secs(30),
        }
    }
}

cx_http::with_setters! { RealConfig {
    /// Set [`RealConfig::versions`].
    with_versions(versions: Versions);
    /// Set [`RealConfig::page_size`] (1..=10000, checked by [`Client::new`]).
    with_page_size(page_size: u32);
    /// Set [`RealConfig::event_timeout_secs`] (0..=60, checked by [`Client::new`]).
    with_event_timeout_secs(event_timeout_secs: u32);
    /// Set [`RealConfig::hung_poll_grace`].
    with_hung_poll_grace(hung_poll_grace: std::time::Duration);
}}

/// A CXone id, kept as text whether the server sent a number or a string.
pub use cx_http::TextId as Id;

/// An agent (`GET /agents` item). Fields CXone sends that are not named
/// here are kept in `other`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Agent {
    /// `agentId`.
    pub agent_id: Id,
    /// Login name.
    pub user_name: Option<String>,
    /// First name.
    pub first_name: Option<String>,
    /// Last name.
    pub last_name: Option<String>,
    /// The user's UUID (`userID`).
    #[serde(default, rename = "userID")]
    pub user_id: Option<String>,
    /// Whether the agent is active.
    pub is_active: Option<bool>,
    /// Team id.
    pub team_id: Option<Id>,
    /// Team name.
    pub team_name: Option<String>,
    /// Last change, ISO-8601 UTC.
    pub last_updated: Option<String>,
    /// Every other field, as sent.
    #[serde(flatten)]
    pub other: Map<String, Value>,
}

/// An agent-skill assignment (`agentSkillAssignments` item).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SkillAssignment {
    /// The agent (present on `/agents/skills`; the per-agent list may omit it).
    pub agent_id: Option<Id>,
    /// The skill.
    pub skill_id: Id,
    /// Skill name.
    pub skill_name: Option<String>,
    /// Proficiency (`agentProficiencyValue`).
    pub agent_proficiency_value: Option<i64>,
    /// Whether the assignment is active.
    pub is_active: Option<bool>,
    /// Whether the skill itself is active.
    pub is_skill_active: Option<bool>,
    /// Last change, ISO-8601 UTC.
    pub last_update_time: Option<String>,
    /// Every other field, as sent.
    #[serde(flatten)]
    pub other: Map<String, Value>,
}

/// A skill of the catalogue (`GET /skills` item).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CatalogueSkill {
    /// `skillId`.
    pub skill_id: Id,
    /// `skillName`.
    pub skill_name: Option<String>,
    /// Whether the skill is active.
    pub is_active: Option<bool>,
    /// Every other field, as sent.
    #[serde(flatten)]
    pub other: Map<String, Value>,
}

/// An unavailable code (`unavailableCodes` item); its `id` is the
/// `outStateId` of [`StateChange::Unavailable`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UnavailableCode {
    /// The code's id.
    pub id: Id,
    /// Its name.
    pub name: Option<String>,
    /// Whether it may be used.
    pub is_active: Option<bool>,
    /// Whether it is an after-call-work code (`isACW`).
    #[serde(default, rename = "isACW")]
    pub is_acw: Option<bool>,
    /// Every other field, as sent.
    #[serde(flatten)]
    pub other: Map<String, Value>,
}

/// An agent's current state (`agentStates` item).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AgentState {
    /// The agent.
    pub agent_id: Id,
    /// `LoggedOut`, `Available`, `Unavailable`, `InboundContact`, ...
    pub agent_state_name: Option<String>,
    /// The unavailable code, when Unavailable (0 otherwise).
    pub out_state_id: Option<Id>,
    /// The unavailable code's name.
    pub out_state_description: Option<String>,
    /// When the state began, ISO-8601 UTC.
    pub start_date: Option<String>,
    /// Last change, ISO-8601 UTC.
    pub last_update_time: Option<String>,
    /// Every other field, as sent.
    #[serde(flatten)]
    pub other: Map<String, Value>,
}

/// The answer of [`Client::agent_states`].
#[derive(Debug, Clone, PartialEq)]
pub struct AgentStates {
    /// Pass this as the next call's `updated_since` to see only later
    /// changes (`lastPollTime`; `None` when the server sent none or the
    /// answer was 204).
    pub last_poll_time: Option<DateTime<Utc>>,
    /// The states changed since the time asked for, over every page.
    pub states: Vec<AgentState>,
}

/// Filters of [`Client::agents`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct AgentFilter {
    /// Only active (`true`) or inactive (`false`) agents.
    pub is_active: Option<bool>,
    /// Text matched against names (`searchString`).
    pub search: Option<String>,
    /// Only agents changed at or after this instant (`updateSince`).
    pub updated_since: Option<DateTime<Utc>>,
    /// Fields to return (`fields`); empty = all.
    pub fields: Vec<String>,
}

cx_http::with_setters! { AgentFilter {
    /// Only active (`true`) or inactive (`false`) agents ([`AgentFilter::is_active`]).
    with_is_active(is_active: bool) = Some(is_active);
    /// Only agents whose names match `search` ([`AgentFilter::search`]).
    with_search(search: impl Into<String>) = Some(search.into());
    /// Only agents changed at or after `updated_since` ([`AgentFilter::updated_since`]).
    with_updated_since(updated_since: DateTime<Utc>) = Some(updated_since);
    /// Return only `fields` ([`AgentFilter::fields`]).
    with_fields(fields: impl IntoIterator<Item = impl Into<String>>) = fields.into_iter().map(Into::into).collect();
}}

/// One skill of an assign or modify request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct SkillChange {
    /// The skill.
    pub skill_id: u64,
    /// Proficiency to set (server's range; CXone's UI offers 1..=20).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub proficiency: Option<u32>,
    /// Whether the assignment is active (required by CXone on modify).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub is_active: Option<bool>,
}

impl SkillChange {
    /// `skill_id` with the server's default proficiency and activity.
    pub fn new(skill_id: u64) -> Self {
        Self {
            skill_id,
            proficiency: None,
            is_active: None,
        }
    }
}

cx_http::with_setters! { SkillChange {
    /// Set the proficiency ([`SkillChange::proficiency`]).
    with_proficiency(proficiency: u32) = Some(proficiency);
    /// Set whether the assignment is active ([`SkillChange::is_active`]).
    with_is_active(is_active: bool) = Some(is_active);
}}

/// One skill's outcome of a skill write (`skillResults` item).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SkillResult {
    /// The skill (absent when the server could not read it).
    pub skill_id: Option<Id>,
    /// Whether this skill's change was applied.
    pub success: bool,
    /// The server's reason when it was not.
    pub error: Option<String>,
}

/// A supervisor's state change for an agent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StateChange {
    /// Ready for contacts.
    Available,
    /// Unavailable with this unavailable code id (`outStateId`).
    Unavailable(u64),
}

/// A client of CXone's real agent API.
#[derive(Clone)]
pub struct Client {
    http: cx_http::Client,
    config: RealConfig,
}

cx_http::real_client_debug!(Client, "cx_agent::real::Client");

/// One page of a list: its items and `lastPollTime`.
struct Chunk<T> {
    last_poll_time: Option<String>,
    items: Vec<T>,
}

impl Client {
    /// A client sending every request through `http` (whose base URL is
    /// the tenant's API host).
    ///
    /// # Errors
    /// [`ErrorKind::Validation`] naming the field when a version is not
    /// `vNN.0` or `page_size` is outside 1..=10000.
    pub fn new(http: cx_http::Client, config: RealConfig) -> Result<Self, Error> {
        if let Some(bad) = config.versions.violations(()).first() {
            return Err(Error::new(
                ErrorKind::Validation,
                format!("{}: {}", bad.field, bad.message),
            ));
        }
        if !(1..=10_000).contains(&config.page_size) {
            return Err(Error::new(
                ErrorKind::Validation,
                format!("page_size: must be in 1..=10000, got {}", config.page_size),
            ));
        }
        if config.event_timeout_secs > 60 {
            return Err(Error::new(
                ErrorKind::Validation,
                format!(
                    "event_timeout_secs: must be in 0..=60, got {}",
                    config.event_timeout_secs
                ),
            ));
        }
        Ok(Self { http, config })
    }

    /// The settings in use.
    pub fn config(&self) -> &RealConfig {
        &self.config
    }

    /// `/inContactAPI/services/{version}`: the one place the prefix is built.
    fn service(version: &str) -> ApiPath {
        ApiPath::new("/inContactAPI/services").id("version", version)
    }

    fn agents_path(&self) -> ApiPath {
        Self::service(&self.config.versions.agents).lit("agents")
    }

    fn agent_skills_path(&self, agent_id: &AgentId) -> ApiPath {
        Self::service(&self.config.versions.agent_skills)
            .lit("agents")
            .id("agent_id", agent_id.as_str())
            .lit("skills")
    }

    /// Pages of a `top`/`skip` list: `first` is the first request (with
    /// `top` added), then each `_links.next`. Items sit under `key`.
    fn chunks<T: DeserializeOwned>(
        &self,
        first: RequestBuilder,
        key: &'static str,
        what: String,
    ) -> impl Stream<Item = Result<Chunk<T>, Error>> + use<T> {
        let top = self.config.page_size.to_string();
        let first = first.query(&[("top", top.as_str()), ("skip", "0")]);
        let what_pages = what.clone();
        let pages = link_pages(
            self.http.clone(),
            first,
            DEFAULT_MAX_PAGES,
            move |resp: &cx_http::Response| {
                split(resp, key).map_err(|e| {
                    cx_http::Error::new(
                        cx_http::ErrorKind::Decode,
                        format!("{what_pages}: the page's `{key}` is not the expected array"),
                    )
                    .with_source(e)
                })
            },
        );
        items(pages).map_err(move |e| Error::from_http(e, &what))
    }

    fn list<T: DeserializeOwned>(
        &self,
        first: RequestBuilder,
        key: &'static str,
        what: String,
    ) -> impl Stream<Item = Result<T, Error>> + use<T> {
        self.chunks(first, key, what)
            .map_ok(|c: Chunk<T>| stream::iter(c.items.into_iter().map(Ok)))
            .try_flatten()
    }

    /// Agents matching `filter`, every page (`GET /agents`).
    ///
    /// # Errors
    /// Each item is an [`Error`]: [`ErrorKind::PermissionDenied`] (401/403),
    /// [`ErrorKind::Pagination`], [`ErrorKind::Api`] for a foreign
    /// `_links.next` or an unexpected body, ...
    pub fn agents(&self, filter: &AgentFilter) -> impl Stream<Item = Result<Agent, Error>> + use<> {
        let mut req = self.http.get(self.agents_path()).operation("agents.list");
        if let Some(active) = filter.is_active {
            req = req.query(&[("isActive", if active { "true" } else { "false" })]);
        }
        req = req.query_opt("searchString", filter.search.as_deref());
        if let Some(since) = filter.updated_since {
            req = req.query(&[("updateSince", iso(since))]);
        }
        if !filter.fields.is_empty() {
            req = req.query(&[("fields", filter.fields.join(","))]);
        }
        self.list(req, "agents", "listing agents".into())
    }

    /// One agent by `agentId` (or user UUID) (`GET /agents/{agentId}`).
    ///
    /// # Errors
    /// [`ErrorKind::NotFound`] for an unknown id ("Invalid Agent Id");
    /// [`ErrorKind::Api`] when the answer holds no agent.
    pub async fn agent(&self, agent_id: &AgentId) -> Result<Agent, Error> {
        let what = format!("reading agent {}", cx_http::escape(agent_id.as_str()));
        #[derive(Deserialize)]
        struct One {
            agents: Vec<Agent>,
        }
        let one: One = self
            .http
            .get(self.agents_path().id("agent_id", agent_id.as_str()))
            .operation("agents.get")
            .send_json()
            .await
            .map_err(|e| Error::from_http(e, &what))?;
        one.agents
            .into_iter()
            .next()
            .ok_or_else(|| Error::new(ErrorKind::Api, format!("{what}: the answer holds no agent")))
    }

    /// `agent_id`'s skill assignments, every page (`GET /agents/{agentId}/skills`).
    ///
    /// # Errors
    /// As [`Client::agents`]; [`ErrorKind::NotFound`] for an unknown agent.
    pub fn skills(
        &self,
        agent_id: &AgentId,
    ) -> impl Stream<Item = Result<SkillAssignment, Error>> + use<> {
        let req = self
            .http
            .get(self.agent_skills_path(agent_id))
            .operation("agents.skills");
        let what = format!(
            "listing skills of agent {}",
            cx_http::escape(agent_id.as_str())
        );
        self.list(req, "agentSkillAssignments", what)
    }

    /// Every agent's skill assignments, every page (`GET /agents/skills`).
    ///
    /// # Errors
    /// As [`Client::agents`].
    pub fn all_skill_assignments(
        &self,
    ) -> impl Stream<Item = Result<SkillAssignment, Error>> + use<> {
        let req = self
            .http
            .get(Self::service(&self.config.versions.agent_skills).lit("agents/skills"))
            .operation("agents.skills.all");
        self.list(
            req,
            "agentSkillAssignments",
            "listing all skill assignments".into(),
        )
    }

    /// The tenant's skills, every page (`GET /skills`).
    ///
    /// # Errors
    /// As [`Client::agents`].
    pub fn skill_catalogue(&self) -> impl Stream<Item = Result<CatalogueSkill, Error>> + use<> {
        let req = self
            .http
            .get(Self::service(&self.config.versions.skills).lit("skills"))
            .operation("skills.list");
        self.list(req, "skills", "listing skills".into())
    }

    /// The tenant's unavailable codes, every page (`GET /unavailable-codes`).
    ///
    /// # Errors
    /// As [`Client::agents`].
    pub fn unavailable_codes(&self) -> impl Stream<Item = Result<UnavailableCode, Error>> + use<> {
        let req = self
            .http
            .get(Self::service(&self.config.versions.unavailable_codes).lit("unavailable-codes"))
            .operation("unavailable_codes.list");
        self.list(req, "unavailableCodes", "listing unavailable codes".into())
    }

    /// Agents' current states changed at or after `updated_since` (all of
    /// them when `None`), over every page (`GET /agents/states`). Pass the
    /// answer's `last_poll_time` to the next call to poll incrementally.
    ///
    /// # Errors
    /// As [`Client::agents`]; [`ErrorKind::Api`] when `lastPollTime` is
    /// not an ISO-8601 date-time.
    pub async fn agent_states(
        &self,
        updated_since: Option<DateTime<Utc>>,
    ) -> Result<AgentStates, Error> {
        let mut req = self
            .http
            .get(Self::service(&self.config.versions.agent_states).lit("agents/states"))
            .operation("agents.states");
        if let Some(since) = updated_since {
            req = req.query(&[("updatedSince", iso(since))]);
        }
        let chunks: Vec<Chunk<AgentState>> = self
            .chunks(req, "agentStates", "reading agent states".into())
            .try_collect()
            .await?;
        let last_poll_time = match chunks.first().and_then(|c| c.last_poll_time.as_deref()) {
            None => None,
            Some(raw) => Some(
                DateTime::parse_from_rfc3339(raw)
                    .map(|d| d.with_timezone(&Utc))
                    .map_err(|_| {
                        Error::new(
                            ErrorKind::Api,
                            format!(
                                "reading agent states: lastPollTime {:?} is not an ISO-8601 date-time",
                                cx_http::escape(raw)
                            ),
                        )
                    })?,
            ),
        };
        let states = chunks.into_iter().flat_map(|c| c.items).collect();
        Ok(AgentStates {
            last_poll_time,
            states,
        })
    }

    /// Sets `agent_id`'s state as a supervisor (`POST /agents/{agentId}/state`,
    /// `state` and `outStateId` sent in the query and the JSON body, as the
    /// spec and published clients differ).
    ///
    /// # Errors
    /// [`ErrorKind::NotFound`] for an unknown agent; [`ErrorKind::Api`]
    /// (400, reason in `icStatusDescription`) for a logged-out agent or a
    /// bad code.
    pub async fn set_state(&self, agent_id: &AgentId, change: StateChange) -> Result<(), Error> {
        let (state, out) = match change {
            StateChange::Available => ("Available", None),
            StateChange::Unavailable(code) => ("Unavailable", Some(code.to_string())),
        };
        let mut body = json!({ "state": state });
        if let Some(out) = &out {
            body["outStateId"] = json!(out);
        }
        let what = format!(
            "setting the state of agent {}",
            cx_http::escape(agent_id.as_str())
        );
        self.http
            .post(
                Self::service(&self.config.versions.set_state)
                    .lit("agents")
                    .id("agent_id", agent_id.as_str())
                    .lit("state"),
            )
            .operation("agents.state.set")
            .query(&[("state", state)])
            .query_opt("outStateId", out.as_deref())
            .json(&body)
            .send()
            .await
            .map_err(|e| Error::from_http(e, &what))?;
        Ok(())
    }

    /// Assigns `skills` to `agent_id` (`POST /agents/{agentId}/skills`).
    ///
    /// # Errors
    /// As [`Client::modify_skills`].
    pub async fn assign_skills(
        &self,
        agent_id: &AgentId,
        skills: &[SkillChange],
    ) -> Result<Vec<SkillResult>, Error> {
        self.write_skills(
            Method::POST,
            agent_id,
            json!({ "skills": skills }),
            "assigning",
        )
        .await
    }

    /// Changes proficiency or activity of skills already assigned to
    /// `agent_id` (`PUT /agents/{agentId}/skills`).
    ///
    /// # Errors
    /// [`ErrorKind::Api`] naming every failed skill and its reason when
    /// the answer's `errorCount` is above 0 (the other skills were
    /// applied); [`ErrorKind::Validation`] for an empty `skills`;
    /// [`ErrorKind::NotFound`] for an unknown agent.
    pub async fn modify_skills(
        &self,
        agent_id: &AgentId,
        skills: &[SkillChange],
    ) -> Result<Vec<SkillResult>, Error> {
        self.write_skills(
            Method::PUT,
            agent_id,
            json!({ "skills": skills }),
            "modifying",
        )
        .await
    }

    /// Unassigns `skill_ids` from `agent_id` (`DELETE /agents/{agentId}/skills`
    /// with the JSON body `{skills: [{skillId}]}`).
    ///
    /// # Errors
    /// As [`Client::modify_skills`].
    pub async fn remove_skills(
        &self,
        agent_id: &AgentId,
        skill_ids: &[u64],
    ) -> Result<Vec<SkillResult>, Error> {
        let skills: Vec<Value> = skill_ids
            .iter()
            .map(|id| json!({ "skillId": id }))
            .collect();
        self.write_skills(
            Method::DELETE,
            agent_id,
            json!({ "skills": skills }),
            "removing",
        )
        .await
    }

    async fn write_skills(
        &self,
        method: Method,
        agent_id: &AgentId,
        body: Value,
        verb: &str,
    ) -> Result<Vec<SkillResult>, Error> {
        let what = format!(
            "{verb} skills of agent {}",
            cx_http::escape(agent_id.as_str())
        );
        if body["skills"].as_array().is_none_or(Vec::is_empty) {
            return Err(Error::new(
                ErrorKind::Validation,
                format!("{what}: skills: must name at least one skill"),
            ));
        }
        #[derive(Deserialize)]
        #[serde(rename_all = "camelCase")]
        struct Answer {
            result_set: ResultSet,
        }
        #[derive(Deserialize)]
        #[serde(rename_all = "camelCase")]
        struct ResultSet {
            #[serde(default)]
            error_count: u64,
            #[serde(default)]
            skill_results: Vec<SkillResult>,
        }
        let answer: Answer = self
            .http
            .request(method, self.agent_skills_path(agent_id))
            .operation("agents.skills.write")
            .json(&body)
            .send_json()
            .await
            .map_err(|e| Error::from_http(e, &what))?;
        let set = answer.result_set;
        let failed: Vec<String> = set
            .skill_results
            .iter()
            .filter(|r| !r.success)
            .map(|r| {
                format!(
                    "skill {} ({})",
                    r.skill_id.as_ref().map_or("?", |id| id.0.as_str()),
                    cx_http::escape(r.error.as_deref().unwrap_or("no reason given"))
                )
            })
            .collect();
        if set.error_count > 0 || !failed.is_empty() {
            let listed = if failed.is_empty() {
                "the server named none".to_owned()
            } else {
                failed.join(", ")
            };
            return Err(Error::new(
                ErrorKind::Api,
                format!(
                    "{what}: {} of {} skill(s) failed: {listed}",
                    set.error_count.max(failed.len() as u64),
                    set.skill_results.len()
                ),
            ));
        }
        Ok(set.skill_results)
    }
}

/// `t` as CXone expects: UTC, milliseconds, `Z`.
fn iso(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// A list answer (not 204): the array under `key`, `_links.next` and
/// `lastPollTime`.
fn split<T: DeserializeOwned>(
    resp: &cx_http::Response,
    key: &str,
) -> Result<Page<Chunk<T>>, serde_json::Error> {
    let mut body: Map<String, Value> = serde_json::from_slice(resp.body())?;
    let items: Vec<T> =
        serde_json::from_value(body.remove(key).unwrap_or(Value::Array(Vec::new())))?;
    let next = body
        .get("_links")
        .and_then(|l| l.get("next"))
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
        .map(str::to_owned);
    let last_poll_time = body
        .get("lastPollTime")
        .and_then(Value::as_str)
        .map(str::to_owned);
    Ok(Page {
        items: vec![Chunk {
            last_poll_time,
            items,
        }],
        next,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_deserialize_from_numbers_and_strings() {
        let ids: Vec<Id> = serde_json::from_str(r#"[12, "34", 5.0]"#).unwrap_or_default();
        assert_eq!(
            ids,
            vec![Id("12".into()), Id("34".into()), Id("5.0".into())]
        );
        assert!(serde_json::from_str::<Id>("true").is_err());
    }

    #[test]
    fn bad_versions_name_the_field() {
        let http = cx_testkit::unsent_http();
        let mut config = RealConfig::default();
        config.versions.skills = "27".into();
        let err = Client::new(http, config).err().map(|e| e.to_string());
        assert_eq!(
            err.as_deref(),
            Some("versions.skills: must look like v23.0 (v, digits, .0), got \"27\"")
        );
    }
}
