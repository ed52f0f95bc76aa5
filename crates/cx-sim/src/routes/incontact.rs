//! CXone's real agent API (`../shared/CXONE_REST.md` §2–§3) under
//! `/inContactAPI/services/vNN.0/`: any `vNN.0`, the prefix in any case,
//! repeated slashes tolerated. Matched by hand from the router's fallback
//! ([`dispatch`]), so faults, journal and quotas apply as for every route.
//! Any valid bearer token is accepted (CXone's access-key tokens carry no
//! scopes). The data is [`crate::incontact_agents`].
//!
//! | route | answer |
//! |---|---|
//! | `GET /agents` | `top`, `skip`, `updateSince`, `isActive`, `searchString`, `fields` → `{businessUnitId, lastPollTime, totalRecords, _links, agents[]}` |
//! | `GET /agents/{agentId or userId}` | `{agents: [one]}`; 404 `Invalid Agent Id` |
//! | `GET /agents/{agentId}/skills` | `{businessUnitId, lastPollTime, totalRecords, _links, agentSkillAssignments[]}` |
//! | `GET /agents/skills` | the same over every agent; `updatedSince`, `isActive`, `isSkillActive` |
//! | `POST`/`PUT`/`DELETE /agents/{agentId}/skills` | `{skills: [{skillId, proficiency?, isActive?}]}` (a JSON body on DELETE too) → 200 `{resultSet: {errorCount, skillResults: [{skillId, success, error}]}}` |
//! | `GET /skills` | `top`, `skip`, `isActive`, `searchString`, `fields` → `{..., skills[]}` |
//! | `GET /unavailable-codes` | `isActive`, `searchString` → `{..., unavailableCodes[]}` |
//! | `GET /agents/states` | `updatedSince` → `{..., agentStates[]}` |
//! | `POST /agents/{agentId}/state` | `state` (`Available`/`Unavailable`) and `outStateId`, in the query or a JSON body → 200 `{}` |
//! | `GET /agents/state-history`, `GET /agents/{agentId}/state-history` | `startDate`, `endDate` (a state is listed when it began in `[startDate, endDate)`; both optional here), `updatedSince` → `{..., agentStateHistory[{stateIndex, agentId, startDate, endDate, agentStateId, agentStateName, agentSessionId, contactId, skillId, outStateId, outStateDescription, isACW, duration (s)}]}`; 400 `Invalid Start Date` / `Invalid End Date` |
//! | `GET /teams/{teamId}/unavailable-codes` | `activityOnly=true` keeps active codes → `{unavailableCodes[{outStateId, outStateName, isAcw, isActive, isPersonalConnection, skillName}]}`; 404 `Invalid Team Id` |
//!
//! Lists page with `top` (default 100, at most 10000) and `skip`;
//! `_links` always has `self`, `next` and `previous` (absolute URLs, `null`
//! when none). A list with nothing to show answers 204 with an empty body.
//! `updatedSince`/`updateSince` is ISO-8601; a record is listed when it was
//! updated at or after it (so polling with the previous `lastPollTime`
//! never misses a change). Query parameter names are case-insensitive.
//! Errors carry their reason in the `icStatusDescription` header too.

use std::collections::HashMap;
use std::fmt::Display;
use std::str::FromStr;

use axum::http::{HeaderMap, HeaderName, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use serde_json::{Map, Value, json};

use crate::incontact_agents::{InContactStore, SkillOp, StateChange, id_value};
use crate::state::AppState;
use crate::sync::lock;
use crate::wire::{ApiError, header_str, json_object, query_map};

/// The route under `/inContactAPI/services/vNN.0/` of `path`, lower-cased,
/// without empty segments (`"agents/states"`); `None` for any other path.
pub(crate) fn service_route(path: &str) -> Option<String> {
    let lower = path.to_ascii_lowercase();
    let mut segments = lower.split('/').filter(|s| !s.is_empty());
    if segments.next()? != "incontactapi" || segments.next()? != "services" {
        return None;
    }
    let major = segments.next()?.strip_prefix('v')?.strip_suffix(".0")?;
    if major.is_empty() || !major.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some(segments.collect::<Vec<_>>().join("/"))
}

/// What a `_links` URL escapes in its query: everything but letters, digits,
/// RFC 3986's unreserved `-._~` and `:`, so a date reads as sent
/// (`2024-05-01T12:00:00.000Z`) to a client that reads the link.
const LINK_QUERY: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~')
    .remove(b':');

/// The error with `reason` in the body and the `icStatusDescription` header.
pub(crate) fn ic_error(status: StatusCode, code: &str, reason: &str) -> ApiError {
    ApiError::new(status, code, reason)
        .header(HeaderName::from_static("icstatusdescription"), reason)
}

pub(crate) fn bad_request(reason: &str) -> ApiError {
    ic_error(StatusCode::BAD_REQUEST, "invalid_request", reason)
}

/// `raw`, the value of query parameter `name`, as an integer in `0..=max`;
/// else 400 naming the parameter, the range and the value.
pub(crate) fn bounded_int<T>(name: &str, raw: &str, max: T) -> Result<T, ApiError>
where
    T: FromStr + PartialOrd + Display,
{
    raw.parse::<T>().ok().filter(|n| *n <= max).ok_or_else(|| {
        bad_request(&format!(
            "{name} must be an integer in 0..={max}, got {raw:?}"
        ))
    })
}

/// 405 on a known route, the reason in `icStatusDescription` too.
pub(crate) fn method_not_allowed() -> Response {
    ic_error(
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
        "method not allowed on this route",
    )
    .into_response()
}

/// The query parameters of `uri`, names lower-cased.
pub(crate) fn lower_query(uri: &Uri) -> HashMap<String, String> {
    query_map(uri.query())
        .into_iter()
        .map(|(k, v)| (k.to_ascii_lowercase(), v))
        .collect()
}

/// A JSON object body; an empty body is `{}`.
pub(crate) fn optional_json(body: &[u8]) -> Result<Map<String, Value>, ApiError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(Map::new());
    }
    json_object(body).map_err(|_| bad_request("request body must be a JSON object"))
}

/// Field `name` of `body` (any case; a string, or a number as text), else
/// query parameter `name` (`query`'s names lower-cased). Blank is absent.
pub(crate) fn body_or_query(
    body: &Map<String, Value>,
    query: &HashMap<String, String>,
    name: &str,
) -> Option<String> {
    body.iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .and_then(|(_, v)| {
            v.as_str()
                .map(str::to_owned)
                .or_else(|| id_value(v).map(|n| n.to_string()))
        })
        .or_else(|| query.get(&name.to_ascii_lowercase()).cloned())
        .filter(|v| !v.trim().is_empty())
}

/// A request the router's fallback matches by hand.
pub(crate) struct Incoming<'a> {
    pub state: &'a AppState,
    pub method: &'a Method,
    pub uri: &'a Uri,
    pub headers: &'a HeaderMap,
    pub body: &'a [u8],
}

/// One route of a hand-matched API under `/inContactAPI/services/vNN.0/`:
/// its methods (space-separated), its path (lower-case segments joined by
/// `/`, `*` for any one segment) and its handler.
pub(crate) struct Route<H> {
    methods: &'static str,
    path: &'static str,
    handler: H,
}

impl<H> Route<H> {
    /// `handler` for `methods` on `path`.
    pub(crate) const fn new(methods: &'static str, path: &'static str, handler: H) -> Self {
        Self {
            methods,
            path,
            handler,
        }
    }
}

/// Matches `incoming` against `routes`, in order: `Some(Ok((segments,
/// handler)))` for the first route whose path and method match (the
/// route's lower-cased segments), `Some(Err(405))` when some route's path
/// matches but none of their methods, `None` when `incoming` is not on one
/// of these routes.
pub(crate) fn find_route<H: Copy>(
    incoming: &Incoming<'_>,
    routes: &[Route<H>],
) -> Option<Result<(Vec<String>, H), Response>> {
    let route = service_route(incoming.uri.path())?;
    let segments: Vec<String> = route.split('/').map(str::to_owned).collect();
    let on_path = |r: &&Route<H>| {
        r.path.split('/').count() == segments.len()
            && r.path
                .split('/')
                .zip(&segments)
                .all(|(p, s)| p == "*" || p == s)
    };
    let mut matching = routes.iter().filter(on_path).peekable();
    matching.peek()?;
    let method = incoming.method.as_str();
    Some(
        match matching.find(|r| r.methods.split(' ').any(|m| m == method)) {
            Some(r) => Ok((segments, r.handler)),
            None => Err(method_not_allowed()),
        },
    )
}

/// The handler of a route of this API ([`serve`] runs it).
pub(crate) type Handler = fn(&Request<'_>) -> Result<Response, ApiError>;

/// This API's routes, most specific first.
const ROUTES: &[Route<Handler>] = &[
    Route::new("GET", "agents", list_agents),
    Route::new("GET", "agents/states", agent_states),
    Route::new("GET", "agents/skills", assignments),
    Route::new("GET", "agents/state-history", state_history),
    Route::new("GET", "agents/*/state-history", state_history),
    Route::new("GET", "teams/*/unavailable-codes", team_codes),
    Route::new("GET", "agents/*", get_agent),
    Route::new("GET", "agents/*/skills", assignments),
    Route::new("POST PUT DELETE", "agents/*/skills", change_skills),
    Route::new("POST", "agents/*/state", set_state),
    Route::new("GET", "skills", list_skills),
    Route::new("GET", "unavailable-codes", list_codes),
];

/// Answers a request on this API, or `None` when `uri` is not one of its
/// routes.
pub(crate) fn dispatch(incoming: &Incoming<'_>) -> Option<Response> {
    Some(match find_route(incoming, ROUTES)? {
        Ok((segments, handler)) => {
            let segments: Vec<&str> = segments.iter().map(String::as_str).collect();
            serve(incoming, &segments, handler)
        }
        Err(not_allowed) => not_allowed,
    })
}

/// Authenticates `incoming` (any valid bearer token) and runs `handler` on
/// it, `segments` being its route under `/inContactAPI/services/vNN.0/`.
pub(crate) fn serve(incoming: &Incoming<'_>, segments: &[&str], handler: Handler) -> Response {
    let &Incoming {
        state,
        method,
        uri,
        headers,
        body,
    } = incoming;
    let now_ms = state.clock.now_ms();
    let caller = match state.tokens.authenticate(headers, now_ms) {
        Ok(c) => c,
        Err(err) => return err.into_response(),
    };
    let req = Request {
        state,
        tenant: &caller.tenant,
        method,
        uri,
        headers,
        body,
        segments,
        query: lower_query(uri),
        now_ms,
    };
    handler(&req).unwrap_or_else(IntoResponse::into_response)
}

/// What a handler sees.
pub(crate) struct Request<'a> {
    pub state: &'a AppState,
    pub tenant: &'a str,
    method: &'a Method,
    uri: &'a Uri,
    headers: &'a HeaderMap,
    body: &'a [u8],
    /// The route's segments under `/inContactAPI/services/vNN.0/`, lower-cased.
    pub segments: &'a [&'a str],
    /// Query parameters, names lower-cased.
    query: HashMap<String, String>,
    /// Sim time of the request, ms.
    pub now_ms: u64,
}

impl Request<'_> {
    /// Runs `f` on the tenant's store (lock held only for `f`).
    fn store<T>(&self, f: impl FnOnce(&mut InContactStore) -> T) -> T {
        let t = self.state.tenant(self.tenant);
        let mut t = lock(&t);
        f(&mut t.incontact)
    }

    /// Query parameter `name` (lower-case), trimmed; blank is absent.
    pub(crate) fn param(&self, name: &str) -> Option<&str> {
        self.query
            .get(name)
            .map(|v| v.trim())
            .filter(|v| !v.is_empty())
    }

    fn flag(&self, name: &str) -> Result<Option<bool>, ApiError> {
        match self.param(name) {
            None => Ok(None),
            Some(v) if v.eq_ignore_ascii_case("true") => Ok(Some(true)),
            Some(v) if v.eq_ignore_ascii_case("false") => Ok(Some(false)),
            Some(v) => Err(bad_request(&format!(
                "{name} must be true or false, got {v:?}"
            ))),
        }
    }

    /// Query parameter `name` as an integer in `0..=max`, `default` when
    /// absent; else 400.
    pub(crate) fn number(&self, name: &str, default: usize, max: usize) -> Result<usize, ApiError> {
        self.param(name)
            .map_or(Ok(default), |v| bounded_int(name, v, max))
    }

    /// Sim ms of the `updatedSince` filter (either spelling), 0 when absent.
    fn updated_since(&self) -> Result<u64, ApiError> {
        let since = self.instant(&["updatedsince", "updatesince"], |raw| {
            format!(
                "updatedSince must be an ISO-8601 date-time such as 2024-05-01T12:00:00.000Z, got {raw:?}"
            )
        })?;
        Ok(since.map_or(0, |ms| u64::try_from(ms).unwrap_or(0)))
    }

    /// Query parameter `name` (lower-case) as an ISO-8601 date-time (no
    /// zone: UTC; a date alone: its midnight UTC), in sim ms (negative
    /// before the simulator started); 400 naming `shown` when it is not one.
    pub(crate) fn date(&self, name: &str, shown: &str) -> Result<Option<i64>, ApiError> {
        self.instant(&[name], |raw| {
            format!(
                "{shown} must be an ISO-8601 date-time such as 2024-05-01T12:00:00.000Z, got {raw:?}"
            )
        })
    }

    /// Sim ms (negative before the start) of the first of the query
    /// parameters `names` given, an ISO-8601 date-time (UTC when it has no
    /// offset; a date alone is its midnight UTC); a bad value is 400
    /// `reason(value)`.
    fn instant(
        &self,
        names: &[&str],
        reason: impl Fn(&str) -> String,
    ) -> Result<Option<i64>, ApiError> {
        let Some(raw) = names.iter().find_map(|n| self.param(n)) else {
            return Ok(None);
        };
        let wall = crate::wire::parse_instant(raw).ok_or_else(|| bad_request(&reason(raw)))?;
        let origin = self.state.clock.wall(0).timestamp_millis();
        Ok(Some(wall.timestamp_millis().saturating_sub(origin)))
    }

    /// The `isActive` and `searchString` filters.
    fn active_and_search(&self) -> Result<Keep, ApiError> {
        Ok(Keep {
            active: self.flag("isactive")?,
            search: self.param("searchstring").map(str::to_ascii_lowercase),
        })
    }

    /// The agent of a per-agent route (`agents/{id}/...`, 404 `Invalid
    /// Agent Id` when unknown), `None` on an every-agent route
    /// (`agents/skills`, `agents/state-history`).
    fn only_agent(&self) -> Result<Option<u64>, ApiError> {
        match self.segments {
            [_, _, _, ..] => self.agent_id().map(Some),
            _ => Ok(None),
        }
    }

    /// The agent of path segment 1, or 404 `Invalid Agent Id`.
    pub(crate) fn agent_id(&self) -> Result<u64, ApiError> {
        let raw = self.segments.get(1).copied().unwrap_or_default();
        self.store(|s| s.agent(raw).map(|a| a.agent_id))
            .ok_or_else(|| ic_error(StatusCode::NOT_FOUND, "not_found", "Invalid Agent Id"))
    }

    /// A list page of `items` under `key`: 204 when there are none, else
    /// `{businessUnitId, lastPollTime, totalRecords, _links, key: page}`
    /// (`fields` applied).
    pub(crate) fn page(&self, key: &str, items: Vec<Value>) -> Result<Response, ApiError> {
        let (top, skip) = self.window()?;
        let fields = self.fields();
        let total = items.len();
        let page: Vec<Value> = items
            .into_iter()
            .skip(skip)
            .take(top)
            .map(|item| project(item, fields.as_deref()))
            .collect();
        Ok(self.page_of(key, total, (top, skip), &page))
    }

    /// `(top, skip)` of a list request: `top` 1 to 10000 (default 100),
    /// `skip` from 0; else 400.
    pub(crate) fn window(&self) -> Result<(usize, usize), ApiError> {
        let top = self.number("top", 100, 10_000)?.max(1);
        let skip = self.number("skip", 0, usize::MAX)?;
        Ok((top, skip))
    }

    /// The `fields` projection, names lower-cased; `None` when absent.
    pub(crate) fn fields(&self) -> Option<Vec<String>> {
        self.param("fields").map(|f| {
            f.split(',')
                .map(|s| s.trim().to_ascii_lowercase())
                .filter(|s| !s.is_empty())
                .collect()
        })
    }

    /// A list page of `total` items, `page` being the `(top, skip)` window
    /// of them: 204 when `total` is 0, else `{businessUnitId, lastPollTime,
    /// totalRecords, _links, key: page}`.
    pub(crate) fn page_of<T: serde::Serialize>(
        &self,
        key: &str,
        total: usize,
        (top, skip): (usize, usize),
        page: &[T],
    ) -> Response {
        if total == 0 {
            return StatusCode::NO_CONTENT.into_response();
        }
        let link = |skip: usize| Value::String(self.url_with(top, skip));
        let next = (skip.saturating_add(top) < total).then(|| link(skip + top));
        let previous = (skip > 0).then(|| link(skip.saturating_sub(top)));
        let mut body = Map::new();
        body.insert(
            "businessUnitId".into(),
            json!(crate::oidc::business_unit_id(self.tenant)),
        );
        body.insert(
            "lastPollTime".into(),
            json!(self.state.clock.rfc3339(self.now_ms)),
        );
        body.insert("totalRecords".into(), json!(total));
        body.insert(
            "_links".into(),
            json!({
                "self": link(skip),
                "next": next.unwrap_or(Value::Null),
                "previous": previous.unwrap_or(Value::Null),
            }),
        );
        crate::wire::json_response(StatusCode::OK, &Envelope { body, key, page })
    }

    /// This request's absolute URL with `top` and `skip` replaced.
    fn url_with(&self, top: usize, skip: usize) -> String {
        let host = header_str(self.headers, &header::HOST).unwrap_or("127.0.0.1");
        let mut pairs: Vec<(String, String)> =
            crate::wire::parse_urlencoded(self.uri.query().unwrap_or(""))
                .into_iter()
                .filter(|(k, _)| !k.eq_ignore_ascii_case("top") && !k.eq_ignore_ascii_case("skip"))
                .collect();
        pairs.push(("top".into(), top.to_string()));
        pairs.push(("skip".into(), skip.to_string()));
        let query = pairs
            .iter()
            .map(|(k, v)| {
                format!(
                    "{}={}",
                    utf8_percent_encode(k, LINK_QUERY),
                    utf8_percent_encode(v, LINK_QUERY)
                )
            })
            .collect::<Vec<_>>()
            .join("&");
        format!("http://{host}{}?{query}", self.uri.path())
    }
}

/// A list answer: the entries of `body`, then `key: page`.
struct Envelope<'a, T> {
    body: Map<String, Value>,
    key: &'a str,
    page: &'a [T],
}

impl<T: serde::Serialize> serde::Serialize for Envelope<'_, T> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut map = serializer.serialize_map(Some(self.body.len().saturating_add(1)))?;
        for (k, v) in &self.body {
            map.serialize_entry(k, v)?;
        }
        map.serialize_entry(self.key, self.page)?;
        map.end()
    }
}

/// The `isActive` and `searchString` filters of a list.
struct Keep {
    active: Option<bool>,
    /// Lower-cased.
    search: Option<String>,
}

impl Keep {
    /// Whether an item with `is_active` and these `names` is listed: the
    /// activity matches and some name contains the search text (any case).
    fn keeps(&self, is_active: bool, names: &[&str]) -> bool {
        self.active.is_none_or(|want| want == is_active)
            && self
                .search
                .as_deref()
                .is_none_or(|q| names.iter().any(|n| n.to_ascii_lowercase().contains(q)))
    }
}

/// `item` with only the keys named in `fields` (case-insensitive).
pub(crate) fn project(item: Value, fields: Option<&[String]>) -> Value {
    match (item, fields) {
        (Value::Object(map), Some(fields)) => Value::Object(
            map.into_iter()
                .filter(|(k, _)| fields.contains(&k.to_ascii_lowercase()))
                .collect(),
        ),
        (item, _) => item,
    }
}

fn list_agents(req: &Request<'_>) -> Result<Response, ApiError> {
    let since = req.updated_since()?;
    let keep = req.active_and_search()?;
    let items = req.store(|s| {
        s.agents
            .iter()
            .filter(|a| a.last_updated_ms >= since)
            .filter(|a| keep.keeps(a.is_active, &[&a.first_name, &a.last_name, &a.user_name]))
            .map(|a| s.agent_json(a, &req.state.clock))
            .collect()
    });
    req.page("agents", items)
}

fn get_agent(req: &Request<'_>) -> Result<Response, ApiError> {
    let id = req.agent_id()?;
    let fields = req.fields();
    let agent = req.store(|s| {
        s.agents
            .iter()
            .find(|a| a.agent_id == id)
            .map(|a| s.agent_json(a, &req.state.clock))
    });
    let agent =
        agent.ok_or_else(|| ic_error(StatusCode::NOT_FOUND, "not_found", "Invalid Agent Id"))?;
    Ok(crate::wire::json_response(
        StatusCode::OK,
        &json!({ "agents": [project(agent, fields.as_deref())] }),
    ))
}

/// Assignments of the route's agent ([`Request::only_agent`]) or of every
/// agent, filtered.
fn assignments(req: &Request<'_>) -> Result<Response, ApiError> {
    let only = req.only_agent()?;
    let since = req.updated_since()?;
    let active = req.flag("isactive")?;
    let skill_active = req
        .flag("isskillactive")?
        .or(req.flag("isassignedskillactive")?);
    let items = req.store(|s| {
        s.assignments
            .iter()
            .filter(|((agent, _), _)| only.is_none_or(|o| o == *agent))
            .filter(|(_, a)| a.last_update_ms >= since)
            .filter(|(_, a)| active.is_none_or(|want| a.is_active == want))
            .map(|(key, a)| s.assignment_json(*key, a, &req.state.clock))
            .filter(|v| skill_active.is_none_or(|want| v["isSkillActive"] == want))
            .collect()
    });
    req.page("agentSkillAssignments", items)
}

fn change_skills(req: &Request<'_>) -> Result<Response, ApiError> {
    let id = req.agent_id()?;
    let body = json_object(req.body)
        .map_err(|_| bad_request("request body must be a JSON object {\"skills\": [...]}"))?;
    let Some(Value::Array(items)) = body.get("skills") else {
        return Err(bad_request("skills is required and must be an array"));
    };
    if items.is_empty() {
        return Err(bad_request("skills must not be empty"));
    }
    let op = match *req.method {
        Method::POST => SkillOp::Assign,
        Method::PUT => SkillOp::Modify,
        _ => SkillOp::Remove,
    };
    let result = req.store(|s| s.change_skills(id, op, items, req.now_ms));
    Ok(crate::wire::json_response(StatusCode::OK, &result))
}

fn set_state(req: &Request<'_>) -> Result<Response, ApiError> {
    let id = req.agent_id()?;
    let body = optional_json(req.body)?;
    let field = |name: &str| body_or_query(&body, &req.query, name);
    let change = match field("state").as_deref() {
        Some(s) if s.eq_ignore_ascii_case("available") => StateChange::Available,
        Some(s) if s.eq_ignore_ascii_case("unavailable") => {
            let code = field("outStateId")
                .and_then(|c| c.trim().parse::<u64>().ok())
                .ok_or_else(|| bad_request("outStateId is required for state Unavailable"))?;
            StateChange::Unavailable(code)
        }
        _ => return Err(bad_request("state must be Available or Unavailable")),
    };
    req.store(|s| s.set_state(id, change, req.now_ms))
        .map_err(bad_request)?;
    Ok(crate::wire::json_response(StatusCode::OK, &json!({})))
}

fn list_skills(req: &Request<'_>) -> Result<Response, ApiError> {
    let keep = req.active_and_search()?;
    let items = req.store(|s| {
        s.skills
            .iter()
            .filter(|k| keep.keeps(k.is_active, &[&k.skill_name]))
            .map(InContactStore::skill_json)
            .collect()
    });
    req.page("skills", items)
}

fn list_codes(req: &Request<'_>) -> Result<Response, ApiError> {
    let keep = req.active_and_search()?;
    let items = req.store(|s| {
        s.codes
            .iter()
            .filter(|c| keep.keeps(c.is_active, &[c.name]))
            .map(InContactStore::code_json)
            .collect()
    });
    req.page("unavailableCodes", items)
}

fn agent_states(req: &Request<'_>) -> Result<Response, ApiError> {
    let since = req.updated_since()?;
    let items = req.store(|s| {
        s.states
            .iter()
            .filter(|(_, st)| st.last_update_ms >= since)
            .map(|(id, st)| s.state_json(*id, st, &req.state.clock))
            .collect()
    });
    req.page("agentStates", items)
}

/// The state history of the route's agent ([`Request::only_agent`]) or of
/// every agent: states that began in `[startDate, endDate)` and were
/// updated at or after `updatedSince`.
fn state_history(req: &Request<'_>) -> Result<Response, ApiError> {
    let only = req.only_agent()?;
    let start = req.instant(&["startdate"], |_| "Invalid Start Date".to_owned())?;
    let end = req.instant(&["enddate"], |_| "Invalid End Date".to_owned())?;
    if let (Some(s), Some(e)) = (start, end)
        && e < s
    {
        return Err(bad_request("Invalid End Date"));
    }
    let since = req.instant(&["updatedsince", "updatesince"], |raw| {
        format!("updatedSince must be an ISO-8601 date-time, got {raw:?}")
    })?;
    let keep = |began: i64, updated: i64| {
        start.is_none_or(|s| began >= s)
            && end.is_none_or(|e| began < e)
            && since.is_none_or(|s| updated >= s)
    };
    let items = req.store(|s| s.state_history(only, req.now_ms, &req.state.clock, keep));
    req.page("agentStateHistory", items)
}

fn team_codes(req: &Request<'_>) -> Result<Response, ApiError> {
    let team = req.segments.get(1).and_then(|t| t.parse::<u64>().ok());
    let active_only = req.flag("activityonly")?.unwrap_or(false);
    let codes = req
        .store(|s| team.and_then(|t| s.team_codes_json(t, active_only)))
        .ok_or_else(|| ic_error(StatusCode::NOT_FOUND, "not_found", "Invalid Team Id"))?;
    if codes.is_empty() {
        return Ok(StatusCode::NO_CONTENT.into_response());
    }
    Ok(crate::wire::json_response(
        StatusCode::OK,
        &json!({ "unavailableCodes": codes }),
    ))
}
