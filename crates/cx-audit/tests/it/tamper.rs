//! The auditor's question: was anything edited, removed or reordered? Each
//! kind of tampering, done to a real three-day log, is reported with the
//! right file, line and category, and an untouched log verifies.

use std::path::{Path, PathBuf};

use chrono::{TimeZone, Utc};
use cx_audit::{
    AuditRecord, AuditSink, FsyncPolicy, JsonlSink, SigningKey, SinkOptions, VerifyOptions, chain,
    compliance_hash, latest_anchor, verify_dir, verify_dir_with,
};
use serde_json::{Value, json};

type TestResult = Result<(), Box<dyn std::error::Error>>;

const DAYS: [&str; 3] = [
    "audit-20250301.jsonl",
    "audit-20250302.jsonl",
    "audit-20250303.jsonl",
];

/// Four records on each of three days.
async fn three_day_log(dir: &Path) -> TestResult {
    write_three_days(&JsonlSink::open(dir).await?).await
}

/// Four records a day, 2025-03-01 to 03, 09:00 to 09:03.
async fn write_three_days(sink: &JsonlSink) -> TestResult {
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

/// Cuts the last `n` bytes off `path`.
fn cut_tail(path: &Path, n: u64) -> std::io::Result<()> {
    let len = std::fs::metadata(path)?.len();
    std::fs::OpenOptions::new()
        .write(true)
        .open(path)?
        .set_len(len.saturating_sub(n))
}

/// Replaces the first `from` in `path` with `to`.
fn replace_first(path: &Path, from: &str, to: &str) -> std::io::Result<()> {
    let text = std::fs::read_to_string(path)?;
    std::fs::write(path, text.replacen(from, to, 1))
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
            |d| replace_first(&d.join(DAYS[0]), "09:01:00.000Z", "09:01:01.000Z"),
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
            |d| cut_tail(&d.join(DAYS[2]), 40),
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

/// Where a tampering must be reported with the public key.
#[derive(Debug, Clone, Copy)]
enum Caught {
    /// In file `DAYS[.0]`, at line `.1`, as category `.2`.
    At(usize, usize, &'static str),
    /// Only by `--expect-head`: the log ends before the anchor.
    ExpectHead,
}

/// Four records a day over three days, signed, a checkpoint after every 3
/// records, at each day roll and at the end. Each file then reads:
/// `r r r CP r CP` (6 lines).
async fn signed_log(dir: &Path, key: SigningKey) -> TestResult {
    let options = SinkOptions::default()
        .with_policy(FsyncPolicy::EveryRecord)
        .with_signing_key(key)
        .with_checkpoint_every(3);
    let sink = JsonlSink::open_with_options(dir, options).await?;
    write_three_days(&sink).await?;
    sink.flush().await?;
    Ok(())
}

/// Recompute compliance hash, `prev_hash` and `hash` of every record of the
/// directory, in order: what someone who can write the files but has no key
/// does after editing.
fn relink(dir: &Path) -> std::io::Result<()> {
    let mut prev = cx_audit::GENESIS_HASH.to_owned();
    let files = cx_audit::day_files(dir).map_err(std::io::Error::other)?;
    for path in files {
        let text = std::fs::read_to_string(&path)?;
        let mut out = String::new();
        for line in text.lines() {
            let mut value: Value = serde_json::from_str(line)?;
            let Value::Object(object) = &mut value else {
                return Err(std::io::Error::other("not an object"));
            };
            let payload = object.get("payload").cloned().unwrap_or_default();
            object.insert("compliance_hash".into(), json!(compliance_hash(&payload)));
            object.insert("prev_hash".into(), json!(prev));
            let hash = chain::line_hash(object);
            object.insert("hash".into(), json!(hash));
            prev = hash;
            out.push_str(&serde_json::to_string(&value)?);
            out.push('\n');
        }
        std::fs::write(&path, out)?;
    }
    Ok(())
}

fn line_of(path: &Path, index: usize) -> std::io::Result<String> {
    let text = std::fs::read_to_string(path)?;
    text.lines()
        .nth(index)
        .map(str::to_owned)
        .ok_or_else(|| std::io::Error::other("no such line"))
}

/// A made-up record chained after line `index` of `path`, hashes and all.
fn forged_after(path: &Path, index: usize) -> std::io::Result<String> {
    let after: AuditRecord = serde_json::from_str(&line_of(path, index)?)?;
    let forged = AuditRecord::new("WORKFLOW_COMPLETED", json!({"forged": true}))
        .chained(after.hash.as_deref().unwrap_or_default());
    Ok(serde_json::to_string(&forged)?)
}

/// Edits the lines of `path` with `place`, which gets a made-up record
/// chained after line `after` ([`forged_after`]) to put among them.
fn insert_forged(
    path: &Path,
    after: usize,
    place: impl FnOnce(&mut Vec<String>, String),
) -> std::io::Result<()> {
    let line = forged_after(path, after)?;
    edit_lines(path, |l| place(l, line))
}

/// Replaces the hash of line `index` of `path` with 64 `f`s.
fn forge_hash(path: &Path, index: usize) -> std::io::Result<()> {
    let record: AuditRecord = serde_json::from_str(&line_of(path, index)?)?;
    let hash = record.hash.unwrap_or_default();
    let forged = format!("\"hash\":\"{}", "f".repeat(64));
    replace_first(path, &format!("\"hash\":\"{hash}"), &forged)
}

#[tokio::test]
async fn with_a_key_every_tampering_is_caught() -> TestResult {
    let cases: [(&str, Tamper, Caught, bool); 15] = [
        // (name, tampering, how the key catches it, caught without a key too)
        (
            "edit a payload byte",
            |d| replace_first(&d.join(DAYS[1]), "inst_2_0", "inst_2_9"),
            Caught::At(1, 1, "edited"),
            true,
        ),
        (
            "edit a hash",
            |d| forge_hash(&d.join(DAYS[1]), 1),
            Caught::At(1, 2, "edited"),
            true,
        ),
        (
            "delete a line",
            |d| edit_lines(&d.join(DAYS[1]), |l| drop(l.remove(1))),
            Caught::At(1, 2, "removed"),
            true,
        ),
        (
            "swap two lines",
            |d| edit_lines(&d.join(DAYS[1]), |l| l.swap(1, 2)),
            Caught::At(1, 2, "reordered"),
            true,
        ),
        (
            "replay a line",
            |d| {
                edit_lines(&d.join(DAYS[1]), |l| {
                    let copy = l[1].clone();
                    l.insert(3, copy);
                })
            },
            Caught::At(1, 4, "reordered"),
            true,
        ),
        (
            "insert a line",
            |d| insert_forged(&d.join(DAYS[1]), 1, |l, line| l.insert(2, line)),
            Caught::At(1, 4, "reordered"),
            true,
        ),
        (
            "truncate mid-line",
            |d| cut_tail(&d.join(DAYS[2]), 40),
            // The cut checkpoint leaves line 5 unsigned (line 6 is truncated).
            Caught::At(2, 5, "unsigned"),
            true,
        ),
        (
            "forge an appended record with recomputed hashes",
            |d| insert_forged(&d.join(DAYS[2]), 5, |l, line| l.push(line)),
            Caught::At(2, 7, "unsigned"),
            false,
        ),
        (
            "edit a payload and re-link the rest of the chain",
            |d| {
                replace_first(&d.join(DAYS[1]), "inst_2_0", "inst_2_9")?;
                relink(d)
            },
            Caught::At(1, 4, "bad checkpoint"),
            false,
        ),
        (
            "delete the last record",
            |d| edit_lines(&d.join(DAYS[2]), |l| drop(l.pop())),
            Caught::At(2, 5, "unsigned"),
            false,
        ),
        (
            "delete the newest day file",
            |d| std::fs::remove_file(d.join(DAYS[2])),
            Caught::ExpectHead,
            false,
        ),
        (
            "delete a middle day file",
            |d| std::fs::remove_file(d.join(DAYS[1])),
            Caught::At(2, 1, "chain break across days"),
            true,
        ),
        (
            "rename a day file to another date",
            |d| std::fs::rename(d.join(DAYS[2]), d.join("audit-20250305.jsonl")),
            Caught::At(3, 4, "bad checkpoint"),
            false,
        ),
        (
            "add a member to the last checkpoint the signature does not cover (and re-link)",
            |d| {
                edit_lines(&d.join(DAYS[2]), |l| {
                    if let Some(last) = l.last_mut() {
                        *last = last.replacen("\"payload\":{", "\"payload\":{\"note\":\"x\",", 1);
                    }
                })?;
                relink(d)
            },
            // Not a checkpoint as signed: the records after line 4's are not covered.
            Caught::At(2, 5, "unsigned"),
            false,
        ),
        (
            "delete a checkpoint (and re-link)",
            |d| {
                edit_lines(&d.join(DAYS[1]), |l| drop(l.remove(3)))?;
                relink(d)
            },
            Caught::At(1, 5, "bad checkpoint"),
            false,
        ),
    ];
    let key = SigningKey::generate()?;
    let public = key.verifying_key();
    let seed = tempfile::tempdir()?;
    signed_log(seed.path(), key).await?;
    let anchor = latest_anchor(seed.path())?.ok_or("no checkpoint written")?;
    let mut options = VerifyOptions::default();
    options.public_key = Some(public);
    options.expect_head = Some(anchor.clone());
    let intact = verify_dir_with(seed.path(), &options)?;
    assert!(intact.is_ok(), "{intact:#?}");
    assert_eq!((intact.records, intact.checkpoints), (12, 6));

    for (name, tamper, caught, without_key) in cases {
        let tmp = tempfile::tempdir()?;
        for path in cx_audit::day_files(seed.path())? {
            std::fs::copy(&path, tmp.path().join(path.file_name().ok_or("name")?))?;
        }
        tamper(tmp.path())?;
        let mut keyed_options = options.clone();
        if !matches!(caught, Caught::ExpectHead) {
            // Caught by the key alone, without the anchor.
            keyed_options.expect_head = None;
        }
        let keyed = verify_dir_with(tmp.path(), &keyed_options)?;
        assert!(
            !keyed.is_ok(),
            "{name}: not caught with the key: {keyed:#?}"
        );
        match caught {
            Caught::At(file, line, category) => {
                let name_of = |i: usize| match i {
                    3 => "audit-20250305.jsonl",
                    i => DAYS[i],
                };
                let first = keyed
                    .files
                    .iter()
                    .find_map(|r| r.first_problem.as_ref().map(|p| (r.path.clone(), p)))
                    .ok_or("no file problem")?;
                assert_eq!(
                    (first.0, first.1.line, first.1.kind.category()),
                    (tmp.path().join(name_of(file)), line, category),
                    "{name}: {keyed:#?}"
                );
            }
            Caught::ExpectHead => {
                assert!(keyed.files.iter().all(|f| f.is_ok()), "{name}");
                let problem = keyed.head_problem.as_deref().unwrap_or_default();
                assert!(
                    problem.contains("ends before the expected head"),
                    "{name}: {problem}"
                );
                assert!(problem.contains(DAYS[2]), "{name}: {problem}");
            }
        }
        // Without a key only accidental damage shows.
        let unkeyed = verify_dir_with(tmp.path(), &VerifyOptions::default())?;
        assert_eq!(unkeyed.is_ok(), !without_key, "{name}: without a key");
    }
    Ok(())
}
