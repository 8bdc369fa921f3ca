//! The ports: one trait per outside system, named for its role, returning domain types.
//! Adapters: `okta::OktaClient`, `aws::IdentityCenterClient`, `aws::CloudTrailActivityLog`, `aws::SnsNotifier`,
//! `notify::{StdoutNotifier, FileNotifier}`. In-memory adapters (feature `in-memory`, for tests and offline runs): `in_memory::*`.

use std::future::Future;

use chrono::{DateTime, Utc};

use crate::domain::{
    AccountAssignment, AccountId, ActivityEvent, Finding, IdcGroup, IdcGroupId, IdcInstance, IdcUser, OktaApp,
    OktaAppId, OktaGroup, OktaGroupId, OktaLogEvent, OktaUser, PermissionSet, Principal,
};
use crate::error::Result;

/// Okta, the source of truth.
pub trait Directory: Sync {
    /// Every user, DEPROVISIONED ones included (Okta's plain list leaves them out).
    fn users(&self) -> impl Future<Output = Result<Vec<OktaUser>>> + Send;
    /// One user by id or login; `None` if Okta has no such user.
    fn user(&self, id_or_login: &str) -> impl Future<Output = Result<Option<OktaUser>>> + Send;
    /// Every group, with its members' ids.
    fn groups(&self) -> impl Future<Output = Result<Vec<OktaGroup>>> + Send;
    /// The AWS app: its users (with syncState), group push mappings, and signing keys (active one marked).
    fn app(&self, app_id: &OktaAppId) -> impl Future<Output = Result<OktaApp>> + Send;
    /// The Identity Center group an Okta group is pushed to by the app, if it is pushed (any mapping status).
    fn group_push_target(
        &self,
        app_id: &OktaAppId,
        group_id: &OktaGroupId,
    ) -> impl Future<Output = Result<Option<IdcGroupId>>> + Send;
    /// System Log events of the given types published in `[since, until)`, every page followed.
    fn system_log(&self, query: &LogQuery) -> impl Future<Output = Result<Vec<OktaLogEvent>>> + Send;
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogQuery {
    pub since: DateTime<Utc>,
    pub until: DateTime<Utc>,
    /// Empty: every type.
    pub event_types: Vec<String>,
}

/// How to find one Identity Center user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UserLookup {
    UserName(String),
    Email(String),
    ExternalId { issuer: String, id: String },
}

/// AWS IAM Identity Center: the identity store and sso-admin (plus Organizations for the account list).
pub trait IdentityCenter: Sync {
    fn instance(&self) -> &IdcInstance;
    /// Every user, with `UserStatus`.
    fn users(&self) -> impl Future<Output = Result<Vec<IdcUser>>> + Send;
    /// Every group, with its members.
    fn groups(&self) -> impl Future<Output = Result<Vec<IdcGroup>>> + Send;
    /// Every permission set, with its session duration.
    fn permission_sets(&self) -> impl Future<Output = Result<Vec<PermissionSet>>> + Send;
    /// Every account of the organization.
    fn accounts(&self) -> impl Future<Output = Result<Vec<AccountId>>> + Send;
    /// Every account assignment on the given accounts (per account: the permission sets provisioned there, then
    /// the assignments of each).
    fn assignments(&self, accounts: &[AccountId]) -> impl Future<Output = Result<Vec<AccountAssignment>>> + Send;
    /// One user, or `None` if the identity store has no such user.
    fn find_user(&self, lookup: &UserLookup) -> impl Future<Output = Result<Option<IdcUser>>> + Send;
    /// The groups a user belongs to.
    fn groups_of(&self, user: &IdcUser) -> impl Future<Output = Result<Vec<IdcGroupId>>> + Send;
    /// The assignments held by one principal (a user directly, or a group).
    fn assignments_of(&self, principal: &Principal) -> impl Future<Output = Result<Vec<AccountAssignment>>> + Send;
}

/// One CloudTrail LookupEvents attribute (the API takes exactly one per call).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LookupAttribute {
    EventSource(String),
    EventName(String),
    Username(String),
    ResourceName(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActivityQuery {
    pub attribute: LookupAttribute,
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
}

/// CloudTrail management-event history.
pub trait ActivityLog: Sync {
    /// Events matching the query, every page followed, oldest first.
    fn lookup(&self, query: &ActivityQuery) -> impl Future<Output = Result<Vec<ActivityEvent>>> + Send;
}

/// Where findings go.
pub trait Notifier: Sync {
    /// Delivers every finding or fails naming the ones that were not delivered.
    fn publish(&self, findings: &[Finding]) -> impl Future<Output = Result<()>> + Send;
}

/// A verification job and how long the queue should hold it back.
#[derive(Debug, Clone, PartialEq)]
pub struct ScheduledJob {
    pub job: crate::domain::VerificationJob,
    /// 0..=900 seconds (SQS's limit); longer waits are re-delayed by the checker.
    pub delay_seconds: i32,
}

impl ScheduledJob {
    /// Each job, held back until its window ends (as far as SQS's 900 s allow).
    pub fn until_due(jobs: &[crate::domain::VerificationJob], now: DateTime<Utc>) -> Vec<ScheduledJob> {
        jobs.iter()
            .map(|job| ScheduledJob {
                delay_seconds: job.delay_from(now),
                job: job.clone(),
            })
            .collect()
    }
}

/// A secret that can change while a function runs (rotation): read again whenever the caller asks.
pub trait SecretStore: Sync {
    /// The secret's current value.
    fn read(&self) -> impl Future<Output = Result<secrecy::SecretString>> + Send;
}

/// Durable hand-off of verification jobs.
pub trait JobQueue: Sync {
    /// Accepts every job or fails naming the ones that were not accepted.
    fn enqueue(&self, jobs: &[ScheduledJob]) -> impl Future<Output = Result<()>> + Send;
}

/// Remembers which verdicts were already published, so the hook's job and the sweep's job for one deprovision
/// (or a redelivered message) publish a final verdict once — and a crash mid-publish loses nothing.
pub trait VerdictLedger: Sync {
    /// Takes `key` for publishing unless it is published, or claimed by a job whose lease has not run out:
    /// `true` if this job may publish now.
    fn claim(
        &self,
        key: &str,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
        keep_until: DateTime<Utc>,
    ) -> impl Future<Output = Result<bool>> + Send;
    /// Marks `key` published: no later job publishes it again.
    fn complete(&self, key: &str) -> impl Future<Output = Result<()>> + Send;
    /// Gives `key` back, so a verdict whose publishing failed is published on the retry.
    fn release(&self, key: &str) -> impl Future<Output = Result<()>> + Send;
}
