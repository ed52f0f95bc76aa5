//! CXone's access-key login over real HTTP against cx-sim: discovery,
//! password grant, id_token verification, tenant lookup, refresh on the
//! simulator's virtual clock, and the errors a user sees. Each test asserts
//! on the simulator's journal.

// Tests unwrap: a panic with the value is the failure report.

use std::sync::Arc;
use std::time::Duration;

use crate::support::{TestClock, fast_http};
use cx_auth::{AccessKey, ClientAuthMethod, Discover, Tenant, TokenCacheConfig};
use cx_http::{Authenticate, ErrorKind};
use cx_sim::{Fault, FaultRule, JournalEntry, Sim};

const BU: &str = "/inContactAPI/services/v23.0/business-unit";

struct Harness {
    sim: Sim,
    clock: Arc<TestClock>,
}

impl Harness {
    async fn start(builder: cx_sim::SimBuilder) -> Self {
        Self {
            sim: builder.start().await.unwrap(),
            clock: Arc::new(TestClock::new()),
        }
    }

    fn advance(&self, by: Duration) {
        self.clock.advance(&self.sim, by);
    }

    fn discover(&self) -> Discover {
        Tenant::discover(
            AccessKey::new(
                cx_sim::DEFAULT_ACCESS_KEY_ID,
                cx_sim::DEFAULT_ACCESS_KEY_SECRET,
            ),
            cx_sim::DEFAULT_CLIENT_ID,
            cx_sim::DEFAULT_CLIENT_SECRET,
        )
        .auth_url(self.sim.base_url())
        .http_config(fast_http())
        .cache_config(TokenCacheConfig::default().with_clock(self.clock.clone()))
    }

    fn grants(&self, grant_type: &str) -> Vec<JournalEntry> {
        self.sim
            .journal()
            .into_iter()
            .filter(|e| e.path == "/auth/token" && e.grant_type.as_deref() == Some(grant_type))
            .collect()
    }
}

/// `n` concurrent business-unit calls; every one must succeed.
async fn business_units_concurrently(client: &cx_http::Client, n: usize) {
    let calls = (0..n).map(|_| client.get(BU).send());
    let results = futures::future::join_all(calls).await;
    for r in &results {
        assert!(r.is_ok(), "{r:?}");
    }
}

#[tokio::test]
async fn discovery_password_grant_verified_id_token_tenant_lookup_then_an_api_call() {
    for method in [ClientAuthMethod::Basic, ClientAuthMethod::FormBody] {
        let h = Harness::start(Sim::builder()).await;
        let tenant = h.discover().client_auth(method).login().await.unwrap();
        let want_id = cx_sim::tenant_id(cx_sim::DEFAULT_TENANT);
        assert_eq!(tenant.tenant_id, want_id, "{method:?}");
        assert_eq!(tenant.area.as_deref(), Some(cx_sim::SIM_AREA));
        assert_eq!(tenant.api_url, h.sim.base_url());
        assert_eq!(tenant.issuer, h.sim.base_url());
        assert_eq!(tenant.token_lifetime, Duration::from_secs(3600));
        assert_eq!(tenant.tenant_name.as_deref(), Some(cx_sim::DEFAULT_TENANT));

        let units: serde_json::Value = tenant.client.get(BU).send_json().await.unwrap();
        assert_eq!(units["businessUnits"][0]["tenantId"], want_id.as_str());

        let steps: Vec<(String, String, u16)> = h
            .sim
            .journal()
            .into_iter()
            .map(|e| (e.method, e.path, e.status))
            .collect();
        let expected = [
            ("GET", "/.well-known/openid-configuration"),
            ("POST", "/auth/token"),
            ("GET", "/auth/jwks"),
            ("GET", "/.well-known/cxone-configuration"),
            ("GET", BU),
        ];
        assert_eq!(steps.len(), expected.len(), "{steps:?}");
        for ((m, p, status), (want_m, want_p)) in steps.iter().zip(expected) {
            assert_eq!((m.as_str(), p.as_str(), *status), (want_m, want_p, 200));
        }
        assert_eq!(h.grants("password").len(), 1);
        let lookup = &h.sim.journal()[3];
        assert_eq!(
            lookup.query.as_deref(),
            Some(format!("tenantId={want_id}").as_str())
        );
    }
}

#[tokio::test]
async fn a_hundred_concurrent_callers_near_expiry_make_exactly_one_refresh_request() {
    let h = Harness::start(Sim::builder()).await;
    let tenant = h.discover().login().await.unwrap();
    let first = tenant.cache.access_token().await.unwrap();
    // 30 s before expiry: inside the 60 s refresh skew, token still valid.
    h.advance(Duration::from_secs(3600 - 30));
    h.sim.clear_journal();

    business_units_concurrently(&tenant.client, 100).await;

    let refreshes = h.grants("refresh_token");
    assert_eq!(refreshes.len(), 1, "{:?}", h.sim.journal());
    assert_eq!(refreshes[0].status, 200);
    assert!(h.grants("password").is_empty());
    let api_calls = h.sim.journal().iter().filter(|e| e.path == BU).count();
    assert_eq!(api_calls, 100);
    let second = tenant.cache.access_token().await.unwrap();
    assert!(!second.same_as(&first), "the refreshed token is served");
}

#[tokio::test]
async fn a_refresh_token_expired_on_the_virtual_clock_falls_back_to_one_password_grant() {
    // Refresh tokens live 30 min, access tokens 1 h: at refresh time the
    // refresh token is already dead.
    let h = Harness::start(Sim::builder().refresh_token_ttl(Duration::from_secs(1800))).await;
    let tenant = h.discover().login().await.unwrap();
    h.advance(Duration::from_secs(3600 - 30));
    h.sim.clear_journal();

    business_units_concurrently(&tenant.client, 20).await;
    let refreshes = h.grants("refresh_token");
    assert_eq!(refreshes.len(), 1);
    assert_eq!(refreshes[0].status, 400, "refused: invalid_grant");
    let passwords = h.grants("password");
    assert_eq!(passwords.len(), 1);
    assert_eq!(passwords[0].status, 200);
}

#[tokio::test]
async fn a_revoked_refresh_token_falls_back_to_one_password_grant_for_many_callers() {
    let h = Harness::start(Sim::builder()).await;
    let tenant = h
        .discover()
        .refresh_client_auth(false)
        .login()
        .await
        .unwrap();
    tenant.client.get(BU).send().await.unwrap();
    h.sim.revoke_tokens();
    h.sim.clear_journal();

    // Every caller gets 401 on the revoked access token; one of them
    // refreshes (refused), then signs in again once.
    business_units_concurrently(&tenant.client, 20).await;
    let refreshes = h.grants("refresh_token");
    assert_eq!(refreshes.len(), 1);
    assert_eq!(refreshes[0].status, 400);
    assert_eq!(refreshes[0].client_id, None, "no client auth on refresh");
    assert_eq!(h.grants("password").len(), 1);
}

/// The error text of a login that must fail, checked for leaked secrets.
async fn login_error(discover: Discover, secrets: &[&str]) -> (ErrorKind, String) {
    let err = discover.login().await.unwrap_err();
    let mut text = format!("{err} | {err:?}");
    let mut source = std::error::Error::source(&err);
    while let Some(s) = source {
        text.push_str(&format!(" | {s}"));
        source = s.source();
    }
    for secret in secrets {
        assert!(!text.contains(secret), "secret {secret:?} leaked: {text}");
    }
    (err.kind(), text)
}

#[tokio::test]
async fn each_wrong_setting_is_named_and_no_secret_is_shown() {
    let h = Harness::start(Sim::builder()).await;
    let base = h.sim.base_url().to_owned();
    let key_secret = cx_sim::DEFAULT_ACCESS_KEY_SECRET;
    let client_secret = cx_sim::DEFAULT_CLIENT_SECRET;
    let login = |key: AccessKey, client: &str, secret: &str| {
        Tenant::discover(key, client, secret.to_owned())
            .auth_url(base.clone())
            .http_config(fast_http())
    };

    let (kind, text) = login_error(
        login(
            AccessKey::new("NOSUCHKEY=", key_secret),
            cx_sim::DEFAULT_CLIENT_ID,
            client_secret,
        ),
        &[key_secret, client_secret],
    )
    .await;
    assert_eq!(kind, ErrorKind::Auth);
    assert!(text.contains("access key \"NOSUCHKEY=\""), "{text}");
    assert!(text.contains("unknown access key id"), "{text}");

    let wrong_secret = "not-the-key-secret-5678";
    let (_, text) = login_error(
        login(
            AccessKey::new(cx_sim::DEFAULT_ACCESS_KEY_ID, wrong_secret),
            cx_sim::DEFAULT_CLIENT_ID,
            client_secret,
        ),
        &[wrong_secret, key_secret, client_secret],
    )
    .await;
    assert!(text.contains("secret does not match"), "{text}");

    for (client, secret) in [
        ("no-such-client", client_secret),
        (cx_sim::DEFAULT_CLIENT_ID, "wrong-client-secret-9012"),
    ] {
        let (_, text) = login_error(
            login(
                AccessKey::new(cx_sim::DEFAULT_ACCESS_KEY_ID, key_secret),
                client,
                secret,
            ),
            &[secret, key_secret],
        )
        .await;
        assert!(text.contains(&format!("OAuth client {client:?}")), "{text}");
        assert!(text.contains("invalid_client"), "{text}");
    }

    h.sim.set_faults(vec![FaultRule::new(
        "POST /auth/token",
        Fault::TamperIdToken,
    )]);
    let (kind, text) = login_error(h.discover(), &[key_secret, client_secret]).await;
    assert_eq!(kind, ErrorKind::Auth);
    assert!(text.contains("id_token"), "{text}");
    assert!(text.contains("does not verify"), "{text}");
    assert!(text.contains("InvalidSignature"), "{text}");
    h.sim.set_faults(vec![]);
    // Nothing after the tampered token: no tenant lookup, no API call.
    let last = h.sim.journal().pop().unwrap();
    assert_eq!(last.path, "/auth/jwks");

    // A port nothing listens on.
    let closed = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap()
    };
    let (kind, text) = login_error(
        h.discover().auth_url(format!("http://{closed}")),
        &[key_secret, client_secret],
    )
    .await;
    assert_eq!(kind, ErrorKind::Auth);
    assert!(
        text.contains(&format!(
            "OpenID discovery at http://{closed}/.well-known/openid-configuration failed"
        )),
        "{text}"
    );

    let (kind, text) = login_error(
        h.discover().auth_url("cxone.niceincontact.com"),
        &[key_secret],
    )
    .await;
    assert_eq!(kind, ErrorKind::InvalidInput);
    assert!(text.contains("`auth_url`"), "{text}");
}

#[tokio::test]
async fn the_api_url_override_beats_the_discovered_endpoint() {
    let h = Harness::start(Sim::builder().api_endpoint("https://api-sim1.invalid")).await;
    let discovered = h.discover().login().await.unwrap();
    assert_eq!(discovered.api_url, "https://api-sim1.invalid");
    let overridden = h
        .discover()
        .api_url(h.sim.base_url())
        .login()
        .await
        .unwrap();
    assert_eq!(overridden.api_url, h.sim.base_url());
    overridden.client.get(BU).send().await.unwrap();
}

#[tokio::test]
async fn a_discovery_document_naming_another_issuer_is_refused_before_any_credential_is_sent() {
    // OpenID Discovery §4.3: `issuer` must be the URL discovery was read
    // from. Here it (and the id_token's `iss`) names another host.
    let h = Harness::start(Sim::builder().issuer("https://issuer.invalid")).await;
    let (kind, text) = login_error(
        h.discover(),
        &[
            cx_sim::DEFAULT_ACCESS_KEY_SECRET,
            cx_sim::DEFAULT_CLIENT_SECRET,
        ],
    )
    .await;
    assert_eq!(kind, ErrorKind::Auth);
    assert!(text.contains("\"https://issuer.invalid\""), "{text}");
    let paths: Vec<String> = h.sim.journal().into_iter().map(|e| e.path).collect();
    assert_eq!(paths, ["/.well-known/openid-configuration"]);
}
