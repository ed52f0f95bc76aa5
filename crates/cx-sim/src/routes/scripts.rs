//! Starting and signalling Studio scripts (`../shared/CXONE_REST.md` §5)
//! under `/inContactAPI/services/vNN.0/` (any version, any case), matched
//! by hand from the router's fallback. Any valid bearer token is accepted.
//! The catalogue is [`crate::scripts`]; a started script is a spawned
//! contact of [`crate::contacts`], so `/contacts/active?contactId=` lists
//! it while it runs and `/contacts/{contactId}` and its `state-history`
//! show it once ended.
//!
//! | route | answer |
//! |---|---|
//! | `GET /scripts` | `scriptName` (exact, any case) or `searchString` (substring) → `{totalRecords, scripts: [{scriptId, scriptName, scriptPath, isActive}]}`; 204 when none |
//! | `POST /scripts/start` | `skillId`, `scriptId` or `scriptPath`, `Parameters` (`\|`-joined), `startDate`, in the query or a JSON body → 200 `{contactId}` |
//! | `POST /scripts/{scriptId}/start` | JSON `{scriptId, skillId, parameters, startDate}` (NICE's SDK form) → 200 `{contactId}` |
//! | `POST /interactions/{contactId}/signal` | `p1`..`p9` in the query or a JSON body → 202; 404 `InvalidContactId` when the contact is unknown or has ended |
//!
//! **Simulator choices where CXone is unconfirmed:** the SDK form's answer
//! body (CXone documents only 200; here the same `{contactId}` as the v34
//! form); a `startDate` is accepted and ignored (the script starts at
//! once); a script or skill the tenant does not have is 400 with the
//! reason in `icStatusDescription`; a signal parameter past `p9` is 400.

use std::collections::HashMap;

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value, json};

use crate::contacts::SpawnedContact;
use crate::routes::incontact::{
    Incoming, Route, bad_request, body_or_query, find_route, ic_error, lower_query, optional_json,
};
use crate::scripts::{SCRIPTS, Script, by_id, by_path};
use crate::wire::{ApiError, json_response};

/// What a handler sees: the caller's tenant, the route's original segments,
/// the query (names lower-cased) and the JSON body.
struct Call<'a> {
    incoming: &'a Incoming<'a>,
    tenant: String,
    segments: Vec<String>,
    query: HashMap<String, String>,
    body: Map<String, Value>,
}

/// Answers a request on these routes, or `None` when it is not one of them.
pub(crate) fn dispatch(incoming: &Incoming<'_>) -> Option<Response> {
    Some(match find_route(incoming, ROUTES)? {
        Ok((_, handler)) => run(incoming, handler).unwrap_or_else(IntoResponse::into_response),
        Err(not_allowed) => not_allowed,
    })
}

/// The handler of a script route ([`run`] runs it).
type Handler = fn(&Call<'_>) -> Result<Response, ApiError>;

/// The script routes, most specific first.
const ROUTES: &[Route<Handler>] = &[
    Route::new("GET", "scripts", list),
    Route::new("POST", "scripts/start", start_query_form),
    Route::new("POST", "scripts/*/start", start_sdk_form),
    Route::new("POST", "interactions/*/signal", signal),
];

fn run(incoming: &Incoming<'_>, handler: Handler) -> Result<Response, ApiError> {
    let now_ms = incoming.state.clock.now_ms();
    let caller = incoming
        .state
        .tokens
        .authenticate(incoming.headers, now_ms)?;
    // The original spelling of the route's segments (after `vNN.0`).
    let path = incoming.uri.path();
    let segments: Vec<String> = path
        .split('/')
        .filter(|s| !s.is_empty())
        .skip(3)
        .map(crate::wire::percent_decode)
        .collect();
    let call = Call {
        incoming,
        tenant: caller.tenant.to_string(),
        segments,
        query: lower_query(incoming.uri),
        body: optional_json(incoming.body)?,
    };
    handler(&call)
}

impl Call<'_> {
    fn field(&self, name: &str) -> Option<String> {
        body_or_query(&self.body, &self.query, name)
    }

    fn number(&self, name: &str, value: &str) -> Result<u64, ApiError> {
        value
            .trim()
            .parse()
            .map_err(|_| bad_request(&format!("Invalid {name}: {value:?} is not a number")))
    }

    /// Spawns `script`'s contact under `skill` (else the script's own)
    /// with `parameters`; 200 `{contactId}`.
    fn start(
        &self,
        script: &Script,
        skill: Option<String>,
        parameters: Vec<String>,
    ) -> Result<Response, ApiError> {
        let skill_id = match skill {
            Some(raw) => self.number("skillId", &raw)?,
            None => script.skill_id,
        };
        if !(4_100_001..=4_100_005).contains(&skill_id) {
            return Err(bad_request(&format!("Invalid skillId {skill_id}")));
        }
        let spawn = SpawnedContact {
            script_name: script.name.to_owned(),
            skill_id,
            parameters,
            duration_ms: self.incoming.state.script_run_time.run_ms(script),
        };
        let contact_id = self.incoming.state.with_tenant(&self.tenant, |t, now| {
            t.contacts
                .start_contact(spawn, i64::try_from(now).unwrap_or(i64::MAX))
        });
        Ok(json_response(
            StatusCode::OK,
            &json!({ "contactId": contact_id }),
        ))
    }
}

fn script_json(s: &Script) -> Value {
    json!({
        "scriptId": s.id,
        "scriptName": s.name,
        "scriptPath": s.path,
        "isActive": true,
    })
}

/// `GET /scripts`.
fn list(call: &Call<'_>) -> Result<Response, ApiError> {
    let name = call.field("scriptName").map(|n| n.to_ascii_lowercase());
    let search = call.field("searchString").map(|n| n.to_ascii_lowercase());
    let scripts: Vec<Value> = SCRIPTS
        .iter()
        .filter(|s| {
            name.as_ref()
                .is_none_or(|n| s.name.to_ascii_lowercase() == *n)
        })
        .filter(|s| {
            search
                .as_ref()
                .is_none_or(|q| s.name.to_ascii_lowercase().contains(q.as_str()))
        })
        .map(script_json)
        .collect();
    if scripts.is_empty() {
        return Ok(StatusCode::NO_CONTENT.into_response());
    }
    Ok(json_response(
        StatusCode::OK,
        &json!({"totalRecords": scripts.len(), "scripts": scripts}),
    ))
}

/// `POST /scripts/start` (v34: query parameters, a JSON body accepted too).
fn start_query_form(call: &Call<'_>) -> Result<Response, ApiError> {
    let script = match (call.field("scriptId"), call.field("scriptPath")) {
        (Some(id), _) => by_id(call.number("scriptId", &id)?),
        (None, Some(path)) => by_path(&path),
        (None, None) => return Err(bad_request("scriptId or scriptPath is required")),
    }
    .ok_or_else(|| bad_request("Invalid scriptId or scriptPath"))?;
    let parameters = call
        .field("Parameters")
        .map(|p| p.split('|').map(str::to_owned).collect())
        .unwrap_or_default();
    call.start(script, call.field("skillId"), parameters)
}

/// `POST /scripts/{scriptId}/start` (NICE's SDK form).
fn start_sdk_form(call: &Call<'_>) -> Result<Response, ApiError> {
    let raw = call.segments.get(1).map(String::as_str).unwrap_or_default();
    let script = by_id(call.number("scriptId", raw)?)
        .ok_or_else(|| bad_request(&format!("Invalid scriptId {raw:?}")))?;
    let parameters = match call
        .body
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("parameters"))
    {
        None | Some((_, Value::Null)) => Vec::new(),
        Some((_, Value::String(s))) if s.is_empty() => Vec::new(),
        Some((_, Value::String(s))) => s.split('|').map(str::to_owned).collect(),
        Some(_) => {
            return Err(bad_request(
                "parameters must be one string of values joined with |",
            ));
        }
    };
    call.start(script, call.field("skillId"), parameters)
}

/// `POST /interactions/{contactId}/signal`.
fn signal(call: &Call<'_>) -> Result<Response, ApiError> {
    let raw = call.segments.get(1).map(String::as_str).unwrap_or_default();
    let contact_id: u64 = raw
        .trim()
        .parse()
        .map_err(|_| ic_error(StatusCode::NOT_FOUND, "not_found", "InvalidContactId"))?;
    let extra = call.body.keys().chain(call.query.keys()).find(|k| {
        k.to_ascii_lowercase()
            .strip_prefix('p')
            .and_then(|n| n.parse::<u32>().ok())
            .is_some_and(|n| n == 0 || n > 9)
    });
    if let Some(k) = extra {
        return Err(bad_request(&format!("{k}: a signal takes p1..p9 only")));
    }
    let mut params: Vec<String> = (1..=9)
        .map(|i| call.field(&format!("p{i}")).unwrap_or_default())
        .collect();
    while params.last().is_some_and(String::is_empty) {
        params.pop();
    }
    let delivered = call.incoming.state.with_tenant(&call.tenant, |t, now| {
        t.contacts
            .signal(contact_id, params, i64::try_from(now).unwrap_or(i64::MAX))
    });
    match delivered {
        Ok(()) => Ok(StatusCode::ACCEPTED.into_response()),
        Err(_) => Err(ic_error(
            StatusCode::NOT_FOUND,
            "not_found",
            "InvalidContactId",
        )),
    }
}
