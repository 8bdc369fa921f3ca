//! identity-center-watch: EventBridge events (CloudTrail API calls on Identity Center, the AWS Health SCIM-token
//! notice) arriving through SQS, read into domain events, judged by `rules::identity_center_events`, findings
//! published. The handler orchestrates; the rules decide.
//!
//! Delivery: EventBridge rules → an SQS queue (DLQ after a few receives) → this function with
//! ReportBatchItemFailures. A message whose findings could not be published, or whose handling panicked, is
//! reported back and redelivered. A message of a shape we do not know is counted, logged by id and acknowledged:
//! retrying it cannot help.

use std::collections::HashSet;
use std::panic::AssertUnwindSafe;

use aws_lambda_events::sqs::{SqsBatchResponse, SqsEvent};
use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::{Value, json};

use crate::config::{Env, optional, required};
use crate::domain::activity_record::{RecordEntry, record_entry};
use crate::domain::idc::parse_iso8601_time_duration;
use crate::domain::idc_event::SCIM_TOKEN_EXPIRY_EVENT_TYPE;
use crate::domain::{ApiCall, PermissionSet, RequestFields, ScimTokenNotice, WatchEvent};
use crate::error::{Error, Result};
use crate::metrics::{MetricSink, NAMESPACE};
use crate::ports::{ActivityRecord, Notifier};
use crate::rules::identity_center_events::{WatchPolicy, evaluate, group_findings};

/// The EMF metric counting events the watch could not read (dimension `Reason`).
pub const UNRECOGNISED_METRIC: &str = "WatchEventsUnrecognised";

/// Sign-in events come as "AWS Console Sign In via CloudTrail" in EventBridge's docs and "…Signin…" in others:
/// both spellings are read (UNVERIFIED which one IdC sign-ins carry).
const CLOUDTRAIL_DETAIL_TYPES: [&str; 4] = [
    "AWS API Call via CloudTrail",
    "AWS Service Event via CloudTrail",
    "AWS Console Sign In via CloudTrail",
    "AWS Console Signin via CloudTrail",
];
/// Days an activity record entry is kept (DynamoDB TTL), by default.
const DEFAULT_RECORD_DAYS: i64 = 400;

/// `FINDINGS_TOPIC_ARN`, `MAX_SESSION_DURATION` (ISO-8601, default `PT8H`), `PRIVILEGED_PERMISSION_SETS`
/// (comma-separated permission set ARNs or names; names are resolved to ARNs at cold start).
#[derive(Debug, Clone)]
pub struct IdentityCenterWatchSettings {
    pub topic_arn: String,
    pub policy: WatchPolicy,
    /// Privileged permission sets named by name: CloudTrail names sets by ARN only, so these are looked up once.
    pub privileged_names: Vec<String>,
    /// `IDC_INSTANCE_ARN` + `IDENTITY_STORE_ID`, for that look-up (else the instance is discovered).
    pub idc_instance: Option<crate::domain::IdcInstance>,
    /// `ACTIVITY_TABLE_NAME`: where SCIM writes and sign-ins are recorded; none, no record.
    pub activity_table: Option<String>,
    /// `ACTIVITY_RECORD_DAYS` (default 400, at most 3650): how long entries are kept.
    pub record_keep_for: chrono::Duration,
}

impl IdentityCenterWatchSettings {
    pub fn from_env(env: &impl Env) -> Result<Self> {
        let max_session = optional(env, "MAX_SESSION_DURATION").unwrap_or_else(|| "PT8H".into());
        let max_session_seconds = parse_iso8601_time_duration(&max_session)
            .filter(|s| *s > 0)
            .ok_or_else(|| Error::config("MAX_SESSION_DURATION", "must be an ISO-8601 duration such as PT8H"))?;
        let mut arns = HashSet::new();
        let mut names = Vec::new();
        for entry in optional(env, "PRIVILEGED_PERMISSION_SETS")
            .unwrap_or_default()
            .split(',')
            .map(str::trim)
            .filter(|e| !e.is_empty())
        {
            if entry.starts_with("arn:") {
                arns.insert(entry.to_owned());
            } else {
                names.push(entry.to_owned());
            }
        }
        Ok(Self {
            topic_arn: required(env, "FINDINGS_TOPIC_ARN")?,
            policy: WatchPolicy {
                max_session,
                max_session_seconds,
                privileged_permission_sets: arns,
            },
            privileged_names: names,
            idc_instance: crate::config::idc_instance_from_env(env)?,
            activity_table: optional(env, "ACTIVITY_TABLE_NAME"),
            record_keep_for: match optional(env, "ACTIVITY_RECORD_DAYS") {
                None => chrono::Duration::days(DEFAULT_RECORD_DAYS),
                Some(text) => text
                    .parse::<i64>()
                    .ok()
                    .filter(|d| (1..=3650).contains(d))
                    .map(chrono::Duration::days)
                    .ok_or_else(|| Error::config("ACTIVITY_RECORD_DAYS", "must be a whole number from 1 to 3650"))?,
            },
        })
    }
}

/// Adds the ARNs of the named permission sets to the policy; answers the names no set has.
pub fn resolve_privileged_names(policy: &mut WatchPolicy, names: &[String], sets: &[PermissionSet]) -> Vec<String> {
    let mut unknown = Vec::new();
    for name in names {
        let found: Vec<_> = sets.iter().filter(|s| &s.name == name).collect();
        if found.is_empty() {
            unknown.push(name.clone());
        }
        policy
            .privileged_permission_sets
            .extend(found.into_iter().map(|s| s.arn.to_string()));
    }
    unknown
}

/// The watch, with its notifier, metric sink and activity record.
#[derive(Debug)]
pub struct IdentityCenterWatch<N, M, R> {
    pub notifier: N,
    pub metrics: M,
    pub record: R,
    pub policy: WatchPolicy,
}

impl
    IdentityCenterWatch<
        crate::aws::SnsNotifier,
        crate::metrics::StdoutMetrics,
        Option<crate::aws::DynamoDbActivityRecord>,
    >
{
    /// The production watch: SNS, stdout metrics, privileged names resolved through sso-admin (only when some
    /// are configured by name).
    pub async fn connect(settings: &IdentityCenterWatchSettings, sdk: &aws_config::SdkConfig) -> Result<Self> {
        use crate::ports::IdentityCenter;
        let mut policy = settings.policy.clone();
        if !settings.privileged_names.is_empty() {
            let idc = match &settings.idc_instance {
                Some(instance) => crate::aws::IdentityCenterClient::new(sdk, instance.clone()),
                None => crate::aws::IdentityCenterClient::discover(sdk).await?,
            };
            let sets = idc.permission_sets().await?;
            let unknown = resolve_privileged_names(&mut policy, &settings.privileged_names, &sets);
            if !unknown.is_empty() {
                tracing::warn!(names = ?unknown, "PRIVILEGED_PERMISSION_SETS names no permission set has; ignored");
            }
        }
        Ok(Self {
            notifier: crate::aws::SnsNotifier::new(sdk, settings.topic_arn.clone()),
            metrics: crate::metrics::StdoutMetrics,
            record: settings
                .activity_table
                .as_ref()
                .map(|table| crate::aws::DynamoDbActivityRecord::new(sdk, table.clone(), settings.record_keep_for)),
            policy,
        })
    }
}

/// What one batch came to.
#[derive(Debug, Default, Clone, PartialEq, Eq, Serialize)]
pub struct WatchReport {
    pub events: usize,
    /// Entries appended to the activity record.
    pub recorded: usize,
    pub unrecognised: usize,
    pub findings_published: usize,
    pub failed_messages: usize,
}

/// One message read: a domain event, or why it is not one.
#[derive(Debug, Clone, PartialEq)]
pub enum ReadEvent {
    Event(WatchEvent),
    /// A shape we do not read; the reason is a fixed text (never the payload).
    Unrecognised(&'static str),
}

impl<N: Notifier, M: MetricSink, R: ActivityRecord> IdentityCenterWatch<N, M, R> {
    /// An SQS batch (`Records`) gets a partial batch response; any other payload is taken as one EventBridge event
    /// (`cargo lambda invoke` with an events/ file) and answers its report.
    pub async fn handle_trigger(&self, payload: Value, now: DateTime<Utc>) -> Result<Value> {
        let encode = |source| Error::Decode {
            what: "watch response",
            source,
        };
        if payload.get("Records").is_some() {
            let event: SqsEvent = serde_json::from_value(payload).map_err(|source| Error::Decode {
                what: "SQS event",
                source,
            })?;
            let (response, _) = self.handle_batch(event, now).await;
            return serde_json::to_value(response).map_err(encode);
        }
        let (findings, entries, scim_call, unrecognised) = match read_event(&payload) {
            ReadEvent::Event(event) => {
                let scim_call = scim_call_time(&event);
                if scim_call.is_some() {
                    self.metrics.emit(&crate::metrics::scim_events(1, now));
                }
                (evaluate(&event, &self.policy, now), entries_of(&event), scim_call, 0)
            }
            ReadEvent::Unrecognised(reason) => {
                self.count_unrecognised(reason, now);
                (Vec::new(), Vec::new(), None, 1)
            }
        };
        if !entries.is_empty() {
            self.record.append(&entries).await?;
        }
        if let Some(at) = scim_call {
            self.record.note_scim_call(at).await?;
        }
        let findings = group_findings(findings);
        if !findings.is_empty() {
            self.notifier.publish(&findings).await?;
        }
        serde_json::to_value(WatchReport {
            events: 1,
            recorded: entries.len(),
            unrecognised,
            findings_published: findings.len(),
            failed_messages: 0,
        })
        .map_err(encode)
    }

    /// Reads and judges every message, groups findings of the whole batch by id (a burst of SCIM errors is one
    /// finding), publishes them in one call. If publishing fails, every message that contributed is reported back.
    pub async fn handle_batch(&self, event: SqsEvent, now: DateTime<Utc>) -> (SqsBatchResponse, WatchReport) {
        let mut response = SqsBatchResponse::default();
        let mut report = WatchReport::default();
        let mut findings = Vec::new();
        let mut contributors = Vec::new();
        let mut entries = Vec::new();
        let mut recorders = Vec::new();
        let mut latest_scim_call: Option<DateTime<Utc>> = None;
        let mut scim_events = 0usize;
        for message in event.records {
            let id = message.message_id.clone().unwrap_or_default();
            report.events = report.events.saturating_add(1);
            let judged = std::panic::catch_unwind(AssertUnwindSafe(|| {
                match message.body.as_deref().map(serde_json::from_str::<Value>) {
                    Some(Ok(body)) => match read_event(&body) {
                        ReadEvent::Event(event) => Ok((
                            evaluate(&event, &self.policy, now),
                            entries_of(&event),
                            scim_call_time(&event),
                        )),
                        ReadEvent::Unrecognised(reason) => Err(reason),
                    },
                    Some(Err(_)) => Err("body is not JSON"),
                    None => Err("no body"),
                }
            }));
            match judged {
                Ok(Ok((found, to_record, scim_call))) => {
                    if scim_call.is_some() {
                        scim_events = scim_events.saturating_add(1);
                    }
                    if !to_record.is_empty() || scim_call.is_some() {
                        recorders.push(id.clone());
                        entries.extend(to_record);
                    }
                    latest_scim_call = latest_scim_call.max(scim_call);
                    if !found.is_empty() {
                        contributors.push(id);
                        findings.extend(found);
                    }
                }
                Ok(Err(reason)) => {
                    tracing::warn!(message_id = %id, reason, "event not recognised; counted and acknowledged");
                    report.unrecognised = report.unrecognised.saturating_add(1);
                    self.count_unrecognised(reason, now);
                }
                Err(_panic) => {
                    tracing::error!(message_id = %id, "judging the event panicked; the message will be redelivered");
                    response.add_failure(id);
                }
            }
        }
        if scim_events > 0 {
            self.metrics.emit(&crate::metrics::scim_events(scim_events, now));
        }
        if !entries.is_empty() || latest_scim_call.is_some() {
            let appended = async {
                self.record.append(&entries).await?;
                match latest_scim_call {
                    Some(at) => self.record.note_scim_call(at).await,
                    None => Ok(()),
                }
            };
            match appended.await {
                Ok(()) => report.recorded = entries.len(),
                Err(e) => {
                    tracing::error!(error = %e.causes(), error_kind = e.kind(), messages = recorders.len(),
                        "appending to the activity record failed; those messages will be redelivered");
                    for id in recorders {
                        response.add_failure(id);
                    }
                }
            }
        }
        let findings = group_findings(findings);
        if !findings.is_empty() {
            match self.notifier.publish(&findings).await {
                Ok(()) => report.findings_published = findings.len(),
                Err(e) => {
                    tracing::error!(error = %e.causes(), error_kind = e.kind(), messages = contributors.len(),
                        "publishing findings failed; their messages will be redelivered");
                    for id in contributors {
                        response.add_failure(id);
                    }
                }
            }
        }
        // A message can fail twice (record and publish): report it once.
        let mut seen = HashSet::new();
        response
            .batch_item_failures
            .retain(|f| seen.insert(f.item_identifier.clone()));
        report.failed_messages = response.batch_item_failures.len();
        tracing::info!(
            events = report.events,
            unrecognised = report.unrecognised,
            findings = report.findings_published,
            failed = report.failed_messages,
            "watch batch done"
        );
        (response, report)
    }

    fn count_unrecognised(&self, reason: &'static str, at: DateTime<Utc>) {
        self.metrics.emit(
            &json!({
                "_aws": {
                    "Timestamp": at.timestamp_millis(),
                    "CloudWatchMetrics": [{
                        "Namespace": NAMESPACE,
                        "Dimensions": [["Reason"]],
                        "Metrics": [{"Name": UNRECOGNISED_METRIC, "Unit": "Count"}],
                    }],
                },
                "Reason": reason,
                UNRECOGNISED_METRIC: 1,
            })
            .to_string(),
        );
    }
}

/// A SCIM call from the identity provider: counted, so that SCIM going silent can alarm.
/// The activity record entries an event makes (SCIM user writes, sign-ins, role credentials).
fn entries_of(event: &WatchEvent) -> Vec<RecordEntry> {
    match event {
        WatchEvent::ApiCall(call) => record_entry(&call.event).into_iter().collect(),
        WatchEvent::ScimTokenExpiry(_) => Vec::new(),
    }
}

/// When an event is a SCIM call (any `identitystore-scim` event, failed or not): the `scim-silent` heartbeat's
/// sign that Okta's provisioning channel is alive.
fn scim_call_time(event: &WatchEvent) -> Option<DateTime<Utc>> {
    match event {
        WatchEvent::ApiCall(call) if call.event.is_scim() => Some(call.event.event_time),
        _ => None,
    }
}

/// Reads one EventBridge event. Never panics; any shape it does not know is `Unrecognised`.
pub fn read_event(envelope: &Value) -> ReadEvent {
    let text = |pointer: &str| envelope.pointer(pointer).and_then(Value::as_str);
    let Some(detail) = envelope.get("detail").filter(|d| d.is_object()) else {
        return ReadEvent::Unrecognised("no detail object");
    };
    if text("/source") == Some("aws.health") {
        return match read_health(envelope, detail) {
            Some(notice) => ReadEvent::Event(WatchEvent::ScimTokenExpiry(notice)),
            None => ReadEvent::Unrecognised("an AWS Health event other than the SCIM token notice"),
        };
    }
    match text("/detail-type") {
        Some(kind) if CLOUDTRAIL_DETAIL_TYPES.contains(&kind) => match read_api_call(detail) {
            Some(call) => ReadEvent::Event(WatchEvent::ApiCall(Box::new(call))),
            None => ReadEvent::Unrecognised("a CloudTrail detail without eventID, eventName, eventSource, eventTime"),
        },
        // Native identity-store notifications ("User Created", "Group Updated", …): AWS documents their envelope and
        // a `detail` holding only `event-version` (protocol notes §3.6; the rest UNVERIFIED). They name no caller,
        // so a SCIM write cannot be told from a manual one: `manual-identity-change` is judged on the CloudTrail
        // event of the same change (which says who), and these are counted only.
        Some(_) if text("/source") == Some("aws.identitystore") => {
            ReadEvent::Unrecognised("identity-store notification (names no caller; counted)")
        }
        _ => ReadEvent::Unrecognised("a detail-type the watch does not read"),
    }
}

/// The CloudTrail record in `detail`, through the same reader the checker uses, plus the fields the rules read.
fn read_api_call(detail: &Value) -> Option<ApiCall> {
    let event = crate::aws::parse_cloudtrail_record(&detail.to_string()).ok()?;
    let text = |pointer: &str| detail.pointer(pointer).and_then(Value::as_str).map(str::to_owned);
    let request = RequestFields {
        principal_type: text("/requestParameters/principalType"),
        principal_id: text("/requestParameters/principalId"),
        // UNVERIFIED: that CreateAccountAssignment's CloudTrail requestParameters mirror the API's camelCase
        // request (instanceArn, targetId, targetType, permissionSetArn, principalType, principalId).
        target_account: text("/requestParameters/targetId"),
        permission_set_arn: text("/requestParameters/permissionSetArn")
            .or_else(|| text("/responseElements/permissionSet/permissionSetArn")),
        permission_set_name: text("/requestParameters/name").or_else(|| text("/responseElements/permissionSet/name")),
        session_duration: text("/requestParameters/sessionDuration"),
        group_id: text("/requestParameters/groupId").or_else(|| text("/responseElements/groupId")),
    };
    Some(ApiCall {
        event,
        identity_type: text("/userIdentity/type"),
        actor: text("/userIdentity/arn")
            .or_else(|| text("/userIdentity/onBehalfOf/userId"))
            .or_else(|| text("/userIdentity/principalId")),
        request,
    })
}

/// The AWS Health SCIM token notice. UNVERIFIED: the `detail` fields (eventArn, eventTypeCode, startTime,
/// endTime) follow AWS Health's general EventBridge event; Health writes times as RFC 2822 (`Wed, 02 Dec 2026
/// 00:00:00 GMT`), RFC 3339 is read too.
fn read_health(envelope: &Value, detail: &Value) -> Option<ScimTokenNotice> {
    let text = |value: &Value, pointer: &str| value.pointer(pointer).and_then(Value::as_str).map(str::to_owned);
    if text(detail, "/eventTypeCode").as_deref() != Some(SCIM_TOKEN_EXPIRY_EVENT_TYPE) {
        return None;
    }
    let time = |value: &Value, pointer: &str| text(value, pointer).and_then(|t| parse_time(&t));
    Some(ScimTokenNotice {
        event_arn: text(detail, "/eventArn")
            .or_else(|| text(envelope, "/id"))
            .unwrap_or_else(|| SCIM_TOKEN_EXPIRY_EVENT_TYPE.into()),
        account_id: text(envelope, "/account"),
        region: text(envelope, "/region"),
        sent_at: time(envelope, "/time"),
        start_time: time(detail, "/startTime"),
        end_time: time(detail, "/endTime"),
    })
}

fn parse_time(text: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(text)
        .or_else(|_| DateTime::parse_from_rfc2822(text))
        .ok()
        .map(|t| t.with_timezone(&Utc))
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    fn env(pairs: &[(&str, &str)]) -> impl Env + use<> {
        let map: HashMap<String, String> = pairs.iter().map(|(k, v)| ((*k).into(), (*v).into())).collect();
        move |name: &str| map.get(name).cloned()
    }

    const TOPIC: (&str, &str) = ("FINDINGS_TOPIC_ARN", "arn:aws:sns:us-east-1:111122223333:findings");

    #[test]
    fn settings_default_to_eight_hours_and_split_arns_from_names() {
        let settings = IdentityCenterWatchSettings::from_env(&env(&[
            TOPIC,
            (
                "PRIVILEGED_PERMISSION_SETS",
                "arn:aws:sso:::permissionSet/ssoins-1/ps-1, Operations ,",
            ),
        ]))
        .expect("settings");
        assert_eq!(settings.policy.max_session_seconds, 8 * 3600);
        assert_eq!(
            settings.policy.privileged_permission_sets,
            ["arn:aws:sso:::permissionSet/ssoins-1/ps-1".to_owned()].into()
        );
        assert_eq!(settings.privileged_names, ["Operations"]);
    }

    #[test]
    fn a_bad_maximum_session_names_its_variable() {
        for bad in ["8h", "PT", "PT0H", "PT99999999999999999999H"] {
            let error =
                IdentityCenterWatchSettings::from_env(&env(&[TOPIC, ("MAX_SESSION_DURATION", bad)])).expect_err(bad);
            assert!(error.to_string().contains("MAX_SESSION_DURATION"), "{error}");
        }
        let error = IdentityCenterWatchSettings::from_env(&env(&[])).expect_err("no topic");
        assert!(error.to_string().contains("FINDINGS_TOPIC_ARN"), "{error}");
    }

    #[test]
    fn names_resolve_to_arns_and_unknown_names_are_answered() {
        let sets = [PermissionSet {
            arn: crate::domain::PermissionSetArn::parse("arn:aws:sso:::permissionSet/ssoins-1/ps-0123456789abcdef")
                .expect("an arn"),
            name: "Operations".into(),
            session_duration: Some("PT1H".into()),
        }];
        let mut policy = WatchPolicy::default();
        let unknown = resolve_privileged_names(&mut policy, &["Operations".into(), "Nope".into()], &sets);
        assert_eq!(unknown, ["Nope"]);
        assert!(
            policy
                .privileged_permission_sets
                .contains("arn:aws:sso:::permissionSet/ssoins-1/ps-0123456789abcdef")
        );
    }

    #[test]
    fn health_times_are_read_in_both_formats() {
        assert_eq!(
            parse_time("Wed, 02 Dec 2026 00:00:00 GMT").map(|t| t.to_rfc3339()),
            Some("2026-12-02T00:00:00+00:00".into())
        );
        assert!(parse_time("2026-12-02T00:00:00Z").is_some());
        assert_eq!(parse_time("soon"), None);
    }

    #[test]
    fn shapes_not_known_are_unrecognised() {
        for envelope in [
            json!(null),
            json!({"detail": 3}),
            json!({"detail-type": "AWS API Call via CloudTrail", "detail": {"eventName": "X"}}),
            json!({"source": "aws.health", "detail": {"eventTypeCode": "AWS_EC2_OTHER"}}),
            json!({"source": "aws.identitystore", "detail-type": "User Created", "detail": {}}),
        ] {
            assert!(
                matches!(read_event(&envelope), ReadEvent::Unrecognised(_)),
                "{envelope}"
            );
        }
    }
}
