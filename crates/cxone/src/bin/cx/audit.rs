//! `cx audit export` (seed 000 step 5), `cx audit verify`, `cx audit tail`,
//! `cx audit keygen` and `cx audit head`.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use cx_audit::{
    Anchor, AuditRecord, DirReport, ExportQuery, JsonlSink, SigningKey, VerifyOptions,
    VerifyingKey, export_audit_logs,
};
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
    /// across days, bad checkpoint, unsigned); exits 0 only when all are
    /// intact. Without --public-key only accidental damage can be detected.
    Verify {
        /// A JSONL file or a directory of `audit-YYYYMMDD.jsonl` files.
        path: PathBuf,
        /// The checkpoint signer's public key file (from `cx audit keygen`):
        /// also check every signed checkpoint and that none is missing, and
        /// that no record follows the last one (directories only).
        #[arg(long)]
        public_key: Option<PathBuf>,
        /// A line printed earlier by `cx audit head`, or a file holding it:
        /// fail when the log ends before that checkpoint (truncated, newest
        /// day files deleted).
        #[arg(long)]
        expect_head: Option<String>,
    },
    /// Create an Ed25519 key pair for signing checkpoints: the secret seed in
    /// FILE (mode 0600; give it to writers as CX_AUDIT_SIGNING_KEY_FILE) and
    /// the public key in FILE.pub (for `cx audit verify --public-key`).
    Keygen {
        /// Where to write the secret key; must not exist.
        #[arg(long)]
        out: PathBuf,
    },
    /// Print the newest signed checkpoint of an audit directory as one line,
    /// to keep outside the directory and check later with
    /// `cx audit verify --expect-head`.
    Head {
        /// A directory of `audit-YYYYMMDD.jsonl` files.
        dir: PathBuf,
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
            // The file exists even when the export finds no entries.
            tokio::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(&out)
                .await
                .map_err(|e| format!("--out: cannot create {}: {e}", out.display()))?;
            let query = ExportQuery::default()
                .with_resource_type(resource_type)
                .with_resource_id(resource_id)
                .with_page_size(page_size);
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
        AuditCommand::Verify {
            path,
            public_key,
            expect_head,
        } => {
            let mut options = VerifyOptions::default();
            if let Some(file) = &public_key {
                options.public_key = Some(VerifyingKey::from_file(file)?);
            }
            if let Some(head) = &expect_head {
                options.expect_head = Some(match std::fs::read_to_string(head) {
                    Ok(text) => Anchor::parse(&text, head)?,
                    Err(_) => Anchor::parse(head, "--expect-head")?,
                });
            }
            let report = if path.is_dir() {
                tokio::task::spawn_blocking(move || cx_audit::verify_dir_with(&path, &options))
                    .await??
            } else if public_key.is_some() || expect_head.is_some() {
                return Err(
                    "--public-key and --expect-head need an audit directory, not a file".into(),
                );
            } else {
                let file = cx_audit::verify_file(&path)?;
                DirReport::from_file(file)
            };
            print_reports(&report, globals.output)?;
            Ok(if report.is_ok() {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            })
        }
        AuditCommand::Keygen { out } => {
            let key = SigningKey::generate()?;
            let public = key.write_pair(&out)?;
            let hex = key.verifying_key().to_hex();
            match globals.output {
                OutputFormat::Json => print_json(&json!({
                    "signingKey": out,
                    "publicKey": public,
                    "public": hex,
                }))?,
                OutputFormat::Human => {
                    say!(
                        "signing key: {} (secret; give it to writers as CX_AUDIT_SIGNING_KEY_FILE)",
                        out.display()
                    );
                    say!("public key:  {} ({hex})", public.display());
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        AuditCommand::Head { dir } => {
            let found = tokio::task::spawn_blocking({
                let dir = dir.clone();
                move || cx_audit::latest_anchor(&dir)
            })
            .await??;
            let Some(anchor) = found else {
                return Err(format!(
                    "no signed checkpoint in {} (writers sign with CX_AUDIT_SIGNING_KEY_FILE set)",
                    dir.display()
                )
                .into());
            };
            print_raw(&format!("{}\n", anchor.to_line()));
            Ok(ExitCode::SUCCESS)
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
                // Its first 12 characters (a file may hold any text there).
                .map_or("-", |h| h
                    .char_indices()
                    .nth(12)
                    .map_or(h, |(end, _)| &h[..end])),
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

/// What `verify` says when no public key was given.
const UNSIGNED_NOTE: &str = "no --public-key: only accidental damage can be detected; anyone who can write the files can rewrite them and recompute every hash";

fn print_reports(report: &DirReport, output: OutputFormat) -> CliResult {
    let reports = &report.files;
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
                "intact": report.is_ok(),
                "records": report.records,
                "checkpoints": report.checkpoints,
                "signed": report.signed,
                "headProblem": report.head_problem,
                "note": (!report.signed).then_some(UNSIGNED_NOTE),
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
            if let Some(problem) = &report.head_problem {
                say!("TAMPERED: {problem}");
            }
            say!(
                "{} records and {} checkpoints{}",
                report.records,
                report.checkpoints,
                if report.signed {
                    ", signatures checked"
                } else {
                    ""
                }
            );
            if !report.signed {
                say!("note: {UNSIGNED_NOTE}");
            }
            Ok(())
        }
    }
}
