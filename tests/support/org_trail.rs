//! The organization trail and a CloudTrail Lake event data store, as the org-wide activity sources see them.
//!
//! `OrgTrail`: a bucket with CloudTrail log files (gzip JSON `{"Records":[…]}`) in the org trail's layout
//! `AWSLogs/<org-id>/<account>/CloudTrail/<region>/<yyyy>/<mm>/<dd>/<account>_CloudTrail_<region>_<time>_<n>.json.gz`
//! (CloudTrail User Guide, "Finding your CloudTrail log files"), an Athena workgroup, and the table of
//! `docs/athena-org-trail.sql` created by running that file through Athena (the launcher runs queries in DuckDB).
//! `LakeStore`: an event data store seeded through the launcher's side channel.

use std::collections::BTreeMap;
use std::io::Write;

use chrono::{DateTime, Utc};
use serde_json::{Value, json};
use shared::aws::{AthenaSettings, LakeSettings};

use crate::cloudtrail::MemberCall;
use crate::moto::MotoAccount;

pub const DATABASE: &str = "cloudtrail";
pub const TABLE: &str = "org_trail";
pub const WORKGROUP: &str = "deprov-audit";
pub const ORG_ID: &str = "o-a1b2c3d4e5";
const ATHENA_TARGET: &str = "AmazonAthena";
const CLOUDTRAIL_TARGET: &str = "com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101";

/// The records of member-account calls, as their trails write them.
pub fn member_records(calls: &[MemberCall]) -> Vec<Value> {
    calls.iter().map(MemberCall::record).collect()
}

/// An organization trail's bucket with its Athena table, in one moto account.
#[derive(Debug, Clone)]
pub struct OrgTrail {
    pub bucket: String,
    files: usize,
}

impl OrgTrail {
    /// The bucket, a results bucket, the workgroup (with its output location) and the table from the docs DDL.
    pub async fn create(account: &MotoAccount) -> Self {
        let bucket = format!("org-trail-{}", account.id());
        for name in [bucket.clone(), format!("{bucket}-athena-results")] {
            account.call_s3(reqwest::Method::PUT, &name, Vec::new()).await;
        }
        account
            .call_json(
                "athena",
                &format!("{ATHENA_TARGET}.CreateWorkGroup"),
                &json!({
                    "Name": WORKGROUP,
                    "Configuration": {
                        "ResultConfiguration": { "OutputLocation": format!("s3://{bucket}-athena-results/") }
                    }
                }),
            )
            .await;
        let path = format!("{}/../docs/athena-org-trail.sql", env!("CARGO_MANIFEST_DIR"));
        let ddl = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("read {path}: {e}"));
        let ddl = ddl.replace("<bucket>", &bucket).replace("<org-id>", ORG_ID);
        for statement in [format!("CREATE DATABASE {DATABASE}"), ddl] {
            let started = account
                .call_json(
                    "athena",
                    &format!("{ATHENA_TARGET}.StartQueryExecution"),
                    &json!({
                        "QueryString": statement,
                        "WorkGroup": WORKGROUP,
                        "QueryExecutionContext": { "Database": DATABASE }
                    }),
                )
                .await;
            let status = account
                .call_json(
                    "athena",
                    &format!("{ATHENA_TARGET}.GetQueryExecution"),
                    &json!({ "QueryExecutionId": started["QueryExecutionId"] }),
                )
                .await;
            let state = &status["QueryExecution"]["Status"];
            assert_eq!(state["State"], "SUCCEEDED", "the DDL ran: {state}");
        }
        Self { bucket, files: 0 }
    }

    /// The adapter's settings for this trail (lag as given).
    pub fn settings(&self, delivery_lag_seconds: i64) -> AthenaSettings {
        AthenaSettings {
            database: DATABASE.into(),
            table: TABLE.into(),
            workgroup: WORKGROUP.into(),
            output_location: None,
            delivery_lag: chrono::Duration::seconds(delivery_lag_seconds),
        }
    }

    /// Delivers records as CloudTrail does: one gzip log file per account, Region and day, under the org layout.
    pub async fn deliver(&mut self, account: &MotoAccount, records: &[Value]) {
        let mut files: BTreeMap<(String, String, String), Vec<Value>> = BTreeMap::new();
        for record in records {
            let text = |pointer: &str| {
                record
                    .pointer(pointer)
                    .and_then(Value::as_str)
                    .unwrap_or_else(|| panic!("a record has {pointer}"))
                    .to_owned()
            };
            let time: DateTime<Utc> = text("/eventTime").parse().expect("an RFC 3339 eventTime");
            let day = time.format("%Y/%m/%d").to_string();
            files
                .entry((text("/recipientAccountId"), text("/awsRegion"), day))
                .or_default()
                .push(record.clone());
        }
        for ((member, region, day), records) in files {
            self.files += 1;
            let stamp = day.replace('/', "");
            let key = format!(
                "AWSLogs/{ORG_ID}/{member}/CloudTrail/{region}/{day}/{member}_CloudTrail_{region}_{stamp}T0000Z_{:04}.json.gz",
                self.files
            );
            let mut gzip = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
            gzip.write_all(json!({ "Records": records }).to_string().as_bytes())
                .expect("gzip in memory");
            let body = gzip.finish().expect("gzip in memory");
            account
                .call_s3(reqwest::Method::PUT, &format!("{}/{key}", self.bucket), body)
                .await;
        }
    }

    /// The next `polls` GetQueryExecution calls of each new query answer QUEUED/RUNNING (-1: until stopped).
    pub async fn hold_queries(account: &MotoAccount, polls: i64) {
        account
            .call_json(
                "athena",
                &format!("{ATHENA_TARGET}.HoldQueriesForTest"),
                &json!({ "Polls": polls }),
            )
            .await;
    }
}

/// A CloudTrail Lake event data store in one moto account.
#[derive(Debug, Clone)]
pub struct LakeStore {
    pub arn: String,
}

impl LakeStore {
    /// A store holding `records` (the store exists once seeded).
    pub async fn seeded(account: &MotoAccount, records: &[Value]) -> Self {
        let arn = format!(
            "arn:aws:cloudtrail:{}:{}:eventdatastore/EXAMPLE-f852-4e8f-8bd1-bcf6cEXAMPLE",
            crate::moto::REGION,
            account.id()
        );
        let store = Self { arn };
        store.seed(account, records).await;
        store
    }

    pub async fn seed(&self, account: &MotoAccount, records: &[Value]) {
        let answer = account
            .call_json(
                "cloudtrail",
                &format!("{CLOUDTRAIL_TARGET}.SeedLakeEventsForTest"),
                &json!({ "EventDataStore": self.arn, "Events": records }),
            )
            .await;
        assert_eq!(answer, json!({ "Seeded": records.len() }));
    }

    pub fn settings(&self, delivery_lag_seconds: i64) -> LakeSettings {
        let env = |name: &str| (name == "LAKE_EVENT_DATA_STORE").then(|| self.arn.clone());
        let mut settings = LakeSettings::from_env(&env).expect("the store's ARN is valid");
        settings.delivery_lag = chrono::Duration::seconds(delivery_lag_seconds);
        settings
    }

    pub async fn hold_queries(account: &MotoAccount, polls: i64) {
        account
            .call_json(
                "cloudtrail",
                &format!("{CLOUDTRAIL_TARGET}.HoldLakeQueriesForTest"),
                &json!({ "Polls": polls }),
            )
            .await;
    }

    pub async fn fail_next_query(account: &MotoAccount, message: &str) {
        account
            .call_json(
                "cloudtrail",
                &format!("{CLOUDTRAIL_TARGET}.FailLakeQueriesForTest"),
                &json!({ "ErrorMessage": message }),
            )
            .await;
    }
}

/// The person the activity tests ask about, and where they could go.
pub mod alice {
    use chrono::{DateTime, Duration, Utc};
    use shared::domain::activity::Reach;
    use shared::domain::{AccountId, IdcUserId};

    use crate::cloudtrail::MemberCall;

    pub const USER_ID: &str = "94d00cd8-e9e6-4810-b177-b08e84775435";
    pub const USER_NAME: &str = "alice@example.com";
    /// A member account Alice could reach (production).
    pub const MEMBER: &str = "444455556666";
    /// A member account she could not.
    pub const OTHER_MEMBER: &str = "777788889999";
    /// The account of the organization's Identity Center instance: portal events are recorded there.
    pub const IDENTITY_CENTER_ACCOUNT: &str = "111122223333";

    /// When Okta deprovisioned her.
    pub fn deprovisioned() -> DateTime<Utc> {
        "2026-11-20T09:00:00Z".parse().expect("a time")
    }

    pub fn reach() -> Reach {
        Reach {
            user_ids: vec![IdcUserId::parse(USER_ID).expect("an id")],
            user_names: vec![USER_NAME.into()],
            accounts: [MEMBER, IDENTITY_CENTER_ACCOUNT]
                .into_iter()
                .map(|a| AccountId::parse(a).expect("an account"))
                .collect(),
            permission_sets: vec![],
        }
    }

    /// A call through one of her role sessions (Developer, 12 h) `after` the deprovision (negative: before).
    pub fn call(event_id: &str, account: &str, region: &str, after: Duration, session_name: &str) -> MemberCall {
        MemberCall {
            event_id: event_id.into(),
            account_id: account.into(),
            region: region.into(),
            event_source: "s3.amazonaws.com".into(),
            event_name: "ListBuckets".into(),
            time: deprovisioned() + after,
            permission_set: "Developer".into(),
            session_name: session_name.into(),
        }
    }
}
