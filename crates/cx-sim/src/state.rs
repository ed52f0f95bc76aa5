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

use crate::sync::{lock, read, write};
use std::time::Duration;

use serde::Serialize;
use serde_json::Value;

use crate::auth::{Clients, TokenStore};
use crate::clock::Clock;
use crate::faults::FaultEngine;
use crate::fixtures::{WorkflowFixture, builtin_workflows, by_id};
use crate::journal::Journal;
use crate::retention::{Expiring, Retained, Retention, trim_log};
use crate::workflows::{Execution, Instance, Workflow};

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
    /// `issuer` of discovery and `iss` of id_tokens; `None` = the
    /// simulator's own base URL.
    pub issuer: Option<String>,
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
    pub callbacks: crate::callbacks::Callbacks,
    pub history: crate::history::HistoryStore,
    /// Every tenant's agent sessions.
    pub sessions: crate::agent_sessions::Sessions,
    /// Every tenant's Data Extraction jobs (issue 17).
    pub extraction: crate::extraction::Extractions,
    /// The scripts' run time when a test or the CLI shortens it (issue 17).
    pub script_run_time: crate::scripts::RunTimeOverride,
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
            sessions: Default::default(),
            extraction: Default::default(),
            script_run_time: Default::default(),
            tenants: RwLock::new(HashMap::new()),
        }
    }

    /// The state of `tenant`, created with the default fixtures on first use.
    pub(crate) fn tenant(&self, tenant: &str) -> Arc<Mutex<TenantState>> {
        {
            let map = read(&self.tenants);
            if let Some(t) = map.get(tenant) {
                return Arc::clone(t);
            }
        }
        let mut map = write(&self.tenants);
        Arc::clone(map.entry(tenant.to_owned()).or_insert_with(|| {
            tracing::debug!(tenant, "creating tenant state");
            Arc::new(Mutex::new(TenantState::new(&self.settings)))
        }))
    }

    /// Runs `f` on `tenant`'s state brought up to the sim time now (which
    /// `f` gets too), holding the tenant's lock only for `f`: how handlers,
    /// the callback dispatcher and `store_sizes` read and write a tenant.
    pub(crate) fn with_tenant<T>(
        &self,
        tenant: &str,
        f: impl FnOnce(&mut TenantState, u64) -> T,
    ) -> T {
        let t = self.tenant(tenant);
        let mut t = lock(&t);
        let now = self.clock.now_ms();
        t.advance(now, &self.clock);
        f(&mut t, now)
    }

    /// Revokes every access token and every refresh token issued so far.
    pub(crate) fn revoke_tokens(&self) {
        self.tokens.revoke_all();
        self.refresh_tokens.revoke_all();
    }

    /// How many resources `tenant` holds, and the tokens of every tenant.
    pub(crate) fn store_sizes(&self, tenant: &str) -> crate::StoreSizes {
        let (executions, instances, jobs, idempotency_keys, audit_entries) =
            self.with_tenant(tenant, |t, _| t.sizes());
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
pub(crate) enum Target {
    Execution(u64),
    Instance(u64),
}

/// Per-tenant resources.
#[derive(Debug)]
pub(crate) struct TenantState {
    pub workflows: HashMap<String, Workflow>,
    pub executions: Retained<Execution>,
    pub instances: Retained<Instance>,
    /// Running instances per workflow id (seed 001's concurrency limit).
    pub(crate) running_instances: HashMap<String, u32>,
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
    /// CXone's completed and active contacts and their state histories.
    pub contacts: crate::contacts::ContactStore,
    /// Seed 004: data action definitions and their jobs.
    pub data_actions: crate::dataactions::DataActions,
    /// (due sim ms, insertion seq, target), earliest first.
    transitions: BinaryHeap<Reverse<(u64, u64, Target)>>,
    next_seq: u64,
}

impl TenantState {
    fn new(settings: &Settings) -> Self {
        let workflows = by_id(
            builtin_workflows()
                .into_iter()
                .map(|f| Workflow::new(f, settings)),
            |wf| &wf.fixture.id,
        );
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
            contacts: Default::default(),
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

    /// Schedules `target`'s transition at sim time `due` (nothing for
    /// `None`: a stuck run never ends).
    pub(crate) fn schedule(&mut self, due: Option<u64>, target: Target) {
        let Some(due) = due else {
            return;
        };
        let seq = self.next_seq;
        self.next_seq += 1;
        self.transitions.push(Reverse((due, seq, target)));
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
}

/// A fresh audit entry id.
pub(crate) fn new_audit_id() -> String {
    format!("audit_{}", uuid::Uuid::new_v4())
}
