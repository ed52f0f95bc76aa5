//! Bench (b): N workflow executions of the seed workflow run concurrently
//! against the in-process simulator, through the whole SDK (token cache,
//! prerequisite checks, idempotent submit, polling, metrics, audit to a
//! `MemorySink`). Prints executions/s, requests per execution (from the
//! simulator's journal) and time-to-result divided by the simulated
//! execution duration.
//!
//! `cargo bench -p cx-benches --bench workflow_throughput`
//! Environment: `BENCH_EXECUTIONS` (default 1000), `BENCH_CONCURRENCY` (100),
//! `BENCH_EXEC_MS` (simulated execution duration, default 100 ms).
//!
//! Two poll schedules are measured: one configured from the expected
//! duration D (first poll at D, then D/2 ×1.5), as a caller who knows its
//! workflow would, and the `cx` CLI's generic one (100 ms, then 150 ms ×1.5).

use std::sync::Arc;
use std::time::{Duration, Instant};

use cx_benches::{WF_ID, env_or, percentile, runtime, sdk_client};
use cx_http::Poller;
use cx_workflow::{Client, Config, WorkflowId};
use futures::StreamExt;
use serde_json::json;

async fn scenario(name: &str, poller: Poller, n: u64, concurrency: usize, duration: Duration) {
    let sim = cx_sim::Sim::builder()
        .execution_duration(duration)
        .journal_capacity(1_000_000)
        .start()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let http = sdk_client(&sim, cx_http::Config::default());
    let client = Client::new(http, Config::default().with_poller(poller))
        .with_audit(Arc::new(cx_audit::MemorySink::new()));
    let id: WorkflowId = WF_ID.parse().unwrap_or_else(|e| panic!("{e}"));
    // Warm the token and the definition cache, then count from a clean journal.
    client
        .run(&id)
        .input(json_input(0))
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    sim.clear_journal();

    let started = Instant::now();
    let results: Vec<f64> = futures::stream::iter(0..n)
        .map(|i| {
            let client = client.clone();
            let id = id.clone();
            async move {
                let report = client
                    .run(&id)
                    .input(json_input(i))
                    .send()
                    .await
                    .unwrap_or_else(|e| panic!("execution {i}: {e}"));
                assert!(
                    report.succeeded(),
                    "execution {i} ended {}",
                    report.execution.status
                );
                report.elapsed_ms
            }
        })
        .buffer_unordered(concurrency)
        .collect()
        .await;
    let wall = started.elapsed();
    let requests = sim.journal().len() as f64;
    let mut ttr = results;
    ttr.sort_by(f64::total_cmp);
    let d_ms = duration.as_secs_f64() * 1e3;
    let bound_ms = 1.5 * d_ms + 100.0;
    let within = ttr.iter().filter(|t| **t <= bound_ms).count();
    println!("scenario: {name}");
    println!(
        "  executions          {n} at concurrency {concurrency}, simulated duration {d_ms:.0} ms"
    );
    println!("  wall time           {:.2} s", wall.as_secs_f64());
    println!("  executions/s        {:.1}", n as f64 / wall.as_secs_f64());
    println!("  requests/execution  {:.2}", requests / n as f64);
    println!(
        "  time-to-result ms   p50 {:.0}  p95 {:.0}  max {:.0}",
        percentile(&ttr, 0.5),
        percentile(&ttr, 0.95),
        percentile(&ttr, 1.0)
    );
    println!(
        "  time-to-result / D  p50 {:.2}  p95 {:.2}  max {:.2}",
        percentile(&ttr, 0.5) / d_ms,
        percentile(&ttr, 0.95) / d_ms,
        percentile(&ttr, 1.0) / d_ms
    );
    println!(
        "  within 1.5 x D + 100 ms ({bound_ms:.0} ms): {within}/{} ({:.1}%)",
        ttr.len(),
        100.0 * within as f64 / ttr.len().max(1) as f64
    );
    sim.shutdown().await;
}

fn json_input(i: u64) -> serde_json::Map<String, serde_json::Value> {
    match json!({"customerId": format!("CUST-{i}"), "priorityScore": i % 100}) {
        serde_json::Value::Object(m) => m,
        _ => serde_json::Map::new(),
    }
}

fn main() {
    // `cargo bench` passes `--bench`; a filter argument is not used here.
    let n = env_or("BENCH_EXECUTIONS", 1000);
    let concurrency = env_or("BENCH_CONCURRENCY", 100) as usize;
    let duration = Duration::from_millis(env_or("BENCH_EXEC_MS", 100));
    let rt = runtime();
    rt.block_on(async {
        let tuned = Poller::default()
            .with_first_delay(duration)
            .with_initial_delay(duration / 2)
            .with_deadline(Some(Duration::from_secs(60)));
        scenario(
            "poller from the expected duration",
            tuned,
            n,
            concurrency,
            duration,
        )
        .await;
        let cli = Poller::default()
            .with_first_delay(Duration::from_millis(100))
            .with_initial_delay(Duration::from_millis(150))
            .with_deadline(Some(Duration::from_secs(60)));
        scenario("the cx CLI's poller", cli, n, concurrency, duration).await;
    });
}
