//! The System Log sweep against the Okta fake (polling queries, pages of 2), SQS and the cursor in the ledger's
//! DynamoDB table in moto: each run reads from where the last good one stopped, and each event is read once.

use chrono::{DateTime, Duration, Utc};
use integration_tests::ledger::verdict_ledger;
use integration_tests::moto::MotoAccount;
use integration_tests::okta_fake::{OktaFake, api_token};
use integration_tests::queues::{bodies, create_queue, drain};
use shared::aws::{DynamoDbSweepCursor, SqsJobQueue, sweep_cursor_key, verdict_ledger_key_attribute};
use shared::domain::{LogTarget, OktaApp, OktaAppId, OktaEventId, OktaLogEvent, OktaSide};
use shared::handlers::system_log_sweep::{SweepConfig, SweepReport, sweep};
use shared::okta::OktaClient;
use shared::ports::{Directory, LogCursor, SweepCursor};

const APP: &str = "0oa1awsidc00000001";
const TABLE: &str = "verdicts";
const QUEUE: &str = "verify";
const LOGS: &str = "/api/v1/logs";

struct World {
    account: MotoAccount,
    okta: OktaFake,
    directory: OktaClient,
    queue_url: String,
    queue: SqsJobQueue,
    cursor: DynamoDbSweepCursor,
}

impl World {
    async fn run(&self, config: &SweepConfig, at: DateTime<Utc>) -> Result<SweepReport, shared::Error> {
        sweep(&self.directory, &self.queue, &self.cursor, config, at).await
    }

    /// The event uuids of the jobs visible on the queue now (each job is due: its window is over).
    async fn queued(&self) -> Vec<String> {
        let mut uuids: Vec<String> = bodies(&drain(&self.account, &self.queue_url).await)
            .iter()
            .map(|job| job["okta_event_id"].as_str().expect("an event id").to_owned())
            .collect();
        uuids.sort();
        uuids
    }
}

fn app() -> OktaAppId {
    OktaAppId::parse(APP).expect("app id")
}

/// The first run.
fn now() -> DateTime<Utc> {
    "2026-11-20T10:00:00Z".parse().expect("time")
}

fn config() -> SweepConfig {
    SweepConfig {
        aws_app_id: app(),
        propagation_window: Duration::minutes(15),
        first_run_lookback: Duration::hours(1),
        max_pages: 10,
    }
}

fn uuid(n: u32) -> String {
    format!("5a5e1c0d-2837-11eb-9823-{n:012}")
}

/// A deactivation of user `00u…n`, published `minutes` after `now()` (negative: before).
fn event(n: u32, event_type: &str, minutes: i64) -> OktaLogEvent {
    OktaLogEvent {
        uuid: OktaEventId::parse(uuid(n)).expect("uuid"),
        event_type: event_type.into(),
        published: now() + Duration::minutes(minutes),
        outcome: Some("SUCCESS".into()),
        targets: vec![LogTarget {
            id: format!("00u1user{n:010}"),
            kind: "User".into(),
            alternate_id: Some(format!("user{n}@acme.example")),
        }],
    }
}

fn deactivation(n: u32, minutes: i64) -> OktaLogEvent {
    event(n, "user.lifecycle.deactivate", minutes)
}

fn uuids(numbers: &[u32]) -> Vec<String> {
    let mut all: Vec<String> = numbers.iter().map(|n| uuid(*n)).collect();
    all.sort();
    all
}

async fn world(log: Vec<OktaLogEvent>) -> World {
    let account = MotoAccount::new().await;
    // The cursor lives in the verdict ledger's table.
    verdict_ledger(&account, TABLE).await;
    let okta = OktaFake::start(
        OktaSide {
            org_url: "https://acme.okta.com".into(),
            users: vec![],
            groups: vec![],
            app: OktaApp {
                id: app(),
                label: "AWS IAM Identity Center".into(),
                app_users: vec![],
                group_push_mappings: vec![],
                signing_keys: vec![],
            },
            deprovisions: vec![],
        },
        log,
    )
    .await;
    let queue_url = create_queue(&account, QUEUE).await;
    World {
        directory: OktaClient::new(okta.client_config(api_token())).expect("an Okta client"),
        queue: SqsJobQueue::new(account.sdk_config(), queue_url.clone()),
        cursor: DynamoDbSweepCursor::new(account.sdk_config(), TABLE, &app()),
        queue_url,
        account,
        okta,
    }
}

#[tokio::test]
async fn the_first_run_reads_from_the_lookback_and_stores_okta_s_next_link() {
    let w = world(vec![
        deactivation(1, -120),
        deactivation(2, -30),
        event(3, "user.session.start", -20),
    ])
    .await;

    let report = w.run(&config(), now()).await.expect("a sweep");

    assert_eq!(
        report,
        SweepReport {
            events_read: 1,
            jobs_queued: 1,
            unusable: 0,
            caught_up: true,
            resumed: false,
        }
    );
    assert_eq!(
        w.queued().await,
        uuids(&[2]),
        "the event before the lookback is not read"
    );
    // One short page: caught up without asking again.
    assert_eq!(w.okta.requests(LOGS), 1);
    let stored = w.cursor.load().await.expect("GetItem").expect("a stored cursor");
    assert!(stored.starts_with(w.okta.url().as_str()), "{stored}");
    assert!(stored.contains("after=") && !stored.contains("since="), "{stored}");
}

#[tokio::test]
async fn a_second_run_reads_only_what_okta_stored_since_even_an_event_published_before_the_first_run() {
    let w = world(vec![deactivation(1, -40), deactivation(2, -30)]).await;
    let first = w.run(&config(), now()).await.expect("a sweep");
    assert_eq!((first.events_read, first.caught_up), (2, true));
    // A full page of 2, then the empty page whose next link is the cursor.
    assert_eq!(w.okta.requests(LOGS), 2);
    assert_eq!(w.queued().await, uuids(&[1, 2]));

    // Stored after the first run: one published before it (a window ending at `now()` had already passed it by).
    w.okta.append_log([deactivation(3, -25), deactivation(4, -5)]);
    let later = now() + Duration::minutes(15);
    let second = w.run(&config(), later).await.expect("a sweep");
    assert_eq!((second.events_read, second.jobs_queued, second.resumed), (2, 2, true));
    assert_eq!(w.queued().await, uuids(&[3, 4]));

    let third = w.run(&config(), later + Duration::minutes(15)).await.expect("a sweep");
    assert_eq!((third.events_read, third.jobs_queued), (0, 0));
    let mut served = w.okta.served_log_events();
    served.sort();
    assert_eq!(served, uuids(&[1, 2, 3, 4]), "every event served exactly once");
}

#[tokio::test]
async fn after_a_run_whose_enqueue_failed_the_next_run_queues_the_missed_slice_exactly_once() {
    let w = world(vec![deactivation(1, -40)]).await;
    w.run(&config(), now()).await.expect("a sweep");
    assert_eq!(w.queued().await, uuids(&[1]));
    let before = w.cursor.load().await.expect("GetItem");

    w.okta.append_log([deactivation(2, -30), deactivation(3, -20)]);
    aws_sdk_sqs::Client::new(w.account.sdk_config())
        .delete_queue()
        .queue_url(&w.queue_url)
        .send()
        .await
        .expect("DeleteQueue");
    let failed = w.run(&config(), now() + Duration::minutes(15)).await;
    assert!(failed.is_err(), "{failed:?}");
    assert_eq!(
        w.cursor.load().await.expect("GetItem"),
        before,
        "the cursor did not move"
    );

    assert_eq!(create_queue(&w.account, QUEUE).await, w.queue_url);
    let caught_up = w.run(&config(), now() + Duration::minutes(30)).await.expect("a sweep");
    assert_eq!((caught_up.events_read, caught_up.jobs_queued), (2, 2));
    assert_eq!(w.queued().await, uuids(&[2, 3]), "each missed deprovision queued once");

    let after = w.run(&config(), now() + Duration::minutes(45)).await.expect("a sweep");
    assert_eq!(after.events_read, 0);
    assert!(w.queued().await.is_empty());
}

#[tokio::test]
async fn a_run_that_reaches_its_page_cap_is_not_caught_up_and_the_next_run_continues() {
    let w = world((1..=5).map(|n| deactivation(n, -40)).collect()).await;
    let capped = SweepConfig {
        max_pages: 2,
        ..config()
    };

    let first = w.run(&capped, now()).await.expect("a sweep");
    assert_eq!((first.events_read, first.caught_up), (4, false));
    assert_eq!(w.okta.requests(LOGS), 2, "no more pages than the cap");
    let second = w.run(&capped, now() + Duration::minutes(15)).await.expect("a sweep");
    assert_eq!((second.events_read, second.caught_up), (1, true));

    assert_eq!(w.queued().await, uuids(&[1, 2, 3, 4, 5]));
    let mut served = w.okta.served_log_events();
    served.sort();
    assert_eq!(served, uuids(&[1, 2, 3, 4, 5]));
}

#[tokio::test]
async fn a_type_watched_after_the_cursor_was_stored_is_read_from_the_stored_position() {
    let w = world(vec![deactivation(1, -40)]).await;
    let first = w
        .directory
        .poll_system_log(
            &LogCursor::Since(now() - Duration::hours(1)),
            &["user.lifecycle.deactivate".to_owned()],
            5,
        )
        .await
        .expect("a poll");
    assert_eq!(first.events.len(), 1);

    w.okta
        .append_log([event(2, "user.lifecycle.suspend", -30), deactivation(3, -20)]);
    let types = [
        "user.lifecycle.deactivate".to_owned(),
        "user.lifecycle.suspend".to_owned(),
    ];
    let second = w
        .directory
        .poll_system_log(&LogCursor::Next(first.next), &types, 5)
        .await
        .expect("a poll");

    let read: Vec<String> = second.events.iter().map(|e| e.uuid.to_string()).collect();
    assert_eq!(
        read,
        [uuid(2), uuid(3)],
        "in the order Okta stored them, nothing before the cursor"
    );
    assert!(second.complete);
}

#[tokio::test]
async fn the_cursor_is_one_item_per_app_in_the_ledger_table_that_never_expires() {
    let w = world(vec![]).await;
    let other = DynamoDbSweepCursor::new(
        w.account.sdk_config(),
        TABLE,
        &OktaAppId::parse("0oa1otherapp0000001").expect("app id"),
    );
    assert_eq!(w.cursor.load().await.expect("GetItem"), None);

    w.cursor
        .save("https://acme.okta.com/api/v1/logs?after=1")
        .await
        .expect("PutItem");
    w.cursor
        .save("https://acme.okta.com/api/v1/logs?after=2")
        .await
        .expect("PutItem");
    other
        .save("https://acme.okta.com/api/v1/logs?after=9")
        .await
        .expect("PutItem");

    assert_eq!(
        w.cursor.load().await.expect("GetItem").as_deref(),
        Some("https://acme.okta.com/api/v1/logs?after=2")
    );
    assert_eq!(
        other.load().await.expect("GetItem").as_deref(),
        Some("https://acme.okta.com/api/v1/logs?after=9")
    );
    let item = aws_sdk_dynamodb::Client::new(w.account.sdk_config())
        .get_item()
        .table_name(TABLE)
        .key(
            verdict_ledger_key_attribute(),
            aws_sdk_dynamodb::types::AttributeValue::S(sweep_cursor_key(&app())),
        )
        .send()
        .await
        .expect("GetItem")
        .item
        .expect("the cursor item");
    assert_eq!(sweep_cursor_key(&app()), format!("sweep-cursor#{APP}"));
    assert!(!item.contains_key("expires_at"), "no TTL: {item:?}");
}
