//! The System Log sweep's cursor on DynamoDB: one item in the verdict ledger's table, `pk` =
//! `sweep-cursor#<Okta app id>`, holding the next link the last sweep stopped at. It never expires (no TTL
//! attribute): losing it would send the next sweep back to its first-run lookback.

use aws_sdk_dynamodb::types::AttributeValue;

use super::verdict_ledger::KEY_ATTRIBUTE;
use crate::domain::OktaAppId;
use crate::error::{Error, Result};
use crate::ports::SweepCursor;

const CURSOR_ATTRIBUTE: &str = "cursor";
const KEY_PREFIX: &str = "sweep-cursor#";

#[derive(Debug, Clone)]
pub struct DynamoDbSweepCursor {
    client: aws_sdk_dynamodb::Client,
    table: String,
    key: String,
}

impl DynamoDbSweepCursor {
    /// The cursor of the sweep for the AWS app `app_id`, in `table` (the verdict ledger's).
    pub fn new(sdk: &aws_config::SdkConfig, table: impl Into<String>, app_id: &OktaAppId) -> Self {
        Self {
            client: aws_sdk_dynamodb::Client::new(sdk),
            table: table.into(),
            key: item_key(app_id),
        }
    }
}

impl DynamoDbSweepCursor {
    /// The same, over a client the caller already has (the ledger's).
    pub(crate) fn with_client(client: aws_sdk_dynamodb::Client, table: String, app_id: &OktaAppId) -> Self {
        Self {
            client,
            table,
            key: item_key(app_id),
        }
    }
}

/// `sweep-cursor#<app id>`: apart from the ledger's `verdict#…` and `follow-up#…` keys.
pub fn item_key(app_id: &OktaAppId) -> String {
    format!("{KEY_PREFIX}{app_id}")
}

impl SweepCursor for DynamoDbSweepCursor {
    /// A strongly consistent read: a sweep right after another must see the cursor it saved.
    async fn load(&self) -> Result<Option<String>> {
        let output = self
            .client
            .get_item()
            .table_name(&self.table)
            .key(KEY_ATTRIBUTE, AttributeValue::S(self.key.clone()))
            .consistent_read(true)
            .projection_expression("#cursor")
            .expression_attribute_names("#cursor", CURSOR_ATTRIBUTE)
            .send()
            .await
            .map_err(|e| Error::aws("dynamodb", "GetItem", e))?;
        let Some(item) = output.item else {
            return Ok(None);
        };
        match item.get(CURSOR_ATTRIBUTE) {
            Some(AttributeValue::S(cursor)) if !cursor.is_empty() => Ok(Some(cursor.clone())),
            _ => Err(Error::AwsContract {
                service: "dynamodb",
                operation: "GetItem",
                problem: format!(
                    "the sweep cursor item {} has no string attribute {CURSOR_ATTRIBUTE}",
                    self.key
                ),
            }),
        }
    }

    /// An unconditional put: two overlapping sweeps may both save, and whichever lands last wins. Both cursors
    /// come from reads that handled every event before them, so the worst case is a re-read, never a gap.
    async fn save(&self, cursor: &str) -> Result<()> {
        self.client
            .put_item()
            .table_name(&self.table)
            .item(KEY_ATTRIBUTE, AttributeValue::S(self.key.clone()))
            .item(CURSOR_ATTRIBUTE, AttributeValue::S(cursor.to_owned()))
            .send()
            .await
            .map_err(|e| Error::aws("dynamodb", "PutItem", e))?;
        Ok(())
    }
}
