//! Seed 002's example flow against cx-sim: profile → payload → validate →
//! update → publish → audit; the 409 path; validation that writes nothing;
//! the skills page loop; the per-tenant PATCH rate limit.

// Tests unwrap: a panic with the value is the failure report.

use std::time::Duration;

use crate::support::{
    AGENT, agents, events, id, seed_payload, sent, update_err, update_from, writes,
};
use cx_agent::{AgentId, Config, ErrorKind, Rule, SkillLevel, WorkModePayload};
use cx_sim::Sim;
use cx_testkit::status_fault;

fn fast() -> Config {
    Config::default().with_patch_rate_limit(cx_http::RateLimit::new(1000, 1000))
}

#[tokio::test]
async fn the_seed_example_flow_writes_once_publishes_and_audits() {
    let sim = Sim::start().await.unwrap();
    let (client, sink) = agents(&sim, Config::default());
    let profile = client.profile(&id(AGENT)).await.unwrap();
    assert_eq!(profile.value.work_mode_id(), Some("workMode-123"));
    let etag0 = profile.etag.clone().unwrap();
    let skills = client.skills(&id(AGENT)).await.unwrap();
    assert_eq!(skills.len(), 5, "all three pages");
    assert_eq!(sent(&sim, "GET", "/skills").len(), 3);

    let report = update_from(&client, profile).await;
    assert!(report.validation.valid);
    assert_eq!(
        (report.attempts, report.conflicts, report.api_status),
        (1, 0, 200)
    );
    assert_eq!(report.previous_state.etag.as_deref(), Some(etag0.as_str()));
    assert_ne!(report.new_state.etag, report.previous_state.etag);
    assert!(report.optimistic_locking_applied);
    assert!(report.latency_ms > 0.0);

    let patches = sent(&sim, "PATCH", "/workmodes");
    assert_eq!(patches.len(), 1);
    assert_eq!(patches[0].if_match.as_deref(), Some(etag0.as_str()));
    let history = writes(&sim, AGENT).await;
    assert_eq!(history.len(), 1);
    assert_eq!(history[0]["skillLevels"][1]["skillId"], "skill-789");

    let events = events(&sim).await;
    assert_eq!(events.len(), 1);
    assert_eq!(events[0]["eventType"], "agent.availability.changed");
    assert_eq!(events[0]["data"]["previousState"]["eTag"], etag0.as_str());
    assert_eq!(events[0]["data"]["newState"]["workModeId"], "workMode-123");

    let records = sink.records();
    assert_eq!(records.len(), 1);
    let audit = &records[0];
    assert_eq!(audit.event_type, "AGENT_AVAILABILITY_CHANGED");
    assert!(audit.verify_hash());
    let p = &audit.payload();
    assert_eq!(p["auditId"].as_str(), report.audit_id.as_deref());
    assert_eq!(p["validation"]["passed"], true);
    assert_eq!(p["apiResponse"]["status"], 200);
    assert_eq!(p["previousState"]["eTag"], etag0.as_str());
    assert_eq!(
        p["newState"]["eTag"].as_str(),
        report.new_state.etag.as_deref()
    );
    assert!(p["metrics"]["latencyMs"].as_f64().unwrap() > 0.0);
    assert_eq!(p["complianceFlags"]["optimisticLockingApplied"], true);
    assert_eq!(p["complianceFlags"]["shiftValidated"], true);
}

#[tokio::test]
async fn an_update_from_a_stale_read_takes_the_409_path_but_an_explicit_if_match_does_not() {
    let sim = Sim::start().await.unwrap();
    let (client, sink) = agents(&sim, fast());
    let stale = client.profile(&id(AGENT)).await.unwrap();
    let first = client
        .update_work_mode(&id(AGENT), seed_payload())
        .send()
        .await
        .unwrap();
    let old = first.previous_state.etag.clone().unwrap();
    assert_eq!(stale.etag.as_deref(), Some(old.as_str()));

    // A profile the builder was given, read before the first update: the
    // change is re-applied on a fresh read.
    let second = update_from(&client, stale.clone()).await;
    assert_eq!((second.attempts, second.conflicts), (2, 1));
    assert_eq!(second.previous_state.etag, first.new_state.etag, "re-read");
    let statuses: Vec<(u16, Option<String>)> = sent(&sim, "PATCH", "/workmodes")
        .into_iter()
        .map(|e| (e.status, e.if_match))
        .collect();
    assert_eq!(
        statuses,
        [
            (200, Some(old.clone())),
            (409, Some(old.clone())),
            (200, first.new_state.etag.clone())
        ]
    );
    assert_eq!(writes(&sim, AGENT).await.len(), 2);
    assert_eq!(sink.records()[1].payload()["metrics"]["conflicts"], 1);

    // Budget of one attempt: the stale read is a Conflict, audited, unwritten.
    let err = client
        .update_work_mode(&id(AGENT), seed_payload())
        .profile(stale)
        .max_attempts(1)
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Conflict);
    assert_eq!(err.status(), Some(409));
    assert_eq!(writes(&sim, AGENT).await.len(), 2);
    let last = sink.records().pop().unwrap();
    assert_eq!(last.event_type, "AGENT_AVAILABILITY_UPDATE_FAILED");
    assert_eq!(last.payload()["errorKind"], "conflict");

    // The caller's own If-Match: refused once, named, nothing re-sent, even
    // with attempts to spare.
    let patches_before = sent(&sim, "PATCH", "/workmodes").len();
    let err = client
        .update_work_mode(&id(AGENT), seed_payload())
        .if_match(old.clone())
        .max_attempts(5)
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        err.kind(),
        ErrorKind::Domain(cx_agent::AgentKind::PreconditionFailed),
        "{err}"
    );
    assert_eq!(err.status(), Some(409));
    let current = second.new_state.etag.clone().unwrap();
    assert_eq!(err.current_etag(), Some(current.as_str()));
    assert!(err.to_string().contains(&current), "{err}");
    assert!(err.to_string().contains(&old), "{err}");
    assert_eq!(sent(&sim, "PATCH", "/workmodes").len(), patches_before + 1);
    assert_eq!(writes(&sim, AGENT).await.len(), 2);
    let last = sink.records().pop().unwrap();
    assert_eq!(last.event_type, "AGENT_AVAILABILITY_UPDATE_FAILED");
    assert_eq!(last.payload()["errorKind"], "precondition_failed");
}

#[tokio::test]
async fn without_an_etag_the_audit_says_no_optimistic_locking() {
    let sim = Sim::start().await.unwrap();
    let (client, sink) = agents(&sim, fast());
    let mut profile = client.profile(&id(AGENT)).await.unwrap();
    profile.etag = None;
    let report = update_from(&client, profile).await;
    assert!(!report.optimistic_locking_applied);
    assert_eq!(sent(&sim, "PATCH", "/workmodes")[0].if_match, None);
    assert_eq!(
        sink.records()[0].payload()["complianceFlags"]["optimisticLockingApplied"],
        false
    );
}

#[tokio::test]
async fn validation_failures_name_every_field_and_send_no_patch() {
    let sim = Sim::start().await.unwrap();
    let (client, sink) = agents(&sim, fast());
    let clock = cx_agent::FixedClock(chrono::Utc::now());
    // (agent, work mode, skills, expected (field, rule))
    let cases = [
        (
            AGENT,
            "workMode-999",
            vec![
                SkillLevel::new("skill-456", 1, 3),
                SkillLevel::new("skill-789", 1, 2),
            ],
            vec![
                ("workModeId", Rule::ShiftWorkMode),
                ("skillLevels[0].concurrentInteractions", Rule::MaxConcurrent),
                ("skillLevels[1].concurrentInteractions", Rule::MaxConcurrent),
            ],
        ),
        (
            "agent-002",
            "workMode-123",
            vec![SkillLevel::new("skill-456", 1, 9)],
            vec![
                ("schedule.shifts", Rule::NoActiveShift),
                ("skillLevels[0].concurrentInteractions", Rule::MaxConcurrent),
            ],
        ),
    ];
    for (agent, mode, skills, want) in cases {
        let payload = WorkModePayload::builder(mode)
            .skills(skills)
            .build(&clock)
            .unwrap();
        let err = client
            .update_work_mode(&id(agent), payload)
            .send()
            .await
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Validation);
        let got: Vec<(&str, Rule)> = err
            .violations()
            .iter()
            .map(|v| (v.field.as_str(), v.rule.clone()))
            .collect();
        assert_eq!(got, want, "{agent}");
        for (field, _) in &want {
            assert!(err.to_string().contains(field), "{err}");
        }
    }
    assert!(
        sent(&sim, "PATCH", "/workmodes").is_empty(),
        "no PATCH sent"
    );
    assert!(events(&sim).await.is_empty());
    let rejected: Vec<_> = sink
        .records()
        .into_iter()
        .map(|r| r.event_type.as_str().to_owned())
        .collect();
    assert_eq!(rejected, ["AGENT_AVAILABILITY_REJECTED"; 2]);
}

#[tokio::test]
async fn a_skills_page_loop_ends_with_an_error_not_a_hang() {
    let sim = Sim::start().await.unwrap();
    let (client, _) = agents(&sim, fast());
    cx_http::Client::builder()
        .base_url(sim.base_url())
        .build()
        .unwrap()
        .link(
            cx_http::Method::PUT,
            &format!("/_sim/agents/{AGENT}/skills-loop"),
        )
        .without_auth()
        .json(&serde_json::json!({"enabled": true}))
        .send()
        .await
        .unwrap();
    let err = tokio::time::timeout(Duration::from_secs(10), client.skills(&id(AGENT)))
        .await
        .expect("the paginator must end on its own")
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Pagination);
    // The update flow stops there too, before any write.
    let err = update_err(&client).await;
    assert_eq!(err.kind(), ErrorKind::Pagination);
    assert!(sent(&sim, "PATCH", "/workmodes").is_empty());
}

#[tokio::test]
async fn by_default_at_most_five_patches_go_out_per_second() {
    let sim = Sim::start().await.unwrap();
    let (client, _) = agents(&sim, Config::default());
    client.profile(&id(AGENT)).await.unwrap(); // token before timing
    for _ in 0..6 {
        client
            .update_work_mode(&id(AGENT), seed_payload())
            .send()
            .await
            .unwrap();
    }
    let at: Vec<u64> = sent(&sim, "PATCH", "/workmodes")
        .iter()
        .map(|e| e.at_ms)
        .collect();
    assert_eq!(at.len(), 6);
    // Any 6 consecutive PATCHes span at least one second (5 gaps of 200 ms).
    let span = at[5] - at[0];
    assert!(span >= 980, "6 PATCHes within {span} ms");
}

#[tokio::test]
async fn bad_agent_ids_are_refused_before_any_request() {
    let sim = Sim::start().await.unwrap();
    let (client, _) = agents(&sim, fast());
    for raw in ["", " ", "a/b", "a b", "a?b", "a#b", "100%"] {
        let err = raw.parse::<AgentId>().unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Validation, "{raw:?}");
        assert_eq!(err.violations()[0].field, "agent_id", "{raw:?}");
        assert_eq!(err.violations()[0].rule, Rule::Format, "{raw:?}");
        let json = serde_json::Value::String(raw.to_owned());
        assert!(serde_json::from_value::<AgentId>(json).is_err(), "{raw:?}");
    }
    let err = client
        .update_work_mode(&id(AGENT), seed_payload())
        .max_attempts(0)
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.violations()[0].field, "max_attempts");
    assert!(sim.journal().iter().all(|e| !e.path.contains("/agents")));
    let err = client.profile(&id("agent-404")).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotFound);
}

#[tokio::test]
async fn zero_settings_are_refused_by_the_first_update_naming_them_before_any_request() {
    let sim = Sim::start().await.unwrap();
    let cases = [
        (
            Config::default().with_max_update_attempts(0),
            "max_update_attempts",
        ),
        (
            Config::default().with_patch_rate_limit(cx_http::RateLimit::new(0, 1)),
            "patch_rate_limit.per_second",
        ),
        (
            Config::default().with_patch_rate_limit(cx_http::RateLimit::new(5, 0)),
            "patch_rate_limit.burst",
        ),
    ];
    for (config, field) in cases {
        // Building the client never fails; the update names the setting.
        let (client, _) = agents(&sim, config);
        let err = client
            .update_work_mode(&id(AGENT), seed_payload())
            .send()
            .await
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Validation, "{field}: {err}");
        assert_eq!(err.violations()[0].field, field, "{err}");
    }
    assert!(sim.journal().iter().all(|e| !e.path.contains("/agents")));
}

#[tokio::test]
async fn a_written_update_whose_event_or_audit_fails_says_so_and_keeps_the_report() {
    let sim = Sim::start().await.unwrap();
    sim.set_faults(vec![cx_sim::FaultRule::new(
        "POST /api/v2/events/publish",
        status_fault(400),
    )]);
    let (client, sink) = agents(&sim, fast());
    let err = update_err(&client).await;
    assert_eq!(
        err.kind(),
        ErrorKind::Domain(cx_agent::AgentKind::EventPublish)
    );
    let report = err.report().unwrap();
    assert!(report.event.is_none());
    assert_eq!(writes(&sim, AGENT).await.len(), 1, "the write stands");
    assert_eq!(sink.records()[0].payload()["eventPublished"], false);

    sim.set_faults(Vec::new());
    let broken = cx_agent::Client::new(crate::support::http(&sim), fast())
        .with_audit(std::sync::Arc::new(cx_testkit::FailingSink));
    let err = update_err(&broken).await;
    assert_eq!(err.kind(), ErrorKind::Audit);
    assert!(err.audit_error().is_some());
    assert_eq!(err.report().unwrap().attempts, 1);
    assert_eq!(writes(&sim, AGENT).await.len(), 2);
}

/// A PATCH the server carried out but whose answer was a 500 (or lost):
/// the change may stand, so neither the caller nor the audit record may
/// say it was not written.
#[tokio::test]
async fn a_patch_whose_answer_does_not_settle_it_is_an_unknown_outcome_not_a_failure() {
    let sim = Sim::start().await.unwrap();
    sim.set_faults(vec![cx_sim::FaultRule::new(
        "PATCH /api/v2/agents/agent-001/workmodes",
        cx_sim::Fault::StatusAfterProcessing { status: 500 },
    )]);
    let (client, sink) = agents(&sim, fast());
    let err = update_err(&client).await;
    assert_eq!(writes(&sim, AGENT).await.len(), 1, "the server wrote it");
    assert!(err.is_outcome_unknown(), "{:?}: {err}", err.kind());
    assert!(err.to_string().contains("may have been written"), "{err}");
    assert_eq!(err.status(), Some(500));
    let last = sink.records().pop().unwrap();
    assert_eq!(last.event_type, "AGENT_AVAILABILITY_UPDATE_FAILED");
    let p = last.payload();
    assert_ne!(p["written"], false, "{p}");
    assert_eq!(p["outcome"], "unknown", "{p}");

    // A refusal that proves nothing was written still says so.
    sim.set_faults(vec![cx_sim::FaultRule::new(
        "PATCH /api/v2/agents/agent-001/workmodes",
        status_fault(400),
    )]);
    let err = update_err(&client).await;
    assert!(!err.is_outcome_unknown(), "{err}");
    assert_eq!(writes(&sim, AGENT).await.len(), 1);
    assert_eq!(sink.records().pop().unwrap().payload()["written"], false);
}

/// The change re-applied to a fresh read after a 409 is checked as the
/// first one was: a read whose skill list another writer left with a skill
/// twice makes the edited list malformed, which is refused, not written.
#[tokio::test]
async fn a_change_re_applied_after_a_409_is_shape_checked_like_the_first() {
    let sim = Sim::start().await.unwrap();
    let (client, sink) = agents(&sim, fast());
    let stale = client.profile(&id(AGENT)).await.unwrap();
    let twice = serde_json::json!({
        "workModeId": "workMode-123",
        "skillLevels": [
            {"skillId": "skill-456", "level": 1, "concurrentInteractions": 1},
            {"skillId": "skill-456", "level": 2, "concurrentInteractions": 1},
        ],
    });
    crate::support::http(&sim)
        .patch(
            cx_http::ApiPath::new("/api/v2/agents")
                .id("agent_id", AGENT)
                .lit("workmodes"),
        )
        .json(&twice)
        .send()
        .await
        .unwrap();
    let bare = WorkModePayload::builder("workMode-123")
        .build(&cx_agent::FixedClock(chrono::Utc::now()))
        .unwrap();
    let result = client
        .update_work_mode(&id(AGENT), bare)
        .profile(stale)
        .add_skill(SkillLevel::new("skill-101", 2, 1))
        .send()
        .await;
    let history = writes(&sim, AGENT).await;
    assert_eq!(
        history.len(),
        1,
        "nothing written after the 409: {history:?}"
    );
    let err = result.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Validation, "{err}");
    assert!(
        err.violations()
            .iter()
            .any(|v| v.rule == Rule::Duplicate && v.field == "skillLevels[1].skillId"),
        "{err}"
    );
    let last = sink.records().pop().unwrap();
    assert_eq!(last.event_type, "AGENT_AVAILABILITY_REJECTED");
}
