//! A writer process killed with SIGKILL while 16 tasks append loses no
//! record it reported as durable, and the next start repairs the tail and
//! continues the chain and the signed checkpoints.

use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

use cx_audit::{
    AuditRecord, AuditSink, JsonlSink, SigningKey, SinkOptions, VerifyOptions, read_jsonl,
    verify_dir_with,
};
use serde_json::json;

type TestResult = Result<(), Box<dyn std::error::Error>>;

/// Start the writer for `run`, let it report `acked` durable records, kill
/// it; return the indices it reported.
fn write_then_kill(
    dir: &std::path::Path,
    key: &std::path::Path,
    run: u64,
    acked: usize,
) -> Result<BTreeSet<u64>, Box<dyn std::error::Error>> {
    let mut child = Command::new(env!("CARGO_BIN_EXE_cx-audit-crash-writer"))
        .env("CX_AUDIT_SIGNING_KEY_FILE", key)
        .arg(dir)
        .arg(run.to_string())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()?;
    let stdout = child.stdout.take().ok_or("no stdout")?;
    let mut reported = BTreeSet::new();
    let mut lines = BufReader::new(stdout).lines();
    while reported.len() < acked {
        let line = lines.next().ok_or("writer exited early")??;
        reported.insert(line.parse()?);
    }
    child.kill()?; // SIGKILL on Unix: no destructor, no flush
    child.wait()?;
    // Indices printed between our last read and the kill were durable too.
    for line in lines {
        reported.insert(line?.parse()?);
    }
    Ok(reported)
}

#[tokio::test]
async fn sigkill_loses_no_durable_record_and_restart_continues_the_chain() -> TestResult {
    let tmp = tempfile::tempdir()?;
    let keys = tempfile::tempdir()?;
    let key_file = keys.path().join("key");
    let key = SigningKey::generate()?;
    let public = key.verifying_key();
    key.write_pair(&key_file)?;
    let mut reported = BTreeMap::new();
    // Several crashes in a row under load (past a checkpoint every 50), each
    // followed by a restart that repairs.
    for (run, acked) in [(0u64, 140usize), (1, 75), (2, 260)] {
        reported.insert(run, write_then_kill(tmp.path(), &key_file, run, acked)?);
    }
    // The last crash is repaired by the next open; the chain and the
    // checkpoints continue, and closing covers everything with a checkpoint.
    let sink = JsonlSink::open_with_options(
        tmp.path(),
        SinkOptions::default().with_signing_key(SigningKey::from_file(&key_file)?),
    )
    .await?;
    let before = sink.last_hash().await?;
    sink.write(&AuditRecord::new("AFTER_CRASH", json!({})))
        .await?;
    sink.flush().await?;
    drop(sink);

    let mut options = VerifyOptions::default();
    options.public_key = Some(public);
    let report = verify_dir_with(tmp.path(), &options)?;
    assert!(report.is_ok(), "{report:#?}");
    // About one per 50 records (475 acknowledged), across restarts.
    assert!(report.checkpoints >= 9, "{report:#?}");
    let records: Vec<AuditRecord> = report
        .files
        .iter()
        .map(|r| read_jsonl(&r.path))
        .collect::<Result<Vec<_>, _>>()?
        .concat();
    let after = records
        .iter()
        .position(|r| r.event_type == "AFTER_CRASH")
        .ok_or("no AFTER_CRASH")?;
    assert_eq!(records[after].prev_hash.as_deref(), Some(before.as_str()));

    for (run, acked) in &reported {
        let on_disk: BTreeSet<u64> = records
            .iter()
            .filter(|r| r.payload()["run"] == json!(run))
            .filter_map(|r| r.payload()["i"].as_u64())
            .collect();
        let count = records
            .iter()
            .filter(|r| r.payload()["run"] == json!(run))
            .count();
        assert_eq!(count, on_disk.len(), "run {run}: a record twice");
        let missing: Vec<_> = acked.difference(&on_disk).collect();
        assert!(
            missing.is_empty(),
            "run {run} lost durable records {missing:?}"
        );
    }
    Ok(())
}
