//! Spawning CXone Studio scripts (`../shared/CXONE_REST.md` §5 and §9,
//! issue 17): the real operation closest to seed 000's "run a workflow and
//! poll its execution".
//!
//! | intent | here | CXone endpoint |
//! |---|---|---|
//! | find a script by name | [`Client::find_script`] | `GET /scripts?scriptName=` → `{scripts: [{scriptId, …}]}` (204: none) |
//! | start a script | [`Client::start`] | `POST /scripts/start?scriptId=&skillId=&Parameters=&startDate=` (v34 spec) → `{contactId}` |
//! | start a script, SDK form | [`Client::start_sdk`] | `POST /scripts/{scriptId}/start` `{scriptId, skillId, parameters, startDate}` (NICE's SDK) → 200, `{contactId}` (body unconfirmed) |
//! | signal a running script | [`Client::signal`] | `POST /interactions/{contactId}/signal` `{p1..p9}` → 202 |
//! | follow a spawned script | [`Client::follow`] | `GET /contacts/active?contactId=` until 204, then `GET /contacts/{contactId}` and `GET /contacts/{contactId}/state-history` |
//!
//! **What CXone does not expose.** A script run has no resource of its
//! own: no run id, no run status, no output, no exit code. The only handle
//! is the `contactId` the start returns; "following" a script means
//! watching that contact — active while the script runs (its current
//! contact state), then a completed contact record (start, end reason,
//! durations, skill) and its state history (each state with its start and
//! duration). That is all [`ScriptRun`] can report; whether the script did
//! what it was meant to do is only visible in what it did elsewhere.
//!
//! Parameters are joined with `|` on the wire, so a value holding a `|`
//! cannot be sent and is refused before any request. A signal carries at
//! most nine values (`p1`..`p9`), sent as a JSON body as NICE's SDK and
//! the published test suite do (one published client sends them as query
//! parameters instead).

use std::time::Duration;

use chrono::{DateTime, SecondsFormat, Utc};
use cx_http::{ApiPath, PollStatus, Poller, TextId};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use crate::error::{Error, ErrorKind, Rule, Violation};

cx_http::api_versions! {
    /// The `vNN.0` version segment of each call; defaults are the versions the
    /// reference records published clients using.
    pub struct ScriptVersions {
        /// `GET /scripts` (default `v23.0`, NICE's SDK).
        with_scripts(scripts) = "v23.0";
        /// `POST /scripts/start` (default `v34.0`, the spec that documents it).
        with_start(start) = "v34.0";
        /// `POST /scripts/{scriptId}/start` (default `v23.0`, NICE's SDK).
        with_start_sdk(start_sdk) = "v23.0";
        /// `POST /interactions/{contactId}/signal` (default `v30.0`).
        with_signal(signal) = "v30.0";
        /// `/contacts/active`, `/contacts/{contactId}` and its state history
        /// (default `v23.0`).
        with_contacts(contacts) = "v23.0";
    }
}

/// Settings of a scripts [`Client`].
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct ScriptsConfig {
    /// Version segment per call.
    pub versions: ScriptVersions,
    /// How [`Client::follow`] reads `/contacts/active` (default: every 2 s
    /// growing ×1.5 up to 30 s, 10% jitter, 1 h deadline).
    pub follow: Poller,
}

impl Default for ScriptsConfig {
    fn default() -> Self {
        Self {
            versions: ScriptVersions::default(),
            follow: Poller::default()
                .with_initial_delay(Duration::from_secs(2))
                .with_max_delay(Duration::from_secs(30))
                .with_deadline(Some(Duration::from_secs(3600))),
        }
    }
}

cx_http::with_setters! { ScriptsConfig {
    /// Set [`ScriptsConfig::versions`].
    with_versions(versions: ScriptVersions);
    /// Set [`ScriptsConfig::follow`].
    with_follow(follow: Poller);
}}

fn check_contact_id(id: &str) -> Result<(), Error> {
    Violation::check_id("contactId", Rule::Format, id).map_err(Error::violation)
}

cx_http::id_newtype! {
    /// A contact id (CXone's are integers; kept as text): one URL path
    /// segment, else [`ErrorKind::Validation`] on field `contactId`.
    pub struct ContactId(check_contact_id) -> Error;
}

/// A script of `GET /scripts`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Script {
    /// `scriptId`.
    pub script_id: TextId,
    /// `scriptName`.
    pub script_name: Option<String>,
    /// `scriptPath`.
    pub script_path: Option<String>,
    /// Every other field, as sent.
    #[serde(flatten)]
    pub other: Map<String, Value>,
}

/// Which script to start through [`Client::start`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ScriptRef {
    /// By `scriptId`.
    Id(u64),
    /// By `scriptPath` (Studio folder and name).
    Path(String),
}

/// A script start.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct StartScript {
    /// The skill the script's contact runs under (`skillId`).
    pub skill_id: u64,
    /// The values the script receives, joined with `|` on the wire (none
    /// may contain `|`).
    pub parameters: Vec<String>,
    /// When to start (`startDate`, ISO-8601 UTC); `None` for now.
    pub start_date: Option<DateTime<Utc>>,
}

impl StartScript {
    /// A start under `skill_id` with no parameters, now.
    pub fn new(skill_id: u64) -> Self {
        Self {
            skill_id,
            parameters: Vec::new(),
            start_date: None,
        }
    }

    /// `parameters` joined with `|`, or the violation of each value that
    /// holds a `|`.
    fn joined(&self) -> Result<String, Error> {
        let bad: Vec<Violation> = self
            .parameters
            .iter()
            .enumerate()
            .filter(|(_, p)| p.contains('|'))
            .map(|(i, _)| {
                Violation::new(
                    format!("parameters[{i}]"),
                    Rule::Format,
                    "must not contain `|` (CXone joins the values with it)",
                )
            })
            .collect();
        if bad.is_empty() {
            Ok(self.parameters.join("|"))
        } else {
            Err(Error::validation(bad))
        }
    }

    fn start_date(&self) -> String {
        self.start_date
            .map(|d| d.to_rfc3339_opts(SecondsFormat::Millis, true))
            .unwrap_or_default()
    }
}

cx_http::with_setters! { StartScript {
    /// Set [`StartScript::parameters`].
    with_parameters(parameters: impl IntoIterator<Item = impl Into<String>>) = parameters.into_iter().map(Into::into).collect();
    /// Set [`StartScript::start_date`].
    with_start_date(start_date: DateTime<Utc>) = Some(start_date);
}}

/// One state of a contact's history (`contactStateHistory` item).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ContactStateEntry {
    /// `contactStateName` (`Active`, `EndContact`, ...).
    pub contact_state_name: Option<String>,
    /// `startDate`, ISO-8601 UTC.
    pub start_date: Option<String>,
    /// `duration` as sent (seconds on CXone's schema).
    pub duration: Option<Value>,
    /// Every other field, as sent.
    #[serde(flatten)]
    pub other: Map<String, Value>,
}

/// Everything CXone exposes about a spawned script once its contact has
/// ended (see the module docs: there is no run status or output).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct ScriptRun {
    /// The contact the start returned.
    pub contact_id: ContactId,
    /// The last `/contacts/active` entry seen for it (its state then), if
    /// it was seen active at all.
    pub last_active: Option<Value>,
    /// Reads of `/contacts/active` made.
    pub polls: u32,
    /// `GET /contacts/{contactId}` as sent (its shape is unconfirmed; the
    /// simulator answers the completed-contact fields).
    pub record: Value,
    /// `GET /contacts/{contactId}/state-history`, in order.
    pub states: Vec<ContactStateEntry>,
}

/// A client of CXone's script operations. See the module docs.
#[derive(Clone)]
pub struct Client {
    http: cx_http::Client,
    config: ScriptsConfig,
}

cx_http::real_client_debug!(Client, "cx_workflow::scripts::Client");

impl Client {
    /// A client on `http` (base URL = the API host).
    ///
    /// # Errors
    /// [`ErrorKind::Validation`] naming each `versions.*` that is not
    /// `v<digits>.0`.
    pub fn new(http: cx_http::Client, config: ScriptsConfig) -> Result<Self, Error> {
        let bad = config.versions.violations(Rule::Format);
        if !bad.is_empty() {
            return Err(Error::validation(bad));
        }
        Ok(Self { http, config })
    }

    /// The settings.
    pub fn config(&self) -> &ScriptsConfig {
        &self.config
    }

    fn service(version: &str) -> ApiPath {
        ApiPath::new("/inContactAPI/services").id("version", version)
    }

    /// The script called `name` (case-insensitive), `None` when the tenant
    /// has none.
    ///
    /// # Errors
    /// The shared kinds for a failed call; [`ErrorKind::Api`] for an answer
    /// without a `scripts` list.
    pub async fn find_script(&self, name: &str) -> Result<Option<Script>, Error> {
        let what = format!("looking up script {:?}", cx_http::escape(name));
        let resp = self
            .http
            .get(Self::service(&self.config.versions.scripts).lit("scripts"))
            .operation("scripts.find")
            .query(&[("scriptName", name)])
            .send()
            .await
            .map_err(|e| Error::from_http(e, &what))?;
        if resp.status() == 204 {
            return Ok(None);
        }
        #[derive(Deserialize)]
        struct List {
            scripts: Vec<Script>,
        }
        let list: List = resp.json().map_err(|e| {
            Error::new(
                ErrorKind::Api,
                format!("{what}: no scripts list in the answer"),
            )
            .with_http(e)
        })?;
        Ok(list.scripts.into_iter().find(|s| {
            s.script_name
                .as_deref()
                .is_some_and(|n| n.eq_ignore_ascii_case(name))
        }))
    }

    /// `POST /scripts/start` (the v34 form, query parameters): starts
    /// `script` and returns the contact that is its only handle.
    ///
    /// # Errors
    /// [`ErrorKind::Validation`] before any request (a parameter holding
    /// `|`); the shared kinds for a refused start (400 `InvalidRequest`
    /// with the server's reason); [`ErrorKind::Api`] when the answer has no
    /// `contactId`.
    pub async fn start(&self, script: &ScriptRef, start: &StartScript) -> Result<ContactId, Error> {
        let parameters = start.joined()?;
        let (key, value) = match script {
            ScriptRef::Id(id) => ("scriptId", id.to_string()),
            ScriptRef::Path(path) => ("scriptPath", path.clone()),
        };
        let what = format!("starting script {}", cx_http::escape(&value));
        let req = self
            .http
            .post(Self::service(&self.config.versions.start).lit("scripts/start"))
            .operation("scripts.start")
            .query(&[(key, value.as_str())])
            .query(&[("skillId", start.skill_id.to_string())])
            .query(&[("Parameters", parameters)])
            .query(&[("startDate", start.start_date())]);
        self.started(req, &what).await
    }

    /// `POST /scripts/{scriptId}/start` (NICE's SDK form, a JSON body with
    /// the parameters joined with `|`). CXone documents 200 without a body
    /// shape; a `contactId` in it is read as for [`Client::start`].
    ///
    /// # Errors
    /// As [`Client::start`].
    pub async fn start_sdk(&self, script_id: u64, start: &StartScript) -> Result<ContactId, Error> {
        let parameters = start.joined()?;
        let what = format!("starting script {script_id}");
        let req = self
            .http
            .post(
                Self::service(&self.config.versions.start_sdk)
                    .lit("scripts")
                    .id("scriptId", &script_id.to_string())
                    .lit("start"),
            )
            .operation("scripts.start_sdk")
            .json(&json!({
                "scriptId": script_id,
                "skillId": start.skill_id,
                "parameters": parameters,
                "startDate": start.start_date(),
            }));
        self.started(req, &what).await
    }

    async fn started(&self, req: cx_http::RequestBuilder, what: &str) -> Result<ContactId, Error> {
        #[derive(Deserialize)]
        #[serde(rename_all = "camelCase")]
        struct Started {
            contact_id: TextId,
        }
        let started: Started = req
            .send()
            .await
            .map_err(|e| Error::from_http(e, what))?
            .json()
            .map_err(|e| {
                Error::new(
                    ErrorKind::Api,
                    format!("{what}: no contactId in the answer"),
                )
                .with_http(e)
            })?;
        ContactId::new(started.contact_id.0)
    }

    /// `POST /interactions/{contactId}/signal`: up to nine values
    /// (`p1`..`p9`) into the script running on `contact_id`.
    ///
    /// # Errors
    /// [`ErrorKind::Validation`] for more than nine values, before any
    /// request; [`ErrorKind::NotFound`] when the contact is unknown or has
    /// ended (CXone: 404 `InvalidContactId`); the shared kinds otherwise.
    pub async fn signal(&self, contact_id: &ContactId, values: &[String]) -> Result<(), Error> {
        if values.len() > 9 {
            return Err(Error::violation(Violation::new(
                "values",
                Rule::Range,
                format!(
                    "a signal carries at most 9 values (p1..p9), got {}",
                    values.len()
                ),
            )));
        }
        let body: Map<String, Value> = values
            .iter()
            .enumerate()
            .map(|(i, v)| (format!("p{}", i + 1), Value::String(v.clone())))
            .collect();
        self.http
            .post(
                Self::service(&self.config.versions.signal)
                    .lit("interactions")
                    .id("contactId", contact_id.as_str())
                    .lit("signal"),
            )
            .operation("scripts.signal")
            .json(&body)
            .send()
            .await
            .map_err(|e| Error::from_http(e, &format!("signalling contact {contact_id}")))?;
        Ok(())
    }

    /// Follows the script running on `contact_id` through its contact:
    /// reads `/contacts/active?contactId=` on [`ScriptsConfig::follow`]
    /// until the contact is no longer listed (204), calling `progress` with
    /// each active entry, then reads its record and state history.
    ///
    /// # Errors
    /// [`ErrorKind::WaitTimeout`] when it is still active at the poller's
    /// deadline; the shared kinds for a failed read (404 `NotFound` for a
    /// contact CXone does not know); [`ErrorKind::Api`] for a state
    /// history without its list.
    pub async fn follow(
        &self,
        contact_id: &ContactId,
        mut progress: impl FnMut(&Value),
    ) -> Result<ScriptRun, Error> {
        let what = format!("contact {contact_id}");
        let contacts = || Self::service(&self.config.versions.contacts).lit("contacts");
        // The newest active entry seen (shared by the checks and `progress`).
        let seen: std::sync::Mutex<Option<Value>> = std::sync::Mutex::new(None);
        let outcome = self
            .config
            .follow
            .poll_with_progress(
                &format!("the script on {what}"),
                || {
                    let req = self
                        .http
                        .get(contacts().lit("active"))
                        .operation("scripts.follow")
                        .query(&[("contactId", contact_id.as_str())]);
                    let seen = &seen;
                    async move {
                        let resp = req.send().await?;
                        Ok(match active_entry(&resp, contact_id) {
                            None => PollStatus::Done(()),
                            Some(entry) => {
                                *lock(seen) = Some(entry);
                                PollStatus::Pending { retry_after: None }
                            }
                        })
                    }
                },
                |_| {
                    if let Some(entry) = lock(&seen).as_ref() {
                        progress(entry);
                    }
                },
            )
            .await
            .map_err(|e| Error::from_http(e, &format!("following {what}")))?;
        let last_active = lock(&seen).take();
        let polls = outcome.polls;
        let record: Value = self
            .http
            .get(contacts().id("contactId", contact_id.as_str()))
            .operation("scripts.contact")
            .send_json()
            .await
            .map_err(|e| Error::from_http(e, &format!("reading {what}")))?;
        #[derive(Deserialize)]
        #[serde(rename_all = "camelCase")]
        struct History {
            contact_state_history: Vec<ContactStateEntry>,
        }
        let history: History = self
            .http
            .get(
                contacts()
                    .id("contactId", contact_id.as_str())
                    .lit("state-history"),
            )
            .operation("scripts.contact_states")
            .send()
            .await
            .map_err(|e| Error::from_http(e, &format!("reading the state history of {what}")))?
            .json()
            .map_err(|e| {
                Error::new(
                    ErrorKind::Api,
                    format!("reading the state history of {what}: no contactStateHistory list"),
                )
                .with_http(e)
            })?;
        Ok(ScriptRun {
            contact_id: contact_id.clone(),
            last_active,
            polls,
            record,
            states: history.contact_state_history,
        })
    }
}

/// The lock, even if a panic elsewhere poisoned it (the value is still good).
fn lock<T>(m: &std::sync::Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// The `/contacts/active` entry of `contact_id` in `resp`, `None` when the
/// answer is 204 or does not list it.
fn active_entry(resp: &cx_http::Response, contact_id: &ContactId) -> Option<Value> {
    if resp.status() == 204 {
        return None;
    }
    let body: Value = resp.json().ok()?;
    body.get("activeContacts")?
        .as_array()?
        .iter()
        .find(|c| {
            serde_json::from_value::<TextId>(c.get("contactId").cloned().unwrap_or(Value::Null))
                .is_ok_and(|id| id.0 == contact_id.as_str())
        })
        .cloned()
}
