//! The HTTP routes, one module per resource family. Each module exposes a
//! `routes()` function returning a `Router<AppState>` that
//! [`router`] merges; a new family (agents, history, data actions) is a new
//! module plus one `.merge(...)` line here, and its scopes go in
//! [`crate::scopes`].

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::http::{HeaderMap, Method, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use bytes::Bytes;

use crate::auth::token_endpoint;
use crate::oidc;
use crate::state::AppState;
use crate::wire::ApiError;

pub(crate) mod admin;
pub(crate) mod agent_sessions;
pub(crate) mod agents;
pub(crate) mod audit;
pub(crate) mod callbacks;
mod common;
pub(crate) mod contacts;
pub(crate) mod dataactions;
pub(crate) mod extraction;
pub(crate) mod history;
pub(crate) mod incontact;
pub(crate) mod instances;
pub(crate) mod scripts;
pub(crate) mod workflows;

/// Every route: token endpoints, the API, and the `/_sim/` admin API.
pub(crate) fn router(state: AppState) -> Router {
    Router::new()
        .route("/oauth/token", post(token_endpoint))
        .route("/v1/oauth2/token", post(token_endpoint))
        .route("/auth/token", post(token_endpoint))
        .route(
            "/authentication/v1/token/access-key",
            post(crate::auth::access_key_endpoint),
        )
        .route(
            "/.well-known/openid-configuration",
            get(oidc::openid_configuration),
        )
        .route("/auth/jwks", get(oidc::jwks))
        .route(
            "/.well-known/cxone-configuration",
            get(oidc::cxone_configuration),
        )
        .merge(workflows::routes())
        .merge(instances::routes())
        .merge(audit::routes())
        .merge(agents::routes())
        .merge(dataactions::routes())
        .merge(history::routes())
        .merge(admin::routes())
        .merge(callbacks::routes())
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .with_state(state)
}

/// Routes matched by hand (CXone paths are case-insensitive and carry any
/// `vNN.0`), else 404.
async fn not_found(
    State(state): State<AppState>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let incoming = incontact::Incoming {
        state: &state,
        method: &method,
        uri: &uri,
        headers: &headers,
        body: &body,
    };
    if let Some(resp) = oidc::business_unit(&state, &method, &uri, &headers)
        .or_else(|| incontact::dispatch(&incoming))
        .or_else(|| extraction::dispatch(&incoming))
        .or_else(|| contacts::dispatch(&incoming))
        .or_else(|| scripts::dispatch(&incoming))
    {
        return resp;
    }
    agent_sessions::dispatch(&incoming)
        .await
        .unwrap_or_else(|| ApiError::not_found("no such route").into_response())
}

async fn method_not_allowed() -> Response {
    ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
        "method not allowed on this route",
    )
    .into_response()
}
