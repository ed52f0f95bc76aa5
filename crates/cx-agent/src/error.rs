//! The one error type of `cx-agent`, and the validation [`Violation`]s it
//! carries.
//!
//! [`Error::kind`] is what callers branch on; [`Error::violations`] lists
//! every broken rule (field, rule, expected, actual) when the input or the
//! availability rules refused a change before anything was written;
//! [`Error::report`] keeps the outcome of an update that succeeded but
//! whose event or audit record failed. `Display` is one line and does not
//! repeat the source ([`Error::http`] or the audit sink's error).

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::update::UpdateReport;

/// What went wrong, for callers that branch on it.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorKind {
    /// Input or availability rules were broken; nothing was written. See
    /// [`Error::violations`].
    Validation,
    /// 404: the agent (or its schedule) does not exist.
    NotFound,
    /// 401/403: the credentials lack a scope, or no token could be had.
    PermissionDenied,
    /// Every attempt of the conditional update met a newer ETag (409) and
    /// the retry budget ([`crate::Config::max_update_attempts`]) ran out.
    Conflict,
    /// The caller's own `If-Match` ([`crate::UpdateBuilder::if_match`]) no
    /// longer matched (409/412): the agent changed since the caller read it.
    /// Nothing was re-sent; [`Error::current_etag`] has the agent's ETag now.
    PreconditionFailed,
    /// The skills paginator saw a `nextPageUri` it had already followed.
    PaginationLoop,
    /// 429 remained after the runtime's retries.
    RateLimited,
    /// No usable response: connection failure, timeout, open circuit.
    Transport,
    /// Any other failed call (5xx, unexpected status or body).
    Api,
    /// The update was written but `agent.availability.changed` could not be
    /// published; [`Error::report`] has the update.
    EventPublish,
    /// The outcome could not be written to the audit sink; [`Error::report`]
    /// has the update when there was one.
    Audit,
}

impl ErrorKind {
    /// A stable snake-case name, e.g. `"conflict"` (used in audit payloads).
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorKind::Validation => "validation",
            ErrorKind::NotFound => "not_found",
            ErrorKind::PermissionDenied => "permission_denied",
            ErrorKind::Conflict => "conflict",
            ErrorKind::PreconditionFailed => "precondition_failed",
            ErrorKind::PaginationLoop => "pagination_loop",
            ErrorKind::RateLimited => "rate_limited",
            ErrorKind::Transport => "transport",
            ErrorKind::Api => "api",
            ErrorKind::EventPublish => "event_publish",
            ErrorKind::Audit => "audit",
        }
    }
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The rule a [`Violation`] broke; JSON: its snake-case name.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Rule {
    /// The agent has no WFM shift active at the clock's "now" (seed 002 step 2).
    NoActiveShift,
    /// The target work mode differs from the active shift's (seed 002 step 2).
    ShiftWorkMode,
    /// A skill's requested concurrent interactions exceed its
    /// `maximumConcurrentInteractions` (seed 002 step 2).
    MaxConcurrent,
    /// A required value is missing or empty.
    Required,
    /// The same skill listed twice.
    Duplicate,
    /// A malformed value, e.g. an agent id with `/` or a bad `--skill`.
    Format,
    /// Two ways of saying one thing were both given: a replacement skill
    /// list and skill deltas (`add_skill` / `remove_skill`).
    Exclusive,
}

impl Rule {
    /// The snake-case name, e.g. `"max_concurrent"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Rule::NoActiveShift => "no_active_shift",
            Rule::ShiftWorkMode => "shift_work_mode",
            Rule::MaxConcurrent => "max_concurrent",
            Rule::Required => "required",
            Rule::Duplicate => "duplicate",
            Rule::Format => "format",
            Rule::Exclusive => "exclusive",
        }
    }
}

impl fmt::Display for Rule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
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

/// The error of every `cx-agent` operation.
pub struct Error {
    inner: Box<Inner>,
}

struct Inner {
    kind: ErrorKind,
    message: String,
    violations: Vec<Violation>,
    http: Option<cx_http::Error>,
    audit: Option<cx_audit::Error>,
    report: Option<UpdateReport>,
    current_etag: Option<String>,
}

impl Error {
    pub(crate) fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        Self {
            inner: Box::new(Inner {
                kind,
                message: message.into(),
                violations: Vec::new(),
                http: None,
                audit: None,
                report: None,
                current_etag: None,
            }),
        }
    }

    /// A [`ErrorKind::Validation`] error listing every violation.
    pub(crate) fn violations_error(context: &str, violations: Vec<Violation>) -> Self {
        let list = cx_http::Violations::from(violations);
        let mut e = Self::new(ErrorKind::Validation, format!("{context}: {list}"));
        e.inner.violations = list.into_vec();
        e
    }

    /// Map a runtime error of `what` (e.g. `reading agent agent-001`).
    pub(crate) fn from_http(err: cx_http::Error, what: &str) -> Self {
        use cx_http::ErrorKind as H;
        let kind = match (err.kind(), err.status()) {
            (H::Conflict, _) | (_, Some(409 | 412)) => ErrorKind::Conflict,
            (H::PaginationLoop, _) => ErrorKind::PaginationLoop,
            (H::Auth, _) | (_, Some(401 | 403)) => ErrorKind::PermissionDenied,
            (_, Some(404)) => ErrorKind::NotFound,
            (_, Some(429)) => ErrorKind::RateLimited,
            _ if err.is_transport() => ErrorKind::Transport,
            (H::InvalidInput, _) => ErrorKind::Validation,
            _ => ErrorKind::Api,
        };
        let mut e = Self::new(kind, format!("{what} failed"));
        e.inner.http = Some(err);
        e
    }

    /// A [`ErrorKind::PreconditionFailed`] error: `sent` was the caller's
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
        let mut e = Self::new(
            ErrorKind::PreconditionFailed,
            format!(
                "agent {agent_id} changed since If-Match {sent} (HTTP {}): {now}; \
                 nothing was re-sent (read the agent again and decide)",
                http.status().unwrap_or(409)
            ),
        );
        e.inner.http = Some(http);
        e.inner.current_etag = current;
        e
    }

    pub(crate) fn with_report(mut self, report: UpdateReport) -> Self {
        self.inner.report = Some(report);
        self
    }

    pub(crate) fn with_audit_failure(mut self, err: cx_audit::Error) -> Self {
        self.inner.audit = Some(err);
        self
    }

    /// What kind of failure this is.
    pub fn kind(&self) -> ErrorKind {
        self.inner.kind
    }

    /// True for [`ErrorKind::Validation`]: nothing was written.
    pub fn is_validation(&self) -> bool {
        self.inner.kind == ErrorKind::Validation
    }

    /// True for [`ErrorKind::Conflict`]: the retry budget ran out on 409s.
    pub fn is_conflict(&self) -> bool {
        self.inner.kind == ErrorKind::Conflict
    }

    /// For [`ErrorKind::PreconditionFailed`]: the agent's ETag when the
    /// caller's `If-Match` was refused (`None` when it could not be read).
    pub fn current_etag(&self) -> Option<&str> {
        self.inner.current_etag.as_deref()
    }

    /// Every broken rule, when the input or availability rules refused the change.
    pub fn violations(&self) -> &[Violation] {
        &self.inner.violations
    }

    /// The runtime error underneath, if a call failed.
    pub fn http(&self) -> Option<&cx_http::Error> {
        self.inner.http.as_ref()
    }

    /// HTTP status of the failed call, if one answered.
    pub fn status(&self) -> Option<u16> {
        self.inner.http.as_ref().and_then(cx_http::Error::status)
    }

    /// Attempts the failed call (or conditional update) made.
    pub fn attempts(&self) -> u32 {
        self.inner.http.as_ref().map_or(0, cx_http::Error::attempts)
    }

    /// The audit sink's error, when the outcome could not be audited (as
    /// well as, or instead of, another failure).
    pub fn audit_failure(&self) -> Option<&cx_audit::Error> {
        self.inner.audit.as_ref()
    }

    /// The update that was written, for [`ErrorKind::EventPublish`] and
    /// [`ErrorKind::Audit`] after a successful write.
    pub fn report(&self) -> Option<&UpdateReport> {
        self.inner.report.as_ref()
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.inner.message)?;
        if self.inner.audit.is_some() && self.inner.kind != ErrorKind::Audit {
            f.write_str(" (and the failure could not be audited)")?;
        }
        Ok(())
    }
}

impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("cx_agent::Error")
            .field("kind", &self.inner.kind)
            .field("message", &self.inner.message)
            .field("violations", &self.inner.violations)
            .field("http", &self.inner.http)
            .field("audit", &self.inner.audit)
            .finish_non_exhaustive()
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match (&self.inner.http, &self.inner.audit) {
            (Some(h), _) => Some(h),
            (None, Some(a)) => Some(a),
            (None, None) => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_is_send_sync_static() {
        fn assert_traits<T: Send + Sync + 'static + std::error::Error>() {}
        assert_traits::<Error>();
    }

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
    fn http_errors_map_to_kinds() {
        use cx_http::ErrorKind as H;
        let cases = [
            (cx_http::Error::new(H::Conflict, "x"), ErrorKind::Conflict),
            (
                cx_http::Error::new(H::PaginationLoop, "x"),
                ErrorKind::PaginationLoop,
            ),
            (
                cx_http::Error::new(H::Auth, "x"),
                ErrorKind::PermissionDenied,
            ),
            (cx_http::Error::new(H::Timeout, "x"), ErrorKind::Transport),
            (cx_http::Error::new(H::Decode, "x"), ErrorKind::Api),
        ];
        for (err, want) in cases {
            assert_eq!(Error::from_http(err, "call").kind(), want);
        }
        let rule: Rule = serde_json::from_str("\"max_concurrent\"").unwrap_or(Rule::Format);
        assert_eq!(rule, Rule::MaxConcurrent);
        assert_eq!(Rule::NoActiveShift.to_string(), "no_active_shift");
    }
}
