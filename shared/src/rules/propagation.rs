//! The propagation verdict: did one Okta deprovision reach Identity Center, how fast, and did the person keep
//! using AWS afterwards? Pure: the checker observes (I/O), this decides.

use chrono::{DateTime, Duration, Utc};

use crate::domain::{
    ActivityEvent, DeprovisionKind, EffectiveAssignment, Evidence, Finding, IdcGroupId, IdcUser, IdentityLinks,
    OktaUserStatus, OrgSnapshot, Rule, Severity, Subject, VerificationJob,
};

use super::{describe_activity, describe_assignment};

/// What the checker saw in Okta, Identity Center and CloudTrail for one job.
#[derive(Debug, Clone, Default)]
pub struct Observation {
    /// The Okta user's status now (`None`: Okta no longer has the user — deleted).
    pub okta_status_now: Option<OktaUserStatus>,
    /// The Identity Center user (`None`: absent — deleted, or never provisioned).
    pub idc_user: Option<IdcUser>,
    /// Every assignment the user still holds, direct and through groups.
    pub access: Vec<EffectiveAssignment>,
    /// For a group removal: the Identity Center group the Okta group is pushed to, and whether the user is
    /// still in it. `None` when the Okta group is not pushed to AWS.
    pub removed_group: Option<RemovedGroup>,
    /// SCIM writes to this user (`identitystore-scim` PatchUser/PutUser/DeleteUser), any time after the event.
    pub scim_events: Vec<ActivityEvent>,
    /// Uses of AWS by this user after the event (portal calls, `AWSReservedSSO_*` role sessions).
    pub activity: Vec<ActivityEvent>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RemovedGroup {
    pub idc_group_id: IdcGroupId,
    pub still_member: bool,
}

/// The checker's timing rules.
#[derive(Debug, Clone, Copy)]
pub struct PropagationPolicy {
    /// After this long past the Okta event, a deprovision that has not propagated is overdue.
    pub max_window: Duration,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Verdict {
    /// Not propagated yet, but still inside the maximum window: check again later. Activity after the
    /// deprovision is reported at once (its finding id is stable, so a re-check repeats, never duplicates it).
    NotYet { findings: Vec<Finding> },
    /// Final: the findings to publish (possibly none).
    Final {
        findings: Vec<Finding>,
        latency_seconds: Option<i64>,
    },
    /// Nothing to verify for this job, and why (e.g. the user was reactivated, the group is not pushed).
    NothingToVerify(&'static str),
}

/// SCIM calls can be logged a little before Okta's own event timestamp.
pub const SCIM_CLOCK_SKEW: Duration = Duration::seconds(120);

/// The observation a snapshot holds for one job: the checker's questions, answered from the snapshot, with
/// identities linked as the snapshot rules link them.
pub fn observe_in_snapshot(snapshot: &OrgSnapshot, links: &IdentityLinks<'_>, job: &VerificationJob) -> Observation {
    let okta_user = snapshot.okta.users.iter().find(|u| u.id == job.okta_user_id);
    let mut seen = Observation {
        okta_status_now: okta_user.map(|u| u.status),
        ..Observation::default()
    };
    let Some(user) = links.idc_user_for(&job.okta_user_id) else {
        return seen;
    };
    seen.access = snapshot.idc.effective_assignments(&user.id);
    if let (DeprovisionKind::GroupRemoved, Some(group)) = (job.kind, &job.group_id) {
        let target = snapshot
            .okta
            .app
            .group_push_mappings
            .iter()
            .find(|m| &m.source_group_id == group)
            .and_then(|m| m.target_group_id.clone());
        seen.removed_group = target.map(|idc_group_id| RemovedGroup {
            still_member: snapshot
                .idc
                .groups
                .iter()
                .any(|g| g.id == idc_group_id && g.members.contains(&user.id)),
            idc_group_id,
        });
    }
    seen.scim_events = snapshot
        .activity
        .iter()
        .filter(|e| e.is_scim() && e.target_user_id.as_ref() == Some(&user.id))
        .filter(|e| e.event_time >= job.published - SCIM_CLOCK_SKEW)
        .cloned()
        .collect();
    seen.activity = snapshot
        .activity
        .iter()
        .filter(|e| e.event_time >= job.published && e.is_by(&user.id, &user.user_name))
        .cloned()
        .collect();
    seen.idc_user = Some(user.clone());
    seen
}

/// Any status in which Okta lets the person in again (reactivated, then locked out or resetting a password
/// included): the deprovision was undone, so there is nothing to verify.
fn is_back_in_okta(status: OktaUserStatus) -> bool {
    !matches!(
        status,
        OktaUserStatus::Deprovisioned | OktaUserStatus::Suspended | OktaUserStatus::Unknown
    )
}

/// At most this many events are quoted as evidence.
const MAX_EVENTS_QUOTED: usize = 20;

pub fn judge(job: &VerificationJob, seen: &Observation, policy: PropagationPolicy, now: DateTime<Utc>) -> Verdict {
    let user_level = !matches!(job.kind, DeprovisionKind::GroupRemoved | DeprovisionKind::AppUnassigned);
    if user_level && seen.okta_status_now.is_some_and(is_back_in_okta) {
        return Verdict::NothingToVerify("the Okta user is active again");
    }
    if job.kind == DeprovisionKind::PushFailed && !seen.okta_status_now.is_some_and(OktaUserStatus::is_deprovisioned) {
        return Verdict::NothingToVerify("push failure for a user Okta has not deprovisioned");
    }
    // No match is no evidence either way (never provisioned, or a login mapping that does not fit): nothing is
    // claimed, and the checker logs it.
    let Some(user) = &seen.idc_user else {
        return Verdict::NothingToVerify("no Identity Center user matches the Okta user");
    };
    if job.kind == DeprovisionKind::GroupRemoved && seen.removed_group.is_none() {
        return Verdict::NothingToVerify("the Okta group is not pushed to AWS");
    }
    // Leaving one group does not end a person's access to AWS: use of AWS is only judged for user-level events.
    let activity = if job.kind == DeprovisionKind::GroupRemoved {
        None
    } else {
        activity_after_deprovision(job, seen, now)
    };

    let disabled = !user.status.can_sign_in();
    let propagated = match job.kind {
        DeprovisionKind::GroupRemoved => disabled || seen.removed_group.as_ref().is_some_and(|g| !g.still_member),
        _ => disabled,
    };
    let mut findings: Vec<Finding> = activity.into_iter().collect();

    if propagated {
        let scim = first_scim_write(job, seen);
        let latency = scim.map(|e| (e.event_time - job.published).num_seconds().max(0));
        findings.push(verified(job, seen, scim, latency, now));
        return Verdict::Final {
            findings,
            latency_seconds: latency,
        };
    }
    if job.kind == DeprovisionKind::Suspended {
        // Okta keeps a suspended user's assignments, so SCIM does not disable them: a policy question, not a
        // SCIM failure. Decided at once; no waiting for the max window.
        findings.push(suspended_still_enabled(job, seen, now));
        return Verdict::Final {
            findings,
            latency_seconds: None,
        };
    }
    if now < job.published + policy.max_window {
        return Verdict::NotYet { findings };
    }
    findings.push(overdue(job, seen, now));
    Verdict::Final {
        findings,
        latency_seconds: None,
    }
}

fn first_scim_write<'a>(job: &VerificationJob, seen: &'a Observation) -> Option<&'a ActivityEvent> {
    let user = seen.idc_user.as_ref()?;
    let writes: Vec<&ActivityEvent> = seen
        .scim_events
        .iter()
        .filter(|e| e.is_scim_user_write() && e.error_code.is_none() && e.target_user_id.as_ref() == Some(&user.id))
        .collect();
    // The first write at or after the Okta event; one logged just before it (clock skew) only if there is none.
    let after = writes
        .iter()
        .filter(|e| e.event_time >= job.published)
        .min_by_key(|e| e.event_time);
    let just_before = || {
        writes
            .iter()
            .filter(|e| e.event_time >= job.published - SCIM_CLOCK_SKEW && e.event_time < job.published)
            .max_by_key(|e| e.event_time)
    };
    after.or_else(just_before).copied()
}

fn subject(job: &VerificationJob, seen: &Observation) -> Subject {
    Subject {
        okta_user_id: Some(job.okta_user_id.to_string()),
        okta_login: job.login.clone(),
        idc_user_id: seen.idc_user.as_ref().map(|u| u.id.to_string()),
        idc_user_name: seen.idc_user.as_ref().map(|u| u.user_name.clone()),
        okta_event_id: Some(job.okta_event_id.to_string()),
        group_id: job.group_id.as_ref().map(ToString::to_string),
        ..Subject::default()
    }
}

/// The person, not the event: findings about a person's state (still enabled after a suspension, use of AWS
/// after a deprovision) get the same id from every path that finds them — this checker and the snapshot rules.
fn person_subject(job: &VerificationJob, seen: &Observation) -> Subject {
    Subject {
        okta_event_id: None,
        group_id: None,
        ..subject(job, seen)
    }
}

/// `61 min`, `5 h`, `3 days`.
fn elapsed(span: Duration) -> String {
    match span.num_minutes() {
        m if m < 120 => format!("{m} min"),
        m if m < 48 * 60 => format!("{} h", m / 60),
        m => format!("{} days", m / (24 * 60)),
    }
}

fn who(job: &VerificationJob) -> &str {
    job.login.as_deref().unwrap_or(job.okta_user_id.as_str())
}

fn okta_evidence(job: &VerificationJob) -> Evidence {
    Evidence::new(
        "okta",
        format!("{} ({:?}) for user {}", job.event_type, job.kind, job.okta_user_id),
    )
    .reference(job.okta_event_id.to_string())
    .at(job.published)
}

fn idc_state_evidence(seen: &Observation, now: DateTime<Utc>) -> Evidence {
    match &seen.idc_user {
        Some(user) => Evidence::new(
            "identity-center",
            format!("user {} is {}", user.id, user.status.as_str()),
        )
        .reference(user.id.to_string())
        .at(now),
        None => Evidence::new("identity-center", "no such user in the identity store").at(now),
    }
}

fn scim_error_evidence(seen: &Observation) -> impl Iterator<Item = Evidence> + '_ {
    seen.scim_events
        .iter()
        .filter(|e| e.error_code.is_some())
        .take(MAX_EVENTS_QUOTED)
        .map(|e| {
            Evidence::new(
                "cloudtrail",
                format!(
                    "SCIM {} failed: {}",
                    e.event_name,
                    e.error_code.as_deref().unwrap_or_default()
                ),
            )
            .reference(e.event_id.clone())
            .at(e.event_time)
        })
}

fn verified(
    job: &VerificationJob,
    seen: &Observation,
    scim: Option<&ActivityEvent>,
    latency: Option<i64>,
    now: DateTime<Utc>,
) -> Finding {
    let mut evidence = vec![okta_evidence(job)];
    evidence.push(match scim {
        Some(e) => Evidence::new("cloudtrail", format!("SCIM {} on the user", e.event_name))
            .reference(e.event_id.clone())
            .at(e.event_time),
        None => Evidence::new(
            "cloudtrail",
            "no SCIM call for the user found (yet) in CloudTrail; latency unknown",
        ),
    });
    evidence.push(idc_state_evidence(seen, now));
    if let Some(group) = &seen.removed_group {
        evidence.push(Evidence::new(
            "identity-center",
            format!(
                "member of group {}: {}",
                group.idc_group_id,
                if group.still_member { "yes" } else { "no" }
            ),
        ));
    }
    let title = match latency {
        Some(seconds) => format!("{} deprovision reached IAM Identity Center in {seconds} s", who(job)),
        None => format!("{} deprovision reached IAM Identity Center", who(job)),
    };
    Finding::new(
        Rule::PropagationVerified,
        Severity::Info,
        title,
        subject(job, seen),
        now,
    )
    .with_evidence(evidence)
    .with_remedy("None: access ended as Okta intended. This record is the evidence.")
}

fn suspended_still_enabled(job: &VerificationJob, seen: &Observation, now: DateTime<Utc>) -> Finding {
    let mut evidence = vec![okta_evidence(job), idc_state_evidence(seen, now)];
    evidence.extend(
        seen.access
            .iter()
            .map(|a| Evidence::new("identity-center", describe_assignment(a))),
    );
    Finding::new(
        Rule::SuspendedStillEnabled,
        Severity::Medium,
        format!(
            "{} was suspended in Okta but is still enabled in IAM Identity Center",
            who(job)
        ),
        person_subject(job, seen),
        now,
    )
    .with_evidence(evidence)
    .with_remedy(
        "Okta keeps a suspended user's app assignments, so SCIM leaves them enabled in AWS. If the suspension is \
         meant to cut AWS access, unassign the user from the AWS IAM Identity Center app (or deactivate them).",
    )
}

fn overdue(job: &VerificationJob, seen: &Observation, now: DateTime<Utc>) -> Finding {
    let mut evidence = vec![okta_evidence(job), idc_state_evidence(seen, now)];
    if let Some(group) = &seen.removed_group {
        evidence.push(Evidence::new(
            "identity-center",
            format!("still a member of group {}", group.idc_group_id),
        ));
    }
    evidence.extend(
        seen.access
            .iter()
            .map(|a| Evidence::new("identity-center", describe_assignment(a))),
    );
    evidence.extend(scim_error_evidence(seen));
    if seen.scim_events.is_empty() {
        evidence.push(Evidence::new(
            "cloudtrail",
            "no SCIM call for this user since the Okta event",
        ));
    }
    let late = elapsed(now - job.published);
    let user_id = seen.idc_user.as_ref().map_or("<user id>", |u| u.id.as_str());
    Finding::new(
        Rule::PropagationOverdue,
        Severity::High,
        format!(
            "{} deprovision has not reached IAM Identity Center {late} after the Okta event; {} assignment(s) remain",
            who(job),
            seen.access.len()
        ),
        subject(job, seen),
        now,
    )
    .with_evidence(evidence)
    .with_remedy(format!(
        "Disable the user in IAM Identity Center (or remove the group membership) by hand now, then fix SCIM: check \
         the SCIM token's expiry and Okta's provisioning tasks for errors, and retry the push. Until role sessions \
         expire, attach an explicit Deny on condition identitystore:UserId = {user_id} (AWS's prescribed way to cut \
         live sessions)."
    ))
}

/// The follow-up look after a final verdict: use of AWS only, and nothing if Okta let the person back in since.
pub fn follow_up_findings(job: &VerificationJob, seen: &Observation, now: DateTime<Utc>) -> Vec<Finding> {
    if seen.okta_status_now.is_some_and(is_back_in_okta) {
        return Vec::new();
    }
    activity_after_deprovision(job, seen, now).into_iter().collect()
}

/// Use of AWS by the person after the deprovision, as one high finding.
pub fn activity_after_deprovision(job: &VerificationJob, seen: &Observation, now: DateTime<Utc>) -> Option<Finding> {
    let user = seen.idc_user.as_ref()?;
    let mut events: Vec<&ActivityEvent> = seen
        .activity
        .iter()
        .filter(|e| e.event_time > job.published && e.is_use_of_access() && e.is_by(&user.id, &user.user_name))
        .collect();
    if events.is_empty() {
        return None;
    }
    events.sort_by_key(|e| e.event_time);
    events.dedup_by(|a, b| a.event_id == b.event_id);
    let mut evidence = vec![okta_evidence(job)];
    evidence.extend(events.iter().take(MAX_EVENTS_QUOTED).map(describe_activity));
    let mut finding = Finding::new(
        Rule::ActivityAfterDeprovision,
        Severity::High,
        format!(
            "{} used AWS {} time(s) after the Okta deprovision",
            who(job),
            events.len()
        ),
        person_subject(job, seen),
        now,
    )
    .with_evidence(evidence)
    .with_remedy(format!(
        "Treat as a possible incident: review what the sessions did (the CloudTrail event ids quoted). Role \
         sessions outlive a disabled user for up to their permission set's session duration: attach an explicit \
         Deny on condition identitystore:UserId = {} until they have expired.",
        user.id
    ));
    finding.evidence_truncated = events.len() > MAX_EVENTS_QUOTED;
    Some(finding)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{AccountId, IdcGroupId, IdcUserId, IdcUserStatus, JobSource, OktaEventId, OktaUserId};

    fn t(s: &str) -> DateTime<Utc> {
        format!("2026-11-20T{s}Z").parse().unwrap()
    }

    fn job(kind: DeprovisionKind) -> VerificationJob {
        VerificationJob {
            okta_event_id: OktaEventId::parse("ab62c0bc-2837-11eb-9823-9fb8f750c5a9").unwrap(),
            event_type: "user.lifecycle.deactivate".into(),
            kind,
            published: t("09:00:00"),
            okta_user_id: OktaUserId::parse("00u1bob").unwrap(),
            login: Some("bob@acme.example".into()),
            app_id: None,
            group_id: None,
            check_after: t("09:15:00"),
            source: JobSource::EventHook,
            attempt: 0,
            follow_up: false,
        }
    }

    fn user(status: IdcUserStatus) -> IdcUser {
        IdcUser {
            id: IdcUserId::parse("u-bob").unwrap(),
            user_name: "bob@acme.example".into(),
            display_name: None,
            emails: vec![],
            external_ids: vec![],
            status,
        }
    }

    fn event(id: &str, source: &str, name: &str, at: &str) -> ActivityEvent {
        ActivityEvent {
            event_id: id.into(),
            event_name: name.into(),
            event_source: source.into(),
            event_time: t(at),
            actor_user_id: None,
            actor_user_name: None,
            role_name: None,
            target_user_id: None,
            error_code: None,
            account_id: None,
        }
    }

    fn scim_patch(at: &str) -> ActivityEvent {
        ActivityEvent {
            target_user_id: Some(IdcUserId::parse("u-bob").unwrap()),
            ..event("scim-1", SCIM_EVENT_SOURCE_FOR_TESTS, "PatchUser", at)
        }
    }

    const SCIM_EVENT_SOURCE_FOR_TESTS: &str = crate::domain::activity::SCIM_EVENT_SOURCE;

    fn assignment() -> EffectiveAssignment {
        EffectiveAssignment {
            account_id: AccountId::parse("111122223333").unwrap(),
            permission_set_arn: crate::domain::PermissionSetArn::parse("arn:aws:sso:::permissionSet/ssoins-1/ps-1")
                .unwrap(),
            permission_set_name: Some("Developer".into()),
            session_duration: Some("PT8H".into()),
            via_group: Some(IdcGroupId::parse("g-devs").unwrap()),
        }
    }

    const POLICY: PropagationPolicy = PropagationPolicy {
        max_window: Duration::seconds(3600),
    };

    #[test]
    fn a_disabled_user_with_a_scim_call_is_verified_with_its_latency() {
        let seen = Observation {
            okta_status_now: Some(OktaUserStatus::Deprovisioned),
            idc_user: Some(user(IdcUserStatus::Disabled)),
            scim_events: vec![scim_patch("09:03:32")],
            ..Observation::default()
        };
        let Verdict::Final {
            findings,
            latency_seconds,
        } = judge(&job(DeprovisionKind::Deactivated), &seen, POLICY, t("09:15:00"))
        else {
            panic!("final verdict expected")
        };
        assert_eq!(latency_seconds, Some(212));
        assert_eq!(findings.len(), 1);
        assert_eq!(findings[0].rule, Rule::PropagationVerified);
        assert_eq!(findings[0].severity, Severity::Info);
        assert!(
            findings[0]
                .evidence
                .iter()
                .any(|e| e.reference.as_deref() == Some("scim-1"))
        );
    }

    #[test]
    fn still_enabled_inside_the_max_window_is_not_yet_and_past_it_overdue_with_the_access_listed() {
        let seen = Observation {
            okta_status_now: Some(OktaUserStatus::Deprovisioned),
            idc_user: Some(user(IdcUserStatus::Enabled)),
            access: vec![assignment()],
            ..Observation::default()
        };
        let job = job(DeprovisionKind::Deactivated);
        assert_eq!(
            judge(&job, &seen, POLICY, t("09:15:00")),
            Verdict::NotYet { findings: vec![] }
        );
        let Verdict::Final { findings, .. } = judge(&job, &seen, POLICY, t("10:00:00")) else {
            panic!("final")
        };
        assert_eq!(findings[0].rule, Rule::PropagationOverdue);
        assert_eq!(findings[0].severity, Severity::High);
        assert!(
            findings[0]
                .evidence
                .iter()
                .any(|e| e.observation.contains("Developer on account 111122223333"))
        );
        assert!(findings[0].remedy.contains("identitystore:UserId = u-bob"));
    }

    #[test]
    fn the_same_event_always_gets_the_same_finding_id() {
        let seen = Observation {
            idc_user: Some(user(IdcUserStatus::Enabled)),
            ..Observation::default()
        };
        let a = judge(&job(DeprovisionKind::Deactivated), &seen, POLICY, t("10:00:00"));
        let b = judge(&job(DeprovisionKind::Deactivated), &seen, POLICY, t("10:30:00"));
        let (Verdict::Final { findings: a, .. }, Verdict::Final { findings: b, .. }) = (a, b) else {
            panic!()
        };
        assert_eq!(a[0].finding_id, b[0].finding_id);
    }

    #[test]
    fn use_after_the_deprovision_is_reported_at_once_even_before_the_verdict() {
        let mut portal = event("ct-1", "sso.amazonaws.com", "GetRoleCredentials", "09:10:00");
        portal.actor_user_id = Some(IdcUserId::parse("u-bob").unwrap());
        let mut before = portal.clone();
        before.event_id = "ct-0".into();
        before.event_time = t("08:50:00");
        let seen = Observation {
            idc_user: Some(user(IdcUserStatus::Enabled)),
            activity: vec![portal, before],
            ..Observation::default()
        };
        let Verdict::NotYet { findings } = judge(&job(DeprovisionKind::Deactivated), &seen, POLICY, t("09:15:00"))
        else {
            panic!("not final yet")
        };
        assert_eq!(findings.len(), 1);
        assert_eq!(findings[0].rule, Rule::ActivityAfterDeprovision);
        let quoted: Vec<_> = findings[0]
            .evidence
            .iter()
            .filter_map(|e| e.reference.as_deref())
            .collect();
        assert!(quoted.contains(&"ct-1") && !quoted.contains(&"ct-0"));
    }

    #[test]
    fn a_suspended_user_still_enabled_is_its_own_medium_finding() {
        let seen = Observation {
            okta_status_now: Some(OktaUserStatus::Suspended),
            idc_user: Some(user(IdcUserStatus::Enabled)),
            ..Observation::default()
        };
        let Verdict::Final { findings, .. } = judge(&job(DeprovisionKind::Suspended), &seen, POLICY, t("09:15:00"))
        else {
            panic!()
        };
        assert_eq!(
            (findings[0].rule, findings[0].severity),
            (Rule::SuspendedStillEnabled, Severity::Medium)
        );
    }

    #[test]
    fn a_group_removal_is_verified_when_that_membership_is_gone() {
        let mut job = job(DeprovisionKind::GroupRemoved);
        job.group_id = Some(crate::domain::OktaGroupId::parse("00gdevs").unwrap());
        let mut seen = Observation {
            okta_status_now: Some(OktaUserStatus::Active),
            idc_user: Some(user(IdcUserStatus::Enabled)),
            removed_group: Some(RemovedGroup {
                idc_group_id: IdcGroupId::parse("g-devs").unwrap(),
                still_member: true,
            }),
            ..Observation::default()
        };
        assert!(matches!(
            judge(&job, &seen, POLICY, t("09:15:00")),
            Verdict::NotYet { .. }
        ));
        seen.removed_group = Some(RemovedGroup {
            idc_group_id: IdcGroupId::parse("g-devs").unwrap(),
            still_member: false,
        });
        let Verdict::Final { findings, .. } = judge(&job, &seen, POLICY, t("09:15:00")) else {
            panic!()
        };
        assert_eq!(findings[0].rule, Rule::PropagationVerified);
        seen.removed_group = None;
        assert!(matches!(
            judge(&job, &seen, POLICY, t("09:15:00")),
            Verdict::NothingToVerify(_)
        ));
    }

    #[test]
    fn a_reactivated_user_needs_no_verdict() {
        let seen = Observation {
            okta_status_now: Some(OktaUserStatus::Active),
            idc_user: Some(user(IdcUserStatus::Enabled)),
            ..Observation::default()
        };
        assert!(matches!(
            judge(&job(DeprovisionKind::Deactivated), &seen, POLICY, t("10:00:00")),
            Verdict::NothingToVerify(_)
        ));
    }

    #[test]
    fn a_user_identity_center_does_not_have_is_not_claimed_as_verified() {
        let seen = Observation {
            okta_status_now: None,
            ..Observation::default()
        };
        let verdict = judge(&job(DeprovisionKind::DeleteInitiated), &seen, POLICY, t("09:15:00"));
        assert!(matches!(verdict, Verdict::NothingToVerify(_)), "{verdict:?}");
    }

    #[test]
    fn a_scim_call_logged_just_before_the_okta_event_still_gives_the_latency() {
        let seen = Observation {
            okta_status_now: Some(OktaUserStatus::Deprovisioned),
            idc_user: Some(user(IdcUserStatus::Disabled)),
            scim_events: vec![scim_patch("08:59:30")],
            ..Observation::default()
        };
        let verdict = judge(&job(DeprovisionKind::Deactivated), &seen, POLICY, t("09:15:00"));
        let Verdict::Final { latency_seconds, .. } = verdict else {
            panic!("final: {verdict:?}")
        };
        assert_eq!(latency_seconds, Some(0));
    }

    #[test]
    fn a_group_removal_never_judges_use_of_aws() {
        let mut job = job(DeprovisionKind::GroupRemoved);
        job.group_id = Some(crate::domain::OktaGroupId::parse("00gdevs").unwrap());
        let mut portal = event("ct-1", "sso.amazonaws.com", "GetRoleCredentials", "09:10:00");
        portal.actor_user_id = Some(IdcUserId::parse("u-bob").unwrap());
        let seen = Observation {
            okta_status_now: Some(OktaUserStatus::Active),
            idc_user: Some(user(IdcUserStatus::Enabled)),
            removed_group: Some(RemovedGroup {
                idc_group_id: IdcGroupId::parse("g-devs").unwrap(),
                still_member: true,
            }),
            activity: vec![portal],
            ..Observation::default()
        };
        let Verdict::NotYet { findings } = judge(&job, &seen, POLICY, t("09:15:00")) else {
            panic!("not yet")
        };
        assert!(
            findings.iter().all(|f| f.rule != Rule::ActivityAfterDeprovision),
            "{findings:?}"
        );
    }

    #[test]
    fn a_reactivated_user_locked_out_again_is_not_overdue() {
        let seen = Observation {
            okta_status_now: Some(OktaUserStatus::LockedOut),
            idc_user: Some(user(IdcUserStatus::Enabled)),
            ..Observation::default()
        };
        let verdict = judge(&job(DeprovisionKind::Deactivated), &seen, POLICY, t("10:30:00"));
        assert!(matches!(verdict, Verdict::NothingToVerify(_)));
    }
}
