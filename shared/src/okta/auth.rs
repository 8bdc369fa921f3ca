//! The `Authorization` header: `SSWS {token}` for an API token; for a service app, `Bearer {access token}`
//! obtained with client credentials and a `private_key_jwt` assertion, cached until shortly before it expires.

use std::fmt;
use std::hash::{BuildHasher, RandomState};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use chrono::{DateTime, Utc};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use reqwest::header::{ACCEPT, HeaderValue};
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use tokio::sync::Mutex;
use tokio::time::Instant;
use url::Url;

use super::OktaError;
use super::config::{Credentials, ServiceApp};
use super::transport::Transport;

const CLIENT_ASSERTION_TYPE: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";
/// Okta accepts assertions expiring at most one hour ahead; each is used once, so a few minutes is plenty.
const ASSERTION_LIFETIME: chrono::TimeDelta = chrono::TimeDelta::minutes(5);
/// A cached access token is replaced this long before it expires (or at half its life, if that is sooner).
const REFRESH_BEFORE_EXPIRY: Duration = Duration::from_secs(60);
/// Okta's access tokens live an hour (UNVERIFIED whether an org can grant longer): a longer `expires_in` is held to
/// a day, and a huge one (say 10¹⁹ s) cannot overflow the refresh time.
const LONGEST_TOKEN_LIFETIME: Duration = Duration::from_secs(24 * 3600);

pub(crate) enum Authorizer {
    ApiToken(HeaderValue),
    ServiceApp(Box<ServiceAppAuthorizer>),
}

pub(crate) struct ServiceAppAuthorizer {
    client_id: String,
    key: EncodingKey,
    key_id: Option<String>,
    scope: String,
    token_url: Url,
    cached: Mutex<Option<AccessToken>>,
}

struct AccessToken {
    header: HeaderValue,
    refresh_at: Instant,
}

impl fmt::Debug for Authorizer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::ApiToken(_) => f.write_str("Authorizer::ApiToken([REDACTED])"),
            Self::ServiceApp(app) => f
                .debug_struct("Authorizer::ServiceApp")
                .field("client_id", &app.client_id)
                .field("key_id", &app.key_id)
                .field("scope", &app.scope)
                .finish_non_exhaustive(),
        }
    }
}

impl Authorizer {
    /// Checks the credentials without sending anything: a private key that cannot sign fails here.
    pub fn new(credentials: &Credentials, token_url: Url) -> Result<Self, OktaError> {
        match credentials {
            Credentials::ApiToken(token) => {
                let value = SecretString::from(format!("SSWS {}", token.expose_secret()));
                let header = sensitive(value.expose_secret())
                    .ok_or(OktaError::Config("the API token is not a valid HTTP header value"))?;
                Ok(Self::ApiToken(header))
            }
            Credentials::ServiceApp(app) => {
                ServiceAppAuthorizer::new(app, token_url).map(|a| Self::ServiceApp(Box::new(a)))
            }
        }
    }

    pub async fn header(&self, transport: &Transport) -> Result<HeaderValue, OktaError> {
        match self {
            Self::ApiToken(header) => Ok(header.clone()),
            Self::ServiceApp(app) => app.bearer(transport).await,
        }
    }
}

impl ServiceAppAuthorizer {
    fn new(app: &ServiceApp, token_url: Url) -> Result<Self, OktaError> {
        if app.client_id.trim().is_empty() {
            return Err(OktaError::Config("the service app's client id is empty"));
        }
        if app.scopes.is_empty() {
            return Err(OktaError::Config("the service app asks for no scope"));
        }
        let key =
            EncodingKey::from_rsa_pem(app.private_key_pem.expose_secret().as_bytes()).map_err(OktaError::PrivateKey)?;
        let authorizer = Self {
            client_id: app.client_id.clone(),
            key,
            key_id: app.key_id.clone(),
            scope: app.scopes.join(" "),
            token_url,
            cached: Mutex::new(None),
        };
        authorizer.assertion(Utc::now())?;
        Ok(authorizer)
    }

    /// The cached access token, or a new one. The lock is held while fetching, so concurrent callers share one
    /// token request.
    async fn bearer(&self, transport: &Transport) -> Result<HeaderValue, OktaError> {
        let mut cached = self.cached.lock().await;
        if let Some(token) = cached.as_ref().filter(|token| Instant::now() < token.refresh_at) {
            return Ok(token.header.clone());
        }
        let token = self.request_token(transport).await?;
        let header = token.header.clone();
        *cached = Some(token);
        Ok(header)
    }

    async fn request_token(&self, transport: &Transport) -> Result<AccessToken, OktaError> {
        let path = self.token_url.path().to_owned();
        let answer = transport
            .send(&path, |http| {
                let assertion = self.assertion(Utc::now())?;
                let form = [
                    ("grant_type", "client_credentials"),
                    ("scope", self.scope.as_str()),
                    ("client_assertion_type", CLIENT_ASSERTION_TYPE),
                    ("client_assertion", assertion.expose_secret()),
                ];
                Ok(http
                    .post(self.token_url.clone())
                    .header(ACCEPT, "application/json")
                    .form(&form))
            })
            .await?;
        if !answer.status.is_success() {
            return Err(token_refusal(answer.status.as_u16(), &answer.body));
        }
        let granted: TokenAnswer = serde_json::from_slice(&answer.body).map_err(|source| OktaError::Decode {
            path,
            what: "the token answer".to_owned(),
            source,
        })?;
        if !granted.token_type.eq_ignore_ascii_case("Bearer") {
            return Err(OktaError::TokenRefused {
                status: answer.status.as_u16(),
                error: "unsupported_token_type".to_owned(),
                description: format!(
                    "expected a Bearer token, got {:?} (is DPoP required?)",
                    granted.token_type
                ),
            });
        }
        let value = SecretString::from(format!("Bearer {}", granted.access_token.expose_secret()));
        let header = sensitive(value.expose_secret()).ok_or(OktaError::Config(
            "Okta's access token is not a valid HTTP header value",
        ))?;
        let refresh_at = refresh_time(Instant::now(), granted.expires_in);
        tracing::debug!(expires_in = granted.expires_in, "Okta access token obtained");
        Ok(AccessToken { header, refresh_at })
    }

    /// The signed client assertion: a credential for its five minutes, so held as a secret.
    fn assertion(&self, now: DateTime<Utc>) -> Result<SecretString, OktaError> {
        let mut header = Header::new(Algorithm::RS256);
        header.kid = self.key_id.clone();
        let claims = AssertionClaims::new(&self.client_id, self.token_url.as_str(), now);
        jsonwebtoken::encode(&header, &claims, &self.key)
            .map(SecretString::from)
            .map_err(OktaError::PrivateKey)
    }
}

/// RFC 7523 client-assertion claims as Okta wants them: `iss` = `sub` = client id, `aud` = the token URL.
#[derive(Debug, Serialize)]
struct AssertionClaims {
    iss: String,
    sub: String,
    aud: String,
    iat: i64,
    exp: i64,
    jti: String,
}

impl AssertionClaims {
    fn new(client_id: &str, token_url: &str, now: DateTime<Utc>) -> Self {
        Self {
            iss: client_id.to_owned(),
            sub: client_id.to_owned(),
            aud: token_url.to_owned(),
            iat: now.timestamp(),
            exp: (now + ASSERTION_LIFETIME).timestamp(),
            jti: unique_id(),
        }
    }
}

/// 128 bits from the standard library's randomly keyed hasher plus a process counter: unique per assertion
/// (the `jti` Okta uses against replays) without a random-number crate.
fn unique_id() -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let count = COUNTER.fetch_add(1, Ordering::Relaxed);
    let nanos = Utc::now().timestamp_nanos_opt().unwrap_or_default();
    let high = RandomState::new().hash_one((count, nanos));
    let low = RandomState::new().hash_one((nanos, count, std::process::id()));
    format!("{high:016x}{low:016x}")
}

fn sensitive(value: &str) -> Option<HeaderValue> {
    let mut header = HeaderValue::from_str(value).ok()?;
    header.set_sensitive(true);
    Some(header)
}

#[derive(Deserialize)]
struct TokenAnswer {
    token_type: String,
    expires_in: u64,
    /// Read straight into a secret: the token never sits in a plain `String` (dropped without being zeroed).
    #[serde(deserialize_with = "secret")]
    access_token: SecretString,
}

fn secret<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<SecretString, D::Error> {
    String::deserialize(deserializer).map(SecretString::from)
}

/// OAuth's `error`/`error_description`; Okta's `errorCode`/`errorSummary` if that is what came back.
fn token_refusal(status: u16, body: &[u8]) -> OktaError {
    #[derive(Deserialize, Default)]
    #[serde(rename_all = "camelCase")]
    struct Refusal {
        #[serde(default, rename = "error")]
        oauth_error: Option<String>,
        #[serde(default, rename = "error_description")]
        oauth_description: Option<String>,
        #[serde(default)]
        error_code: Option<String>,
        #[serde(default)]
        error_summary: Option<String>,
    }
    let refusal: Refusal = serde_json::from_slice(body).unwrap_or_default();
    OktaError::TokenRefused {
        status,
        error: refusal
            .oauth_error
            .or(refusal.error_code)
            .unwrap_or_else(|| "unknown".to_owned()),
        description: refusal
            .oauth_description
            .or(refusal.error_summary)
            .unwrap_or_else(|| "no description".to_owned()),
    }
}

/// When to fetch a new token: a minute before it expires (half its life for a short one), its life held to
/// [`LONGEST_TOKEN_LIFETIME`] so no `expires_in` can overflow the clock. Pure.
fn refresh_time(now: Instant, expires_in: u64) -> Instant {
    let lifetime = Duration::from_secs(expires_in).min(LONGEST_TOKEN_LIFETIME);
    now + lifetime.saturating_sub(REFRESH_BEFORE_EXPIRY.min(lifetime / 2))
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_token_is_refreshed_before_it_expires_and_no_lifetime_overflows_the_clock() {
        let now = super::Instant::now();
        let after = |expires_in| super::refresh_time(now, expires_in).duration_since(now).as_secs();
        assert_eq!(after(3600), 3540, "a minute early");
        assert_eq!(after(60), 30, "half the life of a short one");
        assert_eq!(after(0), 0);
        assert_eq!(after(u64::MAX), 24 * 3600 - 60, "held to a day, no overflow");
    }

    use super::*;

    #[test]
    fn assertion_claims_name_the_app_and_the_token_endpoint_and_expire_within_the_hour() {
        let now = DateTime::from_timestamp(1_700_000_000, 0).unwrap();
        let claims = AssertionClaims::new("0oa1service", "https://acme.okta.com/oauth2/v1/token", now);
        assert_eq!(claims.iss, "0oa1service");
        assert_eq!(claims.sub, "0oa1service");
        assert_eq!(claims.aud, "https://acme.okta.com/oauth2/v1/token");
        assert_eq!(claims.iat, 1_700_000_000);
        assert!(claims.exp > claims.iat && claims.exp - claims.iat <= 3600);
    }

    #[test]
    fn every_assertion_gets_its_own_jti() {
        let now = Utc::now();
        let first = AssertionClaims::new("a", "b", now);
        let second = AssertionClaims::new("a", "b", now);
        assert_ne!(first.jti, second.jti);
        assert_eq!(first.jti.len(), 32);
    }

    #[test]
    fn token_refusals_keep_the_oauth_error_or_okta_error_code() {
        let oauth = token_refusal(
            401,
            br#"{"error":"invalid_client","error_description":"bad signature"}"#,
        );
        assert!(oauth.to_string().contains("invalid_client: bad signature"), "{oauth}");
        let okta = token_refusal(400, br#"{"errorCode":"E0000021","errorSummary":"Bad request"}"#);
        assert!(okta.to_string().contains("E0000021: Bad request"), "{okta}");
        let garbage = token_refusal(502, b"<html>");
        assert!(garbage.to_string().contains("unknown"), "{garbage}");
    }

    #[test]
    fn debug_never_shows_the_api_token() {
        let credentials = Credentials::ApiToken("00abcSECRET".to_owned().into());
        let authorizer = Authorizer::new(
            &credentials,
            Url::parse("https://acme.okta.com/oauth2/v1/token").unwrap(),
        );
        let printed = format!("{:?}", authorizer.unwrap());
        assert!(!printed.contains("SECRET"), "{printed}");
    }

    #[test]
    fn a_key_that_is_not_pem_is_refused_before_anything_is_sent() {
        let app = ServiceApp::new("0oa1service", "not a key".to_owned().into(), None);
        let refused = Authorizer::new(
            &Credentials::ServiceApp(app),
            Url::parse("https://x/oauth2/v1/token").unwrap(),
        );
        assert!(matches!(refused, Err(OktaError::PrivateKey(_))));
    }
}
