//! `deprov-audit revoke` against an org seeded into moto through the real sso-admin SDK (inline policies,
//! ProvisionPermissionSet, DescribePermissionSetProvisioningStatus, the provisioning status of each account) and the
//! Okta fake: the plan, the dry run, apply, a second apply, a set whose policy cannot be read; then the built binary.

use aws_sdk_ssoadmin::types::{ProvisionTargetType, ProvisioningStatus};
use integration_tests::moto::MotoAccount;
use integration_tests::okta_fake::{OktaFake, api_token};
use integration_tests::seed::{OrgSeed, SeededOrg};
use serde_json::{Value, json};
use shared::aws::IdentityCenterClient;
use shared::domain::{
    AppUser, AppUserStatus, LinkPolicy, OktaApp, OktaAppId, OktaLogin, OktaSide, OktaUser, OktaUserId, OktaUserStatus,
    PermissionSetArn,
};
use shared::handlers::revoke::{Applied, RevokeRequest, SetChange, SetSource, apply, plan};
use shared::okta::OktaClient;
use shared::ports::{ProvisionStatus, ProvisionWait};
use shared::rules::session_revocation::DENY_SID;

const APP: &str = "0oa1awsidc00000001";
const BOB: &str = "bob.martin@acme.example";
const BOB_OKTA: &str = "00u1bob00000000002";
const ALICE: &str = "alice.nguyen@acme.example";
const DEVS: &str = "aws-production-developers";
/// A statement the customer wrote: it must survive the revoke.
const EXISTING: &str = r#"{"Version":"2012-10-17","Statement":[{"Sid":"ReadArtifacts","Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::acme-artifacts/*"}]}"#;

struct World {
    account: MotoAccount,
    org: SeededOrg,
    okta: OktaFake,
    directory: OktaClient,
    idc: IdentityCenterClient,
    person: OktaUser,
}

/// Bob, deactivated in Okta and DISABLED in Identity Center, holds Developer (through the developers group, with
/// Alice) on production and staging — its inline policy has a statement of the customer's — and Operations
/// (directly) on production. ReadOnly he no longer holds; BillingViewer has an inline policy that is not JSON.
async fn world() -> World {
    let account = MotoAccount::new().await;
    let org = OrgSeed::new()
        .disabled_user(BOB)
        .user(ALICE)
        .group(DEVS, &[BOB, ALICE])
        .permission_set("Developer", "PT8H")
        .permission_set("Operations", "PT1H")
        .permission_set("ReadOnly", "PT4H")
        .permission_set("BillingViewer", "PT4H")
        .assign_group(DEVS, "Developer", "production")
        .assign_group(DEVS, "Developer", "staging")
        .assign_user(BOB, "Operations", "production")
        .assign_user(ALICE, "ReadOnly", "staging")
        .assign_user(ALICE, "BillingViewer", "production")
        .seed(&account)
        .await;
    let sso = aws_sdk_ssoadmin::Client::new(account.sdk_config());
    // AWS validates a policy when it is put; moto does not, which lets this set stand for one this auditor cannot
    // read as a policy (and must leave alone).
    for (set, policy) in [("Developer", EXISTING), ("BillingViewer", "{not json")] {
        let arn = org.permission_set(set).as_str();
        sso.put_inline_policy_to_permission_set()
            .instance_arn(org.instance.instance_arn.as_str())
            .permission_set_arn(arn)
            .inline_policy(policy)
            .send()
            .await
            .expect("PutInlinePolicyToPermissionSet");
        sso.provision_permission_set()
            .instance_arn(org.instance.instance_arn.as_str())
            .permission_set_arn(arn)
            .target_type(ProvisionTargetType::AllProvisionedAccounts)
            .send()
            .await
            .expect("ProvisionPermissionSet");
    }
    let person = OktaUser {
        id: OktaUserId::parse(BOB_OKTA).expect("id"),
        login: OktaLogin::parse(BOB).expect("login"),
        email: Some(BOB.into()),
        status: OktaUserStatus::Deprovisioned,
        transitioning_to_status: None,
        status_changed: Some("2026-11-20T09:12:44Z".parse().expect("time")),
        last_login: None,
    };
    let okta_side = OktaSide {
        org_url: "https://acme.okta.com".into(),
        users: vec![person.clone()],
        groups: vec![],
        app: OktaApp {
            id: OktaAppId::parse(APP).expect("id"),
            label: "AWS IAM Identity Center".into(),
            // Okta's record of what SCIM created: the externalId is Bob's Identity Center user id.
            app_users: vec![AppUser {
                user_id: person.id.clone(),
                external_id: Some(org.user(BOB).to_string()),
                user_name: Some(BOB.into()),
                status: AppUserStatus::Deprovisioned,
                sync_state: None,
                last_sync: None,
            }],
            group_push_mappings: vec![],
            signing_keys: vec![],
        },
        deprovisions: vec![],
    };
    let okta = OktaFake::start(okta_side, vec![]).await;
    let directory = OktaClient::new(okta.client_config(api_token())).expect("an Okta client");
    let idc = IdentityCenterClient::new(account.sdk_config(), org.instance.clone());
    World {
        account,
        org,
        okta,
        directory,
        idc,
        person,
    }
}

async fn inline_policy(w: &World, set: &str) -> String {
    aws_sdk_ssoadmin::Client::new(w.account.sdk_config())
        .get_inline_policy_for_permission_set()
        .instance_arn(w.org.instance.instance_arn.as_str())
        .permission_set_arn(w.org.permission_set(set).as_str())
        .send()
        .await
        .expect("GetInlinePolicyForPermissionSet")
        .inline_policy
        .unwrap_or_default()
}

/// The accounts of `set` not yet provisioned with its latest version.
async fn stale_accounts(w: &World, set: &str) -> Vec<String> {
    aws_sdk_ssoadmin::Client::new(w.account.sdk_config())
        .list_accounts_for_provisioned_permission_set()
        .instance_arn(w.org.instance.instance_arn.as_str())
        .permission_set_arn(w.org.permission_set(set).as_str())
        .provisioning_status(ProvisioningStatus::LatestPermissionSetNotProvisioned)
        .send()
        .await
        .expect("ListAccountsForProvisionedPermissionSet")
        .account_ids
        .unwrap_or_default()
}

fn writes(calls: &integration_tests::sdk_calls::SdkCalls) -> (usize, usize) {
    (
        calls.of("PutInlinePolicyToPermissionSet"),
        calls.of("ProvisionPermissionSet"),
    )
}

#[tokio::test]
async fn the_dry_run_changes_nothing_and_apply_denies_once_keeping_other_statements() {
    let w = world().await;
    let links = LinkPolicy::default();
    let app = OktaAppId::parse(APP).expect("app");
    let named = [w.org.permission_set("BillingViewer").clone()];
    let request = RevokeRequest {
        person: &w.person,
        app_id: &app,
        links: &links,
        remembered: &[],
        named_sets: &named,
        include_weak_links: false,
    };
    let before = w.account.sdk_calls();
    let planned = plan(&w.directory, &w.idc, &w.idc, &request).await.expect("a plan");
    assert_eq!(
        writes(&w.account.sdk_calls().since(&before)),
        (0, 0),
        "the dry run writes nothing"
    );
    assert_eq!(inline_policy(&w, "Developer").await, EXISTING);
    assert!(inline_policy(&w, "Operations").await.is_empty());
    assert_eq!(
        planned.user_ids(),
        [w.org.user(BOB).clone()],
        "linked by Okta's externalId"
    );

    let by_name = |name: &str| {
        planned
            .sets
            .iter()
            .find(|s| s.name.as_deref() == Some(name))
            .unwrap_or_else(|| panic!("{name} in the plan: {:?}", planned.sets))
    };
    assert_eq!(planned.sets.len(), 3, "{:?}", planned.sets);
    let developer = by_name("Developer");
    let mut held_on = match &developer.source {
        SetSource::Held(accounts) => accounts.clone(),
        other => panic!("Developer is held: {other:?}"),
    };
    held_on.sort();
    let mut both = vec![w.org.account("production").clone(), w.org.account("staging").clone()];
    both.sort();
    assert_eq!(held_on, both);
    let mut provisioned = developer.accounts.clone();
    provisioned.sort();
    assert_eq!(provisioned, both, "re-provisioned where it is provisioned");
    assert!(matches!(by_name("Operations").change, SetChange::Add { .. }));
    let billing = by_name("BillingViewer");
    assert_eq!(billing.source, SetSource::Named);
    assert!(
        matches!(&billing.change, SetChange::LeftAlone(why) if why.contains("not a JSON")),
        "{billing:?}"
    );
    assert!(planned.has_problems() && planned.has_changes());

    let before = w.account.sdk_calls();
    let applied = apply(&w.idc, &planned, ProvisionWait::default()).await;
    let calls = w.account.sdk_calls().since(&before);
    assert_eq!(writes(&calls), (2, 2), "{calls:?}");
    assert_eq!(
        calls.of("DescribePermissionSetProvisioningStatus"),
        0,
        "moto answers SUCCEEDED at once"
    );
    let outcome = |set: &str| {
        applied
            .iter()
            .find(|(arn, _)| arn == w.org.permission_set(set))
            .map(|(_, a)| a.clone())
            .expect("an outcome")
    };
    assert_eq!(outcome("Developer"), Applied::Changed(Some(ProvisionStatus::Succeeded)));
    assert_eq!(
        outcome("Operations"),
        Applied::Changed(Some(ProvisionStatus::Succeeded))
    );
    assert!(matches!(outcome("BillingViewer"), Applied::Skipped(_)));

    let developer: Value = serde_json::from_str(&inline_policy(&w, "Developer").await).expect("JSON");
    let statements = developer["Statement"].as_array().expect("statements");
    assert_eq!(statements.len(), 2, "{developer}");
    assert_eq!(
        statements[0]["Sid"], "ReadArtifacts",
        "the customer's statement is kept"
    );
    assert_eq!(
        statements[1],
        json!({
            "Sid": DENY_SID, "Effect": "Deny", "Action": "*", "Resource": "*",
            "Condition": { "StringEquals": { "identitystore:userId": [w.org.user(BOB).as_str()] } }
        })
    );
    let operations: Value = serde_json::from_str(&inline_policy(&w, "Operations").await).expect("JSON");
    assert_eq!(operations["Statement"][0]["Sid"], DENY_SID);
    assert_eq!(inline_policy(&w, "BillingViewer").await, "{not json", "left alone");
    assert!(
        inline_policy(&w, "ReadOnly").await.is_empty(),
        "a set Bob does not hold is untouched"
    );
    for set in ["Developer", "Operations"] {
        assert!(
            stale_accounts(&w, set).await.is_empty(),
            "{set} provisioned to every account"
        );
    }

    // A second run: nothing to write.
    let again = plan(&w.directory, &w.idc, &w.idc, &request).await.expect("a plan");
    assert!(!again.has_changes());
    let before = w.account.sdk_calls();
    let second = apply(&w.idc, &again, ProvisionWait::default()).await;
    assert_eq!(writes(&w.account.sdk_calls().since(&before)), (0, 0));
    assert_eq!(
        second.iter().filter(|(_, a)| *a == Applied::Unchanged).count(),
        2,
        "{second:?}"
    );
}

/// A set edited since its last provisioning (an earlier run stopped between the put and the provisioning) is
/// re-provisioned, though its policy already denies the person.
#[tokio::test]
async fn a_set_denied_but_not_yet_provisioned_is_provisioned_by_the_next_apply() {
    let w = world().await;
    let links = LinkPolicy::default();
    let app = OktaAppId::parse(APP).expect("app");
    let operations: PermissionSetArn = w.org.permission_set("Operations").clone();
    let denial = shared::rules::session_revocation::with_denial(None, &[w.org.user(BOB).clone()])
        .expect("valid")
        .expect("a change");
    shared::ports::PermissionSetEditor::put_inline_policy(&w.idc, &operations, &denial.to_string())
        .await
        .expect("put");
    assert_eq!(
        stale_accounts(&w, "Operations").await,
        [w.org.account("production").as_str()]
    );
    let request = RevokeRequest {
        person: &w.person,
        app_id: &app,
        links: &links,
        remembered: &[],
        named_sets: &[],
        include_weak_links: false,
    };
    let planned = plan(&w.directory, &w.idc, &w.idc, &request).await.expect("a plan");
    let set = planned.sets.iter().find(|s| s.arn == operations).expect("Operations");
    assert_eq!(
        set.change,
        SetChange::AlreadyDenied {
            stale: vec![w.org.account("production").clone()]
        }
    );
    let applied = apply(&w.idc, &planned, ProvisionWait::default()).await;
    let outcome = applied.iter().find(|(arn, _)| *arn == operations).map(|(_, a)| a);
    assert_eq!(outcome, Some(&Applied::Reprovisioned(ProvisionStatus::Succeeded)));
    assert!(stale_accounts(&w, "Operations").await.is_empty());
    drop(w.okta);
}

/// The built binary, configured by environment like an operator's shell: the dry run prints the plan and changes
/// nothing; --apply from a pipe is refused; --apply --yes applies; run again it says nothing needed changing.
#[tokio::test]
async fn the_cli_revoke_command_plans_refuses_without_a_terminal_and_applies_once() {
    let w = world().await;
    let credentials = w.account.credentials().await;
    let run = |args: &[&str]| {
        let mut command =
            tokio::process::Command::new(integration_tests::lambda_runtime::function_binary("deprov-audit"));
        command
            .arg("revoke")
            .args(["--login", BOB])
            .args(args)
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("OKTA_ORG_URL", w.okta.url().to_string())
            .env("OKTA_APP_ID", APP)
            .env("OKTA_API_TOKEN", integration_tests::okta_fake::API_TOKEN)
            .env("IDC_INSTANCE_ARN", w.org.instance.instance_arn.as_str())
            .env("IDENTITY_STORE_ID", w.org.instance.identity_store_id.as_str())
            .env("AWS_ENDPOINT_URL", integration_tests::moto::endpoint())
            .env("AWS_REGION", "us-east-1")
            .env("AWS_MAX_ATTEMPTS", "1")
            .env("AWS_ACCESS_KEY_ID", credentials.access_key_id())
            .env("AWS_SECRET_ACCESS_KEY", credentials.secret_access_key())
            .env("AWS_SESSION_TOKEN", credentials.session_token().unwrap_or_default())
            .stdin(std::process::Stdio::null());
        command.output()
    };
    let text = |out: &std::process::Output| {
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    };

    let dry = run(&[]).await.expect("run deprov-audit");
    let shown = String::from_utf8_lossy(&dry.stdout).to_string();
    // The README's example is this output.
    eprintln!("{shown}");
    assert_eq!(dry.status.code(), Some(0), "{}", text(&dry));
    assert!(shown.contains("DRY RUN"), "{shown}");
    assert!(
        shown.contains(&format!("Developer ({})", w.org.permission_set("Developer"))),
        "{shown}"
    );
    assert!(
        shown.contains(&format!("Operations ({})", w.org.permission_set("Operations"))),
        "{shown}"
    );
    assert!(
        shown.contains(DENY_SID) && shown.contains(w.org.user(BOB).as_str()),
        "{shown}"
    );
    assert!(shown.contains("re-provisioned to: "), "{shown}");
    assert!(shown.contains(w.org.account("staging").as_str()), "{shown}");
    assert!(
        shown.contains("--permission-set"),
        "says to name sets no longer listed: {shown}"
    );
    assert!(shown.contains("run again with --apply"), "{shown}");
    assert_eq!(
        inline_policy(&w, "Developer").await,
        EXISTING,
        "the dry run changed nothing"
    );

    let piped = run(&["--apply"]).await.expect("run deprov-audit");
    assert_eq!(piped.status.code(), Some(2), "{}", text(&piped));
    assert!(text(&piped).contains("not a terminal"), "{}", text(&piped));
    assert_eq!(
        inline_policy(&w, "Developer").await,
        EXISTING,
        "refused: nothing changed"
    );

    let applied = run(&["--apply", "--yes"]).await.expect("run deprov-audit");
    assert_eq!(applied.status.code(), Some(0), "{}", text(&applied));
    assert!(
        text(&applied).contains("Deny added; re-provisioned"),
        "{}",
        text(&applied)
    );
    assert!(inline_policy(&w, "Developer").await.contains(DENY_SID));

    let again = run(&["--apply", "--yes"]).await.expect("run deprov-audit");
    assert_eq!(again.status.code(), Some(0), "{}", text(&again));
    assert!(text(&again).contains("nothing to change"), "{}", text(&again));

    let unknown = run(&[
        "--permission-set",
        "arn:aws:sso:::permissionSet/ssoins-0000000000000000/ps-0000000000000000",
    ])
    .await
    .expect("run deprov-audit");
    assert_eq!(
        unknown.status.code(),
        Some(3),
        "an unknown set: incomplete. {}",
        text(&unknown)
    );
    assert!(text(&unknown).contains("no permission set of the instance has this ARN"));
}
