//! Test support shared by the workspace's integration tests: a simulator with
//! a raw HTTP client and a token ([`Ctx`]), an SDK runtime authenticated
//! against a simulator ([`sdk_http`]), fragile runtime settings for fault
//! tests, an audit sink that always fails ([`FailingSink`]), and journal
//! queries. Everything goes over real HTTP.
//!
//! Helpers unwrap: a panic is the test failure report. Unpublished.

#![allow(clippy::unwrap_used)]

use std::time::Duration;

use reqwest::{RequestBuilder, Response, StatusCode};
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

pub use cx_sim::{
    DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, Fault, FaultRule, JournalEntry, READONLY_CLIENT_ID,
    READONLY_CLIENT_SECRET, SEED_WORKFLOW_ID, Sim, SimBuilder, TENANT_B_CLIENT_ID,
    TENANT_B_CLIENT_SECRET,
};

/// A reqwest client with a 10 s timeout (installs the rustls crypto provider
/// reqwest needs).
pub fn http() -> reqwest::Client {
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap()
}

/// Sends `req` (panics on a transport error).
pub async fn fetch(req: RequestBuilder) -> Response {
    req.send().await.unwrap()
}

/// Sends `req` and parses the answer as JSON, whatever its status.
pub async fn send_json<T: DeserializeOwned>(req: RequestBuilder) -> T {
    fetch(req).await.json().await.unwrap()
}

/// A running simulator plus a raw client and a token for the default client.
pub struct Ctx {
    /// The simulator.
    pub sim: Sim,
    /// A raw HTTP client.
    pub http: reqwest::Client,
    /// An access token of [`DEFAULT_CLIENT_ID`].
    pub token: String,
}

impl Ctx {
    /// A simulator with the default settings.
    pub async fn new() -> Self {
        Self::with(Sim::start().await.unwrap()).await
    }

    /// A simulator started from `builder`.
    pub async fn start(builder: SimBuilder) -> Self {
        Self::with(builder.start().await.unwrap()).await
    }

    /// A default simulator with one fault rule: `fault` on `route`
    /// (`"METHOD /path/glob"`).
    pub async fn with_fault(route: &str, fault: Fault) -> Self {
        let ctx = Self::new().await;
        ctx.sim.set_faults(vec![FaultRule::new(route, fault)]);
        ctx
    }

    /// Wraps a started `sim`.
    pub async fn with(sim: Sim) -> Self {
        let http = http();
        let token = token(&http, &sim, DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET).await;
        Self { sim, http, token }
    }

    /// The absolute URL of `path` on the simulator.
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.sim.base_url())
    }

    /// GETs `path` with the token.
    pub async fn get(&self, path: &str) -> Response {
        fetch(self.http.get(self.url(path)).bearer_auth(&self.token)).await
    }

    /// GETs `path` with the token and parses the body as JSON (any status).
    pub async fn get_json(&self, path: &str) -> Value {
        self.get(path).await.json().await.unwrap()
    }

    /// POSTs `body` as JSON to `path` with the token.
    pub async fn post(&self, path: &str, body: &Value) -> Response {
        fetch(
            self.http
                .post(self.url(path))
                .bearer_auth(&self.token)
                .json(body),
        )
        .await
    }

    /// POSTs `body` to `path` and parses the answer as JSON (any status).
    pub async fn post_json(&self, path: &str, body: &Value) -> Value {
        self.post(path, body).await.json().await.unwrap()
    }

    /// Creates an execution of `workflow` and returns the 201 body.
    pub async fn execute(&self, workflow: &str, input: Value) -> Value {
        let resp = self
            .post(
                &format!("/api/v2/workflows/{workflow}/executions"),
                &json!({ "input": input }),
            )
            .await;
        assert_eq!(resp.status(), StatusCode::CREATED);
        resp.json().await.unwrap()
    }

    /// Reads execution `id` of `workflow` (expects 200).
    pub async fn execution(&self, workflow: &str, id: &str) -> Value {
        let resp = self
            .get(&format!("/api/v2/workflows/{workflow}/executions/{id}"))
            .await;
        assert_eq!(resp.status(), StatusCode::OK);
        resp.json().await.unwrap()
    }

    /// Reads the execution until it leaves PENDING/RUNNING, moving the
    /// simulator's virtual clock 50 ms between reads (no real sleep); panics
    /// after 5 s of virtual time.
    pub async fn wait_terminal(&self, workflow: &str, id: &str) -> Value {
        for _ in 0..100 {
            let exec = self.execution(workflow, id).await;
            if !matches!(exec["status"].as_str(), Some("PENDING" | "RUNNING")) {
                return exec;
            }
            self.sim.advance_clock(Duration::from_millis(50));
        }
        panic!("execution {id} did not finish within 5 s of virtual time");
    }
}

/// Fetches a token with form-body credentials from `/oauth/token` (expects 200).
pub async fn token(http: &reqwest::Client, sim: &Sim, id: &str, secret: &str) -> String {
    let resp = http
        .post(format!("{}/oauth/token", sim.base_url()))
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", id),
            ("client_secret", secret),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    let body: Value = resp.json().await.unwrap();
    body["access_token"].as_str().unwrap().to_owned()
}

/// A valid input for the seed workflow (seed 000) with `priorityScore` = `score`.
pub fn seed_input(score: u32) -> Value {
    json!({
        "customerId": "CUST-99887",
        "priorityScore": score,
        "requiresCallback": true,
        "routingMetadata": {"channel": "voice", "queue": "sales"}
    })
}

/// Seed 001's example trigger of `workflow` ("Complete Working Example"):
/// priority 2, its four typed context variables and two metadata entries.
///
/// # Errors
/// The builder's validation error for a bad `workflow` id.
pub fn seed_trigger(workflow: &str) -> Result<cx_workflow::TriggerPayload, cx_workflow::Error> {
    use cx_workflow::ContextType;
    cx_workflow::TriggerPayload::builder(workflow)
        .priority(2)
        .context("customerId", json!("CUST-99887"), ContextType::String)
        .context("priorityScore", json!("85"), ContextType::Integer)
        .context("requiresCallback", json!("true"), ContextType::Boolean)
        .context(
            "routingMetadata",
            json!({"channel": "voice", "queue": "sales"}),
            ContextType::Object,
        )
        .metadata("sourceSystem", "erp_sync_module")
        .metadata("batchId", "BATCH-001")
        .build()
}

/// A trigger of `workflow` whose only context variable is the string
/// `customerId` = `CUST-{n}` (the soaks' payload).
///
/// # Errors
/// The builder's validation error for a bad `workflow` id.
pub fn customer_trigger(
    workflow: &str,
    n: usize,
) -> Result<cx_workflow::TriggerPayload, cx_workflow::Error> {
    cx_workflow::TriggerPayload::builder(workflow)
        .context(
            "customerId",
            json!(format!("CUST-{n}")),
            cx_workflow::ContextType::String,
        )
        .build()
}

/// The SDK tenant settings for `sim`'s default client (default runtime settings).
pub fn tenant(sim: &Sim) -> cx_auth::Tenant {
    cx_auth::Tenant::new(sim.base_url(), DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET)
}

/// Client-credentials settings for `sim`'s default client (its token URL,
/// id and secret), to finish with more settings and `build()`.
pub fn sim_credentials(sim: &Sim) -> cx_auth::ClientCredentialsBuilder {
    cx_auth::ClientCredentials::builder()
        .token_url(format!("{}/oauth/token", sim.base_url()))
        .client_id(DEFAULT_CLIENT_ID)
        .client_secret(DEFAULT_CLIENT_SECRET)
}

/// The SDK runtime and its token cache for `sim`'s default client.
pub fn connect(sim: &Sim) -> (cx_http::Client, std::sync::Arc<cx_auth::TokenCache>) {
    tenant(sim).connect().unwrap()
}

/// The SDK runtime (token cache included) authenticated against `sim` as the
/// default client, with the default runtime settings.
pub fn sdk_http(sim: &Sim) -> cx_http::Client {
    connect(sim).0
}

/// A runtime with the default settings whose base URL is
/// `http://127.0.0.1:9` (discard; nothing listens there), for tests that
/// build clients, requests and futures but never send them.
pub fn unsent_http() -> cx_http::Client {
    cx_http::Client::builder()
        .base_url("http://127.0.0.1:9")
        .build()
        .unwrap()
}

/// Runtime settings for fault tests: 2 attempts per call (so a few faults in
/// a row exhaust one call), backoff 5 ms up to 20 ms, no circuit breaker.
pub fn fragile_http() -> cx_http::Config {
    cx_http::Config::default()
        .with_retry(
            cx_http::RetryPolicy::default()
                .with_max_attempts(2)
                .with_initial_backoff(Duration::from_millis(5))
                .with_max_backoff(Duration::from_millis(20)),
        )
        .with_breaker(None)
}

/// Runtime settings for the fault soaks: the default retries with backoff
/// 5 ms up to 50 ms, and a circuit breaker that reopens after 50 ms (a soak
/// waits in real time).
pub fn soak_http() -> cx_http::Config {
    cx_http::Config::default()
        .with_retry(
            cx_http::RetryPolicy::default()
                .with_initial_backoff(Duration::from_millis(5))
                .with_max_backoff(Duration::from_millis(50)),
        )
        .with_breaker(Some(
            cx_http::BreakerConfig::default().with_open_for(Duration::from_millis(50)),
        ))
}

/// An audit sink whose every write fails with
/// [`cx_audit::ErrorKind::Sink`] ("disk full"); flushing succeeds.
pub struct FailingSink;

#[async_trait::async_trait]
impl cx_audit::AuditSink for FailingSink {
    async fn write(&self, _: &cx_audit::AuditRecord) -> Result<(), cx_audit::Error> {
        Err(cx_audit::Error::new(cx_audit::ErrorKind::Sink, "disk full"))
    }

    async fn flush(&self) -> Result<(), cx_audit::Error> {
        Ok(())
    }
}

/// A [`Fault::Status`] answering `status` without a `Retry-After`.
pub fn status_fault(status: u16) -> Fault {
    Fault::Status {
        status,
        retry_after: None,
    }
}

/// How many requests in `sim`'s journal a fault rule hit.
pub fn faults_hit(sim: &Sim) -> usize {
    sim.journal().iter().filter(|e| e.fault.is_some()).count()
}

/// Every audit record of the JSONL day files in `dir`, oldest first, after
/// checking that every file verifies (panics otherwise, with the reports).
pub fn audit_records(dir: &std::path::Path) -> Vec<cx_audit::AuditRecord> {
    let reports = cx_audit::verify_dir(dir).unwrap();
    assert!(
        reports.iter().all(cx_audit::VerifyReport::is_ok),
        "{reports:#?}"
    );
    reports
        .iter()
        .flat_map(|r| cx_audit::read_jsonl(&r.path).unwrap())
        .collect()
}

/// Journal entries of `sim` with `method` whose path satisfies `path`.
pub fn sent(sim: &Sim, method: &str, path: impl Fn(&str) -> bool) -> Vec<JournalEntry> {
    sim.journal()
        .into_iter()
        .filter(|e| e.method == method && path(&e.path))
        .collect()
}

/// A stub server on 127.0.0.1, for answers the simulator cannot produce: it
/// reads each whole request (head and `Content-Length` body), then answers
/// `(status, JSON body)` as `answer` gives for the request's head, with
/// `ETag: "v1"` and `Connection: close`. A thread per connection, so tests
/// without a tokio runtime (the `cx` binary's) can use it. Returns its base
/// URL.
pub fn stub_server(answer: impl Fn(&str) -> (u16, String) + Send + Sync + 'static) -> String {
    use std::io::{Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let answer = std::sync::Arc::new(answer);
    std::thread::spawn(move || {
        for conn in listener.incoming() {
            let Ok(mut conn) = conn else { continue };
            let answer = answer.clone();
            std::thread::spawn(move || {
                let mut got = Vec::new();
                let mut buf = [0u8; 8192];
                let head = loop {
                    let Ok(n) = conn.read(&mut buf) else { return };
                    if n == 0 {
                        return;
                    }
                    got.extend_from_slice(&buf[..n]);
                    let text = String::from_utf8_lossy(&got);
                    let Some(end) = text.find("\r\n\r\n") else {
                        continue;
                    };
                    let len: usize = text[..end]
                        .lines()
                        .find_map(|l| {
                            let (name, value) = l.split_once(':')?;
                            name.eq_ignore_ascii_case("content-length")
                                .then(|| value.trim().parse().ok())?
                        })
                        .unwrap_or(0);
                    if got.len() >= end + 4 + len {
                        break text[..end].to_owned();
                    }
                };
                let (status, body) = answer(&head);
                let _ = write!(
                    conn,
                    "HTTP/1.1 {status} X\r\ncontent-type: application/json\r\netag: \"v1\"\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                    body.len()
                );
            });
        }
    });
    url
}

/// An unauthenticated runtime for a [`stub_server`] that answers each
/// request whose request line (`"POST /api/v2/..."`) starts with one of
/// `answers`' prefixes with that answer's status and JSON body, and anything
/// else with 404: for the byte-level oddities the simulator cannot produce
/// (e.g. an id that is not a path segment).
pub fn canned_http(answers: &[(&str, u16, &str)]) -> cx_http::Client {
    let answers: Vec<(String, u16, String)> = answers
        .iter()
        .map(|(p, s, b)| ((*p).to_owned(), *s, (*b).to_owned()))
        .collect();
    let url = stub_server(move |head| {
        answers
            .iter()
            .find(|(prefix, _, _)| head.starts_with(prefix.as_str()))
            .map_or((404, r#"{"error":"not_found"}"#.to_owned()), |(_, s, b)| {
                (*s, b.clone())
            })
    });
    cx_http::Client::builder().base_url(url).build().unwrap()
}
