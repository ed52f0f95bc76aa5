//! `cx script start` / `cx script signal` (issue 17) against the embedded
//! simulator, whose scripts run 2 s.

use crate::support::{cx, json, run};

#[test]
fn a_script_started_by_name_is_followed_to_its_contact_record() {
    let dir = tempfile::tempdir().unwrap();
    let (code, out, err) = run(cx(dir.path()).args([
        "script",
        "start",
        "--name",
        "Outbound Survey",
        "--skill",
        "4100002",
        "--param",
        "a",
        "--param",
        "b",
        "--follow",
        "--output",
        "json",
    ]));
    assert_eq!(code, 0, "{err}");
    let report = json(&out);
    assert_eq!(report["scriptId"], 5_100_001);
    assert!(report["note"].as_str().unwrap().contains("no run status"));
    assert_eq!(report["record"]["endReason"], "Script Ended", "{report}");
    let states: Vec<&str> = report["states"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|s| s["contactStateName"].as_str())
        .collect();
    assert!(states.contains(&"EndContact"), "{states:?}");
    assert!(report["polls"].as_u64().unwrap() >= 1);
}

#[test]
fn start_then_signal_and_refusals_name_the_reason() {
    let dir = tempfile::tempdir().unwrap();
    // Each `cx` run starts its own embedded simulator, so the signal goes
    // to a contact that simulator does not know: CXone's 404.
    let (code, out, err) =
        run(cx(dir.path()).args(["script", "start", "5100003", "--skill", "4100001"]));
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("started script 5100003 as contact "), "{out}");
    let cases: [(&[&str], &str); 3] = [
        (
            &["script", "signal", "900000000000", "x"],
            "InvalidContactId",
        ),
        (
            &["script", "start", "--name", "no such", "--skill", "4100001"],
            "no script is called",
        ),
        (
            &[
                "script", "start", "5100003", "--skill", "4100001", "--param", "a|b",
            ],
            "parameters[0]",
        ),
    ];
    for (args, reason) in cases {
        let (code, _, err) = run(cx(dir.path()).args(args));
        assert_eq!(code, 1, "{args:?}: {err}");
        assert!(err.contains(reason), "{args:?}: {err}");
    }
}
