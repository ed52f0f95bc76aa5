//! The one table of which OAuth scopes each API route accepts.
//!
//! The seeds spell scopes differently (`workflow.execute` in seed 000,
//! `workflow:write` in seed 001, ...), so each [`Permission`] lists every
//! spelling the seeds use for it and a token needs *any one* of them. Adding
//! a route family means adding a variant here and calling
//! `Api::require` (in `routes::common`) from its handler.

/// A permission a route requires.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Permission {
    /// `GET /api/v2/workflows/{id}`, executions reads (seed 000).
    WorkflowRead,
    /// `POST /api/v2/workflows/{id}/executions` (seed 000).
    ExecutionCreate,
    /// `POST /api/v2/workflows/instances` (seed 001).
    InstanceCreate,
    /// `GET /api/v2/workflows/instances[/{id}]` (seed 001).
    InstanceRead,
    /// `GET /api/v2/audit/logs` (seed 000 step 5).
    AuditRead,
    /// `GET /api/v2/agents/{id}` (seed 002).
    AgentRead,
    /// `PATCH /api/v2/agents/{id}/workmodes` (seed 002).
    AgentWrite,
    /// `GET /api/v2/agents/{id}/skills` (seed 002).
    SkillRead,
    /// `GET /api/v2/wfm/schedules/{agentId}` (seed 002).
    WfmRead,
    /// `POST /api/v2/events/publish` (seed 002).
    EventsPublish,
    /// `GET /api/v2/dataactions/{id}` (seed 004).
    DataActionRead,
    /// `POST /api/v2/dataactions/{id}/execute` (seed 004).
    DataActionExecute,
    /// `GET /api/v2/dataactions/{id}/jobs[/{jobId}]` (seed 004).
    JobRead,
    /// `POST /api/v2/interactions/history/query` (seed 003).
    HistoryRead,
}

impl Permission {
    /// Every permission, for computing the full scope set.
    pub(crate) const ALL: &'static [Permission] = &[
        Permission::WorkflowRead,
        Permission::ExecutionCreate,
        Permission::InstanceCreate,
        Permission::InstanceRead,
        Permission::AuditRead,
        Permission::AgentRead,
        Permission::AgentWrite,
        Permission::SkillRead,
        Permission::WfmRead,
        Permission::EventsPublish,
        Permission::DataActionRead,
        Permission::DataActionExecute,
        Permission::JobRead,
        Permission::HistoryRead,
    ];

    /// Accepted scope spellings; the first is the one named in 403 messages.
    pub(crate) const fn scopes(self) -> &'static [&'static str] {
        match self {
            Permission::WorkflowRead => &["workflow.read", "workflow:read"],
            Permission::ExecutionCreate => &["workflow.execute", "workflow:write"],
            Permission::InstanceCreate => &["workflow:write", "workflow.execute"],
            Permission::InstanceRead => &["workflow:read", "workflow.read"],
            Permission::AuditRead => &["audit.read", "audit:read"],
            Permission::AgentRead => &["agent:read"],
            Permission::AgentWrite => &["agent:write"],
            Permission::SkillRead => &["skill:read", "agent:read"],
            Permission::WfmRead => &["wfm:read"],
            Permission::EventsPublish => &["events:publish"],
            Permission::DataActionRead => &["dataactions:read"],
            Permission::DataActionExecute => &["dataactions:execute"],
            Permission::JobRead => &["jobs:read"],
            Permission::HistoryRead => &["interactions:read", "interactions.read"],
        }
    }
}

/// Scopes no route checks yet but that clients request (seed 000 asks for
/// `tenant.read`, seed 003 for `workflows:read`).
const EXTRA_SCOPES: &[&str] = &["tenant.read", "workflows:read"];

/// Every scope the simulator knows: the union of all route spellings plus
/// `tenant.read`. A client registered with an empty scope list holds all of
/// these.
pub fn all_scopes() -> Vec<&'static str> {
    let mut out: Vec<&'static str> = Vec::new();
    for scope in Permission::ALL
        .iter()
        .flat_map(|p| p.scopes().iter().copied())
        .chain(EXTRA_SCOPES.iter().copied())
    {
        if !out.contains(&scope) {
            out.push(scope);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn all_scopes_is_the_union() {
        let all = all_scopes();
        for want in [
            "workflow.read",
            "workflow:read",
            "workflow.execute",
            "workflow:write",
            "audit.read",
            "audit:read",
            "tenant.read",
            "agent:read",
            "agent:write",
            "skill:read",
            "wfm:read",
            "events:publish",
            "dataactions:read",
            "dataactions:execute",
            "jobs:read",
            "interactions:read",
            "workflows:read",
        ] {
            assert!(all.contains(&want), "{want}");
        }
        let mut unique = all.clone();
        unique.sort_unstable();
        unique.dedup();
        assert_eq!(unique.len(), all.len(), "no scope listed twice");
    }
}
