//! In-memory adapters of the ports (feature `in-memory`): for rule and flow tests, and offline runs such as the demo. Never deployed.

use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use crate::domain::{
    AccountAssignment, AccountId, ActivityEvent, Finding, IdcGroup, IdcGroupId, IdcInstance, IdcSide, IdcUser, OktaApp,
    OktaAppId, OktaGroup, OktaGroupId, OktaLogEvent, OktaSide, OktaUser, PermissionSet, Principal,
};
use crate::error::{Error, Result};
use crate::ports::{
    ActivityLog, ActivityQuery, Directory, IdentityCenter, LogQuery, LookupAttribute, Notifier, UserLookup,
};

/// Okta as a snapshot's Okta side, plus a System Log.
#[derive(Debug, Clone)]
pub struct FakeDirectory {
    pub okta: OktaSide,
    pub log: Vec<OktaLogEvent>,
}

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

    async fn system_log(&self, query: &LogQuery) -> Result<Vec<OktaLogEvent>> {
        Ok(self
            .log
            .iter()
            .filter(|e| e.published >= query.since && e.published < query.until)
            .filter(|e| query.event_types.is_empty() || query.event_types.contains(&e.event_type))
            .cloned()
            .collect())
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

    async fn assignments_of(&self, principal: &Principal) -> Result<Vec<AccountAssignment>> {
        self.read("ListAccountAssignmentsForPrincipal", |idc| {
            idc.assignments
                .iter()
                .filter(|a| &a.principal == principal)
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
    async fn lookup(&self, query: &ActivityQuery) -> Result<Vec<ActivityEvent>> {
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
        Ok(found)
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

/// A verdict ledger in memory: key → (published, lease end).
#[derive(Debug, Default)]
pub struct InMemoryVerdictLedger {
    keys: Mutex<std::collections::HashMap<String, (bool, chrono::DateTime<chrono::Utc>)>>,
}

impl crate::ports::VerdictLedger for InMemoryVerdictLedger {
    async fn claim(
        &self,
        key: &str,
        now: chrono::DateTime<chrono::Utc>,
        lease_until: chrono::DateTime<chrono::Utc>,
        _keep_until: chrono::DateTime<chrono::Utc>,
    ) -> Result<bool> {
        let mut keys = self.keys.lock().unwrap_or_else(|p| p.into_inner());
        let free = match keys.get(key) {
            None => true,
            Some((published, lease)) => !published && *lease < now,
        };
        if free {
            keys.insert(key.to_owned(), (false, lease_until));
        }
        Ok(free)
    }

    async fn complete(&self, key: &str) -> Result<()> {
        if let Some(entry) = self.keys.lock().unwrap_or_else(|p| p.into_inner()).get_mut(key) {
            entry.0 = true;
        }
        Ok(())
    }

    async fn release(&self, key: &str) -> Result<()> {
        self.keys.lock().unwrap_or_else(|p| p.into_inner()).remove(key);
        Ok(())
    }
}
