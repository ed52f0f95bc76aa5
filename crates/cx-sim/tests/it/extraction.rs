//! Data Extraction jobs (`../shared/CXONE_REST.md` §6) on the virtual
//! clock: the 202 job id, RUNNING → SUCCEEDED, the CSV at a URL that
//! expires after 30 s, the tenant limit of one call per 30 s, FAILED jobs
//! and the synchronous form.

use std::time::Duration;

use crate::support::*;
use reqwest::StatusCode;
use serde_json::{Value, json};

fn job_body() -> Value {
    json!({
        "entityName": "recording-interaction-metadata",
        "version": "7",
        "startDate": "2024-05-01T00:00:00.000Z",
        "endDate": "2024-05-02T00:00:00.000Z",
    })
}

#[tokio::test]
async fn a_job_runs_on_the_virtual_clock_and_serves_a_csv_at_an_expiring_url() {
    let ctx = Ctx::new().await;
    // Any case, repeated slashes.
    let resp = ctx.post("/Data-Extraction//V1/jobs", &job_body()).await;
    assert_eq!(resp.status(), StatusCode::ACCEPTED);
    let id: String = resp.json().await.unwrap();
    let path = format!("/data-extraction/v1/jobs/{id}");

    // A second call within 30 s is refused and does not count.
    let resp = ctx.get(&path).await;
    assert_eq!(resp.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(resp.headers()["retry-after"], "30");
    assert!(resp.headers().contains_key("icstatusdescription"));

    ctx.sim.advance_clock(Duration::from_secs(30));
    let running = ctx.get_json(&path).await;
    assert_eq!(running["jobStatus"]["status"], "RUNNING", "{running}");
    assert_eq!(running["jobStatus"]["result"], Value::Null);

    ctx.sim.advance_clock(Duration::from_secs(30));
    let done = ctx.get_json(&path).await;
    assert_eq!(done["jobStatus"]["status"], "SUCCEEDED", "{done}");
    assert_eq!(done["jobStatus"]["id"], id);
    let url = done["jobStatus"]["result"]["url"]
        .as_str()
        .unwrap()
        .to_owned();

    // The URL needs no token and serves the CSV: a header and 24 rows a day.
    let csv = fetch(ctx.http.get(&url)).await;
    assert_eq!(csv.status(), StatusCode::OK);
    let text = csv.text().await.unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 25);
    assert!(lines[0].starts_with("contactId,"));
    assert!(lines[1].contains("2024-05-01T00:00:00.000Z"));

    // 30 s later it has expired.
    ctx.sim.advance_clock(Duration::from_secs(30));
    let expired = fetch(ctx.http.get(&url)).await;
    assert_eq!(expired.status(), StatusCode::FORBIDDEN);
    assert!(
        expired
            .text()
            .await
            .unwrap()
            .contains("Request has expired")
    );

    let list = ctx.get_json("/data-extraction/v1/jobs").await;
    assert_eq!(list, json!({"jobs": [{"id": id, "status": "SUCCEEDED"}]}));
}

#[tokio::test]
async fn bad_requests_failed_jobs_and_the_synchronous_form() {
    let ctx = Ctx::new().await;
    ctx.sim.set_extraction_settings(
        cx_sim::ExtractionSettings::default()
            .with_min_interval(Duration::ZERO)
            .with_fail_with(Some("no permission for \u{1b}[31mQM".into())),
    );
    let mut cases = Vec::new();
    for (field, value) in [
        ("entityName", json!("no-such-entity")),
        ("version", json!("99")),
        ("startDate", json!("yesterday")),
        ("endDate", json!("2024-04-01T00:00:00Z")),
        ("endDate", json!("2024-06-01T00:00:00Z")),
    ] {
        let mut body = job_body();
        body[field] = value;
        let resp = ctx.post("/data-extraction/v1/jobs", &body).await;
        cases.push((field, resp.status()));
    }
    assert!(
        cases.iter().all(|(_, s)| *s == StatusCode::BAD_REQUEST),
        "{cases:?}"
    );

    let id: String = ctx
        .post_json("/data-extraction/v1/jobs", &job_body())
        .await
        .as_str()
        .unwrap()
        .to_owned();
    ctx.sim.advance_clock(Duration::from_secs(40));
    let failed = ctx
        .get_json(&format!("/data-extraction/v1/jobs/{id}"))
        .await;
    assert_eq!(failed["jobStatus"]["status"], "FAILED");
    assert_eq!(
        failed["jobStatus"]["result"]["errorMessage"],
        "no permission for \u{1b}[31mQM"
    );

    ctx.sim
        .set_extraction_settings(cx_sim::ExtractionSettings::default());
    ctx.sim.advance_clock(Duration::from_secs(30));
    let sync = ctx
        .post_json("/data-extraction/v1/jobs/sync", &job_body())
        .await;
    assert_eq!(sync["jobStatus"]["status"], "SUCCEEDED", "{sync}");
    assert!(sync["jobStatus"]["result"]["url"].is_string());
    let unknown = ctx.get("/data-extraction/v1/jobs/nope").await;
    // Within 30 s of the sync call: the limit answers first.
    assert_eq!(unknown.status(), StatusCode::TOO_MANY_REQUESTS);
    ctx.sim.advance_clock(Duration::from_secs(30));
    let unknown = ctx.get("/data-extraction/v1/jobs/nope").await;
    assert_eq!(unknown.status(), StatusCode::NOT_FOUND);
}
