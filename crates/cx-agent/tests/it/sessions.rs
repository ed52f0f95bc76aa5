//! Agent sessions of the real binding (`cx_agent::real`) against cx-sim's
//! `/inContactAPI/services/vNN.0/agent-sessions` routes, over real HTTP:
//! start / state / end, and the `get-next-event` stream through a 304
//! storm, a new `sessionId`, a hung poll and the closing 409.

// Tests unwrap: a panic with the value is the failure report.

use std::pin::Pin;
use std::time::Duration;

use crate::support::id;
use cx_agent::ErrorKind;
use cx_agent::real::{
    Client, EndSession, EventType, RealConfig, SessionEvent, SessionId, SessionState, StartSession,
};
use cx_sim::{Fault, FaultRule, JournalEntry, Sim};
use cx_testkit::status_fault;
use futures::{Stream, StreamExt as _, TryStreamExt as _};
use serde_json::json;

const EVENTS_ROUTE: &str = "GET /inContactAPI/services/*/agent-sessions/*/get-next-event";
/// A guard against a hung test, not a timing assertion.
const LIMIT: Duration = Duration::from_secs(60);

/// A client whose polls have `timeout` = `timeout_secs`.
fn client(sim: &Sim, timeout_secs: u32) -> Client {
    Client::new(
        crate::support::http(sim),
        RealConfig::default().with_event_timeout_secs(timeout_secs),
    )
    .unwrap()
}

async fn start(client: &Client) -> SessionId {
    client
        .start_session(&StartSession::station_id("4101"))
        .await
        .unwrap()
}

/// A session's event stream.
type Events = Pin<Box<dyn Stream<Item = Result<SessionEvent, cx_agent::Error>> + Send>>;

/// A simulator, a client polling with `timeout_secs`, a started session
/// and its stream with the two starting events read.
async fn started(timeout_secs: u32) -> (Sim, Client, SessionId, Events) {
    let sim = Sim::start().await.unwrap();
    let client = client(&sim, timeout_secs);
    let session = start(&client).await;
    let mut events: Events = Box::pin(client.events(&session));
    let first = take(&mut events, 2).await;
    assert_eq!(
        kinds(&first),
        [EventType::AgentSessionStart, EventType::AgentState]
    );
    assert_eq!(first[1].current_state.as_deref(), Some("Unavailable"));
    (sim, client, session, events)
}

/// The next `n` events of `events`.
async fn take(
    events: &mut (impl Stream<Item = Result<SessionEvent, cx_agent::Error>> + Unpin),
    n: usize,
) -> Vec<SessionEvent> {
    let mut out = Vec::new();
    for _ in 0..n {
        out.push(events.next().await.unwrap().unwrap());
    }
    out
}

fn kinds(events: &[SessionEvent]) -> Vec<EventType> {
    events.iter().map(|e| e.event_type.clone()).collect()
}

fn polls(journal: &[JournalEntry], status: u16) -> usize {
    journal
        .iter()
        .filter(|e| e.path.ends_with("/get-next-event") && e.status == status)
        .count()
}

/// The current state name of agent 3100001 (the session's agent).
async fn state_of_first_agent(client: &Client) -> (Option<String>, Option<String>) {
    let states = client.agent_states(None).await.unwrap();
    let s = states
        .states
        .into_iter()
        .find(|s| s.agent_id.0 == "3100001")
        .unwrap();
    (s.agent_state_name, s.out_state_description)
}

#[tokio::test]
async fn a_session_starts_sets_states_and_ends_and_its_stream_ends_on_409() {
    let (sim, client, session, events) = started(60).await;

    client
        .set_session_state(&session, &SessionState::Available)
        .await
        .unwrap();
    assert_eq!(
        state_of_first_agent(&client).await.0.as_deref(),
        Some("Available")
    );
    client
        .set_session_state(&session, &SessionState::Unavailable(Some("Lunch".into())))
        .await
        .unwrap();
    assert_eq!(
        state_of_first_agent(&client).await,
        (Some("Unavailable".into()), Some("Lunch".into()))
    );
    let bad = client
        .set_session_state(&session, &SessionState::Unavailable(Some("Nap".into())))
        .await
        .unwrap_err();
    assert_eq!(bad.kind(), ErrorKind::InvalidRequest, "{bad}");
    assert!(bad.to_string().contains("Invalid state request"), "{bad}");

    client.keep_alive(&session).await.unwrap();
    client
        .end_session(&session, EndSession::default().with_force_logoff(true))
        .await
        .unwrap();
    let rest: Vec<SessionEvent> = events.try_collect().await.unwrap();
    assert_eq!(
        kinds(&rest),
        [
            EventType::AgentState,
            EventType::AgentState,
            EventType::AgentState,
            EventType::AgentSessionEnd
        ]
    );
    let reasons: Vec<_> = rest.iter().map(|e| e.current_state.as_deref()).collect();
    assert_eq!(
        reasons,
        [
            Some("Available"),
            Some("Unavailable"),
            Some("LoggedOut"),
            None
        ]
    );
    assert_eq!(rest[1].current_out_reason.as_deref(), Some("Lunch"));
    assert_eq!(
        state_of_first_agent(&client).await.0.as_deref(),
        Some("LoggedOut")
    );

    let journal = sim.journal();
    assert_eq!(polls(&journal, 409), 1, "{journal:?}");
    let sessions: Vec<_> = journal
        .iter()
        .filter(|e| e.path.contains("/agent-sessions"))
        .map(|e| (e.method.as_str(), e.status))
        .collect();
    assert!(sessions.contains(&("POST", 202)), "{sessions:?}");
    assert!(sessions.contains(&("DELETE", 202)), "{sessions:?}");
    assert!(
        journal
            .iter()
            .any(|e| e.path == "/inContactAPI/services/v23.0/agent-sessions"),
        "the default version"
    );

    let again = client
        .end_session(&session, EndSession::default())
        .await
        .unwrap_err();
    assert_eq!(again.kind(), ErrorKind::NotFound, "{again}");
    let none = client
        .set_session_state(&session, &SessionState::Available)
        .await
        .unwrap_err();
    assert_eq!(none.kind(), ErrorKind::NotFound, "{none}");
    let gone = client.keep_alive(&session).await.unwrap_err();
    assert_eq!(gone.kind(), ErrorKind::NotFound, "{gone}");
    let kept = format!("/inContactAPI/services/v31.0/agent-sessions/{session}/keep-alive");
    assert!(
        journal.iter().any(|e| e.path == kept && e.status == 202),
        "keep-alive at v31.0"
    );
}

#[tokio::test]
async fn starting_needs_a_station_and_a_known_agent_and_joining_finds_the_session() {
    let sim = Sim::start().await.unwrap();
    let client = client(&sim, 0);
    let err = client
        .start_session(&StartSession::default())
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Validation, "{err}");
    let err = client
        .start_session(&StartSession::station_phone_number("5551234").with_as_agent_id("42"))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotFound, "{err}");
    let session = client
        .start_session(&StartSession::station_phone_number("5551234").with_as_agent_id("3100003"))
        .await
        .unwrap();
    let first = take(&mut Box::pin(client.events(&session)), 1).await;
    assert_eq!(first[0].other["AgentId"], json!(3_100_003));
    let joined = client.join_session(&id("3100003")).await.unwrap();
    assert_eq!(joined, session);
    let none = client.join_session(&id("3100002")).await.unwrap_err();
    assert_eq!(none.kind(), ErrorKind::NotFound, "{none}");
}

#[tokio::test]
async fn the_stream_survives_a_storm_of_injected_304s() {
    let sim = Sim::start().await.unwrap();
    let client = client(&sim, 60);
    let session = start(&client).await;
    sim.set_faults(vec![
        FaultRule::new(EVENTS_ROUTE, status_fault(304)).with_times(25),
    ]);
    let first = take(&mut Box::pin(client.events(&session)), 2).await;
    assert_eq!(
        kinds(&first),
        [EventType::AgentSessionStart, EventType::AgentState]
    );
    let journal = sim.journal();
    assert_eq!(polls(&journal, 304), 25, "{journal:?}");
    assert_eq!(polls(&journal, 200), 1, "{journal:?}");
}

#[tokio::test]
async fn empty_polls_are_sent_again_at_once_until_an_event_comes_and_unknown_types_are_kept() {
    // timeout=0: every poll with nothing queued answers 304 at once.
    let (sim, _client, session, mut events) = started(0).await;
    let reader = tokio::spawn(async move { take(&mut events, 1).await });
    sim.wait_for_journal(LIMIT, |j| polls(j, 304) >= 20)
        .await
        .unwrap();
    assert!(sim.push_agent_session_event(
        &session.0,
        json!({"Type": "SupervisorWhisper", "Note": "hi"})
    ));
    let got = reader.await.unwrap();
    assert_eq!(
        got[0].event_type,
        EventType::Unknown("SupervisorWhisper".into())
    );
    assert_eq!(got[0].other["Note"], json!("hi"));
}

#[tokio::test]
async fn the_stream_follows_a_new_session_id() {
    let (sim, client, session, mut events) = started(0).await;
    let renamed = sim.rotate_agent_session(&session.0).unwrap();
    assert_ne!(renamed, session.0);
    let reader = tokio::spawn(async move {
        let got = take(&mut events, 1).await;
        (got, events)
    });
    // The answer carrying the new id has no events; then polls use it.
    let new_path = format!("/inContactAPI/services/v23.0/agent-sessions/{renamed}/get-next-event");
    sim.wait_for_journal(LIMIT, |j| {
        j.iter().any(|e| e.path == new_path && e.status == 304)
    })
    .await
    .unwrap();
    assert!(sim.push_agent_session_event(&renamed, json!({"Type": "CustomEvent"})));
    let (got, mut events) = reader.await.unwrap();
    assert_eq!(got[0].event_type, EventType::CustomEvent);
    // The old id is gone; the new one ends the session and the stream.
    let old = client
        .end_session(&session, EndSession::default())
        .await
        .unwrap_err();
    assert_eq!(old.kind(), ErrorKind::NotFound, "{old}");
    client
        .end_session(&SessionId(renamed), EndSession::default())
        .await
        .unwrap();
    let rest: Vec<_> = (&mut events).try_collect().await.unwrap();
    assert_eq!(
        kinds(&rest),
        [EventType::AgentState, EventType::AgentSessionEnd]
    );
}

#[tokio::test]
async fn a_poll_of_an_unknown_session_ends_the_stream_at_once() {
    let sim = Sim::start().await.unwrap();
    let client = client(&sim, 60);
    let events: Vec<_> = client
        .events(&SessionId("no-such-session".into()))
        .try_collect()
        .await
        .unwrap();
    assert!(events.is_empty());
    assert_eq!(polls(&sim.journal(), 409), 1);
}

#[tokio::test]
async fn a_poll_hung_past_its_timeout_is_sent_again() {
    let sim = Sim::start().await.unwrap();
    let client = Client::new(
        crate::support::http(&sim),
        RealConfig::default()
            .with_event_timeout_secs(0)
            .with_hung_poll_grace(Duration::from_millis(50)),
    )
    .unwrap();
    let session = start(&client).await;
    sim.set_faults(vec![
        FaultRule::new(EVENTS_ROUTE, Fault::Latency { ms: 600_000 }).with_times(1),
    ]);
    let first = take(&mut Box::pin(client.events(&session)), 2).await;
    assert_eq!(
        kinds(&first),
        [EventType::AgentSessionStart, EventType::AgentState]
    );
}
