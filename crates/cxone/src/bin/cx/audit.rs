//! `cx audit export` (seed 000 step 5), `cx audit verify` and `cx audit tail`.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use cx_audit::{AuditRecord, ExportQuery, JsonlSink, VerifyReport, export_audit_logs};
use serde_json::json;

use crate::output::{OutputFormat, print_json, print_raw, say};
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
    /// Prove audit files intact: every record's compliance hash and chain
    /// hash, and the chain linking each record to the one before it (across
    /// day files for a directory). Reports the first bad line per file with
    /// what is wrong (edited, removed, reordered, truncated, chain break
    /// across days); exits 0 only when all are intact.
    Verify {
        /// A JSONL file or a directory of `audit-YYYYMMDD.jsonl` files.
        path: PathBuf,
    },
    /// Print the last records of an audit directory (oldest first), and with
    /// `--follow` keep printing new ones as they are written.
    Tail {
        /// A directory of `audit-YYYYMMDD.jsonl` files.
        dir: PathBuf,
        /// How many records to print first.
        #[arg(short = 'n', long, default_value_t = 10)]
        lines: usize,
        /// Keep watching for new records (every 500 ms) until interrupted;
        /// with `--output json`, one JSON record per line.
        #[arg(short, long)]
        follow: bool,
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
                    say!("exported {} entries to {}", report.exported, out.display());
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
        AuditCommand::Tail { dir, lines, follow } => {
            tail(&dir, lines, follow, globals.output).await
        }
    }
}

/// Every record in the day files of `dir`, oldest first, with where each
/// file's records end (so `--follow` can print only what is new).
fn read_all(dir: &Path) -> CliResult<Vec<(PathBuf, Vec<AuditRecord>)>> {
    if !dir.is_dir() {
        return Err(format!("{} is not a directory", dir.display()).into());
    }
    let mut files = Vec::new();
    for path in cx_audit::day_files(dir)? {
        let records = cx_audit::read_jsonl(&path)?;
        files.push((path, records));
    }
    Ok(files)
}

/// One record on one line: compact JSON, or `timestamp event hash-prefix payload`.
fn print_record(record: &AuditRecord, output: OutputFormat) -> CliResult {
    match output {
        OutputFormat::Json => print_raw(&format!("{}\n", serde_json::to_string(record)?)),
        OutputFormat::Human => say!(
            "{} {} {} {}",
            record
                .timestamp
                .to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
            record.event_type,
            record
                .hash
                .as_deref()
                .map_or("-", |h| &h[..h.len().min(12)]),
            record.payload()
        ),
    }
    Ok(())
}

async fn tail(dir: &Path, lines: usize, follow: bool, output: OutputFormat) -> CliResult<ExitCode> {
    let dir = dir.to_path_buf();
    let read =
        |dir: PathBuf| async move { tokio::task::spawn_blocking(move || read_all(&dir)).await? };
    let files = read(dir.clone()).await?;
    let all: Vec<&AuditRecord> = files.iter().flat_map(|(_, r)| r).collect();
    let last = &all[all.len().saturating_sub(lines)..];
    if output == OutputFormat::Json && !follow {
        print_json(&serde_json::to_value(last)?)?;
        return Ok(ExitCode::SUCCESS);
    }
    for record in last {
        print_record(record, output)?;
    }
    if !follow {
        return Ok(ExitCode::SUCCESS);
    }
    // Records are only ever appended, to the newest file or a new one: count
    // what was printed per file and print the rest on each look.
    let mut seen: Vec<(PathBuf, usize)> = files.iter().map(|(p, r)| (p.clone(), r.len())).collect();
    loop {
        tokio::select! {
            _ = tokio::signal::ctrl_c() => return Ok(ExitCode::SUCCESS),
            () = tokio::time::sleep(Duration::from_millis(500)) => {}
        }
        for (path, records) in read(dir.clone()).await? {
            let printed = seen.iter().find(|(p, _)| *p == path).map_or(0, |(_, n)| *n);
            for record in records.iter().skip(printed) {
                print_record(record, output)?;
            }
            match seen.iter_mut().find(|(p, _)| *p == path) {
                Some(entry) => entry.1 = records.len(),
                None => seen.push((path, records.len())),
            }
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
                        "lines": r.lines,
                        "firstProblem": r.first_problem.as_ref().map(|p| json!({
                            "line": p.line,
                            "category": p.kind.category(),
                            "message": p.to_string(),
                        })),
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
                say!("no audit files found");
            }
            for r in reports {
                match &r.first_problem {
                    None => say!("{}: {} records, intact", r.path.display(), r.records),
                    Some(p) => say!("{}: TAMPERED: {p}", r.path.display()),
                }
            }
            Ok(())
        }
    }
}
