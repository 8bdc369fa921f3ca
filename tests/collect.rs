//! The whole read path, end to end: `collect_snapshot` over the real adapters (the Okta fake; Identity Center,
//! Organizations and CloudTrail LookupEvents in moto), then the rules on what it collected.

use chrono::{DateTime, Duration, Utc};
use integration_tests::cloudtrail::{lookup_event, portal_record};
use integration_tests::moto::MotoAccount;
use integration_tests::okta_fake::{OktaFake, api_token};
use integration_tests::seed::OrgSeed;
use shared::aws::{CloudTrailActivityLog, IdentityCenterClient};
use shared::collect::{CollectOptions, collect_snapshot};
use shared::domain::{
    AppUser, AppUserStatus, LogTarget, OktaApp, OktaAppId, OktaEventId, OktaLogEvent, OktaLogin, OktaSide, OktaUser,
    OktaUserId, OktaUserStatus, Rule,
};
use shared::okta::OktaClient;
use shared::rules::{Policy, evaluate};

const APP: &str = "0oa1awsidc00000001";

fn okta_user(id: &str, login: &str, status: OktaUserStatus, changed: DateTime<Utc>) -> OktaUser {
    OktaUser {
        id: OktaUserId::parse(id).expect("id"),
        login: OktaLogin::parse(login).expect("login"),
        email: Some(login.into()),
        status,
        transitioning_to_status: None,
        status_changed: Some(changed),
        last_login: None,
    }
}

#[tokio::test]
async fn a_collected_snapshot_holds_both_sides_and_the_activity_and_the_rules_judge_it() {
    let now = Utc::now();
    let deactivated_at = now - Duration::hours(3);
    let account = MotoAccount::new().await;
    let org = OrgSeed::new()
        .user("alice@acme.example")
        .user("bob@acme.example")
        .user("stray@partner.example")
        .group("aws-production-developers", &["alice@acme.example", "bob@acme.example"])
        .permission_set("Developer", "PT8H")
        .assign_group("aws-production-developers", "Developer", "production")
        .seed(&account)
        .await;
    let bob = org.user("bob@acme.example").clone();
    let okta = OktaFake::start(
        OktaSide {
            org_url: "https://acme.okta.com".into(),
            users: vec![
                okta_user(
                    "00u1alice",
                    "alice@acme.example",
                    OktaUserStatus::Active,
                    now - Duration::days(300),
                ),
                okta_user(
                    "00u1bob",
                    "bob@acme.example",
                    OktaUserStatus::Deprovisioned,
                    deactivated_at,
                ),
            ],
            groups: vec![],
            app: OktaApp {
                id: OktaAppId::parse(APP).expect("id"),
                label: "AWS IAM Identity Center".into(),
                app_users: vec![AppUser {
                    user_id: OktaUserId::parse("00u1alice").expect("id"),
                    external_id: Some(org.user("alice@acme.example").to_string()),
                    user_name: None,
                    status: AppUserStatus::Provisioned,
                    sync_state: None,
                    last_sync: None,
                }],
                group_push_mappings: vec![],
                signing_keys: vec![],
            },
            deprovisions: vec![],
        },
        vec![OktaLogEvent {
            uuid: OktaEventId::parse("c011ec70-2837-11eb-9823-9fb8f750c5a9").expect("uuid"),
            event_type: "user.lifecycle.deactivate".into(),
            published: deactivated_at,
            outcome: Some("SUCCESS".into()),
            targets: vec![LogTarget {
                id: "00u1bob".into(),
                kind: "User".into(),
                alternate_id: Some("bob@acme.example".into()),
            }],
        }],
    )
    .await;
    account
        .seed_lookup_events(&[
            lookup_event(&portal_record(
                "ct-after",
                deactivated_at + Duration::minutes(30),
                bob.as_str(),
            )),
            lookup_event(&portal_record(
                "ct-before",
                deactivated_at - Duration::minutes(30),
                bob.as_str(),
            )),
        ])
        .await;
    // Every sso-admin call is logged under the portal's event source too (read-only ones are in event history):
    // a review's own inventory, newer than the sign-ins, more than a page-capped read of that source holds.
    let own_calls: Vec<serde_json::Value> = (0..5_100)
        .map(|i| {
            let mut record = portal_record(
                &format!("ct-admin-{i}"),
                now - Duration::seconds(i % 3_000),
                bob.as_str(),
            );
            record["eventName"] = serde_json::json!("ListAccountAssignments");
            record["userIdentity"] = serde_json::json!({"type": "AssumedRole", "accountId": "111122223333"});
            lookup_event(&record)
        })
        .collect();
    account.seed_lookup_events(&own_calls).await;

    let directory = OktaClient::new(okta.client_config(api_token())).expect("client");
    let identity_center = IdentityCenterClient::new(account.sdk_config(), org.instance.clone());
    let activity = CloudTrailActivityLog::new(account.sdk_config());
    let options = CollectOptions {
        org_url: "https://acme.okta.com".into(),
        app_id: OktaAppId::parse(APP).expect("id"),
        links: shared::domain::LinkPolicy::default(),
        activity_window: Duration::days(1),
    };
    let snapshot = collect_snapshot(&directory, &identity_center, &activity, &options, now)
        .await
        .expect("a snapshot");

    assert_eq!(snapshot.okta.users.len(), 2, "deprovisioned users included");
    assert_eq!(snapshot.okta.deprovisions.len(), 1);
    assert_eq!(snapshot.idc.users.len(), 3);
    assert_eq!(snapshot.idc.assignments.len(), 1);
    let ids: Vec<&str> = snapshot.activity.iter().map(|e| e.event_id.as_str()).collect();
    assert!(
        ids.contains(&"ct-after") && ids.contains(&"ct-before"),
        "{:?}",
        &ids[..ids.len().min(5)]
    );
    assert!(
        !ids.iter().any(|id| id.starts_with("ct-admin-")),
        "sso-admin calls are not sign-ins"
    );
    assert!(
        snapshot.activity_complete,
        "the sign-in reads are whole: 5,100 sso-admin calls under the same source do not fill them"
    );
    let round_trip: shared::domain::OrgSnapshot =
        serde_json::from_str(&serde_json::to_string(&snapshot).expect("encode")).expect("decode");
    assert_eq!(round_trip, snapshot);

    let findings = evaluate(&snapshot, &Policy::at(now));
    let rules = |rule: Rule| findings.iter().filter(|f| f.rule == rule).count();
    assert_eq!(rules(Rule::DeprovisionedUserEnabled), 1);
    assert_eq!(rules(Rule::ActivityAfterDeprovision), 1);
    assert_eq!(
        rules(Rule::PropagationOverdue),
        1,
        "the collected deactivation, replayed"
    );
    assert_eq!(rules(Rule::OrphanedIdcUser), 1, "stray@partner.example");
}
