//! The org-wide activity source for organizations with neither an organization trail in Athena nor CloudTrail Lake:
//! each member account's own CloudTrail event history (LookupEvents), read through a role assumed there
//! (`member-activity-role.yaml`, deployed by a StackSet), in each configured Region.
//!
//! Per check: at most `max_accounts` accounts (the rest are named unread), one AssumeRole per account while its
//! credentials last, then per (account, Region) one LookupEvents read per user name, `Username` = the role
//! session's name = the Identity Center `userName`. LookupEvents allows "two per second, per account, per Region"
//! (CloudTrail API Reference): each (account, Region) has its own `CloudTrailActivityLog`, whose calls are spaced
//! 550 ms (500 ms and a margin) × the checker instances that share the account; pairs run concurrently up to `concurrency`. Throttling is
//! retried by that adapter inside the check's budget; the SDK never retries it (no adaptive mode).
//!
//! UNVERIFIED: that event history's `Username` for a call made with an assumed role is the role session's name
//! (the CloudTrail console documents "User name" as the identity in the event; for assumed roles public examples
//! show the session name). So the read also keeps, of what LookupEvents answers, only the events whose
//! `userIdentity.arn` is an `AWSReservedSSO_*` role session named after the person (matched case-insensitively):
//! a wrong guess loses events (and the tests' world would show it), never reports another principal's.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, RwLock};
use std::time::{Duration, SystemTime};

use aws_config::SdkConfig;
use aws_credential_types::Credentials;
use aws_credential_types::provider::error::CredentialsError;
use aws_credential_types::provider::{ProvideCredentials, SharedCredentialsProvider, future};
use chrono::{DateTime, Utc};
use futures_util::StreamExt;
use tokio::time::Instant;

use crate::config::{Env, optional};
use crate::domain::{AccountId, ActivityEvent};
use crate::error::{Error, Result};
use crate::ports::{ActivityLog, ActivityQuery, LookupAttribute, OrgActivity, UseQuery, UseRead};

use super::CloudTrailActivityLog;

const SESSION_NAME: &str = "deprov-audit-propagation-check";
/// The member role's sessions: one hour (the role's `MaxSessionDuration` in member-activity-role.yaml).
const SESSION_SECONDS: i32 = 3600;
/// Credentials are assumed again this long before they expire.
const REFRESH_BEFORE_EXPIRY: Duration = Duration::from_secs(300);
/// LookupEvents' 2 per second, per account and Region (500 ms), with a 10% margin: slots are handed out 500 ms
/// apart, but a call that leaves its slot late (signing, a busy core) followed by one that leaves on time would
/// reach CloudTrail closer than 500 ms.
const CALL_SPACING: Duration = Duration::from_millis(550);
/// A warm function keeps the clients of at most this many accounts; past it the cache starts afresh.
const CACHED_ACCOUNTS: usize = 2_000;
const IDENTITY_CENTER_ROLE_PREFIX: &str = "AWSReservedSSO_";

/// `MemberLookupActivity`'s settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemberActivitySettings {
    /// `ACTIVITY_MEMBER_ROLE_NAME`: the role in each member account allowed `cloudtrail:LookupEvents`.
    pub role_name: String,
    /// `AWS_PARTITION` (default `aws`): the partition of the role's ARN.
    pub partition: String,
    /// `ACTIVITY_REGIONS` (comma list; default the function's `AWS_REGION`): the Regions read in each account.
    pub regions: Vec<String>,
    /// `ACTIVITY_MAX_ACCOUNTS` (default 50): accounts read per check; the rest are named unread.
    pub max_accounts: usize,
    /// `ACTIVITY_MAX_PAGES` (default 10, pages of 50 events): per account, Region and user name.
    pub max_pages: usize,
    /// `ACTIVITY_DELIVERY_LAG_SECONDS` (default 900): how long after a call event history is taken to hold it.
    /// AWS: CloudTrail "typically delivers logs within an average of about 5 minutes of an API call. This time is
    /// not guaranteed" (User Guide, "Getting and viewing your CloudTrail log files"; historically "within 15
    /// minutes"). That sentence is about trails' log files; no delay for event history itself is documented
    /// (UNVERIFIED), so the default keeps the older, longer figure.
    pub delivery_lag: Duration,
    /// `ACTIVITY_MEMBER_CONCURRENCY` (default 4): (account, Region) pairs read at once.
    pub concurrency: usize,
    /// `LOOKUP_EVENTS_SHARERS` (default 3, as the checker reads it): function instances that may read one account
    /// and Region at once; each spaces its calls there `sharers` × 550 ms apart.
    pub sharers: u32,
}

impl MemberActivitySettings {
    pub fn from_env(env: &impl Env) -> Result<Self> {
        let role_name = optional(env, "ACTIVITY_MEMBER_ROLE_NAME").ok_or_else(|| {
            Error::config(
                "ACTIVITY_MEMBER_ROLE_NAME",
                "is not set (the role member-activity-role.yaml creates in each member account)",
            )
        })?;
        if !role_name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "+=,.@_-".contains(c))
            || role_name.len() > 64
        {
            return Err(Error::config("ACTIVITY_MEMBER_ROLE_NAME", "must be an IAM role name"));
        }
        let regions_text = optional(env, "ACTIVITY_REGIONS")
            .or_else(|| optional(env, "AWS_REGION"))
            .ok_or_else(|| Error::config("ACTIVITY_REGIONS", "is not set (nor AWS_REGION)"))?;
        let mut regions: Vec<String> = Vec::new();
        for region in regions_text.split(',').map(str::trim).filter(|r| !r.is_empty()) {
            if !is_region_name(region) {
                return Err(Error::config(
                    "ACTIVITY_REGIONS",
                    "must be Region names such as us-east-1, comma-separated",
                ));
            }
            if !regions.iter().any(|known| known == region) {
                regions.push(region.to_owned());
            }
        }
        if regions.is_empty() || regions.len() > 40 {
            return Err(Error::config("ACTIVITY_REGIONS", "must name 1 to 40 Regions"));
        }
        let lag = super::sql_activity::delivery_lag_from_env(env)?;
        Ok(Self {
            role_name,
            partition: optional(env, "AWS_PARTITION").unwrap_or_else(|| "aws".to_owned()),
            regions,
            max_accounts: whole(env, "ACTIVITY_MAX_ACCOUNTS", 50, 1000)?,
            max_pages: whole(env, "ACTIVITY_MAX_PAGES", 10, 100)?,
            delivery_lag: lag.to_std().unwrap_or(Duration::from_secs(900)),
            concurrency: whole(env, "ACTIVITY_MEMBER_CONCURRENCY", 4, 16)?,
            sharers: u32::try_from(whole(env, "LOOKUP_EVENTS_SHARERS", 3, 100)?).unwrap_or(3),
        })
    }

    /// The most calls one check makes: an AssumeRole per account (fewer while credentials last), and per
    /// account, Region and user name up to `max_pages` LookupEvents pages.
    pub fn max_calls(&self, accounts: usize, user_names: usize) -> usize {
        let accounts = accounts.min(self.max_accounts);
        accounts.saturating_add(
            accounts
                .saturating_mul(self.regions.len())
                .saturating_mul(user_names)
                .saturating_mul(self.max_pages),
        )
    }
}

/// A whole number from 1 to `max`, or `default` when unset.
fn whole(env: &impl Env, name: &'static str, default: usize, max: usize) -> Result<usize> {
    match optional(env, name) {
        None => Ok(default),
        Some(text) => text
            .parse::<usize>()
            .ok()
            .filter(|n| (1..=max).contains(n))
            .ok_or_else(|| Error::config(name, format!("must be a whole number from 1 to {max}"))),
    }
}

/// `us-east-1`, `eu-central-2`, `us-gov-west-1`, `cn-north-1`, `ap-southeast-7`.
fn is_region_name(text: &str) -> bool {
    let parts: Vec<&str> = text.split('-').collect();
    parts.len() >= 3
        && parts.len() <= 4
        && parts[..parts.len() - 1]
            .iter()
            .all(|p| !p.is_empty() && p.chars().all(|c| c.is_ascii_lowercase()))
        && parts
            .last()
            .is_some_and(|n| !n.is_empty() && n.len() <= 2 && n.chars().all(|c| c.is_ascii_digit()))
}

/// Per-account LookupEvents through the member role.
#[derive(Debug)]
pub struct MemberLookupActivity {
    sdk: SdkConfig,
    sts: aws_sdk_sts::Client,
    settings: MemberActivitySettings,
    accounts: std::sync::Mutex<HashMap<AccountId, Arc<MemberAccount>>>,
}

/// One member account: its assumed-role credentials, and one LookupEvents adapter per Region using them (each with
/// its own call spacing, kept from check to check).
#[derive(Debug)]
struct MemberAccount {
    credentials: RoleCredentials,
    /// One refresh at a time.
    refreshing: tokio::sync::Mutex<()>,
    regions: BTreeMap<String, CloudTrailActivityLog>,
}

/// The account's current assumed-role credentials, shared by its Regions' clients (which cache nothing
/// themselves): assumed once, used by every Region until shortly before they expire.
#[derive(Debug, Clone, Default)]
struct RoleCredentials(Arc<RwLock<Option<Credentials>>>);

impl RoleCredentials {
    fn current(&self) -> Option<Credentials> {
        self.0.read().unwrap_or_else(|poisoned| poisoned.into_inner()).clone()
    }

    fn set(&self, credentials: Credentials) {
        *self.0.write().unwrap_or_else(|poisoned| poisoned.into_inner()) = Some(credentials);
    }

    /// Usable for a while yet (no expiry: for as long as they are there).
    fn fresh(&self, now: SystemTime) -> bool {
        self.current()
            .is_some_and(|c| c.expiry().is_none_or(|expiry| expiry > now + REFRESH_BEFORE_EXPIRY))
    }
}

impl ProvideCredentials for RoleCredentials {
    fn provide_credentials<'a>(&'a self) -> future::ProvideCredentials<'a>
    where
        Self: 'a,
    {
        future::ProvideCredentials::ready(
            self.current()
                .ok_or_else(|| CredentialsError::not_loaded("the member role has not been assumed")),
        )
    }
}

/// What reading one (account, Region) gave.
struct PlaceRead {
    account: AccountId,
    events: Vec<ActivityEvent>,
    complete: bool,
}

impl MemberLookupActivity {
    /// `sdk`: the function's configuration (its Region, credentials and endpoint); the member role is assumed with
    /// its credentials.
    pub fn new(sdk: &SdkConfig, settings: MemberActivitySettings) -> Self {
        Self {
            sdk: sdk.clone(),
            sts: aws_sdk_sts::Client::new(sdk),
            settings,
            accounts: std::sync::Mutex::new(HashMap::new()),
        }
    }

    pub fn settings(&self) -> &MemberActivitySettings {
        &self.settings
    }

    fn member(&self, account: &AccountId) -> Arc<MemberAccount> {
        let mut accounts = self.accounts.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        if accounts.len() >= CACHED_ACCOUNTS && !accounts.contains_key(account) {
            accounts.clear();
        }
        accounts
            .entry(account.clone())
            .or_insert_with(|| {
                let credentials = RoleCredentials::default();
                let spacing = CALL_SPACING.saturating_mul(self.settings.sharers.max(1));
                let regions = self
                    .settings
                    .regions
                    .iter()
                    .map(|region| {
                        let config = self
                            .sdk
                            .to_builder()
                            .region(aws_config::Region::new(region.clone()))
                            .credentials_provider(SharedCredentialsProvider::new(credentials.clone()))
                            .identity_cache(aws_config::identity::IdentityCache::no_cache())
                            .build();
                        (region.clone(), CloudTrailActivityLog::with_spacing(&config, spacing))
                    })
                    .collect();
                Arc::new(MemberAccount {
                    credentials,
                    refreshing: tokio::sync::Mutex::new(()),
                    regions,
                })
            })
            .clone()
    }

    /// The account's role credentials, assumed again when they are about to expire.
    async fn assume(&self, account: &AccountId, member: &MemberAccount) -> Result<()> {
        let _one_at_a_time = member.refreshing.lock().await;
        if member.credentials.fresh(SystemTime::now()) {
            return Ok(());
        }
        let role_arn = format!(
            "arn:{}:iam::{account}:role/{}",
            self.settings.partition, self.settings.role_name
        );
        let answer = self
            .sts
            .assume_role()
            .role_arn(role_arn)
            .role_session_name(SESSION_NAME)
            .duration_seconds(SESSION_SECONDS)
            .send()
            .await
            .map_err(|e| Error::aws("sts", "AssumeRole", e))?;
        let issued = answer
            .credentials()
            .ok_or_else(|| super::missing("sts", "AssumeRole", "Credentials"))?;
        let expiry = SystemTime::try_from(*issued.expiration()).ok();
        member.credentials.set(Credentials::new(
            issued.access_key_id(),
            issued.secret_access_key(),
            Some(issued.session_token().to_owned()),
            expiry,
            "deprov-audit-member-role",
        ));
        Ok(())
    }

    /// Every user name's events in one account and Region, each read bounded by what is left of the budget.
    async fn read_place(
        &self,
        account: AccountId,
        member: Arc<MemberAccount>,
        region: String,
        query: &UseQuery,
        until: Instant,
    ) -> PlaceRead {
        let mut read = PlaceRead {
            account,
            events: Vec::new(),
            complete: true,
        };
        let Some(log) = member.regions.get(&region) else {
            read.complete = false;
            return read;
        };
        for user_name in &query.reach.user_names {
            let left = until.saturating_duration_since(Instant::now());
            if left.is_zero() {
                read.complete = false;
                break;
            }
            let lookup = ActivityQuery::new(LookupAttribute::Username(user_name.clone()), query.start, query.end)
                .bounded(self.settings.max_pages, left);
            // The adapter checks the budget between calls and backoffs; this also ends a call still waiting then.
            let Ok(outcome) = tokio::time::timeout_at(until, log.lookup(&lookup)).await else {
                read.complete = false;
                break;
            };
            match outcome {
                Ok(found) => {
                    read.complete &= found.complete;
                    read.events
                        .extend(found.events.into_iter().filter(|e| is_session_of(e, user_name)));
                }
                Err(error) => {
                    // A Region the account has not enabled, a role without the permission, a broken answer: this
                    // place is not read, the others still are.
                    tracing::warn!(
                        account = %read.account,
                        region,
                        kind = error.kind(),
                        error = %error,
                        "member account event history not read"
                    );
                    read.complete = false;
                    break;
                }
            }
        }
        read
    }
}

/// A call made in an Identity Center permission-set role session named after `user_name`.
fn is_session_of(event: &ActivityEvent, user_name: &str) -> bool {
    event
        .role_name
        .as_deref()
        .is_some_and(|role| role.starts_with(IDENTITY_CENTER_ROLE_PREFIX))
        && event
            .actor_user_name
            .as_deref()
            .is_some_and(|session| session.eq_ignore_ascii_case(user_name))
}

impl OrgActivity for MemberLookupActivity {
    fn source(&self) -> &'static str {
        "member-lookup"
    }

    async fn use_of_aws(&self, query: &UseQuery) -> Result<UseRead> {
        let until = Instant::now() + query.budget;
        let lag = chrono::TimeDelta::from_std(self.settings.delivery_lag).unwrap_or(chrono::TimeDelta::MAX);
        let caught_up_to = Utc::now().checked_sub_signed(lag).unwrap_or(DateTime::<Utc>::MIN_UTC);
        let mut accounts = query.reach.accounts.clone();
        accounts.sort();
        accounts.dedup();
        let beyond_cap = accounts.split_off(accounts.len().min(self.settings.max_accounts));
        let mut unread: Vec<AccountId> = beyond_cap;
        if !unread.is_empty() {
            tracing::warn!(
                read = accounts.len(),
                unread = unread.len(),
                "more accounts than ACTIVITY_MAX_ACCOUNTS; the rest are not read this time"
            );
        }
        if query.reach.user_names.is_empty() || query.start > query.end {
            // No role session can be named: nothing to look up (portal events are read in the Identity Center
            // account, not here).
            return Ok(UseRead {
                events: Vec::new(),
                complete: unread.is_empty(),
                caught_up_to,
                unread_accounts: unread,
            });
        }

        // One AssumeRole per account whose credentials are not fresh; an account whose role cannot be assumed
        // (AccessDenied: the StackSet did not reach it, or its trust does not name this function) is not read.
        let concurrency = self.settings.concurrency.max(1);
        let assumed: Vec<(AccountId, Arc<MemberAccount>, Result<()>)> = futures_util::stream::iter(accounts)
            .map(|account| async move {
                let member = self.member(&account);
                let assumed = match tokio::time::timeout_at(until, self.assume(&account, &member)).await {
                    Ok(assumed) => assumed,
                    Err(_) => Err(Error::AwsContract {
                        service: "sts",
                        operation: "AssumeRole",
                        problem: "no answer within the check's budget".into(),
                    }),
                };
                (account, member, assumed)
            })
            .buffer_unordered(concurrency)
            .collect()
            .await;
        let mut places = Vec::new();
        for (account, member, assumed) in assumed {
            match assumed {
                Ok(()) => {
                    for region in &self.settings.regions {
                        places.push((account.clone(), member.clone(), region.clone()));
                    }
                }
                Err(error) => {
                    tracing::warn!(
                        account = %account,
                        kind = error.kind(),
                        error = %error,
                        "member role not assumed; the account is not read"
                    );
                    unread.push(account);
                }
            }
        }

        let reads: Vec<PlaceRead> = futures_util::stream::iter(places)
            .map(|(account, member, region)| self.read_place(account, member, region, query, until))
            .buffer_unordered(concurrency)
            .collect()
            .await;
        let mut events = Vec::new();
        for read in reads {
            if !read.complete && !unread.contains(&read.account) {
                unread.push(read.account.clone());
            }
            events.extend(read.events);
        }
        events.sort_by(|a, b| {
            a.event_time
                .cmp(&b.event_time)
                .then_with(|| a.event_id.cmp(&b.event_id))
        });
        events.dedup_by(|a, b| a.event_id == b.event_id);
        unread.sort();
        tracing::info!(
            events = events.len(),
            unread_accounts = unread.len(),
            "member accounts' event history read"
        );
        Ok(UseRead {
            events,
            complete: unread.is_empty(),
            caught_up_to,
            unread_accounts: unread,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> impl Env + use<> {
        let map: HashMap<String, String> = pairs.iter().map(|(k, v)| ((*k).into(), (*v).into())).collect();
        move |name: &str| map.get(name).cloned()
    }

    #[test]
    fn settings_default_to_the_functions_region_and_name_a_wrong_variable() {
        let settings =
            MemberActivitySettings::from_env(&env(&[("ACTIVITY_MEMBER_ROLE_NAME", "r"), ("AWS_REGION", "eu-west-1")]))
                .unwrap();
        assert_eq!(settings.regions, ["eu-west-1"]);
        assert_eq!(settings.delivery_lag, Duration::from_secs(900));
        assert_eq!(
            (settings.max_accounts, settings.max_pages, settings.sharers),
            (50, 10, 3)
        );

        let listed = MemberActivitySettings::from_env(&env(&[
            ("ACTIVITY_MEMBER_ROLE_NAME", "r"),
            ("AWS_REGION", "eu-west-1"),
            ("ACTIVITY_REGIONS", " us-east-1, eu-central-1 ,us-east-1,us-gov-west-1"),
            ("ACTIVITY_DELIVERY_LAG_SECONDS", "300"),
        ]))
        .unwrap();
        assert_eq!(listed.regions, ["us-east-1", "eu-central-1", "us-gov-west-1"]);
        assert_eq!(listed.delivery_lag, Duration::from_secs(300));

        for (var, value) in [
            ("ACTIVITY_REGIONS", "us-east-1,Mars"),
            ("ACTIVITY_REGIONS", " , "),
            ("ACTIVITY_DELIVERY_LAG_SECONDS", "-1"),
            ("ACTIVITY_MAX_ACCOUNTS", "0"),
            ("ACTIVITY_MAX_PAGES", "101"),
            ("ACTIVITY_MEMBER_CONCURRENCY", "x"),
            ("ACTIVITY_MEMBER_ROLE_NAME", "no spaces"),
        ] {
            let mut pairs = vec![("AWS_REGION", "eu-west-1"), (var, value)];
            if var != "ACTIVITY_MEMBER_ROLE_NAME" {
                pairs.push(("ACTIVITY_MEMBER_ROLE_NAME", "r"));
            }
            let error = MemberActivitySettings::from_env(&env(&pairs)).unwrap_err();
            assert!(error.to_string().contains(var), "{var}={value}: {error}");
        }
        let error = MemberActivitySettings::from_env(&env(&[("AWS_REGION", "eu-west-1")])).unwrap_err();
        assert!(error.to_string().contains("ACTIVITY_MEMBER_ROLE_NAME"), "{error}");
        let error = MemberActivitySettings::from_env(&env(&[("ACTIVITY_MEMBER_ROLE_NAME", "r")])).unwrap_err();
        assert!(error.to_string().contains("ACTIVITY_REGIONS"), "{error}");
    }

    #[test]
    fn the_call_bound_is_accounts_times_regions_times_names_times_pages() {
        let mut settings =
            MemberActivitySettings::from_env(&env(&[("ACTIVITY_MEMBER_ROLE_NAME", "r"), ("AWS_REGION", "eu-west-1")]))
                .unwrap();
        settings.regions = vec!["us-east-1".into(), "eu-west-1".into()];
        settings.max_accounts = 5;
        // 5 of the 8 accounts: 5 AssumeRole + 5 × 2 Regions × 1 name × 10 pages.
        assert_eq!(settings.max_calls(8, 1), 105);
        assert_eq!(
            settings.max_calls(usize::MAX, usize::MAX),
            usize::MAX,
            "saturates, never overflows"
        );
    }

    #[test]
    fn region_names() {
        for ok in [
            "us-east-1",
            "ap-southeast-7",
            "us-gov-west-1",
            "cn-north-1",
            "eu-central-2",
        ] {
            assert!(is_region_name(ok), "{ok}");
        }
        for bad in [
            "",
            "us",
            "us-east",
            "US-EAST-1",
            "us-east-1a",
            "us--1",
            "a-b-c-d-1",
            "us-east-123",
        ] {
            assert!(!is_region_name(bad), "{bad}");
        }
    }

    fn event(role: Option<&str>, session: Option<&str>) -> ActivityEvent {
        ActivityEvent {
            event_id: "e".into(),
            event_name: "ListBuckets".into(),
            event_source: "s3.amazonaws.com".into(),
            event_time: Utc::now(),
            actor_user_id: None,
            actor_user_name: session.map(str::to_owned),
            role_name: role.map(str::to_owned),
            target_user_id: None,
            error_code: None,
            account_id: None,
            region: None,
            target_account_id: None,
        }
    }

    #[test]
    fn only_the_persons_identity_center_role_sessions_are_kept() {
        let sso = Some("AWSReservedSSO_Developer_0123456789abcdef");
        assert!(is_session_of(
            &event(sso, Some("Alice@Example.com")),
            "alice@example.com"
        ));
        assert!(!is_session_of(
            &event(sso, Some("bob@example.com")),
            "alice@example.com"
        ));
        assert!(!is_session_of(
            &event(Some("deploy"), Some("alice@example.com")),
            "alice@example.com"
        ));
        assert!(!is_session_of(
            &event(None, Some("alice@example.com")),
            "alice@example.com"
        ));
        assert!(!is_session_of(&event(sso, None), "alice@example.com"));
    }

    #[test]
    fn credentials_are_fresh_until_shortly_before_they_expire() {
        let slot = RoleCredentials::default();
        let now = SystemTime::now();
        assert!(!slot.fresh(now), "nothing assumed yet");
        slot.set(Credentials::new(
            "a",
            "s",
            None,
            Some(now + Duration::from_secs(3600)),
            "t",
        ));
        assert!(slot.fresh(now));
        assert!(!slot.fresh(now + Duration::from_secs(3600) - REFRESH_BEFORE_EXPIRY));
    }
}
