//! OAuth2 token endpoints and bearer/scope enforcement (seeds 000, 001, 002).

use std::time::Duration;

use crate::support::*;
use reqwest::StatusCode;
use serde_json::{Value, json};

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
            let path = format!("/api/v2/workflows/{SEED_WORKFLOW_ID}");
            let resp = get_with_token(&http, &sim, token, &path).await;
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
        let resp = fetch(http.post(&url).form(&form)).await;
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
    let ctx = Ctx::start(Sim::builder().token_ttl(Duration::from_secs(60))).await;
    let path = format!("/api/v2/workflows/{SEED_WORKFLOW_ID}");
    assert_eq!(ctx.get(&path).await.status(), StatusCode::OK);
    ctx.sim.advance_clock(Duration::from_secs(61));
    let resp = ctx.get(&path).await;
    let body: Value = json_with(resp, StatusCode::UNAUTHORIZED).await;
    assert_eq!(body["error"], "invalid_token");

    let fresh = token_for(&ctx, DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET).await;
    let get = |t: String| {
        let req = ctx.http.get(ctx.url(&path)).bearer_auth(t);
        async move { req.send().await.unwrap().status() }
    };
    assert_eq!(get(fresh.clone()).await, StatusCode::OK);
    ctx.sim.revoke_tokens();
    assert_eq!(get(fresh).await, StatusCode::UNAUTHORIZED);
    let after = token_for(&ctx, DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET).await;
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
    let resp = fetch(
        http.post(format!("{}/v1/oauth2/token", sim.base_url()))
            .form(&[
                ("grant_type", "client_credentials"),
                ("client_id", "extra"),
                ("client_secret", "extra-secret"),
            ]),
    )
    .await;
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["expires_in"], 30);
    assert_eq!(body["scope"], "workflow:read workflow:write");
    let t = body["access_token"].as_str().unwrap();
    // workflow:write is a spelling of execution create (seed 001 style).
    let resp = fetch(
        http.post(format!(
            "{}/api/v2/workflows/{SEED_WORKFLOW_ID}/executions",
            sim.base_url()
        ))
        .bearer_auth(t)
        .json(&json!({"input": seed_input(1)})),
    )
    .await;
    assert_eq!(resp.status(), StatusCode::CREATED);
    // No audit scope.
    let resp = get_with_token(&http, &sim, t, "/api/v2/audit/logs").await;
    assert_eq!(resp.status(), StatusCode::FORBIDDEN);
}

// ---- CXone's access-key login (CXONE_REST.md §1) ----

/// `POST {base}/auth/token` with the default client as Basic and `form`.
async fn user_grant(http: &reqwest::Client, sim: &Sim, form: &[(&str, &str)]) -> reqwest::Response {
    fetch(
        http.post(format!("{}/auth/token", sim.base_url()))
            .basic_auth(DEFAULT_CLIENT_ID, Some(DEFAULT_CLIENT_SECRET))
            .form(form),
    )
    .await
}

/// A password grant with the default key and client; its JSON answer.
async fn password_login(http: &reqwest::Client, sim: &Sim) -> Value {
    user_grant(http, sim, &password_form())
        .await
        .json()
        .await
        .unwrap()
}

/// A refresh grant for the `refresh_token` of `tokens`, client as Basic.
async fn refresh_with(http: &reqwest::Client, sim: &Sim, tokens: &Value) -> reqwest::Response {
    user_grant(
        http,
        sim,
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", tokens["refresh_token"].as_str().unwrap()),
        ],
    )
    .await
}

fn password_form() -> [(&'static str, &'static str); 3] {
    [
        ("grant_type", "password"),
        ("username", cx_sim::DEFAULT_ACCESS_KEY_ID),
        ("password", cx_sim::DEFAULT_ACCESS_KEY_SECRET),
    ]
}

#[tokio::test]
async fn discovery_and_jwks_point_at_the_simulator_and_verify_its_id_tokens() {
    let sim = Sim::start().await.unwrap();
    let http = http();
    let base = sim.base_url();
    let doc: Value = send_json(http.get(format!("{base}/.well-known/openid-configuration"))).await;
    assert_eq!(doc["issuer"], base);
    assert_eq!(doc["token_endpoint"], format!("{base}/auth/token"));
    assert_eq!(doc["jwks_uri"], format!("{base}/auth/jwks"));
    assert_eq!(
        doc["token_endpoint_auth_methods_supported"],
        json!(["client_secret_basic", "client_secret_post"])
    );
    let jwks: jsonwebtoken::jwk::JwkSet =
        send_json(http.get(doc["jwks_uri"].as_str().unwrap())).await;

    // The key id ends in `=`: reqwest percent-encodes it as %3D.
    let resp = user_grant(&http, &sim, &password_form()).await;
    let body: Value = json_with(resp, StatusCode::OK).await;
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["expires_in"], 3600);
    assert_eq!(
        body["issued_token_type"],
        "urn:ietf:params:oauth:token-type:access_token"
    );
    assert!(body["refresh_token"].as_str().unwrap().len() >= 32);
    let id_token = body["id_token"].as_str().unwrap();
    let header = jsonwebtoken::decode_header(id_token).unwrap();
    assert_eq!(header.kid.as_deref(), Some(cx_sim::SIM_SIGNING_KEY_ID));
    let key = jsonwebtoken::DecodingKey::from_jwk(jwks.find(cx_sim::SIM_SIGNING_KEY_ID).unwrap())
        .unwrap();
    let mut validation = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::RS256);
    validation.set_audience(&[DEFAULT_CLIENT_ID]);
    validation.set_issuer(&[base]);
    let claims = jsonwebtoken::decode::<Value>(id_token, &key, &validation)
        .unwrap()
        .claims;
    let tenant_id = cx_sim::tenant_id(cx_sim::DEFAULT_TENANT);
    assert_eq!(claims["tenantId"], tenant_id.as_str());
    assert_eq!(claims["area"], cx_sim::SIM_AREA);
    assert!(claims["sub"].as_str().unwrap().starts_with("user:"));

    // The access token is a user's: every scope, the key's tenant.
    let token = body["access_token"].as_str().unwrap();
    let path = format!("/api/v2/workflows/{SEED_WORKFLOW_ID}");
    let resp = get_with_token(&http, &sim, token, &path).await;
    assert_eq!(resp.status(), StatusCode::OK);

    // The tenant lookup.
    let config: Value = send_json(
        http.get(format!("{base}/.well-known/cxone-configuration"))
            .query(&[("tenantId", &tenant_id)]),
    )
    .await;
    assert_eq!(config["api_endpoint"], base);
    assert_eq!(config["tenantId"], tenant_id.as_str());
    assert_eq!(config["area"], cx_sim::SIM_AREA);
    for (query, status) in [
        ("tenantId=00000000-0000-4000-8000-000000000000", 404),
        ("", 400),
    ] {
        let resp = fetch(http.get(format!("{base}/.well-known/cxone-configuration?{query}"))).await;
        assert_eq!(resp.status().as_u16(), status, "{query}");
        let err: Value = resp.json().await.unwrap();
        assert!(err["error_description"].is_string(), "{err}");
    }
}

#[tokio::test]
async fn refresh_tokens_rotate_expire_on_the_virtual_clock_and_are_bound_to_their_client() {
    let sim = Sim::builder()
        .refresh_token_ttl(Duration::from_secs(600))
        .start()
        .await
        .unwrap();
    let http = http();
    let first = password_login(&http, &sim).await;
    let rt1 = first["refresh_token"].as_str().unwrap();

    // Without client authentication (a public client), rotation.
    let resp = fetch(
        http.post(format!("{}/auth/token", sim.base_url()))
            .form(&[("grant_type", "refresh_token"), ("refresh_token", rt1)]),
    )
    .await;
    let second: Value = json_with(resp, StatusCode::OK).await;
    let rt2 = second["refresh_token"].as_str().unwrap();
    assert_ne!(rt1, rt2);
    assert!(second["id_token"].is_string());

    // The used one is dead.
    let reuse = user_grant(
        &http,
        &sim,
        &[("grant_type", "refresh_token"), ("refresh_token", rt1)],
    )
    .await;
    assert_eq!(reuse.status(), StatusCode::BAD_REQUEST);
    assert_eq!(
        reuse.json::<Value>().await.unwrap()["error"],
        "invalid_grant"
    );

    // Another client may not use it.
    let other = fetch(
        http.post(format!("{}/auth/token", sim.base_url()))
            .basic_auth(TENANT_B_CLIENT_ID, Some(TENANT_B_CLIENT_SECRET))
            .form(&[("grant_type", "refresh_token"), ("refresh_token", rt2)]),
    )
    .await;
    assert_eq!(other.status(), StatusCode::BAD_REQUEST);

    // A fresh one expires after 600 s of sim time.
    let third = password_login(&http, &sim).await;
    sim.advance_clock(Duration::from_secs(601));
    let expired = refresh_with(&http, &sim, &third).await;
    let err: Value = json_with(expired, StatusCode::BAD_REQUEST).await;
    assert_eq!(err["error"], "invalid_grant");
    assert_eq!(err["error_description"], "refresh token has expired");

    // Revocation kills refresh tokens too.
    let fourth = password_login(&http, &sim).await;
    sim.revoke_tokens();
    let revoked = refresh_with(&http, &sim, &fourth).await;
    assert_eq!(revoked.status(), StatusCode::BAD_REQUEST);
    let grants: Vec<Option<String>> = sim.journal().into_iter().map(|e| e.grant_type).collect();
    assert!(
        grants
            .iter()
            .all(|g| matches!(g.as_deref(), Some("password" | "refresh_token")))
    );
}

#[tokio::test]
async fn password_grant_errors_are_oauth_answers() {
    let sim = Sim::start().await.unwrap();
    let http = http();
    type Case<'a> = (
        &'a [(&'a str, &'a str)],
        Option<(&'a str, &'a str)>,
        u16,
        &'a str,
        &'a str,
    );
    let cases: [Case; 5] = [
        (
            &[
                ("grant_type", "password"),
                ("username", "NOPE="),
                ("password", "x"),
            ],
            Some((DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET)),
            400,
            "invalid_grant",
            "unknown access key id",
        ),
        (
            &[
                ("grant_type", "password"),
                ("username", cx_sim::DEFAULT_ACCESS_KEY_ID),
                ("password", "wrong"),
            ],
            Some((DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET)),
            400,
            "invalid_grant",
            "access key secret does not match",
        ),
        (
            &password_form(),
            Some((DEFAULT_CLIENT_ID, "wrong")),
            401,
            "invalid_client",
            "unknown client or wrong client secret",
        ),
        (
            &password_form(),
            None,
            401,
            "invalid_client",
            "client authentication is required",
        ),
        (
            &[("grant_type", "password"), ("password", "x")],
            Some((DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET)),
            400,
            "invalid_request",
            "username is required for grant_type password",
        ),
    ];
    for (form, client, status, error, description) in cases {
        let mut req = http.post(format!("{}/auth/token", sim.base_url()));
        if let Some((id, secret)) = client {
            req = req.basic_auth(id, Some(secret));
        }
        let resp = req.form(form).send().await.unwrap();
        assert_eq!(resp.status().as_u16(), status, "{description}");
        let body: Value = resp.json().await.unwrap();
        assert_eq!(
            body,
            json!({"error": error, "error_description": description})
        );
    }
}

#[tokio::test]
async fn business_unit_paths_are_case_insensitive_with_any_version() {
    let ctx = Ctx::new().await;
    let tenant_b = token_for(&ctx, TENANT_B_CLIENT_ID, TENANT_B_CLIENT_SECRET).await;
    for (path, token, status, tenant) in [
        (
            "/inContactAPI/services/v23.0/business-unit",
            Some(&ctx.token),
            200,
            cx_sim::DEFAULT_TENANT,
        ),
        (
            "/incontactapi/services/V4.0/business-unit/",
            Some(&ctx.token),
            200,
            cx_sim::DEFAULT_TENANT,
        ),
        (
            "/InContactAPI/services/v34.0/business-unit",
            Some(&tenant_b),
            200,
            cx_sim::TENANT_B,
        ),
        ("/inContactAPI/services/v23.0/business-unit", None, 401, ""),
        (
            "/inContactAPI/services/vX.0/business-unit",
            Some(&ctx.token),
            404,
            "",
        ),
        (
            "/inContactAPI/services/v23.0/business-units",
            Some(&ctx.token),
            404,
            "",
        ),
    ] {
        let mut req = ctx.http.get(format!("{}{path}", ctx.sim.base_url()));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        let resp = req.send().await.unwrap();
        assert_eq!(resp.status().as_u16(), status, "{path}");
        if status == 200 {
            let body: Value = resp.json().await.unwrap();
            let unit = &body["businessUnits"][0];
            assert_eq!(
                unit["tenantId"],
                cx_sim::tenant_id(tenant).as_str(),
                "{path}"
            );
            assert!(unit["businessUnitId"].is_u64(), "{path}");
        }
    }
}

#[tokio::test]
async fn access_keys_can_be_added_through_the_admin_api() {
    let sim = Sim::start().await.unwrap();
    let http = http();
    let resp = fetch(http
        .post(format!("{}/_sim/access-keys", sim.base_url()))
        .json(&json!({"accessKeyId": "NEWKEY=", "accessKeySecret": "s3cret", "tenant": cx_sim::TENANT_B}))).await;
    assert_eq!(resp.status(), StatusCode::NO_CONTENT);
    let body: Value = user_grant(
        &http,
        &sim,
        &[
            ("grant_type", "password"),
            ("username", "NEWKEY="),
            ("password", "s3cret"),
        ],
    )
    .await
    .json()
    .await
    .unwrap();
    assert!(body["id_token"].is_string(), "{body}");
    assert_eq!(
        sim.journal().last().unwrap().tenant.as_deref(),
        Some(cx_sim::TENANT_B)
    );
}
