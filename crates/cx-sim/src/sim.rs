//! [`Sim`], the running simulator, and [`SimBuilder`], its configuration.

use std::fmt;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::auth::ClientRegistration;
use crate::callbacks::CallbackAttempt;
use crate::faults::{FaultEngine, FaultRule};
use crate::fixtures::{WorkflowFixture, builtin_access_keys, builtin_clients};
use crate::journal::{Journal, JournalEntry};
use crate::oidc::AccessKey;
use crate::retention::Retention;
use crate::setters::with_setters;
use crate::state::{Settings, Shared};
use crate::sync::wait_until;
use serde::{Deserialize, Serialize};

/// Why the simulator could not start.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SimError {
    /// Binding the listening socket failed (port in use, no permission).
    #[error("could not bind {addr}")]
    Bind {
        /// The address that was requested.
        addr: SocketAddr,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
    /// Any other socket error while starting.
    #[error("simulator I/O error")]
    Io(#[from] std::io::Error),
}

/// Configuration for a [`Sim`]; build with [`Sim::builder`].
///
/// ```no_run
/// # async fn demo() -> Result<(), cx_sim::SimError> {
/// use std::time::Duration;
/// let sim = cx_sim::Sim::builder()
///     .seed(42)
///     .token_ttl(Duration::from_secs(60))
///     .max_concurrent_instances(2)
///     .start()
///     .await?;
/// # drop(sim); Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct SimBuilder {
    port: u16,
    seed: u64,
    faults: Vec<FaultRule>,
    clients: Vec<ClientRegistration>,
    access_keys: Vec<AccessKey>,
    journal_capacity: usize,
    settings: Settings,
}

impl Default for SimBuilder {
    fn default() -> Self {
        Self {
            port: 0,
            seed: 0,
            faults: Vec::new(),
            clients: Vec::new(),
            access_keys: Vec::new(),
            journal_capacity: 10_000,
            settings: Settings {
                token_ttl: Duration::from_secs(3600),
                execution_duration: Duration::from_millis(300),
                max_concurrent_instances: 25,
                refresh_token_ttl: crate::oidc::DEFAULT_REFRESH_TOKEN_TTL,
                api_endpoint: None,
                issuer: None,
                retention: Retention::default(),
                max_tokens: DEFAULT_MAX_TOKENS,
            },
        }
    }
}

/// Default [`SimBuilder::max_tokens`].
pub const DEFAULT_MAX_TOKENS: usize = 10_000;

/// How many resources the simulator holds ([`Sim::store_sizes`], `GET
/// /_sim/stats`). JSON camelCase.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StoreSizes {
    /// Executions kept by the tenant (running and finished).
    pub executions: usize,
    /// Instances kept by the tenant.
    pub instances: usize,
    /// Data-action jobs kept by the tenant.
    pub jobs: usize,
    /// Stored idempotent responses of the tenant.
    pub idempotency_keys: usize,
    /// Audit log entries of the tenant.
    pub audit_entries: usize,
    /// Access tokens kept, every tenant.
    pub tokens: usize,
}

with_setters! { SimBuilder {
    /// TCP port on 127.0.0.1; 0 (the default) picks an ephemeral port.
    port(port: u16);
    /// Seed for fault randomness (default 0). Same seed, same rules and same
    /// request sequence give the same faults.
    seed(seed: u64);
    /// Initial fault rules (replaceable later with [`Sim::set_faults`]).
    faults(faults: Vec<FaultRule>);
    /// Journal size in entries (default 10 000); the oldest are dropped.
    journal_capacity(journal_capacity: usize);
}}

with_setters! { SimBuilder => settings {
    /// Refresh-token lifetime of the access-key login (default 7200 s, sim
    /// time).
    refresh_token_ttl(refresh_token_ttl: Duration);
    /// The `api_endpoint` `/.well-known/cxone-configuration` reports (default:
    /// the simulator's own base URL).
    api_endpoint(api_endpoint: impl Into<String>) = Some(api_endpoint.into());
    /// The `issuer` `/.well-known/openid-configuration` reports and the
    /// `iss` of its id_tokens (default: the simulator's own base URL); the
    /// token endpoint and JWKS stay on the simulator.
    issuer(issuer: impl Into<String>) = Some(issuer.into());
    /// Default token lifetime (default 3600 s); clients may override it.
    token_ttl(token_ttl: Duration);
    /// Run time of executions and instances for workflows that do not set
    /// one (default 300 ms, sim time).
    execution_duration(execution_duration: Duration);
    /// Running instances allowed per workflow before `POST
    /// /api/v2/workflows/instances` answers 429 (default 25).
    max_concurrent_instances(max_concurrent_instances: u32);
    /// What is kept of finished executions, instances and jobs, stored
    /// idempotent responses and the audit log (default 24 h and 10,000 per
    /// tenant and kind; see [`Retention`]).
    retention(retention: Retention);
    /// Access tokens kept at most (default [`DEFAULT_MAX_TOKENS`]): expired
    /// ones are dropped first, then the oldest live ones (their holders get
    /// 401 and fetch a new one).
    max_tokens(max_tokens: usize);
}}

impl SimBuilder {
    /// Registers an extra client (call repeatedly for several); a client
    /// with a built-in id replaces it.
    #[must_use]
    pub fn client(mut self, client: ClientRegistration) -> Self {
        self.clients.push(client);
        self
    }

    /// Registers an extra access key for the password grant (call
    /// repeatedly for several); a key with a built-in id replaces it.
    #[must_use]
    pub fn access_key(mut self, key: AccessKey) -> Self {
        self.access_keys.push(key);
        self
    }

    /// Binds the socket and starts serving on the current tokio runtime.
    ///
    /// # Errors
    /// [`SimError::Bind`] when the port cannot be bound.
    pub async fn start(self) -> Result<Sim, SimError> {
        let shared = Arc::new(Shared::new(
            self.settings,
            FaultEngine::new(self.seed, self.faults),
            Journal::new(self.journal_capacity),
        ));
        for client in builtin_clients().into_iter().chain(self.clients) {
            shared.clients.register(client);
        }
        for key in builtin_access_keys().into_iter().chain(self.access_keys) {
            shared.access_keys.register(key);
        }

        let requested = SocketAddr::from((Ipv4Addr::LOCALHOST, self.port));
        let listener = TcpListener::bind(requested)
            .await
            .map_err(|source| SimError::Bind {
                addr: requested,
                source,
            })?;
        let addr = listener.local_addr()?;
        let router = crate::routes::router(Arc::clone(&shared));
        let (shutdown, rx) = watch::channel(false);
        let task = tokio::spawn(crate::server::serve(
            listener,
            Arc::clone(&shared),
            router,
            rx,
        ));
        tracing::info!(%addr, seed = self.seed, "cx-sim listening");
        Ok(Sim {
            shared,
            addr,
            base_url: format!("http://{addr}"),
            shutdown,
            task: Some(task),
        })
    }
}

/// A running simulator on 127.0.0.1. Dropping it (or [`Sim::shutdown`])
/// stops the server and closes its connections.
///
/// ```no_run
/// # async fn demo() -> Result<(), cx_sim::SimError> {
/// let sim = cx_sim::Sim::start().await?;
/// let token_url = format!("{}/oauth/token", sim.base_url());
/// # let _ = token_url;
/// sim.shutdown().await;
/// # Ok(()) }
/// ```
pub struct Sim {
    shared: Arc<Shared>,
    addr: SocketAddr,
    base_url: String,
    shutdown: watch::Sender<bool>,
    task: Option<JoinHandle<()>>,
}

impl fmt::Debug for Sim {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Sim")
            .field("base_url", &self.base_url)
            .finish()
    }
}

impl Sim {
    /// Starts a simulator with the default configuration on an ephemeral
    /// port.
    ///
    /// # Errors
    /// [`SimError`] when no socket can be bound.
    pub async fn start() -> Result<Sim, SimError> {
        Self::builder().start().await
    }

    /// A builder with the default configuration.
    #[must_use]
    pub fn builder() -> SimBuilder {
        SimBuilder::default()
    }

    /// `http://127.0.0.1:PORT`, no trailing slash.
    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    /// The bound address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// A copy of the journal, oldest first.
    pub fn journal(&self) -> Vec<JournalEntry> {
        self.shared.journal.snapshot(None)
    }

    /// Waits until `done` holds for the journal (checked now and after each
    /// new entry), and returns the journal then: how a test waits for a
    /// request to arrive without sleeping.
    ///
    /// # Errors
    /// The journal as it was, when `done` still did not hold after `limit`
    /// (a guard against a test hanging, not a timing assertion).
    pub async fn wait_for_journal(
        &self,
        limit: Duration,
        done: impl Fn(&[JournalEntry]) -> bool,
    ) -> Result<Vec<JournalEntry>, Vec<JournalEntry>> {
        let journal = &self.shared.journal;
        wait_until(
            &journal.recorded,
            limit,
            || journal.snapshot(None),
            |entries| done(entries),
        )
        .await
    }

    /// Empties the journal (sequence numbers keep counting).
    pub fn clear_journal(&self) {
        self.shared.journal.clear();
    }

    /// Replaces the fault rules and resets their counters. Out-of-range
    /// probabilities are clamped to `0..=1`.
    pub fn set_faults(&self, faults: Vec<FaultRule>) {
        self.shared.faults.replace(faults);
    }

    /// Adds or replaces an OAuth client.
    pub fn register_client(&self, client: ClientRegistration) {
        self.shared.clients.register(client);
    }

    /// Adds or replaces an access key for the password grant.
    pub fn register_access_key(&self, key: AccessKey) {
        self.shared.access_keys.register(key);
    }

    /// Revokes every access token issued so far (they now get 401
    /// `invalid_token`) and every refresh token (400 `invalid_grant`).
    pub fn revoke_tokens(&self) {
        self.shared.revoke_tokens();
    }

    /// Adds or replaces a workflow in `tenant` (creating the tenant with the
    /// default fixtures if it is new).
    pub fn add_workflow(&self, tenant: &str, wf: WorkflowFixture) {
        self.shared.add_workflow(tenant, wf);
    }

    /// Adds or replaces a data action (seed 004) in `tenant` (creating the
    /// tenant with the default fixtures if it is new).
    pub fn add_data_action(&self, tenant: &str, action: crate::DataActionFixture) {
        self.shared.add_data_action(tenant, action);
    }

    /// The JSON bodies posted to `{base}/_sim/webhooks/{name}` so far, oldest first.
    pub fn webhooks(&self, name: &str) -> Vec<serde_json::Value> {
        self.shared.webhooks.received(name)
    }

    /// Serves the synthetic history set `set` to `tenant` (seed 003 load
    /// tests), replacing any previous one.
    pub fn set_synthetic_history(&self, tenant: &str, set: crate::SyntheticHistory) {
        self.shared.history.set_synthetic(tenant, set);
    }

    /// Serves the synthetic completed contacts `set` to `tenant` (benches,
    /// load tests) in place of its generated day-to-day contacts.
    pub fn set_synthetic_contacts(&self, tenant: &str, set: crate::SyntheticContacts) {
        self.shared
            .with_tenant(tenant, |t, _| t.contacts.set_synthetic(set));
    }

    /// Replaces the history endpoint's settings (quota, latency).
    pub fn set_history_settings(&self, settings: crate::HistorySettings) {
        self.shared.history.set_settings(settings);
    }

    /// Replaces the Data Extraction settings (tenant limit, job duration,
    /// URL lifetime, rows, failures) of every tenant (issue 17).
    pub fn set_extraction_settings(&self, settings: crate::ExtractionSettings) {
        self.shared.extraction.set_settings(settings);
    }

    /// Makes every script started from now on run `run_time` of sim time
    /// (its contact's active span) instead of its own (90 s, 300 s, 60 s);
    /// `None` restores those.
    pub fn set_script_run_time(&self, run_time: Option<Duration>) {
        self.shared
            .script_run_time
            .set(run_time.map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX)));
    }

    /// Bodies received on `POST /webhooks/history`, oldest first (the
    /// newest, as many as [`Retention::max_finished`] × 4).
    pub fn history_webhooks(&self) -> Vec<serde_json::Value> {
        self.shared.history.webhooks()
    }

    /// How many resources `tenant` holds, and the tokens of every tenant.
    pub fn store_sizes(&self, tenant: &str) -> StoreSizes {
        self.shared.store_sizes(tenant)
    }

    /// Moves the virtual clock forward: work due within `by` completes on the
    /// next read, and tokens expire accordingly.
    pub fn advance_clock(&self, by: Duration) {
        self.shared.clock.advance(by);
    }

    /// Gives agent session `session_id` (of any tenant) a new id, as CXone
    /// may: the next `get-next-event` answer carries it (200, even with no
    /// events) and the old id is then gone (409). `None` when no live
    /// session has that id.
    pub fn rotate_agent_session(&self, session_id: &str) -> Option<String> {
        self.shared.sessions.rotate(session_id)
    }

    /// Queues `event` (a CXone event object such as
    /// `{"Type": "CustomEvent", ...}`) for live agent session `session_id`
    /// of any tenant, waking its poll; false when there is no such session.
    pub fn push_agent_session_event(&self, session_id: &str, event: serde_json::Value) -> bool {
        self.shared.sessions.push(None, session_id, event, false)
    }

    /// Registers a signed completion callback for instances of `tenant` that
    /// finish from now on (see `POST /_sim/callbacks`); returns its id, or
    /// `None` when `url` is not `http://host[:port]/path`.
    pub fn register_callback(&self, url: &str, secret: &str, tenant: &str) -> Option<String> {
        self.shared.register_callback(url, secret, tenant)
    }

    /// Waits until `done` holds for the callback delivery attempts (checked
    /// now and after each new attempt), and returns them then: how a test
    /// waits for a delivery without sleeping.
    ///
    /// # Errors
    /// The attempts as they were, when `done` still did not hold after
    /// `limit` (a guard against a test hanging, not a timing assertion).
    pub async fn wait_for_deliveries(
        &self,
        limit: Duration,
        done: impl Fn(&[CallbackAttempt]) -> bool,
    ) -> Result<Vec<CallbackAttempt>, Vec<CallbackAttempt>> {
        self.shared.callbacks.wait(limit, done).await
    }

    /// Stops accepting connections, closes open ones and waits for the
    /// accept loop to end.
    pub async fn shutdown(mut self) {
        let _ = self.shutdown.send(true);
        if let Some(task) = self.task.take()
            && let Err(err) = task.await
        {
            tracing::warn!(%err, "accept loop ended abnormally");
        }
    }
}

impl Drop for Sim {
    fn drop(&mut self) {
        let _ = self.shutdown.send(true);
    }
}
