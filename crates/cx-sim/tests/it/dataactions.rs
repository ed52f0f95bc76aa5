//! Data actions and jobs (seed 004) over real HTTP.

use std::time::Duration;

use crate::support::*;
use cx_sim::{DataActionFixture, JobOutcome, SEED_DATA_ACTION_ID};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

fn seed_body() -> Value {
    json!({
        "versionId": "v2.1.0",
        "inputParameters": {"customerId": "CUST-8842", "interactionType": "voice", "thresholdScore": 0.85},
        "environmentContext": {"region": "us-east-1", "environment": "production"},
        "executionTimeoutMs": 45000,
    })
}

async fn execute(ctx: &Ctx, action: &str, body: &Value) -> Value {
    let resp = ctx
        .post(&format!("/api/v2/dataactions/{action}/execute"), body)
        .await;
    json_with(resp, StatusCode::CREATED).await
}

async fn job(ctx: &Ctx, action: &str, id: &str) -> Value {
    let resp = ctx
        .get(&format!("/api/v2/dataactions/{action}/jobs/{id}"))
        .await;
    json_with(resp, StatusCode::OK).await
}

/// `GET /api/v2/dataactions/DA-123456/jobs`.
async fn seed_jobs(ctx: &Ctx) -> Value {
    let resp = ctx
        .get(&format!("/api/v2/dataactions/{SEED_DATA_ACTION_ID}/jobs"))
        .await;
    json_with(resp, StatusCode::OK).await
}

#[tokio::test]
async fn definition_lists_versions_and_required_parameters() {
    let ctx = Ctx::new().await;
    let def = ctx
        .get_json(&format!("/api/v2/dataactions/{SEED_DATA_ACTION_ID}"))
        .await;
    assert_eq!(def["latestVersion"], "v2.1.0");
    assert_eq!(
        def["versions"][0],
        json!({"versionId": "v2.1.0", "requiredParameters": ["customerId", "interactionType"]})
    );
    let resp = ctx.get("/api/v2/dataactions/DA-NOPE").await;
    assert_eq!(resp.status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn seed_job_runs_to_completion_with_string_typed_output() {
    let ctx = Ctx::new().await;
    let accepted = execute(&ctx, SEED_DATA_ACTION_ID, &seed_body()).await;
    assert_eq!(accepted["status"], "QUEUED");
    let id = accepted["jobId"].as_str().unwrap().to_owned();
    assert!(id.starts_with("JOB-"), "{id}");
    assert!(accepted["createdAt"].is_string());

    let first = job(&ctx, SEED_DATA_ACTION_ID, &id).await;
    assert!(
        matches!(first["status"].as_str(), Some("QUEUED" | "RUNNING")),
        "{first}"
    );
    assert!(first.get("output").is_none());

    ctx.sim.advance_clock(Duration::from_millis(600));
    let done = job(&ctx, SEED_DATA_ACTION_ID, &id).await;
    assert_eq!(done["status"], "COMPLETED", "{done}");
    let out = &done["output"];
    let score = out["assessment"]["riskScore"].as_str().unwrap();
    assert!(score.starts_with("0.") && score.len() == 4, "{score}");
    assert!(matches!(
        out["assessment"]["flags"]["isFraud"].as_str(),
        Some("true" | "false")
    ));
    assert_eq!(out["metadata"]["processedAt"], done["completedAt"]);
    assert_eq!(out["metadata"]["jobId"], id.as_str());
}

#[tokio::test]
async fn outcomes_fail_time_out_and_stay_queued() {
    let ctx = Ctx::new().await;
    let slow = DataActionFixture::new("DA-SLOW", "Slow").with_duration(Duration::from_secs(5));
    ctx.sim.add_data_action(cx_sim::DEFAULT_TENANT, slow);
    let mut short_timeout = seed_body();
    short_timeout["executionTimeoutMs"] = json!(1000);
    let cases = [
        (
            "DA-FAIL-0001",
            seed_body(),
            "FAILED",
            Some("scoring service"),
        ),
        (
            "DA-TIMEOUT-0001",
            seed_body(),
            "TIMED_OUT",
            Some("time limit"),
        ),
        ("DA-QUEUED-0001", seed_body(), "QUEUED", None),
        ("DA-SLOW", short_timeout, "TIMED_OUT", Some("after 1000 ms")),
    ];
    let mut ids = Vec::new();
    for (action, body, _, _) in &cases {
        ids.push(execute(&ctx, action, body).await["jobId"].clone());
    }
    ctx.sim.advance_clock(Duration::from_secs(2));
    for ((action, _, status, detail), id) in cases.iter().zip(ids) {
        let j = job(&ctx, action, id.as_str().unwrap()).await;
        assert_eq!(j["status"], *status, "{action}: {j}");
        match detail {
            Some(d) => assert!(j["errorDetail"].as_str().unwrap().contains(d), "{j}"),
            None => assert!(j.get("errorDetail").is_none()),
        }
        assert!(j.get("output").is_none(), "{j}");
    }
}

#[tokio::test]
async fn invalid_payloads_are_rejected_naming_the_field() {
    let ctx = Ctx::new().await;
    let mut missing = seed_body();
    missing["inputParameters"]
        .as_object_mut()
        .unwrap()
        .remove("interactionType");
    let mut version = seed_body();
    version["versionId"] = json!("v9.9.9");
    let mut timeout = seed_body();
    timeout["executionTimeoutMs"] = json!(60001);
    let mut context = seed_body();
    context["environmentContext"]["dataRetentionDays"] = json!(90);
    let cases = [
        (missing, "inputParameters.interactionType", "required"),
        (version, "versionId", "unknown_version"),
        (timeout, "executionTimeoutMs", "range"),
        (
            context,
            "environmentContext.dataRetentionDays",
            "type_mismatch",
        ),
    ];
    for (body, field, rule) in cases {
        let resp = ctx
            .post(
                &format!("/api/v2/dataactions/{SEED_DATA_ACTION_ID}/execute"),
                &body,
            )
            .await;
        assert_eq!(resp.status(), StatusCode::BAD_REQUEST, "{field}");
        let err: Value = resp.json().await.unwrap();
        assert_eq!(err["details"][0]["field"], field, "{err}");
        assert_eq!(err["details"][0]["rule"], rule, "{err}");
    }
    let list = seed_jobs(&ctx).await;
    assert_eq!(list["totalCount"], 0);
}

#[tokio::test]
async fn idempotency_key_replays_the_first_job() {
    let ctx = Ctx::new().await;
    let path = format!("/api/v2/dataactions/{SEED_DATA_ACTION_ID}/execute");
    let bodies = post_twice(&ctx, &path, "k-1", &seed_body(), StatusCode::CREATED).await;
    assert_eq!(bodies[0], bodies[1]);
    let list = seed_jobs(&ctx).await;
    assert_eq!(list["totalCount"], 1);
    assert_eq!(list["items"][0]["jobId"], bodies[0]["jobId"]);
}

#[tokio::test]
async fn scopes_are_the_seeds() {
    let ctx = Ctx::new().await;
    let token = token_for(&ctx, READONLY_CLIENT_ID, READONLY_CLIENT_SECRET).await;
    let resp = fetch(
        ctx.http
            .post(ctx.url(&format!(
                "/api/v2/dataactions/{SEED_DATA_ACTION_ID}/execute"
            )))
            .bearer_auth(token)
            .json(&seed_body()),
    )
    .await;
    let body: Value = json_with(resp, StatusCode::FORBIDDEN).await;
    assert!(body.to_string().contains("dataactions:execute"), "{body}");
}

#[tokio::test]
async fn admin_adds_actions_and_records_webhooks() {
    let ctx = Ctx::new().await;
    let fixture = DataActionFixture::new("DA-ADMIN", "Admin").with_outcome(JobOutcome::TimeOut);
    let added = admin(&ctx, Method::POST, "/_sim/dataactions", &fixture).await;
    assert_eq!(added, StatusCode::NO_CONTENT);
    let read = ctx.get("/api/v2/dataactions/DA-ADMIN").await;
    assert_eq!(read.status(), StatusCode::OK);

    let hook = json!({"jobId": "JOB-1"});
    let recorded = admin(&ctx, Method::POST, "/_sim/webhooks/audit", &hook).await;
    assert_eq!(recorded, StatusCode::NO_CONTENT);
    let got: Value = send_json(ctx.http.get(ctx.url("/_sim/webhooks/audit"))).await;
    assert_eq!(got, json!([{"jobId": "JOB-1"}]));
    assert_eq!(ctx.sim.webhooks("audit"), vec![json!({"jobId": "JOB-1"})]);
    assert!(ctx.sim.webhooks("other").is_empty());
}
