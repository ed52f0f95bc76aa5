//! What workflow executions and data-action jobs took, kept between `cx`
//! runs (issue 13), so that `cx workflow run` and `cx dataaction run` check
//! once near the end instead of on the generic schedule:
//! `<cache dir>/cx/durations.json` (`$XDG_CACHE_HOME` or `~/.cache` on
//! Linux), one table per kind and tenant:
//!
//! ```json
//! {"version": 1, "tenants": {"workflow https://api.example.com": [["wf_1", 300]]}}
//! ```
//!
//! Durations in ms, oldest first. A tenant is named by its API base URL;
//! the embedded simulator, whose port changes every run, by
//! `embedded-simulator`. It is a cache: a missing, unreadable or foreign
//! file reads as empty, and a failure to write it is logged (`-v`), never
//! an error of the command. Concurrent `cx` processes each write the whole
//! file (through a rename, so it is never half-written); the last one wins.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use cx_http::DurationEstimates;
use serde_json::{Map, Value, json};

use crate::session::{Session, TenantKind};

/// At most this many tables (kind and tenant) are kept; past it, saving
/// drops tables in key order (a cache: a dropped table is learned again).
const MAX_TENANTS: usize = 32;

/// What the durations are of.
#[derive(Debug, Clone, Copy)]
pub enum Kind {
    /// Workflow executions, by workflow id.
    Workflow,
    /// Data-action jobs, by action id.
    DataAction,
}

fn path() -> Option<PathBuf> {
    dirs::cache_dir().map(|d| d.join("cx").join("durations.json"))
}

fn tenant_key(session: &Session, kind: Kind) -> String {
    let kind = match kind {
        Kind::Workflow => "workflow",
        Kind::DataAction => "dataaction",
    };
    match session.kind {
        TenantKind::EmbeddedSimulator => {
            format!("{kind} {}", TenantKind::EmbeddedSimulator.as_str())
        }
        _ => format!("{kind} {}", session.api_url),
    }
}

fn read_file() -> Map<String, Value> {
    let text = path().and_then(|p| std::fs::read_to_string(p).ok());
    match text.and_then(|t| serde_json::from_str::<Value>(&t).ok()) {
        Some(Value::Object(mut doc)) if doc.get("version") == Some(&json!(1)) => {
            match doc.remove("tenants") {
                Some(Value::Object(tenants)) => tenants,
                _ => Map::new(),
            }
        }
        _ => Map::new(),
    }
}

/// The durations of `kind` learned for this session's tenant (empty when
/// none).
pub fn load(session: &Session, kind: Kind) -> Arc<DurationEstimates> {
    let tenants = read_file();
    let entries = tenants
        .get(&tenant_key(session, kind))
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|pair| {
            let key = pair.get(0)?.as_str()?;
            let ms = pair.get(1)?.as_u64()?;
            Some((key.to_owned(), Duration::from_millis(ms)))
        });
    Arc::new(DurationEstimates::from_entries(entries))
}

/// Write `durations` as this session's tenant's table of `kind` (best
/// effort).
pub fn save(session: &Session, kind: Kind, durations: &DurationEstimates) {
    if let Err(e) = try_save(tenant_key(session, kind), durations) {
        tracing::debug!(error = %e, "could not keep the learned durations");
    }
}

fn try_save(key: String, durations: &DurationEstimates) -> std::io::Result<()> {
    let Some(path) = path() else {
        return Ok(());
    };
    let mut tenants = read_file();
    tenants.remove(&key);
    while tenants.len() >= MAX_TENANTS {
        let Some(first) = tenants.keys().next().cloned() else {
            break;
        };
        tenants.remove(&first);
    }
    let table: Vec<Value> = durations
        .entries()
        .into_iter()
        .map(|(k, d)| json!([k, u64::try_from(d.as_millis()).unwrap_or(u64::MAX)]))
        .collect();
    tenants.insert(key, Value::Array(table));
    let doc = json!({"version": 1, "tenants": tenants});
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let scratch = path.with_extension(format!("json.{}", std::process::id()));
    std::fs::write(&scratch, doc.to_string())?;
    std::fs::rename(&scratch, &path)
}
