//! `cx agent list | states | state set | state history | codes | skills
//! ...`: CXone's real agent API (`cx_agent::real`), for a tenant whose
//! binding is real (`--api real`, or `auto` with an access-key login) or
//! the embedded simulator, which serves the real API too.

use std::collections::HashMap;
use std::process::ExitCode;
use std::time::Duration;

use chrono::{DateTime, SecondsFormat, Utc};
use cx_agent::AgentId;
use cx_agent::real::{
    Agent, AgentFilter, AgentState, Client, HistoryFilter, RealConfig, SkillAssignment,
    SkillChange, SkillResult, StateChange, StateRecord, TeamUnavailableCode, UnavailableCode,
};
use futures::TryStreamExt as _;
use serde_json::{Value, json};

use crate::output::{OutputArg, human, print_json, print_raw, say};
use crate::session::{Binding, Session};
use crate::{CliResult, Globals};

/// Commands on the real CXone agent API.
#[derive(Debug, clap::Subcommand)]
pub enum RealAgentCommand {
    /// List agents (CXone `GET /agents`, every page). Needs the real API
    /// (an access-key login, or `--api real`). `--output table|csv|json`.
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
    /// Agents' current states (CXone `GET /agents/states`). Needs the real
    /// API. `--output table|csv|json`.
    States {
        /// Only states changed at or after this ISO-8601 instant (pass the
        /// previous answer's `lastPollTime`).
        #[arg(long, value_name = "ISO-8601")]
        since: Option<DateTime<Utc>>,
        /// Keep polling with `updatedSince` set to the previous answer's
        /// `lastPollTime`, printing only agents whose state changed, until
        /// interrupted (JSON output: one document per line per poll, its
        /// `lastPollTime` the `--since` of the next poll).
        #[arg(long)]
        follow: bool,
        /// Seconds between polls with --follow.
        #[arg(long, value_name = "SECONDS", default_value_t = 5, requires = "follow")]
        interval: u64,
        /// Stop --follow after this many polls (for scripts and tests).
        #[arg(long, value_name = "N", hide = true, requires = "follow")]
        polls: Option<u64>,
    },
    /// Supervisor state changes (CXone `POST /agents/{agentId}/state`) and
    /// agents' state history.
    State {
        #[command(subcommand)]
        command: StateCommand,
    },
    /// Unavailable codes: the tenant's (CXone `GET /unavailable-codes`), or
    /// the active ones a team may use (`GET
    /// /teams/{teamId}/unavailable-codes?activityOnly=true`). Needs the real
    /// API. `--output table|csv|json`.
    Codes {
        /// Only the active codes this team may use.
        #[arg(long, value_name = "TEAM_ID")]
        team: Option<String>,
    },
    /// Act as an agent through a CXone agent session: start or join one,
    /// set its state, follow its events, end it. Needs the real API.
    Session {
        #[command(subcommand)]
        command: crate::agent_session::SessionCommand,
    },
}

/// Whether `cmd` prints a list (and so accepts `--output csv`).
pub fn lists(cmd: &RealAgentCommand) -> bool {
    match cmd {
        RealAgentCommand::List { .. }
        | RealAgentCommand::States { .. }
        | RealAgentCommand::Codes { .. } => true,
        RealAgentCommand::State { command } => matches!(command, StateCommand::History { .. }),
        RealAgentCommand::Session { .. } => false,
    }
}

/// `cx agent state ...`.
#[derive(Debug, clap::Subcommand)]
pub enum StateCommand {
    /// Set an agent's state as a supervisor: Available, or Unavailable with
    /// an unavailable code id (`cx agent codes` lists them). Needs the
    /// real API.
    Set {
        /// The agent id.
        agent: String,
        /// Make the agent Available.
        #[arg(
            long,
            conflicts_with = "unavailable",
            required_unless_present = "unavailable"
        )]
        available: bool,
        /// Make the agent Unavailable with this unavailable code id
        /// (`outStateId`).
        #[arg(long, value_name = "CODE_ID")]
        unavailable: Option<u64>,
    },
    /// An agent's state history, or every agent's: each state with its
    /// start, unavailable code, agent session and duration (CXone `GET
    /// /agents/{agentId}/state-history`, `GET /agents/state-history`,
    /// every page). Needs the real API. `--output table|csv|json`.
    History {
        /// The agent id (default: every agent).
        agent: Option<String>,
        /// Only states that began at or after this ISO-8601 instant
        /// (`startDate`).
        #[arg(long, value_name = "ISO-8601")]
        since: Option<DateTime<Utc>>,
        /// Only states that began before this ISO-8601 instant (`endDate`).
        #[arg(long, value_name = "ISO-8601")]
        until: Option<DateTime<Utc>>,
        /// Only states updated at or after this ISO-8601 instant
        /// (`updatedSince`).
        #[arg(long, value_name = "ISO-8601")]
        updated_since: Option<DateTime<Utc>>,
    },
}

/// `cx agent skills`: list one agent's skills or every assignment, or change
/// an agent's skills.
#[derive(Debug, clap::Args)]
#[command(args_conflicts_with_subcommands = true, subcommand_negates_reqs = true)]
pub struct SkillsArgs {
    #[command(subcommand)]
    write: Option<SkillWrite>,
    /// The agent whose skills to list. On the seed contract, every page of
    /// nextPageUri; with an access key, CXone's `GET /agents/{agentId}/skills`.
    #[arg(
        required_unless_present = "all",
        conflicts_with = "all",
        value_parser = parse_agent_or_typo
    )]
    pub id: Option<String>,
    /// Every agent's skill assignments (CXone `GET /agents/skills`).
    #[arg(long)]
    all: bool,
}

impl SkillsArgs {
    /// Whether only CXone's real API can answer (all assignments, a write).
    pub fn real_only(&self) -> bool {
        self.all || self.write.is_some()
    }

    /// Whether this prints a list (and so accepts `--output csv`).
    pub fn lists(&self) -> bool {
        self.write.is_none()
    }
}

/// Skill changes of one agent (CXone `POST|PUT|DELETE
/// /agents/{agentId}/skills`); each skill succeeds or fails on its own, and
/// any failure exits non-zero naming the failed skills.
#[derive(Debug, clap::Subcommand)]
enum SkillWrite {
    /// Assign skills to an agent.
    Add(SkillSet),
    /// Change the proficiency (or activity) of skills the agent has.
    Set(SkillSet),
    /// Unassign skills from an agent.
    Remove {
        /// The agent id.
        agent: String,
        /// Skill ids.
        #[arg(required = true, value_name = "SKILL_ID")]
        skills: Vec<u64>,
    },
}

/// The agent and skills of `add` / `set`.
#[derive(Debug, clap::Args)]
struct SkillSet {
    /// The agent id.
    agent: String,
    /// `skillId` or `skillId:proficiency` (CXone's UI offers 1..=20).
    #[arg(required = true, value_name = "SKILL_ID[:PROFICIENCY]", value_parser = parse_skill)]
    skills: Vec<SkillChange>,
    /// Leave the assignments inactive (they are made active otherwise).
    #[arg(long)]
    inactive: bool,
}

/// An agent id for `cx agent skills <ID>`; a word without digits within
/// two edits of `add`, `set` or `remove` is a mistyped subcommand, not an
/// agent (CXone's agent ids are numbers).
fn parse_agent_or_typo(raw: &str) -> Result<String, String> {
    fn distance(a: &str, b: &str) -> usize {
        let b: Vec<char> = b.chars().collect();
        let mut row: Vec<usize> = (0..=b.len()).collect();
        for (i, ca) in a.chars().enumerate() {
            let mut prev = row[0];
            row[0] = i + 1;
            for (j, cb) in b.iter().enumerate() {
                let next = (prev + usize::from(ca != *cb))
                    .min(row[j] + 1)
                    .min(row[j + 1] + 1);
                prev = row[j + 1];
                row[j + 1] = next;
            }
        }
        row[b.len()]
    }
    match ["add", "set", "remove"].into_iter().find(|name| {
        raw.len() > 2
            && !raw.bytes().any(|b| b.is_ascii_digit())
            && distance(&raw.to_lowercase(), name) <= 2
    }) {
        Some(name) => Err(format!(
            "not an agent id but a mistyped subcommand; a similar subcommand exists: '{name}'"
        )),
        None => Ok(raw.to_owned()),
    }
}

fn parse_skill(raw: &str) -> Result<SkillChange, String> {
    let (id, proficiency) = match raw.split_once(':') {
        Some((id, p)) => (id, Some(p)),
        None => (raw, None),
    };
    let id: u64 = id
        .parse()
        .map_err(|_| format!("skill id must be a number, got {id:?}"))?;
    let mut change = SkillChange::new(id);
    if let Some(p) = proficiency {
        let p: u32 = p
            .parse()
            .map_err(|_| format!("proficiency must be a number, got {p:?}"))?;
        change = change.with_proficiency(p);
    }
    Ok(change)
}

/// A real-API client with `config` on `session`, after checking that the
/// tenant speaks the real API (`command` names what was refused).
pub fn client_with(session: &Session, command: &str, config: RealConfig) -> CliResult<Client> {
    session.require(Binding::Real, command)?;
    Ok(Client::new(session.http.clone(), config)?)
}

/// The session (kept alive: it may hold the embedded simulator) and a
/// real-API client with `config` for `command`.
pub async fn connect_with(
    globals: &Globals,
    command: &str,
    config: RealConfig,
) -> CliResult<(Session, Client)> {
    let session = Session::open(&globals.tenant).await?;
    let client = client_with(&session, command, config)?;
    Ok((session, client))
}

async fn connect(globals: &Globals, command: &str) -> CliResult<(Session, Client)> {
    connect_with(globals, command, RealConfig::default()).await
}

/// The text of an optional field, escaped for a terminal (`-` when absent).
pub(crate) fn cell(v: Option<&str>) -> String {
    cx_http::escape(v.unwrap_or("-")).to_string()
}

fn yes_no(b: Option<bool>) -> String {
    cell(b.map(|b| if b { "yes" } else { "no" }))
}

/// Print a list: `doc` as JSON, or `rows` under `header` as a table
/// followed by `summary`, or as CSV (`--output csv`).
pub fn print_list(
    globals: &Globals,
    doc: &Value,
    header: &[&str],
    rows: &[Vec<String>],
    summary: &str,
) -> CliResult {
    match globals.output_arg {
        OutputArg::Json => print_json(doc)?,
        OutputArg::Csv => human(&crate::history::csv_table(header, rows)),
        OutputArg::Human | OutputArg::Table => {
            human(&crate::history::table(header, rows));
            say!("{summary}");
        }
    }
    Ok(())
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
            let (_session, client) = connect(globals, "cx agent list").await?;
            let mut filter = AgentFilter::default();
            filter.is_active = active;
            filter.search = search;
            filter.updated_since = since;
            let agents: Vec<_> = client.agents(&filter).try_collect().await?;
            let rows: Vec<Vec<String>> = agents.iter().map(agent_row).collect();
            print_list(
                globals,
                &json!({ "agents": agents }),
                &["AGENT", "FIRST", "LAST", "TEAM", "ACTIVE"],
                &rows,
                &format!("{} agent(s)", agents.len()),
            )?;
        }
        RealAgentCommand::States {
            since,
            follow,
            interval,
            polls,
        } => {
            let (_session, client) = connect(globals, "cx agent states").await?;
            if follow {
                follow_states(
                    &client,
                    globals,
                    since,
                    Duration::from_secs(interval),
                    polls,
                )
                .await?;
            } else {
                let states = client.agent_states(since).await?;
                let poll = states.last_poll_time.map(iso);
                print_list(
                    globals,
                    &json!({ "lastPollTime": poll, "agentStates": states.states }),
                    STATE_HEADER,
                    &states.states.iter().map(state_row).collect::<Vec<_>>(),
                    &format!(
                        "{} state(s); next --since {}",
                        states.states.len(),
                        poll.as_deref().unwrap_or("-")
                    ),
                )?;
            }
        }
        RealAgentCommand::State {
            command:
                StateCommand::Set {
                    agent,
                    available,
                    unavailable,
                },
        } => {
            let id: AgentId = agent.parse()?;
            let change = match (available, unavailable) {
                (_, Some(code)) => StateChange::Unavailable(code),
                _ => StateChange::Available,
            };
            let (_session, client) = connect(globals, "cx agent state set").await?;
            client.set_state(&id, change).await?;
            let (state, code) = match change {
                StateChange::Available => ("Available", None),
                StateChange::Unavailable(code) => ("Unavailable", Some(code)),
            };
            match globals.output_arg {
                OutputArg::Json => print_json(&json!({
                    "agentId": id,
                    "state": state,
                    "outStateId": code,
                }))?,
                _ => match code {
                    Some(code) => {
                        say!("agent {id}: state set to {state} (unavailable code {code})")
                    }
                    None => say!("agent {id}: state set to {state}"),
                },
            }
        }
        RealAgentCommand::State {
            command:
                StateCommand::History {
                    agent,
                    since,
                    until,
                    updated_since,
                },
        } => {
            let agent: Option<AgentId> = agent.map(|a| a.parse()).transpose()?;
            let (_session, client) = connect(globals, "cx agent state history").await?;
            let mut filter = HistoryFilter::default();
            filter.start = since;
            filter.end = until;
            filter.updated_since = updated_since;
            let records: Vec<StateRecord> = client
                .state_history(agent.as_ref(), &filter)
                .try_collect()
                .await?;
            let rows: Vec<Vec<String>> = records.iter().map(history_row).collect();
            let mut doc = json!({ "agentStateHistory": records });
            if let Some(agent) = &agent {
                doc["agentId"] = json!(agent);
            }
            print_list(
                globals,
                &doc,
                &[
                    "AGENT",
                    "INDEX",
                    "STATE",
                    "REASON",
                    "START",
                    "DURATION_S",
                    "SESSION",
                ],
                &rows,
                &format!("{} state(s)", records.len()),
            )?;
        }
        RealAgentCommand::Codes { team } => codes(globals, team).await?,
        RealAgentCommand::Session { command } => {
            return crate::agent_session::run(command, globals).await;
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn history_row(r: &StateRecord) -> Vec<String> {
    vec![
        cell(Some(&r.agent_id.0)),
        cell(r.state_index.map(|i| i.to_string()).as_deref()),
        cell(r.agent_state_name.as_deref()),
        cell(r.out_state_description.as_deref().filter(|d| !d.is_empty())),
        cell(r.start_date.as_deref()),
        cell(r.duration.map(|d| format!("{d:.3}")).as_deref()),
        cell(r.agent_session_id.as_ref().map(|s| s.0.as_str())),
    ]
}

/// `cx agent codes [--team <teamId>]`.
/// An agent's row: id, first and last name, team, active.
fn agent_row(a: &Agent) -> Vec<String> {
    vec![
        cell(Some(&a.agent_id.0)),
        cell(a.first_name.as_deref()),
        cell(a.last_name.as_deref()),
        cell(a.team_name.as_deref()),
        yes_no(a.is_active),
    ]
}

/// A team's unavailable code's row: name, active, ACW, skill.
fn team_code_row(c: &TeamUnavailableCode) -> Vec<String> {
    vec![
        cell(c.out_state_name.as_deref()),
        yes_no(c.is_active),
        yes_no(c.is_acw),
        cell(c.skill_name.as_deref().filter(|s| !s.is_empty())),
    ]
}

/// An unavailable code's row: id, name, active, ACW.
fn code_row(c: &UnavailableCode) -> Vec<String> {
    vec![
        cell(Some(&c.id.0)),
        cell(c.name.as_deref()),
        yes_no(c.is_active),
        yes_no(c.is_acw),
    ]
}

async fn codes(globals: &Globals, team: Option<String>) -> CliResult {
    let (_session, client) = connect(globals, "cx agent codes").await?;
    match team {
        Some(team) => {
            let codes = client.team_unavailable_codes(&team, true).await?;
            let rows: Vec<Vec<String>> = codes.iter().map(team_code_row).collect();
            print_list(
                globals,
                &json!({ "teamId": team, "unavailableCodes": codes }),
                &["NAME", "ACTIVE", "ACW", "SKILL"],
                &rows,
                &format!("{} code(s) of team {}", codes.len(), cx_http::escape(&team)),
            )
        }
        None => {
            let codes: Vec<_> = client.unavailable_codes().try_collect().await?;
            let rows: Vec<Vec<String>> = codes.iter().map(code_row).collect();
            print_list(
                globals,
                &json!({ "unavailableCodes": codes }),
                &["ID", "NAME", "ACTIVE", "ACW"],
                &rows,
                &format!("{} code(s)", codes.len()),
            )
        }
    }
}

/// `lastPollTime` as CXone writes it (UTC, milliseconds, `Z`).
/// `t` as RFC 3339 UTC with milliseconds (`2024-05-01T12:00:00.123Z`).
pub(crate) fn iso(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}

const STATE_HEADER: &[&str] = &["AGENT", "STATE", "REASON", "SINCE"];

fn state_row(s: &AgentState) -> Vec<String> {
    vec![
        cell(Some(&s.agent_id.0)),
        cell(s.agent_state_name.as_deref()),
        cell(s.out_state_description.as_deref().filter(|d| !d.is_empty())),
        cell(s.start_date.as_deref()),
    ]
}

/// `cx agent states --follow`: poll with `updatedSince` from the previous
/// answer's `lastPollTime`, printing the agents whose state differs from
/// what was last printed, until interrupted or after `polls` polls.
async fn follow_states(
    client: &Client,
    globals: &Globals,
    mut since: Option<DateTime<Utc>>,
    interval: Duration,
    polls: Option<u64>,
) -> CliResult {
    let mut seen: HashMap<String, Vec<String>> = HashMap::new();
    let mut done = 0u64;
    if globals.output_arg == OutputArg::Csv {
        human(&crate::history::csv_table(STATE_HEADER, &[]));
    }
    loop {
        let states = client.agent_states(since).await?;
        let changed: Vec<&AgentState> = states
            .states
            .iter()
            .filter(|s| {
                let row = state_row(s);
                seen.insert(s.agent_id.0.clone(), row.clone()).as_ref() != Some(&row)
            })
            .collect();
        // An answer without data (204) carries no lastPollTime: the
        // previous one still marks where to read from.
        since = states.last_poll_time.or(since);
        let poll = since.map(iso);
        let rows: Vec<Vec<String>> = changed.iter().map(|s| state_row(s)).collect();
        match globals.output_arg {
            OutputArg::Json => print_raw(&format!(
                "{}\n",
                json!({ "lastPollTime": poll, "agentStates": changed })
            )),
            OutputArg::Csv => {
                let csv = crate::history::csv_table(STATE_HEADER, &rows);
                human(csv.split_once('\n').map_or("", |(_, body)| body));
            }
            OutputArg::Human | OutputArg::Table => {
                if !rows.is_empty() {
                    human(&crate::history::table(STATE_HEADER, &rows));
                }
            }
        }
        done += 1;
        if polls.is_some_and(|n| done >= n) {
            return Ok(());
        }
        tokio::time::sleep(interval).await;
    }
}

/// `cx agent skills` on CXone's real API, on an open `session`.
///
/// # Errors
/// A client-credentials tenant; bad ids; API failures, among them a
/// partial skill write (naming each failed skill).
pub async fn skills(args: SkillsArgs, session: &Session, globals: &Globals) -> CliResult<ExitCode> {
    let command = match (&args.write, args.all) {
        (Some(SkillWrite::Add(_)), _) => "cx agent skills add",
        (Some(SkillWrite::Set(_)), _) => "cx agent skills set",
        (Some(SkillWrite::Remove { .. }), _) => "cx agent skills remove",
        (None, true) => "cx agent skills --all",
        (None, false) => "cx agent skills",
    };
    let client = client_with(session, command, RealConfig::default())?;
    match args.write {
        None => {
            let (doc, list) = match args.id {
                Some(id) => {
                    let id: AgentId = id.parse()?;
                    let list: Vec<SkillAssignment> = client.skills(&id).try_collect().await?;
                    (
                        json!({ "agentId": id, "agentSkillAssignments": list }),
                        list,
                    )
                }
                None => {
                    let list: Vec<SkillAssignment> =
                        client.all_skill_assignments().try_collect().await?;
                    (json!({ "agentSkillAssignments": list }), list)
                }
            };
            let rows: Vec<Vec<String>> = list
                .iter()
                .map(|s| {
                    vec![
                        cell(s.agent_id.as_ref().map(|a| a.0.as_str())),
                        cell(Some(&s.skill_id.0)),
                        cell(s.skill_name.as_deref()),
                        cell(s.agent_proficiency_value.map(|p| p.to_string()).as_deref()),
                        yes_no(s.is_active),
                    ]
                })
                .collect();
            print_list(
                globals,
                &doc,
                &["AGENT", "SKILL", "NAME", "PROFICIENCY", "ACTIVE"],
                &rows,
                &format!("{} assignment(s)", list.len()),
            )?;
        }
        Some(write) => {
            let (verb, agent, results) = match write {
                SkillWrite::Add(set) => set.send(&client, false).await?,
                SkillWrite::Set(set) => set.send(&client, true).await?,
                SkillWrite::Remove { agent, skills } => {
                    let id: AgentId = agent.parse()?;
                    let results = client.remove_skills(&id, &skills).await?;
                    ("removed", id, results)
                }
            };
            print_write(globals, verb, &agent, &results)?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

impl SkillSet {
    /// Assign (or, with `modify`, modify) the skills: what was done, to
    /// whom, and each skill's result.
    async fn send(
        self,
        client: &Client,
        modify: bool,
    ) -> CliResult<(&'static str, AgentId, Vec<SkillResult>)> {
        let id: AgentId = self.agent.parse()?;
        let skills: Vec<SkillChange> = self
            .skills
            .iter()
            .map(|s| s.with_is_active(!self.inactive))
            .collect();
        Ok(if modify {
            ("modified", client.modify_skills(&id, &skills).await?)
        } else {
            ("assigned", client.assign_skills(&id, &skills).await?)
        })
        .map(|(verb, results)| (verb, id, results))
    }
}

fn print_write(
    globals: &Globals,
    verb: &str,
    agent: &AgentId,
    results: &[SkillResult],
) -> CliResult {
    match globals.output_arg {
        OutputArg::Json => print_json(&json!({
            "agentId": agent,
            "action": verb,
            "skillResults": results,
        })),
        _ => {
            for r in results {
                say!(
                    "agent {agent}: skill {} {verb}",
                    r.skill_id.as_ref().map_or("?", |id| id.0.as_str())
                );
            }
            say!("{} skill(s) {verb}", results.len());
            Ok(())
        }
    }
}
