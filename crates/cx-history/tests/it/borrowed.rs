//! `Client::report` analyses each page in place, borrowing from its body
//! (issue 13); `Client::interactions` decodes the same pages into owned
//! interactions. Both must give the same analysis, over short and full
//! pages, data errors and the variable changes of kept bottlenecks.

use cx_history::{AnalyzerConfig, Client, Config, HistoryQuery, PathAnalyzer};
use cx_sim::{Sim, SyntheticHistory};
use futures::TryStreamExt;

fn client(sim: &Sim) -> Client {
    let tenant = cx_auth::Tenant::new(
        sim.base_url(),
        cx_sim::DEFAULT_CLIENT_ID,
        cx_sim::DEFAULT_CLIENT_SECRET,
    );
    let (http, _) = tenant.connect().unwrap();
    Client::new(http, Config::default())
}

#[tokio::test]
async fn the_report_analyses_pages_in_place_as_the_owned_interactions_would_be() {
    let sim = Sim::start().await.unwrap();
    sim.set_synthetic_history(
        cx_sim::DEFAULT_TENANT,
        SyntheticHistory::new(1_050, 10).with_seed(7),
    );
    let client = client(&sim);
    let queries = [
        // Three pages, the last one short.
        HistoryQuery::builder()
            .interaction_prefix(SyntheticHistory::PREFIX)
            .limit(500)
            .build()
            .unwrap(),
        // The fixtures: an 18 s decision with variable changes, and a step
        // that ends before it starts.
        HistoryQuery::builder()
            .interaction(cx_sim::SEED_INTERACTION_ID)
            .interaction(cx_sim::BAD_CLOCK_INTERACTION_ID)
            .build()
            .unwrap(),
    ];
    for query in &queries {
        let report = client.report(query).send().await.unwrap();
        let owned: Vec<_> = client.interactions(query).try_collect().await.unwrap();
        let mut analyzer = PathAnalyzer::new(AnalyzerConfig::default());
        owned.iter().for_each(|i| analyzer.observe(i));
        let want = analyzer.finish();
        assert_eq!(report.analysis, want, "{}", query.filter());
        assert_eq!(report.records_retrieved, owned.len() as u64);
        assert!(report.analysis.bottleneck_count > 0, "{}", query.filter());
    }

    let synthetic = client.report(&queries[0]).send().await.unwrap();
    assert_eq!(synthetic.records_retrieved, 1_050);
    assert_eq!(synthetic.pages, 3);
    let slowest = &synthetic.analysis.bottlenecks[0];
    assert!(
        slowest.variable_changes.added.contains_key("route")
            && slowest.variable_changes.changed.contains_key("step"),
        "{slowest:?}"
    );

    let fixtures = client.report(&queries[1]).send().await.unwrap();
    assert_eq!(fixtures.analysis.data_error_count, 1);
    let decision = &fixtures.analysis.bottlenecks[0];
    assert_eq!(decision.node_id, "n3-decision");
    assert_eq!(
        decision.variable_changes.added["queue"],
        serde_json::json!("billing-tier2")
    );
}

/// A client of a stub server answering every request with 200 and `page`.
fn client_of_page(page: String) -> Client {
    let http = cx_http::Client::builder()
        .base_url(cx_testkit::stub_server(move |_| (200, page.clone())))
        .build()
        .unwrap();
    Client::new(http, Config::default())
}

/// Variables nested deeper than JSON readers go (`depth` arrays in an
/// object) are refused by the report as by the owned interactions, not
/// analysed as if the step had no variables.
#[tokio::test]
async fn variables_nested_too_deep_are_refused_in_place_as_by_the_owned_interactions() {
    let deep = format!("{}1{}", "[".repeat(200), "]".repeat(200));
    let page = format!(
        r#"{{"totalCount":1,"data":[{{"interactionId":"i-deep","steps":[{{"nodeId":"d","nodeType":"DECISION","startTime":"2024-05-01T10:00:00Z","endTime":"2024-05-01T10:00:30Z","variablesBefore":{{"deep":{deep},"x":1}},"variablesAfter":{{"x":2}}}}]}}]}}"#
    );
    let client = client_of_page(page);
    let query = HistoryQuery::builder()
        .interaction("i-deep")
        .build()
        .unwrap();
    let owned = client
        .interactions(&query)
        .try_collect::<Vec<_>>()
        .await
        .unwrap_err();
    assert_eq!(owned.kind(), cx_history::ErrorKind::Api, "{owned}");
    match client.report(&query).send().await {
        Ok(report) => panic!(
            "analysed with variables it could not read: {:?}",
            report.analysis.bottlenecks[0].variable_changes
        ),
        Err(e) => {
            assert_eq!(e.kind(), owned.kind(), "{e}");
            let cause = e.http().map(ToString::to_string).unwrap_or_default();
            assert!(cause.contains("interaction 0"), "{cause}");
        }
    }
}

/// A server that ignores `limit` and answers more interactions than asked
/// for: the next page's offset would re-read some of them, and each would
/// be counted twice. The query fails naming the page instead.
#[tokio::test]
async fn a_page_longer_than_the_limit_is_refused_not_counted_twice() {
    let step = r#"{"nodeId":"n","nodeType":"TASK","startTime":"2024-05-01T10:00:00Z","endTime":"2024-05-01T10:00:01Z"}"#;
    let page = format!(
        r#"{{"totalCount":2,"data":[{{"interactionId":"a","steps":[{step}]}},{{"interactionId":"b","steps":[{step}]}}]}}"#
    );
    let client = client_of_page(page);
    let query = HistoryQuery::builder()
        .interactions(["a", "b"])
        .limit(1)
        .build()
        .unwrap();
    match client.report(&query).send().await {
        Ok(report) => panic!(
            "{} records of {} reported, {} interactions analysed, {:?}",
            report.records_retrieved,
            report.records_reported,
            report.analysis.interactions,
            report.compliance_status
        ),
        Err(e) => {
            let cause = e.http().map(ToString::to_string).unwrap_or_default();
            assert!(
                cause.contains("2 interactions") && cause.contains("limit 1"),
                "{e}: {cause}"
            );
        }
    }
    let owned = client.interactions(&query).try_collect::<Vec<_>>().await;
    assert!(owned.is_err(), "{owned:?}");
}
