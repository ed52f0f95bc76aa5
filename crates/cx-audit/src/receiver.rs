//! A receiver for signed webhook deliveries that audits each one exactly
//! once (feature `receiver`): seed 001 step 4's `handle_cxone_webhook_callback`
//! made safe to expose.
//!
//! [`Receiver::router`] answers `POST <path>`:
//!
//! 1. The signature and timestamp are checked ([`crate::signing`]): a bad or
//!    missing signature → **401** `{"error":"invalid_signature"}`; a
//!    timestamp more than 5 minutes off → **401** `{"error":"stale_timestamp"}`.
//!    Nothing is written.
//! 2. The body goes to the [`Handler`], which turns it into a [`Delivery`]
//!    (a de-duplication key, the record to write, the response body) or
//!    refuses it → **400** `{"error":"invalid_payload","message"}`.
//! 3. A key already recorded → **200** `{"status":"duplicate","key"}`,
//!    nothing written: senders retry, and a retried delivery must not
//!    produce a second record. A key being recorded by another request →
//!    **503** `{"error":"in_progress","key"}` with `Retry-After: 1`: that
//!    write may still fail, so the retry is not acknowledged before it is
//!    stored.
//! 4. Otherwise the record is written to the [`AuditSink`]; once it is stored
//!    → **200** with the handler's response body. If the sink fails →
//!    **500** `{"error":"audit_failed"}` and the key is forgotten, so the
//!    sender's retry can succeed.
//!
//! The receiver is generic so this crate does not depend on the service
//! crates: the seed-specific handler (parse `InstanceCompletion`, build the
//! ERP sync payload, key by instance id) lives with the workflow types, in
//! the `cxone` facade (`cx webhook serve`).

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};

use axum::Router;
use axum::extract::State;
use axum::http::header::RETRY_AFTER;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use bytes::Bytes;
use secrecy::{ExposeSecret, SecretString};
use serde_json::{Value, json};

use crate::record::AuditRecord;
use crate::signing::{SIGNATURE_HEADER, SignatureError, TIMESTAMP_HEADER, verify};
use crate::sink::AuditSink;

/// What a [`Handler`] makes of an accepted body.
#[derive(Debug, Clone)]
pub struct Delivery {
    /// The de-duplication key, e.g. the instance id.
    pub key: String,
    /// The record to write, once per key.
    pub record: AuditRecord,
    /// The 200 response body.
    pub response: Value,
}

/// Turns a verified body into a [`Delivery`], or refuses it with a one-line
/// reason (answered 400).
pub type Handler = dyn Fn(&[u8]) -> Result<Delivery, String> + Send + Sync;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Seen {
    Writing,
    Written,
}

struct Inner {
    secret: SecretString,
    sink: Arc<dyn AuditSink>,
    handler: Box<Handler>,
    seen: Mutex<HashMap<String, Seen>>,
}

/// The receiver: verification, de-duplication and auditing around a
/// [`Handler`] (see the [module docs](self)). Cheap to clone.
#[derive(Clone)]
pub struct Receiver {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for Receiver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Receiver")
            .field("keys", &self.seen().len())
            .finish_non_exhaustive()
    }
}

impl Receiver {
    /// A receiver checking signatures with `secret`, writing to `sink`.
    pub fn new(
        secret: SecretString,
        sink: Arc<dyn AuditSink>,
        handler: impl Fn(&[u8]) -> Result<Delivery, String> + Send + Sync + 'static,
    ) -> Self {
        Self {
            inner: Arc::new(Inner {
                secret,
                sink,
                handler: Box::new(handler),
                seen: Mutex::new(HashMap::new()),
            }),
        }
    }

    /// Treat `keys` as already recorded (e.g. the instance ids of the
    /// `WORKFLOW_COMPLETED` records already in the audit directory, so a
    /// restart does not record a redelivery twice).
    #[must_use]
    pub fn with_recorded(self, keys: impl IntoIterator<Item = String>) -> Self {
        self.seen()
            .extend(keys.into_iter().map(|k| (k, Seen::Written)));
        self
    }

    /// How many keys have been recorded.
    pub fn recorded(&self) -> usize {
        self.seen()
            .values()
            .filter(|s| **s == Seen::Written)
            .count()
    }

    /// A router answering `POST path` (e.g. `/webhooks/instance-completed`).
    pub fn router(&self, path: &str) -> Router {
        Router::new()
            .route(path, post(receive))
            .with_state(self.clone())
    }

    fn seen(&self) -> MutexGuard<'_, HashMap<String, Seen>> {
        // Only single inserts/removes happen under the lock: data stays valid.
        self.inner
            .seen
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

fn answer(status: StatusCode, body: Value) -> Response {
    (status, axum::Json(body)).into_response()
}

async fn receive(State(rx): State<Receiver>, headers: HeaderMap, body: Bytes) -> Response {
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    let checked = verify(
        rx.inner.secret.expose_secret().as_bytes(),
        header(TIMESTAMP_HEADER),
        header(SIGNATURE_HEADER),
        &body,
        chrono::Utc::now().timestamp(),
    );
    if let Err(e) = checked {
        let code = match e {
            SignatureError::Stale { .. } => "stale_timestamp",
            _ => "invalid_signature",
        };
        return answer(
            StatusCode::UNAUTHORIZED,
            json!({"error": code, "message": e.to_string()}),
        );
    }
    let delivery = match (rx.inner.handler)(&body) {
        Ok(d) => d,
        Err(message) => {
            return answer(
                StatusCode::BAD_REQUEST,
                json!({"error": "invalid_payload", "message": message}),
            );
        }
    };
    {
        let mut seen = rx.seen();
        match seen.get(&delivery.key) {
            Some(Seen::Written) => {
                return answer(
                    StatusCode::OK,
                    json!({"status": "duplicate", "key": delivery.key}),
                );
            }
            Some(Seen::Writing) => {
                let mut response = answer(
                    StatusCode::SERVICE_UNAVAILABLE,
                    json!({"error": "in_progress", "key": delivery.key}),
                );
                response
                    .headers_mut()
                    .insert(RETRY_AFTER, HeaderValue::from_static("1"));
                return response;
            }
            None => {}
        }
        seen.insert(delivery.key.clone(), Seen::Writing);
    }
    // Forgets the key unless the write succeeds, also when this request is
    // cancelled mid-write (the client went away): a retry must get through.
    let mut pending = Pending {
        rx: &rx,
        key: Some(delivery.key),
    };
    match rx.inner.sink.write(&delivery.record).await {
        Ok(()) => {
            if let Some(key) = pending.key.take() {
                rx.seen().insert(key, Seen::Written);
            }
            answer(StatusCode::OK, delivery.response)
        }
        Err(e) => answer(
            StatusCode::INTERNAL_SERVER_ERROR,
            json!({"error": "audit_failed", "message": e.to_string()}),
        ),
    }
}

struct Pending<'a> {
    rx: &'a Receiver,
    key: Option<String>,
}

impl Drop for Pending<'_> {
    fn drop(&mut self) {
        if let Some(key) = self.key.take() {
            self.rx.seen().remove(&key);
        }
    }
}
