//! `cx webhook serve` (seed 001 step 4) as a user runs it: signed deliveries
//! only, each instance audited once; and the whole loop — `cx workflow
//! trigger` against a simulator, whose completion callback reaches the
//! receiver — ending in exactly one WORKFLOW_COMPLETED record.

// Tests unwrap: a panic with the value is the failure report.

use std::path::Path;
use std::time::Duration;

use crate::support::*;
use cx_audit::signing::{SIGNATURE_HEADER, TIMESTAMP_HEADER, sign};
use cx_audit::{AuditRecord, EventType};
use serde_json::{Value, json};

const SECRET: &str = "whsec-cli-test";
const SECRET_ENV: &str = "CX_TEST_WEBHOOK_SECRET";

/// `cx webhook serve` auditing into `dir/audit`.
fn webhook(dir: &Path) -> Served {
    spawn_server(cx(dir).env(SECRET_ENV, SECRET).args([
        "webhook",
        "serve",
        "--port",
        "0",
        "--secret-env",
        SECRET_ENV,
    ]))
}

fn completed_records(audit: &Path) -> Vec<AuditRecord> {
    if !audit.is_dir() {
        return Vec::new();
    }
    cx_testkit::audit_records(audit)
        .into_iter()
        .filter(|r| r.event_type == EventType::WORKFLOW_COMPLETED)
        .collect()
}

/// POST `body` to the receiver signed at `ts` with `secret`.
fn deliver(url: &str, body: &str, ts: i64, secret: &str) -> (u16, Value) {
    let path = format!(
        "/{}",
        url.trim_start_matches("http://").split_once('/').unwrap().1
    );
    let ts_text = ts.to_string();
    let sig = sign(secret.as_bytes(), ts, body.as_bytes());
    let (status, answer) = request(
        url,
        "POST",
        &path,
        &[(TIMESTAMP_HEADER, &ts_text), (SIGNATURE_HEADER, &sig)],
        body,
    );
    (status, serde_json::from_str(&answer).unwrap_or(Value::Null))
}

#[test]
fn only_signed_fresh_deliveries_are_audited_and_each_instance_once() {
    let dir = tempfile::tempdir().unwrap();
    let served = webhook(dir.path());
    assert!(
        served.url.ends_with("/webhooks/instance-completed"),
        "{}",
        served.url
    );
    let audit = dir.path().join("audit");
    let body = json!({
        "instanceId": "inst_42",
        "workflowId": WF,
        "status": "COMPLETED",
        "context": {"customerId": "CUST-99887", "routingDecision": "sales"}
    })
    .to_string();
    let now = chrono::Utc::now().timestamp();
    let table: [(&str, &str, i64, &str, u16, &str, usize); 7] = [
        (
            "bad signature",
            &body,
            now,
            "wrong-secret",
            401,
            "invalid_signature",
            0,
        ),
        (
            "stale timestamp",
            &body,
            now - 301,
            SECRET,
            401,
            "stale_timestamp",
            0,
        ),
        (
            "not a completion",
            "{\"status\":1}",
            now,
            SECRET,
            400,
            "invalid_payload",
            0,
        ),
        ("valid, 1st", &body, now, SECRET, 200, "", 1),
        ("valid, 2nd (replay)", &body, now, SECRET, 200, "", 1),
        (
            "valid, 3rd (re-signed retry)",
            &body,
            now + 1,
            SECRET,
            200,
            "",
            1,
        ),
        (
            "stale replay",
            &body,
            now - 400,
            SECRET,
            401,
            "stale_timestamp",
            1,
        ),
    ];
    for (name, body, ts, secret, status, error, records) in table {
        let (got, answer) = deliver(&served.url, body, ts, secret);
        assert_eq!(got, status, "{name}: {answer}");
        if !error.is_empty() {
            assert_eq!(answer["error"], error, "{name}");
        }
        assert_eq!(completed_records(&audit).len(), records, "{name}");
    }
    let record = &completed_records(&audit)[0];
    assert_eq!(record.payload()["instanceId"], "inst_42");
    assert_eq!(record.payload()["erpSyncStatus"], "pending");
    assert_eq!(
        record.payload()["erpSync"],
        json!({
            "externalId": "inst_42",
            "workflowId": WF,
            "finalStatus": "COMPLETED",
            "customerData": "CUST-99887",
            "routingResult": "sales"
        })
    );
    drop(served);

    // A restarted receiver still knows the instance was recorded.
    let served = webhook(dir.path());
    let (status, answer) = deliver(&served.url, &body, chrono::Utc::now().timestamp(), SECRET);
    assert_eq!(
        (status, answer["status"].clone()),
        (200, json!("duplicate"))
    );
    assert_eq!(completed_records(&audit).len(), 1);
}

#[test]
fn a_missing_secret_variable_is_refused_at_start() {
    let dir = tempfile::tempdir().unwrap();
    let (code, _, err) = run(cx(dir.path()).env_remove("CX_UNSET_SECRET_VAR").args([
        "webhook",
        "serve",
        "--secret-env",
        "CX_UNSET_SECRET_VAR",
    ]));
    assert_eq!(code, 1);
    assert!(err.contains("CX_UNSET_SECRET_VAR"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_triggered_instance_ends_as_exactly_one_completed_record() {
    let sim = cx_sim::Sim::start().await.unwrap();
    let sim_dir = tempfile::tempdir().unwrap();
    let hook_dir = tempfile::tempdir().unwrap();
    let hook = webhook(hook_dir.path());
    sim.register_callback(&hook.url, SECRET, cx_sim::DEFAULT_TENANT)
        .unwrap();

    // `cx` blocks on its own process: off the runtime serving the simulator.
    let mut trigger = cx(sim_dir.path());
    trigger
        .env("CXONE_API_URL", sim.base_url())
        .env("CXONE_CLIENT_ID", cx_sim::DEFAULT_CLIENT_ID)
        .env("CXONE_CLIENT_SECRET", cx_sim::DEFAULT_CLIENT_SECRET)
        .args([
            "workflow",
            "trigger",
            WF,
            "--var",
            "customerId:string=CUST-7",
        ]);
    let (code, out, err) = tokio::task::spawn_blocking(move || run(&mut trigger))
        .await
        .unwrap();
    assert_eq!(code, 0, "{err}");
    let instance = out
        .split_whitespace()
        .find(|w| w.starts_with("inst_"))
        .unwrap()
        .trim_end_matches(|c: char| !c.is_alphanumeric())
        .to_owned();

    // Wait until the simulator saw the delivery acknowledged: it retries
    // only an unacknowledged one, so no duplicate can follow, and the
    // receiver wrote the record before acknowledging.
    let log = sim
        .wait_for_deliveries(Duration::from_secs(20), |log| {
            log.iter().any(|a| a.delivered)
        })
        .await
        .unwrap();
    let records = completed_records(&hook_dir.path().join("audit"));
    assert_eq!(records.len(), 1, "{records:#?}");
    assert_eq!(records[0].payload()["instanceId"], instance.as_str());
    assert_eq!(records[0].payload()["status"], "COMPLETED");
    assert_eq!(records[0].payload()["erpSync"]["customerData"], "CUST-7");
    assert_eq!(log.iter().filter(|a| a.delivered).count(), 1, "{log:?}");
}
