//! CXone agent sessions over raw HTTP: the wire shapes and statuses of
//! `/inContactAPI/services/vNN.0/agent-sessions`, and the `get-next-event`
//! long poll on the virtual clock.

use std::time::Duration;

use crate::support::*;
use reqwest::Method;
use serde_json::{Value, json};

const SESSIONS: &str = "/inContactAPI/services/v23.0/agent-sessions";

/// `method path` with `ctx`'s token and an optional JSON body.
async fn call(ctx: &Ctx, method: Method, path: &str, body: Option<Value>) -> reqwest::Response {
    let mut req = ctx
        .http
        .request(method, ctx.url(path))
        .bearer_auth(&ctx.token);
    if let Some(body) = body {
        req = req.json(&body);
    }
    fetch(req).await
}

async fn start(ctx: &Ctx) -> String {
    let resp = call(
        ctx,
        Method::POST,
        "//incontactapi/services/V33.0//agent-sessions?stationId=4101",
        None,
    )
    .await;
    assert_eq!(resp.status(), 202);
    let body: Value = resp.json().await.unwrap();
    body["sessionId"].as_str().unwrap().to_owned()
}

fn next_event(id: &str, timeout: u32) -> String {
    format!("{SESSIONS}/{id}/get-next-event?timeout={timeout}")
}

/// A started session with its first events read, and a 60 s poll of it
/// (not sent yet).
async fn waiting_poll(ctx: &Ctx) -> (String, reqwest::RequestBuilder) {
    let id = start(ctx).await;
    call(ctx, Method::GET, &next_event(&id, 0), None).await;
    let req = ctx
        .http
        .get(ctx.url(&next_event(&id, 60)))
        .bearer_auth(&ctx.token);
    (id, req)
}

#[tokio::test]
async fn sessions_answer_with_cxone_shapes_and_statuses() {
    let ctx = Ctx::new().await;
    let id = start(&ctx).await;

    let resp = call(&ctx, Method::GET, &next_event(&id, 0), None).await;
    assert_eq!(resp.status(), 200);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["sessionId"], json!(id));
    let types = strings(&body["events"], "Type");
    assert_eq!(types, ["AgentSessionStart", "AgentState"]);
    assert!(body["events"][0]["IISHost"].is_string());
    assert!(body["events"][0]["VCHost"].is_string());

    let empty = call(&ctx, Method::GET, &next_event(&id, 0), None).await;
    assert_eq!(empty.status(), 304);
    assert!(empty.bytes().await.unwrap().is_empty());

    for (method, path, body, status, reason) in [
        (
            Method::GET,
            next_event(&id, 61),
            None,
            400,
            "timeout must be an integer in 0..=60, got \"61\"",
        ),
        (
            Method::POST,
            format!("{SESSIONS}/{id}/state"),
            Some(json!({"state": "Asleep"})),
            400,
            "Invalid state request.",
        ),
        (
            Method::POST,
            format!("{SESSIONS}/nope/state"),
            Some(json!({"state": "Available"})),
            404,
            "Invalid agent session Id.",
        ),
        (
            Method::DELETE,
            format!("{SESSIONS}/nope"),
            None,
            404,
            "InvalidAgentSession",
        ),
        (
            Method::POST,
            SESSIONS.to_owned(),
            Some(json!({})),
            400,
            "stationId or stationPhoneNumber is required",
        ),
        (
            Method::PUT,
            SESSIONS.to_owned(),
            None,
            405,
            "method not allowed on this route",
        ),
    ] {
        let resp = call(&ctx, method.clone(), &path, body).await;
        assert_eq!(resp.status(), status, "{method} {path}");
        assert_eq!(
            resp.headers()
                .get("icStatusDescription")
                .and_then(|v| v.to_str().ok()),
            Some(reason),
            "{method} {path}"
        );
    }

    let state = call(
        &ctx,
        Method::POST,
        &format!("{SESSIONS}/{id}/state"),
        Some(json!({"state": "Unavailable", "reason": "break"})),
    )
    .await;
    assert_eq!(state.status(), 202);
    let ended = call(
        &ctx,
        Method::DELETE,
        &format!("{SESSIONS}/{id}?forceLogoff=true"),
        Some(json!({"forceLogoff": true})),
    )
    .await;
    assert_eq!(ended.status(), 202);
    let last: Value = call(&ctx, Method::GET, &next_event(&id, 60), None)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(last["events"][0]["CurrentOutReason"], json!("break"));
    assert_eq!(last["events"][2]["Type"], json!("AgentSessionEnd"));
    let gone = call(&ctx, Method::GET, &next_event(&id, 60), None).await;
    assert_eq!(gone.status(), 409);
}

#[tokio::test]
async fn another_tenant_cannot_read_a_session() {
    let ctx = Ctx::new().await;
    let id = start(&ctx).await;
    let other = token_for(&ctx, TENANT_B_CLIENT_ID, TENANT_B_CLIENT_SECRET).await;
    let resp = fetch(
        ctx.http
            .get(ctx.url(&next_event(&id, 0)))
            .bearer_auth(other),
    )
    .await;
    assert_eq!(resp.status(), 409);
    let mine = call(&ctx, Method::GET, &next_event(&id, 0), None).await;
    assert_eq!(mine.status(), 200, "the session is still there");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_long_poll_answers_304_once_sim_time_passes_its_timeout() {
    // Tokens outlive any number of clock advances.
    let ctx = Ctx::start(Sim::builder().token_ttl(Duration::from_secs(10 * 365 * 86_400))).await;
    let (_, req) = waiting_poll(&ctx).await;
    let mut poll = tokio::spawn(async move { req.send().await.unwrap().status() });
    // Advancing before the poll arrives is harmless: keep advancing until
    // it answers.
    let status = loop {
        ctx.sim.advance_clock(Duration::from_secs(61));
        tokio::select! {
            status = &mut poll => break status.unwrap(),
            () = tokio::task::yield_now() => {}
        }
    };
    assert_eq!(status, 304);
}

#[tokio::test]
async fn a_waiting_poll_answers_with_an_event_pushed_meanwhile() {
    let ctx = Ctx::new().await;
    let (id, req) = waiting_poll(&ctx).await;
    let poll = tokio::spawn(async move { req.send().await.unwrap().json::<Value>().await });
    assert!(
        ctx.sim
            .push_agent_session_event(&id, json!({"Type": "CustomEvent"}))
    );
    let body = poll.await.unwrap().unwrap();
    assert_eq!(body["events"][0]["Type"], json!("CustomEvent"));
}
