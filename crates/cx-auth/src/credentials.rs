//! The OAuth2 client-credentials grant (RFC 6749 §4.4) against a CXone token
//! endpoint: seed 000's `POST /oauth/token` and seed 001's `POST /v1/oauth2/token`.
//!
//! Request: `application/x-www-form-urlencoded` with `grant_type=client_credentials`,
//! optional `scope` (space separated), and the client authenticated either in
//! the body (`client_id`, `client_secret`) or with HTTP Basic.
//! Response: `{access_token, token_type, expires_in (s), scope}`; an error is
//! `{error, error_description}` with 400/401.

use std::fmt;
use std::time::Duration;

use cx_http::{AccessToken, Client, Error, ErrorKind};
use secrecy::SecretString;
use serde::Deserialize;

/// How the client authenticates to the token endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ClientAuthMethod {
    /// `client_id` and `client_secret` in the form body (seeds 000, 001). Default.
    #[default]
    FormBody,
    /// `Authorization: Basic base64(client_id:client_secret)` (seed 002).
    Basic,
}

/// A token from the endpoint, with its lifetime. `Debug` leaves the token out.
#[derive(Clone)]
pub struct FetchedToken {
    /// The access token.
    pub token: AccessToken,
    /// Lifetime the server granted (`expires_in`).
    pub expires_in: Duration,
    /// Scopes the server granted (space separated), if it said.
    pub scope: Option<String>,
}

impl std::fmt::Debug for FetchedToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FetchedToken")
            .field("token", &"[redacted]")
            .field("expires_in", &self.expires_in)
            .field("scope", &self.scope)
            .finish_non_exhaustive()
    }
}

/// Something that can fetch a fresh access token; [`crate::TokenCache`] wraps one.
#[async_trait::async_trait]
pub trait FetchToken: Send + Sync + 'static {
    /// Fetch a new token from the authorization server.
    ///
    /// # Errors
    /// [`ErrorKind::Auth`] with the server's `error`/`error_description`, or a
    /// transport error from the runtime.
    async fn fetch(&self) -> Result<FetchedToken, Error>;
}

/// OAuth2 client credentials for one CXone client, ready to fetch tokens.
pub struct ClientCredentials {
    http: Client,
    token_url: String,
    client_id: String,
    client_secret: SecretString,
    scopes: Vec<String>,
    method: ClientAuthMethod,
}

impl fmt::Debug for ClientCredentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientCredentials")
            .field("token_url", &self.token_url)
            .field("client_id", &self.client_id)
            .field("client_secret", &"[REDACTED]")
            .field("scopes", &self.scopes)
            .field("method", &self.method)
            .finish()
    }
}

/// Builder for [`ClientCredentials`]; errors surface in [`ClientCredentialsBuilder::build`].
#[must_use]
#[derive(Default, Clone)]
pub struct ClientCredentialsBuilder {
    token_url: Option<String>,
    client_id: Option<String>,
    client_secret: Option<SecretString>,
    scopes: Vec<String>,
    method: ClientAuthMethod,
    config: Option<cx_http::Config>,
}

impl ClientCredentialsBuilder {
    /// Scopes to request; none requests the client's default set.
    pub fn scopes<I, S>(mut self, scopes: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.scopes = scopes.into_iter().map(Into::into).collect();
        self
    }

    /// Build.
    ///
    /// # Errors
    /// [`ErrorKind::InvalidInput`] naming `token_url`, `client_id` or
    /// `client_secret` when missing or malformed.
    pub fn build(self) -> Result<ClientCredentials, Error> {
        let url = self
            .token_url
            .ok_or_else(|| Error::invalid_input("token_url", "is required"))?;
        let origin = origin_of("token_url", &url)?;
        let client_id = self
            .client_id
            .filter(|s| !s.trim().is_empty())
            .ok_or_else(|| {
                Error::invalid_input("client_id", "is required and must not be empty")
            })?;
        let client_secret = self
            .client_secret
            .ok_or_else(|| Error::invalid_input("client_secret", "is required"))?;
        let config = self.config.unwrap_or_default().with_base_url(origin);
        let http = Client::builder().config(config).build()?;
        Ok(ClientCredentials {
            http,
            token_url: url,
            client_id,
            client_secret,
            scopes: self.scopes,
            method: self.method,
        })
    }
}

cx_http::with_setters! { builder ClientCredentialsBuilder {
    /// Full token endpoint URL, e.g. `https://na1.niceincontact.com/oauth/token`.
    token_url(token_url: impl Into<String>) = Some(token_url.into());
    /// The OAuth client id.
    client_id(client_id: impl Into<String>) = Some(client_id.into());
    /// The OAuth client secret.
    client_secret(client_secret: impl Into<SecretString>) = Some(client_secret.into());
    /// How to authenticate the client (default: form body).
    auth_method(method: ClientAuthMethod);
    /// Runtime settings for the token calls (retries, timeouts). Its `base_url` is ignored.
    http_config(config: cx_http::Config) = Some(config);
}}

/// The origin (`scheme://host[:port]`) of an absolute http(s) URL.
///
/// # Errors
/// [`ErrorKind::InvalidInput`] naming `field` when `url` is not an absolute
/// http(s) URL with a host.
pub(crate) fn origin_of(field: &str, url: &str) -> Result<String, Error> {
    let rest = url
        .strip_prefix("https://")
        .map(|r| ("https://", r))
        .or_else(|| url.strip_prefix("http://").map(|r| ("http://", r)));
    let Some((scheme, rest)) = rest else {
        return Err(Error::invalid_input(
            field,
            format!("{url:?} must be an absolute http(s) URL"),
        ));
    };
    let host = rest.split(['/', '?', '#']).next().unwrap_or_default();
    if host.is_empty() {
        return Err(Error::invalid_input(field, format!("{url:?} has no host")));
    }
    Ok(format!("{scheme}{host}"))
}

impl ClientCredentials {
    /// A builder.
    pub fn builder() -> ClientCredentialsBuilder {
        ClientCredentialsBuilder::default()
    }

    /// The client id (not secret).
    pub fn client_id(&self) -> &str {
        &self.client_id
    }
}

#[derive(Deserialize)]
struct TokenResponse {
    access_token: String,
    token_type: Option<String>,
    expires_in: u64,
    scope: Option<String>,
}

#[async_trait::async_trait]
impl FetchToken for ClientCredentials {
    async fn fetch(&self) -> Result<FetchedToken, Error> {
        use secrecy::ExposeSecret as _;
        let scope = self.scopes.join(" ");
        let mut form: Vec<(&str, &str)> = vec![("grant_type", "client_credentials")];
        if !scope.is_empty() {
            form.push(("scope", &scope));
        }
        let mut req = self
            .http
            .request_url(cx_http::Method::POST, &self.token_url)
            .without_auth()
            .idempotent()
            .operation("oauth.token");
        match self.method {
            ClientAuthMethod::FormBody => {
                form.push(("client_id", &self.client_id));
                form.push(("client_secret", self.client_secret.expose_secret()));
            }
            ClientAuthMethod::Basic => {
                req = req.basic_auth(&self.client_id, &self.client_secret);
            }
        }
        metrics::counter!("cx_auth_token_requests_total").increment(1);
        let resp: TokenResponse = req.form(&form).send_json().await.map_err(|e| {
            let msg = match e
                .body()
                .and_then(|b| b.get("error"))
                .and_then(|v| v.as_str())
            {
                Some(code) => format!(
                    "token request for client {:?} rejected: {code}",
                    self.client_id
                ),
                None => format!("token request for client {:?} failed", self.client_id),
            };
            Error::new(ErrorKind::Auth, msg).with_source(e)
        })?;
        if let Some(tt) = &resp.token_type
            && !tt.eq_ignore_ascii_case("bearer")
        {
            return Err(Error::new(
                ErrorKind::Auth,
                format!("unsupported token_type {tt:?} (expected Bearer)"),
            ));
        }
        Ok(FetchedToken {
            token: AccessToken::new(SecretString::from(resp.access_token)),
            expires_in: Duration::from_secs(resp.expires_in),
            scope: resp.scope,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builder_names_the_missing_field() {
        let cases: &[(ClientCredentialsBuilder, &str)] = &[
            (ClientCredentials::builder(), "token_url"),
            (
                ClientCredentials::builder().token_url("ftp://x/oauth/token"),
                "token_url",
            ),
            (
                ClientCredentials::builder().token_url("http://127.0.0.1:1/oauth/token"),
                "client_id",
            ),
            (
                ClientCredentials::builder()
                    .token_url("http://127.0.0.1:1/oauth/token")
                    .client_id("c"),
                "client_secret",
            ),
        ];
        for (b, field) in cases {
            let err = b
                .clone()
                .build()
                .err()
                .map(|e| e.to_string())
                .unwrap_or_default();
            assert!(err.contains(&format!("`{field}`")), "{err}");
        }
    }

    #[test]
    fn debug_redacts_the_secret() {
        let c = ClientCredentials::builder()
            .token_url("http://127.0.0.1:1/oauth/token")
            .client_id("c")
            .client_secret("hunter2")
            .build();
        let dbg = format!("{c:?}");
        assert!(!dbg.contains("hunter2"), "{dbg}");
    }
}
