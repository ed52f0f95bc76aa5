//! The one way a public settings struct gets its setters.
//!
//! Every configuration or options struct of the workspace is
//! `#[non_exhaustive]` (a new field is not a breaking change), keeps its
//! fields public for reading and `let mut` edits, and is built from
//! `Default` (or `new(required, ...)`) plus chainable by-value `with_<field>`
//! setters. [`with_setters!`](crate::with_setters) writes those setters, so
//! that each crate only lists them:
//!
//! ```
//! use std::time::Duration;
//!
//! #[derive(Debug, Default)]
//! #[non_exhaustive]
//! pub struct Settings {
//!     /// Base URL.
//!     pub base_url: String,
//!     /// Timeout of one attempt.
//!     pub timeout: Duration,
//!     /// Optional limit; `None` for none.
//!     pub limit: Option<u32>,
//! }
//!
//! cx_http::with_setters! { Settings {
//!     /// Set [`Settings::base_url`].
//!     with_base_url(base_url: impl Into<String>) = base_url.into();
//!     /// Set [`Settings::timeout`].
//!     with_timeout(timeout: Duration);
//!     /// Set [`Settings::limit`].
//!     with_limit(limit: u32) = Some(limit);
//! }}
//!
//! let s = Settings::default()
//!     .with_base_url("https://example.invalid")
//!     .with_timeout(Duration::from_secs(5))
//!     .with_limit(3);
//! assert_eq!((s.base_url.as_str(), s.timeout, s.limit), ("https://example.invalid", Duration::from_secs(5), Some(3)));
//! ```
//!
//! Outside its crate a settings struct cannot be written as a literal, so
//! adding a field later breaks no caller:
//!
//! ```compile_fail,E0639
//! let config = cx_http::Config { max_in_flight: Some(4), ..cx_http::Config::default() };
//! ```
//!
//! Fields stay public, so a value that is already an `Option` (or comes
//! from a flag) can be assigned directly:
//!
//! ```
//! let mut poller = cx_http::Poller::default();
//! poller.deadline = None;
//! let config = cx_http::Config::default().with_max_in_flight(4);
//! assert_eq!((poller.deadline, config.max_in_flight), (None, Some(4)));
//! ```

/// Write chainable `with_*` setters for a settings struct: one line per
/// setter, `with_x(x: T);` (assigns the argument to field `x`) or
/// `with_x(x: T) = expr;` (assigns `expr`, e.g. `x.into()` or `Some(x)`).
/// Each setter is `#[must_use]`, takes and returns `self` by value and
/// carries the doc comment written above it. See the module
/// [`setters`](crate::setters) for the pattern and an example.
///
/// `with_setters! { builder T<'_> { ... } }` writes the same setters for a
/// request builder whose type is itself `#[must_use]` (the setters are then
/// not marked again), with whatever names the builder uses:
///
/// ```
/// #[must_use = "does nothing until sent"]
/// pub struct Send<'a> {
///     target: &'a str,
///     key: Option<String>,
/// }
///
/// cx_http::with_setters! { builder Send<'_> {
///     /// The idempotency key.
///     key(key: impl Into<String>) = Some(key.into());
/// }}
///
/// let s = Send { target: "x", key: None }.key("k");
/// assert_eq!((s.target, s.key.as_deref()), ("x", Some("k")));
/// ```
#[macro_export]
macro_rules! with_setters {
    (builder $ty:ty { $( $(#[$meta:meta])* $setter:ident ( $field:ident : $arg:ty ) $(= $value:expr)? ; )* }) => {
        impl $ty {
            $(
                $(#[$meta])*
                pub fn $setter(mut self, $field: $arg) -> Self {
                    self.$field = $crate::__setter_value!($field $(, $value)?);
                    self
                }
            )*
        }
    };
    ($ty:ty { $( $(#[$meta:meta])* $setter:ident ( $field:ident : $arg:ty ) $(= $value:expr)? ; )* }) => {
        $crate::with_setters! { builder $ty {
            $( $(#[$meta])* #[must_use] $setter($field: $arg) $(= $value)?; )*
        }}
    };
}

/// The value a [`with_setters!`] setter assigns: the argument, or the
/// expression given after `=`.
#[doc(hidden)]
#[macro_export]
macro_rules! __setter_value {
    ($field:ident) => {
        $field
    };
    ($field:ident, $value:expr) => {
        $value
    };
}
