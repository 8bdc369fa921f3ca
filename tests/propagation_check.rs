//! The propagation checker against an org seeded into moto (Identity Center, SQS), the Okta fake, and an
//! in-memory CloudTrail (moto's LookupEvents is covered by the adapter's own tests).

use chrono::{DateTime, Duration, Utc};
use integration_tests::ledger::verdict_ledger;
use integration_tests::moto::MotoAccount;
use integration_tests::okta_fake::{OktaFake, api_token};
use integration_tests::queues::{bodies, count_all, create_queue, drain};
use integration_tests::seed::{OrgSeed, SeededOrg};
use serde_json::{Value, json};
use shared::aws::{DynamoDbVerdictLedger, IdentityCenterClient, SqsJobQueue};
use shared::domain::activity::SCIM_EVENT_SOURCE;
use shared::domain::{
    ActivityEvent, DeprovisionKind, GroupPushMapping, IdcGroupId, IdcUserId, JobSource, LogTarget, LoginMapping,
    OktaApp, OktaAppId, OktaEventId, OktaGroup, OktaGroupId, OktaLogEvent, OktaLogin, OktaSide, OktaUser, OktaUserId,
    OktaUserStatus, PushMappingStatus, Rule, Severity, VerificationJob,
};
use shared::handlers::propagation_check::{CheckConfig, CheckOutcome, CheckPorts};
use shared::in_memory::{FakeActivityLog, RecordingNotifier};
use shared::okta::OktaClient;

const APP: &str = "0oa1awsidc00000001";
const BOB: &str = "bob.martin@acme.example";
const BOB_OKTA: &str = "00u1bob00000000002";
const DEVS_OKTA: &str = "00g1devs0000000001";

type Ports = CheckPorts<
    OktaClient,
    IdentityCenterClient,
    FakeActivityLog,
    RecordingNotifier,
    SqsJobQueue,
    DynamoDbVerdictLedger,
>;

struct World {
    account: MotoAccount,
    org: SeededOrg,
    queue_url: String,
    okta: OktaFake,
    ports: Ports,
}

fn published() -> DateTime<Utc> {
    "2026-11-20T09:12:44Z".parse().expect("time")
}

fn config() -> CheckConfig {
    CheckConfig {
        aws_app_id: OktaAppId::parse(APP).expect("app id"),
        login_mapping: LoginMapping::UserName,
        external_id_issuer: None,
        propagation_window: Duration::minutes(15),
        max_window: Duration::minutes(60),
        recheck_interval: Duration::minutes(5),
        sweep_lookback: Duration::minutes(20),
    }
}

fn okta_user(id: &str, login: &str, status: OktaUserStatus) -> OktaUser {
    OktaUser {
        id: OktaUserId::parse(id).expect("id"),
        login: OktaLogin::parse(login).expect("login"),
        email: Some(login.into()),
        status,
        status_changed: Some(published()),
        last_login: None,
    }
}

/// Bob in Identity Center (enabled or not) in `aws-production-developers`, which holds Developer on production;
/// Bob in Okta with `status`; the group pushed by the AWS app; `log` in the System Log.
async fn world(bob_enabled: bool, status: OktaUserStatus, log: Vec<OktaLogEvent>) -> World {
    let seed = if bob_enabled {
        OrgSeed::new().user(BOB)
    } else {
        OrgSeed::new().disabled_user(BOB)
    };
    world_with(
        seed.user("alice.nguyen@acme.example"),
        &["alice.nguyen@acme.example", BOB],
        status,
        log,
    )
    .await
}

/// `seed` plus `aws-production-developers` (holding Developer on production) with `developers` in it.
async fn world_with(seed: OrgSeed, developers: &[&str], status: OktaUserStatus, log: Vec<OktaLogEvent>) -> World {
    let account = MotoAccount::new().await;
    let org = seed
        .group("aws-production-developers", developers)
        .permission_set("Developer", "PT8H")
        .assign_group("aws-production-developers", "Developer", "production")
        .seed(&account)
        .await;
    let okta_side = OktaSide {
        org_url: "https://acme.okta.com".into(),
        users: vec![okta_user(BOB_OKTA, BOB, status)],
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
    };
    let okta = OktaFake::start(okta_side, log).await;
    let queue_url = create_queue(&account, "verify").await;
    let ports = CheckPorts {
        directory: OktaClient::new(okta.client_config(api_token())).expect("an Okta client"),
        identity_center: IdentityCenterClient::new(account.sdk_config(), org.instance.clone()),
        activity: FakeActivityLog::default(),
        notifier: RecordingNotifier::default(),
        queue: SqsJobQueue::new(account.sdk_config(), queue_url.clone()),
        ledger: verdict_ledger(&account, "verdicts").await,
    };
    World {
        account,
        org,
        queue_url,
        okta,
        ports,
    }
}

fn job(kind: DeprovisionKind) -> VerificationJob {
    VerificationJob {
        okta_event_id: OktaEventId::parse("ab62c0bc-2837-11eb-9823-9fb8f750c5a9").expect("uuid"),
        event_type: "user.lifecycle.deactivate".into(),
        kind,
        published: published(),
        okta_user_id: OktaUserId::parse(BOB_OKTA).expect("id"),
        login: Some(BOB.into()),
        app_id: None,
        group_id: None,
        check_after: published() + Duration::minutes(15),
        source: JobSource::EventHook,
        attempt: 0,
        follow_up: false,
    }
}

/// The findings of a check that published, or a panic saying what it did instead.
fn published_findings(outcome: Result<CheckOutcome, shared::Error>) -> Vec<shared::domain::Finding> {
    match outcome {
        Ok(CheckOutcome::Published { findings, .. }) => findings,
        other => panic!("expected published findings, got {other:?}"),
    }
}

fn cloudtrail(id: &str, source: &str, name: &str, at: DateTime<Utc>) -> ActivityEvent {
    ActivityEvent {
        event_id: id.into(),
        event_name: name.into(),
        event_source: source.into(),
        event_time: at,
        actor_user_id: None,
        actor_user_name: None,
        role_name: None,
        target_user_id: None,
        error_code: None,
        account_id: None,
    }
}

fn scim_patch(user: &IdcUserId, at: DateTime<Utc>) -> ActivityEvent {
    ActivityEvent {
        target_user_id: Some(user.clone()),
        ..cloudtrail("scim-patch-1", SCIM_EVENT_SOURCE, "PatchUser", at)
    }
}

#[tokio::test]
async fn a_deprovision_propagated_in_time_gives_a_verified_record_with_its_latency() {
    let w = world(false, OktaUserStatus::Deprovisioned, vec![]).await;
    w.ports
        .activity
        .push(scim_patch(w.org.user(BOB), published() + Duration::seconds(212)));
    let outcome = w
        .ports
        .check(
            &config(),
            &job(DeprovisionKind::Deactivated),
            published() + Duration::minutes(15),
        )
        .await;
    let Ok(CheckOutcome::Published {
        findings,
        latency_seconds,
    }) = outcome
    else {
        panic!("{outcome:?}")
    };
    assert_eq!(latency_seconds, Some(212));
    assert_eq!(findings.len(), 1);
    assert_eq!(
        (findings[0].rule, findings[0].severity),
        (Rule::PropagationVerified, Severity::Info)
    );
    assert_eq!(
        findings[0].subject.idc_user_id.as_deref(),
        Some(w.org.user(BOB).as_str())
    );
    assert!(
        findings[0]
            .evidence
            .iter()
            .any(|e| e.reference.as_deref() == Some("scim-patch-1"))
    );
    assert_eq!(w.ports.notifier.findings(), findings, "published");
    assert_eq!(
        count_all(&w.account, &w.queue_url).await,
        1,
        "a follow-up look for late CloudTrail events is queued"
    );
}

#[tokio::test]
async fn the_follow_up_look_reports_use_of_aws_cloudtrail_delivered_late_and_nothing_else() {
    let w = world(false, OktaUserStatus::Deprovisioned, vec![]).await;
    let mut portal = cloudtrail(
        "ct-late-1",
        "sso.amazonaws.com",
        "GetRoleCredentials",
        published() + Duration::minutes(14),
    );
    portal.actor_user_id = Some(w.org.user(BOB).clone());
    w.ports.activity.push(portal);
    w.ports
        .activity
        .push(scim_patch(w.org.user(BOB), published() + Duration::seconds(212)));
    let follow_up = VerificationJob {
        follow_up: true,
        ..job(DeprovisionKind::Deactivated)
    };
    let outcome = w
        .ports
        .check(&config(), &follow_up, published() + Duration::minutes(30))
        .await;
    let Ok(CheckOutcome::Published {
        findings,
        latency_seconds: None,
    }) = outcome
    else {
        panic!("{outcome:?}")
    };
    let rules: Vec<Rule> = findings.iter().map(|f| f.rule).collect();
    assert_eq!(
        rules,
        [Rule::ActivityAfterDeprovision],
        "no second verified record, no metric"
    );
    assert_eq!(
        count_all(&w.account, &w.queue_url).await,
        0,
        "a follow-up is the last look"
    );
}

#[tokio::test]
async fn still_enabled_is_rechecked_then_overdue_at_the_max_window_with_the_remaining_access() {
    let w = world(true, OktaUserStatus::Deprovisioned, vec![]).await;
    let first = w
        .ports
        .check(
            &config(),
            &job(DeprovisionKind::Deactivated),
            published() + Duration::minutes(15),
        )
        .await;
    assert!(
        matches!(
            first,
            Ok(CheckOutcome::Requeued {
                delay_seconds: 300,
                attempt: 1,
                ..
            })
        ),
        "{first:?}"
    );
    assert_eq!(
        count_all(&w.account, &w.queue_url).await,
        1,
        "re-queued, held back 5 minutes"
    );
    // Near the max window, the re-check is due when the window ends: 1 s here, so it can be read back.
    let near_end = published() + Duration::minutes(60) - Duration::seconds(1);
    let second = w
        .ports
        .check(&config(), &job(DeprovisionKind::Deactivated), near_end)
        .await;
    assert!(
        matches!(second, Ok(CheckOutcome::Requeued { delay_seconds: 1, .. })),
        "{second:?}"
    );
    tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
    let requeued = bodies(&drain(&w.account, &w.queue_url).await);
    assert_eq!(requeued.len(), 1);
    assert_eq!(requeued[0]["attempt"], 1);
    assert!(w.ports.notifier.findings().is_empty());

    let last = w
        .ports
        .check(
            &config(),
            &job(DeprovisionKind::Deactivated),
            published() + Duration::minutes(61),
        )
        .await;
    let findings = published_findings(last);
    assert_eq!(
        (findings[0].rule, findings[0].severity),
        (Rule::PropagationOverdue, Severity::High)
    );
    let production = w.org.account("production").to_string();
    assert!(
        findings[0].evidence.iter().any(|e| e
            .observation
            .contains(&format!("Developer on account {production} through group"))),
        "{:#?}",
        findings[0].evidence
    );
    assert!(
        findings[0]
            .remedy
            .contains(&format!("identitystore:UserId = {}", w.org.user(BOB)))
    );
}

#[tokio::test]
async fn using_aws_after_the_deprovision_is_a_high_finding() {
    let w = world(true, OktaUserStatus::Deprovisioned, vec![]).await;
    let bob = w.org.user(BOB).clone();
    let mut portal = cloudtrail(
        "ct-portal-1",
        "sso.amazonaws.com",
        "GetRoleCredentials",
        published() + Duration::minutes(8),
    );
    portal.actor_user_id = Some(bob.clone());
    let mut session = cloudtrail(
        "ct-s3-1",
        "s3.amazonaws.com",
        "ListBuckets",
        published() + Duration::minutes(9),
    );
    session.actor_user_name = Some(BOB.into());
    session.role_name = Some("AWSReservedSSO_Developer_0a1b2c3d4e5f6a7b".into());
    let mut earlier = portal.clone();
    earlier.event_id = "ct-portal-0".into();
    earlier.event_time = published() - Duration::minutes(30);
    for event in [portal, session, earlier] {
        w.ports.activity.push(event);
    }
    let outcome = w
        .ports
        .check(
            &config(),
            &job(DeprovisionKind::Deactivated),
            published() + Duration::minutes(15),
        )
        .await;
    assert!(matches!(outcome, Ok(CheckOutcome::Requeued { .. })), "{outcome:?}");
    let published_now = w.ports.notifier.findings();
    let activity = published_now
        .iter()
        .find(|f| f.rule == Rule::ActivityAfterDeprovision)
        .expect("reported at once");
    assert_eq!(activity.severity, Severity::High);
    let quoted: Vec<_> = activity
        .evidence
        .iter()
        .filter_map(|e| e.reference.as_deref())
        .collect();
    assert!(
        quoted.contains(&"ct-portal-1") && quoted.contains(&"ct-s3-1"),
        "{quoted:?}"
    );
    assert!(!quoted.contains(&"ct-portal-0"), "before the deprovision");
}

#[tokio::test]
async fn a_suspended_user_still_enabled_is_reported_as_its_own_rule() {
    let w = world(true, OktaUserStatus::Suspended, vec![]).await;
    let outcome = w
        .ports
        .check(
            &config(),
            &job(DeprovisionKind::Suspended),
            published() + Duration::minutes(15),
        )
        .await;
    let findings = published_findings(outcome);
    assert_eq!(
        (findings[0].rule, findings[0].severity),
        (Rule::SuspendedStillEnabled, Severity::Medium)
    );
}

#[tokio::test]
async fn the_same_deprovision_checked_by_the_hooks_job_and_the_sweeps_job_is_published_once() {
    let w = world(true, OktaUserStatus::Deprovisioned, vec![]).await;
    let at = published() + Duration::minutes(61);
    let from_hook = job(DeprovisionKind::Deactivated);
    // The sweep's job for the same event: another source, no login, checked later and on a later attempt.
    let mut from_sweep = job(DeprovisionKind::Deactivated);
    from_sweep.source = JobSource::SystemLogSweep;
    from_sweep.login = None;
    from_sweep.attempt = 3;
    from_sweep.check_after = published() + Duration::minutes(20);

    let first = w.ports.check(&config(), &from_hook, at).await;
    let findings = published_findings(first);
    assert_eq!(findings.len(), 1);
    for (duplicate, when) in [
        (&from_hook, at + Duration::minutes(5)),
        (&from_sweep, at + Duration::minutes(9)),
    ] {
        let again = w.ports.check(&config(), duplicate, when).await;
        assert!(matches!(again, Ok(CheckOutcome::NothingToVerify(_))), "{again:?}");
    }
    assert_eq!(
        w.ports.notifier.findings(),
        findings,
        "one overdue finding published, not three"
    );
}

#[tokio::test]
async fn a_verdict_whose_publishing_failed_is_published_on_the_retry() {
    let w = world(true, OktaUserStatus::Deprovisioned, vec![]).await;
    let at = published() + Duration::minutes(61);
    // The queue (for the follow-up look) is gone: publishing the verdict fails, as the message will be retried.
    aws_sdk_sqs::Client::new(w.account.sdk_config())
        .delete_queue()
        .queue_url(&w.queue_url)
        .send()
        .await
        .expect("DeleteQueue");
    let failed = w.ports.check(&config(), &job(DeprovisionKind::Deactivated), at).await;
    assert!(failed.is_err(), "{failed:?}");
    create_queue(&w.account, "verify").await;
    let retried = w.ports.check(&config(), &job(DeprovisionKind::Deactivated), at).await;
    let findings = published_findings(retried);
    assert_eq!(findings[0].rule, Rule::PropagationOverdue);
}

#[tokio::test]
async fn a_group_removal_is_verified_once_that_membership_is_gone() {
    let w = world(true, OktaUserStatus::Active, vec![]).await;
    let mut removal = job(DeprovisionKind::GroupRemoved);
    removal.event_type = "group.user_membership.remove".into();
    removal.group_id = Some(OktaGroupId::parse(DEVS_OKTA).expect("id"));
    let outcome = w
        .ports
        .check(&config(), &removal, published() + Duration::minutes(15))
        .await;
    assert!(
        matches!(outcome, Ok(CheckOutcome::Requeued { .. })),
        "still a member: {outcome:?}"
    );
    remove_member(&w, w.org.group("aws-production-developers"), w.org.user(BOB)).await;
    let outcome = w
        .ports
        .check(&config(), &removal, published() + Duration::minutes(20))
        .await;
    let findings = published_findings(outcome);
    assert_eq!(findings[0].rule, Rule::PropagationVerified);
}

async fn remove_member(w: &World, group: &IdcGroupId, user: &IdcUserId) {
    let store = w.org.instance.identity_store_id.as_str();
    let client = aws_sdk_identitystore::Client::new(w.account.sdk_config());
    let membership = client
        .get_group_membership_id()
        .identity_store_id(store)
        .group_id(group.as_str())
        .member_id(aws_sdk_identitystore::types::MemberId::UserId(user.to_string()))
        .send()
        .await
        .expect("GetGroupMembershipId");
    client
        .delete_group_membership()
        .identity_store_id(store)
        .membership_id(membership.membership_id())
        .send()
        .await
        .expect("DeleteGroupMembership");
}

fn sqs_batch(records: &[(&str, &str)]) -> Value {
    let fixture: Value =
        serde_json::from_str(include_str!("../events/propagation-check/verification-job.json")).expect("fixture");
    let template = fixture["Records"][0].clone();
    let records: Vec<Value> = records
        .iter()
        .map(|(id, body)| {
            let mut record = template.clone();
            record["messageId"] = json!(id);
            record["body"] = json!(body);
            record
        })
        .collect();
    json!({ "Records": records })
}

#[tokio::test]
async fn identity_center_failures_and_bad_bodies_are_reported_back_for_redelivery_not_dropped() {
    let w = world(false, OktaUserStatus::Deprovisioned, vec![]).await;
    // The same ports, but Identity Center unreachable (nothing listens on port 9).
    let unreachable = w
        .account
        .sdk_config()
        .to_builder()
        .endpoint_url("http://127.0.0.1:9")
        .build();
    let broken = CheckPorts {
        directory: w.ports.directory,
        identity_center: IdentityCenterClient::new(&unreachable, w.org.instance.clone()),
        activity: FakeActivityLog::default(),
        notifier: RecordingNotifier::default(),
        queue: w.ports.queue,
        ledger: w.ports.ledger,
    };
    let good = serde_json::to_string(&job(DeprovisionKind::Deactivated)).expect("job JSON");
    let payload = sqs_batch(&[("m-good", &good), ("m-garbled", "{not json")]);
    let answer = broken
        .handle_trigger(&config(), payload, published() + Duration::minutes(15))
        .await
        .expect("an answer");
    let mut failed: Vec<&str> = answer["batchItemFailures"]
        .as_array()
        .expect("failures")
        .iter()
        .filter_map(|f| f["itemIdentifier"].as_str())
        .collect();
    failed.sort();
    assert_eq!(failed, ["m-garbled", "m-good"]);
    assert!(broken.notifier.findings().is_empty());
}

#[tokio::test]
async fn the_sweep_queues_a_deactivation_the_hook_never_delivered() {
    let missed = OktaLogEvent {
        uuid: OktaEventId::parse("5a5e1c0d-2837-11eb-9823-9fb8f750c5a9").expect("uuid"),
        event_type: "user.lifecycle.deactivate".into(),
        published: published(),
        outcome: Some("SUCCESS".into()),
        targets: vec![LogTarget {
            id: BOB_OKTA.into(),
            kind: "User".into(),
            alternate_id: Some(BOB.into()),
        }],
    };
    let unrelated = OktaLogEvent {
        uuid: OktaEventId::parse("6b6f2d1e-2837-11eb-9823-9fb8f750c5a9").expect("uuid"),
        event_type: "user.session.start".into(),
        published: published(),
        outcome: Some("SUCCESS".into()),
        targets: vec![],
    };
    let w = world(true, OktaUserStatus::Deprovisioned, vec![missed, unrelated]).await;
    let report = w
        .ports
        .sweep(&config(), published() + Duration::minutes(16))
        .await
        .expect("a sweep");
    assert_eq!(report.jobs_queued, 1);
    let jobs = bodies(&drain(&w.account, &w.queue_url).await);
    assert_eq!(jobs.len(), 1);
    assert_eq!(jobs[0]["okta_event_id"], "5a5e1c0d-2837-11eb-9823-9fb8f750c5a9");
    assert_eq!(jobs[0]["okta_user_id"], BOB_OKTA);
    assert_eq!(jobs[0]["source"], "system-log-sweep");
}

#[tokio::test]
async fn a_user_whose_user_name_differs_is_found_by_its_scim_external_id() {
    let issuer = "https://scim.example/okta";
    // An old account matches the login and is DISABLED; the one SCIM provisioned (by external id) is not.
    let seed = OrgSeed::new()
        .disabled_user(BOB)
        .scim_user("bmartin-legacy", issuer, BOB_OKTA);
    let w = world_with(seed, &["bmartin-legacy"], OktaUserStatus::Deprovisioned, vec![]).await;
    let (ports, org) = (&w.ports, &w.org);
    let at = published() + Duration::minutes(61);

    // The login finds only the disabled account, which would read as propagated: the enabled one must win.
    let mut with_issuer = config();
    with_issuer.external_id_issuer = Some(issuer.into());
    let outcome = ports.check(&with_issuer, &job(DeprovisionKind::Deactivated), at).await;
    let findings = published_findings(outcome);
    assert_eq!(findings[0].rule, Rule::PropagationOverdue);
    assert_eq!(
        findings[0].subject.idc_user_id.as_deref(),
        Some(org.user("bmartin-legacy").as_str())
    );
}

/// `deprov-audit verify`, the built binary, configured only by environment like an operator's shell: it finds
/// the deactivation in the System Log, observes through the real adapters and prints the final verdict.
#[tokio::test]
async fn the_cli_verify_command_prints_the_verdict_live() {
    let deactivation = OktaLogEvent {
        uuid: OktaEventId::parse("0c11c0de-2837-11eb-9823-9fb8f750c5a9").expect("uuid"),
        event_type: "user.lifecycle.deactivate".into(),
        published: published(),
        outcome: Some("SUCCESS".into()),
        targets: vec![LogTarget {
            id: BOB_OKTA.into(),
            kind: "User".into(),
            alternate_id: Some(BOB.into()),
        }],
    };
    let w = world(true, OktaUserStatus::Deprovisioned, vec![deactivation]).await;
    let credentials = w.account.credentials().await;
    let output = tokio::process::Command::new(integration_tests::lambda_runtime::function_binary("deprov-audit"))
        .args(["verify", "--login", BOB, "--format", "json"])
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("OKTA_ORG_URL", w.okta.url().to_string())
        .env("OKTA_APP_ID", APP)
        .env("OKTA_API_TOKEN", integration_tests::okta_fake::API_TOKEN)
        .env("IDC_INSTANCE_ARN", w.org.instance.instance_arn.as_str())
        .env("IDENTITY_STORE_ID", w.org.instance.identity_store_id.as_str())
        .env("AWS_ENDPOINT_URL", integration_tests::moto::endpoint())
        .env("AWS_REGION", "us-east-1")
        .env("AWS_ACCESS_KEY_ID", credentials.access_key_id())
        .env("AWS_SECRET_ACCESS_KEY", credentials.secret_access_key())
        .env("AWS_SESSION_TOKEN", credentials.session_token().unwrap_or_default())
        .output()
        .await
        .expect("run deprov-audit");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    assert!(
        stderr.contains("0c11c0de-2837-11eb-9823-9fb8f750c5a9"),
        "the verdict names the Okta event: {stderr}"
    );
    let findings: Value = serde_json::from_slice(&output.stdout).expect("a JSON array of findings");
    let overdue = findings
        .as_array()
        .expect("an array")
        .iter()
        .find(|f| f["rule"] == "propagation-overdue")
        .expect("bob is still enabled: overdue");
    assert_eq!(
        overdue["subject"]["okta_event_id"],
        "0c11c0de-2837-11eb-9823-9fb8f750c5a9"
    );
    assert_eq!(overdue["subject"]["idc_user_id"], w.org.user(BOB).as_str());
    assert!(
        overdue["evidence"].to_string().contains("Developer on account"),
        "{overdue}"
    );
}

/// The ledger's DynamoDB conditions, in moto: a claim is exclusive while its lease runs, can be taken over when a
/// crashed job's lease ran out, and a published key is never claimed again.
#[tokio::test]
async fn a_ledger_claim_is_exclusive_until_its_lease_ends_and_published_keys_stay_taken() {
    use shared::ports::VerdictLedger;
    let account = MotoAccount::new().await;
    let ledger = verdict_ledger(&account, "verdicts").await;
    let now = published();
    let keep = now + Duration::days(14);
    let lease = |at: DateTime<Utc>| at + Duration::minutes(10);
    assert!(ledger.claim("verdict#a", now, lease(now), keep).await.expect("claim"));
    assert!(
        !ledger
            .claim("verdict#a", now + Duration::minutes(1), lease(now), keep)
            .await
            .expect("claim")
    );
    let later = now + Duration::minutes(11);
    assert!(
        ledger
            .claim("verdict#a", later, lease(later), keep)
            .await
            .expect("claim"),
        "the crashed job's lease ran out"
    );
    ledger.complete("verdict#a").await.expect("complete");
    let much_later = now + Duration::hours(2);
    assert!(
        !ledger
            .claim("verdict#a", much_later, lease(much_later), keep)
            .await
            .expect("claim"),
        "published"
    );
    ledger.release("verdict#a").await.expect("release");
    assert!(
        ledger
            .claim("verdict#a", much_later, lease(much_later), keep)
            .await
            .expect("claim"),
        "released"
    );
}
