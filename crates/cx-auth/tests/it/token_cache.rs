//! Token fetching and caching over real HTTP against cx-sim; each test counts
//! token requests in the simulator's journal.

// Tests unwrap: a panic with the value is the failure report.

use std::sync::Arc;
use std::time::Duration;

use crate::support::{TestClock, fast_http};
use cx_auth::{ClientAuthMethod, ClientCredentials, Tenant, TokenCache, TokenCacheConfig};
use cx_http::{Authenticate, ErrorKind};
use cx_sim::{ClientRegistration, FaultRule, Sim};
use cx_testkit::{sim_credentials, status_fault};

const WF: &str = "/api/v2/workflows/wf_12345678-abcd-efgh-ijkl-1234567890ab";

fn token_requests(sim: &Sim) -> usize {
    sim.journal()
        .iter()
        .filter(|e| e.method == "POST" && e.path.ends_with("token"))
        .count()
}

#[tokio::test]
async fn both_token_paths_and_both_client_auth_styles_work() {
    let sim = Sim::start().await.unwrap();
    for path in ["/oauth/token", "/v1/oauth2/token"] {
        for method in [ClientAuthMethod::FormBody, ClientAuthMethod::Basic] {
            let creds = ClientCredentials::builder()
                .token_url(format!("{}{path}", sim.base_url()))
                .client_id(cx_sim::DEFAULT_CLIENT_ID)
                .client_secret(cx_sim::DEFAULT_CLIENT_SECRET)
                .scopes(["workflow.read", "workflow.execute"])
                .auth_method(method)
                .build()
                .unwrap();
            let cache = TokenCache::new(creds);
            let token = cache.access_token().await;
            assert!(token.is_ok(), "{path} {method:?}: {token:?}");
        }
    }
    assert_eq!(token_requests(&sim), 4);
}

#[tokio::test]
async fn a_hundred_concurrent_callers_on_a_cold_cache_make_one_token_request() {
    let sim = Sim::start().await.unwrap();
    let (api, _cache) = cx_testkit::connect(&sim);
    let calls = (0..100).map(|_| api.get(WF).send());
    let results = futures::future::join_all(calls).await;
    assert!(results.iter().all(Result::is_ok));
    assert_eq!(token_requests(&sim), 1);
    assert_eq!(sim.journal().iter().filter(|e| e.path == WF).count(), 100);
}

#[tokio::test]
async fn a_revoked_token_is_replaced_once_for_many_callers() {
    let sim = Sim::start().await.unwrap();
    let (api, _cache) = cx_testkit::connect(&sim);
    api.get(WF).send().await.unwrap();
    sim.revoke_tokens();
    let calls = (0..20).map(|_| api.get(WF).send());
    assert!(
        futures::future::join_all(calls)
            .await
            .iter()
            .all(Result::is_ok)
    );
    // The first token, then one refresh shared by all 20 callers.
    assert_eq!(token_requests(&sim), 2);
}

#[tokio::test]
async fn a_failed_refresh_keeps_serving_a_valid_token_and_is_not_cached() {
    // 4 s tokens: the skew is capped at half the lifetime, so the cache
    // refreshes after 2 s while the token is still valid for 2 s more.
    let sim = Sim::builder()
        .token_ttl(Duration::from_secs(4))
        .start()
        .await
        .unwrap();
    let creds = sim_credentials(&sim)
        .http_config(fast_http())
        .build()
        .unwrap();
    let clock = Arc::new(TestClock::new());
    let config = TokenCacheConfig::default().with_clock(clock.clone());
    let cache = TokenCache::with_config(creds, config);
    let first = cache.access_token().await.unwrap();
    clock.advance(&sim, Duration::from_millis(2_100));
    sim.set_faults(vec![FaultRule::new("POST /oauth/token", status_fault(500))]);
    let served = cache.access_token().await.unwrap();
    assert!(served.same_as(&first), "still-valid token served");
    clock.advance(&sim, Duration::from_millis(2_000));
    let err = cache.access_token().await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Auth);
    sim.set_faults(vec![]);
    let fresh = cache.access_token().await.unwrap();
    assert!(!fresh.same_as(&first), "the error was not cached");
}

#[tokio::test]
async fn a_lifetime_past_what_the_clock_holds_is_cached_without_a_panic() {
    // `expires_in` is the server's number: u64::MAX seconds is past
    // chrono's last date, so "now + expires_in" must saturate.
    let sim = Sim::builder()
        .token_ttl(Duration::from_secs(u64::MAX))
        .start()
        .await
        .unwrap();
    let creds = sim_credentials(&sim).build().unwrap();
    // A skew as long as that too: half the lifetime, back from the last date.
    let config = TokenCacheConfig::default().with_refresh_skew(Duration::MAX);
    let cache = TokenCache::with_config(creds, config);
    let first = cache.access_token().await.unwrap();
    let again = cache.access_token().await.unwrap();
    assert!(again.same_as(&first), "the token is cached");
    assert_eq!(cache.lifetime(), Some(Duration::from_secs(u64::MAX)));
    assert_eq!(token_requests(&sim), 1);
}

#[tokio::test]
async fn bad_credentials_fail_with_the_server_reason_and_no_secret() {
    let sim = Sim::start().await.unwrap();
    let secret = "wrong-secret-value-1234";
    let creds = sim_credentials(&sim).client_secret(secret).build().unwrap();
    let err = TokenCache::new(creds).access_token().await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Auth);
    let text = format!("{err} {err:?}");
    assert!(text.contains("invalid_client"), "{text}");
    assert!(!text.contains(secret), "secret leaked: {text}");
    // 401 from the token endpoint is not retried.
    assert_eq!(token_requests(&sim), 1);
}

#[tokio::test]
async fn a_scope_the_client_lacks_is_refused_and_granted_scopes_are_enforced() {
    let sim = Sim::start().await.unwrap();
    sim.register_client(
        ClientRegistration::new("reader", "reader-secret", cx_sim::DEFAULT_TENANT)
            .with_scopes(["workflow.read"]),
    );
    let mut tenant = Tenant::new(sim.base_url(), "reader", "reader-secret");
    tenant.scopes = vec!["workflow.execute".into()];
    let (api, _) = tenant.connect().unwrap();
    let err = api.get(WF).send().await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Auth);
    assert!(format!("{err:?}").contains("invalid_scope"), "{err:?}");

    tenant.scopes = vec!["workflow.read".into()];
    let (api, _) = tenant.connect().unwrap();
    api.get(WF).send().await.unwrap();
    let err = api
        .link(cx_http::Method::POST, &format!("{WF}/executions"))
        .json(&serde_json::json!({"input": {}}))
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.status(), Some(403));
    assert!(
        err.api_message()
            .unwrap_or_default()
            .contains("workflow.execute"),
        "{err}"
    );
}

#[tokio::test]
async fn the_cache_is_usable_behind_an_arc_dyn() {
    let sim = Sim::start().await.unwrap();
    let (_, cache) = cx_testkit::connect(&sim);
    let dynamic: Arc<dyn Authenticate> = cache;
    let a = dynamic.access_token().await.unwrap();
    let b = dynamic.access_token().await.unwrap();
    assert!(a.same_as(&b));
    dynamic.invalidate(&a);
    let c = dynamic.access_token().await.unwrap();
    assert!(!c.same_as(&a));
    assert_eq!(token_requests(&sim), 2);
}

#[test]
fn each_bad_setting_is_reported_under_its_own_name() {
    let cases = [
        ("not a url", None, "/oauth/token", "`api_url`"),
        (
            "http://127.0.0.1:1",
            Some("ftp://x"),
            "/oauth/token",
            "`auth_url`",
        ),
        ("http://127.0.0.1:1", None, "../../x", "`token_path`"),
        ("http://127.0.0.1:1", None, "/a/../../x", "`token_path`"),
        ("http://127.0.0.1:1", None, "oauth/token", "`token_path`"),
        (
            "http://127.0.0.1:1",
            None,
            "//evil.example/x",
            "`token_path`",
        ),
    ];
    for (api, auth, token_path, field) in cases {
        let mut tenant = cx_auth::Tenant::new(api, "id", "the-secret");
        tenant.auth_url = auth.map(str::to_owned);
        tenant.token_path = token_path.to_owned();
        let err = tenant.connect().map(drop).unwrap_err();
        let msg = err.to_string();
        assert!(msg.contains(field), "{api} {auth:?} {token_path}: {msg}");
        assert!(!msg.contains("the-secret"));
    }
}
