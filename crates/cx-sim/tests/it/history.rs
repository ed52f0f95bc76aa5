//! Interaction history (seed 003): the query endpoint's filter grammar,
//! retention, fixtures, quota, synthetic sets and webhook receiver, over HTTP.

use std::time::Duration;

use crate::support::*;
use chrono::{SecondsFormat, Utc};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

const QUERY: &str = "/api/v2/interactions/history/query";

fn ago(d: chrono::Duration) -> String {
    (Utc::now() - d).to_rfc3339_opts(SecondsFormat::Secs, true)
}

#[tokio::test]
async fn the_seed_query_returns_the_error_steps_of_its_interaction() {
    let ctx = Ctx::new().await;
    let filter = format!(
        "interactionId IN ['{}'] AND nodeTimestamp >= '{}' AND nodeTimestamp <= '{}' AND errorState = True",
        cx_sim::SEED_INTERACTION_ID,
        ago(chrono::Duration::hours(2)),
        ago(chrono::Duration::zero()),
    );
    let resp = ctx
        .post(
            QUERY,
            &json!({"filter": filter, "limit": 50, "offset": 0, "sort": "nodeTimestamp DESC"}),
        )
        .await;
    let body: Value = json_with(resp, StatusCode::OK).await;
    assert_eq!(body["totalCount"], 1);
    let steps = body["data"][0]["steps"].as_array().unwrap();
    let nodes = strings(&body["data"][0]["steps"], "nodeId");
    assert_eq!(
        nodes,
        ["n5-data-dip", "n3-decision", "n2-menu"],
        "errors only, newest first"
    );
    assert!(steps.iter().all(|s| s["errorState"] == true));
    let decision = &steps[1];
    assert_eq!(decision["nodeType"], "DECISION");
    let start =
        chrono::DateTime::parse_from_rfc3339(decision["startTime"].as_str().unwrap()).unwrap();
    let end = chrono::DateTime::parse_from_rfc3339(decision["endTime"].as_str().unwrap()).unwrap();
    assert_eq!((end - start).num_seconds(), 18);
}

#[tokio::test]
async fn bad_requests_name_the_token_field_or_rule() {
    let ctx = Ctx::new().await;
    let old = ago(chrono::Duration::days(31));
    let cases: Vec<(Value, &str, Option<u64>)> = vec![
        (
            json!({"filter": "interactionId IN ['a'] OR errorState = True"}),
            "invalid_filter",
            Some(23),
        ),
        (
            json!({"filter": "errorState = True"}),
            "invalid_filter",
            Some(0),
        ),
        (
            json!({"filter": format!("interactionId IN ['a'] AND nodeTimestamp >= '{old}'")}),
            "retention_exceeded",
            Some(44),
        ),
        (
            json!({"filter": "interactionId IN ['a']", "limit": 0}),
            "invalid_payload",
            None,
        ),
        (
            json!({"filter": "interactionId IN ['a']", "limit": 1001}),
            "invalid_payload",
            None,
        ),
        (
            json!({"filter": "interactionId IN ['a']", "sort": "nodeId"}),
            "invalid_payload",
            None,
        ),
        (json!({"limit": 5}), "invalid_payload", None),
    ];
    for (body, code, position) in cases {
        let resp = ctx.post(QUERY, &body).await;
        assert_eq!(resp.status(), StatusCode::BAD_REQUEST, "{body}");
        let got: Value = resp.json().await.unwrap();
        assert_eq!(got["error"], code, "{body}: {got}");
        assert_eq!(got["position"].as_u64(), position, "{body}: {got}");
    }
    let resp = ctx
        .post(QUERY, &json!({"filter": "interactionId IN ['a'] OR x"}))
        .await;
    let got: Value = resp.json().await.unwrap();
    assert!(got["message"].as_str().unwrap().contains("`OR`"), "{got}");
}

#[tokio::test]
async fn synthetic_sets_page_by_prefix_and_by_id() {
    let ctx = Ctx::new().await;
    ctx.sim.set_synthetic_history(
        cx_sim::DEFAULT_TENANT,
        cx_sim::SyntheticHistory::new(250, 10).with_seed(9),
    );
    let mut ids = Vec::new();
    for offset in [0, 100, 200, 300] {
        let resp = ctx
            .post(QUERY, &json!({"filter": "interactionId STARTSWITH 'syn-'", "limit": 100, "offset": offset}))
            .await;
        let body: Value = json_with(resp, StatusCode::OK).await;
        assert_eq!(body["totalCount"], 250);
        for item in body["data"].as_array().unwrap() {
            assert_eq!(item["steps"].as_array().unwrap().len(), 10);
            ids.push(item["interactionId"].as_str().unwrap().to_owned());
        }
    }
    let want: Vec<String> = (0..250).map(cx_sim::SyntheticHistory::id).collect();
    assert_eq!(ids, want);
    let filter = format!(
        "interactionId IN ['{}', '{}', 'syn-99999999']",
        cx_sim::SyntheticHistory::id(7),
        cx_sim::SyntheticHistory::id(3)
    );
    let body: Value = ctx.post_json(QUERY, &json!({"filter": filter})).await;
    assert_eq!(body["totalCount"], 2);
    assert_eq!(body["data"][0]["interactionId"], "syn-00000007", "IN order");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_concurrent_query_quota_answers_429_with_retry_after() {
    let ctx = Ctx::new().await;
    ctx.sim.set_history_settings(
        cx_sim::HistorySettings::default()
            .with_max_concurrent_queries(2)
            .with_latency(Duration::from_millis(400)),
    );
    let filter = format!("interactionId IN ['{}']", cx_sim::SEED_INTERACTION_ID);
    let mut tasks = Vec::new();
    for _ in 0..5 {
        let (http, url, token, filter) = (
            ctx.http.clone(),
            ctx.url(QUERY),
            ctx.token.clone(),
            filter.clone(),
        );
        tasks.push(tokio::spawn(async move {
            let resp = fetch(
                http.post(url)
                    .bearer_auth(token)
                    .json(&json!({"filter": filter})),
            )
            .await;
            let retry_after = resp
                .headers()
                .get("retry-after")
                .map(|v| v.to_str().unwrap().to_owned());
            (resp.status(), retry_after)
        }));
    }
    let mut ok = 0;
    let mut limited = 0;
    for t in tasks {
        match t.await.unwrap() {
            (StatusCode::OK, _) => ok += 1,
            (StatusCode::TOO_MANY_REQUESTS, Some(ra)) if ra == "1" => limited += 1,
            other => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!((ok, limited), (2, 3));
    // The slots are released: the next query passes.
    let resp = ctx.post(QUERY, &json!({"filter": filter})).await;
    assert_eq!(resp.status(), StatusCode::OK);
}

#[tokio::test]
async fn history_needs_the_interactions_scope_and_webhooks_are_kept() {
    let ctx = Ctx::new().await;
    let http = http();
    let readonly = token(&http, &ctx.sim, READONLY_CLIENT_ID, READONLY_CLIENT_SECRET).await;
    let resp = fetch(
        http.post(ctx.url(QUERY))
            .bearer_auth(readonly)
            .json(&json!({"filter": "interactionId IN ['a']"})),
    )
    .await;
    let body: Value = json_with(resp, StatusCode::FORBIDDEN).await;
    assert_eq!(body["message"], "missing scope: interactions:read");

    let resp = fetch(
        http.post(ctx.url("/webhooks/history"))
            .json(&json!({"status": "completion"})),
    )
    .await;
    assert_eq!(resp.status(), StatusCode::NO_CONTENT);
    assert_eq!(
        ctx.sim.history_webhooks(),
        vec![json!({"status": "completion"})]
    );
}

/// The admin route of the history settings.
const SETTINGS: &str = "/_sim/history/settings";

#[tokio::test]
async fn the_admin_api_configures_synthetic_sets_settings_and_lists_webhooks() {
    let ctx = Ctx::new().await;
    let synthetic = json!({"interactions": 3, "steps": 4});
    let path = "/_sim/history/synthetic?tenant=tenant-default";
    let set = admin(&ctx, Method::PUT, path, &synthetic).await;
    assert_eq!(set, StatusCode::NO_CONTENT);
    let settings = json!({"maxConcurrentQueries": 1, "latencyMs": 0});
    let set = admin(&ctx, Method::PUT, SETTINGS, &settings).await;
    assert_eq!(set, StatusCode::NO_CONTENT);
    let body: Value = ctx
        .post_json(
            QUERY,
            &json!({"filter": "interactionId STARTSWITH 'syn-000'"}),
        )
        .await;
    assert_eq!(body["totalCount"], 3);
    assert_eq!(body["data"][2]["steps"].as_array().unwrap().len(), 4);
    let bad = admin(&ctx, Method::PUT, SETTINGS, &json!({"latencyMs": 5})).await;
    assert_eq!(bad, StatusCode::BAD_REQUEST);
    let hooks: Value = send_json(ctx.http.get(ctx.url("/_sim/history/webhooks"))).await;
    assert_eq!(hooks, json!([]));
}
