//! Bench: interaction history (seed 003) against the in-process simulator's
//! synthetic sets (`interactionId STARTSWITH 'syn-'`, 10 steps each).
//!
//! `cargo bench -p cx-benches --bench history`
//!
//! Prints:
//! 1. the analyzer alone: steps analysed per second over interactions
//!    already in memory (fetched once from the simulator);
//! 2. end to end: steps per second of `Client::report` (paged retrieval
//!    with 5 requests in flight, JSON decoding, analysis);
//! 3. peak RSS (`VmHWM` from `/proc/self/status`) of a child process that
//!    streams `BENCH_RSS_SMALL` (default 10,000), then `BENCH_RSS_LARGE`
//!    (default 100,000), then `BENCH_RSS_HUGE` (default 200,000)
//!    interactions end to end through
//!    the SDK (retrieval and analysis) from the simulator, which runs in
//!    this (parent) process so that its page rendering is not counted: with
//!    retrieval bounded by the pages in flight, the two are about the same.
//!    Each size is measured twice: with glibc's default malloc (one arena
//!    per thread, and an mmap threshold that rises once a large block is
//!    freed, after which blocks of that size stay in the arenas: the
//!    high-water mark crept up with the pages read while hyper's read
//!    buffers could reach 400 KiB; cx-http now bounds them at 64 KiB) and
//!    with `MALLOC_ARENA_MAX=1`, which shows the working set itself.
//!
//! Environment: `BENCH_INTERACTIONS` (for 1 and 2, default 10,000),
//! `BENCH_RSS_SMALL`, `BENCH_RSS_LARGE`, `BENCH_RSS_HUGE`, `BENCH_PAGE`
//! (page size, default 1000), `BENCH_CHILD_WRAP` (a shell command prefix
//! the children of 3 run under, e.g. `/usr/bin/time -a -o /tmp/cpu -f
//! '%U %S'` for their CPU time, or `heaptrack -o /tmp/h`; it must leave
//! the child's standard output alone).

use std::process::Command;
use std::time::Instant;

use cx_benches::{
    child_figures, env_or, runtime, sdk_client, sdk_client_at, timed_rounds, vm_hwm_kib,
};
use cx_history::{
    AnalyzerConfig, Client, Config, HistoryQuery, HistoryReport, Interaction, PathAnalyzer,
};
use cx_sim::{Sim, SyntheticHistory};
use futures::TryStreamExt;

const STEPS: u32 = 10;
const CHILD_FLAG: &str = "--rss-child";

fn synthetic(sim: &Sim, interactions: u64) {
    sim.set_synthetic_history(
        cx_sim::DEFAULT_TENANT,
        SyntheticHistory::new(interactions, STEPS).with_seed(42),
    );
}

/// The query of the whole synthetic set.
fn query() -> HistoryQuery {
    let page = u32::try_from(env_or("BENCH_PAGE", 1000)).unwrap_or(1000);
    HistoryQuery::builder()
        .interaction_prefix(SyntheticHistory::PREFIX)
        .limit(page)
        .build()
        .unwrap_or_else(|e| panic!("{e}"))
}

/// Run the whole report once; with its wall time in seconds.
async fn timed_report(client: &Client, query: &HistoryQuery) -> (HistoryReport, f64) {
    let started = Instant::now();
    let report = client
        .report(query)
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    (report, started.elapsed().as_secs_f64())
}

/// Child mode: stream the `n` interactions the simulator at `base_url`
/// serves, print `steps hwm_kib secs`.
fn rss_child(base_url: &str, n: u64) {
    runtime().block_on(async {
        let http = sdk_client_at(base_url, cx_http::Config::default());
        let client = Client::new(http, Config::default());
        let (report, secs) = timed_report(&client, &query()).await;
        assert_eq!(report.records_retrieved, n, "every record retrieved");
        println!(
            "{} {} {secs:.3}",
            report.analysis.steps_analysed,
            vm_hwm_kib()
        );
    });
}

fn run_child(sim: &Sim, n: u64, one_arena: bool) -> (u64, u64, f64) {
    synthetic(sim, n);
    let exe = std::env::current_exe().unwrap_or_else(|e| panic!("{e}"));
    let mut cmd = match std::env::var("BENCH_CHILD_WRAP") {
        Ok(wrap) => {
            let mut sh = Command::new("sh");
            sh.args(["-c", &format!("{wrap} \"$@\""), "sh"]).arg(exe);
            sh
        }
        Err(_) => Command::new(exe),
    };
    cmd.args([CHILD_FLAG, sim.base_url(), &n.to_string()]);
    if one_arena {
        cmd.env("MALLOC_ARENA_MAX", "1");
    }
    child_figures(&mut cmd)
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if let Some(i) = args.iter().position(|a| a == CHILD_FLAG) {
        let url = args.get(i + 1).map_or("", String::as_str);
        let n = args.get(i + 2).and_then(|v| v.parse().ok()).unwrap_or(0);
        rss_child(url, n);
        return;
    }
    let n = env_or("BENCH_INTERACTIONS", 10_000);
    let rt = runtime();
    let sim = rt.block_on(async {
        let sim = Sim::start().await.unwrap_or_else(|e| panic!("{e}"));
        synthetic(&sim, n);
        let client = Client::new(
            sdk_client(&sim, cx_http::Config::default()),
            Config::default(),
        );
        let query = query();

        // 1. Analyzer alone, over interactions held in memory.
        let data: Vec<Interaction> = client
            .interactions(&query)
            .try_collect()
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        let (steps, secs) = timed_rounds(5, || {
            let mut analyzer = PathAnalyzer::new(AnalyzerConfig::default());
            data.iter().for_each(|i| analyzer.observe(i));
            analyzer.finish().steps_analysed
        });
        println!(
            "history/analyzer: {steps} steps in {secs:.3} s = {:.0} steps/s",
            steps as f64 / secs
        );

        // 2. End to end through the SDK.
        let (report, secs) = timed_report(&client, &query).await;
        println!(
            "history/end_to_end: {} interactions, {} steps in {secs:.3} s = {:.0} steps/s ({} pages, {} bottlenecks)",
            report.records_retrieved,
            report.analysis.steps_analysed,
            report.analysis.steps_analysed as f64 / secs,
            report.pages,
            report.analysis.bottleneck_count
        );
        sim
    });

    // 3. Peak RSS per size, each in a fresh client process; the simulator
    //    keeps serving from this one's runtime threads.
    let small = env_or("BENCH_RSS_SMALL", 10_000);
    let large = env_or("BENCH_RSS_LARGE", 100_000);
    let huge = env_or("BENCH_RSS_HUGE", 200_000);
    for (label, one_arena) in [("default malloc", false), ("MALLOC_ARENA_MAX=1", true)] {
        let (s_steps, s_hwm, s_secs) = run_child(&sim, small, one_arena);
        let mut line = format!(
            "history/peak_rss (page {}, {label}): {small} interactions ({s_steps} steps, {s_secs:.1} s): {:.1} MiB",
            query().limit(),
            s_hwm as f64 / 1024.0,
        );
        for n in [large, huge] {
            let (steps, hwm, secs) = run_child(&sim, n, one_arena);
            line.push_str(&format!(
                "; {n} ({steps} steps, {secs:.1} s): {:.1} MiB, ratio {:.2}",
                hwm as f64 / 1024.0,
                hwm as f64 / s_hwm.max(1) as f64
            ));
        }
        println!("{line}");
    }
}
