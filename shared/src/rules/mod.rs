//! The rules: pure functions from an org snapshot to findings. A rule never calls an API.

mod assignments;
mod certificates;
mod deprovisioning;

use chrono::{DateTime, Utc};

use crate::domain::{Finding, IdentityLinks, LoginMapping, OrgSnapshot};

pub use certificates::KeyExpiryThresholds;

/// What the rules need besides the snapshot.
#[derive(Debug, Clone)]
pub struct Policy {
    /// The moment the evaluation speaks for (a snapshot's `collected_at` for repeatable runs).
    pub now: DateTime<Utc>,
    pub login_mapping: LoginMapping,
    pub key_expiry: KeyExpiryThresholds,
}

impl Policy {
    pub fn at(now: DateTime<Utc>) -> Self {
        Self {
            now,
            login_mapping: LoginMapping::default(),
            key_expiry: KeyExpiryThresholds::default(),
        }
    }
}

/// Runs every snapshot rule. Findings come out most severe first, then by rule and id, so output is stable.
pub fn evaluate(snapshot: &OrgSnapshot, policy: &Policy) -> Vec<Finding> {
    let links = IdentityLinks::build(&snapshot.okta, &snapshot.idc, policy.login_mapping);
    let mut findings = Vec::new();
    findings.extend(deprovisioning::deprovisioned_users_still_enabled(
        snapshot, &links, policy,
    ));
    findings.extend(deprovisioning::suspended_users_still_enabled(snapshot, &links, policy));
    findings.extend(deprovisioning::activity_after_deprovision(snapshot, &links, policy));
    findings.extend(assignments::direct_user_assignments(snapshot, &links, policy));
    findings.extend(assignments::orphaned_idc_users(snapshot, &links, policy));
    findings.extend(certificates::signing_keys_expiring(snapshot, policy));
    sort_findings(&mut findings);
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
