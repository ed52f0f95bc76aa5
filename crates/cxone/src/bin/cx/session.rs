//! Where `cx` talks to: a configured tenant (flags, environment, a profile;
//! see `profile`), or the embedded simulator when nothing at all is
//! configured. The kind of tenant is recorded once here and stamped on every
//! result (`output`) and audit record ([`TenantAudit`]).

use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use cx_audit::{AuditRecord, AuditSink, JsonlSink};
use cx_auth::{AccessKey, Tenant, TokenCache};
use cx_sim::Sim;
use secrecy::SecretString;
use serde_json::Value;

use crate::output::note;
use crate::profile::{ApiChoice, Login, resolve};

/// Tenant flags; each falls back to its environment variable, then to the
/// profile (see `profile` for the precedence).
// The field docs are `--help` text, where a URL reads best bare.
#[allow(rustdoc::bare_urls)]
#[derive(Clone, clap::Args)]
pub struct TenantArgs {
    /// Config file with named profiles (default: cx/config.toml in the
    /// platform's config directory).
    #[arg(long, global = true, env = "CX_CONFIG", value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Profile of the config file to use (default: its default_profile).
    #[arg(long, global = true, env = "CX_PROFILE")]
    pub profile: Option<String>,
    /// API base URL, e.g. https://api-na1.niceincontact.com (access keys:
    /// overrides the discovered one).
    #[arg(long, global = true, env = "CXONE_API_URL", hide_env_values = true)]
    pub api_url: Option<String>,
    /// Authorization server: the CXone issuer for access keys (default
    /// https://cxone.niceincontact.com), else the token server (default:
    /// the API URL).
    #[arg(long, global = true, env = "CXONE_AUTH_URL", hide_env_values = true)]
    pub auth_url: Option<String>,
    /// Token endpoint path under the authorization server (client
    /// credentials; default /oauth/token).
    #[arg(long, global = true, env = "CXONE_TOKEN_PATH")]
    pub token_path: Option<String>,
    /// OAuth client id.
    #[arg(long, global = true, env = "CXONE_CLIENT_ID", hide_env_values = true)]
    pub client_id: Option<String>,
    /// OAuth client secret (prefer the environment variable to a flag).
    #[arg(
        long,
        global = true,
        env = "CXONE_CLIENT_SECRET",
        hide_env_values = true,
        value_parser = secret_arg
    )]
    pub client_secret: Option<SecretString>,
    /// CXone access key id: selects the access-key login.
    #[arg(
        long,
        global = true,
        env = "CXONE_ACCESS_KEY_ID",
        hide_env_values = true
    )]
    pub access_key_id: Option<String>,
    /// CXone access key secret (prefer the environment variable to a flag).
    #[arg(
        long,
        global = true,
        env = "CXONE_ACCESS_KEY_SECRET",
        hide_env_values = true,
        value_parser = secret_arg
    )]
    pub access_key_secret: Option<SecretString>,
    /// Share the tenant's rate limits and access token with every `cx` and
    /// SDK process using this Redis, e.g. redis://user:password@host:6379/
    /// (client credentials; prefer the environment variable to a flag).
    /// Unreachable: in-process limits at 1/10 and this process's own token,
    /// with one warning.
    #[arg(
        long,
        global = true,
        env = "CX_REDIS_URL",
        hide_env_values = true,
        value_parser = secret_arg
    )]
    pub redis_url: Option<SecretString>,
    /// Which agent API the tenant speaks: `real` (CXone's
    /// /inContactAPI/services/...), `seed` (the seed contract: work modes
    /// with If-Match) or `auto` (the default: an access-key login real,
    /// client credentials seed, the embedded simulator both). Overrides the
    /// profile's `api`.
    #[arg(long, global = true, env = "CX_API", value_enum)]
    pub api: Option<ApiChoice>,
}

/// A secret flag's value, held as a `SecretString` from the moment it is
/// parsed. Every flag named `*_secret` uses it: clap keeps a global flag and
/// a subcommand's flag of the same name under one id, so they share a type.
pub fn secret_arg(raw: &str) -> Result<SecretString, std::convert::Infallible> {
    Ok(SecretString::from(raw.to_owned()))
}

/// `Debug` without the secrets: only whether each was given.
impl std::fmt::Debug for TenantArgs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let given = |s: &Option<SecretString>| s.as_ref().map(|_| "[redacted]");
        f.debug_struct("TenantArgs")
            .field("config", &self.config)
            .field("profile", &self.profile)
            .field("api_url", &self.api_url)
            .field("auth_url", &self.auth_url)
            .field("token_path", &self.token_path)
            .field("client_id", &self.client_id)
            .field("client_secret", &given(&self.client_secret))
            .field("access_key_id", &self.access_key_id)
            .field("access_key_secret", &given(&self.access_key_secret))
            .field("redis_url", &given(&self.redis_url))
            .field("api", &self.api)
            .finish()
    }
}

/// What kind of tenant a session talks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TenantKind {
    /// The simulator started in-process because nothing was configured.
    EmbeddedSimulator,
    /// A tenant reached with an access key (discovery).
    AccessKey,
    /// A tenant reached with OAuth client credentials.
    ClientCredentials,
}

impl TenantKind {
    /// `embedded-simulator`, `access-key` or `client-credentials`.
    pub fn as_str(self) -> &'static str {
        match self {
            TenantKind::EmbeddedSimulator => "embedded-simulator",
            TenantKind::AccessKey => "access-key",
            TenantKind::ClientCredentials => "client-credentials",
        }
    }
}

/// One of the two agent APIs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Binding {
    /// CXone's real API (`/inContactAPI/services/vNN.0/...`).
    Real,
    /// The seed contract (`/api/v2/agents/...`).
    Seed,
}

static KIND: OnceLock<TenantKind> = OnceLock::new();

/// The kind of the tenant this process opened, if it opened one.
pub fn tenant_kind() -> Option<TenantKind> {
    KIND.get().copied()
}

/// A connected tenant; holds the embedded simulator alive when there is one.
pub struct Session {
    /// The authenticated runtime client.
    pub http: cx_http::Client,
    /// The token cache behind it.
    pub cache: Arc<TokenCache>,
    /// What kind of tenant this is.
    pub kind: TenantKind,
    /// The profile used, if any.
    pub profile: Option<String>,
    /// Tenant id, when the login tells it (access keys, the simulator).
    pub tenant_id: Option<String>,
    /// Area, when the login tells it.
    pub area: Option<String>,
    /// API base URL.
    pub api_url: String,
    /// The agent API chosen (`--api`, `CX_API`, the profile's `api`).
    pub api: ApiChoice,
    /// The embedded simulator, when no tenant was configured; held so it
    /// keeps serving until the session ends.
    pub _sim: Option<Sim>,
}

impl Session {
    /// Connect to the configured tenant, or start the embedded simulator when
    /// nothing at all is configured. The access-key login runs here
    /// (discovery tells the API host).
    ///
    /// # Errors
    /// A broken config file, an unknown profile, a missing setting (the
    /// tenant is only partly configured), a secret that cannot be read, a
    /// refused login, or the simulator's bind error. Never a fallback to the
    /// simulator.
    pub async fn open(args: &TenantArgs) -> crate::CliResult<Session> {
        let resolved = resolve(args)?;
        let session = match resolved.login {
            Login::Embedded => {
                let sim = Sim::start().await?;
                note!(
                    "cx: no tenant configured (no flags, no CXONE_* variables, no config file); \
                     using the embedded simulator at {}",
                    sim.base_url()
                );
                let (http, cache) = Tenant::new(
                    sim.base_url(),
                    cx_sim::DEFAULT_CLIENT_ID,
                    cx_sim::DEFAULT_CLIENT_SECRET,
                )
                .connect()?;
                Session {
                    http,
                    cache,
                    kind: TenantKind::EmbeddedSimulator,
                    profile: None,
                    tenant_id: Some(cx_sim::tenant_id(cx_sim::DEFAULT_TENANT)),
                    area: Some(cx_sim::SIM_AREA.to_owned()),
                    api_url: sim.base_url().to_owned(),
                    api: resolved.api,
                    _sim: Some(sim),
                }
            }
            Login::AccessKey {
                auth_url,
                api_url,
                client_id,
                client_secret,
                access_key_id,
                access_key_secret,
                client_auth,
                refresh_client_auth,
            } => {
                let mut discover = Tenant::discover(
                    AccessKey::new(access_key_id, access_key_secret),
                    client_id,
                    client_secret,
                )
                .auth_url(auth_url)
                .client_auth(client_auth)
                .refresh_client_auth(refresh_client_auth);
                if let Some(api) = api_url {
                    discover = discover.api_url(api);
                }
                let found = discover.login().await?;
                Session {
                    http: found.client,
                    cache: found.cache,
                    kind: TenantKind::AccessKey,
                    profile: resolved.profile,
                    tenant_id: Some(found.tenant_id),
                    area: found.area,
                    api_url: found.api_url,
                    api: resolved.api,
                    _sim: None,
                }
            }
            Login::ClientCredentials {
                api_url,
                auth_url,
                token_path,
                client_id,
                client_secret,
            } => {
                let mut tenant = Tenant::new(api_url.clone(), client_id, client_secret);
                tenant.auth_url = auth_url;
                tenant.token_path = token_path;
                if let Some(url) = resolved.redis_url {
                    // The API URL names the tenant whose quota is shared.
                    let redis = cx_redis::Redis::new(cx_redis::RedisConfig::new(url, &api_url))?;
                    tenant = redis.share(tenant);
                }
                let (http, cache) = tenant.connect()?;
                Session {
                    http,
                    cache,
                    kind: TenantKind::ClientCredentials,
                    profile: resolved.profile,
                    tenant_id: None,
                    area: None,
                    api_url,
                    api: resolved.api,
                    _sim: None,
                }
            }
        };
        let _ = KIND.set(session.kind);
        Ok(session)
    }

    /// The agent API this tenant speaks: the one chosen, else (`auto`) by
    /// the login: an access key [`Binding::Real`], client credentials
    /// [`Binding::Seed`], the embedded simulator `None` (it serves both).
    pub fn binding(&self) -> Option<Binding> {
        match (self.api, self.kind) {
            (ApiChoice::Real, _) | (ApiChoice::Auto, TenantKind::AccessKey) => Some(Binding::Real),
            (ApiChoice::Seed, _) | (ApiChoice::Auto, TenantKind::ClientCredentials) => {
                Some(Binding::Seed)
            }
            (ApiChoice::Auto, TenantKind::EmbeddedSimulator) => None,
        }
    }

    /// Refuses `command` (e.g. `cx agent list`), which exists only on
    /// `needed`, when this tenant speaks the other API: the error names
    /// the binding, why it was chosen, and how to switch.
    ///
    /// # Errors
    /// The other binding.
    pub fn require(&self, needed: Binding, command: &str) -> crate::CliResult<()> {
        if self.binding().is_none_or(|have| have == needed) {
            return Ok(());
        }
        let why = match self.api {
            ApiChoice::Auto => format!("auto, from its {} login", self.kind.as_str()),
            chosen => format!("--api / CX_API / the profile's api = {}", chosen.as_str()),
        };
        let (needed_name, have_name, flag, login) = match needed {
            Binding::Real => (
                "CXone's real agent API (/inContactAPI/services/...)",
                "the seed contract",
                "real",
                "log in with an access key (--access-key-id, or a profile of kind \"access-key\")",
            ),
            Binding::Seed => (
                "the seed contract (/api/v2/agents/...)",
                "CXone's real agent API",
                "seed",
                "log in with client credentials",
            ),
        };
        Err(format!(
            "`{command}` exists only on {needed_name}, but this tenant speaks {have_name} ({why}); \
             {login}, or pass --api {flag} (CX_API={flag}, or api = \"{flag}\" in the profile) \
             if the tenant serves it"
        )
        .into())
    }

    /// The audit sink of this session: JSONL files in `dir`, each record's
    /// payload naming the tenant kind.
    ///
    /// # Errors
    /// When the directory cannot be opened.
    pub async fn audit(&self, dir: &Path) -> crate::CliResult<TenantAudit> {
        Ok(self.audit_through(JsonlSink::open(dir).await?))
    }

    /// `sink` with every record's payload naming this session's tenant kind
    /// (e.g. an [`cx_audit::AppendTracker`] over the JSONL files, for a run
    /// that verifies what it wrote).
    pub fn audit_through<S: AuditSink>(&self, sink: S) -> TenantAudit<S> {
        TenantAudit {
            inner: sink,
            kind: self.kind,
        }
    }

    /// The lifetime of the current access token (logging in first if no
    /// token has been fetched yet).
    ///
    /// # Errors
    /// A refused login.
    pub async fn token_lifetime(&self) -> crate::CliResult<Option<Duration>> {
        cx_http::Authenticate::access_token(&*self.cache).await?;
        Ok(self.cache.lifetime())
    }
}

impl<S> TenantAudit<S> {
    /// The sink records go through.
    pub fn inner(&self) -> &S {
        &self.inner
    }
}

/// A sink (by default the [`JsonlSink`]) that adds `"tenantKind"` to every
/// record's payload (an object payload; others are wrapped as
/// `{"tenantKind", "payload"}`), so a record made against the embedded
/// simulator says so.
pub struct TenantAudit<S = JsonlSink> {
    inner: S,
    kind: TenantKind,
}

#[async_trait::async_trait]
impl<S: AuditSink> AuditSink for TenantAudit<S> {
    async fn write(&self, record: &AuditRecord) -> Result<(), cx_audit::Error> {
        let kind = Value::String(self.kind.as_str().to_owned());
        let payload = match record.payload().clone() {
            Value::Object(mut map) => {
                map.insert("tenantKind".to_owned(), kind);
                Value::Object(map)
            }
            other => serde_json::json!({ "tenantKind": kind, "payload": other }),
        };
        let tagged = AuditRecord::at(record.timestamp, record.event_type.clone(), payload);
        self.inner.write(&tagged).await
    }

    async fn flush(&self) -> Result<(), cx_audit::Error> {
        self.inner.flush().await
    }
}
