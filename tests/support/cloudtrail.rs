//! CloudTrail history for tests: the sample records in `events/cloudtrail/` (the only copies), records made up
//! on the spot, and the LookupEvents event each becomes when seeded into moto.

use chrono::{DateTime, Utc};
use serde_json::{Value, json};

pub const PORTAL_EVENT_SOURCE: &str = "sso.amazonaws.com";

/// A sample record from `events/cloudtrail/<name>.json`.
pub fn sample_record(name: &str) -> Value {
    let path = format!("{}/../events/cloudtrail/{name}.json", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("read {path}: {e}"));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path} is not JSON: {e}"))
}

/// An access-portal `GetRoleCredentials` by an Identity Center user: the CLI fetching role credentials.
pub fn portal_record(event_id: &str, time: DateTime<Utc>, user_id: &str) -> Value {
    json!({
        "eventVersion": "1.09",
        "userIdentity": {
            "type": "IdentityCenterUser",
            "accountId": "111122223333",
            "onBehalfOf": {
                "userId": user_id,
                "identityStoreArn": "arn:aws:identitystore::111122223333:identitystore/d-9067642ac7"
            }
        },
        "eventTime": time.format("%Y-%m-%dT%H:%M:%SZ").to_string(),
        "eventSource": PORTAL_EVENT_SOURCE,
        "eventName": "GetRoleCredentials",
        "awsRegion": "us-east-1",
        "requestParameters": { "roleName": "Developer", "accountId": "444455556666" },
        "responseElements": null,
        "eventID": event_id,
        "readOnly": true,
        "eventType": "AwsApiCall",
        "managementEvent": true,
        "recipientAccountId": "111122223333"
    })
}

/// The event LookupEvents answers for a record: its id, name, source, time (epoch seconds), the user name
/// event history shows, and the record itself as `CloudTrailEvent`.
pub fn lookup_event(record: &Value) -> Value {
    let text = |pointer: &str| record.pointer(pointer).and_then(Value::as_str);
    let time: DateTime<Utc> = text("/eventTime")
        .and_then(|t| t.parse().ok())
        .expect("a record has an RFC 3339 eventTime");
    // Event history's user name: the signed-in user, the IAM user, or an assumed role's session name.
    let username = text("/additionalEventData/UserName")
        .or(text("/userIdentity/userName").filter(|name| !name.is_empty()))
        .or(text("/userIdentity/arn")
            .filter(|arn| arn.contains(":assumed-role/"))
            .and_then(|arn| arn.rsplit('/').next()));
    let mut event = json!({
        "EventId": text("/eventID").expect("a record has an eventID"),
        "EventName": text("/eventName").expect("a record has an eventName"),
        "EventSource": text("/eventSource").expect("a record has an eventSource"),
        "EventTime": time.timestamp(),
        "ReadOnly": record["readOnly"].as_bool().unwrap_or(false),
        "Resources": [],
        "CloudTrailEvent": record.to_string(),
    });
    if let Some(username) = username {
        event["Username"] = json!(username);
    }
    event
}

/// One call made in a member account through an Identity Center role session, as a test seeds it into an
/// activity source (the org trail's S3 files, a CloudTrail Lake store, a member account's event history).
#[derive(Debug, Clone)]
pub struct MemberCall {
    pub event_id: String,
    pub account_id: String,
    pub region: String,
    pub event_source: String,
    pub event_name: String,
    pub time: DateTime<Utc>,
    /// The permission set's name: the role is `AWSReservedSSO_<name>_<16 hex>`.
    pub permission_set: String,
    /// The Identity Center `userName`: the role session's name.
    pub session_name: String,
}

impl MemberCall {
    /// The `AWSReservedSSO_…` role this call's session came from.
    pub fn role_name(&self) -> String {
        format!("AWSReservedSSO_{}_0123456789abcdef", self.permission_set)
    }

    /// The CloudTrail record the member account's trail writes for the call. Shape from the CloudTrail
    /// userIdentity element reference (type `AssumedRole`, `sessionContext.sessionIssuer`) and the IAM Identity
    /// Center guide's role naming (`aws-reserved/sso.amazonaws.com/<region>/AWSReservedSSO_<set>_<hash>`).
    /// UNVERIFIED: that the session name is always the IdC userName (AWS documents it for the default
    /// configuration; a custom `RoleSessionName` attribute is not possible with Identity Center).
    pub fn record(&self) -> Value {
        let role = self.role_name();
        json!({
            "eventVersion": "1.09",
            "userIdentity": {
                "type": "AssumedRole",
                "principalId": format!("AROAEXAMPLEID0000000:{}", self.session_name),
                "arn": format!("arn:aws:sts::{}:assumed-role/{role}/{}", self.account_id, self.session_name),
                "accountId": self.account_id,
                "accessKeyId": "ASIAEXAMPLEKEY000000",
                "sessionContext": {
                    "sessionIssuer": {
                        "type": "Role",
                        "principalId": "AROAEXAMPLEID0000000",
                        "arn": format!(
                            "arn:aws:iam::{}:role/aws-reserved/sso.amazonaws.com/{}/{role}",
                            self.account_id, self.region
                        ),
                        "accountId": self.account_id,
                        "userName": role
                    },
                    "attributes": {
                        "creationDate": self.time.format("%Y-%m-%dT%H:%M:%SZ").to_string(),
                        "mfaAuthenticated": "false"
                    }
                }
            },
            "eventTime": self.time.format("%Y-%m-%dT%H:%M:%SZ").to_string(),
            "eventSource": self.event_source,
            "eventName": self.event_name,
            "awsRegion": self.region,
            "sourceIPAddress": "198.51.100.7",
            "userAgent": "aws-cli/2.17.0",
            "requestParameters": null,
            "responseElements": null,
            "requestID": format!("req-{}", self.event_id),
            "eventID": self.event_id,
            "readOnly": true,
            "eventType": "AwsApiCall",
            "managementEvent": true,
            "recipientAccountId": self.account_id,
            "eventCategory": "Management"
        })
    }
}
