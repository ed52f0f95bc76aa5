//! Concurrency smoke test: 100 concurrent clients against one simulator.

#![allow(clippy::unwrap_used)]

mod support;

use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::json;
use support::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hundred_concurrent_clients() {
    let sim = Sim::builder()
        .journal_capacity(100_000)
        .start()
        .await
        .unwrap();
    let ctx = Ctx::with(sim).await;
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
                    http.post(format!(
                        "{base}/api/v2/workflows/{SEED_WORKFLOW_ID}/executions"
                    ))
                    .bearer_auth(&token)
                    .header("Idempotency-Key", format!("c{i}-r{j}"))
                    .json(&json!({"input": seed_input(50)}))
                    .send()
                    .await
                    .unwrap()
                } else {
                    http.get(format!("{base}/api/v2/workflows/{SEED_WORKFLOW_ID}"))
                        .bearer_auth(&token)
                        .send()
                        .await
                        .unwrap()
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
    assert!(elapsed < Duration::from_secs(30), "{elapsed:?}");
    let journal = ctx.sim.journal();
    assert_eq!(journal.len(), 1 + CLIENTS * REQUESTS);
    assert!(
        journal
            .iter()
            .skip(1)
            .all(|e| e.status == 200 || e.status == 201)
    );
    let list: serde_json::Value = ctx
        .get(&format!("/api/v2/workflows/{SEED_WORKFLOW_ID}/executions"))
        .await
        .json()
        .await
        .unwrap();
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
