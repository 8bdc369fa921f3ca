//! identity-center-watch: every `events/identity-center-watch/` file through the handler as the SQS event source
//! delivers it (EventBridge's event as the message body), findings published to SNS in moto and read back from a
//! subscribed SQS queue; a burst of SCIM errors; a publish failure; arbitrary JSON in `detail`.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use integration_tests::moto::MotoAccount;
use integration_tests::queues;
use serde_json::{Value, json};
use shared::aws::{DynamoDbActivityRecord, SnsNotifier};
use shared::domain::{Finding, Rule, WatchEvent};
use shared::handlers::identity_center_watch::{IdentityCenterWatch, ReadEvent, read_event};
use shared::in_memory::{RecordingMetrics, RecordingNotifier};
use shared::ports::Notifier;
use shared::rules::identity_center_events::{WatchPolicy, evaluate};

/// The privileged set of the samples (Operations, AdministratorAccess).
const OPERATIONS_ARN: &str = "arn:aws:sso:::permissionSet/ssoins-72237d3f8a1e9c04/ps-5e3c1a7b9d2f4e60";

/// Each sample and the rules it must raise, nothing more. Every file in the folder must be listed.
const EXPECTED: [(&str, &[Rule]); 15] = [
    ("direct-user-assignment.json", &[Rule::DirectUserAssignment]),
    (
        "privileged-group-assignment.json",
        &[Rule::PrivilegedPermissionSetAssigned],
    ),
    (
        "permission-set-session-too-long.json",
        &[Rule::PermissionSetSessionTooLong],
    ),
    ("identitystore-update-user.json", &[Rule::ManualIdentityChange]),
    ("sso-directory-add-member-to-group.json", &[Rule::ManualIdentityChange]),
    ("scim-patch-user-failed.json", &[Rule::ScimError]),
    ("identity-source-changed.json", &[Rule::IdentitySourceChanged]),
    ("health-scim-token-expiry.json", &[Rule::ScimTokenExpiring]),
    ("benign-scim-patch-user.json", &[]),
    ("benign-portal-get-role-credentials.json", &[]),
    ("benign-signin-user-authentication.json", &[]),
    ("benign-group-assignment.json", &[]),
    ("benign-create-permission-set.json", &[]),
    ("benign-identitystore-describe-user.json", &[]),
    ("benign-identitystore-user-updated-notification.json", &[]),
];

fn no_record() -> Option<DynamoDbActivityRecord> {
    None
}

fn events_dir() -> String {
    format!("{}/../events/identity-center-watch", env!("CARGO_MANIFEST_DIR"))
}

fn sample(name: &str) -> Value {
    let path = format!("{}/{name}", events_dir());
    serde_json::from_str(&std::fs::read_to_string(&path).expect("the sample")).expect("sample JSON")
}

fn now() -> DateTime<Utc> {
    "2026-12-02T00:05:00Z".parse().expect("a time")
}

fn policy() -> WatchPolicy {
    WatchPolicy {
        privileged_permission_sets: [OPERATIONS_ARN.to_owned()].into(),
        ..WatchPolicy::default()
    }
}

/// An SQS event as the Lambda event source hands it over: one record per EventBridge event, the event as body.
fn sqs_batch(bodies: &[Value]) -> Value {
    let records: Vec<Value> = bodies
        .iter()
        .enumerate()
        .map(|(i, body)| {
            json!({
                "messageId": format!("m-{i}"),
                "receiptHandle": format!("r-{i}"),
                "body": body.to_string(),
                "attributes": {},
                "messageAttributes": {},
                "md5OfBody": "",
                "eventSource": "aws:sqs",
                "eventSourceARN": "arn:aws:sqs:us-east-1:111122223333:identity-center-watch",
                "awsRegion": "us-east-1",
            })
        })
        .collect();
    json!({ "Records": records })
}

fn failed_ids(response: &Value) -> Vec<String> {
    response["batchItemFailures"]
        .as_array()
        .expect("a batch response")
        .iter()
        .map(|f| f["itemIdentifier"].as_str().expect("an id").to_owned())
        .collect()
}

struct Topic {
    account: MotoAccount,
    topic_arn: String,
    reader_url: String,
}

/// A findings topic in a fresh moto account with an SQS queue subscribed to it (SNS envelopes, not raw).
async fn findings_topic() -> Topic {
    let account = MotoAccount::new().await;
    let (topic_arn, reader_url) =
        queues::subscribed_topic(&account, "deprov-audit-findings", "findings-reader", false).await;
    Topic {
        account,
        topic_arn,
        reader_url,
    }
}

impl Topic {
    fn watch(&self) -> IdentityCenterWatch<SnsNotifier, RecordingMetrics, Option<DynamoDbActivityRecord>> {
        IdentityCenterWatch {
            notifier: SnsNotifier::new(self.account.sdk_config(), self.topic_arn.clone()),
            metrics: RecordingMetrics::default(),
            record: no_record(),
            policy: policy(),
        }
    }

    /// The findings published since the last read, with the `rule` message attribute subscribers filter on.
    async fn published(&self) -> Vec<(Finding, String)> {
        queues::bodies(&queues::drain(&self.account, &self.reader_url).await)
            .iter()
            .map(|envelope| {
                let finding = serde_json::from_str(envelope["Message"].as_str().expect("a Message"))
                    .expect("a finding in the message");
                let rule = envelope["MessageAttributes"]["rule"]["Value"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned();
                (finding, rule)
            })
            .collect()
    }
}

#[tokio::test]
async fn every_sample_raises_exactly_its_rules_on_the_findings_topic() {
    let mut on_disk: Vec<String> = std::fs::read_dir(events_dir())
        .expect("the events folder")
        .map(|entry| entry.expect("an entry").file_name().to_string_lossy().into_owned())
        .filter(|name| name.ends_with(".json"))
        .collect();
    on_disk.sort();
    let mut listed: Vec<String> = EXPECTED.iter().map(|(name, _)| (*name).to_owned()).collect();
    listed.sort();
    assert_eq!(on_disk, listed, "every sample is listed with the rules it raises");

    let topic = findings_topic().await;
    let watch = topic.watch();
    for (name, rules) in EXPECTED {
        let response = watch
            .handle_trigger(sqs_batch(&[sample(name)]), now())
            .await
            .expect("a batch response");
        assert!(failed_ids(&response).is_empty(), "{name}: {response}");
        let published = topic.published().await;
        let mut got: Vec<Rule> = published.iter().map(|(f, _)| f.rule).collect();
        got.sort();
        let mut want = rules.to_vec();
        want.sort();
        assert_eq!(got, want, "{name}");
        for (finding, rule_attribute) in &published {
            assert_eq!(rule_attribute, finding.rule.as_str(), "{name}");
            assert!(!finding.remedy.is_empty(), "{name}: a remedy");
            assert!(!finding.evidence.is_empty(), "{name}: evidence");
        }
    }
    // A shape the watch does not read (the native notification) was counted, by reason; each SCIM call was counted
    // (the metric of the SCIM-silence alarm), one point per batch here.
    let lines = watch.metrics.lines();
    let unrecognised: Vec<&String> = lines.iter().filter(|l| l.contains("WatchEventsUnrecognised")).collect();
    assert_eq!(unrecognised.len(), 1, "{lines:?}");
    let scim: Vec<serde_json::Value> = lines
        .iter()
        .filter(|l| l.contains("ScimEvents"))
        .map(|l| serde_json::from_str(l).expect("EMF JSON"))
        .collect();
    let scim_samples = EXPECTED
        .iter()
        .filter(|(name, _)| sample(name).to_string().contains("identitystore-scim"))
        .count();
    assert!(scim_samples >= 2, "the samples hold SCIM calls");
    assert_eq!(scim.len(), scim_samples, "{lines:?}");
    assert!(scim.iter().all(|l| l["ScimEvents"] == 1), "{scim:?}");
    assert_eq!(lines.len(), 1 + scim_samples, "{lines:?}");
}

#[tokio::test]
async fn findings_carry_what_the_event_said() {
    let policy = policy();
    let judge = |name: &str| {
        let ReadEvent::Event(event) = read_event(&sample(name)) else {
            panic!("{name} is not read");
        };
        evaluate(&event, &policy, now())
    };
    let direct = &judge("direct-user-assignment.json")[0];
    assert_eq!(
        direct.subject.idc_user_id.as_deref(),
        Some("94d00cd8-e9e6-4810-b177-b08e84775435")
    );
    assert_eq!(direct.subject.account_id.as_deref(), Some("444455556666"));
    assert_eq!(
        direct.evidence[0].reference.as_deref(),
        Some("a3e1c5f7-2b4d-4f6a-8c0e-1a3c5e7f9b11")
    );
    let manual = &judge("identitystore-update-user.json")[0];
    assert_eq!(
        manual.subject.idc_user_id.as_deref(),
        Some("906784b8-3081-70c8-a6d0-8d8c3e5f1c01")
    );
    assert!(
        manual.title.contains("assumed-role/IdentityAdmin/jdoe"),
        "{}",
        manual.title
    );
    let console = &judge("sso-directory-add-member-to-group.json")[0];
    assert_eq!(
        console.subject.group_id.as_deref(),
        Some("a4e8d4a8-50e1-7012-ba7c-3f2e1d0c9b8a")
    );
    let session = &judge("permission-set-session-too-long.json")[0];
    assert!(session.title.contains("PT12H"), "{}", session.title);
    let token = &judge("health-scim-token-expiry.json")[0];
    let dates = &token.evidence[0].observation;
    assert!(
        dates.contains("2026-12-02T00:00:00+00:00") && dates.contains("2027-02-28T23:59:59+00:00"),
        "{dates}"
    );
    assert_eq!(
        token.subject.burst_id.as_deref(),
        Some("2026-12-02"),
        "one finding per day's notice"
    );
    // The SCIM failure's identity type is Unknown, the portal call's IdentityCenterUser: both are read.
    for name in ["scim-patch-user-failed.json", "benign-portal-get-role-credentials.json"] {
        assert!(matches!(read_event(&sample(name)), ReadEvent::Event(_)), "{name}");
    }
    let scim = &judge("scim-patch-user-failed.json")[0];
    assert_eq!(
        scim.subject.burst_id.as_deref(),
        Some("ValidationException@2026-11-20T09")
    );
}

/// Copies of the failed SCIM PatchUser, each its own event, minutes apart within one hour.
fn scim_burst(count: usize, first_minute: usize) -> Vec<Value> {
    let failed = sample("scim-patch-user-failed.json");
    (0..count)
        .map(|i| {
            let mut event = failed.clone();
            let minute = first_minute.saturating_add(i) % 60;
            let second = i % 60;
            event["detail"]["eventID"] = json!(format!("7e2a9d41-c35b-4f06-b8e2-{i:012}"));
            event["detail"]["eventTime"] = json!(format!("2026-11-20T09:{minute:02}:{second:02}Z"));
            event["detail"]["requestParameters"]["id"] = json!(format!("c4488478-a0e1-700e-3d75-{i:012}"));
            event
        })
        .collect()
}

#[tokio::test]
async fn a_burst_of_fifty_scim_errors_is_one_finding() {
    let topic = findings_topic().await;
    let watch = topic.watch();
    let response = watch
        .handle_trigger(sqs_batch(&scim_burst(50, 0)), now())
        .await
        .expect("a batch response");
    assert!(failed_ids(&response).is_empty(), "{response}");
    let published = topic.published().await;
    assert_eq!(published.len(), 1, "one finding for the burst");
    let (finding, _) = &published[0];
    assert_eq!(finding.rule, Rule::ScimError);
    assert!(finding.title.ends_with("(50 events)"), "{}", finding.title);
    assert!(finding.evidence_truncated);

    // The same burst going on in a later batch is the same finding (same id): subscribers collapse it.
    watch
        .handle_trigger(sqs_batch(&scim_burst(10, 50)), now())
        .await
        .expect("a batch response");
    let later = topic.published().await;
    assert_eq!(later.len(), 1);
    assert_eq!(later[0].0.finding_id, finding.finding_id);
}

/// A notifier that always fails, as SNS does when the topic is gone or the role lacks sns:Publish.
#[derive(Debug)]
struct FailingNotifier;

impl Notifier for FailingNotifier {
    async fn publish(&self, _findings: &[Finding]) -> shared::Result<()> {
        Err(shared::Error::config("FINDINGS_TOPIC_ARN", "names no topic (test)"))
    }
}

#[tokio::test]
async fn messages_whose_findings_were_not_published_are_redelivered_and_the_rest_are_not() {
    let watch = IdentityCenterWatch {
        notifier: FailingNotifier,
        metrics: RecordingMetrics::default(),
        record: no_record(),
        policy: policy(),
    };
    let bodies = [
        sample("benign-scim-patch-user.json"),
        sample("direct-user-assignment.json"),
        json!("not an EventBridge event"),
        sample("scim-patch-user-failed.json"),
    ];
    let response = watch
        .handle_trigger(sqs_batch(&bodies), now())
        .await
        .expect("a batch response");
    assert_eq!(failed_ids(&response), ["m-1", "m-3"]);

    let recording = IdentityCenterWatch {
        notifier: RecordingNotifier::default(),
        metrics: RecordingMetrics::default(),
        record: no_record(),
        policy: policy(),
    };
    let response = recording
        .handle_trigger(sqs_batch(&bodies), now())
        .await
        .expect("a batch response");
    assert!(failed_ids(&response).is_empty(), "{response}");
    assert_eq!(recording.notifier.findings().len(), 2);
    let body_not_json = json!({"Records": [{"messageId": "m-x", "body": "{not json"}]});
    let response = recording
        .handle_trigger(body_not_json, now())
        .await
        .expect("a response");
    assert!(
        failed_ids(&response).is_empty(),
        "a body that can never parse is not retried"
    );
    let lines = recording.metrics.lines();
    let unreadable = lines.iter().filter(|l| l.contains("WatchEventsUnrecognised")).count();
    assert_eq!(unreadable, 2, "both unreadable messages counted: {lines:?}");
    // The first batch's two SCIM calls, one data point for the batch (the SCIM-silence alarm's metric).
    let scim: Vec<serde_json::Value> = lines
        .iter()
        .filter(|l| l.contains("ScimEvents"))
        .map(|l| serde_json::from_str(l).expect("EMF JSON"))
        .collect();
    assert_eq!(scim.len(), 1, "{lines:?}");
    assert_eq!(scim[0]["ScimEvents"], 2, "{lines:?}");
}

/// A small xorshift generator: deterministic, so a failing case can be replayed from its seed.
struct Gen(u64);

impl Gen {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }

    /// Strings that matter to the reader: field values it compares, durations, times, ids, junk.
    fn string(&mut self) -> String {
        const WORDS: [&str; 24] = [
            "CreateAccountAssignment",
            "UpdatePermissionSet",
            "CreatePermissionSet",
            "AddMemberToGroup",
            "DisableExternalIdPConfigurationForDirectory",
            "PatchUser",
            "sso.amazonaws.com",
            "identitystore.amazonaws.com",
            "sso-directory.amazonaws.com",
            "identitystore-scim.amazonaws.com",
            "USER",
            "GROUP",
            "PT12H",
            "PT9999999999999999H",
            "PT",
            "P1D",
            "2026-11-20T09:14:07Z",
            "Wed, 02 Dec 2026 00:00:00 GMT",
            "94d00cd8-e9e6-4810-b177-b08e84775435",
            "arn:aws:sso:::permissionSet/ssoins-72237d3f8a1e9c04/ps-5e3c1a7b9d2f4e60",
            "AWS_IAMIDENTITYCENTER_SCIM_BEARER_TOKEN_EXPIRY_NOTIFICATION",
            "",
            "\u{0}\u{ffff}é",
            "ValidationException",
        ];
        WORDS[self.below(WORDS.len() as u64) as usize].to_owned()
    }

    fn value(&mut self, depth: u32) -> Value {
        match self.below(if depth == 0 { 5 } else { 7 }) {
            0 => Value::Null,
            1 => json!(self.below(2) == 0),
            2 => json!(self.next() as i64),
            3 => json!(f64::from(self.below(1000) as u32) / 7.0),
            4 => json!(self.string()),
            5 => Value::Array((0..self.below(4)).map(|_| self.value(depth - 1)).collect()),
            _ => {
                let keys = [
                    "eventID",
                    "eventName",
                    "eventSource",
                    "eventTime",
                    "errorCode",
                    "userIdentity",
                    "requestParameters",
                    "responseElements",
                    "principalType",
                    "sessionDuration",
                    "recipientAccountId",
                    "type",
                    "arn",
                    "eventTypeCode",
                    "startTime",
                ];
                let map: serde_json::Map<String, Value> = (0..self.below(6))
                    .map(|_| {
                        let key = keys[self.below(keys.len() as u64) as usize].to_owned();
                        (key, self.value(depth - 1))
                    })
                    .collect();
                Value::Object(map)
            }
        }
    }

    /// Replaces one value somewhere in `value` (or the value itself) with a generated one.
    fn mutate(&mut self, value: &mut Value, depth: u32) {
        let replace_here = depth == 0 || self.below(4) == 0;
        match value {
            Value::Object(map) if !replace_here && !map.is_empty() => {
                let index = self.below(map.len() as u64) as usize;
                if let Some((_, child)) = map.iter_mut().nth(index) {
                    self.mutate(child, depth - 1);
                }
            }
            Value::Array(items) if !replace_here && !items.is_empty() => {
                let index = self.below(items.len() as u64) as usize;
                self.mutate(&mut items[index], depth - 1);
            }
            _ => *value = self.value(3),
        }
    }
}

/// The `detail` fields the reader looks at.
const FIELDS: [&str; 12] = [
    "/eventID",
    "/eventName",
    "/eventSource",
    "/eventTime",
    "/errorCode",
    "/userIdentity",
    "/requestParameters",
    "/requestParameters/sessionDuration",
    "/requestParameters/principalType",
    "/requestParameters/permissionSetArn",
    "/eventTypeCode",
    "/startTime",
];

#[test]
fn arbitrary_json_in_detail_never_panics() {
    let samples: Vec<Value> = EXPECTED.iter().map(|(name, _)| sample(name)).collect();
    let policy = policy();
    let mut generator = Gen(0x9E37_79B9_7F4A_7C15);
    let mut read = BTreeMap::<&str, usize>::new();
    for case in 0..20_000 {
        let mut envelope = samples[case % samples.len()].clone();
        if case % 3 == 0 {
            envelope["detail"] = generator.value(4);
        } else if case % 3 == 1 {
            // A field the reader compares, set to something else (a string it knows, or any value).
            for _ in 0..=generator.below(3) {
                let field = FIELDS[generator.below(FIELDS.len() as u64) as usize];
                let value = if generator.below(2) == 0 {
                    json!(generator.string())
                } else {
                    generator.value(2)
                };
                if let Some(slot) = envelope["detail"].pointer_mut(field) {
                    *slot = value;
                } else if let Some(object) = envelope["detail"].as_object_mut() {
                    object.insert(field.trim_start_matches('/').replace('/', "."), value);
                }
            }
        } else {
            for _ in 0..=generator.below(3) {
                generator.mutate(&mut envelope["detail"], 6);
            }
        }
        match read_event(&envelope) {
            ReadEvent::Event(event) => {
                let _ = evaluate(&event, &policy, now());
                *read
                    .entry(match event {
                        WatchEvent::ApiCall(_) => "api-call",
                        WatchEvent::ScimTokenExpiry(_) => "health",
                    })
                    .or_default() += 1;
            }
            ReadEvent::Unrecognised(_) => *read.entry("unrecognised").or_default() += 1,
        }
    }
    // The generator reaches both sides: mutated events still read, and shapes that are not events.
    assert!(read.get("api-call").copied().unwrap_or_default() > 100, "{read:?}");
    assert!(read.get("unrecognised").copied().unwrap_or_default() > 100, "{read:?}");
}

#[tokio::test]
async fn scim_writes_sign_ins_and_role_credentials_are_recorded_per_user() {
    use shared::domain::activity_record::RecordKey;
    use shared::ports::ActivityRecord;

    let account = MotoAccount::new().await;
    integration_tests::ledger::activity_table(&account, "activity").await;
    let record = DynamoDbActivityRecord::new(account.sdk_config(), "activity", chrono::Duration::days(400));
    let watch = IdentityCenterWatch {
        notifier: RecordingNotifier::default(),
        metrics: RecordingMetrics::default(),
        record: Some(record.clone()),
        policy: policy(),
    };
    assert_eq!(
        record.reaches_back_to().await.expect("a read"),
        None,
        "nothing appended yet"
    );
    let bodies: Vec<Value> = [
        "benign-scim-patch-user.json",
        "scim-patch-user-failed.json",
        "benign-portal-get-role-credentials.json",
        "benign-signin-user-authentication.json",
        "direct-user-assignment.json",
        "identitystore-update-user.json",
    ]
    .iter()
    .map(|name| sample(name))
    .collect();
    // Delivered twice (SQS is at-least-once): the record holds each event once.
    for _ in 0..2 {
        let response = watch
            .handle_trigger(sqs_batch(&bodies), now())
            .await
            .expect("a batch response");
        assert!(failed_ids(&response).is_empty(), "{response}");
    }
    let start: DateTime<Utc> = "2026-11-20T00:00:00Z".parse().expect("a time");
    let scim_user = RecordKey::UserId("c4488478-a0e1-700e-3d75-96c6bb641596".into());
    let read = record.since(&scim_user, start, 100).await.expect("a read");
    assert!(read.complete);
    let names: Vec<(&str, Option<&str>)> = read
        .events
        .iter()
        .map(|e| (e.event_name.as_str(), e.error_code.as_deref()))
        .collect();
    assert_eq!(
        names,
        [("PatchUser", None), ("PatchUser", Some("ValidationException"))],
        "oldest first, the failure kept"
    );
    let portal_user = RecordKey::UserId("94d00cd8-e9e6-4810-b177-b08e84775435".into());
    let read = record.since(&portal_user, start, 100).await.expect("a read");
    assert_eq!(
        read.events.iter().map(|e| e.event_name.as_str()).collect::<Vec<_>>(),
        ["GetRoleCredentials"]
    );
    let signed_in = RecordKey::UserName("Alice@Example.com".into());
    let read = record.since(&signed_in, start, 100).await.expect("a read");
    assert_eq!(
        read.events.iter().map(|e| e.event_name.as_str()).collect::<Vec<_>>(),
        ["UserAuthentication"]
    );
    // The first batch's oldest entry is how far back the record reaches; later batches do not move it.
    let later_batch = sqs_batch(&scim_burst(3, 40));
    watch
        .handle_trigger(later_batch, now())
        .await
        .expect("a batch response");
    assert_eq!(
        record.reaches_back_to().await.expect("a read"),
        Some("2026-11-20T09:14:07Z".parse().expect("a time"))
    );
    // Identity-store edits are findings, not record entries.
    let edited = RecordKey::UserId("906784b8-3081-70c8-a6d0-8d8c3e5f1c01".into());
    assert!(
        record
            .since(&edited, start, 100)
            .await
            .expect("a read")
            .events
            .is_empty()
    );
    // From a later time on, and capped.
    let later: DateTime<Utc> = "2026-11-20T09:15:00Z".parse().expect("a time");
    let read = record.since(&scim_user, later, 100).await.expect("a read");
    assert_eq!(read.events.len(), 1);
    let capped = record.since(&scim_user, start, 1).await.expect("a read");
    assert_eq!(capped.events.len(), 1);
    assert!(!capped.complete, "a capped read says so");
}

#[tokio::test]
async fn a_record_that_cannot_be_written_sends_its_messages_back() {
    let account = MotoAccount::new().await;
    // No such table.
    let watch = IdentityCenterWatch {
        notifier: RecordingNotifier::default(),
        metrics: RecordingMetrics::default(),
        record: Some(DynamoDbActivityRecord::new(
            account.sdk_config(),
            "missing",
            chrono::Duration::days(400),
        )),
        policy: policy(),
    };
    let bodies = [
        sample("benign-scim-patch-user.json"),
        sample("benign-group-assignment.json"),
    ];
    let response = watch
        .handle_trigger(sqs_batch(&bodies), now())
        .await
        .expect("a batch response");
    assert_eq!(failed_ids(&response), ["m-0"]);
}

/// The real `identity-center-watch` binary, configured by environment like the deployed function, answering an
/// SQS batch through the Lambda runtime API: its finding lands on the topic, its SCIM write in the record.
#[tokio::test]
async fn the_built_binary_judges_a_batch_through_the_lambda_runtime_api() {
    use integration_tests::lambda_runtime::{LambdaRuntime, Outcome, spawn_function};
    use shared::domain::activity_record::RecordKey;
    use shared::ports::ActivityRecord;

    let topic = findings_topic().await;
    integration_tests::ledger::activity_table(&topic.account, "activity").await;
    let credentials = topic.account.credentials().await;
    let runtime = LambdaRuntime::start().await;
    let function = spawn_function(
        "identity-center-watch",
        &runtime,
        &[
            ("FINDINGS_TOPIC_ARN", topic.topic_arn.clone()),
            ("PRIVILEGED_PERMISSION_SETS", OPERATIONS_ARN.into()),
            ("ACTIVITY_TABLE_NAME", "activity".into()),
            ("AWS_ENDPOINT_URL", integration_tests::moto::endpoint().into()),
            ("AWS_REGION", "us-east-1".into()),
            ("AWS_ACCESS_KEY_ID", credentials.access_key_id().into()),
            ("AWS_SECRET_ACCESS_KEY", credentials.secret_access_key().into()),
            (
                "AWS_SESSION_TOKEN",
                credentials.session_token().unwrap_or_default().into(),
            ),
        ],
    );
    let batch = sqs_batch(&[
        sample("privileged-group-assignment.json"),
        sample("benign-scim-patch-user.json"),
    ]);
    let Some(Outcome::Response(answer)) = runtime
        .invoke(&batch.to_string(), std::time::Duration::from_secs(30))
        .await
    else {
        panic!("no answer to the batch")
    };
    assert!(failed_ids(&answer).is_empty(), "{answer}");
    let published = topic.published().await;
    assert_eq!(
        published.iter().map(|(f, _)| f.rule).collect::<Vec<_>>(),
        [Rule::PrivilegedPermissionSetAssigned]
    );
    let record = DynamoDbActivityRecord::new(topic.account.sdk_config(), "activity", chrono::Duration::days(400));
    let read = record
        .since(
            &RecordKey::UserId("c4488478-a0e1-700e-3d75-96c6bb641596".into()),
            "2026-11-20T00:00:00Z".parse().expect("a time"),
            10,
        )
        .await
        .expect("a read");
    assert_eq!(read.events.len(), 1);

    // Every other sample (they name people: alice@example.com, jdoe@acme.example, …), plus the failure paths: a
    // body that is not JSON and one that is no CloudTrail event, each holding a login.
    let mut bodies: Vec<Value> = std::fs::read_dir(events_dir())
        .expect("the samples")
        .filter_map(|entry| entry.ok().map(|e| e.file_name().to_string_lossy().into_owned()))
        .filter(|name| name.ends_with(".json"))
        .map(|name| sample(&name))
        .collect();
    assert!(bodies.len() >= 10, "the samples were read");
    let odd = bodies.len();
    bodies.push(json!("{\"detail\": canary.watch@acme.example"));
    bodies.push(json!({"detail": {"userName": "canary.watch@acme.example"}, "source": 7}));
    let mut batch = sqs_batch(&bodies);
    // The not-JSON body as the raw text SQS would carry.
    batch["Records"][odd]["body"] = json!("{\"detail\": canary.watch@acme.example");
    let outcome = runtime
        .invoke(&batch.to_string(), std::time::Duration::from_secs(30))
        .await;
    let Some(Outcome::Response(answer)) = outcome else {
        panic!("no answer to the batch of samples: {outcome:?}")
    };
    let output = function.finish().await;
    let lines = integration_tests::log_check::LogCheck::new()
        .forbid("a login's local part", "canary.watch")
        .forbid("a sample's login", "jdoe")
        .assert_clean("identity-center-watch", &output);
    assert!(lines > 0, "the check read the output");
    eprintln!("identity-center-watch output ({lines} lines), {answer}:\n{output}");
}

/// The `scim-silent` heartbeat over moto: the watch records a SCIM call (the record's meta item), the checker's
/// ledger holds a deprovision waiting for its own; silent for the threshold → one finding on SNS, read back; the
/// next sweeps of the same stretch publish nothing; a SCIM call recorded afterwards answers it (no finding, and
/// the waiting deprovision is forgotten).
#[tokio::test]
async fn a_silent_scim_channel_pages_once_and_a_scim_call_ends_it() {
    use shared::aws::RecordFirst;
    use shared::handlers::propagation_check::scim_heartbeat;
    use shared::in_memory::FakeActivityLog;
    use shared::ports::VerdictLedger;

    let topic = findings_topic().await;
    integration_tests::ledger::activity_table(&topic.account, "activity").await;
    let ledger = integration_tests::ledger::verdict_ledger(&topic.account, "verdicts").await;
    let record = DynamoDbActivityRecord::new(topic.account.sdk_config(), "activity", chrono::Duration::days(400));
    let watch = IdentityCenterWatch {
        record: Some(record.clone()),
        ..topic.watch()
    };
    let activity = RecordFirst {
        record: Some(record),
        cloudtrail: FakeActivityLog::default(),
    };
    let at = |t: &str| -> DateTime<Utc> { t.parse().expect("a time") };
    let four_hours = chrono::Duration::hours(4);
    // The last SCIM call the watch sees: 09:14:07.
    let response = watch
        .handle_trigger(sqs_batch(&[sample("benign-scim-patch-user.json")]), now())
        .await
        .expect("a batch response");
    assert!(failed_ids(&response).is_empty(), "{response}");
    let keep = at("2027-01-01T00:00:00Z");
    // A deprovision at 10:00 still without its SCIM call; one at 09:00 was followed by the 09:14 call.
    ledger
        .await_scim("episode-bob", at("2026-11-20T10:00:00Z"), keep)
        .await
        .expect("noted");
    ledger
        .await_scim("episode-old", at("2026-11-20T09:00:00Z"), keep)
        .await
        .expect("noted");

    let before = scim_heartbeat(
        &activity,
        &ledger,
        &topic.watch().notifier,
        four_hours,
        at("2026-11-20T13:59:00Z"),
    )
    .await
    .expect("a heartbeat");
    assert!(before.is_none(), "not silent for four hours yet");
    assert_eq!(
        ledger.awaiting_scim().await.expect("a read"),
        [("episode-bob".to_owned(), at("2026-11-20T10:00:00Z"))],
        "the deprovision the 09:14 call followed is forgotten"
    );
    let paged = scim_heartbeat(
        &activity,
        &ledger,
        &topic.watch().notifier,
        four_hours,
        at("2026-11-20T14:00:00Z"),
    )
    .await
    .expect("a heartbeat")
    .expect("silent for four hours");
    let published = topic.published().await;
    assert_eq!(published.len(), 1, "{published:?}");
    assert_eq!(published[0].1, "scim-silent");
    assert_eq!(published[0].0.finding_id, paged.finding_id);
    assert!(
        published[0]
            .0
            .evidence
            .iter()
            .any(|e| e.observation.contains("2026-11-20T09:14:07")),
        "{:?}",
        published[0].0.evidence
    );
    // The 15-minute sweeps that follow see the same stretch: no second page.
    for minutes in [15, 30, 45] {
        let again = scim_heartbeat(
            &activity,
            &ledger,
            &topic.watch().notifier,
            four_hours,
            at("2026-11-20T14:00:00Z") + chrono::Duration::minutes(minutes),
        )
        .await
        .expect("a heartbeat");
        assert!(again.is_none(), "published once per stretch");
    }
    assert!(topic.published().await.is_empty(), "no duplicate page");

    // SCIM speaks again (a SCIM call at 15:10): the stretch is over, the waiting deprovision answered.
    let mut later = sample("benign-scim-patch-user.json");
    later["detail"]["eventID"] = json!("0b7f3c2e-5d41-4a8e-9c6b-2f1e0d9a8b7c");
    later["detail"]["eventTime"] = json!("2026-11-20T15:10:00Z");
    watch
        .handle_trigger(sqs_batch(&[later]), now())
        .await
        .expect("a batch response");
    let after = scim_heartbeat(
        &activity,
        &ledger,
        &topic.watch().notifier,
        four_hours,
        at("2026-11-20T20:00:00Z"),
    )
    .await
    .expect("a heartbeat");
    assert!(after.is_none());
    assert!(ledger.awaiting_scim().await.expect("a read").is_empty());
    assert!(topic.published().await.is_empty());
}
