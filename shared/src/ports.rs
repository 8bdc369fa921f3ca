//! The ports: one trait per outside system, named for its role, returning domain types.
//! Adapters: `okta::OktaClient`, `aws::IdentityCenterClient`, `aws::CloudTrailActivityLog`, `aws::SnsNotifier`,
//! `notify::{StdoutNotifier, FileNotifier}`. In-memory adapters (feature `in-memory`, for tests and offline runs): `in_memory::*`.

use std::future::Future;

use std::collections::HashSet;

use chrono::{DateTime, Duration, Utc};

use crate::domain::episode::EpisodeState;
use crate::domain::{RememberedLink, VerificationJob};

use crate::domain::{
    AccountAssignment, AccountId, ActivityEvent, AppUser, Finding, IdcGroup, IdcGroupId, IdcInstance, IdcUser, OktaApp,
    OktaAppId, OktaGroup, OktaGroupId, OktaLogEvent, OktaUser, OktaUserId, PermissionSet, PermissionSetArn, Principal,
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
    /// The groups the app uses — assigned to it, or pushed by it (`pushed`: the push mappings' source groups) —
    /// with their members; no other group's members are read. The default answers every group (an adapter that
    /// cannot tell which groups are assigned to the app).
    fn app_groups(
        &self,
        _app_id: &OktaAppId,
        _pushed: &[OktaGroupId],
    ) -> impl Future<Output = Result<Vec<OktaGroup>>> + Send {
        self.groups()
    }
    /// The app (`app`) and the groups it uses (`app_groups`, pushed per its push mappings). An adapter may read
    /// the two side by side; the default reads the app first.
    fn app_and_groups(&self, app_id: &OktaAppId) -> impl Future<Output = Result<(OktaApp, Vec<OktaGroup>)>> + Send {
        async move {
            let app = self.app(app_id).await?;
            let pushed: Vec<OktaGroupId> = app
                .group_push_mappings
                .iter()
                .map(|m| m.source_group_id.clone())
                .collect();
            let groups = self.app_groups(app_id, &pushed).await?;
            Ok((app, groups))
        }
    }
    /// The AWS app: its users (with syncState), group push mappings, and signing keys (active one marked).
    fn app(&self, app_id: &OktaAppId) -> impl Future<Output = Result<OktaApp>> + Send;
    /// The org's active SAML apps for AWS (the IAM Identity Center app, AWS Account Federation apps).
    fn aws_saml_apps(&self) -> impl Future<Output = Result<Vec<OktaAppId>>> + Send;
    /// The app's label and SAML signing keys (active one marked, each with its `x5c`), without its users.
    fn signing_keys(
        &self,
        app_id: &OktaAppId,
    ) -> impl Future<Output = Result<crate::domain::certificate::AppSigningKeys>> + Send;
    /// The Identity Center group an Okta group is pushed to by the app, if it is pushed (any mapping status).
    fn group_push_target(
        &self,
        app_id: &OktaAppId,
        group_id: &OktaGroupId,
    ) -> impl Future<Output = Result<Option<IdcGroupId>>> + Send;
    /// System Log events of the given types published in `[since, until)`, every page followed.
    fn system_log(&self, query: &LogQuery) -> impl Future<Output = Result<Vec<OktaLogEvent>>> + Send;
    /// The person's assignment to an app, Okta's record of what it provisioned (`externalId`, app username);
    /// `None` when Okta has no such app user (never assigned, or unassigned and removed).
    fn app_user(
        &self,
        app_id: &OktaAppId,
        user_id: &OktaUserId,
    ) -> impl Future<Output = Result<Option<AppUser>>> + Send;
    /// The groups the person is in now (`GET /api/v1/users/{id}/groups`, every page).
    fn user_groups(&self, user_id: &OktaUserId) -> impl Future<Output = Result<Vec<OktaGroupId>>> + Send;
    /// The ids of a group's members now (`GET /api/v1/groups/{id}/users`, every page); `None` when the group
    /// is gone.
    fn group_members(&self, group_id: &OktaGroupId) -> impl Future<Output = Result<Option<Vec<OktaUserId>>>> + Send;
    /// A polling read of the System Log (no `until`, oldest first by when Okta stored the event) from `from`, of
    /// the given types (empty: every type), at most `max_pages` pages. Answers the events and where the next read
    /// continues: nothing is read twice and nothing skipped, however late Okta stores an event.
    fn poll_system_log(
        &self,
        from: &LogCursor,
        event_types: &[String],
        max_pages: usize,
    ) -> impl Future<Output = Result<LogPoll>> + Send;
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogQuery {
    pub since: DateTime<Utc>,
    pub until: DateTime<Utc>,
    /// Empty: every type.
    pub event_types: Vec<String>,
}

/// Where a polling read of the System Log starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LogCursor {
    /// The first read: events published from this time on.
    Since(DateTime<Utc>),
    /// Where the previous read stopped, as that read's `LogPoll::next` gave it (for Okta: the `rel="next"` URL of
    /// its last page). Opaque: only ever one the directory answered.
    Next(String),
}

/// What one polling read of the System Log found.
#[derive(Debug, Clone, PartialEq)]
pub struct LogPoll {
    /// In the order the directory stored them.
    pub events: Vec<OktaLogEvent>,
    /// Where the next read continues (`LogCursor::Next`): store it once these events are handled.
    pub next: String,
    /// `true`: the last page read was short or empty, the log is read up to now. `false`: the read stopped at its
    /// page cap with more to read; the next read continues from `next`.
    pub complete: bool,
}

/// How to find one Identity Center user: by id (DescribeUser), or by a unique attribute or external id
/// (GetUserId, then DescribeUser). The linking rule's keys, as the port takes them.
pub use crate::domain::LinkKey as UserLookup;

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
    /// Per permission set, in the order given: the accounts it is provisioned to
    /// (ListAccountsForProvisionedPermissionSet: one call per set and page) — what the inventory's plan reads to
    /// size its shards. The default derives them from every account's assignments (an adapter without the per-set
    /// call; the provisioned accounts are then those assigned).
    fn provisioned_accounts(
        &self,
        sets: &[crate::domain::PermissionSetArn],
    ) -> impl Future<Output = Result<Vec<crate::domain::Provisioning>>> + Send {
        async move {
            let accounts = self.accounts().await?;
            let all = self.assignments(&accounts).await?;
            Ok(sets
                .iter()
                .map(|set| {
                    let mut accounts: Vec<AccountId> = all
                        .iter()
                        .filter(|a| &a.permission_set_arn == set)
                        .map(|a| a.account_id.clone())
                        .collect();
                    accounts.sort();
                    accounts.dedup();
                    crate::domain::Provisioning {
                        permission_set_arn: set.clone(),
                        accounts,
                    }
                })
                .collect())
        }
    }
    /// One permission set's assignments on the given accounts, account by account in the order given
    /// (ListAccountAssignments per (set, account) pair, more only where a pair's pages run over) — one work item
    /// of an inventory shard. The default reads the accounts' assignments and keeps the set's.
    fn assignments_of_set(
        &self,
        set: &crate::domain::PermissionSetArn,
        accounts: &[AccountId],
    ) -> impl Future<Output = Result<Vec<AccountAssignment>>> + Send {
        async move {
            let all = self.assignments(accounts).await?;
            Ok(all.into_iter().filter(|a| &a.permission_set_arn == set).collect())
        }
    }
    /// One user, or `None` if the identity store has no such user.
    fn find_user(&self, lookup: &UserLookup) -> impl Future<Output = Result<Option<IdcUser>>> + Send;
    /// The groups a user belongs to.
    fn groups_of(&self, user: &IdcUser) -> impl Future<Output = Result<Vec<IdcGroupId>>> + Send;
    /// Every assignment held by any of these principals (a user directly, and groups), on any account, read only
    /// through calls a delegated administrator may make (no management-account-only call).
    fn assignments_for(&self, principals: &[Principal]) -> impl Future<Output = Result<Vec<AccountAssignment>>> + Send;
}

/// Where a permission set is provisioned: every account, and those among them not yet at its latest version (an
/// edit made, the re-provisioning not done or not finished).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Provisioned {
    pub accounts: Vec<AccountId>,
    pub stale: Vec<AccountId>,
}

/// How long a re-provisioning is waited for: at most `polls` status reads, `interval` apart.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProvisionWait {
    pub polls: u32,
    pub interval: std::time::Duration,
}

impl Default for ProvisionWait {
    /// Up to two minutes: AWS provisions a set to its accounts in seconds to a minute.
    fn default() -> Self {
        Self {
            polls: 40,
            interval: std::time::Duration::from_secs(3),
        }
    }
}

/// How a re-provisioning ended, as DescribePermissionSetProvisioningStatus says it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProvisionStatus {
    Succeeded,
    Failed {
        reason: Option<String>,
    },
    /// Still running when the wait ran out: AWS goes on; the request id lets a person look it up.
    InProgress {
        request_id: String,
    },
}

/// The one write port of the auditor: a permission set's inline policy and its provisioning (sso-admin). Used
/// only by `deprov-audit revoke --apply`, run by a person; no function is given it.
pub trait PermissionSetEditor: Sync {
    /// The set's inline policy; `None` when it has none.
    fn inline_policy(&self, set: &PermissionSetArn) -> impl Future<Output = Result<Option<String>>> + Send;
    fn put_inline_policy(&self, set: &PermissionSetArn, policy: &str) -> impl Future<Output = Result<()>> + Send;
    fn provisioned(&self, set: &PermissionSetArn) -> impl Future<Output = Result<Provisioned>> + Send;
    /// Re-provisions the set to every account it is provisioned to (TargetType ALL_PROVISIONED_ACCOUNTS) and waits,
    /// bounded by `wait`, for the request to end.
    fn provision(
        &self,
        set: &PermissionSetArn,
        wait: ProvisionWait,
    ) -> impl Future<Output = Result<ProvisionStatus>> + Send;
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
    /// At most this many pages are read (LookupEvents pages hold 50 events).
    pub max_pages: usize,
    /// The read stops when this much time has gone (throttling waits included); `None`: no time bound.
    pub budget: Option<std::time::Duration>,
}

impl ActivityQuery {
    /// Pages read by default: 5,000 events.
    pub const DEFAULT_MAX_PAGES: usize = 100;

    pub fn new(attribute: LookupAttribute, start: DateTime<Utc>, end: DateTime<Utc>) -> Self {
        Self {
            attribute,
            start,
            end,
            max_pages: Self::DEFAULT_MAX_PAGES,
            budget: None,
        }
    }

    pub fn bounded(self, max_pages: usize, budget: std::time::Duration) -> Self {
        Self {
            max_pages,
            budget: Some(budget),
            ..self
        }
    }
}

/// What a bounded read found: the events, and whether it read to the end.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ActivityRead {
    pub events: Vec<ActivityEvent>,
    /// `false`: stopped at the page cap or the time budget; later events may be missing.
    pub complete: bool,
}

/// CloudTrail management-event history.
pub trait ActivityLog: Sync {
    /// Events matching the query, oldest first, pages followed up to the query's page cap and time budget.
    fn lookup(&self, query: &ActivityQuery) -> impl Future<Output = Result<ActivityRead>> + Send;

    /// The recorded SCIM writes, sign-ins and role credentials under `keys` since `start`, when a record
    /// (identity-center-watch's) reaches back that far: one keyed read instead of scanning CloudTrail. `None`: no
    /// record covers the time, read CloudTrail.
    fn recorded(
        &self,
        _keys: &[crate::domain::activity_record::RecordKey],
        _start: DateTime<Utc>,
    ) -> impl Future<Output = Result<Option<ActivityRead>>> + Send {
        async { Ok(None) }
    }

    /// Each user's latest sign-in or role credentials in the activity record, and how far back the record reaches
    /// (for the access review: sign-ins older than CloudTrail's 90 days). `None`: no record, or an empty one.
    fn recorded_last_uses(
        &self,
        _users: &[crate::domain::IdcUser],
    ) -> impl Future<Output = Result<Option<crate::domain::activity_record::RecordedUses>>> + Send {
        async { Ok(None) }
    }

    /// What the record knows of Okta's SCIM channel (for the `scim-silent` heartbeat); no record: nothing
    /// (`record_since` `None`), and no heartbeat.
    fn scim_heartbeat(&self) -> impl Future<Output = Result<crate::domain::activity_record::ScimHeartbeat>> + Send {
        async { Ok(crate::domain::activity_record::ScimHeartbeat::default()) }
    }
}

/// What an org-wide activity source is asked: every use of AWS by the people in `reach`, in its accounts, between
/// `start` and `end`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UseQuery {
    pub reach: crate::domain::activity::Reach,
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
    /// The read stops when this much time has gone (throttling and query waits included).
    pub budget: std::time::Duration,
}

/// What an org-wide read found.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct UseRead {
    /// Role sessions (`AWSReservedSSO_*`) and portal calls by the people asked about, oldest first.
    pub events: Vec<ActivityEvent>,
    /// `false`: stopped at a page cap, the time budget or a query limit; later events may be missing.
    pub complete: bool,
    /// The source holds every event up to this time (its delivery lag: CloudTrail writes log files to S3 about
    /// every 5 minutes, typically within 15). Events after it may not have arrived yet: not-yet, not "no activity".
    pub caught_up_to: DateTime<Utc>,
    /// Accounts of `reach` not read to the end (beyond the source's account cap, a role that could not be assumed,
    /// a read that failed or stopped at a cap): not "no activity" there. Empty for sources that read the whole
    /// organization at once.
    pub unread_accounts: Vec<AccountId>,
}

impl UseRead {
    /// How far this read can be trusted for `reach`, read from `from`: `caught_up_to` when the read was whole —
    /// not cut short (page cap, budget), every account read, and some account to read — else `from`, nothing after
    /// it being known. A read cut short is never taken as "no use of AWS" up to the source's clock.
    pub fn trusted_to(&self, reach: &crate::domain::activity::Reach, from: DateTime<Utc>) -> DateTime<Utc> {
        if self.is_whole(reach) { self.caught_up_to } else { from }
    }

    /// Not cut short, every account of `reach` read, and `reach` has an account to read.
    pub fn is_whole(&self, reach: &crate::domain::activity::Reach) -> bool {
        self.complete && self.unread_accounts.is_empty() && !reach.accounts.is_empty()
    }
}

/// Use of AWS anywhere in the organization — member accounts, every Region — not only the deploy account's own
/// CloudTrail. Adapters (chosen by `ACTIVITY_SOURCE`): Athena over the organization trail, CloudTrail Lake, or
/// LookupEvents through a read-only role in each member account.
pub trait OrgActivity: Sync {
    /// The source's name, as findings and the README say it (`athena`, `cloudtrail-lake`, `member-lookup`).
    fn source(&self) -> &'static str;

    fn use_of_aws(&self, query: &UseQuery) -> impl Future<Output = Result<UseRead>> + Send;

    /// `false` for "no source configured": the checker then says in its findings that member accounts were not
    /// watched, and does not watch past its one follow-up look.
    fn watches(&self) -> bool {
        true
    }
}

/// No org-wide source (a deployment without `ACTIVITY_SOURCE`, the CLI's read ports): reads nothing, watches
/// nothing, and says so.
impl OrgActivity for () {
    fn source(&self) -> &'static str {
        "none"
    }

    async fn use_of_aws(&self, query: &UseQuery) -> Result<UseRead> {
        Ok(UseRead {
            events: Vec::new(),
            complete: false,
            caught_up_to: query.start,
            unread_accounts: query.reach.accounts.clone(),
        })
    }

    fn watches(&self) -> bool {
        false
    }
}

/// The SAML providers AWS trusts, per account (IAM).
pub trait SamlProviders: Sync {
    /// Every IAM SAML provider of the deploy account (`None`) or of a member account (through its read-only role),
    /// each with the certificates of its metadata read.
    fn providers(
        &self,
        account: Option<&AccountId>,
    ) -> impl Future<Output = Result<Vec<crate::domain::certificate::SamlProvider>>> + Send;
    /// Every ACTIVE account of the organization other than the deploy account (Organizations ListAccounts: the
    /// deploy account must be the management account or a delegated administrator).
    fn organization_accounts(&self) -> impl Future<Output = Result<Vec<AccountId>>> + Send;
}

/// Where findings go.
pub trait Notifier: Sync {
    /// Delivers every finding or fails naming the ones that were not delivered.
    fn publish(&self, findings: &[Finding]) -> impl Future<Output = Result<()>> + Send;

    /// Keeps a final verdict for the access review. Default: not kept; `ArchivingNotifier` keeps it in a
    /// `VerdictArchive`. (On the notifier so the checker's ports stay as they are: its verdicts go out through it.)
    fn archive_verdict(
        &self,
        verdict: &crate::domain::archived_verdict::ArchivedVerdict,
    ) -> impl Future<Output = Result<()>> + Send {
        let _ = verdict;
        async { Ok(()) }
    }
}

/// Where the access review's report files go: one folder per run.
pub trait ReportStore: Sync {
    /// Writes every file (rendered on disk: `ReportFiles::render`) under the run's own folder in the order given
    /// (the manifest last), reading each from its path, and says where.
    fn store(
        &self,
        files: &crate::review_report::ReportFiles,
    ) -> impl Future<Output = Result<crate::review_report::ReportLocation>> + Send;
}

/// The checker's final verdicts, kept long enough for a quarterly review to list the period's deprovisions.
pub trait VerdictArchive: Sync {
    /// Keeps one verdict; keeping the same episode's verdict again replaces it.
    fn record(
        &self,
        verdict: &crate::domain::archived_verdict::ArchivedVerdict,
    ) -> impl Future<Output = Result<()>> + Send;
    /// The verdicts of deprovisions published in `[start, end)`, oldest first, at most `max_records`.
    fn period(
        &self,
        start: DateTime<Utc>,
        end: DateTime<Utc>,
        max_records: usize,
    ) -> impl Future<Output = Result<ArchivedPeriod>> + Send;
    /// Whether there is an archive at all (`false`: a deployment without one, whose reads are never complete):
    /// the report says which of the two an incomplete read is.
    fn configured(&self) -> bool {
        true
    }
}

/// What a read of the archive found.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ArchivedPeriod {
    pub verdicts: Vec<crate::domain::archived_verdict::ArchivedVerdict>,
    /// `false`: the read stopped at its cap (or there is no archive): the period may hold more.
    pub complete: bool,
}

impl ArchivedPeriod {
    /// The review's records, oldest first.
    pub fn records(&self) -> Vec<crate::domain::review::DeprovisionRecord> {
        self.verdicts.iter().map(|v| v.record.clone()).collect()
    }
}

/// No archive (a deployment without a bucket): keeps nothing, and a read says it is not complete.
impl VerdictArchive for () {
    async fn record(&self, _verdict: &crate::domain::archived_verdict::ArchivedVerdict) -> Result<()> {
        Ok(())
    }

    async fn period(&self, _start: DateTime<Utc>, _end: DateTime<Utc>, _max_records: usize) -> Result<ArchivedPeriod> {
        Ok(ArchivedPeriod::default())
    }

    fn configured(&self) -> bool {
        false
    }
}

impl<V: VerdictArchive> VerdictArchive for Option<V> {
    async fn record(&self, verdict: &crate::domain::archived_verdict::ArchivedVerdict) -> Result<()> {
        match self {
            Some(archive) => archive.record(verdict).await,
            None => Ok(()),
        }
    }

    async fn period(&self, start: DateTime<Utc>, end: DateTime<Utc>, max_records: usize) -> Result<ArchivedPeriod> {
        match self {
            Some(archive) => archive.period(start, end, max_records).await,
            None => Ok(ArchivedPeriod::default()),
        }
    }

    fn configured(&self) -> bool {
        self.as_ref().is_some_and(V::configured)
    }
}

/// A notifier that also keeps the final verdicts it is handed in an archive.
#[derive(Debug, Clone)]
pub struct ArchivingNotifier<N, V> {
    pub notifier: N,
    pub archive: V,
}

impl<N: Notifier, V: VerdictArchive> Notifier for ArchivingNotifier<N, V> {
    async fn publish(&self, findings: &[Finding]) -> Result<()> {
        self.notifier.publish(findings).await
    }

    async fn archive_verdict(&self, verdict: &crate::domain::archived_verdict::ArchivedVerdict) -> Result<()> {
        self.archive.record(verdict).await
    }
}

/// Work for the verification queue and how long the queue should hold it back.
#[derive(Debug, Clone, PartialEq)]
pub struct ScheduledJob {
    pub job: crate::domain::deprovision::QueuedWork,
    /// 0..=900 seconds (SQS's limit); longer waits are re-delayed by the checker.
    pub delay_seconds: i32,
}

impl ScheduledJob {
    /// Each job, held back until its window ends (as far as SQS's 900 s allow).
    pub fn until_due(jobs: &[crate::domain::VerificationJob], now: DateTime<Utc>) -> Vec<ScheduledJob> {
        jobs.iter()
            .map(|job| ScheduledJob {
                delay_seconds: job.delay_from(now),
                job: job.clone().into(),
            })
            .collect()
    }

    /// One job, checked after `delay_seconds`.
    pub fn after(job: crate::domain::VerificationJob, delay_seconds: i32) -> Self {
        Self {
            job: job.into(),
            delay_seconds,
        }
    }
}

impl crate::domain::deprovision::Selection {
    /// Everything a batch of events asks the checker to do: each job held back until its window ends; each
    /// group unassigned from the app at once (its members are read from Okta, then each gets a job).
    pub fn scheduled(&self, now: DateTime<Utc>) -> Vec<ScheduledJob> {
        let mut all = ScheduledJob::until_due(&self.jobs, now);
        all.extend(self.group_unassignments.iter().map(|work| ScheduledJob {
            job: crate::domain::deprovision::QueuedWork::GroupUnassignment(work.clone()),
            delay_seconds: 0,
        }));
        all
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

/// The checker's memory, in one table: which verdicts were published (claims with owner tokens, so a job that
/// lost its claim cannot complete or release another's), each person's episodes and their one re-check chain, the
/// activity events already reported per episode, and the identity links seen. What makes "one alert per
/// incident" hold across re-checks, duplicate deliveries and crashes.
pub trait VerdictLedger: Sync {
    /// Takes `key` for `owner` unless it is published, or claimed by another owner whose lease has not run out:
    /// `true` if `owner` may publish now.
    fn claim(
        &self,
        key: &str,
        owner: &str,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
        keep_until: DateTime<Utc>,
    ) -> impl Future<Output = Result<bool>> + Send;
    /// Marks `key` published, if `owner` still holds it (else `Error::ClaimLost`): no later job publishes it.
    fn complete(&self, key: &str, owner: &str) -> impl Future<Output = Result<()>> + Send;
    /// Gives `key` back, if `owner` holds it, so a verdict whose publishing failed is published on the retry.
    fn release(&self, key: &str, owner: &str) -> impl Future<Output = Result<()>> + Send;
    /// Was `key` published? Asked before the expensive observation.
    fn is_published(&self, key: &str) -> impl Future<Output = Result<bool>> + Send;

    /// Places `job` in the person's episode under `episode_key`: joins the open one that admits it (see
    /// `EpisodeState::admit`) or opens a new one. Safe against concurrent placements.
    fn place_in_episode(
        &self,
        episode_key: &str,
        job: &VerificationJob,
        window: Duration,
        keep_until: DateTime<Utc>,
    ) -> impl Future<Output = Result<EpisodeState>> + Send;
    /// Takes the episode's one re-check chain for `owner` at its step `step` (0 for a job that is not in the chain
    /// yet), moving it to `step + 1` and refreshing its heartbeat: `true` if this job may check now. Refused while
    /// another owner holds the chain and beat after `stale_before`, and to a second copy of one step (its owner's
    /// step has moved on). Each episode has a chain of its own.
    fn hold_chain(
        &self,
        episode_id: &str,
        owner: &str,
        step: u32,
        now: DateTime<Utc>,
        stale_before: DateTime<Utc>,
    ) -> impl Future<Output = Result<bool>> + Send;
    /// Lets the episode's chain go without a verdict (nothing to verify), so another job of it may check.
    fn let_chain_go(&self, episode_id: &str, owner: &str) -> impl Future<Output = Result<()>> + Send;
    /// The episode's verdict is out: later events open a new episode, and its chain ends (whoever held it).
    fn close_episode(
        &self,
        episode_key: &str,
        episode_id: &str,
        now: DateTime<Utc>,
    ) -> impl Future<Output = Result<()>> + Send;

    /// Whom and where the episode's watch looks (`Reach`), as recorded at its checks; `None` before the first.
    fn recorded_reach(
        &self,
        episode_id: &str,
    ) -> impl Future<Output = Result<Option<crate::domain::activity::Reach>>> + Send;
    /// Merges `reach` into the episode's recorded reach (never shrinking it: what the person could reach at the
    /// first check stays once SCIM has removed it) and answers the merged reach.
    fn record_reach(
        &self,
        episode_id: &str,
        reach: &crate::domain::activity::Reach,
        keep_until: DateTime<Utc>,
    ) -> impl Future<Output = Result<crate::domain::activity::Reach>> + Send;

    /// CloudTrail event ids already reported for the episode.
    fn reported_events(&self, episode_id: &str) -> impl Future<Output = Result<HashSet<String>>> + Send;
    /// Adds event ids to the episode's reported set.
    fn mark_reported(
        &self,
        episode_id: &str,
        event_ids: &[String],
        keep_until: DateTime<Utc>,
    ) -> impl Future<Output = Result<()>> + Send;

    /// The links last seen for the person.
    fn recall_links(&self, okta_user: &OktaUserId) -> impl Future<Output = Result<Vec<RememberedLink>>> + Send;
    /// Keeps the person's links (replacing the earlier ones) for later looks.
    fn remember_links(
        &self,
        okta_user: &OktaUserId,
        links: &[RememberedLink],
        keep_until: DateTime<Utc>,
    ) -> impl Future<Output = Result<()>> + Send;

    /// The System Log sweep's cursor for the AWS app, kept in the same table.
    fn sweep_cursor(&self, app_id: &OktaAppId) -> impl SweepCursor + '_;

    /// Notes that the episode's Okta deprovision (at `okta_time`) was checked and its SCIM call had not come: the
    /// `scim-silent` heartbeat measures from the earliest of these. Noting it again changes nothing.
    fn await_scim(
        &self,
        episode_id: &str,
        okta_time: DateTime<Utc>,
        keep_until: DateTime<Utc>,
    ) -> impl Future<Output = Result<()>> + Send;
    /// The episodes' SCIM calls came (or are no longer awaited): forgets them.
    fn scim_arrived(&self, episode_ids: &[String]) -> impl Future<Output = Result<()>> + Send;
    /// Every deprovision noted as waiting for its SCIM call: (episode id, Okta event time).
    fn awaiting_scim(&self) -> impl Future<Output = Result<Vec<(String, DateTime<Utc>)>>> + Send;
}

/// Where the System Log sweep stopped reading: the `LogPoll::next` of its last run, kept between runs so a run
/// picks up exactly where the previous one ended (and a failed run's slice is read again by the next).
pub trait SweepCursor: Sync {
    /// The stored cursor, or `None` before the first run.
    fn load(&self) -> impl Future<Output = Result<Option<String>>> + Send;
    /// Replaces the stored cursor.
    fn save(&self, cursor: &str) -> impl Future<Output = Result<()>> + Send;
}

/// The activity record identity-center-watch keeps: SCIM writes and sign-ins per Identity Center user.
pub trait ActivityRecord: Sync {
    /// Appends entries; appending the same event again changes nothing (keyed by time and event id).
    fn append(
        &self,
        entries: &[crate::domain::activity_record::RecordEntry],
    ) -> impl Future<Output = Result<()>> + Send;
    /// The entries under `key` from `start` on, oldest first, at most `max_items`; `complete` is false when the
    /// cap cut the read.
    fn since(
        &self,
        key: &crate::domain::activity_record::RecordKey,
        start: DateTime<Utc>,
        max_items: usize,
    ) -> impl Future<Output = Result<ActivityRead>> + Send;
    /// The time of the first event ever appended: the record holds nothing older, so a reader asking about an
    /// earlier time must read CloudTrail. `None`: nothing appended yet. (EventBridge delivers CloudTrail events best
    /// effort: even after this time an event can be missing, so a reader that finds nothing may still look.)
    fn reaches_back_to(&self) -> impl Future<Output = Result<Option<DateTime<Utc>>>> + Send;
    /// Notes that a SCIM call (any `identitystore-scim` event) happened at `at`; the record keeps the latest.
    fn note_scim_call(&self, at: DateTime<Utc>) -> impl Future<Output = Result<()>> + Send;
    /// How far back the record reaches and the latest SCIM call noted, in one read.
    fn scim_heartbeat(&self) -> impl Future<Output = Result<crate::domain::activity_record::ScimHeartbeat>> + Send;
    /// The newest sign-in or role-credentials entry under `key` (SCIM writes skipped), if any: the access review's
    /// last sign-in per user, as far back as the record reaches.
    fn latest_use(
        &self,
        key: &crate::domain::activity_record::RecordKey,
    ) -> impl Future<Output = Result<Option<ActivityEvent>>> + Send;
}

/// No record configured: appends nothing, and a read says it is incomplete (read CloudTrail instead).
impl<R: ActivityRecord> ActivityRecord for Option<R> {
    async fn append(&self, entries: &[crate::domain::activity_record::RecordEntry]) -> Result<()> {
        match self {
            Some(record) => record.append(entries).await,
            None => Ok(()),
        }
    }

    async fn since(
        &self,
        key: &crate::domain::activity_record::RecordKey,
        start: DateTime<Utc>,
        max_items: usize,
    ) -> Result<ActivityRead> {
        match self {
            Some(record) => record.since(key, start, max_items).await,
            None => Ok(ActivityRead::default()),
        }
    }

    async fn reaches_back_to(&self) -> Result<Option<DateTime<Utc>>> {
        match self {
            Some(record) => record.reaches_back_to().await,
            None => Ok(None),
        }
    }

    async fn note_scim_call(&self, at: DateTime<Utc>) -> Result<()> {
        match self {
            Some(record) => record.note_scim_call(at).await,
            None => Ok(()),
        }
    }

    async fn scim_heartbeat(&self) -> Result<crate::domain::activity_record::ScimHeartbeat> {
        match self {
            Some(record) => record.scim_heartbeat().await,
            None => Ok(crate::domain::activity_record::ScimHeartbeat::default()),
        }
    }

    async fn latest_use(&self, key: &crate::domain::activity_record::RecordKey) -> Result<Option<ActivityEvent>> {
        match self {
            Some(record) => record.latest_use(key).await,
            None => Ok(None),
        }
    }
}

/// Which saved review state: the latest run of either kind (the findings' lifecycle), or the latest quarterly
/// run (what a quarterly review's diff is against).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StateSlot {
    Latest,
    Quarterly,
}

/// A sharded review's work between its steps (the plan, the shard list, each shard's result): JSON objects under
/// `inventory/<run_id>/` in `REPORT_BUCKET` (adapter: `aws::S3ReviewState`; keys from `crate::inventory`).
pub trait InventoryWorkStore: Sync {
    /// Writes (or replaces) the object at `key`.
    fn put_work(&self, key: &str, body: Vec<u8>) -> impl Future<Output = Result<()>> + Send;
    /// The object at `key`; `None` when it does not exist.
    fn get_work(&self, key: &str) -> impl Future<Output = Result<Option<Vec<u8>>>> + Send;
}

/// The access review's memory between runs, and its suppression list (adapter: `aws::S3ReviewState`, objects in
/// `REPORT_BUCKET`).
pub trait ReviewStateStore: Sync {
    /// The state a previous run saved in `slot`; `None` before the first run.
    fn load(&self, slot: StateSlot) -> impl Future<Output = Result<Option<crate::domain::review::ReviewState>>> + Send;
    /// Replaces the state in `slot` (borrowed from the run's report: `ReviewReport::state`).
    fn save(
        &self,
        slot: StateSlot,
        state: &crate::domain::review::ReviewStateRef<'_>,
    ) -> impl Future<Output = Result<()>> + Send;
    /// The suppression list; empty when its object does not exist.
    fn suppressions(&self) -> impl Future<Output = Result<crate::domain::review::SuppressionList>> + Send;
}
