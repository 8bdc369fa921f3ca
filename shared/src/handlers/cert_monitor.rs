//! cert-monitor: once a day, read the Okta apps' signing keys and the IAM SAML providers of the deploy account and
//! each member account, let `rules::evaluate_certificates` judge, and publish the findings.
//!
//! Bounded: the app list (paged, capped like every Okta list), one Okta read per app (two calls, at most `MAX_APPS`), at most `MAX_PROVIDERS_PER_ACCOUNT` + 1 IAM calls per account, each
//! account within `account_budget`. An account that cannot be read is a finding (`saml-cert-unreadable`), not the
//! end of the run; Okta unreadable ends the run with its error (nothing could be compared).

use std::collections::BTreeSet;

use chrono::{DateTime, Utc};

use crate::config::{Env, optional, seconds};
use crate::domain::certificate::{CertInventory, UnreadAccount};
use crate::domain::{AccountId, Evidence, Finding, OktaAppId, Rule, Severity, Subject};
use crate::error::{Error, Result};
use crate::ports::{Directory, Notifier, SamlProviders};
use crate::rules::{KeyExpiryThresholds, evaluate_certificates, okta_app_certificates, sort_findings};

/// More Okta apps or member accounts than this in one run is a misconfiguration, not an org.
pub const MAX_APPS: usize = 50;
pub const MAX_MEMBER_ACCOUNTS: usize = 1000;
/// All member accounts are read within this (the function's timeout is 300 s): what is not reached by then is
/// reported as unread, never lost with a killed invocation.
const RUN_BUDGET: std::time::Duration = std::time::Duration::from_secs(240);

/// What one run reads and how long it may take.
#[derive(Debug, Clone)]
pub struct CertMonitorConfig {
    /// Always read (`OKTA_APP_IDS`, else `OKTA_APP_ID`).
    pub app_ids: Vec<OktaAppId>,
    /// Also every active AWS SAML app Okta lists (when `OKTA_APP_IDS` is unset).
    pub discover_apps: bool,
    /// Read through the member role; the deploy account is always read (with the function's own credentials).
    pub member_accounts: MemberAccounts,
    pub thresholds: KeyExpiryThresholds,
    /// Time allowed for one account's providers (role assumed, listed, each read).
    pub account_budget: std::time::Duration,
}

/// Which member accounts a run reads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MemberAccounts {
    /// These (`CERT_MONITOR_MEMBER_ACCOUNT_IDS`); empty: the deploy account only.
    Listed(Vec<AccountId>),
    /// Every ACTIVE account of the organization (`CERT_MONITOR_MEMBER_ACCOUNT_IDS=organization`).
    Organization,
}

/// What a run found and published.
#[derive(Debug, Clone)]
pub struct CertMonitorReport {
    pub inventory: CertInventory,
    pub findings: Vec<Finding>,
}

/// Both sides, read.
pub async fn collect(
    directory: &impl Directory,
    providers: &impl SamlProviders,
    config: &CertMonitorConfig,
    now: DateTime<Utc>,
) -> Result<CertInventory> {
    // The run's clock starts with the run: Okta's and the deploy account's reads count against it too.
    let started = tokio::time::Instant::now();
    let mut app_ids = config.app_ids.clone();
    if config.discover_apps {
        app_ids.extend(directory.aws_saml_apps().await?);
    }
    let mut seen_apps = BTreeSet::new();
    app_ids.retain(|id| seen_apps.insert(id.clone()));
    if app_ids.len() > MAX_APPS {
        tracing::warn!(
            apps = app_ids.len(),
            read = MAX_APPS,
            "more AWS SAML apps than the cap; the rest are not read"
        );
    }
    let mut okta = Vec::with_capacity(app_ids.len().min(MAX_APPS));
    let mut unread_apps = Vec::new();
    for app_id in app_ids.iter().take(MAX_APPS) {
        // One app Okta will not show (403, 404) is a finding; the other apps are still checked.
        match directory.signing_keys(app_id).await {
            Ok(app) => okta.push(okta_app_certificates(&app.app_id, &app.label, &app.keys)),
            Err(error) => {
                tracing::warn!(app_id = %app_id, error = %error.causes(), "Okta app's signing keys not read");
                unread_apps.push((app_id.clone(), error.causes().to_string()));
            }
        }
    }
    let mut aws = match tokio::time::timeout(config.account_budget, providers.providers(None)).await {
        Ok(read) => read?,
        Err(_) => {
            return Err(Error::Invalid {
                what: "the deploy account's SAML providers",
                value: format!("{} s", config.account_budget.as_secs()),
                reason: "not read within the account budget",
            });
        }
    };
    let mut unread_accounts = Vec::new();
    let members = match &config.member_accounts {
        MemberAccounts::Listed(accounts) => accounts.clone(),
        MemberAccounts::Organization => {
            match tokio::time::timeout(config.account_budget, providers.organization_accounts()).await {
                Ok(Ok(accounts)) => accounts,
                Ok(Err(error)) => {
                    tracing::warn!(error = %error.causes(), "organization accounts not listed");
                    unread_accounts.push(UnreadAccount {
                        account_id: None,
                        reason: error.causes().to_string(),
                    });
                    Vec::new()
                }
                Err(_) => {
                    unread_accounts.push(UnreadAccount {
                        account_id: None,
                        reason: format!("ListAccounts not done within {} s", config.account_budget.as_secs()),
                    });
                    Vec::new()
                }
            }
        }
    };
    let members: Vec<&AccountId> = members.iter().take(MAX_MEMBER_ACCOUNTS).collect();
    for (index, account) in members.iter().copied().enumerate() {
        // Stop before Lambda would: the accounts not reached are said, and the findings so far still publish.
        if started.elapsed().saturating_add(config.account_budget) > RUN_BUDGET {
            tracing::warn!(
                read = index,
                left = members.len() - index,
                "run budget spent; the rest of the accounts are not read"
            );
            unread_accounts.extend(members[index..].iter().map(|account| UnreadAccount {
                account_id: Some((*account).clone()),
                reason: format!("not reached within the run's {} s", RUN_BUDGET.as_secs()),
            }));
            break;
        }
        match tokio::time::timeout(config.account_budget, providers.providers(Some(account))).await {
            Ok(Ok(found)) => aws.extend(found),
            Ok(Err(error)) => {
                tracing::warn!(account = %account, error = %error.causes(), "member account's SAML providers not read");
                unread_accounts.push(UnreadAccount {
                    account_id: Some(account.clone()),
                    reason: error.causes().to_string(),
                });
            }
            Err(_) => {
                tracing::warn!(account = %account, "member account's SAML providers not read within the budget");
                unread_accounts.push(UnreadAccount {
                    account_id: Some(account.clone()),
                    reason: format!("not read within {} s", config.account_budget.as_secs()),
                });
            }
        }
    }
    // A provider listed twice (the deploy account also named as a member) is judged once.
    let mut seen = BTreeSet::new();
    aws.retain(|p| seen.insert(p.arn.clone()));
    Ok(CertInventory {
        collected_at: now,
        okta,
        aws,
        unread_accounts,
        unread_apps,
    })
}

/// Every finding of an inventory: the certificate rules, and each unread account (it could not be checked).
pub fn judge(inventory: &CertInventory, thresholds: &KeyExpiryThresholds, now: DateTime<Utc>) -> Vec<Finding> {
    let mut findings = evaluate_certificates(inventory, thresholds, now);
    findings.extend(inventory.unread_accounts.iter().map(|unread| {
        Finding::new(
            Rule::SamlCertUnreadable,
            Severity::High,
            match &unread.account_id {
                Some(account) => format!(
                    "The SAML providers of account {account} could not be read, so their certificates are not checked"
                ),
                None => "The organization's accounts could not be listed, so no member account's SAML providers \
                         are checked"
                    .to_owned(),
            },
            Subject {
                account_id: unread.account_id.as_ref().map(ToString::to_string),
                threshold: unread.account_id.is_none().then(|| "organization".to_owned()),
                ..Subject::default()
            },
            now,
        )
        .with_evidence([Evidence::new("iam", unread.reason.clone())])
        .with_remedy(
            "Check that the cert-monitor's read-only role exists in the account, trusts the deploy account and \
             allows iam:ListSAMLProviders and iam:GetSAMLProvider.",
        )
    }));
    findings.extend(inventory.unread_apps.iter().map(|(app_id, reason)| {
        Finding::new(
            Rule::SamlCertUnreadable,
            Severity::High,
            format!("The signing keys of Okta app {app_id} could not be read, so its certificates are not checked"),
            Subject {
                app_id: Some(app_id.to_string()),
                ..Subject::default()
            },
            now,
        )
        .with_evidence([Evidence::new("okta", reason.clone())])
        .with_remedy(
            "Check that the Okta credential may read the app (scope okta.apps.read) and that the app id is right.",
        )
    }));
    sort_findings(&mut findings);
    findings
}

/// One run: collect, judge, publish.
pub async fn run(
    directory: &impl Directory,
    providers: &impl SamlProviders,
    notifier: &impl Notifier,
    config: &CertMonitorConfig,
    now: DateTime<Utc>,
) -> Result<CertMonitorReport> {
    let inventory = collect(directory, providers, config, now).await?;
    let findings = judge(&inventory, &config.thresholds, now);
    notifier.publish(&findings).await?;
    tracing::info!(
        apps = inventory.okta.len(),
        providers = inventory.aws.len(),
        unread_accounts = inventory.unread_accounts.len(),
        findings = findings.len(),
        finding_ids = ?findings.iter().map(|f| f.finding_id.as_str()).collect::<Vec<_>>(),
        "certificates checked"
    );
    Ok(CertMonitorReport { inventory, findings })
}

/// The deployed function's adapters, built once at cold start.
#[derive(Debug)]
pub struct CertMonitorPorts {
    pub directory: crate::okta::OktaClient,
    pub providers: crate::aws::IamSamlProviders,
    pub notifier: crate::aws::SnsNotifier,
}

impl CertMonitorPorts {
    /// Reads the Okta credential (Secrets Manager when deployed) and builds the clients.
    pub async fn connect(settings: &CertMonitorSettings, sdk: &aws_config::SdkConfig) -> Result<Self> {
        let topic_arn = settings
            .topic_arn
            .clone()
            .ok_or_else(|| Error::config("FINDINGS_TOPIC_ARN", "is not set"))?;
        let (directory, providers) = connect_readers(settings, sdk).await?;
        Ok(Self {
            directory,
            providers,
            notifier: crate::aws::SnsNotifier::new(sdk, topic_arn),
        })
    }

    /// One scheduled run (the event's content is not used: every run checks everything).
    pub async fn handle(&self, config: &CertMonitorConfig, now: DateTime<Utc>) -> Result<CertMonitorReport> {
        run(&self.directory, &self.providers, &self.notifier, config, now).await
    }
}

/// The two readers (Okta, IAM), for the function and for the CLI's live run.
pub async fn connect_readers(
    settings: &CertMonitorSettings,
    sdk: &aws_config::SdkConfig,
) -> Result<(crate::okta::OktaClient, crate::aws::IamSamlProviders)> {
    let mut providers = crate::aws::IamSamlProviders::new(sdk);
    if let Some(role) = &settings.member_role_name {
        providers = providers.with_member_role(role.clone(), settings.partition.clone());
    }
    Ok((
        crate::okta::OktaClient::new(settings.okta.client_config(sdk).await?)?,
        providers,
    ))
}

/// `cert-monitor`'s settings.
#[derive(Debug)]
pub struct CertMonitorSettings {
    pub okta: crate::config::OktaSettings,
    /// `FINDINGS_TOPIC_ARN`: required by the function (`CertMonitorPorts::connect`), not by the CLI.
    pub topic_arn: Option<String>,
    /// `CERT_MONITOR_MEMBER_ROLE_NAME`: the read-only role in each member account.
    pub member_role_name: Option<String>,
    /// `AWS_PARTITION` (default `aws`): the partition of the member role's ARN.
    pub partition: String,
    pub config: CertMonitorConfig,
}

impl CertMonitorSettings {
    pub fn from_env(env: &impl Env) -> Result<Self> {
        let okta = crate::config::OktaSettings::from_env(env)?;
        let (app_ids, discover_apps) = match optional(env, "OKTA_APP_IDS") {
            None => (vec![okta.app_id.clone()], true),
            Some(list) => (
                list_of(&list, "OKTA_APP_IDS", MAX_APPS, |id| OktaAppId::parse(id).ok())?,
                false,
            ),
        };
        let member_accounts = match optional(env, "CERT_MONITOR_MEMBER_ACCOUNT_IDS") {
            None => MemberAccounts::Listed(Vec::new()),
            Some(all) if all.eq_ignore_ascii_case("organization") => MemberAccounts::Organization,
            Some(list) => MemberAccounts::Listed(list_of(
                &list,
                "CERT_MONITOR_MEMBER_ACCOUNT_IDS",
                MAX_MEMBER_ACCOUNTS,
                |id| AccountId::parse(id).ok(),
            )?),
        };
        let member_role_name = optional(env, "CERT_MONITOR_MEMBER_ROLE_NAME");
        if member_accounts != MemberAccounts::Listed(Vec::new()) && member_role_name.is_none() {
            return Err(Error::config(
                "CERT_MONITOR_MEMBER_ROLE_NAME",
                "is not set, but CERT_MONITOR_MEMBER_ACCOUNT_IDS names member accounts",
            ));
        }
        let budget = seconds(env, "CERT_MONITOR_ACCOUNT_BUDGET_SECONDS", 30, 300)?.max(chrono::Duration::seconds(1));
        Ok(Self {
            okta,
            topic_arn: optional(env, "FINDINGS_TOPIC_ARN"),
            member_role_name,
            partition: optional(env, "AWS_PARTITION").unwrap_or_else(|| "aws".to_owned()),
            config: CertMonitorConfig {
                app_ids,
                discover_apps,
                member_accounts,
                thresholds: KeyExpiryThresholds::default(),
                account_budget: budget.to_std().unwrap_or(std::time::Duration::from_secs(30)),
            },
        })
    }
}

/// A comma-separated list, each entry parsed, at most `max`.
fn list_of<T>(text: &str, var: &'static str, max: usize, parse: impl Fn(&str) -> Option<T>) -> Result<Vec<T>> {
    let entries: Vec<&str> = text.split(',').map(str::trim).filter(|e| !e.is_empty()).collect();
    if entries.len() > max {
        return Err(Error::config(var, format!("names more than {max} entries")));
    }
    entries
        .into_iter()
        .map(|entry| {
            parse(entry).ok_or_else(|| Error::config(var, format!("has an entry that does not parse: {entry}")))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(extra: &'static [(&'static str, &'static str)]) -> impl Fn(&str) -> Option<String> {
        move |name: &str| {
            let base = [
                ("OKTA_ORG_URL", "https://acme.okta.com"),
                ("OKTA_APP_ID", "0oa1aws0000000000001"),
                ("OKTA_API_TOKEN", "t"),
                ("FINDINGS_TOPIC_ARN", "arn:aws:sns:us-east-1:111122223333:findings"),
            ];
            extra
                .iter()
                .chain(base.iter())
                .find(|(n, _)| *n == name)
                .map(|(_, v)| (*v).to_owned())
        }
    }

    #[test]
    fn settings_default_to_the_one_app_and_the_deploy_account() {
        let settings = CertMonitorSettings::from_env(&env(&[])).expect("settings");
        assert_eq!(settings.config.app_ids.len(), 1);
        assert!(settings.config.discover_apps);
        assert_eq!(settings.config.member_accounts, MemberAccounts::Listed(Vec::new()));
        assert_eq!(settings.config.account_budget, std::time::Duration::from_secs(30));
    }

    #[test]
    fn member_accounts_need_the_role_and_must_parse() {
        let no_role = CertMonitorSettings::from_env(&env(&[("CERT_MONITOR_MEMBER_ACCOUNT_IDS", "111122223333")]));
        assert!(
            no_role
                .unwrap_err()
                .to_string()
                .contains("CERT_MONITOR_MEMBER_ROLE_NAME")
        );
        let bad = CertMonitorSettings::from_env(&env(&[
            ("CERT_MONITOR_MEMBER_ACCOUNT_IDS", "111122223333, nope"),
            ("CERT_MONITOR_MEMBER_ROLE_NAME", "deprov-audit-read"),
        ]));
        assert!(bad.unwrap_err().to_string().contains("nope"));
        let good = CertMonitorSettings::from_env(&env(&[
            ("CERT_MONITOR_MEMBER_ACCOUNT_IDS", "111122223333, 444455556666"),
            ("CERT_MONITOR_MEMBER_ROLE_NAME", "deprov-audit-read"),
            ("OKTA_APP_IDS", "0oa1aws0000000000001,0oa2fed0000000000002"),
        ]))
        .expect("settings");
        assert!(matches!(&good.config.member_accounts, MemberAccounts::Listed(a) if a.len() == 2));
        let org = CertMonitorSettings::from_env(&env(&[
            ("CERT_MONITOR_MEMBER_ACCOUNT_IDS", "organization"),
            ("CERT_MONITOR_MEMBER_ROLE_NAME", "deprov-audit-read"),
        ]))
        .expect("settings");
        assert_eq!(org.config.member_accounts, MemberAccounts::Organization);
        assert_eq!(good.config.app_ids.len(), 2);
        assert!(!good.config.discover_apps, "named apps exactly");
    }
}
