//! `cx`: NICE CXone from a terminal.
//!
//! The tenant comes from `CXONE_API_URL`, `CXONE_AUTH_URL`, `CXONE_CLIENT_ID`
//! and `CXONE_CLIENT_SECRET` (or the matching flags). With none of them set,
//! `cx` starts the embedded simulator and says so on stderr, so every command
//! works on a fresh machine. Human output by default; `--output json` prints
//! one JSON document on stdout. On failure `cx` prints a one-line reason on
//! stderr and exits non-zero (1: the operation failed; 2: bad usage).

mod audit;
mod output;
mod session;
mod sim;
mod workflow;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use crate::output::OutputFormat;
use crate::session::TenantArgs;

/// Automate NICE CXone: run workflows, export and verify audit logs, or run
/// the simulator.
#[derive(Debug, Parser)]
#[command(name = "cx", version, propagate_version = true)]
struct Cli {
    #[command(flatten)]
    tenant: TenantArgs,

    /// Output format: `human` text or one `json` document on stdout.
    #[arg(long, global = true, value_enum, default_value_t = OutputFormat::Human)]
    output: OutputFormat,

    /// Directory for audit JSONL files (one `audit-YYYYMMDD.jsonl` per UTC day).
    #[arg(long, global = true, env = "CX_AUDIT_DIR", default_value = "cx-audit")]
    audit_dir: PathBuf,

    /// Log more on stderr (-v: info, -vv: debug, -vvv: trace).
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    verbose: u8,

    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Workflow executions (seed 000) and instances (seed 001).
    #[command(subcommand)]
    Workflow(workflow::WorkflowCommand),
    /// Export CXone's audit log; verify local audit files.
    #[command(subcommand)]
    Audit(audit::AuditCommand),
    /// Run the CXone simulator.
    #[command(subcommand)]
    Sim(sim::SimCommand),
}

/// The error every command returns; `main` prints it on one line.
pub type CliResult<T = ()> = Result<T, Box<dyn std::error::Error + Send + Sync>>;

/// The shared flags every command receives.
pub struct Globals {
    /// Where the tenant is.
    pub tenant: TenantArgs,
    /// Output format.
    pub output: OutputFormat,
    /// Audit directory.
    pub audit_dir: PathBuf,
}

fn init_tracing(verbose: u8) {
    let level = match verbose {
        0 => "warn",
        1 => "info",
        2 => "debug",
        _ => "trace",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_env("CX_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(level));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
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

fn main() -> ExitCode {
    let cli = Cli::parse();
    init_tracing(cli.verbose);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("cx: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let globals = Globals {
        tenant: cli.tenant,
        output: cli.output,
        audit_dir: cli.audit_dir,
    };
    let result = runtime.block_on(async move {
        match cli.command {
            Command::Workflow(cmd) => workflow::run(cmd, &globals).await,
            Command::Audit(cmd) => audit::run(cmd, &globals).await,
            Command::Sim(cmd) => sim::run(cmd).await,
        }
    });
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("cx: {}", one_line(e.as_ref()));
            ExitCode::FAILURE
        }
    }
}
