//! Running one workflow execution end to end (seed 000 steps 1–4 and the
//! `CxoneWorkflowExecutor.executeWorkflow` of its complete example):
//!
//! 1. **prerequisites** — `GET /api/v2/workflows/{id}?expand=inputVariables`;
//!    the status must be ACTIVE or DEPLOYED, every input key declared, every
//!    value of its declared type (text given with
//!    [`RunBuilder::input_str`] is coerced first); with
//!    `Config::max_concurrent_executions` set, the running executions are
//!    counted (`GET .../executions?status=running`). Every violation is
//!    collected into one error and nothing is submitted.
//! 2. **submit** — `POST /api/v2/workflows/{id}/executions` with `{input,
//!    context?, priority?}` and an `Idempotency-Key` (a UUID v4 made once per
//!    [`RunBuilder::send`], which the runtime repeats on every retry, so
//!    a retried POST never starts a second execution).
//! 3. **poll** — `GET .../executions/{executionId}` on the
//!    [`cx_http::Poller`] schedule of `Config::poller` until COMPLETED,
//!    FAILED or CANCELLED — the first read just after the duration earlier
//!    executions of the workflow took (`Config::durations`), when known;
//!    running out of polls is [`ErrorKind::WaitTimeout`], a
//!    status this crate does not know ends the wait at once
//!    ([`ErrorKind::UnknownStatus`]).
//!
//! The poller's `deadline` and `max_polls` bound the whole operation: the
//! reads of step 1, the submission and the polls share them. A call that
//! fails transiently (no response, 429, 5xx) is tried again on the poll
//! schedule until then, the submission with the same idempotency key, so a
//! lost response is recovered as the same execution and one bad poll never
//! ends a run. When the deadline ends the run, or a poll is refused, its
//! outcome is unknown: the error says so with the execution id
//! ([`Error::is_outcome_unknown`](cx_http::ServiceError::is_outcome_unknown)) and the audit record is
//! [`crate::client::EXECUTION_OUTCOME_UNKNOWN`], never `EXECUTION_FAILED`.
//! 4. **aggregate** — the terminal execution is added to the client's
//!    [`crate::MetricsTracker`] and its output mapped through an
//!    [`OutputMapping`].
//!
//! Audit records (if the client has a sink): `TRIGGERED` after a successful
//! submit, `TRIGGER_FAILED` when steps 1–2 fail for good (nothing was
//! created), `EXECUTION_COMPLETED` or `EXECUTION_FAILED` at the terminal
//! state, `EXECUTION_OUTCOME_UNKNOWN` when the outcome was not seen.

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use cx_audit::EventType;
use cx_http::{ApiPath, PollOutcome, PollStatus, Poller};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use crate::client::{Client, EXECUTION_OUTCOME_UNKNOWN, millis, send_on};
use crate::error::{Core, Error, ErrorKind, Rule, Violation, WorkflowKind};
use crate::mapping::{MissingOutput, OutputMapping};
use crate::metrics::MetricsSnapshot;
use crate::types::{
    Execution, ExecutionPriority, ExecutionStatus, WorkflowId, path_segment_problem,
};
use crate::validate::{RequestInput, check_prerequisites, coerce_input_violation};

/// Progress of an execution, for spinners ([`RunBuilder::on_progress`]).
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq)]
pub enum Progress {
    /// The server accepted the submission.
    Submitted {
        /// The new execution's id.
        execution_id: String,
    },
    /// A poll saw a non-terminal status; the next poll follows after `next_delay_ms`.
    Polling {
        /// The execution.
        execution_id: String,
        /// Polls made so far.
        polls: u32,
        /// The status the last poll saw.
        status: Option<ExecutionStatus>,
        /// Time since polling started, in ms.
        elapsed_ms: f64,
        /// Wait before the next poll, in ms.
        next_delay_ms: f64,
    },
}

/// What a finished execution produced. JSON: camelCase.
///
/// A FAILED or CANCELLED execution is a report too (check
/// [`ExecutionReport::succeeded`]); only transport, validation and stuck
/// executions are errors.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ExecutionReport {
    /// The execution in its terminal state.
    pub execution: Execution,
    /// The output mapped through the [`OutputMapping`], or the raw output
    /// (`{}` when there was none) without a mapping.
    pub output: Map<String, Value>,
    /// Mapped targets whose source was not in the output.
    pub missing: Vec<MissingOutput>,
    /// Status polls made (≥ 1).
    pub polls: u32,
    /// Time from sending the submission to seeing the terminal state, in ms.
    pub elapsed_ms: f64,
    /// The `Idempotency-Key` the submission was sent with.
    pub idempotency_key: String,
    /// The client's execution metrics right after recording this one.
    pub metrics: MetricsSnapshot,
}

impl ExecutionReport {
    /// The terminal status.
    pub fn status(&self) -> &ExecutionStatus {
        &self.execution.status
    }

    /// True when the execution COMPLETED.
    pub fn succeeded(&self) -> bool {
        self.execution.status == ExecutionStatus::Completed
    }
}

type ProgressFn<'a> = Box<dyn FnMut(&Progress) + Send + 'a>;

/// One execution being configured; finish with [`RunBuilder::send`].
/// Made by [`Client::run`].
#[must_use = "an execution does nothing until `.send().await`"]
pub struct RunBuilder<'a> {
    client: &'a Client,
    workflow_id: &'a WorkflowId,
    input: Map<String, Value>,
    raw_input: Vec<(String, String)>,
    context: Option<Map<String, Value>>,
    priority: Option<ExecutionPriority>,
    mapping: Option<OutputMapping>,
    on_progress: Option<ProgressFn<'a>>,
    poller: Option<Poller>,
    idempotency_key: Option<String>,
}

impl std::fmt::Debug for RunBuilder<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RunBuilder")
            .field("workflow_id", self.workflow_id)
            .field("input", &self.input)
            .field("raw_input", &self.raw_input)
            .field("context", &self.context)
            .field("priority", &self.priority)
            .field("mapping", &self.mapping)
            .field("poller", &self.poller)
            .finish_non_exhaustive()
    }
}

impl<'a> RunBuilder<'a> {
    pub(crate) fn new(client: &'a Client, workflow_id: &'a WorkflowId) -> Self {
        Self {
            client,
            workflow_id,
            input: Map::new(),
            raw_input: Vec::new(),
            context: None,
            priority: None,
            mapping: None,
            on_progress: None,
            poller: None,
            idempotency_key: None,
        }
    }

    /// Set one input variable to a JSON value.
    pub fn input_value(mut self, key: impl Into<String>, value: Value) -> Self {
        self.input.insert(key.into(), value);
        self
    }

    /// Set one input variable from text, coerced to its declared type once
    /// the definition is read ([`crate::coerce_input`]); for `cx ... --input
    /// k=v`. A coercion failure is one more violation of the send's
    /// validation error. Overrides [`RunBuilder::input_value`] for the same key.
    pub fn input_str(mut self, key: impl Into<String>, raw: impl Into<String>) -> Self {
        self.raw_input.push((key.into(), raw.into()));
        self
    }

    /// Called after the submission and before every wait between polls.
    pub fn on_progress(mut self, callback: impl FnMut(&Progress) + Send + 'a) -> Self {
        self.on_progress = Some(Box::new(callback));
        self
    }

    /// Validate, submit, poll to a terminal state, record metrics, map the
    /// output and write audit records (see the module docs).
    ///
    /// # Errors
    /// - before submitting, with every violation in [`Error::violations`](cx_http::ServiceError::violations):
    ///   [`WorkflowKind::NotDeployable`] (status not ACTIVE/DEPLOYED),
    ///   [`WorkflowKind::QuotaExceeded`] (only the quota is exceeded),
    ///   [`ErrorKind::Validation`] (input keys, types, coercions, a malformed
    ///   idempotency key, a poller with neither `max_polls` nor `deadline`);
    /// - reading the definition or counting: [`ErrorKind::NotFound`],
    ///   [`ErrorKind::PermissionDenied`], [`ErrorKind::Transport`], [`ErrorKind::Api`];
    /// - submitting: [`ErrorKind::InvalidRequest`] (400, server details as
    ///   violations), [`ErrorKind::PermissionDenied`] (403, naming the
    ///   missing scope), [`WorkflowKind::NotDeployable`] (409),
    ///   [`ErrorKind::RateLimited`], [`ErrorKind::Transport`], [`ErrorKind::Api`];
    /// - submitting until the deadline without an answer, or accepted (2xx)
    ///   with an answer that is not an execution or names it by an id no
    ///   URL path can hold:
    ///   [`ErrorKind::OutcomeUnknown`] (the message names the idempotency key);
    /// - polling, all "unknown outcome" ([`Error::is_outcome_unknown`](cx_http::ServiceError::is_outcome_unknown), the
    ///   message and [`Error::execution_id`] name the execution):
    ///   [`ErrorKind::WaitTimeout`] when polls or time run out while it is pending
    ///   or running, [`ErrorKind::OutcomeUnknown`] when the polls failed
    ///   transiently until then, [`ErrorKind::UnknownStatus`] naming a
    ///   status this crate does not know, or a poll refused for good, mapped;
    /// - [`ErrorKind::Audit`] when the execution finished but an audit
    ///   record could not be written ([`Error::execution_report`] has the outcome).
    pub async fn send(self) -> Result<ExecutionReport, Error> {
        let started = Instant::now();
        let RunBuilder {
            client,
            workflow_id,
            mut input,
            raw_input,
            context,
            priority,
            mapping,
            mut on_progress,
            poller,
            idempotency_key,
        } = self;
        let run = Run {
            client,
            wf: workflow_id.as_str(),
            key: idempotency_key.unwrap_or_else(|| uuid::Uuid::new_v4().to_string()),
            poller: poller.unwrap_or_else(|| client.config.poller.clone()),
            started,
        };
        let checked = prerequisites(
            client,
            workflow_id,
            &mut input,
            raw_input,
            &run.key,
            &run.poller,
        );
        if let Err(e) = checked.await {
            return Err(run.trigger_failed(e).await);
        }
        let submit_started = Instant::now();
        let submitted = run.submit(input, context, priority).await?;
        let mut audit_error = run.triggered(&submitted, priority).await;
        if let Some(cb) = on_progress.as_mut() {
            cb(&Progress::Submitted {
                execution_id: submitted.id.clone(),
            });
        }
        let outcome = match run.poll(&submitted, submit_started, &mut on_progress).await {
            Ok(o) => o,
            Err(err) => {
                return Err(match audit_error {
                    Some(a) => err.with_audit_failure(a),
                    None => err,
                });
            }
        };
        let report = run.map(outcome, mapping.as_ref(), submit_started);
        if let Err(a) = run.audit_terminal(&report).await {
            audit_error.get_or_insert(a);
        }
        match audit_error {
            Some(a) => Err(Error::audit_execution(report, a)),
            None => Ok(report),
        }
    }
}

cx_http::with_setters! { builder RunBuilder<'_> {
    /// Replace the input variables (`input` in the body).
    input(input: Map<String, Value>);
    /// Context data (`context` in the body; omitted unless set).
    context(context: Map<String, Value>) = Some(context);
    /// Priority (omitted unless set; the server's default is NORMAL).
    priority(priority: ExecutionPriority) = Some(priority);
    /// Map the output (seed 000 `transformOutput`); see [`OutputMapping`].
    mapping(mapping: OutputMapping) = Some(mapping);
    /// Poll on this schedule instead of `Config::poller`.
    poller(poller: Poller) = Some(poller);
    /// Use `key` as the `Idempotency-Key` instead of a fresh UUID v4, e.g. to
    /// make a re-run of the same job after a crash reuse the first execution.
    /// It must be 1..=255 visible ASCII characters.
    idempotency_key(idempotency_key: impl Into<String>) = Some(idempotency_key.into());
}}

/// One execution in flight: what every step of [`RunBuilder::send`]
/// shares. The steps, in order: [`prerequisites`], [`Run::submit`],
/// [`Run::triggered`], [`Run::poll`], [`Run::map`], [`Run::audit_terminal`].
struct Run<'a> {
    client: &'a Client,
    wf: &'a str,
    /// The `Idempotency-Key` of the submission.
    key: String,
    /// Bounds the whole operation (reads, submission, polls).
    poller: Poller,
    started: Instant,
}

impl Run<'_> {
    /// Audit `TRIGGER_FAILED` for an execution that was never created and
    /// return `e` (with the sink's error, if that failed too).
    async fn trigger_failed(&self, e: Error) -> Error {
        self.client
            .audit_failure(
                EventType::TRIGGER_FAILED,
                self.wf,
                e,
                self.started.elapsed(),
            )
            .await
    }

    /// Seed 000 step 2: `POST /api/v2/workflows/{id}/executions` with
    /// `{input, context?, priority?}` and the idempotency key, retried
    /// transiently until the deadline. A refusal is audited
    /// `TRIGGER_FAILED`; no answer at all (or an unreadable 2xx) is `OutcomeUnknown`, audited
    /// `EXECUTION_OUTCOME_UNKNOWN`.
    async fn submit(
        &self,
        input: Map<String, Value>,
        context: Option<Map<String, Value>>,
        priority: Option<ExecutionPriority>,
    ) -> Result<Execution, Error> {
        let (client, wf, key) = (self.client, self.wf, &self.key);
        let mut body = json!({ "input": input });
        if let Value::Object(m) = &mut body {
            if let Some(c) = context {
                m.insert("context".to_owned(), Value::Object(c));
            }
            if let Some(p) = priority {
                m.insert("priority".to_owned(), json!(p));
            }
        }
        let what = format!("submitting an execution of workflow {wf}");
        let spent = self.poller.spent(self.started.elapsed());
        let submitted = send_on::<Execution>(Some(&spent), &what, || {
            client
                .http
                .post(
                    ApiPath::new("/api/v2/workflows")
                        .id("workflow_id", wf)
                        .lit("executions"),
                )
                .idempotency_key(key)
                .json(&body)
                .operation("workflow.execute")
        })
        .await;
        match submitted {
            Ok((e, _)) => match path_segment_problem(&e.id) {
                None => Ok(e),
                // It was created, but it cannot be read: the key finds it.
                Some(problem) => {
                    let err =
                        Error::from(Core::unusable_id(&what, key, "execution", &e.id, &problem))
                            .with_workflow(wf);
                    Err(outcome_unknown(client, wf, None, None, key, err, self.started).await)
                }
            },
            // No answer settled it: the execution may exist (the key finds it).
            Err(e) if e.leaves_outcome_unknown() => {
                let err = Error::from(Core::no_answer(
                    e,
                    &what,
                    key,
                    self.started.elapsed(),
                    "execution",
                ))
                .with_workflow(wf);
                Err(outcome_unknown(client, wf, None, None, key, err, self.started).await)
            }
            Err(e) => {
                let e = Error::from_http(e, &what).with_workflow(wf);
                if matches!(
                    e.kind(),
                    ErrorKind::Domain(WorkflowKind::NotDeployable)
                        | ErrorKind::Conflict
                        | ErrorKind::InvalidRequest
                ) {
                    // The definition we checked against is out of date.
                    client.forget_definition(wf);
                }
                Err(self.trigger_failed(e).await)
            }
        }
    }

    /// Audit `TRIGGERED` for the submitted execution; the sink's error, if
    /// any, is kept for the final answer (the execution runs regardless).
    async fn triggered(
        &self,
        submitted: &Execution,
        priority: Option<ExecutionPriority>,
    ) -> Option<cx_audit::Error> {
        tracing::debug!(workflow = self.wf, execution = %submitted.id, "execution submitted");
        self.client
            .audit(
                EventType::TRIGGERED,
                json!({
                    "workflowId": self.wf,
                    "executionId": submitted.id,
                    "priority": priority,
                    "idempotencyKey": self.key,
                    "latency_ms": millis(self.started.elapsed()),
                }),
            )
            .await
            .err()
    }

    /// Seed 000 step 3: `GET .../executions/{executionId}` on the poller's
    /// schedule until a terminal status (or one this crate does not know).
    /// Every way of not seeing the outcome is an "unknown outcome" error,
    /// audited `EXECUTION_OUTCOME_UNKNOWN`.
    async fn poll(
        &self,
        submitted: &Execution,
        submit_started: Instant,
        on_progress: &mut Option<ProgressFn<'_>>,
    ) -> Result<PollOutcome<Execution>, Error> {
        let (client, wf) = (self.client, self.wf);
        let exec_id = submitted.id.as_str();
        let last = Mutex::new(Some(submitted.status.clone()));
        let polls = AtomicU32::new(0);
        let status_path = ApiPath::new("/api/v2/workflows")
            .id("workflow_id", wf)
            .lit("executions")
            .id("execution_id", exec_id);
        let max_delay = self.poller.max_delay;
        let durations = &client.config.durations;
        let expected = self.poller.expected.or_else(|| durations.expected(wf));
        let outcome = self
            .poller
            .spent(self.started.elapsed())
            .with_expected(expected)
            .poll_with_progress(
                &format!("execution {exec_id}"),
                || {
                    let req = client
                        .http
                        .get(status_path.clone())
                        .operation("workflow.execution.status");
                    let (last, polls) = (&last, &polls);
                    async move {
                        polls.fetch_add(1, Ordering::Relaxed);
                        let resp = req.send().await?;
                        let execution: Execution = resp.json()?;
                        *last.lock().unwrap_or_else(PoisonError::into_inner) =
                            Some(execution.status.clone());
                        // A status this crate does not know ends the wait too.
                        if execution.is_terminal()
                            || matches!(execution.status, ExecutionStatus::Unknown(_))
                        {
                            Ok(PollStatus::Done(execution))
                        } else {
                            Ok(PollStatus::Pending {
                                retry_after: resp.retry_after().map(|d| d.min(max_delay)),
                            })
                        }
                    }
                },
                |p| {
                    if let Some(cb) = on_progress.as_mut() {
                        let status = last.lock().unwrap_or_else(PoisonError::into_inner).clone();
                        cb(&Progress::Polling {
                            execution_id: exec_id.to_owned(),
                            polls: p.polls,
                            status,
                            elapsed_ms: millis(p.elapsed),
                            next_delay_ms: millis(p.next_delay),
                        });
                    }
                },
            )
            .await;
        let last_status = last.into_inner().unwrap_or_else(PoisonError::into_inner);
        let polls = polls.into_inner();
        if let Some(ms) = outcome.as_ref().ok().and_then(|o| o.value.latency_ms()) {
            durations.observe(wf, Duration::from_secs_f64(ms / 1000.0));
        }
        let operation = format!("execution {exec_id} of workflow {wf}");
        let failed: Error = match outcome {
            Ok(o) => match &o.value.status {
                ExecutionStatus::Unknown(status) => {
                    Core::unknown_status(&operation, status, polls).into()
                }
                _ => return Ok(o),
            },
            Err(e) => {
                let status = last_status
                    .as_ref()
                    .map_or_else(|| "UNKNOWN".to_owned(), ToString::to_string);
                Core::wait_failed(e, &operation, &status, polls, submit_started.elapsed()).into()
            }
        };
        let err = failed.with_workflow(wf).with_execution(exec_id);
        let status = last_status.map(|s| s.to_string());
        Err(outcome_unknown(
            client,
            wf,
            Some(exec_id),
            status,
            &self.key,
            err,
            self.started,
        )
        .await)
    }

    /// Seed 000 step 4: record the terminal execution in the metrics and map
    /// its output.
    fn map(
        &self,
        outcome: PollOutcome<Execution>,
        mapping: Option<&OutputMapping>,
        submit_started: Instant,
    ) -> ExecutionReport {
        let mut execution = outcome.value;
        if execution.workflow_id.is_empty() {
            execution.workflow_id = self.wf.to_owned();
        }
        self.client.metrics.record(&execution);
        let (output, missing) = match mapping {
            Some(m) => {
                let mapped = m.apply(execution.output.as_ref());
                (mapped.values, mapped.missing)
            }
            None => (execution.output.clone().unwrap_or_default(), Vec::new()),
        };
        ExecutionReport {
            execution,
            output,
            missing,
            polls: outcome.polls,
            elapsed_ms: millis(submit_started.elapsed()),
            idempotency_key: self.key.clone(),
            metrics: self.client.metrics.snapshot(),
        }
    }

    /// Audit the terminal state: `EXECUTION_COMPLETED` with the raw output,
    /// or `EXECUTION_FAILED` with the execution's errors.
    async fn audit_terminal(&self, report: &ExecutionReport) -> Result<(), cx_audit::Error> {
        let execution = &report.execution;
        let completed = report.succeeded();
        let mut payload = json!({
            "workflowId": self.wf,
            "executionId": execution.id,
            "status": execution.status,
            "latency_ms": millis(self.started.elapsed()),
        });
        if let Value::Object(m) = &mut payload {
            if completed {
                m.insert(
                    "output".to_owned(),
                    execution.output.clone().map_or(Value::Null, Value::Object),
                );
            } else {
                m.insert("errors".to_owned(), json!(execution.errors));
            }
        }
        let event = if completed {
            EventType::EXECUTION_COMPLETED
        } else {
            EventType::EXECUTION_FAILED
        };
        self.client.audit(event, payload).await
    }
}

/// Seed 000 step 1: read the definition, coerce text inputs, check status,
/// keys, types, the idempotency key and (when configured) the quota,
/// collecting every violation.
async fn prerequisites(
    client: &Client,
    workflow_id: &WorkflowId,
    input: &mut Map<String, Value>,
    raw_input: Vec<(String, String)>,
    key: &str,
    poller: &Poller,
) -> Result<(), Error> {
    let wf = workflow_id.as_str();
    let started = Instant::now();
    let definition = client
        .cached_definition_on(workflow_id, Some(poller))
        .await?;
    let mut violations = RequestInput {
        idempotency_key: key,
        poller: Some(poller),
    }
    .violations();
    for (k, raw) in raw_input {
        match coerce_input_violation(&definition, &k, &raw) {
            Ok(v) => {
                input.insert(k, v);
            }
            Err(v) => {
                input.remove(&k);
                violations.push(v);
            }
        }
    }
    if let Err(v) = check_prerequisites(&definition, input) {
        violations.extend(v);
    }
    if let Some(max) = client.config.max_concurrent_executions {
        let running = client
            .count_running(
                crate::client::Running::Executions,
                workflow_id,
                Some(&poller.spent(started.elapsed())),
            )
            .await?;
        if running >= max {
            violations.push(
                Violation::new(
                    "quota",
                    Rule::Quota,
                    format!("{running} executions of workflow {wf} are running; the tenant limit is {max}"),
                )
                .with_values(format!("fewer than {max} running"), running.to_string()),
            );
        }
    }
    if violations.is_empty() {
        return Ok(());
    }
    let (kind, message) = if violations.iter().all(|v| v.rule == Rule::Quota) {
        (
            ErrorKind::Domain(WorkflowKind::QuotaExceeded),
            format!("tenant execution quota exceeded for workflow {wf}; deferring execution"),
        )
    } else if violations.iter().any(|v| v.rule == Rule::NotDeployable) {
        (
            ErrorKind::Domain(WorkflowKind::NotDeployable),
            format!("workflow {wf} is not deployable; nothing was submitted"),
        )
    } else {
        (
            ErrorKind::Validation,
            format!("invalid execution request for workflow {wf}; nothing was submitted"),
        )
    };
    Err(Error::new(kind, message)
        .with_violations(violations)
        .with_workflow(wf))
}

/// Audit an execution whose outcome is unknown ([`EXECUTION_OUTCOME_UNKNOWN`])
/// and return `err`, carrying the sink's error too if that failed.
async fn outcome_unknown(
    client: &Client,
    wf: &str,
    execution_id: Option<&str>,
    status: Option<String>,
    key: &str,
    err: Error,
    started: Instant,
) -> Error {
    let written = client
        .audit(
            EXECUTION_OUTCOME_UNKNOWN,
            json!({
                "workflowId": wf,
                "executionId": execution_id,
                "idempotencyKey": key,
                "status": status,
                "error": err.to_string(),
                "errorKind": err.kind().as_str(),
                "latency_ms": millis(started.elapsed()),
            }),
        )
        .await;
    match written {
        Ok(()) => err,
        Err(a) => err.with_audit_failure(a),
    }
}
