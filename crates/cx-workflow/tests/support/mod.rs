//! Shared helpers for the cx-workflow integration tests: a simulator, a
//! workflow client authenticated against it, an in-memory audit sink, fast
//! pollers and journal queries. Everything goes over real HTTP.

#![allow(dead_code)]

use std::sync::Arc;
use std::time::Duration;

use cx_audit::MemorySink;
use cx_http::Poller;
use cx_sim::{Fault, FaultRule, JournalEntry, Sim, SimBuilder};
use cx_workflow::{Client, Config, ExecutionReport, WorkflowId};
use serde_json::{Map, Value, json};

pub use cx_sim::{
    DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, READONLY_CLIENT_ID, READONLY_CLIENT_SECRET,
    SEED_WORKFLOW_ID,
};

/// Error type of the tests: anything, with `?`.
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;
/// Result of a test.
pub type TestResult = Result<(), BoxError>;

/// A running simulator, a workflow client for it and the client's audit sink.
pub struct Ctx {
    pub sim: Sim,
    pub client: Client,
    pub audit: Arc<MemorySink>,
}

/// A poller for tests: first poll at once, 25 ms ×1.5 up to 100 ms, 10 s deadline.
pub fn fast_poller() -> Poller {
    Poller::default()
        .with_initial_delay(Duration::from_millis(25))
        .with_max_delay(Duration::from_millis(100))
        .with_deadline(Some(Duration::from_secs(10)))
        .with_max_polls(Some(200))
}

/// [`fast_poller`] without a deadline, ending after `max_polls` polls
/// (`None`: never, which the client refuses).
pub fn counted_poller(max_polls: Option<u32>) -> Poller {
    fast_poller().with_max_polls(max_polls).with_deadline(None)
}

/// The default test config: the fast poller, no quota, no capacity check,
/// definitions read on every execution (the cache has its own test).
pub fn fast_config() -> Config {
    Config::default()
        .with_poller(fast_poller())
        .with_max_concurrent_instances(None)
        .with_definition_ttl(Duration::ZERO)
}

impl Ctx {
    /// A simulator whose runs take 60 ms, and [`fast_config`].
    pub async fn start() -> Result<Self, BoxError> {
        Self::with(Sim::builder(), fast_config()).await
    }

    /// As [`Ctx::start`], with one fault rule: `fault` on `route`
    /// (`"METHOD /path/glob"`).
    pub async fn with_fault(route: &str, fault: Fault) -> Result<Self, BoxError> {
        let ctx = Self::start().await?;
        ctx.sim.set_faults(vec![FaultRule::new(route, fault)]);
        Ok(ctx)
    }

    /// A default simulator (runs take 60 ms) and a client with `config`.
    pub async fn with_config(config: Config) -> Result<Self, BoxError> {
        Self::with(Sim::builder(), config).await
    }

    /// A simulator from `builder` (runs take 60 ms unless it says otherwise)
    /// and a client with `config`, authenticated as the default client.
    pub async fn with(builder: SimBuilder, config: Config) -> Result<Self, BoxError> {
        Self::with_client(
            builder,
            config,
            DEFAULT_CLIENT_ID,
            DEFAULT_CLIENT_SECRET,
            None,
        )
        .await
    }

    /// As [`Ctx::with`], authenticated as `client_id`, with runtime settings `http`.
    pub async fn with_client(
        builder: SimBuilder,
        config: Config,
        client_id: &str,
        secret: &str,
        http: Option<cx_http::Config>,
    ) -> Result<Self, BoxError> {
        let sim = builder
            .execution_duration(Duration::from_millis(60))
            .start()
            .await?;
        let mut tenant = cx_auth::Tenant::new(sim.base_url(), client_id, secret);
        if let Some(h) = http {
            tenant.http = h;
        }
        let (http, _tokens) = tenant.connect()?;
        let audit = Arc::new(MemorySink::new());
        let client = Client::new(http, config).with_audit(audit.clone());
        Ok(Self { sim, client, audit })
    }

    /// Runs the seed workflow with [`seed_input`] (the whole flow).
    pub async fn run_seed(&self) -> Result<ExecutionReport, cx_workflow::Error> {
        let id = WorkflowId::new(SEED_WORKFLOW_ID).expect("the seed workflow id is valid");
        self.client.run(&id).input(seed_input()).send().await
    }

    /// The error of [`Ctx::run_seed`] waiting with `poller`; a run that ends
    /// without one fails the test.
    pub async fn run_seed_err(&self, poller: Poller) -> Result<cx_workflow::Error, BoxError> {
        let id = wf(SEED_WORKFLOW_ID)?;
        match self
            .client
            .run(&id)
            .input(seed_input())
            .poller(poller)
            .send()
            .await
        {
            Ok(report) => fail(format!("the run was expected to fail: {report:?}")),
            Err(err) => Ok(err),
        }
    }

    /// API requests (token calls excluded) with `method`, in order.
    pub fn api_requests(&self, method: &str) -> Vec<JournalEntry> {
        self.sim
            .journal()
            .into_iter()
            .filter(|e| e.method == method && e.path.starts_with("/api/"))
            .collect()
    }

    /// API POSTs, in order.
    pub fn posts(&self) -> Vec<JournalEntry> {
        self.api_requests("POST")
    }

    /// Event types of the audit records written so far.
    pub fn audit_events(&self) -> Vec<String> {
        event_types(&self.audit)
    }

    /// The payload of the last audit record written, if any.
    pub fn last_audit_payload(&self) -> Option<Value> {
        self.audit
            .records()
            .pop()
            .map(cx_audit::AuditRecord::into_payload)
    }

    /// `GET path` (an API path and query) as JSON, straight from the API.
    pub async fn get_json(&self, path: &str) -> Result<Value, BoxError> {
        Ok(self
            .client
            .http()
            .link(cx_http::Method::GET, path)
            .send_json()
            .await?)
    }

    /// `totalCount` of `GET path` (any list endpoint), straight from the API.
    pub async fn total_count(&self, path: &str) -> Result<u64, BoxError> {
        let body = self.get_json(path).await?;
        body.get("totalCount")
            .and_then(Value::as_u64)
            .ok_or_else(|| format!("no totalCount in {body}").into())
    }
}

/// A workflow id, parsed.
pub fn wf(id: &str) -> Result<WorkflowId, BoxError> {
    Ok(WorkflowId::new(id)?)
}

/// The seeds' example input.
pub fn seed_input() -> Map<String, Value> {
    object(json!({
        "customerId": "CUST-99887",
        "priorityScore": 85,
        "requiresCallback": true,
        "routingMetadata": {"channel": "voice", "queue": "sales"}
    }))
}

/// The object inside `v` (empty for anything else).
pub fn object(v: Value) -> Map<String, Value> {
    match v {
        Value::Object(m) => m,
        _ => Map::new(),
    }
}

/// Field names of an error's violations.
pub fn fields(err: &cx_workflow::Error) -> Vec<String> {
    err.violations().iter().map(|v| v.field.clone()).collect()
}

/// Fail a test with `msg` (for `let ... else`).
pub fn fail<T>(msg: impl Into<String>) -> Result<T, BoxError> {
    Err(msg.into().into())
}

/// Event types of the records in `sink`, oldest first.
pub fn event_types(sink: &MemorySink) -> Vec<String> {
    sink.records()
        .iter()
        .map(|r| r.event_type.to_string())
        .collect()
}

/// A workflow client of `http` (e.g. a `cx_testkit::canned_http`) with
/// [`fast_config`], writing to a fresh in-memory audit sink, and that sink.
pub fn audited_client(http: cx_http::Client) -> (Client, Arc<MemorySink>) {
    let audit = Arc::new(MemorySink::new());
    let client = Client::new(http, fast_config()).with_audit(audit.clone());
    (client, audit)
}

/// Asserts `err` is an unknown outcome whose message names each of `names`
/// (the idempotency key, the id the server gave).
pub fn assert_unknown_outcome_naming(err: &cx_workflow::Error, names: &[&str]) {
    assert!(err.is_outcome_unknown(), "{:?}: {err}", err.kind());
    let text = err.to_string();
    assert!(names.iter().all(|n| text.contains(n)), "{text}");
}
