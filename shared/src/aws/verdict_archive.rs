//! The `VerdictArchive` port over S3: one JSON object per final verdict at
//! `verdicts/<yyyy>/<mm>/<dd>/<episode>.json`, dated by the Okta event's publication, so a review reads its period
//! day by day (one listing per day) without scanning the rest. How long objects are kept is the bucket's lifecycle
//! rule (template.yaml: longer than a quarter plus the review's lateness).

use aws_config::SdkConfig;
use aws_sdk_s3 as s3;
use chrono::{DateTime, Duration, NaiveDate, Utc};
use futures_util::StreamExt;
use s3::primitives::ByteStream;

use crate::domain::archived_verdict::ArchivedVerdict;
use crate::error::{Error, Result};
use crate::ports::{ArchivedPeriod, VerdictArchive};

const SERVICE: &str = "s3";
pub const VERDICT_PREFIX: &str = "verdicts";
/// A period longer than this is refused: a quarter and its slack, not years of listings in one run.
pub const MAX_PERIOD_DAYS: i64 = 400;
/// Listing pages per day (1,000 keys each) before the read says it is incomplete.
const MAX_PAGES_PER_DAY: usize = 10;
/// Objects read at once.
const READS_IN_FLIGHT: usize = 8;

/// Keeps verdicts in one bucket.
#[derive(Debug, Clone)]
pub struct S3VerdictArchive {
    client: s3::Client,
    bucket: String,
}

impl S3VerdictArchive {
    pub fn new(config: &SdkConfig, bucket: impl Into<String>) -> Self {
        Self {
            client: s3::Client::new(config),
            bucket: bucket.into(),
        }
    }

    /// `verdicts/2026/09/12/<episode>.json`; characters other than letters, digits and `._:@-` in the episode id
    /// become `_` (an id is the Okta event uuid and user id, so none do today).
    pub fn key(verdict: &ArchivedVerdict) -> String {
        let episode: String = verdict
            .episode_id
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || "._:@-".contains(c) {
                    c
                } else {
                    '_'
                }
            })
            .collect();
        format!("{}/{episode}.json", day_prefix(verdict.record.published.date_naive()))
    }

    /// The keys under one day, at most `MAX_PAGES_PER_DAY` pages: `false` when the cap cut the listing.
    async fn list_day(&self, day: NaiveDate) -> Result<(Vec<String>, bool)> {
        let prefix = format!("{}/", day_prefix(day));
        let mut keys = Vec::new();
        let mut token: Option<String> = None;
        for _ in 0..MAX_PAGES_PER_DAY {
            let page = self
                .client
                .list_objects_v2()
                .bucket(&self.bucket)
                .prefix(&prefix)
                .set_continuation_token(token.take())
                .send()
                .await
                .map_err(|e| Error::aws(SERVICE, "ListObjectsV2", e))?;
            keys.extend(page.contents().iter().filter_map(|o| o.key().map(str::to_owned)));
            match page.next_continuation_token() {
                Some(next) if page.is_truncated().unwrap_or(false) => token = Some(next.to_owned()),
                _ => return Ok((keys, true)),
            }
        }
        Ok((keys, false))
    }

    async fn read(&self, key: String) -> Result<ArchivedVerdict> {
        let object = self
            .client
            .get_object()
            .bucket(&self.bucket)
            .key(&key)
            .send()
            .await
            .map_err(|e| Error::aws(SERVICE, "GetObject", e))?;
        let bytes = object.body.collect().await.map_err(|e| Error::AwsContract {
            service: SERVICE,
            operation: "GetObject",
            problem: format!("body of {key} not read: {e}"),
        })?;
        serde_json::from_slice(&bytes.into_bytes()).map_err(|source| Error::Decode {
            what: "archived verdict",
            source,
        })
    }
}

fn day_prefix(day: NaiveDate) -> String {
    format!("{VERDICT_PREFIX}/{}", day.format("%Y/%m/%d"))
}

impl VerdictArchive for S3VerdictArchive {
    async fn record(&self, verdict: &ArchivedVerdict) -> Result<()> {
        let body = serde_json::to_vec(verdict).map_err(|source| Error::Decode {
            what: "archived verdict (encoding)",
            source,
        })?;
        let key = Self::key(verdict);
        self.client
            .put_object()
            .bucket(&self.bucket)
            .key(&key)
            .content_type("application/json")
            .body(ByteStream::from(body))
            .send()
            .await
            .map_err(|e| Error::aws(SERVICE, "PutObject", e))?;
        tracing::info!(key = %key, "verdict archived");
        Ok(())
    }

    /// One listing per day of the period (more pages only for a day with over 1,000 verdicts), then the objects,
    /// `READS_IN_FLIGHT` at a time, until `max_records`.
    async fn period(&self, start: DateTime<Utc>, end: DateTime<Utc>, max_records: usize) -> Result<ArchivedPeriod> {
        if end <= start {
            return Ok(ArchivedPeriod {
                verdicts: Vec::new(),
                complete: true,
            });
        }
        if end - start > Duration::days(MAX_PERIOD_DAYS) {
            return Err(Error::Invalid {
                what: "verdict archive period",
                value: format!("{start} to {end}"),
                reason: "longer than 400 days",
            });
        }
        let mut keys = Vec::new();
        let mut complete = true;
        let last = (end - Duration::nanoseconds(1)).date_naive();
        let mut day = start.date_naive();
        while day <= last {
            let (found, whole) = self.list_day(day).await?;
            complete &= whole;
            keys.extend(found);
            match day.succ_opt() {
                Some(next) => day = next,
                None => break,
            }
        }
        keys.sort();
        let mut verdicts: Vec<ArchivedVerdict> = Vec::new();
        let mut reads =
            futures_util::stream::iter(keys.into_iter().map(|key| self.read(key))).buffered(READS_IN_FLIGHT);
        while let Some(verdict) = reads.next().await {
            let verdict = verdict?;
            if verdict.record.published < start || verdict.record.published >= end {
                continue;
            }
            if verdicts.len() >= max_records {
                complete = false;
                break;
            }
            verdicts.push(verdict);
        }
        verdicts.sort_by(|a, b| (a.record.published, &a.episode_id).cmp(&(b.record.published, &b.episode_id)));
        Ok(ArchivedPeriod { verdicts, complete })
    }
}
