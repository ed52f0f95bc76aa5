//! Audit logs (seed 000 step 5): entries from real mutations, paginated.

use std::collections::HashSet;
use std::time::Duration;

use crate::support::*;
use reqwest::StatusCode;
use serde_json::{Value, json};

#[tokio::test]
async fn audit_log_pages_through_entries_written_by_mutations() {
    // Long runs so nothing completes before the clock is advanced.
    let ctx = Ctx::start(Sim::builder().execution_duration(Duration::from_secs(10))).await;
    let mut exec_ids = Vec::new();
    for score in [10, 20, 30, 40, 50] {
        let created = ctx.execute(SEED_WORKFLOW_ID, seed_input(score)).await;
        exec_ids.push(created["id"].as_str().unwrap().to_owned());
    }
    let failing = ctx.execute("wf_failing_0001", seed_input(1)).await;
    let resp = ctx
        .post(
            "/api/v2/workflows/instances",
            &json!({"workflowId": SEED_WORKFLOW_ID, "priority": 4, "context": {}}),
        )
        .await;
    assert_eq!(resp.status(), StatusCode::CREATED);
    ctx.sim.advance_clock(Duration::from_secs(11));

    // Seed 000's export loop: resourceType + resourceId, follow nextPageToken.
    let mut items: Vec<Value> = Vec::new();
    let mut token: Option<String> = None;
    let mut pages = 0;
    loop {
        let mut q = vec![
            ("resourceType", "workflow_execution".to_owned()),
            ("resourceId", SEED_WORKFLOW_ID.to_owned()),
            ("pageSize", "3".to_owned()),
        ];
        if let Some(t) = &token {
            q.push(("pageToken", t.clone()));
        }
        let resp = fetch(
            ctx.http
                .get(ctx.url("/api/v2/audit/logs"))
                .bearer_auth(&ctx.token)
                .query(&q),
        )
        .await;
        let page: Value = json_with(resp, StatusCode::OK).await;
        assert_eq!(page["totalCount"], 10);
        pages += 1;
        let page_items = page["items"].as_array().unwrap();
        assert!(page_items.len() <= 3);
        items.extend(page_items.iter().cloned());
        match page.get("nextPageToken") {
            Some(Value::String(t)) => token = Some(t.clone()),
            None => break,
            Some(other) => panic!("unexpected nextPageToken {other}"),
        }
        assert!(pages < 10, "pagination does not terminate");
    }
    assert_eq!(pages, 4);
    assert_eq!(items.len(), 10);
    let ids: HashSet<&str> = items.iter().map(|i| i["id"].as_str().unwrap()).collect();
    assert_eq!(ids.len(), 10, "entry ids are unique");
    let actions: Vec<&str> = items
        .iter()
        .map(|i| i["action"].as_str().unwrap())
        .collect();
    assert_eq!(&actions[..5], &["EXECUTION_CREATED"; 5]);
    assert_eq!(&actions[5..], &["EXECUTION_COMPLETED"; 5]);
    for item in &items {
        assert_eq!(item["userId"], DEFAULT_CLIENT_ID);
        assert_eq!(item["resourceType"], "workflow_execution");
        assert_eq!(item["resourceId"], SEED_WORKFLOW_ID);
        assert!(item["timestamp"].as_str().unwrap().ends_with('Z'));
    }
    assert_eq!(items[0]["details"]["executionId"], exec_ids[0]);
    assert_eq!(items[0]["details"]["priority"], "NORMAL");
    // Timestamps never go backwards.
    let stamps: Vec<&str> = items
        .iter()
        .map(|i| i["timestamp"].as_str().unwrap())
        .collect();
    assert!(stamps.windows(2).all(|w| w[0] <= w[1]), "{stamps:?}");

    // Other filters.
    let cases = [
        ("?resourceType=workflow_instance", 2),
        (
            "?resourceType=workflow_execution&resourceId=wf_failing_0001",
            2,
        ),
        ("?action=EXECUTION_FAILED", 1),
        ("", 14),
    ];
    for (query, want) in cases {
        let page = ctx.get_json(&format!("/api/v2/audit/logs{query}")).await;
        assert_eq!(page["totalCount"], want, "{query}");
        assert!(page.get("nextPageToken").is_none(), "{query}");
    }
    let failed = ctx
        .get_json("/api/v2/audit/logs?action=EXECUTION_FAILED")
        .await;
    assert_eq!(failed["items"][0]["details"]["executionId"], failing["id"]);
    assert_eq!(
        failed["items"][0]["details"]["errorCode"],
        "DOWNSTREAM_TIMEOUT"
    );

    for bad in [
        "?pageToken=%21%21",
        "?pageSize=0",
        "?pageSize=1001",
        "?pageSize=ten",
    ] {
        let resp = ctx.get(&format!("/api/v2/audit/logs{bad}")).await;
        assert_eq!(resp.status(), StatusCode::BAD_REQUEST, "{bad}");
        let err: Value = resp.json().await.unwrap();
        assert_eq!(err["error"], "invalid_parameter", "{bad}");
    }
}

#[tokio::test]
async fn completion_entries_are_written_exactly_once() {
    let ctx = Ctx::new().await;
    ctx.execute(SEED_WORKFLOW_ID, seed_input(1)).await;
    ctx.sim.advance_clock(Duration::from_secs(1));
    for _ in 0..3 {
        let page = ctx
            .get_json("/api/v2/audit/logs?action=EXECUTION_COMPLETED")
            .await;
        assert_eq!(page["totalCount"], 1);
    }
}
