//! Verification jobs on SQS: SendMessageBatch, one message per job, delayed until its window ends.

use aws_sdk_sqs::types::SendMessageBatchRequestEntry;

use crate::error::{Error, Result};
use crate::ports::{JobQueue, ScheduledJob};

/// SQS takes at most 10 entries per SendMessageBatch.
const BATCH: usize = 10;
/// SendMessageBatch calls in flight at once (a checker's group expansion can hold 50 batches).
const BATCHES_IN_FLIGHT: usize = 10;

#[derive(Debug, Clone)]
pub struct SqsJobQueue {
    client: aws_sdk_sqs::Client,
    queue_url: String,
}

impl SqsJobQueue {
    pub fn new(sdk: &aws_config::SdkConfig, queue_url: impl Into<String>) -> Self {
        Self {
            client: aws_sdk_sqs::Client::new(sdk),
            queue_url: queue_url.into(),
        }
    }

    /// Sends one batch, then once more what SQS turned down (throttled or internal errors); answers the keys of the
    /// jobs still not accepted.
    async fn send_retrying(&self, chunk: &[ScheduledJob]) -> Result<Vec<String>> {
        let all: Vec<&ScheduledJob> = chunk.iter().collect();
        let failed = self.send(&all).await?;
        if failed.is_empty() {
            return Ok(Vec::new());
        }
        let again: Vec<&ScheduledJob> = failed.iter().filter_map(|i| all.get(*i).copied()).collect();
        let still = self.send(&again).await?;
        Ok(still
            .iter()
            .filter_map(|i| again.get(*i))
            .map(|s| s.job.key())
            .collect())
    }

    /// Sends one batch; answers the positions (within `jobs`) SQS did not accept.
    async fn send(&self, jobs: &[&ScheduledJob]) -> Result<Vec<usize>> {
        let mut entries = Vec::with_capacity(jobs.len());
        for (position, scheduled) in jobs.iter().enumerate() {
            let body = serde_json::to_string(&scheduled.job).map_err(|source| Error::Decode {
                what: "verification job",
                source,
            })?;
            let entry = SendMessageBatchRequestEntry::builder()
                .id(position.to_string())
                .message_body(body)
                .delay_seconds(scheduled.delay_seconds)
                .build()
                .map_err(|e| Error::aws("sqs", "SendMessageBatch", e))?;
            entries.push(entry);
        }
        let output = self
            .client
            .send_message_batch()
            .queue_url(&self.queue_url)
            .set_entries(Some(entries))
            .send()
            .await
            .map_err(|e| Error::aws("sqs", "SendMessageBatch", e))?;
        Ok(output.failed().iter().filter_map(|f| f.id().parse().ok()).collect())
    }
}

impl JobQueue for SqsJobQueue {
    /// The batches go out several at a time, not one after another: a delivery of 100 events is 10 batches, and
    /// Okta waits 3 s for the hook's answer (ten SQS round trips in a row are most of that on a slow day).
    async fn enqueue(&self, jobs: &[ScheduledJob]) -> Result<()> {
        let mut not_accepted: Vec<String> = Vec::new();
        // try_join_all over groups, not a buffered stream: the borrowed chunks trip the compiler's `Send` checks.
        for group in jobs.chunks(BATCH * BATCHES_IN_FLIGHT) {
            let batches = group.chunks(BATCH).map(|chunk| self.send_retrying(chunk));
            not_accepted.extend(futures_util::future::try_join_all(batches).await?.concat());
        }
        if not_accepted.is_empty() {
            Ok(())
        } else {
            Err(Error::NotDelivered {
                finding_ids: not_accepted,
                reason: "SQS did not accept these jobs".into(),
            })
        }
    }
}
