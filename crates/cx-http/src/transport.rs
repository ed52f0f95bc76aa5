//! The connection layer under [`Client`](crate::Client): hyper-util's
//! pooled HTTP/1.1 client (the one reqwest wraps), rustls with the
//! platform's certificate verifier, and tower-http's redirect follower
//! limited to same-origin redirects.
//!
//! cx-http uses hyper-util directly, not through reqwest, for one setting
//! reqwest does not expose: the bound on a connection's read buffer
//! ([`READ_BUFFER_BYTES`]). Everything else reqwest adds (timeouts,
//! retries, body limits, JSON) the runtime does itself. See
//! ARCHITECTURE.md, "The transport".

use std::time::Duration;

use bytes::Bytes;
use http::{HeaderValue, Method, Request, Uri};
use http_body_util::{BodyExt as _, Full};
use hyper::body::Incoming;
use hyper_rustls::{HttpsConnector, HttpsConnectorBuilder};
use hyper_util::client::legacy::Client as Pool;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::{TokioExecutor, TokioTimer};
use tower::ServiceExt as _;
use tower_http::follow_redirect::FollowRedirect;
use tower_http::follow_redirect::policy::{Action, Attempt, Limited, Policy};
use url::Url;

use crate::error::{Error, ErrorKind};
use crate::path::same_origin;

/// The most bytes a connection reads from its socket at once (hyper's
/// `max_buf_size`; its default is 400 KiB). Below glibc's 128 KiB mmap
/// threshold, so the read buffers of large bodies (history pages) are
/// recycled by the allocator instead of raising that threshold and
/// fragmenting the heaps, which made peak RSS creep with the number of
/// pages read (issue 13). A response head (status line and headers) that
/// does not fit in it is refused as [`ErrorKind::Decode`].
pub(crate) const READ_BUFFER_BYTES: usize = 64 * 1024;

/// Idle pooled connections are closed after this long (reqwest's default).
const POOL_IDLE_TIMEOUT: Duration = Duration::from_secs(90);

/// The most redirects one request follows.
const MAX_REDIRECTS: usize = 5;

/// A response whose body is still to be read.
pub(crate) type Streaming = http::Response<Incoming>;

/// The pooled HTTP client of one [`Client`](crate::Client).
#[derive(Clone)]
pub(crate) struct Transport {
    service: FollowRedirect<Pool<HttpsConnector<HttpConnector>, Full<Bytes>>, Redirects>,
    user_agent: HeaderValue,
}

/// What [`Transport::new`] needs from the runtime's configuration.
pub(crate) struct Settings<'a> {
    pub(crate) user_agent: &'a str,
    pub(crate) connect_timeout: Duration,
    pub(crate) pool_max_idle_per_host: usize,
}

impl Transport {
    /// A client with its own connection pool.
    ///
    /// # Errors
    /// [`ErrorKind::InvalidInput`] naming `user_agent` when it is not a
    /// valid header value; [`ErrorKind::Builder`] when the platform's
    /// certificate verifier cannot be set up.
    pub(crate) fn new(settings: &Settings<'_>) -> Result<Self, Error> {
        let user_agent = HeaderValue::from_str(settings.user_agent)
            .map_err(|_| Error::invalid_input("user_agent", "not a valid HTTP header value"))?;
        let mut tcp = HttpConnector::new();
        tcp.enforce_http(false);
        tcp.set_nodelay(true);
        tcp.set_connect_timeout(Some(settings.connect_timeout));
        let https = HttpsConnectorBuilder::new()
            .try_with_platform_verifier()
            .map_err(|e| {
                Error::new(
                    ErrorKind::Builder,
                    "cannot set up TLS with the platform's certificate verifier",
                )
                .with_source(e)
            })?
            .https_or_http()
            .enable_http1()
            .wrap_connector(tcp);
        let pool = Pool::builder(TokioExecutor::new())
            .pool_timer(TokioTimer::new())
            .pool_idle_timeout(POOL_IDLE_TIMEOUT)
            .pool_max_idle_per_host(settings.pool_max_idle_per_host)
            .http1_max_buf_size(READ_BUFFER_BYTES)
            .build(https);
        Ok(Self {
            service: FollowRedirect::with_policy(pool, Redirects::default()),
            user_agent,
        })
    }

    /// Send `request` to `url`, following same-origin redirects; the
    /// response once its headers are in (a redirect that was not followed
    /// is returned as is). `Err((error, sent))`: `sent` is false when the
    /// request certainly never reached the server (connect failure).
    pub(crate) async fn send(
        &self,
        method: Method,
        url: &Url,
        mut headers: http::HeaderMap,
        body: Bytes,
        what: &str,
    ) -> Result<Streaming, (Error, bool)> {
        // Without the fragment, which is never sent.
        let uri = Uri::try_from(&url[..url::Position::AfterQuery]).map_err(|e| {
            (
                Error::new(
                    ErrorKind::Builder,
                    format!("{what}: not a valid request URI"),
                )
                .with_source(e),
                false,
            )
        })?;
        // The default headers reqwest sent, so a server sees what it did.
        headers
            .entry(http::header::USER_AGENT)
            .or_insert_with(|| self.user_agent.clone());
        headers
            .entry(http::header::ACCEPT)
            .or_insert(HeaderValue::from_static("*/*"));
        let mut request = Request::new(Full::new(body));
        *request.method_mut() = method;
        *request.uri_mut() = uri;
        *request.headers_mut() = headers;
        self.service
            .clone()
            .oneshot(request)
            .await
            .map_err(|e| send_error(e, what))
    }
}

/// The next chunk of the body of `response` (`None` at its end); trailers
/// are skipped.
///
/// # Errors
/// [`ErrorKind::Connect`] ("connection broken") when the connection fails
/// mid-body.
pub(crate) async fn next_chunk(
    response: &mut Streaming,
    what: &str,
) -> Result<Option<Bytes>, Error> {
    loop {
        match response.body_mut().frame().await {
            None => return Ok(None),
            Some(Ok(frame)) => {
                if let Ok(data) = frame.into_data() {
                    return Ok(Some(data));
                }
            }
            Some(Err(e)) => {
                return Err(
                    Error::new(ErrorKind::Connect, format!("{what}: connection broken"))
                        .with_source(e),
                );
            }
        }
    }
}

/// The declared length of the body of `response`, if any.
pub(crate) fn content_length(response: &Streaming) -> Option<u64> {
    hyper::body::Body::size_hint(response.body()).exact()
}

/// A failed send as an attempt's error: a timeout while connecting is
/// [`ErrorKind::Timeout`], another connect failure [`ErrorKind::Connect`]
/// (nothing sent), a response head that is not valid HTTP/1.1 or does not
/// fit [`READ_BUFFER_BYTES`] [`ErrorKind::Decode`] (not retried: the
/// server would send it again), any other failure a broken connection
/// (maybe sent).
fn send_error(e: hyper_util::client::legacy::Error, what: &str) -> (Error, bool) {
    let sent = !e.is_connect();
    let causes = || {
        std::iter::successors(Some(&e as &(dyn std::error::Error + 'static)), |e| {
            e.source()
        })
    };
    let timed_out = causes().any(|cause| {
        cause
            .downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::TimedOut)
    });
    // hyper names a head too large for the buffer only with its `server`
    // feature; either way it is a parse error.
    let bad_head = causes().any(|cause| {
        cause
            .downcast_ref::<hyper::Error>()
            .is_some_and(hyper::Error::is_parse)
    });
    let (kind, msg) = if timed_out {
        (ErrorKind::Timeout, format!("{what}: timed out"))
    } else if bad_head {
        (
            ErrorKind::Decode,
            format!(
                "{what}: the response's status line and headers are not valid HTTP/1.1 \
                 or do not fit the {} KiB read buffer",
                READ_BUFFER_BYTES / 1024
            ),
        )
    } else if sent {
        (ErrorKind::Connect, format!("{what}: connection broken"))
    } else {
        (ErrorKind::Connect, format!("{what}: connection failed"))
    };
    (Error::new(kind, msg).with_source(e), sent)
}

/// Follows at most [`MAX_REDIRECTS`] redirects, and only within one
/// origin: a redirect to another host would carry the request's
/// credentials there. A 307/308 replays the request's body.
#[derive(Clone, Copy)]
struct Redirects {
    limit: Limited,
}

impl Default for Redirects {
    fn default() -> Self {
        Self {
            limit: Limited::new(MAX_REDIRECTS),
        }
    }
}

impl<E> Policy<Full<Bytes>, E> for Redirects {
    fn redirect(&mut self, attempt: &Attempt<'_>) -> Result<Action, E> {
        // The runtime's one notion of an origin (`path::same_origin`, on
        // parsed URLs: host case and default ports normalised), so a
        // redirect is followed exactly when the token may go along.
        let url = |uri: &Uri| Url::parse(&uri.to_string()).ok();
        match (url(attempt.previous()), url(attempt.location())) {
            (Some(from), Some(to)) if same_origin(&from, &to) => {
                Policy::<Full<Bytes>, E>::redirect(&mut self.limit, attempt)
            }
            _ => Ok(Action::Stop),
        }
    }

    fn clone_body(&self, body: &Full<Bytes>) -> Option<Full<Bytes>> {
        Some(body.clone())
    }
}
