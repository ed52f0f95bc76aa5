//! Simulator state.
//!
//! [`Shared`] is the process-wide part (settings, clock, clients, tokens,
//! faults, journal) and holds one [`TenantState`] per tenant, each behind its
//! own mutex that handlers hold briefly and never across an `.await`. There
//! is no lock shared by every request.
//!
//! Lifecycles are materialized lazily: each tenant keeps a min-heap of due
//! transitions (execution or instance completion), and every handler that
//! reads or writes executions, instances or the audit log calls
//! [`TenantState::advance`] first. That applies every transition whose sim
//! time has come, in time order, writing its audit entry exactly once — so
//! the virtual clock works without background timers, and audit entries are
//! appended in timestamp order.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};
use std::sync::{Arc, Mutex, RwLock};

use crate::sync::lock;
use std::time::Duration;

use serde::Serialize;
use serde_json::{Map, Value, json};

use crate::auth::{Clients, TokenStore};
use crate::clock::{Clock, duration_ms};
use crate::faults::FaultEngine;
use crate::fixtures::{Outcome, WorkflowFixture};
use crate::journal::Journal;
use crate::retention::{Expiring, Retained, Retention, trim_log};

/// Handle every axum handler receives.
pub(crate) type AppState = Arc<Shared>;

/// Knobs fixed at start (see `SimBuilder`).
#[derive(Debug, Clone)]
pub(crate) struct Settings {
    /// Default token lifetime.
    pub token_ttl: Duration,
    /// Run duration for fixtures that do not set one.
    pub execution_duration: Duration,
    /// Concurrent running instances allowed per workflow.
    pub max_concurrent_instances: u32,
    /// Lifetime of refresh tokens from the access-key login.
    pub refresh_token_ttl: Duration,
    /// `api_endpoint` of the tenant lookup; `None` = the simulator itself.
    pub api_endpoint: Option<String>,
    /// How long and how many finished resources are kept.
    pub retention: Retention,
    /// Live access tokens kept at most (the oldest are evicted beyond it).
    pub max_tokens: usize,
}

/// Process-wide state.
#[derive(Debug)]
pub(crate) struct Shared {
    pub settings: Settings,
    pub clock: Clock,
    pub clients: Clients,
    pub tokens: TokenStore,
    pub access_keys: crate::oidc::AccessKeys,
    pub refresh_tokens: crate::oidc::RefreshTokens,
    pub faults: FaultEngine,
    pub journal: Journal,
    pub webhooks: crate::dataactions::Webhooks,
    pub callbacks: crate::routes::callbacks::Callbacks,
    pub history: crate::history::HistoryStore,
    tenants: RwLock<HashMap<String, Arc<Mutex<TenantState>>>>,
}

impl Shared {
    /// Fresh state.
    pub(crate) fn new(settings: Settings, faults: FaultEngine, journal: Journal) -> Self {
        Self {
            tokens: TokenStore::new(settings.max_tokens),
            settings,
            clock: Clock::new(),
            clients: Clients::default(),
            access_keys: crate::oidc::AccessKeys::default(),
            refresh_tokens: crate::oidc::RefreshTokens::default(),
            faults,
            journal,
            webhooks: crate::dataactions::Webhooks::default(),
            callbacks: Default::default(),
            history: crate::history::HistoryStore::default(),
            tenants: RwLock::new(HashMap::new()),
        }
    }

    /// The state of `tenant`, created with the default fixtures on first use.
    pub(crate) fn tenant(&self, tenant: &str) -> Arc<Mutex<TenantState>> {
        {
            let map = match self.tenants.read() {
                Ok(g) => g,
                Err(p) => p.into_inner(),
            };
            if let Some(t) = map.get(tenant) {
                return Arc::clone(t);
            }
        }
        let mut map = match self.tenants.write() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        };
        Arc::clone(map.entry(tenant.to_owned()).or_insert_with(|| {
            tracing::debug!(tenant, "creating tenant state");
            Arc::new(Mutex::new(TenantState::new(&self.settings)))
        }))
    }

    /// Revokes every access token and every refresh token issued so far.
    pub(crate) fn revoke_tokens(&self) {
        self.tokens.revoke_all();
        self.refresh_tokens.revoke_all();
    }

    /// How many resources `tenant` holds, and the tokens of every tenant.
    pub(crate) fn store_sizes(&self, tenant: &str) -> crate::StoreSizes {
        let t = self.tenant(tenant);
        let mut t = lock(&t);
        t.advance(self.clock.now_ms(), &self.clock);
        let (executions, instances, jobs, idempotency_keys, audit_entries) = t.sizes();
        crate::StoreSizes {
            executions,
            instances,
            jobs,
            idempotency_keys,
            audit_entries,
            tokens: self.tokens.len(),
        }
    }

    /// Adds or replaces a workflow in `tenant`.
    pub(crate) fn add_workflow(&self, tenant: &str, wf: WorkflowFixture) {
        let t = self.tenant(tenant);
        let mut t = lock(&t);
        let wf = Workflow::new(wf, &self.settings);
        t.workflows.insert(wf.fixture.id.clone(), wf);
    }

    /// Adds or replaces a data action in `tenant`.
    pub(crate) fn add_data_action(&self, tenant: &str, action: crate::DataActionFixture) {
        let t = self.tenant(tenant);
        lock(&t)
            .data_actions
            .actions
            .insert(action.id.clone(), action);
    }
}

/// A workflow as a tenant holds it: the fixture with its duration resolved.
#[derive(Debug, Clone)]
pub(crate) struct Workflow {
    pub fixture: WorkflowFixture,
    pub duration_ms: u64,
    pub max_concurrent_instances: u32,
}

impl Workflow {
    fn new(fixture: WorkflowFixture, settings: &Settings) -> Self {
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
        m: &mut serde_json::Map<String, Value>,
        clock: &crate::clock::Clock,
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
                    serde_json::json!([{ "code": code, "message": message }]),
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

/// One audit log entry (`GET /api/v2/audit/logs` item).
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct AuditEntry {
    pub id: String,
    pub timestamp: String,
    pub user_id: String,
    pub action: &'static str,
    pub resource_type: &'static str,
    pub resource_id: String,
    pub details: Value,
}

/// A stored response for an `Idempotency-Key` replay.
#[derive(Debug, Clone)]
pub(crate) struct StoredResponse {
    pub body: Value,
}

/// A scheduled transition's resource, by its key in [`Retained`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Target {
    Execution(u64),
    Instance(u64),
}

/// Per-tenant resources.
#[derive(Debug)]
pub(crate) struct TenantState {
    pub workflows: HashMap<String, Workflow>,
    pub executions: Retained<Execution>,
    pub instances: Retained<Instance>,
    running_instances: HashMap<String, u32>,
    idempotency: Expiring<(String, String), StoredResponse>,
    pub audit: Vec<AuditEntry>,
    /// What is kept of finished resources (from the settings).
    pub retention: Retention,
    /// The sim time of the last [`TenantState::advance`].
    now_ms: u64,
    /// Seed 002: agents, skills, shifts, write history, events.
    pub agents: crate::agents::AgentStore,
    /// CXone's real agent API: agents, skills, assignments, states.
    pub incontact: crate::incontact_agents::InContactStore,
    /// Seed 004: data action definitions and their jobs.
    pub data_actions: crate::dataactions::DataActions,
    /// (due sim ms, insertion seq, target), earliest first.
    transitions: BinaryHeap<Reverse<(u64, u64, Target)>>,
    next_seq: u64,
}

impl TenantState {
    fn new(settings: &Settings) -> Self {
        let workflows = crate::fixtures::builtin_workflows()
            .into_iter()
            .map(|f| {
                let wf = Workflow::new(f, settings);
                (wf.fixture.id.clone(), wf)
            })
            .collect();
        Self {
            workflows,
            executions: Retained::default(),
            instances: Retained::default(),
            running_instances: HashMap::new(),
            idempotency: Expiring::default(),
            audit: Vec::new(),
            retention: settings.retention,
            now_ms: 0,
            agents: crate::agents::AgentStore::default(),
            incontact: Default::default(),
            data_actions: crate::dataactions::DataActions::default(),
            transitions: BinaryHeap::new(),
            next_seq: 0,
        }
    }

    /// Applies every transition due at or before `now_ms`, in time order,
    /// then evicts what the retention no longer keeps.
    pub(crate) fn advance(&mut self, now_ms: u64, clock: &Clock) {
        while let Some(Reverse((due, _, target))) = self.transitions.peek().copied() {
            if due > now_ms {
                break;
            }
            self.transitions.pop();
            match target {
                Target::Execution(key) => self.finish_execution(key, due, clock),
                Target::Instance(key) => self.finish_instance(key, due, clock),
            }
        }
        self.now_ms = self.now_ms.max(now_ms);
        self.evict(now_ms);
    }

    /// Drop finished executions and instances, and audit entries, beyond
    /// the retention (see [`Retention`]).
    fn evict(&mut self, now_ms: u64) {
        self.executions.evict(now_ms, &self.retention);
        self.instances.evict(now_ms, &self.retention);
        self.idempotency.evict(now_ms, &self.retention);
        trim_log(&mut self.audit, self.retention.max_audit_entries());
    }

    /// How many resources this tenant holds, for `Sim::store_sizes`.
    pub(crate) fn sizes(&self) -> (usize, usize, usize, usize, usize) {
        (
            self.executions.len(),
            self.instances.len(),
            self.data_actions.jobs.len(),
            self.idempotency.len(),
            self.audit.len(),
        )
    }

    fn schedule(&mut self, due: u64, target: Target) {
        let seq = self.next_seq;
        self.next_seq += 1;
        self.transitions.push(Reverse((due, seq, target)));
    }

    fn finish_execution(&mut self, key: u64, at_ms: u64, clock: &Clock) {
        let Some(exec) = self.executions.by_key_mut(key) else {
            return;
        };
        if exec.finished.is_some() {
            return;
        }
        let completed_at = clock.rfc3339(at_ms);
        let finished = match &exec.outcome {
            Outcome::Complete => Final::Completed {
                output: execution_output(&exec.id, &exec.input, &completed_at),
            },
            Outcome::Fail { code, message } => Final::Failed {
                code: code.clone(),
                message: message.clone(),
            },
            Outcome::Stuck => return,
        };
        let (action, mut details) = match &finished {
            Final::Completed { .. } => ("EXECUTION_COMPLETED", Map::new()),
            Final::Failed { code, .. } => {
                let mut d = Map::new();
                d.insert("errorCode".into(), json!(code));
                ("EXECUTION_FAILED", d)
            }
        };
        details.insert("executionId".into(), json!(exec.id));
        details.insert("status".into(), json!(finished.status()));
        details.insert("durationMs".into(), json!(exec.duration_ms));
        exec.finished = Some(finished);
        let entry = AuditEntry {
            id: new_audit_id(),
            timestamp: completed_at,
            user_id: exec.client_id.clone(),
            action,
            resource_type: "workflow_execution",
            resource_id: exec.workflow_id.clone(),
            details: Value::Object(details),
        };
        self.audit.push(entry);
    }

    fn finish_instance(&mut self, key: u64, at_ms: u64, clock: &Clock) {
        let Some(inst) = self.instances.by_key_mut(key) else {
            return;
        };
        if inst.finished.is_some() {
            return;
        }
        let completed_at = clock.rfc3339(at_ms);
        let finished = match &inst.outcome {
            Outcome::Complete => Final::Completed {
                output: instance_output(&inst.context, &completed_at),
            },
            Outcome::Fail { code, message } => Final::Failed {
                code: code.clone(),
                message: message.clone(),
            },
            Outcome::Stuck => return,
        };
        let (action, mut details) = match &finished {
            Final::Completed { .. } => ("INSTANCE_COMPLETED", Map::new()),
            Final::Failed { code, .. } => {
                let mut d = Map::new();
                d.insert("errorCode".into(), json!(code));
                ("INSTANCE_FAILED", d)
            }
        };
        details.insert("instanceId".into(), json!(inst.id));
        details.insert("status".into(), json!(finished.status()));
        details.insert("durationMs".into(), json!(inst.duration_ms));
        inst.finished = Some(finished);
        if let Some(n) = self.running_instances.get_mut(&inst.workflow_id) {
            *n = n.saturating_sub(1);
        }
        let entry = AuditEntry {
            id: new_audit_id(),
            timestamp: completed_at,
            user_id: inst.client_id.clone(),
            action,
            resource_type: "workflow_instance",
            resource_id: inst.workflow_id.clone(),
            details: Value::Object(details),
        };
        self.audit.push(entry);
    }

    /// A previously stored response for `(route, key)`.
    pub(crate) fn idempotent(&self, route: &str, key: &str) -> Option<&StoredResponse> {
        self.idempotency.get(&(route.to_owned(), key.to_owned()))
    }

    /// Remembers the response for `(route, key)` (kept as the retention says).
    pub(crate) fn remember(&mut self, route: &str, key: &str, body: Value) {
        self.idempotency.insert(
            (route.to_owned(), key.to_owned()),
            StoredResponse { body },
            self.now_ms,
            &self.retention,
        );
    }

    /// Adds an execution, schedules its completion and writes
    /// `EXECUTION_CREATED`.
    pub(crate) fn insert_execution(&mut self, exec: Execution, clock: &Clock) {
        let due = (!matches!(exec.outcome, Outcome::Stuck))
            .then(|| exec.started_ms.saturating_add(exec.duration_ms));
        let mut details = Map::new();
        details.insert("executionId".into(), json!(exec.id));
        details.insert("priority".into(), json!(exec.priority));
        details.insert("status".into(), json!("PENDING"));
        details.insert(
            "inputKeys".into(),
            json!(exec.input.keys().collect::<Vec<_>>()),
        );
        self.audit.push(AuditEntry {
            id: new_audit_id(),
            timestamp: clock.rfc3339(exec.started_ms),
            user_id: exec.client_id.clone(),
            action: "EXECUTION_CREATED",
            resource_type: "workflow_execution",
            resource_id: exec.workflow_id.clone(),
            details: Value::Object(details),
        });
        let key = self.executions.insert(exec.id.clone(), exec, due);
        if let Some(due) = due {
            self.schedule(due, Target::Execution(key));
        }
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
        let due = (!matches!(inst.outcome, Outcome::Stuck))
            .then(|| inst.created_ms.saturating_add(inst.duration_ms));
        *self
            .running_instances
            .entry(inst.workflow_id.clone())
            .or_insert(0) += 1;
        let mut details = Map::new();
        details.insert("instanceId".into(), json!(inst.id));
        details.insert("priority".into(), json!(inst.priority));
        details.insert("status".into(), json!("RUNNING"));
        details.insert(
            "contextKeys".into(),
            json!(inst.context.keys().collect::<Vec<_>>()),
        );
        self.audit.push(AuditEntry {
            id: new_audit_id(),
            timestamp: clock.rfc3339(inst.created_ms),
            user_id: inst.client_id.clone(),
            action: "INSTANCE_CREATED",
            resource_type: "workflow_instance",
            resource_id: inst.workflow_id.clone(),
            details: Value::Object(details),
        });
        let key = self.instances.insert(inst.id.clone(), inst, due);
        if let Some(due) = due {
            self.schedule(due, Target::Instance(key));
        }
    }

    /// The instance with `id`.
    pub(crate) fn instance(&self, id: &str) -> Option<&Instance> {
        self.instances.get(id)
    }
}

fn new_audit_id() -> String {
    format!("audit_{}", uuid::Uuid::new_v4())
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
