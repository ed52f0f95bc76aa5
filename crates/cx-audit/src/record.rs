//! The audit record and its event types (seed 001 step 4).
//!
//! An [`AuditRecord`] is one line of an audit log. On the wire (and in a JSONL
//! file) it is seed 001's `audit_record` object, members in this order:
//!
//! ```json
//! {"timestamp":"2024-05-01T12:00:00.123Z","event_type":"WORKFLOW_TRIGGERED",
//!  "payload":{"workflowId":"wf_1","priority":2},"compliance_hash":"<64 hex>"}
//! ```
//!
//! - `timestamp`: RFC 3339 in UTC with millisecond precision and a `Z` suffix.
//!   Reading accepts any RFC 3339 offset and precision (Python's `isoformat()`
//!   writes `+00:00` and microseconds) and converts to UTC.
//! - `event_type`: an [`EventType`], an open set of upper-case names.
//! - `payload`: any JSON value.
//! - `compliance_hash`: [`crate::compliance_hash`] of `payload` only, as in
//!   seed 001; the timestamp and event type are not covered by it.
//! - `prev_hash`, `hash` (only on records stored by a chaining sink such as
//!   [`crate::JsonlSink`]): the hash chain of [`crate::chain`]. `hash` is the
//!   SHA-256 of the record's RFC 8785 form without `hash`; `prev_hash` is the
//!   `hash` of the record stored before it ([`crate::GENESIS_HASH`] for the
//!   first). Callers never set them; the sink does.

use std::borrow::Cow;
use std::fmt;
use std::sync::{Arc, OnceLock};

use chrono::{DateTime, SubsecRound, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::canonical::{compliance_hash, sha256_hex};

/// The kind of event an [`AuditRecord`] logs, e.g. `WORKFLOW_TRIGGERED`.
///
/// An open newtype over a string: the associated constants are the names the
/// workflow flows use (seed 000 and seed 001), and any other crate adds its own
/// with [`EventType::from_static`] or [`EventType::new`], without editing this
/// one. Names are conventionally `SCREAMING_SNAKE_CASE`; this is not enforced.
/// Serialised as a plain JSON string.
///
/// ```
/// use cx_audit::EventType;
///
/// const AVAILABILITY_CHANGED: EventType = EventType::from_static("AGENT_AVAILABILITY_CHANGED");
/// assert_eq!(AVAILABILITY_CHANGED.as_str(), "AGENT_AVAILABILITY_CHANGED");
/// assert_eq!(EventType::WORKFLOW_COMPLETED, "WORKFLOW_COMPLETED");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct EventType(Cow<'static, str>);

impl EventType {
    /// A workflow execution was submitted (seed 000).
    pub const TRIGGERED: Self = Self::from_static("TRIGGERED");
    /// Submitting a workflow execution failed (seed 000).
    pub const TRIGGER_FAILED: Self = Self::from_static("TRIGGER_FAILED");
    /// A workflow execution reached `COMPLETED` (seed 000).
    pub const EXECUTION_COMPLETED: Self = Self::from_static("EXECUTION_COMPLETED");
    /// A workflow execution reached `FAILED`, `CANCELLED` or timed out (seed 000).
    pub const EXECUTION_FAILED: Self = Self::from_static("EXECUTION_FAILED");
    /// A workflow instance was created (seed 001 step 5, `execute_trigger`).
    pub const WORKFLOW_TRIGGERED: Self = Self::from_static("WORKFLOW_TRIGGERED");
    /// Creating a workflow instance failed (seed 001 step 5, `execute_trigger`).
    pub const WORKFLOW_TRIGGER_FAILED: Self = Self::from_static("WORKFLOW_TRIGGER_FAILED");
    /// A completion webhook for a workflow instance arrived (seed 001 step 4,
    /// `handle_cxone_webhook_callback`).
    pub const WORKFLOW_COMPLETED: Self = Self::from_static("WORKFLOW_COMPLETED");

    /// An event type from a string constant; usable in `const` items.
    pub const fn from_static(name: &'static str) -> Self {
        Self(Cow::Borrowed(name))
    }

    /// An event type from any string.
    pub fn new(name: impl Into<Cow<'static, str>>) -> Self {
        Self(name.into())
    }

    /// The name, e.g. `"WORKFLOW_TRIGGERED"`.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for EventType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl AsRef<str> for EventType {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl From<&'static str> for EventType {
    fn from(name: &'static str) -> Self {
        Self::from_static(name)
    }
}

impl From<String> for EventType {
    fn from(name: String) -> Self {
        Self(Cow::Owned(name))
    }
}

impl PartialEq<str> for EventType {
    fn eq(&self, other: &str) -> bool {
        self.as_str() == other
    }
}

impl PartialEq<&str> for EventType {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

/// One audit-log entry: seed 001 step 4's `audit_record`.
///
/// Serialises as `{timestamp, event_type, payload, compliance_hash}` (see the
/// module docs for each member's shape). Build one with [`AuditRecord::new`]
/// or [`AuditRecord::at`], which compute `compliance_hash` from `payload`;
/// the fields are public so records read back from a file can be inspected,
/// and [`AuditRecord::verify_hash`] tells whether `payload` still matches its
/// hash. The chain members `prev_hash` and `hash` are `None` until a chaining
/// sink stores the record (and are then left out of the JSON when `None`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct AuditRecord {
    /// When the event happened, in UTC. Written as RFC 3339 with milliseconds
    /// and `Z` (`2024-05-01T12:00:00.123Z`); serialising fails for years
    /// outside 0000..=9999, which RFC 3339 cannot express.
    #[serde(with = "rfc3339_millis")]
    pub timestamp: DateTime<Utc>,
    /// What happened.
    pub event_type: EventType,
    /// The event's details; any JSON value. Private so it cannot change
    /// behind its compliance hash and cached canonical form: read it with
    /// [`AuditRecord::payload`].
    payload: Value,
    /// Lowercase hex SHA-256 (64 characters) of the RFC 8785 canonical form of
    /// `payload` ([`crate::compliance_hash`]).
    pub compliance_hash: String,
    /// The `hash` of the record stored before this one in the same chain
    /// (64 hex; [`crate::GENESIS_HASH`] for the first). Filled by the sink.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prev_hash: Option<String>,
    /// Lowercase hex SHA-256 of this record's RFC 8785 form without `hash`
    /// ([`crate::chain::record_hash`]). Filled by the sink.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hash: Option<String>,
    /// The RFC 8785 bytes of `payload`, made once (by [`AuditRecord::at`], or
    /// on first use for a record read back) and reused by the chain hash, so
    /// the sink does not serialise the payload a second time.
    #[serde(skip)]
    canonical_payload: CanonicalCache,
}

/// A cache of a payload's canonical bytes. It never takes part in equality
/// and prints as `..`.
#[derive(Clone, Default)]
struct CanonicalCache(OnceLock<Arc<[u8]>>);

impl PartialEq for CanonicalCache {
    fn eq(&self, _: &Self) -> bool {
        true
    }
}

impl Eq for CanonicalCache {}

impl fmt::Debug for CanonicalCache {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("..")
    }
}

impl AuditRecord {
    /// A record of `event_type` with `payload`, stamped with the current time
    /// (seed 001 step 4, `write_audit_entry`).
    pub fn new(event_type: impl Into<EventType>, payload: Value) -> Self {
        Self::at(Utc::now(), event_type, payload)
    }

    /// A record stamped with `timestamp`, truncated to whole milliseconds so
    /// that the record equals itself after a round trip through JSON.
    pub fn at(timestamp: DateTime<Utc>, event_type: impl Into<EventType>, payload: Value) -> Self {
        let canonical = crate::canonical::canonical_shared(&payload);
        let compliance_hash = sha256_hex(&canonical);
        Self {
            timestamp: timestamp.trunc_subsecs(3),
            event_type: event_type.into(),
            payload,
            compliance_hash,
            prev_hash: None,
            hash: None,
            canonical_payload: CanonicalCache(OnceLock::from(canonical)),
        }
    }

    /// The event's details.
    pub fn payload(&self) -> &Value {
        &self.payload
    }

    /// The event's details, by value.
    pub fn into_payload(self) -> Value {
        self.payload
    }

    /// The RFC 8785 canonical bytes of the payload (what `compliance_hash`
    /// hashes), computed at most once per record.
    pub fn canonical_payload(&self) -> &[u8] {
        self.canonical_payload
            .0
            .get_or_init(|| crate::canonical::canonical_shared(&self.payload))
    }

    /// Replace the payload without updating `compliance_hash`: how tests
    /// model an edited record.
    #[cfg(test)]
    pub(crate) fn set_payload_unchecked(&mut self, payload: Value) {
        self.payload = payload;
        self.canonical_payload = CanonicalCache::default();
    }

    /// This record linked after the record whose hash is `prev_hash`: a copy
    /// with `prev_hash` set and `hash` computed ([`crate::chain::record_hash`]).
    /// Chaining sinks call this; callers do not need to.
    #[must_use]
    pub fn chained(&self, prev_hash: &str) -> Self {
        let mut record = self.clone();
        record.prev_hash = Some(prev_hash.to_owned());
        record.hash = None;
        record.hash = Some(crate::chain::record_hash(&record));
        record
    }

    /// True when `compliance_hash` is the compliance hash of `payload`, i.e.
    /// the payload has not been changed since the record was made.
    pub fn verify_hash(&self) -> bool {
        compliance_hash(&self.payload) == self.compliance_hash
    }
}

/// `DateTime<Utc>` as RFC 3339 with milliseconds and `Z`; reads any RFC 3339.
pub(crate) mod rfc3339_millis {
    use chrono::{DateTime, Datelike, SecondsFormat, Utc};
    use serde::{Deserialize, Deserializer, Serializer};

    /// Fails for years outside 0000..=9999, which RFC 3339 cannot express
    /// (chrono would write `+10000-...`, which no RFC 3339 parser reads back).
    pub(super) fn serialize<S: Serializer>(ts: &DateTime<Utc>, s: S) -> Result<S::Ok, S::Error> {
        match Fixed::of(ts) {
            Some(fixed) => s.serialize_str(fixed.as_str()),
            None => Err(serde::ser::Error::custom(format!(
                "timestamp year {} is outside 0000..=9999 and has no RFC 3339 form",
                ts.year()
            ))),
        }
    }

    /// The RFC 3339 text a record's timestamp is written as
    /// (`YYYY-MM-DDTHH:MM:SS.mmmZ`). Formatted by hand for years 0..=9999:
    /// it is on the hashing path of every record.
    pub(crate) fn text(ts: &DateTime<Utc>) -> String {
        match Fixed::of(ts) {
            Some(fixed) => fixed.as_str().to_owned(),
            None => ts.to_rfc3339_opts(SecondsFormat::Millis, true),
        }
    }

    /// [`text`] of a timestamp in years 0..=9999, on the stack: the sink
    /// keeps one per queued record without an allocation.
    #[derive(Clone, Copy)]
    pub(crate) struct Fixed([u8; 24]);

    impl Fixed {
        /// `None` for years outside 0..=9999 (no 24-byte form).
        pub(crate) fn of(ts: &DateTime<Utc>) -> Option<Self> {
            use chrono::Timelike;
            let year = u32::try_from(ts.year()).ok().filter(|y| *y <= 9999)?;
            // A leap second shows as nanosecond >= 1e9; chrono writes it as :60.
            let (second, millis) = match ts.nanosecond() / 1_000_000 {
                ms @ 0..=999 => (ts.second(), ms),
                ms => (60, ms - 1000),
            };
            let date = ts.date_naive();
            let time = ts.time();
            let mut out = *b"0000-00-00T00:00:00.000Z";
            // Each field's last digit's index, its width and its value.
            let fields = [
                (3, 4, year),
                (6, 2, date.month()),
                (9, 2, date.day()),
                (12, 2, time.hour()),
                (15, 2, time.minute()),
                (18, 2, second),
                (22, 3, millis),
            ];
            for (last, width, mut value) in fields {
                for i in (last + 1 - width..=last).rev() {
                    out[i] = b'0' + u8::try_from(value % 10).unwrap_or(0);
                    value /= 10;
                }
            }
            Some(Self(out))
        }

        /// The text; only ASCII digits and separators were written.
        pub(crate) fn as_str(&self) -> &str {
            std::str::from_utf8(&self.0).unwrap_or_default()
        }
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<DateTime<Utc>, D::Error> {
        let text = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        DateTime::parse_from_rfc3339(&text)
            .map(|ts| ts.with_timezone(&Utc))
            .map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use serde_json::json;

    #[test]
    fn serialises_in_seed_001_shape() -> Result<(), Box<dyn std::error::Error>> {
        let ts = Utc
            .timestamp_opt(1_714_564_800, 123_456_789)
            .single()
            .ok_or("bad timestamp")?;
        let record = AuditRecord::at(ts, EventType::WORKFLOW_TRIGGERED, json!({"a": "x", "b": 1}));
        let line = serde_json::to_string(&record)?;
        // The hash is sha256(b'{"a":"x","b":1}'), computed independently.
        assert_eq!(
            line,
            r#"{"timestamp":"2024-05-01T12:00:00.123Z","event_type":"WORKFLOW_TRIGGERED","payload":{"a":"x","b":1},"compliance_hash":"cdab067e9f3beb32d1252cfd63e492592fecbf591b0d08cadb24bb17f3864246"}"#
        );
        let back: AuditRecord = serde_json::from_str(&line)?;
        assert_eq!(back, record);
        assert!(back.verify_hash());
        Ok(())
    }

    #[test]
    fn reads_python_isoformat_timestamps() -> Result<(), Box<dyn std::error::Error>> {
        let table = [
            ("2024-05-01T12:00:00.123456+00:00", 123_456_000),
            ("2024-05-01T14:00:00+02:00", 0),
            ("2024-05-01T12:00:00Z", 0),
        ];
        for (text, nanos) in table {
            let line = format!(
                r#"{{"timestamp":"{text}","event_type":"X","payload":null,"compliance_hash":""}}"#
            );
            let record: AuditRecord = serde_json::from_str(&line)?;
            let want = Utc
                .timestamp_opt(1_714_564_800, nanos)
                .single()
                .ok_or("bad timestamp")?;
            assert_eq!(record.timestamp, want, "{text}");
        }
        Ok(())
    }

    #[test]
    fn timestamp_text_matches_chrono() -> Result<(), Box<dyn std::error::Error>> {
        use chrono::SecondsFormat;
        let table = [
            "2024-05-01T12:00:00.123Z",
            "0000-01-01T00:00:00.000Z",
            "9999-12-31T23:59:59.999Z",
            "1999-02-03T04:05:06.007Z",
            "2016-12-31T23:59:60.500Z",
        ];
        for text in table {
            let ts = DateTime::parse_from_rfc3339(text)?.with_timezone(&Utc);
            assert_eq!(rfc3339_millis::text(&ts), text);
            assert_eq!(
                rfc3339_millis::text(&ts),
                ts.to_rfc3339_opts(SecondsFormat::Millis, true)
            );
        }
        Ok(())
    }

    #[test]
    fn event_types_are_open() {
        const CUSTOM: EventType = EventType::from_static("DATA_ACTION_EXECUTED");
        let owned = EventType::new(String::from("DATA_ACTION_EXECUTED"));
        assert_eq!(CUSTOM, owned);
        assert_eq!(CUSTOM.to_string(), "DATA_ACTION_EXECUTED");
        let table = [
            (EventType::TRIGGERED, "TRIGGERED"),
            (EventType::TRIGGER_FAILED, "TRIGGER_FAILED"),
            (EventType::EXECUTION_COMPLETED, "EXECUTION_COMPLETED"),
            (EventType::EXECUTION_FAILED, "EXECUTION_FAILED"),
            (EventType::WORKFLOW_TRIGGERED, "WORKFLOW_TRIGGERED"),
            (
                EventType::WORKFLOW_TRIGGER_FAILED,
                "WORKFLOW_TRIGGER_FAILED",
            ),
            (EventType::WORKFLOW_COMPLETED, "WORKFLOW_COMPLETED"),
        ];
        for (event_type, name) in table {
            assert_eq!(event_type, name);
        }
    }

    #[test]
    fn verify_hash_catches_an_edited_payload() {
        let mut record = AuditRecord::new("X", json!({"status": "COMPLETED"}));
        assert!(record.verify_hash());
        record.set_payload_unchecked(json!({"status": "FAILED"}));
        assert!(!record.verify_hash());
    }
}
