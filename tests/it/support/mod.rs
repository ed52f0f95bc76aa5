//! Shared helpers: a simulator, an SDK workflow client with a JSONL audit
//! sink, and journal queries.

use std::sync::Arc;
use std::time::Duration;

use cx_audit::JsonlSink;
use cx_sim::Sim;
use cx_workflow::{Client, Config};

pub const WF: &str = cx_sim::SEED_WORKFLOW_ID;

/// The SDK's stack: token cache, runtime, workflow client; audit to `dir`.
pub async fn workflow_client(sim: &Sim, dir: &std::path::Path) -> (Client, cx_http::Client) {
    let mut tenant = cx_auth::Tenant::new(
        sim.base_url(),
        cx_sim::DEFAULT_CLIENT_ID,
        cx_sim::DEFAULT_CLIENT_SECRET,
    );
    tenant.http.retry.initial_backoff = Duration::from_millis(10);
    tenant.http.retry.max_backoff = Duration::from_millis(50);
    let (http, _) = tenant.connect().unwrap();
    let config = Config::default().with_poller(
        cx_http::Poller::default()
            .with_first_delay(Duration::from_millis(50))
            .with_initial_delay(Duration::from_millis(50))
            .with_max_delay(Duration::from_millis(200))
            .with_deadline(Some(Duration::from_secs(30))),
    );
    let sink = Arc::new(JsonlSink::open(dir).await.unwrap());
    (Client::new(http.clone(), config).with_audit(sink), http)
}

/// Journal entries with this method and path.
pub fn count(sim: &Sim, method: &str, path: &str) -> usize {
    sim.journal()
        .iter()
        .filter(|e| e.method == method && e.path == path)
        .count()
}

/// Every record in `dir`, after checking every hash.
pub use cx_testkit::audit_records;
