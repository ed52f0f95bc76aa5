//! Workflow ids and definitions (seed 000 step 1,
//! `GET /api/v2/workflows/{id}?expand=inputVariables`).

use serde::{Deserialize, Serialize};

use super::instance::ContextType;
use super::null_default;
use crate::error::{Error, Rule, Violation};
use cx_http::open_enum;

/// Longest accepted workflow id, in characters.
const MAX_ID_CHARS: usize = 128;

/// Why `s` cannot be used as one URL path segment, if it cannot: what the
/// runtime's encoder refuses ([`cx_http::check_id`]: empty, `.`, `..`),
/// longer than 128 characters, or holding `/ ? # % \`, whitespace or a
/// control character (each of which would change the URL's meaning).
pub(crate) fn path_segment_problem(s: &str) -> Option<String> {
    if let Err(rule) = cx_http::check_id(s) {
        return Some(rule.to_owned());
    }
    let chars = s.chars().count();
    if chars > MAX_ID_CHARS {
        return Some(format!(
            "must be at most {MAX_ID_CHARS} characters, got {chars}"
        ));
    }
    if let Some(c) = s
        .chars()
        .find(|c| matches!(c, '/' | '?' | '#' | '%' | '\\') || c.is_whitespace() || c.is_control())
    {
        return Some(format!(
            "must not contain {c:?} (no '/', '?', '#', '%', '\\', whitespace or control characters)"
        ));
    }
    None
}

/// The rule a [`WorkflowId`] checks: [`path_segment_problem`], reported on
/// `workflow_id` (rule `required` when empty, `format` otherwise).
fn check_workflow_id(id: &str) -> Result<(), Error> {
    match path_segment_problem(id) {
        None => Ok(()),
        Some(problem) => {
            let rule = if id.is_empty() {
                Rule::Required
            } else {
                Rule::Format
            };
            Err(Error::violation(Violation::new(
                "workflow_id",
                rule,
                problem,
            )))
        }
    }
}

cx_http::id_newtype! {
    /// A workflow id, e.g. `wf_12345678-abcd-efgh-ijkl-1234567890ab`.
    ///
    /// Validated on construction so it is always safe as one URL path segment:
    /// 1..=128 characters, none of `/ ? # % \`, no whitespace, no control
    /// characters; otherwise [`crate::ErrorKind::Validation`] with one
    /// violation on `workflow_id` (rule `required` when empty, `format`
    /// otherwise). Serialised as a plain string; deserialising validates.
    pub struct WorkflowId(check_workflow_id) -> Error;
}

open_enum! {
    /// A workflow's lifecycle status. Only [`WorkflowStatus::Active`] and
    /// [`WorkflowStatus::Deployed`] accept executions and instances.
    /// Wire: `ACTIVE`, `DRAFT`, `ARCHIVED`, `DEPLOYED` (read case-insensitively).
    pub enum WorkflowStatus {
        /// `ACTIVE`: runnable.
        Active => "ACTIVE",
        /// `DRAFT`: being edited; not runnable.
        Draft => "DRAFT",
        /// `ARCHIVED`: retired; not runnable.
        Archived => "ARCHIVED",
        /// `DEPLOYED`: runnable.
        Deployed => "DEPLOYED",
    }
}

impl WorkflowStatus {
    /// True for ACTIVE and DEPLOYED, the statuses CXone runs (seed 000 step 1).
    pub fn is_runnable(&self) -> bool {
        matches!(self, WorkflowStatus::Active | WorkflowStatus::Deployed)
    }
}

open_enum! {
    /// The declared type of an execution input variable (seed 000).
    /// Wire: `STRING`, `NUMBER`, `BOOLEAN`, `OBJECT`, `ARRAY`.
    pub enum InputType {
        /// A JSON string.
        String => "STRING",
        /// Any JSON number (integer or not).
        Number => "NUMBER",
        /// `true` or `false`.
        Boolean => "BOOLEAN",
        /// A JSON object.
        Object => "OBJECT",
        /// A JSON array.
        Array => "ARRAY",
    }
}

impl InputType {
    /// Whether `value`'s JSON type is this type. An [`InputType::Unknown`]
    /// type accepts any value: the server is the judge of types this crate
    /// does not know.
    pub fn accepts(&self, value: &serde_json::Value) -> bool {
        match self {
            InputType::String => value.is_string(),
            InputType::Number => value.is_number(),
            InputType::Boolean => value.is_boolean(),
            InputType::Object => value.is_object(),
            InputType::Array => value.is_array(),
            InputType::Unknown(_) => true,
        }
    }
}

/// One declared execution input: `{name, type}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InputVariable {
    /// Variable name, e.g. `priorityScore`.
    pub name: String,
    /// Declared type (`type` on the wire).
    #[serde(rename = "type")]
    pub kind: InputType,
}

/// One declared instance context variable (seed 001): `{name, type}` with
/// type `string`, `integer`, `boolean`, `object`, `array` (or one this crate
/// does not know, kept as sent).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ContextVariableDecl {
    /// Variable name, e.g. `priorityScore`.
    pub name: String,
    /// Declared type as sent (`type` on the wire).
    #[serde(rename = "type")]
    pub type_name: String,
}

impl ContextVariableDecl {
    /// The declared type, if this crate knows it.
    pub fn kind(&self) -> Option<ContextType> {
        self.type_name.parse().ok()
    }
}

/// A workflow definition: `GET /api/v2/workflows/{id}?expand=inputVariables`
/// → `{id, name, status, inputVariables: [{name, type}], contextVariables?,
/// maxConcurrentInstances?}` (camelCase; unknown fields are ignored, a
/// missing or `null` list is empty).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WorkflowDefinition {
    /// The workflow's id, as the server spells it.
    pub id: String,
    /// Display name.
    #[serde(default)]
    pub name: String,
    /// Lifecycle status.
    pub status: WorkflowStatus,
    /// Declared execution inputs (seed 000).
    #[serde(default, deserialize_with = "null_default")]
    pub input_variables: Vec<InputVariable>,
    /// Declared instance context variables (seed 001), when the server lists them.
    #[serde(default, deserialize_with = "null_default")]
    pub context_variables: Vec<ContextVariableDecl>,
    /// The server's own running-instance limit, when it says.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_concurrent_instances: Option<u64>,
}

impl WorkflowDefinition {
    /// The declared input called `name`.
    pub fn input_variable(&self, name: &str) -> Option<&InputVariable> {
        self.input_variables.iter().find(|v| v.name == name)
    }

    /// The declared context variable called `name`.
    pub fn context_variable(&self, name: &str) -> Option<&ContextVariableDecl> {
        self.context_variables.iter().find(|v| v.name == name)
    }

    /// True when the status accepts executions (ACTIVE or DEPLOYED).
    pub fn is_runnable(&self) -> bool {
        self.status.is_runnable()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn workflow_id_table() {
        let long = "w".repeat(129);
        let max = "w".repeat(128);
        let cases: [(&str, bool); 15] = [
            ("wf_12345678-abcd-efgh-ijkl-1234567890ab", true),
            ("wf_draft_0001", true),
            (&max, true),
            ("", false),
            (".", false),
            ("..", false),
            ("..wf", true),
            (&long, false),
            ("wf/1", false),
            ("wf?x=1", false),
            ("wf#1", false),
            ("wf 1", false),
            ("wf%2F1", false),
            ("wf\\1", false),
            ("wf\u{7}", false),
        ];
        for (id, ok) in cases {
            let got = WorkflowId::new(id);
            assert_eq!(got.is_ok(), ok, "{id:?}");
            if let Err(e) = got {
                assert_eq!(e.violations()[0].field, "workflow_id");
            }
        }
    }

    #[test]
    fn definition_decodes_seed_shape_and_tolerates_unknowns() -> Result<(), serde_json::Error> {
        let def: WorkflowDefinition = serde_json::from_value(json!({
            "id": "wf_1", "name": "Routing", "status": "PAUSED", "extra": 1,
            "inputVariables": [{"name": "a", "type": "NUMBER"}, {"name": "b", "type": "DATE"}],
            "contextVariables": null
        }))?;
        assert_eq!(def.status, WorkflowStatus::Unknown("PAUSED".into()));
        assert!(!def.is_runnable());
        assert_eq!(def.input_variables[0].kind, InputType::Number);
        assert_eq!(
            def.input_variables[1].kind,
            InputType::Unknown("DATE".into())
        );
        assert!(def.context_variables.is_empty());
        let active: WorkflowStatus = serde_json::from_value(json!("deployed"))?;
        assert!(active.is_runnable());
        Ok(())
    }
}
