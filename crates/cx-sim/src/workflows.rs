//! Workflows, executions (seed 000) and instances (seed 001) as a tenant
//! holds them, and their lifecycles: what creating a run schedules, and what
//! finishing it writes (its `Final` state and its audit entry). The routes
//! are in `routes::workflows` and `routes::instances`; the scheduling itself
//! (the due-transition heap) is `TenantState::advance`.

use serde_json::{Map, Value, json};

use crate::clock::{Clock, duration_ms};
use crate::fixtures::{Outcome, WorkflowFixture};
use crate::state::{AuditEntry, Settings, Target, TenantState, new_audit_id};

/// A workflow as a tenant holds it: the fixture with its duration resolved.
#[derive(Debug, Clone)]
pub(crate) struct Workflow {
    pub fixture: WorkflowFixture,
    pub duration_ms: u64,
    pub max_concurrent_instances: u32,
}

impl Workflow {
    /// `fixture` with the settings' defaults filled in.
    pub(crate) fn new(fixture: WorkflowFixture, settings: &Settings) -> Self {
        let duration = if fixture.duration.is_zero() {
            settings.execution_duration
        } else {
            fixture.duration
        };
        Self {
            fixture,
            duration_ms: duration_ms(duration),
            max_concurrent_instances: settings.max_concurrent_instances,
        }
    }

    /// Whether executions and instances may start (ACTIVE or DEPLOYED).
    pub(crate) fn is_runnable(&self) -> bool {
        matches!(
            self.fixture.status.to_ascii_uppercase().as_str(),
            "ACTIVE" | "DEPLOYED"
        )
    }
}

/// How a run ended.
#[derive(Debug, Clone)]
pub(crate) enum Final {
    /// COMPLETED with an output object.
    Completed { output: Value },
    /// FAILED with one error.
    Failed { code: String, message: String },
}

impl Final {
    /// Add `completedAt` (`started_ms + duration_ms`) and `output` or
    /// `errors` to a run's JSON (executions and instances alike).
    pub(crate) fn write_into(
        &self,
        m: &mut Map<String, Value>,
        clock: &Clock,
        started_ms: u64,
        duration_ms: u64,
    ) {
        m.insert(
            "completedAt".into(),
            Value::String(clock.rfc3339(started_ms.saturating_add(duration_ms))),
        );
        match self {
            Final::Completed { output } => {
                m.insert("output".into(), output.clone());
            }
            Final::Failed { code, message } => {
                m.insert(
                    "errors".into(),
                    json!([{ "code": code, "message": message }]),
                );
            }
        }
    }

    /// `COMPLETED` or `FAILED`.
    pub(crate) fn status(&self) -> &'static str {
        match self {
            Final::Completed { .. } => "COMPLETED",
            Final::Failed { .. } => "FAILED",
        }
    }
}

/// A workflow execution (seed 000).
#[derive(Debug, Clone)]
pub(crate) struct Execution {
    pub id: String,
    pub workflow_id: String,
    pub priority: String,
    pub input: Map<String, Value>,
    pub context: Option<Map<String, Value>>,
    pub started_ms: u64,
    pub pending_ms: u64,
    pub duration_ms: u64,
    pub outcome: Outcome,
    pub client_id: String,
    pub finished: Option<Final>,
}

impl Execution {
    /// Status at sim time `now_ms` (after [`TenantState::advance`]).
    pub(crate) fn status(&self, now_ms: u64) -> &'static str {
        match &self.finished {
            Some(f) => f.status(),
            None if now_ms < self.started_ms.saturating_add(self.pending_ms) => "PENDING",
            None => "RUNNING",
        }
    }
}

/// A workflow instance (seed 001).
#[derive(Debug, Clone)]
pub(crate) struct Instance {
    pub id: String,
    pub workflow_id: String,
    pub priority: u8,
    pub context: Map<String, Value>,
    pub metadata: Map<String, Value>,
    pub created_ms: u64,
    pub duration_ms: u64,
    pub outcome: Outcome,
    pub client_id: String,
    pub finished: Option<Final>,
}

impl Instance {
    /// `RUNNING`, `COMPLETED` or `FAILED`.
    pub(crate) fn status(&self) -> &'static str {
        self.finished.as_ref().map_or("RUNNING", Final::status)
    }
}

/// The two kinds of run, for what their lifecycles share: the audit entries.
#[derive(Debug, Clone, Copy)]
enum Run {
    Execution,
    Instance,
}

impl Run {
    /// `resourceType` of the run's audit entries.
    fn resource_type(self) -> &'static str {
        match self {
            Run::Execution => "workflow_execution",
            Run::Instance => "workflow_instance",
        }
    }

    /// The `details` key naming the run.
    fn id_key(self) -> &'static str {
        match self {
            Run::Execution => "executionId",
            Run::Instance => "instanceId",
        }
    }

    /// The status a new run starts in, and the `details` key listing the
    /// names of its variables (input or context).
    fn created(self) -> (&'static str, &'static str) {
        match self {
            Run::Execution => ("PENDING", "inputKeys"),
            Run::Instance => ("RUNNING", "contextKeys"),
        }
    }

    /// The audit action for a run just created (`None`) or finished.
    fn action(self, finished: Option<&Final>) -> &'static str {
        match (self, finished) {
            (Run::Execution, None) => "EXECUTION_CREATED",
            (Run::Execution, Some(Final::Completed { .. })) => "EXECUTION_COMPLETED",
            (Run::Execution, Some(Final::Failed { .. })) => "EXECUTION_FAILED",
            (Run::Instance, None) => "INSTANCE_CREATED",
            (Run::Instance, Some(Final::Completed { .. })) => "INSTANCE_COMPLETED",
            (Run::Instance, Some(Final::Failed { .. })) => "INSTANCE_FAILED",
        }
    }
}

/// What a run's audit entries are about.
struct RunRef<'a> {
    kind: Run,
    id: &'a str,
    workflow_id: &'a str,
    client_id: &'a str,
}

impl<'a> RunRef<'a> {
    fn new(kind: Run, id: &'a str, workflow_id: &'a str, client_id: &'a str) -> Self {
        Self {
            kind,
            id,
            workflow_id,
            client_id,
        }
    }

    /// The audit entry at `timestamp` for the run created (`finished` is
    /// `None`) or finished; `details` gets the run's id too.
    fn audit(
        &self,
        finished: Option<&Final>,
        timestamp: String,
        mut details: Map<String, Value>,
    ) -> AuditEntry {
        details.insert(self.kind.id_key().into(), json!(self.id));
        AuditEntry {
            id: new_audit_id(),
            timestamp,
            user_id: self.client_id.to_owned(),
            action: self.kind.action(finished),
            resource_type: self.kind.resource_type(),
            resource_id: self.workflow_id.to_owned(),
            details: Value::Object(details),
        }
    }

    /// The audit entry of the run created at `timestamp` with `priority`
    /// and the variables `vars`: its first status and the variables' names.
    fn created(&self, timestamp: String, priority: Value, vars: &Map<String, Value>) -> AuditEntry {
        let (status, keys_field) = self.kind.created();
        let mut details = Map::new();
        details.insert("priority".into(), priority);
        details.insert("status".into(), json!(status));
        details.insert(keys_field.into(), json!(vars.keys().collect::<Vec<_>>()));
        self.audit(None, timestamp, details)
    }

    /// Ends the run at `completed_at` unless it has ended or is stuck: sets
    /// `finished` (with `output(completed_at)` when it completes) and
    /// answers the audit entry (`errorCode` when it failed, `status`,
    /// `durationMs`).
    fn finish(
        &self,
        finished: &mut Option<Final>,
        outcome: &Outcome,
        duration_ms: u64,
        completed_at: String,
        output: impl FnOnce(&str) -> Value,
    ) -> Option<AuditEntry> {
        if finished.is_some() {
            return None;
        }
        let mut details = Map::new();
        let end = match outcome {
            Outcome::Complete => Final::Completed {
                output: output(&completed_at),
            },
            Outcome::Fail { code, message } => {
                details.insert("errorCode".into(), json!(code));
                Final::Failed {
                    code: code.clone(),
                    message: message.clone(),
                }
            }
            Outcome::Stuck => return None,
        };
        details.insert("status".into(), json!(end.status()));
        details.insert("durationMs".into(), json!(duration_ms));
        let entry = self.audit(Some(&end), completed_at, details);
        *finished = Some(end);
        Some(entry)
    }
}

/// When a run created at `start_ms` with `outcome` is due to end: `None`
/// for a stuck one.
fn due(outcome: &Outcome, start_ms: u64, duration_ms: u64) -> Option<u64> {
    (!matches!(outcome, Outcome::Stuck)).then(|| start_ms.saturating_add(duration_ms))
}

impl TenantState {
    /// Ends execution `key` at sim time `at_ms` and audits it (see
    /// [`RunRef::finish`]; an evicted one is left alone).
    pub(crate) fn finish_execution(&mut self, key: u64, at_ms: u64, clock: &Clock) {
        let Some(e) = self.executions.by_key_mut(key) else {
            return;
        };
        let run = RunRef::new(Run::Execution, &e.id, &e.workflow_id, &e.client_id);
        let output = |at: &str| execution_output(&e.id, &e.input, at);
        let at = clock.rfc3339(at_ms);
        let entry = run.finish(&mut e.finished, &e.outcome, e.duration_ms, at, output);
        self.audit.extend(entry);
    }

    /// Ends instance `key` at sim time `at_ms`, frees its concurrency slot
    /// and audits it (see [`RunRef::finish`]; an evicted one is left alone).
    pub(crate) fn finish_instance(&mut self, key: u64, at_ms: u64, clock: &Clock) {
        let Some(i) = self.instances.by_key_mut(key) else {
            return;
        };
        let run = RunRef::new(Run::Instance, &i.id, &i.workflow_id, &i.client_id);
        let output = |at: &str| instance_output(&i.context, at);
        let at = clock.rfc3339(at_ms);
        let Some(entry) = run.finish(&mut i.finished, &i.outcome, i.duration_ms, at, output) else {
            return;
        };
        if let Some(n) = self.running_instances.get_mut(&i.workflow_id) {
            *n = n.saturating_sub(1);
        }
        self.audit.push(entry);
    }

    /// Adds an execution, schedules its completion and writes
    /// `EXECUTION_CREATED`.
    pub(crate) fn insert_execution(&mut self, exec: Execution, clock: &Clock) {
        let due = due(&exec.outcome, exec.started_ms, exec.duration_ms);
        let run = RunRef::new(Run::Execution, &exec.id, &exec.workflow_id, &exec.client_id);
        let at = clock.rfc3339(exec.started_ms);
        self.audit
            .push(run.created(at, json!(exec.priority), &exec.input));
        let key = self.executions.insert(exec.id.clone(), exec, due);
        self.schedule(due, Target::Execution(key));
    }

    /// The execution with `id`.
    pub(crate) fn execution(&self, id: &str) -> Option<&Execution> {
        self.executions.get(id)
    }

    /// Running instances of `workflow_id`.
    pub(crate) fn running_instances(&self, workflow_id: &str) -> u32 {
        self.running_instances
            .get(workflow_id)
            .copied()
            .unwrap_or(0)
    }

    /// Adds an instance, schedules its completion and writes
    /// `INSTANCE_CREATED`.
    pub(crate) fn insert_instance(&mut self, inst: Instance, clock: &Clock) {
        let due = due(&inst.outcome, inst.created_ms, inst.duration_ms);
        *self
            .running_instances
            .entry(inst.workflow_id.clone())
            .or_insert(0) += 1;
        let run = RunRef::new(Run::Instance, &inst.id, &inst.workflow_id, &inst.client_id);
        let at = clock.rfc3339(inst.created_ms);
        self.audit
            .push(run.created(at, json!(inst.priority), &inst.context));
        let key = self.instances.insert(inst.id.clone(), inst, due);
        self.schedule(due, Target::Instance(key));
    }

    /// The instance with `id`.
    pub(crate) fn instance(&self, id: &str) -> Option<&Instance> {
        self.instances.get(id)
    }
}

/// `priorityScore` from an input or context object, if numeric.
fn priority_score(vars: &Map<String, Value>) -> Option<f64> {
    vars.get("priorityScore").and_then(Value::as_f64)
}

/// Routing decision and customer tier for a priority score:
/// `>= 80` → priority-queue/gold, `>= 50` → standard-queue/silver, else
/// standard-queue/bronze.
fn routing(score: Option<f64>) -> (&'static str, Option<&'static str>) {
    match score {
        Some(s) if s >= 80.0 => ("priority-queue", Some("gold")),
        Some(s) if s >= 50.0 => ("standard-queue", Some("silver")),
        Some(_) => ("standard-queue", Some("bronze")),
        None => ("standard-queue", None),
    }
}

/// Output of a completed execution: `{executionId, echo, routingDecision,
/// processedAt, customerTier?}`.
fn execution_output(id: &str, input: &Map<String, Value>, completed_at: &str) -> Value {
    let (decision, tier) = routing(priority_score(input));
    let mut out = Map::new();
    out.insert("executionId".into(), json!(id));
    out.insert("echo".into(), Value::Object(input.clone()));
    out.insert("routingDecision".into(), json!(decision));
    out.insert("processedAt".into(), json!(completed_at));
    if let Some(tier) = tier {
        out.insert("customerTier".into(), json!(tier));
    }
    Value::Object(out)
}

/// Output of a completed instance: `{routingDecision, processedAt,
/// customerTier?}`.
fn instance_output(context: &Map<String, Value>, completed_at: &str) -> Value {
    let (decision, tier) = routing(priority_score(context));
    let mut out = Map::new();
    out.insert("routingDecision".into(), json!(decision));
    out.insert("processedAt".into(), json!(completed_at));
    if let Some(tier) = tier {
        out.insert("customerTier".into(), json!(tier));
    }
    Value::Object(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routing_table() {
        let cases = [
            (Some(95.0), "priority-queue", Some("gold")),
            (Some(80.0), "priority-queue", Some("gold")),
            (Some(79.9), "standard-queue", Some("silver")),
            (Some(50.0), "standard-queue", Some("silver")),
            (Some(10.0), "standard-queue", Some("bronze")),
            (None, "standard-queue", None),
        ];
        for (score, decision, tier) in cases {
            assert_eq!(routing(score), (decision, tier), "{score:?}");
        }
    }
}
