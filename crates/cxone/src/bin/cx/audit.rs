//! `cx audit export` (seed 000 step 5) and `cx audit verify`.

use std::path::PathBuf;
use std::process::ExitCode;

use cx_audit::{ExportQuery, JsonlSink, VerifyReport, export_audit_logs};
use serde_json::json;

use crate::output::{OutputFormat, print_json};
use crate::session::Session;
use crate::{CliResult, Globals};

/// Audit commands.
#[derive(Debug, clap::Subcommand)]
pub enum AuditCommand {
    /// Export CXone's audit log (`/api/v2/audit/logs`) into a JSONL file.
    Export {
        /// `resourceType` filter, e.g. workflow_execution.
        #[arg(long)]
        resource_type: String,
        /// `resourceId` filter, e.g. a workflow id.
        #[arg(long)]
        resource_id: String,
        /// The JSONL file to append to (created with its directory).
        #[arg(long)]
        out: PathBuf,
        /// Entries per page (1..=1000).
        #[arg(long, default_value_t = 100)]
        page_size: u32,
    },
    /// Check every record's compliance hash in a file or a directory of
    /// `audit-*.jsonl` files; exits 0 only when all are intact.
    Verify {
        /// A JSONL file or a directory.
        path: PathBuf,
    },
}

/// Run an audit command.
///
/// # Errors
/// API, file and verification failures, each on one line.
pub async fn run(cmd: AuditCommand, globals: &Globals) -> CliResult<ExitCode> {
    match cmd {
        AuditCommand::Export {
            resource_type,
            resource_id,
            out,
            page_size,
        } => {
            let session = Session::open(&globals.tenant).await?;
            let sink = JsonlSink::open_file(&out).await?;
            let query = ExportQuery {
                resource_type: Some(resource_type),
                resource_id: Some(resource_id),
                page_size,
            };
            let report = export_audit_logs(&session.http, &query, &sink).await?;
            match globals.output {
                OutputFormat::Json => print_json(&json!({
                    "exported": report.exported,
                    "file": out,
                }))?,
                OutputFormat::Human => {
                    println!("exported {} entries to {}", report.exported, out.display());
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        AuditCommand::Verify { path } => {
            let reports = if path.is_dir() {
                cx_audit::verify_dir(&path)?
            } else {
                vec![cx_audit::verify_file(&path)?]
            };
            let intact = reports.iter().all(VerifyReport::is_ok);
            print_reports(&reports, globals.output)?;
            Ok(if intact {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            })
        }
    }
}

fn print_reports(reports: &[VerifyReport], output: OutputFormat) -> CliResult {
    match output {
        OutputFormat::Json => {
            let files: Vec<_> = reports
                .iter()
                .map(|r| {
                    json!({
                        "file": r.path,
                        "records": r.records,
                        "intact": r.is_ok(),
                        "firstProblem": r.first_problem.as_ref().map(|p| p.to_string()),
                    })
                })
                .collect();
            print_json(&json!({
                "intact": reports.iter().all(VerifyReport::is_ok),
                "files": files,
            }))
        }
        OutputFormat::Human => {
            if reports.is_empty() {
                println!("no audit files found");
            }
            for r in reports {
                match &r.first_problem {
                    None => println!("{}: {} records, intact", r.path.display(), r.records),
                    Some(p) => println!("{}: TAMPERED: {p}", r.path.display()),
                }
            }
            Ok(())
        }
    }
}
