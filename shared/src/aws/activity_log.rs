//! The `ActivityLog` port over CloudTrail LookupEvents, and the reading of one CloudTrail record.
//!
//! LookupEvents is "limited to two per second, per account, per Region": calls through one adapter are spaced
//! 500 ms apart, and a ThrottlingException that outlasts the SDK's own retries is retried a bounded number of times.

use std::time::Duration;

use aws_config::SdkConfig;
use aws_sdk_cloudtrail as cloudtrail;
use chrono::{DateTime, Utc};
use cloudtrail::error::ProvideErrorMetadata;
use cloudtrail::operation::lookup_events::LookupEventsOutput;
use cloudtrail::types::LookupAttributeKey;
use serde::Deserialize;
use serde_json::Value;
use tokio::sync::Mutex;
use tokio::time::Instant;

use crate::domain::activity::SCIM_EVENT_SOURCE;
use crate::domain::{ActivityEvent, IdcUserId};
use crate::error::{Error, Result};
use crate::ports::{ActivityLog, ActivityQuery, ActivityRead, LookupAttribute};

const SERVICE: &str = "cloudtrail";
const OPERATION: &str = "LookupEvents";
/// The most events one LookupEvents page holds.
const PAGE_SIZE: i32 = 50;
/// Two calls a second at most.
const CALL_SPACING: Duration = Duration::from_millis(500);
/// A throttled call is retried this many times, after 0.5 s, 1 s, 2 s.
const THROTTLE_RETRIES: u32 = 3;
const FIRST_BACKOFF: Duration = Duration::from_millis(500);

const IDENTITY_STORE_EVENT_SOURCE: &str = "identitystore.amazonaws.com";
/// The roles Identity Center provisions for permission sets: `AWSReservedSSO_<set>_<hash>`.
const SSO_ROLE_PREFIX: &str = "AWSReservedSSO_";

/// CloudTrail management-event history of one account and Region.
#[derive(Debug)]
pub struct CloudTrailActivityLog {
    client: cloudtrail::Client,
    spacing: CallSpacing,
}

impl CloudTrailActivityLog {
    /// Calls 500 ms apart (LookupEvents' 2 per second, for one caller per account and Region).
    pub fn new(config: &SdkConfig) -> Self {
        Self::with_spacing(config, CALL_SPACING)
    }

    /// Calls 500 ms apart, each also passing the CloudTrail gate of `gates` (shared by every reader of a run).
    pub fn gated(config: &SdkConfig, gates: &crate::rate_limit::Gates) -> Self {
        let config = super::gated_http::gated_config(config, gates, crate::rate_limit::ApiFamily::CloudTrail);
        Self::with_spacing(&config, CALL_SPACING)
    }

    /// Calls at least `spacing` apart. Where N instances share the account's 2 per second (the checker runs at
    /// most N at once), each spaces its calls N × 500 ms. The SDK does not retry: throttling is retried here,
    /// once, inside the read's time budget (retries composed once, not SDK × adapter).
    pub fn with_spacing(config: &SdkConfig, spacing: Duration) -> Self {
        let client_config = cloudtrail::config::Builder::from(config)
            .retry_config(aws_config::retry::RetryConfig::disabled())
            .build();
        Self {
            client: cloudtrail::Client::from_conf(client_config),
            spacing: CallSpacing::new(spacing.max(CALL_SPACING)),
        }
    }

    /// One page, retried while throttled (with the same parameters and token, as LookupEvents requires) and
    /// while `until` allows; `None` when the time ran out first.
    async fn page(
        &self,
        query: &ActivityQuery,
        next_token: Option<String>,
        until: Option<Instant>,
    ) -> Result<Option<LookupEventsOutput>> {
        let request = self
            .client
            .lookup_events()
            .lookup_attributes(lookup_attribute(&query.attribute)?)
            .start_time(smithy_time(query.start))
            .end_time(smithy_time(query.end))
            .max_results(PAGE_SIZE)
            .set_next_token(next_token);
        let mut retries = 0;
        loop {
            if until.is_some_and(|until| Instant::now() >= until) {
                return Ok(None);
            }
            self.spacing.wait_turn().await;
            match request.clone().send().await {
                Ok(page) => return Ok(Some(page)),
                // A read bounded in time keeps trying until its time is up, then stops as incomplete (the caller
                // says how far back it reaches): LookupEvents' 2 calls a second are shared with every checker, and
                // a burst of checks must not fail a quarter's review. An unbounded read gives up after a few.
                Err(e)
                    if e.code() == Some("ThrottlingException") && (retries < THROTTLE_RETRIES || until.is_some()) =>
                {
                    let backoff = FIRST_BACKOFF.saturating_mul(2u32.saturating_pow(retries.min(THROTTLE_RETRIES)));
                    let wait = until.map_or(backoff, |until| {
                        backoff.min(until.saturating_duration_since(Instant::now()))
                    });
                    retries = retries.saturating_add(1);
                    tracing::warn!(
                        retry = retries,
                        wait_ms = wait.as_millis() as u64,
                        "LookupEvents throttled"
                    );
                    tokio::time::sleep(wait).await;
                }
                Err(e) => return Err(Error::aws(SERVICE, OPERATION, e)),
            }
        }
    }
}

impl ActivityLog for CloudTrailActivityLog {
    async fn lookup(&self, query: &ActivityQuery) -> Result<ActivityRead> {
        let until = query.budget.map(|budget| Instant::now() + budget);
        let mut events = Vec::new();
        let mut next_token: Option<String> = None;
        let mut pages = 0usize;
        let mut complete = true;
        loop {
            if pages >= query.max_pages {
                complete = false;
                break;
            }
            let sent = next_token.clone();
            let Some(page) = self.page(query, next_token.take(), until).await? else {
                complete = false;
                break;
            };
            pages += 1;
            for event in page.events.unwrap_or_default() {
                let record = event.cloud_trail_event.ok_or_else(|| Error::AwsContract {
                    service: SERVICE,
                    operation: OPERATION,
                    problem: format!("event {:?} has no CloudTrailEvent", event.event_id.unwrap_or_default()),
                })?;
                events.push(parse_cloudtrail_record(&record)?);
            }
            match page.next_token.filter(|token| !token.is_empty()) {
                Some(token) if Some(&token) == sent.as_ref() => {
                    return Err(Error::AwsContract {
                        service: SERVICE,
                        operation: OPERATION,
                        problem: "answered with the NextToken it was sent".into(),
                    });
                }
                Some(token) => next_token = Some(token),
                None => break,
            }
        }
        // LookupEvents answers newest first.
        events.sort_by(|a, b| {
            a.event_time
                .cmp(&b.event_time)
                .then_with(|| a.event_id.cmp(&b.event_id))
        });
        tracing::info!(events = events.len(), pages, complete, "CloudTrail events looked up");
        Ok(ActivityRead { events, complete })
    }
}

/// Hands out call slots at least `spacing` apart, to every caller sharing it.
#[derive(Debug)]
struct CallSpacing {
    spacing: Duration,
    next_slot: Mutex<Option<Instant>>,
}

impl CallSpacing {
    fn new(spacing: Duration) -> Self {
        Self {
            spacing,
            next_slot: Mutex::new(None),
        }
    }

    async fn wait_turn(&self) {
        let slot = {
            let mut next_slot = self.next_slot.lock().await;
            let now = Instant::now();
            let slot = next_slot.map_or(now, |next| next.max(now));
            *next_slot = Some(slot + self.spacing);
            slot
        };
        tokio::time::sleep_until(slot).await;
    }
}

fn lookup_attribute(attribute: &LookupAttribute) -> Result<cloudtrail::types::LookupAttribute> {
    let (key, value) = match attribute {
        LookupAttribute::EventSource(value) => (LookupAttributeKey::EventSource, value),
        LookupAttribute::EventName(value) => (LookupAttributeKey::EventName, value),
        LookupAttribute::Username(value) => (LookupAttributeKey::Username, value),
        LookupAttribute::ResourceName(value) => (LookupAttributeKey::ResourceName, value),
    };
    cloudtrail::types::LookupAttribute::builder()
        .attribute_key(key)
        .attribute_value(value)
        .build()
        .map_err(|e| Error::aws(SERVICE, OPERATION, e))
}

fn smithy_time(time: DateTime<Utc>) -> aws_smithy_types::DateTime {
    aws_smithy_types::DateTime::from_millis(time.timestamp_millis())
}

/// The fields every CloudTrail record has; the rest is read as JSON where it is found.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RecordHead {
    #[serde(rename = "eventID")]
    event_id: String,
    event_name: String,
    event_source: String,
    event_time: DateTime<Utc>,
    error_code: Option<String>,
    recipient_account_id: Option<String>,
    aws_region: Option<String>,
}

/// Reads one CloudTrail record (the JSON of LookupEvents' `CloudTrailEvent`, or an EventBridge "AWS API Call via
/// CloudTrail" event's `detail`) into who did what, when, and to whom.
pub fn parse_cloudtrail_record(json: &str) -> Result<ActivityEvent> {
    let decode = |source| Error::Decode {
        what: "CloudTrail record",
        source,
    };
    let record: Value = serde_json::from_str(json).map_err(decode)?;
    let head = RecordHead::deserialize(&record).map_err(decode)?;
    let text = |pointer: &str| record.pointer(pointer).and_then(Value::as_str);

    let role_session = text("/userIdentity/arn").and_then(sso_role_session);
    let head_is_portal = head.event_source == crate::collect::PORTAL_EVENT_SOURCE;
    let actor_user_name = text("/additionalEventData/UserName")
        .or(role_session.map(|(_, session)| session))
        .map(str::to_owned);
    let target_user_id = target_user_pointers(&head.event_source, &head.event_name)
        .iter()
        .find_map(|pointer| text(pointer).and_then(|id| IdcUserId::parse(id).ok()));

    Ok(ActivityEvent {
        actor_user_id: text("/userIdentity/onBehalfOf/userId").and_then(|id| IdcUserId::parse(id).ok()),
        actor_user_name,
        role_name: role_session.map(|(role, _)| role.to_owned()),
        target_user_id,
        event_id: head.event_id,
        event_name: head.event_name,
        event_source: head.event_source,
        event_time: head.event_time,
        error_code: head.error_code,
        account_id: head.recipient_account_id,
        region: head.aws_region,
        // UNVERIFIED which of the two the portal's events carry in every case: the samples have both; read either.
        target_account_id: text("/requestParameters/accountId")
            .or(text("/serviceEventDetails/accountId"))
            .filter(|_| head_is_portal)
            .map(str::to_owned),
    })
}

/// `arn:aws:sts::<account>:assumed-role/AWSReservedSSO_<set>_<hash>/<session>` → (role name, session name).
/// Identity Center names the session after the user's `UserName`.
fn sso_role_session(arn: &str) -> Option<(&str, &str)> {
    let (_, path) = arn.split_once(":assumed-role/")?;
    let (role, session) = path.split_once('/')?;
    (role.starts_with(SSO_ROLE_PREFIX) && !session.is_empty()).then_some((role, session))
}

/// Where the user a call acted on is named: for SCIM user calls the SCIM resource id (the Identity Center user id);
/// for identity-store writes the `userId` parameter. Group calls, reads and other sources name no target user.
fn target_user_pointers(event_source: &str, event_name: &str) -> &'static [&'static str] {
    const READS: [&str; 4] = ["Describe", "Get", "List", "IsMemberInGroups"];
    if event_source == SCIM_EVENT_SOURCE && event_name.ends_with("User") {
        &["/requestParameters/id", "/responseElements/id"]
    } else if event_source == IDENTITY_STORE_EVENT_SOURCE && !READS.iter().any(|read| event_name.starts_with(read)) {
        &[
            "/requestParameters/userId",
            "/requestParameters/memberId/userId",
            "/responseElements/userId",
        ]
    } else {
        &[]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(name: &str) -> ActivityEvent {
        let json = match name {
            "scim-patch-user" => include_str!("../../../events/cloudtrail/scim-patch-user.json"),
            "scim-patch-user-failed" => include_str!("../../../events/cloudtrail/scim-patch-user-failed.json"),
            "scim-patch-group" => include_str!("../../../events/cloudtrail/scim-patch-group.json"),
            "portal-federate" => include_str!("../../../events/cloudtrail/portal-federate.json"),
            "portal-get-role-credentials" => {
                include_str!("../../../events/cloudtrail/portal-get-role-credentials.json")
            }
            "sso-role-session" => include_str!("../../../events/cloudtrail/sso-role-session.json"),
            "signin-user-authentication" => include_str!("../../../events/cloudtrail/signin-user-authentication.json"),
            "identitystore-update-user" => include_str!("../../../events/cloudtrail/identitystore-update-user.json"),
            other => panic!("no sample {other}"),
        };
        parse_cloudtrail_record(json).unwrap()
    }

    #[test]
    fn a_scim_patch_user_names_its_target_user() {
        let event = sample("scim-patch-user");
        assert_eq!(event.event_name, "PatchUser");
        assert!(event.is_scim_user_write());
        assert_eq!(
            event.target_user_id.as_ref().unwrap().as_str(),
            "c4488478-a0e1-700e-3d75-96c6bb641596"
        );
        assert_eq!(event.actor_user_id, None);
        assert_eq!(event.actor_user_name, None);
        assert_eq!(event.error_code, None);
        assert_eq!(event.account_id.as_deref(), Some("111122223333"));
        assert_eq!(event.event_time.to_rfc3339(), "2026-11-20T09:14:07+00:00");
    }

    #[test]
    fn a_failed_scim_call_keeps_its_error_code() {
        let event = sample("scim-patch-user-failed");
        assert_eq!(event.error_code.as_deref(), Some("ValidationException"));
        assert!(!event.is_use_of_access());
        assert_eq!(
            event.target_user_id.as_ref().unwrap().as_str(),
            "c4488478-a0e1-700e-3d75-96c6bb641596"
        );
    }

    #[test]
    fn a_scim_group_call_names_no_target_user() {
        let event = sample("scim-patch-group");
        assert_eq!(event.event_name, "PatchGroup");
        assert_eq!(event.target_user_id, None);
    }

    #[test]
    fn portal_events_name_the_identity_center_user_acting() {
        for name in ["portal-federate", "portal-get-role-credentials"] {
            let event = sample(name);
            assert_eq!(event.event_source, "sso.amazonaws.com");
            assert_eq!(
                event.actor_user_id.as_ref().map(IdcUserId::as_str),
                Some("94d00cd8-e9e6-4810-b177-b08e84775435"),
                "{name}"
            );
            assert!(event.is_use_of_access(), "{name}");
            assert_eq!(event.target_user_id, None, "{name}");
            assert_eq!(
                event.target_account_id.as_deref(),
                Some("444455556666"),
                "{name}: the session's account"
            );
            assert!(event.hands_out_session(), "{name}");
        }
    }

    #[test]
    fn a_permission_set_role_session_names_the_user_and_the_role() {
        let event = sample("sso-role-session");
        assert_eq!(event.actor_user_name.as_deref(), Some("alice@example.com"));
        assert_eq!(
            event.role_name.as_deref(),
            Some("AWSReservedSSO_Developer_0123456789abcdef")
        );
        assert_eq!(event.account_id.as_deref(), Some("444455556666"));
        let alice = IdcUserId::parse("94d00cd8-e9e6-4810-b177-b08e84775435").unwrap();
        assert!(event.is_by(&alice, "Alice@Example.com"));
    }

    #[test]
    fn a_sign_in_names_the_user_from_additional_event_data() {
        let event = sample("signin-user-authentication");
        assert_eq!(event.actor_user_name.as_deref(), Some("alice@example.com"));
        assert_eq!(event.role_name, None);
    }

    #[test]
    fn an_identity_store_write_names_its_target_user() {
        let event = sample("identitystore-update-user");
        assert_eq!(
            event.target_user_id.as_ref().unwrap().as_str(),
            "906784b8-3081-70c8-a6d0-8d8c3e5f1c01"
        );
        assert!(!event.is_scim());
    }

    #[test]
    fn roles_not_provisioned_by_identity_center_name_no_user() {
        assert_eq!(
            sso_role_session("arn:aws:sts::111122223333:assumed-role/AWSReservedSSO_ReadOnly_1a2b3c4d5e6f7a8b/bob"),
            Some(("AWSReservedSSO_ReadOnly_1a2b3c4d5e6f7a8b", "bob"))
        );
        assert_eq!(
            sso_role_session("arn:aws:sts::111122223333:assumed-role/deploy/ci-run-42"),
            None
        );
        assert_eq!(sso_role_session("arn:aws:iam::111122223333:user/alice"), None);
        assert_eq!(
            sso_role_session("arn:aws:sts::111122223333:assumed-role/AWSReservedSSO_X_1/"),
            None
        );
    }

    #[test]
    fn target_ids_that_are_not_ids_are_left_out() {
        let json = r#"{"eventID":"e1","eventName":"PatchUser","eventSource":"identitystore-scim.amazonaws.com",
            "eventTime":"2026-11-20T09:14:07Z","requestParameters":{"id":"HIDDEN_DUE_TO_SECURITY_REASONS"}}"#;
        assert_eq!(parse_cloudtrail_record(json).unwrap().target_user_id, None);
    }

    #[test]
    fn a_record_without_its_required_fields_is_a_decode_error() {
        let error = parse_cloudtrail_record(r#"{"eventName":"PatchUser"}"#).unwrap_err();
        assert!(matches!(error, Error::Decode { .. }), "{error:?}");
        assert!(parse_cloudtrail_record("not json").is_err());
    }

    #[tokio::test]
    async fn call_slots_are_handed_out_at_least_the_spacing_apart() {
        let spacing = CallSpacing::new(Duration::from_millis(40));
        let start = Instant::now();
        for _ in 0..4 {
            spacing.wait_turn().await;
        }
        // The first slot is immediate; three more follow, 40 ms apart.
        assert!(start.elapsed() >= Duration::from_millis(120), "{:?}", start.elapsed());
    }
}
