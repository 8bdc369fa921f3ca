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

fn optional(env: &impl Env, name: &str) -> Option<String> {
    env.get(name).map(|v| v.trim().to_owned()).filter(|v| !v.is_empty())
}

fn required(env: &impl Env, name: &'static str) -> Result<String> {
    optional(env, name).ok_or_else(|| Error::config(name, "is not set"))
}

fn seconds(env: &impl Env, name: &'static str, default: i64, max: i64) -> Result<Duration> {
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

/// `okta-hook`'s settings.
#[derive(Debug)]
pub struct OktaHookSettings {
    pub queue_url: String,
    pub secret: SecretSource,
    /// Lower-case header name Okta sends the secret in.
    pub auth_header: String,
    pub propagation_window: Duration,
    /// When set, app events about other apps are ignored.
    pub aws_app_id: Option<OktaAppId>,
}

impl OktaHookSettings {
    pub fn from_env(env: &impl Env) -> Result<Self> {
        let auth_header = optional(env, "OKTA_HOOK_AUTH_HEADER").unwrap_or_else(|| "authorization".into());
        if !auth_header
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        {
            return Err(Error::config("OKTA_HOOK_AUTH_HEADER", "must be an HTTP header name"));
        }
        let aws_app_id = optional(env, "OKTA_APP_ID")
            .map(|id| OktaAppId::parse(id).map_err(|_| Error::config("OKTA_APP_ID", "must be an Okta app id (0oa…)")))
            .transpose()?;
        Ok(Self {
            queue_url: required(env, "VERIFY_QUEUE_URL")?,
            secret: SecretSource::from_env(env, "OKTA_HOOK_SECRET_ARN", "OKTA_HOOK_SECRET")?,
            auth_header: auth_header.to_ascii_lowercase(),
            propagation_window: seconds(env, "PROPAGATION_WINDOW_SECONDS", 900, 86_400)?,
            aws_app_id,
        })
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    fn env(pairs: &[(&str, &str)]) -> impl Env {
        let map: HashMap<String, String> = pairs.iter().map(|(k, v)| ((*k).into(), (*v).into())).collect();
        move |name: &str| map.get(name).cloned()
    }

    #[test]
    fn hook_settings_name_the_missing_variable() {
        let err = OktaHookSettings::from_env(&env(&[("OKTA_HOOK_SECRET", "s")])).unwrap_err();
        assert!(err.to_string().contains("VERIFY_QUEUE_URL"), "{err}");
        let err = OktaHookSettings::from_env(&env(&[("VERIFY_QUEUE_URL", "q")])).unwrap_err();
        assert!(err.to_string().contains("OKTA_HOOK_SECRET_ARN"), "{err}");
    }

    #[test]
    fn hook_settings_have_defaults_and_validate_the_window() {
        let ok = OktaHookSettings::from_env(&env(&[("VERIFY_QUEUE_URL", "q"), ("OKTA_HOOK_SECRET", "s")])).unwrap();
        assert_eq!(ok.auth_header, "authorization");
        assert_eq!(ok.propagation_window, Duration::seconds(900));
        let bad = env(&[
            ("VERIFY_QUEUE_URL", "q"),
            ("OKTA_HOOK_SECRET", "s"),
            ("PROPAGATION_WINDOW_SECONDS", "-5"),
        ]);
        let err = OktaHookSettings::from_env(&bad).unwrap_err();
        assert!(err.to_string().contains("PROPAGATION_WINDOW_SECONDS"), "{err}");
    }

    #[test]
    fn the_secrets_manager_arn_wins_over_a_plain_secret() {
        let both = env(&[
            ("VERIFY_QUEUE_URL", "q"),
            ("OKTA_HOOK_SECRET", "s"),
            ("OKTA_HOOK_SECRET_ARN", "arn:x"),
        ]);
        let settings = OktaHookSettings::from_env(&both).unwrap();
        assert!(matches!(settings.secret, SecretSource::SecretsManager { ref secret_id } if secret_id == "arn:x"));
    }
}
