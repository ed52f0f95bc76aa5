//! Fault soak (issue 9): full-size runs of `cx workflow run`'s, `cx workflow
//! trigger`'s and `cx dataaction run`'s SDK flows against one simulator
//! that injects 20% 429, 10% 5xx (half of them after the handler ran, i.e.
//! lost responses) and 5% connection resets on every route, the token
//! endpoint included, from a fixed seed ([`cx_sim::soak_faults`]).
//!
//! Prints per flow: runs completed / unknown outcome / failed, the
//! resources the simulator holds, duplicates (server resources beyond one
//! per run) and orphans (server resources no completed run reported), audit
//! record counts, faults injected and wall time.
//!
//! `cargo bench -p cx-benches --bench fault_soak`
//! Environment: `SOAK_EXECUTIONS` (1000), `SOAK_TRIGGERS` (300),
//! `SOAK_DATAACTIONS` (300), `SOAK_CONCURRENCY` (20), `SOAK_SEED` (9),
//! `SOAK_BREAKER_OPEN_MS` (circuit-breaker open time, default 1000 ms; the
//! runtime's default is 30 s, which only stretches the wall time).
//!
//! Runtime settings are the defaults otherwise; polling is the `cx` CLI's
//! (first poll after 100 ms, then 150 ms ×1.5 capped at 5 s) with its
//! default `--timeout` of 300 s as the operation deadline.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::{Duration, Instant};

use cx_audit::MemorySink;
use cx_benches::{WF_ID, env_or, runtime, sdk_client, sim_with_action};
use cx_http::Poller;
use futures::StreamExt;
use serde_json::{Value, json};

fn cli_poller() -> Poller {
    Poller::default()
        .with_first_delay(Duration::from_millis(100))
        .with_initial_delay(Duration::from_millis(150))
        .with_deadline(Some(Duration::from_secs(300)))
}

fn http_config() -> cx_http::Config {
    cx_http::Config::default()
        .with_breaker(Some(cx_http::BreakerConfig::default().with_open_for(
            Duration::from_millis(env_or("SOAK_BREAKER_OPEN_MS", 1000)),
        )))
}

/// What one flow's soak saw.
struct Figures {
    flow: &'static str,
    runs: usize,
    completed: usize,
    unknown: usize,
    failed: usize,
    server: usize,
    duplicates: usize,
    orphans: usize,
    audit: String,
    faults: usize,
    wall: Duration,
}

impl Figures {
    fn print(&self) {
        println!(
            "{:<18} runs {:>5}  completed {:>5}  unknown {:>3}  failed {:>3}  server {:>5}  duplicates {:>3}  orphans {:>3}  faults {:>6}  wall {:>7.1} s  audit {}",
            self.flow,
            self.runs,
            self.completed,
            self.unknown,
            self.failed,
            self.server,
            self.duplicates,
            self.orphans,
            self.faults,
            self.wall.as_secs_f64(),
            self.audit
        );
    }
}

/// The ids in `items` of a `{totalCount, items}` list at `path` (faults off).
async fn listed(http: &cx_http::Client, path: &str, field: &str) -> BTreeSet<String> {
    let body: Value = match http.link(cx_http::Method::GET, path).send_json().await {
        Ok(b) => b,
        Err(e) => panic!("listing {path}: {e}"),
    };
    body["items"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|i| i[field].as_str().map(str::to_owned))
        .collect()
}

fn counts(sink: &MemorySink) -> String {
    let mut by: std::collections::BTreeMap<String, usize> = Default::default();
    for r in sink.records() {
        *by.entry(r.event_type.to_string()).or_default() += 1;
    }
    format!("{by:?}")
}

fn tally(
    flow: &'static str,
    outcomes: &[Result<String, bool>],
    server: &BTreeSet<String>,
    audit: String,
    faults: usize,
    wall: Duration,
) -> Figures {
    let done: BTreeSet<&String> = outcomes.iter().filter_map(|o| o.as_ref().ok()).collect();
    Figures {
        flow,
        runs: outcomes.len(),
        completed: done.len(),
        unknown: outcomes.iter().filter(|o| matches!(o, Err(true))).count(),
        failed: outcomes.iter().filter(|o| matches!(o, Err(false))).count(),
        server: server.len(),
        duplicates: server.len().saturating_sub(outcomes.len()),
        orphans: server.iter().filter(|id| !done.contains(id)).count(),
        audit,
        faults,
        wall,
    }
}

/// `one(i)` for each `i` in `0..n`, `concurrency` at a time: the outcomes
/// in the order they end.
async fn each<F: Future<Output = Result<String, bool>>>(
    n: usize,
    concurrency: usize,
    one: impl Fn(usize) -> F,
) -> Vec<Result<String, bool>> {
    futures::stream::iter(0..n)
        .map(one)
        .buffer_unordered(concurrency)
        .collect()
        .await
}

/// The outcome of run `i` of `flow` that ended with `err` (printed):
/// `Err(true)` when it is unknown, `Err(false)` for a failure.
fn lost(flow: &str, i: usize, err: &dyn std::fmt::Display, unknown: bool) -> Result<String, bool> {
    eprintln!("{flow} {i}: {err}");
    Err(unknown)
}

async fn soak(sim: &cx_sim::Sim, flow: &'static str, n: usize, concurrency: usize) -> Figures {
    let http = sdk_client(sim, http_config());
    let audit = Arc::new(MemorySink::new());
    sim.clear_journal();
    sim.set_faults(cx_sim::soak_faults());
    let started = Instant::now();
    let outcomes: Vec<Result<String, bool>> = match flow {
        "workflow run" => {
            let client = cx_workflow::Client::new(
                http.clone(),
                cx_workflow::Config::default()
                    .with_poller(cli_poller())
                    .with_definition_ttl(Duration::ZERO),
            )
            .with_audit(audit.clone());
            let id = cx_workflow::WorkflowId::new(WF_ID).unwrap_or_else(|e| panic!("{e}"));
            each(n, concurrency, |i| {
                let (client, id) = (&client, &id);
                async move {
                    match client
                        .run(id)
                        .input_value("customerId", json!(format!("CUST-{i}")))
                        .input_value("priorityScore", json!(50))
                        .send()
                        .await
                    {
                        Ok(r) if r.succeeded() => Ok(r.execution.id),
                        Ok(_) => Err(false),
                        Err(e) => lost("run", i, &e, e.is_outcome_unknown()),
                    }
                }
            })
            .await
        }
        "workflow trigger" => {
            let client = cx_workflow::Client::new(
                http.clone(),
                cx_workflow::Config::default().with_poller(cli_poller()),
            )
            .with_audit(audit.clone());
            each(n, concurrency, |i| {
                let client = &client;
                async move {
                    let payload =
                        cx_testkit::customer_trigger(WF_ID, i).unwrap_or_else(|e| panic!("{e}"));
                    match client.trigger(payload).skip_capacity_check().send().await {
                        Ok(r) => Ok(r.instance_id),
                        Err(e) => lost("trigger", i, &e, e.is_outcome_unknown()),
                    }
                }
            })
            .await
        }
        _ => {
            let client = cx_dataaction::Client::new(
                http.clone(),
                cx_dataaction::Config::default().with_poller(
                    cx_dataaction::Config::default_poller()
                        .with_deadline(Some(Duration::from_secs(120))),
                ),
            )
            .with_audit(audit.clone());
            let id = cx_dataaction::ActionId::new("DA-SOAK-0001").unwrap_or_else(|e| panic!("{e}"));
            each(n, concurrency, |i| {
                let (client, id) = (&client, &id);
                async move {
                    let payload = cx_dataaction::Payload::new("v2.1.0")
                        .param("customerId", json!(format!("CUST-{i}")))
                        .param("interactionType", json!("voice"));
                    match client.run(id, payload).send().await {
                        Ok(r) => Ok(r.job.job_id),
                        Err(e) => lost("data action", i, &e, e.is_outcome_unknown()),
                    }
                }
            })
            .await
        }
    };
    let wall = started.elapsed();
    let faults = cx_testkit::faults_hit(sim);
    sim.set_faults(vec![]);
    let server = match flow {
        "workflow run" => {
            listed(
                &http,
                &format!("/api/v2/workflows/{WF_ID}/executions?pageSize=1000"),
                "id",
            )
            .await
        }
        "workflow trigger" => {
            listed(
                &http,
                &format!("/api/v2/workflows/instances?workflowId={WF_ID}&pageSize=1000"),
                "id",
            )
            .await
        }
        _ => listed(&http, "/api/v2/dataactions/DA-SOAK-0001/jobs", "jobId").await,
    };
    tally(flow, &outcomes, &server, counts(&audit), faults, wall)
}

fn main() {
    let rt = runtime();
    rt.block_on(async {
        let concurrency = env_or("SOAK_CONCURRENCY", 20) as usize;
        let sim = sim_with_action(
            cx_sim::Sim::builder()
                .seed(env_or("SOAK_SEED", 9))
                .journal_capacity(2_000_000)
                .max_concurrent_instances(100_000),
            cx_sim::DataActionFixture::new("DA-SOAK-0001", "soak"),
        )
        .await;
        let plan = [
            ("workflow run", env_or("SOAK_EXECUTIONS", 1000)),
            ("workflow trigger", env_or("SOAK_TRIGGERS", 300)),
            ("dataaction run", env_or("SOAK_DATAACTIONS", 300)),
        ];
        println!("fault soak: 20% 429 / 10% 5xx / 5% resets on every route, seed {}, concurrency {concurrency}", env_or("SOAK_SEED", 9));
        for (flow, n) in plan {
            soak(&sim, flow, n as usize, concurrency).await.print();
        }
    });
}
