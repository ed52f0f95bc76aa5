//! Audit logs (seed 000 step 5).
//!
//! `GET /api/v2/audit/logs?resourceType=&resourceId=&action=&pageSize=&pageToken=`
//! → `{items: [{id, timestamp, userId, action, resourceType, resourceId,
//! details}], totalCount, nextPageToken?}`. Filters are optional and exact;
//! `totalCount` counts every matching entry; `pageSize` is 1..=1000 (default
//! 100); `nextPageToken` is omitted on the last page. Page tokens are opaque
//! (base64url of an offset); a malformed one → 400 `invalid_parameter`.
//! Entries come from real mutations, oldest first. Scope: `audit.read` |
//! `audit:read`.

use axum::Router;
use axum::http::Uri;
use axum::response::Response;
use axum::routing::get;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Value, json};

use crate::routes::common::Api;
use crate::scopes::Permission;
use crate::state::AppState;
use crate::wire::{ApiError, FieldError, page_size, query_map};

/// The routes of this module.
pub(crate) fn routes() -> Router<AppState> {
    Router::new().route("/api/v2/audit/logs", get(list_audit_logs))
}

fn encode_token(offset: usize) -> String {
    URL_SAFE_NO_PAD.encode(format!("o:{offset}"))
}

fn decode_token(token: &str) -> Option<usize> {
    let bytes = URL_SAFE_NO_PAD.decode(token.trim()).ok()?;
    let text = String::from_utf8(bytes).ok()?;
    text.strip_prefix("o:")?.parse().ok()
}

async fn list_audit_logs(api: Api, uri: Uri) -> Result<Response, ApiError> {
    api.require(Permission::AuditRead)?;
    let query = query_map(uri.query());
    let limit = page_size(&query, 100, 1000)?;
    let offset = match query.get("pageToken").filter(|t| !t.is_empty()) {
        None => 0,
        Some(token) => decode_token(token).ok_or_else(|| {
            ApiError::invalid_parameter(vec![FieldError::new(
                "pageToken",
                "invalid",
                "page token is malformed or was not issued by this server",
            )])
        })?,
    };
    let filter = |key: &str| query.get(key).filter(|v| !v.is_empty());
    let (resource_type, resource_id, action) = (
        filter("resourceType"),
        filter("resourceId"),
        filter("action"),
    );

    api.read(|t, _| {
        let matching = t.audit.iter().filter(|e| {
            resource_type.is_none_or(|v| e.resource_type == v)
                && resource_id.is_none_or(|v| &e.resource_id == v)
                && action.is_none_or(|v| e.action == v)
        });
        let mut total = 0usize;
        let mut items: Vec<Value> = Vec::new();
        for entry in matching {
            if total >= offset && items.len() < limit {
                items.push(serde_json::to_value(entry).unwrap_or(Value::Null));
            }
            total += 1;
        }
        let mut body = json!({ "items": items, "totalCount": total });
        let next = offset.saturating_add(limit);
        if next < total
            && let Value::Object(map) = &mut body
        {
            map.insert("nextPageToken".into(), json!(encode_token(next)));
        }
        Ok(body)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn page_tokens_roundtrip_and_reject_garbage() {
        for offset in [0, 1, 100, 123_456] {
            assert_eq!(decode_token(&encode_token(offset)), Some(offset));
        }
        for bad in [
            "",
            "!!!",
            "Zm9v",
            &URL_SAFE_NO_PAD.encode("x:1"),
            &URL_SAFE_NO_PAD.encode("o:-1"),
        ] {
            assert_eq!(decode_token(bad), None, "{bad:?}");
        }
    }
}
