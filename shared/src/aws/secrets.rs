//! Secrets Manager: the hook's shared secret and Okta credentials, read once at cold start.

use secrecy::SecretString;

use crate::error::{Error, Result};

/// The `SecretString` of a secret, by ARN or name.
pub async fn secret_string(sdk: &aws_config::SdkConfig, secret_id: &str) -> Result<SecretString> {
    let output = aws_sdk_secretsmanager::Client::new(sdk)
        .get_secret_value()
        .secret_id(secret_id)
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
