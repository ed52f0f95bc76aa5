//! The runtime's retry, Retry-After, idempotency, 401, breaker, limits and
//! pagination behaviour, over real HTTP against cx-sim. Each test asserts on
//! what the simulator's journal saw, so it fails if the behaviour breaks.

// Tests unwrap: a panic with the value is the failure report.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use crate::support::{WF, client, client_with, fast_config, sent, statuses};
use cx_http::{BreakerConfig, Config, ErrorKind, PageFields, RateLimit, RetryBudgetConfig};
use cx_sim::{Fault, FaultRule, RetryAfter, Sim};
use futures::TryStreamExt;
use serde_json::json;
use tokio::sync::Notify;
use tracing::span;

/// The seed workflow's executions.
const EXECUTIONS: &str = "/api/v2/workflows/wf_12345678-abcd-efgh-ijkl-1234567890ab/executions";

/// `fault` on every `GET` of [`WF`] (`with_times` to limit it).
fn get_wf(fault: Fault) -> FaultRule {
    FaultRule::new(format!("GET {WF}"), fault)
}

/// `fault` on every `POST` of [`EXECUTIONS`] (`with_times` to limit it).
fn post_executions(fault: Fault) -> FaultRule {
    FaultRule::new(format!("POST {EXECUTIONS}"), fault)
}

/// A simulator with the fault `rules` and a client with the fast settings.
async fn faulted(rules: Vec<FaultRule>) -> (Sim, cx_http::Client) {
    let sim = Sim::start().await.unwrap();
    sim.set_faults(rules);
    let api = client(&sim);
    (sim, api)
}

fn status(status: u16, retry_after: Option<RetryAfter>) -> Fault {
    Fault::Status {
        status,
        retry_after,
    }
}

#[tokio::test]
async fn retry_after_is_waited_out_in_both_forms_then_the_call_succeeds() {
    // (Retry-After form, shortest wait the client must have made)
    let cases = [
        (RetryAfter::Seconds(1), Duration::from_millis(950)),
        // An HTTP-date has 1 s resolution: "2 s from now" is 1..=2 s away.
        (
            RetryAfter::HttpDate { secs_from_now: 2 },
            Duration::from_millis(900),
        ),
    ];
    for (retry_after, min_wait) in cases {
        let (sim, api) = faulted(vec![get_wf(status(429, Some(retry_after))).with_times(1)]).await;
        let resp = api.get(WF).send().await.unwrap();
        assert_eq!(resp.status(), 200, "{retry_after:?}");
        assert_eq!(resp.attempts(), 2, "{retry_after:?}");
        let gets = sent(&sim, "GET", WF);
        assert_eq!(statuses(&sim, "GET", WF), [429, 200]);
        let gap = Duration::from_millis(gets[1].at_ms - gets[0].at_ms);
        assert!(gap >= min_wait, "{retry_after:?}: waited only {gap:?}");
    }
}

#[tokio::test]
async fn a_past_http_date_means_retry_at_once() {
    let (sim, api) = faulted(vec![
        get_wf(status(
            429,
            Some(RetryAfter::HttpDate { secs_from_now: -30 }),
        ))
        .with_times(1),
    ])
    .await;
    assert_eq!(api.get(WF).send().await.unwrap().status(), 200);
    // Spacing as the server recorded it: a date in the past is no wait at
    // all (the backoff floor), far from a second.
    let gets = sent(&sim, "GET", WF);
    assert!(gets[1].at_ms - gets[0].at_ms < 1_000, "{gets:?}");
}

#[tokio::test]
async fn a_retry_after_longer_than_the_cap_is_capped() {
    let sim = Sim::start().await.unwrap();
    let mut config = fast_config(&sim);
    config.retry.retry_after_cap = Duration::from_millis(200);
    let api = client_with(&sim, config);
    sim.set_faults(vec![
        get_wf(status(429, Some(RetryAfter::Seconds(3600)))).with_times(1),
    ]);
    assert_eq!(api.get(WF).send().await.unwrap().status(), 200);
    // The server saw the retry after the 200 ms cap, not after an hour.
    let gets = sent(&sim, "GET", WF);
    let gap = gets[1].at_ms - gets[0].at_ms;
    assert!((200..3_600_000).contains(&gap), "{gap} ms");
}

#[tokio::test]
async fn server_errors_are_retried_then_succeed() {
    for code in [500u16, 502, 503, 504] {
        let (sim, api) = faulted(vec![get_wf(status(code, None)).with_times(2)]).await;
        let resp = api.get(WF).send().await.unwrap();
        assert_eq!(resp.attempts(), 3, "HTTP {code}");
        assert_eq!(statuses(&sim, "GET", WF), [code, code, 200]);
    }
}

#[tokio::test]
async fn attempts_are_bounded_and_the_error_reports_them() {
    let (sim, api) = faulted(vec![get_wf(status(500, None))]).await;
    let err = api.get(WF).send().await.unwrap_err();
    assert_eq!(err.status(), Some(500));
    assert_eq!(err.attempts(), 4);
    let gets = sent(&sim, "GET", WF);
    assert_eq!(gets.len(), 4);
    assert!(err.elapsed() > Duration::ZERO);
    // The error carries the request id of the last response.
    assert_eq!(err.request_id(), Some(gets[3].request_id.as_str()));

    sim.set_faults(vec![]);
    let ok = api.get(WF).send().await.unwrap();
    let last = sent(&sim, "GET", WF).pop().unwrap();
    assert_eq!(ok.request_id(), Some(last.request_id.as_str()));
}

#[tokio::test]
async fn a_post_without_key_is_not_replayed_after_a_500() {
    let (sim, api) = faulted(vec![post_executions(status(500, None)).with_times(1)]).await;
    let err = api
        .link(cx_http::Method::POST, EXECUTIONS)
        .json(&json!({"input": {"customerId": "C1"}}))
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.status(), Some(500));
    let answered = statuses(&sim, "POST", EXECUTIONS);
    assert_eq!(answered, [500], "a POST must not be replayed");
}

#[tokio::test]
async fn a_post_with_a_key_is_retried_with_the_same_key_and_creates_one_execution() {
    // The first attempt is processed but its response is lost (a 500 after
    // processing); the retry must reuse the key so no second execution exists.
    let (sim, api) = faulted(vec![
        post_executions(Fault::StatusAfterProcessing { status: 500 }).with_times(1),
    ])
    .await;
    let created: serde_json::Value = api
        .link(cx_http::Method::POST, EXECUTIONS)
        .json(&json!({"input": {"customerId": "C1"}}))
        .idempotency_key("key-123")
        .send_json()
        .await
        .unwrap();
    let posts = sent(&sim, "POST", EXECUTIONS);
    assert_eq!(posts.len(), 2);
    assert!(
        posts
            .iter()
            .all(|e| e.idempotency_key.as_deref() == Some("key-123"))
    );
    let running: serde_json::Value = api
        .link(cx_http::Method::GET, EXECUTIONS)
        .query(&[("status", "running")])
        .send_json()
        .await
        .unwrap();
    assert_eq!(running["totalCount"], 1, "exactly one execution: {running}");
    assert_eq!(running["items"][0]["id"], created["id"]);
}

#[tokio::test]
async fn a_429_or_503_post_is_retried_without_a_key() {
    for code in [429u16, 503] {
        let (sim, api) = faulted(vec![
            post_executions(status(code, Some(RetryAfter::Seconds(0)))).with_times(1),
        ])
        .await;
        let resp = api
            .link(cx_http::Method::POST, EXECUTIONS)
            .json(&json!({"input": {}}))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 201, "HTTP {code}");
        assert_eq!(sent(&sim, "POST", EXECUTIONS).len(), 2);
    }
}

#[tokio::test]
async fn an_expired_token_is_refreshed_once_and_the_request_replayed() {
    let sim = Sim::start().await.unwrap();
    let api = client(&sim);
    api.get(WF).send().await.unwrap();
    sim.clear_journal();
    sim.revoke_tokens();
    let resp = api.get(WF).send().await.unwrap();
    assert_eq!(resp.status(), 200);
    let journal = sim.journal();
    let seen: Vec<(String, u16)> = journal.iter().map(|e| (e.path.clone(), e.status)).collect();
    assert_eq!(
        seen,
        [
            (WF.to_owned(), 401),
            ("/oauth/token".to_owned(), 200),
            (WF.to_owned(), 200)
        ]
    );
}

#[tokio::test]
async fn a_second_401_is_an_error_not_a_loop() {
    let (sim, api) = faulted(vec![get_wf(status(401, None))]).await;
    let err = api.get(WF).send().await.unwrap_err();
    assert_eq!(err.status(), Some(401));
    let answered = statuses(&sim, "GET", WF);
    assert_eq!(answered, [401, 401], "one replay after one refresh");
}

#[tokio::test]
async fn connection_resets_on_a_get_are_retried() {
    let (sim, api) = faulted(vec![get_wf(Fault::ConnectionReset).with_times(1)]).await;
    let resp = api.get(WF).send().await.unwrap();
    assert_eq!(resp.attempts(), 2);
    // The server answered nothing (status 0) to the first, 200 to the retry.
    assert_eq!(statuses(&sim, "GET", WF), [0, 200]);
}

#[tokio::test]
async fn a_stalled_body_hits_the_attempt_timeout() {
    let sim = Sim::start().await.unwrap();
    let mut config = fast_config(&sim);
    config.attempt_timeout = Duration::from_millis(200);
    config.retry.max_attempts = 2;
    let api = client_with(&sim, config);
    sim.set_faults(vec![get_wf(Fault::StallBody { ms: 2_000 })]);
    // Without the attempt timeout both stalled bodies would arrive (2 s)
    // and the call succeed; it fails as a timeout after both attempts.
    let err = api.get(WF).send().await.unwrap_err();
    assert!(err.is_timeout(), "{err:?}");
    assert_eq!(err.attempts(), 2);
}

#[tokio::test]
async fn the_total_deadline_bounds_a_call() {
    let sim = Sim::start().await.unwrap();
    let mut config = fast_config(&sim);
    config.retry.total_deadline = Duration::from_millis(300);
    config.retry.max_attempts = 100;
    let api = client_with(&sim, config);
    sim.set_faults(vec![get_wf(Fault::StallBody { ms: 5_000 })]);
    // The deadline, not the 100 attempts or the 5 s stall, ended the call:
    // one or two attempts fit in 300 ms of stalled bodies.
    let err = api.get(WF).send().await.unwrap_err();
    assert!(err.is_timeout(), "{err:?}");
    assert!(err.attempts() <= 2, "{err:?}");
    assert_eq!(sent(&sim, "GET", WF).len() as u32, err.attempts());
}

/// `fast_config` with `attempts` attempts of at most `attempt_timeout` each.
fn timed_config(sim: &Sim, attempts: u32, attempt_timeout: Duration) -> Config {
    let mut config = fast_config(sim);
    config.attempt_timeout = attempt_timeout;
    config.retry.max_attempts = attempts;
    config
}

/// Asserts that `took` (sim time) is in `from_ms..to_ms`.
fn took_between(took: Duration, from_ms: u64, to_ms: u64) {
    let ms = took.as_millis() as u64;
    assert!(
        (from_ms..to_ms).contains(&ms),
        "took {ms} ms, not {from_ms}..{to_ms}"
    );
}

/// Asserts that `sent` failed as a timeout after `attempts` attempts.
fn timed_out(sent: Result<cx_http::Response, cx_http::Error>, attempts: u32) -> cx_http::Error {
    let err = sent.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Timeout, "{err:?}");
    assert_eq!(err.attempts(), attempts, "{err:?}");
    err
}

#[tokio::test(start_paused = true)]
async fn a_slow_answer_times_out_each_attempt_on_time_and_is_retried() {
    let sim = Sim::start().await.unwrap();
    let api = client_with(&sim, timed_config(&sim, 3, Duration::from_secs(1)));
    api.get(WF).send().await.unwrap(); // the token
    // Two answers 10 s late (sim time), then a prompt one.
    sim.set_faults(vec![get_wf(Fault::Latency { ms: 10_000 }).with_times(2)]);
    let start = tokio::time::Instant::now();
    let resp = api.get(WF).send().await.unwrap();
    assert_eq!(resp.attempts(), 3);
    // Each slow attempt ended at its 1 s timeout, then waited 10-50 ms of
    // backoff: the call never waited for a 10 s answer.
    took_between(start.elapsed(), 2_000, 2_200);
}

#[tokio::test(start_paused = true)]
async fn a_timed_out_attempt_reports_the_step_it_was_waiting_for() {
    let sim = Sim::start().await.unwrap();
    let api = client_with(&sim, timed_config(&sim, 2, Duration::from_secs(1)));
    api.get(WF).send().await.unwrap(); // the token
    let cases = [
        (
            Fault::Latency { ms: 10_000 },
            format!("GET {WF}: timed out"),
        ),
        (
            Fault::StallBody { ms: 10_000 },
            format!("GET {WF}: reading the body: timed out (HTTP 200)"),
        ),
    ];
    for (fault, message) in cases {
        sim.set_faults(vec![get_wf(fault)]);
        let start = tokio::time::Instant::now();
        let err = timed_out(api.get(WF).send().await, 2);
        took_between(start.elapsed(), 2_000, 2_200);
        let text = err.to_string();
        assert!(text.starts_with(&message), "{text:?} is not {message:?}");
    }
}

#[tokio::test(start_paused = true)]
async fn a_short_attempt_timeout_fires_on_time_while_a_longer_one_is_outstanding() {
    let sim = Sim::start().await.unwrap();
    let api = client_with(&sim, timed_config(&sim, 2, Duration::from_secs(30)));
    api.get(WF).send().await.unwrap(); // the token
    sim.set_faults(vec![get_wf(Fault::Latency { ms: 10_000 })]);
    let start = tokio::time::Instant::now();
    // A call with 30 s attempts, answered after 10 s ...
    let long = tokio::spawn({
        let api = api.clone();
        async move {
            let resp = api.get(WF).send().await;
            (resp, start.elapsed())
        }
    });
    // Paused time, no wall-clock wait: these virtual 100 ms pass only once
    // every task is idle, that is once the long call has registered its
    // 30 s deadline and waits in the simulator's latency.
    tokio::time::sleep(Duration::from_millis(100)).await;
    // ... and one with 1 s attempts sent while it waits.
    let sent = api
        .get(WF)
        .attempt_timeout(Duration::from_secs(1))
        .send()
        .await;
    timed_out(sent, 2);
    // Two 1 s attempts and 10-50 ms of backoff, not cut at the 10 s answer
    // or the long call's 30 s deadline.
    took_between(start.elapsed(), 2_100, 2_300);
    let (resp, took) = long.await.unwrap();
    assert_eq!(resp.unwrap().attempts(), 1);
    took_between(took, 10_000, 10_100);
}

#[test]
fn attempts_time_out_on_a_new_runtime_after_the_first_was_dropped() {
    let paused = || {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .start_paused(true)
            .build()
            .unwrap()
    };
    let first = paused();
    let api = first.block_on(async {
        let sim = Sim::start().await.unwrap();
        let api = client_with(&sim, timed_config(&sim, 2, Duration::from_secs(1)));
        api.get(WF).send().await.unwrap();
        api
    });
    // Ends the first simulator and everything the client ran on this runtime.
    drop(first);
    paused().block_on(async {
        let sim = Sim::start().await.unwrap();
        sim.set_faults(vec![get_wf(Fault::Latency { ms: 10_000 })]);
        let url = format!("{}{WF}", sim.base_url());
        let start = tokio::time::Instant::now();
        let sent = api
            .request_url(cx_http::Method::GET, &url)
            .without_auth()
            .send()
            .await;
        timed_out(sent, 2);
        took_between(start.elapsed(), 2_000, 2_200);
    });
}

/// A tracing subscriber that wakes one waiter on `Notify` each time the
/// runtime logs "retrying" (after it recorded a 429's pause, before it waits).
/// Installed per thread: `#[tokio::test]` runs everything on the test thread.
struct OnRetry(Arc<Notify>);

impl tracing::Subscriber for OnRetry {
    fn enabled(&self, _: &tracing::Metadata<'_>) -> bool {
        true
    }
    fn new_span(&self, _: &span::Attributes<'_>) -> span::Id {
        span::Id::from_u64(1)
    }
    fn record(&self, _: &span::Id, _: &span::Record<'_>) {}
    fn record_follows_from(&self, _: &span::Id, _: &span::Id) {}
    fn event(&self, event: &tracing::Event<'_>) {
        struct IsRetrying(bool);
        impl tracing::field::Visit for IsRetrying {
            fn record_debug(&mut self, field: &tracing::field::Field, value: &dyn fmt::Debug) {
                self.0 |= field.name() == "message" && format!("{value:?}") == "retrying";
            }
        }
        let mut seen = IsRetrying(false);
        event.record(&mut seen);
        if seen.0 {
            self.0.notify_one();
        }
    }
    fn enter(&self, _: &span::Id) {}
    fn exit(&self, _: &span::Id) {}
}

#[tokio::test]
async fn after_a_429_every_task_waits_for_the_shared_host_pause() {
    let sim = Sim::start().await.unwrap();
    let api = client(&sim);
    api.get(WF).send().await.unwrap(); // warm the token
    sim.clear_journal();
    sim.set_faults(vec![
        get_wf(status(429, Some(RetryAfter::Seconds(1)))).with_times(1),
    ]);
    // The 5 follow-ups start once the client has taken in the 429 (it logs
    // "retrying" right after recording the host's pause), not before.
    let retrying = Arc::new(Notify::new());
    let _log = tracing::subscriber::set_default(OnRetry(Arc::clone(&retrying)));
    let first = api.get(WF).send();
    let tasks = async {
        tokio::time::timeout(Duration::from_secs(10), retrying.notified())
            .await
            .expect("the client logs \"retrying\" after the 429");
        let calls = (0..5).map(|_| api.get(WF).send());
        futures::future::join_all(calls).await
    };
    let (first, rest) = tokio::join!(first, tasks);
    first.unwrap();
    assert!(rest.iter().all(Result::is_ok));
    let gets = sent(&sim, "GET", WF);
    assert_eq!(gets[0].status, 429);
    for later in &gets[1..] {
        assert!(
            later.at_ms >= gets[0].at_ms + 900,
            "a request went out during the pause: {later:?}"
        );
    }
}

#[tokio::test]
async fn the_retry_budget_caps_retries_across_calls() {
    let sim = Sim::start().await.unwrap();
    let mut config = fast_config(&sim);
    config.retry_budget = RetryBudgetConfig::default()
        .with_ratio(0.0)
        .with_reserve_per_sec(0.0)
        .with_max_tokens(1.0);
    config.breaker = None;
    let api = client_with(&sim, config);
    api.get(WF).send().await.unwrap();
    sim.clear_journal();
    sim.set_faults(vec![get_wf(status(500, None))]);
    assert!(api.get(WF).send().await.is_err());
    assert!(api.get(WF).send().await.is_err());
    // One token: the first call retries once, the second not at all.
    assert_eq!(sent(&sim, "GET", WF).len(), 3);
}

#[tokio::test]
async fn the_circuit_opens_and_stops_sending() {
    // A cool-down of `Duration::MAX` ("no limit", later than the clock can
    // hold) keeps it open too, and is no panic.
    for open_for in [Duration::from_secs(60), Duration::MAX] {
        let sim = Sim::start().await.unwrap();
        let mut config = fast_config(&sim);
        config.retry.max_attempts = 1;
        config.breaker = Some(
            BreakerConfig::default()
                .with_failure_threshold(3)
                .with_open_for(open_for),
        );
        let api = client_with(&sim, config);
        api.get(WF).send().await.unwrap();
        sim.set_faults(vec![get_wf(status(500, None))]);
        for _ in 0..3 {
            assert_eq!(api.get(WF).send().await.unwrap_err().status(), Some(500));
        }
        sim.clear_journal();
        let err = api.get(WF).send().await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::CircuitOpen, "{err}");
        assert_eq!(err.attempts(), 0);
        assert!(sim.journal().is_empty(), "nothing is sent while open");
    }
}

/// `Duration::MAX` for "no limit": a deadline or a pause later than the
/// clock can hold never comes, and is no panic.
#[tokio::test]
async fn a_total_deadline_longer_than_the_clock_holds_never_comes() {
    let sim = Sim::start().await.unwrap();
    let mut config = fast_config(&sim).with_attempt_timeout(Duration::MAX);
    config.retry.total_deadline = Duration::MAX;
    let api = client_with(&sim, config);
    sim.set_faults(vec![get_wf(status(500, None)).with_times(1)]);
    let resp = api.get(WF).send().await.unwrap();
    assert_eq!(resp.attempts(), 2);
}

#[tokio::test]
async fn a_retry_after_longer_than_the_clock_holds_ends_the_call() {
    for code in [429, 503] {
        let sim = Sim::start().await.unwrap();
        let mut config = fast_config(&sim);
        config.retry.retry_after_cap = Duration::MAX;
        let api = client_with(&sim, config);
        sim.set_faults(vec![get_wf(status(
            code,
            Some(RetryAfter::Seconds(u64::MAX)),
        ))]);
        // The wait asked for is past the total deadline: no retry.
        let err = api.get(WF).send().await.unwrap_err();
        assert_eq!(err.status(), Some(code), "{err}");
        assert_eq!(err.attempts(), 1, "{err}");
        assert_eq!(sent(&sim, "GET", WF).len(), 1);
    }
}

#[tokio::test]
async fn the_client_side_rate_limit_spaces_requests() {
    let sim = Sim::start().await.unwrap();
    let config = fast_config(&sim).with_rate_limit(RateLimit::new(10, 1));
    let api = client_with(&sim, config);
    api.get(WF).send().await.unwrap();
    sim.clear_journal();
    let calls = (0..10).map(|_| api.get(WF).send());
    for r in futures::future::join_all(calls).await {
        r.unwrap();
    }
    // The server saw 10 requests at 10/s with no burst: 9 intervals of
    // 100 ms (less jitter)...
    let at = arrivals(&sim);
    let span = at[9] - at[0];
    assert!(span >= 800, "{at:?}");
    // ... not 1/s, which would spread them over 9 s (a generous bound on the
    // server's record, 5 times the expected span).
    assert!(span < 4_500, "{at:?}");
}

/// Arrival times (sim ms) of the GETs of [`WF`] in the journal, sorted.
fn arrivals(sim: &Sim) -> Vec<u64> {
    let mut at: Vec<u64> = sent(sim, "GET", WF).iter().map(|e| e.at_ms).collect();
    at.sort_unstable();
    at
}

#[tokio::test]
async fn the_concurrency_limit_bounds_requests_in_flight() {
    let sim = Sim::start().await.unwrap();
    let config = fast_config(&sim).with_max_in_flight(2);
    let api = client_with(&sim, config);
    api.get(WF).send().await.unwrap();
    sim.clear_journal();
    sim.set_faults(vec![get_wf(Fault::Latency { ms: 300 })]);
    let calls = (0..6).map(|_| api.get(WF).send());
    for r in futures::future::join_all(calls).await {
        r.unwrap();
    }
    // 6 calls of 300 ms: never a third in flight (request i + 2 arrives
    // only after i or i + 1 was answered, 300 ms after i arrived)...
    let at = arrivals(&sim);
    assert!(at.windows(3).all(|w| w[2] - w[0] >= 299), "{at:?}");
    // ... but two at once: some request arrived while another was held.
    assert!(at.windows(2).any(|w| w[1] - w[0] < 300), "{at:?}");
}

#[tokio::test]
async fn the_page_token_stream_reads_every_audit_entry_page_by_page() {
    let sim = Sim::start().await.unwrap();
    let api = client(&sim);
    for i in 0..5 {
        api.link(cx_http::Method::POST, &format!("{WF}/executions"))
            .json(&json!({"input": {"customerId": format!("C{i}")}}))
            .send()
            .await
            .unwrap();
    }
    sim.clear_journal();
    let entries: Vec<serde_json::Value> = api
        .page_token_stream(
            "/api/v2/audit/logs".into(),
            vec![
                ("resourceType".into(), "workflow_execution".into()),
                ("pageSize".into(), "2".into()),
            ],
            PageFields {
                items: "items",
                next: "nextPageToken",
            },
            "pageToken",
        )
        .try_collect()
        .await
        .unwrap();
    let created = entries
        .iter()
        .filter(|e| e["action"] == "EXECUTION_CREATED")
        .count();
    assert_eq!(created, 5);
    let pages = sent(&sim, "GET", "/api/v2/audit/logs").len();
    assert_eq!(pages, entries.len().div_ceil(2));
}

#[tokio::test]
async fn input_errors_are_reported_before_sending() {
    let sim = Sim::start().await.unwrap();
    let api = client(&sim);
    let err = api
        .get(WF)
        .header("bad header", "x")
        .send()
        .await
        .unwrap_err();
    assert!(err.is_invalid_input());
    assert!(err.to_string().contains("bad header"), "{err}");
    assert!(sent(&sim, "GET", WF).is_empty());
    let bad = cx_http::Client::builder().base_url("not a url").build();
    assert!(bad.unwrap_err().to_string().contains("base_url"));
}

/// Enable the simulator's skills-page switch for agent-001: `nextPageUri`
/// absolute on `next_origin` (another host) or, with `None`, base-relative.
async fn skills_links_on(sim: &Sim, next_origin: Option<&str>) {
    cx_http::Client::builder()
        .base_url(sim.base_url())
        .build()
        .unwrap()
        .put("/_sim/agents/agent-001/skills-loop")
        .without_auth()
        .json(&json!({"enabled": false, "nextOrigin": next_origin}))
        .send()
        .await
        .unwrap();
}

fn skills_path() -> cx_http::ApiPath {
    cx_http::ApiPath::new("/api/v2/agents")
        .id("agent_id", "agent-001")
        .lit("skills")
}

const SKILL_PAGES: PageFields = PageFields {
    items: "entities",
    next: "nextPageUri",
};

#[tokio::test]
async fn a_next_page_link_to_another_origin_is_refused_and_nothing_is_sent_there() {
    let sim = Sim::start().await.unwrap();
    let other = Sim::start().await.unwrap();
    skills_links_on(&sim, Some(other.base_url())).await;
    let api = client(&sim);
    let got: Result<Vec<serde_json::Value>, _> = api
        .next_uri_stream(skills_path(), SKILL_PAGES)
        .try_collect()
        .await;
    let err = got.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::ForeignOrigin, "{err}");
    assert!(err.to_string().contains(other.base_url()), "{err}");
    assert!(
        other.journal().is_empty(),
        "no request reached the other host"
    );
    assert_eq!(sent(&sim, "GET", "/api/v2/agents").len(), 1);
}

#[tokio::test]
async fn same_origin_absolute_and_relative_next_page_links_are_followed() {
    for absolute in [true, false] {
        let sim = Sim::start().await.unwrap();
        let origin = absolute.then(|| sim.base_url().to_owned());
        skills_links_on(&sim, origin.as_deref()).await;
        let got: Vec<serde_json::Value> = client(&sim)
            .next_uri_stream(skills_path(), SKILL_PAGES)
            .try_collect()
            .await
            .unwrap();
        assert_eq!(got.len(), 5, "absolute: {absolute}");
        assert_eq!(sent(&sim, "GET", "/api/v2/agents").len(), 3);
    }
}

#[tokio::test]
async fn an_authenticated_request_to_a_configured_url_on_another_origin_is_refused() {
    let sim = Sim::start().await.unwrap();
    let other = Sim::start().await.unwrap();
    let err = client(&sim)
        .request_url(
            cx_http::Method::GET,
            &format!("{}/api/v2/x", other.base_url()),
        )
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::ForeignOrigin, "{err}");
    assert!(other.journal().is_empty());
}

/// A one-shot HTTP server on 127.0.0.1 that answers every request with
/// `response` (raw bytes), for answers the simulator does not give.
async fn raw_server(response: String) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        while let Ok((mut conn, _)) = listener.accept().await {
            let mut buf = vec![0u8; 4096];
            let _ = conn.read(&mut buf).await;
            let _ = conn.write_all(response.as_bytes()).await;
            let _ = conn.shutdown().await;
        }
    });
    format!("http://{addr}")
}

#[tokio::test]
async fn a_redirect_to_another_origin_is_not_followed_with_the_token() {
    let sim = Sim::start().await.unwrap();
    let other = Sim::start().await.unwrap();
    let redirector = raw_server(format!(
        "HTTP/1.1 302 Found\r\nlocation: {}/api/v2/agents/agent-001\r\ncontent-length: 0\r\nconnection: close\r\n\r\n",
        other.base_url()
    ))
    .await;
    // The redirecting host is the configured one; the token comes from the simulator.
    let api = client_with(&sim, fast_config(&sim).with_base_url(redirector));
    let err = api.get(skills_path()).send().await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::ForeignOrigin, "{err}");
    assert!(err.to_string().contains(other.base_url()), "{err}");
    assert!(other.journal().is_empty(), "the redirect was not followed");
}

/// An HTTP server on 127.0.0.1 that answers each request (one per
/// connection) with `answer(head)`, `head` being its request line and
/// headers; with the requests it has seen, each as its head and body.
async fn routed_server(answer: fn(&str) -> String) -> (String, Arc<std::sync::Mutex<Vec<String>>>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let seen = Arc::new(std::sync::Mutex::new(Vec::new()));
    let log = seen.clone();
    tokio::spawn(async move {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        while let Ok((mut conn, _)) = listener.accept().await {
            let mut request = Vec::new();
            let mut buf = [0u8; 4096];
            // The head, then as many body bytes as it declares.
            let complete = |r: &[u8]| {
                let text = String::from_utf8_lossy(r);
                text.split_once("\r\n\r\n").is_some_and(|(head, body)| {
                    let declared = head
                        .lines()
                        .find_map(|l| {
                            l.to_ascii_lowercase()
                                .strip_prefix("content-length: ")
                                .map(str::to_owned)
                        })
                        .and_then(|v| v.trim().parse::<usize>().ok())
                        .unwrap_or(0);
                    body.len() >= declared
                })
            };
            while !complete(&request) {
                match conn.read(&mut buf).await {
                    Ok(0) | Err(_) => break,
                    Ok(n) => request.extend_from_slice(&buf[..n]),
                }
            }
            let text = String::from_utf8_lossy(&request).into_owned();
            let head = text.split("\r\n\r\n").next().unwrap_or_default().to_owned();
            log.lock().unwrap().push(text);
            let _ = conn.write_all(answer(&head).as_bytes()).await;
            let _ = conn.shutdown().await;
        }
    });
    (format!("http://{addr}"), seen)
}

#[tokio::test]
async fn a_same_origin_redirect_is_followed_with_the_method_body_and_token() {
    let sim = Sim::start().await.unwrap();
    let (server, seen) = routed_server(|head| {
        // The same origin written otherwise: host in capitals.
        let host = head
            .lines()
            .find_map(|l| l.strip_prefix("host: "))
            .unwrap_or_default()
            .to_ascii_uppercase();
        if head.starts_with("POST /old ") {
            format!("HTTP/1.1 307 Temporary Redirect\r\nlocation: http://{host}/new\r\ncontent-length: 0\r\nconnection: close\r\n\r\n")
        } else {
            "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 11\r\nconnection: close\r\n\r\n{\"ok\":true}".into()
        }
    })
    .await;
    let server = server.replace("127.0.0.1", "localhost");
    let api = client_with(&sim, fast_config(&sim).with_base_url(server));
    let resp = api
        .post(cx_http::ApiPath::new("/old"))
        .json(&json!({"a": 1}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.body().as_ref(), br#"{"ok":true}"#);
    let seen = seen.lock().unwrap().clone();
    assert_eq!(seen.len(), 2, "{seen:?}");
    let second = seen[1].to_ascii_lowercase();
    assert!(second.starts_with("post /new "), "{second}");
    assert!(second.contains("\r\nuser-agent: cxone-rs/"), "{second}");
    assert!(second.contains("\r\naccept: */*\r\n"), "{second}");
    assert!(
        second.contains("\r\ncontent-type: application/json\r\n"),
        "{second}"
    );
    assert!(
        second.contains("authorization: bearer "),
        "the token goes along: {second}"
    );
    assert!(
        second.ends_with(r#"{"a":1}"#),
        "the body is replayed: {second}"
    );
}

/// A GET through a client whose base URL is a [`routed_server`] answering
/// `answer`: its error, and how many requests the server saw.
async fn failed_get(answer: fn(&str) -> String) -> (cx_http::Error, usize) {
    let sim = Sim::start().await.unwrap();
    let (server, seen) = routed_server(answer).await;
    let api = client_with(&sim, fast_config(&sim).with_base_url(server));
    let err = api
        .get(cx_http::ApiPath::new("/start"))
        .send()
        .await
        .unwrap_err();
    let requests = seen.lock().unwrap().len();
    (err, requests)
}

#[tokio::test]
async fn redirects_stop_after_five() {
    let (err, requests) = failed_get(|_| {
        "HTTP/1.1 302 Found\r\nlocation: /again\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"
            .into()
    })
    .await;
    assert_eq!(err.kind(), ErrorKind::Status, "{err}");
    assert_eq!(err.status(), Some(302), "{err}");
    assert!(err.to_string().contains("redirect not followed"), "{err}");
    assert_eq!(requests, 6, "the request and five redirects");
}

#[tokio::test]
async fn a_response_head_too_long_for_the_read_buffer_is_refused_once() {
    let (err, requests) = failed_get(|_| {
        format!(
            "HTTP/1.1 200 OK\r\nx-padding: {}\r\ncontent-length: 2\r\nconnection: close\r\n\r\n{{}}",
            "a".repeat(300 * 1024)
        )
    })
    .await;
    assert_eq!(err.kind(), ErrorKind::Decode, "{err}");
    assert!(err.to_string().contains("64 KiB"), "{err}");
    assert_eq!(requests, 1, "not retried");
}

#[tokio::test]
async fn hostile_ids_are_refused_before_any_request() {
    let sim = Sim::start().await.unwrap();
    let api = client(&sim);
    for id in [
        "..",
        ".",
        "",
        "a/b",
        "..\\..\\_sim\\faults",
        "x\u{1b}]0;t\u{7}",
    ] {
        let path = cx_http::ApiPath::new("/api/v2/agents").id("agent_id", id);
        let err = api.get(path).send().await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidInput, "{id:?}");
        assert!(err.to_string().contains("agent_id"), "{err}");
    }
    assert!(sim.journal().is_empty(), "nothing was sent");
    // Ids that are merely unusual travel as one encoded segment.
    let path = cx_http::ApiPath::new("/api/v2/agents").id("agent_id", "a b?c#d%");
    let err = api.get(path).send().await.unwrap_err();
    assert_eq!(err.status(), Some(404));
    let journal = sim.journal();
    let last = journal.last().unwrap();
    assert_eq!(last.path, "/api/v2/agents/a%20b%3Fc%23d%25");
}

/// A client without a circuit breaker: these tests fail a route more than
/// 5 times in a row on purpose.
fn unguarded(sim: &Sim) -> cx_http::Client {
    client_with(sim, fast_config(sim).with_breaker(None))
}

/// A poller for these tests: polls 10 ms apart, 5 s deadline.
fn quick_poller() -> cx_http::Poller {
    cx_http::Poller::default()
        .with_initial_delay(Duration::from_millis(10))
        .with_multiplier(1.0)
        .with_max_delay(Duration::from_millis(10))
        .with_jitter(0.0)
        .with_deadline(Some(Duration::from_secs(5)))
}

#[tokio::test]
async fn a_poll_that_exhausts_one_requests_retries_is_retried_within_the_deadline() {
    let sim = Sim::start().await.unwrap();
    let api = unguarded(&sim);
    // 6 failures in a row: more than one call's 4 attempts.
    sim.set_faults(vec![
        get_wf(status(503, None)).with_times(3),
        get_wf(Fault::ConnectionReset).with_times(3),
    ]);
    let outcome = quick_poller()
        .poll("workflow read", || {
            let req = api.get(WF);
            async move {
                let body: serde_json::Value = req.send_json().await?;
                Ok(cx_http::PollStatus::Done(body["id"].clone()))
            }
        })
        .await
        .unwrap();
    assert_eq!(
        outcome.value,
        json!("wf_12345678-abcd-efgh-ijkl-1234567890ab")
    );
    assert_eq!(outcome.polls, 2, "the first call gave up after 4 attempts");
    assert_eq!(statuses(&sim, "GET", WF), [503, 503, 503, 0, 0, 0, 200]);
}

#[tokio::test]
async fn a_non_transient_poll_error_ends_polling_at_once() {
    let sim = Sim::start().await.unwrap();
    let api = unguarded(&sim);
    let path = "/api/v2/workflows/wf_does_not_exist";
    let err = poll_until_read(&quick_poller(), &api, path)
        .await
        .unwrap_err();
    assert_eq!(err.status(), Some(404));
    assert_eq!(sent(&sim, "GET", path).len(), 1);
}

/// Polls with `poller` until one GET of `path` succeeds.
async fn poll_until_read(
    poller: &cx_http::Poller,
    api: &cx_http::Client,
    path: &'static str,
) -> Result<cx_http::PollOutcome<()>, cx_http::Error> {
    poller
        .poll("workflow read", || {
            let req = api.get(path);
            async move {
                req.send().await?;
                Ok(cx_http::PollStatus::Done(()))
            }
        })
        .await
}

fn executions() -> cx_http::ApiPath {
    cx_http::ApiPath::new("/api/v2/workflows")
        .id("workflow_id", "wf_12345678-abcd-efgh-ijkl-1234567890ab")
        .lit("executions")
}

#[tokio::test]
async fn a_submission_retried_through_its_key_after_lost_responses_creates_one_execution() {
    let sim = Sim::start().await.unwrap();
    let api = unguarded(&sim);
    // Every attempt of the first call is processed and its answer lost;
    // then a reset; then the answer arrives.
    sim.set_faults(vec![
        post_executions(Fault::StatusAfterProcessing { status: 502 }).with_times(4),
        post_executions(Fault::ConnectionReset).with_times(1),
    ]);
    let body = json!({"input": {"customerId": "C1", "priorityScore": 5}});
    let outcome = quick_poller()
        .retry("submitting", || {
            api.post(executions())
                .idempotency_key("soak-key-1")
                .json(&body)
                .send_json::<serde_json::Value>()
        })
        .await
        .unwrap();
    assert_eq!(
        outcome.polls, 2,
        "the second call recovered from the reset itself"
    );
    let posts = sent(&sim, "POST", EXECUTIONS);
    assert_eq!(
        statuses(&sim, "POST", EXECUTIONS),
        [502, 502, 502, 502, 0, 201]
    );
    assert!(
        posts
            .iter()
            .all(|e| e.idempotency_key.as_deref() == Some("soak-key-1"))
    );
    let listed: serde_json::Value = api
        .get(executions())
        .query(&[("pageSize", "100")])
        .send_json()
        .await
        .unwrap();
    assert_eq!(listed["totalCount"], json!(1), "{listed}");
    assert_eq!(listed["items"][0]["id"], outcome.value["id"]);
}

#[tokio::test]
async fn at_the_deadline_the_last_transient_error_is_returned() {
    let sim = Sim::start().await.unwrap();
    let api = unguarded(&sim);
    sim.set_faults(vec![get_wf(status(502, None))]);
    let poller = quick_poller().with_deadline(None).with_max_polls(Some(3));
    let err = poll_until_read(&poller, &api, WF).await.unwrap_err();
    assert_eq!(err.status(), Some(502));
    assert!(err.is_transient());
    assert_eq!(sent(&sim, "GET", WF).len(), 12, "3 polls of 4 attempts");
}

/// A server on 127.0.0.1 that answers the first request with `head` and
/// then streams zeros (up to 256 MiB) until the client goes away; the
/// receiver gets how many body bytes it managed to write.
async fn endless_body(head: &'static str) -> (String, tokio::sync::oneshot::Receiver<u64>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (tx, rx) = tokio::sync::oneshot::channel();
    tokio::spawn(async move {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let (mut conn, _) = listener.accept().await.unwrap();
        let mut buf = vec![0u8; 4096];
        let _ = conn.read(&mut buf).await;
        conn.write_all(head.as_bytes()).await.unwrap();
        let chunked = head.contains("chunked");
        let block = vec![b'0'; 64 * 1024];
        let mut written = 0u64;
        while written < 256 * 1024 * 1024 {
            let sent = if chunked {
                let size = format!("{:x}\r\n", block.len());
                conn.write_all(size.as_bytes()).await.is_ok()
                    && conn.write_all(&block).await.is_ok()
                    && conn.write_all(b"\r\n").await.is_ok()
            } else {
                conn.write_all(&block).await.is_ok()
            };
            if !sent {
                break;
            }
            written += block.len() as u64;
        }
        let _ = tx.send(written);
    });
    (format!("http://{addr}"), rx)
}

#[tokio::test]
async fn a_body_over_the_cap_fails_while_streaming_and_is_not_buffered() {
    const CAP: usize = 1024 * 1024;
    const MIB: u64 = 1024 * 1024;
    let cases = [
        // Declared: refused from Content-Length before the body is read.
        "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 268435456\r\n\r\n",
        // Chunked: refused once more than the cap has arrived.
        "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ntransfer-encoding: chunked\r\n\r\n",
    ];
    for head in cases {
        let (url, written) = endless_body(head).await;
        let api = cx_http::Client::builder()
            .config(
                Config::default()
                    .with_base_url(url)
                    .with_max_body_bytes(CAP),
            )
            .build()
            .unwrap();
        let err = api.get("/big").send().await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::TooLarge, "{head}: {err}");
        assert!(err.to_string().contains("1048576-byte cap"), "{err}");
        assert_eq!(err.attempts(), 1, "not retried: {err}");
        drop(api);
        // The server stopped long before 256 MiB: what it wrote is the cap
        // plus what the loopback socket buffers hold, not the whole body.
        let written = written.await.unwrap();
        println!(
            "{}: the server wrote {written} of 268435456 body bytes before the client closed",
            if head.contains("chunked") {
                "chunked"
            } else {
                "declared"
            }
        );
        assert!(written < 64 * MIB, "{head}: server wrote {written} bytes");
    }
}

#[tokio::test]
async fn a_per_request_cap_overrides_the_client_default() {
    let sim = Sim::start().await.unwrap();
    let api = client_with(&sim, fast_config(&sim).with_max_body_bytes(16));
    let err = api
        .get("/api/v2/agents/agent-001")
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::TooLarge, "{err}");
    let resp = api
        .get("/api/v2/agents/agent-001")
        .max_body_bytes(1024 * 1024)
        .send()
        .await
        .unwrap();
    assert!(resp.body().len() > 16);
}

#[tokio::test]
async fn a_body_is_read_into_the_buffer_given() {
    let sim = Sim::start().await.unwrap();
    let api = client_with(&sim, fast_config(&sim));
    let plain = api.get("/api/v2/agents/agent-001").send().await.unwrap();
    let mut buf = Vec::with_capacity(64 * 1024);
    buf.extend_from_slice(b"stale bytes");
    let at = buf.as_ptr();
    let resp = api
        .get("/api/v2/agents/agent-001")
        .read_into(buf)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.body(), plain.body(), "the buffer is cleared first");
    assert_eq!(resp.body().as_ptr(), at, "read into the buffer, not a copy");
    // Once the body is the only handle, the buffer comes back.
    let body = resp.body().clone();
    drop(resp);
    let back = Vec::from(body.try_into_mut().unwrap());
    assert_eq!((back.as_ptr(), back.capacity()), (at, 64 * 1024));
}
