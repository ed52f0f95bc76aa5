//! The legacy access-key JSON token endpoint (`../shared/CXONE_REST.md`
//! §1.9): `POST /authentication/v1/token/access-key`.

use crate::support::*;
use reqwest::StatusCode;
use serde_json::{Value, json};

#[tokio::test]
async fn the_access_key_endpoint_answers_tokens_that_work_and_refuses_a_bad_key() {
    let sim = Sim::start().await.unwrap();
    let http = http();
    let url = format!("{}/authentication/v1/token/access-key", sim.base_url());
    let good = json!({
        "accessKeyId": cx_sim::DEFAULT_ACCESS_KEY_ID,
        "accessKeySecret": cx_sim::DEFAULT_ACCESS_KEY_SECRET,
    });
    let resp = fetch(http.post(&url).json(&good)).await;
    let body: Value = json_with(resp, StatusCode::OK).await;
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["expires_in"], 3600);
    assert!(body["refresh_token"].as_str().unwrap().len() >= 32);
    let token = body["access_token"].as_str().unwrap();
    // The token opens CXone's API.
    let bu = get_with_token(
        &http,
        &sim,
        token,
        "/inContactAPI/services/v23.0/business-unit",
    )
    .await;
    assert_eq!(bu.status(), StatusCode::OK);

    let cases = [
        (
            json!({"accessKeyId": cx_sim::DEFAULT_ACCESS_KEY_ID, "accessKeySecret": "wrong"}),
            StatusCode::UNAUTHORIZED,
        ),
        (
            json!({"accessKeyId": "NOSUCHKEY=", "accessKeySecret": "x"}),
            StatusCode::UNAUTHORIZED,
        ),
        (
            json!({"accessKeyId": cx_sim::DEFAULT_ACCESS_KEY_ID}),
            StatusCode::BAD_REQUEST,
        ),
        (json!(["not", "an", "object"]), StatusCode::BAD_REQUEST),
    ];
    for (body, status) in cases {
        let resp = fetch(http.post(&url).json(&body)).await;
        assert_eq!(resp.status(), status, "{body}");
        let err: Value = resp.json().await.unwrap();
        assert!(err["error"].is_string(), "{err}");
    }
    let grants: Vec<_> = sim
        .journal()
        .into_iter()
        .filter(|e| e.path.starts_with("/authentication/"))
        .map(|e| (e.status, e.grant_type, e.tenant))
        .collect();
    assert_eq!(grants.len(), 5);
    assert_eq!(
        grants[0],
        (
            200,
            Some("access_key".to_owned()),
            Some(cx_sim::DEFAULT_TENANT.to_owned())
        )
    );
    assert!(grants[1..].iter().all(|g| g.0 >= 400 && g.2.is_none()));
}
