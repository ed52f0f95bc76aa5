//! Named profiles in a TOML config file, secrets from where they live, and
//! the precedence that turns flags, environment and profile into one login.
//!
//! The file is `--config` / `CX_CONFIG`, else `cx/config.toml` in the
//! platform's config directory (`~/.config/cx/config.toml` on Linux):
//!
//! ```toml
//! default_profile = "prod"
//!
//! [profiles.prod]
//! kind = "access-key"                      # or "client-credentials"
//! auth_url = "https://cxone.niceincontact.com"   # the default for access keys
//! # api_url = "https://api-na1.niceincontact.com" # overrides the discovered host
//! client_id = "my-app-client-id"
//! client_secret = { env = "CX_PROD_CLIENT_SECRET" }
//! access_key_id = "ABCDEF="
//! access_key_secret = { command = "pass show cxone/prod-key" }
//! # client_auth = "basic"                  # or "post"
//! # refresh_client_auth = true
//! # redis_url = { env = "CX_REDIS_URL_PROD" }   # share limits and tokens with a fleet
//! # api = "real"                           # or "seed" or "auto" (the default), as --api / CX_API
//! ```
//!
//! A secret is `{ env = "VAR" }` (read from that environment variable) or
//! `{ command = "..." }` (run with `sh -c`; its stdout, without the final
//! newline, is the secret, like AWS `credential_process`). A plain string
//! is accepted only when the file is private to its owner (mode 0600), and
//! then with a warning.
//!
//! Precedence, for every setting: flag > environment variable > the
//! profile chosen with `--profile` / `CX_PROFILE` > the file's
//! `default_profile`. The embedded simulator is used only when nothing at
//! all is configured: no tenant flag, no tenant variable, no config file.

use std::collections::BTreeMap;
use std::fmt;
use std::path::PathBuf;
use std::process::Command;

use cx_auth::ClientAuthMethod;
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use serde_json::{Value, json};
use toml::Spanned;

use crate::CliResult;
use crate::output::{note, say};
use crate::session::TenantArgs;

/// Which login a profile uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum LoginKind {
    /// CXone's access-key login with discovery.
    AccessKey,
    /// OAuth2 client credentials (the seeds' contract).
    ClientCredentials,
}

impl LoginKind {
    /// The name used in the file and in output.
    pub fn as_str(self) -> &'static str {
        match self {
            LoginKind::AccessKey => "access-key",
            LoginKind::ClientCredentials => "client-credentials",
        }
    }
}

/// Which agent API a tenant speaks: `api` in a profile, `--api`, `CX_API`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "kebab-case")]
pub enum ApiChoice {
    /// By the login: an access key speaks CXone's real API, client
    /// credentials the seed contract, the embedded simulator both.
    #[default]
    Auto,
    /// CXone's real API (`/inContactAPI/services/vNN.0/...`).
    Real,
    /// The seed contract (`/api/v2/agents/...`: work modes with If-Match).
    Seed,
}

impl ApiChoice {
    /// The name used in the file, the flag and output.
    pub fn as_str(self) -> &'static str {
        match self {
            ApiChoice::Auto => "auto",
            ApiChoice::Real => "real",
            ApiChoice::Seed => "seed",
        }
    }
}

/// `client_auth` in a profile.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ClientAuthSetting {
    /// HTTP Basic (`client_secret_basic`).
    Basic,
    /// In the form body (`client_secret_post`).
    Post,
}

/// Where a secret comes from.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum SecretSource {
    /// Written in the file (only accepted when the file is mode 0600).
    Plain(String),
    /// `{ env = "VAR" }`.
    Env {
        /// Name of the environment variable.
        env: String,
    },
    /// `{ command = "..." }`, run with `sh -c`.
    Command {
        /// The command line.
        command: String,
    },
}

impl fmt::Display for SecretSource {
    /// Where the secret comes from, never its value.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SecretSource::Plain(_) => f.write_str("plain text in the config file"),
            SecretSource::Env { env } => write!(f, "environment variable {env}"),
            SecretSource::Command { command } => write!(f, "command {command:?}"),
        }
    }
}

/// One `[profiles.NAME]` table. No `Debug`: it may hold plain-text secrets.
#[derive(Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Profile {
    /// `kind`: the login.
    pub kind: Option<LoginKind>,
    /// `auth_url`: issuer (access key) or token server (client credentials).
    pub auth_url: Option<String>,
    /// `api_url`: API base URL (required for client credentials).
    pub api_url: Option<String>,
    /// `token_path` (client credentials; default `/oauth/token`).
    pub token_path: Option<String>,
    /// `client_id`.
    pub client_id: Option<String>,
    /// `client_secret`.
    pub client_secret: Option<Spanned<SecretSource>>,
    /// `access_key_id`.
    pub access_key_id: Option<String>,
    /// `access_key_secret`.
    pub access_key_secret: Option<Spanned<SecretSource>>,
    /// `client_auth`: `basic` (default) or `post`.
    pub client_auth: Option<ClientAuthSetting>,
    /// `refresh_client_auth`: authenticate the client on refresh (default true).
    pub refresh_client_auth: Option<bool>,
    /// `redis_url`: share rate limits and tokens through this Redis (a
    /// secret source: the URL may hold a password).
    pub redis_url: Option<Spanned<SecretSource>>,
    /// `api`: the agent API the tenant speaks (default `auto`).
    pub api: Option<ApiChoice>,
}

#[derive(Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileContents {
    default_profile: Option<String>,
    #[serde(default)]
    profiles: BTreeMap<String, Profile>,
}

/// A loaded config file. No `Debug`: its text may hold plain-text secrets.
pub struct ConfigFile {
    /// Where it was read from.
    pub path: PathBuf,
    text: String,
    contents: FileContents,
    /// True when only the owner can read it (mode 0600 or stricter).
    private: bool,
}

/// The config file's path: `--config` / `CX_CONFIG`, else the platform's
/// default, and whether it was given explicitly.
fn config_path(args: &TenantArgs) -> Option<(PathBuf, bool)> {
    match &args.config {
        Some(p) => Some((p.clone(), true)),
        None => dirs::config_dir().map(|d| (d.join("cx").join("config.toml"), false)),
    }
}

#[cfg(unix)]
fn is_private(meta: &std::fs::Metadata) -> bool {
    use std::os::unix::fs::PermissionsExt as _;
    meta.permissions().mode() & 0o077 == 0
}

#[cfg(not(unix))]
fn is_private(_: &std::fs::Metadata) -> bool {
    false
}

impl ConfigFile {
    /// Reads the config file, if there is one.
    ///
    /// # Errors
    /// An explicit file that does not exist; a file that cannot be read; a
    /// TOML or schema error (with file, line and column).
    pub fn load(args: &TenantArgs) -> CliResult<Option<ConfigFile>> {
        let Some((path, explicit)) = config_path(args) else {
            return Ok(None);
        };
        let meta = match std::fs::metadata(&path) {
            Ok(m) => m,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound && !explicit => return Ok(None),
            Err(e) => {
                return Err(format!("config file {}: {e}", path.display()).into());
            }
        };
        let text = std::fs::read_to_string(&path)
            .map_err(|e| format!("config file {}: {e}", path.display()))?;
        let contents: FileContents = toml::from_str(&text).map_err(|e| {
            let at = e
                .span()
                .map(|s| format!(":{}", line_of(&text, s.start)))
                .unwrap_or_default();
            format!("config file {}{at}: {}", path.display(), e.message())
        })?;
        Ok(Some(ConfigFile {
            path,
            private: is_private(&meta),
            text,
            contents,
        }))
    }

    /// `default_profile`.
    pub fn default_profile(&self) -> Option<&str> {
        self.contents.default_profile.as_deref()
    }

    /// Every profile, by name.
    pub fn profiles(&self) -> &BTreeMap<String, Profile> {
        &self.contents.profiles
    }

    /// `{file}:{line}` of a span.
    fn at(&self, offset: usize) -> String {
        format!("{}:{}", self.path.display(), line_of(&self.text, offset))
    }

    /// The profile to use: `wanted` (from `--profile` / `CX_PROFILE`), else
    /// `default_profile`.
    ///
    /// # Errors
    /// A name that is not in the file; a file without a default profile
    /// when none was asked for.
    pub fn select(&self, wanted: Option<&str>) -> CliResult<(&str, &Profile)> {
        let (name, why) = match (wanted, self.default_profile()) {
            (Some(n), _) => (n, "--profile / CX_PROFILE"),
            (None, Some(n)) => (n, "default_profile"),
            (None, None) => {
                return Err(format!(
                    "config file {} has no default_profile; pass --profile or set CX_PROFILE \
                     (profiles: {})",
                    self.path.display(),
                    self.names()
                )
                .into());
            }
        };
        self.contents
            .profiles
            .get_key_value(name)
            .map(|(k, p)| (k.as_str(), p))
            .ok_or_else(|| {
                format!(
                    "profile {name:?} (from {why}) is not in {} (profiles: {})",
                    self.path.display(),
                    self.names()
                )
                .into()
            })
    }

    fn names(&self) -> String {
        if self.contents.profiles.is_empty() {
            return "none".to_owned();
        }
        self.contents
            .profiles
            .keys()
            .map(String::as_str)
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// Reads a profile's secret from where it lives.
    ///
    /// # Errors
    /// A plain secret in a file others can read; an unset variable; a
    /// command that fails or prints nothing. The value is never in the
    /// message.
    fn secret(
        &self,
        profile: &str,
        field: &str,
        source: &Spanned<SecretSource>,
    ) -> CliResult<SecretString> {
        let here = format!(
            "{}: profile {profile:?}: {field}",
            self.at(source.span().start)
        );
        match source.get_ref() {
            SecretSource::Plain(value) => {
                if !self.private {
                    return Err(format!(
                        "{here} is written in the file, which other users can read; \
                         run `chmod 600 {}` or use {{ env = \"VAR\" }} or {{ command = \"...\" }}",
                        self.path.display()
                    )
                    .into());
                }
                note!(
                    "cx: warning: {here} is kept in plain text; prefer {{ env = \"VAR\" }} or {{ command = \"...\" }}"
                );
                Ok(SecretString::from(value.clone()))
            }
            SecretSource::Env { env } => match std::env::var(env) {
                Ok(v) if !v.is_empty() => Ok(SecretString::from(v)),
                _ => Err(
                    format!("{here} comes from environment variable {env}, which is not set")
                        .into(),
                ),
            },
            SecretSource::Command { command } => run_secret_command(&here, command),
        }
    }
}

/// 1-based line of byte `offset` in `text`.
fn line_of(text: &str, offset: usize) -> usize {
    let end = offset.min(text.len());
    text.as_bytes()[..end]
        .iter()
        .filter(|b| **b == b'\n')
        .count()
        + 1
}

/// Runs a secret command with `sh -c`; stdout without its final newline is
/// the secret. stderr goes to the user's terminal.
fn run_secret_command(here: &str, command: &str) -> CliResult<SecretString> {
    let output = Command::new("sh")
        .arg("-c")
        .arg(command)
        .stdin(std::process::Stdio::null())
        .stderr(std::process::Stdio::inherit())
        .output()
        .map_err(|e| format!("{here}: cannot run command {command:?}: {e}"))?;
    if !output.status.success() {
        return Err(format!("{here}: command {command:?} failed ({})", output.status).into());
    }
    let text = String::from_utf8(output.stdout)
        .map_err(|_| format!("{here}: command {command:?} printed something that is not UTF-8"))?;
    let value = text.strip_suffix('\n').unwrap_or(&text);
    let value = value.strip_suffix('\r').unwrap_or(value);
    if value.is_empty() {
        return Err(format!("{here}: command {command:?} printed nothing").into());
    }
    Ok(SecretString::from(value.to_owned()))
}

/// The login `cx` will run, after precedence.
pub enum Login {
    /// Nothing configured: the embedded simulator.
    Embedded,
    /// CXone's access-key login.
    AccessKey {
        /// Issuer / auth host.
        auth_url: String,
        /// API base URL override.
        api_url: Option<String>,
        /// OAuth client id.
        client_id: String,
        /// OAuth client secret.
        client_secret: SecretString,
        /// Access key id.
        access_key_id: String,
        /// Access key secret.
        access_key_secret: SecretString,
        /// Client authentication at the token endpoint.
        client_auth: ClientAuthMethod,
        /// Authenticate the client on refresh.
        refresh_client_auth: bool,
    },
    /// OAuth2 client credentials.
    ClientCredentials {
        /// API base URL.
        api_url: String,
        /// Token server base URL (default: the API URL).
        auth_url: Option<String>,
        /// Token endpoint path.
        token_path: String,
        /// OAuth client id.
        client_id: String,
        /// OAuth client secret.
        client_secret: SecretString,
    },
}

/// A login and where its settings came from.
pub struct Resolved {
    /// What to run.
    pub login: Login,
    /// The profile used, if any.
    pub profile: Option<String>,
    /// The Redis that shares limits and tokens with a fleet, if any.
    pub redis_url: Option<SecretString>,
    /// The agent API the tenant speaks, after precedence.
    pub api: ApiChoice,
}

/// A setting's value from flag/env, else from the profile; an empty one is
/// unset (`CXONE_API_URL=` leaves the profile's `api_url` in force).
fn pick(flag: &Option<String>, profile: Option<&String>) -> Option<String> {
    let given = |v: &&String| !v.trim().is_empty();
    flag.as_ref()
        .filter(given)
        .or(profile.filter(given))
        .cloned()
}

/// Applies precedence: flags > environment > profile > default profile.
///
/// # Errors
/// A broken or unreadable config file, an unknown profile, a missing
/// setting (naming its flag, variable and profile key) or a secret that
/// cannot be read. Never falls back to the simulator once anything is
/// configured.
pub fn resolve(args: &TenantArgs) -> CliResult<Resolved> {
    let file = ConfigFile::load(args)?;
    let any_flag = args.api_url.is_some()
        || args.auth_url.is_some()
        || args.token_path.is_some()
        || args.client_id.is_some()
        || args.client_secret.is_some()
        || args.access_key_id.is_some()
        || args.access_key_secret.is_some()
        || args.profile.is_some();
    let (name, profile) = match &file {
        Some(f) if args.profile.is_some() || f.default_profile().is_some() || !any_flag => {
            let (n, p) = f.select(args.profile.as_deref())?;
            (Some(n.to_owned()), Some(p))
        }
        Some(_) => (None, None),
        None if args.profile.is_some() => {
            return Err(format!(
                "--profile / CX_PROFILE is {:?} but there is no config file ({})",
                args.profile.as_deref().unwrap_or_default(),
                config_path(args).map_or_else(
                    || "no config directory".to_owned(),
                    |(p, _)| p.display().to_string()
                )
            )
            .into());
        }
        None if !any_flag => {
            return Ok(Resolved {
                login: Login::Embedded,
                profile: None,
                redis_url: None,
                api: args.api.unwrap_or_default(),
            });
        }
        None => (None, None),
    };
    let p = profile.cloned().unwrap_or_default();
    let missing = |setting: &str,
                   flag: &str,
                   var: &str,
                   key: &str|
     -> Box<dyn std::error::Error + Send + Sync> {
        let in_profile = match &name {
            Some(n) => format!(" or `{key}` in profile {n:?}"),
            None => format!(" or `{key}` in a profile"),
        };
        format!(
            "missing {setting}: set --{flag}, {var}{in_profile}; the tenant is only partly configured"
        )
        .into()
    };
    let secret = |flag: &Option<SecretString>,
                  source: &Option<Spanned<SecretSource>>,
                  field: &str|
     -> CliResult<Option<SecretString>> {
        if let Some(v) = flag.as_ref().filter(|v| !v.expose_secret().is_empty()) {
            return Ok(Some(v.clone()));
        }
        match (source, &file, &name) {
            (Some(src), Some(f), Some(n)) => f.secret(n, field, src).map(Some),
            _ => Ok(None),
        }
    };

    let access_key_id = pick(&args.access_key_id, p.access_key_id.as_ref());
    let kind = match (args.access_key_id.is_some(), p.kind) {
        (true, _) => LoginKind::AccessKey,
        (false, Some(k)) => k,
        (false, None) if access_key_id.is_some() => LoginKind::AccessKey,
        (false, None) => LoginKind::ClientCredentials,
    };
    let client_id = pick(&args.client_id, p.client_id.as_ref()).ok_or_else(|| {
        missing(
            "the OAuth client id",
            "client-id",
            "CXONE_CLIENT_ID",
            "client_id",
        )
    })?;
    let client_secret = secret(&args.client_secret, &p.client_secret, "client_secret")?
        .ok_or_else(|| {
            missing(
                "the OAuth client secret",
                "client-secret",
                "CXONE_CLIENT_SECRET",
                "client_secret",
            )
        })?;
    let login = match kind {
        LoginKind::AccessKey => {
            let access_key_id = access_key_id.ok_or_else(|| {
                missing(
                    "the access key id",
                    "access-key-id",
                    "CXONE_ACCESS_KEY_ID",
                    "access_key_id",
                )
            })?;
            let access_key_secret = secret(
                &args.access_key_secret,
                &p.access_key_secret,
                "access_key_secret",
            )?
            .ok_or_else(|| {
                missing(
                    "the access key secret",
                    "access-key-secret",
                    "CXONE_ACCESS_KEY_SECRET",
                    "access_key_secret",
                )
            })?;
            Login::AccessKey {
                auth_url: pick(&args.auth_url, p.auth_url.as_ref())
                    .unwrap_or_else(|| cx_auth::CXONE_AUTH_URL.to_owned()),
                api_url: pick(&args.api_url, p.api_url.as_ref()),
                client_id,
                client_secret,
                access_key_id,
                access_key_secret,
                client_auth: match p.client_auth {
                    Some(ClientAuthSetting::Post) => ClientAuthMethod::FormBody,
                    Some(ClientAuthSetting::Basic) | None => ClientAuthMethod::Basic,
                },
                refresh_client_auth: p.refresh_client_auth.unwrap_or(true),
            }
        }
        LoginKind::ClientCredentials => Login::ClientCredentials {
            api_url: pick(&args.api_url, p.api_url.as_ref())
                .ok_or_else(|| missing("the API URL", "api-url", "CXONE_API_URL", "api_url"))?,
            auth_url: pick(&args.auth_url, p.auth_url.as_ref()),
            token_path: pick(&args.token_path, p.token_path.as_ref())
                .unwrap_or_else(|| "/oauth/token".to_owned()),
            client_id,
            client_secret,
        },
    };
    let redis_url = secret(&args.redis_url, &p.redis_url, "redis_url")?;
    Ok(Resolved {
        login,
        profile: name,
        redis_url,
        api: args.api.or(p.api).unwrap_or_default(),
    })
}

/// `cx profile` commands.
#[derive(Debug, clap::Subcommand)]
pub enum ProfileCommand {
    /// List the profiles in the config file.
    List,
    /// Show a profile's settings (secrets as where they come from, never
    /// their value).
    Show {
        /// Profile name (default: --profile / CX_PROFILE, else the file's
        /// default_profile).
        name: Option<String>,
    },
}

fn describe(name: &str, p: &Profile, is_default: bool) -> Value {
    let source = |s: &Option<Spanned<SecretSource>>| s.as_ref().map(|s| s.get_ref().to_string());
    json!({
        "name": name,
        "default": is_default,
        "kind": p.kind.map(LoginKind::as_str),
        "authUrl": p.auth_url,
        "apiUrl": p.api_url,
        "tokenPath": p.token_path,
        "clientId": p.client_id,
        "clientSecret": source(&p.client_secret),
        "accessKeyId": p.access_key_id,
        "accessKeySecret": source(&p.access_key_secret),
        "clientAuth": p.client_auth.map(|a| match a {
            ClientAuthSetting::Basic => "basic",
            ClientAuthSetting::Post => "post",
        }),
        "refreshClientAuth": p.refresh_client_auth,
        "redisUrl": source(&p.redis_url),
        "api": p.api.map(ApiChoice::as_str),
    })
}

/// Runs a `cx profile` command.
///
/// # Errors
/// No config file, a broken one, or an unknown profile.
pub fn run(cmd: ProfileCommand, globals: &crate::Globals) -> CliResult<std::process::ExitCode> {
    use crate::output::{OutputFormat, print_json};
    let file = ConfigFile::load(&globals.tenant)?.ok_or_else(|| {
        format!(
            "no config file ({}); see `cx profile --help`",
            config_path(&globals.tenant).map_or_else(
                || "no config directory".to_owned(),
                |(p, _)| p.display().to_string()
            )
        )
    })?;
    match cmd {
        ProfileCommand::List => {
            let default = file.default_profile();
            let profiles: Vec<Value> = file
                .profiles()
                .iter()
                .map(|(n, p)| describe(n, p, Some(n.as_str()) == default))
                .collect();
            match globals.output {
                OutputFormat::Json => print_json(&json!({
                    "configFile": file.path.display().to_string(),
                    "defaultProfile": default,
                    "profiles": profiles,
                }))?,
                OutputFormat::Human => {
                    say!("config file {}", file.path.display());
                    for (n, p) in file.profiles() {
                        say!(
                            "{} {n}  {}",
                            if Some(n.as_str()) == default {
                                "*"
                            } else {
                                " "
                            },
                            p.kind.map_or("(kind not set)", LoginKind::as_str)
                        );
                    }
                }
            }
        }
        ProfileCommand::Show { name } => {
            let wanted = name.as_deref().or(globals.tenant.profile.as_deref());
            let (n, p) = file.select(wanted)?;
            let doc = describe(n, p, Some(n) == file.default_profile());
            match globals.output {
                OutputFormat::Json => print_json(&doc)?,
                OutputFormat::Human => {
                    say!("profile {n} ({})", file.path.display());
                    if let Value::Object(map) = &doc {
                        for (k, v) in map {
                            if k != "name" && !v.is_null() {
                                say!(
                                    "  {k:<18} {}",
                                    v.as_str().map_or_else(|| v.to_string(), str::to_owned)
                                );
                            }
                        }
                    }
                }
            }
        }
    }
    Ok(std::process::ExitCode::SUCCESS)
}

/// `cx login`: runs the whole login and shows the tenant (never a token).
///
/// # Errors
/// Whatever [`crate::session::Session::open`] reports, or a refused token
/// request.
pub async fn login(globals: &crate::Globals) -> CliResult<std::process::ExitCode> {
    use crate::output::{OutputFormat, print_json};
    let session = crate::session::Session::open(&globals.tenant).await?;
    let lifetime = session.token_lifetime().await?;
    let agent_api = match session.binding() {
        Some(crate::session::Binding::Real) => "real",
        Some(crate::session::Binding::Seed) => "seed",
        None => "real and seed",
    };
    match globals.output {
        OutputFormat::Json => print_json(&json!({
            "loggedIn": true,
            "login": session.kind.as_str(),
            "profile": session.profile,
            "tenantId": session.tenant_id,
            "area": session.area,
            "apiUrl": session.api_url,
            "tokenLifetimeSecs": lifetime.map(|d| d.as_secs()),
            "agentApi": agent_api,
            "api": session.api.as_str(),
        }))?,
        OutputFormat::Human => {
            let or_unknown = |v: &Option<String>| v.clone().unwrap_or_else(|| "unknown".to_owned());
            say!("logged in ({})", session.kind.as_str());
            if let Some(p) = &session.profile {
                say!("profile         {p}");
            }
            say!("tenant id       {}", or_unknown(&session.tenant_id));
            say!("area            {}", or_unknown(&session.area));
            say!("API host        {}", session.api_url);
            say!(
                "agent API       {agent_api} (--api {})",
                session.api.as_str()
            );
            match lifetime {
                Some(d) => say!("token lifetime  {} s", d.as_secs()),
                None => say!("token lifetime  unknown"),
            }
        }
    }
    Ok(std::process::ExitCode::SUCCESS)
}
