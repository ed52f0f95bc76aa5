//! The hash chain that makes an audit log tamper-evident.
//!
//! A compliance hash (seed 001 step 4) proves that a payload was not edited,
//! but not that no record was removed, inserted or reordered. So every record a
//! chaining sink stores carries two more members:
//!
//! - `hash`: lowercase hex SHA-256 of the record's RFC 8785 (JCS) canonical
//!   form **without** its `hash` member — i.e. of
//!   `{"compliance_hash":…,"event_type":…,"payload":…,"prev_hash":…,"timestamp":…}`
//!   with members sorted, no whitespace. It covers the timestamp, event type,
//!   payload and the link, so editing any of them shows.
//! - `prev_hash`: the `hash` of the record stored just before it; the first
//!   record of a chain has [`GENESIS_HASH`] (64 zeros).
//!
//! [`crate::JsonlSink`] keeps one chain per directory: it continues across day
//! files (the first record of a day points at the last record of the previous
//! day's file), so a removed day file shows up as a break at the first line of
//! the next one. Anyone can check a line in another language: parse it, drop
//! `hash`, canonicalize per RFC 8785, SHA-256, compare; then compare
//! `prev_hash` with the previous line's `hash`.
//!
//! The hash covers the record's JSON *meaning*: re-encoding a line (member
//! order, `1.0` vs `1`, escapes) keeps it valid, any change of a value breaks it.

use sha2::{Digest, Sha256};

use crate::canonical::{HexDigest, hash_str, sha256_hex, write_object};
use crate::record::{AuditRecord, rfc3339_millis};
use serde_json::{Map, Value};

/// `prev_hash` of the first record of a chain: 64 `0` characters.
pub const GENESIS_HASH: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// The chain hash of `record`: lowercase hex SHA-256 of its RFC 8785 form
/// without `hash` (whatever `record.hash` holds is ignored).
///
/// Equal to [`line_hash`] of the record's JSON line. Written directly in
/// canonical member order (`compliance_hash`, `event_type`, `payload`,
/// `prev_hash`, `timestamp`), so no intermediate `Value` is built, and the
/// payload's canonical bytes are the ones its compliance hash was computed
/// from ([`AuditRecord::canonical_payload`]), not a second serialisation.
/// The sink hashes everything before `prev_hash` before it takes its lock
/// and only the link and timestamp under it.
pub fn record_hash(record: &AuditRecord) -> String {
    let prev = record.prev_hash.as_deref();
    HashPrefix::of(record).finish(prev, &rfc3339_millis::text(&record.timestamp))
}

/// The SHA-256 state after a record's canonical members that come before
/// `prev_hash` (`compliance_hash`, `event_type`, `payload`): the bulk of the
/// chain hash, computed before the link is known (off the writer's lock), so
/// that linking costs one or two SHA-256 blocks.
#[derive(Clone)]
pub(crate) struct HashPrefix(Sha256);

impl HashPrefix {
    pub(crate) fn of(record: &AuditRecord) -> Self {
        let mut hasher = Sha256::new();
        hasher.update(b"{\"compliance_hash\":");
        hash_str(&mut hasher, &record.compliance_hash);
        hasher.update(b",\"event_type\":");
        hash_str(&mut hasher, record.event_type.as_str());
        hasher.update(b",\"payload\":");
        hasher.update(record.canonical_payload());
        Self(hasher)
    }

    /// Finish the chain hash with the link (`None` for an unchained record)
    /// and the timestamp's RFC 3339 text. Leaves `self` usable again.
    pub(crate) fn finish(&self, prev: Option<&str>, timestamp: &str) -> String {
        self.finish_hex(prev, timestamp).as_str().to_owned()
    }

    /// [`HashPrefix::finish`] without an allocation.
    pub(crate) fn finish_hex(&self, prev: Option<&str>, timestamp: &str) -> HexDigest {
        let mut hasher = self.0.clone();
        if let Some(prev) = prev {
            hasher.update(b",\"prev_hash\":");
            hash_str(&mut hasher, prev);
        }
        hasher.update(b",\"timestamp\":");
        hash_str(&mut hasher, timestamp);
        hasher.update(b"}");
        HexDigest::of(hasher.finalize().into())
    }
}

/// The chain hash of a record as read from a line, given as its JSON object:
/// SHA-256 of the RFC 8785 form of `object` without its `hash` member.
///
/// Verification uses this rather than [`record_hash`] so that the stored text
/// itself (e.g. the timestamp exactly as written) is what is hashed.
pub fn line_hash(object: &Map<String, Value>) -> String {
    let mut out = Vec::with_capacity(2048);
    write_object(&mut out, object, Some("hash"));
    sha256_hex(&out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn record_hash_equals_the_hash_of_its_line() -> Result<(), serde_json::Error> {
        let record =
            AuditRecord::new("X", json!({"b": [1, 2.5, "é"], "a": null})).chained(GENESIS_HASH);
        let line = serde_json::to_vec(&record)?;
        let Value::Object(object) = serde_json::from_slice(&line)? else {
            panic!("a record serialises as an object");
        };
        assert_eq!(record.hash.as_deref(), Some(line_hash(&object).as_str()));
        assert_eq!(record.hash, Some(record_hash(&record)));
        Ok(())
    }

    #[test]
    fn names_that_need_escaping_hash_as_their_line() -> Result<(), serde_json::Error> {
        // The hash feeds plain strings without a copy and escapes the rest.
        for event_type in ["A\"B", "line\nbreak", "back\\slash", "\u{1}", "plain"] {
            let record =
                AuditRecord::new(event_type.to_owned(), json!({"k": "v"})).chained(&"\"".repeat(3));
            let Value::Object(object) = serde_json::to_value(&record)? else {
                panic!("a record serialises as an object");
            };
            assert_eq!(record.hash.as_deref(), Some(line_hash(&object).as_str()));
        }
        Ok(())
    }

    #[test]
    fn every_member_is_covered() {
        let base = AuditRecord::new("X", json!({"n": 1})).chained(GENESIS_HASH);
        let mut edits = Vec::new();
        let mut r = base.clone();
        r.timestamp += chrono::Duration::milliseconds(1);
        edits.push(r);
        let mut r = base.clone();
        r.event_type = crate::EventType::new("Y");
        edits.push(r);
        let mut r = base.clone();
        r.set_payload_unchecked(json!({"n": 2}));
        edits.push(r);
        let mut r = base.clone();
        r.compliance_hash.replace_range(0..1, "f");
        edits.push(r);
        let mut r = base.clone();
        r.prev_hash = Some("1".repeat(64));
        edits.push(r);
        for edited in edits {
            assert_ne!(record_hash(&edited), record_hash(&base), "{edited:?}");
        }
    }
}
