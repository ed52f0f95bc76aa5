//! The seam between the runtime and token sources.
//!
//! `cx-http` defines [`Authenticate`]; `cx-auth` implements it (OAuth2 client
//! credentials with a token cache) and fetches its tokens through an
//! unauthenticated [`crate::Client`], so token calls get the same retries and
//! tracing as every other call.

use std::fmt;
use std::sync::Arc;

use secrecy::{ExposeSecret, SecretString};

use crate::Error;

/// A bearer access token. Cloning is cheap; `Debug` never prints the secret.
///
/// Two clones of the same token compare equal with [`AccessToken::same_as`],
/// which a token cache uses to tell "this token was rejected" from "a fresher
/// token has already replaced it".
#[derive(Clone)]
pub struct AccessToken {
    secret: Arc<SecretString>,
}

impl AccessToken {
    /// Wrap a token string received from a token endpoint.
    pub fn new(secret: SecretString) -> Self {
        Self {
            secret: Arc::new(secret),
        }
    }

    /// True when `other` is a clone of this very token (not merely equal text).
    pub fn same_as(&self, other: &AccessToken) -> bool {
        Arc::ptr_eq(&self.secret, &other.secret)
    }

    /// The token text, for the `Authorization` header.
    pub fn expose(&self) -> &str {
        self.secret.expose_secret()
    }
}

impl fmt::Debug for AccessToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("AccessToken([REDACTED])")
    }
}

/// A source of access tokens for [`crate::Client`].
///
/// The client calls [`Authenticate::access_token`] before every attempt, and on
/// a 401 calls [`Authenticate::invalidate`] with the rejected token, then asks
/// again and replays the request once.
#[async_trait::async_trait]
pub trait Authenticate: Send + Sync + 'static {
    /// A currently valid access token (cached or freshly fetched).
    ///
    /// # Errors
    /// An [`Error`] of kind [`crate::ErrorKind::Auth`] when no token can be had.
    async fn access_token(&self) -> Result<AccessToken, Error>;

    /// The server rejected `token` with 401: drop it, unless a fresher token
    /// has already replaced it.
    fn invalidate(&self, token: &AccessToken);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_never_prints_secret() {
        let t = AccessToken::new(SecretString::from("s3cr3t-token"));
        assert!(!format!("{t:?}").contains("s3cr3t"));
        let same = t.clone();
        let other = AccessToken::new(SecretString::from("s3cr3t-token"));
        assert!(t.same_as(&same));
        assert!(!t.same_as(&other));
    }
}
