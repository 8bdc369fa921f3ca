//! AWS adapters: Identity Center (identity store + sso-admin + Organizations), CloudTrail (the deploy account's, and
//! member accounts' through a role there; Athena over the org trail; CloudTrail Lake), SNS, SQS, Secrets Manager,
//! DynamoDB (the verdict ledger and, in its table, the System Log sweep's cursor), S3 (the review's state, report
//! files and the checker's verdict archive).
//! `function_url` reads the Lambda function URL event the hook is invoked with, and writes its answer.
//!
//! Each takes an `SdkConfig` and builds its clients once. Nothing here knows about emulators: local runs and tests
//! point the SDK elsewhere through the config (`AWS_ENDPOINT_URL`, or a test-built `SdkConfig`).

mod activity_log;
mod activity_record;
mod athena_activity;
pub mod function_url;
mod gated_http;
mod identity_center;
mod job_queue;
mod lake_activity;
mod member_activity;
mod org_activity;
mod report_store;
mod review_state;
mod saml_providers;
mod secrets;
mod sns;
mod sql_activity;
mod sweep_cursor;
mod verdict_archive;
mod verdict_ledger;

pub use activity_log::{CloudTrailActivityLog, parse_cloudtrail_record};
pub use activity_record::{DynamoDbActivityRecord, LastUseBounds, RecordFirst, recorded_last_uses};
pub use athena_activity::{AthenaActivity, AthenaQuery, AthenaSettings, QueryFailed, use_query as athena_use_query};
pub use gated_http::gated_config;
pub use identity_center::IdentityCenterClient;
pub use job_queue::SqsJobQueue;
pub use lake_activity::{LakeActivity, LakeQueryFailed, LakeSettings, lake_query};
pub use member_activity::{MemberActivitySettings, MemberLookupActivity};
pub use org_activity::{OrgActivitySettings, OrgActivitySource};
pub use report_store::{ObjectLock, REPORT_PREFIX, ReportStoreSettings, S3ReportStore};
pub use review_state::{DEFAULT_SUPPRESSIONS_KEY, S3ReviewState};
pub use saml_providers::{IamSamlProviders, MAX_PROVIDERS_PER_ACCOUNT};
pub use secrets::{SecretsManagerSecret, secret_string};
pub use sns::SnsNotifier;
pub use sweep_cursor::{DynamoDbSweepCursor, item_key as sweep_cursor_key};
pub use verdict_archive::{MAX_PERIOD_DAYS, S3VerdictArchive, VERDICT_PREFIX};
pub use verdict_ledger::DynamoDbVerdictLedger;

/// The activity record table's partition and sort key attributes (`pk`, `sk`), for whoever creates the table.
pub fn activity_record_key_attributes() -> (&'static str, &'static str) {
    (activity_record::KEY_ATTRIBUTE, activity_record::SORT_ATTRIBUTE)
}

/// The ledger table's partition key attribute (`pk`), for whoever creates the table.
pub fn verdict_ledger_key_attribute() -> &'static str {
    verdict_ledger::KEY_ATTRIBUTE
}

use crate::error::Error;

/// Turns a value an AWS API returned that does not parse into its domain type into a contract breach of that call.
fn contract_breach(service: &'static str, operation: &'static str) -> impl Fn(Error) -> Error {
    move |error| Error::AwsContract {
        service,
        operation,
        problem: error.to_string(),
    }
}

/// A field the API promises, missing from its answer.
fn missing(service: &'static str, operation: &'static str, field: &str) -> Error {
    Error::AwsContract {
        service,
        operation,
        problem: format!("answer has no {field}"),
    }
}

/// The SDK configuration for deployed functions and the CLI: region, credentials and endpoint from the environment
/// (`AWS_ENDPOINT_URL` included), with the *standard* retry mode (3 attempts, exponential backoff with jitter).
/// Not adaptive: measured on a throttling front, one early throttle slowed an adaptive client to a crawl. The
/// CloudTrail adapter turns SDK retries off and retries throttling itself, inside its time budget.
pub async fn load_sdk_config() -> aws_config::SdkConfig {
    aws_config::defaults(aws_config::BehaviorVersion::latest())
        .retry_config(aws_config::retry::RetryConfig::standard().with_max_attempts(3))
        .load()
        .await
}
