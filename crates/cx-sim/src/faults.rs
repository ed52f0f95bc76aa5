//! Fault injection: rules that pick requests by method and path and damage
//! them (an error status, latency, a reset connection, a truncated or
//! stalled body, or a lost response after the mutation happened).
//!
//! Rules are evaluated in order before the handler runs; the first rule that
//! matches *and fires* wins, so at most one fault hits a request. Whether a
//! rule with `probability < 1` fires is a pure function of the builder seed,
//! the rule's index and how many requests that rule has seen:
//! `splitmix64(seed ^ index << 32 ^ n)`. Counters are atomics, so the request
//! path takes no lock beyond a brief read lock to clone the rule list.
//! Replacing the rules resets every counter.
//!
//! JSON shape (`PUT /_sim/faults` takes an array of these):
//! ```json
//! {"route": "POST /api/v2/workflows/*/executions",
//!  "fault": {"kind": "status", "status": 503, "retryAfter": {"seconds": 2}},
//!  "probability": 0.5, "times": 3}
//! ```

use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, RwLock};

use serde::{Deserialize, Serialize};

use crate::setters::with_setters;

/// When a rule applies and what it does.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct FaultRule {
    /// `"METHOD /path/pattern"`: `*` matches one path segment, `**` any rest
    /// (zero or more segments); the method may be `*` (any) or omitted.
    /// `"*"` alone matches every request. The query string is not matched.
    /// Example: `"POST /api/v2/workflows/*/executions"`.
    pub route: String,
    /// What to do to a matching request.
    pub fault: Fault,
    /// Chance in `0..=1` that a matching request is hit (default 1).
    #[serde(default = "default_probability")]
    pub probability: f64,
    /// Fire for the first N hits only; `None` = unlimited.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub times: Option<u32>,
}

fn default_probability() -> f64 {
    1.0
}

impl FaultRule {
    /// A rule that always fires on `route`.
    pub fn new(route: impl Into<String>, fault: Fault) -> Self {
        Self {
            route: route.into(),
            fault,
            probability: 1.0,
            times: None,
        }
    }
}

with_setters! { FaultRule {
    /// Sets the probability (`0..=1`).
    with_probability(probability: f64);
    /// Limits the rule to its first `times` hits.
    with_times(times: u32) = Some(times);
}}

impl FaultRule {
    /// Checks the probability is in `0..=1` and status codes are in
    /// `200..=599`.
    ///
    /// # Errors
    /// A message naming the bad field.
    pub fn validate(&self) -> Result<(), String> {
        if !(0.0..=1.0).contains(&self.probability) {
            return Err(format!(
                "probability must be within 0..=1, got {}",
                self.probability
            ));
        }
        match self.fault {
            Fault::Status { status, .. } | Fault::StatusAfterProcessing { status }
                if !(200..=599).contains(&status) =>
            {
                Err(format!("status must be within 200..=599, got {status}"))
            }
            _ => Ok(()),
        }
    }
}

/// Rules on `route` that hit each matching request with at most one of the
/// `mix` faults, fault `i` with overall probability `mix[i].0`.
///
/// Rules are tried in order and the first that fires wins, so each rule's
/// own probability is made conditional on the ones before it not firing:
/// `[(0.2, 429), (0.1, 5xx), (0.05, reset)]` hits 20% / 10% / 5% of requests.
/// Probabilities are clamped so that the mix never exceeds 1.
pub fn fault_mix(route: &str, mix: &[(f64, Fault)]) -> Vec<FaultRule> {
    let mut left = 1.0_f64;
    mix.iter()
        .map(|(p, fault)| {
            let p = p.clamp(0.0, left);
            let conditional = if left > 0.0 { p / left } else { 0.0 };
            left -= p;
            FaultRule::new(route, fault.clone()).with_probability(conditional.clamp(0.0, 1.0))
        })
        .collect()
}

/// The fault-soak mix (issue 9) on every route, the token endpoint
/// included: 20% 429, 10% 5xx (half of them 502 before the handler runs,
/// half a 500 after it ran, i.e. a lost response) and 5% connection resets.
pub fn soak_faults() -> Vec<FaultRule> {
    let status = |status| Fault::Status {
        status,
        retry_after: None,
    };
    fault_mix(
        "*",
        &[
            (0.20, status(429)),
            (0.05, status(502)),
            (0.05, Fault::StatusAfterProcessing { status: 500 }),
            (0.05, Fault::ConnectionReset),
        ],
    )
}

/// A kind of damage. JSON: internally tagged by `kind` in camelCase, e.g.
/// `{"kind": "latency", "ms": 200}`, `{"kind": "connectionReset"}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(
    tag = "kind",
    rename_all = "camelCase",
    rename_all_fields = "camelCase"
)]
#[non_exhaustive]
pub enum Fault {
    /// Answer `status` with `{"error": "injected_fault", "status": N}`
    /// without running the handler (nothing changes server-side), plus a
    /// `Retry-After` header when set.
    Status {
        /// HTTP status, e.g. 429 or 503.
        status: u16,
        /// Optional `Retry-After` header.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        retry_after: Option<RetryAfter>,
    },
    /// Wait `ms` milliseconds (real time) before handling the request normally.
    Latency {
        /// Delay in ms.
        ms: u64,
    },
    /// Close the connection with a TCP reset and no HTTP response; the
    /// handler does not run.
    ConnectionReset,
    /// Run the handler, send the response head with the full
    /// `Content-Length`, send only half the body, then abort the connection.
    TruncatedBody,
    /// Run the handler, send the response head, then wait `ms` milliseconds
    /// before sending the body.
    StallBody {
        /// Delay between head and body, in ms.
        ms: u64,
    },
    /// Run the handler (the mutation happens), then replace its response with
    /// `status` and the injected-fault body: models a lost response.
    StatusAfterProcessing {
        /// HTTP status returned instead of the real one.
        status: u16,
    },
    /// Run the handler, then change the claims of the `id_token` in its JSON
    /// answer (its `tenantId`) without re-signing, so the signature no
    /// longer verifies: a token tampered with on the way. Answers without
    /// an `id_token` pass unchanged.
    TamperIdToken,
    /// Run the handler, then set the top-level `status` field of its JSON
    /// object body to `value` (other bodies pass unchanged): models a
    /// server that reports a status the client does not know, e.g.
    /// `{"kind": "reportStatus", "value": "SUSPENDED"}`.
    ReportStatus {
        /// The status text to report.
        value: String,
    },
}

impl Fault {
    /// The label recorded in [`crate::JournalEntry::fault`]: `status:503`,
    /// `latency:200ms`, `connection_reset`, `truncated_body`,
    /// `stall_body:500ms`, `status_after_processing:500`, `tamper_id_token` or
    /// `report_status:SUSPENDED`.
    pub fn label(&self) -> String {
        match self {
            Fault::Status { status, .. } => format!("status:{status}"),
            Fault::Latency { ms } => format!("latency:{ms}ms"),
            Fault::ConnectionReset => "connection_reset".to_owned(),
            Fault::TruncatedBody => "truncated_body".to_owned(),
            Fault::StallBody { ms } => format!("stall_body:{ms}ms"),
            Fault::StatusAfterProcessing { status } => {
                format!("status_after_processing:{status}")
            }
            Fault::TamperIdToken => "tamper_id_token".to_owned(),
            Fault::ReportStatus { value } => format!("report_status:{value}"),
        }
    }
}

/// A `Retry-After` header value. JSON: `{"seconds": 2}` or
/// `{"httpDate": {"secsFromNow": -5}}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", rename_all_fields = "camelCase")]
pub enum RetryAfter {
    /// Delta-seconds form, e.g. `Retry-After: 2`.
    Seconds(u64),
    /// IMF-fixdate form, `secs_from_now` seconds from the real wall clock
    /// when the response is sent (negative = in the past).
    HttpDate {
        /// Offset from now in seconds; may be negative.
        secs_from_now: i64,
    },
}

impl RetryAfter {
    /// The header value, e.g. `2` or `Tue, 01 Oct 2024 12:00:00 GMT`.
    pub fn header_value(&self) -> String {
        match *self {
            RetryAfter::Seconds(s) => s.to_string(),
            RetryAfter::HttpDate { secs_from_now } => {
                let now = std::time::SystemTime::now();
                let delta = std::time::Duration::from_secs(secs_from_now.unsigned_abs());
                let at = if secs_from_now >= 0 {
                    now.checked_add(delta)
                } else {
                    now.checked_sub(delta)
                }
                .unwrap_or(now);
                httpdate::fmt_http_date(at)
            }
        }
    }
}

/// A parsed `route` pattern.
#[derive(Debug, Clone, PartialEq, Eq)]
struct RoutePattern {
    /// Upper-case method; `None` = any.
    method: Option<String>,
    /// Path segments; `None` = any path.
    segments: Option<Vec<Segment>>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Segment {
    Literal(String),
    One,
    Rest,
}

impl RoutePattern {
    fn parse(route: &str) -> Self {
        let route = route.trim();
        let (method, path) = match route.split_once(char::is_whitespace) {
            Some((m, p)) => (Some(m), p.trim()),
            None if route.starts_with('/') => (None, route),
            None => (Some(route), "**"),
        };
        let method = method.filter(|m| *m != "*").map(|m| m.to_ascii_uppercase());
        let segments = if path == "*" || path == "**" || path.is_empty() {
            None
        } else {
            Some(
                path.split('/')
                    .filter(|s| !s.is_empty())
                    .map(|s| match s {
                        "*" => Segment::One,
                        "**" => Segment::Rest,
                        lit => Segment::Literal(lit.to_owned()),
                    })
                    .collect(),
            )
        };
        Self { method, segments }
    }

    fn matches(&self, method: &str, path: &str) -> bool {
        if let Some(m) = &self.method
            && !m.eq_ignore_ascii_case(method)
        {
            return false;
        }
        let Some(pattern) = &self.segments else {
            return true;
        };
        let mut actual = path.split('/').filter(|s| !s.is_empty());
        for seg in pattern {
            match seg {
                Segment::Rest => return true,
                Segment::One => {
                    if actual.next().is_none() {
                        return false;
                    }
                }
                Segment::Literal(lit) => {
                    if actual.next() != Some(lit.as_str()) {
                        return false;
                    }
                }
            }
        }
        actual.next().is_none()
    }
}

#[derive(Debug)]
struct CompiledRule {
    index: u64,
    pattern: RoutePattern,
    rule: FaultRule,
    /// Matching requests seen (drives the probability roll).
    seen: AtomicU64,
    /// Times fired (bounded by `times`).
    fired: AtomicU32,
}

impl CompiledRule {
    fn try_fire(&self, seed: u64) -> bool {
        if let Some(limit) = self.rule.times
            && self.fired.load(Ordering::Acquire) >= limit
        {
            return false;
        }
        let p = self.rule.probability;
        if p < 1.0 {
            let n = self.seen.fetch_add(1, Ordering::AcqRel);
            if roll(seed, self.index, n) >= p {
                return false;
            }
        }
        match self.rule.times {
            None => true,
            Some(limit) => self
                .fired
                .fetch_update(Ordering::AcqRel, Ordering::Acquire, |f| {
                    (f < limit).then_some(f + 1)
                })
                .is_ok(),
        }
    }
}

/// splitmix64: a stateless, well-mixed 64-bit hash.
pub(crate) fn splitmix64(x: u64) -> u64 {
    let mut z = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// A uniform number in `[0, 1)` for the `n`-th request seen by rule `index`.
fn roll(seed: u64, index: u64, n: u64) -> f64 {
    let bits = splitmix64(seed ^ (index << 32) ^ n) >> 11;
    // 53 random bits scaled into [0, 1): exact in an f64.
    bits as f64 / (1u64 << 53) as f64
}

/// The live rule set.
#[derive(Debug)]
pub(crate) struct FaultEngine {
    seed: u64,
    rules: RwLock<Arc<Vec<CompiledRule>>>,
}

impl FaultEngine {
    /// An engine with `rules`, rolling dice from `seed`.
    pub(crate) fn new(seed: u64, rules: Vec<FaultRule>) -> Self {
        let engine = Self {
            seed,
            rules: RwLock::new(Arc::new(Vec::new())),
        };
        engine.replace(rules);
        engine
    }

    /// Replaces every rule and resets the counters.
    pub(crate) fn replace(&self, rules: Vec<FaultRule>) {
        let compiled: Vec<CompiledRule> = rules
            .into_iter()
            .enumerate()
            .map(|(i, mut rule)| {
                if let Err(msg) = rule.validate() {
                    tracing::warn!(route = %rule.route, %msg, "fault rule out of range; clamping");
                    rule.probability = if rule.probability.is_nan() {
                        0.0
                    } else {
                        rule.probability.clamp(0.0, 1.0)
                    };
                }
                CompiledRule {
                    index: i as u64,
                    pattern: RoutePattern::parse(&rule.route),
                    rule,
                    seen: AtomicU64::new(0),
                    fired: AtomicU32::new(0),
                }
            })
            .collect();
        let mut guard = match self.rules.write() {
            Ok(g) => g,
            Err(poisoned) => poisoned.into_inner(),
        };
        *guard = Arc::new(compiled);
    }

    /// The current rules, in order.
    pub(crate) fn rules(&self) -> Vec<FaultRule> {
        self.current().iter().map(|c| c.rule.clone()).collect()
    }

    fn current(&self) -> Arc<Vec<CompiledRule>> {
        match self.rules.read() {
            Ok(g) => Arc::clone(&g),
            Err(poisoned) => Arc::clone(&poisoned.into_inner()),
        }
    }

    /// The fault to inject into a `method path` request, if any.
    pub(crate) fn pick(&self, method: &str, path: &str) -> Option<Fault> {
        let rules = self.current();
        rules
            .iter()
            .find(|r| r.pattern.matches(method, path) && r.try_fire(self.seed))
            .map(|r| r.rule.fault.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn route_patterns() {
        let cases = [
            ("*", "GET", "/anything/at/all", true),
            (
                "POST /api/v2/workflows/*/executions",
                "POST",
                "/api/v2/workflows/wf_1/executions",
                true,
            ),
            (
                "POST /api/v2/workflows/*/executions",
                "GET",
                "/api/v2/workflows/wf_1/executions",
                false,
            ),
            (
                "POST /api/v2/workflows/*/executions",
                "POST",
                "/api/v2/workflows/wf_1/executions/x",
                false,
            ),
            (
                "post /api/v2/workflows/*/executions",
                "POST",
                "/api/v2/workflows/a/executions/",
                true,
            ),
            ("GET /api/**", "GET", "/api/v2/audit/logs", true),
            ("GET /api/**", "GET", "/api", true),
            ("GET /api/**", "GET", "/oauth/token", false),
            ("* /oauth/token", "POST", "/oauth/token", true),
            ("/oauth/token", "PUT", "/oauth/token", true),
            ("GET", "GET", "/x/y", true),
            ("GET", "POST", "/x/y", false),
            ("GET /api/v2/workflows/*", "GET", "/api/v2/workflows", false),
        ];
        for (route, method, path, want) in cases {
            assert_eq!(
                RoutePattern::parse(route).matches(method, path),
                want,
                "{route:?} vs {method} {path}"
            );
        }
    }

    #[test]
    fn times_limits_and_probability_is_deterministic() {
        let engine = FaultEngine::new(
            7,
            vec![FaultRule::new("GET /a", Fault::ConnectionReset).with_times(2)],
        );
        let hits: Vec<bool> = (0..4).map(|_| engine.pick("GET", "/a").is_some()).collect();
        assert_eq!(hits, vec![true, true, false, false]);

        let pattern = |seed| {
            let e = FaultEngine::new(
                seed,
                vec![FaultRule::new("*", Fault::TruncatedBody).with_probability(0.5)],
            );
            (0..64)
                .map(|_| e.pick("GET", "/").is_some())
                .collect::<Vec<_>>()
        };
        assert_eq!(pattern(1), pattern(1));
        assert_ne!(pattern(1), pattern(2));
        let fired = pattern(1).iter().filter(|b| **b).count();
        assert!((16..=48).contains(&fired), "fired {fired} of 64");
    }

    #[test]
    fn serde_shapes() {
        let rule = FaultRule::new(
            "POST /x",
            Fault::Status {
                status: 503,
                retry_after: Some(RetryAfter::HttpDate { secs_from_now: -5 }),
            },
        );
        let json = serde_json::to_value(&rule).expect("serialize");
        assert_eq!(
            json,
            serde_json::json!({
                "route": "POST /x",
                "fault": {"kind": "status", "status": 503, "retryAfter": {"httpDate": {"secsFromNow": -5}}},
                "probability": 1.0
            })
        );
        let parsed: Vec<FaultRule> = serde_json::from_str(
            r#"[{"route":"*","fault":{"kind":"connectionReset"}},
                {"route":"*","fault":{"kind":"stallBody","ms":5},"times":1},
                {"route":"*","fault":{"kind":"statusAfterProcessing","status":500}},
                {"route":"*","fault":{"kind":"status","status":429,"retryAfter":{"seconds":3}}}]"#,
        )
        .expect("parse");
        assert_eq!(parsed[0].fault, Fault::ConnectionReset);
        assert_eq!(parsed[1].times, Some(1));
        assert_eq!(
            parsed[2].fault,
            Fault::StatusAfterProcessing { status: 500 }
        );
        assert_eq!(
            parsed[3].fault,
            Fault::Status {
                status: 429,
                retry_after: Some(RetryAfter::Seconds(3))
            }
        );
    }

    #[test]
    fn retry_after_values() {
        assert_eq!(RetryAfter::Seconds(2).header_value(), "2");
        let past = RetryAfter::HttpDate { secs_from_now: -30 }.header_value();
        let parsed = httpdate::parse_http_date(&past).expect("imf-fixdate");
        assert!(parsed < std::time::SystemTime::now());
        assert!(past.ends_with("GMT"));
    }

    #[test]
    fn a_mix_hits_each_fault_at_its_overall_rate() {
        let mix = fault_mix(
            "*",
            &[
                (0.2, Fault::ConnectionReset),
                (0.1, Fault::TruncatedBody),
                (0.05, Fault::StallBody { ms: 1 }),
            ],
        );
        let p: Vec<f64> = mix.iter().map(|r| r.probability).collect();
        assert!(
            (p[0] - 0.2).abs() < 1e-12 && (p[1] - 0.125).abs() < 1e-12,
            "{p:?}"
        );
        assert!((p[2] - 0.05 / 0.7).abs() < 1e-12, "{p:?}");
        let engine = FaultEngine::new(11, mix);
        let mut counts = [0u32; 4];
        for _ in 0..20_000 {
            let i = match engine.pick("GET", "/x") {
                Some(Fault::ConnectionReset) => 0,
                Some(Fault::TruncatedBody) => 1,
                Some(Fault::StallBody { .. }) => 2,
                _ => 3,
            };
            counts[i] += 1;
        }
        let rate = |n: u32| f64::from(n) / 20_000.0;
        assert!((rate(counts[0]) - 0.2).abs() < 0.015, "{counts:?}");
        assert!((rate(counts[1]) - 0.1).abs() < 0.015, "{counts:?}");
        assert!((rate(counts[2]) - 0.05).abs() < 0.015, "{counts:?}");
    }
}
