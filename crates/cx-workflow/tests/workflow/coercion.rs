//! Seed 001 step 1 coercion and the priority / id preconditions, as tables
//! and properties (no network).

use cx_workflow::{
    ContextType, ContextVariable, ErrorKind, InputType, InputVariable, Priority, Rule,
    WorkflowDefinition, WorkflowId, WorkflowStatus, coerce_input,
};
use proptest::prelude::*;
use serde_json::{Value, json};

const TYPES: [ContextType; 6] = [
    ContextType::String,
    ContextType::Integer,
    ContextType::Number,
    ContextType::Boolean,
    ContextType::Object,
    ContextType::Array,
];

#[test]
fn seed_examples_coerce_as_documented() {
    let cases: [(Value, ContextType, Result<Value, ()>); 12] = [
        (json!("85"), ContextType::Integer, Ok(json!(85))),
        (json!(" 85 "), ContextType::Integer, Ok(json!(85))),
        (json!("85.5"), ContextType::Integer, Err(())),
        (json!("abc"), ContextType::Integer, Err(())),
        (json!("true"), ContextType::Boolean, Ok(json!(true))),
        (json!("False"), ContextType::Boolean, Ok(json!(false))),
        (json!("garbage"), ContextType::Boolean, Err(())),
        (
            json!("CUST-99887"),
            ContextType::String,
            Ok(json!("CUST-99887")),
        ),
        (json!(42), ContextType::String, Ok(json!("42"))),
        (
            json!({"channel": "voice"}),
            ContextType::Object,
            Ok(json!({"channel": "voice"})),
        ),
        (json!("[\"a\"]"), ContextType::Array, Ok(json!(["a"]))),
        (json!("{}"), ContextType::Array, Err(())),
    ];
    for (value, kind, want) in cases {
        let got = ContextVariable::new("priorityScore", value.clone(), kind);
        match (&got, &want) {
            (Ok(v), Ok(w)) => assert_eq!(v.value(), w, "{value} as {kind}"),
            (Err(e), Err(())) => {
                assert_eq!(e.kind(), ErrorKind::Validation);
                assert_eq!(e.violations()[0].field, "context.priorityScore");
                assert!(e.to_string().contains("priorityScore"), "{e}");
            }
            _ => panic!("{value} as {kind}: got {got:?}, want {want:?}"),
        }
    }
}

fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|n| json!(n)),
        any::<u64>().prop_map(|n| json!(n)),
        any::<f64>()
            .prop_map(|f| serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number)),
        ".*".prop_map(Value::String),
        "[ +-]?[0-9]{1,22}[ ]?".prop_map(Value::String),
        "(?i)(true|false|yes|no|1|0|maybe)".prop_map(Value::String),
    ];
    leaf.prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::btree_map("[a-z]{1,5}", inner, 0..4)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

fn declared() -> WorkflowDefinition {
    let var = |name: &str, kind: InputType| InputVariable {
        name: name.to_owned(),
        kind,
    };
    WorkflowDefinition {
        id: "wf_1".into(),
        name: String::new(),
        status: WorkflowStatus::Active,
        input_variables: vec![
            var("s", InputType::String),
            var("n", InputType::Number),
            var("b", InputType::Boolean),
            var("o", InputType::Object),
            var("a", InputType::Array),
        ],
        context_variables: Vec::new(),
        max_concurrent_instances: None,
    }
}

proptest! {
    #[test]
    fn coercion_never_panics_and_yields_the_declared_type(value in json_value(), t in 0usize..6) {
        let kind = TYPES[t];
        match ContextVariable::new("v", value, kind) {
            Ok(v) => {
                let x = v.value();
                let ok = match kind {
                    ContextType::String => x.is_string(),
                    ContextType::Integer => x.is_i64() || x.is_u64(),
                    ContextType::Number => x.is_number(),
                    ContextType::Boolean => x.is_boolean(),
                    ContextType::Object => x.is_object(),
                    _ => x.is_array(),
                };
                prop_assert!(ok, "{x} is not {kind}");
            }
            Err(e) => {
                prop_assert_eq!(e.kind(), ErrorKind::Validation);
                prop_assert_eq!(&e.violations()[0].field, "context.v");
                prop_assert_eq!(&e.violations()[0].rule, &Rule::TypeMismatch);
            }
        }
    }

    #[test]
    fn integer_strings_round_trip(n in any::<i64>(), pad_left in " {0,2}", pad_right in " {0,2}") {
        let text = format!("{pad_left}{n}{pad_right}");
        let v = ContextVariable::new("v", json!(text), ContextType::Integer);
        prop_assert_eq!(v.map(|v| v.value().clone()).ok(), Some(json!(n)));
        let s = ContextVariable::new("v", json!(n), ContextType::String);
        prop_assert_eq!(s.map(|v| v.value().clone()).ok(), Some(json!(n.to_string())));
    }

    #[test]
    fn non_integer_text_is_refused_as_integer(text in "[0-9]*[.eE,a-z][0-9a-z.]*") {
        prop_assert!(ContextVariable::new("v", json!(text), ContextType::Integer).is_err());
    }

    #[test]
    fn boolean_text_is_accepted_only_from_the_documented_set(text in ".{0,8}|(?i)(true|false|yes|no|1|0)") {
        let want = match text.trim().to_ascii_lowercase().as_str() {
            "true" | "yes" | "1" => Some(true),
            "false" | "no" | "0" => Some(false),
            _ => None,
        };
        let got = ContextVariable::new("v", json!(text), ContextType::Boolean)
            .ok()
            .and_then(|v| v.value().as_bool());
        prop_assert_eq!(got, want);
    }

    #[test]
    fn priority_accepts_exactly_one_to_ten(n in any::<i64>()) {
        let got = Priority::try_from(n);
        prop_assert_eq!(got.is_ok(), (1..=10).contains(&n));
        match got {
            Ok(p) => prop_assert_eq!(i64::from(p.get()), n),
            Err(e) => prop_assert_eq!(&e.violations()[0].field, "priority"),
        }
    }

    #[test]
    fn priority_from_u8_and_text(n in any::<u8>()) {
        prop_assert_eq!(Priority::new(n).is_ok(), (1..=10).contains(&n));
        prop_assert_eq!(n.to_string().parse::<Priority>().ok(), Priority::new(n).ok());
    }

    #[test]
    fn workflow_ids_are_safe_path_segments(id in ".{0,140}") {
        let safe = !id.is_empty()
            && id.chars().count() <= 128
            && !id.chars().any(|c| matches!(c, '/' | '?' | '#' | '%' | '\\') || c.is_whitespace() || c.is_control());
        prop_assert_eq!(WorkflowId::new(id.clone()).is_ok(), safe, "{:?}", id);
    }

    #[test]
    fn cli_coercion_never_panics(key in "[snboax]|zz", raw in ".{0,20}") {
        let def = declared();
        match coerce_input(&def, &key, &raw) {
            Ok(v) => {
                let kind = &def.input_variables.iter().find(|d| d.name == key).map(|d| d.kind.clone());
                prop_assert!(kind.as_ref().is_some_and(|k| k.accepts(&v)), "{key}={raw:?} gave {v}");
            }
            Err(e) => prop_assert_eq!(&e.violations()[0].field, &format!("input.{key}")),
        }
    }
}
