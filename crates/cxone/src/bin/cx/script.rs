//! `cx script start` and `cx script signal`: spawning CXone Studio scripts
//! and following them through their contact (issue 17,
//! `../shared/CXONE_REST.md` §5 and §9).

use std::process::ExitCode;
use std::time::Duration;

use cx_http::Poller;
use cx_workflow::scripts::{Client, ContactId, ScriptRef, ScriptRun, ScriptsConfig, StartScript};
use serde_json::{Value, json};

use crate::output::{OutputFormat, note, print_json, say, spinner};
use crate::session::{Session, TenantKind};
use crate::{CliResult, Globals};

/// How long a script runs on the embedded simulator, so that `--follow`
/// ends in seconds (its scripts run 60–300 s of simulated time otherwise).
const EMBEDDED_RUN_TIME: Duration = Duration::from_secs(2);

/// What CXone does not show, said with every followed run.
const NO_RUN_STATUS: &str = "CXone exposes no run status or output for a script: \
     this is its contact (active while the script ran, then its record and state history)";

/// Script commands.
#[derive(Debug, clap::Subcommand)]
pub enum ScriptCommand {
    /// Start a Studio script; prints the contact id that is its only handle.
    Start {
        /// The script id (or give --name).
        #[arg(required_unless_present = "name", conflicts_with = "name")]
        script_id: Option<u64>,
        /// Find the script by its name instead of an id.
        #[arg(long, value_name = "NAME")]
        name: Option<String>,
        /// The skill the script's contact runs under.
        #[arg(long, value_name = "SKILL_ID")]
        skill: u64,
        /// A value for the script, in order (joined with | on the wire, so a
        /// value may not contain |).
        #[arg(long = "param", value_name = "VALUE")]
        params: Vec<String>,
        /// Use NICE's SDK form (POST /scripts/{scriptId}/start) instead of
        /// the v34 form (POST /scripts/start).
        #[arg(long)]
        sdk_form: bool,
        /// Wait until the script's contact ends, then print its record and
        /// state history.
        #[arg(long)]
        follow: bool,
    },
    /// Send up to nine values (p1..p9) to the script running on a contact.
    Signal {
        /// The contact the script runs on.
        contact_id: String,
        /// The values, p1 first.
        #[arg(value_name = "VALUE", num_args = 0..=9)]
        values: Vec<String>,
    },
}

/// Run a script command.
///
/// # Errors
/// Bad input (before any request), an unknown script name, a refused start
/// or signal, a follow that ran out of time.
pub async fn run(cmd: ScriptCommand, globals: &Globals) -> CliResult<ExitCode> {
    let session = Session::open(&globals.tenant).await?;
    let mut config = ScriptsConfig::default();
    if let (TenantKind::EmbeddedSimulator, Some(sim)) = (session.kind, &session._sim) {
        sim.set_script_run_time(Some(EMBEDDED_RUN_TIME));
        config = config.with_follow(
            Poller::default()
                .with_initial_delay(Duration::from_millis(500))
                .with_max_delay(Duration::from_secs(1)),
        );
        note!("cx: the embedded simulator's scripts run 2 s");
    }
    let client = Client::new(session.http.clone(), config)?;
    match cmd {
        ScriptCommand::Start {
            script_id,
            name,
            skill,
            params,
            sdk_form,
            follow,
        } => {
            let id = match (script_id, name) {
                (Some(id), _) => id,
                (None, Some(name)) => {
                    let script = client.find_script(&name).await?.ok_or_else(|| {
                        format!("no script is called {:?}", cx_http::escape(&name))
                    })?;
                    script.script_id.0.parse::<u64>().map_err(|_| {
                        format!(
                            "script {:?} has a non-numeric id {:?}",
                            cx_http::escape(&name),
                            cx_http::escape(&script.script_id.0)
                        )
                    })?
                }
                (None, None) => return Err("give a script id or --name".into()),
            };
            let start = StartScript::new(skill).with_parameters(params);
            let contact = if sdk_form {
                client.start_sdk(id, &start).await?
            } else {
                client.start(&ScriptRef::Id(id), &start).await?
            };
            if !follow {
                match globals.output {
                    OutputFormat::Json => {
                        print_json(&json!({"scriptId": id, "contactId": contact.as_str()}))?;
                    }
                    OutputFormat::Human => say!("started script {id} as contact {contact}"),
                }
                return Ok(ExitCode::SUCCESS);
            }
            let bar = spinner(&format!("script {id} running as contact {contact}"));
            let run = client
                .follow(&contact, |entry| {
                    let state = entry["stateName"].as_str().unwrap_or("active");
                    bar.set_message(format!("contact {contact}: {}", cx_http::escape(state)));
                })
                .await;
            bar.finish_and_clear();
            print_run(id, &run?, globals.output)?;
            Ok(ExitCode::SUCCESS)
        }
        ScriptCommand::Signal { contact_id, values } => {
            let contact = ContactId::new(contact_id)?;
            client.signal(&contact, &values).await?;
            match globals.output {
                OutputFormat::Json => print_json(&json!({
                    "contactId": contact.as_str(),
                    "signalled": values,
                }))?,
                OutputFormat::Human => say!(
                    "signalled contact {contact} with {}",
                    crate::output::count(u32::try_from(values.len()).unwrap_or(9), "value")
                ),
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}

fn print_run(script_id: u64, run: &ScriptRun, output: OutputFormat) -> CliResult {
    match output {
        OutputFormat::Json => print_json(&json!({
            "scriptId": script_id,
            "contactId": run.contact_id.as_str(),
            "note": NO_RUN_STATUS,
            "polls": run.polls,
            "lastActive": run.last_active,
            "record": run.record,
            "states": run.states,
        })),
        OutputFormat::Human => {
            let field = |names: &[&str]| {
                names
                    .iter()
                    .find_map(|n| run.record.get(*n).filter(|v| !v.is_null()))
                    .map_or_else(|| "?".to_owned(), text)
            };
            say!(
                "script {script_id} ran as contact {}: ended ({}), {} s in total",
                run.contact_id,
                field(&["endReason"]),
                field(&["totalDurationSeconds"])
            );
            for s in &run.states {
                say!(
                    "  {} at {} for {} s",
                    s.contact_state_name.as_deref().unwrap_or("?"),
                    s.start_date.as_deref().unwrap_or("?"),
                    s.duration.as_ref().map_or_else(|| "?".to_owned(), text)
                );
            }
            say!("{NO_RUN_STATUS}");
            Ok(())
        }
    }
}

/// A JSON value as plain text (strings without their quotes).
fn text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}
