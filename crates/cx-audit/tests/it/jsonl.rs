//! The JSONL file sink, reading back and verification, on a temp directory.

use std::path::Path;
use std::sync::Arc;

use chrono::{DateTime, TimeZone, Utc};
use cx_audit::{
    AuditRecord, AuditSink, ErrorKind, EventType, FsyncPolicy, JsonlSink, MAX_PAYLOAD_DEPTH,
    ProblemKind, read_jsonl, verify_dir, verify_file,
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
        ((2024, 5, 1, 23, 59, 59), EventType::TRIGGERED),
        ((2024, 5, 2, 0, 0, 0), EventType::EXECUTION_COMPLETED),
        ((2024, 5, 1, 12, 0, 0), EventType::TRIGGER_FAILED),
        ((2024, 5, 2, 8, 30, 0), EventType::EXECUTION_FAILED),
    ]
    .into_iter()
    .zip(1..)
    .map(|(((y, mo, d, h, mi, s), event), n)| {
        utc(y, mo, d, h, mi, s).map(|at| AuditRecord::at(at, event, json!({"n": n})))
    })
    .collect::<Result<Vec<_>, _>>()?;
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
    // The day files, the writers' lock and the head index.
    assert_eq!(
        names,
        [
            ".audit-head",
            ".audit.lock",
            "audit-20240501.jsonl",
            "audit-20240502.jsonl"
        ]
    );
    assert_eq!(sink.path_for(records[0].timestamp.date_naive()), day1);

    // The log is append-only: the late 05-01 record went into the 05-02 file.
    let payloads = |path: &Path| -> Result<Vec<Value>, cx_audit::Error> {
        Ok(read_jsonl(path)?
            .into_iter()
            .map(AuditRecord::into_payload)
            .collect())
    };
    assert_eq!(payloads(&day1)?, [json!({"n": 1})]);
    assert_eq!(
        payloads(&day2)?,
        [json!({"n": 2}), json!({"n": 3}), json!({"n": 4})]
    );
    // Exactly one JSON object per line, in seed 001's member order, then the chain.
    let first = lines(&day1)?;
    assert_eq!(first.len(), 1);
    let expected_prefix = format!(
        r#"{{"timestamp":"2024-05-01T23:59:59.000Z","event_type":"TRIGGERED","payload":{{"n":1}},"compliance_hash":"{}","prev_hash":"{}","hash":""#,
        records[0].compliance_hash,
        cx_audit::GENESIS_HASH
    );
    assert!(first[0].starts_with(&expected_prefix), "{}", first[0]);
    // Each record links to the one written before it, across the two files.
    let all: Vec<AuditRecord> = [read_jsonl(&day1)?, read_jsonl(&day2)?].concat();
    for pair in all.windows(2) {
        assert_eq!(pair[1].prev_hash, pair[0].hash);
    }
    assert_eq!(
        sink.last_hash().await?,
        all[3].hash.clone().ok_or("unchained")?
    );

    let reports = verify_dir(&dir)?;
    assert_eq!(reports.len(), 2);
    for (report, n) in reports.iter().zip([1, 3]) {
        assert!(report.is_ok(), "{report:?}");
        assert_eq!((report.lines, report.records, report.bad_lines), (n, n, 0));
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
        .filter_map(|r| r.payload()["task"].as_u64())
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
    assert_eq!(records[2].payload()["instanceId"], "inst_X");
    assert!(!records[2].verify_hash());
    Ok(())
}

#[test]
fn unparsable_lines_are_reported_with_their_number() -> TestResult {
    let tmp = tempfile::tempdir()?;
    let r1 = AuditRecord::new("X", json!(1)).chained(cx_audit::GENESIS_HASH);
    let r2 = AuditRecord::new("X", json!(2)).chained(r1.hash.as_deref().ok_or("unchained")?);
    let (good1, good2) = (serde_json::to_string(&r1)?, serde_json::to_string(&r2)?);
    let table: [(String, usize, &str); 4] = [
        (
            format!("{good1}\n{{\"timestamp\":\n{good2}\n"),
            2,
            "invalid",
        ),
        (format!("{good1}\n{good2}\n\n"), 3, "invalid"),
        (format!("{good1}\n{}", &good2[..20]), 2, "truncated"),
        ("not json\n".to_owned(), 1, "invalid"),
    ];
    for (i, (content, bad_line, category)) in table.iter().enumerate() {
        let path = tmp.path().join(format!("audit-2024010{i}.jsonl"));
        std::fs::write(&path, content)?;

        let report = verify_file(&path)?;
        assert_eq!(report.bad_lines, 1, "case {i}: {report:?}");
        let problem = report.first_problem.ok_or("not detected")?;
        assert_eq!(problem.line, *bad_line, "case {i}");
        assert_eq!(problem.kind.category(), *category, "case {i}");

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
async fn opening_moves_a_partial_line_aside_and_continues_the_chain() -> TestResult {
    let tmp = tempfile::tempdir()?;
    let at = utc(2024, 8, 1, 0, 0, 0)?;
    let path = tmp.path().join("audit-20240801.jsonl");
    let first = AuditRecord::at(at, "X", json!({"first": true})).chained(cx_audit::GENESIS_HASH);
    std::fs::write(
        &path,
        format!("{}\n{{\"torn", serde_json::to_string(&first)?),
    )?;
    assert_eq!(
        verify_file(&path)?
            .first_problem
            .map(|p| (p.line, p.kind.category())),
        Some((2, "truncated"))
    );

    let second = AuditRecord::at(at, "X", json!({"second": true}));
    let third = AuditRecord::at(at, "X", json!({"third": true}));
    let sink = JsonlSink::open(tmp.path()).await?;
    let [repair] = sink.repairs() else {
        panic!("expected one repair, got {:?}", sink.repairs());
    };
    assert_eq!((repair.file.as_path(), repair.bytes), (path.as_path(), 6));
    let aside = repair.moved_to.clone().ok_or("fragment not moved aside")?;
    assert_eq!(std::fs::read(&aside)?, b"{\"torn");
    sink.write(&second).await?;
    drop(sink);
    // A second sink on the same directory later appends, not truncates.
    let sink = JsonlSink::open(tmp.path()).await?;
    assert!(sink.repairs().is_empty());
    sink.write(&third).await?;

    let reports = verify_dir(tmp.path())?;
    assert_eq!(reports.len(), 1, "the fragment file is not a day file");
    assert!(reports[0].is_ok(), "{reports:?}");
    let payloads: Vec<Value> = read_jsonl(&path)?
        .into_iter()
        .map(AuditRecord::into_payload)
        .collect();
    assert_eq!(
        payloads,
        [
            first.payload().clone(),
            second.payload().clone(),
            third.payload().clone()
        ]
    );
    Ok(())
}

#[tokio::test]
async fn a_complete_last_record_missing_only_its_newline_is_kept() -> TestResult {
    let tmp = tempfile::tempdir()?;
    let path = tmp.path().join("audit-20240802.jsonl");
    let at = utc(2024, 8, 2, 0, 0, 0)?;
    let first = AuditRecord::at(at, "X", json!(1)).chained(cx_audit::GENESIS_HASH);
    let second = AuditRecord::at(at, "X", json!(2)).chained(first.hash.as_deref().ok_or("x")?);
    std::fs::write(
        &path,
        format!(
            "{}\n{}",
            serde_json::to_string(&first)?,
            serde_json::to_string(&second)?
        ),
    )?;
    let sink = JsonlSink::open(tmp.path()).await?;
    assert_eq!(sink.repairs().len(), 1);
    assert_eq!(sink.repairs()[0].moved_to, None);
    assert_eq!(Some(sink.last_hash().await?), second.hash);
    sink.write(&AuditRecord::at(at, "X", json!(3))).await?;
    let report = verify_file(&path)?;
    assert!(report.is_ok() && report.records == 3, "{report:?}");
    Ok(())
}

/// A sink writes one record (payload 1) at 23:00 on `day` of August 2024;
/// then, behind its back, the next day's file gets its first line: a record
/// at midnight (payload 2) chained to it, followed by `end` ("\n", or "" for
/// a line cut before its newline). Returns that record and that file.
async fn next_day_behind_the_sink(
    dir: &Path,
    day: u32,
    end: &str,
) -> Result<(AuditRecord, std::path::PathBuf), Box<dyn std::error::Error>> {
    let sink = JsonlSink::open(dir).await?;
    sink.write(&AuditRecord::at(
        utc(2024, 8, day, 23, 0, 0)?,
        "X",
        json!(1),
    ))
    .await?;
    let head = sink.last_hash().await?;
    drop(sink);
    let next = AuditRecord::at(utc(2024, 8, day + 1, 0, 0, 0)?, "X", json!(2)).chained(&head);
    let path = dir.join(format!("audit-202408{:02}.jsonl", day + 1));
    std::fs::write(&path, serde_json::to_string(&next)? + end)?;
    Ok((next, path))
}

#[tokio::test]
async fn a_stale_head_index_behind_a_newer_day_file_does_not_fork_the_chain() -> TestResult {
    let tmp = tempfile::tempdir()?;
    // The next day's file written without the index (an old writer, or the
    // index write lost in a power failure): the index still names day 5
    // with its exact length.
    let (next, path) = next_day_behind_the_sink(tmp.path(), 5, "\n").await?;

    let sink = JsonlSink::open(tmp.path()).await?;
    assert_eq!(Some(sink.last_hash().await?), next.hash);
    // A late record (dated day 5) goes to the newest file, after `next`.
    let late = AuditRecord::at(utc(2024, 8, 5, 23, 30, 0)?, "X", json!(3));
    sink.write(&late).await?;
    drop(sink);
    let reports = verify_dir(tmp.path())?;
    assert!(reports.iter().all(|r| r.is_ok()), "{reports:#?}");
    let payloads: Vec<Value> = read_jsonl(&path)?
        .into_iter()
        .map(AuditRecord::into_payload)
        .collect();
    assert_eq!(payloads, [json!(2), json!(3)]);
    Ok(())
}

#[tokio::test]
async fn a_new_day_files_first_record_missing_only_its_newline_is_kept() -> TestResult {
    // Its prev_hash is the previous day file's last record, not the start of
    // the chain: it still links, so it is a complete record, not a fragment.
    let tmp = tempfile::tempdir()?;
    // A writer killed after the first line of the next day, before its newline.
    let (second, path) = next_day_behind_the_sink(tmp.path(), 3, "").await?;
    let at = second.timestamp;

    let sink = JsonlSink::open(tmp.path()).await?;
    assert_eq!(
        sink.repairs()
            .iter()
            .map(|r| (r.file.clone(), r.moved_to.clone()))
            .collect::<Vec<_>>(),
        [(path.clone(), None)],
        "the complete record was moved aside"
    );
    assert_eq!(Some(sink.last_hash().await?), second.hash);
    sink.write(&AuditRecord::at(at, "X", json!(3))).await?;
    drop(sink);
    let reports = verify_dir(tmp.path())?;
    assert!(reports.iter().all(|r| r.is_ok()), "{reports:#?}");
    assert_eq!(read_jsonl(&path)?.len(), 2);
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
    assert!(cx_audit::day_files(tmp.path())?.is_empty());
    // The limits themselves are fine (written in day order: the log never
    // goes back to an older day's file).
    for (at, payload) in [
        (utc(0, 1, 1, 0, 0, 0)?, json!({})),
        (utc(2024, 1, 1, 0, 0, 0)?, deepest(MAX_PAYLOAD_DEPTH)),
        (utc(9999, 12, 31, 23, 59, 59)?, json!({})),
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
    std::fs::remove_dir_all(&dir)?; // with its lock and head index
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
    // Beside it only its lock and head index (`export.jsonl.lock`, `.head`).
    let jsonl: Vec<_> = std::fs::read_dir(path.parent().unwrap())
        .unwrap()
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter(|n| n.ends_with(".jsonl"))
        .collect();
    assert_eq!(jsonl, ["export.jsonl"]);
}

#[tokio::test]
async fn a_witness_receives_every_checkpoint_the_sink_writes() -> TestResult {
    let tmp = tempfile::tempdir()?;
    let witness = std::sync::Arc::new(cx_audit::MemorySink::new());
    let options = cx_audit::SinkOptions::default()
        .with_signing_key(cx_audit::SigningKey::generate()?)
        .with_checkpoint_every(2)
        .with_witness(witness.clone());
    let sink = JsonlSink::open_with_options(tmp.path(), options).await?;
    for i in 0..3 {
        sink.write(&AuditRecord::new("X", json!(i))).await?;
    }
    sink.flush().await?;
    // One after two records, one at flush for the third.
    let shipped = witness.records();
    assert_eq!(shipped.len(), 2, "{shipped:#?}");
    let in_file: Vec<AuditRecord> = read_jsonl(&cx_audit::day_files(tmp.path())?[0])?
        .into_iter()
        .filter(|r| r.event_type == cx_audit::CHECKPOINT_EVENT)
        .collect();
    assert_eq!(shipped, in_file);
    Ok(())
}

#[tokio::test]
async fn fsync_on_close_writes_queued_records_in_order_by_the_flush() -> TestResult {
    // With fsync on close `write` only queues; the flush must find every
    // record written, chained, and each task's records in its own order.
    let tmp = tempfile::tempdir()?;
    let sink = Arc::new(JsonlSink::open_with(tmp.path(), FsyncPolicy::OnClose).await?);
    let at = utc(2024, 6, 2, 10, 0, 0)?;
    let tasks: Vec<_> = (0..8u64)
        .map(|task| {
            let sink = Arc::clone(&sink);
            tokio::spawn(async move {
                for i in 0..300u64 {
                    let payload = json!({"task": task, "i": i, "ms": 1.5, "big": u64::MAX});
                    sink.write(&AuditRecord::at(at, "LOAD", payload)).await?;
                }
                Ok::<_, cx_audit::Error>(())
            })
        })
        .collect();
    for task in tasks {
        task.await??;
    }
    sink.flush().await?;

    let path = tmp.path().join("audit-20240602.jsonl");
    let report = verify_file(&path)?;
    assert!(report.is_ok(), "{report:?}");
    assert_eq!(report.records, 8 * 300);
    let records = read_jsonl(&path)?;
    for task in 0..8u64 {
        let order: Vec<u64> = records
            .iter()
            .filter(|r| r.payload()["task"] == task)
            .filter_map(|r| r.payload()["i"].as_u64())
            .collect();
        assert_eq!(order, (0..300).collect::<Vec<u64>>(), "task {task}");
    }
    // Numbers come back as written (a u64 beyond 2^53 is not rounded).
    assert_eq!(records[0].payload()["big"], json!(u64::MAX));
    assert_eq!(records[0].payload()["ms"], json!(1.5));
    Ok(())
}

#[tokio::test]
async fn fsync_on_close_reports_a_failed_queued_write_at_the_flush_once() -> TestResult {
    let tmp = tempfile::tempdir()?;
    let dir = tmp.path().join("gone");
    let sink = JsonlSink::open_with(&dir, FsyncPolicy::OnClose).await?;
    std::fs::remove_dir_all(&dir)?;
    std::fs::write(&dir, "")?; // a file now: the directory cannot come back
    // Queued without waiting: accepted...
    sink.write(&AuditRecord::new("X", json!(1))).await?;
    // ...and its failure is the flush's error.
    let err = sink
        .flush()
        .await
        .err()
        .ok_or("the flush hid a record that was not stored")?;
    assert_eq!(err.kind(), ErrorKind::Io);
    // Once: with the directory back, the next records and flush succeed.
    std::fs::remove_file(&dir)?;
    std::fs::create_dir(&dir)?;
    sink.write(&AuditRecord::new("X", json!(2))).await?;
    sink.flush().await?;
    let report = verify_dir(&dir)?;
    assert_eq!(report.iter().map(|r| r.records).sum::<usize>(), 1);
    Ok(())
}
