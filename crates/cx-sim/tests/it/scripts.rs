//! Spawning and signalling scripts (`../shared/CXONE_REST.md` §5, §9): a
//! started script is a contact, active on the virtual clock, then a
//! completed record with a state history.

use std::time::Duration;

use crate::support::*;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

const API: &str = "/inContactAPI/services/v23.0";

/// `POST {API}/interactions/{id}/signal` with the parameters `body`.
async fn signal(ctx: &Ctx, id: u64, body: Value) -> reqwest::Response {
    ctx.post(&format!("{API}/interactions/{id}/signal"), &body)
        .await
}

#[tokio::test]
async fn a_started_script_is_an_active_contact_then_a_completed_one() {
    let ctx = Ctx::new().await;
    let found = ctx
        .get_json(&format!("{API}/scripts?scriptName=outbound%20survey"))
        .await;
    assert_eq!(found["scripts"][0]["scriptId"], 5_100_001, "{found}");
    let none = ctx.get(&format!("{API}/scripts?scriptName=nope")).await;
    assert_eq!(none.status(), StatusCode::NO_CONTENT);

    // The v34 form: query parameters.
    let resp = fetch(
        ctx.http
            .post(ctx.url("/incontactapi/services/v34.0/scripts/start"))
            .query(&[
                ("scriptId", "5100001"),
                ("skillId", "4100002"),
                ("Parameters", "a|b"),
            ])
            .bearer_auth(&ctx.token),
    )
    .await;
    assert_eq!(resp.status(), StatusCode::OK);
    let id = resp.json::<Value>().await.unwrap()["contactId"]
        .as_u64()
        .unwrap();

    let active = ctx
        .get_json(&format!("{API}/contacts/active?contactId={id}"))
        .await;
    assert_eq!(active["activeContacts"][0]["contactId"], id, "{active}");
    let signalled = signal(&ctx, id, json!({"p1": "go", "p2": "7"})).await;
    assert_eq!(signalled.status(), StatusCode::ACCEPTED);
    let too_many = signal(&ctx, id, json!({"p10": "x"})).await;
    assert_eq!(too_many.status(), StatusCode::BAD_REQUEST);

    // Its run time (90 s) passes: it leaves the active list.
    ctx.sim.advance_clock(Duration::from_secs(91));
    let gone = ctx
        .get(&format!("{API}/contacts/active?contactId={id}"))
        .await;
    assert_eq!(gone.status(), StatusCode::NO_CONTENT);
    let late = signal(&ctx, id, json!({"p1": "x"})).await;
    assert_eq!(late.status(), StatusCode::NOT_FOUND);
    assert_eq!(late.headers()["icstatusdescription"], "InvalidContactId");
    let record = ctx.get(&format!("{API}/contacts/{id}")).await;
    assert_eq!(record.status(), StatusCode::OK);
    let history = ctx
        .get_json(&format!("{API}/contacts/{id}/state-history"))
        .await;
    assert!(
        history["contactStateHistory"]
            .as_array()
            .is_some_and(|h| !h.is_empty()),
        "{history}"
    );
}

#[tokio::test]
async fn the_sdk_form_starts_by_id_and_bad_starts_are_refused() {
    let ctx = Ctx::new().await;
    let started = ctx
        .post(
            &format!("{API}/scripts/5100003/start"),
            &json!({"scriptId": 5100003, "skillId": 4100001, "parameters": "x|y", "startDate": ""}),
        )
        .await;
    assert_eq!(started.status(), StatusCode::OK);
    assert!(started.json::<Value>().await.unwrap()["contactId"].is_u64());
    for (path, body) in [
        (
            format!("{API}/scripts/999/start"),
            json!({"skillId": 4100001}),
        ),
        (
            format!("{API}/scripts/5100003/start"),
            json!({"skillId": 1, "parameters": ""}),
        ),
        (
            format!("{API}/scripts/5100003/start"),
            json!({"parameters": ["not", "joined"]}),
        ),
        (format!("{API}/scripts/start"), json!({"skillId": 4100001})),
    ] {
        let resp = ctx.post(&path, &body).await;
        assert_eq!(resp.status(), StatusCode::BAD_REQUEST, "{path} {body}");
        assert!(resp.headers().contains_key("icstatusdescription"));
    }
}

/// The hand-matched real APIs (agents, contacts, scripts): a known path with
/// another method is 405 with `icStatusDescription`, an unknown path under
/// `vNN.0` is 404, a known one is served whatever the case and version.
#[tokio::test]
async fn known_paths_with_another_method_are_405_and_unknown_ones_404() {
    let ctx = Ctx::new().await;
    let cases = [
        (Method::DELETE, "agents", StatusCode::METHOD_NOT_ALLOWED),
        (
            Method::POST,
            "agents/states",
            StatusCode::METHOD_NOT_ALLOWED,
        ),
        (
            Method::PATCH,
            "agents/3100001/skills",
            StatusCode::METHOD_NOT_ALLOWED,
        ),
        (
            Method::GET,
            "agents/3100001/state",
            StatusCode::METHOD_NOT_ALLOWED,
        ),
        (
            Method::POST,
            "contacts/completed",
            StatusCode::METHOD_NOT_ALLOWED,
        ),
        (
            Method::PUT,
            "contacts/42/statehistory",
            StatusCode::METHOD_NOT_ALLOWED,
        ),
        (Method::GET, "scripts/start", StatusCode::METHOD_NOT_ALLOWED),
        (
            Method::GET,
            "interactions/1/signal",
            StatusCode::METHOD_NOT_ALLOWED,
        ),
        (Method::GET, "agents/3100001/nothing", StatusCode::NOT_FOUND),
        (Method::GET, "nothing", StatusCode::NOT_FOUND),
        (Method::GET, "Agents/States", StatusCode::OK),
        (Method::GET, "agents/3100001/skills", StatusCode::OK),
    ];
    for (method, route, status) in cases {
        let resp = fetch(
            ctx.http
                .request(method.clone(), ctx.url(&format!("{API}/{route}")))
                .bearer_auth(&ctx.token),
        )
        .await;
        assert_eq!(resp.status(), status, "{method} {route}");
        if status == StatusCode::METHOD_NOT_ALLOWED {
            assert!(
                resp.headers().contains_key("icstatusdescription"),
                "{route}"
            );
        }
    }
}
