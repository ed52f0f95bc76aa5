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

/// Print `value` as pretty JSON on stdout.
///
/// # Errors
/// When `value` cannot be serialised (never for `serde_json::Value`).
pub fn print_json(value: &Value) -> crate::CliResult {
    println!("{}", serde_json::to_string_pretty(value)?);
    Ok(())
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
