//! Seed 001: instances end to end against the simulator.

use std::time::{Duration, Instant};

use cx_audit::EventType;
use cx_sim::{Fault, FaultRule, Sim};
use cx_testkit::seed_trigger;
use cx_workflow::{ContextType, ErrorKind, InstanceCompletion, Priority, TriggerPayload};
use serde_json::json;

use crate::support::{
    Ctx, SEED_WORKFLOW_ID, TestResult, assert_unknown_outcome_naming, audited_client, event_types,
    fail, fast_config, fields, wf,
};

#[tokio::test]
async fn trigger_creates_an_instance_with_metrics_and_audit() -> TestResult {
    let ctx = Ctx::with_config(fast_config().with_max_concurrent_instances(Some(25))).await?;
    let report = ctx
        .client
        .trigger(seed_trigger(SEED_WORKFLOW_ID)?)
        .send()
        .await?;
    assert!(report.instance_id.starts_with("inst_"), "{report:?}");
    assert_eq!(report.workflow_id, SEED_WORKFLOW_ID);
    assert_eq!(report.status.as_deref(), Some("RUNNING"));
    assert_eq!(report.priority.get(), 2);
    assert!(report.latency_ms > 0.0);

    // Capacity counted first, then exactly one POST with the report's key.
    let count = ctx
        .api_requests("GET")
        .into_iter()
        .find(|e| e.path == "/api/v2/workflows/instances");
    let query = count.and_then(|e| e.query).unwrap_or_default();
    for part in ["workflowId=", "status=running", "pageSize=1"] {
        assert!(query.contains(part), "{query}");
    }
    let posts = ctx.posts();
    assert_eq!(posts.len(), 1);
    assert_eq!(
        posts[0].idempotency_key.as_deref(),
        Some(report.idempotency_key.as_str())
    );

    // The server stored the coerced context.
    let stored: serde_json::Value = ctx
        .client
        .http()
        .link(
            cx_http::Method::GET,
            &format!("/api/v2/workflows/instances/{}", report.instance_id),
        )
        .send_json()
        .await?;
    assert_eq!(stored["context"]["priorityScore"], json!(85));
    assert_eq!(stored["context"]["requiresCallback"], json!(true));
    assert_eq!(stored["metadata"]["batchId"], json!("BATCH-001"));

    let stats = ctx.client.trigger_metrics(&wf(SEED_WORKFLOW_ID)?);
    assert_eq!((stats.success, stats.failure, stats.total), (1, 0, 1));
    assert_eq!(stats.success_rate, 1.0);
    assert!(stats.avg_latency_ms > 0.0);

    let records = ctx.audit.records();
    assert_eq!(records.len(), 1);
    assert_eq!(records[0].event_type, EventType::WORKFLOW_TRIGGERED);
    assert!(records[0].verify_hash());
    assert_eq!(
        records[0].payload()["instanceId"],
        json!(report.instance_id)
    );
    assert_eq!(records[0].payload()["priority"], json!(2));
    Ok(())
}

#[tokio::test]
async fn out_of_range_priorities_never_reach_the_server() -> TestResult {
    let ctx = Ctx::start().await?;
    for p in [0i64, 11, -1, 300] {
        let Err(err) = TriggerPayload::builder(SEED_WORKFLOW_ID)
            .priority(p)
            .build()
        else {
            return fail(format!("priority {p} must be refused"));
        };
        assert_eq!(err.kind(), ErrorKind::Validation);
        assert_eq!(fields(&err), ["priority"], "{p}");
        assert!(err.to_string().contains("priority"), "{err}");
    }
    for p in [0u8, 11] {
        assert!(Priority::new(p).is_err(), "{p}");
    }
    assert!(ctx.sim.journal().is_empty(), "nothing may be sent");
    Ok(())
}

#[tokio::test]
async fn capacity_exhausted_is_refused_before_posting() -> TestResult {
    let ctx = Ctx::with(
        Sim::builder().max_concurrent_instances(5),
        fast_config().with_max_concurrent_instances(Some(1)),
    )
    .await?;
    let stuck = "wf_stuck_0001";
    ctx.client.trigger(seed_trigger(stuck)?).send().await?;
    let Err(err) = ctx.client.trigger(seed_trigger(stuck)?).send().await else {
        return fail("the second instance must be refused");
    };
    assert_eq!(
        err.kind(),
        ErrorKind::Domain(cx_workflow::WorkflowKind::CapacityExhausted),
        "{err}"
    );
    assert!(err.to_string().contains(stuck), "{err}");
    assert!(err.is_rejected_before_submit());
    assert_eq!(ctx.posts().len(), 1);
    let stats = ctx.client.trigger_metrics(&wf(stuck)?);
    assert_eq!((stats.success, stats.failure), (1, 1));
    assert_eq!(stats.success_rate, 0.5);
    let events: Vec<String> = ctx.audit_events();
    assert_eq!(events, ["WORKFLOW_TRIGGERED", "WORKFLOW_TRIGGER_FAILED"]);
    assert_eq!(
        ctx.audit.records()[1].payload()["errorKind"],
        json!("capacity_exhausted")
    );
    Ok(())
}

#[tokio::test]
async fn a_429_at_the_instance_limit_is_retried_by_the_runtime() -> TestResult {
    // The server allows one running instance; runs take 60 ms, its 429 says
    // Retry-After: 1, and by then the first instance has finished.
    let ctx = Ctx::with(Sim::builder().max_concurrent_instances(1), fast_config()).await?;
    ctx.client
        .trigger(seed_trigger(SEED_WORKFLOW_ID)?)
        .send()
        .await?;
    let started = Instant::now();
    let second = ctx
        .client
        .trigger(seed_trigger(SEED_WORKFLOW_ID)?)
        .send()
        .await?;
    assert!(
        started.elapsed() >= Duration::from_millis(900),
        "Retry-After was not honoured"
    );

    let posts = ctx.posts();
    let statuses: Vec<u16> = posts.iter().map(|e| e.status).collect();
    assert_eq!(statuses, [201, 429, 201]);
    assert_eq!(posts[1].idempotency_key, posts[2].idempotency_key);
    assert_eq!(
        posts[2].idempotency_key.as_deref(),
        Some(second.idempotency_key.as_str())
    );
    assert_ne!(posts[0].idempotency_key, posts[1].idempotency_key);
    Ok(())
}

#[tokio::test]
async fn a_429_that_outlasts_the_retries_and_the_polls_is_an_unknown_outcome() -> TestResult {
    let http =
        cx_http::Config::default().with_retry(cx_http::RetryPolicy::default().with_max_attempts(2));
    let ctx = Ctx::with_client(
        Sim::builder().max_concurrent_instances(1),
        fast_config(),
        crate::support::DEFAULT_CLIENT_ID,
        crate::support::DEFAULT_CLIENT_SECRET,
        Some(http),
    )
    .await?;
    let stuck = "wf_stuck_0001";
    ctx.client.trigger(seed_trigger(stuck)?).send().await?;
    // 429 is transient: retried on the poller's schedule, here 2 calls.
    let poller = fast_config().poller.with_max_polls(Some(2));
    let err = ctx
        .client
        .trigger(seed_trigger(stuck)?)
        .poller(poller)
        .send()
        .await
        .err()
        .ok_or("the stuck instance holds the only slot")?;
    // No answer settled it: reported as unknown, never as failed.
    assert_eq!(err.kind(), ErrorKind::OutcomeUnknown, "{err}");
    assert!(err.to_string().starts_with("unknown outcome"), "{err}");
    assert_eq!(err.status(), Some(429));
    let statuses: Vec<u16> = ctx.posts().iter().map(|e| e.status).collect();
    assert_eq!(statuses, [201, 429, 429, 429, 429]);
    assert_eq!(
        ctx.audit_events(),
        ["WORKFLOW_TRIGGERED", "WORKFLOW_TRIGGER_OUTCOME_UNKNOWN"]
    );
    Ok(())
}

#[tokio::test]
async fn an_unreadable_201_to_a_trigger_is_an_unknown_outcome_naming_the_key() -> TestResult {
    // The instance is created, then its 201 answer is replaced by one that
    // is not an instance: neither a failure nor a report, but the key.
    let ctx = Ctx::start().await?;
    ctx.sim.set_faults(vec![
        FaultRule::new(
            "POST /api/v2/workflows/instances",
            Fault::StatusAfterProcessing { status: 201 },
        )
        .with_times(1),
    ]);
    let key = "trigger-with-an-unreadable-201";
    let trigger = || -> Result<_, crate::support::BoxError> {
        Ok(ctx
            .client
            .trigger(seed_trigger(SEED_WORKFLOW_ID)?)
            .idempotency_key(key))
    };
    let Err(err) = trigger()?.send().await else {
        return fail("an unreadable 201 is no report");
    };
    assert_unknown_outcome_naming(&err, &[key, "answered 201"]);
    assert_eq!(ctx.audit_events(), ["WORKFLOW_TRIGGER_OUTCOME_UNKNOWN"]);
    let last = ctx.last_audit_payload().unwrap_or_default();
    assert_eq!(last["idempotencyKey"], json!(key));
    let stats = ctx.client.trigger_metrics(&wf(SEED_WORKFLOW_ID)?);
    assert_eq!(stats.failure, 0, "not counted as a failure");
    // The key finds it: the same trigger again is the same instance.
    let report = trigger()?.send().await?;
    let listed = ctx
        .get_json(&format!(
            "/api/v2/workflows/instances?workflowId={SEED_WORKFLOW_ID}&pageSize=1000"
        ))
        .await?;
    assert_eq!(listed["totalCount"], json!(1), "one instance, not 2");
    assert_eq!(listed["items"][0]["id"], json!(report.instance_id));
    Ok(())
}

#[tokio::test]
async fn an_unusable_instance_id_in_a_201_is_an_unknown_outcome_not_a_failure() -> TestResult {
    let http = cx_testkit::canned_http(&[(
        "POST /api/v2/workflows/instances",
        201,
        r#"{"id": "inst/1", "status": "RUNNING"}"#,
    )]);
    let (client, audit) = audited_client(http);
    let key = "trigger-with-an-unusable-id";
    let Err(err) = client
        .trigger(seed_trigger(SEED_WORKFLOW_ID)?)
        .idempotency_key(key)
        .send()
        .await
    else {
        return fail("an unusable id is no report");
    };
    assert_unknown_outcome_naming(&err, &[key, "inst/1"]);
    assert_eq!(event_types(&audit), ["WORKFLOW_TRIGGER_OUTCOME_UNKNOWN"]);
    let stats = client.trigger_metrics(&wf(SEED_WORKFLOW_ID)?);
    assert_eq!(stats.failure, 0, "not counted as a failure");
    Ok(())
}

#[tokio::test]
async fn server_side_context_type_errors_are_invalid_payloads() -> TestResult {
    // The client coerces to the type it is told; the workflow declares
    // priorityScore an integer, so the server rejects the string.
    let ctx = Ctx::start().await?;
    let payload = TriggerPayload::builder(SEED_WORKFLOW_ID)
        .context("priorityScore", json!(85), ContextType::String)
        .build()?;
    let Err(err) = ctx.client.trigger(payload).send().await else {
        return fail("the server must reject a string priorityScore");
    };
    assert_eq!(err.kind(), ErrorKind::InvalidRequest, "{err}");
    assert_eq!(fields(&err), ["context.priorityScore"]);
    assert_eq!(ctx.posts().len(), 1);
    Ok(())
}

#[tokio::test]
async fn a_completion_webhook_is_audited_at_the_configured_clock() -> TestResult {
    let at = chrono::DateTime::parse_from_rfc3339("2024-05-01T12:00:00.123Z")?.to_utc();
    let clock = std::sync::Arc::new(cx_http::FixedClock(at));
    let ctx = Ctx::with_config(fast_config().with_clock(clock)).await?;
    let completion = InstanceCompletion::from_json(
        br#"{"instanceId":"inst_1","workflowId":"wf_1","status":"COMPLETED","context":{"customerId":"C1","routingDecision":"priority-queue"}}"#,
    )?;
    ctx.client.record_completion(&completion).await?;
    let records = ctx.audit.records();
    assert_eq!(records.len(), 1);
    assert_eq!(records[0].event_type, EventType::WORKFLOW_COMPLETED);
    assert!(records[0].verify_hash());
    assert_eq!(records[0].payload()["instanceId"], json!("inst_1"));
    // Both the record and `webhookReceivedAt` come from the config's clock.
    assert_eq!(records[0].timestamp, at);
    assert_eq!(
        records[0].payload()["webhookReceivedAt"],
        json!("2024-05-01T12:00:00.123Z")
    );
    assert_eq!(
        completion.erp_sync_payload()["routingResult"],
        json!("priority-queue")
    );
    Ok(())
}
