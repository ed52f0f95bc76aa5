//! The outer request layer (issue 13 made it run each request on its
//! connection's task): what a client sees of it on the wire.

use crate::support::*;
use serde_json::{Value, json};
use std::time::Duration;
use tokio::io::AsyncWriteExt as _;

/// A client that sends a request and hangs up before the answer: the
/// simulator still runs it to the end, as a real server does: the mutation
/// happens and the journal records the status it would have sent.
#[tokio::test]
async fn a_request_whose_client_hangs_up_still_runs_and_is_journaled() {
    let ctx = Ctx::new().await;
    let path = format!("/api/v2/workflows/{SEED_WORKFLOW_ID}/executions");
    // Keeps the request in its handler while the client goes away.
    ctx.sim.set_faults(vec![
        FaultRule::new(format!("POST {path}"), Fault::Latency { ms: 300 }).with_times(1),
    ]);
    let body = serde_json::to_vec(&json!({ "input": seed_input(5) })).unwrap();
    let head = format!(
        "POST {path} HTTP/1.1\r\nHost: sim\r\nAuthorization: Bearer {}\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\n\r\n",
        ctx.token,
        body.len()
    );
    let mut stream = tokio::net::TcpStream::connect(ctx.sim.addr())
        .await
        .unwrap();
    stream.write_all(head.as_bytes()).await.unwrap();
    stream.write_all(&body).await.unwrap();
    drop(stream);

    let journal = ctx
        .sim
        .wait_for_journal(Duration::from_secs(30), |j| {
            j.iter().any(|e| e.method == "POST" && e.path == path)
        })
        .await
        .expect("the abandoned request is journaled");
    let posted = journal.iter().find(|e| e.path == path).unwrap();
    assert_eq!(posted.status, 201);
    assert_eq!(posted.fault.as_deref(), Some("latency:300ms"));
    assert_eq!(posted.body_len, body.len());
    let list: Value = ctx.get_json(&path).await;
    assert_eq!(list["totalCount"], 1, "{list}");
}

/// Every answer carries a fresh `x-request-id` (`req_` and 32 hex digits),
/// the one the journal records for it.
#[tokio::test]
async fn answers_carry_the_request_id_the_journal_records() {
    let ctx = Ctx::new().await;
    let path = format!("/api/v2/workflows/{SEED_WORKFLOW_ID}");
    let mut sent = Vec::new();
    for _ in 0..2 {
        let resp = ctx.get(&path).await;
        assert_eq!(resp.status(), 200);
        let id = resp.headers()["x-request-id"].to_str().unwrap().to_owned();
        sent.push(id);
    }
    let journaled: Vec<String> = ctx
        .sim
        .journal()
        .into_iter()
        .filter(|e| e.path == path)
        .map(|e| e.request_id)
        .collect();
    assert_eq!(journaled, sent);
    assert_ne!(sent[0], sent[1]);
    for id in &sent {
        let hex = id.strip_prefix("req_").unwrap_or_default();
        assert_eq!(hex.len(), 32, "{id}");
        assert!(
            hex.bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)),
            "{id}"
        );
    }
}
