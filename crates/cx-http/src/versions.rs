//! `api_versions!`: the `vNN.0` version segment of each resource family
//! a real-API client calls, declared once per client.
//!
//! CXone's REST paths carry a version (`/inContactAPI/services/v23.0/agents`);
//! published clients use different versions per resource, so every
//! real-API client keeps a settings struct with one version per family, a
//! default for each, a `with_<family>` setter and a check that each value
//! is a `vNN.0` segment ([`is_version_segment`](crate::is_version_segment)).
//! [`api_versions!`](crate::api_versions) writes all of it from one line
//! per family:
//!
//! ```
//! cx_http::api_versions! {
//!     /// Version per resource family.
//!     pub struct Versions {
//!         /// `/agents` (default `v23.0`).
//!         with_agents(agents) = "v23.0";
//!         /// `/skills` (default `v27.0`).
//!         with_skills(skills) = "v27.0";
//!     }
//! }
//!
//! let v = Versions::default().with_skills("27");
//! assert_eq!(v.agents, "v23.0");
//! let bad = v.violations("format");
//! assert_eq!(bad.len(), 1);
//! assert_eq!(bad[0].to_string(), r#"`versions.skills` (format): must look like v23.0 (v, digits, .0), got "27""#);
//! ```

/// Declare a version settings struct: `pub field: String` per family with
/// the doc comment written above it, `Default` (the given versions),
/// `Debug`, `Clone`, `PartialEq`, `Eq`, `#[non_exhaustive]`, the
/// `#[must_use]` setters named in each line, and
/// `violations(&self, rule) -> Vec<Violation<R>>`: one violation of `rule`
/// per field (as `versions.<field>`) whose value is not a `vNN.0` segment.
/// See the module [`versions`](crate::versions).
#[macro_export]
macro_rules! api_versions {
    (
        $(#[$meta:meta])*
        pub struct $name:ident {
            $( $(#[$field_meta:meta])* $setter:ident ( $field:ident ) = $default:literal; )*
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, Eq)]
        #[non_exhaustive]
        pub struct $name {
            $( $(#[$field_meta])* pub $field: ::std::string::String, )*
        }

        impl ::std::default::Default for $name {
            fn default() -> Self {
                Self {
                    $( $field: ::std::string::String::from($default), )*
                }
            }
        }

        impl $name {
            $(
                #[doc = ::std::concat!("Set [`", ::std::stringify!($name), "::", ::std::stringify!($field), "`].")]
                #[must_use]
                pub fn $setter(mut self, $field: impl ::std::convert::Into<::std::string::String>) -> Self {
                    self.$field = $field.into();
                    self
                }
            )*

            /// One [`Violation`]($crate::Violation) of `rule` per field
            /// (named `versions.<field>`) whose value is not a `vNN.0`
            /// segment, in declaration order, with the message
            /// `must look like v23.0 (v, digits, .0), got "<value>"`; empty
            /// when every version is well formed.
            pub fn violations<R: ::std::clone::Clone>(&self, rule: R) -> ::std::vec::Vec<$crate::Violation<R>> {
                [$( (::std::concat!("versions.", ::std::stringify!($field)), self.$field.as_str()), )*]
                    .into_iter()
                    .filter(|(_, value)| !$crate::is_version_segment(value))
                    .map(|(field, value)| {
                        $crate::Violation::new(
                            field,
                            rule.clone(),
                            ::std::format!("must look like v23.0 (v, digits, .0), got {value:?}"),
                        )
                    })
                    .collect()
            }
        }
    };
}
