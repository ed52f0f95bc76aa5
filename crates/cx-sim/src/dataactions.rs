//! Data actions and their jobs (seed 004): the fixtures every tenant starts
//! with and the per-tenant job store the routes in
//! `routes::dataactions` read and write.
//!
//! Actions (each tenant gets its own copy on first use; every one has the
//! seed's versions `v2.1.0`, requiring `customerId` and `interactionType`,
//! and `v2.0.0`, requiring `customerId`):
//!
//! | id | behaviour |
//! |---|---|
//! | `DA-123456` | seed 004's example: completes after 500 ms with the fraud assessment output |
//! | `DA-FAIL-0001` | FAILED after 200 ms with an `errorDetail` |
//! | `DA-TIMEOUT-0001` | TIMED_OUT after 300 ms |
//! | `DA-QUEUED-0001` | stays QUEUED forever |
//!
//! A job is QUEUED for `min(50 ms, duration / 5)`, RUNNING until
//! `createdAt + duration`, then ends as the action's [`JobOutcome`] says. A
//! completing job whose duration exceeds its `executionTimeoutMs` ends
//! TIMED_OUT at `createdAt + executionTimeoutMs` instead. Status is derived
//! from the virtual clock on every read, so no timer runs.
//!
//! The seed's output (its step 4): numbers and booleans arrive as strings,
//! e.g. `{"assessment": {"riskScore": "0.42", "flags": {"isFraud":
//! "false"}, "signalsEvaluated": "12"}, "metadata": {"processedAt":
//! "2026-...Z", "jobId": "JOB-..."}}`.

use std::collections::HashMap;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use crate::clock::Clock;
use crate::fixtures::by_id;
use crate::setters::with_setters;

/// Seed 004's example action.
pub const SEED_DATA_ACTION_ID: &str = "DA-123456";

/// Longest QUEUED phase of a job, in ms.
const MAX_QUEUED_MS: u64 = 50;

/// One version of a data action: its id (`v2.1.0`) and the input
/// parameters an execution must supply. JSON: `{versionId, requiredParameters}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct DataActionVersion {
    /// Version id, e.g. `v2.1.0`.
    pub version_id: String,
    /// Names of the required input parameters.
    #[serde(default)]
    pub required_parameters: Vec<String>,
}

impl DataActionVersion {
    /// Version `version_id` (e.g. `v2.1.0`) requiring `required_parameters`.
    pub fn new<I, S>(version_id: impl Into<String>, required_parameters: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        Self {
            version_id: version_id.into(),
            required_parameters: required_parameters.into_iter().map(Into::into).collect(),
        }
    }
}

/// How the jobs of a data action end. JSON: `{"kind": "complete"}`,
/// `{"kind": "fail", "errorDetail": "..."}`, `{"kind": "timeOut"}`,
/// `{"kind": "queued"}`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(
    tag = "kind",
    rename_all = "camelCase",
    rename_all_fields = "camelCase"
)]
#[non_exhaustive]
pub enum JobOutcome {
    /// COMPLETED with the seed's output.
    #[default]
    Complete,
    /// FAILED with `errorDetail`.
    Fail {
        /// The job's `errorDetail`.
        error_detail: String,
    },
    /// TIMED_OUT when the duration has passed.
    TimeOut,
    /// Stays QUEUED forever (seed 004 "Job Status Stuck in QUEUED").
    Queued,
}

/// A data action the simulator serves (`GET /api/v2/dataactions/{id}`) and
/// runs. JSON (for `POST /_sim/dataactions?tenant=`): camelCase, duration as
/// `durationMs`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct DataActionFixture {
    /// Action id, e.g. `DA-123456`.
    pub id: String,
    /// Display name.
    pub name: String,
    /// Versions, newest first.
    pub versions: Vec<DataActionVersion>,
    /// How long a job runs (sim time). JSON: `durationMs`.
    #[serde(rename = "durationMs", with = "crate::fixtures::duration_ms")]
    pub duration: Duration,
    /// How jobs end.
    #[serde(default)]
    pub outcome: JobOutcome,
}

impl DataActionFixture {
    /// An action with the seed's versions, a 500 ms duration and a
    /// completing outcome.
    pub fn new(id: impl Into<String>, name: impl Into<String>) -> Self {
        Self {
            id: id.into(),
            name: name.into(),
            versions: vec![
                DataActionVersion {
                    version_id: "v2.1.0".to_owned(),
                    required_parameters: vec![
                        "customerId".to_owned(),
                        "interactionType".to_owned(),
                    ],
                },
                DataActionVersion {
                    version_id: "v2.0.0".to_owned(),
                    required_parameters: vec!["customerId".to_owned()],
                },
            ],
            duration: Duration::from_millis(500),
            outcome: JobOutcome::Complete,
        }
    }
}

with_setters! { DataActionFixture {
    /// Sets the versions, newest first.
    with_versions(versions: Vec<DataActionVersion>);
    /// Sets the job duration.
    with_duration(duration: Duration);
    /// Sets the outcome.
    with_outcome(outcome: JobOutcome);
}}

impl DataActionFixture {
    /// The JSON definition `GET /api/v2/dataactions/{id}` answers.
    pub(crate) fn definition_json(&self) -> Value {
        json!({
            "id": self.id,
            "name": self.name,
            "status": "ACTIVE",
            "latestVersion": self.versions.first().map(|v| v.version_id.clone()),
            "versions": self.versions,
        })
    }
}

/// The actions every tenant starts with.
fn builtin_actions() -> Vec<DataActionFixture> {
    vec![
        DataActionFixture::new(SEED_DATA_ACTION_ID, "Fraud Risk Assessment"),
        DataActionFixture::new("DA-FAIL-0001", "Failing Assessment")
            .with_duration(Duration::from_millis(200))
            .with_outcome(JobOutcome::Fail {
                error_detail: "scoring service returned HTTP 500 for customer lookup".to_owned(),
            }),
        DataActionFixture::new("DA-TIMEOUT-0001", "Timing-out Assessment")
            .with_duration(Duration::from_millis(300))
            .with_outcome(JobOutcome::TimeOut),
        DataActionFixture::new("DA-QUEUED-0001", "Backlogged Assessment")
            .with_outcome(JobOutcome::Queued),
    ]
}

/// One job: what was submitted and when, and how it will end.
#[derive(Debug, Clone)]
pub(crate) struct Job {
    pub id: String,
    pub action_id: String,
    pub version_id: String,
    pub input: Map<String, Value>,
    pub created_ms: u64,
    pub duration_ms: u64,
    pub timeout_ms: u64,
    pub outcome: JobOutcome,
}

impl Job {
    /// When the job reaches its terminal state, and which one; `None` for
    /// a job that stays QUEUED.
    fn end(&self) -> Option<(u64, &'static str)> {
        let done = self.created_ms.saturating_add(self.duration_ms);
        match &self.outcome {
            JobOutcome::Queued => None,
            JobOutcome::Fail { .. } => Some((done, "FAILED")),
            JobOutcome::TimeOut => Some((done, "TIMED_OUT")),
            JobOutcome::Complete if self.duration_ms > self.timeout_ms => {
                Some((self.created_ms.saturating_add(self.timeout_ms), "TIMED_OUT"))
            }
            JobOutcome::Complete => Some((done, "COMPLETED")),
        }
    }

    /// Status at sim time `now`.
    pub(crate) fn status(&self, now: u64) -> &'static str {
        match self.end() {
            Some((at, status)) if now >= at => status,
            None => "QUEUED",
            Some(_) if now < self.created_ms.saturating_add(self.queued_ms()) => "QUEUED",
            Some(_) => "RUNNING",
        }
    }

    fn queued_ms(&self) -> u64 {
        (self.duration_ms / 5).min(MAX_QUEUED_MS)
    }

    /// The JSON view at sim time `now`.
    pub(crate) fn to_json(&self, now: u64, clock: &Clock) -> Value {
        let status = self.status(now);
        let mut m = Map::new();
        m.insert("jobId".into(), json!(self.id));
        m.insert("actionId".into(), json!(self.action_id));
        m.insert("versionId".into(), json!(self.version_id));
        m.insert("status".into(), json!(status));
        m.insert("createdAt".into(), json!(clock.rfc3339(self.created_ms)));
        if status != "QUEUED" {
            m.insert(
                "startedAt".into(),
                json!(clock.rfc3339(self.created_ms.saturating_add(self.queued_ms()))),
            );
        }
        if let Some((at, _)) = self.end().filter(|(at, _)| now >= *at) {
            let completed_at = clock.rfc3339(at);
            m.insert("completedAt".into(), json!(completed_at));
            match (&self.outcome, status) {
                (_, "COMPLETED") => {
                    m.insert("output".into(), self.output(&completed_at));
                }
                (JobOutcome::Fail { error_detail }, _) => {
                    m.insert("errorDetail".into(), json!(error_detail));
                }
                _ => {
                    m.insert(
                        "errorDetail".into(),
                        json!(format!(
                            "execution exceeded its time limit after {} ms",
                            at.saturating_sub(self.created_ms)
                        )),
                    );
                }
            }
        }
        Value::Object(m)
    }

    /// The seed's output, numbers and booleans as strings. `riskScore` is a
    /// deterministic function of `customerId` (`0.00`..`0.99`); `isFraud`
    /// is `riskScore >= thresholdScore` (default 0.85).
    fn output(&self, completed_at: &str) -> Value {
        let customer = self
            .input
            .get("customerId")
            .map(|v| v.as_str().map_or_else(|| v.to_string(), str::to_owned))
            .unwrap_or_default();
        let hundredths = customer
            .bytes()
            .fold(7u64, |h, b| h.wrapping_mul(31).wrapping_add(u64::from(b)))
            % 100;
        let threshold = self
            .input
            .get("thresholdScore")
            .and_then(|v| v.as_f64().or_else(|| v.as_str()?.parse().ok()))
            .unwrap_or(0.85);
        let is_fraud = (hundredths as f64) / 100.0 >= threshold;
        json!({
            "assessment": {
                "riskScore": format!("0.{hundredths:02}"),
                "flags": { "isFraud": is_fraud.to_string() },
                "signalsEvaluated": "12",
            },
            "metadata": {
                "processedAt": completed_at,
                "jobId": self.id,
                "customerId": customer,
            },
        })
    }
}

/// A tenant's actions and jobs.
#[derive(Debug)]
pub(crate) struct DataActions {
    pub actions: HashMap<String, DataActionFixture>,
    pub jobs: crate::retention::Retained<Job>,
}

impl Default for DataActions {
    fn default() -> Self {
        Self {
            actions: by_id(builtin_actions(), |a| &a.id),
            jobs: crate::retention::Retained::default(),
        }
    }
}

impl DataActions {
    /// Adds a job (created now) and evicts the finished jobs `retention`
    /// no longer keeps.
    pub(crate) fn insert(&mut self, job: Job, retention: &crate::retention::Retention) {
        let now = job.created_ms;
        let ends = job.end().map(|(at, _)| at);
        self.jobs.insert(job.id.clone(), job, ends);
        self.jobs.evict(now, retention);
    }

    /// The job with `id`.
    pub(crate) fn job(&self, id: &str) -> Option<&Job> {
        self.jobs.get(id)
    }
}

/// JSON bodies received on `POST /_sim/webhooks/{name}`, per name, oldest
/// first (at most [`Webhooks::CAPACITY`] per name; older ones are dropped).
#[derive(Debug, Default)]
pub(crate) struct Webhooks(std::sync::Mutex<HashMap<String, std::collections::VecDeque<Value>>>);

impl Webhooks {
    /// Bodies kept per name.
    const CAPACITY: usize = 10_000;

    /// Records one body.
    pub(crate) fn record(&self, name: &str, body: Value) {
        let mut map = crate::sync::lock(&self.0);
        let list = map.entry(name.to_owned()).or_default();
        if list.len() == Self::CAPACITY {
            list.pop_front();
        }
        list.push_back(body);
    }

    /// The bodies received under `name`.
    pub(crate) fn received(&self, name: &str) -> Vec<Value> {
        crate::sync::lock(&self.0)
            .get(name)
            .map(|l| l.iter().cloned().collect())
            .unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn job(duration_ms: u64, timeout_ms: u64, outcome: JobOutcome) -> Job {
        Job {
            id: "JOB-1".into(),
            action_id: "DA-1".into(),
            version_id: "v2.1.0".into(),
            input: Map::new(),
            created_ms: 1000,
            duration_ms,
            timeout_ms,
            outcome,
        }
    }

    #[test]
    fn lifecycle_table() {
        let fail = JobOutcome::Fail {
            error_detail: "x".into(),
        };
        let cases = [
            (job(500, 30_000, JobOutcome::Complete), 1000, "QUEUED"),
            (job(500, 30_000, JobOutcome::Complete), 1049, "QUEUED"),
            (job(500, 30_000, JobOutcome::Complete), 1050, "RUNNING"),
            (job(500, 30_000, JobOutcome::Complete), 1499, "RUNNING"),
            (job(500, 30_000, JobOutcome::Complete), 1500, "COMPLETED"),
            (job(5000, 1000, JobOutcome::Complete), 1999, "RUNNING"),
            (job(5000, 1000, JobOutcome::Complete), 2000, "TIMED_OUT"),
            (job(200, 30_000, fail), 1200, "FAILED"),
            (job(300, 30_000, JobOutcome::TimeOut), 1300, "TIMED_OUT"),
            (job(500, 30_000, JobOutcome::Queued), 99_999, "QUEUED"),
        ];
        for (j, now, want) in cases {
            assert_eq!(j.status(now), want, "{:?} at {now}", j.outcome);
        }
    }

    #[test]
    fn fixture_json_roundtrip() {
        let a = DataActionFixture::new("DA-X", "X").with_outcome(JobOutcome::Fail {
            error_detail: "boom".into(),
        });
        let v = serde_json::to_value(&a).expect("serialize");
        assert_eq!(v["durationMs"], 500);
        assert_eq!(v["outcome"]["kind"], "fail");
        assert_eq!(v["outcome"]["errorDetail"], "boom");
        assert_eq!(v["versions"][0]["requiredParameters"][1], "interactionType");
        let back: DataActionFixture = serde_json::from_value(v).expect("parse");
        assert_eq!(back, a);
    }
}
