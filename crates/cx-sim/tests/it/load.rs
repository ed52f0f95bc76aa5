//! Concurrency smoke test: 100 concurrent clients against one simulator.

use std::time::{Duration, Instant};

use crate::support::*;
use cx_sim::Retention;
use reqwest::StatusCode;
use serde_json::{Value, json};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hundred_concurrent_clients() {
    let ctx = Ctx::start(Sim::builder().journal_capacity(100_000)).await;
    let base = ctx.sim.base_url().to_owned();
    const CLIENTS: usize = 100;
    const REQUESTS: usize = 20;
    let start = Instant::now();
    let mut tasks = Vec::new();
    for i in 0..CLIENTS {
        let http = http();
        let token = ctx.token.clone();
        let base = base.clone();
        tasks.push(tokio::spawn(async move {
            let mut ok = 0usize;
            for j in 0..REQUESTS {
                let resp = if j % 4 == 0 {
                    fetch(
                        http.post(format!(
                            "{base}/api/v2/workflows/{SEED_WORKFLOW_ID}/executions"
                        ))
                        .bearer_auth(&token)
                        .header("Idempotency-Key", format!("c{i}-r{j}"))
                        .json(&json!({"input": seed_input(50)})),
                    )
                    .await
                } else {
                    fetch(
                        http.get(format!("{base}/api/v2/workflows/{SEED_WORKFLOW_ID}"))
                            .bearer_auth(&token),
                    )
                    .await
                };
                if resp.status().is_success() {
                    ok += 1;
                }
            }
            ok
        }));
    }
    let mut ok = 0;
    for t in tasks {
        ok += t.await.unwrap();
    }
    let elapsed = start.elapsed();
    assert_eq!(ok, CLIENTS * REQUESTS);
    let journal = ctx.sim.journal();
    assert_eq!(journal.len(), 1 + CLIENTS * REQUESTS);
    assert!(
        journal
            .iter()
            .skip(1)
            .all(|e| e.status == 200 || e.status == 201)
    );
    let list: serde_json::Value = ctx
        .get_json(&format!("/api/v2/workflows/{SEED_WORKFLOW_ID}/executions"))
        .await;
    assert_eq!(list["totalCount"], CLIENTS * REQUESTS / 4);
    let rate = (CLIENTS * REQUESTS) as f64 / elapsed.as_secs_f64();
    eprintln!(
        "{} requests in {elapsed:?} ({rate:.0} req/s)",
        CLIENTS * REQUESTS
    );
    assert_eq!(
        ctx.get("/api/v2/audit/logs?pageSize=1").await.status(),
        StatusCode::OK
    );
}

/// Finished executions and jobs, stored idempotent responses, the audit
/// log and tokens stay bounded by the retention however many are created
/// (CI size: 1,000 executions, 300 jobs, 1,000 tokens); running resources
/// are kept; old ones age out.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn memory_stays_bounded_by_the_retention() {
    const KEEP: usize = 50;
    let ctx = Ctx::start(
        Sim::builder()
            .retention(
                Retention::default()
                    .with_max_age(Duration::from_secs(3600))
                    .with_max_finished(KEEP),
            )
            .max_tokens(160)
            .journal_capacity(100),
    )
    .await;
    let tenant = cx_sim::DEFAULT_TENANT;
    let mut first = None;
    let mut peak = cx_sim::StoreSizes {
        executions: 0,
        instances: 0,
        jobs: 0,
        idempotency_keys: 0,
        audit_entries: 0,
        tokens: 0,
    };
    for i in 0..1000 {
        let resp = fetch(
            ctx.http
                .post(ctx.url(&format!("/api/v2/workflows/{SEED_WORKFLOW_ID}/executions")))
                .bearer_auth(&ctx.token)
                .header("Idempotency-Key", format!("k-{i}"))
                .json(&json!({"input": seed_input(50)})),
        )
        .await;
        assert_eq!(resp.status(), StatusCode::CREATED);
        let body: serde_json::Value = resp.json().await.unwrap();
        first.get_or_insert(body["id"].as_str().unwrap().to_owned());
        if i % 100 == 99 {
            // Everything created so far finishes (300 ms runs).
            ctx.sim.advance_clock(Duration::from_secs(1));
        }
        if i < 300 {
            let job = ctx
                .post(
                    "/api/v2/dataactions/DA-123456/execute",
                    &json!({
                        "versionId": "v2.1.0",
                        "inputParameters": {"customerId": "C", "interactionType": "voice"},
                        "executionTimeoutMs": 45000,
                    }),
                )
                .await;
            assert_eq!(job.status(), StatusCode::CREATED);
        }
        let s = ctx.sim.store_sizes(tenant);
        peak.executions = peak.executions.max(s.executions);
        peak.jobs = peak.jobs.max(s.jobs);
        peak.idempotency_keys = peak.idempotency_keys.max(s.idempotency_keys);
        peak.audit_entries = peak.audit_entries.max(s.audit_entries);
    }
    for _ in 0..1000 {
        token_for(&ctx, DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET).await;
        peak.tokens = peak.tokens.max(ctx.sim.store_sizes(tenant).tokens);
    }
    eprintln!("peak sizes over 1000 executions, 300 jobs, 1000 tokens: {peak:?}");
    // Finished ones beyond KEEP go; the (up to 100) running ones stay.
    assert!(peak.executions <= KEEP + 100, "{peak:?}");
    assert!(peak.jobs <= KEEP + 100, "{peak:?}");
    assert!(peak.idempotency_keys <= KEEP, "{peak:?}");
    assert!(peak.audit_entries <= 4 * KEEP + KEEP / 2 + 2, "{peak:?}");
    assert!(peak.tokens <= 160, "{peak:?}");
    // The same numbers over the admin API (what `cx sim serve` exposes).
    let stats: serde_json::Value = ctx.get_json("/_sim/stats").await;
    assert_eq!(stats["executions"], ctx.sim.store_sizes(tenant).executions);
    // Two hours later everything finished has aged out (with a fresh token:
    // the token storm evicted the first one).
    ctx.sim.advance_clock(Duration::from_secs(2 * 3600));
    let fresh = token_for(&ctx, DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET).await;
    let ctx = Ctx {
        token: fresh,
        ..ctx
    };
    let path = format!("/api/v2/workflows/{SEED_WORKFLOW_ID}/executions");
    assert_eq!(ctx.get(&path).await.status(), StatusCode::OK);
    let s = ctx.sim.store_sizes(tenant);
    assert_eq!((s.executions, s.idempotency_keys), (0, 0), "{s:?}");
}

/// What hostile clients can pile up outside the executions: published
/// events and their idempotency keys, an agent's write history and the
/// (unauthenticated) history webhook inbox stay bounded by the retention
/// too (2 kept → at most 8 log entries, trimmed in batches, and 2 keys).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn events_writes_and_webhook_bodies_stay_bounded_by_the_retention() {
    const KEEP: usize = 2;
    const SENT: usize = 60;
    let ctx = Ctx::start(
        Sim::builder()
            .retention(Retention::default().with_max_finished(KEEP))
            .journal_capacity(10),
    )
    .await;
    let bound = 4 * KEEP + KEEP / 2 + 2;
    let event =
        json!({"eventType": "agent.availability.changed", "data": {"pad": "x".repeat(1000)}});
    let write = json!({"workModeId": "workMode-123", "skillLevels": []});
    for i in 0..SENT {
        let resp = post_keyed(&ctx, "/api/v2/events/publish", &format!("evt-{i}"), &event).await;
        assert_eq!(resp.status(), StatusCode::ACCEPTED);
        let resp = fetch(
            ctx.http
                .patch(ctx.url("/api/v2/agents/agent-001/workmodes"))
                .bearer_auth(&ctx.token)
                .json(&write),
        )
        .await;
        assert_eq!(resp.status(), StatusCode::OK);
        let resp = fetch(ctx.http.post(ctx.url("/webhooks/history")).json(&event)).await;
        assert_eq!(resp.status(), StatusCode::NO_CONTENT);
    }
    let len = |v: Value| v.as_array().map_or(0, Vec::len);
    let events = len(ctx.get_json("/_sim/events").await);
    let writes: Value = ctx.get_json("/_sim/agents/agent-001/writes").await;
    let inbox = len(ctx.get_json("/_sim/history/webhooks").await);
    let keys = ctx.sim.store_sizes(cx_sim::DEFAULT_TENANT).idempotency_keys;
    eprintln!(
        "after {SENT} of each: {events} events, {} writes, {inbox} webhook bodies, {keys} keys",
        len(writes.clone())
    );
    assert!(events <= bound, "{events} events kept");
    assert!(len(writes.clone()) <= bound, "{writes}");
    assert!(inbox <= bound, "{inbox} webhook bodies kept");
    assert!(keys <= KEEP, "{keys} idempotency keys kept");
    // The newest are kept, and write numbers go on counting.
    let last = &writes[len(writes.clone()) - 1];
    assert_eq!(last["seq"], SENT);
}
