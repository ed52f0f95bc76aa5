//! CXone agent sessions (`../shared/CXONE_REST.md` §3.1): the sessions of
//! every tenant and the events waiting for each one's `get-next-event`
//! poll. The routes are [`crate::routes::agent_sessions`].
//!
//! A session is known by its current id and, until a poll has answered
//! with that id, by the ids it had before ([`Sessions::rotate`]): CXone
//! can hand out a new `sessionId` in any `get-next-event` answer and the
//! client is to use it from then on. An ended session keeps answering
//! with its remaining events (the last one `AgentSessionEnd`) and is gone
//! once they are read, so the next poll gets 409.

use std::collections::VecDeque;
use std::sync::Mutex;

use serde_json::{Value, json};
use tokio::sync::Notify;

use crate::sync::lock;

/// One agent session.
#[derive(Debug)]
struct Session {
    tenant: String,
    /// The id the next answer carries.
    id: String,
    /// Earlier ids still accepted (no answer has carried `id` yet).
    aliases: Vec<String>,
    agent_id: u64,
    events: VecDeque<Value>,
    ended: bool,
}

impl Session {
    fn has_id(&self, id: &str) -> bool {
        self.id == id || self.aliases.iter().any(|a| a == id)
    }

    fn known_as(&self, tenant: &str, id: &str) -> bool {
        self.tenant == tenant && self.has_id(id)
    }
}

/// What a `get-next-event` poll finds now.
#[derive(Debug, PartialEq)]
pub(crate) enum Poll {
    /// 200 `{sessionId, events}`.
    Events {
        session_id: String,
        events: Vec<Value>,
    },
    /// Nothing yet: wait (304 when the timeout passes).
    Empty,
    /// 409: no such session (ended and drained, or never started).
    Gone,
}

/// Every tenant's agent sessions, and a [`Notify`] woken on each change.
#[derive(Debug, Default)]
pub(crate) struct Sessions {
    sessions: Mutex<Vec<Session>>,
    next_id: Mutex<u64>,
    changed: Notify,
}

impl Sessions {
    fn new_id(&self) -> String {
        let mut n = lock(&self.next_id);
        *n += 1;
        format!("{:010}", 7_000_000_000u64.saturating_add(*n))
    }

    /// Woken by the next change of any session (register it, with
    /// `Notified::enable`, before [`Sessions::poll`]).
    pub(crate) fn changed(&self) -> tokio::sync::futures::Notified<'_> {
        self.changed.notified()
    }

    /// Starts a session of `agent_id` in `tenant` whose first events are
    /// `events`; returns its id.
    pub(crate) fn start(&self, tenant: &str, agent_id: u64, events: Vec<Value>) -> String {
        let id = self.new_id();
        lock(&self.sessions).push(Session {
            tenant: tenant.to_owned(),
            id: id.clone(),
            aliases: Vec::new(),
            agent_id,
            events: events.into(),
            ended: false,
        });
        self.changed.notify_waiters();
        id
    }

    /// The agent of live session `id` of `tenant`.
    pub(crate) fn agent_of(&self, tenant: &str, id: &str) -> Option<u64> {
        lock(&self.sessions)
            .iter()
            .find(|s| !s.ended && s.known_as(tenant, id))
            .map(|s| s.agent_id)
    }

    /// The current id of a live session of `agent_id` in `tenant`.
    pub(crate) fn session_of(&self, tenant: &str, agent_id: u64) -> Option<String> {
        lock(&self.sessions)
            .iter()
            .find(|s| !s.ended && s.tenant == tenant && s.agent_id == agent_id)
            .map(|s| s.id.clone())
    }

    /// Queues `event` for live session `id` of `tenant` (any tenant when
    /// `None`), ending it when `end`; false when there is no such session.
    pub(crate) fn push(&self, tenant: Option<&str>, id: &str, event: Value, end: bool) -> bool {
        let mut sessions = lock(&self.sessions);
        let Some(s) = sessions
            .iter_mut()
            .find(|s| !s.ended && tenant.is_none_or(|t| s.tenant == t) && s.has_id(id))
        else {
            return false;
        };
        s.events.push_back(event);
        s.ended = end;
        drop(sessions);
        self.changed.notify_waiters();
        true
    }

    /// Gives live session `id` (any tenant) a new id, which the next
    /// answer to a poll carries; returns it.
    pub(crate) fn rotate(&self, id: &str) -> Option<String> {
        let new_id = self.new_id();
        let mut sessions = lock(&self.sessions);
        let s = sessions.iter_mut().find(|s| !s.ended && s.has_id(id))?;
        let old = std::mem::replace(&mut s.id, new_id.clone());
        s.aliases.push(old);
        drop(sessions);
        self.changed.notify_waiters();
        Some(new_id)
    }

    /// What a poll of `id` in `tenant` gets now: the queued events (or
    /// none, when the session has a new id to tell), nothing yet, or gone.
    pub(crate) fn poll(&self, tenant: &str, id: &str) -> Poll {
        let mut sessions = lock(&self.sessions);
        let Some(at) = sessions.iter().position(|s| s.known_as(tenant, id)) else {
            return Poll::Gone;
        };
        let Some(s) = sessions.get_mut(at) else {
            return Poll::Gone;
        };
        if s.events.is_empty() && s.aliases.is_empty() {
            if s.ended {
                sessions.remove(at);
                return Poll::Gone;
            }
            return Poll::Empty;
        }
        s.aliases.clear();
        Poll::Events {
            session_id: s.id.clone(),
            events: s.events.drain(..).collect(),
        }
    }
}

/// An event of `event_type` with `fields`, stamped with `now` (ISO-8601)
/// as CXone's events carry their hosts and time (`IISHost`, `VCHost`).
pub(crate) fn event(event_type: &str, now: &str, fields: Value) -> Value {
    let mut e = json!({
        "Type": event_type,
        "IISHost": "sim-iis",
        "VCHost": "sim-vc",
        "CreatedTimeUTC": now,
    });
    if let (Some(e), Value::Object(fields)) = (e.as_object_mut(), fields) {
        e.extend(fields);
    }
    e
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_rotated_session_answers_once_with_its_new_id_then_drains_to_gone() {
        let s = Sessions::default();
        let id = s.start("t", 1, vec![json!({"Type": "AgentSessionStart"})]);
        assert!(matches!(s.poll("t", &id), Poll::Events { events, .. } if events.len() == 1));
        assert_eq!(s.poll("t", &id), Poll::Empty);
        assert_eq!(s.poll("other", &id), Poll::Gone);
        let new_id = s.rotate(&id).unwrap_or_default();
        assert_eq!(
            s.poll("t", &id),
            Poll::Events {
                session_id: new_id.clone(),
                events: vec![]
            }
        );
        assert_eq!(s.poll("t", &id), Poll::Gone, "the old id is retired");
        assert!(s.push(Some("t"), &new_id, json!({"Type": "AgentSessionEnd"}), true));
        assert!(!s.push(Some("t"), &new_id, json!({}), false), "ended");
        assert!(matches!(s.poll("t", &new_id), Poll::Events { .. }));
        assert_eq!(s.poll("t", &new_id), Poll::Gone);
    }
}
