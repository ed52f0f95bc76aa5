//! OAuth2 token endpoints and bearer/scope enforcement (seeds 000, 001, 002).

#![allow(clippy::unwrap_used)]

mod support;

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{Value, json};
use support::*;

#[derive(Clone, Copy, Debug)]
enum ClientAuth {
    FormBody,
    Basic,
}

#[tokio::test]
async fn token_endpoints_accept_both_paths_and_both_client_auth_styles() {
    let sim = Sim::start().await.unwrap();
    let http = http();
    for path in ["/oauth/token", "/v1/oauth2/token"] {
        for auth in [ClientAuth::FormBody, ClientAuth::Basic] {
            let url = format!("{}{path}", sim.base_url());
            let req = match auth {
                ClientAuth::FormBody => http.post(url).form(&[
                    ("grant_type", "client_credentials"),
                    ("client_id", DEFAULT_CLIENT_ID),
                    ("client_secret", DEFAULT_CLIENT_SECRET),
                    (
                        "scope",
                        "workflow.execute workflow.read audit.read tenant.read",
                    ),
                ]),
                // Seed 002 style: Basic client auth, grant_type in the query.
                ClientAuth::Basic => http
                    .post(url)
                    .query(&[("grant_type", "client_credentials")])
                    .basic_auth(DEFAULT_CLIENT_ID, Some(DEFAULT_CLIENT_SECRET)),
            };
            let resp = req.send().await.unwrap();
            assert_eq!(resp.status(), StatusCode::OK, "{path} {auth:?}");
            let body: Value = resp.json().await.unwrap();
            assert_eq!(body["token_type"], "Bearer", "{path} {auth:?}");
            assert_eq!(body["expires_in"], 3600, "{path} {auth:?}");
            assert!(body["access_token"].as_str().unwrap().len() >= 32);
            let scope = body["scope"].as_str().unwrap();
            match auth {
                ClientAuth::FormBody => assert_eq!(
                    scope,
                    "workflow.execute workflow.read audit.read tenant.read"
                ),
                ClientAuth::Basic => {
                    for s in cx_sim::all_scopes() {
                        assert!(scope.split(' ').any(|g| g == s), "{s} in {scope}");
                    }
                }
            }
            // The token works on the API.
            let token = body["access_token"].as_str().unwrap();
            let resp = http
                .get(format!(
                    "{}/api/v2/workflows/{SEED_WORKFLOW_ID}",
                    sim.base_url()
                ))
                .bearer_auth(token)
                .send()
                .await
                .unwrap();
            assert_eq!(resp.status(), StatusCode::OK, "{path} {auth:?}");
        }
    }
}

#[tokio::test]
async fn token_errors() {
    let sim = Sim::start().await.unwrap();
    let http = http();
    let url = format!("{}/v1/oauth2/token", sim.base_url());
    // (name, form fields, expected status, expected OAuth error code)
    type Case = (
        &'static str,
        Vec<(&'static str, &'static str)>,
        StatusCode,
        &'static str,
    );
    let cases: Vec<Case> = vec![
        (
            "wrong secret",
            vec![
                ("grant_type", "client_credentials"),
                ("client_id", DEFAULT_CLIENT_ID),
                ("client_secret", "nope"),
            ],
            StatusCode::UNAUTHORIZED,
            "invalid_client",
        ),
        (
            "unknown client",
            vec![
                ("grant_type", "client_credentials"),
                ("client_id", "who"),
                ("client_secret", "x"),
            ],
            StatusCode::UNAUTHORIZED,
            "invalid_client",
        ),
        (
            "no credentials",
            vec![("grant_type", "client_credentials")],
            StatusCode::UNAUTHORIZED,
            "invalid_client",
        ),
        (
            "unsupported grant",
            vec![
                ("grant_type", "authorization_code"),
                ("client_id", DEFAULT_CLIENT_ID),
                ("client_secret", DEFAULT_CLIENT_SECRET),
            ],
            StatusCode::BAD_REQUEST,
            "unsupported_grant_type",
        ),
        (
            "missing grant",
            vec![
                ("client_id", DEFAULT_CLIENT_ID),
                ("client_secret", DEFAULT_CLIENT_SECRET),
            ],
            StatusCode::BAD_REQUEST,
            "invalid_request",
        ),
        (
            "scope the client lacks",
            vec![
                ("grant_type", "client_credentials"),
                ("client_id", READONLY_CLIENT_ID),
                ("client_secret", READONLY_CLIENT_SECRET),
                ("scope", "workflow.read workflow.execute"),
            ],
            StatusCode::BAD_REQUEST,
            "invalid_scope",
        ),
        (
            "unknown scope",
            vec![
                ("grant_type", "client_credentials"),
                ("client_id", DEFAULT_CLIENT_ID),
                ("client_secret", DEFAULT_CLIENT_SECRET),
                ("scope", "root"),
            ],
            StatusCode::BAD_REQUEST,
            "invalid_scope",
        ),
    ];
    for (name, form, status, error) in cases {
        let resp = http.post(&url).form(&form).send().await.unwrap();
        assert_eq!(resp.status(), status, "{name}");
        let body: Value = resp.json().await.unwrap();
        assert_eq!(body["error"], error, "{name}");
        assert!(body["error_description"].is_string(), "{name}");
    }
}

#[tokio::test]
async fn api_requires_a_valid_bearer_token() {
    let ctx = Ctx::new().await;
    let path = format!("/api/v2/workflows/{SEED_WORKFLOW_ID}");
    let cases: Vec<(&str, Option<&str>)> =
        vec![("missing", None), ("unknown", Some("not-a-token"))];
    for (name, token) in cases {
        let mut req = ctx.http.get(ctx.url(&path));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        let resp = req.send().await.unwrap();
        assert_eq!(resp.status(), StatusCode::UNAUTHORIZED, "{name}");
        assert!(resp.headers().contains_key("www-authenticate"), "{name}");
        let body: Value = resp.json().await.unwrap();
        assert_eq!(body["error"], "invalid_token", "{name}");
    }
}

#[tokio::test]
async fn tokens_expire_on_the_virtual_clock_and_can_be_revoked() {
    let sim = Sim::builder()
        .token_ttl(Duration::from_secs(60))
        .start()
        .await
        .unwrap();
    let ctx = Ctx::with(sim).await;
    let path = format!("/api/v2/workflows/{SEED_WORKFLOW_ID}");
    assert_eq!(ctx.get(&path).await.status(), StatusCode::OK);
    ctx.sim.advance_clock(Duration::from_secs(61));
    let resp = ctx.get(&path).await;
    assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["error"], "invalid_token");

    let fresh = token(
        &ctx.http,
        &ctx.sim,
        DEFAULT_CLIENT_ID,
        DEFAULT_CLIENT_SECRET,
    )
    .await;
    let get = |t: String| {
        let req = ctx.http.get(ctx.url(&path)).bearer_auth(t);
        async move { req.send().await.unwrap().status() }
    };
    assert_eq!(get(fresh.clone()).await, StatusCode::OK);
    ctx.sim.revoke_tokens();
    assert_eq!(get(fresh).await, StatusCode::UNAUTHORIZED);
    let after = token(
        &ctx.http,
        &ctx.sim,
        DEFAULT_CLIENT_ID,
        DEFAULT_CLIENT_SECRET,
    )
    .await;
    assert_eq!(get(after).await, StatusCode::OK);
}

#[tokio::test]
async fn read_only_client_gets_403_naming_the_missing_scope() {
    let sim = Sim::start().await.unwrap();
    let http = http();
    let t = token(&http, &sim, READONLY_CLIENT_ID, READONLY_CLIENT_SECRET).await;
    let base = sim.base_url();
    // (method, path, body, expected status, scope named in the 403)
    let cases: Vec<(&str, String, Value, StatusCode, Option<&str>)> = vec![
        (
            "POST",
            format!("/api/v2/workflows/{SEED_WORKFLOW_ID}/executions"),
            json!({"input": seed_input(10)}),
            StatusCode::FORBIDDEN,
            Some("workflow.execute"),
        ),
        (
            "POST",
            "/api/v2/workflows/instances".to_owned(),
            json!({"workflowId": SEED_WORKFLOW_ID, "priority": 1, "context": {}}),
            StatusCode::FORBIDDEN,
            Some("workflow:write"),
        ),
        (
            "GET",
            format!("/api/v2/workflows/{SEED_WORKFLOW_ID}"),
            Value::Null,
            StatusCode::OK,
            None,
        ),
        (
            "GET",
            "/api/v2/workflows/instances".to_owned(),
            Value::Null,
            StatusCode::OK,
            None,
        ),
        (
            "GET",
            "/api/v2/audit/logs".to_owned(),
            Value::Null,
            StatusCode::OK,
            None,
        ),
    ];
    for (method, path, body, status, scope) in cases {
        let req = match method {
            "POST" => http.post(format!("{base}{path}")).json(&body),
            _ => http.get(format!("{base}{path}")),
        };
        let resp = req.bearer_auth(&t).send().await.unwrap();
        assert_eq!(resp.status(), status, "{method} {path}");
        if let Some(scope) = scope {
            let body: Value = resp.json().await.unwrap();
            assert_eq!(body["error"], "insufficient_scope");
            assert_eq!(body["message"], format!("missing scope: {scope}"));
            let required = body["requiredScopes"].as_array().unwrap();
            assert!(required.iter().any(|s| s == scope), "{required:?}");
        }
    }
}

#[tokio::test]
async fn registered_clients_get_their_scopes_and_ttl() {
    let sim = Sim::builder()
        .client(
            cx_sim::ClientRegistration::new("extra", "extra-secret", "tenant-x")
                .with_scopes(["workflow:read", "workflow:write"])
                .with_token_ttl(Duration::from_secs(30)),
        )
        .start()
        .await
        .unwrap();
    let http = http();
    let resp = http
        .post(format!("{}/v1/oauth2/token", sim.base_url()))
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", "extra"),
            ("client_secret", "extra-secret"),
        ])
        .send()
        .await
        .unwrap();
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["expires_in"], 30);
    assert_eq!(body["scope"], "workflow:read workflow:write");
    let t = body["access_token"].as_str().unwrap();
    // workflow:write is a spelling of execution create (seed 001 style).
    let resp = http
        .post(format!(
            "{}/api/v2/workflows/{SEED_WORKFLOW_ID}/executions",
            sim.base_url()
        ))
        .bearer_auth(t)
        .json(&json!({"input": seed_input(1)}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::CREATED);
    // No audit scope.
    let resp = http
        .get(format!("{}/api/v2/audit/logs", sim.base_url()))
        .bearer_auth(t)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::FORBIDDEN);
}
