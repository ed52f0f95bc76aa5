//! `cx agent show | skills | set-workmode | simulate` (seed 002), and the
//! real-API commands of `agent_real` flattened in. `show` and `skills
//! <agentId>` exist on both bindings; `set-workmode` only on the seed
//! contract.

use std::process::ExitCode;
use std::sync::Arc;

use cx_agent::{
    AgentId, Client, Config, RoutingSimulator, SkillDelta, SkillLevel, UpdateReport,
    ValidationReport, WorkModePayload, apply_skill_deltas,
};
use serde_json::{Value, json};

use crate::output::{OutputFormat, print_json, say};
use crate::session::{Binding, Session};
use crate::{CliResult, Globals};

/// Agent availability commands.
#[derive(Debug, clap::Subcommand)]
pub enum AgentCommand {
    #[command(flatten)]
    Real(crate::agent_real::RealAgentCommand),
    /// Show an agent: on the seed contract its profile and ETag; on
    /// CXone's real API the agent (`GET /agents/{agentId}`).
    Show {
        /// The agent id, e.g. agent-001 (seed) or 3100001 (real).
        id: String,
    },
    /// An agent's skills, every agent's skill assignments (`--all`), or
    /// `add|set|remove` skills of an agent (CXone's real API; each skill
    /// succeeds or fails on its own and any failure exits non-zero).
    /// `--output table|csv|json` for the lists.
    Skills(crate::agent_real::SkillsArgs),
    /// Validate and apply a work-mode change with If-Match; on 409 re-read,
    /// re-apply and retry. Publishes agent.availability.changed and writes an
    /// audit record. `--skill` replaces the agent's whole skill list;
    /// `--add-skill` / `--remove-skill` edit the list of each fresh read.
    /// Seed contract only: CXone's real API has no work mode and no
    /// If-Match; there use `cx agent skills add|remove` and `cx agent state
    /// set`.
    SetWorkmode {
        /// The agent id.
        id: String,
        #[command(flatten)]
        change: ChangeArgs,
        /// Add a skill `skillId:level:concurrent` to the agent's current
        /// skills (or set its level); re-applied on the fresh profile after
        /// every 409, so concurrent writers adding different skills all land.
        /// Repeat for several. Not with --skill.
        #[arg(
            long = "add-skill",
            value_name = "ID:LEVEL:CONCURRENT",
            value_parser = parse_skill,
            conflicts_with = "skills"
        )]
        add_skills: Vec<SkillLevel>,
        /// Remove a skill from the agent's current skills (re-applied like
        /// --add-skill). Repeat for several. Not with --skill.
        #[arg(
            long = "remove-skill",
            value_name = "ID",
            conflicts_with = "skills",
            value_parser = clap::builder::NonEmptyStringValueParser::new()
        )]
        remove_skills: Vec<String>,
        /// Validate and simulate only; write nothing.
        #[arg(long)]
        dry_run: bool,
        /// Write only if the agent is still at this ETag (one you read with
        /// `cx agent show`). If it changed, exit with status 3 and a message
        /// naming its current ETag; nothing is re-sent (--max-attempts does
        /// not apply).
        #[arg(long, value_name = "ETAG")]
        if_match: Option<String>,
        /// Attempts of the conditional update, the first included (without
        /// --if-match: each 409 re-reads the agent and re-applies the change).
        #[arg(
            long,
            value_name = "N",
            default_value_t = 3,
            value_parser = clap::value_parser!(u32).range(1..)
        )]
        max_attempts: u32,
    },
    /// Simulate the routing impact of a work-mode change offline; sends
    /// nothing.
    Simulate {
        #[command(flatten)]
        change: ChangeArgs,
        /// The agent id the simulation is reported for.
        #[arg(long, default_value = "agent-001")]
        agent: String,
        /// Seed for a simulated latency (none without it).
        #[arg(long)]
        seed: Option<u64>,
    },
}

/// The change: target work mode, skill levels, reason.
#[derive(Debug, clap::Args)]
pub struct ChangeArgs {
    /// Target work mode id, e.g. workMode-123.
    #[arg(long = "workmode", value_name = "W")]
    workmode: String,
    /// A skill level `skillId:level:concurrent` (level 0 disables the skill);
    /// repeat for several. The list replaces the agent's whole skill list.
    #[arg(long = "skill", value_name = "ID:LEVEL:CONCURRENT", value_parser = parse_skill)]
    skills: Vec<SkillLevel>,
    /// Reason recorded with the change.
    #[arg(long)]
    reason: Option<String>,
}

fn parse_skill(raw: &str) -> Result<SkillLevel, String> {
    raw.parse::<SkillLevel>().map_err(|e| e.to_string())
}

impl ChangeArgs {
    fn payload(self, clock: &dyn cx_agent::Clock) -> Result<WorkModePayload, cx_agent::Error> {
        let mut b = WorkModePayload::builder(self.workmode)
            .skills(self.skills)
            .source("cx");
        if let Some(r) = self.reason {
            b = b.reason(r);
        }
        b.build(clock)
    }
}

/// The session (kept alive: it may hold the embedded simulator) and a client.
async fn connect(globals: &Globals, config: Config) -> CliResult<(Session, Client)> {
    let session = Session::open(&globals.tenant).await?;
    let client = Client::new(session.http.clone(), config);
    Ok((session, client))
}

fn violations_text(report: &ValidationReport) -> String {
    report
        .violations
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("; ")
}

impl AgentCommand {
    /// Whether the command prints a list (and so accepts `--output csv`).
    pub fn lists(&self) -> bool {
        match self {
            AgentCommand::Real(cmd) => crate::agent_real::lists(cmd),
            AgentCommand::Skills(args) => args.lists(),
            _ => false,
        }
    }
}

/// Run an agent command.
///
/// # Errors
/// Bad input (before any request), validation, API and audit failures.
pub async fn run(cmd: AgentCommand, globals: &Globals) -> CliResult<ExitCode> {
    let out = globals.output;
    match cmd {
        AgentCommand::Real(cmd) => crate::agent_real::run(cmd, globals).await,
        AgentCommand::Simulate {
            change,
            agent,
            seed,
        } => {
            let clock = cx_agent::SystemClock;
            let payload = change.payload(&clock)?;
            let mut simulator = RoutingSimulator::default();
            simulator.latency_seed = seed;
            let sim = simulator.simulate(&agent, &payload, &clock);
            match out {
                OutputFormat::Json => print_json(&serde_json::to_value(&sim)?)?,
                OutputFormat::Human => say!(
                    "agent {}: work mode {}, routing score {} ({} disabled skill(s), {} concurrent slot(s))",
                    sim.agent_id,
                    sim.work_mode_id,
                    sim.routing_score,
                    sim.disabled_skills,
                    sim.concurrent_slots
                ),
            }
            Ok(ExitCode::SUCCESS)
        }
        AgentCommand::Show { id } => {
            let id: AgentId = id.parse()?;
            let session = Session::open(&globals.tenant).await?;
            if session.binding() == Some(Binding::Real) {
                return show_real(&session, &id, globals).await;
            }
            let client = Client::new(session.http.clone(), Config::default());
            let profile = client.profile(&id).await?;
            match out {
                OutputFormat::Json => print_json(&json!({
                    "etag": profile.etag,
                    "profile": profile.value,
                }))?,
                OutputFormat::Human => {
                    let p = &profile.value;
                    say!("agent      {}", p.id);
                    say!("work mode  {}", p.work_mode_id().unwrap_or("-"));
                    say!("etag       {}", profile.etag.as_deref().unwrap_or("-"));
                    for s in &p.skills {
                        say!("skill      {s}");
                    }
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        AgentCommand::Skills(args) => {
            let session = Session::open(&globals.tenant).await?;
            if args.real_only() || session.binding() == Some(Binding::Real) {
                return crate::agent_real::skills(args, &session, globals).await;
            }
            let id: AgentId = args.id.unwrap_or_default().parse()?;
            let client = Client::new(session.http.clone(), Config::default());
            let skills = client.skills(&id).await?;
            let rows: Vec<Vec<String>> = skills
                .iter()
                .map(|s| vec![s.skill_id.clone(), s.max_concurrent().to_string()])
                .collect();
            crate::agent_real::print_list(
                globals,
                &json!({ "agentId": id, "skills": skills }),
                &["SKILL", "MAX_CONCURRENT"],
                &rows,
                &format!("{} skill(s)", skills.len()),
            )?;
            Ok(ExitCode::SUCCESS)
        }
        AgentCommand::SetWorkmode {
            id,
            change,
            add_skills,
            remove_skills,
            dry_run,
            if_match,
            max_attempts,
        } => {
            let clock = cx_agent::SystemClock;
            // Bad input is refused before the session (and any request).
            let id: AgentId = id.parse()?;
            let payload = change.payload(&clock)?;
            let config = Config::default().with_max_update_attempts(max_attempts);
            let (session, client) = connect(globals, config).await?;
            session
                .require(Binding::Seed, "cx agent set-workmode")
                .map_err(|e| {
                    format!(
                        "{e}. CXone's real agent API has no work mode and no ETag/If-Match: \
                     change skills with `cx agent skills add|remove <agentId> <skillId>...` \
                     (one write per skill, so concurrent writers never lose each other's \
                     change) and the state with `cx agent state set <agentId> \
                     --available|--unavailable <codeId>`"
                    )
                })?;
            // Removals first, then additions.
            let deltas: Vec<SkillDelta> = remove_skills
                .into_iter()
                .map(SkillDelta::Remove)
                .chain(add_skills.into_iter().map(SkillDelta::Add))
                .collect();
            // With deltas, the simulation and the dry run see what would be
            // written now: the current skills, edited.
            let preview = if deltas.is_empty() {
                payload.clone()
            } else {
                let current = client.profile(&id).await?.value.skills;
                let mut preview = payload.clone();
                preview.skill_levels = apply_skill_deltas(&current, &deltas);
                preview
            };
            let simulation = RoutingSimulator::default().simulate(id.as_str(), &preview, &clock);
            if dry_run {
                let (validation, _, _) = client.validate(&id, &preview).await?;
                let doc = json!({
                    "agentId": id,
                    "dryRun": true,
                    "written": false,
                    "payload": preview,
                    "validation": validation,
                    "simulation": simulation,
                });
                match out {
                    OutputFormat::Json => print_json(&doc)?,
                    OutputFormat::Human => say!(
                        "dry run for agent {id}: validation {}; routing score {}; nothing written",
                        if validation.valid { "passed" } else { "FAILED" },
                        simulation.routing_score
                    ),
                }
                if !validation.valid {
                    return Err(format!(
                        "work-mode change for agent {id} would be refused: {}",
                        violations_text(&validation)
                    )
                    .into());
                }
                return Ok(ExitCode::SUCCESS);
            }
            let sink = Arc::new(session.audit(&globals.audit_dir).await?);
            let client = client.with_audit(sink.clone());
            let mut update = client.update_work_mode(&id, payload);
            for delta in deltas {
                update = update.skill_delta(delta);
            }
            if let Some(tag) = if_match {
                update = update.if_match(tag);
            }
            let report = update.send().await;
            cx_audit::AuditSink::flush(&*sink).await?;
            let report = report?;
            let audit_file = sink
                .inner()
                .path_for(report.new_state.timestamp.date_naive());
            print_update(out, &report, &simulation, &audit_file)?;
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// `cx agent show` on CXone's real API (`GET /agents/{agentId}`).
async fn show_real(session: &Session, id: &AgentId, globals: &Globals) -> CliResult<ExitCode> {
    let client = crate::agent_real::client_with(
        session,
        "cx agent show",
        cx_agent::real::RealConfig::default(),
    )?;
    let agent = client.agent(id).await?;
    match globals.output {
        OutputFormat::Json => print_json(&json!({ "agent": agent }))?,
        OutputFormat::Human => {
            let or_dash = |v: Option<&str>| v.unwrap_or("-").to_owned();
            say!("agent      {}", agent.agent_id);
            say!(
                "name       {} {}",
                or_dash(agent.first_name.as_deref()),
                or_dash(agent.last_name.as_deref())
            );
            say!("user       {}", or_dash(agent.user_name.as_deref()));
            say!(
                "team       {} ({})",
                or_dash(agent.team_name.as_deref()),
                or_dash(agent.team_id.as_ref().map(|t| t.0.as_str()))
            );
            say!(
                "active     {}",
                agent
                    .is_active
                    .map_or("-", |a| if a { "yes" } else { "no" })
            );
            say!("updated    {}", or_dash(agent.last_updated.as_deref()));
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn print_update(
    out: OutputFormat,
    report: &UpdateReport,
    simulation: &cx_agent::Simulation,
    audit_file: &std::path::Path,
) -> CliResult {
    match out {
        OutputFormat::Json => {
            let mut doc = serde_json::to_value(report)?;
            if let Value::Object(m) = &mut doc {
                m.insert("dryRun".into(), json!(false));
                m.insert("written".into(), json!(true));
                m.insert("simulation".into(), serde_json::to_value(simulation)?);
                m.insert("auditFile".into(), json!(audit_file));
            }
            print_json(&doc)
        }
        OutputFormat::Human => {
            say!(
                "agent {}: work mode {} → {} (etag {} → {})",
                report.agent_id,
                report.previous_state.work_mode_id.as_deref().unwrap_or("-"),
                report.new_state.work_mode_id.as_deref().unwrap_or("-"),
                report.previous_state.etag.as_deref().unwrap_or("-"),
                report.new_state.etag.as_deref().unwrap_or("-"),
            );
            say!(
                "written in {:.1} ms after {} attempt(s) ({} conflict(s)); routing score {}",
                report.latency_ms,
                report.attempts,
                report.conflicts,
                simulation.routing_score
            );
            say!(
                "event {}; audit {}",
                report
                    .event
                    .as_ref()
                    .and_then(|e| e.event_id.as_deref())
                    .unwrap_or("-"),
                audit_file.display()
            );
            Ok(())
        }
    }
}
