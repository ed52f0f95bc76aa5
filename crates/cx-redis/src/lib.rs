#![doc = include_str!("../README.md")]
//!
//! ## What is in Redis
//!
//! | key | value | written by |
//! |---|---|---|
//! | `cx:{T}:rate:<name>` | GCRA theoretical arrival time, µs of Redis' clock | [`GCRA`], one EVALSHA per slot |
//! | `cx:{T}:token:<K>` | the access token, TTL = lifetime − min(60 s, lifetime / 2), at most 100 years | the one worker holding the lock |
//! | `cx:{T}:token-lock:<K>` | a random fencing value, `PX` [`RedisConfig::lock_ttl`] | `SET NX PX`, in the same script step that found no token; the token is stored only by the fence's holder |
//!
//! `T` is a SHA-256 prefix of the tenant name given to [`RedisConfig::new`]
//! (a Cluster hash tag: all keys of a tenant live in one slot, so a script
//! may touch several); `K` is a SHA-256 prefix of
//! [`cx_auth::Tenant::token_key`] (token URL, client id, scopes).
//!
//! ## The token is a secret
//! Anyone who can `GET` the token key can call CXone as the client. Redis
//! must restrict it: an ACL user for the fleet limited to `~cx:*` keys, no
//! shared default user, and a network only the fleet reaches. This build
//! speaks plain `redis://` (AUTH from the URL, `redis://user:password@host`);
//! `rediss://` (TLS) is refused, so across an untrusted network use a TLS
//! tunnel or sidecar. The token never appears in a log, an error or `Debug`.
//!
//! ## When Redis is unreachable
//! No call waits on Redis longer than twice [`RedisConfig::op_timeout`] (per
//! command; a token waiter at most [`RedisConfig::token_wait`]). On the
//! first failure the process logs one `WARN` for its whole life, then for
//! [`RedisConfig::retry_after`] does not ask Redis at all: rate limits come
//! from an in-process limiter at `1 /` [`RedisConfig::fallback_share`] of
//! each limit (default 1/10: a fleet of up to 10 workers stays within the
//! tenant's quota while Redis is down; N workers send at most N/10 of it),
//! and tokens from the process's own cache. The next call after that asks
//! Redis again and, if it answers, the fleet shares again.

#![deny(missing_docs)]

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, LazyLock, Mutex, OnceLock};
use std::time::Duration;

use cx_auth::{FetchToken, FetchedToken, SharedTokens, Tenant};
use cx_http::{
    AccessToken, Error, ErrorKind, RateLimit, SharedLimitStore, SharedLimits, instant_after,
};
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use secrecy::{ExposeSecret, SecretString};
use sha2::{Digest, Sha256};
use tokio::time::Instant;

#[cfg(feature = "testing")]
pub mod testing;

/// The GCRA step (the same arithmetic as governor's, which backs
/// [`cx_http::RateLimiter::new`]): `KEYS[1]` the limit's key, `ARGV[1]` the
/// emission interval `T` in µs (`period / per_second`, 1 s / per_second for
/// a per-second limit), `ARGV[2]` the burst.
/// Time is Redis' own (`TIME`), so the fleet's clocks do not matter.
/// Returns 0 when a slot was taken, else the µs until the next one.
pub const GCRA: &str = r"
local now_parts = redis.call('TIME')
local now = tonumber(now_parts[1]) * 1000000 + tonumber(now_parts[2])
local t = tonumber(ARGV[1])
local tau = t * (tonumber(ARGV[2]) - 1)
local tat = tonumber(redis.call('GET', KEYS[1]) or now)
if tat < now then tat = now end
local earliest = tat - tau
if now < earliest then
  return math.max(1, math.ceil(earliest - now))
end
local next_tat = tat + t
redis.call('SET', KEYS[1], string.format('%.0f', next_tat), 'PX', math.ceil((next_tat - now) / 1000) + 1000)
return 0
";

/// In one step (so a token stored between a look and a lock is never
/// missed): the token and the ms it has left (`KEYS[1]`); else the refresh
/// lock `SET KEYS[2] ARGV[1] NX PX ARGV[2]`: 1 when taken, 0 when another
/// worker holds it.
const TOKEN_OR_LOCK: &str = r"
local v = redis.call('GET', KEYS[1])
if v then return {v, redis.call('PTTL', KEYS[1])} end
if redis.call('SET', KEYS[2], ARGV[1], 'NX', 'PX', ARGV[2]) then return 1 end
return 0
";

/// Store the token only while we still hold the lock (fencing), then
/// release it: `KEYS[1]` token, `KEYS[2]` lock, `ARGV` fence, token, ttl ms.
const TOKEN_PUT: &str = r"
if redis.call('GET', KEYS[2]) ~= ARGV[1] then return 0 end
redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3])
redis.call('DEL', KEYS[2])
return 1
";

/// Delete `KEYS[1]` if it still holds `ARGV[1]`.
const DEL_IF: &str = r"
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
";

/// The scripts by index: 0 [`GCRA`], 1 token or lock, 2 token put, 3
/// delete if equal.
static SCRIPTS: LazyLock<[redis::Script; 4]> =
    LazyLock::new(|| [GCRA, TOKEN_OR_LOCK, TOKEN_PUT, DEL_IF].map(redis::Script::new));

/// The longest a token is stored in Redis (100 years).
const MAX_TOKEN_TTL: Duration = Duration::from_secs(100 * 365 * 24 * 3600);

/// Set once the process has warned that Redis is unreachable.
static WARNED: AtomicBool = AtomicBool::new(false);

/// Settings of the shared store. `new(url, tenant)` plus `with_*` setters.
#[derive(Clone)]
#[non_exhaustive]
pub struct RedisConfig {
    /// `redis://[user:password@]host[:port][/db]` (or `redis+unix://`);
    /// a secret when it holds a password.
    pub url: SecretString,
    /// The tenant whose quota and tokens are shared (its id, or its API
    /// URL): one hash tag per tenant.
    pub tenant: String,
    /// While Redis is unreachable each process takes `1 / fallback_share`
    /// of every limit in-process (≥ 1). Default 10.
    pub fallback_share: u32,
    /// Longest wait for one Redis connection, and for one command's answer
    /// (a call waits at most twice this). Default 2 s: generous for a
    /// loaded machine; a black-holed Redis costs each process this once
    /// per `retry_after`.
    pub op_timeout: Duration,
    /// After a failure, Redis is not asked again for this long. Default 1 s.
    pub retry_after: Duration,
    /// Lifetime of the token refresh lock: a worker that dies holding it
    /// blocks the others at most this long. Default 10 s.
    pub lock_ttl: Duration,
    /// Longest a worker waits for another worker's token before fetching
    /// its own. Default 15 s.
    pub token_wait: Duration,
}

impl std::fmt::Debug for RedisConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisConfig")
            .field("url", &"[REDACTED]")
            .field("tenant", &self.tenant)
            .field("fallback_share", &self.fallback_share)
            .field("op_timeout", &self.op_timeout)
            .field("retry_after", &self.retry_after)
            .field("lock_ttl", &self.lock_ttl)
            .field("token_wait", &self.token_wait)
            .finish()
    }
}

impl RedisConfig {
    /// Share `tenant`'s limits and tokens through the Redis at `url`, with
    /// the default timings.
    pub fn new(url: impl Into<SecretString>, tenant: impl Into<String>) -> Self {
        Self {
            url: url.into(),
            tenant: tenant.into(),
            fallback_share: 10,
            op_timeout: Duration::from_secs(2),
            retry_after: Duration::from_secs(1),
            lock_ttl: Duration::from_secs(10),
            token_wait: Duration::from_secs(15),
        }
    }
}

cx_http::with_setters! { RedisConfig {
    /// See [`RedisConfig::fallback_share`].
    with_fallback_share(fallback_share: u32);
    /// See [`RedisConfig::op_timeout`].
    with_op_timeout(op_timeout: Duration);
    /// See [`RedisConfig::retry_after`].
    with_retry_after(retry_after: Duration);
    /// See [`RedisConfig::lock_ttl`].
    with_lock_ttl(lock_ttl: Duration);
    /// See [`RedisConfig::token_wait`].
    with_token_wait(token_wait: Duration);
}}

/// The shared store: [`SharedLimits`] and [`SharedTokens`] over one Redis
/// connection (a reconnecting [`ConnectionManager`], made on first use).
/// Cheap to clone; clones share the connection.
#[derive(Clone)]
pub struct Redis {
    inner: Arc<Inner>,
}

struct Inner {
    client: redis::Client,
    config: RedisConfig,
    tag: String,
    connection: OnceLock<ConnectionManager>,
    /// Redis is not asked before this instant (after a failure).
    down_until: Mutex<Option<Instant>>,
    /// Tokens the API refused (401), by token key, that the next `fetch`
    /// of that key deletes from Redis before it looks: the background
    /// delete of `rejected` may not have run yet, and the replay of the
    /// refused request must not read the same token back.
    rejected: Mutex<HashMap<String, AccessToken>>,
}

impl std::fmt::Debug for Redis {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Redis")
            .field("config", &self.inner.config)
            .finish_non_exhaustive()
    }
}

/// `mutex`'s guard, also after a panic elsewhere left it poisoned (its
/// data stays consistent: every holder writes one value).
fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Hex SHA-256 prefix (16 bytes) of `text`: fixed-length, no `{`/`}`.
fn digest(text: &str) -> String {
    hex::encode(&Sha256::digest(text.as_bytes())[..16])
}

impl Redis {
    /// A store for `config`. Nothing is sent here; the connection is made on
    /// first use (an unreachable Redis is a fallback, not an error).
    ///
    /// # Errors
    /// [`ErrorKind::InvalidInput`] naming `redis_url` when the URL does not
    /// parse or is `rediss://` (TLS is not built in; see the crate docs),
    /// `redis.tenant` when the tenant is empty, `redis.fallback_share` when
    /// it is 0. The URL is never part of the message.
    pub fn new(config: RedisConfig) -> Result<Self, Error> {
        let url = config.url.expose_secret();
        if url.trim_start().to_ascii_lowercase().starts_with("rediss:") {
            return Err(Error::invalid_input(
                "redis_url",
                "rediss:// (TLS) is not supported by this build; use redis:// through a TLS tunnel",
            ));
        }
        let client = redis::Client::open(url).map_err(|_| {
            Error::invalid_input(
                "redis_url",
                "must be a URL such as redis://[user:password@]host[:port][/db]",
            )
        })?;
        if config.tenant.trim().is_empty() {
            return Err(Error::invalid_input("redis.tenant", "must not be empty"));
        }
        if config.fallback_share == 0 {
            return Err(Error::invalid_input(
                "redis.fallback_share",
                "must be at least 1",
            ));
        }
        Ok(Self {
            inner: Arc::new(Inner {
                client,
                tag: digest(&config.tenant),
                config,
                connection: OnceLock::new(),
                down_until: Mutex::new(None),
                rejected: Mutex::new(HashMap::new()),
            }),
        })
    }

    /// The settings.
    pub fn config(&self) -> &RedisConfig {
        &self.inner.config
    }

    /// This store as a [`cx_http::Config::shared_limits`] setting.
    pub fn limits(&self) -> SharedLimitStore {
        SharedLimitStore(Arc::new(self.clone()))
    }

    /// `tenant` with its rate limits and its tokens shared through this
    /// store ([`cx_http::Config::shared_limits`] and
    /// [`Tenant::shared_tokens`]).
    pub fn share(&self, mut tenant: Tenant) -> Tenant {
        tenant.http.shared_limits = Some(self.limits());
        tenant.with_shared_tokens(Arc::new(self.clone()))
    }

    /// The key of `name` in this tenant's hash tag, e.g. `cx:{3f2a…}:rate:x`.
    pub fn key(&self, kind: &str, name: &str) -> String {
        format!("cx:{{{}}}:{kind}:{name}", self.inner.tag)
    }

    fn manager(&self) -> Result<ConnectionManager, redis::RedisError> {
        if let Some(m) = self.inner.connection.get() {
            return Ok(m.clone());
        }
        let timeout = self.inner.config.op_timeout;
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(timeout))
            .set_response_timeout(Some(timeout))
            .set_number_of_retries(1)
            .set_max_delay(timeout);
        let made = ConnectionManager::new_lazy_with_config(self.inner.client.clone(), config)?;
        Ok(self.inner.connection.get_or_init(|| made).clone())
    }

    /// Run `script` unless Redis is known to be down; on failure note it
    /// (one warning per process) and report it as [`ErrorKind::Connect`].
    async fn eval<T: redis::FromRedisValue>(
        &self,
        script: usize,
        keys: &[&str],
        args: &[&str],
    ) -> Result<T, Error> {
        let now = Instant::now();
        if lock(&self.inner.down_until).is_some_and(|until| now < until) {
            return Err(Error::new(ErrorKind::Connect, "Redis is unreachable"));
        }
        let run = async {
            let mut conn = self.manager()?;
            let mut call = SCRIPTS[script].prepare_invoke();
            for k in keys {
                call.key(*k);
            }
            for a in args {
                call.arg(*a);
            }
            call.invoke_async::<T>(&mut conn).await
        };
        let bound = self.inner.config.op_timeout.saturating_mul(2);
        let result = match tokio::time::timeout(bound, run).await {
            Ok(r) => r.map_err(|e| cx_http::escape(&e.to_string()).into_owned()),
            Err(_) => Err(format!("no answer within {} ms", bound.as_millis())),
        };
        let mut down = lock(&self.inner.down_until);
        match result {
            Ok(v) => {
                if down.take().is_some() {
                    tracing::info!("Redis is reachable again; sharing limits and tokens");
                }
                Ok(v)
            }
            Err(reason) => {
                *down = Some(Instant::from_std(instant_after(
                    Instant::now().into_std(),
                    self.inner.config.retry_after,
                )));
                drop(down);
                if !WARNED.swap(true, Ordering::SeqCst) {
                    tracing::warn!(
                        reason = %reason,
                        fallback_share = self.inner.config.fallback_share,
                        "Redis is unreachable; using in-process rate limits at 1/{} of each limit \
                         and this process's own token cache until it answers again (warned once)",
                        self.inner.config.fallback_share
                    );
                } else {
                    tracing::debug!(reason = %reason, "Redis is unreachable");
                }
                Err(Error::new(ErrorKind::Connect, "Redis is unreachable"))
            }
        }
    }

    /// Fetch from `source` under the lock and store the token for the fleet.
    async fn fetch_locked(
        &self,
        source: &dyn FetchToken,
        token_key: &str,
        lock_key: &str,
        fence: &str,
    ) -> Result<FetchedToken, Error> {
        let fetched = source.fetch().await;
        match &fetched {
            Ok(t) => {
                let margin = Duration::from_secs(60).min(t.expires_in / 2);
                // At most 100 years: `PX` refuses more milliseconds than
                // fit an i64 past Redis' clock (an `expires_in` of u64::MAX s).
                let ttl = (t.expires_in - margin).min(MAX_TOKEN_TTL).as_millis();
                if ttl > 0 {
                    let _ = self
                        .eval::<i64>(
                            2,
                            &[token_key, lock_key],
                            &[fence, t.token.expose(), &ttl.to_string()],
                        )
                        .await;
                } else {
                    let _ = self.eval::<i64>(3, &[lock_key], &[fence]).await;
                }
            }
            Err(_) => {
                let _ = self.eval::<i64>(3, &[lock_key], &[fence]).await;
            }
        }
        fetched
    }
}

#[async_trait::async_trait]
impl SharedLimits for Redis {
    async fn try_take(&self, name: &str, limit: RateLimit) -> Result<Option<Duration>, Error> {
        let interval_us = u64::try_from(limit.emission_interval().as_micros())
            .unwrap_or(u64::MAX)
            .max(1);
        let key = self.key("rate", name);
        let wait_us: u64 = self
            .eval(
                0,
                &[&key],
                &[&interval_us.to_string(), &limit.burst.max(1).to_string()],
            )
            .await?;
        Ok((wait_us > 0).then(|| Duration::from_micros(wait_us)))
    }

    fn fallback_share(&self) -> u32 {
        self.inner.config.fallback_share
    }
}

#[async_trait::async_trait]
impl SharedTokens for Redis {
    async fn fetch(&self, key: &str, source: &dyn FetchToken) -> Result<FetchedToken, Error> {
        let id = digest(key);
        let token_key = self.key("token", &id);
        let lock_key = self.key("token-lock", &id);
        let deadline = Instant::from_std(instant_after(
            Instant::now().into_std(),
            self.inner.config.token_wait,
        ));
        let mut pause = Duration::from_millis(10);
        // Capped as a token's TTL: `PX` refuses more, which read as Redis down.
        let ttl_ms = self
            .inner
            .config
            .lock_ttl
            .min(MAX_TOKEN_TTL)
            .as_millis()
            .max(1)
            .to_string();
        let refused = lock(&self.inner.rejected).remove(&token_key);
        if let Some(refused) = refused {
            // Still in Redis if `rejected`'s delete has not run yet.
            let _ = self
                .eval::<i64>(3, &[&token_key], &[refused.expose()])
                .await;
        }
        loop {
            let fence = hex::encode(rand::random::<[u8; 16]>());
            let Ok(step) = self
                .eval::<redis::Value>(1, &[&token_key, &lock_key], &[&fence, &ttl_ms])
                .await
            else {
                // Unreachable: this process's own cache carries on.
                return source.fetch().await;
            };
            match step {
                redis::Value::Int(1) => {
                    return self
                        .fetch_locked(source, &token_key, &lock_key, &fence)
                        .await;
                }
                redis::Value::Array(found) => {
                    if let Ok((token, left_ms)) =
                        redis::from_redis_value::<(String, i64)>(redis::Value::Array(found))
                    {
                        let left = Duration::from_millis(u64::try_from(left_ms).unwrap_or(0));
                        // Stored `margin` short of its expiry: add it back,
                        // so the local cache refreshes when Redis drops it.
                        let margin = left.min(Duration::from_secs(60));
                        return Ok(FetchedToken {
                            token: AccessToken::new(SecretString::from(token)),
                            expires_in: left + margin,
                            scope: None,
                        });
                    }
                }
                _ => {}
            }
            if Instant::now() >= deadline {
                tracing::debug!("no shared token within the wait; fetching one");
                return source.fetch().await;
            }
            tokio::time::sleep(pause).await;
            pause = (pause * 2).min(Duration::from_millis(100));
        }
    }

    fn rejected(&self, key: &str, token: &AccessToken) {
        let token_key = self.key("token", &digest(key));
        lock(&self.inner.rejected).insert(token_key.clone(), token.clone());
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            return;
        };
        let this = self.clone();
        let token = token.clone();
        runtime.spawn(async move {
            let _ = this.eval::<i64>(3, &[&token_key], &[token.expose()]).await;
        });
    }
}
