//! `cx contacts completed | states | analyze`: CXone's completed contacts,
//! their state histories and analytics (`cx_history::real`), for a tenant
//! logged in with an access key (or the embedded simulator, which serves
//! the real API too).
//!
//! `--incremental` keeps the last pull's `lastPollTime` per tenant in
//! `<cache dir>/cx/contacts-poll.json` (`$XDG_CACHE_HOME` or `~/.cache` on
//! Linux): `{"version": 1, "tenants": {"https://api.example.com":
//! "2024-05-01T12:00:00.000Z"}}` (the embedded simulator is
//! `embedded-simulator`). A missing or unreadable file means "no previous
//! pull"; a failure to write it is reported on stderr and fails the
//! command, since the next incremental pull would read everything again.

use std::path::PathBuf;
use std::process::ExitCode;

use chrono::{DateTime, Utc};
use cx_history::parse_instant;
use cx_history::real::analytics::{
    ContactAnalyzer, ContactTable, GroupBy, GroupRow, QueueTop, Summary, state_path,
};
use cx_history::real::{Client, CompletedContact, ContactQuery, Pull, RealConfig};
use cx_history::{AnalyzerConfig, PathAnalyzer};
use futures::TryStreamExt as _;
use serde_json::{Map, Value, json};

use crate::agent_real::{cell, iso, print_list};
use crate::output::{OutputArg, human, print_json, records_bar, say};
use crate::session::{Binding, Session, TenantKind};
use crate::{CliResult, Globals};

/// Completed contacts, state histories and their analytics (CXone's
/// `/contacts/...`). Needs an access-key login.
#[derive(Debug, clap::Subcommand)]
pub enum ContactsCommand {
    /// List completed contacts (CXone `GET /contacts/completed`, every
    /// page, ranges over 30 days read in 30-day windows).
    /// `--output table|csv|json`.
    Completed {
        #[command(flatten)]
        range: RangeArgs,
        /// Read only what changed since the previous `--incremental` pull
        /// on this tenant (`updatedSince` = its `lastPollTime`, at most 30
        /// days back); the first pull reads `--since`.
        #[arg(long)]
        incremental: bool,
    },
    /// A contact's state history (CXone `GET
    /// /contacts/{contactId}/state-history`). `--output table|csv|json`.
    States {
        /// The contact id.
        contact: String,
    },
    /// Contacts, abandon rate, service level and queue/handle/hold/ACW/total
    /// durations (p50/p95/mean/max) per skill, agent, team or hour, the
    /// contacts longest in queue, and the time per contact state of a
    /// sample of state histories. `--output table|csv|json`.
    Analyze {
        #[command(flatten)]
        range: RangeArgs,
        /// What to group by.
        #[arg(long, value_enum, default_value_t = GroupArg::Skill)]
        group_by: GroupArg,
        /// How many of the contacts longest in queue to show.
        #[arg(long, value_name = "N", default_value_t = 10)]
        top: usize,
        /// Read the state history of this many contacts (the first ones
        /// read) for the time per contact state and the state paths; 0
        /// skips it.
        #[arg(long, value_name = "N", default_value_t = 50)]
        state_sample: usize,
    },
}

/// The date range and filters of a completed-contact read.
#[derive(Debug, clap::Args)]
pub struct RangeArgs {
    /// Start: an age (`7d`, `12h`, `30m`) or an RFC 3339 instant.
    #[arg(long, value_name = "AGE|RFC3339", default_value = "1d")]
    since: String,
    /// End (default now): an age or an RFC 3339 instant.
    #[arg(long, value_name = "AGE|RFC3339")]
    until: Option<String>,
    /// Only contacts of this skill id.
    #[arg(long, value_name = "SKILL_ID")]
    skill: Option<String>,
    /// Only contacts of this agent id.
    #[arg(long, value_name = "AGENT_ID")]
    agent: Option<String>,
    /// Only contacts of this team id.
    #[arg(long, value_name = "TEAM_ID")]
    team: Option<String>,
}

/// `--group-by`.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum GroupArg {
    /// Per skill.
    Skill,
    /// Per agent.
    Agent,
    /// Per team.
    Team,
    /// Per hour of day (UTC).
    Hour,
}

impl RangeArgs {
    /// The query: `[since, until)` with the filters.
    fn query(&self, now: DateTime<Utc>) -> CliResult<ContactQuery> {
        let start = parse_instant("--since", &self.since, now)?.with_timezone(&Utc);
        let end = self
            .until
            .as_deref()
            .map(|u| parse_instant("--until", u, now).map(|t| t.with_timezone(&Utc)))
            .transpose()?;
        Ok(self.filtered(ContactQuery::range(start, end)))
    }

    fn filtered(&self, mut query: ContactQuery) -> ContactQuery {
        query.skill_id = self.skill.clone();
        query.agent_id = self.agent.clone();
        query.team_id = self.team.clone();
        query
    }
}

async fn connect(globals: &Globals) -> CliResult<(Session, Client)> {
    let session = Session::open(&globals.tenant).await?;
    session.require(Binding::Real, "cx contacts")?;
    let client = Client::new(session.http.clone(), RealConfig::default())?;
    Ok((session, client))
}

fn num(v: Option<f64>) -> String {
    v.map_or_else(|| "-".to_owned(), |v| format!("{v:.1}"))
}

/// Runs `cmd`.
pub async fn run(cmd: ContactsCommand, globals: &Globals) -> CliResult<ExitCode> {
    match cmd {
        ContactsCommand::Completed { range, incremental } => {
            completed(globals, &range, incremental).await?;
        }
        ContactsCommand::States { contact } => {
            let (_session, client) = connect(globals).await?;
            let states = client.state_history(&contact).await?;
            let rows: Vec<Vec<String>> = states
                .iter()
                .map(|s| {
                    vec![
                        cell(s.state_index.map(|i| i.to_string()).as_deref()),
                        cell(s.contact_state_name.as_deref()),
                        cell(s.start_date.as_deref()),
                        num(s.duration),
                        cell(s.agent_id.as_ref().map(|a| a.0.as_str())),
                        cell(s.skill_id.as_ref().map(|a| a.0.as_str())),
                    ]
                })
                .collect();
            print_list(
                globals,
                &json!({ "contactId": contact, "contactStateHistory": states }),
                &["INDEX", "STATE", "START", "SECONDS", "AGENT", "SKILL"],
                &rows,
                &format!("{} state(s)", states.len()),
            )?;
        }
        ContactsCommand::Analyze {
            range,
            group_by,
            top,
            state_sample,
        } => analyze(globals, &range, group_by, top, state_sample).await?,
    }
    Ok(ExitCode::SUCCESS)
}

const COMPLETED_HEADER: &[&str] = &[
    "CONTACT",
    "START",
    "SKILL",
    "AGENT",
    "TEAM",
    "QUEUE_S",
    "HANDLE_S",
    "ABANDONED",
];

fn completed_row(c: &CompletedContact) -> Vec<String> {
    let id = |v: &Option<cx_history::real::Id>| cell(v.as_ref().map(|i| i.0.as_str()));
    vec![
        id(&c.contact_id),
        cell(c.contact_start_date.as_deref()),
        id(&c.skill_id),
        id(&c.agent_id),
        id(&c.team_id),
        num(c.in_queue_seconds),
        num(c.agent_seconds),
        cell(c.abandoned.map(|a| if a { "yes" } else { "no" })),
    ]
}

async fn completed(globals: &Globals, range: &RangeArgs, incremental: bool) -> CliResult {
    let now = Utc::now();
    let (session, client) = connect(globals).await?;
    let key = tenant_key(&session);
    let previous = if incremental { read_poll(&key) } else { None };
    let query = match previous {
        Some(at) => range.filtered(ContactQuery::incremental(Some(at), now)),
        None => range.query(now)?,
    };
    let bar = records_bar("contacts");
    let mut pull = Pull::default();
    let mut contacts = Vec::new();
    let mut pages = std::pin::pin!(client.completed_pages(&query));
    while let Some(page) = pages.try_next().await? {
        pull.observe(&page);
        if let Some(total) = page.total_records {
            bar.set_length(total);
        }
        contacts.extend(page.contacts);
        bar.set_position(u64::try_from(contacts.len()).unwrap_or(u64::MAX));
    }
    bar.finish_and_clear();
    let poll = pull.last_poll_time.or(previous);
    if incremental && let Some(at) = poll {
        write_poll(&key, at)?;
    }
    let rows: Vec<Vec<String>> = contacts.iter().map(completed_row).collect();
    let poll_text = poll.map(iso);
    print_list(
        globals,
        &json!({
            "lastPollTime": poll_text,
            "updatedSince": query.updated_since.map(iso),
            "completedContacts": contacts,
        }),
        COMPLETED_HEADER,
        &rows,
        &format!(
            "{} completed contact(s); lastPollTime {}",
            contacts.len(),
            poll_text.as_deref().unwrap_or("-")
        ),
    )
}

async fn analyze(
    globals: &Globals,
    range: &RangeArgs,
    group_by: GroupArg,
    top: usize,
    state_sample: usize,
) -> CliResult {
    let query = range.query(Utc::now())?;
    let (_session, client) = connect(globals).await?;
    let by = match group_by {
        GroupArg::Skill => GroupBy::Skill,
        GroupArg::Agent => GroupBy::Agent,
        GroupArg::Team => GroupBy::Team,
        GroupArg::Hour => GroupBy::Hour,
    };
    let mut analyzer = ContactAnalyzer::new(by, top);
    let mut sample: Vec<String> = Vec::new();
    let bar = records_bar("contacts");
    let mut pages = std::pin::pin!(client.completed_pages(&query));
    while let Some(page) = pages.try_next().await? {
        if let Some(total) = page.total_records {
            bar.set_length(total);
        }
        for c in &page.contacts {
            analyzer.observe(c);
            if sample.len() < state_sample
                && let Some(id) = &c.contact_id
            {
                sample.push(id.0.clone());
            }
        }
        bar.set_position(analyzer.contacts());
    }
    bar.finish_and_clear();
    let table = analyzer.finish();
    let mut paths = PathAnalyzer::new(AnalyzerConfig::default());
    for id in &sample {
        let states = client.state_history(id).await?;
        paths.observe(&state_path(id, &states));
    }
    let states = (!sample.is_empty()).then(|| paths.finish());
    let rows: Vec<Vec<String>> = table
        .groups
        .iter()
        .chain([&table.overall])
        .map(group_row)
        .collect();
    match globals.output_arg {
        OutputArg::Json => print_json(&json!({ "table": table, "states": states }))?,
        OutputArg::Csv => human(&crate::history::csv_table(GROUP_HEADER, &rows)),
        OutputArg::Human | OutputArg::Table => {
            human(&crate::history::table(GROUP_HEADER, &rows));
            print_extras(&table, states.as_ref());
        }
    }
    Ok(())
}

const GROUP_HEADER: &[&str] = &[
    "GROUP",
    "CONTACTS",
    "ABANDON_PCT",
    "SHORT_ABANDONS",
    "SL_PCT",
    "TRANSFERS",
    "REFUSALS",
    "QUEUE_P50",
    "QUEUE_P95",
    "QUEUE_MEAN",
    "QUEUE_MAX",
    "HANDLE_P50",
    "HANDLE_P95",
    "HANDLE_MEAN",
    "HANDLE_MAX",
    "HOLD_MEAN",
    "ACW_MEAN",
    "TOTAL_P50",
    "TOTAL_P95",
    "TOTAL_MEAN",
    "TOTAL_MAX",
];

fn group_row(g: &GroupRow) -> Vec<String> {
    let four = |s: &Summary| [num(s.p50), num(s.p95), num(s.mean), num(s.max)];
    let mut row = vec![
        cell(Some(&g.key)),
        g.contacts.to_string(),
        format!("{:.1}", 100.0 * g.abandon_rate),
        g.short_abandons.to_string(),
        num(g.service_level_pct),
        g.transfers.to_string(),
        g.refusals.to_string(),
    ];
    row.extend(four(&g.queue));
    row.extend(four(&g.handle));
    row.push(num(g.hold.mean));
    row.push(num(g.acw.mean));
    row.extend(four(&g.total));
    row
}

/// A longest-in-queue row: contact, queue time (s), group, start.
fn queue_top_row(t: &QueueTop) -> Vec<String> {
    vec![
        cell(Some(&t.contact_id)),
        num(Some(t.in_queue_seconds)),
        cell(Some(&t.key)),
        cell(t.contact_start_date.as_deref()),
    ]
}

/// A contact state's row: state, count, mean and max time in it (s).
fn contact_state_row(n: &cx_history::NodeStats) -> Vec<String> {
    vec![
        cell(Some(&n.node_id)),
        n.count.to_string(),
        num(Some(n.mean_seconds)),
        num(Some(n.max_seconds)),
    ]
}

fn print_extras(table: &ContactTable, states: Option<&cx_history::Analysis>) {
    if !table.top_queue.is_empty() {
        say!();
        say!("longest in queue:");
        let rows: Vec<Vec<String>> = table.top_queue.iter().map(queue_top_row).collect();
        human(&crate::history::table(
            &["CONTACT", "QUEUE_S", "GROUP", "START"],
            &rows,
        ));
    }
    if let Some(a) = states {
        say!();
        say!(
            "time per contact state ({} contacts sampled):",
            a.interactions
        );
        let rows: Vec<Vec<String>> = a.nodes.iter().map(contact_state_row).collect();
        human(&crate::history::table(
            &["STATE", "COUNT", "MEAN_S", "MAX_S"],
            &rows,
        ));
        for p in &a.top_paths {
            say!("{:>6}  {}", p.count, p.nodes.join(" > "));
        }
    }
    say!("{} contact(s) analysed", table.contacts);
}

/// The state file of `--incremental`.
fn poll_path() -> Option<PathBuf> {
    dirs::cache_dir().map(|d| d.join("cx").join("contacts-poll.json"))
}

fn tenant_key(session: &Session) -> String {
    match session.kind {
        TenantKind::EmbeddedSimulator => TenantKind::EmbeddedSimulator.as_str().to_owned(),
        _ => session.api_url.clone(),
    }
}

/// Every tenant's last `lastPollTime` (empty when the file is missing or
/// not ours).
fn read_polls() -> Map<String, Value> {
    let doc = poll_path()
        .and_then(|p| std::fs::read_to_string(p).ok())
        .and_then(|t| serde_json::from_str::<Value>(&t).ok());
    match doc {
        Some(Value::Object(mut doc)) if doc.get("version") == Some(&json!(1)) => {
            match doc.remove("tenants") {
                Some(Value::Object(t)) => t,
                _ => Map::new(),
            }
        }
        _ => Map::new(),
    }
}

fn read_poll(key: &str) -> Option<DateTime<Utc>> {
    read_polls()
        .get(key)
        .and_then(Value::as_str)
        .and_then(cx_history::real::parse_time)
}

fn write_poll(key: &str, at: DateTime<Utc>) -> CliResult {
    let path = poll_path().ok_or("no cache directory to keep the incremental state in")?;
    let mut tenants = read_polls();
    tenants.insert(key.to_owned(), json!(iso(at)));
    let text = serde_json::to_string_pretty(&json!({ "version": 1, "tenants": tenants }))?;
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let tmp = path.with_extension("json.tmp");
    std::fs::write(&tmp, text)?;
    std::fs::rename(&tmp, &path)?;
    Ok(())
}
