//! CXone's contact reads (`../shared/CXONE_REST.md` §4) under
//! `/inContactAPI/services/vNN.0/`, matched by hand like
//! [`super::incontact`] (whose request, paging and error helpers they
//! share). The data is [`crate::contacts`].
//!
//! | route | answer |
//! |---|---|
//! | `GET /contacts/completed` | `startDate`, `endDate`, `updatedSince`, `top`, `skip`, `fields`, `orderBy`, `skillId`, `agentId`, `teamId`, `mediaTypeId`, `campaignId` → `{totalRecords, _links, businessUnitId, lastPollTime, completedContacts[]}` |
//! | `GET /contacts/active` | `updatedSince`, `contactId`, the same filters → `{..., activeContacts[]}` |
//! | `GET /contacts/{contactId}` | a completed contact's record, or an active one's `/contacts/active` item; 404 `InvalidContactId` (unknown or not started) |
//! | `GET /contacts/{contactId}/state-history` (also `statehistory`) | `{contactStateHistory[]}`; 404 `InvalidContactId` |
//! | `GET /agents/{agentId}/interaction-history` | `startDate`, `endDate`, `updatedSince`, `mediaTypeId`, `top`, `skip`, `fields`, `orderBy` → `{..., contactStates[]}`; 404 `Invalid Agent Id` |
//!
//! Date rules (400 with the reason in `icStatusDescription`): some of
//! `startDate`, `endDate`, `updatedSince` is required; `startDate` must be
//! before `endDate`; the range spans at most 30 days (a missing `endDate`
//! is now, a missing `startDate` is 30 days before `endDate`);
//! `updatedSince` is at most 30 days old. A contact is listed when its
//! `contactStartDate` is in `[startDate, endDate)` and its `lastUpdateTime`
//! at or after `updatedSince`. Default order: `contactStartDate`, then
//! `contactId`; `orderBy` takes one of [`ORDER_KEYS`] and `asc`/`desc`.
//! Nothing to list answers 204.
//!
//! Field names follow the version: below **v26** the older names
//! (`contactStart`, `confSeconds`, `fromAddr`, `toAddr`, `mediaType`,
//! `ACWSeconds`, and `contactId`/`agentId`/`skillId` as strings, as v23
//! clients see them); from v26 on the newer ones (`contactStartDate`,
//! `conferenceSeconds`, `fromAddress`, `toAddress`, `mediaTypeId`,
//! `acwSeconds`, numeric ids). Times are ISO-8601 with milliseconds and `Z`.

use axum::http::StatusCode;
use axum::response::Response;
use chrono::{DateTime, SecondsFormat};
use serde::ser::{Serialize, SerializeMap, Serializer};
use serde_json::{Value, json};

use super::incontact::{
    Handler, Incoming, Request, Route, bad_request, find_route, ic_error, serve,
};
use crate::contacts::{Contact, ContactStore, MAX_CONTACT_MS};
use crate::sync::lock;
use crate::wire::ApiError;

const DAY_MS: i64 = 24 * 60 * 60 * 1000;
/// The widest date range, and the oldest `updatedSince`, ms.
const MAX_RANGE_MS: i64 = 30 * DAY_MS;
/// The first version with the newer field names.
const NEW_NAMES_FROM: u32 = 26;

/// The `orderBy` fields (any case, either name generation).
pub(crate) const ORDER_KEYS: [&str; 10] = [
    "contactStartDate",
    "contactStart",
    "contactId",
    "lastUpdateTime",
    "inQueueSeconds",
    "agentSeconds",
    "holdSeconds",
    "acwSeconds",
    "ACWSeconds",
    "totalDurationSeconds",
];

/// Answers a contact read, or `None` when `incoming` is not one.
pub(crate) fn dispatch(incoming: &Incoming<'_>) -> Option<Response> {
    let (segments, handler) = match find_route(incoming, ROUTES)? {
        Ok(found) => found,
        Err(not_allowed) => return Some(not_allowed),
    };
    let old_names = version(incoming.uri.path()).is_some_and(|v| v < NEW_NAMES_FROM);
    // Handlers learn the name generation from a marker segment.
    let marker = old_names.then_some("~old");
    let segments: Vec<&str> = segments.iter().map(String::as_str).chain(marker).collect();
    Some(serve(incoming, &segments, handler))
}

/// The contact routes, most specific first.
const ROUTES: &[Route<Handler>] = &[
    Route::new("GET", "contacts/completed", completed),
    Route::new("GET", "contacts/active", active),
    Route::new("GET", "contacts/*", one_contact),
    Route::new("GET", "contacts/*/state-history", state_history),
    Route::new("GET", "contacts/*/statehistory", state_history),
    Route::new("GET", "agents/*/interaction-history", interaction_history),
];

/// The `NN` of `/inContactAPI/services/vNN.0/...`.
fn version(path: &str) -> Option<u32> {
    let mut segments = path.split('/').filter(|s| !s.is_empty());
    segments.find(|s| s.eq_ignore_ascii_case("services"))?;
    segments
        .next()?
        .trim_start_matches(['v', 'V'])
        .strip_suffix(".0")?
        .parse()
        .ok()
}

/// Whether the request is served with the older field names.
fn old_names(req: &Request<'_>) -> bool {
    req.segments.last() == Some(&"~old")
}

/// Runs `f` on the tenant's contacts.
fn with_contacts<T>(req: &Request<'_>, f: impl FnOnce(&ContactStore) -> T) -> T {
    let t = req.state.tenant(req.tenant);
    let t = lock(&t);
    f(&t.contacts)
}

fn now(req: &Request<'_>) -> i64 {
    i64::try_from(req.now_ms).unwrap_or(i64::MAX)
}

/// The id filters of a list.
#[derive(Default)]
struct Filters {
    skill: Option<u64>,
    agent: Option<u64>,
    team: Option<u64>,
    media: Option<u64>,
    campaign: Option<u64>,
    contact: Option<u64>,
}

impl Filters {
    fn parse(req: &Request<'_>) -> Result<Self, ApiError> {
        let id = |name: &str, shown: &str| -> Result<Option<u64>, ApiError> {
            req.param(name)
                .map(|v| {
                    v.parse::<u64>()
                        .map_err(|_| bad_request(&format!("Invalid {shown} {v:?}")))
                })
                .transpose()
        };
        Ok(Self {
            skill: id("skillid", "skillId")?,
            agent: id("agentid", "agentId")?,
            team: id("teamid", "teamId")?,
            media: id("mediatypeid", "mediaTypeId")?,
            campaign: id("campaignid", "campaignId")?,
            contact: id("contactid", "contactId")?,
        })
    }

    fn is_empty(&self) -> bool {
        self.skill.is_none()
            && self.agent.is_none()
            && self.team.is_none()
            && self.media.is_none()
            && self.campaign.is_none()
            && self.contact.is_none()
    }

    fn keeps(&self, c: &Contact) -> bool {
        self.skill.is_none_or(|v| v == c.skill_id)
            && self.agent.is_none_or(|v| c.agent_id == Some(v))
            && self.team.is_none_or(|v| c.team_id == Some(v))
            && self.media.is_none_or(|v| v == c.media_type_id)
            && self.campaign.is_none_or(|v| v == c.campaign_id)
            && self.contact.is_none_or(|v| v == c.contact_id)
    }
}

/// A completed-contacts query: dates (sim ms), filters, order.
struct Query {
    start: i64,
    end: i64,
    since: Option<i64>,
    filters: Filters,
    /// Index into [`ORDER_KEYS`] and descending; `None` = default order.
    order: Option<(usize, bool)>,
}

impl Query {
    fn parse(req: &Request<'_>) -> Result<Self, ApiError> {
        let now = now(req);
        let start = req.date("startdate", "startDate")?;
        let end = req.date("enddate", "endDate")?;
        let since = req
            .date("updatedsince", "updatedSince")?
            .or(req.date("updatesince", "updatedSince")?);
        if start.is_none() && end.is_none() && since.is_none() {
            return Err(bad_request("Invalid DateRange - No dates fields provided"));
        }
        if since.is_some_and(|s| now.saturating_sub(s) > MAX_RANGE_MS) {
            return Err(bad_request(
                "Invalid updatedSince - it may be at most 30 days old",
            ));
        }
        let (start, end) = match (start, end) {
            (None, None) => (i64::MIN, i64::MAX),
            (s, e) => {
                let end = e.unwrap_or(now);
                let start = s.unwrap_or(end.saturating_sub(MAX_RANGE_MS));
                if start >= end {
                    return Err(bad_request(
                        "Invalid DateRange - startDate must be before endDate",
                    ));
                }
                if end.saturating_sub(start) > MAX_RANGE_MS {
                    return Err(bad_request(
                        "Invalid DateRange - the range may span at most 30 days",
                    ));
                }
                (start, end)
            }
        };
        let order = req
            .param("orderby")
            .map(|raw| {
                let mut words = raw.split_whitespace();
                let field = words.next().unwrap_or_default();
                let key = ORDER_KEYS
                    .iter()
                    .position(|k| k.eq_ignore_ascii_case(field));
                let desc = match words.next() {
                    None => Some(false),
                    Some(d) if d.eq_ignore_ascii_case("asc") => Some(false),
                    Some(d) if d.eq_ignore_ascii_case("desc") => Some(true),
                    Some(_) => None,
                };
                match (key, desc, words.next()) {
                    (Some(k), Some(d), None) => Ok((k, d)),
                    _ => Err(bad_request(&format!("Invalid orderBy {raw:?}"))),
                }
            })
            .transpose()?;
        Ok(Self {
            start,
            end,
            since,
            filters: Filters::parse(req)?,
            order,
        })
    }

    /// Whether completed contact `c` is listed.
    fn keeps(&self, c: &Contact, now: i64) -> bool {
        let end = c.end_ms();
        end <= now
            && (self.start..self.end).contains(&c.start_ms)
            && self.since.is_none_or(|s| end >= s)
            && self.filters.keeps(c)
    }

    /// The sort key of `c` under [`Query::order`].
    fn key(&self, c: &Contact) -> i64 {
        let Some((k, _)) = self.order else {
            return c.start_ms;
        };
        match ORDER_KEYS.get(k).copied().unwrap_or_default() {
            "contactId" => i64::try_from(c.contact_id).unwrap_or(i64::MAX),
            "lastUpdateTime" => c.end_ms(),
            "inQueueSeconds" => c.in_queue_s,
            "agentSeconds" => c.agent_s,
            "holdSeconds" => c.hold_s,
            "acwSeconds" | "ACWSeconds" => c.acw_s,
            "totalDurationSeconds" => c.total_s(),
            _ => c.start_ms,
        }
    }
}

/// The listed contacts of `query` in `store` at `now`: their number and the
/// `(top, skip)` window of them, in order.
fn select(
    store: &ContactStore,
    query: &Query,
    now: i64,
    (top, skip): (usize, usize),
) -> (usize, Vec<Contact>) {
    let timeline = &store.timeline;
    let lower = query.start.max(
        query
            .since
            .map_or(i64::MIN, |s| s.saturating_sub(MAX_CONTACT_MS)),
    );
    let k_lo = timeline.first_at_or_after(lower);
    // A contact starting at or after now has not ended.
    let k_hi = timeline.first_at_or_after(query.end.min(now)).max(k_lo);
    let spawned: Vec<&Contact> = store
        .spawned
        .values()
        .filter(|c| query.keeps(c, now))
        .collect();
    if spawned.is_empty()
        && query.order.is_none()
        && query.since.is_none()
        && query.filters.is_empty()
    {
        // Every contact in [k_lo, k_done) has ended: count it without generating it.
        let k_done = timeline
            .first_at_or_after(now.saturating_sub(MAX_CONTACT_MS))
            .clamp(k_lo, k_hi);
        let tail = (k_done..k_hi)
            .filter_map(|k| timeline.contact(k))
            .filter(|c| query.keeps(c, now))
            .count();
        let head = usize::try_from(k_done - k_lo).unwrap_or(usize::MAX);
        let total = head.saturating_add(tail);
        let skip_k = u64::try_from(skip).unwrap_or(u64::MAX);
        let page = if skip < head {
            (k_lo.saturating_add(skip_k)..k_hi)
                .filter_map(|k| timeline.contact(k))
                .filter(|c| query.keeps(c, now))
                .take(top)
                .collect()
        } else {
            (k_done..k_hi)
                .filter_map(|k| timeline.contact(k))
                .filter(|c| query.keeps(c, now))
                .skip(skip - head)
                .take(top)
                .collect()
        };
        return (total, page);
    }
    let mut keys: Vec<(i64, u64)> = (k_lo..k_hi)
        .filter_map(|k| timeline.contact(k))
        .chain(spawned.into_iter().cloned())
        .filter(|c| query.keeps(c, now))
        .map(|c| (query.key(&c), c.contact_id))
        .collect();
    keys.sort_unstable();
    if query.order.is_some_and(|(_, desc)| desc) {
        keys.reverse();
    }
    let page = keys
        .iter()
        .skip(skip)
        .take(top)
        .filter_map(|&(_, id)| store.contact(id))
        .collect();
    (keys.len(), page)
}

/// Renders sim ms as ISO-8601 with milliseconds and `Z`.
struct Stamp {
    /// Wall-clock Unix ms of sim time 0.
    origin: i64,
}

impl Stamp {
    fn new(req: &Request<'_>) -> Self {
        Self {
            origin: req.state.clock.wall(0).timestamp_millis(),
        }
    }

    fn at(&self, sim_ms: i64) -> String {
        DateTime::from_timestamp_millis(self.origin.saturating_add(sim_ms))
            .unwrap_or_default()
            .to_rfc3339_opts(SecondsFormat::Millis, true)
    }
}

const SKILL_NAMES: [&str; 5] = [
    "Sales Phone",
    "Support Phone",
    "Support Email",
    "Support Chat",
    "Billing Phone",
];

fn skill_name(skill_id: u64) -> String {
    skill_id
        .checked_sub(4_100_001)
        .and_then(|i| usize::try_from(i).ok())
        .and_then(|i| SKILL_NAMES.get(i))
        .map_or_else(|| format!("Skill {skill_id}"), |s| (*s).to_owned())
}

fn team_name(team_id: u64) -> &'static str {
    match team_id {
        2001 => "Tier 1",
        2002 => "Tier 2",
        _ => "Supervisors",
    }
}

fn media_name(media_type_id: u64) -> &'static str {
    match media_type_id {
        1 => "Email",
        3 => "Chat",
        5 => "Voice Mail",
        _ => "Phone Call",
    }
}

fn transfer_name(indicator: u8) -> &'static str {
    match indicator {
        1 => "ReSkill",
        2 => "ReAgent",
        3 => "Consult",
        _ => "None",
    }
}

/// A completed contact as JSON, in the version's field names, keeping only
/// `fields` (lower-cased) when given.
struct ContactJson<'a> {
    c: &'a Contact,
    old: bool,
    stamp: &'a Stamp,
    fields: Option<&'a [String]>,
}

impl Serialize for ContactJson<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let c = self.c;
        let old = self.old;
        let mut map = serializer.serialize_map(None)?;
        macro_rules! put {
            ($new:expr, $older:expr, $value:expr $(,)?) => {{
                let key = if old { $older } else { $new };
                if self
                    .fields
                    .is_none_or(|f| f.iter().any(|k| k.eq_ignore_ascii_case(key)))
                {
                    map.serialize_entry(key, &$value)?;
                }
            }};
        }
        let id = |v: u64| -> Value { if old { json!(v.to_string()) } else { json!(v) } };
        let end = c.end_ms();
        put!("contactId", "contactId", &id(c.contact_id));
        put!("masterContactId", "masterContactId", &c.master_contact_id);
        put!(
            "contactStartDate",
            "contactStart",
            &self.stamp.at(c.start_ms),
        );
        put!("lastUpdateTime", "lastUpdateTime", &self.stamp.at(end));
        put!(
            "dateContactWarehoused",
            "dateContactWarehoused",
            &self.stamp.at(end),
        );
        put!(
            "dateACWWarehoused",
            "dateACWWarehoused",
            &self.stamp.at(end)
        );
        put!("agentId", "agentId", &c.agent_id.map(id));
        put!("teamId", "teamId", &c.team_id);
        put!("teamName", "teamName", &c.team_id.map(team_name));
        put!("skillId", "skillId", &id(c.skill_id));
        put!("skillName", "skillName", &skill_name(c.skill_id));
        put!("campaignId", "campaignId", &c.campaign_id);
        put!(
            "pointOfContactId",
            "pointOfContactId",
            &c.point_of_contact_id
        );
        put!(
            "pointOfContactName",
            "pointOfContactName",
            &c.point_of_contact_name,
        );
        put!("mediaTypeId", "mediaType", &c.media_type_id);
        put!(
            "mediaTypeName",
            "mediaTypeName",
            &media_name(c.media_type_id)
        );
        put!("fromAddress", "fromAddr", &c.from_address);
        put!("toAddress", "toAddr", &c.to_address);
        put!("isOutbound", "isOutbound", &c.is_outbound);
        put!("isRefused", "isRefused", &c.is_refused);
        put!(
            "refuseReason",
            "refuseReason",
            &c.is_refused.then_some("Agent Refused")
        );
        put!(
            "refuseTime",
            "refuseTime",
            &c.refuse_ms.map(|ms| self.stamp.at(ms))
        );
        put!("isShortAbandon", "isShortAbandon", &c.is_short_abandon);
        put!("abandoned", "abandoned", &c.abandoned);
        put!("isTakeover", "isTakeover", &false);
        put!("isLogged", "isLogged", &false);
        put!("totalDurationSeconds", "totalDurationSeconds", &c.total_s());
        put!("preQueueSeconds", "preQueueSeconds", &c.pre_queue_s);
        put!("inQueueSeconds", "inQueueSeconds", &c.in_queue_s);
        put!("postQueueSeconds", "postQueueSeconds", &0);
        put!("abandonSeconds", "abandonSeconds", &c.abandon_s);
        put!("agentSeconds", "agentSeconds", &c.agent_s);
        put!("holdSeconds", "holdSeconds", &c.hold_s);
        put!("holdCount", "holdCount", &c.hold_count);
        put!("acwSeconds", "ACWSeconds", &c.acw_s);
        put!("conferenceSeconds", "confSeconds", &c.conference_s);
        put!("releaseSeconds", "releaseSeconds", &0);
        put!(
            "serviceLevelFlag",
            "serviceLevelFlag",
            &c.service_level_flag
        );
        put!("endReason", "endReason", &c.end_reason);
        put!("transferIndicatorId", "transferIndicatorId", &c.transfer);
        put!(
            "transferIndicatorName",
            "transferIndicatorName",
            &transfer_name(c.transfer),
        );
        put!("primaryDispositionId", "primaryDispositionId", &Value::Null);
        put!(
            "secondaryDispositionId",
            "secondaryDispositionId",
            &Value::Null
        );
        put!("dispositionNotes", "dispositionNotes", &Value::Null);
        put!("tags", "tags", &Vec::<Value>::new());
        put!(
            "campaignName",
            "campaignName",
            &format!("Campaign {}", c.campaign_id)
        );
        put!("mediaSubTypeId", "mediaSubTypeId", &Value::Null);
        put!("mediaSubTypeName", "mediaSubTypeName", &Value::Null);
        put!("firstName", "firstName", &Value::Null);
        put!("lastName", "lastName", &Value::Null);
        put!("routingTime", "routingTime", &0);
        put!("divisionNo", "divisionNo", &0);
        put!("analyticsProcessed", "analyticsProcessed", &false);
        map.end()
    }
}

/// The `fields` projection, checked against the known field names (either
/// generation, any case): 400 `Invalid fields` for an unknown one.
fn fields(req: &Request<'_>, known: &[&str]) -> Result<Option<Vec<String>>, ApiError> {
    let fields = req.fields();
    if let Some(bad) = fields
        .iter()
        .flatten()
        .find(|f| !known.iter().any(|k| k.eq_ignore_ascii_case(f)))
    {
        return Err(bad_request(&format!(
            "Invalid fields - unknown field {bad:?}"
        )));
    }
    Ok(fields)
}

/// Every completed-contact field name, both generations.
const CONTACT_FIELDS: [&str; 59] = [
    "contactId",
    "masterContactId",
    "contactStartDate",
    "contactStart",
    "lastUpdateTime",
    "dateContactWarehoused",
    "dateACWWarehoused",
    "agentId",
    "teamId",
    "teamName",
    "skillId",
    "skillName",
    "campaignId",
    "pointOfContactId",
    "pointOfContactName",
    "mediaTypeId",
    "mediaType",
    "mediaTypeName",
    "fromAddress",
    "fromAddr",
    "toAddress",
    "toAddr",
    "isOutbound",
    "isRefused",
    "refuseReason",
    "refuseTime",
    "isShortAbandon",
    "abandoned",
    "isTakeover",
    "isLogged",
    "totalDurationSeconds",
    "preQueueSeconds",
    "inQueueSeconds",
    "postQueueSeconds",
    "abandonSeconds",
    "agentSeconds",
    "holdSeconds",
    "holdCount",
    "acwSeconds",
    "ACWSeconds",
    "conferenceSeconds",
    "confSeconds",
    "releaseSeconds",
    "serviceLevelFlag",
    "endReason",
    "transferIndicatorId",
    "transferIndicatorName",
    "primaryDispositionId",
    "tags",
    "routingTime",
    "secondaryDispositionId",
    "dispositionNotes",
    "campaignName",
    "mediaSubTypeId",
    "mediaSubTypeName",
    "firstName",
    "lastName",
    "divisionNo",
    "analyticsProcessed",
];

fn completed(req: &Request<'_>) -> Result<Response, ApiError> {
    let query = Query::parse(req)?;
    let window = req.window()?;
    let fields = fields(req, &CONTACT_FIELDS)?;
    let (total, page) = with_contacts(req, |s| select(s, &query, now(req), window));
    let stamp = Stamp::new(req);
    let old = old_names(req);
    let items: Vec<ContactJson<'_>> = page
        .iter()
        .map(|c| ContactJson {
            c,
            old,
            stamp: &stamp,
            fields: fields.as_deref(),
        })
        .collect();
    Ok(req.page_of("completedContacts", total, window, &items))
}

/// Path segment 1 as a contact that has started, or 404 `InvalidContactId`.
fn started_contact(req: &Request<'_>) -> Result<Contact, ApiError> {
    let now = now(req);
    req.segments
        .get(1)
        .and_then(|raw| raw.parse::<u64>().ok())
        .and_then(|id| with_contacts(req, |s| s.contact(id)))
        .filter(|c| c.start_ms <= now)
        .ok_or_else(|| ic_error(StatusCode::NOT_FOUND, "not_found", "InvalidContactId"))
}

fn one_contact(req: &Request<'_>) -> Result<Response, ApiError> {
    let contact = started_contact(req)?;
    let fields = fields(req, &CONTACT_FIELDS)?;
    let stamp = Stamp::new(req);
    let now = now(req);
    if now < contact.end_ms()
        && let Some(state) = contact.state_at(now)
    {
        // Not ended: what `/contacts/active` shows of it, nothing of its future.
        let item = active_json(&contact, state, &stamp);
        return Ok(crate::wire::json_response(
            StatusCode::OK,
            &super::incontact::project(item, fields.as_deref()),
        ));
    }
    let body = ContactJson {
        c: &contact,
        old: old_names(req),
        stamp: &stamp,
        fields: fields.as_deref(),
    };
    Ok(crate::wire::json_response(StatusCode::OK, &body))
}

fn state_history(req: &Request<'_>) -> Result<Response, ApiError> {
    let contact = started_contact(req)?;
    let now = now(req);
    let stamp = Stamp::new(req);
    let warehoused = contact.end_ms() <= now;
    let states: Vec<Value> = contact
        .states
        .iter()
        .filter(|s| s.start_ms <= now)
        .zip(1u32..)
        .map(|(s, index)| {
            let ms = if warehoused {
                s.duration_ms
            } else {
                s.duration_ms.min(now.saturating_sub(s.start_ms))
            };
            json!({
                "stateIndex": index,
                "contactId": contact.contact_id,
                "contactStateId": s.id,
                "contactStateName": s.name,
                "startDate": stamp.at(s.start_ms),
                "agentId": s.agent_id,
                "skillId": s.skill_id,
                "skillName": skill_name(s.skill_id),
                "duration": ms as f64 / 1000.0,
                "isWarehoused": warehoused,
            })
        })
        .collect();
    Ok(crate::wire::json_response(
        StatusCode::OK,
        &json!({ "contactStateHistory": states }),
    ))
}

fn active(req: &Request<'_>) -> Result<Response, ApiError> {
    let now = now(req);
    let filters = Filters::parse(req)?;
    let since = req
        .date("updatedsince", "updatedSince")?
        .or(req.date("updatesince", "updatedSince")?);
    let stamp = Stamp::new(req);
    let items = with_contacts(req, |s| {
        let t = &s.timeline;
        let k_lo = t.first_at_or_after(now.saturating_sub(MAX_CONTACT_MS));
        let k_hi = t.first_at_or_after(now.saturating_add(1));
        (k_lo..k_hi)
            .filter_map(|k| t.contact(k))
            .chain(s.spawned.values().cloned())
            .filter(|c| c.start_ms <= now && now < c.end_ms() && filters.keeps(c))
            .filter_map(|c| {
                let state = c.state_at(now)?;
                since
                    .is_none_or(|at| state.start_ms >= at)
                    .then(|| active_json(&c, state, &stamp))
            })
            .collect::<Vec<Value>>()
    });
    req.page("activeContacts", items)
}

fn active_json(c: &Contact, state: &crate::contacts::ContactState, stamp: &Stamp) -> Value {
    let category = match state.name {
        "PreQueue" | "InQueue" | "Routing" => "Queued",
        _ => "Active",
    };
    json!({
        "contactId": c.contact_id,
        "masterContactId": c.master_contact_id,
        "agentId": state.agent_id,
        "teamId": state.agent_id.and(c.team_id),
        "skillId": state.skill_id,
        "skillName": skill_name(state.skill_id),
        "stateId": state.id,
        "stateName": state.name,
        "contactStateCategory": category,
        "contactStartDate": stamp.at(c.start_ms),
        "lastUpdateTime": stamp.at(state.start_ms),
        "mediaTypeId": c.media_type_id,
        "mediaTypeName": media_name(c.media_type_id),
        "campaignId": c.campaign_id,
        "pointOfContactId": c.point_of_contact_id,
        "pointOfContactName": c.point_of_contact_name,
        "fromAddress": c.from_address,
        "toAddress": c.to_address,
        "isOutbound": c.is_outbound,
    })
}

/// The interaction-history field names.
const INTERACTION_FIELDS: [&str; 11] = [
    "contactId",
    "masterContactId",
    "contactStartDate",
    "agentId",
    "skillId",
    "isOutbound",
    "fromAddr",
    "toAddr",
    "primaryDispositionId",
    "transferIndicatorName",
    "lastUpdateTime",
];

fn interaction_history(req: &Request<'_>) -> Result<Response, ApiError> {
    let agent = req.agent_id()?;
    let mut query = Query::parse(req)?;
    query.filters.agent = Some(agent);
    let window = req.window()?;
    let fields = fields(req, &INTERACTION_FIELDS)?;
    let (total, page) = with_contacts(req, |s| select(s, &query, now(req), window));
    let stamp = Stamp::new(req);
    let items: Vec<Value> = page
        .iter()
        .map(|c| {
            let item = json!({
                "contactId": c.contact_id,
                "masterContactId": c.master_contact_id,
                "contactStartDate": stamp.at(c.start_ms),
                "agentId": agent,
                "skillId": c.skill_id,
                "isOutbound": c.is_outbound,
                "fromAddr": c.from_address,
                "toAddr": c.to_address,
                "primaryDispositionId": Value::Null,
                "transferIndicatorName": transfer_name(c.transfer),
                "lastUpdateTime": stamp.at(c.end_ms()),
            });
            super::incontact::project(item, fields.as_deref())
        })
        .collect();
    Ok(req.page_of("contactStates", total, window, &items))
}
