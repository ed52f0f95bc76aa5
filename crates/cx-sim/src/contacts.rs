//! Completed and active contacts of a tenant and their state histories
//! (`../shared/CXONE_REST.md` §4). The routes that serve them live in
//! `routes::contacts`.
//!
//! Two sources make up a tenant's contacts:
//!
//! - a **timeline** generated from a seed: contact `k` starts at
//!   `origin + floor(k * spacing)` (sim ms) and everything else about it
//!   (skill, agent, team, queue/handle/hold/ACW seconds, abandons, short
//!   abandons, refusals, transfers, its state history) is a pure function
//!   of `(seed, k)`, so a million contacts cost no memory until a page
//!   reads them. Every tenant starts with [`Timeline::live`]: from 7 days
//!   before the simulator started, one contact every 20 s on average and
//!   no end, so advancing the virtual clock completes new contacts
//!   (`lastUpdateTime` = the contact's end). [`SyntheticContacts`]
//!   replaces it with a fixed volume for benches;
//! - **spawned** contacts ([`ContactStore::start_contact`], for scripts
//!   started through the API): active until start + duration on the
//!   virtual clock, then completed with a state history.
//!
//! A contact is *completed* once its end (= `lastUpdateTime`) is at or
//! before now, *active* while it has started and not ended. All times are
//! sim ms (`i64`, negative before the simulator started).
//!
//! The skills, agents and teams are those of the tenant's real agent API
//! ([`crate::incontact_agents`]): skills 4100001..=4100005, agents
//! 3100001..=3100005 (each on a skill it is assigned), teams 2001..=2003.
//! Contact ids: timeline contact `k` is `600000000 + k`, spawned contacts
//! count from `900000000000`.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::setters::with_setters;

/// Contact id of timeline contact 0.
const TIMELINE_BASE_ID: u64 = 600_000_000;
/// Contact id of the first spawned contact.
const SPAWNED_BASE_ID: u64 = 900_000_000_000;
/// The longest a timeline contact lasts, ms (pre-queue + queue + handle +
/// ACW stay below it).
pub(crate) const MAX_CONTACT_MS: i64 = 45 * 60 * 1000;
const DAY_MS: i64 = 24 * 60 * 60 * 1000;

/// A script contact to start ([`ContactStore::start_contact`]).
#[derive(Debug, Clone)]
pub(crate) struct SpawnedContact {
    /// The script's name (shown as the contact's `pointOfContactName`).
    pub script_name: String,
    /// The skill the contact runs under.
    pub skill_id: u64,
    /// The start parameters (CXone joins them with `|`).
    pub parameters: Vec<String>,
    /// How long the contact stays active, ms (negative counts as 0).
    pub duration_ms: i64,
}

/// [`ContactStore::signal`] on a contact that is unknown or not active.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ContactNotActive;

/// A synthetic volume of completed contacts for benches and load tests
/// (`Sim::set_synthetic_contacts`): `contacts` contacts evenly spread over
/// the `days` days that end one hour before the simulator started, so
/// every one is completed. Same seed, same contacts. JSON: `{"contacts",
/// "days", "seed"}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct SyntheticContacts {
    /// Number of contacts.
    pub contacts: u64,
    /// Days they span (at least 1).
    #[serde(default = "one")]
    pub days: u32,
    /// Seed of the generator.
    #[serde(default)]
    pub seed: u64,
}

fn one() -> u32 {
    1
}

impl SyntheticContacts {
    /// `contacts` contacts over `days` days (at least 1), seed 0.
    pub fn new(contacts: u64, days: u32) -> Self {
        Self {
            contacts,
            days: days.max(1),
            seed: 0,
        }
    }
}

with_setters! { SyntheticContacts {
    /// Sets the generator seed.
    with_seed(seed: u64);
}}

/// The generated part of a tenant's contacts.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Timeline {
    seed: u64,
    /// Start of contact 0, sim ms.
    origin_ms: i64,
    /// Mean ms between two starts, in 1/1000 ms (integer arithmetic).
    spacing_micros: i64,
    /// Number of contacts; `None` = no end.
    count: Option<u64>,
}

impl Timeline {
    /// The default: from 7 days before start, a contact every 20 s, no end.
    pub(crate) fn live() -> Self {
        Self {
            seed: 17,
            origin_ms: -7 * DAY_MS,
            spacing_micros: 20_000_000,
            count: None,
        }
    }

    /// The timeline of `set`.
    pub(crate) fn synthetic(set: SyntheticContacts) -> Self {
        let span_ms = i64::from(set.days.max(1)).saturating_mul(DAY_MS);
        let count = i64::try_from(set.contacts.max(1)).unwrap_or(i64::MAX);
        Self {
            seed: set.seed,
            origin_ms: -span_ms - 3_600_000,
            spacing_micros: (span_ms.saturating_mul(1000) / count).max(1),
            count: Some(set.contacts),
        }
    }

    /// Start of contact `k`, sim ms.
    pub(crate) fn start_ms(&self, k: u64) -> i64 {
        let k = i64::try_from(k).unwrap_or(i64::MAX);
        self.origin_ms
            .saturating_add(k.saturating_mul(self.spacing_micros) / 1000)
    }

    /// The first `k` starting at or after `ms` (capped at the count).
    pub(crate) fn first_at_or_after(&self, ms: i64) -> u64 {
        let rel = ms.saturating_sub(self.origin_ms);
        let mut k = if rel <= 0 {
            0
        } else {
            u64::try_from(rel.saturating_mul(1000) / self.spacing_micros).unwrap_or(0)
        };
        while self.start_ms(k) < ms && k < u64::MAX {
            k += 1;
        }
        while k > 0 && self.start_ms(k - 1) >= ms {
            k -= 1;
        }
        self.count.map_or(k, |n| k.min(n))
    }

    /// Contact `k`, or `None` past the count.
    pub(crate) fn contact(&self, k: u64) -> Option<Contact> {
        if self.count.is_some_and(|n| k >= n) {
            return None;
        }
        Some(generate(self.seed, k, self.start_ms(k)))
    }

    /// Contact id → `k`.
    pub(crate) fn index_of(&self, contact_id: u64) -> Option<u64> {
        let k = contact_id.checked_sub(TIMELINE_BASE_ID)?;
        (contact_id < SPAWNED_BASE_ID && self.count.is_none_or(|n| k < n)).then_some(k)
    }
}

/// One state of a contact's history.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ContactState {
    /// `contactStateId`.
    pub id: u32,
    /// `contactStateName`.
    pub name: &'static str,
    /// Start, sim ms.
    pub start_ms: i64,
    /// Duration, ms.
    pub duration_ms: i64,
    /// The agent handling the contact in this state.
    pub agent_id: Option<u64>,
    /// The skill of the contact in this state.
    pub skill_id: u64,
}

/// The states the simulator uses: (contactStateId, contactStateName).
pub(crate) const PRE_QUEUE: (u32, &str) = (11, "PreQueue");
pub(crate) const IN_QUEUE: (u32, &str) = (10, "InQueue");
pub(crate) const ROUTING: (u32, &str) = (12, "Routing");
pub(crate) const ACTIVE: (u32, &str) = (3, "Active");
pub(crate) const HOLD: (u32, &str) = (4, "Hold");
pub(crate) const ACW: (u32, &str) = (13, "ACW");
pub(crate) const ABANDONED: (u32, &str) = (1, "Abandoned");
pub(crate) const END_CONTACT: (u32, &str) = (5, "EndContact");

/// One contact (active or completed). Seconds are whole seconds.
#[derive(Debug, Clone)]
pub(crate) struct Contact {
    pub contact_id: u64,
    pub master_contact_id: u64,
    pub start_ms: i64,
    pub agent_id: Option<u64>,
    pub team_id: Option<u64>,
    pub skill_id: u64,
    pub campaign_id: u64,
    pub media_type_id: u64,
    pub point_of_contact_id: u64,
    pub point_of_contact_name: String,
    pub is_outbound: bool,
    pub pre_queue_s: i64,
    pub in_queue_s: i64,
    pub agent_s: i64,
    pub hold_s: i64,
    pub hold_count: u32,
    pub acw_s: i64,
    pub conference_s: i64,
    pub abandon_s: i64,
    pub abandoned: bool,
    pub is_short_abandon: bool,
    pub is_refused: bool,
    pub refuse_ms: Option<i64>,
    /// `transferIndicatorId`: 0 None, 1 ReSkill, 2 ReAgent, 3 Consult.
    pub transfer: u8,
    pub service_level_flag: u8,
    pub end_reason: &'static str,
    pub from_address: String,
    pub to_address: String,
    pub states: Vec<ContactState>,
}

impl Contact {
    /// A contact with only these set: no agent, zero seconds, no flags, no states.
    fn new(contact_id: u64, start_ms: i64, skill_id: u64, media_type_id: u64) -> Self {
        Self {
            contact_id,
            master_contact_id: contact_id,
            start_ms,
            agent_id: None,
            team_id: None,
            skill_id,
            campaign_id: 0,
            media_type_id,
            point_of_contact_id: 0,
            point_of_contact_name: String::new(),
            is_outbound: false,
            pre_queue_s: 0,
            in_queue_s: 0,
            agent_s: 0,
            hold_s: 0,
            hold_count: 0,
            acw_s: 0,
            conference_s: 0,
            abandon_s: 0,
            abandoned: false,
            is_short_abandon: false,
            is_refused: false,
            refuse_ms: None,
            transfer: 0,
            service_level_flag: 0,
            end_reason: "Contact Hung Up",
            from_address: String::new(),
            to_address: String::new(),
            states: Vec::new(),
        }
    }

    /// `totalDurationSeconds`.
    pub(crate) fn total_s(&self) -> i64 {
        self.states.iter().map(|s| s.duration_ms).sum::<i64>() / 1000
    }

    /// The end (= `lastUpdateTime` once completed), sim ms.
    pub(crate) fn end_ms(&self) -> i64 {
        self.states
            .last()
            .map_or(self.start_ms, |s| s.start_ms.saturating_add(s.duration_ms))
    }

    /// The state at `now_ms` (the last one once ended).
    pub(crate) fn state_at(&self, now_ms: i64) -> Option<&ContactState> {
        self.states
            .iter()
            .take_while(|s| s.start_ms <= now_ms)
            .last()
    }
}

/// Skills of the timeline: (skillId, mediaTypeId, weight, agents).
const SKILLS: [(u64, u64, u64, &[u64]); 5] = [
    (4_100_001, 4, 30, &[3_100_001, 3_100_002, 3_100_005]),
    (4_100_002, 4, 30, &[3_100_001, 3_100_003, 3_100_005]),
    (4_100_003, 1, 15, &[3_100_001, 3_100_004]),
    (4_100_004, 3, 15, &[3_100_002, 3_100_005]),
    (4_100_005, 4, 10, &[3_100_003]),
];

/// Team of a timeline agent (as in `incontact_agents`).
fn team_of(agent_id: u64) -> u64 {
    match agent_id {
        3_100_001 | 3_100_002 | 3_100_006 => 2001,
        3_100_003 | 3_100_004 => 2002,
        _ => 2003,
    }
}

/// SplitMix64 of `x`.
fn mix(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    x ^ (x >> 31)
}

/// Deterministic draws for one contact.
struct Draws {
    state: u64,
}

impl Draws {
    fn next(&mut self) -> u64 {
        self.state = mix(self.state);
        self.state
    }

    /// Uniform in `0..n` (`n` > 0).
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }

    /// True with probability `pct` %.
    fn pct(&mut self, pct: u64) -> bool {
        self.below(100) < pct
    }

    /// Uniform seconds in `lo..=hi`.
    fn secs(&mut self, lo: i64, hi: i64) -> i64 {
        let span = u64::try_from(hi.saturating_sub(lo).max(0)).unwrap_or(0);
        lo.saturating_add(i64::try_from(self.below(span.saturating_add(1))).unwrap_or(0))
    }
}

/// Appends a state of `secs` seconds at the end of `states`.
fn push(
    states: &mut Vec<ContactState>,
    start_ms: i64,
    (id, name): (u32, &'static str),
    secs: i64,
    agent_id: Option<u64>,
    skill_id: u64,
) {
    let at = states
        .last()
        .map_or(start_ms, |s| s.start_ms.saturating_add(s.duration_ms));
    states.push(ContactState {
        id,
        name,
        start_ms: at,
        duration_ms: secs.saturating_mul(1000),
        agent_id,
        skill_id,
    });
}

/// Timeline contact `k` starting at `start_ms`.
fn generate(seed: u64, k: u64, start_ms: i64) -> Contact {
    let mut d = Draws {
        state: mix(seed ^ mix(k)),
    };
    let mut pick = d.below(100);
    let mut skill = SKILLS[0];
    for s in SKILLS {
        if pick < s.2 {
            skill = s;
            break;
        }
        pick -= s.2;
    }
    let (skill_id, media_type_id, _, agents) = skill;
    let pool = u64::try_from(agents.len()).unwrap_or(1);
    let agent = agents
        .get(usize::try_from(d.below(pool)).unwrap_or(0))
        .copied()
        .unwrap_or(3_100_001);
    let is_outbound = media_type_id == 4 && d.pct(10);
    let pre_queue_s = d.secs(1, 5);
    // Queue times skew short: the square of a uniform draw, up to 10 min.
    let u = d.below(1001);
    let mut in_queue_s = i64::try_from(u * u * 600 / 1_000_000).unwrap_or(0);
    let abandoned = !is_outbound && d.pct(8);
    let is_refused = !abandoned && d.pct(4);
    let transfer = if !abandoned && d.pct(7) {
        u8::try_from(d.below(3) + 1).unwrap_or(1)
    } else {
        0
    };
    let mut states = Vec::with_capacity(8);
    push(
        &mut states,
        start_ms,
        PRE_QUEUE,
        pre_queue_s,
        None,
        skill_id,
    );
    let mut c = Contact {
        campaign_id: 7001 + d.below(3),
        point_of_contact_id: 8_000 + (skill_id - 4_100_000),
        point_of_contact_name: format!("POC {}", skill_id - 4_100_000),
        is_outbound,
        pre_queue_s,
        in_queue_s,
        abandoned,
        is_refused,
        transfer,
        ..Contact::new(TIMELINE_BASE_ID + k, start_ms, skill_id, media_type_id)
    };
    let caller = format!("+1555{:07}", d.below(10_000_000));
    let line = format!("+1800555{:04}", skill_id % 10_000);
    let (customer, ours) = match media_type_id {
        1 => (
            format!("customer{}@mail.example", d.below(100_000)),
            "support@sim.example".to_owned(),
        ),
        3 => (format!("chat-{}", d.below(100_000)), "webchat".to_owned()),
        _ => (caller, line),
    };
    (c.from_address, c.to_address) = if is_outbound {
        (ours, customer)
    } else {
        (customer, ours)
    };
    if abandoned {
        // A third of abandons are short (under 15 s in queue).
        if d.pct(33) {
            in_queue_s = d.secs(1, 14);
            c.is_short_abandon = true;
        }
        c.in_queue_s = in_queue_s;
        c.abandon_s = in_queue_s;
        c.end_reason = "Abandoned";
        push(&mut states, start_ms, IN_QUEUE, in_queue_s, None, skill_id);
        push(&mut states, start_ms, ABANDONED, 0, None, skill_id);
        push(&mut states, start_ms, END_CONTACT, 0, None, skill_id);
        c.states = states;
        return c;
    }
    if is_refused {
        // Offered to an agent who refused it (20 s ringing, within the queue time).
        let first = in_queue_s / 2;
        in_queue_s = in_queue_s.max(20);
        c.in_queue_s = in_queue_s;
        let ringing = 20;
        push(&mut states, start_ms, IN_QUEUE, first, None, skill_id);
        push(
            &mut states,
            start_ms,
            ROUTING,
            ringing,
            Some(agent),
            skill_id,
        );
        c.refuse_ms = states.last().map(|s| s.start_ms + s.duration_ms);
        let rest = in_queue_s
            .saturating_sub(first)
            .saturating_sub(ringing)
            .max(0);
        push(&mut states, start_ms, IN_QUEUE, rest, None, skill_id);
    } else {
        push(&mut states, start_ms, IN_QUEUE, in_queue_s, None, skill_id);
    }
    c.service_level_flag = u8::from(in_queue_s <= 30);
    c.agent_id = Some(agent);
    c.team_id = Some(team_of(agent));
    let talk_s = d.secs(60, 900);
    let mut agent_s = talk_s;
    if d.pct(30) {
        c.hold_count = u32::try_from(d.below(2) + 1).unwrap_or(1);
        c.hold_s = d.secs(10, 120);
        let before = talk_s / 2;
        push(&mut states, start_ms, ACTIVE, before, Some(agent), skill_id);
        push(&mut states, start_ms, HOLD, c.hold_s, Some(agent), skill_id);
        push(
            &mut states,
            start_ms,
            ACTIVE,
            talk_s - before,
            Some(agent),
            skill_id,
        );
        agent_s = agent_s.saturating_add(c.hold_s);
    } else {
        push(&mut states, start_ms, ACTIVE, talk_s, Some(agent), skill_id);
    }
    if d.pct(5) {
        c.conference_s = d.secs(10, 60);
    }
    if transfer != 0 {
        // Handed to another skill's queue and answered there (ReSkill), or
        // to another agent (ReAgent / Consult): 10 s more of queue, 1-5 min more talk.
        let (to_skill, _, _, to_agents) = SKILLS[usize::try_from(d.below(5)).unwrap_or(0)];
        let to_agent = to_agents.first().copied().unwrap_or(agent);
        let more = d.secs(60, 300);
        push(&mut states, start_ms, IN_QUEUE, 10, None, to_skill);
        push(
            &mut states,
            start_ms,
            ACTIVE,
            more,
            Some(to_agent),
            to_skill,
        );
        agent_s = agent_s.saturating_add(more);
        c.in_queue_s = c.in_queue_s.saturating_add(10);
    }
    c.agent_s = agent_s;
    c.acw_s = if media_type_id == 4 {
        d.secs(0, 120)
    } else {
        d.secs(0, 30)
    };
    push(&mut states, start_ms, ACW, c.acw_s, Some(agent), skill_id);
    push(&mut states, start_ms, END_CONTACT, 0, None, skill_id);
    c.end_reason = if d.pct(50) {
        "Contact Hung Up"
    } else {
        "Agent Hung Up"
    };
    c.states = states;
    c
}

/// The contacts of one tenant.
#[derive(Debug)]
pub(crate) struct ContactStore {
    /// The generated contacts.
    pub timeline: Timeline,
    /// Spawned contacts by id.
    pub spawned: BTreeMap<u64, Contact>,
    /// Signals received, by contact id: (sim ms, p1..p9).
    pub signals: BTreeMap<u64, Vec<(i64, Vec<String>)>>,
    next_spawned: u64,
}

impl Default for ContactStore {
    fn default() -> Self {
        Self {
            timeline: Timeline::live(),
            spawned: BTreeMap::new(),
            signals: BTreeMap::new(),
            next_spawned: SPAWNED_BASE_ID,
        }
    }
}

impl ContactStore {
    /// Starts a script contact at sim time `now_ms` and returns its
    /// `contactId`: active until `now_ms + spawn.duration_ms`, then a
    /// completed contact whose state history is one `Active` state and
    /// `EndContact`.
    ///
    /// A route handler reaches it through `AppState`:
    /// `state.with_tenant(tenant, |t, now| t.contacts.start_contact(spawn,
    /// i64::try_from(now).unwrap_or(i64::MAX)))`.
    #[allow(
        dead_code,
        reason = "called by the script routes (issue 17, spawning scripts)"
    )]
    pub(crate) fn start_contact(&mut self, spawn: SpawnedContact, now_ms: i64) -> u64 {
        let id = self.next_spawned;
        self.next_spawned = self.next_spawned.saturating_add(1);
        let media_type_id = SKILLS
            .iter()
            .find(|s| s.0 == spawn.skill_id)
            .map_or(4, |s| s.1);
        let mut states = Vec::with_capacity(2);
        push(&mut states, now_ms, ACTIVE, 0, None, spawn.skill_id);
        if let Some(first) = states.first_mut() {
            first.duration_ms = spawn.duration_ms.max(0);
        }
        push(&mut states, now_ms, END_CONTACT, 0, None, spawn.skill_id);
        let contact = Contact {
            point_of_contact_name: spawn.script_name,
            is_outbound: true,
            end_reason: "Script Ended",
            from_address: spawn.parameters.join("|"),
            states,
            ..Contact::new(id, now_ms, spawn.skill_id, media_type_id)
        };
        self.spawned.insert(id, contact);
        id
    }

    #[allow(
        dead_code,
        reason = "called by the signal route (issue 17, spawning scripts)"
    )]
    /// Delivers a signal (`p1..p9` in `params`) to active contact
    /// `contact_id` at sim time `now_ms`; [`ContactNotActive`] when it is
    /// unknown or has ended.
    pub(crate) fn signal(
        &mut self,
        contact_id: u64,
        params: Vec<String>,
        now_ms: i64,
    ) -> Result<(), ContactNotActive> {
        let active = self
            .contact(contact_id)
            .is_some_and(|c| c.start_ms <= now_ms && now_ms < c.end_ms());
        if !active {
            return Err(ContactNotActive);
        }
        self.signals
            .entry(contact_id)
            .or_default()
            .push((now_ms, params));
        Ok(())
    }

    /// Contact `contact_id` (whether or not it has started or ended).
    pub(crate) fn contact(&self, contact_id: u64) -> Option<Contact> {
        if let Some(c) = self.spawned.get(&contact_id) {
            return Some(c.clone());
        }
        let k = self.timeline.index_of(contact_id)?;
        self.timeline.contact(k)
    }

    /// Replaces the generated contacts with `set`.
    pub(crate) fn set_synthetic(&mut self, set: SyntheticContacts) {
        self.timeline = Timeline::synthetic(set);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timeline_contacts_are_deterministic_and_consistent() {
        let t = Timeline::live();
        for k in 0..2000 {
            let a = t.contact(k).unwrap();
            let b = t.contact(k).unwrap();
            assert_eq!(a.states, b.states);
            assert!(a.end_ms() - a.start_ms < MAX_CONTACT_MS, "{k}");
            assert_eq!(a.start_ms, t.start_ms(k));
            assert_eq!(t.first_at_or_after(a.start_ms), k);
        }
    }

    #[test]
    fn spawned_contacts_end_after_their_duration() {
        let mut store = ContactStore::default();
        let id = store.start_contact(
            SpawnedContact {
                script_name: "Outbound".into(),
                skill_id: 4_100_001,
                parameters: vec!["a".into()],
                duration_ms: 60_000,
            },
            1_000,
        );
        assert_eq!(store.signal(id, vec!["x".into()], 30_000), Ok(()));
        assert_eq!(store.signal(id, vec![], 61_000), Err(ContactNotActive));
        assert_eq!(store.contact(id).unwrap().end_ms(), 61_000);
    }
}
