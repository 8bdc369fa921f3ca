//! The Okta adapter (`OktaClient`) against the local Okta fake: paging, users, groups, the app, the System Log,
//! authentication and how it copes with rate limits, errors and slowness.

use std::time::{Duration, Instant};

use chrono::{DateTime, TimeDelta, Utc};
use integration_tests::okta_fake::{self, Fault, OktaFake};
use shared::Error;
use shared::domain::{
    AppUser, AppUserStatus, GroupPushMapping, IdcGroupId, LogTarget, OktaApp, OktaAppId, OktaEventId, OktaGroup,
    OktaGroupId, OktaLogEvent, OktaLogin, OktaSide, OktaUser, OktaUserId, OktaUserStatus, PushMappingStatus,
    SigningKey, SyncState,
};
use shared::okta::{OktaClient, OktaError};
use shared::ports::{Directory, LogQuery};

const APP_ID: &str = "0oaawsidc0000000001";

fn at(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(text)
        .expect("a seed time")
        .with_timezone(&Utc)
}

fn user(id: &str, login: &str, status: OktaUserStatus, status_changed: Option<&str>) -> OktaUser {
    OktaUser {
        id: OktaUserId::parse(id).expect("a seed id"),
        login: OktaLogin::parse(login).expect("a seed id"),
        email: Some(login.to_owned()),
        status,
        transitioning_to_status: None,
        status_changed: status_changed.map(at),
        last_login: Some(at("2026-05-02T08:30:00.000Z")),
    }
}

fn group(id: &str, name: &str, members: &[&str]) -> OktaGroup {
    OktaGroup {
        id: OktaGroupId::parse(id).expect("a seed id"),
        name: name.to_owned(),
        members: members
            .iter()
            .map(|m| OktaUserId::parse(*m).expect("a seed id"))
            .collect(),
    }
}

fn app_user(id: &str, external_id: &str, status: AppUserStatus, sync_state: Option<SyncState>) -> AppUser {
    AppUser {
        user_id: OktaUserId::parse(id).expect("a seed id"),
        external_id: Some(external_id.to_owned()),
        user_name: None,
        status,
        sync_state,
        last_sync: Some(at("2026-05-03T09:00:00.000Z")),
    }
}

fn deactivation(uuid: &str, event_type: &str, published: &str, user_id: &str, login: &str) -> OktaLogEvent {
    OktaLogEvent {
        uuid: OktaEventId::parse(uuid).expect("a seed id"),
        event_type: event_type.to_owned(),
        published: at(published),
        outcome: Some("SUCCESS".to_owned()),
        targets: vec![LogTarget {
            id: user_id.to_owned(),
            kind: "User".to_owned(),
            alternate_id: Some(login.to_owned()),
        }],
    }
}

/// An org as the Okta ↔ IAM Identity Center guides leave it: seven people (two deactivated, one suspended),
/// pushed groups, the AWS app with SCIM provisioning, a rotated signing key, and a few days of System Log.
fn acme() -> (OktaSide, Vec<OktaLogEvent>) {
    let users = vec![
        user(
            "00u1alice000000000001",
            "alice.ng@acme.example",
            OktaUserStatus::Active,
            None,
        ),
        user(
            "00u1bob00000000000002",
            "bob.smith@acme.example",
            OktaUserStatus::Active,
            None,
        ),
        user(
            "00u1carol000000000003",
            "carol.diaz@acme.example",
            OktaUserStatus::Deprovisioned,
            Some("2026-05-10T14:00:00.000Z"),
        ),
        user(
            "00u1dave0000000000004",
            "dave.okafor@acme.example",
            OktaUserStatus::Suspended,
            Some("2026-05-11T09:15:00.000Z"),
        ),
        user(
            "00u1erin0000000000005",
            "erin.walsh@acme.example",
            OktaUserStatus::Active,
            None,
        ),
        user(
            "00u1frank000000000006",
            "frank.li@acme.example",
            OktaUserStatus::Deprovisioned,
            Some("2026-05-12T16:45:00.000Z"),
        ),
        user(
            "00u1grace000000000007",
            "grace.kim@acme.example",
            OktaUserStatus::Staged,
            None,
        ),
    ];
    let groups = vec![
        group(
            "00g1devs0000000000001",
            "aws-production-developers",
            &[
                "00u1alice000000000001",
                "00u1bob00000000000002",
                "00u1carol000000000003",
            ],
        ),
        group(
            "00g1ops00000000000002",
            "aws-production-operations",
            &["00u1erin0000000000005"],
        ),
        group("00g1read0000000000003", "aws-readonly", &[]),
    ];
    let app = OktaApp {
        id: OktaAppId::parse(APP_ID).expect("a seed id"),
        label: "AWS IAM Identity Center".to_owned(),
        app_users: vec![
            app_user(
                "00u1alice000000000001",
                "9067c1e2-1a2b-4c3d-8e9f-000000000001",
                AppUserStatus::Provisioned,
                Some(SyncState::Synchronized),
            ),
            app_user(
                "00u1bob00000000000002",
                "9067c1e2-1a2b-4c3d-8e9f-000000000002",
                AppUserStatus::Provisioned,
                Some(SyncState::Error),
            ),
            app_user(
                "00u1dave0000000000004",
                "9067c1e2-1a2b-4c3d-8e9f-000000000004",
                AppUserStatus::Provisioned,
                Some(SyncState::OutOfSync),
            ),
            app_user(
                "00u1erin0000000000005",
                "9067c1e2-1a2b-4c3d-8e9f-000000000005",
                AppUserStatus::Provisioned,
                Some(SyncState::Synchronized),
            ),
            app_user(
                "00u1grace000000000007",
                "9067c1e2-1a2b-4c3d-8e9f-000000000007",
                AppUserStatus::Staged,
                None,
            ),
        ],
        group_push_mappings: vec![
            GroupPushMapping {
                id: "gPm1devs000000000001".to_owned(),
                source_group_id: OktaGroupId::parse("00g1devs0000000000001").expect("a seed id"),
                target_group_id: Some(IdcGroupId::parse("a4e8d4c8-0011-70e1-9c2b-000000000001").expect("a seed id")),
                status: PushMappingStatus::Active,
                error_summary: None,
                last_push: Some(at("2026-05-12T17:00:00.000Z")),
            },
            GroupPushMapping {
                id: "gPm1ops0000000000002".to_owned(),
                source_group_id: OktaGroupId::parse("00g1ops00000000000002").expect("a seed id"),
                target_group_id: Some(IdcGroupId::parse("a4e8d4c8-0011-70e1-9c2b-000000000002").expect("a seed id")),
                status: PushMappingStatus::Error,
                error_summary: Some("Failed to push group membership: 409 Conflict".to_owned()),
                last_push: Some(at("2026-05-01T10:00:00.000Z")),
            },
        ],
        signing_keys: vec![
            SigningKey {
                kid: "akm1old00000000000001".to_owned(),
                created: Some(at("2023-06-01T00:00:00.000Z")),
                expires_at: at("2026-06-01T00:00:00.000Z"),
                active: false,
                x5c: Vec::new(),
            },
            SigningKey {
                kid: "akm1new00000000000002".to_owned(),
                created: Some(at("2026-04-01T00:00:00.000Z")),
                expires_at: at("2029-04-01T00:00:00.000Z"),
                active: true,
                x5c: Vec::new(),
            },
        ],
    };
    let log = vec![
        deactivation(
            "3f1d7a10-0000-11f1-8000-000000000001",
            "user.lifecycle.deactivate",
            "2026-05-10T14:00:00.123Z",
            "00u1carol000000000003",
            "carol.diaz@acme.example",
        ),
        deactivation(
            "3f1d7a10-0000-11f1-8000-000000000002",
            "user.session.start",
            "2026-05-10T15:00:00.000Z",
            "00u1alice000000000001",
            "alice.ng@acme.example",
        ),
        deactivation(
            "3f1d7a10-0000-11f1-8000-000000000003",
            "user.lifecycle.suspend",
            "2026-05-11T09:15:00.000Z",
            "00u1dave0000000000004",
            "dave.okafor@acme.example",
        ),
        deactivation(
            "3f1d7a10-0000-11f1-8000-000000000004",
            "user.session.start",
            "2026-05-11T10:00:00.000Z",
            "00u1bob00000000000002",
            "bob.smith@acme.example",
        ),
        deactivation(
            "3f1d7a10-0000-11f1-8000-000000000005",
            "user.lifecycle.deactivate",
            "2026-05-12T16:45:00.000Z",
            "00u1frank000000000006",
            "frank.li@acme.example",
        ),
        deactivation(
            "3f1d7a10-0000-11f1-8000-000000000006",
            "user.lifecycle.deactivate",
            "2026-04-01T08:00:00.000Z",
            "00u1old00000000000009",
            "old.timer@acme.example",
        ),
    ];
    let okta = OktaSide {
        org_url: "https://acme.okta.com".to_owned(),
        users,
        groups,
        app,
        deprovisions: vec![],
    };
    (okta, log)
}

async fn acme_fake() -> OktaFake {
    let (okta, log) = acme();
    OktaFake::start(okta, log).await
}

fn client(fake: &OktaFake) -> OktaClient {
    OktaClient::new(fake.client_config(okta_fake::api_token())).expect("a client of the fake")
}

/// A client of the fake's service app, signing its client assertions with `private_key_pem`.
fn service_app_client(fake: &OktaFake, private_key_pem: &str) -> OktaClient {
    OktaClient::new(fake.client_config(okta_fake::service_app(private_key_pem))).expect("a service app client")
}

fn okta_error(error: Error) -> OktaError {
    match error {
        Error::Okta(error) => error,
        other => panic!("expected an Okta error, got {other:?}"),
    }
}

fn ids(users: &[OktaUser]) -> Vec<&str> {
    let mut ids: Vec<&str> = users.iter().map(|u| u.id.as_str()).collect();
    ids.sort();
    ids
}

#[tokio::test]
async fn pages_through_every_user_in_pages_of_two() {
    let fake = acme_fake().await;

    let users = client(&fake).users().await.unwrap();

    let (seeded, _) = acme();
    assert_eq!(ids(&users), ids(&seeded.users));
    let mut users = users;
    users.sort_by(|a, b| a.id.cmp(&b.id));
    let mut expected = seeded.users;
    expected.sort_by(|a, b| a.id.cmp(&b.id));
    assert_eq!(users, expected, "every field survives the trip through Okta's JSON");
    // 5 listed users in pages of 2 (3 pages) + 2 deprovisioned (1 page, its last record ends the list).
    assert!(
        fake.requests("/api/v1/users") >= 4,
        "saw {}",
        fake.requests("/api/v1/users")
    );
}

#[tokio::test]
async fn returns_deprovisioned_users_that_the_plain_list_leaves_out() {
    let fake = acme_fake().await;
    let plain: Vec<serde_json::Value> = reqwest::Client::new()
        .get(fake.url().join("api/v1/users").unwrap())
        .header("Authorization", format!("SSWS {}", okta_fake::API_TOKEN))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(
        plain.iter().all(|u| u["status"] != "DEPROVISIONED"),
        "the fake behaves like Okta"
    );

    let users = client(&fake).users().await.unwrap();

    let deprovisioned: Vec<&str> = users
        .iter()
        .filter(|u| u.status.is_deprovisioned())
        .map(|u| u.login.as_str())
        .collect();
    assert_eq!(deprovisioned, ["carol.diaz@acme.example", "frank.li@acme.example"]);
    let carol = users
        .iter()
        .find(|u| u.login.as_str() == "carol.diaz@acme.example")
        .unwrap();
    assert_eq!(carol.status_changed, Some(at("2026-05-10T14:00:00.000Z")));
}

#[tokio::test]
async fn finds_a_user_by_id_or_login_and_none_for_an_unknown_login() {
    let fake = acme_fake().await;
    let client = client(&fake);

    let by_login = client.user("carol.diaz@acme.example").await.unwrap().unwrap();
    let by_id = client.user("00u1carol000000000003").await.unwrap().unwrap();
    let unknown = client.user("nobody@acme.example").await.unwrap();
    let path_trick = client.user("../groups").await.unwrap();

    assert_eq!(by_login, by_id);
    assert_eq!(by_login.status, OktaUserStatus::Deprovisioned);
    assert_eq!(unknown, None);
    assert_eq!(
        path_trick, None,
        "a login is one path segment, never a way to another endpoint"
    );
    assert_eq!(
        fake.requests("/api/v1/users/nobody@acme.example"),
        1,
        "a 404 is not retried"
    );
}

#[tokio::test]
async fn reads_groups_with_all_their_members_across_pages() {
    let fake = acme_fake().await;

    let groups = client(&fake).groups().await.unwrap();

    assert_eq!(groups, acme().0.groups);
    assert_eq!(fake.requests("/api/v1/groups"), 2, "3 groups in pages of 2");
    assert_eq!(
        fake.requests("/api/v1/groups/00g1devs0000000000001/users"),
        2,
        "3 members in pages of 2"
    );
}

#[tokio::test]
async fn reads_the_app_with_app_users_sync_states_push_mappings_and_the_active_key() {
    let fake = acme_fake().await;

    let app = client(&fake).app(&OktaAppId::parse(APP_ID).unwrap()).await.unwrap();

    assert_eq!(app, acme().0.app);
    let active: Vec<&str> = app
        .signing_keys
        .iter()
        .filter(|k| k.active)
        .map(|k| k.kid.as_str())
        .collect();
    assert_eq!(active, ["akm1new00000000000002"]);
    let bob = app
        .app_users
        .iter()
        .find(|u| u.user_id.as_str() == "00u1bob00000000000002")
        .unwrap();
    assert_eq!(bob.sync_state, Some(SyncState::Error));
    let broken: Vec<&str> = app
        .group_push_mappings
        .iter()
        .filter(|m| m.status == PushMappingStatus::Error)
        .map(|m| m.source_group_id.as_str())
        .collect();
    assert_eq!(broken, ["00g1ops00000000000002"]);
    assert_eq!(
        fake.requests(&format!("/api/v1/apps/{APP_ID}/users")),
        3,
        "5 app users in pages of 2"
    );
}

#[tokio::test]
async fn an_unknown_app_is_refused_with_okta_not_found_code_and_not_retried() {
    let fake = acme_fake().await;

    let error = client(&fake)
        .app(&OktaAppId::parse("0oanosuchapp0000000").unwrap())
        .await
        .unwrap_err();

    let error = okta_error(error);
    assert_eq!(error.code(), Some("E0000007"), "{error}");
    assert!(
        error.to_string().contains("/api/v1/apps/0oanosuchapp0000000"),
        "{error}"
    );
    assert_eq!(fake.requests("/api/v1/apps/0oanosuchapp0000000"), 1);
}

#[tokio::test]
async fn reads_the_system_log_filtered_by_event_type_and_time_window() {
    let fake = acme_fake().await;
    let query = LogQuery {
        since: at("2026-05-10T00:00:00.000Z"),
        until: at("2026-05-13T00:00:00.000Z"),
        event_types: vec![
            "user.lifecycle.deactivate".to_owned(),
            "user.lifecycle.suspend".to_owned(),
        ],
    };

    let events = client(&fake).system_log(&query).await.unwrap();

    let seen: Vec<(&str, &str)> = events
        .iter()
        .map(|e| {
            (
                e.event_type.as_str(),
                e.target("User").unwrap().alternate_id.as_deref().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        seen,
        [
            ("user.lifecycle.deactivate", "carol.diaz@acme.example"),
            ("user.lifecycle.suspend", "dave.okafor@acme.example"),
            ("user.lifecycle.deactivate", "frank.li@acme.example"),
        ]
    );
    assert_eq!(events[0], acme().1[0], "every field survives the trip");
    // 3 events in pages of 2, then the empty page the always-present next link leads to: and no further.
    assert_eq!(fake.requests("/api/v1/logs"), 3);
}

#[tokio::test]
async fn waits_for_the_rate_limit_reset_then_succeeds() {
    let fake = acme_fake().await;
    fake.fail_next("/api/v1/groups", 1, Fault::RateLimited { reset_in_secs: 1 });
    let started = Instant::now();

    let groups = client(&fake).groups().await.unwrap();

    assert_eq!(groups.len(), 3);
    assert!(
        started.elapsed() >= Duration::from_millis(900),
        "waited only {:?}",
        started.elapsed()
    );
    assert_eq!(fake.requests("/api/v1/groups"), 3, "the 429, then both pages");
}

#[tokio::test]
async fn gives_up_after_bounded_rate_limited_answers_with_a_clear_error() {
    let fake = acme_fake().await;
    fake.fail_next("/api/v1/users", 10, Fault::RateLimited { reset_in_secs: 0 });

    let error = okta_error(client(&fake).user("alice.ng@acme.example").await.unwrap_err());

    assert!(matches!(error, OktaError::RateLimited { attempts: 3, .. }), "{error:?}");
    assert_eq!(
        error.to_string(),
        "Okta kept answering 429 (rate limit) to /api/v1/users/alice.ng@acme.example: gave up after 3 attempts"
    );
    assert_eq!(fake.requests("/api/v1/users/alice.ng@acme.example"), 3);
}

#[tokio::test]
async fn retries_a_server_error_then_succeeds() {
    let fake = acme_fake().await;
    fake.fail_next(
        &format!("/api/v1/apps/{APP_ID}/credentials/keys"),
        2,
        Fault::ServerError,
    );

    let app = client(&fake).app(&OktaAppId::parse(APP_ID).unwrap()).await.unwrap();

    assert_eq!(app.signing_keys.len(), 2);
    assert_eq!(fake.requests(&format!("/api/v1/apps/{APP_ID}/credentials/keys")), 3);
}

#[tokio::test]
async fn gives_up_after_bounded_server_errors_with_a_clear_error() {
    let fake = acme_fake().await;
    fake.fail_next("/api/v1/groups", 10, Fault::ServerError);

    let error = okta_error(client(&fake).groups().await.unwrap_err());

    assert!(
        matches!(
            error,
            OktaError::Unavailable {
                status: 500,
                attempts: 3,
                ..
            }
        ),
        "{error:?}"
    );
    assert!(error.to_string().contains("500 to /api/v1/groups"), "{error}");
    assert_eq!(fake.requests("/api/v1/groups"), 3);
}

#[tokio::test]
async fn retries_a_request_that_timed_out() {
    let fake = acme_fake().await;
    fake.fail_next("/api/v1/users/", 1, Fault::Slow(Duration::from_millis(600)));
    let mut config = fake.client_config(okta_fake::api_token());
    config.timeout = Duration::from_millis(200);
    let client = OktaClient::new(config).unwrap();

    let user = client.user("00u1erin0000000000005").await.unwrap();

    assert_eq!(user.unwrap().login.as_str(), "erin.walsh@acme.example");
    assert_eq!(fake.requests("/api/v1/users/00u1erin0000000000005"), 2);
}

#[tokio::test]
async fn an_okta_slower_than_the_timeout_on_every_try_ends_in_a_clear_error_within_bounded_time() {
    let fake = acme_fake().await;
    fake.fail_next("/api/v1/users/", 10, Fault::Slow(Duration::from_secs(5)));
    let mut config = fake.client_config(okta_fake::api_token());
    config.timeout = Duration::from_millis(200);
    let client = OktaClient::new(config).unwrap();
    let started = Instant::now();

    let error = okta_error(client.user("00u1erin0000000000005").await.unwrap_err());

    // 3 attempts of 200 ms and two short backoffs: well under one slow answer.
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "took {:?}",
        started.elapsed()
    );
    assert!(matches!(error, OktaError::Transport { attempts: 3, .. }), "{error:?}");
    assert_eq!(
        error.to_string(),
        "Okta request to /api/v1/users/00u1erin0000000000005 could not be sent (attempt 3)"
    );
    assert_eq!(fake.requests("/api/v1/users/00u1erin0000000000005"), 3);
}

#[tokio::test]
async fn a_truncated_answer_is_a_clear_decode_error_naming_the_api_not_a_panic() {
    let fake = acme_fake().await;
    fake.fail_next("/api/v1/groups", 1, Fault::Truncated);

    let error = okta_error(client(&fake).groups().await.unwrap_err());

    assert!(matches!(error, OktaError::Decode { .. }), "{error:?}");
    let text = error.to_string();
    assert!(
        text.starts_with("could not decode ") && text.ends_with(" from /api/v1/groups"),
        "{text}"
    );
    let cause = std::error::Error::source(&error)
        .map(ToString::to_string)
        .unwrap_or_default();
    assert!(cause.contains("EOF"), "the JSON cause is kept: {cause}");
    assert_eq!(fake.requests("/api/v1/groups"), 1, "a malformed 200 is not retried");
}

#[tokio::test]
async fn an_answer_larger_than_any_okta_page_is_refused_not_buffered() {
    let fake = acme_fake().await;
    fake.fail_next("/api/v1/groups", 1, Fault::Huge(shared::okta::MAX_ANSWER_BYTES + 1));

    let error = okta_error(client(&fake).groups().await.unwrap_err());

    assert!(matches!(error, OktaError::TooLarge { .. }), "{error:?}");
    assert_eq!(error.kind(), "OktaTooLarge");
    assert_eq!(fake.requests("/api/v1/groups"), 1, "not retried");
    // Just under the cap is read (and then judged as JSON: here, not Okta's shape).
    fake.fail_next("/api/v1/groups", 1, Fault::Huge(1024 * 1024));
    let error = okta_error(client(&fake).groups().await.unwrap_err());
    assert!(matches!(error, OktaError::Decode { .. }), "{error:?}");
}

#[tokio::test]
async fn refuses_a_wrong_api_token_at_once_with_okta_error_code() {
    let fake = acme_fake().await;
    let wrong = shared::okta::Credentials::ApiToken("00notTheToken".to_owned().into());
    let client = OktaClient::new(fake.client_config(wrong)).unwrap();

    let error = okta_error(client.groups().await.unwrap_err());

    assert_eq!(error.code(), Some("E0000011"), "{error}");
    assert!(error.to_string().contains("Invalid token provided"), "{error}");
    assert!(!format!("{error:?}").contains("00notTheToken"), "the token never shows");
    assert_eq!(fake.requests("/api/v1/groups"), 1);
}

#[tokio::test]
async fn gets_an_oauth_token_with_private_key_jwt_and_reuses_it() {
    let fake = acme_fake().await;
    let client = service_app_client(&fake, okta_fake::SERVICE_APP_PRIVATE_KEY);

    let users = client.users().await.unwrap();
    let groups = client.groups().await.unwrap();

    assert_eq!(users.len(), 7);
    assert_eq!(groups.len(), 3);
    assert_eq!(
        fake.requests("/oauth2/v1/token"),
        1,
        "one token serves every request until it nears expiry"
    );
}

#[tokio::test]
async fn a_token_request_that_meets_a_server_error_is_retried() {
    let fake = acme_fake().await;
    fake.fail_next("/oauth2/v1/token", 1, Fault::ServerError);
    let client = service_app_client(&fake, okta_fake::SERVICE_APP_PRIVATE_KEY);

    let groups = client.groups().await.unwrap();

    assert_eq!(groups.len(), 3);
    assert_eq!(fake.requests("/oauth2/v1/token"), 2);
}

#[tokio::test]
async fn a_service_app_signing_with_an_unregistered_key_is_refused_with_a_clear_error() {
    let fake = acme_fake().await;
    let client = service_app_client(&fake, okta_fake::UNREGISTERED_PRIVATE_KEY);

    let error = okta_error(client.users().await.unwrap_err());

    assert!(
        matches!(error, OktaError::TokenRefused { status: 401, .. }),
        "{error:?}"
    );
    assert!(error.to_string().contains("invalid_client"), "{error}");
    assert_eq!(
        fake.requests_under("/api/"),
        0,
        "nothing reaches the API without a token"
    );
}

#[tokio::test]
async fn a_window_with_no_events_reads_one_empty_page() {
    let fake = acme_fake().await;
    let since = Utc::now() - TimeDelta::hours(1);
    let query = LogQuery {
        since,
        until: since + TimeDelta::minutes(30),
        event_types: vec![],
    };

    let events = client(&fake).system_log(&query).await.unwrap();

    assert!(events.is_empty());
    assert_eq!(fake.requests("/api/v1/logs"), 1);
}
