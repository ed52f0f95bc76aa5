//! Wire helpers shared by every route module: the JSON error type every
//! handler returns, query-string and form decoding, JSON body parsing, and
//! the response extension handlers use to tell the journal who called.
//!
//! Error bodies follow the seeds: `{"error": code, "message": text}` for API
//! routes (plus `details` for validation errors), and the OAuth2 shape
//! `{"error": code, "error_description": text}` for the token endpoints.

use std::collections::HashMap;

use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use serde_json::{Map, Value, json};

/// One field-level validation failure, rendered as
/// `{"field": "input.x", "rule": "type_mismatch", "message": "..."}`.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct FieldError {
    /// Dotted path of the offending field, e.g. `input.priorityScore`.
    pub field: String,
    /// Machine-readable rule name, e.g. `unknown_variable`, `type_mismatch`.
    pub rule: &'static str,
    /// Human-readable explanation.
    pub message: String,
}

impl FieldError {
    /// A failure of `rule` on `field`.
    pub(crate) fn new(
        field: impl Into<String>,
        rule: &'static str,
        message: impl Into<String>,
    ) -> Self {
        Self {
            field: field.into(),
            rule,
            message: message.into(),
        }
    }
}

/// An error response: status, JSON body and extra headers.
#[derive(Debug)]
pub(crate) struct ApiError {
    status: StatusCode,
    body: Value,
    headers: Vec<(HeaderName, HeaderValue)>,
}

impl ApiError {
    /// `{"error": code, "message": message}` with `status`.
    pub(crate) fn new(status: StatusCode, code: &str, message: impl Into<String>) -> Self {
        Self {
            status,
            body: json!({ "error": code, "message": message.into() }),
            headers: Vec::new(),
        }
    }

    /// The OAuth2 error shape `{"error": code, "error_description": ...}`.
    pub(crate) fn oauth(status: StatusCode, code: &str, description: impl Into<String>) -> Self {
        Self {
            status,
            body: json!({ "error": code, "error_description": description.into() }),
            headers: Vec::new(),
        }
    }

    /// 404 `not_found`.
    pub(crate) fn not_found(message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, "not_found", message)
    }

    /// 400 `invalid_payload` with field details (seed 000/001 validation).
    pub(crate) fn invalid_payload(details: Vec<FieldError>) -> Self {
        Self::with_details(StatusCode::BAD_REQUEST, "invalid_payload", details)
    }

    /// 400 `invalid_parameter` with field details (bad query parameters).
    pub(crate) fn invalid_parameter(details: Vec<FieldError>) -> Self {
        Self::with_details(StatusCode::BAD_REQUEST, "invalid_parameter", details)
    }

    fn with_details(status: StatusCode, code: &str, details: Vec<FieldError>) -> Self {
        let summary = details
            .iter()
            .map(|d| format!("{}: {}", d.field, d.message))
            .collect::<Vec<_>>()
            .join("; ");
        Self {
            status,
            body: json!({
                "error": code,
                "message": format!("validation failed: {summary}"),
                "details": details,
            }),
            headers: Vec::new(),
        }
    }

    /// Adds a header to the response; invalid values are skipped.
    pub(crate) fn header(mut self, name: HeaderName, value: &str) -> Self {
        if let Ok(v) = HeaderValue::from_str(value) {
            self.headers.push((name, v));
        }
        self
    }

    /// Adds a top-level field to the JSON body.
    pub(crate) fn field(mut self, key: &str, value: Value) -> Self {
        if let Value::Object(map) = &mut self.body {
            map.insert(key.to_owned(), value);
        }
        self
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut resp = json_response(self.status, &self.body);
        for (name, value) in self.headers {
            resp.headers_mut().insert(name, value);
        }
        resp
    }
}

/// Serializes `body` as JSON with `status`; falls back to a 500 if
/// serialization fails (it cannot for the types used here).
pub(crate) fn json_response<T: Serialize + ?Sized>(status: StatusCode, body: &T) -> Response {
    match serde_json::to_vec(body) {
        Ok(bytes) => (
            status,
            [(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            )],
            bytes,
        )
            .into_response(),
        Err(err) => {
            tracing::error!(%err, "failed to serialize response body");
            StatusCode::INTERNAL_SERVER_ERROR.into_response()
        }
    }
}

/// Who made a request, attached to a response as an extension so the
/// journal can record tenant and client for calls it cannot attribute from
/// the bearer token (the token endpoints).
#[derive(Debug, Clone, Default)]
pub(crate) struct JournalCtx {
    /// Tenant of the authenticated client, if any.
    pub tenant: Option<String>,
    /// Client id presented (even when authentication failed).
    pub client_id: Option<String>,
    /// `grant_type` of a token request.
    pub grant_type: Option<String>,
}

/// Decodes an `application/x-www-form-urlencoded` string (also used for
/// query strings) into pairs, in order. `+` is a space; malformed `%`
/// escapes are kept literally; invalid UTF-8 is replaced.
pub(crate) fn parse_urlencoded(input: &str) -> Vec<(String, String)> {
    input
        .split('&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            (percent_decode(k), percent_decode(v))
        })
        .collect()
}

/// Percent-decodes one form component.
pub(crate) fn percent_decode(input: &str) -> String {
    let bytes = input.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => {
                out.push(b' ');
                i += 1;
            }
            b'%' if i + 2 < bytes.len() => match (hex_val(bytes[i + 1]), hex_val(bytes[i + 2])) {
                (Some(h), Some(l)) => {
                    out.push(h << 4 | l);
                    i += 3;
                }
                _ => {
                    out.push(b'%');
                    i += 1;
                }
            },
            b => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn hex_val(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

/// The query string of a request as a map (the last value of a repeated
/// key wins).
pub(crate) fn query_map(query: Option<&str>) -> HashMap<String, String> {
    query
        .map(parse_urlencoded)
        .unwrap_or_default()
        .into_iter()
        .collect()
}

/// Parses a request body as a JSON object.
///
/// # Errors
/// 400 `invalid_payload` when the body is empty, not JSON, or not an object.
pub(crate) fn json_object(body: &[u8]) -> Result<Map<String, Value>, ApiError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "invalid_payload",
            "request body must be a JSON object",
        ));
    }
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(_) => Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "invalid_payload",
            "request body must be a JSON object",
        )),
        Err(err) => Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "invalid_payload",
            format!("request body is not valid JSON: {err}"),
        )),
    }
}

/// A header's value as UTF-8 text, if present and valid.
pub(crate) fn header_str<'a>(headers: &'a HeaderMap, name: &HeaderName) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

/// Header `name` as text, present even when it is not visible ASCII (its
/// other bytes as U+FFFD): for `If-Match`, where a value no ETag matches
/// still names a version and must not read as no condition at all.
pub(crate) fn header_lossy(headers: &HeaderMap, name: &HeaderName) -> Option<String> {
    headers
        .get(name)
        .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
}

/// Parses an optional `pageSize` query parameter within `1..=max`.
///
/// # Errors
/// 400 `invalid_parameter` naming `pageSize`.
pub(crate) fn page_size(
    query: &HashMap<String, String>,
    default: usize,
    max: usize,
) -> Result<usize, ApiError> {
    match query.get("pageSize") {
        None => Ok(default),
        Some(raw) => match raw.trim().parse::<usize>() {
            Ok(n) if (1..=max).contains(&n) => Ok(n),
            _ => Err(ApiError::invalid_parameter(vec![FieldError::new(
                "pageSize",
                "range",
                format!("must be an integer in 1..={max}, got {raw:?}"),
            )])),
        },
    }
}

/// The value of a path parameter, turning axum's plain-text rejection into
/// a JSON 400.
///
/// # Errors
/// 400 `invalid_parameter` when the segment does not decode.
pub(crate) fn path_param<T>(
    path: Result<axum::extract::Path<T>, axum::extract::rejection::PathRejection>,
) -> Result<T, ApiError> {
    path.map(|axum::extract::Path(v)| v)
        .map_err(|rej| invalid_path(rej.body_text()))
}

/// 400 `invalid_parameter` for path parameters that did not parse (`why`).
pub(crate) fn invalid_path(why: String) -> ApiError {
    ApiError::new(StatusCode::BAD_REQUEST, "invalid_parameter", why)
}

/// The `Idempotency-Key` header, when present and non-empty.
pub(crate) fn idempotency_key(headers: &HeaderMap) -> Option<&str> {
    headers
        .get("idempotency-key")
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|k| !k.is_empty())
}

/// A 201 response replaying a stored body, marked `Idempotent-Replayed: true`.
pub(crate) fn replayed(body: &Value) -> Response {
    let mut resp = json_response(StatusCode::CREATED, body);
    resp.headers_mut()
        .insert("idempotent-replayed", HeaderValue::from_static("true"));
    resp
}

/// A 201 response with a `Location` header.
pub(crate) fn created(body: &Value, location: &str) -> Response {
    let mut resp = json_response(StatusCode::CREATED, body);
    if let Ok(v) = HeaderValue::from_str(location) {
        resp.headers_mut().insert(header::LOCATION, v);
    }
    resp
}

/// A date-time as CXone clients send it: RFC 3339 (any offset), a naive
/// `YYYY-MM-DDTHH:MM:SS[.fff]` read as UTC, or a date alone (its midnight,
/// UTC); `None` for anything else.
pub(crate) fn parse_instant(raw: &str) -> Option<chrono::DateTime<chrono::Utc>> {
    chrono::DateTime::parse_from_rfc3339(raw)
        .map(|d| d.with_timezone(&chrono::Utc))
        .or_else(|_| {
            chrono::NaiveDateTime::parse_from_str(raw, "%Y-%m-%dT%H:%M:%S%.f").map(|n| n.and_utc())
        })
        .or_else(|_| {
            chrono::NaiveDate::parse_from_str(raw, "%Y-%m-%d")
                .map(|d| d.and_time(chrono::NaiveTime::MIN).and_utc())
        })
        .ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_form_components() {
        let cases = [
            ("a=b", vec![("a", "b")]),
            ("a=b+c&d=%41%42", vec![("a", "b c"), ("d", "AB")]),
            ("flag&x=", vec![("flag", ""), ("x", "")]),
            ("bad=%zz%4", vec![("bad", "%zz%4")]),
            ("trail=%", vec![("trail", "%")]),
            (
                "scope=workflow.read%20audit.read",
                vec![("scope", "workflow.read audit.read")],
            ),
            ("", vec![]),
        ];
        for (input, want) in cases {
            let got = parse_urlencoded(input);
            let want: Vec<(String, String)> = want
                .into_iter()
                .map(|(a, b)| (a.to_owned(), b.to_owned()))
                .collect();
            assert_eq!(got, want, "input {input:?}");
        }
    }
}
