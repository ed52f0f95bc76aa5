//! Seed 000: executions end to end against the simulator.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use cx_audit::{AuditRecord, EventType};
use cx_sim::{Fault, FaultRule, Sim};
use cx_testkit::status_fault;
use cx_workflow::{
    Client, ErrorKind, ExecutionPriority, ExecutionStatus, OutputMapping, Progress, Rule,
};
use serde_json::{Value, json};

use crate::support::{
    BoxError, Ctx, READONLY_CLIENT_ID, READONLY_CLIENT_SECRET, SEED_WORKFLOW_ID, TestResult,
    counted_poller, fail, fast_config, fields, object, seed_input, wf,
};

#[tokio::test]
async fn happy_path_completes_with_mapped_output_and_metrics() -> TestResult {
    let ctx = Ctx::with_config(fast_config().with_max_concurrent_executions(5)).await?;
    let id = wf(SEED_WORKFLOW_ID)?;
    let progress = Arc::new(Mutex::new(Vec::new()));
    let seen = Arc::clone(&progress);
    let mapping = OutputMapping::new()
        .map("queue", "routingDecision")
        .map("tier", "customerTier")
        .map("customer", "echo.customerId")
        .map("channel", "echo.routingMetadata.channel")
        .map("absent", "echo.nope");
    let report = ctx
        .client
        .run(&id)
        .input(seed_input())
        .context(object(json!({"source": "test"})))
        .priority(ExecutionPriority::High)
        .mapping(mapping)
        .on_progress(move |p| {
            if let Ok(mut v) = seen.lock() {
                v.push(p.clone());
            }
        })
        .send()
        .await?;

    assert_eq!(report.execution.status, ExecutionStatus::Completed);
    assert!(report.succeeded());
    assert!(report.execution.id.starts_with("exec_"));
    assert_eq!(report.execution.workflow_id, SEED_WORKFLOW_ID);
    assert_eq!(
        Value::Object(report.output.clone()),
        json!({"queue": "priority-queue", "tier": "gold", "customer": "CUST-99887", "channel": "voice"})
    );
    let missing: Vec<(&str, &str)> = report
        .missing
        .iter()
        .map(|m| (m.target.as_str(), m.source.as_str()))
        .collect();
    assert_eq!(missing, [("absent", "echo.nope")]);
    assert!(report.polls >= 1);
    assert!(report.elapsed_ms > 0.0);
    assert_eq!(report.metrics.total_executions, 1);
    assert_eq!(report.metrics.successful_executions, 1);
    // The simulator runs every execution for exactly 60 ms of its clock.
    assert_eq!(report.metrics.average_latency_ms, 60.0);
    assert_eq!(ctx.client.metrics(), report.metrics);

    // One POST, carrying the report's idempotency key; the quota was counted first.
    let posts = ctx.posts();
    assert_eq!(posts.len(), 1);
    assert_eq!(
        posts[0].idempotency_key.as_deref(),
        Some(report.idempotency_key.as_str())
    );
    let counted = ctx.api_requests("GET").iter().any(|e| {
        e.path.ends_with("/executions")
            && e.query
                .as_deref()
                .is_some_and(|q| q.contains("status=running"))
    });
    assert!(counted, "quota check missing from the journal");

    let progress = progress.lock().map(|v| v.clone()).unwrap_or_default();
    assert!(
        matches!(progress.first(), Some(Progress::Submitted { execution_id }) if *execution_id == report.execution.id),
        "{progress:?}"
    );
    Ok(())
}

#[tokio::test]
async fn text_inputs_are_coerced_to_declared_types() -> TestResult {
    let ctx = Ctx::start().await?;
    let id = wf(SEED_WORKFLOW_ID)?;
    let report = ctx
        .client
        .run(&id)
        .input_str("customerId", "CUST-1")
        .input_str("priorityScore", "55")
        .input_str("requiresCallback", "false")
        .input_str("routingMetadata", r#"{"channel":"chat"}"#)
        .send()
        .await?;
    let echo = report.output.get("echo").cloned().unwrap_or_default();
    assert_eq!(
        echo,
        json!({"customerId": "CUST-1", "priorityScore": 55, "requiresCallback": false,
               "routingMetadata": {"channel": "chat"}})
    );
    assert_eq!(report.output.get("customerTier"), Some(&json!("silver")));
    Ok(())
}

/// Input for a rejection case.
enum Input {
    Json(Value),
    Text(&'static str, &'static str),
}

#[tokio::test]
async fn bad_requests_are_rejected_before_anything_is_submitted() -> TestResult {
    let cases: [(&str, Input, ErrorKind, &[&str]); 7] = [
        (
            "wf_draft_0001",
            Input::Json(json!({})),
            ErrorKind::Domain(cx_workflow::WorkflowKind::NotDeployable),
            &["status"],
        ),
        (
            "wf_archived_0001",
            Input::Json(json!({})),
            ErrorKind::Domain(cx_workflow::WorkflowKind::NotDeployable),
            &["status"],
        ),
        (
            SEED_WORKFLOW_ID,
            Input::Json(json!({"bogus": 1})),
            ErrorKind::Validation,
            &["input.bogus"],
        ),
        (
            SEED_WORKFLOW_ID,
            Input::Json(json!({"priorityScore": "85", "requiresCallback": "yes"})),
            ErrorKind::Validation,
            &["input.priorityScore", "input.requiresCallback"],
        ),
        (
            SEED_WORKFLOW_ID,
            Input::Text("priorityScore", "abc"),
            ErrorKind::Validation,
            &["input.priorityScore"],
        ),
        (
            SEED_WORKFLOW_ID,
            Input::Text("nope", "1"),
            ErrorKind::Validation,
            &["input.nope"],
        ),
        (
            "wf_draft_0001",
            Input::Json(json!({"bogus": 1, "customerId": 7})),
            ErrorKind::Domain(cx_workflow::WorkflowKind::NotDeployable),
            &["status", "input.bogus", "input.customerId"],
        ),
    ];
    for (workflow, input, kind, want_fields) in cases {
        let ctx = Ctx::start().await?;
        let id = wf(workflow)?;
        let builder = ctx.client.run(&id);
        let builder = match input {
            Input::Json(v) => builder.input(object(v)),
            Input::Text(k, raw) => builder.input_str(k, raw),
        };
        let Err(err) = builder.send().await else {
            return fail(format!("{workflow}: expected a rejection"));
        };
        assert_eq!(err.kind(), kind, "{workflow}: {err}");
        assert_eq!(fields(&err), want_fields, "{workflow}: {err}");
        assert!(err.is_rejected_before_submit());
        for f in want_fields {
            assert!(err.to_string().contains(f), "{err} should name {f}");
        }
        assert!(
            ctx.posts().is_empty(),
            "{workflow}: POSTed {:?}",
            ctx.posts()
        );
        assert_eq!(ctx.audit_events(), ["TRIGGER_FAILED"]);
    }
    Ok(())
}

#[tokio::test]
async fn unknown_workflow_is_not_found() -> TestResult {
    let ctx = Ctx::start().await?;
    let id = wf("wf_does_not_exist")?;
    let Err(err) = ctx.client.run(&id).send().await else {
        return fail("expected NotFound");
    };
    assert_eq!(err.kind(), ErrorKind::NotFound);
    assert_eq!(err.status(), Some(404));
    assert!(ctx.posts().is_empty());
    Ok(())
}

#[tokio::test]
async fn quota_exceeded_is_refused_before_posting() -> TestResult {
    let ctx = Ctx::with_config(fast_config().with_max_concurrent_executions(1)).await?;
    // One slow execution (2 s) is running.
    let _: Value = ctx
        .client
        .http()
        .post("/api/v2/workflows/wf_slow_0001/executions")
        .json(&json!({"input": {}}))
        .send_json()
        .await?;
    let id = wf("wf_slow_0001")?;
    let Err(err) = ctx.client.run(&id).send().await else {
        return fail("expected QuotaExceeded");
    };
    assert_eq!(
        err.kind(),
        ErrorKind::Domain(cx_workflow::WorkflowKind::QuotaExceeded),
        "{err}"
    );
    assert_eq!(fields(&err), ["quota"]);
    assert_eq!(err.violations()[0].rule, Rule::Quota);
    assert_eq!(
        ctx.posts().len(),
        1,
        "only the setup POST may reach the server"
    );
    Ok(())
}

#[tokio::test]
async fn a_stuck_execution_ends_with_an_error_naming_it() -> TestResult {
    let ctx = Ctx::start().await?;
    let id = wf("wf_stuck_0001")?;
    let poller = fast_config()
        .poller
        .with_initial_delay(Duration::from_millis(20))
        .with_max_delay(Duration::from_millis(40))
        .with_max_polls(Some(5))
        .with_deadline(None);
    let result = tokio::time::timeout(
        Duration::from_secs(10),
        ctx.client.run(&id).poller(poller).send(),
    )
    .await?;
    let Err(err) = result else {
        return fail("a stuck execution must not succeed");
    };
    assert_eq!(err.kind(), ErrorKind::WaitTimeout, "{err}");
    assert!(err.is_timeout());
    let Some(exec_id) = err.execution_id().map(str::to_owned) else {
        return fail("no execution id");
    };
    assert!(exec_id.starts_with("exec_"));
    let text = err.to_string();
    assert!(
        text.contains(&exec_id)
            && text.contains("5 polls")
            && text.contains("RUNNING")
            && text.starts_with("unknown outcome"),
        "{text}"
    );
    assert!(err.is_outcome_unknown());
    let polls = ctx
        .api_requests("GET")
        .iter()
        .filter(|e| e.path.ends_with(&exec_id))
        .count();
    assert_eq!(polls, 5);
    assert_eq!(
        ctx.audit_events(),
        ["TRIGGERED", "EXECUTION_OUTCOME_UNKNOWN"]
    );
    let last = ctx.last_audit_payload();
    assert_eq!(
        last.as_ref().and_then(|p| p.get("errorKind")),
        Some(&json!("wait_timeout"))
    );
    Ok(())
}

#[tokio::test]
async fn a_failed_execution_is_a_report_and_counts_its_error_codes() -> TestResult {
    let ctx = Ctx::start().await?;
    let id = wf("wf_failing_0001")?;
    for round in 1..=2u64 {
        let report = ctx.client.run(&id).send().await?;
        assert_eq!(report.execution.status, ExecutionStatus::Failed);
        assert!(!report.succeeded());
        assert_eq!(report.execution.errors[0].code, "DOWNSTREAM_TIMEOUT");
        assert_eq!(report.metrics.failed_executions, round);
        assert_eq!(
            report.metrics.error_frequency.get("DOWNSTREAM_TIMEOUT"),
            Some(&round)
        );
        assert_eq!(report.metrics.average_latency_ms, 0.0);
    }
    assert_eq!(
        ctx.audit_events(),
        [
            "TRIGGERED",
            "EXECUTION_FAILED",
            "TRIGGERED",
            "EXECUTION_FAILED"
        ]
    );
    Ok(())
}

#[tokio::test]
async fn a_500_on_submit_is_retried_with_the_same_key_and_runs_once() -> TestResult {
    let faults = [
        status_fault(500),
        // The server processed the first POST but the answer was lost.
        Fault::StatusAfterProcessing { status: 500 },
    ];
    for fault in faults {
        let ctx = Ctx::start().await?;
        ctx.sim.set_faults(vec![
            FaultRule::new("POST /api/v2/workflows/*/executions", fault.clone()).with_times(1),
        ]);
        let id = wf(SEED_WORKFLOW_ID)?;
        let report = ctx.client.run(&id).input(seed_input()).send().await?;
        assert_eq!(
            report.execution.status,
            ExecutionStatus::Completed,
            "{fault:?}"
        );

        let posts = ctx.posts();
        let statuses: Vec<u16> = posts.iter().map(|e| e.status).collect();
        assert_eq!(statuses, [500, 201], "{fault:?}");
        for p in &posts {
            assert_eq!(
                p.idempotency_key.as_deref(),
                Some(report.idempotency_key.as_str())
            );
        }
        let total = ctx
            .total_count(&format!("/api/v2/workflows/{SEED_WORKFLOW_ID}/executions"))
            .await?;
        assert_eq!(total, 1, "{fault:?}: exactly one execution must exist");
    }
    Ok(())
}

#[tokio::test]
async fn audit_records_have_the_right_events_and_verifiable_hashes() -> TestResult {
    let ctx = Ctx::start().await?;
    let ok = ctx
        .client
        .run(&wf(SEED_WORKFLOW_ID)?)
        .input(seed_input())
        .priority(ExecutionPriority::High)
        .send()
        .await?;
    let failed = ctx.client.run(&wf("wf_failing_0001")?).send().await?;
    let records = ctx.audit.records();
    let table: [(EventType, &str, &str); 4] = [
        (EventType::TRIGGERED, ok.execution.id.as_str(), "priority"),
        (
            EventType::EXECUTION_COMPLETED,
            ok.execution.id.as_str(),
            "output",
        ),
        (
            EventType::TRIGGERED,
            failed.execution.id.as_str(),
            "latency_ms",
        ),
        (
            EventType::EXECUTION_FAILED,
            failed.execution.id.as_str(),
            "errors",
        ),
    ];
    assert_eq!(records.len(), table.len());
    for (record, (event, exec_id, key)) in records.iter().zip(table) {
        assert_eq!(record.event_type, event);
        assert!(record.verify_hash(), "{record:?}");
        assert_eq!(record.payload().get("executionId"), Some(&json!(exec_id)));
        assert!(record.payload().get(key).is_some(), "{event} lacks {key}");
        // An edit made in the stored JSON shows as a hash mismatch.
        let mut stored = serde_json::to_value(record)?;
        stored["payload"]["executionId"] = json!("exec_forged");
        let tampered: AuditRecord = serde_json::from_value(stored)?;
        assert!(!tampered.verify_hash());
    }
    assert_eq!(records[0].payload()["priority"], json!("HIGH"));
    assert_eq!(records[1].payload()["status"], json!("COMPLETED"));
    assert_eq!(
        records[1].payload()["output"]["routingDecision"],
        json!("priority-queue")
    );
    assert_eq!(
        records[3].payload()["errors"][0]["code"],
        json!("DOWNSTREAM_TIMEOUT")
    );
    Ok(())
}

#[tokio::test]
async fn a_failing_audit_sink_is_reported_with_the_outcome() -> TestResult {
    let ctx = Ctx::start().await?;
    let client: Client = ctx
        .client
        .clone()
        .with_audit(Arc::new(cx_testkit::FailingSink));
    let id = wf(SEED_WORKFLOW_ID)?;

    let Err(err) = client.run(&id).input(seed_input()).send().await else {
        return fail("the audit failure must be reported");
    };
    assert_eq!(err.kind(), ErrorKind::Audit);
    let Some(report) = err.execution_report() else {
        return fail("the outcome must travel with the error");
    };
    assert_eq!(report.execution.status, ExecutionStatus::Completed);
    assert_eq!(err.execution_id(), Some(report.execution.id.as_str()));
    assert!(err.audit_error().is_some());
    assert!(std::error::Error::source(&err).is_some());

    // A refused request keeps its own kind and also says the audit failed.
    let Err(err) = client.run(&wf("wf_draft_0001")?).send().await else {
        return fail("draft must be refused");
    };
    assert_eq!(
        err.kind(),
        ErrorKind::Domain(cx_workflow::WorkflowKind::NotDeployable)
    );
    assert!(err.audit_error().is_some());
    assert!(err.to_string().contains("audit"), "{err}");
    Ok(())
}

#[tokio::test]
async fn missing_scope_is_named() -> TestResult {
    let ctx = Ctx::with_client(
        Sim::builder(),
        fast_config(),
        READONLY_CLIENT_ID,
        READONLY_CLIENT_SECRET,
        None,
    )
    .await?;
    let Err(err) = ctx.run_seed().await else {
        return fail("a read-only client must not execute");
    };
    assert_eq!(err.kind(), ErrorKind::PermissionDenied, "{err}");
    assert_eq!(err.missing_scope(), Some("workflow.execute"));
    assert!(err.to_string().contains("workflow.execute"), "{err}");
    assert_eq!(err.status(), Some(403));
    Ok(())
}

#[tokio::test]
async fn submit_statuses_map_to_error_kinds() -> TestResult {
    let cases = [
        (400, ErrorKind::InvalidRequest),
        (403, ErrorKind::PermissionDenied),
        (404, ErrorKind::NotFound),
        (409, ErrorKind::Conflict),
        (418, ErrorKind::Api),
    ];
    for (status, kind) in cases {
        let ctx =
            Ctx::with_fault("POST /api/v2/workflows/*/executions", status_fault(status)).await?;
        let Err(err) = ctx.run_seed().await else {
            return fail(format!("{status} must fail"));
        };
        assert_eq!(err.kind(), kind, "{status}: {err}");
        assert_eq!(err.status(), Some(status));
        assert!(!err.is_rejected_before_submit());
        assert_eq!(ctx.posts().len(), 1, "{status} must not be retried");
        if status == 400 {
            // A 400 without `details` names no field; its message is the server's.
            assert!(fields(&err).is_empty(), "{err}");
        }
        assert_eq!(ctx.audit_events(), ["TRIGGER_FAILED"]);
    }
    Ok(())
}

#[tokio::test]
async fn the_send_future_is_send() -> TestResult {
    let ctx = Ctx::start().await?;
    let client = ctx.client.clone();
    let handle = tokio::spawn(async move {
        let id = wf(SEED_WORKFLOW_ID)?;
        client.run(&id).send().await.map_err(BoxError::from)
    });
    let report = handle.await??;
    assert_eq!(report.execution.status, ExecutionStatus::Completed);
    Ok(())
}

#[tokio::test]
async fn an_unbounded_poller_is_refused_before_submitting() -> TestResult {
    let ctx = Ctx::start().await?;
    let err = ctx.run_seed_err(counted_poller(None)).await?;
    assert_eq!(err.kind(), ErrorKind::Validation);
    assert_eq!(fields(&err), ["poller"]);
    assert!(ctx.posts().is_empty());
    Ok(())
}

#[tokio::test]
async fn a_server_that_never_answers_is_a_transport_error() -> TestResult {
    let ctx = Ctx::with_fault("GET /api/v2/workflows/*", Fault::ConnectionReset).await?;
    // One call: reads are also retried on the poller's schedule until its limit.
    let err = ctx.run_seed_err(counted_poller(Some(1))).await?;
    assert_eq!(err.kind(), ErrorKind::Transport, "{err:?}");
    assert_eq!(err.status(), None);
    assert!(
        err.http().is_some_and(|h| h.attempts() > 1),
        "the runtime retries reads"
    );
    assert!(ctx.posts().is_empty());
    Ok(())
}

#[tokio::test]
async fn definitions_are_read_once_per_ttl_and_dropped_when_the_server_refuses() -> TestResult {
    let config = fast_config().with_definition_ttl(Duration::from_secs(60));
    let ctx = Ctx::with(Sim::builder(), config).await?;
    let id = wf(SEED_WORKFLOW_ID)?;
    let definition_reads = |ctx: &Ctx| {
        ctx.sim
            .journal()
            .iter()
            .filter(|e| {
                e.method == "GET" && e.path == format!("/api/v2/workflows/{SEED_WORKFLOW_ID}")
            })
            .count()
    };
    for _ in 0..3 {
        ctx.client.run(&id).input(seed_input()).send().await?;
    }
    assert_eq!(
        definition_reads(&ctx),
        1,
        "three executions, one definition read"
    );

    // The server refuses (409, the resource changed): the cached copy is
    // dropped and read again next time.
    ctx.sim.set_faults(vec![
        FaultRule::new("POST /api/v2/workflows/*/executions", status_fault(409)).with_times(1),
    ]);
    let refused = ctx.client.run(&id).input(seed_input()).send().await;
    assert_eq!(refused.err().map(|e| e.kind()), Some(ErrorKind::Conflict));
    ctx.client.run(&id).input(seed_input()).send().await?;
    assert_eq!(definition_reads(&ctx), 2);
    Ok(())
}

#[tokio::test]
async fn a_success_status_with_an_unreadable_body_is_not_called_a_failure() -> TestResult {
    let ctx = Ctx::with_fault("POST /api/v2/workflows/*/executions", status_fault(201)).await?;
    let Err(err) = ctx.run_seed().await else {
        return fail("expected an error for an unreadable 201");
    };
    let msg = err.to_string();
    assert!(msg.contains("answered 201"), "{msg}");
    assert!(!msg.contains("failed (HTTP 201)"), "{msg}");
    Ok(())
}

/// Issue 13: a run learns what its workflow's executions take on the
/// server (`startedAt` → `completedAt`, 60 ms here) and the next run reads
/// the status once, just after that, instead of on the poller's schedule
/// from its start (25 ms ×1.5: reads at about 0, 25, 62 ms).
#[tokio::test]
async fn a_later_run_reads_the_status_once_after_the_learned_duration() -> TestResult {
    let ctx = Ctx::start().await?;
    let status_reads = |ctx: &Ctx| {
        ctx.api_requests("GET")
            .iter()
            .filter(|e| e.path.contains("/executions/"))
            .count()
    };
    assert_eq!(
        ctx.client.config().durations.expected(SEED_WORKFLOW_ID),
        None
    );
    ctx.run_seed().await?;
    let first = status_reads(&ctx);
    assert!(first >= 1);
    assert_eq!(
        ctx.client.config().durations.expected(SEED_WORKFLOW_ID),
        Some(Duration::from_millis(60)),
        "the server-side duration is what is learned"
    );
    let report = ctx.run_seed().await?;
    assert_eq!(report.execution.status, ExecutionStatus::Completed);
    assert_eq!(
        status_reads(&ctx) - first,
        1,
        "one status read on the second run"
    );
    Ok(())
}

/// An earlier execution took an hour (the longest estimate kept), so the
/// first status read is due after this run's 10 s deadline: the run must
/// still read the status before its deadline, not sleep through it and
/// report an outcome it never looked at.
#[tokio::test(start_paused = true)]
async fn a_learned_duration_past_the_deadline_still_reads_the_status() -> TestResult {
    let learned = cx_http::DurationEstimates::from_entries([(
        SEED_WORKFLOW_ID.to_owned(),
        Duration::from_secs(3600),
    )]);
    let ctx = Ctx::with_config(fast_config().with_durations(Arc::new(learned))).await?;
    let report = ctx.run_seed().await?;
    assert_eq!(report.execution.status, ExecutionStatus::Completed);
    Ok(())
}
