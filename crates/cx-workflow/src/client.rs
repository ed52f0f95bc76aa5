//! [`Client`]: the workflow API of one tenant, on top of a [`cx_http::Client`].
//!
//! Every request goes through the runtime client (retries, `Retry-After`,
//! token refresh, tracing); this module only builds typed requests and
//! keeps the metrics and the audit sink the operations share.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use cx_audit::{AuditRecord, AuditSink, EventType};
use cx_http::{ApiPath, Poller, RequestBuilder};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::config::Config;
use crate::error::{Error, ErrorKind};
use crate::execute::RunBuilder;
use crate::metrics::{MetricsSnapshot, MetricsTracker, TriggerMetrics, TriggerStats};
use crate::trigger::TriggerBuilder;
use crate::types::{Execution, InstanceCompletion, TriggerPayload, WorkflowDefinition, WorkflowId};

/// Audit event of an execution whose outcome was not seen: the deadline
/// passed while it was pending or while its polls (or its submission) kept
/// failing transiently, the submission's 2xx answer could not be read
/// (`executionId` null), the server reported a status this crate does not
/// know, or a poll was refused. Payload: `{workflowId, executionId (null if
/// none was returned), idempotencyKey, status (the last seen, or null),
/// error, errorKind, latency_ms}`. Never `EXECUTION_FAILED`: the execution
/// may well complete.
pub const EXECUTION_OUTCOME_UNKNOWN: EventType =
    EventType::from_static("EXECUTION_OUTCOME_UNKNOWN");

/// Audit event of an instance trigger that got no answer before its
/// deadline, or a 2xx answer that could not be read (the instance may
/// exist). Payload: `{workflowId,
/// idempotencyKey, error, errorKind, latency_ms}`.
pub const WORKFLOW_TRIGGER_OUTCOME_UNKNOWN: EventType =
    EventType::from_static("WORKFLOW_TRIGGER_OUTCOME_UNKNOWN");

/// Send what `request` builds and decode its JSON body: once without a
/// poller, or on `poller`'s schedule until it answers or fails for good
/// (transient failures are retried until the poller's deadline; see
/// [`Poller::retry`]). Also returns the attempts it took.
pub(crate) async fn send_on<T: DeserializeOwned>(
    poller: Option<&Poller>,
    operation: &str,
    request: impl Fn() -> RequestBuilder,
) -> Result<(T, u32), cx_http::Error> {
    match poller {
        None => request().send_json().await.map(|v| (v, 1)),
        Some(p) => p
            .retry(operation, || request().send_json())
            .await
            .map(|o| (o.value, o.polls)),
    }
}

/// Path of the instances collection (seed 001).
pub(crate) const INSTANCES_PATH: &str = "/api/v2/workflows/instances";

cx_http::service_client! {
    /// The workflow API of one tenant: definitions, executions (seed 000) and
    /// instances (seed 001). Cheap to clone; clones share the runtime client,
    /// the metrics and the audit sink, and may be used from many tasks at once.
    ///
    /// ```no_run
    /// # async fn demo(http: cx_http::Client) -> Result<(), cx_workflow::Error> {
    /// use cx_workflow::{Client, Config, ExecutionPriority, WorkflowId};
    /// use serde_json::json;
    ///
    /// let client = Client::new(http, Config::default());
    /// let id: WorkflowId = "wf_12345678-abcd-efgh-ijkl-1234567890ab".parse()?;
    /// let report = client
    ///     .run(&id)
    ///     .input_value("customerId", json!("CUST-99887"))
    ///     .input_str("priorityScore", "85")
    ///     .priority(ExecutionPriority::High)
    ///     .send()
    ///     .await?;
    /// println!("{} {}", report.execution.id, report.execution.status);
    /// # Ok(()) }
    /// ```
    #[derive(Clone)]
    pub struct Client {
        config: Config,
        sink: dyn AuditSink,
        pub(crate) metrics: Arc<MetricsTracker> = Arc::new(MetricsTracker::new()),
        pub(crate) triggers: Arc<TriggerMetrics> = Arc::new(TriggerMetrics::new()),
        definitions: Arc<Mutex<HashMap<String, (Instant, WorkflowDefinition)>>> = Arc::default(),
    }
    /// Write audit records (seed 001 step 4 shape) to `sink`: `TRIGGERED`,
    /// `TRIGGER_FAILED`, `EXECUTION_COMPLETED`, `EXECUTION_FAILED` for
    /// executions; `WORKFLOW_TRIGGERED`, `WORKFLOW_TRIGGER_FAILED` for
    /// instances; `WORKFLOW_COMPLETED` for completion webhooks. A failing
    /// sink is reported to the caller ([`ErrorKind::Audit`]), never ignored.
    fn with_audit;
    /// A client sending through `http` (build it with
    /// `cx_auth::Tenant::connect` for an authenticated one).
    fn new;
}

/// What [`Client::count_running`] counts.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Running {
    /// Executions (seed 000's quota).
    Executions,
    /// Instances (seed 001's capacity).
    Instances,
}

#[derive(Deserialize)]
struct Count {
    #[serde(rename = "totalCount")]
    total_count: u64,
}

impl Client {
    /// Execution metrics so far (seed 000 step 4), over every execution
    /// this client (and its clones) saw reach a terminal state.
    pub fn metrics(&self) -> MetricsSnapshot {
        self.metrics.snapshot()
    }

    /// Trigger metrics of one workflow (seed 001 step 5, `get_execution_metrics`).
    pub fn trigger_metrics(&self, workflow_id: &WorkflowId) -> TriggerStats {
        self.triggers.stats(workflow_id.as_str())
    }

    /// Trigger metrics of every workflow triggered so far.
    pub fn all_trigger_metrics(&self) -> std::collections::BTreeMap<String, TriggerStats> {
        self.triggers.all()
    }

    /// `GET /api/v2/workflows/{id}?expand=inputVariables` (seed 000 step 1).
    ///
    /// # Errors
    /// [`ErrorKind::NotFound`] for an unknown workflow,
    /// [`ErrorKind::PermissionDenied`] without `workflow.read`, otherwise
    /// the runtime's error mapped as in [`crate::error`].
    pub async fn definition(&self, id: &WorkflowId) -> Result<WorkflowDefinition, Error> {
        self.read_definition(id, None).await
    }

    async fn read_definition(
        &self,
        id: &WorkflowId,
        poller: Option<&Poller>,
    ) -> Result<WorkflowDefinition, Error> {
        let what = format!("reading workflow {id}");
        send_on(poller, &what, || {
            self.http
                .get(ApiPath::new("/api/v2/workflows").id("workflow_id", id.as_str()))
                .query(&[("expand", "inputVariables")])
                .operation("workflow.definition")
        })
        .await
        .map(|(d, _)| d)
        .map_err(|e| Error::from_http(e, &what).with_workflow(id.as_str()))
    }

    /// The definition of `id`, reused for [`Config::definition_ttl`] after it
    /// was read (the prerequisite checks of [`Client::run`] use this).
    ///
    /// # Errors
    /// As [`Client::definition`].
    pub async fn cached_definition(&self, id: &WorkflowId) -> Result<WorkflowDefinition, Error> {
        self.cached_definition_on(id, None).await
    }

    /// As [`Client::cached_definition`], a read retried on `poller`.
    pub(crate) async fn cached_definition_on(
        &self,
        id: &WorkflowId,
        poller: Option<&Poller>,
    ) -> Result<WorkflowDefinition, Error> {
        let ttl = self.config.definition_ttl;
        if !ttl.is_zero()
            && let Some((read_at, def)) = self.definition_cache().get(id.as_str())
            && read_at.elapsed() < ttl
        {
            return Ok(def.clone());
        }
        let def = self.read_definition(id, poller).await?;
        if !ttl.is_zero() {
            self.definition_cache()
                .insert(id.as_str().to_owned(), (Instant::now(), def.clone()));
        }
        Ok(def)
    }

    /// Drop the cached definition of `id` (the server said it changed).
    pub(crate) fn forget_definition(&self, id: &str) {
        self.definition_cache().remove(id);
    }

    fn definition_cache(
        &self,
    ) -> std::sync::MutexGuard<'_, HashMap<String, (Instant, WorkflowDefinition)>> {
        match self.definitions.lock() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        }
    }

    /// How many executions of `id` are running (PENDING or RUNNING):
    /// `GET /api/v2/workflows/{id}/executions?status=running&pageSize=1`
    /// → `totalCount` (seed 000 step 1 quota).
    ///
    /// # Errors
    /// The failed call, mapped; a body without `totalCount` is [`ErrorKind::Api`].
    pub async fn running_executions(&self, id: &WorkflowId) -> Result<u64, Error> {
        self.count_running(Running::Executions, id, None).await
    }

    /// How many instances of `id` are running:
    /// `GET /api/v2/workflows/instances?workflowId={id}&status=running&pageSize=1`
    /// → `totalCount` (seed 001 step 2).
    ///
    /// # Errors
    /// The failed call, mapped (the seed treats a failure as "no capacity";
    /// here the caller sees why).
    pub async fn running_instances(&self, id: &WorkflowId) -> Result<u64, Error> {
        self.count_running(Running::Instances, id, None).await
    }

    /// The running executions or instances of workflow `id` (the
    /// `totalCount` of a one-item page), retried on `poller`.
    pub(crate) async fn count_running(
        &self,
        running: Running,
        id: &WorkflowId,
        poller: Option<&Poller>,
    ) -> Result<u64, Error> {
        let (what, operation) = match running {
            Running::Executions => ("executions", "workflow.executions.count"),
            Running::Instances => ("instances", "workflow.instances.count"),
        };
        let req = || {
            let req = match running {
                Running::Executions => self
                    .http
                    .get(
                        ApiPath::new("/api/v2/workflows")
                            .id("workflow_id", id.as_str())
                            .lit("executions"),
                    )
                    .query(&[("status", "running"), ("pageSize", "1")]),
                Running::Instances => self.http.get(INSTANCES_PATH).query(&[
                    ("workflowId", id.as_str()),
                    ("status", "running"),
                    ("pageSize", "1"),
                ]),
            };
            req.operation(operation)
        };
        let op = format!("counting running {what} of workflow {id}");
        send_on::<Count>(poller, &op, req)
            .await
            .map(|(c, _)| c.total_count)
            .map_err(|e| Error::from_http(e, &op).with_workflow(id.as_str()))
    }

    /// One status read: `GET /api/v2/workflows/{id}/executions/{executionId}`
    /// (seed 000 step 3, without waiting).
    ///
    /// # Errors
    /// [`ErrorKind::Validation`] on `execution_id` when it is not a valid
    /// path segment (nothing is sent); otherwise the failed call, mapped.
    pub async fn execution(&self, id: &WorkflowId, execution_id: &str) -> Result<Execution, Error> {
        if let Some(problem) = crate::types::path_segment_problem(execution_id) {
            return Err(Error::violation(crate::Violation::new(
                "execution_id",
                crate::Rule::Format,
                problem,
            )));
        }
        self.http
            .get(
                ApiPath::new("/api/v2/workflows")
                    .id("workflow_id", id.as_str())
                    .lit("executions")
                    .id("execution_id", execution_id),
            )
            .operation("workflow.execution.status")
            .send_json()
            .await
            .map_err(|e| {
                Error::from_http(e, &format!("reading execution {execution_id}"))
                    .with_workflow(id.as_str())
                    .with_execution(execution_id)
            })
    }

    /// Start an execution of `id` (seed 000): configure it, then
    /// [`RunBuilder::send`] validates, submits, polls, maps and audits.
    pub fn run<'a>(&'a self, id: &'a WorkflowId) -> RunBuilder<'a> {
        RunBuilder::new(self, id)
    }

    /// Create an instance (seed 001): [`TriggerBuilder::send`] checks
    /// capacity, posts, records metrics and audits.
    pub fn trigger(&self, payload: TriggerPayload) -> TriggerBuilder<'_> {
        TriggerBuilder::new(self, payload)
    }

    /// Record a completion webhook (seed 001 step 4): writes
    /// `WORKFLOW_COMPLETED` with `{instanceId, workflowId, status,
    /// webhookReceivedAt}`. Without an audit sink this does nothing.
    ///
    /// # Errors
    /// [`ErrorKind::Audit`] when the sink fails.
    pub async fn record_completion(&self, completion: &InstanceCompletion) -> Result<(), Error> {
        let payload = serde_json::json!({
            "instanceId": completion.instance_id,
            "workflowId": completion.workflow_id,
            "status": completion.status,
            "webhookReceivedAt": self.config.clock.now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
        });
        self.audit(EventType::WORKFLOW_COMPLETED, payload)
            .await
            .map_err(|e| {
                Error::new(
                    ErrorKind::Audit,
                    format!(
                        "the completion of instance {} could not be audited",
                        completion.instance_id
                    ),
                )
                .with_workflow(&completion.workflow_id)
                .with_audit_failure(e)
            })
    }

    /// Write one audit record, if a sink is set.
    pub(crate) async fn audit(
        &self,
        event: EventType,
        payload: Value,
    ) -> Result<(), cx_audit::Error> {
        match &self.audit {
            None => Ok(()),
            Some(sink) => {
                sink.write(&AuditRecord::at(self.config.clock.now(), event, payload))
                    .await
            }
        }
    }

    /// Audit a failed trigger (`event` with `{workflowId, error, errorKind,
    /// violations?, latency_ms}`) and return `err`, carrying the sink's
    /// error too if that failed.
    pub(crate) async fn audit_failure(
        &self,
        event: EventType,
        workflow_id: &str,
        err: Error,
        latency: Duration,
    ) -> Error {
        let mut payload = serde_json::json!({
            "workflowId": workflow_id,
            "error": err.to_string(),
            "errorKind": err.kind().as_str(),
            "latency_ms": millis(latency),
        });
        if !err.violations().is_empty()
            && let (Value::Object(m), Ok(v)) =
                (&mut payload, serde_json::to_value(err.violations()))
        {
            m.insert("violations".to_owned(), v);
        }
        match self.audit(event, payload).await {
            Ok(()) => err,
            Err(a) => err.with_audit_failure(a),
        }
    }
}

/// `d` in milliseconds, to the microsecond.
pub(crate) fn millis(d: Duration) -> f64 {
    (d.as_secs_f64() * 1_000_000.0).round() / 1000.0
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::TriggerPayload;

    fn assert_send<T: Send>(_: &T) {}

    #[test]
    fn client_and_operation_futures_are_send() -> Result<(), Box<dyn std::error::Error>> {
        fn assert_send_sync<T: Send + Sync + Clone>() {}
        assert_send_sync::<Client>();
        let client = Client::new(cx_testkit::unsent_http(), Config::default());
        let id = WorkflowId::new("wf_1")?;
        // Futures are built but never polled: nothing is sent.
        let execute = client.run(&id).on_progress(|_| {}).send();
        assert_send(&execute);
        let trigger = client.trigger(TriggerPayload::new(id.clone())).send();
        assert_send(&trigger);
        assert_send(&client.definition(&id));
        assert_eq!(millis(Duration::from_micros(1_234_567)), 1234.567);
        Ok(())
    }
}
