//! Interaction history (seed 003): the fixture interactions, deterministic
//! synthetic sets for load tests, the concurrent-query quota and the
//! webhook receiver's inbox.
//!
//! Fixture interactions (every tenant):
//!
//! | id | steps |
//! |---|---|
//! | [`SEED_INTERACTION_ID`] | 6 steps between 90 and 60 min before the simulator started; `n3-decision` (DECISION) dwells 18 s; `n2-menu`, `n3-decision` and `n5-data-dip` have `errorState: true` |
//! | [`BAD_CLOCK_INTERACTION_ID`] | 2 steps; the second ends 2 s before it starts (a data error for analyzers) |
//!
//! Synthetic sets ([`SyntheticHistory`]) are never stored: interaction
//! `k` and its steps are a pure function of `(seed, k)` and the
//! simulator's start time, generated when a page needs them, so a set of
//! 100,000 × 10 costs no memory until it is read, one page at a time.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::ser::SerializeMap;
use serde::{Deserialize, Serialize, Serializer};
use serde_json::{Map, Value, json};

use crate::sync::lock;

/// The interaction of seed 003's example query.
pub const SEED_INTERACTION_ID: &str = "a1b2c3d4-e5f6-7890-abcd-ef1234567890";

/// A fixture interaction with one step that ends before it starts.
pub const BAD_CLOCK_INTERACTION_ID: &str = "badc10c0-0000-4000-8000-000000000001";

/// A synthetic history set for load tests: `interactions` interactions of
/// `steps` steps each, ids `syn-00000000`, `syn-00000001`, ...
/// ([`SyntheticHistory::id`]), all matched by the filter
/// `interactionId STARTSWITH 'syn-'`. Steps start within the 6 hours before
/// the simulator started; every third step (1, 4, 7, ...) is a DECISION
/// node dwelling 0.5–25.5 s, others 0.5–8.5 s; about 1 step in 25 has
/// `errorState: true`. JSON: `{"interactions", "steps", "seed"}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct SyntheticHistory {
    /// Number of interactions.
    pub interactions: u64,
    /// Steps per interaction (at least 2: a START and an END node).
    pub steps: u32,
    /// Seed of the generator; the same seed gives the same set.
    #[serde(default)]
    pub seed: u64,
}

impl SyntheticHistory {
    /// Prefix of every synthetic interaction id.
    pub const PREFIX: &'static str = "syn-";

    /// `interactions` interactions of `steps` steps each, generator seed 0.
    pub fn new(interactions: u64, steps: u32) -> Self {
        Self {
            interactions,
            steps,
            seed: 0,
        }
    }

    /// Sets the generator seed.
    #[must_use]
    pub fn with_seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }

    /// The id of synthetic interaction `index`: `syn-` and 8 digits.
    pub fn id(index: u64) -> String {
        format!("{}{index:08}", Self::PREFIX)
    }

    /// The earliest `startTime` of any step of the set, Unix ms, for a
    /// simulator started at `origin_ms` (steps start within the 6 hours
    /// before it).
    pub(crate) fn earliest_start_ms(origin_ms: i64) -> i64 {
        origin_ms - SIX_HOURS_MS as i64
    }

    /// The index of a synthetic id in this set, if it is one.
    pub(crate) fn index_of(&self, id: &str) -> Option<u64> {
        let digits = id.strip_prefix(Self::PREFIX)?;
        if digits.len() < 8 || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        let k: u64 = digits.parse().ok()?;
        (k < self.interactions && Self::id(k) == id).then_some(k)
    }
}

/// Settings of the history endpoint. JSON: `{"maxConcurrentQueries", "latencyMs"}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct HistorySettings {
    /// History queries a tenant may have in flight at once; one more gets
    /// 429 `concurrent_query_limit` with `Retry-After: 1`. Default 5 (seed 003).
    pub max_concurrent_queries: usize,
    /// Extra time each query takes (sim-side `sleep`, while holding its
    /// quota slot), to make overlapping queries observable. Default 0.
    #[serde(default, rename = "latencyMs", with = "crate::fixtures::duration_ms")]
    pub latency: Duration,
}

impl Default for HistorySettings {
    fn default() -> Self {
        Self {
            max_concurrent_queries: 5,
            latency: Duration::ZERO,
        }
    }
}

impl HistorySettings {
    /// Sets [`HistorySettings::max_concurrent_queries`].
    #[must_use]
    pub fn with_max_concurrent_queries(mut self, max_concurrent_queries: usize) -> Self {
        self.max_concurrent_queries = max_concurrent_queries;
        self
    }

    /// Sets [`HistorySettings::latency`].
    #[must_use]
    pub fn with_latency(mut self, latency: Duration) -> Self {
        self.latency = latency;
        self
    }
}

/// History state shared by every tenant: settings, synthetic sets, the
/// in-flight counters of the quota and the webhook inbox.
#[derive(Debug, Default)]
pub(crate) struct HistoryStore {
    settings: Mutex<HistorySettings>,
    synthetic: Mutex<HashMap<String, SyntheticHistory>>,
    in_flight: Mutex<HashMap<String, Arc<AtomicUsize>>>,
    webhooks: Mutex<Vec<Value>>,
}

/// A held slot of the concurrent-query quota; released on drop.
pub(crate) struct QuerySlot(Arc<AtomicUsize>);

impl Drop for QuerySlot {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

impl HistoryStore {
    pub(crate) fn settings(&self) -> HistorySettings {
        *lock(&self.settings)
    }

    pub(crate) fn set_settings(&self, settings: HistorySettings) {
        *lock(&self.settings) = settings;
    }

    pub(crate) fn synthetic(&self, tenant: &str) -> Option<SyntheticHistory> {
        lock(&self.synthetic).get(tenant).copied()
    }

    pub(crate) fn set_synthetic(&self, tenant: &str, set: SyntheticHistory) {
        lock(&self.synthetic).insert(tenant.to_owned(), set);
    }

    /// Take a quota slot for `tenant`, or `None` when `max` are in use.
    pub(crate) fn try_acquire(&self, tenant: &str, max: usize) -> Option<QuerySlot> {
        let counter = Arc::clone(lock(&self.in_flight).entry(tenant.to_owned()).or_default());
        let took = counter
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| {
                (n < max).then_some(n + 1)
            })
            .is_ok();
        took.then(|| QuerySlot(counter))
    }

    /// Records one webhook body, keeping the newest `max` (the inbox is
    /// open to anyone: it must not grow without bound).
    pub(crate) fn record_webhook(&self, body: Value, max: usize) {
        let mut inbox = lock(&self.webhooks);
        inbox.push(body);
        crate::retention::trim_log(&mut inbox, max);
    }

    pub(crate) fn webhooks(&self) -> Vec<Value> {
        lock(&self.webhooks).clone()
    }
}

/// One step. Serializes as the seed's step object (`nodeId`, `nodeType`,
/// `startTime`/`endTime` as RFC 3339 with milliseconds and `Z`,
/// `variablesBefore`, `variablesAfter`, `errorState`), written straight to
/// the response without an intermediate JSON tree, string or map (issue 13:
/// a page of 1,000 synthetic interactions is 10,000 steps).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Step {
    pub node_id: NodeId,
    pub node_type: &'static str,
    #[serde(rename = "startTime", serialize_with = "ms_rfc3339")]
    pub start_ms: i64,
    #[serde(rename = "endTime", serialize_with = "ms_rfc3339")]
    pub end_ms: i64,
    #[serde(rename = "variablesBefore")]
    pub before: Variables,
    #[serde(rename = "variablesAfter")]
    pub after: Variables,
    #[serde(rename = "errorState")]
    pub error: bool,
}

/// A step's node id: a fixture's, or a synthetic one written when
/// serialized (`decision-{j}`, `task-{j}{branch}`).
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum NodeId {
    Fixed(&'static str),
    Decision(u64),
    Task(u64, char),
}

impl Serialize for NodeId {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            NodeId::Fixed(id) => s.serialize_str(id),
            NodeId::Decision(j) => s.collect_str(&format_args!("decision-{j}")),
            NodeId::Task(j, branch) => s.collect_str(&format_args!("task-{j}{branch}")),
        }
    }
}

/// A step's workflow variables: a fixture's map, or a synthetic step's
/// `{route?, score, step}` (the keys in the order a map writes them).
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Variables {
    Map(Map<String, Value>),
    Synthetic {
        route: Option<&'static str>,
        score: i64,
        step: u64,
    },
}

impl Serialize for Variables {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Variables::Map(m) => m.serialize(s),
            Variables::Synthetic { route, score, step } => {
                let mut m = s.serialize_map(Some(2 + usize::from(route.is_some())))?;
                if let Some(route) = route {
                    m.serialize_entry("route", route)?;
                }
                m.serialize_entry("score", score)?;
                m.serialize_entry("step", step)?;
                m.end()
            }
        }
    }
}

fn ms_rfc3339<S: Serializer>(ms: &i64, s: S) -> Result<S::Ok, S::Error> {
    match Rfc3339Millis::new(*ms) {
        Some(text) => s.serialize_str(text.as_str()),
        None => s.serialize_str(&rfc3339(*ms)),
    }
}

/// `YYYY-MM-DDTHH:MM:SS.mmmZ` of a Unix ms instant in years 0000–9999,
/// formatted on the stack (what [`rfc3339`] gives, without chrono's
/// general formatter or a `String`).
struct Rfc3339Millis([u8; 24]);

impl Rfc3339Millis {
    fn new(ms: i64) -> Option<Self> {
        let days = ms.div_euclid(86_400_000);
        let in_day = ms.rem_euclid(86_400_000);
        let (year, month, day) = civil_from_days(days);
        if !(0..=9999).contains(&year) {
            return None;
        }
        let mut b = *b"0000-00-00T00:00:00.000Z";
        let mut put = |at: usize, width: usize, mut n: i64| {
            for i in (at..at + width).rev() {
                if let Some(c) = b.get_mut(i) {
                    *c = b'0' + (n % 10) as u8;
                }
                n /= 10;
            }
        };
        put(0, 4, year);
        put(5, 2, month);
        put(8, 2, day);
        put(11, 2, in_day / 3_600_000);
        put(14, 2, in_day / 60_000 % 60);
        put(17, 2, in_day / 1000 % 60);
        put(20, 3, in_day % 1000);
        Some(Self(b))
    }

    fn as_str(&self) -> &str {
        std::str::from_utf8(&self.0).unwrap_or_default()
    }
}

/// The proleptic Gregorian `(year, month, day)` of a day count from
/// 1970-01-01 (Howard Hinnant's `civil_from_days`).
fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

/// Unix ms as RFC 3339 with milliseconds and `Z`.
pub(crate) fn rfc3339(ms: i64) -> String {
    DateTime::<Utc>::from_timestamp_millis(ms)
        .unwrap_or(DateTime::<Utc>::MIN_UTC)
        .to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

fn vars(pairs: &[(&str, Value)]) -> Variables {
    Variables::Map(
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), v.clone()))
            .collect(),
    )
}

/// The fixture interactions, their steps placed relative to `origin_ms`
/// (the simulator's start, Unix ms).
pub(crate) fn fixtures(origin_ms: i64) -> Vec<(&'static str, Vec<Step>)> {
    let t0 = origin_ms - 90 * 60_000;
    let step =
        |node_id: &'static str, node_type: &'static str, from_s: i64, to_s: i64, error: bool| {
            Step {
                node_id: NodeId::Fixed(node_id),
                node_type,
                start_ms: t0 + from_s * 1000,
                end_ms: t0 + to_s * 1000,
                before: Variables::Map(Map::new()),
                after: Variables::Map(Map::new()),
                error,
            }
        };
    let mut seed = vec![
        step("n1-start", "START", 0, 1, false),
        step("n2-menu", "MENU", 1, 7, true),
        step("n3-decision", "DECISION", 7, 25, true),
        step("n4-routing", "ROUTING", 25, 30, false),
        step("n5-data-dip", "DATA_DIP", 30, 33, true),
        step("n6-end", "END", 33, 34, false),
    ];
    seed[1].before = vars(&[("menuChoice", Value::Null)]);
    seed[1].after = vars(&[("menuChoice", json!("billing"))]);
    seed[2].before = vars(&[("menuChoice", json!("billing")), ("retries", json!(0))]);
    seed[2].after = vars(&[
        ("menuChoice", json!("billing")),
        ("retries", json!(1)),
        ("queue", json!("billing-tier2")),
    ]);
    seed[3].before = vars(&[("queue", json!("billing-tier2")), ("tempToken", json!("x"))]);
    seed[3].after = vars(&[("queue", json!("billing-tier1"))]);
    let bad = vec![
        step("b1-start", "START", 0, 1, false),
        step("b2-decision", "DECISION", 5, 3, false),
    ];
    vec![(SEED_INTERACTION_ID, seed), (BAD_CLOCK_INTERACTION_ID, bad)]
}

/// Synthetic steps start within this many ms before the simulator started.
const SIX_HOURS_MS: u64 = 6 * 3_600_000;

/// SplitMix64 of a few words: the synthetic generator's only randomness.
fn mix(words: &[u64]) -> u64 {
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    for w in words {
        x ^= w.wrapping_mul(0xBF58_476D_1CE4_E5B9);
        x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
        x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        x ^= x >> 31;
    }
    x
}

/// The timing of synthetic step `j` of interaction `k`, without allocating:
/// `(start_ms, end_ms, errorState)`. Steps follow each other with a gap
/// of 0–499 ms.
pub(crate) fn synthetic_timing(
    set: &SyntheticHistory,
    origin_ms: i64,
    k: u64,
) -> impl Iterator<Item = (i64, i64, bool)> + '_ {
    let first = SyntheticHistory::earliest_start_ms(origin_ms)
        + (mix(&[set.seed, k, 1]) % (SIX_HOURS_MS - 600_000)) as i64;
    let mut next_start = first;
    (0..u64::from(set.steps.max(2))).map(move |j| {
        let h = mix(&[set.seed, k, j, 2]);
        let dwell = if j % 3 == 1 {
            500 + (h % 25_000) as i64
        } else {
            500 + (h % 8_000) as i64
        };
        let start = next_start;
        let end = start + dwell;
        next_start = end + ((h >> 32) % 500) as i64;
        (start, end, (h >> 48).is_multiple_of(25))
    })
}

/// Synthetic interaction `k`, fully rendered (only for page items).
pub(crate) fn synthetic_steps(set: &SyntheticHistory, origin_ms: i64, k: u64) -> Vec<Step> {
    let last = u64::from(set.steps.max(2)) - 1;
    synthetic_timing(set, origin_ms, k)
        .enumerate()
        .map(|(j, (start_ms, end_ms, error))| {
            let j = j as u64;
            let branch = if mix(&[set.seed, k, j, 3]).is_multiple_of(3) {
                'b'
            } else {
                'a'
            };
            let (node_id, node_type) = match j {
                0 => (NodeId::Fixed("start"), "START"),
                j if j == last => (NodeId::Fixed("end"), "END"),
                j if j % 3 == 1 => (NodeId::Decision(j), "DECISION"),
                j => (NodeId::Task(j, branch), "TASK"),
            };
            let score = (mix(&[set.seed, k, j, 4]) % 100) as i64;
            let before = Variables::Synthetic {
                route: None,
                score,
                step: j,
            };
            let after = Variables::Synthetic {
                route: (j % 3 == 1).then_some(if branch == 'b' { "qb" } else { "qa" }),
                score: score + (j as i64 % 2),
                step: j + 1,
            };
            Step {
                node_id,
                node_type,
                start_ms,
                end_ms,
                before,
                after,
                error,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn synthetic_ids_round_trip_and_timing_matches_rendering() {
        let set = SyntheticHistory {
            interactions: 1000,
            steps: 10,
            seed: 3,
        };
        for k in [0, 1, 999] {
            assert_eq!(set.index_of(&SyntheticHistory::id(k)), Some(k));
            let timing: Vec<_> = synthetic_timing(&set, 0, k).collect();
            let steps = synthetic_steps(&set, 0, k);
            assert_eq!(timing.len(), 10);
            for (t, s) in timing.iter().zip(&steps) {
                assert_eq!(*t, (s.start_ms, s.end_ms, s.error));
                assert!(s.end_ms > s.start_ms);
            }
            assert_eq!(steps, synthetic_steps(&set, 0, k), "deterministic");
        }
        for ms in [
            0,
            -1,
            1_764_000_000_123,
            951_782_400_000,
            253_402_300_799_999,
            -62_167_219_200_000,
        ] {
            let fast = Rfc3339Millis::new(ms).map(|t| t.as_str().to_owned());
            assert_eq!(fast, Some(rfc3339(ms)), "{ms}");
        }
        assert!(
            Rfc3339Millis::new(253_402_300_800_000).is_none(),
            "year 10000"
        );
        let step = &synthetic_steps(&set, 0, 1)[1];
        let text = serde_json::to_value(step).unwrap();
        assert_eq!(text["nodeId"], "decision-1");
        assert_eq!(text["startTime"], rfc3339(step.start_ms));
        let route = text["variablesAfter"]["route"].as_str().unwrap();
        assert!(route == "qa" || route == "qb", "{route}");
        assert_eq!(text["variablesAfter"]["step"], 2);
        assert_eq!(text["variablesBefore"].as_object().unwrap().len(), 2);
        for bad in [
            "syn-00001000",
            "syn-1",
            "syn-0000000x",
            "a1",
            "syn-+0000001",
        ] {
            assert_eq!(set.index_of(bad), None, "{bad}");
        }
    }
}
