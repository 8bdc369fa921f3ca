//! In-memory adapters of the ports (feature `in-memory`): for rule and flow tests, and offline runs such as the demo. Never deployed.

use std::collections::{HashMap, HashSet};
use std::sync::Mutex;

use chrono::{DateTime, Duration, Utc};
use std::sync::atomic::{AtomicUsize, Ordering};

use crate::domain::episode::EpisodeState;
use crate::domain::{
    AccountAssignment, AccountId, ActivityEvent, AppUser, Finding, IdcGroup, IdcGroupId, IdcInstance, IdcSide, IdcUser,
    OktaApp, OktaAppId, OktaGroup, OktaGroupId, OktaLogEvent, OktaSide, OktaUser, OktaUserId, PermissionSet, Principal,
    RememberedLink, VerificationJob,
};
use crate::error::{Error, Result};
use crate::ports::{
    ActivityLog, ActivityQuery, ActivityRead, Directory, IdentityCenter, LogCursor, LogPoll, LogQuery, LookupAttribute,
    Notifier, SweepCursor, UserLookup,
};

/// Okta as a snapshot's Okta side, plus a System Log.
#[derive(Debug, Clone)]
pub struct FakeDirectory {
    pub okta: OktaSide,
    /// In the order Okta stored the events (a polling read follows this order; append to add later events).
    pub log: Vec<OktaLogEvent>,
}

/// The fake's polling pages hold this many events; its cursors are `in-memory-log:<position in log>`.
pub const FAKE_LOG_PAGE: usize = 100;
const FAKE_LOG_CURSOR: &str = "in-memory-log:";

impl Directory for FakeDirectory {
    async fn users(&self) -> Result<Vec<OktaUser>> {
        Ok(self.okta.users.clone())
    }

    async fn user(&self, id_or_login: &str) -> Result<Option<OktaUser>> {
        Ok(self
            .okta
            .users
            .iter()
            .find(|u| u.id.as_str() == id_or_login || u.login.as_str().eq_ignore_ascii_case(id_or_login))
            .cloned())
    }

    async fn groups(&self) -> Result<Vec<OktaGroup>> {
        Ok(self.okta.groups.clone())
    }

    async fn app(&self, app_id: &OktaAppId) -> Result<OktaApp> {
        if &self.okta.app.id == app_id {
            Ok(self.okta.app.clone())
        } else {
            Err(Error::Invalid {
                what: "Okta app id",
                value: app_id.to_string(),
                reason: "no such app in the fake",
            })
        }
    }

    async fn aws_saml_apps(&self) -> Result<Vec<OktaAppId>> {
        Ok(vec![self.okta.app.id.clone()])
    }

    async fn signing_keys(&self, app_id: &OktaAppId) -> Result<crate::domain::certificate::AppSigningKeys> {
        let app = self.app(app_id).await?;
        Ok(crate::domain::certificate::AppSigningKeys {
            app_id: app.id,
            label: app.label,
            keys: app.signing_keys,
        })
    }

    async fn group_push_target(&self, app_id: &OktaAppId, group_id: &OktaGroupId) -> Result<Option<IdcGroupId>> {
        if &self.okta.app.id != app_id {
            return Ok(None);
        }
        Ok(self
            .okta
            .app
            .group_push_mappings
            .iter()
            .find(|m| &m.source_group_id == group_id)
            .and_then(|m| m.target_group_id.clone()))
    }

    async fn app_user(&self, app_id: &OktaAppId, user_id: &OktaUserId) -> Result<Option<AppUser>> {
        if &self.okta.app.id != app_id {
            return Ok(None);
        }
        Ok(self.okta.app.app_users.iter().find(|u| &u.user_id == user_id).cloned())
    }

    async fn user_groups(&self, user_id: &OktaUserId) -> Result<Vec<OktaGroupId>> {
        Ok(self
            .okta
            .groups
            .iter()
            .filter(|g| g.members.contains(user_id))
            .map(|g| g.id.clone())
            .collect())
    }

    async fn group_members(&self, group_id: &OktaGroupId) -> Result<Option<Vec<OktaUserId>>> {
        Ok(self
            .okta
            .groups
            .iter()
            .find(|g| &g.id == group_id)
            .map(|g| g.members.clone()))
    }

    async fn system_log(&self, query: &LogQuery) -> Result<Vec<OktaLogEvent>> {
        Ok(self
            .log
            .iter()
            .filter(|e| e.published >= query.since && e.published < query.until)
            .filter(|e| query.event_types.is_empty() || query.event_types.contains(&e.event_type))
            .cloned()
            .collect())
    }

    async fn poll_system_log(&self, from: &LogCursor, event_types: &[String], max_pages: usize) -> Result<LogPoll> {
        let (mut position, since) = match from {
            LogCursor::Since(since) => (0, Some(*since)),
            LogCursor::Next(cursor) => {
                let position = cursor
                    .strip_prefix(FAKE_LOG_CURSOR)
                    .and_then(|p| p.parse::<usize>().ok())
                    .ok_or_else(|| Error::Invalid {
                        what: "System Log cursor",
                        value: cursor.clone(),
                        reason: "not a cursor of the in-memory directory",
                    })?;
                (position, None)
            }
        };
        let wanted = |e: &OktaLogEvent| {
            (event_types.is_empty() || event_types.contains(&e.event_type)) && since.is_none_or(|s| e.published >= s)
        };
        let mut events = Vec::new();
        let mut complete = false;
        for _ in 0..max_pages.max(1) {
            let mut page = 0;
            for event in self.log.iter().skip(position) {
                if page == FAKE_LOG_PAGE {
                    break;
                }
                position = position.saturating_add(1);
                if wanted(event) {
                    events.push(event.clone());
                    page += 1;
                }
            }
            if page < FAKE_LOG_PAGE {
                complete = true;
                break;
            }
        }
        Ok(LogPoll {
            events,
            next: format!("{FAKE_LOG_CURSOR}{position}"),
            complete,
        })
    }
}

/// Identity Center as a snapshot's IdC side. `fail_next(n)` makes the next n calls fail, as a throttled or
/// broken API would.
#[derive(Debug)]
pub struct FakeIdentityCenter {
    pub idc: Mutex<IdcSide>,
    instance: IdcInstance,
    failures_left: AtomicUsize,
}

impl FakeIdentityCenter {
    pub fn new(idc: IdcSide) -> Self {
        Self {
            instance: idc.instance.clone(),
            idc: Mutex::new(idc),
            failures_left: AtomicUsize::new(0),
        }
    }

    pub fn fail_next(&self, calls: usize) {
        self.failures_left.store(calls, Ordering::SeqCst);
    }

    fn read<T>(&self, operation: &'static str, f: impl FnOnce(&IdcSide) -> T) -> Result<T> {
        let failing = self
            .failures_left
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
            .is_ok();
        if failing {
            return Err(Error::AwsContract {
                service: "identitystore",
                operation,
                problem: "injected failure (FakeIdentityCenter::fail_next)".into(),
            });
        }
        let idc = self.idc.lock().unwrap_or_else(|p| p.into_inner());
        Ok(f(&idc))
    }
}

impl IdentityCenter for FakeIdentityCenter {
    fn instance(&self) -> &IdcInstance {
        &self.instance
    }

    async fn users(&self) -> Result<Vec<IdcUser>> {
        self.read("ListUsers", |idc| idc.users.clone())
    }

    async fn groups(&self) -> Result<Vec<IdcGroup>> {
        self.read("ListGroups", |idc| idc.groups.clone())
    }

    async fn permission_sets(&self) -> Result<Vec<PermissionSet>> {
        self.read("ListPermissionSets", |idc| idc.permission_sets.clone())
    }

    async fn accounts(&self) -> Result<Vec<AccountId>> {
        self.read("ListAccounts", |idc| idc.accounts.clone())
    }

    async fn assignments(&self, accounts: &[AccountId]) -> Result<Vec<AccountAssignment>> {
        self.read("ListAccountAssignments", |idc| {
            idc.assignments
                .iter()
                .filter(|a| accounts.contains(&a.account_id))
                .cloned()
                .collect()
        })
    }

    async fn find_user(&self, lookup: &UserLookup) -> Result<Option<IdcUser>> {
        self.read("GetUserId", |idc| {
            idc.users
                .iter()
                .find(|u| match lookup {
                    UserLookup::UserId(id) => &u.id == id,
                    UserLookup::UserName(name) => u.user_name.eq_ignore_ascii_case(name),
                    UserLookup::Email(email) => u.emails.iter().any(|e| e.eq_ignore_ascii_case(email)),
                    UserLookup::ExternalId { issuer, id } => {
                        u.external_ids.iter().any(|x| &x.issuer == issuer && &x.id == id)
                    }
                })
                .cloned()
        })
    }

    async fn groups_of(&self, user: &IdcUser) -> Result<Vec<IdcGroupId>> {
        self.read("ListGroupMembershipsForMember", |idc| {
            idc.groups
                .iter()
                .filter(|g| g.members.contains(&user.id))
                .map(|g| g.id.clone())
                .collect()
        })
    }

    async fn assignments_for(&self, principals: &[Principal]) -> Result<Vec<AccountAssignment>> {
        self.read("ListAccountAssignments", |idc| {
            idc.assignments
                .iter()
                .filter(|a| principals.contains(&a.principal))
                .cloned()
                .collect()
        })
    }
}

/// CloudTrail history held in memory, filtered as LookupEvents filters.
#[derive(Debug, Default)]
pub struct FakeActivityLog {
    pub events: Mutex<Vec<ActivityEvent>>,
}

impl FakeActivityLog {
    pub fn new(events: Vec<ActivityEvent>) -> Self {
        Self {
            events: Mutex::new(events),
        }
    }

    pub fn push(&self, event: ActivityEvent) {
        self.events.lock().unwrap_or_else(|p| p.into_inner()).push(event);
    }
}

impl ActivityLog for FakeActivityLog {
    async fn lookup(&self, query: &ActivityQuery) -> Result<ActivityRead> {
        let events = self.events.lock().unwrap_or_else(|p| p.into_inner());
        let mut found: Vec<ActivityEvent> = events
            .iter()
            .filter(|e| e.event_time >= query.start && e.event_time <= query.end)
            .filter(|e| match &query.attribute {
                LookupAttribute::EventSource(s) => &e.event_source == s,
                LookupAttribute::EventName(n) => &e.event_name == n,
                LookupAttribute::Username(n) => e.actor_user_name.as_deref() == Some(n.as_str()),
                LookupAttribute::ResourceName(r) => e.target_user_id.as_ref().is_some_and(|id| id.as_str() == r),
            })
            .cloned()
            .collect();
        found.sort_by_key(|e| e.event_time);
        Ok(ActivityRead {
            events: found,
            complete: true,
        })
    }
}

/// Keeps what it was asked to publish.
#[derive(Debug, Default)]
pub struct RecordingNotifier {
    pub published: Mutex<Vec<Finding>>,
}

impl RecordingNotifier {
    pub fn findings(&self) -> Vec<Finding> {
        self.published.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }
}

impl Notifier for RecordingNotifier {
    async fn publish(&self, findings: &[Finding]) -> Result<()> {
        self.published
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .extend_from_slice(findings);
        Ok(())
    }
}

/// Keeps the EMF lines it is given, in order.
#[derive(Debug, Default)]
pub struct RecordingMetrics {
    lines: Mutex<Vec<String>>,
}

impl RecordingMetrics {
    pub fn lines(&self) -> Vec<String> {
        self.lines.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }
}

impl crate::metrics::MetricSink for RecordingMetrics {
    fn emit(&self, line: &str) {
        self.lines
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(line.to_owned());
    }
}

/// A job queue that keeps what it accepts; `refuse(true)` makes it fail like an unavailable queue.
#[derive(Debug, Default)]
pub struct RecordingJobQueue {
    pub accepted: Mutex<Vec<crate::ports::ScheduledJob>>,
    refusing: std::sync::atomic::AtomicBool,
}

impl RecordingJobQueue {
    pub fn refuse(&self, refuse: bool) {
        self.refusing.store(refuse, Ordering::SeqCst);
    }

    pub fn jobs(&self) -> Vec<crate::ports::ScheduledJob> {
        self.accepted.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }
}

impl crate::ports::JobQueue for RecordingJobQueue {
    async fn enqueue(&self, jobs: &[crate::ports::ScheduledJob]) -> Result<()> {
        if self.refusing.load(Ordering::SeqCst) {
            return Err(Error::NotDelivered {
                finding_ids: jobs.iter().map(|j| j.job.key()).collect(),
                reason: "RecordingJobQueue is refusing".into(),
            });
        }
        self.accepted
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .extend_from_slice(jobs);
        Ok(())
    }
}

/// The checker's ledger in memory, with the DynamoDB adapter's semantics (claims with owners and leases,
/// episodes with one chain, reported events, remembered links).
#[derive(Debug, Default)]
pub struct InMemoryVerdictLedger {
    claims: Mutex<HashMap<String, Claim>>,
    episodes: Mutex<HashMap<String, EpisodeState>>,
    chains: Mutex<HashMap<String, ChainHold>>,
    reported: Mutex<HashMap<String, HashSet<String>>>,
    links: Mutex<HashMap<String, Vec<RememberedLink>>>,
    reach: Mutex<HashMap<String, crate::domain::activity::Reach>>,
    awaiting_scim: Mutex<HashMap<String, DateTime<Utc>>>,
    pub sweep_cursor: InMemorySweepCursor,
}

/// Who holds an episode's chain, at which step, since when.
#[derive(Debug, Clone)]
struct ChainHold {
    owner: String,
    beat: DateTime<Utc>,
    step: u32,
}

#[derive(Debug, Clone)]
struct Claim {
    owner: String,
    published: bool,
    lease_until: DateTime<Utc>,
}

fn locked<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|p| p.into_inner())
}

impl crate::ports::VerdictLedger for InMemoryVerdictLedger {
    async fn claim(
        &self,
        key: &str,
        owner: &str,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
        _keep_until: DateTime<Utc>,
    ) -> Result<bool> {
        let mut claims = locked(&self.claims);
        let free = match claims.get(key) {
            None => true,
            Some(claim) => !claim.published && (claim.owner == owner || claim.lease_until < now),
        };
        if free {
            let claim = Claim {
                owner: owner.to_owned(),
                published: false,
                lease_until,
            };
            claims.insert(key.to_owned(), claim);
        }
        Ok(free)
    }

    async fn complete(&self, key: &str, owner: &str) -> Result<()> {
        match locked(&self.claims).get_mut(key) {
            Some(claim) if claim.owner == owner => {
                claim.published = true;
                Ok(())
            }
            _ => Err(Error::ClaimLost { key: key.to_owned() }),
        }
    }

    async fn release(&self, key: &str, owner: &str) -> Result<()> {
        let mut claims = locked(&self.claims);
        if claims.get(key).is_some_and(|c| c.owner == owner && !c.published) {
            claims.remove(key);
        }
        Ok(())
    }

    async fn is_published(&self, key: &str) -> Result<bool> {
        Ok(locked(&self.claims).get(key).is_some_and(|c| c.published))
    }

    async fn place_in_episode(
        &self,
        episode_key: &str,
        job: &VerificationJob,
        window: Duration,
        _keep_until: DateTime<Utc>,
    ) -> Result<EpisodeState> {
        let mut episodes = locked(&self.episodes);
        let next = EpisodeState::admit(episodes.get(episode_key), job, window);
        episodes.insert(episode_key.to_owned(), next.clone());
        Ok(next)
    }

    async fn hold_chain(
        &self,
        episode_id: &str,
        owner: &str,
        step: u32,
        now: DateTime<Utc>,
        stale_before: DateTime<Utc>,
    ) -> Result<bool> {
        let mut chains = locked(&self.chains);
        let free = match chains.get(episode_id) {
            None => true,
            Some(hold) => (hold.owner == owner && hold.step == step) || hold.beat < stale_before,
        };
        if free {
            let hold = ChainHold {
                owner: owner.to_owned(),
                beat: now,
                step: step.saturating_add(1),
            };
            chains.insert(episode_id.to_owned(), hold);
        }
        Ok(free)
    }

    async fn let_chain_go(&self, episode_id: &str, owner: &str) -> Result<()> {
        let mut chains = locked(&self.chains);
        if chains.get(episode_id).is_some_and(|hold| hold.owner == owner) {
            chains.remove(episode_id);
        }
        Ok(())
    }

    async fn close_episode(&self, episode_key: &str, episode_id: &str, now: DateTime<Utc>) -> Result<()> {
        if let Some(episode) = locked(&self.episodes).get_mut(episode_key)
            && episode.episode_id == episode_id
        {
            episode.closed_at.get_or_insert(now);
        }
        locked(&self.chains).remove(episode_id);
        Ok(())
    }

    async fn recorded_reach(&self, episode_id: &str) -> Result<Option<crate::domain::activity::Reach>> {
        Ok(locked(&self.reach).get(episode_id).cloned())
    }

    async fn record_reach(
        &self,
        episode_id: &str,
        reach: &crate::domain::activity::Reach,
        _keep_until: DateTime<Utc>,
    ) -> Result<crate::domain::activity::Reach> {
        let mut all = locked(&self.reach);
        let merged = all.remove(episode_id).unwrap_or_default().merged(reach);
        all.insert(episode_id.to_owned(), merged.clone());
        Ok(merged)
    }

    async fn reported_events(&self, episode_id: &str) -> Result<HashSet<String>> {
        Ok(locked(&self.reported).get(episode_id).cloned().unwrap_or_default())
    }

    async fn mark_reported(&self, episode_id: &str, event_ids: &[String], _keep_until: DateTime<Utc>) -> Result<()> {
        locked(&self.reported)
            .entry(episode_id.to_owned())
            .or_default()
            .extend(event_ids.iter().cloned());
        Ok(())
    }

    fn sweep_cursor(&self, _app_id: &OktaAppId) -> impl SweepCursor + '_ {
        &self.sweep_cursor
    }

    async fn await_scim(&self, episode_id: &str, okta_time: DateTime<Utc>, _keep_until: DateTime<Utc>) -> Result<()> {
        locked(&self.awaiting_scim).insert(episode_id.to_owned(), okta_time);
        Ok(())
    }

    async fn scim_arrived(&self, episode_ids: &[String]) -> Result<()> {
        let mut awaiting = locked(&self.awaiting_scim);
        for id in episode_ids {
            awaiting.remove(id);
        }
        Ok(())
    }

    async fn awaiting_scim(&self) -> Result<Vec<(String, DateTime<Utc>)>> {
        let mut awaiting: Vec<(String, DateTime<Utc>)> = locked(&self.awaiting_scim)
            .iter()
            .map(|(k, v)| (k.clone(), *v))
            .collect();
        awaiting.sort_by(|a, b| a.1.cmp(&b.1).then_with(|| a.0.cmp(&b.0)));
        Ok(awaiting)
    }

    async fn recall_links(&self, okta_user: &OktaUserId) -> Result<Vec<RememberedLink>> {
        Ok(locked(&self.links).get(okta_user.as_str()).cloned().unwrap_or_default())
    }

    async fn remember_links(
        &self,
        okta_user: &OktaUserId,
        links: &[RememberedLink],
        _keep_until: DateTime<Utc>,
    ) -> Result<()> {
        locked(&self.links).insert(okta_user.to_string(), links.to_vec());
        Ok(())
    }
}

/// A sweep cursor in memory; counts its saves.
#[derive(Debug, Default)]
pub struct InMemorySweepCursor {
    cursor: Mutex<Option<String>>,
    saves: AtomicUsize,
}

impl InMemorySweepCursor {
    pub fn stored(&self) -> Option<String> {
        self.cursor.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    pub fn saves(&self) -> usize {
        self.saves.load(Ordering::SeqCst)
    }
}

impl SweepCursor for &InMemorySweepCursor {
    async fn load(&self) -> Result<Option<String>> {
        (**self).load().await
    }

    async fn save(&self, cursor: &str) -> Result<()> {
        (**self).save(cursor).await
    }
}

impl SweepCursor for InMemorySweepCursor {
    async fn load(&self) -> Result<Option<String>> {
        Ok(self.stored())
    }

    async fn save(&self, cursor: &str) -> Result<()> {
        *self.cursor.lock().unwrap_or_else(|p| p.into_inner()) = Some(cursor.to_owned());
        self.saves.fetch_add(1, Ordering::SeqCst);
        Ok(())
    }
}

/// An org-wide activity source in memory: seeded events, a settable delivery lag (`caught_up_to`), and every
/// query kept, for checker tests. Answers like an adapter restricted to the query: events by the people asked
/// about, in the accounts asked about (portal calls, logged in the Identity Center account, always), between
/// `start` and `end`, and nothing the source has not caught up to.
#[derive(Debug, Default)]
pub struct FakeOrgActivity {
    events: Mutex<Vec<ActivityEvent>>,
    /// `None`: caught up to the end of every query.
    caught_up_to: Mutex<Option<DateTime<Utc>>>,
    queries: Mutex<Vec<crate::ports::UseQuery>>,
    /// Reads stop short (a page cap, the budget): `complete: false`.
    cut_short: Mutex<bool>,
}

impl FakeOrgActivity {
    /// Every read from now on stops short (`true`) or reads to the end (`false`).
    pub fn cut_short(&self, yes: bool) {
        *locked(&self.cut_short) = yes;
    }

    pub fn new(events: Vec<ActivityEvent>) -> Self {
        Self {
            events: Mutex::new(events),
            ..Self::default()
        }
    }

    pub fn push(&self, event: ActivityEvent) {
        locked(&self.events).push(event);
    }

    /// The source holds events up to `at` only (`None`: up to the end of every query).
    pub fn lag_until(&self, at: Option<DateTime<Utc>>) {
        *locked(&self.caught_up_to) = at;
    }

    pub fn calls(&self) -> usize {
        locked(&self.queries).len()
    }

    pub fn queries(&self) -> Vec<crate::ports::UseQuery> {
        locked(&self.queries).clone()
    }
}

impl crate::ports::OrgActivity for FakeOrgActivity {
    fn source(&self) -> &'static str {
        "fake"
    }

    async fn use_of_aws(&self, query: &crate::ports::UseQuery) -> Result<crate::ports::UseRead> {
        locked(&self.queries).push(query.clone());
        let caught_up_to = locked(&self.caught_up_to).map_or(query.end, |at| at.min(query.end));
        let in_reach = |e: &ActivityEvent| {
            e.event_source == crate::collect::PORTAL_EVENT_SOURCE
                || e.account_id
                    .as_deref()
                    .is_some_and(|account| query.reach.accounts.iter().any(|a| a.as_str() == account))
        };
        let mut events: Vec<ActivityEvent> = locked(&self.events)
            .iter()
            .filter(|e| e.event_time >= query.start && e.event_time <= caught_up_to)
            .filter(|e| query.reach.names(e) && in_reach(e))
            .cloned()
            .collect();
        events.sort_by_key(|e| e.event_time);
        Ok(crate::ports::UseRead {
            events,
            complete: !*locked(&self.cut_short),
            caught_up_to,
            unread_accounts: Vec::new(),
        })
    }
}

/// Permission sets' inline policies and provisioning, as sso-admin keeps them: an edit leaves the set's accounts
/// stale until it is re-provisioned. Counts the writes, so tests can say a second run changed nothing.
#[derive(Debug, Default)]
pub struct FakePermissionSetEditor {
    state: Mutex<FakeEditorState>,
}

#[derive(Debug, Default)]
struct FakeEditorState {
    policies: HashMap<crate::domain::PermissionSetArn, String>,
    provisioned: HashMap<crate::domain::PermissionSetArn, crate::ports::Provisioned>,
    puts: usize,
    provisions: usize,
}

impl FakePermissionSetEditor {
    /// A set with this inline policy (`None`: without one), provisioned to `accounts`.
    pub fn with_set(self, set: crate::domain::PermissionSetArn, policy: Option<&str>, accounts: &[AccountId]) -> Self {
        {
            let mut state = locked(&self.state);
            if let Some(policy) = policy {
                state.policies.insert(set.clone(), policy.to_owned());
            }
            state.provisioned.insert(
                set,
                crate::ports::Provisioned {
                    accounts: accounts.to_vec(),
                    stale: Vec::new(),
                },
            );
        }
        self
    }

    pub fn policy(&self, set: &crate::domain::PermissionSetArn) -> Option<String> {
        locked(&self.state).policies.get(set).cloned()
    }

    /// (inline policies put, re-provisionings made)
    pub fn writes(&self) -> (usize, usize) {
        let state = locked(&self.state);
        (state.puts, state.provisions)
    }
}

impl crate::ports::PermissionSetEditor for FakePermissionSetEditor {
    async fn inline_policy(&self, set: &crate::domain::PermissionSetArn) -> Result<Option<String>> {
        Ok(self.policy(set))
    }

    async fn put_inline_policy(&self, set: &crate::domain::PermissionSetArn, policy: &str) -> Result<()> {
        let mut state = locked(&self.state);
        state.puts = state.puts.saturating_add(1);
        state.policies.insert(set.clone(), policy.to_owned());
        let provisioned = state.provisioned.entry(set.clone()).or_default();
        provisioned.stale = provisioned.accounts.clone();
        Ok(())
    }

    async fn provisioned(&self, set: &crate::domain::PermissionSetArn) -> Result<crate::ports::Provisioned> {
        Ok(locked(&self.state).provisioned.get(set).cloned().unwrap_or_default())
    }

    async fn provision(
        &self,
        set: &crate::domain::PermissionSetArn,
        _wait: crate::ports::ProvisionWait,
    ) -> Result<crate::ports::ProvisionStatus> {
        let mut state = locked(&self.state);
        state.provisions = state.provisions.saturating_add(1);
        if let Some(provisioned) = state.provisioned.get_mut(set) {
            provisioned.stale.clear();
        }
        Ok(crate::ports::ProvisionStatus::Succeeded)
    }
}
