//! Fault injection: every fault kind is observable by a real HTTP client,
//! and probabilistic faults are deterministic from the seed.

use std::time::{Duration, Instant, SystemTime};

use crate::support::*;
use cx_sim::{Fault, FaultRule, RetryAfter};
use reqwest::StatusCode;
use serde_json::{Value, json};

fn workflow_path() -> String {
    format!("/api/v2/workflows/{SEED_WORKFLOW_ID}")
}

fn executions_path() -> String {
    format!("/api/v2/workflows/{SEED_WORKFLOW_ID}/executions")
}

async fn execution_count(ctx: &Ctx) -> u64 {
    let list: Value = ctx.get_json(&executions_path()).await;
    list["totalCount"].as_u64().unwrap()
}

/// `fault` on the next request to `route` only.
fn fault_once(ctx: &Ctx, route: &str, fault: Fault) {
    ctx.sim
        .set_faults(vec![FaultRule::new(route, fault).with_times(1)]);
}

/// A plain status fault: `status`, no `Retry-After`.
fn status(status: u16) -> Fault {
    Fault::Status {
        status,
        retry_after: None,
    }
}

#[tokio::test]
async fn status_faults_carry_retry_after_in_both_forms() {
    let ctx = Ctx::new().await;
    let cases = [
        (429, Some(RetryAfter::Seconds(2))),
        (503, Some(RetryAfter::HttpDate { secs_from_now: 30 })),
        (503, Some(RetryAfter::HttpDate { secs_from_now: -30 })),
        (500, None),
    ];
    for (status, retry_after) in cases {
        fault_once(
            &ctx,
            "GET /api/v2/workflows/*",
            Fault::Status {
                status,
                retry_after,
            },
        );
        let resp = ctx.get(&workflow_path()).await;
        assert_eq!(resp.status().as_u16(), status);
        let header = resp
            .headers()
            .get("retry-after")
            .map(|v| v.to_str().unwrap().to_owned());
        match retry_after {
            Some(RetryAfter::Seconds(s)) => assert_eq!(header, Some(s.to_string())),
            Some(RetryAfter::HttpDate { secs_from_now }) => {
                let at = httpdate::parse_http_date(&header.unwrap()).unwrap();
                let now = SystemTime::now();
                let delta = if secs_from_now >= 0 {
                    at.duration_since(now).unwrap_or_default().as_secs()
                } else {
                    now.duration_since(at).unwrap_or_default().as_secs()
                };
                let want = secs_from_now.unsigned_abs();
                assert!(delta.abs_diff(want) <= 2, "{delta} vs {want}");
            }
            _ => assert_eq!(header, None),
        }
        let body: Value = resp.json().await.unwrap();
        assert_eq!(body, json!({"error": "injected_fault", "status": status}));
        // `times: 1`: the next request is clean.
        assert_eq!(ctx.get(&workflow_path()).await.status(), StatusCode::OK);
    }
    let faulted: Vec<_> = ctx
        .sim
        .journal()
        .into_iter()
        .filter_map(|e| e.fault.map(|f| (f, e.status)))
        .collect();
    assert_eq!(
        faulted,
        vec![
            ("status:429".to_owned(), 429),
            ("status:503".to_owned(), 503),
            ("status:503".to_owned(), 503),
            ("status:500".to_owned(), 500),
        ]
    );
}

#[tokio::test]
async fn status_fault_before_processing_changes_nothing() {
    let ctx = Ctx::with_fault("POST /api/v2/workflows/*/executions", status(503)).await;
    let resp = ctx
        .post(&executions_path(), &json!({"input": seed_input(1)}))
        .await;
    assert_eq!(resp.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(execution_count(&ctx).await, 0);
}

#[tokio::test]
async fn token_endpoint_can_be_faulted() {
    let ctx = Ctx::new().await;
    fault_once(
        &ctx,
        "POST /oauth/token",
        Fault::Status {
            status: 503,
            retry_after: Some(RetryAfter::Seconds(1)),
        },
    );
    let send = || {
        ctx.http
            .post(ctx.url("/oauth/token"))
            .form(&[
                ("grant_type", "client_credentials"),
                ("client_id", DEFAULT_CLIENT_ID),
                ("client_secret", DEFAULT_CLIENT_SECRET),
            ])
            .send()
    };
    assert_eq!(
        send().await.unwrap().status(),
        StatusCode::SERVICE_UNAVAILABLE
    );
    assert_eq!(send().await.unwrap().status(), StatusCode::OK);
}

#[tokio::test]
async fn latency_delays_the_response() {
    let ctx = Ctx::with_fault("GET /api/**", Fault::Latency { ms: 300 }).await;
    let start = Instant::now();
    let resp = ctx.get(&workflow_path()).await;
    assert_eq!(resp.status(), StatusCode::OK);
    assert!(
        start.elapsed() >= Duration::from_millis(300),
        "{:?}",
        start.elapsed()
    );
    let entry = ctx.sim.journal().pop().unwrap();
    assert_eq!(entry.fault.as_deref(), Some("latency:300ms"));
    assert_eq!(entry.status, 200);
}

#[tokio::test]
async fn connection_reset_gives_a_connection_level_error_and_no_mutation() {
    let ctx = Ctx::new().await;
    fault_once(
        &ctx,
        "POST /api/v2/workflows/*/executions",
        Fault::ConnectionReset,
    );
    let err = ctx
        .http
        .post(ctx.url(&executions_path()))
        .bearer_auth(&ctx.token)
        .json(&json!({"input": seed_input(1)}))
        .send()
        .await
        .unwrap_err();
    assert!(err.is_request() || err.is_connect(), "{err:?}");
    assert!(err.status().is_none());
    assert_eq!(execution_count(&ctx).await, 0);
    let entry = ctx
        .sim
        .journal()
        .into_iter()
        .find(|e| e.method == "POST" && e.path == executions_path())
        .unwrap();
    assert_eq!(entry.status, 0);
    assert_eq!(entry.fault.as_deref(), Some("connection_reset"));
    // The client recovers on a fresh connection.
    let resp = ctx
        .post(&executions_path(), &json!({"input": seed_input(1)}))
        .await;
    assert_eq!(resp.status(), StatusCode::CREATED);
}

#[tokio::test]
async fn connection_reset_is_a_tcp_reset_on_the_wire() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let sim = Sim::start().await.unwrap();
    sim.set_faults(vec![FaultRule::new("*", Fault::ConnectionReset)]);
    let mut stream = tokio::net::TcpStream::connect(sim.addr()).await.unwrap();
    stream
        .write_all(b"GET /api/v2/audit/logs HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    let mut buf = Vec::new();
    let res = tokio::time::timeout(Duration::from_secs(5), stream.read_to_end(&mut buf))
        .await
        .unwrap();
    assert!(buf.is_empty(), "no HTTP response bytes: {buf:?}");
    match res {
        Err(e) => assert_eq!(e.kind(), std::io::ErrorKind::ConnectionReset),
        Ok(n) => assert_eq!(n, 0),
    }
}

#[tokio::test]
async fn truncated_body_fails_while_reading_the_body() {
    let ctx = Ctx::new().await;
    fault_once(&ctx, "GET /api/v2/workflows/*", Fault::TruncatedBody);
    let resp = ctx.get(&workflow_path()).await;
    assert_eq!(resp.status(), StatusCode::OK);
    let declared = resp.content_length().unwrap();
    assert!(declared > 0);
    let err = resp.bytes().await.unwrap_err();
    assert!(
        err.is_body() || err.is_decode() || err.is_request(),
        "{err:?}"
    );
    assert_eq!(ctx.get(&workflow_path()).await.status(), StatusCode::OK);
    let faults: Vec<_> = ctx
        .sim
        .journal()
        .into_iter()
        .filter_map(|e| e.fault)
        .collect();
    assert_eq!(faults, vec!["truncated_body".to_owned()]);
}

#[tokio::test]
async fn stalled_body_sends_the_head_first() {
    let ctx = Ctx::with_fault("GET /api/v2/workflows/*", Fault::StallBody { ms: 800 }).await;
    let start = Instant::now();
    let resp = ctx.get(&workflow_path()).await;
    let head_after = start.elapsed();
    let body: Value = json_with(resp, StatusCode::OK).await;
    let body_after = start.elapsed();
    assert_eq!(body["id"], SEED_WORKFLOW_ID);
    // The head came first: the body followed it by most of the stall.
    assert!(
        body_after >= Duration::from_millis(800)
            && body_after - head_after >= Duration::from_millis(400),
        "head after {head_after:?}, body after {body_after:?}"
    );
}

#[tokio::test]
async fn status_after_processing_loses_the_response_but_keeps_the_mutation() {
    let ctx = Ctx::new().await;
    fault_once(
        &ctx,
        "POST /api/v2/workflows/*/executions",
        Fault::StatusAfterProcessing { status: 500 },
    );
    let body = json!({"input": seed_input(1)});
    let path = executions_path();
    let send = || post_keyed(&ctx, &path, "retry-me", &body);
    let lost = send().await;
    let body: Value = json_with(lost, StatusCode::INTERNAL_SERVER_ERROR).await;
    assert_eq!(body["error"], "injected_fault");
    // The execution exists although the client never saw its id...
    assert_eq!(execution_count(&ctx).await, 1);
    // ...and a retry with the same key gets it instead of a duplicate.
    let retry = send().await;
    let retry: Value = json_with(retry, StatusCode::CREATED).await;
    let list: Value = ctx.get_json(&executions_path()).await;
    assert_eq!(list["totalCount"], 1);
    assert_eq!(list["items"][0]["id"], retry["id"]);
    let statuses: Vec<_> = ctx
        .sim
        .journal()
        .into_iter()
        .filter(|e| e.method == "POST" && e.path == executions_path())
        .map(|e| (e.status, e.fault))
        .collect();
    assert_eq!(
        statuses,
        vec![
            (500, Some("status_after_processing:500".to_owned())),
            (201, None)
        ]
    );
}

async fn fault_pattern(seed: u64) -> Vec<u16> {
    let ctx = Ctx::start(Sim::builder().seed(seed).faults(vec![
        FaultRule::new("GET /api/**", status(503)).with_probability(0.5),
    ]))
    .await;
    let mut out = Vec::new();
    for _ in 0..40 {
        out.push(ctx.get(&workflow_path()).await.status().as_u16());
    }
    out
}

#[tokio::test]
async fn same_seed_gives_the_same_fault_pattern() {
    let a = fault_pattern(42).await;
    let b = fault_pattern(42).await;
    assert_eq!(a, b);
    let faulted = a.iter().filter(|s| **s == 503).count();
    assert!(
        (8..=32).contains(&faulted),
        "{faulted} of 40 faulted: {a:?}"
    );
    assert!(a.iter().all(|s| *s == 503 || *s == 200));
    assert_ne!(a, fault_pattern(43).await);
}

#[tokio::test]
async fn first_matching_rule_that_fires_wins() {
    let ctx = Ctx::new().await;
    ctx.sim.set_faults(vec![
        FaultRule::new("GET /api/v2/audit/logs", status(502)).with_times(1),
        FaultRule::new("*", status(418)).with_probability(0.0),
        FaultRule::new("GET /api/**", status(503)).with_times(1),
    ]);
    let statuses = [
        ctx.get("/api/v2/audit/logs").await.status().as_u16(),
        ctx.get("/api/v2/audit/logs").await.status().as_u16(),
        ctx.get("/api/v2/audit/logs").await.status().as_u16(),
    ];
    assert_eq!(statuses, [502, 503, 200]);
    ctx.sim.set_faults(Vec::new());
    assert_eq!(ctx.get("/api/v2/audit/logs").await.status(), StatusCode::OK);
}

#[tokio::test]
async fn a_request_the_client_gave_up_on_still_completes_server_side() {
    let ctx = Ctx::with_fault(
        "POST /api/v2/workflows/*/executions",
        Fault::Latency { ms: 300 },
    )
    .await;
    let err = ctx
        .http
        .post(ctx.url(&executions_path()))
        .bearer_auth(&ctx.token)
        .timeout(Duration::from_millis(50))
        .json(&json!({"input": seed_input(1)}))
        .send()
        .await
        .unwrap_err();
    assert!(err.is_timeout(), "{err:?}");
    // The server finishes the request after the client left: wait for its
    // journal entry (recorded once the handler answered), not for time.
    let is_create = |e: &JournalEntry| e.method == "POST" && e.path == executions_path();
    let journal = ctx
        .sim
        .wait_for_journal(Duration::from_secs(10), |j| j.iter().any(is_create))
        .await
        .unwrap();
    assert_eq!(
        execution_count(&ctx).await,
        1,
        "the timed-out request was processed"
    );
    let entry = journal.into_iter().find(is_create).unwrap();
    assert_eq!(entry.status, 201);
    assert_eq!(entry.fault.as_deref(), Some("latency:300ms"));
}

#[tokio::test]
async fn report_status_rewrites_the_status_field_only() {
    let ctx = Ctx::new().await;
    fault_once(
        &ctx,
        "GET /api/v2/workflows/*",
        Fault::ReportStatus {
            value: "SUSPENDED".to_owned(),
        },
    );
    let resp = ctx.get(&workflow_path()).await;
    let body: Value = json_with(resp, StatusCode::OK).await;
    assert_eq!(body["status"], json!("SUSPENDED"));
    assert_eq!(body["id"], json!(SEED_WORKFLOW_ID));
    let again: Value = ctx.get_json(&workflow_path()).await;
    assert_eq!(again["status"], json!("ACTIVE"));
    let faults: Vec<Option<String>> = ctx.sim.journal().into_iter().map(|e| e.fault).collect();
    assert_eq!(faults.last(), Some(&None));
    assert!(faults.contains(&Some("report_status:SUSPENDED".to_owned())));
}
