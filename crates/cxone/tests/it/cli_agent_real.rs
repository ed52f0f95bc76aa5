//! `cx agent list` and `cx agent states` on CXone's real agent API, logged
//! in with an access key against `cx sim serve` in another process.

// Tests unwrap: a panic with the value is the failure report.

use std::path::Path;
use std::process::Command;

use crate::support::{cx, journal, json, run};

const KEY_ID: &str = "REALAGENTS01";
const KEY_SECRET: &str = "real-agents-secret";

/// `cx` logged in with the test's access key on `url`.
fn logged_in(dir: &Path, url: &str) -> Command {
    let mut cmd = cx(dir);
    cmd.args([
        "--auth-url",
        url,
        "--client-id",
        cx_sim::DEFAULT_CLIENT_ID,
        "--client-secret",
        cx_sim::DEFAULT_CLIENT_SECRET,
        "--access-key-id",
        KEY_ID,
        "--access-key-secret",
        KEY_SECRET,
    ]);
    cmd
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
    let (code, _, err) = run(cx(dir.path()).args([
        "--api-url",
        &sim.url,
        "--client-id",
        "plain-client",
        "--client-secret",
        "plain-secret",
        "agent",
        "list",
    ]));
    assert_ne!(code, 0);
    assert!(err.contains("log in with an access key"), "{err}");
    assert!(
        !journal(&sim.url)
            .iter()
            .any(|e| e["path"].as_str().unwrap_or("").contains("inContactAPI")),
        "nothing was sent to the real API"
    );
}
