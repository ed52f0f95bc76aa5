//! The request journal and the `/_sim/` admin API.

use crate::support::*;
use cx_sim::JournalEntry;
use reqwest::StatusCode;
use serde_json::{Value, json};

#[tokio::test]
async fn journal_records_statuses_headers_and_callers() {
    let ctx = Ctx::new().await;
    let exec_path = format!("/api/v2/workflows/{SEED_WORKFLOW_ID}/executions");
    let body = json!({"input": seed_input(5)});
    fetch(
        ctx.http
            .post(ctx.url(&exec_path))
            .bearer_auth(&ctx.token)
            .header("Idempotency-Key", "k-1")
            .header("If-Match", "\"etag-1\"")
            .json(&body),
    )
    .await;
    ctx.post(&exec_path, &json!({"input": {"x": 1}})).await;
    fetch(ctx.http.get(ctx.url("/api/v2/audit/logs"))).await;
    ctx.get("/api/v2/workflows/nope").await;
    ctx.get("/api/v2/audit/logs?pageSize=2").await;

    let journal = ctx.sim.journal();
    let token_call = &journal[0];
    assert_eq!(token_call.path, "/oauth/token");
    assert_eq!(token_call.status, 200);
    assert_eq!(token_call.client_id.as_deref(), Some(DEFAULT_CLIENT_ID));
    assert_eq!(token_call.tenant.as_deref(), Some(cx_sim::DEFAULT_TENANT));

    let rest: Vec<(&str, &str, u16)> = journal[1..]
        .iter()
        .map(|e| (e.method.as_str(), e.path.as_str(), e.status))
        .collect();
    assert_eq!(
        rest,
        vec![
            ("POST", exec_path.as_str(), 201),
            ("POST", exec_path.as_str(), 400),
            ("GET", "/api/v2/audit/logs", 401),
            ("GET", "/api/v2/workflows/nope", 404),
            ("GET", "/api/v2/audit/logs", 200),
        ]
    );
    let created = &journal[1];
    assert_eq!(created.idempotency_key.as_deref(), Some("k-1"));
    assert_eq!(created.if_match.as_deref(), Some("\"etag-1\""));
    assert_eq!(created.tenant.as_deref(), Some(cx_sim::DEFAULT_TENANT));
    assert_eq!(created.client_id.as_deref(), Some(DEFAULT_CLIENT_ID));
    assert_eq!(created.body_len, serde_json::to_vec(&body).unwrap().len());
    assert_eq!(journal[2].idempotency_key, None);
    assert_eq!(journal[3].tenant, None);
    assert_eq!(journal[5].query.as_deref(), Some("pageSize=2"));
    let seqs: Vec<u64> = journal.iter().map(|e| e.seq).collect();
    assert!(seqs.windows(2).all(|w| w[1] == w[0] + 1), "{seqs:?}");
    assert!(journal.windows(2).all(|w| w[0].at_ms <= w[1].at_ms));

    ctx.sim.clear_journal();
    assert!(ctx.sim.journal().is_empty());
}

#[tokio::test]
async fn journal_is_bounded() {
    let ctx = Ctx::start(Sim::builder().journal_capacity(5)).await;
    for _ in 0..12 {
        ctx.get("/api/v2/audit/logs").await;
    }
    let journal = ctx.sim.journal();
    assert_eq!(journal.len(), 5);
    // 1 token call + 12 GETs = 13 requests; the last 5 remain.
    assert_eq!(journal.first().unwrap().seq, 9);
    assert_eq!(journal.last().unwrap().seq, 13);
}

#[tokio::test]
async fn admin_api_mirrors_the_rust_methods() {
    let ctx = Ctx::new().await;
    let admin = |p: &str| format!("{}/_sim{p}", ctx.sim.base_url());
    let http = &ctx.http;

    let health: Value = send_json(http.get(admin("/health"))).await;
    assert_eq!(health["status"], "ok");

    // Faults: PUT replaces, GET lists, the API sees them, admin is untouched.
    let rules = json!([{
        "route": "GET /api/v2/audit/logs",
        "fault": {"kind": "status", "status": 429, "retryAfter": {"seconds": 7}},
        "times": 1
    }]);
    let resp = fetch(http.put(admin("/faults")).json(&rules)).await;
    assert_eq!(resp.status(), StatusCode::NO_CONTENT);
    let listed: Value = send_json(http.get(admin("/faults"))).await;
    assert_eq!(listed[0]["fault"]["status"], 429);
    assert_eq!(listed[0]["probability"], 1.0);
    let resp = ctx.get("/api/v2/audit/logs").await;
    assert_eq!(resp.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(resp.headers()["retry-after"], "7");
    let bad = json!([{"route": "*", "fault": {"kind": "latency", "ms": 1}, "probability": 2.0}]);
    let resp = fetch(http.put(admin("/faults")).json(&bad)).await;
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
    let resp = fetch(http.put(admin("/faults")).body("nope")).await;
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
    fetch(
        http.put(admin("/faults"))
            .json(&json!([{"route": "*", "fault": {"kind": "connectionReset"}}])),
    )
    .await;
    // Admin routes are never faulted.
    assert_eq!(
        fetch(http.get(admin("/health"))).await.status(),
        StatusCode::OK
    );
    let resp = fetch(http.delete(admin("/faults"))).await;
    assert_eq!(resp.status(), StatusCode::NO_CONTENT);
    assert_eq!(ctx.get("/api/v2/audit/logs").await.status(), StatusCode::OK);

    // Journal: admin calls are not recorded; `since` filters by seq.
    let all: Vec<JournalEntry> = send_json(http.get(admin("/journal"))).await;
    assert!(all.iter().all(|e| !e.path.starts_with("/_sim")));
    assert_eq!(all, ctx.sim.journal());
    let since = all[all.len() - 2].seq;
    let tail: Vec<JournalEntry> =
        send_json(http.get(admin(&format!("/journal?since={since}")))).await;
    assert_eq!(tail.len(), 1);
    assert_eq!(
        fetch(http.get(admin("/journal?since=x"))).await.status(),
        StatusCode::BAD_REQUEST
    );
    let resp = fetch(http.delete(admin("/journal"))).await;
    assert_eq!(resp.status(), StatusCode::NO_CONTENT);
    assert!(ctx.sim.journal().is_empty());

    // Clients.
    let resp = fetch(http
        .post(admin("/clients"))
        .json(&json!({"clientId": "admin-made", "clientSecret": "s3", "tenant": "tenant-z", "scopes": ["audit:read"]}))).await;
    assert_eq!(resp.status(), StatusCode::NO_CONTENT);
    let t = token(http, &ctx.sim, "admin-made", "s3").await;
    let resp = fetch(http.get(ctx.url("/api/v2/audit/logs")).bearer_auth(&t)).await;
    assert_eq!(resp.status(), StatusCode::OK);

    // Workflows per tenant.
    let wf = json!({"id": "wf_admin", "name": "Admin", "status": "ACTIVE", "durationMs": 60000,
                    "inputVariables": [["n", "NUMBER"]], "outcome": {"kind": "fail", "code": "X", "message": "m"}});
    let resp = fetch(http.post(admin("/workflows?tenant=tenant-z")).json(&wf)).await;
    assert_eq!(resp.status(), StatusCode::NO_CONTENT);
    let exec: Value = {
        let t2 = token(http, &ctx.sim, DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET).await;
        let resp = fetch(
            http.get(ctx.url("/api/v2/workflows/wf_admin"))
                .bearer_auth(&t2),
        )
        .await;
        assert_eq!(resp.status(), StatusCode::NOT_FOUND, "other tenant");
        fetch(
            http.post(admin("/clients"))
                .json(&json!({"clientId": "z-writer", "clientSecret": "w", "tenant": "tenant-z"})),
        )
        .await;
        let tz = token(http, &ctx.sim, "z-writer", "w").await;
        let resp = fetch(
            http.post(ctx.url("/api/v2/workflows/wf_admin/executions"))
                .bearer_auth(&tz)
                .json(&json!({"input": {"n": 1}})),
        )
        .await;
        let created: Value = json_with(resp, StatusCode::CREATED).await;

        // Clock.
        let resp = fetch(
            http.post(admin("/clock/advance"))
                .json(&json!({"ms": 61_000})),
        )
        .await;
        assert_eq!(resp.status(), StatusCode::OK);
        let resp = fetch(
            http.get(ctx.url(&format!(
                "/api/v2/workflows/wf_admin/executions/{}",
                created["id"].as_str().unwrap()
            )))
            .bearer_auth(&tz),
        )
        .await;
        resp.json().await.unwrap()
    };
    assert_eq!(exec["status"], "FAILED");
    assert_eq!(exec["errors"][0]["code"], "X");

    // Revocation.
    let resp = fetch(http.post(admin("/tokens/revoke"))).await;
    assert_eq!(resp.status(), StatusCode::NO_CONTENT);
    let resp = fetch(http.get(ctx.url("/api/v2/audit/logs")).bearer_auth(&t)).await;
    assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn unknown_routes_and_methods_answer_json() {
    let ctx = Ctx::new().await;
    let resp = ctx.get("/api/v2/nothing-here").await;
    let body: Value = json_with(resp, StatusCode::NOT_FOUND).await;
    assert_eq!(body["error"], "not_found");
    let resp = fetch(ctx.http.delete(ctx.url("/oauth/token"))).await;
    let body: Value = json_with(resp, StatusCode::METHOD_NOT_ALLOWED).await;
    assert_eq!(body["error"], "method_not_allowed");
}

#[tokio::test]
async fn shutdown_stops_the_server() {
    let sim = Sim::start().await.unwrap();
    let addr = sim.addr();
    assert_eq!(sim.base_url(), format!("http://{addr}"));
    sim.shutdown().await;
    assert!(tokio::net::TcpStream::connect(addr).await.is_err());

    let dropped = Sim::start().await.unwrap();
    let addr = dropped.addr();
    drop(dropped);
    // Dropping only signals the accept loop; yielding lets it run and close
    // the listener (no wall-clock wait).
    let mut refused = false;
    for _ in 0..100 {
        if tokio::net::TcpStream::connect(addr).await.is_err() {
            refused = true;
            break;
        }
        tokio::task::yield_now().await;
    }
    assert!(refused, "dropping the Sim stops it");
}
