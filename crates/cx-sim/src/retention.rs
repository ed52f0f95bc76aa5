//! Bounded memory for finished resources: [`Retained`] keeps executions,
//! instances and data-action jobs by id in creation order and evicts the
//! finished ones by age and by count ([`Retention`]); running ones are never
//! evicted. Eviction runs where resources are created and where their
//! lifecycles advance, so memory stays bounded however many are created.

use std::cmp::Reverse;
use std::collections::{BTreeMap, BinaryHeap, HashMap, VecDeque};
use std::time::Duration;

use crate::clock::duration_ms;
use crate::setters::with_setters;

/// How long finished resources and stored idempotent responses are kept,
/// and how many at most, per tenant and kind. See `SimBuilder::retention`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct Retention {
    /// A finished resource (or a stored idempotent response) older than
    /// this, in sim time, is evicted. Default 24 h.
    pub max_age: Duration,
    /// Finished resources kept per tenant and kind (executions, instances,
    /// jobs), the newest first; also the number of idempotent responses
    /// kept and a quarter of the audit entries kept (and of the published
    /// events, each agent's work-mode writes and the history webhook
    /// inbox). Default 10,000.
    pub max_finished: usize,
}

impl Default for Retention {
    fn default() -> Self {
        Self {
            max_age: Duration::from_secs(24 * 3600),
            max_finished: 10_000,
        }
    }
}

with_setters! { Retention {
    /// Sets [`Retention::max_age`].
    with_max_age(max_age: Duration);
    /// Sets [`Retention::max_finished`].
    with_max_finished(max_finished: usize);
}}

impl Retention {
    /// `max_age` in ms.
    pub(crate) fn max_age_ms(&self) -> u64 {
        duration_ms(self.max_age)
    }

    /// Audit entries kept per tenant (each resource writes about two).
    pub(crate) fn max_audit_entries(&self) -> usize {
        self.max_finished.saturating_mul(4)
    }
}

/// Resources by id, in creation order, with their finishing times.
#[derive(Debug)]
pub(crate) struct Retained<T> {
    items: BTreeMap<u64, (String, T)>,
    index: HashMap<String, u64>,
    /// (finishes at ms, key) of resources that have not finished yet.
    finishing: BinaryHeap<Reverse<(u64, u64)>>,
    /// (finished at ms, key), oldest first.
    finished: VecDeque<(u64, u64)>,
    next: u64,
}

impl<T> Default for Retained<T> {
    fn default() -> Self {
        Self {
            items: BTreeMap::new(),
            index: HashMap::new(),
            finishing: BinaryHeap::new(),
            finished: VecDeque::new(),
            next: 0,
        }
    }
}

impl<T> Retained<T> {
    /// Adds `item` as `id`, finishing at `finishes_at_ms` (`None`: never);
    /// returns its key.
    pub(crate) fn insert(&mut self, id: String, item: T, finishes_at_ms: Option<u64>) -> u64 {
        let key = self.next;
        self.next += 1;
        self.index.insert(id.clone(), key);
        self.items.insert(key, (id, item));
        if let Some(at) = finishes_at_ms {
            self.finishing.push(Reverse((at, key)));
        }
        key
    }

    /// The resource with `id`.
    pub(crate) fn get(&self, id: &str) -> Option<&T> {
        self.index
            .get(id)
            .and_then(|k| self.items.get(k))
            .map(|(_, t)| t)
    }

    /// The resource with `key`, to change it.
    pub(crate) fn by_key_mut(&mut self, key: u64) -> Option<&mut T> {
        self.items.get_mut(&key).map(|(_, t)| t)
    }

    /// Every resource kept, oldest first.
    pub(crate) fn iter(&self) -> impl Iterator<Item = &T> {
        self.items.values().map(|(_, t)| t)
    }

    /// Resources kept.
    pub(crate) fn len(&self) -> usize {
        self.items.len()
    }

    /// Evict what `retention` no longer keeps at sim time `now_ms`:
    /// resources finished for longer than `max_age`, then the oldest
    /// finished beyond `max_finished`. Call after the lifecycle transitions
    /// due at `now_ms` have been applied. Returns how many were evicted.
    pub(crate) fn evict(&mut self, now_ms: u64, retention: &Retention) -> usize {
        while let Some(Reverse((at, key))) = self.finishing.peek().copied() {
            if at > now_ms {
                break;
            }
            self.finishing.pop();
            self.finished.push_back((at, key));
        }
        let max_age = retention.max_age_ms();
        let mut evicted = 0;
        while let Some(&(at, key)) = self.finished.front() {
            let too_old = now_ms.saturating_sub(at) >= max_age;
            if !too_old && self.finished.len() <= retention.max_finished {
                break;
            }
            self.finished.pop_front();
            if let Some((id, _)) = self.items.remove(&key) {
                self.index.remove(&id);
                evicted += 1;
            }
        }
        evicted
    }
}

/// Values by key, evicted by age and count in insertion order (stored
/// idempotent responses).
#[derive(Debug)]
pub(crate) struct Expiring<K, V> {
    map: HashMap<K, V>,
    order: VecDeque<(u64, K)>,
}

impl<K, V> Default for Expiring<K, V> {
    fn default() -> Self {
        Self {
            map: HashMap::new(),
            order: VecDeque::new(),
        }
    }
}

impl<K: std::hash::Hash + Eq + Clone, V> Expiring<K, V> {
    /// The value of `key`.
    pub(crate) fn get(&self, key: &K) -> Option<&V> {
        self.map.get(key)
    }

    /// Stores `value` under `key` at sim time `now_ms`, evicting what
    /// `retention` no longer keeps.
    pub(crate) fn insert(&mut self, key: K, value: V, now_ms: u64, retention: &Retention) {
        if self.map.insert(key.clone(), value).is_none() {
            self.order.push_back((now_ms, key));
        }
        self.evict(now_ms, retention);
    }

    /// Evict values older than `max_age` at sim time `now_ms`, then the
    /// oldest beyond `max_finished`.
    pub(crate) fn evict(&mut self, now_ms: u64, retention: &Retention) {
        let max_age = retention.max_age_ms();
        while let Some((at, _)) = self.order.front() {
            let too_old = now_ms.saturating_sub(*at) >= max_age;
            if !too_old && self.order.len() <= retention.max_finished {
                break;
            }
            if let Some((_, k)) = self.order.pop_front() {
                self.map.remove(&k);
            }
        }
    }

    /// Values kept.
    pub(crate) fn len(&self) -> usize {
        self.map.len()
    }
}

/// Drop the oldest entries of `log` beyond `max` (in batches, so the
/// cost per entry stays constant).
pub(crate) fn trim_log<T>(log: &mut Vec<T>, max: usize) {
    if log.len() > max.saturating_add(max / 8 + 1) {
        let excess = log.len() - max;
        log.drain(..excess);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Keeps finished resources 1 s of sim time, at most `max_finished`.
    fn one_second(max_finished: usize) -> Retention {
        Retention::default()
            .with_max_age(Duration::from_secs(1))
            .with_max_finished(max_finished)
    }

    #[test]
    fn finished_resources_are_evicted_by_age_and_count_running_ones_never() {
        let r = one_second(2);
        let mut s = Retained::default();
        for i in 0..5u64 {
            s.insert(format!("r{i}"), i, Some(100 + i));
        }
        s.insert("stuck".to_owned(), 99, None);
        assert_eq!(s.evict(50, &r), 0, "nothing finished yet");
        assert_eq!(s.evict(200, &r), 3, "five finished, two kept");
        assert!(s.get("r0").is_none() && s.get("r4").is_some());
        assert_eq!(s.iter().copied().collect::<Vec<_>>(), [3, 4, 99]);
        assert_eq!(s.evict(1104, &r), 2, "aged out");
        assert_eq!(s.len(), 1);
        assert!(s.get("stuck").is_some());
    }

    #[test]
    fn expiring_values_and_logs_stay_bounded() {
        let r = one_second(3);
        let mut e = Expiring::default();
        for i in 0..10u64 {
            e.insert(i, i, i, &r);
        }
        assert_eq!(e.len(), 3);
        assert!(e.get(&9).is_some() && e.get(&6).is_none());
        e.insert(10, 10, 5000, &r);
        assert_eq!(e.len(), 1, "the others aged out");
        let mut log: Vec<u32> = (0..100).collect();
        trim_log(&mut log, 10);
        assert_eq!(log.len(), 10);
        assert_eq!(log[0], 90);
    }
}
