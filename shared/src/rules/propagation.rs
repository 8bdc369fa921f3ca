//! The propagation verdict: did one Okta deprovision reach Identity Center, how fast, and did the person keep
//! using AWS afterwards? Pure: the checker observes (I/O), this decides.

use std::collections::HashSet;

use chrono::{DateTime, Duration, Utc};

use crate::domain::activity::Reach;
use crate::domain::deprovision::Watch;
use crate::domain::episode::episodes_of;
use crate::domain::{
    ActivityEvent, DeprovisionKind, EffectiveAssignment, Evidence, Finding, IdcGroupId, IdcUser, IdentityLinks,
    LinkBasis, LinkCandidate, LinkKey, OktaUserStatus, OrgSnapshot, Rule, Severity, Subject, VerificationJob,
};

use super::{describe_activity, describe_assignment};

/// One Identity Center account linked to the person, as the checker saw it.
#[derive(Debug, Clone, PartialEq)]
pub struct AccountSeen {
    pub user: IdcUser,
    /// How it was linked (a weak link is named as such in findings).
    pub basis: LinkBasis,
    /// Linked through a link remembered from an earlier look.
    pub remembered: bool,
    /// Every assignment it still holds, direct and through groups.
    pub access: Vec<EffectiveAssignment>,
    /// For a group removal: still a member of the IdC group the Okta group is pushed to.
    pub in_removed_group: bool,
}

impl AccountSeen {
    pub fn new(user: IdcUser, basis: LinkBasis) -> Self {
        Self {
            user,
            basis,
            remembered: false,
            access: Vec::new(),
            in_removed_group: false,
        }
    }
}

/// What the checker saw in Okta, Identity Center and CloudTrail for one job.
#[derive(Debug, Clone, Default)]
pub struct Observation {
    /// The Okta user's status now, a deactivation under way counted as done (`None`: Okta no longer has the
    /// user — deleted).
    pub okta_status_now: Option<OktaUserStatus>,
    /// Okta's own record (the AWS app user, or a link remembered from it) says the person was provisioned.
    pub okta_says_provisioned: bool,
    /// App unassignment: Okta has the person assigned to the AWS app again.
    pub reassigned: bool,
    /// Group removal: the person is in the Okta group again.
    pub readded: bool,
    /// Every Identity Center account linked to the person, strongest link first.
    pub accounts: Vec<AccountSeen>,
    /// Links Okta's record names that lead to no Identity Center user.
    pub dangling: Vec<LinkCandidate>,
    /// Group removal: the IdC group the Okta group is pushed to; `None` when it is not pushed to AWS.
    pub removed_group: Option<IdcGroupId>,
    /// SCIM writes to the person's accounts (`identitystore-scim` PatchUser/PutUser/DeleteUser) since the event.
    pub scim_events: Vec<ActivityEvent>,
    /// Uses of AWS by the person after the event (portal calls, `AWSReservedSSO_*` role sessions).
    pub activity: Vec<ActivityEvent>,
    /// A CloudTrail read stopped at its page cap or time budget: what was read is partial.
    pub activity_incomplete: bool,
    /// The episode the job belongs to (part of every finding's id).
    pub episode_id: Option<String>,
    /// Whom and where the episode's watch looks, as recorded in the ledger (empty: from `accounts`).
    pub reach: Reach,
    /// How use of AWS beyond this account was watched (`None`: not said, e.g. a snapshot).
    pub org_watch: Option<OrgWatch>,
}

/// Whether use of AWS anywhere in the organization was watched, and how far.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OrgWatch {
    /// No org-wide activity source is configured: only this account's CloudTrail (portal sign-ins) was read.
    NotConfigured,
    Watched {
        /// The source's name (`athena`, `cloudtrail-lake`, `member-lookup`).
        source: &'static str,
        /// The source held every event up to this time at this look.
        caught_up_to: DateTime<Utc>,
        /// The watch goes on until then (the last session the person could hold can have ended).
        until: DateTime<Utc>,
    },
}

impl Observation {
    /// The account that decides: the first that can still sign in, else the strongest link.
    pub fn deciding(&self) -> Option<&AccountSeen> {
        self.accounts
            .iter()
            .find(|a| a.user.status.can_sign_in())
            .or(self.accounts.first())
    }

    fn idc_user(&self) -> Option<&IdcUser> {
        self.deciding().map(|a| &a.user)
    }

    /// Whom the person's use of AWS is matched against: the recorded reach, widened by the accounts linked now.
    pub fn reach(&self) -> Reach {
        let linked = Reach {
            user_ids: self.accounts.iter().map(|a| a.user.id.clone()).collect(),
            user_names: self.accounts.iter().map(|a| a.user.user_name.clone()).collect(),
            ..Reach::default()
        };
        self.reach.clone().merged(&linked)
    }
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
    /// deprovision is reported at once (the checker reports each event once per episode).
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
    let app_user = snapshot
        .okta
        .app
        .app_users
        .iter()
        .find(|a| a.user_id == job.okta_user_id);
    let mut seen = Observation {
        okta_status_now: okta_user.map(crate::domain::OktaUser::effective_status),
        okta_says_provisioned: app_user.is_some_and(|a| a.external_id.is_some() || a.user_name.is_some()),
        reassigned: job.kind == DeprovisionKind::AppUnassigned && app_user.is_some_and(|a| a.is_assigned()),
        readded: job.kind == DeprovisionKind::GroupRemoved
            && job.group_id.as_ref().is_some_and(|group| {
                snapshot
                    .okta
                    .groups
                    .iter()
                    .any(|g| &g.id == group && g.members.contains(&job.okta_user_id))
            }),
        ..Observation::default()
    };
    if let (DeprovisionKind::GroupRemoved, Some(group)) = (job.kind, &job.group_id) {
        seen.removed_group = snapshot
            .okta
            .app
            .group_push_mappings
            .iter()
            .find(|m| &m.source_group_id == group)
            .and_then(|m| m.target_group_id.clone());
    }
    let Some(person) = links.links_of(&job.okta_user_id) else {
        return seen;
    };
    seen.dangling = person.dangling.clone();
    for linked in &person.accounts {
        let user = linked.user;
        let in_removed_group = seen.removed_group.as_ref().is_some_and(|group| {
            snapshot
                .idc
                .groups
                .iter()
                .any(|g| &g.id == group && g.members.contains(&user.id))
        });
        seen.accounts.push(AccountSeen {
            user: user.clone(),
            basis: linked.basis,
            remembered: linked.remembered,
            access: links.idc().effective_assignments(&user.id),
            in_removed_group,
        });
        seen.scim_events.extend(
            snapshot
                .activity
                .iter()
                .filter(|e| e.is_scim() && e.target_user_id.as_ref() == Some(&user.id))
                .filter(|e| e.event_time >= job.published - SCIM_CLOCK_SKEW)
                .cloned(),
        );
        seen.activity.extend(
            snapshot
                .activity
                .iter()
                .filter(|e| e.event_time >= job.published && e.is_by(&user.id, &user.user_name))
                .cloned(),
        );
    }
    seen
}

/// Each deprovision episode in the snapshot whose window is over, through the propagation verdict: the events
/// of one offboarding are judged once, as the checker judges them.
pub fn replay(
    snapshot: &OrgSnapshot,
    links: &IdentityLinks<'_>,
    jobs: &[VerificationJob],
    policy: PropagationPolicy,
    now: DateTime<Utc>,
) -> Vec<Finding> {
    let mut findings = Vec::new();
    for (job, episode_id) in episodes_of(jobs, policy.max_window) {
        if job.check_after > now {
            continue;
        }
        let mut seen = observe_in_snapshot(snapshot, links, &job);
        seen.episode_id = Some(episode_id);
        match judge(&job, &seen, policy, now) {
            Verdict::Final { findings: found, .. } | Verdict::NotYet { findings: found } => findings.extend(found),
            Verdict::NothingToVerify(_) => {}
        }
        findings.extend(activity_after_deprovision(&job, &seen, &HashSet::new(), now).map(|r| r.finding));
    }
    findings
}

/// Any status in which Okta lets the person in again (reactivated, then locked out or resetting a password
/// included): the deprovision was undone, so there is nothing to verify.
pub fn is_back_in_okta(status: OktaUserStatus) -> bool {
    !matches!(
        status,
        OktaUserStatus::Deprovisioned | OktaUserStatus::Suspended | OktaUserStatus::Unknown
    )
}

/// At most this many events are quoted as evidence.
const MAX_EVENTS_QUOTED: usize = 20;
/// At most this many CloudTrail events are reported in one episode (the oldest first): far more than any
/// investigation needs to start, and small enough for the ledger's one item per episode.
pub const MAX_REPORTED_EVENTS: usize = 5_000;

/// Why a job needs no verdict, decided before any Identity Center read: the person is back, re-assigned or
/// re-added in Okta, or the group is not pushed to AWS. `None`: go on.
pub fn nothing_to_verify(job: &VerificationJob, seen: &Observation) -> Option<&'static str> {
    let user_level = !matches!(job.kind, DeprovisionKind::GroupRemoved | DeprovisionKind::AppUnassigned);
    if user_level && seen.okta_status_now.is_some_and(is_back_in_okta) {
        return Some("the Okta user is active again");
    }
    if job.kind == DeprovisionKind::Suspended && seen.okta_status_now.is_some_and(OktaUserStatus::is_deprovisioned) {
        // Suspended, then deactivated: the deactivation's own check decides (one offboarding, one verdict).
        return Some("the suspended person has been deactivated since: the deactivation's check decides");
    }
    if job.kind == DeprovisionKind::PushFailed && !seen.okta_status_now.is_some_and(OktaUserStatus::is_deprovisioned) {
        return Some("push failure for a user Okta has not deprovisioned");
    }
    if job.kind == DeprovisionKind::AppUnassigned && seen.reassigned {
        return Some("the person is assigned to the AWS app in Okta again");
    }
    if job.kind == DeprovisionKind::GroupRemoved && seen.readded {
        return Some("the person is in the Okta group again");
    }
    if job.kind == DeprovisionKind::GroupRemoved && seen.removed_group.is_none() {
        return Some("the Okta group is not pushed to AWS");
    }
    None
}

/// Would a verdict reached now list the account's remaining access? Only an overdue or a suspension does, and only
/// for an account that can still sign in: the checker reads the (costly, org-wide) assignments only then. A verdict
/// never depends on the access itself — status and memberships decide.
pub fn lists_access(
    job: &VerificationJob,
    account: &AccountSeen,
    policy: PropagationPolicy,
    now: DateTime<Utc>,
) -> bool {
    let still_in = match job.kind {
        DeprovisionKind::GroupRemoved => account.user.status.can_sign_in() && account.in_removed_group,
        _ => account.user.status.can_sign_in(),
    };
    still_in && (job.kind == DeprovisionKind::Suspended || now >= job.published + policy.max_window)
}

pub fn judge(job: &VerificationJob, seen: &Observation, policy: PropagationPolicy, now: DateTime<Utc>) -> Verdict {
    if let Some(reason) = nothing_to_verify(job, seen) {
        return Verdict::NothingToVerify(reason);
    }
    if seen.accounts.is_empty() {
        if !seen.okta_says_provisioned && seen.dangling.is_empty() {
            // Okta has no record of provisioning the person to AWS and no account matches their login: a person
            // without AWS access. The checker counts these (metric), so a mis-linked org shows as a rising count.
            return Verdict::NothingToVerify(
                "Okta has no record of provisioning the person to AWS, and no Identity Center user matches",
            );
        }
        return Verdict::Final {
            findings: vec![unverifiable(job, seen, now)],
            latency_seconds: None,
        };
    }
    let still_in = |a: &AccountSeen| match job.kind {
        DeprovisionKind::GroupRemoved => a.user.status.can_sign_in() && a.in_removed_group,
        _ => a.user.status.can_sign_in(),
    };
    let remaining: Vec<&AccountSeen> = seen.accounts.iter().filter(|a| still_in(a)).collect();
    if remaining.is_empty() && seen.accounts.iter().all(|a| a.basis.is_weak()) {
        // Only a login or email matched, and that account cannot sign in: it may be a stale one beside the
        // person's real account. A guess never proves access ended.
        return Verdict::Final {
            findings: vec![unverifiable(job, seen, now)],
            latency_seconds: None,
        };
    }
    if remaining.is_empty() {
        let scim = first_scim_write(job, seen);
        let latency = scim.map(|e| (e.event_time - job.published).num_seconds().max(0));
        return Verdict::Final {
            findings: vec![verified(job, seen, scim, latency, now)],
            latency_seconds: latency,
        };
    }
    if job.kind == DeprovisionKind::Suspended {
        // Okta keeps a suspended user's assignments, so SCIM does not disable them: a policy question, not a
        // SCIM failure. Decided at once; no waiting for the max window.
        return Verdict::Final {
            findings: vec![suspended_still_enabled(job, seen, &remaining, now)],
            latency_seconds: None,
        };
    }
    if now < job.published + policy.max_window {
        return Verdict::NotYet { findings: Vec::new() };
    }
    Verdict::Final {
        findings: vec![overdue(job, seen, &remaining, now)],
        latency_seconds: None,
    }
}

fn first_scim_write<'a>(job: &VerificationJob, seen: &'a Observation) -> Option<&'a ActivityEvent> {
    let ids: Vec<_> = seen.accounts.iter().map(|a| &a.user.id).collect();
    let writes: Vec<&ActivityEvent> = seen
        .scim_events
        .iter()
        .filter(|e| e.is_scim_user_write() && e.error_code.is_none())
        .filter(|e| e.target_user_id.as_ref().is_some_and(|id| ids.contains(&id)))
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

/// The person and the episode: findings of one incident share the episode in their ids, so re-checks and
/// duplicate jobs collapse, and a later incident is a new finding.
fn subject(job: &VerificationJob, seen: &Observation) -> Subject {
    let user = seen.idc_user();
    Subject {
        okta_user_id: Some(job.okta_user_id.to_string()),
        okta_login: job.login.clone(),
        idc_user_id: user.map(|u| u.id.to_string()),
        idc_user_name: user.map(|u| u.user_name.clone()),
        okta_event_id: Some(job.okta_event_id.to_string()),
        episode_id: Some(seen.episode_id.clone().unwrap_or_else(|| job.key())),
        group_id: job.group_id.as_ref().map(ToString::to_string),
        ..Subject::default()
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

/// Each linked account: its state, and how it was linked (weak links named as such).
fn accounts_evidence(seen: &Observation, now: DateTime<Utc>) -> impl Iterator<Item = Evidence> + '_ {
    seen.accounts.iter().map(move |a| {
        let remembered = if a.remembered {
            ", remembered from an earlier look"
        } else {
            ""
        };
        Evidence::new(
            "identity-center",
            format!(
                "user {} ({}) is {}; linked by {}{remembered}",
                a.user.id,
                a.user.user_name,
                a.user.status.as_str(),
                a.basis.describe()
            ),
        )
        .reference(a.user.id.to_string())
        .at(now)
    })
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

/// Strong links that led to no Identity Center user: said in every verdict, so an operator sees what Okta claims
/// and the identity store lacks.
fn dangling_evidence(seen: &Observation) -> impl Iterator<Item = Evidence> + '_ {
    seen.dangling.iter().map(|c| {
        let id = match &c.key {
            LinkKey::UserId(id) => id.to_string(),
            LinkKey::UserName(name) => format!("with userName {name}"),
            LinkKey::Email(email) => format!("with email {email}"),
            LinkKey::ExternalId { issuer, id } => format!("with external id {id} of {issuer}"),
        };
        Evidence::new(
            "identity-center",
            format!("no Identity Center user {id} (named by {})", c.basis.describe()),
        )
    })
}

fn incomplete_evidence(seen: &Observation) -> Option<Evidence> {
    seen.activity_incomplete.then(|| {
        Evidence::new(
            "cloudtrail",
            "CloudTrail was read only in part (page cap or time budget reached): events may be missing",
        )
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
    evidence.extend(accounts_evidence(seen, now));
    evidence.extend(dangling_evidence(seen));
    if let Some(group) = &seen.removed_group {
        evidence.push(Evidence::new(
            "identity-center",
            format!("no linked account is an enabled member of group {group}"),
        ));
    }
    evidence.extend(org_watch_evidence(seen));
    evidence.extend(incomplete_evidence(seen));
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

/// Okta says the person was provisioned, but no Identity Center account can be linked: no verdict can be
/// reached, and that is said, never skipped.
fn unverifiable(job: &VerificationJob, seen: &Observation, now: DateTime<Utc>) -> Finding {
    let mut evidence = vec![okta_evidence(job)];
    evidence.push(Evidence::new(
        "okta",
        match (seen.okta_says_provisioned, seen.dangling.is_empty()) {
            (true, _) => "Okta's record says the person was provisioned to the AWS IAM Identity Center app",
            (false, false) => "a strong link names an Identity Center user for the person",
            (false, true) => "Okta's record of the account it provisioned could not be read (no AWS app user record, no remembered link)",
        },
    ));
    evidence.extend(accounts_evidence(seen, now));
    evidence.extend(dangling_evidence(seen));
    evidence.push(Evidence::new(
        "identity-center",
        if seen.accounts.is_empty() {
            "tried: the app user's externalId and username, remembered links, the SCIM external id (when \
             configured), the login and email: none found an account"
        } else {
            "only the login or email matched, an account that cannot sign in: it may be a stale account beside the \
             person's real one, so it proves nothing"
        },
    ));
    Finding::new(
        Rule::PropagationUnverifiable,
        Severity::Medium,
        if seen.accounts.is_empty() {
            format!("{} deprovision cannot be verified: no Identity Center account links to the person", who(job))
        } else {
            format!(
                "{} deprovision cannot be verified: only a login match, which proves nothing, links to Identity Center",
                who(job)
            )
        },
        subject(job, seen),
        now,
    )
    .with_evidence(evidence)
    .with_remedy(
        "Find the person's Identity Center user by hand (IAM Identity Center console, Users) and check it is disabled. If it was deleted by hand, Okta's pushes to it fail: reconcile in Okta. If the auditor reads the wrong identity store, fix IDC_INSTANCE_ARN / IDENTITY_STORE_ID; if users are provisioned under another attribute, set LOGIN_MAPPING or IDC_EXTERNAL_ID_ISSUER.",
    )
}

fn suspended_still_enabled(
    job: &VerificationJob,
    seen: &Observation,
    remaining: &[&AccountSeen],
    now: DateTime<Utc>,
) -> Finding {
    let mut evidence = vec![okta_evidence(job)];
    evidence.extend(accounts_evidence(seen, now));
    evidence.extend(
        remaining
            .iter()
            .flat_map(|a| a.access.iter())
            .map(|a| Evidence::new("identity-center", describe_assignment(a))),
    );
    Finding::new(
        Rule::SuspendedStillEnabled,
        Severity::Medium,
        format!(
            "{} was suspended in Okta but is still enabled in IAM Identity Center",
            who(job)
        ),
        subject(job, seen),
        now,
    )
    .with_evidence(evidence)
    .with_remedy(
        "Okta keeps a suspended user's app assignments, so SCIM leaves them enabled in AWS. If the suspension is meant to cut AWS access, unassign the user from the AWS IAM Identity Center app (or deactivate them).",
    )
}

fn overdue(job: &VerificationJob, seen: &Observation, remaining: &[&AccountSeen], now: DateTime<Utc>) -> Finding {
    let mut evidence = vec![okta_evidence(job)];
    evidence.extend(accounts_evidence(seen, now));
    evidence.extend(dangling_evidence(seen));
    if let Some(group) = &seen.removed_group {
        evidence.push(Evidence::new(
            "identity-center",
            format!("still an enabled member of group {group}"),
        ));
    }
    // For a group removal only the access that came through that group is what should have gone.
    let access: Vec<&EffectiveAssignment> = remaining
        .iter()
        .flat_map(|a| a.access.iter())
        .filter(|a| job.kind != DeprovisionKind::GroupRemoved || a.via_group == seen.removed_group)
        .collect();
    evidence.extend(
        access
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
    evidence.extend(org_watch_evidence(seen));
    evidence.extend(incomplete_evidence(seen));
    let late = elapsed(now - job.published);
    let ids: Vec<&str> = remaining.iter().map(|a| a.user.id.as_str()).collect();
    Finding::new(
        Rule::PropagationOverdue,
        Severity::High,
        format!(
            "{} deprovision has not reached IAM Identity Center {late} after the Okta event; {} assignment(s) remain",
            who(job),
            access.len()
        ),
        subject(job, seen),
        now,
    )
    .with_evidence(evidence)
    .with_remedy(format!(
        "Disable the user in IAM Identity Center (or remove the group membership) by hand now, then fix SCIM: check \
         the SCIM token's expiry and Okta's provisioning tasks for errors, and retry the push. Until role sessions \
         expire, attach an explicit Deny on condition identitystore:UserId = {} (AWS's prescribed way to cut \
         live sessions).",
        ids.join(" / ")
    ))
}

/// A group unassigned from the AWS app whose members Okta no longer lists (the group was deleted too): whose
/// access should have ended cannot be known from Okta, so no verdict is possible — said, never skipped.
pub fn group_unassignment_unverifiable(
    unassignment: &crate::domain::deprovision::GroupUnassignment,
    now: DateTime<Utc>,
) -> Finding {
    let subject = Subject {
        group_id: Some(unassignment.unassigned_group_id.to_string()),
        app_id: unassignment.app_id.as_ref().map(ToString::to_string),
        okta_event_id: Some(unassignment.okta_event_id.to_string()),
        episode_id: Some(format!(
            "{}:{}",
            unassignment.okta_event_id, unassignment.unassigned_group_id
        )),
        ..Subject::default()
    };
    Finding::new(
        Rule::PropagationUnverifiable,
        Severity::Medium,
        format!(
            "Okta group {} was unassigned from the AWS app, but Okta no longer has the group: its members' \
             deprovisions cannot be verified",
            unassignment.unassigned_group_id
        ),
        subject,
        now,
    )
    .with_evidence([Evidence::new(
        "okta",
        format!(
            "{} for group {}; GET /api/v1/groups/{{id}}/users answers 404",
            crate::domain::deprovision::GROUP_APP_UNASSIGNMENT,
            unassignment.unassigned_group_id
        ),
    )
    .reference(unassignment.okta_event_id.to_string())
    .at(unassignment.published)])
    .with_remedy(
        "Find the Identity Center group Okta pushed it to (group push mappings) and check each of its members is \
         still meant to have access; run `deprov-audit verify --login …` for each person offboarded with it.",
    )
}

/// An activity finding and every CloudTrail event it reports (quoted or not), to mark them reported.
#[derive(Debug, Clone, PartialEq)]
pub struct ActivityReport {
    pub finding: Finding,
    pub event_ids: Vec<String>,
}

/// Role sessions live for their permission set's `SessionDuration`, at most 12 hours (IAM Identity Center user
/// guide): the longest a watch can need, and what an unknown duration is taken as (the safe side).
pub const MAX_SESSION: Duration = Duration::hours(12);
/// How long past the longest session the watch waits for a source that has not caught up before it stops: the
/// watch never runs longer than `MAX_SESSION + MAX_SOURCE_LAG` after the deprovision.
pub const MAX_SOURCE_LAG: Duration = Duration::hours(1);

/// The longest role session among the permission sets held; unknown (none recorded, or one without a readable
/// `SessionDuration`) counts as the 12 h maximum.
pub fn longest_session(reach: &Reach) -> Duration {
    let lengths: Vec<Duration> = reach
        .permission_sets
        .iter()
        .map(|set| {
            set.session_seconds
                .and_then(|s| i64::try_from(s).ok())
                .and_then(Duration::try_seconds)
                .map_or(MAX_SESSION, |d| d.min(MAX_SESSION))
        })
        .collect();
    lengths.into_iter().max().unwrap_or(MAX_SESSION)
}

/// When the last role session the person could hold can have ended: from the deprovision, or from the latest
/// session handed out after it (`GetRoleCredentials`/`Federate` while SCIM had not disabled them yet), for the
/// longest session held — never earlier than `earlier` (the end a previous look found), never later than
/// `MAX_SESSION` after the deprovision.
pub fn watch_until(
    job: &VerificationJob,
    reach: &Reach,
    events: &[ActivityEvent],
    earlier: Option<DateTime<Utc>>,
) -> DateTime<Utc> {
    let handed_out = events
        .iter()
        .filter(|e| e.hands_out_session() && e.event_time >= job.published && reach.names(e))
        .map(|e| e.event_time)
        .max();
    let from = handed_out.map_or(job.published, |at| at.max(job.published));
    // Checked: event times come from outside (CloudTrail, a job body); the watch is bounded by the deprovision anyway.
    let until = from
        .checked_add_signed(longest_session(reach))
        .unwrap_or(DateTime::<Utc>::MAX_UTC)
        .min(job.published + MAX_SESSION);
    earlier.map_or(until, |e| e.max(until).min(job.published + MAX_SESSION))
}

/// What the watch does after a look.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WatchStep {
    /// Look again: the last session may still be live, or the source has not caught up past its end (not-yet,
    /// never "no activity").
    GoOn,
    /// The last session has ended and the source holds every event up to then: nothing more can come.
    Over,
    /// The source still had not caught up `MAX_SOURCE_LAG` after the longest session: the watch stops (bounded),
    /// and says so.
    GaveUp,
}

pub fn watch_step(job: &VerificationJob, watch: &Watch, caught_up_to: DateTime<Utc>, now: DateTime<Utc>) -> WatchStep {
    if now >= watch.until && caught_up_to >= watch.until {
        WatchStep::Over
    } else if now >= job.published + MAX_SESSION + MAX_SOURCE_LAG
        // A job body's `until` past the calendar's end: the bound is the deprovision's, never a panic.
        || watch.until.checked_add_signed(MAX_SOURCE_LAG).is_none_or(|bound| now >= bound)
    {
        WatchStep::GaveUp
    } else {
        WatchStep::GoOn
    }
}

/// The watch stopped at its bound before the org-wide source caught up with the end of the person's last possible
/// session: use of AWS in that gap cannot be ruled out. A verdict that cannot be reached is a finding, not a log
/// line — medium, like every unverifiable propagation; one per episode (the watch's end is in its identity).
pub fn watch_gave_up(
    job: &VerificationJob,
    seen: &Observation,
    source: &str,
    caught_up_to: DateTime<Utc>,
    until: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Finding {
    let subject = Subject {
        first_event_id: Some(format!("watch-until-{}", until.format("%Y-%m-%dT%H:%M:%SZ"))),
        ..subject(job, seen)
    };
    Finding::new(
        Rule::PropagationUnverifiable,
        Severity::Medium,
        format!(
            "{}'s use of AWS after the deprovision could not be watched to the end: the {source} source had caught \
             up only to {} of {}",
            who(job),
            caught_up_to.format("%Y-%m-%d %H:%M UTC"),
            until.format("%Y-%m-%d %H:%M UTC")
        ),
        subject,
        now,
    )
    .with_evidence(vec![
        okta_evidence(job),
        Evidence::new(
            source,
            format!(
                "the source held events up to {caught_up_to}; the person's last role session can have lasted until \
                 {until}; the watch stops at its bound ({} after that)",
                elapsed(MAX_SOURCE_LAG)
            ),
        ),
    ])
    .with_remedy(format!(
        "Read the org trail (or each account's CloudTrail) for the person's AWSReservedSSO_ sessions between \
         {caught_up_to} and {until}, and check why the {source} source lags (CloudTrail delivery, Athena table \
         partitions, the member-account role)."
    ))
}

/// Use of AWS by the person after the deprovision, as the episode's one high finding: only events not in
/// `reported`. The finding's id is the episode's (rule + person + episode), so each later look that finds new use
/// publishes the same finding again with the new events and a higher `revision` (the number of events reported
/// in the episode so far); a redelivery repeats a revision. Events are matched by the person's reach: portal calls
/// by Identity Center user id, `AWSReservedSSO_*` role sessions by session name = userName.
pub fn activity_after_deprovision(
    job: &VerificationJob,
    seen: &Observation,
    reported: &HashSet<String>,
    now: DateTime<Utc>,
) -> Option<ActivityReport> {
    if job.kind == DeprovisionKind::GroupRemoved || seen.okta_status_now.is_some_and(is_back_in_okta) {
        // Leaving one group does not end a person's access to AWS; a person let back in may use it.
        return None;
    }
    let reach = seen.reach();
    let mut events: Vec<&ActivityEvent> = seen
        .activity
        .iter()
        .filter(|e| e.event_time > job.published && e.is_use_of_access() && !reported.contains(&e.event_id))
        .filter(|e| reach.names(e))
        .collect();
    events.sort_by(|a, b| {
        a.event_time
            .cmp(&b.event_time)
            .then_with(|| a.event_id.cmp(&b.event_id))
    });
    events.dedup_by(|a, b| a.event_id == b.event_id);
    // The reported set lives in one ledger item (DynamoDB items hold 400 KB): at most this many ids an episode,
    // the oldest first; past it, the finding says more use was not itemised.
    let more = events.len() > MAX_REPORTED_EVENTS.saturating_sub(reported.len());
    events.truncate(MAX_REPORTED_EVENTS.saturating_sub(reported.len()));
    if events.is_empty() {
        return None;
    }
    let revision = u64::try_from(reported.len().saturating_add(events.len())).unwrap_or(u64::MAX);
    let mut evidence = vec![okta_evidence(job)];
    evidence.extend(events.iter().take(MAX_EVENTS_QUOTED).map(describe_activity));
    evidence.extend(org_watch_evidence(seen));
    evidence.extend(incomplete_evidence(seen));
    if more {
        evidence.push(Evidence::new(
            "cloudtrail",
            format!("more use of AWS than the {MAX_REPORTED_EVENTS} events an episode itemises: read CloudTrail for the rest"),
        ));
    }
    let mut subject = Subject {
        okta_event_id: None,
        group_id: None,
        first_event_id: None,
        ..subject(job, seen)
    };
    if subject.idc_user_id.is_none() {
        subject.idc_user_id = reach.user_ids.first().map(ToString::to_string);
        subject.idc_user_name = reach.user_names.first().cloned();
    }
    // One id per episode, whichever linked account is deciding at this look.
    let identity = Subject {
        okta_user_id: subject.okta_user_id.clone(),
        episode_id: subject.episode_id.clone(),
        ..Subject::default()
    };
    let member_use: Vec<&&ActivityEvent> = events
        .iter()
        .filter(|e| e.role_name.is_some() || e.target_account_id.is_some())
        .collect();
    let title = match (revision > events.len() as u64, member_use.is_empty()) {
        (true, _) => format!(
            "{} used AWS {} more time(s) after the Okta deprovision ({revision} in all)",
            who(job),
            events.len()
        ),
        (false, true) => format!(
            "{} used AWS {} time(s) after the Okta deprovision",
            who(job),
            events.len()
        ),
        (false, false) => format!(
            "{} used AWS {} time(s) after the Okta deprovision, in account(s) {}",
            who(job),
            events.len(),
            accounts_used(&member_use).join(", ")
        ),
    };
    let mut finding = Finding::new(Rule::ActivityAfterDeprovision, Severity::High, title, subject, now)
        .with_evidence(evidence)
        .with_remedy(use_remedy(job, &reach, &events));
    finding.finding_id = crate::domain::FindingId::derive(Rule::ActivityAfterDeprovision, &identity);
    finding.revision = Some(revision);
    finding.evidence_truncated = events.len() > MAX_EVENTS_QUOTED;
    Some(ActivityReport {
        finding,
        event_ids: events.iter().map(|e| e.event_id.clone()).collect(),
    })
}

/// The accounts the sessions were used in (or handed out for), sorted, without repeats.
fn accounts_used(events: &[&&ActivityEvent]) -> Vec<String> {
    let mut accounts: Vec<String> = events
        .iter()
        .filter_map(|e| e.target_account_id.clone().or_else(|| e.account_id.clone()))
        .collect();
    accounts.sort();
    accounts.dedup();
    accounts
}

/// The exact Deny AWS prescribes for live sessions, for the permission sets concerned, and the command that
/// applies it (run by a person, dry run first).
fn use_remedy(job: &VerificationJob, reach: &Reach, events: &[&ActivityEvent]) -> String {
    let mut sets: Vec<String> = events
        .iter()
        .filter_map(|e| e.permission_set_name().map(str::to_owned))
        .collect();
    sets.extend(reach.permission_sets.iter().filter_map(|s| s.name.clone()));
    sets.sort();
    sets.dedup();
    let sets = if sets.is_empty() {
        "every permission set the person held".to_owned()
    } else {
        format!("permission set(s) {}", sets.join(", "))
    };
    let statement = crate::rules::session_revocation::deny_statement(&reach.user_ids);
    format!(
        "Treat as a possible incident: review what the sessions did (the CloudTrail event ids quoted). Role sessions          outlive a disabled user for up to their permission set's session duration; cut them now with this explicit          Deny in the inline policy of {sets}, then re-provision them: {statement}. `deprov-audit revoke --login {}`          does exactly that (a dry run unless told to apply).",
        who(job)
    )
}

/// How use beyond this account was watched, said in every finding that judges use of AWS.
fn org_watch_evidence(seen: &Observation) -> Option<Evidence> {
    match seen.org_watch.as_ref()? {
        OrgWatch::NotConfigured => Some(Evidence::new(
            "cloudtrail",
            "member accounts were not watched: no org-wide activity source is configured (ACTIVITY_SOURCE); only this \
             account's CloudTrail was read",
        )),
        OrgWatch::Watched {
            source,
            caught_up_to,
            until,
        } => Some(
            Evidence::new(
                source,
                format!(
                    "use of AWS in every account and Region is watched through {source} until {until} (the last role \
                     session can have ended); the source holds events up to {caught_up_to}"
                ),
            )
            .at(*caught_up_to),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{AccountId, IdcUserId, IdcUserStatus, JobSource, OktaEventId, OktaUserId};

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
            watch: None,
            app_user_name: None,
            episode_id: None,
            chain_token: None,
            chain_step: 0,
        }
    }

    fn user(id: &str, status: IdcUserStatus) -> IdcUser {
        IdcUser {
            id: IdcUserId::parse(id).unwrap(),
            user_name: format!("{id}@acme.example"),
            display_name: None,
            emails: vec![],
            external_ids: vec![],
            status,
        }
    }

    fn bob(status: IdcUserStatus) -> AccountSeen {
        AccountSeen::new(user("u-bob", status), LinkBasis::AppUserExternalId)
    }

    fn seen_with(accounts: Vec<AccountSeen>) -> Observation {
        Observation {
            okta_status_now: Some(OktaUserStatus::Deprovisioned),
            okta_says_provisioned: true,
            accounts,
            ..Observation::default()
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
            region: None,
            target_account_id: None,
        }
    }

    fn scim_patch(at: &str) -> ActivityEvent {
        ActivityEvent {
            target_user_id: Some(IdcUserId::parse("u-bob").unwrap()),
            ..event("scim-1", crate::domain::activity::SCIM_EVENT_SOURCE, "PatchUser", at)
        }
    }

    fn assignment(group: Option<&str>) -> EffectiveAssignment {
        EffectiveAssignment {
            account_id: AccountId::parse("111122223333").unwrap(),
            permission_set_arn: crate::domain::PermissionSetArn::parse("arn:aws:sso:::permissionSet/ssoins-1/ps-1")
                .unwrap(),
            permission_set_name: Some("Developer".into()),
            session_duration: Some("PT8H".into()),
            via_group: group.map(|g| IdcGroupId::parse(g).unwrap()),
        }
    }

    const POLICY: PropagationPolicy = PropagationPolicy {
        max_window: Duration::seconds(3600),
    };

    fn final_findings(verdict: Verdict) -> Vec<Finding> {
        match verdict {
            Verdict::Final { findings, .. } => findings,
            other => panic!("final verdict expected, got {other:?}"),
        }
    }

    #[test]
    fn a_disabled_user_with_a_scim_call_is_verified_with_its_latency() {
        let seen = Observation {
            scim_events: vec![scim_patch("09:03:32")],
            ..seen_with(vec![bob(IdcUserStatus::Disabled)])
        };
        let verdict = judge(&job(DeprovisionKind::Deactivated), &seen, POLICY, t("09:15:00"));
        let Verdict::Final {
            findings,
            latency_seconds,
        } = verdict
        else {
            panic!("final")
        };
        assert_eq!(latency_seconds, Some(212));
        assert_eq!(
            (findings[0].rule, findings[0].severity),
            (Rule::PropagationVerified, Severity::Info)
        );
        assert!(
            findings[0]
                .evidence
                .iter()
                .any(|e| e.reference.as_deref() == Some("scim-1"))
        );
        assert!(
            findings[0]
                .evidence
                .iter()
                .any(|e| e.observation.contains("externalId")),
            "the link is named"
        );
    }

    #[test]
    fn a_stale_disabled_account_beside_the_enabled_real_one_is_overdue_not_verified() {
        let stale = AccountSeen::new(user("u-old", IdcUserStatus::Disabled), LinkBasis::Login);
        let mut real = bob(IdcUserStatus::Enabled);
        real.access = vec![assignment(Some("g-devs"))];
        let seen = seen_with(vec![real, stale]);
        let findings = final_findings(judge(&job(DeprovisionKind::Deactivated), &seen, POLICY, t("10:00:00")));
        assert_eq!(findings[0].rule, Rule::PropagationOverdue);
        assert_eq!(
            findings[0].subject.idc_user_id.as_deref(),
            Some("u-bob"),
            "the account that can sign in"
        );
        assert!(findings[0].remedy.contains("identitystore:UserId = u-bob"));
        assert!(
            !findings[0].remedy.contains("u-old"),
            "a disabled account needs no deny"
        );
        assert!(
            findings[0].evidence.iter().any(|e| e.observation.contains("weak")),
            "the weak link is named"
        );
    }

    #[test]
    fn still_enabled_inside_the_max_window_is_not_yet_and_past_it_overdue_with_the_access_listed() {
        let mut account = bob(IdcUserStatus::Enabled);
        account.access = vec![assignment(Some("g-devs"))];
        let seen = seen_with(vec![account]);
        let job = job(DeprovisionKind::Deactivated);
        assert_eq!(
            judge(&job, &seen, POLICY, t("09:15:00")),
            Verdict::NotYet { findings: vec![] }
        );
        let findings = final_findings(judge(&job, &seen, POLICY, t("10:00:00")));
        assert_eq!(
            (findings[0].rule, findings[0].severity),
            (Rule::PropagationOverdue, Severity::High)
        );
        assert!(
            findings[0]
                .evidence
                .iter()
                .any(|e| e.observation.contains("Developer on account 111122223333"))
        );
    }

    #[test]
    fn findings_carry_the_episode_a_re_check_repeats_the_id_and_a_new_incident_does_not() {
        let mut seen = seen_with(vec![bob(IdcUserStatus::Enabled)]);
        seen.episode_id = Some("ep-1".into());
        let a = final_findings(judge(&job(DeprovisionKind::Deactivated), &seen, POLICY, t("10:00:00")));
        let b = final_findings(judge(&job(DeprovisionKind::Deactivated), &seen, POLICY, t("10:30:00")));
        assert_eq!(a[0].finding_id, b[0].finding_id);
        seen.episode_id = Some("ep-2".into());
        let later = final_findings(judge(&job(DeprovisionKind::Deactivated), &seen, POLICY, t("10:30:00")));
        assert_ne!(a[0].finding_id, later[0].finding_id);
        assert_eq!(a[0].subject.episode_id.as_deref(), Some("ep-1"));
    }

    #[test]
    fn no_linked_account_while_okta_says_provisioned_is_unverifiable_and_otherwise_nothing() {
        let seen = Observation {
            okta_status_now: Some(OktaUserStatus::Deprovisioned),
            okta_says_provisioned: true,
            ..Observation::default()
        };
        let findings = final_findings(judge(&job(DeprovisionKind::Deactivated), &seen, POLICY, t("09:15:00")));
        assert_eq!(
            (findings[0].rule, findings[0].severity),
            (Rule::PropagationUnverifiable, Severity::Medium)
        );
        let never = Observation {
            okta_says_provisioned: false,
            ..seen
        };
        assert!(matches!(
            judge(&job(DeprovisionKind::Deactivated), &never, POLICY, t("09:15:00")),
            Verdict::NothingToVerify(_)
        ));
    }

    #[test]
    fn a_disabled_account_found_only_by_login_is_unverifiable_never_verified() {
        let stale = AccountSeen::new(user("u-old", IdcUserStatus::Disabled), LinkBasis::Login);
        let seen = Observation {
            okta_says_provisioned: false,
            ..seen_with(vec![stale])
        };
        let findings = final_findings(judge(&job(DeprovisionKind::Deactivated), &seen, POLICY, t("09:15:00")));
        assert_eq!(findings[0].rule, Rule::PropagationUnverifiable);
        let enabled = AccountSeen::new(user("u-old", IdcUserStatus::Enabled), LinkBasis::Login);
        let findings = final_findings(judge(
            &job(DeprovisionKind::Deactivated),
            &seen_with(vec![enabled]),
            POLICY,
            t("10:15:00"),
        ));
        assert_eq!(
            findings[0].rule,
            Rule::PropagationOverdue,
            "an account that can sign in decides, however linked"
        );
    }

    #[test]
    fn an_id_okta_recorded_that_leads_nowhere_is_unverifiable_not_verified() {
        let seen = Observation {
            okta_status_now: Some(OktaUserStatus::Deprovisioned),
            dangling: vec![LinkCandidate {
                key: LinkKey::UserId(IdcUserId::parse("u-gone").unwrap()),
                basis: LinkBasis::AppUserExternalId,
                remembered: false,
            }],
            ..Observation::default()
        };
        let findings = final_findings(judge(&job(DeprovisionKind::Deactivated), &seen, POLICY, t("09:15:00")));
        assert_eq!(findings[0].rule, Rule::PropagationUnverifiable);
        assert!(findings[0].evidence.iter().any(|e| e.observation.contains("u-gone")));
    }

    #[test]
    fn use_after_the_deprovision_reports_only_what_was_not_reported_as_revisions_of_one_finding() {
        let mut portal = event("ct-1", "sso.amazonaws.com", "GetRoleCredentials", "09:10:00");
        portal.actor_user_id = Some(IdcUserId::parse("u-bob").unwrap());
        let mut before = portal.clone();
        before.event_id = "ct-0".into();
        before.event_time = t("08:50:00");
        let mut later = portal.clone();
        later.event_id = "ct-2".into();
        later.event_time = t("09:40:00");
        let mut seen = Observation {
            activity: vec![portal, before],
            episode_id: Some("ep-1".into()),
            ..seen_with(vec![bob(IdcUserStatus::Enabled)])
        };
        let job = job(DeprovisionKind::Deactivated);
        let first = activity_after_deprovision(&job, &seen, &HashSet::new(), t("09:15:00")).unwrap();
        assert_eq!(first.event_ids, ["ct-1"], "not the use before the deprovision");
        assert_eq!(first.finding.revision, Some(1));
        seen.activity.push(later);
        let reported: HashSet<String> = ["ct-1".to_owned()].into();
        let second = activity_after_deprovision(&job, &seen, &reported, t("10:00:00")).unwrap();
        assert_eq!(second.event_ids, ["ct-2"]);
        assert_eq!(
            first.finding.finding_id, second.finding.finding_id,
            "new use updates the episode's one finding"
        );
        assert_eq!(second.finding.revision, Some(2), "a new revision, not a redelivery");
        assert!(
            second.finding.title.contains("1 more time(s)"),
            "{}",
            second.finding.title
        );
        let all: HashSet<String> = ["ct-1".to_owned(), "ct-2".to_owned()].into();
        assert!(activity_after_deprovision(&job, &seen, &all, t("10:00:00")).is_none());
        // Another episode of the same person is another finding.
        seen.episode_id = Some("ep-2".into());
        let other = activity_after_deprovision(&job, &seen, &HashSet::new(), t("10:00:00")).unwrap();
        assert_ne!(other.finding.finding_id, first.finding.finding_id);
    }

    fn reach_with(sessions: &[Option<u64>]) -> Reach {
        Reach {
            user_ids: vec![IdcUserId::parse("u-bob").unwrap()],
            user_names: vec!["u-bob@acme.example".into()],
            accounts: vec![AccountId::parse("444455556666").unwrap()],
            permission_sets: sessions
                .iter()
                .enumerate()
                .map(|(i, s)| crate::domain::activity::HeldPermissionSet {
                    arn: crate::domain::PermissionSetArn::parse(format!("arn:aws:sso:::permissionSet/ssoins-1/ps-{i}"))
                        .unwrap(),
                    name: Some(format!("Set{i}")),
                    session_seconds: *s,
                })
                .collect(),
        }
    }

    #[test]
    fn the_watch_lasts_the_longest_session_held_and_unknown_counts_as_twelve_hours() {
        let job = job(DeprovisionKind::Deactivated);
        let eight_and_one = reach_with(&[Some(8 * 3600), Some(3600)]);
        assert_eq!(watch_until(&job, &eight_and_one, &[], None), t("17:00:00"));
        assert_eq!(
            watch_until(&job, &reach_with(&[Some(3600), None]), &[], None),
            t("21:00:00")
        );
        assert_eq!(
            watch_until(&job, &reach_with(&[]), &[], None),
            t("21:00:00"),
            "nothing known"
        );
        // A session handed out after the deprovision (SCIM not through yet) starts a session of its own...
        let mut credentials = event("ct-9", "sso.amazonaws.com", "GetRoleCredentials", "10:30:00");
        credentials.actor_user_id = Some(IdcUserId::parse("u-bob").unwrap());
        assert_eq!(
            watch_until(&job, &reach_with(&[Some(3600)]), &[credentials.clone()], None),
            t("11:30:00")
        );
        // ...but the watch never runs past 12 h after the deprovision, and never shortens.
        assert_eq!(
            watch_until(&job, &eight_and_one, &[credentials], None),
            t("17:00:00").max(t("18:30:00")).min(t("21:00:00"))
        );
        assert_eq!(
            watch_until(&job, &reach_with(&[Some(3600)]), &[], Some(t("15:00:00"))),
            t("15:00:00")
        );
        // Someone else's credentials change nothing.
        let mut other = event("ct-8", "sso.amazonaws.com", "GetRoleCredentials", "10:30:00");
        other.actor_user_id = Some(IdcUserId::parse("u-alice").unwrap());
        assert_eq!(
            watch_until(&job, &reach_with(&[Some(3600)]), &[other], None),
            t("10:00:00")
        );
    }

    #[test]
    fn the_watch_ends_once_the_session_is_over_and_the_source_caught_up_and_no_later_than_its_bound() {
        let job = job(DeprovisionKind::Deactivated);
        let watch = Watch {
            until: t("17:00:00"),
            read_from: t("09:00:00"),
        };
        assert_eq!(watch_step(&job, &watch, t("16:59:00"), t("16:59:30")), WatchStep::GoOn);
        assert_eq!(
            watch_step(&job, &watch, t("16:50:00"), t("17:10:00")),
            WatchStep::GoOn,
            "the source lags: not yet"
        );
        assert_eq!(watch_step(&job, &watch, t("17:00:00"), t("17:10:00")), WatchStep::Over);
        assert_eq!(
            watch_step(&job, &watch, t("16:50:00"), t("18:00:00")),
            WatchStep::GaveUp,
            "bounded: the longest session plus the lag allowance"
        );
        let longest = Watch {
            until: t("21:00:00"),
            ..watch
        };
        assert_eq!(
            watch_step(&job, &longest, t("20:00:00"), t("21:59:00")),
            WatchStep::GoOn
        );
        assert_eq!(
            watch_step(&job, &longest, t("20:00:00"), t("22:00:00")),
            WatchStep::GaveUp
        );
    }

    #[test]
    fn a_watch_until_the_end_of_the_calendar_gives_up_at_the_deprovisions_bound_and_never_panics() {
        let job = job(DeprovisionKind::Deactivated);
        let edge = Watch {
            until: DateTime::<Utc>::MAX_UTC,
            read_from: t("09:00:00"),
        };
        assert_eq!(watch_step(&job, &edge, t("10:00:00"), t("10:00:00")), WatchStep::GaveUp);
        let mut late = event("ct-late", "sso.amazonaws.com", "GetRoleCredentials", "09:30:00");
        late.event_time = DateTime::<Utc>::MAX_UTC;
        let until = watch_until(&job, &Reach::default(), &[late], None);
        assert!(until <= job.published + MAX_SESSION);
    }

    #[test]
    fn use_in_a_member_account_names_account_region_role_and_carries_the_exact_deny() {
        let mut session = event("ct-s3", "s3.amazonaws.com", "DeleteBucket", "09:30:00");
        session.actor_user_name = Some("u-bob@acme.example".into());
        session.role_name = Some("AWSReservedSSO_Power_User_0a1b2c3d4e5f6a7b".into());
        session.account_id = Some("444455556666".into());
        session.region = Some("eu-west-1".into());
        let seen = Observation {
            activity: vec![session],
            episode_id: Some("ep-1".into()),
            reach: reach_with(&[Some(3600)]),
            org_watch: Some(OrgWatch::Watched {
                source: "fake",
                caught_up_to: t("09:45:00"),
                until: t("10:00:00"),
            }),
            ..seen_with(vec![bob(IdcUserStatus::Disabled)])
        };
        let report = activity_after_deprovision(
            &job(DeprovisionKind::Deactivated),
            &seen,
            &HashSet::new(),
            t("09:50:00"),
        )
        .unwrap();
        let f = &report.finding;
        assert_eq!((f.rule, f.severity), (Rule::ActivityAfterDeprovision, Severity::High));
        assert!(f.title.contains("444455556666"), "{}", f.title);
        let quoted = f
            .evidence
            .iter()
            .find(|e| e.reference.as_deref() == Some("ct-s3"))
            .unwrap();
        for part in [
            "DeleteBucket",
            "444455556666",
            "eu-west-1",
            "AWSReservedSSO_Power_User",
            "permission set Power_User",
        ] {
            assert!(quoted.observation.contains(part), "{part}: {}", quoted.observation);
        }
        let statement = crate::rules::session_revocation::deny_statement(&[IdcUserId::parse("u-bob").unwrap()]);
        assert!(f.remedy.contains(&statement.to_string()), "{}", f.remedy);
        assert!(f.remedy.contains("Power_User") && f.remedy.contains("deprov-audit revoke --login bob@acme.example"));
        assert!(
            f.evidence
                .iter()
                .any(|e| e.observation.contains("watched through fake"))
        );
        let unwatched = Observation {
            org_watch: Some(OrgWatch::NotConfigured),
            ..seen
        };
        let report = activity_after_deprovision(
            &job(DeprovisionKind::Deactivated),
            &unwatched,
            &HashSet::new(),
            t("09:50:00"),
        )
        .unwrap();
        assert!(
            report
                .finding
                .evidence
                .iter()
                .any(|e| e.observation.contains("member accounts were not watched"))
        );
    }

    #[test]
    fn a_suspended_user_still_enabled_is_its_own_medium_finding() {
        let seen = Observation {
            okta_status_now: Some(OktaUserStatus::Suspended),
            ..seen_with(vec![bob(IdcUserStatus::Enabled)])
        };
        let findings = final_findings(judge(&job(DeprovisionKind::Suspended), &seen, POLICY, t("09:15:00")));
        assert_eq!(
            (findings[0].rule, findings[0].severity),
            (Rule::SuspendedStillEnabled, Severity::Medium)
        );
    }

    #[test]
    fn a_group_removal_is_judged_on_that_group_and_its_overdue_lists_only_that_groups_access() {
        let mut job = job(DeprovisionKind::GroupRemoved);
        job.group_id = Some(crate::domain::OktaGroupId::parse("00gdevs").unwrap());
        let mut account = bob(IdcUserStatus::Enabled);
        account.in_removed_group = true;
        account.access = vec![
            assignment(Some("g-devs")),
            assignment(Some("g-other")),
            assignment(None),
        ];
        let mut seen = Observation {
            okta_status_now: Some(OktaUserStatus::Active),
            removed_group: Some(IdcGroupId::parse("g-devs").unwrap()),
            ..seen_with(vec![account])
        };
        assert!(matches!(
            judge(&job, &seen, POLICY, t("09:15:00")),
            Verdict::NotYet { .. }
        ));
        let overdue = final_findings(judge(&job, &seen, POLICY, t("10:15:00")));
        let listed: Vec<_> = overdue[0]
            .evidence
            .iter()
            .filter(|e| e.observation.contains("Developer on"))
            .collect();
        assert_eq!(listed.len(), 1, "{listed:?}");
        assert!(listed[0].observation.contains("g-devs"));
        seen.accounts[0].in_removed_group = false;
        assert_eq!(
            final_findings(judge(&job, &seen, POLICY, t("09:15:00")))[0].rule,
            Rule::PropagationVerified
        );
        seen.readded = true;
        assert!(matches!(
            judge(&job, &seen, POLICY, t("09:15:00")),
            Verdict::NothingToVerify(_)
        ));
        seen.readded = false;
        seen.removed_group = None;
        assert!(matches!(
            judge(&job, &seen, POLICY, t("09:15:00")),
            Verdict::NothingToVerify(_)
        ));
    }

    #[test]
    fn an_unassignment_undone_in_okta_needs_no_verdict() {
        let seen = Observation {
            reassigned: true,
            ..seen_with(vec![bob(IdcUserStatus::Enabled)])
        };
        assert!(matches!(
            judge(&job(DeprovisionKind::AppUnassigned), &seen, POLICY, t("10:15:00")),
            Verdict::NothingToVerify(_)
        ));
    }

    #[test]
    fn a_reactivated_user_needs_no_verdict_even_locked_out_again() {
        for status in [OktaUserStatus::Active, OktaUserStatus::LockedOut] {
            let seen = Observation {
                okta_status_now: Some(status),
                ..seen_with(vec![bob(IdcUserStatus::Enabled)])
            };
            assert!(matches!(
                judge(&job(DeprovisionKind::Deactivated), &seen, POLICY, t("10:30:00")),
                Verdict::NothingToVerify(_)
            ));
        }
    }

    #[test]
    fn a_scim_call_logged_just_before_the_okta_event_still_gives_the_latency() {
        let seen = Observation {
            scim_events: vec![scim_patch("08:59:30")],
            ..seen_with(vec![bob(IdcUserStatus::Disabled)])
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
            activity: vec![portal],
            ..seen_with(vec![bob(IdcUserStatus::Enabled)])
        };
        assert!(activity_after_deprovision(&job, &seen, &HashSet::new(), t("09:15:00")).is_none());
    }
}
