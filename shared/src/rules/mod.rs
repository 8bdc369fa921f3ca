//! The rules: pure functions from an org snapshot to findings. A rule never calls an API.

pub mod access;
mod assignments;
mod certificates;
mod deprovisioning;
mod hygiene;
pub mod identity_center_events;
pub mod lifecycle;
pub mod propagation;
pub mod session_revocation;

use chrono::{DateTime, Duration, Utc};

use crate::domain::deprovision::{job_from_status, select_jobs};
use crate::domain::{Finding, IdentityLinks, JobSource, LinkPolicy, OrgSnapshot};

pub use hygiene::ReviewPolicy;

pub use certificates::{
    KeyExpiryThresholds, Standing, evaluate_certificates, okta_app_certificates, okta_key_findings,
};

/// What the rules need besides the snapshot.
#[derive(Debug, Clone)]
pub struct Policy {
    /// The moment the evaluation speaks for (a snapshot's `collected_at` for repeatable runs).
    pub now: DateTime<Utc>,
    /// How Okta people are linked to Identity Center users.
    pub links: LinkPolicy,
    pub key_expiry: KeyExpiryThresholds,
    /// SCIM's window: a deprovision younger than this is not judged yet.
    pub propagation_window: Duration,
    pub propagation: propagation::PropagationPolicy,
    /// The access review's hygiene rules (inactivity, privileged sets, large groups).
    pub review: ReviewPolicy,
}

impl Policy {
    pub fn at(now: DateTime<Utc>) -> Self {
        Self {
            now,
            links: LinkPolicy::default(),
            key_expiry: KeyExpiryThresholds::default(),
            propagation_window: Duration::seconds(900),
            propagation: propagation::PropagationPolicy {
                max_window: Duration::seconds(3600),
            },
            review: ReviewPolicy::default(),
        }
    }
}

/// Runs every snapshot rule. Findings come out most severe first, then by rule and id, so output is stable.
pub fn evaluate(snapshot: &OrgSnapshot, policy: &Policy) -> Vec<Finding> {
    let links = IdentityLinks::build(&snapshot.okta, &snapshot.idc, &policy.links);
    let mut findings = Vec::new();
    findings.extend(deprovisioning::deprovisioned_users_still_enabled(
        snapshot, &links, policy,
    ));
    findings.extend(deprovisioning::suspended_users_still_enabled(snapshot, &links, policy));
    findings.extend(deprovisioning::deprovisioned_users_still_assigned(
        snapshot, &links, policy,
    ));
    findings.extend(assignments::direct_user_assignments(snapshot, &links, policy));
    findings.extend(assignments::orphaned_idc_users(snapshot, &links, policy));
    findings.extend(certificates::signing_keys_expiring(snapshot, policy));
    findings.extend(hygiene::evaluate(snapshot, &links, policy));
    findings.extend(replay_deprovisions(snapshot, &links, policy));
    // The same state can come from a snapshot rule and from a replayed episode (same rule, same person): the
    // episode's finding says more (the event, the latency), so the state rule's copy goes.
    let in_episodes: std::collections::HashSet<(crate::domain::Rule, Option<String>)> = findings
        .iter()
        .filter(|f| f.subject.episode_id.is_some())
        .map(|f| (f.rule, f.subject.okta_user_id.clone()))
        .collect();
    findings
        .retain(|f| f.subject.episode_id.is_some() || !in_episodes.contains(&(f.rule, f.subject.okta_user_id.clone())));
    let mut seen = std::collections::HashSet::new();
    findings.retain(|f| seen.insert(f.finding_id.clone()));
    sort_findings(&mut findings);
    // Grown by doubling: at 14,000 findings of ~0.5 KiB each the spare room is megabytes the run would hold.
    findings.shrink_to_fit();
    findings
}

/// Each deprovision episode in the snapshot whose window is over, through the propagation verdict; and, for
/// people Okta shows deprovisioned whose event is older than the snapshot's log, their use of AWS since the
/// status change (the same activity rule, on a job made from the status).
fn replay_deprovisions(snapshot: &OrgSnapshot, links: &IdentityLinks<'_>, policy: &Policy) -> Vec<Finding> {
    let selection = select_jobs(
        &snapshot.okta.deprovisions,
        Some(&snapshot.okta.app.id),
        policy.propagation_window,
        JobSource::SystemLogSweep,
    );
    let mut findings = propagation::replay(snapshot, links, &selection.jobs, policy.propagation, policy.now);
    for user in snapshot
        .okta
        .users
        .iter()
        .filter(|u| u.effective_status().is_deprovisioned())
    {
        if selection.jobs.iter().any(|j| j.okta_user_id == user.id) {
            continue;
        }
        let Some(job) = job_from_status(user, JobSource::SystemLogSweep) else {
            continue;
        };
        let mut seen = propagation::observe_in_snapshot(snapshot, links, &job);
        seen.episode_id = Some(job.key());
        let none = std::collections::HashSet::new();
        findings.extend(propagation::activity_after_deprovision(&job, &seen, &none, policy.now).map(|r| r.finding));
    }
    findings
}

pub fn sort_findings(findings: &mut [Finding]) {
    findings.sort_by(|a, b| {
        b.severity
            .cmp(&a.severity)
            .then(a.rule.cmp(&b.rule))
            .then(a.finding_id.cmp(&b.finding_id))
    });
}

/// A line of evidence per CloudTrail event, the way every rule words it.
pub(crate) fn describe_activity(e: &&crate::domain::ActivityEvent) -> crate::domain::Evidence {
    let via = match (e.role_name.as_deref(), e.permission_set_name()) {
        (Some(role), Some(set)) => format!(" as {role} (permission set {set})"),
        (Some(role), None) => format!(" as {role}"),
        _ => String::new(),
    };
    let account = e
        .account_id
        .as_deref()
        .map(|a| format!(" in account {a}"))
        .unwrap_or_default();
    let region = e.region.as_deref().map(|r| format!(" in {r}")).unwrap_or_default();
    let session_for = e
        .target_account_id
        .as_deref()
        .map(|a| format!(", a role session for account {a}"))
        .unwrap_or_default();
    crate::domain::Evidence::new(
        "cloudtrail",
        format!("{} {}{via}{account}{region}{session_for}", e.event_source, e.event_name),
    )
    .reference(e.event_id.clone())
    .at(e.event_time)
}

/// The evidence lines of a person's access, at most `max` of them and then one line saying how many more there
/// are: for rules that find many people (inactive-user: every person without a recent sign-in), where the full
/// list per finding repeated the report's access table (at 10,000 people, ~100 MiB of findings).
pub(crate) fn access_evidence(
    access: &[crate::domain::EffectiveAssignment],
    max: usize,
) -> impl Iterator<Item = crate::domain::Evidence> + '_ {
    let more = access.len().saturating_sub(max);
    access
        .iter()
        .take(max)
        .map(|a| crate::domain::Evidence::new("identity-center", describe_assignment(a)))
        .chain((more > 0).then(|| {
            crate::domain::Evidence::new(
                "identity-center",
                format!(
                    "and {more} more access path(s) ({} in all; the review's access table lists every one)",
                    access.len()
                ),
            )
        }))
}

/// A line of evidence per assignment, the way every rule words it.
pub(crate) fn describe_assignment(a: &crate::domain::EffectiveAssignment) -> String {
    let set = a
        .permission_set_name
        .as_deref()
        .unwrap_or(a.permission_set_arn.as_str());
    let session = a
        .session_duration
        .as_deref()
        .map(|d| format!(", sessions up to {d}"))
        .unwrap_or_default();
    match &a.via_group {
        Some(group) => format!("{set} on account {} through group {group}{session}", a.account_id),
        None => format!("{set} on account {} assigned directly{session}", a.account_id),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{IdcUserStatus, OktaUserStatus, Rule, Severity};

    fn demo() -> OrgSnapshot {
        serde_json::from_str(include_str!("../../../events/demo/org.json")).expect("the demo org parses")
    }

    fn run(snapshot: &OrgSnapshot) -> Vec<Finding> {
        evaluate(snapshot, &Policy::at(snapshot.collected_at))
    }

    fn rules_for(findings: &[Finding], login: &str) -> Vec<(Rule, Severity)> {
        findings
            .iter()
            .filter(|f| {
                f.subject.okta_login.as_deref() == Some(login) || f.subject.idc_user_name.as_deref() == Some(login)
            })
            .map(|f| (f.rule, f.severity))
            .collect()
    }

    #[test]
    fn a_deactivated_user_still_enabled_with_group_access_is_high() {
        let findings = run(&demo());
        let bob = findings
            .iter()
            .find(|f| f.rule == Rule::DeprovisionedUserEnabled)
            .expect("bob is reported");
        assert_eq!(bob.severity, Severity::High);
        assert_eq!(bob.subject.okta_user_id.as_deref(), Some("00u1bob00000000002"));
        assert!(bob.evidence.iter().any(|e| {
            e.observation
                .contains("Developer on account 111122223333 through group")
        }));
        assert!(bob.remedy.contains("identitystore:UserId"));
    }

    #[test]
    fn a_deactivated_user_disabled_in_identity_center_raises_the_evidence_record_and_any_standing_assignment() {
        let findings = run(&demo());
        assert_eq!(
            rules_for(&findings, "erin.kowalski@acme.example"),
            [(Rule::PropagationVerified, Severity::Info)]
        );
        let mut fixed = demo();
        fixed
            .idc
            .users
            .iter_mut()
            .filter(|u| u.user_name.starts_with("bob"))
            .for_each(|u| u.status = IdcUserStatus::Disabled);
        let findings = run(&fixed);
        assert_eq!(
            rules_for(&findings, "bob.martin@acme.example"),
            [
                (Rule::ActivityAfterDeprovision, Severity::High),
                // Okta's app user for bob is still in syncState ERROR (the failed deactivation push).
                (Rule::AppUserSyncError, Severity::High),
                // Disabled, but the group paths and assignments stay: a re-enable restores them.
                (Rule::DeprovisionedUserStillAssigned, Severity::Low),
                (Rule::PropagationVerified, Severity::Info)
            ]
        );
    }

    #[test]
    fn only_activity_after_the_deactivation_counts() {
        let findings = run(&demo());
        let activity = findings
            .iter()
            .find(|f| f.rule == Rule::ActivityAfterDeprovision)
            .expect("reported");
        let quoted: Vec<_> = activity
            .evidence
            .iter()
            .filter_map(|e| e.reference.as_deref())
            .collect();
        assert!(quoted.contains(&"3f1c2a8e-6a5b-4c7d-9e0f-1a2b3c4d5e01"));
        assert!(
            quoted.contains(&"3f1c2a8e-6a5b-4c7d-9e0f-1a2b3c4d5e02"),
            "role session matched by user name"
        );
        assert!(
            !quoted.contains(&"3f1c2a8e-6a5b-4c7d-9e0f-1a2b3c4d5e03"),
            "before the deactivation"
        );
    }

    /// The person kept using AWS in a member account, in another Region, through a permission-set role session:
    /// the finding names the account, the Region, the role and the call.
    #[test]
    fn activity_in_a_member_account_in_another_region_names_account_region_and_role() {
        let findings = run(&demo());
        let activity = findings
            .iter()
            .find(|f| f.rule == Rule::ActivityAfterDeprovision)
            .expect("reported");
        let line = activity
            .evidence
            .iter()
            .find(|e| e.reference.as_deref() == Some("3f1c2a8e-6a5b-4c7d-9e0f-1a2b3c4d5e05"))
            .expect("the member-account event is quoted");
        assert_eq!(
            line.observation,
            "secretsmanager.amazonaws.com GetSecretValue as AWSReservedSSO_Developer_0a1b2c3d4e5f6a7b (permission set Developer) in account \
             111122223333 in eu-west-1"
        );
        assert_eq!(activity.severity, Severity::High);
    }

    #[test]
    fn direct_assignments_orphans_suspensions_and_keys_are_reported() {
        let findings = run(&demo());
        assert_eq!(
            rules_for(&findings, "carol.diaz@acme.example"),
            [(Rule::DirectUserAssignment, Severity::Medium)]
        );
        assert_eq!(
            rules_for(&findings, "temp.contractor@partner.example"),
            [(Rule::OrphanedIdcUser, Severity::Medium)]
        );
        assert_eq!(
            rules_for(&findings, "dave.okafor@acme.example"),
            [(Rule::SuspendedStillEnabled, Severity::Medium)]
        );
        assert!(rules_for(&findings, "alice.nguyen@acme.example").is_empty());
        let keys: Vec<_> = findings
            .iter()
            .filter(|f| matches!(f.rule, Rule::SamlCertExpiring | Rule::SamlCertExpired))
            .collect();
        assert_eq!(keys.len(), 1, "only the active key counts");
        assert_eq!(keys[0].subject.key_id.as_deref(), Some("akm1cur0000000000002"));
    }

    #[test]
    fn identities_link_by_provisioned_external_id_before_login() {
        let mut renamed = demo();
        // Bob's Okta login changed; Okta's app user still records the Identity Center id it provisioned.
        renamed
            .okta
            .users
            .iter_mut()
            .filter(|u| u.id.as_str() == "00u1bob00000000002")
            .for_each(|u| {
                u.login = crate::domain::OktaLogin::parse("robert.martin@acme.example").unwrap();
            });
        let findings = run(&renamed);
        assert!(findings.iter().any(|f| f.rule == Rule::DeprovisionedUserEnabled));
        assert!(!findings.iter().any(|f| f.rule == Rule::OrphanedIdcUser
            && f.subject.idc_user_name.as_deref() == Some("bob.martin@acme.example")));
    }

    #[test]
    fn findings_are_stable_across_runs_and_sorted_by_severity() {
        let a = run(&demo());
        let b = run(&demo());
        assert_eq!(a, b);
        assert!(a.windows(2).all(|w| w[0].severity >= w[1].severity));
    }

    #[test]
    fn reactivated_users_clear_their_findings() {
        let mut back = demo();
        back.okta.users.iter_mut().for_each(|u| {
            if u.status == OktaUserStatus::Deprovisioned || u.status == OktaUserStatus::Suspended {
                u.status = OktaUserStatus::Active;
            }
        });
        let findings = run(&back);
        assert!(findings.iter().all(|f| !matches!(
            f.rule,
            Rule::DeprovisionedUserEnabled | Rule::SuspendedStillEnabled | Rule::ActivityAfterDeprovision
        )));
    }
}

#[cfg(test)]
mod replay_tests {
    use super::*;
    use crate::domain::{IdcUserStatus, Rule, Severity};

    fn demo() -> OrgSnapshot {
        serde_json::from_str(include_str!("../../../events/demo/org.json")).expect("the demo org parses")
    }

    fn by_rule(findings: &[Finding], rule: Rule) -> Vec<&Finding> {
        findings.iter().filter(|f| f.rule == rule).collect()
    }

    #[test]
    fn a_replayed_deactivation_that_never_reached_identity_center_is_overdue() {
        let snapshot = demo();
        let findings = evaluate(&snapshot, &Policy::at(snapshot.collected_at));
        let overdue = by_rule(&findings, Rule::PropagationOverdue);
        assert_eq!(overdue.len(), 1);
        assert_eq!(
            overdue[0].subject.okta_event_id.as_deref(),
            Some("9d1f3c2a-2837-11eb-9823-9fb8f750c5a9")
        );
        assert_eq!(overdue[0].severity, Severity::High);
    }

    #[test]
    fn a_replayed_deactivation_that_propagated_is_verified_with_its_latency() {
        let snapshot = demo();
        let findings = evaluate(&snapshot, &Policy::at(snapshot.collected_at));
        let verified = by_rule(&findings, Rule::PropagationVerified);
        assert_eq!(verified.len(), 1);
        assert!(verified[0].title.contains("in 271 s"), "{}", verified[0].title);
    }

    #[test]
    fn a_deprovision_okta_provisioned_to_an_account_that_is_not_there_is_unverifiable() {
        let snapshot = demo();
        let findings = evaluate(&snapshot, &Policy::at(snapshot.collected_at));
        let unverifiable = by_rule(&findings, Rule::PropagationUnverifiable);
        assert_eq!(unverifiable.len(), 1);
        assert_eq!(
            unverifiable[0].subject.okta_user_id.as_deref(),
            Some("00u1frank0000000007")
        );
        assert!(
            unverifiable[0]
                .evidence
                .iter()
                .any(|e| e.observation.contains("9067a1b2c3-f7f7f7f7"))
        );
        assert!(
            by_rule(&findings, Rule::PropagationVerified)
                .iter()
                .all(|f| f.subject.okta_user_id.as_deref() != Some("00u1frank0000000007"))
        );
    }

    #[test]
    fn a_state_found_by_a_rule_and_by_a_replayed_event_is_reported_once() {
        let snapshot = demo();
        let findings = evaluate(&snapshot, &Policy::at(snapshot.collected_at));
        assert_eq!(by_rule(&findings, Rule::SuspendedStillEnabled).len(), 1);
        assert_eq!(by_rule(&findings, Rule::ActivityAfterDeprovision).len(), 1);
    }

    #[test]
    fn a_deprovision_still_inside_its_window_is_not_judged_yet() {
        let snapshot = demo();
        let mut policy = Policy::at(snapshot.collected_at);
        policy.propagation_window = Duration::days(30);
        let findings = evaluate(&snapshot, &policy);
        assert!(by_rule(&findings, Rule::PropagationOverdue).is_empty());
        assert!(by_rule(&findings, Rule::PropagationVerified).is_empty());
        let mut fixed = demo();
        fixed
            .idc
            .users
            .iter_mut()
            .filter(|u| u.user_name.starts_with("bob"))
            .for_each(|u| u.status = IdcUserStatus::Disabled);
        let findings = evaluate(&fixed, &Policy::at(fixed.collected_at));
        assert!(by_rule(&findings, Rule::PropagationOverdue).is_empty());
        assert_eq!(by_rule(&findings, Rule::PropagationVerified).len(), 2);
    }
}

#[cfg(test)]
mod linking_tests {
    use super::*;
    use crate::domain::{IdcUser, IdcUserId, IdcUserStatus, Rule};

    #[test]
    fn every_identity_center_user_linked_to_a_deactivated_person_is_reported() {
        let mut snapshot: OrgSnapshot =
            serde_json::from_str(include_str!("../../../events/demo/org.json")).expect("the demo org parses");
        // Okta provisioned bob as an older account; his login also matches the current one.
        let old = IdcUserId::parse("9067a1b2c3-b2b2b2b2-0007-4000-8000-000000000007").unwrap();
        snapshot.idc.users.push(IdcUser {
            id: old.clone(),
            user_name: "bmartin-old".into(),
            display_name: None,
            emails: vec![],
            external_ids: vec![],
            status: IdcUserStatus::Enabled,
        });
        for app_user in snapshot
            .okta
            .app
            .app_users
            .iter_mut()
            .filter(|a| a.user_id.as_str() == "00u1bob00000000002")
        {
            app_user.external_id = Some(old.to_string());
        }
        let findings = evaluate(&snapshot, &Policy::at(snapshot.collected_at));
        let mut reported: Vec<_> = findings
            .iter()
            .filter(|f| f.rule == Rule::DeprovisionedUserEnabled)
            .filter_map(|f| f.subject.idc_user_id.clone())
            .collect();
        reported.sort();
        assert_eq!(
            reported,
            ["9067a1b2c3-b2b2b2b2-0002-4000-8000-000000000002", old.as_str()]
        );
        assert!(
            !findings
                .iter()
                .any(|f| f.rule == Rule::OrphanedIdcUser && f.subject.idc_user_id.as_deref() == Some(old.as_str()))
        );
    }
}
