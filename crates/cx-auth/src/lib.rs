#![doc = include_str!("../README.md")]
//! CXone logins: OAuth2 client credentials (the seeds' contract) and
//! CXone's access-key login with OpenID discovery ([`Tenant::discover`]),
//! cached and refreshed before they expire.
//!
//! Implements the "Authentication Setup" sections of seeds 000 (`POST
//! {tenant}/oauth/token`, form body, 60 s refresh skew) and 001 (`POST
//! {region}/v1/oauth2/token`), plus HTTP Basic client authentication with
//! `grant_type` in the request (seed 002).
//!
//! - [`ClientCredentials`] fetches a token through an unauthenticated
//!   [`cx_http::Client`], so token calls get the runtime's retries and tracing.
//! - [`TokenCache`] serves it to every request: it refreshes `refresh_skew`
//!   before expiry (default 60 s, as seed 000), lets exactly one caller refresh
//!   while the others wait for its result (single flight), keeps serving a
//!   token that is still valid when a refresh fails, and never caches an error.
//! - [`Tenant::discover`] is CXone's documented back-end login: OpenID
//!   discovery, the access-key password grant, a verified (RS256, JWKS)
//!   id_token whose `tenantId` finds the API host through
//!   `/.well-known/cxone-configuration`, refresh-token grants before expiry
//!   and a fresh password grant when a refresh token is refused.
//! - [`SharedTokens`] is the seam for one token across a fleet of processes
//!   (`cx_redis`): [`Tenant::with_shared_tokens`].
//! - Secrets are [`secrecy::SecretString`]s: `Debug` redacts them and no error
//!   message contains one.
//!
//! ```no_run
//! # async fn demo() -> Result<(), cx_http::Error> {
//! use std::sync::Arc;
//! let creds = cx_auth::ClientCredentials::builder()
//!     .token_url("http://127.0.0.1:8080/oauth/token")
//!     .client_id("my-client")
//!     .client_secret("my-secret")
//!     .scopes(["workflow.execute", "workflow.read"])
//!     .build()?;
//! let cache = Arc::new(cx_auth::TokenCache::new(creds));
//! let api = cx_http::Client::builder()
//!     .base_url("http://127.0.0.1:8080")
//!     .auth(cache)
//!     .build()?;
//! # let _ = api; Ok(()) }
//! ```
//!
//! ## Features
//! None.

#![deny(missing_docs)]

mod cache;
mod credentials;
mod discovery;
mod tenant;

pub use cache::{SharedTokenStore, SharedTokens, TokenCache, TokenCacheConfig};
pub use credentials::{
    ClientAuthMethod, ClientCredentials, ClientCredentialsBuilder, FetchToken, FetchedToken,
};
pub use discovery::{
    AccessKey, CXONE_AUTH_URL, CxoneConfiguration, Discover, Discovered, IdTokenClaims,
    OpenIdConfiguration,
};
pub use tenant::Tenant;
