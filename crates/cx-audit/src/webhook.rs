//! The webhook sink: each audit record POSTed, signed, to an HTTP endpoint.
//!
//! The body is the record's JSON (as in a JSONL line); the headers are those
//! of [`crate::signing`] (`X-CX-Timestamp`, `X-CX-Signature: sha256=<hex>`,
//! `X-CX-Delivery`). The request goes through the runtime
//! ([`cx_http::Client`]) with an `Idempotency-Key` equal to the delivery id, so
//! the runtime retries it after 429, 5xx and lost connections, with the same
//! signed body on every attempt; the delivery id is the SHA-256 of the body.
//!
//! Back-pressure, not buffering: [`AuditSink::write`] returns only when the
//! endpoint answered 2xx (or the runtime gave up), and at most
//! `max_in_flight` deliveries run at once; further writers wait for a slot.
//! Nothing is queued in memory beyond the records being delivered.

use async_trait::async_trait;
use cx_http::Client;
use secrecy::{ExposeSecret, SecretString};
use tokio::sync::Semaphore;

use crate::canonical::sha256_hex;
use crate::error::{Error, ErrorKind};
use crate::record::AuditRecord;
use crate::signing::{DELIVERY_HEADER, SIGNATURE_HEADER, TIMESTAMP_HEADER, sign};
use crate::sink::AuditSink;

/// Deliveries in flight at once when not set: 8.
pub const DEFAULT_MAX_IN_FLIGHT: usize = 8;

/// An [`AuditSink`] POSTing each record, signed, to one URL (see the
/// [module docs](self)).
///
/// ```no_run
/// use cx_audit::{AuditRecord, AuditSink, WebhookSink};
/// use secrecy::SecretString;
///
/// # async fn run(http: cx_http::Client) -> Result<(), cx_audit::Error> {
/// let sink = WebhookSink::new(
///     http,
///     "https://erp.example.com/hooks/audit",
///     SecretString::from("shared-secret"),
/// );
/// sink.write(&AuditRecord::new("X", serde_json::json!({"n": 1}))).await?;
/// # Ok(()) }
/// ```
pub struct WebhookSink {
    http: Client,
    url: String,
    secret: SecretString,
    slots: Semaphore,
}

impl std::fmt::Debug for WebhookSink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebhookSink")
            .field("url", &self.url)
            .field("secret", &"[redacted]")
            .finish_non_exhaustive()
    }
}

impl WebhookSink {
    /// A sink delivering to `url` (absolute `http://` or `https://`) through
    /// `http`, signing with `secret`, at most [`DEFAULT_MAX_IN_FLIGHT`]
    /// deliveries at once.
    pub fn new(http: Client, url: impl Into<String>, secret: SecretString) -> Self {
        Self {
            http,
            url: url.into(),
            secret,
            slots: Semaphore::new(DEFAULT_MAX_IN_FLIGHT),
        }
    }

    /// At most `n` deliveries at once (at least 1).
    #[must_use]
    pub fn max_in_flight(mut self, n: usize) -> Self {
        self.slots = Semaphore::new(n.max(1));
        self
    }
}

#[async_trait]
impl AuditSink for WebhookSink {
    /// POST `record`, signed; returns once the endpoint answered 2xx.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Serialize`] when the record cannot be encoded;
    /// [`ErrorKind::Sink`] (source: [`cx_http::Error`]) when the endpoint
    /// refused it or could not be reached after the runtime's retries.
    async fn write(&self, record: &AuditRecord) -> Result<(), Error> {
        let body = serde_json::to_vec(record).map_err(|e| {
            Error::new(ErrorKind::Serialize, "cannot serialize audit record").with_source(e)
        })?;
        let delivery = sha256_hex(&body);
        let timestamp = chrono::Utc::now().timestamp();
        let signature = sign(self.secret.expose_secret().as_bytes(), timestamp, &body);
        let _slot = self
            .slots
            .acquire()
            .await
            .map_err(|e| Error::new(ErrorKind::Sink, "webhook sink closed").with_source(e))?;
        // `.json(record)` encodes the record with serde_json again, which
        // yields exactly `body` (serialisation is deterministic), so the
        // signature covers the bytes sent.
        self.http
            .request_url(cx_http::Method::POST, &self.url)
            .without_auth()
            .operation("audit.webhook")
            .header(TIMESTAMP_HEADER, &timestamp.to_string())
            .header(SIGNATURE_HEADER, &signature)
            .header(DELIVERY_HEADER, &delivery)
            .idempotency_key(&delivery)
            .json(record)
            .send()
            .await
            .map_err(|e| {
                Error::new(
                    ErrorKind::Sink,
                    format!("webhook delivery to {} failed", self.url),
                )
                .with_source(e)
            })?;
        Ok(())
    }

    /// Nothing is buffered: every write was delivered when it returned.
    async fn flush(&self) -> Result<(), Error> {
        Ok(())
    }
}
