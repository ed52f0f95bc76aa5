//! The one error type of `cx-workflow`, and the validation [`Violation`]s it
//! carries.
//!
//! [`Error`] derefs to the shared [`cx_http::ServiceError`]: its
//! [`kind`](cx_http::ServiceError::kind) is a [`cx_http::ServiceKind`] (the
//! kinds every service crate shares, mapped from HTTP by one table) or one of
//! this crate's own [`WorkflowKind`]s. This crate adds the workflow and
//! execution ids, and the finished outcome of an audit failure
//! ([`Error::execution_report`], [`Error::trigger_report`]).

use crate::execute::ExecutionReport;
use crate::trigger::TriggerReport;

/// What went wrong: a shared [`cx_http::ServiceKind`] or a [`WorkflowKind`]
/// (`ErrorKind::Domain(WorkflowKind::NotDeployable)`).
pub type ErrorKind = cx_http::ServiceKind<WorkflowKind>;

/// The kinds only `cx-workflow` has.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum WorkflowKind {
    /// The workflow is not ACTIVE or DEPLOYED (seed 000 step 1, checked
    /// before submitting), or the server answered 409 `workflow_not_deployable`.
    NotDeployable,
    /// The tenant already runs `Config::max_concurrent_executions`
    /// executions of the workflow (seed 000 step 1 quota); nothing was submitted.
    QuotaExceeded,
    /// The workflow already runs `Config::max_concurrent_instances`
    /// instances (seed 001 step 2); nothing was submitted.
    CapacityExhausted,
}

impl cx_http::DomainKind for WorkflowKind {
    fn as_str(self) -> &'static str {
        match self {
            WorkflowKind::NotDeployable => "not_deployable",
            WorkflowKind::QuotaExceeded => "quota_exceeded",
            WorkflowKind::CapacityExhausted => "capacity_exhausted",
        }
    }
}

cx_http::open_enum! {
    /// The rule a [`Violation`] broke. Serialised as its snake-case name
    /// (`"type_mismatch"`), which is also what the simulator and CXone use in
    /// 400 `details`; names this crate does not know are kept in
    /// [`Rule::Unknown`].
    pub enum Rule {
        /// A key that the workflow does not declare (`unknown_variable`).
        UnknownVariable => "unknown_variable",
        /// A value whose JSON type is not the declared one, or that cannot be
        /// coerced to it (`type_mismatch`).
        TypeMismatch => "type_mismatch",
        /// A number outside its allowed range, e.g. priority 1..=10 (`range`).
        Range => "range",
        /// A malformed value, e.g. a workflow id with `/` in it (`format`).
        Format => "format",
        /// A required value is missing or empty (`required`).
        Required => "required",
        /// The same name given twice (`duplicate`).
        Duplicate => "duplicate",
        /// The workflow's status does not accept executions (`not_deployable`).
        NotDeployable => "not_deployable",
        /// The running-execution quota is used up (`quota`).
        Quota => "quota",
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

/// What a `cx-workflow` error adds to the shared core: the ids it concerns
/// and the finished outcome of an [`ErrorKind::Audit`] error.
#[derive(Debug, Default)]
pub struct ErrorDetail {
    workflow_id: Option<String>,
    execution_id: Option<String>,
    outcome: Option<Outcome>,
}

/// The shared error core this crate's [`Error`] wraps.
pub(crate) type Core = cx_http::ServiceError<ErrorDetail>;

cx_http::domain_error! {
    /// The error of every fallible `cx-workflow` call; it derefs to
    /// [`cx_http::ServiceError`] for the kind, violations, HTTP cause and
    /// audit failure.
    pub struct Error(ErrorDetail) {
        kind: WorkflowKind,
        rule: Rule,
        name: "cx_workflow::Error",
        validation: "invalid input",
    }
}

impl Error {
    /// A validation error with one violation.
    pub(crate) fn violation(v: Violation) -> Self {
        Self::validation(Violations::from(v))
    }

    pub(crate) fn with_violations(self, violations: Violations) -> Self {
        self.0.with_violations(violations).into()
    }

    pub(crate) fn with_workflow(self, id: &str) -> Self {
        self.0
            .with_detail(|d| d.workflow_id = Some(id.to_owned()))
            .into()
    }

    pub(crate) fn with_execution(self, id: &str) -> Self {
        self.0
            .with_detail(|d| d.execution_id = Some(id.to_owned()))
            .into()
    }

    /// Map a failed runtime call (described as `what`, e.g. "submitting an
    /// execution of workflow wf_1") with the shared table; a 409 whose body
    /// says `workflow_not_deployable` is [`WorkflowKind::NotDeployable`].
    pub(crate) fn from_http(err: cx_http::Error, what: &str) -> Self {
        let not_deployable = err.status() == Some(409)
            && err
                .body()
                .and_then(|b| b.get("error"))
                .and_then(|v| v.as_str())
                == Some("workflow_not_deployable");
        let core = Core::from_http(err, what);
        if not_deployable {
            let message = format!("{what}: the workflow is not deployable (HTTP 409)");
            return core
                .with_kind(ErrorKind::Domain(WorkflowKind::NotDeployable), message)
                .into();
        }
        core.into()
    }

    /// An [`ErrorKind::Audit`] error for a finished execution.
    pub(crate) fn audit_execution(report: ExecutionReport, err: cx_audit::Error) -> Self {
        let message = format!(
            "execution {} of workflow {} finished with status {} but its audit record could not be written",
            report.execution.id, report.execution.workflow_id, report.execution.status
        );
        let id = report.execution.id.clone();
        let wf = report.execution.workflow_id.clone();
        Self::new(ErrorKind::Audit, message)
            .with_execution(&id)
            .with_workflow(&wf)
            .with_audit_failure(err)
            .with_outcome(Outcome::Execution(Box::new(report)))
    }

    /// An [`ErrorKind::Audit`] error for a created instance.
    pub(crate) fn audit_trigger(report: TriggerReport, err: cx_audit::Error) -> Self {
        let message = format!(
            "instance {} of workflow {} was created but its audit record could not be written",
            report.instance_id, report.workflow_id
        );
        let wf = report.workflow_id.clone();
        Self::new(ErrorKind::Audit, message)
            .with_workflow(&wf)
            .with_audit_failure(err)
            .with_outcome(Outcome::Trigger(report))
    }

    fn with_outcome(self, outcome: Outcome) -> Self {
        self.0.with_detail(|d| d.outcome = Some(outcome)).into()
    }

    /// The workflow the call concerned, if known.
    pub fn workflow_id(&self) -> Option<&str> {
        self.detail().workflow_id.as_deref()
    }

    /// The execution the error concerns, once the server assigned one
    /// (errors while polling, [`ErrorKind::WaitTimeout`], [`ErrorKind::Audit`]).
    pub fn execution_id(&self) -> Option<&str> {
        self.detail().execution_id.as_deref()
    }

    /// The finished execution of an [`ErrorKind::Audit`] error.
    pub fn execution_report(&self) -> Option<&ExecutionReport> {
        match &self.detail().outcome {
            Some(Outcome::Execution(r)) => Some(r),
            _ => None,
        }
    }

    /// The created instance of an [`ErrorKind::Audit`] error.
    pub fn trigger_report(&self) -> Option<&TriggerReport> {
        match &self.detail().outcome {
            Some(Outcome::Trigger(r)) => Some(r),
            _ => None,
        }
    }

    /// True when nothing was submitted because of the caller's input or the
    /// workflow's state ([`ErrorKind::Validation`], [`WorkflowKind::NotDeployable`]
    /// before submitting, [`WorkflowKind::QuotaExceeded`],
    /// [`WorkflowKind::CapacityExhausted`]).
    pub fn is_rejected_before_submit(&self) -> bool {
        use WorkflowKind as W;
        match self.kind() {
            ErrorKind::Validation | ErrorKind::Domain(W::QuotaExceeded | W::CapacityExhausted) => {
                true
            }
            ErrorKind::Domain(W::NotDeployable) => self.http().is_none(),
            _ => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn violations_are_send_sync_static() {
        // (`Error` is checked by `cx_http::domain_error!` at compile time.)
        fn assert_bounds<T: Send + Sync + 'static + std::error::Error>() {}
        assert_bounds::<Violations>();
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
            Rule::Unknown("enum".into()),
        ] {
            assert_eq!(Rule::from(rule.as_str()), rule);
        }
    }
}
