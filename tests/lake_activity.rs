//! `LakeActivity` through the real SDK against CloudTrail Lake as the moto launcher serves it: the adapter's own
//! statement run in DuckDB over the events seeded into an event data store.

use std::time::Duration;

use chrono::Utc;
use integration_tests::cloudtrail::portal_record;
use integration_tests::moto::MotoAccount;
use integration_tests::org_trail::{LakeStore, alice, member_records};
use serde_json::Value;
use shared::aws::LakeActivity;
use shared::ports::{OrgActivity, UseQuery, UseRead};

const LAG_SECONDS: i64 = 900;

async fn store_with(records: &[Value]) -> (MotoAccount, LakeStore) {
    let account = MotoAccount::new().await;
    let store = LakeStore::seeded(&account, records).await;
    (account, store)
}

fn watch() -> UseQuery {
    UseQuery {
        reach: alice::reach(),
        start: alice::deprovisioned(),
        end: alice::deprovisioned() + chrono::Duration::hours(12),
        budget: Duration::from_secs(30),
    }
}

async fn read(account: &MotoAccount, store: &LakeStore, query: &UseQuery) -> UseRead {
    let source = LakeActivity::new(account.sdk_config(), store.settings(LAG_SECONDS));
    assert_eq!(source.source(), "cloudtrail-lake");
    source.use_of_aws(query).await.expect("the read succeeds")
}

#[tokio::test]
async fn lake_finds_use_in_a_member_account_in_another_region_after_the_deprovision_and_nothing_else() {
    let after = chrono::Duration::hours(6);
    let session = alice::call("e-after", alice::MEMBER, "eu-west-1", after, alice::USER_NAME);
    let mut records = member_records(&[
        session.clone(),
        alice::call(
            "e-before",
            alice::MEMBER,
            "eu-west-1",
            chrono::Duration::hours(-1),
            alice::USER_NAME,
        ),
        alice::call("e-bob", alice::MEMBER, "eu-west-1", after, "bob@example.com"),
        alice::call("e-elsewhere", alice::OTHER_MEMBER, "eu-west-1", after, alice::USER_NAME),
    ]);
    // A role that is no permission set's, whose session carries her name.
    let mut deploy = alice::call("e-deploy-role", alice::MEMBER, "eu-west-1", after, alice::USER_NAME).record();
    deploy["userIdentity"]["arn"] = Value::String(format!(
        "arn:aws:sts::{}:assumed-role/deploy/{}",
        alice::MEMBER,
        alice::USER_NAME
    ));
    records.push(deploy);
    records.push(portal_record(
        "e-portal",
        alice::deprovisioned() + chrono::Duration::minutes(3),
        alice::USER_ID,
    ));
    let (account, store) = store_with(&records).await;
    let before = account.sdk_calls();

    let read = read(&account, &store, &watch()).await;

    let found: Vec<_> = read
        .events
        .iter()
        .map(|e| {
            (
                e.event_id.as_str(),
                e.account_id.as_deref(),
                e.region.as_deref(),
                e.role_name.as_deref(),
                e.event_name.as_str(),
            )
        })
        .collect();
    assert_eq!(
        found,
        vec![
            (
                "e-portal",
                Some(alice::IDENTITY_CENTER_ACCOUNT),
                Some("us-east-1"),
                None,
                "GetRoleCredentials"
            ),
            (
                "e-after",
                Some(alice::MEMBER),
                Some("eu-west-1"),
                Some(session.role_name().as_str()),
                "ListBuckets"
            ),
        ]
    );
    assert_eq!(read.events[1].event_time, session.time);
    assert!(read.complete);
    assert_eq!(read.caught_up_to, watch().end);
    let calls = account.sdk_calls().since(&before);
    assert_eq!(
        (
            calls.of("StartQuery"),
            calls.of("DescribeQuery"),
            calls.of("GetQueryResults")
        ),
        (1, 1, 1),
        "{calls:?}"
    );
}

#[tokio::test]
async fn lake_reads_every_page() {
    let calls: Vec<_> = (0..1_205)
        .map(|n| {
            alice::call(
                &format!("e-{n:05}"),
                alice::MEMBER,
                "sa-east-1",
                chrono::Duration::seconds(60 + n),
                alice::USER_NAME,
            )
        })
        .collect();
    let (account, store) = store_with(&member_records(&calls)).await;
    let before = account.sdk_calls();
    let read = read(&account, &store, &watch()).await;
    assert_eq!(read.events.len(), 1_205);
    assert!(read.complete);
    assert_eq!(account.sdk_calls().since(&before).of("GetQueryResults"), 2);
}

#[tokio::test]
async fn a_failed_lake_query_is_an_error_with_lakes_message() {
    let (account, store) = store_with(&[]).await;
    LakeStore::fail_next_query(&account, "Query exceeded the maximum number of events scanned").await;
    let source = LakeActivity::new(account.sdk_config(), store.settings(LAG_SECONDS));
    let text = source
        .use_of_aws(&watch())
        .await
        .expect_err("FAILED")
        .causes()
        .to_string();
    assert!(text.contains("QueryFAILED"), "{text}");
    assert!(text.contains("maximum number of events scanned"), "{text}");

    let unknown = LakeStore {
        arn: format!(
            "arn:aws:cloudtrail:us-east-1:{}:eventdatastore/no-such-store",
            account.id()
        ),
    };
    let source = LakeActivity::new(account.sdk_config(), unknown.settings(LAG_SECONDS));
    let text = source
        .use_of_aws(&watch())
        .await
        .expect_err("no store")
        .causes()
        .to_string();
    assert!(text.contains("EventDataStoreNotFoundException"), "{text}");
}

#[tokio::test]
async fn lake_lag_and_budget() {
    let (account, store) = store_with(&[]).await;
    let now = Utc::now();
    let lagging = read(
        &account,
        &store,
        &UseQuery {
            start: now - chrono::Duration::hours(1),
            end: now,
            ..watch()
        },
    )
    .await;
    assert!(lagging.caught_up_to <= Utc::now() - chrono::Duration::seconds(LAG_SECONDS));

    LakeStore::hold_queries(&account, -1).await;
    let before = account.sdk_calls();
    let read = read(
        &account,
        &store,
        &UseQuery {
            budget: Duration::from_millis(1_500),
            ..watch()
        },
    )
    .await;
    assert!(!read.complete);
    let calls = account.sdk_calls().since(&before);
    assert_eq!(calls.of("CancelQuery"), 1, "{calls:?}");
    assert_eq!(calls.of("GetQueryResults"), 0, "{calls:?}");
}
