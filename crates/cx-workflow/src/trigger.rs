//! Creating one workflow instance (seed 001 steps 2, 3 and 5,
//! `WorkflowOrchestrator.execute_trigger`):
//!
//! 1. **capacity** — with `Config::max_concurrent_instances` set (default
//!    50), `GET /api/v2/workflows/instances?workflowId=&status=running&pageSize=1`
//!    → `totalCount`; at or over the limit the trigger is refused with
//!    [`ErrorKind::CapacityExhausted`]. A failing count is an error (the
//!    seed silently treated it as "no capacity").
//! 2. **trigger** — `POST /api/v2/workflows/instances` with the
//!    [`TriggerPayload`] body and an `Idempotency-Key` (UUID v4 per send),
//!    so the runtime's retries on 429 (honouring `Retry-After`) and 5xx can
//!    never create a second instance.
//! 3. **metrics and audit** — per-workflow success/failure counts and
//!    latency ([`crate::TriggerStats`]); `WORKFLOW_TRIGGERED` /
//!    `WORKFLOW_TRIGGER_FAILED` audit records.

use std::time::Instant;

use cx_audit::EventType;
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::client::{Client, INSTANCES_PATH, millis};
use crate::error::{Call, Error, ErrorKind, from_http};
use crate::types::{Priority, TriggerPayload, path_segment_problem};

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
    #[serde(default)]
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
}

impl<'a> TriggerBuilder<'a> {
    pub(crate) fn new(client: &'a Client, payload: TriggerPayload) -> Self {
        Self {
            client,
            payload,
            idempotency_key: None,
            check_capacity: true,
        }
    }

    /// Use `key` as the `Idempotency-Key` instead of a fresh UUID v4 (1..=255
    /// visible ASCII characters).
    pub fn idempotency_key(mut self, key: impl Into<String>) -> Self {
        self.idempotency_key = Some(key.into());
        self
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
    /// - [`ErrorKind::CapacityExhausted`] when `Config::max_concurrent_instances`
    ///   instances already run (nothing is posted); the count's own failure, mapped;
    /// - [`ErrorKind::Validation`] for a malformed custom idempotency key;
    /// - from the POST: [`ErrorKind::InvalidPayload`] (400, details as
    ///   violations), [`ErrorKind::PermissionDenied`] (401/403),
    ///   [`ErrorKind::NotFound`], [`ErrorKind::NotDeployable`] (409),
    ///   [`ErrorKind::RateLimited`] (429 after the runtime's retries),
    ///   [`ErrorKind::Transport`], [`ErrorKind::Api`];
    /// - [`ErrorKind::Audit`] when the instance was created but its audit
    ///   record could not be written ([`Error::trigger_report`] has it).
    pub async fn send(self) -> Result<TriggerReport, Error> {
        let started = Instant::now();
        let TriggerBuilder {
            client,
            payload,
            idempotency_key,
            check_capacity,
        } = self;
        let wf = payload.workflow_id.as_str().to_owned();
        match create(client, &payload, idempotency_key, check_capacity, started).await {
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
            Err(e) => {
                let latency = started.elapsed();
                client.triggers.record(&wf, false, millis(latency));
                Err(client
                    .audit_failure(EventType::WORKFLOW_TRIGGER_FAILED, &wf, e, latency)
                    .await)
            }
        }
    }
}

async fn create(
    client: &Client,
    payload: &TriggerPayload,
    idempotency_key: Option<String>,
    check_capacity: bool,
    started: Instant,
) -> Result<TriggerReport, Error> {
    let wf = payload.workflow_id.as_str();
    let key = match idempotency_key {
        None => uuid::Uuid::new_v4().to_string(),
        Some(k) if !k.is_empty() && k.len() <= 255 && k.bytes().all(|b| b.is_ascii_graphic()) => k,
        Some(_) => {
            return Err(Error::violation(crate::Violation::new(
                "idempotency_key",
                crate::Rule::Format,
                "must be 1..=255 visible ASCII characters",
            ))
            .with_workflow(wf));
        }
    };
    if let (true, Some(max)) = (check_capacity, client.config.max_concurrent_instances) {
        let running = client.running_instances(&payload.workflow_id).await?;
        if running >= max {
            return Err(Error::new(
                ErrorKind::CapacityExhausted,
                format!(
                    "workflow {wf} has reached its concurrent instance limit ({running} running, limit {max}); nothing was triggered"
                ),
            )
            .with_workflow(wf));
        }
    }
    let created: Created = client
        .http
        .post(INSTANCES_PATH)
        .idempotency_key(&key)
        .json(&payload.build_cxone_body())
        .operation("workflow.trigger")
        .send_json()
        .await
        .map_err(|e| {
            from_http(e, Call::Submit, &format!("triggering workflow {wf}")).with_workflow(wf)
        })?;
    if let Some(problem) = path_segment_problem(&created.id) {
        return Err(Error::new(
            ErrorKind::Api,
            format!(
                "the server returned an unusable instance id {:?}: {problem}",
                created.id
            ),
        )
        .with_workflow(wf));
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
