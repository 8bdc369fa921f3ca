//! Which Okta user is which Identity Center user.

use std::collections::HashMap;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use super::idc::{EffectiveAssignment, IdcUser, Principal};
use super::ids::{IdcUserId, OktaUserId};
use super::okta::OktaUser;
use super::snapshot::{IdcSide, OktaSide};
use crate::error::Error;

/// How an Okta login appears in Identity Center. Okta's AWS IAM Identity Center app sends the Okta username
/// as `userName` by default; some orgs map the email instead.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum LoginMapping {
    /// Identity Center `userName` = Okta login.
    #[default]
    UserName,
    /// Identity Center primary email = Okta login.
    Email,
}

impl FromStr for LoginMapping {
    type Err = Error;
    fn from_str(value: &str) -> Result<Self, Error> {
        match value.to_ascii_lowercase().as_str() {
            "user-name" | "username" | "login" => Ok(Self::UserName),
            "email" => Ok(Self::Email),
            _ => Err(Error::Invalid {
                what: "login mapping",
                value: value.chars().take(32).collect(),
                reason: "must be user-name or email",
            }),
        }
    }
}

/// The pairs found between the two sides. A user found on one side only is simply absent here.
#[derive(Debug, Default)]
pub struct IdentityLinks<'a> {
    okta_by_idc: HashMap<&'a IdcUserId, &'a OktaUser>,
    idc_by_okta: HashMap<&'a OktaUserId, Vec<&'a IdcUser>>,
}

impl<'a> IdentityLinks<'a> {
    /// Links each Identity Center user to an Okta user: first by the id Okta recorded when it provisioned the
    /// app user (`externalId`), then by the login mapping.
    pub fn build(okta: &'a OktaSide, idc: &'a IdcSide, mapping: LoginMapping) -> Self {
        let okta_by_id: HashMap<&OktaUserId, &OktaUser> = okta.users.iter().map(|u| (&u.id, u)).collect();
        let okta_by_login: HashMap<String, &OktaUser> = okta
            .users
            .iter()
            .map(|u| (u.login.as_str().to_lowercase(), u))
            .collect();
        let provisioned_as: HashMap<String, &OktaUserId> = okta
            .app
            .app_users
            .iter()
            .filter_map(|au| au.external_id.as_ref().map(|ext| (ext.clone(), &au.user_id)))
            .collect();

        let mut links = Self::default();
        for user in &idc.users {
            let by_external_id = provisioned_as
                .get(user.id.as_str())
                .and_then(|id| okta_by_id.get(id))
                .copied();
            let by_login = || match mapping {
                LoginMapping::UserName => okta_by_login.get(&user.user_name.to_lowercase()).copied(),
                LoginMapping::Email => user
                    .emails
                    .iter()
                    .find_map(|e| okta_by_login.get(&e.to_lowercase()).copied()),
            };
            if let Some(okta_user) = by_external_id.or_else(by_login) {
                links.okta_by_idc.insert(&user.id, okta_user);
                links.idc_by_okta.entry(&okta_user.id).or_default().push(user);
            }
        }
        links
    }

    pub fn okta_user_for(&self, idc_user: &IdcUserId) -> Option<&'a OktaUser> {
        self.okta_by_idc.get(idc_user).copied()
    }

    /// The person's Identity Center user: the one that can still sign in, if several link to them.
    pub fn idc_user_for(&self, okta_user: &OktaUserId) -> Option<&'a IdcUser> {
        let users = self.idc_users_for(okta_user);
        users.iter().find(|u| u.status.can_sign_in()).or(users.first()).copied()
    }

    /// Every Identity Center user linked to the person (by provisioned id and by login, they can differ).
    pub fn idc_users_for(&self, okta_user: &OktaUserId) -> &[&'a IdcUser] {
        self.idc_by_okta.get(okta_user).map_or(&[], Vec::as_slice)
    }
}

impl IdcSide {
    /// Every account assignment the user holds: direct ones, and those through each group they belong to.
    pub fn effective_assignments(&self, user: &IdcUserId) -> Vec<EffectiveAssignment> {
        let groups: Vec<_> = self
            .groups
            .iter()
            .filter(|g| g.members.contains(user))
            .map(|g| &g.id)
            .collect();
        let mut found: Vec<EffectiveAssignment> = self
            .assignments
            .iter()
            .filter_map(|a| {
                let via_group = match &a.principal {
                    Principal::User(id) if id == user => None,
                    Principal::Group(id) if groups.contains(&id) => Some(id.clone()),
                    _ => return None,
                };
                let set = self.permission_sets.iter().find(|p| p.arn == a.permission_set_arn);
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

    pub fn user(&self, id: &IdcUserId) -> Option<&IdcUser> {
        self.users.iter().find(|u| &u.id == id)
    }
}
