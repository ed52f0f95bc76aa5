//! [`UpdateBuilder`]: seed 002's example flow for one agent — profile →
//! payload → validate → update with `If-Match` (409 → re-read → re-apply →
//! retry, bounded) → publish → audit — and the [`UpdateReport`] it returns.
//!
//! Who owns the precondition decides what a 409/412 means:
//!
//! | the caller gave | on 409/412 |
//! |---|---|
//! | nothing (the builder reads the profile) or [`UpdateBuilder::profile`] | re-read, recompute the change on the fresh profile, send again (up to `max_attempts`) |
//! | [`UpdateBuilder::if_match`] | stop with [`AgentKind::PreconditionFailed`] naming the current ETag; nothing is re-sent |
//!
//! The skill list of the payload is either a replacement (the payload's
//! `skill_levels`, as `cx agent set-workmode --skill`) or deltas
//! ([`UpdateBuilder::add_skill`] / [`UpdateBuilder::remove_skill`], as
//! `--add-skill` / `--remove-skill`), which are applied to the skills of
//! the profile each attempt read, so concurrent writers adding different
//! skills all land.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use cx_http::{ApiPath, ConditionalUpdate, Versioned};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::AgentKind;
use crate::client::{Client, EventReceipt};
use crate::error::{Error, ErrorKind};
use crate::types::{AgentId, AgentProfile, SkillLevel, WorkModePayload};
use crate::validate::{ValidationReport, validate_availability};

/// Audit event of a successful update.
pub const AUDIT_CHANGED: &str = "AGENT_AVAILABILITY_CHANGED";
/// Audit event of a change refused by validation (nothing written).
pub const AUDIT_REJECTED: &str = "AGENT_AVAILABILITY_REJECTED";
/// Audit event of a write that failed (conflict budget spent, API error).
pub const AUDIT_FAILED: &str = "AGENT_AVAILABILITY_UPDATE_FAILED";

/// Computes the payload from the agent's current profile.
pub(crate) type Change = Arc<dyn Fn(&AgentProfile) -> WorkModePayload + Send + Sync>;

/// One edit of an agent's current skill list ([`UpdateBuilder::add_skill`],
/// [`UpdateBuilder::remove_skill`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SkillDelta {
    /// Add the skill, or replace its level if the agent has it.
    Add(SkillLevel),
    /// Drop the skill if the agent has it.
    Remove(String),
}

/// `current` with `deltas` applied in order: what an update with these
/// deltas writes when the agent holds `current` (e.g. for a dry run).
pub fn apply_skill_deltas(current: &[SkillLevel], deltas: &[SkillDelta]) -> Vec<SkillLevel> {
    let mut skills = current.to_vec();
    for delta in deltas {
        match delta {
            SkillDelta::Add(level) => {
                match skills.iter_mut().find(|s| s.skill_id == level.skill_id) {
                    Some(s) => s.clone_from(level),
                    None => skills.push(level.clone()),
                }
            }
            SkillDelta::Remove(id) => skills.retain(|s| s.skill_id != *id),
        }
    }
    skills
}

/// An agent's availability state before or after an update. JSON
/// `{workModeId, skills, eTag, timestamp}` (the seed's `previousState` /
/// `newState`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AgentState {
    /// Work mode.
    pub work_mode_id: Option<String>,
    /// Skill levels.
    pub skills: Vec<SkillLevel>,
    /// The ETag of this state.
    #[serde(rename = "eTag")]
    pub etag: Option<String>,
    /// When this state was observed or written (client clock).
    pub timestamp: DateTime<Utc>,
}

/// The outcome of a successful update. JSON camelCase.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UpdateReport {
    /// The agent.
    pub agent_id: String,
    /// The state the winning attempt replaced (after any re-reads).
    pub previous_state: AgentState,
    /// The state written.
    pub new_state: AgentState,
    /// The payload the winning attempt sent.
    pub payload: WorkModePayload,
    /// Validation of that payload.
    pub validation: ValidationReport,
    /// HTTP status of the winning PATCH.
    pub api_status: u16,
    /// Duration of the winning PATCH in ms (the seed's `latencyMs`).
    pub latency_ms: f64,
    /// Whole operation, reads and retries included, in ms.
    pub total_ms: f64,
    /// PATCH attempts, the winning one included.
    pub attempts: u32,
    /// 409s met before winning.
    pub conflicts: u32,
    /// Whether the winning PATCH carried `If-Match`.
    pub optimistic_locking_applied: bool,
    /// The published event, when events are on.
    pub event: Option<EventReceipt>,
    /// `auditId` of the audit record, when a sink is set.
    pub audit_id: Option<String>,
}

/// One update being configured. Finish with [`UpdateBuilder::send`].
#[must_use = "an update does nothing until `.send().await`"]
pub struct UpdateBuilder<'a> {
    client: &'a Client,
    agent_id: AgentId,
    change: Change,
    profile: Option<Versioned<AgentProfile>>,
    if_match: Option<String>,
    max_attempts: u32,
    deltas: Vec<SkillDelta>,
}

/// What one PATCH attempt produced.
struct Attempt {
    payload: WorkModePayload,
    validation: ValidationReport,
    status: u16,
    etag: Option<String>,
    body: Value,
    latency: Duration,
}

fn millis(d: Duration) -> f64 {
    (d.as_secs_f64() * 1_000_000.0).round() / 1000.0
}

fn state_of(profile: &Versioned<AgentProfile>, at: DateTime<Utc>) -> AgentState {
    AgentState {
        work_mode_id: profile.value.work_mode_id().map(str::to_owned),
        skills: profile.value.skills.clone(),
        etag: profile.etag.clone(),
        timestamp: at,
    }
}

impl<'a> UpdateBuilder<'a> {
    pub(crate) fn new(client: &'a Client, agent_id: &AgentId, change: Change) -> Self {
        Self {
            client,
            agent_id: agent_id.clone(),
            change,
            profile: None,
            if_match: None,
            max_attempts: client.config.max_update_attempts,
            deltas: Vec::new(),
        }
    }

    /// Add `level`'s skill to the skills of the profile each attempt reads
    /// (or set its level and concurrency if the agent has it). Re-applied
    /// on the fresh profile after every 409. Not combinable with a payload
    /// that lists skills (that list is a replacement).
    pub fn add_skill(self, level: SkillLevel) -> Self {
        self.skill_delta(SkillDelta::Add(level))
    }

    /// Remove skill `skill_id` from the skills of the profile each attempt
    /// reads (nothing happens if the agent does not have it). Re-applied on
    /// the fresh profile after every 409, like [`UpdateBuilder::add_skill`].
    pub fn remove_skill(self, skill_id: impl Into<String>) -> Self {
        self.skill_delta(SkillDelta::Remove(skill_id.into()))
    }

    /// Add one delta ([`UpdateBuilder::add_skill`] or
    /// [`UpdateBuilder::remove_skill`]); deltas apply in the order given.
    pub fn skill_delta(mut self, delta: SkillDelta) -> Self {
        self.deltas.push(delta);
        self
    }

    /// Run the flow: read the profile (unless given), compute the payload
    /// and check its shape, read the schedule and every skills page,
    /// validate (every violation; nothing is written when any), PATCH
    /// `/api/v2/agents/{id}/workmodes` with `If-Match` through the per-tenant
    /// rate limiter, and on 409 re-read the profile, recompute (skill deltas
    /// included) and re-validate the payload on the fresh state and send
    /// again, up to `max_attempts` times — unless the caller gave
    /// [`UpdateBuilder::if_match`] (see the module docs). Then publish `agent.availability.changed` and write the audit
    /// record (seed 002 step 5: before/after, validation, API status,
    /// latency, compliance flags).
    ///
    /// # Errors
    /// - [`ErrorKind::Validation`] naming `max_update_attempts`,
    ///   `patch_rate_limit.per_second` or `patch_rate_limit.burst` when the
    ///   client's [`crate::Config`] holds a zero (nothing sent);
    /// - [`ErrorKind::Validation`] with every violation (audited as
    ///   `AGENT_AVAILABILITY_REJECTED`; no PATCH sent);
    /// - [`ErrorKind::Validation`] naming `skillLevels` (rule `exclusive`)
    ///   when the payload lists skills and deltas were given, or `skillId`
    ///   when a removed skill id is empty;
    /// - [`ErrorKind::Conflict`] when every attempt met a newer ETag;
    /// - [`AgentKind::PreconditionFailed`] when the caller's `If-Match` was
    ///   refused ([`Error::current_etag`]; audited, nothing re-sent);
    /// - [`ErrorKind::OutcomeUnknown`] when a PATCH got no answer that
    ///   settles it ([`cx_http::Error::leaves_outcome_unknown`]: no
    ///   response, 408/429/5xx after the runtime's retries): the change may
    ///   have been written; audited `AGENT_AVAILABILITY_UPDATE_FAILED` with
    ///   `written: null`, `outcome: "unknown"`;
    /// - read/write failures mapped by kind (audited as
    ///   `AGENT_AVAILABILITY_UPDATE_FAILED`, `written: false`, once
    ///   validation passed);
    /// - [`AgentKind::EventPublish`] / [`ErrorKind::Audit`] after a
    ///   successful write, with [`Error::report`] set.
    pub async fn send(self) -> Result<UpdateReport, Error> {
        let flow = Update {
            client: self.client,
            agent_id: &self.agent_id,
            started: Instant::now(),
        };
        let checked = flow.prerequisites(
            self.profile,
            self.if_match,
            self.change,
            self.deltas,
            self.max_attempts,
        );
        let applied = flow.submit(checked.await?).await?;
        let mut report = flow.report(applied);
        let published = flow.publish(&mut report).await;
        flow.audit_changed(report, published).await
    }
}

cx_http::with_setters! { builder UpdateBuilder<'_> {
    /// Start from a profile read earlier (its ETag goes in the first
    /// `If-Match`) instead of reading it again.
    profile(profile: Versioned<AgentProfile>) = Some(profile);
    /// Make the update conditional on `etag` (quotes included), a version
    /// the caller read: the precondition is then the caller's, so a 409/412
    /// ends the update with [`AgentKind::PreconditionFailed`] naming the
    /// agent's current ETag, and nothing is re-sent (`max_attempts` does not
    /// apply).
    if_match(if_match: impl Into<String>) = Some(if_match.into());
    /// Attempts of the conditional update (default
    /// [`crate::Config::max_update_attempts`]).
    max_attempts(max_attempts: u32);
}}

/// What [`Update::prerequisites`] hands to the write.
struct Checked {
    /// The profile the change starts from, with the caller's `If-Match`.
    first: Versioned<AgentProfile>,
    /// The caller's own `If-Match`, tried once.
    explicit: Option<String>,
    change: Change,
    payload: WorkModePayload,
    skills: Vec<crate::types::Skill>,
    schedule: crate::types::Schedule,
    /// Attempts of the conditional update.
    attempts: u32,
}

/// The PATCH that won, the state it applied to, and the conditional
/// update's bookkeeping.
struct Won {
    attempt: Attempt,
    base: Versioned<AgentProfile>,
    attempts: u32,
    conflicts: u32,
}

/// One work-mode update in flight: what every step of
/// [`UpdateBuilder::send`] shares. The steps, in order:
/// [`Update::prerequisites`], [`Update::submit`], [`Update::report`],
/// [`Update::publish`], [`Update::audit_changed`].
struct Update<'a> {
    client: &'a Client,
    agent_id: &'a AgentId,
    started: Instant,
}

impl Update<'_> {
    /// Seed 002 steps 1–2: check the settings and the request, read the
    /// profile (unless given), compute the payload (skill deltas included)
    /// and check its shape, read the schedule and every skills page and
    /// validate. A refusal is audited `AGENT_AVAILABILITY_REJECTED`; nothing
    /// is written.
    async fn prerequisites(
        &self,
        profile: Option<Versioned<AgentProfile>>,
        if_match: Option<String>,
        change: Change,
        deltas: Vec<SkillDelta>,
        max_attempts: u32,
    ) -> Result<Checked, Error> {
        let (client, agent_id) = (self.client, self.agent_id);
        client.patch_limiter()?;
        if max_attempts == 0 {
            return Err(invalid_update(
                "max_attempts",
                crate::Rule::Required,
                "must be at least 1",
            ));
        }
        if deltas
            .iter()
            .any(|d| matches!(d, SkillDelta::Remove(id) if id.trim().is_empty()))
        {
            return Err(invalid_update(
                "skillId",
                crate::Rule::Required,
                "a skill to remove must have a non-empty id",
            ));
        }
        let mut first = match profile {
            Some(p) => p,
            None => client.profile(agent_id).await?,
        };
        let explicit = if_match.clone();
        if let Some(tag) = if_match {
            first.etag = Some(tag);
        }
        let change: Change = if deltas.is_empty() {
            change
        } else {
            if !change(&first.value).skill_levels.is_empty() {
                return Err(invalid_update(
                    "skillLevels",
                    crate::Rule::Exclusive,
                    "give either a replacement skill list or skill deltas (add/remove), not both",
                ));
            }
            let base = change;
            Arc::new(move |profile: &AgentProfile| {
                let mut payload = base(profile);
                payload.skill_levels = apply_skill_deltas(&profile.skills, &deltas);
                payload
            })
        };
        let payload = change(&first.value);
        let problems = payload.problems();
        if !problems.is_empty() {
            return Err(Error::violations_error(
                "invalid work-mode payload",
                problems,
            ));
        }
        let (validation, skills, schedule) = client.validate(agent_id, &payload).await?;
        if !validation.valid {
            let refusal = Refusal {
                message: format!("work-mode change for agent {agent_id} refused"),
                base: &first,
                extra: json!({ "requested": payload }),
            };
            return Err(refusal.audited(client, agent_id, &validation).await);
        }
        // The caller's own precondition is tried once: re-sending on a newer
        // version would overwrite what the caller has not seen.
        let attempts = if explicit.is_some() { 1 } else { max_attempts };
        Ok(Checked {
            first,
            explicit,
            change,
            payload,
            skills,
            schedule,
            attempts,
        })
    }

    /// Seed 002 steps 3–4: PATCH `/api/v2/agents/{id}/workmodes` with
    /// `If-Match` through the per-tenant rate limiter; on 409 re-read,
    /// recompute and re-validate (shape and availability rules) on the
    /// fresh state and send again. A
    /// failure is audited `AGENT_AVAILABILITY_UPDATE_FAILED`, a change the
    /// fresh state made invalid `AGENT_AVAILABILITY_REJECTED`.
    async fn submit(&self, checked: Checked) -> Result<Won, Error> {
        let (client, agent_id) = (self.client, self.agent_id);
        let (change, payload) = (&checked.change, &checked.payload);
        let (skills, schedule) = (checked.skills.as_slice(), &checked.schedule);
        let limiter = client.patch_limiter()?;
        let path = ApiPath::new("/api/v2/agents")
            .id("agent_id", agent_id.as_str())
            .lit("workmodes");
        // Set when a PATCH failed without an answer that settles it (no
        // response, 408/429/5xx after the runtime's retries): such an error
        // ends the loop at once, so it is the one returned.
        let unsettled = AtomicBool::new(false);
        let unsettled = &unsettled;
        let outcome = ConditionalUpdate::new(checked.attempts)
            .run(
                Some(checked.first),
                || client.read_profile(agent_id),
                |state: Versioned<AgentProfile>| {
                    let payload = change(&state.value);
                    let mut validation =
                        validate_availability(schedule, skills, &payload, client.clock().now());
                    // The shape rules too, as for the first payload: a fresh
                    // read can make a re-applied change malformed.
                    let problems = payload.problems();
                    if !problems.is_empty() {
                        validation.valid = false;
                        validation.violations.splice(0..0, problems);
                    }
                    let mut req = client
                        .http
                        .patch(path.clone())
                        .json(&payload)
                        .rate_limiter(limiter)
                        .operation("agent.workmode.update");
                    if let Some(tag) = &state.etag {
                        req = req.if_match(tag);
                    }
                    async move {
                        if !validation.valid {
                            return Ok(Err(validation));
                        }
                        let t = Instant::now();
                        let resp = req.send().await.inspect_err(|e| {
                            if e.leaves_outcome_unknown() {
                                unsettled.store(true, Ordering::Relaxed);
                            }
                        })?;
                        let latency = t.elapsed();
                        Ok(Ok(Attempt {
                            status: resp.status(),
                            etag: resp.etag().map(str::to_owned),
                            body: resp.json().unwrap_or(Value::Null),
                            payload,
                            validation,
                            latency,
                        }))
                    }
                },
            )
            .await;
        let applied = match outcome {
            Ok(a) => a,
            Err(e) => {
                let unknown = unsettled.load(Ordering::Relaxed);
                let err = match checked.explicit {
                    _ if unknown => Error::outcome_unknown(
                        e,
                        &format!("updating the work mode of agent {agent_id}"),
                    ),
                    Some(sent) if e.kind() == cx_http::ErrorKind::Conflict => {
                        let current = client
                            .read_profile(agent_id)
                            .await
                            .ok()
                            .and_then(|p| p.etag);
                        Error::precondition_failed(agent_id.as_str(), &sent, current, e)
                    }
                    _ => {
                        Error::from_http(e, &format!("updating the work mode of agent {agent_id}"))
                    }
                };
                let record = json!({
                    "agentId": agent_id,
                    "action": "workmode_transition",
                    "requested": payload,
                    "validation": { "passed": true, "errors": [] },
                    // Unknown (null) when the last PATCH may have been carried out.
                    "written": if unknown { Value::Null } else { Value::Bool(false) },
                    "outcome": if unknown { "unknown" } else { "failed" },
                    "error": err.to_string(),
                    "errorKind": err.kind().as_str(),
                    "status": err.status(),
                    "attempts": err.attempts(),
                });
                return Err(audited(client, AUDIT_FAILED, record, err).await);
            }
        };
        match applied.value {
            Ok(attempt) => Ok(Won {
                attempt,
                base: applied.base,
                attempts: applied.attempts,
                conflicts: applied.conflicts,
            }),
            Err(validation) => {
                // The fresh state made the re-applied change invalid.
                let refusal = Refusal {
                    message: format!(
                        "work-mode change for agent {agent_id} refused after a re-read"
                    ),
                    base: &applied.base,
                    extra: json!({ "attempts": applied.attempts }),
                };
                Err(refusal.audited(client, agent_id, &validation).await)
            }
        }
    }

    /// The report of a written change: before and after, the winning
    /// PATCH's status and latency, attempts and conflicts.
    fn report(&self, applied: Won) -> UpdateReport {
        let attempt = applied.attempt;
        metrics::histogram!("cx_agent_workmode_update_seconds")
            .record(attempt.latency.as_secs_f64());
        let now = self.client.clock().now();
        let new_state = AgentState {
            work_mode_id: attempt
                .body
                .get("workModeId")
                .and_then(Value::as_str)
                .map(str::to_owned)
                .or_else(|| Some(attempt.payload.work_mode_id.clone())),
            skills: attempt.payload.skill_levels.clone(),
            etag: attempt.etag.clone(),
            timestamp: now,
        };
        UpdateReport {
            agent_id: self.agent_id.to_string(),
            previous_state: state_of(&applied.base, now),
            new_state,
            payload: attempt.payload,
            validation: attempt.validation,
            api_status: attempt.status,
            latency_ms: millis(attempt.latency),
            total_ms: 0.0,
            attempts: applied.attempts,
            conflicts: applied.conflicts,
            optimistic_locking_applied: applied.base.etag.is_some(),
            event: None,
            audit_id: None,
        }
    }

    /// Seed 002 step 5: publish `agent.availability.changed` (when events
    /// are on); the error, if publishing failed.
    async fn publish(&self, report: &mut UpdateReport) -> Option<Error> {
        if !self.client.config.publish_events {
            return None;
        }
        let published = self
            .client
            .publish_availability_changed(self.agent_id, &report.previous_state, &report.new_state)
            .await;
        match published {
            Ok(receipt) => {
                report.event = Some(receipt);
                None
            }
            Err(e) => Some(e),
        }
    }

    /// Seed 002 step 5: the audit record of the written change (before and
    /// after, validation, API status, latency, compliance flags), then the
    /// answer: the report, or an error that still carries it.
    async fn audit_changed(
        &self,
        mut report: UpdateReport,
        published: Option<Error>,
    ) -> Result<UpdateReport, Error> {
        let (client, agent_id) = (self.client, self.agent_id);
        report.total_ms = millis(self.started.elapsed());
        let now = report.new_state.timestamp;
        let audit_id = format!("audit_{}", uuid::Uuid::new_v4());
        let record = json!({
            "auditId": audit_id,
            "agentId": agent_id,
            "action": "workmode_transition",
            "timestamp": now,
            "previousState": report.previous_state,
            "newState": report.new_state,
            "reason": report.payload.reason,
            "validation": { "passed": true, "errors": report.validation.violations },
            "apiResponse": { "status": report.api_status, "eTag": report.new_state.etag },
            "metrics": {
                "latencyMs": report.latency_ms,
                "totalMs": report.total_ms,
                "attempts": report.attempts,
                "conflicts": report.conflicts,
                "timestamp": now,
            },
            "eventPublished": published.is_none() && report.event.is_some(),
            "complianceFlags": {
                "shiftValidated": true,
                "concurrentLimitsChecked": true,
                "optimisticLockingApplied": report.optimistic_locking_applied,
            },
        });
        let audit_result = client.audit(AUDIT_CHANGED, record).await;
        if audit_result.is_ok() && client.has_audit() {
            report.audit_id = Some(audit_id);
        }
        match (published, audit_result) {
            (None, Ok(())) => Ok(report),
            (Some(e), Ok(())) => Err(Error::new(
                ErrorKind::Domain(AgentKind::EventPublish),
                format!("agent {agent_id} was updated but the event was not published: {e}"),
            )
            .with_report(report)),
            (_, Err(a)) => Err(Error::new(
                ErrorKind::Audit,
                format!("agent {agent_id} was updated but the audit record was not written"),
            )
            .with_report(report)
            .with_audit_failure(a)),
        }
    }
}

/// A [`ErrorKind::Validation`] error for one broken rule of the update's
/// own settings (before any request).
fn invalid_update(field: &str, rule: crate::Rule, message: &str) -> Error {
    Error::violations_error(
        "invalid update",
        vec![crate::Violation::new(field, rule, message)],
    )
}

/// A change that validation refused: the error's message, the state it
/// was checked against and the fields the audit record adds.
struct Refusal<'a> {
    message: String,
    base: &'a Versioned<AgentProfile>,
    /// A JSON object merged into the record.
    extra: Value,
}

impl Refusal<'_> {
    /// The `Validation` error listing `validation`'s violations, after
    /// writing `AGENT_AVAILABILITY_REJECTED` (nothing was written to CXone).
    async fn audited(
        self,
        client: &Client,
        agent_id: &AgentId,
        validation: &ValidationReport,
    ) -> Error {
        let err = Error::violations_error(&self.message, validation.violations.clone());
        let mut record = json!({
            "agentId": agent_id,
            "action": "workmode_transition",
            "previousState": state_of(self.base, client.clock().now()),
            "validation": { "passed": false, "errors": validation.violations },
            "written": false,
        });
        if let (Some(record), Value::Object(extra)) = (record.as_object_mut(), self.extra) {
            record.extend(extra);
        }
        audited(client, AUDIT_REJECTED, record, err).await
    }
}

/// Write `record` as `event`, then return `err`, carrying the sink's error too.
async fn audited(client: &Client, event: &'static str, record: Value, err: Error) -> Error {
    match client.audit(event, record).await {
        Ok(()) => err,
        Err(a) => err.with_audit_failure(a),
    }
}
