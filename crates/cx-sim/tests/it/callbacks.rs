//! Signed instance-completion callbacks (`/_sim/callbacks`) over real HTTP,
//! to a receiver that fails at first.

// Tests unwrap: a panic with the value is the failure report.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::support::*;
use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use bytes::Bytes;
use cx_sim::CallbackAttempt;
use hmac::{Hmac, Mac};
use serde_json::{Value, json};
use sha2::Sha256;

/// What the receiver saw: (headers, body) per request.
type Seen = Arc<Mutex<Vec<(HeaderMap, Bytes)>>>;

/// A receiver answering 500 to the first `failures` requests, then 200.
async fn receiver(failures: usize) -> (String, Seen) {
    let seen: Seen = Arc::default();
    let app = Router::new()
        .route(
            "/hooks/completed",
            post(
                move |State(seen): State<Seen>, headers: HeaderMap, body: Bytes| async move {
                    let mut seen = seen.lock().unwrap();
                    seen.push((headers, body));
                    if seen.len() <= failures {
                        StatusCode::INTERNAL_SERVER_ERROR
                    } else {
                        StatusCode::OK
                    }
                },
            ),
        )
        .with_state(seen.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hooks/completed", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    (url, seen)
}

async fn create_instance(ctx: &Ctx) -> String {
    let resp = ctx
        .post(
            "/api/v2/workflows/instances",
            &json!({"workflowId": SEED_WORKFLOW_ID, "context": {"customerId": "CUST-1"}}),
        )
        .await;
    assert_eq!(resp.status(), reqwest::StatusCode::CREATED);
    let body: Value = resp.json().await.unwrap();
    body["id"].as_str().unwrap().to_owned()
}

async fn deliveries(ctx: &Ctx) -> Vec<Value> {
    let resp = ctx.get("/_sim/callbacks/deliveries").await;
    resp.json().await.unwrap()
}

#[tokio::test]
async fn a_finished_instance_is_posted_signed_and_retried_until_accepted() {
    let ctx = Ctx::start(Sim::builder().execution_duration(Duration::from_millis(100))).await;
    // Finished before registration: not delivered.
    let before = create_instance(&ctx).await;
    ctx.sim.advance_clock(Duration::from_secs(1));
    let _ = ctx
        .get(&format!("/api/v2/workflows/instances/{before}"))
        .await;

    let (url, seen) = receiver(2).await;
    let resp = fetch(
        ctx.http
            .post(ctx.url("/_sim/callbacks"))
            .json(&json!({"url": url, "secret": "s3cret"})),
    )
    .await;
    assert_eq!(resp.status(), reqwest::StatusCode::CREATED);
    let id = create_instance(&ctx).await;
    ctx.sim.advance_clock(Duration::from_secs(1));

    let waited = ctx
        .sim
        .wait_for_deliveries(Duration::from_secs(30), |log| {
            log.iter().any(|a| a.delivered)
        })
        .await
        .unwrap();
    // The admin route lists the same attempts, in the wire format.
    let log = deliveries(&ctx).await;
    assert_eq!(
        serde_json::from_value::<Vec<CallbackAttempt>>(Value::Array(log.clone())).unwrap(),
        waited
    );
    let attempts: Vec<(u64, Value)> = log
        .iter()
        .map(|a| (a["attempt"].as_u64().unwrap(), a["status"].clone()))
        .collect();
    assert_eq!(
        attempts,
        [(1, json!(500)), (2, json!(500)), (3, json!(200))]
    );
    assert!(log.iter().all(|a| a["instanceId"] == id.as_str()));

    let seen = seen.lock().unwrap().clone();
    assert_eq!(seen.len(), 3);
    for (headers, body) in &seen {
        let h = |n: &str| headers.get(n).unwrap().to_str().unwrap().to_owned();
        let ts = h("x-cx-timestamp");
        let age = chrono::Utc::now().timestamp() - ts.parse::<i64>().unwrap();
        assert!((0..60).contains(&age), "wall-clock timestamp, not sim time");
        let mut mac = Hmac::<Sha256>::new_from_slice(b"s3cret").unwrap();
        mac.update(format!("{ts}.").as_bytes());
        mac.update(body);
        let want = format!("sha256={}", hex::encode(mac.finalize().into_bytes()));
        assert_eq!(h("x-cx-signature"), want);
        assert!(h("x-cx-delivery").ends_with(&id));
        let payload: Value = serde_json::from_slice(body).unwrap();
        assert_eq!(payload["instanceId"], id.as_str());
        assert_eq!(payload["workflowId"], SEED_WORKFLOW_ID);
        assert_eq!(payload["status"], "COMPLETED");
        assert_eq!(payload["context"], json!({"customerId": "CUST-1"}));
    }
}

#[tokio::test]
async fn a_bad_callback_url_is_refused() {
    let ctx = Ctx::new().await;
    for url in ["https://example.com/x", "ftp://x", ""] {
        let resp = fetch(
            ctx.http
                .post(ctx.url("/_sim/callbacks"))
                .json(&json!({"url": url, "secret": "s"})),
        )
        .await;
        assert_eq!(resp.status(), reqwest::StatusCode::BAD_REQUEST, "{url}");
    }
    assert!(
        ctx.sim
            .register_callback("http://127.0.0.1:9/x", "s", cx_sim::DEFAULT_TENANT)
            .is_some()
    );
}
