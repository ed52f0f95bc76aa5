//! Seeds 000 and 001 through the whole SDK.

use std::time::Duration;

use cx_audit::{ExportQuery, MemorySink, export_audit_logs};
use cx_sim::{Fault, FaultRule, RetryAfter, Sim};
use cx_workflow::WorkflowId;
use futures::StreamExt;
use serde_json::{Value, json};

use crate::support::{WF, audit_records, count, workflow_client};

fn seed_input() -> serde_json::Map<String, Value> {
    match json!({"customerId": "CUST-99887", "priorityScore": 85}) {
        Value::Object(m) => m,
        _ => unreachable!(),
    }
}

/// Seed 000 end to end: the local audit trail and CXone's own audit log
/// both account for the execution.
#[tokio::test]
async fn an_execution_is_accounted_for_locally_and_in_the_cxone_audit_log() {
    let sim = Sim::start().await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let (client, http) = workflow_client(&sim, dir.path()).await;
    let id: WorkflowId = WF.parse().unwrap();
    let report = client.run(&id).input(seed_input()).send().await.unwrap();
    assert!(report.succeeded());
    let exec_id = report.execution.id.clone();

    let local = audit_records(dir.path());
    let events: Vec<&str> = local.iter().map(|r| r.event_type.as_str()).collect();
    assert_eq!(events, ["TRIGGERED", "EXECUTION_COMPLETED"]);
    assert!(local.iter().all(|r| r.payload()["executionId"] == exec_id));

    let remote = MemorySink::new();
    let query = ExportQuery::default()
        .with_resource_type("workflow_execution")
        .with_resource_id(WF)
        .with_page_size(1);
    export_audit_logs(&http, &query, &remote).await.unwrap();
    let actions: Vec<String> = remote
        .records()
        .iter()
        .filter(|r| r.payload()["details"]["executionId"] == exec_id)
        .map(|r| r.event_type.to_string())
        .collect();
    assert_eq!(actions, ["EXECUTION_CREATED", "EXECUTION_COMPLETED"]);
}

/// A token revoked while an execution is being polled is replaced once and
/// the poll replayed; the execution still completes.
#[tokio::test]
async fn a_token_that_expires_mid_run_is_refreshed_once() {
    let sim = Sim::start().await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let (client, _) = workflow_client(&sim, dir.path()).await;
    let id: WorkflowId = "wf_slow_0001".parse().unwrap();
    let run = client.run(&id).input(seed_input()).send();
    // Revoke once the first status poll has been answered: the next poll
    // meets a 401 mid-run.
    let revoke = async {
        let polled = |j: &[cx_sim::JournalEntry]| {
            j.iter()
                .any(|e| e.method == "GET" && e.path.contains("/executions/") && e.status == 200)
        };
        sim.wait_for_journal(Duration::from_secs(60), polled)
            .await
            .unwrap();
        sim.revoke_tokens();
    };
    let (report, ()) = tokio::join!(run, revoke);
    assert!(report.unwrap().succeeded());
    assert_eq!(count(&sim, "POST", "/oauth/token"), 2);
    let unauthorized = sim.journal().iter().filter(|e| e.status == 401).count();
    assert_eq!(unauthorized, 1, "one rejected poll, then the replay");
}

/// 60 executions at once while the simulator throws 429s and loses POST
/// responses: every execution runs exactly once on the server, and every
/// outcome is in the local audit log.
#[tokio::test]
async fn under_faults_no_execution_is_duplicated_or_lost() {
    let sim = Sim::builder()
        .seed(7)
        .faults(vec![
            FaultRule::new(
                "POST /api/v2/workflows/*/executions",
                Fault::StatusAfterProcessing { status: 502 },
            )
            .with_probability(0.2),
            FaultRule::new(
                "GET /api/v2/workflows/*/executions/*",
                Fault::Status {
                    status: 429,
                    retry_after: Some(RetryAfter::Seconds(0)),
                },
            )
            .with_probability(0.2),
        ])
        .start()
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let (client, http) = workflow_client(&sim, dir.path()).await;
    let id: WorkflowId = WF.parse().unwrap();
    let outcomes: Vec<_> = futures::stream::iter(0..60)
        .map(|i| {
            let client = client.clone();
            let id = id.clone();
            async move {
                let mut input = seed_input();
                input.insert("customerId".into(), json!(format!("C{i}")));
                client.run(&id).input(input).send().await
            }
        })
        .buffer_unordered(20)
        .collect()
        .await;
    let completed: Vec<String> = outcomes
        .iter()
        .filter_map(|o| o.as_ref().ok())
        .map(|r| r.execution.id.clone())
        .collect();
    let failed = outcomes.iter().filter(|o| o.is_err()).count();
    assert_eq!(completed.len() + failed, 60);
    assert!(
        completed.len() >= 50,
        "only {} completed: {outcomes:?}",
        completed.len()
    );

    // The server created exactly one execution per successful submission.
    let remote = MemorySink::new();
    let query = ExportQuery::default().with_resource_type("workflow_execution");
    export_audit_logs(&http, &query, &remote).await.unwrap();
    let created = remote
        .records()
        .iter()
        .filter(|r| r.event_type == "EXECUTION_CREATED")
        .count();
    // Each submission is processed on its first attempt (the fault strikes
    // after processing); its retries reuse the key, so there are exactly 60.
    assert_eq!(created, 60, "duplicated or lost executions");

    // Every execution left a TRIGGERED record (or TRIGGER_FAILED) and an outcome.
    let local = audit_records(dir.path());
    let triggered = local.iter().filter(|r| r.event_type == "TRIGGERED").count();
    let trigger_failed = local
        .iter()
        .filter(|r| r.event_type == "TRIGGER_FAILED")
        .count();
    let ended = local
        .iter()
        .filter(|r| r.event_type == "EXECUTION_COMPLETED" || r.event_type == "EXECUTION_FAILED")
        .count();
    assert_eq!(triggered + trigger_failed, 60);
    assert_eq!(ended, triggered);
}

/// Seed 001: an instance triggered with the seed's four typed context variables.
#[tokio::test]
async fn the_seed_001_example_triggers_an_instance_with_typed_context() {
    let sim = Sim::start().await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let (client, http) = workflow_client(&sim, dir.path()).await;
    let payload = cx_testkit::seed_trigger(WF).unwrap();
    let report = client.trigger(payload).send().await.unwrap();
    let instance: Value = http
        .get(
            cx_http::ApiPath::new("/api/v2/workflows/instances")
                .id("instance_id", &report.instance_id),
        )
        .send_json()
        .await
        .unwrap();
    assert_eq!(instance["priority"], 2);
    assert_eq!(instance["context"]["priorityScore"], 85);
    assert_eq!(instance["context"]["requiresCallback"], true);
    assert_eq!(instance["metadata"]["batchId"], "BATCH-001");
    let id: WorkflowId = WF.parse().unwrap();
    let stats = client.trigger_metrics(&id);
    assert_eq!(stats.success, 1);
    let local = audit_records(dir.path());
    assert_eq!(local.len(), 1);
    assert_eq!(local[0].payload()["instanceId"], report.instance_id);
}
