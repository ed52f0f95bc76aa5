//! `cx audit verify` on a chained directory and `cx audit tail`, through the
//! binary.

// Tests unwrap: a panic with the value is the failure report.
#![allow(clippy::unwrap_used)]

mod support;

use serde_json::Value;
use support::*;

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
    let last: Vec<Value> = serde_json::from_str(&out).unwrap();
    assert_eq!(last.len(), 1);
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
    let doc: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(doc["intact"], false);
    assert_eq!(doc["files"][0]["file"], file.to_str().unwrap());
    assert_eq!(doc["files"][0]["firstProblem"]["line"], 2);
    assert_eq!(doc["files"][0]["firstProblem"]["category"], "removed");
}
