//! Availability rules (seed 002 step 2), as a pure function of the WFM
//! schedule, the agent's skills, the target payload and "now".
//!
//! | rule | field | when |
//! |---|---|---|
//! | `no_active_shift` | `schedule.shifts` | no shift at all, or none covering now (the seed only checks "no shifts"; a schedule whose shifts are all past or future restricts changes too) |
//! | `shift_work_mode` | `workModeId` | the active shift's work mode differs from the target |
//! | `max_concurrent` | `skillLevels[i].concurrentInteractions` | above the skill's `maximumConcurrentInteractions` (absent or 0 → 1, as the seed) |
//!
//! Every violation is reported, not just the first. Skills the agent does
//! not hold are not checked (as in the seed).

use chrono::{DateTime, SecondsFormat, Utc};
use serde::{Deserialize, Serialize};

use crate::error::{Rule, Violation};
use crate::types::{Schedule, Shift, Skill, WorkModePayload};

/// The outcome of [`validate_availability`]. JSON `{valid, violations,
/// checkedAt, activeShift?}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ValidationReport {
    /// No rule broken.
    pub valid: bool,
    /// Every broken rule.
    pub violations: Vec<Violation>,
    /// The "now" the shift rules used.
    pub checked_at: DateTime<Utc>,
    /// The shift active at `checked_at`, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub active_shift: Option<Shift>,
}

/// Check `payload` against `schedule` and `skills` at `now`. See the module docs.
pub fn validate_availability(
    schedule: &Schedule,
    skills: &[Skill],
    payload: &WorkModePayload,
    now: DateTime<Utc>,
) -> ValidationReport {
    let mut violations = Vec::new();
    let active = schedule.shifts.iter().find(|s| s.is_active(now));
    match active {
        None if schedule.shifts.is_empty() => violations.push(
            Violation::new(
                "schedule.shifts",
                Rule::NoActiveShift,
                "the agent has no shift; availability changes are restricted",
            )
            .with_values("an active shift", "no shifts"),
        ),
        None => violations.push(
            Violation::new(
                "schedule.shifts",
                Rule::NoActiveShift,
                format!(
                    "no shift is active at {}; availability changes are restricted",
                    now.to_rfc3339_opts(SecondsFormat::Millis, true)
                ),
            )
            .with_values(
                "an active shift",
                format!("{} shifts, none active", schedule.shifts.len()),
            ),
        ),
        Some(shift) if shift.work_mode_id != payload.work_mode_id => violations.push(
            Violation::new(
                "workModeId",
                Rule::ShiftWorkMode,
                format!(
                    "target work mode {} conflicts with scheduled shift mode {}",
                    payload.work_mode_id, shift.work_mode_id
                ),
            )
            .with_values(shift.work_mode_id.clone(), payload.work_mode_id.clone()),
        ),
        Some(_) => {}
    }
    for (i, level) in payload.skill_levels.iter().enumerate() {
        let Some(skill) = skills.iter().find(|s| s.skill_id == level.skill_id) else {
            continue;
        };
        let max = skill.max_concurrent();
        if level.concurrent_interactions > max {
            violations.push(
                Violation::new(
                    format!("skillLevels[{i}].concurrentInteractions"),
                    Rule::MaxConcurrent,
                    format!(
                        "skill {} exceeds its maximum concurrent limit of {max}",
                        level.skill_id
                    ),
                )
                .with_values(
                    format!("<= {max}"),
                    level.concurrent_interactions.to_string(),
                ),
            );
        }
    }
    ValidationReport {
        valid: violations.is_empty(),
        violations,
        checked_at: now,
        active_shift: active.cloned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::FixedClock;
    use crate::types::SkillLevel;
    use chrono::Duration;
    use proptest::prelude::*;

    fn skill(id: &str, max: Option<u32>) -> Skill {
        Skill {
            skill_id: id.to_owned(),
            maximum_concurrent_interactions: max,
            other: serde_json::Map::new(),
        }
    }

    fn shift(now: DateTime<Utc>, from_h: i64, to_h: i64, mode: &str) -> Shift {
        Shift {
            start_time: now + Duration::hours(from_h),
            end_time: now + Duration::hours(to_h),
            work_mode_id: mode.to_owned(),
        }
    }

    fn payload(mode: &str, levels: &[(&str, u32, u32)]) -> WorkModePayload {
        let clock = FixedClock(Utc::now());
        WorkModePayload::builder(mode)
            .skills(levels.iter().map(|(s, l, c)| SkillLevel::new(*s, *l, *c)))
            .build(&clock)
            .unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn rules_table() {
        let now = Utc::now();
        let skills = [skill("skill-456", Some(2)), skill("skill-789", None)];
        let on_shift = Schedule {
            shifts: vec![
                shift(now, -1, 8, "workMode-123"),
                shift(now, 8, 16, "workMode-456"),
            ],
        };
        let off_shift = Schedule {
            shifts: vec![shift(now, 1, 8, "workMode-123")],
        };
        let no_shifts = Schedule::default();
        let seed = [("skill-456", 1, 2), ("skill-789", 0, 0)];
        // (schedule, target mode, levels, expected (field, rule) list)
        type Case<'a> = (
            &'a Schedule,
            &'a str,
            Vec<(&'a str, u32, u32)>,
            Vec<(&'a str, Rule)>,
        );
        let cases: Vec<Case> = vec![
            (&on_shift, "workMode-123", seed.to_vec(), vec![]),
            (
                &on_shift,
                "workMode-999",
                vec![
                    ("skill-456", 1, 3),
                    ("skill-789", 1, 2),
                    ("skill-unknown", 1, 99),
                ],
                vec![
                    ("workModeId", Rule::ShiftWorkMode),
                    ("skillLevels[0].concurrentInteractions", Rule::MaxConcurrent),
                    ("skillLevels[1].concurrentInteractions", Rule::MaxConcurrent),
                ],
            ),
            (
                &no_shifts,
                "workMode-123",
                vec![("skill-456", 1, 5)],
                vec![
                    ("schedule.shifts", Rule::NoActiveShift),
                    ("skillLevels[0].concurrentInteractions", Rule::MaxConcurrent),
                ],
            ),
            (
                &off_shift,
                "workMode-123",
                seed.to_vec(),
                vec![("schedule.shifts", Rule::NoActiveShift)],
            ),
        ];
        for (schedule, mode, levels, want) in cases {
            let report = validate_availability(schedule, &skills, &payload(mode, &levels), now);
            let got: Vec<(&str, Rule)> = report
                .violations
                .iter()
                .map(|v| (v.field.as_str(), v.rule.clone()))
                .collect();
            assert_eq!(got, want, "{mode} {levels:?}");
            assert_eq!(report.valid, want.is_empty());
        }
    }

    #[test]
    fn the_clock_decides_which_shift_is_active() {
        let now = Utc::now();
        let schedule = Schedule {
            shifts: vec![
                shift(now, -1, 8, "workMode-123"),
                shift(now, 8, 16, "workMode-456"),
            ],
        };
        let p = payload("workMode-456", &[]);
        assert!(!validate_availability(&schedule, &[], &p, now).valid);
        let later = validate_availability(&schedule, &[], &p, now + Duration::hours(9));
        assert!(later.valid);
        assert_eq!(
            later.active_shift.map(|s| s.work_mode_id).as_deref(),
            Some("workMode-456")
        );
    }

    proptest! {
        #[test]
        fn every_over_limit_skill_is_reported(
            maxes in proptest::collection::vec(0u32..5, 1..8),
            asks in proptest::collection::vec(0u32..8, 1..8),
        ) {
            let now = Utc::now();
            let skills: Vec<Skill> = maxes
                .iter()
                .enumerate()
                .map(|(i, m)| skill(&format!("s{i}"), Some(*m)))
                .collect();
            let levels: Vec<(String, u32, u32)> = asks
                .iter()
                .enumerate()
                .map(|(i, c)| (format!("s{i}"), 1, *c))
                .collect();
            let refs: Vec<(&str, u32, u32)> =
                levels.iter().map(|(s, l, c)| (s.as_str(), *l, *c)).collect();
            let schedule = Schedule { shifts: vec![shift(now, -1, 1, "m")] };
            let report = validate_availability(&schedule, &skills, &payload("m", &refs), now);
            let want = asks
                .iter()
                .enumerate()
                .filter(|(i, c)| maxes.get(*i).is_some_and(|m| **c > (*m).max(1)))
                .count();
            prop_assert_eq!(report.violations.len(), want);
        }
    }
}
