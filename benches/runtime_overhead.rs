//! Bench (a): the runtime's per-request cost against a plain reqwest call to
//! the same simulator route (`GET /api/v2/workflows/{id}`), same pool, same
//! token. Target: within 10% of plain reqwest.
//!
//! `cargo bench -p cx-benches --bench runtime_overhead`

// criterion_group! generates an undocumented pub fn.
#![allow(missing_docs)]

use criterion::{Criterion, criterion_group, criterion_main};
use cx_benches::{WF_ID, runtime, sdk_client};
use cx_http::Authenticate as _;

fn overhead(c: &mut Criterion) {
    let rt = runtime();
    let sim = rt
        .block_on(cx_sim::Sim::start())
        .unwrap_or_else(|e| panic!("{e}"));
    let path = format!("/api/v2/workflows/{WF_ID}");
    let url = format!("{}{path}", sim.base_url());

    let sdk = sdk_client(&sim, cx_http::Config::default());
    // The plain client uses the same access token, fetched once.
    let (_, tokens) = cx_auth::Tenant::new(
        sim.base_url(),
        cx_sim::DEFAULT_CLIENT_ID,
        cx_sim::DEFAULT_CLIENT_SECRET,
    )
    .connect()
    .unwrap_or_else(|e| panic!("{e}"));
    let token = rt
        .block_on(tokens.access_token())
        .unwrap_or_else(|e| panic!("{e}"));
    let bearer = format!("Bearer {}", token.expose());
    let _ = rustls::crypto::ring::default_provider().install_default();
    let plain = reqwest::Client::new();

    let mut group = c.benchmark_group("get_workflow_definition");
    group.bench_function("plain_reqwest", |b| {
        b.to_async(&rt).iter(|| async {
            let resp = plain
                .get(&url)
                .header("authorization", &bearer)
                .send()
                .await
                .unwrap_or_else(|e| panic!("{e}"));
            assert_eq!(resp.status(), 200);
            resp.bytes().await.unwrap_or_else(|e| panic!("{e}"))
        });
    });
    group.bench_function("cx_http_runtime", |b| {
        b.to_async(&rt).iter(|| async {
            sdk.get(cx_http::ApiPath::new("/api/v2/workflows").id("workflow_id", WF_ID))
                .send()
                .await
                .unwrap_or_else(|e| panic!("{e}"))
        });
    });
    group.finish();
    rt.block_on(sim.shutdown());
}

criterion_group!(benches, overhead);
criterion_main!(benches);
