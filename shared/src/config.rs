//! Configuration from environment variables: one small struct per function, validated at cold start with an
//! error that names the variable. Secrets are `SecretString`s and never logged.

use chrono::Duration;
use secrecy::SecretString;

use crate::domain::OktaAppId;
use crate::error::{Error, Result};

/// Reads variables; `std::env::var` in functions, a map in tests.
pub trait Env {
    fn get(&self, name: &str) -> Option<String>;
}

/// The process environment.
#[derive(Debug, Clone, Copy, Default)]
pub struct ProcessEnv;

impl Env for ProcessEnv {
    fn get(&self, name: &str) -> Option<String> {
        std::env::var(name).ok()
    }
}

impl<F: Fn(&str) -> Option<String>> Env for F {
    fn get(&self, name: &str) -> Option<String> {
        self(name)
    }
}

pub(crate) fn optional(env: &impl Env, name: &str) -> Option<String> {
    env.get(name).map(|v| v.trim().to_owned()).filter(|v| !v.is_empty())
}

pub(crate) fn required(env: &impl Env, name: &'static str) -> Result<String> {
    optional(env, name).ok_or_else(|| Error::config(name, "is not set"))
}

pub(crate) fn seconds(env: &impl Env, name: &'static str, default: i64, max: i64) -> Result<Duration> {
    match optional(env, name) {
        None => Ok(Duration::seconds(default)),
        Some(text) => match text.parse::<i64>() {
            Ok(n) if (0..=max).contains(&n) => Ok(Duration::seconds(n)),
            _ => Err(Error::config(
                name,
                format!("must be a whole number of seconds from 0 to {max}"),
            )),
        },
    }
}

/// Where a secret comes from: Secrets Manager in AWS, a plain variable for local runs.
#[derive(Debug)]
pub enum SecretSource {
    SecretsManager { secret_id: String },
    Plain(SecretString),
}

impl SecretSource {
    /// `arn_var` (Secrets Manager ARN) wins over `plain_var`; one of the two must be set.
    pub fn from_env(env: &impl Env, arn_var: &'static str, plain_var: &'static str) -> Result<Self> {
        if let Some(secret_id) = optional(env, arn_var) {
            return Ok(Self::SecretsManager { secret_id });
        }
        match env.get(plain_var).filter(|v| !v.is_empty()) {
            Some(value) => Ok(Self::Plain(SecretString::from(value))),
            None => Err(Error::config(
                arn_var,
                format!("is not set (nor {plain_var} for local runs)"),
            )),
        }
    }

    pub async fn resolve(&self, sdk: &aws_config::SdkConfig) -> Result<SecretString> {
        match self {
            Self::Plain(secret) => Ok(secret.clone()),
            Self::SecretsManager { secret_id } => crate::aws::secret_string(sdk, secret_id).await,
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    fn env(pairs: &[(&str, &str)]) -> impl Env + use<> {
        let map: HashMap<String, String> = pairs.iter().map(|(k, v)| ((*k).into(), (*v).into())).collect();
        move |name: &str| map.get(name).cloned()
    }

    #[test]
    fn an_okta_url_must_be_https() {
        let plain = env(&[
            ("OKTA_ORG_URL", "http://acme.okta.com"),
            ("OKTA_APP_ID", "0oa1"),
            ("OKTA_API_TOKEN", "t"),
        ]);
        let err = OktaSettings::from_env(&plain).unwrap_err();
        assert!(err.to_string().contains("OKTA_ORG_URL"), "{err}");
    }
}

/// How to reach Okta's management API, from `OKTA_ORG_URL`, `OKTA_CREDENTIALS_SECRET_ARN` (or `OKTA_API_TOKEN` /
/// `OKTA_PRIVATE_KEY` locally), `OKTA_CLIENT_ID` and `OKTA_PRIVATE_KEY_ID`.
#[derive(Debug)]
pub struct OktaSettings {
    pub org_url: url::Url,
    pub app_id: OktaAppId,
    /// The API token, or (with `client_id`) the service app's PEM private key.
    pub credential: SecretSource,
    pub client_id: Option<String>,
    pub key_id: Option<String>,
}

impl OktaSettings {
    pub fn from_env(env: &impl Env) -> Result<Self> {
        let org_url = required(env, "OKTA_ORG_URL")?;
        let org_url = url::Url::parse(&org_url)
            .ok()
            .filter(|u| u.scheme() == "https" || u.host_str().is_some_and(|h| h == "127.0.0.1" || h == "localhost"))
            .ok_or_else(|| Error::config("OKTA_ORG_URL", "must be an https URL such as https://acme.okta.com"))?;
        let app_id = OktaAppId::parse(required(env, "OKTA_APP_ID")?)
            .map_err(|_| Error::config("OKTA_APP_ID", "must be an Okta app id (0oa…)"))?;
        let client_id = optional(env, "OKTA_CLIENT_ID");
        let plain = if client_id.is_some() {
            "OKTA_PRIVATE_KEY"
        } else {
            "OKTA_API_TOKEN"
        };
        Ok(Self {
            org_url,
            app_id,
            credential: SecretSource::from_env(env, "OKTA_CREDENTIALS_SECRET_ARN", plain)?,
            client_id,
            key_id: optional(env, "OKTA_PRIVATE_KEY_ID"),
        })
    }

    /// The client configuration, with the credential read (from Secrets Manager when deployed).
    pub async fn client_config(&self, sdk: &aws_config::SdkConfig) -> Result<crate::okta::OktaConfig> {
        let secret = self.credential.resolve(sdk).await?;
        let credentials = match &self.client_id {
            Some(client_id) => crate::okta::Credentials::ServiceApp(crate::okta::ServiceApp::new(
                client_id.clone(),
                secret,
                self.key_id.clone(),
            )),
            None => crate::okta::Credentials::ApiToken(secret),
        };
        Ok(crate::okta::OktaConfig::new(self.org_url.clone(), credentials))
    }
}

/// `IDC_INSTANCE_ARN` and `IDENTITY_STORE_ID`: both set, or neither (then the instance is discovered).
pub fn idc_instance_from_env(env: &impl Env) -> Result<Option<crate::domain::IdcInstance>> {
    match (optional(env, "IDC_INSTANCE_ARN"), optional(env, "IDENTITY_STORE_ID")) {
        (None, None) => Ok(None),
        (Some(arn), Some(store)) => Ok(Some(crate::domain::IdcInstance {
            instance_arn: crate::domain::InstanceArn::parse(arn)
                .map_err(|_| Error::config("IDC_INSTANCE_ARN", "must be arn:aws:sso:::instance/ssoins-…"))?,
            identity_store_id: crate::domain::IdentityStoreId::parse(store)
                .map_err(|_| Error::config("IDENTITY_STORE_ID", "must be an identity store id (d-…)"))?,
        })),
        (Some(_), None) => Err(Error::config("IDENTITY_STORE_ID", "must be set with IDC_INSTANCE_ARN")),
        (None, Some(_)) => Err(Error::config("IDC_INSTANCE_ARN", "must be set with IDENTITY_STORE_ID")),
    }
}

/// `LOGIN_MAPPING`: `user-name` (default) or `email`.
pub fn login_mapping_from_env(env: &impl Env) -> Result<crate::domain::LoginMapping> {
    match optional(env, "LOGIN_MAPPING") {
        None => Ok(crate::domain::LoginMapping::default()),
        Some(text) => text
            .parse()
            .map_err(|_| Error::config("LOGIN_MAPPING", "must be user-name or email")),
    }
}

/// `LOGIN_MAPPING` and `IDC_EXTERNAL_ID_ISSUER`: how Okta people are linked to Identity Center users. The Lambdas
/// and every CLI command read both, so they link one person the same way.
pub fn link_policy_from_env(env: &impl Env) -> Result<crate::domain::LinkPolicy> {
    Ok(crate::domain::LinkPolicy {
        login_mapping: login_mapping_from_env(env)?,
        scim_issuer: optional(env, "IDC_EXTERNAL_ID_ISSUER"),
    })
}
