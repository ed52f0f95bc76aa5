//! Issue 14: the latency a rate limiter adds to each limited request, the
//! Redis limiter (one EVALSHA of the GCRA script on a local `redis-server`,
//! started for the run on a free port) next to the in-process one
//! (governor), same run, same quota. The quota is never exhausted, so the
//! figure is the cost of the step itself, not a wait for a slot; a plain
//! simulator GET is printed for scale.
//!
//! `cargo bench -p cx-benches --bench redis_limiter`
//! Environment: `REDIS_BENCH_SAMPLES` (5000).

use std::time::Instant;

use cx_benches::{WF_ID, env_or, percentile, runtime, sdk_client};
use cx_http::{RateLimit, RateLimiter};
use cx_redis::testing::RedisServer;

/// Never exhausted: no sample waits for a slot.
const QUOTA: RateLimit = RateLimit::new(1_000_000, 1_000_000);

/// p50 and p99 in µs of `samples` runs of `step`.
async fn measure<F, Fut>(samples: u64, mut step: F) -> (f64, f64)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    // Warm up (connection, script load) before measuring.
    for _ in 0..100 {
        step().await;
    }
    let mut us = Vec::new();
    for _ in 0..samples {
        let t = Instant::now();
        step().await;
        us.push(t.elapsed().as_secs_f64() * 1e6);
    }
    us.sort_by(f64::total_cmp);
    (percentile(&us, 0.5), percentile(&us, 0.99))
}

fn main() {
    let samples = env_or("REDIS_BENCH_SAMPLES", 5000);
    let server = RedisServer::start().unwrap_or_else(|e| panic!("{e}"));
    let rt = runtime();
    rt.block_on(async {
        let sim = cx_sim::Sim::start().await.unwrap_or_else(|e| panic!("{e}"));
        let redis = cx_redis::Redis::new(cx_redis::RedisConfig::new(server.url(), "bench"))
            .unwrap_or_else(|e| panic!("{e}"));
        let local = RateLimiter::new(QUOTA).unwrap_or_else(|e| panic!("{e}"));
        let shared =
            RateLimiter::shared(QUOTA, "bench", redis.limits()).unwrap_or_else(|e| panic!("{e}"));
        let sdk = sdk_client(&sim, cx_http::Config::default());
        let get = || async {
            sdk.get(cx_http::ApiPath::new("/api/v2/workflows").id("workflow_id", WF_ID))
                .send()
                .await
                .unwrap_or_else(|e| panic!("{e}"));
        };
        let (l50, l99) = measure(samples, || local.until_ready()).await;
        let (r50, r99) = measure(samples, || shared.until_ready()).await;
        let (g50, g99) = measure(samples.min(2000), get).await;
        println!("added latency per limited request, {samples} samples (µs):");
        println!("  in-process (governor)      p50 {l50:>8.1}  p99 {l99:>8.1}");
        println!("  Redis (GCRA via EVALSHA)   p50 {r50:>8.1}  p99 {r99:>8.1}");
        println!("  for scale: one simulator GET p50 {g50:>8.1}  p99 {g99:>8.1}");
        sim.shutdown().await;
    });
}
