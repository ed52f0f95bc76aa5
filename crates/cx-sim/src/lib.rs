#![doc = include_str!("../README.md")]
//! `cx-sim`: a stateful NICE CXone simulator for local development and
//! tests.
//!
//! It speaks the API the seeds describe (OAuth2 client credentials,
//! workflow executions, workflow instances, audit logs, agent availability,
//! interaction history, data actions and their jobs) on 127.0.0.1, in-process
//! or as a binary (`cx sim serve`), with:
//!
//! - per-tenant state that changes over time (executions PENDING → RUNNING
//!   → COMPLETED/FAILED, instances RUNNING → COMPLETED/FAILED, data-action
//!   jobs QUEUED → RUNNING → COMPLETED/FAILED/TIMED_OUT, audit entries
//!   written by the mutations themselves);
//! - a virtual clock tests can advance ([`Sim::advance_clock`]);
//! - deterministic fault injection per route ([`FaultRule`], [`Fault`]):
//!   error statuses with `Retry-After`, latency, connection resets,
//!   truncated and stalled bodies, lost responses;
//! - a bounded request journal ([`Sim::journal`]);
//! - signed instance-completion callbacks to a registered URL
//!   ([`Sim::register_callback`], `POST /_sim/callbacks`), retried when the
//!   receiver fails;
//! - CXone's back-end login: OpenID discovery, JWKS, the access-key
//!   password grant with rotating refresh tokens and RS256 id_tokens, the
//!   tenant lookup (`/.well-known/cxone-configuration`) and `GET
//!   /inContactAPI/services/vNN.0/business-unit`;
//! - CXone's Data Extraction jobs on the virtual clock (a CSV at a URL
//!   that expires after 30 s, one call per 30 s per tenant;
//!   [`Sim::set_extraction_settings`]), the access-key JSON token endpoint
//!   and script starts and signals on spawned contacts
//!   ([`Sim::set_script_run_time`]) (issue 17);
//! - an admin API under `/_sim/` mirroring the methods on [`Sim`].
//!
//! The simulator shares no types with the client crates: the wire contract
//! is checked over real HTTP.
//!
//! # Example
//! ```no_run
//! # async fn demo() -> Result<(), cx_sim::SimError> {
//! use cx_sim::{Fault, FaultRule, Sim};
//!
//! let sim = Sim::builder().seed(7).start().await?;
//! // POST {base}/oauth/token with cx-sim-client / cx-sim-secret, then call
//! // {base}/api/v2/workflows/wf_12345678-abcd-efgh-ijkl-1234567890ab ...
//! sim.set_faults(vec![FaultRule::new(
//!     "POST /api/v2/workflows/*/executions",
//!     Fault::Status { status: 503, retry_after: None },
//! )
//! .with_times(1)]);
//! println!("simulator at {}", sim.base_url());
//! sim.shutdown().await;
//! # Ok(()) }
//! ```
//!
//! # Modules
//! `auth` (token endpoints, bearer checks), `oidc` (discovery, access keys,
//! refresh tokens, id_tokens, tenant lookup), `scopes` (the route → scope
//! table), `faults`, `journal`, `clock`, `state` (per-tenant state and lazy
//! transitions), `workflows` (seed 000/001 workflows, executions and
//! instances and their lifecycles), `fixtures` (default workflows and
//! clients), `agents` (seed 002 state and fixtures), `callbacks` (signed
//! completion callbacks), `routes::*` (one module per resource
//! family), `server` (accept loop and fault layer), `history` (seed 003
//! fixtures, synthetic sets, query quota) and [`history_filter`] (the
//! seed-003 filter grammar).

#![deny(missing_docs)]

mod agent_sessions;
mod agents;
mod auth;
mod callbacks;
mod clock;
mod contacts;
mod dataactions;
mod extraction;
mod faults;
mod fixtures;
mod history;
pub mod history_filter;
mod incontact_agents;
mod journal;
mod oidc;
mod retention;
mod routes;
mod scopes;
mod scripts;
mod server;
mod setters;
mod sim;
mod state;
mod sync;
mod wire;
mod workflows;

pub use auth::ClientRegistration;
pub use callbacks::CallbackAttempt;
pub use contacts::SyntheticContacts;
pub use dataactions::{DataActionFixture, DataActionVersion, JobOutcome, SEED_DATA_ACTION_ID};
pub use extraction::ExtractionSettings;
pub use faults::{Fault, FaultRule, RetryAfter, fault_mix, soak_faults};
pub use fixtures::{Outcome, SEED_WORKFLOW_ID, WorkflowFixture};
pub use history::{
    BAD_CLOCK_INTERACTION_ID, HistorySettings, SEED_INTERACTION_ID, SyntheticHistory,
};
pub use journal::JournalEntry;
pub use oidc::{AccessKey, SIM_AREA, SIM_SIGNING_KEY_ID, tenant_id};
pub use retention::Retention;
pub use scopes::all_scopes;
pub use sim::{DEFAULT_MAX_TOKENS, Sim, SimBuilder, SimError, StoreSizes};

/// Client id of the built-in client (all scopes, [`DEFAULT_TENANT`]).
pub const DEFAULT_CLIENT_ID: &str = "cx-sim-client";
/// Secret of [`DEFAULT_CLIENT_ID`].
pub const DEFAULT_CLIENT_SECRET: &str = "cx-sim-secret";
/// Id of the built-in access key (password grant, [`DEFAULT_TENANT`]).
/// It ends in `=` like CXone's keys, so it must be percent-encoded.
pub const DEFAULT_ACCESS_KEY_ID: &str = "CXSIMACCESSKEY0001=";
/// Secret of [`DEFAULT_ACCESS_KEY_ID`] (`+`, `/` and `=` included on purpose).
pub const DEFAULT_ACCESS_KEY_SECRET: &str = "cx-sim+access/key=secret==";

/// Tenant of the built-in clients.
pub const DEFAULT_TENANT: &str = "tenant-default";

/// A second tenant, for isolation tests.
pub const TENANT_B: &str = "tenant-b";
/// Client id of the built-in client in [`TENANT_B`] (all scopes).
pub const TENANT_B_CLIENT_ID: &str = "cx-sim-client-b";
/// Secret of [`TENANT_B_CLIENT_ID`].
pub const TENANT_B_CLIENT_SECRET: &str = "cx-sim-secret-b";

/// Client id of the built-in read-only client in [`DEFAULT_TENANT`]
/// (scopes `workflow.read audit.read` only), for 403 tests.
pub const READONLY_CLIENT_ID: &str = "cx-sim-readonly";
/// Secret of [`READONLY_CLIENT_ID`].
pub const READONLY_CLIENT_SECRET: &str = "cx-sim-readonly-secret";

#[cfg(test)]
mod tests {
    use super::*;

    fn assert_send_sync<T: Send + Sync + 'static>() {}

    #[test]
    fn public_types_are_send_and_sync() {
        assert_send_sync::<Sim>();
        assert_send_sync::<SimBuilder>();
        assert_send_sync::<SimError>();
        assert_send_sync::<JournalEntry>();
        assert_send_sync::<FaultRule>();
        assert_send_sync::<ClientRegistration>();
        assert_send_sync::<WorkflowFixture>();
    }
}
