//! Data Extraction jobs (issue 17) over real HTTP against cx-sim, on paused
//! tokio time: the simulator's clock follows it, so the 30 s tenant limit
//! and the 40 s jobs cost no real time.

use std::path::Path;
use std::time::Duration;

use chrono::{TimeZone, Utc};
use cx_dataaction::extraction::{Client, ExtractionConfig, JobRequest, Progress};
use cx_dataaction::{DataActionKind, ErrorKind};
use cx_sim::{ExtractionSettings, JournalEntry, Sim};

fn request() -> JobRequest {
    JobRequest::new(
        "recording-interaction-metadata",
        "7",
        Utc.with_ymd_and_hms(2024, 5, 1, 0, 0, 0).unwrap(),
        Utc.with_ymd_and_hms(2024, 5, 3, 0, 0, 0).unwrap(),
    )
}

async fn start() -> (Sim, Client) {
    let sim = Sim::start().await.unwrap();
    let client = Client::new(cx_testkit::sdk_http(&sim), ExtractionConfig::default()).unwrap();
    (sim, client)
}

/// The Data Extraction API calls the simulator saw (downloads excluded).
fn api_calls(sim: &Sim) -> Vec<JournalEntry> {
    sim.journal()
        .into_iter()
        .filter(|e| e.path.starts_with("/data-extraction/v1/jobs"))
        .collect()
}

fn downloads(sim: &Sim) -> Vec<JournalEntry> {
    sim.journal()
        .into_iter()
        .filter(|e| e.path.starts_with("/data-extraction/v1/files/"))
        .collect()
}

/// Every API call came at least 30 s of sim time after the one before, and
/// none was refused.
fn assert_spaced(calls: &[JournalEntry]) {
    assert!(calls.iter().all(|e| e.status < 400), "{calls:#?}");
    for pair in calls.windows(2) {
        let gap = pair[1].at_ms - pair[0].at_ms;
        assert!(gap >= 30_000, "{gap} ms between {pair:#?}");
    }
}

fn lines(path: &Path) -> Vec<String> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(str::to_owned)
        .collect()
}

fn leftovers(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".part"))
        .collect()
}

#[tokio::test(start_paused = true)]
async fn a_job_runs_to_a_file_with_its_calls_30_s_apart() {
    let (sim, client) = start().await;
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("metadata.csv");
    let mut seen = Vec::new();
    let done = client
        .run(&request(), &out)
        .progress(|p| seen.push(p.clone()))
        .send()
        .await
        .unwrap();
    // Two days of 24 rows and a header.
    let csv = lines(&out);
    assert_eq!(csv.len(), 49);
    assert!(csv[0].starts_with("contactId,"));
    assert_eq!(done.bytes, std::fs::metadata(&out).unwrap().len());
    assert_eq!((done.url_renewals, done.path.as_path()), (0, out.as_path()));
    assert!(leftovers(dir.path()).is_empty());

    // create at 0, a read at 30 s (RUNNING), one at ≥ 60 s (SUCCEEDED):
    // the job takes 40 s, and no call came sooner than 30 s after another.
    let calls = api_calls(&sim);
    assert_eq!(calls.len(), 3, "{calls:#?}");
    assert_eq!(calls[0].method, "POST");
    assert_eq!(done.polls, 2);
    assert_spaced(&calls);
    assert!(matches!(&seen[0], Progress::Created { job_id } if *job_id == done.job_id));
    assert!(matches!(seen[1], Progress::Running { polls: 1, .. }));
    // The download carries no token and came right after the last read.
    let files = downloads(&sim);
    assert_eq!(files.len(), 1);
    assert_eq!(files[0].tenant, None);
    assert!(files[0].at_ms - calls[2].at_ms < 30_000);
}

/// A wait longer than the clock can count (`cx extract run --max-wait
/// 18446744073709551615`) is no deadline, not a panic once the job exists.
#[tokio::test(start_paused = true)]
async fn a_deadline_past_what_the_clock_holds_is_no_deadline() {
    let sim = Sim::start().await.unwrap();
    let config = ExtractionConfig::default();
    let poller = config.poller.clone().with_deadline(Some(Duration::MAX));
    let client = Client::new(cx_testkit::sdk_http(&sim), config.with_poller(poller)).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("m.csv");
    let done = client.run(&request(), &out).send().await.unwrap();
    assert_eq!(lines(&out).len(), 49);
    assert_eq!(done.polls, 2);
}

#[tokio::test(start_paused = true)]
async fn an_expired_url_is_renewed_by_reading_the_job_again() {
    let (sim, client) = start().await;
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("m.csv");
    let id = client.create_job(&request()).await.unwrap();
    let (job, _) = client.wait(&id, |_| {}).await.unwrap();
    // The URL lives 30 s; this one is older than that when fetched.
    sim.advance_clock(Duration::from_secs(31));
    let mut renewed = Vec::new();
    let done = client
        .download(&job, &out, |p| renewed.push(p.clone()))
        .await
        .unwrap();
    assert_eq!(done.url_renewals, 1);
    assert_eq!(renewed, vec![Progress::UrlRenewed { renewals: 1 }]);
    assert_eq!(lines(&out).len(), 49);
    let files: Vec<u16> = downloads(&sim).iter().map(|e| e.status).collect();
    assert_eq!(files, vec![403, 200]);
    assert_spaced(&api_calls(&sim));
    assert!(leftovers(dir.path()).is_empty());
}

#[tokio::test(start_paused = true)]
async fn a_failed_job_is_an_error_with_the_servers_message_escaped() {
    let (sim, client) = start().await;
    sim.set_extraction_settings(
        ExtractionSettings::default().with_fail_with(Some("no permission\u{1b}[2J for QM".into())),
    );
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("m.csv");
    let err = client.run(&request(), &out).send().await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Domain(DataActionKind::JobFailed));
    let message = err.to_string();
    assert!(!message.contains('\u{1b}'), "{message}");
    assert!(
        message.contains("no permission") && message.contains("FAILED"),
        "{message}"
    );
    assert_eq!(err.error_detail(), Some("no permission\u{1b}[2J for QM"));
    assert!(err.job_id().is_some());
    assert!(!out.exists());
    assert!(downloads(&sim).is_empty());
}

#[tokio::test(start_paused = true)]
async fn the_synchronous_form_downloads_at_once_and_bad_input_sends_nothing() {
    let (sim, client) = start().await;
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("sync.csv");
    let done = client.run_sync(&request(), &out).await.unwrap();
    assert_eq!(lines(&out).len(), 49);
    assert_eq!(done.polls, 0);

    let mut backwards = request();
    backwards.end_date = backwards.start_date;
    let err = client.create_job(&backwards).await.unwrap_err();
    assert!(err.is_validation(), "{err}");
    assert!(err.to_string().contains("startDate"), "{err}");
    assert_eq!(api_calls(&sim).len(), 1);
}

/// A synchronous answer that names no job (`{url}` alone) has no job to
/// read for a fresh URL: an expired one is an error at once, not a read of
/// a job called "sync".
#[tokio::test(start_paused = true)]
async fn an_expired_url_of_a_synchronous_answer_without_a_job_is_not_renewed() {
    let (sim, client) = start().await;
    sim.set_extraction_settings(
        ExtractionSettings::default()
            .with_sync_url_only(true)
            .with_url_ttl(Duration::ZERO),
    );
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("sync.csv");
    let err = client.run_sync(&request(), &out).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Api, "{err}");
    assert!(err.to_string().contains("403"), "{err}");
    let calls: Vec<_> = api_calls(&sim)
        .into_iter()
        .map(|e| (e.method, e.path))
        .collect();
    assert_eq!(
        calls,
        vec![(
            "POST".to_owned(),
            "/data-extraction/v1/jobs/sync".to_owned()
        )]
    );
    assert!(!out.exists() && leftovers(dir.path()).is_empty());
}

/// A shared limit store that grants every slot and records what was asked.
#[derive(Default)]
struct Recorder {
    asked: std::sync::Mutex<Vec<(String, cx_http::RateLimit)>>,
}

#[async_trait::async_trait]
impl cx_http::SharedLimits for Recorder {
    async fn try_take(
        &self,
        name: &str,
        limit: cx_http::RateLimit,
    ) -> Result<Option<Duration>, cx_http::Error> {
        self.asked.lock().unwrap().push((name.to_owned(), limit));
        Ok(None)
    }

    fn fallback_share(&self) -> u32 {
        10
    }
}

/// With a fleet store configured (Redis in production), every API call
/// also takes a slot of the tenant-wide limit, one per 30 s.
#[tokio::test(start_paused = true)]
async fn with_a_shared_store_every_call_takes_a_slot_of_the_fleet_limit() {
    let sim = Sim::start().await.unwrap();
    let store = std::sync::Arc::new(Recorder::default());
    let client = Client::new(
        client_http_with_store(&sim, store.clone()),
        ExtractionConfig::default(),
    )
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    client
        .run(&request(), &dir.path().join("m.csv"))
        .send()
        .await
        .unwrap();
    let asked = store.asked.lock().unwrap().clone();
    // One slot per attempt: at least one per call the simulator saw (an
    // attempt on a pooled connection the simulator closed while idle for
    // 30 s is retried and takes another).
    assert!(asked.len() >= api_calls(&sim).len(), "{asked:?}");
    assert!(asked.iter().all(|(name, limit)| name
        == cx_dataaction::extraction::EXTRACTION_LIMIT_NAME
        && limit.emission_interval() == Duration::from_secs(30)));

    let zero = Client::new(
        client_http_with_store(&sim, store),
        ExtractionConfig::default().with_min_interval(Duration::ZERO),
    );
    assert!(zero.is_err_and(|e| e.to_string().contains("min_interval")));
}

fn client_http_with_store(sim: &Sim, store: std::sync::Arc<Recorder>) -> cx_http::Client {
    let mut tenant = cx_testkit::tenant(sim);
    tenant.http = tenant
        .http
        .with_shared_limits(cx_http::SharedLimitStore(store));
    tenant.connect().unwrap().0
}

/// Two processes (two runtime clients, each with its own in-process
/// spacing) on one tenant share the Data Extraction limit through Redis:
/// the simulator, whose limit is 0.5 s here, refuses none of their calls
/// (unshared, the two would call at once). Real time (Redis' clock): the
/// limit is 1 s, so this takes a few seconds; the half second between the
/// two limits absorbs the arrival jitter of a loaded machine.
#[tokio::test]
async fn two_processes_sharing_redis_keep_to_the_tenant_limit() {
    let server = cx_redis::testing::RedisServer::start().unwrap();
    let sim = Sim::start().await.unwrap();
    sim.set_extraction_settings(
        ExtractionSettings::default()
            .with_min_interval(Duration::from_millis(500))
            .with_job_duration(Duration::from_millis(1500)),
    );
    let pace = Duration::from_secs(1);
    let process = || {
        let redis =
            cx_redis::Redis::new(cx_redis::RedisConfig::new(server.url(), "extract")).unwrap();
        let (http, _) = redis.share(cx_testkit::tenant(&sim)).connect().unwrap();
        let config = ExtractionConfig::default()
            .with_min_interval(pace)
            .with_poller(
                cx_http::Poller::default()
                    .with_initial_delay(pace)
                    .with_multiplier(1.0)
                    .with_jitter(0.0),
            );
        Client::new(http, config).unwrap()
    };
    let (a, b) = (process(), process());
    let dir = tempfile::tempdir().unwrap();
    let (out_a, out_b) = (dir.path().join("a.csv"), dir.path().join("b.csv"));
    let req = request();
    let (ra, rb) = tokio::join!(a.run(&req, &out_a).send(), b.run(&req, &out_b).send());
    ra.unwrap();
    rb.unwrap();
    let calls = api_calls(&sim);
    // Each process creates its job and reads it at least once; how many
    // reads a job takes depends on which process got the earlier slots.
    assert!(calls.len() >= 4, "{calls:#?}");
    assert!(calls.iter().all(|e| e.status < 400), "{calls:#?}");
    for pair in calls.windows(2) {
        assert!(pair[1].at_ms - pair[0].at_ms >= 500, "{pair:#?}");
    }
}
