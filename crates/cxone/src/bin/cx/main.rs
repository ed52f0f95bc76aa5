//! `cx`: NICE CXone from a terminal.
//!
//! The tenant comes from flags, `CXONE_*` variables or a profile of the
//! config file (see `profile`: flags > environment > profile > default
//! profile). With nothing configured at all, `cx` starts the embedded
//! simulator and says so on stderr and in every result, so every command
//! works on a fresh machine. Human output by default; `--output json` prints
//! one JSON document on stdout. On failure `cx` prints a one-line reason on
//! stderr and exits non-zero (1: the operation failed; 2: bad usage; 3: the
//! caller's `--if-match` no longer held, nothing written). Server text
//! printed for a person is escaped (see `output`).

mod agent;
mod agent_real;
mod agent_session;
mod args;
mod audit;
mod contacts;
mod dataaction;
mod durations;
mod extract;
mod history;
mod output;
mod profile;
mod script;
mod session;
mod sim;
mod webhook;
mod workflow;

use std::io::IsTerminal as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use crate::output::{OutputArg, OutputFormat, note};
use crate::session::TenantArgs;

/// The heading of the flags every command takes, so each command's help
/// shows them apart from its own.
const GLOBAL_OPTIONS: &str = "Global options";

/// The package version, and the git commit when built from a checkout
/// (`CX_VERSION` is set by `build.rs`).
const VERSION: &str = env!("CX_VERSION");

/// Automate NICE CXone: run workflows, change agent availability, export and
/// verify audit logs, or run the simulator.
#[derive(Debug, Parser)]
#[command(name = "cx", version = VERSION, propagate_version = true)]
struct Cli {
    #[command(flatten, next_help_heading = GLOBAL_OPTIONS)]
    tenant: TenantArgs,

    /// Output format: `human` text, one `json` document on stdout, or for
    /// tabular reports (`cx history query`) `table` or `csv`.
    #[arg(
        long,
        global = true,
        value_enum,
        default_value_t = OutputArg::Human,
        help_heading = GLOBAL_OPTIONS
    )]
    output: OutputArg,

    /// Directory for audit JSONL files (one `audit-YYYYMMDD.jsonl` per UTC day).
    #[arg(
        long,
        global = true,
        env = "CX_AUDIT_DIR",
        hide_env_values = true,
        default_value = "cx-audit",
        help_heading = GLOBAL_OPTIONS
    )]
    audit_dir: PathBuf,

    /// Log more on stderr (-v: info, -vv: debug, -vvv: trace).
    #[arg(
        short,
        long,
        global = true,
        action = clap::ArgAction::Count,
        help_heading = GLOBAL_OPTIONS
    )]
    verbose: u8,

    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Workflows: run an execution to its end, or trigger an instance.
    #[command(subcommand)]
    Workflow(workflow::WorkflowCommand),
    /// Agent availability: profile, skills, work-mode changes.
    #[command(subcommand)]
    Agent(agent::AgentCommand),
    /// Data actions: execute, poll the job, extract typed values.
    #[command(subcommand)]
    Dataaction(dataaction::DataActionCommand),
    /// CXone Data Extraction jobs: export an entity's data to a file.
    #[command(subcommand)]
    Extract(extract::ExtractCommand),
    /// CXone Studio scripts: start one, signal it, follow its contact.
    #[command(subcommand)]
    Script(script::ScriptCommand),
    /// Export CXone's audit log; verify local audit files.
    #[command(subcommand)]
    Audit(audit::AuditCommand),
    /// Interaction history: query, path analysis, bottlenecks.
    #[command(subcommand)]
    History(history::HistoryCommand),
    /// Completed contacts, state histories and their analytics.
    #[command(subcommand)]
    Contacts(contacts::ContactsCommand),
    /// Log in and show the tenant: id, area, API host, token lifetime.
    Login,
    /// Named profiles of the config file.
    #[command(subcommand)]
    Profile(profile::ProfileCommand),
    /// Run the CXone simulator.
    #[command(subcommand)]
    Sim(sim::SimCommand),
    /// Receive signed instance-completion webhooks.
    #[command(subcommand)]
    Webhook(webhook::WebhookCommand),
    /// Print a shell completion script on stdout.
    ///
    /// bash: `source <(cx completions bash)`, or save it in
    /// ~/.local/share/bash-completion/completions/cx; zsh: save it as `_cx` in
    /// a directory of your `fpath`; fish: save it as
    /// ~/.config/fish/completions/cx.fish.
    Completions {
        /// The shell to complete for.
        shell: clap_complete::Shell,
    },
    /// Print the command reference as Markdown, or write the man pages
    /// (`cargo xtask codegen` writes them to docs/cli.md and docs/man/).
    #[command(hide = true)]
    Reference {
        /// Write `cx.1` and one page per subcommand into this directory
        /// instead of printing Markdown.
        #[arg(long, value_name = "DIR")]
        man: Option<PathBuf>,
    },
}

/// The Markdown reference of every command: its long help, recursively.
/// `cargo xtask codegen` writes this to `docs/cli.md`; a test fails when the
/// file is stale.
fn reference() -> String {
    use clap::CommandFactory as _;
    fn walk(cmd: &mut clap::Command, path: &str, out: &mut String) {
        if cmd.is_hide_set() {
            return;
        }
        let help = cmd.render_long_help().to_string();
        out.push_str(&format!(
            "\n## `{path}`\n\n```text\n{}\n```\n",
            help.trim_end()
        ));
        for sub in cmd.get_subcommands_mut() {
            let name = sub.get_name().to_owned();
            if name == "help" {
                continue;
            }
            walk(sub, &format!("{path} {name}"), out);
        }
    }
    let mut cmd = Cli::command();
    cmd.build();
    let mut out = String::from(
        "<!-- generated by `cargo xtask codegen`, do not edit -->\n# `cx` command reference\n",
    );
    walk(&mut cmd, "cx", &mut out);
    out
}

/// Write `cx.1` and a page per subcommand (`cx-workflow-run.1`, ...) into
/// `dir`. The pages carry the package version without the commit, so they
/// change only when the commands do.
///
/// # Errors
/// When `dir` or a page cannot be written.
fn man_pages(dir: &Path) -> std::io::Result<()> {
    use clap::CommandFactory as _;
    fn write(cmd: &clap::Command, dir: &Path) -> std::io::Result<()> {
        for sub in cmd.get_subcommands().filter(|s| !s.is_hide_set()) {
            write(sub, dir)?;
        }
        clap_mangen::Man::new(cmd.clone())
            .source(concat!("cx ", env!("CARGO_PKG_VERSION")))
            .manual("cx manual")
            .generate_to(dir)?;
        Ok(())
    }
    std::fs::create_dir_all(dir)?;
    let mut cmd = Cli::command()
        .version(env!("CARGO_PKG_VERSION"))
        .disable_help_subcommand(true);
    cmd.build();
    write(&cmd, dir)
}

/// The error every command returns; `main` prints it on one line.
pub type CliResult<T = ()> = Result<T, Box<dyn std::error::Error + Send + Sync>>;

/// The shared flags every command receives.
pub struct Globals {
    /// Where the tenant is.
    pub tenant: TenantArgs,
    /// Output format.
    pub output: OutputFormat,
    /// `--output` as given (tabular commands read `table` and `csv` from it).
    pub output_arg: OutputArg,
    /// Audit directory.
    pub audit_dir: PathBuf,
}

/// Logs go to stderr, coloured only when stderr is a terminal and
/// `NO_COLOR` is unset or empty (<https://no-color.org>).
fn init_tracing(verbose: u8) {
    let level = match verbose {
        0 => "warn",
        1 => "info",
        2 => "debug",
        _ => "trace",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_env("CX_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(level));
    let colour = std::io::stderr().is_terminal()
        && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty());
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(colour)
        .with_writer(std::io::stderr)
        .try_init();
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    // Commands that only describe the CLI: no runtime, tenant or simulator.
    match &cli.command {
        Command::Completions { shell } => {
            use clap::CommandFactory as _;
            // Into a buffer first: clap_complete panics on a failed write,
            // and a closed stdout (`cx completions bash | head`) is not an error.
            let mut script = Vec::new();
            clap_complete::generate(*shell, &mut Cli::command(), "cx", &mut script);
            output::print_raw(&String::from_utf8_lossy(&script));
            return ExitCode::SUCCESS;
        }
        Command::Reference { man: None } => {
            output::print_raw(&reference());
            return ExitCode::SUCCESS;
        }
        Command::Reference { man: Some(dir) } => {
            return match man_pages(dir) {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => {
                    output::note!("cx: cannot write man pages to {}: {e}", dir.display());
                    ExitCode::FAILURE
                }
            };
        }
        _ => {}
    }
    let output = match (&cli.command, cli.output.general()) {
        (_, Ok(format)) => format,
        (Command::History(_) | Command::Contacts(_), Err(_)) => OutputFormat::Human,
        (Command::Agent(cmd), Err(_)) if cmd.lists() => OutputFormat::Human,
        (_, Err(reason)) => {
            note!("cx: {reason}");
            return ExitCode::from(2);
        }
    };
    init_tracing(cli.verbose);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            note!("cx: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let output_arg = cli.output;
    let globals = Globals {
        tenant: cli.tenant,
        output,
        output_arg: cli.output,
        audit_dir: cli.audit_dir,
    };
    let result = runtime.block_on(async move {
        match cli.command {
            Command::Workflow(cmd) => workflow::run(cmd, &globals).await,
            Command::Agent(cmd) => agent::run(cmd, &globals).await,
            Command::Dataaction(cmd) => dataaction::run(cmd, &globals).await,
            Command::Extract(cmd) => extract::run(cmd, &globals).await,
            Command::Script(cmd) => script::run(cmd, &globals).await,
            Command::Audit(cmd) => audit::run(cmd, &globals).await,
            Command::History(cmd) => history::run(cmd, &globals).await,
            Command::Contacts(cmd) => contacts::run(cmd, &globals).await,
            Command::Login => profile::login(&globals).await,
            Command::Profile(cmd) => profile::run(cmd, &globals),
            Command::Sim(cmd) => sim::run(cmd).await,
            Command::Webhook(cmd) => webhook::run(cmd, &globals).await,
            Command::Completions { .. } | Command::Reference { .. } => Ok(ExitCode::SUCCESS),
        }
    });
    match result {
        Ok(code) => {
            output::simulated_note(output_arg);
            code
        }
        Err(e) => output::fail(e.as_ref()),
    }
}
