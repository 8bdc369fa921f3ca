//! Okta: the management API client (the `Directory` adapter) and event hook deliveries (`event_hook`).
//!
//! `OktaClient` reads users (DEPROVISIONED ones included), groups with members, the AWS app (app users, group
//! push mappings, signing keys) and the System Log (a bounded window, or a polling read from a stored cursor). It authenticates with an SSWS API token or as an OAuth 2.0
//! service app (client credentials, `private_key_jwt`), follows `Link: rel="next"` pages, waits for
//! `X-Rate-Limit-Reset` on 429 and backs off on 5xx and timeouts, as bounded by a `RetryPolicy`.

mod auth;
mod client;
mod config;
pub mod event_hook;
mod paging;
mod retry;
mod transport;
mod wire;

pub use client::OktaClient;
pub use config::{Credentials, OktaConfig, ServiceApp};
pub use retry::RetryPolicy;
pub use transport::MAX_ANSWER_BYTES;

/// Everything that can go wrong talking to Okta. Paths are URL paths: never a query, a body or a secret.
#[derive(Debug, thiserror::Error)]
pub enum OktaError {
    /// The configuration cannot work; nothing was sent.
    #[error("Okta configuration: {0}")]
    Config(&'static str),

    #[error("could not build the HTTP client for Okta")]
    HttpClient(#[source] reqwest::Error),

    /// The service app's private key is not an RSA private key in PEM form, or cannot sign.
    #[error("the service app's private key cannot sign RS256 client assertions")]
    PrivateKey(#[source] jsonwebtoken::errors::Error),

    #[error("Okta request to {path} could not be sent (attempt {attempts})")]
    Transport {
        path: String,
        attempts: u32,
        #[source]
        source: reqwest::Error,
    },

    /// An answer larger than any page Okta documents: refused, not buffered.
    #[error("Okta's answer to {path} is larger than {limit} bytes: refused")]
    TooLarge { path: String, limit: usize },

    #[error("Okta kept answering 429 (rate limit) to {path}: gave up after {attempts} attempts")]
    RateLimited { path: String, attempts: u32 },

    #[error("Okta kept answering {status} to {path}: gave up after {attempts} attempts")]
    Unavailable { path: String, status: u16, attempts: u32 },

    /// Okta refused the request (a 4xx other than 429), with its `errorCode` and `errorSummary`.
    #[error("Okta refused {path}: HTTP {status} {code}: {summary}")]
    Refused {
        path: String,
        status: u16,
        code: String,
        summary: String,
    },

    /// The org authorization server refused the service app's token request (OAuth `error`, `error_description`).
    #[error("Okta's token endpoint refused the service app: HTTP {status} {error}: {description}")]
    TokenRefused {
        status: u16,
        error: String,
        description: String,
    },

    /// An answer did not have the shape Okta documents; `what` says which record.
    #[error("could not decode {what} from {path}")]
    Decode {
        path: String,
        what: String,
        #[source]
        source: serde_json::Error,
    },

    /// A `Link: rel="next"` that cannot be followed safely.
    #[error("cannot follow Okta's next link from {path}: {reason}")]
    NextLink { path: String, reason: &'static str },

    /// A stored System Log cursor (a next link kept between runs) that this client will not follow.
    #[error("cannot resume the System Log from the stored cursor: {reason}")]
    StoredCursor { reason: &'static str },
}

impl OktaError {
    /// A stable name of the cause, for alarms and Lambda's `errorType` (see `Error::kind`).
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Config(_) => "OktaConfig",
            Self::HttpClient(_) => "OktaHttpClient",
            Self::PrivateKey(_) => "OktaPrivateKey",
            Self::Transport { source, .. } if source.is_timeout() => "OktaTimeout",
            Self::Transport { .. } => "OktaUnreachable",
            Self::TooLarge { .. } => "OktaTooLarge",
            Self::RateLimited { .. } => "OktaRateLimited",
            Self::Unavailable { .. } => "OktaUnavailable",
            Self::Refused { .. } => "OktaRefused",
            Self::TokenRefused { .. } => "OktaTokenRefused",
            Self::Decode { .. } => "OktaDecode",
            Self::NextLink { .. } => "OktaNextLink",
            Self::StoredCursor { .. } => "OktaStoredCursor",
        }
    }

    /// Okta's `errorCode` when Okta refused the request, e.g. `E0000007` (not found).
    pub fn code(&self) -> Option<&str> {
        match self {
            Self::Refused { code, .. } => Some(code),
            _ => None,
        }
    }
}
