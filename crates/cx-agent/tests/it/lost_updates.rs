//! Lost updates: N tasks update `agent-003` at once through the SDK against
//! cx-sim. Each writer adds its own skill (`skill-sNN`) to the skills it reads
//! and sets its own reason (`writer-NN`), re-applied to the fresh profile on
//! every 409. Every update must land exactly once — in the simulator's
//! write history, in the final profile and in the audit log — or fail with
//! a conflict naming the writer whose retry budget ran out; those must have
//! left no trace in the history.
//!
//! Run with `--nocapture` to see the figures of each run.

// Tests unwrap: a panic with the value is the failure report.

use std::collections::BTreeSet;

use crate::support::{STORM_AGENT as AGENT, agents, events, id, writes};
use cx_agent::{Config, ErrorKind, FixedClock, SkillLevel, WorkModePayload};
use cx_sim::Sim;

struct Figures {
    landed: BTreeSet<usize>,
    exhausted: BTreeSet<usize>,
    patches: u32,
}

fn reason(i: usize) -> String {
    format!("writer-{i:02}")
}

/// Writer `i`'s skill: one of `agent-003`'s catalogue it does not hold yet.
fn skill(i: usize) -> String {
    format!("skill-s{:02}", i + 1)
}

/// Whether `id` is a writer's skill (not the one `agent-003` starts with).
fn is_writers(id: &str) -> bool {
    id.starts_with("skill-s") && id != "skill-s00"
}

/// The skill ids the agent holds now.
async fn held(client: &cx_agent::Client) -> BTreeSet<String> {
    let profile = client.profile(&id(AGENT)).await.unwrap();
    profile
        .value
        .skills
        .into_iter()
        .map(|s| s.skill_id)
        .collect()
}

/// Run `writers` concurrent writers with `max_attempts` each and check the
/// exactly-once properties; returns what happened.
async fn run(writers: usize, max_attempts: u32) -> Figures {
    let sim = Sim::start().await.unwrap();
    let (client, sink) = agents(&sim, unlimited(max_attempts));
    client.profile(&id(AGENT)).await.unwrap(); // token fetched once, up front
    let tasks: Vec<_> = (0..writers)
        .map(|i| {
            let client = client.clone();
            tokio::spawn(async move {
                let result = client
                    .modify_work_mode(&id(AGENT), move |profile| {
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
    let final_skills: BTreeSet<String> = held(&client)
        .await
        .into_iter()
        .filter(|s| is_writers(s))
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

/// A payload that lists no skills: the deltas say what changes.
fn bare(i: usize) -> WorkModePayload {
    WorkModePayload::builder("workMode-123")
        .reason(reason(i))
        .build(&FixedClock(chrono::Utc::now()))
        .unwrap()
}

/// `max_update_attempts` and no practical PATCH rate limit: the conflict
/// logic is under test here; the 5/s default is tested in flow.rs.
fn unlimited(max_update_attempts: u32) -> Config {
    Config::default()
        .with_max_update_attempts(max_update_attempts)
        .with_patch_rate_limit(cx_http::RateLimit::new(10_000, 10_000))
}

/// `add_skill` is re-applied to the profile each attempt reads: 50 writers
/// adding 50 different skills, with enough attempts, all land, once each.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn fifty_add_skill_deltas_all_land() {
    const WRITERS: usize = 50;
    let sim = Sim::start().await.unwrap();
    let (client, _sink) = agents(&sim, unlimited(u32::try_from(WRITERS).unwrap()));
    client.profile(&id(AGENT)).await.unwrap();
    let tasks: Vec<_> = (0..WRITERS)
        .map(|i| {
            let client = client.clone();
            tokio::spawn(async move {
                client
                    .update_work_mode(&id(AGENT), bare(i))
                    .add_skill(SkillLevel::new(skill(i), 1, 1))
                    .send()
                    .await
            })
        })
        .collect();
    let mut conflicts = 0;
    for t in tasks {
        let report = t.await.unwrap().unwrap();
        conflicts += report.conflicts;
    }
    let history = writes(&sim, AGENT).await;
    assert_eq!(history.len(), WRITERS, "one landed write per writer");
    let final_skills = held(&client).await;
    let mut want: BTreeSet<String> = (0..WRITERS).map(skill).collect();
    want.insert("skill-s00".to_owned());
    assert_eq!(final_skills, want, "every added skill survives");
    println!("{WRITERS} add-skill writers: all landed after {conflicts} conflicts");

    // A delta of a skill outside the agent's catalogue: the simulator refuses it.
    let err = client
        .update_work_mode(&id(AGENT), bare(99))
        .add_skill(SkillLevel::new("skill-unknown", 1, 1))
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.status(), Some(400), "{err}");
    // remove_skill takes one off, re-applied the same way.
    client
        .update_work_mode(&id(AGENT), bare(98))
        .remove_skill(skill(0))
        .send()
        .await
        .unwrap();
    let after = client.profile(&id(AGENT)).await.unwrap().value.skills;
    assert!(after.iter().all(|s| s.skill_id != skill(0)));
    assert_eq!(after.len(), WRITERS);
    // A replacement list and deltas together are refused before any PATCH.
    let listed = WorkModePayload::builder("workMode-123")
        .skill(SkillLevel::new("skill-s00", 1, 1))
        .build(&FixedClock(chrono::Utc::now()))
        .unwrap();
    let err = client
        .update_work_mode(&id(AGENT), listed)
        .remove_skill("skill-s00")
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Validation);
    assert_eq!(err.violations()[0].field, "skillLevels");
    assert_eq!(writes(&sim, AGENT).await.len(), WRITERS + 1);
}

/// The scenario: every writer read the same version and names it in
/// `If-Match`. Exactly one lands on that version; every other one is
/// refused with the current ETag and re-sends nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_explicit_if_match_is_never_re_sent() {
    const WRITERS: usize = 20;
    let sim = Sim::start().await.unwrap();
    let (client, sink) = agents(&sim, unlimited(60));
    let read = client.profile(&id(AGENT)).await.unwrap();
    let old = read.etag.clone().unwrap();
    let tasks: Vec<_> = (0..WRITERS)
        .map(|i| {
            let client = client.clone();
            let mut skills = read.value.skills.clone();
            let old = old.clone();
            tokio::spawn(async move {
                skills.push(SkillLevel::new(skill(i), 1, 1));
                let payload = WorkModePayload::builder("workMode-123")
                    .skills(skills)
                    .reason(reason(i))
                    .build(&FixedClock(chrono::Utc::now()))
                    .unwrap();
                let result = client
                    .update_work_mode(&id(AGENT), payload)
                    .if_match(old)
                    .send()
                    .await;
                (i, result)
            })
        })
        .collect();
    let mut landed = Vec::new();
    let mut refused = 0;
    for t in tasks {
        let (i, result) = t.await.unwrap();
        match result {
            Ok(report) => {
                assert_eq!(report.attempts, 1);
                assert_eq!(report.previous_state.etag.as_deref(), Some(old.as_str()));
                landed.push(i);
            }
            Err(e) => {
                assert_eq!(
                    e.kind(),
                    ErrorKind::Domain(cx_agent::AgentKind::PreconditionFailed),
                    "{e}"
                );
                assert_eq!(e.status(), Some(409));
                let current = e.current_etag().unwrap().to_owned();
                assert_ne!(current, old);
                assert!(e.to_string().contains(&current), "{e}");
                refused += 1;
            }
        }
    }
    assert_eq!(
        landed.len(),
        1,
        "exactly one write names the version it replaced"
    );
    assert_eq!(refused, WRITERS - 1);
    let history = writes(&sim, AGENT).await;
    assert_eq!(history.len(), 1);
    assert_eq!(history[0]["ifMatch"], old.as_str());
    assert_eq!(history[0]["reason"], reason(landed[0]).as_str());
    let patches = crate::support::sent(&sim, "PATCH", "/workmodes");
    assert_eq!(patches.len(), WRITERS, "one PATCH per writer, none re-sent");
    let failed = sink
        .records()
        .iter()
        .filter(|r| {
            r.event_type == "AGENT_AVAILABILITY_UPDATE_FAILED"
                && r.payload()["errorKind"] == "precondition_failed"
        })
        .count();
    assert_eq!(failed, WRITERS - 1, "every refusal is audited");
}
