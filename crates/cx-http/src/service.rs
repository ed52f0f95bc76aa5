//! The error core every service crate shares: one status → kind table, one
//! way to carry the request id, attempts, elapsed time, the HTTP cause and an
//! audit failure.
//!
//! A service crate (cx-workflow, cx-agent, cx-history, cx-dataaction) names
//! only what is its own: its domain kinds (an enum implementing
//! [`DomainKind`]), its validation rules (an [`crate::open_enum!`]), and the
//! facts its errors carry (a struct implementing [`Domain`]). Its `Error` is
//! declared with [`crate::service_error!`], a newtype over
//! [`ServiceError`] that derefs to it, so every crate answers
//! [`ServiceError::kind`], [`ServiceError::violations`],
//! [`ServiceError::http`], [`ServiceError::status`] and
//! [`ServiceError::audit_error`] the same way.
//!
//! # The one table ([`ServiceError::from_http`])
//!
//! | runtime error | [`ServiceKind`] |
//! |---|---|
//! | 400, 422 | `InvalidRequest` (the body's `details` become violations) |
//! | 401; a token request the server refused | `Unauthenticated` |
//! | 403 | `PermissionDenied` ([`ServiceError::missing_scope`]) |
//! | 404 | `NotFound` |
//! | 409, 412; a conditional update out of attempts | `Conflict` |
//! | 429 after the runtime's retries | `RateLimited` |
//! | 5xx after the runtime's retries | `Server` |
//! | reset, timeout, open breaker, unreachable token server | `Transport` |
//! | a poller out of polls or time | `WaitTimeout` |
//! | a page cursor seen twice, or the page limit | `Pagination` |
//! | input refused before sending (an id the path encoder refused) | `Validation` |
//! | anything else (unexpected status, unreadable body, foreign origin) | `Api` |

use std::fmt;
use std::hash::Hash;
use std::time::Duration;

use crate::error::{BoxError, Error, ErrorKind};
use crate::validation::{Violation, ViolationRule, Violations};

/// A service crate's own error kinds (e.g. cx-workflow's `NotDeployable`).
pub trait DomainKind: Copy + Eq + Hash + fmt::Debug + Send + Sync + 'static {
    /// A stable snake-case name, e.g. `"not_deployable"` (used in audit payloads).
    fn as_str(self) -> &'static str;
}

/// What a service crate adds to the shared core: its kinds, its rules, and
/// the facts its errors carry (this type's value, [`ServiceError::detail`]).
pub trait Domain: Default + fmt::Debug + Send + Sync + 'static {
    /// The crate's own kinds.
    type Kind: DomainKind;
    /// The rules its [`Violation`]s name.
    type Rule: ViolationRule
        + for<'de> serde::Deserialize<'de>
        + fmt::Debug
        + Clone
        + Send
        + Sync
        + 'static;
    /// The error's name in `Debug`, e.g. `"cx_workflow::Error"`.
    const NAME: &'static str;
}

/// What went wrong, for callers that branch on it: the kinds every service
/// crate shares, and [`ServiceKind::Domain`] for the crate's own.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ServiceKind<K> {
    /// Caller input broke a rule; nothing was sent. See
    /// [`ServiceError::violations`].
    Validation,
    /// 400 or 422: the server refused the request; its `details` are in
    /// [`ServiceError::violations`].
    InvalidRequest,
    /// 401, or the token server refused the credentials: who the caller is
    /// was not accepted.
    Unauthenticated,
    /// 403: the caller is known but lacks a permission
    /// ([`ServiceError::missing_scope`]).
    PermissionDenied,
    /// 404: the resource does not exist.
    NotFound,
    /// 409 or 412: the resource changed under the request, or a conditional
    /// update met a newer version on every attempt.
    Conflict,
    /// 429 remained after the runtime's retries (which honour `Retry-After`).
    RateLimited,
    /// A 5xx remained after the runtime's retries.
    Server,
    /// No usable response arrived: connection failure or reset, a timeout,
    /// an open circuit breaker, or an unreachable token server.
    Transport,
    /// A wait for an operation ran out of polls or time while it was still
    /// pending or running: its outcome is unknown.
    WaitTimeout,
    /// The operation was submitted (or may have been) but no answer settled
    /// it before the deadline: every attempt failed transiently, or the
    /// server accepted it with an answer that could not be read.
    OutcomeUnknown,
    /// The server reported a status this crate does not know; waiting stopped.
    UnknownStatus,
    /// A paginator saw a page cursor it had already followed, or hit its
    /// page limit.
    Pagination,
    /// Any other failed call: an unexpected status or an unreadable body.
    Api,
    /// The operation finished but its audit record could not be written;
    /// the outcome is still in the error ([`ServiceError::detail`]).
    Audit,
    /// A kind of the service crate's own.
    Domain(K),
}

impl<K: DomainKind> ServiceKind<K> {
    /// A stable snake-case name, e.g. `"not_found"` or the domain kind's own.
    pub fn as_str(self) -> &'static str {
        match self {
            ServiceKind::Validation => "validation",
            ServiceKind::InvalidRequest => "invalid_request",
            ServiceKind::Unauthenticated => "unauthenticated",
            ServiceKind::PermissionDenied => "permission_denied",
            ServiceKind::NotFound => "not_found",
            ServiceKind::Conflict => "conflict",
            ServiceKind::RateLimited => "rate_limited",
            ServiceKind::Server => "server",
            ServiceKind::Transport => "transport",
            ServiceKind::WaitTimeout => "wait_timeout",
            ServiceKind::OutcomeUnknown => "outcome_unknown",
            ServiceKind::UnknownStatus => "unknown_status",
            ServiceKind::Pagination => "pagination",
            ServiceKind::Api => "api",
            ServiceKind::Audit => "audit",
            ServiceKind::Domain(k) => k.as_str(),
        }
    }
}

impl<K: DomainKind> fmt::Display for ServiceKind<K> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The error core of every service crate; each crate's `Error` derefs to it.
///
/// `Display` is one line: the message, the broken rules, and a note when an
/// audit record could not be written as well; it does not repeat the cause.
/// [`std::error::Error::source`] is the audit sink's error for
/// [`ServiceKind::Audit`], else the runtime error, else the audit error.
pub struct ServiceError<D: Domain> {
    inner: Box<Inner<D>>,
}

struct Inner<D: Domain> {
    kind: ServiceKind<D::Kind>,
    message: String,
    violations: Vec<Violation<D::Rule>>,
    missing_scope: Option<String>,
    http: Option<Error>,
    audit: Option<BoxError>,
    detail: D,
}

impl<D: Domain> ServiceError<D> {
    /// A new error of `kind` with a one-line `message`.
    pub fn new(kind: ServiceKind<D::Kind>, message: impl Into<String>) -> Self {
        Self {
            inner: Box::new(Inner {
                kind,
                message: message.into(),
                violations: Vec::new(),
                missing_scope: None,
                http: None,
                audit: None,
                detail: D::default(),
            }),
        }
    }

    /// A new error of the crate's own `kind`.
    pub fn domain(kind: D::Kind, message: impl Into<String>) -> Self {
        Self::new(ServiceKind::Domain(kind), message)
    }

    /// A [`ServiceKind::Validation`] error listing `violations`; the message
    /// is `context` (e.g. `"invalid history query"`).
    pub fn validation(
        context: impl Into<String>,
        violations: impl Into<Violations<D::Rule>>,
    ) -> Self {
        Self::new(ServiceKind::Validation, context).with_violations(violations)
    }

    /// The same error listing `violations` (replacing any).
    #[must_use]
    pub fn with_violations(mut self, violations: impl Into<Violations<D::Rule>>) -> Self {
        self.inner.violations = violations.into().into_vec();
        self
    }

    /// The same error with the crate's facts changed by `f`.
    #[must_use]
    pub fn with_detail(mut self, f: impl FnOnce(&mut D)) -> Self {
        f(&mut self.inner.detail);
        self
    }

    /// The same error caused by the runtime error `err` (kept as
    /// [`ServiceError::http`] and the source).
    #[must_use]
    pub fn with_http(mut self, err: Error) -> Self {
        self.inner.http = Some(err);
        self
    }

    /// The same error recording an audit-sink failure (the cause of a
    /// [`ServiceKind::Audit`] error, or a second failure while auditing
    /// another one).
    #[must_use]
    pub fn with_audit_failure(mut self, err: impl Into<BoxError>) -> Self {
        self.inner.audit = Some(err.into());
        self
    }

    /// The same error, now of `kind` (a crate refining the shared table,
    /// e.g. a 409 whose body says the workflow is not deployable).
    #[must_use]
    pub fn with_kind(mut self, kind: ServiceKind<D::Kind>, message: impl Into<String>) -> Self {
        self.inner.kind = kind;
        self.inner.message = message.into();
        self
    }

    /// Map a failed runtime call doing `what` (e.g. `"reading agent a-1"`)
    /// with the one table of the module docs. The message is
    /// `"{what}: {reason} (HTTP {status}: {API message})"`.
    pub fn from_http(err: Error, what: &str) -> Self {
        let (kind, reason) = classify::<D::Kind>(&err);
        let mut message = format!("{what}: {reason}");
        if let Some(code) = err.status().filter(|_| err.kind() == ErrorKind::Decode) {
            message.push_str(&format!(" (the server answered {code})"));
        }
        if let Some(code) = err.status().filter(|_| err.kind() == ErrorKind::Status) {
            message.push_str(&format!(" (HTTP {code}"));
            if let Some(api) = err.api_message() {
                message.push_str(&format!(": {api}"));
            }
            message.push(')');
        }
        let violations = match kind {
            ServiceKind::InvalidRequest => server_details(err.body()),
            _ => Vec::new(),
        };
        let missing_scope = match kind {
            ServiceKind::PermissionDenied => missing_scope(err.body()),
            _ => None,
        };
        let mut e = Self::new(kind, message).with_violations(violations);
        e.inner.missing_scope = missing_scope;
        e.inner.http = Some(err);
        e
    }

    /// The [`ServiceKind::OutcomeUnknown`] error of a submission doing
    /// `what` (e.g. `"executing data action da-1"`), sent with idempotency
    /// key `key`, that no answer settled within `elapsed` (its last failure
    /// `err`, one that [`Error::leaves_outcome_unknown`]: no usable answer,
    /// or a success whose body could not be read): the message names the
    /// key and says the `created` thing (e.g. `"job"`) may exist.
    pub fn no_answer(err: Error, what: &str, key: &str, elapsed: Duration, created: &str) -> Self {
        let message = match err.status().filter(|_| err.is_unreadable_success()) {
            Some(code) => format!(
                "unknown outcome: {what} (idempotency key {key}) was accepted (the server answered {code}) but the answer is not the expected JSON; the {created} may exist"
            ),
            None => format!(
                "unknown outcome: {what} (idempotency key {key}) got no answer within the deadline ({} ms, last error: {err}); the {created} may exist",
                elapsed.as_millis()
            ),
        };
        Self::new(ServiceKind::OutcomeUnknown, message).with_http(err)
    }

    /// The [`ServiceKind::OutcomeUnknown`] error of a submission doing
    /// `what`, sent with idempotency key `key`, that the server accepted
    /// under an id no URL path can hold (`id`; `problem` says why): the
    /// `created` thing (e.g. `"job"`) exists but cannot be read, and the key
    /// finds it. The message names the key and the id (escaped).
    pub fn unusable_id(what: &str, key: &str, created: &str, id: &str, problem: &str) -> Self {
        Self::new(
            ServiceKind::OutcomeUnknown,
            format!(
                "unknown outcome: {what} (idempotency key {key}) was accepted, but the server returned an unusable {created} id {id:?}: {problem}"
            ),
        )
    }

    /// The [`ServiceKind::UnknownStatus`] error of a wait for `operation`
    /// (e.g. `"job j-1 of data action da-1"`) that read a status this crate
    /// does not know, `status` (escaped in the message), after `polls` polls.
    pub fn unknown_status(operation: &str, status: &str, polls: u32) -> Self {
        Self::new(
            ServiceKind::UnknownStatus,
            format!(
                "unknown outcome: {operation} reported status {:?}, which this client does not know; stopped waiting after {polls} polls",
                crate::escape(status)
            ),
        )
    }

    /// The error of a wait for `operation` that ended with the
    /// [`crate::Poller`]'s error `err` after `polls` polls in `elapsed`, the
    /// last status read being `last_seen`; every case is "unknown outcome":
    /// [`ServiceKind::WaitTimeout`] when polls or time ran out,
    /// [`ServiceKind::OutcomeUnknown`] (with `err` as the cause) when the
    /// polls failed transiently until then, else `err` mapped by
    /// [`ServiceError::from_http`] (a poll refused for good).
    pub fn wait_failed(
        err: Error,
        operation: &str,
        last_seen: &str,
        polls: u32,
        elapsed: Duration,
    ) -> Self {
        let ms = elapsed.as_millis();
        if err.kind() == ErrorKind::WaitTimeout {
            Self::new(
                ServiceKind::WaitTimeout,
                format!(
                    "unknown outcome: {operation} is still {last_seen} after {polls} polls in {ms} ms"
                ),
            )
        } else if err.is_transient() {
            Self::new(
                ServiceKind::OutcomeUnknown,
                format!(
                    "unknown outcome: {operation} was last seen {last_seen}; its polls failed until the deadline ({polls} polls in {ms} ms, last error: {err})"
                ),
            )
            .with_http(err)
        } else {
            Self::from_http(
                err,
                &format!("unknown outcome: polling {operation} (last seen {last_seen})"),
            )
        }
    }

    /// What kind of failure this is.
    pub fn kind(&self) -> ServiceKind<D::Kind> {
        self.inner.kind
    }

    /// The one-line message, without the violations or the cause.
    pub fn message(&self) -> &str {
        &self.inner.message
    }

    /// Every rule the input broke, or that the server listed in a 400's
    /// `details`; empty for other errors.
    pub fn violations(&self) -> &[Violation<D::Rule>] {
        &self.inner.violations
    }

    /// The crate's own facts about this error (ids, the finished outcome of
    /// an [`ServiceKind::Audit`] error, ...).
    pub fn detail(&self) -> &D {
        &self.inner.detail
    }

    /// The runtime error behind this one, if an API call failed.
    pub fn http(&self) -> Option<&Error> {
        self.inner.http.as_ref()
    }

    /// The HTTP status of the failed call, if a response arrived.
    pub fn status(&self) -> Option<u16> {
        self.http().and_then(Error::status)
    }

    /// The server's request id of the failed call, if it sent one.
    pub fn request_id(&self) -> Option<&str> {
        self.http().and_then(Error::request_id)
    }

    /// How many attempts the failed call made (0 when nothing was sent).
    pub fn attempts(&self) -> u32 {
        self.http().map_or(0, Error::attempts)
    }

    /// Wall time from the failed call's first attempt to giving up.
    pub fn elapsed(&self) -> std::time::Duration {
        self.http()
            .map_or(std::time::Duration::ZERO, Error::elapsed)
    }

    /// The OAuth scope a 403 named as missing (`requiredScopes[0]`,
    /// `missingScope`, or the text after "missing scope" in the message).
    pub fn missing_scope(&self) -> Option<&str> {
        self.inner.missing_scope.as_deref()
    }

    /// The audit sink's error: the cause of an [`ServiceKind::Audit`] error,
    /// or a second failure while auditing another one.
    pub fn audit_error(&self) -> Option<&(dyn std::error::Error + Send + Sync + 'static)> {
        self.inner.audit.as_deref()
    }

    /// True for [`ServiceKind::Validation`]: nothing was sent.
    pub fn is_validation(&self) -> bool {
        self.inner.kind == ServiceKind::Validation
    }

    /// True for [`ServiceKind::Conflict`].
    pub fn is_conflict(&self) -> bool {
        self.inner.kind == ServiceKind::Conflict
    }

    /// True when no usable response arrived ([`ServiceKind::Transport`]).
    pub fn is_transport(&self) -> bool {
        self.inner.kind == ServiceKind::Transport
    }

    /// True when the operation may have happened but its outcome was never
    /// seen: [`ServiceKind::WaitTimeout`], [`ServiceKind::OutcomeUnknown`],
    /// [`ServiceKind::UnknownStatus`].
    pub fn is_outcome_unknown(&self) -> bool {
        matches!(
            self.inner.kind,
            ServiceKind::WaitTimeout | ServiceKind::OutcomeUnknown | ServiceKind::UnknownStatus
        )
    }

    /// True for [`ServiceKind::WaitTimeout`] and runtime timeouts.
    pub fn is_timeout(&self) -> bool {
        self.inner.kind == ServiceKind::WaitTimeout || self.http().is_some_and(Error::is_timeout)
    }
}

/// The kind and the reason of the one table (module docs).
fn classify<K>(err: &Error) -> (ServiceKind<K>, &'static str) {
    if let Some(code) = err.status() {
        if err.kind() == ErrorKind::Decode && code < 300 {
            // A success whose body we cannot read: the call may well have
            // worked, so the reason must not say it failed.
            return (
                ServiceKind::Api,
                "the server's answer is not the expected JSON",
            );
        }
        return match code {
            400 | 422 => (
                ServiceKind::InvalidRequest,
                "the server rejected the request",
            ),
            401 => (
                ServiceKind::Unauthenticated,
                "the access token was rejected",
            ),
            403 => (ServiceKind::PermissionDenied, "permission denied"),
            404 => (ServiceKind::NotFound, "not found"),
            409 | 412 => (ServiceKind::Conflict, "the resource changed meanwhile"),
            429 => (
                ServiceKind::RateLimited,
                "still rate limited after retrying",
            ),
            500..=599 => (ServiceKind::Server, "the server failed"),
            _ => (ServiceKind::Api, "unexpected answer"),
        };
    }
    match err.kind() {
        _ if err.is_transport() => (ServiceKind::Transport, "no response from the server"),
        ErrorKind::Auth => match token_cause(err) {
            Some(cause) if cause.is_transport() => {
                (ServiceKind::Transport, "no response from the token server")
            }
            Some(cause) if cause.status().is_some_and(|s| s >= 500 || s == 429) => {
                (ServiceKind::Server, "the token server failed")
            }
            _ => (
                ServiceKind::Unauthenticated,
                "no access token (the credentials were refused)",
            ),
        },
        ErrorKind::Conflict => (ServiceKind::Conflict, "the resource changed meanwhile"),
        ErrorKind::WaitTimeout => (
            ServiceKind::WaitTimeout,
            "still not finished when the wait ran out",
        ),
        ErrorKind::PaginationLoop | ErrorKind::PageLimit => {
            (ServiceKind::Pagination, "paging did not end")
        }
        ErrorKind::InvalidInput => (ServiceKind::Validation, "invalid input"),
        _ => (ServiceKind::Api, "failed"),
    }
}

/// The runtime error behind a failed token request, if there is one.
fn token_cause(err: &Error) -> Option<&Error> {
    let mut source = std::error::Error::source(err);
    while let Some(s) = source {
        if let Some(h) = s.downcast_ref::<Error>() {
            return Some(h);
        }
        source = s.source();
    }
    None
}

/// The scope a 403 body names: `requiredScopes[0]`, `missingScope`, else the
/// text after `missing scope` in `message`/`error_description`.
fn missing_scope(body: Option<&serde_json::Value>) -> Option<String> {
    let body = body?;
    let listed = body
        .get("requiredScopes")
        .and_then(|v| v.as_array())
        .and_then(|a| a.first())
        .or_else(|| body.get("missingScope"))
        .and_then(|v| v.as_str())
        .filter(|s| !s.is_empty());
    if let Some(s) = listed {
        return Some(s.to_owned());
    }
    ["message", "error_description"].iter().find_map(|k| {
        let text = body.get(*k)?.as_str()?;
        let at = text.to_ascii_lowercase().find("missing scope")?;
        let scope = text
            .get(at + "missing scope".len()..)?
            .trim_start_matches([':', ' '])
            .split(|c: char| c.is_whitespace() || c == ',' || c == ';')
            .next()?
            .trim_end_matches('.');
        (!scope.is_empty()).then(|| scope.to_owned())
    })
}

/// The `details: [{field, rule, message}]` of a 400 body, each entry read
/// on its own (an entry that does not parse is skipped).
fn server_details<R: for<'de> serde::Deserialize<'de>>(
    body: Option<&serde_json::Value>,
) -> Vec<Violation<R>> {
    body.and_then(|b| b.get("details"))
        .and_then(|d| d.as_array())
        .map(|entries| {
            entries
                .iter()
                .filter_map(|d| Violation::<R>::deserialize(d).ok())
                .collect()
        })
        .unwrap_or_default()
}

use serde::Deserialize as _;

impl<D: Domain> fmt::Display for ServiceError<D> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.inner.message)?;
        if !self.inner.violations.is_empty() {
            f.write_str(": ")?;
            for (i, v) in self.inner.violations.iter().enumerate() {
                if i > 0 {
                    f.write_str("; ")?;
                }
                write!(f, "{v}")?;
            }
        }
        if self.inner.audit.is_some() && self.inner.kind != ServiceKind::Audit {
            f.write_str(" (and its audit record could not be written)")?;
        }
        Ok(())
    }
}

impl<D: Domain> fmt::Debug for ServiceError<D> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct(D::NAME)
            .field("kind", &self.inner.kind)
            .field("message", &self.inner.message)
            .field("violations", &self.inner.violations)
            .field("missing_scope", &self.inner.missing_scope)
            .field("detail", &self.inner.detail)
            .field("http", &self.inner.http)
            .field("audit", &self.inner.audit)
            .finish()
    }
}

impl<D: Domain> std::error::Error for ServiceError<D> {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        let audit = || {
            self.inner
                .audit
                .as_deref()
                .map(|e| e as &(dyn std::error::Error + 'static))
        };
        if self.inner.kind == ServiceKind::Audit {
            return audit();
        }
        match &self.inner.http {
            Some(h) => Some(h),
            None => audit(),
        }
    }
}

/// Declare a service crate's `Error`: a newtype over
/// [`ServiceError<$domain>`](ServiceError) that derefs to it, with
/// `Display`, `Debug` and `std::error::Error` forwarded, and
/// `From<ServiceError<$domain>>`.
#[macro_export]
macro_rules! service_error {
    ($(#[$meta:meta])* pub struct $name:ident($domain:ty);) => {
        $(#[$meta])*
        pub struct $name($crate::ServiceError<$domain>);

        impl ::std::ops::Deref for $name {
            type Target = $crate::ServiceError<$domain>;
            fn deref(&self) -> &Self::Target {
                &self.0
            }
        }

        impl ::std::convert::From<$crate::ServiceError<$domain>> for $name {
            fn from(e: $crate::ServiceError<$domain>) -> Self {
                Self(e)
            }
        }

        impl ::std::fmt::Display for $name {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                ::std::fmt::Display::fmt(&self.0, f)
            }
        }

        impl ::std::fmt::Debug for $name {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                ::std::fmt::Debug::fmt(&self.0, f)
            }
        }

        impl ::std::error::Error for $name {
            fn source(&self) -> ::std::option::Option<&(dyn ::std::error::Error + 'static)> {
                ::std::error::Error::source(&self.0)
            }
        }
    };
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
    enum Own {
        Special,
    }

    impl DomainKind for Own {
        fn as_str(self) -> &'static str {
            "special"
        }
    }

    crate::open_enum! {
        /// Test rules.
        pub enum TestRule {
            /// `range`.
            Range => "range",
        }
    }

    impl ViolationRule for TestRule {}

    #[derive(Debug, Default)]
    struct Facts;

    impl Domain for Facts {
        type Kind = Own;
        type Rule = TestRule;
        const NAME: &'static str = "test::Error";
    }

    type E = ServiceError<Facts>;

    #[test]
    fn missing_scope_table() {
        let cases = [
            (
                json!({"requiredScopes": ["workflow.execute", "workflow:write"]}),
                Some("workflow.execute"),
            ),
            (json!({"missingScope": "agent:write"}), Some("agent:write")),
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
    fn server_details_keep_unknown_rules_and_skip_bad_entries() {
        let body = json!({"details": [
            {"field": "a", "rule": "range", "message": "too big"},
            {"field": "b", "rule": "enum", "message": "bad"},
            {"nonsense": true}
        ]});
        let v: Vec<Violation<TestRule>> = server_details(Some(&body));
        assert_eq!(v.len(), 2);
        assert_eq!(v[0].rule, TestRule::Range);
        assert_eq!(v[1].rule, TestRule::Unknown("enum".into()));
    }

    #[test]
    fn display_is_one_line_and_kind_names_are_stable() {
        let e = E::validation(
            "invalid input",
            vec![
                Violation::new("a", TestRule::Range, "too big"),
                Violation::new("b", TestRule::Range, "too small"),
            ],
        );
        assert_eq!(e.to_string(), "invalid input: a: too big; b: too small");
        assert!(e.is_validation());
        assert_eq!(E::domain(Own::Special, "x").kind().as_str(), "special");
        assert_eq!(
            E::new(ServiceKind::WaitTimeout, "x").kind().to_string(),
            "wait_timeout"
        );
    }

    #[test]
    fn source_is_the_audit_cause_only_for_audit_errors() {
        let http = Error::new(ErrorKind::Connect, "down");
        let audit = std::io::Error::other("disk full");
        let e = E::from_http(http, "reading").with_audit_failure(audit);
        let src = std::error::Error::source(&e).map(ToString::to_string);
        assert_eq!(src.as_deref(), Some("down"));
        assert!(
            e.to_string()
                .ends_with("(and its audit record could not be written)")
        );
        let a = E::new(ServiceKind::Audit, "done but not audited")
            .with_audit_failure(std::io::Error::other("disk full"));
        let src = std::error::Error::source(&a).map(ToString::to_string);
        assert_eq!(src.as_deref(), Some("disk full"));
    }
}
