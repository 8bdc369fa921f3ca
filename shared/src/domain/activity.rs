//! What people and SCIM did in AWS, from CloudTrail: the evidence behind propagation and use-after verdicts.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::ids::{AccountId, IdcUserId, PermissionSetArn};

/// One CloudTrail management event, reduced to who, what, when and on whom.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ActivityEvent {
    pub event_id: String,
    pub event_name: String,
    pub event_source: String,
    pub event_time: DateTime<Utc>,
    /// The Identity Center user who acted (`userIdentity.onBehalfOf.userId`), for portal and sign-in events.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub actor_user_id: Option<IdcUserId>,
    /// The user name the event names: `additionalEventData.UserName` on sign-in, the role session name
    /// (`…/AWSReservedSSO_<set>_<hash>/<userName>`) for permission-set role sessions.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub actor_user_name: Option<String>,
    /// For role sessions: the `AWSReservedSSO_…` role the session came from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role_name: Option<String>,
    /// For SCIM and identity-store writes: the user the call acted on (names are redacted in SCIM events).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target_user_id: Option<IdcUserId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_code: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account_id: Option<String>,
    /// The Region the call was made in (`awsRegion`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
}

pub const SCIM_EVENT_SOURCE: &str = "identitystore-scim.amazonaws.com";

impl ActivityEvent {
    /// A SCIM call from the identity provider (Okta) to Identity Center.
    pub fn is_scim(&self) -> bool {
        self.event_source == SCIM_EVENT_SOURCE
    }

    /// A SCIM write that could carry a deactivation (the value itself is redacted, so PATCH and PUT both count).
    pub fn is_scim_user_write(&self) -> bool {
        self.is_scim() && matches!(self.event_name.as_str(), "PatchUser" | "PutUser" | "DeleteUser")
    }

    /// Did this event act as the given user (by id, or by user name for role sessions and sign-ins)?
    pub fn is_by(&self, user_id: &IdcUserId, user_name: &str) -> bool {
        if self.actor_user_id.as_ref() == Some(user_id) {
            return true;
        }
        self.actor_user_name
            .as_deref()
            .is_some_and(|name| name.eq_ignore_ascii_case(user_name))
    }

    /// Use of AWS by a person (not a SCIM call, not a failed call).
    pub fn is_use_of_access(&self) -> bool {
        !self.is_scim() && self.error_code.is_none()
    }
}

/// Whom and where an org-wide activity source is asked about: the person's Identity Center accounts (portal and
/// sign-in events name the user id; role sessions are named after the `userName`) and the AWS accounts they could
/// reach, recorded at the episode's first check before SCIM removes the access.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reach {
    pub user_ids: Vec<IdcUserId>,
    pub user_names: Vec<String>,
    pub accounts: Vec<AccountId>,
    /// The permission sets the person held, each with how long its role sessions live.
    #[serde(default)]
    pub permission_sets: Vec<HeldPermissionSet>,
}

/// A permission set the person held, and its role sessions' lifetime.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HeldPermissionSet {
    pub arn: PermissionSetArn,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// `SessionDuration` in seconds (`None`: not read; AWS's default is one hour).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session_seconds: Option<u64>,
}
