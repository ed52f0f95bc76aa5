//! Hostile input through the `cx` binary: huge numbers, malformed values
//! and ids for every flag that parses a number, a duration or an id must end
//! in a clear error naming the flag (never a panic, exit 101); and server
//! text with ESC / OSC / NUL must reach the terminal escaped.

// Tests unwrap: a panic with the value is the failure report; they print
// their figures with println! (the CLI's own output rule is for `cx`).
#![allow(clippy::unwrap_used, clippy::disallowed_macros)]

mod support;

use std::io::{Read, Write};
use std::net::TcpListener;

use support::{WF, cx, run};

/// `(arguments, text the error must contain)`.
const CASES: &[(&[&str], &str)] = &[
    // history query: ages, instants, threshold, page size, concurrency.
    (
        &[
            "history",
            "query",
            "--interaction",
            "x",
            "--since",
            "9999999999999h",
        ],
        "--since",
    ),
    (
        &[
            "history",
            "query",
            "--interaction",
            "x",
            "--until",
            "99999999999999999d",
        ],
        "--until",
    ),
    (
        &[
            "history",
            "query",
            "--interaction",
            "x",
            "--since",
            "9000000000000000s",
        ],
        "--since",
    ),
    (
        &[
            "history",
            "query",
            "--interaction",
            "x",
            "--since",
            "18446744073709551616s",
        ],
        "--since",
    ),
    (
        &["history", "query", "--interaction", "x", "--since", "-5h"],
        "--since",
    ),
    (
        &[
            "history",
            "query",
            "--interaction",
            "x",
            "--until",
            "-9223372036854775808s",
        ],
        "--until",
    ),
    (
        &["history", "query", "--interaction", "x", "--since", "5x"],
        "--since",
    ),
    (
        &["history", "query", "--interaction", "x", "--since", ""],
        "--since",
    ),
    (
        &["history", "query", "--interaction", "x", "--since", "h"],
        "--since",
    ),
    (
        &[
            "history",
            "query",
            "--interaction",
            "x",
            "--since",
            "1\u{1b}[2Jh",
        ],
        "--since",
    ),
    (
        &[
            "history",
            "query",
            "--interaction",
            "x",
            "--since",
            "+262143-12-31T23:59:59Z",
        ],
        "--since",
    ),
    (
        &[
            "history",
            "query",
            "--interaction",
            "x",
            "--threshold",
            "1e300",
        ],
        "--threshold",
    ),
    (
        &[
            "history",
            "query",
            "--interaction",
            "x",
            "--threshold",
            "NaN",
        ],
        "--threshold",
    ),
    (
        &[
            "history",
            "query",
            "--interaction",
            "x",
            "--threshold",
            "inf",
        ],
        "--threshold",
    ),
    (
        &[
            "history",
            "query",
            "--interaction",
            "x",
            "--threshold",
            "-1",
        ],
        "--threshold",
    ),
    (
        &[
            "history",
            "query",
            "--interaction",
            "x",
            "--threshold",
            "ten",
        ],
        "--threshold",
    ),
    (
        &["history", "query", "--interaction", "x", "--limit", "0"],
        "limit",
    ),
    (
        &[
            "history",
            "query",
            "--interaction",
            "x",
            "--limit",
            "4294967296",
        ],
        "--limit",
    ),
    (
        &["history", "query", "--interaction", "x", "--limit=-1"],
        "--limit",
    ),
    (
        &[
            "history",
            "query",
            "--interaction",
            "x",
            "--concurrency",
            "0",
        ],
        "--concurrency",
    ),
    (
        &[
            "history",
            "query",
            "--interaction",
            "x",
            "--concurrency",
            "99999999999999999999",
        ],
        "--concurrency",
    ),
    (
        &["history", "query", "--interaction", "a\u{7f}"],
        "interaction_ids[0]",
    ),
    // agent: skills, attempts, ids.
    (
        &[
            "agent",
            "set-workmode",
            "agent-001",
            "--workmode",
            "w",
            "--skill",
            "a:1:99999999999",
        ],
        "--skill",
    ),
    (
        &[
            "agent",
            "set-workmode",
            "agent-001",
            "--workmode",
            "w",
            "--skill",
            "a:-1:1",
        ],
        "--skill",
    ),
    (
        &[
            "agent",
            "set-workmode",
            "agent-001",
            "--workmode",
            "w",
            "--skill",
            "a:1",
        ],
        "--skill",
    ),
    (
        &[
            "agent",
            "set-workmode",
            "agent-001",
            "--workmode",
            "w",
            "--add-skill",
            "x:1:99999999999999",
        ],
        "--add-skill",
    ),
    (
        &[
            "agent",
            "set-workmode",
            "agent-001",
            "--workmode",
            "w",
            "--add-skill",
            ":1:1",
        ],
        "--add-skill",
    ),
    (
        &[
            "agent",
            "set-workmode",
            "agent-001",
            "--workmode",
            "w",
            "--remove-skill",
            "",
        ],
        "--remove-skill",
    ),
    (
        &[
            "agent",
            "set-workmode",
            "agent-001",
            "--workmode",
            "w",
            "--max-attempts",
            "99999999999",
        ],
        "--max-attempts",
    ),
    (
        &[
            "agent",
            "set-workmode",
            "agent-001",
            "--workmode",
            "w",
            "--max-attempts",
            "0",
        ],
        "--max-attempts",
    ),
    (
        &[
            "agent",
            "simulate",
            "--workmode",
            "w",
            "--seed",
            "18446744073709551616",
        ],
        "--seed",
    ),
    (&["agent", "show", ""], "agent_id"),
    (&["agent", "show", "a\u{1b}]0;x\u{7}"], "agent_id"),
    (&["agent", "show", "../../_sim/faults"], "agent_id"),
    // workflow: timeouts, priorities, variables.
    (
        &["workflow", "run", WF, "--timeout", "18446744073709551616"],
        "--timeout",
    ),
    (&["workflow", "run", WF, "--timeout=-1"], "--timeout"),
    (&["workflow", "run", WF, "--input", "=1"], "--input"),
    (
        &[
            "workflow",
            "trigger",
            WF,
            "--priority",
            "99999999999999999999",
        ],
        "--priority",
    ),
    (&["workflow", "trigger", WF, "--priority", "0"], "priority"),
    (
        &[
            "workflow",
            "trigger",
            WF,
            "--priority",
            "9223372036854775807",
        ],
        "priority",
    ),
    (
        &[
            "workflow",
            "trigger",
            WF,
            "--var",
            "n:integer=99999999999999999999999",
        ],
        "n",
    ),
    (&["workflow", "trigger", WF, "--var", "n:int=1"], "--var"),
    // data actions: timeouts.
    (
        &[
            "dataaction",
            "run",
            "DA-123456",
            "--version",
            "v2.1.0",
            "--timeout-ms",
            "4294967296",
        ],
        "--timeout-ms",
    ),
    (
        &[
            "dataaction",
            "run",
            "DA-123456",
            "--version",
            "v2.1.0",
            "--timeout-ms",
            "0",
        ],
        "executionTimeoutMs",
    ),
    (
        &[
            "dataaction",
            "run",
            "DA-123456",
            "--version",
            "v2.1.0",
            "--max-wait",
            "18446744073709551616",
        ],
        "--max-wait",
    ),
    (
        &[
            "dataaction",
            "run",
            "DA-123456",
            "--version",
            "v2.1.0",
            "--max-wait=-1",
        ],
        "--max-wait",
    ),
    // audit, sim, global.
    (
        &["audit", "tail", ".", "--lines", "18446744073709551616"],
        "--lines",
    ),
    (&["sim", "serve", "--port", "70000"], "--port"),
    (&["sim", "serve", "--keep-for", "0"], "--keep-for"),
    (
        &["sim", "serve", "--keep-for", "99999999999999999999"],
        "--keep-for",
    ),
    (&["sim", "serve", "--max-tokens=-1"], "--max-tokens"),
    (
        &["--output", "xml", "agent", "show", "agent-001"],
        "--output",
    ),
];

#[test]
fn hostile_arguments_end_in_an_error_naming_the_flag_never_a_panic() {
    let dir = tempfile::tempdir().unwrap();
    let mut failures = Vec::new();
    for (args, needle) in CASES {
        let (code, _, err) = run(cx(dir.path()).args(*args));
        let ok = code != 0 && code != 101 && err.contains(needle) && !err.contains("panicked");
        if !ok {
            failures.push(format!("{args:?} → exit {code}: {err}"));
        }
    }
    println!("{} hostile argument cases", CASES.len());
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// A server on 127.0.0.1 that hands out a token and answers every other
/// request with `status` and `body` (JSON); one thread per connection.
fn hostile_server(status: u16, body: &'static str) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        for conn in listener.incoming() {
            let Ok(mut conn) = conn else { continue };
            std::thread::spawn(move || {
                let mut buf = [0u8; 8192];
                let n = conn.read(&mut buf).unwrap_or(0);
                let head = String::from_utf8_lossy(&buf[..n]);
                let (status, body) = if head.contains("token") {
                    (
                        200,
                        r#"{"access_token":"t","token_type":"Bearer","expires_in":3600}"#,
                    )
                } else {
                    (status, body)
                };
                let _ = write!(
                    conn,
                    "HTTP/1.1 {status} X\r\ncontent-type: application/json\r\netag: \"v1\"\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                    body.len()
                );
            });
        }
    });
    url
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
    let (code, out, err) = against(&url, dir.path(), &["agent", "show", "agent-001"]);
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
    let (code, out, err) = against(&url, dir.path(), &["agent", "show", "agent-001"]);
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
    let doc: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(doc["profile"]["currentWorkMode"]["id"], "wm\u{1b}]0;x\u{7}");
}
