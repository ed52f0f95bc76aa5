//! The request journal: a bounded ring of [`JournalEntry`] records, one per
//! API request (admin requests under `/_sim/` are not recorded), with the
//! status actually returned. When full, the oldest entry is dropped.
//!
//! Read it with [`crate::Sim::journal`] or `GET /_sim/journal?since=<seq>`.

use std::collections::VecDeque;
use std::sync::Mutex;

use serde::{Deserialize, Serialize};

use crate::sync::lock;

/// One recorded request. JSON field names are camelCase
/// (`idempotencyKey`, `atMs`, ...).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct JournalEntry {
    /// Position in the journal, starting at 1 and never reused (also not
    /// after [`crate::Sim::clear_journal`]).
    pub seq: u64,
    /// HTTP method, e.g. `POST`.
    pub method: String,
    /// Request path without the query string.
    pub path: String,
    /// Raw query string, if any.
    pub query: Option<String>,
    /// Status returned to the client; `0` when the connection was reset and
    /// no response was sent. For truncated or stalled bodies it is the status
    /// in the (damaged) response head. A request whose client disconnects
    /// early still runs to completion and records the status it would have
    /// sent.
    pub status: u16,
    /// Tenant of the caller, when the bearer token (or, for token calls, the
    /// client credentials) identified one.
    pub tenant: Option<String>,
    /// Client id: the one presented on token calls, or the one the bearer
    /// token was issued to on API calls.
    pub client_id: Option<String>,
    /// The `Idempotency-Key` request header.
    pub idempotency_key: Option<String>,
    /// The `If-Match` request header.
    pub if_match: Option<String>,
    /// Label of the injected fault, if any (see [`crate::Fault::label`]).
    pub fault: Option<String>,
    /// Sim time the request arrived, in ms since the simulator started
    /// (includes virtual clock advances).
    pub at_ms: u64,
    /// Length of the request body in bytes.
    pub body_len: usize,
    /// `grant_type` of a token request (`client_credentials`, `password`,
    /// `refresh_token`), whatever the answer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub grant_type: Option<String>,
    /// The `x-request-id` of the response (`req_<32 hex>`); a reset connection sent none.
    #[serde(default)]
    pub request_id: String,
}

/// Bounded, thread-safe journal. The lock is held only to push or copy.
#[derive(Debug)]
pub(crate) struct Journal {
    capacity: usize,
    inner: Mutex<Inner>,
    /// Woken after every entry, for [`crate::Sim::wait_for_journal`].
    pub(crate) recorded: tokio::sync::Notify,
}

#[derive(Debug)]
struct Inner {
    next_seq: u64,
    entries: VecDeque<JournalEntry>,
}

impl Journal {
    /// A journal keeping at most `capacity` entries (0 keeps none).
    pub(crate) fn new(capacity: usize) -> Self {
        Self {
            capacity,
            inner: Mutex::new(Inner {
                next_seq: 1,
                entries: VecDeque::with_capacity(capacity.min(1024)),
            }),
            recorded: tokio::sync::Notify::new(),
        }
    }

    /// Appends `entry`, assigning its `seq`.
    pub(crate) fn record(&self, mut entry: JournalEntry) {
        let mut inner = lock(&self.inner);
        entry.seq = inner.next_seq;
        inner.next_seq += 1;
        if self.capacity > 0 {
            while inner.entries.len() >= self.capacity {
                inner.entries.pop_front();
            }
            inner.entries.push_back(entry);
        }
        drop(inner);
        self.recorded.notify_waiters();
    }

    /// Entries with `seq > since` (all when `since` is `None`), oldest first.
    pub(crate) fn snapshot(&self, since: Option<u64>) -> Vec<JournalEntry> {
        let inner = lock(&self.inner);
        let since = since.unwrap_or(0);
        // Entries are ordered by seq: skip the prefix at or below `since`.
        let start = inner.entries.partition_point(|e| e.seq <= since);
        inner.entries.range(start..).cloned().collect()
    }

    /// Drops every entry (sequence numbers keep counting).
    pub(crate) fn clear(&self) {
        lock(&self.inner).entries.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(path: &str) -> JournalEntry {
        JournalEntry {
            seq: 0,
            method: "GET".into(),
            path: path.into(),
            query: None,
            status: 200,
            tenant: None,
            client_id: None,
            idempotency_key: None,
            if_match: None,
            fault: None,
            grant_type: None,
            at_ms: 0,
            body_len: 0,
            request_id: String::new(),
        }
    }

    #[test]
    fn bounded_and_ordered() {
        let j = Journal::new(3);
        for i in 0..5 {
            j.record(entry(&format!("/{i}")));
        }
        let all = j.snapshot(None);
        let seqs: Vec<u64> = all.iter().map(|e| e.seq).collect();
        assert_eq!(seqs, vec![3, 4, 5]);
        assert_eq!(j.snapshot(Some(4)).len(), 1);
        j.clear();
        assert!(j.snapshot(None).is_empty());
        j.record(entry("/x"));
        assert_eq!(j.snapshot(None)[0].seq, 6);
    }

    #[test]
    fn zero_capacity_keeps_nothing() {
        let j = Journal::new(0);
        j.record(entry("/"));
        assert!(j.snapshot(None).is_empty());
    }
}
