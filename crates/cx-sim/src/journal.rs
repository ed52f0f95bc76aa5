//! The request journal: a bounded ring of [`JournalEntry`] records, one per
//! API request (admin requests under `/_sim/` are not recorded), with the
//! status actually returned. When full, the oldest entry is dropped.
//!
//! Read it with [`crate::Sim::journal`] or `GET /_sim/journal?since=<seq>`.

use std::collections::VecDeque;
use std::fmt;
use std::sync::{Arc, Mutex};

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

/// What the journal keeps of one request until someone reads it: the
/// fields of a [`JournalEntry`] without its `seq`, in a compact form (no
/// per-request strings for the method, the caller or the request id), so
/// recording stays cheap on hot routes. [`Journal::snapshot`] renders the
/// public entries.
#[derive(Debug)]
pub(crate) struct Record {
    /// The request method (standard methods are not allocated).
    pub method: axum::http::Method,
    /// Request path without the query string.
    pub path: Box<str>,
    /// Raw query string, if any.
    pub query: Option<Box<str>>,
    /// Status returned (`0` for a reset connection).
    pub status: u16,
    /// Tenant of the caller, if identified.
    pub tenant: Option<Arc<str>>,
    /// Client id of the caller, if identified.
    pub client_id: Option<Arc<str>>,
    /// The `Idempotency-Key` request header.
    pub idempotency_key: Option<Box<str>>,
    /// The `If-Match` request header.
    pub if_match: Option<Box<str>>,
    /// Label of the injected fault, if any.
    pub fault: Option<String>,
    /// `grant_type` of a token request.
    pub grant_type: Option<Box<str>>,
    /// Sim time the request arrived, in ms.
    pub at_ms: u64,
    /// Length of the request body in bytes.
    pub body_len: usize,
    /// The request id sent as `x-request-id`.
    pub request_id: RequestId,
}

impl Record {
    fn entry(&self, seq: u64) -> JournalEntry {
        let text = |s: &Option<Box<str>>| s.as_deref().map(str::to_owned);
        let shared = |s: &Option<Arc<str>>| s.as_deref().map(str::to_owned);
        JournalEntry {
            seq,
            method: self.method.as_str().to_owned(),
            path: self.path.to_string(),
            query: text(&self.query),
            status: self.status,
            tenant: shared(&self.tenant),
            client_id: shared(&self.client_id),
            idempotency_key: text(&self.idempotency_key),
            if_match: text(&self.if_match),
            fault: self.fault.clone(),
            at_ms: self.at_ms,
            body_len: self.body_len,
            grant_type: text(&self.grant_type),
            request_id: self.request_id.to_string(),
        }
    }
}

/// A request id, `req_<32 lowercase hex>` as text, drawn from the thread's
/// random generator (no system call per request).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct RequestId(u128);

impl RequestId {
    /// Length of the text form: `req_` and 32 hex digits.
    const LEN: usize = 36;

    /// A fresh random id.
    pub(crate) fn random() -> Self {
        Self(rand::random())
    }

    /// The text form, without allocating.
    pub(crate) fn encode(self) -> [u8; Self::LEN] {
        const HEX: &[u8; 16] = b"0123456789abcdef";
        let mut out = [0u8; Self::LEN];
        let (prefix, digits) = out.split_at_mut(4);
        prefix.copy_from_slice(b"req_");
        for (i, d) in digits.iter_mut().enumerate() {
            let nibble = (self.0 >> (124 - 4 * i)) & 0xf;
            // A nibble is below 16: always a valid index.
            *d = HEX[nibble as usize];
        }
        out
    }
}

impl fmt::Display for RequestId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "req_{:032x}", self.0)
    }
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
    /// Records with their `seq`, oldest first.
    entries: VecDeque<(u64, Record)>,
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

    /// Appends `record`, assigning the next `seq`.
    pub(crate) fn record(&self, record: Record) {
        let mut inner = lock(&self.inner);
        let seq = inner.next_seq;
        inner.next_seq += 1;
        // Dropped after the lock is released.
        let mut evicted = None;
        if self.capacity > 0 {
            while inner.entries.len() >= self.capacity {
                evicted = inner.entries.pop_front();
            }
            inner.entries.push_back((seq, record));
        } else {
            evicted = Some((seq, record));
        }
        drop(inner);
        drop(evicted);
        self.recorded.notify_waiters();
    }

    /// Entries with `seq > since` (all when `since` is `None`), oldest first.
    pub(crate) fn snapshot(&self, since: Option<u64>) -> Vec<JournalEntry> {
        let inner = lock(&self.inner);
        let since = since.unwrap_or(0);
        // Entries are ordered by seq: skip the prefix at or below `since`.
        let start = inner.entries.partition_point(|(seq, _)| *seq <= since);
        inner
            .entries
            .range(start..)
            .map(|(seq, r)| r.entry(*seq))
            .collect()
    }

    /// Drops every entry (sequence numbers keep counting).
    pub(crate) fn clear(&self) {
        lock(&self.inner).entries.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(path: &str) -> Record {
        Record {
            method: axum::http::Method::GET,
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
            request_id: RequestId(0x0123_4567_89ab_cdef_0011_2233_4455_6677),
        }
    }

    #[test]
    fn request_ids_render_as_before() {
        let id = RequestId(0x0123_4567_89ab_cdef_0011_2233_4455_6677);
        assert_eq!(id.to_string(), "req_0123456789abcdef0011223344556677");
        assert_eq!(id.encode().as_slice(), id.to_string().as_bytes());
        let small = RequestId(0xa);
        assert_eq!(small.encode().as_slice(), small.to_string().as_bytes());
        let entry = entry("/p").entry(7);
        assert_eq!((entry.seq, entry.request_id.len()), (7, 36));
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
