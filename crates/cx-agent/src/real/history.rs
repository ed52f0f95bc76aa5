//! Agent state history and a team's unavailable codes
//! (`../shared/CXONE_REST.md` §3 "Team's codes" and §4 "Agent history").

use chrono::{DateTime, Utc};
use futures::StreamExt as _;
use futures::stream::{self, Stream};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::{Client, Id, iso};
use crate::error::{Error, ErrorKind};
use crate::types::AgentId;

/// One state an agent was in (`agentStateHistory` item). Fields CXone
/// sends that are not named here are kept in `other`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StateRecord {
    /// The agent.
    pub agent_id: Id,
    /// Position in the agent's history (`stateIndex`).
    pub state_index: Option<i64>,
    /// When the state began, ISO-8601 UTC.
    pub start_date: Option<String>,
    /// `agentStateId` (CXone's number for the state name).
    pub agent_state_id: Option<Id>,
    /// `LoggedOut`, `Available`, `Unavailable`, `InboundContact`, ...
    pub agent_state_name: Option<String>,
    /// The agent session the state belonged to.
    pub agent_session_id: Option<Id>,
    /// The contact handled in the state (0 or absent when none).
    pub contact_id: Option<Id>,
    /// The skill of that contact (0 or absent when none).
    pub skill_id: Option<Id>,
    /// The unavailable code, when Unavailable (0 otherwise).
    pub out_state_id: Option<Id>,
    /// The unavailable code's name.
    pub out_state_description: Option<String>,
    /// How long the state lasted (so far, for the current one), in seconds.
    pub duration: Option<f64>,
    /// Every other field, as sent.
    #[serde(flatten)]
    pub other: Map<String, Value>,
}

/// Filters of [`Client::state_history`]; every one is optional.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct HistoryFilter {
    /// Only states that began at or after this instant (`startDate`).
    pub start: Option<DateTime<Utc>>,
    /// Only states that began before this instant (`endDate`).
    pub end: Option<DateTime<Utc>>,
    /// Only states updated at or after this instant (`updatedSince`).
    pub updated_since: Option<DateTime<Utc>>,
}

cx_http::with_setters! { HistoryFilter {
    /// Set [`HistoryFilter::start`].
    with_start(start: DateTime<Utc>) = Some(start);
    /// Set [`HistoryFilter::end`].
    with_end(end: DateTime<Utc>) = Some(end);
    /// Set [`HistoryFilter::updated_since`].
    with_updated_since(updated_since: DateTime<Utc>) = Some(updated_since);
}}

/// An unavailable code a team may use (`GET /teams/{teamId}/unavailable-codes`
/// item, named as CXone names it there).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TeamUnavailableCode {
    /// The code's name (`outStateName`), which an agent session's
    /// Unavailable state takes as its reason.
    pub out_state_name: Option<String>,
    /// Whether it is an after-call-work code (`isAcw`).
    pub is_acw: Option<bool>,
    /// Whether it may be used.
    pub is_active: Option<bool>,
    /// Whether it belongs to a personal connection (`isPersonalConnection`).
    pub is_personal_connection: Option<bool>,
    /// The skill of an after-call-work code (`skillName`).
    pub skill_name: Option<String>,
    /// Every other field, as sent.
    #[serde(flatten)]
    pub other: Map<String, Value>,
}

impl Client {
    /// The state history of `agent_id` (`GET /agents/{agentId}/state-history`)
    /// or of every agent when `None` (`GET /agents/state-history`), every
    /// page, with `filter`'s `startDate`, `endDate` and `updatedSince`
    /// (ISO-8601 UTC with milliseconds).
    ///
    /// # Errors
    /// Each item is an [`Error`]: [`ErrorKind::Validation`] when
    /// `filter.end` is before `filter.start` (nothing is sent);
    /// [`ErrorKind::NotFound`] for an unknown agent ("Invalid Agent Id");
    /// [`ErrorKind::Api`] for a date the server refuses ("Invalid Start
    /// Date") or an unexpected body; as [`Client::agents`] otherwise.
    pub fn state_history(
        &self,
        agent_id: Option<&AgentId>,
        filter: &HistoryFilter,
    ) -> impl Stream<Item = Result<StateRecord, Error>> + use<> {
        let base = Self::service(&self.config.versions.state_history).lit("agents");
        let (path, what) = match agent_id {
            Some(id) => (
                base.id("agent_id", id.as_str()).lit("state-history"),
                format!(
                    "reading the state history of agent {}",
                    cx_http::escape(id.as_str())
                ),
            ),
            None => (
                base.lit("state-history"),
                "reading the agents' state history".to_owned(),
            ),
        };
        let refused = match (filter.start, filter.end) {
            (Some(start), Some(end)) if end < start => Some(Error::new(
                ErrorKind::Validation,
                format!(
                    "{what}: the end {} is before the start {}",
                    iso(end),
                    iso(start)
                ),
            )),
            _ => None,
        };
        let mut req = self.http.get(path).operation("agents.state_history");
        for (name, at) in [
            ("startDate", filter.start),
            ("endDate", filter.end),
            ("updatedSince", filter.updated_since),
        ] {
            if let Some(at) = at {
                req = req.query(&[(name, iso(at))]);
            }
        }
        let pages = self.list(req, "agentStateHistory", what);
        match refused {
            Some(err) => stream::iter([Err(err)]).left_stream(),
            None => pages.right_stream(),
        }
    }

    /// The unavailable codes team `team_id` may use (`GET
    /// /teams/{teamId}/unavailable-codes`; `activityOnly=true` when
    /// `active_only`, as NICE's own client asks). A 204 answer is an empty
    /// list.
    ///
    /// # Errors
    /// [`ErrorKind::NotFound`] for an unknown team; [`ErrorKind::Api`] for
    /// an unexpected body; [`ErrorKind::Validation`] for a `team_id` that
    /// cannot be a path segment.
    pub async fn team_unavailable_codes(
        &self,
        team_id: &str,
        active_only: bool,
    ) -> Result<Vec<TeamUnavailableCode>, Error> {
        let what = format!(
            "reading the unavailable codes of team {}",
            cx_http::escape(team_id)
        );
        let resp = self
            .http
            .get(
                Self::service(&self.config.versions.teams)
                    .lit("teams")
                    .id("team_id", team_id)
                    .lit("unavailable-codes"),
            )
            .operation("teams.unavailable_codes")
            .query(&[("activityOnly", if active_only { "true" } else { "false" })])
            .send()
            .await
            .map_err(|e| Error::from_http(e, &what))?;
        if resp.status() == 204 || resp.body().iter().all(u8::is_ascii_whitespace) {
            return Ok(Vec::new());
        }
        #[derive(Deserialize)]
        #[serde(rename_all = "camelCase")]
        struct Codes {
            #[serde(default)]
            unavailable_codes: Vec<TeamUnavailableCode>,
        }
        let codes: Codes = resp.json().map_err(|e| Error::from_http(e, &what))?;
        Ok(codes.unavailable_codes)
    }
}
