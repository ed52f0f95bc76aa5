//! CXone's Data Extraction jobs (`../shared/CXONE_REST.md` §6, issue 17):
//! the real operation behind seed 004's "execute a data action and poll its
//! job" — an export job whose result is a file.
//!
//! | step | here | CXone endpoint |
//! |---|---|---|
//! | create a job | [`Client::create_job`] | `POST {api}/data-extraction/v1/jobs` `{entityName, version, startDate, endDate}` → 202, the job id as a JSON string |
//! | read a job | [`Client::job`] | `GET …/jobs/{jobId}` → `{jobStatus: {id, status, result: {url, errorMessage}}}` |
//! | wait for the end | [`Client::wait`] | the job read on the runtime's [`Poller`] until SUCCEEDED / FAILED / CANCELLED / EXPIRED |
//! | fetch the file | [`Client::download`] | `GET result.url` (no token: a presigned URL), streamed to a file |
//! | all of it | [`Client::run`] → [`RunExtraction::send`] | the four above |
//! | synchronous form | [`Client::run_sync`] | `POST …/jobs/sync` (response shape unconfirmed, see there) |
//!
//! **The tenant limit.** CXone allows one caller per tenant and at least
//! 30 s between calls ([`ExtractionConfig::min_interval`]). Every API call
//! of a [`Client`] (and of its clones) passes one [`cx_http::Spacing`] that
//! spaces them by that much on tokio's clock; when the runtime client has a shared limit
//! store (`cx_http::Config::shared_limits`, the fleet's Redis), each
//! attempt also takes a slot of the tenant-wide limit
//! [`EXTRACTION_LIMIT_NAME`] (one per `min_interval`), so processes of one
//! fleet space their calls too. Downloads are not API
//! calls and are not spaced.
//!
//! **The file.** The URL works for 30 s (download time not counted), so it
//! is fetched as soon as the job is seen SUCCEEDED, streamed chunk by chunk
//! into a temporary file in the target's directory (never whole in memory)
//! and renamed over the target only when complete. A URL that expired
//! before the download started (403, 404 or 410 — S3's presigned URLs
//! answer 403 `Request has expired`; the simulator does the same) is not an
//! error: the job is read again for a fresh URL, at most
//! [`ExtractionConfig::max_url_renewals`] times.
//!
//! **No learned durations.** The job status carries no timestamps, so
//! nothing server-side can be learned as cx-workflow does; a
//! client-measured duration would creep upwards (see
//! [`cx_http::DurationEstimates`]), so the schedule is
//! [`ExtractionConfig::poller`] alone.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, SecondsFormat, Utc};
use cx_http::{ApiPath, Method, PollStatus, Poller, RateLimit, RateLimiter, RequestBuilder};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::error::{DataActionKind, Error, ErrorKind, Rule, Violation, from_http};

/// The name of the tenant-wide limit in a shared limit store.
pub const EXTRACTION_LIMIT_NAME: &str = "dataextraction.calls";

/// Settings of a Data Extraction [`Client`].
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct ExtractionConfig {
    /// Shortest spacing of API calls (default 30 s, CXone's documented
    /// limit; lower it only for a simulator configured with a shorter one).
    pub min_interval: Duration,
    /// How a job is polled (default: every 30 s — the gate allows no
    /// sooner — growing ×1.2 up to 2 min, no jitter, 2 h deadline: new data
    /// can take 30 min to appear and a backfill longer).
    pub poller: Poller,
    /// How many times an expired download URL is renewed by reading the
    /// job again before giving up (default 3).
    pub max_url_renewals: u32,
}

impl Default for ExtractionConfig {
    fn default() -> Self {
        Self {
            min_interval: Duration::from_secs(30),
            poller: Poller::default()
                .with_initial_delay(Duration::from_secs(30))
                .with_multiplier(1.2)
                .with_max_delay(Duration::from_secs(120))
                .with_jitter(0.0)
                .with_deadline(Some(Duration::from_secs(2 * 3600))),
            max_url_renewals: 3,
        }
    }
}

cx_http::with_setters! { ExtractionConfig {
    /// Set [`ExtractionConfig::min_interval`].
    with_min_interval(min_interval: Duration);
    /// Set [`ExtractionConfig::poller`].
    with_poller(poller: Poller);
    /// Set [`ExtractionConfig::max_url_renewals`].
    with_max_url_renewals(max_url_renewals: u32);
}}

fn check_job_id(id: &str) -> Result<(), Error> {
    Violation::check_id("jobId", Rule::Format, id).map_err(Error::violation)
}

cx_http::id_newtype! {
    /// A Data Extraction job id as the server returned it (a UUID on CXone):
    /// any text that is one URL path segment (not empty, no `/`, `\`, `.`,
    /// `..` or control characters); otherwise [`ErrorKind::Validation`] on
    /// field `jobId`.
    pub struct JobId(check_job_id) -> Error;
}

cx_http::open_enum! {
    /// A job's `status`.
    pub enum ExtractionStatus {
        /// Still preparing the data.
        Running => "RUNNING",
        /// Done: `result.url` holds the file.
        Succeeded => "SUCCEEDED",
        /// Failed: `result.errorMessage` says why.
        Failed => "FAILED",
        /// Cancelled.
        Cancelled => "CANCELLED",
        /// The job or its result expired.
        Expired => "EXPIRED",
    }
}

/// What to extract: CXone's job body.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct JobRequest {
    /// `entityName`, e.g. `recording-interaction-metadata`.
    pub entity_name: String,
    /// `version` of the entity's schema, e.g. `"7"` (a string on the wire).
    pub version: String,
    /// `startDate`, inclusive (sent as ISO-8601 UTC with ms).
    pub start_date: DateTime<Utc>,
    /// `endDate` (sent the same way). CXone advises 1-day windows for
    /// ongoing pulls and at most 2 weeks per backfill.
    pub end_date: DateTime<Utc>,
}

impl JobRequest {
    /// A request for `entity_name` version `version` over `start_date..end_date`.
    pub fn new(
        entity_name: impl Into<String>,
        version: impl Into<String>,
        start_date: DateTime<Utc>,
        end_date: DateTime<Utc>,
    ) -> Self {
        Self {
            entity_name: entity_name.into(),
            version: version.into(),
            start_date,
            end_date,
        }
    }

    /// Every broken rule (hand-written: the range rule needs two fields):
    /// `entityName` and `version` required, `startDate` before `endDate`.
    fn check(&self) -> Result<(), Error> {
        let mut v = Vec::new();
        for (field, value) in [
            ("entityName", &self.entity_name),
            ("version", &self.version),
        ] {
            if value.trim().is_empty() {
                v.push(Violation::new(field, Rule::Required, "must not be empty"));
            }
        }
        if self.start_date >= self.end_date {
            v.push(Violation::new(
                "startDate",
                Rule::Range,
                format!(
                    "must be before endDate ({} is not before {})",
                    iso(self.start_date),
                    iso(self.end_date)
                ),
            ));
        }
        if v.is_empty() {
            Ok(())
        } else {
            Err(Error::validation(v))
        }
    }

    fn body(&self) -> Value {
        json!({
            "entityName": self.entity_name,
            "version": self.version,
            "startDate": iso(self.start_date),
            "endDate": iso(self.end_date),
        })
    }
}

/// A job as last read (`jobStatus`).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ExtractionJob {
    /// `id`.
    pub id: JobId,
    /// `status`.
    pub status: ExtractionStatus,
    /// `result.url`: where the file is, for 30 s after this read.
    pub url: Option<String>,
    /// `result.errorMessage`, as sent (escape it before printing).
    pub error_message: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct StatusWire {
    job_status: JobWire,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct JobWire {
    id: JobId,
    status: ExtractionStatus,
    result: Option<ResultWire>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ResultWire {
    url: Option<String>,
    error_message: Option<String>,
}

impl From<JobWire> for ExtractionJob {
    fn from(w: JobWire) -> Self {
        let (url, error_message) = w
            .result
            .map(|r| (r.url.filter(|u| !u.is_empty()), r.error_message))
            .unwrap_or_default();
        Self {
            id: w.id,
            status: w.status,
            url,
            error_message,
        }
    }
}

/// What happened so far, for a progress display.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Progress {
    /// The job was created.
    Created {
        /// Its id.
        job_id: JobId,
    },
    /// A job read said it is still running.
    Running {
        /// Job reads so far.
        polls: u32,
        /// Time since the job was created.
        elapsed: Duration,
        /// The wait before the next read.
        next_delay: Duration,
    },
    /// The URL had expired; the job is read again for a fresh one.
    UrlRenewed {
        /// Renewals so far.
        renewals: u32,
    },
}

/// The file of a finished job.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Downloaded {
    /// The job.
    pub job_id: JobId,
    /// Where the file is.
    pub path: PathBuf,
    /// Its size in bytes.
    pub bytes: u64,
    /// Job reads made while waiting (0 for the synchronous form).
    pub polls: u32,
    /// Expired URLs renewed by reading the job again.
    pub url_renewals: u32,
}

/// The spacing of one tenant's API calls (see the module docs).
#[derive(Debug)]
struct Gate {
    spacing: cx_http::Spacing,
    shared: Option<RateLimiter>,
}

/// A client of CXone's Data Extraction API. Clones share the call gate.
#[derive(Clone)]
pub struct Client {
    http: cx_http::Client,
    config: ExtractionConfig,
    gate: Arc<Gate>,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("cx_dataaction::extraction::Client")
            .field("base_url", &self.http.base_url())
            .field("config", &self.config)
            .field("shared_limit", &self.gate.shared.is_some())
            .finish()
    }
}

impl Client {
    /// A client on `http` (whose base URL is the API host, `{api}`).
    ///
    /// # Errors
    /// [`ErrorKind::Validation`] naming `min_interval` when it is zero while
    /// `http` has a shared limit store (a shared limit needs a period).
    pub fn new(http: cx_http::Client, config: ExtractionConfig) -> Result<Self, Error> {
        let shared = match (&http.config().shared_limits, config.min_interval.is_zero()) {
            (None, _) => None,
            (Some(_), true) => {
                return Err(Error::violation(Violation::new(
                    "min_interval",
                    Rule::Range,
                    "must be more than 0 with a shared limit store",
                )));
            }
            (Some(_), false) => Some(
                http.limiter(
                    EXTRACTION_LIMIT_NAME,
                    RateLimit::one_per(config.min_interval),
                )
                .map_err(|e| from_http(e, "configuring the Data Extraction limit"))?,
            ),
        };
        let gate = Arc::new(Gate {
            spacing: cx_http::Spacing::new(config.min_interval),
            shared,
        });
        Ok(Self { http, config, gate })
    }

    /// The settings.
    pub fn config(&self) -> &ExtractionConfig {
        &self.config
    }

    /// An API call through the gate.
    async fn call(&self, req: RequestBuilder) -> Result<cx_http::Response, cx_http::Error> {
        self.gate.spacing.until_ready().await;
        match &self.gate.shared {
            Some(limiter) => req.rate_limiter(limiter).send().await,
            None => req.send().await,
        }
    }

    /// `POST /data-extraction/v1/jobs`: starts a job, its id.
    ///
    /// # Errors
    /// [`ErrorKind::Validation`] before any request (see [`JobRequest`]);
    /// the shared kinds for a refused call (400 `InvalidRequest` with the
    /// server's reason, 401, 403 without the entity's permission, 429
    /// `RateLimited` after the runtime's retries); [`ErrorKind::Api`] when
    /// the answer is not a job id.
    pub async fn create_job(&self, request: &JobRequest) -> Result<JobId, Error> {
        request.check()?;
        let what = format!(
            "creating a Data Extraction job for {}",
            cx_http::escape(&request.entity_name)
        );
        let resp = self
            .call(
                self.http
                    .post("/data-extraction/v1/jobs")
                    .operation("extraction.create")
                    .json(&request.body()),
            )
            .await
            .map_err(|e| from_http(e, &what))?;
        let id: String = resp.json().map_err(|e| {
            Error::new(
                ErrorKind::Api,
                format!("{what}: the answer is not a job id as a JSON string"),
            )
            .with_http(e)
        })?;
        JobId::new(id)
    }

    /// `GET /data-extraction/v1/jobs/{jobId}`: the job now.
    ///
    /// # Errors
    /// The shared kinds (404 `NotFound` for an unknown job);
    /// [`ErrorKind::Api`] when the answer has no `jobStatus`.
    pub async fn job(&self, id: &JobId) -> Result<ExtractionJob, Error> {
        self.read_job(id)
            .await
            .map_err(|e| from_http(e, &format!("reading Data Extraction job {id}")))
            .map(|w| w.job_status.into())
    }

    async fn read_job(&self, id: &JobId) -> Result<StatusWire, cx_http::Error> {
        self.call(
            self.http
                .get(ApiPath::new("/data-extraction/v1/jobs").id("jobId", id.as_str()))
                .operation("extraction.status"),
        )
        .await?
        .json()
    }

    /// Reads job `id` on [`ExtractionConfig::poller`] until it is no
    /// longer RUNNING; `progress` sees each pending answer. The SUCCEEDED
    /// job and the reads made.
    ///
    /// # Errors
    /// [`DataActionKind::JobFailed`] for FAILED (the server's
    /// `errorMessage`, escaped, in the message and in
    /// [`Error::error_detail`] as sent); [`DataActionKind::JobEnded`] for
    /// CANCELLED, EXPIRED or a status this crate does not know;
    /// [`ErrorKind::WaitTimeout`] past the poller's deadline; the shared
    /// kinds for a read that failed for good.
    pub async fn wait(
        &self,
        id: &JobId,
        mut progress: impl FnMut(&Progress),
    ) -> Result<(ExtractionJob, u32), Error> {
        let what = format!("Data Extraction job {id}");
        let outcome = self
            .config
            .poller
            .poll_with_progress(
                &what,
                || async {
                    let wire = self.read_job(id).await?;
                    Ok(match wire.job_status.status {
                        ExtractionStatus::Running => PollStatus::Pending { retry_after: None },
                        _ => PollStatus::Done(ExtractionJob::from(wire.job_status)),
                    })
                },
                |p| {
                    progress(&Progress::Running {
                        polls: p.polls,
                        elapsed: p.elapsed,
                        next_delay: p.next_delay,
                    });
                },
            )
            .await
            .map_err(|e| from_http(e, &format!("waiting for {what}")))?;
        let job = outcome.value;
        ended(&job)?;
        Ok((job, outcome.polls))
    }

    /// Streams the file of SUCCEEDED `job` to `path` (through a temporary
    /// file in the same directory, renamed when complete). An expired URL
    /// (403/404/410) is renewed by reading the job again, at most
    /// [`ExtractionConfig::max_url_renewals`] times.
    ///
    /// # Errors
    /// [`ErrorKind::Api`] when the job has no URL or the URLs kept
    /// expiring; [`DataActionKind::File`] when the file cannot be written
    /// or renamed; the shared kinds for a download or read that failed for
    /// good. The temporary file is removed on error.
    pub async fn download(
        &self,
        job: &ExtractionJob,
        path: &Path,
        mut progress: impl FnMut(&Progress),
    ) -> Result<Downloaded, Error> {
        let part = part_path(path, &job.id)?;
        let result = self.download_to(job, &part, &mut progress).await;
        let (bytes, renewals) = match result {
            Ok(done) => done,
            Err(e) => {
                // Best effort: the error that matters is the download's.
                let _ = tokio::fs::remove_file(&part).await;
                return Err(e);
            }
        };
        if let Err(e) = tokio::fs::rename(&part, path).await {
            let _ = tokio::fs::remove_file(&part).await;
            return Err(file_error(path, "renaming the finished download onto", e)
                .with_job(job.id.as_str()));
        }
        Ok(Downloaded {
            job_id: job.id.clone(),
            path: path.to_path_buf(),
            bytes,
            polls: 0,
            url_renewals: renewals,
        })
    }

    async fn download_to(
        &self,
        job: &ExtractionJob,
        part: &Path,
        progress: &mut impl FnMut(&Progress),
    ) -> Result<(u64, u32), Error> {
        let what = format!("downloading the file of Data Extraction job {}", job.id);
        let mut current = job.clone();
        let mut renewals = 0u32;
        loop {
            let Some(url) = current.url.as_deref() else {
                return Err(Error::new(
                    ErrorKind::Api,
                    format!("{what}: the job is {} without a result url", current.status),
                )
                .with_job(job.id.as_str()));
            };
            let sent = self
                .http
                .request_url(Method::GET, url)
                .without_auth()
                .operation("extraction.download")
                .send_to_file(part)
                .await;
            match sent {
                Ok(resp) => return Ok((resp.streamed_bytes(), renewals)),
                Err(e) if e.kind() == cx_http::ErrorKind::Io => {
                    return Err(Error::new(
                        ErrorKind::Domain(DataActionKind::File),
                        format!("{what}: {e}"),
                    )
                    .with_http(e)
                    .with_job(job.id.as_str()));
                }
                Err(e) if matches!(e.status(), Some(403 | 404 | 410)) => {
                    if renewals >= self.config.max_url_renewals {
                        return Err(Error::new(
                            ErrorKind::Api,
                            format!(
                                "{what}: the result URL was refused ({}) after {renewals} renewal(s)",
                                e.status().unwrap_or_default()
                            ),
                        )
                        .with_http(e)
                        .with_job(job.id.as_str()));
                    }
                    renewals += 1;
                    progress(&Progress::UrlRenewed { renewals });
                    current = self.job(&job.id).await?;
                    ended(&current)?;
                }
                Err(e) => return Err(from_http(e, &what).with_job(job.id.as_str())),
            }
        }
    }

    /// The whole flow: create the job, wait for it, download its file to `out`.
    pub fn run<'a>(&'a self, request: &'a JobRequest, out: &'a Path) -> RunExtraction<'a> {
        RunExtraction {
            client: self,
            request,
            out,
            progress: Box::new(|_| {}),
        }
    }

    /// `POST /data-extraction/v1/jobs/sync` then the download: the
    /// documented newer entry point, which prepares the data and answers
    /// with where it is. **Its response shape is unconfirmed**
    /// (`../shared/CXONE_REST.md` §6); accepted, in this order: a
    /// `{jobStatus: {...}}` object as a job read returns, a bare job object
    /// `{id, status, result}`, or an object with a top-level `url` (and
    /// optional `jobId`/`id`). Anything else is [`ErrorKind::Api`] naming
    /// the top-level fields received, so a real answer shows what to add.
    /// An expired URL is renewed only when the answer named a job.
    ///
    /// # Errors
    /// As [`Client::create_job`], [`Client::wait`]'s terminal-state errors
    /// and [`Client::download`].
    pub async fn run_sync(&self, request: &JobRequest, out: &Path) -> Result<Downloaded, Error> {
        request.check()?;
        let what = format!(
            "running a synchronous Data Extraction of {}",
            cx_http::escape(&request.entity_name)
        );
        let resp = self
            .call(
                self.http
                    .post("/data-extraction/v1/jobs/sync")
                    .operation("extraction.sync")
                    .attempt_timeout(Duration::from_secs(300))
                    .json(&request.body()),
            )
            .await
            .map_err(|e| from_http(e, &what))?;
        let body: Value = resp.json().map_err(|e| {
            Error::new(ErrorKind::Api, format!("{what}: the answer is not JSON")).with_http(e)
        })?;
        let (job, named) = sync_job(&body).ok_or_else(|| {
            let fields: Vec<String> = body
                .as_object()
                .map(|o| o.keys().map(|k| cx_http::escape(k).into_owned()).collect())
                .unwrap_or_default();
            Error::new(
                ErrorKind::Api,
                format!(
                    "{what}: unrecognised answer (fields: {}); expected jobStatus, a job or a url",
                    if fields.is_empty() {
                        "none".to_owned()
                    } else {
                        fields.join(", ")
                    }
                ),
            )
        })?;
        ended(&job)?;
        if named {
            return self.download(&job, out, |_| {}).await;
        }
        // No job to read again for a fresh URL.
        let once = Self {
            config: self.config.clone().with_max_url_renewals(0),
            ..self.clone()
        };
        once.download(&job, out, |_| {}).await
    }
}

/// The job a synchronous answer describes (see [`Client::run_sync`]), and
/// whether the answer named it (else its id is `sync`).
fn sync_job(body: &Value) -> Option<(ExtractionJob, bool)> {
    if let Some(status) = body.get("jobStatus")
        && let Ok(w) = serde_json::from_value::<JobWire>(status.clone())
    {
        return Some((w.into(), true));
    }
    if let Ok(w) = serde_json::from_value::<JobWire>(body.clone()) {
        return Some((w.into(), true));
    }
    let url = body.get("url")?.as_str()?.to_owned();
    let id = ["jobId", "id"]
        .iter()
        .find_map(|k| body.get(*k).and_then(Value::as_str));
    let job = ExtractionJob {
        id: JobId::new(id.unwrap_or("sync")).ok()?,
        status: ExtractionStatus::Succeeded,
        url: Some(url),
        error_message: None,
    };
    Some((job, id.is_some()))
}

/// `Ok` for a SUCCEEDED job, else the error its status means.
fn ended(job: &ExtractionJob) -> Result<(), Error> {
    let message = job.error_message.as_deref();
    let reason = || message.map_or_else(String::new, |m| format!(": {}", cx_http::escape(m)));
    let err = match &job.status {
        ExtractionStatus::Succeeded => return Ok(()),
        ExtractionStatus::Failed => Error::new(
            ErrorKind::Domain(DataActionKind::JobFailed),
            format!("Data Extraction job {} FAILED{}", job.id, reason()),
        ),
        other => Error::new(
            ErrorKind::Domain(DataActionKind::JobEnded),
            format!(
                "Data Extraction job {} ended {}{}",
                job.id,
                cx_http::escape(other.as_str()),
                reason()
            ),
        ),
    };
    Err(err
        .with_job(job.id.as_str())
        .with_error_detail(message.map(str::to_owned)))
}

/// `.{name}.{jobId}.part` beside `path`.
fn part_path(path: &Path, job: &JobId) -> Result<PathBuf, Error> {
    let name = path.file_name().ok_or_else(|| {
        Error::violation(Violation::new(
            "out",
            Rule::Format,
            format!("must name a file, got {}", path.display()),
        ))
    })?;
    let mut part = std::ffi::OsString::from(".");
    part.push(name);
    part.push(format!(".{job}.part"));
    Ok(path.with_file_name(part))
}

fn file_error(path: &Path, doing: &str, e: std::io::Error) -> Error {
    Error::new(
        ErrorKind::Domain(DataActionKind::File),
        format!("{doing} {}: {e}", path.display()),
    )
}

fn iso(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// [`Client::run`]: create, wait, download.
#[must_use = "nothing runs until `.send().await`"]
pub struct RunExtraction<'a> {
    client: &'a Client,
    request: &'a JobRequest,
    out: &'a Path,
    progress: Box<dyn FnMut(&Progress) + Send + 'a>,
}

impl<'a> RunExtraction<'a> {
    /// Call `f` at each step (job created, each pending read, each URL renewal).
    pub fn progress(mut self, f: impl FnMut(&Progress) + Send + 'a) -> Self {
        self.progress = Box::new(f);
        self
    }

    /// Runs it.
    ///
    /// # Errors
    /// As [`Client::create_job`], [`Client::wait`] and [`Client::download`];
    /// every error after the creation names the job ([`Error::job_id`]).
    pub async fn send(mut self) -> Result<Downloaded, Error> {
        let id = self.client.create_job(self.request).await?;
        (self.progress)(&Progress::Created { job_id: id.clone() });
        let (job, polls) = self
            .client
            .wait(&id, &mut self.progress)
            .await
            .map_err(|e| e.with_job(id.as_str()))?;
        let mut done = self
            .client
            .download(&job, self.out, &mut self.progress)
            .await?;
        done.polls = polls;
        Ok(done)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The answers the synchronous form accepts (its shape is unconfirmed)
    /// and the ones it refuses: (body, Some((id, status, url)) or None).
    #[test]
    fn synchronous_answers_are_read_leniently_and_only_in_known_shapes() {
        let cases = [
            (
                json!({"jobStatus": {"id": "j1", "status": "SUCCEEDED", "result": {"url": "https://x/f"}}}),
                Some(("j1", "SUCCEEDED", Some("https://x/f"))),
            ),
            (
                json!({"id": "j2", "status": "FAILED", "result": {"errorMessage": "no"}}),
                Some(("j2", "FAILED", None)),
            ),
            (
                json!({"url": "https://x/g", "jobId": "j3"}),
                Some(("j3", "SUCCEEDED", Some("https://x/g"))),
            ),
            (
                json!({"url": "https://x/h"}),
                Some(("sync", "SUCCEEDED", Some("https://x/h"))),
            ),
            (json!({"url": "https://x/h", "id": "a/b"}), None),
            (json!({"downloadLink": "https://x"}), None),
            (json!("https://x/i"), None),
            (json!({"jobStatus": {"status": "SUCCEEDED"}}), None),
        ];
        for (body, want) in cases {
            let got = sync_job(&body);
            let got = got
                .as_ref()
                .map(|(j, _)| (j.id.as_str(), j.status.as_str(), j.url.as_deref()));
            assert_eq!(got, want, "{body}");
        }
    }

    #[test]
    fn the_part_file_sits_beside_the_target() {
        let id = JobId::new("j-1").unwrap_or_else(|e| panic!("{e}"));
        let part = part_path(Path::new("/tmp/out/m.csv"), &id).ok();
        assert_eq!(part, Some(PathBuf::from("/tmp/out/.m.csv.j-1.part")));
        assert!(part_path(Path::new("/"), &id).is_err());
    }
}
