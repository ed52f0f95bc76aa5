//! `cx extract run`: a CXone Data Extraction job to a file (issue 17,
//! `../shared/CXONE_REST.md` §6).

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use cx_dataaction::extraction::{Client, Downloaded, ExtractionConfig, JobRequest, Progress};
use cx_http::Poller;
use serde_json::json;

use crate::output::{OutputFormat, note, print_json, say, spinner};
use crate::session::{Session, TenantKind};
use crate::{CliResult, Globals};

/// The embedded simulator's Data Extraction pace: CXone's 30 s between
/// calls and 40 s jobs would make a try-out take a minute of real time.
const EMBEDDED_PACE: Duration = Duration::from_secs(1);

/// Data Extraction commands.
#[derive(Debug, clap::Subcommand)]
pub enum ExtractCommand {
    /// Run a Data Extraction job and stream its file to --out: create the
    /// job, wait for it (CXone allows one call per 30 s per tenant, so this
    /// takes at least a minute on a real tenant), then download the result
    /// at once (its URL lives 30 s; an expired one is renewed). Progress
    /// goes to stderr.
    #[command(disable_version_flag = true)]
    Run {
        /// The entity, e.g. recording-interaction-metadata or qm-workflows.
        entity: String,
        /// The entity's schema version, e.g. 7.
        #[arg(long = "version", id = "entity_version", value_name = "V")]
        version: String,
        /// Start of the range: RFC 3339 with a zone, or an age such as 1d.
        #[arg(long, value_name = "WHEN")]
        since: String,
        /// End of the range (default now): RFC 3339 with a zone, or an age.
        #[arg(long, value_name = "WHEN")]
        until: Option<String>,
        /// The file to write (replaced only once the download is complete).
        #[arg(long, value_name = "FILE")]
        out: PathBuf,
        /// Use the synchronous form (POST .../jobs/sync); its answer's shape
        /// is unconfirmed on CXone.
        #[arg(long)]
        sync: bool,
        /// Give up waiting for the job after this many seconds.
        #[arg(long, value_name = "SECS", default_value_t = 7200)]
        max_wait: u64,
    },
}

/// Run a Data Extraction command.
///
/// # Errors
/// A bad range (before any request), a refused call, a FAILED, CANCELLED
/// or EXPIRED job (with the server's message, escaped), a wait that ran
/// out, a file that cannot be written.
pub async fn run(cmd: ExtractCommand, globals: &Globals) -> CliResult<ExitCode> {
    let ExtractCommand::Run {
        entity,
        version,
        since,
        until,
        out,
        sync,
        max_wait,
    } = cmd;
    let now = chrono::Utc::now();
    let start = cx_history::parse_instant("--since", &since, now)?.to_utc();
    let end = match until {
        Some(u) => cx_history::parse_instant("--until", &u, now)?.to_utc(),
        None => now,
    };
    let request = JobRequest::new(entity, version, start, end);
    let session = Session::open(&globals.tenant).await?;
    let mut config = ExtractionConfig::default();
    config.poller = config
        .poller
        .with_deadline(Some(Duration::from_secs(max_wait)));
    if let (TenantKind::EmbeddedSimulator, Some(sim)) = (session.kind, &session._sim) {
        sim.set_extraction_settings(
            cx_sim::ExtractionSettings::default()
                .with_min_interval(EMBEDDED_PACE)
                .with_job_duration(EMBEDDED_PACE),
        );
        config = config.with_min_interval(EMBEDDED_PACE).with_poller(
            Poller::default()
                .with_initial_delay(EMBEDDED_PACE)
                .with_multiplier(1.0)
                .with_jitter(0.0)
                .with_deadline(Some(Duration::from_secs(max_wait))),
        );
        note!("cx: the embedded simulator runs Data Extraction 1 s apart (CXone: 30 s)");
    }
    let client = Client::new(session.http.clone(), config)?;
    let bar = spinner(&format!(
        "extracting {}",
        cx_http::escape(&request.entity_name)
    ));
    let done = if sync {
        client.run_sync(&request, &out).await
    } else {
        client
            .run(&request, &out)
            .progress(|p| bar.set_message(describe(p)))
            .send()
            .await
    };
    bar.finish_and_clear();
    print_done(&done?, &request, globals.output)?;
    Ok(ExitCode::SUCCESS)
}

/// One line of progress.
fn describe(p: &Progress) -> String {
    match p {
        Progress::Created { job_id } => format!("job {job_id} created"),
        Progress::Running {
            polls, next_delay, ..
        } => format!(
            "job running ({}; next look in {} s)",
            crate::output::count(*polls, "look"),
            next_delay.as_secs()
        ),
        Progress::UrlRenewed { renewals } => {
            format!("the file's URL expired; renewed it ({renewals})")
        }
        _ => "working".to_owned(),
    }
}

fn print_done(done: &Downloaded, request: &JobRequest, output: OutputFormat) -> CliResult {
    match output {
        OutputFormat::Json => print_json(&json!({
            "jobId": done.job_id.as_str(),
            "entityName": request.entity_name,
            "version": request.version,
            "path": done.path,
            "bytes": done.bytes,
            "polls": done.polls,
            "urlRenewals": done.url_renewals,
        })),
        OutputFormat::Human => {
            say!(
                "wrote {} bytes of {} v{} to {} (job {}, {}, {})",
                done.bytes,
                request.entity_name,
                request.version,
                done.path.display(),
                done.job_id,
                crate::output::count(done.polls, "poll"),
                crate::output::count(done.url_renewals, "URL renewal")
            );
            Ok(())
        }
    }
}
