//! The org-wide inventory, with the fewest calls, sharded by permission set.
//!
//! Identity Center's assignments are read per permission set: ListPermissionSets (+ DescribePermissionSet each),
//! then per set ListAccountsForProvisionedPermissionSet, then per provisioned (set, account) pair
//! ListAccountAssignments — fewer calls than per account, since most sets are provisioned to few accounts. That
//! part grows with accounts × sets and is what can outlast one Lambda (5,000 accounts × 50 sets at 20 TPS is ~21
//! min), so it is cut into shards of permission sets:
//!
//! ```text
//! plan(identity_center)            → InventoryPlan { permission_sets, shards }       (sso-admin: 1 + sets calls)
//! collect_shard(identity_center,s) → ShardResult (serialisable: the function writes it to S3)
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
    AccountId, ActivityEvent, IdcGroup, IdcInstance, IdcSide, IdcUser, LinkPolicy, OktaAppId, OktaSide, OrgSnapshot,
    PermissionSet, PermissionSetArn, ProvisionedSet, Provisioning, SNAPSHOT_SCHEMA_VERSION,
};
use crate::error::{Error, Result};
use crate::ports::{ActivityLog, ActivityQuery, ActivityRead, Directory, IdentityCenter, LogQuery, LookupAttribute};

pub use crate::domain::activity::PORTAL_EVENT_SOURCE;

/// Permission sets per shard when the caller does not say: at 20 TPS, 50 sets provisioned to 200 accounts each
/// is ~10,000 sso-admin calls, ~8.5 min — inside one Lambda's 15 minutes with room for retries.
pub const DEFAULT_SETS_PER_SHARD: usize = 50;

#[derive(Debug, Clone)]
pub struct CollectOptions {
    pub org_url: String,
    pub app_id: OktaAppId,
    /// How Okta people are linked to Identity Center users.
    pub links: LinkPolicy,
    /// How far back to read CloudTrail activity (LookupEvents keeps 90 days).
    pub activity_window: Duration,
}

/// One shard of the inventory: some permission sets. `index` of `of` shards.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Shard {
    pub index: usize,
    pub of: usize,
    pub permission_sets: Vec<PermissionSetArn>,
}

/// What the plan step hands on: every permission set (described once) and the shards over them. The shards are
/// the Distributed Map's items.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InventoryPlan {
    pub permission_sets: Vec<PermissionSet>,
    pub shards: Vec<Shard>,
}

/// One shard's result: the provisioned accounts and assignments of its permission sets.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShardResult {
    pub shard: Shard,
    pub sets: Vec<ProvisionedSet>,
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

/// Cuts the permission sets into shards of at most `sets_per_shard` (at least one set each; one empty shard when
/// there are no sets, so a run always has a shard to merge). Pure.
pub fn plan_shards(permission_sets: Vec<PermissionSet>, sets_per_shard: usize) -> InventoryPlan {
    let size = sets_per_shard.max(1);
    let arns: Vec<PermissionSetArn> = permission_sets.iter().map(|p| p.arn.clone()).collect();
    let chunks: Vec<Vec<PermissionSetArn>> = if arns.is_empty() {
        vec![Vec::new()]
    } else {
        arns.chunks(size).map(<[PermissionSetArn]>::to_vec).collect()
    };
    let of = chunks.len();
    InventoryPlan {
        permission_sets,
        shards: chunks
            .into_iter()
            .enumerate()
            .map(|(index, permission_sets)| Shard {
                index,
                of,
                permission_sets,
            })
            .collect(),
    }
}

/// Reads and describes every permission set, then plans the shards.
pub async fn plan(identity_center: &impl IdentityCenter, sets_per_shard: usize) -> Result<InventoryPlan> {
    let sets = identity_center.permission_sets().await?;
    Ok(plan_shards(sets, sets_per_shard))
}

/// One shard: its permission sets' provisioned accounts and assignments.
pub async fn collect_shard(identity_center: &impl IdentityCenter, shard: &Shard) -> Result<ShardResult> {
    let sets = identity_center.provisioned_sets(&shard.permission_sets).await?;
    Ok(ShardResult {
        shard: shard.clone(),
        sets,
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
                    Some(other) if other.index == planned.index => "not the one planned (other permission sets)",
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
    let sets: Vec<ProvisionedSet> = shards.into_iter().flat_map(|s| s.sets).collect();
    let provisioned = sets
        .iter()
        .map(|s| Provisioning {
            permission_set_arn: s.permission_set_arn.clone(),
            accounts: s.accounts.clone(),
        })
        .collect();
    let assignments = sets.into_iter().flat_map(|s| s.assignments).collect();
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
            provisioned,
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
    sets_per_shard: usize,
) -> Result<OrgSnapshot> {
    let shards = async {
        let plan = plan(identity_center, sets_per_shard).await?;
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
    use crate::domain::{AccountAssignment, IdentityStoreId, InstanceArn, Principal};

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

    fn result_of(shard: &Shard) -> ShardResult {
        let account = AccountId::parse("111122223333").expect("id");
        ShardResult {
            shard: shard.clone(),
            sets: shard
                .permission_sets
                .iter()
                .map(|arn| ProvisionedSet {
                    permission_set_arn: arn.clone(),
                    accounts: vec![account.clone()],
                    assignments: vec![AccountAssignment {
                        account_id: account.clone(),
                        permission_set_arn: arn.clone(),
                        principal: Principal::Group(crate::domain::IdcGroupId::parse("g-1").expect("id")),
                    }],
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
    fn shards_cover_every_set_once_in_order() {
        let plan = plan_shards((0..7).map(set).collect(), 3);
        let sizes: Vec<usize> = plan.shards.iter().map(|s| s.permission_sets.len()).collect();
        assert_eq!(sizes, [3, 3, 1]);
        assert!(plan.shards.iter().all(|s| s.of == 3));
        let flat: Vec<_> = plan.shards.iter().flat_map(|s| s.permission_sets.clone()).collect();
        assert_eq!(
            flat,
            plan.permission_sets.iter().map(|p| p.arn.clone()).collect::<Vec<_>>()
        );
        assert_eq!(
            plan_shards(vec![], 3).shards.len(),
            1,
            "an org without sets still has a shard"
        );
        assert_eq!(
            plan_shards((0..2).map(set).collect(), 0).shards.len(),
            2,
            "a size of 0 means 1"
        );
    }

    #[test]
    fn merged_shards_in_any_order_give_the_same_snapshot() {
        let plan = plan_shards((0..5).map(set).collect(), 2);
        let results: Vec<ShardResult> = plan.shards.iter().map(result_of).collect();
        let mut reversed = results.clone();
        reversed.reverse();
        let merged = merge(plan.clone(), base(), results).expect("merged");
        assert_eq!(merged, merge(plan.clone(), base(), reversed).expect("merged"));
        assert_eq!(merged.idc.assignments.len(), 5);
        assert_eq!(merged.idc.provisioned.len(), 5);
        let one = plan_shards((0..5).map(set).collect(), 10);
        let single = merge(one.clone(), base(), one.shards.iter().map(result_of).collect()).expect("merged");
        assert_eq!(merged, single, "shard size does not change the result");
    }

    #[test]
    fn a_missing_or_repeated_shard_is_an_error_not_a_smaller_inventory() {
        let plan = plan_shards((0..5).map(set).collect(), 2);
        let mut results: Vec<ShardResult> = plan.shards.iter().map(result_of).collect();
        results.remove(1);
        let error = merge(plan.clone(), base(), results.clone()).unwrap_err();
        assert!(error.to_string().contains("shard 1 of 3 is missing"), "{error}");
        results.insert(1, result_of(&plan.shards[0]));
        assert!(merge(plan.clone(), base(), results).is_err());
        let mut results: Vec<ShardResult> = plan.shards.iter().map(result_of).collect();
        results.push(result_of(&plan.shards[2]));
        assert!(merge(plan.clone(), base(), results).is_err(), "a shard twice");
        let other = plan_shards((10..15).map(set).collect(), 2);
        let results: Vec<ShardResult> = other.shards.iter().map(result_of).collect();
        assert!(merge(plan, base(), results).is_err(), "another plan's shards");
    }
}
