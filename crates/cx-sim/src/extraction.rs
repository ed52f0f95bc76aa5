//! CXone's Data Extraction jobs (`../shared/CXONE_REST.md` §6) on the
//! virtual clock: every tenant's jobs, the tenant limit and the files at
//! expiring URLs. Served by `routes::extraction`.
//!
//! - A job is RUNNING for [`ExtractionSettings::job_duration`] of sim time
//!   after its creation, then SUCCEEDED (or FAILED with
//!   [`ExtractionSettings::fail_with`] as its `errorMessage`). Nothing runs
//!   in the background: a read computes the state from the clock.
//! - Each read of a SUCCEEDED job mints a fresh download URL that works for
//!   [`ExtractionSettings::url_ttl`] of sim time (CXone: 30 s, download
//!   time not counted: a download that started in time finishes).
//! - The file is a CSV generated from the job (entity, version, date range),
//!   [`ExtractionSettings::rows_per_day`] rows per started day.
//! - The tenant limit: at most one API call (create, status, list, sync) per
//!   [`ExtractionSettings::min_interval`] of sim time per tenant, whoever
//!   calls; a call sooner is refused (the routes say how) and does not
//!   count. Downloads are not API calls and are not limited.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use chrono::{DateTime, Utc};

use crate::clock::duration_ms;
use crate::setters::with_setters;
use crate::sync::lock;

/// Knobs of the simulated Data Extraction API ([`crate::Sim::set_extraction_settings`]).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ExtractionSettings {
    /// Shortest spacing of a tenant's API calls (default 30 s, CXone's
    /// documented limit).
    pub min_interval: Duration,
    /// How long a job runs, in sim time (default 40 s).
    pub job_duration: Duration,
    /// How long a minted download URL works, in sim time (default 30 s).
    pub url_ttl: Duration,
    /// CSV rows per started day of a job's range (default 24).
    pub rows_per_day: u32,
    /// When set, jobs created from now on end FAILED with this
    /// `errorMessage` instead of SUCCEEDED (default `None`).
    pub fail_with: Option<String>,
    /// When set, the synchronous form answers `{url}` alone, naming no job
    /// (one of the shapes clients accept, CXone's being unconfirmed;
    /// default `false`: `{jobStatus}`).
    pub sync_url_only: bool,
}

impl Default for ExtractionSettings {
    fn default() -> Self {
        Self {
            min_interval: Duration::from_secs(30),
            job_duration: Duration::from_secs(40),
            url_ttl: Duration::from_secs(30),
            rows_per_day: 24,
            fail_with: None,
            sync_url_only: false,
        }
    }
}

with_setters! { ExtractionSettings {
    /// Sets [`ExtractionSettings::min_interval`].
    with_min_interval(min_interval: Duration);
    /// Sets [`ExtractionSettings::job_duration`].
    with_job_duration(job_duration: Duration);
    /// Sets [`ExtractionSettings::url_ttl`].
    with_url_ttl(url_ttl: Duration);
    /// Sets [`ExtractionSettings::rows_per_day`].
    with_rows_per_day(rows_per_day: u32);
    /// Sets [`ExtractionSettings::fail_with`].
    with_fail_with(fail_with: Option<String>);
    /// Sets [`ExtractionSettings::sync_url_only`].
    with_sync_url_only(sync_url_only: bool);
}}

/// The entities a tenant may extract, with the versions it serves (the
/// ones seen in published clients, `../shared/CXONE_REST.md` §6).
pub(crate) const ENTITIES: &[(&str, &[&str])] = &[
    ("recording-interaction-metadata", &["7"]),
    ("qm-workflows", &["1"]),
];

/// One job.
#[derive(Debug, Clone)]
pub(crate) struct Job {
    pub id: String,
    pub entity: String,
    pub version: String,
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
    pub created_ms: u64,
    pub done_ms: u64,
    pub failure: Option<String>,
}

impl Job {
    /// `RUNNING`, `SUCCEEDED` or `FAILED` at sim time `now_ms`.
    pub(crate) fn status(&self, now_ms: u64) -> &'static str {
        match (now_ms >= self.done_ms, &self.failure) {
            (false, _) => "RUNNING",
            (true, None) => "SUCCEEDED",
            (true, Some(_)) => "FAILED",
        }
    }
}

/// A minted download URL's target.
#[derive(Debug, Clone)]
struct Link {
    tenant: String,
    job_id: String,
    expires_ms: u64,
}

#[derive(Debug, Default)]
struct Inner {
    settings: ExtractionSettings,
    /// tenant → its jobs by id.
    jobs: HashMap<String, HashMap<String, Job>>,
    /// tenant → sim ms of its last accepted API call.
    last_call: HashMap<String, u64>,
    /// file token → what it downloads.
    links: HashMap<String, Link>,
}

/// Every tenant's Data Extraction state.
#[derive(Debug, Default)]
pub(crate) struct Extractions {
    inner: Mutex<Inner>,
}

/// Why a file download is refused.
pub(crate) enum FileRefusal {
    /// No such URL (or its job is gone).
    Unknown,
    /// The URL's lifetime passed before the download started.
    Expired,
}

impl Extractions {
    /// Replaces the settings (jobs already created keep their outcome).
    pub(crate) fn set_settings(&self, settings: ExtractionSettings) {
        lock(&self.inner).settings = settings;
    }

    /// Whether the synchronous form answers `{url}` alone.
    pub(crate) fn sync_url_only(&self) -> bool {
        lock(&self.inner).settings.sync_url_only
    }

    /// The tenant limit's spacing.
    pub(crate) fn min_interval(&self) -> Duration {
        lock(&self.inner).settings.min_interval
    }

    /// Takes `tenant`'s call slot at `now_ms`, or says how long until the
    /// next one is free.
    pub(crate) fn take_call(&self, tenant: &str, now_ms: u64) -> Result<(), Duration> {
        let mut inner = lock(&self.inner);
        let interval = duration_ms(inner.settings.min_interval);
        if let Some(&last) = inner.last_call.get(tenant) {
            let free_at = last.saturating_add(interval);
            if now_ms < free_at {
                return Err(Duration::from_millis(free_at - now_ms));
            }
        }
        inner.last_call.insert(tenant.to_owned(), now_ms);
        Ok(())
    }

    /// A new job of `tenant`: RUNNING for the job duration, or finished at
    /// once when `sync` (the synchronous form).
    pub(crate) fn create(
        &self,
        tenant: &str,
        entity: &str,
        version: &str,
        range: (DateTime<Utc>, DateTime<Utc>),
        now_ms: u64,
        sync: bool,
    ) -> Job {
        let mut inner = lock(&self.inner);
        let duration = if sync {
            0
        } else {
            duration_ms(inner.settings.job_duration)
        };
        let job = Job {
            id: uuid::Uuid::new_v4().to_string(),
            entity: entity.to_owned(),
            version: version.to_owned(),
            start: range.0,
            end: range.1,
            created_ms: now_ms,
            done_ms: now_ms.saturating_add(duration),
            failure: inner.settings.fail_with.clone(),
        };
        inner
            .jobs
            .entry(tenant.to_owned())
            .or_default()
            .insert(job.id.clone(), job.clone());
        job
    }

    /// `tenant`'s job `id`.
    pub(crate) fn job(&self, tenant: &str, id: &str) -> Option<Job> {
        lock(&self.inner).jobs.get(tenant)?.get(id).cloned()
    }

    /// `tenant`'s jobs, oldest first.
    pub(crate) fn jobs(&self, tenant: &str) -> Vec<Job> {
        let inner = lock(&self.inner);
        let mut jobs: Vec<Job> = inner
            .jobs
            .get(tenant)
            .map(|m| m.values().cloned().collect())
            .unwrap_or_default();
        jobs.sort_by(|a, b| (a.created_ms, &a.id).cmp(&(b.created_ms, &b.id)));
        jobs
    }

    /// A fresh file token for `tenant`'s job `job_id`, working until
    /// `now_ms` plus the URL lifetime.
    pub(crate) fn mint(&self, tenant: &str, job_id: &str, now_ms: u64) -> String {
        let mut inner = lock(&self.inner);
        let expires_ms = now_ms.saturating_add(duration_ms(inner.settings.url_ttl));
        // Expired links are useless: forget them as new ones are minted.
        inner.links.retain(|_, l| l.expires_ms > now_ms);
        let token = crate::auth::new_token();
        inner.links.insert(
            token.clone(),
            Link {
                tenant: tenant.to_owned(),
                job_id: job_id.to_owned(),
                expires_ms,
            },
        );
        token
    }

    /// The CSV behind file `token` at `now_ms`.
    pub(crate) fn file(&self, token: &str, now_ms: u64) -> Result<String, FileRefusal> {
        let inner = lock(&self.inner);
        let link = inner.links.get(token).ok_or(FileRefusal::Unknown)?;
        if now_ms >= link.expires_ms {
            return Err(FileRefusal::Expired);
        }
        let job = inner
            .jobs
            .get(&link.tenant)
            .and_then(|m| m.get(&link.job_id))
            .ok_or(FileRefusal::Unknown)?;
        Ok(csv(job, inner.settings.rows_per_day))
    }
}

/// The job's file: a header and `rows_per_day` rows per started day of its
/// range, deterministic from the job's entity, version and range.
fn csv(job: &Job, rows_per_day: u32) -> String {
    let secs = (job.end - job.start).num_seconds().max(0);
    let days = u64::try_from(secs).unwrap_or(0).div_ceil(86_400).max(1);
    let rows = days.saturating_mul(u64::from(rows_per_day));
    let step = secs.max(1) / i64::try_from(rows.max(1)).unwrap_or(i64::MAX).max(1);
    let mut out = String::from("contactId,agentId,startDate,durationSeconds,entity,version\n");
    let base = job.start.timestamp();
    for i in 0..rows {
        let at = DateTime::from_timestamp(
            base.saturating_add(step.saturating_mul(i64::try_from(i).unwrap_or(0))),
            0,
        )
        .unwrap_or(job.start);
        out.push_str(&format!(
            "{},{},{},{},{},{}\n",
            1_000_000 + i,
            100 + i % 7,
            at.format("%Y-%m-%dT%H:%M:%S.000Z"),
            30 + (i * 37) % 600,
            job.entity,
            job.version
        ));
    }
    out
}
