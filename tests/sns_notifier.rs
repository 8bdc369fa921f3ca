//! `SnsNotifier` publishing to a topic in moto, read back from an SQS queue subscribed to it (raw delivery off,
//! so each SQS body is SNS's envelope: `Message`, `Subject`, `MessageAttributes`).

use chrono::{TimeZone, Utc};
use integration_tests::moto::MotoAccount;
use serde_json::Value;
use shared::aws::SnsNotifier;
use shared::domain::{Evidence, Finding, Rule, Severity, Subject};
use shared::ports::Notifier;

/// SNS's size limit for one message.
const MAX_MESSAGE_BYTES: usize = 262_144;

struct Subscribed {
    notifier: SnsNotifier,
    sqs: aws_sdk_sqs::Client,
    queue_url: String,
}

/// A topic in a fresh account, an SQS queue subscribed to it, and a notifier publishing to the topic.
async fn subscribed_queue() -> (MotoAccount, Subscribed) {
    let account = MotoAccount::new().await;
    let sqs = aws_sdk_sqs::Client::new(account.sdk_config());
    let (topic_arn, queue_url) =
        integration_tests::queues::subscribed_topic(&account, "deprov-audit-findings", "findings-reader", false).await;
    let notifier = SnsNotifier::new(account.sdk_config(), topic_arn);
    (
        account,
        Subscribed {
            notifier,
            sqs,
            queue_url,
        },
    )
}

impl Subscribed {
    /// The SNS envelopes waiting in the queue (expects `count` of them).
    async fn receive(&self, count: usize) -> Vec<Value> {
        let mut envelopes = Vec::new();
        for _ in 0..10 {
            let received = self
                .sqs
                .receive_message()
                .queue_url(&self.queue_url)
                .max_number_of_messages(10)
                .send()
                .await
                .expect("ReceiveMessage");
            for message in received.messages.unwrap_or_default() {
                let body = message.body().expect("a message body");
                envelopes.push(serde_json::from_str(body).expect("an SNS envelope"));
            }
            if envelopes.len() >= count {
                break;
            }
        }
        assert_eq!(envelopes.len(), count, "messages in the queue");
        envelopes
    }
}

fn finding(n: usize, evidence: usize) -> Finding {
    Finding::new(
        Rule::ActivityAfterDeprovision,
        Severity::High,
        format!("user{n}@example.com used AWS after Okta deactivated them"),
        Subject {
            okta_user_id: Some(format!("00u{n:04}EXAMPLE")),
            idc_user_id: Some(format!("94d00cd8-e9e6-4810-b177-{n:012}")),
            ..Subject::default()
        },
        Utc.with_ymd_and_hms(2026, 11, 20, 10, 30, 0).unwrap(),
    )
    .with_evidence((0..evidence).map(|i| {
        Evidence::new(
            "cloudtrail",
            format!("GetRoleCredentials for Developer on 444455556666 ({i:05})"),
        )
        .reference(format!("8f3c1e6b-2a9d-47c5-b4e8-{i:012}"))
        .at(Utc.with_ymd_and_hms(2026, 11, 20, 10, 5, 12).unwrap())
    }))
    .with_remedy("End the user's sessions in the Identity Center console and review what they did.")
}

fn attribute<'a>(envelope: &'a Value, name: &str) -> &'a str {
    assert_eq!(envelope["MessageAttributes"][name]["Type"], "String", "{name}");
    envelope["MessageAttributes"][name]["Value"]
        .as_str()
        .expect("a String attribute value")
}

fn body(envelope: &Value) -> Finding {
    let message = envelope["Message"].as_str().expect("a Message");
    serde_json::from_str(message).expect("the finding JSON")
}

#[tokio::test]
async fn a_published_finding_arrives_with_its_attributes_and_body() {
    let (_account, topic) = subscribed_queue().await;
    let sent = finding(1, 2);
    topic.notifier.publish(std::slice::from_ref(&sent)).await.unwrap();

    let envelopes = topic.receive(1).await;
    let envelope = &envelopes[0];
    assert_eq!(attribute(envelope, "severity"), "high");
    assert_eq!(attribute(envelope, "rule"), "activity-after-deprovision");
    assert_eq!(attribute(envelope, "finding_id"), sent.finding_id.as_str());
    assert_eq!(
        envelope["Subject"],
        "user1@example.com used AWS after Okta deactivated them"
    );
    assert_eq!(body(envelope), sent);
}

#[tokio::test]
async fn twenty_five_findings_go_out_in_three_batches_and_all_arrive() {
    let (account, topic) = subscribed_queue().await;
    let sent: Vec<Finding> = (0..25).map(|n| finding(n, 1)).collect();
    let before = account.sdk_calls();
    topic.notifier.publish(&sent).await.unwrap();
    let calls = account.sdk_calls().since(&before);
    assert_eq!((calls.of("PublishBatch"), calls.total()), (3, 3), "{calls:?}");

    let mut received: Vec<String> = topic
        .receive(25)
        .await
        .iter()
        .map(|envelope| attribute(envelope, "finding_id").to_owned())
        .collect();
    let mut expected: Vec<String> = sent.iter().map(|f| f.finding_id.to_string()).collect();
    received.sort();
    expected.sort();
    assert_eq!(received, expected);
}

#[tokio::test]
async fn an_oversized_finding_arrives_with_truncated_evidence() {
    let (_account, topic) = subscribed_queue().await;
    let oversized = finding(7, 4000);
    assert!(serde_json::to_string(&oversized).unwrap().len() > MAX_MESSAGE_BYTES);
    topic
        .notifier
        .publish(&[finding(1, 1), oversized.clone()])
        .await
        .unwrap();

    let envelopes = topic.receive(2).await;
    let arrived = envelopes
        .iter()
        .find(|envelope| attribute(envelope, "finding_id") == oversized.finding_id.as_str())
        .expect("the oversized finding arrived");
    let message = arrived["Message"].as_str().unwrap();
    assert!(message.len() <= MAX_MESSAGE_BYTES, "{} bytes", message.len());
    let delivered = body(arrived);
    assert!(delivered.evidence_truncated);
    assert!(!delivered.evidence.is_empty() && delivered.evidence.len() < oversized.evidence.len());
    assert_eq!(delivered.evidence[..], oversized.evidence[..delivered.evidence.len()]);
    assert_eq!(delivered.finding_id, oversized.finding_id);
}
