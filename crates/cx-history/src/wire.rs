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
use std::collections::VecDeque;
use std::sync::{Arc, Mutex, PoisonError};

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

/// Page body buffers, reused from page to page (issue 13).
///
/// Each page's body is read into a buffer taken here
/// ([`PageBuffers::take`]) and lent back once read ([`PageBuffers::lend`]);
/// a lent body whose interactions have all been dropped is the next
/// page's buffer. A retrieval so allocates about `max_in_flight + 1` page
/// buffers, whatever the number of pages, instead of a fresh ~2 MB one a
/// page: freed big buffers made glibc's malloc raise its mmap threshold
/// and keep them in per-thread heaps, and the peak RSS crept up with the
/// number of pages (1.5× from 10k to 200k interactions).
#[derive(Clone)]
pub(crate) struct PageBuffers {
    lent: Arc<Mutex<VecDeque<Bytes>>>,
    /// Most bodies remembered; older ones are forgotten (freed when their
    /// interactions are).
    cap: usize,
}

impl PageBuffers {
    /// Remembering at most `cap` (at least 1) lent bodies.
    pub(crate) fn new(cap: usize) -> Self {
        Self {
            lent: Arc::default(),
            cap: cap.max(1),
        }
    }

    fn lent(&self) -> std::sync::MutexGuard<'_, VecDeque<Bytes>> {
        self.lent.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// A lent body no longer referenced elsewhere, as an empty buffer with
    /// its capacity; else a new empty one.
    pub(crate) fn take(&self) -> Vec<u8> {
        let mut lent = self.lent();
        let free = lent.iter().position(Bytes::is_unique);
        free.and_then(|i| lent.remove(i))
            .and_then(|body| body.try_into_mut().ok())
            .map(|body| {
                let mut buf = Vec::from(body);
                buf.clear();
                buf
            })
            .unwrap_or_default()
    }

    /// Remember `body` for reuse once its slices are dropped.
    pub(crate) fn lend(&self, body: Bytes) {
        let mut lent = self.lent();
        if lent.len() >= self.cap {
            lent.pop_front();
        }
        lent.push_back(body);
    }
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

/// The deepest nesting of a step's variables (the object itself is 1)
/// that an owned [`crate::Interaction`] reads: serde_json's recursion
/// limit (128) less the interaction, its `steps` and the step that hold
/// them.
const MAX_VARIABLES_DEPTH: usize = 124;

/// A JSON object, kept raw; anything else is refused as the owned
/// `Map` refuses it, nesting deeper than it reads included (a raw value is
/// read without serde_json's recursion limit, and the later parse of one
/// nested deeper would fail when its variables are needed).
fn raw_object<'de, D: Deserializer<'de>>(d: D) -> Result<Option<&'de RawValue>, D::Error> {
    let raw = <&RawValue>::deserialize(d)?;
    if !raw.get().starts_with('{') {
        return Err(D::Error::custom(format!(
            "invalid type: {}, expected a map",
            raw.get().chars().take(16).collect::<String>()
        )));
    }
    // Each level takes two bytes: shorter text cannot be too deep.
    if raw.get().len() > 2 * MAX_VARIABLES_DEPTH && depth(raw.get()) > MAX_VARIABLES_DEPTH {
        return Err(D::Error::custom("recursion limit exceeded"));
    }
    Ok(Some(raw))
}

/// The deepest nesting of arrays and objects in the JSON text `json`.
fn depth(json: &str) -> usize {
    let (mut depth, mut deepest) = (0usize, 0usize);
    let (mut in_string, mut escaped) = (false, false);
    for b in json.bytes() {
        if in_string {
            match b {
                _ if escaped => escaped = false,
                b'\\' => escaped = true,
                b'"' => in_string = false,
                _ => {}
            }
            continue;
        }
        match b {
            b'"' => in_string = true,
            b'{' | b'[' => {
                depth += 1;
                deepest = deepest.max(depth);
            }
            b'}' | b']' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    deepest
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_body_is_reused_only_once_its_interactions_are_dropped() {
        let buffers = PageBuffers::new(2);
        let mut buf = buffers.take();
        assert_eq!(buf.capacity(), 0, "nothing lent yet");
        buf.extend_from_slice(br#"{"data":[{"a":1},{"b":2}],"totalCount":2}"#);
        let at = buf.as_ptr();
        let body = Bytes::from(buf);
        let (items, total) = split_page(&body).unwrap();
        assert_eq!((items.len(), total), (2, Some(2)));
        assert_eq!(&items[1][..], br#"{"b":2}"#);
        buffers.lend(body);
        // An interaction still held: the body is not handed out again.
        let other = buffers.take();
        assert_ne!(other.as_ptr(), at);
        assert_eq!(&items[0][..], br#"{"a":1}"#);
        drop(items);
        let again = buffers.take();
        assert_eq!((again.as_ptr(), again.len()), (at, 0));
        assert!(again.capacity() >= 40);
        assert_eq!(buffers.take().capacity(), 0, "handed out once");
    }

    #[test]
    fn variables_are_as_deep_in_place_as_owned_and_no_deeper() {
        // Depth counted with the variables object itself; strings with
        // brackets and escaped quotes do not count.
        for depth in 1..=140 {
            let inner = format!("{}1{}", "[".repeat(depth - 1), "]".repeat(depth - 1));
            let vars = format!(r#"{{"s":"[[\"{{","v":{inner}}}"#);
            let doc = format!(r#"{{"interactionId":"i","steps":[{{"variablesBefore":{vars}}}]}}"#);
            let owned = serde_json::from_str::<crate::Interaction>(&doc);
            let borrowed = serde_json::from_str::<InteractionRef<'_>>(&doc);
            assert_eq!(owned.is_ok(), borrowed.is_ok(), "depth {depth}: {owned:?}");
            if let Ok(i) = borrowed {
                let changes = crate::analyze::StepFields::variable_changes(&i.steps[0]);
                assert!(changes.removed.contains_key("v"), "depth {depth}");
            }
        }
    }

    #[test]
    fn at_most_cap_bodies_are_remembered() {
        let buffers = PageBuffers::new(1);
        buffers.lend(Bytes::from(vec![1u8; 8]));
        let kept = Bytes::from(vec![2u8; 16]);
        buffers.lend(kept.clone());
        drop(kept);
        let buf = buffers.take();
        assert_eq!(buf.capacity(), 16, "the newest body, the older forgotten");
        assert_eq!(buffers.take().capacity(), 0);
    }
}
