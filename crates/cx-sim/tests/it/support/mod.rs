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

/// Sends `body` as JSON with `method` to the admin route `path` (no
/// token); the answer's status.
pub async fn admin(
    ctx: &Ctx,
    method: reqwest::Method,
    path: &str,
    body: &impl serde::Serialize,
) -> reqwest::StatusCode {
    fetch(ctx.http.request(method, ctx.url(path)).json(body))
        .await
        .status()
}

/// GETs `path` with `token` instead of `ctx`'s.
pub async fn get_as(ctx: &Ctx, token: &str, path: &str) -> reqwest::Response {
    get_with_token(&ctx.http, &ctx.sim, token, path).await
}

/// GETs `path` on `sim` with the bearer `token`, for tests that fetch
/// their tokens themselves.
pub async fn get_with_token(
    http: &reqwest::Client,
    sim: &Sim,
    token: &str,
    path: &str,
) -> reqwest::Response {
    fetch(
        http.get(format!("{}{path}", sim.base_url()))
            .bearer_auth(token),
    )
    .await
}

/// `resp`'s JSON body, once its status is `status`.
pub async fn json_with<T: serde::de::DeserializeOwned>(
    resp: reqwest::Response,
    status: reqwest::StatusCode,
) -> T {
    assert_eq!(resp.status(), status, "{}", resp.url());
    resp.json().await.unwrap()
}

/// The string `key` of each item of the array `list` (`""` where an item
/// has none); panics when `list` is not an array.
pub fn strings<'a>(list: &'a Value, key: &str) -> Vec<&'a str> {
    list.as_array()
        .unwrap()
        .iter()
        .map(|item| item[key].as_str().unwrap_or_default())
        .collect()
}
