//! `cx history query` (seed 003): stream an interaction-history query,
//! analyse the paths, print bottlenecks and per-node aggregates.

use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use cx_audit::AuditSink as _;
use cx_history::{Client, Config, HistoryQuery, HistoryReport, parse_instant};

use crate::output::{OutputArg, human, print_json, records_bar};
use crate::session::Session;
use crate::{CliResult, Globals};

/// Interaction-history commands.
#[derive(Debug, clap::Subcommand)]
pub enum HistoryCommand {
    /// Query interaction history and report bottlenecks and per-node
    /// aggregates. `--output table|csv|json` picks the format.
    Query {
        /// An interaction id (repeat for several).
        #[arg(long = "interaction", value_name = "ID")]
        interactions: Vec<String>,
        /// Select interactions whose id starts with this prefix.
        #[arg(long, value_name = "PREFIX")]
        interaction_prefix: Option<String>,
        /// Earliest step start: RFC 3339 with a zone, or an age such as
        /// `90s`, `30m`, `2h`, `7d` (at most 30 days back).
        #[arg(long, value_name = "RFC3339|AGE", allow_hyphen_values = true)]
        since: Option<String>,
        /// Latest step start: RFC 3339 with a zone, or an age.
        #[arg(long, value_name = "RFC3339|AGE", allow_hyphen_values = true)]
        until: Option<String>,
        /// Only steps in an error state.
        #[arg(long)]
        errors_only: bool,
        /// Decision points dwelling longer than this many seconds are
        /// bottlenecks.
        #[arg(
            long,
            value_name = "SECS",
            default_value_t = 15.0,
            allow_negative_numbers = true
        )]
        threshold: f64,
        /// Page size, 1..=1000.
        #[arg(long, default_value_t = 100)]
        limit: u32,
        /// Page requests in flight at once (the tenant's quota is 5).
        #[arg(long, value_name = "N", default_value_t = 5)]
        concurrency: usize,
        /// POST the completion report to this URL when done.
        #[arg(long, value_name = "URL")]
        webhook: Option<String>,
    },
}

/// Run a history command.
///
/// # Errors
/// Validation (before any request), API, audit and webhook failures.
pub async fn run(cmd: HistoryCommand, globals: &Globals) -> CliResult<ExitCode> {
    let HistoryCommand::Query {
        interactions,
        interaction_prefix,
        since,
        until,
        errors_only,
        threshold,
        limit,
        concurrency,
        webhook,
    } = cmd;
    let threshold = Duration::try_from_secs_f64(threshold)
        .map_err(|_| format!("invalid --threshold {threshold}: expected seconds ≥ 0"))?;
    if concurrency == 0 {
        return Err("invalid --concurrency 0: expected at least 1".into());
    }
    let mut builder = HistoryQuery::builder()
        .interactions(interactions)
        .limit(limit);
    if let Some(p) = interaction_prefix {
        builder = builder.interaction_prefix(p);
    }
    // Ages are measured from one now, so `--since 2h --until 1h` is an hour.
    let now = Utc::now();
    if let Some(s) = since {
        builder = builder.start(parse_instant("--since", &s, now)?.to_rfc3339());
    }
    if let Some(u) = until {
        builder = builder.end(parse_instant("--until", &u, now)?.to_rfc3339());
    }
    if errors_only {
        builder = builder.errors_only();
    }
    let query = builder.build()?;

    let session = Session::open(&globals.tenant).await?;
    let audit = Arc::new(session.audit(&globals.audit_dir).await?);
    let client = Client::new(
        session.http.clone(),
        Config::default().with_max_in_flight(concurrency),
    )
    .with_audit(audit.clone());
    let bar = records_bar("history");
    let progress = bar.clone();
    let mut run = client
        .report(&query)
        .threshold(threshold)
        .on_progress(move |p| {
            if let Some(total) = p.total {
                progress.set_length(total);
            }
            progress.set_position(p.records);
        });
    if let Some(url) = webhook {
        run = run.webhook(url);
    }
    let result = run.send().await;
    bar.finish_and_clear();
    audit.flush().await?;
    match result {
        Ok(report) => {
            print_report(&report, globals.output_arg)?;
            Ok(ExitCode::SUCCESS)
        }
        Err(e) => {
            // The report is complete even when its webhook failed: show it,
            // then fail with the reason.
            if let Some(report) = e.report() {
                print_report(report, globals.output_arg)?;
            }
            Err(e.into())
        }
    }
}

fn print_report(report: &HistoryReport, output: OutputArg) -> CliResult {
    match output {
        OutputArg::Json => print_json(&serde_json::to_value(report)?),
        OutputArg::Csv => {
            human(&csv(report));
            Ok(())
        }
        OutputArg::Human | OutputArg::Table => {
            human(&tables(report));
            Ok(())
        }
    }
}

fn secs(v: f64) -> String {
    format!("{v:.3}")
}

/// One CSV document: a `node` row per node aggregate and a `bottleneck`
/// row per bottleneck, sharing one header.
fn csv(report: &HistoryReport) -> String {
    let field = csv_field;
    let mut out = String::from(
        "record,interaction_id,node_id,node_type,count,mean_s,p50_s,p95_s,max_s,error_rate,dwell_s\n",
    );
    for n in &report.analysis.nodes {
        out.push_str(&format!(
            "node,,{},{},{},{},{},{},{},{:.4},\n",
            field(&n.node_id),
            field(&n.node_type),
            n.count,
            secs(n.mean_seconds),
            secs(n.p50_seconds),
            secs(n.p95_seconds),
            secs(n.max_seconds),
            n.error_rate
        ));
    }
    for b in &report.analysis.bottlenecks {
        out.push_str(&format!(
            "bottleneck,{},{},{},,,,,,,{}\n",
            field(&b.interaction_id),
            field(&b.node_id),
            field(&b.node_type),
            b.dwell_seconds.map(secs).unwrap_or_default()
        ));
    }
    out
}

/// One CSV field, quoted when it holds a comma, quote or line break.
fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_owned()
    }
}

/// A CSV document: `header` then `rows`, one line each.
pub(crate) fn csv_table(header: &[&str], rows: &[Vec<String>]) -> String {
    let mut out = header
        .iter()
        .map(|h| h.to_lowercase())
        .collect::<Vec<_>>()
        .join(",");
    out.push('\n');
    for row in rows {
        let fields: Vec<String> = row.iter().map(|c| csv_field(c)).collect();
        out.push_str(&fields.join(","));
        out.push('\n');
    }
    out
}

/// Left-aligned columns, two spaces apart.
pub(crate) fn table(header: &[&str], rows: &[Vec<String>]) -> String {
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let line = |cells: Vec<String>| {
        let padded: Vec<String> = cells
            .iter()
            .zip(&widths)
            .map(|(c, w)| format!("{c:<w$}"))
            .collect();
        format!("  {}\n", padded.join("  ").trim_end())
    };
    let mut out = line(header.iter().map(|h| (*h).to_owned()).collect());
    for row in rows {
        out.push_str(&line(row.clone()));
    }
    out
}

/// A bottleneck's row: interaction, node, type, dwell (s).
fn bottleneck_row(b: &cx_history::StepReport) -> Vec<String> {
    vec![
        b.interaction_id.clone(),
        b.node_id.clone(),
        b.node_type.clone(),
        b.dwell_seconds.map(secs).unwrap_or_default(),
    ]
}

/// A node's row: node, type, count, mean/p50/p95/max (s), error rate.
fn node_row(n: &cx_history::NodeStats) -> Vec<String> {
    vec![
        n.node_id.clone(),
        n.node_type.clone(),
        n.count.to_string(),
        secs(n.mean_seconds),
        secs(n.p50_seconds),
        secs(n.p95_seconds),
        secs(n.max_seconds),
        format!("{:.1}%", n.error_rate * 100.0),
    ]
}

fn tables(report: &HistoryReport) -> String {
    let a = &report.analysis;
    let mut out = format!(
        "{} of {} interactions, {} steps in {:.1} ms (accuracy {:.1}%, {})\n",
        report.records_retrieved,
        report.records_reported,
        report.steps_retrieved,
        report.extraction_latency_ms,
        report.accuracy_rate * 100.0,
        report.compliance_status.as_str()
    );
    out.push_str(&format!(
        "\nbottlenecks (decision points over {} s): {}\n",
        a.threshold_seconds, a.bottleneck_count
    ));
    if !a.bottlenecks.is_empty() {
        let rows: Vec<Vec<String>> = a.bottlenecks.iter().map(bottleneck_row).collect();
        out.push_str(&table(&["INTERACTION", "NODE", "TYPE", "DWELL_S"], &rows));
    }
    out.push_str("\nnodes:\n");
    let rows: Vec<Vec<String>> = a.nodes.iter().map(node_row).collect();
    out.push_str(&table(
        &[
            "NODE", "TYPE", "COUNT", "MEAN_S", "P50_S", "P95_S", "MAX_S", "ERRORS",
        ],
        &rows,
    ));
    if !a.top_paths.is_empty() {
        out.push_str("\nmost frequent paths:\n");
        for p in &a.top_paths {
            out.push_str(&format!("  {:>6}  {}\n", p.count, p.nodes.join(" > ")));
        }
    }
    if a.data_error_count > 0 {
        out.push_str(&format!("\ndata errors: {}\n", a.data_error_count));
        for e in &a.data_errors {
            out.push_str(&format!(
                "  {} {}: {}\n",
                e.interaction_id, e.node_id, e.message
            ));
        }
    }
    if let Some(w) = &report.webhook {
        out.push_str(&format!(
            "\nwebhook {}: {}\n",
            w.url,
            if w.delivered { "delivered" } else { "FAILED" }
        ));
    }
    out
}
