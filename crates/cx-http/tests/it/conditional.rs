//! `ConditionalUpdate` and per-request `RateLimiter`s over real HTTP against
//! cx-sim's seed-002 agent (ETag on read, 409 on a stale `If-Match`).

// Tests unwrap: a panic with the value is the failure report.

use crate::support::{client, sent, statuses};
use cx_http::{Client, ConditionalUpdate, ErrorKind, RateLimit, RateLimiter, Versioned};
use cx_sim::Sim;
use serde_json::{Value, json};

const AGENT: &str = "/api/v2/agents/agent-001";

async fn read(client: &Client) -> Result<Versioned<Value>, cx_http::Error> {
    let resp = client.get(AGENT).send().await?;
    Ok(Versioned::new(resp.etag().map(str::to_owned), resp.json()?))
}

/// PATCH the work mode, keeping the state's skills and setting `reason`.
async fn write(
    client: &Client,
    state: Versioned<Value>,
    reason: &str,
) -> Result<cx_http::Response, cx_http::Error> {
    let body = json!({
        "workModeId": "workMode-123",
        "skillLevels": state.value["skills"],
        "reason": reason,
    });
    let req = client
        .link(cx_http::Method::PATCH, &format!("{AGENT}/workmodes"))
        .json(&body);
    let req = match &state.etag {
        Some(tag) => req.if_match(tag),
        None => req,
    };
    req.send().await
}

/// A simulator, a client, and the agent's state as read just before someone
/// else wrote it (now stale).
async fn overtaken() -> (Sim, Client, Versioned<Value>) {
    let sim = Sim::start().await.unwrap();
    let client = client(&sim);
    let stale = read(&client).await.unwrap();
    write(&client, stale.clone(), "other").await.unwrap();
    (sim, client, stale)
}

#[tokio::test]
async fn a_stale_etag_is_refetched_and_the_change_reapplied_once() {
    let (sim, client, stale) = overtaken().await;

    let applied = ConditionalUpdate::default()
        .run(
            Some(stale.clone()),
            || read(&client),
            |state| write(&client, state, "mine"),
        )
        .await
        .unwrap();
    assert_eq!((applied.attempts, applied.conflicts), (2, 1));
    assert_ne!(applied.base.etag, stale.etag);
    assert_ne!(applied.value.etag(), applied.base.etag.as_deref());

    let patches = sent(&sim, "PATCH", AGENT);
    assert_eq!(statuses(&sim, "PATCH", AGENT), [200, 409, 200]);
    assert_eq!(patches[1].if_match, stale.etag);
    assert_eq!(patches[2].if_match, applied.base.etag);
    assert_eq!(
        sent(&sim, "GET", AGENT).len(),
        2,
        "one initial read, one refetch"
    );
}

#[tokio::test]
async fn a_budget_spent_on_conflicts_is_a_conflict_error() {
    let (sim, client, stale) = overtaken().await;
    // The "fetch" keeps returning the stale state, so every attempt conflicts.
    let err = ConditionalUpdate::new(4)
        .run(
            None,
            || {
                let s = stale.clone();
                async move { Ok(s) }
            },
            |state| write(&client, state, "mine"),
        )
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Conflict);
    assert_eq!((err.status(), err.attempts()), (Some(409), 4));
    // The other writer's 200, then four conflicts.
    assert_eq!(statuses(&sim, "PATCH", AGENT), [200, 409, 409, 409, 409]);
}

#[tokio::test]
async fn a_request_rate_limiter_spaces_only_the_calls_it_is_given_to() {
    let sim = Sim::start().await.unwrap();
    let client = client(&sim);
    let limiter = RateLimiter::new(RateLimit::new(10, 1)).unwrap();
    read(&client).await.unwrap(); // token fetched before timing
    let tasks: Vec<_> = (0..6)
        .map(|i| {
            let client = client.clone();
            let limiter = limiter.clone();
            tokio::spawn(async move {
                client
                    .link(cx_http::Method::PATCH, &format!("{AGENT}/workmodes"))
                    .json(&json!({"workModeId": "workMode-123", "reason": i.to_string()}))
                    .rate_limiter(&limiter)
                    .send()
                    .await
                    .unwrap();
            })
        })
        .collect();
    for _ in 0..6 {
        read(&client).await.unwrap();
    }
    for t in tasks {
        t.await.unwrap();
    }
    let at = |method: &str| -> Vec<u64> {
        sent(&sim, method, AGENT)
            .iter()
            .filter(|e| e.path.ends_with("/workmodes") == (method == "PATCH"))
            .map(|e| e.at_ms)
            .collect()
    };
    let patches = at("PATCH");
    assert_eq!(patches.len(), 6);
    // 6 slots at 10/s with no burst: at least 5 × 100 ms between first and last.
    let span = patches.iter().max().unwrap() - patches.iter().min().unwrap();
    assert!(span >= 480, "PATCHes spanned only {span} ms");
    assert_eq!(at("GET").len(), 7, "reads were not held back");
}
