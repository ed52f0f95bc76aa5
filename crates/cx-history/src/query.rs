//! [`HistoryQuery`]: a validated seed-003 query, and its filter expression.
//!
//! Rules (checked with `garde` by [`HistoryQueryBuilder::build`], all
//! reported at once, before any request):
//!
//! | field | rule |
//! |---|---|
//! | `interaction_ids` | at least one id (unless `interaction_prefix` is set) |
//! | `interaction_ids[i]`, `interaction_prefix` | 1..=128 characters, no control characters, no leading/trailing whitespace |
//! | `start_timestamp`, `end_timestamp` | RFC 3339 with a zone (`Z` or `±hh:mm`); not older than 30 days before the [`Clock`]'s now |
//! | `end_timestamp` | not before `start_timestamp` |
//! | `limit` | 1..=1000 (page size; default 100) |
//!
//! The filter ([`HistoryQuery::filter`]) is written in seed 003's grammar:
//! `interactionId IN ['a', 'b'] AND nodeTimestamp >= '...' AND nodeTimestamp
//! <= '...' AND errorState = True`. Every id is a single-quoted string in
//! which `\` and `'` are escaped with a backslash ([`quote`]), so no id,
//! however written, changes the filter's structure. `interaction_prefix`
//! adds `interactionId STARTSWITH '...'` (our extension, used for the
//! simulator's synthetic load-test sets).

use std::sync::Arc;

use chrono::{DateTime, FixedOffset, Utc};
use garde::Validate;
use serde_json::{Value, json};

use crate::error::{Error, Rule, Violation};

/// Days of history CXone keeps and accepts in a query (seed 003).
pub const RETENTION_DAYS: i64 = 30;

/// Longest interaction id (or prefix) accepted, in characters.
pub const MAX_ID_CHARS: usize = 128;

/// Where "now" comes from for the retention rule: the runtime's clock
/// types, re-exported. Inject a [`FixedClock`] in tests; [`SystemClock`] is
/// the default.
pub use cx_http::{Clock, FixedClock, SystemClock};

/// `s` as a filter string literal: single quotes, with `\` → `\\` and
/// `'` → `\'`. Nothing else is special inside a literal.
///
/// ```
/// assert_eq!(cx_history::quote("it's"), r"'it\'s'");
/// ```
pub fn quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('\'');
    for c in s.chars() {
        if matches!(c, '\'' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('\'');
    out
}

/// The garde context: the instant retention is measured from.
struct Now(DateTime<Utc>);

#[derive(Validate)]
#[garde(context(Now))]
struct QueryInput {
    #[garde(custom(ids_present(self.interaction_prefix.is_some())), inner(custom(well_formed)))]
    interaction_ids: Vec<String>,
    #[garde(inner(custom(well_formed)))]
    interaction_prefix: Option<String>,
    #[garde(inner(custom(timestamp)))]
    start_timestamp: Option<String>,
    #[garde(inner(custom(timestamp)), custom(not_before(self.start_timestamp.as_deref())))]
    end_timestamp: Option<String>,
    #[garde(range(min = 1, max = 1000))]
    limit: u32,
}

fn ids_present(has_prefix: bool) -> impl FnOnce(&Vec<String>, &Now) -> garde::Result {
    move |ids, _| {
        if ids.is_empty() && !has_prefix {
            Err(garde::Error::new("list at least one interaction id"))
        } else {
            Ok(())
        }
    }
}

fn well_formed(id: &str, _: &Now) -> garde::Result {
    let chars = id.chars().count();
    if chars == 0 {
        return Err(garde::Error::new("must not be empty"));
    }
    if chars > MAX_ID_CHARS {
        return Err(garde::Error::new(format!(
            "must be at most {MAX_ID_CHARS} characters, got {chars}"
        )));
    }
    if id.chars().any(char::is_control) {
        return Err(garde::Error::new("must not contain control characters"));
    }
    if id.trim() != id {
        return Err(garde::Error::new("must not start or end with whitespace"));
    }
    Ok(())
}

fn parse_ts(raw: &str) -> Option<DateTime<FixedOffset>> {
    DateTime::parse_from_rfc3339(raw).ok()
}

/// Longest age [`parse_instant`] accepts: 100 years, in seconds. Anything
/// older is far outside the retention anyway; the bound keeps every
/// computation from the input inside chrono's range.
pub const MAX_AGE_SECS: i64 = 100 * 366 * 86_400;

/// An instant written as RFC 3339 with a zone (`2024-05-01T10:00:00Z`), or
/// as an age before `now`: a non-negative integer and a unit, `s`, `m`,
/// `h` or `d` (`90s`, `30m`, `2h`, `7d`, as `cx history query --since`
/// takes it). All arithmetic on the input is checked.
///
/// ```
/// use chrono::{TimeZone, Utc};
/// let now = Utc.with_ymd_and_hms(2024, 5, 2, 10, 0, 0).unwrap();
/// let at = cx_history::parse_instant("since", "2h", now).unwrap();
/// assert_eq!(at.to_rfc3339(), "2024-05-02T08:00:00+00:00");
/// assert!(cx_history::parse_instant("since", "9999999999999h", now).is_err());
/// ```
///
/// # Errors
/// [`crate::ErrorKind::Validation`] with one violation on `field` (rule
/// `format` or `range`) when `raw` is neither form, or the age is longer
/// than [`MAX_AGE_SECS`].
pub fn parse_instant(
    field: &str,
    raw: &str,
    now: DateTime<Utc>,
) -> Result<DateTime<FixedOffset>, Error> {
    let bad = |rule: Rule, message: String| {
        Error::validation(vec![Violation::new(field.to_owned(), rule, message)])
    };
    if let Some(at) = parse_ts(raw) {
        return Ok(at);
    }
    let unit = |c: char| match c {
        's' => Some(1i64),
        'm' => Some(60),
        'h' => Some(3600),
        'd' => Some(86_400),
        _ => None,
    };
    let mut chars = raw.chars();
    let (Some(secs_per_unit), digits) = (chars.next_back().and_then(unit), chars.as_str()) else {
        return Err(bad(
            Rule::Format,
            format!(
                "{:?} is neither RFC 3339 with a zone nor an age such as 90s, 30m, 2h, 7d",
                cx_http::escape(raw)
            ),
        ));
    };
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad(
            Rule::Format,
            format!(
                "{:?}: an age is a non-negative whole number before its unit (s, m, h, d)",
                cx_http::escape(raw)
            ),
        ));
    }
    let too_old = || {
        bad(
            Rule::Range,
            format!("age {raw} is longer than the {MAX_AGE_SECS} s (100 years) this accepts"),
        )
    };
    let age = digits
        .parse::<i64>()
        .ok()
        .and_then(|n| n.checked_mul(secs_per_unit))
        .filter(|s| *s <= MAX_AGE_SECS)
        .ok_or_else(too_old)?;
    chrono::TimeDelta::try_seconds(age)
        .and_then(|d| now.checked_sub_signed(d))
        .map(|at| at.fixed_offset())
        .ok_or_else(too_old)
}

/// How the message of a timestamp that does not parse ends (after the
/// refused text, which may hold any words).
const NOT_RFC3339: &str = " is not RFC 3339 with a zone (e.g. 2024-05-01T10:00:00Z)";

fn timestamp(raw: &str, now: &Now) -> garde::Result {
    let Some(at) = parse_ts(raw) else {
        return Err(garde::Error::new(format!("{raw:?}{NOT_RFC3339}")));
    };
    let oldest = now
        .0
        .checked_sub_signed(chrono::Duration::days(RETENTION_DAYS))
        .unwrap_or(DateTime::<Utc>::MIN_UTC);
    if at < oldest {
        return Err(garde::Error::new(format!(
            "{raw} is older than the {RETENTION_DAYS}-day retention (oldest allowed {})",
            oldest.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
        )));
    }
    Ok(())
}

fn not_before(start: Option<&str>) -> impl FnOnce(&Option<String>, &Now) -> garde::Result + '_ {
    move |end, _| match (start.and_then(parse_ts), end.as_deref().and_then(parse_ts)) {
        (Some(s), Some(e)) if e < s => Err(garde::Error::new("must not be before start_timestamp")),
        _ => Ok(()),
    }
}

/// The rule name of a garde message (for [`Violation::rule`]).
fn rule_of(field: &str, message: &str) -> Rule {
    // First: this message quotes the caller's text, which must not decide
    // the rule (the other messages quote nothing or a parsed timestamp).
    if message.ends_with(NOT_RFC3339) {
        Rule::Format
    } else if message.contains("retention") {
        Rule::Retention
    } else if message.contains("before start") {
        Rule::Order
    } else if message.contains("at least one") || message.contains("empty") {
        Rule::Required
    } else if field == "limit" {
        Rule::Range
    } else {
        Rule::Format
    }
}

/// One [`Violation`] per entry of a garde report, named by its field.
fn violations_of(report: &garde::Report) -> Vec<Violation> {
    cx_http::report_violations(report.iter(), str::to_owned, rule_of).collect()
}

/// A validated history query (seed 003 step 1). Build with
/// [`HistoryQuery::builder`].
#[derive(Debug, Clone, PartialEq)]
pub struct HistoryQuery {
    interaction_ids: Vec<String>,
    interaction_prefix: Option<String>,
    start: Option<DateTime<FixedOffset>>,
    end: Option<DateTime<FixedOffset>>,
    error_state: Option<bool>,
    limit: u32,
}

impl HistoryQuery {
    /// A builder with no ids, no bounds, limit 100 and the system clock.
    pub fn builder() -> HistoryQueryBuilder {
        HistoryQueryBuilder::default()
    }

    /// The interaction ids, as given.
    pub fn interaction_ids(&self) -> &[String] {
        &self.interaction_ids
    }

    /// The id prefix, if any.
    pub fn interaction_prefix(&self) -> Option<&str> {
        self.interaction_prefix.as_deref()
    }

    /// Page size (1..=1000).
    pub fn limit(&self) -> u32 {
        self.limit
    }

    /// The filter expression in seed 003's grammar.
    pub fn filter(&self) -> String {
        let mut parts = Vec::new();
        if !self.interaction_ids.is_empty() {
            let ids: Vec<String> = self.interaction_ids.iter().map(|i| quote(i)).collect();
            parts.push(format!("interactionId IN [{}]", ids.join(", ")));
        }
        if let Some(p) = &self.interaction_prefix {
            parts.push(format!("interactionId STARTSWITH {}", quote(p)));
        }
        if let Some(s) = &self.start {
            parts.push(format!("nodeTimestamp >= {}", quote(&s.to_rfc3339())));
        }
        if let Some(e) = &self.end {
            parts.push(format!("nodeTimestamp <= {}", quote(&e.to_rfc3339())));
        }
        if let Some(err) = self.error_state {
            parts.push(format!(
                "errorState = {}",
                if err { "True" } else { "False" }
            ));
        }
        parts.join(" AND ")
    }

    /// The request body of one page (seed 003 `to_request_body`):
    /// `{filter, limit, offset, sort: "nodeTimestamp DESC"}`.
    pub fn request_body(&self, offset: u64) -> Value {
        json!({
            "filter": self.filter(),
            "limit": self.limit,
            "offset": offset,
            "sort": "nodeTimestamp DESC",
        })
    }
}

/// Builds a [`HistoryQuery`]; [`HistoryQueryBuilder::build`] validates.
#[must_use]
#[derive(Debug, Clone)]
pub struct HistoryQueryBuilder {
    interaction_ids: Vec<String>,
    interaction_prefix: Option<String>,
    start: Option<String>,
    end: Option<String>,
    error_state: Option<bool>,
    limit: u32,
    clock: Arc<dyn Clock>,
}

impl Default for HistoryQueryBuilder {
    fn default() -> Self {
        Self {
            interaction_ids: Vec::new(),
            interaction_prefix: None,
            start: None,
            end: None,
            error_state: None,
            limit: 100,
            clock: Arc::new(SystemClock),
        }
    }
}

impl HistoryQueryBuilder {
    /// Add one interaction id.
    pub fn interaction(mut self, id: impl Into<String>) -> Self {
        self.interaction_ids.push(id.into());
        self
    }

    /// Add several interaction ids.
    pub fn interactions<I, S>(mut self, ids: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.interaction_ids.extend(ids.into_iter().map(Into::into));
        self
    }

    /// Select interactions whose id starts with `prefix` (e.g. `syn-` for
    /// the simulator's synthetic sets).
    pub fn interaction_prefix(mut self, prefix: impl Into<String>) -> Self {
        self.interaction_prefix = Some(prefix.into());
        self
    }

    /// Earliest step start, RFC 3339 with a zone (`nodeTimestamp >= ...`).
    pub fn start(mut self, rfc3339: impl Into<String>) -> Self {
        self.start = Some(rfc3339.into());
        self
    }

    /// Latest step start, RFC 3339 with a zone (`nodeTimestamp <= ...`).
    pub fn end(mut self, rfc3339: impl Into<String>) -> Self {
        self.end = Some(rfc3339.into());
        self
    }

    /// `start` from an instant.
    pub fn start_at(self, at: DateTime<Utc>) -> Self {
        self.start(at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true))
    }

    /// `end` from an instant.
    pub fn end_at(self, at: DateTime<Utc>) -> Self {
        self.end(at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true))
    }

    /// Only steps with this `errorState` (`errorState = True|False`).
    pub fn error_state(mut self, error_state: bool) -> Self {
        self.error_state = Some(error_state);
        self
    }

    /// Only steps in an error state (seed 003's example).
    pub fn errors_only(self) -> Self {
        self.error_state(true)
    }

    /// Page size, 1..=1000 (default 100).
    pub fn limit(mut self, limit: u32) -> Self {
        self.limit = limit;
        self
    }

    /// The clock the 30-day retention is measured against.
    pub fn clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// Validate and build.
    ///
    /// # Errors
    /// [`crate::ErrorKind::Validation`] with one [`Violation`] per broken
    /// rule (see the module docs), naming each field.
    pub fn build(self) -> Result<HistoryQuery, Error> {
        let input = QueryInput {
            interaction_ids: self.interaction_ids,
            interaction_prefix: self.interaction_prefix,
            start_timestamp: self.start,
            end_timestamp: self.end,
            limit: self.limit,
        };
        if let Err(report) = input.validate_with(&Now(self.clock.now())) {
            return Err(Error::validation(violations_of(&report)));
        }
        Ok(HistoryQuery {
            start: input.start_timestamp.as_deref().and_then(parse_ts),
            end: input.end_timestamp.as_deref().and_then(parse_ts),
            interaction_ids: input.interaction_ids,
            interaction_prefix: input.interaction_prefix,
            error_state: self.error_state,
            limit: input.limit,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn clock() -> Arc<dyn Clock> {
        let now = DateTime::parse_from_rfc3339("2024-05-31T12:00:00Z").unwrap();
        Arc::new(FixedClock(now.with_timezone(&Utc)))
    }

    fn base() -> HistoryQueryBuilder {
        HistoryQuery::builder().clock(clock())
    }

    #[test]
    fn renders_the_seed_filter() {
        let q = base()
            .interaction("a1b2c3d4-e5f6-7890-abcd-ef1234567890")
            .start("2024-05-31T10:00:00Z")
            .end("2024-05-31T12:00:00+00:00")
            .errors_only()
            .limit(50)
            .build()
            .unwrap();
        assert_eq!(
            q.filter(),
            "interactionId IN ['a1b2c3d4-e5f6-7890-abcd-ef1234567890'] AND \
             nodeTimestamp >= '2024-05-31T10:00:00+00:00' AND \
             nodeTimestamp <= '2024-05-31T12:00:00+00:00' AND errorState = True"
        );
        assert_eq!(q.request_body(100)["offset"], 100);
        assert_eq!(q.request_body(0)["limit"], 50);
    }

    #[test]
    fn each_rule_names_its_field() {
        let table: Vec<(HistoryQueryBuilder, &str, &str)> = vec![
            (base(), "interaction_ids", "required"),
            (base().interaction(""), "interaction_ids[0]", "required"),
            (
                base().interaction("a").interaction(" b"),
                "interaction_ids[1]",
                "format",
            ),
            (base().interaction("a\nb"), "interaction_ids[0]", "format"),
            (
                base().interaction("x".repeat(129)),
                "interaction_ids[0]",
                "format",
            ),
            (
                base().interaction_prefix(""),
                "interaction_prefix",
                "required",
            ),
            (
                base().interaction("a").start("2024-05-31T10:00:00"),
                "start_timestamp",
                "format",
            ),
            (
                base().interaction("a").start("yesterday"),
                "start_timestamp",
                "format",
            ),
            // The rule is the check that failed, whatever words the
            // refused text holds.
            (
                base().interaction("a").start("past the retention"),
                "start_timestamp",
                "format",
            ),
            (
                base().interaction("a").end("empty, before start"),
                "end_timestamp",
                "format",
            ),
            (
                base().interaction("a").start("2024-04-30T11:59:59Z"),
                "start_timestamp",
                "retention",
            ),
            (
                base().interaction("a").end("2024-01-01T00:00:00Z"),
                "end_timestamp",
                "retention",
            ),
            (
                base()
                    .interaction("a")
                    .start("2024-05-31T11:00:00Z")
                    .end("2024-05-31T10:00:00Z"),
                "end_timestamp",
                "order",
            ),
            (base().interaction("a").limit(0), "limit", "range"),
            (base().interaction("a").limit(1001), "limit", "range"),
        ];
        for (builder, field, rule) in table {
            let err = builder.build().unwrap_err();
            assert!(err.is_rejected_before_send());
            let v = err.violations();
            assert_eq!(v.len(), 1, "{err}");
            assert_eq!(
                (v[0].field.as_str(), v[0].rule.as_str()),
                (field, rule),
                "{err}"
            );
        }
        // Exactly at the retention edge and a prefix without ids are fine.
        assert!(
            base()
                .interaction("a")
                .start("2024-05-01T12:00:00Z")
                .build()
                .is_ok()
        );
        assert!(
            base()
                .interaction_prefix("syn-")
                .limit(1000)
                .build()
                .is_ok()
        );
    }

    #[test]
    fn quoting_escapes_quotes_and_backslashes() {
        let cases = [
            ("a", "'a'"),
            ("it's", r"'it\'s'"),
            (r"a\", r"'a\\'"),
            (r"\'", r"'\\\''"),
            ("'] OR x", r"'\'] OR x'"),
        ];
        for (raw, want) in cases {
            assert_eq!(quote(raw), want);
        }
    }
}
