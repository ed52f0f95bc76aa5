//! Extraction: JMESPath expressions, compiled once, pull fields out of a
//! job's output; the seed's coercion pipeline turns the strings CXone sends
//! into typed values (seed 004 step 4, `extract_and_coerce`).
//!
//! # Coercion of text ([`coerce_str`])
//!
//! Applied in this order; the first rule that matches wins.
//!
//! | input | result | rule |
//! |---|---|---|
//! | `"42"`, `"007"`, `"-3"`, `"-0"` | `Integer(42)`, `Integer(7)`, `Integer(-3)`, `Integer(0)` | ASCII digits with an optional leading `-` → integer (leading zeros dropped, as the seed's `int("007")`) |
//! | `"99999999999999999999"` | `Decimal(99999999999999999999)` | an integer beyond `i64` → exact decimal |
//! | `"1.50"`, `"-0.5"`, `".5"`, `"5."` | `Decimal(1.50)` (scale kept), `Decimal(-0.5)`, `Decimal(0.5)`, `Decimal(5)` | digits with one `.` and at least one digit → exact decimal (`rust_decimal`) |
//! | `"true"`, `"False"`, `"TRUE"` | `Bool(true)`, `Bool(false)`, `Bool(true)` | `true`/`false` in any case (the seed lowercases) |
//! | `"1e5"`, `"+3"`, `" 7"`, `"1.2.3"`, `""`, `"NaN"`, `"٣"` | `String(..)` unchanged | anything else stays text |
//! | more than 28 significant digits | `String(..)` | not representable exactly, so kept as text rather than rounded |
//!
//! Where we differ from the seed: it keeps `"-3"` and `"-0.5"` as strings
//! (`str.isdigit` has no sign), we read them as numbers so that every
//! integer and decimal round-trips; it turns non-ASCII digits such as
//! `"٣"` into integers, we keep them as text.
//!
//! # Values that are not strings ([`coerce_value`])
//!
//! JSON `true`/`false` → `Bool`; an integer → `Integer` (beyond `i64` →
//! `Decimal`); a fraction → `Decimal` of its shortest decimal text (`0.85`
//! → `0.85`); `null` or a missing path → `Null`; arrays, objects and numbers
//! no decimal can hold (`1e300`) → `Json` unchanged.

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use rust_decimal::Decimal;
use serde::ser::SerializeMap;
use serde::{Serialize, Serializer};
use serde_json::Value;

use crate::error::{DataActionKind, Error, ErrorKind, Rule, Violation};

/// A typed value produced by coercion.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Typed {
    /// The path matched nothing, or the value was `null`.
    Null,
    /// A boolean.
    Bool(bool),
    /// An integer that fits `i64`.
    Integer(i64),
    /// An exact decimal (scale kept: `1.50` stays `1.50`).
    Decimal(Decimal),
    /// Text that is none of the above.
    String(String),
    /// An array, object or unrepresentable number, unchanged.
    Json(Value),
}

impl Typed {
    /// The type name: `null`, `boolean`, `integer`, `decimal`, `string`, `json`.
    pub fn type_name(&self) -> &'static str {
        match self {
            Typed::Null => "null",
            Typed::Bool(_) => "boolean",
            Typed::Integer(_) => "integer",
            Typed::Decimal(_) => "decimal",
            Typed::String(_) => "string",
            Typed::Json(_) => "json",
        }
    }

    /// The value as a boolean, if it is one.
    pub fn as_bool(&self) -> Option<bool> {
        match self {
            Typed::Bool(b) => Some(*b),
            _ => None,
        }
    }

    /// The value as an exact decimal, if it is an integer or a decimal.
    pub fn as_decimal(&self) -> Option<Decimal> {
        match self {
            Typed::Integer(i) => Some(Decimal::from(*i)),
            Typed::Decimal(d) => Some(*d),
            _ => None,
        }
    }

    /// The value as text, if it is a string.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Typed::String(s) => Some(s),
            _ => None,
        }
    }
}

impl fmt::Display for Typed {
    /// The value as text: decimals with their scale (`1.50`), JSON compact.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Typed::Null => f.write_str("null"),
            Typed::Bool(b) => write!(f, "{b}"),
            Typed::Integer(i) => write!(f, "{i}"),
            Typed::Decimal(d) => write!(f, "{d}"),
            Typed::String(s) => f.write_str(s),
            Typed::Json(v) => write!(f, "{v}"),
        }
    }
}

impl Serialize for Typed {
    /// `{"type": "decimal", "value": "0.42"}`: decimals as strings so that
    /// no JSON reader rounds them; integers, booleans, strings and JSON as
    /// themselves; null as `null`.
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(Some(2))?;
        m.serialize_entry("type", self.type_name())?;
        match self {
            Typed::Null => m.serialize_entry("value", &())?,
            Typed::Bool(b) => m.serialize_entry("value", b)?,
            Typed::Integer(i) => m.serialize_entry("value", i)?,
            Typed::Decimal(d) => m.serialize_entry("value", &d.to_string())?,
            Typed::String(t) => m.serialize_entry("value", t)?,
            Typed::Json(v) => m.serialize_entry("value", v)?,
        }
        m.end()
    }
}

/// Parse `[-]digits[.digits]` (at least one digit) exactly; `None` for
/// anything else or a number no `Decimal` holds exactly.
fn parse_number(raw: &str) -> Option<Typed> {
    let unsigned = raw.strip_prefix('-').unwrap_or(raw);
    let (int, frac) = match unsigned.split_once('.') {
        Some((i, f)) => (i, Some(f)),
        None => (unsigned, None),
    };
    let digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    if !digits(int) || !frac.is_none_or(digits) || int.len() + frac.map_or(0, str::len) == 0 {
        return None;
    }
    if frac.is_none()
        && let Ok(i) = raw.parse::<i64>()
    {
        return Some(Typed::Integer(i));
    }
    // Normalise ".5" → "0.5" and "5." → "5" for rust_decimal.
    let sign = if raw.starts_with('-') { "-" } else { "" };
    let int = if int.is_empty() { "0" } else { int };
    let text = match frac {
        Some(f) if !f.is_empty() => format!("{sign}{int}.{f}"),
        _ => format!("{sign}{int}"),
    };
    Decimal::from_str_exact(&text).ok().map(Typed::Decimal)
}

/// The seed's coercion of one string (see the module table).
pub fn coerce_str(raw: &str) -> Typed {
    if let Some(n) = parse_number(raw) {
        return n;
    }
    if raw.eq_ignore_ascii_case("true") {
        return Typed::Bool(true);
    }
    if raw.eq_ignore_ascii_case("false") {
        return Typed::Bool(false);
    }
    Typed::String(raw.to_owned())
}

/// Coerce any JSON value (see the module docs).
pub fn coerce_value(value: Value) -> Typed {
    match value {
        Value::Null => Typed::Null,
        Value::Bool(b) => Typed::Bool(b),
        Value::String(s) => coerce_str(&s),
        Value::Number(n) => {
            if let Some(i) = n.as_i64() {
                Typed::Integer(i)
            } else if let Some(u) = n.as_u64() {
                Typed::Decimal(Decimal::from(u))
            } else {
                Decimal::from_str(&n.to_string())
                    .or_else(|_| Decimal::from_scientific(&n.to_string()))
                    .map_or(Typed::Json(Value::Number(n)), Typed::Decimal)
            }
        }
        other => Typed::Json(other),
    }
}

/// The characters that nest a JMESPath expression: each can add a level to
/// the parser's and the evaluator's recursion.
const NESTING: &str = ".|&![({<>=";

/// Most [`NESTING`] characters an expression may hold: 64 levels stay far
/// within a 2 MiB thread stack (a tokio worker's) even in a debug build,
/// where about 100 nested `[]` exhaust it.
const MAX_NESTING: usize = 64;

/// Named JMESPath expressions, compiled once and reused for every job
/// (seed 004 step 4's `paths` map). Cheap to clone; `Send + Sync`.
///
/// ```
/// let ex = cx_dataaction::Extraction::new()
///     .field("riskScore", "assessment.riskScore")?
///     .field("fraudFlag", "assessment.flags.isFraud")?;
/// let out = serde_json::json!({"assessment": {"riskScore": "0.42", "flags": {"isFraud": "false"}}});
/// let values = ex.apply(&out)?;
/// assert_eq!(values["riskScore"].to_string(), "0.42");
/// assert_eq!(values["fraudFlag"].as_bool(), Some(false));
/// # Ok::<(), cx_dataaction::Error>(())
/// ```
#[derive(Clone, Default)]
pub struct Extraction {
    fields: Vec<(String, jmespath::Expression<'static>)>,
}

impl fmt::Debug for Extraction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map()
            .entries(self.fields.iter().map(|(n, e)| (n, e.as_str())))
            .finish()
    }
}

impl Extraction {
    /// No fields.
    pub fn new() -> Self {
        Self::default()
    }

    /// Seed 004's three paths: `riskScore` ← `assessment.riskScore`,
    /// `fraudFlag` ← `assessment.flags.isFraud`, `processedTimestamp` ←
    /// `metadata.processedAt`.
    pub fn seed() -> Self {
        let mut ex = Self::new();
        for (name, path) in [
            ("riskScore", "assessment.riskScore"),
            ("fraudFlag", "assessment.flags.isFraud"),
            ("processedTimestamp", "metadata.processedAt"),
        ] {
            if let Ok(e) = jmespath::compile(path) {
                ex.fields.push((name.to_owned(), e));
            }
        }
        ex
    }

    /// Add `name` ← `expression` (compiled now; a later field with the same
    /// name replaces the earlier one).
    ///
    /// An expression may hold at most 64 of the characters that nest it
    /// (`. | & ! [ ( { < > =`): the JMESPath parser and evaluator recurse
    /// once per level, and a deeper expression (`((((…`, `a.a.a.…`) would
    /// exhaust the thread's stack and abort the process.
    ///
    /// # Errors
    /// [`ErrorKind::Validation`] on field `extract.<name>` when the
    /// expression does not compile, nests deeper than that (rule `range`) or
    /// the name is empty.
    pub fn field(mut self, name: &str, expression: &str) -> Result<Self, Error> {
        if name.is_empty() {
            return Err(Error::violation(Violation::new(
                "extract",
                Rule::Required,
                format!("a name is required for expression {expression:?}"),
            )));
        }
        let nesting = expression.chars().filter(|c| NESTING.contains(*c)).count();
        if nesting > MAX_NESTING {
            return Err(Error::violation(
                Violation::new(
                    format!("extract.{name}"),
                    Rule::Range,
                    format!(
                        "the expression holds {nesting} of `{NESTING}`, which nest it; at most {MAX_NESTING} are allowed"
                    ),
                )
                .with_values(format!("at most {MAX_NESTING}"), nesting.to_string()),
            ));
        }
        let compiled = jmespath::compile(expression).map_err(|e| {
            Error::violation(Violation::new(
                format!("extract.{name}"),
                Rule::Format,
                format!("invalid JMESPath expression {expression:?}: {e}"),
            ))
        })?;
        self.fields.retain(|(n, _)| n != name);
        self.fields.push((name.to_owned(), compiled));
        Ok(self)
    }

    /// Add a field from `name=expression` text (the CLI's `--extract`).
    ///
    /// # Errors
    /// As [`Extraction::field`]; also when there is no `=`.
    pub fn spec(self, spec: &str) -> Result<Self, Error> {
        match spec.split_once('=') {
            Some((name, expr)) => self.field(name.trim(), expr.trim()),
            None => Err(Error::violation(Violation::new(
                "extract",
                Rule::Format,
                format!("expected name=expression, got {spec:?}"),
            ))),
        }
    }

    /// True when no field is set.
    pub fn is_empty(&self) -> bool {
        self.fields.is_empty()
    }

    /// Evaluate every expression on `output` and coerce the results.
    /// A path that matches nothing gives [`Typed::Null`].
    ///
    /// # Errors
    /// [`DataActionKind::Extraction`] when an expression fails at run time (e.g.
    /// a function given the wrong type), naming the field.
    pub fn apply(&self, output: &Value) -> Result<BTreeMap<String, Typed>, Error> {
        let mut out = BTreeMap::new();
        for (name, expr) in &self.fields {
            let found = expr.search(output).map_err(|e| {
                Error::new(
                    ErrorKind::Domain(DataActionKind::Extraction),
                    format!("extract.{name}: {} failed: {e}", expr.as_str()),
                )
            })?;
            let value = serde_json::to_value(&*found).map_err(|e| {
                Error::new(
                    ErrorKind::Domain(DataActionKind::Extraction),
                    format!("extract.{name}: result is not JSON: {e}"),
                )
            })?;
            out.insert(name.clone(), coerce_value(value));
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde_json::json;

    fn dec(s: &str) -> Typed {
        Typed::Decimal(Decimal::from_str(s).expect("decimal"))
    }

    #[test]
    fn coercion_edges() {
        let cases = [
            ("42", Typed::Integer(42)),
            ("007", Typed::Integer(7)),
            ("-3", Typed::Integer(-3)),
            ("-0", Typed::Integer(0)),
            ("9223372036854775807", Typed::Integer(i64::MAX)),
            ("99999999999999999999", dec("99999999999999999999")),
            ("1.50", dec("1.50")),
            ("-0.5", dec("-0.5")),
            (".5", dec("0.5")),
            ("5.", dec("5")),
            ("0.85", dec("0.85")),
            ("true", Typed::Bool(true)),
            ("True", Typed::Bool(true)),
            ("FALSE", Typed::Bool(false)),
            ("1e5", Typed::String("1e5".into())),
            ("+3", Typed::String("+3".into())),
            (" 7", Typed::String(" 7".into())),
            ("1.2.3", Typed::String("1.2.3".into())),
            ("", Typed::String(String::new())),
            ("-", Typed::String("-".into())),
            (".", Typed::String(".".into())),
            ("NaN", Typed::String("NaN".into())),
            ("٣", Typed::String("٣".into())),
            ("yes", Typed::String("yes".into())),
            (
                "1234567890123456789012345678901234567890",
                Typed::String("1234567890123456789012345678901234567890".into()),
            ),
        ];
        for (raw, want) in cases {
            assert_eq!(coerce_str(raw), want, "{raw:?}");
        }
        // Scale is kept: 1.50 prints as 1.50.
        assert_eq!(coerce_str("1.50").to_string(), "1.50");
    }

    #[test]
    fn non_string_values() {
        let cases = [
            (json!(null), Typed::Null),
            (json!(true), Typed::Bool(true)),
            (json!(12), Typed::Integer(12)),
            (json!(u64::MAX), dec("18446744073709551615")),
            (json!(0.85), dec("0.85")),
            (json!(1e300), Typed::Json(json!(1e300))),
            (json!([1]), Typed::Json(json!([1]))),
        ];
        for (v, want) in cases {
            assert_eq!(coerce_value(v.clone()), want, "{v}");
        }
    }

    #[test]
    fn seed_extraction_on_seed_output() -> Result<(), Error> {
        let out = json!({
            "assessment": {"riskScore": "0.42", "flags": {"isFraud": "true"}},
            "metadata": {"processedAt": "2024-01-15T10:30:05Z"},
        });
        let values = Extraction::seed().apply(&out)?;
        assert_eq!(values["riskScore"], dec("0.42"));
        assert_eq!(values["fraudFlag"], Typed::Bool(true));
        assert_eq!(
            values["processedTimestamp"],
            Typed::String("2024-01-15T10:30:05Z".into())
        );
        let missing = Extraction::new().field("x", "no.such.path")?.apply(&out)?;
        assert_eq!(missing["x"], Typed::Null);
        Ok(())
    }

    #[test]
    fn bad_expressions_name_the_field() {
        let err = Extraction::new()
            .field("score", "a.[")
            .expect_err("invalid");
        assert_eq!(err.violations()[0].field, "extract.score");
        let err = Extraction::new().spec("nodelimiter").expect_err("invalid");
        assert_eq!(err.violations()[0].field, "extract");
        let err = Extraction::new()
            .field("n", "abs(name)")
            .and_then(|e| e.apply(&json!({"name": "x"})))
            .expect_err("runtime error");
        assert_eq!(err.kind(), ErrorKind::Domain(DataActionKind::Extraction));
        assert!(err.to_string().contains("extract.n"), "{err}");
    }

    #[test]
    fn nesting_is_bounded_so_the_stack_is() {
        let at_limit = [
            format!("{}a{}", "(".repeat(64), ")".repeat(64)),
            format!("{}a", "a.".repeat(64)),
            "[]".repeat(64),
            format!("{}a", "!".repeat(64)),
            format!("{}a", "a[?".repeat(32)) + &"]".repeat(32),
        ];
        // On a tokio worker's 2 MiB stack: compiled, evaluated, dropped.
        let worker = std::thread::Builder::new().stack_size(2 << 20);
        let ran = worker.spawn(move || {
            for expr in &at_limit {
                let ex = Extraction::new().field("x", expr).expect(expr);
                ex.apply(&json!({"a": {"a": [1]}})).expect(expr);
            }
        });
        assert!(ran.is_ok_and(|h| h.join().is_ok()));
        for expr in [
            format!("{}a", "a.".repeat(65)),
            format!("{}a", "(".repeat(20_000)),
            "[]".repeat(5_000),
        ] {
            let err = Extraction::new().field("x", &expr).expect_err("too deep");
            let v = &err.violations()[0];
            assert_eq!((v.field.as_str(), &v.rule), ("extract.x", &Rule::Range));
        }
    }

    #[test]
    fn typed_json_shape() {
        let v = serde_json::to_value(BTreeMap::from([
            ("a", dec("1.50")),
            ("b", Typed::Bool(false)),
            ("c", Typed::Null),
        ]))
        .expect("json");
        assert_eq!(
            v,
            json!({
                "a": {"type": "decimal", "value": "1.50"},
                "b": {"type": "boolean", "value": false},
                "c": {"type": "null", "value": null},
            })
        );
    }

    proptest! {
        #[test]
        fn coercion_never_panics(raw in "\\PC{0,40}") {
            let _ = coerce_str(&raw);
        }

        #[test]
        fn numeric_looking_text_never_panics(raw in "[-+.0-9eE]{0,40}") {
            let _ = coerce_str(&raw);
        }

        #[test]
        fn integers_round_trip(i in any::<i64>()) {
            prop_assert_eq!(coerce_str(&i.to_string()), Typed::Integer(i));
        }

        #[test]
        fn decimals_round_trip(m in any::<i64>(), scale in 1u32..=18) {
            let d = Decimal::new(m, scale);
            let text = d.to_string();
            let got = coerce_str(&text);
            prop_assert_eq!(&got, &Typed::Decimal(d));
            prop_assert_eq!(got.to_string(), text);
        }
    }
}
