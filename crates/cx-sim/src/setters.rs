//! The one way a public settings type of the simulator gets its setters.
//!
//! cx-sim depends on no client crate (ARCHITECTURE.md), so it cannot use
//! `cx_http::with_setters!`; [`with_setters!`] writes the same shape here:
//! chainable by-value setters, one line each, so a settings type only lists
//! them.

/// Write chainable setters for a settings type: one line per setter,
/// `name(field: T);` (assigns the argument to `field`) or
/// `name(field: T) = expr;` (assigns `expr`, e.g. `field.into()` or
/// `Some(field)`). `Type => inner { ... }` assigns `self.inner.field`
/// instead (settings the type keeps in a struct of their own). Each setter
/// is `#[must_use]`, takes and returns `self` by value and carries the doc
/// comment written above it.
macro_rules! with_setters {
    (@value $field:ident) => {
        $field
    };
    (@value $field:ident, $value:expr) => {
        $value
    };
    ($ty:ty { $( $(#[$meta:meta])* $setter:ident ( $field:ident : $arg:ty ) $(= $value:expr)? ; )* }) => {
        impl $ty {
            $(
                $(#[$meta])*
                #[must_use]
                pub fn $setter(mut self, $field: $arg) -> Self {
                    self.$field = crate::setters::with_setters!(@value $field $(, $value)?);
                    self
                }
            )*
        }
    };
    ($ty:ty => $inner:ident { $( $(#[$meta:meta])* $setter:ident ( $field:ident : $arg:ty ) $(= $value:expr)? ; )* }) => {
        impl $ty {
            $(
                $(#[$meta])*
                #[must_use]
                pub fn $setter(mut self, $field: $arg) -> Self {
                    self.$inner.$field = crate::setters::with_setters!(@value $field $(, $value)?);
                    self
                }
            )*
        }
    };
}

pub(crate) use with_setters;
