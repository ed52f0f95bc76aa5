//! `cx sim serve`: the simulator as a process.

use secrecy::{ExposeSecret, SecretString};
use std::process::ExitCode;
use std::time::Duration;

use cx_sim::{AccessKey, ClientRegistration, Sim};

use crate::output::{note, say};

/// Simulator commands.
#[derive(Debug, clap::Subcommand)]
pub enum SimCommand {
    /// Serve the simulator on 127.0.0.1 until interrupted; prints its base URL.
    Serve {
        /// Port to listen on (0 picks a free one).
        #[arg(long, default_value_t = 0)]
        port: u16,
        /// Register this OAuth client (all scopes) in the default tenant.
        #[arg(long, requires = "client_secret")]
        client_id: Option<String>,
        /// Secret of `--client-id`.
        #[arg(long, requires = "client_id", value_parser = crate::session::secret_arg)]
        client_secret: Option<SecretString>,
        /// Register this CXone access key (password grant) in the default
        /// tenant, next to the built-in one.
        #[arg(long, requires = "access_key_secret")]
        access_key_id: Option<String>,
        /// Secret of `--access-key-id`.
        #[arg(long, requires = "access_key_id", value_parser = crate::session::secret_arg)]
        access_key_secret: Option<SecretString>,
        /// Seed of the fault injector's randomness.
        #[arg(long, default_value_t = 0)]
        seed: u64,
        /// Finished executions, instances and jobs kept per tenant and kind
        /// (the oldest beyond it are evicted; also bounds stored idempotent
        /// responses, and the audit log at 4× this).
        #[arg(long, value_name = "N", default_value_t = cx_sim::Retention::default().max_finished)]
        keep_finished: usize,
        /// Seconds (sim time) finished resources and idempotent responses
        /// are kept.
        #[arg(
            long,
            value_name = "SECS",
            default_value_t = cx_sim::Retention::default().max_age.as_secs(),
            value_parser = clap::value_parser!(u64).range(1..=315_360_000)
        )]
        keep_for: u64,
        /// Access tokens kept at most (expired ones go first, then the oldest).
        #[arg(long, value_name = "N", default_value_t = cx_sim::DEFAULT_MAX_TOKENS)]
        max_tokens: usize,
        /// Requests kept in the journal (`GET /_sim/journal`); the oldest
        /// beyond it are dropped.
        #[arg(long, value_name = "N", default_value_t = 10_000)]
        journal_capacity: usize,
    },
}

/// Run a simulator command.
///
/// # Errors
/// When the port cannot be bound.
pub async fn run(cmd: SimCommand) -> crate::CliResult<ExitCode> {
    let SimCommand::Serve {
        port,
        client_id,
        client_secret,
        access_key_id,
        access_key_secret,
        seed,
        keep_finished,
        keep_for,
        max_tokens,
        journal_capacity,
    } = cmd;
    let mut builder = Sim::builder()
        .port(port)
        .seed(seed)
        .retention(
            cx_sim::Retention::default()
                .with_max_age(Duration::from_secs(keep_for))
                .with_max_finished(keep_finished),
        )
        .max_tokens(max_tokens)
        .journal_capacity(journal_capacity);
    if let (Some(id), Some(secret)) = (client_id.clone(), client_secret) {
        let secret = secret.expose_secret().to_owned();
        builder = builder.client(ClientRegistration::new(id, secret, cx_sim::DEFAULT_TENANT));
    }
    if let (Some(id), Some(secret)) = (access_key_id.clone(), access_key_secret) {
        let secret = secret.expose_secret().to_owned();
        builder = builder.access_key(AccessKey::new(id, secret, cx_sim::DEFAULT_TENANT));
    }
    let sim = builder.start().await?;
    say!("{}", sim.base_url());
    note!(
        "cx: simulator listening on {} (client {:?}{}); Ctrl-C stops it",
        sim.base_url(),
        client_id.as_deref().unwrap_or(cx_sim::DEFAULT_CLIENT_ID),
        if client_id.is_some() {
            String::new()
        } else {
            format!(", secret {:?}", cx_sim::DEFAULT_CLIENT_SECRET)
        }
    );
    note!(
        "cx: access-key login: --auth-url {} with access key {:?}{}",
        sim.base_url(),
        access_key_id
            .as_deref()
            .unwrap_or(cx_sim::DEFAULT_ACCESS_KEY_ID),
        if access_key_id.is_some() {
            String::new()
        } else {
            format!(", secret {:?}", cx_sim::DEFAULT_ACCESS_KEY_SECRET)
        }
    );
    tokio::signal::ctrl_c().await?;
    sim.shutdown().await;
    Ok(ExitCode::SUCCESS)
}
