//! CXone's Data Extraction API (`../shared/CXONE_REST.md` §6) under
//! `/data-extraction/v1/`: the prefix in any case, repeated slashes
//! tolerated. Matched by hand from the router's fallback ([`dispatch`]), so
//! faults and the journal apply as for every route. Any valid bearer token
//! is accepted. The jobs are [`crate::extraction`].
//!
//! | route | answer |
//! |---|---|
//! | `POST /jobs` | `{entityName, version, startDate, endDate}` → 202, the job id as a JSON string |
//! | `POST /jobs/sync` | the same body → 200 `{jobStatus}` of a job already SUCCEEDED (or FAILED); `{url}` alone with [`crate::ExtractionSettings::sync_url_only`] |
//! | `GET /jobs/{jobId}` | `{jobStatus: {id, status, result: {url, errorMessage}}}` (`result` null while RUNNING); 404 for an unknown job |
//! | `GET /jobs` | `{jobs: [{id, status}]}` |
//! | `GET /files/{token}` | the job's CSV, no token needed (a presigned URL); 403 once expired |
//!
//! **Simulator choices where CXone's answer is unconfirmed** (the
//! reference has no source for them): a call within
//! [`crate::ExtractionSettings::min_interval`] of the tenant's previous one
//! is 429 with `Retry-After` (whole seconds, rounded up) and the reason in
//! `icStatusDescription`; the synchronous form answers the status object
//! of the job it ran; an expired download URL answers 403 with an
//! S3-style XML body (`AccessDenied`, `Request has expired`), an unknown
//! one 404. A range must have `startDate` before `endDate` and span at most
//! 14 days (the documented backfill limit), else 400; an entity or version
//! the tenant does not serve is 400.

use axum::http::{HeaderName, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use serde_json::{Value, json};

use crate::extraction::{ENTITIES, FileRefusal, Job};
use crate::routes::incontact::{Incoming, bad_request, ic_error, method_not_allowed};
use crate::wire::{ApiError, json_object, json_response};

/// The longest range of one job: 14 days, in seconds.
const MAX_RANGE_SECS: i64 = 14 * 86_400;

/// Answers a request on this API, or `None` when it is not one of its routes.
pub(crate) fn dispatch(incoming: &Incoming<'_>) -> Option<Response> {
    let lower = incoming.uri.path().to_ascii_lowercase();
    let mut segments = lower.split('/').filter(|s| !s.is_empty());
    if segments.next()? != "data-extraction" || segments.next()? != "v1" {
        return None;
    }
    let rest: Vec<&str> = segments.collect();
    // The original spelling of the last segment (ids and tokens keep their case).
    let raw_last = incoming
        .uri
        .path()
        .split('/')
        .rfind(|s| !s.is_empty())
        .unwrap_or_default();
    let method = incoming.method;
    let result = match (rest.as_slice(), method) {
        (["files", _], &Method::GET) => return Some(file(incoming, raw_last)),
        (["jobs"], &Method::POST) => api(incoming, |i, t, now| create(i, t, now, false)),
        (["jobs", "sync"], &Method::POST) => api(incoming, |i, t, now| create(i, t, now, true)),
        (["jobs"], &Method::GET) => api(incoming, list),
        (["jobs", _], &Method::GET) => api(incoming, |i, t, now| status(i, t, now, raw_last)),
        (["files", _] | ["jobs"] | ["jobs", _], _) => return Some(method_not_allowed()),
        _ => return None,
    };
    Some(result.unwrap_or_else(IntoResponse::into_response))
}

/// An authenticated API call under the tenant limit: `f(incoming, tenant, now_ms)`.
fn api(
    incoming: &Incoming<'_>,
    f: impl FnOnce(&Incoming<'_>, &str, u64) -> Result<Response, ApiError>,
) -> Result<Response, ApiError> {
    let state = incoming.state;
    let now_ms = state.clock.now_ms();
    let caller = state.tokens.authenticate(incoming.headers, now_ms)?;
    if let Err(wait) = state.extraction.take_call(&caller.tenant, now_ms) {
        let secs = wait.as_millis().div_ceil(1000).max(1);
        let reason = format!(
            "Too many requests: one Data Extraction call per {} s per tenant; retry in {secs} s",
            state_interval_secs(incoming)
        );
        return Err(
            ic_error(StatusCode::TOO_MANY_REQUESTS, "rate_limited", &reason)
                .header(header::RETRY_AFTER, &secs.to_string()),
        );
    }
    f(incoming, &caller.tenant, now_ms)
}

fn state_interval_secs(incoming: &Incoming<'_>) -> u64 {
    incoming.state.extraction.min_interval().as_secs()
}

/// `POST /jobs` and `POST /jobs/sync`.
fn create(
    incoming: &Incoming<'_>,
    tenant: &str,
    now_ms: u64,
    sync: bool,
) -> Result<Response, ApiError> {
    let body = json_object(incoming.body).map_err(|_| {
        bad_request("the body must be a JSON object {entityName, version, startDate, endDate}")
    })?;
    let text = |name: &str| {
        body.get(name)
            .and_then(|v| match v {
                Value::String(s) => Some(s.trim().to_owned()),
                Value::Number(n) => Some(n.to_string()),
                _ => None,
            })
            .filter(|s| !s.is_empty())
            .ok_or_else(|| bad_request(&format!("{name} is required")))
    };
    let entity = text("entityName")?;
    let version = text("version")?;
    let versions = ENTITIES
        .iter()
        .find(|(name, _)| name.eq_ignore_ascii_case(&entity))
        .map(|(_, v)| *v)
        .ok_or_else(|| bad_request(&format!("Unknown entityName {entity:?}")))?;
    if !versions.contains(&version.as_str()) {
        return Err(bad_request(&format!(
            "entityName {entity:?} has no version {version:?} (known: {})",
            versions.join(", ")
        )));
    }
    let start = date(&text("startDate")?, "startDate")?;
    let end = date(&text("endDate")?, "endDate")?;
    if start >= end {
        return Err(bad_request("startDate must be before endDate"));
    }
    if (end - start).num_seconds() > MAX_RANGE_SECS {
        return Err(bad_request("The date range may span at most 14 days"));
    }
    let job =
        incoming
            .state
            .extraction
            .create(tenant, &entity, &version, (start, end), now_ms, sync);
    if sync {
        let mut body = status_body(incoming, tenant, &job, now_ms);
        if incoming.state.extraction.sync_url_only() {
            body = json!({ "url": body["jobStatus"]["result"]["url"].take() });
        }
        return Ok(json_response(StatusCode::OK, &body));
    }
    Ok(json_response(StatusCode::ACCEPTED, &json!(job.id)))
}

/// `GET /jobs/{jobId}`.
fn status(
    incoming: &Incoming<'_>,
    tenant: &str,
    now_ms: u64,
    id: &str,
) -> Result<Response, ApiError> {
    let job = incoming
        .state
        .extraction
        .job(tenant, id)
        .ok_or_else(|| ic_error(StatusCode::NOT_FOUND, "not_found", "Job not found"))?;
    Ok(json_response(
        StatusCode::OK,
        &status_body(incoming, tenant, &job, now_ms),
    ))
}

/// `GET /jobs`.
fn list(incoming: &Incoming<'_>, tenant: &str, now_ms: u64) -> Result<Response, ApiError> {
    let jobs: Vec<Value> = incoming
        .state
        .extraction
        .jobs(tenant)
        .iter()
        .map(|j| json!({"id": j.id, "status": j.status(now_ms)}))
        .collect();
    Ok(json_response(StatusCode::OK, &json!({ "jobs": jobs })))
}

/// `{jobStatus: {id, status, result}}`, minting a download URL for a
/// SUCCEEDED job.
fn status_body(incoming: &Incoming<'_>, tenant: &str, job: &Job, now_ms: u64) -> Value {
    let status = job.status(now_ms);
    let result = match status {
        "SUCCEEDED" => {
            let token = incoming.state.extraction.mint(tenant, &job.id, now_ms);
            let base = crate::oidc::base_url(incoming.headers);
            json!({"url": format!("{base}/data-extraction/v1/files/{token}"), "errorMessage": null})
        }
        "FAILED" => json!({"url": null, "errorMessage": job.failure}),
        _ => Value::Null,
    };
    json!({"jobStatus": {
        "id": job.id,
        "status": status,
        "entityName": job.entity,
        "version": job.version,
        "result": result,
    }})
}

/// `GET /files/{token}`: the CSV, 403 once the URL expired.
fn file(incoming: &Incoming<'_>, token: &str) -> Response {
    let now_ms = incoming.state.clock.now_ms();
    match incoming.state.extraction.file(token, now_ms) {
        Ok(csv) => {
            let mut resp = csv.into_response();
            resp.headers_mut().insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/csv; charset=utf-8"),
            );
            resp
        }
        Err(refusal) => {
            let (status, code, message) = match refusal {
                FileRefusal::Expired => {
                    (StatusCode::FORBIDDEN, "AccessDenied", "Request has expired")
                }
                FileRefusal::Unknown => (
                    StatusCode::NOT_FOUND,
                    "NoSuchKey",
                    "The specified key does not exist.",
                ),
            };
            let body = format!(
                "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>{code}</Code><Message>{message}</Message></Error>"
            );
            let mut resp = (status, body).into_response();
            resp.headers_mut().insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/xml"),
            );
            resp.headers_mut().insert(
                HeaderName::from_static("icstatusdescription"),
                HeaderValue::from_static("Request has expired or does not exist"),
            );
            resp
        }
    }
}

/// An ISO-8601 date-time (offset or naive UTC) or a date.
fn date(raw: &str, field: &str) -> Result<DateTime<Utc>, ApiError> {
    crate::wire::parse_instant(raw).ok_or_else(|| {
        bad_request(&format!(
            "{field} must be an ISO-8601 date-time such as 2024-05-01T00:00:00.000Z"
        ))
    })
}
