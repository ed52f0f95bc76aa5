//! The [`Client`] and its request builder: every API call of every service
//! crate goes through [`RequestBuilder::send`], the one retry loop of the
//! workspace.
//!
//! Per call, in order: wait out a shared host pause (set by a 429), check the
//! circuit breaker, take a rate-limit slot and a concurrency permit, attach the
//! access token, send with a per-attempt timeout bounded by the total deadline,
//! then classify the outcome:
//!
//! | outcome | GET/PUT/DELETE (idempotent) | POST/PATCH without key | POST/PATCH with idempotency key |
//! |---|---|---|---|
//! | 2xx/3xx | done | done | done |
//! | 401 (first time) | refresh token, replay | refresh token, replay | refresh token, replay |
//! | 429, 503 | retry (Retry-After) | retry (Retry-After) | retry (Retry-After) |
//! | 408, 500, 502, 504 | retry | **error** (may have been processed) | retry, same key |
//! | connect error (nothing sent) | retry | retry | retry |
//! | timeout, reset mid-response | retry | **error** | retry, same key |
//! | redirect not followed, body over the cap, file not writable | error | error | error |
//! | other 4xx | error | error | error |

use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use bytes::Bytes;
use http::Method;
use http::header::{HeaderMap, HeaderName, HeaderValue};
use secrecy::{ExposeSecret, SecretString};
use serde::Serialize;
use serde::de::DeserializeOwned;
use tokio::sync::Semaphore;
use tracing::Instrument;
use url::Url;

use crate::auth::{AccessToken, Authenticate};
use crate::breaker::{Breakers, HostPauses};
use crate::config::{Config, RateLimit};
use crate::error::{Error, ErrorKind};
use crate::limit::RateLimiter;
use crate::path::{ApiPath, origin_of, same_origin};
use crate::retry::{RetryBudget, instant_after, parse_retry_after};
use crate::transport::{self, Streaming, Transport};
use crate::watchdog::{Deadline, Elapsed, Watchdog};

/// Header carrying the idempotency key of a POST, identical on every attempt.
pub const IDEMPOTENCY_KEY: &str = "idempotency-key";

/// An HTTP client for one CXone API base URL. Cheap to clone (one shared pool,
/// budget, breaker and limiters).
#[derive(Clone)]
pub struct Client {
    inner: Arc<Inner>,
}

struct Inner {
    http: Transport,
    base: String,
    base_url: Url,
    /// `host:port` of the base URL, the key of its breaker and 429 pause.
    base_host: String,
    config: Config,
    auth: Option<Arc<dyn Authenticate>>,
    budget: RetryBudget,
    breakers: Option<Breakers>,
    pauses: HostPauses,
    limiter: Option<RateLimiter>,
    in_flight: Option<Semaphore>,
    /// Times out attempts (instead of a timer per request).
    watchdog: Watchdog,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("base_url", &self.inner.base)
            .field("authenticated", &self.inner.auth.is_some())
            .finish()
    }
}

/// Builds a [`Client`]. Setters take and return the builder by value; a bad
/// value is reported by [`ClientBuilder::build`].
#[must_use]
#[derive(Default)]
pub struct ClientBuilder {
    config: Config,
    auth: Option<Arc<dyn Authenticate>>,
}

impl ClientBuilder {
    /// The base URL, e.g. `http://127.0.0.1:8080` or `https://api-na1.niceincontact.com`.
    pub fn base_url(mut self, url: impl Into<String>) -> Self {
        self.config.base_url = url.into();
        self
    }

    /// Retry policy.
    pub fn retry(mut self, retry: crate::RetryPolicy) -> Self {
        self.config.retry = retry;
        self
    }

    /// Build the client.
    ///
    /// # Errors
    /// [`ErrorKind::Builder`] when the base URL is not an absolute http(s) URL
    /// or the TLS stack cannot be set up; [`ErrorKind::InvalidInput`] naming
    /// the setting when a limit is zero or the user agent is not a valid
    /// header value.
    pub fn build(self) -> Result<Client, Error> {
        let config = self.config;
        let base = config.base_url.trim_end_matches('/').to_owned();
        let base_url = parse_base_url("base_url", &base)?;
        // rustls is built without a bundled crypto provider; ring is ours.
        // Installing twice is harmless (the second call reports "already set").
        let _ = rustls::crypto::ring::default_provider().install_default();
        let http = Transport::new(&transport::Settings {
            user_agent: &config.user_agent,
            connect_timeout: config.connect_timeout,
            pool_max_idle_per_host: config.pool_max_idle_per_host,
        })?;
        let limiter = config
            .rate_limit
            .map(|limit| limiter_for(&config, "client", limit))
            .transpose()?;
        let in_flight = match config.max_in_flight {
            Some(0) => return Err(Error::invalid_input("max_in_flight", "must be at least 1")),
            Some(n) => Some(Semaphore::new(n)),
            None => None,
        };
        Ok(Client {
            inner: Arc::new(Inner {
                http,
                base,
                base_host: host_key(&base_url),
                base_url,
                budget: RetryBudget::new(config.retry_budget.clone()),
                breakers: config.breaker.clone().map(Breakers::new),
                pauses: HostPauses::default(),
                limiter,
                in_flight,
                watchdog: Watchdog::new(),
                auth: self.auth,
                config,
            }),
        })
    }
}

crate::with_setters! { builder ClientBuilder {
    /// Replace all settings.
    config(config: Config);
    /// Authenticate every request with tokens from `auth`.
    auth(auth: Arc<dyn Authenticate>) = Some(auth);
}}

/// The limiter `name` under `limit`: shared when `config` has a store.
fn limiter_for(config: &Config, name: &str, limit: RateLimit) -> Result<RateLimiter, Error> {
    match &config.shared_limits {
        Some(store) => RateLimiter::shared(limit, name, store.clone()),
        None => RateLimiter::new(limit),
    }
}

impl Client {
    /// A builder with the default [`Config`].
    pub fn builder() -> ClientBuilder {
        ClientBuilder::default()
    }

    /// A rate limiter for the limit `name` (e.g. `agent.workmode.patch`)
    /// under `limit`: kept in [`Config::shared_limits`] when this client has
    /// a shared store, so every process of the tenant draws from one quota,
    /// else in this process ([`RateLimiter::new`]).
    ///
    /// # Errors
    /// [`ErrorKind::InvalidInput`] naming `rate_limit.*` for a zero limit or
    /// an empty name.
    pub fn limiter(&self, name: &str, limit: RateLimit) -> Result<RateLimiter, Error> {
        limiter_for(&self.inner.config, name, limit)
    }

    /// The settings this client was built with.
    pub fn config(&self) -> &Config {
        &self.inner.config
    }

    /// The base URL, without a trailing slash.
    pub fn base_url(&self) -> &str {
        &self.inner.base
    }

    /// A request with `method` to `path` under the base URL. Literal paths
    /// (`"/api/v2/executions"`) convert directly; ids go in through
    /// [`ApiPath::id`], so no caller formats a path by hand.
    pub fn request(&self, method: Method, path: impl Into<ApiPath>) -> RequestBuilder {
        let path = path.into();
        let url = path.join(&self.inner.base_url);
        self.request_to(method, url)
    }

    /// A request to a link the server sent (a `nextPageUri`, a `Location`):
    /// absolute, origin-relative (`/api/...`, joined to the base URL as
    /// today's paths are) or base-relative.
    ///
    /// # Errors
    /// Reported by `send`, before any request: [`ErrorKind::ForeignOrigin`]
    /// naming the link's origin when it is not the base URL's (a credential
    /// never leaves the configured origin); [`ErrorKind::Builder`] for a link
    /// that is not a URL.
    pub fn link(&self, method: Method, href: &str) -> RequestBuilder {
        let base = &self.inner.base;
        let parsed = if href.starts_with("http://") || href.starts_with("https://") {
            Url::parse(href)
        } else if href.starts_with('/') {
            Url::parse(&format!("{base}{href}"))
        } else {
            Url::parse(&format!("{base}/{href}"))
        };
        let url = match parsed {
            Ok(u) if same_origin(&u, &self.inner.base_url) => Ok(u),
            Ok(u) => Err(foreign_origin(&u, "link")),
            Err(e) => Err(Error::new(
                ErrorKind::Builder,
                format!("the server's link {:?} is not a URL", crate::escape(href)),
            )
            .with_source(e)),
        };
        self.request_to(method, url)
    }

    /// A request to a configured absolute URL (a webhook endpoint, a token
    /// endpoint). An access token is attached only when the URL's origin is
    /// the base URL's; otherwise call [`RequestBuilder::without_auth`] or
    /// `send` refuses with [`ErrorKind::ForeignOrigin`].
    ///
    /// # Errors
    /// Reported by `send`: [`ErrorKind::Builder`] naming `url` when it is not
    /// an absolute http(s) URL.
    pub fn request_url(&self, method: Method, url: &str) -> RequestBuilder {
        let url = match Url::parse(url) {
            Ok(u) if matches!(u.scheme(), "http" | "https") && u.has_host() => Ok(u),
            Ok(_) => Err(Error::invalid_input(
                "url",
                "must be an absolute http(s) URL",
            )),
            Err(e) => Err(Error::invalid_input("url", format!("not a URL ({e})"))),
        };
        self.request_to(method, url)
    }

    fn request_to(&self, method: Method, url: Result<Url, Error>) -> RequestBuilder {
        // The base URL stands in only for a request that will not be sent.
        let (url, error) = match url {
            Ok(u) => (u, None),
            Err(e) => (self.inner.base_url.clone(), Some(e)),
        };
        RequestBuilder {
            client: self.clone(),
            method,
            url,
            headers: HeaderMap::new(),
            body: None,
            error,
            authenticated: true,
            attempt_timeout: None,
            operation: None,
            declared_idempotent: false,
            limiter: None,
            max_body_bytes: None,
            body_file: None,
            body_buffer: None,
        }
    }

    /// `GET path`.
    pub fn get(&self, path: impl Into<ApiPath>) -> RequestBuilder {
        self.request(Method::GET, path)
    }

    /// `POST path`.
    pub fn post(&self, path: impl Into<ApiPath>) -> RequestBuilder {
        self.request(Method::POST, path)
    }

    /// `PATCH path`.
    pub fn patch(&self, path: impl Into<ApiPath>) -> RequestBuilder {
        self.request(Method::PATCH, path)
    }

    /// `PUT path`.
    pub fn put(&self, path: impl Into<ApiPath>) -> RequestBuilder {
        self.request(Method::PUT, path)
    }

    /// `DELETE path`.
    pub fn delete(&self, path: impl Into<ApiPath>) -> RequestBuilder {
        self.request(Method::DELETE, path)
    }
}

/// One API call being built. Finish with [`RequestBuilder::send`] or
/// [`RequestBuilder::send_json`].
#[must_use = "a request does nothing until `.send().await`"]
pub struct RequestBuilder {
    client: Client,
    method: Method,
    url: Url,
    headers: HeaderMap,
    body: Option<(Bytes, &'static str)>,
    error: Option<Error>,
    authenticated: bool,
    attempt_timeout: Option<Duration>,
    operation: Option<&'static str>,
    declared_idempotent: bool,
    limiter: Option<RateLimiter>,
    max_body_bytes: Option<usize>,
    /// Where a 2xx body goes instead of memory ([`RequestBuilder::send_to_file`]).
    body_file: Option<std::path::PathBuf>,
    /// Where the first attempt reads its body ([`RequestBuilder::read_into`]).
    body_buffer: Option<Vec<u8>>,
}

impl RequestBuilder {
    /// Append query parameters (`?k=v&...`), percent-encoded.
    pub fn query<K: AsRef<str>, V: AsRef<str>>(mut self, pairs: &[(K, V)]) -> Self {
        {
            let mut q = self.url.query_pairs_mut();
            for (k, v) in pairs {
                q.append_pair(k.as_ref(), v.as_ref());
            }
        }
        self
    }

    /// Append `name=value` when `value` is `Some`.
    pub fn query_opt(self, name: &str, value: Option<&str>) -> Self {
        match value {
            Some(v) => self.query(&[(name, v)]),
            None => self,
        }
    }

    /// A JSON body (`Content-Type: application/json`).
    pub fn json<T: Serialize + ?Sized>(mut self, body: &T) -> Self {
        match serde_json::to_vec(body) {
            Ok(bytes) => self.body = Some((Bytes::from(bytes), "application/json")),
            Err(e) => {
                self.error = Some(
                    Error::new(
                        ErrorKind::Builder,
                        "request body is not serialisable as JSON",
                    )
                    .with_source(e),
                );
            }
        }
        self
    }

    /// A form body (`application/x-www-form-urlencoded`), as OAuth token requests use.
    pub fn form(mut self, pairs: &[(&str, &str)]) -> Self {
        let encoded = Url::parse_with_params("http://form.invalid/", pairs)
            .map(|u| u.query().unwrap_or_default().to_owned());
        match encoded {
            Ok(s) => self.body = Some((Bytes::from(s), "application/x-www-form-urlencoded")),
            Err(e) => {
                self.error =
                    Some(Error::new(ErrorKind::Builder, "form body not encodable").with_source(e));
            }
        }
        self
    }

    /// Add a header. An invalid name or value is reported by `send`.
    pub fn header(mut self, name: &str, value: &str) -> Self {
        match (
            HeaderName::from_bytes(name.as_bytes()),
            HeaderValue::from_str(value),
        ) {
            (Ok(n), Ok(v)) => {
                self.headers.insert(n, v);
            }
            _ => {
                self.error = Some(Error::invalid_input(
                    name,
                    "not a valid HTTP header name/value",
                ));
            }
        }
        self
    }

    /// HTTP Basic authentication (`Authorization: Basic ...`), e.g. OAuth client
    /// authentication; the secret is marked sensitive and never logged.
    pub fn basic_auth(mut self, user: &str, password: &SecretString) -> Self {
        use base64::Engine as _;
        let raw = format!("{user}:{}", password.expose_secret());
        let encoded = base64::engine::general_purpose::STANDARD.encode(raw);
        match HeaderValue::from_str(&format!("Basic {encoded}")) {
            Ok(mut v) => {
                v.set_sensitive(true);
                self.headers.insert(http::header::AUTHORIZATION, v);
            }
            Err(_) => self.error = Some(Error::invalid_input("client_id", "not valid in a header")),
        }
        self.authenticated = false;
        self
    }

    /// Send the `Idempotency-Key` header with `key` on every attempt, which also
    /// makes a POST/PATCH safe to retry after a 5xx or a lost response.
    pub fn idempotency_key(self, key: &str) -> Self {
        self.header(IDEMPOTENCY_KEY, key)
    }

    /// Send `If-Match: etag` (optimistic locking; see [`crate::ConditionalUpdate`]).
    pub fn if_match(self, etag: &str) -> Self {
        self.header("if-match", etag)
    }

    /// Take a slot of `limiter` before every attempt of this call, on top of
    /// the client-wide rate limit: e.g. one limiter per tenant shared by all
    /// work-mode PATCHes (seed 002: at most 5 per second).
    pub fn rate_limiter(mut self, limiter: &RateLimiter) -> Self {
        self.limiter = Some(limiter.clone());
        self
    }

    /// Declare this call safe to repeat although its method is POST/PATCH
    /// (e.g. an OAuth token request), so it is retried like a GET.
    pub fn idempotent(mut self) -> Self {
        self.declared_idempotent = true;
        self
    }

    /// Do not attach an access token (token endpoints, webhooks).
    pub fn without_auth(mut self) -> Self {
        self.authenticated = false;
        self
    }

    /// Send and decode a 2xx JSON body into `T`.
    ///
    /// # Errors
    /// As [`RequestBuilder::send`], plus [`ErrorKind::Decode`] when the body is not a `T`.
    pub async fn send_json<T: DeserializeOwned>(self) -> Result<T, Error> {
        self.send().await?.json()
    }

    /// Send as [`RequestBuilder::send`], streaming a 2xx body into the file
    /// at `path` chunk by chunk instead of memory (an export file of any
    /// size: [`Config::max_body_bytes`] does not apply to it). The file is
    /// created or truncated by each attempt that gets a 2xx answer, so a
    /// retried download never appends to a partial one; an error answer's
    /// body is read into memory as usual. The returned [`Response`] has an
    /// empty body and [`Response::streamed_bytes`] set.
    ///
    /// # Errors
    /// As [`RequestBuilder::send`], plus [`ErrorKind::Io`] naming `path`
    /// when the file cannot be created or written (not retried).
    pub async fn send_to_file(mut self, path: &std::path::Path) -> Result<Response, Error> {
        self.body_file = Some(path.to_path_buf());
        self.send().await
    }

    /// Read the response body into `buf` (cleared first; its capacity is
    /// reused and grown as needed) instead of a new allocation, so a caller
    /// that reads many large bodies can recycle their buffers: once every
    /// slice of [`Response::body`] is dropped, `Bytes::try_into_mut` gives
    /// the buffer back. Only the first attempt uses `buf`; a retry reads
    /// into a new one. [`RequestBuilder::max_body_bytes`] applies as usual.
    pub fn read_into(mut self, buf: Vec<u8>) -> Self {
        self.body_buffer = Some(buf);
        self
    }

    /// Send with the runtime's retry policy (see the module docs' table).
    ///
    /// # Errors
    /// - [`ErrorKind::Status`] for a non-success answer (with status, request id, body);
    /// - [`ErrorKind::Connect`] / [`ErrorKind::Timeout`] for transport failures;
    /// - [`ErrorKind::CircuitOpen`] when the host's breaker is open;
    /// - [`ErrorKind::TooLarge`] when the body is longer than
    ///   [`RequestBuilder::max_body_bytes`] / [`Config::max_body_bytes`]
    ///   (not retried; the rest of the body is not read);
    /// - [`ErrorKind::Decode`] when the response's head is not valid HTTP/1.1
    ///   or does not fit the connection's 64 KiB read buffer (not retried);
    /// - [`ErrorKind::Status`] with a 3xx status for a redirect not followed
    ///   (more than five, or one without a usable `Location`);
    ///   [`ErrorKind::ForeignOrigin`] for one to another origin;
    /// - [`ErrorKind::Auth`] when no access token could be had;
    /// - [`ErrorKind::Builder`] / [`ErrorKind::InvalidInput`] for a bad request, before sending.
    pub async fn send(self) -> Result<Response, Error> {
        let span = tracing::info_span!(
            "cx.request",
            method = %self.method,
            path = %self.url.path(),
            operation = self.operation.unwrap_or(""),
            status = tracing::field::Empty,
            attempts = tracing::field::Empty,
        );
        self.run(span.clone()).instrument(span).await
    }

    /// The retry loop; `span` is the request's, which gets `status` and
    /// `attempts` at the end.
    async fn run(mut self, span: tracing::Span) -> Result<Response, Error> {
        if let Some(e) = self.error {
            return Err(e);
        }
        let inner = &*self.client.inner;
        if self.authenticated && inner.auth.is_some() && !same_origin(&self.url, &inner.base_url) {
            return Err(foreign_origin(&self.url, "request"));
        }
        let policy = &inner.config.retry;
        let host = if same_origin(&self.url, &inner.base_url) {
            std::borrow::Cow::Borrowed(inner.base_host.as_str())
        } else {
            std::borrow::Cow::Owned(host_key(&self.url))
        };
        let method_label = method_label(&self.method);
        let started = Instant::now();
        let deadline = instant_after(started, policy.total_deadline);
        let idempotent = matches!(
            self.method,
            Method::GET | Method::HEAD | Method::PUT | Method::DELETE | Method::OPTIONS
        ) || self.declared_idempotent
            || self.headers.contains_key(IDEMPOTENCY_KEY);
        let mut attempts: u32 = 0;
        let mut retries: u32 = 0;
        let mut refreshed = false;
        inner.budget.deposit();

        loop {
            attempts += 1;
            // 1. The shared pause after a 429 on this host.
            if let Some(wait) = inner.pauses.remaining(&host) {
                if Instant::now() + wait > deadline {
                    return Err(deadline_error(attempts - 1, started));
                }
                tokio::time::sleep(wait).await;
            }
            // 2. Circuit breaker.
            if let Some(b) = &inner.breakers
                && let Err(remaining) = b.admit(&host)
            {
                return Err(Error::new(
                    ErrorKind::CircuitOpen,
                    format!(
                        "circuit open for {host}: {} ms until a trial call",
                        remaining.as_millis()
                    ),
                )
                .with_retry_after(Some(remaining))
                .with_attempts(attempts - 1, started.elapsed()));
            }
            // 3. Client-side rate and concurrency limits.
            if let Some(l) = &inner.limiter {
                l.until_ready().await;
            }
            if let Some(l) = &self.limiter {
                l.until_ready().await;
            }
            let permit = match &inner.in_flight {
                Some(s) => Some(s.acquire().await.map_err(|e| {
                    Error::new(ErrorKind::Builder, "client is shutting down").with_source(e)
                })?),
                None => None,
            };
            // 4. Access token.
            let token = match (&inner.auth, self.authenticated) {
                (Some(auth), true) => Some(auth.access_token().await.map_err(|e| {
                    if e.kind() == ErrorKind::Auth {
                        e
                    } else {
                        Error::new(ErrorKind::Auth, "cannot obtain an access token").with_source(e)
                    }
                })?),
                _ => None,
            };
            // 5. One attempt.
            let now = Instant::now();
            if now >= deadline {
                return Err(deadline_error(attempts - 1, started));
            }
            let timeout = self
                .attempt_timeout
                .unwrap_or(inner.config.attempt_timeout)
                .min(deadline - now);
            // An attempt gets a span of its own only when it is a retry; the
            // first is the request's span.
            let attempt_span = if attempts > 1 {
                tracing::debug_span!("cx.attempt", attempt = attempts)
            } else {
                tracing::Span::none()
            };
            let buffer = self.body_buffer.take();
            let outcome = self
                .attempt(inner, token.as_ref(), timeout, buffer)
                .instrument(attempt_span)
                .await;
            drop(permit);
            metrics::counter!("cx_http_attempts_total", "method" => method_label).increment(1);

            let failure = match outcome {
                Ok(resp) if resp.status < 400 => {
                    record_health(inner, &host, true);
                    finish_metrics(method_label, resp.status, started);
                    span.record("status", resp.status);
                    span.record("attempts", attempts);
                    return Ok(Response {
                        attempts,
                        elapsed: started.elapsed(),
                        ..resp
                    });
                }
                Ok(resp) => {
                    let status = resp.status;
                    record_health(inner, &host, status < 500);
                    if status == 401
                        && !refreshed
                        && let (Some(auth), Some(t)) = (&inner.auth, token.as_ref())
                    {
                        // The token was rejected (revoked, expired early):
                        // refresh once and replay without counting a retry.
                        tracing::debug!("401: refreshing the access token and replaying");
                        auth.invalidate(t);
                        refreshed = true;
                        attempts -= 1;
                        continue;
                    }
                    let retry_after = resp
                        .header("retry-after")
                        .and_then(|v| parse_retry_after(v, SystemTime::now()))
                        .map(|d| policy.cap_retry_after(d));
                    if status == 429 {
                        let pause = retry_after
                            .unwrap_or_else(|| policy.backoff(retries, rand::random::<f64>()));
                        inner
                            .pauses
                            .pause(&host, instant_after(Instant::now(), pause));
                    }
                    let retryable = match status {
                        429 | 503 => true,
                        408 | 500 | 502 | 504 => idempotent,
                        _ => false,
                    };
                    let err = status_error(&self.method, &self.url, resp, retry_after);
                    Failure {
                        err,
                        retryable,
                        retry_after,
                    }
                }
                Err((err, sent)) => {
                    // Only a failed connection or a timeout says something
                    // of the host's health or may go otherwise next time; a
                    // body over the cap, a refused redirect, a file that
                    // cannot be written would be the same again.
                    let transport = matches!(err.kind(), ErrorKind::Connect | ErrorKind::Timeout);
                    if transport {
                        record_health(inner, &host, false);
                    }
                    Failure {
                        retryable: transport && (idempotent || !sent),
                        err,
                        retry_after: None,
                    }
                }
            };

            let Failure {
                err,
                retryable,
                retry_after,
            } = failure;
            let give_up = |err: Error| {
                let status = err.status().unwrap_or(0);
                finish_metrics(method_label, status, started);
                span.record("attempts", attempts);
                Err(err.with_attempts(attempts, started.elapsed()))
            };
            if !retryable || attempts >= policy.max_attempts {
                return give_up(err);
            }
            let wait =
                retry_after.unwrap_or_else(|| policy.backoff(retries, rand::random::<f64>()));
            if instant_after(Instant::now(), wait) >= deadline {
                return give_up(err);
            }
            if !inner.budget.try_withdraw() {
                tracing::warn!("retry budget exhausted; not retrying");
                return give_up(err);
            }
            retries += 1;
            metrics::counter!("cx_http_retries_total", "method" => method_label).increment(1);
            tracing::debug!(
                error = %err,
                wait_ms = wait.as_millis() as u64,
                "retrying"
            );
            tokio::time::sleep(wait).await;
        }
    }

    /// One attempt, ended as a timeout after `timeout` (headers and body).
    /// `Err((error, sent))`: `sent` is false when the request certainly
    /// never reached the server (connect failure).
    async fn attempt(
        &self,
        inner: &Inner,
        token: Option<&AccessToken>,
        timeout: Duration,
        buffer: Option<Vec<u8>>,
    ) -> Result<Response, (Error, bool)> {
        let mut headers = self.headers.clone();
        if let Some(t) = token {
            let mut v = HeaderValue::from_str(&format!("Bearer {}", t.expose())).map_err(|e| {
                (
                    Error::new(ErrorKind::Auth, "access token is not a valid header value")
                        .with_source(e),
                    false,
                )
            })?;
            v.set_sensitive(true);
            headers.insert(http::header::AUTHORIZATION, v);
        }
        let body = match &self.body {
            Some((body, content_type)) => {
                headers.insert(
                    http::header::CONTENT_TYPE,
                    HeaderValue::from_static(content_type),
                );
                body.clone()
            }
            None => Bytes::new(),
        };
        let what = || format!("{} {}", self.method, self.url.path());
        let mut deadline = inner.watchdog.arm(timeout);
        let sending = what();
        let send = inner
            .http
            .send(self.method.clone(), &self.url, headers, body, &sending);
        let mut resp = match deadline.within(send).await {
            Ok(sent) => sent?,
            Err(elapsed) => return Err(timed_out(elapsed, &what())),
        };
        let status = resp.status().as_u16();
        if resp.status().is_redirection() && status != 304 {
            // Only same-origin redirects are followed (see the transport's
            // `Redirects`); this one went elsewhere, or too far.
            let target = resp
                .headers()
                .get(http::header::LOCATION)
                .and_then(|v| v.to_str().ok())
                .and_then(|l| self.url.join(l).ok());
            let err = match target {
                Some(t) if !same_origin(&t, &self.url) => foreign_origin(&t, "redirect"),
                _ => Error::new(
                    ErrorKind::Status,
                    format!("{}: redirect not followed", what()),
                )
                .with_status(status),
            };
            return Err((err, true));
        }
        let headers = std::mem::take(resp.headers_mut());
        if let Some(path) = self.body_file.as_deref()
            && resp.status().is_success()
        {
            let streamed = stream_to_file(resp, &mut deadline, path, &what()).await?;
            return Ok(Response {
                status,
                headers,
                body: Bytes::new(),
                attempts: 1,
                elapsed: Duration::ZERO,
                streamed_bytes: streamed,
            });
        }
        let cap = self.max_body_bytes.unwrap_or(inner.config.max_body_bytes);
        let body = read_capped(
            resp,
            &mut deadline,
            cap,
            &what(),
            buffer.unwrap_or_default(),
        )
        .await
        .map_err(|err| (err.with_status(status), true))?;
        Ok(Response {
            status,
            headers,
            body,
            attempts: 1,
            elapsed: Duration::ZERO,
            streamed_bytes: 0,
        })
    }
}

crate::with_setters! { builder RequestBuilder {
    /// Override the per-attempt timeout for this call.
    attempt_timeout(attempt_timeout: Duration) = Some(attempt_timeout);
    /// Read a response body of up to `bytes` bytes for this call instead of
    /// [`Config::max_body_bytes`] (e.g. large history pages).
    max_body_bytes(max_body_bytes: usize) = Some(max_body_bytes);
    /// A short operation name for spans and metrics (e.g. `"workflow.execute"`).
    operation(operation: &'static str) = Some(operation);
}}

/// Writes the body of `resp` to `path` (created or truncated) as it
/// arrives; the bytes written. `Err((error, sent))` as an attempt's: a
/// transport failure mid-body is retried by the caller's loop (for an
/// idempotent request), a file that cannot be written is not.
async fn stream_to_file(
    mut resp: Streaming,
    deadline: &mut Deadline<'_>,
    path: &std::path::Path,
    what: &str,
) -> Result<u64, (Error, bool)> {
    use tokio::io::AsyncWriteExt as _;
    let status = resp.status().as_u16();
    let io = |e: std::io::Error| {
        (
            Error::new(
                ErrorKind::Io,
                format!("{what}: writing the body to {}", path.display()),
            )
            .with_source(e),
            true,
        )
    };
    let mut file = tokio::fs::File::create(path).await.map_err(io)?;
    let mut written: u64 = 0;
    while let Some(chunk) = next_chunk(&mut resp, deadline, what)
        .await
        .map_err(|err| (err.with_status(status), true))?
    {
        file.write_all(&chunk).await.map_err(io)?;
        written = written.saturating_add(chunk.len() as u64);
    }
    file.flush().await.map_err(io)?;
    file.sync_all().await.map_err(io)?;
    Ok(written)
}

/// The next chunk of the body of `resp` (`None` at its end), a timeout
/// once `deadline` has passed.
async fn next_chunk(
    resp: &mut Streaming,
    deadline: &mut Deadline<'_>,
    what: &str,
) -> Result<Option<Bytes>, Error> {
    let what = format!("{what}: reading the body");
    match deadline.within(transport::next_chunk(resp, &what)).await {
        Ok(chunk) => chunk,
        Err(elapsed) => Err(timed_out(elapsed, &what).0),
    }
}

/// The body of `resp`, refused as soon as it is known to be longer than
/// `cap` bytes: from `Content-Length` before reading, or from the chunks
/// received so far, so no more than `cap` bytes are ever buffered; a
/// timeout once `deadline` has passed. Read into `body` (cleared first).
async fn read_capped(
    mut resp: Streaming,
    deadline: &mut Deadline<'_>,
    cap: usize,
    what: &str,
    mut body: Vec<u8>,
) -> Result<Bytes, Error> {
    let too_large = |seen: String| {
        Error::new(
            ErrorKind::TooLarge,
            format!(
                "{what}: the response body is larger than the {cap}-byte cap ({seen}); \
                 raise max_body_bytes if such answers are expected"
            ),
        )
    };
    let declared = transport::content_length(&resp);
    if let Some(len) = declared
        && len > cap as u64
    {
        return Err(too_large(format!("Content-Length {len}")));
    }
    body.clear();
    body.reserve_exact(declared.map_or(0, |l| l as usize));
    while let Some(chunk) = next_chunk(&mut resp, deadline, what).await? {
        if chunk.len() > cap - body.len() {
            return Err(too_large(format!("more than {cap} bytes received")));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(Bytes::from(body))
}

struct Failure {
    err: Error,
    retryable: bool,
    retry_after: Option<Duration>,
}

fn host_key(url: &Url) -> String {
    format!(
        "{}:{}",
        url.host_str().unwrap_or_default(),
        url.port_or_known_default().unwrap_or_default()
    )
}

fn record_health(inner: &Inner, host: &str, healthy: bool) {
    if let Some(b) = &inner.breakers {
        b.record(host, healthy);
    }
}

/// The `method` label of the runtime's metrics: a static name, so labelling
/// a request allocates nothing (`OTHER` for an extension method).
fn method_label(method: &Method) -> &'static str {
    match *method {
        Method::GET => "GET",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::PATCH => "PATCH",
        Method::DELETE => "DELETE",
        Method::HEAD => "HEAD",
        Method::OPTIONS => "OPTIONS",
        _ => "OTHER",
    }
}

/// The `status` label: a static name for the statuses the API answers
/// (no allocation per request), the number as text otherwise.
fn status_label(status: u16) -> metrics::SharedString {
    let name = match status {
        0 => "0",
        200 => "200",
        201 => "201",
        202 => "202",
        204 => "204",
        304 => "304",
        400 => "400",
        401 => "401",
        403 => "403",
        404 => "404",
        408 => "408",
        409 => "409",
        412 => "412",
        422 => "422",
        429 => "429",
        500 => "500",
        502 => "502",
        503 => "503",
        504 => "504",
        _ => return status.to_string().into(),
    };
    name.into()
}

fn finish_metrics(method: &'static str, status: u16, started: Instant) {
    metrics::counter!(
        "cx_http_requests_total",
        "method" => method,
        "status" => status_label(status)
    )
    .increment(1);
    metrics::histogram!("cx_http_request_duration_seconds", "method" => method)
        .record(started.elapsed().as_secs_f64());
}

/// Parse `value`, the setting `field`, as an absolute http(s) URL.
pub(crate) fn parse_base_url(field: &str, value: &str) -> Result<Url, Error> {
    match Url::parse(value) {
        Ok(u) if matches!(u.scheme(), "http" | "https") && u.has_host() => Ok(u),
        _ => Err(Error::new(
            ErrorKind::Builder,
            format!(
                "invalid `{field}` {:?}: must be an absolute http(s) URL",
                crate::escape(value)
            ),
        )),
    }
}

/// The error for a request that would have sent credentials to `url`'s
/// origin, which is not the configured one.
fn foreign_origin(url: &Url, what: &str) -> Error {
    Error::new(
        ErrorKind::ForeignOrigin,
        format!(
            "refused to follow a {what} to {}: credentials are only sent to the configured origin",
            origin_of(url)
        ),
    )
}

fn deadline_error(attempts: u32, started: Instant) -> Error {
    Error::new(ErrorKind::Timeout, "total deadline exceeded")
        .with_attempts(attempts, started.elapsed())
}

/// An attempt that ran out of time while `what`; it may have reached the
/// server (`sent`).
fn timed_out(elapsed: Elapsed, what: &str) -> (Error, bool) {
    (
        Error::new(ErrorKind::Timeout, format!("{what}: timed out")).with_source(elapsed),
        true,
    )
}

fn status_error(
    method: &Method,
    url: &Url,
    resp: Response,
    retry_after: Option<Duration>,
) -> Error {
    let body = serde_json::from_slice::<serde_json::Value>(&resp.body).ok();
    Error::new(ErrorKind::Status, format!("{method} {} failed", url.path()))
        .with_status(resp.status)
        .with_request_id(resp.request_id().map(str::to_owned))
        .with_body(body)
        .with_retry_after(retry_after)
}

/// A successful (status < 400) response, body fully read.
#[derive(Debug, Clone)]
pub struct Response {
    status: u16,
    headers: HeaderMap,
    body: Bytes,
    attempts: u32,
    elapsed: Duration,
    streamed_bytes: u64,
}

impl Response {
    /// Bytes written to the file of [`RequestBuilder::send_to_file`] (0 for
    /// a body read into memory).
    pub fn streamed_bytes(&self) -> u64 {
        self.streamed_bytes
    }

    /// HTTP status.
    pub fn status(&self) -> u16 {
        self.status
    }

    /// All headers.
    pub fn headers(&self) -> &HeaderMap {
        &self.headers
    }

    /// One header as text, if present and valid.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// The `ETag` header (seed 002's optimistic locking).
    pub fn etag(&self) -> Option<&str> {
        self.header("etag")
    }

    /// The server's request id (`x-request-id` or `x-correlation-id`).
    pub fn request_id(&self) -> Option<&str> {
        self.header("x-request-id")
            .or_else(|| self.header("x-correlation-id"))
    }

    /// The server's `Retry-After`, parsed (uncapped); `None` if absent or invalid.
    pub fn retry_after(&self) -> Option<Duration> {
        self.header("retry-after")
            .and_then(|v| parse_retry_after(v, SystemTime::now()))
    }

    /// The raw body.
    pub fn body(&self) -> &Bytes {
        &self.body
    }

    /// Attempts this call took (1 when the first succeeded).
    pub fn attempts(&self) -> u32 {
        self.attempts
    }

    /// Wall time of the whole call, retries included.
    pub fn elapsed(&self) -> Duration {
        self.elapsed
    }

    /// Decode the body as JSON.
    ///
    /// # Errors
    /// [`ErrorKind::Decode`] naming the JSON path that failed.
    pub fn json<T: DeserializeOwned>(&self) -> Result<T, Error> {
        serde_json::from_slice(&self.body).map_err(|e| {
            Error::new(
                ErrorKind::Decode,
                format!(
                    "response body is not the expected JSON (line {}, column {})",
                    e.line(),
                    e.column()
                ),
            )
            .with_status(self.status)
            .with_source(e)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::status_label;

    #[test]
    fn a_status_label_is_the_status_as_text() {
        for status in 0..=u16::MAX {
            assert_eq!(&*status_label(status), status.to_string());
        }
    }
}
