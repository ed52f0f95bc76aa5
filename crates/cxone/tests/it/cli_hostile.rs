//! Hostile input through the `cx` binary: huge numbers, malformed values
//! and ids for every flag that parses a number, a duration or an id must end
//! in a clear error naming the flag (never a panic, exit 101); and server
//! text with ESC / OSC / NUL must reach the terminal escaped.

// Tests unwrap: a panic with the value is the failure report; they print
// their figures with println! (the CLI's own output rule is for `cx`).

use crate::support::{WF, cx, json, run};

const HISTORY: &[&str] = &["history", "query", "--interaction", "x"];
const AGENT: &[&str] = &["agent", "set-workmode", "agent-001", "--workmode", "w"];
const RUN: &[&str] = &["workflow", "run", WF];
const TRIGGER: &[&str] = &["workflow", "trigger", WF];
const DATAACTION: &[&str] = &["dataaction", "run", "DA-123456", "--version", "v2.1.0"];
const SERVE: &[&str] = &["sim", "serve"];
const SIMULATE: &[&str] = &["agent", "simulate", "--workmode", "w"];
const SHOW: &[&str] = &["agent", "show", "agent-001"];
/// An agent id holding an OSC sequence (ESC ] 0 ; x BEL).
const SHOW_OSC: &[&str] = &["agent", "show", "a\u{1b}]0;x\u{7}"];
/// An agent id that tries to climb to the simulator's admin API.
const SHOW_TRAVERSAL: &[&str] = &["agent", "show", "../../_sim/faults"];
/// A context variable past `i64::MAX`.
const HUGE_INTEGER_VAR: &str = "n:integer=99999999999999999999999";
const TAIL: &[&str] = &["audit", "tail", "."];
/// 2^64: one past `u64::MAX`.
const U64_OVER: &str = "18446744073709551616";
/// 20 nines: past `u64::MAX`.
const NINES: &str = "99999999999999999999";

/// `(command, flag, value, text the error must contain)`: `cx <command>
/// <flag> <value>` (`<flag>=<value>` for values starting with `-`).
const CASES: &[(&[&str], &str, &str, &str)] = &[
    // history query: ages, instants, threshold, page size, concurrency.
    (HISTORY, "--since", "9999999999999h", "--since"),
    (HISTORY, "--until", "99999999999999999d", "--until"),
    (HISTORY, "--since", "9000000000000000s", "--since"),
    (HISTORY, "--since", "18446744073709551616s", "--since"),
    (HISTORY, "--since", "-5h", "--since"),
    (HISTORY, "--until", "-9223372036854775808s", "--until"),
    (HISTORY, "--since", "5x", "--since"),
    (HISTORY, "--since", "", "--since"),
    (HISTORY, "--since", "h", "--since"),
    (HISTORY, "--since", "1\u{1b}[2Jh", "--since"),
    (HISTORY, "--since", "+262143-12-31T23:59:59Z", "--since"),
    (HISTORY, "--threshold", "1e300", "--threshold"),
    (HISTORY, "--threshold", "NaN", "--threshold"),
    (HISTORY, "--threshold", "inf", "--threshold"),
    (HISTORY, "--threshold", "-1", "--threshold"),
    (HISTORY, "--threshold", "ten", "--threshold"),
    (HISTORY, "--limit", "0", "limit"),
    (HISTORY, "--limit", "4294967296", "--limit"),
    (HISTORY, "--limit", "-1", "--limit"),
    (HISTORY, "--concurrency", "0", "--concurrency"),
    (HISTORY, "--concurrency", NINES, "--concurrency"),
    (HISTORY, "--interaction", "a\u{7f}", "interaction_ids[1]"),
    // agent: skills, attempts, ids.
    (AGENT, "--skill", "a:1:99999999999", "--skill"),
    (AGENT, "--skill", "a:-1:1", "--skill"),
    (AGENT, "--skill", "a:1", "--skill"),
    (AGENT, "--add-skill", "x:1:99999999999999", "--add-skill"),
    (AGENT, "--add-skill", ":1:1", "--add-skill"),
    (AGENT, "--remove-skill", "", "--remove-skill"),
    (AGENT, "--max-attempts", "99999999999", "--max-attempts"),
    (AGENT, "--max-attempts", "0", "--max-attempts"),
    (SIMULATE, "--seed", U64_OVER, "--seed"),
    (&["agent", "show", ""], "--output", "human", "agent_id"),
    (SHOW_OSC, "--output", "human", "agent_id"),
    (SHOW_TRAVERSAL, "--output", "human", "agent_id"),
    // workflow: timeouts, priorities, variables.
    (RUN, "--timeout", U64_OVER, "--timeout"),
    (RUN, "--timeout", "-1", "--timeout"),
    (RUN, "--input", "=1", "--input"),
    (TRIGGER, "--priority", NINES, "--priority"),
    (TRIGGER, "--priority", "0", "priority"),
    (TRIGGER, "--priority", "9223372036854775807", "priority"),
    (TRIGGER, "--var", HUGE_INTEGER_VAR, "context.n"),
    (TRIGGER, "--var", "n:decimal=1", "--var"),
    // data actions: timeouts.
    (DATAACTION, "--timeout-ms", "4294967296", "--timeout-ms"),
    (DATAACTION, "--timeout-ms", "0", "executionTimeoutMs"),
    (DATAACTION, "--max-wait", U64_OVER, "--max-wait"),
    (DATAACTION, "--max-wait", "-1", "--max-wait"),
    // audit, sim, global.
    (TAIL, "--lines", U64_OVER, "--lines"),
    (SERVE, "--port", "70000", "--port"),
    (SERVE, "--keep-for", "0", "--keep-for"),
    (SERVE, "--keep-for", NINES, "--keep-for"),
    (SERVE, "--max-tokens", "-1", "--max-tokens"),
    (SHOW, "--output", "xml", "--output"),
];

#[test]
fn hostile_arguments_end_in_an_error_naming_the_flag_never_a_panic() {
    let dir = tempfile::tempdir().unwrap();
    let mut failures = Vec::new();
    for (command, flag, value, needle) in CASES {
        let mut cmd = cx(dir.path());
        cmd.args(*command);
        if value.starts_with('-') {
            cmd.arg(format!("{flag}={value}"));
        } else {
            cmd.args([flag, value]);
        }
        let args: Vec<_> = cmd
            .get_args()
            .map(|a| a.to_string_lossy().into_owned())
            .collect();
        let (code, _, err) = run(&mut cmd);
        let ok = code != 0 && code != 101 && err.contains(needle) && !err.contains("panicked");
        if !ok {
            failures.push(format!("{args:?} → exit {code}: {err}"));
        }
    }
    println!("{} hostile argument cases", CASES.len());
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn deep_extract_expressions_are_refused_never_a_stack_overflow() {
    // Nested parentheses overflowed the parser's stack; a long dotted path
    // compiled but overflowed the evaluation once the job completed.
    let dir = tempfile::tempdir().unwrap();
    let deep = [
        format!("x={}a", "(".repeat(20_000)),
        format!("x={}a", "a.".repeat(5_000)),
        format!("x={}", "[]".repeat(5_000)),
    ];
    for spec in &deep {
        let (code, out, err) = run(cx(dir.path()).args(DATAACTION).args(["--extract", spec]));
        let head: String = spec.chars().take(12).collect();
        assert_eq!(code, 2, "{head}...: exit {code}: {out}{err}");
        assert!(
            err.contains("--extract") && err.contains("extract.x"),
            "{err}"
        );
    }
}

/// A stub server that hands out a token and answers every other request
/// with `status` and `body` (JSON).
fn hostile_server(status: u16, body: &'static str) -> String {
    cx_testkit::stub_server(move |head| {
        if head.contains("token") {
            (
                200,
                r#"{"access_token":"t","token_type":"Bearer","expires_in":3600}"#.to_owned(),
            )
        } else {
            (status, body.to_owned())
        }
    })
}

fn against(url: &str, dir: &std::path::Path, args: &[&str]) -> (i32, String, String) {
    run(cx(dir)
        .env("CXONE_API_URL", url)
        .env("CXONE_CLIENT_ID", "c")
        .env("CXONE_CLIENT_SECRET", "s")
        .args(args))
}

const HOSTILE: [&str; 4] = ["\u{1b}", "\u{7}", "\u{0}", "\u{9b}"];

#[test]
fn server_text_reaches_the_terminal_escaped() {
    let dir = tempfile::tempdir().unwrap();
    // An error body: ESC ] 0 ; title BEL (OSC), ESC [ 2 J, NUL, C1 CSI.
    let url = hostile_server(
        400,
        r#"{"message":"bad \u001b]0;pwned\u0007 \u001b[2J \u0000 \u009b31m end"}"#,
    );
    let (code, out, err) = against(&url, dir.path(), SHOW);
    assert_eq!(code, 1, "{out}{err}");
    assert!(err.contains(r"\u{1b}]0;pwned\u{7}"), "{err}");
    assert!(err.contains(r"\u{0}") && err.contains(r"\u{9b}"), "{err}");
    for c in HOSTILE {
        assert!(!err.contains(c), "raw {c:?} on stderr: {err:?}");
    }

    // A profile whose strings carry control characters: human output is
    // escaped, JSON output stays JSON with the exact strings.
    let url = hostile_server(
        200,
        r#"{"id":"agent-001","currentWorkMode":{"id":"wm\u001b]0;x\u0007"},"skills":[{"skillId":"s\u0000\u009b","level":1,"concurrentInteractions":1}]}"#,
    );
    let (code, out, err) = against(&url, dir.path(), SHOW);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains(r"wm\u{1b}]0;x\u{7}"), "{out}");
    for c in HOSTILE {
        assert!(!out.contains(c), "raw {c:?} on stdout: {out:?}");
    }
    let (code, out, err) = against(
        &url,
        dir.path(),
        &["agent", "show", "agent-001", "--output", "json"],
    );
    assert_eq!(code, 0, "{err}");
    let doc = json(&out);
    assert_eq!(doc["profile"]["currentWorkMode"]["id"], "wm\u{1b}]0;x\u{7}");
}
