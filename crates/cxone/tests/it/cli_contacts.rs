//! `cx contacts completed | states | analyze` on CXone's real contact API,
//! logged in with an access key against `cx sim serve` in another process.

// Tests unwrap: a panic with the value is the failure report.

use std::collections::BTreeSet;

use serde_json::Value;

use crate::support::{Served, journal, json, logged_in_with_key, request, run};

const KEY_ID: &str = "CONTACTS17";
const KEY_SECRET: &str = "contacts-secret";

/// `cx sim serve` with an access key, and a temporary directory for `cx`.
struct Tenant {
    dir: tempfile::TempDir,
    sim: Served,
}

fn setup() -> Tenant {
    let dir = tempfile::tempdir().unwrap();
    let sim = crate::support::serve_access_key(dir.path(), KEY_ID, KEY_SECRET);
    Tenant { dir, sim }
}

impl Tenant {
    /// `cx contacts <line>` (split at spaces) logged in on the sim: `(exit
    /// code, stdout, stderr)`.
    fn contacts(&self, line: &str) -> (i32, String, String) {
        run(
            logged_in_with_key(self.dir.path(), &self.sim.url, KEY_ID, KEY_SECRET)
                .arg("contacts")
                .args(line.split_whitespace()),
        )
    }

    /// [`Tenant::contacts`], which must succeed: its stdout.
    fn out(&self, line: &str) -> String {
        let (code, out, err) = self.contacts(line);
        assert_eq!(code, 0, "{line}: {err}");
        out
    }

    /// [`Tenant::out`] with `--output json`, parsed.
    fn json(&self, line: &str) -> Value {
        json(&self.out(&format!("{line} --output json")))
    }
}

fn ids(doc: &Value) -> BTreeSet<String> {
    doc["completedContacts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["contactId"].as_str().unwrap().to_owned())
        .collect()
}

#[test]
fn completed_lists_a_range_with_filters_as_json_csv_and_table() {
    let t = setup();
    let doc = t.json("completed --since 3h --until 2h --skill 4100001");
    let list = doc["completedContacts"].as_array().unwrap();
    assert!(!list.is_empty());
    assert!(list.iter().all(|c| c["skillId"] == "4100001"));
    assert!(doc["lastPollTime"].as_str().unwrap().ends_with('Z'));

    let out = t.out("completed --since 3h --until 2h --output csv");
    assert!(
        out.starts_with("contact,start,skill,agent,team,queue_s,handle_s,abandoned\n"),
        "{out}"
    );
    let out = t.out("completed --since 1h");
    assert!(out.contains("completed contact(s); lastPollTime"), "{out}");
}

#[test]
fn incremental_pulls_read_only_what_changed_since_the_last_one() {
    let t = setup();
    let first = t.json("completed --since 2h --incremental");
    assert!(first["updatedSince"].is_null());
    let poll = first["lastPollTime"].as_str().unwrap().to_owned();
    let state =
        std::fs::read_to_string(t.dir.path().join("home/.cache/cx/contacts-poll.json")).unwrap();
    assert!(state.contains(&poll), "{state}");

    // Half an hour of virtual time: about 90 contacts end.
    let (status, body) = request(
        &t.sim.url,
        "POST",
        "/_sim/clock/advance",
        &[],
        r#"{"ms":1800000}"#,
    );
    assert_eq!(status, 200, "{body}");
    let second = t.json("completed --since 2h --incremental");
    assert_eq!(second["updatedSince"].as_str().unwrap(), poll);
    let changed = ids(&second);
    assert!((60..=140).contains(&changed.len()), "{}", changed.len());
    assert!(changed.is_disjoint(&ids(&first)));
    let sent: Vec<String> = journal(&t.sim.url)
        .into_iter()
        .filter(|e| e["path"].as_str().unwrap().ends_with("/contacts/completed"))
        .map(|e| e["query"].as_str().unwrap_or_default().to_owned())
        .collect();
    let last = sent.last().unwrap();
    assert!(
        last.contains("updatedSince=") && !last.contains("startDate="),
        "{last}"
    );
}

#[test]
fn states_and_analyze_show_state_histories_and_the_grouped_table() {
    let t = setup();
    let doc = t.json("completed --since 3h --until 2h");
    let id = doc["completedContacts"][0]["contactId"]
        .as_str()
        .unwrap()
        .to_owned();
    let states = t.json(&format!("states {id}"));
    let list = states["contactStateHistory"].as_array().unwrap();
    assert_eq!(list[0]["contactStateName"], "PreQueue");
    let out = t.out(&format!("states {id}"));
    assert!(out.contains("EndContact"), "{out}");
    let (code, _, err) = t.contacts("states 42");
    assert_ne!(code, 0);
    assert!(
        err.contains("InvalidContactId") || err.contains("not found"),
        "{err}"
    );

    let doc = t.json("analyze --since 6h --group-by agent --state-sample 10");
    let table = &doc["table"];
    let sum: u64 = table["groups"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g["contacts"].as_u64().unwrap())
        .sum();
    assert_eq!(sum, table["overall"]["contacts"].as_u64().unwrap());
    assert!(
        table["groups"]
            .as_array()
            .unwrap()
            .iter()
            .any(|g| g["key"] == "(none)"),
        "abandons have no agent"
    );
    assert_eq!(doc["states"]["interactions"], 10);
    assert_eq!(table["top_queue"].as_array().unwrap().len(), 10);

    let out = t.out("analyze --since 6h --group-by hour --state-sample 5");
    assert!(
        out.contains("longest in queue:") && out.contains("time per contact state"),
        "{out}"
    );
}
