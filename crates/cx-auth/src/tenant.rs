//! [`Tenant`]: everything needed to talk to one CXone tenant, turned into an
//! authenticated [`cx_http::Client`] in one call.

use std::sync::Arc;

use cx_http::{Client, Error};
use secrecy::SecretString;

use crate::{
    AccessKey, ClientAuthMethod, ClientCredentials, Discover, SharedTokenStore, SharedTokens,
    TokenCache, TokenCacheConfig,
};

/// Connection settings of one tenant. `auth_url` defaults to `api_url`; the
/// token endpoint is `{auth_url}{token_path}` (default `/oauth/token`, seed 000;
/// seed 001 uses `/v1/oauth2/token`).
///
/// Built with [`Tenant::new`] and the `with_*` setters:
///
/// ```
/// use cx_auth::{ClientAuthMethod, Tenant};
///
/// let tenant = Tenant::new("https://api-na1.niceincontact.com", "my-client", "my-secret")
///     .with_token_path("/v1/oauth2/token")
///     .with_scopes(["workflows.read"])
///     .with_auth_method(ClientAuthMethod::Basic);
/// assert_eq!(tenant.token_url(), "https://api-na1.niceincontact.com/v1/oauth2/token");
/// ```
#[derive(Clone)]
#[non_exhaustive]
pub struct Tenant {
    /// API base URL, e.g. `https://api-na1.niceincontact.com` or the simulator's.
    pub api_url: String,
    /// Authorization server base URL; `None` means `api_url`.
    pub auth_url: Option<String>,
    /// Token endpoint path. Default `/oauth/token`.
    pub token_path: String,
    /// OAuth client id.
    pub client_id: String,
    /// OAuth client secret.
    pub client_secret: SecretString,
    /// Scopes to request; empty requests the client's default set.
    pub scopes: Vec<String>,
    /// Client authentication style. Default form body.
    pub auth_method: ClientAuthMethod,
    /// Runtime settings for API calls (its `base_url` is replaced by `api_url`).
    pub http: cx_http::Config,
    /// Token cache settings.
    pub cache: TokenCacheConfig,
    /// A token store shared by a fleet (issue 14, `cx_redis`): `connect`
    /// keys this tenant's tokens in it by token URL, client id and scopes.
    /// Default `None`: this process fetches its own tokens.
    pub shared_tokens: Option<Arc<dyn SharedTokens>>,
}

impl std::fmt::Debug for Tenant {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tenant")
            .field("api_url", &self.api_url)
            .field("auth_url", &self.auth_url)
            .field("client_id", &self.client_id)
            .field("client_secret", &"[REDACTED]")
            .finish_non_exhaustive()
    }
}

cx_http::with_setters! { Tenant {
    /// Send token requests to `auth_url` instead of `api_url` ([`Tenant::auth_url`]).
    with_auth_url(auth_url: impl Into<String>) = Some(auth_url.into());
    /// Set [`Tenant::token_path`] (an absolute path, checked by [`Tenant::connect`]).
    with_token_path(token_path: impl Into<String>) = token_path.into();
    /// Set [`Tenant::scopes`].
    with_scopes(scopes: impl IntoIterator<Item = impl Into<String>>) = scopes.into_iter().map(Into::into).collect();
    /// Set [`Tenant::auth_method`].
    with_auth_method(auth_method: ClientAuthMethod);
    /// Set [`Tenant::http`], the runtime settings of API calls.
    with_http(http: cx_http::Config);
    /// Set [`Tenant::cache`], the token cache settings.
    with_cache(cache: TokenCacheConfig);
}}

impl Tenant {
    /// A tenant at `api_url` with these client credentials and default settings.
    pub fn new(
        api_url: impl Into<String>,
        client_id: impl Into<String>,
        client_secret: impl Into<SecretString>,
    ) -> Self {
        Self {
            api_url: api_url.into(),
            auth_url: None,
            token_path: "/oauth/token".to_owned(),
            client_id: client_id.into(),
            client_secret: client_secret.into(),
            scopes: Vec::new(),
            auth_method: ClientAuthMethod::FormBody,
            http: cx_http::Config::default(),
            cache: TokenCacheConfig::default(),
            shared_tokens: None,
        }
    }

    /// Share this tenant's tokens with every process using `store` (see
    /// [`Tenant::shared_tokens`]).
    #[must_use]
    pub fn with_shared_tokens(mut self, store: Arc<dyn SharedTokens>) -> Self {
        self.shared_tokens = Some(store);
        self
    }

    /// The key of this tenant's tokens in a shared store: token URL, client
    /// id and the sorted scopes (no secret).
    pub fn token_key(&self) -> String {
        let mut scopes = self.scopes.clone();
        scopes.sort();
        format!(
            "{} {} {}",
            self.token_url(),
            self.client_id,
            scopes.join(" ")
        )
    }

    /// Check each URL setting under its own name: `api_url` and `auth_url`
    /// are absolute http(s) URLs; `token_path` is an absolute path (`/...`)
    /// with no `.`/`..` segment, `\\`, query, fragment or control character.
    fn check(&self) -> Result<(), Error> {
        cx_http::config::check_base_url("api_url", &self.api_url)?;
        if let Some(auth) = &self.auth_url {
            cx_http::config::check_base_url("auth_url", auth)?;
        }
        let p = &self.token_path;
        let rule = if !p.starts_with('/') || p.starts_with("//") {
            Some("must be an absolute path such as `/oauth/token`")
        } else if p.split('/').any(|s| s == "." || s == "..") {
            Some("must not contain `.` or `..` segments")
        } else if p.contains(['\\', '?', '#']) || p.chars().any(char::is_control) {
            Some("must not contain `\\`, `?`, `#` or control characters")
        } else {
            None
        };
        match rule {
            Some(rule) => Err(Error::invalid_input(
                "token_path",
                format!("{:?} {rule}", cx_http::escape(p)),
            )),
            None => Ok(()),
        }
    }

    /// CXone's access-key login (`../shared/CXONE_REST.md` §1): configure
    /// the returned [`Discover`] (auth host, API override, client auth) and
    /// call [`Discover::login`] for a ready client and the tenant id, area
    /// and API host it found.
    ///
    /// ```no_run
    /// # async fn demo() -> Result<(), cx_http::Error> {
    /// use cx_auth::{AccessKey, Tenant};
    /// let tenant = Tenant::discover(AccessKey::new("KEYID=", "key-secret"), "app-client-id", "app-secret")
    ///     .login()
    ///     .await?;
    /// println!("{} in {:?} at {}", tenant.tenant_id, tenant.area, tenant.api_url);
    /// # Ok(()) }
    /// ```
    pub fn discover(
        access_key: AccessKey,
        client_id: impl Into<String>,
        client_secret: impl Into<SecretString>,
    ) -> Discover {
        Discover::new(access_key, client_id, client_secret)
    }

    /// The token endpoint URL.
    pub fn token_url(&self) -> String {
        let base = self.auth_url.as_deref().unwrap_or(&self.api_url);
        format!("{}{}", base.trim_end_matches('/'), self.token_path)
    }

    /// An authenticated API client and the token cache behind it.
    ///
    /// # Errors
    /// [`cx_http::ErrorKind::InvalidInput`] / [`cx_http::ErrorKind::Builder`]
    /// naming the bad setting. No request is sent here.
    pub fn connect(&self) -> Result<(Client, Arc<TokenCache>), Error> {
        self.check()?;
        let creds = ClientCredentials::builder()
            .token_url(self.token_url())
            .client_id(self.client_id.clone())
            .client_secret(self.client_secret.clone())
            .scopes(self.scopes.clone())
            .auth_method(self.auth_method)
            .http_config(self.http.clone())
            .build()?;
        let mut cache_config = self.cache.clone();
        if let Some(store) = &self.shared_tokens {
            cache_config.shared = Some(SharedTokenStore::new(store.clone(), self.token_key()));
        }
        let cache = Arc::new(TokenCache::with_config(creds, cache_config));
        let client = Client::builder()
            .config(self.http.clone().with_base_url(self.api_url.clone()))
            .auth(cache.clone())
            .build()?;
        Ok((client, cache))
    }
}
