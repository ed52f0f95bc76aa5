//! `cx agent list | states`: CXone's real agent API (`cx_agent::real`), for
//! a tenant logged in with an access key (or the embedded simulator, which
//! serves the real API too).

use std::process::ExitCode;

use chrono::{DateTime, Utc};
use cx_agent::real::{AgentFilter, Client, RealConfig};
use futures::TryStreamExt as _;
use serde_json::json;

use crate::output::{OutputFormat, human, print_json, say, simulated_note};
use crate::session::{Session, TenantKind};
use crate::{CliResult, Globals};

/// Commands on the real CXone agent API.
#[derive(Debug, clap::Subcommand)]
pub enum RealAgentCommand {
    /// List agents (CXone `GET /agents`, every page). Needs an access-key
    /// login.
    List {
        /// Only active (`true`) or inactive (`false`) agents.
        #[arg(long, value_name = "BOOL")]
        active: Option<bool>,
        /// Only agents whose name contains this text.
        #[arg(long, value_name = "TEXT")]
        search: Option<String>,
        /// Only agents changed at or after this ISO-8601 instant.
        #[arg(long, value_name = "ISO-8601")]
        since: Option<DateTime<Utc>>,
    },
    /// Agents' current states (CXone `GET /agents/states`). Needs an
    /// access-key login.
    States {
        /// Only states changed at or after this ISO-8601 instant (pass the
        /// previous answer's `lastPollTime`).
        #[arg(long, value_name = "ISO-8601")]
        since: Option<DateTime<Utc>>,
    },
}

/// The session (kept alive: it may hold the embedded simulator) and a
/// real-API client; a client-credentials tenant speaks the seed contract,
/// not CXone's real API, and is refused.
async fn connect(globals: &Globals) -> CliResult<(Session, Client)> {
    let session = Session::open(&globals.tenant).await?;
    if session.kind == TenantKind::ClientCredentials {
        return Err("this command uses CXone's real agent API (/inContactAPI/services/...): \
                    log in with an access key (--access-key-id, or a profile of kind \"access-key\")"
            .into());
    }
    let client = Client::new(session.http.clone(), RealConfig::default())?;
    Ok((session, client))
}

/// The text of an optional field, escaped for a terminal.
fn cell(v: Option<&str>) -> String {
    cx_http::escape(v.unwrap_or("-")).to_string()
}

/// Run a real-API agent command.
///
/// # Errors
/// A client-credentials tenant; API failures.
pub async fn run(cmd: RealAgentCommand, globals: &Globals) -> CliResult<ExitCode> {
    match cmd {
        RealAgentCommand::List {
            active,
            search,
            since,
        } => {
            let (_session, client) = connect(globals).await?;
            let mut filter = AgentFilter::default();
            filter.is_active = active;
            filter.search = search;
            filter.updated_since = since;
            let agents: Vec<_> = client.agents(&filter).try_collect().await?;
            match globals.output {
                OutputFormat::Json => print_json(&json!({ "agents": agents }))?,
                OutputFormat::Human => {
                    let rows: Vec<Vec<String>> = agents
                        .iter()
                        .map(|a| {
                            vec![
                                cell(Some(&a.agent_id.0)),
                                cell(a.first_name.as_deref()),
                                cell(a.last_name.as_deref()),
                                cell(a.team_name.as_deref()),
                                cell(a.is_active.map(|b| if b { "yes" } else { "no" })),
                            ]
                        })
                        .collect();
                    human(&crate::history::table(
                        &["AGENT", "FIRST", "LAST", "TEAM", "ACTIVE"],
                        &rows,
                    ));
                    say!("{} agent(s)", agents.len());
                }
            }
        }
        RealAgentCommand::States { since } => {
            let (_session, client) = connect(globals).await?;
            let states = client.agent_states(since).await?;
            let poll = states
                .last_poll_time
                .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true));
            match globals.output {
                OutputFormat::Json => print_json(&json!({
                    "lastPollTime": poll,
                    "agentStates": states.states,
                }))?,
                OutputFormat::Human => {
                    let rows: Vec<Vec<String>> = states
                        .states
                        .iter()
                        .map(|s| {
                            vec![
                                cell(Some(&s.agent_id.0)),
                                cell(s.agent_state_name.as_deref()),
                                cell(s.out_state_description.as_deref().filter(|d| !d.is_empty())),
                                cell(s.start_date.as_deref()),
                            ]
                        })
                        .collect();
                    human(&crate::history::table(
                        &["AGENT", "STATE", "REASON", "SINCE"],
                        &rows,
                    ));
                    say!(
                        "{} state(s); next --since {}",
                        states.states.len(),
                        poll.as_deref().unwrap_or("-")
                    );
                }
            }
        }
    }
    simulated_note(globals.output_arg);
    Ok(ExitCode::SUCCESS)
}
