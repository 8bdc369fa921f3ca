//! The IAM Identity Center side of an org.

use serde::{Deserialize, Serialize};

use super::ids::{AccountId, IdcGroupId, IdcUserId, IdentityStoreId, InstanceArn, PermissionSetArn};

/// `UserStatus` in the identity store: Okta's SCIM deactivation (active=false) makes a user DISABLED.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum IdcUserStatus {
    Enabled,
    Disabled,
    /// Status not reported: treated as enabled by every rule (the safe side).
    #[serde(other)]
    Unknown,
}

impl IdcUserStatus {
    /// The identity store's own spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Enabled => "ENABLED",
            Self::Disabled => "DISABLED",
            Self::Unknown => "UNKNOWN",
        }
    }

    /// Can this user still start sessions? Unknown counts as yes.
    pub fn can_sign_in(self) -> bool {
        self != Self::Disabled
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExternalId {
    pub issuer: String,
    pub id: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IdcUser {
    pub id: IdcUserId,
    pub user_name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub display_name: Option<String>,
    #[serde(default)]
    pub emails: Vec<String>,
    #[serde(default)]
    pub external_ids: Vec<ExternalId>,
    pub status: IdcUserStatus,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IdcGroup {
    pub id: IdcGroupId,
    pub display_name: String,
    #[serde(default)]
    pub members: Vec<IdcUserId>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PermissionSet {
    pub arn: PermissionSetArn,
    pub name: String,
    /// ISO-8601 duration (`PT1H` … `PT12H`): how long a role session from this set lives.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session_duration: Option<String>,
}

impl PermissionSet {
    /// The session duration in seconds, if it is a plain `PT#H#M#S` duration.
    pub fn session_seconds(&self) -> Option<u64> {
        self.session_duration.as_deref().and_then(parse_iso8601_time_duration)
    }
}

/// Parses the `PT…` durations sso-admin uses (hours, minutes, seconds only).
pub fn parse_iso8601_time_duration(text: &str) -> Option<u64> {
    let rest = text.strip_prefix("PT")?;
    if rest.is_empty() {
        return None;
    }
    let mut total = 0u64;
    let mut number = String::new();
    for c in rest.chars() {
        match c {
            '0'..='9' => number.push(c),
            'H' | 'M' | 'S' => {
                let n: u64 = number.parse().ok()?;
                number.clear();
                let unit = match c {
                    'H' => 3600,
                    'M' => 60,
                    _ => 1,
                };
                // Input from outside (an API answer, a CloudTrail event): too large is no duration, never a panic.
                total = total.checked_add(n.checked_mul(unit)?)?;
            }
            _ => return None,
        }
    }
    number.is_empty().then_some(total)
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(tag = "type", content = "id", rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Principal {
    User(IdcUserId),
    Group(IdcGroupId),
}

/// One permission set on one account for one principal.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct AccountAssignment {
    pub account_id: AccountId,
    pub permission_set_arn: PermissionSetArn,
    pub principal: Principal,
}

/// An assignment a user holds, and how: directly, or through a group.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EffectiveAssignment {
    pub account_id: AccountId,
    pub permission_set_arn: PermissionSetArn,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub permission_set_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session_duration: Option<String>,
    /// `None` for a direct assignment.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub via_group: Option<IdcGroupId>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IdcInstance {
    pub instance_arn: InstanceArn,
    pub identity_store_id: IdentityStoreId,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn session_durations_parse_hours_minutes_seconds() {
        assert_eq!(parse_iso8601_time_duration("PT1H"), Some(3600));
        assert_eq!(parse_iso8601_time_duration("PT12H"), Some(43_200));
        assert_eq!(parse_iso8601_time_duration("PT1H30M"), Some(5400));
        assert_eq!(parse_iso8601_time_duration("PT"), None);
        assert_eq!(parse_iso8601_time_duration("P1D"), None);
        assert_eq!(parse_iso8601_time_duration("PT5"), None);
    }
}
