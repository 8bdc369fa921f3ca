//! A generated org (feature `in-memory`, and the tests): `users` people, each in two of `groups` groups, and
//! assignments to groups and users on (permission set, account) pairs. `review-bench` seeds this shape into moto
//! and the Okta fake, and its `--rules-only` mode judges it in memory; the rules' tests check their indexed
//! lookups against plain scans on it. Deterministic: the same shape gives the same org.

use chrono::{DateTime, Utc};

use crate::domain::{
    AccountAssignment, AccountId, AppUser, AppUserStatus, ExternalId, GroupPushMapping, IdcGroup, IdcGroupId,
    IdcInstance, IdcSide, IdcUser, IdcUserId, IdcUserStatus, IdentityStoreId, InstanceArn, OktaApp, OktaAppId,
    OktaGroup, OktaGroupId, OktaLogin, OktaSide, OktaUser, OktaUserId, OktaUserStatus, OrgSnapshot, PermissionSet,
    PermissionSetArn, Principal, PushMappingStatus, SNAPSHOT_SCHEMA_VERSION,
};

/// Groups each user is in.
pub const GROUPS_PER_USER: usize = 2;
/// Of the assignments on one (set, account) pair, how many are groups (the rest: one direct user assignment).
pub const GROUP_ASSIGNMENTS_PER_PAIR: usize = 4;
/// The generated Okta app.
pub const APP_ID: &str = "0oa1awsidc00000001";
/// The issuer of the generated users' SCIM external ids.
pub const SCIM_ISSUER: &str = "okta";

/// An org's size.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OrgShape {
    pub users: usize,
    pub groups: usize,
    pub accounts: usize,
    pub permission_sets: usize,
    pub assignments: usize,
}

/// A principal of a generated assignment: a group or a user, by position.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Assignee {
    Group(usize),
    User(usize),
}

impl OrgShape {
    /// The issue's full shape: 10,000 users, 1,000 groups, 200 accounts, 50 permission sets, 20,000 assignments.
    pub const FULL: Self = Self {
        users: 10_000,
        groups: 1_000,
        accounts: 200,
        permission_sets: 50,
        assignments: 20_000,
    };

    /// The (set, account) pairs assignments go on: each set on the same number of accounts, spread over them.
    pub fn pairs(&self) -> Vec<(usize, usize)> {
        let per_pair = GROUP_ASSIGNMENTS_PER_PAIR + 1;
        let pairs = self.assignments.div_ceil(per_pair).max(1);
        let per_set = pairs.div_ceil(self.permission_sets.max(1)).min(self.accounts).max(1);
        let accounts = self.accounts.max(1);
        (0..self.permission_sets)
            .flat_map(|set| (0..per_set).map(move |k| (set, set.saturating_mul(7).saturating_add(k) % accounts)))
            .take(pairs)
            .collect()
    }

    /// The groups a user is in.
    pub fn member_groups(&self, user: usize) -> Vec<usize> {
        let groups = self.groups.max(1);
        let step = (groups / GROUPS_PER_USER).max(1);
        let mut of: Vec<usize> = (0..GROUPS_PER_USER)
            .map(|k| user.saturating_add(k.saturating_mul(step)) % groups)
            .collect();
        of.dedup();
        of
    }

    /// Each group's members (user positions), in user order.
    pub fn members(&self) -> Vec<Vec<usize>> {
        let mut members: Vec<Vec<usize>> = vec![Vec::new(); self.groups];
        for user in 0..self.users {
            for group in self.member_groups(user) {
                if let Some(m) = members.get_mut(group) {
                    m.push(user);
                }
            }
        }
        members
    }

    /// Every assignment as (set, account, assignee): per pair, `GROUP_ASSIGNMENTS_PER_PAIR` groups and one user.
    pub fn assignments(&self) -> Vec<(usize, usize, Assignee)> {
        let groups = self.groups.max(1);
        let users = self.users.max(1);
        let mut out = Vec::new();
        for (pair, (set, account)) in self.pairs().into_iter().enumerate() {
            for k in 0..GROUP_ASSIGNMENTS_PER_PAIR {
                let group = pair.saturating_mul(GROUP_ASSIGNMENTS_PER_PAIR).saturating_add(k) % groups;
                out.push((set, account, Assignee::Group(group)));
            }
            out.push((set, account, Assignee::User(pair % users)));
        }
        out
    }

    /// Effective-access rows the shape makes: per group assignment, one per member; per user assignment, one.
    pub fn effective_rows(&self) -> usize {
        let sizes: Vec<usize> = self.members().iter().map(Vec::len).collect();
        self.assignments()
            .iter()
            .map(|(_, _, who)| match who {
                Assignee::Group(g) => sizes.get(*g).copied().unwrap_or(0),
                Assignee::User(_) => 1,
            })
            .sum()
    }
}

/// User `n`'s login (and Identity Center user name).
pub fn login(n: usize) -> String {
    format!("user{n:05}@acme.example")
}

pub fn okta_user_id(n: usize) -> OktaUserId {
    OktaUserId::parse(format!("00u{n:017}")).expect("a generated Okta user id is valid")
}

pub fn okta_group_id(n: usize) -> OktaGroupId {
    OktaGroupId::parse(format!("00g{n:017}")).expect("a generated Okta group id is valid")
}

fn idc_user_id(n: usize) -> IdcUserId {
    IdcUserId::parse(format!("9067a1b2c3-{n:08x}-0000-4000-8000-000000000000")).expect("a generated user id")
}

fn idc_group_id(n: usize) -> IdcGroupId {
    IdcGroupId::parse(format!("9067a1b2c3-{n:08x}-0000-4000-9000-000000000000")).expect("a generated group id")
}

fn set_arn(n: usize) -> PermissionSetArn {
    PermissionSetArn::parse(format!(
        "arn:aws:sso:::permissionSet/ssoins-0000000000000000/ps-{n:016x}"
    ))
    .expect("a generated permission set ARN")
}

fn account_id(n: usize) -> AccountId {
    AccountId::parse(format!("{:012}", 100_000_000_000usize.saturating_add(n))).expect("a generated account id")
}

/// The Identity Center side of the shape. User `n` is `user{n:05}@acme.example` with the SCIM external id
/// (`okta`, Okta user `n`'s id); group `n` is `aws-team-{n:04}`; set `n` is `Set{n:02}`.
pub fn idc_side(shape: &OrgShape) -> IdcSide {
    let users = (0..shape.users)
        .map(|n| IdcUser {
            id: idc_user_id(n),
            user_name: login(n),
            display_name: None,
            emails: vec![login(n)],
            external_ids: vec![ExternalId {
                issuer: SCIM_ISSUER.into(),
                id: okta_user_id(n).to_string(),
            }],
            status: IdcUserStatus::Enabled,
        })
        .collect();
    let groups = shape
        .members()
        .into_iter()
        .enumerate()
        .map(|(n, members)| IdcGroup {
            id: idc_group_id(n),
            display_name: format!("aws-team-{n:04}"),
            members: members.into_iter().map(idc_user_id).collect(),
        })
        .collect();
    let permission_sets = (0..shape.permission_sets)
        .map(|n| PermissionSet {
            arn: set_arn(n),
            name: format!("Set{n:02}"),
            session_duration: Some("PT4H".into()),
        })
        .collect();
    let assignments = shape
        .assignments()
        .into_iter()
        .map(|(set, account, who)| AccountAssignment {
            account_id: account_id(account),
            permission_set_arn: set_arn(set),
            principal: match who {
                Assignee::Group(g) => Principal::Group(idc_group_id(g)),
                Assignee::User(u) => Principal::User(idc_user_id(u)),
            },
        })
        .collect();
    IdcSide {
        instance: IdcInstance {
            instance_arn: InstanceArn::parse("arn:aws:sso:::instance/ssoins-0000000000000000")
                .expect("a valid instance ARN"),
            identity_store_id: IdentityStoreId::parse("d-0000000000").expect("a valid identity store id"),
        },
        users,
        groups,
        permission_sets,
        accounts: (0..shape.accounts).map(account_id).collect(),
        assignments,
        provisioned: Vec::new(),
    }
}

/// The same people in Okta: ACTIVE users, each an app user linked by `externalId` to `idc_user_ids[n]`, and every
/// Identity Center group `idc_group_ids[n]` pushed from an Okta group of the same members.
pub fn okta_side(shape: &OrgShape, idc_user_ids: &[String], idc_group_ids: &[String]) -> OktaSide {
    OktaSide {
        org_url: "https://acme.okta.com".into(),
        users: (0..shape.users)
            .map(|n| OktaUser {
                id: okta_user_id(n),
                login: OktaLogin::parse(login(n)).expect("a generated login is valid"),
                email: Some(login(n)),
                status: OktaUserStatus::Active,
                transitioning_to_status: None,
                status_changed: None,
                last_login: None,
            })
            .collect(),
        groups: shape
            .members()
            .iter()
            .enumerate()
            .map(|(n, m)| OktaGroup {
                id: okta_group_id(n),
                name: format!("aws-team-{n:04}"),
                members: m.iter().map(|u| okta_user_id(*u)).collect(),
            })
            .collect(),
        app: OktaApp {
            id: OktaAppId::parse(APP_ID).expect("a valid app id"),
            label: "AWS IAM Identity Center".into(),
            app_users: idc_user_ids
                .iter()
                .enumerate()
                .map(|(n, id)| AppUser {
                    user_id: okta_user_id(n),
                    external_id: Some(id.clone()),
                    user_name: Some(login(n)),
                    status: AppUserStatus::Provisioned,
                    sync_state: None,
                    last_sync: None,
                })
                .collect(),
            group_push_mappings: idc_group_ids
                .iter()
                .enumerate()
                .filter_map(|(n, id)| {
                    Some(GroupPushMapping {
                        id: format!("gpm{n:05}"),
                        source_group_id: okta_group_id(n),
                        target_group_id: Some(IdcGroupId::parse(id.clone()).ok()?),
                        status: PushMappingStatus::Active,
                        error_summary: None,
                        last_push: None,
                    })
                })
                .collect(),
            signing_keys: vec![],
        },
        deprovisions: vec![],
    }
}

/// Both sides of the shape, collected at `now` (no activity).
pub fn snapshot(shape: &OrgShape, now: DateTime<Utc>) -> OrgSnapshot {
    let idc = idc_side(shape);
    let users: Vec<String> = idc.users.iter().map(|u| u.id.to_string()).collect();
    let groups: Vec<String> = idc.groups.iter().map(|g| g.id.to_string()).collect();
    OrgSnapshot {
        schema_version: SNAPSHOT_SCHEMA_VERSION,
        collected_at: now,
        okta: okta_side(shape, &users, &groups),
        idc,
        activity: Vec::new(),
        activity_since: None,
        activity_complete: true,
        recorded_uses: None,
    }
}
