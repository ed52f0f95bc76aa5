//! `cx agent ...` as a user runs it: seed 002's example flow against
//! `cx sim serve` (and the 409 path with the first update's old ETag),
//! validation failures that write nothing, dry runs, the offline simulator.

// Tests unwrap: a panic with the value is the failure report; they print
// their figures with println! (the CLI's own output rule is for `cx`).

use std::path::Path;
use std::process::Command;

use crate::support::{Line, cx, finish, journal, json, run, serve, sim_get};
use serde_json::Value;

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

    // A second update sent with the first update's old ETag: the caller's
    // own precondition, refused with status 3, naming the current ETag.
    let (code, second, err) = set_workmode(
        dir.path(),
        &served.url,
        &["--if-match", &old, "--max-attempts", "5"],
    );
    assert_eq!(code, 3, "{err}");
    assert_eq!(second, Value::Null, "no document on stdout");
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    assert!(err.contains(&new) && err.contains(&old), "{err}");
    assert_eq!(
        patches(&served.url),
        [(200, Some(old.clone())), (409, Some(old))],
        "nothing re-sent"
    );
    let writes = sim_get(&served.url, "/_sim/agents/agent-001/writes");
    assert_eq!(writes.as_array().unwrap().len(), 1);

    // Without --if-match the command reads the agent itself and succeeds.
    let (code, third, err) = set_workmode(dir.path(), &served.url, &[]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(third["previousState"]["eTag"], new.as_str());
    let events = sim_get(&served.url, "/_sim/events");
    assert_eq!(events.as_array().unwrap().len(), 2);
    assert_eq!(events[1]["eventType"], "agent.availability.changed");
}

const STORM_AGENT: &str = "agent-003";

fn storm_skill(i: usize) -> String {
    format!("skill-s{:02}", i + 1)
}

/// Start `writers` `cx agent set-workmode` processes at once, the i-th with
/// `args(i)`; returns `(exit code, stderr)` of each.
fn storm(
    dir: &Path,
    url: &str,
    writers: usize,
    args: impl Fn(usize) -> Vec<String>,
) -> Vec<(i32, String)> {
    let children: Vec<_> = (0..writers)
        .map(|i| {
            let mut cmd = cx(dir);
            against(&mut cmd, url)
                .args([
                    "agent",
                    "set-workmode",
                    STORM_AGENT,
                    "--workmode",
                    "workMode-123",
                ])
                .args(args(i))
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    finish(children)
}

fn skill_ids(levels: &Value) -> std::collections::BTreeSet<String> {
    levels
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["skillId"].as_str().unwrap().to_owned())
        .collect()
}

/// 50 processes each add a skill of their own with `--add-skill`: with
/// enough attempts, all 50 land once and all 50 skills are in the profile.
#[test]
fn fifty_processes_adding_skills_all_land() {
    const WRITERS: usize = 50;
    let dir = tempfile::tempdir().unwrap();
    let served = serve(dir.path(), "agent-client", "agent-secret");
    let results = storm(dir.path(), &served.url, WRITERS, |i| {
        vec![
            "--add-skill".into(),
            format!("{}:1:1", storm_skill(i)),
            "--max-attempts".into(),
            "60".into(),
        ]
    });
    for (i, (code, err)) in results.iter().enumerate() {
        assert_eq!(*code, 0, "writer {i}: {err}");
    }
    let writes = sim_get(&served.url, &format!("/_sim/agents/{STORM_AGENT}/writes"));
    let writes = writes.as_array().unwrap();
    assert_eq!(writes.len(), WRITERS, "one landed write per process");
    let last = skill_ids(&writes[WRITERS - 1]["skillLevels"]);
    let mut want: std::collections::BTreeSet<String> = (0..WRITERS).map(storm_skill).collect();
    want.insert("skill-s00".to_owned());
    assert_eq!(last, want, "the final profile holds every added skill");
    let conflicts = patches(&served.url)
        .iter()
        .filter(|(s, _)| *s == 409)
        .count();
    println!("{WRITERS} --add-skill processes: all landed after {conflicts} conflicts");

    // --skill and --add-skill together: bad usage, before any request.
    let mut cmd = cx(dir.path());
    let (code, _, err) = run(against(&mut cmd, &served.url).line(&format!(
        "agent set-workmode {STORM_AGENT} --workmode workMode-123 \
         --skill skill-s00:1:1 --add-skill skill-s01:1:1"
    )));
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("--add-skill"), "{err}");
}

/// The lost update: every process read the same version and sends
/// it in --if-match with the full list plus its own skill. One lands on
/// that version; every other exits 3 naming the current ETag; nothing is
/// re-sent, so nothing is lost.
#[test]
fn an_explicit_if_match_storm_loses_nothing() {
    const WRITERS: usize = 20;
    let dir = tempfile::tempdir().unwrap();
    let served = serve(dir.path(), "agent-client", "agent-secret");
    let mut cmd = cx(dir.path());
    let (code, out, err) = run(
        against(&mut cmd, &served.url).line(&format!("agent show {STORM_AGENT} --output json"))
    );
    assert_eq!(code, 0, "{err}");
    let shown = json(&out);
    let old = shown["etag"].as_str().unwrap().to_owned();
    let held: Vec<String> = shown["profile"]["skills"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            format!(
                "{}:{}:{}",
                s["skillId"].as_str().unwrap(),
                s["level"],
                s["concurrentInteractions"]
            )
        })
        .collect();
    let results = storm(dir.path(), &served.url, WRITERS, |i| {
        let mut args: Vec<String> = held
            .iter()
            .flat_map(|s| ["--skill".to_owned(), s.clone()])
            .collect();
        args.extend([
            "--skill".to_owned(),
            format!("{}:1:1", storm_skill(i)),
            "--if-match".to_owned(),
            old.clone(),
            "--max-attempts".to_owned(),
            "60".to_owned(),
        ]);
        args
    });
    let writes = sim_get(&served.url, &format!("/_sim/agents/{STORM_AGENT}/writes"));
    let writes = writes.as_array().unwrap();
    let landed: Vec<usize> = (0..WRITERS).filter(|i| results[*i].0 == 0).collect();
    assert_eq!(landed.len(), 1, "{results:?}");
    assert_eq!(writes.len(), 1);
    assert_eq!(
        writes[0]["ifMatch"],
        old.as_str(),
        "landed on the version it named"
    );
    let current = writes[0]["etag"].as_str().unwrap();
    for (i, (code, err)) in results.iter().enumerate() {
        if i != landed[0] {
            assert_eq!(*code, 3, "writer {i}: {err}");
            assert!(
                err.contains(current),
                "writer {i} names the current ETag: {err}"
            );
        }
    }
    assert_eq!(
        patches(&served.url).len(),
        WRITERS,
        "one PATCH each, none re-sent"
    );
    assert!(skill_ids(&writes[0]["skillLevels"]).contains(&storm_skill(landed[0])));
}

#[test]
fn validation_failures_name_every_field_and_send_no_patch() {
    let dir = tempfile::tempdir().unwrap();
    let served = serve(dir.path(), "agent-client", "agent-secret");
    let mut cmd = cx(dir.path());
    against(&mut cmd, &served.url).line("agent set-workmode agent-001 --workmode workMode-999 --skill skill-456:1:3 --skill skill-789:1:2");
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
    against(&mut cmd, &served.url)
        .line("agent set-workmode agent-002 --workmode workMode-123 --dry-run --output json");
    let (code, out, err) = run(&mut cmd);
    assert_eq!(code, 1);
    let doc = json(&out);
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
    let doc = json(&out);
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
    let doc = json(&out);
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
        cmd.line("agent simulate --workmode workMode-123 --seed 7 --output json");
        for s in skills {
            cmd.args(["--skill", s]);
        }
        let (code, out, err) = run(&mut cmd);
        assert_eq!(code, 0, "{err}");
        assert!(!err.contains("embedded simulator"), "sends nothing: {err}");
        let doc = json(&out);
        assert_eq!(doc["routingScore"].as_u64(), Some(want), "{skills:?}");
        let (_, again, _) = run(&mut cmd);
        let again: Value = serde_json::from_str(&again).unwrap();
        assert_eq!(again["simulatedLatencyMs"], doc["simulatedLatencyMs"]);
    }
    let (code, _, err) =
        run(cx(dir.path()).line("agent simulate --workmode w --skill skill-456:1"));
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
