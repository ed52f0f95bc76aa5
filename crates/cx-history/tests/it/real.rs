//! `cx_history::real` against cx-sim over real HTTP: completed contacts by
//! windows of at most 30 days, paging by `_links.next`, 204, both field-name
//! generations, incremental pulls on the virtual clock, state histories
//! through the path analyzer, an agent's interaction history.

use std::collections::BTreeSet;
use std::time::Duration;

use chrono::Utc;
use cx_history::real::{Client, ContactQuery, Pull, RealConfig, Versions, analytics};
use cx_history::{AnalyzerConfig, PathAnalyzer};
use cx_sim::Sim;
use futures::TryStreamExt;

const COMPLETED: &str = "/contacts/completed";

fn client(sim: &Sim, config: RealConfig) -> Client {
    Client::new(cx_testkit::sdk_http(sim), config).unwrap()
}

fn hours_ago(h: i64) -> chrono::DateTime<Utc> {
    Utc::now() - chrono::Duration::hours(h)
}

/// Query strings of the completed-contact requests, in order, with status.
fn completed_requests(sim: &Sim) -> Vec<(String, u16)> {
    sim.journal()
        .into_iter()
        .filter(|e| e.path.ends_with(COMPLETED))
        .map(|e| (e.query.unwrap_or_default(), e.status))
        .collect()
}

fn param<'a>(query: &'a str, name: &str) -> Option<&'a str> {
    query
        .split('&')
        .find_map(|kv| kv.strip_prefix(name)?.strip_prefix('='))
}

/// `raw` with the `%XX` escapes of a date decoded.
fn decoded(raw: &str) -> String {
    raw.replace("%2D", "-")
        .replace("%2E", ".")
        .replace("%3A", ":")
}

#[tokio::test]
async fn a_45_day_range_is_read_in_windows_of_at_most_30_days() {
    let sim = Sim::start().await.unwrap();
    let c = client(&sim, RealConfig::default().with_page_size(5000));
    let query = ContactQuery::range(Utc::now() - chrono::Duration::days(45), None);
    let contacts: Vec<_> = c.completed_contacts(&query).try_collect().await.unwrap();

    let sent = completed_requests(&sim);
    let windows: BTreeSet<(String, String)> = sent
        .iter()
        .filter_map(|(q, _)| {
            Some((
                decoded(param(q, "startDate")?),
                decoded(param(q, "endDate")?),
            ))
        })
        .collect();
    assert_eq!(windows.len(), 2, "{sent:?}");
    let windows: Vec<_> = windows.into_iter().collect();
    assert_eq!(windows[0].1, windows[1].0, "adjacent windows");
    // The older window holds nothing (the simulator's contacts start 7 days back): 204.
    assert_eq!(sent[0].1, 204, "{sent:?}");
    assert!(sent[1..].iter().all(|(_, status)| *status == 200));
    let ids: BTreeSet<_> = contacts
        .iter()
        .map(|c| c.contact_id.clone().unwrap())
        .collect();
    assert_eq!(ids.len(), contacts.len(), "no contact twice");
    // 7 days at one contact per 20 s.
    assert!(
        (29_000..=30_300).contains(&contacts.len()),
        "{}",
        contacts.len()
    );
}

#[tokio::test]
async fn pages_are_followed_by_links_next_until_a_short_page() {
    let sim = Sim::start().await.unwrap();
    let c = client(&sim, RealConfig::default().with_page_size(100));
    let query = ContactQuery::range(hours_ago(6), Some(hours_ago(3)));
    let mut pull = Pull::default();
    let pages: Vec<_> = c.completed_pages(&query).try_collect().await.unwrap();
    for p in &pages {
        pull.observe(p);
    }
    let total = pages[0].total_records.unwrap();
    let read: usize = pages.iter().map(|p| p.contacts.len()).sum();
    assert_eq!(read as u64, total);
    assert_eq!(pages.len() as u64, total.div_ceil(100));
    assert!(pull.last_poll_time.is_some());
    let skips: Vec<String> = completed_requests(&sim)
        .iter()
        .map(|(q, _)| param(q, "skip").unwrap().to_owned())
        .collect();
    let want: Vec<String> = (0..pages.len()).map(|n| (n * 100).to_string()).collect();
    assert_eq!(skips, want);
}

#[tokio::test]
async fn no_contacts_is_an_empty_stream_from_a_204() {
    let sim = Sim::start().await.unwrap();
    let c = client(&sim, RealConfig::default());
    let query = ContactQuery::range(hours_ago(24 * 20), Some(hours_ago(24 * 19)));
    let contacts: Vec<_> = c.completed_contacts(&query).try_collect().await.unwrap();
    assert!(contacts.is_empty());
    assert_eq!(completed_requests(&sim).last().unwrap().1, 204);
}

#[tokio::test]
async fn both_field_name_generations_read_the_same_contacts() {
    let sim = Sim::start().await.unwrap();
    let query = ContactQuery::range(hours_ago(3), Some(hours_ago(2)));
    let mut read = Vec::new();
    for version in ["v23.0", "v33.0"] {
        let config = RealConfig::default().with_versions(
            Versions::default()
                .with_completed_contacts(version)
                .with_contacts(version),
        );
        let contacts: Vec<_> = client(&sim, config)
            .completed_contacts(&query)
            .try_collect()
            .await
            .unwrap();
        assert!(!contacts.is_empty());
        assert!(contacts.iter().all(|c| c.contact_start_date.is_some()
            && c.media_type_id.is_some()
            && c.acw_seconds.is_some()
            && c.from_address.is_some()));
        // Fields beyond the analyzer's are kept too.
        assert!(contacts.iter().all(|c| c.date_acw_warehoused.is_some()
            && c.point_of_contact_id.is_some()
            && c.hold_count.is_some()
            && c.team_name.is_some() == c.team_id.is_some()));
        read.push(contacts);
    }
    assert_eq!(read[0], read[1]);
    let sent = sim.journal();
    assert!(
        sent.iter()
            .any(|e| e.path.contains("/v23.0/contacts/completed"))
    );
    assert!(
        sent.iter()
            .any(|e| e.path.contains("/v33.0/contacts/completed"))
    );
}

#[tokio::test]
async fn incremental_pulls_return_only_what_changed_on_the_virtual_clock() {
    let sim = Sim::start().await.unwrap();
    let c = client(&sim, RealConfig::default());
    let mut first = Pull::default();
    let pages: Vec<_> = c
        .completed_pages(&ContactQuery::range(hours_ago(2), None))
        .try_collect()
        .await
        .unwrap();
    pages.iter().for_each(|p| first.observe(p));
    let seen: BTreeSet<_> = pages
        .iter()
        .flat_map(|p| p.contacts.iter().map(|c| c.contact_id.clone()))
        .collect();

    sim.advance_clock(Duration::from_secs(3600));
    let mut second = Pull::default();
    let query = ContactQuery::incremental(first.last_poll_time, Utc::now());
    let pages: Vec<_> = c.completed_pages(&query).try_collect().await.unwrap();
    pages.iter().for_each(|p| second.observe(p));
    let changed: Vec<_> = pages.iter().flat_map(|p| p.contacts.iter()).collect();
    // An hour of virtual time: about 180 contacts ended.
    assert!((150..=260).contains(&changed.len()), "{}", changed.len());
    assert!(changed.iter().all(|c| !seen.contains(&c.contact_id)));
    let since = first.last_poll_time.unwrap();
    assert!(changed.iter().all(|c| {
        cx_history::real::parse_time(c.last_update_time.as_deref().unwrap()).unwrap() >= since
    }));
    let sent = completed_requests(&sim);
    let (q, _) = sent.last().unwrap();
    assert!(param(q, "updatedSince").is_some() && param(q, "startDate").is_none());

    // Nothing more changed (no virtual time passed): at most a contact ending meanwhile.
    let query = ContactQuery::incremental(second.last_poll_time, Utc::now());
    let again: Vec<_> = c.completed_contacts(&query).try_collect().await.unwrap();
    assert!(again.len() <= 2, "{}", again.len());
}

#[tokio::test]
async fn state_histories_feed_the_path_analysis_and_agents_have_interaction_history() {
    let sim = Sim::start().await.unwrap();
    let c = client(&sim, RealConfig::default());
    let contacts: Vec<_> = c
        .completed_contacts(&ContactQuery::range(hours_ago(3), Some(hours_ago(2))))
        .try_collect()
        .await
        .unwrap();
    let mut paths = PathAnalyzer::new(AnalyzerConfig::default());
    for contact in contacts.iter().take(20) {
        let id = contact.contact_id.clone().unwrap().0;
        let states = c.state_history(&id).await.unwrap();
        let seconds: f64 = states.iter().map(|s| s.duration.unwrap()).sum();
        assert_eq!(Some(seconds), contact.total_duration_seconds);
        assert_eq!(&c.contact(&id).await.unwrap(), contact);
        paths.observe(&analytics::state_path(&id, &states));
    }
    let analysis = paths.finish();
    assert_eq!(analysis.interactions, 20);
    assert_eq!(analysis.data_error_count, 0);
    let names: Vec<&str> = analysis.nodes.iter().map(|n| n.node_id.as_str()).collect();
    assert!(
        names.contains(&"InQueue") && names.contains(&"EndContact"),
        "{names:?}"
    );
    assert!(analysis.top_paths[0].nodes[0] == "PreQueue");

    let handled: Vec<_> = c
        .interaction_history("3100001", &ContactQuery::range(hours_ago(4), None))
        .try_collect()
        .await
        .unwrap();
    assert!(!handled.is_empty());
    assert!(
        handled
            .iter()
            .all(|i| i.agent_id.as_ref().unwrap().0 == "3100001")
    );
    let unknown: Result<Vec<_>, _> = c
        .interaction_history("99", &ContactQuery::range(hours_ago(4), None))
        .try_collect()
        .await;
    assert_eq!(unknown.unwrap_err().kind(), cx_history::ErrorKind::NotFound);
}

#[tokio::test]
async fn reading_ahead_is_bounded_and_stops_when_the_stream_is_dropped() {
    let sim = Sim::start().await.unwrap();
    let c = client(&sim, RealConfig::default().with_page_size(25));
    // About 540 contacts: 22 pages of 25.
    let query = ContactQuery::range(hours_ago(6), Some(hours_ago(3)));
    {
        let mut pages = std::pin::pin!(c.completed_pages(&query));
        let first = pages.try_next().await.unwrap().unwrap();
        assert_eq!(first.contacts.len(), 25);
        // The stages read ahead of the consumer (which holds page 1)...
        let completed =
            |j: &[cx_sim::JournalEntry]| j.iter().filter(|e| e.path.ends_with(COMPLETED)).count();
        sim.wait_for_journal(Duration::from_secs(30), |j| completed(j) >= 5)
            .await
            .unwrap();
        // ...but no further than a page in each stage's slot and one held
        // by each stage (pages 2 to 5), plus the one being asked for.
        for _ in 0..200 {
            tokio::task::yield_now().await;
        }
        assert!(
            completed_requests(&sim).len() <= 6,
            "{:?}",
            completed_requests(&sim)
        );
    }
    let after_drop = completed_requests(&sim).len();
    for _ in 0..50 {
        tokio::task::yield_now().await;
    }
    // A request already sent may still land; nothing further is asked for.
    assert!(completed_requests(&sim).len() <= after_drop + 1);
    assert!(after_drop < 22);
}

/// "The last 30 days" with "now" read a fraction of a millisecond later
/// (the query's own `Utc::now()`, then the client's clock at the call) is
/// one window, not a second window under a millisecond long: dates go out
/// in whole milliseconds, so that one would be sent with `startDate` equal
/// to `endDate`, which CXone (and the simulator) refuse with 400 after the
/// first window was read.
#[tokio::test]
async fn a_range_a_fraction_of_a_millisecond_over_30_days_is_one_window() {
    use chrono::SubsecRound as _;
    let sim = Sim::start().await.unwrap();
    // 20 days back, so the window holds nothing (204) and reads fast.
    let then = hours_ago(24 * 20).trunc_subsecs(3);
    let c = client(&sim, RealConfig::default()).with_clock(cx_history::FixedClock(
        then + chrono::Duration::microseconds(400),
    ));
    let query = ContactQuery::range(then - chrono::Duration::days(30), None);
    let read: Result<Vec<_>, _> = c.completed_contacts(&query).try_collect().await;
    let sent = completed_requests(&sim);
    assert!(read.is_ok(), "{read:?} after {sent:?}");
    assert_eq!(sent.len(), 1, "{sent:?}");
    assert_eq!(sent[0].1, 204, "{sent:?}");
}

/// An incremental series that starts with a range up to now (`cx contacts
/// completed --incremental`'s first pull) loses no contact when the
/// server's clock is ahead of the client's: the range ends at the client's
/// now, the `lastPollTime` kept is the server's, and a contact that started
/// between the two and had ended by then was in neither pull.
#[tokio::test]
async fn a_range_then_incremental_pulls_miss_nothing_when_the_server_clock_is_ahead() {
    let sim = Sim::start().await.unwrap();
    // The server is an hour ahead of this client.
    sim.advance_clock(Duration::from_secs(3600));
    let c = client(&sim, RealConfig::default().with_page_size(5000));
    let since = hours_ago(2);
    let mut read = BTreeSet::new();
    let mut first = Pull::default();
    let pages: Vec<_> = c
        .completed_pages(&ContactQuery::range(since, None))
        .try_collect()
        .await
        .unwrap();
    // The server's time when it answered the first pull.
    let answered = pages[0].last_poll_time.unwrap();
    for p in &pages {
        first.observe(p);
        read.extend(p.contacts.iter().map(|c| c.contact_id.clone().unwrap()));
    }
    let query = ContactQuery::incremental(first.last_poll_time, Utc::now());
    let pages: Vec<_> = c.completed_pages(&query).try_collect().await.unwrap();
    for p in &pages {
        read.extend(p.contacts.iter().map(|c| c.contact_id.clone().unwrap()));
    }
    // Every contact since `since` that had ended when the first pull was
    // answered was read by one of the two.
    let ended: Vec<_> = c
        .completed_contacts(&ContactQuery::range(since, Some(answered)))
        .try_collect()
        .await
        .unwrap();
    let missed: Vec<_> = ended
        .iter()
        .filter(|c| {
            cx_history::real::parse_time(c.last_update_time.as_deref().unwrap()).unwrap() < answered
        })
        .filter(|c| !read.contains(c.contact_id.as_ref().unwrap()))
        .collect();
    assert!(ended.len() > 300, "{}", ended.len());
    assert!(
        missed.is_empty(),
        "{} of {} missed",
        missed.len(),
        ended.len()
    );
}
