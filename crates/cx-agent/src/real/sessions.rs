//! Agent sessions (`../shared/CXONE_REST.md` §3.1): acting as an agent —
//! start a session, set its state, end it, and read its events through the
//! `get-next-event` long poll.

use std::collections::VecDeque;
use std::fmt;
use std::time::Duration;

use cx_http::ApiPath;
use futures::stream::{self, Stream};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use super::Client;
use crate::error::{Error, ErrorKind};
use crate::types::AgentId;

/// Consecutive polls that may hang past their timeout (each dropped and
/// sent again) before the stream ends with the timeout error; NICE's own
/// client retries a broken poll up to 60 times.
const MAX_HUNG_POLLS: u32 = 60;

/// An agent session's id (`sessionId`), as CXone sent it.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct SessionId(pub String);

impl fmt::Display for SessionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// How to start a session (`POST /agent-sessions`, sent as the JSON body
/// NICE's own client sends). One of the station fields is required.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct StartSession {
    /// The station's id (`stationId`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub station_id: Option<String>,
    /// The station's phone number (`stationPhoneNumber`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub station_phone_number: Option<String>,
    /// Minutes of inactivity before the session times out
    /// (`inactivityTimeout`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub inactivity_timeout: Option<u32>,
    /// Whether inactivity logs the agent off (`inactivityForceLogout`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub inactivity_force_logout: Option<bool>,
    /// Start the session for this agent (`asAgentId`; a supervisor's call).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub as_agent_id: Option<String>,
}

impl StartSession {
    /// A session on the station with id `station_id`.
    pub fn station_id(station_id: impl Into<String>) -> Self {
        Self {
            station_id: Some(station_id.into()),
            ..Self::default()
        }
    }

    /// A session on the station with phone number `number`.
    pub fn station_phone_number(number: impl Into<String>) -> Self {
        Self {
            station_phone_number: Some(number.into()),
            ..Self::default()
        }
    }
}

cx_http::with_setters! { StartSession {
    /// Set [`StartSession::inactivity_timeout`] (minutes).
    with_inactivity_timeout(inactivity_timeout: u32) = Some(inactivity_timeout);
    /// Set [`StartSession::inactivity_force_logout`].
    with_inactivity_force_logout(inactivity_force_logout: bool) = Some(inactivity_force_logout);
    /// Set [`StartSession::as_agent_id`].
    with_as_agent_id(as_agent_id: impl Into<String>) = Some(as_agent_id.into());
}}

/// The state an agent sets through its session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SessionState {
    /// Ready for contacts.
    Available,
    /// Unavailable, with the name of an unavailable code as the reason
    /// (`None`: plain Unavailable).
    Unavailable(Option<String>),
}

/// How to end a session (`DELETE /agent-sessions/{sessionId}`; the flags
/// go in the query, as the spec has them, and in a JSON body, as NICE's
/// own client sends them).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct EndSession {
    /// Log the agent off even while it handles contacts (`forceLogoff`).
    pub force_logoff: bool,
    /// End the agent's contacts (`endContacts`).
    pub end_contacts: bool,
    /// Leave personal-queue work queued (`ignorePersonalQueue`).
    pub ignore_personal_queue: bool,
}

cx_http::with_setters! { EndSession {
    /// Set [`EndSession::force_logoff`].
    with_force_logoff(force_logoff: bool);
    /// Set [`EndSession::end_contacts`].
    with_end_contacts(end_contacts: bool);
    /// Set [`EndSession::ignore_personal_queue`].
    with_ignore_personal_queue(ignore_personal_queue: bool);
}}

cx_http::open_enum! {
    /// An event's `Type` (those NICE's own client names; others are kept
    /// as [`EventType::Unknown`]).
    pub enum EventType {
        /// The session started.
        AgentSessionStart => "AgentSessionStart",
        /// The session ended; the stream ends after it.
        AgentSessionEnd => "AgentSessionEnd",
        /// The agent's state changed (`CurrentState`, `CurrentOutReason`,
        /// `NextStates`, `IsAcw`, `StartTimeUTC`).
        AgentState => "AgentState",
        /// A call contact changed.
        CallContactEvent => "CallContactEvent",
        /// The agent's phone leg changed.
        AgentLeg => "AgentLeg",
        /// The unavailable codes changed.
        UpdateUnavailableCodes => "UpdateUnavailableCodes",
        /// The agent's skills changed.
        UpdateSkills => "UpdateSkills",
        /// A work item contact changed.
        WorkItemContactEvent => "WorkItemContactEvent",
        /// A digital contact changed.
        DigitalContactEvent => "DigitalContactEvent",
        /// A custom event from a script.
        CustomEvent => "CustomEvent",
    }
}

/// One event of a session (an item of `get-next-event`'s `events`).
/// Field names are CXone's (PascalCase); those not named here are kept in
/// `other`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SessionEvent {
    /// `Type`.
    #[serde(rename = "Type")]
    pub event_type: EventType,
    /// `CurrentState` of an [`EventType::AgentState`] event (e.g.
    /// `Available`, `Unavailable`, `LoggedOut`).
    #[serde(
        rename = "CurrentState",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub current_state: Option<String>,
    /// `CurrentOutReason` of an [`EventType::AgentState`] event: the
    /// unavailable code's name (empty when none).
    #[serde(
        rename = "CurrentOutReason",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub current_out_reason: Option<String>,
    /// Every other field, as sent.
    #[serde(flatten)]
    pub other: Map<String, Value>,
}

/// A 202 answer to start or join: `{sessionId}`.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Started {
    session_id: SessionId,
}

/// A `get-next-event` 200 answer.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Answer {
    session_id: Option<SessionId>,
    #[serde(default)]
    events: Vec<SessionEvent>,
}

impl Client {
    fn sessions_path(&self) -> ApiPath {
        Self::service(&self.config.versions.agent_sessions).lit("agent-sessions")
    }

    fn session_path(&self, session: &SessionId) -> ApiPath {
        self.sessions_path().id("session_id", &session.0)
    }

    /// Tells CXone the session's client is still there (`POST
    /// /agent-sessions/{sessionId}/keep-alive` → 202, at
    /// [`super::Versions::keep_alive`]). What it extends is unconfirmed
    /// (`../shared/CXONE_REST.md` §3.1); presumably the inactivity timeout.
    ///
    /// # Errors
    /// [`ErrorKind::NotFound`] when the session is unknown or ended.
    pub async fn keep_alive(&self, session: &SessionId) -> Result<(), Error> {
        self.http
            .post(
                Self::service(&self.config.versions.keep_alive)
                    .lit("agent-sessions")
                    .id("session_id", &session.0)
                    .lit("keep-alive"),
            )
            .operation("agents.sessions.keep_alive")
            .send()
            .await
            .map_err(|e| Error::from_http(e, &session_what("keeping alive", session)))?;
        Ok(())
    }

    /// Starts an agent session (`POST /agent-sessions` → 202
    /// `{sessionId}`).
    ///
    /// # Errors
    /// [`ErrorKind::Validation`] when `start` names no station (nothing is
    /// sent); [`ErrorKind::NotFound`] for an unknown `as_agent_id`;
    /// otherwise as the shared HTTP mapping.
    pub async fn start_session(&self, start: &StartSession) -> Result<SessionId, Error> {
        let what = "starting an agent session";
        if start.station_id.is_none() && start.station_phone_number.is_none() {
            return Err(Error::new(
                ErrorKind::Validation,
                format!("{what}: station_id or station_phone_number is required"),
            ));
        }
        let started: Started = self
            .http
            .post(self.sessions_path())
            .operation("agents.sessions.start")
            .json(start)
            .send_json()
            .await
            .map_err(|e| Error::from_http(e, what))?;
        Ok(started.session_id)
    }

    /// Joins the live session of `agent_id` (`POST /agent-sessions/join`
    /// with `{asAgentId}` → 202 `{sessionId}`).
    ///
    /// # Errors
    /// [`ErrorKind::NotFound`] when the agent has no live session.
    pub async fn join_session(&self, agent_id: &AgentId) -> Result<SessionId, Error> {
        let what = format!(
            "joining the session of agent {}",
            cx_http::escape(agent_id.as_str())
        );
        let started: Started = self
            .http
            .post(self.sessions_path().lit("join"))
            .operation("agents.sessions.join")
            .json(&json!({ "asAgentId": agent_id.as_str() }))
            .send_json()
            .await
            .map_err(|e| Error::from_http(e, &what))?;
        Ok(started.session_id)
    }

    /// Sets the state of `session`'s agent (`POST
    /// /agent-sessions/{sessionId}/state` with `{state, reason}` → 202).
    ///
    /// # Errors
    /// [`ErrorKind::NotFound`] when the session is unknown or ended;
    /// [`ErrorKind::InvalidRequest`] (400 `Invalid state request.`) for an
    /// unknown reason.
    pub async fn set_session_state(
        &self,
        session: &SessionId,
        state: &SessionState,
    ) -> Result<(), Error> {
        let body = match state {
            SessionState::Available => json!({ "state": "Available" }),
            SessionState::Unavailable(None) => json!({ "state": "Unavailable" }),
            SessionState::Unavailable(Some(reason)) => {
                json!({ "state": "Unavailable", "reason": reason })
            }
        };
        self.http
            .post(self.session_path(session).lit("state"))
            .operation("agents.sessions.state")
            .json(&body)
            .send()
            .await
            .map_err(|e| Error::from_http(e, &session_what("setting the state of", session)))?;
        Ok(())
    }

    /// Ends `session` (`DELETE /agent-sessions/{sessionId}` → 202); its
    /// event stream ends after the last events (`AgentSessionEnd`).
    ///
    /// # Errors
    /// [`ErrorKind::NotFound`] when the session is unknown or already
    /// ended.
    pub async fn end_session(&self, session: &SessionId, end: EndSession) -> Result<(), Error> {
        let flag = |b: bool| if b { "true" } else { "false" };
        self.http
            .delete(self.session_path(session))
            .operation("agents.sessions.end")
            .query(&[
                ("forceLogoff", flag(end.force_logoff)),
                ("endContacts", flag(end.end_contacts)),
                ("ignorePersonalQueue", flag(end.ignore_personal_queue)),
            ])
            .json(&end)
            .send()
            .await
            .map_err(|e| Error::from_http(e, &session_what("ending", session)))?;
        Ok(())
    }

    /// The events of `session`, in order, read by long-polling `GET
    /// /agent-sessions/{sessionId}/get-next-event?timeout=N` with N =
    /// [`super::RealConfig::event_timeout_secs`] (seconds):
    ///
    /// - a 200 `{sessionId, events}` yields its events, and its
    ///   `sessionId` (when present) is used for every later poll;
    /// - a 304 (no event within the timeout) polls again at once;
    /// - a 409 (the session is gone) ends the stream cleanly;
    /// - a poll unanswered [`super::RealConfig::hung_poll_grace`] past its
    ///   timeout is dropped and sent again (up to 60 times in a row).
    ///
    /// # Errors
    /// The stream yields one error and ends on any other failure: an
    /// unknown session is a 409 like an ended one (the stream just ends).
    pub fn events(
        &self,
        session: &SessionId,
    ) -> impl Stream<Item = Result<SessionEvent, Error>> + use<> {
        let poller = Poller {
            client: self.clone(),
            session: session.clone(),
            queue: VecDeque::new(),
            done: false,
            hung: 0,
        };
        stream::unfold(poller, |mut p| async move {
            loop {
                if let Some(e) = p.queue.pop_front() {
                    return Some((Ok(e), p));
                }
                if p.done {
                    return None;
                }
                if let Err(e) = p.poll().await {
                    p.done = true;
                    return Some((Err(e), p));
                }
            }
        })
    }
}

fn session_what(verb: &str, session: &SessionId) -> String {
    format!("{verb} agent session {}", cx_http::escape(&session.0))
}

/// The state of an event stream.
struct Poller {
    client: Client,
    /// The id the next poll uses.
    session: SessionId,
    queue: VecDeque<SessionEvent>,
    done: bool,
    /// Polls in a row that hung past their timeout.
    hung: u32,
}

impl Poller {
    /// One poll: queues its events, follows its `sessionId`, or marks the
    /// stream done (409).
    async fn poll(&mut self) -> Result<(), Error> {
        let config = &self.client.config;
        let timeout = config.event_timeout_secs;
        let sent = self
            .client
            .http
            .get(
                self.client
                    .session_path(&self.session)
                    .lit("get-next-event"),
            )
            .operation("agents.sessions.events")
            .query(&[("timeout", timeout.to_string())])
            .attempt_timeout(Duration::from_secs(timeout.into()) + config.hung_poll_grace)
            .send()
            .await;
        let what = || session_what("reading the events of", &self.session);
        let resp = match sent {
            Ok(resp) => resp,
            Err(e) if e.status() == Some(409) => {
                self.done = true;
                return Ok(());
            }
            Err(e) if e.kind() == cx_http::ErrorKind::Timeout && self.hung < MAX_HUNG_POLLS => {
                self.hung += 1;
                return Ok(());
            }
            Err(e) => return Err(Error::from_http(e, &what())),
        };
        self.hung = 0;
        if resp.status() == 304 || resp.body().iter().all(u8::is_ascii_whitespace) {
            return Ok(());
        }
        let answer: Answer = resp.json().map_err(|e| Error::from_http(e, &what()))?;
        if let Some(id) = answer.session_id.filter(|id| !id.0.is_empty()) {
            self.session = id;
        }
        self.queue.extend(answer.events);
        Ok(())
    }
}
