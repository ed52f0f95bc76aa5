//! Default fixtures: the workflows every tenant starts with and the built-in
//! OAuth clients.
//!
//! Workflows (each tenant gets its own copy on first use):
//!
//! | id | status | behaviour |
//! |---|---|---|
//! | `wf_12345678-abcd-efgh-ijkl-1234567890ab` | ACTIVE | "Customer Priority Routing" from seeds 000/001; completes |
//! | `wf_deployed_0001` | DEPLOYED | completes |
//! | `wf_draft_0001` | DRAFT | executions → 409 |
//! | `wf_archived_0001` | ARCHIVED | executions → 409 |
//! | `wf_failing_0001` | ACTIVE | fails with `DOWNSTREAM_TIMEOUT` |
//! | `wf_stuck_0001` | ACTIVE | stays RUNNING forever |
//! | `wf_slow_0001` | ACTIVE | takes 2 s |
//!
//! All share the seed workflow's variables. Clients: [`crate::DEFAULT_CLIENT_ID`]
//! (all scopes, [`crate::DEFAULT_TENANT`]), [`crate::TENANT_B_CLIENT_ID`]
//! (all scopes, [`crate::TENANT_B`]) and [`crate::READONLY_CLIENT_ID`]
//! (`workflow.read audit.read`, default tenant).

use std::collections::HashMap;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::auth::ClientRegistration;
use crate::setters::with_setters;

/// A workflow definition the simulator serves (`GET /api/v2/workflows/{id}`)
/// and runs. JSON (for `POST /_sim/workflows?tenant=`): camelCase, variables
/// as `[name, type]` pairs, duration as `durationMs`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct WorkflowFixture {
    /// Workflow id, e.g. `wf_12345678-abcd-efgh-ijkl-1234567890ab`.
    pub id: String,
    /// Display name.
    pub name: String,
    /// `ACTIVE`, `DRAFT`, `ARCHIVED` or `DEPLOYED`; only ACTIVE and DEPLOYED
    /// accept executions and instances.
    pub status: String,
    /// Execution input variables (seed 000): `(name, type)` with type
    /// `STRING`, `NUMBER`, `BOOLEAN` or `OBJECT`.
    #[serde(default)]
    pub input_variables: Vec<(String, String)>,
    /// Instance context variables (seed 001): `(name, type)` with type
    /// `string`, `integer`, `boolean`, `object` or `array`.
    #[serde(default)]
    pub context_variables: Vec<(String, String)>,
    /// How long an execution or instance runs (sim time). `Duration::ZERO`
    /// means the simulator's default (`SimBuilder::execution_duration`,
    /// 300 ms unless set). JSON: `durationMs`.
    #[serde(default, rename = "durationMs", with = "duration_ms")]
    pub duration: Duration,
    /// How runs end.
    #[serde(default)]
    pub outcome: Outcome,
}

impl WorkflowFixture {
    /// An ACTIVE workflow with the seed workflow's variables, the default
    /// duration and a successful outcome.
    pub fn new(id: impl Into<String>, name: impl Into<String>) -> Self {
        Self {
            id: id.into(),
            name: name.into(),
            status: "ACTIVE".to_owned(),
            input_variables: pairs(SEED_INPUT_VARIABLES),
            context_variables: pairs(SEED_CONTEXT_VARIABLES),
            duration: Duration::ZERO,
            outcome: Outcome::Complete,
        }
    }
}

with_setters! { WorkflowFixture {
    /// Sets the status.
    with_status(status: impl Into<String>) = status.into();
    /// Sets the run duration.
    with_duration(duration: Duration);
    /// Sets the outcome.
    with_outcome(outcome: Outcome);
}}

/// How an execution or instance of a workflow ends. JSON: `{"kind":
/// "complete"}`, `{"kind": "fail", "code": "...", "message": "..."}`,
/// `{"kind": "stuck"}`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "camelCase")]
pub enum Outcome {
    /// Ends COMPLETED with an output.
    #[default]
    Complete,
    /// Ends FAILED with `errors: [{code, message}]`.
    Fail {
        /// Error code, e.g. `DOWNSTREAM_TIMEOUT`.
        code: String,
        /// Error message.
        message: String,
    },
    /// Stays RUNNING forever.
    Stuck,
}

/// `Duration` as whole milliseconds in JSON (`durationMs`).
pub(crate) mod duration_ms {
    use std::time::Duration;

    use serde::{Deserialize, Deserializer, Serializer};

    pub(crate) fn serialize<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u64(crate::clock::duration_ms(*d))
    }

    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        Ok(Duration::from_millis(u64::deserialize(d)?))
    }
}

/// The seed workflow's id (seeds 000 and 001).
pub const SEED_WORKFLOW_ID: &str = "wf_12345678-abcd-efgh-ijkl-1234567890ab";

const SEED_INPUT_VARIABLES: &[(&str, &str)] = &[
    ("customerId", "STRING"),
    ("priorityScore", "NUMBER"),
    ("requiresCallback", "BOOLEAN"),
    ("routingMetadata", "OBJECT"),
];

const SEED_CONTEXT_VARIABLES: &[(&str, &str)] = &[
    ("customerId", "string"),
    ("priorityScore", "integer"),
    ("requiresCallback", "boolean"),
    ("routingMetadata", "object"),
];

fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
    list.iter()
        .map(|(n, t)| ((*n).to_owned(), (*t).to_owned()))
        .collect()
}

/// The workflows every tenant starts with.
/// `items` keyed by `id` (a later item with the same id replaces an earlier
/// one): how a tenant's state holds its built-in resources.
pub(crate) fn by_id<T>(
    items: impl IntoIterator<Item = T>,
    id: impl Fn(&T) -> &str,
) -> HashMap<String, T> {
    items
        .into_iter()
        .map(|item| (id(&item).to_owned(), item))
        .collect()
}

pub(crate) fn builtin_workflows() -> Vec<WorkflowFixture> {
    vec![
        WorkflowFixture::new(SEED_WORKFLOW_ID, "Customer Priority Routing"),
        WorkflowFixture::new("wf_deployed_0001", "Deployed Routing").with_status("DEPLOYED"),
        WorkflowFixture::new("wf_draft_0001", "Draft Routing").with_status("DRAFT"),
        WorkflowFixture::new("wf_archived_0001", "Archived Routing").with_status("ARCHIVED"),
        WorkflowFixture::new("wf_failing_0001", "Failing Routing").with_outcome(Outcome::Fail {
            code: "DOWNSTREAM_TIMEOUT".to_owned(),
            message: "downstream CRM lookup timed out".to_owned(),
        }),
        WorkflowFixture::new("wf_stuck_0001", "Stuck Routing").with_outcome(Outcome::Stuck),
        WorkflowFixture::new("wf_slow_0001", "Slow Routing").with_duration(Duration::from_secs(2)),
    ]
}

/// The built-in clients.
pub(crate) fn builtin_clients() -> Vec<ClientRegistration> {
    vec![
        ClientRegistration::new(
            crate::DEFAULT_CLIENT_ID,
            crate::DEFAULT_CLIENT_SECRET,
            crate::DEFAULT_TENANT,
        ),
        ClientRegistration::new(
            crate::TENANT_B_CLIENT_ID,
            crate::TENANT_B_CLIENT_SECRET,
            crate::TENANT_B,
        ),
        ClientRegistration::new(
            crate::READONLY_CLIENT_ID,
            crate::READONLY_CLIENT_SECRET,
            crate::DEFAULT_TENANT,
        )
        .with_scopes(["workflow.read", "audit.read"]),
    ]
}

/// The built-in access key ([`crate::DEFAULT_ACCESS_KEY_ID`] in
/// [`crate::DEFAULT_TENANT`]).
pub(crate) fn builtin_access_keys() -> Vec<crate::AccessKey> {
    vec![crate::AccessKey::new(
        crate::DEFAULT_ACCESS_KEY_ID,
        crate::DEFAULT_ACCESS_KEY_SECRET,
        crate::DEFAULT_TENANT,
    )]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fixture_json_roundtrip() {
        let wf = WorkflowFixture::new("wf_x", "X")
            .with_duration(Duration::from_millis(1500))
            .with_outcome(Outcome::Fail {
                code: "E".into(),
                message: "m".into(),
            });
        let json = serde_json::to_value(&wf).expect("serialize");
        assert_eq!(json["durationMs"], 1500);
        assert_eq!(json["outcome"]["kind"], "fail");
        assert_eq!(json["inputVariables"][0][0], "customerId");
        let back: WorkflowFixture = serde_json::from_value(json).expect("parse");
        assert_eq!(back, wf);
        let minimal: WorkflowFixture =
            serde_json::from_str(r#"{"id":"a","name":"b","status":"DRAFT"}"#).expect("parse");
        assert_eq!(minimal.outcome, Outcome::Complete);
        assert!(minimal.duration.is_zero());
    }
}
