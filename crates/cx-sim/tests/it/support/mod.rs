//! Shared helpers for the cx-sim integration tests: an HTTP client, token
//! fetching and polling helpers, all over real HTTP.

#![allow(dead_code, unused_imports, clippy::unwrap_used)]

use std::time::Duration;

use reqwest::{Client, Response, StatusCode};
use serde_json::{Value, json};

pub use cx_sim::{
    DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, READONLY_CLIENT_ID, READONLY_CLIENT_SECRET,
    SEED_WORKFLOW_ID, Sim, TENANT_B_CLIENT_ID, TENANT_B_CLIENT_SECRET,
};

/// A reqwest client (installs the rustls crypto provider reqwest needs).
pub fn http() -> Client {
    let _ = rustls::crypto::ring::default_provider().install_default();
    Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap()
}

/// A running simulator plus a client and a token for the default client.
pub struct Ctx {
    pub sim: Sim,
    pub http: Client,
    pub token: String,
}

impl Ctx {
    pub async fn new() -> Self {
        Self::with(Sim::start().await.unwrap()).await
    }

    pub async fn with(sim: Sim) -> Self {
        let http = http();
        let token = token(&http, &sim, DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET).await;
        Self { sim, http, token }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.sim.base_url())
    }

    pub async fn get(&self, path: &str) -> Response {
        self.http
            .get(self.url(path))
            .bearer_auth(&self.token)
            .send()
            .await
            .unwrap()
    }

    pub async fn post(&self, path: &str, body: &Value) -> Response {
        self.http
            .post(self.url(path))
            .bearer_auth(&self.token)
            .json(body)
            .send()
            .await
            .unwrap()
    }

    /// Creates an execution of `workflow` and returns the 201 body.
    pub async fn execute(&self, workflow: &str, input: Value) -> Value {
        let resp = self
            .post(
                &format!("/api/v2/workflows/{workflow}/executions"),
                &json!({ "input": input }),
            )
            .await;
        assert_eq!(resp.status(), StatusCode::CREATED);
        resp.json().await.unwrap()
    }

    pub async fn execution(&self, workflow: &str, id: &str) -> Value {
        let resp = self
            .get(&format!("/api/v2/workflows/{workflow}/executions/{id}"))
            .await;
        assert_eq!(resp.status(), StatusCode::OK);
        resp.json().await.unwrap()
    }

    /// Polls until the execution leaves PENDING/RUNNING (bounded: 5 s).
    pub async fn wait_terminal(&self, workflow: &str, id: &str) -> Value {
        for _ in 0..100 {
            let exec = self.execution(workflow, id).await;
            if !matches!(exec["status"].as_str(), Some("PENDING" | "RUNNING")) {
                return exec;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("execution {id} did not finish within 5 s");
    }
}

/// Fetches a token with form-body credentials from `/oauth/token`.
pub async fn token(http: &Client, sim: &Sim, id: &str, secret: &str) -> String {
    let resp = http
        .post(format!("{}/oauth/token", sim.base_url()))
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", id),
            ("client_secret", secret),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    let body: Value = resp.json().await.unwrap();
    body["access_token"].as_str().unwrap().to_owned()
}

/// A valid input for the seed workflow.
pub fn seed_input(score: u32) -> Value {
    json!({
        "customerId": "CUST-99887",
        "priorityScore": score,
        "requiresCallback": true,
        "routingMetadata": {"channel": "voice", "queue": "sales"}
    })
}
