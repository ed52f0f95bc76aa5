//! [`Client`]: the agent-availability API of one tenant, on top of a
//! [`cx_http::Client`].

use std::sync::{Arc, OnceLock};

use cx_audit::{AuditRecord, AuditSink, EventType};
use cx_http::{ApiPath, PageFields, RateLimiter, Versioned};
use futures::TryStreamExt;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::clock::Clock;
use crate::config::Config;
use crate::error::Error;
use crate::types::{AgentId, AgentProfile, Schedule, Skill, WorkModePayload};
use crate::update::{AgentState, UpdateBuilder};
use crate::validate::{ValidationReport, validate_availability};

/// `eventType` of the event published after an update (seed 002 step 4).
pub const AVAILABILITY_CHANGED: &str = "agent.availability.changed";

cx_http::service_client! {
    /// The agent-availability API of one tenant (seed 002). Cheap to clone;
    /// clones share the runtime client, the PATCH rate limiter, the clock and
    /// the audit sink.
    ///
    /// ```no_run
    /// # async fn demo(http: cx_http::Client) -> Result<(), cx_agent::Error> {
    /// use cx_agent::{Client, Config, SkillLevel, WorkModePayload};
    ///
    /// let agents = Client::new(http, Config::default());
    /// let payload = WorkModePayload::builder("workMode-123")
    ///     .skill(SkillLevel::new("skill-456", 1, 2))
    ///     .skill(SkillLevel::new("skill-789", 0, 0))
    ///     .build(agents.clock())?;
    /// let agent: cx_agent::AgentId = "agent-001".parse()?;
    /// let report = agents.update_work_mode(&agent, payload).send().await?;
    /// println!("{:?} → {:?} in {:.1} ms", report.previous_state.etag, report.new_state.etag, report.latency_ms);
    /// # Ok(()) }
    /// ```
    #[derive(Clone)]
    pub struct Client {
        config: Config,
        sink: dyn AuditSink,
        /// Built on first use from `config.patch_rate_limit` (so that `new`
        /// cannot fail), shared by clones.
        patch_limiter: Arc<OnceLock<RateLimiter>> = Arc::default(),
    }
    /// Write audit records to `sink`: `AGENT_AVAILABILITY_CHANGED` after an
    /// update (seed 002 step 5 shape), `AGENT_AVAILABILITY_REJECTED` when
    /// validation refused it, `AGENT_AVAILABILITY_UPDATE_FAILED` when the
    /// write failed. A failing sink is reported ([`crate::ErrorKind::Audit`]).
    fn with_audit;
    /// A client sending through `http` (build it with
    /// `cx_auth::Tenant::connect` for an authenticated one), with a PATCH
    /// rate limiter of `config.patch_rate_limit` (named [`PATCH_LIMIT_NAME`]:
    /// shared by a fleet when `http` has
    /// [`cx_http::Config::shared_limits`]). Never fails: a zero
    /// `max_update_attempts` or rate is refused by the first update, naming
    /// the setting, before any request.
    fn new;
}

/// The answer of `POST /api/v2/events/publish`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EventReceipt {
    /// The event's id, if the server gave one.
    pub event_id: Option<String>,
}

/// Name of the work-mode PATCH limit in a shared store
/// ([`cx_http::Client::limiter`]).
pub const PATCH_LIMIT_NAME: &str = "agent.workmode.patch";

impl Client {
    /// Share `limiter` for work-mode PATCHes, e.g. across several clients
    /// of one tenant, instead of this client's own.
    #[must_use]
    pub fn with_patch_limiter(mut self, limiter: RateLimiter) -> Self {
        self.patch_limiter = Arc::new(OnceLock::from(limiter));
        self
    }

    /// The clock ([`Config::clock`]).
    pub fn clock(&self) -> &dyn Clock {
        &*self.config.clock
    }

    /// The work-mode PATCH limiter, built on first use.
    ///
    /// # Errors
    /// [`crate::ErrorKind::Validation`] naming each of `max_update_attempts`,
    /// `patch_rate_limit.per_second` and `patch_rate_limit.burst` that is 0.
    pub(crate) fn patch_limiter(&self) -> Result<&RateLimiter, Error> {
        let limit = self.config.patch_rate_limit;
        let problems: Vec<_> = [
            ("max_update_attempts", self.config.max_update_attempts),
            ("patch_rate_limit.per_second", limit.per_second),
            ("patch_rate_limit.burst", limit.burst),
        ]
        .into_iter()
        .filter(|&(_, value)| value == 0)
        .map(|(field, _)| crate::Violation::new(field, crate::Rule::Required, "must be at least 1"))
        .collect();
        if !problems.is_empty() {
            return Err(Error::violations_error("invalid config", problems));
        }
        if let Some(limiter) = self.patch_limiter.get() {
            return Ok(limiter);
        }
        // The limit named PATCH_LIMIT_NAME: shared by a fleet when the
        // runtime has `cx_http::Config::shared_limits` (issue 14).
        let limiter = self
            .http
            .limiter(PATCH_LIMIT_NAME, limit)
            .map_err(|e| Error::from_http(e, "building the PATCH rate limiter"))?;
        Ok(self.patch_limiter.get_or_init(|| limiter))
    }

    /// `GET /api/v2/agents/{id}` with its `ETag` (seed 002 step 1).
    ///
    /// # Errors
    /// The failed call, mapped ([`crate::ErrorKind::NotFound`], ...).
    pub async fn profile(&self, agent_id: &AgentId) -> Result<Versioned<AgentProfile>, Error> {
        self.read_profile(agent_id)
            .await
            .map_err(|e| Error::from_http(e, &format!("reading agent {agent_id}")))
    }

    /// The profile read without mapping the error (the conditional update
    /// needs the runtime's error to tell a conflict from other failures).
    pub(crate) async fn read_profile(
        &self,
        agent_id: &AgentId,
    ) -> Result<Versioned<AgentProfile>, cx_http::Error> {
        let resp = self
            .http
            .get(ApiPath::new("/api/v2/agents").id("agent_id", agent_id.as_str()))
            .operation("agent.profile")
            .send()
            .await?;
        let profile = resp.json()?;
        Ok(Versioned::new(resp.etag().map(str::to_owned), profile))
    }

    /// Every skill of the agent: `GET /api/v2/agents/{id}/skills`, following
    /// `nextPageUri` through every page (seed 002 step 1).
    ///
    /// # Errors
    /// [`crate::ErrorKind::Pagination`] when a `nextPageUri` repeats;
    /// otherwise as [`Client::profile`].
    pub async fn skills(&self, agent_id: &AgentId) -> Result<Vec<Skill>, Error> {
        self.http
            .next_uri_stream::<Skill>(
                ApiPath::new("/api/v2/agents")
                    .id("agent_id", agent_id.as_str())
                    .lit("skills"),
                PageFields {
                    items: "entities",
                    next: "nextPageUri",
                },
            )
            .try_collect()
            .await
            .map_err(|e| Error::from_http(e, &format!("listing the skills of agent {agent_id}")))
    }

    /// `GET /api/v2/wfm/schedules/{agentId}` (seed 002 step 2).
    ///
    /// # Errors
    /// As [`Client::profile`].
    pub async fn schedule(&self, agent_id: &AgentId) -> Result<Schedule, Error> {
        self.http
            .get(ApiPath::new("/api/v2/wfm/schedules").id("agent_id", agent_id.as_str()))
            .operation("agent.schedule")
            .send_json()
            .await
            .map_err(|e| Error::from_http(e, &format!("reading the schedule of agent {agent_id}")))
    }

    /// Check `payload` against the agent's WFM schedule and skills at the
    /// clock's now (seed 002 step 2); reads both, writes nothing.
    ///
    /// # Errors
    /// A failed read; broken rules are in the report, not an error.
    pub async fn validate(
        &self,
        agent_id: &AgentId,
        payload: &WorkModePayload,
    ) -> Result<(ValidationReport, Vec<Skill>, Schedule), Error> {
        let (schedule, skills) =
            futures::try_join!(self.schedule(agent_id), self.skills(agent_id))?;
        let report = validate_availability(&schedule, &skills, payload, self.config.clock.now());
        Ok((report, skills, schedule))
    }

    /// Update the agent to `payload`: validate, PATCH with `If-Match`, on
    /// 409 re-read and send again, publish, audit. See [`UpdateBuilder::send`].
    pub fn update_work_mode(
        &self,
        agent_id: &AgentId,
        payload: WorkModePayload,
    ) -> UpdateBuilder<'_> {
        UpdateBuilder::new(
            self,
            agent_id,
            Arc::new(move |_: &AgentProfile| payload.clone()),
        )
    }

    /// Like [`Client::update_work_mode`], but the payload is computed from
    /// the agent's current profile by `change`, which is called again on the
    /// fresh profile after every 409, so concurrent writers' changes are kept.
    pub fn modify_work_mode<F>(&self, agent_id: &AgentId, change: F) -> UpdateBuilder<'_>
    where
        F: Fn(&AgentProfile) -> WorkModePayload + Send + Sync + 'static,
    {
        UpdateBuilder::new(self, agent_id, Arc::new(change))
    }

    /// `POST /api/v2/events/publish` with `{eventType:
    /// "agent.availability.changed", data: {agentId, previousState,
    /// newState, syncTimestamp}}` and an idempotency key (seed 002 step 4).
    ///
    /// # Errors
    /// The failed call, mapped.
    pub async fn publish_availability_changed(
        &self,
        agent_id: &AgentId,
        previous: &AgentState,
        new: &AgentState,
    ) -> Result<EventReceipt, Error> {
        let body = serde_json::json!({
            "eventType": AVAILABILITY_CHANGED,
            "data": {
                "agentId": agent_id,
                "previousState": previous,
                "newState": new,
                "syncTimestamp": self.config.clock.now(),
            }
        });
        self.http
            .post("/api/v2/events/publish")
            .json(&body)
            .idempotency_key(&uuid::Uuid::new_v4().to_string())
            .operation("agent.event.publish")
            .send_json()
            .await
            .map_err(|e| Error::from_http(e, &format!("publishing {AVAILABILITY_CHANGED}")))
    }

    /// Whether an audit sink is set.
    pub(crate) fn has_audit(&self) -> bool {
        self.audit.is_some()
    }

    /// Write one audit record, if a sink is set.
    pub(crate) async fn audit(
        &self,
        event: &'static str,
        payload: Value,
    ) -> Result<(), cx_audit::Error> {
        match &self.audit {
            None => Ok(()),
            Some(sink) => {
                sink.write(&AuditRecord::at(
                    self.config.clock.now(),
                    EventType::from_static(event),
                    payload,
                ))
                .await
            }
        }
    }
}
