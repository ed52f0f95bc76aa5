//! What the create handlers (`POST` executions, instances, data-action
//! jobs) share: answering a repeated `Idempotency-Key` with the stored body,
//! and remembering the body of a new resource under the key.

use axum::response::Response;
use serde_json::Value;

use crate::state::TenantState;
use crate::wire::{ApiError, created, replayed};

/// Create a resource on `route` idempotently, under the caller's tenant lock.
///
/// With a `key` already seen on `route`, answers 201 with the stored body
/// (`Idempotent-Replayed: true`) and does not call `create`. Otherwise
/// `create` validates and inserts the resource and returns its JSON body and
/// `Location`; the body is remembered under `key` (when one was sent) and
/// answered 201.
pub(crate) fn idempotent_create(
    t: &mut TenantState,
    route: &str,
    key: Option<&str>,
    create: impl FnOnce(&mut TenantState) -> Result<(Value, String), ApiError>,
) -> Result<Response, ApiError> {
    if let Some(stored) = key.and_then(|k| t.idempotent(route, k)) {
        return Ok(replayed(&stored.body));
    }
    let (response, location) = create(t)?;
    if let Some(key) = key {
        t.remember(route, key, response.clone());
    }
    Ok(created(&response, &location))
}
