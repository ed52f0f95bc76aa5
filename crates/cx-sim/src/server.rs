//! The accept loop and the outer request layer.
//!
//! The simulator runs its own accept loop over hyper's HTTP/1 connection
//! driver (instead of `axum::serve`) so that it can damage connections:
//! for every request outside `/_sim/` the outer layer
//!
//! 1. picks a fault ([`crate::faults`]),
//! 2. for `ConnectionReset`, returns an error to hyper (which drops the
//!    connection without a response) after arming `SO_LINGER = 0` on the
//!    socket, so the close is a TCP RST;
//! 3. for `Status`, answers without running the handler; for `Latency`,
//!    sleeps first;
//! 4. buffers the request body (at most [`MAX_BODY_BYTES`]) and runs the
//!    axum router;
//! 5. for `StatusAfterProcessing`, `TruncatedBody`, `StallBody`,
//!    `TamperIdToken` and `ReportStatus`, rewrites the handler's response;
//! 6. records a [`crate::JournalEntry`] with the status actually sent.

use std::convert::Infallible;
use std::fmt;
use std::future::Future;
use std::io;
use std::panic::AssertUnwindSafe;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::http::{HeaderMap, HeaderValue, Request, Response, StatusCode, header};
use axum::response::IntoResponse;
use bytes::Bytes;
use futures::{FutureExt as _, StreamExt as _};
use hyper::body::{Body as _, Incoming};
use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
use serde_json::json;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tower::ServiceExt as _;

use crate::auth::bearer_token;
use crate::faults::Fault;
use crate::journal::{Record, RequestId};
use crate::state::AppState;
use crate::wire::{ApiError, FieldError, JournalCtx, header_lossy, header_str};

/// Largest request body accepted, in bytes (larger → 413).
pub(crate) const MAX_BODY_BYTES: usize = 2 * 1024 * 1024;

/// How long a truncated body waits after its partial chunk before aborting,
/// so hyper flushes the head and the partial bytes first (ms).
const TRUNCATE_FLUSH_MS: u64 = 25;

/// Runs the accept loop until `shutdown` changes or its sender is dropped.
pub(crate) async fn serve(
    listener: TcpListener,
    state: AppState,
    router: Router,
    mut shutdown: watch::Receiver<bool>,
) {
    loop {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _peer)) => {
                    let conn = Connection {
                        state: Arc::clone(&state),
                        router: router.clone(),
                    };
                    tokio::spawn(conn.run(stream, shutdown.clone()));
                }
                Err(err) => {
                    // Usually EMFILE/ECONNABORTED: back off briefly and go on.
                    tracing::warn!(%err, "accept failed");
                    tokio::time::sleep(Duration::from_millis(10)).await;
                }
            },
            _ = shutdown.changed() => break,
        }
    }
    tracing::info!("cx-sim accept loop stopped");
}

struct Connection {
    state: AppState,
    router: Router,
}

impl Connection {
    async fn run(self, stream: TcpStream, mut shutdown: watch::Receiver<bool>) {
        if let Err(err) = stream.set_nodelay(true) {
            tracing::debug!(%err, "set_nodelay failed");
        }
        let reset = Arc::new(AtomicBool::new(false));
        let io = TokioIo::new(SimIo {
            stream,
            reset: Arc::clone(&reset),
        });
        let state = self.state;
        let router = self.router;
        let svc = service_fn(move |req| {
            let handled = AssertUnwindSafe(handle(
                Arc::clone(&state),
                router.clone(),
                Arc::clone(&reset),
                req,
            ))
            .catch_unwind()
            .map(recover);
            Detached::new(handled)
        });
        let conn = hyper::server::conn::http1::Builder::new()
            .timer(TokioTimer::new())
            .keep_alive(true)
            .serve_connection(io, svc);
        tokio::select! {
            res = conn => {
                if let Err(err) = res {
                    tracing::debug!(%err, "connection ended with an error");
                }
            }
            _ = shutdown.changed() => {}
        }
    }
}

/// A request's answer, or 500 `internal_error` when its handler panicked.
fn recover(
    outcome: std::thread::Result<Result<Response<Body>, InjectedReset>>,
) -> Result<Response<Body>, InjectedReset> {
    outcome.unwrap_or_else(|_panic| {
        tracing::error!("request handler panicked");
        Ok(ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal_error",
            "the simulator failed to handle this request",
        )
        .into_response())
    })
}

/// A request's future, run on its connection's task (no task per request);
/// when hyper drops it unfinished, because the client gave up, the rest
/// runs in a task of its own, so the request still finishes (and is
/// journaled, and its mutation happens), as on a real server.
struct Detached<F: Future + Send + 'static>
where
    F::Output: Send,
{
    /// `None` once finished.
    fut: Option<Pin<Box<F>>>,
}

impl<F: Future + Send + 'static> Detached<F>
where
    F::Output: Send,
{
    fn new(fut: F) -> Self {
        Self {
            fut: Some(Box::pin(fut)),
        }
    }
}

impl<F: Future + Send + 'static> Future for Detached<F>
where
    F::Output: Send,
{
    type Output = F::Output;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        let Some(fut) = self.fut.as_mut() else {
            // Polled again after finishing: nothing more will come.
            return Poll::Pending;
        };
        let out = std::task::ready!(fut.as_mut().poll(cx));
        self.fut = None;
        Poll::Ready(out)
    }
}

impl<F: Future + Send + 'static> Drop for Detached<F>
where
    F::Output: Send,
{
    fn drop(&mut self) {
        if let Some(fut) = self.fut.take()
            && let Ok(runtime) = tokio::runtime::Handle::try_current()
        {
            runtime.spawn(fut);
        }
    }
}

/// The TCP stream, closing with a reset when a `ConnectionReset` fault
/// armed it.
struct SimIo {
    stream: TcpStream,
    reset: Arc<AtomicBool>,
}

impl Drop for SimIo {
    fn drop(&mut self) {
        if self.reset.load(Ordering::Acquire)
            && let Err(err) = self.stream.set_zero_linger()
        {
            tracing::debug!(%err, "could not arm SO_LINGER for reset");
        }
    }
}

impl AsyncRead for SimIo {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_read(cx, buf)
    }
}

impl AsyncWrite for SimIo {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.stream).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.stream).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }
}

/// The error that makes hyper drop a connection without answering.
#[derive(Debug)]
struct InjectedReset;

impl fmt::Display for InjectedReset {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("injected connection reset")
    }
}

impl std::error::Error for InjectedReset {}

/// What the journal needs to know about a request, captured up front.
struct RequestMeta {
    record: Record,
}

impl RequestMeta {
    fn new(state: &AppState, req: &Request<Incoming>) -> Self {
        let headers = req.headers();
        let (tenant, client_id) = bearer_token(headers)
            .and_then(|t| state.tokens.peek(t))
            .map_or((None, None), |(t, c)| (Some(t), Some(c)));
        let text = |name: &header::HeaderName| header_str(headers, name).map(Box::from);
        Self {
            record: Record {
                method: req.method().clone(),
                path: req.uri().path().into(),
                query: req.uri().query().map(Box::from),
                status: 0,
                tenant,
                client_id,
                idempotency_key: text(&header::HeaderName::from_static("idempotency-key")),
                if_match: header_lossy(headers, &header::IF_MATCH).map(Box::from),
                fault: None,
                grant_type: None,
                at_ms: state.clock.now_ms(),
                body_len: 0,
                request_id: RequestId::random(),
            },
        }
    }

    /// Send the request id back as `x-request-id`, as CXone does.
    fn stamp(&self, resp: &mut Response<Body>) {
        if let Ok(v) = HeaderValue::from_bytes(&self.record.request_id.encode()) {
            resp.headers_mut()
                .insert(header::HeaderName::from_static("x-request-id"), v);
        }
    }

    /// Answers `err` without routing: stamped, and journaled with its
    /// status.
    fn refuse(self, state: &AppState, err: ApiError) -> Response<Body> {
        let mut resp = err.into_response();
        self.stamp(&mut resp);
        self.record(state, resp.status().as_u16(), None, 0);
        resp
    }

    fn record(self, state: &AppState, status: u16, fault: Option<&Fault>, body_len: usize) {
        let mut record = self.record;
        tracing::debug!(method = %record.method, path = %record.path, status, fault = ?fault, "request");
        record.status = status;
        record.fault = fault.map(Fault::label);
        record.body_len = body_len;
        state.journal.record(record);
    }
}

/// The first path segment that, percent-decoded, is `.`/`..` or carries
/// `/`, `\\` or a control character: ids that would traverse paths. CXone
/// ids never look like that, so the simulator refuses them (400) the way the
/// client refuses to send them.
fn hostile_segment(path: &str) -> Option<String> {
    path.split('/').skip(1).find_map(|raw| {
        // Fast path for the usual segment: plain ASCII, nothing escaped.
        let plain = raw != "."
            && raw != ".."
            && raw
                .bytes()
                .all(|b| b.is_ascii() && !b.is_ascii_control() && b != b'%' && b != b'\\');
        if plain {
            return None;
        }
        let seg = percent_encoding::percent_decode_str(raw).decode_utf8_lossy();
        let bad = seg == "."
            || seg == ".."
            || seg.contains('/')
            || seg.contains('\\')
            || seg.chars().any(char::is_control);
        bad.then(|| seg.escape_debug().to_string())
    })
}

fn is_admin(path: &str) -> bool {
    path == "/_sim" || path.starts_with("/_sim/")
}

fn content_length(headers: &HeaderMap) -> Option<usize> {
    header_str(headers, &header::CONTENT_LENGTH).and_then(|v| v.trim().parse().ok())
}

/// The outer layer: faults, body buffering, routing, journaling.
async fn handle(
    state: AppState,
    router: Router,
    reset: Arc<AtomicBool>,
    req: Request<Incoming>,
) -> Result<Response<Body>, InjectedReset> {
    if let Some(seg) = hostile_segment(req.uri().path()) {
        let err = ApiError::invalid_parameter(vec![FieldError::new(
            "path",
            "segment",
            format!(
                "path segment \"{seg}\" is not a valid id (`.`, `..`, `/`, `\\` or a control character)"
            ),
        )]);
        return Ok(RequestMeta::new(&state, &req).refuse(&state, err));
    }
    if is_admin(req.uri().path()) {
        let resp = router.oneshot(req.map(Body::new)).await;
        return Ok(resp.unwrap_or_else(|never: Infallible| match never {}));
    }

    let mut meta = RequestMeta::new(&state, &req);
    let fault = state
        .faults
        .pick(meta.record.method.as_str(), &meta.record.path);

    match &fault {
        Some(Fault::ConnectionReset) => {
            reset.store(true, Ordering::Release);
            let len = content_length(req.headers()).unwrap_or(0);
            meta.record(&state, 0, fault.as_ref(), len);
            return Err(InjectedReset);
        }
        Some(Fault::Latency { ms }) if *ms > 0 => {
            tokio::time::sleep(Duration::from_millis(*ms)).await;
        }
        _ => {}
    }

    // Buffer the body: needed for body_len and cheap at simulator sizes.
    let (parts, body) = req.into_parts();
    if content_length(&parts.headers).is_some_and(|n| n > MAX_BODY_BYTES) {
        let err = ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload_too_large",
            format!("request bodies are limited to {MAX_BODY_BYTES} bytes"),
        );
        return Ok(meta.refuse(&state, err));
    }
    let bytes = if body.is_end_stream() {
        // No body (a GET): nothing to buffer.
        Bytes::new()
    } else {
        match axum::body::to_bytes(Body::new(body), MAX_BODY_BYTES).await {
            Ok(b) => b,
            Err(err) => {
                let err = ApiError::new(
                    StatusCode::BAD_REQUEST,
                    "invalid_request",
                    format!("could not read request body: {err}"),
                );
                return Ok(meta.refuse(&state, err));
            }
        }
    };
    let body_len = bytes.len();

    if let Some(Fault::Status {
        status,
        retry_after,
    }) = &fault
    {
        let mut resp = injected(*status);
        if let Some(ra) = retry_after
            && let Ok(v) = HeaderValue::from_str(&ra.header_value())
        {
            resp.headers_mut().insert(header::RETRY_AFTER, v);
        }
        let sent = resp.status().as_u16();
        meta.stamp(&mut resp);
        meta.record(&state, sent, fault.as_ref(), body_len);
        return Ok(resp);
    }

    let body = if bytes.is_empty() {
        Body::empty()
    } else {
        Body::from(bytes)
    };
    let req = Request::from_parts(parts, body);
    let mut resp = router
        .oneshot(req)
        .await
        .unwrap_or_else(|never: Infallible| match never {});
    if let Some(ctx) = resp.extensions_mut().remove::<JournalCtx>() {
        let record = &mut meta.record;
        if let Some(tenant) = ctx.tenant {
            record.tenant = Some(tenant.into());
        }
        if let Some(client_id) = ctx.client_id {
            record.client_id = Some(client_id.into());
        }
        record.grant_type = ctx.grant_type.map(Box::from);
    }

    let mut resp = match &fault {
        Some(Fault::StatusAfterProcessing { status }) => injected(*status),
        Some(Fault::TruncatedBody) => truncate(resp).await,
        Some(Fault::StallBody { ms }) => stall(resp, *ms).await,
        Some(Fault::TamperIdToken) => tamper_id_token(resp).await,
        Some(Fault::ReportStatus { value }) => report_status(resp, value).await,
        _ => resp,
    };
    meta.stamp(&mut resp);
    meta.record(&state, resp.status().as_u16(), fault.as_ref(), body_len);
    Ok(resp)
}

/// `{"error": "injected_fault", "status": N}` with status N (500 when N is
/// not a valid final status code, i.e. outside 200..=999).
fn injected(status: u16) -> Response<Body> {
    let code = StatusCode::from_u16(status)
        .ok()
        .filter(|c| c.as_u16() >= 200)
        .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    crate::wire::json_response(
        code,
        &json!({ "error": "injected_fault", "status": code.as_u16() }),
    )
}

/// Sends the head with the full `Content-Length`, half the body, then
/// aborts the connection.
async fn truncate(resp: Response<Body>) -> Response<Body> {
    let (mut parts, body) = resp.into_parts();
    let bytes = axum::body::to_bytes(body, usize::MAX)
        .await
        .unwrap_or_default();
    let declared = bytes.len().max(1);
    let partial = bytes.slice(..bytes.len() / 2);
    parts
        .headers
        .insert(header::CONTENT_LENGTH, HeaderValue::from(declared));
    let first = futures::stream::iter([Ok::<Bytes, io::Error>(partial)]);
    let abort = futures::stream::once(async {
        tokio::time::sleep(Duration::from_millis(TRUNCATE_FLUSH_MS)).await;
        Err(io::Error::other("injected truncated body"))
    });
    Response::from_parts(parts, Body::from_stream(first.chain(abort)))
}

/// Replaces the `id_token` of a JSON answer by one whose claims say another
/// `tenantId` but whose signature is the original's.
async fn tamper_id_token(resp: Response<Body>) -> Response<Body> {
    use base64::Engine as _;
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    rewrite_json(resp, |doc| {
        let token = doc.get("id_token")?.as_str()?.to_owned();
        let mut pieces = token.splitn(3, '.');
        let (head, claims, sig) = (pieces.next()?, pieces.next()?, pieces.next()?);
        let mut claims: serde_json::Value =
            serde_json::from_slice(&b64.decode(claims).ok()?).ok()?;
        claims["tenantId"] = json!("00000000-0000-4000-8000-000000000000");
        let claims = b64.encode(serde_json::to_vec(&claims).ok()?);
        doc["id_token"] = json!(format!("{head}.{claims}.{sig}"));
        Some(())
    })
    .await
}

/// Sets the top-level `status` of a JSON object body to `value`.
async fn report_status(resp: Response<Body>, value: &str) -> Response<Body> {
    rewrite_json(resp, |doc| {
        doc.as_object_mut()?
            .insert("status".to_owned(), json!(value));
        Some(())
    })
    .await
}

/// The handler's JSON answer changed by `edit`; an answer that is not JSON,
/// or that `edit` declines (`None`), passes unchanged.
async fn rewrite_json(
    resp: Response<Body>,
    edit: impl FnOnce(&mut serde_json::Value) -> Option<()>,
) -> Response<Body> {
    let (mut parts, body) = resp.into_parts();
    let bytes = axum::body::to_bytes(body, usize::MAX)
        .await
        .unwrap_or_default();
    let bytes = serde_json::from_slice::<serde_json::Value>(&bytes)
        .ok()
        .and_then(|mut doc| {
            edit(&mut doc)?;
            serde_json::to_vec(&doc).ok()
        })
        .map_or(bytes, Bytes::from);
    parts
        .headers
        .insert(header::CONTENT_LENGTH, HeaderValue::from(bytes.len()));
    Response::from_parts(parts, Body::from(bytes))
}

/// Sends the head, waits `ms`, then sends the body.
async fn stall(resp: Response<Body>, ms: u64) -> Response<Body> {
    let (mut parts, body) = resp.into_parts();
    let bytes = axum::body::to_bytes(body, usize::MAX)
        .await
        .unwrap_or_default();
    parts
        .headers
        .insert(header::CONTENT_LENGTH, HeaderValue::from(bytes.len()));
    let delayed = futures::stream::once(async move {
        tokio::time::sleep(Duration::from_millis(ms)).await;
        Ok::<Bytes, io::Error>(bytes)
    });
    Response::from_parts(parts, Body::from_stream(delayed))
}
