//! The access review end to end: an org seeded into moto (Identity Center, Organizations, CloudTrail) and the Okta
//! fake, the review's state and suppression list in moto S3, findings on moto SNS read back through a subscribed
//! queue. Each rule's finding on the seeded org, a daily run publishing only what changed, a suppressed finding
//! reported as suppressed, the diff between two runs after the org changed.

use aws_sdk_identitystore::types::MemberId;
use aws_sdk_ssoadmin::types::{PrincipalType, TargetType};
use chrono::{DateTime, Duration, Utc};
use integration_tests::moto::MotoAccount;
use integration_tests::okta_fake::{OktaFake, api_token};
use integration_tests::queues::{bodies, drain, subscribed_topic};
use integration_tests::seed::{OrgSeed, SeededOrg};
use serde_json::Value;
use sha2::Digest;
use shared::aws::{
    CloudTrailActivityLog, IdentityCenterClient, ReportStoreSettings, S3ReportStore, S3ReviewState, S3VerdictArchive,
    SnsNotifier,
};
use shared::domain::review::{FindingStatus, ReviewKind, ReviewReport};
use shared::domain::{
    AppUser, AppUserStatus, GroupPushMapping, IdcGroupId, OktaApp, OktaAppId, OktaGroup, OktaGroupId, OktaLogin,
    OktaSide, OktaUser, OktaUserId, OktaUserStatus, PushMappingStatus, Rule, SyncState,
};
use shared::handlers::access_review::{AccessReviewConfig, AccessReviewPorts};
use shared::okta::OktaClient;
use shared::ports::{ReviewStateStore, StateSlot};
use shared::rate_limit::Gates;
use shared::rules::ReviewPolicy;

const APP: &str = "0oa1awsidc00000001";
const SUPPRESSIONS: &str = "config/suppressions.json";

pub(crate) type Ports = AccessReviewPorts<
    OktaClient,
    IdentityCenterClient,
    CloudTrailActivityLog,
    SnsNotifier,
    S3ReviewState,
    S3ReportStore,
    Option<S3VerdictArchive>,
>;

/// The seeded org and the review's ports (also used by `access_review_sharded`). The readers pass `gates`
/// (unlimited: they only count the calls).
pub(crate) struct World {
    pub(crate) account: MotoAccount,
    pub(crate) org: SeededOrg,
    pub(crate) okta: OktaFake,
    pub(crate) ports: Ports,
    pub(crate) config: AccessReviewConfig,
    pub(crate) queue_url: String,
    pub(crate) bucket: String,
    pub(crate) gates: Gates,
}

fn okta_user(id: &str, login: &str, status: OktaUserStatus, last_login: DateTime<Utc>) -> OktaUser {
    OktaUser {
        id: OktaUserId::parse(id).expect("id"),
        login: OktaLogin::parse(login).expect("login"),
        email: Some(login.into()),
        status,
        transitioning_to_status: None,
        status_changed: Some(last_login),
        last_login: Some(last_login),
    }
}

fn okta_group(id: &str, name: &str, members: &[&str]) -> OktaGroup {
    OktaGroup {
        id: OktaGroupId::parse(id).expect("id"),
        name: name.into(),
        members: members.iter().map(|m| OktaUserId::parse(*m).expect("id")).collect(),
    }
}

fn push(id: &str, source: &str, target: &IdcGroupId, status: PushMappingStatus) -> GroupPushMapping {
    GroupPushMapping {
        id: id.into(),
        source_group_id: OktaGroupId::parse(source).expect("id"),
        target_group_id: Some(target.clone()),
        status,
        error_summary: (status == PushMappingStatus::Error).then(|| "Error while updating group membership".into()),
        last_push: None,
    }
}

/// An org like the guides describe, with one of each problem the review's rules look for:
/// bob deactivated in Okta but still enabled (and his app user in syncState ERROR); greg active but last signed in
/// 200 days ago; stray in Identity Center only; aws-breakglass-admins assigned Operations with no members and no
/// push; Operations reachable through the three-person aws-all-engineering group; BillingViewer provisioned to
/// staging and assigned to nobody; the aws-production-operations push in ERROR.
pub(crate) async fn world(name: &str, now: DateTime<Utc>) -> World {
    world_with(name, now, |_| {}).await
}

/// `world`, with the Okta side changed by `okta_change` before the fake serves it.
async fn world_with(name: &str, now: DateTime<Utc>, okta_change: impl FnOnce(&mut OktaSide)) -> World {
    let account = MotoAccount::new().await;
    let org = OrgSeed::new()
        .user("alice@acme.example")
        .user("bob@acme.example")
        .user("greg@acme.example")
        .user("stray@partner.example")
        .group("aws-production-developers", &["alice@acme.example", "bob@acme.example"])
        .group(
            "aws-all-engineering",
            &["alice@acme.example", "bob@acme.example", "greg@acme.example"],
        )
        .group("aws-production-operations", &["alice@acme.example"])
        .group("aws-breakglass-admins", &[])
        .permission_set("Developer", "PT8H")
        .permission_set("Operations", "PT1H")
        .permission_set("BillingViewer", "PT4H")
        .account("staging")
        .assign_group("aws-production-developers", "Developer", "production")
        .assign_group("aws-all-engineering", "Operations", "staging")
        .assign_group("aws-breakglass-admins", "Operations", "production")
        .provision("BillingViewer", "staging")
        .seed(&account)
        .await;
    let app_user = |okta: &str, idc: &str, sync: SyncState| AppUser {
        user_id: OktaUserId::parse(okta).expect("id"),
        external_id: Some(org.user(idc).to_string()),
        user_name: None,
        status: AppUserStatus::Provisioned,
        sync_state: Some(sync),
        last_sync: None,
    };
    let mut okta_side = OktaSide {
        org_url: "https://acme.okta.com".into(),
        users: vec![
            okta_user(
                "00u1alice",
                "alice@acme.example",
                OktaUserStatus::Active,
                now - Duration::days(1),
            ),
            okta_user(
                "00u1bob",
                "bob@acme.example",
                OktaUserStatus::Deprovisioned,
                now - Duration::days(3),
            ),
            okta_user(
                "00u1greg",
                "greg@acme.example",
                OktaUserStatus::Active,
                now - Duration::days(200),
            ),
        ],
        groups: vec![
            okta_group("00g1devs", "aws-production-developers", &["00u1alice"]),
            okta_group("00g1eng", "aws-all-engineering", &["00u1alice", "00u1greg"]),
            okta_group("00g1ops", "aws-production-operations", &["00u1alice"]),
        ],
        app: OktaApp {
            id: OktaAppId::parse(APP).expect("id"),
            label: "AWS IAM Identity Center".into(),
            app_users: vec![
                app_user("00u1alice", "alice@acme.example", SyncState::Synchronized),
                app_user("00u1bob", "bob@acme.example", SyncState::Error),
                app_user("00u1greg", "greg@acme.example", SyncState::Synchronized),
            ],
            group_push_mappings: vec![
                push(
                    "gPm1devs",
                    "00g1devs",
                    org.group("aws-production-developers"),
                    PushMappingStatus::Active,
                ),
                push(
                    "gPm1eng",
                    "00g1eng",
                    org.group("aws-all-engineering"),
                    PushMappingStatus::Active,
                ),
                push(
                    "gPm1ops",
                    "00g1ops",
                    org.group("aws-production-operations"),
                    PushMappingStatus::Error,
                ),
            ],
            signing_keys: vec![],
        },
        deprovisions: vec![],
    };
    okta_change(&mut okta_side);
    let okta = OktaFake::start(okta_side, vec![]).await;
    let (topic_arn, queue_url) =
        subscribed_topic(&account, &format!("{name}-findings"), &format!("{name}-q"), true).await;
    let bucket = format!("{name}-reports");
    aws_sdk_s3::Client::new(account.sdk_config())
        .create_bucket()
        .bucket(&bucket)
        .send()
        .await
        .expect("CreateBucket");
    let gates = Gates::unlimited();
    let ports = AccessReviewPorts {
        directory: OktaClient::new(okta.client_config(api_token()))
            .expect("client")
            .gated(gates.clone()),
        identity_center: IdentityCenterClient::gated(account.sdk_config(), org.instance.clone(), &gates),
        activity: CloudTrailActivityLog::gated(account.sdk_config(), &gates),
        notifier: SnsNotifier::new(account.sdk_config(), topic_arn),
        state: S3ReviewState::new(account.sdk_config(), bucket.clone(), SUPPRESSIONS),
        reports: S3ReportStore::new(
            account.sdk_config(),
            ReportStoreSettings {
                bucket: bucket.clone(),
                object_lock: None,
            },
        ),
        // The same bucket as the template: the checker's verdicts under verdicts/ (none in this world).
        verdicts: Some(S3VerdictArchive::new(account.sdk_config(), bucket.clone())),
    };
    let config = AccessReviewConfig {
        org_url: "https://acme.okta.com".into(),
        app_id: OktaAppId::parse(APP).expect("id"),
        links: shared::domain::LinkPolicy::default(),
        review: ReviewPolicy {
            inactive_after: Duration::days(90),
            privileged_permission_sets: ["Operations".to_owned()].into(),
            large_group_members: 3,
        },
        activity_window: Duration::days(7),
    };
    World {
        account,
        org,
        okta,
        ports,
        config,
        queue_url,
        bucket,
        gates,
    }
}

impl World {
    async fn run(&self, kind: ReviewKind, now: DateTime<Utc>) -> (ReviewReport, Vec<Value>) {
        let report = self.ports.handle(&self.config, kind, now).await.expect("a review run");
        (report, bodies(&drain(&self.account, &self.queue_url).await))
    }

    async fn put_suppressions(&self, list: &Value) {
        aws_sdk_s3::Client::new(self.account.sdk_config())
            .put_object()
            .bucket(&self.bucket)
            .key(SUPPRESSIONS)
            .body(serde_json::to_vec(list).expect("json").into())
            .send()
            .await
            .expect("PutObject");
    }

    async fn add_member(&self, group: &str, user: &str) {
        aws_sdk_identitystore::Client::new(self.account.sdk_config())
            .create_group_membership()
            .identity_store_id(self.org.instance.identity_store_id.as_str())
            .group_id(self.org.group(group).as_str())
            .member_id(MemberId::UserId(self.org.user(user).to_string()))
            .send()
            .await
            .expect("CreateGroupMembership");
    }

    async fn assign_user(&self, user: &str, set: &str, account: &str) {
        aws_sdk_ssoadmin::Client::new(self.account.sdk_config())
            .create_account_assignment()
            .instance_arn(self.org.instance.instance_arn.as_str())
            .target_type(TargetType::AwsAccount)
            .target_id(self.org.account(account).as_str())
            .permission_set_arn(self.org.permission_set(set).as_str())
            .principal_type(PrincipalType::User)
            .principal_id(self.org.user(user).to_string())
            .send()
            .await
            .expect("CreateAccountAssignment");
    }
}

fn rules(report: &ReviewReport) -> Vec<Rule> {
    let mut rules: Vec<Rule> = report.findings.iter().map(|f| f.finding.rule).collect();
    rules.sort();
    rules
}

fn published_rules(messages: &[Value]) -> Vec<String> {
    let mut rules: Vec<String> = messages
        .iter()
        .map(|m| m["rule"].as_str().unwrap_or_default().to_owned())
        .collect();
    rules.sort();
    rules
}

#[tokio::test]
async fn a_quarterly_review_of_a_seeded_org_raises_each_rule_and_publishes_every_finding() {
    let now = Utc::now();
    let world = world("review-rules", now).await;
    let (report, messages) = world.run(ReviewKind::Quarterly, now).await;

    assert_eq!(
        rules(&report),
        [
            Rule::DeprovisionedUserEnabled,
            Rule::OrphanedIdcUser,
            Rule::GroupAssignedWithoutMembers,
            Rule::IdcGroupNotPushed,
            Rule::PermissionSetUnassigned,
            Rule::InactiveUser,
            Rule::PrivilegedViaLargeGroup,
            Rule::AppUserSyncError,
            Rule::GroupPushError,
        ],
        "{:#?}",
        report.findings.iter().map(|f| &f.finding.title).collect::<Vec<_>>()
    );
    let by_rule = |rule: Rule| {
        report
            .findings
            .iter()
            .find(|f| f.finding.rule == rule)
            .map(|f| &f.finding)
            .expect("found")
    };
    assert_eq!(
        by_rule(Rule::InactiveUser).subject.okta_login.as_deref(),
        Some("greg@acme.example")
    );
    assert_eq!(
        by_rule(Rule::GroupAssignedWithoutMembers).subject.group_id.as_deref(),
        Some(world.org.group("aws-breakglass-admins").as_str())
    );
    assert_eq!(
        by_rule(Rule::IdcGroupNotPushed).subject.group_id.as_deref(),
        Some(world.org.group("aws-breakglass-admins").as_str())
    );
    assert_eq!(
        by_rule(Rule::PermissionSetUnassigned)
            .subject
            .permission_set_arn
            .as_deref(),
        Some(world.org.permission_set("BillingViewer").as_str())
    );
    assert_eq!(
        by_rule(Rule::PrivilegedViaLargeGroup).subject.group_id.as_deref(),
        Some(world.org.group("aws-all-engineering").as_str())
    );
    assert_eq!(
        by_rule(Rule::GroupPushError).subject.group_id.as_deref(),
        Some("00g1ops")
    );
    assert!(report.findings.iter().all(|f| f.status == FindingStatus::New));
    assert!(
        report
            .findings
            .iter()
            .all(|f| !f.controls.is_empty() && f.controls.iter().any(|c| c.starts_with("SOC2")))
    );
    // Effective access: alice (developers, all-engineering), bob (both), greg (all-engineering).
    assert_eq!(report.access.len(), 5);
    // The first run has nothing to compare with: no row is listed again as added (the table has them all).
    assert_eq!(report.diff.previous_run, None);
    assert!(report.diff.access_added.is_empty() && report.diff.access_removed.is_empty());

    assert_eq!(
        messages.len(),
        report.findings.len() + 1,
        "the quarterly run publishes every finding and its summary"
    );
    let mut expected: Vec<String> = rules(&report).iter().map(|r| r.as_str().to_owned()).collect();
    expected.push(Rule::AccessReviewSummary.as_str().to_owned());
    expected.sort();
    assert_eq!(published_rules(&messages), expected);

    // The report files in S3 under reviews/<run_id>/, each the one its manifest names (SHA-256 and size).
    let s3 = aws_sdk_s3::Client::new(world.account.sdk_config());
    let prefix = format!("reviews/{}/", report.run_id);
    let read = |key: String| {
        let s3 = s3.clone();
        let bucket = world.bucket.clone();
        async move {
            let object = s3.get_object().bucket(&bucket).key(&key).send().await;
            let object = object.unwrap_or_else(|e| panic!("GetObject {key}: {e:?}"));
            object.body.collect().await.expect("body").into_bytes().to_vec()
        }
    };
    let manifest: Value = serde_json::from_slice(&read(format!("{prefix}manifest.json")).await).expect("manifest json");
    assert_eq!(manifest["run_id"], report.run_id.as_str());
    let mut names: Vec<&str> = manifest["files"]
        .as_array()
        .expect("files")
        .iter()
        .map(|f| f["name"].as_str().expect("name"))
        .collect();
    names.sort_unstable();
    assert_eq!(names, ["access.csv", "index.html", "report.json", "report.md"]);
    for entry in manifest["files"].as_array().expect("files") {
        let name = entry["name"].as_str().expect("name");
        let bytes = read(format!("{prefix}{name}")).await;
        let digest: String = sha2::Sha256::digest(&bytes)
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        assert_eq!(entry["sha256"].as_str(), Some(digest.as_str()), "{name}");
        assert_eq!(entry["bytes"].as_u64(), u64::try_from(bytes.len()).ok(), "{name}");
    }
    let stored: ReviewReport =
        serde_json::from_slice(&read(format!("{prefix}report.json")).await).expect("report.json");
    assert_eq!(stored.run_id, report.run_id);
    assert_eq!(stored.findings.len(), report.findings.len());
    assert!(stored.deprovisions.is_empty(), "no verdict archived in this world");

    // The one summary finding, read back from SNS: it links the stored report.
    let summary = messages
        .iter()
        .find(|m| m["rule"] == Rule::AccessReviewSummary.as_str())
        .expect("the summary finding");
    assert_eq!(summary["severity"], "info");
    let references: Vec<&str> = summary["evidence"]
        .as_array()
        .expect("evidence")
        .iter()
        .filter_map(|e| e["reference"].as_str())
        .collect();
    let base = format!("s3://{}/{prefix}", world.bucket);
    assert!(references.contains(&base.as_str()), "{references:?}");
    assert!(
        references.contains(&format!("{base}manifest.json").as_str()),
        "{references:?}"
    );
    let saved = world
        .ports
        .state
        .load(StateSlot::Latest)
        .await
        .expect("read")
        .expect("saved");
    assert_eq!(saved.run_id, report.run_id);
    assert!(
        world
            .ports
            .state
            .load(StateSlot::Quarterly)
            .await
            .expect("read")
            .is_some()
    );
}

#[tokio::test]
async fn a_daily_run_publishes_only_what_changed_and_the_diff_names_it() {
    let now = Utc::now();
    let world = world("review-daily", now).await;
    let (first, _) = world.run(ReviewKind::Quarterly, now).await;

    // Nothing changed: the daily run publishes nothing.
    let (quiet, messages) = world.run(ReviewKind::Daily, now + Duration::hours(1)).await;
    assert!(messages.is_empty(), "{messages:#?}");
    assert!(quiet.findings.iter().all(|f| f.status == FindingStatus::Open));
    assert!(
        quiet.findings.iter().all(|f| f.first_seen == first.generated_at),
        "first seen kept"
    );

    // The org changes: someone is put in the empty break-glass group, and alice gets Developer directly.
    world.add_member("aws-breakglass-admins", "alice@acme.example").await;
    world.assign_user("alice@acme.example", "Developer", "staging").await;
    let later = now + Duration::days(1);
    let (daily, messages) = world.run(ReviewKind::Daily, later).await;

    let new: Vec<Rule> = daily
        .findings
        .iter()
        .filter(|f| f.status == FindingStatus::New)
        .map(|f| f.finding.rule)
        .collect();
    assert_eq!(new, [Rule::DirectUserAssignment]);
    let resolved: Vec<Rule> = daily
        .findings
        .iter()
        .filter(|f| f.status == FindingStatus::Resolved)
        .map(|f| f.finding.rule)
        .collect();
    assert_eq!(resolved, [Rule::GroupAssignedWithoutMembers]);

    assert_eq!(
        messages.len(),
        2,
        "one new finding, one resolution notice: {messages:#?}"
    );
    let notice = messages
        .iter()
        .find(|m| m["title"].as_str().is_some_and(|t| t.starts_with("Resolved: ")))
        .expect("a resolution notice");
    assert_eq!(notice["rule"], "group-assigned-without-members");
    assert_eq!(notice["severity"], "info");
    let original = daily
        .findings
        .iter()
        .find(|f| f.status == FindingStatus::Resolved)
        .map(|f| f.finding.finding_id.to_string())
        .expect("resolved");
    assert_eq!(notice["subject"]["resolves"], original.as_str());
    assert_ne!(notice["finding_id"], original.as_str());
    assert!(messages.iter().any(|m| m["rule"] == "direct-user-assignment"));

    // The diff against the previous run: alice's two new ways in, nothing removed.
    assert_eq!(daily.diff.previous_run.as_deref(), Some(quiet.run_id.as_str()));
    let mut added: Vec<(String, Option<String>)> = daily
        .diff
        .access_added
        .iter()
        .map(|r| (r.permission_set_name.clone(), r.via_group.clone()))
        .collect();
    added.sort();
    assert_eq!(
        added,
        [
            ("Developer".to_owned(), None),
            ("Operations".to_owned(), Some("aws-breakglass-admins".to_owned()))
        ]
    );
    assert!(daily.diff.access_removed.is_empty());
    let resolved_ids: Vec<String> = daily.diff.findings_resolved.iter().map(|id| id.to_string()).collect();
    assert_eq!(resolved_ids, [original]);

    // The next quarterly review diffs against the previous quarterly one: the same changes, seen from there.
    let (quarter, _) = world.run(ReviewKind::Quarterly, later + Duration::hours(1)).await;
    assert_eq!(quarter.diff.previous_run.as_deref(), Some(first.run_id.as_str()));
    assert_eq!(quarter.diff.access_added.len(), 2);
    assert_eq!(
        quarter.diff.findings_resolved.len(),
        1,
        "resolved since the last quarter"
    );
}

#[tokio::test]
async fn a_suppressed_finding_is_reported_as_suppressed_until_its_end_date() {
    let now = Utc::now();
    let world = world("review-suppressed", now).await;
    let until = now + Duration::days(30);
    world
        .put_suppressions(&serde_json::json!({
            "suppressions": [{
                "owner": "secops@acme.example",
                "reason": "Okta support case 01234: push fix scheduled",
                "until": until,
                "rule": "group-push-error",
                "subject": {"group_id": "00g1ops"}
            }, {
                "owner": "nobody@acme.example",
                "reason": "expired last month",
                "until": now - Duration::days(30),
                "rule": "inactive-user"
            }]
        }))
        .await;
    let (report, messages) = world.run(ReviewKind::Quarterly, now).await;
    let push = report
        .findings
        .iter()
        .find(|f| f.finding.rule == Rule::GroupPushError)
        .expect("reported, not dropped");
    assert_eq!(
        push.status,
        FindingStatus::Suppressed {
            owner: "secops@acme.example".into(),
            reason: "Okta support case 01234: push fix scheduled".into(),
            until,
        }
    );
    let inactive = report
        .findings
        .iter()
        .find(|f| f.finding.rule == Rule::InactiveUser)
        .expect("found");
    assert_eq!(
        inactive.status,
        FindingStatus::New,
        "an expired suppression no longer applies"
    );
    assert!(!messages.iter().any(|m| m["rule"] == "group-push-error"), "not paged");
    assert_eq!(
        messages.len(),
        report.findings.len(),
        "every finding but the suppressed one, and the summary"
    );

    // After the end date the finding is open again: the daily run publishes it (it was never paged), and only it.
    let (after, messages) = world.run(ReviewKind::Daily, until + Duration::hours(1)).await;
    let push = after
        .findings
        .iter()
        .find(|f| f.finding.rule == Rule::GroupPushError)
        .expect("found");
    assert_eq!(push.status, FindingStatus::Open);
    assert_eq!(
        push.first_seen, report.generated_at,
        "its history kept through the suppression"
    );
    assert_eq!(published_rules(&messages), ["group-push-error"]);
}

/// Greg's last AWS sign-in, 120 days ago, is older than the review's CloudTrail window (7 days here; 90 at most)
/// and newer than Okta's lastLogin (200 days): only identity-center-watch's activity record holds it. The review
/// reads it (one keyed query per user id and user name), judges inactivity on it, lists it in the access rows, and
/// says how far back the record reaches.
#[tokio::test]
async fn the_review_reads_last_sign_ins_from_the_activity_record_and_says_how_far_back_it_reaches() {
    use shared::aws::{DynamoDbActivityRecord, RecordFirst};
    use shared::domain::ActivityEvent;
    use shared::ports::ActivityRecord;
    let now = Utc::now();
    let w = world("review-record", now).await;
    integration_tests::ledger::activity_table(&w.account, "activity").await;
    let record = DynamoDbActivityRecord::new(w.account.sdk_config(), "activity", Duration::days(400));
    let greg = w.org.user("greg@acme.example").clone();
    let event = |id: &str, source: &str, name: &str, at: DateTime<Utc>| ActivityEvent {
        event_id: id.into(),
        event_name: name.into(),
        event_source: source.into(),
        event_time: at,
        actor_user_id: Some(greg.clone()),
        actor_user_name: None,
        role_name: None,
        target_user_id: Some(greg.clone()),
        error_code: None,
        account_id: None,
        region: None,
        target_account_id: None,
    };
    let signed_in = now - Duration::days(120);
    let entries: Vec<_> = [
        event(
            "ev-old",
            "signin.amazonaws.com",
            "UserAuthentication",
            now - Duration::days(300),
        ),
        event("ev-greg", "signin.amazonaws.com", "UserAuthentication", signed_in),
        // A SCIM write newer than the sign-in is not a sign-in.
        event(
            "ev-scim",
            "identitystore-scim.amazonaws.com",
            "PatchUser",
            now - Duration::days(10),
        ),
    ]
    .iter()
    .map(|e| shared::domain::activity_record::record_entry(e).expect("an entry the record keeps"))
    .collect();
    record.append(&entries).await.expect("appended");
    let reaches_back = record.reaches_back_to().await.expect("read").expect("set");

    let World {
        account,
        ports,
        config,
        queue_url,
        gates,
        ..
    } = w;
    let ports = AccessReviewPorts {
        directory: ports.directory,
        identity_center: ports.identity_center,
        activity: RecordFirst {
            record: Some(record),
            cloudtrail: CloudTrailActivityLog::gated(account.sdk_config(), &gates),
        },
        notifier: ports.notifier,
        state: ports.state,
        reports: ports.reports,
        verdicts: ports.verdicts,
    };
    let report = ports
        .handle(&config, ReviewKind::Quarterly, now)
        .await
        .expect("a review run");
    drain(&account, &queue_url).await;

    let inactive = report
        .findings
        .iter()
        .find(|f| f.finding.rule == Rule::InactiveUser)
        .map(|f| &f.finding)
        .expect("greg: 120 days is still past the 90-day limit");
    assert!(inactive.title.contains("120 days"), "{}", inactive.title);
    let lines: Vec<&str> = inactive.evidence.iter().map(|e| e.observation.as_str()).collect();
    assert!(
        lines.iter().any(|l| l.contains("read from activity-record")),
        "{lines:#?}"
    );
    assert!(
        lines
            .iter()
            .any(|l| l.contains(&format!("activity record since {}", reaches_back.to_rfc3339()))),
        "{lines:#?}"
    );
    let gregs: Vec<_> = report.access.iter().filter(|r| *r.idc_user_id == greg).collect();
    assert!(!gregs.is_empty());
    for row in gregs {
        assert_eq!(
            row.last_sign_in.map(|t| t.timestamp()),
            Some(signed_in.timestamp()),
            "{row:?}"
        );
        assert_eq!(row.last_sign_in_source, Some("activity-record"), "{row:?}");
    }
}

/// Okta SUSPENDED keeps the app assignment, so SCIM leaves the person ENABLED in Identity Center (moto's seeded
/// users are ENABLED): the review says so as `suspended-still-enabled`, names the person, and publishes it.
#[tokio::test]
async fn a_user_suspended_in_okta_but_enabled_in_identity_center_is_a_finding() {
    let now = Utc::now();
    let world = world_with("review-suspended", now, |okta| {
        let greg = okta
            .users
            .iter_mut()
            .find(|u| u.login.as_str() == "greg@acme.example")
            .expect("greg");
        greg.status = OktaUserStatus::Suspended;
        greg.last_login = Some(now - Duration::days(2));
        greg.status_changed = Some(now - Duration::days(1));
    })
    .await;
    let (report, messages) = world.run(ReviewKind::Quarterly, now).await;

    let suspended: Vec<_> = report
        .findings
        .iter()
        .filter(|f| f.finding.rule == Rule::SuspendedStillEnabled)
        .map(|f| &f.finding)
        .collect();
    assert_eq!(
        suspended.len(),
        1,
        "{:#?}",
        report.findings.iter().map(|f| &f.finding.title).collect::<Vec<_>>()
    );
    let finding = suspended[0];
    assert_eq!(finding.subject.okta_login.as_deref(), Some("greg@acme.example"));
    assert_eq!(
        finding.subject.idc_user_id.as_deref(),
        Some(world.org.user("greg@acme.example").to_string().as_str())
    );
    assert!(
        finding.evidence.iter().any(|e| e.observation.contains("is SUSPENDED")),
        "{:#?}",
        finding.evidence
    );
    assert!(
        finding.evidence.iter().any(|e| e.observation.contains("is ENABLED")),
        "{:#?}",
        finding.evidence
    );
    // The other two are not suspended: alice is active, bob is deactivated (his own rule).
    assert!(rules(&report).contains(&Rule::DeprovisionedUserEnabled));
    assert!(published_rules(&messages).contains(&Rule::SuspendedStillEnabled.as_str().to_owned()));
}

/// The verdict archive in moto S3, read with a smaller cap than the handler's (the test world's way to reach the
/// cap without writing 10,000 verdicts).
struct CappedArchive {
    inner: S3VerdictArchive,
    cap: usize,
}

impl shared::ports::VerdictArchive for CappedArchive {
    async fn record(&self, verdict: &shared::domain::archived_verdict::ArchivedVerdict) -> shared::error::Result<()> {
        self.inner.record(verdict).await
    }

    async fn period(
        &self,
        start: DateTime<Utc>,
        end: DateTime<Utc>,
        max_records: usize,
    ) -> shared::error::Result<shared::ports::ArchivedPeriod> {
        self.inner.period(start, end, max_records.min(self.cap)).await
    }
}

/// A verdict archive read that stops at its cap is in the report (JSON, Markdown, HTML) and in the SNS summary
/// finding, not only in a log line; the CloudTrail read, complete here, says so too.
#[tokio::test]
async fn a_capped_verdict_archive_read_is_in_the_report_and_the_published_summary() {
    use shared::domain::archived_verdict::ArchivedVerdict;
    use shared::domain::review::DeprovisionRecord;
    use shared::ports::VerdictArchive;
    let now = Utc::now();
    let world = world("review-capped", now).await;
    let AccessReviewPorts {
        directory,
        identity_center,
        activity,
        notifier,
        state,
        reports,
        verdicts,
    } = world.ports;
    let archive = CappedArchive {
        inner: verdicts.expect("the world's archive"),
        cap: 2,
    };
    for (n, days_ago) in [(1, 10), (2, 5), (3, 2)] {
        let published = now - Duration::days(days_ago);
        let verdict = ArchivedVerdict {
            episode_id: format!("ep-{n}"),
            verdict_at: published + Duration::minutes(15),
            record: DeprovisionRecord {
                okta_event_id: format!("evt-{n}"),
                event_type: "user.lifecycle.deactivate".into(),
                login: Some(format!("leaver{n}@acme.example")),
                published,
                scim_call_at: None,
                final_state: "DISABLED".into(),
                latency_seconds: Some(60),
                rule: Rule::PropagationVerified.as_str().into(),
                finding_id: shared::domain::FindingId::derive(Rule::PropagationVerified, &Default::default()),
            },
        };
        archive.record(&verdict).await.expect("archived");
    }
    let ports = AccessReviewPorts {
        directory,
        identity_center,
        activity,
        notifier,
        state,
        reports,
        verdicts: archive,
    };
    let report = ports
        .handle(&world.config, ReviewKind::Quarterly, now)
        .await
        .expect("a review run");
    let messages = bodies(&drain(&world.account, &world.queue_url).await);

    assert_eq!(report.deprovisions.len(), 2, "the cap");
    let read = |source: &str| {
        report
            .completeness
            .iter()
            .find(|r| r.source == source)
            .unwrap_or_else(|| panic!("{source} in {:?}", report.completeness))
    };
    let archive_read = read("verdict-archive");
    assert_eq!((archive_read.complete, archive_read.records), (false, 2));
    assert!(read("cloudtrail").complete);

    let s3 = aws_sdk_s3::Client::new(world.account.sdk_config());
    let object = |name: &str| {
        let key = format!("reviews/{}/{name}", report.run_id);
        let s3 = s3.clone();
        let bucket = world.bucket.clone();
        async move {
            let object = s3
                .get_object()
                .bucket(&bucket)
                .key(&key)
                .send()
                .await
                .expect("GetObject");
            String::from_utf8(object.body.collect().await.expect("body").into_bytes().to_vec()).expect("utf-8")
        }
    };
    let stored: ReviewReport = serde_json::from_str(&object("report.json").await).expect("report.json");
    assert_eq!(stored.completeness, report.completeness);
    let markdown = object("report.md").await;
    let line = markdown
        .lines()
        .find(|l| l.starts_with("- Completeness: "))
        .expect("the completeness line");
    assert!(line.contains("INCOMPLETE: verdict-archive: 2 record(s)"), "{line}");
    assert!(
        object("index.html")
            .await
            .contains("<dt>Completeness</dt><dd>INCOMPLETE")
    );

    let summary = messages
        .iter()
        .find(|m| m["rule"] == Rule::AccessReviewSummary.as_str())
        .expect("the summary finding");
    assert!(
        summary["title"].as_str().expect("title").contains("INCOMPLETE"),
        "{summary}"
    );
    let observations: Vec<&str> = summary["evidence"]
        .as_array()
        .expect("evidence")
        .iter()
        .filter_map(|e| e["observation"].as_str())
        .collect();
    assert!(
        observations
            .iter()
            .any(|o| o.starts_with("read verdict-archive: 2 record(s), INCOMPLETE")),
        "{observations:?}"
    );
}
