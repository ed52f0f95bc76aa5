//! The one error type of the runtime.
//!
//! Every failed call through [`crate::Client`] returns an [`Error`]: an opaque
//! value with predicates (`is_timeout()`, `is_rate_limited()`, ...) and the
//! facts a caller needs to report or branch on: the HTTP status, the server's
//! request id, how many attempts were made, how long the call took in total and
//! the API's JSON error body. Service crates wrap it in their own error types.

use std::fmt;
use std::time::Duration;

/// A boxed error source.
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// What went wrong, for callers that branch on it.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// The request could not be built (bad URL, unserialisable body, bad header).
    Builder,
    /// The connection could not be made or broke before a response arrived.
    Connect,
    /// An attempt timed out, or the total deadline ran out.
    Timeout,
    /// The server answered with a non-success status (see [`Error::status`]).
    Status,
    /// The response could not be decoded: its body, or its head (status
    /// line and headers: not valid HTTP/1.1, or longer than the
    /// connection's 64 KiB read buffer). Not retried.
    Decode,
    /// The response body was longer than the cap
    /// ([`crate::Config::max_body_bytes`]); it was not read to its end.
    TooLarge,
    /// The access token could not be obtained (see the source for why).
    Auth,
    /// The circuit breaker for the host is open; no request was sent.
    CircuitOpen,
    /// A paginator saw a page cursor it had already followed.
    PaginationLoop,
    /// A paginator fetched its most pages and stopped.
    PageLimit,
    /// A [`crate::Poller`] ran out of polls or time before the operation
    /// finished (a wait timeout; the operation's outcome is unknown).
    WaitTimeout,
    /// Caller input was rejected before any request was sent.
    InvalidInput,
    /// A [`crate::ConditionalUpdate`] conflicted (409/412) on every attempt.
    Conflict,
    /// A link, redirect or request pointed at an origin other than the
    /// configured one while carrying credentials; nothing was sent there.
    ForeignOrigin,
    /// A local file could not be written (the target of
    /// [`crate::RequestBuilder::send_to_file`]); see the source.
    Io,
}

/// The error of every runtime call.
///
/// `Display` gives a one-line reason; the underlying cause, if any, is in
/// [`std::error::Error::source`] and is not repeated in the message.
pub struct Error {
    inner: Box<Inner>,
}

struct Inner {
    kind: ErrorKind,
    message: String,
    status: Option<u16>,
    request_id: Option<String>,
    attempts: u32,
    elapsed: Duration,
    body: Option<serde_json::Value>,
    retry_after: Option<Duration>,
    source: Option<BoxError>,
}

impl Error {
    /// A new error of `kind` with a one-line `message`.
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        Self {
            inner: Box::new(Inner {
                kind,
                message: message.into(),
                status: None,
                request_id: None,
                attempts: 0,
                elapsed: Duration::ZERO,
                body: None,
                retry_after: None,
                source: None,
            }),
        }
    }

    /// An [`ErrorKind::InvalidInput`] error naming the offending `field` and the `rule` it broke.
    pub fn invalid_input(field: &str, rule: impl fmt::Display) -> Self {
        Self::new(
            ErrorKind::InvalidInput,
            format!("invalid `{field}`: {rule}"),
        )
    }

    /// Attach the underlying cause.
    #[must_use]
    pub fn with_source(mut self, source: impl Into<BoxError>) -> Self {
        self.inner.source = Some(source.into());
        self
    }

    pub(crate) fn with_status(mut self, status: u16) -> Self {
        self.inner.status = Some(status);
        self
    }

    pub(crate) fn with_request_id(mut self, id: Option<String>) -> Self {
        self.inner.request_id = id;
        self
    }

    pub(crate) fn with_body(mut self, body: Option<serde_json::Value>) -> Self {
        self.inner.body = body;
        self
    }

    pub(crate) fn with_retry_after(mut self, retry_after: Option<Duration>) -> Self {
        self.inner.retry_after = retry_after;
        self
    }

    pub(crate) fn with_attempts(mut self, attempts: u32, elapsed: Duration) -> Self {
        self.inner.attempts = attempts;
        self.inner.elapsed = elapsed;
        self
    }

    /// What kind of failure this is.
    pub fn kind(&self) -> ErrorKind {
        self.inner.kind
    }

    /// True when an attempt timed out or the total deadline (or a poller's) ran out.
    pub fn is_timeout(&self) -> bool {
        matches!(self.inner.kind, ErrorKind::Timeout | ErrorKind::WaitTimeout)
    }

    /// True when the server answered 429 Too Many Requests on the last attempt.
    pub fn is_rate_limited(&self) -> bool {
        self.inner.status == Some(429)
    }

    /// True when the connection failed or was reset before a response arrived.
    pub fn is_connect(&self) -> bool {
        self.inner.kind == ErrorKind::Connect
    }

    /// True when no usable response arrived: the connection failed, an
    /// attempt or the deadline timed out, or the circuit breaker was open
    /// ([`ErrorKind::Connect`], [`ErrorKind::Timeout`], [`ErrorKind::CircuitOpen`]).
    /// Service crates report these as their `Transport` kind.
    pub fn is_transport(&self) -> bool {
        matches!(
            self.inner.kind,
            ErrorKind::Connect | ErrorKind::Timeout | ErrorKind::CircuitOpen
        )
    }

    /// True when trying again later may succeed: no usable response
    /// ([`Error::is_transport`]), 408, 429, 500, 502, 503 or 504, or an
    /// access token that could not be had for one of these reasons. A
    /// [`crate::Poller`] retries such failures until its deadline.
    pub fn is_transient(&self) -> bool {
        if self.is_transport() {
            return true;
        }
        match (self.inner.kind, self.inner.status) {
            (ErrorKind::Status, Some(s)) => matches!(s, 408 | 429 | 500 | 502 | 503 | 504),
            (ErrorKind::Auth, _) => {
                let mut source = std::error::Error::source(self);
                while let Some(s) = source {
                    if let Some(e) = s.downcast_ref::<Error>() {
                        return e.is_transient();
                    }
                    source = s.source();
                }
                false
            }
            _ => false,
        }
    }

    /// True when a request may have been carried out without its answer
    /// being seen: a transient failure ([`Error::is_transient`]), retries
    /// that ran out of time ([`ErrorKind::WaitTimeout`]), or a success
    /// (2xx) whose body could not be decoded: the server did it, but what
    /// it made is unknown. A submission failing so has an unknown outcome.
    pub fn leaves_outcome_unknown(&self) -> bool {
        self.is_transient()
            || self.inner.kind == ErrorKind::WaitTimeout
            || self.is_unreadable_success()
    }

    /// A 2xx whose body could not be decoded ([`ErrorKind::Decode`]).
    pub(crate) fn is_unreadable_success(&self) -> bool {
        self.inner.kind == ErrorKind::Decode && self.inner.status.is_some_and(|s| s < 300)
    }

    /// True when the input was rejected before any request was sent.
    pub fn is_invalid_input(&self) -> bool {
        self.inner.kind == ErrorKind::InvalidInput
    }

    /// The HTTP status of the last response, if one arrived.
    pub fn status(&self) -> Option<u16> {
        self.inner.status
    }

    /// The server's request id (`x-request-id` or `x-correlation-id` header), if sent.
    pub fn request_id(&self) -> Option<&str> {
        self.inner.request_id.as_deref()
    }

    /// How many attempts were made (0 when nothing was sent).
    pub fn attempts(&self) -> u32 {
        self.inner.attempts
    }

    /// Wall time from the first attempt to giving up.
    pub fn elapsed(&self) -> Duration {
        self.inner.elapsed
    }

    /// The API's JSON error body (e.g. `{"error": "...", "message": "..."}`), if it sent one.
    pub fn body(&self) -> Option<&serde_json::Value> {
        self.inner.body.as_ref()
    }

    /// The server's `Retry-After` on the last response, already parsed and capped.
    pub fn retry_after(&self) -> Option<Duration> {
        self.inner.retry_after
    }

    /// The API's own message: `message`, `error_description` or `error` from the body.
    pub fn api_message(&self) -> Option<&str> {
        let body = self.inner.body.as_ref()?;
        ["message", "error_description", "error"]
            .iter()
            .find_map(|k| body.get(*k).and_then(|v| v.as_str()))
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.inner.message)?;
        if let Some(status) = self.inner.status {
            write!(f, " (HTTP {status}")?;
            if let Some(msg) = self.api_message() {
                write!(f, ": {msg}")?;
            }
            f.write_str(")")?;
        }
        if self.inner.attempts > 1 {
            write!(
                f,
                " after {} attempts in {} ms",
                self.inner.attempts,
                self.inner.elapsed.as_millis()
            )?;
        }
        Ok(())
    }
}

impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("cx_http::Error");
        d.field("kind", &self.inner.kind)
            .field("message", &self.inner.message);
        if let Some(s) = self.inner.status {
            d.field("status", &s);
        }
        if let Some(id) = &self.inner.request_id {
            d.field("request_id", id);
        }
        d.field("attempts", &self.inner.attempts)
            .field("elapsed_ms", &self.inner.elapsed.as_millis());
        if let Some(src) = &self.inner.source {
            d.field("source", src);
        }
        d.finish()
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.inner
            .source
            .as_ref()
            .map(|e| &**e as &(dyn std::error::Error + 'static))
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
    fn display_names_status_and_api_message_once() {
        let e = Error::new(ErrorKind::Status, "POST /x failed")
            .with_status(400)
            .with_body(Some(serde_json::json!({"message": "bad priority"})))
            .with_attempts(1, Duration::from_millis(5));
        assert_eq!(e.to_string(), "POST /x failed (HTTP 400: bad priority)");
        assert_eq!(e.api_message(), Some("bad priority"));
    }

    #[test]
    fn transport_means_no_usable_response() {
        let table = [
            (ErrorKind::Connect, true),
            (ErrorKind::Timeout, true),
            (ErrorKind::CircuitOpen, true),
            (ErrorKind::Status, false),
            (ErrorKind::Auth, false),
            (ErrorKind::WaitTimeout, false),
            (ErrorKind::InvalidInput, false),
        ];
        for (kind, want) in table {
            assert_eq!(Error::new(kind, "x").is_transport(), want, "{kind:?}");
        }
    }

    #[test]
    fn transient_means_worth_trying_again() {
        let status = |s| Error::new(ErrorKind::Status, "x").with_status(s);
        for (s, want) in [
            (408, true),
            (429, true),
            (500, true),
            (502, true),
            (503, true),
        ] {
            assert_eq!(status(s).is_transient(), want, "{s}");
        }
        for s in [400, 401, 403, 404, 409, 412, 501] {
            assert!(!status(s).is_transient(), "{s}");
        }
        assert!(Error::new(ErrorKind::Connect, "x").is_transient());
        assert!(!Error::new(ErrorKind::Decode, "x").is_transient());
        let auth = |cause: Error| Error::new(ErrorKind::Auth, "no token").with_source(cause);
        assert!(auth(status(503)).is_transient());
        assert!(!auth(status(401)).is_transient());
        assert!(!Error::new(ErrorKind::Auth, "no token").is_transient());
    }

    #[test]
    fn an_unreadable_success_leaves_the_outcome_unknown() {
        let decode = |s| Error::new(ErrorKind::Decode, "x").with_status(s);
        assert!(decode(201).leaves_outcome_unknown());
        assert!(decode(200).leaves_outcome_unknown());
        assert!(!decode(400).leaves_outcome_unknown());
        assert!(!Error::new(ErrorKind::Decode, "x").leaves_outcome_unknown());
        assert!(!decode(201).is_transient(), "not retried");
        let status = |s| Error::new(ErrorKind::Status, "x").with_status(s);
        assert!(status(503).leaves_outcome_unknown());
        assert!(!status(400).leaves_outcome_unknown());
    }
}
