//! Rules over one Identity Center event (CloudTrail or AWS Health), as identity-center-watch sees it in real time.
//! Pure: an event and a policy in, findings out.

use std::collections::{BTreeMap, HashSet};

use chrono::{DateTime, Utc};

use crate::domain::activity::SCIM_EVENT_SOURCE;
use crate::domain::activity_record::ScimHeartbeat;
use crate::domain::idc::parse_iso8601_time_duration;
use crate::domain::{ApiCall, Evidence, Finding, Rule, ScimTokenNotice, Severity, Subject, WatchEvent};

pub const SSO_EVENT_SOURCE: &str = "sso.amazonaws.com";
pub const IDENTITY_STORE_EVENT_SOURCE: &str = "identitystore.amazonaws.com";
pub const SSO_DIRECTORY_EVENT_SOURCE: &str = "sso-directory.amazonaws.com";

/// Evidence kept on one grouped finding (a burst of SCIM errors): the count is always in the title.
pub const MAX_GROUPED_EVIDENCE: usize = 20;

/// Identity-source changes. From a public detection rule (SigmaHQ `aws_sso_idp_change.yml`) citing the IdC
/// CloudTrail page; the names are not in AWS's own event table as read — UNVERIFIED, matched on name only.
const IDENTITY_SOURCE_EVENTS: [&str; 4] = [
    "AssociateDirectory",
    "DisassociateDirectory",
    "EnableExternalIdPConfigurationForDirectory",
    "DisableExternalIdPConfigurationForDirectory",
];

/// Verbs of identity-store writes, public API (CreateUser, UpdateUser, DeleteGroupMembership…) and console API
/// (AddMemberToGroup, RemoveMemberFromGroup, DisableUser…). Reads (Describe, Get, List, IsMemberInGroups, Search)
/// never match.
const WRITE_VERBS: [&str; 8] = [
    "Create", "Update", "Delete", "Put", "Add", "Remove", "Disable", "Enable",
];
/// The objects of those writes.
const IDENTITY_OBJECTS: [&str; 3] = ["User", "Group", "Member"];

/// What the watch's rules need besides the event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WatchPolicy {
    /// The longest permission-set session allowed, as configured (`PT8H`), and in seconds.
    pub max_session: String,
    pub max_session_seconds: u64,
    /// Permission set ARNs whose assignment is always reported.
    pub privileged_permission_sets: HashSet<String>,
}

impl Default for WatchPolicy {
    fn default() -> Self {
        Self {
            max_session: "PT8H".into(),
            max_session_seconds: 8 * 3600,
            privileged_permission_sets: HashSet::new(),
        }
    }
}

/// Every rule over one event. `now` is when the finding is made.
pub fn evaluate(event: &WatchEvent, policy: &WatchPolicy, now: DateTime<Utc>) -> Vec<Finding> {
    match event {
        WatchEvent::ScimTokenExpiry(notice) => vec![scim_token_expiring(notice, now)],
        WatchEvent::ApiCall(call) => [
            direct_user_assignment(call, now),
            privileged_permission_set_assigned(call, policy, now),
            permission_set_session_too_long(call, policy, now),
            manual_identity_change(call, now),
            scim_error(call, now),
            identity_source_changed(call, now),
        ]
        .into_iter()
        .flatten()
        .collect(),
    }
}

/// Findings with the same id become one: evidence joined (at most `MAX_GROUPED_EVIDENCE`, the rest counted), the
/// title of the first kept with the count of events. Order of first appearance is kept.
pub fn group_findings(findings: Vec<Finding>) -> Vec<Finding> {
    let mut order = Vec::new();
    let mut by_id: BTreeMap<String, (Finding, usize)> = BTreeMap::new();
    for finding in findings {
        let id = finding.finding_id.as_str().to_owned();
        match by_id.get_mut(&id) {
            Some((kept, count)) => {
                *count = count.saturating_add(1);
                let room = MAX_GROUPED_EVIDENCE.saturating_sub(kept.evidence.len());
                if finding.evidence.len() > room {
                    kept.evidence_truncated = true;
                }
                kept.evidence.extend(finding.evidence.into_iter().take(room));
            }
            None => {
                order.push(id.clone());
                by_id.insert(id, (finding, 1));
            }
        }
    }
    order
        .into_iter()
        .filter_map(|id| by_id.remove(&id))
        .map(|(mut finding, count)| {
            if count > 1 {
                finding.title = format!("{} ({count} events)", finding.title);
            }
            finding
        })
        .collect()
}

fn succeeded(call: &ApiCall) -> bool {
    call.event.error_code.is_none()
}

fn is_sso_call(call: &ApiCall, name: &str) -> bool {
    call.event.event_source == SSO_EVENT_SOURCE && call.event.event_name == name
}

fn call_evidence(call: &ApiCall) -> Evidence {
    let e = &call.event;
    let by = call.actor.as_deref().unwrap_or("an unknown caller");
    let kind = call.identity_type.as_deref().unwrap_or("unknown identity type");
    Evidence::new(
        "cloudtrail",
        format!("{} {} by {by} ({kind})", e.event_source, e.event_name),
    )
    .reference(e.event_id.clone())
    .at(e.event_time)
}

fn assignment_subject(call: &ApiCall) -> Subject {
    let request = &call.request;
    let principal = request.principal_id.clone();
    let is_user = request.principal_type.as_deref() == Some("USER");
    Subject {
        idc_user_id: principal.clone().filter(|_| is_user),
        group_id: principal.filter(|_| !is_user),
        account_id: request.target_account.clone(),
        permission_set_arn: request.permission_set_arn.clone(),
        ..Subject::default()
    }
}

/// CreateAccountAssignment to a USER: the snapshot rule, with the event as evidence. The event names no Okta
/// user, so the id equals the snapshot finding's only for users the review cannot link to Okta.
fn direct_user_assignment(call: &ApiCall, now: DateTime<Utc>) -> Option<Finding> {
    if !is_sso_call(call, "CreateAccountAssignment") || !succeeded(call) {
        return None;
    }
    if call.request.principal_type.as_deref() != Some("USER") {
        return None;
    }
    let subject = assignment_subject(call);
    let user = subject.idc_user_id.as_deref().unwrap_or("an unnamed user");
    let set = subject.permission_set_arn.as_deref().unwrap_or("a permission set");
    let account = subject.account_id.as_deref().unwrap_or("an account");
    Some(
        Finding::new(
            Rule::DirectUserAssignment,
            Severity::Medium,
            format!("{set} was assigned on account {account} to user {user} directly, outside any Okta group"),
            subject,
            now,
        )
        .with_evidence([call_evidence(call)])
        .with_remedy(
            "Direct assignments survive Okta group changes and app unassignment. Replace it with membership of an \
             Okta group pushed to Identity Center, then delete the direct assignment.",
        ),
    )
}

/// CreateAccountAssignment of a permission set on the privileged list, to a user or a group.
fn privileged_permission_set_assigned(call: &ApiCall, policy: &WatchPolicy, now: DateTime<Utc>) -> Option<Finding> {
    if !is_sso_call(call, "CreateAccountAssignment") || !succeeded(call) {
        return None;
    }
    let set = call.request.permission_set_arn.as_deref()?;
    if !policy.privileged_permission_sets.contains(set) {
        return None;
    }
    let subject = assignment_subject(call);
    let principal = format!(
        "{} {}",
        call.request.principal_type.as_deref().unwrap_or("principal"),
        call.request.principal_id.as_deref().unwrap_or("(unnamed)")
    );
    let account = subject.account_id.as_deref().unwrap_or("an account");
    Some(
        Finding::new(
            Rule::PrivilegedPermissionSetAssigned,
            Severity::High,
            format!("privileged permission set {set} assigned to {principal} on account {account}"),
            subject,
            now,
        )
        .with_evidence([call_evidence(call)])
        .with_remedy(
            "Confirm the assignment was approved. Privileged sets belong to small, reviewed Okta groups with short \
             sessions; remove the assignment if nobody asked for it, and find out who made it.",
        ),
    )
}

/// CreatePermissionSet / UpdatePermissionSet with a `sessionDuration` above the maximum.
fn permission_set_session_too_long(call: &ApiCall, policy: &WatchPolicy, now: DateTime<Utc>) -> Option<Finding> {
    let e = &call.event;
    if e.event_source != SSO_EVENT_SOURCE
        || !matches!(e.event_name.as_str(), "CreatePermissionSet" | "UpdatePermissionSet")
        || !succeeded(call)
    {
        return None;
    }
    let duration = call.request.session_duration.as_deref()?;
    // A duration that does not parse is not judged: sso-admin itself only accepts PT1H…PT12H.
    let seconds = parse_iso8601_time_duration(duration)?;
    if seconds <= policy.max_session_seconds {
        return None;
    }
    let name = call
        .request
        .permission_set_name
        .as_deref()
        .or(call.request.permission_set_arn.as_deref())
        .unwrap_or("a permission set");
    Some(
        Finding::new(
            Rule::PermissionSetSessionTooLong,
            Severity::Medium,
            format!(
                "{name} now allows sessions of {duration}, longer than the {} policy",
                policy.max_session
            ),
            Subject {
                permission_set_arn: call.request.permission_set_arn.clone(),
                first_event_id: Some(e.event_id.clone()),
                ..Subject::default()
            },
            now,
        )
        .with_evidence([call_evidence(call)])
        .with_remedy(
            "A role session outlives the deprovision that should end it: nothing revokes it early. Set the \
             permission set's session duration back within policy and re-provision it.",
        ),
    )
}

fn is_identity_write(name: &str) -> bool {
    WRITE_VERBS.iter().any(|verb| {
        name.strip_prefix(verb)
            .is_some_and(|object| IDENTITY_OBJECTS.iter().any(|o| object.starts_with(o)))
    })
}

/// A user, group or membership written through the identity-store public API or the console's directory API:
/// Okta never learns of it and never corrects it. SCIM (identitystore-scim) is Okta's own channel, not this.
fn manual_identity_change(call: &ApiCall, now: DateTime<Utc>) -> Option<Finding> {
    let e = &call.event;
    if !matches!(
        e.event_source.as_str(),
        IDENTITY_STORE_EVENT_SOURCE | SSO_DIRECTORY_EVENT_SOURCE
    ) || !succeeded(call)
        || !is_identity_write(&e.event_name)
    {
        return None;
    }
    let target = e
        .target_user_id
        .as_ref()
        .map(|u| format!("user {u}"))
        .or_else(|| call.request.group_id.as_ref().map(|g| format!("group {g}")))
        .unwrap_or_else(|| "the identity store".into());
    let by = call.actor.as_deref().unwrap_or("an unknown caller");
    Some(
        Finding::new(
            Rule::ManualIdentityChange,
            Severity::Medium,
            format!("{} on {target} by {by}, not by Okta's SCIM provisioning", e.event_name),
            Subject {
                idc_user_id: e.target_user_id.as_ref().map(ToString::to_string),
                group_id: call.request.group_id.clone(),
                first_event_id: Some(e.event_id.clone()),
                ..Subject::default()
            },
            now,
        )
        .with_evidence([call_evidence(call)])
        .with_remedy(
            "Okta is the source of truth and never corrects edits made in Identity Center: a user kept, re-enabled \
             or added to a group here escapes deprovisioning. Undo the change and make it in Okta instead.",
        ),
    )
}

/// A SCIM call that failed. One finding per error code and UTC hour (`burst_id`), so a broken push of many users
/// is one finding, the same across batches and retries.
fn scim_error(call: &ApiCall, now: DateTime<Utc>) -> Option<Finding> {
    let e = &call.event;
    if e.event_source != SCIM_EVENT_SOURCE {
        return None;
    }
    let code = e.error_code.as_deref()?;
    let hour = e.event_time.format("%Y-%m-%dT%H");
    let mut evidence = call_evidence(call);
    if let Some(user) = &e.target_user_id {
        evidence.observation = format!("{} on user {user} failed: {code}", e.event_name);
    } else {
        evidence.observation = format!("{} failed: {code}", e.event_name);
    }
    Some(
        Finding::new(
            Rule::ScimError,
            Severity::High,
            format!("SCIM calls from the identity provider fail with {code} (hour from {hour}:00Z)"),
            Subject {
                account_id: e.account_id.clone(),
                burst_id: Some(format!("{code}@{hour}")),
                ..Subject::default()
            },
            now,
        )
        .with_evidence([evidence])
        .with_remedy(
            "While SCIM calls fail, deprovisions in Okta do not reach AWS. Open the Okta app's provisioning errors \
             (Tasks / Push Groups), fix the cause (attribute limits, duplicate names, an expired token) and retry.",
        ),
    )
}

fn identity_source_changed(call: &ApiCall, now: DateTime<Utc>) -> Option<Finding> {
    let e = &call.event;
    if !matches!(e.event_source.as_str(), SSO_EVENT_SOURCE | SSO_DIRECTORY_EVENT_SOURCE)
        || !IDENTITY_SOURCE_EVENTS.contains(&e.event_name.as_str())
        || !succeeded(call)
    {
        return None;
    }
    Some(
        Finding::new(
            Rule::IdentitySourceChanged,
            Severity::Critical,
            format!("the Identity Center identity source was changed ({})", e.event_name),
            Subject {
                account_id: e.account_id.clone(),
                first_event_id: Some(e.event_id.clone()),
                ..Subject::default()
            },
            now,
        )
        .with_evidence([call_evidence(call)])
        .with_remedy(
            "A new identity source takes sign-in and provisioning away from Okta (and can let someone impersonate \
             users). Confirm it was a planned change; if not, restore the external IdP and SCIM and investigate.",
        ),
    )
}

fn scim_token_expiring(notice: &ScimTokenNotice, now: DateTime<Utc>) -> Finding {
    let mut evidence = Evidence::new(
        "aws-health",
        format!(
            "AWS Health {}: start {}, end {}",
            crate::domain::idc_event::SCIM_TOKEN_EXPIRY_EVENT_TYPE,
            describe_time(notice.start_time),
            describe_time(notice.end_time),
        ),
    )
    .reference(notice.event_arn.clone());
    if let Some(sent) = notice.sent_at {
        evidence = evidence.at(sent);
    }
    let account = notice.account_id.as_deref().unwrap_or("the Identity Center account");
    Finding::new(
        Rule::ScimTokenExpiring,
        Severity::High,
        format!("the SCIM access token of Identity Center in {account} expires soon"),
        Subject {
            account_id: notice.account_id.clone(),
            key_id: Some(notice.event_arn.clone()),
            // Health repeats the notice (weekly, then daily as the date nears): each day's is its own finding, so a
            // subscriber deduplicating by id still sees the reminders.
            burst_id: notice.sent_at.map(|sent| sent.format("%Y-%m-%d").to_string()),
            ..Subject::default()
        },
        now,
    )
    .with_evidence([evidence])
    .with_remedy(
        "When the token expires provisioning stops and no deprovision reaches AWS. Generate a new token in Identity \
         Center (Settings > Automatic provisioning), paste it in the Okta app's API integration, test it, then \
         delete the old token.",
    )
}

/// The Okta deprovision the `scim-silent` heartbeat measures from: the earliest of `awaiting` (Okta deprovisions the
/// checker saw without their SCIM call) that no SCIM call followed, and not before the record began (what came
/// before, the record cannot speak for). `None`: nothing waits, or the record holds nothing yet (no record, no
/// heartbeat).
pub fn earliest_unanswered(awaiting: &[DateTime<Utc>], heartbeat: &ScimHeartbeat) -> Option<DateTime<Utc>> {
    let record_since = heartbeat.record_since?;
    let earliest = awaiting
        .iter()
        .copied()
        .filter(|t| heartbeat.last_scim_call.is_none_or(|last| *t > last))
        .min()?;
    Some(earliest.max(record_since))
}

/// `scim-silent`: Okta deprovisioned someone who needs a SCIM call (`earliest_unanswered`), and no SCIM call at all
/// arrived from then for `threshold` or more. One finding per silent stretch: its id holds the last SCIM call before
/// the stretch (or "none"), so the schedule that asks every 15 minutes repeats the same id — and the next outage,
/// after SCIM spoke again, is a new one.
pub fn scim_silent(
    last_scim_call: Option<DateTime<Utc>>,
    earliest_unanswered: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
    threshold: chrono::Duration,
) -> Option<Finding> {
    let waiting_since = earliest_unanswered?;
    if last_scim_call.is_some_and(|last| last >= waiting_since) {
        return None;
    }
    let silent_for = now.signed_duration_since(waiting_since);
    if silent_for < threshold {
        return None;
    }
    let stretch = last_scim_call.map_or_else(|| "none".to_owned(), |t| t.to_rfc3339());
    let hours = silent_for.num_minutes() / 60;
    let minutes = silent_for.num_minutes() % 60;
    let last_said = last_scim_call.map_or_else(
        || "no SCIM call is in the activity record".to_owned(),
        |t| format!("the last SCIM call recorded was at {}", t.to_rfc3339()),
    );
    Some(
        Finding::new(
            Rule::ScimSilent,
            Severity::High,
            format!(
                "no SCIM call from Okta for {hours} h {minutes:02} min while a deprovision waits for one (since {})",
                waiting_since.to_rfc3339()
            ),
            Subject {
                burst_id: Some(format!("silent-after-{stretch}")),
                ..Subject::default()
            },
            now,
        )
        .with_evidence([
            Evidence::new(
                "ledger",
                "the earliest Okta deprovision the checker saw without its SCIM call (and none since)",
            )
            .at(waiting_since),
            Evidence::new("activity-record", last_said),
        ])
        .with_remedy(
            "While SCIM is silent no deprovision reaches AWS. Check the SCIM token (IAM Identity Center > Settings > \
             Automatic provisioning: expired or deleted?), the Okta app's Provisioning tab (To App enabled, API \
             integration test), and the app's push errors (Tasks, Push Groups). Disable the people waiting by hand \
             until it works again.",
        ),
    )
}

fn describe_time(time: Option<DateTime<Utc>>) -> String {
    time.map_or_else(|| "not stated".into(), |t| t.to_rfc3339())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::ActivityEvent;
    use crate::domain::RequestFields;

    fn call(source: &str, name: &str) -> ApiCall {
        ApiCall {
            event: ActivityEvent {
                event_id: "e-1".into(),
                event_name: name.into(),
                event_source: source.into(),
                event_time: "2026-11-20T09:14:07Z".parse().expect("a time"),
                actor_user_id: None,
                actor_user_name: None,
                role_name: None,
                target_user_id: None,
                error_code: None,
                account_id: Some("111122223333".into()),
                region: None,
                target_account_id: None,
            },
            identity_type: Some("AssumedRole".into()),
            actor: Some("arn:aws:sts::111122223333:assumed-role/Admin/jdoe".into()),
            request: RequestFields::default(),
        }
    }

    fn rules_of(call: ApiCall, policy: &WatchPolicy) -> Vec<Rule> {
        evaluate(&WatchEvent::ApiCall(Box::new(call)), policy, DateTime::UNIX_EPOCH)
            .iter()
            .map(|f| f.rule)
            .collect()
    }

    #[test]
    fn identity_writes_are_told_from_reads() {
        for write in [
            "CreateUser",
            "UpdateUser",
            "DeleteGroupMembership",
            "CreateGroupMembership",
            "AddMemberToGroup",
            "RemoveMemberFromGroup",
            "DisableUser",
            "UpdateGroup",
        ] {
            assert!(is_identity_write(write), "{write}");
        }
        for read in [
            "DescribeUser",
            "GetUserId",
            "ListGroupMembershipsForMember",
            "IsMemberInGroups",
            "SearchUsers",
            "CreateBearerToken",
        ] {
            assert!(!is_identity_write(read), "{read}");
        }
    }

    #[test]
    fn scim_writes_are_not_manual_changes() {
        let policy = WatchPolicy::default();
        assert_eq!(
            rules_of(call(IDENTITY_STORE_EVENT_SOURCE, "UpdateUser"), &policy),
            [Rule::ManualIdentityChange]
        );
        assert!(rules_of(call(SCIM_EVENT_SOURCE, "PatchUser"), &policy).is_empty());
    }

    #[test]
    fn a_failed_write_is_no_change() {
        let mut failed = call(SSO_DIRECTORY_EVENT_SOURCE, "AddMemberToGroup");
        failed.event.error_code = Some("AccessDeniedException".into());
        assert!(rules_of(failed, &WatchPolicy::default()).is_empty());
    }

    #[test]
    fn a_session_at_the_maximum_passes_and_one_above_does_not() {
        let policy = WatchPolicy::default();
        let mut at_max = call(SSO_EVENT_SOURCE, "UpdatePermissionSet");
        at_max.request.session_duration = Some("PT8H".into());
        assert!(rules_of(at_max.clone(), &policy).is_empty());
        at_max.request.session_duration = Some("PT8H1M".into());
        assert_eq!(rules_of(at_max, &policy), [Rule::PermissionSetSessionTooLong]);
    }

    #[test]
    fn a_group_assignment_is_no_direct_assignment_but_can_be_privileged() {
        let admin = "arn:aws:sso:::permissionSet/ssoins-1/ps-admin";
        let policy = WatchPolicy {
            privileged_permission_sets: [admin.to_owned()].into(),
            ..WatchPolicy::default()
        };
        let mut assignment = call(SSO_EVENT_SOURCE, "CreateAccountAssignment");
        assignment.request = RequestFields {
            principal_type: Some("GROUP".into()),
            principal_id: Some("g-1".into()),
            target_account: Some("444455556666".into()),
            permission_set_arn: Some(admin.into()),
            ..RequestFields::default()
        };
        assert_eq!(
            rules_of(assignment.clone(), &policy),
            [Rule::PrivilegedPermissionSetAssigned]
        );
        assignment.request.principal_type = Some("USER".into());
        assert_eq!(
            rules_of(assignment, &policy),
            [Rule::DirectUserAssignment, Rule::PrivilegedPermissionSetAssigned]
        );
    }

    fn at(text: &str) -> DateTime<Utc> {
        text.parse().expect("a time")
    }

    #[test]
    fn scim_silence_counts_from_the_first_deprovision_no_scim_call_followed() {
        let heartbeat = ScimHeartbeat {
            record_since: Some(at("2026-12-01T00:00:00Z")),
            last_scim_call: Some(at("2026-12-01T10:00:00Z")),
        };
        let awaiting = [
            at("2026-12-01T09:00:00Z"),
            at("2026-12-01T11:00:00Z"),
            at("2026-12-01T12:00:00Z"),
        ];
        assert_eq!(
            earliest_unanswered(&awaiting, &heartbeat),
            Some(at("2026-12-01T11:00:00Z")),
            "the 09:00 deprovision was followed by a SCIM call at 10:00"
        );
        assert_eq!(earliest_unanswered(&[], &heartbeat), None);
        let young = ScimHeartbeat {
            record_since: Some(at("2026-12-01T11:30:00Z")),
            last_scim_call: None,
        };
        assert_eq!(
            earliest_unanswered(&awaiting, &young),
            Some(at("2026-12-01T11:30:00Z")),
            "not before the record began"
        );
        assert_eq!(earliest_unanswered(&awaiting, &ScimHeartbeat::default()), None);
    }

    #[test]
    fn scim_silent_pages_once_per_stretch_after_the_threshold() {
        let four_hours = chrono::Duration::hours(4);
        let last = Some(at("2026-12-01T10:00:00Z"));
        let waiting = Some(at("2026-12-01T11:00:00Z"));
        assert!(scim_silent(last, waiting, at("2026-12-01T14:59:59Z"), four_hours).is_none());
        let first = scim_silent(last, waiting, at("2026-12-01T15:00:00Z"), four_hours).expect("silent");
        assert_eq!((first.rule, first.severity), (Rule::ScimSilent, Severity::High));
        assert!(first.title.contains("4 h 00 min"), "{}", first.title);
        let later = scim_silent(last, waiting, at("2026-12-01T18:15:00Z"), four_hours).expect("still silent");
        assert_eq!(later.finding_id, first.finding_id, "one finding per silent stretch");
        let next_outage = scim_silent(
            Some(at("2026-12-02T01:00:00Z")),
            Some(at("2026-12-02T02:00:00Z")),
            at("2026-12-02T07:00:00Z"),
            four_hours,
        )
        .expect("a new stretch");
        assert_ne!(next_outage.finding_id, first.finding_id);
        assert!(
            scim_silent(
                Some(at("2026-12-01T11:00:00Z")),
                waiting,
                at("2026-12-02T00:00:00Z"),
                four_hours
            )
            .is_none()
        );
        assert!(scim_silent(None, None, at("2026-12-02T00:00:00Z"), four_hours).is_none());
    }

    #[test]
    fn scim_errors_of_one_code_and_hour_group_into_one_finding() {
        let policy = WatchPolicy::default();
        let mut findings = Vec::new();
        for minute in 0..30 {
            let mut failed = call(SCIM_EVENT_SOURCE, "PatchUser");
            failed.event.event_id = format!("e-{minute}");
            failed.event.event_time = format!("2026-11-20T09:{minute:02}:00Z").parse().expect("a time");
            failed.event.error_code = Some("ValidationException".into());
            findings.extend(evaluate(
                &WatchEvent::ApiCall(Box::new(failed)),
                &policy,
                DateTime::UNIX_EPOCH,
            ));
        }
        let mut next_hour = call(SCIM_EVENT_SOURCE, "PatchUser");
        next_hour.event.event_time = "2026-11-20T10:00:00Z".parse().expect("a time");
        next_hour.event.error_code = Some("ValidationException".into());
        findings.extend(evaluate(
            &WatchEvent::ApiCall(Box::new(next_hour)),
            &policy,
            DateTime::UNIX_EPOCH,
        ));
        let grouped = group_findings(findings);
        assert_eq!(grouped.len(), 2);
        assert!(grouped[0].title.ends_with("(30 events)"), "{}", grouped[0].title);
        assert_eq!(grouped[0].evidence.len(), MAX_GROUPED_EVIDENCE);
        assert!(grouped[0].evidence_truncated);
        assert_eq!(grouped[1].evidence.len(), 1);
    }
}
