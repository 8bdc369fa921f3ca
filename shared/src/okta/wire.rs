//! Okta's JSON, as documented in the management API, reduced to the fields the auditor uses and turned into
//! domain types. Unknown fields are ignored, unknown enum values become `Unknown`, ids are parsed on the way in.
//! A record that does not fit fails with an error naming the request path, the page and the record.

use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde::de::DeserializeOwned;

use super::OktaError;
use crate::domain::{
    AppUser, AppUserStatus, GroupPushMapping, IdcGroupId, LogTarget, OktaEventId, OktaGroupId, OktaLogEvent, OktaLogin,
    OktaUser, OktaUserId, OktaUserStatus, PushMappingStatus, SigningKey, SyncState,
};

/// One page of a list: a JSON array whose records are decoded one by one, so an error can say which.
pub(crate) fn decode_page<T: DeserializeOwned>(body: &[u8], path: &str, page: usize) -> Result<Vec<T>, OktaError> {
    let records: Vec<serde_json::Value> = serde_json::from_slice(body).map_err(|source| OktaError::Decode {
        path: path.to_owned(),
        what: format!("page {page} (expected a JSON array)"),
        source,
    })?;
    records
        .into_iter()
        .enumerate()
        .map(|(index, record)| {
            let name = record_name(&record, index, page);
            serde_json::from_value(record).map_err(|source| OktaError::Decode {
                path: path.to_owned(),
                what: name,
                source,
            })
        })
        .collect()
}

/// One object, e.g. an app.
pub(crate) fn decode_one<T: DeserializeOwned>(body: &[u8], path: &str, what: &str) -> Result<T, OktaError> {
    serde_json::from_slice(body).map_err(|source| OktaError::Decode {
        path: path.to_owned(),
        what: what.to_owned(),
        source,
    })
}

/// "record 3 of page 2 (id 00u…)": the record's own id when it has a readable one, cut short.
fn record_name(record: &serde_json::Value, index: usize, page: usize) -> String {
    let id = ["id", "uuid", "kid"]
        .iter()
        .find_map(|key| record.get(key).and_then(serde_json::Value::as_str));
    match id {
        Some(id) => format!(
            "record {index} of page {page} (id {})",
            id.chars().take(64).collect::<String>()
        ),
        None => format!("record {index} of page {page}"),
    }
}

/// Okta's error body: `errorCode` and `errorSummary` (both absent if the body is something else).
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ErrorBody {
    #[serde(default)]
    pub error_code: Option<String>,
    #[serde(default)]
    pub error_summary: Option<String>,
}

impl ErrorBody {
    pub fn read(body: &[u8]) -> Self {
        serde_json::from_slice(body).unwrap_or_default()
    }
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct User {
    id: OktaUserId,
    status: OktaUserStatus,
    #[serde(default)]
    transitioning_to_status: Option<OktaUserStatus>,
    #[serde(default)]
    status_changed: Option<DateTime<Utc>>,
    #[serde(default)]
    last_login: Option<DateTime<Utc>>,
    profile: UserProfile,
}

#[derive(Debug, Deserialize)]
struct UserProfile {
    login: OktaLogin,
    #[serde(default)]
    email: Option<String>,
}

impl From<User> for OktaUser {
    fn from(user: User) -> Self {
        Self {
            id: user.id,
            login: user.profile.login,
            email: user.profile.email,
            status: user.status,
            transitioning_to_status: user.transitioning_to_status,
            status_changed: user.status_changed,
            last_login: user.last_login,
        }
    }
}

/// Only the id: group members are listed as whole users, and only who they are matters there.
#[derive(Debug, Deserialize)]
pub(crate) struct Member {
    pub id: OktaUserId,
}

#[derive(Debug, Deserialize)]
pub(crate) struct Group {
    pub id: OktaGroupId,
    pub profile: GroupProfile,
}

/// One item of `GET /api/v1/apps/{appId}/groups` (`ApplicationGroupAssignment`): the assigned group's id.
#[derive(Debug, Deserialize)]
pub(crate) struct AppGroup {
    pub id: OktaGroupId,
}

#[derive(Debug, Deserialize)]
pub(crate) struct GroupProfile {
    pub name: String,
}

/// An app of the org's list (`GET /api/v1/apps`), reduced to what tells an AWS SAML app apart.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct AppSummary {
    pub id: crate::domain::OktaAppId,
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub label: String,
    #[serde(default)]
    pub status: String,
    #[serde(default)]
    pub sign_on_mode: String,
}

impl AppSummary {
    /// An active SAML 2.0 app for AWS: the catalog apps `amazon_aws` (AWS Account Federation) and `amazon_aws_sso`
    /// (IAM Identity Center), or a custom SAML app whose name or label says AWS. UNVERIFIED: the catalog names are
    /// from Okta's integration pages, not a published list; `OKTA_APP_IDS` names apps exactly when this guesses wrong.
    pub fn is_active_aws_saml(&self) -> bool {
        let marks_aws = |text: &str| {
            let text = text.to_ascii_lowercase();
            text.contains("aws") || text.contains("amazon")
        };
        self.status == "ACTIVE" && self.sign_on_mode == "SAML_2_0" && (marks_aws(&self.name) || marks_aws(&self.label))
    }
}

#[derive(Debug, Deserialize)]
pub(crate) struct App {
    #[serde(default)]
    pub label: String,
    #[serde(default)]
    credentials: Option<AppCredentials>,
}

#[derive(Debug, Deserialize)]
struct AppCredentials {
    #[serde(default)]
    signing: Option<AppSigning>,
}

#[derive(Debug, Deserialize)]
struct AppSigning {
    #[serde(default)]
    kid: Option<String>,
}

impl App {
    /// `credentials.signing.kid`: the key the app signs SAML assertions with now.
    pub fn active_kid(&self) -> Option<&str> {
        self.credentials.as_ref()?.signing.as_ref()?.kid.as_deref()
    }
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct AppUserRecord {
    id: OktaUserId,
    #[serde(default)]
    external_id: Option<String>,
    #[serde(default)]
    credentials: Option<AppUserCredentials>,
    status: AppUserStatus,
    #[serde(default)]
    sync_state: Option<SyncState>,
    #[serde(default)]
    last_sync: Option<DateTime<Utc>>,
}

/// `credentials.userName`: the app username Okta provisions with (the password, if any, is never read).
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct AppUserCredentials {
    #[serde(default)]
    user_name: Option<String>,
}

impl From<AppUserRecord> for AppUser {
    fn from(record: AppUserRecord) -> Self {
        Self {
            user_id: record.id,
            external_id: record.external_id.filter(|id| !id.is_empty()),
            user_name: record.credentials.and_then(|c| c.user_name).filter(|n| !n.is_empty()),
            status: record.status,
            sync_state: record.sync_state,
            last_sync: record.last_sync,
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct PushMapping {
    id: String,
    source_group_id: OktaGroupId,
    #[serde(default)]
    target_group_id: Option<IdcGroupId>,
    status: PushMappingStatus,
    #[serde(default)]
    error_summary: Option<String>,
    #[serde(default)]
    last_push: Option<DateTime<Utc>>,
}

impl From<PushMapping> for GroupPushMapping {
    fn from(mapping: PushMapping) -> Self {
        Self {
            id: mapping.id,
            source_group_id: mapping.source_group_id,
            target_group_id: mapping.target_group_id,
            status: mapping.status,
            error_summary: mapping.error_summary,
            last_push: mapping.last_push,
        }
    }
}

/// A JSON Web Key of the app's key store (`GET /api/v1/apps/{appId}/credentials/keys`).
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Key {
    kid: String,
    #[serde(default)]
    created: Option<DateTime<Utc>>,
    expires_at: DateTime<Utc>,
    #[serde(default)]
    x5c: Vec<String>,
}

impl Key {
    pub fn into_signing_key(self, active_kid: Option<&str>) -> SigningKey {
        SigningKey {
            active: active_kid == Some(self.kid.as_str()),
            kid: self.kid,
            created: self.created,
            expires_at: self.expires_at,
            x5c: self.x5c,
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct LogEvent {
    uuid: OktaEventId,
    event_type: String,
    published: DateTime<Utc>,
    #[serde(default)]
    outcome: Option<LogOutcome>,
    #[serde(default)]
    target: Option<Vec<LogEventTarget>>,
}

#[derive(Debug, Deserialize)]
struct LogOutcome {
    #[serde(default)]
    result: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct LogEventTarget {
    id: String,
    #[serde(rename = "type")]
    kind: String,
    #[serde(default)]
    alternate_id: Option<String>,
}

impl From<LogEvent> for OktaLogEvent {
    fn from(event: LogEvent) -> Self {
        Self {
            uuid: event.uuid,
            event_type: event.event_type,
            published: event.published,
            outcome: event.outcome.and_then(|outcome| outcome.result),
            targets: event
                .target
                .unwrap_or_default()
                .into_iter()
                .map(|target| LogTarget {
                    id: target.id,
                    kind: target.kind,
                    alternate_id: target.alternate_id,
                })
                .collect(),
        }
    }
}

#[cfg(test)]
mod aws_app_tests {
    use super::*;

    #[test]
    fn active_saml_apps_for_aws_are_told_apart() {
        let app = |name: &str, label: &str, status: &str, mode: &str| AppSummary {
            id: crate::domain::OktaAppId::parse("0oa1").expect("id"),
            name: name.into(),
            label: label.into(),
            status: status.into(),
            sign_on_mode: mode.into(),
        };
        assert!(app("amazon_aws", "AWS Account Federation", "ACTIVE", "SAML_2_0").is_active_aws_saml());
        assert!(app("amazon_aws_sso", "AWS IAM Identity Center", "ACTIVE", "SAML_2_0").is_active_aws_saml());
        assert!(app("acme_awsprod_1", "Prod", "ACTIVE", "SAML_2_0").is_active_aws_saml());
        assert!(!app("amazon_aws", "AWS", "INACTIVE", "SAML_2_0").is_active_aws_saml());
        assert!(!app("amazon_aws", "AWS", "ACTIVE", "OPENID_CONNECT").is_active_aws_saml());
        assert!(!app("slack", "Slack", "ACTIVE", "SAML_2_0").is_active_aws_saml());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_a_user_as_okta_documents_it_ignoring_what_it_does_not_use() {
        let body = br#"[{
            "id": "00ub0oNGTSWTBKOLGLNR", "status": "DEPROVISIONED", "created": "2013-07-02T21:36:25.344Z",
            "statusChanged": "2024-03-01T10:00:00.000Z", "lastLogin": null, "passwordChanged": null,
            "type": {"id": "otyfnjfba4ye7pgjB0g4"},
            "profile": {"firstName": "Isaac", "lastName": "Brock", "email": "isaac.brock@example.com",
                        "login": "isaac.brock@example.com", "mobilePhone": null},
            "credentials": {"provider": {"type": "OKTA", "name": "OKTA"}},
            "_links": {"self": {"href": "https://acme.okta.com/api/v1/users/00ub0oNGTSWTBKOLGLNR"}}
        }]"#;
        let users: Vec<User> = decode_page(body, "/api/v1/users", 1).unwrap();
        let user = OktaUser::from(users.into_iter().next().unwrap());
        assert_eq!(user.login.as_str(), "isaac.brock@example.com");
        assert_eq!(user.status, OktaUserStatus::Deprovisioned);
        assert!(user.status_changed.is_some());
        assert_eq!(user.last_login, None);
    }

    #[test]
    fn unknown_statuses_become_unknown() {
        let body = br#"[{"id": "00u1", "status": "SOMETHING_NEW", "profile": {"login": "a@example.com"}}]"#;
        let users: Vec<User> = decode_page(body, "/api/v1/users", 1).unwrap();
        assert_eq!(
            OktaUser::from(users.into_iter().next().unwrap()).status,
            OktaUserStatus::Unknown
        );
    }

    #[test]
    fn a_bad_record_is_named_by_path_page_position_and_id() {
        let body = br#"[
            {"id": "00u1", "status": "ACTIVE", "profile": {"login": "a@example.com"}},
            {"id": "00u2", "status": "ACTIVE", "profile": {}}
        ]"#;
        let error = decode_page::<User>(body, "/api/v1/users", 3).unwrap_err();
        let message = error.to_string();
        assert!(message.contains("record 1 of page 3 (id 00u2)"), "{message}");
        assert!(message.contains("/api/v1/users"), "{message}");
        let cause = std::error::Error::source(&error).unwrap().to_string();
        assert!(cause.contains("login"), "{cause}");
    }

    #[test]
    fn an_id_that_is_not_an_okta_id_is_a_decode_error_not_a_panic() {
        let body = br#"[{"id": "../admin", "status": "ACTIVE", "profile": {"login": "a@example.com"}}]"#;
        assert!(matches!(
            decode_page::<User>(body, "/api/v1/users", 1),
            Err(OktaError::Decode { .. })
        ));
    }

    #[test]
    fn a_page_that_is_not_an_array_is_a_decode_error() {
        let error = decode_page::<User>(br#"{"errorCode": "E0000007"}"#, "/api/v1/users", 1).unwrap_err();
        assert!(error.to_string().contains("page 1"), "{error}");
    }

    #[test]
    fn a_log_event_keeps_outcome_and_targets_and_tolerates_a_null_target() {
        let body = br#"[
            {"uuid": "dc9fd3c0-598c-11ef-8478-2b7584bf8d5a", "eventType": "user.lifecycle.deactivate",
             "published": "2024-08-13T15:58:20.353Z", "outcome": {"result": "SUCCESS", "reason": null},
             "target": [{"id": "00u1", "type": "User", "alternateId": "a@example.com", "displayName": "A"}]},
            {"uuid": "e1", "eventType": "user.session.start", "published": "2024-08-13T15:58:21Z", "target": null}
        ]"#;
        let events: Vec<OktaLogEvent> = decode_page::<LogEvent>(body, "/api/v1/logs", 1)
            .unwrap()
            .into_iter()
            .map(OktaLogEvent::from)
            .collect();
        assert_eq!(events[0].outcome.as_deref(), Some("SUCCESS"));
        assert_eq!(
            events[0].target("user").unwrap().alternate_id.as_deref(),
            Some("a@example.com")
        );
        assert!(events[1].targets.is_empty());
    }

    #[test]
    fn the_active_key_is_the_one_the_app_signs_with() {
        let app: App = decode_one(
            br#"{"id": "0oa1", "label": "AWS IAM Identity Center", "credentials": {"signing": {"kid": "k2"}}}"#,
            "/api/v1/apps/0oa1",
            "the app",
        )
        .unwrap();
        let keys: Vec<Key> = decode_page(
            br#"[{"kid": "k1", "expiresAt": "2025-01-01T00:00:00Z"}, {"kid": "k2", "expiresAt": "2027-01-01T00:00:00Z"}]"#,
            "/api/v1/apps/0oa1/credentials/keys",
            1,
        )
        .unwrap();
        let active: Vec<bool> = keys
            .into_iter()
            .map(|k| k.into_signing_key(app.active_kid()).active)
            .collect();
        assert_eq!(active, [false, true]);
    }
}
