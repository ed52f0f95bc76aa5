//! `cx agent ...` as a user runs it: seed 002's example flow against
//! `cx sim serve` (and the 409 path with the first update's old ETag),
//! validation failures that write nothing, dry runs, the offline simulator.

// Tests unwrap: a panic with the value is the failure report.
#![allow(clippy::unwrap_used)]

mod support;

use std::path::Path;
use std::process::Command;

use serde_json::Value;
use support::{cx, journal, run, serve, sim_get};

const SEED_CHANGE: [&str; 7] = [
    "agent-001",
    "--workmode",
    "workMode-123",
    "--skill",
    "skill-456:1:2",
    "--skill",
    "skill-789:0:0",
];

fn against<'a>(cmd: &'a mut Command, url: &str) -> &'a mut Command {
    cmd.env("CXONE_API_URL", url)
        .env("CXONE_CLIENT_ID", "agent-client")
        .env("CXONE_CLIENT_SECRET", "agent-secret")
}

fn patches(url: &str) -> Vec<(u64, Option<String>)> {
    journal(url)
        .into_iter()
        .filter(|e| e["method"] == "PATCH")
        .map(|e| {
            (
                e["status"].as_u64().unwrap(),
                e["ifMatch"].as_str().map(str::to_owned),
            )
        })
        .collect()
}

fn set_workmode(dir: &Path, url: &str, extra: &[&str]) -> (i32, Value, String) {
    let mut cmd = cx(dir);
    against(&mut cmd, url)
        .args(["agent", "set-workmode"])
        .args(SEED_CHANGE)
        .args(extra)
        .args(["--output", "json"]);
    let (code, out, err) = run(&mut cmd);
    (code, serde_json::from_str(&out).unwrap_or(Value::Null), err)
}

#[test]
fn the_seed_flow_runs_against_a_served_simulator_and_an_old_etag_takes_the_409_path() {
    let dir = tempfile::tempdir().unwrap();
    let served = serve(dir.path(), "agent-client", "agent-secret");

    let (code, first, err) = set_workmode(dir.path(), &served.url, &[]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(first["validation"]["valid"], true);
    assert_eq!(
        (first["attempts"].as_u64(), first["conflicts"].as_u64()),
        (Some(1), Some(0))
    );
    assert_eq!(first["written"], true);
    assert_eq!(first["optimisticLockingApplied"], true);
    assert_eq!(first["simulation"]["routingScore"], 95);
    let old = first["previousState"]["eTag"].as_str().unwrap().to_owned();
    let new = first["newState"]["eTag"].as_str().unwrap().to_owned();
    assert_ne!(old, new);
    let audit_file = first["auditFile"].as_str().unwrap();
    let verified = cxone::audit::verify_file(Path::new(audit_file)).unwrap();
    assert_eq!(
        (verified.records, verified.bad_lines),
        (1, 0),
        "{verified:?}"
    );

    // A second update sent with the first update's old ETag.
    let (code, second, err) = set_workmode(dir.path(), &served.url, &["--if-match", &old]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(
        (second["attempts"].as_u64(), second["conflicts"].as_u64()),
        (Some(2), Some(1))
    );
    assert_eq!(second["previousState"]["eTag"], new.as_str());
    assert_eq!(
        patches(&served.url),
        [(200, Some(old.clone())), (409, Some(old)), (200, Some(new))]
    );
    let writes = sim_get(&served.url, "/_sim/agents/agent-001/writes");
    assert_eq!(writes.as_array().unwrap().len(), 2);
    let events = sim_get(&served.url, "/_sim/events");
    assert_eq!(events.as_array().unwrap().len(), 2);
    assert_eq!(events[1]["eventType"], "agent.availability.changed");

    // Spent budget: exit 1, one line, nothing written.
    let (code, _, err) = set_workmode(
        dir.path(),
        &served.url,
        &["--if-match", "\"agent-001-v1\"", "--max-attempts", "1"],
    );
    assert_eq!(code, 1);
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    assert!(err.contains("409"), "{err}");
    assert_eq!(
        sim_get(&served.url, "/_sim/agents/agent-001/writes")
            .as_array()
            .unwrap()
            .len(),
        2
    );
}

#[test]
fn validation_failures_name_every_field_and_send_no_patch() {
    let dir = tempfile::tempdir().unwrap();
    let served = serve(dir.path(), "agent-client", "agent-secret");
    let mut cmd = cx(dir.path());
    against(&mut cmd, &served.url).args([
        "agent",
        "set-workmode",
        "agent-001",
        "--workmode",
        "workMode-999",
        "--skill",
        "skill-456:1:3",
        "--skill",
        "skill-789:1:2",
    ]);
    let (code, out, err) = run(&mut cmd);
    assert_eq!(code, 1, "{out}");
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    for field in [
        "workModeId",
        "skillLevels[0].concurrentInteractions",
        "skillLevels[1].concurrentInteractions",
    ] {
        assert!(err.contains(field), "{field}: {err}");
    }
    assert!(patches(&served.url).is_empty(), "no PATCH sent");

    // The same change as a dry run: the document, then exit 1.
    let mut cmd = cx(dir.path());
    against(&mut cmd, &served.url).args([
        "agent",
        "set-workmode",
        "agent-002",
        "--workmode",
        "workMode-123",
        "--dry-run",
        "--output",
        "json",
    ]);
    let (code, out, err) = run(&mut cmd);
    assert_eq!(code, 1);
    let doc: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(
        doc["validation"]["violations"][0]["rule"],
        "no_active_shift"
    );
    assert!(err.contains("schedule.shifts"), "{err}");
    assert!(patches(&served.url).is_empty());
}

#[test]
fn dry_run_show_and_skills_with_the_embedded_simulator() {
    let dir = tempfile::tempdir().unwrap();
    let (code, out, err) = run(cx(dir.path())
        .args(["agent", "set-workmode"])
        .args(SEED_CHANGE)
        .args(["--dry-run", "--output", "json"]));
    assert_eq!(code, 0, "{err}");
    let doc: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(
        (doc["dryRun"].as_bool(), doc["written"].as_bool()),
        (Some(true), Some(false))
    );
    assert_eq!(doc["validation"]["valid"], true);
    assert_eq!(doc["simulation"]["routingScore"], 95);
    assert!(
        !dir.path().join("audit").exists(),
        "a dry run audits nothing"
    );

    let (code, out, err) =
        run(cx(dir.path()).args(["agent", "skills", "agent-001", "--output", "json"]));
    assert_eq!(code, 0, "{err}");
    let doc: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(doc["skills"].as_array().unwrap().len(), 5);

    let (code, out, err) = run(cx(dir.path()).args(["agent", "show", "agent-001"]));
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains("workMode-123") && out.contains("\"agent-001-v1\""),
        "{out}"
    );
    let (code, _, err) = run(cx(dir.path()).args(["agent", "show", "agent-404"]));
    assert_eq!(code, 1);
    assert!(err.contains("404"), "{err}");
}

#[test]
fn simulate_is_offline_and_deterministic() {
    let dir = tempfile::tempdir().unwrap();
    // (skills, routing score): the seed's formula, clamped.
    let cases: [(&[&str], u64); 3] = [
        (&["skill-456:1:2"], 100),
        (&["skill-456:1:2", "skill-789:0:0"], 95),
        (
            &[
                "a:0:0", "b:0:0", "c:0:0", "d:0:0", "e:0:0", "f:0:0", "g:0:0",
            ],
            0,
        ),
    ];
    for (skills, want) in cases {
        let mut cmd = cx(dir.path());
        cmd.args([
            "agent",
            "simulate",
            "--workmode",
            "workMode-123",
            "--seed",
            "7",
            "--output",
            "json",
        ]);
        for s in skills {
            cmd.args(["--skill", s]);
        }
        let (code, out, err) = run(&mut cmd);
        assert_eq!(code, 0, "{err}");
        assert!(!err.contains("embedded simulator"), "sends nothing: {err}");
        let doc: Value = serde_json::from_str(&out).unwrap();
        assert_eq!(doc["routingScore"].as_u64(), Some(want), "{skills:?}");
        let (_, again, _) = run(&mut cmd);
        let again: Value = serde_json::from_str(&again).unwrap();
        assert_eq!(again["simulatedLatencyMs"], doc["simulatedLatencyMs"]);
    }
    let (code, _, err) = run(cx(dir.path()).args([
        "agent",
        "simulate",
        "--workmode",
        "w",
        "--skill",
        "skill-456:1",
    ]));
    assert_eq!(code, 2, "bad usage");
    assert!(err.contains("skill"), "{err}");
}

#[test]
fn ids_that_would_traverse_paths_are_refused_before_any_request() {
    let dir = tempfile::tempdir().unwrap();
    let served = serve(dir.path(), "agent-client", "agent-secret");
    let before = journal(&served.url).len();
    let cases: [&[&str]; 5] = [
        &["agent", "show", ".."],
        &["agent", "show", "..\\..\\..\\_sim\\faults"],
        &["agent", "skills", "."],
        &["workflow", "run", ".."],
        &["workflow", "run", "a/../../x"],
    ];
    for args in cases {
        let mut cmd = cx(dir.path());
        let (code, _, err) = run(against(&mut cmd, &served.url).args(args));
        assert_eq!(code, 1, "{args:?}: {err}");
        assert!(err.contains("_id"), "{args:?} names the id field: {err}");
    }
    let sent: Vec<Value> = journal(&served.url).into_iter().skip(before).collect();
    assert!(
        sent.iter()
            .all(|e| e["path"] == "/oauth/token" || e["path"] == "/v1/oauth2/token"),
        "only token requests, no API call: {sent:?}"
    );
}
