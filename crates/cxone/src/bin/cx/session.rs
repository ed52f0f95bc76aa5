//! Where `cx` talks to: a configured tenant, or the embedded simulator.

use cx_auth::Tenant;
use cx_sim::Sim;

use crate::output::note;

/// Tenant flags; each falls back to its environment variable.
#[derive(Debug, Clone, clap::Args)]
pub struct TenantArgs {
    /// API base URL, e.g. https://api-na1.niceincontact.com.
    #[arg(long, global = true, env = "CXONE_API_URL", hide_env_values = true)]
    pub api_url: Option<String>,
    /// Authorization server base URL (default: the API URL).
    #[arg(long, global = true, env = "CXONE_AUTH_URL", hide_env_values = true)]
    pub auth_url: Option<String>,
    /// Token endpoint path under the authorization server.
    #[arg(
        long,
        global = true,
        env = "CXONE_TOKEN_PATH",
        default_value = "/oauth/token"
    )]
    pub token_path: String,
    /// OAuth client id.
    #[arg(long, global = true, env = "CXONE_CLIENT_ID", hide_env_values = true)]
    pub client_id: Option<String>,
    /// OAuth client secret (prefer the environment variable to a flag).
    #[arg(
        long,
        global = true,
        env = "CXONE_CLIENT_SECRET",
        hide_env_values = true
    )]
    pub client_secret: Option<String>,
}

/// A connected tenant; holds the embedded simulator alive when there is one.
pub struct Session {
    /// The authenticated runtime client.
    pub http: cx_http::Client,
    /// The embedded simulator, when no tenant was configured; held so it
    /// keeps serving until the session ends.
    pub _sim: Option<Sim>,
}

impl Session {
    /// Connect to the configured tenant, or start the embedded simulator when
    /// none of the tenant settings is given.
    ///
    /// # Errors
    /// A message naming the missing setting when the tenant is only partly
    /// configured, or the simulator/bind error.
    pub async fn open(args: &TenantArgs) -> crate::CliResult<Session> {
        let configured = args.api_url.is_some()
            || args.auth_url.is_some()
            || args.client_id.is_some()
            || args.client_secret.is_some();
        if !configured {
            let sim = Sim::start().await?;
            note!(
                "cx: no tenant configured (CXONE_API_URL, CXONE_CLIENT_ID, CXONE_CLIENT_SECRET unset); \
                 using the embedded simulator at {}",
                sim.base_url()
            );
            let tenant = Tenant::new(
                sim.base_url(),
                cx_sim::DEFAULT_CLIENT_ID,
                cx_sim::DEFAULT_CLIENT_SECRET,
            );
            let (http, _) = tenant.connect()?;
            return Ok(Session {
                http,
                _sim: Some(sim),
            });
        }
        let missing = |name: &str, flag: &str| {
            format!("missing {name} (or --{flag}): the tenant is only partly configured")
        };
        let api_url = args
            .api_url
            .clone()
            .ok_or_else(|| missing("CXONE_API_URL", "api-url"))?;
        let client_id = args
            .client_id
            .clone()
            .ok_or_else(|| missing("CXONE_CLIENT_ID", "client-id"))?;
        let secret = args
            .client_secret
            .clone()
            .ok_or_else(|| missing("CXONE_CLIENT_SECRET", "client-secret"))?;
        let mut tenant = Tenant::new(api_url, client_id, secret);
        tenant.auth_url.clone_from(&args.auth_url);
        tenant.token_path.clone_from(&args.token_path);
        let (http, _) = tenant.connect()?;
        Ok(Session { http, _sim: None })
    }
}
