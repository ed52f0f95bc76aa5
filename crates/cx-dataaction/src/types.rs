//! Wire and domain types of seed 004: the execution [`Payload`] (validated
//! with `garde`), [`ActionId`], [`VersionId`], the action definition and the
//! job as `GET /api/v2/dataactions/{id}/jobs/{jobId}` returns it.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::error::{Error, Rule, Violation};

/// Bounds of [`Payload::execution_timeout_ms`], in ms (seed 004 step 1:
/// `ge=1000, le=60000`).
pub const TIMEOUT_MS_RANGE: std::ops::RangeInclusive<u32> = 1000..=60_000;

/// Default [`Payload::execution_timeout_ms`]: 30 000 ms (the seed's default).
pub const DEFAULT_TIMEOUT_MS: u32 = 30_000;

/// The rule an [`ActionId`] checks, reported on `action_id` (rule `format`).
fn check_action_id(id: &str) -> Result<(), Error> {
    let ok = !id.is_empty()
        && id.len() <= 128
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
        && id != "."
        && id != "..";
    if ok {
        Ok(())
    } else {
        Err(Error::violation(Violation::new(
            "action_id",
            Rule::Format,
            format!("must be 1..=128 characters from A-Z a-z 0-9 . _ -, got {id:?}"),
        )))
    }
}

cx_http::id_newtype! {
    /// A data action id such as `DA-123456`: 1..=128 characters from
    /// `[A-Za-z0-9._-]`, so it is always one safe URL path segment; otherwise
    /// [`crate::ErrorKind::Validation`] on field `action_id` (rule `format`).
    pub struct ActionId(check_action_id) -> Error;
}

/// Why `raw` is not `v` followed by a semantic version (SemVer 2.0.0:
/// `MAJOR.MINOR.PATCH`, numbers without leading zeros, optional
/// `-pre.release` and `+build` identifiers), or `None` when it is.
///
/// The seed only checks `startswith("v")`; `v`, `vnext` and `v2.1` pass
/// there and fail here.
pub fn version_id_problem(raw: &str) -> Option<String> {
    let Some(rest) = raw.strip_prefix('v') else {
        return Some(format!("must start with `v`, got {raw:?}"));
    };
    let (rest, build) = match rest.split_once('+') {
        Some((r, b)) => (r, Some(b)),
        None => (rest, None),
    };
    let (core, pre) = match rest.split_once('-') {
        Some((c, p)) => (c, Some(p)),
        None => (rest, None),
    };
    let numeric = |s: &str| {
        !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) && (s == "0" || !s.starts_with('0'))
    };
    let ident =
        |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-');
    let parts: Vec<&str> = core.split('.').collect();
    let core_ok = parts.len() == 3 && parts.iter().all(|p| numeric(p));
    let pre_ok = pre.is_none_or(|p| {
        p.split('.')
            .all(|i| ident(i) && (!i.bytes().all(|b| b.is_ascii_digit()) || numeric(i)))
    });
    let build_ok = build.is_none_or(|b| b.split('.').all(ident));
    if core_ok && pre_ok && build_ok {
        None
    } else {
        Some(format!(
            "must be `v` followed by a semantic version such as v2.1.0, got {raw:?}"
        ))
    }
}

/// The rule a [`VersionId`] checks ([`version_id_problem`]), reported on
/// `versionId` (rule `format`).
fn check_version_id(raw: &str) -> Result<(), Error> {
    match version_id_problem(raw) {
        None => Ok(()),
        Some(problem) => Err(Error::violation(Violation::new(
            "versionId",
            Rule::Format,
            problem,
        ))),
    }
}

cx_http::id_newtype! {
    /// A version id: `v` + a semantic version, e.g. `v2.1.0`, `v1.0.0-rc.1`
    /// (see [`version_id_problem`]); otherwise [`crate::ErrorKind::Validation`]
    /// on field `versionId` (rule `format`).
    pub struct VersionId(check_version_id) -> Error;
}

fn version_rule(value: &str, _: &()) -> garde::Result {
    match version_id_problem(value) {
        None => Ok(()),
        Some(problem) => Err(garde::Error::new(problem)),
    }
}

fn timeout_rule(ms: &u32, _: &()) -> garde::Result {
    if TIMEOUT_MS_RANGE.contains(ms) {
        Ok(())
    } else {
        Err(garde::Error::new(format!(
            "must be within 1000..=60000 ms, got {ms}"
        )))
    }
}

/// The wire name of a [`Payload`] field garde reports.
fn wire_field(path: &str) -> String {
    match path {
        "execution_timeout_ms" => "executionTimeoutMs",
        "version_id" => "versionId",
        other => other,
    }
    .to_owned()
}

/// The rule of a garde message (for [`Violation::rule`]).
fn rule_of(field: &str, _message: &str) -> Rule {
    if field == "executionTimeoutMs" {
        Rule::Range
    } else {
        Rule::Format
    }
}

/// The body of `POST /api/v2/dataactions/{id}/execute` (seed 004 step 1,
/// `DataActionPayload`). JSON: `{versionId, inputParameters,
/// environmentContext, executionTimeoutMs}`.
///
/// Rules (checked by [`Payload::check`], with `garde`): `versionId` is `v` +
/// a semantic version; `executionTimeoutMs` within 1000..=60000 ms.
/// Required parameters depend on the action version and are checked by
/// [`Payload::check_required`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, garde::Validate)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct Payload {
    /// Action version, e.g. `v2.1.0`.
    #[garde(custom(version_rule))]
    pub version_id: String,
    /// Input parameters, any JSON values.
    #[garde(skip)]
    #[serde(default)]
    pub input_parameters: Map<String, Value>,
    /// Runtime variables for the action script (strings, as the seed types them).
    #[garde(skip)]
    #[serde(default)]
    pub environment_context: BTreeMap<String, String>,
    /// Hard limit on compute time, in ms (1000..=60000; default 30000).
    #[garde(custom(timeout_rule))]
    pub execution_timeout_ms: u32,
}

impl Payload {
    /// A payload for `version_id` with no parameters, no context and the
    /// default timeout (30 000 ms). Nothing is checked until [`Payload::check`].
    pub fn new(version_id: impl Into<String>) -> Self {
        Self {
            version_id: version_id.into(),
            input_parameters: Map::new(),
            environment_context: BTreeMap::new(),
            execution_timeout_ms: DEFAULT_TIMEOUT_MS,
        }
    }

    /// Sets one input parameter.
    #[must_use]
    pub fn param(mut self, name: impl Into<String>, value: Value) -> Self {
        self.input_parameters.insert(name.into(), value);
        self
    }

    /// Sets one environment-context variable.
    #[must_use]
    pub fn env(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.environment_context.insert(name.into(), value.into());
        self
    }

    /// Sets `executionTimeoutMs`.
    #[must_use]
    pub fn timeout_ms(mut self, ms: u32) -> Self {
        self.execution_timeout_ms = ms;
        self
    }

    /// The `garde` rules: version id format and timeout range, every
    /// violation named by its wire field (`versionId`, `executionTimeoutMs`).
    ///
    /// # Errors
    /// [`crate::ErrorKind::Validation`] listing each broken rule.
    pub fn check(&self) -> Result<(), Error> {
        match garde::Validate::validate(self) {
            Ok(()) => Ok(()),
            Err(report) => Err(Error::validation(
                cx_http::report_violations(report.iter(), wire_field, rule_of)
                    .collect::<Vec<Violation>>(),
            )),
        }
    }

    /// Every name in `required` must be an input parameter with a non-null
    /// value (seed 004 step 2, `validate_payload`).
    ///
    /// # Errors
    /// [`crate::ErrorKind::Validation`] with one violation
    /// `inputParameters.<name>` (rule `required`) per missing parameter.
    pub fn check_required<S: AsRef<str>>(&self, required: &[S]) -> Result<(), Error> {
        let violations: Vec<Violation> = required
            .iter()
            .map(AsRef::as_ref)
            .filter(|name| self.input_parameters.get(*name).is_none_or(Value::is_null))
            .map(|name| {
                Violation::new(
                    format!("inputParameters.{name}"),
                    Rule::Required,
                    format!("required parameter {name} is missing"),
                )
            })
            .collect();
        if violations.is_empty() {
            Ok(())
        } else {
            Err(Error::validation(violations))
        }
    }
}

/// One version of an action (`versions[]` of the definition).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ActionVersion {
    /// E.g. `v2.1.0`.
    pub version_id: String,
    /// Input parameters an execution of this version must supply.
    #[serde(default)]
    pub required_parameters: Vec<String>,
}

/// `GET /api/v2/dataactions/{id}`: `{id, name, status, latestVersion,
/// versions}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ActionDefinition {
    /// The action id.
    pub id: String,
    /// Display name.
    #[serde(default)]
    pub name: String,
    /// E.g. `ACTIVE`.
    #[serde(default)]
    pub status: String,
    /// The newest version id, if the server says.
    pub latest_version: Option<String>,
    /// Every version.
    #[serde(default)]
    pub versions: Vec<ActionVersion>,
}

impl ActionDefinition {
    /// The version called `version_id`.
    pub fn version(&self, version_id: &str) -> Option<&ActionVersion> {
        self.versions.iter().find(|v| v.version_id == version_id)
    }
}

/// A job's status. Unknown spellings are kept in [`JobStatus::Other`] and
/// treated as still running.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum JobStatus {
    /// Waiting for compute.
    Queued,
    /// Executing.
    Running,
    /// Finished with an output.
    Completed,
    /// Finished with an `errorDetail`.
    Failed,
    /// Exceeded its `executionTimeoutMs`.
    TimedOut,
    /// A status this crate does not know.
    Other(String),
}

impl JobStatus {
    /// The wire spelling, e.g. `TIMED_OUT`.
    pub fn as_str(&self) -> &str {
        match self {
            JobStatus::Queued => "QUEUED",
            JobStatus::Running => "RUNNING",
            JobStatus::Completed => "COMPLETED",
            JobStatus::Failed => "FAILED",
            JobStatus::TimedOut => "TIMED_OUT",
            JobStatus::Other(s) => s,
        }
    }

    /// COMPLETED, FAILED or TIMED_OUT (seed 004 step 3).
    pub fn is_terminal(&self) -> bool {
        matches!(
            self,
            JobStatus::Completed | JobStatus::Failed | JobStatus::TimedOut
        )
    }
}

impl fmt::Display for JobStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for JobStatus {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for JobStatus {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Ok(match s.as_str() {
            "QUEUED" => JobStatus::Queued,
            "RUNNING" => JobStatus::Running,
            "COMPLETED" => JobStatus::Completed,
            "FAILED" => JobStatus::Failed,
            "TIMED_OUT" => JobStatus::TimedOut,
            _ => JobStatus::Other(s),
        })
    }
}

/// The answer to an execute: `{jobId, status: QUEUED, createdAt}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct JobAccepted {
    /// E.g. `JOB-9f8a7b6c-...`.
    pub job_id: String,
    /// Normally QUEUED.
    pub status: JobStatus,
    /// RFC 3339, if sent.
    pub created_at: Option<String>,
}

/// A job as `GET /api/v2/dataactions/{id}/jobs/{jobId}` returns it:
/// `{jobId, status, output?, errorDetail?, ...}`; other fields are kept in
/// [`Job::extra`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Job {
    /// The job id.
    pub job_id: String,
    /// Its status.
    pub status: JobStatus,
    /// The raw output of a COMPLETED job (numbers and booleans often as strings).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output: Option<Value>,
    /// Why a job FAILED or TIMED_OUT.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_detail: Option<String>,
    /// Every other field (`createdAt`, `completedAt`, ...).
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl Job {
    /// How long the job took on the server, `createdAt` → `completedAt`
    /// (RFC 3339); `None` when either is missing or unreadable, or the end
    /// is before the start.
    pub fn server_duration(&self) -> Option<std::time::Duration> {
        let at = |name: &str| {
            let text = self.extra.get(name)?.as_str()?;
            chrono::DateTime::parse_from_rfc3339(text).ok()
        };
        (at("completedAt")? - at("createdAt")?).to_std().ok()
    }
}

/// Whether `s` is usable as one URL path segment (a job id from the server).
pub(crate) fn is_path_segment(s: &str) -> bool {
    !s.is_empty()
        && s != "."
        && s != ".."
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~'))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn version_ids() {
        let cases = [
            ("v2.1.0", true),
            ("v0.0.0", true),
            ("v10.20.30", true),
            ("v1.0.0-rc.1", true),
            ("v1.0.0-alpha-1+build.5", true),
            ("v1.0.0+20240115", true),
            ("2.1.0", false),
            ("V2.1.0", false),
            ("v", false),
            ("vnext", false),
            ("v2.1", false),
            ("v2.1.0.0", false),
            ("v02.1.0", false),
            ("v2.1.0-", false),
            ("v2.1.0-01", false),
            ("v2.1.0+", false),
            ("v2.1.0 ", false),
            ("v-1.0.0", false),
        ];
        for (raw, ok) in cases {
            assert_eq!(version_id_problem(raw).is_none(), ok, "{raw}");
            assert_eq!(VersionId::new(raw).is_ok(), ok, "{raw}");
        }
    }

    #[test]
    fn payload_rules_name_the_wire_field() {
        let p = Payload::new("2.1.0").timeout_ms(999);
        let err = p.check().expect_err("invalid");
        let fields: Vec<&str> = err.violations().iter().map(|v| v.field.as_str()).collect();
        assert!(fields.contains(&"versionId"), "{fields:?}");
        assert!(fields.contains(&"executionTimeoutMs"), "{fields:?}");
        assert!(Payload::new("v2.1.0").check().is_ok());

        let p = Payload::new("v2.1.0").param("customerId", Value::Null);
        let err = p
            .check_required(&["customerId", "interactionType"])
            .expect_err("missing");
        let fields: Vec<&str> = err.violations().iter().map(|v| v.field.as_str()).collect();
        assert_eq!(
            fields,
            [
                "inputParameters.customerId",
                "inputParameters.interactionType"
            ]
        );
    }

    #[test]
    fn payload_json_is_the_seeds() {
        let p = Payload::new("v2.1.0")
            .param("customerId", Value::from("CUST-8842"))
            .env("region", "us-east-1")
            .timeout_ms(45_000);
        let v = serde_json::to_value(&p).expect("json");
        assert_eq!(
            v,
            serde_json::json!({
                "versionId": "v2.1.0",
                "inputParameters": {"customerId": "CUST-8842"},
                "environmentContext": {"region": "us-east-1"},
                "executionTimeoutMs": 45000,
            })
        );
    }

    #[test]
    fn action_ids() {
        for ok in ["DA-123456", "da.1_x"] {
            assert!(ActionId::new(ok).is_ok(), "{ok}");
        }
        for bad in ["", "a/b", "..", "DA 1", "DA?x"] {
            assert!(ActionId::new(bad).is_err(), "{bad}");
        }
    }

    proptest! {
        #[test]
        fn timeout_bounds(ms in any::<u32>()) {
            let ok = Payload::new("v1.0.0").timeout_ms(ms).check().is_ok();
            prop_assert_eq!(ok, TIMEOUT_MS_RANGE.contains(&ms));
        }

        #[test]
        fn semver_versions_pass(a in 0u32..1000, b in 0u32..1000, c in 0u32..1000) {
            let raw = format!("v{a}.{b}.{c}");
            prop_assert!(version_id_problem(&raw).is_none());
            prop_assert!(version_id_problem(&raw[1..]).is_some());
        }

        #[test]
        fn version_check_never_panics(raw in "\\PC{0,24}") {
            let _ = version_id_problem(&raw);
        }
    }
}
