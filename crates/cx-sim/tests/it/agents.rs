//! Seed 002 endpoints over real HTTP: profiles with ETags that change on
//! every write, 409 on a stale `If-Match`, skills over three pages (and a
//! page loop on request), WFM shifts active "now", events, scopes.

// Tests unwrap: a panic with the value is the failure report.

use crate::support::{Ctx, Sim, fetch, http, json_with, post_twice, send_json, strings, token};
use reqwest::StatusCode;
use serde_json::{Value, json};

const AGENT: &str = "agent-001";

fn seed_payload() -> Value {
    json!({
        "workModeId": "workMode-123",
        "skillLevels": [
            {"skillId": "skill-456", "level": 1, "concurrentInteractions": 2},
            {"skillId": "skill-789", "level": 0, "concurrentInteractions": 0}
        ],
        "reason": "api-driven-availability-update",
        "metadata": {"source": "test", "timestamp": "2024-01-01T00:00:00Z"}
    })
}

async fn profile(ctx: &Ctx) -> (Value, String) {
    let resp = ctx.get(&format!("/api/v2/agents/{AGENT}")).await;
    assert_eq!(resp.status(), StatusCode::OK);
    let etag = resp.headers()["etag"].to_str().unwrap().to_owned();
    (resp.json().await.unwrap(), etag)
}

async fn patch(ctx: &Ctx, if_match: Option<&str>, body: &Value) -> reqwest::Response {
    let mut req = ctx
        .http
        .patch(ctx.url(&format!("/api/v2/agents/{AGENT}/workmodes")))
        .bearer_auth(&ctx.token)
        .json(body);
    if let Some(tag) = if_match {
        req = req.header("if-match", tag);
    }
    req.send().await.unwrap()
}

async fn writes(ctx: &Ctx) -> Vec<Value> {
    let resp = fetch(
        ctx.http
            .get(ctx.url(&format!("/_sim/agents/{AGENT}/writes"))),
    )
    .await;
    json_with(resp, StatusCode::OK).await
}

#[tokio::test]
async fn etag_changes_on_every_write_and_a_stale_if_match_is_409() {
    let ctx = Ctx::new().await;
    let (body, etag0) = profile(&ctx).await;
    assert_eq!(body["currentWorkMode"]["id"], "workMode-123");
    assert_eq!(etag0, "\"agent-001-v1\"");

    let resp = patch(&ctx, Some(&etag0), &seed_payload()).await;
    assert_eq!(resp.status(), StatusCode::OK);
    let etag1 = resp.headers()["etag"].to_str().unwrap().to_owned();
    assert_ne!(etag1, etag0);
    let (after, etag_read) = profile(&ctx).await;
    assert_eq!(etag_read, etag1);
    assert_eq!(after["skills"][1]["skillId"], "skill-789");

    // The first update's old ETag: refused, nothing written.
    let resp = patch(&ctx, Some(&etag0), &seed_payload()).await;
    let err: Value = json_with(resp, StatusCode::CONFLICT).await;
    assert_eq!(err["error"], "etag_mismatch");
    let history = writes(&ctx).await;
    assert_eq!(history.len(), 1);
    assert_eq!(history[0]["ifMatch"], etag0.as_str());
    assert_eq!(history[0]["etag"], etag1.as_str());

    // No If-Match writes unconditionally; `*` matches anything.
    assert_eq!(
        patch(&ctx, None, &seed_payload()).await.status(),
        StatusCode::OK
    );
    assert_eq!(
        patch(&ctx, Some("*"), &seed_payload()).await.status(),
        StatusCode::OK
    );
    assert_eq!(writes(&ctx).await.len(), 3);
    let journal = ctx.sim.journal();
    let stale = journal
        .iter()
        .find(|e| e.method == "PATCH" && e.status == 409)
        .unwrap();
    assert_eq!(stale.if_match.as_deref(), Some(etag0.as_str()));
}

/// An `If-Match` whose bytes are not visible ASCII (obs-text, allowed on
/// the wire) is still a precondition: it matches no ETag, so the write is
/// refused, never taken as unconditional.
#[tokio::test]
async fn an_if_match_that_is_not_ascii_is_a_precondition_not_an_absent_header() {
    let ctx = Ctx::new().await;
    let (_, etag0) = profile(&ctx).await;
    let mut tag = etag0.clone().into_bytes();
    tag.insert(tag.len() - 1, 0xff);
    let resp = ctx
        .http
        .patch(ctx.url(&format!("/api/v2/agents/{AGENT}/workmodes")))
        .bearer_auth(&ctx.token)
        .header(
            "if-match",
            reqwest::header::HeaderValue::from_bytes(&tag).unwrap(),
        )
        .json(&seed_payload())
        .send()
        .await
        .unwrap();
    let err: Value = json_with(resp, StatusCode::CONFLICT).await;
    assert_eq!(err["error"], "etag_mismatch");
    assert!(writes(&ctx).await.is_empty(), "nothing written");
    assert_eq!(profile(&ctx).await.1, etag0);
    let journal = ctx.sim.journal();
    let sent = journal.iter().find(|e| e.method == "PATCH").unwrap();
    assert!(sent.if_match.is_some(), "journaled as sent: {sent:?}");
}

#[tokio::test]
async fn bad_work_mode_bodies_name_every_field() {
    let ctx = Ctx::new().await;
    let body = json!({
        "workModeId": "",
        "skillLevels": [{"skillId": "", "level": -1, "concurrentInteractions": "2"}]
    });
    let resp = patch(&ctx, None, &body).await;
    let err: Value = json_with(resp, StatusCode::BAD_REQUEST).await;
    let fields = strings(&err["details"], "field");
    assert_eq!(
        fields,
        [
            "workModeId",
            "skillLevels[0].skillId",
            "skillLevels[0].level",
            "skillLevels[0].concurrentInteractions"
        ]
    );
    assert!(writes(&ctx).await.is_empty());
}

/// Follows `nextPageUri` from the first page; returns skill ids and pages.
async fn follow_skills(ctx: &Ctx, max_pages: usize) -> (Vec<String>, usize, bool) {
    let mut ids = Vec::new();
    let mut next = Some(format!("/api/v2/agents/{AGENT}/skills"));
    let mut pages = 0;
    while let Some(uri) = next.take() {
        if pages == max_pages {
            return (ids, pages, true);
        }
        let resp = ctx.get(&uri).await;
        let page: Value = json_with(resp, StatusCode::OK).await;
        pages += 1;
        for e in page["entities"].as_array().unwrap() {
            ids.push(e["skillId"].as_str().unwrap().to_owned());
            assert!(e["maximumConcurrentInteractions"].is_u64());
        }
        next = page["nextPageUri"].as_str().map(str::to_owned);
    }
    (ids, pages, false)
}

#[tokio::test]
async fn skills_span_three_pages_and_can_loop_on_request() {
    let ctx = Ctx::new().await;
    let (ids, pages, cut) = follow_skills(&ctx, 10).await;
    assert!(!cut);
    assert_eq!(pages, 3);
    assert_eq!(
        ids,
        [
            "skill-456",
            "skill-789",
            "skill-101",
            "skill-102",
            "skill-103"
        ]
    );

    let resp = fetch(
        ctx.http
            .put(ctx.url(&format!("/_sim/agents/{AGENT}/skills-loop")))
            .json(&json!({"enabled": true})),
    )
    .await;
    assert_eq!(resp.status(), StatusCode::NO_CONTENT);
    let (_, pages, cut) = follow_skills(&ctx, 10).await;
    assert!(cut, "the loop never ends on its own");
    assert_eq!(pages, 10);
}

#[tokio::test]
async fn the_first_shift_is_active_now() {
    let ctx = Ctx::new().await;
    let active = |schedule: &Value| -> Option<String> {
        let now = chrono::Utc::now();
        schedule["shifts"].as_array().unwrap().iter().find_map(|s| {
            let start = chrono::DateTime::parse_from_rfc3339(s["startTime"].as_str()?).ok()?;
            let end = chrono::DateTime::parse_from_rfc3339(s["endTime"].as_str()?).ok()?;
            (start <= now && now < end).then(|| s["workModeId"].as_str().unwrap().to_owned())
        })
    };
    let schedule = ctx
        .get_json(&format!("/api/v2/wfm/schedules/{AGENT}"))
        .await;
    assert_eq!(active(&schedule).as_deref(), Some("workMode-123"));
    let none = ctx.get_json("/api/v2/wfm/schedules/agent-002").await;
    assert_eq!(none["shifts"], json!([]));
}

#[tokio::test]
async fn events_are_kept_and_replayed_by_idempotency_key() {
    let ctx = Ctx::new().await;
    let event = json!({"eventType": "agent.availability.changed", "data": {"agentId": AGENT}});
    let path = "/api/v2/events/publish";
    let [first, again] = post_twice(&ctx, path, "evt-key-1", &event, StatusCode::ACCEPTED).await;
    assert_eq!(first["eventId"], again["eventId"]);
    let events: Value = send_json(ctx.http.get(ctx.url("/_sim/events"))).await;
    assert_eq!(events.as_array().unwrap().len(), 1);
    assert_eq!(events[0]["data"]["agentId"], AGENT);
    let bad = ctx
        .post("/api/v2/events/publish", &json!({"data": {}}))
        .await;
    assert_eq!(bad.status(), StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn agent_routes_name_the_missing_scope() {
    let sim = Sim::start().await.unwrap();
    let client = http();
    let tok = token(
        &client,
        &sim,
        crate::support::READONLY_CLIENT_ID,
        crate::support::READONLY_CLIENT_SECRET,
    )
    .await;
    let cases = [
        ("GET", format!("/api/v2/agents/{AGENT}"), "agent:read"),
        (
            "GET",
            format!("/api/v2/agents/{AGENT}/skills"),
            "skill:read",
        ),
        ("GET", format!("/api/v2/wfm/schedules/{AGENT}"), "wfm:read"),
        (
            "PATCH",
            format!("/api/v2/agents/{AGENT}/workmodes"),
            "agent:write",
        ),
        (
            "POST",
            "/api/v2/events/publish".to_owned(),
            "events:publish",
        ),
    ];
    for (method, path, scope) in cases {
        let resp = fetch(
            client
                .request(method.parse().unwrap(), format!("{}{path}", sim.base_url()))
                .bearer_auth(&tok)
                .json(&seed_payload()),
        )
        .await;
        assert_eq!(resp.status(), StatusCode::FORBIDDEN, "{path}");
        let body: Value = resp.json().await.unwrap();
        assert_eq!(body["message"], format!("missing scope: {scope}"), "{path}");
    }
}

/// Send `path` byte for byte (no client-side URL normalisation) and return
/// the status line's code.
async fn raw_get_status(base_url: &str, path: &str) -> u16 {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let addr = base_url.trim_start_matches("http://");
    let mut conn = tokio::net::TcpStream::connect(addr).await.unwrap();
    let req = format!("GET {path} HTTP/1.1\r\nhost: {addr}\r\nconnection: close\r\n\r\n");
    conn.write_all(req.as_bytes()).await.unwrap();
    let mut resp = Vec::new();
    conn.read_to_end(&mut resp).await.unwrap();
    let head = String::from_utf8_lossy(&resp);
    head.split(' ').nth(1).unwrap().parse().unwrap()
}

#[tokio::test]
async fn ids_that_traverse_paths_are_refused_even_when_sent_raw() {
    let sim = Sim::start().await.unwrap();
    for path in [
        "/api/v2/agents/..",
        "/api/v2/agents/.",
        "/api/v2/agents/%2e%2E",
        "/api/v2/agents/..%5C..%5C_sim%5Cfaults",
        "/api/v2/agents/a%2Fb",
        "/api/v2/agents/x%1B%5D0",
        "/api/v2/agents/../../_sim/faults",
    ] {
        assert_eq!(raw_get_status(sim.base_url(), path).await, 400, "{path}");
    }
    let journal = sim.journal();
    assert_eq!(journal.len(), 7);
    assert!(journal.iter().all(|e| e.status == 400));
}
