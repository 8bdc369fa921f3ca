//! The verdict ledger on DynamoDB, one table (partition key `pk`, TTL attribute `expires_at`):
//! - `verdict#…`: a claim (owner token, lease) until published; conditional writes, first owner wins,
//!   a claim whose lease ran out (its job crashed) can be taken over, and only the owner completes or releases it;
//! - `episode#<okta user>#<scope>`: the person's current episode (JSON);
//! - `chain#<episode id>`: the episode's one re-check chain (owner token, step, heartbeat);
//! - `reported#<episode>`: the CloudTrail event ids already reported for the episode (a string set);
//! - `links#<okta user>`: the identity links last seen for the person (JSON);
//! - `reach#<episode>`: whom and where the episode's watch looks (string sets, only ever added to: user ids, user
//!   names, accounts, and the permission sets held as JSON);
//! - `scim-awaited`: the Okta deprovisions checked without their SCIM call, one attribute `awaiting:<episode>` each
//!   (epoch seconds of the Okta event), for the `scim-silent` heartbeat.

use std::collections::HashSet;

use aws_sdk_dynamodb::error::SdkError;
use aws_sdk_dynamodb::types::AttributeValue;
use chrono::{DateTime, Duration, Utc};

use crate::domain::activity::{HeldPermissionSet, Reach};
use crate::domain::episode::EpisodeState;
use crate::domain::{AccountId, IdcUserId, OktaUserId, RememberedLink, VerificationJob};
use crate::error::{Error, Result};
use crate::ports::VerdictLedger;

/// The table's partition key (string) and TTL attribute (epoch seconds).
pub const KEY_ATTRIBUTE: &str = "pk";
pub const TTL_ATTRIBUTE: &str = "expires_at";
const STATE_ATTRIBUTE: &str = "state";
const OWNER_ATTRIBUTE: &str = "owner";
const LEASE_ATTRIBUTE: &str = "lease_until";
const EPISODE_ATTRIBUTE: &str = "episode";
const CHAIN_OWNER_ATTRIBUTE: &str = "chain_owner";
const CHAIN_HEARTBEAT_ATTRIBUTE: &str = "chain_heartbeat";
const CHAIN_STEP_ATTRIBUTE: &str = "chain_step";
const REPORTED_ATTRIBUTE: &str = "reported";
const LINKS_ATTRIBUTE: &str = "links";
const REACH_USER_IDS: &str = "user_ids";
const REACH_USER_NAMES: &str = "user_names";
const REACH_ACCOUNTS: &str = "accounts";
const REACH_SETS: &str = "permission_sets";
const CLAIMED: &str = "claimed";
const PUBLISHED: &str = "published";
const SERVICE: &str = "dynamodb";
const AWAITED_KEY: &str = "scim-awaited";
const AWAITING_PREFIX: &str = "awaiting:";
/// Attributes removed per UpdateItem (an update expression is at most 4 KB).
const REMOVE_CHUNK: usize = 100;
/// A chain item outlives any job of its episode.
const CHAIN_RETENTION_DAYS: i64 = 14;
/// Concurrent placements of one person's events retry this often before giving up (the message is retried).
const PLACEMENT_ATTEMPTS: usize = 4;

#[derive(Debug, Clone)]
pub struct DynamoDbVerdictLedger {
    client: aws_sdk_dynamodb::Client,
    table: String,
}

impl DynamoDbVerdictLedger {
    pub fn new(sdk: &aws_config::SdkConfig, table: impl Into<String>) -> Self {
        Self {
            client: aws_sdk_dynamodb::Client::new(sdk),
            table: table.into(),
        }
    }

    /// One item's attributes (strongly consistent), or `None`.
    async fn item(&self, key: &str) -> Result<Option<std::collections::HashMap<String, AttributeValue>>> {
        let got = self
            .client
            .get_item()
            .table_name(&self.table)
            .key(KEY_ATTRIBUTE, text(key))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| Error::aws(SERVICE, "GetItem", e))?;
        Ok(got.item)
    }
}

/// `chain#<episode id>`: each episode's re-check chain in an item of its own, so two episodes of one person (an
/// old chain still running when a new incident opens) never share, or steal, a chain.
fn chain_key(episode_id: &str) -> String {
    format!("chain#{episode_id}")
}

fn text(value: &str) -> AttributeValue {
    AttributeValue::S(value.to_owned())
}

fn epoch(at: DateTime<Utc>) -> AttributeValue {
    AttributeValue::N(at.timestamp().to_string())
}

/// A conditional write that did not hold: not an error, an answer.
fn condition_failed<E, R>(error: &SdkError<E, R>) -> bool
where
    E: aws_sdk_dynamodb::error::ProvideErrorMetadata,
{
    error
        .as_service_error()
        .and_then(|e| e.code())
        .is_some_and(|code| code == "ConditionalCheckFailedException")
}

fn decode<T: serde::de::DeserializeOwned>(what: &'static str, value: Option<&AttributeValue>) -> Result<Option<T>> {
    match value.and_then(|v| v.as_s().ok()) {
        None => Ok(None),
        Some(json) => serde_json::from_str(json)
            .map(Some)
            .map_err(|source| Error::Decode { what, source }),
    }
}

fn encode<T: serde::Serialize>(what: &'static str, value: &T) -> Result<String> {
    serde_json::to_string(value).map_err(|source| Error::Decode { what, source })
}

fn reach_key(episode_id: &str) -> String {
    format!("reach#{episode_id}")
}

/// The reach an item holds; values that do not parse (never written by this ledger) are left out.
fn reach_of(item: &std::collections::HashMap<String, AttributeValue>) -> Reach {
    let set = |name: &str| -> Vec<String> { item.get(name).and_then(|v| v.as_ss().ok()).cloned().unwrap_or_default() };
    let reach = Reach {
        user_ids: set(REACH_USER_IDS)
            .iter()
            .filter_map(|id| IdcUserId::parse(id).ok())
            .collect(),
        user_names: set(REACH_USER_NAMES),
        accounts: set(REACH_ACCOUNTS)
            .iter()
            .filter_map(|id| AccountId::parse(id).ok())
            .collect(),
        permission_sets: set(REACH_SETS)
            .iter()
            .filter_map(|json| serde_json::from_str::<HeldPermissionSet>(json).ok())
            .collect(),
    };
    // Sorted, without repeats, one entry per permission set (the longest session).
    Reach::default().merged(&reach)
}

impl VerdictLedger for DynamoDbVerdictLedger {
    async fn claim(
        &self,
        key: &str,
        owner: &str,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
        keep_until: DateTime<Utc>,
    ) -> Result<bool> {
        let put = self
            .client
            .put_item()
            .table_name(&self.table)
            .item(KEY_ATTRIBUTE, text(key))
            .item(STATE_ATTRIBUTE, text(CLAIMED))
            .item(OWNER_ATTRIBUTE, text(owner))
            .item(LEASE_ATTRIBUTE, epoch(lease_until))
            .item(TTL_ATTRIBUTE, epoch(keep_until))
            .condition_expression(
                "attribute_not_exists(#pk) OR (#state = :claimed AND (#owner = :owner OR #lease < :now))",
            )
            .expression_attribute_names("#pk", KEY_ATTRIBUTE)
            .expression_attribute_names("#state", STATE_ATTRIBUTE)
            .expression_attribute_names("#owner", OWNER_ATTRIBUTE)
            .expression_attribute_names("#lease", LEASE_ATTRIBUTE)
            .expression_attribute_values(":claimed", text(CLAIMED))
            .expression_attribute_values(":owner", text(owner))
            .expression_attribute_values(":now", epoch(now))
            .send()
            .await;
        match put {
            Ok(_) => Ok(true),
            Err(e) if condition_failed(&e) => Ok(false),
            Err(e) => Err(Error::aws(SERVICE, "PutItem", e)),
        }
    }

    async fn complete(&self, key: &str, owner: &str) -> Result<()> {
        let updated = self
            .client
            .update_item()
            .table_name(&self.table)
            .key(KEY_ATTRIBUTE, text(key))
            .update_expression("SET #state = :published")
            .condition_expression("#owner = :owner")
            .expression_attribute_names("#state", STATE_ATTRIBUTE)
            .expression_attribute_names("#owner", OWNER_ATTRIBUTE)
            .expression_attribute_values(":published", text(PUBLISHED))
            .expression_attribute_values(":owner", text(owner))
            .send()
            .await;
        match updated {
            Ok(_) => Ok(()),
            Err(e) if condition_failed(&e) => Err(Error::ClaimLost { key: key.to_owned() }),
            Err(e) => Err(Error::aws(SERVICE, "UpdateItem", e)),
        }
    }

    async fn release(&self, key: &str, owner: &str) -> Result<()> {
        let deleted = self
            .client
            .delete_item()
            .table_name(&self.table)
            .key(KEY_ATTRIBUTE, text(key))
            .condition_expression("#owner = :owner AND #state = :claimed")
            .expression_attribute_names("#owner", OWNER_ATTRIBUTE)
            .expression_attribute_names("#state", STATE_ATTRIBUTE)
            .expression_attribute_values(":owner", text(owner))
            .expression_attribute_values(":claimed", text(CLAIMED))
            .send()
            .await;
        match deleted {
            // Someone else's (or already published): nothing of ours to give back.
            Ok(_) => Ok(()),
            Err(e) if condition_failed(&e) => Ok(()),
            Err(e) => Err(Error::aws(SERVICE, "DeleteItem", e)),
        }
    }

    async fn is_published(&self, key: &str) -> Result<bool> {
        let item = self.item(key).await?;
        Ok(item
            .as_ref()
            .and_then(|i| i.get(STATE_ATTRIBUTE))
            .and_then(|v| v.as_s().ok())
            .is_some_and(|state| state == PUBLISHED))
    }

    async fn place_in_episode(
        &self,
        episode_key: &str,
        job: &VerificationJob,
        window: Duration,
        keep_until: DateTime<Utc>,
    ) -> Result<EpisodeState> {
        for _ in 0..PLACEMENT_ATTEMPTS {
            let item = self.item(episode_key).await?;
            let stored = item.as_ref().and_then(|i| i.get(EPISODE_ATTRIBUTE));
            let existing: Option<EpisodeState> = decode("stored episode", stored)?;
            let next = EpisodeState::admit(existing.as_ref(), job, window);
            if existing.as_ref() == Some(&next) {
                return Ok(next);
            }
            let mut update = self
                .client
                .update_item()
                .table_name(&self.table)
                .key(KEY_ATTRIBUTE, text(episode_key))
                .update_expression("SET #episode = :next, #ttl = :keep")
                .expression_attribute_names("#episode", EPISODE_ATTRIBUTE)
                .expression_attribute_names("#ttl", TTL_ATTRIBUTE)
                .expression_attribute_values(":next", text(&encode("episode", &next)?))
                .expression_attribute_values(":keep", epoch(keep_until));
            update = match stored {
                Some(old) => update
                    .condition_expression("#episode = :old")
                    .expression_attribute_values(":old", old.clone()),
                None => update
                    .condition_expression("attribute_not_exists(#pk)")
                    .expression_attribute_names("#pk", KEY_ATTRIBUTE),
            };
            match update.send().await {
                Ok(_) => return Ok(next),
                Err(e) if condition_failed(&e) => continue,
                Err(e) => return Err(Error::aws(SERVICE, "UpdateItem", e)),
            }
        }
        Err(Error::AwsContract {
            service: SERVICE,
            operation: "UpdateItem",
            problem: format!("episode {episode_key} kept changing under {PLACEMENT_ATTEMPTS} placements"),
        })
    }

    async fn hold_chain(
        &self,
        episode_id: &str,
        owner: &str,
        step: u32,
        now: DateTime<Utc>,
        stale_before: DateTime<Utc>,
    ) -> Result<bool> {
        let updated = self
            .client
            .update_item()
            .table_name(&self.table)
            .key(KEY_ATTRIBUTE, text(&chain_key(episode_id)))
            .update_expression("SET #owner = :me, #beat = :now, #step = :next, #ttl = :keep")
            .condition_expression("attribute_not_exists(#owner) OR (#owner = :me AND #step = :step) OR #beat < :stale")
            .expression_attribute_names("#owner", CHAIN_OWNER_ATTRIBUTE)
            .expression_attribute_names("#beat", CHAIN_HEARTBEAT_ATTRIBUTE)
            .expression_attribute_names("#step", CHAIN_STEP_ATTRIBUTE)
            .expression_attribute_names("#ttl", TTL_ATTRIBUTE)
            .expression_attribute_values(":me", text(owner))
            .expression_attribute_values(":now", epoch(now))
            .expression_attribute_values(":stale", epoch(stale_before))
            .expression_attribute_values(":step", AttributeValue::N(step.to_string()))
            .expression_attribute_values(":next", AttributeValue::N(step.saturating_add(1).to_string()))
            .expression_attribute_values(":keep", epoch(now + Duration::days(CHAIN_RETENTION_DAYS)))
            .send()
            .await;
        match updated {
            Ok(_) => Ok(true),
            Err(e) if condition_failed(&e) => Ok(false),
            Err(e) => Err(Error::aws(SERVICE, "UpdateItem", e)),
        }
    }

    async fn let_chain_go(&self, episode_id: &str, owner: &str) -> Result<()> {
        let updated = self
            .client
            .update_item()
            .table_name(&self.table)
            .key(KEY_ATTRIBUTE, text(&chain_key(episode_id)))
            .update_expression("REMOVE #owner")
            .condition_expression("#owner = :me")
            .expression_attribute_names("#owner", CHAIN_OWNER_ATTRIBUTE)
            .expression_attribute_values(":me", text(owner))
            .send()
            .await;
        match updated {
            Ok(_) => Ok(()),
            Err(e) if condition_failed(&e) => Ok(()),
            Err(e) => Err(Error::aws(SERVICE, "UpdateItem", e)),
        }
    }

    async fn close_episode(&self, episode_key: &str, episode_id: &str, now: DateTime<Utc>) -> Result<()> {
        for _ in 0..PLACEMENT_ATTEMPTS {
            let item = self.item(episode_key).await?;
            let stored = item.as_ref().and_then(|i| i.get(EPISODE_ATTRIBUTE));
            let Some(mut episode) = decode::<EpisodeState>("stored episode", stored)? else {
                break;
            };
            // Another incident's episode (a newer one), or closed already: nothing to do.
            let Some(old) = stored.filter(|_| episode.episode_id == episode_id && episode.closed_at.is_none()) else {
                break;
            };
            episode.closed_at = Some(now);
            let updated = self
                .client
                .update_item()
                .table_name(&self.table)
                .key(KEY_ATTRIBUTE, text(episode_key))
                .update_expression("SET #episode = :closed")
                .condition_expression("#episode = :old")
                .expression_attribute_names("#episode", EPISODE_ATTRIBUTE)
                .expression_attribute_values(":closed", text(&encode("episode", &episode)?))
                .expression_attribute_values(":old", old.clone())
                .send()
                .await;
            match updated {
                Ok(_) => break,
                Err(e) if condition_failed(&e) => continue,
                Err(e) => return Err(Error::aws(SERVICE, "UpdateItem", e)),
            }
        }
        // The verdict is out: the chain has nothing left to do, whoever held it.
        self.client
            .delete_item()
            .table_name(&self.table)
            .key(KEY_ATTRIBUTE, text(&chain_key(episode_id)))
            .send()
            .await
            .map_err(|e| Error::aws(SERVICE, "DeleteItem", e))?;
        Ok(())
    }

    async fn recorded_reach(&self, episode_id: &str) -> Result<Option<Reach>> {
        Ok(self.item(&reach_key(episode_id)).await?.as_ref().map(reach_of))
    }

    /// One UpdateItem: `ADD` to string sets is a union, so concurrent checks of one episode never lose each other's
    /// additions and nothing is ever taken out.
    async fn record_reach(&self, episode_id: &str, reach: &Reach, keep_until: DateTime<Utc>) -> Result<Reach> {
        let mut sets: Vec<(&str, Vec<String>)> = vec![
            (REACH_USER_IDS, reach.user_ids.iter().map(ToString::to_string).collect()),
            (REACH_USER_NAMES, reach.user_names.clone()),
            (REACH_ACCOUNTS, reach.accounts.iter().map(ToString::to_string).collect()),
        ];
        let mut held = Vec::with_capacity(reach.permission_sets.len());
        for set in &reach.permission_sets {
            held.push(encode("permission set held", set)?);
        }
        sets.push((REACH_SETS, held));
        // DynamoDB refuses an empty set: only the non-empty ones are added.
        sets.retain(|(_, values)| !values.is_empty());
        let mut adds = Vec::new();
        let mut request = self
            .client
            .update_item()
            .table_name(&self.table)
            .key(KEY_ATTRIBUTE, text(&reach_key(episode_id)))
            .expression_attribute_names("#ttl", TTL_ATTRIBUTE)
            .expression_attribute_values(":keep", epoch(keep_until))
            .return_values(aws_sdk_dynamodb::types::ReturnValue::AllNew);
        for (index, (name, values)) in sets.into_iter().enumerate() {
            adds.push(format!("#s{index} :s{index}"));
            request = request
                .expression_attribute_names(format!("#s{index}"), name)
                .expression_attribute_values(format!(":s{index}"), AttributeValue::Ss(values));
        }
        let expression = if adds.is_empty() {
            "SET #ttl = :keep".to_owned()
        } else {
            format!("ADD {} SET #ttl = :keep", adds.join(", "))
        };
        let updated = request
            .update_expression(expression)
            .send()
            .await
            .map_err(|e| Error::aws(SERVICE, "UpdateItem", e))?;
        Ok(updated.attributes.as_ref().map(reach_of).unwrap_or_default())
    }

    async fn reported_events(&self, episode_id: &str) -> Result<HashSet<String>> {
        let item = self.item(&format!("reported#{episode_id}")).await?;
        Ok(item
            .as_ref()
            .and_then(|i| i.get(REPORTED_ATTRIBUTE))
            .and_then(|v| v.as_ss().ok())
            .map(|ids| ids.iter().cloned().collect())
            .unwrap_or_default())
    }

    async fn mark_reported(&self, episode_id: &str, event_ids: &[String], keep_until: DateTime<Utc>) -> Result<()> {
        if event_ids.is_empty() {
            return Ok(());
        }
        self.client
            .update_item()
            .table_name(&self.table)
            .key(KEY_ATTRIBUTE, text(&format!("reported#{episode_id}")))
            .update_expression("ADD #reported :ids SET #ttl = :keep")
            .expression_attribute_names("#reported", REPORTED_ATTRIBUTE)
            .expression_attribute_names("#ttl", TTL_ATTRIBUTE)
            .expression_attribute_values(":ids", AttributeValue::Ss(event_ids.to_vec()))
            .expression_attribute_values(":keep", epoch(keep_until))
            .send()
            .await
            .map_err(|e| Error::aws(SERVICE, "UpdateItem", e))?;
        Ok(())
    }

    fn sweep_cursor(&self, app_id: &crate::domain::OktaAppId) -> impl crate::ports::SweepCursor + '_ {
        super::sweep_cursor::DynamoDbSweepCursor::with_client(self.client.clone(), self.table.clone(), app_id)
    }

    async fn await_scim(&self, episode_id: &str, okta_time: DateTime<Utc>, keep_until: DateTime<Utc>) -> Result<()> {
        self.client
            .update_item()
            .table_name(&self.table)
            .key(KEY_ATTRIBUTE, text(AWAITED_KEY))
            .update_expression("SET #episode = :at, #ttl = :keep")
            .expression_attribute_names("#episode", format!("{AWAITING_PREFIX}{episode_id}"))
            .expression_attribute_names("#ttl", TTL_ATTRIBUTE)
            .expression_attribute_values(":at", epoch(okta_time))
            .expression_attribute_values(":keep", epoch(keep_until))
            .send()
            .await
            .map_err(|e| Error::aws(SERVICE, "UpdateItem", e))?;
        Ok(())
    }

    async fn scim_arrived(&self, episode_ids: &[String]) -> Result<()> {
        for chunk in episode_ids.chunks(REMOVE_CHUNK) {
            let names: Vec<String> = (0..chunk.len()).map(|i| format!("#e{i}")).collect();
            let mut update = self
                .client
                .update_item()
                .table_name(&self.table)
                .key(KEY_ATTRIBUTE, text(AWAITED_KEY))
                .update_expression(format!("REMOVE {}", names.join(", ")));
            for (name, episode_id) in names.iter().zip(chunk) {
                update = update.expression_attribute_names(name, format!("{AWAITING_PREFIX}{episode_id}"));
            }
            update.send().await.map_err(|e| Error::aws(SERVICE, "UpdateItem", e))?;
        }
        Ok(())
    }

    async fn awaiting_scim(&self) -> Result<Vec<(String, DateTime<Utc>)>> {
        let item = self.item(AWAITED_KEY).await?.unwrap_or_default();
        let mut awaiting: Vec<(String, DateTime<Utc>)> = item
            .iter()
            .filter_map(|(name, value)| {
                let episode = name.strip_prefix(AWAITING_PREFIX)?;
                let at = value
                    .as_n()
                    .ok()
                    .and_then(|n| n.parse::<i64>().ok())
                    .and_then(|secs| DateTime::from_timestamp(secs, 0))?;
                Some((episode.to_owned(), at))
            })
            .collect();
        awaiting.sort_by(|a, b| a.1.cmp(&b.1).then_with(|| a.0.cmp(&b.0)));
        Ok(awaiting)
    }

    async fn recall_links(&self, okta_user: &OktaUserId) -> Result<Vec<RememberedLink>> {
        let item = self.item(&format!("links#{okta_user}")).await?;
        Ok(decode("remembered links", item.as_ref().and_then(|i| i.get(LINKS_ATTRIBUTE)))?.unwrap_or_default())
    }

    async fn remember_links(
        &self,
        okta_user: &OktaUserId,
        links: &[RememberedLink],
        keep_until: DateTime<Utc>,
    ) -> Result<()> {
        self.client
            .put_item()
            .table_name(&self.table)
            .item(KEY_ATTRIBUTE, text(&format!("links#{okta_user}")))
            .item(LINKS_ATTRIBUTE, text(&encode("links", &links)?))
            .item(TTL_ATTRIBUTE, epoch(keep_until))
            .send()
            .await
            .map_err(|e| Error::aws(SERVICE, "PutItem", e))?;
        Ok(())
    }
}
