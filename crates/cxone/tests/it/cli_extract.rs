//! `cx extract run` (issue 17) against the embedded simulator, which runs
//! Data Extraction 1 s apart instead of CXone's 30 s.

use crate::support::{cx, json, run};

#[test]
fn a_data_extraction_job_is_written_to_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("metadata.csv");
    let (code, stdout, err) = run(cx(dir.path())
        .args([
            "extract",
            "run",
            "recording-interaction-metadata",
            "--version",
            "7",
            "--since",
            "2024-05-01T00:00:00Z",
            "--until",
            "2024-05-02T00:00:00Z",
            "--out",
        ])
        .arg(&out)
        .args(["--output", "json"]));
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("1 s apart"), "{err}");
    let report = json(&stdout);
    let csv = std::fs::read_to_string(&out).unwrap();
    assert_eq!(csv.lines().count(), 25, "{csv}");
    assert_eq!(report["bytes"], csv.len());
    assert_eq!(report["urlRenewals"], 0);
    assert!(report["polls"].as_u64().unwrap() >= 1, "{report}");
    assert_eq!(report["tenant"]["kind"], "embedded-simulator", "{report}");
}

#[test]
fn a_refused_range_and_an_unknown_entity_fail_with_the_reason() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("x.csv");
    let cases = [
        (
            [
                "recording-interaction-metadata",
                "7",
                "2024-05-02T00:00:00Z",
                "2024-05-01T00:00:00Z",
            ],
            "startDate",
        ),
        (
            [
                "no-such-entity",
                "1",
                "2024-05-01T00:00:00Z",
                "2024-05-02T00:00:00Z",
            ],
            "Unknown entityName",
        ),
    ];
    for ([entity, version, since, until], reason) in cases {
        let (code, _, err) = run(cx(dir.path())
            .args(["extract", "run", entity, "--version", version])
            .args(["--since", since, "--until", until, "--out"])
            .arg(&out));
        assert_eq!(code, 1, "{err}");
        assert!(err.contains(reason), "{reason}: {err}");
        assert!(!out.exists());
    }
}
