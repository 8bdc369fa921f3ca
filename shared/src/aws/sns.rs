//! The `Notifier` port over SNS: one message per finding, the finding's JSON as the body, and `severity`, `rule`
//! and `finding_id` as String message attributes subscribers can filter on (and `revision` for a finding updated in
//! place: same id, higher revision).

use std::collections::HashMap;

use aws_config::SdkConfig;
use aws_sdk_sns as sns;
use sns::operation::publish_batch::PublishBatchOutput;
use sns::types::{MessageAttributeValue, PublishBatchRequestEntry};

use crate::domain::Finding;
use crate::error::{Error, Result};
use crate::ports::Notifier;

const SERVICE: &str = "sns";
const OPERATION: &str = "PublishBatch";
/// SNS's limit for one message, and for all the messages of one PublishBatch call together (attributes count).
const MAX_BYTES: usize = 262_144;
const MAX_BATCH_ENTRIES: usize = 10;
/// A Subject must be ASCII and shorter than 100 characters.
const MAX_SUBJECT_CHARS: usize = 99;
const STRING: &str = "String";

/// Publishes findings to one SNS topic.
#[derive(Debug, Clone)]
pub struct SnsNotifier {
    client: sns::Client,
    topic_arn: String,
}

impl SnsNotifier {
    pub fn new(config: &SdkConfig, topic_arn: impl Into<String>) -> Self {
        Self {
            client: sns::Client::new(config),
            topic_arn: topic_arn.into(),
        }
    }

    /// Publishes one batch, then once more the entries SNS failed on its side; answers what still failed.
    async fn deliver<'m>(&self, batch: &[&'m Message]) -> Result<Vec<Failure<'m>>> {
        let failures = self.publish_batch(batch).await?;
        let (retry, mut failed): (Vec<Failure>, Vec<Failure>) = failures.into_iter().partition(|f| !f.sender_fault);
        if !retry.is_empty() {
            tracing::warn!(entries = retry.len(), "retrying PublishBatch entries SNS failed");
            let again: Vec<&Message> = retry.iter().map(|f| f.message).collect();
            failed.extend(self.publish_batch(&again).await?);
        }
        Ok(failed)
    }

    async fn publish_batch<'m>(&self, batch: &[&'m Message]) -> Result<Vec<Failure<'m>>> {
        let entries = batch
            .iter()
            .map(|message| message.entry())
            .collect::<std::result::Result<Vec<_>, _>>()
            .map_err(|e| Error::aws(SERVICE, OPERATION, e))?;
        let output = self
            .client
            .publish_batch()
            .topic_arn(&self.topic_arn)
            .set_publish_batch_request_entries(Some(entries))
            .send()
            .await
            .map_err(|e| Error::aws(SERVICE, OPERATION, e))?;
        Ok(failures(batch, &output))
    }
}

impl Notifier for SnsNotifier {
    /// Entries SNS fails are retried once, then named in `Error::NotDelivered`. A PublishBatch call that fails
    /// outright ends the publish with `Error::Aws` (its source kept): the batches before it were delivered, and
    /// since finding ids are stable, publishing everything again is safe (duplicates collapse downstream).
    async fn publish(&self, findings: &[Finding]) -> Result<()> {
        let mut undelivered: Vec<(String, String)> = Vec::new();
        let mut messages = Vec::with_capacity(findings.len());
        for (index, finding) in findings.iter().enumerate() {
            match Message::for_finding(index, finding)? {
                Some(message) => messages.push(message),
                None => undelivered.push((
                    finding.finding_id.to_string(),
                    "larger than SNS's 256 KiB limit even without evidence".into(),
                )),
            }
        }
        let batches = batches(&messages);
        for (sent, batch) in batches.iter().enumerate() {
            match self.deliver(batch).await {
                Ok(failures) => undelivered.extend(
                    failures
                        .into_iter()
                        .map(|failure| (failure.message.finding_id.clone(), failure.reason)),
                ),
                Err(error) => {
                    for message in batches[sent..].iter().flatten() {
                        tracing::error!(finding_id = %message.finding_id, "finding not sent: PublishBatch failed");
                    }
                    return Err(error);
                }
            }
        }
        tracing::info!(
            findings = findings.len(),
            batches = batches.len(),
            undelivered = undelivered.len(),
            "findings published to SNS"
        );
        if undelivered.is_empty() {
            return Ok(());
        }
        for (finding_id, reason) in &undelivered {
            tracing::error!(%finding_id, %reason, "finding not delivered");
        }
        let mut reasons: Vec<String> = undelivered.iter().map(|(_, reason)| reason.clone()).collect();
        reasons.sort();
        reasons.dedup();
        Err(Error::NotDelivered {
            finding_ids: undelivered.into_iter().map(|(id, _)| id).collect(),
            reason: reasons.join("; "),
        })
    }
}

/// One finding, ready to publish.
#[derive(Debug)]
struct Message {
    /// Unique within one publish call and valid as a batch entry id (letters, digits, `-`, `_`; ≤ 80).
    entry_id: String,
    finding_id: String,
    body: String,
    subject: String,
    attributes: Vec<(&'static str, String)>,
    /// What the message counts against SNS's size limit: body, subject and attributes.
    size: usize,
}

impl Message {
    /// The finding as a message, its evidence cut (and `evidence_truncated` set) if it would not fit;
    /// `None` if it cannot fit at all.
    fn for_finding(index: usize, finding: &Finding) -> Result<Option<Self>> {
        let subject = subject(&finding.title);
        let mut attributes = vec![
            ("severity", finding.severity.as_str().to_owned()),
            ("rule", finding.rule.as_str().to_owned()),
            ("finding_id", finding.finding_id.to_string()),
        ];
        // An updated finding: subscribers filter or deduplicate on (finding_id, revision).
        if let Some(revision) = finding.revision {
            attributes.push(("revision", revision.to_string()));
        }
        let overhead = subject.len()
            + attributes
                .iter()
                .map(|(name, value)| name.len() + STRING.len() + value.len())
                .sum::<usize>();
        let Some(body) = body_within(finding, MAX_BYTES.saturating_sub(overhead))? else {
            return Ok(None);
        };
        Ok(Some(Self {
            entry_id: format!("finding-{index}"),
            finding_id: finding.finding_id.to_string(),
            size: overhead + body.len(),
            body,
            subject,
            attributes,
        }))
    }

    fn entry(&self) -> std::result::Result<PublishBatchRequestEntry, aws_smithy_types::error::operation::BuildError> {
        let mut attributes = HashMap::with_capacity(self.attributes.len());
        for (name, value) in &self.attributes {
            let value = MessageAttributeValue::builder()
                .data_type(STRING)
                .string_value(value)
                .build()?;
            attributes.insert((*name).to_owned(), value);
        }
        PublishBatchRequestEntry::builder()
            .id(&self.entry_id)
            .message(&self.body)
            .subject(&self.subject)
            .set_message_attributes(Some(attributes))
            .build()
    }
}

/// The finding's JSON in at most `budget` bytes: whole if it fits, else with as much of its evidence (from the
/// first item on) as fits.
fn body_within(finding: &Finding, budget: usize) -> Result<Option<String>> {
    let json = |finding: &Finding| {
        serde_json::to_string(finding).map_err(|source| Error::Decode {
            what: "finding",
            source,
        })
    };
    let whole = json(finding)?;
    if whole.len() <= budget {
        return Ok(Some(whole));
    }
    let mut cut = finding.clone();
    cut.evidence_truncated = true;
    let mut with_evidence = |kept: usize| {
        cut.evidence = finding.evidence[..kept].to_vec();
        json(&cut).map(|body| (body.len() <= budget).then_some(body))
    };
    let Some(mut best) = with_evidence(0)? else {
        return Ok(None);
    };
    // The most evidence that fits: `fits` items fit, `too_many` do not.
    let (mut fits, mut too_many) = (0, finding.evidence.len());
    while too_many - fits > 1 {
        let middle = fits + (too_many - fits) / 2;
        match with_evidence(middle)? {
            Some(body) => (fits, best) = (middle, body),
            None => too_many = middle,
        }
    }
    tracing::warn!(finding_id = %finding.finding_id, kept = fits, of = finding.evidence.len(), "evidence truncated to fit SNS");
    Ok(Some(best))
}

/// The title as an SNS Subject: printable ASCII only, starting with a visible character, under 100 characters.
fn subject(title: &str) -> String {
    let ascii: String = title
        .chars()
        .map(|c| match c {
            c if c.is_ascii_graphic() || c == ' ' => c,
            c if c.is_whitespace() => ' ',
            _ => '?',
        })
        .collect();
    let ascii = ascii.trim();
    let subject = if ascii.len() > MAX_SUBJECT_CHARS {
        format!("{}...", ascii[..MAX_SUBJECT_CHARS - 3].trim_end())
    } else {
        ascii.to_owned()
    };
    if subject.is_empty() {
        "deprov-audit finding".into()
    } else {
        subject
    }
}

/// Consecutive messages grouped into PublishBatch calls of at most ten entries and 256 KiB together.
fn batches(messages: &[Message]) -> Vec<Vec<&Message>> {
    let mut batches: Vec<Vec<&Message>> = Vec::new();
    let mut size = 0;
    for message in messages {
        match batches.last_mut() {
            Some(batch) if batch.len() < MAX_BATCH_ENTRIES && size + message.size <= MAX_BYTES => {
                batch.push(message);
                size += message.size;
            }
            _ => {
                batches.push(vec![message]);
                size = message.size;
            }
        }
    }
    batches
}

#[derive(Debug)]
struct Failure<'m> {
    message: &'m Message,
    reason: String,
    sender_fault: bool,
}

/// The entries of a batch SNS did not accept: those it lists as failed, and any it does not mention at all.
fn failures<'m>(batch: &[&'m Message], output: &PublishBatchOutput) -> Vec<Failure<'m>> {
    let succeeded: Vec<&str> = output.successful().iter().filter_map(|entry| entry.id()).collect();
    batch
        .iter()
        .filter(|message| !succeeded.contains(&message.entry_id.as_str()))
        .map(
            |message| match output.failed().iter().find(|f| f.id() == message.entry_id) {
                Some(failed) => Failure {
                    message,
                    reason: format!(
                        "SNS refused the message: {} {}",
                        failed.code(),
                        failed.message().unwrap_or_default()
                    )
                    .trim_end()
                    .to_owned(),
                    sender_fault: failed.sender_fault(),
                },
                None => Failure {
                    message,
                    reason: "SNS answered neither success nor failure for the message".into(),
                    sender_fault: false,
                },
            },
        )
        .collect()
}

#[cfg(test)]
mod tests {
    use chrono::DateTime;
    use sns::types::{BatchResultErrorEntry, PublishBatchResultEntry};

    use super::*;
    use crate::domain::{Evidence, Rule, Severity, Subject};

    fn finding(n: usize, evidence: usize) -> Finding {
        Finding::new(
            Rule::ActivityAfterDeprovision,
            Severity::High,
            format!("alice{n}@example.com used AWS after Okta deactivated her"),
            Subject {
                okta_user_id: Some(format!("00u{n}")),
                ..Subject::default()
            },
            DateTime::UNIX_EPOCH,
        )
        .with_evidence((0..evidence).map(|i| {
            Evidence::new(
                "cloudtrail",
                format!("GetRoleCredentials for Developer on 444455556666 ({i:05})"),
            )
            .reference(format!("8f3c1e6b-2a9d-47c5-b4e8-{i:012}"))
        }))
    }

    #[test]
    fn a_finding_that_fits_is_sent_whole() {
        let f = finding(1, 3);
        let message = Message::for_finding(7, &f).unwrap().unwrap();
        let back: Finding = serde_json::from_str(&message.body).unwrap();
        assert_eq!(back, f);
        assert_eq!(message.entry_id, "finding-7");
        assert!(message.size > message.body.len());
    }

    #[test]
    fn an_oversized_finding_keeps_as_much_evidence_as_fits() {
        let f = finding(1, 5000);
        assert!(serde_json::to_string(&f).unwrap().len() > MAX_BYTES);
        let message = Message::for_finding(0, &f).unwrap().unwrap();
        assert!(message.size <= MAX_BYTES, "{}", message.size);
        let back: Finding = serde_json::from_str(&message.body).unwrap();
        assert!(back.evidence_truncated);
        assert_eq!(back.evidence[..], f.evidence[..back.evidence.len()]);
        // One more evidence item would not have fitted.
        let mut one_more = back.clone();
        one_more.evidence.push(f.evidence[back.evidence.len()].clone());
        assert!(serde_json::to_string(&one_more).unwrap().len() + (message.size - message.body.len()) > MAX_BYTES);
    }

    #[test]
    fn a_finding_too_large_without_evidence_cannot_be_sent() {
        let mut f = finding(1, 2);
        f.remedy = "x".repeat(MAX_BYTES);
        assert!(Message::for_finding(0, &f).unwrap().is_none());
    }

    #[test]
    fn batches_hold_at_most_ten_messages_and_256_kib() {
        let small: Vec<Message> = (0..25)
            .map(|n| Message::for_finding(n, &finding(n, 1)).unwrap().unwrap())
            .collect();
        let sizes: Vec<usize> = batches(&small).iter().map(Vec::len).collect();
        assert_eq!(sizes, [10, 10, 5]);

        let large: Vec<Message> = (0..5)
            .map(|n| Message::for_finding(n, &finding(n, 600)).unwrap().unwrap())
            .collect();
        assert!(large[0].size > MAX_BYTES / 3 && large[0].size < MAX_BYTES / 2);
        let grouped = batches(&large);
        assert_eq!(grouped.iter().map(Vec::len).collect::<Vec<_>>(), [2, 2, 1]);
        for batch in grouped {
            assert!(batch.iter().map(|m| m.size).sum::<usize>() <= MAX_BYTES);
        }
    }

    #[test]
    fn subjects_are_short_printable_ascii() {
        assert_eq!(subject("Alice – still ENABLED\nin IdC"), "Alice ? still ENABLED in IdC");
        let long = subject(&"word ".repeat(40));
        assert!(long.len() <= MAX_SUBJECT_CHARS && long.ends_with("..."), "{long}");
        assert_eq!(subject("  "), "deprov-audit finding");
        assert_eq!(subject("ümlaut"), "?mlaut");
    }

    #[test]
    fn entries_sns_failed_or_did_not_mention_are_failures() {
        let messages: Vec<Message> = (0..3)
            .map(|n| Message::for_finding(n, &finding(n, 1)).unwrap().unwrap())
            .collect();
        let batch: Vec<&Message> = messages.iter().collect();
        let output = PublishBatchOutput::builder()
            .successful(
                PublishBatchResultEntry::builder()
                    .id("finding-0")
                    .message_id("m0")
                    .build(),
            )
            .failed(
                BatchResultErrorEntry::builder()
                    .id("finding-1")
                    .code("InternalError")
                    .message("try again")
                    .sender_fault(false)
                    .build()
                    .unwrap(),
            )
            .build();
        let failed = failures(&batch, &output);
        assert_eq!(
            failed
                .iter()
                .map(|f| (f.message.entry_id.as_str(), f.sender_fault))
                .collect::<Vec<_>>(),
            [("finding-1", false), ("finding-2", false)]
        );
        assert_eq!(failed[0].reason, "SNS refused the message: InternalError try again");
    }
}
