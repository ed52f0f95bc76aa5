//! The JSONL file sink, reading back and verification, on a temp directory.

use std::path::Path;
use std::sync::Arc;

use chrono::{DateTime, TimeZone, Utc};
use cx_audit::{
    AuditRecord, AuditSink, ErrorKind, EventType, JsonlSink, MAX_PAYLOAD_DEPTH, ProblemKind,
    read_jsonl, verify_dir, verify_file,
};
use serde_json::{Value, json};

type TestResult = Result<(), Box<dyn std::error::Error>>;

fn utc(y: i32, mo: u32, d: u32, h: u32, mi: u32, s: u32) -> Result<DateTime<Utc>, String> {
    Utc.with_ymd_and_hms(y, mo, d, h, mi, s)
        .single()
        .ok_or_else(|| format!("bad time {y}-{mo}-{d} {h}:{mi}:{s}"))
}

fn lines(path: &Path) -> Result<Vec<String>, std::io::Error> {
    Ok(std::fs::read_to_string(path)?
        .lines()
        .map(str::to_owned)
        .collect())
}

#[tokio::test]
async fn one_line_per_record_in_the_file_of_its_utc_day() -> TestResult {
    let tmp = tempfile::tempdir()?;
    let dir = tmp.path().join("nested").join("audit");
    let sink = JsonlSink::open(&dir).await?;
    let records = [
        AuditRecord::at(
            utc(2024, 5, 1, 23, 59, 59)?,
            EventType::TRIGGERED,
            json!({"n": 1}),
        ),
        AuditRecord::at(
            utc(2024, 5, 2, 0, 0, 0)?,
            EventType::EXECUTION_COMPLETED,
            json!({"n": 2}),
        ),
        AuditRecord::at(
            utc(2024, 5, 1, 12, 0, 0)?,
            EventType::TRIGGER_FAILED,
            json!({"n": 3}),
        ),
        AuditRecord::at(
            utc(2024, 5, 2, 8, 30, 0)?,
            EventType::EXECUTION_FAILED,
            json!({"n": 4}),
        ),
    ];
    for record in &records {
        sink.write(record).await?;
    }
    sink.flush().await?;

    let day1 = dir.join("audit-20240501.jsonl");
    let day2 = dir.join("audit-20240502.jsonl");
    let mut names: Vec<_> = std::fs::read_dir(&dir)?
        .map(|e| e.map(|e| e.file_name()))
        .collect::<Result<_, _>>()?;
    names.sort();
    assert_eq!(names, ["audit-20240501.jsonl", "audit-20240502.jsonl"]);
    assert_eq!(sink.path_for(records[0].timestamp.date_naive()), day1);

    assert_eq!(read_jsonl(&day1)?, [records[0].clone(), records[2].clone()]);
    assert_eq!(read_jsonl(&day2)?, [records[1].clone(), records[3].clone()]);
    // Exactly one JSON object per line, in seed 001's member order.
    let first = lines(&day1)?;
    assert_eq!(first.len(), 2);
    assert!(
        first[0].starts_with(r#"{"timestamp":"2024-05-01T23:59:59.000Z","event_type":"TRIGGERED","payload":{"n":1},"compliance_hash":""#),
        "{}",
        first[0]
    );

    for report in verify_dir(&dir)? {
        assert!(report.is_ok(), "{report:?}");
        assert_eq!((report.lines, report.records, report.bad_lines), (2, 2, 0));
    }
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fifty_concurrent_writers_leave_fifty_intact_lines() -> TestResult {
    let tmp = tempfile::tempdir()?;
    let sink = Arc::new(JsonlSink::open(tmp.path()).await?);
    let at = utc(2024, 6, 1, 10, 0, 0)?;
    // Large payloads make torn writes likely if lines were not serialised.
    let filler = "x".repeat(64 * 1024);
    let tasks: Vec<_> = (0..50)
        .map(|i| {
            let sink = Arc::clone(&sink);
            let filler = filler.clone();
            tokio::spawn(async move {
                let record = AuditRecord::at(at, "LOAD", json!({"task": i, "filler": filler}));
                sink.write(&record).await
            })
        })
        .collect();
    for task in tasks {
        task.await??;
    }

    let path = tmp.path().join("audit-20240601.jsonl");
    let report = verify_file(&path)?;
    assert!(report.is_ok(), "{report:?}");
    assert_eq!((report.lines, report.records), (50, 50));
    let mut seen: Vec<u64> = read_jsonl(&path)?
        .iter()
        .filter_map(|r| r.payload["task"].as_u64())
        .collect();
    seen.sort_unstable();
    assert_eq!(seen, (0..50).collect::<Vec<u64>>());
    Ok(())
}

#[tokio::test]
async fn an_edited_payload_byte_is_caught_on_its_line() -> TestResult {
    let tmp = tempfile::tempdir()?;
    let sink = JsonlSink::open(tmp.path()).await?;
    let at = utc(2024, 7, 4, 9, 0, 0)?;
    for i in 0..5 {
        let payload = json!({"instanceId": format!("inst_{i}"), "status": "COMPLETED"});
        sink.write(&AuditRecord::at(at, EventType::WORKFLOW_COMPLETED, payload))
            .await?;
    }
    let path = tmp.path().join("audit-20240704.jsonl");
    assert!(verify_file(&path)?.is_ok());

    // Flip one byte of line 3's payload: "inst_2" becomes "inst_X".
    let mut bytes = std::fs::read(&path)?;
    let line3_start = bytes
        .iter()
        .enumerate()
        .filter(|(_, b)| **b == b'\n')
        .nth(1)
        .map(|(i, _)| i + 1)
        .ok_or("fewer than 3 lines")?;
    let needle = b"inst_2";
    let offset = bytes[line3_start..]
        .windows(needle.len())
        .position(|w| w == needle)
        .ok_or("payload not found on line 3")?;
    bytes[line3_start + offset + needle.len() - 1] = b'X';
    std::fs::write(&path, &bytes)?;

    let report = verify_file(&path)?;
    assert_eq!((report.lines, report.records, report.bad_lines), (5, 5, 1));
    let problem = report.first_problem.ok_or("tampering not detected")?;
    assert_eq!(problem.line, 3);
    assert!(
        matches!(problem.kind, ProblemKind::HashMismatch { .. }),
        "{:?}",
        problem.kind
    );
    // The record itself still parses; its hash no longer verifies.
    let records = read_jsonl(&path)?;
    assert_eq!(records[2].payload["instanceId"], "inst_X");
    assert!(!records[2].verify_hash());
    Ok(())
}

#[test]
fn unparsable_lines_are_reported_with_their_number() -> TestResult {
    let tmp = tempfile::tempdir()?;
    let good = |i: i64| serde_json::to_string(&AuditRecord::new("X", json!(i)));
    let table: [(String, usize); 4] = [
        (format!("{}\n{{\"timestamp\":\n{}\n", good(1)?, good(2)?), 2),
        (format!("{}\n{}\n\n", good(1)?, good(2)?), 3),
        (format!("{}\n{}", good(1)?, &good(2)?[..20]), 2),
        ("not json\n".to_owned(), 1),
    ];
    for (i, (content, bad_line)) in table.iter().enumerate() {
        let path = tmp.path().join(format!("audit-2024010{i}.jsonl"));
        std::fs::write(&path, content)?;

        let report = verify_file(&path)?;
        let problem = report.first_problem.ok_or("not detected")?;
        assert_eq!(problem.line, *bad_line, "case {i}");
        assert!(
            matches!(problem.kind, ProblemKind::Parse { .. }),
            "case {i}"
        );

        let err = read_jsonl(&path)
            .err()
            .ok_or("read_jsonl accepted a bad line")?;
        assert_eq!(err.kind(), ErrorKind::Parse { line: *bad_line }, "case {i}");
        assert_eq!(err.path(), Some(path.as_path()));
        assert!(std::error::Error::source(&err).is_some());
    }
    Ok(())
}

#[tokio::test]
async fn appending_seals_a_partial_line_and_keeps_earlier_lines() -> TestResult {
    let tmp = tempfile::tempdir()?;
    let at = utc(2024, 8, 1, 0, 0, 0)?;
    let path = tmp.path().join("audit-20240801.jsonl");
    let first = AuditRecord::at(at, "X", json!({"first": true}));
    std::fs::write(
        &path,
        format!("{}\n{{\"torn", serde_json::to_string(&first)?),
    )?;

    let second = AuditRecord::at(at, "X", json!({"second": true}));
    let third = AuditRecord::at(at, "X", json!({"third": true}));
    JsonlSink::open(tmp.path()).await?.write(&second).await?;
    // A second sink on the same directory later appends, not truncates.
    JsonlSink::open(tmp.path()).await?.write(&third).await?;

    let content = lines(&path)?;
    assert_eq!(content.len(), 4);
    assert_eq!(content[1], "{\"torn");
    let report = verify_file(&path)?;
    assert_eq!((report.lines, report.records, report.bad_lines), (4, 3, 1));
    assert_eq!(report.first_problem.map(|p| p.line), Some(2));
    let parsed: Vec<Value> = [0, 2, 3]
        .iter()
        .map(|&i| serde_json::from_str::<AuditRecord>(&content[i]).map(|r| r.payload))
        .collect::<Result<_, _>>()?;
    assert_eq!(parsed, [first.payload, second.payload, third.payload]);
    Ok(())
}

#[tokio::test]
async fn records_that_could_not_be_read_back_are_refused_before_writing() -> TestResult {
    let tmp = tempfile::tempdir()?;
    let sink = JsonlSink::open(tmp.path()).await?;
    let deepest = |depth: usize| (0..depth).fold(json!(0), |inner, _| json!([inner]));
    let table = [
        (utc(2024, 1, 1, 0, 0, 0)?, deepest(MAX_PAYLOAD_DEPTH + 1)),
        (utc(10_000, 1, 1, 0, 0, 0)?, json!({})),
        (utc(-1, 1, 1, 0, 0, 0)?, json!({})),
    ];
    for (at, payload) in table {
        let err = sink
            .write(&AuditRecord::at(at, "X", payload))
            .await
            .err()
            .ok_or("unreadable record accepted")?;
        assert_eq!(err.kind(), ErrorKind::Serialize, "{at}");
    }
    assert_eq!(std::fs::read_dir(tmp.path())?.count(), 0);
    // The limits themselves are fine.
    for (at, payload) in [
        (utc(2024, 1, 1, 0, 0, 0)?, deepest(MAX_PAYLOAD_DEPTH)),
        (utc(9999, 12, 31, 23, 59, 59)?, json!({})),
        (utc(0, 1, 1, 0, 0, 0)?, json!({})),
    ] {
        sink.write(&AuditRecord::at(at, "X", payload)).await?;
    }
    for report in verify_dir(tmp.path())? {
        assert!(report.is_ok() && report.records == 1, "{report:?}");
    }
    Ok(())
}

#[tokio::test]
async fn io_failures_are_errors_naming_the_path() -> TestResult {
    let tmp = tempfile::tempdir()?;
    let not_a_dir = tmp.path().join("file");
    std::fs::write(&not_a_dir, "")?;

    let err = JsonlSink::open(not_a_dir.join("audit"))
        .await
        .err()
        .ok_or("opened a directory under a file")?;
    assert_eq!(err.kind(), ErrorKind::Io);
    assert_eq!(err.path(), Some(not_a_dir.join("audit").as_path()));
    assert!(std::error::Error::source(&err).is_some());

    // The directory disappears after the sink was opened: the write fails
    // loudly instead of dropping the record... unless it can recreate it.
    let dir = tmp.path().join("gone");
    let sink = JsonlSink::open(&dir).await?;
    std::fs::remove_dir(&dir)?;
    std::fs::write(&dir, "")?; // now a file: cannot be recreated
    let err = sink
        .write(&AuditRecord::new("X", json!(1)))
        .await
        .err()
        .ok_or("write into a vanished directory succeeded")?;
    assert_eq!(err.kind(), ErrorKind::Io);

    let err = read_jsonl(tmp.path().join("missing.jsonl"))
        .err()
        .ok_or("read a missing file")?;
    assert_eq!(err.kind(), ErrorKind::Io);
    Ok(())
}

#[tokio::test]
async fn a_single_file_sink_keeps_every_day_in_one_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("nested").join("export.jsonl");
    let sink = cx_audit::JsonlSink::open_file(&path).await.unwrap();
    for day in ["2026-01-01T10:00:00Z", "2026-01-02T10:00:00Z"] {
        let ts = chrono::DateTime::parse_from_rfc3339(day)
            .unwrap()
            .with_timezone(&chrono::Utc);
        let record = cx_audit::AuditRecord::at(ts, "X", serde_json::json!({"day": day}));
        cx_audit::AuditSink::write(&sink, &record).await.unwrap();
    }
    assert_eq!(cx_audit::read_jsonl(&path).unwrap().len(), 2);
    assert_eq!(
        std::fs::read_dir(path.parent().unwrap()).unwrap().count(),
        1
    );
}
