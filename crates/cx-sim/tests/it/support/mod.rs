//! The cx-sim integration tests use the workspace's shared test support.

pub use cx_testkit::*;
use serde_json::Value;

/// An access token for `client_id` from `ctx`'s simulator.
pub async fn token_for(ctx: &Ctx, client_id: &str, secret: &str) -> String {
    token(&ctx.http, &ctx.sim, client_id, secret).await
}

/// POSTs `body` to `path` with `ctx`'s token under `Idempotency-Key: key`.
pub async fn post_keyed(ctx: &Ctx, path: &str, key: &str, body: &Value) -> reqwest::Response {
    fetch(
        ctx.http
            .post(ctx.url(path))
            .bearer_auth(&ctx.token)
            .header("Idempotency-Key", key)
            .json(body),
    )
    .await
}

/// [`post_keyed`] twice with the same key: both answers must be `status`;
/// their JSON bodies.
pub async fn post_twice(
    ctx: &Ctx,
    path: &str,
    key: &str,
    body: &Value,
    status: reqwest::StatusCode,
) -> [Value; 2] {
    let mut bodies = [Value::Null, Value::Null];
    for answer in &mut bodies {
        let resp = post_keyed(ctx, path, key, body).await;
        assert_eq!(resp.status(), status, "{path} under {key}");
        *answer = resp.json().await.unwrap();
    }
    bodies
}
