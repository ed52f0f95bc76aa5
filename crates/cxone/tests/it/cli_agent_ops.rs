//! `cx agent state history | codes | show | set-workmode | session ...`
//! and the binding choice (`--api`, `CX_API`, a profile's `api`) through
//! the `cx` binary against `cx sim serve` in another process, and issue
//! 16's acceptance: 50 concurrent `cx agent skills add` processes of
//! distinct skills on a real-binding tenant all land.

// Tests unwrap: a panic with the value is the failure report.

use std::process::Stdio;

use serde_json::Value;

use crate::cli_agent_real::{cx_json, cx_on, fails, logged_in, sent, setup, skills_of};
use crate::support::{InProcess, cx, finish, journal, json, run};

/// `(stateIndex, agentStateName, outStateDescription)` of a history.
fn states(doc: &Value) -> Vec<(i64, String, String)> {
    doc["agentStateHistory"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["stateIndex"].as_i64().unwrap(),
                r["agentStateName"].as_str().unwrap().to_owned(),
                r["outStateDescription"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

fn state(index: i64, name: &str, reason: &str) -> (i64, String, String) {
    (index, name.to_owned(), reason.to_owned())
}

#[test]
fn agent_state_history_shows_the_seeded_hour_and_each_new_change() {
    let (dir, sim) = setup();
    let d = dir.path();
    let doc = cx_json(d, &sim, &["agent", "state", "history", "3100001"]);
    assert_eq!(doc["agentId"], "3100001");
    assert_eq!(
        states(&doc),
        [
            state(1, "Available", ""),
            state(2, "Unavailable", "Lunch"),
            state(3, "Available", "")
        ]
    );
    let records = doc["agentStateHistory"].as_array().unwrap();
    assert_eq!(records[0]["duration"], 1800.0);
    let lunch = records[1]["startDate"].as_str().unwrap().to_owned();
    let now = records[2]["startDate"].as_str().unwrap().to_owned();

    cx_json(
        d,
        &sim,
        &["agent", "state", "set", "3100001", "--unavailable", "501"],
    );
    let doc = cx_json(d, &sim, &["agent", "state", "history", "3100001"]);
    assert_eq!(states(&doc).len(), 4);
    assert_eq!(states(&doc)[3], state(4, "Unavailable", "Break"));

    // Every agent's, in a window: the lunches began in [lunch, now).
    let window = ["--since", &lunch, "--until", &now];
    let doc = cx_json(
        d,
        &sim,
        &[&["agent", "state", "history"][..], &window].concat(),
    );
    assert_eq!(
        states(&doc),
        vec![state(2, "Unavailable", "Lunch"); 3],
        "three agents' lunches"
    );
    let query = sent(&sim, "/agents/state-history")
        .pop()
        .unwrap()
        .1
        .unwrap();
    assert!(query.contains("startDate="), "{query}");
    assert!(query.contains("endDate="), "{query}");

    let (code, out, err) = cx_on(d, &sim, &["agent", "state", "history", "--output", "csv"]);
    assert_eq!(code, 0, "{err}");
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(
        lines[0],
        "agent,index,state,reason,start,duration_s,session"
    );
    assert_eq!(lines.len(), 1 + 13, "{out}");
    let (code, out, err) = cx_on(d, &sim, &["agent", "state", "history", "3100002"]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("Lunch") && out.contains("Break"), "{out}");
    assert!(out.contains("3 state(s)"), "{out}");
    fails(
        d,
        &sim,
        &[
            "agent", "state", "history", "--since", &now, "--until", &lunch,
        ],
        &["before the start"],
    );
}

#[test]
fn agent_codes_lists_the_tenants_codes_or_a_teams() {
    let (dir, sim) = setup();
    let d = dir.path();
    // The `field` of each code `cx agent codes <args>` lists.
    let names = |args: &[&str], field: &str| -> (Value, Vec<String>) {
        let doc = cx_json(d, &sim, &[&["agent", "codes"][..], args].concat());
        let names = doc["unavailableCodes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c[field].as_str().unwrap().to_owned())
            .collect();
        (doc, names)
    };
    assert_eq!(
        names(&[], "name").1,
        ["Break", "Lunch", "Training", "Meeting", "After Call Work"]
    );
    let (doc, team) = names(&["--team", "2002"], "outStateName");
    assert_eq!(doc["teamId"], "2002");
    assert_eq!(team, ["Break", "Lunch", "After Call Work"]);
    let query = sent(&sim, "/teams/2002/unavailable-codes").pop().unwrap();
    assert_eq!(query.1.as_deref(), Some("activityOnly=true"));
    let (code, out, err) = cx_on(d, &sim, &["agent", "codes", "--team", "2003"]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("NAME") && out.contains("Lunch"), "{out}");
    assert!(!out.contains("Meeting"), "inactive: {out}");
    assert!(out.contains("2 code(s) of team 2003"), "{out}");
    fails(
        d,
        &sim,
        &["agent", "codes", "--team", "9999"],
        &["team 9999"],
    );
}

#[test]
fn agent_show_reads_the_real_agent_and_set_workmode_is_refused_before_any_write() {
    let (dir, sim) = setup();
    let d = dir.path();
    let doc = cx_json(d, &sim, &["agent", "show", "3100002"]);
    assert_eq!(doc["agent"]["agentId"], "3100002");
    assert_eq!(doc["agent"]["firstName"], "Grace");
    assert_eq!(sent(&sim, "/agents/3100002").len(), 1);
    let (code, out, err) = cx_on(d, &sim, &["agent", "show", "3100003"]);
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains("Alan Turing") && out.contains("Tier 2"),
        "{out}"
    );

    fails(
        d,
        &sim,
        &[
            "agent",
            "set-workmode",
            "3100001",
            "--workmode",
            "workMode-123",
            "--add-skill",
            "skill-s01:1:1",
        ],
        &[
            "`cx agent set-workmode` exists only on the seed contract",
            "CXone's real agent API (auto, from its access-key login)",
            "no work mode and no ETag/If-Match",
            "cx agent skills add|remove",
            "cx agent state set",
            "--api seed",
        ],
    );
    assert!(
        !journal(&sim.url).iter().any(|e| {
            let path = e["path"].as_str().unwrap();
            path.contains("/api/v2/agents") || (path.contains("/skills") && e["method"] != "GET")
        }),
        "nothing was written"
    );
}

#[test]
fn an_agent_session_starts_changes_state_streams_its_events_and_ends() {
    let (dir, sim) = setup();
    let d = dir.path();
    let session = |args: &[&str]| cx_json(d, &sim, &[&["agent", "session"][..], args].concat());
    let started = session(&["start", "--station-id", "4101", "--as-agent", "3100004"]);
    let id = started["sessionId"].as_str().unwrap().to_owned();
    let joined = session(&["join", "--as-agent", "3100004"]);
    assert_eq!(joined["sessionId"], id.as_str());

    // JSON lines, bounded: the first two events.
    let events = |extra: &[&str]| -> Vec<Value> {
        let args = [
            &["agent", "session", "events", &id, "--timeout", "0"][..],
            extra,
        ]
        .concat();
        let (code, out, err) = cx_on(d, &sim, &[&args[..], &["--output", "json"]].concat());
        assert_eq!(code, 0, "{err}");
        out.lines().map(json).collect()
    };
    let first = events(&["--max-events", "2"]);
    let kinds = |evs: &[Value]| -> Vec<String> {
        evs.iter()
            .map(|e| {
                format!(
                    "{} {}",
                    e["Type"].as_str().unwrap(),
                    e["CurrentState"].as_str().unwrap_or("")
                )
            })
            .collect()
    };
    assert_eq!(
        kinds(&first),
        ["AgentSessionStart ", "AgentState Unavailable"]
    );

    let set = session(&["state", &id, "--unavailable", "Training"]);
    assert_eq!(set["reason"], "Training");
    session(&["state", &id, "--available"]);
    let ended = session(&["end", &id, "--force-logoff"]);
    assert_eq!(ended["ended"], true);
    let query = sent(&sim, &format!("/agent-sessions/{id}")).pop().unwrap();
    assert_eq!(query.0, "DELETE");
    assert!(query.1.unwrap_or_default().contains("forceLogoff=true"));

    // The rest, until the session is gone (409): exit 0.
    let rest = events(&[]);
    assert_eq!(
        kinds(&rest),
        [
            "AgentState Unavailable",
            "AgentState Available",
            "AgentState LoggedOut",
            "AgentSessionEnd "
        ]
    );
    assert_eq!(rest[0]["CurrentOutReason"], "Training");
    let (code, out, err) = cx_on(d, &sim, &["agent", "session", "events", &id]);
    assert_eq!((code, out.as_str()), (0, ""), "gone at once: {err}");

    // The session's changes are in the agent's history.
    let history = cx_json(d, &sim, &["agent", "state", "history", "3100004"]);
    let in_session: Vec<&Value> = history["agentStateHistory"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["agentSessionId"] == id.as_str())
        .collect();
    assert_eq!(in_session.len(), 4, "{history}");
    fails(
        d,
        &sim,
        &["agent", "session", "state", &id, "--available"],
        &["Invalid agent session Id."],
    );
}

#[test]
fn the_binding_is_chosen_by_flag_environment_or_profile_and_refusals_say_how_to_switch() {
    let (dir, sim) = setup();
    let d = dir.path();
    // An access-key tenant told it speaks the seed contract.
    let (code, _, err) = run(logged_in(d, &sim.url).args(["--api", "seed", "agent", "list"]));
    assert_eq!(code, 1, "{err}");
    for text in [
        "`cx agent list` exists only on CXone's real agent API",
        "this tenant speaks the seed contract (--api / CX_API / the profile's api = seed)",
        "--api real",
    ] {
        assert!(err.contains(text), "{text:?} in {err}");
    }

    // A client-credentials tenant told (CX_API) it speaks the real API.
    let plain = crate::support::serve(d, "plain-client", "plain-secret");
    let tenant = [
        "--api-url",
        plain.url.as_str(),
        "--client-id",
        "plain-client",
        "--client-secret",
        "plain-secret",
    ];
    let (code, out, err) = run(cx(d)
        .env("CX_API", "real")
        .args(tenant)
        .args(["agent", "list", "--output", "json"]));
    assert_eq!(code, 0, "{err}");
    assert_eq!(json(&out)["agents"].as_array().unwrap().len(), 6);
    let (code, _, err) = run(cx(d).args(tenant).args(["agent", "codes"]));
    assert_eq!(code, 1);
    assert!(
        err.contains("(auto, from its client-credentials login)"),
        "{err}"
    );

    // ... and through its profile.
    let config = d.join("config.toml");
    std::fs::write(
        &config,
        format!(
            "default_profile = \"p\"\n[profiles.p]\nkind = \"client-credentials\"\n\
             api_url = \"{}\"\nclient_id = \"plain-client\"\n\
             client_secret = {{ env = \"CX_TEST_PLAIN_SECRET\" }}\napi = \"real\"\n",
            plain.url
        ),
    )
    .unwrap();
    let (code, out, err) = run(cx(d)
        .env("CX_TEST_PLAIN_SECRET", "plain-secret")
        .arg("--config")
        .arg(&config)
        .args(["agent", "skills", "3100001", "--output", "json"]));
    assert_eq!(code, 0, "{err}");
    assert_eq!(
        json(&out)["agentSkillAssignments"]
            .as_array()
            .unwrap()
            .len(),
        3
    );
    let (code, out, err) = run(cx(d)
        .arg("--config")
        .arg(&config)
        .args(["profile", "show", "--output", "json"]));
    assert_eq!(code, 0, "{err}");
    assert_eq!(json(&out)["api"], "real");
    let (code, out, err) = run(cx(d)
        .env("CX_TEST_PLAIN_SECRET", "plain-secret")
        .arg("--config")
        .arg(&config)
        .args(["login", "--output", "json"]));
    assert_eq!(code, 0, "{err}");
    let login = json(&out);
    assert_eq!(
        (&login["agentApi"], &login["api"]),
        (&"real".into(), &"real".into())
    );
    let (code, out, err) = run(logged_in(d, &sim.url).args(["login", "--output", "json"]));
    assert_eq!(code, 0, "{err}");
    let login = json(&out);
    assert_eq!(
        (&login["agentApi"], &login["api"]),
        (&"real".into(), &"auto".into())
    );
}

/// Issue 16's acceptance: 50 `cx agent skills add` processes, each adding
/// its own skill to one agent at once on a real-binding tenant (access-key
/// login), all exit 0 and all 50 assignments land: each is a per-skill
/// `POST /agents/{agentId}/skills`, so no writer overwrites another.
#[test]
fn fifty_concurrent_skill_adds_of_distinct_skills_all_land() {
    const WRITERS: u64 = 50;
    const AGENT: &str = "3100005";
    let (dir, sim) = setup();
    let d = dir.path();
    let before = skills_of(d, &sim, AGENT);
    assert_eq!(before.len(), 3);
    let skills: Vec<String> = (11..11 + WRITERS)
        .map(|n| (4_100_000 + n).to_string())
        .collect();
    let children: Vec<_> = skills
        .iter()
        .map(|skill| {
            logged_in(d, &sim.url)
                .args(["agent", "skills", "add", AGENT, skill])
                .stdout(Stdio::null())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    for (i, (code, err)) in finish(children).iter().enumerate() {
        assert_eq!(*code, 0, "writer {i}: {err}");
    }
    let after = skills_of(d, &sim, AGENT);
    let ids: Vec<&str> = after.iter().map(|(id, _)| id.as_str()).collect();
    for skill in &skills {
        assert!(ids.contains(&skill.as_str()), "{skill} assigned: {ids:?}");
    }
    assert_eq!(after.len(), before.len() + skills.len());
    let posts: Vec<u64> = sent(&sim, &format!("/agents/{AGENT}/skills"))
        .into_iter()
        .filter(|(m, _, _)| m == "POST")
        .map(|(_, _, status)| status)
        .collect();
    assert_eq!(posts, vec![200; skills.len()], "one write per process");
    println!(
        "{WRITERS} concurrent processes: {} skills assigned to agent {AGENT}",
        after.len()
    );
}

/// `cx agent session events` follows the new session id CXone hands out
/// (the simulator in-process, to rotate the id): the poll after the
/// answer that carried it asks for the new id, and the stream ends with
/// exit 0 on its 409.
#[test]
fn session_events_follow_a_new_session_id_until_the_session_ends() {
    use crate::cli_agent_real::{KEY_ID, KEY_SECRET};
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let key = cx_sim::AccessKey::new(KEY_ID, KEY_SECRET, cx_sim::DEFAULT_TENANT);
    let InProcess { sim, url, runtime } = InProcess::start(cx_sim::Sim::builder().access_key(key));
    let cx_json = |args: &[&str]| -> Value {
        let (code, out, err) = run(logged_in(d, &url).args(args).args(["--output", "json"]));
        assert_eq!(code, 0, "{args:?}: {err}");
        json(&out)
    };
    let old = cx_json(&["agent", "session", "start", "--station-phone", "5550100"])["sessionId"]
        .as_str()
        .unwrap()
        .to_owned();
    // `cx agent session events <old> --timeout 0 <extra>`, which must
    // succeed: its stdout.
    let events = |extra: &[&str]| -> String {
        let base = ["agent", "session", "events", old.as_str(), "--timeout", "0"];
        let (code, out, err) = run(logged_in(d, &url).args(base).args(extra));
        assert_eq!(code, 0, "{err}");
        out
    };
    events(&["--max-events", "2"]);
    let new = sim.rotate_agent_session(&old).unwrap();
    assert!(sim.push_agent_session_event(&new, serde_json::json!({"Type": "CustomEvent"})));
    cx_json(&["agent", "session", "end", &new]);

    sim.clear_journal();
    let types: Vec<String> = events(&["--output", "json"])
        .lines()
        .map(|l| json(l)["Type"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(types, ["CustomEvent", "AgentState", "AgentSessionEnd"]);
    let polls: Vec<(String, u16)> = sim
        .journal()
        .into_iter()
        .filter(|e| e.path.ends_with("/get-next-event"))
        .map(|e| (e.path, e.status))
        .collect();
    assert_eq!(polls.len(), 2, "{polls:?}");
    assert!(polls[0].0.contains(&old) && polls[0].1 == 200, "{polls:?}");
    assert!(polls[1].0.contains(&new) && polls[1].1 == 409, "{polls:?}");
    runtime.block_on(sim.shutdown());
}
