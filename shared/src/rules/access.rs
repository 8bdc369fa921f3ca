//! Effective access, one row per (person, account, permission set, path), and the last sign-in each person is
//! known by: what the access review's report lists and the inactivity rule judges.

use std::collections::HashMap;

use chrono::{DateTime, Utc};

use crate::domain::review::AccessRow;
use crate::domain::{IdcGroupId, IdcUser, IdcUserId, IdentityLinks, OktaUser, OrgSnapshot, PermissionSet, Principal};

/// Where a last sign-in was read.
pub const SOURCE_OKTA_LAST_LOGIN: &str = "okta-last-login";
pub const SOURCE_CLOUDTRAIL: &str = "cloudtrail";

/// The latest sign-in known for a person, and its source: Okta's `lastLogin` (a sign-in to Okta, for any app —
/// not necessarily AWS; kept by Okta for the user's life) or their latest AWS use in the snapshot's CloudTrail
/// activity (portal sign-ins, role credentials, role sessions by user name; only as far back as
/// `OrgSnapshot::activity_since`, at most LookupEvents' 90 days).
pub fn last_sign_in(
    snapshot: &OrgSnapshot,
    okta: Option<&OktaUser>,
    idc: &IdcUser,
) -> Option<(DateTime<Utc>, &'static str)> {
    let in_aws = snapshot
        .activity
        .iter()
        .filter(|e| {
            e.actor_user_id.as_ref() == Some(&idc.id) || e.actor_user_name.as_deref() == Some(idc.user_name.as_str())
        })
        .map(|e| e.event_time)
        .max()
        .map(|t| (t, SOURCE_CLOUDTRAIL));
    let in_okta = okta.and_then(|o| o.last_login).map(|t| (t, SOURCE_OKTA_LAST_LOGIN));
    match (in_aws, in_okta) {
        (Some(a), Some(o)) => Some(if a.0 >= o.0 { a } else { o }),
        (a, o) => a.or(o),
    }
}

/// Every effective access in the snapshot: each Identity Center user's direct assignments and those through each
/// group they are in, with the linked Okta person and their last sign-in. Sorted by user name, account,
/// permission set and path, so two runs compare row by row. Linear in users, groups and assignments.
pub fn access_rows(snapshot: &OrgSnapshot, links: &IdentityLinks<'_>) -> Vec<AccessRow> {
    let idc = &snapshot.idc;
    let sets: HashMap<_, &PermissionSet> = idc.permission_sets.iter().map(|p| (&p.arn, p)).collect();
    let mut groups_of: HashMap<&IdcUserId, Vec<&IdcGroupId>> = HashMap::new();
    for group in &idc.groups {
        for member in &group.members {
            groups_of.entry(member).or_default().push(&group.id);
        }
    }
    let group_names: HashMap<&IdcGroupId, &str> = idc.groups.iter().map(|g| (&g.id, g.display_name.as_str())).collect();
    let mut by_principal: HashMap<&Principal, Vec<&crate::domain::AccountAssignment>> = HashMap::new();
    for assignment in &idc.assignments {
        by_principal.entry(&assignment.principal).or_default().push(assignment);
    }
    let mut rows = Vec::new();
    for user in &idc.users {
        let okta = links.okta_user_for(&user.id);
        let sign_in = last_sign_in(snapshot, okta, user);
        let direct = Principal::User(user.id.clone());
        let mut paths: Vec<(Option<&IdcGroupId>, &crate::domain::AccountAssignment)> = by_principal
            .get(&direct)
            .into_iter()
            .flatten()
            .map(|a| (None, *a))
            .collect();
        for group in groups_of.get(&user.id).into_iter().flatten() {
            let principal = Principal::Group((*group).clone());
            paths.extend(
                by_principal
                    .get(&principal)
                    .into_iter()
                    .flatten()
                    .map(|a| (Some(*group), *a)),
            );
        }
        rows.extend(paths.into_iter().map(|(group, a)| {
            AccessRow {
                idc_user_id: user.id.clone(),
                user_name: user.user_name.clone(),
                idc_status: user.status.as_str().to_owned(),
                okta_login: okta.map(|o| o.login.to_string()),
                okta_status: okta.map(|o| o.effective_status().as_str().to_owned()),
                account_id: a.account_id.clone(),
                permission_set_arn: a.permission_set_arn.clone(),
                permission_set_name: sets
                    .get(&a.permission_set_arn)
                    .map_or_else(|| a.permission_set_arn.to_string(), |p| p.name.clone()),
                via_group: group.map(|g| group_names.get(g).map_or_else(|| g.to_string(), |n| (*n).to_owned())),
                last_sign_in: sign_in.map(|(t, _)| t),
                last_sign_in_source: sign_in.map(|(_, s)| s.to_owned()),
            }
        }));
    }
    rows.sort_by(|a, b| {
        (&a.user_name, &a.account_id, &a.permission_set_name, &a.via_group).cmp(&(
            &b.user_name,
            &b.account_id,
            &b.permission_set_name,
            &b.via_group,
        ))
    });
    rows
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::LinkPolicy;

    fn demo() -> OrgSnapshot {
        serde_json::from_str(include_str!("../../../events/demo/org.json")).expect("the demo org parses")
    }

    #[test]
    fn one_row_per_user_account_permission_set_and_path_agreeing_with_effective_assignments() {
        let snapshot = demo();
        let links = IdentityLinks::build(&snapshot.okta, &snapshot.idc, &LinkPolicy::default());
        let rows = access_rows(&snapshot, &links);
        let expected: usize = snapshot
            .idc
            .users
            .iter()
            .map(|u| snapshot.idc.effective_assignments(&u.id).len())
            .sum();
        assert_eq!(rows.len(), expected);
        assert!(expected > 0);
        let carol: Vec<_> = rows
            .iter()
            .filter(|r| r.user_name == "carol.diaz@acme.example" && r.via_group.is_none())
            .collect();
        assert_eq!(carol.len(), 1, "carol's direct Operations assignment");
        assert_eq!(carol[0].permission_set_name, "Operations");
        assert_eq!(carol[0].okta_status.as_deref(), Some("ACTIVE"));
        let bob = rows
            .iter()
            .find(|r| r.user_name == "bob.martin@acme.example")
            .expect("bob has access");
        assert_eq!(bob.via_group.as_deref(), Some("aws-production-developers"));
        assert_eq!(bob.okta_status.as_deref(), Some("DEPROVISIONED"));
    }

    #[test]
    fn the_last_sign_in_is_the_latest_of_okta_and_aws_and_says_where_it_was_read() {
        let mut snapshot = demo();
        let bob = snapshot
            .idc
            .users
            .iter()
            .find(|u| u.user_name.starts_with("bob"))
            .cloned()
            .expect("bob");
        let links_okta = snapshot
            .okta
            .users
            .iter()
            .find(|u| u.login.as_str().starts_with("bob"))
            .cloned();
        let (_, source) = last_sign_in(&snapshot, links_okta.as_ref(), &bob).expect("known");
        assert_eq!(source, SOURCE_CLOUDTRAIL, "bob used AWS after his last Okta sign-in");
        snapshot.activity.clear();
        let (at, source) = last_sign_in(&snapshot, links_okta.as_ref(), &bob).expect("known");
        assert_eq!(source, SOURCE_OKTA_LAST_LOGIN);
        assert_eq!(Some(at), links_okta.and_then(|u| u.last_login));
        assert_eq!(last_sign_in(&snapshot, None, &bob), None);
    }
}
