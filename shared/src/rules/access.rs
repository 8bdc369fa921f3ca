//! Effective access, one row per (person, account, permission set, path), and the last sign-in each person is
//! known by: what the access review's report lists and the inactivity rule judges.

use std::collections::HashMap;

use chrono::{DateTime, Utc};

use crate::domain::review::{AccessPerson, AccessTable, AccessTableBuilder};
use crate::domain::{ActivityEvent, IdcGroupId, IdcUser, IdcUserId, IdentityLinks, OktaUser, OrgSnapshot, Principal};

/// Where a last sign-in was read.
pub const SOURCE_OKTA_LAST_LOGIN: &str = "okta-last-login";
pub const SOURCE_CLOUDTRAIL: &str = "cloudtrail";
pub const SOURCE_ACTIVITY_RECORD: &str = "activity-record";

/// The latest sign-in known for a person, and its source: Okta's `lastLogin` (a sign-in to Okta, for any app —
/// not necessarily AWS; kept by Okta for the user's life) or their latest AWS use in the snapshot's CloudTrail
/// activity (portal sign-ins, role credentials, role sessions by user name; only as far back as
/// `OrgSnapshot::activity_since`, at most LookupEvents' 90 days) or identity-center-watch's activity record (sign-ins
/// and role credentials since `RecordedUses::since`, kept 400 days).
pub fn last_sign_in(
    snapshot: &OrgSnapshot,
    okta: Option<&OktaUser>,
    idc: &IdcUser,
) -> Option<(DateTime<Utc>, &'static str)> {
    LastSignIns::of_snapshot(snapshot).of(okta, idc)
}

/// The latest AWS use of each actor in a snapshot's activity, read once: `last_sign_in` for every person without
/// a scan of the activity each.
#[derive(Debug, Default)]
pub struct LastSignIns<'a> {
    by_user_id: HashMap<&'a IdcUserId, (DateTime<Utc>, &'static str)>,
    by_user_name: HashMap<&'a str, (DateTime<Utc>, &'static str)>,
}

impl<'a> LastSignIns<'a> {
    /// From CloudTrail activity only.
    pub fn build(activity: &'a [ActivityEvent]) -> Self {
        let mut latest = Self::default();
        latest.add(activity, SOURCE_CLOUDTRAIL);
        latest
    }

    /// From the snapshot's CloudTrail activity and, when it was read, the activity record's latest uses.
    pub fn of_snapshot(snapshot: &'a OrgSnapshot) -> Self {
        let mut latest = Self::build(&snapshot.activity);
        if let Some(recorded) = &snapshot.recorded_uses {
            latest.add(&recorded.events, SOURCE_ACTIVITY_RECORD);
        }
        latest
    }

    /// Keeps each actor's latest use of AWS (the earlier source on a tie): not a SCIM call, not a failed call (an
    /// AccessDenied after a deprovision is no sign-in).
    fn add(&mut self, events: &'a [ActivityEvent], source: &'static str) {
        let later = |known: &mut (DateTime<Utc>, &'static str), at: DateTime<Utc>| {
            if at > known.0 {
                *known = (at, source);
            }
        };
        for event in events.iter().filter(|e| e.is_use_of_access()) {
            if let Some(id) = &event.actor_user_id {
                later(
                    self.by_user_id.entry(id).or_insert((event.event_time, source)),
                    event.event_time,
                );
            }
            if let Some(name) = event.actor_user_name.as_deref() {
                later(
                    self.by_user_name.entry(name).or_insert((event.event_time, source)),
                    event.event_time,
                );
            }
        }
    }

    /// The person's last sign-in: their latest AWS use (an event naming their IdC user id or user name) or Okta's
    /// `lastLogin`, whichever is later (AWS on a tie).
    pub fn of(&self, okta: Option<&OktaUser>, idc: &IdcUser) -> Option<(DateTime<Utc>, &'static str)> {
        let in_aws = [
            self.by_user_id.get(&idc.id),
            self.by_user_name.get(idc.user_name.as_str()),
        ]
        .into_iter()
        .flatten()
        .max_by_key(|(at, _)| *at)
        .copied();
        let in_okta = okta.and_then(|o| o.last_login).map(|t| (t, SOURCE_OKTA_LAST_LOGIN));
        match (in_aws, in_okta) {
            (Some(a), Some(o)) => Some(if a.0 >= o.0 { a } else { o }),
            (a, o) => a.or(o),
        }
    }
}

/// Every effective access in the snapshot: each Identity Center user's direct assignments and those through each
/// group they are in, with the linked Okta person and their last sign-in. Sorted by user name, account,
/// permission set and path, so two runs compare row by row. Linear in users, groups and assignments (the lookups
/// go through the links' `IdcIndex` and one `LastSignIns`).
pub fn access_rows(snapshot: &OrgSnapshot, links: &IdentityLinks<'_>) -> AccessTable {
    let idc = links.idc();
    let sign_ins = LastSignIns::of_snapshot(snapshot);
    // Counted first, so the rows are allocated once at their size (not grown to the next power of two).
    let rows: usize = snapshot
        .idc
        .users
        .iter()
        .map(|user| {
            idc.groups_with_member(&user.id)
                .iter()
                .map(|g| idc.assignments_of(&Principal::Group((*g).clone())).count())
                .fold(
                    idc.assignments_of(&Principal::User(user.id.clone())).count(),
                    usize::saturating_add,
                )
        })
        .fold(0, usize::saturating_add);
    let mut table = AccessTableBuilder::with_capacity(rows);
    for user in &snapshot.idc.users {
        let okta = links.okta_user_for(&user.id);
        let sign_in = sign_ins.of(okta, user);
        let direct = Principal::User(user.id.clone());
        let mut paths: Vec<(Option<&IdcGroupId>, &crate::domain::AccountAssignment)> =
            idc.assignments_of(&direct).map(|a| (None, a)).collect();
        for group in idc.groups_with_member(&user.id) {
            let principal = Principal::Group((*group).clone());
            paths.extend(idc.assignments_of(&principal).map(|a| (Some(*group), a)));
        }
        if paths.is_empty() {
            continue;
        }
        // The person's facts once (each Identity Center user comes once), shared by every row of theirs.
        let person = table.new_person(AccessPerson {
            idc_user_id: user.id.clone(),
            user_name: user.user_name.clone(),
            idc_status: user.status.as_str().to_owned(),
            okta_login: okta.map(|o| o.login.to_string()),
            okta_status: okta.map(|o| o.effective_status().as_str().to_owned()),
            last_sign_in: sign_in.map(|(t, _)| t),
            last_sign_in_source: sign_in.map(|(_, s)| s.to_owned()),
        });
        for (group, a) in paths {
            let group_name = group.map(|g| idc.group(g).map_or_else(|| g.as_str(), |n| n.display_name.as_str()));
            table.access(
                person,
                &a.account_id,
                &a.permission_set_arn,
                idc.set_name(&a.permission_set_arn),
                group_name,
            );
        }
    }
    let mut table = table.finish();
    table.sort();
    table
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
        assert_eq!(carol[0].okta_status, Some("ACTIVE"));
        let bob = rows
            .iter()
            .find(|r| r.user_name == "bob.martin@acme.example")
            .expect("bob has access");
        assert_eq!(bob.via_group, Some("aws-production-developers"));
        assert_eq!(bob.okta_status, Some("DEPROVISIONED"));
    }

    #[test]
    fn on_a_generated_org_each_row_is_one_of_the_users_effective_assignments() {
        let shape = crate::generated_org::OrgShape {
            users: 300,
            groups: 30,
            accounts: 10,
            permission_sets: 5,
            assignments: 600,
        };
        let snapshot = crate::generated_org::snapshot(&shape, Utc::now());
        let links = IdentityLinks::build(&snapshot.okta, &snapshot.idc, &LinkPolicy::default());
        let rows = access_rows(&snapshot, &links);
        assert_eq!(rows.len(), shape.effective_rows());
        for user in snapshot.idc.users.iter().step_by(17) {
            let mut from_rows: Vec<_> = rows
                .iter()
                .filter(|r| *r.idc_user_id == user.id)
                .map(|r| {
                    (
                        r.account_id.clone(),
                        r.permission_set_arn.clone(),
                        r.via_group.map(str::to_owned),
                    )
                })
                .collect();
            from_rows.sort();
            let mut expected: Vec<_> = snapshot
                .idc
                .effective_assignments(&user.id)
                .into_iter()
                .map(|a| {
                    let group = a.via_group.and_then(|g| snapshot.idc.groups.iter().find(|x| x.id == g));
                    (
                        a.account_id,
                        a.permission_set_arn,
                        group.map(|g| g.display_name.clone()),
                    )
                })
                .collect();
            expected.sort();
            assert_eq!(from_rows, expected, "{}", user.user_name);
            assert!(rows.iter().any(|r| *r.idc_user_id == user.id && r.okta_login.is_some()));
        }
    }

    #[test]
    fn a_refused_call_or_a_scim_call_is_no_sign_in() {
        let mut snapshot = demo();
        let mut used = snapshot.activity[0].clone();
        let user = snapshot.idc.users[0].clone();
        used.actor_user_id = Some(user.id.clone());
        used.event_time = snapshot.collected_at - chrono::Duration::days(10);
        let mut refused = used.clone();
        refused.event_id = "refused".into();
        refused.event_time = snapshot.collected_at - chrono::Duration::days(1);
        refused.error_code = Some("AccessDenied".into());
        let mut scim = used.clone();
        scim.event_id = "scim".into();
        scim.event_source = crate::domain::activity::SCIM_EVENT_SOURCE.into();
        scim.event_time = snapshot.collected_at - chrono::Duration::hours(1);
        snapshot.activity = vec![used.clone(), refused, scim];
        let index = LastSignIns::build(&snapshot.activity);
        assert_eq!(index.of(None, &user).map(|(t, _)| t), Some(used.event_time));
    }

    #[test]
    fn the_indexed_last_sign_in_is_the_scans_latest_use_by_id_or_name() {
        let mut snapshot = demo();
        let template = snapshot.activity[0].clone();
        let users = snapshot.idc.users.clone();
        for (n, user) in users.iter().enumerate() {
            for k in 0..3i64 {
                let mut event = template.clone();
                event.event_id = format!("generated-{n}-{k}");
                event.event_time = snapshot.collected_at - chrono::Duration::hours(7 * k + n as i64);
                // By id, by name (a role session names only the user), or both.
                if k != 1 {
                    event.actor_user_id = Some(user.id.clone());
                } else {
                    event.actor_user_id = None;
                }
                event.actor_user_name = (k != 0).then(|| user.user_name.clone());
                snapshot.activity.push(event);
            }
        }
        let index = LastSignIns::build(&snapshot.activity);
        for user in &users {
            let scanned = snapshot
                .activity
                .iter()
                .filter(|e| {
                    e.actor_user_id.as_ref() == Some(&user.id)
                        || e.actor_user_name.as_deref() == Some(user.user_name.as_str())
                })
                .map(|e| e.event_time)
                .max();
            assert_eq!(index.of(None, user).map(|(t, _)| t), scanned, "{}", user.user_name);
        }
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
