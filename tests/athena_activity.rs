//! `AthenaActivity` through the real SDK against Athena as the moto launcher serves it: the adapter's own query text
//! run in DuckDB over gzip CloudTrail log files in moto S3, in the org trail's layout, against the table
//! `docs/athena-org-trail.sql` declares (so a query naming an undeclared column fails here as in Athena).

use std::time::Duration;

use chrono::Utc;
use integration_tests::cloudtrail::portal_record;
use integration_tests::moto::MotoAccount;
use integration_tests::org_trail::{OrgTrail, alice, member_records};
use serde_json::Value;
use shared::aws::AthenaActivity;
use shared::ports::{OrgActivity, UseQuery, UseRead};

const LAG_SECONDS: i64 = 900;

/// A fresh account holding an org trail with `records` delivered.
async fn trail_with(records: &[Value]) -> (MotoAccount, OrgTrail) {
    let account = MotoAccount::new().await;
    let mut trail = OrgTrail::create(&account).await;
    trail.deliver(&account, records).await;
    (account, trail)
}

/// Alice, from the deprovision to 12 hours later.
fn watch() -> UseQuery {
    UseQuery {
        reach: alice::reach(),
        start: alice::deprovisioned(),
        end: alice::deprovisioned() + chrono::Duration::hours(12),
        budget: Duration::from_secs(30),
    }
}

async fn read(account: &MotoAccount, trail: &OrgTrail, query: &UseQuery) -> UseRead {
    let source = AthenaActivity::new(account.sdk_config(), trail.settings(LAG_SECONDS));
    assert_eq!(source.source(), "athena");
    source.use_of_aws(query).await.expect("the read succeeds")
}

#[tokio::test]
async fn use_in_a_member_account_in_another_region_after_the_deprovision_is_found() {
    let session = alice::call(
        "e-after",
        alice::MEMBER,
        "eu-west-1",
        chrono::Duration::hours(6),
        alice::USER_NAME,
    );
    let mut records = member_records(std::slice::from_ref(&session));
    records.push(portal_record(
        "e-portal",
        alice::deprovisioned() + chrono::Duration::minutes(3),
        alice::USER_ID,
    ));
    let (account, trail) = trail_with(&records).await;
    let before = account.sdk_calls();

    let read = read(&account, &trail, &watch()).await;

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
    assert_eq!(read.events[1].actor_user_name.as_deref(), Some(alice::USER_NAME));
    assert_eq!(
        read.events[0].actor_user_id.as_ref().map(|id| id.as_str()),
        Some(alice::USER_ID)
    );
    assert!(read.complete);
    assert_eq!(
        read.caught_up_to,
        watch().end,
        "the window is long past: the source has caught up"
    );

    // One check: StartQueryExecution, one GetQueryExecution (the query had finished), one page of results.
    let calls = account.sdk_calls().since(&before);
    assert_eq!(calls.of("StartQueryExecution"), 1, "{calls:?}");
    assert_eq!(calls.of("GetQueryExecution"), 1, "{calls:?}");
    assert_eq!(calls.of("GetQueryResults"), 1, "{calls:?}");
    assert_eq!(calls.total(), 3, "{calls:?}");
}

#[tokio::test]
async fn use_before_the_deprovision_is_not_returned() {
    let calls = [
        alice::call(
            "e-hour-before",
            alice::MEMBER,
            "eu-west-1",
            chrono::Duration::hours(-1),
            alice::USER_NAME,
        ),
        alice::call(
            "e-day-before",
            alice::MEMBER,
            "eu-west-1",
            chrono::Duration::hours(-30),
            alice::USER_NAME,
        ),
    ];
    let (account, trail) = trail_with(&member_records(&calls)).await;
    let read = read(&account, &trail, &watch()).await;
    assert_eq!(read.events, vec![]);
    assert!(read.complete);
}

#[tokio::test]
async fn another_persons_session_another_account_and_other_roles_are_not_returned() {
    let after = chrono::Duration::hours(1);
    let mut calls = vec![
        alice::call("e-bob", alice::MEMBER, "us-east-1", after, "bob@example.com"),
        alice::call("e-elsewhere", alice::OTHER_MEMBER, "us-east-1", after, alice::USER_NAME),
    ];
    // A role that is no permission set's, whose session happens to carry her name.
    let mut not_sso = alice::call("e-deploy-role", alice::MEMBER, "us-east-1", after, alice::USER_NAME);
    not_sso.permission_set = "X".into();
    let mut record = not_sso.record();
    record["userIdentity"]["arn"] = Value::String(format!(
        "arn:aws:sts::{}:assumed-role/deploy/{}",
        alice::MEMBER,
        alice::USER_NAME
    ));
    calls.push(alice::call(
        "e-alice",
        alice::MEMBER,
        "us-east-1",
        after,
        "Alice@Example.com",
    ));
    let mut records = member_records(&calls);
    records.push(record);
    records.push(portal_record(
        "e-bob-portal",
        alice::deprovisioned() + after,
        "c4488478-a0e1-700e-3d75-96c6bb641596",
    ));
    let (account, trail) = trail_with(&records).await;

    let read = read(&account, &trail, &watch()).await;
    let ids: Vec<&str> = read.events.iter().map(|e| e.event_id.as_str()).collect();
    assert_eq!(
        ids,
        vec!["e-alice"],
        "session names match case-insensitively, nothing else matches"
    );
}

#[tokio::test]
async fn more_rows_than_one_page_are_all_read() {
    let calls: Vec<_> = (0..1_205)
        .map(|n| {
            alice::call(
                &format!("e-{n:05}"),
                alice::MEMBER,
                "ap-southeast-2",
                chrono::Duration::seconds(60 + n),
                alice::USER_NAME,
            )
        })
        .collect();
    let (account, trail) = trail_with(&member_records(&calls)).await;
    let before = account.sdk_calls();
    let read = read(&account, &trail, &watch()).await;
    assert_eq!(read.events.len(), 1_205);
    assert_eq!(read.events.first().map(|e| e.event_id.as_str()), Some("e-00000"));
    assert_eq!(read.events.last().map(|e| e.event_id.as_str()), Some("e-01204"));
    assert!(read.complete);
    // 1,205 rows and the header row: two pages of at most 1,000.
    assert_eq!(account.sdk_calls().since(&before).of("GetQueryResults"), 2);
}

#[tokio::test]
async fn a_failing_query_is_an_error_that_keeps_athenas_reason() {
    let (account, trail) = trail_with(&[]).await;
    let mut settings = trail.settings(LAG_SECONDS);
    settings.table = "no_such_table".into();
    let source = AthenaActivity::new(account.sdk_config(), settings);
    let error = source.use_of_aws(&watch()).await.expect_err("the table does not exist");
    let text = error.causes().to_string();
    assert!(text.contains("GetQueryExecution"), "{text}");
    assert!(text.contains("QueryFailed"), "{text}");
    assert!(
        text.contains("no_such_table"),
        "Athena's StateChangeReason is kept: {text}"
    );
}

#[tokio::test]
async fn a_lagging_source_has_caught_up_only_to_now_less_the_delivery_lag() {
    let now = Utc::now();
    let (account, trail) = trail_with(&[]).await;
    let query = UseQuery {
        start: now - chrono::Duration::hours(1),
        end: now,
        ..watch()
    };
    let read = read(&account, &trail, &query).await;
    assert!(read.caught_up_to < query.end, "{read:?}");
    assert!(read.caught_up_to <= Utc::now() - chrono::Duration::seconds(LAG_SECONDS));
    assert!(read.caught_up_to >= now - chrono::Duration::seconds(LAG_SECONDS + 60));
}

#[tokio::test]
async fn a_query_still_running_when_the_budget_ends_is_stopped_and_the_read_is_incomplete() {
    let session = alice::call(
        "e-after",
        alice::MEMBER,
        "eu-west-1",
        chrono::Duration::hours(1),
        alice::USER_NAME,
    );
    let (account, trail) = trail_with(&member_records(&[session])).await;
    OrgTrail::hold_queries(&account, -1).await;
    let before = account.sdk_calls();
    let started = std::time::Instant::now();
    let read = read(
        &account,
        &trail,
        &UseQuery {
            budget: Duration::from_millis(1_500),
            ..watch()
        },
    )
    .await;
    assert!(!read.complete);
    assert_eq!(read.events, vec![]);
    assert!(started.elapsed() < Duration::from_secs(10), "{:?}", started.elapsed());
    let calls = account.sdk_calls().since(&before);
    assert_eq!(calls.of("StopQueryExecution"), 1, "{calls:?}");
    assert_eq!(calls.of("GetQueryResults"), 0, "{calls:?}");
    assert!(calls.of("GetQueryExecution") >= 2, "polled while it ran: {calls:?}");
}
