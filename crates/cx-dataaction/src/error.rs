//! The one error type of `cx-dataaction`, the [`Violation`]s it carries,
//! and how each failure maps to the seed's error classification.
//!
//! [`Error`] derefs to the shared [`cx_http::ServiceError`]: its
//! [`kind`](cx_http::ServiceError::kind) is a [`cx_http::ServiceKind`] (the
//! kinds every service crate shares, mapped from HTTP by one table) or one of
//! this crate's own [`DataActionKind`]s.
//!
//! | [`ErrorKind`] | when | [`ErrorClass`] |
//! |---|---|---|
//! | `Validation` | a rule broken before sending | VALIDATION |
//! | `InvalidRequest` | 400/422 from the server | VALIDATION |
//! | `NotFound` | 404: unknown action or job | VALIDATION |
//! | `Unauthenticated`, `PermissionDenied` | 401/403, or no token | VALIDATION |
//! | `Domain(Extraction)` | a JMESPath expression failed on the output | VALIDATION |
//! | `Transport`, `OutcomeUnknown` | no response; or the execute or the polls failed transiently until the max wait; or the execute's 2xx answer could not be read | NETWORK |
//! | `RateLimited`, `Server` | 429 or 5xx (503 "compute unavailable") left after the runtime's retries | COMPUTE |
//! | `Domain(JobFailed)` | the job (or a Data Extraction job) ended FAILED ([`Error::error_detail`]) | COMPUTE |
//! | `Domain(JobEnded)` | a Data Extraction job ended CANCELLED or EXPIRED | COMPUTE |
//! | `Domain(File)` | a Data Extraction file could not be written | COMPUTE |
//! | `Api`, `UnknownStatus`, other shared kinds | any other failed call; a status this crate does not know | COMPUTE |
//! | `Domain(JobTimedOut)` | the job ended TIMED_OUT | TIMEOUT |
//! | `WaitTimeout` | the job was not terminal within the max wait (outcome unknown) | TIMEOUT |
//! | `Audit` | the run finished but its audit record was not stored | the run's own |

use crate::audit::{ErrorClass, ExecutionAudit};
use crate::client::RunReport;

/// What went wrong: a shared [`cx_http::ServiceKind`] or a [`DataActionKind`].
pub type ErrorKind = cx_http::ServiceKind<DataActionKind>;

/// The kinds only `cx-dataaction` has.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DataActionKind {
    /// The job ended FAILED; [`Error::error_detail`] says why.
    JobFailed,
    /// The job ended TIMED_OUT.
    JobTimedOut,
    /// An extraction expression failed on the job output.
    Extraction,
    /// A Data Extraction job ended CANCELLED or EXPIRED (or in a status
    /// this crate does not know); [`Error::error_detail`] holds any
    /// `errorMessage`.
    JobEnded,
    /// The file of a Data Extraction job could not be written or renamed.
    File,
}

impl cx_http::DomainKind for DataActionKind {
    fn as_str(self) -> &'static str {
        match self {
            DataActionKind::JobFailed => "job_failed",
            DataActionKind::JobTimedOut => "job_timed_out",
            DataActionKind::Extraction => "extraction",
            DataActionKind::JobEnded => "job_ended",
            DataActionKind::File => "file",
        }
    }
}

/// The seed's classification of a failure of `kind` (see the module table).
pub fn class_of(kind: ErrorKind) -> ErrorClass {
    use DataActionKind as D;
    match kind {
        ErrorKind::Validation
        | ErrorKind::InvalidRequest
        | ErrorKind::NotFound
        | ErrorKind::Unauthenticated
        | ErrorKind::PermissionDenied
        | ErrorKind::Domain(D::Extraction) => ErrorClass::Validation,
        ErrorKind::Transport | ErrorKind::OutcomeUnknown => ErrorClass::Network,
        ErrorKind::Domain(D::JobTimedOut) | ErrorKind::WaitTimeout => ErrorClass::Timeout,
        ErrorKind::Audit => ErrorClass::None,
        _ => ErrorClass::Compute,
    }
}

cx_http::open_enum! {
    /// The rule a [`Violation`] broke; serialised as its snake-case name.
    pub enum Rule {
        /// A required value is missing (`required`).
        Required => "required",
        /// A malformed value, e.g. a version id that is not `v` + semver (`format`).
        Format => "format",
        /// A number outside its range, e.g. a timeout outside 1000..=60000 (`range`).
        Range => "range",
        /// A version the action does not have (`unknown_version`).
        UnknownVersion => "unknown_version",
    }
}

/// One broken rule: the wire field (`versionId`, `executionTimeoutMs`,
/// `inputParameters.customerId`, `extract.riskScore`), the rule and a
/// one-line message. JSON: `{field, rule, message}`; `Display`: `field: message`.
pub type Violation = cx_http::Violation<Rule>;

impl cx_http::ViolationRule for Rule {}

/// What a `cx-dataaction` error adds to the shared core: the job, its
/// `errorDetail`, the run's audit record and the finished run of an
/// [`ErrorKind::Audit`] error.
#[derive(Debug, Default)]
pub struct ErrorDetail {
    job_id: Option<String>,
    error_detail: Option<String>,
    audit: Option<ExecutionAudit>,
    report: Option<Box<RunReport>>,
}

/// The shared error core this crate's [`Error`] wraps.
pub(crate) type Core = cx_http::ServiceError<ErrorDetail>;

cx_http::domain_error! {
    /// The error of every fallible `cx-dataaction` call; it derefs to
    /// [`cx_http::ServiceError`] for the kind, violations, HTTP cause and
    /// audit failure. Errors from [`crate::RunBuilder::send`] always carry
    /// the run's audit record ([`Error::audit`]).
    pub struct Error(ErrorDetail) {
        kind: DataActionKind,
        rule: Rule,
        name: "cx_dataaction::Error",
        validation: "invalid request",
    }
}

impl Error {
    pub(crate) fn violation(v: Violation) -> Self {
        Self::validation(vec![v])
    }

    pub(crate) fn with_job(self, job_id: &str) -> Self {
        self.0
            .with_detail(|d| d.job_id = Some(job_id.to_owned()))
            .into()
    }

    pub(crate) fn with_error_detail(self, detail: Option<String>) -> Self {
        self.0.with_detail(|d| d.error_detail = detail).into()
    }

    pub(crate) fn with_audit(self, audit: ExecutionAudit) -> Self {
        self.0.with_detail(|d| d.audit = Some(audit)).into()
    }

    /// An [`ErrorKind::Audit`] error for a run that succeeded.
    pub(crate) fn audit_failed(report: RunReport, err: cx_audit::Error) -> Self {
        let message = format!(
            "job {} completed but its audit record could not be written",
            report.job.job_id
        );
        let audit = report.audit.clone();
        Self::new(ErrorKind::Audit, message)
            .with_job(&report.job.job_id)
            .with_audit(audit)
            .with_audit_failure(err)
            .0
            .with_detail(|d| d.report = Some(Box::new(report)))
            .into()
    }

    /// The seed's classification ([`class_of`] of [`cx_http::ServiceError::kind`]).
    pub fn class(&self) -> ErrorClass {
        class_of(self.kind())
    }

    /// The job concerned, once one exists.
    pub fn job_id(&self) -> Option<&str> {
        self.detail().job_id.as_deref()
    }

    /// The job's `errorDetail` (FAILED or TIMED_OUT jobs).
    pub fn error_detail(&self) -> Option<&str> {
        self.detail().error_detail.as_deref()
    }

    /// The run's audit record (seed 004 step 5), present on every error from
    /// [`crate::RunBuilder::send`].
    pub fn audit(&self) -> Option<&ExecutionAudit> {
        self.detail().audit.as_ref()
    }

    /// The finished run of an [`ErrorKind::Audit`] error.
    pub fn report(&self) -> Option<&RunReport> {
        self.detail().report.as_deref()
    }
}

/// Map a failed runtime call doing `what` (e.g. `"executing data action
/// DA-1"`) with the shared table.
pub(crate) fn from_http(err: cx_http::Error, what: &str) -> Error {
    Core::from_http(err, what).into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classification_table() {
        let cases = [
            (ErrorKind::Validation, ErrorClass::Validation),
            (ErrorKind::Transport, ErrorClass::Network),
            (ErrorKind::Server, ErrorClass::Compute),
            (
                ErrorKind::Domain(DataActionKind::JobFailed),
                ErrorClass::Compute,
            ),
            (
                ErrorKind::Domain(DataActionKind::JobTimedOut),
                ErrorClass::Timeout,
            ),
            (ErrorKind::WaitTimeout, ErrorClass::Timeout),
        ];
        for (kind, class) in cases {
            assert_eq!(class_of(kind), class, "{kind}");
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
