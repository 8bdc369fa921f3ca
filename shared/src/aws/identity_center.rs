//! The `IdentityCenter` port over the identity store, sso-admin and Organizations APIs.
//!
//! Every list call follows every page, pages as large as each API allows. Built `gated`, each family's calls
//! (identitystore, sso-admin, organizations) pass that family's rate-limit gate, and fan-outs (memberships per
//! group, accounts per permission set, assignments per pair) keep several calls in flight: the gate, not this
//! code, decides how many run at once. Built with `new`, calls are not limited (the checker's few reads).

use std::collections::HashSet;

use aws_config::SdkConfig;
use aws_sdk_identitystore as identitystore;
use aws_sdk_organizations as organizations;
use aws_sdk_ssoadmin as ssoadmin;
use aws_smithy_types::Document;
use futures_util::future::try_join_all;
use futures_util::{StreamExt, TryStreamExt, stream};
use identitystore::types::{AlternateIdentifier, MemberId, UniqueAttribute, UserStatus};
use ssoadmin::types::{InstanceMetadata, PrincipalType, ProvisionTargetType, ProvisioningStatus, StatusValues};

use super::{contract_breach, missing};
use crate::domain::{
    AccountAssignment, AccountId, ExternalId, IdcGroup, IdcGroupId, IdcInstance, IdcUser, IdcUserId, IdcUserStatus,
    IdentityStoreId, InstanceArn, PermissionSet, PermissionSetArn, Principal, Provisioning,
};
use crate::error::{Error, Result};
use crate::ports::{IdentityCenter, PermissionSetEditor, ProvisionStatus, ProvisionWait, Provisioned, UserLookup};
use crate::rate_limit::{ApiFamily, Gates};

const IDENTITY_STORE: &str = "identitystore";
const SSO_ADMIN: &str = "sso-admin";
const ORGANIZATIONS: &str = "organizations";
/// The largest page the identity store and sso-admin list calls allow.
const PAGE_SIZE: i32 = 100;
/// The largest page Organizations ListAccounts allows.
const ACCOUNTS_PAGE_SIZE: i32 = 20;
/// How many items of a fan-out are worked on at once. Above any family's in-flight cap, so the gate is what
/// bounds the calls; bounded, so a 10,000-item fan-out does not hold 10,000 pending requests.
const FAN_OUT: usize = 32;

/// Every item of every page of a list call, pages as large as the API allows. `$request` is the call's fluent
/// builder with its parameters set. (A macro: each paginator is its own type, with no trait in common.)
macro_rules! every_item {
    ($request:expr, $service:expr, $operation:expr) => {
        $request
            .max_results(PAGE_SIZE)
            .into_paginator()
            .items()
            .send()
            .try_collect()
            .await
            .map_err(|e| Error::aws($service, $operation, e))
    };
}

/// IAM Identity Center as the AWS APIs show it: one instance, its identity store, and the organization's accounts.
#[derive(Debug, Clone)]
pub struct IdentityCenterClient {
    instance: IdcInstance,
    identity_store: identitystore::Client,
    sso_admin: ssoadmin::Client,
    organizations: organizations::Client,
}

impl IdentityCenterClient {
    pub fn new(config: &SdkConfig, instance: IdcInstance) -> Self {
        Self {
            instance,
            identity_store: identitystore::Client::new(config),
            sso_admin: ssoadmin::Client::new(config),
            organizations: organizations::Client::new(config),
        }
    }

    /// Each family's clients behind its gate: every request (page, retry) of identitystore, sso-admin and
    /// Organizations passes `gates.of(family)`. Share `gates` with every other client of the run.
    pub fn gated(config: &SdkConfig, instance: IdcInstance, gates: &Gates) -> Self {
        use super::gated_http::gated_config;
        Self {
            instance,
            identity_store: identitystore::Client::new(&gated_config(config, gates, ApiFamily::IdentityStore)),
            sso_admin: ssoadmin::Client::new(&gated_config(config, gates, ApiFamily::SsoAdmin)),
            organizations: organizations::Client::new(&gated_config(config, gates, ApiFamily::Organizations)),
        }
    }

    /// Finds the one Identity Center instance these credentials see (ListInstances).
    pub async fn discover(config: &SdkConfig) -> Result<Self> {
        let instances = every_item!(
            ssoadmin::Client::new(config).list_instances(),
            SSO_ADMIN,
            "ListInstances"
        )?;
        let instance = the_only_instance(instances)?;
        tracing::info!(
            instance_arn = %instance.instance_arn,
            identity_store_id = %instance.identity_store_id,
            "Identity Center instance discovered"
        );
        Ok(Self::new(config, instance))
    }

    fn store_id(&self) -> &str {
        self.instance.identity_store_id.as_str()
    }

    fn instance_arn(&self) -> &str {
        self.instance.instance_arn.as_str()
    }

    async fn members_of(&self, group: &IdcGroupId) -> Result<Vec<IdcUserId>> {
        const OPERATION: &str = "ListGroupMemberships";
        let memberships = every_item!(
            self.identity_store
                .list_group_memberships()
                .identity_store_id(self.store_id())
                .group_id(group.as_str()),
            IDENTITY_STORE,
            OPERATION
        )?;
        let mut members = Vec::with_capacity(memberships.len());
        for membership in memberships {
            match membership.member_id {
                Some(MemberId::UserId(id)) => {
                    members.push(IdcUserId::parse(id).map_err(contract_breach(IDENTITY_STORE, OPERATION))?)
                }
                other => {
                    tracing::debug!(group_id = %group, member = ?other, "membership of a kind other than a user skipped")
                }
            }
        }
        Ok(members)
    }

    /// The permission sets provisioned to an account, each once.
    async fn permission_sets_provisioned_to(&self, account: &AccountId) -> Result<Vec<String>> {
        let mut arns = every_item!(
            self.sso_admin
                .list_permission_sets_provisioned_to_account()
                .instance_arn(self.instance_arn())
                .account_id(account.as_str()),
            SSO_ADMIN,
            "ListPermissionSetsProvisionedToAccount"
        )?;
        let mut seen = HashSet::new();
        arns.retain(|arn| seen.insert(arn.clone()));
        Ok(arns)
    }

    /// The accounts a permission set is provisioned to, each once.
    async fn accounts_provisioned_with(&self, permission_set: &str) -> Result<Vec<AccountId>> {
        self.accounts_provisioned_in_state(permission_set, None).await
    }

    /// The accounts a permission set is provisioned to, each once; with `status`, only those in that state.
    async fn accounts_provisioned_in_state(
        &self,
        permission_set: &str,
        status: Option<ProvisioningStatus>,
    ) -> Result<Vec<AccountId>> {
        const OPERATION: &str = "ListAccountsForProvisionedPermissionSet";
        let mut ids: Vec<String> = every_item!(
            self.sso_admin
                .list_accounts_for_provisioned_permission_set()
                .instance_arn(self.instance_arn())
                .permission_set_arn(permission_set)
                .set_provisioning_status(status),
            SSO_ADMIN,
            OPERATION
        )?;
        let mut seen = HashSet::new();
        ids.retain(|id| seen.insert(id.clone()));
        ids.into_iter()
            .map(|id| AccountId::parse(id).map_err(contract_breach(SSO_ADMIN, OPERATION)))
            .collect()
    }

    async fn assignments_of_set_on(&self, account: &AccountId, permission_set: &str) -> Result<Vec<AccountAssignment>> {
        const OPERATION: &str = "ListAccountAssignments";
        let found = every_item!(
            self.sso_admin
                .list_account_assignments()
                .instance_arn(self.instance_arn())
                .account_id(account.as_str())
                .permission_set_arn(permission_set),
            SSO_ADMIN,
            OPERATION
        )?;
        found
            .into_iter()
            .map(|a| AssignmentRecord::from(a).into_domain(OPERATION))
            .collect()
    }

    async fn describe_user(&self, user_id: String) -> Result<Option<IdcUser>> {
        const OPERATION: &str = "DescribeUser";
        let described = self
            .identity_store
            .describe_user()
            .identity_store_id(self.store_id())
            .user_id(user_id)
            .send()
            .await;
        match described {
            Ok(user) => UserRecord::from(user).into_domain(OPERATION).map(Some),
            Err(e)
                if e.as_service_error()
                    .is_some_and(|e| e.is_resource_not_found_exception()) =>
            {
                Ok(None)
            }
            Err(e) => Err(Error::aws(IDENTITY_STORE, OPERATION, e)),
        }
    }
}

impl IdentityCenter for IdentityCenterClient {
    fn instance(&self) -> &IdcInstance {
        &self.instance
    }

    async fn users(&self) -> Result<Vec<IdcUser>> {
        const OPERATION: &str = "ListUsers";
        let users = every_item!(
            self.identity_store.list_users().identity_store_id(self.store_id()),
            IDENTITY_STORE,
            OPERATION
        )?;
        tracing::info!(users = users.len(), "identity store users read");
        users
            .into_iter()
            .map(|user| UserRecord::from(user).into_domain(OPERATION))
            .collect()
    }

    async fn groups(&self) -> Result<Vec<IdcGroup>> {
        const OPERATION: &str = "ListGroups";
        let listed = every_item!(
            self.identity_store.list_groups().identity_store_id(self.store_id()),
            IDENTITY_STORE,
            OPERATION
        )?;
        let groups: Vec<IdcGroup> = stream::iter(listed)
            .map(|group| async move {
                let id = IdcGroupId::parse(group.group_id).map_err(contract_breach(IDENTITY_STORE, OPERATION))?;
                let members = self.members_of(&id).await?;
                Ok::<_, Error>(IdcGroup {
                    id,
                    display_name: group.display_name.unwrap_or_default(),
                    members,
                })
            })
            .buffered(FAN_OUT)
            .try_collect()
            .await?;
        tracing::info!(groups = groups.len(), "identity store groups read");
        Ok(groups)
    }

    async fn permission_sets(&self) -> Result<Vec<PermissionSet>> {
        const OPERATION: &str = "DescribePermissionSet";
        let arns = every_item!(
            self.sso_admin.list_permission_sets().instance_arn(self.instance_arn()),
            SSO_ADMIN,
            "ListPermissionSets"
        )?;
        let sets: Vec<PermissionSet> = stream::iter(arns)
            .map(|arn| async move {
                let described = self
                    .sso_admin
                    .describe_permission_set()
                    .instance_arn(self.instance_arn())
                    .permission_set_arn(&arn)
                    .send()
                    .await
                    .map_err(|e| Error::aws(SSO_ADMIN, OPERATION, e))?
                    .permission_set
                    .ok_or_else(|| missing(SSO_ADMIN, OPERATION, "PermissionSet"))?;
                Ok::<_, Error>(PermissionSet {
                    arn: PermissionSetArn::parse(described.permission_set_arn.unwrap_or(arn))
                        .map_err(contract_breach(SSO_ADMIN, OPERATION))?,
                    name: described.name.ok_or_else(|| missing(SSO_ADMIN, OPERATION, "Name"))?,
                    session_duration: described.session_duration,
                })
            })
            .buffered(FAN_OUT)
            .try_collect()
            .await?;
        tracing::info!(permission_sets = sets.len(), "permission sets read");
        Ok(sets)
    }

    async fn accounts(&self) -> Result<Vec<AccountId>> {
        const OPERATION: &str = "ListAccounts";
        // This paginator has no `items()`: the model names no item list.
        let pages = self
            .organizations
            .list_accounts()
            .max_results(ACCOUNTS_PAGE_SIZE)
            .into_paginator()
            .send()
            .try_collect()
            .await
            .map_err(|e| Error::aws(ORGANIZATIONS, OPERATION, e))?;
        let accounts: Vec<_> = pages
            .into_iter()
            .flat_map(|page| page.accounts.unwrap_or_default())
            .collect();
        tracing::info!(accounts = accounts.len(), "organization accounts read");
        accounts
            .into_iter()
            .map(|account| {
                let id = account
                    .id
                    .ok_or_else(|| missing(ORGANIZATIONS, OPERATION, "Account.Id"))?;
                AccountId::parse(id).map_err(contract_breach(ORGANIZATIONS, OPERATION))
            })
            .collect()
    }

    /// Per account: the permission sets provisioned there (ListPermissionSetsProvisionedToAccount), then the
    /// assignments of each (ListAccountAssignments). Right on AWS, where a set is provisioned to an account with
    /// its first assignment there, and costs one call per account plus one per provisioned (account, set) page.
    async fn assignments(&self, accounts: &[AccountId]) -> Result<Vec<AccountAssignment>> {
        let mut found = Vec::new();
        let mut provisioned = 0usize;
        for account in accounts {
            let sets = self.permission_sets_provisioned_to(account).await?;
            provisioned += sets.len();
            for set in &sets {
                found.extend(self.assignments_of_set_on(account, set).await?);
            }
        }
        tracing::info!(
            accounts = accounts.len(),
            provisioned_sets = provisioned,
            assignments = found.len(),
            "account assignments read"
        );
        Ok(found)
    }

    /// ListAccountsForProvisionedPermissionSet per set — one call per set (more only where pages run over 100).
    /// Sets are fanned out; the answer keeps the order asked for.
    async fn provisioned_accounts(&self, sets: &[PermissionSetArn]) -> Result<Vec<Provisioning>> {
        // try_join_all, not a buffered stream: the gate bounds the calls in flight, and borrowed items in stream
        // combinators trip the `Send` bound on this future.
        let read = try_join_all(sets.iter().map(|set| async move {
            Ok::<_, Error>(Provisioning {
                permission_set_arn: set.clone(),
                accounts: self.accounts_provisioned_with(set.as_str()).await?,
            })
        }))
        .await?;
        tracing::info!(
            permission_sets = read.len(),
            provisioned_pairs = read.iter().map(|s| s.accounts.len()).sum::<usize>(),
            "provisioned accounts read per permission set"
        );
        Ok(read)
    }

    /// ListAccountAssignments on each (set, account) pair — one call per pair, the fewest the API allows (more
    /// only where pages run over 100). Accounts are fanned out; the answer keeps the order asked for.
    async fn assignments_of_set(
        &self,
        set: &PermissionSetArn,
        accounts: &[AccountId],
    ) -> Result<Vec<AccountAssignment>> {
        let read = try_join_all(
            accounts
                .iter()
                .map(|account| self.assignments_of_set_on(account, set.as_str())),
        )
        .await?;
        Ok(read.into_iter().flatten().collect())
    }

    async fn find_user(&self, lookup: &UserLookup) -> Result<Option<IdcUser>> {
        const OPERATION: &str = "GetUserId";
        let build_error = |e| Error::aws(IDENTITY_STORE, OPERATION, e);
        let identifier = match lookup {
            UserLookup::UserId(id) => return self.describe_user(id.to_string()).await,
            UserLookup::UserName(name) => unique_attribute("userName", name).map_err(build_error)?,
            UserLookup::Email(email) => unique_attribute("emails.value", email).map_err(build_error)?,
            UserLookup::ExternalId { issuer, id } => AlternateIdentifier::ExternalId(
                identitystore::types::ExternalId::builder()
                    .issuer(issuer)
                    .id(id)
                    .build()
                    .map_err(build_error)?,
            ),
        };
        let found = self
            .identity_store
            .get_user_id()
            .identity_store_id(self.store_id())
            .alternate_identifier(identifier)
            .send()
            .await;
        match found {
            Ok(found) => self.describe_user(found.user_id).await,
            Err(e)
                if e.as_service_error()
                    .is_some_and(|e| e.is_resource_not_found_exception()) =>
            {
                Ok(None)
            }
            // The message of a refused GetUserId can quote the login or email looked up: never logged.
            Err(e) => Err(Error::aws(IDENTITY_STORE, OPERATION, e).without_service_message()),
        }
    }

    async fn groups_of(&self, user: &IdcUser) -> Result<Vec<IdcGroupId>> {
        const OPERATION: &str = "ListGroupMembershipsForMember";
        let memberships = every_item!(
            self.identity_store
                .list_group_memberships_for_member()
                .identity_store_id(self.store_id())
                .member_id(MemberId::UserId(user.id.to_string())),
            IDENTITY_STORE,
            OPERATION
        )?;
        memberships
            .into_iter()
            .map(|membership| {
                let id = membership
                    .group_id
                    .ok_or_else(|| missing(IDENTITY_STORE, OPERATION, "GroupMembership.GroupId"))?;
                IdcGroupId::parse(id).map_err(contract_breach(IDENTITY_STORE, OPERATION))
            })
            .collect()
    }

    /// Per permission set (ListPermissionSets): the accounts it is provisioned to
    /// (ListAccountsForProvisionedPermissionSet), then its assignments on each (ListAccountAssignments), kept when
    /// held by one of `principals`. A delegated administrator may make every one of these calls;
    /// ListAccountAssignmentsForPrincipal "must be called from the management account" and is not used. Costs one
    /// call, plus one per permission set, plus one per provisioned (set, account) pair (more where pages run over).
    async fn assignments_for(&self, principals: &[Principal]) -> Result<Vec<AccountAssignment>> {
        if principals.is_empty() {
            return Ok(Vec::new());
        }
        let sets = every_item!(
            self.sso_admin.list_permission_sets().instance_arn(self.instance_arn()),
            SSO_ADMIN,
            "ListPermissionSets"
        )?;
        let mut found = Vec::new();
        let mut pairs = 0usize;
        for set in &sets {
            for account in self.accounts_provisioned_with(set).await? {
                pairs = pairs.saturating_add(1);
                found.extend(
                    self.assignments_of_set_on(&account, set)
                        .await?
                        .into_iter()
                        .filter(|a| principals.contains(&a.principal)),
                );
            }
        }
        tracing::info!(
            principals = principals.len(),
            permission_sets = sets.len(),
            provisioned_pairs = pairs,
            assignments = found.len(),
            "assignments of the principals read"
        );
        Ok(found)
    }
}

/// sso-admin's write calls, for `deprov-audit revoke` (the IAM actions are in the README: the CLI user needs them,
/// no function role has them).
impl PermissionSetEditor for IdentityCenterClient {
    async fn inline_policy(&self, set: &PermissionSetArn) -> Result<Option<String>> {
        let read = self
            .sso_admin
            .get_inline_policy_for_permission_set()
            .instance_arn(self.instance_arn())
            .permission_set_arn(set.as_str())
            .send()
            .await
            .map_err(|e| Error::aws(SSO_ADMIN, "GetInlinePolicyForPermissionSet", e))?;
        // A set without one answers no policy or an empty one.
        Ok(read.inline_policy.filter(|policy| !policy.trim().is_empty()))
    }

    async fn put_inline_policy(&self, set: &PermissionSetArn, policy: &str) -> Result<()> {
        self.sso_admin
            .put_inline_policy_to_permission_set()
            .instance_arn(self.instance_arn())
            .permission_set_arn(set.as_str())
            .inline_policy(policy)
            .send()
            .await
            .map_err(|e| Error::aws(SSO_ADMIN, "PutInlinePolicyToPermissionSet", e))?;
        tracing::info!(permission_set = %set, "inline policy put");
        Ok(())
    }

    async fn provisioned(&self, set: &PermissionSetArn) -> Result<Provisioned> {
        Ok(Provisioned {
            accounts: self.accounts_provisioned_in_state(set.as_str(), None).await?,
            stale: self
                .accounts_provisioned_in_state(
                    set.as_str(),
                    Some(ProvisioningStatus::LatestPermissionSetNotProvisioned),
                )
                .await?,
        })
    }

    /// ProvisionPermissionSet to ALL_PROVISIONED_ACCOUNTS, then DescribePermissionSetProvisioningStatus until the
    /// request ends or `wait.polls` reads have been made.
    async fn provision(&self, set: &PermissionSetArn, wait: ProvisionWait) -> Result<ProvisionStatus> {
        const PROVISION: &str = "ProvisionPermissionSet";
        const DESCRIBE: &str = "DescribePermissionSetProvisioningStatus";
        let mut status = self
            .sso_admin
            .provision_permission_set()
            .instance_arn(self.instance_arn())
            .permission_set_arn(set.as_str())
            .target_type(ProvisionTargetType::AllProvisionedAccounts)
            .send()
            .await
            .map_err(|e| Error::aws(SSO_ADMIN, PROVISION, e))?
            .permission_set_provisioning_status
            .ok_or_else(|| missing(SSO_ADMIN, PROVISION, "PermissionSetProvisioningStatus"))?;
        let request_id = status
            .request_id
            .clone()
            .ok_or_else(|| missing(SSO_ADMIN, PROVISION, "RequestId"))?;
        tracing::info!(permission_set = %set, request_id, "re-provisioning requested");
        for poll in 0..=wait.polls {
            match status.status {
                Some(StatusValues::Succeeded) => return Ok(ProvisionStatus::Succeeded),
                Some(StatusValues::Failed) => {
                    return Ok(ProvisionStatus::Failed {
                        reason: status.failure_reason,
                    });
                }
                _ if poll == wait.polls => break,
                _ => {}
            }
            tokio::time::sleep(wait.interval).await;
            status = self
                .sso_admin
                .describe_permission_set_provisioning_status()
                .instance_arn(self.instance_arn())
                .provision_permission_set_request_id(&request_id)
                .send()
                .await
                .map_err(|e| Error::aws(SSO_ADMIN, DESCRIBE, e))?
                .permission_set_provisioning_status
                .ok_or_else(|| missing(SSO_ADMIN, DESCRIBE, "PermissionSetProvisioningStatus"))?;
        }
        Ok(ProvisionStatus::InProgress { request_id })
    }
}

fn the_only_instance(instances: Vec<InstanceMetadata>) -> Result<IdcInstance> {
    const OPERATION: &str = "ListInstances";
    let [instance] = <[InstanceMetadata; 1]>::try_from(instances).map_err(|all| Error::AwsContract {
        service: SSO_ADMIN,
        operation: OPERATION,
        problem: match all.len() {
            0 => "no IAM Identity Center instance is visible to these credentials: enable Identity Center, or run \
                  in its management or delegated administrator account"
                .into(),
            n => format!("{n} instances are visible: name the one to audit"),
        },
    })?;
    let instance_arn = instance
        .instance_arn
        .ok_or_else(|| missing(SSO_ADMIN, OPERATION, "InstanceArn"))?;
    let identity_store_id = instance
        .identity_store_id
        .ok_or_else(|| missing(SSO_ADMIN, OPERATION, "IdentityStoreId"))?;
    Ok(IdcInstance {
        instance_arn: InstanceArn::parse(instance_arn).map_err(contract_breach(SSO_ADMIN, OPERATION))?,
        identity_store_id: IdentityStoreId::parse(identity_store_id).map_err(contract_breach(SSO_ADMIN, OPERATION))?,
    })
}

fn unique_attribute(
    path: &str,
    value: &str,
) -> std::result::Result<AlternateIdentifier, aws_smithy_types::error::operation::BuildError> {
    UniqueAttribute::builder()
        .attribute_path(path)
        .attribute_value(Document::String(value.to_owned()))
        .build()
        .map(AlternateIdentifier::UniqueAttribute)
}

/// The fields of one ListAccountAssignments item, before they are checked.
struct AssignmentRecord {
    account_id: Option<String>,
    permission_set_arn: Option<String>,
    principal_type: Option<PrincipalType>,
    principal_id: Option<String>,
}

impl From<ssoadmin::types::AccountAssignment> for AssignmentRecord {
    fn from(a: ssoadmin::types::AccountAssignment) -> Self {
        Self {
            account_id: a.account_id,
            permission_set_arn: a.permission_set_arn,
            principal_type: a.principal_type,
            principal_id: a.principal_id,
        }
    }
}

impl AssignmentRecord {
    fn into_domain(self, operation: &'static str) -> Result<AccountAssignment> {
        let breach = contract_breach(SSO_ADMIN, operation);
        let required = |value: Option<String>, field| value.ok_or_else(|| missing(SSO_ADMIN, operation, field));
        let principal_id = required(self.principal_id, "PrincipalId")?;
        let principal = match self.principal_type {
            Some(PrincipalType::User) => Principal::User(IdcUserId::parse(principal_id).map_err(&breach)?),
            Some(PrincipalType::Group) => Principal::Group(IdcGroupId::parse(principal_id).map_err(&breach)?),
            other => {
                return Err(Error::AwsContract {
                    service: SSO_ADMIN,
                    operation,
                    problem: format!("principal type {other:?} is neither USER nor GROUP"),
                });
            }
        };
        Ok(AccountAssignment {
            account_id: AccountId::parse(required(self.account_id, "AccountId")?).map_err(&breach)?,
            permission_set_arn: PermissionSetArn::parse(required(self.permission_set_arn, "PermissionSetArn")?)
                .map_err(&breach)?,
            principal,
        })
    }
}

/// The user fields ListUsers and DescribeUser share (the SDK gives them two types).
struct UserRecord {
    id: String,
    user_name: Option<String>,
    display_name: Option<String>,
    emails: Vec<identitystore::types::Email>,
    external_ids: Vec<identitystore::types::ExternalId>,
    status: Option<UserStatus>,
}

impl From<identitystore::types::User> for UserRecord {
    fn from(user: identitystore::types::User) -> Self {
        Self {
            id: user.user_id,
            user_name: user.user_name,
            display_name: user.display_name,
            emails: user.emails.unwrap_or_default(),
            external_ids: user.external_ids.unwrap_or_default(),
            status: user.user_status,
        }
    }
}

impl From<identitystore::operation::describe_user::DescribeUserOutput> for UserRecord {
    fn from(user: identitystore::operation::describe_user::DescribeUserOutput) -> Self {
        Self {
            id: user.user_id,
            user_name: user.user_name,
            display_name: user.display_name,
            emails: user.emails.unwrap_or_default(),
            external_ids: user.external_ids.unwrap_or_default(),
            status: user.user_status,
        }
    }
}

impl UserRecord {
    fn into_domain(mut self, operation: &'static str) -> Result<IdcUser> {
        let id = IdcUserId::parse(self.id).map_err(contract_breach(IDENTITY_STORE, operation))?;
        let user_name = self
            .user_name
            .ok_or_else(|| missing(IDENTITY_STORE, operation, &format!("UserName for user {id}")))?;
        self.emails.sort_by_key(|email| !email.primary); // the primary address first
        Ok(IdcUser {
            id,
            user_name,
            display_name: self.display_name,
            emails: self.emails.into_iter().filter_map(|email| email.value).collect(),
            external_ids: self
                .external_ids
                .into_iter()
                .map(|x| ExternalId {
                    issuer: x.issuer,
                    id: x.id,
                })
                .collect(),
            status: match self.status {
                Some(UserStatus::Enabled) => IdcUserStatus::Enabled,
                Some(UserStatus::Disabled) => IdcUserStatus::Disabled,
                _ => IdcUserStatus::Unknown,
            },
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn instance(n: u32) -> InstanceMetadata {
        InstanceMetadata::builder()
            .instance_arn(format!("arn:aws:sso:::instance/ssoins-{n:016}"))
            .identity_store_id(format!("d-{n:010}"))
            .build()
    }

    #[test]
    fn the_one_visible_instance_is_the_one_audited() {
        let found = the_only_instance(vec![instance(1)]).unwrap();
        assert_eq!(
            found.instance_arn.as_str(),
            "arn:aws:sso:::instance/ssoins-0000000000000001"
        );
        assert_eq!(found.identity_store_id.as_str(), "d-0000000001");
    }

    #[test]
    fn no_instance_or_several_is_a_clear_error() {
        for instances in [
            vec![],
            vec![instance(1), instance(2)],
            vec![instance(1), instance(2), instance(3)],
        ] {
            let error = the_only_instance(instances).unwrap_err();
            assert!(matches!(error, Error::AwsContract { .. }), "{error:?}");
            assert!(error.to_string().contains("ListInstances"), "{error}");
        }
    }

    #[test]
    fn a_user_without_status_is_unknown_and_its_primary_email_comes_first() {
        let user = identitystore::types::User::builder()
            .identity_store_id("d-1")
            .user_id("94d00cd8-e9e6-4810-b177-b08e84775435")
            .user_arn("arn")
            .revision("1")
            .user_name("alice@example.com")
            .emails(
                identitystore::types::Email::builder()
                    .value("alias@example.com")
                    .build(),
            )
            .emails(
                identitystore::types::Email::builder()
                    .value("alice@example.com")
                    .primary(true)
                    .build(),
            )
            .build()
            .unwrap();
        let user = UserRecord::from(user).into_domain("ListUsers").unwrap();
        assert_eq!(user.status, IdcUserStatus::Unknown);
        assert_eq!(user.emails, ["alice@example.com", "alias@example.com"]);
    }

    #[test]
    fn an_id_that_does_not_parse_is_a_contract_breach_not_a_panic() {
        let user = UserRecord {
            id: "../not an id".into(),
            user_name: Some("x".into()),
            display_name: None,
            emails: vec![],
            external_ids: vec![],
            status: Some(UserStatus::Enabled),
        };
        let error = user.into_domain("ListUsers").unwrap_err();
        assert!(
            matches!(
                error,
                Error::AwsContract {
                    operation: "ListUsers",
                    ..
                }
            ),
            "{error:?}"
        );

        let error = AssignmentRecord {
            account_id: Some("12345".into()),
            permission_set_arn: Some("arn:aws:sso:::permissionSet/ssoins-1/ps-1".into()),
            principal_type: Some(PrincipalType::Group),
            principal_id: Some("g-1".into()),
        }
        .into_domain("ListAccountAssignments")
        .unwrap_err();
        assert!(error.to_string().contains("12 digits"), "{error}");
    }
}
