//! Seed 000 step 5: CXone's audit log, written by real simulator mutations,
//! exported page by page into a sink.

// Tests unwrap: a panic with the value is the failure report.
#![allow(clippy::unwrap_used)]

use cx_audit::{ErrorKind, ExportQuery, MemorySink, export_audit_logs};
use cx_sim::Sim;
use serde_json::json;

const WF_ID: &str = "wf_12345678-abcd-efgh-ijkl-1234567890ab";

#[tokio::test]
async fn every_entry_is_exported_across_pages_with_verifiable_hashes() {
    let sim = Sim::start().await.unwrap();
    let (api, _) = cx_auth::Tenant::new(
        sim.base_url(),
        cx_sim::DEFAULT_CLIENT_ID,
        cx_sim::DEFAULT_CLIENT_SECRET,
    )
    .connect()
    .unwrap();
    for i in 0..7 {
        api.link(
            cx_http::Method::POST,
            &format!("/api/v2/workflows/{WF_ID}/executions"),
        )
        .json(&json!({"input": {"customerId": format!("C{i}")}}))
        .send()
        .await
        .unwrap();
    }
    let sink = MemorySink::new();
    let query = ExportQuery::default()
        .with_resource_type("workflow_execution")
        .with_resource_id(WF_ID)
        .with_page_size(3);
    let report = export_audit_logs(&api, &query, &sink).await.unwrap();
    let records = sink.records();
    assert_eq!(report.exported as usize, records.len());
    let created: Vec<_> = records
        .iter()
        .filter(|r| r.event_type == "EXECUTION_CREATED")
        .collect();
    assert_eq!(created.len(), 7);
    assert!(records.iter().all(|r| r.verify_hash()));
    assert!(records.iter().all(|r| r.payload()["resourceId"] == WF_ID));
    let pages = sim
        .journal()
        .iter()
        .filter(|e| e.path == "/api/v2/audit/logs")
        .count();
    assert_eq!(pages, records.len().div_ceil(3));
}

#[tokio::test]
async fn a_bad_page_size_is_rejected_before_any_request() {
    let sim = Sim::start().await.unwrap();
    let (api, _) = cx_auth::Tenant::new(sim.base_url(), "x", "y")
        .connect()
        .unwrap();
    for page_size in [0, 1001] {
        let query = ExportQuery::default().with_page_size(page_size);
        let err = export_audit_logs(&api, &query, &MemorySink::new())
            .await
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidInput);
        assert!(err.to_string().contains("page_size"), "{err}");
    }
    assert!(sim.journal().is_empty());
}
