//! Bench (issue 13): does a run arrive on time? One run at a time against
//! the in-process simulator, after one run that lets the client learn the
//! duration (as a second `cx` process does from its cache):
//!
//! - a workflow execution (seed 000) of 100 ms, 300 ms and 5 s through
//!   `cx_workflow` with the `cx` CLI's schedule (first poll after 100 ms,
//!   then 150 ms ×1.5) and no other tuning: time to result and status reads
//!   per run. Target: at most 1.15 × the execution time + 20 ms, at most 2
//!   status reads.
//! - a data-action job (seed 004) of 500 ms through `cx_dataaction` with
//!   its default schedule: time to result and requests per run. Target: at
//!   most 1.15 × + 20 ms and at most 4 requests (token, definition,
//!   execute, one job read; here the token is cached, so 3).
//!
//! Each figure is printed next to a baseline from the same run: a plain
//! reqwest loop that submits, sleeps exactly the execution time (the ideal
//! poll time, which only an oracle knows) and reads the status until done.
//!
//! `cargo bench -p cx-benches --bench poll_timing`
//! Environment: `BENCH_RUNS` (runs per case, default 8; the 5 s case makes a
//! quarter of them, at least 2).

use std::sync::Arc;
use std::time::{Duration, Instant};

use cx_benches::{WF_ID, bearer, env_or, ok, percentile, runtime, sdk_client, sim_with_action};
use cx_sim::{DataActionFixture, Sim};
use serde_json::{Value, json};

const ACTION: &str = "DA-BENCH-500";

fn main() {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let runs = env_or("BENCH_RUNS", 8).max(1) as usize;
    runtime().block_on(async {
        println!("time to result, one run at a time, after one learning run (median of runs):");
        for ms in [100, 300, 5000] {
            let n = if ms >= 5000 { (runs / 4).max(2) } else { runs };
            workflow_case(Duration::from_millis(ms), n).await;
        }
        dataaction_case(Duration::from_millis(500), runs).await;
    });
}

/// A simulator whose runs take `d`, and a bearer token for the plain loop.
async fn sim_with(d: Duration) -> (Sim, String) {
    let sim = sim_with_action(
        Sim::builder()
            .execution_duration(d)
            .journal_capacity(100_000),
        DataActionFixture::new(ACTION, "500 ms").with_duration(d),
    )
    .await;
    let bearer = bearer(&sim).await;
    (sim, bearer)
}

async fn workflow_case(d: Duration, n: usize) {
    let (sim, bearer) = sim_with(d).await;
    let cli_poller = cx_http::Poller::default()
        .with_first_delay(Duration::from_millis(100))
        .with_initial_delay(Duration::from_millis(150))
        .with_deadline(Some(Duration::from_secs(60)));
    let client = cx_workflow::Client::new(
        sdk_client(&sim, cx_http::Config::default()),
        cx_workflow::Config::default().with_poller(cli_poller),
    )
    .with_audit(Arc::new(cx_audit::MemorySink::new()));
    let id: cx_workflow::WorkflowId = WF_ID.parse().unwrap_or_else(|e| panic!("{e}"));
    let input = || match json!({"customerId": "CUST-1"}) {
        Value::Object(m) => m,
        _ => serde_json::Map::new(),
    };
    let run = || async {
        let started = Instant::now();
        let report = client
            .run(&id)
            .input(input())
            .send()
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(report.succeeded(), "{}", report.execution.status);
        started.elapsed()
    };
    run().await; // learns the duration (and warms the token and definition)
    let base = format!("{}/api/v2/workflows/{WF_ID}/executions", sim.base_url());
    let (ours, ideal, reads) = rounds(n, d, &bearer, &base, run, || {
        status_reads(&sim, "/executions/")
    })
    .await;
    report(
        &format!("workflow run, {} ms execution", d.as_millis()),
        d,
        ours,
        ideal,
        reads,
        "status reads",
        2.0,
    );
    sim.shutdown().await;
}

async fn dataaction_case(d: Duration, n: usize) {
    let (sim, bearer) = sim_with(d).await;
    let client = cx_dataaction::Client::new(
        sdk_client(&sim, cx_http::Config::default()),
        cx_dataaction::Config::default(),
    )
    .with_audit(Arc::new(cx_audit::MemorySink::new()));
    let id = cx_dataaction::ActionId::new(ACTION).unwrap_or_else(|e| panic!("{e}"));
    let run = || async {
        let payload = cx_dataaction::Payload::new("v2.1.0")
            .param("customerId", json!("CUST-1"))
            .param("interactionType", json!("voice"))
            .timeout_ms(45_000);
        let started = Instant::now();
        client
            .run(&id, payload)
            .send()
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        started.elapsed()
    };
    run().await; // learns the duration (and warms the token)
    let execute = format!("{}/api/v2/dataactions/{ACTION}/execute", sim.base_url());
    let (ours, ideal, requests) =
        rounds(n, d, &bearer, &execute, run, || sim.journal().len()).await;
    report(
        &format!("dataaction run, {} ms job", d.as_millis()),
        d,
        ours,
        ideal,
        requests,
        "requests",
        4.0,
    );
    sim.shutdown().await;
}

/// `n` rounds of our `run` then the oracle ([`plain_run`] submitting to
/// `submit`): our times (ms), the oracle's (ms), and how much `counter` grew
/// over each of our runs.
async fn rounds<F: Future<Output = Duration>>(
    n: usize,
    d: Duration,
    bearer: &str,
    submit: &str,
    run: impl Fn() -> F,
    counter: impl Fn() -> usize,
) -> (Vec<f64>, Vec<f64>, Vec<f64>) {
    let plain = reqwest::Client::new();
    let (mut ours, mut ideal, mut counted) = (Vec::new(), Vec::new(), Vec::new());
    for i in 0..n {
        let before = counter();
        ours.push(ms(run().await));
        counted.push((counter() - before) as f64);
        ideal.push(ms(plain_run(
            &plain,
            bearer,
            submit,
            &format!("plain-{i}"),
            d,
        )
        .await));
    }
    (ours, ideal, counted)
}

/// The oracle: submit, sleep exactly `d`, read the status until done.
async fn plain_run(
    plain: &reqwest::Client,
    bearer: &str,
    submit: &str,
    key: &str,
    d: Duration,
) -> Duration {
    let started = Instant::now();
    let body = if submit.ends_with("/execute") {
        json!({"versionId": "v2.1.0", "inputParameters": {"customerId": "CUST-1", "interactionType": "voice"}, "executionTimeoutMs": 45000})
    } else {
        json!({"input": {"customerId": "CUST-1"}})
    };
    let created: Value = ok(plain
        .post(submit)
        .header("authorization", bearer)
        .header("idempotency-key", key)
        .json(&body))
    .await
    .json()
    .await
    .unwrap_or_else(|e| panic!("{e}"));
    let status_url = match (created["jobId"].as_str(), created["id"].as_str()) {
        (Some(job), _) => format!("{}/jobs/{job}", submit.trim_end_matches("/execute")),
        (None, Some(exec)) => format!("{submit}/{exec}"),
        _ => panic!("no id in {created}"),
    };
    tokio::time::sleep(d).await;
    loop {
        let status: Value = plain
            .get(&status_url)
            .header("authorization", bearer)
            .send()
            .await
            .unwrap_or_else(|e| panic!("{e}"))
            .json()
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        if status["status"] == "COMPLETED" {
            return started.elapsed();
        }
    }
}

fn status_reads(sim: &Sim, part: &str) -> usize {
    sim.journal()
        .iter()
        .filter(|e| e.method == "GET" && e.path.contains(part))
        .count()
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

fn report(
    name: &str,
    d: Duration,
    mut ours: Vec<f64>,
    mut ideal: Vec<f64>,
    mut counts: Vec<f64>,
    what: &str,
    most: f64,
) {
    for v in [&mut ours, &mut ideal, &mut counts] {
        v.sort_by(f64::total_cmp);
    }
    let d_ms = ms(d);
    let target = 1.15 * d_ms + 20.0;
    let (ours_p50, ideal_p50) = (percentile(&ours, 0.5), percentile(&ideal, 0.5));
    println!("  {name}:");
    println!(
        "    ours      {ours_p50:8.1} ms  ({:.3}x the execution; max {:.1} ms; target <= {target:.0} ms)",
        ours_p50 / d_ms,
        percentile(&ours, 1.0)
    );
    println!(
        "    baseline  {ideal_p50:8.1} ms  ({:.3}x; plain reqwest polling at the ideal time)",
        ideal_p50 / d_ms
    );
    println!(
        "    {what} per run: median {:.0}, max {:.0} (target <= {most:.0})",
        percentile(&counts, 0.5),
        percentile(&counts, 1.0)
    );
}
