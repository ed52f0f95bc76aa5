//! The one error type of `cx-agent`, and the validation [`Violation`]s it
//! carries.
//!
//! [`Error`] derefs to the shared [`cx_http::ServiceError`]: its
//! [`kind`](cx_http::ServiceError::kind) is a [`cx_http::ServiceKind`] (the
//! kinds every service crate shares, mapped from HTTP by one table) or one of
//! this crate's own [`AgentKind`]s; [`violations`](cx_http::ServiceError::violations)
//! lists every broken rule when the input or the availability rules refused
//! a change before anything was written. This crate adds [`Error::report`]
//! (an update that succeeded but whose event or audit record failed) and
//! [`Error::current_etag`].

use std::fmt;

use crate::update::UpdateReport;

/// What went wrong: a shared [`cx_http::ServiceKind`] or an [`AgentKind`].
/// [`ErrorKind::Conflict`] means every attempt of the conditional update met
/// a newer ETag and the retry budget ([`crate::Config::max_update_attempts`])
/// ran out.
pub type ErrorKind = cx_http::ServiceKind<AgentKind>;

/// The kinds only `cx-agent` has.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AgentKind {
    /// The caller's own `If-Match` ([`crate::UpdateBuilder::if_match`]) no
    /// longer matched (409/412): the agent changed since the caller read it.
    /// Nothing was re-sent; [`Error::current_etag`] has the agent's ETag now.
    PreconditionFailed,
    /// The update was written but `agent.availability.changed` could not be
    /// published; [`Error::report`] has the update.
    EventPublish,
}

impl cx_http::DomainKind for AgentKind {
    fn as_str(self) -> &'static str {
        match self {
            AgentKind::PreconditionFailed => "precondition_failed",
            AgentKind::EventPublish => "event_publish",
        }
    }
}

cx_http::open_enum! {
    /// The rule a [`Violation`] broke; JSON: its snake-case name.
    pub enum Rule {
        /// The agent has no WFM shift active at the clock's "now" (seed 002 step 2).
        NoActiveShift => "no_active_shift",
        /// The target work mode differs from the active shift's (seed 002 step 2).
        ShiftWorkMode => "shift_work_mode",
        /// A skill's requested concurrent interactions exceed its
        /// `maximumConcurrentInteractions` (seed 002 step 2).
        MaxConcurrent => "max_concurrent",
        /// A required value is missing or empty.
        Required => "required",
        /// The same skill listed twice.
        Duplicate => "duplicate",
        /// A malformed value, e.g. an agent id with `/` or a bad `--skill`.
        Format => "format",
        /// Two ways of saying one thing were both given: a replacement skill
        /// list and skill deltas (`add_skill` / `remove_skill`).
        Exclusive => "exclusive",
    }
}

/// One broken rule. JSON: `{field, rule, expected?, actual?, message}`;
/// `Display`: `field (rule): message`.
pub type Violation = cx_http::Violation<Rule>;

impl cx_http::ViolationRule for Rule {
    fn fmt_violation(v: &Violation, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({}): {}", v.field, v.rule, v.message)
    }
}

/// What a `cx-agent` error adds to the shared core.
#[derive(Debug, Default)]
pub struct ErrorDetail {
    report: Option<UpdateReport>,
    current_etag: Option<String>,
}

type Core = cx_http::ServiceError<ErrorDetail>;

cx_http::domain_error! {
    /// The error of every `cx-agent` operation; it derefs to
    /// [`cx_http::ServiceError`] for the kind, violations, HTTP cause and
    /// audit failure.
    pub struct Error(ErrorDetail) {
        kind: AgentKind,
        rule: Rule,
        name: "cx_agent::Error",
    }
}

impl Error {
    /// A [`ErrorKind::Validation`] error listing every violation.
    pub(crate) fn violations_error(context: &str, violations: Vec<Violation>) -> Self {
        Core::validation(context, violations).into()
    }

    /// Map a runtime error of `what` (e.g. `reading agent agent-001`) with
    /// the shared table.
    pub(crate) fn from_http(err: cx_http::Error, what: &str) -> Self {
        Core::from_http(err, what).into()
    }

    /// The [`ErrorKind::OutcomeUnknown`] error of a write doing `what` whose
    /// last attempt failed with `err`, one that
    /// [`cx_http::Error::leaves_outcome_unknown`]: it may have been carried out.
    pub(crate) fn outcome_unknown(err: cx_http::Error, what: &str) -> Self {
        Core::new(
            ErrorKind::OutcomeUnknown,
            format!(
                "unknown outcome: {what} got no answer that settles it ({err}); the change may have been written (read the agent to see)"
            ),
        )
        .with_http(err)
        .into()
    }

    /// A [`AgentKind::PreconditionFailed`] error: `sent` was the caller's
    /// `If-Match`, `current` the ETag read after the refusal (if the read
    /// succeeded), `http` the 409/412.
    pub(crate) fn precondition_failed(
        agent_id: &str,
        sent: &str,
        current: Option<String>,
        http: cx_http::Error,
    ) -> Self {
        let now = match &current {
            Some(tag) => format!("its current ETag is {tag}"),
            None => "its current ETag could not be read".to_owned(),
        };
        let message = format!(
            "agent {agent_id} changed since If-Match {sent} (HTTP {}): {now}; \
             nothing was re-sent (read the agent again and decide)",
            http.status().unwrap_or(409)
        );
        Core::domain(AgentKind::PreconditionFailed, message)
            .with_http(http)
            .with_detail(|d| d.current_etag = current)
            .into()
    }

    pub(crate) fn with_report(self, report: UpdateReport) -> Self {
        self.0.with_detail(|d| d.report = Some(report)).into()
    }

    /// For [`AgentKind::PreconditionFailed`]: the agent's ETag when the
    /// caller's `If-Match` was refused (`None` when it could not be read).
    pub fn current_etag(&self) -> Option<&str> {
        self.detail().current_etag.as_deref()
    }

    /// The update that was written, for [`AgentKind::EventPublish`] and
    /// [`ErrorKind::Audit`] after a successful write.
    pub fn report(&self) -> Option<&UpdateReport> {
        self.detail().report.as_ref()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn validation_display_names_every_field_once() {
        let e = Error::violations_error(
            "work mode change refused",
            vec![
                Violation::new("workModeId", Rule::ShiftWorkMode, "differs from the shift"),
                Violation::new(
                    "skillLevels[0].concurrentInteractions",
                    Rule::MaxConcurrent,
                    "3 > 2",
                ),
            ],
        );
        assert_eq!(
            e.to_string(),
            "work mode change refused: workModeId (shift_work_mode): differs from the shift; \
             skillLevels[0].concurrentInteractions (max_concurrent): 3 > 2"
        );
        assert!(e.is_validation());
        assert_eq!(e.violations().len(), 2);
    }

    #[test]
    fn rules_read_and_print_as_snake_case() {
        let rule: Rule = serde_json::from_str("\"max_concurrent\"").unwrap_or(Rule::Format);
        assert_eq!(rule, Rule::MaxConcurrent);
        assert_eq!(Rule::NoActiveShift.to_string(), "no_active_shift");
    }
}
