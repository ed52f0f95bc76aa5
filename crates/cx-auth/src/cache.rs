//! [`TokenCache`]: the [`cx_http::Authenticate`] implementation.
//!
//! Seed 000 refreshes when `now >= expiresAt - 60 s`; so do we, with the skew
//! configurable and capped at half the token's lifetime (a 30 s token with a
//! 60 s skew would otherwise be refreshed on every call). A refresh is done by
//! one caller while the rest wait for its result (single flight). A failed
//! refresh is not cached: callers get the old token while it is still valid,
//! and the error only once no valid token is left.
//!
//! "Now" comes from the configured [`cx_http::Clock`] (the system clock by
//! default), so a test can move the cache's time together with the
//! simulator's virtual clock instead of sleeping.
//!
//! With [`TokenCacheConfig::shared`] (issue 14: `cx_redis`) a refresh asks a
//! store shared by a fleet of processes first, so one token per
//! tenant + client + scopes serves them all; this cache stays in front of it
//! and is what is left when the store is unreachable.

use std::sync::{Arc, RwLock};
use std::time::Duration;

use chrono::{DateTime, Utc};
use cx_http::{AccessToken, Authenticate, Clock, Error, SystemClock};

use crate::credentials::{FetchToken, FetchedToken};

/// A token store shared by a fleet of processes (e.g. `cx_redis::Redis`):
/// one token per key across the fleet, fetched by exactly one of them.
#[async_trait::async_trait]
pub trait SharedTokens: Send + Sync + 'static {
    /// A token for `key`: one another process stored (with the lifetime it
    /// has left), or one fetched from `source` by one process of the fleet
    /// while the others wait for it (bounded), then stored.
    ///
    /// # Errors
    /// What `source` reports. An unreachable store is not an error: the
    /// store fetches from `source` itself (and reports that).
    async fn fetch(&self, key: &str, source: &dyn FetchToken) -> Result<FetchedToken, Error>;

    /// The API refused `token` (401): drop it from the store if the store
    /// still holds that very token.
    fn rejected(&self, key: &str, token: &AccessToken);
}

/// A [`SharedTokens`] store and the key of this cache's tokens in it
/// (tenant + client + scopes; no secret). Clones share the store.
#[derive(Clone)]
pub struct SharedTokenStore {
    store: Arc<dyn SharedTokens>,
    key: String,
}

impl SharedTokenStore {
    /// Tokens of `key` in `store`.
    pub fn new(store: Arc<dyn SharedTokens>, key: impl Into<String>) -> Self {
        Self {
            store,
            key: key.into(),
        }
    }
}

impl std::fmt::Debug for SharedTokenStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SharedTokenStore")
            .field("key", &self.key)
            .finish_non_exhaustive()
    }
}

/// Cache settings. Default: refresh 60 s before expiry (seed 000), system
/// clock, no shared store.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct TokenCacheConfig {
    /// Refresh this long before the token expires. Default 60 s.
    pub refresh_skew: Duration,
    /// Where "now" comes from. Default [`SystemClock`].
    pub clock: Arc<dyn Clock>,
    /// Refresh through this store shared by a fleet (issue 14). Default
    /// `None`: every process fetches its own tokens.
    pub shared: Option<SharedTokenStore>,
}

impl Default for TokenCacheConfig {
    fn default() -> Self {
        Self {
            refresh_skew: Duration::from_secs(60),
            clock: Arc::new(SystemClock),
            shared: None,
        }
    }
}

cx_http::with_setters! { TokenCacheConfig {
    /// Set [`TokenCacheConfig::refresh_skew`].
    with_refresh_skew(refresh_skew: Duration);
    /// Read "now" from `clock` ([`TokenCacheConfig::clock`]).
    with_clock(clock: Arc<dyn Clock>);
}}

impl TokenCacheConfig {
    /// Refresh through `shared` (see [`TokenCacheConfig::shared`]).
    #[must_use]
    pub fn with_shared(mut self, shared: SharedTokenStore) -> Self {
        self.shared = Some(shared);
        self
    }
}

#[derive(Clone)]
struct Cached {
    token: AccessToken,
    refresh_at: DateTime<Utc>,
    expires_at: DateTime<Utc>,
    lifetime: Duration,
}

/// `duration` as a chrono span (saturating at chrono's limit, ~292 years).
fn span(duration: Duration) -> chrono::TimeDelta {
    chrono::TimeDelta::from_std(duration).unwrap_or(chrono::TimeDelta::MAX)
}

/// Caches access tokens from a [`FetchToken`] source and hands them to the runtime.
pub struct TokenCache {
    source: Arc<dyn FetchToken>,
    config: TokenCacheConfig,
    current: RwLock<Option<Cached>>,
    refresh: tokio::sync::Mutex<()>,
}

impl std::fmt::Debug for TokenCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenCache")
            .field("config", &self.config)
            .field("cached", &self.read().is_some())
            .finish()
    }
}

impl TokenCache {
    /// A cache with default settings over `source`.
    pub fn new(source: impl FetchToken) -> Self {
        Self::with_config(source, TokenCacheConfig::default())
    }

    /// A cache with `config` over `source`.
    pub fn with_config(source: impl FetchToken, config: TokenCacheConfig) -> Self {
        Self {
            source: Arc::new(source),
            config,
            current: RwLock::new(None),
            refresh: tokio::sync::Mutex::new(()),
        }
    }

    fn read(&self) -> Option<Cached> {
        match self.current.read() {
            Ok(g) => g.clone(),
            Err(p) => p.into_inner().clone(),
        }
    }

    fn write(&self, value: Option<Cached>) {
        match self.current.write() {
            Ok(mut g) => *g = value,
            Err(p) => *p.into_inner() = value,
        }
    }

    fn now(&self) -> DateTime<Utc> {
        self.config.clock.now()
    }

    fn fresh(&self, now: DateTime<Utc>) -> Option<AccessToken> {
        self.read().filter(|c| now < c.refresh_at).map(|c| c.token)
    }

    /// The lifetime the server granted the cached token (`expires_in`), or
    /// `None` when no token is cached.
    pub fn lifetime(&self) -> Option<Duration> {
        self.read().map(|c| c.lifetime)
    }

    /// Forget the cached token, so the next call fetches a new one.
    pub fn clear(&self) {
        self.write(None);
    }
}

#[async_trait::async_trait]
impl Authenticate for TokenCache {
    async fn access_token(&self) -> Result<AccessToken, Error> {
        if let Some(t) = self.fresh(self.now()) {
            return Ok(t);
        }
        // Single flight: one caller refreshes, the others wait here and then
        // find the fresh token.
        let _guard = self.refresh.lock().await;
        if let Some(t) = self.fresh(self.now()) {
            return Ok(t);
        }
        let requested = self.now();
        let fetched = match &self.config.shared {
            Some(shared) => shared.store.fetch(&shared.key, &*self.source).await,
            None => self.source.fetch().await,
        };
        match fetched {
            Ok(fetched) => {
                let skew = self.config.refresh_skew.min(fetched.expires_in / 2);
                // A lifetime past chrono's last date (the server's number)
                // saturates there instead of panicking.
                let after = |d: Duration| {
                    requested
                        .checked_add_signed(span(d))
                        .unwrap_or(DateTime::<Utc>::MAX_UTC)
                };
                let expires_at = after(fetched.expires_in);
                self.write(Some(Cached {
                    token: fetched.token.clone(),
                    refresh_at: after(fetched.expires_in - skew),
                    expires_at,
                    lifetime: fetched.expires_in,
                }));
                tracing::debug!(
                    expires_in_s = fetched.expires_in.as_secs(),
                    "access token refreshed"
                );
                Ok(fetched.token)
            }
            Err(err) => match self.read().filter(|c| self.now() < c.expires_at) {
                Some(still_valid) => {
                    tracing::warn!(error = %err, "token refresh failed; serving the still-valid token");
                    Ok(still_valid.token)
                }
                None => Err(err),
            },
        }
    }

    fn invalidate(&self, token: &AccessToken) {
        let mut guard = match self.current.write() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        };
        if guard.as_ref().is_some_and(|c| c.token.same_as(token)) {
            *guard = None;
        }
        if let Some(shared) = &self.config.shared {
            shared.store.rejected(&shared.key, token);
        }
    }
}
