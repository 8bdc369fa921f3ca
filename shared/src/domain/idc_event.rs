//! What identity-center-watch receives, reduced to the fields its rules read: an Identity Center API call seen by
//! CloudTrail, or the AWS Health notice that the SCIM bearer token expires.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::activity::ActivityEvent;

/// The Health event type of the SCIM token notice.
pub const SCIM_TOKEN_EXPIRY_EVENT_TYPE: &str = "AWS_IAMIDENTITYCENTER_SCIM_BEARER_TOKEN_EXPIRY_NOTIFICATION";

/// One event from the watch's EventBridge rules.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum WatchEvent {
    /// "AWS API Call via CloudTrail" on sso, identitystore, sso-directory or identitystore-scim.
    ApiCall(Box<ApiCall>),
    /// AWS Health `AWS_IAMIDENTITYCENTER_SCIM_BEARER_TOKEN_EXPIRY_NOTIFICATION`.
    ScimTokenExpiry(ScimTokenNotice),
}

/// One CloudTrail record: the fields every record has (as the checker reads them), who made the call, and the
/// request parameters the rules read. Everything is optional beyond the head: a field missing is `None`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ApiCall {
    pub event: ActivityEvent,
    /// `userIdentity.type`: `AssumedRole`, `IAMUser`, `Root`, `IdentityCenterUser`, `Unknown`, `WebIdentityUser`…
    /// Every type is accepted; it is evidence, never a filter.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub identity_type: Option<String>,
    /// Who acted, as one readable id: `userIdentity.arn`, else `onBehalfOf.userId`, else `principalId`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub actor: Option<String>,
    #[serde(default)]
    pub request: RequestFields,
}

/// The `requestParameters` (and, where an id is only in the answer, `responseElements`) fields the rules read.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct RequestFields {
    /// CreateAccountAssignment: `USER` or `GROUP`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub principal_type: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub principal_id: Option<String>,
    /// CreateAccountAssignment: the account (`targetId`, with `targetType` AWS_ACCOUNT).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target_account: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub permission_set_arn: Option<String>,
    /// CreatePermissionSet: `name`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub permission_set_name: Option<String>,
    /// Create/UpdatePermissionSet: `sessionDuration`, ISO-8601 (`PT8H`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session_duration: Option<String>,
    /// Identity-store and directory writes: the group acted on (`groupId`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group_id: Option<String>,
}

/// The AWS Health notice that a SCIM access token expires. Health sends it weekly from 90 days before expiry,
/// more often as the date nears.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ScimTokenNotice {
    /// `detail.eventArn`: the Health event, to look up in the Health dashboard.
    pub event_arn: String,
    pub account_id: Option<String>,
    pub region: Option<String>,
    /// The envelope's `time`: when Health sent it.
    pub sent_at: Option<DateTime<Utc>>,
    /// `detail.startTime` / `detail.endTime` as Health gives them.
    pub start_time: Option<DateTime<Utc>>,
    pub end_time: Option<DateTime<Utc>>,
}
