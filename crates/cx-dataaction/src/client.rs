//! [`Client`]: the data-action API of one tenant, and [`RunBuilder`], one
//! end-to-end run (seed 004 `CXoneDataActionExecutor.run`):
//!
//! 1. **validate** — the payload's `garde` rules (version id, timeout
//!    range), the idempotency key, and the required parameters: from the
//!    caller ([`RunBuilder::required`], no request at all) or from the
//!    action's definition (`GET /api/v2/dataactions/{id}`, which also
//!    checks the version exists). Nothing is executed when a rule fails.
//! 2. **execute** — `POST /api/v2/dataactions/{id}/execute` with an
//!    `Idempotency-Key` that is the same on every attempt, so the runtime's
//!    retries (429, 503 "compute unavailable", lost responses) never create
//!    a second job.
//! 3. **poll** — `GET /api/v2/dataactions/{id}/jobs/{jobId}` on
//!    `Config::poller` until COMPLETED, FAILED or TIMED_OUT; the max wait
//!    ending first is [`ErrorKind::WaitTimeout`] naming the job, a status
//!    this crate does not know ends it at once ([`ErrorKind::UnknownStatus`]).
//!
//! The max wait (the poller's `deadline`) bounds steps 1–3 together. Every
//! call of a run is retried on the poll schedule while it fails transiently
//! (no response, 429, 5xx), the execute with the same idempotency key, so a
//! lost response is recovered as the same job and one bad poll never ends a
//! run. A run the max wait ends is "unknown outcome"
//! ([`Error::is_outcome_unknown`](cx_http::ServiceError::is_outcome_unknown)), never a failed job.
//! 4. **extract** — the [`Extraction`] on the job's `output`, coerced.
//! 5. **audit** — an [`ExecutionAudit`], POSTed to `Config::webhook_url`
//!    (outcome recorded) and written to the sink, on success and failure.

use std::collections::BTreeMap;
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use cx_audit::{AuditRecord, AuditSink};
use cx_http::{ApiPath, PollStatus, Poller};
use serde::{Deserialize, Serialize};

use crate::audit::{EVENT_TYPE, ErrorClass, ExecutionAudit, RunFacts, WebhookDelivery};
use crate::config::Config;
use crate::error::{Core, DataActionKind, Error, ErrorKind, Rule, Violation, from_http};
use crate::extract::{Extraction, Typed};
use crate::types::{
    ActionDefinition, ActionId, Job, JobAccepted, JobStatus, Payload, is_path_segment,
};

cx_http::service_client! {
    /// The data-action API of one tenant. Cheap to clone; clones share the
    /// runtime client and the audit sink.
    ///
    /// ```no_run
    /// # async fn demo(http: cx_http::Client) -> Result<(), cx_dataaction::Error> {
    /// use cx_dataaction::{ActionId, Client, Config, Extraction, Payload};
    /// use serde_json::json;
    ///
    /// let client = Client::new(http, Config::default());
    /// let id = ActionId::new("DA-123456")?;
    /// let payload = Payload::new("v2.1.0")
    ///     .param("customerId", json!("CUST-8842"))
    ///     .param("interactionType", json!("voice"))
    ///     .param("thresholdScore", json!(0.85))
    ///     .env("region", "us-east-1")
    ///     .timeout_ms(45_000);
    /// let report = client.run(&id, payload).extract(Extraction::seed()).send().await?;
    /// println!("risk {}", report.values["riskScore"]);
    /// # Ok(()) }
    /// ```
    #[derive(Clone)]
    pub struct Client {
        config: Config,
        sink: dyn AuditSink,
    }
    /// Write every run's [`ExecutionAudit`] to `sink` (event
    /// `DATA_ACTION_EXECUTED`). A failing sink is reported, never ignored.
    fn with_audit;
    /// A client sending through `http` (authenticated, e.g. from
    /// `cx_auth::Tenant::connect`).
    fn new;
}

#[derive(Deserialize)]
struct JobList {
    items: Vec<Job>,
}

impl Client {
    /// `GET /api/v2/dataactions/{id}`: versions and their required parameters.
    ///
    /// # Errors
    /// The failed call, mapped ([`ErrorKind::NotFound`], [`ErrorKind::PermissionDenied`], ...).
    pub async fn definition(&self, id: &ActionId) -> Result<ActionDefinition, Error> {
        self.definition_request(id)
            .send_json()
            .await
            .map_err(|e| from_http(e, &format!("reading data action {id}")))
    }

    fn definition_request(&self, id: &ActionId) -> cx_http::RequestBuilder {
        self.http
            .get(ApiPath::new("/api/v2/dataactions").id("action_id", id.as_str()))
            .operation("dataaction.definition")
    }

    /// `POST /api/v2/dataactions/{id}/execute` with `Idempotency-Key: key`
    /// (no validation; [`Client::run`] validates first).
    ///
    /// # Errors
    /// The failed call, mapped; a 400's details are in [`Error::violations`](cx_http::ServiceError::violations);
    /// [`ErrorKind::OutcomeUnknown`] naming `key` when the job was accepted
    /// under an id no URL path can hold.
    pub async fn submit(
        &self,
        id: &ActionId,
        payload: &Payload,
        key: &str,
    ) -> Result<JobAccepted, Error> {
        let what = format!("executing data action {id}");
        let accepted = self
            .execute_request(id, payload, key)
            .send_json()
            .await
            .map_err(|e| from_http(e, &what))?;
        checked_job(accepted, &what, key)
    }

    fn execute_request(
        &self,
        id: &ActionId,
        payload: &Payload,
        key: &str,
    ) -> cx_http::RequestBuilder {
        self.http
            .post(
                ApiPath::new("/api/v2/dataactions")
                    .id("action_id", id.as_str())
                    .lit("execute"),
            )
            .idempotency_key(key)
            .json(payload)
            .operation("dataaction.execute")
    }

    /// As [`Client::submit`], retried on `poller` while it fails
    /// transiently (same key every time). A transient failure at the end,
    /// or a 2xx answer that is not a job or names it by an id no URL path
    /// can hold, is [`ErrorKind::OutcomeUnknown`]: the job may exist.
    async fn execute_retried(
        &self,
        id: &ActionId,
        payload: &Payload,
        key: &str,
        poller: &Poller,
    ) -> Result<JobAccepted, Error> {
        let what = format!("executing data action {id}");
        let started = Instant::now();
        let sent = poller
            .retry(&what, || self.execute_request(id, payload, key).send_json())
            .await;
        match sent {
            Ok(o) => checked_job(o.value, &what, key),
            Err(e) if e.leaves_outcome_unknown() => {
                Err(Core::no_answer(e, &what, key, started.elapsed(), "job").into())
            }
            Err(e) => Err(from_http(e, &what)),
        }
    }
}

/// `accepted`, if its job id can be used as a path segment; otherwise the
/// job exists but cannot be read, an unknown outcome naming the `key` of the
/// execute (doing `what`) that finds it.
fn checked_job(accepted: JobAccepted, what: &str, key: &str) -> Result<JobAccepted, Error> {
    if is_path_segment(&accepted.job_id) {
        Ok(accepted)
    } else {
        Err(Core::unusable_id(
            what,
            key,
            "job",
            &accepted.job_id,
            "a job id is letters, digits, `-`, `_`, `.` and `~`, not `.` or `..`",
        )
        .into())
    }
}

impl Client {
    /// `GET /api/v2/dataactions/{id}/jobs/{jobId}`, once.
    ///
    /// # Errors
    /// [`ErrorKind::Validation`] for a job id that is not one path segment
    /// (nothing sent); otherwise the failed call, mapped.
    pub async fn job(&self, id: &ActionId, job_id: &str) -> Result<Job, Error> {
        self.job_request(id, job_id)?
            .send_json()
            .await
            .map_err(|e| from_http(e, &format!("reading job {job_id}")).with_job(job_id))
    }

    fn job_request(&self, id: &ActionId, job_id: &str) -> Result<cx_http::RequestBuilder, Error> {
        if !is_path_segment(job_id) {
            return Err(Error::violation(Violation::new(
                "job_id",
                Rule::Format,
                format!("must be one URL path segment, got {job_id:?}"),
            )));
        }
        Ok(self
            .http
            .get(
                ApiPath::new("/api/v2/dataactions")
                    .id("action_id", id.as_str())
                    .lit("jobs")
                    .id("job_id", job_id),
            )
            .operation("dataaction.job"))
    }

    /// `GET /api/v2/dataactions/{id}/jobs`: every job of the action.
    ///
    /// # Errors
    /// The failed call, mapped.
    pub async fn jobs(&self, id: &ActionId) -> Result<Vec<Job>, Error> {
        self.http
            .get(
                ApiPath::new("/api/v2/dataactions")
                    .id("action_id", id.as_str())
                    .lit("jobs"),
            )
            .operation("dataaction.jobs")
            .send_json::<JobList>()
            .await
            .map(|l| l.items)
            .map_err(|e| from_http(e, &format!("listing jobs of data action {id}")))
    }

    /// Poll a job on `poller` until it is terminal (seed 004 `poll_job`).
    /// Returns the job and the number of polls. Transient failures of a
    /// poll are retried until the poller's deadline.
    ///
    /// # Errors
    /// All "unknown outcome", naming the job: [`ErrorKind::WaitTimeout`] when
    /// the poller's deadline or poll limit ends first while the job is
    /// pending (the message names its last status);
    /// [`ErrorKind::OutcomeUnknown`] when the polls failed transiently until
    /// then; [`ErrorKind::UnknownStatus`] at once for a status this crate
    /// does not know. A poll refused for good (404, 403, ...), mapped.
    pub async fn wait(
        &self,
        id: &ActionId,
        job_id: &str,
        poller: &Poller,
    ) -> Result<(Job, u32), Error> {
        let started = Instant::now();
        let last = Mutex::new(JobStatus::Queued);
        let polls = std::sync::atomic::AtomicU32::new(0);
        let cap = poller.max_delay;
        let outcome = poller
            .poll(&format!("job {job_id}"), || {
                let req = self.job_request(id, job_id);
                let (last, polls) = (&last, &polls);
                async move {
                    let req = req.map_err(|e| cx_http::Error::invalid_input("job_id", e))?;
                    polls.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    let resp = req.send().await?;
                    let job: Job = resp.json()?;
                    *last.lock().unwrap_or_else(PoisonError::into_inner) = job.status.clone();
                    // A status this crate does not know ends the wait too.
                    if job.status.is_terminal() || matches!(job.status, JobStatus::Other(_)) {
                        Ok(PollStatus::Done(job))
                    } else {
                        Ok(PollStatus::Pending {
                            retry_after: resp.retry_after().map(|d| d.min(cap)),
                        })
                    }
                }
            })
            .await;
        let status = last.into_inner().unwrap_or_else(PoisonError::into_inner);
        let polls = polls.into_inner();
        let operation = format!("job {job_id} of data action {id}");
        let err: Error = match outcome {
            Ok(o) => match &o.value.status {
                JobStatus::Other(s) => Core::unknown_status(&operation, s, polls).into(),
                _ => return Ok((o.value, o.polls)),
            },
            Err(e) => {
                Core::wait_failed(e, &operation, &status.to_string(), polls, started.elapsed())
                    .into()
            }
        };
        Err(err.with_job(job_id))
    }

    /// One run of action `id` with `payload`; configure, then
    /// [`RunBuilder::send`].
    pub fn run<'a>(&'a self, id: &'a ActionId, payload: Payload) -> RunBuilder<'a> {
        RunBuilder {
            client: self,
            action_id: id,
            payload,
            required: None,
            extraction: Extraction::new(),
            poller: None,
            idempotency_key: None,
        }
    }
}

/// What a successful run produced. JSON: camelCase, values as
/// `{"type", "value"}` ([`Typed`]).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RunReport {
    /// The job in its terminal (COMPLETED) state.
    pub job: Job,
    /// The extracted, coerced values by name.
    pub values: BTreeMap<String, Typed>,
    /// Status polls made.
    pub polls: u32,
    /// The `Idempotency-Key` the execute was sent with.
    pub idempotency_key: String,
    /// The audit entry (also written to the sink, if any).
    pub audit: ExecutionAudit,
}

/// One run being configured; made by [`Client::run`].
#[must_use = "a run does nothing until `.send().await`"]
#[derive(Debug)]
pub struct RunBuilder<'a> {
    client: &'a Client,
    action_id: &'a ActionId,
    payload: Payload,
    required: Option<Vec<String>>,
    extraction: Extraction,
    poller: Option<Poller>,
    idempotency_key: Option<String>,
}

impl<'a> RunBuilder<'a> {
    /// Check these required parameters instead of reading the action's
    /// definition (then no request precedes the execute).
    pub fn required<S: Into<String>>(mut self, names: impl IntoIterator<Item = S>) -> Self {
        self.required = Some(names.into_iter().map(Into::into).collect());
        self
    }

    /// The longest wait for a terminal state (default 120 s).
    pub fn max_wait(mut self, max_wait: Duration) -> Self {
        let mut p = self
            .poller
            .take()
            .unwrap_or_else(|| self.client.config.poller.clone());
        p.deadline = Some(max_wait);
        self.poller = Some(p);
        self
    }

    /// Validate, execute, poll, extract and audit (see the module docs).
    ///
    /// # Errors
    /// Every error carries the run's audit record ([`Error::audit`]):
    /// [`ErrorKind::Validation`] before anything is executed (each broken
    /// rule named in [`Error::violations`](cx_http::ServiceError::violations)); [`DataActionKind::JobFailed`] with
    /// the job's `errorDetail`; [`DataActionKind::JobTimedOut`];
    /// [`ErrorKind::WaitTimeout`]; [`DataActionKind::Extraction`]; the failed
    /// call's kind; [`ErrorKind::Audit`] when the run succeeded but the
    /// record could not be stored ([`Error::report`] has the result).
    pub async fn send(self) -> Result<RunReport, Error> {
        let started = Instant::now();
        let key = self
            .idempotency_key
            .clone()
            .unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
        let outcome = self.execute_and_wait(&key).await;
        let client = self.client;
        let (job_id, status) = match &outcome {
            Ok((job, _, _)) => (Some(job.job_id.clone()), Some(job.status.to_string())),
            Err((job_id, status, _)) => (job_id.clone(), status.clone()),
        };
        let (class, error) = match &outcome {
            Ok(_) => (ErrorClass::None, None),
            Err((_, _, e)) => (
                e.class(),
                Some(
                    e.error_detail()
                        .map_or_else(|| e.to_string(), str::to_owned),
                ),
            ),
        };
        let mut audit = ExecutionAudit::from_facts(RunFacts {
            action_id: self.action_id.as_str(),
            payload: &self.payload,
            job_id: job_id.as_deref(),
            status: status.as_deref(),
            latency: started.elapsed(),
            class,
            error,
            compliance_tag: &client.config.compliance_tag,
            at: client.config.clock.now(),
        });
        // Validation failures never left the process; nothing to tell an engine.
        let validated = !matches!(&outcome, Err((None, _, e)) if e.is_validation());
        if validated {
            audit.webhook = client.webhook(&audit).await;
        }
        let stored = client.store(&audit).await;
        match (outcome, stored) {
            (Ok((job, values, polls)), Ok(())) => Ok(RunReport {
                job,
                values,
                polls,
                idempotency_key: key,
                audit,
            }),
            (Ok((job, values, polls)), Err(a)) => Err(Error::audit_failed(
                RunReport {
                    job,
                    values,
                    polls,
                    idempotency_key: key,
                    audit,
                },
                a,
            )),
            (Err((_, _, e)), Ok(())) => Err(e.with_audit(audit)),
            (Err((_, _, e)), Err(a)) => Err(e.with_audit(audit).with_audit_failure(a)),
        }
    }

    /// Steps 1–4. On failure: the job id and last status, if a job exists.
    async fn execute_and_wait(
        &self,
        key: &str,
    ) -> Result<(Job, BTreeMap<String, Typed>, u32), (Option<String>, Option<String>, Error)> {
        let client = self.client;
        let id = self.action_id;
        let poller = self
            .poller
            .clone()
            .unwrap_or_else(|| client.config.poller.clone());
        let started = Instant::now();
        self.validate(key, &poller)
            .await
            .map_err(|e| (None, None, e))?;
        let accepted = client
            .execute_retried(id, &self.payload, key, &poller.spent(started.elapsed()))
            .await
            .map_err(|e| (None, None, e))?;
        let job_id = accepted.job_id;
        tracing::debug!(action = %id, job = %job_id, "data action job created");
        let fail =
            |status: Option<String>, e: Error| (Some(job_id.clone()), status, e.with_job(&job_id));
        let durations = &client.config.durations;
        let expected = poller.expected.or_else(|| durations.expected(id.as_str()));
        let (job, polls) = client
            .wait(
                id,
                &job_id,
                &poller.spent(started.elapsed()).with_expected(expected),
            )
            .await
            .map_err(|e| fail(None, e))?;
        if let Some(took) = job.server_duration() {
            durations.observe(id.as_str(), took);
        }
        let status = job.status.to_string();
        let terminal = |kind, verb: &str| {
            let detail = job.error_detail.clone();
            let msg = format!(
                "job {job_id} of data action {id} {verb}: {}",
                detail.as_deref().unwrap_or("no errorDetail given")
            );
            Error::new(kind, msg).with_error_detail(detail)
        };
        match job.status {
            JobStatus::Completed => {}
            JobStatus::Failed => {
                return Err(fail(
                    Some(status),
                    terminal(ErrorKind::Domain(DataActionKind::JobFailed), "FAILED"),
                ));
            }
            _ => {
                return Err(fail(
                    Some(status),
                    terminal(ErrorKind::Domain(DataActionKind::JobTimedOut), "TIMED_OUT"),
                ));
            }
        }
        let output = job.output.clone().unwrap_or(serde_json::Value::Null);
        let values = self
            .extraction
            .apply(&output)
            .map_err(|e| fail(Some(status), e))?;
        Ok((job, values, polls))
    }

    /// Step 1: every local rule, then the definition's (unless the caller
    /// gave the required parameters).
    async fn validate(&self, key: &str, poller: &Poller) -> Result<(), Error> {
        let mut violations = match self.payload.check() {
            Ok(()) => Vec::new(),
            Err(e) => e.violations().to_vec(),
        };
        if key.is_empty() || key.len() > 255 || !key.bytes().all(|b| b.is_ascii_graphic()) {
            violations.push(Violation::new(
                "idempotency_key",
                Rule::Format,
                "must be 1..=255 visible ASCII characters",
            ));
        }
        if poller.deadline.is_none() && poller.max_polls.is_none() {
            violations.push(Violation::new(
                "max_wait",
                Rule::Required,
                "a max wait (or poll limit) is needed so that polling ends",
            ));
        }
        if let Some(required) = &self.required
            && let Err(e) = self.payload.check_required(required)
        {
            violations.extend_from_slice(e.violations());
        }
        if !violations.is_empty() {
            return Err(Error::validation(violations));
        }
        if self.required.is_some() {
            return Ok(());
        }
        let what = format!("reading data action {}", self.action_id);
        let def: ActionDefinition = poller
            .retry(&what, || {
                self.client.definition_request(self.action_id).send_json()
            })
            .await
            .map(|o| o.value)
            .map_err(|e| from_http(e, &what))?;
        let Some(version) = def.version(&self.payload.version_id) else {
            let known: Vec<&str> = def.versions.iter().map(|v| v.version_id.as_str()).collect();
            return Err(Error::violation(Violation::new(
                "versionId",
                Rule::UnknownVersion,
                format!(
                    "{} is not a version of data action {}; it has {}",
                    self.payload.version_id,
                    self.action_id,
                    known.join(", ")
                ),
            )));
        };
        self.payload.check_required(&version.required_parameters)
    }
}

cx_http::with_setters! { builder RunBuilder<'_> {
    /// Extract these fields from the output (default: none).
    extract(extraction: Extraction);
    /// Poll on this schedule instead of `Config::poller`.
    poller(poller: Poller) = Some(poller);
    /// Use `key` as the `Idempotency-Key` instead of a fresh UUID v4 (a
    /// re-run after a crash then reuses the first job). 1..=255 visible ASCII.
    idempotency_key(idempotency_key: impl Into<String>) = Some(idempotency_key.into());
}}

impl Client {
    /// POST the entry to the webhook, through the runtime and without the
    /// CXone bearer token; the outcome, or `None` without a webhook.
    async fn webhook(&self, audit: &ExecutionAudit) -> Option<WebhookDelivery> {
        let url = self.config.webhook_url.as_deref()?;
        let sent = self
            .http
            .request_url(cx_http::Method::POST, url)
            .without_auth()
            .json(&audit.webhook_body())
            .attempt_timeout(self.config.webhook_timeout)
            .operation("dataaction.webhook")
            .send()
            .await;
        Some(match sent {
            Ok(resp) => WebhookDelivery {
                url: url.to_owned(),
                delivered: true,
                status: Some(resp.status()),
                error: None,
            },
            Err(e) => {
                tracing::warn!(url, error = %e, "audit webhook not delivered");
                WebhookDelivery {
                    url: url.to_owned(),
                    delivered: false,
                    status: e.status(),
                    error: Some(e.to_string()),
                }
            }
        })
    }

    /// Write the entry to the sink, if one is set.
    async fn store(&self, audit: &ExecutionAudit) -> Result<(), cx_audit::Error> {
        let Some(sink) = &self.audit else {
            return Ok(());
        };
        let payload = serde_json::to_value(audit).unwrap_or(serde_json::Value::Null);
        sink.write(&AuditRecord::at(
            self.config.clock.now(),
            EVENT_TYPE,
            payload,
        ))
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn client_and_run_future_are_send() -> Result<(), Box<dyn std::error::Error>> {
        fn assert_send<T: Send>(_: &T) {}
        fn assert_send_sync<T: Send + Sync + Clone>() {}
        assert_send_sync::<Client>();
        assert_send_sync::<Extraction>();
        let client = Client::new(cx_testkit::unsent_http(), Config::default());
        let id = ActionId::new("DA-1")?;
        // Built, never polled: nothing is sent.
        let fut = client.run(&id, Payload::new("v1.0.0")).send();
        assert_send(&fut);
        Ok(())
    }
}
