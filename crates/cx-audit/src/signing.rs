//! Signed webhook deliveries: the one scheme the webhook sink, the
//! simulator's completion callbacks and the receiver all use.
//!
//! A delivery is an HTTP `POST` with a JSON body and these headers:
//!
//! | header | value |
//! |---|---|
//! | `X-CX-Timestamp` | the sender's clock when signing, Unix time in whole **seconds** (decimal) |
//! | `X-CX-Signature` | `sha256=` + lowercase hex HMAC-SHA256, keyed with the shared secret, of the bytes `<X-CX-Timestamp>` `.` `<body>` |
//! | `X-CX-Delivery` | an id of the delivery, the same on every retry (informational) |
//!
//! The receiver recomputes the HMAC over the exact body bytes it received and
//! compares in constant time, then rejects a timestamp more than
//! [`MAX_SKEW_SECS`] (5 minutes) away from its own clock, so a captured
//! delivery cannot be replayed later. Replays inside the window are caught by
//! de-duplication on the delivery's business key (the instance id for seed
//! 001's completion webhook), not by the signature.
//!
//! ```
//! use cx_audit::signing::{sign, verify};
//!
//! let body = br#"{"instanceId":"inst_1","status":"COMPLETED"}"#;
//! let signature = sign(b"s3cret", 1_714_564_800, body);
//! assert!(signature.starts_with("sha256="));
//! assert!(verify(b"s3cret", Some("1714564800"), Some(&signature), body, 1_714_564_900).is_ok());
//! ```

use hmac::{Hmac, Mac};
use sha2::Sha256;

/// Header carrying the signing time (Unix seconds).
pub const TIMESTAMP_HEADER: &str = "X-CX-Timestamp";
/// Header carrying `sha256=<hex HMAC>`.
pub const SIGNATURE_HEADER: &str = "X-CX-Signature";
/// Header carrying the delivery id.
pub const DELIVERY_HEADER: &str = "X-CX-Delivery";
/// Largest accepted distance between the signing time and the receiver's
/// clock, in seconds (5 minutes).
pub const MAX_SKEW_SECS: i64 = 300;

fn mac(secret: &[u8], timestamp: &str, body: &[u8]) -> Hmac<Sha256> {
    // HMAC takes keys of any length; `new_from_slice` cannot fail for it.
    let mut mac = Hmac::<Sha256>::new_from_slice(secret).unwrap_or_else(|_| unreachable_key());
    mac.update(timestamp.as_bytes());
    mac.update(b".");
    mac.update(body);
    mac
}

#[cold]
fn unreachable_key() -> Hmac<Sha256> {
    // Never reached (see above); an all-zero key keeps this total.
    <Hmac<Sha256> as hmac::digest::KeyInit>::new(&Default::default())
}

/// The `X-CX-Signature` value for `body` signed at `timestamp` (Unix s):
/// `sha256=<64 hex>`.
pub fn sign(secret: &[u8], timestamp: i64, body: &[u8]) -> String {
    let tag = mac(secret, &timestamp.to_string(), body)
        .finalize()
        .into_bytes();
    format!("sha256={}", hex::encode(tag))
}

/// Why a delivery was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum SignatureError {
    /// `X-CX-Timestamp` is missing or not an integer.
    MissingTimestamp,
    /// `X-CX-Signature` is missing, not `sha256=<hex>`, or does not match.
    BadSignature,
    /// The timestamp is more than [`MAX_SKEW_SECS`] from `now`.
    Stale {
        /// `now - timestamp`, in seconds (negative: from the future).
        age_secs: i64,
    },
}

impl std::fmt::Display for SignatureError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::MissingTimestamp => {
                write!(f, "{TIMESTAMP_HEADER} is missing or not Unix seconds")
            }
            Self::BadSignature => write!(f, "{SIGNATURE_HEADER} does not match the body"),
            Self::Stale { age_secs } => write!(
                f,
                "{TIMESTAMP_HEADER} is {age_secs} s from now; at most {MAX_SKEW_SECS} s is accepted"
            ),
        }
    }
}

impl std::error::Error for SignatureError {}

/// Check a delivery's headers against its body at time `now` (Unix s): the
/// signature first (constant-time), then the timestamp's age.
///
/// # Errors
///
/// The [`SignatureError`] saying what is wrong.
pub fn verify(
    secret: &[u8],
    timestamp: Option<&str>,
    signature: Option<&str>,
    body: &[u8],
    now: i64,
) -> Result<(), SignatureError> {
    let timestamp = timestamp.map(str::trim).unwrap_or_default();
    let signed_at: i64 = timestamp
        .parse()
        .map_err(|_| SignatureError::MissingTimestamp)?;
    let tag = signature
        .and_then(|s| s.trim().strip_prefix("sha256="))
        .and_then(|h| hex::decode(h).ok())
        .ok_or(SignatureError::BadSignature)?;
    mac(secret, timestamp, body)
        .verify_slice(&tag)
        .map_err(|_| SignatureError::BadSignature)?;
    let age_secs = now.saturating_sub(signed_at);
    if age_secs.abs() > MAX_SKEW_SECS {
        return Err(SignatureError::Stale { age_secs });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signature_known_answer() {
        // Computed independently: Python's
        // hmac.new(b"k", b'1700000000.{"a":1}', hashlib.sha256).hexdigest()
        assert_eq!(
            sign(b"k", 1_700_000_000, br#"{"a":1}"#),
            "sha256=1b6ad1bc9bf48c52ce01939866d5877c6cc4e87ddad27e16673cb8c4964394a3"
        );
    }

    /// (timestamp header, signature header, body, now, expected).
    type Case<'a> = (
        Option<&'a str>,
        Option<&'a str>,
        &'a [u8],
        i64,
        Result<(), SignatureError>,
    );

    #[test]
    fn verification_table() {
        let body = b"{}";
        let ts = 1_700_000_000;
        let good = sign(b"k", ts, body);
        let ts_text = ts.to_string();
        let table: [Case<'_>; 8] = [
            (Some(&ts_text), Some(&good), body, ts, Ok(())),
            (Some(&ts_text), Some(&good), body, ts + 300, Ok(())),
            (
                Some(&ts_text),
                Some(&good),
                body,
                ts + 301,
                Err(SignatureError::Stale { age_secs: 301 }),
            ),
            (
                Some(&ts_text),
                Some(&good),
                body,
                ts - 301,
                Err(SignatureError::Stale { age_secs: -301 }),
            ),
            (
                Some(&ts_text),
                Some(&good),
                b"{ }",
                ts,
                Err(SignatureError::BadSignature),
            ),
            (
                Some("1700000001"),
                Some(&good),
                body,
                ts,
                Err(SignatureError::BadSignature),
            ),
            (
                None,
                Some(&good),
                body,
                ts,
                Err(SignatureError::MissingTimestamp),
            ),
            (
                Some(&ts_text),
                Some("sha1=00"),
                body,
                ts,
                Err(SignatureError::BadSignature),
            ),
        ];
        for (i, (t, s, b, now, want)) in table.into_iter().enumerate() {
            assert_eq!(verify(b"k", t, s, b, now), want, "case {i}");
        }
        assert_eq!(
            verify(b"other", Some(&ts_text), Some(&good), body, ts),
            Err(SignatureError::BadSignature)
        );
    }
}
