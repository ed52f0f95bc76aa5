//! `cx webhook serve`: seed 001 step 4's completion webhook receiver as a
//! process, auditing into `--audit-dir`.

use std::net::{Ipv4Addr, SocketAddr};
use std::process::ExitCode;
use std::sync::Arc;

use cx_audit::JsonlSink;
use cxone::webhook::{COMPLETION_PATH, completion_receiver, recorded_completions};
use secrecy::SecretString;

use crate::output::{note, say};
use crate::{CliResult, Globals};

/// Webhook commands.
#[derive(Debug, clap::Subcommand)]
pub enum WebhookCommand {
    /// Receive signed instance-completion webhooks on 127.0.0.1 until
    /// interrupted; prints the URL to register. Each instance is audited
    /// once as WORKFLOW_COMPLETED (with the ERP sync payload) in
    /// `--audit-dir`. Deliveries must carry `X-CX-Timestamp` (Unix seconds,
    /// at most 5 minutes off) and `X-CX-Signature: sha256=<hex
    /// HMAC-SHA256(secret, "<timestamp>.<body>")>`; others get 401.
    Serve {
        /// Port to listen on (0 picks a free one).
        #[arg(long, default_value_t = 0)]
        port: u16,
        /// Name of the environment variable holding the shared secret (the
        /// secret itself never goes on the command line).
        #[arg(long)]
        secret_env: String,
    },
}

/// Run a webhook command.
///
/// # Errors
/// A missing secret, an unreadable audit directory, a port that cannot be bound.
pub async fn run(cmd: WebhookCommand, globals: &Globals) -> CliResult<ExitCode> {
    let WebhookCommand::Serve { port, secret_env } = cmd;
    let secret = match std::env::var(&secret_env) {
        Ok(s) if !s.is_empty() => SecretString::from(s),
        _ => {
            return Err(format!(
                "--secret-env: environment variable {secret_env} is not set or empty"
            )
            .into());
        }
    };
    // Opening repairs a crashed writer's partial line before anything is read.
    let sink = Arc::new(JsonlSink::open(&globals.audit_dir).await?);
    let dir = globals.audit_dir.clone();
    let recorded = tokio::task::spawn_blocking(move || recorded_completions(&dir)).await??;
    let receiver = completion_receiver(secret, sink.clone()).with_recorded(recorded);
    let listener = tokio::net::TcpListener::bind(SocketAddr::from((Ipv4Addr::LOCALHOST, port)))
        .await
        .map_err(|e| format!("cannot listen on 127.0.0.1:{port}: {e}"))?;
    let url = format!("http://{}{COMPLETION_PATH}", listener.local_addr()?);
    say!("{url}");
    note!(
        "cx: receiving completion webhooks at {url}, auditing to {}; Ctrl-C stops it",
        globals.audit_dir.display()
    );
    axum::serve(listener, receiver.router(COMPLETION_PATH))
        .with_graceful_shutdown(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await?;
    cx_audit::AuditSink::flush(&*sink).await?;
    Ok(ExitCode::SUCCESS)
}
