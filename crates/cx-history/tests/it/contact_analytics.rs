//! The contact analytics table against a naive recomputation.

use cx_history::real::CompletedContact;
use cx_history::real::analytics::{ContactAnalyzer, GroupBy, Summary};
use cx_history::sketch::RELATIVE_ERROR;
use proptest::prelude::*;

fn contact() -> impl Strategy<Value = CompletedContact> {
    (
        0u32..4,
        prop::option::of(0u32..3),
        prop::option::of(0.0f64..900.0),
        prop::option::of(0.0f64..1200.0),
        any::<(bool, bool, bool)>(),
        prop::option::of(-1i64..2),
        prop::option::of(prop::sample::select(vec!["None", "ReSkill", "Consult"])),
        0u32..24,
    )
        .prop_map(
            |(skill, agent, queue, handle, (ab, short, refused), sl, transfer, hour)| {
                let mut c: CompletedContact = serde_json::from_value(serde_json::json!({
                    "skillId": 4_100_000 + skill,
                    "agentId": agent.map(|a| 3_100_000 + a),
                    "contactStartDate": format!("2024-05-01T{hour:02}:10:00.000Z"),
                }))
                .unwrap();
                c.in_queue_seconds = queue;
                c.agent_seconds = handle;
                c.hold_seconds = handle.map(|h| h / 4.0);
                c.acw_seconds = queue.map(|q| q / 10.0);
                c.total_duration_seconds = queue.zip(handle).map(|(q, h)| q + h);
                c.abandoned = Some(ab);
                c.is_short_abandon = Some(ab && short);
                c.is_refused = Some(refused);
                c.service_level_flag = sl;
                c.transfer_indicator_name = transfer.map(str::to_owned);
                c
            },
        )
}

fn nearest_rank(sorted: &[f64], q: f64) -> f64 {
    let rank = ((q * sorted.len() as f64).ceil() as usize).max(1);
    sorted[rank - 1]
}

fn check(summary: &Summary, values: &[f64]) -> Result<(), TestCaseError> {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    prop_assert_eq!(summary.count, values.len() as u64);
    if values.is_empty() {
        prop_assert!(summary.mean.is_none() && summary.p50.is_none() && summary.max.is_none());
        return Ok(());
    }
    let mean = values.iter().sum::<f64>() / values.len() as f64;
    prop_assert!((summary.mean.unwrap() - mean).abs() <= 1e-6 * mean.max(1.0));
    prop_assert_eq!(summary.max.unwrap(), *sorted.last().unwrap());
    for (q, got) in [(0.5, summary.p50.unwrap()), (0.95, summary.p95.unwrap())] {
        let want = nearest_rank(&sorted, q);
        prop_assert!(
            (got - want).abs() <= RELATIVE_ERROR * want + 1e-6,
            "q={} got {} want {}",
            q,
            got,
            want
        );
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    #[test]
    fn the_table_matches_a_naive_recomputation(
        contacts in prop::collection::vec(contact(), 0..300),
        by in prop::sample::select(vec![GroupBy::Skill, GroupBy::Agent, GroupBy::Team, GroupBy::Hour]),
        top in 0usize..6,
    ) {
        let mut analyzer = ContactAnalyzer::new(by, top);
        for c in &contacts {
            analyzer.observe(c);
        }
        let table = analyzer.finish();
        prop_assert_eq!(table.contacts, contacts.len() as u64);
        let key = |c: &CompletedContact| -> String {
            let id = |v: &Option<cx_history::real::Id>| v.as_ref().map_or("(none)".to_owned(), |i| i.0.clone());
            match by {
                GroupBy::Skill => id(&c.skill_id),
                GroupBy::Agent => id(&c.agent_id),
                GroupBy::Team => id(&c.team_id),
                GroupBy::Hour => c.contact_start_date.as_deref().unwrap()[11..13].to_owned(),
            }
        };
        let mut keys: Vec<String> = contacts.iter().map(key).collect();
        keys.sort();
        keys.dedup();
        let row_keys: Vec<&str> = table.groups.iter().map(|g| g.key.as_str()).collect();
        prop_assert_eq!(row_keys, keys.iter().map(String::as_str).collect::<Vec<_>>());
        for row in &table.groups {
            let members: Vec<&CompletedContact> = contacts.iter().filter(|c| key(c) == row.key).collect();
            let n = members.len() as u64;
            let count = |f: &dyn Fn(&CompletedContact) -> bool| members.iter().filter(|c| f(c)).count() as u64;
            prop_assert_eq!(row.contacts, n);
            prop_assert_eq!(row.abandoned, count(&|c| c.abandoned == Some(true)));
            prop_assert_eq!(row.short_abandons, count(&|c| c.is_short_abandon == Some(true)));
            prop_assert_eq!(row.refusals, count(&|c| c.is_refused == Some(true)));
            prop_assert_eq!(row.transfers, count(&|c| c.transfer_indicator_name.as_deref().is_some_and(|t| t != "None")));
            prop_assert!((row.abandon_rate - row.abandoned as f64 / n as f64).abs() < 1e-12);
            let flagged = count(&|c| matches!(c.service_level_flag, Some(0 | 1)));
            let met = count(&|c| c.service_level_flag == Some(1));
            match row.service_level_pct {
                None => prop_assert_eq!(flagged, 0),
                Some(pct) => prop_assert!((pct - 100.0 * met as f64 / flagged as f64).abs() < 1e-9),
            }
            let values = |f: &dyn Fn(&CompletedContact) -> Option<f64>| -> Vec<f64> { members.iter().filter_map(|c| f(c)).collect() };
            check(&row.queue, &values(&|c| c.in_queue_seconds))?;
            check(&row.handle, &values(&|c| c.agent_seconds))?;
            check(&row.hold, &values(&|c| c.hold_seconds))?;
            check(&row.acw, &values(&|c| c.acw_seconds))?;
            check(&row.total, &values(&|c| c.total_duration_seconds))?;
        }
        let mut queues: Vec<f64> = contacts.iter().filter_map(|c| c.in_queue_seconds).collect();
        queues.sort_by(|a, b| b.total_cmp(a));
        let got: Vec<f64> = table.top_queue.iter().map(|t| t.in_queue_seconds).collect();
        prop_assert_eq!(got, queues.into_iter().take(top).collect::<Vec<_>>());
    }
}
