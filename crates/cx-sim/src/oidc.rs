//! CXone's back-end login (`../shared/CXONE_REST.md` §1): OpenID discovery,
//! the JWKS, access keys for the password grant, rotating refresh tokens,
//! RS256-signed id_tokens, the tenant lookup and the business-unit call
//! published clients use to learn their tenant id.
//!
//! | route | answer |
//! |---|---|
//! | `GET /.well-known/openid-configuration` | `{issuer, token_endpoint, jwks_uri, ...}`, every URL on the simulator's own base URL (from the `Host` header); `issuer` as `SimBuilder::issuer` when set |
//! | `GET /auth/jwks` | `{keys: [{kty: "RSA", kid, use: "sig", alg: "RS256", n, e}]}` |
//! | `POST /auth/token` | as `POST /oauth/token` (see `auth`), plus `grant_type=password` and `refresh_token` |
//! | `GET /.well-known/cxone-configuration?tenantId=` | `{tenantId, area, cluster, domain, api_endpoint, auth_endpoint, ui_endpoint, ...}`; 404 `{error: "tenant_not_found"}` |
//! | `GET /inContactAPI/services/vNN.0/business-unit` (any case, any `vNN.0`) | `{businessUnits: [{businessUnitId, businessUnitName, tenantId, isActive, timeZone}]}` (bearer token) |
//!
//! Password grant (`username` = access key id, `password` = access key
//! secret, client authenticated with Basic or in the form): an unknown key
//! id → 400 `invalid_grant` "unknown access key id", a wrong secret → 400
//! `invalid_grant` "access key secret does not match" (a real server may not
//! say which), a bad client → 401 `invalid_client`. The answer is `{access_token,
//! token_type: "Bearer", expires_in (s), refresh_token, id_token,
//! issued_token_type, scope: "openid"}`.
//!
//! Refresh grant: client authentication is optional (NICE's own SDK sends
//! none), but when present it must be valid and be the client the token was
//! issued to. Each refresh token works once (rotation) and for the refresh
//! lifetime (default 7200 s of sim time); a reused, expired, revoked or
//! unknown one → 400 `invalid_grant`.

use std::collections::HashMap;
use std::fmt;
use std::sync::{LazyLock, Mutex};
use std::time::Duration;

use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use serde_json::json;
use sha2::{Digest as _, Sha256};

use crate::auth::{ClientRegistration, Registration, Registry, issue_access_token, new_token};
use crate::clock::duration_ms;
use crate::state::AppState;
use crate::sync::lock;
use crate::wire::{ApiError, JournalCtx, header_str, json_response, query_map};

/// Key id (`kid`) of the simulator's id_token signing key.
pub const SIM_SIGNING_KEY_ID: &str = "cx-sim-rs256-1";

// The simulator's RSA test key pair (2048 bit, made once with `openssl
// genpkey`). It is public test material, NOT a secret: anyone can sign
// tokens the simulator's JWKS accepts. Never trust it outside tests.
const SIM_SIGNING_KEY_PEM: &str = "-----BEGIN PRIVATE KEY-----\n\
MIIEvAIBADANBgkqhkiG9w0BAQEFAASCBKYwggSiAgEAAoIBAQCXVmuUxEmZjPyw\n\
SSk6LnyBRWB+jnaWJC/kbOj5n6+9YJfXl8Thax59ZSP49s2oe0y7z+e7Vf3f9QpI\n\
ckID98xdByAAyAOf3//GEyuqis8s8+dKfab32ZeJYFWpU3YwQ6I1to68UD08MZ2e\n\
sW9J+bxfikg0cnMNrhqoaL66TbvUBhlSXtVfkE+gi7L4jlOb1YigOQA4JZHKIRZq\n\
ZTzqfO+ASFVDyqV/LNJ1vWwW8jlko0r0RuiUhAl54RNkHm2FMuTVqUf23Odjladp\n\
oI0RWv+1wqvszNOFvP14ubO42qCfNseO5xLqySXztz/X5qnDpx0TcfEm24Jv3IJt\n\
NfY/lbORAgMBAAECggEAHX/8EpC8pBDmhNqODchX/r7uU10j4pqFN2q/c0FceXbl\n\
wmHUP/iohdr8SyCY8DmwuH+LdWoKxeg3K+4RzkI0dQHZjC1w/24jppHAFktenS2i\n\
LVQXAwNIVcAQkqQxSrE0YnIGmtCtTxmA1xlRT0M+JAWJk6eno8gHbEKWwyw569dD\n\
gTFxkRNqjneotMu7E/U2YOCx9Yrx/JUiVHnPyMOUuiAeJHd/y1/w6dT/Tc6/FdIm\n\
t4gF6haUKvJACoYX6yjXOMbNn4uGhnOFd/V8UXK0ogHHsjDNCpZO87JQWYxVUDU0\n\
t3oNX8ES2cf1AW8Vx6wnnkolnqJRoMRBWF3/pHNVkQKBgQDV+E0iBqrvh3ay7DTZ\n\
9xrkbeh9v/R31YS52D1qSEIMs52VnKpDO+KPtjVFzgGQlQ45ZtxaoDTIicfe68OE\n\
DwSiuOQYdYRi4S+8Mrfv9IIVrwJZmj/xr5oMMAlzcFwLpJgxAASof83MHLfYY4IL\n\
TUxRzbqQ+CVaHjeX2SkwiTeYrQKBgQC1EJYvI3318/cZKw+NphX+Owew0LTjYNwb\n\
nKIYrdNLNZMygWZlNgysuD1H1ZgCJ23ceZ9tyg6kcRT/Ow197TKt4/qU9NkwATmS\n\
5HLRb6spxtFw4fsDO+NjOfRSuNH3s3M5lTiv6uH4IcR+SpwQIRHD/T1MkYu6uSDv\n\
siRMTmeu9QKBgHQtXbQb6rQj2U9M8WVnxjJBevrMPvDR/j7qKm6KzVIYNHgHmGrp\n\
GRru0/4S3MakKBUCxKJwWjiIlv1zBbWucdXojfC53ifSHRkScMzY9cjQPXZpSk7w\n\
CbSUYI1NdKzdscTpPZ4/xn4NGcVkQjfgwI+qJKKSGbXUslrAjpzL5GQBAoGAC5ht\n\
VcV7GpYuG+GDFHovbGGRY4RqISmhzu7f/p6bKnTa4WAiE5c7hpAh9Ii8PF8UDQuI\n\
5zoKaAOJ6bJ5cbgQB8zSzllD02wwqLSSmdEB8CH4ZbdDIPjj3gXnHKkTYT6PwX9J\n\
6xIquH5JHCFhDzNe9OMx2sZzYVjbwB3zbyOSRkUCgYAyRrrIyUx89oPX1YG4mTct\n\
iBNLZQv2gn7ELy0hk+MMl6lo4sleDKDhhrHsDL0ZunkC02UZDvjLr4vHJPJNPSHL\n\
vuJGxaviN9klLtJm0vmLhFhr79yi0HQb28gWIN+tikw93hINEgQkCzIGC7QPhzLz\n\
0Xq3gp41358X2sFsLDyZXw==\n\
-----END PRIVATE KEY-----";
/// Modulus of the simulator's public key (base64url, as in its JWKS).
const SIM_SIGNING_KEY_N: &str = "l1ZrlMRJmYz8sEkpOi58gUVgfo52liQv5Gzo-Z-vvWCX15fE4WsefWUj-PbNqHtMu8_nu1X93_UKSHJCA_fMXQcgAMgDn9__xhMrqorPLPPnSn2m99mXiWBVqVN2MEOiNbaOvFA9PDGdnrFvSfm8X4pINHJzDa4aqGi-uk271AYZUl7VX5BPoIuy-I5Tm9WIoDkAOCWRyiEWamU86nzvgEhVQ8qlfyzSdb1sFvI5ZKNK9EbolIQJeeETZB5thTLk1alH9tznY5WnaaCNEVr_tcKr7MzThbz9eLmzuNqgnzbHjucS6skl87c_1-apw6cdE3HxJtuCb9yCbTX2P5WzkQ";
/// Public exponent (65537, base64url).
const SIM_SIGNING_KEY_E: &str = "AQAB";

/// Area every simulated tenant is in (`area` claim, cxone-configuration).
pub const SIM_AREA: &str = "sim1";

static SIGNING_KEY: LazyLock<Option<jsonwebtoken::EncodingKey>> = LazyLock::new(|| {
    jsonwebtoken::EncodingKey::from_rsa_pem(SIM_SIGNING_KEY_PEM.as_bytes())
        .map_err(|err| tracing::error!(%err, "the simulator's signing key does not parse"))
        .ok()
});

/// A CXone access key the simulator accepts in the password grant. JSON
/// (for `POST /_sim/access-keys`): `{"accessKeyId", "accessKeySecret",
/// "tenant"?}`.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct AccessKey {
    /// The access key id (sent as `username`).
    pub access_key_id: String,
    /// The access key secret (sent as `password`).
    pub access_key_secret: String,
    /// Tenant whose data the key's tokens see (default
    /// [`crate::DEFAULT_TENANT`]).
    #[serde(default = "crate::auth::default_tenant")]
    pub tenant: String,
}

impl AccessKey {
    /// A key in `tenant`.
    pub fn new(
        access_key_id: impl Into<String>,
        access_key_secret: impl Into<String>,
        tenant: impl Into<String>,
    ) -> Self {
        Self {
            access_key_id: access_key_id.into(),
            access_key_secret: access_key_secret.into(),
            tenant: tenant.into(),
        }
    }

    /// The user the key belongs to: a UUID derived from the key id.
    fn user_id(&self) -> String {
        uuid_from(&format!("cx-sim user {}", self.access_key_id))
    }
}

impl fmt::Debug for AccessKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AccessKey")
            .field("access_key_id", &self.access_key_id)
            .field("access_key_secret", &"<redacted>")
            .field("tenant", &self.tenant)
            .finish()
    }
}

/// The CXone tenant id (a UUID, as in the `tenantId` claim) of simulator
/// tenant `tenant`: derived from its name, so it is stable across runs.
pub fn tenant_id(tenant: &str) -> String {
    uuid_from(&format!("cx-sim tenant {tenant}"))
}

/// The business unit number of `tenant` (`icBUId`), stable across runs.
pub(crate) fn business_unit_id(tenant: &str) -> u64 {
    let digest = Sha256::digest(tenant.as_bytes());
    let mut first = [0u8; 4];
    first.copy_from_slice(&digest[..4]);
    4_600_000 + u64::from(u32::from_be_bytes(first) % 100_000)
}

/// A version-4-shaped UUID from the SHA-256 of `seed`.
fn uuid_from(seed: &str) -> String {
    let digest = Sha256::digest(seed.as_bytes());
    let mut bytes = [0u8; 16];
    bytes.copy_from_slice(&digest[..16]);
    uuid::Builder::from_random_bytes(bytes)
        .into_uuid()
        .hyphenated()
        .to_string()
}

impl Registration for AccessKey {
    fn id(&self) -> &str {
        &self.access_key_id
    }

    fn tenant(&self) -> &str {
        &self.tenant
    }
}

/// Registered access keys.
pub(crate) type AccessKeys = Registry<AccessKey>;

/// What a refresh token stands for.
#[derive(Debug, Clone)]
struct RefreshGrant {
    access_key_id: String,
    client_id: String,
    expires_at_ms: u64,
}

/// Live refresh tokens; a used one is removed (rotation).
#[derive(Debug, Default)]
pub(crate) struct RefreshTokens {
    map: Mutex<HashMap<String, RefreshGrant>>,
}

impl RefreshTokens {
    /// Kills every refresh token issued so far.
    pub(crate) fn revoke_all(&self) {
        lock(&self.map).clear();
    }

    fn issue(&self, grant: RefreshGrant, now_ms: u64) -> String {
        let token = new_token();
        let mut map = lock(&self.map);
        map.retain(|_, g| g.expires_at_ms > now_ms);
        map.insert(token.clone(), grant);
        token
    }

    /// Removes and returns the grant of `token` whatever its state, so a
    /// token works at most once.
    fn take(&self, token: &str) -> Option<RefreshGrant> {
        lock(&self.map).remove(token)
    }
}

/// `http://{Host}`: the simulator's own base URL as the caller reached it.
pub(crate) fn base_url(headers: &HeaderMap) -> String {
    let host = header_str(headers, &header::HOST).unwrap_or("127.0.0.1");
    format!("http://{host}")
}

/// The `issuer` of discovery and `iss` of id_tokens: the configured one,
/// else the simulator's own base URL.
fn issuer(state: &AppState, headers: &HeaderMap) -> String {
    state
        .settings
        .issuer
        .clone()
        .unwrap_or_else(|| base_url(headers))
}

/// `GET /.well-known/openid-configuration`.
pub(crate) async fn openid_configuration(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Response {
    let base = base_url(&headers);
    json_response(
        StatusCode::OK,
        &json!({
            "issuer": issuer(&state, &headers),
            "authorization_endpoint": format!("{base}/auth/authorize"),
            "token_endpoint": format!("{base}/auth/token"),
            "userinfo_endpoint": format!("{base}/auth/userinfo"),
            "jwks_uri": format!("{base}/auth/jwks"),
            "end_session_endpoint": format!("{base}/auth/logout"),
            "response_types_supported": ["code"],
            "grant_types_supported": ["password", "refresh_token", "client_credentials", "authorization_code"],
            "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "subject_types_supported": ["public"],
            "scopes_supported": ["openid"],
            "code_challenge_methods_supported": ["S256"],
        }),
    )
}

/// `GET /auth/jwks`.
pub(crate) async fn jwks() -> Response {
    json_response(
        StatusCode::OK,
        &json!({ "keys": [{
            "kty": "RSA",
            "kid": SIM_SIGNING_KEY_ID,
            "use": "sig",
            "alg": "RS256",
            "n": SIM_SIGNING_KEY_N,
            "e": SIM_SIGNING_KEY_E,
        }]}),
    )
}

/// Every tenant the simulator knows a login for.
fn known_tenants(state: &AppState) -> Vec<String> {
    let mut tenants = state.clients.tenants();
    tenants.extend(state.access_keys.tenants());
    tenants.sort();
    tenants.dedup();
    tenants
}

/// `GET /.well-known/cxone-configuration?tenantId=`.
pub(crate) async fn cxone_configuration(
    State(state): State<AppState>,
    uri: Uri,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let query = query_map(uri.query());
    let wanted = query
        .get("tenantId")
        .map(|s| s.trim().to_ascii_lowercase())
        .filter(|s| !s.is_empty())
        .ok_or_else(|| {
            ApiError::oauth(
                StatusCode::BAD_REQUEST,
                "invalid_request",
                "query parameter tenantId is required",
            )
        })?;
    let tenant = known_tenants(&state)
        .into_iter()
        .find(|t| tenant_id(t) == wanted)
        .ok_or_else(|| {
            ApiError::oauth(
                StatusCode::NOT_FOUND,
                "tenant_not_found",
                format!("no tenant with id {wanted:?}"),
            )
        })?;
    let base = base_url(&headers);
    let api = state
        .settings
        .api_endpoint
        .clone()
        .unwrap_or_else(|| base.clone());
    Ok(json_response(
        StatusCode::OK,
        &json!({
            "private": false,
            "area": SIM_AREA,
            "cluster": "SIM1",
            "domain": "cx-sim.invalid",
            "acdDomain": "cx-sim.invalid",
            "uhDomain": "cx-sim.invalid",
            "ui_endpoint": base,
            "auth_endpoint": base,
            "api_endpoint": api,
            "tenantId": tenant_id(&tenant),
            "tenant": tenant,
        }),
    ))
}

/// `GET /inContactAPI/services/vNN.0/business-unit`, matched
/// case-insensitively by the router's fallback; `None` for any other path.
pub(crate) fn business_unit(
    state: &AppState,
    method: &Method,
    uri: &Uri,
    headers: &HeaderMap,
) -> Option<Response> {
    if crate::routes::incontact::service_route(uri.path())? != "business-unit" {
        return None;
    }
    if method != Method::GET {
        return Some(
            ApiError::new(
                StatusCode::METHOD_NOT_ALLOWED,
                "method_not_allowed",
                "method not allowed on this route",
            )
            .into_response(),
        );
    }
    let caller = match state.tokens.authenticate(headers, state.clock.now_ms()) {
        Ok(caller) => caller,
        Err(err) => return Some(err.into_response()),
    };
    let tenant = caller.tenant.to_string();
    Some(json_response(
        StatusCode::OK,
        &json!({ "businessUnits": [{
            "businessUnitId": business_unit_id(&tenant),
            "businessUnitName": tenant,
            "tenantId": tenant_id(&tenant),
            "isActive": true,
            "timeZone": "UTC",
        }]}),
    ))
}

/// The response of a password or refresh grant: a new access token, a new
/// refresh token and a signed id_token for the key's user.
pub(crate) fn user_tokens(
    state: &AppState,
    headers: &HeaderMap,
    key: &AccessKey,
    client: &ClientRegistration,
    ctx: &mut JournalCtx,
) -> Result<Response, ApiError> {
    let signing = SIGNING_KEY.as_ref().ok_or_else(|| {
        ApiError::oauth(
            StatusCode::INTERNAL_SERVER_ERROR,
            "server_error",
            "the simulator's signing key is unusable",
        )
    })?;
    ctx.tenant = Some(key.tenant.clone());
    let ttl = client.token_ttl.unwrap_or(state.settings.token_ttl);
    let now = state.clock.now_ms();
    let access = issue_access_token(state, &key.tenant, &client.client_id, Vec::new(), ttl);
    let refresh = state.refresh_tokens.issue(
        RefreshGrant {
            access_key_id: key.access_key_id.clone(),
            client_id: client.client_id.clone(),
            expires_at_ms: now.saturating_add(duration_ms(state.settings.refresh_token_ttl)),
        },
        now,
    );
    let iat = state.clock.wall(now).timestamp();
    let lifetime = i64::try_from(ttl.as_secs()).unwrap_or(i64::MAX);
    let user_id = key.user_id();
    let claims = json!({
        "iss": issuer(state, headers),
        "aud": client.client_id,
        "sub": format!("user:{user_id}"),
        "iat": iat,
        "exp": iat.saturating_add(lifetime),
        "tenantId": tenant_id(&key.tenant),
        "tenant": key.tenant,
        "area": SIM_AREA,
        "icBUId": business_unit_id(&key.tenant),
        "icClusterId": "SIM1",
        "userId": user_id,
        "name": format!("Access key {}", key.access_key_id),
    });
    let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::RS256);
    header.kid = Some(SIM_SIGNING_KEY_ID.to_owned());
    let id_token = jsonwebtoken::encode(&header, &claims, signing).map_err(|err| {
        ApiError::oauth(
            StatusCode::INTERNAL_SERVER_ERROR,
            "server_error",
            format!("id_token signing failed: {err}"),
        )
    })?;
    Ok(json_response(
        StatusCode::OK,
        &json!({
            "access_token": access,
            "token_type": "Bearer",
            "expires_in": ttl.as_secs(),
            "refresh_token": refresh,
            "id_token": id_token,
            "issued_token_type": "urn:ietf:params:oauth:token-type:access_token",
            "scope": "openid",
        }),
    ))
}

fn invalid_grant(description: &str) -> ApiError {
    ApiError::oauth(StatusCode::BAD_REQUEST, "invalid_grant", description)
}

/// `grant_type=password` for an authenticated `client`.
pub(crate) fn password_grant(
    state: &AppState,
    headers: &HeaderMap,
    params: &HashMap<String, String>,
    client: &ClientRegistration,
    ctx: &mut JournalCtx,
) -> Result<Response, ApiError> {
    let field = |name: &str| {
        params.get(name).filter(|v| !v.is_empty()).ok_or_else(|| {
            ApiError::oauth(
                StatusCode::BAD_REQUEST,
                "invalid_request",
                format!("{name} is required for grant_type password"),
            )
        })
    };
    let key_id = field("username")?;
    let secret = field("password")?;
    let key = state
        .access_keys
        .get(key_id)
        .ok_or_else(|| invalid_grant("unknown access key id"))?;
    if key.access_key_secret != *secret {
        return Err(invalid_grant("access key secret does not match"));
    }
    user_tokens(state, headers, &key, client, ctx)
}

/// `grant_type=refresh_token`; `client` is the authenticated client, if the
/// request authenticated one.
pub(crate) fn refresh_grant(
    state: &AppState,
    headers: &HeaderMap,
    params: &HashMap<String, String>,
    client: Option<&ClientRegistration>,
    ctx: &mut JournalCtx,
) -> Result<Response, ApiError> {
    let token = params
        .get("refresh_token")
        .filter(|v| !v.is_empty())
        .ok_or_else(|| {
            ApiError::oauth(
                StatusCode::BAD_REQUEST,
                "invalid_request",
                "refresh_token is required for grant_type refresh_token",
            )
        })?;
    let grant = state
        .refresh_tokens
        .take(token)
        .ok_or_else(|| invalid_grant("refresh token is unknown, already used or revoked"))?;
    if state.clock.now_ms() >= grant.expires_at_ms {
        return Err(invalid_grant("refresh token has expired"));
    }
    if let Some(c) = client
        && c.client_id != grant.client_id
    {
        return Err(invalid_grant("refresh token was issued to another client"));
    }
    let key = state
        .access_keys
        .get(&grant.access_key_id)
        .ok_or_else(|| invalid_grant("the access key of this refresh token was removed"))?;
    let client = match client {
        Some(c) => c.clone(),
        None => state
            .clients
            .get(&grant.client_id)
            .ok_or_else(|| invalid_grant("the client of this refresh token was removed"))?,
    };
    ctx.client_id = Some(client.client_id.clone());
    user_tokens(state, headers, &key, &client, ctx)
}

/// Refresh-token lifetime unless the builder sets one: 7200 s, as in the
/// dev example of `../shared/CXONE_REST.md` §1.4.
pub(crate) const DEFAULT_REFRESH_TOKEN_TTL: Duration = Duration::from_secs(7200);
