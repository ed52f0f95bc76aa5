//! Agent availability (seed 002).
//!
//! - `GET /api/v2/agents/{id}` → `{id, firstName, lastName, currentWorkMode:
//!   {id}, skills: [{skillId, level, concurrentInteractions}], version,
//!   updatedAt}` with an `ETag` header (`"agent-001-v1"`). Scope
//!   `agent:read`.
//! - `GET /api/v2/agents/{id}/skills?page=&pageSize=` → `{entities:
//!   [{skillId, skillName, maximumConcurrentInteractions}], totalCount,
//!   nextPageUri}`; `pageSize` 1..=100, default 2, so `agent-001`'s five
//!   skills take three pages. `nextPageUri` is base-relative and absent on
//!   the last page (unless the agent's page loop is switched on, when it
//!   points back at page 1). Scope `skill:read` | `agent:read`.
//! - `GET /api/v2/wfm/schedules/{agentId}` → `{agentId, shifts: [{shiftId,
//!   startTime, endTime, workModeId}]}` (RFC 3339, from the sim clock).
//!   Scope `wfm:read`.
//! - `PATCH /api/v2/agents/{id}/workmodes` with `{workModeId, skillLevels:
//!   [{skillId, level, concurrentInteractions}], reason?, metadata?}` → 200
//!   `{agentId, workModeId, skillLevels, reason, version, updatedAt}` and the
//!   new `ETag`. A present `If-Match` that does not match the current ETag →
//!   409 `etag_mismatch` (nothing written); no `If-Match` writes
//!   unconditionally. A skill outside the agent's catalogue → 400
//!   `invalid_payload` naming `skillLevels[i].skillId`. Every accepted write bumps the version and is kept in
//!   the agent's write history (the newest 4 × `Retention::max_finished`;
//!   `seq` counts every write). Scope `agent:write`.
//! - `POST /api/v2/events/publish` with `{eventType, data}` → 202 `{eventId,
//!   eventType, receivedAt}`; `Idempotency-Key` replays the first answer
//!   (kept like other stored responses). The newest 4 ×
//!   `Retention::max_finished` events are kept.
//!   Scope `events:publish`.
//!
//! Admin (no auth, not journaled; `tenant` defaults to `tenant-default`):
//!
//! | route | answer |
//! |---|---|
//! | `GET /_sim/agents/{id}/writes?tenant=` | 200 `[{seq, version, etag, ifMatch, workModeId, skillLevels, reason, metadata, clientId, atMs}]` |
//! | `PUT /_sim/agents/{id}/skills-loop?tenant=` with `{"enabled": bool, "nextOrigin"?: "http://host:port"}` | 204 (`nextOrigin` makes `nextPageUri` absolute on that origin) |
//! | `GET /_sim/events?tenant=` | 200 `[{eventId, eventType, data, clientId, receivedAt}]` |

use axum::Router;
use axum::extract::rejection::PathRejection;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, Uri, header};
use axum::response::Response;
use axum::routing::{get, patch, post, put};
use bytes::Bytes;
use serde_json::{Map, Value, json};

use crate::agents::{Agent, AgentStore, object};
use crate::retention::trim_log;
use crate::routes::admin::tenant_param;
use crate::routes::common::{Api, validated};
use crate::scopes::Permission;
use crate::state::{AppState, Shared};
use crate::wire::{
    ApiError, FieldError, header_lossy, idempotency_key, json_object, json_response, page_size,
    path_param, query_map,
};

/// The route idempotency keys of published events are stored under.
const EVENTS_ROUTE: &str = "POST /api/v2/events/publish";

/// The routes of this module.
pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/v2/agents/{id}", get(get_agent))
        .route("/api/v2/agents/{id}/skills", get(get_skills))
        .route("/api/v2/agents/{id}/workmodes", patch(patch_workmodes))
        .route("/api/v2/wfm/schedules/{id}", get(get_schedule))
        .route("/api/v2/events/publish", post(publish_event))
        .route("/_sim/agents/{id}/writes", get(admin_writes))
        .route("/_sim/agents/{id}/skills-loop", put(admin_skills_loop))
        .route("/_sim/events", get(admin_events))
}

/// Runs `f` on the agent store of `tenant` (lock held only for `f`).
fn with_store<T>(state: &Shared, tenant: &str, f: impl FnOnce(&mut AgentStore) -> T) -> T {
    state.with_tenant(tenant, |t, _| f(&mut t.agents))
}

/// Runs `f` on agent `id`, or answers 404.
fn with_agent<T>(
    state: &Shared,
    tenant: &str,
    id: &str,
    f: impl FnOnce(&mut Agent) -> Result<T, ApiError>,
) -> Result<T, ApiError> {
    with_store(state, tenant, |s| match s.agents.get_mut(id) {
        Some(a) => f(a),
        None => Err(ApiError::not_found(format!("agent {id} not found"))),
    })
}

fn with_etag(mut resp: Response, etag: &str) -> Response {
    if let Ok(v) = HeaderValue::from_str(etag) {
        resp.headers_mut().insert(header::ETAG, v);
    }
    resp
}

async fn get_agent(api: Api<String>) -> Result<Response, ApiError> {
    let id = api.require(Permission::AgentRead)?;
    let (body, etag) = with_agent(&api.state, &api.caller.tenant, &id, |a| {
        let body = object([
            ("id", json!(a.id)),
            ("firstName", json!(a.first_name)),
            ("lastName", json!(a.last_name)),
            ("currentWorkMode", json!({ "id": a.work_mode_id })),
            ("skills", Value::Array(a.skill_levels.clone())),
            ("version", json!(a.version)),
            ("updatedAt", json!(api.state.clock.rfc3339(a.updated_ms))),
        ]);
        Ok((body, a.etag()))
    })?;
    Ok(with_etag(json_response(StatusCode::OK, &body), &etag))
}

async fn get_skills(api: Api<String>, uri: Uri) -> Result<Response, ApiError> {
    let id = api.require(Permission::SkillRead)?;
    let query = query_map(uri.query());
    let size = page_size(&query, 2, 100)?;
    let page = match query.get("page") {
        None => 1,
        Some(raw) => match raw.trim().parse::<usize>() {
            Ok(n) if n >= 1 => n,
            _ => {
                return Err(ApiError::invalid_parameter(vec![FieldError::new(
                    "page",
                    "range",
                    format!("must be an integer >= 1, got {raw:?}"),
                )]));
            }
        },
    };
    let body = with_agent(&api.state, &api.caller.tenant, &id, |a| {
        let total = a.catalogue.len();
        let start = (page - 1).saturating_mul(size);
        let entities: Vec<Value> = a
            .catalogue
            .iter()
            .skip(start)
            .take(size)
            .map(|s| {
                json!({
                    "skillId": s.skill_id,
                    "skillName": s.skill_name,
                    "maximumConcurrentInteractions": s.max_concurrent,
                })
            })
            .collect();
        let next_page = if start.saturating_add(size) < total {
            Some(page + 1)
        } else if a.skills_page_loop {
            Some(1)
        } else {
            None
        };
        let mut body = Map::new();
        body.insert("entities".into(), Value::Array(entities));
        body.insert("totalCount".into(), json!(total));
        if let Some(n) = next_page {
            body.insert(
                "nextPageUri".into(),
                json!(format!(
                    "{}/api/v2/agents/{id}/skills?page={n}&pageSize={size}",
                    a.skills_next_origin.as_deref().unwrap_or_default()
                )),
            );
        }
        Ok(Value::Object(body))
    })?;
    Ok(json_response(StatusCode::OK, &body))
}

async fn get_schedule(api: Api<String>) -> Result<Response, ApiError> {
    let id = api.require(Permission::WfmRead)?;
    let origin = api.state.clock.wall(0);
    let at = |offset_ms: i64| {
        (origin + chrono::Duration::milliseconds(offset_ms))
            .to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
    };
    let body = with_agent(&api.state, &api.caller.tenant, &id, |a| {
        let shifts: Vec<Value> = a
            .shifts
            .iter()
            .map(|s| {
                json!({
                    "shiftId": s.shift_id,
                    "startTime": at(s.start_ms),
                    "endTime": at(s.end_ms),
                    "workModeId": s.work_mode_id,
                })
            })
            .collect();
        Ok(json!({ "agentId": a.id, "shifts": shifts }))
    })?;
    Ok(json_response(StatusCode::OK, &body))
}

/// The fields of a work-mode PATCH, checked.
struct WorkModeWrite {
    work_mode_id: String,
    skill_levels: Vec<Value>,
    reason: Value,
    metadata: Value,
}

fn non_negative_int(v: Option<&Value>) -> bool {
    v.and_then(Value::as_u64).is_some()
}

fn parse_write(body: &Map<String, Value>) -> Result<WorkModeWrite, ApiError> {
    validated(|errors| {
        let work_mode_id = match body.get("workModeId") {
            Some(Value::String(s)) if !s.trim().is_empty() => s.clone(),
            _ => {
                errors.push(FieldError::new(
                    "workModeId",
                    "required",
                    "workModeId must be a non-empty string",
                ));
                String::new()
            }
        };
        let skill_levels = match body.get("skillLevels") {
            None | Some(Value::Null) => Vec::new(),
            Some(Value::Array(items)) => {
                for (i, item) in items.iter().enumerate() {
                    let ok_id =
                        matches!(item.get("skillId"), Some(Value::String(s)) if !s.is_empty());
                    if !ok_id {
                        errors.push(FieldError::new(
                            format!("skillLevels[{i}].skillId"),
                            "required",
                            "skillId must be a non-empty string",
                        ));
                    }
                    for field in ["level", "concurrentInteractions"] {
                        if !non_negative_int(item.get(field)) {
                            errors.push(FieldError::new(
                                format!("skillLevels[{i}].{field}"),
                                "type_mismatch",
                                format!("{field} must be a non-negative integer"),
                            ));
                        }
                    }
                }
                items.clone()
            }
            Some(_) => {
                errors.push(FieldError::new(
                    "skillLevels",
                    "type_mismatch",
                    "skillLevels must be an array",
                ));
                Vec::new()
            }
        };
        WorkModeWrite {
            work_mode_id,
            skill_levels,
            reason: body.get("reason").cloned().unwrap_or(Value::Null),
            metadata: body.get("metadata").cloned().unwrap_or(Value::Null),
        }
    })
}

async fn patch_workmodes(
    api: Api<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let id = api.require(Permission::AgentWrite)?;
    let write = parse_write(&json_object(&body)?)?;
    let if_match = header_lossy(&headers, &header::IF_MATCH);
    let now = api.state.clock.now_ms();
    let kept = api.state.settings.retention.max_audit_entries();
    let (body, etag) = with_agent(&api.state, &api.caller.tenant, &id, |a| {
        if let Some(tag) = &if_match
            && !a.matches(tag)
        {
            return Err(ApiError::new(
                StatusCode::CONFLICT,
                "etag_mismatch",
                format!("If-Match {tag} does not match the agent's current version; read it again"),
            ));
        }
        let unknown: Vec<FieldError> = write
            .skill_levels
            .iter()
            .enumerate()
            .filter_map(|(i, level)| {
                let id = level
                    .get("skillId")
                    .and_then(Value::as_str)
                    .unwrap_or_default();
                (!a.catalogue.iter().any(|s| s.skill_id == id)).then(|| {
                    FieldError::new(
                        format!("skillLevels[{i}].skillId"),
                        "unknown_skill",
                        format!(
                            "agent {} cannot take skill {id:?}: not in its catalogue",
                            a.id
                        ),
                    )
                })
            })
            .collect();
        if !unknown.is_empty() {
            return Err(ApiError::invalid_payload(unknown));
        }
        a.version += 1;
        a.updated_ms = now;
        a.work_mode_id.clone_from(&write.work_mode_id);
        a.skill_levels.clone_from(&write.skill_levels);
        let etag = a.etag();
        // The write's number: versions start at 1 and each write bumps it
        // (the history itself is trimmed, so its length is not a count).
        let seq = a.version - 1;
        a.writes.push(json!({
            "seq": seq,
            "version": a.version,
            "etag": etag,
            "ifMatch": if_match,
            "workModeId": write.work_mode_id,
            "skillLevels": write.skill_levels,
            "reason": write.reason,
            "metadata": write.metadata,
            "clientId": &*api.caller.client_id,
            "atMs": now,
        }));
        trim_log(&mut a.writes, kept);
        let body = json!({
            "agentId": a.id,
            "workModeId": a.work_mode_id,
            "skillLevels": a.skill_levels,
            "reason": write.reason,
            "version": a.version,
            "updatedAt": api.state.clock.rfc3339(now),
        });
        Ok((body, etag))
    })?;
    tracing::debug!(tenant = %api.caller.tenant, agent = %id, %etag, "work mode written");
    Ok(with_etag(json_response(StatusCode::OK, &body), &etag))
}

async fn publish_event(api: Api, headers: HeaderMap, body: Bytes) -> Result<Response, ApiError> {
    api.require(Permission::EventsPublish)?;
    let key = idempotency_key(&headers).map(str::to_owned);
    let body = json_object(&body)?;
    let event_type = match body.get("eventType") {
        Some(Value::String(s)) if !s.trim().is_empty() => s.clone(),
        _ => {
            return Err(ApiError::invalid_payload(vec![FieldError::new(
                "eventType",
                "required",
                "eventType must be a non-empty string",
            )]));
        }
    };
    let data = body.get("data").cloned().unwrap_or(Value::Null);
    let received_at = api.state.clock.rfc3339(api.state.clock.now_ms());
    // Stored answers live with the tenant's other idempotent responses
    // (evicted by age and count); the event log is trimmed like the audit log.
    let answer = api.tenant(|t, _| {
        if let Some(stored) = key.as_deref().and_then(|k| t.idempotent(EVENTS_ROUTE, k)) {
            return stored.body.clone();
        }
        let event_id = format!("evt_{}", uuid::Uuid::new_v4());
        let events = &mut t.agents.events;
        events.push(json!({
            "eventId": event_id,
            "eventType": event_type,
            "data": data,
            "clientId": &*api.caller.client_id,
            "receivedAt": received_at,
        }));
        trim_log(events, t.retention.max_audit_entries());
        let answer =
            json!({ "eventId": event_id, "eventType": event_type, "receivedAt": received_at });
        if let Some(k) = key {
            t.remember(EVENTS_ROUTE, &k, answer.clone());
        }
        answer
    });
    Ok(json_response(StatusCode::ACCEPTED, &answer))
}

async fn admin_writes(
    State(state): State<AppState>,
    path: Result<Path<String>, PathRejection>,
    uri: Uri,
) -> Result<Response, ApiError> {
    let id = path_param(path)?;
    let writes = with_agent(&state, &tenant_param(&uri), &id, |a| Ok(a.writes.clone()))?;
    Ok(json_response(StatusCode::OK, &writes))
}

async fn admin_skills_loop(
    State(state): State<AppState>,
    path: Result<Path<String>, PathRejection>,
    uri: Uri,
    body: Bytes,
) -> Result<StatusCode, ApiError> {
    let id = path_param(path)?;
    let body = json_object(&body)?;
    let enabled = body
        .get("enabled")
        .and_then(Value::as_bool)
        .ok_or_else(|| {
            ApiError::invalid_payload(vec![FieldError::new(
                "enabled",
                "required",
                "enabled must be a boolean",
            )])
        })?;
    let next_origin = body
        .get("nextOrigin")
        .and_then(Value::as_str)
        .map(|o| o.trim_end_matches('/').to_owned());
    with_agent(&state, &tenant_param(&uri), &id, |a| {
        a.skills_page_loop = enabled;
        a.skills_next_origin = next_origin;
        Ok(())
    })?;
    Ok(StatusCode::NO_CONTENT)
}

async fn admin_events(State(state): State<AppState>, uri: Uri) -> Response {
    let events = with_store(&state, &tenant_param(&uri), |s| s.events.clone());
    json_response(StatusCode::OK, &events)
}
