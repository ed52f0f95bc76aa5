//! Bench: time to result of data-action jobs (seed 004) against the
//! in-process simulator, through the whole SDK (definition read, idempotent
//! execute, polling, extraction, audit to a `MemorySink`).
//!
//! `cargo bench -p cx-benches --bench dataaction_latency`
//! Environment: `BENCH_JOBS` (default 100).
//!
//! Jobs have mixed durations (100 ms .. 5 s, ten actions, job `i` runs on
//! action `i % 10`) and run concurrently. For each job it measures the time
//! from `RunBuilder::send` to the typed result and reports, per schedule,
//! the overshoot (time to result − job duration; the acceptance target is
//! ≤ 500 ms at default settings), the ratio time-to-result / duration
//! (median and max) and status reads per job. Two schedules are measured:
//! the crate's default (`Config::default_poller`) and the seed's fixed 3 s
//! (`Config::seed_poller`).

use std::sync::Arc;
use std::time::{Duration, Instant};

use cx_benches::{env_or, percentile, runtime, sdk_client};
use cx_dataaction::{ActionId, Client, Config, Extraction, Payload};
use cx_http::Poller;
use cx_sim::DataActionFixture;
use serde_json::json;

const DURATIONS_MS: [u64; 10] = [100, 250, 500, 750, 1000, 1500, 2000, 3000, 4000, 5000];

async fn scenario(name: &str, poller: Poller, n: u64) {
    let sim = cx_sim::Sim::builder()
        .journal_capacity(1_000_000)
        .start()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    for (i, ms) in DURATIONS_MS.iter().enumerate() {
        sim.add_data_action(
            cx_sim::DEFAULT_TENANT,
            DataActionFixture::new(format!("DA-BENCH-{i}"), format!("{ms} ms"))
                .with_duration(Duration::from_millis(*ms)),
        );
    }
    let client = Client::new(
        sdk_client(&sim, cx_http::Config::default()),
        Config::default().with_poller(poller),
    )
    .with_audit(Arc::new(cx_audit::MemorySink::new()));
    // Warm the token, then count from a clean journal.
    let warm = ActionId::new("DA-BENCH-0").unwrap_or_else(|e| panic!("{e}"));
    if let Err(e) = client.definition(&warm).await {
        panic!("{e}");
    }
    sim.clear_journal();

    let runs = (0..n).map(|i| {
        let client = client.clone();
        async move {
            let slot = (i % DURATIONS_MS.len() as u64) as usize;
            let id = ActionId::new(format!("DA-BENCH-{slot}")).unwrap_or_else(|e| panic!("{e}"));
            let payload = Payload::new("v2.1.0")
                .param("customerId", json!(format!("CUST-{i}")))
                .param("interactionType", json!("voice"))
                .timeout_ms(45_000);
            let started = Instant::now();
            let report = client
                .run(&id, payload)
                .extract(Extraction::seed())
                .send()
                .await
                .unwrap_or_else(|e| panic!("job {i}: {e}"));
            let took = started.elapsed().as_secs_f64() * 1000.0;
            assert!(report.values["fraudFlag"].as_bool().is_some());
            (took, DURATIONS_MS[slot] as f64)
        }
    });
    let wall = Instant::now();
    let results = futures::future::join_all(runs).await;
    let wall = wall.elapsed();

    let mut over: Vec<f64> = results.iter().map(|(t, d)| t - d).collect();
    let mut ratio: Vec<f64> = results.iter().map(|(t, d)| t / d).collect();
    over.sort_by(f64::total_cmp);
    ratio.sort_by(f64::total_cmp);
    let reads = sim
        .journal()
        .iter()
        .filter(|e| e.method == "GET" && e.path.contains("/jobs/"))
        .count();
    let max_over = percentile(&over, 1.0);
    println!(
        "{name}: {n} jobs in {:.1} s; overshoot (time to result − duration) median {:.0} ms, p95 {:.0} ms, max {:.0} ms ({}); \
         time-to-result / duration median {:.2}, max {:.2}; {:.1} status reads per job",
        wall.as_secs_f64(),
        percentile(&over, 0.5),
        percentile(&over, 0.95),
        max_over,
        if max_over <= 500.0 {
            "within 500 ms"
        } else {
            "OVER 500 ms"
        },
        percentile(&ratio, 0.5),
        percentile(&ratio, 1.0),
        reads as f64 / n as f64,
    );
    sim.shutdown().await;
}

fn main() {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let n = env_or("BENCH_JOBS", 100);
    runtime().block_on(async {
        scenario("default schedule", Config::default_poller(), n).await;
        scenario("seed schedule (3 s)", Config::seed_poller(), n).await;
    });
}
