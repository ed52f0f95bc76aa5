//! Bench (issue 13): the runtime's per-request cost against a plain reqwest
//! call to the same simulator route (`GET /api/v2/workflows/{id}`), same
//! token, same machine, same run. Target: at most 1.05x plain reqwest.
//!
//! One criterion run per side swung from 0.6x to 2.2x on the 2-core machine,
//! so the two sides run in interleaved rounds instead: each round sends
//! `BENCH_REQUESTS` sequential requests with one client and then the same
//! with the other (the order alternates between rounds), and the figure is
//! the median of the per-round ratios, next to each side's best round.
//!
//! `cargo bench -p cx-benches --bench runtime_overhead`
//! Environment: `BENCH_ROUNDS` (default 30), `BENCH_REQUESTS` (per side and
//! round, default 2000).
//!
//! `BENCH_ONLY=plain` or `BENCH_ONLY=runtime` runs that side alone (the
//! same requests, no ratio), for counting instructions, which the load of
//! a shared machine does not move: the difference between the two sides'
//! totals under `valgrind --tool=cachegrind --cache-sim=no`, divided by
//! `BENCH_ROUNDS * BENCH_REQUESTS + BENCH_REQUESTS / 10 + 1`, is what the
//! runtime adds to a request (setup and the warm-up token cancel out).

use std::time::{Duration, Instant};

use cx_benches::{WF_ID, bearer, env_or, percentile, runtime, sdk_client};

fn main() {
    let rt = runtime();
    let sim = rt
        .block_on(cx_sim::Sim::start())
        .unwrap_or_else(|e| panic!("{e}"));
    let url = format!("{}/api/v2/workflows/{WF_ID}", sim.base_url());

    let sdk = sdk_client(&sim, cx_http::Config::default());
    // The plain client uses the same access token, fetched once.
    let bearer = rt.block_on(bearer(&sim));
    let _ = rustls::crypto::ring::default_provider().install_default();
    let plain = reqwest::Client::new();

    let plain_round = |n: u64| {
        rt.block_on(async {
            let start = Sample::now();
            for _ in 0..n {
                let resp = plain
                    .get(&url)
                    .header("authorization", &bearer)
                    .send()
                    .await
                    .unwrap_or_else(|e| panic!("{e}"));
                assert_eq!(resp.status(), 200);
                std::hint::black_box(resp.bytes().await.unwrap_or_else(|e| panic!("{e}")));
            }
            start.elapsed()
        })
    };
    let runtime_round = |n: u64| {
        rt.block_on(async {
            let start = Sample::now();
            for _ in 0..n {
                let resp = sdk
                    .get(cx_http::ApiPath::new("/api/v2/workflows").id("workflow_id", WF_ID))
                    .send()
                    .await
                    .unwrap_or_else(|e| panic!("{e}"));
                std::hint::black_box(resp.body());
            }
            start.elapsed()
        })
    };

    let rounds = env_or("BENCH_ROUNDS", 30).max(1);
    let n = env_or("BENCH_REQUESTS", 2000).max(1);
    if let Ok(side) = std::env::var("BENCH_ONLY") {
        let round: &dyn Fn(u64) -> Spent = match side.as_str() {
            "plain" => &plain_round,
            "runtime" => &runtime_round,
            other => panic!("BENCH_ONLY is `plain` or `runtime`, not {other:?}"),
        };
        round(n / 10 + 1);
        let spent: Vec<Spent> = (0..rounds).map(|_| round(n)).collect();
        let total = |f: fn(&Spent) -> Duration| spent.iter().map(f).sum::<Duration>();
        let us = |d: Duration| d.as_secs_f64() * 1e6 / (rounds * n) as f64;
        println!(
            "{side} alone, {rounds} rounds of {n} requests: {:.1} us wall, {:.1} us CPU a request",
            us(total(|s| s.wall)),
            us(total(|s| s.cpu)),
        );
        rt.block_on(sim.shutdown());
        return;
    }
    // Warm both pools and the token once.
    plain_round(n / 10 + 1);
    runtime_round(n / 10 + 1);
    let (mut plain, mut ours) = (Vec::new(), Vec::new());
    let (mut wall_ratios, mut cpu_ratios) = (Vec::new(), Vec::new());
    for round in 0..rounds {
        let (p, o) = if round % 2 == 0 {
            let p = plain_round(n);
            (p, runtime_round(n))
        } else {
            let o = runtime_round(n);
            (plain_round(n), o)
        };
        wall_ratios.push(o.wall.as_secs_f64() / p.wall.as_secs_f64());
        cpu_ratios.push(o.cpu.as_secs_f64() / p.cpu.as_secs_f64());
        plain.push(p);
        ours.push(o);
    }
    for v in [&mut wall_ratios, &mut cpu_ratios] {
        v.sort_by(f64::total_cmp);
    }
    let us = |d: Duration| d.as_secs_f64() * 1e6 / n as f64;
    let best = |v: &[Spent], f: fn(&Spent) -> Duration| v.iter().map(f).min().unwrap_or_default();
    println!("GET /api/v2/workflows/{{id}}, {rounds} interleaved rounds of {n} requests a side");
    println!("(CPU: every thread of the process, simulator included; best round):");
    for (name, side) in [
        ("plain reqwest (baseline)", &plain),
        ("cx-http runtime", &ours),
    ] {
        println!(
            "  {name:<26} {:7.1} us wall  {:7.1} us CPU a request",
            us(best(side, |s| s.wall)),
            us(best(side, |s| s.cpu)),
        );
    }
    for (name, ratios) in [("wall", &wall_ratios), ("CPU", &cpu_ratios)] {
        println!(
            "  runtime / plain, {name:<4}    {:7.3}x median of rounds (p10 {:.3}x, p90 {:.3}x; target <= 1.05x)",
            percentile(ratios, 0.5),
            percentile(ratios, 0.1),
            percentile(ratios, 0.9),
        );
    }
    rt.block_on(sim.shutdown());
}

/// Wall and CPU time at one moment.
struct Sample {
    wall: Instant,
    cpu: Duration,
}

/// What a round took.
#[derive(Clone, Copy)]
struct Spent {
    wall: Duration,
    cpu: Duration,
}

impl Sample {
    fn now() -> Self {
        Self {
            wall: Instant::now(),
            cpu: process_cpu(),
        }
    }

    fn elapsed(&self) -> Spent {
        Spent {
            wall: self.wall.elapsed(),
            cpu: process_cpu().saturating_sub(self.cpu),
        }
    }
}

/// CPU time of every thread of this process so far, in ns precision: the
/// first field of each `/proc/self/task/*/schedstat` (Linux; zero elsewhere).
/// Less sensitive than wall time to what else the machine runs.
fn process_cpu() -> Duration {
    let Ok(tasks) = std::fs::read_dir("/proc/self/task") else {
        return Duration::ZERO;
    };
    let ns: u64 = tasks
        .flatten()
        .filter_map(|t| std::fs::read_to_string(t.path().join("schedstat")).ok())
        .filter_map(|s| s.split_whitespace().next()?.parse::<u64>().ok())
        .sum();
    Duration::from_nanos(ns)
}
