//! The verdict ledger on DynamoDB: one item per published verdict, written with a conditional put (the first
//! writer wins), expired by DynamoDB's TTL.

use aws_sdk_dynamodb::operation::put_item::PutItemError;
use aws_sdk_dynamodb::types::AttributeValue;
use chrono::{DateTime, Utc};

use crate::error::{Error, Result};
use crate::ports::VerdictLedger;

/// The table's partition key (string) and TTL attribute (epoch seconds).
pub const KEY_ATTRIBUTE: &str = "pk";
pub const TTL_ATTRIBUTE: &str = "expires_at";

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

impl VerdictLedger for DynamoDbVerdictLedger {
    async fn first_claim(&self, key: &str, keep_until: DateTime<Utc>) -> Result<bool> {
        let put = self
            .client
            .put_item()
            .table_name(&self.table)
            .item(KEY_ATTRIBUTE, AttributeValue::S(key.to_owned()))
            .item(TTL_ATTRIBUTE, AttributeValue::N(keep_until.timestamp().to_string()))
            .condition_expression("attribute_not_exists(#pk)")
            .expression_attribute_names("#pk", KEY_ATTRIBUTE)
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
