//! The `cx` binary as a user runs it: with no tenant (embedded simulator) and
//! against `cx sim serve` in another process.

// Tests unwrap: a panic with the value is the failure report.
#![allow(clippy::unwrap_used)]

mod support;

use std::process::Command;

use serde_json::Value;
use support::{WF, cx, journal, run, serve};

#[test]
fn workflow_run_json_with_no_tenant_prints_a_completed_execution() {
    let dir = tempfile::tempdir().unwrap();
    let (code, out, err) = run(cx(dir.path()).args([
        "workflow",
        "run",
        WF,
        "--input",
        "customerId=CUST-99887",
        "--input",
        "priorityScore=85",
        "--output",
        "json",
    ]));
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("embedded simulator"), "{err}");
    assert!(out.contains("\"status\": \"COMPLETED\""), "{out}");
    let doc: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(
        doc["output"]["echo"]["priorityScore"], 85,
        "coerced to a number"
    );
    assert_eq!(doc["audit"]["verified"], true);
    assert_eq!(doc["metrics"]["successfulExecutions"], 1);
}

#[test]
fn the_readme_run_command_maps_output_and_leaves_a_verifiable_audit_file() {
    let readme = include_str!("../../../README.md");
    let line = readme
        .lines()
        .find(|l| l.starts_with("cargo run -q -p cxone --bin cx -- workflow run"))
        .unwrap();
    let args: Vec<&str> = line
        .split_whitespace()
        .skip_while(|w| *w != "--")
        .skip(1)
        .collect();
    let dir = tempfile::tempdir().unwrap();
    let (code, out, err) = run(cx(dir.path()).args(&args));
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("COMPLETED"), "{out}");
    assert!(out.contains("queue = \"priority-queue\""), "{out}");
    assert!(out.contains("tier = \"gold\""), "{out}");
    assert!(out.contains("metrics: 1 executions, 1 succeeded"), "{out}");
    assert!(out.contains("hashes verified"), "{out}");

    let audit = dir.path().join("audit");
    let (code, out, _) = run(cx(dir.path()).args(["audit", "verify"]).arg(&audit));
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("2 records, intact"), "{out}");

    // One edited byte in a payload is caught, with the line number.
    // (The directory also holds the writers' lock and head index.)
    let file = cx_audit::day_files(&audit).unwrap().pop().unwrap();
    let text = std::fs::read_to_string(&file).unwrap();
    let line = 1 + text.lines().position(|l| l.contains("CUST-99887")).unwrap();
    std::fs::write(&file, text.replacen("CUST-99887", "CUST-99888", 1)).unwrap();
    let (code, out, _) = run(cx(dir.path()).args(["audit", "verify"]).arg(&file));
    assert_eq!(code, 1, "{out}");
    assert!(out.contains(&format!("TAMPERED: line {line}:")), "{out}");
}

#[test]
fn failures_exit_non_zero_with_a_one_line_reason() {
    let dir = tempfile::tempdir().unwrap();
    let cases: &[(&[&str], &str)] = &[
        (
            &[
                "workflow",
                "run",
                "wf_draft_0001",
                "--input",
                "customerId=X",
            ],
            "DRAFT",
        ),
        (&["workflow", "run", WF, "--input", "nope=1"], "input.nope"),
        (
            &["workflow", "run", WF, "--input", "priorityScore=abc"],
            "input.priorityScore",
        ),
        (
            &[
                "workflow",
                "run",
                "wf_failing_0001",
                "--input",
                "customerId=X",
            ],
            "DOWNSTREAM_TIMEOUT",
        ),
        (
            &[
                "workflow",
                "run",
                "wf_stuck_0001",
                "--input",
                "customerId=X",
                "--timeout",
                "1",
            ],
            "may be stuck",
        ),
        (
            &[
                "workflow",
                "trigger",
                WF,
                "--var",
                "priorityScore:integer=85",
                "--priority",
                "0",
            ],
            "priority",
        ),
        (
            &[
                "workflow",
                "trigger",
                WF,
                "--var",
                "priorityScore:integer=abc",
            ],
            "context.priorityScore",
        ),
    ];
    for (args, needle) in cases {
        let (code, _, err) = run(cx(dir.path()).args(*args));
        assert_eq!(code, 1, "{args:?}: {err}");
        let reason: Vec<&str> = err
            .lines()
            .filter(|l| l.starts_with("cx: ") && !l.contains("embedded simulator"))
            .collect();
        assert_eq!(reason.len(), 1, "{args:?}: {err}");
        assert!(reason[0].contains(needle), "{args:?}: {err}");
    }
}

#[test]
fn a_partly_configured_tenant_names_the_missing_setting() {
    let dir = tempfile::tempdir().unwrap();
    let (code, _, err) = run(cx(dir.path())
        .env("CXONE_API_URL", "http://127.0.0.1:9")
        .env("CXONE_CLIENT_ID", "x")
        .args(["workflow", "run", WF]));
    assert_eq!(code, 1);
    assert!(err.contains("CXONE_CLIENT_SECRET"), "{err}");
    assert!(!err.contains("embedded simulator"), "{err}");
}

#[test]
fn a_served_simulator_works_as_a_tenant_for_run_trigger_and_export() {
    let dir = tempfile::tempdir().unwrap();
    let served = serve(dir.path(), "my-client", "my-secret");
    assert!(
        served.url.starts_with("http://127.0.0.1:"),
        "{}",
        served.url
    );
    let tenant = |cmd: &mut Command| {
        cmd.env("CXONE_API_URL", &served.url)
            .env("CXONE_CLIENT_ID", "my-client")
            .env("CXONE_CLIENT_SECRET", "my-secret");
    };

    let mut c = cx(dir.path());
    tenant(&mut c);
    let (code, out, err) = run(c.args([
        "workflow",
        "run",
        WF,
        "--input",
        "customerId=C1",
        "--output",
        "json",
    ]));
    assert_eq!(code, 0, "{err}");
    assert!(!err.contains("embedded simulator"), "{err}");
    assert!(out.contains("\"status\": \"COMPLETED\""), "{out}");

    // Out-of-range priority: refused before any request reaches the server.
    let mut c = cx(dir.path());
    tenant(&mut c);
    let (code, _, err) = run(c.args(["workflow", "trigger", WF, "--priority", "11"]));
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("priority"), "{err}");
    let posts_to_instances = journal(&served.url)
        .iter()
        .filter(|e| e["method"] == "POST" && e["path"] == "/api/v2/workflows/instances")
        .count();
    assert_eq!(posts_to_instances, 0);

    let mut c = cx(dir.path());
    tenant(&mut c);
    let (code, out, err) = run(c.args([
        "workflow",
        "trigger",
        WF,
        "--priority",
        "2",
        "--var",
        "customerId:string=CUST-99887",
        "--var",
        "priorityScore:integer=85",
        "--var",
        "requiresCallback:boolean=true",
        "--var",
        "routingMetadata:object={\"channel\":\"voice\",\"queue\":\"sales\"}",
    ]));
    assert_eq!(code, 0, "{err}");
    assert!(out.starts_with("instance inst_"), "{out}");

    let export = dir.path().join("export.jsonl");
    let mut c = cx(dir.path());
    tenant(&mut c);
    let (code, out, err) = run(c
        .args([
            "audit",
            "export",
            "--resource-type",
            "workflow_execution",
            "--resource-id",
            WF,
            "--out",
        ])
        .arg(&export));
    assert_eq!(code, 0, "{err}");
    let records = cx_audit::read_jsonl(&export).unwrap();
    assert!(
        out.contains(&format!("exported {} entries", records.len())),
        "{out}"
    );
    assert!(records.iter().any(|r| r.event_type == "EXECUTION_CREATED"));
    assert!(records.iter().all(cx_audit::AuditRecord::verify_hash));
}

#[test]
fn the_generated_command_reference_is_up_to_date() {
    let dir = tempfile::tempdir().unwrap();
    let (code, out, err) = run(cx(dir.path()).arg("reference"));
    assert_eq!(code, 0, "{err}");
    let checked_in = include_str!("../../../docs/cli.md");
    assert!(
        out == checked_in,
        "docs/cli.md is stale: run `cargo xtask codegen`"
    );
    assert!(out.contains("## `cx workflow run`"), "{out}");
}
