//! The opening every authenticated API handler shares ([`Api`]: the state
//! and the caller, the scope check, the tenant brought up to now), what the
//! create handlers (`POST` executions, instances, data-action
//! jobs) share: answering a repeated `Idempotency-Key` with the stored body,
//! remembering the body of a new resource under the key, and checking a
//! body's variables against the workflow's declared ones; and what the list
//! handlers share: the `{totalCount, items}` body of a first page.

use axum::extract::{FromRequestParts, Path};
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value, json};

use crate::auth::Caller;
use crate::scopes::Permission;
use crate::state::{AppState, TenantState};
use crate::wire::{
    ApiError, FieldError, created, idempotency_key, invalid_path, json_response, replayed,
};

/// The opening of an authenticated API handler, as one extractor: the
/// simulator state, the caller behind the bearer token (rejects with 401
/// `invalid_token`) and the route's path parameters `P`. Handlers get the
/// parameters from [`Api::require`], which checks the scope first, then
/// work on the caller's tenant with [`Api::tenant`], [`Api::read`] or
/// [`Api::create`].
pub(crate) struct Api<P = ()> {
    /// The simulator state.
    pub state: AppState,
    /// Who called.
    pub caller: Caller,
    /// The path parameters, or why they did not parse.
    path: Result<P, String>,
}

impl<P: DeserializeOwned + Send> FromRequestParts<AppState> for Api<P> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let caller = state
            .tokens
            .authenticate(&parts.headers, state.clock.now_ms())?;
        // Kept for `require`: a bad path answers only after the scope check.
        let path = Path::<P>::from_request_parts(parts, state)
            .await
            .map(|Path(p)| p)
            .map_err(|rejection| rejection.body_text());
        Ok(Self {
            state: AppState::clone(state),
            caller,
            path,
        })
    }
}

impl<P: Clone> Api<P> {
    /// The path parameters, once the caller holds `permission`: 403
    /// `insufficient_scope` first, then 400 `invalid_parameter` for
    /// parameters that did not parse.
    pub(crate) fn require(&self, permission: Permission) -> Result<P, ApiError> {
        self.caller.require(permission)?;
        self.path.clone().map_err(invalid_path)
    }

    /// Runs `f` on the caller's tenant state brought up to the sim time
    /// now (which `f` gets too).
    pub(crate) fn tenant<T>(&self, f: impl FnOnce(&mut TenantState, u64) -> T) -> T {
        self.state.with_tenant(&self.caller.tenant, f)
    }

    /// 200 with the JSON body `f` builds from the caller's tenant state.
    pub(crate) fn read(
        &self,
        f: impl FnOnce(&mut TenantState, u64) -> Result<Value, ApiError>,
    ) -> Result<Response, ApiError> {
        let body = self.tenant(f)?;
        Ok(json_response(StatusCode::OK, &body))
    }

    /// A `POST` creating a resource on `route`, idempotently under the
    /// request's `Idempotency-Key` ([`idempotent_create`]); `create` gets
    /// the tenant state and the sim time now.
    pub(crate) fn create(
        &self,
        route: &str,
        headers: &HeaderMap,
        create: impl FnOnce(&mut TenantState, u64) -> Result<(Value, String), ApiError>,
    ) -> Result<Response, ApiError> {
        let key = idempotency_key(headers);
        self.tenant(|t, now| idempotent_create(t, route, key, |t| create(t, now)))
    }
}

/// Create a resource on `route` idempotently, under the caller's tenant lock.
///
/// With a `key` already seen on `route`, answers 201 with the stored body
/// (`Idempotent-Replayed: true`) and does not call `create`. Otherwise
/// `create` validates and inserts the resource and returns its JSON body and
/// `Location`; the body is remembered under `key` (when one was sent) and
/// answered 201.
fn idempotent_create(
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

/// Check every key of `map` (the body's `section`, `input` or `context`)
/// against the workflow's `declared` `(name, type)` variables, pushing one
/// error per offending key onto `errors`: `unknown_variable` for a key not
/// declared ("`key` is not `article_kind` variable of workflow `workflow_id`",
/// e.g. `article_kind` = "an input"), `type_mismatch` for a value of
/// another type than declared ([`declared_type_ok`]). Fields are named
/// `section.key`.
pub(crate) fn check_variables(
    map: &Map<String, Value>,
    section: &str,
    article_kind: &str,
    declared: &[(String, String)],
    workflow_id: &str,
    errors: &mut Vec<FieldError>,
) {
    for (key, value) in map {
        let field = format!("{section}.{key}");
        match declared.iter().find(|(n, _)| n == key) {
            None => errors.push(FieldError::new(
                field,
                "unknown_variable",
                format!("{key} is not {article_kind} variable of workflow {workflow_id}"),
            )),
            Some((_, ty)) if !declared_type_ok(ty, value) => errors.push(FieldError::new(
                field,
                "type_mismatch",
                format!("expected {ty}, got {}", json_type(value)),
            )),
            Some(_) => {}
        }
    }
}

/// The `{totalCount, items}` body of a list: `totalCount` counts every
/// `matching` resource, `items` holds the first `limit` of them as JSON.
pub(crate) fn first_page<T>(
    matching: impl Iterator<Item = T>,
    limit: usize,
    to_json: impl Fn(T) -> Value,
) -> Value {
    let mut total = 0usize;
    let mut items = Vec::new();
    for item in matching {
        total += 1;
        if items.len() < limit {
            items.push(to_json(item));
        }
    }
    json!({ "totalCount": total, "items": items })
}

/// `body[key]` when it is an object; `None` when it is absent or null, and
/// when it is anything else, after pushing `type_mismatch` ("expected
/// `what`, got `<type>`") onto `errors`.
pub(crate) fn object_field<'b>(
    body: &'b Map<String, Value>,
    key: &str,
    what: &str,
    errors: &mut Vec<FieldError>,
) -> Option<&'b Map<String, Value>> {
    match body.get(key) {
        None | Some(Value::Null) => None,
        Some(Value::Object(map)) => Some(map),
        Some(other) => {
            errors.push(FieldError::new(
                key,
                "type_mismatch",
                format!("expected {what}, got {}", json_type(other)),
            ));
            None
        }
    }
}

/// What `check` builds from a request body, unless it pushed field errors:
/// then 400 `invalid_payload` listing every one of them.
pub(crate) fn validated<T>(check: impl FnOnce(&mut Vec<FieldError>) -> T) -> Result<T, ApiError> {
    let mut errors = Vec::new();
    let value = check(&mut errors);
    if errors.is_empty() {
        Ok(value)
    } else {
        Err(ApiError::invalid_payload(errors))
    }
}

/// Whether `value` has the JSON type a workflow variable declares, in any
/// case: seed 000's input variables (`STRING`, `NUMBER`, `BOOLEAN`,
/// `OBJECT`) and seed 001's context variables (`string`, `integer`,
/// `boolean`, `object`, `array`); `number` and `float` accept any number,
/// `integer` only whole ones; an unknown declared type accepts anything.
pub(crate) fn declared_type_ok(declared: &str, value: &Value) -> bool {
    match declared.to_ascii_lowercase().as_str() {
        "string" => value.is_string(),
        "integer" => value.is_i64() || value.is_u64(),
        "number" | "float" => value.is_number(),
        "boolean" => value.is_boolean(),
        "object" => value.is_object(),
        "array" => value.is_array(),
        _ => true,
    }
}

/// The JSON type name of a value, for error messages.
pub(crate) fn json_type(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(n) if n.is_i64() || n.is_u64() => "integer",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn declared_types_of_inputs_and_contexts() {
        let cases = [
            // Seed 000's input variables.
            ("STRING", json!("x"), true),
            ("STRING", json!(1), false),
            ("NUMBER", json!(85), true),
            ("NUMBER", json!(85.5), true),
            ("NUMBER", json!("85"), false),
            ("BOOLEAN", json!(true), true),
            ("BOOLEAN", json!("true"), false),
            ("OBJECT", json!({"a": 1}), true),
            ("OBJECT", json!([1]), false),
            ("WHATEVER", json!(null), true),
            // Seed 001's context variables.
            ("string", json!("CUST-1"), true),
            ("integer", json!(85), true),
            ("integer", json!(85.5), false),
            ("integer", json!("85"), false),
            ("boolean", json!(false), true),
            ("object", json!({}), true),
            ("array", json!([1, 2]), true),
            ("array", json!({}), false),
            ("number", json!(1.5), true),
        ];
        for (ty, value, want) in cases {
            assert_eq!(declared_type_ok(ty, &value), want, "{ty} {value}");
        }
    }
}
