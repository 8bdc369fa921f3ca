//! Which Okta events end someone's AWS access, and the verification job each one becomes.

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

use super::ids::{OktaAppId, OktaEventId, OktaGroupId, OktaUserId};
use super::okta::OktaLogEvent;

/// What Okta did that should take AWS access away.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum DeprovisionKind {
    /// `user.lifecycle.deactivate`: Okta deprovisions the user from every app; SCIM should disable them.
    Deactivated,
    /// `user.lifecycle.suspend`: Okta keeps app assignments; IdC may rightly stay ENABLED.
    Suspended,
    /// `user.lifecycle.delete.initiated`.
    DeleteInitiated,
    /// `application.user_membership.remove`: unassigned from the AWS app; SCIM should disable them.
    AppUnassigned,
    /// `group.user_membership.remove`: out of an Okta group; if pushed, the IdC membership should go.
    GroupRemoved,
    /// `application.provision.*` with outcome FAILURE: a push to AWS failed for this user.
    PushFailed,
}

/// `group.application_assignment.remove`: a whole group unassigned from the AWS app. It names no user: the
/// checker reads the group's members from Okta and queues an app-unassignment job for each.
pub const GROUP_APP_UNASSIGNMENT: &str = "group.application_assignment.remove";

/// The event types that become jobs (push failures are matched by prefix and outcome).
pub const DEPROVISION_EVENT_TYPES: [&str; 6] = [
    "user.lifecycle.deactivate",
    "user.lifecycle.suspend",
    "user.lifecycle.delete.initiated",
    "application.user_membership.remove",
    "group.user_membership.remove",
    GROUP_APP_UNASSIGNMENT,
];

/// Push failures: `application.provision.user.push_profile`, `.deactivate`, … and group-membership pushes.
pub const PUSH_FAILURE_PREFIXES: [&str; 2] = ["application.provision.user.", "application.provision.group_membership."];

/// Push failures asked for by exact type where a filter needs one (the System Log sweep and snapshots).
pub const PUSH_FAILURE_EVENT_TYPES: [&str; 5] = [
    "application.provision.user.push_profile",
    "application.provision.user.deactivate",
    "application.provision.user.push",
    "application.provision.user.sync",
    "application.provision.group_membership.remove",
];

/// Every event type worth reading from the System Log: the deprovisions and the push failures.
pub fn watched_event_types() -> Vec<String> {
    DEPROVISION_EVENT_TYPES
        .iter()
        .chain(PUSH_FAILURE_EVENT_TYPES.iter())
        .map(|t| (*t).to_owned())
        .collect()
}

/// Where a job came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum JobSource {
    EventHook,
    SystemLogSweep,
    /// `deprov-audit verify`, run by a person.
    OnDemand,
}

/// One deprovision of one user, to be verified in AWS once the propagation window is over.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VerificationJob {
    /// The Okta System Log event uuid.
    pub okta_event_id: OktaEventId,
    pub event_type: String,
    pub kind: DeprovisionKind,
    pub published: DateTime<Utc>,
    pub okta_user_id: OktaUserId,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub login: Option<String>,
    /// The app the user was unassigned from (app events).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub app_id: Option<OktaAppId>,
    /// The group the user left (group events).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group_id: Option<OktaGroupId>,
    /// End of the propagation window: the event's publication plus the window.
    pub check_after: DateTime<Utc>,
    pub source: JobSource,
    /// How many checks have found it not yet propagated.
    #[serde(default)]
    pub attempt: u32,
    /// A last look, after a final verdict, for use of AWS that CloudTrail had not delivered yet (it can take
    /// 15 minutes): only activity is judged.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub follow_up: bool,
    /// For a follow-up look with an org-wide activity source: the watch it carries on (issue 8). `None` on a job
    /// queued before the watch existed: one look, as before.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub watch: Option<Watch>,
    /// The app username an app-unassignment event names (its `AppUser` target): Okta's record of the IdC
    /// `userName`, kept in the job because Okta may remove the app user before the check.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub app_user_name: Option<String>,
    /// The episode this job's checks belong to, once the checker has placed it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub episode_id: Option<String>,
    /// The re-check chain this job carries on (its owner token in the ledger).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub chain_token: Option<String>,
    /// The chain's step this job is: the ledger lets exactly one job hold each step, so a message SQS delivers
    /// twice (or a retried batch) cannot fork the chain.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub chain_step: u32,
}

/// The watch for use of AWS after a verdict: until the last role session the person could hold has ended and the
/// org-wide source has caught up past that time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Watch {
    /// The last session can have ended by then: the latest session handed out (the deprovision, or a later
    /// `GetRoleCredentials`/`Federate`) plus the longest `SessionDuration` held. Only ever moved later.
    pub until: DateTime<Utc>,
    /// The next look reads the source from here (where the source had caught up to at the last look).
    pub read_from: DateTime<Utc>,
}

fn is_zero(n: &u32) -> bool {
    *n == 0
}

/// A whole group unassigned from the AWS app: to become one app-unassignment job per member.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GroupUnassignment {
    pub okta_event_id: OktaEventId,
    pub published: DateTime<Utc>,
    pub unassigned_group_id: OktaGroupId,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub app_id: Option<OktaAppId>,
    pub source: JobSource,
}

impl GroupUnassignment {
    /// The app-unassignment job of one member: keyed by the event and the member, checked after the window.
    pub fn job_for_member(&self, member: OktaUserId, window: Duration) -> VerificationJob {
        VerificationJob {
            okta_event_id: self.okta_event_id.clone(),
            event_type: GROUP_APP_UNASSIGNMENT.to_owned(),
            kind: DeprovisionKind::AppUnassigned,
            published: self.published,
            okta_user_id: member,
            login: None,
            app_id: self.app_id.clone(),
            group_id: Some(self.unassigned_group_id.clone()),
            // A date the hook accepted is never this close to chrono's end of time; saturating keeps this total.
            // The checker drops a job dated in the future anyway.
            check_after: self
                .published
                .checked_add_signed(window)
                .unwrap_or(DateTime::<Utc>::MAX_UTC),
            source: self.source,
            attempt: 0,
            follow_up: false,
            watch: None,
            app_user_name: None,
            episode_id: None,
            chain_token: None,
            chain_step: 0,
        }
    }
}

/// What the verification queue carries. A job keeps the body it always had (so messages queued by an older
/// version still read); a group unassignment is told apart by its `unassigned_group_id`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum QueuedWork {
    GroupUnassignment(GroupUnassignment),
    Verify(VerificationJob),
}

impl QueuedWork {
    /// The stable key of the work: a job's `<event uuid>:<user>`, a group unassignment's `<event uuid>:<group>`.
    pub fn key(&self) -> String {
        match self {
            Self::Verify(job) => job.key(),
            Self::GroupUnassignment(work) => format!("{}:{}", work.okta_event_id, work.unassigned_group_id),
        }
    }

    pub fn verification(&self) -> Option<&VerificationJob> {
        match self {
            Self::Verify(job) => Some(job),
            Self::GroupUnassignment(_) => None,
        }
    }
}

impl From<VerificationJob> for QueuedWork {
    fn from(job: VerificationJob) -> Self {
        Self::Verify(job)
    }
}

impl VerificationJob {
    /// `<event uuid>:<user id>`: the same deprovision always has the same key, however often it is delivered.
    pub fn key(&self) -> String {
        format!("{}:{}", self.okta_event_id, self.okta_user_id)
    }
}

/// What one System Log event means to the auditor.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Classification {
    Deprovision(DeprovisionKind),
    /// Not about ending access (or about another app): counted and dropped.
    Irrelevant,
}

/// Decides by `eventType` and outcome; targets are looked up by type, never by position.
pub fn classify(event: &OktaLogEvent, aws_app: Option<&OktaAppId>) -> Classification {
    let failed = event
        .outcome
        .as_deref()
        .is_some_and(|o| o.eq_ignore_ascii_case("FAILURE"));
    let is_push = PUSH_FAILURE_PREFIXES.iter().any(|p| event.event_type.starts_with(p));
    let kind = match event.event_type.as_str() {
        _ if is_push && failed => DeprovisionKind::PushFailed,
        _ if is_push => return Classification::Irrelevant,
        // A lifecycle change that failed changed nothing.
        _ if failed => return Classification::Irrelevant,
        "user.lifecycle.deactivate" => DeprovisionKind::Deactivated,
        "user.lifecycle.suspend" => DeprovisionKind::Suspended,
        "user.lifecycle.delete.initiated" => DeprovisionKind::DeleteInitiated,
        "application.user_membership.remove" => DeprovisionKind::AppUnassigned,
        "group.user_membership.remove" => DeprovisionKind::GroupRemoved,
        GROUP_APP_UNASSIGNMENT => DeprovisionKind::AppUnassigned,
        _ => return Classification::Irrelevant,
    };
    let about_other_app = match (aws_app, event.target("AppInstance")) {
        (Some(aws_app), Some(app)) => app.id != aws_app.as_str(),
        _ => false,
    };
    if about_other_app {
        Classification::Irrelevant
    } else {
        Classification::Deprovision(kind)
    }
}

/// Why a deprovisioning event could not become a job.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unusable {
    pub okta_event_id: String,
    pub event_type: String,
    pub reason: &'static str,
}

/// The job for one deprovisioning event, or why there can be none.
pub fn job_for(
    event: &OktaLogEvent,
    kind: DeprovisionKind,
    window: Duration,
    source: JobSource,
) -> Result<VerificationJob, Unusable> {
    let unusable = |reason| Unusable {
        okta_event_id: event.uuid.to_string(),
        event_type: event.event_type.clone(),
        reason,
    };
    let user = event.target("User").ok_or_else(|| unusable("no target of type User"))?;
    let okta_user_id =
        OktaUserId::parse(user.id.clone()).map_err(|_| unusable("the User target's id is not an Okta id"))?;
    let app_id = event
        .target("AppInstance")
        .and_then(|t| OktaAppId::parse(t.id.clone()).ok());
    let group_id = event
        .target("UserGroup")
        .and_then(|t| OktaGroupId::parse(t.id.clone()).ok());
    if kind == DeprovisionKind::GroupRemoved && group_id.is_none() {
        return Err(unusable("no target of type UserGroup"));
    }
    // `published` is whatever the sender wrote (chrono reads years up to 262143): the window must not overflow.
    let check_after = event
        .published
        .checked_add_signed(window)
        .ok_or_else(|| unusable("published too close to the end of time"))?;
    // UNVERIFIED (third-party samples only): the AppUser target's alternateId is the app username.
    let app_user_name = event
        .target("AppUser")
        .and_then(|t| t.alternate_id.clone())
        .filter(|name| !name.is_empty());
    Ok(VerificationJob {
        okta_event_id: event.uuid.clone(),
        event_type: event.event_type.clone(),
        kind,
        published: event.published,
        okta_user_id,
        login: user.alternate_id.clone(),
        app_id,
        group_id,
        check_after,
        source,
        attempt: 0,
        follow_up: false,
        watch: None,
        app_user_name,
        episode_id: None,
        chain_token: None,
        chain_step: 0,
    })
}

/// The work for a whole group unassigned from the app (targets found by type: UNVERIFIED order).
fn group_unassignment_for(event: &OktaLogEvent, source: JobSource) -> Result<GroupUnassignment, Unusable> {
    let group = event.target("UserGroup").ok_or_else(|| Unusable {
        okta_event_id: event.uuid.to_string(),
        event_type: event.event_type.clone(),
        reason: "no target of type UserGroup",
    })?;
    let unassigned_group_id = OktaGroupId::parse(group.id.clone()).map_err(|_| Unusable {
        okta_event_id: event.uuid.to_string(),
        event_type: event.event_type.clone(),
        reason: "the UserGroup target's id is not an Okta id",
    })?;
    Ok(GroupUnassignment {
        okta_event_id: event.uuid.clone(),
        published: event.published,
        unassigned_group_id,
        app_id: event
            .target("AppInstance")
            .and_then(|t| OktaAppId::parse(t.id.clone()).ok()),
        source,
    })
}

/// Every job in a batch of events, with the counts of what was left out and why.
#[derive(Debug, Default)]
pub struct Selection {
    pub jobs: Vec<VerificationJob>,
    /// Whole groups unassigned from the app: expanded into member jobs by the checker.
    pub group_unassignments: Vec<GroupUnassignment>,
    pub irrelevant: usize,
    pub unusable: Vec<Unusable>,
}

pub fn select_jobs(
    events: &[OktaLogEvent],
    aws_app: Option<&OktaAppId>,
    window: Duration,
    source: JobSource,
) -> Selection {
    let mut selection = Selection::default();
    for event in events {
        match classify(event, aws_app) {
            Classification::Irrelevant => selection.irrelevant += 1,
            Classification::Deprovision(_) if event.event_type == GROUP_APP_UNASSIGNMENT => {
                match group_unassignment_for(event, source) {
                    Ok(work) if selection.group_unassignments.contains(&work) => {}
                    Ok(work) => selection.group_unassignments.push(work),
                    Err(unusable) => selection.unusable.push(unusable),
                }
            }
            Classification::Deprovision(kind) => match job_for(event, kind, window, source) {
                Ok(job) if selection.jobs.iter().any(|j| j.key() == job.key()) => {}
                Ok(job) => selection.jobs.push(job),
                Err(unusable) => selection.unusable.push(unusable),
            },
        }
    }
    selection
}

/// The longest delay SQS can put on a message.
pub const MAX_QUEUE_DELAY_SECONDS: i64 = 900;

impl VerificationJob {
    /// Seconds until the window ends, as an SQS delay: 0 if it is over, at most 900.
    pub fn delay_from(&self, now: DateTime<Utc>) -> i32 {
        let seconds = (self.check_after - now).num_seconds().clamp(0, MAX_QUEUE_DELAY_SECONDS);
        i32::try_from(seconds).unwrap_or(0)
    }
}

/// A job made from a person's Okta status, for when the event itself is out of reach (older than the System
/// Log read): dated at the status change. `None` unless Okta shows them deprovisioned or suspended.
pub fn job_from_status(user: &super::okta::OktaUser, source: JobSource) -> Option<VerificationJob> {
    let kind = match user.effective_status() {
        super::okta::OktaUserStatus::Deprovisioned => DeprovisionKind::Deactivated,
        super::okta::OktaUserStatus::Suspended => DeprovisionKind::Suspended,
        _ => return None,
    };
    let at = user.status_changed?;
    Some(VerificationJob {
        okta_event_id: OktaEventId::parse(format!("status-{}", user.id)).ok()?,
        event_type: format!("status {}", user.status.as_str()),
        kind,
        published: at,
        okta_user_id: user.id.clone(),
        login: Some(user.login.to_string()),
        app_id: None,
        group_id: None,
        check_after: at,
        source,
        attempt: 0,
        follow_up: false,
        watch: None,
        app_user_name: None,
        episode_id: None,
        chain_token: None,
        chain_step: 0,
    })
}

/// How far ahead of the checker's clock an Okta timestamp may be (clock skew) before the job is refused: a job
/// "from the future" would otherwise wait and re-queue forever.
pub const FUTURE_SKEW: Duration = Duration::minutes(5);

/// How far from the checker's clock any date of queued work may lie. Okta's System Log keeps 90 days and a watch
/// lasts hours, so nothing the hook or the sweep queues comes near; a body dated near chrono's limits (year
/// −262143) would make the check's date arithmetic overflow. Such work is refused before any of it runs.
pub const MAX_WORK_DATE_DISTANCE: Duration = Duration::days(400);

impl QueuedWork {
    /// Every date the work carries lies within [`MAX_WORK_DATE_DISTANCE`] of `now`: the name of the first that
    /// does not, if any. Pure.
    pub fn date_out_of_range(&self, now: DateTime<Utc>) -> Option<&'static str> {
        let dates: Vec<(&'static str, DateTime<Utc>)> = match self {
            Self::GroupUnassignment(work) => vec![("published", work.published)],
            Self::Verify(job) => {
                let mut dates = vec![("published", job.published), ("check_after", job.check_after)];
                if let Some(watch) = &job.watch {
                    dates.extend([("watch.until", watch.until), ("watch.read_from", watch.read_from)]);
                }
                dates
            }
        };
        let (earliest, latest) = (
            now.checked_sub_signed(MAX_WORK_DATE_DISTANCE),
            now.checked_add_signed(MAX_WORK_DATE_DISTANCE),
        );
        dates
            .into_iter()
            .find(|(_, at)| earliest.is_some_and(|e| *at < e) || latest.is_some_and(|l| *at > l))
            .map(|(name, _)| name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn work_dated_near_the_calendars_ends_is_out_of_range_and_everyday_work_is_not() {
        let now: DateTime<Utc> = "2026-12-03T10:00:00Z".parse().expect("a date");
        let body = |published: &str, watch: &str| {
            format!(
                r#"{{"okta_event_id":"c011ec70-2837-11eb-9823-9fb8f750c5a9","event_type":"user.lifecycle.deactivate",
                "kind":"deactivated","published":"{published}","okta_user_id":"00u1bob",
                "check_after":"2026-12-03T09:10:00Z","source":"event-hook"{watch}}}"#
            )
        };
        let work = |text: String| -> QueuedWork { serde_json::from_str(&text).expect("a job body") };
        assert_eq!(work(body("2026-12-03T09:00:00Z", "")).date_out_of_range(now), None);
        assert_eq!(
            work(body("-262143-01-01T00:00:00Z", "")).date_out_of_range(now),
            Some("published"),
            "chrono reads it; `published - skew` would overflow"
        );
        assert_eq!(
            work(body("+262142-12-31T23:59:59Z", "")).date_out_of_range(now),
            Some("published")
        );
        let far_watch = r#","watch":{"until":"2026-12-03T21:00:00Z","read_from":"-262143-01-01T00:00:00Z"}"#;
        assert_eq!(
            work(body("2026-12-03T09:00:00Z", far_watch)).date_out_of_range(now),
            Some("watch.read_from")
        );
    }
    use crate::domain::okta::LogTarget;

    fn event(event_type: &str, outcome: &str, targets: &[(&str, &str)]) -> OktaLogEvent {
        OktaLogEvent {
            uuid: OktaEventId::parse("ab62c0bc-2837-11eb-9823-9fb8f750c5a9").unwrap(),
            event_type: event_type.into(),
            published: "2026-11-20T09:00:00Z".parse().unwrap(),
            outcome: Some(outcome.into()),
            targets: targets
                .iter()
                .map(|(kind, id)| LogTarget {
                    id: (*id).into(),
                    kind: (*kind).into(),
                    alternate_id: None,
                })
                .collect(),
        }
    }

    #[test]
    fn an_event_dated_at_the_end_of_time_is_unusable_and_a_group_job_saturates_instead_of_panicking() {
        let mut late = event(
            "user.lifecycle.deactivate",
            "SUCCESS",
            &[("User", "00u1abcdefghijklmn")],
        );
        late.published = DateTime::<Utc>::MAX_UTC;
        let selection = select_jobs(&[late], None, Duration::seconds(900), JobSource::EventHook);
        assert!(selection.jobs.is_empty());
        assert_eq!(selection.unusable.len(), 1);
        assert_eq!(selection.unusable[0].reason, "published too close to the end of time");
        let group = GroupUnassignment {
            okta_event_id: OktaEventId::parse("ab62c0bc-2837-11eb-9823-9fb8f750c5a9").unwrap(),
            published: DateTime::<Utc>::MAX_UTC,
            unassigned_group_id: OktaGroupId::parse("00g1devs0000000001").unwrap(),
            app_id: None,
            source: JobSource::EventHook,
        };
        let job = group.job_for_member(OktaUserId::parse("00u1abcdefghijklmn").unwrap(), Duration::seconds(900));
        assert_eq!(job.check_after, DateTime::<Utc>::MAX_UTC);
    }

    #[test]
    fn a_hook_delivery_dated_beyond_the_year_9999_is_one_malformed_event() {
        // chrono could hold the year 262143, where adding the window overflowed; the wire reads RFC 3339's four
        // digits only, so such a date never reaches `job_for` from a delivery (the test above covers it anyway).
        let body = br#"{"eventType":"com.okta.event_hook","eventId":"e1","data":{"events":[{
            "uuid":"ab62c0bc-2837-11eb-9823-9fb8f750c5a9","eventType":"user.lifecycle.deactivate",
            "published":"+262143-12-31T23:59:59Z","outcome":{"result":"SUCCESS"},
            "target":[{"id":"00u1abcdefghijklmn","type":"User"}]}]}}"#;
        let delivery = crate::okta::event_hook::parse_delivery(body).unwrap();
        assert!(delivery.events.is_empty());
        assert_eq!(delivery.malformed.len(), 1);
        let last: &[u8] = br#"{"eventType":"com.okta.event_hook","eventId":"e1","data":{"events":[{
            "uuid":"ab62c0bc-2837-11eb-9823-9fb8f750c5a9","eventType":"user.lifecycle.deactivate",
            "published":"9999-12-31T23:59:59Z","outcome":{"result":"SUCCESS"},
            "target":[{"id":"00u1abcdefghijklmn","type":"User"}]}]}}"#;
        let delivery = crate::okta::event_hook::parse_delivery(last).unwrap();
        let selection = select_jobs(&delivery.events, None, Duration::days(1), JobSource::EventHook);
        assert_eq!(selection.jobs.len(), 1, "the last four-digit year still makes a job");
    }

    #[test]
    fn lifecycle_events_are_deprovisions_only_when_they_succeeded() {
        let ok = event("user.lifecycle.deactivate", "SUCCESS", &[("User", "00u1")]);
        assert_eq!(
            classify(&ok, None),
            Classification::Deprovision(DeprovisionKind::Deactivated)
        );
        let failed = event("user.lifecycle.deactivate", "FAILURE", &[("User", "00u1")]);
        assert_eq!(classify(&failed, None), Classification::Irrelevant);
    }

    #[test]
    fn push_events_count_only_when_they_failed() {
        let failed = event(
            "application.provision.user.push_profile",
            "FAILURE",
            &[("User", "00u1")],
        );
        assert_eq!(
            classify(&failed, None),
            Classification::Deprovision(DeprovisionKind::PushFailed)
        );
        let ok = event(
            "application.provision.user.push_profile",
            "SUCCESS",
            &[("User", "00u1")],
        );
        assert_eq!(classify(&ok, None), Classification::Irrelevant);
    }

    #[test]
    fn app_events_about_other_apps_are_irrelevant() {
        let aws = OktaAppId::parse("0oaAWS").unwrap();
        let slack = event(
            "application.user_membership.remove",
            "SUCCESS",
            &[("AppUser", "0ua1"), ("AppInstance", "0oaSLACK"), ("User", "00u1")],
        );
        assert_eq!(classify(&slack, Some(&aws)), Classification::Irrelevant);
        assert_eq!(
            classify(&slack, None),
            Classification::Deprovision(DeprovisionKind::AppUnassigned)
        );
    }

    #[test]
    fn the_user_is_found_by_target_type_not_position() {
        let e = event(
            "application.user_membership.remove",
            "SUCCESS",
            &[("AppUser", "0ua1"), ("AppInstance", "0oaAWS"), ("User", "00u7")],
        );
        let job = job_for(
            &e,
            DeprovisionKind::AppUnassigned,
            Duration::minutes(15),
            JobSource::EventHook,
        )
        .unwrap();
        assert_eq!(job.okta_user_id.as_str(), "00u7");
        assert_eq!(job.app_id.as_ref().map(|a| a.as_str()), Some("0oaAWS"));
        assert_eq!(job.check_after, e.published + Duration::minutes(15));
    }

    #[test]
    fn events_without_a_user_are_unusable_not_dropped_silently() {
        let e = event("user.lifecycle.deactivate", "SUCCESS", &[("AppInstance", "0oa1")]);
        let selection = select_jobs(&[e], None, Duration::zero(), JobSource::EventHook);
        assert!(selection.jobs.is_empty());
        assert_eq!(selection.unusable.len(), 1);
        assert_eq!(selection.unusable[0].reason, "no target of type User");
    }

    #[test]
    fn a_repeated_event_gives_one_job() {
        let e = event("user.lifecycle.suspend", "SUCCESS", &[("User", "00u1")]);
        let selection = select_jobs(&[e.clone(), e], None, Duration::zero(), JobSource::EventHook);
        assert_eq!(selection.jobs.len(), 1);
    }
}
