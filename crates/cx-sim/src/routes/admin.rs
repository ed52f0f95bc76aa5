//! The admin API under `/_sim/`: no authentication, not journaled, never
//! faulted. It mirrors the Rust methods on [`crate::Sim`] so the
//! simulator can be driven when it runs as a separate process (`cx sim
//! serve`). Bodies are JSON in the shapes of the public types.
//!
//! | route | body | answer |
//! |---|---|---|
//! | `GET /_sim/health` | | 200 `{"status": "ok", "nowMs"}` |
//! | `GET /_sim/journal?since=<seq>` | | 200 `[JournalEntry]` with `seq > since` |
//! | `DELETE /_sim/journal` | | 204 |
//! | `GET /_sim/faults` | | 200 `[FaultRule]` |
//! | `PUT /_sim/faults` | `[FaultRule]` | 204 (replaces; 400 on a bad rule) |
//! | `DELETE /_sim/faults` | | 204 |
//! | `POST /_sim/clients` | `ClientRegistration` | 204 |
//! | `POST /_sim/access-keys` | `AccessKey` | 204 |
//! | `POST /_sim/tokens/revoke` | | 204 (access and refresh tokens) |
//! | `POST /_sim/workflows?tenant=` | `WorkflowFixture` | 204 (tenant defaults to `tenant-default`) |
//! | `POST /_sim/clock/advance` | `{"ms": n}` | 200 `{"nowMs"}` |
//! | `GET /_sim/stats?tenant=` | | 200 `StoreSizes` `{executions, instances, jobs, idempotencyKeys, auditEntries, tokens}` |
//! | `PUT /_sim/contacts/synthetic?tenant=` | `SyntheticContacts` `{contacts, days, seed}` | 204: the tenant's completed contacts become that synthetic volume (issue 17 benches) |
//! | `POST /_sim/callbacks`, `GET /_sim/callbacks/deliveries`, `DELETE /_sim/callbacks` | see `routes::callbacks` | signed completion callbacks |

use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use bytes::Bytes;
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::json;

use crate::auth::ClientRegistration;
use crate::faults::FaultRule;
use crate::fixtures::WorkflowFixture;
use crate::state::{AppState, Shared};
use crate::wire::{ApiError, json_response, query_map};

/// The routes of this module.
pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/_sim/health", get(health))
        .route("/_sim/journal", get(journal).delete(clear_journal))
        .route(
            "/_sim/faults",
            get(get_faults).put(put_faults).delete(clear_faults),
        )
        .route("/_sim/clients", post(add_client))
        .route("/_sim/access-keys", post(add_access_key))
        .route("/_sim/tokens/revoke", post(revoke_tokens))
        .route("/_sim/workflows", post(add_fixture::<WorkflowFixture>))
        .route("/_sim/clock/advance", post(advance_clock))
        .route("/_sim/stats", get(stats))
        .route("/_sim/contacts/synthetic", put(set_synthetic_contacts))
}

async fn set_synthetic_contacts(
    State(state): State<AppState>,
    uri: Uri,
    body: Bytes,
) -> Result<StatusCode, ApiError> {
    let set: crate::SyntheticContacts = parse(&body)?;
    state.with_tenant(&tenant_param(&uri), |t, _| t.contacts.set_synthetic(set));
    Ok(StatusCode::NO_CONTENT)
}

async fn stats(State(state): State<AppState>, uri: Uri) -> Response {
    json_response(
        StatusCode::OK,
        &json!(state.store_sizes(&tenant_param(&uri))),
    )
}

/// Parses an admin request body, answering 400 `invalid_payload`.
pub(crate) fn parse<T: DeserializeOwned>(body: &[u8]) -> Result<T, ApiError> {
    serde_json::from_slice(body).map_err(|err| {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "invalid_payload",
            format!("invalid body: {err}"),
        )
    })
}

async fn health(State(state): State<AppState>) -> Response {
    json_response(
        StatusCode::OK,
        &json!({ "status": "ok", "nowMs": state.clock.now_ms() }),
    )
}

async fn journal(State(state): State<AppState>, uri: Uri) -> Result<Response, ApiError> {
    let query = query_map(uri.query());
    let since = match query.get("since") {
        None => None,
        Some(raw) => Some(raw.trim().parse::<u64>().map_err(|_| {
            ApiError::new(
                StatusCode::BAD_REQUEST,
                "invalid_parameter",
                format!("since must be a sequence number, got {raw:?}"),
            )
        })?),
    };
    Ok(json_response(
        StatusCode::OK,
        &state.journal.snapshot(since),
    ))
}

async fn clear_journal(State(state): State<AppState>) -> StatusCode {
    state.journal.clear();
    StatusCode::NO_CONTENT
}

async fn get_faults(State(state): State<AppState>) -> Response {
    json_response(StatusCode::OK, &state.faults.rules())
}

async fn put_faults(State(state): State<AppState>, body: Bytes) -> Result<StatusCode, ApiError> {
    let rules: Vec<FaultRule> = parse(&body)?;
    for (i, rule) in rules.iter().enumerate() {
        rule.validate().map_err(|msg| {
            ApiError::new(
                StatusCode::BAD_REQUEST,
                "invalid_payload",
                format!("rule {i}: {msg}"),
            )
        })?;
    }
    tracing::info!(rules = rules.len(), "fault rules replaced");
    state.faults.replace(rules);
    Ok(StatusCode::NO_CONTENT)
}

async fn clear_faults(State(state): State<AppState>) -> StatusCode {
    state.faults.replace(Vec::new());
    StatusCode::NO_CONTENT
}

/// [`parse`], then 400 `invalid_payload` when the body's `field` (which
/// `id` reads) is empty.
pub(crate) fn parse_named<T: DeserializeOwned>(
    body: &[u8],
    field: &str,
    id: impl Fn(&T) -> &str,
) -> Result<T, ApiError> {
    let value: T = parse(body)?;
    if id(&value).is_empty() {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "invalid_payload",
            format!("{field} must not be empty"),
        ));
    }
    Ok(value)
}

async fn add_access_key(
    State(state): State<AppState>,
    body: Bytes,
) -> Result<StatusCode, ApiError> {
    let key = parse_named(&body, "accessKeyId", |k: &crate::AccessKey| {
        &k.access_key_id
    })?;
    state.access_keys.register(key);
    Ok(StatusCode::NO_CONTENT)
}

async fn add_client(State(state): State<AppState>, body: Bytes) -> Result<StatusCode, ApiError> {
    let client = parse_named(&body, "clientId", |c: &ClientRegistration| &c.client_id)?;
    state.clients.register(client);
    Ok(StatusCode::NO_CONTENT)
}

async fn revoke_tokens(State(state): State<AppState>) -> StatusCode {
    state.revoke_tokens();
    StatusCode::NO_CONTENT
}

/// A fixture the admin API adds to (or replaces in) one tenant: `POST
/// /_sim/workflows?tenant=`, `POST /_sim/dataactions?tenant=`.
pub(crate) trait TenantFixture: DeserializeOwned {
    /// The fixture's `id` (400 `invalid_payload` when empty).
    fn id(&self) -> &str;
    /// Adds or replaces it in `tenant`.
    fn add(self, state: &Shared, tenant: &str);
}

impl TenantFixture for WorkflowFixture {
    fn id(&self) -> &str {
        &self.id
    }

    fn add(self, state: &Shared, tenant: &str) {
        state.add_workflow(tenant, self);
    }
}

/// The handler of a [`TenantFixture`]'s route: 204 once the body's fixture
/// is in the tenant of `?tenant=` ([`tenant_param`]); 400 for a body that
/// does not parse or has an empty `id`.
pub(crate) async fn add_fixture<T: TenantFixture>(
    State(state): State<AppState>,
    uri: Uri,
    body: Bytes,
) -> Result<StatusCode, ApiError> {
    parse_named(&body, "id", T::id)?.add(&state, &tenant_param(&uri));
    Ok(StatusCode::NO_CONTENT)
}

/// The `tenant` query parameter, [`crate::DEFAULT_TENANT`] when absent or empty.
pub(crate) fn tenant_param(uri: &Uri) -> String {
    query_map(uri.query())
        .remove("tenant")
        .filter(|t| !t.is_empty())
        .unwrap_or_else(|| crate::DEFAULT_TENANT.to_owned())
}

#[derive(Deserialize)]
struct Advance {
    ms: u64,
}

async fn advance_clock(State(state): State<AppState>, body: Bytes) -> Response {
    match parse::<Advance>(&body) {
        Ok(a) => {
            state.clock.advance(Duration::from_millis(a.ms));
            json_response(StatusCode::OK, &json!({ "nowMs": state.clock.now_ms() }))
        }
        Err(e) => e.into_response(),
    }
}
