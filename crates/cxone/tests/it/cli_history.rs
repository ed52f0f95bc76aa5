//! `cx history query` as a user runs it, against the embedded simulator.

// Tests unwrap: a panic with the value is the failure report.

use crate::support::{Line, cx, json, run};

const SEED_INTERACTION: &str = "a1b2c3d4-e5f6-7890-abcd-ef1234567890";

fn seed_query(output: &str) -> Vec<String> {
    [
        "history",
        "query",
        "--interaction",
        SEED_INTERACTION,
        "--since",
        "2h",
        "--errors-only",
        "--output",
        output,
    ]
    .map(str::to_owned)
    .to_vec()
}

#[test]
fn the_seed_query_flags_the_slow_decision_node_in_every_format() {
    let dir = tempfile::tempdir().unwrap();

    let (code, out, err) = run(cx(dir.path()).args(seed_query("json")));
    assert_eq!(code, 0, "{err}");
    let doc = json(&out);
    assert_eq!(doc["recordsRetrieved"], 1);
    assert_eq!(doc["complianceStatus"], "VERIFIED");
    let b = &doc["analysis"]["bottlenecks"][0];
    assert_eq!(b["nodeId"], "n3-decision");
    assert_eq!(b["dwellSeconds"], 18.0);
    let nodes: Vec<&str> = doc["analysis"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["nodeId"].as_str().unwrap())
        .collect();
    assert_eq!(nodes, ["n2-menu", "n3-decision", "n5-data-dip"]);

    let (code, out, err) = run(cx(dir.path()).args(seed_query("table")));
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains("bottlenecks (decision points over 15 s): 1"),
        "{out}"
    );
    let row = out
        .lines()
        .find(|l| l.contains("n3-decision") && l.contains(SEED_INTERACTION))
        .unwrap();
    assert!(row.contains("18.000"), "{row}");

    let (code, out, err) = run(cx(dir.path()).args(seed_query("csv")));
    assert_eq!(code, 0, "{err}");
    let mut lines = out.lines();
    assert!(
        lines
            .next()
            .unwrap()
            .starts_with("record,interaction_id,node_id")
    );
    assert!(
        out.contains(&format!(
            "bottleneck,{SEED_INTERACTION},n3-decision,DECISION,,,,,,,18.000"
        )),
        "{out}"
    );
    assert_eq!(out.lines().filter(|l| l.starts_with("node,")).count(), 3);

    // A threshold above its dwell: no bottleneck.
    let mut args = seed_query("json");
    args.extend(["--threshold".to_owned(), "20".to_owned()]);
    let (code, out, _) = run(cx(dir.path()).args(args));
    assert_eq!(code, 0);
    let doc = json(&out);
    assert_eq!(doc["analysis"]["bottleneckCount"], 0);

    // The run was audited.
    let audit = cx_audit::day_files(&dir.path().join("audit"))
        .unwrap()
        .len();
    assert_eq!(audit, 1);
}

#[test]
fn bad_queries_fail_before_sending_and_csv_is_refused_elsewhere() {
    let dir = tempfile::tempdir().unwrap();
    let cases: &[(&str, &str)] = &[
        ("history query --since 2h", "interaction_ids"),
        (
            "history query --interaction a --since 31d",
            "start_timestamp",
        ),
        (
            "history query --interaction a --since 1h --until 2h",
            "end_timestamp",
        ),
        (
            "history query --interaction a --since 2024-05-01T10:00:00",
            // Neither RFC 3339 with a zone nor an age: named by its flag.
            "--since",
        ),
        (
            "history query --interaction a --threshold -1",
            "--threshold",
        ),
        ("workflow trigger wf_x --output csv", "--output csv"),
    ];
    for (args, names) in cases {
        let (code, out, err) = run(cx(dir.path()).line(args));
        assert_ne!(code, 0, "{args:?}");
        assert!(out.is_empty(), "{out}");
        let last = err.lines().last().unwrap();
        assert!(
            last.starts_with("cx: ") && last.contains(names),
            "{args:?}: {err}"
        );
        assert!(
            !err.contains("embedded simulator"),
            "nothing was started: {err}"
        );
    }
}
