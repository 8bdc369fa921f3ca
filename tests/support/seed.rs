//! Seeds an org into a `MotoAccount` the way AWS holds it: an organization with member accounts, identity-store
//! users (some DISABLED, as Okta's SCIM deactivation leaves them), groups with members, permission sets with
//! session durations, and account assignments (each provisioning its set to the account, as AWS does).
//!
//! ```ignore
//! let org = OrgSeed::new()
//!     .user("alice@example.com")
//!     .disabled_user("bob@example.com")
//!     .group("aws-production-developers", &["alice@example.com", "bob@example.com"])
//!     .permission_set("Developer", "PT8H")
//!     .assign_group("aws-production-developers", "Developer", "production")
//!     .seed(&account)
//!     .await;
//! let alice = org.user("alice@example.com");
//! ```

use std::collections::BTreeMap;

use aws_sdk_identitystore::types::{AttributeOperation, Email, MemberId, Name};
use aws_sdk_organizations::types::OrganizationFeatureSet;
use aws_sdk_ssoadmin::types::{PrincipalType, TargetType};
use aws_smithy_types::Document;
use serde_json::json;
use shared::domain::{AccountId, IdcGroupId, IdcInstance, IdcUserId, IdentityStoreId, InstanceArn, PermissionSetArn};

use crate::moto::MotoAccount;

/// An org to seed, described by names. Accounts named in assignments are created without being declared.
#[derive(Debug, Default)]
pub struct OrgSeed {
    accounts: Vec<String>,
    users: Vec<UserSeed>,
    groups: Vec<(String, Vec<String>)>,
    permission_sets: Vec<(String, String)>,
    assignments: Vec<AssignmentSeed>,
    /// (permission set, account): provisioned with no assignment (what stays after the last one is deleted).
    provisions: Vec<(String, String)>,
    delegated_admin: Option<String>,
}

#[derive(Debug)]
struct UserSeed {
    user_name: String,
    disabled: bool,
    external_id: Option<(String, String)>,
}

#[derive(Debug)]
enum PrincipalName {
    User(String),
    Group(String),
}

#[derive(Debug)]
struct AssignmentSeed {
    principal: PrincipalName,
    permission_set: String,
    account: String,
}

impl OrgSeed {
    pub fn new() -> Self {
        Self::default()
    }

    /// A member account of the organization (one with no assignments needs declaring; others need not).
    pub fn account(mut self, name: &str) -> Self {
        if !self.accounts.iter().any(|a| a == name) {
            self.accounts.push(name.to_owned());
        }
        self
    }

    /// A member account registered as delegated administrator for IAM Identity Center, as AWS does it: the
    /// management account enables trusted access for `sso.amazonaws.com` and registers the account
    /// (Organizations RegisterDelegatedAdministrator). Enter it with `MotoAccount::enter(org.account(name))`.
    pub fn delegated_admin(mut self, name: &str) -> Self {
        self = self.account(name);
        self.delegated_admin = Some(name.to_owned());
        self
    }

    /// An ENABLED user; `user_name` is also the primary email when it looks like one.
    pub fn user(self, user_name: &str) -> Self {
        self.add_user(user_name, false, None)
    }

    /// A user that SCIM deactivated (UserStatus DISABLED).
    pub fn disabled_user(self, user_name: &str) -> Self {
        self.add_user(user_name, true, None)
    }

    /// A user as SCIM provisions it, with an external id (e.g. issuer the IdP, id the Okta user id).
    pub fn scim_user(self, user_name: &str, issuer: &str, external_id: &str) -> Self {
        self.add_user(user_name, false, Some((issuer.to_owned(), external_id.to_owned())))
    }

    fn add_user(mut self, user_name: &str, disabled: bool, external_id: Option<(String, String)>) -> Self {
        self.users.push(UserSeed {
            user_name: user_name.to_owned(),
            disabled,
            external_id,
        });
        self
    }

    pub fn group(mut self, display_name: &str, members: &[&str]) -> Self {
        let members = members.iter().map(|m| (*m).to_owned()).collect();
        self.groups.push((display_name.to_owned(), members));
        self
    }

    /// A permission set with its ISO-8601 session duration (e.g. `PT8H`).
    pub fn permission_set(mut self, name: &str, session_duration: &str) -> Self {
        self.permission_sets
            .push((name.to_owned(), session_duration.to_owned()));
        self
    }

    pub fn assign_group(self, group: &str, permission_set: &str, account: &str) -> Self {
        self.assign(PrincipalName::Group(group.to_owned()), permission_set, account)
    }

    pub fn assign_user(self, user_name: &str, permission_set: &str, account: &str) -> Self {
        self.assign(PrincipalName::User(user_name.to_owned()), permission_set, account)
    }

    /// The set provisioned to the account with nobody assigned: its role stands there (ProvisionPermissionSet).
    pub fn provision(mut self, permission_set: &str, account: &str) -> Self {
        self = self.account(account);
        self.provisions.push((permission_set.to_owned(), account.to_owned()));
        self
    }

    fn assign(mut self, principal: PrincipalName, permission_set: &str, account: &str) -> Self {
        self = self.account(account);
        self.assignments.push(AssignmentSeed {
            principal,
            permission_set: permission_set.to_owned(),
            account: account.to_owned(),
        });
        self
    }

    /// Creates everything in `account` (which becomes the organization's management account).
    pub async fn seed(self, account: &MotoAccount) -> SeededOrg {
        let config = account.sdk_config();
        let organizations = aws_sdk_organizations::Client::new(config);
        let sso_admin = aws_sdk_ssoadmin::Client::new(config);
        let identity_store = aws_sdk_identitystore::Client::new(config);

        organizations
            .create_organization()
            .feature_set(OrganizationFeatureSet::All)
            .send()
            .await
            .expect("CreateOrganization");
        let mut accounts = BTreeMap::new();
        for name in &self.accounts {
            let status = organizations
                .create_account()
                .account_name(name)
                .email(format!("aws+{name}@example.com"))
                .send()
                .await
                .expect("CreateAccount")
                .create_account_status
                .expect("CreateAccount answers a status");
            let id = status.account_id.expect("moto creates accounts at once");
            accounts.insert(name.clone(), AccountId::parse(id).expect("an account id"));
        }
        if let Some(name) = &self.delegated_admin {
            const IDENTITY_CENTER: &str = "sso.amazonaws.com";
            organizations
                .enable_aws_service_access()
                .service_principal(IDENTITY_CENTER)
                .send()
                .await
                .expect("EnableAWSServiceAccess");
            organizations
                .register_delegated_administrator()
                .account_id(accounts[name].as_str())
                .service_principal(IDENTITY_CENTER)
                .send()
                .await
                .expect("RegisterDelegatedAdministrator");
        }

        let listed = sso_admin.list_instances().send().await.expect("ListInstances");
        let metadata = listed.instances().first().expect("moto has an instance per account");
        let instance = IdcInstance {
            instance_arn: InstanceArn::parse(metadata.instance_arn().expect("InstanceArn")).expect("instance ARN"),
            identity_store_id: IdentityStoreId::parse(metadata.identity_store_id().expect("IdentityStoreId"))
                .expect("identity store id"),
        };
        let store = instance.identity_store_id.as_str();

        let mut users = BTreeMap::new();
        for user in &self.users {
            let id = create_user(account, &identity_store, store, user).await;
            if user.disabled {
                identity_store
                    .update_user()
                    .identity_store_id(store)
                    .user_id(id.as_str())
                    .operations(
                        AttributeOperation::builder()
                            .attribute_path("userStatus")
                            .attribute_value(Document::String("DISABLED".into()))
                            .build()
                            .expect("an attribute operation"),
                    )
                    .send()
                    .await
                    .expect("UpdateUser userStatus DISABLED");
            }
            users.insert(user.user_name.clone(), id);
        }

        let mut groups = BTreeMap::new();
        for (display_name, members) in &self.groups {
            let group_id = identity_store
                .create_group()
                .identity_store_id(store)
                .display_name(display_name)
                .send()
                .await
                .expect("CreateGroup")
                .group_id;
            for member in members {
                let user_id = users
                    .get(member)
                    .unwrap_or_else(|| panic!("group {display_name}: no user {member}"));
                identity_store
                    .create_group_membership()
                    .identity_store_id(store)
                    .group_id(&group_id)
                    .member_id(MemberId::UserId(user_id.to_string()))
                    .send()
                    .await
                    .expect("CreateGroupMembership");
            }
            groups.insert(display_name.clone(), IdcGroupId::parse(group_id).expect("a group id"));
        }

        let mut permission_sets = BTreeMap::new();
        for (name, session_duration) in &self.permission_sets {
            // Always with a session duration: without one moto answers a number the SDK cannot read.
            let arn = sso_admin
                .create_permission_set()
                .instance_arn(instance.instance_arn.as_str())
                .name(name)
                .session_duration(session_duration)
                .send()
                .await
                .expect("CreatePermissionSet")
                .permission_set
                .and_then(|set| set.permission_set_arn)
                .expect("CreatePermissionSet answers the ARN");
            permission_sets.insert(
                name.clone(),
                PermissionSetArn::parse(arn).expect("a permission set ARN"),
            );
        }

        let org = SeededOrg {
            instance,
            management_account: account.id().clone(),
            users,
            groups,
            permission_sets,
            accounts,
        };
        for assignment in &self.assignments {
            let (principal_type, principal_id) = match &assignment.principal {
                PrincipalName::User(name) => (PrincipalType::User, org.user(name).to_string()),
                PrincipalName::Group(name) => (PrincipalType::Group, org.group(name).to_string()),
            };
            sso_admin
                .create_account_assignment()
                .instance_arn(org.instance.instance_arn.as_str())
                .target_type(TargetType::AwsAccount)
                .target_id(org.account(&assignment.account).as_str())
                .permission_set_arn(org.permission_set(&assignment.permission_set).as_str())
                .principal_type(principal_type)
                .principal_id(principal_id)
                .send()
                .await
                .expect("CreateAccountAssignment");
        }
        for (permission_set, target) in &self.provisions {
            sso_admin
                .provision_permission_set()
                .instance_arn(org.instance.instance_arn.as_str())
                .permission_set_arn(org.permission_set(permission_set).as_str())
                .target_type(aws_sdk_ssoadmin::types::ProvisionTargetType::AwsAccount)
                .target_id(org.account(target).as_str())
                .send()
                .await
                .expect("ProvisionPermissionSet");
        }
        org
    }
}

async fn create_user(
    account: &MotoAccount,
    identity_store: &aws_sdk_identitystore::Client,
    store: &str,
    user: &UserSeed,
) -> IdcUserId {
    let email = if user.user_name.contains('@') {
        user.user_name.clone()
    } else {
        format!("{}@example.com", user.user_name)
    };
    let given_name = user.user_name.split(['@', '.']).next().unwrap_or("user").to_owned();
    let id = match &user.external_id {
        // The CreateUser API has no ExternalIds (SCIM sets them); the launcher accepts the field in raw JSON.
        Some((issuer, external_id)) => {
            let body = json!({
                "IdentityStoreId": store,
                "UserName": user.user_name,
                "DisplayName": given_name,
                "Name": { "GivenName": given_name, "FamilyName": "Example" },
                "Emails": [{ "Value": email, "Type": "work", "Primary": true }],
                "ExternalIds": [{ "Issuer": issuer, "Id": external_id }],
            });
            let answer = account
                .call_json("identitystore", "AWSIdentityStore.CreateUser", &body)
                .await;
            answer["UserId"]
                .as_str()
                .expect("CreateUser answers a UserId")
                .to_owned()
        }
        None => {
            identity_store
                .create_user()
                .identity_store_id(store)
                .user_name(&user.user_name)
                .display_name(&given_name)
                .name(Name::builder().given_name(&given_name).family_name("Example").build())
                .emails(Email::builder().value(email).r#type("work").primary(true).build())
                .send()
                .await
                .expect("CreateUser")
                .user_id
        }
    };
    IdcUserId::parse(id).expect("a user id")
}

/// What was created, by name.
#[derive(Debug)]
pub struct SeededOrg {
    pub instance: IdcInstance,
    /// The account the org was seeded from; Organizations lists it with the member accounts.
    pub management_account: AccountId,
    users: BTreeMap<String, IdcUserId>,
    groups: BTreeMap<String, IdcGroupId>,
    permission_sets: BTreeMap<String, PermissionSetArn>,
    accounts: BTreeMap<String, AccountId>,
}

impl SeededOrg {
    pub fn user(&self, user_name: &str) -> &IdcUserId {
        named(&self.users, "user", user_name)
    }

    pub fn group(&self, display_name: &str) -> &IdcGroupId {
        named(&self.groups, "group", display_name)
    }

    pub fn permission_set(&self, name: &str) -> &PermissionSetArn {
        named(&self.permission_sets, "permission set", name)
    }

    pub fn account(&self, name: &str) -> &AccountId {
        named(&self.accounts, "account", name)
    }

    /// Every account of the organization: the management account and the member accounts.
    pub fn all_accounts(&self) -> Vec<AccountId> {
        let mut all: Vec<AccountId> = self.accounts.values().cloned().collect();
        all.push(self.management_account.clone());
        all.sort();
        all
    }
}

fn named<'a, T>(seeded: &'a BTreeMap<String, T>, kind: &str, name: &str) -> &'a T {
    seeded.get(name).unwrap_or_else(|| panic!("no seeded {kind} {name}"))
}
