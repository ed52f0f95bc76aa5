//! Output: human text or one JSON document on stdout; a spinner on stderr.

use std::io::IsTerminal as _;
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
                Err("--output csv is only supported by `cx history query`".to_owned())
            }
        }
    }
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
            println!("{}", serde_json::to_string_pretty(&Value::Object(map))?);
        }
        _ => println!("{}", serde_json::to_string_pretty(value)?),
    }
    Ok(())
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
        OutputArg::Human | OutputArg::Table => println!("{note}"),
        OutputArg::Csv => eprintln!("cx: {note}"),
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
