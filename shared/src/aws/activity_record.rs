//! The activity record in DynamoDB: partition key `pk` = the user (`user#<id>` / `name#<user name>`), sort key
//! `sk` = `<RFC 3339 time>#<event id>` (so a query from T reads in time order and a repeated event overwrites
//! itself), the event as JSON, and `expires_at` for DynamoDB's TTL (400 days by default: longer than CloudTrail's
//! 90, so a review sees older sign-ins).

use std::collections::HashMap;

use aws_sdk_dynamodb::types::AttributeValue;
use chrono::{DateTime, Duration, SecondsFormat, Utc};

use crate::domain::ActivityEvent;
use crate::domain::activity_record::{RecordEntry, RecordKey, RecordKind, RecordedUses, ScimHeartbeat};
use crate::error::{Error, Result};
use crate::ports::{ActivityRead, ActivityRecord};

const SERVICE: &str = "dynamodb";
pub(crate) const KEY_ATTRIBUTE: &str = "pk";
pub(crate) const SORT_ATTRIBUTE: &str = "sk";
const KIND_ATTRIBUTE: &str = "kind";
const EVENT_ATTRIBUTE: &str = "event";
const TTL_ATTRIBUTE: &str = "expires_at";
/// The item saying how far back the record reaches: `since`, the epoch seconds of the first event appended.
const COVERAGE_KEY: &str = "meta#coverage";
const COVERAGE_SORT: &str = "since";
const SINCE_ATTRIBUTE: &str = "since";
/// On the same item: the epoch seconds of the latest SCIM call noted (the `scim-silent` heartbeat's).
const LAST_SCIM_ATTRIBUTE: &str = "last_scim_call";
/// The most entries one `append` writes: a watch batch is at most 100 events.
const MAX_APPEND: usize = 1000;
/// Items one Query page is asked for; pages are read until `max_items` or the end.
const PAGE_LIMIT: i32 = 100;
/// `latest_use` reads at most this many pages newest-first (SCIM writes between are skipped by a filter).
const LATEST_USE_PAGES: usize = 3;
/// Users whose latest use the review reads at once (two keyed queries each: id and user name).
const LAST_USE_CONCURRENCY: usize = 16;

/// How much of the record the review's last-use read may take: keys read (two per user, each at most
/// `LATEST_USE_PAGES` Query calls) and time. Past either it stops and says so (`RecordedUses::complete`), and the
/// report lists it as incomplete.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LastUseBounds {
    pub max_keys: usize,
    pub budget: std::time::Duration,
}

impl LastUseBounds {
    /// 50,000 users (at most 300,000 Query calls), or 5 minutes: inside a Lambda's 15 with the rest of the run.
    pub const REVIEW: Self = Self {
        max_keys: 100_000,
        budget: std::time::Duration::from_secs(300),
    };
}

/// Each user's latest recorded sign-in or role credentials (by id and by user name), `LAST_USE_CONCURRENCY`
/// users at a time, until `bounds` run out. `None`: the record holds nothing (no record, or an empty one).
pub async fn recorded_last_uses(
    record: &impl ActivityRecord,
    users: &[crate::domain::IdcUser],
    bounds: LastUseBounds,
) -> Result<Option<RecordedUses>> {
    let Some(since) = record.reaches_back_to().await? else {
        return Ok(None);
    };
    let keys: Vec<RecordKey> = users
        .iter()
        .flat_map(|u| {
            [
                RecordKey::UserId(u.id.to_string()),
                RecordKey::UserName(u.user_name.clone()),
            ]
        })
        .collect();
    let started = std::time::Instant::now();
    let mut events = Vec::new();
    let mut read = 0usize;
    let mut complete = true;
    for chunk in keys.chunks(LAST_USE_CONCURRENCY) {
        if read.saturating_add(chunk.len()) > bounds.max_keys || started.elapsed() >= bounds.budget {
            complete = false;
            break;
        }
        let found = futures_util::future::try_join_all(chunk.iter().map(|key| record.latest_use(key))).await?;
        events.extend(found.into_iter().flatten());
        read = read.saturating_add(chunk.len());
    }
    if !complete {
        tracing::warn!(
            keys = keys.len(),
            read,
            "the activity record's last-use read stopped at its cap: the report says so"
        );
    }
    Ok(Some(RecordedUses {
        since,
        events,
        complete,
    }))
}

#[derive(Debug, Clone)]
pub struct DynamoDbActivityRecord {
    client: aws_sdk_dynamodb::Client,
    table: String,
    keep_for: Duration,
}

impl DynamoDbActivityRecord {
    /// Entries kept `keep_for` after their event (DynamoDB's TTL removes them later, within days).
    pub fn new(sdk: &aws_config::SdkConfig, table: impl Into<String>, keep_for: Duration) -> Self {
        Self {
            client: aws_sdk_dynamodb::Client::new(sdk),
            table: table.into(),
            keep_for,
        }
    }
}

impl DynamoDbActivityRecord {
    /// The `meta#coverage` item (how far back the record reaches, the latest SCIM call), read consistently.
    async fn coverage_item(&self) -> Result<Option<HashMap<String, AttributeValue>>> {
        let got = self
            .client
            .get_item()
            .table_name(&self.table)
            .key(KEY_ATTRIBUTE, AttributeValue::S(COVERAGE_KEY.into()))
            .key(SORT_ATTRIBUTE, AttributeValue::S(COVERAGE_SORT.into()))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| Error::aws(SERVICE, "GetItem", e))?;
        Ok(got.item)
    }
}

fn epoch_seconds(value: &AttributeValue) -> Option<DateTime<Utc>> {
    value
        .as_n()
        .ok()
        .and_then(|n| n.parse::<i64>().ok())
        .and_then(|secs| DateTime::from_timestamp(secs, 0))
}

/// The event an item holds.
fn event_of(item: &HashMap<String, AttributeValue>) -> Result<ActivityEvent> {
    let json = item
        .get(EVENT_ATTRIBUTE)
        .and_then(|v| v.as_s().ok())
        .ok_or_else(|| Error::AwsContract {
            service: SERVICE,
            operation: "Query",
            problem: "an activity record item has no event".into(),
        })?;
    serde_json::from_str(json).map_err(|source| Error::Decode {
        what: "activity record entry",
        source,
    })
}

fn sort_key(time: DateTime<Utc>, event_id: &str) -> String {
    format!("{}#{event_id}", time.to_rfc3339_opts(SecondsFormat::Millis, true))
}

impl ActivityRecord for DynamoDbActivityRecord {
    async fn append(&self, entries: &[RecordEntry]) -> Result<()> {
        if entries.len() > MAX_APPEND {
            return Err(Error::AwsContract {
                service: SERVICE,
                operation: "PutItem",
                problem: format!("{} entries in one append, more than {MAX_APPEND}", entries.len()),
            });
        }
        if let Some(first) = entries.iter().map(|e| e.event.event_time).min() {
            // Set once (the first append wins); never expires.
            self.client
                .update_item()
                .table_name(&self.table)
                .key(KEY_ATTRIBUTE, AttributeValue::S(COVERAGE_KEY.into()))
                .key(SORT_ATTRIBUTE, AttributeValue::S(COVERAGE_SORT.into()))
                .update_expression("SET #since = if_not_exists(#since, :first)")
                .expression_attribute_names("#since", SINCE_ATTRIBUTE)
                .expression_attribute_values(":first", AttributeValue::N(first.timestamp().to_string()))
                .send()
                .await
                .map_err(|e| Error::aws(SERVICE, "UpdateItem", e))?;
        }
        for entry in entries {
            let event = serde_json::to_string(&entry.event).map_err(|source| Error::Decode {
                what: "activity record entry",
                source,
            })?;
            let expires = entry
                .event
                .event_time
                .checked_add_signed(self.keep_for)
                .unwrap_or(entry.event.event_time);
            let kind = serde_json::to_value(entry.kind)
                .ok()
                .and_then(|v| v.as_str().map(str::to_owned))
                .unwrap_or_default();
            self.client
                .put_item()
                .table_name(&self.table)
                .item(KEY_ATTRIBUTE, AttributeValue::S(entry.key.as_stored()))
                .item(
                    SORT_ATTRIBUTE,
                    AttributeValue::S(sort_key(entry.event.event_time, &entry.event.event_id)),
                )
                .item(KIND_ATTRIBUTE, AttributeValue::S(kind))
                .item(EVENT_ATTRIBUTE, AttributeValue::S(event))
                .item(TTL_ATTRIBUTE, AttributeValue::N(expires.timestamp().to_string()))
                .send()
                .await
                .map_err(|e| Error::aws(SERVICE, "PutItem", e))?;
        }
        Ok(())
    }

    async fn reaches_back_to(&self) -> Result<Option<DateTime<Utc>>> {
        let Some(item) = self.coverage_item().await? else {
            return Ok(None);
        };
        match item.get(SINCE_ATTRIBUTE) {
            // Only a SCIM call noted, nothing appended yet.
            None => Ok(None),
            Some(since) => epoch_seconds(since).map(Some).ok_or_else(|| Error::AwsContract {
                service: SERVICE,
                operation: "GetItem",
                problem: "the coverage item has no epoch-seconds `since`".into(),
            }),
        }
    }

    async fn note_scim_call(&self, at: DateTime<Utc>) -> Result<()> {
        // Only ever moved forward: a late, older event leaves it (the condition fails, and that is no error).
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .key(KEY_ATTRIBUTE, AttributeValue::S(COVERAGE_KEY.into()))
            .key(SORT_ATTRIBUTE, AttributeValue::S(COVERAGE_SORT.into()))
            .update_expression("SET #last = :at")
            .condition_expression("attribute_not_exists(#last) OR #last < :at")
            .expression_attribute_names("#last", LAST_SCIM_ATTRIBUTE)
            .expression_attribute_values(":at", AttributeValue::N(at.timestamp().to_string()))
            .send()
            .await;
        match result {
            Ok(_) => Ok(()),
            Err(e)
                if e.as_service_error()
                    .is_some_and(|s| s.is_conditional_check_failed_exception()) =>
            {
                Ok(())
            }
            Err(e) => Err(Error::aws(SERVICE, "UpdateItem", e)),
        }
    }

    async fn scim_heartbeat(&self) -> Result<ScimHeartbeat> {
        let item = self.coverage_item().await?.unwrap_or_default();
        Ok(ScimHeartbeat {
            record_since: item.get(SINCE_ATTRIBUTE).and_then(epoch_seconds),
            last_scim_call: item.get(LAST_SCIM_ATTRIBUTE).and_then(epoch_seconds),
        })
    }

    async fn latest_use(&self, key: &RecordKey) -> Result<Option<ActivityEvent>> {
        let scim = serde_json::to_value(RecordKind::ScimWrite)
            .ok()
            .and_then(|v| v.as_str().map(str::to_owned))
            .unwrap_or_default();
        let mut start_key: Option<HashMap<String, AttributeValue>> = None;
        for _ in 0..LATEST_USE_PAGES {
            let page = self
                .client
                .query()
                .table_name(&self.table)
                .key_condition_expression("#pk = :pk")
                .filter_expression("#kind <> :scim")
                .expression_attribute_names("#pk", KEY_ATTRIBUTE)
                .expression_attribute_names("#kind", KIND_ATTRIBUTE)
                .expression_attribute_values(":pk", AttributeValue::S(key.as_stored()))
                .expression_attribute_values(":scim", AttributeValue::S(scim.clone()))
                .scan_index_forward(false)
                .limit(PAGE_LIMIT)
                .set_exclusive_start_key(start_key.take())
                .send()
                .await
                .map_err(|e| Error::aws(SERVICE, "Query", e))?;
            if let Some(item) = page.items.unwrap_or_default().first() {
                return event_of(item).map(Some);
            }
            match page.last_evaluated_key.filter(|k| !k.is_empty()) {
                Some(next) => start_key = Some(next),
                None => return Ok(None),
            }
        }
        // 300 SCIM writes newer than any sign-in: the user is taken as not seen (the review says how far it read).
        Ok(None)
    }

    async fn since(&self, key: &RecordKey, start: DateTime<Utc>, max_items: usize) -> Result<ActivityRead> {
        let mut events = Vec::new();
        let mut start_key: Option<HashMap<String, AttributeValue>> = None;
        // Each page holds at least one item or ends the read, so max_items + 1 pages bound the loop.
        for _ in 0..=max_items {
            let page = self
                .client
                .query()
                .table_name(&self.table)
                .key_condition_expression("#pk = :pk AND #sk >= :start")
                .expression_attribute_names("#pk", KEY_ATTRIBUTE)
                .expression_attribute_names("#sk", SORT_ATTRIBUTE)
                .expression_attribute_values(":pk", AttributeValue::S(key.as_stored()))
                .expression_attribute_values(
                    ":start",
                    AttributeValue::S(start.to_rfc3339_opts(SecondsFormat::Millis, true)),
                )
                .limit(PAGE_LIMIT)
                .set_exclusive_start_key(start_key.take())
                .send()
                .await
                .map_err(|e| Error::aws(SERVICE, "Query", e))?;
            for item in page.items.unwrap_or_default() {
                if events.len() >= max_items {
                    return Ok(ActivityRead {
                        events,
                        complete: false,
                    });
                }
                events.push(event_of(&item)?);
            }
            match page.last_evaluated_key.filter(|k| !k.is_empty()) {
                Some(next) => start_key = Some(next),
                None => {
                    return Ok(ActivityRead { events, complete: true });
                }
            }
        }
        Ok(ActivityRead {
            events,
            complete: false,
        })
    }
}

/// CloudTrail through the activity record first: `recorded` answers from the record when it reaches back far
/// enough (`reaches_back_to`), every other read goes to CloudTrail. `R` may be `Option<…>`: no record configured.
#[derive(Debug)]
pub struct RecordFirst<R, A> {
    pub record: R,
    pub cloudtrail: A,
}

/// At most this many recorded entries are read per key and check.
const MAX_RECORDED_PER_KEY: usize = 1_000;

impl<R: ActivityRecord, A: crate::ports::ActivityLog> crate::ports::ActivityLog for RecordFirst<R, A> {
    async fn lookup(&self, query: &crate::ports::ActivityQuery) -> Result<ActivityRead> {
        self.cloudtrail.lookup(query).await
    }

    async fn scim_heartbeat(&self) -> Result<ScimHeartbeat> {
        self.record.scim_heartbeat().await
    }

    async fn recorded_last_uses(&self, users: &[crate::domain::IdcUser]) -> Result<Option<RecordedUses>> {
        recorded_last_uses(&self.record, users, LastUseBounds::REVIEW).await
    }

    async fn recorded(&self, keys: &[RecordKey], start: DateTime<Utc>) -> Result<Option<ActivityRead>> {
        match self.record.reaches_back_to().await? {
            Some(covered_from) if covered_from <= start => {}
            _ => return Ok(None),
        }
        let mut read = ActivityRead {
            events: Vec::new(),
            complete: true,
        };
        for key in keys {
            let found = self.record.since(key, start, MAX_RECORDED_PER_KEY).await?;
            read.complete &= found.complete;
            read.events.extend(found.events);
        }
        read.events.sort_by(|a, b| {
            a.event_time
                .cmp(&b.event_time)
                .then_with(|| a.event_id.cmp(&b.event_id))
        });
        read.events.dedup_by(|a, b| a.event_id == b.event_id);
        Ok(Some(read))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    /// A record that reaches back 200 days and answers every key, counting the reads.
    #[derive(Default)]
    struct CountingRecord {
        reads: AtomicUsize,
    }

    impl ActivityRecord for CountingRecord {
        async fn append(&self, _entries: &[RecordEntry]) -> Result<()> {
            Ok(())
        }
        async fn since(&self, _key: &RecordKey, _start: DateTime<Utc>, _max_items: usize) -> Result<ActivityRead> {
            Ok(ActivityRead::default())
        }
        async fn reaches_back_to(&self) -> Result<Option<DateTime<Utc>>> {
            Ok(Some(DateTime::<Utc>::UNIX_EPOCH))
        }
        async fn note_scim_call(&self, _at: DateTime<Utc>) -> Result<()> {
            Ok(())
        }
        async fn scim_heartbeat(&self) -> Result<ScimHeartbeat> {
            Ok(ScimHeartbeat::default())
        }
        async fn latest_use(&self, _key: &RecordKey) -> Result<Option<ActivityEvent>> {
            self.reads.fetch_add(1, Ordering::Relaxed);
            Ok(None)
        }
    }

    fn users(n: usize) -> Vec<crate::domain::IdcUser> {
        (0..n)
            .map(|i| crate::domain::IdcUser {
                id: crate::domain::IdcUserId::parse(format!("9067{i:06}-aaaa-bbbb-cccc-dddddddddddd")).expect("id"),
                user_name: format!("user{i}@acme.example"),
                display_name: None,
                emails: vec![],
                external_ids: vec![],
                status: crate::domain::IdcUserStatus::Enabled,
            })
            .collect()
    }

    #[tokio::test]
    async fn the_last_use_read_stops_at_its_key_cap_and_says_so() {
        let record = CountingRecord::default();
        let roomy = LastUseBounds {
            max_keys: 1_000,
            budget: std::time::Duration::from_secs(60),
        };
        let whole = recorded_last_uses(&record, &users(20), roomy)
            .await
            .expect("read")
            .expect("a record");
        assert!(whole.complete);
        assert_eq!(record.reads.load(Ordering::Relaxed), 40, "two keys a user");

        let record = CountingRecord::default();
        let tight = LastUseBounds { max_keys: 16, ..roomy };
        let capped = recorded_last_uses(&record, &users(20), tight)
            .await
            .expect("read")
            .expect("a record");
        assert!(!capped.complete);
        assert_eq!(record.reads.load(Ordering::Relaxed), 16, "no key read past the cap");
    }

    #[tokio::test]
    async fn the_last_use_read_stops_when_its_time_is_up_and_says_so() {
        let record = CountingRecord::default();
        let no_time = LastUseBounds {
            max_keys: 1_000,
            budget: std::time::Duration::ZERO,
        };
        let capped = recorded_last_uses(&record, &users(5), no_time)
            .await
            .expect("read")
            .expect("a record");
        assert!(!capped.complete);
        assert_eq!(record.reads.load(Ordering::Relaxed), 0);
    }
}
