//! Agent state history and a team's unavailable codes of the real binding
//! (`cx_agent::real`) against cx-sim over real HTTP: the default tenant's
//! seeded hour, supervisor and agent-session changes recorded on the
//! virtual clock, paging, `startDate`/`endDate` and `updatedSince`.

// Tests unwrap: a panic with the value is the failure report.

use std::time::Duration;

use chrono::{DateTime, Utc};
use cx_agent::ErrorKind;
use cx_agent::real::{Client, HistoryFilter, SessionState, StartSession, StateChange, StateRecord};
use futures::TryStreamExt as _;

use crate::support::{id, real_sim};

async fn history(client: &Client, agent: Option<&str>, filter: HistoryFilter) -> Vec<StateRecord> {
    let agent = agent.map(id);
    client
        .state_history(agent.as_ref(), &filter)
        .try_collect()
        .await
        .unwrap()
}

fn at(r: &StateRecord) -> DateTime<Utc> {
    r.start_date.as_deref().unwrap().parse().unwrap()
}

/// `(stateIndex, agentStateName, outStateDescription, agentSessionId)`.
fn summary(records: &[StateRecord]) -> Vec<(i64, String, String, Option<String>)> {
    records
        .iter()
        .map(|r| {
            (
                r.state_index.unwrap(),
                r.agent_state_name.clone().unwrap(),
                r.out_state_description.clone().unwrap(),
                r.agent_session_id.as_ref().map(|s| s.0.clone()),
            )
        })
        .collect()
}

#[tokio::test]
async fn the_default_tenant_has_an_hour_of_history_with_durations() {
    let (sim, client) = real_sim(100).await;
    let ada = history(&client, Some("3100001"), HistoryFilter::default()).await;
    let session = Some("6000000001".to_owned());
    assert_eq!(
        summary(&ada),
        [
            (1, "Available".into(), "".into(), session.clone()),
            (2, "Unavailable".into(), "Lunch".into(), session.clone()),
            (3, "Available".into(), "".into(), session),
        ]
    );
    assert_eq!((at(&ada[1]) - at(&ada[0])).num_seconds(), 1800);
    assert_eq!((at(&ada[2]) - at(&ada[1])).num_seconds(), 1800);
    assert_eq!(ada[0].duration, Some(1800.0));
    assert_eq!(ada[1].duration, Some(1800.0));
    assert!(ada[2].duration.unwrap() >= 0.0, "the current state lasts");
    assert!(
        ada.iter()
            .all(|r| r.start_date.as_deref().unwrap().ends_with('Z'))
    );
    let ken = history(&client, Some("3100006"), HistoryFilter::default()).await;
    assert_eq!(
        summary(&ken),
        [(1, "LoggedOut".into(), "".into(), None)],
        "a logged-out agent has only its opening state"
    );
    sim.shutdown().await;
}

#[tokio::test]
async fn supervisor_and_session_changes_are_recorded_at_virtual_clock_times() {
    let (sim, client) = real_sim(100).await;
    let zero = at(&history(&client, Some("3100001"), HistoryFilter::default()).await[2]);

    sim.advance_clock(Duration::from_secs(90));
    client
        .set_state(&id("3100001"), StateChange::Unavailable(501))
        .await
        .unwrap();
    let ada = history(&client, Some("3100001"), HistoryFilter::default()).await;
    assert_eq!(ada.len(), 4);
    assert_eq!(
        summary(&ada[3..]),
        [(4, "Unavailable".into(), "Break".into(), None)]
    );
    assert!((at(&ada[3]) - zero).num_seconds() >= 90, "{ada:?}");
    let lasted = (at(&ada[3]) - at(&ada[2])).num_milliseconds() as f64 / 1000.0;
    assert_eq!(ada[2].duration, Some(lasted), "the closed state's duration");

    sim.advance_clock(Duration::from_secs(30));
    let session = client
        .start_session(&StartSession::station_id("4101").with_as_agent_id("3100004"))
        .await
        .unwrap();
    client
        .set_session_state(
            &session,
            &SessionState::Unavailable(Some("Training".into())),
        )
        .await
        .unwrap();
    client
        .set_session_state(&session, &SessionState::Available)
        .await
        .unwrap();
    let edsger = history(&client, Some("3100004"), HistoryFilter::default()).await;
    let sid = Some(session.0.clone());
    assert_eq!(
        summary(&edsger),
        [
            (1, "LoggedOut".into(), "".into(), None),
            (2, "Unavailable".into(), "".into(), sid.clone()),
            (3, "Unavailable".into(), "Training".into(), sid.clone()),
            (4, "Available".into(), "".into(), sid),
        ]
    );
    assert!((at(&edsger[1]) - zero).num_seconds() >= 120, "{edsger:?}");

    // Only what changed at or after the supervisor's change: Ada's
    // Available (ended then) and her Break, Edsger's LoggedOut (ended by
    // his session) and his session's states.
    let since = at(&ada[3]);
    let changed = history(
        &client,
        None,
        HistoryFilter::default().with_updated_since(since),
    )
    .await;
    let who: Vec<(String, i64)> = changed
        .iter()
        .map(|r| (r.agent_id.0.clone(), r.state_index.unwrap()))
        .collect();
    assert_eq!(
        who,
        [
            ("3100001".to_owned(), 3),
            ("3100004".to_owned(), 1),
            ("3100001".to_owned(), 4),
            ("3100004".to_owned(), 2),
            ("3100004".to_owned(), 3),
            ("3100004".to_owned(), 4),
        ],
        "ordered by start, then agent: {changed:?}"
    );
    sim.shutdown().await;
}

#[tokio::test]
async fn all_history_pages_by_links_next_and_windows_by_start_and_end() {
    let (sim, client) = real_sim(5).await;
    sim.clear_journal();
    let all = history(&client, None, HistoryFilter::default()).await;
    assert_eq!(all.len(), 12, "3 agents × 3 states + 3 logged out");
    let pages = sim
        .journal()
        .into_iter()
        .filter(|e| e.path == "/inContactAPI/services/v23.0/agents/state-history")
        .count();
    assert_eq!(pages, 3);

    let zero = at(&all[all.len() - 1]);
    let morning = history(
        &client,
        None,
        HistoryFilter::default()
            .with_start(zero - chrono::Duration::minutes(61))
            .with_end(zero - chrono::Duration::minutes(10)),
    )
    .await;
    assert_eq!(morning.len(), 6, "Available and Lunch of three agents");
    assert!(morning.iter().all(|r| at(r) < zero));

    sim.clear_journal();
    let backwards = client
        .state_history(
            None,
            &HistoryFilter::default()
                .with_start(zero)
                .with_end(zero - chrono::Duration::minutes(1)),
        )
        .try_collect::<Vec<_>>()
        .await
        .unwrap_err();
    assert_eq!(backwards.kind(), ErrorKind::Validation, "{backwards}");
    assert!(sim.journal().is_empty(), "nothing sent");

    let unknown = client
        .state_history(Some(&id("9999999")), &HistoryFilter::default())
        .try_collect::<Vec<_>>()
        .await
        .unwrap_err();
    assert_eq!(unknown.kind(), ErrorKind::NotFound, "{unknown}");
    sim.shutdown().await;
}

#[tokio::test]
async fn a_teams_unavailable_codes_are_read_active_only_or_all() {
    let (sim, client) = real_sim(100).await;
    let names = |codes: &[cx_agent::real::TeamUnavailableCode]| -> Vec<String> {
        codes
            .iter()
            .map(|c| c.out_state_name.clone().unwrap())
            .collect()
    };
    let tier2 = client.team_unavailable_codes("2002", true).await.unwrap();
    assert_eq!(names(&tier2), ["Break", "Lunch", "After Call Work"]);
    assert_eq!(tier2[2].is_acw, Some(true));
    let supervisors = client.team_unavailable_codes("2003", true).await.unwrap();
    assert_eq!(names(&supervisors), ["Break", "Lunch"]);
    let every = client.team_unavailable_codes("2003", false).await.unwrap();
    assert_eq!(names(&every), ["Break", "Lunch", "Meeting"]);
    assert_eq!(every[2].is_active, Some(false));
    let sent: Vec<_> = sim
        .journal()
        .into_iter()
        .filter(|e| e.path.ends_with("/unavailable-codes"))
        .map(|e| (e.path, e.query.unwrap_or_default()))
        .collect();
    assert_eq!(
        sent[0],
        (
            "/inContactAPI/services/v23.0/teams/2002/unavailable-codes".to_owned(),
            "activityOnly=true".to_owned()
        )
    );
    let unknown = client
        .team_unavailable_codes("9999", true)
        .await
        .unwrap_err();
    assert_eq!(unknown.kind(), ErrorKind::NotFound, "{unknown}");
    sim.shutdown().await;
}
