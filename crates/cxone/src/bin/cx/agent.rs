//! `cx agent show | skills | set-workmode | simulate` (seed 002).

use std::process::ExitCode;
use std::sync::Arc;

use cx_agent::{
    Client, Config, RoutingSimulator, SkillLevel, UpdateReport, ValidationReport, WorkModePayload,
};
use serde_json::{Value, json};

use crate::output::{OutputFormat, print_json};
use crate::session::Session;
use crate::{CliResult, Globals};

/// Agent availability commands.
#[derive(Debug, clap::Subcommand)]
pub enum AgentCommand {
    #[command(flatten)]
    Real(crate::agent_real::RealAgentCommand),
    /// Show an agent's profile and its ETag.
    Show {
        /// The agent id, e.g. agent-001.
        id: String,
    },
    /// List every skill of an agent (all pages of nextPageUri).
    Skills {
        /// The agent id.
        id: String,
    },
    /// Validate and apply a work-mode change with If-Match; on 409 re-read,
    /// re-apply and retry. Publishes agent.availability.changed and writes an
    /// audit record.
    SetWorkmode {
        /// The agent id.
        id: String,
        #[command(flatten)]
        change: ChangeArgs,
        /// Validate and simulate only; write nothing.
        #[arg(long)]
        dry_run: bool,
        /// Send this ETag in the first If-Match instead of the one just read
        /// (a stale one takes the 409 → re-read → retry path).
        #[arg(long, value_name = "ETAG")]
        if_match: Option<String>,
        /// Attempts of the conditional update, the first included.
        #[arg(long, value_name = "N", default_value_t = 3)]
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
    /// repeat for several.
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
    let client = Client::new(session.http.clone(), config)?;
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
            let sim = RoutingSimulator { latency_seed: seed }.simulate(&agent, &payload, &clock);
            match out {
                OutputFormat::Json => print_json(&serde_json::to_value(&sim)?)?,
                OutputFormat::Human => println!(
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
            let (_session, client) = connect(globals, Config::default()).await?;
            let profile = client.profile(&id).await?;
            match out {
                OutputFormat::Json => print_json(&json!({
                    "etag": profile.etag,
                    "profile": profile.value,
                }))?,
                OutputFormat::Human => {
                    let p = &profile.value;
                    println!("agent      {}", p.id);
                    println!("work mode  {}", p.work_mode_id().unwrap_or("-"));
                    println!("etag       {}", profile.etag.as_deref().unwrap_or("-"));
                    for s in &p.skills {
                        println!("skill      {s}");
                    }
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        AgentCommand::Skills { id } => {
            let (_session, client) = connect(globals, Config::default()).await?;
            let skills = client.skills(&id).await?;
            match out {
                OutputFormat::Json => print_json(&json!({ "agentId": id, "skills": skills }))?,
                OutputFormat::Human => {
                    for s in &skills {
                        println!("{}  max concurrent {}", s.skill_id, s.max_concurrent());
                    }
                    println!("{} skill(s)", skills.len());
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        AgentCommand::SetWorkmode {
            id,
            change,
            dry_run,
            if_match,
            max_attempts,
        } => {
            let clock = cx_agent::SystemClock;
            // Bad input is refused before the session (and any request).
            let payload = change.payload(&clock)?;
            let config = Config {
                max_update_attempts: max_attempts,
                ..Config::default()
            };
            let (session, client) = connect(globals, config).await?;
            let simulation = RoutingSimulator::default().simulate(&id, &payload, &clock);
            if dry_run {
                let (validation, _, _) = client.validate(&id, &payload).await?;
                let doc = json!({
                    "agentId": id,
                    "dryRun": true,
                    "written": false,
                    "payload": payload,
                    "validation": validation,
                    "simulation": simulation,
                });
                match out {
                    OutputFormat::Json => print_json(&doc)?,
                    OutputFormat::Human => println!(
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
            if let Some(tag) = if_match {
                update = update.if_match(tag);
            }
            let report = update.send().await;
            cx_audit::AuditSink::flush(&*sink).await?;
            let report = report?;
            let audit_file = sink.path_for(report.new_state.timestamp.date_naive());
            print_update(out, &report, &simulation, &audit_file)?;
            Ok(ExitCode::SUCCESS)
        }
    }
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
            println!(
                "agent {}: work mode {} → {} (etag {} → {})",
                report.agent_id,
                report.previous_state.work_mode_id.as_deref().unwrap_or("-"),
                report.new_state.work_mode_id.as_deref().unwrap_or("-"),
                report.previous_state.etag.as_deref().unwrap_or("-"),
                report.new_state.etag.as_deref().unwrap_or("-"),
            );
            println!(
                "written in {:.1} ms after {} attempt(s) ({} conflict(s)); routing score {}",
                report.latency_ms, report.attempts, report.conflicts, simulation.routing_score
            );
            println!(
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
