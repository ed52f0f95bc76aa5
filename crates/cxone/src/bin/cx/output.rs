//! Output: human text or one JSON document on stdout; a spinner on stderr.
//!
//! Every line `cx` prints for a person goes through this module ([`say!`]
//! on stdout, [`note!`] and [`fail`] on stderr): server-supplied text may
//! carry ESC, OSC or NUL, so each line passes through [`cx_http::escape`]
//! (control characters shown as `\u{..}`, line breaks kept). JSON output is
//! printed as serde_json writes it. `crates/cxone/clippy.toml` forbids
//! `println!`/`eprintln!` and friends elsewhere in the crate, so a new
//! command cannot print around it. A closed stdout (`cx ... | head`) is not
//! an error.

use std::io::{IsTerminal as _, Write};
use std::process::ExitCode;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressStyle};
use serde_json::Value;

/// The output formats every command supports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutputFormat {
    /// Text for people.
    Human,
    /// One JSON document on stdout.
    Json,
}

/// `--output` values. `table` and `csv` are for tabular reports (`cx
/// history query`); other commands print `table` as `human` and refuse `csv`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum OutputArg {
    /// Text for people.
    Human,
    /// One JSON document on stdout.
    Json,
    /// Aligned text tables (as `human` for commands without tables).
    Table,
    /// Comma-separated values with a header row (tabular commands only).
    Csv,
}

impl OutputArg {
    /// The format of a command without tabular output.
    ///
    /// # Errors
    /// A one-line reason for `csv`.
    pub fn general(self) -> Result<OutputFormat, String> {
        match self {
            OutputArg::Human | OutputArg::Table => Ok(OutputFormat::Human),
            OutputArg::Json => Ok(OutputFormat::Json),
            OutputArg::Csv => {
                Err("--output csv is only supported by list commands (`cx history query`, `cx agent list | states | skills`)".to_owned())
            }
        }
    }
}

/// `n` and `noun`, plural unless `n` is 1: `1 poll`, `3 polls`.
pub fn count(n: u32, noun: &str) -> String {
    format!("{n} {noun}{}", if n == 1 { "" } else { "s" })
}

/// Print `value` as pretty JSON on stdout. When the command opened a
/// tenant, an object gets `"tenant": {"kind": ...}` (`embedded-simulator`,
/// `access-key` or `client-credentials`): the one place results say where
/// they came from.
///
/// # Errors
/// When `value` cannot be serialised (never for `serde_json::Value`).
pub fn print_json(value: &Value) -> crate::CliResult {
    match (crate::session::tenant_kind(), value) {
        (Some(kind), Value::Object(map)) if !map.contains_key("tenant") => {
            let mut map = map.clone();
            map.insert(
                "tenant".to_owned(),
                serde_json::json!({ "kind": kind.as_str() }),
            );
            print_raw(&format!(
                "{}\n",
                serde_json::to_string_pretty(&Value::Object(map))?
            ));
        }
        _ => print_raw(&format!("{}\n", serde_json::to_string_pretty(value)?)),
    }
    Ok(())
}

/// Print machine-readable text (JSON lines, generated Markdown) on stdout
/// as it is.
pub fn print_raw(text: &str) {
    let _ = std::io::stdout().lock().write_all(text.as_bytes());
}

/// Print `text` for a person on stdout, each line escaped.
pub fn human(text: &str) {
    write_escaped(&mut std::io::stdout().lock(), text);
}

/// Print `text` for a person on stderr, each line escaped.
pub fn human_err(text: &str) {
    write_escaped(&mut std::io::stderr().lock(), text);
}

fn write_escaped(out: &mut dyn Write, text: &str) {
    for line in text.split_inclusive('\n') {
        let (body, end) = match line.strip_suffix('\n') {
            Some(body) => (body, "\n"),
            None => (line, ""),
        };
        if write!(out, "{}{end}", cx_http::escape(body)).is_err() {
            return;
        }
    }
}

/// `println!` for people: one escaped line on stdout (see the module docs).
macro_rules! say {
    () => {
        $crate::output::human("\n")
    };
    ($($arg:tt)*) => {
        $crate::output::human(&format!("{}\n", format_args!($($arg)*)))
    };
}

/// `eprintln!` for people: one escaped line on stderr (see the module docs).
macro_rules! note {
    ($($arg:tt)*) => {
        $crate::output::human_err(&format!("{}\n", format_args!($($arg)*)))
    };
}

pub(crate) use {note, say};

/// Exit status of a command refused because the caller's own precondition
/// (`--if-match`) no longer held: nothing was written or re-sent.
pub const EXIT_PRECONDITION: u8 = 3;

/// Report a failed command on stderr, one escaped line `cx: reason: cause
/// ...`, and return its exit status: [`EXIT_PRECONDITION`] for a refused
/// `--if-match`, else 1.
pub fn fail(err: &(dyn std::error::Error + 'static)) -> ExitCode {
    note!("cx: {}", one_line(err));
    let precondition = err.downcast_ref::<cx_agent::Error>().is_some_and(|e| {
        e.kind() == cx_agent::ErrorKind::Domain(cx_agent::AgentKind::PreconditionFailed)
    });
    if precondition {
        ExitCode::from(EXIT_PRECONDITION)
    } else {
        ExitCode::FAILURE
    }
}

/// One line: the error and each distinct cause, joined by ": ".
fn one_line(err: &(dyn std::error::Error + 'static)) -> String {
    let mut line = err.to_string();
    let mut source = err.source();
    while let Some(s) = source {
        let text = s.to_string();
        if !line.contains(&text) {
            line.push_str(": ");
            line.push_str(&text);
        }
        source = s.source();
    }
    line.replace('\n', " ")
}

/// After a successful command against the embedded simulator, the
/// "(simulated)" line of human and table output (JSON carries the tenant
/// kind instead; CSV stays parseable and gets the note on stderr).
pub fn simulated_note(arg: OutputArg) {
    if crate::session::tenant_kind() != Some(crate::session::TenantKind::EmbeddedSimulator) {
        return;
    }
    let note =
        "(simulated) these results come from the embedded CXone simulator, not a real tenant";
    match arg {
        OutputArg::Human | OutputArg::Table => say!("{note}"),
        OutputArg::Csv => note!("cx: {note}"),
        OutputArg::Json => {}
    }
}

/// A spinner on stderr, hidden when stderr is not a terminal.
pub fn spinner(message: &str) -> ProgressBar {
    if !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new_spinner();
    if let Ok(style) = ProgressStyle::with_template("{spinner} {msg} [{elapsed}]") {
        bar.set_style(style);
    }
    bar.set_message(message.to_owned());
    bar.enable_steady_tick(Duration::from_millis(100));
    bar
}

/// A progress bar on stderr counting records with their rate, hidden when
/// stderr is not a terminal.
pub fn records_bar(message: &str) -> ProgressBar {
    if !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new_spinner();
    if let Ok(style) = ProgressStyle::with_template(
        "{spinner} {msg} {human_pos}/{human_len} records ({per_sec}) [{elapsed}]",
    ) {
        bar.set_style(style);
    }
    bar.set_message(message.to_owned());
    bar.enable_steady_tick(Duration::from_millis(100));
    bar
}
