//! `cx dataaction` as a user runs it against `cx sim serve` (seed 004).

// Tests unwrap: a panic with the value is the failure report.

use std::process::Command;

use crate::support::{Line, Served, cx, journal, json, run, serve};

/// Seed 004's example: its three input parameters, its context, its
/// timeout and its three extraction paths.
const SEED_RUN: &[&str] = &[
    "dataaction",
    "run",
    "DA-123456",
    "--version",
    "v2.1.0",
    "--param",
    "customerId=CUST-8842",
    "--param",
    "interactionType=voice",
    "--param",
    "thresholdScore=0.85",
    "--env",
    "region=us-east-1",
    "--env",
    "environment=production",
    "--timeout-ms",
    "45000",
    "--extract",
    "riskScore=assessment.riskScore",
    "--extract",
    "fraudFlag=assessment.flags.isFraud",
    "--extract",
    "processedTimestamp=metadata.processedAt",
];

fn against(served: &Served, dir: &std::path::Path) -> Command {
    let mut c = cx(dir);
    c.env("CXONE_API_URL", &served.url)
        .env("CXONE_CLIENT_ID", "da-client")
        .env("CXONE_CLIENT_SECRET", "da-secret");
    c
}

fn executes(served: &Served) -> usize {
    journal(&served.url)
        .iter()
        .filter(|e| e["method"] == "POST" && e["path"].as_str().unwrap().ends_with("/execute"))
        .count()
}

#[test]
fn the_seed_example_prints_typed_values() {
    let dir = tempfile::tempdir().unwrap();
    let served = serve(dir.path(), "da-client", "da-secret");

    let (code, out, err) = run(against(&served, dir.path())
        .args(SEED_RUN)
        .args(["--output", "json"]));
    assert_eq!(code, 0, "{err}");
    let doc = json(&out);
    assert_eq!(doc["status"], "COMPLETED");
    assert_eq!(doc["values"]["riskScore"]["type"], "decimal", "{doc}");
    assert_eq!(
        doc["values"]["riskScore"]["value"],
        doc["output"]["assessment"]["riskScore"]
    );
    assert_eq!(doc["values"]["fraudFlag"]["type"], "boolean");
    assert!(doc["values"]["fraudFlag"]["value"].is_boolean());
    assert_eq!(doc["values"]["processedTimestamp"]["type"], "string");
    assert_eq!(doc["audit"]["errorClassification"], "NONE");

    let before = journal(&served.url).len();
    let (code, out, err) = run(against(&served, dir.path()).args(SEED_RUN));
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("COMPLETED"), "{out}");
    // Issue 13: the second process knows from the first (its cache
    // directory) how long the action's jobs take, and polls once: token,
    // definition, execute, one job read.
    let second: Vec<String> = journal(&served.url)[before..]
        .iter()
        .map(|e| format!("{} {}", e["method"], e["path"]))
        .filter(|line| !line.contains("/_sim/"))
        .collect();
    assert_eq!(second.len(), 4, "{second:?}");
    assert_eq!(
        second.iter().filter(|l| l.contains("/jobs/")).count(),
        1,
        "{second:?}"
    );
    for want in [
        "riskScore",
        "(decimal)",
        "fraudFlag",
        "(boolean)",
        "processedTimestamp",
        "(string)",
    ] {
        assert!(out.contains(want), "{want}: {out}");
    }
    assert_eq!(executes(&served), 2);
    // The audit directory holds the two runs' records, and they verify.
    let reports = cx_audit::verify_dir(dir.path().join("audit")).unwrap();
    assert_eq!(
        reports.iter().map(|r| r.records).sum::<usize>(),
        2,
        "{reports:?}"
    );
    assert!(reports.iter().all(|r| r.bad_lines == 0), "{reports:?}");
}

#[test]
fn bad_input_is_refused_before_any_request_naming_the_field() {
    let dir = tempfile::tempdir().unwrap();
    let served = serve(dir.path(), "da-client", "da-secret");
    let replace = |flag: &str, value: &str| -> Vec<String> {
        let mut args: Vec<String> = SEED_RUN.iter().map(|s| (*s).to_owned()).collect();
        let at = args.iter().position(|a| a == flag).unwrap();
        args[at + 1] = value.to_owned();
        args
    };
    let mut missing: Vec<String> = SEED_RUN.iter().map(|s| (*s).to_owned()).collect();
    let at = missing
        .iter()
        .position(|a| a == "interactionType=voice")
        .unwrap();
    missing.drain(at - 1..=at);
    let cases = [
        (replace("--version", "2.1.0"), "versionId"),
        (replace("--timeout-ms", "60001"), "executionTimeoutMs"),
        (replace("--timeout-ms", "999"), "executionTimeoutMs"),
        (missing, "inputParameters.interactionType"),
    ];
    for (args, field) in cases {
        let (code, out, err) = run(against(&served, dir.path()).args(&args));
        assert_eq!(code, 1, "{field}: {out}");
        assert!(err.contains(field), "{field}: {err}");
        assert_eq!(err.trim().lines().count(), 1, "{err}");
    }
    assert_eq!(executes(&served), 0);
}

#[test]
fn a_failed_job_prints_its_error_detail_and_show_lists_versions() {
    let dir = tempfile::tempdir().unwrap();
    let served = serve(dir.path(), "da-client", "da-secret");
    let (code, _, err) = run(against(&served, dir.path())
        .line("dataaction run DA-FAIL-0001 --version v2.0.0 --param customerId=C1"));
    assert_eq!(code, 1);
    assert!(err.contains("FAILED: scoring service"), "{err}");

    let (code, out, err) =
        run(against(&served, dir.path()).args(["dataaction", "show", "DA-123456"]));
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains("v2.1.0 requires customerId, interactionType"),
        "{out}"
    );
}
