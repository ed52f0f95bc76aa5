//! Property tests: the filter renderer against the simulator's parser, and
//! the one-pass aggregates against a naive recomputation.

// Tests unwrap: a panic with the value is the failure report.

use std::collections::BTreeMap;

use cx_history::sketch::RELATIVE_ERROR;
use cx_history::{AnalyzerConfig, HistoryQuery, Interaction, PathAnalyzer, Step, quote};
use cx_sim::history_filter::{Condition, parse_filter};
use proptest::prelude::*;

fn parsed_ids(filter: &str) -> Vec<String> {
    let parsed = parse_filter(filter).unwrap_or_else(|e| panic!("{filter}: {e}"));
    match &parsed.conditions[0] {
        Condition::IdIn(ids) => ids.clone(),
        other => panic!("{other:?}"),
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// Any strings at all, quoted: the parser reads back exactly those ids.
    #[test]
    fn any_quoted_ids_read_back_exactly(ids in prop::collection::vec(any::<String>(), 1..6)) {
        let list: Vec<String> = ids.iter().map(|i| quote(i)).collect();
        let filter = format!("interactionId IN [{}] AND errorState = True", list.join(", "));
        prop_assert_eq!(parsed_ids(&filter), ids);
        let parsed = parse_filter(&filter).unwrap();
        prop_assert_eq!(parsed.conditions.len(), 2, "structure unchanged");
    }

    /// Ids that pass validation, through the query builder's own filter.
    #[test]
    fn validated_query_ids_read_back_exactly(
        ids in prop::collection::vec("[^\\s\\p{Cc}]([^\\p{Cc}]{0,30}[^\\s\\p{Cc}])?", 1..6),
    ) {
        let q = HistoryQuery::builder().interactions(ids.clone()).errors_only().build().unwrap();
        prop_assert_eq!(parsed_ids(&q.filter()), ids);
    }
}

#[derive(Debug, Clone)]
struct RawStep {
    node: usize,
    dwell_ms: i64,
    error: bool,
}

const NODES: [(&str, &str); 4] = [
    ("a", "TASK"),
    ("b", "DECISION"),
    ("c", "ROUTING"),
    ("d", "TASK"),
];

fn ts(ms: i64) -> String {
    chrono::DateTime::<chrono::Utc>::from_timestamp_millis(1_714_557_600_000 + ms)
        .unwrap()
        .to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

fn interactions(raw: &[Vec<RawStep>]) -> Vec<Interaction> {
    raw.iter()
        .enumerate()
        .map(|(i, steps)| {
            let mut at = 0i64;
            Interaction {
                interaction_id: format!("i{i}"),
                steps: steps
                    .iter()
                    .map(|s| {
                        let start = at;
                        at += 60_000;
                        let (id, ty) = NODES[s.node];
                        Step {
                            node_id: id.to_owned(),
                            node_type: ty.to_owned(),
                            start_time: Some(ts(start)),
                            end_time: Some(ts(start + s.dwell_ms)),
                            variables_before: Default::default(),
                            variables_after: Default::default(),
                            error_state: s.error,
                        }
                    })
                    .collect(),
            }
        })
        .collect()
}

fn nearest_rank(sorted: &[f64], q: f64) -> f64 {
    let rank = ((q * sorted.len() as f64).ceil() as usize).max(1);
    sorted[rank - 1]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    #[test]
    fn aggregates_equal_a_naive_recomputation(
        raw in prop::collection::vec(
            prop::collection::vec(
                (0..4usize, -5_000i64..120_000, any::<bool>())
                    .prop_map(|(node, dwell_ms, error)| RawStep { node, dwell_ms, error }),
                1..8,
            ),
            1..40,
        ),
    ) {
        let data = interactions(&raw);
        let mut analyzer = PathAnalyzer::new(AnalyzerConfig::default());
        for i in &data {
            analyzer.observe(i);
        }
        let got = analyzer.finish();

        // Naive: every dwell kept in full.
        let mut dwells: BTreeMap<&str, Vec<(f64, bool)>> = BTreeMap::new();
        let mut data_errors = 0u64;
        let mut bottlenecks = 0u64;
        let mut paths: BTreeMap<Vec<String>, u64> = BTreeMap::new();
        for steps in &raw {
            let mut path = Vec::new();
            for s in steps {
                let (id, ty) = NODES[s.node];
                path.push(id.to_owned());
                if s.dwell_ms < 0 {
                    data_errors += 1;
                    continue;
                }
                let d = s.dwell_ms as f64 / 1000.0;
                dwells.entry(id).or_default().push((d, s.error));
                if ty != "TASK" && d > 15.0 {
                    bottlenecks += 1;
                }
            }
            *paths.entry(path).or_default() += 1;
        }
        prop_assert_eq!(got.data_error_count, data_errors);
        prop_assert_eq!(got.bottleneck_count, bottlenecks);
        prop_assert_eq!(got.steps_analysed, raw.iter().map(Vec::len).sum::<usize>() as u64);
        for node in &got.nodes {
            let list = dwells.get(node.node_id.as_str()).cloned().unwrap_or_default();
            prop_assert_eq!(node.count, list.len() as u64);
            if list.is_empty() {
                continue;
            }
            let mut sorted: Vec<f64> = list.iter().map(|(d, _)| *d).collect();
            sorted.sort_by(f64::total_cmp);
            let mean = sorted.iter().sum::<f64>() / sorted.len() as f64;
            prop_assert!((node.mean_seconds - mean).abs() <= 1e-9 * mean.max(1.0));
            prop_assert_eq!(node.max_seconds, *sorted.last().unwrap());
            let errors = list.iter().filter(|(_, e)| *e).count() as f64;
            prop_assert_eq!(node.error_rate, errors / list.len() as f64);
            for (q, est) in [(0.5, node.p50_seconds), (0.95, node.p95_seconds)] {
                let want = nearest_rank(&sorted, q);
                prop_assert!(
                    (est - want).abs() <= RELATIVE_ERROR * want + 1e-9,
                    "q={} est={} want={}", q, est, want
                );
            }
        }
        prop_assert_eq!(got.nodes.iter().filter(|n| n.count > 0).count(), dwells.len());
        // Fewer distinct paths than counters: exact counts.
        for p in &got.top_paths {
            prop_assert_eq!(p.max_overcount, 0);
            prop_assert_eq!(Some(&p.count), paths.get(&p.nodes));
        }
        let mut want_top: Vec<u64> = paths.values().copied().collect();
        want_top.sort_unstable_by(|a, b| b.cmp(a));
        want_top.truncate(10);
        let got_top: Vec<u64> = got.top_paths.iter().map(|p| p.count).collect();
        prop_assert_eq!(got_top, want_top);
    }
}

/// `parse_instant` (behind `cx history query --since/--until`) on any
/// text, any integer with any unit, and any instant as "now": an instant or
/// a validation error naming the field, never a panic.
mod instants {
    use chrono::{DateTime, TimeZone, Utc};
    use cx_history::{ErrorKind, MAX_AGE_SECS, parse_instant};
    use proptest::prelude::*;

    fn check(raw: &str, now: DateTime<Utc>) -> Result<(), TestCaseError> {
        match parse_instant("--since", raw, now) {
            Ok(at) => prop_assert!(at <= now || DateTime::parse_from_rfc3339(raw).is_ok()),
            Err(e) => {
                prop_assert_eq!(e.kind(), ErrorKind::Validation);
                prop_assert_eq!(e.violations()[0].field.as_str(), "--since");
                prop_assert!(e.to_string().contains("--since"), "{}", e);
            }
        }
        Ok(())
    }

    fn any_now() -> impl Strategy<Value = DateTime<Utc>> {
        (DateTime::<Utc>::MIN_UTC.timestamp()..=DateTime::<Utc>::MAX_UTC.timestamp())
            .prop_map(|s| Utc.timestamp_opt(s, 0).unwrap())
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]

        #[test]
        fn any_text_is_an_instant_or_a_clear_error(raw in any::<String>(), now in any_now()) {
            check(&raw, now)?;
        }

        #[test]
        fn any_integer_with_any_unit_is_checked(
            n in any::<i128>(),
            unit in prop::sample::select(vec!["s", "m", "h", "d", "", "w", "ms"]),
            now in any_now(),
        ) {
            let raw = format!("{n}{unit}");
            check(&raw, now)?;
            let secs = match unit { "s" => 1, "m" => 60, "h" => 3600, "d" => 86_400, _ => 0 };
            let age = n.checked_mul(secs);
            let ok = parse_instant("--since", &raw, now).is_ok();
            if secs == 0 || n < 0 || age.is_none_or(|a| a > i128::from(MAX_AGE_SECS)) {
                prop_assert!(!ok, "{raw} accepted");
            }
        }
    }

    #[test]
    fn the_reported_ages_are_clear_errors() {
        let now = Utc::now();
        for raw in [
            "9999999999999h",
            "99999999999999999d",
            "9000000000000000s",
            "-5h",
            "h",
            "5x",
        ] {
            let err = parse_instant("--since", raw, now).unwrap_err();
            assert!(err.to_string().contains("`--since`"), "{raw}: {err}");
        }
        let at = parse_instant("--until", "90s", now).unwrap();
        assert_eq!((now - at.to_utc()).num_seconds(), 90);
    }
}
