//! `cx agent list | states | state set | skills` on CXone's real agent
//! API, logged in with an access key against `cx sim serve` in another
//! process.

// Tests unwrap: a panic with the value is the failure report.

use std::path::Path;
use std::process::Command;

use serde_json::Value;

use crate::support::{Served, cx, journal, json, request, run};

pub(crate) const KEY_ID: &str = "REALAGENTS01";
pub(crate) const KEY_SECRET: &str = "real-agents-secret";

/// `cx` logged in with the test's access key on `url`.
pub(crate) fn logged_in(dir: &Path, url: &str) -> Command {
    crate::support::logged_in_with_key(dir, url, KEY_ID, KEY_SECRET)
}

/// The sim and a temporary directory for `cx`.
pub(crate) fn setup() -> (tempfile::TempDir, Served) {
    let dir = tempfile::tempdir().unwrap();
    let sim = crate::support::serve_access_key(dir.path(), KEY_ID, KEY_SECRET);
    (dir, sim)
}

/// `cx <args>` logged in on `sim`: `(exit code, stdout, stderr)`.
pub(crate) fn cx_on(dir: &Path, sim: &Served, args: &[&str]) -> (i32, String, String) {
    run(logged_in(dir, &sim.url).args(args))
}

/// `cx <args> --output json` logged in on `sim`, which must succeed.
pub(crate) fn cx_json(dir: &Path, sim: &Served, args: &[&str]) -> Value {
    let (code, out, err) = cx_on(dir, sim, &[args, &["--output", "json"]].concat());
    assert_eq!(code, 0, "{args:?}: {err}");
    json(&out)
}

/// Agent `agent`'s skills as `(skillId, proficiency)`, read through `cx`.
pub(crate) fn skills_of(dir: &Path, sim: &Served, agent: &str) -> Vec<(String, i64)> {
    let doc = cx_json(dir, sim, &["agent", "skills", agent]);
    assert_eq!(doc["agentId"], agent);
    doc["agentSkillAssignments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| {
            (
                a["skillId"].as_str().unwrap().to_owned(),
                a["agentProficiencyValue"].as_i64().unwrap(),
            )
        })
        .collect()
}

/// The journal's requests whose path ends with `suffix`, as `(method, query, status)`.
pub(crate) fn sent(sim: &Served, suffix: &str) -> Vec<(String, Option<String>, u64)> {
    journal(&sim.url)
        .into_iter()
        .filter(|e| {
            let path = e["path"].as_str().unwrap();
            path.starts_with("/inContactAPI/services/v") && path.ends_with(suffix)
        })
        .map(|e| {
            (
                e["method"].as_str().unwrap().to_owned(),
                e["query"].as_str().map(str::to_owned),
                e["status"].as_u64().unwrap(),
            )
        })
        .collect()
}

/// The skill writes to `agent` the journal holds, as `"METHOD status"`.
fn skill_writes(sim: &Served, agent: &str) -> Vec<String> {
    sent(sim, &format!("/agents/{agent}/skills"))
        .into_iter()
        .filter(|(m, _, _)| m != "GET")
        .map(|(m, _, status)| format!("{m} {status}"))
        .collect()
}

/// `cx agent states --follow --interval 0 <args>` on `sim`, which must
/// succeed: its stdout.
fn follow(dir: &Path, sim: &Served, args: &[&str]) -> String {
    let base = ["agent", "states", "--follow", "--interval", "0"];
    let (code, out, err) = cx_on(dir, sim, &[&base[..], args].concat());
    assert_eq!(code, 0, "{args:?}: {err}");
    out
}

/// `cx <args>` on `sim`, which must succeed printing `text`.
pub(crate) fn succeeds(dir: &Path, sim: &Served, args: &[&str], text: &str) {
    let (code, out, err) = cx_on(dir, sim, args);
    assert_eq!(code, 0, "{args:?}: {err}");
    assert!(out.contains(text), "{args:?}: {text:?} in {out}");
}

/// `cx <args>` on `sim`, which must fail with each of `reasons` on stderr:
/// `(stdout, stderr)`.
pub(crate) fn fails(dir: &Path, sim: &Served, args: &[&str], reasons: &[&str]) -> (String, String) {
    let (code, out, err) = cx_on(dir, sim, args);
    assert_eq!(code, 1, "{args:?}: {out}");
    for reason in reasons {
        assert!(err.contains(reason), "{args:?}: {reason:?} in {err}");
    }
    (out, err)
}

#[test]
fn agent_list_and_states_read_the_real_api_with_an_access_key() {
    let dir = tempfile::tempdir().unwrap();
    let sim = crate::support::serve_access_key(dir.path(), KEY_ID, KEY_SECRET);

    let (code, out, err) =
        run(logged_in(dir.path(), &sim.url).args(["agent", "list", "--output", "json"]));
    assert_eq!(code, 0, "{err}");
    let doc = json(&out);
    assert_eq!(doc["tenant"]["kind"], "access-key");
    let agents = doc["agents"].as_array().unwrap();
    assert_eq!(agents.len(), 6);
    assert_eq!(agents[0]["agentId"], "3100001");
    assert!(
        journal(&sim.url)
            .iter()
            .any(|e| e["path"] == "/inContactAPI/services/v23.0/agents" && e["status"] == 200),
        "the real route was called"
    );

    let (code, out, err) = run(logged_in(dir.path(), &sim.url)
        .args(["agent", "list", "--active", "false", "--output", "table"]));
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("AGENT"), "{out}");
    assert!(out.contains("3100006") && out.contains("Thompson"), "{out}");
    assert!(out.contains("1 agent(s)"), "{out}");
    assert!(!out.contains("3100001"), "{out}");

    let (code, out, err) =
        run(logged_in(dir.path(), &sim.url).args(["agent", "states", "--output", "json"]));
    assert_eq!(code, 0, "{err}");
    let doc = json(&out);
    assert_eq!(doc["agentStates"].as_array().unwrap().len(), 6);
    let poll = doc["lastPollTime"].as_str().unwrap().to_owned();
    assert!(poll.ends_with('Z'), "{poll}");

    // Nothing changed since the last poll: no states, still a success.
    let (code, out, err) = run(logged_in(dir.path(), &sim.url)
        .args(["agent", "states", "--since", &poll, "--output", "table"]));
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("STATE"), "{out}");
    assert!(out.contains("0 state(s)"), "{out}");
}

#[test]
fn a_client_credentials_tenant_is_told_to_log_in_with_an_access_key() {
    let dir = tempfile::tempdir().unwrap();
    let sim = crate::support::serve(dir.path(), "plain-client", "plain-secret");
    for args in [
        &["agent", "list"][..],
        &["agent", "skills", "--all"],
        &["agent", "skills", "add", "3100001", "4100009"],
        &["agent", "state", "set", "3100001", "--available"],
        &["agent", "states", "--follow", "--polls", "1"],
    ] {
        let (code, _, err) = run(cx(dir.path())
            .args([
                "--api-url",
                &sim.url,
                "--client-id",
                "plain-client",
                "--client-secret",
                "plain-secret",
            ])
            .args(args));
        assert_eq!(code, 1, "{args:?}: {err}");
        assert!(err.contains("log in with an access key"), "{args:?}: {err}");
    }
    assert!(
        !journal(&sim.url)
            .iter()
            .any(|e| e["path"].as_str().unwrap_or("").contains("inContactAPI")),
        "nothing was sent to the real API"
    );
}

#[test]
fn agent_skills_lists_one_agent_or_every_assignment_as_json_table_or_csv() {
    let (dir, sim) = setup();
    assert_eq!(
        skills_of(dir.path(), &sim, "3100001"),
        [
            ("4100001".to_owned(), 1),
            ("4100002".to_owned(), 3),
            ("4100003".to_owned(), 5)
        ]
    );
    let reads = sent(&sim, "/agents/3100001/skills");
    assert_eq!(reads.len(), 1, "{reads:?}");
    assert_eq!((reads[0].0.as_str(), reads[0].2), ("GET", 200));

    let all = cx_json(dir.path(), &sim, &["agent", "skills", "--all"]);
    assert_eq!(all["agentSkillAssignments"].as_array().unwrap().len(), 11);
    assert_eq!(sent(&sim, "/agents/skills").len(), 1);

    let (code, out, err) = cx_on(
        dir.path(),
        &sim,
        &["agent", "skills", "--all", "--output", "csv"],
    );
    assert_eq!(code, 0, "{err}");
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines[0], "agent,skill,name,proficiency,active", "{out}");
    assert_eq!(lines.len(), 12, "a header and 11 assignments: {out}");
    assert!(
        lines.contains(&"3100003,4100005,Billing Phone,4,yes"),
        "{out}"
    );

    let (code, out, err) = cx_on(
        dir.path(),
        &sim,
        &["agent", "skills", "3100002", "--output", "table"],
    );
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains("PROFICIENCY") && out.contains("4100004"),
        "{out}"
    );
    assert!(out.contains("2 assignment(s)"), "{out}");

    // One agent or all, not both; an id is needed without --all.
    for args in [
        &["agent", "skills", "3100001", "--all"][..],
        &["agent", "skills"],
    ] {
        let (code, _, err) = cx_on(dir.path(), &sim, args);
        assert_eq!(code, 2, "{args:?}: {err}");
    }
}

#[test]
fn agent_skills_add_set_remove_write_each_skill_and_read_back() {
    let (dir, sim) = setup();
    let doc = cx_json(
        dir.path(),
        &sim,
        &["agent", "skills", "add", "3100004", "4100010:7", "4100011"],
    );
    assert_eq!(doc["action"], "assigned");
    assert_eq!(doc["skillResults"].as_array().unwrap().len(), 2);
    let held = skills_of(dir.path(), &sim, "3100004");
    assert!(held.contains(&("4100010".to_owned(), 7)), "{held:?}");
    assert!(held.iter().any(|(s, _)| s == "4100011"), "{held:?}");

    succeeds(
        dir.path(),
        &sim,
        &["agent", "skills", "set", "3100004", "4100010:12"],
        "skill 4100010 modified",
    );
    assert!(skills_of(dir.path(), &sim, "3100004").contains(&("4100010".to_owned(), 12)));

    succeeds(
        dir.path(),
        &sim,
        &["agent", "skills", "remove", "3100004", "4100010", "4100011"],
        "2 skill(s) removed",
    );
    let held = skills_of(dir.path(), &sim, "3100004");
    assert!(
        !held.iter().any(|(s, _)| s == "4100010" || s == "4100011"),
        "{held:?}"
    );
    assert_eq!(
        skill_writes(&sim, "3100004"),
        ["POST 200", "PUT 200", "DELETE 200"]
    );
}

#[test]
fn a_partial_skill_failure_exits_non_zero_and_names_the_failed_skills() {
    let (dir, sim) = setup();
    let (out, err) = fails(
        dir.path(),
        &sim,
        &["agent", "skills", "add", "3100004", "4100012:3", "4999999"],
        &["4999999", "Invalid Skill Id"],
    );
    assert!(
        !err.contains("skill 4100012 ("),
        "the applied skill is not a failure: {err}"
    );
    assert!(!out.contains("assigned"), "not reported as success: {out}");
    // The other skill was applied, as the server answered.
    assert!(skills_of(dir.path(), &sim, "3100004").contains(&("4100012".to_owned(), 3)));

    fails(
        dir.path(),
        &sim,
        &["agent", "skills", "remove", "3100004", "4100012", "4100013"],
        &["4100013", "not assigned"],
    );
    assert!(
        !skills_of(dir.path(), &sim, "3100004")
            .iter()
            .any(|(s, _)| s == "4100012")
    );

    // Bad skill specs are usage errors, refused before any write.
    for spec in ["x", "4100012:high", "4100012:"] {
        let (code, _, err) = cx_on(
            dir.path(),
            &sim,
            &["agent", "skills", "add", "3100004", spec],
        );
        assert_eq!(code, 2, "{spec}: {err}");
    }
    assert_eq!(skill_writes(&sim, "3100004").len(), 2);
}

#[test]
fn agent_state_set_makes_an_agent_unavailable_then_available() {
    let (dir, sim) = setup();
    let state_of = |agent: &str| -> (String, String) {
        let doc = cx_json(dir.path(), &sim, &["agent", "states"]);
        let s = doc["agentStates"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["agentId"] == agent)
            .unwrap()
            .clone();
        (
            s["agentStateName"].as_str().unwrap().to_owned(),
            s["outStateDescription"].as_str().unwrap_or("").to_owned(),
        )
    };
    succeeds(
        dir.path(),
        &sim,
        &["agent", "state", "set", "3100001", "--unavailable", "502"],
        "Unavailable (unavailable code 502)",
    );
    assert_eq!(state_of("3100001"), ("Unavailable".into(), "Lunch".into()));

    let doc = cx_json(
        dir.path(),
        &sim,
        &["agent", "state", "set", "3100001", "--available"],
    );
    assert_eq!(doc["state"], "Available");
    assert_eq!(state_of("3100001").0, "Available");
    let posts = sent(&sim, "/agents/3100001/state");
    assert_eq!(posts.len(), 2, "{posts:?}");
    assert!(
        posts
            .iter()
            .all(|(m, _, status)| m == "POST" && (200..300).contains(status)),
        "{posts:?}"
    );

    // A logged-out agent: the server's reason, non-zero.
    fails(
        dir.path(),
        &sim,
        &["agent", "state", "set", "3100004", "--available"],
        &["not logged in"],
    );

    // Exactly one of --available / --unavailable.
    for args in [
        &["agent", "state", "set", "3100001"][..],
        &[
            "agent",
            "state",
            "set",
            "3100001",
            "--available",
            "--unavailable",
            "501",
        ],
    ] {
        let (code, _, err) = cx_on(dir.path(), &sim, args);
        assert_eq!(code, 2, "{args:?}: {err}");
    }
}

#[test]
fn agent_states_follow_polls_from_the_last_answer_and_prints_only_changes() {
    let (dir, sim) = setup();
    let first = cx_json(dir.path(), &sim, &["agent", "states"]);
    let poll = first["lastPollTime"].as_str().unwrap().to_owned();
    let (status, body) = request(
        &sim.url,
        "POST",
        "/_sim/clock/advance",
        &[],
        r#"{"ms":1000}"#,
    );
    assert_eq!(status, 200, "{body}");
    let (code, _, err) = cx_on(
        dir.path(),
        &sim,
        &["agent", "state", "set", "3100003", "--unavailable", "501"],
    );
    assert_eq!(code, 0, "{err}");

    let out = follow(
        dir.path(),
        &sim,
        &["--since", &poll, "--polls", "3", "--output", "json"],
    );
    let polls: Vec<Value> = out.lines().map(json).collect();
    assert_eq!(polls.len(), 3, "{out}");
    let agents = |p: &Value| -> Vec<String> {
        p["agentStates"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s["agentId"].as_str().unwrap().to_owned())
            .collect()
    };
    assert_eq!(agents(&polls[0]), ["3100003"]);
    assert!(
        agents(&polls[1]).is_empty() && agents(&polls[2]).is_empty(),
        "{out}"
    );

    // Each poll asks from the previous answer's lastPollTime.
    let queries: Vec<String> = sent(&sim, "/agents/states")
        .into_iter()
        .filter_map(|(_, q, _)| q)
        .filter(|q| q.contains("updatedSince"))
        .collect();
    assert_eq!(queries.len(), 3, "{queries:?}");
    for (query, previous) in queries[1..].iter().zip(&polls) {
        let since = previous["lastPollTime"].as_str().unwrap();
        let encoded = since.replace(':', "%3A");
        assert!(
            query.contains(&encoded) || query.contains(since),
            "{query} after {since}"
        );
    }

    // CSV: one header, then the rows of every poll (here, all six agents).
    let out = follow(dir.path(), &sim, &["--polls", "1", "--output", "csv"]);
    assert_eq!(
        out.lines().next(),
        Some("agent,state,reason,since"),
        "{out}"
    );
    assert_eq!(out.lines().count(), 7, "a header and six agents: {out}");
}

#[test]
fn agent_list_prints_csv_and_other_agent_commands_refuse_it() {
    let (dir, sim) = setup();
    let (code, out, err) = cx_on(dir.path(), &sim, &["agent", "list", "--output", "csv"]);
    assert_eq!(code, 0, "{err}");
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines[0], "agent,first,last,team,active");
    assert_eq!(lines.len(), 7, "{out}");
    assert!(
        lines[6].starts_with("3100006,") && lines[6].ends_with(",no"),
        "{out}"
    );

    for args in [
        &[
            "agent",
            "state",
            "set",
            "3100001",
            "--available",
            "--output",
            "csv",
        ][..],
        &[
            "agent", "skills", "add", "3100001", "4100009", "--output", "csv",
        ],
    ] {
        let (code, _, err) = cx_on(dir.path(), &sim, args);
        assert_eq!(code, 2, "{args:?}: {err}");
        assert!(err.contains("--output csv"), "{err}");
    }
    assert!(sent(&sim, "/state").is_empty() && sent(&sim, "/agents/3100001/skills").is_empty());
}
