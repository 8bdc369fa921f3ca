//! Which Okta user is which Identity Center user.

use std::collections::HashMap;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use super::idc::IdcUser;
use super::idc_index::IdcIndex;
use super::ids::{IdcUserId, OktaUserId};
use super::okta::{AppUser, OktaUser};
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

/// How an Okta person was linked to an Identity Center user, strongest first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum LinkBasis {
    /// The AWS app user's `externalId`: the Identity Center user id SCIM created (Okta's own record).
    AppUserExternalId,
    /// The AWS app user's username (`credentials.userName`), which SCIM sends as the IdC `userName`.
    AppUserName,
    /// The SCIM external id (issuer + Okta user id) on the IdC user, when the issuer is configured.
    ScimExternalId,
    /// The Okta login or email equal to the IdC `userName` or email: a guess, named as weak.
    Login,
}

impl LinkBasis {
    /// A link by login or email is a guess: another person's stale account can match it.
    pub fn is_weak(self) -> bool {
        self == Self::Login
    }

    pub fn describe(self) -> &'static str {
        match self {
            Self::AppUserExternalId => "the Okta AWS app user's externalId",
            Self::AppUserName => "the Okta AWS app user's username",
            Self::ScimExternalId => "the SCIM external id",
            Self::Login => "the Okta login or email (weak: a guess)",
        }
    }
}

/// What an Identity Center user can be looked up by.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum LinkKey {
    UserId(IdcUserId),
    UserName(String),
    Email(String),
    ExternalId { issuer: String, id: String },
}

/// One way to find the person's Identity Center account, and why it would be theirs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinkCandidate {
    pub key: LinkKey,
    pub basis: LinkBasis,
    /// Kept from an earlier look (Okta may no longer serve the record it came from).
    pub remembered: bool,
}

/// A link seen before, kept so that a deprovision which removes Okta's record can still be linked.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RememberedLink {
    pub idc_user_id: IdcUserId,
    pub basis: LinkBasis,
}

/// What Okta says about one person, the inputs to linking.
#[derive(Debug, Clone, Copy)]
pub struct PersonRecord<'a> {
    pub okta_user_id: &'a OktaUserId,
    /// Login and email (and the login a hook event named), in that order.
    pub logins: &'a [String],
    /// The AWS app user, if Okta still has one.
    pub app_user: Option<&'a AppUser>,
    pub remembered: &'a [RememberedLink],
}

impl PersonRecord<'_> {
    /// Okta's record says the person was provisioned to AWS (or was, when last seen).
    pub fn says_provisioned(&self) -> bool {
        self.app_user
            .is_some_and(|a| a.external_id.is_some() || a.user_name.is_some())
            || !self.remembered.is_empty()
    }
}

/// How to link: which login attribute maps to IdC, and the SCIM external id issuer if it is known.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LinkPolicy {
    pub login_mapping: LoginMapping,
    /// The issuer of the `ExternalIds` SCIM gives Identity Center users (`IDC_EXTERNAL_ID_ISSUER`).
    pub scim_issuer: Option<String>,
}

/// Every way to find the person's Identity Center accounts, strongest first and without repeats: Okta's app user
/// record (externalId, then app username), links remembered from earlier looks, the SCIM external id, and last
/// the logins (weak). The one linking rule of the auditor: snapshots, the checker and the CLI all use it.
pub fn link_candidates(person: &PersonRecord<'_>, policy: &LinkPolicy) -> Vec<LinkCandidate> {
    let mut candidates: Vec<LinkCandidate> = Vec::new();
    let mut add = |key: LinkKey, basis: LinkBasis, remembered: bool| {
        if !candidates.iter().any(|c| c.key == key) {
            candidates.push(LinkCandidate { key, basis, remembered });
        }
    };
    if let Some(app_user) = person.app_user {
        if let Some(id) = app_user.idc_user_id() {
            add(LinkKey::UserId(id), LinkBasis::AppUserExternalId, false);
        }
        if let Some(name) = &app_user.user_name {
            add(LinkKey::UserName(name.clone()), LinkBasis::AppUserName, false);
        }
    }
    for link in person.remembered {
        add(LinkKey::UserId(link.idc_user_id.clone()), link.basis, true);
    }
    if let Some(issuer) = &policy.scim_issuer {
        let key = LinkKey::ExternalId {
            issuer: issuer.clone(),
            id: person.okta_user_id.to_string(),
        };
        add(key, LinkBasis::ScimExternalId, false);
    }
    for login in person.logins.iter().filter(|l| !l.is_empty()) {
        let (first, second) = match policy.login_mapping {
            LoginMapping::UserName => (LinkKey::UserName(login.clone()), LinkKey::Email(login.clone())),
            LoginMapping::Email => (LinkKey::Email(login.clone()), LinkKey::UserName(login.clone())),
        };
        add(first, LinkBasis::Login, false);
        add(second, LinkBasis::Login, false);
    }
    candidates
}

/// An Identity Center account linked to the person, and how.
#[derive(Debug, Clone, PartialEq)]
pub struct LinkedAccount<U> {
    pub user: U,
    pub basis: LinkBasis,
    pub remembered: bool,
}

/// The outcome of linking one person: every account found (each once, by its strongest link), and the strong
/// links that lead nowhere (the IdC user id or username Okta provisioned does not exist).
#[derive(Debug, Clone, PartialEq)]
pub struct PersonLinks<U> {
    pub accounts: Vec<LinkedAccount<U>>,
    pub dangling: Vec<LinkCandidate>,
}

impl<U> Default for PersonLinks<U> {
    fn default() -> Self {
        Self {
            accounts: Vec::new(),
            dangling: Vec::new(),
        }
    }
}

impl<U: Clone> PersonLinks<U> {
    /// Folds each candidate's answer (`None`: no such user) into the person's links. `id_of` names a user.
    pub fn resolve(
        answers: impl IntoIterator<Item = (LinkCandidate, Option<U>)>,
        id_of: impl Fn(&U) -> &IdcUserId,
    ) -> Self {
        let mut links = Self::default();
        for (candidate, found) in answers {
            match found {
                Some(user) => match links.accounts.iter_mut().find(|a| id_of(&a.user) == id_of(&user)) {
                    Some(known) if candidate.basis < known.basis => {
                        known.basis = candidate.basis;
                        known.remembered = candidate.remembered;
                    }
                    Some(_) => {}
                    None => links.accounts.push(LinkedAccount {
                        user,
                        basis: candidate.basis,
                        remembered: candidate.remembered,
                    }),
                },
                // A strong link (Okta's record, a remembered one, the SCIM external id) that leads nowhere is
                // worth saying; a login that matches nothing is not.
                None if !candidate.basis.is_weak() => links.dangling.push(candidate),
                None => {}
            }
        }
        links.accounts.sort_by_key(|a| (a.basis, a.remembered));
        links
    }

    /// What to remember for the next look: every strong link found (a weak one is re-guessed each time).
    pub fn to_remember(&self, id_of: impl Fn(&U) -> &IdcUserId) -> Vec<RememberedLink> {
        self.accounts
            .iter()
            .filter(|a| !a.basis.is_weak())
            .map(|a| RememberedLink {
                idc_user_id: id_of(&a.user).clone(),
                basis: a.basis,
            })
            .collect()
    }
}

/// The identity store answers one lookup from memory (a snapshot's IdC side), as GetUserId + DescribeUser would.
pub fn find_in<'a>(idc: &'a IdcSide, key: &LinkKey) -> Option<&'a IdcUser> {
    idc.users.iter().find(|u| match key {
        LinkKey::UserId(id) => &u.id == id,
        LinkKey::UserName(name) => u.user_name.eq_ignore_ascii_case(name),
        LinkKey::Email(email) => u.emails.iter().any(|e| e.eq_ignore_ascii_case(email)),
        LinkKey::ExternalId { issuer, id } => u.external_ids.iter().any(|x| &x.issuer == issuer && &x.id == id),
    })
}

/// The pairs found between the two sides of a snapshot, by `link_candidates`.
#[derive(Debug)]
pub struct IdentityLinks<'a> {
    okta_by_idc: HashMap<&'a IdcUserId, (&'a OktaUser, LinkBasis)>,
    idc_by_okta: HashMap<&'a OktaUserId, PersonLinks<&'a IdcUser>>,
    /// The IdC side the links were found in, indexed: the rules ask it per person too.
    idc: IdcIndex<'a>,
}

impl<'a> IdentityLinks<'a> {
    /// Links every Okta user to the Identity Center users Okta's record (and, last, their login) points to. An IdC
    /// user claimed by two people belongs to the one with the stronger link.
    pub fn build(okta: &'a OktaSide, idc: &'a IdcSide, policy: &LinkPolicy) -> Self {
        let mut links = Self {
            okta_by_idc: HashMap::with_capacity(idc.users.len()),
            idc_by_okta: HashMap::with_capacity(okta.users.len()),
            idc: IdcIndex::build(idc),
        };
        // The first app user of each person, as a scan of the app's users finds it.
        let mut app_users: HashMap<&OktaUserId, &AppUser> = HashMap::with_capacity(okta.app.app_users.len());
        for app_user in &okta.app.app_users {
            app_users.entry(&app_user.user_id).or_insert(app_user);
        }
        for user in &okta.users {
            let app_user = app_users.get(&user.id).copied();
            let logins: Vec<String> = std::iter::once(user.login.to_string())
                .chain(user.email.clone())
                .collect();
            let person = PersonRecord {
                okta_user_id: &user.id,
                logins: &logins,
                app_user,
                remembered: &[],
            };
            let answers = link_candidates(&person, policy).into_iter().map(|c| {
                let found = links.idc.find(&c.key);
                (c, found)
            });
            let found = PersonLinks::resolve(answers, |u: &&IdcUser| &u.id);
            for account in &found.accounts {
                let stronger = links
                    .okta_by_idc
                    .get(&account.user.id)
                    .is_none_or(|(_, basis)| account.basis < *basis);
                if stronger {
                    links.okta_by_idc.insert(&account.user.id, (user, account.basis));
                }
            }
            links.idc_by_okta.insert(&user.id, found);
        }
        links
    }

    pub fn okta_user_for(&self, idc_user: &IdcUserId) -> Option<&'a OktaUser> {
        self.okta_by_idc.get(idc_user).map(|(user, _)| *user)
    }

    /// The person's Identity Center user: the one that can still sign in, if several link to them.
    pub fn idc_user_for(&self, okta_user: &OktaUserId) -> Option<&'a IdcUser> {
        let users = self.idc_users_for(okta_user);
        users.iter().find(|u| u.status.can_sign_in()).or(users.first()).copied()
    }

    /// Every Identity Center user linked to the person, strongest link first.
    pub fn idc_users_for(&self, okta_user: &OktaUserId) -> Vec<&'a IdcUser> {
        self.links_of(okta_user)
            .map_or_else(Vec::new, |l| l.accounts.iter().map(|a| a.user).collect())
    }

    /// The Identity Center side the links were built over, indexed.
    pub fn idc(&self) -> &IdcIndex<'a> {
        &self.idc
    }

    /// The person's links, with their basis and the dangling ones.
    pub fn links_of(&self, okta_user: &OktaUserId) -> Option<&PersonLinks<&'a IdcUser>> {
        self.idc_by_okta.get(okta_user)
    }
}
