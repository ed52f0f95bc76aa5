//! Request targets: the one way a caller's id becomes part of a URL, and the
//! one place that decides which origins may see a credential.
//!
//! Service crates never format a path by hand. A path is an [`ApiPath`]:
//! static literal segments (`&'static str`, so no runtime text can hide in
//! them) and id segments added with [`ApiPath::id`], which refuses
//! `.`/`..`, empty ids, `/`, `\` and control characters (naming the field)
//! and percent-encodes everything else as exactly one segment. A refused id
//! is reported by `send` before any request leaves the process.
//!
//! ```
//! use cx_http::ApiPath;
//! let p = ApiPath::new("/api/v2/agents").id("agent_id", "a b?c").lit("skills");
//! assert_eq!(p.to_string(), "/api/v2/agents/a%20b%3Fc/skills");
//! assert!(ApiPath::new("/api/v2/agents").id("agent_id", "..").error().is_some());
//! ```

use std::borrow::Cow;
use std::fmt;

use url::Url;

use crate::error::{Error, ErrorKind};

/// A path under the client's base URL: literal segments plus encoded ids.
///
/// Built by [`ApiPath::new`] (or from a `&'static str` literal) and passed to
/// [`crate::Client::request`]. An id that breaks a rule is kept as an error
/// and reported by `send` ([`ErrorKind::InvalidInput`]), before any request.
#[derive(Debug, Clone)]
pub struct ApiPath {
    /// Literal segments borrowed (no allocation), ids owned.
    segments: Vec<Cow<'static, str>>,
    error: Option<(String, &'static str)>,
}

impl ApiPath {
    /// A path from a static literal such as `"/api/v2/workflows"`; each
    /// `/`-separated part becomes one literal segment.
    pub fn new(literal: &'static str) -> Self {
        Self {
            // Room for a typical `/api/v2/<resource>/<id>` without growing.
            segments: Vec::with_capacity(6),
            error: None,
        }
        .lit(literal)
    }

    /// Append literal segments (`"skills"`, or `"jobs/sync"` for two).
    #[must_use]
    pub fn lit(mut self, literal: &'static str) -> Self {
        self.segments.extend(
            literal
                .split('/')
                .filter(|s| !s.is_empty())
                .map(Cow::Borrowed),
        );
        self
    }

    /// Append `value` as one id segment, after checking it with [`check_id`];
    /// `field` names it in the error (`"agent_id"`, `"workflow_id"`).
    #[must_use]
    pub fn id(mut self, field: &str, value: &str) -> Self {
        match check_id(value) {
            Ok(()) => self.segments.push(Cow::Owned(value.to_owned())),
            Err(rule) => {
                if self.error.is_none() {
                    self.error = Some((field.to_owned(), rule));
                }
            }
        }
        self
    }

    /// The first refused id as an [`ErrorKind::InvalidInput`] error, if any.
    pub fn error(&self) -> Option<Error> {
        self.error
            .as_ref()
            .map(|(field, rule)| Error::invalid_input(field, rule))
    }

    /// Join these segments onto `base` (which may carry a path prefix), each
    /// percent-encoded as one segment.
    ///
    /// # Errors
    /// [`ErrorKind::InvalidInput`] when an id was refused;
    /// [`ErrorKind::Builder`] when `base` cannot carry a path.
    pub(crate) fn join(&self, base: &Url) -> Result<Url, Error> {
        if let Some(e) = self.error() {
            return Err(e);
        }
        let mut url = base.clone();
        url.path_segments_mut()
            .map_err(|()| Error::new(ErrorKind::Builder, "the base URL cannot carry a path"))?
            .pop_if_empty()
            .extend(self.segments.iter().map(|s| &**s));
        Ok(url)
    }
}

impl From<&'static str> for ApiPath {
    fn from(literal: &'static str) -> Self {
        Self::new(literal)
    }
}

impl fmt::Display for ApiPath {
    /// The encoded path, as it is sent (`/a/b%20c`).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let base = Url::parse("http://x.invalid/").map_err(|_| fmt::Error)?;
        match self.join(&base) {
            Ok(u) => f.write_str(u.path()),
            Err(_) => f.write_str("<invalid path>"),
        }
    }
}

/// Check that `value` can be one path segment: not empty, not `.` or `..`,
/// and free of `/`, `\` and control characters.
///
/// # Errors
/// The rule `value` breaks, as a short phrase for an error message
/// (`"must not be empty"`); callers name the field.
pub fn check_id(value: &str) -> Result<(), &'static str> {
    if value.is_empty() {
        Err("must not be empty")
    } else if value == "." || value == ".." {
        Err("must not be `.` or `..`")
    } else if value.contains(['/', '\\']) {
        Err("must not contain `/` or `\\`")
    } else if value.chars().any(char::is_control) {
        Err("must not contain control characters")
    } else {
        Ok(())
    }
}

/// Whether `value` is a CXone API version segment: `v`, digits, `.0`
/// (`v23.0`; `../shared/CXONE_REST.md` §2).
pub fn is_version_segment(value: &str) -> bool {
    value
        .strip_prefix('v')
        .and_then(|r| r.strip_suffix(".0"))
        .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
}

/// The origin (`scheme://host:port`) of `url`, as error messages name it.
pub(crate) fn origin_of(url: &Url) -> String {
    url.origin().ascii_serialization()
}

/// Whether `a` and `b` have one origin: scheme, host and port (the scheme's
/// default when none is written), compared without building either origin
/// (this runs on every request).
pub(crate) fn same_origin(a: &Url, b: &Url) -> bool {
    a.scheme() == b.scheme()
        && a.host() == b.host()
        && a.port_or_known_default() == b.port_or_known_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_origin_is_scheme_host_and_port() {
        let url = |s: &str| Url::parse(s).unwrap_or_else(|e| panic!("{s}: {e}"));
        let base = url("https://api.example.com/inContactAPI/");
        for (other, same) in [
            ("https://api.example.com/x?y=1", true),
            ("https://API.example.com:443/", true),
            ("http://api.example.com/", false),
            ("https://api.example.com:8443/", false),
            ("https://api.example.com.evil.test/", false),
            ("https://user@evil.test/", false),
        ] {
            let other = url(other);
            assert_eq!(same_origin(&base, &other), same, "{other}");
            assert_eq!(same, origin_of(&base) == origin_of(&other), "{other}");
        }
    }

    #[test]
    fn ids_are_one_encoded_segment() {
        let cases = [
            ("wf_1", "/api/v2/workflows/wf_1"),
            ("a b", "/api/v2/workflows/a%20b"),
            ("x?y#z", "/api/v2/workflows/x%3Fy%23z"),
            ("100%", "/api/v2/workflows/100%25"),
            ("é", "/api/v2/workflows/%C3%A9"),
            ("...", "/api/v2/workflows/..."),
        ];
        for (id, want) in cases {
            let p = ApiPath::new("/api/v2/workflows").id("workflow_id", id);
            assert_eq!(p.to_string(), want, "{id:?}");
        }
    }

    #[test]
    fn hostile_ids_are_refused_naming_the_field() {
        for id in [
            "",
            ".",
            "..",
            "a/b",
            "..\\..\\_sim",
            "a\u{0}b",
            "a\nb",
            "\u{1b}[31m",
        ] {
            let err = ApiPath::new("/api/v2/agents")
                .id("agent_id", id)
                .error()
                .map(|e| (e.kind(), e.to_string()));
            let (kind, msg) = err.unwrap_or((ErrorKind::Builder, String::new()));
            assert_eq!(kind, ErrorKind::InvalidInput, "{id:?}");
            assert!(msg.contains("agent_id"), "{msg}");
        }
    }

    #[test]
    fn joins_under_a_base_path_prefix() {
        let got = Url::parse("http://h:1/prefix")
            .ok()
            .and_then(|base| ApiPath::new("/api/v2").id("id", "x").join(&base).ok())
            .map(|u| u.to_string());
        assert_eq!(got.as_deref(), Some("http://h:1/prefix/api/v2/x"));
    }
}
