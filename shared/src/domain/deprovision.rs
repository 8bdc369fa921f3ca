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

/// The event types that become jobs (push failures are matched by prefix and outcome).
pub const DEPROVISION_EVENT_TYPES: [&str; 5] = [
    "user.lifecycle.deactivate",
    "user.lifecycle.suspend",
    "user.lifecycle.delete.initiated",
    "application.user_membership.remove",
    "group.user_membership.remove",
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
    Ok(VerificationJob {
        okta_event_id: event.uuid.clone(),
        event_type: event.event_type.clone(),
        kind,
        published: event.published,
        okta_user_id,
        login: user.alternate_id.clone(),
        app_id,
        group_id,
        check_after: event.published + window,
        source,
        attempt: 0,
        follow_up: false,
    })
}

/// Every job in a batch of events, with the counts of what was left out and why.
#[derive(Debug, Default)]
pub struct Selection {
    pub jobs: Vec<VerificationJob>,
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

#[cfg(test)]
mod tests {
    use super::*;
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
