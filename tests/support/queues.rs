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
