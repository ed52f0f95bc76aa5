//! The one error type of `cx-workflow`, and the validation [`Violation`]s it
//! carries.
//!
//! Every fallible call returns an [`Error`]: an opaque value whose
//! [`Error::kind`] callers branch on, with the facts a caller reports: every
//! [`Violation`] found before anything was sent, the execution id once one
//! exists, the missing OAuth scope of a 403, and the underlying
//! [`cx_http::Error`] ([`Error::http`]). `Display` gives one line and does not
//! repeat the source.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::execute::ExecutionReport;
use crate::trigger::TriggerReport;

/// What went wrong, for callers that branch on it.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorKind {
    /// Caller input broke a rule; nothing was submitted. See
    /// [`Error::violations`] for every broken rule (field + rule).
    Validation,
    /// The workflow is not ACTIVE or DEPLOYED (seed 000 step 1, checked
    /// before submitting), or the server answered 409 `workflow_not_deployable`.
    NotDeployable,
    /// The tenant already runs `Config::max_concurrent_executions`
    /// executions of the workflow (seed 000 step 1 quota); nothing was submitted.
    QuotaExceeded,
    /// The workflow already runs `Config::max_concurrent_instances`
    /// instances (seed 001 step 2); nothing was submitted.
    CapacityExhausted,
    /// 401/403: the credentials lack a scope ([`Error::missing_scope`]) or
    /// no access token could be obtained.
    PermissionDenied,
    /// 400: the server rejected the payload; its details are in
    /// [`Error::violations`].
    InvalidPayload,
    /// 404: the workflow (or execution) does not exist.
    NotFound,
    /// 429 remained after the runtime's retries (which honour `Retry-After`).
    RateLimited,
    /// Polling ran out of polls or time while the execution was still
    /// pending or running: its outcome is unknown; [`Error::execution_id`]
    /// names it.
    Stuck,
    /// The operation was submitted (or may have been) but no answer settled
    /// it before the deadline: every attempt to submit, or every poll until
    /// the deadline, failed transiently. The execution id (if one was
    /// returned) and the idempotency key identify it; it was not reported
    /// failed.
    OutcomeUnknown,
    /// The server reported a status this crate does not know; waiting
    /// stopped at once. The message names the status and the resource id.
    UnknownStatus,
    /// No usable response arrived: connection failure, timeout, open
    /// circuit breaker.
    Transport,
    /// Any other failed API call (5xx after retries, unexpected status,
    /// unexpected response body).
    Api,
    /// The operation finished but an audit record could not be written.
    /// The outcome is still available ([`Error::execution_report`],
    /// [`Error::trigger_report`], [`Error::execution_id`]).
    Audit,
}

impl ErrorKind {
    /// A stable lower-case name, e.g. `"not_deployable"` (used in audit payloads).
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorKind::Validation => "validation",
            ErrorKind::NotDeployable => "not_deployable",
            ErrorKind::QuotaExceeded => "quota_exceeded",
            ErrorKind::CapacityExhausted => "capacity_exhausted",
            ErrorKind::PermissionDenied => "permission_denied",
            ErrorKind::InvalidPayload => "invalid_payload",
            ErrorKind::NotFound => "not_found",
            ErrorKind::RateLimited => "rate_limited",
            ErrorKind::Stuck => "stuck",
            ErrorKind::OutcomeUnknown => "outcome_unknown",
            ErrorKind::UnknownStatus => "unknown_status",
            ErrorKind::Transport => "transport",
            ErrorKind::Api => "api",
            ErrorKind::Audit => "audit",
        }
    }
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The rule a [`Violation`] broke. Serialised as its snake-case name
/// (`"type_mismatch"`), which is also what the simulator and CXone use in
/// 400 `details`; names this crate does not know are kept in [`Rule::Other`].
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Rule {
    /// A key that the workflow does not declare (`unknown_variable`).
    UnknownVariable,
    /// A value whose JSON type is not the declared one, or that cannot be
    /// coerced to it (`type_mismatch`).
    TypeMismatch,
    /// A number outside its allowed range, e.g. priority 1..=10 (`range`).
    Range,
    /// A malformed value, e.g. a workflow id with `/` in it (`format`).
    Format,
    /// A required value is missing or empty (`required`).
    Required,
    /// The same name given twice (`duplicate`).
    Duplicate,
    /// The workflow's status does not accept executions (`not_deployable`).
    NotDeployable,
    /// The running-execution quota is used up (`quota`).
    Quota,
    /// A rule named by the server that this crate does not know.
    Other(String),
}

impl Rule {
    /// The snake-case name, e.g. `"unknown_variable"`.
    pub fn as_str(&self) -> &str {
        match self {
            Rule::UnknownVariable => "unknown_variable",
            Rule::TypeMismatch => "type_mismatch",
            Rule::Range => "range",
            Rule::Format => "format",
            Rule::Required => "required",
            Rule::Duplicate => "duplicate",
            Rule::NotDeployable => "not_deployable",
            Rule::Quota => "quota",
            Rule::Other(s) => s,
        }
    }

    /// The rule called `name` (the inverse of [`Rule::as_str`]).
    pub fn from_name(name: &str) -> Self {
        match name {
            "unknown_variable" => Rule::UnknownVariable,
            "type_mismatch" => Rule::TypeMismatch,
            "range" => Rule::Range,
            "format" => Rule::Format,
            "required" => Rule::Required,
            "duplicate" => Rule::Duplicate,
            "not_deployable" => Rule::NotDeployable,
            "quota" => Rule::Quota,
            other => Rule::Other(other.to_owned()),
        }
    }
}

impl fmt::Display for Rule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for Rule {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for Rule {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let name = std::borrow::Cow::<'de, str>::deserialize(d)?;
        Ok(Rule::from_name(&name))
    }
}

/// One broken rule: which field (`input.priorityScore`, `context.priorityScore`,
/// `priority`, `status`, `workflow_id`), which [`Rule`], and what was expected
/// versus found. JSON: `{field, rule, expected?, actual?, message}`;
/// `Display`: `field: message`.
pub type Violation = cx_http::Violation<Rule>;

/// Every [`Violation`] found by one check, in the order found; never empty
/// when returned as an error. `Display` joins them on one line.
pub type Violations = cx_http::Violations<Rule>;

impl cx_http::ViolationRule for Rule {}

/// The outcome an [`ErrorKind::Audit`] error still carries.
#[derive(Debug, Clone)]
enum Outcome {
    Execution(Box<ExecutionReport>),
    Trigger(TriggerReport),
}

/// The error of every fallible `cx-workflow` call.
///
/// `Display` gives a one-line reason; the underlying cause ([`Error::http`]
/// or the audit sink's error) is in [`std::error::Error::source`] and is not
/// repeated in the message.
pub struct Error {
    inner: Box<Inner>,
}

struct Inner {
    kind: ErrorKind,
    message: String,
    violations: Violations,
    workflow_id: Option<String>,
    execution_id: Option<String>,
    missing_scope: Option<String>,
    http: Option<cx_http::Error>,
    audit: Option<cx_audit::Error>,
    outcome: Option<Outcome>,
}

impl Error {
    /// A new error of `kind` with a one-line `message`.
    pub(crate) fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        Self {
            inner: Box::new(Inner {
                kind,
                message: message.into(),
                violations: Violations::new(),
                workflow_id: None,
                execution_id: None,
                missing_scope: None,
                http: None,
                audit: None,
                outcome: None,
            }),
        }
    }

    /// A [`ErrorKind::Validation`] error listing `violations`.
    pub(crate) fn validation(violations: Violations) -> Self {
        Self::new(ErrorKind::Validation, "invalid input").with_violations(violations)
    }

    /// A validation error with one violation.
    pub(crate) fn violation(v: Violation) -> Self {
        Self::validation(Violations::from(v))
    }

    pub(crate) fn with_violations(mut self, violations: Violations) -> Self {
        self.inner.violations = violations;
        self
    }

    pub(crate) fn with_workflow(mut self, id: &str) -> Self {
        self.inner.workflow_id = Some(id.to_owned());
        self
    }

    pub(crate) fn with_execution(mut self, id: &str) -> Self {
        self.inner.execution_id = Some(id.to_owned());
        self
    }

    pub(crate) fn with_missing_scope(mut self, scope: Option<String>) -> Self {
        self.inner.missing_scope = scope;
        self
    }

    pub(crate) fn with_http(mut self, err: cx_http::Error) -> Self {
        self.inner.http = Some(err);
        self
    }

    /// Attach an audit-sink failure that happened while reporting this error.
    pub(crate) fn with_audit_failure(mut self, err: cx_audit::Error) -> Self {
        self.inner.audit = Some(err);
        self
    }

    /// An [`ErrorKind::Audit`] error for a finished execution.
    pub(crate) fn audit_execution(report: ExecutionReport, err: cx_audit::Error) -> Self {
        let message = format!(
            "execution {} of workflow {} finished with status {} but its audit record could not be written",
            report.execution.id, report.execution.workflow_id, report.execution.status
        );
        let id = report.execution.id.clone();
        let wf = report.execution.workflow_id.clone();
        let mut e = Self::new(ErrorKind::Audit, message)
            .with_execution(&id)
            .with_workflow(&wf);
        e.inner.audit = Some(err);
        e.inner.outcome = Some(Outcome::Execution(Box::new(report)));
        e
    }

    /// An [`ErrorKind::Audit`] error for a created instance.
    pub(crate) fn audit_trigger(report: TriggerReport, err: cx_audit::Error) -> Self {
        let message = format!(
            "instance {} of workflow {} was created but its audit record could not be written",
            report.instance_id, report.workflow_id
        );
        let wf = report.workflow_id.clone();
        let mut e = Self::new(ErrorKind::Audit, message).with_workflow(&wf);
        e.inner.audit = Some(err);
        e.inner.outcome = Some(Outcome::Trigger(report));
        e
    }

    /// What kind of failure this is.
    pub fn kind(&self) -> ErrorKind {
        self.inner.kind
    }

    /// Every rule the input broke ([`ErrorKind::Validation`],
    /// [`ErrorKind::NotDeployable`], [`ErrorKind::QuotaExceeded`] from the
    /// pre-flight checks) or that the server listed in a 400's `details`
    /// ([`ErrorKind::InvalidPayload`]). Empty for other errors.
    pub fn violations(&self) -> &[Violation] {
        self.inner.violations.as_slice()
    }

    /// The workflow the call concerned, if known.
    pub fn workflow_id(&self) -> Option<&str> {
        self.inner.workflow_id.as_deref()
    }

    /// The execution the error concerns, once the server assigned one
    /// (errors while polling, [`ErrorKind::Stuck`], [`ErrorKind::Audit`]).
    pub fn execution_id(&self) -> Option<&str> {
        self.inner.execution_id.as_deref()
    }

    /// The OAuth scope a 403 named as missing (e.g. `workflow.execute`).
    pub fn missing_scope(&self) -> Option<&str> {
        self.inner.missing_scope.as_deref()
    }

    /// The runtime error behind this one, if an API call failed.
    pub fn http(&self) -> Option<&cx_http::Error> {
        self.inner.http.as_ref()
    }

    /// The HTTP status of the failed call, if a response arrived.
    pub fn status(&self) -> Option<u16> {
        self.inner.http.as_ref().and_then(cx_http::Error::status)
    }

    /// The audit sink's error: the cause of an [`ErrorKind::Audit`] error, or
    /// a second failure while recording another error (`TRIGGER_FAILED`).
    pub fn audit_error(&self) -> Option<&cx_audit::Error> {
        self.inner.audit.as_ref()
    }

    /// The finished execution of an [`ErrorKind::Audit`] error.
    pub fn execution_report(&self) -> Option<&ExecutionReport> {
        match &self.inner.outcome {
            Some(Outcome::Execution(r)) => Some(r),
            _ => None,
        }
    }

    /// The created instance of an [`ErrorKind::Audit`] error.
    pub fn trigger_report(&self) -> Option<&TriggerReport> {
        match &self.inner.outcome {
            Some(Outcome::Trigger(r)) => Some(r),
            _ => None,
        }
    }

    /// True for [`ErrorKind::Stuck`] and for runtime timeouts.
    pub fn is_timeout(&self) -> bool {
        self.inner.kind == ErrorKind::Stuck
            || self
                .inner
                .http
                .as_ref()
                .is_some_and(cx_http::Error::is_timeout)
    }

    /// True when the operation may have happened server-side but its
    /// outcome was never seen: [`ErrorKind::Stuck`],
    /// [`ErrorKind::OutcomeUnknown`], [`ErrorKind::UnknownStatus`]. Such an
    /// error is audited as `EXECUTION_OUTCOME_UNKNOWN` /
    /// `WORKFLOW_TRIGGER_OUTCOME_UNKNOWN`, never as a failure.
    pub fn is_outcome_unknown(&self) -> bool {
        matches!(
            self.inner.kind,
            ErrorKind::Stuck | ErrorKind::OutcomeUnknown | ErrorKind::UnknownStatus
        )
    }

    /// True when nothing was submitted because of the caller's input or the
    /// workflow's state ([`ErrorKind::Validation`], [`ErrorKind::NotDeployable`]
    /// before submitting, [`ErrorKind::QuotaExceeded`], [`ErrorKind::CapacityExhausted`]).
    pub fn is_rejected_before_submit(&self) -> bool {
        matches!(
            self.inner.kind,
            ErrorKind::Validation | ErrorKind::QuotaExceeded | ErrorKind::CapacityExhausted
        ) || (self.inner.kind == ErrorKind::NotDeployable && self.inner.http.is_none())
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.inner.message)?;
        if !self.inner.violations.is_empty() {
            write!(f, ": {}", self.inner.violations)?;
        }
        if self.inner.kind != ErrorKind::Audit && self.inner.audit.is_some() {
            f.write_str(" (and its audit record could not be written)")?;
        }
        Ok(())
    }
}

impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("cx_workflow::Error");
        d.field("kind", &self.inner.kind)
            .field("message", &self.inner.message);
        if !self.inner.violations.is_empty() {
            d.field("violations", &self.inner.violations.as_slice());
        }
        if let Some(id) = &self.inner.workflow_id {
            d.field("workflow_id", id);
        }
        if let Some(id) = &self.inner.execution_id {
            d.field("execution_id", id);
        }
        if let Some(s) = &self.inner.missing_scope {
            d.field("missing_scope", s);
        }
        if let Some(h) = &self.inner.http {
            d.field("http", h);
        }
        if let Some(a) = &self.inner.audit {
            d.field("audit", a);
        }
        d.finish()
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        if self.inner.kind == ErrorKind::Audit {
            return self
                .inner
                .audit
                .as_ref()
                .map(|e| e as &(dyn std::error::Error + 'static));
        }
        self.inner
            .http
            .as_ref()
            .map(|e| e as &(dyn std::error::Error + 'static))
    }
}

/// Which API call failed, for mapping its [`cx_http::Error`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Call {
    /// A read (definition, lists, execution status).
    Read,
    /// A submission (execution or instance POST).
    Submit,
}

/// Map a runtime error of `call` (described as `what`, e.g. "submitting an
/// execution of workflow wf_1") to this crate's error.
pub(crate) fn from_http(err: cx_http::Error, call: Call, what: &str) -> Error {
    use cx_http::ErrorKind as H;
    let status = err.status();
    let (kind, mut message, violations, scope) = match status {
        // A success status with a body we cannot read: the call may well
        // have worked, so the message must not say it failed.
        Some(code) if err.kind() == H::Decode && code < 300 => (
            ErrorKind::Api,
            format!("{what}: the server answered {code} but its body is not the expected JSON"),
            Violations::new(),
            None,
        ),
        Some(400) if call == Call::Submit => (
            ErrorKind::InvalidPayload,
            format!("{what}: the server rejected the payload"),
            server_details(err.body()),
            None,
        ),
        Some(401) => (
            ErrorKind::PermissionDenied,
            format!("{what}: the access token was rejected"),
            Violations::new(),
            None,
        ),
        Some(403) => {
            let scope = missing_scope(err.body());
            let msg = match &scope {
                Some(s) => format!("{what}: permission denied, missing scope {s}"),
                None => format!("{what}: permission denied"),
            };
            (ErrorKind::PermissionDenied, msg, Violations::new(), scope)
        }
        Some(404) => (
            ErrorKind::NotFound,
            format!("{what}: not found"),
            Violations::new(),
            None,
        ),
        Some(409) if call == Call::Submit => (
            ErrorKind::NotDeployable,
            format!("{what}: the workflow is not deployable"),
            Violations::new(),
            None,
        ),
        Some(429) => (
            ErrorKind::RateLimited,
            format!("{what}: still rate limited after retrying"),
            Violations::new(),
            None,
        ),
        Some(_) => (
            ErrorKind::Api,
            format!("{what} failed"),
            Violations::new(),
            None,
        ),
        None => {
            let kind = match err.kind() {
                _ if err.is_transport() => ErrorKind::Transport,
                H::Auth if auth_cause_is_transport(&err) => ErrorKind::Transport,
                H::Auth => ErrorKind::PermissionDenied,
                H::PollExhausted => ErrorKind::Stuck,
                _ => ErrorKind::Api,
            };
            let msg = match kind {
                ErrorKind::PermissionDenied => format!("{what}: no access token"),
                ErrorKind::Transport => format!("{what}: no response from the server"),
                _ => format!("{what} failed"),
            };
            (kind, msg, Violations::new(), None)
        }
    };
    if let Some(code) = status.filter(|_| err.kind() != H::Decode) {
        message.push_str(&format!(" (HTTP {code})"));
    }
    Error::new(kind, message)
        .with_violations(violations)
        .with_missing_scope(scope)
        .with_http(err)
}

/// True when a token fetch failed because the authorization server could
/// not be reached (rather than because it refused the credentials).
fn auth_cause_is_transport(err: &cx_http::Error) -> bool {
    let mut source = std::error::Error::source(err);
    while let Some(s) = source {
        if let Some(h) = s.downcast_ref::<cx_http::Error>() {
            if h.status().is_some() {
                return false;
            }
            if h.is_transport() {
                return true;
            }
        }
        source = s.source();
    }
    false
}

/// The scope a 403 body names: `requiredScopes[0]`, else the text after
/// `missing scope:` in `message`/`error_description`.
fn missing_scope(body: Option<&serde_json::Value>) -> Option<String> {
    let body = body?;
    if let Some(s) = body
        .get("requiredScopes")
        .and_then(|v| v.as_array())
        .and_then(|a| a.first())
        .and_then(|v| v.as_str())
        .filter(|s| !s.is_empty())
    {
        return Some(s.to_owned());
    }
    if let Some(s) = body.get("missingScope").and_then(|v| v.as_str()) {
        return Some(s.to_owned());
    }
    ["message", "error_description"].iter().find_map(|k| {
        let text = body.get(*k)?.as_str()?;
        let lower = text.to_ascii_lowercase();
        let at = lower.find("missing scope")?;
        let rest = text.get(at + "missing scope".len()..)?;
        let scope = rest
            .trim_start_matches([':', ' '])
            .split(|c: char| c.is_whitespace() || c == ',' || c == ';')
            .next()?
            .trim_end_matches('.');
        (!scope.is_empty()).then(|| scope.to_owned())
    })
}

/// The `details` of a 400 body as violations: `[{field, rule, message}]`
/// (the simulator's and CXone's shape). Without details, one violation on
/// `payload` carrying the server's message.
fn server_details(body: Option<&serde_json::Value>) -> Violations {
    let mut out = Violations::new();
    if let Some(details) = body
        .and_then(|b| b.get("details"))
        .and_then(|d| d.as_array())
    {
        for d in details {
            let field = d.get("field").and_then(|v| v.as_str()).unwrap_or("payload");
            let rule = d.get("rule").and_then(|v| v.as_str()).unwrap_or("invalid");
            let message = d
                .get("message")
                .and_then(|v| v.as_str())
                .unwrap_or("rejected by the server");
            out.push(Violation::new(field, Rule::from_name(rule), message));
        }
    }
    if out.is_empty() {
        let message = body
            .and_then(|b| {
                ["message", "error_description", "error"]
                    .iter()
                    .find_map(|k| b.get(*k).and_then(|v| v.as_str()))
            })
            .unwrap_or("rejected by the server");
        out.push(Violation::new(
            "payload",
            Rule::Other("invalid".into()),
            message,
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn error_is_send_sync_static() {
        fn assert_bounds<T: Send + Sync + 'static + std::error::Error>() {}
        assert_bounds::<Error>();
        assert_bounds::<Violations>();
    }

    #[test]
    fn display_is_one_line_with_every_violation() {
        let mut v = Violations::new();
        v.push(Violation::new(
            "input.a",
            Rule::UnknownVariable,
            "not declared",
        ));
        v.push(Violation::new(
            "priority",
            Rule::Range,
            "must be in 1..=10, got 11",
        ));
        let e = Error::validation(v);
        let text = e.to_string();
        assert_eq!(
            text,
            "invalid input: input.a: not declared; priority: must be in 1..=10, got 11"
        );
        assert!(!text.contains('\n'));
        assert_eq!(e.violations().len(), 2);
        assert_eq!(e.kind(), ErrorKind::Validation);
    }

    #[test]
    fn missing_scope_table() {
        let cases = [
            (
                json!({"requiredScopes": ["workflow.execute", "workflow:write"]}),
                Some("workflow.execute"),
            ),
            (
                json!({"message": "missing scope: workflow:write"}),
                Some("workflow:write"),
            ),
            (
                json!({"error_description": "Missing scope workflow.read."}),
                Some("workflow.read"),
            ),
            (json!({"message": "forbidden"}), None),
            (json!("not an object"), None),
        ];
        for (body, want) in cases {
            assert_eq!(missing_scope(Some(&body)).as_deref(), want, "{body}");
        }
    }

    #[test]
    fn server_details_become_violations() {
        let body = json!({"error": "invalid_payload", "details": [
            {"field": "input.x", "rule": "unknown_variable", "message": "x is not declared"},
            {"field": "priority", "rule": "enum", "message": "bad"}
        ]});
        let v = server_details(Some(&body));
        assert_eq!(v.len(), 2);
        assert_eq!(v.as_slice()[0].rule, Rule::UnknownVariable);
        assert_eq!(v.as_slice()[1].rule, Rule::Other("enum".into()));
        let bare = server_details(Some(&json!({"message": "nope"})));
        assert_eq!(bare.as_slice()[0].message, "nope");
    }

    #[test]
    fn rule_names_round_trip() {
        for rule in [
            Rule::UnknownVariable,
            Rule::TypeMismatch,
            Rule::Range,
            Rule::Format,
            Rule::Required,
            Rule::Duplicate,
            Rule::NotDeployable,
            Rule::Quota,
            Rule::Other("enum".into()),
        ] {
            assert_eq!(Rule::from_name(rule.as_str()), rule);
        }
    }
}
