//! IAM SAML providers (classic federation, and Identity Center's own `AWSSSO_*_DO_NOT_DELETE` ones): ListSAMLProviders
//! then GetSAMLProvider for each, in the deploy account with the function's credentials and in each member account
//! through a read-only role assumed there (STS AssumeRole). The metadata is read here (every signing certificate);
//! the document itself is never logged.

use aws_config::SdkConfig;
use aws_config::sts::AssumeRoleProvider;
use chrono::{DateTime, Utc};

use crate::domain::AccountId;
use crate::domain::certificate::SamlProvider;
use crate::error::{Error, Result};
use crate::ports::SamlProviders;

const SERVICE: &str = "iam";
/// IAM's quota is 100 SAML providers per account: more than this is not an account IAM serves.
pub const MAX_PROVIDERS_PER_ACCOUNT: usize = 100;
const SESSION_NAME: &str = "deprov-audit-cert-monitor";
/// ListAccounts pages of 20: 1,000 accounts at most.
const ACCOUNT_PAGES: usize = 50;

/// The IAM adapter, with the deploy account's client built once.
#[derive(Debug, Clone)]
pub struct IamSamlProviders {
    sdk: SdkConfig,
    deploy: aws_sdk_iam::Client,
    /// The read-only role's name in each member account (`CERT_MONITOR_MEMBER_ROLE_NAME`).
    member_role_name: Option<String>,
    /// `aws`, `aws-us-gov`, `aws-cn`: the partition of the member role's ARN.
    partition: String,
}

impl IamSamlProviders {
    pub fn new(sdk: &SdkConfig) -> Self {
        Self {
            sdk: sdk.clone(),
            deploy: aws_sdk_iam::Client::new(sdk),
            member_role_name: None,
            partition: "aws".to_owned(),
        }
    }

    /// Member accounts are read through `arn:{partition}:iam::{account}:role/{role_name}`.
    pub fn with_member_role(mut self, role_name: impl Into<String>, partition: impl Into<String>) -> Self {
        self.member_role_name = Some(role_name.into());
        self.partition = partition.into();
        self
    }

    async fn member_client(&self, account: &AccountId) -> Result<aws_sdk_iam::Client> {
        let role_name = self.member_role_name.as_deref().ok_or_else(|| {
            Error::config(
                "CERT_MONITOR_MEMBER_ROLE_NAME",
                "is not set, so member accounts cannot be read",
            )
        })?;
        let role_arn = format!("arn:{}:iam::{account}:role/{role_name}", self.partition);
        let credentials = AssumeRoleProvider::builder(role_arn)
            .session_name(SESSION_NAME)
            .configure(&self.sdk)
            .build()
            .await;
        let config = aws_sdk_iam::config::Builder::from(&self.sdk)
            .credentials_provider(credentials)
            .build();
        Ok(aws_sdk_iam::Client::from_conf(config))
    }
}

impl SamlProviders for IamSamlProviders {
    async fn providers(&self, account: Option<&AccountId>) -> Result<Vec<SamlProvider>> {
        match account {
            None => read_providers(&self.deploy).await,
            Some(account) => read_providers(&self.member_client(account).await?).await,
        }
    }

    async fn organization_accounts(&self) -> Result<Vec<AccountId>> {
        let me = aws_sdk_sts::Client::new(&self.sdk)
            .get_caller_identity()
            .send()
            .await
            .map_err(|e| Error::aws("sts", "GetCallerIdentity", e))?;
        let me = me
            .account()
            .ok_or_else(|| super::missing("sts", "GetCallerIdentity", "Account"))?;
        let mut pages = aws_sdk_organizations::Client::new(&self.sdk)
            .list_accounts()
            .max_results(20)
            .into_paginator()
            .send();
        let mut accounts = Vec::new();
        for _ in 0..ACCOUNT_PAGES {
            let Some(page) = pages.next().await else {
                return Ok(accounts);
            };
            let page = page.map_err(|e| Error::aws("organizations", "ListAccounts", e))?;
            for account in page.accounts() {
                let active = account
                    .state()
                    .map(|s| s.as_str() == "ACTIVE")
                    .or(account.status().map(|s| s.as_str() == "ACTIVE"))
                    .unwrap_or(true);
                let id = account
                    .id()
                    .ok_or_else(|| super::missing("organizations", "ListAccounts", "Account.Id"))?;
                if active && id != me {
                    accounts
                        .push(AccountId::parse(id).map_err(super::contract_breach("organizations", "ListAccounts"))?);
                }
            }
        }
        tracing::warn!(
            read = accounts.len(),
            "more organization accounts than the page cap; the rest are not read"
        );
        Ok(accounts)
    }
}

/// At most `MAX_PROVIDERS_PER_ACCOUNT` + 1 calls (ListSAMLProviders is not paged).
async fn read_providers(client: &aws_sdk_iam::Client) -> Result<Vec<SamlProvider>> {
    let listed = client
        .list_saml_providers()
        .send()
        .await
        .map_err(|e| Error::aws(SERVICE, "ListSAMLProviders", e))?;
    let entries = listed.saml_provider_list();
    if entries.len() > MAX_PROVIDERS_PER_ACCOUNT {
        tracing::warn!(
            listed = entries.len(),
            read = MAX_PROVIDERS_PER_ACCOUNT,
            "more SAML providers than IAM's quota; the rest are not read"
        );
    }
    let mut providers = Vec::with_capacity(entries.len().min(MAX_PROVIDERS_PER_ACCOUNT));
    for entry in entries.iter().take(MAX_PROVIDERS_PER_ACCOUNT) {
        let arn = entry
            .arn()
            .ok_or_else(|| super::missing(SERVICE, "ListSAMLProviders", "Arn"))?;
        let account_id = account_of(arn).ok_or_else(|| Error::AwsContract {
            service: SERVICE,
            operation: "ListSAMLProviders",
            problem: format!("provider ARN {arn} names no account"),
        })?;
        let got = client
            .get_saml_provider()
            .saml_provider_arn(arn)
            .send()
            .await
            .map_err(|e| Error::aws(SERVICE, "GetSAMLProvider", e))?;
        let certificates = match got.saml_metadata_document() {
            Some(document) => crate::saml::metadata_readings(document).map_err(|e| e.to_string()),
            None => Err("GetSAMLProvider answered no SAMLMetadataDocument".to_owned()),
        };
        providers.push(SamlProvider {
            account_id,
            arn: arn.to_owned(),
            valid_until: got.valid_until().or(entry.valid_until()).and_then(to_chrono),
            certificates,
            entity_id: got.saml_metadata_document().and_then(crate::saml::entity_id),
        });
    }
    Ok(providers)
}

/// `arn:aws:iam::123456789012:saml-provider/Name` → `123456789012`.
fn account_of(arn: &str) -> Option<AccountId> {
    AccountId::parse(arn.split(':').nth(4)?).ok()
}

fn to_chrono(time: &aws_smithy_types::DateTime) -> Option<DateTime<Utc>> {
    DateTime::<Utc>::from_timestamp(time.secs(), time.subsec_nanos())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_account_is_read_from_the_provider_arn() {
        assert_eq!(
            account_of("arn:aws:iam::123456789012:saml-provider/Okta").map(|a| a.to_string()),
            Some("123456789012".to_owned())
        );
        assert!(account_of("arn:aws:iam::x:saml-provider/Okta").is_none());
        assert!(account_of("nonsense").is_none());
    }
}
