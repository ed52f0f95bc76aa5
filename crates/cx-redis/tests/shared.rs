//! The Redis store on a real `redis-server` (started per test, killed on
//! drop): the GCRA limiter against the same expectations as the in-process
//! one, one token for many caches, Redis killed and back.

#![allow(clippy::unwrap_used)]

use std::sync::Arc;
use std::time::Duration;

use cx_auth::TokenCache;
use cx_http::{Authenticate, RateLimit, RateLimiter, SharedLimits};
use cx_redis::testing::RedisServer;
use cx_redis::{Redis, RedisConfig};
use futures::{Stream, StreamExt};
use tokio::time::Instant;

const LIMIT: RateLimit = RateLimit::new(5, 1);

/// Take `n` slots from each limiter of `limiters` at once (one task per
/// limiter); the grant times, sorted.
async fn grants(limiters: Vec<RateLimiter>, n: usize) -> Vec<Duration> {
    let start = Instant::now();
    let tasks: Vec<_> = limiters
        .into_iter()
        .map(|l| {
            tokio::spawn(async move {
                let mut times = Vec::new();
                for _ in 0..n {
                    l.until_ready().await;
                    times.push(start.elapsed());
                }
                times
            })
        })
        .collect();
    let mut all = Vec::new();
    for t in tasks {
        all.extend(t.await.unwrap());
    }
    all.sort();
    all
}

/// The expectation both backends meet: with burst 1 consecutive grants are
/// at least one interval (200 ms) apart, less 40 ms of scheduling slack.
fn spaced(times: &[Duration]) -> bool {
    times
        .windows(2)
        .all(|w| w[1] - w[0] >= Duration::from_millis(160))
}

fn store(server: &RedisServer, tenant: &str) -> Redis {
    Redis::new(RedisConfig::new(server.url(), tenant).with_retry_after(Duration::ZERO)).unwrap()
}

#[tokio::test]
async fn the_redis_limiter_meets_the_in_process_expectations_across_processes() {
    let server = RedisServer::start().unwrap();
    // One limiter, in-process and in Redis: the same spacing.
    let local = grants(vec![RateLimiter::new(LIMIT).unwrap()], 6).await;
    let redis = store(&server, "tenant-a");
    let shared = grants(
        vec![RateLimiter::shared(LIMIT, "patch", redis.limits()).unwrap()],
        6,
    )
    .await;
    assert!(spaced(&local), "{local:?}");
    assert!(spaced(&shared), "{shared:?}");

    // Two "processes" (two stores, two limiters): in-process each has its
    // own quota, so their grants collide; in Redis they share one.
    let two_local = grants(
        vec![
            RateLimiter::new(LIMIT).unwrap(),
            RateLimiter::new(LIMIT).unwrap(),
        ],
        4,
    )
    .await;
    assert!(!spaced(&two_local), "{two_local:?}");
    let two_shared = grants(
        vec![
            RateLimiter::shared(LIMIT, "fleet", store(&server, "tenant-b").limits()).unwrap(),
            RateLimiter::shared(LIMIT, "fleet", store(&server, "tenant-b").limits()).unwrap(),
        ],
        4,
    )
    .await;
    assert!(spaced(&two_shared), "{two_shared:?}");

    // Another tenant's quota is its own.
    assert_eq!(
        store(&server, "tenant-c")
            .try_take("fleet", LIMIT)
            .await
            .unwrap(),
        None
    );
}

#[tokio::test]
async fn redis_down_falls_back_without_blocking_and_comes_back() {
    let mut server = RedisServer::start().unwrap();
    let redis = store(&server, "tenant-d");
    let limiter = RateLimiter::shared(LIMIT, "patch", redis.limits()).unwrap();
    assert_eq!(redis.try_take("probe", LIMIT).await.unwrap(), None);
    server.kill();
    assert!(redis.try_take("probe", LIMIT).await.is_err());
    // The fallback (1/10 of 5/s, burst 1) still hands out a slot.
    limiter.until_ready().await;
    server.restart().unwrap();
    // Back: the next step goes to Redis again (a fresh key: a slot). The
    // connection manager learns of the restart from a failed command, which
    // starts a reconnect that the following command awaits: at most two
    // failures (the dead connection, a reconnect begun while Redis was
    // down), no waiting in between.
    let mut back = redis.try_take("probe", LIMIT).await;
    for _ in 0..2 {
        if back.is_ok() {
            break;
        }
        back = redis.try_take("probe", LIMIT).await;
    }
    assert_eq!(back.unwrap(), None);
    assert!(matches!(redis.try_take("probe", LIMIT).await, Ok(Some(_))));
}

fn cache(sim: &cx_sim::Sim, redis: Option<&Redis>) -> TokenCache {
    let creds = cx_testkit::sim_credentials(sim).build().unwrap();
    let mut config = cx_auth::TokenCacheConfig::default();
    if let Some(r) = redis {
        config = config.with_shared(cx_auth::SharedTokenStore::new(
            Arc::new(r.clone()),
            "sim default-client",
        ));
    }
    TokenCache::with_config(creds, config)
}

/// The `del` events of the shared token keys in the Redis at `url`,
/// subscribed before this returns (turns keyspace notifications on for
/// generic commands).
async fn token_deletions(url: String) -> impl Stream<Item = redis::Msg> {
    let client = redis::Client::open(url).unwrap();
    let mut conn = client.get_multiplexed_async_connection().await.unwrap();
    redis::cmd("CONFIG")
        .arg(&["SET", "notify-keyspace-events", "Kg"])
        .query_async::<()>(&mut conn)
        .await
        .unwrap();
    let mut pubsub = client.get_async_pubsub().await.unwrap();
    pubsub
        .psubscribe("__keyspace@0__:cx:*:token:*")
        .await
        .unwrap();
    pubsub
        .into_on_message()
        .filter(|m| std::future::ready(m.get_payload::<String>().is_ok_and(|p| p == "del")))
}

fn token_requests(sim: &cx_sim::Sim) -> usize {
    sim.journal()
        .iter()
        .filter(|e| e.path == "/oauth/token")
        .count()
}

#[tokio::test]
async fn twelve_caches_share_one_token_and_fall_back_to_their_own() {
    let mut server = RedisServer::start().unwrap();
    let sim = cx_sim::Sim::start().await.unwrap();
    // Twelve "processes": their own store and cache each, all at once.
    let caches: Vec<_> = (0..12)
        .map(|_| Arc::new(cache(&sim, Some(&store(&server, "tenant-e")))))
        .collect();
    let tokens = futures_join(caches.to_vec()).await;
    assert_eq!(token_requests(&sim), 1, "one token for the fleet");
    assert!(tokens.windows(2).all(|w| w[0].expose() == w[1].expose()));
    // A 401 drops the shared token (a background DEL, awaited through
    // Redis' keyspace notifications): the next cache fetches a new one.
    let mut deleted = token_deletions(server.url()).await;
    caches[0].invalidate(&tokens[0]);
    tokio::time::timeout(Duration::from_secs(10), deleted.next())
        .await
        .expect("the shared token is deleted")
        .unwrap();
    let fresh = cache(&sim, Some(&store(&server, "tenant-e")));
    let again = fresh.access_token().await.unwrap();
    assert_ne!(again.expose(), tokens[0].expose());
    assert_eq!(token_requests(&sim), 2);

    // Redis down: every cache still gets a token, its own.
    server.kill();
    let before = token_requests(&sim);
    let alone = cache(&sim, Some(&store(&server, "tenant-e")));
    alone.access_token().await.unwrap();
    assert_eq!(token_requests(&sim), before + 1);
}

async fn futures_join(caches: Vec<Arc<TokenCache>>) -> Vec<cx_http::AccessToken> {
    let tasks: Vec<_> = caches
        .into_iter()
        .map(|c| tokio::spawn(async move { c.access_token().await.unwrap() }))
        .collect();
    let mut out = Vec::new();
    for t in tasks {
        out.push(t.await.unwrap());
    }
    out
}

#[tokio::test]
async fn a_revoked_shared_token_is_replaced_on_the_first_401() {
    let server = RedisServer::start().unwrap();
    let sim = cx_sim::Sim::start().await.unwrap();
    let tenant = store(&server, "tenant-f").share(cx_testkit::tenant(&sim));
    let (api, _cache) = tenant.connect().unwrap();
    let wf = "/api/v2/workflows/wf_12345678-abcd-efgh-ijkl-1234567890ab";
    api.get(wf).send().await.unwrap();
    sim.revoke_tokens();
    // The 401 drops the token here and in Redis; the replay must not read
    // the rejected token back from Redis.
    let replayed = api.get(wf).send().await;
    assert!(replayed.is_ok(), "{replayed:?}");
    assert_eq!(token_requests(&sim), 2);
    let statuses: Vec<u16> = sim
        .journal()
        .iter()
        .filter(|e| e.path == wf)
        .map(|e| e.status)
        .collect();
    assert_eq!(statuses, [200, 401, 200]);
}

#[tokio::test]
async fn a_token_lifetime_past_what_redis_holds_is_still_shared() {
    let server = RedisServer::start().unwrap();
    // expires_in = u64::MAX s: more milliseconds than Redis' PX takes.
    let sim = cx_sim::Sim::builder()
        .token_ttl(Duration::from_secs(u64::MAX))
        .start()
        .await
        .unwrap();
    // A short wait, so a token that never reaches Redis shows at once.
    let store = || {
        Redis::new(
            RedisConfig::new(server.url(), "tenant-g")
                .with_retry_after(Duration::ZERO)
                .with_token_wait(Duration::from_millis(50)),
        )
        .unwrap()
    };
    let first = cache(&sim, Some(&store())).access_token().await.unwrap();
    let second = cache(&sim, Some(&store())).access_token().await.unwrap();
    assert_eq!(first.expose(), second.expose(), "one token for the fleet");
    assert_eq!(token_requests(&sim), 1);
}

#[tokio::test]
async fn durations_past_what_the_clock_holds_are_no_limit_not_a_panic() {
    let mut server = RedisServer::start().unwrap();
    let sim = cx_sim::Sim::start().await.unwrap();
    // Duration::MAX as "no limit" for every timing of the store.
    let redis = Redis::new(
        RedisConfig::new(server.url(), "tenant-h")
            .with_op_timeout(Duration::MAX)
            .with_lock_ttl(Duration::MAX)
            .with_retry_after(Duration::MAX)
            .with_token_wait(Duration::MAX),
    )
    .unwrap();
    cache(&sim, Some(&redis)).access_token().await.unwrap();
    assert_eq!(redis.try_take("probe", LIMIT).await.unwrap(), None);
    server.kill();
    assert!(redis.try_take("probe", LIMIT).await.is_err());
    // Not asked again "for ever": the fallback answers at once.
    assert!(redis.try_take("probe", LIMIT).await.is_err());
    assert_eq!(token_requests(&sim), 1);
}
