//! Borrowed reading of history query pages (issue 13): a page's body is
//! split into one byte slice per interaction (sharing the body, no copy),
//! and [`Client::report`](crate::Client::report) analyses each interaction
//! straight from its bytes — node ids, types and times borrowed, the
//! variables left as raw JSON until a kept bottleneck report needs them —
//! instead of building an owned [`crate::Interaction`] per record.
//!
//! The borrowed form accepts and refuses what the owned one does: the
//! same fields and defaults, variables that must be JSON objects.

use std::borrow::Cow;

use bytes::Bytes;
use serde::de::Error as _;
use serde::{Deserialize, Deserializer};
use serde_json::value::RawValue;
use serde_json::{Map, Value};

use crate::analyze::{VariableChanges, step_fields};

/// A page body, its interactions as raw JSON: `{data, totalCount}`.
#[derive(Deserialize)]
pub(crate) struct RawPage<'a> {
    #[serde(default, borrow)]
    data: Vec<&'a RawValue>,
    #[serde(rename = "totalCount")]
    total_count: Option<u64>,
}

/// `body` split into its interactions (each a slice of `body`) and its
/// `totalCount`.
///
/// # Errors
/// The body is not JSON of the page's shape.
pub(crate) fn split_page(body: &Bytes) -> Result<(Vec<Bytes>, Option<u64>), serde_json::Error> {
    let page: RawPage<'_> = serde_json::from_slice(body)?;
    let items = page
        .data
        .iter()
        .map(|raw| body.slice_ref(raw.get().as_bytes()))
        .collect();
    Ok((items, page.total_count))
}

/// One interaction read in place: `{interactionId, steps}`.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct InteractionRef<'a> {
    #[serde(borrow)]
    pub(crate) interaction_id: Text<'a>,
    #[serde(default, borrow)]
    pub(crate) steps: Vec<StepRef<'a>>,
}

/// One step read in place; fields and defaults as [`crate::Step`].
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct StepRef<'a> {
    #[serde(default, borrow)]
    node_id: Text<'a>,
    #[serde(default = "unknown", borrow)]
    node_type: Text<'a>,
    #[serde(default, borrow)]
    start_time: Option<Text<'a>>,
    #[serde(default, borrow)]
    end_time: Option<Text<'a>>,
    #[serde(default, borrow, deserialize_with = "raw_object")]
    variables_before: Option<&'a RawValue>,
    #[serde(default, borrow, deserialize_with = "raw_object")]
    variables_after: Option<&'a RawValue>,
    #[serde(default)]
    error_state: bool,
}

fn unknown() -> Text<'static> {
    Text(Cow::Borrowed("unknown"))
}

/// A JSON string, borrowed from the page unless it has escapes.
#[derive(Deserialize, Default)]
#[serde(transparent)]
pub(crate) struct Text<'a>(#[serde(borrow)] Cow<'a, str>);

impl std::ops::Deref for Text<'_> {
    type Target = str;
    fn deref(&self) -> &str {
        &self.0
    }
}

/// A JSON object, kept raw; anything else is refused as the owned
/// `Map` refuses it.
fn raw_object<'de, D: Deserializer<'de>>(d: D) -> Result<Option<&'de RawValue>, D::Error> {
    let raw = <&RawValue>::deserialize(d)?;
    if raw.get().starts_with('{') {
        Ok(Some(raw))
    } else {
        Err(D::Error::custom(format!(
            "invalid type: {}, expected a map",
            raw.get().chars().take(16).collect::<String>()
        )))
    }
}

/// The object `raw` holds (empty when absent).
fn object(raw: Option<&RawValue>) -> Result<Map<String, Value>, serde_json::Error> {
    raw.map_or_else(|| Ok(Map::new()), |r| serde_json::from_str(r.get()))
}

step_fields!(StepRef<'_>, |s| {
    // Checked to be objects when read, so this parse does not fail.
    let before = object(s.variables_before).unwrap_or_default();
    let after = object(s.variables_after).unwrap_or_default();
    VariableChanges::between(&before, &after)
});
