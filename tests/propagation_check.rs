//! The propagation checker against an org seeded into moto (Identity Center, SQS, DynamoDB for the ledger), the
//! Okta fake (app users, groups, System Log), and an in-memory CloudTrail (moto's LookupEvents is covered by the
//! adapter's own tests).

use chrono::{DateTime, Duration, Utc};
use integration_tests::aws_front::AwsFront;
use integration_tests::ledger::verdict_ledger;
use integration_tests::moto::{MotoAccount, endpoint as moto_endpoint};
use integration_tests::okta_fake::{Fault, OktaFake, api_token};
use integration_tests::queues::{bodies, count_all, create_queue, drain};
use integration_tests::seed::{OrgSeed, SeededOrg};
use serde_json::{Value, json};
use shared::aws::{DynamoDbVerdictLedger, IdentityCenterClient, SqsJobQueue};
use shared::domain::activity::SCIM_EVENT_SOURCE;
use shared::domain::{
    ActivityEvent, AppUser, AppUserStatus, DeprovisionKind, Finding, GroupPushMapping, IdcGroupId, IdcUserId,
    JobSource, LinkPolicy, LogTarget, OktaApp, OktaAppId, OktaEventId, OktaGroup, OktaGroupId, OktaLogEvent, OktaLogin,
    OktaSide, OktaUser, OktaUserId, OktaUserStatus, PushMappingStatus, Rule, Severity, VerificationJob,
};
use shared::handlers::propagation_check::{CheckConfig, CheckOutcome, CheckPorts, MAX_ATTEMPTS};
use shared::in_memory::{FakeActivityLog, RecordingNotifier};
use shared::okta::OktaClient;

const APP: &str = "0oa1awsidc00000001";
const BOB: &str = "bob.martin@acme.example";
const BOB_OKTA: &str = "00u1bob00000000002";
const ALICE: &str = "alice.nguyen@acme.example";
const ALICE_OKTA: &str = "00u1alice0000000001";
const DEVS_OKTA: &str = "00g1devs0000000001";
const DEVS: &str = "aws-production-developers";

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
        links: LinkPolicy::default(),
        propagation_window: Duration::minutes(15),
        max_window: Duration::minutes(60),
        recheck_interval: Duration::minutes(5),
        sweep_lookback: Duration::minutes(20),
        sweep_max_pages: 20,
        record_budget: std::time::Duration::from_secs(30),
        cloudtrail_max_pages: 20,
        scim_silent_after: chrono::Duration::hours(4),
    }
}

fn far_deadline() -> tokio::time::Instant {
    tokio::time::Instant::now() + std::time::Duration::from_secs(300)
}

fn okta_user(id: &str, login: &str, status: OktaUserStatus) -> OktaUser {
    OktaUser {
        id: OktaUserId::parse(id).expect("id"),
        login: OktaLogin::parse(login).expect("login"),
        email: Some(login.into()),
        status,
        transitioning_to_status: None,
        status_changed: Some(published()),
        last_login: None,
    }
}

/// Okta's record of Bob in the AWS app: `externalId` = the Identity Center user `idc_user_name` was given.
fn app_user_of(org: &SeededOrg, idc_user_name: &str, status: AppUserStatus) -> AppUser {
    AppUser {
        user_id: OktaUserId::parse(BOB_OKTA).expect("id"),
        external_id: Some(org.user(idc_user_name).to_string()),
        user_name: Some(idc_user_name.into()),
        status,
        sync_state: None,
        last_sync: None,
    }
}

/// Bob in Identity Center (enabled or not) in `aws-production-developers`, which holds Developer on production;
/// Bob in Okta with `status`, provisioned by the AWS app as that IdC user; the group pushed by the app.
async fn world(bob_enabled: bool, status: OktaUserStatus, log: Vec<OktaLogEvent>) -> World {
    let seed = if bob_enabled {
        OrgSeed::new().user(BOB)
    } else {
        OrgSeed::new().disabled_user(BOB)
    };
    world_with(seed.user(ALICE), &[ALICE, BOB], status, log, |org| {
        vec![app_user_of(org, BOB, AppUserStatus::Provisioned)]
    })
    .await
}

/// `seed` plus `aws-production-developers` (holding Developer on production) with `developers` in it; Okta's app
/// users from `app_users` (given the seeded org, for its ids).
async fn world_with(
    seed: OrgSeed,
    developers: &[&str],
    status: OktaUserStatus,
    log: Vec<OktaLogEvent>,
    app_users: impl FnOnce(&SeededOrg) -> Vec<AppUser>,
) -> World {
    let account = MotoAccount::new().await;
    let org = seed
        .group(DEVS, developers)
        .permission_set("Developer", "PT8H")
        .assign_group(DEVS, "Developer", "production")
        .seed(&account)
        .await;
    let okta_side = OktaSide {
        org_url: "https://acme.okta.com".into(),
        users: vec![
            okta_user(BOB_OKTA, BOB, status),
            okta_user(ALICE_OKTA, ALICE, OktaUserStatus::Active),
        ],
        groups: vec![OktaGroup {
            id: OktaGroupId::parse(DEVS_OKTA).expect("id"),
            name: DEVS.into(),
            members: vec![
                OktaUserId::parse(ALICE_OKTA).expect("id"),
                OktaUserId::parse(BOB_OKTA).expect("id"),
            ],
        }],
        app: OktaApp {
            id: OktaAppId::parse(APP).expect("id"),
            label: "AWS IAM Identity Center".into(),
            app_users: app_users(&org),
            group_push_mappings: vec![GroupPushMapping {
                id: "gPm1devs0000000001".into(),
                source_group_id: OktaGroupId::parse(DEVS_OKTA).expect("id"),
                target_group_id: Some(org.group(DEVS).clone()),
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
        org: (),
    };
    World {
        account,
        org,
        queue_url,
        okta,
        ports,
    }
}

fn job_of(uuid: &str, event_type: &str, kind: DeprovisionKind, at: DateTime<Utc>) -> VerificationJob {
    VerificationJob {
        okta_event_id: OktaEventId::parse(uuid).expect("uuid"),
        event_type: event_type.into(),
        kind,
        published: at,
        okta_user_id: OktaUserId::parse(BOB_OKTA).expect("id"),
        login: Some(BOB.into()),
        app_id: None,
        group_id: None,
        check_after: at + Duration::minutes(15),
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

fn job(kind: DeprovisionKind) -> VerificationJob {
    job_of(
        "ab62c0bc-2837-11eb-9823-9fb8f750c5a9",
        "user.lifecycle.deactivate",
        kind,
        published(),
    )
}

/// The findings of a check that published, or a panic saying what it did instead.
fn published_findings(outcome: Result<CheckOutcome, shared::Error>) -> Vec<Finding> {
    match outcome {
        Ok(CheckOutcome::Published { findings, .. }) => findings,
        other => panic!("expected published findings, got {other:?}"),
    }
}

/// The job a check queued again, or a panic saying what it did instead.
fn requeued(outcome: Result<CheckOutcome, shared::Error>) -> (VerificationJob, Vec<Finding>) {
    match outcome {
        Ok(CheckOutcome::Requeued { next, published, .. }) => (*next, published),
        other => panic!("expected a re-queued job, got {other:?}"),
    }
}

fn of_rule(findings: &[Finding], rule: Rule) -> Vec<Finding> {
    findings.iter().filter(|f| f.rule == rule).cloned().collect()
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
        region: None,
        target_account_id: None,
    }
}

fn scim_patch(user: &IdcUserId, at: DateTime<Utc>) -> ActivityEvent {
    ActivityEvent {
        target_user_id: Some(user.clone()),
        ..cloudtrail("scim-patch-1", SCIM_EVENT_SOURCE, "PatchUser", at)
    }
}

fn portal_use(id: &str, user: &IdcUserId, at: DateTime<Utc>) -> ActivityEvent {
    ActivityEvent {
        actor_user_id: Some(user.clone()),
        ..cloudtrail(id, "sso.amazonaws.com", "GetRoleCredentials", at)
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
    assert!(
        findings[0]
            .evidence
            .iter()
            .any(|e| e.observation.contains("member accounts were not watched")),
        "no org-wide source configured: said, {:#?}",
        findings[0].evidence
    );
    assert_eq!(w.ports.notifier.findings(), findings, "published");
    assert_eq!(
        count_all(&w.account, &w.queue_url).await,
        1,
        "a follow-up look for late CloudTrail events is queued"
    );
}

/// issue 9's activity record: identity-center-watch recorded the SCIM PatchUser (and a sign-in before the
/// deprovision, so the record reaches back far enough): the checker reaches its verdict from one keyed read per
/// account, with no LookupEvents call.
#[tokio::test]
async fn with_the_scim_write_in_the_activity_record_the_verdict_needs_no_lookup_events() {
    // With an org-wide source, session use is read there: this account's CloudTrail is not scanned at all.
    let lookups = verdict_from_the_record(shared::in_memory::FakeOrgActivity::default()).await;
    assert_eq!(lookups, 0, "no CloudTrail scan");
}

#[tokio::test]
async fn without_an_org_wide_source_the_record_spares_the_scans_but_role_sessions_are_still_read_here() {
    // The record holds sign-ins and role credentials, not calls made with a live session: one bounded read by
    // user name, and no SCIM or portal scan.
    let lookups = verdict_from_the_record(()).await;
    assert_eq!(lookups, 1, "one LookupEvents read, by Bob's user name");
}

/// The verdict for Bob with his SCIM write and a sign-in in the activity record: how many LookupEvents calls it made.
async fn verdict_from_the_record<O: shared::ports::OrgActivity>(org: O) -> usize {
    use shared::ports::ActivityRecord;
    let w = world(false, OktaUserStatus::Deprovisioned, vec![]).await;
    integration_tests::ledger::activity_table(&w.account, "activity").await;
    let record = shared::aws::DynamoDbActivityRecord::new(w.account.sdk_config(), "activity", Duration::days(400));
    let sign_in = ActivityEvent {
        actor_user_name: Some(BOB.into()),
        ..cloudtrail(
            "signin-1",
            "signin.amazonaws.com",
            "UserAuthentication",
            published() - Duration::hours(3),
        )
    };
    let entries: Vec<_> = [
        sign_in,
        scim_patch(w.org.user(BOB), published() + Duration::seconds(212)),
    ]
    .iter()
    .filter_map(shared::domain::activity_record::record_entry)
    .collect();
    assert_eq!(entries.len(), 2);
    record.append(&entries).await.expect("recorded");
    let ports = CheckPorts {
        directory: w.ports.directory,
        identity_center: w.ports.identity_center,
        activity: shared::aws::RecordFirst {
            record: Some(record),
            cloudtrail: shared::aws::CloudTrailActivityLog::new(w.account.sdk_config()),
        },
        notifier: w.ports.notifier,
        queue: w.ports.queue,
        ledger: w.ports.ledger,
        org,
    };
    let before = w.account.sdk_calls();
    let outcome = ports
        .check(
            &config(),
            &job(DeprovisionKind::Deactivated),
            published() + Duration::minutes(15),
        )
        .await;
    let calls = w.account.sdk_calls().since(&before);
    let Ok(CheckOutcome::Published {
        findings,
        latency_seconds,
    }) = outcome
    else {
        panic!("{outcome:?}")
    };
    assert_eq!(findings[0].rule, Rule::PropagationVerified);
    assert_eq!(latency_seconds, Some(212), "the SCIM call found in the record");
    assert!(calls.of("Query") >= 1, "the record was read");
    calls.of("LookupEvents")
}

#[tokio::test]
async fn a_stale_disabled_account_beside_the_enabled_real_one_is_overdue_not_verified() {
    // The old `bob.martin@` account is DISABLED; Okta's record says SCIM provisioned Bob as `bmartin`, ENABLED.
    let seed = OrgSeed::new().disabled_user(BOB).user("bmartin");
    let w = world_with(seed, &["bmartin"], OktaUserStatus::Deprovisioned, vec![], |org| {
        vec![app_user_of(org, "bmartin", AppUserStatus::Provisioned)]
    })
    .await;
    let findings = published_findings(
        w.ports
            .check(
                &config(),
                &job(DeprovisionKind::Deactivated),
                published() + Duration::minutes(61),
            )
            .await,
    );
    assert_eq!(findings[0].rule, Rule::PropagationOverdue, "{findings:#?}");
    assert_eq!(
        findings[0].subject.idc_user_id.as_deref(),
        Some(w.org.user("bmartin").as_str())
    );
    let evidence = serde_json::to_string(&findings[0].evidence).expect("JSON");
    assert!(evidence.contains("externalId"), "the link used is named: {evidence}");
    assert!(
        evidence.contains("weak"),
        "the login match is named as weak: {evidence}"
    );
}

#[tokio::test]
async fn a_renamed_person_is_linked_through_the_app_users_external_id_and_verified() {
    // Bob's IdC userName no longer matches any Okta login; only Okta's provisioning record links them.
    let seed = OrgSeed::new().disabled_user("robert.martin");
    let w = world_with(seed, &[], OktaUserStatus::Deprovisioned, vec![], |org| {
        vec![AppUser {
            user_name: None,
            ..app_user_of(org, "robert.martin", AppUserStatus::Provisioned)
        }]
    })
    .await;
    let findings = published_findings(
        w.ports
            .check(
                &config(),
                &job(DeprovisionKind::Deactivated),
                published() + Duration::minutes(15),
            )
            .await,
    );
    assert_eq!(findings[0].rule, Rule::PropagationVerified);
    assert_eq!(
        findings[0].subject.idc_user_id.as_deref(),
        Some(w.org.user("robert.martin").as_str())
    );
    // The link is kept for later looks: the follow-up finds the account even if Okta drops the app user.
    let remembered = shared::ports::VerdictLedger::recall_links(&w.ports.ledger, &OktaUserId::parse(BOB_OKTA).unwrap())
        .await
        .expect("recall");
    assert_eq!(remembered.len(), 1);
    assert_eq!(&remembered[0].idc_user_id, w.org.user("robert.martin"));
}

#[tokio::test]
async fn no_linked_account_while_okta_says_provisioned_publishes_propagation_unverifiable() {
    // Okta provisioned Bob as `bob.m` (userName) — an account that is not in this identity store.
    let seed = OrgSeed::new().user("someone.else");
    let w = world_with(seed, &[], OktaUserStatus::Deprovisioned, vec![], |_| {
        vec![AppUser {
            user_id: OktaUserId::parse(BOB_OKTA).expect("id"),
            external_id: None,
            user_name: Some("bob.m".into()),
            status: AppUserStatus::Provisioned,
            sync_state: None,
            last_sync: None,
        }]
    })
    .await;
    let findings = published_findings(
        w.ports
            .check(
                &config(),
                &job(DeprovisionKind::Deactivated),
                published() + Duration::minutes(15),
            )
            .await,
    );
    assert_eq!(
        (findings[0].rule, findings[0].severity),
        (Rule::PropagationUnverifiable, Severity::Medium)
    );
    assert_eq!(
        of_rule(&w.ports.notifier.findings(), Rule::PropagationUnverifiable).len(),
        1,
        "published"
    );
}

#[tokio::test]
async fn an_unassignment_undone_in_okta_needs_nothing_and_reads_no_identity_center() {
    let w = world(true, OktaUserStatus::Active, vec![]).await;
    // Okta's app user is ACTIVE again: Bob was re-assigned after the unassignment.
    let w = World {
        okta: OktaFake::start(
            OktaSide {
                org_url: "https://acme.okta.com".into(),
                users: vec![okta_user(BOB_OKTA, BOB, OktaUserStatus::Active)],
                groups: vec![],
                app: OktaApp {
                    id: OktaAppId::parse(APP).expect("id"),
                    label: "AWS".into(),
                    app_users: vec![app_user_of(&w.org, BOB, AppUserStatus::Active)],
                    group_push_mappings: vec![],
                    signing_keys: vec![],
                },
                deprovisions: vec![],
            },
            vec![],
        )
        .await,
        ..w
    };
    let ports = CheckPorts {
        directory: OktaClient::new(w.okta.client_config(api_token())).expect("client"),
        ..w.ports
    };
    let mut unassigned = job(DeprovisionKind::AppUnassigned);
    unassigned.event_type = "application.user_membership.remove".into();
    unassigned.app_id = Some(OktaAppId::parse(APP).expect("id"));
    let before = w.account.sdk_calls();
    let outcome = ports
        .check(&config(), &unassigned, published() + Duration::minutes(61))
        .await;
    assert!(
        matches!(outcome, Ok(CheckOutcome::NothingToVerify(reason)) if reason.contains("assigned")),
        "{outcome:?}"
    );
    let calls = w.account.sdk_calls().since(&before);
    assert_eq!(
        calls.of("GetUserId") + calls.of("DescribeUser"),
        0,
        "no Identity Center read"
    );
    assert!(ports.notifier.findings().is_empty());
}

#[tokio::test]
async fn a_group_unassigned_from_the_app_becomes_one_job_per_member() {
    let w = world(true, OktaUserStatus::Active, vec![]).await;
    // The queued message for `group.application_assignment.remove` (the only copy: events/propagation-check/).
    let event: Value =
        serde_json::from_str(include_str!("../events/propagation-check/group-unassignment.json")).expect("fixture");
    let answer = w
        .ports
        .handle_trigger(&config(), event, published() + Duration::minutes(16), far_deadline())
        .await
        .expect("an answer");
    assert_eq!(answer["batchItemFailures"], json!([]));
    let jobs = bodies(&drain(&w.account, &w.queue_url).await);
    let mut members: Vec<&str> = jobs.iter().filter_map(|j| j["okta_user_id"].as_str()).collect();
    members.sort();
    assert_eq!(members, [ALICE_OKTA, BOB_OKTA]);
    assert!(
        jobs.iter()
            .all(|j| j["kind"] == "app-unassigned" && j["group_id"] == DEVS_OKTA)
    );
}

#[tokio::test]
async fn a_group_unassigned_and_deleted_is_unverifiable_not_silence() {
    let w = world(true, OktaUserStatus::Active, vec![]).await;
    let body = json!({
        "okta_event_id": "7b7b7b7b-2837-11eb-9823-9fb8f750c5a9",
        "published": "2026-11-20T09:12:44Z",
        "unassigned_group_id": "00g1deleted00000001",
        "app_id": APP,
        "source": "event-hook",
    })
    .to_string();
    let answer = w
        .ports
        .handle_trigger(
            &config(),
            sqs_batch(&[("m-gone", &body)]),
            published() + Duration::minutes(16),
            far_deadline(),
        )
        .await
        .expect("an answer");
    assert_eq!(answer["batchItemFailures"], json!([]));
    let findings = of_rule(&w.ports.notifier.findings(), Rule::PropagationUnverifiable);
    assert_eq!(findings.len(), 1);
    assert_eq!(findings[0].subject.group_id.as_deref(), Some("00g1deleted00000001"));
    // Delivered again: said once.
    w.ports
        .handle_trigger(
            &config(),
            sqs_batch(&[("m-gone-2", &body)]),
            published() + Duration::minutes(17),
            far_deadline(),
        )
        .await
        .expect("an answer");
    assert_eq!(
        of_rule(&w.ports.notifier.findings(), Rule::PropagationUnverifiable).len(),
        1
    );
}

#[tokio::test]
async fn deactivation_push_failure_and_delete_initiated_are_one_incident_with_one_overdue() {
    let w = world(true, OktaUserStatus::Deprovisioned, vec![]).await;
    let deactivate = job(DeprovisionKind::Deactivated);
    let push_failed = job_of(
        "b0b0b0b0-2837-11eb-9823-9fb8f750c5a9",
        "application.provision.user.deactivate",
        DeprovisionKind::PushFailed,
        published() + Duration::minutes(2),
    );
    let delete = job_of(
        "c0c0c0c0-2837-11eb-9823-9fb8f750c5a9",
        "user.lifecycle.delete.initiated",
        DeprovisionKind::DeleteInitiated,
        published() + Duration::minutes(20),
    );
    // The deactivation's job opens the episode and its chain; the chain re-checks every 5 minutes. The other
    // events' jobs observe nothing: they watch until the verdict is out.
    let (mut chain, _) = requeued(
        w.ports
            .check(&config(), &deactivate, published() + Duration::minutes(15))
            .await,
    );
    let (mut push_watch, _) = requeued(
        w.ports
            .check(&config(), &push_failed, published() + Duration::minutes(17))
            .await,
    );
    assert_eq!(push_watch.chain_step, 0, "a watcher, not in the chain");
    for minutes in [20, 25, 30] {
        chain = requeued(
            w.ports
                .check(&config(), &chain, published() + Duration::minutes(minutes))
                .await,
        )
        .0;
    }
    let before = w.okta.requests_under("/api/v1/");
    let (delete_watch, _) = requeued(
        w.ports
            .check(&config(), &delete, published() + Duration::minutes(35))
            .await,
    );
    assert_eq!(
        w.okta.requests_under("/api/v1/"),
        before,
        "a watcher reads nothing from Okta"
    );
    push_watch = requeued(
        w.ports
            .check(&config(), &push_watch, published() + Duration::minutes(36))
            .await,
    )
    .0;
    let findings = published_findings(
        w.ports
            .check(&config(), &chain, published() + Duration::minutes(61))
            .await,
    );
    assert_eq!(of_rule(&findings, Rule::PropagationOverdue).len(), 1);
    // The watchers look again after the verdict, and end.
    for watcher in [&push_watch, &delete_watch] {
        let again = w
            .ports
            .check(&config(), watcher, published() + Duration::minutes(62))
            .await;
        assert!(matches!(again, Ok(CheckOutcome::NothingToVerify(_))), "{again:?}");
    }
    assert_eq!(of_rule(&w.ports.notifier.findings(), Rule::PropagationOverdue).len(), 1);
}

#[tokio::test]
async fn a_re_queued_job_delivered_twice_does_not_fork_its_chain() {
    let w = world(true, OktaUserStatus::Deprovisioned, vec![]).await;
    let (chain, _) = requeued(
        w.ports
            .check(
                &config(),
                &job(DeprovisionKind::Deactivated),
                published() + Duration::minutes(15),
            )
            .await,
    );
    // SQS delivers the re-queued message twice (at-least-once): one copy goes on, the other only watches.
    let (next, _) = requeued(
        w.ports
            .check(&config(), &chain, published() + Duration::minutes(20))
            .await,
    );
    let (watcher, _) = requeued(
        w.ports
            .check(&config(), &chain, published() + Duration::minutes(20))
            .await,
    );
    assert_eq!(next.chain_step, chain.chain_step + 1, "the chain's next step");
    assert_eq!(watcher.chain_step, 0, "the second copy is a watcher");
    let findings = published_findings(
        w.ports
            .check(&config(), &next, published() + Duration::minutes(61))
            .await,
    );
    assert_eq!(of_rule(&findings, Rule::PropagationOverdue).len(), 1);
    let late = w
        .ports
        .check(&config(), &watcher, published() + Duration::minutes(62))
        .await;
    assert!(matches!(late, Ok(CheckOutcome::NothingToVerify(_))), "{late:?}");
    assert_eq!(
        of_rule(&w.ports.notifier.findings(), Rule::PropagationOverdue).len(),
        1,
        "one overdue, not two"
    );
}

#[tokio::test]
async fn a_second_incident_months_later_is_a_new_finding() {
    let w = world(true, OktaUserStatus::Deprovisioned, vec![]).await;
    let first = published_findings(
        w.ports
            .check(
                &config(),
                &job(DeprovisionKind::Deactivated),
                published() + Duration::minutes(61),
            )
            .await,
    );
    let later = published() + Duration::days(90);
    let second_job = job_of(
        "d0d0d0d0-2837-11eb-9823-9fb8f750c5a9",
        "user.lifecycle.deactivate",
        DeprovisionKind::Deactivated,
        later,
    );
    let second = published_findings(
        w.ports
            .check(&config(), &second_job, later + Duration::minutes(61))
            .await,
    );
    assert_eq!(
        (first[0].rule, second[0].rule),
        (Rule::PropagationOverdue, Rule::PropagationOverdue)
    );
    assert_ne!(first[0].finding_id, second[0].finding_id, "a new incident, a new id");
    assert_ne!(first[0].subject.episode_id, second[0].subject.episode_id);
}

#[tokio::test]
async fn use_of_aws_during_a_re_check_chain_is_reported_once_and_the_follow_up_only_adds_what_is_new() {
    let w = world(true, OktaUserStatus::Deprovisioned, vec![]).await;
    let bob = w.org.user(BOB).clone();
    let mut session = cloudtrail(
        "ct-s3-1",
        "s3.amazonaws.com",
        "ListBuckets",
        published() + Duration::minutes(9),
    );
    session.actor_user_name = Some(BOB.into());
    session.role_name = Some("AWSReservedSSO_Developer_0a1b2c3d4e5f6a7b".into());
    for event in [
        portal_use("ct-portal-1", &bob, published() + Duration::minutes(8)),
        session,
        portal_use("ct-portal-0", &bob, published() - Duration::minutes(30)),
    ] {
        w.ports.activity.push(event);
    }
    let mut current = job(DeprovisionKind::Deactivated);
    let mut activity_published = Vec::new();
    for minutes in [15, 20, 25] {
        let (next, found) = requeued(
            w.ports
                .check(&config(), &current, published() + Duration::minutes(minutes))
                .await,
        );
        activity_published.extend(found);
        current = next;
    }
    assert_eq!(
        activity_published.len(),
        1,
        "reported at the first look only: {activity_published:#?}"
    );
    let quoted: Vec<_> = activity_published[0]
        .evidence
        .iter()
        .filter_map(|e| e.reference.as_deref())
        .collect();
    assert!(
        quoted.contains(&"ct-portal-1") && quoted.contains(&"ct-s3-1"),
        "{quoted:?}"
    );
    assert!(!quoted.contains(&"ct-portal-0"), "before the deprovision");
    assert_eq!(activity_published[0].severity, Severity::High);

    // The verdict, then the follow-up (no org-wide source: one look): a late event is reported as a new revision of
    // the same finding, the old ones are not.
    let verdict = published_findings(
        w.ports
            .check(&config(), &current, published() + Duration::minutes(61))
            .await,
    );
    assert_eq!(verdict[0].rule, Rule::PropagationOverdue);
    let follow_up = VerificationJob {
        follow_up: true,
        ..current.clone()
    };
    w.ports
        .activity
        .push(portal_use("ct-late-1", &bob, published() + Duration::minutes(50)));
    let late = published_findings(
        w.ports
            .check(&config(), &follow_up, published() + Duration::minutes(80))
            .await,
    );
    let quoted: Vec<_> = late[0].evidence.iter().filter_map(|e| e.reference.as_deref()).collect();
    assert!(
        quoted.contains(&"ct-late-1") && !quoted.contains(&"ct-portal-1"),
        "{quoted:?}"
    );
    assert_eq!(
        late[0].finding_id, activity_published[0].finding_id,
        "new use updates the episode's one finding"
    );
    assert!(
        late[0].revision > activity_published[0].revision,
        "as a new revision: {:?} after {:?}",
        late[0].revision,
        activity_published[0].revision
    );
    assert_eq!(
        late[0].subject.episode_id, activity_published[0].subject.episode_id,
        "of the same episode"
    );
    let again = w
        .ports
        .check(&config(), &follow_up, published() + Duration::minutes(81))
        .await;
    assert!(matches!(again, Ok(CheckOutcome::NothingToVerify(_))), "{again:?}");
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
    // No SCIM call yet: the deprovision is noted as waiting for one, for the scim-silent heartbeat.
    let awaiting = shared::ports::VerdictLedger::awaiting_scim(&w.ports.ledger)
        .await
        .expect("a ledger read");
    assert_eq!(awaiting.len(), 1, "{awaiting:?}");
    assert_eq!(awaiting[0].1, published());
    assert_eq!(
        count_all(&w.account, &w.queue_url).await,
        1,
        "re-queued, held back 5 minutes"
    );
    let (chain, _) = requeued(first);
    assert_eq!(chain.attempt, 1);
    assert!(chain.episode_id.is_some() && chain.chain_token.is_some(), "{chain:?}");
    assert!(w.ports.notifier.findings().is_empty());

    let findings = published_findings(
        w.ports
            .check(&config(), &chain, published() + Duration::minutes(61))
            .await,
    );
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
async fn a_suspended_user_still_enabled_is_reported_as_its_own_rule() {
    let w = world(true, OktaUserStatus::Suspended, vec![]).await;
    let findings = published_findings(
        w.ports
            .check(
                &config(),
                &job(DeprovisionKind::Suspended),
                published() + Duration::minutes(15),
            )
            .await,
    );
    assert_eq!(
        (findings[0].rule, findings[0].severity),
        (Rule::SuspendedStillEnabled, Severity::Medium)
    );
}

#[tokio::test]
async fn a_deactivation_under_way_is_not_read_as_a_reactivation() {
    let w = world(true, OktaUserStatus::Active, vec![]).await;
    let mut transitioning = okta_user(BOB_OKTA, BOB, OktaUserStatus::Active);
    transitioning.transitioning_to_status = Some(OktaUserStatus::Deprovisioned);
    let okta = OktaFake::start(
        OktaSide {
            org_url: "https://acme.okta.com".into(),
            users: vec![transitioning],
            groups: vec![],
            app: OktaApp {
                id: OktaAppId::parse(APP).expect("id"),
                label: "AWS".into(),
                app_users: vec![app_user_of(&w.org, BOB, AppUserStatus::Provisioned)],
                group_push_mappings: vec![],
                signing_keys: vec![],
            },
            deprovisions: vec![],
        },
        vec![],
    )
    .await;
    let ports = CheckPorts {
        directory: OktaClient::new(okta.client_config(api_token())).expect("client"),
        ..w.ports
    };
    let findings = published_findings(
        ports
            .check(
                &config(),
                &job(DeprovisionKind::Deactivated),
                published() + Duration::minutes(61),
            )
            .await,
    );
    assert_eq!(findings[0].rule, Rule::PropagationOverdue);
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
    // The redelivered message (another chain token: the failed one held the chain) is taken over once stale.
    let retried = w
        .ports
        .check(
            &config(),
            &job(DeprovisionKind::Deactivated),
            at + Duration::minutes(11),
        )
        .await;
    let findings = published_findings(retried);
    assert_eq!(findings[0].rule, Rule::PropagationOverdue);
}

#[tokio::test]
async fn a_group_removal_is_verified_once_that_membership_is_gone() {
    let w = world(true, OktaUserStatus::Active, vec![]).await;
    // Bob is no longer in the Okta group.
    let okta = OktaFake::start(
        OktaSide {
            org_url: "https://acme.okta.com".into(),
            users: vec![okta_user(BOB_OKTA, BOB, OktaUserStatus::Active)],
            groups: vec![OktaGroup {
                id: OktaGroupId::parse(DEVS_OKTA).expect("id"),
                name: DEVS.into(),
                members: vec![],
            }],
            app: OktaApp {
                id: OktaAppId::parse(APP).expect("id"),
                label: "AWS".into(),
                app_users: vec![app_user_of(&w.org, BOB, AppUserStatus::Provisioned)],
                group_push_mappings: vec![GroupPushMapping {
                    id: "gPm1devs0000000001".into(),
                    source_group_id: OktaGroupId::parse(DEVS_OKTA).expect("id"),
                    target_group_id: Some(w.org.group(DEVS).clone()),
                    status: PushMappingStatus::Active,
                    error_summary: None,
                    last_push: None,
                }],
                signing_keys: vec![],
            },
            deprovisions: vec![],
        },
        vec![],
    )
    .await;
    let ports = CheckPorts {
        directory: OktaClient::new(okta.client_config(api_token())).expect("client"),
        ..w.ports
    };
    let mut removal = job(DeprovisionKind::GroupRemoved);
    removal.event_type = "group.user_membership.remove".into();
    removal.group_id = Some(OktaGroupId::parse(DEVS_OKTA).expect("id"));
    let (chain, _) = requeued(
        ports
            .check(&config(), &removal, published() + Duration::minutes(15))
            .await,
    );
    remove_member(&w.account, &w.org, w.org.group(DEVS), w.org.user(BOB)).await;
    let findings = published_findings(
        ports
            .check(&config(), &chain, published() + Duration::minutes(20))
            .await,
    );
    assert_eq!(findings[0].rule, Rule::PropagationVerified);
}

#[tokio::test]
async fn a_removal_from_a_group_not_pushed_to_aws_costs_one_okta_call() {
    let w = world(true, OktaUserStatus::Active, vec![]).await;
    let mut removal = job(DeprovisionKind::GroupRemoved);
    removal.group_id = Some(OktaGroupId::parse("00g1notpushed000001").expect("id"));
    let before = w.account.sdk_calls();
    let requests_before = w.okta.requests_under("/api/v1/");
    let outcome = w
        .ports
        .check(&config(), &removal, published() + Duration::minutes(15))
        .await;
    assert!(
        matches!(outcome, Ok(CheckOutcome::NothingToVerify(reason)) if reason.contains("not pushed")),
        "{outcome:?}"
    );
    assert_eq!(w.okta.requests_under("/api/v1/") - requests_before, 1);
    let calls = w.account.sdk_calls().since(&before);
    assert_eq!(
        calls.of("GetUserId") + calls.of("DescribeUser") + calls.of("ListGroupMembershipsForMember"),
        0
    );
}

async fn remove_member(account: &MotoAccount, org: &SeededOrg, group: &IdcGroupId, user: &IdcUserId) {
    let store = org.instance.identity_store_id.as_str();
    let client = aws_sdk_identitystore::Client::new(account.sdk_config());
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

fn failed_ids(answer: &Value) -> Vec<String> {
    let mut failed: Vec<String> = answer["batchItemFailures"]
        .as_array()
        .expect("failures")
        .iter()
        .filter_map(|f| f["itemIdentifier"].as_str().map(str::to_owned))
        .collect();
    failed.sort();
    failed
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
        identity_center: IdentityCenterClient::new(&unreachable, w.org.instance.clone()),
        ..w.ports
    };
    let good = serde_json::to_string(&job(DeprovisionKind::Deactivated)).expect("job JSON");
    let payload = sqs_batch(&[("m-good", &good), ("m-garbled", "{not json")]);
    let answer = broken
        .handle_trigger(&config(), payload, published() + Duration::minutes(15), far_deadline())
        .await
        .expect("an answer");
    assert_eq!(failed_ids(&answer), ["m-garbled", "m-good"]);
    assert!(broken.notifier.findings().is_empty());
}

#[tokio::test]
async fn with_aws_unreachable_the_record_fails_back_with_a_clear_error_naming_the_call() {
    let w = world(false, OktaUserStatus::Deprovisioned, vec![]).await;
    // Every AWS port (ledger, queue, Identity Center) at an address where nothing listens.
    let unreachable = w
        .account
        .sdk_config()
        .to_builder()
        .endpoint_url("http://127.0.0.1:9")
        .build();
    let down = CheckPorts {
        identity_center: IdentityCenterClient::new(&unreachable, w.org.instance.clone()),
        queue: SqsJobQueue::new(&unreachable, w.queue_url.clone()),
        ledger: DynamoDbVerdictLedger::new(&unreachable, "verdicts"),
        ..w.ports
    };
    let job = job(DeprovisionKind::Deactivated);
    let now = published() + Duration::minutes(15);
    let error = down.check(&config(), &job, now).await.expect_err("AWS is down");
    assert_eq!(error.kind(), "AwsUnreachable", "{}", error.causes());
    assert!(
        error.to_string().starts_with("AWS dynamodb GetItem failed: "),
        "names the call: {error}"
    );
    let body = serde_json::to_string(&job).expect("JSON");
    let answer = down
        .handle_trigger(&config(), sqs_batch(&[("m-down", &body)]), now, far_deadline())
        .await
        .expect("an answer");
    assert_eq!(failed_ids(&answer), ["m-down"], "back to the queue, not lost");
    assert!(down.notifier.findings().is_empty());
}

#[tokio::test]
async fn a_check_that_fails_after_taking_the_chain_lets_it_go_so_the_redelivery_checks_at_once() {
    let w = world(false, OktaUserStatus::Deprovisioned, vec![]).await;
    w.okta.fail_next("/api/v1/apps/", 1, Fault::Truncated);
    let job = job(DeprovisionKind::Deactivated);
    let now = published() + Duration::minutes(15);
    let error = w
        .ports
        .check(&config(), &job, now)
        .await
        .expect_err("Okta's answer was cut short");
    assert_eq!(error.kind(), "OktaDecode", "{}", error.causes());

    // The same message, redelivered a minute later: it checks, rather than watching a dead chain for 10 minutes.
    let findings = published_findings(w.ports.check(&config(), &job, now + Duration::minutes(1)).await);
    assert_eq!(of_rule(&findings, Rule::PropagationVerified).len(), 1, "{findings:#?}");
}

/// The SDK configuration the functions run with (`shared::aws::load_sdk_config`: standard retries, 3 attempts),
/// for this account, through `front`.
fn through_front(account: &MotoAccount, front: &AwsFront) -> aws_config::SdkConfig {
    account
        .sdk_config()
        .to_builder()
        .endpoint_url(front.url())
        .retry_config(aws_config::retry::RetryConfig::standard().with_max_attempts(3))
        .build()
}

#[tokio::test]
async fn identity_center_throttling_is_retried_by_the_sdk_and_the_verdict_still_reached() {
    let w = world(false, OktaUserStatus::Deprovisioned, vec![]).await;
    let front = AwsFront::start(moto_endpoint(), std::time::Duration::ZERO, &[]).await;
    front.throttle_next("identitystore", 2);
    let ports = CheckPorts {
        identity_center: IdentityCenterClient::new(&through_front(&w.account, &front), w.org.instance.clone()),
        ..w.ports
    };
    let body = serde_json::to_string(&job(DeprovisionKind::Deactivated)).expect("JSON");
    let answer = ports
        .handle_trigger(
            &config(),
            sqs_batch(&[("m-throttled", &body)]),
            published() + Duration::minutes(15),
            far_deadline(),
        )
        .await
        .expect("an answer");
    assert_eq!(failed_ids(&answer), Vec::<String>::new());
    assert_eq!(of_rule(&ports.notifier.findings(), Rule::PropagationVerified).len(), 1);
    let traffic = front.traffic();
    assert_eq!(traffic["identitystore"].throttled, 2, "{traffic:?}");
    assert!(traffic["identitystore"].total() >= 1, "{traffic:?}");
}

#[tokio::test]
async fn identity_center_throttling_past_the_sdk_retries_fails_the_record_back_with_a_clear_error() {
    let w = world(false, OktaUserStatus::Deprovisioned, vec![]).await;
    let front = AwsFront::start(moto_endpoint(), std::time::Duration::ZERO, &[]).await;
    front.throttle_next("identitystore", 1_000);
    let ports = CheckPorts {
        identity_center: IdentityCenterClient::new(&through_front(&w.account, &front), w.org.instance.clone()),
        ..w.ports
    };
    let body = serde_json::to_string(&job(DeprovisionKind::Deactivated)).expect("JSON");
    let answer = ports
        .handle_trigger(
            &config(),
            sqs_batch(&[("m-throttled", &body)]),
            published() + Duration::minutes(15),
            far_deadline(),
        )
        .await
        .expect("an answer");
    assert_eq!(failed_ids(&answer), ["m-throttled"], "returned to the queue");
    assert!(ports.notifier.findings().is_empty());
    assert_eq!(
        front.traffic()["identitystore"].throttled,
        3,
        "the SDK's 3 attempts, no more"
    );
    // What the checker logged as the cause: the throttling, by its stable name.
    let error = shared::ports::IdentityCenter::groups(&ports.identity_center)
        .await
        .expect_err("throttled throughout");
    assert_eq!(error.kind(), "AwsThrottled", "{}", error.causes());
}

#[tokio::test]
async fn a_record_with_an_exhausted_counter_fails_back_alone_and_the_rest_of_its_batch_is_checked() {
    let w = world(false, OktaUserStatus::Deprovisioned, vec![]).await;
    let mut exhausted = job(DeprovisionKind::Deactivated);
    exhausted.attempt = MAX_ATTEMPTS;
    let mut extreme = serde_json::to_value(&exhausted).expect("JSON");
    extreme["attempt"] = json!(u32::MAX);
    // Dates chrono reads but no job carries: `published - skew` (and the watch's `read_from - overlap`) would
    // overflow. Refused before they run, not caught as panics.
    let mut ancient = serde_json::to_value(job(DeprovisionKind::Deactivated)).expect("JSON");
    ancient["published"] = json!("-262143-01-01T00:00:00Z");
    ancient["check_after"] = json!("-262143-01-01T00:15:00Z");
    let mut far_watch = serde_json::to_value(job(DeprovisionKind::Deactivated)).expect("JSON");
    far_watch["follow_up"] = json!(true);
    far_watch["watch"] = json!({"until": "+262142-12-31T23:59:59Z", "read_from": "-262143-01-01T00:00:00Z"});
    let good = serde_json::to_string(&job(DeprovisionKind::Deactivated)).expect("JSON");
    let payload = sqs_batch(&[
        ("m-exhausted", &extreme.to_string()),
        ("m-ancient", &ancient.to_string()),
        ("m-far-watch", &far_watch.to_string()),
        ("m-good", &good),
    ]);
    let answer = w
        .ports
        .handle_trigger(&config(), payload, published() + Duration::minutes(15), far_deadline())
        .await
        .expect("an answer");
    assert_eq!(failed_ids(&answer), ["m-ancient", "m-exhausted", "m-far-watch"]);
    assert_eq!(
        of_rule(&w.ports.notifier.findings(), Rule::PropagationVerified).len(),
        1,
        "the good record ran"
    );
}

#[tokio::test]
async fn a_record_that_would_outrun_its_budget_or_the_deadline_fails_back_before_it() {
    let w = world(true, OktaUserStatus::Deprovisioned, vec![]).await;
    // Okta answers after 5 s; the record's budget is 1 s.
    w.okta
        .fail_next("/api/v1/users", 1, Fault::Slow(std::time::Duration::from_secs(5)));
    let tight = CheckConfig {
        sweep_max_pages: 20,
        record_budget: std::time::Duration::from_secs(1),
        ..config()
    };
    let first = serde_json::to_string(&job(DeprovisionKind::Deactivated)).expect("JSON");
    let second = serde_json::to_string(&job_of(
        "e0e0e0e0-2837-11eb-9823-9fb8f750c5a9",
        "user.lifecycle.deactivate",
        DeprovisionKind::Deactivated,
        published(),
    ))
    .expect("JSON");
    // The invocation ends in 6 s (3 s of it kept for answering): after the first record's 1 s, the second fits.
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_millis(6_000);
    let started = std::time::Instant::now();
    let answer = w
        .ports
        .handle_trigger(
            &tight,
            sqs_batch(&[("m-slow", &first), ("m-second", &second)]),
            published() + Duration::minutes(61),
            deadline,
        )
        .await
        .expect("an answer");
    assert!(
        started.elapsed() < std::time::Duration::from_secs(4),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(
        failed_ids(&answer),
        ["m-slow"],
        "the slow record timed out; the second ran"
    );

    let late = tokio::time::Instant::now() + std::time::Duration::from_millis(3_500);
    let answer = w
        .ports
        .handle_trigger(
            &tight,
            sqs_batch(&[("m-late", &second)]),
            published() + Duration::minutes(62),
            late,
        )
        .await
        .expect("an answer");
    assert_eq!(
        failed_ids(&answer),
        ["m-late"],
        "its budget does not fit before the deadline: not started"
    );
}

#[tokio::test]
async fn a_job_from_the_future_ends_instead_of_looping() {
    let w = world(true, OktaUserStatus::Deprovisioned, vec![]).await;
    let future = job_of(
        "f0f0f0f0-2837-11eb-9823-9fb8f750c5a9",
        "user.lifecycle.deactivate",
        DeprovisionKind::Deactivated,
        published() + Duration::days(3),
    );
    let outcome = w.ports.check(&config(), &future, published()).await;
    assert!(
        matches!(outcome, Ok(CheckOutcome::NothingToVerify(reason)) if reason.contains("future")),
        "{outcome:?}"
    );
    assert_eq!(count_all(&w.account, &w.queue_url).await, 0, "not re-queued");
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
    // An old account matches the login and is DISABLED; the one SCIM provisioned (by external id) is not. Okta's
    // app user record is gone (the person was unassigned and removed): only the issuer links the real account.
    let seed = OrgSeed::new()
        .disabled_user(BOB)
        .scim_user("bmartin-legacy", issuer, BOB_OKTA);
    let w = world_with(
        seed,
        &["bmartin-legacy"],
        OktaUserStatus::Deprovisioned,
        vec![],
        |_| vec![],
    )
    .await;
    let mut with_issuer = config();
    with_issuer.links.scim_issuer = Some(issuer.into());
    let findings = published_findings(
        w.ports
            .check(
                &with_issuer,
                &job(DeprovisionKind::Deactivated),
                published() + Duration::minutes(61),
            )
            .await,
    );
    assert_eq!(findings[0].rule, Rule::PropagationOverdue);
    assert_eq!(
        findings[0].subject.idc_user_id.as_deref(),
        Some(w.org.user("bmartin-legacy").as_str())
    );
}

/// `deprov-audit verify`, the built binary, configured only by environment like an operator's shell: it finds
/// the deactivation in the System Log, observes through the real adapters and prints the final verdict. It links
/// as the Lambda does: `IDC_EXTERNAL_ID_ISSUER` reaches it.
#[tokio::test]
async fn the_cli_verify_command_prints_the_verdict_live() {
    let issuer = "https://scim.example/okta";
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
    let seed = OrgSeed::new()
        .disabled_user(BOB)
        .scim_user("bmartin-legacy", issuer, BOB_OKTA);
    let w = world_with(
        seed,
        &["bmartin-legacy"],
        OktaUserStatus::Deprovisioned,
        vec![deactivation],
        |_| vec![],
    )
    .await;
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
        .env("IDC_EXTERNAL_ID_ISSUER", issuer)
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
        .expect("the SCIM-provisioned account is still enabled: overdue");
    assert_eq!(
        overdue["subject"]["okta_event_id"],
        "0c11c0de-2837-11eb-9823-9fb8f750c5a9"
    );
    assert_eq!(overdue["subject"]["idc_user_id"], w.org.user("bmartin-legacy").as_str());
    assert!(
        overdue["evidence"].to_string().contains("Developer on account"),
        "{overdue}"
    );
}

/// The ledger's DynamoDB conditions, in moto: a claim is exclusive while its lease runs, can be taken over when a
/// crashed job's lease ran out, only its owner completes or releases it, and a published key is never claimed again.
#[tokio::test]
async fn a_ledger_claim_is_exclusive_until_its_lease_ends_and_only_its_owner_completes_it() {
    use shared::ports::VerdictLedger;
    let account = MotoAccount::new().await;
    let ledger = verdict_ledger(&account, "verdicts").await;
    let now = published();
    let keep = now + Duration::days(14);
    let lease = |at: DateTime<Utc>| at + Duration::minutes(10);
    assert!(
        ledger
            .claim("verdict#a", "job-1", now, lease(now), keep)
            .await
            .expect("claim")
    );
    assert!(
        !ledger
            .claim("verdict#a", "job-2", now + Duration::minutes(1), lease(now), keep)
            .await
            .expect("claim")
    );
    assert!(!ledger.is_published("verdict#a").await.expect("read"));
    let later = now + Duration::minutes(11);
    assert!(
        ledger
            .claim("verdict#a", "job-2", later, lease(later), keep)
            .await
            .expect("claim"),
        "lease ran out"
    );
    let lost = ledger.complete("verdict#a", "job-1").await;
    assert!(matches!(lost, Err(shared::Error::ClaimLost { .. })), "{lost:?}");
    ledger
        .release("verdict#a", "job-1")
        .await
        .expect("a release of a lost claim does nothing");
    ledger.complete("verdict#a", "job-2").await.expect("complete");
    assert!(ledger.is_published("verdict#a").await.expect("read"));
    let much_later = now + Duration::hours(2);
    assert!(
        !ledger
            .claim("verdict#a", "job-3", much_later, lease(much_later), keep)
            .await
            .expect("claim")
    );
}

/// Episodes in DynamoDB: concurrent events of one offboarding join one episode; its chain has one holder until
/// that holder goes quiet; a closed episode sends later events to a new one.
#[tokio::test]
async fn ledger_episodes_admit_one_offboarding_and_hold_one_chain() {
    use shared::ports::VerdictLedger;
    let account = MotoAccount::new().await;
    let ledger = verdict_ledger(&account, "verdicts").await;
    let key = "episode#00u1bob00000000002#deprovision";
    let window = Duration::minutes(60);
    let keep = published() + Duration::days(14);
    let first = ledger
        .place_in_episode(key, &job(DeprovisionKind::Deactivated), window, keep)
        .await
        .expect("place");
    let push = job_of(
        "b0b0b0b0-2837-11eb-9823-9fb8f750c5a9",
        "application.provision.user.deactivate",
        DeprovisionKind::PushFailed,
        published() + Duration::minutes(3),
    );
    let joined = ledger.place_in_episode(key, &push, window, keep).await.expect("place");
    assert_eq!(joined.episode_id, first.episode_id);
    let now = published() + Duration::minutes(15);
    let hold = |owner: &'static str, step: u32, at: DateTime<Utc>| {
        let ledger = &ledger;
        let episode = first.episode_id.clone();
        async move {
            ledger
                .hold_chain(&episode, owner, step, at, at - Duration::minutes(10))
                .await
                .expect("hold")
        }
    };
    assert!(hold("chain-a", 0, now).await, "a new chain takes step 1");
    assert!(!hold("chain-b", 0, now).await, "another chain waits");
    assert!(
        hold("chain-a", 1, now + Duration::minutes(5)).await,
        "the chain's next step"
    );
    assert!(
        !hold("chain-a", 1, now + Duration::minutes(5)).await,
        "a second copy of that step is refused"
    );
    assert!(
        !hold("chain-a", 0, now + Duration::minutes(6)).await,
        "and so is a retried earlier step"
    );
    let quiet = now + Duration::minutes(30);
    assert!(hold("chain-b", 0, quiet).await, "a chain gone quiet is taken over");
    ledger
        .close_episode(key, &first.episode_id, quiet)
        .await
        .expect("close");
    let after = job_of(
        "c0c0c0c0-2837-11eb-9823-9fb8f750c5a9",
        "user.lifecycle.delete.initiated",
        DeprovisionKind::DeleteInitiated,
        quiet + Duration::minutes(1),
    );
    let next = ledger.place_in_episode(key, &after, window, keep).await.expect("place");
    assert_ne!(next.episode_id, first.episode_id, "after the verdict: a new incident");
    // The new incident has a chain of its own: the old episode's jobs cannot take it, nor it theirs.
    let at = quiet + Duration::minutes(2);
    assert!(
        ledger
            .hold_chain(&next.episode_id, "chain-c", 0, at, at - Duration::minutes(10))
            .await
            .expect("hold")
    );
    assert!(
        !ledger
            .hold_chain(&next.episode_id, "chain-a", 1, at, at - Duration::minutes(10))
            .await
            .expect("hold")
    );
    assert!(
        ledger
            .hold_chain(&first.episode_id, "chain-a", 0, at, at - Duration::minutes(10))
            .await
            .expect("hold"),
        "the closed episode's chain item is gone: a late job of it may look (and finds the verdict published)"
    );
}

// ---- issue 8: use of AWS anywhere in the organization, watched until the last session can have ended ----
//
// Each scenario is a function generic over the org-wide source (`WatchedSource`), run here over the in-memory
// `FakeOrgActivity`; the lead runs the same functions over each adapter (Athena, CloudTrail Lake, member
// LookupEvents) by implementing `WatchedSource` for its seeded test world.

/// What a watch scenario needs of the source under test: events put where the source reads them, and its
/// delivery lag (`Some(t)`: it holds events up to `t` only; `None`: caught up to now).
pub trait WatchedSource: shared::ports::OrgActivity {
    fn seed(&self, events: Vec<ActivityEvent>) -> impl std::future::Future<Output = ()>;
    fn lag_until(&self, at: Option<DateTime<Utc>>) -> impl std::future::Future<Output = ()>;
}

impl WatchedSource for shared::in_memory::FakeOrgActivity {
    async fn seed(&self, events: Vec<ActivityEvent>) {
        for event in events {
            self.push(event);
        }
    }

    async fn lag_until(&self, at: Option<DateTime<Utc>>) {
        shared::in_memory::FakeOrgActivity::lag_until(self, at);
    }
}

type WatchPorts<O> = CheckPorts<
    OktaClient,
    IdentityCenterClient,
    FakeActivityLog,
    RecordingNotifier,
    shared::in_memory::RecordingJobQueue,
    DynamoDbVerdictLedger,
    O,
>;

struct Watched<O> {
    org: SeededOrg,
    ports: WatchPorts<O>,
    _account: MotoAccount,
    _okta: OktaFake,
}

/// Bob disabled in Identity Center (the deprovision reached it), in `aws-production-developers` (Developer, 8 h, on
/// production), plus `extra` permission sets assigned to him directly on `staging`; `source` as the org-wide source.
async fn watched<O: WatchedSource>(source: O, extra: &[(&str, &str)]) -> Watched<O> {
    let mut seed = OrgSeed::new().disabled_user(BOB).user(ALICE).account("staging");
    for (name, session) in extra {
        seed = seed.permission_set(name, session).assign_user(BOB, name, "staging");
    }
    let w = world_with(seed, &[ALICE, BOB], OktaUserStatus::Deprovisioned, vec![], |org| {
        vec![app_user_of(org, BOB, AppUserStatus::Provisioned)]
    })
    .await;
    let ports = CheckPorts {
        directory: w.ports.directory,
        identity_center: w.ports.identity_center,
        activity: w.ports.activity,
        notifier: w.ports.notifier,
        // In memory: the watch's jobs are delayed up to SQS's 900 s, which a moto queue would hold back for real.
        queue: shared::in_memory::RecordingJobQueue::default(),
        ledger: w.ports.ledger,
        org: source,
    };
    Watched {
        org: w.org,
        ports,
        _account: w.account,
        _okta: w.okta,
    }
}

/// A permission-set role session of Bob's in a member account (UNVERIFIED shape, as the adapters read it: session
/// name = IdC userName, role `AWSReservedSSO_<set>_<hash>`).
fn role_session(id: &str, set: &str, account: &str, region: &str, name: &str, at: DateTime<Utc>) -> ActivityEvent {
    ActivityEvent {
        actor_user_name: Some(BOB.into()),
        role_name: Some(format!("AWSReservedSSO_{set}_0a1b2c3d4e5f6a7b")),
        account_id: Some(account.into()),
        region: Some(region.into()),
        ..cloudtrail(id, "s3.amazonaws.com", name, at)
    }
}

fn activity_findings(notifier: &RecordingNotifier) -> Vec<Finding> {
    of_rule(&notifier.findings(), Rule::ActivityAfterDeprovision)
}

/// The verdict at the window's end, and the watch job it queued (as the queue would deliver it).
async fn verdict_and_watch<O: WatchedSource>(w: &Watched<O>) -> VerificationJob {
    let findings = published_findings(
        w.ports
            .check(
                &config(),
                &job(DeprovisionKind::Deactivated),
                published() + Duration::minutes(15),
            )
            .await,
    );
    assert_eq!(findings[0].rule, Rule::PropagationVerified, "{findings:#?}");
    assert!(
        findings[0]
            .evidence
            .iter()
            .any(|e| e.observation.contains("every account and Region is watched")),
        "{:#?}",
        findings[0].evidence
    );
    let jobs: Vec<VerificationJob> = w
        .ports
        .queue
        .jobs()
        .into_iter()
        .filter_map(|scheduled| match scheduled.job {
            shared::domain::deprovision::QueuedWork::Verify(job) if job.follow_up => Some(job),
            _ => None,
        })
        .collect();
    assert_eq!(jobs.len(), 1, "one watch job: {jobs:#?}");
    assert!(jobs[0].follow_up && jobs[0].watch.is_some(), "{jobs:#?}");
    jobs[0].clone()
}

/// One look of the watch at `at`: the job it queued next (`None`: the watch ended) and what it published.
async fn look<O: WatchedSource>(
    w: &Watched<O>,
    job: &VerificationJob,
    at: DateTime<Utc>,
) -> (Option<VerificationJob>, Vec<Finding>) {
    match w.ports.check(&config(), job, at).await {
        Ok(CheckOutcome::Requeued {
            next,
            published,
            delay_seconds,
            ..
        }) => {
            assert!((1..=900).contains(&delay_seconds), "SQS's limit: {delay_seconds}");
            (Some(*next), published)
        }
        Ok(CheckOutcome::Published { findings, .. }) => (None, findings),
        Ok(CheckOutcome::NothingToVerify(_)) => (None, Vec::new()),
        other => panic!("a watch look: {other:?}"),
    }
}

pub async fn member_account_use_after_the_deprovision_is_one_high_finding_and_use_before_none<O: WatchedSource>(
    source: O,
) {
    let w = watched(source, &[]).await;
    let production = w.org.account("production").to_string();
    w.ports
        .org
        .seed(vec![
            role_session(
                "ct-before",
                "Developer",
                &production,
                "eu-west-1",
                "GetObject",
                published() - Duration::minutes(20),
            ),
            role_session(
                "ct-after",
                "Developer",
                &production,
                "eu-west-1",
                "DeleteBucket",
                published() + Duration::minutes(9),
            ),
        ])
        .await;
    verdict_and_watch(&w).await;
    let found = activity_findings(&w.ports.notifier);
    assert_eq!(found.len(), 1, "{found:#?}");
    let f = &found[0];
    assert_eq!(f.severity, Severity::High);
    let quoted: Vec<&str> = f.evidence.iter().filter_map(|e| e.reference.as_deref()).collect();
    assert!(
        quoted.contains(&"ct-after") && !quoted.contains(&"ct-before"),
        "{quoted:?}"
    );
    let line = f
        .evidence
        .iter()
        .find(|e| e.reference.as_deref() == Some("ct-after"))
        .map(|e| e.observation.clone())
        .unwrap_or_default();
    for part in [
        production.as_str(),
        "eu-west-1",
        "AWSReservedSSO_Developer",
        "DeleteBucket",
    ] {
        assert!(line.contains(part), "{part} in {line}");
    }
    let deny = shared::rules::session_revocation::deny_statement(std::slice::from_ref(w.org.user(BOB)));
    assert!(f.remedy.contains(&deny.to_string()), "{}", f.remedy);
    assert!(
        f.remedy.contains(&format!("deprov-audit revoke --login {BOB}")),
        "{}",
        f.remedy
    );
}

#[tokio::test]
async fn watch_member_account_use_after_the_deprovision_is_one_high_finding_and_use_before_none() {
    member_account_use_after_the_deprovision_is_one_high_finding_and_use_before_none(
        shared::in_memory::FakeOrgActivity::default(),
    )
    .await;
}

pub async fn use_at_six_hours_under_a_twelve_hour_session_is_reported_by_a_later_look_as_a_new_revision<
    O: WatchedSource,
>(
    source: O,
) {
    let w = watched(source, &[("LongRunner", "PT12H")]).await;
    let staging = w.org.account("staging").to_string();
    let first = verdict_and_watch(&w).await;
    assert_eq!(
        first.watch.map(|watch| watch.until),
        Some(published() + Duration::hours(12)),
        "the longest session held (12 h), recorded at the first check"
    );
    assert!(activity_findings(&w.ports.notifier).is_empty());

    let (next, found) = look(&w, &first, published() + Duration::hours(2)).await;
    assert!(found.is_empty());
    let next = next.expect("the watch goes on");
    w.ports
        .org
        .seed(vec![role_session(
            "ct-6h",
            "LongRunner",
            &staging,
            "ap-southeast-2",
            "RunInstances",
            published() + Duration::hours(6),
        )])
        .await;
    let (next, found) = look(&w, &next, published() + Duration::hours(7)).await;
    assert_eq!(found.len(), 1, "{found:#?}");
    assert_eq!(found[0].rule, Rule::ActivityAfterDeprovision);
    assert!(
        found[0]
            .evidence
            .iter()
            .any(|e| e.reference.as_deref() == Some("ct-6h"))
    );
    let next = next.expect("the watch goes on");

    // Nothing new: nothing published.
    let (next, found) = look(&w, &next, published() + Duration::hours(8)).await;
    assert!(found.is_empty(), "no duplicate: {found:#?}");
    let next = next.expect("the watch goes on");

    w.ports
        .org
        .seed(vec![role_session(
            "ct-9h",
            "LongRunner",
            &staging,
            "ap-southeast-2",
            "TerminateInstances",
            published() + Duration::hours(9),
        )])
        .await;
    let (next, found) = look(&w, &next, published() + Duration::hours(10)).await;
    let all = activity_findings(&w.ports.notifier);
    assert_eq!(all.len(), 2, "{all:#?}");
    assert_eq!(all[0].finding_id, all[1].finding_id, "one finding per episode, updated");
    assert!(
        all[1].revision > all[0].revision,
        "{:?} after {:?}",
        all[1].revision,
        all[0].revision
    );
    let quoted: Vec<&str> = found[0]
        .evidence
        .iter()
        .filter_map(|e| e.reference.as_deref())
        .collect();
    assert!(
        quoted.contains(&"ct-9h") && !quoted.contains(&"ct-6h"),
        "only the new: {quoted:?}"
    );

    let (ended, found) = look(
        &w,
        &next.expect("on"),
        published() + Duration::hours(12) + Duration::minutes(5),
    )
    .await;
    assert!(ended.is_none() && found.is_empty(), "over: {ended:?} {found:?}");
}

#[tokio::test]
async fn watch_use_at_six_hours_under_a_twelve_hour_session_is_reported_by_a_later_look_as_a_new_revision() {
    use_at_six_hours_under_a_twelve_hour_session_is_reported_by_a_later_look_as_a_new_revision(
        shared::in_memory::FakeOrgActivity::default(),
    )
    .await;
}

pub async fn a_lagging_source_is_not_yet_and_the_watch_ends_after_the_longest_session_and_no_later<O: WatchedSource>(
    source: O,
) {
    // Developer, 8 h, is the longest session held.
    let w = watched(source, &[]).await;
    let production = w.org.account("production").to_string();
    let first = verdict_and_watch(&w).await;
    let until = published() + Duration::hours(8);
    assert_eq!(first.watch.map(|watch| watch.until), Some(until));

    // The source holds events up to +5 h only; the use at +6 h has not arrived: not-yet, the watch goes on.
    w.ports.org.lag_until(Some(published() + Duration::hours(5))).await;
    w.ports
        .org
        .seed(vec![role_session(
            "ct-late",
            "Developer",
            &production,
            "us-west-2",
            "PutObject",
            published() + Duration::hours(6),
        )])
        .await;
    let (next, found) = look(&w, &first, published() + Duration::hours(7)).await;
    assert!(found.is_empty());
    let next = next.expect("not caught up: the watch goes on");
    let (next, found) = look(&w, &next, until + Duration::minutes(10)).await;
    assert!(found.is_empty());
    let next = next.expect("past the session's end but the source has not caught up: not-yet, not 'no activity'");

    // Caught up: the late use is reported, and the watch is over (the session has ended).
    w.ports.org.lag_until(None).await;
    let (ended, found) = look(&w, &next, until + Duration::minutes(20)).await;
    assert_eq!(found.len(), 1, "{found:#?}");
    assert!(
        found[0]
            .evidence
            .iter()
            .any(|e| e.reference.as_deref() == Some("ct-late"))
    );
    assert!(
        ended.is_none(),
        "the watch ends once the session is over and the source caught up"
    );

    // A source that never catches up: the watch stops at its bound (the session's end plus the lag allowance).
    w.ports.org.lag_until(Some(published() + Duration::hours(7))).await;
    let (still, _) = look(&w, &next, until + Duration::minutes(59)).await;
    assert!(still.is_some(), "inside the lag allowance: not yet");
    let (stopped, found) = look(&w, &next, until + Duration::minutes(61)).await;
    assert!(
        stopped.is_none(),
        "no later than the longest session plus the lag allowance"
    );
    // A watch it could not finish is a finding, not a log line: use in the gap cannot be ruled out.
    assert_eq!(found.len(), 1, "{found:#?}");
    assert_eq!(
        (found[0].rule, found[0].severity),
        (Rule::PropagationUnverifiable, Severity::Medium)
    );
    assert!(
        found[0].title.contains("could not be watched to the end"),
        "{}",
        found[0].title
    );
    assert!(
        of_rule(&w.ports.notifier.findings(), Rule::PropagationUnverifiable)
            .iter()
            .any(|f| f.finding_id == found[0].finding_id),
        "published"
    );
}

#[tokio::test]
async fn watch_a_lagging_source_is_not_yet_and_the_watch_ends_after_the_longest_session_and_no_later() {
    a_lagging_source_is_not_yet_and_the_watch_ends_after_the_longest_session_and_no_later(
        shared::in_memory::FakeOrgActivity::default(),
    )
    .await;
}

#[tokio::test]
async fn the_ledger_keeps_each_episodes_reach_merged_and_never_shrunk() {
    use shared::domain::AccountId;
    use shared::domain::activity::{HeldPermissionSet, Reach};
    use shared::ports::VerdictLedger;
    let account = MotoAccount::new().await;
    let ledger = verdict_ledger(&account, "verdicts").await;
    let keep = published() + Duration::days(14);
    let set = |id: &str, seconds: Option<u64>| HeldPermissionSet {
        arn: shared::domain::PermissionSetArn::parse(format!("arn:aws:sso:::permissionSet/ssoins-1/{id}"))
            .expect("arn"),
        name: Some(id.into()),
        session_seconds: seconds,
    };
    let bob = IdcUserId::parse("906756d7e2-1c2b3d4e-0000-4000-8000-0000000000b0").expect("id");
    assert_eq!(ledger.recorded_reach("ep-1").await.expect("read"), None);
    let first = Reach {
        user_ids: vec![bob.clone()],
        user_names: vec![BOB.into()],
        accounts: vec![AccountId::parse("444455556666").expect("account")],
        permission_sets: vec![set("ps-dev", Some(8 * 3600))],
    };
    assert_eq!(ledger.record_reach("ep-1", &first, keep).await.expect("record"), first);
    // A later check, after SCIM removed the access: what was recorded stays; new accounts are added.
    let later = Reach {
        user_ids: vec![bob.clone()],
        user_names: vec![BOB.into()],
        accounts: vec![AccountId::parse("555566667777").expect("account")],
        permission_sets: vec![set("ps-dev", None), set("ps-ops", Some(3600))],
    };
    let merged = ledger.record_reach("ep-1", &later, keep).await.expect("record");
    assert_eq!(merged.accounts.len(), 2, "{merged:?}");
    assert_eq!(merged.permission_sets.len(), 2, "{merged:?}");
    assert_eq!(
        merged
            .permission_sets
            .iter()
            .find(|s| s.name.as_deref() == Some("ps-dev"))
            .and_then(|s| s.session_seconds),
        Some(8 * 3600),
        "the known (longer) session is kept"
    );
    assert_eq!(ledger.recorded_reach("ep-1").await.expect("read"), Some(merged));
    assert_eq!(
        ledger.recorded_reach("ep-2").await.expect("read"),
        None,
        "each episode its own"
    );
}

/// issue 10's verdict archive: the checker keeps each final verdict in S3 (through its notifier), and the review
/// reads the period's deprovisions back as records: the verified one with its SCIM call and latency, the overdue one
/// (another org, the same archive) with its finding.
#[tokio::test]
async fn each_final_verdict_is_archived_and_the_review_reads_the_period_back() {
    use shared::ports::{ArchivingNotifier, VerdictArchive};
    let w = world(false, OktaUserStatus::Deprovisioned, vec![]).await;
    let bucket = format!("verdicts-{}", w.account.id());
    aws_sdk_s3::Client::new(w.account.sdk_config())
        .create_bucket()
        .bucket(&bucket)
        .send()
        .await
        .expect("CreateBucket");
    let archive = shared::aws::S3VerdictArchive::new(w.account.sdk_config(), bucket);
    w.ports
        .activity
        .push(scim_patch(w.org.user(BOB), published() + Duration::seconds(212)));
    let ports = CheckPorts {
        directory: w.ports.directory,
        identity_center: w.ports.identity_center,
        activity: w.ports.activity,
        notifier: ArchivingNotifier {
            notifier: RecordingNotifier::default(),
            archive: archive.clone(),
        },
        queue: w.ports.queue,
        ledger: w.ports.ledger,
        org: (),
    };
    let verified = published_findings(
        ports
            .check(
                &config(),
                &job(DeprovisionKind::Deactivated),
                published() + Duration::minutes(15),
            )
            .await,
    );
    assert_eq!(verified[0].rule, Rule::PropagationVerified);
    // Another deprovision a day later, in an org where it never reached Identity Center (Bob still ENABLED past
    // the maximum window), its verdict kept in the same archive.
    let later = published() + Duration::days(1);
    let w2 = world(true, OktaUserStatus::Deprovisioned, vec![]).await;
    let ports2 = CheckPorts {
        directory: w2.ports.directory,
        identity_center: w2.ports.identity_center,
        activity: w2.ports.activity,
        notifier: ArchivingNotifier {
            notifier: RecordingNotifier::default(),
            archive: archive.clone(),
        },
        queue: w2.ports.queue,
        ledger: w2.ports.ledger,
        org: (),
    };
    let late_job = job_of(
        "cd73d1cd-2837-11eb-9823-9fb8f750c5a9",
        "user.lifecycle.deactivate",
        DeprovisionKind::Deactivated,
        later,
    );
    let overdue = published_findings(ports2.check(&config(), &late_job, later + Duration::minutes(61)).await);
    let overdue: Vec<_> = of_rule(&overdue, Rule::PropagationOverdue);
    assert_eq!(overdue.len(), 1, "{overdue:#?}");

    let period = archive
        .period(published() - Duration::days(90), later + Duration::hours(1), 1000)
        .await
        .expect("the period read back");
    assert!(period.complete);
    let records = period.records();
    assert_eq!(records.len(), 2, "{records:#?}");
    assert_eq!(records[0].okta_event_id, "ab62c0bc-2837-11eb-9823-9fb8f750c5a9");
    assert_eq!(records[0].event_type, "user.lifecycle.deactivate");
    assert_eq!(records[0].login.as_deref(), Some(BOB));
    assert_eq!(records[0].published, published());
    assert_eq!(records[0].scim_call_at, Some(published() + Duration::seconds(212)));
    assert_eq!(records[0].latency_seconds, Some(212));
    assert_eq!(records[0].rule, "propagation-verified");
    assert_eq!(records[0].finding_id, verified[0].finding_id);
    assert_eq!(records[1].published, later);
    assert_eq!(
        (records[1].rule.as_str(), records[1].latency_seconds),
        ("propagation-overdue", None)
    );
    assert_eq!(records[1].finding_id, overdue[0].finding_id);
    assert!(records[1].final_state.contains("ENABLED"), "{}", records[1].final_state);
    // A period that ends before both holds neither.
    let before = archive
        .period(published() - Duration::days(90), published(), 1000)
        .await
        .expect("read");
    assert!(before.verdicts.is_empty());
}

// ---- the same watch scenarios over the real adapters, each in its test world (issue 8: tests per adapter) ----
//
// The lag scenario stays with the in-memory source: a real adapter's `caught_up_to` is the wall clock less the
// delivery lag, and these scenarios run in November 2026's fixed times (the adapters' own tests check their lag).

/// A role session a scenario seeds, as the member account's CloudTrail records it.
fn member_call(e: &ActivityEvent) -> integration_tests::cloudtrail::MemberCall {
    let permission_set = e
        .role_name
        .as_deref()
        .and_then(|role| role.strip_prefix("AWSReservedSSO_"))
        .and_then(|rest| rest.rsplit_once('_'))
        .map(|(set, _hash)| set.to_owned())
        .expect("a scenario seeds AWSReservedSSO_ role sessions");
    integration_tests::cloudtrail::MemberCall {
        event_id: e.event_id.clone(),
        account_id: e.account_id.clone().expect("an account"),
        region: e.region.clone().expect("a Region"),
        event_source: e.event_source.clone(),
        event_name: e.event_name.clone(),
        time: e.event_time,
        permission_set,
        session_name: e.actor_user_name.clone().expect("a session name"),
    }
}

/// The role-session calls a scenario seeds, as member accounts' trails record them.
fn member_calls(events: &[ActivityEvent]) -> Vec<Value> {
    events.iter().map(|e| member_call(e).record()).collect()
}

/// Athena over the org trail: log files delivered to moto S3, the adapter's query run in DuckDB.
struct AthenaWorld {
    account: MotoAccount,
    trail: tokio::sync::Mutex<integration_tests::org_trail::OrgTrail>,
    source: shared::aws::AthenaActivity,
}

impl AthenaWorld {
    async fn new() -> Self {
        let account = MotoAccount::new().await;
        let trail = integration_tests::org_trail::OrgTrail::create(&account).await;
        let source = shared::aws::AthenaActivity::new(account.sdk_config(), trail.settings(900));
        Self {
            account,
            trail: tokio::sync::Mutex::new(trail),
            source,
        }
    }
}

impl shared::ports::OrgActivity for AthenaWorld {
    fn source(&self) -> &'static str {
        self.source.source()
    }

    async fn use_of_aws(&self, query: &shared::ports::UseQuery) -> shared::error::Result<shared::ports::UseRead> {
        self.source.use_of_aws(query).await
    }
}

impl WatchedSource for AthenaWorld {
    async fn seed(&self, events: Vec<ActivityEvent>) {
        self.trail
            .lock()
            .await
            .deliver(&self.account, &member_calls(&events))
            .await;
    }

    async fn lag_until(&self, at: Option<DateTime<Utc>>) {
        assert!(at.is_none(), "the Athena world's lag is the wall clock's");
    }
}

/// CloudTrail Lake: events seeded into the launcher's event data store, the adapter's query run in DuckDB.
struct LakeWorld {
    account: MotoAccount,
    store: integration_tests::org_trail::LakeStore,
    source: shared::aws::LakeActivity,
}

impl LakeWorld {
    async fn new() -> Self {
        let account = MotoAccount::new().await;
        let store = integration_tests::org_trail::LakeStore::seeded(&account, &[]).await;
        let source = shared::aws::LakeActivity::new(account.sdk_config(), store.settings(900));
        Self { account, store, source }
    }
}

impl shared::ports::OrgActivity for LakeWorld {
    fn source(&self) -> &'static str {
        self.source.source()
    }

    async fn use_of_aws(&self, query: &shared::ports::UseQuery) -> shared::error::Result<shared::ports::UseRead> {
        self.source.use_of_aws(query).await
    }
}

impl WatchedSource for LakeWorld {
    async fn seed(&self, events: Vec<ActivityEvent>) {
        self.store.seed(&self.account, &member_calls(&events)).await;
    }

    async fn lag_until(&self, at: Option<DateTime<Utc>>) {
        assert!(at.is_none(), "the Lake world's lag is the wall clock's");
    }
}

#[tokio::test]
async fn athena_member_account_use_after_the_deprovision_is_one_high_finding_and_use_before_none() {
    member_account_use_after_the_deprovision_is_one_high_finding_and_use_before_none(AthenaWorld::new().await).await;
}

#[tokio::test]
async fn athena_use_at_six_hours_under_a_twelve_hour_session_is_reported_by_a_later_look_as_a_new_revision() {
    use_at_six_hours_under_a_twelve_hour_session_is_reported_by_a_later_look_as_a_new_revision(
        AthenaWorld::new().await,
    )
    .await;
}

#[tokio::test]
async fn lake_member_account_use_after_the_deprovision_is_one_high_finding_and_use_before_none() {
    member_account_use_after_the_deprovision_is_one_high_finding_and_use_before_none(LakeWorld::new().await).await;
}

#[tokio::test]
async fn lake_use_at_six_hours_under_a_twelve_hour_session_is_reported_by_a_later_look_as_a_new_revision() {
    use_at_six_hours_under_a_twelve_hour_session_is_reported_by_a_later_look_as_a_new_revision(LakeWorld::new().await)
        .await;
}

/// LookupEvents in each member account, through a role assumed there: each call seeded into its account's event
/// history in its Region.
struct MemberLookupWorld {
    _deploy: MotoAccount,
    source: shared::aws::MemberLookupActivity,
}

impl MemberLookupWorld {
    async fn new() -> Self {
        let deploy = MotoAccount::new().await;
        let env = |name: &str| match name {
            "ACTIVITY_MEMBER_ROLE_NAME" => Some("deprov-audit-activity-read".to_owned()),
            "ACTIVITY_REGIONS" => Some("us-east-1,eu-west-1,ap-southeast-2".to_owned()),
            "AWS_REGION" => Some("us-east-1".to_owned()),
            "LOOKUP_EVENTS_SHARERS" => Some("1".to_owned()),
            _ => None,
        };
        let settings = shared::aws::MemberActivitySettings::from_env(&env).expect("settings");
        let source = shared::aws::MemberLookupActivity::new(deploy.sdk_config(), settings);
        Self {
            _deploy: deploy,
            source,
        }
    }
}

impl shared::ports::OrgActivity for MemberLookupWorld {
    fn source(&self) -> &'static str {
        self.source.source()
    }

    async fn use_of_aws(&self, query: &shared::ports::UseQuery) -> shared::error::Result<shared::ports::UseRead> {
        self.source.use_of_aws(query).await
    }
}

impl WatchedSource for MemberLookupWorld {
    async fn seed(&self, events: Vec<ActivityEvent>) {
        let calls: Vec<_> = events.iter().map(member_call).collect();
        integration_tests::member_trail::seed_member_calls(&calls).await;
    }

    async fn lag_until(&self, at: Option<DateTime<Utc>>) {
        assert!(at.is_none(), "the member-lookup world's lag is the wall clock's");
    }
}

#[tokio::test]
async fn member_lookup_member_account_use_after_the_deprovision_is_one_high_finding_and_use_before_none() {
    member_account_use_after_the_deprovision_is_one_high_finding_and_use_before_none(MemberLookupWorld::new().await)
        .await;
}

#[tokio::test]
async fn member_lookup_use_at_six_hours_under_a_twelve_hour_session_is_reported_by_a_later_look_as_a_new_revision() {
    use_at_six_hours_under_a_twelve_hour_session_is_reported_by_a_later_look_as_a_new_revision(
        MemberLookupWorld::new().await,
    )
    .await;
}

/// The verdict's own org-wide read cut short: the watch's first look reads from the deprovision, not from where
/// the source's clock was, so use the short read missed is still found.
#[tokio::test]
async fn watch_a_verdict_read_cut_short_is_read_again_from_the_deprovision() {
    let w = watched(shared::in_memory::FakeOrgActivity::default(), &[]).await;
    w.ports.org.cut_short(true);
    let first = verdict_and_watch(&w).await;
    let watch = first.watch.expect("a watch");
    assert_eq!(
        watch.read_from,
        published(),
        "the verdict's read was cut short: nothing after the deprovision is known yet"
    );
    // Use of AWS that the cut-short read may have missed is found by the first look, once reads are whole again.
    w.ports.org.cut_short(false);
    let production = w.org.account("production").to_string();
    w.ports.org.push(role_session(
        "ct-missed",
        "Developer",
        &production,
        "eu-west-1",
        "DeleteBucket",
        published() + Duration::minutes(5),
    ));
    look(&w, &first, published() + Duration::minutes(40)).await;
    let found = activity_findings(&w.ports.notifier);
    assert_eq!(found.len(), 1, "{found:#?}");
    assert!(
        found[0]
            .evidence
            .iter()
            .any(|e| e.reference.as_deref() == Some("ct-missed")),
        "{found:#?}"
    );
}

/// A read cut short on the last look (a page cap, the budget, an account not read) is not "no activity": the watch
/// does not end as over; it reads the stretch again, and a gap that never fills ends at the bound as an
/// unverifiable finding.
#[tokio::test]
async fn watch_an_incomplete_read_never_ends_the_watch_as_clean() {
    let w = watched(shared::in_memory::FakeOrgActivity::default(), &[]).await;
    let first = verdict_and_watch(&w).await;
    let until = published() + Duration::hours(8);
    w.ports.org.cut_short(true);
    let (next, found) = look(&w, &first, until + Duration::minutes(10)).await;
    assert!(found.is_empty(), "{found:#?}");
    let next = next.expect("caught up by the clock, but the read was cut short: the watch goes on");
    let (stopped, found) = look(&w, &next, until + Duration::minutes(61)).await;
    assert!(stopped.is_none(), "bounded");
    assert_eq!(found.len(), 1, "{found:#?}");
    assert_eq!(found[0].rule, Rule::PropagationUnverifiable);
}
