//! Signed deliveries end to end: the webhook sink posts through the runtime,
//! the receiver verifies, de-duplicates and audits once.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use async_trait::async_trait;
use cx_audit::signing::{DELIVERY_HEADER, SIGNATURE_HEADER, TIMESTAMP_HEADER, sign};
use cx_audit::{
    AuditRecord, AuditSink, Delivery, Error, ErrorKind, MemorySink, Receiver, WebhookSink,
};
use secrecy::SecretString;
use serde_json::{Value, json};

type TestResult = Result<(), Box<dyn std::error::Error>>;

const SECRET: &str = "whsec-test";
const PATH: &str = "/hooks/completed";

/// A sink that fails while `down` is set.
#[derive(Default)]
struct Flaky {
    down: AtomicBool,
    inner: MemorySink,
}

#[async_trait]
impl AuditSink for Flaky {
    async fn write(&self, record: &AuditRecord) -> Result<(), Error> {
        if self.down.load(Ordering::SeqCst) {
            return Err(Error::new(ErrorKind::Io, "disk full"));
        }
        self.inner.write(record).await
    }
    async fn flush(&self) -> Result<(), Error> {
        Ok(())
    }
}

/// A sink whose writes wait until `release` is notified, then fail.
#[derive(Default)]
struct Stalled {
    entered: tokio::sync::Notify,
    release: tokio::sync::Notify,
}

#[async_trait]
impl AuditSink for Stalled {
    async fn write(&self, _: &AuditRecord) -> Result<(), Error> {
        self.entered.notify_one();
        self.release.notified().await;
        Err(Error::new(ErrorKind::Io, "disk full"))
    }
    async fn flush(&self) -> Result<(), Error> {
        Ok(())
    }
}

/// Serve a receiver keyed by `payload.instanceId`; returns its URL.
async fn serve(sink: Arc<dyn AuditSink>) -> Result<String, Box<dyn std::error::Error>> {
    let receiver = Receiver::new(SecretString::from(SECRET), sink, |body: &[u8]| {
        let sent: AuditRecord = serde_json::from_slice(body).map_err(|e| e.to_string())?;
        let key = sent.payload()["instanceId"]
            .as_str()
            .ok_or("no instanceId")?
            .to_owned();
        Ok(Delivery {
            key: key.clone(),
            record: AuditRecord::new("WORKFLOW_COMPLETED", sent.payload().clone()),
            response: json!({"webhookStatus": "processed", "instanceId": key}),
        })
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let url = format!("http://{}{PATH}", listener.local_addr()?);
    tokio::spawn(async move { axum::serve(listener, receiver.router(PATH)).await });
    Ok(url)
}

fn http(url: &str) -> Result<cx_http::Client, cx_http::Error> {
    cx_http::Client::builder().base_url(url).build()
}

/// A client that sends once: the status the receiver answered is the result.
fn http_once(url: &str) -> Result<cx_http::Client, cx_http::Error> {
    cx_http::Client::builder()
        .base_url(url)
        .retry(cx_http::RetryPolicy::default().with_max_attempts(1))
        .build()
}

/// POST `body` with the given timestamp and signature; (status, JSON body).
async fn post(
    url: &str,
    body: &Value,
    ts: i64,
    sig: &str,
) -> Result<(u16, Value), Box<dyn std::error::Error>> {
    let sent = http_once(url)?
        .request_url(cx_http::Method::POST, url)
        .without_auth()
        .header(TIMESTAMP_HEADER, &ts.to_string())
        .header(SIGNATURE_HEADER, sig)
        .header(DELIVERY_HEADER, "d-1")
        .json(body)
        .send()
        .await;
    Ok(match sent {
        Ok(resp) => (200, resp.json()?),
        Err(e) => (
            e.status().ok_or("no status")?,
            e.body().cloned().unwrap_or(Value::Null),
        ),
    })
}

#[tokio::test]
async fn a_valid_delivery_sent_three_times_yields_one_record() -> TestResult {
    let sink = Arc::new(Flaky::default());
    let url = serve(sink.clone()).await?;
    let webhook = WebhookSink::new(http(&url)?, &url, SecretString::from(SECRET));
    let record = AuditRecord::new("X", json!({"instanceId": "inst_1", "status": "COMPLETED"}));
    for _ in 0..3 {
        webhook.write(&record).await?;
    }
    let stored = sink.inner.records();
    assert_eq!(stored.len(), 1);
    assert_eq!(stored[0].payload()["instanceId"], "inst_1");
    Ok(())
}

#[tokio::test]
async fn bad_signature_stale_timestamp_and_replay_leave_no_extra_record() -> TestResult {
    let sink = Arc::new(Flaky::default());
    let url = serve(sink.clone()).await?;
    let body = json!({"payload": {"instanceId": "inst_9"}, "timestamp": "2025-01-01T00:00:00Z", "event_type": "X", "compliance_hash": ""});
    let bytes = serde_json::to_vec(&body)?;
    let now = chrono::Utc::now().timestamp();
    let good = |ts: i64| sign(SECRET.as_bytes(), ts, &bytes);

    let table = [
        (
            "bad signature",
            now,
            sign(b"wrong", now, &bytes),
            401,
            json!("invalid_signature"),
            0,
        ),
        (
            "stale timestamp",
            now - 301,
            good(now - 301),
            401,
            json!("stale_timestamp"),
            0,
        ),
        (
            "future timestamp",
            now + 400,
            good(now + 400),
            401,
            json!("stale_timestamp"),
            0,
        ),
        ("first valid delivery", now, good(now), 200, Value::Null, 1),
        ("replay", now, good(now), 200, Value::Null, 1),
        (
            "replay re-signed later",
            now + 5,
            good(now + 5),
            200,
            Value::Null,
            1,
        ),
    ];
    for (name, ts, sig, status, error, records) in table {
        let (got, answer) = post(&url, &body, ts, &sig).await?;
        assert_eq!(got, status, "{name}: {answer}");
        assert_eq!(
            answer.get("error").cloned().unwrap_or(Value::Null),
            error,
            "{name}"
        );
        assert_eq!(sink.inner.len(), records, "{name}");
    }
    let (_, answer) = post(&url, &body, now, &good(now)).await?;
    assert_eq!(answer["status"], "duplicate");
    Ok(())
}

#[tokio::test]
async fn a_failed_audit_write_is_a_500_and_the_retry_records_it() -> TestResult {
    let sink = Arc::new(Flaky::default());
    sink.down.store(true, Ordering::SeqCst);
    let url = serve(sink.clone()).await?;
    let body = json!({"payload": {"instanceId": "inst_5"}, "timestamp": "2025-01-01T00:00:00Z", "event_type": "X", "compliance_hash": ""});
    let now = chrono::Utc::now().timestamp();
    let sig = sign(SECRET.as_bytes(), now, &serde_json::to_vec(&body)?);
    let (status, answer) = post(&url, &body, now, &sig).await?;
    assert_eq!(
        (status, answer["error"].clone()),
        (500, json!("audit_failed"))
    );
    sink.down.store(false, Ordering::SeqCst);
    let (status, answer) = post(&url, &body, now, &sig).await?;
    assert_eq!(
        (status, answer["webhookStatus"].clone()),
        (200, json!("processed"))
    );
    assert_eq!(sink.inner.len(), 1);
    Ok(())
}

#[tokio::test]
async fn a_redelivery_while_the_first_is_being_written_is_not_acknowledged() -> TestResult {
    // A sender whose first attempt timed out retries while the receiver is
    // still writing it: answering that retry 200 would end the delivery,
    // and if the write then fails nothing is recorded.
    let sink = Arc::new(Stalled::default());
    let url = serve(sink.clone()).await?;
    let body = json!({"payload": {"instanceId": "inst_7"}, "timestamp": "2025-01-01T00:00:00Z", "event_type": "X", "compliance_hash": ""});
    let now = chrono::Utc::now().timestamp();
    let sig = sign(SECRET.as_bytes(), now, &serde_json::to_vec(&body)?);
    let first = tokio::spawn({
        let (url, body, sig) = (url.clone(), body.clone(), sig.clone());
        async move {
            post(&url, &body, now, &sig)
                .await
                .map_err(|e| e.to_string())
        }
    });
    sink.entered.notified().await;
    let (status, answer) = post(&url, &body, now, &sig).await?;
    assert_eq!(
        (status, answer["error"].clone()),
        (503, json!("in_progress")),
        "a delivery not recorded yet was acknowledged: {answer}"
    );
    sink.release.notify_one();
    let (status, answer) = first.await??;
    assert_eq!(
        (status, answer["error"].clone()),
        (500, json!("audit_failed"))
    );
    Ok(())
}
