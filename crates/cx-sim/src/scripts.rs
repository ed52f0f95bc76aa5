//! The tenant's Studio scripts (`../shared/CXONE_REST.md` §5): a small
//! fixed catalogue every tenant has. Starting one spawns a contact in the
//! tenant's [`crate::contacts::ContactStore`] that stays active for the
//! script's run time on the virtual clock. Served by `routes::scripts`.

/// A script of the catalogue.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Script {
    /// `scriptId`.
    pub id: u64,
    /// `scriptName`.
    pub name: &'static str,
    /// `scriptPath` (Studio folder and name).
    pub path: &'static str,
    /// The skill it runs under when the start names none.
    pub skill_id: u64,
    /// How long its contact stays active, ms.
    pub run_ms: i64,
}

/// Every tenant's scripts. Skills are those of the agent API
/// (4100001..=4100005).
pub(crate) const SCRIPTS: &[Script] = &[
    Script {
        id: 5_100_001,
        name: "Outbound Survey",
        path: "Custom\\Outbound Survey",
        skill_id: 4_100_001,
        run_ms: 90_000,
    },
    Script {
        id: 5_100_002,
        name: "Callback Dispatcher",
        path: "Custom\\Callback Dispatcher",
        skill_id: 4_100_002,
        run_ms: 300_000,
    },
    Script {
        id: 5_100_003,
        name: "Nightly Sync",
        path: "System\\Nightly Sync",
        skill_id: 4_100_003,
        run_ms: 60_000,
    },
];

/// A run time every script's contact takes instead of its own
/// ([`crate::Sim::set_script_run_time`]); `None` = each script's own.
#[derive(Debug, Default)]
pub(crate) struct RunTimeOverride(std::sync::Mutex<Option<i64>>);

impl RunTimeOverride {
    /// Sets (or clears) the override, ms.
    pub(crate) fn set(&self, ms: Option<i64>) {
        *crate::sync::lock(&self.0) = ms;
    }

    /// How long `script`'s contact stays active, ms.
    pub(crate) fn run_ms(&self, script: &Script) -> i64 {
        crate::sync::lock(&self.0).unwrap_or(script.run_ms)
    }
}

/// The script with id `id`.
pub(crate) fn by_id(id: u64) -> Option<&'static Script> {
    SCRIPTS.iter().find(|s| s.id == id)
}

/// The script at `path` (case-insensitive, `/` or `\` separators).
pub(crate) fn by_path(path: &str) -> Option<&'static Script> {
    let norm = |p: &str| p.replace('/', "\\").to_ascii_lowercase();
    let wanted = norm(path);
    SCRIPTS.iter().find(|s| norm(s.path) == wanted)
}
