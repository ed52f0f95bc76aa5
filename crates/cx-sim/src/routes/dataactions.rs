//! Data actions and jobs (seed 004).
//!
//! - `GET /api/v2/dataactions/{id}` → `{id, name, status, latestVersion,
//!   versions: [{versionId, requiredParameters}]}`. Scope: `dataactions:read`.
//! - `POST /api/v2/dataactions/{id}/execute` with `{versionId,
//!   inputParameters, environmentContext?, executionTimeoutMs?}` → 201
//!   `{jobId: "JOB-<uuid>", status: "QUEUED", createdAt}`; 400
//!   `invalid_payload` with `details` for an unknown version, a missing
//!   required parameter, a non-string context value or a timeout outside
//!   1000..=60000 ms (default 30000). `Idempotency-Key` replays the first
//!   response (no second job). Scope: `dataactions:execute`.
//! - `GET /api/v2/dataactions/{id}/jobs/{jobId}` → `{jobId, actionId,
//!   versionId, status: QUEUED|RUNNING|COMPLETED|FAILED|TIMED_OUT,
//!   createdAt, startedAt?, completedAt?, output?, errorDetail?}`. Scope:
//!   `jobs:read`.
//! - `GET /api/v2/dataactions/{id}/jobs` → `{totalCount, items}` (every
//!   job of the action, oldest first). Scope: `jobs:read`.
//!
//! No `Retry-After` on a pending job: the seed does not describe one.
//!
//! Admin (no auth, not journaled): `POST /_sim/dataactions?tenant=` with a
//! [`crate::DataActionFixture`] adds or replaces an action;
//! `POST /_sim/webhooks/{name}` records any JSON body (an external workflow
//! engine for seed 004 step 5's webhook) and `GET /_sim/webhooks/{name}`
//! lists what arrived.

use axum::Router;
use axum::extract::rejection::PathRejection;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::routing::{get, post};
use bytes::Bytes;
use serde_json::{Map, Value, json};

use crate::clock::duration_ms;
use crate::dataactions::{DataActionFixture, Job};
use crate::routes::admin::{TenantFixture, add_fixture, parse};
use crate::routes::common::{Api, json_type, object_field, validated};
use crate::scopes::Permission;
use crate::state::{AppState, Shared};
use crate::wire::{ApiError, FieldError, json_object, json_response, path_param};

/// Bounds of `executionTimeoutMs` (seed 004 step 1) and its default.
const TIMEOUT_MS: std::ops::RangeInclusive<u64> = 1000..=60_000;
const DEFAULT_TIMEOUT_MS: u64 = 30_000;

/// The routes of this module.
pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/v2/dataactions/{id}", get(get_action))
        .route("/api/v2/dataactions/{id}/execute", post(execute))
        .route("/api/v2/dataactions/{id}/jobs", get(list_jobs))
        .route("/api/v2/dataactions/{id}/jobs/{job_id}", get(get_job))
        .route("/_sim/dataactions", post(add_fixture::<DataActionFixture>))
        .route("/_sim/webhooks/{name}", post(receive_hook).get(list_hooks))
}

fn unknown_action(id: &str) -> ApiError {
    ApiError::not_found(format!("data action {id} not found"))
}

async fn get_action(api: Api<String>) -> Result<Response, ApiError> {
    let id = api.require(Permission::DataActionRead)?;
    api.read(|t, _| {
        let action = t.data_actions.actions.get(&id);
        Ok(action.ok_or_else(|| unknown_action(&id))?.definition_json())
    })
}

/// A validated execute request.
struct ExecuteRequest {
    version_id: String,
    input: Map<String, Value>,
    timeout_ms: u64,
}

fn validate_execute(
    body: &Map<String, Value>,
    action: &DataActionFixture,
) -> Result<ExecuteRequest, ApiError> {
    validated(|errors| {
        let version = match body.get("versionId") {
            Some(Value::String(v)) => {
                let found = action.versions.iter().find(|x| &x.version_id == v);
                if found.is_none() {
                    let known: Vec<&str> = action
                        .versions
                        .iter()
                        .map(|x| x.version_id.as_str())
                        .collect();
                    errors.push(FieldError::new(
                        "versionId",
                        "unknown_version",
                        format!(
                            "{v} is not a version of data action {}; known: {}",
                            action.id,
                            known.join(", ")
                        ),
                    ));
                }
                found
            }
            _ => {
                errors.push(FieldError::new(
                    "versionId",
                    "required",
                    "versionId is required",
                ));
                None
            }
        };
        let input = object_field(body, "inputParameters", "an object", errors)
            .cloned()
            .unwrap_or_default();
        for name in version.iter().flat_map(|v| &v.required_parameters) {
            if input.get(name).is_none_or(Value::is_null) {
                errors.push(FieldError::new(
                    format!("inputParameters.{name}"),
                    "required",
                    format!("{name} is required by this version"),
                ));
            }
        }
        let context = object_field(body, "environmentContext", "an object", errors);
        for (k, v) in context
            .iter()
            .flat_map(|m| m.iter())
            .filter(|(_, v)| !v.is_string())
        {
            errors.push(FieldError::new(
                format!("environmentContext.{k}"),
                "type_mismatch",
                format!("expected a string, got {}", json_type(v)),
            ));
        }
        let timeout_ms = match body.get("executionTimeoutMs") {
            None | Some(Value::Null) => DEFAULT_TIMEOUT_MS,
            Some(v) => match v.as_u64().filter(|t| TIMEOUT_MS.contains(t)) {
                Some(t) => t,
                None => {
                    errors.push(FieldError::new(
                        "executionTimeoutMs",
                        "range",
                        format!("must be an integer within 1000..=60000, got {v}"),
                    ));
                    0
                }
            },
        };
        // An unknown or missing version is an error pushed above.
        ExecuteRequest {
            version_id: version.map(|v| v.version_id.clone()).unwrap_or_default(),
            input,
            timeout_ms,
        }
    })
}

async fn execute(api: Api<String>, headers: HeaderMap, body: Bytes) -> Result<Response, ApiError> {
    let action_id = api.require(Permission::DataActionExecute)?;
    let body = json_object(&body)?;
    let route = format!("POST /api/v2/dataactions/{action_id}/execute");
    let Api { state, caller, .. } = &api;
    api.create(&route, &headers, |t, now| {
        let action = t
            .data_actions
            .actions
            .get(&action_id)
            .ok_or_else(|| unknown_action(&action_id))?;
        let req = validate_execute(&body, action)?;
        let job = Job {
            id: format!("JOB-{}", uuid::Uuid::new_v4()),
            action_id: action_id.clone(),
            version_id: req.version_id,
            input: req.input,
            created_ms: now,
            duration_ms: duration_ms(action.duration),
            timeout_ms: req.timeout_ms,
            outcome: action.outcome.clone(),
        };
        let response = json!({
            "jobId": job.id,
            "status": "QUEUED",
            "createdAt": state.clock.rfc3339(now),
        });
        let location = format!("/api/v2/dataactions/{action_id}/jobs/{}", job.id);
        tracing::debug!(tenant = %caller.tenant, job = %job.id, "data action job created");
        let retention = t.retention;
        t.data_actions.insert(job, &retention);
        Ok((response, location))
    })
}

async fn get_job(api: Api<(String, String)>) -> Result<Response, ApiError> {
    let (action_id, job_id) = api.require(Permission::JobRead)?;
    api.read(|t, now| {
        let job = t
            .data_actions
            .job(&job_id)
            .filter(|j| j.action_id == action_id)
            .ok_or_else(|| {
                ApiError::not_found(format!("job {job_id} of data action {action_id} not found"))
            })?;
        Ok(job.to_json(now, &api.state.clock))
    })
}

async fn list_jobs(api: Api<String>) -> Result<Response, ApiError> {
    let action_id = api.require(Permission::JobRead)?;
    api.read(|t, now| {
        if !t.data_actions.actions.contains_key(&action_id) {
            return Err(unknown_action(&action_id));
        }
        let items: Vec<Value> = t
            .data_actions
            .jobs
            .iter()
            .filter(|j| j.action_id == action_id)
            .map(|j| j.to_json(now, &api.state.clock))
            .collect();
        Ok(json!({ "totalCount": items.len(), "items": items }))
    })
}

impl TenantFixture for DataActionFixture {
    fn id(&self) -> &str {
        &self.id
    }

    fn add(self, state: &Shared, tenant: &str) {
        state.add_data_action(tenant, self);
    }
}

async fn receive_hook(
    State(state): State<AppState>,
    path: Result<Path<String>, PathRejection>,
    body: Bytes,
) -> Result<StatusCode, ApiError> {
    let name = path_param(path)?;
    let body: Value = parse(&body)?;
    state.webhooks.record(&name, body);
    Ok(StatusCode::NO_CONTENT)
}

async fn list_hooks(
    State(state): State<AppState>,
    path: Result<Path<String>, PathRejection>,
) -> Result<Response, ApiError> {
    let name = path_param(path)?;
    Ok(json_response(
        StatusCode::OK,
        &state.webhooks.received(&name),
    ))
}
