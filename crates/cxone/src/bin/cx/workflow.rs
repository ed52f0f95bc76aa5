//! `cx workflow run` (seed 000) and `cx workflow trigger` (seed 001).

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use cx_audit::{AppendTracker, AuditSink, JsonlSink};
use cx_workflow::{
    Client, Config, ExecutionPriority, ExecutionReport, OutputMapping, Progress, TriggerPayload,
    WorkflowId,
};
use serde_json::{Value, json};

use crate::args::{ContextVar, context_var, key_json, key_value};
use crate::output::{OutputFormat, note, print_json, say, spinner};
use crate::session::Session;
use crate::{CliResult, Globals};

/// Workflow commands.
#[derive(Debug, clap::Subcommand)]
pub enum WorkflowCommand {
    /// Run a workflow execution to its end and print its output.
    Run {
        /// The workflow id.
        id: String,
        /// An input variable, `key=value`; the value is converted to the type
        /// the workflow declares (NUMBER, BOOLEAN, OBJECT as JSON, STRING).
        #[arg(long = "input", value_name = "KEY=VALUE", value_parser = key_value)]
        inputs: Vec<(String, String)>,
        /// A context entry, `key=value`; a value that parses as JSON is sent as JSON.
        #[arg(long = "context", value_name = "KEY=VALUE", value_parser = key_json)]
        context: Vec<(String, Value)>,
        /// Execution priority.
        #[arg(long, value_enum)]
        priority: Option<PriorityArg>,
        /// Map an output field into the result, `target=source` (source may be a.b.c).
        #[arg(long = "map", value_name = "TARGET=SOURCE", value_parser = key_value)]
        map: Vec<(String, String)>,
        /// Give up polling after this many seconds.
        #[arg(long, value_name = "SECS", default_value_t = 300)]
        timeout: u64,
    },
    /// Trigger a workflow instance with typed context variables.
    Trigger {
        /// The workflow id.
        id: String,
        /// A context variable, `name:type=value` with type string, integer,
        /// boolean, object or array.
        #[arg(long = "var", value_name = "NAME:TYPE=VALUE", value_parser = context_var)]
        vars: Vec<ContextVar>,
        /// Priority 1 (highest) ..= 10 (lowest).
        #[arg(long, default_value_t = 5, allow_negative_numbers = true)]
        priority: i64,
        /// Metadata entry, `key=value`.
        #[arg(long = "metadata", value_name = "KEY=VALUE", value_parser = key_value)]
        metadata: Vec<(String, String)>,
    },
}

/// `--priority` of `cx workflow run`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
#[value(rename_all = "UPPER")]
pub enum PriorityArg {
    Low,
    Normal,
    High,
}

impl From<PriorityArg> for ExecutionPriority {
    fn from(p: PriorityArg) -> Self {
        match p {
            PriorityArg::Low => ExecutionPriority::Low,
            PriorityArg::Normal => ExecutionPriority::Normal,
            PriorityArg::High => ExecutionPriority::High,
        }
    }
}

/// The CLI polls faster than the seed's 2 s start: the first poll after
/// 100 ms, then 150 ms ×1.5 capped at 5 s, until `timeout`.
fn cli_poller(timeout: Duration) -> cx_http::Poller {
    // ×1.5, the 5 s cap and 10% jitter are the runtime's defaults.
    cx_http::Poller::default()
        .with_first_delay(Duration::from_millis(100))
        .with_initial_delay(Duration::from_millis(150))
        .with_deadline(Some(timeout))
}

/// Run a workflow command.
///
/// # Errors
/// Validation (before any request), API, polling and audit failures.
pub async fn run(cmd: WorkflowCommand, globals: &Globals) -> CliResult<ExitCode> {
    match cmd {
        WorkflowCommand::Run {
            id,
            inputs,
            context,
            priority,
            map,
            timeout,
        } => {
            let workflow_id: WorkflowId = id.parse()?;
            let mut mapping = OutputMapping::new();
            for (target, source) in &map {
                mapping = mapping.map(target, source);
            }
            let context: serde_json::Map<String, Value> = context.into_iter().collect();
            let session = Session::open(&globals.tenant).await?;
            // Keeps where each record went, so the run verifies exactly the
            // lines it wrote and their links, whatever the day file's size.
            let audit = Arc::new(session.audit_through(AppendTracker::new(
                JsonlSink::open(&globals.audit_dir).await?,
            )));
            let durations = crate::durations::load(&session, crate::durations::Kind::Workflow);
            let client = Client::new(
                session.http.clone(),
                Config::default()
                    .with_poller(cli_poller(Duration::from_secs(timeout)))
                    .with_durations(durations.clone()),
            )
            .with_audit(audit.clone());
            let bar = spinner(&format!("running {workflow_id}"));
            let mut exec = client.run(&workflow_id);
            if !mapping.is_empty() {
                exec = exec.mapping(mapping);
            }
            for (k, v) in &inputs {
                exec = exec.input_str(k, v);
            }
            if !context.is_empty() {
                exec = exec.context(context);
            }
            if let Some(p) = priority {
                exec = exec.priority(p.into());
            }
            let progress_bar = bar.clone();
            let result = exec
                .on_progress(move |p| match p {
                    Progress::Submitted { execution_id } => {
                        progress_bar.set_message(format!("{execution_id} submitted"));
                    }
                    Progress::Polling {
                        execution_id,
                        polls,
                        status,
                        ..
                    } => {
                        // An unknown status is the server's text, as sent.
                        let status = status.as_ref().map_or_else(
                            || "?".to_owned(),
                            |s| cx_http::escape(&s.to_string()).into_owned(),
                        );
                        progress_bar.set_message(format!("{execution_id} {status} (poll {polls})"));
                    }
                    _ => {}
                })
                .send()
                .await;
            bar.finish_and_clear();
            crate::durations::save(&session, crate::durations::Kind::Workflow, &durations);
            let report = result?;
            audit.flush().await?;
            let written = audit.inner().appended();
            let records = written.len() as u64;
            let files: Vec<PathBuf> = written
                .iter()
                .map(|a| a.path.clone())
                .collect::<BTreeSet<_>>()
                .into_iter()
                .collect();
            let problems: Vec<String> = audit
                .inner()
                .verify()
                .await?
                .iter()
                .map(ToString::to_string)
                .collect();
            print_run(&report, records, &files, &problems, globals.output)?;
            if !problems.is_empty() {
                return Err(
                    format!("audit log failed verification: {}", problems.join("; ")).into(),
                );
            }
            if report.succeeded() {
                Ok(ExitCode::SUCCESS)
            } else {
                let errors: Vec<String> = report
                    .execution
                    .errors
                    .iter()
                    .map(|e| format!("{}: {}", e.code, e.message))
                    .collect();
                note!(
                    "cx: execution {} ended {}{}",
                    report.execution.id,
                    report.execution.status,
                    if errors.is_empty() {
                        String::new()
                    } else {
                        format!(": {}", errors.join("; "))
                    }
                );
                Ok(ExitCode::FAILURE)
            }
        }
        WorkflowCommand::Trigger {
            id,
            vars,
            priority,
            metadata,
        } => {
            let mut builder = TriggerPayload::builder(&id).priority(priority);
            for var in vars {
                builder = builder.context(&var.name, Value::String(var.value), var.kind);
            }
            for (k, v) in metadata {
                builder = builder.metadata(k, v);
            }
            let payload = builder.build()?;
            let session = Session::open(&globals.tenant).await?;
            let audit = Arc::new(session.audit(&globals.audit_dir).await?);
            let client = Client::new(session.http.clone(), Config::default()).with_audit(audit);
            let report = client.trigger(payload).send().await?;
            let workflow_id: WorkflowId = id.parse()?;
            let stats = client.trigger_metrics(&workflow_id);
            match globals.output {
                OutputFormat::Json => print_json(&json!({
                    "instanceId": report.instance_id,
                    "workflowId": report.workflow_id,
                    "status": report.status,
                    "priority": report.priority,
                    "latencyMs": report.latency_ms,
                    "metrics": stats,
                }))?,
                OutputFormat::Human => {
                    say!(
                        "instance {} of {} {} (priority {}) in {:.1} ms",
                        report.instance_id,
                        report.workflow_id,
                        report.status.as_deref().unwrap_or("created"),
                        report.priority,
                        report.latency_ms
                    );
                }
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}

fn print_run(
    report: &ExecutionReport,
    records: u64,
    files: &[PathBuf],
    problems: &[String],
    output: OutputFormat,
) -> CliResult {
    match output {
        OutputFormat::Json => print_json(&json!({
            "executionId": report.execution.id,
            "workflowId": report.execution.workflow_id,
            "status": report.execution.status,
            "output": report.output,
            "missing": report.missing,
            "errors": report.execution.errors,
            "polls": report.polls,
            "elapsedMs": report.elapsed_ms,
            "metrics": report.metrics,
            "audit": {
                "records": records,
                "files": files,
                "verified": problems.is_empty(),
            },
        })),
        OutputFormat::Human => {
            say!(
                "execution {} of {} {} in {:.0} ms ({})",
                report.execution.id,
                report.execution.workflow_id,
                report.execution.status,
                report.elapsed_ms,
                crate::output::count(report.polls, "poll")
            );
            if report.output.is_empty() {
                say!("output: (none)");
            } else {
                say!("output:");
                for (k, v) in &report.output {
                    say!("  {k} = {v}");
                }
            }
            for m in &report.missing {
                say!("  (missing) {m:?}");
            }
            for e in &report.execution.errors {
                say!("error: {}: {}", e.code, e.message);
            }
            let m = &report.metrics;
            say!(
                "metrics: {} executions, {} succeeded, {} failed, average latency {:.0} ms, errors {:?}",
                m.total_executions,
                m.successful_executions,
                m.failed_executions,
                m.average_latency_ms,
                m.error_frequency
            );
            let names: Vec<String> = files.iter().map(|f| f.display().to_string()).collect();
            say!(
                "audit: {records} records in {}, {}",
                names.join(", "),
                if problems.is_empty() {
                    "hashes verified"
                } else {
                    "VERIFICATION FAILED"
                }
            );
            Ok(())
        }
    }
}
