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
    /// For portal `GetRoleCredentials` / `Federate`: the AWS account the role session was handed out for
    /// (`requestParameters.accountId`, or `serviceEventDetails.accountId`), not the account that logged the call.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target_account_id: Option<String>,
}

pub const SCIM_EVENT_SOURCE: &str = "identitystore-scim.amazonaws.com";

/// The access portal's event source. Every sso-admin API call (ListAccountAssignments, DescribePermissionSet…, read
/// or write, by anyone: this auditor's own reviews and checks included) is logged under it too, so a read of "the
/// portal" selects by event name ([`SESSION_EVENT_NAMES`]), never by this source: thousands of a review's own
/// calls would otherwise fill every page cap and hide the sign-ins.
pub const PORTAL_EVENT_SOURCE: &str = "sso.amazonaws.com";

/// The portal calls that hand out a role session: `GetRoleCredentials` (CLI/SDK) and `Federate` (console).
pub const SESSION_EVENT_NAMES: [&str; 2] = ["GetRoleCredentials", "Federate"];

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

    /// A portal call that hands out a role session (`GetRoleCredentials` for the CLI, `Federate` for the console):
    /// a session that lives for its permission set's `SessionDuration` from this time.
    pub fn hands_out_session(&self) -> bool {
        self.error_code.is_none() && SESSION_EVENT_NAMES.contains(&self.event_name.as_str())
    }

    /// The permission set a role session came from: `AWSReservedSSO_<set>_<hash>` → `<set>` (the set's name may
    /// itself hold `_`, the hash never does).
    pub fn permission_set_name(&self) -> Option<&str> {
        let rest = self.role_name.as_deref()?.strip_prefix("AWSReservedSSO_")?;
        let (set, _hash) = rest.rsplit_once('_')?;
        (!set.is_empty()).then_some(set)
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

impl Reach {
    /// Did this event act as one of the person's Identity Center accounts (by user id, or by user name for role
    /// sessions and sign-ins)?
    pub fn names(&self, event: &ActivityEvent) -> bool {
        event
            .actor_user_id
            .as_ref()
            .is_some_and(|id| self.user_ids.contains(id))
            || event
                .actor_user_name
                .as_deref()
                .is_some_and(|name| self.user_names.iter().any(|n| n.eq_ignore_ascii_case(name)))
    }

    /// This reach widened by `other`: never shrunk (what the person could reach at the first check stays, even once
    /// SCIM has removed it), no repeats, sorted (so the same reach is always the same value). A permission set
    /// seen twice keeps the longer session (the safe side).
    pub fn merged(mut self, other: &Reach) -> Reach {
        self.user_ids.extend(other.user_ids.iter().cloned());
        self.user_names.extend(other.user_names.iter().cloned());
        self.accounts.extend(other.accounts.iter().cloned());
        self.permission_sets.extend(other.permission_sets.iter().cloned());
        self.user_ids.sort();
        self.user_ids.dedup();
        self.user_names.sort();
        self.user_names.dedup();
        self.accounts.sort();
        self.accounts.dedup();
        // Longest known session first per set, so the dedup keeps it; a known length beats an unknown one.
        self.permission_sets.sort_by(|a, b| {
            a.arn
                .cmp(&b.arn)
                .then_with(|| b.session_seconds.cmp(&a.session_seconds))
                .then_with(|| b.name.cmp(&a.name))
        });
        self.permission_sets.dedup_by(|later, kept| later.arn == kept.arn);
        self
    }

    pub fn is_empty(&self) -> bool {
        self.user_ids.is_empty() && self.user_names.is_empty()
    }
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
