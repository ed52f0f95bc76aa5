//! cx-history against cx-sim over real HTTP: seed 003's example, rejection
//! before sending, streamed retrieval under the quota, retries, webhooks.

// Tests unwrap: a panic with the value is the failure report.

use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use cx_audit::MemorySink;
use cx_history::{Client, ComplianceStatus, Config, ErrorKind, FixedClock, HistoryQuery};
use cx_sim::{FaultRule, HistorySettings, Sim, SyntheticHistory};
use cx_testkit::status_fault;
use futures::TryStreamExt;

const QUERY_PATH: &str = "/api/v2/interactions/history/query";

fn client(sim: &Sim, config: Config) -> Client {
    Client::new(cx_testkit::sdk_http(sim), config)
}

/// `query`'s report from `sim` with the default config.
async fn report(
    sim: &Sim,
    query: &HistoryQuery,
) -> Result<cx_history::HistoryReport, cx_history::Error> {
    client(sim, Config::default()).report(query).send().await
}

fn seed_query() -> HistoryQuery {
    HistoryQuery::builder()
        .interaction(cx_sim::SEED_INTERACTION_ID)
        .start_at(Utc::now() - chrono::Duration::hours(2))
        .end_at(Utc::now())
        .errors_only()
        .limit(50)
        .build()
        .unwrap()
}

fn queries_sent(sim: &Sim) -> Vec<u16> {
    sim.journal()
        .into_iter()
        .filter(|e| e.path == QUERY_PATH)
        .map(|e| e.status)
        .collect()
}

#[tokio::test]
async fn the_seed_example_returns_its_steps_and_flags_the_slow_decision_node() {
    let sim = Sim::start().await.unwrap();
    let sink = Arc::new(MemorySink::new());
    let at = chrono::DateTime::parse_from_rfc3339("2024-05-01T12:00:00Z")
        .unwrap()
        .to_utc();
    let config = Config::default().with_clock(Arc::new(cx_history::FixedClock(at)));
    let client = client(&sim, config).with_audit(sink.clone());
    // The default threshold (15 s) and the seed example's (10 s) both flag it.
    for threshold in [None, Some(Duration::from_secs(10))] {
        let query = seed_query();
        let mut run = client.report(&query);
        if let Some(t) = threshold {
            run = run.threshold(t);
        }
        let report = run.send().await.unwrap();
        assert_eq!(report.records_retrieved, 1);
        assert_eq!(report.records_reported, 1);
        assert_eq!(report.steps_retrieved, 3, "errors only");
        assert_eq!(report.compliance_status, ComplianceStatus::Verified);
        let b = &report.analysis.bottlenecks;
        assert_eq!(b.len(), 1, "{b:?}");
        assert_eq!(b[0].interaction_id, cx_sim::SEED_INTERACTION_ID);
        assert_eq!(
            (b[0].node_id.as_str(), b[0].dwell_seconds),
            ("n3-decision", Some(18.0))
        );
        assert_eq!(b[0].variable_changes.added["queue"], "billing-tier2");
        assert_eq!(b[0].variable_changes.changed["retries"].after, 1);
        let path = &report.analysis.top_paths[0].nodes;
        assert_eq!(
            path,
            &["n2-menu", "n3-decision", "n5-data-dip"],
            "start order"
        );
    }
    let records = sink.records();
    assert_eq!(records.len(), 2);
    assert_eq!(records[0].event_type.as_str(), "HISTORY_QUERY_COMPLETED");
    assert_eq!(records[0].timestamp, at, "stamped by the config's clock");
    assert_eq!(records[0].payload()["compliance_status"], "VERIFIED");
    assert_eq!(
        records[0].payload()["interaction_ids"][0],
        cx_sim::SEED_INTERACTION_ID
    );
}

#[tokio::test]
async fn bad_queries_are_rejected_before_any_request_naming_the_field() {
    let sim = Sim::start().await.unwrap();
    let now = Utc::now();
    let id = cx_sim::SEED_INTERACTION_ID;
    let cases = [
        (
            HistoryQuery::builder()
                .interaction(id)
                .start_at(now - chrono::Duration::days(31)),
            "start_timestamp",
        ),
        (
            HistoryQuery::builder()
                .interaction(id)
                .start_at(now - chrono::Duration::hours(1))
                .end_at(now - chrono::Duration::hours(2)),
            "end_timestamp",
        ),
        (HistoryQuery::builder(), "interaction_ids"),
    ];
    for (builder, field) in cases {
        let err = builder.build().unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Validation);
        assert_eq!(err.violations()[0].field, field, "{err}");
        assert!(err.to_string().contains(field), "{err}");
    }
    assert!(queries_sent(&sim).is_empty());
}

#[tokio::test]
async fn the_server_rejects_what_an_injected_clock_let_through() {
    let sim = Sim::start().await.unwrap();
    // A client clock 40 days behind accepts a start 35 days ago; CXone does not.
    let clock = Arc::new(FixedClock(Utc::now() - chrono::Duration::days(40)));
    let query = HistoryQuery::builder()
        .clock(clock)
        .interaction(cx_sim::SEED_INTERACTION_ID)
        .start_at(Utc::now() - chrono::Duration::days(35))
        .build()
        .unwrap();
    let err = report(&sim, &query).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidRequest);
    assert_eq!(err.status(), Some(400));
    assert!(err.to_string().contains("retention"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn streaming_keeps_within_the_quota_and_reads_every_record() {
    let sim = Sim::start().await.unwrap();
    sim.set_synthetic_history(
        cx_sim::DEFAULT_TENANT,
        SyntheticHistory::new(1_050, 10).with_seed(1),
    );
    sim.set_history_settings(
        HistorySettings::default()
            .with_max_concurrent_queries(5)
            .with_latency(Duration::from_millis(30)),
    );
    let query = HistoryQuery::builder()
        .interaction_prefix("syn-")
        .limit(100)
        .build()
        .unwrap();

    let client5 = client(&sim, Config::default());
    let ids: Vec<String> = client5
        .interactions(&query)
        .map_ok(|i| i.interaction_id)
        .try_collect()
        .await
        .unwrap();
    let want: Vec<String> = (0..1_050).map(SyntheticHistory::id).collect();
    assert_eq!(ids, want, "every record once, in order");
    let statuses = queries_sent(&sim);
    assert_eq!(
        statuses,
        vec![200; 11],
        "11 pages, no 429, no page past the total"
    );

    // Eight in flight against a quota of five: the runtime retries the 429s.
    sim.clear_journal();
    let client8 = client(&sim, Config::default().with_max_in_flight(8));
    let report = client8.report(&query).send().await.unwrap();
    assert_eq!(report.records_retrieved, 1_050);
    assert_eq!(report.steps_retrieved, 10_500);
    assert_eq!(report.analysis.steps_analysed, 10_500);
    let statuses = queries_sent(&sim);
    assert!(statuses.contains(&429), "{statuses:?}");
    assert_eq!(statuses.iter().filter(|s| **s == 200).count(), 11);
}

#[tokio::test]
async fn the_page_limit_ends_a_query_that_has_not_finished() {
    let sim = Sim::start().await.unwrap();
    sim.set_synthetic_history(cx_sim::DEFAULT_TENANT, SyntheticHistory::new(100, 1));
    let query = HistoryQuery::builder()
        .interaction_prefix("syn-")
        .limit(10)
        .build()
        .unwrap();
    let config = Config::default().with_max_pages(3).with_max_in_flight(2);
    let pages: Vec<_> = futures::StreamExt::collect(client(&sim, config).pages(&query)).await;
    let offsets: Vec<u64> = pages.iter().flatten().map(|p| p.offset).collect();
    assert_eq!(offsets, [0, 10, 20]);
    let err = pages.last().unwrap().as_ref().unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Pagination, "{err}");
    assert_eq!(
        queries_sent(&sim),
        vec![200; 3],
        "no request past the limit"
    );
}

#[tokio::test]
async fn a_5xx_is_retried_and_the_data_error_fixture_is_reported() {
    let sim = Sim::start().await.unwrap();
    sim.set_faults(vec![
        FaultRule::new(format!("POST {QUERY_PATH}"), status_fault(500)).with_times(1),
    ]);
    let query = HistoryQuery::builder()
        .interaction(cx_sim::BAD_CLOCK_INTERACTION_ID)
        .build()
        .unwrap();
    let report = report(&sim, &query).await.unwrap();
    assert_eq!(queries_sent(&sim), vec![500, 200]);
    let a = &report.analysis;
    assert_eq!(a.data_error_count, 1);
    assert_eq!(a.data_errors[0].node_id, "b2-decision");
    assert!(
        a.data_errors[0].message.contains("before startTime"),
        "{:?}",
        a.data_errors
    );
    assert!(
        a.nodes
            .iter()
            .all(|n| n.max_seconds >= 0.0 && n.mean_seconds >= 0.0)
    );
    assert_eq!(a.bottleneck_count, 0);
}

#[tokio::test]
async fn the_completion_webhook_is_retried_and_a_failure_is_recorded() {
    let sim = Sim::start().await.unwrap();
    sim.set_faults(vec![
        FaultRule::new("POST /webhooks/history", status_fault(503)).with_times(1),
    ]);
    let sink = Arc::new(MemorySink::new());
    let client = client(&sim, Config::default()).with_audit(sink.clone());
    let query = seed_query();
    let url = format!("{}/webhooks/history", sim.base_url());
    let report = client.report(&query).webhook(&url).send().await.unwrap();
    let delivery = report.webhook.clone().unwrap();
    assert!(delivery.delivered);
    assert_eq!(delivery.attempts, 2);
    let hooks: Vec<_> = sim
        .journal()
        .into_iter()
        .filter(|e| e.path == "/webhooks/history")
        .collect();
    assert_eq!(hooks.len(), 2);
    assert!(hooks[0].idempotency_key.is_some());
    assert_eq!(
        hooks[0].idempotency_key, hooks[1].idempotency_key,
        "same key on the retry"
    );
    let received = sim.history_webhooks();
    assert_eq!(received.len(), 1);
    assert_eq!(received[0]["status"], "completion");
    assert_eq!(received[0]["bottleneck_count"], 1);
    assert_eq!(received[0]["audit_log"]["compliance_status"], "VERIFIED");

    // Nothing listens on port 9: the failure is an error carrying the report, and audited.
    let err = client
        .report(&query)
        .webhook("http://127.0.0.1:9/hook")
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        err.kind(),
        ErrorKind::Domain(cx_history::HistoryKind::Webhook)
    );
    let delivery = err.report().unwrap().webhook.clone().unwrap();
    assert!(!delivery.delivered && delivery.error.is_some());
    let events: Vec<String> = sink
        .records()
        .iter()
        .map(|r| r.event_type.as_str().to_owned())
        .collect();
    assert_eq!(
        events,
        [
            "HISTORY_QUERY_COMPLETED",
            "HISTORY_QUERY_COMPLETED",
            "HISTORY_WEBHOOK_FAILED"
        ]
    );
}
