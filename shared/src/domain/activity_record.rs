//! The activity record: SCIM writes and sign-ins / role-credential calls per Identity Center user, kept as they
//! happen by identity-center-watch, so a checker or a review reads "what happened to this user since T" with one
//! keyed query instead of scanning CloudTrail (2 calls a second, 90 days).

use serde::{Deserialize, Serialize};

use super::activity::{ActivityEvent, PORTAL_EVENT_SOURCE, SESSION_EVENT_NAMES};

const SIGN_IN_EVENT_SOURCE: &str = "signin.amazonaws.com";

/// Whom an entry is about. SCIM and portal events name the Identity Center user id; sign-in events only the user
/// name (`additionalEventData.UserName`), so those are kept under the name (case-folded).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(tag = "by", content = "value", rename_all = "kebab-case")]
pub enum RecordKey {
    UserId(String),
    UserName(String),
}

impl RecordKey {
    /// The key as stored: `user#<id>` or `name#<lowercased user name>`.
    pub fn as_stored(&self) -> String {
        match self {
            Self::UserId(id) => format!("user#{id}"),
            Self::UserName(name) => format!("name#{}", name.to_lowercase()),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum RecordKind {
    /// A SCIM user write from the identity provider (CreateUser, PatchUser, PutUser, DeleteUser), failed or not.
    ScimWrite,
    /// `signin.amazonaws.com` UserAuthentication.
    SignIn,
    /// Portal `GetRoleCredentials` / `Federate`: a role session handed out.
    RoleCredentials,
}

/// One entry: the key, the kind, and the event (small: ids, names, time, error code, account).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RecordEntry {
    pub key: RecordKey,
    pub kind: RecordKind,
    pub event: ActivityEvent,
}

/// The entry an event makes, if it is one the record keeps.
pub fn record_entry(event: &ActivityEvent) -> Option<RecordEntry> {
    let scim_write = event.is_scim()
        && matches!(
            event.event_name.as_str(),
            "CreateUser" | "PatchUser" | "PutUser" | "DeleteUser"
        );
    let (key, kind) = if scim_write {
        (
            RecordKey::UserId(event.target_user_id.as_ref()?.to_string()),
            RecordKind::ScimWrite,
        )
    } else if event.event_source == SIGN_IN_EVENT_SOURCE && event.event_name == "UserAuthentication" {
        let key = match (&event.actor_user_id, &event.actor_user_name) {
            (Some(id), _) => RecordKey::UserId(id.to_string()),
            (None, Some(name)) if !name.is_empty() => RecordKey::UserName(name.clone()),
            _ => return None,
        };
        (key, RecordKind::SignIn)
    } else if event.event_source == PORTAL_EVENT_SOURCE && SESSION_EVENT_NAMES.contains(&event.event_name.as_str()) {
        (
            RecordKey::UserId(event.actor_user_id.as_ref()?.to_string()),
            RecordKind::RoleCredentials,
        )
    } else {
        return None;
    };
    Some(RecordEntry {
        key,
        kind,
        event: event.clone(),
    })
}

/// The activity record's latest sign-in or role credentials per user, for the access review: it keeps them longer
/// than CloudTrail's 90 days (its TTL, 400 days by default), but only since it began (`since`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RecordedUses {
    /// `reaches_back_to`: the record holds nothing older.
    pub since: chrono::DateTime<chrono::Utc>,
    /// At most one event per user id and per user name: the newest.
    pub events: Vec<ActivityEvent>,
    /// `false`: the read stopped at its call or time cap, so some users' last uses were not read.
    #[serde(default = "read_whole")]
    pub complete: bool,
}

fn read_whole() -> bool {
    true
}

/// What the activity record says about Okta's SCIM channel, for the `scim-silent` heartbeat: how far back the
/// record reaches, and when it last saw a SCIM call (any `identitystore-scim` event, failed ones included).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScimHeartbeat {
    /// `reaches_back_to`: the first event the record holds (`None`: it holds nothing yet).
    pub record_since: Option<chrono::DateTime<chrono::Utc>>,
    /// The latest SCIM call recorded (`None`: none since the record began).
    pub last_scim_call: Option<chrono::DateTime<chrono::Utc>>,
}
