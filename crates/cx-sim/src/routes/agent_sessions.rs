//! CXone agent sessions (`../shared/CXONE_REST.md` §3.1) under
//! `/inContactAPI/services/vNN.0/` (any version, the prefix in any case),
//! matched from the router's fallback like [`super::incontact`], so faults,
//! journal and quotas apply as for every route. The sessions are
//! [`crate::agent_sessions`].
//!
//! | route | answer |
//! |---|---|
//! | `POST /agent-sessions` | `stationId` or `stationPhoneNumber` (JSON body or query), optional `asAgentId` → 202 `{sessionId}`; the agent is logged in (Unavailable) and the session's first events are `AgentSessionStart` and `AgentState` |
//! | `POST /agent-sessions/join` | `{asAgentId}` (or the query) → 202 `{sessionId}` of that agent's live session; 404 `Invalid agent session Id.` when it has none (the status is unconfirmed) |
//! | `POST /agent-sessions/{sessionId}/state` | `{state: "Available" \| "Unavailable", reason?: "<unavailable code name>"}` → 202; 400 `Invalid state request.`; 404 `Invalid agent session Id.` |
//! | `POST /agent-sessions/{sessionId}/keep-alive` | 202 for a live session (it changes nothing here: what it extends is unconfirmed, and no inactivity timeout is modelled); 404 `Invalid agent session Id.` |
//! | `DELETE /agent-sessions/{sessionId}` | `forceLogoff`, `endContacts`, `ignorePersonalQueue` accepted and ignored → 202, the agent logged out, a last `AgentSessionEnd` event; 404 `InvalidAgentSession` |
//! | `GET /agent-sessions/{sessionId}/get-next-event?timeout=N` | long poll of up to N s of *sim* time (0..=60, default 0): 200 `{sessionId, events: [{Type, IISHost, VCHost, …}]}`, 304 when none came, 409 when the session is gone |
//!
//! The poll waits on the virtual clock: it answers 304 as soon as sim time
//! passes the timeout, so [`crate::Sim::advance_clock`] ends it at once.
//! Unconfirmed by the sources, and chosen here: which agent a session acts
//! as when `asAgentId` is absent (the tenant's first active agent, as an
//! access-key token names no agent), `timeout`'s default (0), and that
//! several sessions of one agent may coexist.

use std::time::Duration;

use axum::http::{Method, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value, json};

use super::incontact::{
    Incoming, bad_request, body_or_query, bounded_int, ic_error, lower_query, method_not_allowed,
    optional_json, service_route,
};
use crate::agent_sessions::{Poll, event};
use crate::state::AppState;
use crate::sync::lock;
use crate::wire::ApiError;

/// Longest `timeout` of a poll, in seconds.
const MAX_TIMEOUT_S: u64 = 60;

/// Answers a request on the agent-session routes, or `None` when `uri` is
/// not one of them.
pub(crate) async fn dispatch(incoming: &Incoming<'_>) -> Option<Response> {
    let &Incoming {
        state,
        method,
        uri,
        headers: _,
        body,
    } = incoming;
    let route = service_route(uri.path())?;
    let segments: Vec<&str> = route.split('/').collect();
    // Session ids are matched as sent: take them from the original path.
    let session_id = uri
        .path()
        .split('/')
        .filter(|s| !s.is_empty())
        .nth(4)
        .unwrap_or_default()
        .to_owned();
    let call = match (segments.as_slice(), method) {
        (["agent-sessions"], &Method::POST) => Call::Start,
        (["agent-sessions", "join"], &Method::POST) => Call::Join,
        (["agent-sessions", _, "state"], &Method::POST) => Call::State,
        (["agent-sessions", _, "keep-alive"], &Method::POST) => Call::KeepAlive,
        (["agent-sessions", _], &Method::DELETE) => Call::End,
        (["agent-sessions", _, "get-next-event"], &Method::GET) => Call::Next,
        (["agent-sessions"] | ["agent-sessions", _] | ["agent-sessions", _, _], _) => {
            return Some(method_not_allowed());
        }
        _ => return None,
    };
    let caller = match state
        .tokens
        .authenticate(incoming.headers, state.clock.now_ms())
    {
        Ok(c) => c,
        Err(err) => return Some(err.into_response()),
    };
    let req = Req {
        state,
        tenant: &caller.tenant,
        session_id: &session_id,
        query: lower_query(uri),
        body,
    };
    let answer = match call {
        Call::Start => start(&req),
        Call::Join => join(&req),
        Call::State => set_state(&req),
        Call::KeepAlive => req
            .session_agent("Invalid agent session Id.")
            .map(|_| accepted(&json!({}))),
        Call::End => end(&req),
        Call::Next => next_event(&req).await,
    };
    Some(answer.unwrap_or_else(IntoResponse::into_response))
}

enum Call {
    Start,
    Join,
    State,
    KeepAlive,
    End,
    Next,
}

struct Req<'a> {
    state: &'a AppState,
    tenant: &'a str,
    session_id: &'a str,
    /// Names lower-cased.
    query: std::collections::HashMap<String, String>,
    body: &'a [u8],
}

impl Req<'_> {
    /// The JSON body (`{}` when empty).
    fn json(&self) -> Result<Map<String, Value>, ApiError> {
        optional_json(self.body)
    }

    /// Field `name` of `body`, else the query parameter.
    fn field(&self, body: &Map<String, Value>, name: &str) -> Option<String> {
        body_or_query(body, &self.query, name)
    }

    /// The agent of live session [`Req::session_id`], or 404 `reason`.
    fn session_agent(&self, reason: &str) -> Result<u64, ApiError> {
        self.state
            .sessions
            .agent_of(self.tenant, self.session_id)
            .ok_or_else(|| ic_error(StatusCode::NOT_FOUND, "not_found", reason))
    }

    fn now(&self) -> (u64, String) {
        let now = self.state.clock.now_ms();
        (now, self.state.clock.rfc3339(now))
    }

    /// Sets the session agent's state and queues the `AgentState` event
    /// (and, when `end`, `AgentSessionEnd`, which ends the session).
    fn agent_state(
        &self,
        agent_id: u64,
        session_id: &str,
        name: &'static str,
        reason: Option<(u64, String)>,
    ) -> Vec<Value> {
        let (now_ms, now) = self.now();
        let (out, reason) = reason.unwrap_or_default();
        {
            let t = self.state.tenant(self.tenant);
            lock(&t)
                .incontact
                .session_state(agent_id, name, out, now_ms, Some(session_id));
        }
        vec![event(
            "AgentState",
            &now,
            json!({
                "CurrentState": name,
                "CurrentOutReason": reason,
                "NextStates": ["Available", "Unavailable"],
                "IsAcw": false,
                "StartTimeUTC": now,
            }),
        )]
    }
}

fn accepted(body: &Value) -> Response {
    crate::wire::json_response(StatusCode::ACCEPTED, body)
}

fn start(req: &Req<'_>) -> Result<Response, ApiError> {
    let body = req.json()?;
    if req.field(&body, "stationId").is_none() && req.field(&body, "stationPhoneNumber").is_none() {
        return Err(bad_request("stationId or stationPhoneNumber is required"));
    }
    let agent_id = {
        let t = req.state.tenant(req.tenant);
        let t = lock(&t);
        match req.field(&body, "asAgentId") {
            Some(raw) => t
                .incontact
                .agent(raw.trim())
                .filter(|a| a.is_active)
                .map(|a| a.agent_id),
            None => t.incontact.first_active_agent(),
        }
    }
    .ok_or_else(|| ic_error(StatusCode::NOT_FOUND, "not_found", "Invalid Agent Id"))?;
    let (_, now) = req.now();
    let start = event("AgentSessionStart", &now, json!({ "AgentId": agent_id }));
    let id = req.state.sessions.start(req.tenant, agent_id, vec![start]);
    for e in req.agent_state(agent_id, &id, "Unavailable", None) {
        req.state.sessions.push(Some(req.tenant), &id, e, false);
    }
    Ok(accepted(&json!({ "sessionId": id })))
}

fn join(req: &Req<'_>) -> Result<Response, ApiError> {
    let body = req.json()?;
    let raw = req
        .field(&body, "asAgentId")
        .ok_or_else(|| bad_request("asAgentId is required"))?;
    let agent_id = {
        let t = req.state.tenant(req.tenant);
        lock(&t).incontact.agent(raw.trim()).map(|a| a.agent_id)
    };
    let id = agent_id
        .and_then(|a| req.state.sessions.session_of(req.tenant, a))
        .ok_or_else(|| {
            ic_error(
                StatusCode::NOT_FOUND,
                "not_found",
                "Invalid agent session Id.",
            )
        })?;
    Ok(accepted(&json!({ "sessionId": id })))
}

fn set_state(req: &Req<'_>) -> Result<Response, ApiError> {
    let agent_id = req.session_agent("Invalid agent session Id.")?;
    let body = req.json()?;
    let invalid = || bad_request("Invalid state request.");
    let (name, reason) = match req.field(&body, "state") {
        Some(s) if s.eq_ignore_ascii_case("available") => ("Available", None),
        Some(s) if s.eq_ignore_ascii_case("unavailable") => {
            let reason = match req.field(&body, "reason") {
                None => None,
                Some(r) => {
                    let t = req.state.tenant(req.tenant);
                    let code = lock(&t).incontact.code_named(&r).ok_or_else(invalid)?;
                    Some((code, r))
                }
            };
            ("Unavailable", reason)
        }
        _ => return Err(invalid()),
    };
    for e in req.agent_state(agent_id, req.session_id, name, reason) {
        req.state
            .sessions
            .push(Some(req.tenant), req.session_id, e, false);
    }
    Ok(accepted(&json!({})))
}

fn end(req: &Req<'_>) -> Result<Response, ApiError> {
    let agent_id = req.session_agent("InvalidAgentSession")?;
    let mut events = req.agent_state(agent_id, req.session_id, "LoggedOut", None);
    let (_, now) = req.now();
    events.push(event(
        "AgentSessionEnd",
        &now,
        json!({ "AgentId": agent_id }),
    ));
    let last = events.len() - 1;
    for (i, e) in events.into_iter().enumerate() {
        req.state
            .sessions
            .push(Some(req.tenant), req.session_id, e, i == last);
    }
    Ok(accepted(&json!({})))
}

/// The long poll: answers as soon as there are events (or a new id to
/// tell), 409 when the session is gone, 304 once `timeout` s of sim time
/// have passed. Waits for a session change, a clock advance or the real
/// time left, whichever comes first.
async fn next_event(req: &Req<'_>) -> Result<Response, ApiError> {
    let timeout = match req.query.get("timeout").map(|v| v.trim()) {
        None | Some("") => 0,
        Some(v) => bounded_int("timeout", v, MAX_TIMEOUT_S)?,
    };
    let clock = &req.state.clock;
    let deadline = clock.now_ms().saturating_add(timeout * 1000);
    loop {
        let changed = req.state.sessions.changed();
        let advanced = clock.advanced();
        tokio::pin!(changed, advanced);
        changed.as_mut().enable();
        advanced.as_mut().enable();
        match req.state.sessions.poll(req.tenant, req.session_id) {
            Poll::Gone => {
                return Err(ic_error(
                    StatusCode::CONFLICT,
                    "conflict",
                    "The agent session has ended.",
                ));
            }
            Poll::Events { session_id, events } => {
                return Ok(crate::wire::json_response(
                    StatusCode::OK,
                    &json!({ "sessionId": session_id, "events": events }),
                ));
            }
            Poll::Empty => {}
        }
        let now = clock.now_ms();
        if now >= deadline {
            return Ok(StatusCode::NOT_MODIFIED.into_response());
        }
        tokio::select! {
            () = changed => {}
            () = advanced => {}
            () = tokio::time::sleep(Duration::from_millis(deadline - now)) => {}
        }
    }
}
