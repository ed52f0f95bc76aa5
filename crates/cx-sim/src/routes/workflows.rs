//! Workflows and executions (seed 000).
//!
//! - `GET /api/v2/workflows/{id}` (`expand=inputVariables` accepted; the
//!   variables are always included) → `{id, name, status, inputVariables:
//!   [{name, type}], contextVariables: [{name, type}],
//!   maxConcurrentInstances}`. Scope: `workflow.read` | `workflow:read`.
//! - `POST /api/v2/workflows/{id}/executions` with `{input, context?,
//!   priority?: LOW|NORMAL|HIGH}` → 201 `{id: "exec_<uuid>", workflowId,
//!   status: "PENDING", priority, startedAt}`; 409 `workflow_not_deployable`
//!   unless ACTIVE/DEPLOYED; 400 `invalid_payload` with `details` for unknown
//!   input keys, wrong JSON types or a bad priority. `Idempotency-Key`
//!   replays the first response. Scope: `workflow.execute` | `workflow:write`.
//! - `GET /api/v2/workflows/{id}/executions/{executionId}` → `{id,
//!   workflowId, status, priority, startedAt, completedAt?, output?,
//!   errors?: [{code, message}]}`.
//! - `GET /api/v2/workflows/{id}/executions?status=running&pageSize=` →
//!   `{totalCount, items}`; `running` counts PENDING and RUNNING.
//!
//! Lifecycle (sim time): PENDING for `min(50 ms, duration / 5)`, RUNNING
//! until `startedAt + duration`, then COMPLETED or FAILED per the workflow's
//! outcome (`completedAt = startedAt + duration`); a stuck workflow stays
//! RUNNING.

use axum::Router;
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::Response;
use axum::routing::get;
use bytes::Bytes;
use serde::Serialize;
use serde_json::{Map, Value, json};

use crate::clock::Clock;
use crate::routes::common::{Api, check_variables, first_page, object_field, validated};
use crate::scopes::Permission;
use crate::state::{AppState, TenantState};
use crate::wire::{ApiError, FieldError, json_object, json_response, page_size, query_map};
use crate::workflows::{Execution, Workflow};

/// Longest PENDING phase, in ms.
const MAX_PENDING_MS: u64 = 50;

/// The routes of this module.
pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/v2/workflows/{id}", get(get_workflow))
        .route(
            "/api/v2/workflows/{id}/executions",
            get(list_executions).post(create_execution),
        )
        .route(
            "/api/v2/workflows/{id}/executions/{execution_id}",
            get(get_execution),
        )
}

/// The body of `GET /api/v2/workflows/{id}`, serialized straight from the
/// workflow (a hot route: no JSON tree). Fields are in the order the
/// simulator always answered them (alphabetical).
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct WorkflowBody<'w> {
    context_variables: Variables<'w>,
    id: &'w str,
    input_variables: Variables<'w>,
    max_concurrent_instances: u32,
    name: &'w str,
    status: &'w str,
}

/// Declared variables as `[{name, type}]`.
struct Variables<'w>(&'w [(String, String)]);

impl Serialize for Variables<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        #[derive(Serialize)]
        struct Variable<'v> {
            name: &'v str,
            #[serde(rename = "type")]
            ty: &'v str,
        }
        s.collect_seq(self.0.iter().map(|(name, ty)| Variable { name, ty }))
    }
}

/// 404 for an unknown workflow.
pub(crate) fn unknown_workflow(id: &str) -> ApiError {
    ApiError::not_found(format!("workflow {id} not found"))
}

/// The workflow `id` of tenant `t`, when it accepts executions and
/// instances: 404 when unknown, 409 when not ACTIVE or DEPLOYED.
pub(crate) fn runnable_workflow<'t>(
    t: &'t TenantState,
    id: &str,
) -> Result<&'t Workflow, ApiError> {
    let wf = t.workflows.get(id).ok_or_else(|| unknown_workflow(id))?;
    if !wf.is_runnable() {
        return Err(not_deployable(wf));
    }
    Ok(wf)
}

/// 409 for a workflow that is not ACTIVE or DEPLOYED.
fn not_deployable(wf: &Workflow) -> ApiError {
    ApiError::new(
        StatusCode::CONFLICT,
        "workflow_not_deployable",
        format!(
            "workflow {} is not deployable. Current status: {}",
            wf.fixture.id, wf.fixture.status
        ),
    )
    .field("status", json!(wf.fixture.status))
}

async fn get_workflow(api: Api<String>) -> Result<Response, ApiError> {
    let id = api.require(Permission::WorkflowRead)?;
    api.tenant(|t, _| {
        let wf = t.workflows.get(&id).ok_or_else(|| unknown_workflow(&id))?;
        let fixture = &wf.fixture;
        Ok(json_response(
            StatusCode::OK,
            &WorkflowBody {
                context_variables: Variables(&fixture.context_variables),
                id: &fixture.id,
                input_variables: Variables(&fixture.input_variables),
                max_concurrent_instances: wf.max_concurrent_instances,
                name: &fixture.name,
                status: &fixture.status,
            },
        ))
    })
}

/// A validated execution request.
struct ExecutionRequest {
    input: Map<String, Value>,
    context: Option<Map<String, Value>>,
    priority: String,
}

fn validate_execution(
    body: &Map<String, Value>,
    wf: &Workflow,
) -> Result<ExecutionRequest, ApiError> {
    validated(|errors| {
        if body.get("input").is_none_or(Value::is_null) {
            errors.push(FieldError::new("input", "required", "input is required"));
        }
        let input = object_field(body, "input", "an object", errors)
            .cloned()
            .unwrap_or_default();
        check_variables(
            &input,
            "input",
            "an input",
            &wf.fixture.input_variables,
            &wf.fixture.id,
            errors,
        );
        let context = object_field(body, "context", "an object", errors).cloned();
        let priority = match body.get("priority") {
            None | Some(Value::Null) => "NORMAL".to_owned(),
            Some(Value::String(p)) if matches!(p.as_str(), "LOW" | "NORMAL" | "HIGH") => p.clone(),
            Some(other) => {
                errors.push(FieldError::new(
                    "priority",
                    "enum",
                    format!("must be one of LOW, NORMAL, HIGH; got {other}"),
                ));
                String::new()
            }
        };
        ExecutionRequest {
            input,
            context,
            priority,
        }
    })
}

async fn create_execution(
    api: Api<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let workflow_id = api.require(Permission::ExecutionCreate)?;
    let body = json_object(&body)?;
    let route = format!("POST /api/v2/workflows/{workflow_id}/executions");
    let Api { state, caller, .. } = &api;
    api.create(&route, &headers, |t, now| {
        let wf = runnable_workflow(t, &workflow_id)?;
        let req = validate_execution(&body, wf)?;
        let duration_ms = wf.duration_ms;
        let exec = Execution {
            id: format!("exec_{}", uuid::Uuid::new_v4()),
            workflow_id: workflow_id.clone(),
            priority: req.priority,
            input: req.input,
            context: req.context,
            started_ms: now,
            pending_ms: (duration_ms / 5).min(MAX_PENDING_MS),
            duration_ms,
            outcome: wf.fixture.outcome.clone(),
            client_id: caller.client_id.to_string(),
            finished: None,
        };
        let response = json!({
            "id": exec.id,
            "workflowId": exec.workflow_id,
            "status": "PENDING",
            "priority": exec.priority,
            "startedAt": state.clock.rfc3339(now),
        });
        let location = format!("/api/v2/workflows/{workflow_id}/executions/{}", exec.id);
        tracing::debug!(tenant = %caller.tenant, execution = %exec.id, "execution created");
        t.insert_execution(exec, &state.clock);
        Ok((response, location))
    })
}

/// The JSON view of an execution at sim time `now`.
fn execution_json(e: &Execution, now: u64, clock: &Clock) -> Value {
    let mut m = Map::new();
    m.insert("id".into(), json!(e.id));
    m.insert("workflowId".into(), json!(e.workflow_id));
    m.insert("status".into(), json!(e.status(now)));
    m.insert("priority".into(), json!(e.priority));
    m.insert("startedAt".into(), json!(clock.rfc3339(e.started_ms)));
    if let Some(context) = &e.context {
        m.insert("context".into(), Value::Object(context.clone()));
    }
    if let Some(f) = &e.finished {
        f.write_into(&mut m, clock, e.started_ms, e.duration_ms);
    }
    Value::Object(m)
}

async fn get_execution(api: Api<(String, String)>) -> Result<Response, ApiError> {
    let (workflow_id, execution_id) = api.require(Permission::WorkflowRead)?;
    api.read(|t, now| {
        let exec = t
            .execution(&execution_id)
            .filter(|e| e.workflow_id == workflow_id)
            .ok_or_else(|| {
                ApiError::not_found(format!(
                    "execution {execution_id} of workflow {workflow_id} not found"
                ))
            })?;
        Ok(execution_json(exec, now, &api.state.clock))
    })
}

/// Parses a `status` filter for executions: `running` (PENDING + RUNNING),
/// `pending`, `completed`, `failed`, `cancelled`; case-insensitive.
fn execution_status_filter(raw: Option<&String>) -> Result<Option<Vec<&'static str>>, ApiError> {
    let Some(raw) = raw.map(|s| s.trim()).filter(|s| !s.is_empty()) else {
        return Ok(None);
    };
    let statuses: &[&'static str] = match raw.to_ascii_lowercase().as_str() {
        "running" => &["PENDING", "RUNNING"],
        "pending" => &["PENDING"],
        "completed" => &["COMPLETED"],
        "failed" => &["FAILED"],
        "cancelled" | "canceled" => &["CANCELLED"],
        _ => {
            return Err(ApiError::invalid_parameter(vec![FieldError::new(
                "status",
                "enum",
                format!(
                    "must be one of running, pending, completed, failed, cancelled; got {raw:?}"
                ),
            )]));
        }
    };
    Ok(Some(statuses.to_vec()))
}

async fn list_executions(api: Api<String>, uri: Uri) -> Result<Response, ApiError> {
    let workflow_id = api.require(Permission::WorkflowRead)?;
    let query = query_map(uri.query());
    let filter = execution_status_filter(query.get("status"))?;
    let limit = page_size(&query, 100, 1000)?;
    api.read(|t, now| {
        if !t.workflows.contains_key(&workflow_id) {
            return Err(unknown_workflow(&workflow_id));
        }
        let matching = t.executions.iter().filter(|e| {
            e.workflow_id == workflow_id
                && filter.as_ref().is_none_or(|f| f.contains(&e.status(now)))
        });
        Ok(first_page(matching, limit, |e| {
            execution_json(e, now, &api.state.clock)
        }))
    })
}
