//! Wire types of `POST /api/v2/interactions/history/query` (seed 003,
//! DESIGN.md's seed-003 row): `{data: [Interaction], totalCount}`.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// One interaction and its executed workflow steps. JSON:
/// `{interactionId, steps: [Step]}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Interaction {
    /// The interaction id.
    pub interaction_id: String,
    /// Its steps, in any order (the analyzer orders them by `startTime`).
    #[serde(default)]
    pub steps: Vec<Step>,
}

/// One executed workflow node. JSON: `{nodeId, nodeType, startTime,
/// endTime, variablesBefore, variablesAfter, errorState}`; times are
/// RFC 3339 strings, kept as received so a malformed one is reported by
/// the analyzer as a data error rather than failing the whole page.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Step {
    /// Node id, e.g. `n3-decision`.
    #[serde(default)]
    pub node_id: String,
    /// Node type, e.g. `DECISION`, `ROUTING`, `CONDITION`, `TASK`.
    #[serde(default = "unknown")]
    pub node_type: String,
    /// When the node started (RFC 3339).
    #[serde(default)]
    pub start_time: Option<String>,
    /// When the node ended (RFC 3339).
    #[serde(default)]
    pub end_time: Option<String>,
    /// Workflow variables before the node ran.
    #[serde(default)]
    pub variables_before: Map<String, Value>,
    /// Workflow variables after the node ran.
    #[serde(default)]
    pub variables_after: Map<String, Value>,
    /// Whether the node ended in an error state.
    #[serde(default)]
    pub error_state: bool,
}

fn unknown() -> String {
    "unknown".to_owned()
}
