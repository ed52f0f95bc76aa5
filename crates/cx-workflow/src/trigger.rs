//! Creating one workflow instance (seed 001 steps 2, 3 and 5,
//! `WorkflowOrchestrator.execute_trigger`):
//!
//! 1. **capacity** — with `Config::max_concurrent_instances` set (default
//!    50), `GET /api/v2/workflows/instances?workflowId=&status=running&pageSize=1`
//!    → `totalCount`; at or over the limit the trigger is refused with
//!    [`WorkflowKind::CapacityExhausted`]. A failing count is an error (the
//!    seed silently treated it as "no capacity").
//! 2. **trigger** — `POST /api/v2/workflows/instances` with the
//!    [`TriggerPayload`] body and an `Idempotency-Key` (UUID v4 per send),
//!    so the runtime's retries on 429 (honouring `Retry-After`) and 5xx can
//!    never create a second instance.
//! 3. **metrics and audit** — per-workflow success/failure counts and
//!    latency ([`crate::TriggerStats`]); `WORKFLOW_TRIGGERED` /
//!    `WORKFLOW_TRIGGER_FAILED` audit records.
//!
//! Steps 1 and 2 are retried on `Config::poller`'s schedule (or
//! [`TriggerBuilder::poller`]) while they fail transiently, within its
//! `deadline` and `max_polls`, the POST with the same idempotency key, so a
//! lost response is recovered as the same instance. A POST that gets no
//! answer before the deadline, or a 2xx answer that is not an instance, is
//! [`ErrorKind::OutcomeUnknown`], audited as
//! [`crate::client::WORKFLOW_TRIGGER_OUTCOME_UNKNOWN`] (the instance may
//! exist; the key finds it), not as a failure.

use std::time::Instant;

use cx_audit::EventType;
use cx_http::Poller;
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::client::{Client, INSTANCES_PATH, WORKFLOW_TRIGGER_OUTCOME_UNKNOWN, millis, send_on};
use crate::error::{Core, Error, ErrorKind, WorkflowKind};
use crate::types::{Priority, TriggerPayload, path_segment_problem};
use crate::validate::RequestInput;

/// A created instance (seed 001 `{"instanceId", "status", "latency_ms"}`).
/// JSON: camelCase.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TriggerReport {
    /// The new instance's id, e.g. `inst_...`.
    pub instance_id: String,
    /// Its workflow.
    pub workflow_id: String,
    /// The status the server reported on creation (e.g. `RUNNING`), if any.
    pub status: Option<String>,
    /// The priority it was created with.
    pub priority: Priority,
    /// Time from the start of [`TriggerBuilder::send`] (capacity check
    /// included) to the server's answer, in ms.
    pub latency_ms: f64,
    /// The `Idempotency-Key` the POST was sent with.
    pub idempotency_key: String,
}

#[derive(Deserialize)]
struct Created {
    id: String,
    status: Option<String>,
}

/// One instance trigger; finish with [`TriggerBuilder::send`]. Made by
/// [`Client::trigger`].
#[must_use = "a trigger does nothing until `.send().await`"]
#[derive(Debug)]
pub struct TriggerBuilder<'a> {
    client: &'a Client,
    payload: TriggerPayload,
    idempotency_key: Option<String>,
    check_capacity: bool,
    poller: Option<Poller>,
}

impl<'a> TriggerBuilder<'a> {
    pub(crate) fn new(client: &'a Client, payload: TriggerPayload) -> Self {
        Self {
            client,
            payload,
            idempotency_key: None,
            check_capacity: true,
            poller: None,
        }
    }

    /// Skip the client-side capacity check for this trigger (the server's
    /// own limit still answers 429).
    pub fn skip_capacity_check(mut self) -> Self {
        self.check_capacity = false;
        self
    }

    /// Check capacity, create the instance, record metrics and audit.
    ///
    /// # Errors
    /// - [`WorkflowKind::CapacityExhausted`] when `Config::max_concurrent_instances`
    ///   instances already run (nothing is posted); the count's own failure, mapped;
    /// - [`ErrorKind::Validation`] for a malformed custom idempotency key;
    /// - from the POST: [`ErrorKind::InvalidRequest`] (400, details as
    ///   violations), [`ErrorKind::PermissionDenied`] (401/403),
    ///   [`ErrorKind::NotFound`], [`WorkflowKind::NotDeployable`] (409),
    ///   [`ErrorKind::RateLimited`] (429 after the runtime's retries),
    ///   [`ErrorKind::Transport`], [`ErrorKind::Api`];
    /// - [`ErrorKind::OutcomeUnknown`] when the POST got no answer before the
    ///   poller's deadline, or a 2xx answer that is not an instance or names
    ///   it by an id no URL path can hold (the message names the
    ///   idempotency key);
    /// - [`ErrorKind::Audit`] when the instance was created but its audit
    ///   record could not be written ([`Error::trigger_report`] has it).
    pub async fn send(self) -> Result<TriggerReport, Error> {
        let started = Instant::now();
        let TriggerBuilder {
            client,
            payload,
            idempotency_key,
            check_capacity,
            poller,
        } = self;
        let wf = payload.workflow_id.as_str().to_owned();
        let poller = poller.unwrap_or_else(|| client.config.poller.clone());
        let created = create(
            client,
            &payload,
            idempotency_key,
            check_capacity,
            &poller,
            started,
        );
        match created.await {
            Ok(report) => {
                client.triggers.record(&wf, true, report.latency_ms);
                let written = client
                    .audit(
                        EventType::WORKFLOW_TRIGGERED,
                        json!({
                            "workflowId": wf,
                            "instanceId": report.instance_id,
                            "priority": payload.priority,
                            "idempotencyKey": report.idempotency_key,
                            "latency_ms": report.latency_ms,
                        }),
                    )
                    .await;
                match written {
                    Ok(()) => Ok(report),
                    Err(a) => Err(Error::audit_trigger(report, a)),
                }
            }
            Err((e, Some(key))) => {
                // Neither a success nor a failure: not counted in the metrics.
                let payload = json!({
                    "workflowId": wf,
                    "idempotencyKey": key,
                    "error": e.to_string(),
                    "errorKind": e.kind().as_str(),
                    "latency_ms": millis(started.elapsed()),
                });
                match client
                    .audit(WORKFLOW_TRIGGER_OUTCOME_UNKNOWN, payload)
                    .await
                {
                    Ok(()) => Err(e),
                    Err(a) => Err(e.with_audit_failure(a)),
                }
            }
            Err((e, None)) => {
                let latency = started.elapsed();
                client.triggers.record(&wf, false, millis(latency));
                Err(client
                    .audit_failure(EventType::WORKFLOW_TRIGGER_FAILED, &wf, e, latency)
                    .await)
            }
        }
    }
}

cx_http::with_setters! { builder TriggerBuilder<'_> {
    /// Retry transient failures on this schedule (within its `deadline` and
    /// `max_polls`) instead of `Config::poller`'s.
    poller(poller: Poller) = Some(poller);
    /// Use `key` as the `Idempotency-Key` instead of a fresh UUID v4 (1..=255
    /// visible ASCII characters).
    idempotency_key(idempotency_key: impl Into<String>) = Some(idempotency_key.into());
}}

/// Steps 1–2. On failure, the idempotency key when the outcome is unknown.
async fn create(
    client: &Client,
    payload: &TriggerPayload,
    idempotency_key: Option<String>,
    check_capacity: bool,
    poller: &Poller,
    started: Instant,
) -> Result<TriggerReport, (Error, Option<String>)> {
    let wf = payload.workflow_id.as_str();
    let key = idempotency_key.unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
    let violations = RequestInput {
        idempotency_key: &key,
        poller: None,
    }
    .violations();
    if !violations.is_empty() {
        return Err((Error::validation(violations).with_workflow(wf), None));
    }
    if let (true, Some(max)) = (check_capacity, client.config.max_concurrent_instances) {
        let running = client
            .count_running(
                crate::client::Running::Instances,
                &payload.workflow_id,
                Some(poller),
            )
            .await
            .map_err(|e| (e, None))?;
        if running >= max {
            return Err((Error::new(
                ErrorKind::Domain(WorkflowKind::CapacityExhausted),
                format!(
                    "workflow {wf} has reached its concurrent instance limit ({running} running, limit {max}); nothing was triggered"
                ),
            )
            .with_workflow(wf), None));
        }
    }
    let what = format!("triggering workflow {wf}");
    let body = payload.build_cxone_body();
    let sent = send_on::<Created>(Some(&poller.spent(started.elapsed())), &what, || {
        client
            .http
            .post(INSTANCES_PATH)
            .idempotency_key(&key)
            .json(&body)
            .operation("workflow.trigger")
    })
    .await;
    let created = match sent {
        Ok((c, _)) => c,
        Err(e) if e.leaves_outcome_unknown() => {
            let err = Error::from(Core::no_answer(
                e,
                &what,
                &key,
                started.elapsed(),
                "instance",
            ))
            .with_workflow(wf);
            return Err((err, Some(key)));
        }
        Err(e) => return Err((Error::from_http(e, &what).with_workflow(wf), None)),
    };
    if let Some(problem) = path_segment_problem(&created.id) {
        // It was created, but it cannot be read: the key finds it.
        let err = Error::from(Core::unusable_id(
            &what,
            &key,
            "instance",
            &created.id,
            &problem,
        ))
        .with_workflow(wf);
        return Err((err, Some(key)));
    }
    tracing::debug!(workflow = wf, instance = %created.id, "instance created");
    Ok(TriggerReport {
        instance_id: created.id,
        workflow_id: wf.to_owned(),
        status: created.status,
        priority: payload.priority,
        latency_ms: millis(started.elapsed()),
        idempotency_key: key,
    })
}
