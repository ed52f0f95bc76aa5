//! The one error type of `cx-dataaction`, the [`Violation`]s it carries,
//! and how each failure maps to the seed's error classification.
//!
//! | [`ErrorKind`] | when | [`ErrorClass`] |
//! |---|---|---|
//! | `Validation` | a rule broken before sending, or a 400 from the server | VALIDATION |
//! | `NotFound` | 404: unknown action or job | VALIDATION |
//! | `PermissionDenied` | 401/403, or no token | VALIDATION |
//! | `Extraction` | a JMESPath expression failed on the output | VALIDATION |
//! | `Transport` | no response: connect failure, attempt timeout, open breaker | NETWORK |
//! | `RateLimited` | 429 left after the runtime's retries | COMPUTE |
//! | `ComputeUnavailable` | 503 left after the runtime's retries | COMPUTE |
//! | `JobFailed` | the job ended FAILED ([`Error::error_detail`]) | COMPUTE |
//! | `Api` | any other failed call (5xx, unreadable body) | COMPUTE |
//! | `JobTimedOut` | the job ended TIMED_OUT | TIMEOUT |
//! | `WaitTimeout` | the job was not terminal within the max wait (outcome unknown) | TIMEOUT |
//! | `OutcomeUnknown` | the execute or the polls failed transiently until the max wait | NETWORK |
//! | `UnknownStatus` | the job reported a status this crate does not know | COMPUTE |
//! | `Audit` | the run finished but its audit record was not stored | the run's own |

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::audit::{ErrorClass, ExecutionAudit};
use crate::client::RunReport;

/// What went wrong, for callers that branch on it.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorKind {
    /// Caller input broke a rule; nothing was executed. See [`Error::violations`].
    Validation,
    /// 404: the action (or job) does not exist.
    NotFound,
    /// 401/403: the credentials lack a scope, or no token could be obtained.
    PermissionDenied,
    /// 429 remained after the runtime's retries.
    RateLimited,
    /// 503 "compute unavailable" remained after the runtime's retries.
    ComputeUnavailable,
    /// No usable response arrived.
    Transport,
    /// The job ended FAILED; [`Error::error_detail`] says why.
    JobFailed,
    /// The job ended TIMED_OUT.
    JobTimedOut,
    /// The job did not reach a terminal state within the max wait
    /// (e.g. stuck in QUEUED); [`Error::job_id`] names it.
    WaitTimeout,
    /// An extraction expression failed on the job output.
    Extraction,
    /// No answer settled the run before the max wait: every execute attempt
    /// (the job may exist; its idempotency key finds it) or every poll
    /// ([`Error::job_id`] names the job) failed transiently. Not a failure
    /// of the job.
    OutcomeUnknown,
    /// The job reported a status this crate does not know; waiting stopped
    /// at once. The message names the status and the job.
    UnknownStatus,
    /// Any other failed API call.
    Api,
    /// The run finished but its audit record could not be written
    /// ([`Error::report`] or [`Error::audit`] still has the outcome).
    Audit,
}

impl ErrorKind {
    /// A stable snake-case name, e.g. `"job_failed"`.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorKind::Validation => "validation",
            ErrorKind::NotFound => "not_found",
            ErrorKind::PermissionDenied => "permission_denied",
            ErrorKind::RateLimited => "rate_limited",
            ErrorKind::ComputeUnavailable => "compute_unavailable",
            ErrorKind::Transport => "transport",
            ErrorKind::JobFailed => "job_failed",
            ErrorKind::JobTimedOut => "job_timed_out",
            ErrorKind::WaitTimeout => "wait_timeout",
            ErrorKind::Extraction => "extraction",
            ErrorKind::OutcomeUnknown => "outcome_unknown",
            ErrorKind::UnknownStatus => "unknown_status",
            ErrorKind::Api => "api",
            ErrorKind::Audit => "audit",
        }
    }

    /// The seed's classification of this failure (see the module table).
    pub fn class(self) -> ErrorClass {
        match self {
            ErrorKind::Validation
            | ErrorKind::NotFound
            | ErrorKind::PermissionDenied
            | ErrorKind::Extraction => ErrorClass::Validation,
            ErrorKind::Transport | ErrorKind::OutcomeUnknown => ErrorClass::Network,
            ErrorKind::RateLimited
            | ErrorKind::ComputeUnavailable
            | ErrorKind::JobFailed
            | ErrorKind::UnknownStatus
            | ErrorKind::Api => ErrorClass::Compute,
            ErrorKind::JobTimedOut | ErrorKind::WaitTimeout => ErrorClass::Timeout,
            ErrorKind::Audit => ErrorClass::None,
        }
    }
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The rule a [`Violation`] broke; serialised as its snake-case name.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Rule {
    /// A required value is missing (`required`).
    Required,
    /// A malformed value, e.g. a version id that is not `v` + semver (`format`).
    Format,
    /// A number outside its range, e.g. a timeout outside 1000..=60000 (`range`).
    Range,
    /// A version the action does not have (`unknown_version`).
    UnknownVersion,
    /// A rule named by the server that this crate does not know.
    Other(String),
}

impl Rule {
    /// The snake-case name.
    pub fn as_str(&self) -> &str {
        match self {
            Rule::Required => "required",
            Rule::Format => "format",
            Rule::Range => "range",
            Rule::UnknownVersion => "unknown_version",
            Rule::Other(s) => s,
        }
    }

    fn from_name(name: &str) -> Self {
        match name {
            "required" => Rule::Required,
            "format" => Rule::Format,
            "range" => Rule::Range,
            "unknown_version" => Rule::UnknownVersion,
            other => Rule::Other(other.to_owned()),
        }
    }
}

impl Serialize for Rule {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for Rule {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Ok(Rule::from_name(&String::deserialize(d)?))
    }
}

/// One broken rule: the wire field (`versionId`, `executionTimeoutMs`,
/// `inputParameters.customerId`, `extract.riskScore`), the rule and a
/// one-line message. JSON: `{field, rule, message}`; `Display`: `field: message`.
pub type Violation = cx_http::Violation<Rule>;

impl cx_http::ViolationRule for Rule {}

/// The error of every fallible `cx-dataaction` call.
///
/// `Display` is one line and does not repeat the source ([`Error::http`]
/// or the audit sink's error). Errors from [`crate::RunBuilder::send`]
/// always carry the run's audit record ([`Error::audit`]).
pub struct Error {
    inner: Box<Inner>,
}

struct Inner {
    kind: ErrorKind,
    message: String,
    violations: Vec<Violation>,
    job_id: Option<String>,
    error_detail: Option<String>,
    http: Option<cx_http::Error>,
    audit_error: Option<cx_audit::Error>,
    audit: Option<ExecutionAudit>,
    report: Option<Box<RunReport>>,
}

impl Error {
    pub(crate) fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        Self {
            inner: Box::new(Inner {
                kind,
                message: message.into(),
                violations: Vec::new(),
                job_id: None,
                error_detail: None,
                http: None,
                audit_error: None,
                audit: None,
                report: None,
            }),
        }
    }

    /// A [`ErrorKind::Validation`] error listing `violations`; the message
    /// names every field.
    pub(crate) fn validation(violations: Vec<Violation>) -> Self {
        let list = cx_http::Violations::from(violations);
        let mut e = Self::new(ErrorKind::Validation, format!("invalid request: {list}"));
        e.inner.violations = list.into_vec();
        e
    }

    pub(crate) fn violation(v: Violation) -> Self {
        Self::validation(vec![v])
    }

    pub(crate) fn with_job(mut self, job_id: &str) -> Self {
        self.inner.job_id = Some(job_id.to_owned());
        self
    }

    pub(crate) fn with_http(mut self, err: cx_http::Error) -> Self {
        self.inner.http = Some(err);
        self
    }

    pub(crate) fn with_error_detail(mut self, detail: Option<String>) -> Self {
        self.inner.error_detail = detail;
        self
    }

    pub(crate) fn with_audit(mut self, audit: ExecutionAudit) -> Self {
        self.inner.audit = Some(audit);
        self
    }

    pub(crate) fn with_audit_error(mut self, err: cx_audit::Error) -> Self {
        self.inner.audit_error = Some(err);
        self
    }

    /// An [`ErrorKind::Audit`] error for a run that succeeded.
    pub(crate) fn audit_failed(report: RunReport, err: cx_audit::Error) -> Self {
        let message = format!(
            "job {} completed but its audit record could not be written",
            report.job.job_id
        );
        let mut e = Self::new(ErrorKind::Audit, message)
            .with_job(&report.job.job_id)
            .with_audit(report.audit.clone())
            .with_audit_error(err);
        e.inner.report = Some(Box::new(report));
        e
    }

    /// What went wrong.
    pub fn kind(&self) -> ErrorKind {
        self.inner.kind
    }

    /// The seed's classification ([`ErrorKind::class`]).
    pub fn class(&self) -> ErrorClass {
        self.inner.kind.class()
    }

    /// True when a job may exist but its outcome was never seen:
    /// [`ErrorKind::WaitTimeout`], [`ErrorKind::OutcomeUnknown`],
    /// [`ErrorKind::UnknownStatus`]. The message starts "unknown outcome".
    pub fn is_outcome_unknown(&self) -> bool {
        matches!(
            self.inner.kind,
            ErrorKind::WaitTimeout | ErrorKind::OutcomeUnknown | ErrorKind::UnknownStatus
        )
    }

    /// True for [`ErrorKind::Validation`]: nothing was executed.
    pub fn is_validation(&self) -> bool {
        self.inner.kind == ErrorKind::Validation
    }

    /// True when the job timed out or the wait for it did.
    pub fn is_timeout(&self) -> bool {
        matches!(
            self.inner.kind,
            ErrorKind::JobTimedOut | ErrorKind::WaitTimeout
        )
    }

    /// Every broken rule (validation errors; server 400 details too).
    pub fn violations(&self) -> &[Violation] {
        &self.inner.violations
    }

    /// The job concerned, once one exists.
    pub fn job_id(&self) -> Option<&str> {
        self.inner.job_id.as_deref()
    }

    /// The job's `errorDetail` (FAILED or TIMED_OUT jobs).
    pub fn error_detail(&self) -> Option<&str> {
        self.inner.error_detail.as_deref()
    }

    /// The run's audit record (seed 004 step 5), present on every error from
    /// [`crate::RunBuilder::send`].
    pub fn audit(&self) -> Option<&ExecutionAudit> {
        self.inner.audit.as_ref()
    }

    /// The finished run of an [`ErrorKind::Audit`] error.
    pub fn report(&self) -> Option<&RunReport> {
        self.inner.report.as_deref()
    }

    /// The runtime error behind this one, if an API call failed.
    pub fn http(&self) -> Option<&cx_http::Error> {
        self.inner.http.as_ref()
    }

    /// The HTTP status of the failed call, if a response arrived.
    pub fn status(&self) -> Option<u16> {
        self.inner.http.as_ref().and_then(cx_http::Error::status)
    }

    /// The audit sink's error, when the record could not be stored.
    pub fn audit_error(&self) -> Option<&cx_audit::Error> {
        self.inner.audit_error.as_ref()
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.inner.message)?;
        if self.inner.audit_error.is_some() && self.inner.kind != ErrorKind::Audit {
            f.write_str("; its audit record could not be written either")?;
        }
        Ok(())
    }
}

impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Error")
            .field("kind", &self.inner.kind)
            .field("message", &self.inner.message)
            .field("violations", &self.inner.violations)
            .field("job_id", &self.inner.job_id)
            .field("error_detail", &self.inner.error_detail)
            .field("http", &self.inner.http)
            .field("audit_error", &self.inner.audit_error)
            .finish_non_exhaustive()
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        if let Some(h) = &self.inner.http {
            return Some(h);
        }
        self.inner
            .audit_error
            .as_ref()
            .map(|a| a as &(dyn std::error::Error + 'static))
    }
}

/// Map a failed runtime call doing `what` (e.g. `"executing data action
/// DA-1"`) to an [`Error`]; the module table says which kind.
pub(crate) fn from_http(err: cx_http::Error, what: &str) -> Error {
    use cx_http::ErrorKind as H;
    let api = err.api_message().map(str::to_owned);
    let with_api = |base: String| match &api {
        Some(m) => format!("{base}: {m}"),
        None => base,
    };
    let mut violations = Vec::new();
    let (kind, message) = match err.status() {
        Some(400) => {
            violations = server_details(err.body());
            (
                ErrorKind::Validation,
                with_api(format!("{what}: the server rejected the request")),
            )
        }
        Some(401 | 403) => (
            ErrorKind::PermissionDenied,
            with_api(format!("{what}: permission denied")),
        ),
        Some(404) => (ErrorKind::NotFound, with_api(format!("{what}: not found"))),
        Some(429) => (
            ErrorKind::RateLimited,
            format!("{what}: still rate limited after retrying"),
        ),
        Some(503) => (
            ErrorKind::ComputeUnavailable,
            format!("{what}: compute unavailable (HTTP 503) after retrying"),
        ),
        Some(s) => (ErrorKind::Api, format!("{what}: HTTP {s}")),
        None => match err.kind() {
            _ if err.is_transport() => (
                ErrorKind::Transport,
                format!("{what}: no response from the server"),
            ),
            H::Auth => (
                ErrorKind::PermissionDenied,
                format!("{what}: no access token"),
            ),
            H::InvalidInput | H::Builder => {
                (ErrorKind::Validation, format!("{what}: invalid request"))
            }
            _ => (ErrorKind::Api, format!("{what} failed")),
        },
    };
    let mut e = Error::new(kind, message);
    e.inner.violations = violations;
    e.inner.http = Some(err);
    e
}

/// The `details: [{field, rule, message}]` of a 400 body.
fn server_details(body: Option<&serde_json::Value>) -> Vec<Violation> {
    body.and_then(|b| b.get("details"))
        .and_then(|d| serde_json::from_value::<Vec<Violation>>(d.clone()).ok())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_is_send_sync_and_static() {
        fn check<T: Send + Sync + 'static>() {}
        check::<Error>();
    }

    #[test]
    fn classification_table() {
        let cases = [
            (ErrorKind::Validation, ErrorClass::Validation),
            (ErrorKind::Transport, ErrorClass::Network),
            (ErrorKind::ComputeUnavailable, ErrorClass::Compute),
            (ErrorKind::JobFailed, ErrorClass::Compute),
            (ErrorKind::JobTimedOut, ErrorClass::Timeout),
            (ErrorKind::WaitTimeout, ErrorClass::Timeout),
        ];
        for (kind, class) in cases {
            assert_eq!(kind.class(), class, "{kind}");
        }
    }

    #[test]
    fn validation_message_names_every_field() {
        let e = Error::validation(vec![
            Violation::new("versionId", Rule::Format, "bad"),
            Violation::new("executionTimeoutMs", Rule::Range, "too big"),
        ]);
        assert_eq!(
            e.to_string(),
            "invalid request: versionId: bad; executionTimeoutMs: too big"
        );
        assert!(e.is_validation());
    }
}
