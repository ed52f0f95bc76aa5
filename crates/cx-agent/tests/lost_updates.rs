//! Lost updates: N tasks update `agent-001` at once through the SDK against
//! cx-sim. Each writer adds its own skill (`w-NN`) to the skills it reads
//! and sets its own reason (`writer-NN`), re-applied to the fresh profile on
//! every 409. Every update must land exactly once — in the simulator's
//! write history, in the final profile and in the audit log — or fail with
//! a conflict naming the writer whose retry budget ran out; those must have
//! left no trace in the history.
//!
//! Run with `--nocapture` to see the figures of each run.

// Tests unwrap: a panic with the value is the failure report.
#![allow(clippy::unwrap_used)]

mod support;

use std::collections::BTreeSet;

use cx_agent::{Config, ErrorKind, FixedClock, SkillLevel, WorkModePayload};
use cx_sim::Sim;
use support::{AGENT, agents, events, writes};

struct Figures {
    landed: BTreeSet<usize>,
    exhausted: BTreeSet<usize>,
    patches: u32,
}

fn reason(i: usize) -> String {
    format!("writer-{i:02}")
}

fn skill(i: usize) -> String {
    format!("w-{i:02}")
}

/// Run `writers` concurrent writers with `max_attempts` each and check the
/// exactly-once properties; returns what happened.
async fn run(writers: usize, max_attempts: u32) -> Figures {
    let sim = Sim::start().await.unwrap();
    let config = Config {
        max_update_attempts: max_attempts,
        // The conflict logic under test; the 5/s default is tested in flow.rs.
        patch_rate_limit: cx_http::RateLimit {
            per_second: 10_000,
            burst: 10_000,
        },
        ..Config::default()
    };
    let (client, sink) = agents(&sim, config);
    client.profile(AGENT).await.unwrap(); // token fetched once, up front
    let tasks: Vec<_> = (0..writers)
        .map(|i| {
            let client = client.clone();
            tokio::spawn(async move {
                let result = client
                    .modify_work_mode(AGENT, move |profile| {
                        let mut skills = profile.skills.clone();
                        skills.retain(|s| s.skill_id != skill(i));
                        skills.push(SkillLevel::new(skill(i), 1, 0));
                        WorkModePayload::builder("workMode-123")
                            .skills(skills)
                            .reason(reason(i))
                            .build(&FixedClock(chrono::Utc::now()))
                            .unwrap()
                    })
                    .send()
                    .await;
                (i, result)
            })
        })
        .collect();
    let mut figures = Figures {
        landed: BTreeSet::new(),
        exhausted: BTreeSet::new(),
        patches: 0,
    };
    for t in tasks {
        let (i, result) = t.await.unwrap();
        match result {
            Ok(report) => {
                assert_eq!(report.payload.reason, reason(i));
                figures.patches += report.attempts;
                figures.landed.insert(i);
            }
            Err(e) => {
                assert_eq!(e.kind(), ErrorKind::Conflict, "{}: {e}", reason(i));
                assert_eq!(e.attempts(), max_attempts, "{}", reason(i));
                figures.patches += e.attempts();
                figures.exhausted.insert(i);
            }
        }
    }

    // The simulator's history holds each landed writer exactly once, and
    // nothing from the writers whose budget ran out.
    let history = writes(&sim, AGENT).await;
    let mut seen: Vec<String> = history
        .iter()
        .map(|w| w["reason"].as_str().unwrap().to_owned())
        .collect();
    seen.sort();
    let want: Vec<String> = figures.landed.iter().map(|i| reason(*i)).collect();
    assert_eq!(seen, want, "write history = landed writers, once each");

    // No write was lost: the final state carries every landed writer's skill.
    let final_skills: BTreeSet<String> = client
        .profile(AGENT)
        .await
        .unwrap()
        .value
        .skills
        .into_iter()
        .map(|s| s.skill_id)
        .filter(|s| s.starts_with("w-"))
        .collect();
    let want_skills: BTreeSet<String> = figures.landed.iter().map(|i| skill(*i)).collect();
    assert_eq!(final_skills, want_skills, "every landed change survives");

    // The audit log and the event stream hold the same writers.
    let records = sink.records();
    let mut audited: Vec<String> = records
        .iter()
        .filter(|r| r.event_type == "AGENT_AVAILABILITY_CHANGED")
        .map(|r| r.payload()["reason"].as_str().unwrap().to_owned())
        .collect();
    audited.sort();
    assert_eq!(audited, want, "audit log = landed writers, once each");
    let failed = records
        .iter()
        .filter(|r| r.event_type == "AGENT_AVAILABILITY_UPDATE_FAILED")
        .count();
    assert_eq!(failed, figures.exhausted.len());
    assert_eq!(events(&sim).await.len(), figures.landed.len());
    assert_eq!(figures.landed.len() + figures.exhausted.len(), writers);

    let names: Vec<String> = figures.exhausted.iter().map(|i| reason(*i)).collect();
    println!(
        "writers={writers} max_attempts={max_attempts}: landed {} exactly once, \
         retry budget ran out for {} {:?}; {} PATCHes ({} conflicts)",
        figures.landed.len(),
        names.len(),
        names,
        figures.patches,
        figures.patches as usize - figures.landed.len(),
    );
    figures
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn ten_writers_default_budget_land_once_or_are_named() {
    run(10, Config::default().max_update_attempts).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn fifty_writers_default_budget_land_once_or_are_named() {
    run(50, Config::default().max_update_attempts).await;
}

/// Each 409 a writer meets is caused by a distinct write that landed after
/// its read, so N attempts are enough for N writers: all must land.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn with_as_many_attempts_as_writers_every_write_lands() {
    for writers in [10, 50] {
        let f = run(writers, u32::try_from(writers).unwrap()).await;
        assert_eq!(f.landed.len(), writers);
        assert!(f.exhausted.is_empty());
    }
}
