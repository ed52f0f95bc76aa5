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
