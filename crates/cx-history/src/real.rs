//! CXone's real contact history (`../shared/CXONE_REST.md` §4), on the
//! shared runtime: `{api}/inContactAPI/services/vNN.0/...`. Analytics over
//! what it reads are in [`analytics`].
//!
//! | intent | here | CXone endpoint |
//! |---|---|---|
//! | completed contacts by date range or incrementally | [`Client::completed_contacts`] (`Stream` of contacts), [`Client::completed_pages`] (`Stream` of pages with `lastPollTime`) | `GET /contacts/completed` (`startDate`, `endDate`, `updatedSince`, `top`, `skip`, `fields`, `orderBy`, `skillId`, `agentId`, `teamId`, `mediaTypeId`, `campaignId`) |
//! | one contact | [`Client::contact`] | `GET /contacts/{contactId}` |
//! | a contact's state history | [`Client::state_history`] | `GET /contacts/{contactId}/state-history` |
//! | an agent's interaction history | [`Client::interaction_history`] (`Stream`) | `GET /agents/{agentId}/interaction-history` |
//!
//! **Windows.** CXone answers at most 30 days per request, so a longer
//! range is split into consecutive windows of at most [`MAX_WINDOW_DAYS`]
//! days (`[start, start+30d)`, ...), read one after the other. Dates are
//! sent in whole milliseconds, so the range is cut to them first.
//!
//! **Paging.** Each window's first page is asked for with `top` =
//! [`RealConfig::page_size`] and `skip=0`; each next page is `_links.next`,
//! followed through [`cx_http::Client::link`] (it must stay on the API's
//! origin). A window ends on a 204 (no contacts), on a page shorter than
//! `top`, or when `_links.next` is absent or `null`.
//!
//! **Incremental.** [`ContactQuery::incremental`] sends `updatedSince` =
//! the `lastPollTime` of the previous pull, which CXone caps at 30 days old:
//! an older (or absent) one is clamped to 30 days before now plus
//! [`CLAMP_MARGIN_SECS`] (so the request is not already too old when it
//! arrives) — contacts updated before that are not read again. Keep the
//! `lastPollTime` of the first page of a pull ([`Pull::last_poll_time`]) for
//! the next one: every contact updated after it is read next time. A pull of
//! a range keeps the range's end instead when that is earlier, so that a
//! contact that started after it (by the client's clock) and ended before
//! `lastPollTime` (by the server's) is read next time.
//!
//! **Field names.** Versions before v26 name some fields differently
//! (`contactStart`, `confSeconds`, `fromAddr`, `toAddr`, `mediaType`,
//! `ACWSeconds`); [`CompletedContact`] accepts both generations, and ids as
//! numbers or strings ([`Id`]).

use chrono::{DateTime, Duration, SecondsFormat, SubsecRound as _, Utc};
use cx_http::paginate::{DEFAULT_MAX_PAGES, Page, link_pages};
use cx_http::{ApiPath, RequestBuilder};
use futures::stream::{self, Stream, StreamExt as _, TryStreamExt as _};
use serde::de::{DeserializeOwned, IgnoredAny};
use serde::{Deserialize, Serialize};

use crate::error::{Error, Rule, Violation, from_http};
use crate::query::{Clock, SystemClock};

pub mod analytics;

/// The longest date range of one request, days.
pub const MAX_WINDOW_DAYS: i64 = 30;

/// How far inside the 30-day limit an incremental `updatedSince` is
/// clamped, seconds (5 minutes).
pub const CLAMP_MARGIN_SECS: i64 = 300;

cx_http::api_versions! {
    /// The `vNN.0` version segment of each resource family. Defaults:
    /// `v33.0` for contacts, the newest version `../shared/CXONE_REST.md` §4
    /// records a published client reading completed contacts with (the other,
    /// v23, has the older field names; both are read); `v23.0` for agents, as
    /// `cx_agent::real`.
    pub struct Versions {
        /// `/contacts/completed` (default `v33.0`).
        with_completed_contacts(completed_contacts) = "v33.0";
        /// `/contacts/{contactId}` and its `state-history` (default `v33.0`).
        with_contacts(contacts) = "v33.0";
        /// `/agents/{agentId}/interaction-history` (default `v23.0`).
        with_agents(agents) = "v23.0";
    }
}

/// Settings of a real-API [`Client`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct RealConfig {
    /// Version segment per resource family.
    pub versions: Versions,
    /// `top` of every list request (contacts per page; 1..=10000, default 1000).
    pub page_size: u32,
}

impl Default for RealConfig {
    fn default() -> Self {
        Self {
            versions: Versions::default(),
            page_size: 1000,
        }
    }
}

cx_http::with_setters! { RealConfig {
    /// Set [`RealConfig::versions`].
    with_versions(versions: Versions);
    /// Set [`RealConfig::page_size`] (1..=10000, checked by [`Client::new`]).
    with_page_size(page_size: u32);
}}

/// A CXone id, kept as text whether the server sent a number or a string.
pub use cx_http::TextId as Id;

/// One completed contact (`GET /contacts/completed` item), under either
/// generation of field names (`../shared/CXONE_REST.md` §4). Durations are
/// seconds. Fields not named here are not kept.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
#[non_exhaustive]
pub struct CompletedContact {
    /// `contactId`.
    pub contact_id: Option<Id>,
    /// `masterContactId`.
    pub master_contact_id: Option<Id>,
    /// `contactStartDate` (older: `contactStart`), ISO-8601.
    #[serde(alias = "contactStart")]
    pub contact_start_date: Option<String>,
    /// `lastUpdateTime`, ISO-8601.
    pub last_update_time: Option<String>,
    /// `agentId` (none for a contact no agent handled).
    pub agent_id: Option<Id>,
    /// `teamId`.
    pub team_id: Option<Id>,
    /// `skillId`.
    pub skill_id: Option<Id>,
    /// `skillName`.
    pub skill_name: Option<String>,
    /// `campaignId`.
    pub campaign_id: Option<Id>,
    /// `mediaTypeId` (older: `mediaType`).
    #[serde(alias = "mediaType")]
    pub media_type_id: Option<Id>,
    /// `fromAddress` (older: `fromAddr`).
    #[serde(alias = "fromAddr")]
    pub from_address: Option<String>,
    /// `toAddress` (older: `toAddr`).
    #[serde(alias = "toAddr")]
    pub to_address: Option<String>,
    /// `isOutbound`.
    pub is_outbound: Option<bool>,
    /// `abandoned`.
    pub abandoned: Option<bool>,
    /// `isShortAbandon`.
    pub is_short_abandon: Option<bool>,
    /// `isRefused`.
    pub is_refused: Option<bool>,
    /// `serviceLevelFlag`: 1 when answered within the service level.
    pub service_level_flag: Option<i64>,
    /// `totalDurationSeconds`.
    pub total_duration_seconds: Option<f64>,
    /// `inQueueSeconds`.
    pub in_queue_seconds: Option<f64>,
    /// `agentSeconds` (handle time).
    pub agent_seconds: Option<f64>,
    /// `holdSeconds`.
    pub hold_seconds: Option<f64>,
    /// `acwSeconds` (older: `ACWSeconds`).
    #[serde(alias = "ACWSeconds")]
    pub acw_seconds: Option<f64>,
    /// `conferenceSeconds` (older: `confSeconds`).
    #[serde(alias = "confSeconds")]
    pub conference_seconds: Option<f64>,
    /// `abandonSeconds`.
    pub abandon_seconds: Option<f64>,
    /// `transferIndicatorName` (`None`, `ReSkill`, `ReAgent`, `Consult`, ...).
    pub transfer_indicator_name: Option<String>,
    /// `endReason`.
    pub end_reason: Option<String>,
    /// `teamName`.
    pub team_name: Option<String>,
    /// `campaignName`.
    pub campaign_name: Option<String>,
    /// `mediaTypeName`.
    pub media_type_name: Option<String>,
    /// `mediaSubTypeId`.
    pub media_sub_type_id: Option<Id>,
    /// `pointOfContactId`.
    pub point_of_contact_id: Option<Id>,
    /// `pointOfContactName`.
    pub point_of_contact_name: Option<String>,
    /// `firstName` of the agent.
    pub first_name: Option<String>,
    /// `lastName` of the agent.
    pub last_name: Option<String>,
    /// `dateContactWarehoused`, ISO-8601.
    pub date_contact_warehoused: Option<String>,
    /// `dateACWWarehoused`, ISO-8601.
    #[serde(rename = "dateACWWarehoused")]
    pub date_acw_warehoused: Option<String>,
    /// `holdCount`.
    pub hold_count: Option<i64>,
    /// `preQueueSeconds`.
    pub pre_queue_seconds: Option<f64>,
    /// `postQueueSeconds`.
    pub post_queue_seconds: Option<f64>,
    /// `releaseSeconds`.
    pub release_seconds: Option<f64>,
    /// `routingTime` (seconds).
    pub routing_time: Option<f64>,
    /// `isLogged`.
    pub is_logged: Option<bool>,
    /// `isTakeover`.
    pub is_takeover: Option<bool>,
    /// `refuseReason`.
    pub refuse_reason: Option<String>,
    /// `refuseTime`.
    pub refuse_time: Option<String>,
    /// `primaryDispositionId`.
    pub primary_disposition_id: Option<Id>,
    /// `secondaryDispositionId`.
    pub secondary_disposition_id: Option<Id>,
    /// `dispositionNotes`.
    pub disposition_notes: Option<String>,
    /// `transferIndicatorId`.
    pub transfer_indicator_id: Option<Id>,
    /// `tags`, as sent: `[{tagId, tagName, ...}]` (older versions:
    /// `[{Contact_Id, TagId, TagName}]`).
    pub tags: Option<serde_json::Value>,
}

/// One state of a contact (`GET /contacts/{contactId}/state-history` item).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
#[non_exhaustive]
pub struct ContactState {
    /// `stateIndex` (1 for the first state).
    pub state_index: Option<i64>,
    /// `contactId`.
    pub contact_id: Option<Id>,
    /// `contactStateId`.
    pub contact_state_id: Option<Id>,
    /// `contactStateName` (`PreQueue`, `InQueue`, `Active`, `Hold`, ...).
    pub contact_state_name: Option<String>,
    /// `startDate`, ISO-8601.
    pub start_date: Option<String>,
    /// `agentId`.
    pub agent_id: Option<Id>,
    /// `skillId`.
    pub skill_id: Option<Id>,
    /// `skillName`.
    pub skill_name: Option<String>,
    /// `duration`, seconds.
    pub duration: Option<f64>,
    /// `isWarehoused`: the contact has ended and the history is final.
    pub is_warehoused: Option<bool>,
}

/// One contact of an agent (`GET /agents/{agentId}/interaction-history`
/// item, `contactStates[]`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
#[non_exhaustive]
pub struct AgentInteraction {
    /// `contactId`.
    pub contact_id: Option<Id>,
    /// `masterContactId`.
    pub master_contact_id: Option<Id>,
    /// `contactStartDate`, ISO-8601.
    #[serde(alias = "contactStart")]
    pub contact_start_date: Option<String>,
    /// `agentId`.
    pub agent_id: Option<Id>,
    /// `skillId`.
    pub skill_id: Option<Id>,
    /// `isOutbound`.
    pub is_outbound: Option<bool>,
    /// `fromAddr` (also `fromAddress`).
    #[serde(rename = "fromAddr", alias = "fromAddress")]
    pub from_addr: Option<String>,
    /// `toAddr` (also `toAddress`).
    #[serde(rename = "toAddr", alias = "toAddress")]
    pub to_addr: Option<String>,
    /// `transferIndicatorName`.
    pub transfer_indicator_name: Option<String>,
    /// `lastUpdateTime`, ISO-8601.
    pub last_update_time: Option<String>,
}

/// Which completed contacts to read: a date range (split into windows of
/// at most 30 days) or `updatedSince`, and filters. Ids are sent as given.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ContactQuery {
    /// `startDate`: contacts starting at or after it.
    pub start: Option<DateTime<Utc>>,
    /// `endDate`: contacts starting before it (default: now).
    pub end: Option<DateTime<Utc>>,
    /// `updatedSince`: contacts updated at or after it.
    pub updated_since: Option<DateTime<Utc>>,
    /// `skillId`.
    pub skill_id: Option<String>,
    /// `agentId`.
    pub agent_id: Option<String>,
    /// `teamId`.
    pub team_id: Option<String>,
    /// `mediaTypeId`.
    pub media_type_id: Option<String>,
    /// `campaignId`.
    pub campaign_id: Option<String>,
    /// `fields` (the projection; empty = every field).
    pub fields: Vec<String>,
    /// `orderBy`, e.g. `contactStartDate asc`.
    pub order_by: Option<String>,
}

cx_http::with_setters! { ContactQuery {
    /// Set [`ContactQuery::start`].
    with_start(start: DateTime<Utc>) = Some(start);
    /// Set [`ContactQuery::end`].
    with_end(end: DateTime<Utc>) = Some(end);
    /// Set [`ContactQuery::skill_id`].
    with_skill(skill_id: impl Into<String>) = Some(skill_id.into());
    /// Set [`ContactQuery::agent_id`].
    with_agent(agent_id: impl Into<String>) = Some(agent_id.into());
    /// Set [`ContactQuery::team_id`].
    with_team(team_id: impl Into<String>) = Some(team_id.into());
    /// Set [`ContactQuery::media_type_id`].
    with_media_type(media_type_id: impl Into<String>) = Some(media_type_id.into());
    /// Set [`ContactQuery::campaign_id`].
    with_campaign(campaign_id: impl Into<String>) = Some(campaign_id.into());
    /// Set [`ContactQuery::fields`].
    with_fields(fields: impl IntoIterator<Item = impl Into<String>>) = fields.into_iter().map(Into::into).collect();
    /// Set [`ContactQuery::order_by`].
    with_order_by(order_by: impl Into<String>) = Some(order_by.into());
}}

impl ContactQuery {
    /// Contacts starting in `[start, end)` (`end` `None` = now).
    pub fn range(start: DateTime<Utc>, end: Option<DateTime<Utc>>) -> Self {
        Self {
            start: Some(start),
            end,
            ..Self::default()
        }
    }

    /// Contacts updated since `last_poll_time` (the previous pull's
    /// [`Pull::last_poll_time`]), clamped to 30 days before `now` plus
    /// [`CLAMP_MARGIN_SECS`]; `None` reads the last 30 days (so clamped).
    pub fn incremental(last_poll_time: Option<DateTime<Utc>>, now: DateTime<Utc>) -> Self {
        let oldest = now - Duration::days(MAX_WINDOW_DAYS) + Duration::seconds(CLAMP_MARGIN_SECS);
        Self {
            updated_since: Some(last_poll_time.map_or(oldest, |t| t.max(oldest))),
            ..Self::default()
        }
    }

    /// The `[start, end)` windows of at most 30 days the range splits
    /// into, in whole milliseconds as they are sent (one `(None, None)`
    /// window for an `updatedSince`-only query).
    ///
    /// # Errors
    /// [`crate::ErrorKind::Validation`] when no date is given, or the end
    /// is not after the start.
    pub fn windows(&self, now: DateTime<Utc>) -> Result<Vec<Window>, Error> {
        let Some(start) = self.start else {
            if self.updated_since.is_none() {
                return Err(Error::validation(vec![Violation::new(
                    "start",
                    Rule::Required,
                    "give a start date or updatedSince (CXone requires a date)",
                )]));
            }
            return Ok(vec![Window {
                start: None,
                end: self.end,
            }]);
        };
        // Dates go out in whole milliseconds (`iso`): cut the windows in
        // them too, or a tail under a millisecond would be sent as a window
        // whose startDate equals its endDate (a 400).
        let start = start.trunc_subsecs(3);
        let end = self.end.unwrap_or(now).trunc_subsecs(3);
        if end <= start {
            return Err(Error::validation(vec![Violation::new(
                "end",
                Rule::Order,
                "must be after the start",
            )]));
        }
        let step = Duration::days(MAX_WINDOW_DAYS);
        let mut windows = Vec::new();
        let mut at = start;
        while at < end {
            let next = at.checked_add_signed(step).map_or(end, |n| n.min(end));
            windows.push(Window {
                start: Some(at),
                end: Some(next),
            });
            at = next;
        }
        Ok(windows)
    }
}

/// One request range of a [`ContactQuery`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    /// `startDate`, if any.
    pub start: Option<DateTime<Utc>>,
    /// `endDate`, if any.
    pub end: Option<DateTime<Utc>>,
}

/// One page of completed contacts.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct ContactPage {
    /// Index of the page's window (0 for the first).
    pub window: usize,
    /// The page's `lastPollTime`.
    pub last_poll_time: Option<DateTime<Utc>>,
    /// The end of the query's range (the last window's `endDate`; `None`
    /// when no `endDate` is sent).
    pub range_end: Option<DateTime<Utc>>,
    /// The window's `totalRecords`, when sent.
    pub total_records: Option<u64>,
    /// The contacts.
    pub contacts: Vec<CompletedContact>,
}

/// The state of a pull: the `lastPollTime` to keep for the next
/// incremental one (that of its first page, or the end of the query's
/// range when that is earlier).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Pull {
    /// The first page's `lastPollTime`, or [`ContactPage::range_end`] when
    /// that is earlier, once a page with one was read.
    pub last_poll_time: Option<DateTime<Utc>>,
}

impl Pull {
    /// Notes `page` (its `lastPollTime` is kept if it is the first one).
    /// A contact that started after the range's end was not asked for: if
    /// it ended before `lastPollTime` (a server clock ahead of the client's
    /// "now"), the next pull must start from the end to read it.
    pub fn observe(&mut self, page: &ContactPage) {
        if self.last_poll_time.is_none() {
            self.last_poll_time = page
                .last_poll_time
                .map(|at| page.range_end.map_or(at, |end| at.min(end)));
        }
    }
}

/// A real-API contact history client.
#[derive(Clone)]
pub struct Client {
    http: cx_http::Client,
    config: RealConfig,
    clock: std::sync::Arc<dyn Clock>,
}

cx_http::real_client_debug!(Client, "cx_history::real::Client");

/// A list page as CXone sends it.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Body<T> {
    #[serde(
        default = "Vec::new",
        alias = "completedContacts",
        alias = "contactStates"
    )]
    items: Vec<T>,
    #[serde(default, rename = "_links")]
    links: Option<Links>,
    last_poll_time: Option<String>,
    total_records: Option<u64>,
}

#[derive(Deserialize)]
struct Links {
    next: Option<String>,
}

impl Client {
    /// A client on `http` (the tenant's API host).
    ///
    /// # Errors
    /// [`crate::ErrorKind::Validation`] when a version does not look like
    /// `v23.0` or `page_size` is outside 1..=10000.
    pub fn new(http: cx_http::Client, config: RealConfig) -> Result<Self, Error> {
        let mut violations = config.versions.violations(Rule::Format);
        if !(1..=10_000).contains(&config.page_size) {
            violations.push(Violation::new(
                "page_size",
                Rule::Range,
                format!("must be in 1..=10000, got {}", config.page_size),
            ));
        }
        if !violations.is_empty() {
            return Err(Error::validation(violations));
        }
        Ok(Self {
            http,
            config,
            clock: std::sync::Arc::new(SystemClock),
        })
    }

    /// The same client reading "now" (the default end, the incremental
    /// clamp) from `clock`.
    #[must_use]
    pub fn with_clock(mut self, clock: impl Clock + 'static) -> Self {
        self.clock = std::sync::Arc::new(clock);
        self
    }

    /// The settings.
    pub fn config(&self) -> &RealConfig {
        &self.config
    }

    fn service(version: &str) -> ApiPath {
        ApiPath::new("/inContactAPI/services").id("version", version)
    }

    /// Pages of `first`, following `_links.next` (see the module docs
    /// for when it stops), each with `lastPollTime` and `totalRecords`.
    /// Pages are read ahead in two stages (see [`read_ahead`]): one task
    /// asks for each page and scans it only for its link and length before
    /// asking for the next; another decodes it into `T`s; the consumer works
    /// on the page before — so server, decoding and consumer overlap, with
    /// at most a few pages held.
    fn pages<T: DeserializeOwned + Send + 'static>(
        &self,
        first: RequestBuilder,
        what: String,
    ) -> impl Stream<Item = Result<Body<T>, Error>> + use<T> {
        let top = self.config.page_size;
        let first = first.query(&[("top", top.to_string().as_str()), ("skip", "0")]);
        let what_raw = what.clone();
        let raw = link_pages(
            self.http.clone(),
            first,
            DEFAULT_MAX_PAGES,
            move |resp: &cx_http::Response| {
                let body: Body<IgnoredAny> =
                    serde_json::from_slice(resp.body()).map_err(|e| not_a_list(&what_raw, e))?;
                let short = body.items.len() < usize::try_from(top).unwrap_or(usize::MAX);
                let next = body
                    .links
                    .and_then(|l| l.next)
                    .filter(|s| !s.is_empty() && !short);
                Ok(Page {
                    items: vec![resp.body().clone()],
                    next,
                })
            },
        )
        .map_ok(|page| stream::iter(page.items.into_iter().map(Ok)))
        .try_flatten();
        read_ahead(read_ahead(raw).map(move |raw| {
            let raw = raw.map_err(|e| from_http(e, &what))?;
            serde_json::from_slice::<Body<T>>(&raw)
                .map_err(|e| from_http(not_a_list(&what, e), &what))
        }))
    }

    /// Pages of completed contacts of `query`, window after window.
    ///
    /// # Errors
    /// The stream yields [`crate::ErrorKind::Validation`] first when the
    /// query has no date or ends before it starts; then the runtime's
    /// errors (a 400 from CXone is [`crate::ErrorKind::InvalidRequest`]
    /// with its `icStatusDescription`).
    pub fn completed_pages(
        &self,
        query: &ContactQuery,
    ) -> impl Stream<Item = Result<ContactPage, Error>> + use<> {
        let windows = match query.windows(self.clock.now()) {
            Ok(w) => w,
            Err(e) => return stream::once(async move { Err(e) }).boxed(),
        };
        let range_end = windows.last().and_then(|w| w.end);
        let this = self.clone();
        let query = query.clone();
        stream::iter(windows.into_iter().enumerate())
            .map(move |(index, window)| {
                let req = this.completed_request(&query, window);
                let what = format!("reading completed contacts (window {})", index + 1);
                this.pages::<CompletedContact>(req, what)
                    .map_ok(move |body| ContactPage {
                        window: index,
                        last_poll_time: body.last_poll_time.as_deref().and_then(parse_time),
                        range_end,
                        total_records: body.total_records,
                        contacts: body.items,
                    })
            })
            .flatten()
            .boxed()
    }

    /// Completed contacts of `query`, one by one (see [`Client::completed_pages`]).
    ///
    /// # Errors
    /// As [`Client::completed_pages`].
    pub fn completed_contacts(
        &self,
        query: &ContactQuery,
    ) -> impl Stream<Item = Result<CompletedContact, Error>> + use<> {
        self.completed_pages(query)
            .map_ok(|page| stream::iter(page.contacts.into_iter().map(Ok)))
            .try_flatten()
    }

    fn completed_request(&self, query: &ContactQuery, window: Window) -> RequestBuilder {
        let mut req = self
            .http
            .get(Self::service(&self.config.versions.completed_contacts).lit("contacts/completed"))
            .operation("contacts.completed");
        let dates = [
            ("startDate", window.start),
            ("endDate", window.end),
            ("updatedSince", query.updated_since),
        ];
        for (name, at) in dates {
            if let Some(at) = at {
                req = req.query(&[(name, iso(at))]);
            }
        }
        for (name, value) in [
            ("skillId", &query.skill_id),
            ("agentId", &query.agent_id),
            ("teamId", &query.team_id),
            ("mediaTypeId", &query.media_type_id),
            ("campaignId", &query.campaign_id),
            ("orderBy", &query.order_by),
        ] {
            req = req.query_opt(name, value.as_deref());
        }
        if !query.fields.is_empty() {
            req = req.query(&[("fields", query.fields.join(","))]);
        }
        req
    }

    /// Contact `contact_id` (`GET /contacts/{contactId}`).
    ///
    /// # Errors
    /// [`crate::ErrorKind::NotFound`] for an unknown contact; the runtime's
    /// errors.
    pub async fn contact(&self, contact_id: &str) -> Result<CompletedContact, Error> {
        let what = format!("reading contact {}", cx_http::escape(contact_id));
        self.http
            .get(
                Self::service(&self.config.versions.contacts)
                    .lit("contacts")
                    .id("contact_id", contact_id),
            )
            .operation("contacts.get")
            .send_json()
            .await
            .map_err(|e| from_http(e, &what))
    }

    /// The state history of contact `contact_id`, in order
    /// (`GET /contacts/{contactId}/state-history` →
    /// `{contactStateHistory[]}`).
    ///
    /// # Errors
    /// [`crate::ErrorKind::NotFound`] for an unknown contact; the runtime's
    /// errors.
    pub async fn state_history(&self, contact_id: &str) -> Result<Vec<ContactState>, Error> {
        #[derive(Deserialize)]
        struct History {
            #[serde(default, rename = "contactStateHistory")]
            states: Vec<ContactState>,
        }
        let what = format!(
            "reading the state history of contact {}",
            cx_http::escape(contact_id)
        );
        let resp = self
            .http
            .get(
                Self::service(&self.config.versions.contacts)
                    .lit("contacts")
                    .id("contact_id", contact_id)
                    .lit("state-history"),
            )
            .operation("contacts.state_history")
            .send()
            .await
            .map_err(|e| from_http(e, &what))?;
        if resp.status() == 204 || resp.body().iter().all(u8::is_ascii_whitespace) {
            return Ok(Vec::new());
        }
        let history: History = serde_json::from_slice(resp.body()).map_err(|e| {
            from_http(
                cx_http::Error::new(
                    cx_http::ErrorKind::Decode,
                    "the answer is not a state history",
                )
                .with_source(e),
                &what,
            )
        })?;
        let mut states = history.states;
        states.sort_by_key(|s| s.state_index.unwrap_or(i64::MAX));
        Ok(states)
    }

    /// The contacts agent `agent_id` handled in `query`'s range (one window
    /// of at most 30 days, or `updatedSince`; filters other than the media
    /// type are ignored).
    ///
    /// # Errors
    /// As [`Client::completed_pages`]; [`crate::ErrorKind::NotFound`] for
    /// an unknown agent.
    pub fn interaction_history(
        &self,
        agent_id: &str,
        query: &ContactQuery,
    ) -> impl Stream<Item = Result<AgentInteraction, Error>> + use<> {
        let windows = match query.windows(self.clock.now()) {
            Ok(w) => w,
            Err(e) => return stream::once(async move { Err(e) }).boxed(),
        };
        let this = self.clone();
        let query = query.clone();
        let agent_id = agent_id.to_owned();
        stream::iter(windows)
            .map(move |window| {
                let mut req = this
                    .http
                    .get(
                        Self::service(&this.config.versions.agents)
                            .lit("agents")
                            .id("agent_id", &agent_id)
                            .lit("interaction-history"),
                    )
                    .operation("agents.interaction_history");
                for (name, at) in [
                    ("startDate", window.start),
                    ("endDate", window.end),
                    ("updatedSince", query.updated_since),
                ] {
                    if let Some(at) = at {
                        req = req.query(&[(name, iso(at))]);
                    }
                }
                req = req.query_opt("mediaTypeId", query.media_type_id.as_deref());
                let what = format!(
                    "reading the interaction history of agent {}",
                    cx_http::escape(&agent_id)
                );
                this.pages::<AgentInteraction>(req, what)
                    .map_ok(|body| stream::iter(body.items.into_iter().map(Ok)))
                    .try_flatten()
            })
            .flatten()
            .boxed()
    }
}

/// The decode error of a page that is not the expected list.
fn not_a_list(what: &str, e: serde_json::Error) -> cx_http::Error {
    cx_http::Error::new(
        cx_http::ErrorKind::Decode,
        format!("{what}: the page is not the expected list"),
    )
    .with_source(e)
}

/// `pages` driven one item ahead of its consumer by a task on the current
/// tokio runtime, so the next page is asked for and prepared while the
/// consumer works on this one; `pages` as is when there is no runtime. At
/// most one item waits in the channel and one is being read; dropping the
/// stream stops the task.
fn read_ahead<T: Send + 'static>(
    pages: impl Stream<Item = T> + Send + 'static,
) -> stream::BoxStream<'static, T> {
    let Ok(runtime) = tokio::runtime::Handle::try_current() else {
        return pages.boxed();
    };
    let (tx, rx) = tokio::sync::mpsc::channel::<T>(1);
    let task = runtime.spawn(async move {
        let mut pages = std::pin::pin!(pages);
        while let Some(page) = pages.next().await {
            if tx.send(page).await.is_err() {
                break;
            }
        }
    });
    let stop = AbortOnDrop(task.abort_handle());
    stream::unfold((rx, stop), |(mut rx, stop)| async move {
        rx.recv().await.map(|page| (page, (rx, stop)))
    })
    .boxed()
}

/// Aborts a task when dropped.
pub(crate) struct AbortOnDrop(pub(crate) tokio::task::AbortHandle);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// ISO-8601 with milliseconds and `Z`, as CXone takes dates.
fn iso(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// An ISO-8601 date-time (a missing zone is UTC).
pub fn parse_time(raw: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(raw)
        .map(|d| d.with_timezone(&Utc))
        .ok()
        .or_else(|| {
            chrono::NaiveDateTime::parse_from_str(raw, "%Y-%m-%dT%H:%M:%S%.f")
                .ok()
                .map(|n| n.and_utc())
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_field_name_generations_and_id_kinds_deserialize() {
        let newer: CompletedContact = serde_json::from_str(
            r#"{"contactId": 12, "contactStartDate": "2024-05-01T00:00:00.000Z",
                "conferenceSeconds": 3, "fromAddress": "a", "toAddress": "b",
                "mediaTypeId": 4, "acwSeconds": 7.5, "unknown": [1]}"#,
        )
        .unwrap_or_default();
        let older: CompletedContact = serde_json::from_str(
            r#"{"contactId": "12", "contactStart": "2024-05-01T00:00:00.000Z",
                "confSeconds": 3, "fromAddr": "a", "toAddr": "b",
                "mediaType": "4", "ACWSeconds": 7.5}"#,
        )
        .unwrap_or_default();
        assert_eq!(newer, older);
        assert_eq!(newer.contact_id, Some(Id("12".into())));
        assert_eq!(newer.acw_seconds, Some(7.5));
    }

    #[test]
    fn a_45_day_range_splits_into_two_windows() {
        let now = Utc::now().trunc_subsecs(3);
        let q = ContactQuery::range(now - Duration::days(45), None);
        let w = q.windows(now).unwrap_or_default();
        assert_eq!(w.len(), 2);
        assert_eq!(w[0].end, w[1].start);
        assert_eq!(w[1].end, Some(now));
        assert!(ContactQuery::default().windows(now).is_err());
    }

    #[test]
    fn incremental_is_clamped_to_30_days() {
        let now = Utc::now();
        let q = ContactQuery::incremental(Some(now - Duration::days(40)), now);
        let since = q.updated_since.unwrap_or(now);
        assert_eq!(
            since,
            now - Duration::days(30) + Duration::seconds(CLAMP_MARGIN_SECS)
        );
        let recent = now - Duration::hours(1);
        assert_eq!(
            ContactQuery::incremental(Some(recent), now).updated_since,
            Some(recent)
        );
    }
}
