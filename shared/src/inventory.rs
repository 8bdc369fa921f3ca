//! The org-wide inventory, with the fewest calls, sharded by sso-admin calls.
//!
//! Identity Center's assignments are read per permission set: ListPermissionSets (+ DescribePermissionSet each),
//! then per set ListAccountsForProvisionedPermissionSet, then per provisioned (set, account) pair
//! ListAccountAssignments — fewer calls than per account, since most sets are provisioned to few accounts. The
//! pairs grow with accounts × sets and are what can outlast one Lambda (5,000 accounts × 50 sets at 20 TPS is
//! ~21 min), so the plan reads every set's provisioned accounts and packs the pairs into shards of at most a call
//! budget (`ShardBudget`: the sso-admin rate × a time budget well inside Lambda's 15 minutes):
//!
//! ```text
//! plan(identity_center, budget)    → InventoryPlan { permission_sets, provisioned, shards }
//!                                    (sso-admin: 1 + sets + sets' account pages)
//! collect_shard(identity_center,s) → ShardResult (serialisable: the function writes it to S3)
//!                                    (sso-admin: one ListAccountAssignments per pair of the shard)
//! collect_base(directory, …)       → InventoryBase (users, groups, memberships, accounts; Okta; activity)
//! merge(plan, base, shard results) → OrgSnapshot (every shard present exactly once, or an error)
//! ```
//!
//! The base grows with users and groups, not accounts × sets, and runs beside the shards (other API families).
//! `collect_snapshot` runs all of it in one process — the CLI, the tests and a small org's Lambda run — with the
//! same functions the Step Functions Distributed Map runs one shard per invocation of.

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

use crate::domain::activity::{SCIM_EVENT_SOURCE, SESSION_EVENT_NAMES};
use crate::domain::deprovision::watched_event_types;
use crate::domain::{
    AccountAssignment, AccountId, ActivityEvent, IdcGroup, IdcInstance, IdcSide, IdcUser, LinkPolicy, OktaAppId,
    OktaSide, OrgSnapshot, PermissionSet, Provisioning, SNAPSHOT_SCHEMA_VERSION,
};
use crate::error::{Error, Result};
use crate::ports::{ActivityLog, ActivityQuery, ActivityRead, Directory, IdentityCenter, LogQuery, LookupAttribute};

pub use crate::domain::activity::PORTAL_EVENT_SOURCE;

/// Seconds of sso-admin calls one shard is planned for when the caller does not say: 10 of Lambda's 15 minutes,
/// leaving 5 for what the estimate cannot see (a pair with over 100 assignments pages; throttling retries; the
/// shard's S3 write). At the documented 20 TPS: 12,000 pairs a shard.
pub const DEFAULT_SHARD_SECONDS: u64 = 600;

/// The most seconds a shard may be planned for: Lambda's 900-second timeout less a minute.
pub const MAX_SHARD_SECONDS: u64 = 840;
const _: () = assert!(
    MAX_SHARD_SECONDS < 900,
    "a shard's budget leaves room in Lambda's 900 s"
);

/// Estimated bytes of a shard's JSON at most: each shard is a Distributed Map item, and an item (with the
/// ItemSelector's `mode` and `run_id`) is a child execution's input, limited to 256 KiB (UNVERIFIED: Step
/// Functions' documented payload quota). 200 KiB leaves the envelope room.
pub const MAX_SHARD_BYTES: usize = 200 * 1024;

/// An account id in a shard's JSON: 12 digits, quotes and a comma.
const ACCOUNT_BYTES: usize = 15;

/// A work item's JSON besides its ARN and accounts (`{"permission_set_arn":"","accounts":[]},`, with room).
const WORK_ITEM_BYTES: usize = 64;

/// A shard's JSON besides its work items (`{"index":…,"of":…,"work":[]}`, with room).
const SHARD_BYTES: usize = 64;

/// How much one shard may hold: its estimated sso-admin calls (one ListAccountAssignments per (set, account)
/// pair) and its estimated JSON size.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ShardBudget {
    pub calls: usize,
    pub bytes: usize,
}

impl ShardBudget {
    /// `seconds` of calls at `per_second` (the configured sso-admin rate: the shards run one after another, each
    /// using the account's whole quota), at least one call; `MAX_SHARD_BYTES`. Pure.
    pub fn at_rate(per_second: f64, seconds: u64) -> Self {
        let calls = (per_second.max(0.0) * seconds as f64).floor();
        Self {
            // `as` saturates (and NaN is 0): an absurd rate gives a huge or a one-call budget, never a panic.
            calls: (calls as usize).max(1),
            bytes: MAX_SHARD_BYTES,
        }
    }

    /// `DEFAULT_SHARD_SECONDS` at the documented sso-admin rate.
    pub fn documented() -> Self {
        Self::at_rate(
            crate::rate_limit::ApiFamily::SsoAdmin.documented_per_second(),
            DEFAULT_SHARD_SECONDS,
        )
    }

    /// As many as `calls` calls, of any size: the one-process run's and the tests' budget.
    pub fn calls(calls: usize) -> Self {
        Self {
            calls: calls.max(1),
            bytes: usize::MAX,
        }
    }
}

#[derive(Debug, Clone)]
pub struct CollectOptions {
    pub org_url: String,
    pub app_id: OktaAppId,
    /// How Okta people are linked to Identity Center users.
    pub links: LinkPolicy,
    /// How far back to read CloudTrail activity (LookupEvents keeps 90 days).
    pub activity_window: Duration,
}

/// One shard of the inventory, `index` of `of` shards: work items, each a permission set and some of the
/// accounts it is provisioned to (a set provisioned to more accounts than one budget spans shards).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Shard {
    pub index: usize,
    pub of: usize,
    pub work: Vec<Provisioning>,
}

impl Shard {
    /// The sso-admin calls the shard is planned for: one ListAccountAssignments per (set, account) pair.
    pub fn estimated_calls(&self) -> usize {
        self.work.iter().map(|w| w.accounts.len()).sum()
    }
}

/// What the plan step hands on: every permission set (described once), the accounts each is provisioned to (read
/// once, here) and the shards over those (set, account) pairs. The shards are the Distributed Map's items.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InventoryPlan {
    pub permission_sets: Vec<PermissionSet>,
    pub provisioned: Vec<Provisioning>,
    pub shards: Vec<Shard>,
}

/// One shard's result: the assignments on its pairs, in its work items' order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShardResult {
    pub shard: Shard,
    pub assignments: Vec<AccountAssignment>,
}

/// Everything but the per-permission-set part: both directories' people and groups, the organization's accounts,
/// and the activity of the window.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InventoryBase {
    pub collected_at: DateTime<Utc>,
    pub instance: IdcInstance,
    pub okta: OktaSide,
    pub idc_users: Vec<IdcUser>,
    pub idc_groups: Vec<IdcGroup>,
    pub accounts: Vec<AccountId>,
    pub activity: Vec<ActivityEvent>,
    /// From when the activity is whole: the window's start, or, when a read stopped at its cap, the latest of the
    /// capped reads' earliest events (`activity_reaches_back_to`).
    pub activity_since: DateTime<Utc>,
    /// `false`: a CloudTrail read stopped at its page or time cap.
    #[serde(default = "read_whole")]
    pub activity_complete: bool,
    /// The activity record's latest use per user (`None`: no record).
    #[serde(default)]
    pub recorded_uses: Option<crate::domain::activity_record::RecordedUses>,
}

/// What the state machine (`statemachine/access-review.asl.json`) asks the access-review function to do, by the
/// payload's `mode`. The function keeps the plan and the results in the report bucket under `work_prefix`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "mode", rename_all = "snake_case")]
pub enum InventoryStep {
    /// `plan`, then write `InventoryPlan` to `plan_key` and its shards (a JSON array, the Distributed Map's
    /// ItemReader) to `shards_key`; answer `{"run_id", "shards_key"}`.
    Plan { run_id: String, kind: String },
    /// `collect_shard`, then write the `ShardResult` to `shard_key`; answer `{"result_key"}`.
    Shard { run_id: String, shard: Shard },
    /// `collect_base`, read the plan and every shard result, `merge`, then judge and report as a one-process run.
    Merge { run_id: String, kind: String },
}

/// Where a run's inventory work lives in the report bucket.
pub fn work_prefix(run_id: &str) -> String {
    format!("inventory/{run_id}/")
}

pub fn plan_key(run_id: &str) -> String {
    format!("{}plan.json", work_prefix(run_id))
}

pub fn shards_key(run_id: &str) -> String {
    format!("{}shards.json", work_prefix(run_id))
}

pub fn shard_key(run_id: &str, index: usize) -> String {
    format!("{}shard-{index:05}.json", work_prefix(run_id))
}

/// A work item's estimated JSON bytes.
fn work_bytes(arn_len: usize, accounts: usize) -> usize {
    WORK_ITEM_BYTES
        .saturating_add(arn_len)
        .saturating_add(accounts.saturating_mul(ACCOUNT_BYTES))
}

/// Packs every provisioned (set, account) pair, in the plan's order (sets as listed, each set's accounts as read),
/// into as few shards as `budget` allows: a shard is filled to its call or byte budget, then the next starts, so
/// several small sets share a shard and a set larger than the room left continues in the next (every shard holds
/// at least one pair, whatever the budget). No pairs: one empty shard, so a run always has a shard to merge.
/// Deterministic. Pure.
pub fn plan_shards(
    permission_sets: Vec<PermissionSet>,
    provisioned: Vec<Provisioning>,
    budget: ShardBudget,
) -> InventoryPlan {
    let mut packed: Vec<Vec<Provisioning>> = Vec::new();
    let mut current: Vec<Provisioning> = Vec::new();
    let (mut calls, mut bytes) = (0usize, SHARD_BYTES);
    for set in &provisioned {
        let arn_len = set.permission_set_arn.as_str().len();
        let mut rest: &[AccountId] = &set.accounts;
        while !rest.is_empty() {
            let room_calls = budget.calls.saturating_sub(calls);
            let room_bytes = budget
                .bytes
                .saturating_sub(bytes)
                .saturating_sub(work_bytes(arn_len, 0))
                / ACCOUNT_BYTES;
            let mut take = rest.len().min(room_calls).min(room_bytes);
            if take == 0 {
                if !current.is_empty() {
                    packed.push(std::mem::take(&mut current));
                    (calls, bytes) = (0, SHARD_BYTES);
                    continue;
                }
                take = 1; // a budget below one pair still makes progress
            }
            let (here, later) = rest.split_at(take);
            current.push(Provisioning {
                permission_set_arn: set.permission_set_arn.clone(),
                accounts: here.to_vec(),
            });
            calls = calls.saturating_add(take);
            bytes = bytes.saturating_add(work_bytes(arn_len, take));
            rest = later;
        }
    }
    if !current.is_empty() || packed.is_empty() {
        packed.push(current);
    }
    let of = packed.len();
    InventoryPlan {
        permission_sets,
        provisioned,
        shards: packed
            .into_iter()
            .enumerate()
            .map(|(index, work)| Shard { index, of, work })
            .collect(),
    }
}

/// Reads and describes every permission set and the accounts each is provisioned to, then packs the shards.
pub async fn plan(identity_center: &impl IdentityCenter, budget: ShardBudget) -> Result<InventoryPlan> {
    let sets = identity_center.permission_sets().await?;
    let arns: Vec<_> = sets.iter().map(|s| s.arn.clone()).collect();
    let provisioned = identity_center.provisioned_accounts(&arns).await?;
    let plan = plan_shards(sets, provisioned, budget);
    tracing::info!(
        permission_sets = plan.permission_sets.len(),
        provisioned_pairs = plan.provisioned.iter().map(|p| p.accounts.len()).sum::<usize>(),
        shards = plan.shards.len(),
        budget_calls = budget.calls,
        "inventory planned"
    );
    Ok(plan)
}

/// One shard: the assignments on its (set, account) pairs, the work items side by side (the gate bounds the
/// calls in flight).
pub async fn collect_shard(identity_center: &impl IdentityCenter, shard: &Shard) -> Result<ShardResult> {
    let read = futures_util::future::try_join_all(
        shard
            .work
            .iter()
            .map(|w| identity_center.assignments_of_set(&w.permission_set_arn, &w.accounts)),
    )
    .await?;
    let assignments: Vec<AccountAssignment> = read.into_iter().flatten().collect();
    tracing::info!(
        shard = shard.index,
        of = shard.of,
        provisioned_pairs = shard.estimated_calls(),
        assignments = assignments.len(),
        "inventory shard read"
    );
    Ok(ShardResult {
        shard: shard.clone(),
        assignments,
    })
}

/// Okta (users, the app's users, push mappings and keys, the groups the app uses with their members, the
/// window's deprovisions), the identity store (users with UserStatus, groups with members), the organization's
/// accounts, and the window's portal and SCIM calls — the four families side by side.
pub async fn collect_base(
    directory: &impl Directory,
    identity_center: &impl IdentityCenter,
    activity_log: &impl ActivityLog,
    options: &CollectOptions,
    now: DateTime<Utc>,
) -> Result<InventoryBase> {
    let (okta, (idc_users, idc_groups, accounts), (activity, activity_since, activity_complete)) = tokio::try_join!(
        collect_okta(directory, options, now),
        async {
            tokio::try_join!(
                identity_center.users(),
                identity_center.groups(),
                identity_center.accounts()
            )
        },
        collect_activity(activity_log, options, now),
    )?;
    // Sign-ins older than CloudTrail's 90 days, from the record (its keyed reads need the user list first).
    let recorded_uses = activity_log.recorded_last_uses(&idc_users).await?;
    Ok(InventoryBase {
        collected_at: now,
        instance: identity_center.instance().clone(),
        okta,
        idc_users,
        idc_groups,
        accounts,
        activity,
        activity_since,
        activity_complete,
        recorded_uses,
    })
}

async fn collect_okta(directory: &impl Directory, options: &CollectOptions, now: DateTime<Utc>) -> Result<OktaSide> {
    let log = LogQuery {
        since: now - options.activity_window,
        until: now,
        event_types: watched_event_types(),
    };
    let (users, (app, groups), deprovisions) = tokio::try_join!(
        directory.users(),
        directory.app_and_groups(&options.app_id),
        directory.system_log(&log)
    )?;
    Ok(OktaSide {
        org_url: options.org_url.clone(),
        users,
        groups,
        app,
        deprovisions,
    })
}

fn read_whole() -> bool {
    true
}

/// How long each of the review's CloudTrail reads may take (throttling included) before it stops and says so: at
/// LookupEvents' 2 calls a second its 100 pages take under a minute, so this is room for retries, well inside a
/// Lambda's 15 minutes.
pub const ACTIVITY_READ_BUDGET: std::time::Duration = std::time::Duration::from_secs(300);

/// From when a read of `[start, end]` is whole. LookupEvents answers newest first, so a read that stopped at its
/// cap holds the newest events: it reaches back to its earliest event read (nothing read: to `end`, it saw
/// nothing), never to the window's start. Pure.
pub fn activity_reaches_back_to(read: &ActivityRead, start: DateTime<Utc>, end: DateTime<Utc>) -> DateTime<Utc> {
    if read.complete {
        return start;
    }
    read.events
        .iter()
        .map(|e| e.event_time)
        .min()
        .unwrap_or(end)
        .clamp(start, end)
}

/// A few CloudTrail queries over the whole window, filtered in memory: the portal's session calls by event name
/// (`Federate`, `GetRoleCredentials` — never by the portal's event source, which every sso-admin call shares: the
/// review's own inventory calls would fill the page cap and hide the sign-ins) and SCIM by its event source
/// (Okta's provisioning calls, for propagation latency). No call per past leaver: whose activity matters is
/// decided by the rules, over these events. Each read is bounded in pages and time; the answer says from when the
/// activity is whole, and whether every read was.
async fn collect_activity(
    activity_log: &impl ActivityLog,
    options: &CollectOptions,
    now: DateTime<Utc>,
) -> Result<(Vec<ActivityEvent>, DateTime<Utc>, bool)> {
    let start = now - options.activity_window;
    let query = |attribute| {
        ActivityQuery::new(attribute, start, now).bounded(ActivityQuery::DEFAULT_MAX_PAGES, ACTIVITY_READ_BUDGET)
    };
    let [credentials, console] = SESSION_EVENT_NAMES;
    let reads: [(&str, ActivityQuery); 3] = [
        (credentials, query(LookupAttribute::EventName(credentials.to_owned()))),
        (console, query(LookupAttribute::EventName(console.to_owned()))),
        (
            SCIM_EVENT_SOURCE,
            query(LookupAttribute::EventSource(SCIM_EVENT_SOURCE.to_owned())),
        ),
    ];
    let answers = futures_util::future::try_join_all(reads.iter().map(|(_, q)| activity_log.lookup(q))).await?;
    let mut events: Vec<ActivityEvent> = Vec::new();
    let mut whole_since = start;
    let mut complete = true;
    for ((read_of, _), read) in reads.iter().zip(answers) {
        if !read.complete {
            let reaches = activity_reaches_back_to(&read, start, now);
            tracing::warn!(
                read_of,
                events = read.events.len(),
                reaches_back_to = %reaches,
                "CloudTrail read stopped at its page or time cap: the report says how far back it reaches"
            );
            whole_since = whole_since.max(reaches);
            complete = false;
        }
        // An event name is not unique across services: keep the portal's own.
        let portal_read = *read_of != SCIM_EVENT_SOURCE;
        events.extend(
            read.events
                .into_iter()
                .filter(|e| !portal_read || e.event_source == PORTAL_EVENT_SOURCE),
        );
    }
    events.sort_by(|a, b| {
        a.event_time
            .cmp(&b.event_time)
            .then_with(|| a.event_id.cmp(&b.event_id))
    });
    events.dedup_by(|a, b| a.event_id == b.event_id);
    Ok((events, whole_since, complete))
}

/// Whether `shards` (sorted here by index) are exactly the plan's shards, each once: the error names the first
/// that is missing or not the one planned. `merge` checks it; a sharded run's merge step checks it first too,
/// before reading the base, so a missing shard costs no inventory calls. Pure.
pub fn check_complete(plan: &InventoryPlan, shards: &mut [ShardResult]) -> Result<()> {
    let expected = plan.shards.len();
    shards.sort_by_key(|s| s.shard.index);
    for (position, planned) in plan.shards.iter().enumerate() {
        let found = shards.get(position).map(|s| &s.shard);
        if found != Some(planned) {
            return Err(Error::Inventory(format!(
                "shard {} of {expected} is {}",
                planned.index,
                match found {
                    Some(other) if other.index == planned.index => "not the one planned (other work)",
                    _ => "missing",
                }
            )));
        }
    }
    if shards.len() != expected {
        return Err(Error::Inventory(format!(
            "{} shard results for {expected} planned shards",
            shards.len()
        )));
    }
    Ok(())
}

/// The snapshot from a plan, its base and every shard's result (in any order). Fails, naming the shard, when a
/// shard is missing, repeated or from another plan: a partial inventory is never judged as if it were whole. Pure.
pub fn merge(plan: InventoryPlan, base: InventoryBase, mut shards: Vec<ShardResult>) -> Result<OrgSnapshot> {
    check_complete(&plan, &mut shards)?;
    let assignments = shards.into_iter().flat_map(|s| s.assignments).collect();
    Ok(OrgSnapshot {
        schema_version: SNAPSHOT_SCHEMA_VERSION,
        collected_at: base.collected_at,
        okta: base.okta,
        idc: IdcSide {
            instance: base.instance,
            users: base.idc_users,
            groups: base.idc_groups,
            permission_sets: plan.permission_sets,
            accounts: base.accounts,
            assignments,
            provisioned: plan.provisioned,
        },
        activity: base.activity,
        // The access review's inactivity rule says how far back the activity reaches.
        activity_since: Some(base.activity_since),
        activity_complete: base.activity_complete,
        recorded_uses: base.recorded_uses,
    })
}

/// The whole inventory in one process: the base beside plan → every shard, then the merge. The same functions
/// the Distributed Map runs, so a sharded run and this one give the same snapshot.
pub async fn collect_snapshot(
    directory: &impl Directory,
    identity_center: &impl IdentityCenter,
    activity_log: &impl ActivityLog,
    options: &CollectOptions,
    now: DateTime<Utc>,
    budget: ShardBudget,
) -> Result<OrgSnapshot> {
    let shards = async {
        let plan = plan(identity_center, budget).await?;
        let results =
            futures_util::future::try_join_all(plan.shards.iter().map(|s| collect_shard(identity_center, s))).await?;
        Ok::<_, Error>((plan, results))
    };
    let (base, (plan, results)) = tokio::try_join!(
        collect_base(directory, identity_center, activity_log, options, now),
        shards
    )?;
    merge(plan, base, results)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{IdentityStoreId, InstanceArn, PermissionSetArn, Principal};

    fn set(n: usize) -> PermissionSet {
        PermissionSet {
            arn: PermissionSetArn::parse(format!(
                "arn:aws:sso:::permissionSet/ssoins-1234567890abcdef/ps-{n:016x}"
            ))
            .expect("arn"),
            name: format!("Set{n}"),
            session_duration: Some("PT1H".into()),
        }
    }

    fn base() -> InventoryBase {
        InventoryBase {
            collected_at: DateTime::<Utc>::UNIX_EPOCH,
            instance: IdcInstance {
                instance_arn: InstanceArn::parse("arn:aws:sso:::instance/ssoins-1234567890abcdef").expect("arn"),
                identity_store_id: IdentityStoreId::parse("d-1234567890").expect("id"),
            },
            okta: OktaSide {
                org_url: "https://acme.okta.com".into(),
                users: vec![],
                groups: vec![],
                app: crate::domain::OktaApp {
                    id: OktaAppId::parse("0oa1awsidc00000001").expect("id"),
                    label: "AWS".into(),
                    app_users: vec![],
                    group_push_mappings: vec![],
                    signing_keys: vec![],
                },
                deprovisions: vec![],
            },
            idc_users: vec![],
            idc_groups: vec![],
            accounts: vec![],
            activity: vec![],
            activity_since: DateTime::<Utc>::UNIX_EPOCH,
            activity_complete: true,
            recorded_uses: None,
        }
    }

    fn account(n: usize) -> AccountId {
        AccountId::parse(format!("{:012}", 100_000_000_000usize + n)).expect("id")
    }

    /// `sets` permission sets, the i-th provisioned to `accounts(i)` accounts.
    fn org(sets: usize, accounts: impl Fn(usize) -> usize) -> (Vec<PermissionSet>, Vec<Provisioning>) {
        let permission_sets: Vec<PermissionSet> = (0..sets).map(set).collect();
        let provisioned = permission_sets
            .iter()
            .enumerate()
            .map(|(i, p)| Provisioning {
                permission_set_arn: p.arn.clone(),
                accounts: (0..accounts(i)).map(account).collect(),
            })
            .collect();
        (permission_sets, provisioned)
    }

    fn planned(sets: usize, accounts: impl Fn(usize) -> usize, budget: ShardBudget) -> InventoryPlan {
        let (permission_sets, provisioned) = org(sets, accounts);
        plan_shards(permission_sets, provisioned, budget)
    }

    /// Every (set, account) pair of the shards, in shard order.
    fn pairs_of(shards: &[Shard]) -> Vec<(PermissionSetArn, AccountId)> {
        shards
            .iter()
            .flat_map(|s| &s.work)
            .flat_map(|w| w.accounts.iter().map(|a| (w.permission_set_arn.clone(), a.clone())))
            .collect()
    }

    fn pairs_planned(plan: &InventoryPlan) -> Vec<(PermissionSetArn, AccountId)> {
        plan.provisioned
            .iter()
            .flat_map(|p| p.accounts.iter().map(|a| (p.permission_set_arn.clone(), a.clone())))
            .collect()
    }

    fn result_of(shard: &Shard) -> ShardResult {
        ShardResult {
            shard: shard.clone(),
            assignments: shard
                .work
                .iter()
                .flat_map(|w| {
                    w.accounts.iter().map(|account| AccountAssignment {
                        account_id: account.clone(),
                        permission_set_arn: w.permission_set_arn.clone(),
                        principal: Principal::Group(crate::domain::IdcGroupId::parse("g-1").expect("id")),
                    })
                })
                .collect(),
        }
    }

    fn event_at(at: DateTime<Utc>) -> ActivityEvent {
        ActivityEvent {
            event_id: at.timestamp().to_string(),
            event_name: "Federate".into(),
            event_source: PORTAL_EVENT_SOURCE.into(),
            event_time: at,
            actor_user_id: None,
            actor_user_name: None,
            role_name: None,
            target_user_id: None,
            error_code: None,
            account_id: None,
            region: None,
            target_account_id: None,
        }
    }

    #[test]
    fn a_capped_activity_read_reaches_back_only_to_its_earliest_event() {
        let end = DateTime::<Utc>::UNIX_EPOCH + Duration::days(30);
        let start = end - Duration::days(7);
        let events = vec![event_at(end - Duration::hours(5)), event_at(end - Duration::hours(2))];
        let complete = ActivityRead {
            events: events.clone(),
            complete: true,
        };
        assert_eq!(activity_reaches_back_to(&complete, start, end), start);
        let capped = ActivityRead {
            events,
            complete: false,
        };
        assert_eq!(activity_reaches_back_to(&capped, start, end), end - Duration::hours(5));
        let capped_empty = ActivityRead {
            events: vec![],
            complete: false,
        };
        assert_eq!(
            activity_reaches_back_to(&capped_empty, start, end),
            end,
            "a capped read that read nothing sees nothing"
        );
    }

    /// LookupEvents as it stops at its cap: the newest events of the window for the portal, whole for SCIM.
    struct CappedPortal {
        portal: Vec<ActivityEvent>,
    }

    impl ActivityLog for CappedPortal {
        async fn lookup(&self, query: &ActivityQuery) -> Result<ActivityRead> {
            let portal = query.attribute == LookupAttribute::EventName("Federate".into());
            assert!(
                query.attribute != LookupAttribute::EventSource(PORTAL_EVENT_SOURCE.into()),
                "the portal is read by event name: every sso-admin call shares its source"
            );
            assert!(query.budget.is_some(), "every review read is bounded in time");
            Ok(ActivityRead {
                events: if portal { self.portal.clone() } else { vec![] },
                complete: !portal,
            })
        }
    }

    #[tokio::test]
    async fn the_base_says_from_when_its_activity_is_whole_when_a_read_is_capped() {
        let now = Utc::now();
        let shape = crate::generated_org::OrgShape {
            users: 4,
            groups: 2,
            accounts: 2,
            permission_sets: 1,
            assignments: 2,
        };
        let snapshot = crate::generated_org::snapshot(&shape, now);
        let directory = crate::in_memory::FakeDirectory {
            okta: snapshot.okta.clone(),
            log: vec![],
        };
        let identity_center = crate::in_memory::FakeIdentityCenter::new(snapshot.idc.clone());
        let options = CollectOptions {
            org_url: "https://acme.okta.com".into(),
            app_id: snapshot.okta.app.id.clone(),
            links: LinkPolicy::default(),
            activity_window: Duration::days(30),
        };
        let earliest_read = now - Duration::days(2);
        let capped = CappedPortal {
            portal: vec![event_at(earliest_read), event_at(now - Duration::hours(1))],
        };
        let base = collect_base(&directory, &identity_center, &capped, &options, now)
            .await
            .expect("the base");
        assert!(!base.activity_complete);
        assert_eq!(
            base.activity_since, earliest_read,
            "not the window's start, 30 days back"
        );
        assert_eq!(base.activity.len(), 2);

        let whole = crate::in_memory::FakeActivityLog::new(vec![]);
        let base = collect_base(&directory, &identity_center, &whole, &options, now)
            .await
            .expect("the base");
        assert!(base.activity_complete);
        assert_eq!(base.activity_since, now - Duration::days(30));
    }

    #[test]
    fn shards_cover_every_pair_once_in_order_each_within_its_budget() {
        // 7 sets provisioned to 0..=6 accounts: 21 pairs, 3 calls a shard.
        let plan = planned(7, |i| i, ShardBudget::calls(3));
        assert_eq!(plan.shards.len(), 7, "21 pairs in shards of 3");
        assert!(
            plan.shards.iter().all(|s| s.estimated_calls() == 3),
            "{:?}",
            plan.shards
        );
        assert!(plan.shards.iter().enumerate().all(|(i, s)| s.index == i && s.of == 7));
        assert_eq!(
            pairs_of(&plan.shards),
            pairs_planned(&plan),
            "every pair once, in order"
        );
        assert!(
            plan.shards.iter().flat_map(|s| &s.work).all(|w| !w.accounts.is_empty()),
            "a set without accounts has no work item"
        );
        assert_eq!(
            plan.provisioned.len(),
            7,
            "every set's provisioning kept, the empty one too"
        );
        assert_eq!(
            plan,
            planned(7, |i| i, ShardBudget::calls(3)),
            "the same org plans the same shards"
        );
    }

    #[test]
    fn a_set_larger_than_a_budget_is_split_and_small_sets_share_a_shard() {
        // One set on 5,000 accounts, one minute of calls at 20 TPS (1,200) a shard.
        let budget = ShardBudget::at_rate(20.0, 60);
        assert_eq!(budget.calls, 1_200);
        let plan = planned(1, |_| 5_000, budget);
        let calls: Vec<usize> = plan.shards.iter().map(Shard::estimated_calls).collect();
        assert_eq!(calls, [1_200, 1_200, 1_200, 1_200, 200]);
        assert!(plan.shards.iter().all(|s| s.work.len() == 1));
        assert_eq!(pairs_of(&plan.shards), pairs_planned(&plan));

        // 50 sets on 2 accounts each: one shard of 50 work items.
        let plan = planned(50, |_| 2, ShardBudget::documented());
        assert_eq!(plan.shards.len(), 1);
        assert_eq!(plan.shards[0].work.len(), 50);
        assert_eq!(plan.shards[0].estimated_calls(), 100);

        // Sets of 700 in budgets of 1,200: a set continues in the next shard where the first is full.
        let plan = planned(3, |_| 700, budget);
        let calls: Vec<usize> = plan.shards.iter().map(Shard::estimated_calls).collect();
        assert_eq!(calls, [1_200, 900]);
        assert_eq!(plan.shards[0].work.len(), 2, "set 0 whole, set 1's first 500");
        assert_eq!(plan.shards[0].work[1].accounts.len(), 500);
        assert_eq!(pairs_of(&plan.shards), pairs_planned(&plan));
    }

    #[test]
    fn an_org_without_pairs_has_one_empty_shard_and_a_zero_budget_still_progresses() {
        for plan in [
            planned(0, |_| 0, ShardBudget::documented()),
            planned(3, |_| 0, ShardBudget::documented()),
        ] {
            assert_eq!(plan.shards.len(), 1, "a run always has a shard to merge");
            assert!(plan.shards[0].work.is_empty());
            assert_eq!((plan.shards[0].index, plan.shards[0].of), (0, 1));
        }
        let nothing = ShardBudget { calls: 0, bytes: 0 };
        let plan = planned(2, |_| 2, nothing);
        assert_eq!(plan.shards.len(), 4, "one pair a shard");
        assert_eq!(pairs_of(&plan.shards), pairs_planned(&plan));
        assert_eq!(ShardBudget::at_rate(f64::NAN, 600).calls, 1);
        assert_eq!(ShardBudget::at_rate(-3.0, 600).calls, 1);
        assert_eq!(ShardBudget::at_rate(1e300, 600).calls, usize::MAX, "saturates");
    }

    #[test]
    fn a_shards_json_stays_within_its_byte_budget() {
        // A fast rate, so bytes bind before calls: each shard's JSON (the Distributed Map item) within the cap.
        let budget = ShardBudget::at_rate(1_000.0, 600);
        let plan = planned(3, |i| 10_000 + i * 7_000, budget);
        assert!(plan.shards.len() >= 3, "{}", plan.shards.len());
        for shard in &plan.shards {
            let json = serde_json::to_vec(shard).expect("encode");
            assert!(
                json.len() <= MAX_SHARD_BYTES,
                "shard {}: {} bytes",
                shard.index,
                json.len()
            );
            assert!(shard.estimated_calls() < budget.calls);
        }
        assert!(
            serde_json::to_vec(&plan.shards[0]).expect("encode").len() > MAX_SHARD_BYTES * 9 / 10,
            "the estimate is close, not far too cautious"
        );
        assert_eq!(pairs_of(&plan.shards), pairs_planned(&plan));
    }

    /// The issue's shape (5,000 accounts × 50 permission sets, every set on every account: 250,000 pairs) at the
    /// default settings: several shards, each within the 900-second Lambda timeout at 20 TPS.
    #[test]
    fn the_default_budget_splits_the_issues_shape_into_shards_within_one_lambda() {
        const LAMBDA_TIMEOUT_SECONDS: f64 = 900.0;
        let rate = crate::rate_limit::ApiFamily::SsoAdmin.documented_per_second();
        assert_eq!(rate, 20.0);
        let budget = ShardBudget::documented();
        assert_eq!(budget.calls, 12_000, "600 s at 20 TPS");
        let plan = planned(50, |_| 5_000, budget);
        assert_eq!(plan.shards.len(), 21, "250,000 pairs in shards of 12,000");
        assert_eq!(pairs_of(&plan.shards).len(), 250_000);
        for shard in &plan.shards {
            let seconds = shard.estimated_calls() as f64 / rate;
            assert!(
                seconds <= DEFAULT_SHARD_SECONDS as f64,
                "shard {}: {seconds} s",
                shard.index
            );
            assert!(seconds < LAMBDA_TIMEOUT_SECONDS);
            assert!(serde_json::to_vec(shard).expect("encode").len() <= MAX_SHARD_BYTES);
        }
        // Unsharded, the same shape is 250,000 calls, 12,500 s: past one Lambda.
        assert!(250_000.0 / rate > LAMBDA_TIMEOUT_SECONDS);
    }

    #[test]
    fn merged_shards_in_any_order_give_the_same_snapshot() {
        let plan = planned(5, |i| i + 1, ShardBudget::calls(2));
        assert!(plan.shards.len() > 2);
        let results: Vec<ShardResult> = plan.shards.iter().map(result_of).collect();
        let mut reversed = results.clone();
        reversed.reverse();
        let merged = merge(plan.clone(), base(), results).expect("merged");
        assert_eq!(merged, merge(plan.clone(), base(), reversed).expect("merged"));
        assert_eq!(merged.idc.assignments.len(), 15);
        assert_eq!(merged.idc.provisioned, plan.provisioned);
        let one = planned(5, |i| i + 1, ShardBudget::documented());
        assert_eq!(one.shards.len(), 1);
        let single = merge(one.clone(), base(), one.shards.iter().map(result_of).collect()).expect("merged");
        assert_eq!(merged, single, "shard size does not change the result");
    }

    #[test]
    fn a_missing_or_repeated_shard_is_an_error_not_a_smaller_inventory() {
        let plan = planned(5, |_| 1, ShardBudget::calls(2));
        assert_eq!(plan.shards.len(), 3);
        let mut results: Vec<ShardResult> = plan.shards.iter().map(result_of).collect();
        results.remove(1);
        let error = merge(plan.clone(), base(), results.clone()).unwrap_err();
        assert!(error.to_string().contains("shard 1 of 3 is missing"), "{error}");
        results.insert(1, result_of(&plan.shards[0]));
        assert!(merge(plan.clone(), base(), results).is_err());
        let mut results: Vec<ShardResult> = plan.shards.iter().map(result_of).collect();
        results.push(result_of(&plan.shards[2]));
        assert!(merge(plan.clone(), base(), results).is_err(), "a shard twice");
        let (sets, mut provisioned) = org(5, |_| 1);
        provisioned[0].accounts = vec![account(99)];
        let other = plan_shards(sets, provisioned, ShardBudget::calls(2));
        let results: Vec<ShardResult> = other.shards.iter().map(result_of).collect();
        assert!(merge(plan, base(), results).is_err(), "another plan's shards");
    }
}
