//! The access review's hygiene rules: access that no Okta lifecycle step will ever remove (empty assigned groups,
//! groups Okta does not push, unused permission sets), access nobody uses (inactivity), privileged access spread
//! wide (large groups), and Okta's provisioning to AWS broken (app users and push mappings in ERROR).

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Duration, Utc};

use crate::domain::{
    AccountAssignment, Evidence, Finding, IdcGroup, IdcIndex, IdentityLinks, OktaUser, OktaUserId, OktaUserStatus,
    OrgSnapshot, Principal, PushMappingStatus, Rule, Severity, Subject, SyncState,
};

use super::access::LastSignIns;
use super::{Policy, access_evidence};

/// What the hygiene rules need besides the snapshot.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReviewPolicy {
    /// Access unused (no sign-in known) for longer than this is an `inactive-user` finding.
    pub inactive_after: Duration,
    /// Permission sets (names or ARNs) whose reach through groups is watched (`PRIVILEGED_PERMISSION_SETS`).
    pub privileged_permission_sets: HashSet<String>,
    /// A group with at least this many members is large (`REVIEW_LARGE_GROUP_MEMBERS`).
    pub large_group_members: usize,
}

impl Default for ReviewPolicy {
    fn default() -> Self {
        Self {
            inactive_after: Duration::days(90),
            privileged_permission_sets: HashSet::new(),
            large_group_members: 10,
        }
    }
}

pub(super) fn evaluate(snapshot: &OrgSnapshot, links: &IdentityLinks<'_>, policy: &Policy) -> Vec<Finding> {
    let idc = links.idc();
    let mut findings = groups_assigned_without_members(snapshot, idc, policy.now);
    findings.extend(idc_groups_not_pushed(snapshot, idc, policy.now));
    findings.extend(permission_sets_unassigned(snapshot, policy.now));
    findings.extend(inactive_users(snapshot, links, policy));
    findings.extend(privileged_via_large_groups(snapshot, idc, &policy.review, policy.now));
    findings.extend(app_users_in_sync_error(snapshot, links, policy.now));
    findings.extend(push_mappings_in_error(snapshot, policy.now));
    findings
}

fn assignments_of<'a>(idc: &IdcIndex<'a>, group: &IdcGroup) -> Vec<&'a AccountAssignment> {
    idc.assignments_of(&Principal::Group(group.id.clone())).collect()
}

fn group_subject(group: &IdcGroup) -> Subject {
    Subject {
        group_id: Some(group.id.to_string()),
        ..Subject::default()
    }
}

fn groups_assigned_without_members(snapshot: &OrgSnapshot, idc: &IdcIndex<'_>, now: DateTime<Utc>) -> Vec<Finding> {
    snapshot
        .idc
        .groups
        .iter()
        .filter(|g| g.members.is_empty())
        .filter_map(|group| {
            let assigned = assignments_of(idc, group);
            if assigned.is_empty() {
                return None;
            }
            Some(
                Finding::new(
                    Rule::GroupAssignedWithoutMembers,
                    Severity::Low,
                    format!(
                        "Identity Center group {} holds {} account assignment(s) but has no members",
                        group.display_name,
                        assigned.len()
                    ),
                    group_subject(group),
                    now,
                )
                .with_evidence(assigned.iter().map(|a| {
                    Evidence::new(
                        "identity-center",
                        format!(
                            "{} on account {} to GROUP {}",
                            idc.set_name(&a.permission_set_arn),
                            a.account_id,
                            group.id
                        ),
                    )
                    .reference(a.permission_set_arn.to_string())
                }))
                .with_remedy(
                    "Whoever is added to this group gets the access at once, without a review. Delete the \
                     assignments if the group is retired; otherwise record who owns it.",
                ),
            )
        })
        .collect()
}

/// Linked: a push mapping targets the group by id, or (when Okta's mapping carries no target id, which is
/// UNVERIFIED for the AWS IAM Identity Center app) the mapping's source group has the group's name.
fn idc_groups_not_pushed(snapshot: &OrgSnapshot, idc: &IdcIndex<'_>, now: DateTime<Utc>) -> Vec<Finding> {
    let mappings = &snapshot.okta.app.group_push_mappings;
    let targets: HashSet<&str> = mappings
        .iter()
        .filter_map(|m| m.target_group_id.as_ref().map(|t| t.as_str()))
        .collect();
    let okta_names: HashMap<&str, &str> = snapshot
        .okta
        .groups
        .iter()
        .map(|g| (g.id.as_str(), g.name.as_str()))
        .collect();
    let source_names: HashSet<&str> = mappings
        .iter()
        .filter(|m| m.target_group_id.is_none())
        .filter_map(|m| okta_names.get(m.source_group_id.as_str()).copied())
        .collect();
    snapshot
        .idc
        .groups
        .iter()
        .filter(|g| !targets.contains(g.id.as_str()) && !source_names.contains(g.display_name.as_str()))
        .map(|group| {
            let assigned = assignments_of(idc, group);
            let severity = if assigned.is_empty() {
                Severity::Low
            } else {
                Severity::Medium
            };
            Finding::new(
                Rule::IdcGroupNotPushed,
                severity,
                format!(
                    "Identity Center group {} is not pushed from Okta ({} member(s), {} assignment(s))",
                    group.display_name,
                    group.members.len(),
                    assigned.len()
                ),
                group_subject(group),
                now,
            )
            .with_evidence([Evidence::new(
                "okta",
                format!(
                    "no group push mapping of app {} targets Identity Center group {}",
                    snapshot.okta.app.id, group.id
                ),
            )
            .reference(group.id.to_string())])
            .with_evidence(assigned.iter().map(|a| {
                Evidence::new(
                    "identity-center",
                    format!("{} on account {}", idc.set_name(&a.permission_set_arn), a.account_id),
                )
            }))
            .with_remedy(
                "Okta's lifecycle does not manage this group's membership: removing someone in Okta leaves them in \
                 it. Push an Okta group to it (Group Push, link to the existing group) or delete it.",
            )
        })
        .collect()
}

/// Permission sets provisioned but assigned to nobody: a role that stands in accounts and that nobody should hold.
/// A set the inventory read as provisioned to no account has no role anywhere and is not a finding; a snapshot
/// without the provisioning read (an old one, the demo) judges every unassigned set, and says so.
fn permission_sets_unassigned(snapshot: &OrgSnapshot, now: DateTime<Utc>) -> Vec<Finding> {
    let assigned: HashSet<&str> = snapshot
        .idc
        .assignments
        .iter()
        .map(|a| a.permission_set_arn.as_str())
        .collect();
    let provisioned_to: HashMap<&str, usize> = snapshot
        .idc
        .provisioned
        .iter()
        .map(|p| (p.permission_set_arn.as_str(), p.accounts.len()))
        .collect();
    snapshot
        .idc
        .permission_sets
        .iter()
        .filter(|p| !assigned.contains(p.arn.as_str()))
        .filter_map(|set| {
            let accounts = provisioned_to.get(set.arn.as_str()).copied();
            if accounts == Some(0) {
                return None;
            }
            let where_provisioned = match accounts {
                Some(n) => format!("provisioned to {n} account(s)"),
                None => "where it is provisioned was not read".to_owned(),
            };
            Some(
                Finding::new(
                    Rule::PermissionSetUnassigned,
                    Severity::Low,
                    format!("Permission set {} is assigned to nobody on any account", set.name),
                    Subject {
                        permission_set_arn: Some(set.arn.to_string()),
                        ..Subject::default()
                    },
                    now,
                )
                .with_evidence([Evidence::new(
                    "identity-center",
                    format!(
                        "no account assignment of {} among the {} read on {} account(s); {where_provisioned}",
                        set.arn,
                        snapshot.idc.assignments.len(),
                        snapshot.idc.accounts.len()
                    ),
                )
                .reference(set.arn.to_string())])
                .with_remedy(
                    "A permission set nobody holds still stands provisioned in the accounts it was once assigned on \
                     (its role stays there). Delete it, or record why it is kept (break-glass).",
                ),
            )
        })
        .collect()
}

/// How many of an inactive person's access paths their finding lists (then how many more there are): one, as an
/// example; the review's access table lists every path. At 10,000 inactive people each further line costs ~3.5 MiB
/// of the run's peak (README, Bench).
const MAX_INACTIVE_ACCESS_EVIDENCE: usize = 1;

fn inactive_users(snapshot: &OrgSnapshot, links: &IdentityLinks<'_>, policy: &Policy) -> Vec<Finding> {
    let limit = policy.review.inactive_after;
    let sign_ins = LastSignIns::of_snapshot(snapshot);
    // A capped CloudTrail read reaches back only to its earliest event (`activity_since` is then that), and a
    // capped record read missed some users: the evidence says so, so a capped read never reads as "no sign-in".
    let since = snapshot
        .activity_since
        .map_or_else(|| "the start of the snapshot's activity".to_owned(), |t| t.to_rfc3339());
    let since = if snapshot.activity_complete {
        since
    } else {
        format!("{since} (the read stopped at its cap: older CloudTrail activity in the window was not read)")
    };
    let record_cut = |recorded: &crate::domain::activity_record::RecordedUses| {
        if recorded.complete {
            ""
        } else {
            " (the record read stopped at its cap: some users' recorded sign-ins were not read)"
        }
    };
    let record = match &snapshot.recorded_uses {
        Some(recorded) => format!(
            ", and sign-ins and role credentials in identity-center-watch's activity record since {}{}",
            recorded.since.to_rfc3339(),
            record_cut(recorded)
        ),
        None => " (no activity record read: AWS sign-ins before that are not seen)".to_owned(),
    };
    let unseen = match &snapshot.recorded_uses {
        Some(recorded) => format!(
            "no sign-in known (none in Okta's lastLogin, none in CloudTrail since {since}, none in the activity \
             record since {}{})",
            recorded.since.to_rfc3339(),
            record_cut(recorded)
        ),
        None => format!("no sign-in known (none in Okta's lastLogin, none in CloudTrail since {since})"),
    };
    snapshot
        .okta
        .users
        .iter()
        // Deprovisioned and suspended people have rules of their own.
        .filter(|u| {
            !matches!(
                u.effective_status(),
                OktaUserStatus::Deprovisioned | OktaUserStatus::Suspended
            )
        })
        .flat_map(|okta| links.idc_users_for(&okta.id).into_iter().map(move |idc| (okta, idc)))
        .filter(|(_, idc)| idc.status.can_sign_in())
        .filter_map(|(okta, idc)| {
            let access = links.idc().effective_assignments(&idc.id);
            if access.is_empty() {
                return None;
            }
            let last = sign_ins.of(Some(okta), idc);
            if last.is_some_and(|(at, _)| policy.now.signed_duration_since(at) <= limit) {
                return None;
            }
            let observed = match last {
                Some((at, source)) => {
                    Evidence::new("okta", format!("last sign-in {} (read from {source})", at.to_rfc3339())).at(at)
                }
                None => Evidence::new("okta", unseen.clone()),
            };
            let title = match last {
                Some((at, _)) => format!(
                    "{} has AWS access but has not signed in for {} days",
                    okta.login,
                    policy.now.signed_duration_since(at).num_days()
                ),
                None => format!("{} has AWS access and no sign-in is known", okta.login),
            };
            let mut evidence = vec![
                observed,
                Evidence::new(
                    "okta",
                    format!(
                        "sources: Okta lastLogin (a sign-in to Okta for any app, kept for the user's life) and AWS \
                         use in CloudTrail since {since}{record}; limit {} days",
                        limit.num_days()
                    ),
                )
                .reference(okta.id.to_string()),
            ];
            evidence.extend(access_evidence(&access, MAX_INACTIVE_ACCESS_EVIDENCE));
            Some(
                Finding::new(
                    Rule::InactiveUser,
                    Severity::Low,
                    title,
                    super::deprovisioning::person_subject(okta, idc),
                    policy.now,
                )
                .with_evidence(evidence)
                .with_remedy(
                    "Unused access is standing risk. Confirm with the person's manager; remove them from the Okta \
                     groups pushed to AWS (or unassign the app) if they no longer need it.",
                ),
            )
        })
        .collect()
}

fn is_privileged(policy: &ReviewPolicy, name: &str, arn: &str) -> bool {
    policy.privileged_permission_sets.contains(name) || policy.privileged_permission_sets.contains(arn)
}

fn privileged_via_large_groups(
    snapshot: &OrgSnapshot,
    idc: &IdcIndex<'_>,
    policy: &ReviewPolicy,
    now: DateTime<Utc>,
) -> Vec<Finding> {
    if policy.privileged_permission_sets.is_empty() {
        return Vec::new();
    }
    snapshot
        .idc
        .assignments
        .iter()
        .filter_map(|a| {
            let Principal::Group(group_id) = &a.principal else {
                return None;
            };
            let name = idc.set_name(&a.permission_set_arn);
            if !is_privileged(policy, name, a.permission_set_arn.as_str()) {
                return None;
            }
            let group = idc.group(group_id)?;
            if group.members.len() < policy.large_group_members {
                return None;
            }
            Some(
                Finding::new(
                    Rule::PrivilegedViaLargeGroup,
                    Severity::Medium,
                    format!(
                        "Privileged permission set {name} on account {} reaches {} people through group {}",
                        a.account_id,
                        group.members.len(),
                        group.display_name
                    ),
                    Subject {
                        group_id: Some(group.id.to_string()),
                        account_id: Some(a.account_id.to_string()),
                        permission_set_arn: Some(a.permission_set_arn.to_string()),
                        ..Subject::default()
                    },
                    now,
                )
                .with_evidence([Evidence::new(
                    "identity-center",
                    format!(
                        "{name} on account {} to GROUP {} ({} members; large from {})",
                        a.account_id,
                        group.id,
                        group.members.len(),
                        policy.large_group_members
                    ),
                )
                .reference(a.permission_set_arn.to_string())])
                .with_remedy(
                    "Privileged access belongs to a small, named group. Split the group, or assign a less \
                     privileged permission set to it and keep the privileged one for a small group.",
                ),
            )
        })
        .collect()
}

fn app_users_in_sync_error(snapshot: &OrgSnapshot, links: &IdentityLinks<'_>, now: DateTime<Utc>) -> Vec<Finding> {
    let app = &snapshot.okta.app;
    let mut okta_users: HashMap<&OktaUserId, &OktaUser> = HashMap::new();
    for user in &snapshot.okta.users {
        okta_users.entry(&user.id).or_insert(user);
    }
    app.app_users
        .iter()
        .filter(|a| a.sync_state == Some(SyncState::Error))
        .map(|app_user| {
            let okta = okta_users.get(&app_user.user_id).copied();
            let leaving = okta.is_some_and(|u| {
                matches!(
                    u.effective_status(),
                    OktaUserStatus::Deprovisioned | OktaUserStatus::Suspended
                )
            });
            let idc = links.idc_user_for(&app_user.user_id);
            let who = okta.map_or_else(|| app_user.user_id.to_string(), |u| u.login.to_string());
            let last_sync = app_user
                .last_sync
                .map(|t| format!(", last synchronised {}", t.to_rfc3339()))
                .unwrap_or_default();
            Finding::new(
                Rule::AppUserSyncError,
                if leaving { Severity::High } else { Severity::Medium },
                format!("Okta's provisioning of {who} to AWS IAM Identity Center is in ERROR"),
                Subject {
                    okta_user_id: Some(app_user.user_id.to_string()),
                    okta_login: okta.map(|u| u.login.to_string()),
                    idc_user_id: idc.map(|u| u.id.to_string()),
                    idc_user_name: idc.map(|u| u.user_name.clone()),
                    app_id: Some(app.id.to_string()),
                    ..Subject::default()
                },
                now,
            )
            .with_evidence([Evidence::new(
                "okta",
                format!(
                    "app user {} of app {}: syncState ERROR{last_sync}{}",
                    app_user.user_id,
                    app.id,
                    okta.map(|u| format!("; Okta status {}", u.effective_status().as_str()))
                        .unwrap_or_default()
                ),
            )
            .reference(app_user.user_id.to_string())])
            .with_remedy(
                "Okta stopped provisioning this person to AWS: changes (a deactivation included) do not reach \
                 Identity Center. Resolve the provisioning task in Okta's Admin Console (Dashboard > Tasks), then \
                 check the person's Identity Center state.",
            )
        })
        .collect()
}

fn push_mappings_in_error(snapshot: &OrgSnapshot, now: DateTime<Utc>) -> Vec<Finding> {
    let app = &snapshot.okta.app;
    app.group_push_mappings
        .iter()
        .filter(|m| m.status == PushMappingStatus::Error)
        .map(|mapping| {
            let name = snapshot
                .okta
                .groups
                .iter()
                .find(|g| g.id == mapping.source_group_id)
                .map_or_else(|| mapping.source_group_id.to_string(), |g| g.name.clone());
            let target = mapping
                .target_group_id
                .as_ref()
                .map(|t| format!(" to Identity Center group {t}"))
                .unwrap_or_default();
            let summary = mapping
                .error_summary
                .as_deref()
                .map(|s| format!(": {}", s.chars().take(200).collect::<String>()))
                .unwrap_or_default();
            Finding::new(
                Rule::GroupPushError,
                Severity::High,
                format!("Okta's group push of {name}{target} is in ERROR"),
                Subject {
                    group_id: Some(mapping.source_group_id.to_string()),
                    app_id: Some(app.id.to_string()),
                    ..Subject::default()
                },
                now,
            )
            .with_evidence([Evidence::new(
                "okta",
                format!("group push mapping {} status ERROR{summary}", mapping.id),
            )
            .reference(mapping.id.clone())])
            .with_remedy(
                "Okta does not push this group's membership changes: people removed from it in Okta stay in the \
                 Identity Center group with its access. Fix the push in the app's Push Groups tab and push now.",
            )
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::IdcUserId;
    use crate::rules::evaluate;

    fn demo() -> OrgSnapshot {
        serde_json::from_str(include_str!("../../../events/demo/org.json")).expect("the demo org parses")
    }

    /// The demo's review policy: Operations is privileged, three members make a group large.
    fn policy(snapshot: &OrgSnapshot) -> Policy {
        let mut policy = Policy::at(snapshot.collected_at);
        policy.review.privileged_permission_sets = ["Operations".to_owned()].into();
        policy.review.large_group_members = 3;
        policy
    }

    fn of(findings: &[Finding], rule: Rule) -> Vec<&Finding> {
        findings.iter().filter(|f| f.rule == rule).collect()
    }

    #[test]
    fn a_capped_activity_read_says_how_far_back_it_reaches_in_the_inactive_users_evidence() {
        let mut snapshot = demo();
        let whole = evaluate(&snapshot, &policy(&snapshot));
        let sources = |findings: &[Finding]| -> String {
            of(findings, Rule::InactiveUser)[0]
                .evidence
                .iter()
                .map(|e| e.observation.clone())
                .collect::<Vec<_>>()
                .join("\n")
        };
        assert!(!sources(&whole).contains("stopped at its cap"), "{}", sources(&whole));

        let reaches = snapshot.collected_at - chrono::Duration::hours(3);
        snapshot.activity_since = Some(reaches);
        snapshot.activity_complete = false;
        let capped = evaluate(&snapshot, &policy(&snapshot));
        let text = sources(&capped);
        assert!(text.contains(&reaches.to_rfc3339()), "{text}");
        assert!(text.contains("the read stopped at its cap"), "{text}");
        // The same people are judged: the cap changes what the evidence says, not who is found.
        assert_eq!(
            of(&capped, Rule::InactiveUser).len(),
            of(&whole, Rule::InactiveUser).len()
        );
    }

    #[test]
    fn each_hygiene_rule_fires_on_the_demo_org_with_its_subject() {
        let snapshot = demo();
        let findings = evaluate(&snapshot, &policy(&snapshot));
        let empty = of(&findings, Rule::GroupAssignedWithoutMembers);
        assert_eq!(empty.len(), 1);
        assert!(empty[0].title.contains("aws-breakglass-admins"), "{}", empty[0].title);

        let not_pushed: Vec<&str> = of(&findings, Rule::IdcGroupNotPushed)
            .iter()
            .map(|f| f.title.split(' ').nth(3).unwrap_or_default())
            .collect();
        assert_eq!(
            not_pushed,
            ["aws-breakglass-admins"],
            "pushed groups are linked by target id"
        );

        let unassigned = of(&findings, Rule::PermissionSetUnassigned);
        assert_eq!(unassigned.len(), 1);
        assert!(unassigned[0].title.contains("BillingViewer"));
        assert!(
            unassigned[0].evidence[0]
                .observation
                .ends_with("where it is provisioned was not read")
        );
        // Read as provisioned to no account: no role stands anywhere, nothing to find. Provisioned to two: found.
        let billing = unassigned[0].subject.permission_set_arn.clone().unwrap_or_default();
        let with_provisioning = |accounts: Vec<&str>| {
            let mut read = demo();
            read.idc.provisioned = vec![crate::domain::Provisioning {
                permission_set_arn: crate::domain::PermissionSetArn::parse(&billing).expect("an arn"),
                accounts: accounts
                    .into_iter()
                    .map(|a| crate::domain::AccountId::parse(a).expect("an account id"))
                    .collect(),
            }];
            of(&evaluate(&read, &policy(&read)), Rule::PermissionSetUnassigned).len()
        };
        assert_eq!(with_provisioning(vec![]), 0, "never provisioned");
        assert_eq!(with_provisioning(vec!["111111111111", "222222222222"]), 1);

        let inactive = of(&findings, Rule::InactiveUser);
        assert_eq!(inactive.len(), 1);
        assert_eq!(
            inactive[0].subject.okta_login.as_deref(),
            Some("greg.hall@acme.example")
        );
        assert!(inactive[0].title.contains("131 days"), "{}", inactive[0].title);
        assert!(inactive[0].evidence[0].observation.contains("okta-last-login"));

        let privileged = of(&findings, Rule::PrivilegedViaLargeGroup);
        assert_eq!(privileged.len(), 1);
        assert_eq!(privileged[0].subject.account_id.as_deref(), Some("444455556666"));
        assert!(privileged[0].title.contains("aws-all-engineering"));

        let sync = of(&findings, Rule::AppUserSyncError);
        assert_eq!(sync.len(), 1);
        assert_eq!(sync[0].subject.okta_login.as_deref(), Some("bob.martin@acme.example"));
        assert_eq!(
            sync[0].severity,
            Severity::High,
            "a deprovisioned person whose push failed"
        );

        let push = of(&findings, Rule::GroupPushError);
        assert_eq!(push.len(), 1);
        assert_eq!(push[0].subject.group_id.as_deref(), Some("00g1ops00000000003"));
        assert!(push[0].title.contains("aws-production-operations"));
    }

    #[test]
    fn an_inactive_persons_finding_lists_one_access_path_and_counts_the_rest() {
        let shape = crate::generated_org::OrgShape {
            users: 40,
            groups: 8,
            accounts: 4,
            permission_sets: 3,
            assignments: 60,
        };
        let now = chrono::Utc::now();
        let snapshot = crate::generated_org::snapshot(&shape, now);
        let findings = evaluate(&snapshot, &Policy::at(now));
        let inactive = of(&findings, Rule::InactiveUser);
        assert!(!inactive.is_empty(), "the generated org has no sign-ins");
        let mut capped = 0;
        for finding in inactive {
            let idc = snapshot
                .idc
                .users
                .iter()
                .find(|u| finding.subject.idc_user_id.as_deref() == Some(u.id.as_str()))
                .expect("the finding names its Identity Center user");
            let paths = snapshot.idc.effective_assignments(&idc.id).len();
            let listed: Vec<_> = finding
                .evidence
                .iter()
                .filter(|e| e.source == "identity-center")
                .collect();
            if paths > MAX_INACTIVE_ACCESS_EVIDENCE {
                capped += 1;
                assert_eq!(listed.len(), MAX_INACTIVE_ACCESS_EVIDENCE + 1, "{}", finding.title);
                let more = listed.last().map(|e| e.observation.as_str()).unwrap_or_default();
                assert!(
                    more.starts_with(&format!(
                        "and {} more access path(s) ({paths} in all",
                        paths - MAX_INACTIVE_ACCESS_EVIDENCE
                    )),
                    "{more}"
                );
            } else {
                assert_eq!(listed.len(), paths, "{}", finding.title);
            }
        }
        assert!(capped > 0, "some person has more paths than are listed");
    }

    #[test]
    fn recent_aws_use_keeps_a_person_active_and_no_privileged_list_means_no_large_group_finding() {
        let mut snapshot = demo();
        let greg = IdcUserId::parse("9067a1b2c3-a8a8a8a8-0008-4000-8000-000000000008").expect("id");
        let mut event = snapshot.activity[0].clone();
        event.event_id = "greg-portal".into();
        event.actor_user_id = Some(greg);
        event.event_time = snapshot.collected_at - Duration::days(2);
        snapshot.activity.push(event);
        let findings = evaluate(&snapshot, &policy(&snapshot));
        assert!(of(&findings, Rule::InactiveUser).is_empty());
        let findings = evaluate(&snapshot, &Policy::at(snapshot.collected_at));
        assert!(of(&findings, Rule::PrivilegedViaLargeGroup).is_empty());
    }

    #[test]
    fn fixing_the_org_clears_each_finding() {
        let mut snapshot = demo();
        for mapping in &mut snapshot.okta.app.group_push_mappings {
            mapping.status = PushMappingStatus::Active;
        }
        for app_user in &mut snapshot.okta.app.app_users {
            app_user.sync_state = Some(SyncState::Synchronized);
        }
        snapshot
            .idc
            .groups
            .retain(|g| g.display_name != "aws-breakglass-admins");
        snapshot
            .idc
            .assignments
            .retain(|a| !matches!(&a.principal, Principal::Group(g) if g.as_str().ends_with("0103")));
        snapshot.idc.permission_sets.retain(|p| p.name != "BillingViewer");
        let findings = evaluate(&snapshot, &policy(&snapshot));
        for rule in [
            Rule::GroupAssignedWithoutMembers,
            Rule::IdcGroupNotPushed,
            Rule::PermissionSetUnassigned,
            Rule::AppUserSyncError,
            Rule::GroupPushError,
        ] {
            assert!(of(&findings, rule).is_empty(), "{rule}");
        }
    }
}
