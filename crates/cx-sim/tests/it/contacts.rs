//! CXone's contact reads over raw HTTP: completed contacts (date rules,
//! paging by `_links.next`, 204, both field-name generations, `updatedSince`
//! on the virtual clock), one contact, its state history (both spellings),
//! active contacts and an agent's interaction history.

use std::time::Duration;

use crate::support::*;
use chrono::{SecondsFormat, Utc};
use serde_json::Value;

/// ISO-8601 of now minus `hours` hours.
fn hours_ago(hours: i64) -> String {
    (Utc::now() - chrono::Duration::hours(hours)).to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// The v33 API, whose contact fields have their new names.
const V33: &str = "/inContactAPI/services/v33.0";

/// `GET {V33}/contacts/{id}` (any status).
async fn contact_by_id(ctx: &Ctx, id: u64) -> Value {
    ctx.get_json(&format!("{V33}/contacts/{id}")).await
}

fn completed(version: &str, query: &str) -> String {
    format!("/inContactAPI/services/{version}/contacts/completed?{query}")
}

#[tokio::test]
async fn completed_contacts_follow_the_date_rules_with_ic_status_description() {
    let ctx = Ctx::new().await;
    let cases = [
        ("top=10".to_owned(), "No dates fields provided"),
        (
            format!("startDate={}&endDate={}", hours_ago(24 * 31), hours_ago(0)),
            "at most 30 days",
        ),
        (
            format!("startDate={}&endDate={}", hours_ago(1), hours_ago(2)),
            "before endDate",
        ),
        (
            format!("updatedSince={}", hours_ago(24 * 31)),
            "at most 30 days old",
        ),
        (
            format!("startDate={}&orderBy=nope", hours_ago(2)),
            "Invalid orderBy",
        ),
        (
            format!("startDate={}&fields=contactId,nope", hours_ago(2)),
            "Invalid fields",
        ),
    ];
    for (query, reason) in cases {
        let resp = ctx.get(&completed("v33.0", &query)).await;
        assert_eq!(resp.status(), 400, "{query}");
        let header = resp.headers()["icStatusDescription"].to_str().unwrap();
        assert!(header.contains(reason), "{query}: {header}");
    }
}

#[tokio::test]
async fn completed_contacts_page_by_links_next_and_answer_204_when_none() {
    let ctx = Ctx::new().await;
    // Nothing was generated 20 days ago (the day-to-day contacts start 7 days back).
    let empty = ctx
        .get(&completed(
            "v33.0",
            &format!(
                "startDate={}&endDate={}",
                hours_ago(24 * 20),
                hours_ago(24 * 19)
            ),
        ))
        .await;
    assert_eq!(empty.status(), 204);
    assert!(empty.bytes().await.unwrap().is_empty());

    let first = completed(
        "v33.0",
        &format!(
            "startDate={}&endDate={}&top=100",
            hours_ago(6),
            hours_ago(3)
        ),
    );
    let mut next = Some(ctx.url(&first));
    let (mut seen, mut pages, mut total) = (Vec::new(), 0, 0);
    while let Some(url) = next {
        let body: Value = send_json(ctx.http.get(url).bearer_auth(&ctx.token)).await;
        total = body["totalRecords"].as_u64().unwrap();
        for c in body["completedContacts"].as_array().unwrap() {
            seen.push(c["contactId"].as_u64().unwrap());
        }
        assert!(body["_links"].as_object().unwrap().contains_key("previous"));
        next = body["_links"]["next"].as_str().map(str::to_owned);
        pages += 1;
    }
    // 3 hours at one contact per 20 s: about 540, all ended.
    assert_eq!(seen.len() as u64, total);
    assert!((500..=560).contains(&total), "{total}");
    assert_eq!(pages, total.div_ceil(100));
    let mut sorted = seen.clone();
    sorted.sort_unstable();
    sorted.dedup();
    assert_eq!(sorted.len(), seen.len(), "no contact twice");
}

#[tokio::test]
async fn field_names_follow_the_version() {
    let ctx = Ctx::new().await;
    let query = format!("startDate={}&endDate={}&top=1", hours_ago(5), hours_ago(4));
    let new: Value = ctx.get_json(&completed("v33.0", &query)).await;
    let old: Value = ctx.get_json(&completed("v23.0", &query)).await;
    let (new, old) = (&new["completedContacts"][0], &old["completedContacts"][0]);
    for (newer, older) in [
        ("contactStartDate", "contactStart"),
        ("conferenceSeconds", "confSeconds"),
        ("fromAddress", "fromAddr"),
        ("toAddress", "toAddr"),
        ("mediaTypeId", "mediaType"),
        ("acwSeconds", "ACWSeconds"),
    ] {
        assert_eq!(new[newer], old[older], "{newer} / {older}");
        assert!(new.get(older).is_none() && old.get(newer).is_none());
    }
    assert!(new["contactId"].is_u64());
    assert_eq!(
        old["contactId"].as_str().unwrap(),
        new["contactId"].to_string()
    );
    let start = new["contactStartDate"].as_str().unwrap();
    assert!(start.ends_with('Z') && start.len() == "2024-05-01T12:00:00.000Z".len());

    let day = (Utc::now() - chrono::Duration::days(1)).format("%Y-%m-%d");
    let by_day = ctx
        .get(&completed("v33.0", &format!("startDate={day}&top=1")))
        .await;
    assert_eq!(by_day.status(), 200, "a date alone is its midnight");

    let projected: Value = ctx
        .get_json(&completed(
            "v33.0",
            &format!("{query}&fields=contactId,inQueueSeconds"),
        ))
        .await;
    let keys: Vec<&String> = projected["completedContacts"][0]
        .as_object()
        .unwrap()
        .keys()
        .collect();
    assert_eq!(keys, ["contactId", "inQueueSeconds"]);
}

#[tokio::test]
async fn updated_since_returns_only_what_ended_after_the_last_poll() {
    let ctx = Ctx::new().await;
    let first: Value = ctx
        .get_json(&completed("v33.0", &format!("startDate={}", hours_ago(2))))
        .await;
    let poll = first["lastPollTime"].as_str().unwrap().to_owned();
    ctx.sim.advance_clock(Duration::from_secs(3600));
    let token = token(
        &ctx.http,
        &ctx.sim,
        DEFAULT_CLIENT_ID,
        DEFAULT_CLIENT_SECRET,
    )
    .await;
    let mut next = Some(ctx.url(&completed(
        "v33.0",
        &format!("updatedSince={poll}&top=1000"),
    )));
    let mut changed = Vec::new();
    while let Some(url) = next {
        let body: Value = send_json(ctx.http.get(url).bearer_auth(&token)).await;
        changed.extend(body["completedContacts"].as_array().unwrap().clone());
        next = body["_links"]["next"].as_str().map(str::to_owned);
    }
    // An hour of the virtual clock: about 180 contacts ended.
    assert!((150..=260).contains(&changed.len()), "{}", changed.len());
    for c in &changed {
        assert!(c["lastUpdateTime"].as_str().unwrap() >= poll.as_str());
    }
    let first_ids: Vec<&Value> = first["completedContacts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| &c["contactId"])
        .collect();
    assert!(
        changed
            .iter()
            .all(|c| !first_ids.contains(&&c["contactId"]))
    );
}

#[tokio::test]
async fn one_contact_and_its_state_history_under_both_spellings() {
    let ctx = Ctx::new().await;
    let page: Value = ctx
        .get_json(&completed(
            "v33.0",
            &format!("startDate={}&top=1", hours_ago(3)),
        ))
        .await;
    let contact = &page["completedContacts"][0];
    let id = contact["contactId"].as_u64().unwrap();
    let one = contact_by_id(&ctx, id).await;
    assert_eq!(&one, contact);

    let hyphen: Value = ctx
        .get_json(&format!("{V33}/contacts/{id}/state-history"))
        .await;
    let plain: Value = ctx
        .get_json(&format!(
            "//incontactapi/services/V23.0//contacts/{id}/statehistory"
        ))
        .await;
    assert_eq!(hyphen, plain);
    let states = hyphen["contactStateHistory"].as_array().unwrap();
    assert_eq!(states[0]["contactStateName"], "PreQueue");
    assert_eq!(states.last().unwrap()["contactStateName"], "EndContact");
    let seconds: f64 = states.iter().map(|s| s["duration"].as_f64().unwrap()).sum();
    assert_eq!(seconds, contact["totalDurationSeconds"].as_f64().unwrap());

    let missing = ctx.get(&format!("{V33}/contacts/42/state-history")).await;
    assert_eq!(missing.status(), 404);
    assert_eq!(missing.headers()["icStatusDescription"], "InvalidContactId");
}

#[tokio::test]
async fn active_contacts_and_agent_interaction_history() {
    let ctx = Ctx::new().await;
    let active: Value = ctx.get_json(&format!("{V33}/contacts/active")).await;
    assert!(active["totalRecords"].as_u64().unwrap() > 0);
    let none = ctx.get(&format!("{V33}/contacts/active?contactId=1")).await;
    assert_eq!(none.status(), 204);

    let history: Value = ctx
        .get_json(&format!(
            "{V33}/agents/3100001/interaction-history?startDate={}",
            hours_ago(4)
        ))
        .await;
    let states = history["contactStates"].as_array().unwrap();
    assert!(!states.is_empty());
    assert!(states.iter().all(|s| s["agentId"] == 3_100_001));
    let unknown = ctx
        .get(&format!(
            "{V33}/agents/99/interaction-history?startDate={}",
            hours_ago(4)
        ))
        .await;
    assert_eq!(unknown.status(), 404);
}

#[tokio::test]
async fn an_active_contact_reads_as_active_until_it_ends() {
    let ctx = Ctx::new().await;
    let active: Value = ctx.get_json(&format!("{V33}/contacts/active?top=1")).await;
    let item = &active["activeContacts"][0];
    let id = item["contactId"].as_u64().unwrap();
    let one = contact_by_id(&ctx, id).await;
    assert_eq!(one["stateName"], item["stateName"]);
    assert!(one.get("totalDurationSeconds").is_none());

    // Every contact ends within 45 minutes.
    ctx.sim.advance_clock(Duration::from_secs(46 * 60));
    let one = contact_by_id(&ctx, id).await;
    assert!(one["totalDurationSeconds"].as_u64().is_some());
}

/// `PUT /_sim/contacts/synthetic` (for `cx sim serve` benches) replaces the
/// tenant's contacts with that volume; the `_links` of its pages carry the
/// dates as the client sent them.
#[tokio::test]
async fn a_synthetic_volume_is_set_through_the_admin_api() {
    let ctx = Ctx::new().await;
    let volume = serde_json::json!({"contacts": 1234, "days": 2, "seed": 5});
    let set = admin(
        &ctx,
        reqwest::Method::PUT,
        "/_sim/contacts/synthetic",
        &volume,
    )
    .await;
    assert_eq!(set, 204);
    let (start, end) = (hours_ago(24 * 3), hours_ago(0));
    let query = format!("startDate={start}&endDate={end}&top=1000");
    let body: Value = ctx.get_json(&completed("v33.0", &query)).await;
    assert_eq!(body["totalRecords"], 1234);
    assert_eq!(body["completedContacts"].as_array().unwrap().len(), 1000);
    let next = body["_links"]["next"].as_str().unwrap();
    assert!(next.contains(&format!("startDate={start}&")), "{next}");

    let bad = ctx
        .http
        .put(ctx.url("/_sim/contacts/synthetic"))
        .json(&serde_json::json!({"contacts": "many"}))
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), 400);
}
