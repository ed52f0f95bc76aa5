//! Signed checkpoints: what makes the chain provable against someone who can
//! write the files.
//!
//! A hash chain alone only shows accidental damage: whoever can write the
//! directory can edit a record and recompute every hash after it. So a
//! [`crate::JsonlSink`] given a [`SigningKey`] also writes **checkpoints**,
//! Ed25519-signed records in the chain itself (event type
//! [`CHECKPOINT_EVENT`]), every N records, when it is flushed or closed, and
//! at the end of a day file before the next day's file starts. The payload of
//! one is ([`Checkpoint`]):
//!
//! ```json
//! {"v":1,"seq":7,"day":"2025-03-01","file":"audit-20250301.jsonl","records":41,
//!  "head":"<hash of the record before>","prev_checkpoint":"<hash of the previous checkpoint record>",
//!  "key":"<Ed25519 public key, 64 hex>","signature":"<128 hex>"}
//! ```
//!
//! `records` is the number of lines before the checkpoint in its file, `head`
//! the `hash` of the line just before it (its `prev_hash`), `prev_checkpoint`
//! the chain `hash` of the previous checkpoint record ([`GENESIS_HASH`](crate::GENESIS_HASH) for
//! the first), `seq` counts checkpoints from 1. The signature covers
//! `"cx-audit checkpoint v1\n"` followed by the RFC 8785 form of the payload
//! without `signature`.
//!
//! Why in the chain and not a side file: a checkpoint then has a place in
//! write order that the chain itself fixes (the records before it are exactly
//! the ones it covers), every writer appends it under the same lock as
//! records, one `fsync` covers both, and deleting one is a chain break like
//! deleting any record. Like CloudTrail's digest files and Certificate
//! Transparency's signed tree heads, each checkpoint links to the one before,
//! so a removed or renamed day file leaves a gap in the checkpoints even if
//! the record chain was re-linked.
//!
//! The newest checkpoint printed as one line ([`Anchor`], `cx audit head`)
//! can be kept elsewhere; verifying against it shows a log cut short before
//! it, which nothing inside the directory can.

use std::path::Path;

use chrono::NaiveDate;
use ed25519_dalek::{Signer, Verifier};
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::canonical::canonical_json;
use crate::error::{Error, ErrorKind};

/// The event type of a checkpoint record: `AUDIT_CHECKPOINT`.
pub const CHECKPOINT_EVENT: &str = "AUDIT_CHECKPOINT";

/// The environment variable holding a signing key's seed as 64 hex characters.
pub const SIGNING_KEY_ENV: &str = "CX_AUDIT_SIGNING_KEY";

/// The environment variable naming a file that holds a signing key (as
/// written by [`SigningKey::write_pair`]); used when [`SIGNING_KEY_ENV`] is
/// unset.
pub const SIGNING_KEY_FILE_ENV: &str = "CX_AUDIT_SIGNING_KEY_FILE";

/// What the signature covers before the canonical payload.
const DOMAIN: &[u8] = b"cx-audit checkpoint v1\n";

/// An Ed25519 signing key for checkpoints. Its `Debug` shows only the public
/// key; the seed is zeroed when the key is dropped.
pub struct SigningKey(ed25519_dalek::SigningKey);

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SigningKey")
            .field("public", &self.verifying_key().to_hex())
            .finish_non_exhaustive()
    }
}

impl SigningKey {
    /// A new random key (32 bytes from the operating system's generator).
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Io`] when the operating system has no randomness to give.
    pub fn generate() -> Result<Self, Error> {
        let mut seed = [0u8; 32];
        getrandom::fill(&mut seed).map_err(|e| {
            Error::new(ErrorKind::Io, "cannot get random bytes for a signing key")
                .with_source(std::io::Error::other(e.to_string()))
        })?;
        let key = Self(ed25519_dalek::SigningKey::from_bytes(&seed));
        seed.fill(0);
        Ok(key)
    }

    /// The key whose 32-byte seed is `hex` (64 hex characters, surrounding
    /// whitespace ignored). `what` names the source in errors (a file or an
    /// environment variable); the text itself never appears in one.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::InvalidInput`] naming `what` when it is not 64 hex
    /// characters.
    pub fn from_hex(hex_seed: &SecretString, what: &str) -> Result<Self, Error> {
        let mut seed = [0u8; 32];
        hex::decode_to_slice(hex_seed.expose_secret().trim(), &mut seed).map_err(|_| {
            Error::new(
                ErrorKind::InvalidInput,
                format!("{what}: a signing key must be 64 hex characters (a 32-byte Ed25519 seed)"),
            )
        })?;
        let key = Self(ed25519_dalek::SigningKey::from_bytes(&seed));
        seed.fill(0);
        Ok(key)
    }

    /// The key in file `path` (64 hex characters).
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Io`] when it cannot be read; [`ErrorKind::InvalidInput`]
    /// when it does not hold a key.
    pub fn from_file(path: &Path) -> Result<Self, Error> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| Error::io("cannot read signing key", path, e))?;
        Self::from_hex(&SecretString::from(text), &path.display().to_string())
    }

    /// The key from the environment: [`SIGNING_KEY_ENV`] (hex seed), else the
    /// file named by [`SIGNING_KEY_FILE_ENV`]; `None` when neither is set.
    ///
    /// # Errors
    ///
    /// As [`SigningKey::from_hex`] and [`SigningKey::from_file`].
    pub fn from_env() -> Result<Option<Self>, Error> {
        if let Some(text) = std::env::var_os(SIGNING_KEY_ENV) {
            let text = SecretString::from(text.to_string_lossy().into_owned());
            return Self::from_hex(&text, SIGNING_KEY_ENV).map(Some);
        }
        match std::env::var_os(SIGNING_KEY_FILE_ENV) {
            Some(path) => Self::from_file(Path::new(&path)).map(Some),
            None => Ok(None),
        }
    }

    /// Write the seed to `path` (hex, mode 0600 on Unix, which must not exist
    /// yet) and the public key to `path` + `.pub`.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Io`] when a file exists already or cannot be written.
    pub fn write_pair(&self, path: &Path) -> Result<std::path::PathBuf, Error> {
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        let secret = SecretString::from(hex::encode(self.0.to_bytes()));
        let mut public_path = path.as_os_str().to_owned();
        public_path.push(".pub");
        let public_path = std::path::PathBuf::from(public_path);
        let write = |path: &Path, text: &str| {
            use std::io::Write;
            options
                .open(path)
                .and_then(|mut f| f.write_all(text.as_bytes()).and_then(|()| f.sync_all()))
                .map_err(|e| Error::io("cannot write key file", path, e))
        };
        write(path, &format!("{}\n", secret.expose_secret()))?;
        write(
            &public_path,
            &format!("{}\n", self.verifying_key().to_hex()),
        )?;
        Ok(public_path)
    }

    /// The public half, for `cx audit verify --public-key`.
    pub fn verifying_key(&self) -> VerifyingKey {
        VerifyingKey(self.0.verifying_key())
    }

    /// Sign `checkpoint` (its `key` is set to this key's public half).
    pub(crate) fn sign(&self, mut checkpoint: Checkpoint) -> Checkpoint {
        checkpoint.key = self.verifying_key().to_hex();
        checkpoint.signature = String::new();
        let signature = self.0.sign(&checkpoint.message());
        checkpoint.signature = hex::encode(signature.to_bytes());
        checkpoint
    }
}

/// An Ed25519 public key that checks checkpoint signatures.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VerifyingKey(ed25519_dalek::VerifyingKey);

impl VerifyingKey {
    /// The key written as 64 hex characters (surrounding whitespace ignored).
    ///
    /// # Errors
    ///
    /// [`ErrorKind::InvalidInput`] naming `what` when it is not 64 hex
    /// characters of a valid Ed25519 point.
    pub fn from_hex(text: &str, what: &str) -> Result<Self, Error> {
        let mut bytes = [0u8; 32];
        let bad = || {
            Error::new(
                ErrorKind::InvalidInput,
                format!("{what}: a public key must be 64 hex characters of an Ed25519 key"),
            )
        };
        hex::decode_to_slice(text.trim(), &mut bytes).map_err(|_| bad())?;
        ed25519_dalek::VerifyingKey::from_bytes(&bytes)
            .map(Self)
            .map_err(|_| bad())
    }

    /// The key in file `path` (as written by [`SigningKey::write_pair`]).
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Io`] when it cannot be read; otherwise as
    /// [`VerifyingKey::from_hex`].
    pub fn from_file(path: &Path) -> Result<Self, Error> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| Error::io("cannot read public key", path, e))?;
        Self::from_hex(&text, &path.display().to_string())
    }

    /// 64 lowercase hex characters.
    pub fn to_hex(&self) -> String {
        hex::encode(self.0.as_bytes())
    }
}

/// The payload of a checkpoint record (see the [module docs](self)).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Checkpoint {
    /// Format version: 1.
    pub v: u32,
    /// 1 for the first checkpoint of a log, then +1 each.
    pub seq: u64,
    /// The UTC day of the file it is in.
    pub day: NaiveDate,
    /// The name of the file it is in (`audit-YYYYMMDD.jsonl`).
    pub file: String,
    /// Lines before it in that file.
    pub records: u64,
    /// The `hash` of the line before it (its own `prev_hash`).
    pub head: String,
    /// The chain `hash` of the previous checkpoint record
    /// ([`crate::GENESIS_HASH`] for the first).
    pub prev_checkpoint: String,
    /// The signer's public key, 64 hex.
    pub key: String,
    /// Ed25519 signature, 128 hex.
    pub signature: String,
}

impl Checkpoint {
    /// An unsigned checkpoint.
    pub(crate) fn new(
        seq: u64,
        day: NaiveDate,
        file: String,
        records: u64,
        head: String,
        prev_checkpoint: String,
    ) -> Self {
        Self {
            v: 1,
            seq,
            day,
            file,
            records,
            head,
            prev_checkpoint,
            key: String::new(),
            signature: String::new(),
        }
    }

    /// The checkpoint in a record's payload, when the payload is one: its
    /// members and nothing else, as the signature covers them (a member
    /// added to a signed checkpoint is not signed).
    pub fn from_payload(payload: &Value) -> Option<Self> {
        let checkpoint: Self = serde_json::from_value(payload.clone()).ok()?;
        (checkpoint.to_payload() == *payload).then_some(checkpoint)
    }

    /// The payload of its record.
    pub(crate) fn to_payload(&self) -> Value {
        serde_json::to_value(self).unwrap_or(Value::Null)
    }

    /// The signed bytes: the domain line, then the canonical payload without
    /// `signature`.
    fn message(&self) -> Vec<u8> {
        let mut payload = self.to_payload();
        if let Value::Object(members) = &mut payload {
            members.remove("signature");
        }
        let mut message = DOMAIN.to_vec();
        message.extend_from_slice(&canonical_json(&payload));
        message
    }

    /// True when `signature` is `key`'s signature and `key` is `expected`.
    pub fn is_signed_by(&self, expected: &VerifyingKey) -> bool {
        if self.key != expected.to_hex() {
            return false;
        }
        let mut bytes = [0u8; 64];
        if hex::decode_to_slice(&self.signature, &mut bytes).is_err() {
            return false;
        }
        let signature = ed25519_dalek::Signature::from_bytes(&bytes);
        expected.0.verify(&self.message(), &signature).is_ok()
    }
}

/// The newest checkpoint as one line to keep outside the directory
/// (`cx audit head`), and what `cx audit verify --expect-head` checks the log
/// reaches: `{"checkpoint": <hash of the checkpoint record>, ...payload}` as
/// compact JSON.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Anchor {
    /// The chain `hash` of the checkpoint record.
    pub hash: String,
    /// Its payload.
    #[serde(flatten)]
    pub checkpoint: Checkpoint,
}

impl Anchor {
    /// Parse an anchor line (or the text of a file holding one).
    ///
    /// # Errors
    ///
    /// [`ErrorKind::InvalidInput`] naming `what` when it is not one.
    pub fn parse(text: &str, what: &str) -> Result<Self, Error> {
        serde_json::from_str(text.trim()).map_err(|e| {
            Error::new(
                ErrorKind::InvalidInput,
                format!("{what}: not a head line printed by `cx audit head`"),
            )
            .with_source(e)
        })
    }

    /// The one-line form.
    pub fn to_line(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Checkpoint {
        Checkpoint::new(
            1,
            NaiveDate::from_ymd_opt(2025, 3, 1).unwrap_or_default(),
            "audit-20250301.jsonl".into(),
            4,
            "a".repeat(64),
            crate::GENESIS_HASH.into(),
        )
    }

    #[test]
    fn signatures_cover_every_member_and_the_key() -> Result<(), Error> {
        let key = SigningKey::generate()?;
        let other = SigningKey::generate()?;
        let signed = key.sign(sample());
        assert!(signed.is_signed_by(&key.verifying_key()));
        assert!(!signed.is_signed_by(&other.verifying_key()));
        let mut edited = signed.clone();
        edited.records += 1;
        assert!(!edited.is_signed_by(&key.verifying_key()));
        let mut edited = signed.clone();
        edited.day = edited.day.succ_opt().unwrap_or_default();
        assert!(!edited.is_signed_by(&key.verifying_key()));
        let resigned = other.sign(signed);
        assert!(!resigned.is_signed_by(&key.verifying_key()));
        Ok(())
    }

    #[test]
    fn keys_round_trip_and_debug_hides_the_seed() -> Result<(), Error> {
        let key = SigningKey::generate()?;
        let seed = SecretString::from(hex::encode(key.0.to_bytes()));
        let again = SigningKey::from_hex(&seed, "test")?;
        assert_eq!(again.verifying_key(), key.verifying_key());
        let debug = format!("{key:?}");
        assert!(!debug.contains(seed.expose_secret()), "{debug}");
        let bad = SigningKey::from_hex(&SecretString::from("zz".to_owned()), "KEY_VAR");
        assert_eq!(
            bad.map(|_| ()).map_err(|e| e.to_string()),
            Err("KEY_VAR: a signing key must be 64 hex characters (a 32-byte Ed25519 seed)".into())
        );
        Ok(())
    }

    #[test]
    fn anchors_round_trip() -> Result<(), Error> {
        let anchor = Anchor {
            hash: "b".repeat(64),
            checkpoint: SigningKey::generate()?.sign(sample()),
        };
        assert_eq!(Anchor::parse(&anchor.to_line(), "x")?, anchor);
        assert!(Anchor::parse("{}", "--expect-head").is_err());
        Ok(())
    }
}
