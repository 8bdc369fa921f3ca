//! `MemberLookupActivity` through the real SDK against moto: an organization's member accounts, the activity-read
//! role in each (trusting the propagation-check function's role, as member-activity-role.yaml does), STS AssumeRole
//! from the deploy account, and each member account's own LookupEvents history per Region, seeded from
//! `MemberCall`s.

use std::collections::BTreeMap;
use std::time::Duration;

use chrono::{DateTime, Utc};
use integration_tests::cloudtrail::MemberCall;
use integration_tests::member_trail::{CHECKER_ROLE, activity_role, role_trusting, seed_member_calls, trust_policy};
use integration_tests::moto::MotoAccount;
use integration_tests::seed::{OrgSeed, SeededOrg};
use shared::aws::{MemberActivitySettings, MemberLookupActivity};
use shared::domain::AccountId;
use shared::domain::activity::Reach;
use shared::ports::{OrgActivity, UseQuery, UseRead};

const ROLE: &str = "deprov-audit-activity-read";
const ALICE: &str = "alice@example.com";
const BOB: &str = "bob@example.com";

/// An organization with these member accounts, each holding the activity-read role, and the deploy (management)
/// account entered as the propagation-check function's role.
async fn organization(members: &[&str]) -> (SeededOrg, MotoAccount) {
    let management = MotoAccount::new().await;
    let mut seed = OrgSeed::new();
    for member in members {
        seed = seed.account(member);
    }
    let org = seed.seed(&management).await;
    for member in members {
        activity_role(org.account(member), ROLE, management.id()).await;
    }
    let deploy = MotoAccount::enter_as(management.id().clone(), CHECKER_ROLE).await;
    (org, deploy)
}

fn settings(regions: &[&str]) -> MemberActivitySettings {
    let env = |name: &str| match name {
        "ACTIVITY_MEMBER_ROLE_NAME" => Some(ROLE.to_owned()),
        "ACTIVITY_REGIONS" => Some(regions.join(",")),
        "AWS_REGION" => Some("us-east-1".to_owned()),
        // One checker instance: calls 550 ms apart per account and Region (500 ms and a margin).
        "LOOKUP_EVENTS_SHARERS" => Some("1".to_owned()),
        _ => None,
    };
    MemberActivitySettings::from_env(&env).expect("settings")
}

fn call(id: &str, account: &AccountId, region: &str, time: DateTime<Utc>, session: &str) -> MemberCall {
    MemberCall {
        event_id: id.to_owned(),
        account_id: account.to_string(),
        region: region.to_owned(),
        event_source: "s3.amazonaws.com".to_owned(),
        event_name: "ListBuckets".to_owned(),
        time,
        permission_set: "Developer".to_owned(),
        session_name: session.to_owned(),
    }
}

fn query(user_names: &[&str], accounts: &[&AccountId], start: DateTime<Utc>, end: DateTime<Utc>) -> UseQuery {
    UseQuery {
        reach: Reach {
            user_names: user_names.iter().map(|n| (*n).to_owned()).collect(),
            accounts: accounts.iter().map(|a| (*a).clone()).collect(),
            ..Reach::default()
        },
        start,
        end,
        budget: Duration::from_secs(60),
    }
}

fn ids(read: &UseRead) -> Vec<&str> {
    read.events.iter().map(|e| e.event_id.as_str()).collect()
}

#[tokio::test]
async fn use_in_a_member_account_in_another_region_after_the_deprovision_is_found_and_nothing_else() {
    let (org, deploy) = organization(&["production", "sandbox"]).await;
    let (production, sandbox) = (org.account("production"), org.account("sandbox"));
    let now = Utc::now();
    let deprovisioned = now - chrono::Duration::hours(2);
    let mut before = call(
        "before",
        production,
        "eu-west-1",
        deprovisioned - chrono::Duration::minutes(5),
        ALICE,
    );
    before.event_name = "GetObject".into();
    let mut after = call(
        "after",
        production,
        "eu-west-1",
        deprovisioned + chrono::Duration::minutes(30),
        ALICE,
    );
    after.event_name = "DescribeInstances".into();
    after.event_source = "ec2.amazonaws.com".into();
    // Another person, in the same account and Region; alice's name on a role that is not Identity Center's.
    let bob = call(
        "bob",
        production,
        "eu-west-1",
        deprovisioned + chrono::Duration::minutes(31),
        BOB,
    );
    seed_member_calls(&[before, after, bob]).await;
    let mut ci_role = call(
        "ci",
        sandbox,
        "us-east-1",
        deprovisioned + chrono::Duration::minutes(40),
        ALICE,
    )
    .record();
    ci_role["userIdentity"]["arn"] = format!("arn:aws:sts::{sandbox}:assumed-role/deploy/{ALICE}").into();
    MotoAccount::enter(sandbox.clone())
        .await
        .seed_lookup_events_in("us-east-1", &[integration_tests::cloudtrail::lookup_event(&ci_role)])
        .await;

    let source = MemberLookupActivity::new(deploy.sdk_config(), settings(&["us-east-1", "eu-west-1"]));
    assert_eq!(source.source(), "member-lookup");
    let asked = query(&[ALICE], &[production, sandbox], deprovisioned, now);
    let calls_before = deploy.sdk_calls();
    let read = source.use_of_aws(&asked).await.expect("a read");
    let calls = deploy.sdk_calls().since(&calls_before);

    assert_eq!(ids(&read), ["after"], "{read:#?}");
    let found = &read.events[0];
    assert_eq!(found.account_id.as_deref(), Some(production.as_str()));
    assert_eq!(found.region.as_deref(), Some("eu-west-1"));
    assert_eq!(
        found.role_name.as_deref(),
        Some("AWSReservedSSO_Developer_0123456789abcdef")
    );
    assert_eq!(found.event_name, "DescribeInstances");
    assert_eq!(found.actor_user_name.as_deref(), Some(ALICE));
    assert!(read.complete && read.unread_accounts.is_empty(), "{read:#?}");
    // The source holds events up to now − 15 min (its default delivery lag): later ones may still arrive.
    assert!(read.caught_up_to <= Utc::now() - chrono::Duration::seconds(900));
    assert!(read.caught_up_to < asked.end);
    // One AssumeRole per account; one LookupEvents per account × Region × user name (one page each).
    assert_eq!(calls.of("AssumeRole"), 2, "{calls:?}");
    assert_eq!(calls.of("LookupEvents"), 2 * 2, "{calls:?}");

    // The next check uses the cached credentials.
    let calls_before = deploy.sdk_calls();
    let again = source.use_of_aws(&asked).await.expect("a read");
    assert_eq!(ids(&again), ["after"]);
    assert_eq!(deploy.sdk_calls().since(&calls_before).of("AssumeRole"), 0);
}

#[tokio::test]
async fn a_region_not_configured_is_not_read() {
    let (org, deploy) = organization(&["production"]).await;
    let production = org.account("production");
    let now = Utc::now();
    let start = now - chrono::Duration::hours(1);
    seed_member_calls(&[
        call(
            "sydney",
            production,
            "ap-southeast-2",
            now - chrono::Duration::minutes(20),
            ALICE,
        ),
        call(
            "virginia",
            production,
            "us-east-1",
            now - chrono::Duration::minutes(21),
            ALICE,
        ),
    ])
    .await;
    let source = MemberLookupActivity::new(deploy.sdk_config(), settings(&["us-east-1", "eu-west-1"]));
    let read = source
        .use_of_aws(&query(&[ALICE, BOB], &[production], start, now))
        .await
        .expect("a read");
    assert_eq!(ids(&read), ["virginia"]);
    assert!(read.complete);
    let regions: Vec<String> = deploy
        .sent_calls()
        .into_iter()
        .filter(|c| c.operation == "LookupEvents")
        .map(|c| c.region)
        .collect();
    assert_eq!(regions.len(), 2 * 2, "two Regions × two user names: {regions:?}");
    assert!(
        regions.iter().all(|r| r == "us-east-1" || r == "eu-west-1"),
        "{regions:?}"
    );
}

#[tokio::test]
async fn an_account_whose_role_cannot_be_assumed_is_named_not_taken_for_no_activity() {
    let management = MotoAccount::new().await;
    let org = OrgSeed::new()
        .account("production")
        .account("sandbox")
        .account("legacy")
        .seed(&management)
        .await;
    let (production, sandbox, legacy) = (org.account("production"), org.account("sandbox"), org.account("legacy"));
    activity_role(production, ROLE, management.id()).await;
    // The StackSet was deployed with another function's role in the trust: AccessDenied.
    role_trusting(
        sandbox,
        ROLE,
        &trust_policy(management.id(), "deprov-audit-CertMonitorFunctionRole-*"),
    )
    .await;
    activity_role(legacy, ROLE, management.id()).await;
    let deploy = MotoAccount::enter_as(management.id().clone(), CHECKER_ROLE).await;
    let now = Utc::now();
    seed_member_calls(&[
        call(
            "prod",
            production,
            "us-east-1",
            now - chrono::Duration::minutes(20),
            ALICE,
        ),
        call(
            "sandbox",
            sandbox,
            "us-east-1",
            now - chrono::Duration::minutes(20),
            ALICE,
        ),
        call(
            "legacy",
            legacy,
            "us-east-1",
            now - chrono::Duration::minutes(20),
            ALICE,
        ),
    ])
    .await;

    let source = MemberLookupActivity::new(deploy.sdk_config(), settings(&["us-east-1"]));
    let all = [production, sandbox, legacy];
    let read = source
        .use_of_aws(&query(&[ALICE], &all, now - chrono::Duration::hours(1), now))
        .await
        .expect("the read goes on past the account it cannot read");
    assert!(!read.complete);
    assert_eq!(read.unread_accounts, std::slice::from_ref(sandbox), "{read:#?}");
    let mut found = ids(&read);
    found.sort();
    assert_eq!(found, ["legacy", "prod"]);

    // Beyond ACTIVITY_MAX_ACCOUNTS (accounts taken in id order): named unread too, never silently dropped.
    let mut capped = settings(&["us-east-1"]);
    capped.max_accounts = 1;
    let mut by_id: Vec<AccountId> = all.iter().map(|a| (*a).clone()).collect();
    by_id.sort();
    let read = MemberLookupActivity::new(deploy.sdk_config(), capped)
        .use_of_aws(&query(&[ALICE], &all, now - chrono::Duration::hours(1), now))
        .await
        .expect("a read");
    assert!(!read.complete);
    let mut unread = read.unread_accounts.clone();
    unread.sort();
    let mut expected = by_id[1..].to_vec();
    if by_id[0] == *sandbox {
        expected.push(sandbox.clone());
        expected.sort();
    }
    assert_eq!(unread, expected, "{read:#?}");
}

#[tokio::test]
async fn many_pages_are_all_read_within_the_caps_each_account_and_region_at_two_calls_a_second() {
    let (org, deploy) = organization(&["production", "sandbox"]).await;
    let (production, sandbox) = (org.account("production"), org.account("sandbox"));
    let now = Utc::now();
    let start = now - chrono::Duration::hours(3);
    let mut calls = Vec::new();
    for n in 0..120 {
        let time = start + chrono::Duration::minutes(n + 1);
        calls.push(call(&format!("p-{n:03}"), production, "us-east-1", time, ALICE));
        calls.push(call(&format!("s-{n:03}"), sandbox, "eu-west-1", time, ALICE));
    }
    seed_member_calls(&calls).await;

    let source = MemberLookupActivity::new(deploy.sdk_config(), settings(&["us-east-1", "eu-west-1"]));
    let sent_before = deploy.sent_calls().len();
    let read = source
        .use_of_aws(&query(&[ALICE], &[production, sandbox], start, now))
        .await
        .expect("a read");
    assert!(read.complete, "{read:#?}");
    assert_eq!(read.events.len(), 240);
    assert!(
        read.events.windows(2).all(|w| w[0].event_time <= w[1].event_time),
        "oldest first"
    );
    let sent = deploy.sent_calls().split_off(sent_before);
    let mut per_place: BTreeMap<(String, String), Vec<std::time::Instant>> = BTreeMap::new();
    for call in sent.iter().filter(|c| c.operation == "LookupEvents") {
        per_place
            .entry((call.access_key_id.clone(), call.region.clone()))
            .or_default()
            .push(call.at);
    }
    // 2 accounts × 2 Regions; where the 120 events are, 3 pages of 50; elsewhere one empty page.
    let mut pages: Vec<usize> = per_place.values().map(Vec::len).collect();
    pages.sort();
    assert_eq!(pages, [1, 1, 3, 3], "{per_place:?}");
    for (place, times) in &per_place {
        for pair in times.windows(2) {
            let gap = pair[1].duration_since(pair[0]);
            assert!(gap >= Duration::from_millis(500), "{place:?}: calls {gap:?} apart");
        }
    }

    // With a cap of 2 pages per read, the read says it is partial and names the accounts not read to the end.
    let mut two_pages = settings(&["us-east-1", "eu-west-1"]);
    two_pages.max_pages = 2;
    let capped = MemberLookupActivity::new(deploy.sdk_config(), two_pages)
        .use_of_aws(&query(&[ALICE], &[production, sandbox], start, now))
        .await
        .expect("a read");
    assert!(!capped.complete);
    assert_eq!(capped.events.len(), 200, "two pages of 50 in each account");
    let mut both = vec![production.clone(), sandbox.clone()];
    both.sort();
    assert_eq!(capped.unread_accounts, both);
}

#[tokio::test]
async fn the_delivery_lag_is_a_setting_and_caught_up_to_follows_it() {
    let (org, deploy) = organization(&["production"]).await;
    let production = org.account("production");
    let mut quick = settings(&["us-east-1"]);
    quick.delivery_lag = Duration::from_secs(60);
    let now = Utc::now();
    let read = MemberLookupActivity::new(deploy.sdk_config(), quick)
        .use_of_aws(&query(&[ALICE], &[production], now - chrono::Duration::hours(1), now))
        .await
        .expect("a read");
    assert!(read.events.is_empty() && read.complete);
    let behind = now - read.caught_up_to;
    assert!(
        behind >= chrono::Duration::seconds(55) && behind <= chrono::Duration::seconds(120),
        "{behind:?}"
    );
}

#[tokio::test]
async fn throttling_is_waited_out_within_the_budget_and_a_spent_budget_is_a_partial_read() {
    let (org, deploy) = organization(&["production"]).await;
    let production = org.account("production");
    let now = Utc::now();
    seed_member_calls(&[call(
        "p",
        production,
        "us-east-1",
        now - chrono::Duration::minutes(20),
        ALICE,
    )])
    .await;
    let member = MotoAccount::enter(production.clone()).await;
    let source = MemberLookupActivity::new(deploy.sdk_config(), settings(&["us-east-1"]));
    let asked = query(&[ALICE], &[production], now - chrono::Duration::hours(1), now);

    member.throttle_lookup_events(2).await;
    let calls_before = deploy.sdk_calls();
    let read = source.use_of_aws(&asked).await.expect("a read");
    assert_eq!(ids(&read), ["p"]);
    assert!(read.complete);
    assert_eq!(
        deploy.sdk_calls().since(&calls_before).of("LookupEvents"),
        3,
        "two throttled, then answered"
    );

    member.throttle_lookup_events(10).await;
    let short = UseQuery {
        budget: Duration::from_millis(700),
        ..asked
    };
    let started = std::time::Instant::now();
    let read = source.use_of_aws(&short).await.expect("a read");
    assert!(!read.complete && read.events.is_empty(), "{read:#?}");
    assert_eq!(read.unread_accounts, std::slice::from_ref(production));
    assert!(started.elapsed() < Duration::from_secs(5), "{:?}", started.elapsed());
}
