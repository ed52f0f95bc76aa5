//! Bench: completed contacts (issue 17) streamed from the in-process
//! simulator's synthetic volume and analyzed end to end.
//!
//! `cargo bench -p cx-benches --bench contacts`
//!
//! Prints:
//! 1. the analyzer alone: contacts per second through
//!    `ContactAnalyzer::observe` (grouped by skill, top 10 by queue time)
//!    over `BENCH_ANALYZER` (default 100,000) contacts already in memory;
//! 2. the simulator alone: contacts per second of its pages fetched (not
//!    decoded) with a plain reqwest client — how much of the end-to-end
//!    time is the server's;
//! 3. end to end, in a fresh child process per size (`BENCH_SMALL`, default
//!    100,000, and `BENCH_LARGE`, default 1,000,000): contacts per second
//!    of `cx_history::real::Client::completed_pages` (paging by
//!    `_links.next`, JSON decoding) feeding the analyzer, and the child's
//!    peak RSS (`VmHWM`) — the simulator runs in this (parent) process, so
//!    its page rendering is not in the child's memory (it shares the
//!    machine's cores). Each size runs twice: with the default allocator
//!    settings a user has, and with `MALLOC_ARENA_MAX=1` and
//!    `MALLOC_MMAP_THRESHOLD_=131072` (glibc): page bodies (megabytes) are
//!    then always mapped and unmapped whole instead of glibc raising its
//!    mmap threshold after the first one and carving later bodies out of a
//!    heap that only grows — which makes the high-water mark creep with the
//!    number of pages rather than show the working set. The RSS ratio
//!    large/small shows whether memory grows with the volume.
//!
//! The query asks only for the fields the analyzer reads (`fields=`), 20
//! days of contacts in one window, `BENCH_PAGE` (default 1000, the SDK's
//! default page size) per page. Larger pages are faster but the few pages
//! the SDK reads ahead weigh more in the peak RSS, and which alignment of
//! them a run hits varies with the number of pages.

use std::process::Command;
use std::time::Instant;

use cx_benches::{
    child_figures, env_or, ok, runtime, sdk_client, sdk_client_at, timed_rounds, vm_hwm_kib,
};
use cx_history::real::analytics::{ContactAnalyzer, GroupBy};
use cx_history::real::{Client, CompletedContact, ContactQuery, RealConfig};
use cx_sim::{Sim, SyntheticContacts};
use futures::TryStreamExt;

const CHILD_FLAG: &str = "--contacts-child";
const DAYS: u32 = 20;

/// The fields the analyzer reads.
const FIELDS: [&str; 16] = [
    "contactId",
    "contactStartDate",
    "skillId",
    "skillName",
    "agentId",
    "teamId",
    "abandoned",
    "isShortAbandon",
    "isRefused",
    "serviceLevelFlag",
    "inQueueSeconds",
    "agentSeconds",
    "holdSeconds",
    "acwSeconds",
    "totalDurationSeconds",
    "transferIndicatorName",
];

fn client(http: cx_http::Client) -> Client {
    let page = u32::try_from(env_or("BENCH_PAGE", 1000)).unwrap_or(1000);
    Client::new(http, RealConfig::default().with_page_size(page)).unwrap_or_else(|e| panic!("{e}"))
}

fn query() -> ContactQuery {
    let now = chrono::Utc::now();
    ContactQuery::range(now - chrono::Duration::days(i64::from(DAYS) + 1), Some(now))
        .with_fields(FIELDS)
}

/// Streams every contact through a fresh analyzer: (contacts, seconds).
async fn end_to_end(client: &Client) -> (u64, f64) {
    let started = Instant::now();
    let mut analyzer = ContactAnalyzer::new(GroupBy::Skill, 10);
    let mut pages = std::pin::pin!(client.completed_pages(&query()));
    while let Some(page) = pages.try_next().await.unwrap_or_else(|e| panic!("{e}")) {
        for c in &page.contacts {
            analyzer.observe(c);
        }
    }
    let table = analyzer.finish();
    (table.contacts, started.elapsed().as_secs_f64())
}

/// Child mode: stream the contacts the simulator at `base_url` serves;
/// print `contacts hwm_kib secs`.
fn child(base_url: &str) {
    runtime().block_on(async {
        let http = sdk_client_at(base_url, cx_http::Config::default());
        let (n, secs) = end_to_end(&client(http)).await;
        println!("{n} {} {secs:.3}", vm_hwm_kib());
    });
}

/// One child run over `n` contacts, with the default allocator settings a
/// user has or (`tuned`) glibc's arena and mmap threshold fixed.
fn run_child(sim: &Sim, n: u64, tuned: bool) -> (u64, u64, f64) {
    sim.set_synthetic_contacts(
        cx_sim::DEFAULT_TENANT,
        SyntheticContacts::new(n, DAYS).with_seed(17),
    );
    let exe = std::env::current_exe().unwrap_or_else(|e| panic!("{e}"));
    let mut cmd = Command::new(exe);
    cmd.args([CHILD_FLAG, sim.base_url()]);
    if tuned {
        cmd.env("MALLOC_ARENA_MAX", "1")
            .env("MALLOC_MMAP_THRESHOLD_", "131072");
    }
    child_figures(&mut cmd)
}

/// The simulator alone: its `n` contacts fetched page by page (`skip`)
/// with a plain reqwest client and not decoded.
async fn sim_pages(sim: &Sim, n: u64) {
    let auth = cx_benches::bearer(sim).await;
    let http = reqwest::Client::new();
    let page = env_or("BENCH_PAGE", 1000).max(1);
    let now = chrono::Utc::now();
    let start = (now - chrono::Duration::days(i64::from(DAYS) + 1))
        .to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
    let end = now.to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
    let started = Instant::now();
    let mut bytes = 0;
    for skip in (0..n).step_by(usize::try_from(page).unwrap_or(1000)) {
        let body = ok(http
            .get(format!(
                "{}/inContactAPI/services/v33.0/contacts/completed",
                sim.base_url()
            ))
            .header("Authorization", &auth)
            .query(&[
                ("startDate", start.as_str()),
                ("endDate", end.as_str()),
                ("fields", FIELDS.join(",").as_str()),
                ("top", page.to_string().as_str()),
                ("skip", skip.to_string().as_str()),
            ]))
        .await
        .bytes()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
        bytes += body.len();
    }
    let secs = started.elapsed().as_secs_f64();
    println!(
        "contacts/sim_pages: {n} contacts ({:.1} MiB of JSON) served in {secs:.3} s = {:.0} contacts/s",
        bytes as f64 / 1_048_576.0,
        n as f64 / secs
    );
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if let Some(i) = args.iter().position(|a| a == CHILD_FLAG) {
        child(args.get(i + 1).map_or("", String::as_str));
        return;
    }
    let rt = runtime();
    let sim = rt.block_on(async {
        let sim = Sim::start().await.unwrap_or_else(|e| panic!("{e}"));
        let n = env_or("BENCH_ANALYZER", 100_000);
        sim.set_synthetic_contacts(
            cx_sim::DEFAULT_TENANT,
            SyntheticContacts::new(n, DAYS).with_seed(17),
        );
        let c = client(sdk_client(&sim, cx_http::Config::default()));
        let data: Vec<CompletedContact> = c
            .completed_contacts(&query())
            .try_collect()
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(data.len() as u64, n, "every contact read");
        let (seen, secs) = timed_rounds(10, || {
            let mut analyzer = ContactAnalyzer::new(GroupBy::Skill, 10);
            data.iter().for_each(|c| analyzer.observe(c));
            analyzer.finish().contacts
        });
        println!(
            "contacts/analyzer: {seen} contacts in {secs:.3} s = {:.0} contacts/s",
            seen as f64 / secs
        );
        sim_pages(&sim, n).await;
        sim
    });
    let small = env_or("BENCH_SMALL", 100_000);
    let large = env_or("BENCH_LARGE", 1_000_000);
    for tuned in [false, true] {
        let label = if tuned {
            "MALLOC_ARENA_MAX=1 MALLOC_MMAP_THRESHOLD_=131072"
        } else {
            "default malloc"
        };
        let mut hwm = Vec::new();
        for n in [small, large] {
            let (read, kib, secs) = run_child(&sim, n, tuned);
            assert_eq!(read, n, "every contact read");
            println!(
                "contacts/end_to_end ({label}): {n} contacts in {secs:.2} s = {:.0} contacts/s; peak RSS {:.1} MiB",
                n as f64 / secs,
                kib as f64 / 1024.0
            );
            hwm.push(kib);
        }
        if let [s, l] = hwm.as_slice() {
            println!(
                "contacts/peak_rss ({label}): {small} → {large} contacts: ratio {:.2}",
                *l as f64 / (*s).max(1) as f64
            );
        }
    }
}
