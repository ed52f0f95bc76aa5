//! Canonical JSON (RFC 8785, JCS) and the SHA-256 compliance hash.
//!
//! Seed 001 step 4 (`WorkflowAuditLogger._generate_hash`) stamps every audit
//! record with `compliance_hash = sha256(json.dumps(payload, sort_keys=True))`.
//! That byte string is a CPython accident: `", "` and `": "` separators,
//! non-ASCII escaped as `\uXXXX`, keys sorted by code point, and Python's own
//! float `repr`. Nobody outside Python reproduces it byte for byte.
//!
//! We hash the payload's **JSON Canonicalization Scheme** form instead
//! ([RFC 8785](https://www.rfc-editor.org/rfc/rfc8785)): object members sorted
//! by the UTF-16 code units of their names, no insignificant whitespace, numbers
//! formatted as ECMAScript's `Number.prototype.toString` does (`1e+30`, `4.5`,
//! `0.002`, `1e-7`), and strings with the minimal escaping of RFC 8785 §3.2.2.2
//! (UTF-8 kept as is). Implementations exist for JavaScript, Java, Go, Python,
//! C# and more, so an auditor in another language can recompute every hash.
//!
//! Consequences worth knowing:
//!
//! - A hash from this crate differs from one computed by seed 001's Python code
//!   for the same payload; audit files written by that script will not verify.
//! - JSON has one number type, an IEEE-754 double. Integers beyond ±2⁵³ lose
//!   precision in the canonical form (`18446744073709551615` hashes as
//!   `18446744073709552000`). Put large identifiers in strings.
//! - Object member order does not matter: `{"a":1,"b":2}` and `{"b":2,"a":1}`
//!   hash the same.
//!
//! Canonicalisation is done here, directly into a byte buffer (the audit
//! log's hashing path runs it for every record); only non-integral numbers
//! (and integers beyond ±2⁵³) are formatted by the `serde_json_canonicalizer`
//! crate, which implements ECMAScript number formatting. A property test
//! checks the two agree on arbitrary values.

use std::cmp::Ordering;
use std::io::Write as _;

use serde_json::{Map, Number, Value};
use sha2::{Digest, Sha256};

/// The RFC 8785 (JCS) canonical form of `value`, as UTF-8 bytes.
///
/// No whitespace, members sorted by UTF-16 code units, ECMAScript number
/// formatting, minimal string escaping. Used by [`compliance_hash`] (seed 001
/// step 4's `_generate_hash`, made portable).
///
/// This cannot fail: a [`serde_json::Value`] holds no NaN or infinity, no
/// duplicate member names and only string keys, which are the only inputs
/// RFC 8785 rejects. (Were serde_json's `arbitrary_precision` feature ever
/// enabled in the build, a number beyond the range of a double would have no
/// canonical form; this function would then return the value's plain
/// `serde_json` encoding rather than panic. A test in this module fails if that
/// feature is switched on.)
pub fn canonical_json(value: &Value) -> Vec<u8> {
    let mut out = Vec::with_capacity(256);
    write_value(&mut out, value);
    out
}

/// [`canonical_json`] as a shared slice of exactly its length: written into
/// this thread's reused buffer, then copied once (a record's payload is
/// canonicalized for every audit record; growing a fresh vector to ~1 KiB
/// reallocated several times).
pub(crate) fn canonical_shared(value: &Value) -> std::sync::Arc<[u8]> {
    thread_local! {
        static BUFFER: std::cell::RefCell<Vec<u8>> = const { std::cell::RefCell::new(Vec::new()) };
    }
    /// A buffer grown beyond this is not kept for the next record.
    const KEEP: usize = 64 * 1024;
    BUFFER.with(|cell| match cell.try_borrow_mut() {
        Ok(mut out) => {
            out.clear();
            write_value(&mut out, value);
            let shared = std::sync::Arc::from(out.as_slice());
            if out.capacity() > KEEP {
                *out = Vec::new();
            }
            shared
        }
        // Re-entered (cannot happen: writing a value calls no user code).
        Err(_) => canonical_json(value).into(),
    })
}

/// Append the canonical form of `value` to `out`.
pub(crate) fn write_value(out: &mut Vec<u8>, value: &Value) {
    match value {
        Value::Null => out.extend_from_slice(b"null"),
        Value::Bool(true) => out.extend_from_slice(b"true"),
        Value::Bool(false) => out.extend_from_slice(b"false"),
        Value::Number(n) => write_number(out, n),
        Value::String(s) => write_str(out, s),
        Value::Array(items) => {
            out.push(b'[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_value(out, item);
            }
            out.push(b']');
        }
        Value::Object(members) => write_object(out, members, None),
    }
}

/// Append the canonical form of the object `members`, leaving out the member
/// named `skip` (the chain hash covers a record without its `hash`).
pub(crate) fn write_object(out: &mut Vec<u8>, members: &Map<String, Value>, skip: Option<&str>) {
    out.push(b'{');
    let mut first = true;
    let mut member = |out: &mut Vec<u8>, name: &String, value: &Value| {
        if skip == Some(name.as_str()) {
            return;
        }
        if !first {
            out.push(b',');
        }
        first = false;
        write_str(out, name);
        out.push(b':');
        write_value(out, value);
    };
    // serde_json's map iterates in UTF-8 byte (= code point) order, which is
    // RFC 8785's UTF-16 order unless a name mixes U+E000..U+FFFF with
    // characters beyond U+FFFF: only then sort again.
    let sorted = members
        .keys()
        .zip(members.keys().skip(1))
        .all(|(a, b)| utf16_cmp(a, b) == Ordering::Less);
    if sorted {
        for (name, value) in members {
            member(out, name, value);
        }
    } else {
        let mut entries: Vec<_> = members.iter().collect();
        entries.sort_by(|a, b| utf16_cmp(a.0, b.0));
        for (name, value) in entries {
            member(out, name, value);
        }
    }
    out.push(b'}');
}

/// Order of member names by UTF-16 code units (RFC 8785 §3.2.3).
fn utf16_cmp(a: &str, b: &str) -> Ordering {
    if a.is_ascii() && b.is_ascii() {
        a.cmp(b)
    } else {
        a.encode_utf16().cmp(b.encode_utf16())
    }
}

/// Integers up to ±2⁵³ print as themselves in ECMAScript; anything else goes
/// through `serde_json_canonicalizer`'s ECMAScript formatting.
fn write_number(out: &mut Vec<u8>, n: &Number) {
    const EXACT: u64 = 1 << 53;
    let written = match (n.as_i64(), n.as_u64()) {
        (Some(i), _) if i.unsigned_abs() <= EXACT => write!(out, "{i}").is_ok(),
        (_, Some(u)) if u <= EXACT => write!(out, "{u}").is_ok(),
        _ => serde_json_canonicalizer::to_writer(n, out).is_ok(),
    };
    if !written {
        // Unreachable without `arbitrary_precision` (see `canonical_json`).
        out.extend_from_slice(n.to_string().as_bytes());
    }
}

/// Bytes [`any_needs_escape`] looks at at once.
const CHUNK: usize = 8;

/// Whether RFC 8785 escapes byte `b`.
fn needs_escape(b: u8) -> bool {
    b < 0x20 || b == b'"' || b == b'\\'
}

/// Whether any of [`CHUNK`] bytes needs escaping (bit tricks: a byte below
/// 0x20, or equal to `"` or `\\`; exact, no false positives).
fn any_needs_escape(chunk: &[u8]) -> bool {
    const LO: u64 = 0x0101_0101_0101_0101;
    const HI: u64 = 0x8080_8080_8080_8080;
    let mut word = [0u8; CHUNK];
    word.copy_from_slice(chunk);
    let w = u64::from_le_bytes(word);
    let below = |v: u64, n: u64| v.wrapping_sub(LO * n) & !v & HI != 0;
    below(w, 0x20) || below(w ^ (LO * 0x22), 1) || below(w ^ (LO * 0x5c), 1)
}

/// A JSON string with RFC 8785 §3.2.2.2 escaping: `\"` `\\` `\b` `\t` `\n`
/// `\f` `\r`, `\u00xx` (lower-case hex) for other controls, the rest as is.
pub(crate) fn write_str(out: &mut Vec<u8>, s: &str) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    out.push(b'"');
    let bytes = s.as_bytes();
    let mut start = 0;
    let mut i = 0;
    while i < bytes.len() {
        // Skip clean 8-byte runs at once: most payload text needs no escaping.
        while let Some(chunk) = bytes.get(i..i + CHUNK) {
            if any_needs_escape(chunk) {
                break;
            }
            i += CHUNK;
        }
        let Some(&b) = bytes.get(i) else {
            break;
        };
        if needs_escape(b) {
            out.extend_from_slice(&bytes[start..i]);
            match b {
                b'"' => out.extend_from_slice(b"\\\""),
                b'\\' => out.extend_from_slice(b"\\\\"),
                0x08 => out.extend_from_slice(b"\\b"),
                0x09 => out.extend_from_slice(b"\\t"),
                0x0a => out.extend_from_slice(b"\\n"),
                0x0c => out.extend_from_slice(b"\\f"),
                0x0d => out.extend_from_slice(b"\\r"),
                _ => {
                    out.extend_from_slice(b"\\u00");
                    out.push(HEX[usize::from(b >> 4)]);
                    out.push(HEX[usize::from(b & 0xf)]);
                }
            }
            start = i + 1;
        }
        i += 1;
    }
    out.extend_from_slice(&bytes[start..]);
    out.push(b'"');
}

/// Feed `s` as a canonical JSON string to `hasher`, as [`write_str`] would
/// write it; without a copy when nothing needs escaping (hashes, timestamps).
pub(crate) fn hash_str(hasher: &mut Sha256, s: &str) {
    let chunks = s.as_bytes().chunks_exact(CHUNK);
    let tail = chunks.remainder();
    if chunks.clone().any(any_needs_escape) || tail.iter().copied().any(needs_escape) {
        let mut out = Vec::with_capacity(s.len() + 8);
        write_str(&mut out, s);
        hasher.update(&out);
    } else {
        hasher.update(b"\"");
        hasher.update(s.as_bytes());
        hasher.update(b"\"");
    }
}

/// Lowercase hexadecimal SHA-256 of `bytes` (64 characters).
pub fn sha256_hex(bytes: &[u8]) -> String {
    digest_hex(Sha256::digest(bytes).into())
}

/// A SHA-256 digest as 64 lowercase hex characters.
pub(crate) fn digest_hex(digest: [u8; 32]) -> String {
    HexDigest::of(digest).as_str().to_owned()
}

/// A SHA-256 digest as 64 lowercase hex characters, on the stack.
#[derive(Clone, Copy)]
pub(crate) struct HexDigest([u8; 64]);

impl HexDigest {
    pub(crate) fn of(digest: [u8; 32]) -> Self {
        const HEX: &[u8; 16] = b"0123456789abcdef";
        let mut text = [0u8; 64];
        for (pair, b) in text.chunks_exact_mut(2).zip(digest) {
            pair[0] = HEX[usize::from(b >> 4)];
            pair[1] = HEX[usize::from(b & 0xf)];
        }
        Self(text)
    }

    /// The hex text; only ASCII hex digits were written.
    pub(crate) fn as_str(&self) -> &str {
        std::str::from_utf8(&self.0).unwrap_or_default()
    }
}

/// The compliance hash of an audit payload: lowercase hex SHA-256 (64
/// characters) of its [`canonical_json`] form.
///
/// Implements seed 001 step 4's `compliance_hash`, with RFC 8785 canonical JSON
/// in place of Python's `json.dumps(sort_keys=True)` (see the module docs).
pub fn compliance_hash(value: &Value) -> String {
    sha256_hex(&canonical_json(value))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serde_json_rejects_numbers_outside_a_double() {
        // Guards the claim in `canonical_json`'s docs: without serde_json's
        // `arbitrary_precision` feature no `Value` can hold such a number.
        assert!(serde_json::from_str::<Value>("1e400").is_err());
    }

    #[test]
    fn sha256_known_answers() {
        let table: [(&[u8], &str); 2] = [
            (
                b"",
                "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
            ),
            (
                b"abc",
                "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
            ),
        ];
        for (input, want) in table {
            assert_eq!(sha256_hex(input), want);
        }
    }
}
