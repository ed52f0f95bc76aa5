//! The data this crate sends and receives, with their preconditions built in.
//!
//! - [`WorkflowId`]: a validated workflow id (safe as a URL path segment).
//! - Seed 000 (executions): [`WorkflowDefinition`] with [`InputVariable`]s
//!   and [`ContextVariableDecl`]s, [`WorkflowStatus`], [`InputType`],
//!   [`ExecutionPriority`], [`Execution`], [`ExecutionStatus`],
//!   [`ExecutionError`].
//! - Seed 001 (instances): [`Priority`] (1..=10), [`ContextType`],
//!   [`ContextVariable`] (coerced on construction), [`TriggerPayload`] and
//!   its builder, [`InstanceCompletion`] (the completion webhook).
//!
//! Every response type ignores fields it does not know, and every enum the
//! server sends keeps values it does not know (`Unknown(String)`), so a new
//! server-side value never breaks decoding.

mod definition;
mod execution;
mod instance;

pub use definition::{
    ContextVariableDecl, InputType, InputVariable, WorkflowDefinition, WorkflowId, WorkflowStatus,
};
pub use execution::{Execution, ExecutionError, ExecutionPriority, ExecutionStatus};
pub use instance::{
    ContextType, ContextVariable, InstanceCompletion, Priority, TriggerPayload,
    TriggerPayloadBuilder,
};

pub(crate) use definition::path_segment_problem;
pub(crate) use instance::parse_bool_text;

use serde::{Deserialize, Deserializer};
use serde_json::Value;

/// Deserialise `null` (or an absent field, with `#[serde(default)]`) as `T::default()`.
pub(crate) fn null_default<'de, D, T>(d: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Default + Deserialize<'de>,
{
    Ok(Option::<T>::deserialize(d)?.unwrap_or_default())
}

/// A short description of a JSON value for error messages, e.g.
/// `string "85"`, `integer 11`, `object`; long text is cut at 40 characters.
pub(crate) fn describe(value: &Value) -> String {
    match value {
        Value::Null => "null".to_owned(),
        Value::Bool(b) => format!("boolean {b}"),
        Value::Number(n) if n.is_i64() || n.is_u64() => format!("integer {n}"),
        Value::Number(n) => format!("number {n}"),
        Value::String(s) => {
            let mut cut: String = s.chars().take(40).collect();
            if cut.len() < s.len() {
                cut.push('…');
            }
            format!("string {cut:?}")
        }
        Value::Array(_) => "array".to_owned(),
        Value::Object(_) => "object".to_owned(),
    }
}
