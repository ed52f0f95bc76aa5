//! Workflow instances (seed 001) over real HTTP.

use std::time::Duration;

use crate::support::*;
use reqwest::StatusCode;
use serde_json::{Value, json};

/// `POST /api/v2/workflows/instances` with `body`: the answer's status.
async fn create(ctx: &Ctx, body: &Value) -> StatusCode {
    ctx.post("/api/v2/workflows/instances", body).await.status()
}

fn seed_context() -> Value {
    json!({
        "customerId": "CUST-99887",
        "priorityScore": 85,
        "requiresCallback": true,
        "routingMetadata": {"channel": "voice", "queue": "sales"}
    })
}

#[tokio::test]
async fn create_get_and_complete_an_instance() {
    let ctx = Ctx::new().await;
    let resp = ctx
        .post(
            "/api/v2/workflows/instances",
            &json!({
                "workflowId": SEED_WORKFLOW_ID,
                "priority": 2,
                "context": seed_context(),
                "metadata": {"sourceSystem": "erp_sync_module", "batchId": "BATCH-001"}
            }),
        )
        .await;
    let inst: Value = json_with(resp, StatusCode::CREATED).await;
    let id = inst["id"].as_str().unwrap();
    assert!(id.starts_with("inst_"), "{id}");
    assert_eq!(inst["status"], "RUNNING");
    assert_eq!(inst["priority"], 2);
    assert_eq!(inst["context"], seed_context());
    assert_eq!(inst["metadata"]["batchId"], "BATCH-001");
    assert!(inst["createdAt"].as_str().unwrap().ends_with('Z'));

    let got = ctx
        .get_json(&format!("/api/v2/workflows/instances/{id}"))
        .await;
    assert_eq!(got["id"], id);

    ctx.sim.advance_clock(Duration::from_secs(1));
    let done = ctx
        .get_json(&format!("/api/v2/workflows/instances/{id}"))
        .await;
    assert_eq!(done["status"], "COMPLETED");
    assert_eq!(done["output"]["routingDecision"], "priority-queue");
    assert!(done["completedAt"].is_string());

    let resp = ctx.get("/api/v2/workflows/instances/inst_nope").await;
    assert_eq!(resp.status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn invalid_instance_payloads_name_the_field() {
    let ctx = Ctx::new().await;
    let cases = [
        (
            json!({"workflowId": SEED_WORKFLOW_ID, "priority": 0, "context": {}}),
            "priority",
        ),
        (
            json!({"workflowId": SEED_WORKFLOW_ID, "priority": 11, "context": {}}),
            "priority",
        ),
        (
            json!({"workflowId": SEED_WORKFLOW_ID, "priority": 2.5, "context": {}}),
            "priority",
        ),
        (
            json!({"workflowId": SEED_WORKFLOW_ID, "priority": "2", "context": {}}),
            "priority",
        ),
        (
            json!({"workflowId": SEED_WORKFLOW_ID, "priority": 2, "context": {"priorityScore": "85"}}),
            "context.priorityScore",
        ),
        (
            json!({"workflowId": SEED_WORKFLOW_ID, "priority": 2, "context": {"priorityScore": 85.5}}),
            "context.priorityScore",
        ),
        (
            json!({"workflowId": SEED_WORKFLOW_ID, "priority": 2, "context": {"requiresCallback": "true"}}),
            "context.requiresCallback",
        ),
        (
            json!({"workflowId": SEED_WORKFLOW_ID, "priority": 2, "context": {"nope": 1}}),
            "context.nope",
        ),
        (
            json!({"workflowId": SEED_WORKFLOW_ID, "priority": 2, "context": {}, "metadata": {"n": 1}}),
            "metadata.n",
        ),
        (json!({"priority": 2, "context": {}}), "workflowId"),
    ];
    for (body, field) in cases {
        let resp = ctx.post("/api/v2/workflows/instances", &body).await;
        assert_eq!(resp.status(), StatusCode::BAD_REQUEST, "{body}");
        let err: Value = resp.json().await.unwrap();
        assert_eq!(err["error"], "invalid_payload");
        let details = err["details"].as_array().unwrap();
        assert!(details.iter().any(|d| d["field"] == field), "{body}: {err}");
    }
    for (workflow, status) in [
        ("wf_nope", StatusCode::NOT_FOUND),
        ("wf_draft_0001", StatusCode::CONFLICT),
    ] {
        let body = json!({"workflowId": workflow, "priority": 1, "context": {}});
        let resp = ctx.post("/api/v2/workflows/instances", &body).await;
        assert_eq!(resp.status(), status, "{workflow}");
    }
}

#[tokio::test]
async fn concurrent_instance_limit_answers_429_with_retry_after() {
    let ctx = Ctx::start(Sim::builder().max_concurrent_instances(2)).await;
    let body = json!({"workflowId": "wf_stuck_0001", "priority": 5, "context": {}});
    for _ in 0..2 {
        let resp = ctx.post("/api/v2/workflows/instances", &body).await;
        assert_eq!(resp.status(), StatusCode::CREATED);
    }
    let resp = ctx.post("/api/v2/workflows/instances", &body).await;
    assert_eq!(resp.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(resp.headers()["retry-after"], "1");
    let err: Value = resp.json().await.unwrap();
    assert_eq!(err["error"], "concurrent_instance_limit");

    // The limit is per workflow; a workflow whose instances finish frees slots.
    ctx.sim.add_workflow(
        cx_sim::DEFAULT_TENANT,
        cx_sim::WorkflowFixture::new("wf_ten_sec", "Ten seconds")
            .with_duration(Duration::from_secs(10)),
    );
    let slow = json!({"workflowId": "wf_ten_sec", "priority": 5, "context": {}});
    for _ in 0..2 {
        assert_eq!(create(&ctx, &slow).await, StatusCode::CREATED);
    }
    assert_eq!(create(&ctx, &slow).await, StatusCode::TOO_MANY_REQUESTS);
    ctx.sim.advance_clock(Duration::from_secs(11));
    assert_eq!(create(&ctx, &slow).await, StatusCode::CREATED);

    // The seed's capacity check: running count via the list endpoint.
    let list = ctx
        .get_json("/api/v2/workflows/instances?workflowId=wf_stuck_0001&status=running&pageSize=1")
        .await;
    assert_eq!(list["totalCount"], 2);
    assert_eq!(list["items"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn list_instances_filters() {
    let ctx = Ctx::new().await;
    for wf in ["wf_stuck_0001", "wf_failing_0001", SEED_WORKFLOW_ID] {
        let body = json!({"workflowId": wf, "priority": 3, "context": {}});
        assert_eq!(create(&ctx, &body).await, StatusCode::CREATED);
    }
    ctx.sim.advance_clock(Duration::from_secs(1));
    let cases = [
        ("", 3),
        ("?status=running", 1),
        ("?status=COMPLETED", 1),
        ("?status=failed", 1),
        ("?workflowId=wf_failing_0001", 1),
        ("?workflowId=wf_failing_0001&status=running", 0),
    ];
    for (query, want) in cases {
        let list = ctx
            .get_json(&format!("/api/v2/workflows/instances{query}"))
            .await;
        assert_eq!(list["totalCount"], want, "{query}");
    }
    let failed = ctx
        .get_json("/api/v2/workflows/instances?status=failed")
        .await;
    assert_eq!(
        failed["items"][0]["errors"][0]["code"],
        "DOWNSTREAM_TIMEOUT"
    );
    for bad in ["?pageSize=0", "?pageSize=x", "?status=weird"] {
        let resp = ctx.get(&format!("/api/v2/workflows/instances{bad}")).await;
        assert_eq!(resp.status(), StatusCode::BAD_REQUEST, "{bad}");
    }
}

#[tokio::test]
async fn instance_idempotency_key_replays() {
    let ctx = Ctx::new().await;
    let body = json!({"workflowId": SEED_WORKFLOW_ID, "priority": 1, "context": {}});
    let path = "/api/v2/workflows/instances";
    let [a, b] = post_twice(&ctx, path, "inst-key", &body, StatusCode::CREATED).await;
    assert_eq!(a["id"], b["id"]);
    let list = ctx.get_json("/api/v2/workflows/instances").await;
    assert_eq!(list["totalCount"], 1);
}
