//! CXone's back-end login, as `../shared/CXONE_REST.md` §1 documents it:
//!
//! 1. `GET {auth_url}/.well-known/openid-configuration` (no auth) gives the
//!    `token_endpoint` and `jwks_uri` (§1.2);
//! 2. `POST {token_endpoint}` with `grant_type=password`, the access key id
//!    as `username` and its secret as `password`, the application's client
//!    id/secret as HTTP Basic (or in the form: `client_secret_post`) (§1.3);
//! 3. the answer's `id_token` is verified (RS256) against the JWKS, and its
//!    `tenantId` claim (§1.5) looked up with `GET
//!    {auth_url}/.well-known/cxone-configuration?tenantId=` (§1.6), whose
//!    `api_endpoint` is the base URL of every API call (§1.7) unless the
//!    caller overrides it;
//! 4. the [`TokenCache`] refreshes before expiry with `grant_type=refresh_token`
//!    (§1.4; one caller refreshes, the others wait) and falls back to one
//!    password grant when the refresh token is refused (`invalid_grant`).
//!
//! What the reference marks unconfirmed is configurable: the client
//! authentication method ([`ClientAuthMethod`], default Basic) and whether
//! the refresh request authenticates the client (default yes, as OAuth
//! requires of a confidential client; NICE's own public-client SDK sends none).
//!
//! Credentials only go to the configured auth host: a discovery document
//! that names another issuer, or whose token endpoint or JWKS is on another
//! origin, is refused.

use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use cx_http::{AccessToken, Client, Error, ErrorKind};
use jsonwebtoken::jwk::JwkSet;
use secrecy::{ExposeSecret as _, SecretString};
use serde::Deserialize;

use crate::credentials::origin_of;
use crate::{ClientAuthMethod, FetchToken, FetchedToken, TokenCache, TokenCacheConfig};

/// CXone's production issuer (`../shared/CXONE_REST.md` §1.1); the default
/// auth host of [`Discover`].
pub const CXONE_AUTH_URL: &str = "https://cxone.niceincontact.com";

/// The fields of `/.well-known/openid-configuration` the login uses (§1.2).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct OpenIdConfiguration {
    /// `issuer`: the `iss` every id_token must carry.
    pub issuer: String,
    /// `token_endpoint`, e.g. `https://cxone.niceincontact.com/auth/token`.
    pub token_endpoint: String,
    /// `jwks_uri`: the keys id_tokens are signed with.
    pub jwks_uri: String,
    /// `token_endpoint_auth_methods_supported`, e.g. `client_secret_basic`.
    #[serde(default)]
    pub token_endpoint_auth_methods_supported: Vec<String>,
}

/// The answer of `/.well-known/cxone-configuration?tenantId=` (§1.6).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct CxoneConfiguration {
    /// `tenantId` echoed back, if sent.
    #[serde(rename = "tenantId", default)]
    pub tenant_id: Option<String>,
    /// `area`, e.g. `na1`.
    pub area: Option<String>,
    /// `cluster`, e.g. `B32`.
    pub cluster: Option<String>,
    /// `api_endpoint`, e.g. `https://api-na1.niceincontact.com`.
    pub api_endpoint: Option<String>,
}

/// Claims of a verified id_token (§1.5) that the login reports.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct IdTokenClaims {
    /// `tenantId` (a UUID).
    #[serde(rename = "tenantId")]
    pub tenant_id: String,
    /// `iss`.
    pub iss: String,
    /// `sub`, e.g. `user:<uuid>`.
    pub sub: Option<String>,
    /// `exp`, Unix seconds.
    pub exp: i64,
    /// `tenant`: the tenant's name.
    pub tenant: Option<String>,
    /// `area`, e.g. `uk1`.
    pub area: Option<String>,
}

/// A CXone access key: id and secret (created under a user in CXone).
#[derive(Clone)]
#[non_exhaustive]
pub struct AccessKey {
    /// The access key id (sent as `username`; not secret).
    pub id: String,
    /// The access key secret (sent as `password`).
    pub secret: SecretString,
}

impl AccessKey {
    /// An access key.
    pub fn new(id: impl Into<String>, secret: impl Into<SecretString>) -> Self {
        Self {
            id: id.into(),
            secret: secret.into(),
        }
    }
}

impl fmt::Debug for AccessKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AccessKey")
            .field("id", &self.id)
            .field("secret", &"[REDACTED]")
            .finish()
    }
}

/// What the last grant left behind: the refresh token for the next one and
/// the verified claims.
#[derive(Default)]
struct Session {
    refresh_token: Option<SecretString>,
    claims: Option<IdTokenClaims>,
    expires_in: Option<Duration>,
    jwks: Option<Arc<JwkSet>>,
}

/// The access-key token source: password grant, refresh grant, id_token
/// verification. [`TokenCache`] wraps it; build it through [`Discover`].
struct AccessKeyLogin {
    http: Client,
    oidc: OpenIdConfiguration,
    client_id: String,
    client_secret: SecretString,
    method: ClientAuthMethod,
    refresh_client_auth: bool,
    key: AccessKey,
    session: Arc<Mutex<Session>>,
}

enum Grant {
    Password,
    Refresh(SecretString),
}

#[derive(Deserialize)]
struct GrantResponse {
    access_token: String,
    token_type: Option<String>,
    expires_in: u64,
    refresh_token: Option<String>,
    id_token: Option<String>,
}

fn locked(session: &Mutex<Session>) -> std::sync::MutexGuard<'_, Session> {
    match session.lock() {
        Ok(g) => g,
        Err(p) => p.into_inner(),
    }
}

/// `GET url?query` without credentials as JSON; a failure is an
/// [`ErrorKind::Auth`] error saying `failed` (the step) with the cause.
async fn get_json<T: serde::de::DeserializeOwned>(
    http: &Client,
    url: &str,
    query: &[(&str, &str)],
    operation: &'static str,
    failed: impl FnOnce() -> String,
) -> Result<T, Error> {
    http.request_url(cx_http::Method::GET, url)
        .query(query)
        .without_auth()
        .operation(operation)
        .send_json()
        .await
        .map_err(|e| Error::new(ErrorKind::Auth, failed()).with_source(e))
}

/// The OAuth `error` code of a token endpoint's refusal, if it sent one.
fn oauth_error(err: &Error) -> Option<&str> {
    err.body()?.get("error")?.as_str()
}

/// The server's `error_description`, quoted and escaped for a terminal.
fn description(err: &Error) -> String {
    err.body()
        .and_then(|b| b.get("error_description"))
        .and_then(|v| v.as_str())
        .map(|d| format!(": {d:?}"))
        .unwrap_or_default()
}

impl AccessKeyLogin {
    async fn grant(&self, grant: &Grant) -> Result<FetchedToken, Error> {
        let (mut form, authenticate, operation): (Vec<(&str, &str)>, bool, _) = match grant {
            Grant::Password => (
                vec![
                    ("grant_type", "password"),
                    ("username", self.key.id.as_str()),
                    ("password", self.key.secret.expose_secret()),
                ],
                true,
                "oauth.password",
            ),
            Grant::Refresh(token) => (
                vec![
                    ("grant_type", "refresh_token"),
                    ("refresh_token", token.expose_secret()),
                    ("scope", "openid"),
                ],
                self.refresh_client_auth,
                "oauth.refresh",
            ),
        };
        let mut req = self
            .http
            .request_url(cx_http::Method::POST, &self.oidc.token_endpoint)
            .without_auth()
            .idempotent()
            .operation(operation);
        if authenticate {
            match self.method {
                ClientAuthMethod::Basic => {
                    req = req.basic_auth(&self.client_id, &self.client_secret);
                }
                ClientAuthMethod::FormBody => {
                    form.push(("client_id", &self.client_id));
                    form.push(("client_secret", self.client_secret.expose_secret()));
                }
            }
        }
        metrics::counter!("cx_auth_token_requests_total").increment(1);
        let resp: GrantResponse = req
            .form(&form)
            .send_json()
            .await
            .map_err(|e| self.refusal(grant, e))?;
        if let Some(tt) = &resp.token_type
            && !tt.eq_ignore_ascii_case("bearer")
        {
            return Err(Error::new(
                ErrorKind::Auth,
                format!("unsupported token_type {tt:?} (expected Bearer)"),
            ));
        }
        let claims = match (&resp.id_token, grant) {
            (Some(id_token), _) => Some(self.verify(id_token).await?),
            (None, Grant::Password) => {
                return Err(Error::new(
                    ErrorKind::Auth,
                    format!(
                        "the token endpoint {} sent no id_token, so the tenant is unknown",
                        self.oidc.token_endpoint
                    ),
                ));
            }
            (None, Grant::Refresh(_)) => None,
        };
        let expires_in = Duration::from_secs(resp.expires_in);
        let mut session = locked(&self.session);
        if let Some(rt) = resp.refresh_token {
            session.refresh_token = Some(SecretString::from(rt));
        }
        if let Some(claims) = claims {
            session.claims = Some(claims);
        }
        session.expires_in = Some(expires_in);
        Ok(FetchedToken {
            token: AccessToken::new(SecretString::from(resp.access_token)),
            expires_in,
            scope: None,
        })
    }

    /// A token endpoint's refusal, named for the person who must fix it.
    fn refusal(&self, grant: &Grant, e: Error) -> Error {
        let url = &self.oidc.token_endpoint;
        let msg = match (oauth_error(&e), grant) {
            (Some("invalid_client"), _) => format!(
                "CXone refused the OAuth client {:?} (invalid_client{}): check the client id and client secret",
                self.client_id,
                description(&e)
            ),
            (Some("invalid_grant"), Grant::Password) => format!(
                "CXone refused access key {:?} (invalid_grant{}): check the access key id and access key secret",
                self.key.id,
                description(&e)
            ),
            (Some("invalid_grant"), Grant::Refresh(_)) => format!(
                "CXone refused the refresh token (invalid_grant{})",
                description(&e)
            ),
            (Some(code), _) => format!(
                "the token endpoint {url} refused the login ({:?}{})",
                code,
                description(&e)
            ),
            (None, _) => format!("the token request to {url} failed"),
        };
        Error::new(ErrorKind::Auth, msg).with_source(e)
    }

    /// The JWKS, from the session or fetched (again, when `refetch`).
    async fn jwks(&self, refetch: bool) -> Result<Arc<JwkSet>, Error> {
        if !refetch && let Some(set) = locked(&self.session).jwks.clone() {
            return Ok(set);
        }
        let set: JwkSet = get_json(&self.http, &self.oidc.jwks_uri, &[], "oauth.jwks", || {
            format!("could not read the signing keys at {}", self.oidc.jwks_uri)
        })
        .await?;
        let set = Arc::new(set);
        locked(&self.session).jwks = Some(Arc::clone(&set));
        Ok(set)
    }

    /// Verifies `id_token` (RS256, JWKS key by `kid`, `iss`, `aud` = client
    /// id, `exp`) and returns its claims.
    async fn verify(&self, id_token: &str) -> Result<IdTokenClaims, Error> {
        use jsonwebtoken::{Algorithm, DecodingKey, Validation};
        let bad = |why: String| {
            Error::new(
                ErrorKind::Auth,
                format!(
                    "the id_token from {} does not verify against {}: {why}",
                    self.oidc.token_endpoint, self.oidc.jwks_uri
                ),
            )
        };
        let header = jsonwebtoken::decode_header(id_token)
            .map_err(|e| bad(format!("malformed token ({e})")))?;
        if header.alg != Algorithm::RS256 {
            return Err(bad(format!("algorithm {:?}, expected RS256", header.alg)));
        }
        let pick = |set: &JwkSet| match &header.kid {
            Some(kid) => set.find(kid).cloned(),
            None if set.keys.len() == 1 => set.keys.first().cloned(),
            None => None,
        };
        let jwk = match pick(&*self.jwks(false).await?) {
            Some(jwk) => jwk,
            // A rotated key: read the JWKS once more.
            None => pick(&*self.jwks(true).await?)
                .ok_or_else(|| bad(format!("no key with kid {:?}", header.kid)))?,
        };
        let key = DecodingKey::from_jwk(&jwk).map_err(|e| bad(format!("unusable key ({e})")))?;
        let mut validation = Validation::new(Algorithm::RS256);
        validation.set_issuer(&[&self.oidc.issuer]);
        validation.set_audience(&[&self.client_id]);
        validation.set_required_spec_claims(&["exp", "iss", "aud"]);
        let data = jsonwebtoken::decode::<IdTokenClaims>(id_token, &key, &validation)
            .map_err(|e| bad(e.to_string()))?;
        Ok(data.claims)
    }
}

#[async_trait::async_trait]
impl FetchToken for AccessKeyLogin {
    async fn fetch(&self) -> Result<FetchedToken, Error> {
        let refresh = locked(&self.session).refresh_token.clone();
        if let Some(token) = refresh {
            match self.grant(&Grant::Refresh(token)).await {
                Ok(fetched) => return Ok(fetched),
                Err(e) if oauth_error_of(&e) == Some("invalid_grant") => {
                    locked(&self.session).refresh_token = None;
                    tracing::info!("refresh token refused; signing in again with the access key");
                }
                Err(e) => return Err(e),
            }
        }
        self.grant(&Grant::Password).await
    }
}

/// The OAuth error code under a [`AccessKeyLogin::refusal`] wrapper.
fn oauth_error_of(err: &Error) -> Option<&str> {
    use std::error::Error as _;
    err.source()
        .and_then(|s| s.downcast_ref::<Error>())
        .and_then(oauth_error)
}

/// Builder of the access-key login; see [`crate::Tenant::discover`].
#[must_use]
#[derive(Clone)]
pub struct Discover {
    auth_url: String,
    api_url: Option<String>,
    client_id: String,
    client_secret: SecretString,
    key: AccessKey,
    method: ClientAuthMethod,
    refresh_client_auth: bool,
    http: cx_http::Config,
    cache: TokenCacheConfig,
}

impl fmt::Debug for Discover {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Discover")
            .field("auth_url", &self.auth_url)
            .field("api_url", &self.api_url)
            .field("client_id", &self.client_id)
            .field("client_secret", &"[REDACTED]")
            .field("access_key", &self.key)
            .field("method", &self.method)
            .field("refresh_client_auth", &self.refresh_client_auth)
            .finish_non_exhaustive()
    }
}

/// A logged-in tenant: the API client and what discovery found. `Debug`
/// shows no secret (the client's and the cache's own `Debug` redact theirs).
#[derive(Debug)]
pub struct Discovered {
    /// Authenticated client whose base URL is [`Discovered::api_url`].
    pub client: Client,
    /// The token cache behind it.
    pub cache: Arc<TokenCache>,
    /// The tenant id (`tenantId` of the verified id_token).
    pub tenant_id: String,
    /// The tenant's name (`tenant` claim), if the id_token carries it.
    pub tenant_name: Option<String>,
    /// The area (`area` of cxone-configuration, else of the id_token).
    pub area: Option<String>,
    /// API base URL: the override, else cxone-configuration's `api_endpoint`.
    pub api_url: String,
    /// The issuer the login went through.
    pub issuer: String,
    /// Lifetime of the access token just issued (`expires_in`, s precision).
    pub token_lifetime: Duration,
}

impl Discover {
    pub(crate) fn new(
        key: AccessKey,
        client_id: impl Into<String>,
        client_secret: impl Into<SecretString>,
    ) -> Self {
        Self {
            auth_url: CXONE_AUTH_URL.to_owned(),
            api_url: None,
            client_id: client_id.into(),
            client_secret: client_secret.into(),
            key,
            method: ClientAuthMethod::Basic,
            refresh_client_auth: true,
            http: cx_http::Config::default(),
            cache: TokenCacheConfig::default(),
        }
    }

    /// Runs discovery, the password grant, id_token verification and the
    /// tenant lookup, and returns a client for the tenant's API host.
    ///
    /// # Errors
    /// [`ErrorKind::InvalidInput`] naming `auth_url`, `api_url`, `client_id`
    /// or `access_key_id` before any request; [`ErrorKind::Auth`] naming the
    /// step that failed (discovery unreachable or malformed, another
    /// issuer, a token endpoint or JWKS on another origin, the client or
    /// the access key refused, an id_token that does not verify, an unknown
    /// tenant). No message contains a secret or a token.
    pub async fn login(self) -> Result<Discovered, Error> {
        let auth_url = self.auth_url.trim_end_matches('/').to_owned();
        let origin = origin_of("auth_url", &auth_url)?;
        if let Some(api) = &self.api_url {
            origin_of("api_url", api)?;
        }
        if self.client_id.trim().is_empty() {
            return Err(Error::invalid_input(
                "client_id",
                "is required and must not be empty",
            ));
        }
        if self.key.id.trim().is_empty() {
            return Err(Error::invalid_input(
                "access_key_id",
                "is required and must not be empty",
            ));
        }
        let http = Client::builder()
            .config(self.http.clone().with_base_url(origin.clone()))
            .build()?;

        let discovery_url = format!("{auth_url}/.well-known/openid-configuration");
        let oidc: OpenIdConfiguration =
            get_json(&http, &discovery_url, &[], "oauth.discovery", || {
                format!("OpenID discovery at {discovery_url} failed")
            })
            .await?;
        // OpenID Discovery §4.3: the issuer is the URL discovery was read
        // from, or the document must not be used (its id_tokens' `iss` is
        // checked against it).
        if !oidc
            .issuer
            .trim_end_matches('/')
            .eq_ignore_ascii_case(&auth_url)
        {
            return Err(Error::new(
                ErrorKind::Auth,
                format!(
                    "the discovery document at {discovery_url} names issuer {:?}, not {auth_url}; \
                     credentials are only sent to the configured issuer",
                    oidc.issuer
                ),
            ));
        }
        for (field, url) in [
            ("token_endpoint", &oidc.token_endpoint),
            ("jwks_uri", &oidc.jwks_uri),
        ] {
            let same = origin_of(field, url).is_ok_and(|o| o.eq_ignore_ascii_case(&origin));
            if !same {
                return Err(Error::new(
                    ErrorKind::Auth,
                    format!(
                        "the discovery document at {discovery_url} puts {field} at {url:?}, \
                         outside {origin}; credentials are only sent to the configured auth host"
                    ),
                ));
            }
        }

        let session = Arc::new(Mutex::new(Session::default()));
        let issuer = oidc.issuer.clone();
        let login = AccessKeyLogin {
            http: http.clone(),
            oidc,
            client_id: self.client_id,
            client_secret: self.client_secret,
            method: self.method,
            refresh_client_auth: self.refresh_client_auth,
            key: self.key,
            session: Arc::clone(&session),
        };
        let cache = Arc::new(TokenCache::with_config(login, self.cache));
        cx_http::Authenticate::access_token(&*cache).await?;
        let (claims, token_lifetime) = {
            let s = locked(&session);
            (s.claims.clone(), s.expires_in.unwrap_or_default())
        };
        let claims = claims.ok_or_else(|| {
            Error::new(ErrorKind::Auth, "the login returned no verified id_token")
        })?;

        let config_url = format!("{auth_url}/.well-known/cxone-configuration");
        let tenant: CxoneConfiguration = get_json(
            &http,
            &config_url,
            &[("tenantId", &claims.tenant_id)],
            "cxone.configuration",
            || {
                format!(
                    "the tenant lookup at {config_url} failed for tenant {:?}",
                    claims.tenant_id
                )
            },
        )
        .await?;
        if let Some(echo) = &tenant.tenant_id
            && !echo.eq_ignore_ascii_case(&claims.tenant_id)
        {
            return Err(Error::new(
                ErrorKind::Auth,
                format!(
                    "the tenant lookup at {config_url} answered for tenant {echo:?}, not {:?}",
                    claims.tenant_id
                ),
            ));
        }
        let api_url = match (self.api_url, tenant.api_endpoint) {
            (Some(url), _) => url,
            (None, Some(url)) => url,
            (None, None) => {
                return Err(Error::new(
                    ErrorKind::Auth,
                    format!(
                        "the tenant lookup at {config_url} gave no api_endpoint; set the API URL"
                    ),
                ));
            }
        };
        let api_url = api_url.trim_end_matches('/').to_owned();
        let api_origin = origin_of("api_endpoint", &api_url)?;
        if origin.starts_with("https://") && !api_origin.starts_with("https://") {
            return Err(Error::new(
                ErrorKind::Auth,
                format!(
                    "the API endpoint {api_url:?} is not https; tokens are only sent over https"
                ),
            ));
        }
        let client = Client::builder()
            .config(self.http.with_base_url(api_url.clone()))
            .auth(cache.clone())
            .build()?;
        tracing::info!(tenant_id = %claims.tenant_id, api = %api_url, "logged in with an access key");
        Ok(Discovered {
            client,
            cache,
            area: tenant.area.or(claims.area),
            tenant_id: claims.tenant_id,
            tenant_name: claims.tenant,
            api_url,
            issuer,
            token_lifetime,
        })
    }
}

cx_http::with_setters! { builder Discover {
    /// The issuer / auth host (default [`CXONE_AUTH_URL`]); discovery reads
    /// `{auth_url}/.well-known/openid-configuration`.
    auth_url(auth_url: impl Into<String>) = auth_url.into();
    /// Use this API base URL instead of cxone-configuration's `api_endpoint`.
    api_url(api_url: impl Into<String>) = Some(api_url.into());
    /// Client authentication at the token endpoint (default HTTP Basic,
    /// `client_secret_basic`; [`ClientAuthMethod::FormBody`] is
    /// `client_secret_post`).
    client_auth(method: ClientAuthMethod);
    /// Whether the refresh grant authenticates the client too (default
    /// true, per OAuth; unconfirmed for CXone).
    refresh_client_auth(refresh_client_auth: bool);
    /// Runtime settings for every call (retries, timeouts); `base_url` is
    /// ignored.
    http_config(http: cx_http::Config);
    /// Token cache settings (refresh skew, clock).
    cache_config(cache: TokenCacheConfig);
}}
