//! `cx audit verify` on a chained directory and `cx audit tail`, through the
//! binary.

// Tests unwrap: a panic with the value is the failure report.

use crate::support::*;
use serde_json::Value;

#[test]
fn tail_prints_the_last_records_and_verify_names_a_removed_line() {
    let dir = tempfile::tempdir().unwrap();
    for customer in ["C1", "C2"] {
        let input = format!("customerId={customer}");
        let (code, _, err) = run(cx(dir.path()).args(["workflow", "run", WF, "--input", &input]));
        assert_eq!(code, 0, "{err}");
    }
    let audit = dir.path().join("audit");

    let (code, out, err) = run(cx(dir.path())
        .args(["audit", "tail", "-n", "1", "--output", "json"])
        .arg(&audit));
    assert_eq!(code, 0, "{err}");
    let last = json(&out);
    assert_eq!(last.as_array().map(Vec::len), Some(1), "{last}");
    assert_eq!(last[0]["event_type"], "EXECUTION_COMPLETED");

    let (code, out, _) = run(cx(dir.path())
        .args(["audit", "tail", "-n", "3"])
        .arg(&audit));
    assert_eq!(code, 0);
    assert_eq!(out.lines().count(), 3, "{out}");
    assert!(
        out.lines()
            .all(|l| l.contains('Z') && l.split(' ').count() >= 4),
        "{out}"
    );

    // Remove line 2 of the (only) day file: verify names file, line, category.
    let file = cx_audit::day_files(&audit).unwrap().pop().unwrap();
    let text = std::fs::read_to_string(&file).unwrap();
    let kept: Vec<&str> = text
        .lines()
        .enumerate()
        .filter(|(i, _)| *i != 1)
        .map(|(_, l)| l)
        .collect();
    std::fs::write(&file, kept.join("\n") + "\n").unwrap();
    let (code, out, _) = run(cx(dir.path())
        .args(["audit", "verify", "--output", "json"])
        .arg(&audit));
    assert_eq!(code, 1, "{out}");
    let doc = json(&out);
    assert_eq!(doc["intact"], false);
    assert_eq!(doc["files"][0]["file"], file.to_str().unwrap());
    assert_eq!(doc["files"][0]["firstProblem"]["line"], 2);
    assert_eq!(doc["files"][0]["firstProblem"]["category"], "removed");
}

/// `cx workflow run` from `threads` threads × `runs` runs each, all at once
/// into one audit directory, signing with `key`; every run must exit 0.
fn concurrent_runs(dir: &std::path::Path, key: &std::path::Path, threads: usize, runs: usize) {
    std::thread::scope(|scope| {
        let handles: Vec<_> = (0..threads)
            .map(|t| {
                scope.spawn(move || {
                    for r in 0..runs {
                        let input = format!("customerId=C{t}-{r}");
                        let (code, _, err) = run(cx(dir)
                            .env("CX_AUDIT_SIGNING_KEY_FILE", key)
                            .args(["workflow", "run", WF, "--input", &input]));
                        assert_eq!(code, 0, "thread {t} run {r}: {err}");
                    }
                })
            })
            .collect();
        for handle in handles {
            handle.join().unwrap();
        }
    });
}

#[test]
fn many_processes_one_directory_a_signed_log_that_verifies_with_its_head() {
    let dir = tempfile::tempdir().unwrap();
    let key = dir.path().join("audit.key");
    let (code, out, err) = run(cx(dir.path())
        .args(["audit", "keygen", "--output", "json", "--out"])
        .arg(&key));
    assert_eq!(code, 0, "{err}");
    let public = dir.path().join("audit.key.pub");
    assert!(out.contains("audit.key.pub"), "{out}");
    let audit = dir.path().join("audit");
    let verify = |extra: &[&str]| {
        let (code, out, _) = run(cx(dir.path())
            .args(["audit", "verify", "--output", "json", "--public-key"])
            .arg(&public)
            .args(extra)
            .arg(&audit));
        (code, serde_json::from_str::<Value>(&out).unwrap())
    };

    // One run alone tells how many records a run writes.
    concurrent_runs(dir.path(), &key, 1, 1);
    let (code, doc) = verify(&[]);
    assert_eq!(code, 0, "{doc}");
    let per_run = doc["records"].as_u64().unwrap();
    assert!(per_run >= 2, "{doc}");

    // Eight processes at a time, ten runs each (the 20 × 50 is run
    // by hand; see the branch report).
    concurrent_runs(dir.path(), &key, 8, 10);
    let (code, doc) = verify(&[]);
    assert_eq!(code, 0, "{doc}");
    assert_eq!(doc["intact"], true);
    assert_eq!(doc["signed"], true);
    assert_eq!(doc["records"].as_u64(), Some(per_run * 81), "{doc}");
    assert!(doc["checkpoints"].as_u64().unwrap() >= 1, "{doc}");

    // The head, kept outside: the log reaches it; cut the log and it does not.
    let (code, head, err) = run(cx(dir.path()).args(["audit", "head"]).arg(&audit));
    assert_eq!(code, 0, "{err}");
    let (code, doc) = verify(&["--expect-head", head.trim()]);
    assert_eq!(code, 0, "{doc}");
    let file = cx_audit::day_files(&audit).unwrap().pop().unwrap();
    let text = std::fs::read_to_string(&file).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    std::fs::write(&file, lines[..lines.len() - 1].join("\n") + "\n").unwrap();
    let (code, doc) = verify(&["--expect-head", head.trim()]);
    assert_eq!(code, 1, "{doc}");
    assert!(
        doc["headProblem"]
            .as_str()
            .unwrap()
            .contains("ends before the expected head"),
        "{doc}"
    );

    // Without the key the cut log looks intact, and verify says why.
    let (code, out, _) = run(cx(dir.path()).args(["audit", "verify"]).arg(&audit));
    assert_eq!(code, 0, "{out}");
    assert!(
        out.contains("only accidental damage can be detected"),
        "{out}"
    );
}

#[test]
fn tail_prints_a_record_whose_hash_is_not_hex() {
    // `tail` shows a hash's first 12 characters; a file may hold any text.
    let dir = tempfile::tempdir().unwrap();
    let audit = dir.path().join("audit");
    std::fs::create_dir_all(&audit).unwrap();
    let mut record = cx_audit::AuditRecord::new("X", serde_json::json!({"n": 1}));
    record.hash = Some("é".repeat(20));
    let line = serde_json::to_string(&record).unwrap();
    std::fs::write(audit.join("audit-20240101.jsonl"), line + "\n").unwrap();

    let (code, out, err) = run(cx(dir.path()).args(["audit", "tail"]).arg(&audit));
    assert_eq!(code, 0, "{err}");
    assert!(out.contains(&format!(" X {} ", "é".repeat(12))), "{out}");
}
