//! Issue 9 defects 5–7 and the CI-sized fault soak: a run is never lost to
//! one bad poll, a lost submission response is recovered through its
//! idempotency key, an unknown status ends the wait, and under the soak mix
//! every run completes exactly once.

use std::collections::BTreeSet;
use std::time::Duration;

use cx_sim::{Fault, FaultRule, Sim};
use cx_testkit::{faults_hit, fragile_http, soak_http, status_fault};
use cx_workflow::{Config, ErrorKind};
use futures::StreamExt;
use serde_json::{Value, json};

use crate::support::{
    Ctx, SEED_WORKFLOW_ID, TestResult, assert_unknown_outcome_naming, audited_client,
    counted_poller, event_types, fail, fast_config, seed_input, wf,
};

/// A simulator with `faults` set, and a [`fast_config`] client on the fragile
/// runtime settings.
async fn fragile(faults: Vec<FaultRule>) -> Result<Ctx, crate::support::BoxError> {
    let ctx = Ctx::with_client(
        Sim::builder().journal_capacity(100_000),
        fast_config(),
        crate::support::DEFAULT_CLIENT_ID,
        crate::support::DEFAULT_CLIENT_SECRET,
        Some(fragile_http()),
    )
    .await?;
    ctx.sim.set_faults(faults);
    Ok(ctx)
}

const STATUS_ROUTE: &str = "GET /api/v2/workflows/*/executions/*";
const SUBMIT_ROUTE: &str = "POST /api/v2/workflows/*/executions";

fn executions_path() -> String {
    format!("/api/v2/workflows/{SEED_WORKFLOW_ID}/executions?pageSize=1000")
}

#[tokio::test]
async fn polls_that_exhaust_a_calls_retries_do_not_end_the_run() -> TestResult {
    // 3 calls' worth of failures on the status route (2 attempts each).
    let ctx = fragile(vec![
        FaultRule::new(STATUS_ROUTE, status_fault(503)).with_times(4),
        FaultRule::new(STATUS_ROUTE, Fault::ConnectionReset).with_times(2),
    ])
    .await?;
    let report = ctx.run_seed().await?;
    assert!(report.succeeded(), "{report:?}");
    let statuses: Vec<u16> = ctx
        .api_requests("GET")
        .iter()
        .filter(|e| e.path.ends_with(&report.execution.id))
        .map(|e| e.status)
        .collect();
    assert_eq!(statuses[..6], [503, 503, 503, 503, 0, 0], "{statuses:?}");
    assert_eq!(statuses.last(), Some(&200));
    let answered = statuses.iter().filter(|s| **s == 200).count();
    assert_eq!(
        report.polls as usize,
        3 + answered,
        "3 failed polls count as polls"
    );
    assert_eq!(ctx.audit_events(), ["TRIGGERED", "EXECUTION_COMPLETED"]);
    Ok(())
}

#[tokio::test]
async fn polls_failing_until_the_limit_give_an_unknown_outcome_not_a_failure() -> TestResult {
    let ctx = fragile(vec![FaultRule::new(STATUS_ROUTE, status_fault(502))]).await?;
    let err = ctx.run_seed_err(counted_poller(Some(4))).await?;
    assert_eq!(err.kind(), ErrorKind::OutcomeUnknown, "{err}");
    assert!(err.is_outcome_unknown());
    let Some(exec_id) = err.execution_id().map(str::to_owned) else {
        return fail("the error must name the execution");
    };
    let text = err.to_string();
    assert!(
        text.starts_with("unknown outcome") && text.contains(&exec_id) && text.contains("HTTP 502"),
        "{text}"
    );
    assert_eq!(
        ctx.audit_events(),
        ["TRIGGERED", "EXECUTION_OUTCOME_UNKNOWN"]
    );
    let last = ctx.last_audit_payload().unwrap_or_default();
    assert_eq!(last["executionId"], json!(exec_id));
    assert_eq!(last["errorKind"], json!("outcome_unknown"));
    // The execution is alive server-side: it was right not to call it failed.
    ctx.sim.set_faults(vec![]);
    let seen = ctx
        .client
        .execution(&wf(SEED_WORKFLOW_ID)?, &exec_id)
        .await?;
    assert_ne!(seen.status.as_str(), "FAILED");
    Ok(())
}

#[tokio::test]
async fn a_lost_submission_response_is_recovered_through_the_key() -> TestResult {
    // The first 2 calls (2 attempts each) create the execution, then lose
    // the answer; the third gets the stored answer back.
    let ctx = fragile(vec![
        FaultRule::new(SUBMIT_ROUTE, Fault::StatusAfterProcessing { status: 500 }).with_times(4),
    ])
    .await?;
    let report = ctx.run_seed().await?;
    assert!(report.succeeded());
    let posts = ctx.posts();
    assert_eq!(
        posts.iter().map(|e| e.status).collect::<Vec<_>>(),
        [500, 500, 500, 500, 201]
    );
    assert!(
        posts
            .iter()
            .all(|e| e.idempotency_key.as_deref() == Some(report.idempotency_key.as_str()))
    );
    ctx.sim.set_faults(vec![]);
    let (server, total) = listed(&ctx, &executions_path()).await?;
    assert_eq!(total, json!(1), "one execution, not 5");
    assert_eq!(server, BTreeSet::from([report.execution.id.clone()]));
    Ok(())
}

#[tokio::test]
async fn an_unreadable_201_to_the_submission_is_an_unknown_outcome_naming_the_key() -> TestResult {
    // The execution is created, then its 201 answer is replaced by one that
    // is not an execution: it exists, so the caller must get the key that
    // finds it, and the audit must not say nothing was created.
    let ctx = fragile(vec![
        FaultRule::new(SUBMIT_ROUTE, Fault::StatusAfterProcessing { status: 201 }).with_times(1),
    ])
    .await?;
    let id = wf(SEED_WORKFLOW_ID)?;
    let key = "run-with-an-unreadable-201";
    let run = || ctx.client.run(&id).input(seed_input()).idempotency_key(key);
    let Err(err) = run().send().await else {
        return fail("an unreadable 201 is no report");
    };
    assert_unknown_outcome_naming(&err, &[key, "answered 201"]);
    assert_eq!(ctx.audit_events(), ["EXECUTION_OUTCOME_UNKNOWN"]);
    let last = ctx.last_audit_payload().unwrap_or_default();
    assert_eq!(last["idempotencyKey"], json!(key));
    // The key finds it: the same run again is the same execution.
    let report = run().send().await?;
    let (server, total) = listed(&ctx, &executions_path()).await?;
    assert_eq!(total, json!(1), "one execution, not 2");
    assert_eq!(server, BTreeSet::from([report.execution.id.clone()]));
    Ok(())
}

#[tokio::test]
async fn an_unusable_execution_id_in_a_201_is_an_unknown_outcome_not_a_failed_trigger() -> TestResult
{
    // A server that created the execution but named it with an id no URL
    // can hold: it exists, so the audit must not say nothing was created.
    let wf_path = format!("/api/v2/workflows/{SEED_WORKFLOW_ID}");
    let definition = json!({"id": SEED_WORKFLOW_ID, "name": "Routing", "status": "ACTIVE",
        "inputVariables": [{"name": "customerId", "type": "STRING"}]})
    .to_string();
    let created =
        json!({"id": "exec 1", "workflowId": SEED_WORKFLOW_ID, "status": "PENDING"}).to_string();
    let http = cx_testkit::canned_http(&[
        (&format!("POST {wf_path}/executions"), 201, &created),
        (&format!("GET {wf_path}?"), 200, &definition),
    ]);
    let (client, audit) = audited_client(http);
    let id = wf(SEED_WORKFLOW_ID)?;
    let key = "run-with-an-unusable-id";
    let Err(err) = client
        .run(&id)
        .input_value("customerId", json!("C1"))
        .idempotency_key(key)
        .send()
        .await
    else {
        return fail("an unusable id is no report");
    };
    assert_unknown_outcome_naming(&err, &[key, "exec 1"]);
    assert_eq!(event_types(&audit), ["EXECUTION_OUTCOME_UNKNOWN"]);
    Ok(())
}

#[tokio::test]
async fn an_unknown_status_ends_the_wait_at_once_naming_it() -> TestResult {
    let ctx = fragile(vec![FaultRule::new(
        STATUS_ROUTE,
        Fault::ReportStatus {
            value: "SUSPENDED".to_owned(),
        },
    )])
    .await?;
    let Err(err) = ctx.run_seed().await else {
        return fail("SUSPENDED is not a status this client knows");
    };
    assert_eq!(err.kind(), ErrorKind::UnknownStatus, "{err}");
    let Some(exec_id) = err.execution_id().map(str::to_owned) else {
        return fail("the error must name the execution");
    };
    let text = err.to_string();
    assert!(
        text.contains("SUSPENDED") && text.contains(&exec_id),
        "{text}"
    );
    let polls = ctx
        .api_requests("GET")
        .iter()
        .filter(|e| e.path.ends_with(&exec_id))
        .count();
    assert_eq!(polls, 1, "the first unknown status ends the wait");
    assert_eq!(
        ctx.audit_events(),
        ["TRIGGERED", "EXECUTION_OUTCOME_UNKNOWN"]
    );
    Ok(())
}

/// The config the soak runs under (with [`soak_http`]): a fast poller with a
/// 120 s deadline.
fn soak_config() -> Config {
    let config = fast_config();
    let poller = config
        .poller
        .clone()
        .with_deadline(Some(Duration::from_secs(120)))
        .with_max_polls(None);
    config.with_poller(poller)
}

/// A simulator from `builder` under the soak mix, and a client for it.
async fn soak_ctx(builder: cx_sim::SimBuilder) -> Result<Ctx, crate::support::BoxError> {
    Ctx::with_client(
        builder
            .journal_capacity(200_000)
            .faults(cx_sim::soak_faults()),
        soak_config(),
        crate::support::DEFAULT_CLIENT_ID,
        crate::support::DEFAULT_CLIENT_SECRET,
        Some(soak_http()),
    )
    .await
}

/// The `id`s of the `{totalCount, items}` list at `path`, and its `totalCount`.
async fn listed(
    ctx: &Ctx,
    path: &str,
) -> Result<(BTreeSet<String>, Value), crate::support::BoxError> {
    let body = ctx.get_json(path).await?;
    let ids = body["items"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|e| e["id"].as_str().map(str::to_owned))
        .collect();
    Ok((ids, body["totalCount"].clone()))
}

#[tokio::test]
async fn soak_200_executions_at_concurrency_20_all_complete_exactly_once() -> TestResult {
    const RUNS: usize = 200;
    let ctx = soak_ctx(Sim::builder().seed(9)).await?;
    let id = wf(SEED_WORKFLOW_ID)?;
    let results: Vec<_> = futures::stream::iter(0..RUNS)
        .map(|i| {
            let (client, id) = (&ctx.client, &id);
            async move {
                client
                    .run(id)
                    .input_value("customerId", json!(format!("CUST-{i}")))
                    .input_value("priorityScore", json!(50))
                    .send()
                    .await
            }
        })
        .buffer_unordered(20)
        .collect()
        .await;
    let mut ids = BTreeSet::new();
    for r in &results {
        match r {
            Ok(report) if report.succeeded() => {
                ids.insert(report.execution.id.clone());
            }
            Ok(report) => return fail(format!("ended {}", report.execution.status)),
            Err(e) => return fail(format!("a run did not complete: {e}")),
        }
    }
    assert_eq!(ids.len(), RUNS, "every run has its own execution");
    let faults = faults_hit(&ctx.sim);
    ctx.sim.set_faults(vec![]);
    // 0 duplicates, 0 orphans: the server holds exactly the reported executions.
    let (server, total) = listed(&ctx, &executions_path()).await?;
    assert_eq!(total, json!(RUNS));
    assert_eq!(server, ids);
    // One execution per idempotency key: every created key was answered once.
    let keys: BTreeSet<String> = ctx
        .posts()
        .into_iter()
        .filter_map(|e| e.idempotency_key)
        .collect();
    assert_eq!(keys.len(), RUNS);
    // Audit counts exact.
    let events = ctx.audit_events();
    let count = |name: &str| events.iter().filter(|e| *e == name).count();
    assert_eq!(count("TRIGGERED"), RUNS);
    assert_eq!(count("EXECUTION_COMPLETED"), RUNS);
    assert_eq!(events.len(), 2 * RUNS, "nothing else was audited");
    assert!(faults > RUNS, "the mix must have hit: {faults} faults");
    Ok(())
}

#[tokio::test]
async fn soak_60_triggers_all_create_exactly_one_instance() -> TestResult {
    const RUNS: usize = 60;
    let ctx = soak_ctx(Sim::builder().seed(10).max_concurrent_instances(1000)).await?;
    let results: Vec<_> = futures::stream::iter(0..RUNS)
        .map(|i| {
            let client = &ctx.client;
            async move {
                let payload = cx_testkit::customer_trigger(SEED_WORKFLOW_ID, i)?;
                client.trigger(payload).skip_capacity_check().send().await
            }
        })
        .buffer_unordered(20)
        .collect()
        .await;
    let mut ids = BTreeSet::new();
    for r in results {
        ids.insert(r?.instance_id);
    }
    assert_eq!(ids.len(), RUNS);
    ctx.sim.set_faults(vec![]);
    let path = format!("/api/v2/workflows/instances?workflowId={SEED_WORKFLOW_ID}&pageSize=1000");
    let (server, total) = listed(&ctx, &path).await?;
    assert_eq!(total, json!(RUNS), "0 duplicates, 0 orphans");
    assert_eq!(server, ids);
    let events = ctx.audit_events();
    assert_eq!(events.len(), RUNS);
    assert!(
        events.iter().all(|e| e == "WORKFLOW_TRIGGERED"),
        "{events:?}"
    );
    Ok(())
}
