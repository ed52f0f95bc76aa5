//! Workflow instances (seed 001): priority, typed context variables, the
//! trigger payload (step 1) and the completion webhook (step 4).

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Number, Value, json};

use super::definition::WorkflowId;
use super::describe;
use crate::error::{Error, Rule, Violation, Violations};
use crate::validate::{required, violations_of};

/// An instance's priority, 1 (highest) ..= 10 (lowest); default 5 (seed 001).
///
/// Serialised as a JSON integer; deserialising checks the range.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct Priority(u8);

impl Priority {
    /// Priority 1, the highest.
    pub const HIGHEST: Priority = Priority(1);
    /// Priority 10, the lowest.
    pub const LOWEST: Priority = Priority(10);

    /// `value` if it is in 1..=10.
    ///
    /// # Errors
    /// [`crate::ErrorKind::Validation`] with a `range` violation on `priority`.
    pub fn new(value: u8) -> Result<Self, Error> {
        Self::try_from(i64::from(value))
    }

    /// The number, 1..=10.
    pub fn get(self) -> u8 {
        self.0
    }
}

impl Default for Priority {
    /// 5, seed 001's default.
    fn default() -> Self {
        Priority(5)
    }
}

fn priority_violation(actual: impl fmt::Display) -> Violation {
    Violation::new(
        "priority",
        Rule::Range,
        format!("must be an integer in 1..=10 (1 is highest), got {actual}"),
    )
    .with_values("1..=10", actual.to_string())
}

impl TryFrom<i64> for Priority {
    type Error = Error;
    fn try_from(value: i64) -> Result<Self, Error> {
        match u8::try_from(value) {
            Ok(v) if (1..=10).contains(&v) => Ok(Priority(v)),
            _ => Err(Error::violation(priority_violation(value))),
        }
    }
}

impl FromStr for Priority {
    type Err = Error;

    /// Parses `"2"` (surrounding spaces ignored).
    ///
    /// # Errors
    /// As [`Priority::new`], also for text that is not an integer.
    fn from_str(s: &str) -> Result<Self, Error> {
        match s.trim().parse::<i64>() {
            Ok(n) => Self::try_from(n),
            Err(_) => Err(Error::violation(priority_violation(format!("{s:?}")))),
        }
    }
}

impl fmt::Display for Priority {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

impl<'de> Deserialize<'de> for Priority {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let n = i64::deserialize(d)?;
        Priority::try_from(n).map_err(serde::de::Error::custom)
    }
}

/// The declared type of an instance context variable (seed 001):
/// `string`, `integer`, `number`, `boolean`, `object`, `array`.
/// Parsed case-insensitively; see [`ContextVariable::new`] for the coercions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum ContextType {
    /// Text.
    String,
    /// A whole number (i64 or u64).
    Integer,
    /// Any JSON number.
    Number,
    /// `true` / `false`.
    Boolean,
    /// A JSON object.
    Object,
    /// A JSON array.
    Array,
}

impl ContextType {
    /// The wire name, e.g. `"integer"`.
    pub fn as_str(self) -> &'static str {
        match self {
            ContextType::String => "string",
            ContextType::Integer => "integer",
            ContextType::Number => "number",
            ContextType::Boolean => "boolean",
            ContextType::Object => "object",
            ContextType::Array => "array",
        }
    }
}

impl fmt::Display for ContextType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for ContextType {
    type Err = Error;

    /// # Errors
    /// [`crate::ErrorKind::Validation`] naming `type` for an unknown name.
    fn from_str(s: &str) -> Result<Self, Error> {
        match s.trim().to_ascii_lowercase().as_str() {
            "string" => Ok(ContextType::String),
            "integer" | "int" => Ok(ContextType::Integer),
            "number" | "float" => Ok(ContextType::Number),
            "boolean" | "bool" => Ok(ContextType::Boolean),
            "object" => Ok(ContextType::Object),
            "array" => Ok(ContextType::Array),
            _ => Err(Error::violation(
                Violation::new("type", Rule::Format, "unknown context type")
                    .with_values("string, integer, number, boolean, object or array", s),
            )),
        }
    }
}

/// `true`/`false`/`1`/`0`/`yes`/`no` (any case, surrounding spaces ignored).
pub(crate) fn parse_bool_text(s: &str) -> Option<bool> {
    match s.trim().to_ascii_lowercase().as_str() {
        "true" | "1" | "yes" => Some(true),
        "false" | "0" | "no" => Some(false),
        _ => None,
    }
}

/// Coerce `value` to `kind`; `Err(reason)` when it cannot be.
pub(crate) fn coerce(value: Value, kind: ContextType) -> Result<Value, String> {
    let fail = |v: &Value| Err(format!("cannot be coerced to {kind} from {}", describe(v)));
    match kind {
        ContextType::String => match value {
            Value::String(_) => Ok(value),
            Value::Number(n) => Ok(Value::String(n.to_string())),
            Value::Bool(b) => Ok(Value::String(b.to_string())),
            other => fail(&other),
        },
        ContextType::Integer => match &value {
            Value::Number(n) if n.is_i64() || n.is_u64() => Ok(value),
            Value::Number(n) => match n.as_f64() {
                // A JSON float with no fractional part (85.0) is the integer.
                Some(f) if f.is_finite() && f.fract() == 0.0 && f.abs() < 9.0e15 => {
                    Ok(json!(f as i64))
                }
                _ => fail(&value),
            },
            Value::String(s) => {
                let t = s.trim();
                if let Ok(i) = t.parse::<i64>() {
                    Ok(json!(i))
                } else if let Ok(u) = t.parse::<u64>() {
                    Ok(json!(u))
                } else {
                    fail(&value)
                }
            }
            _ => fail(&value),
        },
        ContextType::Number => match &value {
            Value::Number(_) => Ok(value),
            Value::String(s) => match serde_json::from_str::<Number>(s.trim()) {
                Ok(n) => Ok(Value::Number(n)),
                Err(_) => fail(&value),
            },
            _ => fail(&value),
        },
        ContextType::Boolean => match &value {
            Value::Bool(_) => Ok(value),
            Value::Number(n) if n.as_u64() == Some(1) => Ok(Value::Bool(true)),
            Value::Number(n) if n.as_u64() == Some(0) => Ok(Value::Bool(false)),
            Value::String(s) => match parse_bool_text(s) {
                Some(b) => Ok(Value::Bool(b)),
                None => fail(&value),
            },
            _ => fail(&value),
        },
        ContextType::Object | ContextType::Array => {
            let wanted = |v: &Value| match kind {
                ContextType::Object => v.is_object(),
                _ => v.is_array(),
            };
            match &value {
                v if wanted(v) => Ok(value),
                Value::String(s) => match serde_json::from_str::<Value>(s.trim()) {
                    Ok(parsed) if wanted(&parsed) => Ok(parsed),
                    _ => fail(&value),
                },
                _ => fail(&value),
            }
        }
    }
}

/// One typed context variable of an instance (seed 001 step 1,
/// `WorkflowContextVariable`), its value already coerced to its type.
///
/// Coercions, strict where the seed guesses:
///
/// | type | accepts | rejects |
/// |---|---|---|
/// | `string` | strings; numbers and booleans become their text | null, objects, arrays |
/// | `integer` | JSON integers; floats with no fraction (`85.0`); integer text with optional sign and surrounding spaces (`" 85 "`, `"+85"`) | `"85.5"`, `"abc"`, `85.5`, booleans, null |
/// | `number` | JSON numbers; JSON number text (`"85.5"`, `"1e3"`) | `"NaN"`, `"0x10"`, booleans |
/// | `boolean` | `true`/`false`; text `true/false/yes/no/1/0` in any case; numbers 1 and 0 | any other text (the seed maps it to `false`) or number |
/// | `object` / `array` | a JSON object / array, or text holding one | anything else |
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ContextVariable {
    name: String,
    value: Value,
    #[serde(rename = "type")]
    kind: ContextType,
}

impl ContextVariable {
    /// A variable `name` of type `kind`, coercing `value` as the table above says.
    ///
    /// # Errors
    /// [`crate::ErrorKind::Validation`] with one violation: on `context`
    /// (rule `required`) for an empty name, or on `context.<name>` (rule
    /// `type_mismatch`, expected type, actual value) when `value` cannot be
    /// coerced.
    pub fn new(name: impl Into<String>, value: Value, kind: ContextType) -> Result<Self, Error> {
        let name = name.into();
        if name.trim().is_empty() {
            return Err(Error::violation(Violation::new(
                "context",
                Rule::Required,
                "a context variable needs a non-empty name",
            )));
        }
        let actual = describe(&value);
        match coerce(value, kind) {
            Ok(value) => Ok(Self { name, value, kind }),
            Err(reason) => Err(Error::violation(
                Violation::new(format!("context.{name}"), Rule::TypeMismatch, reason)
                    .with_values(kind.as_str(), actual),
            )),
        }
    }

    /// The name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The coerced value.
    pub fn value(&self) -> &Value {
        &self.value
    }

    /// The declared type.
    pub fn kind(&self) -> ContextType {
        self.kind
    }
}

/// What `POST /api/v2/workflows/instances` creates (seed 001 step 1,
/// `WorkflowTriggerPayload`). Every field's type carries its own rule, so a
/// `TriggerPayload` is valid by construction; build one with
/// [`TriggerPayload::new`] or, from unchecked values collecting every
/// problem at once, [`TriggerPayload::builder`].
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct TriggerPayload {
    /// The workflow to start.
    pub workflow_id: WorkflowId,
    /// 1 (highest) ..= 10; default 5.
    pub priority: Priority,
    /// Context variables; if a name appears twice the later one wins in
    /// [`TriggerPayload::build_cxone_body`] (the builder rejects duplicates).
    pub context: Vec<ContextVariable>,
    /// Free-form string metadata, e.g. `sourceSystem`, `batchId`.
    pub metadata: BTreeMap<String, String>,
}

impl TriggerPayload {
    /// A payload for `workflow_id` with priority 5, no context, no metadata.
    pub fn new(workflow_id: WorkflowId) -> Self {
        Self {
            workflow_id,
            priority: Priority::default(),
            context: Vec::new(),
            metadata: BTreeMap::new(),
        }
    }

    /// A builder that validates raw values and reports every problem in
    /// [`TriggerPayloadBuilder::build`].
    pub fn builder(workflow_id: &str) -> TriggerPayloadBuilder {
        let mut b = TriggerPayloadBuilder {
            workflow_id: None,
            priority: Priority::default(),
            context: Vec::new(),
            metadata: BTreeMap::new(),
            violations: Violations::new(),
        };
        match WorkflowId::new(workflow_id) {
            Ok(id) => b.workflow_id = Some(id),
            Err(e) => b.violations.extend(e.violations().iter().cloned()),
        }
        b
    }

    /// The request body: `{workflowId, priority, context: {name: value},
    /// metadata}` (seed 001 `build_cxone_body`; `metadata` is `{}` when empty).
    pub fn build_cxone_body(&self) -> Value {
        let context: Map<String, Value> = self
            .context
            .iter()
            .map(|v| (v.name.clone(), v.value.clone()))
            .collect();
        json!({
            "workflowId": self.workflow_id,
            "priority": self.priority,
            "context": context,
            "metadata": self.metadata,
        })
    }
}

/// Builds a [`TriggerPayload`] from unchecked values. Setters never fail;
/// they record problems, and [`TriggerPayloadBuilder::build`] returns all of
/// them in one error.
#[must_use]
#[derive(Debug, Clone)]
pub struct TriggerPayloadBuilder {
    workflow_id: Option<WorkflowId>,
    priority: Priority,
    context: Vec<ContextVariable>,
    metadata: BTreeMap<String, String>,
    violations: Violations,
}

impl TriggerPayloadBuilder {
    /// Priority 1..=10 (default 5).
    pub fn priority(mut self, priority: i64) -> Self {
        match Priority::try_from(priority) {
            Ok(p) => self.priority = p,
            Err(e) => self.violations.extend(e.violations().iter().cloned()),
        }
        self
    }

    /// Add context variable `name` of type `kind`, coercing `value`
    /// (see [`ContextVariable::new`]).
    pub fn context(self, name: &str, value: Value, kind: ContextType) -> Self {
        match ContextVariable::new(name, value, kind) {
            Ok(v) => self.variable(v),
            Err(e) => {
                let mut s = self;
                s.violations.extend(e.violations().iter().cloned());
                s
            }
        }
    }

    /// Add an already-built context variable.
    pub fn variable(mut self, variable: ContextVariable) -> Self {
        if self.context.iter().any(|v| v.name == variable.name) {
            self.violations.push(Violation::new(
                format!("context.{}", variable.name),
                Rule::Duplicate,
                "given more than once",
            ));
        } else {
            self.context.push(variable);
        }
        self
    }

    /// Add metadata `key: value`.
    pub fn metadata(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        let key = key.into();
        if key.is_empty() {
            self.violations.push(Violation::new(
                "metadata",
                Rule::Required,
                "metadata keys must not be empty",
            ));
        } else {
            self.metadata.insert(key, value.into());
        }
        self
    }

    /// The payload.
    ///
    /// # Errors
    /// [`crate::ErrorKind::Validation`] listing every problem recorded by
    /// the setters (bad workflow id, priority out of range, uncoercible or
    /// duplicate context variables, empty metadata keys).
    pub fn build(self) -> Result<TriggerPayload, Error> {
        match (self.workflow_id, self.violations.is_empty()) {
            (Some(workflow_id), true) => Ok(TriggerPayload {
                workflow_id,
                priority: self.priority,
                context: self.context,
                metadata: self.metadata,
            }),
            _ => Err(Error::validation(self.violations)),
        }
    }
}

/// CXone's instance completion webhook (seed 001 step 4):
/// `{instanceId, workflowId, status, context}` (camelCase; unknown fields
/// ignored; `context` defaults to `{}`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, garde::Validate)]
#[serde(rename_all = "camelCase")]
pub struct InstanceCompletion {
    /// The finished instance.
    #[garde(custom(required))]
    pub instance_id: String,
    /// Its workflow.
    #[garde(custom(required))]
    pub workflow_id: String,
    /// Final status, e.g. `COMPLETED`.
    #[garde(custom(required))]
    pub status: String,
    /// The instance's context at completion.
    #[garde(skip)]
    #[serde(default, deserialize_with = "super::null_default")]
    pub context: Map<String, Value>,
}

impl InstanceCompletion {
    /// Parse and check a webhook body.
    ///
    /// # Errors
    /// [`crate::ErrorKind::Validation`]: on `body` when it is not the JSON
    /// shape above, or on `instanceId` / `workflowId` / `status` when empty.
    pub fn from_json(body: &[u8]) -> Result<Self, Error> {
        let parsed: Self = serde_json::from_slice(body).map_err(|e| {
            Error::violation(Violation::new(
                "body",
                Rule::Format,
                format!("not a completion webhook: {e}"),
            ))
        })?;
        match garde::Validate::validate(&parsed) {
            Ok(()) => Ok(parsed),
            Err(report) => Err(Error::validation(violations_of(&report, |path| {
                match path {
                    "instance_id" => "instanceId",
                    "workflow_id" => "workflowId",
                    other => other,
                }
                .to_owned()
            }))),
        }
    }

    /// The seed's ERP synchronisation record: `{externalId, workflowId,
    /// finalStatus, customerData, routingResult}` where the last two come
    /// from `context.customerId` and `context.routingDecision` (`null` if absent).
    pub fn erp_sync_payload(&self) -> Value {
        json!({
            "externalId": self.instance_id,
            "workflowId": self.workflow_id,
            "finalStatus": self.status,
            "customerData": self.context.get("customerId").cloned().unwrap_or(Value::Null),
            "routingResult": self.context.get("routingDecision").cloned().unwrap_or(Value::Null),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ErrorKind;

    #[test]
    fn coercion_table() {
        use ContextType::*;
        let ok = [
            (json!("CUST-99887"), String, json!("CUST-99887")),
            (json!(85), String, json!("85")),
            (json!(true), String, json!("true")),
            (json!("85"), Integer, json!(85)),
            (json!(" 85 "), Integer, json!(85)),
            (json!("+85"), Integer, json!(85)),
            (json!("-3"), Integer, json!(-3)),
            (json!(85), Integer, json!(85)),
            (json!(85.0), Integer, json!(85)),
            (json!("18446744073709551615"), Integer, json!(u64::MAX)),
            (json!("85.5"), Number, json!(85.5)),
            (json!(2), Number, json!(2)),
            (json!("true"), Boolean, json!(true)),
            (json!("TRUE"), Boolean, json!(true)),
            (json!("yes"), Boolean, json!(true)),
            (json!("0"), Boolean, json!(false)),
            (json!("No"), Boolean, json!(false)),
            (json!(1), Boolean, json!(true)),
            (json!(false), Boolean, json!(false)),
            (
                json!({"channel": "voice"}),
                Object,
                json!({"channel": "voice"}),
            ),
            (
                json!(r#"{"queue":"sales"}"#),
                Object,
                json!({"queue": "sales"}),
            ),
            (json!([1, 2]), Array, json!([1, 2])),
            (json!("[1,2]"), Array, json!([1, 2])),
        ];
        for (value, kind, want) in ok {
            let got = ContextVariable::new("v", value.clone(), kind)
                .map(|v| v.value().clone())
                .map_err(|e| e.to_string());
            assert_eq!(got, Ok(want), "{value} as {kind}");
        }
        let bad = [
            (json!("abc"), Integer),
            (json!("85.5"), Integer),
            (json!(85.5), Integer),
            (json!(""), Integer),
            (json!(true), Integer),
            (json!(null), Integer),
            (json!("maybe"), Boolean),
            (json!(""), Boolean),
            (json!(2), Boolean),
            (json!(null), String),
            (json!([1]), String),
            (json!("NaN"), Number),
            (json!("[1]"), Object),
            (json!("{"), Object),
            (json!({}), Array),
        ];
        for (value, kind) in bad {
            match ContextVariable::new("priorityScore", value.clone(), kind) {
                Ok(v) => panic!("{value} as {kind} gave {:?}", v.value()),
                Err(e) => {
                    assert_eq!(e.kind(), ErrorKind::Validation);
                    assert_eq!(e.violations()[0].field, "context.priorityScore", "{value}");
                    assert_eq!(e.violations()[0].rule, Rule::TypeMismatch);
                    assert!(e.to_string().contains("priorityScore"), "{e}");
                }
            }
        }
    }

    #[test]
    fn priority_bounds() {
        for n in [-1i64, 0, 11, 255, 256] {
            let e = Priority::try_from(n)
                .err()
                .map(|e| e.violations()[0].field.clone());
            assert_eq!(e.as_deref(), Some("priority"), "{n}");
        }
        for n in 1..=10u8 {
            assert_eq!(Priority::new(n).map(Priority::get).ok(), Some(n));
        }
        assert_eq!(Priority::default().get(), 5);
        assert_eq!(" 2 ".parse::<Priority>().ok(), Some(Priority(2)));
        assert!(serde_json::from_value::<Priority>(json!(11)).is_err());
    }

    #[test]
    fn builder_collects_every_problem() {
        let err = TriggerPayload::builder("wf/bad")
            .priority(0)
            .context("priorityScore", json!("abc"), ContextType::Integer)
            .context("a", json!(1), ContextType::Integer)
            .context("a", json!(2), ContextType::Integer)
            .build()
            .err();
        let fields: Vec<String> = err
            .map(|e| e.violations().iter().map(|v| v.field.clone()).collect())
            .unwrap_or_default();
        assert_eq!(
            fields,
            [
                "workflow_id",
                "priority",
                "context.priorityScore",
                "context.a"
            ]
        );
    }

    #[test]
    fn body_has_the_seed_shape() -> Result<(), Error> {
        let payload = TriggerPayload::builder("wf_1")
            .priority(2)
            .context("customerId", json!("CUST-99887"), ContextType::String)
            .context("priorityScore", json!("85"), ContextType::Integer)
            .context("requiresCallback", json!("true"), ContextType::Boolean)
            .metadata("sourceSystem", "erp_sync_module")
            .build()?;
        assert_eq!(
            payload.build_cxone_body(),
            json!({
                "workflowId": "wf_1", "priority": 2,
                "context": {"customerId": "CUST-99887", "priorityScore": 85, "requiresCallback": true},
                "metadata": {"sourceSystem": "erp_sync_module"}
            })
        );
        Ok(())
    }

    #[test]
    fn webhook_parses_and_checks() {
        let ok = InstanceCompletion::from_json(
            br#"{"instanceId":"inst_1","workflowId":"wf_1","status":"COMPLETED","context":{"customerId":"C1"}}"#,
        );
        let erp = ok.map(|c| c.erp_sync_payload()).ok();
        assert_eq!(
            erp,
            Some(
                json!({"externalId": "inst_1", "workflowId": "wf_1", "finalStatus": "COMPLETED",
                         "customerData": "C1", "routingResult": null})
            )
        );
        for (body, want) in [
            (
                &br#"{"instanceId":"","workflowId":"wf","status":""}"#[..],
                &["instanceId", "status"][..],
            ),
            (
                br#"{"instanceId":"i","workflowId":" ","status":"DONE"}"#,
                &["workflowId"],
            ),
        ] {
            let got: Vec<(String, Rule)> = InstanceCompletion::from_json(body)
                .err()
                .map(|e| {
                    e.violations()
                        .iter()
                        .map(|v| (v.field.clone(), v.rule.clone()))
                        .collect()
                })
                .unwrap_or_default();
            let want: Vec<(String, Rule)> = want
                .iter()
                .map(|f| ((*f).to_owned(), Rule::Required))
                .collect();
            assert_eq!(got, want);
        }
        assert!(InstanceCompletion::from_json(b"nope").is_err());
    }
}
