//! The one status table (issue 12): every HTTP answer a service call can
//! meet maps to the same [`cx_http::ServiceKind`] in all four service
//! crates. Each case runs one read of each crate against a fresh simulator
//! whose `/api/v2/**` routes answer with the injected fault, over real HTTP.

use std::time::Duration;

use cx_http::ServiceKind;
use cx_sim::{Fault, FaultRule, Sim};
use cx_testkit::status_fault;

/// A service-independent name for a kind: the shared kinds' `as_str`.
type Kind = &'static str;

/// What the server (or the network) does to every API request.
#[derive(Debug, Clone, Copy)]
enum Case {
    Status(u16),
    Reset,
    /// An answer slower than the attempt timeout: the slow server is the
    /// behaviour under test, so this case waits for real (200 ms).
    Timeout,
    /// The token endpoint is a closed port.
    TokenServerDown,
}

const TABLE: &[(Case, Kind)] = &[
    (Case::Status(400), "invalid_request"),
    (Case::Status(401), "unauthenticated"),
    (Case::Status(403), "permission_denied"),
    (Case::Status(404), "not_found"),
    (Case::Status(409), "conflict"),
    (Case::Status(412), "conflict"),
    (Case::Status(422), "invalid_request"),
    (Case::Status(429), "rate_limited"),
    (Case::Status(500), "server"),
    (Case::Status(503), "server"),
    (Case::Reset, "transport"),
    (Case::Timeout, "transport"),
    (Case::TokenServerDown, "transport"),
];

/// A runtime against `sim` with one attempt per call, a 200 ms attempt
/// timeout, and the token endpoint on a closed port for
/// [`Case::TokenServerDown`].
async fn runtime(sim: &Sim, case: Case) -> cx_http::Client {
    let mut tenant = cx_auth::Tenant::new(
        sim.base_url(),
        cx_sim::DEFAULT_CLIENT_ID,
        cx_sim::DEFAULT_CLIENT_SECRET,
    );
    tenant.http.retry.max_attempts = 1;
    tenant.http.attempt_timeout = Duration::from_millis(200);
    if let Case::TokenServerDown = case {
        let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        tenant.auth_url = Some(format!("http://{}", closed.local_addr().unwrap()));
        drop(closed);
    }
    tenant.connect().unwrap().0
}

fn fault(case: Case) -> Option<Fault> {
    match case {
        Case::Status(status) => Some(status_fault(status)),
        Case::Reset => Some(Fault::ConnectionReset),
        Case::Timeout => Some(Fault::Latency { ms: 2_000 }),
        Case::TokenServerDown => None,
    }
}

/// The kind each crate reports for one read under `case`.
async fn kinds(case: Case) -> Vec<(&'static str, String)> {
    let sim = Sim::start().await.unwrap();
    let http = runtime(&sim, case).await;
    if let Some(f) = fault(case) {
        sim.set_faults(vec![FaultRule::new("/api/v2/**", f)]);
    }
    let name = |k: &dyn std::fmt::Display| k.to_string();

    let workflows = cx_workflow::Client::new(http.clone(), cx_workflow::Config::default());
    let wf = cx_workflow::WorkflowId::new(cx_sim::SEED_WORKFLOW_ID).unwrap();
    let workflow = workflows.definition(&wf).await.unwrap_err();

    let agents = cx_agent::Client::new(http.clone(), cx_agent::Config::default());
    let agent_id = cx_agent::AgentId::new("agent-001").unwrap();
    let agent = agents.profile(&agent_id).await.unwrap_err();

    let history = cx_history::Client::new(http.clone(), cx_history::Config::default());
    let query = cx_history::HistoryQuery::builder()
        .interaction(cx_sim::SEED_INTERACTION_ID)
        .build()
        .unwrap();
    let history = history.report(&query).send().await.unwrap_err();

    let actions = cx_dataaction::Client::new(http, cx_dataaction::Config::default());
    let id = cx_dataaction::ActionId::new(cx_sim::SEED_DATA_ACTION_ID).unwrap();
    let action = actions.definition(&id).await.unwrap_err();

    vec![
        ("cx-workflow", name(&workflow.kind())),
        ("cx-agent", name(&agent.kind())),
        ("cx-history", name(&history.kind())),
        ("cx-dataaction", name(&action.kind())),
    ]
}

#[tokio::test]
async fn every_status_maps_to_the_same_kind_in_every_service_crate() {
    let mut wrong = Vec::new();
    for &(case, want) in TABLE {
        for (krate, got) in kinds(case).await {
            if got != want {
                wrong.push(format!("{case:?} in {krate}: {got}, want {want}"));
            }
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

#[test]
fn the_table_names_only_shared_kinds() {
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
    enum None_ {}
    impl cx_http::DomainKind for None_ {
        fn as_str(self) -> &'static str {
            match self {}
        }
    }
    let shared: Vec<&str> = [
        ServiceKind::<None_>::InvalidRequest,
        ServiceKind::Unauthenticated,
        ServiceKind::PermissionDenied,
        ServiceKind::NotFound,
        ServiceKind::Conflict,
        ServiceKind::RateLimited,
        ServiceKind::Server,
        ServiceKind::Transport,
    ]
    .iter()
    .map(|k| k.as_str())
    .collect();
    for (case, want) in TABLE {
        assert!(shared.contains(want), "{case:?}: {want}");
    }
}
