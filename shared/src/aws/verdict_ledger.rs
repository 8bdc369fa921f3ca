//! The verdict ledger on DynamoDB: one item per verdict. A job claims it with a conditional put (the first writer
//! wins; a claim whose lease ran out — its job crashed — can be taken over), marks it published when done, and
//! DynamoDB's TTL expires it.

use aws_sdk_dynamodb::operation::put_item::PutItemError;
use aws_sdk_dynamodb::types::AttributeValue;
use chrono::{DateTime, Utc};

use crate::error::{Error, Result};
use crate::ports::VerdictLedger;

/// The table's partition key (string) and TTL attribute (epoch seconds).
pub const KEY_ATTRIBUTE: &str = "pk";
pub const TTL_ATTRIBUTE: &str = "expires_at";
const STATE_ATTRIBUTE: &str = "state";
const LEASE_ATTRIBUTE: &str = "lease_until";
const CLAIMED: &str = "claimed";
const PUBLISHED: &str = "published";

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
}

fn epoch(at: DateTime<Utc>) -> AttributeValue {
    AttributeValue::N(at.timestamp().to_string())
}

impl VerdictLedger for DynamoDbVerdictLedger {
    async fn claim(
        &self,
        key: &str,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
        keep_until: DateTime<Utc>,
    ) -> Result<bool> {
        let put = self
            .client
            .put_item()
            .table_name(&self.table)
            .item(KEY_ATTRIBUTE, AttributeValue::S(key.to_owned()))
            .item(STATE_ATTRIBUTE, AttributeValue::S(CLAIMED.into()))
            .item(LEASE_ATTRIBUTE, epoch(lease_until))
            .item(TTL_ATTRIBUTE, epoch(keep_until))
            .condition_expression("attribute_not_exists(#pk) OR (#state = :claimed AND #lease < :now)")
            .expression_attribute_names("#pk", KEY_ATTRIBUTE)
            .expression_attribute_names("#state", STATE_ATTRIBUTE)
            .expression_attribute_names("#lease", LEASE_ATTRIBUTE)
            .expression_attribute_values(":claimed", AttributeValue::S(CLAIMED.into()))
            .expression_attribute_values(":now", epoch(now))
            .send()
            .await;
        match put {
            Ok(_) => Ok(true),
            Err(e)
                if matches!(
                    e.as_service_error(),
                    Some(PutItemError::ConditionalCheckFailedException(_))
                ) =>
            {
                Ok(false)
            }
            Err(e) => Err(Error::aws("dynamodb", "PutItem", e)),
        }
    }

    async fn complete(&self, key: &str) -> Result<()> {
        self.client
            .update_item()
            .table_name(&self.table)
            .key(KEY_ATTRIBUTE, AttributeValue::S(key.to_owned()))
            .update_expression("SET #state = :published")
            .expression_attribute_names("#state", STATE_ATTRIBUTE)
            .expression_attribute_values(":published", AttributeValue::S(PUBLISHED.into()))
            .send()
            .await
            .map_err(|e| Error::aws("dynamodb", "UpdateItem", e))?;
        Ok(())
    }

    async fn release(&self, key: &str) -> Result<()> {
        self.client
            .delete_item()
            .table_name(&self.table)
            .key(KEY_ATTRIBUTE, AttributeValue::S(key.to_owned()))
            .send()
            .await
            .map_err(|e| Error::aws("dynamodb", "DeleteItem", e))?;
        Ok(())
    }
}
