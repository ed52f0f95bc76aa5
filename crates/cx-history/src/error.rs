//! The one error type of `cx-history`.
//!
//! Every fallible call returns an [`Error`]: an opaque value whose
//! [`Error::kind`] callers branch on, with the [`Violation`]s found before
//! anything was sent, the underlying [`cx_http::Error`] ([`Error::http`]),
//! and — when retrieval and analysis finished but the audit record or the
//! completion webhook failed — the finished report ([`Error::report`]).
//! `Display` gives one line and does not repeat the source.

use std::fmt;

use crate::report::HistoryReport;

/// What went wrong, for callers that branch on it.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorKind {
    /// The query broke a rule; nothing was sent. See [`Error::violations`].
    Validation,
    /// 400 from the server: the filter did not parse or broke retention
    /// (the server's message names the offending token).
    InvalidQuery,
    /// 401/403: the credentials lack `interactions:read`, or no token.
    PermissionDenied,
    /// 429 remained after the runtime's retries.
    RateLimited,
    /// No usable response: connection failure, timeout, open breaker.
    Transport,
    /// Any other failed call or an unexpected response body.
    Api,
    /// The report is complete but its audit record could not be written.
    Audit,
    /// The report is complete (and audited) but the completion webhook
    /// failed after the runtime's retries.
    Webhook,
}

impl ErrorKind {
    /// A stable lower-case name, e.g. `"invalid_query"`.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorKind::Validation => "validation",
            ErrorKind::InvalidQuery => "invalid_query",
            ErrorKind::PermissionDenied => "permission_denied",
            ErrorKind::RateLimited => "rate_limited",
            ErrorKind::Transport => "transport",
            ErrorKind::Api => "api",
            ErrorKind::Audit => "audit",
            ErrorKind::Webhook => "webhook",
        }
    }
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One broken rule: the field (`interaction_ids[0]`, `start_timestamp`,
/// `limit`, ...), the rule (`required`, `format`, `retention`, `order`,
/// `range`) and a one-line message. JSON: `{field, rule, message}`;
/// `Display`: `` `field` (rule): message ``.
pub type Violation = cx_http::Violation<&'static str>;

/// The error of every `cx-history` operation.
pub struct Error {
    inner: Box<Inner>,
}

struct Inner {
    kind: ErrorKind,
    message: String,
    violations: Vec<Violation>,
    http: Option<cx_http::Error>,
    audit: Option<cx_audit::Error>,
    report: Option<HistoryReport>,
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
            }),
        }
    }

    pub(crate) fn validation(violations: Vec<Violation>) -> Self {
        let list = cx_http::Violations::from(violations);
        let mut e = Self::new(
            ErrorKind::Validation,
            format!("invalid history query: {list}"),
        );
        e.inner.violations = list.into_vec();
        e
    }

    pub(crate) fn with_http(mut self, err: cx_http::Error) -> Self {
        self.inner.http = Some(err);
        self
    }

    pub(crate) fn with_audit(mut self, err: cx_audit::Error) -> Self {
        self.inner.audit = Some(err);
        self
    }

    pub(crate) fn with_report(mut self, report: HistoryReport) -> Self {
        self.inner.report = Some(report);
        self
    }

    /// What kind of failure this is.
    pub fn kind(&self) -> ErrorKind {
        self.inner.kind
    }

    /// Every rule the query broke ([`ErrorKind::Validation`]), else empty.
    pub fn violations(&self) -> &[Violation] {
        &self.inner.violations
    }

    /// The runtime error behind a failed call.
    pub fn http(&self) -> Option<&cx_http::Error> {
        self.inner.http.as_ref()
    }

    /// The HTTP status of a failed call.
    pub fn status(&self) -> Option<u16> {
        self.http().and_then(cx_http::Error::status)
    }

    /// The finished report, for [`ErrorKind::Audit`] and [`ErrorKind::Webhook`].
    pub fn report(&self) -> Option<&HistoryReport> {
        self.inner.report.as_ref()
    }

    /// Whether the query was rejected before any request was sent.
    pub fn is_rejected_before_send(&self) -> bool {
        self.kind() == ErrorKind::Validation
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.inner.message)?;
        if let Some(msg) = self.http().and_then(cx_http::Error::api_message) {
            write!(f, ": {msg}")?;
        }
        Ok(())
    }
}

impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("cx_history::Error")
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
        if let Some(a) = &self.inner.audit {
            return Some(a);
        }
        self.inner
            .http
            .as_ref()
            .map(|e| e as &(dyn std::error::Error + 'static))
    }
}

/// Map a runtime error of a history call (`what`, e.g. "querying history").
pub(crate) fn from_http(err: cx_http::Error, what: &str) -> Error {
    use cx_http::ErrorKind as K;
    let kind = match (err.kind(), err.status()) {
        (K::Status, Some(400)) => ErrorKind::InvalidQuery,
        (K::Status, Some(401 | 403)) | (K::Auth, _) => ErrorKind::PermissionDenied,
        (K::Status, Some(429)) => ErrorKind::RateLimited,
        _ if err.is_transport() => ErrorKind::Transport,
        _ => ErrorKind::Api,
    };
    Error::new(kind, format!("{what} failed")).with_http(err)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_is_send_sync_static() {
        fn assert_bounds<T: Send + Sync + 'static + std::error::Error>() {}
        assert_bounds::<Error>();
    }

    #[test]
    fn display_is_one_line_naming_every_field() {
        let e = Error::validation(vec![
            Violation::new("interaction_ids", "required", "list at least one id"),
            Violation::new("end_timestamp", "order", "before start"),
        ]);
        let text = e.to_string();
        assert!(!text.contains('\n'));
        assert!(text.contains("`interaction_ids` (required)"), "{text}");
        assert!(text.contains("`end_timestamp` (order)"), "{text}");
        assert!(e.is_rejected_before_send());
    }
}
