//! Secrets Manager: the hook's shared secret (re-read on a TTL, see `hook_secret`) and Okta credentials.

use secrecy::SecretString;

use crate::error::{Error, Result};
use crate::ports::SecretStore;

/// The `SecretString` of a secret, by ARN or name.
pub async fn secret_string(sdk: &aws_config::SdkConfig, secret_id: &str) -> Result<SecretString> {
    SecretsManagerSecret::new(sdk, secret_id).read().await
}

/// One secret in Secrets Manager, read (its `AWSCURRENT` version) each time it is asked; the client is built once.
#[derive(Debug, Clone)]
pub struct SecretsManagerSecret {
    client: aws_sdk_secretsmanager::Client,
    secret_id: String,
}

impl SecretsManagerSecret {
    pub fn new(sdk: &aws_config::SdkConfig, secret_id: impl Into<String>) -> Self {
        Self {
            client: aws_sdk_secretsmanager::Client::new(sdk),
            secret_id: secret_id.into(),
        }
    }
}

impl SecretStore for SecretsManagerSecret {
    async fn read(&self) -> Result<SecretString> {
        let output = self
            .client
            .get_secret_value()
            .secret_id(&self.secret_id)
            .send()
            .await
            .map_err(|e| Error::aws("secretsmanager", "GetSecretValue", e))?;
        output
            .secret_string()
            .map(|s| SecretString::from(s.to_owned()))
            .ok_or_else(|| Error::AwsContract {
                service: "secretsmanager",
                operation: "GetSecretValue",
                problem: "the secret has no SecretString (binary secrets are not supported)".into(),
            })
    }
}
