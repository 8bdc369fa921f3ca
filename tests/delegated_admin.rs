//! IAM Identity Center administered from a delegated administrator account, as the README's delegated-admin
//! deployment runs it: the org's management account registers a member account for `sso.amazonaws.com`, and the
//! adapters and the checker run there. The test world (moto_launcher.py, section 4) gives that account the
//! management account's instance and refuses it the management-only calls, as AWS does.

use chrono::{DateTime, Duration, Utc};
use integration_tests::ledger::verdict_ledger;
use integration_tests::moto::MotoAccount;
use integration_tests::okta_fake::{OktaFake, api_token};
use integration_tests::queues::create_queue;
use integration_tests::seed::{OrgSeed, SeededOrg};
use shared::aws::{IdentityCenterClient, SqsJobQueue};
use shared::domain::{
    AccountAssignment, DeprovisionKind, EffectiveAssignment, GroupPushMapping, JobSource, OktaApp, OktaAppId,
    OktaEventId, OktaGroup, OktaGroupId, OktaLogin, OktaSide, OktaUser, OktaUserId, OktaUserStatus, Principal,
    PushMappingStatus, Rule, Severity, VerificationJob,
};
use shared::handlers::propagation_check::{CheckConfig, CheckOutcome, CheckPorts};
use shared::in_memory::{FakeActivityLog, RecordingNotifier};
use shared::okta::OktaClient;
use shared::ports::IdentityCenter;

const DELEGATE: &str = "security-tooling";
const APP: &str = "0oa1awsidc00000001";
const BOB: &str = "bob.martin@acme.example";
const BOB_OKTA: &str = "00u1bob00000000002";
const DEVS_OKTA: &str = "00g1devs0000000001";

/// Bob (ENABLED) in `aws-production-developers` (Developer on production) and directly assigned Operations on
/// staging; Alice in `aws-staging-readonly` (ReadOnly on staging); `security-tooling` the delegated administrator.
fn org() -> OrgSeed {
    OrgSeed::new()
        .user(BOB)
        .user("alice.nguyen@acme.example")
        .group("aws-production-developers", &[BOB])
        .group("aws-staging-readonly", &["alice.nguyen@acme.example"])
        .permission_set("Developer", "PT8H")
        .permission_set("Operations", "PT1H")
        .permission_set("ReadOnly", "PT4H")
        .assign_group("aws-production-developers", "Developer", "production")
        .assign_group("aws-staging-readonly", "ReadOnly", "staging")
        .assign_user(BOB, "Operations", "staging")
        .delegated_admin(DELEGATE)
}

/// The org seeded from its management account, and the delegated administrator account entered.
async fn delegated() -> (MotoAccount, SeededOrg, MotoAccount) {
    let management = MotoAccount::new().await;
    let org = org().seed(&management).await;
    let delegate = MotoAccount::enter(org.account(DELEGATE).clone()).await;
    (management, org, delegate)
}

fn assignment(
    account: &shared::domain::AccountId,
    org: &SeededOrg,
    set: &str,
    principal: Principal,
) -> AccountAssignment {
    AccountAssignment {
        account_id: account.clone(),
        permission_set_arn: org.permission_set(set).clone(),
        principal,
    }
}

#[tokio::test]
async fn a_delegated_admin_finds_direct_and_group_assignments_without_management_only_calls() {
    let (_management, org, delegate) = delegated().await;
    let client = IdentityCenterClient::discover(delegate.sdk_config())
        .await
        .expect("ListInstances answers the org's instance to its delegated administrator");
    assert_eq!(client.instance(), &org.instance);

    let bob = Principal::User(org.user(BOB).clone());
    let developers = Principal::Group(org.group("aws-production-developers").clone());
    let before = delegate.sdk_calls();
    let mut found = client
        .assignments_for(&[bob.clone(), developers.clone()])
        .await
        .expect("assignments_for in the delegated administrator account");
    let calls = delegate.sdk_calls().since(&before);
    found.sort();
    let mut expected = vec![
        assignment(org.account("production"), &org, "Developer", developers),
        assignment(org.account("staging"), &org, "Operations", bob),
    ];
    expected.sort();
    assert_eq!(found, expected, "Alice's ReadOnly on staging is not asked for");
    // One ListPermissionSets; per set (3) the accounts it is provisioned to; per provisioned (set, account)
    // pair (3: Developer/production, Operations/staging, ReadOnly/staging) its assignments.
    assert_eq!(calls.of("ListAccountAssignmentsForPrincipal"), 0, "{calls:?}");
    assert_eq!(calls.of("ListPermissionSets"), 1, "{calls:?}");
    assert_eq!(calls.of("ListAccountsForProvisionedPermissionSet"), 3, "{calls:?}");
    assert_eq!(calls.of("ListAccountAssignments"), 3, "{calls:?}");
    assert_eq!(calls.total(), 7, "{calls:?}");

    let mut accounts = client
        .accounts()
        .await
        .expect("ListAccounts for a delegated administrator");
    accounts.sort();
    assert_eq!(accounts, org.all_accounts());
}

#[tokio::test]
async fn the_management_only_call_is_refused_in_the_delegated_admin_account() {
    let (management, org, delegate) = delegated().await;
    let for_principal = |account: &MotoAccount| {
        aws_sdk_ssoadmin::Client::new(account.sdk_config())
            .list_account_assignments_for_principal()
            .instance_arn(org.instance.instance_arn.as_str())
            .principal_type(aws_sdk_ssoadmin::types::PrincipalType::User)
            .principal_id(org.user(BOB).as_str())
            .send()
    };
    let refused = for_principal(&delegate)
        .await
        .expect_err("ListAccountAssignmentsForPrincipal must be called from the management account");
    assert!(
        refused
            .as_service_error()
            .is_some_and(|e| e.is_access_denied_exception()),
        "{refused:?}"
    );
    // As the checker's log line and Lambda error would show it: the code and AWS's message, and a stable kind.
    let error = shared::Error::aws("sso-admin", "ListAccountAssignmentsForPrincipal", refused);
    assert_eq!(error.kind(), "AwsAccessDenied");
    let logged = error.causes().to_string();
    assert!(
        logged.starts_with("AWS sso-admin ListAccountAssignmentsForPrincipal failed: AccessDeniedException: "),
        "{logged}"
    );
    assert!(
        logged.contains("must be called from the management account"),
        "{logged}"
    );
    let answered = for_principal(&management)
        .await
        .expect("the management account may call it");
    assert_eq!(answered.account_assignments().len(), 1, "Bob's direct assignment");
}

fn published() -> DateTime<Utc> {
    "2026-11-20T09:12:44Z".parse().expect("time")
}

fn config() -> CheckConfig {
    CheckConfig {
        aws_app_id: OktaAppId::parse(APP).expect("app id"),
        links: shared::domain::LinkPolicy::default(),
        propagation_window: Duration::minutes(15),
        max_window: Duration::minutes(60),
        recheck_interval: Duration::minutes(5),
        sweep_lookback: Duration::minutes(20),
        sweep_max_pages: 20,
        record_budget: std::time::Duration::from_secs(60),
        cloudtrail_max_pages: 20,
        scim_silent_after: chrono::Duration::hours(4),
    }
}

fn okta_side(org: &SeededOrg) -> OktaSide {
    OktaSide {
        org_url: "https://acme.okta.com".into(),
        users: vec![OktaUser {
            id: OktaUserId::parse(BOB_OKTA).expect("id"),
            login: OktaLogin::parse(BOB).expect("login"),
            email: Some(BOB.into()),
            status: OktaUserStatus::Deprovisioned,
            transitioning_to_status: None,
            status_changed: Some(published()),
            last_login: None,
        }],
        groups: vec![OktaGroup {
            id: OktaGroupId::parse(DEVS_OKTA).expect("id"),
            name: "aws-production-developers".into(),
            members: vec![],
        }],
        app: OktaApp {
            id: OktaAppId::parse(APP).expect("id"),
            label: "AWS IAM Identity Center".into(),
            app_users: vec![],
            group_push_mappings: vec![GroupPushMapping {
                id: "gPm1devs0000000001".into(),
                source_group_id: OktaGroupId::parse(DEVS_OKTA).expect("id"),
                target_group_id: Some(org.group("aws-production-developers").clone()),
                status: PushMappingStatus::Active,
                error_summary: None,
                last_push: None,
            }],
            signing_keys: vec![],
        },
        deprovisions: vec![],
    }
}

fn deactivation() -> VerificationJob {
    VerificationJob {
        okta_event_id: OktaEventId::parse("ab62c0bc-2837-11eb-9823-9fb8f750c5a9").expect("uuid"),
        event_type: "user.lifecycle.deactivate".into(),
        kind: DeprovisionKind::Deactivated,
        published: published(),
        okta_user_id: OktaUserId::parse(BOB_OKTA).expect("id"),
        login: Some(BOB.into()),
        app_id: None,
        group_id: None,
        check_after: published() + Duration::minutes(15),
        source: JobSource::EventHook,
        attempt: 0,
        follow_up: false,
        watch: None,
        app_user_name: None,
        episode_id: None,
        chain_token: None,
        chain_step: 0,
    }
}

#[tokio::test]
async fn the_checker_reaches_a_verdict_in_a_delegated_admin_account() {
    let (_management, org, delegate) = delegated().await;
    let okta = OktaFake::start(okta_side(&org), vec![]).await;
    let queue_url = create_queue(&delegate, "verify").await;
    let ports = CheckPorts {
        directory: OktaClient::new(okta.client_config(api_token())).expect("an Okta client"),
        identity_center: IdentityCenterClient::discover(delegate.sdk_config())
            .await
            .expect("the org's instance"),
        activity: FakeActivityLog::default(),
        notifier: RecordingNotifier::default(),
        queue: SqsJobQueue::new(delegate.sdk_config(), queue_url),
        ledger: verdict_ledger(&delegate, "verdicts").await,
        org: (),
    };
    let after_the_max_window = published() + Duration::minutes(61);

    let seen = ports
        .observe(&config(), &deactivation(), &[], after_the_max_window)
        .await
        .expect("observed from the delegated administrator account");
    let via_group = |set: &str, account: &str, group: Option<&str>| EffectiveAssignment {
        account_id: org.account(account).clone(),
        permission_set_arn: org.permission_set(set).clone(),
        permission_set_name: Some(set.into()),
        session_duration: Some(if set == "Developer" { "PT8H" } else { "PT1H" }.into()),
        via_group: group.map(|g| org.group(g).clone()),
    };
    assert_eq!(
        seen.deciding().expect("Bob's account").access,
        [
            via_group("Operations", "staging", None),
            via_group("Developer", "production", Some("aws-production-developers")),
        ],
        "direct first, then through each group"
    );

    let before = delegate.sdk_calls();
    let outcome = ports.check(&config(), &deactivation(), after_the_max_window).await;
    let calls = delegate.sdk_calls().since(&before);
    let Ok(CheckOutcome::Published { findings, .. }) = outcome else {
        panic!("expected a published verdict, got {outcome:?}")
    };
    assert_eq!(
        (findings[0].rule, findings[0].severity),
        (Rule::PropagationOverdue, Severity::High),
        "Bob is still ENABLED past the max window"
    );
    assert!(
        findings[0].title.contains("2 assignment(s) remain"),
        "{}",
        findings[0].title
    );
    assert_eq!(ports.notifier.findings(), findings, "published");
    assert_eq!(calls.of("ListAccountAssignmentsForPrincipal"), 0, "{calls:?}");
    assert!(calls.of("ListAccountAssignments") > 0, "{calls:?}");
}
