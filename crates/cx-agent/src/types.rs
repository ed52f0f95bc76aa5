//! The seed-002 wire types: agent profile, skills, WFM schedule, skill
//! levels and the work-mode payload with its builder.

use std::collections::HashSet;
use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::clock::Clock;
use crate::error::{Error, Rule, Violation};

/// `GET /api/v2/agents/{id}`: the fields this crate uses, the rest kept in `other`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AgentProfile {
    /// Agent id, e.g. `agent-001`.
    pub id: String,
    /// Current work mode (`currentWorkMode.id` in the seed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub current_work_mode: Option<WorkModeRef>,
    /// Current skill levels.
    #[serde(default)]
    pub skills: Vec<SkillLevel>,
    /// Every other field of the profile, as sent.
    #[serde(flatten)]
    pub other: Map<String, Value>,
}

impl AgentProfile {
    /// The current work mode id, if any.
    pub fn work_mode_id(&self) -> Option<&str> {
        self.current_work_mode.as_ref().map(|w| w.id.as_str())
    }
}

/// `{id}` of a work mode.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WorkModeRef {
    /// Work mode id, e.g. `workMode-123`.
    pub id: String,
}

/// One entity of `GET /api/v2/agents/{id}/skills`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Skill {
    /// Skill id, e.g. `skill-456`.
    pub skill_id: String,
    /// Most interactions of this skill at once; absent means 1 (the seed's
    /// `|| 1`), see [`Skill::max_concurrent`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub maximum_concurrent_interactions: Option<u32>,
    /// Every other field, as sent.
    #[serde(flatten)]
    pub other: Map<String, Value>,
}

impl Skill {
    /// The limit seed 002 applies: `maximumConcurrentInteractions || 1`
    /// (absent or 0 count as 1).
    pub fn max_concurrent(&self) -> u32 {
        self.maximum_concurrent_interactions
            .filter(|m| *m > 0)
            .unwrap_or(1)
    }
}

/// `GET /api/v2/wfm/schedules/{agentId}`. A body without `shifts` reads as
/// no shifts (the seed would crash on it).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Schedule {
    /// The agent's shifts.
    #[serde(default)]
    pub shifts: Vec<Shift>,
}

/// One WFM shift.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Shift {
    /// Start (RFC 3339).
    pub start_time: DateTime<Utc>,
    /// End (RFC 3339), inclusive as in the seed.
    pub end_time: DateTime<Utc>,
    /// Work mode scheduled for the shift.
    pub work_mode_id: String,
}

impl Shift {
    /// Whether `now` is within `[start_time, end_time]` (seed 002 step 2).
    pub fn is_active(&self, now: DateTime<Utc>) -> bool {
        self.start_time <= now && now <= self.end_time
    }
}

/// A skill's target level. JSON `{skillId, level, concurrentInteractions}`;
/// text `skillId:level:concurrent` ([`FromStr`], as `cx agent --skill` takes it).
/// Level 0 disables the skill.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize, garde::Validate)]
#[serde(rename_all = "camelCase")]
pub struct SkillLevel {
    /// Skill id.
    #[garde(custom(required))]
    pub skill_id: String,
    /// Proficiency level; 0 disables the skill for routing.
    #[garde(skip)]
    pub level: u32,
    /// Interactions of this skill the agent takes at once.
    #[garde(skip)]
    #[serde(default)]
    pub concurrent_interactions: u32,
}

impl SkillLevel {
    /// A skill level.
    pub fn new(skill_id: impl Into<String>, level: u32, concurrent_interactions: u32) -> Self {
        Self {
            skill_id: skill_id.into(),
            level,
            concurrent_interactions,
        }
    }

    /// Whether the level disables the skill (level 0).
    pub fn is_disabled(&self) -> bool {
        self.level == 0
    }
}

impl fmt::Display for SkillLevel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}:{}:{}",
            self.skill_id, self.level, self.concurrent_interactions
        )
    }
}

impl FromStr for SkillLevel {
    type Err = Error;

    /// Parse `skillId:level:concurrent`, e.g. `skill-456:1:2`.
    ///
    /// # Errors
    /// [`crate::ErrorKind::Validation`] naming `skill` and the part that is wrong.
    fn from_str(s: &str) -> Result<Self, Error> {
        let bad = |msg: String| {
            Error::violations_error(
                "invalid skill",
                vec![
                    Violation::new("skill", Rule::Format, msg)
                        .with_values("skillId:level:concurrent with non-negative integers", s),
                ],
            )
        };
        let parts: Vec<&str> = s.split(':').collect();
        let [id, level, concurrent] = parts.as_slice() else {
            return Err(bad(format!("{s:?} must have three parts separated by ':'")));
        };
        let num = |name: &str, v: &str| {
            v.trim()
                .parse::<u32>()
                .map_err(|_| bad(format!("{name} {v:?} is not a non-negative integer")))
        };
        if id.trim().is_empty() {
            return Err(bad("the skill id is empty".to_owned()));
        }
        Ok(Self::new(
            id.trim(),
            num("level", level)?,
            num("concurrent", concurrent)?,
        ))
    }
}

/// `metadata` of a work-mode payload: who sent it and when.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, garde::Validate)]
pub struct PayloadMetadata {
    /// The sending system, e.g. `cxone-rs`.
    #[garde(custom(required))]
    pub source: String,
    /// When the payload was built (from the client's clock).
    #[garde(skip)]
    pub timestamp: DateTime<Utc>,
}

/// The body of `PATCH /api/v2/agents/{id}/workmodes` (seed 002 step 3).
/// Build it with [`WorkModePayload::builder`].
///
/// Rules (checked with `garde`, plus the list-wide duplicate rule, by
/// [`WorkModePayload::problems`], all reported at once, named by their wire
/// field):
///
/// | field | rule |
/// |---|---|
/// | `workModeId`, `reason`, `skillLevels[i].skillId`, `metadata.source` | `required`: not empty or blank |
/// | `skillLevels[i].skillId` | `duplicate`: each skill listed once |
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, garde::Validate)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct WorkModePayload {
    /// Target work mode.
    #[garde(custom(required))]
    pub work_mode_id: String,
    /// Target skill levels.
    #[garde(dive)]
    pub skill_levels: Vec<SkillLevel>,
    /// Why (free text).
    #[garde(custom(required))]
    pub reason: String,
    /// Source and timestamp.
    #[garde(dive)]
    pub metadata: PayloadMetadata,
}

/// Default `reason`, the seed's.
pub const DEFAULT_REASON: &str = "api-driven-availability-update";
/// Default `metadata.source`.
pub const DEFAULT_SOURCE: &str = "cxone-rs";

impl WorkModePayload {
    /// A builder for a change to `work_mode_id`.
    pub fn builder(work_mode_id: impl Into<String>) -> WorkModePayloadBuilder {
        WorkModePayloadBuilder {
            work_mode_id: work_mode_id.into(),
            skill_levels: Vec::new(),
            reason: DEFAULT_REASON.to_owned(),
            source: DEFAULT_SOURCE.to_owned(),
        }
    }

    /// Every shape problem: empty work mode, reason, skill id or
    /// `metadata.source` (the `garde` rules), then each skill listed twice.
    /// Empty when the payload is well formed.
    pub fn problems(&self) -> Vec<Violation> {
        let mut out = match garde::Validate::validate(self) {
            Ok(()) => Vec::new(),
            Err(report) => {
                cx_http::report_violations(report.iter(), cx_http::camel_case_path, rule_of)
                    .collect()
            }
        };
        let mut seen = HashSet::new();
        for (i, s) in self.skill_levels.iter().enumerate() {
            if !s.skill_id.trim().is_empty() && !seen.insert(s.skill_id.as_str()) {
                out.push(
                    Violation::new(
                        format!("skillLevels[{i}].skillId"),
                        Rule::Duplicate,
                        format!("{} is listed more than once", s.skill_id),
                    )
                    .with_values("each skill once", s.skill_id.clone()),
                );
            }
        }
        out
    }
}

/// The garde rule of a text field that must be given.
fn required(value: &str, _: &()) -> garde::Result {
    if value.trim().is_empty() {
        Err(garde::Error::new("must not be empty"))
    } else {
        Ok(())
    }
}

/// The rule of a garde message (for [`Violation::rule`]): the only garde
/// rule of this crate is `required`.
fn rule_of(_field: &str, _message: &str) -> Rule {
    Rule::Required
}

/// Builds a [`WorkModePayload`]; [`WorkModePayloadBuilder::build`] checks it.
#[must_use]
#[derive(Debug, Clone)]
pub struct WorkModePayloadBuilder {
    work_mode_id: String,
    skill_levels: Vec<SkillLevel>,
    reason: String,
    source: String,
}

impl WorkModePayloadBuilder {
    /// Add a skill level.
    pub fn skill(mut self, level: SkillLevel) -> Self {
        self.skill_levels.push(level);
        self
    }

    /// Add several skill levels.
    pub fn skills(mut self, levels: impl IntoIterator<Item = SkillLevel>) -> Self {
        self.skill_levels.extend(levels);
        self
    }

    /// The reason (default [`DEFAULT_REASON`]).
    pub fn reason(mut self, reason: impl Into<String>) -> Self {
        self.reason = reason.into();
        self
    }

    /// `metadata.source` (default [`DEFAULT_SOURCE`]).
    pub fn source(mut self, source: impl Into<String>) -> Self {
        self.source = source.into();
        self
    }

    /// The payload, stamped with `clock`'s now.
    ///
    /// # Errors
    /// [`crate::ErrorKind::Validation`] listing every problem of
    /// [`WorkModePayload::problems`].
    pub fn build(self, clock: &dyn Clock) -> Result<WorkModePayload, Error> {
        let payload = WorkModePayload {
            work_mode_id: self.work_mode_id,
            skill_levels: self.skill_levels,
            reason: self.reason,
            metadata: PayloadMetadata {
                source: self.source,
                timestamp: clock.now(),
            },
        };
        let problems = payload.problems();
        if problems.is_empty() {
            Ok(payload)
        } else {
            Err(Error::violations_error(
                "invalid work-mode payload",
                problems,
            ))
        }
    }
}

/// Why `id` cannot be an agent id: the rule an [`AgentId`] checks.
fn check_agent_id(id: &str) -> Result<(), Error> {
    let problem = if id.trim().is_empty() {
        Some("must not be empty")
    } else if id
        .chars()
        .any(|c| matches!(c, '/' | '?' | '#' | '%') || c.is_whitespace() || c.is_control())
    {
        Some("must not contain '/', '?', '#', '%' or whitespace")
    } else {
        None
    };
    match problem {
        None => Ok(()),
        Some(p) => Err(Error::violations_error(
            "invalid agent id",
            vec![Violation::new("agent_id", Rule::Format, p).with_values("a path segment", id)],
        )),
    }
}

cx_http::id_newtype! {
    /// An agent id, e.g. `agent-001`.
    ///
    /// Checked on construction so it is always usable as one URL path
    /// segment: not empty or blank, and free of `/ ? # %`, whitespace and
    /// control characters; otherwise [`crate::ErrorKind::Validation`] with
    /// one violation on `agent_id` (rule `format`). Serialised as a plain
    /// string; deserialising checks.
    pub struct AgentId(check_agent_id) -> Error;
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::FixedClock;

    #[test]
    fn skill_text_table() {
        let cases = [
            ("skill-456:1:2", Some(SkillLevel::new("skill-456", 1, 2))),
            ("skill-789:0:0", Some(SkillLevel::new("skill-789", 0, 0))),
            (" s : 3 : 4 ", Some(SkillLevel::new("s", 3, 4))),
            ("skill-456:1", None),
            ("skill-456:1:2:3", None),
            (":1:2", None),
            ("s:-1:2", None),
            ("s:1:x", None),
        ];
        for (text, want) in cases {
            let got = text.parse::<SkillLevel>();
            match want {
                Some(w) => assert_eq!(got.ok(), Some(w), "{text}"),
                None => {
                    let err = got
                        .err()
                        .map(|e| e.violations().to_vec())
                        .unwrap_or_default();
                    assert_eq!(err.len(), 1, "{text}");
                    assert_eq!(err[0].field, "skill");
                }
            }
        }
    }

    #[test]
    fn builder_reports_every_problem() {
        let clock = FixedClock(Utc::now());
        let err = WorkModePayload::builder(" ")
            .skill(SkillLevel::new("a", 1, 1))
            .skill(SkillLevel::new("a", 0, 0))
            .skill(SkillLevel::new("", 0, 0))
            .reason("")
            .source("")
            .build(&clock)
            .err();
        let got: Vec<(String, String)> = err
            .map(|e| {
                e.violations()
                    .iter()
                    .map(|v| (v.field.clone(), v.rule.to_string()))
                    .collect()
            })
            .unwrap_or_default();
        // The garde rules by field name, then the duplicate rule.
        let want = [
            ("metadata.source", "required"),
            ("reason", "required"),
            ("skillLevels[2].skillId", "required"),
            ("workModeId", "required"),
            ("skillLevels[1].skillId", "duplicate"),
        ];
        let want: Vec<(String, String)> = want
            .iter()
            .map(|(f, r)| ((*f).to_owned(), (*r).to_owned()))
            .collect();
        assert_eq!(got, want);
        let ok = WorkModePayload::builder("workMode-123")
            .skill(SkillLevel::new("skill-456", 1, 2))
            .build(&clock);
        let json = ok.map(|p| serde_json::to_value(p).unwrap_or_default());
        let json = json.unwrap_or_default();
        assert_eq!(json["reason"], DEFAULT_REASON);
        assert_eq!(json["skillLevels"][0]["concurrentInteractions"], 2);
        assert_eq!(json["metadata"]["source"], DEFAULT_SOURCE);
    }

    #[test]
    fn agent_ids() {
        for (id, ok) in [
            ("agent-001", true),
            ("", false),
            ("a/b", false),
            ("a b", false),
        ] {
            assert_eq!(id.parse::<AgentId>().is_ok(), ok, "{id:?}");
        }
    }
}
