//! The verdict ledger's DynamoDB table in moto, shaped as template.yaml declares it.

use aws_sdk_dynamodb::types::{AttributeDefinition, BillingMode, KeySchemaElement, KeyType, ScalarAttributeType};
use shared::aws::DynamoDbVerdictLedger;

use crate::moto::MotoAccount;

/// A fresh ledger table in the account (partition key `pk`, on-demand), and the ledger over it.
pub async fn verdict_ledger(account: &MotoAccount, table: &str) -> DynamoDbVerdictLedger {
    aws_sdk_dynamodb::Client::new(account.sdk_config())
        .create_table()
        .table_name(table)
        .billing_mode(BillingMode::PayPerRequest)
        .attribute_definitions(
            AttributeDefinition::builder()
                .attribute_name(shared::aws::verdict_ledger_key_attribute())
                .attribute_type(ScalarAttributeType::S)
                .build()
                .expect("an attribute definition"),
        )
        .key_schema(
            KeySchemaElement::builder()
                .attribute_name(shared::aws::verdict_ledger_key_attribute())
                .key_type(KeyType::Hash)
                .build()
                .expect("a key schema"),
        )
        .send()
        .await
        .expect("CreateTable");
    DynamoDbVerdictLedger::new(account.sdk_config(), table)
}

/// The activity record's table in moto, shaped as template.yaml declares it (`pk` hash, `sk` range).
pub async fn activity_table(account: &MotoAccount, table: &str) {
    use aws_sdk_dynamodb::types::{AttributeDefinition, BillingMode, KeySchemaElement, KeyType, ScalarAttributeType};
    let (pk, sk) = shared::aws::activity_record_key_attributes();
    let attribute = |name: &str| {
        AttributeDefinition::builder()
            .attribute_name(name)
            .attribute_type(ScalarAttributeType::S)
            .build()
            .expect("an attribute definition")
    };
    let key = |name: &str, kind| {
        KeySchemaElement::builder()
            .attribute_name(name)
            .key_type(kind)
            .build()
            .expect("a key schema element")
    };
    aws_sdk_dynamodb::Client::new(account.sdk_config())
        .create_table()
        .table_name(table)
        .billing_mode(BillingMode::PayPerRequest)
        .attribute_definitions(attribute(pk))
        .attribute_definitions(attribute(sk))
        .key_schema(key(pk, KeyType::Hash))
        .key_schema(key(sk, KeyType::Range))
        .send()
        .await
        .expect("CreateTable");
}
