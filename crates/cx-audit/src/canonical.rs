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
//! Canonicalisation is done by the `serde_json_canonicalizer` crate.

use serde_json::Value;
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
    canonical_bytes(value)
}

/// [`canonical_json`] of anything that serialises as JSON without maps with
/// non-string keys or non-finite floats (a `Value`, or the crate's own
/// structs of `Value`s and strings), with the same fallback.
pub(crate) fn canonical_bytes<T: serde::Serialize>(value: &T) -> Vec<u8> {
    match serde_json_canonicalizer::to_vec(value) {
        Ok(bytes) => bytes,
        // Unreachable without `arbitrary_precision` (see above); writing to a
        // Vec cannot fail, so the fallback is never empty for a real value.
        Err(_) => serde_json::to_vec(value).unwrap_or_default(),
    }
}

/// Lowercase hexadecimal SHA-256 of `bytes` (64 characters).
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
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
