//! Pre-flight checks of seed 000 step 1, as pure functions: nothing here
//! sends a request, and every check reports all of its violations at once.
//!
//! - [`validate_input`]: every input key is declared, every value has the
//!   declared JSON type.
//! - [`check_prerequisites`]: the workflow is ACTIVE or DEPLOYED, plus
//!   [`validate_input`]. (The running-execution quota needs the API; the
//!   executor checks it, see [`crate::RunBuilder::send`].)
//! - [`coerce_input`]: turns command-line text (`--input priorityScore=85`)
//!   into the declared JSON type.

use serde_json::{Map, Value};

use crate::error::{Error, Rule, Violation, Violations};
use crate::types::{InputType, WorkflowDefinition, describe, parse_bool_text};

/// Check `input` against `definition`'s declared input variables (seed 000
/// step 1): every key declared (`unknown_variable`), every value of the
/// declared JSON type (`type_mismatch`; `null` matches no type). Variables
/// of a type this crate does not know accept any value.
///
/// # Errors
/// Every violation, in key order, each on field `input.<key>`.
pub fn validate_input(
    definition: &WorkflowDefinition,
    input: &Map<String, Value>,
) -> Result<(), Violations> {
    let mut out = Violations::new();
    for (key, value) in input {
        let field = format!("input.{key}");
        match definition.input_variable(key) {
            None => out.push(unknown_key(definition, &field, key)),
            Some(var) if !var.kind.accepts(value) => out.push(
                Violation::new(
                    field,
                    Rule::TypeMismatch,
                    format!("expected {}, got {}", var.kind, describe(value)),
                )
                .with_values(var.kind.as_str(), describe(value)),
            ),
            Some(_) => {}
        }
    }
    out.into_result()
}

/// [`validate_input`] plus the status rule: the workflow must be ACTIVE or
/// DEPLOYED (a `not_deployable` violation on `status` first).
///
/// # Errors
/// Every violation found.
pub fn check_prerequisites(
    definition: &WorkflowDefinition,
    input: &Map<String, Value>,
) -> Result<(), Violations> {
    let mut out = Violations::new();
    if !definition.is_runnable() {
        out.push(
            Violation::new(
                "status",
                Rule::NotDeployable,
                format!(
                    "workflow {} is {}; only ACTIVE or DEPLOYED workflows run",
                    definition.id, definition.status
                ),
            )
            .with_values("ACTIVE or DEPLOYED", definition.status.as_str()),
        );
    }
    if let Err(v) = validate_input(definition, input) {
        out.extend(v);
    }
    out.into_result()
}

fn unknown_key(definition: &WorkflowDefinition, field: &str, key: &str) -> Violation {
    let declared: Vec<&str> = definition
        .input_variables
        .iter()
        .map(|v| v.name.as_str())
        .collect();
    Violation::new(
        field,
        Rule::UnknownVariable,
        format!(
            "{key} is not an input variable of workflow {} (declared: {})",
            definition.id,
            if declared.is_empty() {
                "none".to_owned()
            } else {
                declared.join(", ")
            }
        ),
    )
    .with_values(declared.join(", "), key)
}

/// Turn command-line text into input `key`'s declared type:
///
/// | declared | accepts | example |
/// |---|---|---|
/// | STRING | any text, as is (not trimmed) | `CUST-1` → `"CUST-1"` |
/// | NUMBER | a JSON number, spaces around ignored | `85` → `85`, `85.5` → `85.5` |
/// | BOOLEAN | `true/false/yes/no/1/0`, any case | `true` → `true` |
/// | OBJECT / ARRAY | JSON text of that shape | `{"queue":"sales"}` |
/// | unknown type | JSON text if it parses, else the text as a string | |
///
/// # Errors
/// [`crate::ErrorKind::Validation`] with one violation on `input.<key>`:
/// `unknown_variable` (naming the declared ones) or `type_mismatch`.
pub fn coerce_input(definition: &WorkflowDefinition, key: &str, raw: &str) -> Result<Value, Error> {
    coerce_input_violation(definition, key, raw).map_err(Error::violation)
}

pub(crate) fn coerce_input_violation(
    definition: &WorkflowDefinition,
    key: &str,
    raw: &str,
) -> Result<Value, Violation> {
    let field = format!("input.{key}");
    let Some(var) = definition.input_variable(key) else {
        return Err(unknown_key(definition, &field, key));
    };
    let trimmed = raw.trim();
    let parsed = match &var.kind {
        InputType::String => Some(Value::String(raw.to_owned())),
        InputType::Number => serde_json::from_str::<serde_json::Number>(trimmed)
            .ok()
            .map(Value::Number),
        InputType::Boolean => parse_bool_text(raw).map(Value::Bool),
        InputType::Object => serde_json::from_str::<Value>(trimmed)
            .ok()
            .filter(Value::is_object),
        InputType::Array => serde_json::from_str::<Value>(trimmed)
            .ok()
            .filter(Value::is_array),
        InputType::Unknown(_) => Some(
            serde_json::from_str::<Value>(trimmed)
                .unwrap_or_else(|_| Value::String(raw.to_owned())),
        ),
    };
    parsed.ok_or_else(|| {
        let actual = describe(&Value::String(raw.to_owned()));
        Violation::new(
            field,
            Rule::TypeMismatch,
            format!("expected {}, got {actual}", var.kind),
        )
        .with_values(var.kind.as_str(), actual)
    })
}

/// The field-level rules of one request (`garde`): the idempotency key
/// (both verbs) and, for a run, the poller's bound.
#[derive(garde::Validate)]
pub(crate) struct RequestInput<'a> {
    /// `format`: 1..=255 visible ASCII characters.
    #[garde(custom(key_format))]
    pub(crate) idempotency_key: &'a str,
    /// `required`: `max_polls` or `deadline`, so that polling ends.
    #[garde(inner(custom(bounded)))]
    pub(crate) poller: Option<&'a cx_http::Poller>,
}

impl RequestInput<'_> {
    /// Every broken rule, each on its field.
    pub(crate) fn violations(&self) -> Violations {
        match garde::Validate::validate(self) {
            Ok(()) => Violations::new(),
            Err(report) => violations_of(&report, |path| path.to_owned()),
        }
    }
}

fn key_format(key: &str, _: &()) -> garde::Result {
    if key.is_empty() || key.len() > 255 || !key.bytes().all(|b| b.is_ascii_graphic()) {
        Err(garde::Error::new(
            "must be 1..=255 visible ASCII characters",
        ))
    } else {
        Ok(())
    }
}

fn bounded(poller: &cx_http::Poller, _: &()) -> garde::Result {
    if poller.max_polls.is_none() && poller.deadline.is_none() {
        // Without either bound a stuck execution would be polled forever.
        Err(garde::Error::new(
            "needs `max_polls` or `deadline` so that polling ends",
        ))
    } else {
        Ok(())
    }
}

/// The garde rule of a text field that must be given.
pub(crate) fn required(value: &str, _: &()) -> garde::Result {
    if value.trim().is_empty() {
        Err(garde::Error::new("must not be empty"))
    } else {
        Ok(())
    }
}

/// The rule of a garde message (for [`Violation::rule`]).
fn rule_of(field: &str, message: &str) -> Rule {
    if field == "poller" || message.contains("must not be empty") {
        Rule::Required
    } else {
        Rule::Format
    }
}

/// One [`Violation`] per entry of a garde report, each path named by
/// `field` (its wire name).
pub(crate) fn violations_of(report: &garde::Report, field: impl Fn(&str) -> String) -> Violations {
    cx_http::report_violations(report.iter(), field, rule_of).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::{InputVariable, WorkflowStatus};
    use serde_json::json;

    fn seed_definition(status: WorkflowStatus) -> WorkflowDefinition {
        let var = |name: &str, kind: InputType| InputVariable {
            name: name.to_owned(),
            kind,
        };
        WorkflowDefinition {
            id: "wf_1".into(),
            name: "Routing".into(),
            status,
            input_variables: vec![
                var("customerId", InputType::String),
                var("priorityScore", InputType::Number),
                var("requiresCallback", InputType::Boolean),
                var("routingMetadata", InputType::Object),
                var("when", InputType::Unknown("DATE".into())),
            ],
            context_variables: Vec::new(),
            max_concurrent_instances: None,
        }
    }

    fn map(v: Value) -> Map<String, Value> {
        match v {
            Value::Object(m) => m,
            _ => Map::new(),
        }
    }

    #[test]
    fn validate_input_table() {
        let def = seed_definition(WorkflowStatus::Active);
        let cases: [(Value, &[(&str, Rule)]); 6] = [
            (
                json!({"customerId": "C1", "priorityScore": 85, "requiresCallback": true,
                       "routingMetadata": {"q": "sales"}}),
                &[],
            ),
            (json!({}), &[]),
            (json!({"when": [1, "x"]}), &[]),
            (
                json!({"bogus": 1}),
                &[("input.bogus", Rule::UnknownVariable)],
            ),
            (
                json!({"priorityScore": "85", "requiresCallback": "true", "customerId": null}),
                &[
                    ("input.customerId", Rule::TypeMismatch),
                    ("input.priorityScore", Rule::TypeMismatch),
                    ("input.requiresCallback", Rule::TypeMismatch),
                ],
            ),
            (
                json!({"routingMetadata": [], "zzz": true}),
                &[
                    ("input.routingMetadata", Rule::TypeMismatch),
                    ("input.zzz", Rule::UnknownVariable),
                ],
            ),
        ];
        for (input, want) in cases {
            let got: Vec<(String, Rule)> = match validate_input(&def, &map(input.clone())) {
                Ok(()) => Vec::new(),
                Err(v) => v.into_iter().map(|v| (v.field, v.rule)).collect(),
            };
            let want: Vec<(String, Rule)> = want
                .iter()
                .map(|(f, r)| ((*f).to_owned(), r.clone()))
                .collect();
            assert_eq!(got, want, "{input}");
        }
    }

    #[test]
    fn prerequisites_report_status_and_input_together() {
        let def = seed_definition(WorkflowStatus::Draft);
        let err = check_prerequisites(&def, &map(json!({"nope": 1}))).err();
        let fields: Vec<String> = err
            .map(|v| v.into_iter().map(|v| v.field).collect())
            .unwrap_or_default();
        assert_eq!(fields, ["status", "input.nope"]);
        let deployed = seed_definition(WorkflowStatus::Deployed);
        assert!(check_prerequisites(&deployed, &Map::new()).is_ok());
    }

    #[test]
    fn coerce_input_table() {
        let def = seed_definition(WorkflowStatus::Active);
        let ok = [
            ("customerId", " CUST-1 ", json!(" CUST-1 ")),
            ("priorityScore", "85", json!(85)),
            ("priorityScore", " 85.5 ", json!(85.5)),
            ("requiresCallback", "true", json!(true)),
            ("requiresCallback", "FALSE", json!(false)),
            (
                "routingMetadata",
                r#"{"channel":"voice"}"#,
                json!({"channel": "voice"}),
            ),
            ("when", "2024-01-01", json!("2024-01-01")),
            ("when", "[1]", json!([1])),
        ];
        for (key, raw, want) in ok {
            assert_eq!(coerce_input(&def, key, raw).ok(), Some(want), "{key}={raw}");
        }
        let bad = [
            ("priorityScore", "abc", Rule::TypeMismatch),
            ("priorityScore", "NaN", Rule::TypeMismatch),
            ("requiresCallback", "maybe", Rule::TypeMismatch),
            ("routingMetadata", "[1]", Rule::TypeMismatch),
            ("nope", "1", Rule::UnknownVariable),
        ];
        for (key, raw, rule) in bad {
            let e = coerce_input(&def, key, raw).err();
            let v = e.as_ref().map(|e| e.violations()[0].clone());
            assert_eq!(
                v.as_ref().map(|v| v.rule.clone()),
                Some(rule),
                "{key}={raw}"
            );
            assert_eq!(v.map(|v| v.field), Some(format!("input.{key}")));
            assert!(e.is_some_and(|e| e.to_string().contains(key)));
        }
    }
}
