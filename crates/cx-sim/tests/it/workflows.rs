//! Workflows and executions (seed 000) over real HTTP.

use std::time::Duration;

use crate::support::*;
use reqwest::StatusCode;
use serde_json::{Value, json};

#[tokio::test]
async fn workflow_definition_has_seed_shape() {
    let ctx = Ctx::new().await;
    let resp = ctx
        .get(&format!(
            "/api/v2/workflows/{SEED_WORKFLOW_ID}?expand=inputVariables"
        ))
        .await;
    let wf: Value = json_with(resp, StatusCode::OK).await;
    assert_eq!(wf["id"], SEED_WORKFLOW_ID);
    assert_eq!(wf["name"], "Customer Priority Routing");
    assert_eq!(wf["status"], "ACTIVE");
    assert_eq!(
        wf["inputVariables"],
        json!([
            {"name": "customerId", "type": "STRING"},
            {"name": "priorityScore", "type": "NUMBER"},
            {"name": "requiresCallback", "type": "BOOLEAN"},
            {"name": "routingMetadata", "type": "OBJECT"},
        ])
    );
    assert_eq!(
        wf["contextVariables"][1],
        json!({"name": "priorityScore", "type": "integer"})
    );
    assert_eq!(wf["maxConcurrentInstances"], 25);

    let statuses = [
        ("wf_deployed_0001", "DEPLOYED"),
        ("wf_draft_0001", "DRAFT"),
        ("wf_archived_0001", "ARCHIVED"),
        ("wf_failing_0001", "ACTIVE"),
        ("wf_stuck_0001", "ACTIVE"),
        ("wf_slow_0001", "ACTIVE"),
    ];
    for (id, status) in statuses {
        let wf = ctx.get_json(&format!("/api/v2/workflows/{id}")).await;
        assert_eq!(wf["status"], status, "{id}");
    }

    let resp = ctx.get("/api/v2/workflows/wf_nope").await;
    let body: Value = json_with(resp, StatusCode::NOT_FOUND).await;
    assert_eq!(body["error"], "not_found");
}

#[tokio::test]
async fn execution_runs_to_completed_with_output() {
    let ctx = Ctx::new().await;
    let created = ctx.execute(SEED_WORKFLOW_ID, seed_input(85)).await;
    let id = created["id"].as_str().unwrap();
    assert!(id.starts_with("exec_"), "{id}");
    assert_eq!(created["workflowId"], SEED_WORKFLOW_ID);
    assert_eq!(created["status"], "PENDING");
    let started = created["startedAt"].as_str().unwrap();
    assert!(started.ends_with('Z') && started.len() == 24, "{started}");

    let done = ctx.wait_terminal(SEED_WORKFLOW_ID, id).await;
    assert_eq!(done["status"], "COMPLETED");
    assert_eq!(done["startedAt"], started);
    let completed =
        chrono::DateTime::parse_from_rfc3339(done["completedAt"].as_str().unwrap()).unwrap();
    let started_at = chrono::DateTime::parse_from_rfc3339(started).unwrap();
    assert_eq!((completed - started_at).num_milliseconds(), 300);
    let output = &done["output"];
    assert_eq!(output["executionId"], id);
    assert_eq!(output["echo"], seed_input(85));
    assert_eq!(output["routingDecision"], "priority-queue");
    assert_eq!(output["customerTier"], "gold");
    assert_eq!(output["processedAt"], done["completedAt"]);
    assert!(done.get("errors").is_none());
}

#[tokio::test]
async fn tiers_follow_the_priority_score() {
    let ctx = Ctx::new().await;
    let cases = [
        (95, "gold", "priority-queue"),
        (60, "silver", "standard-queue"),
        (10, "bronze", "standard-queue"),
    ];
    let mut ids = Vec::new();
    for (score, _, _) in cases {
        ids.push(
            ctx.execute(SEED_WORKFLOW_ID, seed_input(score)).await["id"]
                .as_str()
                .unwrap()
                .to_owned(),
        );
    }
    ctx.sim.advance_clock(Duration::from_secs(1));
    for ((score, tier, decision), id) in cases.iter().zip(&ids) {
        let exec = ctx.execution(SEED_WORKFLOW_ID, id).await;
        assert_eq!(exec["status"], "COMPLETED", "{score}");
        assert_eq!(exec["output"]["customerTier"], *tier, "{score}");
        assert_eq!(exec["output"]["routingDecision"], *decision, "{score}");
    }
}

#[tokio::test]
async fn lifecycle_goes_pending_running_terminal_on_the_clock() {
    let ctx = Ctx::new().await;
    let cases = [
        (SEED_WORKFLOW_ID, "COMPLETED"),
        ("wf_deployed_0001", "COMPLETED"),
        ("wf_failing_0001", "FAILED"),
        ("wf_stuck_0001", "RUNNING"),
        ("wf_slow_0001", "COMPLETED"),
    ];
    let mut ids = Vec::new();
    for (wf, _) in cases {
        let created = ctx.execute(wf, seed_input(50)).await;
        ids.push(created["id"].as_str().unwrap().to_owned());
    }
    // Still pending immediately (< 50 ms of sim time for most of them).
    ctx.sim.advance_clock(Duration::from_millis(100));
    let running = ctx.execution("wf_slow_0001", &ids[4]).await;
    assert_eq!(running["status"], "RUNNING");
    assert!(running.get("completedAt").is_none());

    ctx.sim.advance_clock(Duration::from_secs(3));
    for ((wf, status), id) in cases.iter().zip(&ids) {
        let exec = ctx.execution(wf, id).await;
        assert_eq!(exec["status"], *status, "{wf}");
        match *status {
            "FAILED" => {
                assert_eq!(exec["errors"][0]["code"], "DOWNSTREAM_TIMEOUT");
                assert!(exec["errors"][0]["message"].is_string());
                assert!(exec.get("output").is_none());
                assert!(exec["completedAt"].is_string());
            }
            "RUNNING" => assert!(exec.get("completedAt").is_none(), "{wf}"),
            _ => assert!(exec["output"].is_object(), "{wf}"),
        }
    }
    // Stuck stays RUNNING no matter how far the clock moves.
    ctx.sim.advance_clock(Duration::from_secs(1800));
    assert_eq!(
        ctx.execution("wf_stuck_0001", &ids[3]).await["status"],
        "RUNNING"
    );
}

#[tokio::test]
async fn advance_clock_completes_the_slow_workflow_immediately() {
    let ctx = Ctx::new().await;
    let created = ctx.execute("wf_slow_0001", seed_input(50)).await;
    let id = created["id"].as_str().unwrap();
    assert_ne!(
        ctx.execution("wf_slow_0001", id).await["status"],
        "COMPLETED"
    );
    ctx.sim.advance_clock(Duration::from_millis(2_001));
    let exec = ctx.execution("wf_slow_0001", id).await;
    assert_eq!(exec["status"], "COMPLETED");
}

#[tokio::test]
async fn not_deployable_workflows_get_409() {
    let ctx = Ctx::new().await;
    for wf in ["wf_draft_0001", "wf_archived_0001"] {
        let resp = ctx
            .post(
                &format!("/api/v2/workflows/{wf}/executions"),
                &json!({"input": seed_input(1)}),
            )
            .await;
        assert_eq!(resp.status(), StatusCode::CONFLICT, "{wf}");
        let body: Value = resp.json().await.unwrap();
        assert_eq!(body["error"], "workflow_not_deployable", "{wf}");
    }
    let resp = ctx
        .post(
            "/api/v2/workflows/wf_nope/executions",
            &json!({"input": {}}),
        )
        .await;
    assert_eq!(resp.status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn invalid_payloads_get_400_naming_the_field() {
    let ctx = Ctx::new().await;
    let path = format!("/api/v2/workflows/{SEED_WORKFLOW_ID}/executions");
    let cases = [
        (
            json!({"input": {"unknownKey": 1}}),
            "input.unknownKey",
            "unknown_variable",
        ),
        (
            json!({"input": {"priorityScore": "85"}}),
            "input.priorityScore",
            "type_mismatch",
        ),
        (
            json!({"input": {"customerId": 7}}),
            "input.customerId",
            "type_mismatch",
        ),
        (
            json!({"input": {"requiresCallback": "yes"}}),
            "input.requiresCallback",
            "type_mismatch",
        ),
        (
            json!({"input": {"routingMetadata": []}}),
            "input.routingMetadata",
            "type_mismatch",
        ),
        (
            json!({"input": {}, "priority": "URGENT"}),
            "priority",
            "enum",
        ),
        (
            json!({"input": {}, "context": 3}),
            "context",
            "type_mismatch",
        ),
        (json!({"input": "x"}), "input", "type_mismatch"),
        (json!({}), "input", "required"),
    ];
    for (body, field, rule) in cases {
        let resp = ctx.post(&path, &body).await;
        assert_eq!(resp.status(), StatusCode::BAD_REQUEST, "{body}");
        let err: Value = resp.json().await.unwrap();
        assert_eq!(err["error"], "invalid_payload", "{body}");
        assert!(
            err["message"].as_str().unwrap().contains(field),
            "{body}: {err}"
        );
        let details = err["details"].as_array().unwrap();
        assert!(
            details
                .iter()
                .any(|d| d["field"] == field && d["rule"] == rule),
            "{body}: {err}"
        );
    }
    // Not JSON at all.
    let resp = fetch(
        ctx.http
            .post(ctx.url(&path))
            .bearer_auth(&ctx.token)
            .header("content-type", "application/json")
            .body("{nope"),
    )
    .await;
    let err: Value = json_with(resp, StatusCode::BAD_REQUEST).await;
    assert_eq!(err["error"], "invalid_payload");
    // Valid priorities and context pass.
    for p in ["LOW", "NORMAL", "HIGH"] {
        let resp = ctx
            .post(
                &path,
                &json!({"input": seed_input(3), "context": {"k": 1}, "priority": p}),
            )
            .await;
        assert_eq!(resp.status(), StatusCode::CREATED, "{p}");
    }
}

#[tokio::test]
async fn idempotency_key_returns_the_same_execution() {
    let ctx = Ctx::new().await;
    let path = format!("/api/v2/workflows/{SEED_WORKFLOW_ID}/executions");
    let body = json!({"input": seed_input(42)});
    let send = |key: &'static str| post_keyed(&ctx, &path, key, &body);
    let first = send("key-1").await;
    let first: Value = json_with(first, StatusCode::CREATED).await;
    let again = send("key-1").await;
    assert_eq!(again.status(), StatusCode::CREATED);
    assert_eq!(again.headers()["idempotent-replayed"], "true");
    let again: Value = again.json().await.unwrap();
    assert_eq!(again["id"], first["id"]);
    let other: Value = send("key-2").await.json().await.unwrap();
    assert_ne!(other["id"], first["id"]);

    let list: Value = ctx.get_json(&path).await;
    assert_eq!(list["totalCount"], 2);
    let created = ctx
        .sim
        .journal()
        .into_iter()
        .filter(|e| e.method == "POST" && e.path == path)
        .map(|e| e.idempotency_key)
        .collect::<Vec<_>>();
    assert_eq!(
        created,
        vec![
            Some("key-1".into()),
            Some("key-1".into()),
            Some("key-2".into())
        ]
    );
}

#[tokio::test]
async fn list_executions_filters_by_status() {
    let ctx = Ctx::new().await;
    ctx.execute("wf_stuck_0001", seed_input(1)).await;
    ctx.execute("wf_stuck_0001", seed_input(2)).await;
    let path = "/api/v2/workflows/wf_stuck_0001/executions";
    let cases = [("running", 2), ("RUNNING", 2), ("completed", 0), ("", 2)];
    for (status, want) in cases {
        let list = ctx.get_json(&format!("{path}?status={status}")).await;
        assert_eq!(list["totalCount"], want, "{status:?}");
        assert_eq!(list["items"].as_array().unwrap().len(), want, "{status:?}");
    }
    let resp = ctx.get(&format!("{path}?status=bogus")).await;
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn tenants_are_isolated() {
    let ctx = Ctx::new().await;
    let created = ctx.execute(SEED_WORKFLOW_ID, seed_input(1)).await;
    let id = created["id"].as_str().unwrap();
    let b = token_for(&ctx, TENANT_B_CLIENT_ID, TENANT_B_CLIENT_SECRET).await;
    let resp = fetch(
        ctx.http
            .get(ctx.url(&format!(
                "/api/v2/workflows/{SEED_WORKFLOW_ID}/executions/{id}"
            )))
            .bearer_auth(&b),
    )
    .await;
    assert_eq!(resp.status(), StatusCode::NOT_FOUND);
    // Tenant B has its own fixtures and its own empty audit log.
    let resp = get_as(&ctx, &b, &format!("/api/v2/workflows/{SEED_WORKFLOW_ID}")).await;
    assert_eq!(resp.status(), StatusCode::OK);
    let audit: Value = send_json(ctx.http.get(ctx.url("/api/v2/audit/logs")).bearer_auth(&b)).await;
    assert_eq!(audit["totalCount"], 0);
    // Workflows added to one tenant are invisible to the other.
    ctx.sim.add_workflow(
        cx_sim::TENANT_B,
        cx_sim::WorkflowFixture::new("wf_only_b", "Only B"),
    );
    let from_a = ctx.get("/api/v2/workflows/wf_only_b").await;
    assert_eq!(from_a.status(), StatusCode::NOT_FOUND);
    let from_b = get_as(&ctx, &b, "/api/v2/workflows/wf_only_b").await;
    assert_eq!(from_b.status(), StatusCode::OK);
}
