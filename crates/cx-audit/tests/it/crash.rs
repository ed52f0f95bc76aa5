//! A writer process killed with SIGKILL while appending loses no record it
//! reported as durable, and the next start repairs the tail and continues the
//! chain.

use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

use cx_audit::{AuditRecord, AuditSink, JsonlSink, read_jsonl, verify_dir};
use serde_json::json;

type TestResult = Result<(), Box<dyn std::error::Error>>;

/// Start the writer for `run`, let it report `acked` durable records, kill
/// it; return the indices it reported.
fn write_then_kill(
    dir: &std::path::Path,
    run: u64,
    acked: usize,
) -> Result<BTreeSet<u64>, Box<dyn std::error::Error>> {
    let mut child = Command::new(env!("CARGO_BIN_EXE_cx-audit-crash-writer"))
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
    let mut reported = BTreeMap::new();
    // Several crashes in a row, each followed by a restart that repairs.
    for (run, acked) in [(0u64, 40usize), (1, 25), (2, 60)] {
        reported.insert(run, write_then_kill(tmp.path(), run, acked)?);
    }
    // The last crash is repaired by the next open; the chain continues.
    let sink = JsonlSink::open(tmp.path()).await?;
    let before = sink.last_hash().await?;
    sink.write(&AuditRecord::new("AFTER_CRASH", json!({})))
        .await?;
    drop(sink);

    let reports = verify_dir(tmp.path())?;
    assert!(reports.iter().all(|r| r.is_ok()), "{reports:#?}");
    let records: Vec<AuditRecord> = reports
        .iter()
        .map(|r| read_jsonl(&r.path))
        .collect::<Result<Vec<_>, _>>()?
        .concat();
    let last = records.last().ok_or("empty log")?;
    assert_eq!(last.event_type, "AFTER_CRASH");
    assert_eq!(last.prev_hash.as_deref(), Some(before.as_str()));

    for (run, acked) in &reported {
        let on_disk: Vec<u64> = records
            .iter()
            .filter(|r| r.payload()["run"] == json!(run))
            .filter_map(|r| r.payload()["i"].as_u64())
            .collect();
        // Every index the writer reported durable is there, in order, with
        // nothing skipped (at most records written after the last report).
        let expected: Vec<u64> = (0..on_disk.len() as u64).collect();
        assert_eq!(on_disk, expected, "run {run}");
        let missing: Vec<_> = acked.iter().filter(|i| !on_disk.contains(i)).collect();
        assert!(
            missing.is_empty(),
            "run {run} lost durable records {missing:?}"
        );
    }
    Ok(())
}
