//! The real CXone agent binding (`cx_agent::real`) against cx-sim's
//! `/inContactAPI/services/vNN.0/` routes, over real HTTP: paging by
//! `_links.next`, `updatedSince` on the virtual clock, per-skill results
//! (a partial failure is an error naming the failed skills), concurrent
//! writers of distinct skills, and the simulator's leniency.

// Tests unwrap: a panic with the value is the failure report.

use std::collections::BTreeSet;
use std::time::Duration;

use crate::support::{id, real_sim};
use cx_agent::ErrorKind;
use cx_agent::real::{AgentFilter, Id, SkillChange, StateChange};
use cx_sim::Sim;
use futures::TryStreamExt as _;

fn ids<'a>(it: impl IntoIterator<Item = &'a Id>) -> BTreeSet<String> {
    it.into_iter().map(|id| id.0.clone()).collect()
}

#[tokio::test]
async fn agents_are_listed_across_three_pages_by_links_next() {
    let (sim, client) = real_sim(2).await;
    sim.clear_journal();
    let agents: Vec<_> = client
        .agents(&AgentFilter::default())
        .try_collect()
        .await
        .unwrap();
    assert_eq!(agents.len(), 6);
    assert_eq!(
        ids(agents.iter().map(|a| &a.agent_id)).len(),
        6,
        "no agent twice"
    );
    assert_eq!(agents[0].first_name.as_deref(), Some("Ada"));
    let sent: Vec<_> = sim
        .journal()
        .into_iter()
        .filter(|e| e.path.ends_with("/agents"))
        .collect();
    assert_eq!(sent.len(), 3, "{sent:?}");
    assert_eq!(sent[0].path, "/inContactAPI/services/v23.0/agents");
    let skips: Vec<_> = sent
        .iter()
        .map(|e| e.query.clone().unwrap_or_default())
        .collect();
    assert!(skips[0].contains("skip=0"), "{skips:?}");
    assert!(skips[1].contains("skip=2"), "{skips:?}");
    assert!(skips[2].contains("skip=4"), "{skips:?}");

    let active: Vec<_> = client
        .agents(&AgentFilter::default().with_is_active(false))
        .try_collect()
        .await
        .unwrap();
    assert_eq!(
        ids(active.iter().map(|a| &a.agent_id)),
        ids([&Id("3100006".into())])
    );
    let found: Vec<_> = client
        .agents(&AgentFilter::default().with_search("hopper"))
        .try_collect()
        .await
        .unwrap();
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].agent_id, Id("3100002".into()));
    sim.shutdown().await;
}

#[tokio::test]
async fn one_agent_by_id_and_an_unknown_one_is_not_found() {
    let (sim, client) = real_sim(100).await;
    let agent = client.agent(&id("3100003")).await.unwrap();
    assert_eq!(agent.last_name.as_deref(), Some("Turing"));
    assert_eq!(agent.team_id, Some(Id("2002".into())));
    let by_uuid = client
        .agent(&id(agent.user_id.as_deref().unwrap()))
        .await
        .unwrap();
    assert_eq!(by_uuid.agent_id, agent.agent_id);
    let err = client.agent(&id("9999")).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotFound, "{err:?}");
    let http = err.http().unwrap().to_string();
    assert!(http.contains("Invalid Agent Id"), "{http}");
    sim.shutdown().await;
}

#[tokio::test]
async fn updated_since_returns_only_what_changed_on_the_virtual_clock() {
    let (sim, client) = real_sim(2).await;
    sim.advance_clock(Duration::from_secs(1));
    let all = client.agent_states(None).await.unwrap();
    assert_eq!(all.states.len(), 6, "every agent, over three pages");
    let since = all.last_poll_time.unwrap();

    sim.advance_clock(Duration::from_secs(60));
    client
        .set_state(&id("3100003"), StateChange::Unavailable(502))
        .await
        .unwrap();
    // `updatedSince` is inclusive (a change at exactly that time is sent
    // again rather than missed), so poll a second after the change: the
    // poll time the next query starts from is then past it.
    sim.advance_clock(Duration::from_secs(1));
    let changed = client.agent_states(Some(since)).await.unwrap();
    assert_eq!(changed.states.len(), 1, "{changed:?}");
    let s = &changed.states[0];
    assert_eq!(s.agent_id, Id("3100003".into()));
    assert_eq!(s.agent_state_name.as_deref(), Some("Unavailable"));
    assert_eq!(s.out_state_id, Some(Id("502".into())));
    assert_eq!(s.out_state_description.as_deref(), Some("Lunch"));
    let next = changed.last_poll_time.unwrap();
    assert!(
        next >= since + chrono::Duration::seconds(60),
        "{next} vs {since}"
    );

    sim.advance_clock(Duration::from_secs(60));
    let none = client.agent_states(Some(next)).await.unwrap();
    assert!(none.states.is_empty(), "204 is an empty answer: {none:?}");

    // A logged-out agent cannot be made Available by a supervisor.
    let err = client
        .set_state(&id("3100004"), StateChange::Available)
        .await
        .unwrap_err();
    assert_eq!(err.status(), Some(400));
    sim.shutdown().await;
}

#[tokio::test]
async fn a_partial_skill_failure_is_an_error_listing_the_failed_skills() {
    let (sim, client) = real_sim(100).await;
    let err = client
        .assign_skills(
            &id("3100006"),
            &[
                SkillChange::new(4_100_020),
                SkillChange::new(9_999_999),
                SkillChange::new(4_100_021).with_proficiency(99),
                SkillChange::new(4_100_022),
            ],
        )
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Api);
    let msg = err.to_string();
    assert!(msg.contains("2 of 4 skill(s) failed"), "{msg}");
    assert!(msg.contains("skill 9999999 (Invalid Skill Id)"), "{msg}");
    assert!(msg.contains("skill 4100021 (proficiency must be"), "{msg}");
    assert!(
        !msg.contains("4100020") && !msg.contains("4100022"),
        "{msg}"
    );

    let assigned: Vec<_> = client.skills(&id("3100006")).try_collect().await.unwrap();
    assert_eq!(
        ids(assigned.iter().map(|a| &a.skill_id)),
        ids([&Id("4100020".into()), &Id("4100022".into())]),
        "the good skills were applied, the bad ones not"
    );

    let results = client
        .modify_skills(
            &id("3100006"),
            &[SkillChange::new(4_100_020)
                .with_proficiency(7)
                .with_is_active(true)],
        )
        .await
        .unwrap();
    assert!(results.iter().all(|r| r.success), "{results:?}");
    let err = client
        .remove_skills(&id("3100006"), &[4_100_022, 4_100_030])
        .await
        .unwrap_err();
    assert!(
        err.to_string()
            .contains("skill 4100030 (Skill is not assigned"),
        "{err}"
    );
    let assigned: Vec<_> = client.skills(&id("3100006")).try_collect().await.unwrap();
    assert_eq!(assigned.len(), 1);
    assert_eq!(assigned[0].skill_id, Id("4100020".into()));
    assert_eq!(assigned[0].agent_proficiency_value, Some(7));

    let err = client.assign_skills(&id("3100006"), &[]).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Validation);
    sim.shutdown().await;
}

#[tokio::test]
async fn fifty_concurrent_writers_of_distinct_skills_leave_all_fifty_assigned() {
    let (sim, client) = real_sim(100).await;
    let before: Vec<_> = client.skills(&id("3100004")).try_collect().await.unwrap();
    let tasks: Vec<_> = (0..50u64)
        .map(|i| {
            let client = client.clone();
            tokio::spawn(async move {
                client
                    .assign_skills(&id("3100004"), &[SkillChange::new(4_100_011 + i)])
                    .await
            })
        })
        .collect();
    for t in tasks {
        let results = t.await.unwrap().unwrap();
        assert_eq!(results.len(), 1);
        assert!(results[0].success);
    }
    let after: Vec<_> = client.skills(&id("3100004")).try_collect().await.unwrap();
    let after = ids(after.iter().map(|a| &a.skill_id));
    assert_eq!(after.len(), before.len() + 50, "{after:?}");
    for i in 0..50u64 {
        assert!(
            after.contains(&(4_100_011 + i).to_string()),
            "skill {i} lost"
        );
    }
    sim.shutdown().await;
}

#[tokio::test]
async fn assignments_catalogue_and_codes_page_through_every_item() {
    let (sim, client) = real_sim(4).await;
    let all: Vec<_> = client.all_skill_assignments().try_collect().await.unwrap();
    assert_eq!(all.len(), 11);
    assert!(all.iter().all(|a| a.agent_id.is_some()));
    let catalogue: Vec<_> = client.skill_catalogue().try_collect().await.unwrap();
    assert_eq!(catalogue.len(), 60);
    let codes: Vec<_> = client.unavailable_codes().try_collect().await.unwrap();
    assert_eq!(codes.len(), 5);
    assert!(codes.iter().any(|c| c.is_acw == Some(true)));
    // An agent with no skills answers 204: an empty stream.
    let none: Vec<_> = client.skills(&id("3100006")).try_collect().await.unwrap();
    assert!(none.is_empty());
    sim.shutdown().await;
}

#[tokio::test]
async fn the_simulator_is_as_lenient_as_the_real_host() {
    let sim = Sim::start().await.unwrap();
    let http = crate::support::http(&sim);
    let get = |path| http.link(cx_http::Method::GET, path).send();
    let resp = get("/INCONTACTAPI/Services/v33.0//agents//?TOP=1&searchString=lovelace")
        .await
        .unwrap();
    let body: serde_json::Value = resp.json().unwrap();
    assert_eq!(body["totalRecords"], 1);
    assert_eq!(body["agents"][0]["agentId"], 3_100_001);
    let links = &body["_links"];
    assert!(
        links["next"].is_null() && links["previous"].is_null(),
        "{links}"
    );
    assert!(links["self"].as_str().unwrap().starts_with("http://"));
    let poll = body["lastPollTime"].as_str().unwrap();
    assert!(
        chrono::NaiveDateTime::parse_from_str(poll, "%Y-%m-%dT%H:%M:%S%.3fZ").is_ok(),
        "{poll}"
    );
    let none = get("/incontactapi/services/v2.0/agents?searchString=nobody")
        .await
        .unwrap();
    assert_eq!(none.status(), 204);
    assert!(none.body().is_empty());
    let err = get("/inContactAPI/services/v23.0/agents/42")
        .await
        .unwrap_err();
    assert_eq!(err.status(), Some(404));
    let unauth = cx_http::Client::builder()
        .base_url(sim.base_url())
        .build()
        .unwrap()
        .link(cx_http::Method::GET, "/inContactAPI/services/v23.0/agents")
        .send()
        .await
        .unwrap_err();
    assert_eq!(unauth.status(), Some(401));
    sim.shutdown().await;
}
