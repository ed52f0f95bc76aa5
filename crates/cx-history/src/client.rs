//! [`Client`]: the interaction-history API of one tenant, on top of a
//! [`cx_http::Client`].
//!
//! Retrieval (seed 003 step 2) is a `Stream` of offset/limit pages of
//! `POST /api/v2/interactions/history/query`: the first page alone (it
//! tells `totalCount`), then up to [`Config::max_in_flight`] pages at once
//! (default 5, the seed's concurrent-request quota), yielded in offset
//! order; it stops on an empty or short page, or when `totalCount` is
//! reached. A page longer than the limit is an error: the next page would
//! overlap it and its interactions be counted twice. At most
//! `max_in_flight` pages are held at a time, however many records the
//! query returns. The query is a read, so it is sent as an
//! idempotent POST: the runtime retries 429 (honouring `Retry-After`) and
//! 5xx.
//!
//! Each page request runs as a task of the current tokio runtime, so the
//! pages in flight are read while the consumer works on an earlier one;
//! dropping the stream aborts them. Each page's body is read into a buffer
//! reused from page to page (about `max_in_flight` buffers a query,
//! whatever its length: fresh ~2 MB bodies made the peak RSS grow with the
//! number of pages), split into its interactions' bytes (one scan, no
//! copy) and decoded as consumed (issue 13): [`Client::pages`] into owned
//! [`Interaction`]s, [`ReportBuilder::send`] in place, borrowing from the
//! body, with no owned interaction built. No further read-ahead: it added
//! pages held (peak RSS) without adding throughput in the history bench.

use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use cx_audit::{AuditRecord, AuditSink, EventType};
use cx_http::paginate::{OffsetPage, offset_pages};
use futures::future::Either;
use futures::stream::{self, Stream, StreamExt, TryStreamExt};
use serde_json::{Value, json};
use tracing::Instrument as _;

use crate::analyze::PathAnalyzer;
use crate::config::Config;
use crate::error::{Error, ErrorKind, HistoryKind, from_http};
use crate::query::HistoryQuery;
use crate::real::AbortOnDrop;
use crate::report::{ComplianceStatus, HistoryReport, WebhookDelivery};
use crate::types::Interaction;
use crate::wire::{InteractionRef, PageBuffers, split_page};

/// What the errors of retrieval say was being done.
const QUERYING: &str = "querying interaction history";

/// The history query endpoint (seed 003).
pub const QUERY_PATH: &str = "/api/v2/interactions/history/query";

/// Audit event of a finished query (seed 003 step 4).
pub const HISTORY_QUERY_COMPLETED: EventType = EventType::from_static("HISTORY_QUERY_COMPLETED");

/// Audit event of a completion webhook that failed after retries.
pub const HISTORY_WEBHOOK_FAILED: EventType = EventType::from_static("HISTORY_WEBHOOK_FAILED");

/// One page of results.
#[derive(Debug, Clone, PartialEq)]
pub struct Page {
    /// Offset of the first interaction of the page.
    pub offset: u64,
    /// The API's `totalCount`, when it sent one.
    pub total: Option<u64>,
    /// The interactions.
    pub interactions: Vec<Interaction>,
}

/// Retrieval progress, reported after each page.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Progress {
    /// Interactions retrieved so far.
    pub records: u64,
    /// Steps retrieved so far.
    pub steps: u64,
    /// `totalCount` of the query, when known.
    pub total: Option<u64>,
    /// Since the first request.
    pub elapsed: Duration,
}

/// The interaction-history API of one tenant. Cheap to clone.
#[derive(Clone)]
pub struct Client {
    http: cx_http::Client,
    config: Arc<Config>,
    audit: Option<Arc<dyn AuditSink>>,
}

cx_http::service_client! {
    impl Client {
        config: Config,
        sink: dyn AuditSink,
        /// Write `HISTORY_QUERY_COMPLETED` (and `HISTORY_WEBHOOK_FAILED`)
        /// records to `sink`. A failing sink is reported
        /// ([`ErrorKind::Audit`]), never ignored.
        fn with_audit;
    }
}

impl Client {
    /// A client sending through `http` (build it with
    /// `cx_auth::Tenant::connect` for an authenticated one).
    pub fn new(http: cx_http::Client, config: Config) -> Self {
        Self {
            http,
            config: Arc::new(config),
            audit: None,
        }
    }

    /// The pages of `query` (seed 003 step 2), in offset order; see the
    /// module docs for concurrency and memory.
    ///
    /// # Errors
    /// Yields the first failed page's error and ends:
    /// [`ErrorKind::InvalidRequest`] (400), [`ErrorKind::PermissionDenied`],
    /// [`ErrorKind::RateLimited`] (429 after retries), [`ErrorKind::Transport`],
    /// [`ErrorKind::Pagination`] at the page limit, [`ErrorKind::Api`] (other
    /// statuses, bad bodies, a page with more interactions than the limit).
    pub fn pages(
        &self,
        query: &HistoryQuery,
    ) -> impl Stream<Item = Result<Page, Error>> + Send + 'static {
        self.raw_pages(query).map(|page| {
            let page = page?;
            let interactions = page
                .items
                .iter()
                .enumerate()
                .map(|(i, raw)| {
                    serde_json::from_slice::<Interaction>(raw)
                        .map_err(|e| not_a_page(page.offset, i, e))
                })
                .collect::<Result<_, _>>()?;
            Ok(Page {
                offset: page.offset,
                total: page.total,
                interactions,
            })
        })
    }

    /// The pages of `query`, each interaction as its bytes (slices of the
    /// page's body).
    fn raw_pages(
        &self,
        query: &HistoryQuery,
    ) -> impl Stream<Item = Result<OffsetPage<Bytes>, Error>> + Send + 'static {
        let http = self.http.clone();
        let filter: Arc<str> = query.filter().into();
        let max_page_bytes = self.config.max_page_bytes;
        // The page being consumed and those in flight, plus one.
        let buffers = PageBuffers::new(self.config.max_in_flight.saturating_add(2));
        let fetch = move |offset: u64, limit: u64| {
            let body = json!({
                "filter": &*filter,
                "limit": limit,
                "offset": offset,
                "sort": "nodeTimestamp DESC",
            });
            let req = http
                .post(QUERY_PATH)
                .idempotent()
                .json(&body)
                .max_body_bytes(max_page_bytes)
                .read_into(buffers.take())
                .operation("history.query");
            let buffers = buffers.clone();
            in_task(async move {
                let body = req.send().await?.body().clone();
                let (items, total) = split_page(&body).map_err(|e| {
                    cx_http::Error::new(
                        cx_http::ErrorKind::Decode,
                        format!(
                            "response body is not the expected JSON (line {}, column {})",
                            e.line(),
                            e.column()
                        ),
                    )
                    .with_source(e)
                })?;
                // The next page starts `limit` further on: a longer page
                // overlaps it, and its interactions would be counted twice.
                if items.len() as u64 > limit {
                    return Err(cx_http::Error::new(
                        cx_http::ErrorKind::Decode,
                        format!(
                            "the page at offset {offset} holds {} interactions, more than the limit {limit} asked for (pages would overlap)",
                            items.len()
                        ),
                    ));
                }
                buffers.lend(body);
                Ok(OffsetPage {
                    offset,
                    items,
                    total,
                })
            })
        };
        offset_pages(
            u64::from(query.limit()),
            self.config.max_pages,
            self.config.max_in_flight,
            fetch,
        )
        .map_err(|e| from_http(e, QUERYING))
    }

    /// The interactions of `query`, one by one (pages flattened).
    ///
    /// # Errors
    /// As [`Client::pages`].
    pub fn interactions(
        &self,
        query: &HistoryQuery,
    ) -> impl Stream<Item = Result<Interaction, Error>> + Send + 'static {
        self.pages(query)
            .map_ok(|p| stream::iter(p.interactions.into_iter().map(Ok)))
            .try_flatten()
    }

    /// Retrieve, analyse, audit and (optionally) notify: seed 003's whole
    /// run. Configure, then [`ReportBuilder::send`].
    pub fn report<'a>(&'a self, query: &'a HistoryQuery) -> ReportBuilder<'a> {
        ReportBuilder {
            client: self,
            query,
            threshold: None,
            webhook: None,
            progress: None,
        }
    }

    async fn audit(&self, event: EventType, payload: Value) -> Result<(), cx_audit::Error> {
        match &self.audit {
            None => Ok(()),
            Some(sink) => {
                sink.write(&AuditRecord::at(self.config.clock.now(), event, payload))
                    .await
            }
        }
    }
}

/// `page` run as a task of the current tokio runtime, so that its body is
/// read while the consumer works on an earlier page, and the connection's
/// read buffers are emptied as they fill (issue 13); awaited in place
/// when there is no runtime. The task runs in the caller's current span.
/// Dropping the returned future aborts the task.
fn in_task<T: Send + 'static>(
    page: impl Future<Output = Result<T, cx_http::Error>> + Send + 'static,
) -> impl Future<Output = Result<T, cx_http::Error>> + Send + 'static {
    let Ok(runtime) = tokio::runtime::Handle::try_current() else {
        return Either::Left(page);
    };
    // In the caller's span, as the request would be without the task.
    let task = runtime.spawn(page.instrument(tracing::Span::current()));
    let stop = AbortOnDrop(task.abort_handle());
    Either::Right(async move {
        let done = task.await;
        drop(stop);
        match done {
            Ok(page) => page,
            Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
            Err(e) => Err(cx_http::Error::new(
                cx_http::ErrorKind::Builder,
                "the page request was cancelled: the runtime is shutting down",
            )
            .with_source(e)),
        }
    })
}

/// Interaction `index` of the page at `offset` is not an interaction.
fn not_a_page(offset: u64, index: usize, e: serde_json::Error) -> Error {
    let e = cx_http::Error::new(
        cx_http::ErrorKind::Decode,
        format!(
            "response body is not the expected JSON (interaction {index} of the page at offset {offset}: {e})"
        ),
    )
    .with_source(e);
    from_http(e, QUERYING)
}

type ProgressFn = Box<dyn Fn(&Progress) + Send + Sync>;

/// Seed 003's run for one query; finish with [`ReportBuilder::send`].
#[must_use = "a report does nothing until `.send().await`"]
pub struct ReportBuilder<'a> {
    client: &'a Client,
    query: &'a HistoryQuery,
    threshold: Option<Duration>,
    webhook: Option<String>,
    progress: Option<ProgressFn>,
}

impl ReportBuilder<'_> {
    /// Bottleneck threshold for this run (default: the config's, 15 s).
    pub fn threshold(mut self, threshold: Duration) -> Self {
        self.threshold = Some(threshold);
        self
    }

    /// POST the completion payload to `url` when done (seed 003 step 4):
    /// `{status: "completion", audit_log, bottleneck_count,
    /// analysis_payload}`, without the CXone token, with an idempotency key
    /// so the runtime retries it.
    pub fn webhook(mut self, url: impl Into<String>) -> Self {
        self.webhook = Some(url.into());
        self
    }

    /// Called after every page with the running totals.
    pub fn on_progress(mut self, f: impl Fn(&Progress) + Send + Sync + 'static) -> Self {
        self.progress = Some(Box::new(f));
        self
    }

    /// Retrieve every page, analyse it, write the audit record, send the
    /// webhook.
    ///
    /// # Errors
    /// A retrieval error as [`Client::pages`]; [`ErrorKind::Audit`] when
    /// the audit record could not be written (the webhook is then not
    /// sent); [`HistoryKind::Webhook`] when the webhook failed after retries
    /// (recorded as `HISTORY_WEBHOOK_FAILED`). Both carry the report
    /// ([`Error::report`]).
    pub async fn send(self) -> Result<HistoryReport, Error> {
        let client = self.client;
        let mut analyzer_config = client.config.analyzer.clone();
        if let Some(t) = self.threshold {
            analyzer_config.threshold = t;
        }
        let mut analyzer = PathAnalyzer::new(analyzer_config);
        let started = Instant::now();
        let (mut records, mut steps, mut pages_seen) = (0u64, 0u64, 0u64);
        let mut reported: Option<u64> = None;
        let mut pages = std::pin::pin!(client.raw_pages(self.query));
        while let Some(page) = pages.next().await {
            let page = page?;
            pages_seen += 1;
            if reported.is_none() {
                reported = page.total;
            }
            for (i, raw) in page.items.iter().enumerate() {
                let interaction: InteractionRef<'_> =
                    serde_json::from_slice(raw).map_err(|e| not_a_page(page.offset, i, e))?;
                analyzer.observe_steps(&interaction.interaction_id, &interaction.steps);
                steps += interaction.steps.len() as u64;
            }
            records += page.items.len() as u64;
            if let Some(f) = &self.progress {
                f(&Progress {
                    records,
                    steps,
                    total: reported,
                    elapsed: started.elapsed(),
                });
            }
        }
        let latency = started.elapsed();
        let reported = reported.unwrap_or(records);
        let accuracy_rate = if reported == 0 {
            1.0
        } else {
            records as f64 / reported as f64
        };
        let mut report = HistoryReport {
            query_filter: self.query.filter(),
            records_retrieved: records,
            records_reported: reported,
            steps_retrieved: steps,
            pages: pages_seen,
            accuracy_rate,
            extraction_latency_ms: (latency.as_secs_f64() * 1e6).round() / 1e3,
            compliance_status: if accuracy_rate > client.config.verified_accuracy {
                ComplianceStatus::Verified
            } else {
                ComplianceStatus::ReviewRequired
            },
            analysis: analyzer.finish(),
            webhook: None,
        };
        let mut audit_log = report.audit_payload();
        if let Value::Object(m) = &mut audit_log {
            m.insert(
                "interaction_ids".to_owned(),
                json!(self.query.interaction_ids()),
            );
        }
        if let Err(e) = client
            .audit(HISTORY_QUERY_COMPLETED, audit_log.clone())
            .await
        {
            return Err(
                Error::new(ErrorKind::Audit, "the history report could not be audited")
                    .with_audit_failure(e)
                    .with_report(report),
            );
        }
        let Some(url) = self.webhook else {
            return Ok(report);
        };
        let payload = json!({
            "status": "completion",
            "audit_log": audit_log,
            "bottleneck_count": report.analysis.bottleneck_count,
            "analysis_payload": &report.analysis,
        });
        let key = uuid::Uuid::new_v4().to_string();
        let sent = client
            .http
            .request_url(cx_http::Method::POST, &url)
            .without_auth()
            .idempotency_key(&key)
            .json(&payload)
            .operation("history.webhook")
            .send()
            .await;
        match sent {
            Ok(resp) => {
                report.webhook = Some(WebhookDelivery {
                    url,
                    delivered: true,
                    attempts: resp.attempts(),
                    error: None,
                });
                Ok(report)
            }
            Err(e) => {
                let message = e.to_string();
                report.webhook = Some(WebhookDelivery {
                    url: url.clone(),
                    delivered: false,
                    attempts: e.attempts(),
                    error: Some(message.clone()),
                });
                let failure = json!({"url": url, "error": message, "attempts": e.attempts()});
                let err = Error::new(
                    ErrorKind::Domain(HistoryKind::Webhook),
                    format!("completion webhook to {url} failed"),
                )
                .with_http(e);
                match client.audit(HISTORY_WEBHOOK_FAILED, failure).await {
                    Ok(()) => Err(err.with_report(report)),
                    Err(a) => Err(err.with_audit_failure(a).with_report(report)),
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn assert_send<T: Send>(_: &T) {}

    #[test]
    fn client_and_futures_are_send() {
        fn assert_send_sync<T: Send + Sync + Clone>() {}
        assert_send_sync::<Client>();
        let http = cx_http::Client::builder()
            .base_url("http://127.0.0.1:9")
            .build()
            .unwrap();
        let client = Client::new(http, Config::default());
        let q = HistoryQuery::builder().interaction("a").build().unwrap();
        assert_send(&client.pages(&q));
        assert_send(&client.report(&q).send());
    }
}
