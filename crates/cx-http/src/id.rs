//! `id_newtype!`: a resource id that checks itself on construction, used for
//! every resource id of the service crates (workflow, data action, agent).

/// Defines a `String` newtype that exists only once `check` accepted it,
/// with `new`, `as_str`, `into_string`, `Display`, `AsRef<str>`, `FromStr`,
/// `TryFrom<String>`, `TryFrom<&str>`, `PartialEq<str>` and transparent
/// string (de)serialisation (deserialising checks too).
///
/// `check` is a `fn(&str) -> Result<(), E>` naming the field and the rule;
/// `E` is the crate's error type (it implements `Display`).
///
/// ```
/// fn check(id: &str) -> Result<(), String> {
///     cx_http::check_id(id).map_err(|rule| format!("thing_id {rule}"))
/// }
///
/// cx_http::id_newtype! {
///     /// A thing's id.
///     pub struct ThingId(check) -> String;
/// }
///
/// let id: ThingId = "t-1".parse().unwrap();
/// assert_eq!(id, "t-1");
/// assert!(ThingId::new("a/b").is_err());
/// ```
#[macro_export]
macro_rules! id_newtype {
    (
        $(#[$meta:meta])*
        pub struct $name:ident($check:path) -> $err:ty;
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name(String);

        impl $name {
            /// Check `id` (the rules are in the type's docs).
            ///
            /// # Errors
            /// The crate's validation error, naming the field and the rule broken.
            pub fn new(id: impl Into<String>) -> Result<Self, $err> {
                let id = id.into();
                $check(&id)?;
                Ok(Self(id))
            }

            /// The id as text.
            pub fn as_str(&self) -> &str {
                &self.0
            }

            /// The id as an owned string.
            pub fn into_string(self) -> String {
                self.0
            }
        }

        impl ::std::fmt::Display for $name {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }

        impl ::std::str::FromStr for $name {
            type Err = $err;
            fn from_str(s: &str) -> Result<Self, $err> {
                Self::new(s)
            }
        }

        impl TryFrom<String> for $name {
            type Error = $err;
            fn try_from(s: String) -> Result<Self, $err> {
                Self::new(s)
            }
        }

        impl TryFrom<&str> for $name {
            type Error = $err;
            fn try_from(s: &str) -> Result<Self, $err> {
                Self::new(s)
            }
        }

        impl PartialEq<str> for $name {
            fn eq(&self, other: &str) -> bool {
                self.0 == other
            }
        }

        impl PartialEq<&str> for $name {
            fn eq(&self, other: &&str) -> bool {
                self.0 == *other
            }
        }

        impl $crate::__serde::Serialize for $name {
            fn serialize<S: $crate::__serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(&self.0)
            }
        }

        impl<'de> $crate::__serde::Deserialize<'de> for $name {
            fn deserialize<D: $crate::__serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let s = <String as $crate::__serde::Deserialize<'de>>::deserialize(d)?;
                Self::new(s).map_err(<D::Error as $crate::__serde::de::Error>::custom)
            }
        }
    };
}

/// An id kept as text whether the server sent a JSON number or a string
/// (CXone sends `agentId`, `contactId`, `skillId` as integers in newer
/// versions and as strings in v23, `../shared/CXONE_REST.md` §2). Serializes
/// as a string.
///
/// ```
/// let ids: Vec<cx_http::TextId> = serde_json::from_str(r#"[12, "34"]"#).unwrap();
/// assert_eq!(ids[0].0, "12");
/// assert_eq!(ids[1].to_string(), "34");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
#[serde(transparent)]
pub struct TextId(pub String);

impl std::fmt::Display for TextId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl<'de> serde::Deserialize<'de> for TextId {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl serde::de::Visitor<'_> for Visitor {
            type Value = TextId;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("an id (a number or a string)")
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<TextId, E> {
                Ok(TextId(v.to_owned()))
            }
            fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<TextId, E> {
                Ok(TextId(v.to_string()))
            }
            fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<TextId, E> {
                Ok(TextId(v.to_string()))
            }
            fn visit_f64<E: serde::de::Error>(self, v: f64) -> Result<TextId, E> {
                // As JSON writes it (`5.0`, not `5`).
                Ok(TextId(
                    serde_json::Number::from_f64(v)
                        .map_or_else(|| v.to_string(), |n| n.to_string()),
                ))
            }
        }
        d.deserialize_any(Visitor)
    }
}
