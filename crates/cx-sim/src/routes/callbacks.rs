//! The admin routes of signed instance-completion callbacks (the state,
//! dispatcher and signing are in `crate::callbacks`).
//!
//! | route | body | answer |
//! |---|---|---|
//! | `POST /_sim/callbacks` | `{"url": "http://host:port/path", "secret": "...", "tenant"?: "tenant-default"}` | 201 `{"id"}`; 400 on a URL that is not `http://` |
//! | `GET /_sim/callbacks/deliveries` | | 200 `[{"callbackId", "instanceId", "attempt", "status", "error", "delivered"}]`, one per attempt |
//! | `DELETE /_sim/callbacks` | | 204: no more deliveries |

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use bytes::Bytes;
use serde::Deserialize;
use serde_json::json;

use crate::routes::admin::parse;
use crate::state::AppState;
use crate::wire::{ApiError, json_response};

/// The routes of this module.
pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/_sim/callbacks", post(register).delete(clear))
        .route("/_sim/callbacks/deliveries", get(deliveries))
}

#[derive(Deserialize)]
struct Registration {
    url: String,
    secret: String,
    #[serde(default)]
    tenant: Option<String>,
}

async fn register(State(state): State<AppState>, body: Bytes) -> Result<Response, ApiError> {
    let reg: Registration = parse(&body)?;
    let tenant = reg.tenant.as_deref().unwrap_or(crate::DEFAULT_TENANT);
    let id = state
        .register_callback(&reg.url, &reg.secret, tenant)
        .ok_or_else(|| {
            ApiError::new(
                StatusCode::BAD_REQUEST,
                "invalid_payload",
                "url must be http://host[:port]/path",
            )
        })?;
    Ok(json_response(StatusCode::CREATED, &json!({ "id": id })))
}

async fn clear(State(state): State<AppState>) -> Response {
    state.callbacks.clear();
    StatusCode::NO_CONTENT.into_response()
}

async fn deliveries(State(state): State<AppState>) -> Response {
    json_response(StatusCode::OK, &state.callbacks.attempts())
}
