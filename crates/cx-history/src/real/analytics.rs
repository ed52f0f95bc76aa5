//! Analytics over completed contacts and their state histories, in one
//! pass and bounded memory (as [`crate::PathAnalyzer`]).
//!
//! [`ContactAnalyzer`] groups contacts by skill, agent, team or hour of day
//! (UTC) ([`GroupBy`]) and keeps, per group: contacts, abandons and short
//! abandons, the service level (`serviceLevelFlag`), transfers, refusals,
//! and for queue (`inQueueSeconds`), handle (`agentSeconds`), hold, ACW and
//! total duration the count, mean and max exactly and p50/p95 from a
//! [`DwellSketch`] (within its 1% relative error). It also keeps the
//! `top` contacts (see [`ContactAnalyzer::new`]) with the longest queue time. Memory is
//! bounded by the number of groups (at most [`MAX_GROUPS`]; further keys are
//! pooled under `(other)`), the sketches' buckets and the top-N heap — not
//! by the number of contacts.
//!
//! State histories go through the existing path analysis:
//! [`state_path`] turns one into an [`Interaction`] whose steps are the
//! states (node id and type = `contactStateName`), so a
//! [`crate::PathAnalyzer`] gives the time per contact state (its node
//! statistics) and the most frequent state sequences (its top paths).

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::{CompletedContact, ContactState, Id, parse_time};
use crate::sketch::DwellSketch;
use crate::types::{Interaction, Step};

/// Most groups a [`ContactAnalyzer`] keeps apart.
pub const MAX_GROUPS: usize = 10_000;

/// The key contacts are grouped by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum GroupBy {
    /// `skillId` (`skillName` shown when sent).
    Skill,
    /// `agentId` (`(none)` for contacts no agent handled).
    Agent,
    /// `teamId`.
    Team,
    /// Hour of day of `contactStartDate`, UTC (`00` to `23`).
    Hour,
}

impl GroupBy {
    /// The key of `c` under this grouping.
    fn key(self, c: &CompletedContact) -> String {
        let id = |v: &Option<Id>| {
            v.as_ref()
                .map_or_else(|| "(none)".to_owned(), |i| i.0.clone())
        };
        match self {
            GroupBy::Skill => match (&c.skill_id, &c.skill_name) {
                (Some(id), Some(name)) => format!("{id} {name}"),
                (id, _) => id_text(id.as_ref()),
            },
            GroupBy::Agent => id(&c.agent_id),
            GroupBy::Team => id(&c.team_id),
            GroupBy::Hour => c
                .contact_start_date
                .as_deref()
                .and_then(crate::time::unix_micros)
                .map_or_else(
                    || "(none)".to_owned(),
                    |us| format!("{:02}", us.div_euclid(3_600_000_000).rem_euclid(24)),
                ),
        }
    }
}

fn id_text(id: Option<&Id>) -> String {
    id.map_or_else(|| "(none)".to_owned(), |i| i.0.clone())
}

/// Count, sum, max and a quantile sketch of one duration.
#[derive(Debug, Clone, Default)]
struct Stat {
    count: u64,
    sum: f64,
    max: f64,
    sketch: DwellSketch,
}

impl Stat {
    fn add(&mut self, v: Option<f64>) {
        let Some(v) = v.filter(|v| v.is_finite() && *v >= 0.0) else {
            return;
        };
        self.count += 1;
        self.sum += v;
        self.max = self.max.max(v);
        self.sketch.insert(v);
    }

    fn summary(&self) -> Summary {
        Summary {
            count: self.count,
            mean: (self.count > 0).then(|| self.sum / self.count as f64),
            p50: self.sketch.quantile(0.5),
            p95: self.sketch.quantile(0.95),
            max: (self.count > 0).then_some(self.max),
        }
    }
}

/// One duration of a group, seconds: `None` when no contact had it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct Summary {
    /// Contacts with the value.
    pub count: u64,
    /// Mean (exact).
    pub mean: Option<f64>,
    /// Median (nearest rank, within 1%).
    pub p50: Option<f64>,
    /// 95th percentile (nearest rank, within 1%).
    pub p95: Option<f64>,
    /// Maximum (exact).
    pub max: Option<f64>,
}

#[derive(Debug, Clone, Default)]
struct Acc {
    contacts: u64,
    abandoned: u64,
    short_abandons: u64,
    sl_met: u64,
    sl_counted: u64,
    transfers: u64,
    refusals: u64,
    queue: Stat,
    handle: Stat,
    hold: Stat,
    acw: Stat,
    total: Stat,
}

impl Acc {
    fn add(&mut self, c: &CompletedContact) {
        self.contacts += 1;
        self.abandoned += u64::from(c.abandoned == Some(true));
        self.short_abandons += u64::from(c.is_short_abandon == Some(true));
        if let Some(flag @ (0 | 1)) = c.service_level_flag {
            self.sl_counted += 1;
            self.sl_met += u64::from(flag == 1);
        }
        self.transfers += u64::from(is_transfer(c));
        self.refusals += u64::from(c.is_refused == Some(true));
        self.queue.add(c.in_queue_seconds);
        self.handle.add(c.agent_seconds);
        self.hold.add(c.hold_seconds);
        self.acw.add(c.acw_seconds);
        self.total.add(c.total_duration_seconds);
    }

    fn row(&self, key: String) -> GroupRow {
        let rate = |n: u64| {
            if self.contacts == 0 {
                0.0
            } else {
                n as f64 / self.contacts as f64
            }
        };
        GroupRow {
            key,
            contacts: self.contacts,
            abandoned: self.abandoned,
            abandon_rate: rate(self.abandoned),
            short_abandons: self.short_abandons,
            short_abandon_rate: rate(self.short_abandons),
            service_level_pct: (self.sl_counted > 0)
                .then(|| 100.0 * self.sl_met as f64 / self.sl_counted as f64),
            transfers: self.transfers,
            refusals: self.refusals,
            queue: self.queue.summary(),
            handle: self.handle.summary(),
            hold: self.hold.summary(),
            acw: self.acw.summary(),
            total: self.total.summary(),
        }
    }
}

/// Whether `c` was transferred (`transferIndicatorName` other than `None`).
fn is_transfer(c: &CompletedContact) -> bool {
    c.transfer_indicator_name
        .as_deref()
        .is_some_and(|n| !n.is_empty() && !n.eq_ignore_ascii_case("none"))
}

/// One group's figures. Rates are fractions (0..=1); the service level is
/// a percentage of the contacts with a `serviceLevelFlag` of 0 or 1.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct GroupRow {
    /// The group's key (skill id and name, agent id, team id or hour).
    pub key: String,
    /// Contacts.
    pub contacts: u64,
    /// Abandoned contacts (`abandoned`).
    pub abandoned: u64,
    /// `abandoned / contacts`.
    pub abandon_rate: f64,
    /// Short abandons (`isShortAbandon`).
    pub short_abandons: u64,
    /// `short_abandons / contacts`.
    pub short_abandon_rate: f64,
    /// Service level, % (`None` when no contact had a flag).
    pub service_level_pct: Option<f64>,
    /// Transferred contacts.
    pub transfers: u64,
    /// Refused contacts (`isRefused`).
    pub refusals: u64,
    /// Queue time (`inQueueSeconds`).
    pub queue: Summary,
    /// Handle time (`agentSeconds`).
    pub handle: Summary,
    /// Hold time (`holdSeconds`).
    pub hold: Summary,
    /// After-call work (`acwSeconds`).
    pub acw: Summary,
    /// Total duration (`totalDurationSeconds`).
    pub total: Summary,
}

/// One of the contacts that waited longest in queue.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct QueueTop {
    /// `contactId`.
    pub contact_id: String,
    /// `inQueueSeconds`.
    pub in_queue_seconds: f64,
    /// The contact's group key.
    pub key: String,
    /// `contactStartDate`.
    pub contact_start_date: Option<String>,
}

/// The result of a [`ContactAnalyzer`].
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ContactTable {
    /// The grouping.
    pub group_by: GroupBy,
    /// Contacts analysed.
    pub contacts: u64,
    /// Per group, by key.
    pub groups: Vec<GroupRow>,
    /// Every contact together.
    pub overall: GroupRow,
    /// The contacts with the longest queue time, longest first.
    pub top_queue: Vec<QueueTop>,
}

/// A heap entry: queue seconds (as ordered bits), then a sequence number.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Slow {
    queue_bits: u64,
    seq: Reverse<u64>,
}

/// Completed-contact analytics (see the module docs).
#[derive(Debug)]
pub struct ContactAnalyzer {
    group_by: GroupBy,
    top: usize,
    groups: HashMap<String, Acc>,
    overall: Acc,
    /// The `top` longest queue times (min-heap), with their contacts.
    slowest: BinaryHeap<Reverse<(Slow, usize)>>,
    slow_items: Vec<Option<QueueTop>>,
    free: Vec<usize>,
    seq: u64,
}

impl ContactAnalyzer {
    /// An empty analyzer grouping by `group_by` and keeping the `top`
    /// longest-queued contacts.
    pub fn new(group_by: GroupBy, top: usize) -> Self {
        Self {
            group_by,
            top,
            groups: HashMap::new(),
            overall: Acc::default(),
            slowest: BinaryHeap::new(),
            slow_items: Vec::new(),
            free: Vec::new(),
            seq: 0,
        }
    }

    /// Contacts analysed so far.
    pub fn contacts(&self) -> u64 {
        self.overall.contacts
    }

    /// Adds one contact.
    pub fn observe(&mut self, c: &CompletedContact) {
        let mut key = self.group_by.key(c);
        if !self.groups.contains_key(&key) && self.groups.len() >= MAX_GROUPS {
            key = "(other)".to_owned();
        }
        self.overall.add(c);
        if let Some(q) = c.in_queue_seconds.filter(|q| q.is_finite() && *q >= 0.0) {
            self.keep_slow(q, c, &key);
        }
        self.groups.entry(key).or_default().add(c);
    }

    fn keep_slow(&mut self, queue: f64, c: &CompletedContact, key: &str) {
        if self.top == 0 {
            return;
        }
        self.seq += 1;
        let slow = Slow {
            queue_bits: queue.to_bits(),
            seq: Reverse(self.seq),
        };
        if self.slowest.len() >= self.top {
            match self.slowest.peek() {
                Some(Reverse((least, _))) if *least < slow => {}
                _ => return,
            }
            if let Some(Reverse((_, slot))) = self.slowest.pop() {
                self.free.push(slot);
            }
        }
        let item = QueueTop {
            contact_id: id_text(c.contact_id.as_ref()),
            in_queue_seconds: queue,
            key: key.to_owned(),
            contact_start_date: c.contact_start_date.clone(),
        };
        let slot = match self.free.pop() {
            Some(slot) => {
                if let Some(s) = self.slow_items.get_mut(slot) {
                    *s = Some(item);
                }
                slot
            }
            None => {
                self.slow_items.push(Some(item));
                self.slow_items.len() - 1
            }
        };
        self.slowest.push(Reverse((slow, slot)));
    }

    /// The table.
    pub fn finish(mut self) -> ContactTable {
        let mut groups: Vec<GroupRow> = self
            .groups
            .iter()
            .map(|(key, acc)| acc.row(key.clone()))
            .collect();
        groups.sort_by(|a, b| a.key.cmp(&b.key));
        let mut top: Vec<(Slow, QueueTop)> = self
            .slowest
            .into_iter()
            .filter_map(|Reverse((slow, slot))| {
                self.slow_items
                    .get_mut(slot)
                    .and_then(Option::take)
                    .map(|item| (slow, item))
            })
            .collect();
        top.sort_by(|a, b| b.0.cmp(&a.0));
        ContactTable {
            group_by: self.group_by,
            contacts: self.overall.contacts,
            groups,
            overall: self.overall.row("(all)".to_owned()),
            top_queue: top.into_iter().map(|(_, item)| item).collect(),
        }
    }
}

/// A contact's state history as an [`Interaction`] for
/// [`crate::PathAnalyzer`]: one step per state, node id and type the
/// `contactStateName`, from `startDate` for `duration` seconds (a state
/// without a parseable start or duration has no end, which the path
/// analyzer reports as a data error).
pub fn state_path(contact_id: &str, states: &[ContactState]) -> Interaction {
    let steps = states
        .iter()
        .map(|s| {
            let name = s
                .contact_state_name
                .clone()
                .unwrap_or_else(|| "(unnamed)".to_owned());
            let start: Option<DateTime<Utc>> = s.start_date.as_deref().and_then(parse_time);
            let end = start.zip(s.duration).and_then(|(at, secs)| {
                let ms = (secs * 1000.0).round();
                (ms.is_finite() && ms.abs() < 1e15)
                    .then(|| at.checked_add_signed(chrono::Duration::milliseconds(ms as i64)))
                    .flatten()
            });
            let iso = |t: DateTime<Utc>| t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
            Step {
                node_id: name.clone(),
                node_type: name,
                start_time: start.map(iso),
                end_time: end.map(iso),
                variables_before: Default::default(),
                variables_after: Default::default(),
                error_state: false,
            }
        })
        .collect();
    Interaction {
        interaction_id: contact_id.to_owned(),
        steps,
    }
}
