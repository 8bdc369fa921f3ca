//! Access in Identity Center that Okta does not account for.

use crate::domain::{Evidence, Finding, IdentityLinks, OrgSnapshot, Principal, Rule, Severity, Subject};

use super::{Policy, describe_assignment};

pub(super) fn direct_user_assignments(
    snapshot: &OrgSnapshot,
    links: &IdentityLinks<'_>,
    policy: &Policy,
) -> Vec<Finding> {
    let idc = &snapshot.idc;
    idc.assignments
        .iter()
        .filter_map(|a| {
            let Principal::User(user_id) = &a.principal else {
                return None;
            };
            let user = links.idc().user(user_id);
            let okta = links.okta_user_for(user_id);
            let set_name = links.idc().set_name(&a.permission_set_arn);
            let who = user.map(|u| u.user_name.as_str()).unwrap_or(user_id.as_str());
            let subject = Subject {
                okta_user_id: okta.map(|u| u.id.to_string()),
                okta_login: okta.map(|u| u.login.to_string()),
                idc_user_id: Some(user_id.to_string()),
                idc_user_name: user.map(|u| u.user_name.clone()),
                account_id: Some(a.account_id.to_string()),
                permission_set_arn: Some(a.permission_set_arn.to_string()),
                ..Subject::default()
            };
            Some(
                Finding::new(
                    Rule::DirectUserAssignment,
                    Severity::Medium,
                    format!(
                        "{who} holds {set_name} on account {} directly, outside any Okta group",
                        a.account_id
                    ),
                    subject,
                    policy.now,
                )
                .with_evidence([Evidence::new(
                    "identity-center",
                    format!("account assignment: {set_name} on {} to USER {user_id}", a.account_id),
                )
                .reference(a.permission_set_arn.to_string())])
                .with_remedy(
                    "Direct assignments survive Okta group changes and app unassignment. Replace it with membership \
                     of an Okta group pushed to Identity Center, then delete the direct assignment.",
                ),
            )
        })
        .collect()
}

pub(super) fn orphaned_idc_users(snapshot: &OrgSnapshot, links: &IdentityLinks<'_>, policy: &Policy) -> Vec<Finding> {
    snapshot
        .idc
        .users
        .iter()
        .filter(|u| links.okta_user_for(&u.id).is_none())
        .map(|user| {
            let access = links.idc().effective_assignments(&user.id);
            let severity = if access.is_empty() || !user.status.can_sign_in() {
                Severity::Low
            } else {
                Severity::Medium
            };
            let mut evidence = vec![
                Evidence::new(
                    "identity-center",
                    format!(
                        "Identity Center user {} ({}) matches no Okta user",
                        user.id,
                        user.status.as_str()
                    ),
                )
                .reference(user.id.to_string()),
            ];
            evidence.extend(
                access
                    .iter()
                    .map(|a| Evidence::new("identity-center", describe_assignment(a))),
            );
            Finding::new(
                Rule::OrphanedIdcUser,
                severity,
                format!("{} exists in IAM Identity Center but not in Okta", user.user_name),
                Subject {
                    idc_user_id: Some(user.id.to_string()),
                    idc_user_name: Some(user.user_name.clone()),
                    ..Subject::default()
                },
                policy.now,
            )
            .with_evidence(evidence)
            .with_remedy(
                "Users made by hand in Identity Center escape Okta's lifecycle. Delete the user, or create and \
                 assign them in Okta so SCIM owns them.",
            )
        })
        .collect()
}
