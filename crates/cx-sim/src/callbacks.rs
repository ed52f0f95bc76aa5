//! Signed instance-completion callbacks (seed 001 step 4: "CXone can push
//! instance completion events to external endpoints"): the registered
//! callbacks, the dispatcher, the signed deliveries and the log of every
//! attempt. The admin routes are in `routes::callbacks`.
//!
//! Once a callback is registered, every workflow instance of its tenant that
//! finishes (COMPLETED or FAILED) **after** registration is POSTed to the URL
//! as `{"instanceId", "workflowId", "status", "context", "completedAt"}`,
//! signed as `cx_audit::signing` documents (the simulator shares no code
//! with the client crates, so the scheme is implemented again here):
//!
//! - `X-CX-Timestamp`: the real wall clock in Unix seconds (not sim time,
//!   which tests advance: the receiver compares with its own clock);
//! - `X-CX-Signature: sha256=<hex HMAC-SHA256(secret, "<timestamp>.<body>")>`;
//! - `X-CX-Delivery: <callback id>:<instance id>` (same on every retry).
//!
//! A connection failure, a 429 or a 5xx is retried up to 8 attempts with
//! backoff (200 ms doubling, capped at 5 s), re-signed each time; any other
//! non-2xx answer ends the delivery. A background task (one per simulator,
//! started by the first registration) looks for finished instances every
//! 50 ms and stops when the simulator is dropped. Every attempt is logged
//! ([`CallbackAttempt`]); [`crate::Sim::wait_for_deliveries`] wakes on each.

use std::collections::HashSet;
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

use axum::body::Body;
use axum::http::{Request, header};
use bytes::Bytes;
use hmac::{Hmac, Mac};
use hyper_util::rt::TokioIo;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use sha2::Sha256;
use tokio::sync::Notify;

use crate::state::Shared;
use crate::sync::{lock, wait_until};

/// Attempts per delivery.
const MAX_ATTEMPTS: u32 = 8;
/// How often the dispatcher looks for finished instances.
const TICK: Duration = Duration::from_millis(50);
/// Per-attempt limit for connecting and for the answer.
const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(10);

/// Registered callbacks and the delivery log; part of [`Shared`].
#[derive(Debug, Default)]
pub(crate) struct Callbacks {
    inner: Mutex<Registry>,
    log: Arc<DeliveryLog>,
}

impl Callbacks {
    /// Every delivery attempt so far, oldest first.
    pub(crate) fn attempts(&self) -> Vec<CallbackAttempt> {
        lock(&self.log.attempts).clone()
    }

    /// Drops every registration: no more deliveries start.
    pub(crate) fn clear(&self) {
        lock(&self.inner).callbacks.clear();
    }

    /// Waits until `done` holds for the attempts (checked now and after each
    /// new one); see [`crate::Sim::wait_for_deliveries`].
    pub(crate) async fn wait(
        &self,
        limit: Duration,
        done: impl Fn(&[CallbackAttempt]) -> bool,
    ) -> Result<Vec<CallbackAttempt>, Vec<CallbackAttempt>> {
        wait_until(&self.log.recorded, limit, || self.attempts(), |a| done(a)).await
    }
}

/// Every attempt, and the wake-up for those waiting on a new one.
#[derive(Debug, Default)]
struct DeliveryLog {
    attempts: Mutex<Vec<CallbackAttempt>>,
    recorded: Notify,
}

impl DeliveryLog {
    fn record(&self, attempt: CallbackAttempt) {
        lock(&self.attempts).push(attempt);
        self.recorded.notify_waiters();
    }
}

#[derive(Debug, Default)]
struct Registry {
    next_id: u64,
    callbacks: Vec<Callback>,
    dispatcher_started: bool,
}

#[derive(Debug)]
struct Callback {
    endpoint: Endpoint,
    tenant: String,
    /// Instances already delivered (or finished before registration).
    done: HashSet<String>,
}

/// Where and how one callback delivers; `Debug` leaves the signing secret out.
#[derive(Clone)]
struct Endpoint {
    id: String,
    target: Target,
    secret: String,
}

impl std::fmt::Debug for Endpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Endpoint")
            .field("id", &self.id)
            .field("target", &self.target)
            .field("secret", &"[redacted]")
            .finish()
    }
}

/// One completion-callback delivery attempt, as `GET
/// /_sim/callbacks/deliveries` lists it (camelCase JSON) and
/// [`crate::Sim::wait_for_deliveries`] returns it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct CallbackAttempt {
    /// The callback's id (`cb_<n>`).
    pub callback_id: String,
    /// The finished instance being delivered.
    pub instance_id: String,
    /// 1 for the first attempt, then counting retries.
    pub attempt: u32,
    /// The receiver's HTTP status, when it answered.
    pub status: Option<u16>,
    /// Why there was no answer (connect, handshake, timeout), when none came.
    pub error: Option<String>,
    /// Whether the receiver accepted it (a 2xx).
    pub delivered: bool,
}

/// Where to POST: `http://authority/path`.
#[derive(Debug, Clone)]
struct Target {
    authority: String,
    path: String,
}

impl Target {
    /// `None` unless `url` is `http://authority[/path]`.
    fn parse(url: &str) -> Option<Self> {
        let rest = url.strip_prefix("http://")?;
        let (authority, path) = match rest.find('/') {
            Some(i) => (&rest[..i], &rest[i..]),
            None => (rest, "/"),
        };
        if authority.is_empty() {
            return None;
        }
        let authority = if authority.contains(':') {
            authority.to_owned()
        } else {
            format!("{authority}:80")
        };
        Some(Self {
            authority,
            path: path.to_owned(),
        })
    }
}

impl Shared {
    /// Registers a completion callback for `tenant` (see the module docs);
    /// returns its id, or `None` for a URL that is not `http://`.
    pub(crate) fn register_callback(
        self: &Arc<Self>,
        url: &str,
        secret: &str,
        tenant: &str,
    ) -> Option<String> {
        let target = Target::parse(url)?;
        // Instances finished by now are not this callback's business.
        let done: HashSet<String> = self.with_tenant(tenant, |t, _| {
            t.instances
                .iter()
                .filter(|i| i.finished.is_some())
                .map(|i| i.id.clone())
                .collect()
        });
        let mut reg = lock(&self.callbacks.inner);
        reg.next_id += 1;
        let id = format!("cb_{}", reg.next_id);
        reg.callbacks.push(Callback {
            endpoint: Endpoint {
                id: id.clone(),
                target,
                secret: secret.to_owned(),
            },
            tenant: tenant.to_owned(),
            done,
        });
        if !reg.dispatcher_started {
            reg.dispatcher_started = true;
            tokio::spawn(dispatch(Arc::downgrade(self)));
        }
        Some(id)
    }
}

/// The dispatcher: every [`TICK`], deliver newly finished instances.
async fn dispatch(shared: Weak<Shared>) {
    loop {
        tokio::time::sleep(TICK).await;
        let Some(shared) = shared.upgrade() else {
            return;
        };
        for (callback, body, instance_id) in due(&shared) {
            let log = Arc::clone(&shared.callbacks.log);
            tokio::spawn(deliver(callback, body, instance_id, log));
        }
    }
}

/// Finished instances not yet handed to each callback, marked as handed.
fn due(shared: &Shared) -> Vec<(Endpoint, Bytes, String)> {
    let mut reg = lock(&shared.callbacks.inner);
    let mut out = Vec::new();
    for cb in &mut reg.callbacks {
        shared.with_tenant(&cb.tenant, |t, _| {
            for inst in t.instances.iter() {
                let Some(finished) = &inst.finished else {
                    continue;
                };
                if !cb.done.insert(inst.id.clone()) {
                    continue;
                }
                let completed_at = inst.created_ms.saturating_add(inst.duration_ms);
                let body = json!({
                    "instanceId": inst.id,
                    "workflowId": inst.workflow_id,
                    "status": finished.status(),
                    "context": Value::Object(inst.context.clone()),
                    "completedAt": shared.clock.rfc3339(completed_at),
                });
                let bytes = Bytes::from(serde_json::to_vec(&body).unwrap_or_default());
                out.push((cb.endpoint.clone(), bytes, inst.id.clone()));
            }
        });
    }
    out
}

/// POST one completion, retrying per the module docs, logging every attempt.
async fn deliver(cb: Endpoint, body: Bytes, instance_id: String, log: Arc<DeliveryLog>) {
    let delivery = format!("{}:{instance_id}", cb.id);
    let mut backoff = Duration::from_millis(200);
    for attempt in 1..=MAX_ATTEMPTS {
        let result = post_once(&cb, &delivery, body.clone()).await;
        let (status, error) = match &result {
            Ok(s) => (Some(*s), None),
            Err(e) => (None, Some(e.clone())),
        };
        let delivered = status.is_some_and(|s| (200..300).contains(&s));
        let retry = match status {
            None => true,
            Some(s) => s == 429 || s >= 500,
        };
        log.record(CallbackAttempt {
            callback_id: cb.id.clone(),
            instance_id: instance_id.clone(),
            attempt,
            status,
            error,
            delivered,
        });
        if delivered || !retry {
            return;
        }
        tracing::debug!(%delivery, attempt, ?status, "completion callback failed; retrying");
        tokio::time::sleep(backoff).await;
        backoff = (backoff * 2).min(Duration::from_secs(5));
    }
}

/// `sha256=<hex HMAC-SHA256(secret, "<timestamp>.<body>")>`.
fn signature(secret: &str, timestamp: &str, body: &[u8]) -> String {
    let mut mac = match Hmac::<Sha256>::new_from_slice(secret.as_bytes()) {
        Ok(mac) => mac,
        // HMAC accepts keys of any length.
        Err(_) => return String::new(),
    };
    mac.update(timestamp.as_bytes());
    mac.update(b".");
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

/// One HTTP/1.1 POST; the answer's status, or why there was none.
async fn post_once(cb: &Endpoint, delivery: &str, body: Bytes) -> Result<u16, String> {
    let timestamp = chrono::Utc::now().timestamp().to_string();
    let request = Request::post(&cb.target.path)
        .header(header::HOST, &cb.target.authority)
        .header(header::CONTENT_TYPE, "application/json")
        .header("X-CX-Timestamp", &timestamp)
        .header("X-CX-Signature", signature(&cb.secret, &timestamp, &body))
        .header("X-CX-Delivery", delivery)
        .body(Body::from(body))
        .map_err(|e| e.to_string())?;
    let attempt = async {
        let stream = tokio::net::TcpStream::connect(&cb.target.authority)
            .await
            .map_err(|e| format!("connect: {e}"))?;
        let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
            .await
            .map_err(|e| format!("handshake: {e}"))?;
        tokio::spawn(conn);
        let answer = sender
            .send_request(request)
            .await
            .map_err(|e| format!("request: {e}"))?;
        Ok(answer.status().as_u16())
    };
    tokio::time::timeout(ATTEMPT_TIMEOUT, attempt)
        .await
        .map_err(|_| "timed out".to_owned())?
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets() {
        let table = [
            (
                "http://127.0.0.1:8080/hooks/x",
                Some(("127.0.0.1:8080", "/hooks/x")),
            ),
            ("http://localhost", Some(("localhost:80", "/"))),
            ("https://example.com/x", None),
            ("http:///x", None),
        ];
        for (url, want) in table {
            let got = Target::parse(url);
            assert_eq!(
                got.as_ref()
                    .map(|t| (t.authority.as_str(), t.path.as_str())),
                want,
                "{url}"
            );
        }
    }

    #[test]
    fn signature_known_answer() {
        // Computed independently: Python's
        // hmac.new(b"k", b'1700000000.{"a":1}', hashlib.sha256).hexdigest()
        assert_eq!(
            signature("k", "1700000000", br#"{"a":1}"#),
            "sha256=1b6ad1bc9bf48c52ce01939866d5877c6cc4e87ddad27e16673cb8c4964394a3"
        );
    }
}
