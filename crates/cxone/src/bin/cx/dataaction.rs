//! `cx dataaction run` and `cx dataaction show` (seed 004).

use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use cx_audit::AuditSink;
use cx_dataaction::{ActionId, Client, Config, Extraction, Payload, RunReport};
use serde_json::{Value, json};

use crate::args::{extract_spec, key_json, key_value};
use crate::durations::Kind;
use crate::output::{OutputFormat, print_json, say, spinner};
use crate::session::Session;
use crate::{CliResult, Globals};

/// Data-action commands.
#[derive(Debug, clap::Subcommand)]
pub enum DataActionCommand {
    /// Execute a data action, wait for its job and print the extracted
    /// values with their types.
    #[command(disable_version_flag = true)]
    Run {
        /// The action id, e.g. DA-123456.
        id: String,
        /// The action version: `v` followed by a semantic version, e.g. v2.1.0.
        #[arg(long = "version", id = "action_version", value_name = "V")]
        version: String,
        /// An input parameter, `key=value`; a value that parses as JSON
        /// (0.85, true, {"a":1}) is sent as JSON, anything else as a string.
        #[arg(long = "param", value_name = "KEY=VALUE", value_parser = key_json)]
        params: Vec<(String, Value)>,
        /// An environment-context variable, `key=value` (sent as a string).
        #[arg(long = "env", value_name = "KEY=VALUE", value_parser = key_value)]
        env: Vec<(String, String)>,
        /// Hard limit on the job's compute time, in ms (1000..=60000).
        #[arg(long, value_name = "N", default_value_t = cx_dataaction::DEFAULT_TIMEOUT_MS)]
        timeout_ms: u32,
        /// Extract a value from the job output, `name=JMESPath`, e.g.
        /// riskScore=assessment.riskScore; digit strings become integers,
        /// decimal strings exact decimals, "true"/"false" booleans.
        #[arg(long = "extract", value_name = "NAME=PATH", value_parser = extract_spec)]
        extract: Vec<String>,
        /// Give up waiting for the job after this many seconds.
        #[arg(long, value_name = "SECS", default_value_t = 120)]
        max_wait: u64,
    },
    /// Show a data action's versions and their required parameters.
    Show {
        /// The action id.
        id: String,
    },
}

/// Run a data-action command.
///
/// # Errors
/// Validation (before any request), API, job and audit failures.
pub async fn run(cmd: DataActionCommand, globals: &Globals) -> CliResult<ExitCode> {
    match cmd {
        DataActionCommand::Run {
            id,
            version,
            params,
            env,
            timeout_ms,
            extract,
            max_wait,
        } => {
            let action = ActionId::new(id)?;
            let mut payload = Payload::new(version).timeout_ms(timeout_ms);
            payload.input_parameters = params.into_iter().collect();
            for (k, v) in env {
                payload = payload.env(k, v);
            }
            payload.check()?;
            let mut extraction = Extraction::new();
            for spec in &extract {
                extraction = extraction.spec(spec)?;
            }
            let session = Session::open(&globals.tenant).await?;
            let audit = Arc::new(session.audit(&globals.audit_dir).await?);
            let durations = crate::durations::load(&session, Kind::DataAction);
            let config = Config::default().with_durations(durations.clone());
            let client = Client::new(session.http.clone(), config).with_audit(audit.clone());
            let bar = spinner(&format!("running {action}"));
            let result = client
                .run(&action, payload)
                .extract(extraction)
                .max_wait(Duration::from_secs(max_wait))
                .send()
                .await;
            bar.finish_and_clear();
            crate::durations::save(&session, Kind::DataAction, &durations);
            audit.flush().await?;
            print_report(&result?, globals.output)?;
            Ok(ExitCode::SUCCESS)
        }
        DataActionCommand::Show { id } => {
            let action = ActionId::new(id)?;
            let session = Session::open(&globals.tenant).await?;
            let client = Client::new(session.http.clone(), Config::default());
            let def = client.definition(&action).await?;
            match globals.output {
                OutputFormat::Json => print_json(&serde_json::to_value(&def)?)?,
                OutputFormat::Human => {
                    say!("{} {} ({})", def.id, def.name, def.status);
                    for v in &def.versions {
                        let required = if v.required_parameters.is_empty() {
                            "nothing".to_owned()
                        } else {
                            v.required_parameters.join(", ")
                        };
                        say!("  {} requires {required}", v.version_id);
                    }
                }
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}

fn print_report(report: &RunReport, output: OutputFormat) -> CliResult {
    let audit = &report.audit;
    match output {
        OutputFormat::Json => print_json(&json!({
            "jobId": report.job.job_id,
            "actionId": audit.action_id,
            "status": report.job.status,
            "values": report.values,
            "output": report.job.output,
            "polls": report.polls,
            "audit": audit,
        })),
        OutputFormat::Human => {
            say!(
                "job {} of {} {} in {:.0} ms ({})",
                report.job.job_id,
                audit.action_id,
                report.job.status,
                audit.latency_ms,
                crate::output::count(report.polls, "poll")
            );
            if report.values.is_empty() {
                let raw = report.job.output.clone().unwrap_or_default();
                say!("output: {raw}");
            }
            let width = report.values.keys().map(String::len).max().unwrap_or(0);
            for (name, value) in &report.values {
                say!("  {name:<width$} = {value} ({})", value.type_name());
            }
            say!(
                "audit: {} {}, payload sha256 {}",
                audit.compliance_tag,
                audit.error_classification.as_str(),
                audit.payload_hash
            );
            Ok(())
        }
    }
}
