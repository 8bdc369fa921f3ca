//! The Okta side of an org, as the auditor sees it.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::ids::{IdcGroupId, IdcUserId, OktaAppId, OktaGroupId, OktaLogin, OktaUserId};

/// Okta's user lifecycle status (`UserStatus` in the management API).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum OktaUserStatus {
    Active,
    Deprovisioned,
    LockedOut,
    PasswordExpired,
    Provisioned,
    Recovery,
    Staged,
    Suspended,
    Activating,
    /// A status this build does not know yet: never treated as deprovisioned.
    #[serde(other)]
    Unknown,
}

impl OktaUserStatus {
    /// Okta's own spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Active => "ACTIVE",
            Self::Deprovisioned => "DEPROVISIONED",
            Self::LockedOut => "LOCKED_OUT",
            Self::PasswordExpired => "PASSWORD_EXPIRED",
            Self::Provisioned => "PROVISIONED",
            Self::Recovery => "RECOVERY",
            Self::Staged => "STAGED",
            Self::Suspended => "SUSPENDED",
            Self::Activating => "ACTIVATING",
            Self::Unknown => "UNKNOWN",
        }
    }

    /// Okta has taken the person out of every app: access everywhere should end.
    pub fn is_deprovisioned(self) -> bool {
        self == Self::Deprovisioned
    }
}

impl OktaUser {
    /// The status the person is in or is being moved to: a deactivation under way (`ACTIVE` →
    /// `DEPROVISIONED`) counts as `DEPROVISIONED`, never as active.
    pub fn effective_status(&self) -> OktaUserStatus {
        match self.transitioning_to_status {
            Some(OktaUserStatus::Deprovisioned) => OktaUserStatus::Deprovisioned,
            Some(OktaUserStatus::Suspended) if self.status == OktaUserStatus::Active => OktaUserStatus::Suspended,
            _ => self.status,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OktaUser {
    pub id: OktaUserId,
    pub login: OktaLogin,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    pub status: OktaUserStatus,
    /// Set while an asynchronous lifecycle change runs (`transitioningToStatus`): a user being deactivated is
    /// still ACTIVE with `DEPROVISIONED` here. Never read as a reactivation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transitioning_to_status: Option<OktaUserStatus>,
    /// When the status last changed (for a deactivated user: when the deactivation happened).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status_changed: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_login: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OktaGroup {
    pub id: OktaGroupId,
    pub name: String,
    #[serde(default)]
    pub members: Vec<OktaUserId>,
}

/// Status of a user's assignment to an app (`AppUserStatus`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum AppUserStatus {
    Active,
    Approved,
    Deprovisioned,
    Implicit,
    Imported,
    Inactive,
    Matched,
    Pending,
    Provisioned,
    Revoked,
    Staged,
    Suspended,
    Unassigned,
    #[serde(other)]
    Unknown,
}

/// Where background provisioning of an app user stands (`AppUserSyncState`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum SyncState {
    Disabled,
    Error,
    OutOfSync,
    Synchronized,
    Syncing,
    #[serde(other)]
    Unknown,
}

/// A user's assignment to the AWS IAM Identity Center app in Okta.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AppUser {
    pub user_id: OktaUserId,
    /// The user's id in the target app, set by provisioning: for this app, the Identity Center user id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub external_id: Option<String>,
    /// The app username (`credentials.userName`): what SCIM sends as the Identity Center `userName`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_name: Option<String>,
    pub status: AppUserStatus,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sync_state: Option<SyncState>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_sync: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum PushMappingStatus {
    Active,
    Inactive,
    /// "Okta doesn't push membership changes."
    Error,
    #[serde(other)]
    Unknown,
}

/// An Okta group pushed to an Identity Center group.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GroupPushMapping {
    pub id: String,
    pub source_group_id: OktaGroupId,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target_group_id: Option<IdcGroupId>,
    pub status: PushMappingStatus,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_summary: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_push: Option<DateTime<Utc>>,
}

/// A SAML signing key (certificate) of the Okta app.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SigningKey {
    pub kid: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created: Option<DateTime<Utc>>,
    pub expires_at: DateTime<Utc>,
    /// The key the app signs assertions with now (`credentials.signing.kid`).
    pub active: bool,
    /// The key's certificate chain (`x5c`: base64 DER, the key's own certificate first).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub x5c: Vec<String>,
}

/// The AWS IAM Identity Center app in Okta, and what hangs off it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OktaApp {
    pub id: OktaAppId,
    #[serde(default)]
    pub label: String,
    #[serde(default)]
    pub app_users: Vec<AppUser>,
    #[serde(default)]
    pub group_push_mappings: Vec<GroupPushMapping>,
    #[serde(default)]
    pub signing_keys: Vec<SigningKey>,
}

/// A System Log event, reduced to what the auditor uses. Targets are found by type, never by position.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OktaLogEvent {
    pub uuid: super::ids::OktaEventId,
    pub event_type: String,
    pub published: DateTime<Utc>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub outcome: Option<String>,
    #[serde(default)]
    pub targets: Vec<LogTarget>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LogTarget {
    pub id: String,
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alternate_id: Option<String>,
}

impl OktaLogEvent {
    /// The first target of `kind` (Okta's `target[].type`, compared case-insensitively).
    pub fn target(&self, kind: &str) -> Option<&LogTarget> {
        self.targets.iter().find(|t| t.kind.eq_ignore_ascii_case(kind))
    }
}

impl AppUser {
    /// The IdC user id Okta recorded when it provisioned this app user.
    pub fn idc_user_id(&self) -> Option<IdcUserId> {
        self.external_id.as_deref().and_then(|id| IdcUserId::parse(id).ok())
    }

    /// Still (or again) assigned to the app: Okta means the person to have access through it. An unknown
    /// status is not read as assigned, so it can never silence a check.
    pub fn is_assigned(&self) -> bool {
        !matches!(
            self.status,
            AppUserStatus::Deprovisioned
                | AppUserStatus::Inactive
                | AppUserStatus::Unassigned
                | AppUserStatus::Revoked
                | AppUserStatus::Unknown
        )
    }
}
