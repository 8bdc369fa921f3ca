//! What an `OktaClient` needs to know: where Okta is, how to authenticate, how patient to be.

use std::time::Duration;

use secrecy::SecretString;
use url::Url;

use super::retry::RetryPolicy;

#[derive(Debug, Clone)]
pub struct OktaConfig {
    /// `https://{yourOktaDomain}` in production; a local fake's URL in tests (plain http only on loopback).
    pub base_url: Url,
    pub credentials: Credentials,
    /// For one HTTP exchange, answer body included. A timeout is retried like a 5xx.
    pub timeout: Duration,
    /// The largest `limit` asked for on a list; each list asks for the smaller of this and its endpoint's maximum
    /// (default: no cap below the endpoints' own).
    pub page_size: u32,
    pub retry: RetryPolicy,
}

impl OktaConfig {
    /// A 30 s timeout, the largest pages each endpoint allows and the default retry policy.
    pub fn new(base_url: Url, credentials: Credentials) -> Self {
        Self {
            base_url,
            credentials,
            timeout: Duration::from_secs(30),
            page_size: 10_000,
            retry: RetryPolicy::default(),
        }
    }
}

/// How the client proves who it is. `Debug` never shows a secret.
#[derive(Debug, Clone)]
pub enum Credentials {
    /// An API token: `Authorization: SSWS {token}`.
    ApiToken(SecretString),
    /// An OAuth 2.0 service app: client credentials with a `private_key_jwt` assertion, then `Authorization: Bearer`.
    ServiceApp(ServiceApp),
}

#[derive(Debug, Clone)]
pub struct ServiceApp {
    pub client_id: String,
    /// The RSA private key registered with the app, PEM (PKCS#1 or PKCS#8). Signs RS256 client assertions.
    pub private_key_pem: SecretString,
    /// The `kid` of the app's public key, put in the assertion's header when Okta holds several keys.
    pub key_id: Option<String>,
    /// Okta API scopes to ask for; each must be granted to the app.
    pub scopes: Vec<String>,
}

impl ServiceApp {
    /// Everything the auditor reads: users, groups and memberships, apps (users, keys, group push), System Log.
    pub const READ_SCOPES: [&'static str; 4] = [
        "okta.users.read",
        "okta.groups.read",
        "okta.apps.read",
        "okta.logs.read",
    ];

    /// A service app asking for `READ_SCOPES`.
    pub fn new(client_id: impl Into<String>, private_key_pem: SecretString, key_id: Option<String>) -> Self {
        Self {
            client_id: client_id.into(),
            private_key_pem,
            key_id,
            scopes: Self::READ_SCOPES.iter().map(|s| s.to_string()).collect(),
        }
    }
}
