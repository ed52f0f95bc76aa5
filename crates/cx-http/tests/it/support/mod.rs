//! Shared helpers: a simulator and a runtime client authenticated against it.
//! Helpers unwrap: a panic is the test failure report.
//!
//! cx-http cannot use cx-auth (cx-auth depends on it), so the tests carry a
//! minimal [`Authenticate`]: it fetches a token through the runtime itself and
//! drops it when invalidated. Token caching is tested in cx-auth.

// Each test binary uses a different subset of these helpers.
#![allow(dead_code, clippy::unwrap_used)]

use std::sync::{Arc, Mutex};
use std::time::Duration;

use cx_http::{AccessToken, Authenticate, Client, Config, Error, RetryPolicy};
use cx_sim::Sim;

pub struct SimToken {
    token_client: Client,
    current: Mutex<Option<AccessToken>>,
}

#[async_trait::async_trait]
impl Authenticate for SimToken {
    async fn access_token(&self) -> Result<AccessToken, Error> {
        if let Some(t) = self.current.lock().unwrap().clone() {
            return Ok(t);
        }
        let body: serde_json::Value = self
            .token_client
            .post("/oauth/token")
            .without_auth()
            .form(&[
                ("grant_type", "client_credentials"),
                ("client_id", cx_sim::DEFAULT_CLIENT_ID),
                ("client_secret", cx_sim::DEFAULT_CLIENT_SECRET),
            ])
            .send_json()
            .await?;
        let text = body["access_token"].as_str().unwrap_or_default().to_owned();
        let token = AccessToken::new(text.into());
        *self.current.lock().unwrap() = Some(token.clone());
        Ok(token)
    }

    fn invalidate(&self, token: &AccessToken) {
        let mut cur = self.current.lock().unwrap();
        if cur.as_ref().is_some_and(|c| c.same_as(token)) {
            *cur = None;
        }
    }
}

/// Fast retries so tests stay quick; Retry-After is still honoured as sent.
pub fn fast_config(sim: &Sim) -> Config {
    Config::default().with_base_url(sim.base_url()).with_retry(
        RetryPolicy::default()
            .with_max_attempts(4)
            .with_initial_backoff(Duration::from_millis(10))
            .with_max_backoff(Duration::from_millis(50)),
    )
}

pub fn client_with(sim: &Sim, config: Config) -> Client {
    let token_client = Client::builder().base_url(sim.base_url()).build().unwrap();
    let auth = Arc::new(SimToken {
        token_client,
        current: Mutex::new(None),
    });
    Client::builder().config(config).auth(auth).build().unwrap()
}

pub fn client(sim: &Sim) -> Client {
    client_with(sim, fast_config(sim))
}

/// Journal entries (method, path) matching `method` and a path prefix.
pub fn sent(sim: &Sim, method: &str, path_prefix: &str) -> Vec<cx_sim::JournalEntry> {
    sim.journal()
        .into_iter()
        .filter(|e| e.method == method && e.path.starts_with(path_prefix))
        .collect()
}

/// The statuses the simulator answered to `method` on paths starting with
/// `path_prefix`, in order.
pub fn statuses(sim: &Sim, method: &str, path_prefix: &str) -> Vec<u16> {
    sent(sim, method, path_prefix)
        .iter()
        .map(|e| e.status)
        .collect()
}

pub const WF: &str = "/api/v2/workflows/wf_12345678-abcd-efgh-ijkl-1234567890ab";
