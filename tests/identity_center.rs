//! `IdentityCenterClient` reading an org seeded into moto through the real SDK: paging, user status, groups,
//! permission sets, accounts, assignments, and the per-user lookups.

use integration_tests::moto::MotoAccount;
use integration_tests::seed::{OrgSeed, SeededOrg};
use shared::aws::IdentityCenterClient;
use shared::domain::{AccountAssignment, IdcUser, IdcUserStatus, Principal};
use shared::ports::{IdentityCenter, UserLookup};

const OKTA_ISSUER: &str = "https://acme.okta.com";

/// The org our users run: pushed groups holding permission sets on accounts, one direct user assignment, one
/// user Okta deactivated, and an account nobody is assigned to.
fn typical_org() -> OrgSeed {
    OrgSeed::new()
        .user("alice@example.com")
        .disabled_user("bob@example.com")
        .user("carol@example.com")
        .scim_user("dave@example.com", OKTA_ISSUER, "00u1d2a3v4e5EXAMPLE")
        .group("aws-production-developers", &["alice@example.com", "bob@example.com"])
        .group("aws-staging-readonly", &["alice@example.com", "carol@example.com"])
        .permission_set("ReadOnly", "PT4H")
        .permission_set("Developer", "PT8H")
        .permission_set("Operations", "PT1H")
        .assign_group("aws-production-developers", "Developer", "production")
        .assign_group("aws-staging-readonly", "ReadOnly", "staging")
        .assign_user("carol@example.com", "Operations", "production")
        .account("sandbox")
}

async fn seeded(seed: OrgSeed) -> (MotoAccount, SeededOrg, IdentityCenterClient) {
    let account = MotoAccount::new().await;
    let org = seed.seed(&account).await;
    let client = IdentityCenterClient::new(account.sdk_config(), org.instance.clone());
    (account, org, client)
}

async fn user_named(client: &IdentityCenterClient, user_name: &str) -> IdcUser {
    client
        .find_user(&UserLookup::UserName(user_name.into()))
        .await
        .expect("GetUserId and DescribeUser")
        .unwrap_or_else(|| panic!("no user {user_name}"))
}

fn group_assignment(org: &SeededOrg, group: &str, set: &str, account: &str) -> AccountAssignment {
    AccountAssignment {
        account_id: org.account(account).clone(),
        permission_set_arn: org.permission_set(set).clone(),
        principal: Principal::Group(org.group(group).clone()),
    }
}

fn user_assignment(org: &SeededOrg, user: &str, set: &str, account: &str) -> AccountAssignment {
    AccountAssignment {
        account_id: org.account(account).clone(),
        permission_set_arn: org.permission_set(set).clone(),
        principal: Principal::User(org.user(user).clone()),
    }
}

#[tokio::test]
async fn discovers_the_instance_of_the_account() {
    let (account, org, _) = seeded(OrgSeed::new()).await;
    let client = IdentityCenterClient::discover(account.sdk_config()).await.unwrap();
    assert_eq!(client.instance(), &org.instance);
}

#[tokio::test]
async fn reads_users_with_their_status_including_disabled_ones() {
    let (_account, org, client) = seeded(typical_org()).await;
    let mut users = client.users().await.unwrap();
    users.sort_by(|a, b| a.user_name.cmp(&b.user_name));
    let seen: Vec<_> = users.iter().map(|u| (u.user_name.as_str(), &u.id, u.status)).collect();
    assert_eq!(
        seen,
        [
            (
                "alice@example.com",
                org.user("alice@example.com"),
                IdcUserStatus::Enabled
            ),
            ("bob@example.com", org.user("bob@example.com"), IdcUserStatus::Disabled),
            (
                "carol@example.com",
                org.user("carol@example.com"),
                IdcUserStatus::Enabled
            ),
            ("dave@example.com", org.user("dave@example.com"), IdcUserStatus::Enabled),
        ]
    );
    assert_eq!(users[0].emails, ["alice@example.com"]);
    assert_eq!(users[3].external_ids[0].issuer, OKTA_ISSUER);
    assert_eq!(users[3].external_ids[0].id, "00u1d2a3v4e5EXAMPLE");
}

#[tokio::test]
async fn reads_groups_with_their_members() {
    let (_account, org, client) = seeded(typical_org()).await;
    let mut groups = client.groups().await.unwrap();
    groups.sort_by(|a, b| a.display_name.cmp(&b.display_name));
    for group in &mut groups {
        group.members.sort();
    }
    let mut developers = vec![
        org.user("alice@example.com").clone(),
        org.user("bob@example.com").clone(),
    ];
    let mut readonly = vec![
        org.user("alice@example.com").clone(),
        org.user("carol@example.com").clone(),
    ];
    developers.sort();
    readonly.sort();
    let seen: Vec<_> = groups
        .iter()
        .map(|g| (g.display_name.as_str(), &g.id, &g.members))
        .collect();
    assert_eq!(
        seen,
        [
            (
                "aws-production-developers",
                org.group("aws-production-developers"),
                &developers
            ),
            ("aws-staging-readonly", org.group("aws-staging-readonly"), &readonly),
        ]
    );
}

#[tokio::test]
async fn reads_permission_sets_with_their_session_durations() {
    let (_account, org, client) = seeded(typical_org()).await;
    let mut sets = client.permission_sets().await.unwrap();
    sets.sort_by(|a, b| a.name.cmp(&b.name));
    let seen: Vec<_> = sets
        .iter()
        .map(|s| {
            (
                s.name.as_str(),
                &s.arn,
                s.session_duration.as_deref(),
                s.session_seconds(),
            )
        })
        .collect();
    assert_eq!(
        seen,
        [
            (
                "Developer",
                org.permission_set("Developer"),
                Some("PT8H"),
                Some(8 * 3600)
            ),
            ("Operations", org.permission_set("Operations"), Some("PT1H"), Some(3600)),
            ("ReadOnly", org.permission_set("ReadOnly"), Some("PT4H"), Some(4 * 3600)),
        ]
    );
}

#[tokio::test]
async fn reads_assignments_direct_and_through_groups_with_one_call_per_account_and_provisioned_set() {
    let (account, org, client) = seeded(typical_org()).await;
    let before = account.sdk_calls();
    let mut accounts = client.accounts().await.unwrap();
    accounts.sort();
    assert_eq!(accounts, org.all_accounts());
    assert_eq!(account.sdk_calls().since(&before).of("ListAccounts"), 1);

    let before = account.sdk_calls();
    let mut found = client.assignments(&accounts).await.unwrap();
    let calls = account.sdk_calls().since(&before);
    found.sort();
    let mut expected = vec![
        group_assignment(&org, "aws-production-developers", "Developer", "production"),
        group_assignment(&org, "aws-staging-readonly", "ReadOnly", "staging"),
        user_assignment(&org, "carol@example.com", "Operations", "production"),
    ];
    expected.sort();
    assert_eq!(found, expected);
    // Four accounts (management, production, staging, sandbox): one provisioned-sets call each; then one
    // assignments call per provisioned (account, set): Developer and Operations on production, ReadOnly on staging.
    assert_eq!(calls.of("ListPermissionSetsProvisionedToAccount"), 4);
    assert_eq!(calls.of("ListAccountAssignments"), 3);
    assert_eq!(calls.total(), 7, "{calls:?}");
}

#[tokio::test]
async fn follows_every_page_of_users_group_members_and_accounts() {
    // Pages hold 100 users or memberships, and 20 accounts (the largest pages the APIs allow).
    let names: Vec<String> = (0..105).map(|n| format!("user{n:03}@example.com")).collect();
    let members: Vec<&str> = names.iter().map(String::as_str).collect();
    let seed = names
        .iter()
        .fold(OrgSeed::new(), |seed, name| seed.user(name))
        .group("everyone", &members);
    let seed = (0..21).fold(seed, |seed, n| seed.account(&format!("workload-{n:02}")));
    let (account, org, client) = seeded(seed).await;
    let before = account.sdk_calls();

    assert_eq!(client.users().await.unwrap().len(), 105);
    let groups = client.groups().await.unwrap();
    assert_eq!(groups[0].members.len(), 105);
    assert_eq!(client.accounts().await.unwrap().len(), 22);
    assert_eq!(org.all_accounts().len(), 22);

    let calls = account.sdk_calls().since(&before);
    assert_eq!(calls.of("ListUsers"), 2, "{calls:?}");
    assert_eq!(calls.of("ListGroupMemberships"), 2, "{calls:?}");
    assert_eq!(calls.of("ListAccounts"), 2, "{calls:?}");
}

#[tokio::test]
async fn finds_users_by_user_name_email_and_external_id_and_none_for_unknown_ones() {
    let (_account, org, client) = seeded(typical_org()).await;

    let found_as = [
        (UserLookup::UserName("bob@example.com".into()), "bob@example.com"),
        (UserLookup::Email("carol@example.com".into()), "carol@example.com"),
        (
            UserLookup::ExternalId {
                issuer: OKTA_ISSUER.into(),
                id: "00u1d2a3v4e5EXAMPLE".into(),
            },
            "dave@example.com",
        ),
    ];
    for (lookup, user_name) in found_as {
        let user = client.find_user(&lookup).await.unwrap();
        assert_eq!(user.as_ref().map(|u| &u.id), Some(org.user(user_name)), "{lookup:?}");
    }
    let bob = user_named(&client, "bob@example.com").await;
    assert_eq!(bob.status, IdcUserStatus::Disabled);

    for unknown in [
        UserLookup::UserName("mallory@example.com".into()),
        UserLookup::Email("mallory@example.com".into()),
        UserLookup::ExternalId {
            issuer: OKTA_ISSUER.into(),
            id: "00uNOBODY".into(),
        },
    ] {
        assert_eq!(client.find_user(&unknown).await.unwrap(), None, "{unknown:?}");
    }
}

#[tokio::test]
async fn lists_the_groups_a_user_belongs_to() {
    let (_account, org, client) = seeded(typical_org()).await;
    let alice = user_named(&client, "alice@example.com").await;
    let mut groups = client.groups_of(&alice).await.unwrap();
    groups.sort();
    let mut expected = vec![
        org.group("aws-production-developers").clone(),
        org.group("aws-staging-readonly").clone(),
    ];
    expected.sort();
    assert_eq!(groups, expected);

    let dave = user_named(&client, "dave@example.com").await;
    assert_eq!(client.groups_of(&dave).await.unwrap(), []);
}

#[tokio::test]
async fn finds_the_assignments_of_given_principals_through_each_provisioned_set_and_account() {
    let (account, org, client) = seeded(typical_org()).await;
    let carol = Principal::User(org.user("carol@example.com").clone());
    let developers = Principal::Group(org.group("aws-production-developers").clone());
    let before = account.sdk_calls();
    let mut found = client.assignments_for(&[carol, developers]).await.unwrap();
    let calls = account.sdk_calls().since(&before);
    found.sort();
    let mut expected = vec![
        user_assignment(&org, "carol@example.com", "Operations", "production"),
        group_assignment(&org, "aws-production-developers", "Developer", "production"),
    ];
    expected.sort();
    assert_eq!(found, expected, "aws-staging-readonly's ReadOnly is not asked for");
    // ListPermissionSets; per set (3) ListAccountsForProvisionedPermissionSet; per provisioned pair (3)
    // ListAccountAssignments. No management-account-only call.
    assert_eq!(calls.of("ListAccountsForProvisionedPermissionSet"), 3, "{calls:?}");
    assert_eq!(calls.of("ListAccountAssignments"), 3, "{calls:?}");
    assert_eq!(calls.total(), 7, "{calls:?}");

    let alice = Principal::User(org.user("alice@example.com").clone());
    assert_eq!(
        client.assignments_for(&[alice]).await.unwrap(),
        [],
        "Alice's access is all through groups"
    );
    let before = account.sdk_calls();
    assert_eq!(client.assignments_for(&[]).await.unwrap(), []);
    assert_eq!(account.sdk_calls().since(&before).total(), 0, "no principal, no call");
}

#[tokio::test]
async fn follows_every_page_of_the_accounts_a_permission_set_is_provisioned_to() {
    // 101 accounts hold one group's assignment: ListAccountsForProvisionedPermissionSet answers 100 a page.
    let names: Vec<String> = (0..101).map(|n| format!("workload-{n:03}")).collect();
    let seed = names.iter().fold(
        OrgSeed::new()
            .user("alice@example.com")
            .group("everyone", &["alice@example.com"])
            .permission_set("ReadOnly", "PT1H"),
        |seed, name| seed.assign_group("everyone", "ReadOnly", name),
    );
    let (account, org, client) = seeded(seed).await;
    let everyone = Principal::Group(org.group("everyone").clone());
    let before = account.sdk_calls();
    let found = client.assignments_for(&[everyone]).await.unwrap();
    let calls = account.sdk_calls().since(&before);
    assert_eq!(found.len(), 101);
    assert_eq!(calls.of("ListAccountsForProvisionedPermissionSet"), 2, "{calls:?}");
    assert_eq!(calls.of("ListAccountAssignments"), 101, "{calls:?}");
}
