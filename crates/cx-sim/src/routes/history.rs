//! Interaction history (seed 003).
//!
//! - `POST /api/v2/interactions/history/query` with `{filter, limit: 1..=1000
//!   (default 100), offset: ≥ 0 (default 0), sort: "nodeTimestamp ASC" |
//!   "nodeTimestamp DESC" (default ASC)}` → 200 `{data: [{interactionId,
//!   steps: [{nodeId, nodeType, startTime, endTime, variablesBefore,
//!   variablesAfter, errorState}]}], totalCount, offset, limit}`.
//!   The filter grammar is in [`crate::history_filter`]. An interaction is
//!   returned when its id is selected and at least one of its steps
//!   matches the step conditions (`nodeTimestamp` against `startTime`,
//!   `errorState`), with only those steps; interactions come in a stable
//!   order (fixtures, then synthetic ids ascending; `IN` lists in the order
//!   written), steps sorted by `startTime` per `sort`. `totalCount` counts
//!   every matching interaction.
//! - 400 `invalid_filter` with `position` (byte offset) and `token` when the
//!   filter does not parse; 400 `retention_exceeded` when a timestamp in it
//!   is more than 30 days before the simulator's now; 400
//!   `invalid_payload` naming `limit`, `offset` or `sort`.
//! - 429 `concurrent_query_limit` with `Retry-After: 1` when the tenant
//!   already has `maxConcurrentQueries` queries in flight (default 5).
//! - Scope: `interactions:read` | `interactions.read`.
//! - `POST /webhooks/history` (no authentication): a completion-webhook
//!   receiver for tests; stores the JSON body ([`crate::Sim::history_webhooks`],
//!   the newest 4 × `Retention::max_finished`),
//!   answers 204. It is journaled and can be faulted like any API route.
//!
//! Admin: `PUT /_sim/history/synthetic?tenant=` with a
//! [`crate::SyntheticHistory`], `PUT /_sim/history/settings` with
//! [`crate::HistorySettings`], `GET /_sim/history/webhooks`.

use std::fmt::Write as _;

use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, Uri, header};
use axum::response::Response;
use axum::routing::{get, post, put};
use bytes::Bytes;
use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::{Map, Value, json};

use crate::history::{
    HistorySettings, Step, SyntheticHistory, fixtures, synthetic_steps, synthetic_timing,
};
use crate::history_filter::{Condition, Filter, parse_filter};
use crate::routes::admin::{parse, tenant_param};
use crate::routes::common::Api;
use crate::scopes::Permission;
use crate::state::AppState;
use crate::wire::{ApiError, FieldError, json_object, json_response};

/// Days of history the endpoint keeps and accepts in filters (seed 003).
const RETENTION_DAYS: i64 = 30;

/// The routes of this module.
pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/v2/interactions/history/query", post(query))
        .route("/webhooks/history", post(receive_webhook))
        .route("/_sim/history/synthetic", put(set_synthetic))
        .route("/_sim/history/settings", put(set_settings))
        .route("/_sim/history/webhooks", get(list_webhooks))
}

struct Paging {
    limit: usize,
    offset: usize,
    descending: bool,
}

fn paging(body: &Map<String, Value>) -> Result<Paging, ApiError> {
    let mut errors = Vec::new();
    let mut int =
        |key: &str, default: usize, range: std::ops::RangeInclusive<usize>| match body.get(key) {
            None | Some(Value::Null) => default,
            Some(v) => match v.as_u64().and_then(|n| usize::try_from(n).ok()) {
                Some(n) if range.contains(&n) => n,
                _ => {
                    errors.push(FieldError::new(
                        key,
                        "range",
                        format!(
                            "must be an integer in {}..={}, got {v}",
                            range.start(),
                            range.end()
                        ),
                    ));
                    default
                }
            },
        };
    let limit = int("limit", 100, 1..=1000);
    let offset = int("offset", 0, 0..=usize::MAX);
    let descending = match body.get("sort") {
        None | Some(Value::Null) => false,
        Some(Value::String(s)) if s.eq_ignore_ascii_case("nodeTimestamp ASC") => false,
        Some(Value::String(s)) if s.eq_ignore_ascii_case("nodeTimestamp DESC") => true,
        Some(other) => {
            errors.push(FieldError::new(
                "sort",
                "format",
                format!("must be \"nodeTimestamp ASC\" or \"nodeTimestamp DESC\", got {other}"),
            ));
            false
        }
    };
    if errors.is_empty() {
        Ok(Paging {
            limit,
            offset,
            descending,
        })
    } else {
        Err(ApiError::invalid_payload(errors))
    }
}

fn parse_and_check(body: &Map<String, Value>, now: DateTime<Utc>) -> Result<Filter, ApiError> {
    let Some(raw) = body.get("filter").and_then(Value::as_str) else {
        return Err(ApiError::invalid_payload(vec![FieldError::new(
            "filter",
            "required",
            "a filter string is required",
        )]));
    };
    let filter = parse_filter(raw).map_err(|e| {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "invalid_filter",
            format!("invalid filter: {e}"),
        )
        .field("position", json!(e.position))
        .field("token", json!(e.lexeme))
    })?;
    let oldest = now - chrono::Duration::days(RETENTION_DAYS);
    for c in &filter.conditions {
        if let Condition::Timestamp { at, position, .. } = c
            && *at < oldest
        {
            return Err(ApiError::new(
                StatusCode::BAD_REQUEST,
                "retention_exceeded",
                format!(
                    "nodeTimestamp {} at offset {position} is older than the {RETENTION_DAYS}-day retention (oldest {})",
                    at.to_rfc3339(),
                    oldest.to_rfc3339()
                ),
            )
            .field("position", json!(position)));
        }
    }
    Ok(filter)
}

/// Where a candidate interaction comes from.
enum Source {
    Fixture(usize),
    Synthetic(u64),
}

/// Every candidate interaction the filter's id conditions select, in order.
fn candidates<'a>(
    filter: &'a Filter,
    fixture_ids: &'a [&'static str],
    synthetic: Option<SyntheticHistory>,
) -> Box<dyn Iterator<Item = Source> + 'a> {
    let in_list = filter.conditions.iter().find_map(|c| match c {
        Condition::IdIn(ids) => Some(ids),
        _ => None,
    });
    if let Some(ids) = in_list {
        let mut seen = std::collections::HashSet::new();
        return Box::new(ids.iter().filter_map(move |id| {
            if !seen.insert(id.as_str()) || !filter.selects_id(id) {
                return None;
            }
            match fixture_ids.iter().position(|f| f == id) {
                Some(i) => Some(Source::Fixture(i)),
                None => synthetic
                    .and_then(|s| s.index_of(id))
                    .map(Source::Synthetic),
            }
        }));
    }
    let fixtures = (0..fixture_ids.len())
        .filter(|&i| filter.selects_id(fixture_ids[i]))
        .map(Source::Fixture);
    let count = synthetic.map_or(0, |s| s.interactions);
    // A prefix of `syn-` (the usual load-test filter) selects every
    // synthetic id: then no id is written out to be tested.
    let every_synthetic = filter.conditions.iter().all(|c| match c {
        Condition::IdStartsWith(p) => SyntheticHistory::PREFIX.starts_with(p.as_str()),
        _ => true,
    });
    let mut buf = String::new();
    let synthetic = (0..count)
        .filter(move |&k| {
            if every_synthetic {
                return true;
            }
            buf.clear();
            let _ = write!(buf, "{}{k:08}", SyntheticHistory::PREFIX);
            filter.selects_id(&buf)
        })
        .map(Source::Synthetic);
    Box::new(fixtures.chain(synthetic))
}

fn ms_to_utc(ms: i64) -> DateTime<Utc> {
    DateTime::<Utc>::from_timestamp_millis(ms).unwrap_or(DateTime::<Utc>::MIN_UTC)
}

/// One interaction of a query page, serialized as it is (no JSON tree).
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct PageItem {
    interaction_id: String,
    steps: Vec<Step>,
}

/// A query page: `{data, totalCount, offset, limit}`.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct QueryPage {
    data: Vec<PageItem>,
    total_count: usize,
    offset: usize,
    limit: usize,
}

async fn query(api: Api, body: Bytes) -> Result<Response, ApiError> {
    api.require(Permission::HistoryRead)?;
    let Api { state, caller, .. } = &api;
    let body = json_object(&body)?;
    let page = paging(&body)?;
    let now = state.clock.wall(state.clock.now_ms());
    let filter = parse_and_check(&body, now)?;
    let settings = state.history.settings();
    let Some(_slot) = state
        .history
        .try_acquire(&caller.tenant, settings.max_concurrent_queries)
    else {
        return Err(ApiError::new(
            StatusCode::TOO_MANY_REQUESTS,
            "concurrent_query_limit",
            format!(
                "at most {} history queries may run at once per tenant",
                settings.max_concurrent_queries
            ),
        )
        .header(header::RETRY_AFTER, "1"));
    };
    if !settings.latency.is_zero() {
        tokio::time::sleep(settings.latency).await;
    }

    let origin_ms = state.clock.wall(0).timestamp_millis();
    let oldest_ms = (now - chrono::Duration::days(RETENTION_DAYS)).timestamp_millis();
    let fixture_set = fixtures(origin_ms);
    let fixture_ids: Vec<&'static str> = fixture_set.iter().map(|(id, _)| *id).collect();
    let synthetic = state.history.synthetic(&caller.tenant);
    let keeps = |start_ms: i64, error: bool| {
        start_ms >= oldest_ms && filter.selects_step(&ms_to_utc(start_ms), error)
    };
    // Without step conditions, and with the whole synthetic set inside the
    // retention, every synthetic interaction matches with all its steps:
    // counting the ones beyond the page then needs no timing (issue 13:
    // every page counts the whole set for `totalCount`).
    let every_step = !filter.has_step_conditions()
        && SyntheticHistory::earliest_start_ms(origin_ms) >= oldest_ms;

    let mut total = 0usize;
    let mut data = Vec::new();
    for source in candidates(&filter, &fixture_ids, synthetic) {
        let matched = match &source {
            Source::Fixture(i) => fixture_set[*i].1.iter().any(|s| keeps(s.start_ms, s.error)),
            Source::Synthetic(k) => synthetic.is_some_and(|set| {
                every_step
                    || synthetic_timing(&set, origin_ms, *k)
                        .any(|(start, _, err)| keeps(start, err))
            }),
        };
        if !matched {
            continue;
        }
        if total >= page.offset && data.len() < page.limit {
            let (id, steps): (String, Vec<Step>) = match source {
                Source::Fixture(i) => (fixture_set[i].0.to_owned(), fixture_set[i].1.clone()),
                Source::Synthetic(k) => (
                    SyntheticHistory::id(k),
                    synthetic.map_or_else(Vec::new, |set| synthetic_steps(&set, origin_ms, k)),
                ),
            };
            let mut steps: Vec<Step> = steps
                .into_iter()
                .filter(|s| every_step || keeps(s.start_ms, s.error))
                .collect();
            steps.sort_by_key(|s| s.start_ms);
            if page.descending {
                steps.reverse();
            }
            data.push(PageItem {
                interaction_id: id,
                steps,
            });
        }
        total += 1;
    }
    Ok(json_response(
        StatusCode::OK,
        &QueryPage {
            data,
            total_count: total,
            offset: page.offset,
            limit: page.limit,
        },
    ))
}

async fn receive_webhook(
    State(state): State<AppState>,
    body: Bytes,
) -> Result<StatusCode, ApiError> {
    let value: Value = parse(&body)?;
    let kept = state.settings.retention.max_audit_entries();
    state.history.record_webhook(value, kept);
    Ok(StatusCode::NO_CONTENT)
}

async fn set_synthetic(
    State(state): State<AppState>,
    uri: Uri,
    body: Bytes,
) -> Result<StatusCode, ApiError> {
    let set: SyntheticHistory = parse(&body)?;
    state.history.set_synthetic(&tenant_param(&uri), set);
    Ok(StatusCode::NO_CONTENT)
}

async fn set_settings(State(state): State<AppState>, body: Bytes) -> Result<StatusCode, ApiError> {
    let settings: HistorySettings = parse(&body)?;
    state.history.set_settings(settings);
    Ok(StatusCode::NO_CONTENT)
}

async fn list_webhooks(State(state): State<AppState>) -> Response {
    json_response(StatusCode::OK, &state.history.webhooks())
}
