//! SQS in moto: queues for verification jobs, and reading back what landed on them.

use aws_sdk_sqs::types::{Message, QueueAttributeName};
use serde_json::Value;

use crate::moto::MotoAccount;

/// A fresh queue in the account; answers its URL.
pub async fn create_queue(account: &MotoAccount, name: &str) -> String {
    aws_sdk_sqs::Client::new(account.sdk_config())
        .create_queue()
        .queue_name(name)
        .send()
        .await
        .expect("CreateQueue")
        .queue_url
        .expect("a queue URL")
}

/// A findings topic in the account with a fresh queue subscribed to it: answers (topic ARN, queue URL). `raw`:
/// the queue gets the message body itself rather than SNS's envelope.
pub async fn subscribed_topic(account: &MotoAccount, topic: &str, queue: &str, raw: bool) -> (String, String) {
    let sns = aws_sdk_sns::Client::new(account.sdk_config());
    let topic_arn = sns
        .create_topic()
        .name(topic)
        .send()
        .await
        .expect("CreateTopic")
        .topic_arn
        .expect("a topic ARN");
    let queue_url = create_queue(account, queue).await;
    let queue_arn = aws_sdk_sqs::Client::new(account.sdk_config())
        .get_queue_attributes()
        .queue_url(&queue_url)
        .attribute_names(QueueAttributeName::QueueArn)
        .send()
        .await
        .expect("GetQueueAttributes")
        .attributes
        .and_then(|mut attributes| attributes.remove(&QueueAttributeName::QueueArn))
        .expect("the queue ARN");
    let mut subscribe = sns
        .subscribe()
        .topic_arn(&topic_arn)
        .protocol("sqs")
        .endpoint(queue_arn);
    if raw {
        subscribe = subscribe.attributes("RawMessageDelivery", "true");
    }
    subscribe.send().await.expect("Subscribe");
    (topic_arn, queue_url)
}

/// Every message visible now (several receives, up to 10 each), deleted as read.
pub async fn drain(account: &MotoAccount, queue_url: &str) -> Vec<Message> {
    let sqs = aws_sdk_sqs::Client::new(account.sdk_config());
    let mut all = Vec::new();
    loop {
        let received = sqs
            .receive_message()
            .queue_url(queue_url)
            .max_number_of_messages(10)
            .message_system_attribute_names(aws_sdk_sqs::types::MessageSystemAttributeName::All)
            .send()
            .await
            .expect("ReceiveMessage");
        let messages = received.messages.unwrap_or_default();
        if messages.is_empty() {
            return all;
        }
        for message in &messages {
            if let Some(handle) = message.receipt_handle() {
                sqs.delete_message()
                    .queue_url(queue_url)
                    .receipt_handle(handle)
                    .send()
                    .await
                    .expect("DeleteMessage");
            }
        }
        all.extend(messages);
    }
}

/// The message bodies, as JSON.
pub fn bodies(messages: &[Message]) -> Vec<Value> {
    messages
        .iter()
        .map(|m| serde_json::from_str(m.body().expect("a body")).expect("a JSON body"))
        .collect()
}

/// Messages on the queue, visible or still delayed.
pub async fn count_all(account: &MotoAccount, queue_url: &str) -> usize {
    let attributes = aws_sdk_sqs::Client::new(account.sdk_config())
        .get_queue_attributes()
        .queue_url(queue_url)
        .attribute_names(QueueAttributeName::ApproximateNumberOfMessages)
        .attribute_names(QueueAttributeName::ApproximateNumberOfMessagesDelayed)
        .attribute_names(QueueAttributeName::ApproximateNumberOfMessagesNotVisible)
        .send()
        .await
        .expect("GetQueueAttributes")
        .attributes
        .unwrap_or_default();
    attributes.values().map(|v| v.parse::<usize>().unwrap_or(0)).sum()
}

/// What Lambda's SQS event source mapping does for one invocation, against a queue in moto: receive up to `max`
/// visible messages and hand them over as the SQS event a function gets (`Records`, with each message's id and
/// receipt handle); then `EventSourceMapping::settle` deletes every message not named in the function's batch
/// response (`batchItemFailures`), so those come back after the visibility timeout, as on AWS.
#[derive(Debug)]
pub struct EventSourceMapping {
    sqs: aws_sdk_sqs::Client,
    queue_url: String,
}

/// One invocation's batch: the event, and the messages it holds (id, receipt handle).
#[derive(Debug)]
pub struct Batch {
    pub event: Value,
    pub messages: Vec<(String, String)>,
}

impl EventSourceMapping {
    pub fn new(account: &MotoAccount, queue_url: &str) -> Self {
        Self {
            sqs: aws_sdk_sqs::Client::new(account.sdk_config()),
            queue_url: queue_url.to_owned(),
        }
    }

    /// The next batch, or `None` when no message is visible now.
    pub async fn receive(&self, max: i32) -> Option<Batch> {
        let received = self
            .sqs
            .receive_message()
            .queue_url(&self.queue_url)
            .max_number_of_messages(max)
            .message_system_attribute_names(aws_sdk_sqs::types::MessageSystemAttributeName::All)
            .send()
            .await
            .expect("ReceiveMessage");
        let messages = received.messages.unwrap_or_default();
        if messages.is_empty() {
            return None;
        }
        let records: Vec<Value> = messages
            .iter()
            .map(|m| {
                serde_json::json!({
                    "messageId": m.message_id(),
                    "receiptHandle": m.receipt_handle(),
                    "body": m.body(),
                    "attributes": m.attributes().map(|a| a.iter()
                        .map(|(k, v)| (k.as_str().to_owned(), Value::from(v.as_str())))
                        .collect::<serde_json::Map<_, _>>()).unwrap_or_default(),
                    "messageAttributes": {},
                    "md5OfBody": m.md5_of_body(),
                    "eventSource": "aws:sqs",
                    "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:verify",
                    "awsRegion": "us-east-1",
                })
            })
            .collect();
        Some(Batch {
            event: serde_json::json!({ "Records": records }),
            messages: messages
                .iter()
                .map(|m| {
                    (
                        m.message_id().unwrap_or_default().to_owned(),
                        m.receipt_handle().unwrap_or_default().to_owned(),
                    )
                })
                .collect(),
        })
    }

    /// After the function answered `response` for `batch`: deletes the messages it did not fail; answers the ids of
    /// those it failed (left on the queue for redelivery). A delete SQS refuses (the message's visibility timeout
    /// ran out mid-batch and another receive took it) leaves the message to that receive, as on AWS.
    pub async fn settle(&self, batch: &Batch, response: &Value) -> Vec<String> {
        let failed: Vec<String> = response["batchItemFailures"]
            .as_array()
            .map(|failures| {
                failures
                    .iter()
                    .filter_map(|f| f["itemIdentifier"].as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default();
        for (id, handle) in &batch.messages {
            if !failed.contains(id) {
                let _left_to_its_next_receive = self
                    .sqs
                    .delete_message()
                    .queue_url(&self.queue_url)
                    .receipt_handle(handle)
                    .send()
                    .await;
            }
        }
        failed
    }
}

/// A queue whose messages come back `visibility_seconds` after a receive that did not delete them, and go to a
/// fresh dead-letter queue after `max_receives` receives: answers (queue URL, dead-letter queue URL).
pub async fn queue_with_dlq(
    account: &MotoAccount,
    name: &str,
    visibility_seconds: u32,
    max_receives: u32,
) -> (String, String) {
    let sqs = aws_sdk_sqs::Client::new(account.sdk_config());
    let dlq_url = create_queue(account, &format!("{name}-dlq")).await;
    let dlq_arn = sqs
        .get_queue_attributes()
        .queue_url(&dlq_url)
        .attribute_names(QueueAttributeName::QueueArn)
        .send()
        .await
        .expect("GetQueueAttributes")
        .attributes
        .and_then(|mut attributes| attributes.remove(&QueueAttributeName::QueueArn))
        .expect("the dead-letter queue's ARN");
    let redrive = serde_json::json!({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": max_receives.to_string()});
    let queue_url = sqs
        .create_queue()
        .queue_name(name)
        .attributes(QueueAttributeName::VisibilityTimeout, visibility_seconds.to_string())
        .attributes(QueueAttributeName::RedrivePolicy, redrive.to_string())
        .send()
        .await
        .expect("CreateQueue")
        .queue_url
        .expect("a queue URL");
    (queue_url, dlq_url)
}

/// A queue's depth by state, as SQS approximates it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Depth {
    pub visible: usize,
    pub in_flight: usize,
    pub delayed: usize,
}

impl Depth {
    pub fn total(&self) -> usize {
        self.visible + self.in_flight + self.delayed
    }
}

/// Messages on the queue now: visible, received and not yet deleted (in flight), and still delayed.
pub async fn depth(account: &MotoAccount, queue_url: &str) -> Depth {
    let attributes = aws_sdk_sqs::Client::new(account.sdk_config())
        .get_queue_attributes()
        .queue_url(queue_url)
        .attribute_names(QueueAttributeName::ApproximateNumberOfMessages)
        .attribute_names(QueueAttributeName::ApproximateNumberOfMessagesDelayed)
        .attribute_names(QueueAttributeName::ApproximateNumberOfMessagesNotVisible)
        .send()
        .await
        .expect("GetQueueAttributes")
        .attributes
        .unwrap_or_default();
    let of = |name: QueueAttributeName| attributes.get(&name).and_then(|v| v.parse::<usize>().ok()).unwrap_or(0);
    Depth {
        visible: of(QueueAttributeName::ApproximateNumberOfMessages),
        in_flight: of(QueueAttributeName::ApproximateNumberOfMessagesNotVisible),
        delayed: of(QueueAttributeName::ApproximateNumberOfMessagesDelayed),
    }
}
