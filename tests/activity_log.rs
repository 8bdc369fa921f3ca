//! `CloudTrailActivityLog` through the real SDK against LookupEvents as the moto launcher serves it: paging,
//! the one lookup attribute, the time window, throttling, and reading who acted on whom.

use std::time::{Duration, Instant};

use chrono::{DateTime, TimeZone, Utc};
use integration_tests::cloudtrail::{PORTAL_EVENT_SOURCE, lookup_event, portal_record, sample_record};
use integration_tests::moto::MotoAccount;
use serde_json::Value;
use shared::Error;
use shared::aws::CloudTrailActivityLog;
use shared::domain::activity::SCIM_EVENT_SOURCE;
use shared::ports::{ActivityLog, ActivityQuery, LookupAttribute};

const ALICE: &str = "94d00cd8-e9e6-4810-b177-b08e84775435";
const SAMPLES: [&str; 8] = [
    "scim-patch-user",
    "scim-patch-user-failed",
    "scim-patch-group",
    "portal-federate",
    "portal-get-role-credentials",
    "sso-role-session",
    "signin-user-authentication",
    "identitystore-update-user",
];

fn at(minute: i64) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 20, 9, 0, 0).unwrap() + chrono::Duration::minutes(minute)
}

/// Everything on the day the samples happened.
fn whole_day(attribute: LookupAttribute) -> ActivityQuery {
    ActivityQuery::new(attribute, at(0), at(24 * 60))
}

fn portal_query(start: DateTime<Utc>, end: DateTime<Utc>) -> ActivityQuery {
    ActivityQuery::new(LookupAttribute::EventSource(PORTAL_EVENT_SOURCE.into()), start, end)
}

/// A fresh account whose CloudTrail history holds `records`.
async fn history(records: &[Value]) -> (MotoAccount, CloudTrailActivityLog) {
    let account = MotoAccount::new().await;
    let events: Vec<Value> = records.iter().map(lookup_event).collect();
    account.seed_lookup_events(&events).await;
    let log = CloudTrailActivityLog::new(account.sdk_config());
    (account, log)
}

#[tokio::test]
async fn follows_every_page_oldest_first_at_no_more_than_two_calls_a_second() {
    let records: Vec<Value> = (0..120)
        .map(|n| portal_record(&format!("event-{n:03}"), at(n), ALICE))
        .collect();
    let (account, log) = history(&records).await;

    let before = account.sdk_calls();
    let started = Instant::now();
    let events = log.lookup(&portal_query(at(0), at(200))).await.unwrap().events;
    let elapsed = started.elapsed();
    let calls = account.sdk_calls().since(&before);

    let ids: Vec<String> = events.into_iter().map(|e| e.event_id).collect();
    let expected: Vec<String> = (0..120).map(|n| format!("event-{n:03}")).collect();
    assert_eq!(ids, expected);
    assert_eq!(calls.of("LookupEvents"), 3, "pages of 50");
    assert!(
        elapsed >= Duration::from_millis(1000),
        "three calls, 500 ms apart: {elapsed:?}"
    );
}

#[tokio::test]
async fn a_read_stops_at_its_page_cap_and_says_it_is_partial() {
    let records: Vec<Value> = (0..120)
        .map(|n| portal_record(&format!("event-{n:03}"), at(n), ALICE))
        .collect();
    let (account, log) = history(&records).await;
    let before = account.sdk_calls();
    let query = portal_query(at(0), at(200)).bounded(2, Duration::from_secs(60));
    let read = log.lookup(&query).await.unwrap();
    assert!(!read.complete);
    assert_eq!(read.events.len(), 100, "two pages of 50");
    assert_eq!(account.sdk_calls().since(&before).of("LookupEvents"), 2);

    let whole = log.lookup(&portal_query(at(0), at(200))).await.unwrap();
    assert!(whole.complete);
}

#[tokio::test]
async fn a_read_stops_when_its_time_budget_is_spent_even_while_throttled() {
    let (account, log) = history(&[portal_record("event-1", at(1), ALICE)]).await;
    account.throttle_lookup_events(10).await;
    let started = Instant::now();
    let query = portal_query(at(0), at(10)).bounded(5, Duration::from_millis(700));
    let read = log.lookup(&query).await.unwrap();
    assert!(!read.complete && read.events.is_empty(), "{read:?}");
    assert!(started.elapsed() < Duration::from_secs(3), "{:?}", started.elapsed());
}

#[tokio::test]
async fn a_read_bounded_in_time_outlasts_more_throttles_than_an_unbounded_one_gives_up_after() {
    let (account, log) = history(&[portal_record("event-1", at(1), ALICE)]).await;
    // One more throttle than an unbounded read retries (see gives_up_after_…): checkers share the 2 calls a second.
    account.throttle_lookup_events(4).await;
    let before = account.sdk_calls();
    let query = portal_query(at(0), at(10)).bounded(5, Duration::from_secs(20));
    let read = log
        .lookup(&query)
        .await
        .expect("a bounded read stops or answers; it does not fail on throttling");
    assert!(read.complete, "{read:?}");
    assert_eq!(read.events.len(), 1);
    assert_eq!(account.sdk_calls().since(&before).of("LookupEvents"), 5);
}

#[tokio::test]
async fn filters_by_its_one_lookup_attribute() {
    let records: Vec<Value> = SAMPLES.iter().map(|name| sample_record(name)).collect();
    let (_account, log) = history(&records).await;
    let names = |events: Vec<shared::domain::ActivityEvent>| -> Vec<String> {
        events.into_iter().map(|e| e.event_name).collect()
    };

    let scim = log
        .lookup(&whole_day(LookupAttribute::EventSource(SCIM_EVENT_SOURCE.into())))
        .await
        .unwrap()
        .events;
    assert_eq!(names(scim), ["PatchUser", "PatchGroup", "PatchUser"]);

    let patches = log
        .lookup(&whole_day(LookupAttribute::EventName("PatchUser".into())))
        .await
        .unwrap()
        .events;
    assert_eq!(patches.len(), 2);

    let by_alice = log
        .lookup(&whole_day(LookupAttribute::Username("alice@example.com".into())))
        .await
        .unwrap()
        .events;
    assert_eq!(names(by_alice), ["UserAuthentication", "StopInstances"]);
}

#[tokio::test]
async fn keeps_to_the_time_window_with_both_ends_included() {
    let records: Vec<Value> = (0..10)
        .map(|n| portal_record(&format!("event-{n}"), at(n), ALICE))
        .collect();
    let (_account, log) = history(&records).await;
    let events = log.lookup(&portal_query(at(2), at(5))).await.unwrap().events;
    let ids: Vec<&str> = events.iter().map(|e| e.event_id.as_str()).collect();
    assert_eq!(ids, ["event-2", "event-3", "event-4", "event-5"]);
}

#[tokio::test]
async fn retries_throttled_calls_then_answers() {
    let (account, log) = history(&[portal_record("event-1", at(1), ALICE)]).await;
    account.throttle_lookup_events(2).await;
    let before = account.sdk_calls();
    let events = log.lookup(&portal_query(at(0), at(10))).await.unwrap().events;
    assert_eq!(events.len(), 1);
    assert_eq!(account.sdk_calls().since(&before).of("LookupEvents"), 3);
}

#[tokio::test]
async fn gives_up_after_a_bounded_number_of_throttled_retries() {
    let (account, log) = history(&[portal_record("event-1", at(1), ALICE)]).await;
    account.throttle_lookup_events(10).await;
    let before = account.sdk_calls();
    let error = log.lookup(&portal_query(at(0), at(10))).await.unwrap_err();
    assert!(
        matches!(
            error,
            Error::Aws {
                service: "cloudtrail",
                operation: "LookupEvents",
                ..
            }
        ),
        "{error:?}"
    );
    assert_eq!(error.kind(), "AwsThrottled");
    assert!(
        error
            .to_string()
            .ends_with("LookupEvents failed: ThrottlingException: Rate exceeded"),
        "{error}"
    );
    let calls = account.sdk_calls().since(&before);
    assert_eq!(calls.of("LookupEvents"), 4, "one call and three retries");
}

#[tokio::test]
async fn reads_the_acting_user_the_role_session_and_the_scim_target() {
    let records: Vec<Value> = SAMPLES.iter().map(|name| sample_record(name)).collect();
    let (_account, log) = history(&records).await;

    let scim = log
        .lookup(&whole_day(LookupAttribute::EventSource(SCIM_EVENT_SOURCE.into())))
        .await
        .unwrap()
        .events;
    let patch = &scim[0];
    assert_eq!(
        (patch.event_name.as_str(), patch.error_code.as_deref()),
        ("PatchUser", None)
    );
    assert!(patch.is_scim_user_write());
    assert_eq!(
        patch.target_user_id.as_ref().map(|id| id.as_str()),
        Some("c4488478-a0e1-700e-3d75-96c6bb641596")
    );
    assert_eq!(scim[2].error_code.as_deref(), Some("ValidationException"));

    let portal = log
        .lookup(&whole_day(LookupAttribute::EventSource(PORTAL_EVENT_SOURCE.into())))
        .await
        .unwrap()
        .events;
    assert_eq!(portal.len(), 2);
    for event in &portal {
        assert_eq!(
            event.actor_user_id.as_ref().map(|id| id.as_str()),
            Some(ALICE),
            "{}",
            event.event_name
        );
    }

    let session = log
        .lookup(&whole_day(LookupAttribute::EventName("StopInstances".into())))
        .await
        .unwrap()
        .events;
    assert_eq!(session[0].actor_user_name.as_deref(), Some("alice@example.com"));
    assert_eq!(
        session[0].role_name.as_deref(),
        Some("AWSReservedSSO_Developer_0123456789abcdef")
    );
    assert_eq!(session[0].account_id.as_deref(), Some("444455556666"));
}
