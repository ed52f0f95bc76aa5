//! Seed 004 end to end over real HTTP against cx-sim: validation before any
//! request, idempotent execution, polling, extraction, classified errors and
//! the audit record.

// Integration tests may unwrap: a panic is the failure report.
#![allow(clippy::unwrap_used)]

use std::sync::Arc;
use std::time::Duration;

use cx_audit::{AuditRecord, AuditSink, MemorySink};
use cx_dataaction::{
    ActionId, Client, Config, Decimal, ErrorClass, ErrorKind, Extraction, Payload, RunReport,
    Typed, payload_hash,
};
use cx_sim::{Fault, FaultRule, JournalEntry, SEED_DATA_ACTION_ID, Sim};
use cx_testkit::{FailingSink, faults_hit, fragile_http, soak_http, status_fault};
use futures::StreamExt;
use serde_json::{Value, json};

#[path = "run/extraction.rs"]
mod extraction;

struct Ctx {
    sim: Sim,
    client: Client,
    audit: Arc<MemorySink>,
}

impl Ctx {
    async fn start() -> Self {
        Self::with(Config::default(), None).await
    }

    async fn with(config: Config, sink: Option<Arc<dyn AuditSink>>) -> Self {
        let sim = Sim::start().await.unwrap();
        let (http, _tokens) = cx_testkit::connect(&sim);
        let audit = Arc::new(MemorySink::new());
        let client = Client::new(http, config).with_audit(sink.unwrap_or_else(|| audit.clone()));
        Self { sim, client, audit }
    }

    /// A simulator from `builder` and a client with runtime settings `http`.
    async fn on(builder: cx_sim::SimBuilder, http: cx_http::Config, config: Config) -> Self {
        let sim = builder.start().await.unwrap();
        let mut tenant = cx_testkit::tenant(&sim);
        tenant.http = http;
        let (http, _tokens) = tenant.connect().unwrap();
        let audit = Arc::new(MemorySink::new());
        let client = Client::new(http, config).with_audit(audit.clone());
        Self { sim, client, audit }
    }

    /// Seed 004's example run of `id` with its three extraction paths.
    async fn run_seed(&self, id: &ActionId) -> Result<RunReport, cx_dataaction::Error> {
        self.client
            .run(id, seed_payload())
            .extract(Extraction::seed())
            .send()
            .await
    }

    /// The error of a run of `id` with the seed payload that may wait
    /// `max_wait` (panics when the run succeeds).
    async fn run_err(&self, id: &ActionId, max_wait: Duration) -> cx_dataaction::Error {
        self.client
            .run(id, seed_payload())
            .max_wait(max_wait)
            .send()
            .await
            .unwrap_err()
    }

    /// API requests (token calls excluded).
    fn api(&self) -> Vec<JournalEntry> {
        self.sim
            .journal()
            .into_iter()
            .filter(|e| e.path.starts_with("/api/"))
            .collect()
    }

    fn executes(&self) -> Vec<JournalEntry> {
        self.api()
            .into_iter()
            .filter(|e| e.method == "POST" && e.path.ends_with("/execute"))
            .collect()
    }

    /// The one audit record written so far, as an `ExecutionAudit` JSON.
    fn only_audit(&self) -> Value {
        let records: Vec<AuditRecord> = self.audit.records();
        assert_eq!(records.len(), 1, "{records:?}");
        assert_eq!(records[0].event_type.as_str(), "DATA_ACTION_EXECUTED");
        assert!(records[0].verify_hash());
        records[0].payload().clone()
    }
}

fn seed_id() -> ActionId {
    ActionId::new(SEED_DATA_ACTION_ID).unwrap()
}

/// Seed 004's example payload.
fn seed_payload() -> Payload {
    Payload::new("v2.1.0")
        .param("customerId", json!("CUST-8842"))
        .param("interactionType", json!("voice"))
        .param("thresholdScore", json!(0.85))
        .env("region", "us-east-1")
        .env("environment", "production")
        .timeout_ms(45_000)
}

/// The seed payload without input parameter `name`.
fn seed_without(name: &str) -> Payload {
    let mut p = seed_payload();
    p.input_parameters.remove(name);
    p
}

/// The seed payload with another version id.
fn seed_with_version(version_id: &str) -> Payload {
    let mut p = seed_payload();
    p.version_id = version_id.into();
    p
}

#[tokio::test]
async fn seed_example_returns_typed_values_and_an_audit_record() {
    let at = chrono::DateTime::parse_from_rfc3339("2024-05-01T12:00:00.123Z")
        .unwrap()
        .to_utc();
    let config = Config::default().with_clock(Arc::new(cx_http::FixedClock(at)));
    let ctx = Ctx::with(config, None).await;
    let id = seed_id();
    let report = ctx.run_seed(&id).await.unwrap();
    let risk = &report.values["riskScore"];
    assert!(matches!(risk, Typed::Decimal(_)), "{risk:?}");
    let raw = report.job.output.as_ref().unwrap()["assessment"]["riskScore"].clone();
    assert_eq!(
        risk.as_decimal(),
        raw.as_str().unwrap().parse::<Decimal>().ok()
    );
    assert!(matches!(report.values["fraudFlag"], Typed::Bool(_)));
    assert!(matches!(
        report.values["processedTimestamp"],
        Typed::String(_)
    ));

    let audit = ctx.only_audit();
    assert_eq!(audit["jobId"], report.job.job_id.as_str());
    assert_eq!(audit["status"], "COMPLETED");
    assert_eq!(audit["errorClassification"], "NONE");
    assert_eq!(audit["complianceTag"], "GDPR-CCPA-AUDIT");
    // The entry and its record are stamped by the config's clock.
    assert_eq!(audit["timestamp"], "2024-05-01T12:00:00.123Z");
    assert_eq!(ctx.audit.records()[0].timestamp, at);
    assert_eq!(audit["payloadHash"], payload_hash(&seed_payload()).as_str());
    assert!(audit["latencyMs"].as_f64().unwrap() >= 500.0, "{audit}");
    assert_eq!(serde_json::to_value(&report.audit).unwrap(), audit);

    // Definition read, one execute with the key, then job reads.
    let api = ctx.api();
    assert_eq!(api[0].method, "GET");
    assert_eq!(
        api[0].path,
        format!("/api/v2/dataactions/{SEED_DATA_ACTION_ID}")
    );
    let executes = ctx.executes();
    assert_eq!(executes.len(), 1);
    assert_eq!(
        executes[0].idempotency_key.as_deref(),
        Some(report.idempotency_key.as_str())
    );
    assert!(
        api[2..]
            .iter()
            .all(|e| e.method == "GET" && e.path.contains("/jobs/"))
    );
    assert_eq!(api.len(), 2 + report.polls as usize);
}

#[tokio::test]
async fn invalid_input_is_rejected_before_any_request() {
    let ctx = Ctx::start().await;
    let id = seed_id();
    let cases = [
        (
            seed_without("interactionType"),
            "inputParameters.interactionType",
        ),
        (seed_payload().timeout_ms(999), "executionTimeoutMs"),
        (seed_payload().timeout_ms(60_001), "executionTimeoutMs"),
        (seed_with_version("2.1.0"), "versionId"),
        (seed_with_version("v2.1"), "versionId"),
    ];
    for (payload, field) in cases {
        let err = ctx
            .client
            .run(&id, payload)
            .required(["customerId", "interactionType"])
            .send()
            .await
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Validation, "{field}: {err}");
        assert!(err.to_string().contains(field), "{field}: {err}");
        assert_eq!(err.violations()[0].field, field);
        let audit = err.audit().unwrap();
        assert_eq!(audit.error_classification, ErrorClass::Validation);
        assert_eq!(audit.job_id, "UNKNOWN");
    }
    assert!(ctx.api().is_empty(), "{:?}", ctx.api());
    assert_eq!(ctx.audit.len(), 5);
}

#[tokio::test]
async fn the_definition_supplies_required_parameters_and_versions() {
    let ctx = Ctx::start().await;
    let id = seed_id();
    for (payload, field) in [
        (seed_without("customerId"), "inputParameters.customerId"),
        (seed_with_version("v9.0.0"), "versionId"),
    ] {
        let err = ctx.client.run(&id, payload).send().await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Validation, "{err}");
        assert_eq!(err.violations()[0].field, field, "{err}");
    }
    // Only the definition was read; nothing was executed.
    assert!(ctx.executes().is_empty());
    assert!(
        ctx.api().iter().all(|e| e.method == "GET"),
        "{:?}",
        ctx.api()
    );
}

#[tokio::test]
async fn failed_and_timed_out_jobs_are_classified_with_their_detail() {
    let ctx = Ctx::start().await;
    let cases = [
        (
            "DA-FAIL-0001",
            ErrorKind::Domain(cx_dataaction::DataActionKind::JobFailed),
            ErrorClass::Compute,
            "FAILED",
            "scoring service",
        ),
        (
            "DA-TIMEOUT-0001",
            ErrorKind::Domain(cx_dataaction::DataActionKind::JobTimedOut),
            ErrorClass::Timeout,
            "TIMED_OUT",
            "time limit",
        ),
    ];
    for (action, kind, class, status, detail) in cases {
        let id = ActionId::new(action).unwrap();
        let err = ctx.run_seed(&id).await.unwrap_err();
        assert_eq!(err.kind(), kind, "{err}");
        assert!(err.error_detail().unwrap().contains(detail), "{err:?}");
        assert!(err.to_string().contains(detail), "{err}");
        let audit = err.audit().unwrap();
        assert_eq!(audit.error_classification, class);
        assert_eq!(audit.status, status);
        assert_eq!(audit.error.as_deref(), err.error_detail());
        assert_eq!(Some(audit.job_id.as_str()), err.job_id());
    }
    let stored: Vec<Value> = ctx
        .audit
        .records()
        .into_iter()
        .map(cx_audit::AuditRecord::into_payload)
        .collect();
    assert!(
        stored[0]["error"]
            .as_str()
            .unwrap()
            .contains("scoring service")
    );
}

#[tokio::test]
async fn a_job_stuck_in_queued_ends_with_a_timeout_naming_it() {
    let ctx = Ctx::start().await;
    let id = ActionId::new("DA-QUEUED-0001").unwrap();
    let err = ctx.run_err(&id, Duration::from_millis(600)).await;
    assert_eq!(err.kind(), ErrorKind::WaitTimeout, "{err}");
    let job = err.job_id().unwrap().to_owned();
    assert!(err.to_string().contains(&job), "{err}");
    assert!(err.to_string().contains("QUEUED"), "{err}");
    let audit = err.audit().unwrap();
    assert_eq!(audit.error_classification, ErrorClass::Timeout);
    assert_eq!(audit.job_id, job);
}

#[tokio::test]
async fn a_lost_execute_response_is_retried_without_a_second_job() {
    let ctx = Ctx::start().await;
    ctx.sim.set_faults(vec![
        FaultRule::new(
            "POST /api/v2/dataactions/*/execute",
            Fault::StatusAfterProcessing { status: 500 },
        )
        .with_times(1),
    ]);
    let id = seed_id();
    let report = ctx.run_seed(&id).await.unwrap();
    let executes = ctx.executes();
    assert_eq!(executes.len(), 2, "{executes:?}");
    assert_eq!(executes[0].status, 500);
    assert_eq!(executes[1].status, 201);
    assert_eq!(executes[0].idempotency_key, executes[1].idempotency_key);
    let jobs = ctx.client.jobs(&id).await.unwrap();
    assert_eq!(jobs.len(), 1, "{jobs:?}");
    assert_eq!(jobs[0].job_id, report.job.job_id);
}

#[tokio::test]
async fn compute_unavailable_is_retried_then_classified() {
    // No circuit breaker: the 503 storm below would open it (and then fail
    // the last read); this test is about the run's outcome.
    let http = cx_http::Config::default().with_breaker(None);
    let ctx = Ctx::on(Sim::builder(), http, Config::default()).await;
    let id = seed_id();
    let rule = |times| {
        FaultRule::new("POST /api/v2/dataactions/*/execute", status_fault(503)).with_times(times)
    };
    ctx.sim.set_faults(vec![rule(2)]);
    let report = ctx.client.run(&id, seed_payload()).send().await.unwrap();
    assert_eq!(ctx.executes().len(), 3);
    assert_eq!(ctx.client.jobs(&id).await.unwrap().len(), 1);
    assert_eq!(report.audit.error_classification, ErrorClass::None);

    // 503 until the max wait: no answer settled the execute, so its
    // outcome is unknown (the job could exist), not a failure. The wait is
    // long enough that a loaded machine still sees 503s before it ends.
    ctx.sim.set_faults(vec![rule(1000)]);
    let err = ctx.run_err(&id, Duration::from_secs(2)).await;
    assert_eq!(err.kind(), ErrorKind::OutcomeUnknown, "{err}");
    assert!(err.to_string().starts_with("unknown outcome"), "{err}");
    assert_eq!(
        err.audit().unwrap().error_classification,
        ErrorClass::Network
    );
    assert_eq!(err.audit().unwrap().status, "ABORTED");
    assert_eq!(ctx.client.jobs(&id).await.unwrap().len(), 1);
}

#[tokio::test]
async fn the_webhook_outcome_is_recorded_not_swallowed() {
    let probe = Sim::start().await.unwrap();
    let engine = format!("{}/_sim/webhooks/engine", probe.base_url());
    let broken = format!("{}/_sim/no-such-hook", probe.base_url());
    for (url, delivered) in [(engine, true), (broken, false)] {
        let config = Config::default().with_webhook_url(url.clone());
        let ctx = Ctx::with(config, None).await;
        let report = ctx
            .client
            .run(&seed_id(), seed_payload())
            .send()
            .await
            .unwrap();
        let hook = report.audit.webhook.clone().unwrap();
        assert_eq!(hook.url, url);
        assert_eq!(hook.delivered, delivered, "{hook:?}");
        if !delivered {
            assert_eq!(hook.status, Some(404));
            assert!(hook.error.is_some());
        }
        assert_eq!(ctx.only_audit()["webhook"]["delivered"], delivered);
    }
    let received = probe.webhooks("engine");
    assert_eq!(received.len(), 1);
    assert_eq!(received[0]["errorClassification"], "NONE");
    assert!(received[0].get("webhook").is_none());
    // The engine is not CXone: no bearer token went to it.
    assert!(probe.journal().is_empty());
}

#[tokio::test]
async fn a_failing_audit_sink_is_reported_with_the_result() {
    let ctx = Ctx::with(Config::default(), Some(Arc::new(FailingSink))).await;
    let err = ctx.run_seed(&seed_id()).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Audit, "{err}");
    let report = err.report().unwrap();
    assert!(matches!(report.values["fraudFlag"], Typed::Bool(_)));
    assert!(err.audit_error().is_some());
}

const JOB_ROUTE: &str = "GET /api/v2/dataactions/*/jobs/*";
const EXECUTE_ROUTE: &str = "POST /api/v2/dataactions/*/execute";

#[tokio::test]
async fn job_polls_that_exhaust_a_calls_retries_do_not_end_the_run() {
    let ctx = Ctx::on(Sim::builder(), fragile_http(), Config::default()).await;
    ctx.sim.set_faults(vec![
        FaultRule::new(JOB_ROUTE, status_fault(503)).with_times(4),
        FaultRule::new(JOB_ROUTE, Fault::ConnectionReset).with_times(2),
    ]);
    let report = ctx.run_seed(&seed_id()).await.unwrap();
    assert_eq!(report.job.status.as_str(), "COMPLETED");
    let statuses: Vec<u16> = ctx
        .api()
        .iter()
        .filter(|e| e.path.contains("/jobs/"))
        .map(|e| e.status)
        .collect();
    assert_eq!(statuses[..6], [503, 503, 503, 503, 0, 0], "{statuses:?}");
    assert_eq!(ctx.only_audit()["errorClassification"], json!("NONE"));
}

#[tokio::test]
async fn job_polls_failing_until_the_poll_limit_are_an_unknown_outcome() {
    let ctx = Ctx::on(Sim::builder(), fragile_http(), Config::default()).await;
    ctx.sim
        .set_faults(vec![FaultRule::new(JOB_ROUTE, status_fault(502))]);
    let err = ctx
        .client
        .run(&seed_id(), seed_payload())
        .poller(
            Config::default_poller()
                .with_max_polls(Some(3))
                .with_deadline(None),
        )
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::OutcomeUnknown, "{err}");
    assert!(err.is_outcome_unknown());
    let job = err.job_id().unwrap().to_owned();
    let text = err.to_string();
    assert!(
        text.starts_with("unknown outcome") && text.contains(&job),
        "{text}"
    );
    let audit = err.audit().unwrap();
    assert_eq!(audit.job_id, job);
    assert_eq!(audit.error_classification, ErrorClass::Network);
    assert!(
        audit
            .error
            .as_deref()
            .is_some_and(|e| e.starts_with("unknown outcome"))
    );
    // The job is alive server-side and completes: it was not a failure.
    ctx.sim.set_faults(vec![]);
    ctx.sim.advance_clock(Duration::from_secs(5));
    let seen = ctx.client.job(&seed_id(), &job).await.unwrap();
    assert_eq!(seen.status.as_str(), "COMPLETED");
}

#[tokio::test]
async fn a_lost_execute_response_is_recovered_as_the_same_job() {
    let ctx = Ctx::on(Sim::builder(), fragile_http(), Config::default()).await;
    ctx.sim.set_faults(vec![
        FaultRule::new(EXECUTE_ROUTE, Fault::StatusAfterProcessing { status: 500 }).with_times(4),
    ]);
    let report = ctx.run_seed(&seed_id()).await.unwrap();
    let executes = ctx.executes();
    assert_eq!(
        executes.iter().map(|e| e.status).collect::<Vec<_>>(),
        [500, 500, 500, 500, 201]
    );
    ctx.sim.set_faults(vec![]);
    let jobs = ctx.client.jobs(&seed_id()).await.unwrap();
    assert_eq!(jobs.len(), 1, "one job, not 5");
    assert_eq!(jobs[0].job_id, report.job.job_id);
}

#[tokio::test]
async fn an_unreadable_201_to_the_execute_is_an_unknown_outcome_naming_the_key() {
    // The job is created, then its 201 answer is replaced by one that is
    // not a job: the caller and the audit record must get the key that
    // finds it, not a compute failure.
    let ctx = Ctx::start().await;
    ctx.sim.set_faults(vec![
        FaultRule::new(EXECUTE_ROUTE, Fault::StatusAfterProcessing { status: 201 }).with_times(1),
    ]);
    let key = "execute-with-an-unreadable-201";
    let id = seed_id();
    let run = || ctx.client.run(&id, seed_payload()).idempotency_key(key);
    let err = run().send().await.unwrap_err();
    assert!(err.is_outcome_unknown(), "{:?}: {err}", err.kind());
    let text = err.to_string();
    assert!(
        text.contains(key) && text.contains("answered 201"),
        "{text}"
    );
    let audit = ctx.only_audit();
    assert_eq!(audit["errorClassification"], json!("NETWORK"), "{audit}");
    assert!(
        audit["error"].as_str().is_some_and(|e| e.contains(key)),
        "{audit}"
    );
    // The key finds it: the same run again is the same job.
    let report = run().send().await.unwrap();
    let jobs = ctx.client.jobs(&seed_id()).await.unwrap();
    assert_eq!(jobs.len(), 1, "one job, not 2: {jobs:?}");
    assert_eq!(jobs[0].job_id, report.job.job_id);
}

#[tokio::test]
async fn an_unusable_job_id_in_a_201_is_an_unknown_outcome_naming_the_key() {
    let http = cx_testkit::canned_http(&[(
        "POST /api/v2/dataactions/DA-123456/execute",
        201,
        r#"{"jobId": "job 1", "status": "QUEUED"}"#,
    )]);
    let audit = Arc::new(MemorySink::new());
    let client = Client::new(http, Config::default()).with_audit(audit.clone());
    let key = "execute-with-an-unusable-id";
    let err = client
        .run(&seed_id(), seed_payload())
        .required(Vec::<String>::new())
        .idempotency_key(key)
        .send()
        .await
        .unwrap_err();
    assert!(err.is_outcome_unknown(), "{:?}: {err}", err.kind());
    let text = err.to_string();
    assert!(text.contains(key) && text.contains("job 1"), "{text}");
    let records = audit.records();
    assert_eq!(records.len(), 1);
    let error = records[0].payload()["error"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    assert!(error.contains(key), "{error}");
}

#[tokio::test]
async fn an_unknown_job_status_ends_the_wait_at_once_naming_it() {
    let ctx = Ctx::on(Sim::builder(), fragile_http(), Config::default()).await;
    ctx.sim.set_faults(vec![FaultRule::new(
        JOB_ROUTE,
        Fault::ReportStatus {
            value: "PAUSED".to_owned(),
        },
    )]);
    let err = ctx.run_seed(&seed_id()).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::UnknownStatus, "{err}");
    let job = err.job_id().unwrap().to_owned();
    assert!(
        err.to_string().contains("PAUSED") && err.to_string().contains(&job),
        "{err}"
    );
    let polls = ctx
        .api()
        .iter()
        .filter(|e| e.path.contains("/jobs/"))
        .count();
    assert_eq!(polls, 1, "the first unknown status ends the wait");
    let audit = ctx.only_audit();
    let error = audit["error"].as_str().unwrap_or_default();
    assert!(
        error.starts_with("unknown outcome") && error.contains("PAUSED"),
        "{audit}"
    );
}

#[tokio::test]
async fn soak_60_runs_under_the_fault_mix_all_complete_exactly_once() {
    const RUNS: usize = 60;
    let ctx = Ctx::on(
        Sim::builder()
            .seed(4)
            .journal_capacity(100_000)
            .faults(cx_sim::soak_faults()),
        soak_http(),
        Config::default(),
    )
    .await;
    let id = ActionId::new("DA-SOAK-0001").unwrap();
    ctx.sim.add_data_action(
        cx_sim::DEFAULT_TENANT,
        cx_sim::DataActionFixture::new(id.as_str(), "soak")
            .with_duration(Duration::from_millis(30)),
    );
    let results: Vec<_> = futures::stream::iter(0..RUNS)
        .map(|_| {
            ctx.client
                .run(&id, seed_payload())
                .extract(Extraction::seed())
                .send()
        })
        .buffer_unordered(20)
        .collect()
        .await;
    let mut jobs = std::collections::BTreeSet::new();
    for r in results {
        let report = r.unwrap();
        assert_eq!(report.job.status.as_str(), "COMPLETED");
        jobs.insert(report.job.job_id);
    }
    assert_eq!(jobs.len(), RUNS);
    let faults = faults_hit(&ctx.sim);
    assert!(faults > RUNS, "the mix must have hit: {faults}");
    ctx.sim.set_faults(vec![]);
    let server: std::collections::BTreeSet<String> = ctx
        .client
        .jobs(&id)
        .await
        .unwrap()
        .into_iter()
        .map(|j| j.job_id)
        .collect();
    assert_eq!(server, jobs, "0 duplicates, 0 orphans");
    let records = ctx.audit.records();
    assert_eq!(records.len(), RUNS);
    assert!(
        records
            .iter()
            .all(|r| r.payload()["errorClassification"] == json!("NONE"))
    );
}

/// Issue 13: a run learns what the action's jobs take on the server
/// (`createdAt` → `completedAt`) and the next run polls the job once, just
/// after that, instead of on the schedule from its start.
#[tokio::test]
async fn a_later_run_polls_the_job_once_after_the_learned_duration() {
    let ctx = Ctx::start().await;
    let id = seed_id();
    let durations = &ctx.client.config().durations;
    assert_eq!(durations.expected(id.as_str()), None);
    let first = ctx.run_seed(&id).await.unwrap();
    let took = first.job.server_duration();
    assert!(took.is_some_and(|d| !d.is_zero()), "{:?}", first.job);
    assert_eq!(durations.expected(id.as_str()), took);
    let second = ctx.run_seed(&id).await.unwrap();
    assert_eq!(second.polls, 1, "one job poll on the second run");
    let job_polls = ctx
        .api()
        .iter()
        .filter(|e| e.method == "GET" && e.path.contains("/jobs/"))
        .count();
    assert_eq!(job_polls, first.polls as usize + 1);
}
