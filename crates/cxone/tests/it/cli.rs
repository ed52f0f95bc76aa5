//! The `cx` binary as a user runs it: with no tenant (embedded simulator) and
//! against `cx sim serve` in another process.

// Tests unwrap: a panic with the value is the failure report.

use std::process::{Command, Stdio};

use crate::support::{Line, WF, cx, journal, json, run, serve, wf};

#[test]
fn workflow_run_json_with_no_tenant_prints_a_completed_execution() {
    let dir = tempfile::tempdir().unwrap();
    let (code, out, err) = run(cx(dir.path()).line(&format!(
        "workflow run {WF} --input customerId=CUST-99887 --input priorityScore=85 --output json"
    )));
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("embedded simulator"), "{err}");
    assert!(out.contains("\"status\": \"COMPLETED\""), "{out}");
    let doc = json(&out);
    assert_eq!(
        doc["output"]["echo"]["priorityScore"], 85,
        "coerced to a number"
    );
    assert_eq!(doc["audit"]["verified"], true);
    assert_eq!(doc["metrics"]["successfulExecutions"], 1);
}

#[test]
fn the_readme_run_command_maps_output_and_leaves_a_verifiable_audit_file() {
    let readme = include_str!("../../../../README.md");
    let line = readme
        .lines()
        .find(|l| l.starts_with("cargo run -q -p cxone --features cli --bin cx -- workflow run"))
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
    let cases: &[(&str, &str)] = &[
        ("workflow run wf_draft_0001 --input customerId=X", "DRAFT"),
        ("workflow run {WF} --input nope=1", "input.nope"),
        (
            "workflow run {WF} --input priorityScore=abc",
            "input.priorityScore",
        ),
        (
            "workflow run wf_failing_0001 --input customerId=X",
            "DOWNSTREAM_TIMEOUT",
        ),
        (
            "workflow run wf_stuck_0001 --input customerId=X --timeout 1",
            "unknown outcome",
        ),
        (
            "workflow trigger {WF} --var priorityScore:integer=85 --priority 0",
            "priority",
        ),
        (
            "workflow trigger {WF} --var priorityScore:integer=abc",
            "context.priorityScore",
        ),
    ];
    for (args, needle) in cases {
        let (code, _, err) = run(cx(dir.path()).line(&wf(args)));
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

/// Issue 13: `cx workflow run` keeps what the workflow's executions took in
/// its cache directory, and the next run (another process) reads the status
/// once, just after that duration.
#[test]
fn a_second_workflow_run_reads_the_status_once() {
    let dir = tempfile::tempdir().unwrap();
    let served = serve(dir.path(), "my-client", "my-secret");
    let status_reads = || {
        journal(&served.url)
            .iter()
            .filter(|e| {
                e["method"] == "GET" && e["path"].as_str().unwrap_or("").contains("/executions/")
            })
            .count()
    };
    let run_once = || {
        let mut c = cx(dir.path());
        c.env("CXONE_API_URL", &served.url)
            .env("CXONE_CLIENT_ID", "my-client")
            .env("CXONE_CLIENT_SECRET", "my-secret");
        let (code, _, err) = run(c.line(&format!("workflow run {WF} --input customerId=C1")));
        assert_eq!(code, 0, "{err}");
    };
    run_once();
    let first = status_reads();
    let cache = dir
        .path()
        .join("home")
        .join(".cache")
        .join("cx")
        .join("durations.json");
    let kept: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&cache).unwrap()).unwrap();
    let table = &kept["tenants"][format!("workflow {}", served.url).as_str()];
    assert_eq!(table[0][0], WF, "{kept}");
    assert!(table[0][1].as_u64().is_some_and(|ms| ms > 0), "{kept}");
    run_once();
    assert_eq!(status_reads() - first, 1);
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
    let (code, out, err) = run(c.line(&format!(
        "workflow run {WF} --input customerId=C1 --output json"
    )));
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
    let (code, out, err) = run(c
        .line(&wf(
            "workflow trigger {WF} --priority 2 --var customerId:string=CUST-99887",
        ))
        .line("--var priorityScore:integer=85 --var requiresCallback:boolean=true")
        .args([
            "--var",
            r#"routingMetadata:object={"channel":"voice","queue":"sales"}"#,
        ]));
    assert_eq!(code, 0, "{err}");
    assert!(out.starts_with("instance inst_"), "{out}");

    let export = dir.path().join("export.jsonl");
    let mut c = cx(dir.path());
    tenant(&mut c);
    let (code, out, err) = run(c
        .line(&format!(
            "audit export --resource-type workflow_execution --resource-id {WF} --out"
        ))
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
fn the_generated_command_reference_and_man_pages_are_up_to_date() {
    let dir = tempfile::tempdir().unwrap();
    let (code, out, err) = run(cx(dir.path()).arg("reference"));
    assert_eq!(code, 0, "{err}");
    let checked_in = include_str!("../../../../docs/cli.md");
    assert!(
        out == checked_in,
        "docs/cli.md is stale: run `cargo xtask codegen`"
    );
    assert!(out.contains("## `cx workflow run`"), "{out}");

    // The man pages: the same set of files, byte for byte.
    let generated = dir.path().join("man");
    let (code, _, err) = run(cx(dir.path()).args(["reference", "--man"]).arg(&generated));
    assert_eq!(code, 0, "{err}");
    let docs_man = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/man");
    let pages = |d: &std::path::Path| {
        let mut names: Vec<String> = std::fs::read_dir(d)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    };
    let names = pages(&generated);
    assert_eq!(
        names,
        pages(&docs_man),
        "docs/man is stale: run `cargo xtask codegen`"
    );
    for name in &names {
        assert!(
            std::fs::read(generated.join(name)).unwrap()
                == std::fs::read(docs_man.join(name)).unwrap(),
            "docs/man/{name} is stale: run `cargo xtask codegen`"
        );
    }
    // One page per command, the root included.
    for page in ["cx.1", "cx-workflow-run.1", "cx-completions.1"] {
        assert!(names.iter().any(|n| n == page), "{page}: {names:?}");
    }
}

/// `cx.1` renders without a roff warning through `man -l` (or groff when
/// `man` is missing; `.ci/run` installs man-db where it can).
#[test]
fn the_man_page_renders() {
    let page = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/man/cx.1");
    let roff = std::fs::read_to_string(&page).unwrap();
    assert!(roff.contains("\n.TH cx 1 "), "{roff}");
    let has = |tool: &str| {
        Command::new(tool)
            .arg("--version")
            .output()
            .is_ok_and(|o| o.status.success())
    };
    let rendered = if has("man") {
        Command::new("man")
            .args(["--warnings", "-l"])
            .arg(&page)
            .env("MANWIDTH", "100")
            .env("MANPAGER", "cat")
            .output()
            .unwrap()
    } else if has("groff") {
        Command::new("groff")
            .args(["-man", "-Tutf8", "-ww"])
            .arg(&page)
            .output()
            .unwrap()
    } else {
        panic!("neither man nor groff is installed: install man-db (see .ci/run)");
    };
    let text = String::from_utf8_lossy(&rendered.stdout);
    let warnings = String::from_utf8_lossy(&rendered.stderr);
    assert!(rendered.status.success(), "{warnings}");
    assert!(warnings.trim().is_empty(), "roff warnings: {warnings}");
    for needle in [
        "NAME",
        "SYNOPSIS",
        "GLOBAL OPTIONS",
        "workflow",
        "completions",
    ] {
        assert!(text.contains(needle), "{needle}: {text}");
    }
}

/// Every command path of the generated reference: `["workflow", "run"]`, ...
fn command_paths() -> Vec<Vec<String>> {
    include_str!("../../../../docs/cli.md")
        .lines()
        .filter_map(|l| l.strip_prefix("## `cx")?.strip_suffix('`'))
        .map(|p| p.split_whitespace().map(str::to_owned).collect())
        .collect()
}

#[test]
fn global_flags_have_their_own_heading_in_every_commands_help() {
    let dir = tempfile::tempdir().unwrap();
    let paths = command_paths();
    assert!(paths.len() > 20, "{paths:?}");
    for path in &paths {
        for help in ["--help", "-h"] {
            let (code, out, err) = run(cx(dir.path()).args(path).arg(help));
            assert_eq!(code, 0, "{path:?}: {err}");
            let (own, global) = out
                .split_once("\nGlobal options:\n")
                .unwrap_or_else(|| panic!("{path:?} {help}: no Global options heading: {out}"));
            // The flags each section defines: its lines that start with `-`.
            let defined = |section: &str| -> Vec<String> {
                section
                    .lines()
                    .map(str::trim_start)
                    .filter(|l| l.starts_with('-'))
                    .flat_map(|l| l.split([',', ' ']).filter(|w| w.starts_with("--")))
                    .map(|w| w.trim_end_matches("...").to_owned())
                    .collect()
            };
            let (own, global) = (defined(own), defined(global));
            for flag in ["--output", "--audit-dir", "--verbose", "--api-url"] {
                assert!(
                    global.iter().any(|f| f == flag),
                    "{path:?} {help}: {flag}: {out}"
                );
                assert!(
                    !own.iter().any(|f| f == flag),
                    "{path:?} {help}: {flag} mixed in: {out}"
                );
            }
        }
    }
}

/// "seed 000" (any case, any three digits): the seeds are our requirements
/// documents, not something a user knows; help and README name operations.
fn seed_numbers(text: &str) -> Vec<String> {
    let lower = text.to_ascii_lowercase();
    lower
        .match_indices("seed ")
        .filter_map(|(at, _)| {
            let digits = lower.get(at + 5..at + 8)?;
            digits
                .bytes()
                .all(|b| b.is_ascii_digit())
                .then(|| lower[at.saturating_sub(30)..at + 8].to_owned())
        })
        .collect()
}

#[test]
fn nothing_a_user_reads_names_a_seed_number() {
    assert_eq!(seed_numbers("see Seed 004 here"), ["see seed 004"]);
    let dir = tempfile::tempdir().unwrap();
    let mut texts = vec![
        (
            "README.md".to_owned(),
            include_str!("../../../../README.md").to_owned(),
        ),
        (
            "docs/cli.md".to_owned(),
            include_str!("../../../../docs/cli.md").to_owned(),
        ),
    ];
    let (_, top, _) = run(cx(dir.path()).arg("--help"));
    texts.push(("cx --help".to_owned(), top));
    let man = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/man");
    for entry in std::fs::read_dir(man).unwrap() {
        let path = entry.unwrap().path();
        texts.push((
            path.display().to_string(),
            std::fs::read_to_string(&path).unwrap(),
        ));
    }
    for (name, text) in texts {
        assert_eq!(seed_numbers(&text), Vec::<String>::new(), "{name}");
    }
}

#[test]
fn mistyped_commands_get_a_suggestion_at_every_level() {
    let dir = tempfile::tempdir().unwrap();
    for path in command_paths().into_iter().filter(|p| !p.is_empty()) {
        let (parents, last) = path.split_at(path.len() - 1);
        let typo = format!("{0}{1}", last[0], last[0].chars().last().unwrap());
        let (code, out, err) = run(cx(dir.path()).args(parents).arg(&typo));
        assert_eq!(code, 2, "{parents:?} {typo}: {err}");
        assert!(out.is_empty(), "{out}");
        // clap names every close command: `listt` suggests `list` and `states`.
        let named = format!("'{}'", last[0]);
        assert!(
            err.contains(&format!("a similar subcommand exists: {named}"))
                || (err.contains("some similar subcommands exist:") && err.contains(&named)),
            "{parents:?} {typo}: {err}"
        );
    }
}

#[test]
fn malformed_flag_values_exit_2_before_anything_starts() {
    let dir = tempfile::tempdir().unwrap();
    let run_wf = ["workflow", "run", WF];
    let trigger = ["workflow", "trigger", WF];
    let da = ["dataaction", "run", "DA-123456", "--version", "v2.1.0"];
    let cases: &[(&[&str], &str, &str)] = &[
        (&run_wf, "--input customerId", "--input"),
        (&run_wf, "--input =CUST-1", "--input"),
        (&run_wf, "--map queue", "--map"),
        (&run_wf, "--context channel", "--context"),
        (&trigger, "--var customerId=C1", "--var"),
        (&trigger, "--var customerId:decimal=1.5", "decimal"),
        (&trigger, "--var :string=x", "--var"),
        (&trigger, "--metadata source", "--metadata"),
        (&da, "--param customerId", "--param"),
        (&da, "--env region", "--env"),
        (&da, "--extract riskScore", "--extract"),
        (&da, "--extract riskScore=assessment.[", "--extract"),
    ];
    for (command, flags, needle) in cases {
        let (code, out, err) = run(cx(dir.path()).args(*command).line(flags));
        assert_eq!(code, 2, "{flags:?}: {err}");
        assert!(out.is_empty(), "{flags:?}: {out}");
        assert!(err.starts_with("error: invalid value"), "{flags:?}: {err}");
        assert!(err.contains(needle), "{flags:?}: {err}");
        assert!(
            !err.contains("embedded simulator"),
            "{flags:?}: started: {err}"
        );
        assert!(
            !dir.path().join("audit").exists(),
            "{flags:?}: audit opened"
        );
    }
    // The same values with `=value` are accepted (the parse, not the flag, failed).
    let (code, out, err) = run(cx(dir.path())
        .args(run_wf)
        .line("--input customerId=C1 --map queue=routingDecision --context channel=\"voice\""));
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("queue = "), "{out}");
}

/// The SGR sequences a coloured log line carries (`ESC [ 2 m`, `ESC [ 32 m`).
fn has_colour(text: &str) -> bool {
    text.split('\u{1b}').skip(1).any(|rest| {
        rest.strip_prefix('[').is_some_and(|r| {
            let end = r.find(|c: char| !(c.is_ascii_digit() || c == ';'));
            end.is_some_and(|i| r[i..].starts_with('m'))
        })
    })
}

#[test]
fn logs_are_coloured_only_on_a_terminal_without_no_color() {
    assert!(has_colour("a \u{1b}[2mdim\u{1b}[0m") && !has_colour("\u{1b}[2K\r"));
    let dir = tempfile::tempdir().unwrap();
    // Piped stderr: plain text.
    let (code, _, err) = run(cx(dir.path()).args(["-v", "agent", "show", "agent-001"]));
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("INFO"), "{err}");
    assert!(!has_colour(&err), "{err:?}");

    // stderr on a terminal (util-linux `script` gives the command a pty and
    // copies what it prints to its stdout): coloured unless NO_COLOR is set.
    let on_terminal = |no_color: Option<&str>| {
        let line = format!(
            "'{}' --audit-dir '{}' -v agent show agent-001",
            env!("CARGO_BIN_EXE_cx"),
            dir.path().join("audit").display()
        );
        let mut cmd = Command::new("script");
        // A clean environment: no tenant, no profile, no config file.
        cmd.env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("HOME", dir.path())
            .env("TERM", "xterm")
            .args(["-q", "-e", "-c", &line, "/dev/null"]);
        if let Some(v) = no_color {
            cmd.env("NO_COLOR", v);
        }
        let (code, out, err) = run(&mut cmd);
        assert_eq!(code, 0, "script (util-linux) is needed: {err}{out}");
        assert!(out.contains("INFO") && out.contains("agent-001"), "{out}");
        out
    };
    assert!(has_colour(&on_terminal(None)), "a terminal gets colour");
    assert!(
        has_colour(&on_terminal(Some(""))),
        "an empty NO_COLOR is unset"
    );
    let plain = on_terminal(Some("1"));
    assert!(!has_colour(&plain), "{plain:?}");
}

#[test]
fn audit_export_creates_the_file_even_with_no_entries() {
    let dir = tempfile::tempdir().unwrap();
    let out_file = dir.path().join("exports").join("none.jsonl");
    let (code, out, err) = run(cx(dir.path())
        .line("audit export --resource-type workflow_execution --resource-id wf_nothing_ran --out")
        .arg(&out_file));
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("exported 0 entries"), "{out}");
    assert_eq!(std::fs::read(&out_file).unwrap(), b"", "created and empty");
}

#[test]
fn completions_for_bash_complete_commands_at_every_level() {
    let dir = tempfile::tempdir().unwrap();
    let (code, script, err) = run(cx(dir.path()).args(["completions", "bash"]));
    assert_eq!(code, 0, "{err}");
    assert!(!err.contains("embedded simulator"), "{err}");
    let file = dir.path().join("cx.bash");
    std::fs::write(&file, script).unwrap();
    // Source the script, find the function it registered for `cx`, and call
    // it the way bash does on <TAB>.
    let complete = |words: &[&str]| {
        let words_list = words
            .iter()
            .map(|w| format!("'{w}'"))
            .collect::<Vec<_>>()
            .join(" ");
        let line = words.join(" ");
        let body = format!(
            r#"source '{file}'
fn=$(complete -p cx | sed -E 's/.* -F ([^ ]+) .*/\1/')
COMP_WORDS=({words_list}); COMP_CWORD={cword}; COMP_LINE='{line}'; COMP_POINT={point}
"$fn" cx '{cur}' '{prev}'
printf '%s\n' "${{COMPREPLY[@]}}""#,
            file = file.display(),
            cword = words.len() - 1,
            point = line.len(),
            cur = words[words.len() - 1],
            prev = words[words.len() - 2],
        );
        let (code, out, err) = run(Command::new("bash").args(["--norc", "-c", &body]));
        assert_eq!(code, 0, "{err}");
        out.split_whitespace()
            .map(str::to_owned)
            .collect::<Vec<_>>()
    };
    assert_eq!(complete(&["cx", "wor"]), ["workflow"]);
    assert_eq!(complete(&["cx", "workflow", "tr"]), ["trigger"]);
    assert_eq!(complete(&["cx", "audit", "ex"]), ["export"]);
    assert_eq!(complete(&["cx", "completions", "fi"]), ["fish"]);

    for shell in ["zsh", "fish", "powershell", "elvish"] {
        let (code, script, err) = run(cx(dir.path()).args(["completions", shell]));
        assert_eq!(code, 0, "{shell}: {err}");
        assert!(
            script.contains("workflow") && script.contains("set-workmode"),
            "{shell}"
        );
    }
    let (code, _, err) = run(cx(dir.path()).args(["completions", "tcsh"]));
    assert_eq!(code, 2, "{err}");
}

#[test]
fn completions_into_a_closed_pipe_exit_0_without_a_panic() {
    // `cx completions bash | head -1`: the script (well over a pipe's
    // buffer) meets a closed stdout, which is not an error.
    let dir = tempfile::tempdir().unwrap();
    for shell in ["bash", "zsh"] {
        let mut child = cx(dir.path())
            .args(["completions", shell])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        drop(child.stdout.take());
        let out = child.wait_with_output().unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!err.contains("panicked"), "{shell}: {err}");
        assert_eq!(out.status.code(), Some(0), "{shell}: {err}");
    }
}

#[test]
fn version_names_the_git_commit_when_built_in_a_checkout() {
    let dir = tempfile::tempdir().unwrap();
    let (code, out, err) = run(cx(dir.path()).arg("--version"));
    assert_eq!(code, 0, "{err}");
    let plain = concat!("cx ", env!("CARGO_PKG_VERSION"));
    let head = Command::new("git")
        .args(["rev-parse", "HEAD"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned());
    match head {
        Some(head) => {
            let commit = out
                .trim()
                .strip_prefix(plain)
                .and_then(|r| r.strip_prefix(" ("))
                .and_then(|r| r.strip_suffix(')'))
                .unwrap_or_else(|| panic!("no commit in {out:?}"));
            assert!(
                commit.len() >= 7 && head.starts_with(commit),
                "{out:?} vs HEAD {head}"
            );
        }
        None => assert_eq!(out.trim(), plain),
    }
}
