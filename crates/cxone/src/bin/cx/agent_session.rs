//! `cx agent session start | join | state | events | end`: act as an agent
//! through a CXone agent session (`cx_agent::real`'s session API;
//! `../shared/CXONE_REST.md` §3.1).

use std::process::ExitCode;

use cx_agent::AgentId;
use cx_agent::real::{EndSession, RealConfig, SessionEvent, SessionId, SessionState, StartSession};
use futures::StreamExt as _;
use serde_json::json;

use crate::agent_real::connect_with;
use crate::output::{OutputArg, print_json, print_raw, say};
use crate::{CliResult, Globals};

/// `cx agent session ...`.
#[derive(Debug, clap::Subcommand)]
pub enum SessionCommand {
    /// Start an agent session on a station (CXone `POST /agent-sessions` →
    /// 202 `{sessionId}`) and print its id. The agent is logged in,
    /// Unavailable.
    Start {
        /// The station's id (`stationId`).
        #[arg(
            long,
            value_name = "ID",
            required_unless_present = "station_phone",
            conflicts_with = "station_phone"
        )]
        station_id: Option<String>,
        /// The station's phone number (`stationPhoneNumber`).
        #[arg(long, value_name = "NUMBER")]
        station_phone: Option<String>,
        /// Start the session for this agent (`asAgentId`, a supervisor's
        /// call; default: the user the access key belongs to).
        #[arg(long, value_name = "AGENT_ID")]
        as_agent: Option<String>,
    },
    /// Join an agent's live session (CXone `POST /agent-sessions/join`)
    /// and print its id.
    Join {
        /// The agent whose session to join (`asAgentId`).
        #[arg(long, value_name = "AGENT_ID")]
        as_agent: String,
    },
    /// Set the session's state: Available, or Unavailable with an
    /// unavailable code's name as the reason (CXone `POST
    /// /agent-sessions/{sessionId}/state` → 202). `cx agent codes --team`
    /// lists the names.
    State {
        /// The session id.
        session_id: String,
        /// Become Available.
        #[arg(
            long,
            conflicts_with = "unavailable",
            required_unless_present = "unavailable"
        )]
        available: bool,
        /// Become Unavailable with this unavailable code's name (none:
        /// plain Unavailable).
        #[arg(
            long,
            value_name = "CODE_NAME",
            num_args = 0..=1,
            default_missing_value = ""
        )]
        unavailable: Option<String>,
    },
    /// Print the session's events as they arrive (CXone `GET
    /// /agent-sessions/{sessionId}/get-next-event`, long polls): one line
    /// per event, or one JSON document per line with `--output json`.
    /// Follows a new session id when CXone hands one out; ends with exit 0
    /// when the session ends (409).
    Events {
        /// The session id.
        session_id: String,
        /// Seconds each long poll may wait for an event (0..=60).
        #[arg(
            long,
            value_name = "SECONDS",
            default_value_t = 60,
            value_parser = clap::value_parser!(u32).range(0..=60)
        )]
        timeout: u32,
        /// Stop after this many events (for scripts and tests).
        #[arg(long, value_name = "N", hide = true)]
        max_events: Option<u64>,
    },
    /// End the session (CXone `DELETE /agent-sessions/{sessionId}` → 202);
    /// the agent is logged out.
    End {
        /// The session id.
        session_id: String,
        /// Log the agent off even while it handles contacts.
        #[arg(long)]
        force_logoff: bool,
        /// End the agent's contacts.
        #[arg(long)]
        end_contacts: bool,
    },
}

/// Print `doc` as JSON, or `text` for a person.
fn report(globals: &Globals, doc: &serde_json::Value, text: &str) -> CliResult {
    match globals.output_arg {
        OutputArg::Json => print_json(doc)?,
        _ => say!("{text}"),
    }
    Ok(())
}

/// Run a `cx agent session` command.
///
/// # Errors
/// A tenant that speaks the seed contract; bad ids; API failures (an
/// unknown session is "Invalid agent session Id.").
pub async fn run(cmd: SessionCommand, globals: &Globals) -> CliResult<ExitCode> {
    let config = match &cmd {
        SessionCommand::Events { timeout, .. } => {
            RealConfig::default().with_event_timeout_secs(*timeout)
        }
        _ => RealConfig::default(),
    };
    let name = match &cmd {
        SessionCommand::Start { .. } => "cx agent session start",
        SessionCommand::Join { .. } => "cx agent session join",
        SessionCommand::State { .. } => "cx agent session state",
        SessionCommand::Events { .. } => "cx agent session events",
        SessionCommand::End { .. } => "cx agent session end",
    };
    let (_session, client) = connect_with(globals, name, config).await?;
    match cmd {
        SessionCommand::Start {
            station_id,
            station_phone,
            as_agent,
        } => {
            let mut start = match (station_id, station_phone) {
                (Some(id), _) => StartSession::station_id(id),
                (None, Some(phone)) => StartSession::station_phone_number(phone),
                (None, None) => return Err("--station-id or --station-phone is required".into()),
            };
            if let Some(agent) = as_agent {
                start = start.with_as_agent_id(agent);
            }
            let id = client.start_session(&start).await?;
            report(
                globals,
                &json!({ "sessionId": id }),
                &format!("agent session {id} started"),
            )?;
        }
        SessionCommand::Join { as_agent } => {
            let agent: AgentId = as_agent.parse()?;
            let id = client.join_session(&agent).await?;
            report(
                globals,
                &json!({ "sessionId": id, "agentId": agent }),
                &format!("joined agent session {id} of agent {agent}"),
            )?;
        }
        SessionCommand::State {
            session_id,
            available: _,
            unavailable,
        } => {
            let id = SessionId(session_id);
            let state = match unavailable {
                None => SessionState::Available,
                Some(reason) if reason.trim().is_empty() => SessionState::Unavailable(None),
                Some(reason) => SessionState::Unavailable(Some(reason)),
            };
            client.set_session_state(&id, &state).await?;
            let (name, reason) = match &state {
                SessionState::Available => ("Available", None),
                SessionState::Unavailable(reason) => ("Unavailable", reason.as_deref()),
            };
            report(
                globals,
                &json!({ "sessionId": id, "state": name, "reason": reason }),
                &match reason {
                    Some(r) => format!("agent session {id}: state set to {name} ({r})"),
                    None => format!("agent session {id}: state set to {name}"),
                },
            )?;
        }
        SessionCommand::Events {
            session_id,
            timeout: _,
            max_events,
        } => {
            let mut events = Box::pin(client.events(&SessionId(session_id)));
            let mut seen = 0u64;
            while max_events.is_none_or(|max| seen < max) {
                let Some(event) = events.next().await else {
                    break;
                };
                print_event(globals, &event?)?;
                seen += 1;
            }
        }
        SessionCommand::End {
            session_id,
            force_logoff,
            end_contacts,
        } => {
            let id = SessionId(session_id);
            let end = EndSession::default()
                .with_force_logoff(force_logoff)
                .with_end_contacts(end_contacts);
            client.end_session(&id, end).await?;
            report(
                globals,
                &json!({ "sessionId": id, "ended": true }),
                &format!("agent session {id} ended"),
            )?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// One event: a JSON line, or `TYPE  STATE  REASON` for a person.
fn print_event(globals: &Globals, event: &SessionEvent) -> CliResult {
    match globals.output_arg {
        OutputArg::Json => print_raw(&format!("{}\n", serde_json::to_string(event)?)),
        _ => say!(
            "{:<20} {} {}",
            event.event_type.as_str(),
            event.current_state.as_deref().unwrap_or("-"),
            event
                .current_out_reason
                .as_deref()
                .filter(|r| !r.is_empty())
                .unwrap_or("")
        ),
    }
    Ok(())
}
