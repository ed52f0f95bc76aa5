//! [`TokenCache`]: the [`cx_http::Authenticate`] implementation.
//!
//! Seed 000 refreshes when `now >= expiresAt - 60 s`; so do we, with the skew
//! configurable and capped at half the token's lifetime (a 30 s token with a
//! 60 s skew would otherwise be refreshed on every call). A refresh is done by
//! one caller while the rest wait for its result (single flight). A failed
//! refresh is not cached: callers get the old token while it is still valid,
//! and the error only once no valid token is left.

use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use cx_http::{AccessToken, Authenticate, Error};

use crate::credentials::FetchToken;

/// Cache settings. Default: refresh 60 s before expiry (seed 000).
#[derive(Debug, Clone, PartialEq)]
pub struct TokenCacheConfig {
    /// Refresh this long before the token expires. Default 60 s.
    pub refresh_skew: Duration,
}

impl Default for TokenCacheConfig {
    fn default() -> Self {
        Self {
            refresh_skew: Duration::from_secs(60),
        }
    }
}

#[derive(Clone)]
struct Cached {
    token: AccessToken,
    refresh_at: Instant,
    expires_at: Instant,
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

    fn fresh(&self, now: Instant) -> Option<AccessToken> {
        self.read().filter(|c| now < c.refresh_at).map(|c| c.token)
    }

    /// Forget the cached token, so the next call fetches a new one.
    pub fn clear(&self) {
        self.write(None);
    }
}

#[async_trait::async_trait]
impl Authenticate for TokenCache {
    async fn access_token(&self) -> Result<AccessToken, Error> {
        if let Some(t) = self.fresh(Instant::now()) {
            return Ok(t);
        }
        // Single flight: one caller refreshes, the others wait here and then
        // find the fresh token.
        let _guard = self.refresh.lock().await;
        if let Some(t) = self.fresh(Instant::now()) {
            return Ok(t);
        }
        let requested = Instant::now();
        match self.source.fetch().await {
            Ok(fetched) => {
                let skew = self.config.refresh_skew.min(fetched.expires_in / 2);
                let expires_at = requested + fetched.expires_in;
                self.write(Some(Cached {
                    token: fetched.token.clone(),
                    refresh_at: expires_at - skew,
                    expires_at,
                }));
                tracing::debug!(
                    expires_in_s = fetched.expires_in.as_secs(),
                    "access token refreshed"
                );
                Ok(fetched.token)
            }
            Err(err) => match self.read().filter(|c| Instant::now() < c.expires_at) {
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
    }
}
