//! The Identity Center side of a snapshot, indexed once: the lookups every rule makes per person (a user by id,
//! name, email or external id; the groups a user is in; the assignments of a principal; a permission set by ARN)
//! answered from hash maps instead of a scan of the whole side each time. An org of 10,000 users and 20,000
//! assignments made each per-person scan cost 10⁸ comparisons; building this is linear in the side's size.
//!
//! Every answer is the one the plain scan gives (same first match, same order): the tests check it against the
//! scans on a generated org.

use std::collections::{HashMap, HashSet};

use super::idc::{AccountAssignment, EffectiveAssignment, IdcGroup, IdcUser, PermissionSet, Principal};
use super::identity::LinkKey;
use super::ids::{IdcGroupId, IdcUserId, PermissionSetArn};
use super::snapshot::IdcSide;

/// Lookups over one `IdcSide`, borrowed from it.
#[derive(Debug)]
pub struct IdcIndex<'a> {
    idc: &'a IdcSide,
    /// Each key maps to the position of the first user (in the side's order) it matches.
    by_id: HashMap<&'a IdcUserId, usize>,
    /// ASCII-lowercased user names and emails (the scans compare them with `eq_ignore_ascii_case`).
    by_user_name: HashMap<String, usize>,
    by_email: HashMap<String, usize>,
    by_external_id: HashMap<(&'a str, &'a str), usize>,
    /// The ids of the groups each user is a member of, each once, in the side's group order.
    groups_of: HashMap<&'a IdcUserId, Vec<&'a IdcGroupId>>,
    /// The first group with each id.
    groups: HashMap<&'a IdcGroupId, &'a IdcGroup>,
    /// Positions in `idc.assignments` of each principal's assignments, ascending.
    by_principal: HashMap<&'a Principal, Vec<usize>>,
    /// The first permission set with each ARN.
    sets: HashMap<&'a PermissionSetArn, &'a PermissionSet>,
}

impl<'a> IdcIndex<'a> {
    pub fn build(idc: &'a IdcSide) -> Self {
        let mut by_id = HashMap::with_capacity(idc.users.len());
        let mut by_user_name = HashMap::with_capacity(idc.users.len());
        let mut by_email = HashMap::new();
        let mut by_external_id = HashMap::new();
        for (n, user) in idc.users.iter().enumerate() {
            by_id.entry(&user.id).or_insert(n);
            by_user_name.entry(user.user_name.to_ascii_lowercase()).or_insert(n);
            for email in &user.emails {
                by_email.entry(email.to_ascii_lowercase()).or_insert(n);
            }
            for x in &user.external_ids {
                by_external_id.entry((x.issuer.as_str(), x.id.as_str())).or_insert(n);
            }
        }
        let mut groups_of: HashMap<&IdcUserId, Vec<&IdcGroupId>> = HashMap::new();
        let mut groups = HashMap::with_capacity(idc.groups.len());
        for group in &idc.groups {
            groups.entry(&group.id).or_insert(group);
            for member in &group.members {
                let of = groups_of.entry(member).or_default();
                if !of.contains(&&group.id) {
                    of.push(&group.id);
                }
            }
        }
        let mut by_principal: HashMap<&Principal, Vec<usize>> = HashMap::new();
        for (n, assignment) in idc.assignments.iter().enumerate() {
            by_principal.entry(&assignment.principal).or_default().push(n);
        }
        let mut sets = HashMap::with_capacity(idc.permission_sets.len());
        for set in &idc.permission_sets {
            sets.entry(&set.arn).or_insert(set);
        }
        Self {
            idc,
            by_id,
            by_user_name,
            by_email,
            by_external_id,
            groups_of,
            groups,
            by_principal,
            sets,
        }
    }

    pub fn side(&self) -> &'a IdcSide {
        self.idc
    }

    /// The first user the key matches, as `identity::find_in` finds it.
    pub fn find(&self, key: &LinkKey) -> Option<&'a IdcUser> {
        let n = match key {
            LinkKey::UserId(id) => self.by_id.get(id),
            LinkKey::UserName(name) => self.by_user_name.get(&name.to_ascii_lowercase()),
            LinkKey::Email(email) => self.by_email.get(&email.to_ascii_lowercase()),
            LinkKey::ExternalId { issuer, id } => self.by_external_id.get(&(issuer.as_str(), id.as_str())),
        };
        n.and_then(|n| self.idc.users.get(*n))
    }

    pub fn user(&self, id: &IdcUserId) -> Option<&'a IdcUser> {
        self.by_id.get(id).and_then(|n| self.idc.users.get(*n))
    }

    pub fn group(&self, id: &IdcGroupId) -> Option<&'a IdcGroup> {
        self.groups.get(id).copied()
    }

    pub fn permission_set(&self, arn: &PermissionSetArn) -> Option<&'a PermissionSet> {
        self.sets.get(arn).copied()
    }

    /// The permission set's name, or its ARN when the snapshot does not describe it.
    pub fn set_name(&self, arn: &'a PermissionSetArn) -> &'a str {
        self.permission_set(arn).map_or(arn.as_str(), |p| p.name.as_str())
    }

    /// The groups the user is a member of, in the side's order.
    pub fn groups_with_member(&self, user: &IdcUserId) -> &[&'a IdcGroupId] {
        self.groups_of.get(user).map_or(&[], Vec::as_slice)
    }

    /// The principal's assignments, in the side's order.
    pub fn assignments_of(&self, principal: &Principal) -> impl Iterator<Item = &'a AccountAssignment> + '_ {
        self.by_principal
            .get(principal)
            .into_iter()
            .flatten()
            .filter_map(|n| self.idc.assignments.get(*n))
    }

    /// Every account assignment the user holds: direct ones, and those through each group they belong to; sorted
    /// by account, permission set and group.
    pub fn effective_assignments(&self, user: &IdcUserId) -> Vec<EffectiveAssignment> {
        let groups: HashSet<&IdcGroupId> = self.groups_with_member(user).iter().copied().collect();
        let mut positions: Vec<usize> = self
            .by_principal
            .get(&Principal::User(user.clone()))
            .into_iter()
            .flatten()
            .copied()
            .collect();
        for group in &groups {
            positions.extend(
                self.by_principal
                    .get(&Principal::Group((*group).clone()))
                    .into_iter()
                    .flatten(),
            );
        }
        // The side's order first, then a stable sort: ties come out as a scan of the assignments gives them.
        positions.sort_unstable();
        positions.dedup();
        let mut found: Vec<EffectiveAssignment> = positions
            .into_iter()
            .filter_map(|n| self.idc.assignments.get(n))
            .map(|a| {
                let set = self.permission_set(&a.permission_set_arn);
                EffectiveAssignment {
                    account_id: a.account_id.clone(),
                    permission_set_arn: a.permission_set_arn.clone(),
                    permission_set_name: set.map(|p| p.name.clone()),
                    session_duration: set.and_then(|p| p.session_duration.clone()),
                    via_group: match &a.principal {
                        Principal::User(_) => None,
                        Principal::Group(id) => Some(id.clone()),
                    },
                }
            })
            .collect();
        found.sort_by(|a, b| {
            (&a.account_id, &a.permission_set_arn, &a.via_group).cmp(&(
                &b.account_id,
                &b.permission_set_arn,
                &b.via_group,
            ))
        });
        found
    }
}

impl IdcSide {
    /// Every account assignment the user holds (`IdcIndex::effective_assignments`; build an `IdcIndex` once to ask
    /// for many users).
    pub fn effective_assignments(&self, user: &IdcUserId) -> Vec<EffectiveAssignment> {
        IdcIndex::build(self).effective_assignments(user)
    }

    pub fn user(&self, id: &IdcUserId) -> Option<&IdcUser> {
        self.users.iter().find(|u| &u.id == id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::identity::find_in;
    use crate::domain::{AccountId, ExternalId};
    use crate::generated_org::{OrgShape, idc_side};

    /// The plain scan the index replaces: every group, then every assignment, for one user.
    fn scanned(idc: &IdcSide, user: &IdcUserId) -> Vec<EffectiveAssignment> {
        let groups: Vec<_> = idc
            .groups
            .iter()
            .filter(|g| g.members.contains(user))
            .map(|g| &g.id)
            .collect();
        let mut found: Vec<EffectiveAssignment> = idc
            .assignments
            .iter()
            .filter_map(|a| {
                let via_group = match &a.principal {
                    Principal::User(id) if id == user => None,
                    Principal::Group(id) if groups.contains(&id) => Some(id.clone()),
                    _ => return None,
                };
                let set = idc.permission_sets.iter().find(|p| p.arn == a.permission_set_arn);
                Some(EffectiveAssignment {
                    account_id: a.account_id.clone(),
                    permission_set_arn: a.permission_set_arn.clone(),
                    permission_set_name: set.map(|p| p.name.clone()),
                    session_duration: set.and_then(|p| p.session_duration.clone()),
                    via_group,
                })
            })
            .collect();
        found.sort_by(|a, b| {
            (&a.account_id, &a.permission_set_arn, &a.via_group).cmp(&(
                &b.account_id,
                &b.permission_set_arn,
                &b.via_group,
            ))
        });
        found
    }

    /// A generated org with the awkward cases added: an undescribed permission set, the same assignment twice
    /// (on a group and to a user), a member listed twice, a user in no group, names differing only in case.
    fn awkward() -> IdcSide {
        let mut idc = idc_side(&OrgShape {
            users: 400,
            groups: 40,
            accounts: 12,
            permission_sets: 6,
            assignments: 900,
        });
        let first = idc.assignments[0].clone();
        idc.assignments.push(first.clone());
        let undescribed =
            PermissionSetArn::parse("arn:aws:sso:::permissionSet/ssoins-0000000000000000/ps-ffff").expect("arn");
        idc.assignments.push(AccountAssignment {
            permission_set_arn: undescribed,
            ..first
        });
        let user = idc.users[7].id.clone();
        idc.assignments.push(AccountAssignment {
            account_id: AccountId::parse("999999999999").expect("id"),
            permission_set_arn: idc.permission_sets[1].arn.clone(),
            principal: Principal::User(user.clone()),
        });
        idc.groups[3].members.push(user);
        for g in &mut idc.groups {
            g.members.retain(|m| *m != idc.users[11].id);
        }
        let mut twin = idc.users[5].clone();
        twin.id = IdcUserId::parse("9067a1b2c3-twin").expect("id");
        twin.user_name = twin.user_name.to_ascii_uppercase();
        twin.emails = vec!["SHARED@acme.example".into()];
        twin.external_ids.push(ExternalId {
            issuer: "other".into(),
            id: "x".into(),
        });
        idc.users.push(twin);
        idc
    }

    #[test]
    fn the_index_answers_every_users_effective_assignments_as_the_scan_does() {
        let idc = awkward();
        let index = IdcIndex::build(&idc);
        let mut compared = 0;
        for user in &idc.users {
            let indexed = index.effective_assignments(&user.id);
            assert_eq!(indexed, scanned(&idc, &user.id), "{}", user.user_name);
            compared += indexed.len();
        }
        assert!(
            compared > 1_000,
            "the generated org gives access to compare ({compared})"
        );
        assert!(
            index.effective_assignments(&idc.users[11].id).len() < 3,
            "only direct assignments"
        );
    }

    #[test]
    fn the_index_finds_the_user_the_scan_finds_for_every_kind_of_key() {
        let idc = awkward();
        let index = IdcIndex::build(&idc);
        let mut keys = vec![
            LinkKey::UserName("USER00005@ACME.EXAMPLE".into()),
            LinkKey::Email("shared@ACME.example".into()),
            LinkKey::UserName("nobody@acme.example".into()),
            LinkKey::ExternalId {
                issuer: "other".into(),
                id: "x".into(),
            },
            LinkKey::ExternalId {
                issuer: "OKTA".into(),
                id: idc.users[3].external_ids[0].id.clone(),
            },
        ];
        for user in idc.users.iter().step_by(37) {
            keys.push(LinkKey::UserId(user.id.clone()));
            keys.push(LinkKey::UserName(user.user_name.clone()));
            keys.extend(user.emails.iter().map(|e| LinkKey::Email(e.clone())));
            keys.extend(user.external_ids.iter().map(|x| LinkKey::ExternalId {
                issuer: x.issuer.clone(),
                id: x.id.clone(),
            }));
        }
        let mut found = 0;
        for key in &keys {
            let indexed = index.find(key).map(|u| &u.id);
            assert_eq!(indexed, find_in(&idc, key).map(|u| &u.id), "{key:?}");
            found += usize::from(indexed.is_some());
        }
        assert!(found > 20 && found < keys.len(), "{found} of {}", keys.len());
        assert_eq!(
            index
                .find(&LinkKey::UserName("USER00005@acme.example".into()))
                .map(|u| u.user_name.as_str()),
            Some("user00005@acme.example"),
            "the first of two names equal but for case, as the scan"
        );
    }
}
