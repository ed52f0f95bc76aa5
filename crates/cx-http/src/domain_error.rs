//! `domain_error!`: the part of a service crate's `src/error.rs` that every
//! service crate writes the same way.

/// Declare a service crate's error from its detail type: the
/// [`Domain`](crate::Domain) impl (the crate's own kinds, its rule type, the
/// type name), the `Error` newtype of [`service_error!`](crate::service_error),
/// a compile-time check that the error is `Send + Sync + 'static +
/// std::error::Error`, and the crate-private constructors every crate uses:
/// `Error::new(kind, message)`, `error.with_http(err)`,
/// `error.with_audit_failure(err)` and, when a
/// `validation` context is given, `Error::validation(violations)`.
///
/// ```
/// #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
/// pub enum ThingKind { Broken }
///
/// impl cx_http::DomainKind for ThingKind {
///     fn as_str(self) -> &'static str { "broken" }
/// }
///
/// cx_http::open_enum! {
///     /// Rules.
///     pub enum Rule {
///         /// `required`.
///         Required => "required",
///     }
/// }
///
/// impl cx_http::ViolationRule for Rule {}
///
/// #[derive(Debug, Default)]
/// pub struct ErrorDetail;
///
/// cx_http::domain_error! {
///     /// The crate's error.
///     pub struct Error(ErrorDetail) {
///         kind: ThingKind,
///         rule: Rule,
///         name: "things::Error",
///         validation: "invalid thing",
///     }
/// }
///
/// let e = Error::validation(vec![cx_http::Violation::new("id", Rule::Required, "empty")]);
/// assert!(e.is_validation());
/// assert!(Error::new(cx_http::ServiceKind::Domain(ThingKind::Broken), "x").to_string().contains('x'));
/// ```
#[macro_export]
macro_rules! domain_error {
    (
        $(#[$meta:meta])*
        pub struct $name:ident($detail:ty) {
            kind: $kind:ty,
            rule: $rule:ty,
            name: $text:literal
            $(, validation: $context:literal)? $(,)?
        }
    ) => {
        impl $crate::Domain for $detail {
            type Kind = $kind;
            type Rule = $rule;
            const NAME: &'static str = $text;
        }

        $crate::service_error! {
            $(#[$meta])*
            pub struct $name($detail);
        }

        // Every service error crosses threads and lives in `Box<dyn Error>`:
        // checked when the crate compiles.
        const _: fn() = || {
            fn assert_bounds<T: Send + Sync + 'static + ::std::error::Error>() {}
            assert_bounds::<$name>();
        };

        impl $name {
            /// A new error of `kind` with a one-line `message`.
            pub(crate) fn new(
                kind: $crate::ServiceKind<$kind>,
                message: impl Into<String>,
            ) -> Self {
                $crate::ServiceError::<$detail>::new(kind, message).into()
            }

            /// Attach the runtime error behind this one
            /// ([`ServiceError::http`]($crate::ServiceError::http)).
            pub(crate) fn with_http(self, err: $crate::Error) -> Self {
                self.0.with_http(err).into()
            }

            /// Attach an audit-sink failure that happened while reporting
            /// this error (or, for an `Audit` error, the failure itself).
            pub(crate) fn with_audit_failure(self, err: impl Into<$crate::BoxError>) -> Self {
                self.0.with_audit_failure(err).into()
            }

            $(
                /// A `Validation` error listing `violations`; the message
                /// names every field.
                pub(crate) fn validation(
                    violations: impl Into<$crate::Violations<$rule>>,
                ) -> Self {
                    $crate::ServiceError::<$detail>::validation($context, violations).into()
                }
            )?
        }
    };
}
