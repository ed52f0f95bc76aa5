//! The auditor's question: was anything edited, removed or reordered? Each
//! kind of tampering, done to a real three-day log, is reported with the
//! right file, line and category, and an untouched log verifies.

use std::path::{Path, PathBuf};

use chrono::{TimeZone, Utc};
use cx_audit::{AuditRecord, AuditSink, JsonlSink, verify_dir};
use serde_json::json;

type TestResult = Result<(), Box<dyn std::error::Error>>;

const DAYS: [&str; 3] = [
    "audit-20250301.jsonl",
    "audit-20250302.jsonl",
    "audit-20250303.jsonl",
];

/// Four records on each of three days.
async fn three_day_log(dir: &Path) -> TestResult {
    let sink = JsonlSink::open(dir).await?;
    for day in 1..=3 {
        for i in 0..4 {
            let at = Utc
                .with_ymd_and_hms(2025, 3, day, 9, i, 0)
                .single()
                .ok_or("bad time")?;
            let payload = json!({"instanceId": format!("inst_{day}_{i}"), "status": "COMPLETED"});
            sink.write(&AuditRecord::at(at, "WORKFLOW_COMPLETED", payload))
                .await?;
        }
    }
    Ok(())
}

fn edit_lines(path: &Path, f: impl FnOnce(&mut Vec<String>)) -> std::io::Result<()> {
    let text = std::fs::read_to_string(path)?;
    let mut lines: Vec<String> = text.lines().map(str::to_owned).collect();
    f(&mut lines);
    std::fs::write(path, lines.join("\n") + "\n")
}

type Tamper = fn(&Path) -> std::io::Result<()>;

#[tokio::test]
async fn each_kind_of_tampering_is_found_with_its_file_and_line() -> TestResult {
    let table: [(&str, Tamper, &str, usize, &str); 6] = [
        (
            "one edited payload byte",
            |d| {
                let path = d.join(DAYS[1]);
                let mut bytes = std::fs::read(&path)?;
                let at = bytes
                    .windows(8)
                    .position(|w| w == b"inst_2_2")
                    .ok_or_else(|| std::io::Error::other("needle"))?;
                bytes[at + 7] = b'9';
                std::fs::write(path, bytes)
            },
            DAYS[1],
            3,
            "edited",
        ),
        (
            "one edited timestamp byte",
            |d| {
                let path = d.join(DAYS[0]);
                let text = std::fs::read_to_string(&path)?;
                std::fs::write(path, text.replacen("09:01:00.000Z", "09:01:01.000Z", 1))
            },
            DAYS[0],
            2,
            "edited",
        ),
        (
            "one deleted line",
            |d| edit_lines(&d.join(DAYS[2]), |l| drop(l.remove(1))),
            DAYS[2],
            2,
            "removed",
        ),
        (
            "two swapped lines",
            |d| edit_lines(&d.join(DAYS[1]), |l| l.swap(1, 2)),
            DAYS[1],
            2,
            "reordered",
        ),
        (
            "a truncated last line",
            |d| {
                let path = d.join(DAYS[2]);
                let len = std::fs::metadata(&path)?.len();
                std::fs::OpenOptions::new()
                    .write(true)
                    .open(path)?
                    .set_len(len - 40)
            },
            DAYS[2],
            4,
            "truncated",
        ),
        (
            "a removed day file",
            |d| std::fs::remove_file(d.join(DAYS[1])),
            DAYS[2],
            1,
            "chain break across days",
        ),
    ];
    for (name, tamper, file, line, category) in table {
        let tmp = tempfile::tempdir()?;
        three_day_log(tmp.path()).await?;
        assert!(
            verify_dir(tmp.path())?.iter().all(|r| r.is_ok()),
            "{name}: intact before"
        );
        tamper(tmp.path())?;

        let reports = verify_dir(tmp.path())?;
        let bad: Vec<(PathBuf, usize, &str)> = reports
            .iter()
            .filter_map(|r| {
                r.first_problem
                    .as_ref()
                    .map(|p| (r.path.clone(), p.line, p.kind.category()))
            })
            .collect();
        assert_eq!(
            bad,
            [(tmp.path().join(file), line, category)],
            "{name}: {reports:#?}"
        );
    }
    Ok(())
}

#[tokio::test]
async fn a_removed_first_day_is_a_missing_start() -> TestResult {
    let tmp = tempfile::tempdir()?;
    three_day_log(tmp.path()).await?;
    std::fs::remove_file(tmp.path().join(DAYS[0]))?;
    let reports = verify_dir(tmp.path())?;
    let problem = reports[0].first_problem.as_ref().ok_or("not detected")?;
    assert_eq!(
        (problem.line, problem.kind.category()),
        (1, "missing start")
    );
    assert!(reports[1].is_ok());
    // On its own (no directory context) the file is internally consistent.
    assert!(cx_audit::verify_file(tmp.path().join(DAYS[1]))?.is_ok());
    Ok(())
}
