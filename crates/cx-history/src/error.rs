//! The one error type of `cx-history`.
//!
//! [`Error`] derefs to the shared [`cx_http::ServiceError`]: its
//! [`kind`](cx_http::ServiceError::kind) is a [`cx_http::ServiceKind`] (the
//! kinds every service crate shares, mapped from HTTP by one table; a 400
//! whose filter did not parse or broke retention is
//! [`ErrorKind::InvalidRequest`]) or one of this crate's own
//! [`HistoryKind`]s. This crate adds the finished report ([`Error::report`])
//! when retrieval and analysis finished but the audit record or the
//! completion webhook failed.

use std::fmt;

use crate::report::HistoryReport;

/// What went wrong: a shared [`cx_http::ServiceKind`] or a [`HistoryKind`].
pub type ErrorKind = cx_http::ServiceKind<HistoryKind>;

/// The kinds only `cx-history` has.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum HistoryKind {
    /// The report is complete (and audited) but the completion webhook
    /// failed after the runtime's retries.
    Webhook,
}

impl cx_http::DomainKind for HistoryKind {
    fn as_str(self) -> &'static str {
        match self {
            HistoryKind::Webhook => "webhook",
        }
    }
}

cx_http::open_enum! {
    /// The rule a [`Violation`] broke; JSON: its snake-case name.
    pub enum Rule {
        /// A required value is missing or empty (`required`).
        Required => "required",
        /// A malformed value, e.g. a timestamp without a zone (`format`).
        Format => "format",
        /// A start older than the tenant's retention (`retention`).
        Retention => "retention",
        /// An end before the start (`order`).
        Order => "order",
        /// A number outside its range, e.g. `limit` outside 1..=1000 (`range`).
        Range => "range",
    }
}

/// One broken rule: the field (`interaction_ids[0]`, `start_timestamp`,
/// `limit`, ...), the [`Rule`] and a one-line message. JSON:
/// `{field, rule, message}`; `Display`: `` `field` (rule): message ``.
pub type Violation = cx_http::Violation<Rule>;

impl cx_http::ViolationRule for Rule {
    fn fmt_violation(v: &Violation, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "`{}` ({}): {}", v.field, v.rule, v.message)
    }
}

/// What a `cx-history` error adds to the shared core: the finished report.
#[derive(Debug, Default)]
pub struct ErrorDetail {
    report: Option<HistoryReport>,
}

type Core = cx_http::ServiceError<ErrorDetail>;

cx_http::domain_error! {
    /// The error of every `cx-history` operation; it derefs to
    /// [`cx_http::ServiceError`] for the kind, violations, HTTP cause and
    /// audit failure.
    pub struct Error(ErrorDetail) {
        kind: HistoryKind,
        rule: Rule,
        name: "cx_history::Error",
        validation: "invalid history query",
    }
}

impl Error {
    pub(crate) fn with_report(self, report: HistoryReport) -> Self {
        self.0.with_detail(|d| d.report = Some(report)).into()
    }

    /// The finished report, for [`ErrorKind::Audit`] and [`HistoryKind::Webhook`].
    pub fn report(&self) -> Option<&HistoryReport> {
        self.detail().report.as_ref()
    }

    /// Whether the query was rejected before any request was sent.
    pub fn is_rejected_before_send(&self) -> bool {
        self.is_validation()
    }
}

/// Map a runtime error of a history call (`what`, e.g. "querying history")
/// with the shared table.
pub(crate) fn from_http(err: cx_http::Error, what: &str) -> Error {
    Core::from_http(err, what).into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_is_one_line_naming_every_field() {
        let e = Error::validation(vec![
            Violation::new("interaction_ids", Rule::Required, "list at least one id"),
            Violation::new("end_timestamp", Rule::Order, "before start"),
        ]);
        let text = e.to_string();
        assert!(!text.contains('\n'));
        assert!(text.contains("`interaction_ids` (required)"), "{text}");
        assert!(text.contains("`end_timestamp` (order)"), "{text}");
        assert!(e.is_rejected_before_send());
    }
}
