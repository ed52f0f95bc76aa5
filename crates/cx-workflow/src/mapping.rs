//! Output mapping (seed 000 step 4, `transformOutput`): pick fields out of an
//! execution's output under new names.
//!
//! A mapping is `target → source`. A source is looked up as a top-level key
//! first (so keys containing dots still work, as in the seed), then as a
//! dotted path: `routing.queue.name` walks objects, and a numeric segment
//! indexes an array (`items.0.id`). A source that is not there is reported
//! in [`MappedOutput::missing`] instead of silently becoming `undefined`; a
//! source that is present with the value `null` maps to `null`.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// `target → source` pairs. JSON: an object of strings (`{"queue":
/// "routingDecision"}`), so it can come from a config file.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct OutputMapping(BTreeMap<String, String>);

/// A mapped target whose source was not in the output.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MissingOutput {
    /// The target key that got no value.
    pub target: String,
    /// The source path that was not found.
    pub source: String,
}

/// The result of [`OutputMapping::apply`].
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct MappedOutput {
    /// `target → value` for every source found.
    pub values: Map<String, Value>,
    /// Every target whose source was not found, in target order.
    pub missing: Vec<MissingOutput>,
}

impl OutputMapping {
    /// An empty mapping.
    pub fn new() -> Self {
        Self::default()
    }

    /// Add `target ← source`, replacing an earlier source for `target`.
    #[must_use]
    pub fn map(mut self, target: impl Into<String>, source: impl Into<String>) -> Self {
        self.0.insert(target.into(), source.into());
        self
    }

    /// The pairs, by target.
    pub fn pairs(&self) -> impl Iterator<Item = (&str, &str)> {
        self.0.iter().map(|(t, s)| (t.as_str(), s.as_str()))
    }

    /// True when there are no pairs.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Map `output` (`None` when the execution had none: every target is missing).
    pub fn apply(&self, output: Option<&Map<String, Value>>) -> MappedOutput {
        let mut result = MappedOutput::default();
        for (target, source) in &self.0 {
            match output.and_then(|o| lookup(o, source)) {
                Some(v) => {
                    result.values.insert(target.clone(), v.clone());
                }
                None => result.missing.push(MissingOutput {
                    target: target.clone(),
                    source: source.clone(),
                }),
            }
        }
        result
    }
}

impl<T: Into<String>, S: Into<String>> FromIterator<(T, S)> for OutputMapping {
    fn from_iter<I: IntoIterator<Item = (T, S)>>(iter: I) -> Self {
        Self(
            iter.into_iter()
                .map(|(t, s)| (t.into(), s.into()))
                .collect(),
        )
    }
}

/// `source` in `output`: a top-level key, else a dotted path.
pub fn lookup<'a>(output: &'a Map<String, Value>, source: &str) -> Option<&'a Value> {
    if let Some(v) = output.get(source) {
        return Some(v);
    }
    let mut parts = source.split('.');
    let mut current = output.get(parts.next()?)?;
    for part in parts {
        current = match current {
            Value::Object(m) => m.get(part)?,
            Value::Array(a) => a.get(part.parse::<usize>().ok()?)?,
            _ => return None,
        };
    }
    Some(current)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn mapping_table() {
        let output = match json!({
            "routingDecision": "priority-queue",
            "a.b": "dotted key",
            "a": {"b": "nested", "n": null},
            "items": [{"id": "i0"}, {"id": "i1"}],
            "echo": {"customerId": "C1"}
        }) {
            Value::Object(m) => m,
            _ => Map::new(),
        };
        let mapping = OutputMapping::new()
            .map("queue", "routingDecision")
            .map("dotted", "a.b")
            .map("null", "a.n")
            .map("second", "items.1.id")
            .map("customer", "echo.customerId")
            .map("gone", "echo.missing")
            .map("bad_index", "items.x.id")
            .map("too_deep", "routingDecision.x");
        let got = mapping.apply(Some(&output));
        assert_eq!(
            Value::Object(got.values),
            json!({"queue": "priority-queue", "dotted": "dotted key", "null": null,
                   "second": "i1", "customer": "C1"})
        );
        let missing: Vec<&str> = got.missing.iter().map(|m| m.target.as_str()).collect();
        assert_eq!(missing, ["bad_index", "gone", "too_deep"]);
        let none = mapping.apply(None);
        assert!(none.values.is_empty());
        assert_eq!(none.missing.len(), 8);
    }
}
