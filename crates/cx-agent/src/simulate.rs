//! The routing-impact simulator of seed 002 step 6: what a work-mode change
//! would do to the agent's routing score, offline and deterministic.
//!
//! `routingScore = clamp(100 − 15 × (skills at level 0) + 5 × Σ
//! concurrentInteractions, 0, 100)`, exactly as the seed computes it. The
//! seed adds `Math.random() * 50 + 10` ms of "latency"; here there is none
//! unless a seed is given ([`RoutingSimulator::latency_seed`]), and then it
//! is a pure function of the seed, the agent and the payload.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::clock::Clock;
use crate::types::{SkillLevel, WorkModePayload};

/// Score before penalties and bonuses.
pub const BASE_ROUTING_SCORE: i64 = 100;
/// Subtracted per skill at level 0.
pub const PENALTY_PER_DISABLED_SKILL: i64 = 15;
/// Added per concurrent-interaction slot.
pub const BONUS_PER_CONCURRENT_SLOT: i64 = 5;

/// The seed's routing score of `skill_levels`, in `0..=100`.
pub fn routing_score(skill_levels: &[SkillLevel]) -> u8 {
    let disabled = skill_levels.iter().filter(|s| s.is_disabled()).count();
    let slots: i64 = skill_levels
        .iter()
        .map(|s| i64::from(s.concurrent_interactions))
        .fold(0, i64::saturating_add);
    let disabled = i64::try_from(disabled).unwrap_or(i64::MAX);
    let score = BASE_ROUTING_SCORE
        .saturating_sub(disabled.saturating_mul(PENALTY_PER_DISABLED_SKILL))
        .saturating_add(slots.saturating_mul(BONUS_PER_CONCURRENT_SLOT));
    u8::try_from(score.clamp(0, 100)).unwrap_or(100)
}

/// Simulates work-mode changes (seed 002 step 6, `simulateAvailabilityUpdate`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct RoutingSimulator {
    /// When set, [`Simulation::simulated_latency_ms`] is `10..60` ms derived
    /// from this seed, the agent and the payload; when `None` it is absent.
    pub latency_seed: Option<u64>,
}

cx_http::with_setters! { RoutingSimulator {
    /// Derive simulated latencies from `latency_seed` ([`RoutingSimulator::latency_seed`]).
    with_latency_seed(latency_seed: u64) = Some(latency_seed);
}}

/// What [`RoutingSimulator::simulate`] returns. JSON camelCase, as the seed's.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Simulation {
    /// The agent.
    pub agent_id: String,
    /// Always `active`, as in the seed.
    pub simulated_status: String,
    /// Target work mode.
    pub work_mode_id: String,
    /// The score, `0..=100`.
    pub routing_score: u8,
    /// Skills at level 0.
    pub disabled_skills: usize,
    /// Σ concurrentInteractions.
    pub concurrent_slots: u64,
    /// Seeded latency in ms, absent without a seed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub simulated_latency_ms: Option<f64>,
    /// `simulator`.
    pub source: String,
    /// When the simulation ran (the client's clock).
    pub timestamp: DateTime<Utc>,
}

impl RoutingSimulator {
    /// Simulate `payload` for `agent_id`. Sends nothing.
    pub fn simulate(
        &self,
        agent_id: &str,
        payload: &WorkModePayload,
        clock: &dyn Clock,
    ) -> Simulation {
        let levels = &payload.skill_levels;
        Simulation {
            agent_id: agent_id.to_owned(),
            simulated_status: "active".to_owned(),
            work_mode_id: payload.work_mode_id.clone(),
            routing_score: routing_score(levels),
            disabled_skills: levels.iter().filter(|s| s.is_disabled()).count(),
            concurrent_slots: levels
                .iter()
                .map(|s| u64::from(s.concurrent_interactions))
                .sum(),
            simulated_latency_ms: self
                .latency_seed
                .map(|seed| seeded_latency(seed, agent_id, payload)),
            source: "simulator".to_owned(),
            timestamp: clock.now(),
        }
    }
}

/// `10 + 50 × u` ms with `u ∈ [0, 1)` from SplitMix64 over an FNV-1a hash of
/// the seed, agent and payload; two decimals.
fn seeded_latency(seed: u64, agent_id: &str, payload: &WorkModePayload) -> f64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325 ^ seed;
    let mut eat = |bytes: &[u8]| {
        for b in bytes {
            h ^= u64::from(*b);
            h = h.wrapping_mul(0x0000_0100_0000_01b3);
        }
    };
    eat(agent_id.as_bytes());
    eat(payload.work_mode_id.as_bytes());
    for s in &payload.skill_levels {
        eat(s.to_string().as_bytes());
    }
    let mut z = h.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^= z >> 31;
    let unit = (z >> 11) as f64 / (1u64 << 53) as f64;
    ((10.0 + 50.0 * unit) * 100.0).round() / 100.0
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::FixedClock;
    use proptest::prelude::*;

    fn levels(spec: &[(u32, u32)]) -> Vec<SkillLevel> {
        spec.iter()
            .enumerate()
            .map(|(i, (l, c))| SkillLevel::new(format!("s{i}"), *l, *c))
            .collect()
    }

    #[test]
    fn score_table() {
        // (level, concurrent) per skill → score
        let cases: [(&[(u32, u32)], u8); 7] = [
            (&[], 100),
            (&[(1, 2), (0, 0)], 95), // the seed's example: 100 − 15 + 10
            (&[(0, 0)], 85),
            (&[(0, 0); 7], 0), // 100 − 105 → 0
            (&[(1, 3)], 100),  // 115 → 100
            (&[(0, 0), (0, 0), (1, 1)], 75),
            (&[(1, u32::MAX)], 100),
        ];
        for (spec, want) in cases {
            assert_eq!(routing_score(&levels(spec)), want, "{spec:?}");
        }
    }

    #[test]
    fn latency_is_absent_or_seeded_and_repeatable() {
        let clock = FixedClock(Utc::now());
        let payload = WorkModePayload::builder("workMode-123")
            .skill(SkillLevel::new("skill-456", 1, 2))
            .build(&clock)
            .unwrap_or_else(|e| panic!("{e}"));
        let plain = RoutingSimulator::default().simulate("agent-001", &payload, &clock);
        assert_eq!(plain.simulated_latency_ms, None);
        assert_eq!(plain.routing_score, 100);
        let seeded = RoutingSimulator {
            latency_seed: Some(7),
        };
        let a = seeded.simulate("agent-001", &payload, &clock);
        let b = seeded.simulate("agent-001", &payload, &clock);
        assert_eq!(a, b);
        let ms = a.simulated_latency_ms.unwrap_or_default();
        assert!((10.0..60.0).contains(&ms), "{ms}");
        let other = RoutingSimulator {
            latency_seed: Some(8),
        }
        .simulate("agent-001", &payload, &clock);
        assert_ne!(other.simulated_latency_ms, a.simulated_latency_ms);
    }

    proptest! {
        #[test]
        fn score_is_bounded_and_disabling_never_raises_it(
            spec in proptest::collection::vec((0u32..4, 0u32..1000), 0..20),
            pick in any::<proptest::sample::Index>(),
            zero_slots in any::<bool>(),
        ) {
            let before = levels(&spec);
            let score = routing_score(&before);
            prop_assert!(score <= 100);
            if !before.is_empty() {
                let mut after = before.clone();
                let i = pick.index(after.len());
                after[i].level = 0;
                if zero_slots {
                    after[i].concurrent_interactions = 0;
                }
                prop_assert!(routing_score(&after) <= score);
            }
        }

        #[test]
        fn score_is_bounded_for_any_input(
            spec in proptest::collection::vec((any::<u32>(), any::<u32>()), 0..50),
        ) {
            prop_assert!(routing_score(&levels(&spec)) <= 100);
        }
    }
}
