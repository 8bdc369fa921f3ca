//! Okta said the person is gone (or suspended); is Identity Center still letting them in?

use crate::domain::{
    Evidence, Finding, IdcUser, IdentityLinks, OktaUser, OktaUserStatus, OrgSnapshot, Rule, Severity, Subject,
};

use super::{Policy, describe_assignment};

pub(crate) fn person_subject(okta: &OktaUser, idc: &IdcUser) -> Subject {
    Subject {
        okta_user_id: Some(okta.id.to_string()),
        okta_login: Some(okta.login.to_string()),
        idc_user_id: Some(idc.id.to_string()),
        idc_user_name: Some(idc.user_name.clone()),
        ..Subject::default()
    }
}

fn revoke_remedy(idc: &IdcUser) -> String {
    format!(
        "Disable the user in IAM Identity Center now and find out why SCIM did not (expired token, push errors in \
         Okta's provisioning tasks). Role sessions live on for up to their permission set's session duration: \
         attach an explicit Deny on condition identitystore:UserId = {} (AWS's prescribed revocation) until they \
         have expired.",
        idc.id
    )
}

pub(super) fn deprovisioned_users_still_enabled(
    snapshot: &OrgSnapshot,
    links: &IdentityLinks<'_>,
    policy: &Policy,
) -> Vec<Finding> {
    still_enabled(snapshot, links, policy, OktaUserStatus::Deprovisioned)
}

pub(super) fn suspended_users_still_enabled(
    snapshot: &OrgSnapshot,
    links: &IdentityLinks<'_>,
    policy: &Policy,
) -> Vec<Finding> {
    still_enabled(snapshot, links, policy, OktaUserStatus::Suspended)
}

/// Deactivated in Okta, disabled in Identity Center — and still assigned there, directly or through a group
/// (SCIM's `active: false` leaves assignments and group memberships in place). Low: nobody can sign in as the
/// user now, but re-enabling them restores every path at once.
pub(super) fn deprovisioned_users_still_assigned(
    snapshot: &OrgSnapshot,
    links: &IdentityLinks<'_>,
    policy: &Policy,
) -> Vec<Finding> {
    snapshot
        .okta
        .users
        .iter()
        .filter(|u| u.status == OktaUserStatus::Deprovisioned)
        .flat_map(|okta| links.idc_users_for(&okta.id).into_iter().map(move |idc| (okta, idc)))
        .filter(|(_, idc)| !idc.status.can_sign_in())
        .filter_map(|(okta, idc)| {
            let access = links.idc().effective_assignments(&idc.id);
            if access.is_empty() {
                return None;
            }
            let mut evidence = vec![
                Evidence::new("okta", format!("Okta user {} is {}", okta.id, okta.status.as_str())).reference(okta.id.to_string()),
                Evidence::new("identity-center", format!("Identity Center user {} is {}", idc.id, idc.status.as_str()))
                    .reference(idc.id.to_string()),
            ];
            evidence.extend(access.iter().map(|a| Evidence::new("identity-center", describe_assignment(a))));
            Some(
                Finding::new(
                    Rule::DeprovisionedUserStillAssigned,
                    Severity::Low,
                    format!(
                        "{} is deactivated in Okta and disabled in IAM Identity Center but still holds {} account assignment(s)",
                        okta.login,
                        access.len()
                    ),
                    person_subject(okta, idc),
                    policy.now,
                )
                .with_evidence(evidence)
                .with_remedy(
                    "Remove the user's direct assignments and their memberships of assigned groups in Identity Center \
                     (or delete the user once the records you keep allow it), so that re-enabling the user does not \
                     bring the access back.",
                ),
            )
        })
        .collect()
}

fn still_enabled(
    snapshot: &OrgSnapshot,
    links: &IdentityLinks<'_>,
    policy: &Policy,
    status: OktaUserStatus,
) -> Vec<Finding> {
    snapshot
        .okta
        .users
        .iter()
        .filter(|u| u.status == status)
        .flat_map(|okta| links.idc_users_for(&okta.id).into_iter().map(move |idc| (okta, idc)))
        .filter_map(|(okta, idc)| {
            if !idc.status.can_sign_in() {
                return None;
            }
            let access = links.idc().effective_assignments(&idc.id);
            let since = okta.status_changed.map(|t| format!(" since {}", t.to_rfc3339())).unwrap_or_default();
            let mut evidence = vec![
                Evidence::new("okta", format!("Okta user {} is {}{since}", okta.id, status.as_str())).reference(okta.id.to_string()),
                Evidence::new("identity-center", format!("Identity Center user {} is {}", idc.id, idc.status.as_str()))
                    .reference(idc.id.to_string()),
            ];
            evidence.extend(access.iter().map(|a| Evidence::new("identity-center", describe_assignment(a))));
            let finding = if status == OktaUserStatus::Suspended {
                Finding::new(
                    Rule::SuspendedStillEnabled,
                    Severity::Medium,
                    format!("{} is suspended in Okta but still enabled in IAM Identity Center", okta.login),
                    person_subject(okta, idc),
                    policy.now,
                )
                .with_remedy(
                    "Okta keeps a suspended user's app assignments, so SCIM leaves them enabled in AWS. If the \
                     suspension is meant to cut access, unassign the user from the AWS IAM Identity Center app (or \
                     deactivate them); otherwise accept with a note.",
                )
            } else {
                let severity = if access.is_empty() { Severity::Medium } else { Severity::High };
                let title = if access.is_empty() {
                    format!("{} is deactivated in Okta but still enabled in IAM Identity Center", okta.login)
                } else {
                    format!(
                        "{} is deactivated in Okta but still enabled in IAM Identity Center with {} account assignment(s)",
                        okta.login,
                        access.len()
                    )
                };
                Finding::new(Rule::DeprovisionedUserEnabled, severity, title, person_subject(okta, idc), policy.now)
                    .with_remedy(revoke_remedy(idc))
            };
            Some(finding.with_evidence(evidence))
        })
        .collect()
}
