//! Validation violations shared by the service crates: one broken rule
//! ([`Violation`]) and the list one check found ([`Violations`]).
//!
//! The rule type is a parameter: each service crate names its own rules
//! (an enum serialised as its snake-case name, or a plain `&'static str`)
//! and implements [`ViolationRule`] to say how a violation of it reads on
//! one line. JSON: `{field, rule, expected?, actual?, message}`, `expected`
//! and `actual` left out when absent.

use std::fmt;

use serde::{Deserialize, Serialize};

/// A rule type a [`Violation`] can carry.
pub trait ViolationRule: Sized {
    /// Write `violation` on one line. The default is `field: message`.
    ///
    /// # Errors
    /// Whatever the formatter returns.
    fn fmt_violation(violation: &Violation<Self>, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", violation.field, violation.message)
    }
}

/// Free-form rule names (e.g. `"retention"`): a violation reads
/// `` `field` (rule): message ``.
impl ViolationRule for &'static str {
    fn fmt_violation(violation: &Violation<Self>, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "`{}` ({}): {}",
            violation.field, violation.rule, violation.message
        )
    }
}

/// One broken rule: which field, which rule, what was expected versus
/// found, and a one-line message. JSON: `{field, rule, expected?, actual?, message}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Violation<R> {
    /// Path of the offending field, e.g. `input.priorityScore`, `interaction_ids[1]`.
    pub field: String,
    /// The rule it broke.
    pub rule: R,
    /// What the rule wanted, e.g. `NUMBER`, `1..=10`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expected: Option<String>,
    /// What was found, e.g. `string "85"`, `11`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub actual: Option<String>,
    /// One-line explanation, without the field name.
    pub message: String,
}

impl<R> Violation<R> {
    /// A violation of `rule` on `field` with a one-line `message`.
    pub fn new(field: impl Into<String>, rule: R, message: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            rule,
            expected: None,
            actual: None,
            message: message.into(),
        }
    }

    /// `Ok` when `id` can be one URL path segment ([`crate::check_id`]),
    /// else a violation of `rule` on `field`: the rule `id` breaks and
    /// `id` itself (escaped, quoted).
    ///
    /// # Errors
    /// The violation, when `id` is not a path segment.
    pub fn check_id(field: &str, rule: R, id: &str) -> Result<(), Self> {
        crate::check_id(id).map_err(|broken| {
            Self::new(
                field,
                rule,
                format!("{broken}, got {:?}", crate::escape(id)),
            )
        })
    }

    /// The same, recording what was expected and what was found.
    #[must_use]
    pub fn with_values(mut self, expected: impl Into<String>, actual: impl Into<String>) -> Self {
        self.expected = Some(expected.into());
        self.actual = Some(actual.into());
        self
    }
}

/// One [`Violation`] per entry of garde's `Report::iter()` (entries
/// `&(Path, Error)`, both `Display`), its field named by `field` (e.g. the
/// wire name of a Rust path) and its rule by `rule(field, message)`: the one
/// way the service crates turn a garde report into violations.
pub fn report_violations<'a, R: 'a, P: fmt::Display + 'a, M: fmt::Display + 'a>(
    entries: impl IntoIterator<Item = &'a (P, M)> + 'a,
    field: impl Fn(&str) -> String + 'a,
    rule: impl Fn(&str, &str) -> R + 'a,
) -> impl Iterator<Item = Violation<R>> + 'a {
    entries.into_iter().map(move |(path, message)| {
        let (field, message) = (field(&path.to_string()), message.to_string());
        let rule = rule(&field, &message);
        Violation::new(field, rule, message)
    })
}

/// The wire (camelCase) name of a snake_case Rust path, as garde reports
/// it: `skill_levels[1].skill_id` → `skillLevels[1].skillId`.
pub fn camel_case_path(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    let mut upper = false;
    for c in path.chars() {
        match c {
            '_' => upper = true,
            c if upper => {
                out.extend(c.to_uppercase());
                upper = false;
            }
            c => out.push(c),
        }
    }
    out
}

impl<R: ViolationRule> fmt::Display for Violation<R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        R::fmt_violation(self, f)
    }
}

/// Every [`Violation`] found by one check, in the order found; never empty
/// when returned as an error. `Display` joins them with `; ` on one line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Violations<R>(Vec<Violation<R>>);

impl<R> Default for Violations<R> {
    fn default() -> Self {
        Self(Vec::new())
    }
}

impl<R> Violations<R> {
    /// No violations yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Record one.
    pub fn push(&mut self, violation: Violation<R>) {
        self.0.push(violation);
    }

    /// Record all of `other`.
    pub fn extend(&mut self, other: impl IntoIterator<Item = Violation<R>>) {
        self.0.extend(other);
    }

    /// True when nothing was recorded.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// How many were recorded.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// The violations, in the order found.
    pub fn as_slice(&self) -> &[Violation<R>] {
        &self.0
    }

    /// Iterate over them.
    pub fn iter(&self) -> std::slice::Iter<'_, Violation<R>> {
        self.0.iter()
    }

    /// The underlying list.
    pub fn into_vec(self) -> Vec<Violation<R>> {
        self.0
    }

    /// `Ok(())` when empty, else `Err(self)`.
    ///
    /// # Errors
    /// `self` when it holds at least one violation.
    pub fn into_result(self) -> Result<(), Self> {
        if self.is_empty() { Ok(()) } else { Err(self) }
    }
}

impl<R: ViolationRule> fmt::Display for Violations<R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, v) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str("; ")?;
            }
            write!(f, "{v}")?;
        }
        Ok(())
    }
}

impl<R: ViolationRule + fmt::Debug> std::error::Error for Violations<R> {}

impl<R> IntoIterator for Violations<R> {
    type Item = Violation<R>;
    type IntoIter = std::vec::IntoIter<Violation<R>>;
    fn into_iter(self) -> Self::IntoIter {
        self.0.into_iter()
    }
}

impl<'a, R> IntoIterator for &'a Violations<R> {
    type Item = &'a Violation<R>;
    type IntoIter = std::slice::Iter<'a, Violation<R>>;
    fn into_iter(self) -> Self::IntoIter {
        self.0.iter()
    }
}

impl<R> FromIterator<Violation<R>> for Violations<R> {
    fn from_iter<I: IntoIterator<Item = Violation<R>>>(iter: I) -> Self {
        Self(iter.into_iter().collect())
    }
}

impl<R> From<Violation<R>> for Violations<R> {
    fn from(v: Violation<R>) -> Self {
        Self(vec![v])
    }
}

impl<R> From<Vec<Violation<R>>> for Violations<R> {
    fn from(v: Vec<Violation<R>>) -> Self {
        Self(v)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn check_id_names_the_field_the_rule_and_the_escaped_id() {
        assert_eq!(Violation::check_id("jobId", "format", "j-1"), Ok(()));
        let table = [
            ("", "must not be empty, got \"\""),
            ("a/b", "must not contain `/` or `\\`, got \"a/b\""),
            (
                "a\u{1b}b",
                r#"must not contain control characters, got "a\\u{1b}b""#,
            ),
        ];
        for (id, message) in table {
            let v = Violation::check_id("jobId", "format", id).err();
            assert_eq!(
                v.as_ref()
                    .map(|v| (v.field.as_str(), v.rule, v.message.as_str())),
                Some(("jobId", "format", message)),
                "{id:?}"
            );
        }
    }

    #[test]
    fn json_leaves_out_absent_values_and_round_trips() {
        let bare = Violation::new("limit", "range", "too big");
        assert_eq!(
            serde_json::to_value(&bare).unwrap(),
            json!({"field": "limit", "rule": "range", "message": "too big"})
        );
        let full = Violation::new("priority", "range".to_owned(), "out of range")
            .with_values("1..=10", "11");
        let value = serde_json::to_value(&full).unwrap();
        assert_eq!(
            value,
            json!({"field": "priority", "rule": "range", "expected": "1..=10", "actual": "11", "message": "out of range"})
        );
        let back: Violation<String> = serde_json::from_value(value).unwrap();
        assert_eq!(back, full);
    }

    #[test]
    fn display_joins_on_one_line() {
        let list: Violations<&'static str> = [
            Violation::new("a", "required", "missing"),
            Violation::new("b", "format", "bad"),
        ]
        .into_iter()
        .collect();
        assert_eq!(
            list.to_string(),
            "`a` (required): missing; `b` (format): bad"
        );
        assert!(Violations::<&'static str>::new().into_result().is_ok());
        assert_eq!(list.clone().into_result().unwrap_err().len(), 2);
    }
}
