//! Workflow instances (seed 001).
//!
//! - `POST /api/v2/workflows/instances` with `{workflowId, priority: 1..=10
//!   (JSON integer, default 5), context: object, metadata?: object of
//!   strings}` → 201 `{id: "inst_<uuid>", workflowId, status: "RUNNING",
//!   priority, context, metadata, createdAt}`. 404 unknown workflow; 409
//!   `workflow_not_deployable`; 400 `invalid_payload` with `details` naming
//!   `workflowId`, `priority`, `context.<name>` or `metadata.<key>`; 429
//!   `concurrent_instance_limit` with `Retry-After: 1` (seconds) when the
//!   workflow already has `maxConcurrentInstances` running. `Idempotency-Key`
//!   replays the first response. Scope: `workflow:write` | `workflow.execute`.
//! - `GET /api/v2/workflows/instances?workflowId=&status=running&pageSize=`
//!   → `{totalCount, items}` (`pageSize` 1..=1000, default 25).
//! - `GET /api/v2/workflows/instances/{id}` → the instance, with
//!   `completedAt`, `output` or `errors` once finished.
//!   Reads need `workflow:read` | `workflow.read`.
//!
//! Instances run for the workflow's duration (sim time), then end COMPLETED
//! or FAILED per its outcome; stuck workflows keep them RUNNING (and keep
//! their slot in the concurrency limit).

use axum::Router;
use axum::http::{HeaderMap, StatusCode, Uri, header};
use axum::response::Response;
use axum::routing::get;
use bytes::Bytes;
use serde_json::{Map, Value, json};

use crate::clock::Clock;
use crate::routes::common::{Api, check_variables, first_page, json_type, object_field, validated};
use crate::routes::workflows::runnable_workflow;
use crate::scopes::Permission;
use crate::state::AppState;
use crate::wire::{ApiError, FieldError, json_object, page_size, query_map};
use crate::workflows::{Instance, Workflow};

/// Idempotency scope of instance creation.
const ROUTE: &str = "POST /api/v2/workflows/instances";

/// Priority used when a request omits it (seed 001's default).
const DEFAULT_PRIORITY: u8 = 5;

/// The routes of this module.
pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route(
            "/api/v2/workflows/instances",
            get(list_instances).post(create_instance),
        )
        .route("/api/v2/workflows/instances/{id}", get(get_instance))
}

struct InstanceRequest {
    priority: u8,
    context: Map<String, Value>,
    metadata: Map<String, Value>,
}

fn validate_instance(
    body: &Map<String, Value>,
    wf: &Workflow,
) -> Result<InstanceRequest, ApiError> {
    validated(|errors| {
        let priority = match body.get("priority") {
            None | Some(Value::Null) => DEFAULT_PRIORITY,
            Some(v) => match v.as_u64().and_then(|n| u8::try_from(n).ok()) {
                Some(n) if (1..=10).contains(&n) => n,
                _ => {
                    errors.push(FieldError::new(
                        "priority",
                        "range",
                        format!("must be an integer in 1..=10, got {v}"),
                    ));
                    DEFAULT_PRIORITY
                }
            },
        };
        let context = object_field(body, "context", "an object", errors)
            .cloned()
            .unwrap_or_default();
        check_variables(
            &context,
            "context",
            "a context",
            &wf.fixture.context_variables,
            &wf.fixture.id,
            errors,
        );
        let metadata = object_field(body, "metadata", "an object of strings", errors)
            .cloned()
            .unwrap_or_default();
        for (key, value) in &metadata {
            if !value.is_string() {
                errors.push(FieldError::new(
                    format!("metadata.{key}"),
                    "type_mismatch",
                    format!("expected string, got {}", json_type(value)),
                ));
            }
        }
        InstanceRequest {
            priority,
            context,
            metadata,
        }
    })
}

fn instance_json(i: &Instance, clock: &Clock) -> Value {
    let mut m = Map::new();
    m.insert("id".into(), json!(i.id));
    m.insert("workflowId".into(), json!(i.workflow_id));
    m.insert("status".into(), json!(i.status()));
    m.insert("priority".into(), json!(i.priority));
    m.insert("context".into(), Value::Object(i.context.clone()));
    m.insert("metadata".into(), Value::Object(i.metadata.clone()));
    m.insert("createdAt".into(), json!(clock.rfc3339(i.created_ms)));
    if let Some(f) = &i.finished {
        f.write_into(&mut m, clock, i.created_ms, i.duration_ms);
    }
    Value::Object(m)
}

async fn create_instance(api: Api, headers: HeaderMap, body: Bytes) -> Result<Response, ApiError> {
    api.require(Permission::InstanceCreate)?;
    let body = json_object(&body)?;
    let workflow_id = match body.get("workflowId") {
        Some(Value::String(id)) if !id.is_empty() => id.clone(),
        _ => {
            return Err(ApiError::invalid_payload(vec![FieldError::new(
                "workflowId",
                "required",
                "workflowId must be a non-empty string",
            )]));
        }
    };

    let Api { state, caller, .. } = &api;
    api.create(ROUTE, &headers, |t, now| {
        let wf = runnable_workflow(t, &workflow_id)?;
        let req = validate_instance(&body, wf)?;
        let limit = wf.max_concurrent_instances;
        let duration_ms = wf.duration_ms;
        let outcome = wf.fixture.outcome.clone();
        let running = t.running_instances(&workflow_id);
        if running >= limit {
            return Err(ApiError::new(
                StatusCode::TOO_MANY_REQUESTS,
                "concurrent_instance_limit",
                format!(
                    "workflow {workflow_id} has {running} running instances; the limit is {limit}"
                ),
            )
            .field("maxConcurrentInstances", json!(limit))
            .header(header::RETRY_AFTER, "1"));
        }
        let inst = Instance {
            id: format!("inst_{}", uuid::Uuid::new_v4()),
            workflow_id,
            priority: req.priority,
            context: req.context,
            metadata: req.metadata,
            created_ms: now,
            duration_ms,
            outcome,
            client_id: caller.client_id.to_string(),
            finished: None,
        };
        let response = instance_json(&inst, &state.clock);
        let location = format!("/api/v2/workflows/instances/{}", inst.id);
        tracing::debug!(tenant = %caller.tenant, instance = %inst.id, "instance created");
        t.insert_instance(inst, &state.clock);
        Ok((response, location))
    })
}

async fn get_instance(api: Api<String>) -> Result<Response, ApiError> {
    let id = api.require(Permission::InstanceRead)?;
    api.read(|t, _| {
        let inst = t
            .instance(&id)
            .ok_or_else(|| ApiError::not_found(format!("instance {id} not found")))?;
        Ok(instance_json(inst, &api.state.clock))
    })
}

async fn list_instances(api: Api, uri: Uri) -> Result<Response, ApiError> {
    api.require(Permission::InstanceRead)?;
    let query = query_map(uri.query());
    let limit = page_size(&query, 25, 1000)?;
    let status = match query.get("status").map(|s| s.trim().to_ascii_uppercase()) {
        None => None,
        Some(s) if s.is_empty() => None,
        Some(s) if matches!(s.as_str(), "RUNNING" | "COMPLETED" | "FAILED") => Some(s),
        Some(s) => {
            return Err(ApiError::invalid_parameter(vec![FieldError::new(
                "status",
                "enum",
                format!("must be one of running, completed, failed; got {s:?}"),
            )]));
        }
    };
    let workflow_id = query.get("workflowId").filter(|w| !w.is_empty());
    api.read(|t, _| {
        let matching = t.instances.iter().filter(|i| {
            workflow_id.is_none_or(|w| &i.workflow_id == w)
                && status.as_deref().is_none_or(|s| i.status() == s)
        });
        Ok(first_page(matching, limit, |inst| {
            instance_json(inst, &api.state.clock)
        }))
    })
}
