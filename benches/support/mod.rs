//! Shared bench helpers: a simulator and clients connected to it.

#![allow(missing_docs)]

use cx_sim::Sim;

/// The seed workflow (seeds 000 and 001).
pub const WF_ID: &str = cx_sim::SEED_WORKFLOW_ID;

/// A multi-threaded runtime for benches.
pub fn runtime() -> tokio::runtime::Runtime {
    match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => panic!("cannot start tokio: {e}"),
    }
}

/// An authenticated runtime client for the simulator's default client.
pub fn sdk_client(sim: &Sim, config: cx_http::Config) -> cx_http::Client {
    sdk_client_at(sim.base_url(), config)
}

/// [`sdk_client`] for the simulator at `base_url` (another process's).
pub fn sdk_client_at(base_url: &str, config: cx_http::Config) -> cx_http::Client {
    let mut tenant = cx_auth::Tenant::new(
        base_url,
        cx_sim::DEFAULT_CLIENT_ID,
        cx_sim::DEFAULT_CLIENT_SECRET,
    );
    tenant.http = config;
    match tenant.connect() {
        Ok((client, _)) => client,
        Err(e) => panic!("cannot connect to the simulator: {e}"),
    }
}

/// `Bearer <token>` for the simulator's default client, fetched once, for a
/// plain reqwest baseline that sends what the runtime sends.
pub async fn bearer(sim: &Sim) -> String {
    use cx_http::Authenticate as _;
    let (_, tokens) = cx_auth::Tenant::new(
        sim.base_url(),
        cx_sim::DEFAULT_CLIENT_ID,
        cx_sim::DEFAULT_CLIENT_SECRET,
    )
    .connect()
    .unwrap_or_else(|e| panic!("{e}"));
    let token = tokens
        .access_token()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    format!("Bearer {}", token.expose())
}

/// The simulator `builder` describes, serving the data action `action` for
/// the default tenant (panics when it cannot start).
pub async fn sim_with_action(
    builder: cx_sim::SimBuilder,
    action: cx_sim::DataActionFixture,
) -> Sim {
    let sim = builder.start().await.unwrap_or_else(|e| panic!("{e}"));
    sim.add_data_action(cx_sim::DEFAULT_TENANT, action);
    sim
}

/// The answer to `req` (panics on a transport error or a non-2xx status).
pub async fn ok(req: reqwest::RequestBuilder) -> reqwest::Response {
    req.send()
        .await
        .and_then(reqwest::Response::error_for_status)
        .unwrap_or_else(|e| panic!("{e}"))
}

/// The environment variable `name` as a number, or `default`.
pub fn env_or(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// The `p`-quantile (0..=1, nearest rank) of an ascending slice; NaN when empty.
pub fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let idx = ((sorted.len() - 1) as f64 * p).round() as usize;
    sorted[idx.min(sorted.len() - 1)]
}

/// Peak resident set size of this process (`VmHWM` of
/// `/proc/self/status`), in KiB; 0 where it cannot be read.
pub fn vm_hwm_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse().ok())
        })
        .unwrap_or(0)
}

/// Runs this bench binary again as `cmd` (built from
/// `std::env::current_exe()` by the caller) and reads the child's one
/// output line `count hwm_kib secs`: (count, peak RSS in KiB, seconds).
/// Panics, with the child's output, when it fails or prints anything else.
pub fn child_figures(cmd: &mut std::process::Command) -> (u64, u64, f64) {
    let out = cmd.output().unwrap_or_else(|e| panic!("{e}"));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "child failed: {text} {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let f: Vec<&str> = text.split_whitespace().collect();
    match f.as_slice() {
        [count, hwm, secs] => (
            count.parse().unwrap_or(0),
            hwm.parse().unwrap_or(0),
            secs.parse().unwrap_or(f64::NAN),
        ),
        _ => panic!("unexpected child output {text:?}"),
    }
}

/// Runs `round` `rounds` times: the sum of what it returns (items
/// processed) and the seconds all rounds took.
pub fn timed_rounds(rounds: u32, mut round: impl FnMut() -> u64) -> (u64, f64) {
    let started = std::time::Instant::now();
    let done = (0..rounds).map(|_| round()).sum();
    (done, started.elapsed().as_secs_f64())
}
