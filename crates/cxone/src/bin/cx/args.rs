//! Value parsers for flags that take structured text. clap runs them while
//! parsing, so a malformed value is a usage error (exit 2, naming the flag
//! and the expected form) before any tenant, simulator or request exists.

use cx_workflow::ContextType;
use serde_json::Value;

/// `key=value` with a non-empty key (trimmed); the value is kept as given.
///
/// # Errors
/// The expected form, when there is no `=` or the key is empty.
pub fn key_value(raw: &str) -> Result<(String, String), String> {
    match raw.split_once('=') {
        Some((k, v)) if !k.trim().is_empty() => Ok((k.trim().to_owned(), v.to_owned())),
        _ => Err("expected KEY=VALUE with a non-empty KEY".to_owned()),
    }
}

/// `key=value` where a value that parses as JSON is kept as JSON (`85`,
/// `0.85`, `true`, `{"a":1}`) and any other text is a string.
///
/// # Errors
/// As [`key_value`].
pub fn key_json(raw: &str) -> Result<(String, Value), String> {
    let (k, v) = key_value(raw)?;
    let value = serde_json::from_str(&v).unwrap_or(Value::String(v));
    Ok((k, value))
}

/// One `--var name:type=value` of `cx workflow trigger`.
#[derive(Debug, Clone)]
pub struct ContextVar {
    /// The variable's name.
    pub name: String,
    /// Its declared type.
    pub kind: ContextType,
    /// Its value as text; the workflow client converts it to `kind`.
    pub value: String,
}

const VAR_TYPES: &str = "string, integer, boolean, object, array";

/// `name:type=value`, the type one of [`VAR_TYPES`] (any case).
///
/// # Errors
/// The expected form, or the unknown type with the known ones.
pub fn context_var(raw: &str) -> Result<ContextVar, String> {
    let bad = || format!("expected NAME:TYPE=VALUE (TYPE: {VAR_TYPES})");
    let (left, value) = raw.split_once('=').ok_or_else(bad)?;
    let (name, kind) = left.rsplit_once(':').ok_or_else(bad)?;
    if name.trim().is_empty() {
        return Err(bad());
    }
    let kind = match kind.trim().to_ascii_lowercase().as_str() {
        "string" => ContextType::String,
        "integer" => ContextType::Integer,
        "boolean" => ContextType::Boolean,
        "object" => ContextType::Object,
        "array" => ContextType::Array,
        other => return Err(format!("unknown TYPE {other:?} (expected {VAR_TYPES})")),
    };
    Ok(ContextVar {
        name: name.trim().to_owned(),
        kind,
        value: value.to_owned(),
    })
}

/// `name=JMESPath` of `cx dataaction run --extract`, checked by compiling it
/// the way the run will.
///
/// # Errors
/// The missing `=`, the empty name or the expression's syntax error.
pub fn extract_spec(raw: &str) -> Result<String, String> {
    cx_dataaction::Extraction::new()
        .spec(raw)
        .map(|_| raw.to_owned())
        .map_err(|e| e.to_string())
}
