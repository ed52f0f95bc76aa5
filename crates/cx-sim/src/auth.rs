//! OAuth2 client credentials: registered clients, the token endpoints
//! (`POST /oauth/token` from seed 000, `POST /v1/oauth2/token` from seed
//! 001), the token store, and the bearer-token check every `/api/...` route
//! runs.
//!
//! Token endpoint contract:
//! - client authentication in the form body (`client_id`, `client_secret`)
//!   or HTTP Basic (`Authorization: Basic base64(id:secret)`); a JSON object
//!   body is accepted too;
//! - `grant_type` in the body or the query string (seed 002 puts it in the
//!   query): `client_credentials`, or CXone's access-key `password` and
//!   `refresh_token` grants (see `oidc`, also served at `POST /auth/token`);
//!   any other → 400 `unsupported_grant_type`;
//! - optional space-separated `scope`: every scope must be held by the
//!   client, else 400 `invalid_scope`; none requested grants all it holds;
//! - bad client → 401 `invalid_client`;
//! - 200 `{"access_token", "token_type": "Bearer", "expires_in": s, "scope"}`.
//!
//! API routes: a missing, unknown, expired or revoked bearer token → 401
//! `invalid_token`; a token without the route's scope → 403
//! `insufficient_scope` naming it.

use std::collections::HashMap;
use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use bytes::Bytes;
use rand::RngCore as _;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::clock::duration_ms;
use crate::scopes::{Permission, all_scopes};
use crate::state::AppState;
use crate::sync::{lock, read, write};
use crate::wire::{ApiError, JournalCtx, header_str, json_response, parse_urlencoded};

/// An OAuth client the simulator accepts. JSON (for `POST /_sim/clients`):
/// `{"clientId", "clientSecret", "tenant", "scopes": [...], "tokenTtlSecs"?}`.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct ClientRegistration {
    /// The `client_id`.
    pub client_id: String,
    /// The `client_secret`.
    pub client_secret: String,
    /// Tenant whose data the client's tokens see (default
    /// [`crate::DEFAULT_TENANT`]).
    #[serde(default = "default_tenant")]
    pub tenant: String,
    /// Scopes the client holds; empty = every scope in [`crate::all_scopes`].
    #[serde(default)]
    pub scopes: Vec<String>,
    /// Token lifetime for this client (JSON: whole seconds as
    /// `tokenTtlSecs`); `None` = the simulator's default.
    #[serde(
        default,
        rename = "tokenTtlSecs",
        with = "opt_duration_secs",
        skip_serializing_if = "Option::is_none"
    )]
    pub token_ttl: Option<Duration>,
}

/// [`crate::DEFAULT_TENANT`], the serde default of a login's tenant.
pub(crate) fn default_tenant() -> String {
    crate::DEFAULT_TENANT.to_owned()
}

impl ClientRegistration {
    /// A client in `tenant` holding every scope.
    pub fn new(
        client_id: impl Into<String>,
        client_secret: impl Into<String>,
        tenant: impl Into<String>,
    ) -> Self {
        Self {
            client_id: client_id.into(),
            client_secret: client_secret.into(),
            tenant: tenant.into(),
            scopes: Vec::new(),
            token_ttl: None,
        }
    }

    /// Restricts the client to `scopes`.
    #[must_use]
    pub fn with_scopes<I, S>(mut self, scopes: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.scopes = scopes.into_iter().map(Into::into).collect();
        self
    }

    /// Sets this client's token lifetime.
    #[must_use]
    pub fn with_token_ttl(mut self, ttl: Duration) -> Self {
        self.token_ttl = Some(ttl);
        self
    }

    fn held_scopes(&self) -> Vec<String> {
        if self.scopes.is_empty() {
            all_scopes().into_iter().map(str::to_owned).collect()
        } else {
            self.scopes.clone()
        }
    }
}

impl fmt::Debug for ClientRegistration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientRegistration")
            .field("client_id", &self.client_id)
            .field("client_secret", &"<redacted>")
            .field("tenant", &self.tenant)
            .field("scopes", &self.scopes)
            .field("token_ttl", &self.token_ttl)
            .finish()
    }
}

mod opt_duration_secs {
    use std::time::Duration;

    use serde::{Deserialize, Deserializer, Serializer};

    pub(super) fn serialize<S: Serializer>(v: &Option<Duration>, s: S) -> Result<S::Ok, S::Error> {
        match v {
            Some(d) => s.serialize_some(&d.as_secs()),
            None => s.serialize_none(),
        }
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(
        d: D,
    ) -> Result<Option<Duration>, D::Error> {
        Ok(Option::<u64>::deserialize(d)?.map(Duration::from_secs))
    }
}

/// A login the simulator accepts: an OAuth client or an access key.
pub(crate) trait Registration: Clone {
    /// Its id (`client_id`, access key id).
    fn id(&self) -> &str;
    /// The tenant whose data its tokens see.
    fn tenant(&self) -> &str;
}

impl Registration for ClientRegistration {
    fn id(&self) -> &str {
        &self.client_id
    }

    fn tenant(&self) -> &str {
        &self.tenant
    }
}

/// Registered logins, by id. Written rarely (admin), read per token call.
#[derive(Debug)]
pub(crate) struct Registry<R> {
    map: RwLock<HashMap<String, R>>,
}

impl<R> Default for Registry<R> {
    fn default() -> Self {
        Self {
            map: RwLock::new(HashMap::new()),
        }
    }
}

impl<R: Registration> Registry<R> {
    /// Adds or replaces a registration.
    pub(crate) fn register(&self, registration: R) {
        let mut map = write(&self.map);
        map.insert(registration.id().to_owned(), registration);
    }

    /// The registration with `id`.
    pub(crate) fn get(&self, id: &str) -> Option<R> {
        let map = read(&self.map);
        map.get(id).cloned()
    }

    /// The tenants of the registrations (with repeats).
    pub(crate) fn tenants(&self) -> Vec<String> {
        let map = read(&self.map);
        map.values().map(|r| r.tenant().to_owned()).collect()
    }
}

/// Registered OAuth clients.
pub(crate) type Clients = Registry<ClientRegistration>;

/// What a bearer token stands for.
#[derive(Debug, Clone)]
pub(crate) struct TokenInfo {
    tenant: Arc<str>,
    client_id: Arc<str>,
    scopes: Arc<[String]>,
    /// Sim time (ms) at which the token stops working.
    expires_at_ms: u64,
    /// Revocation epoch the token was issued in.
    epoch: u64,
}

const SHARDS: usize = 16;
/// Expired tokens are pruned from a shard once it grows past this.
const PRUNE_AT: usize = 4096;

/// Drop a shard's expired and revoked tokens; when it still holds `max`,
/// also the quarter of the live ones that expire soonest (the oldest).
fn evict_tokens(shard: &mut HashMap<String, TokenInfo>, now_ms: u64, epoch: u64, max: usize) {
    shard.retain(|_, t| t.expires_at_ms > now_ms && t.epoch == epoch);
    if shard.len() < max {
        return;
    }
    let cut = shard.len() - max * 3 / 4;
    let mut expiries: Vec<u64> = shard.values().map(|t| t.expires_at_ms).collect();
    let (_, threshold, _) = expiries.select_nth_unstable(cut - 1);
    let threshold = *threshold;
    let mut removed = 0;
    shard.retain(|_, t| {
        let drop = removed < cut && t.expires_at_ms <= threshold;
        removed += usize::from(drop);
        !drop
    });
}

/// Issued tokens in a sharded map, so concurrent requests rarely contend.
/// Revocation bumps an epoch: tokens from older epochs are dead.
#[derive(Debug)]
pub(crate) struct TokenStore {
    shards: Vec<Mutex<HashMap<String, TokenInfo>>>,
    epoch: AtomicU64,
    /// Tokens one shard keeps at most.
    max_per_shard: usize,
}

impl TokenStore {
    /// A store keeping about `max_tokens` tokens at most.
    pub(crate) fn new(max_tokens: usize) -> Self {
        Self {
            shards: (0..SHARDS).map(|_| Mutex::new(HashMap::new())).collect(),
            epoch: AtomicU64::new(0),
            max_per_shard: (max_tokens / SHARDS).max(1),
        }
    }

    /// Tokens kept, every shard.
    pub(crate) fn len(&self) -> usize {
        self.shards.iter().map(|s| lock(s).len()).sum()
    }

    fn shard(&self, token: &str) -> &Mutex<HashMap<String, TokenInfo>> {
        let h = token.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
            (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3)
        });
        // SHARDS is a small constant; the modulo fits in usize.
        &self.shards[(h % SHARDS as u64) as usize]
    }

    fn insert(&self, token: String, info: TokenInfo, now_ms: u64) {
        let mut shard = lock(self.shard(&token));
        if shard.len() >= PRUNE_AT.min(self.max_per_shard) {
            let epoch = self.epoch.load(Ordering::Acquire);
            evict_tokens(&mut shard, now_ms, epoch, self.max_per_shard);
        }
        shard.insert(token, info);
    }

    fn get(&self, token: &str) -> Option<TokenInfo> {
        lock(self.shard(token)).get(token).cloned()
    }

    /// `(tenant, client_id)` of a token regardless of expiry, for the journal.
    pub(crate) fn peek(&self, token: &str) -> Option<(Arc<str>, Arc<str>)> {
        lock(self.shard(token))
            .get(token)
            .map(|t| (Arc::clone(&t.tenant), Arc::clone(&t.client_id)))
    }

    /// Kills every token issued so far.
    pub(crate) fn revoke_all(&self) {
        self.epoch.fetch_add(1, Ordering::AcqRel);
        for shard in &self.shards {
            lock(shard).clear();
        }
    }

    /// The caller behind the request's bearer token.
    ///
    /// # Errors
    /// 401 `invalid_token` when it is missing, unknown, revoked or expired.
    pub(crate) fn authenticate(
        &self,
        headers: &HeaderMap,
        now_ms: u64,
    ) -> Result<Caller, ApiError> {
        let token = bearer_token(headers).ok_or_else(|| invalid_token("missing bearer token"))?;
        let info = self
            .get(token)
            .ok_or_else(|| invalid_token("unknown or revoked access token"))?;
        if info.epoch != self.epoch.load(Ordering::Acquire) {
            return Err(invalid_token("access token has been revoked"));
        }
        if now_ms >= info.expires_at_ms {
            return Err(invalid_token("access token has expired"));
        }
        Ok(Caller {
            tenant: info.tenant,
            client_id: info.client_id,
            scopes: info.scopes,
        })
    }
}

/// The bearer token of a request, if it has one.
pub(crate) fn bearer_token(headers: &HeaderMap) -> Option<&str> {
    let value = header_str(headers, &header::AUTHORIZATION)?.trim();
    let (scheme, rest) = value.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| rest.trim())
        .filter(|t| !t.is_empty())
}

fn invalid_token(description: &str) -> ApiError {
    ApiError::oauth(StatusCode::UNAUTHORIZED, "invalid_token", description).header(
        header::WWW_AUTHENTICATE,
        &format!("Bearer error=\"invalid_token\", error_description=\"{description}\""),
    )
}

/// The authenticated caller of an API route (see
/// `routes::common::Api`, the extractor that finds it).
#[derive(Debug, Clone)]
pub(crate) struct Caller {
    /// Tenant the token belongs to.
    pub tenant: Arc<str>,
    /// Client the token was issued to.
    pub client_id: Arc<str>,
    scopes: Arc<[String]>,
}

impl Caller {
    /// Checks the token holds any spelling of `permission`'s scope.
    ///
    /// # Errors
    /// 403 `insufficient_scope` naming the missing scope and listing every
    /// accepted spelling in `requiredScopes`.
    pub(crate) fn require(&self, permission: Permission) -> Result<(), ApiError> {
        let accepted = permission.scopes();
        if accepted
            .iter()
            .any(|want| self.scopes.iter().any(|have| have == want))
        {
            return Ok(());
        }
        let primary = accepted.first().copied().unwrap_or("unknown");
        Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "insufficient_scope",
            format!("missing scope: {primary}"),
        )
        .field("requiredScopes", json!(accepted))
        .header(
            header::WWW_AUTHENTICATE,
            &format!(
                "Bearer error=\"insufficient_scope\", scope=\"{}\"",
                accepted.join(" ")
            ),
        ))
    }
}

/// `POST /oauth/token` and `POST /v1/oauth2/token`.
pub(crate) async fn token_endpoint(
    State(state): State<AppState>,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let mut ctx = JournalCtx::default();
    let result = issue_token(&state, &uri, &headers, &body, &mut ctx);
    token_answer(result, ctx)
}

/// A token endpoint's answer: never cached, with who asked for the journal.
fn token_answer(result: Result<Response, ApiError>, ctx: JournalCtx) -> Response {
    let mut resp = result.unwrap_or_else(IntoResponse::into_response);
    resp.headers_mut().insert(
        header::CACHE_CONTROL,
        header::HeaderValue::from_static("no-store"),
    );
    resp.extensions_mut().insert(ctx);
    resp
}

fn form_params(
    uri: &Uri,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<HashMap<String, String>, ApiError> {
    let mut params: HashMap<String, String> = uri
        .query()
        .map(parse_urlencoded)
        .unwrap_or_default()
        .into_iter()
        .collect();
    let is_json = header_str(headers, &header::CONTENT_TYPE).is_some_and(|ct| {
        ct.trim_start()
            .to_ascii_lowercase()
            .starts_with("application/json")
    });
    if is_json {
        match serde_json::from_slice::<Value>(body) {
            Ok(Value::Object(map)) => {
                for (k, v) in map {
                    let v = match v {
                        Value::String(s) => s,
                        other => other.to_string(),
                    };
                    params.insert(k, v);
                }
            }
            _ => {
                return Err(ApiError::oauth(
                    StatusCode::BAD_REQUEST,
                    "invalid_request",
                    "JSON body must be an object",
                ));
            }
        }
    } else {
        let text = String::from_utf8_lossy(body);
        params.extend(parse_urlencoded(&text));
    }
    Ok(params)
}

fn basic_credentials(headers: &HeaderMap) -> Option<Result<(String, String), ApiError>> {
    let value = header_str(headers, &header::AUTHORIZATION)?.trim();
    let (scheme, rest) = value.split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let bad = || {
        ApiError::oauth(
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            "malformed Basic authorization header",
        )
    };
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(rest.trim())
        .map_err(|_| bad());
    let parsed = decoded.and_then(|bytes| {
        let text = String::from_utf8(bytes).map_err(|_| bad())?;
        let (id, secret) = text.split_once(':').ok_or_else(bad)?;
        // RFC 6749 §2.3.1: both parts are form-urlencoded before encoding.
        Ok((
            crate::wire::percent_decode(id),
            crate::wire::percent_decode(secret),
        ))
    });
    Some(parsed)
}

fn issue_token(
    state: &AppState,
    uri: &Uri,
    headers: &HeaderMap,
    body: &[u8],
    ctx: &mut JournalCtx,
) -> Result<Response, ApiError> {
    let params = form_params(uri, headers, body)?;
    let (client_id, client_secret) = match basic_credentials(headers) {
        Some(creds) => creds?,
        None => (
            params.get("client_id").cloned().unwrap_or_default(),
            params.get("client_secret").cloned().unwrap_or_default(),
        ),
    };
    if !client_id.is_empty() {
        ctx.client_id = Some(client_id.clone());
    }

    let grant_type = params.get("grant_type").map(String::as_str).unwrap_or("");
    if !grant_type.is_empty() {
        ctx.grant_type = Some(grant_type.to_owned());
    }
    match grant_type {
        "client_credentials" | "password" | "refresh_token" => {}
        "" => {
            return Err(ApiError::oauth(
                StatusCode::BAD_REQUEST,
                "invalid_request",
                "grant_type is required",
            ));
        }
        other => {
            return Err(ApiError::oauth(
                StatusCode::BAD_REQUEST,
                "unsupported_grant_type",
                format!(
                    "grant_type {other:?} is not supported; use client_credentials, password or refresh_token"
                ),
            ));
        }
    }

    let invalid_client = |msg: &str| {
        ApiError::oauth(StatusCode::UNAUTHORIZED, "invalid_client", msg)
            .header(header::WWW_AUTHENTICATE, "Basic realm=\"cx-sim\"")
    };
    // A refresh may come without client authentication (a public client).
    if client_id.is_empty() && grant_type == "refresh_token" {
        return crate::oidc::refresh_grant(state, headers, &params, None, ctx);
    }
    if client_id.is_empty() {
        return Err(invalid_client("client authentication is required"));
    }
    let client = state
        .clients
        .get(&client_id)
        .filter(|c| c.client_secret == client_secret)
        .ok_or_else(|| invalid_client("unknown client or wrong client secret"))?;
    match grant_type {
        "password" => return crate::oidc::password_grant(state, headers, &params, &client, ctx),
        "refresh_token" => {
            return crate::oidc::refresh_grant(state, headers, &params, Some(&client), ctx);
        }
        _ => {}
    }
    ctx.tenant = Some(client.tenant.clone());

    let held = client.held_scopes();
    let requested: Vec<&str> = params
        .get("scope")
        .map(|s| s.split_whitespace().collect())
        .unwrap_or_default();
    let granted: Vec<String> = if requested.is_empty() {
        held
    } else {
        let mut granted: Vec<String> = Vec::with_capacity(requested.len());
        for scope in requested {
            if !held.iter().any(|h| h == scope) {
                return Err(ApiError::oauth(
                    StatusCode::BAD_REQUEST,
                    "invalid_scope",
                    format!("scope {scope:?} is not granted to client {client_id:?}"),
                ));
            }
            if !granted.iter().any(|g| g == scope) {
                granted.push(scope.to_owned());
            }
        }
        granted
    };

    let ttl = client.token_ttl.unwrap_or(state.settings.token_ttl);
    let token = issue_access_token(
        state,
        &client.tenant,
        &client.client_id,
        granted.clone(),
        ttl,
    );
    tracing::debug!(client_id = %client.client_id, tenant = %client.tenant, "issued token");
    Ok(json_response(
        StatusCode::OK,
        &json!({
            "access_token": token,
            "token_type": "Bearer",
            "expires_in": ttl.as_secs(),
            "scope": granted.join(" "),
        }),
    ))
}

/// The client id recorded for tokens of the access-key JSON endpoint (it
/// takes no client authentication; the id_token's `aud`).
pub(crate) const ACCESS_KEY_CLIENT_ID: &str = "cx-sim-access-key";

/// `POST /authentication/v1/token/access-key` (`../shared/CXONE_REST.md`
/// §1.9, the endpoint exporters still use): a JSON body `{"accessKeyId",
/// "accessKeySecret"}` and no client authentication. 200 answers as the
/// password grant does (`access_token`, `token_type`, `expires_in` in s,
/// `refresh_token`, `id_token`, `issued_token_type`, `scope`; only
/// `access_token` is confirmed for CXone); an unknown key or a wrong secret
/// is 401 `invalid_grant`, a body that is not such an object 400
/// `invalid_request`. The journal's `grantType` is `access_key`.
pub(crate) async fn access_key_endpoint(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let mut ctx = JournalCtx {
        grant_type: Some("access_key".to_owned()),
        ..JournalCtx::default()
    };
    let result = access_key_tokens(&state, &headers, &body, &mut ctx);
    token_answer(result, ctx)
}

fn access_key_tokens(
    state: &AppState,
    headers: &HeaderMap,
    body: &[u8],
    ctx: &mut JournalCtx,
) -> Result<Response, ApiError> {
    let bad = |why: &str| ApiError::oauth(StatusCode::BAD_REQUEST, "invalid_request", why);
    let body: Value = serde_json::from_slice(body)
        .map_err(|_| bad("the body must be a JSON object {accessKeyId, accessKeySecret}"))?;
    let field = |name: &str| {
        body.get(name)
            .and_then(Value::as_str)
            .filter(|v| !v.is_empty())
            .ok_or_else(|| bad(&format!("{name} is required (a string)")))
    };
    let (key_id, secret) = (field("accessKeyId")?, field("accessKeySecret")?);
    let rejected = || {
        ApiError::oauth(
            StatusCode::UNAUTHORIZED,
            "invalid_grant",
            "unknown access key or wrong secret",
        )
    };
    let key = state.access_keys.get(key_id).ok_or_else(rejected)?;
    if key.access_key_secret != secret {
        return Err(rejected());
    }
    let client = ClientRegistration::new(ACCESS_KEY_CLIENT_ID, "", key.tenant.clone());
    ctx.client_id = Some(ACCESS_KEY_CLIENT_ID.to_owned());
    crate::oidc::user_tokens(state, headers, &key, &client, ctx)
}

/// Stores and returns a new access token for `tenant` / `client_id`,
/// valid for `ttl` of sim time; empty `scopes` = every scope (a user's
/// token from the access-key login).
pub(crate) fn issue_access_token(
    state: &AppState,
    tenant: &str,
    client_id: &str,
    scopes: Vec<String>,
    ttl: Duration,
) -> String {
    let scopes = if scopes.is_empty() {
        all_scopes().into_iter().map(str::to_owned).collect()
    } else {
        scopes
    };
    let now = state.clock.now_ms();
    let token = new_token();
    state.tokens.insert(
        token.clone(),
        TokenInfo {
            tenant: Arc::from(tenant),
            client_id: Arc::from(client_id),
            scopes: Arc::from(scopes),
            expires_at_ms: now.saturating_add(duration_ms(ttl)),
            epoch: state.tokens.epoch.load(Ordering::Acquire),
        },
        now,
    );
    token
}

/// A fresh opaque token: 32 random bytes, base64url.
pub(crate) fn new_token() -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bearer_parsing() {
        let cases = [
            ("Bearer abc", Some("abc")),
            ("bearer  abc ", Some("abc")),
            ("Basic abc", None),
            ("Bearer ", None),
            ("Bearer", None),
        ];
        for (value, want) in cases {
            let mut headers = HeaderMap::new();
            headers.insert(header::AUTHORIZATION, value.parse().expect("header"));
            assert_eq!(bearer_token(&headers), want, "{value:?}");
        }
    }

    #[test]
    fn registration_json_and_debug() {
        let reg: ClientRegistration = serde_json::from_value(json!({
            "clientId": "a", "clientSecret": "s", "scopes": ["workflow.read"], "tokenTtlSecs": 5
        }))
        .expect("parse");
        assert_eq!(reg.tenant, crate::DEFAULT_TENANT);
        assert_eq!(reg.token_ttl, Some(Duration::from_secs(5)));
        assert!(!format!("{reg:?}").contains("\"s\""));
    }
}
