//! Across review runs: each finding's lifecycle (new, open, resolved; first and last seen) from the previous run's
//! state, the suppression list applied (a suppressed finding is reported as suppressed, never dropped), the diff
//! (access added and removed, findings new and resolved), and what a run publishes. Pure: the handler reads and
//! writes the state and the list.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Utc};

use crate::domain::review::{
    AccessTable, AccessView, FindingStatus, InventoryStats, REVIEW_SCHEMA_VERSION, ReviewDiff, ReviewKind,
    ReviewReport, ReviewState, ReviewedFinding, Suppression,
};
use crate::domain::{Evidence, Finding, FindingId, Severity, Subject};

/// The suppression that applies to `finding` at `now`, if any: not expired, and matching by finding id, or by
/// rule and every subject field the suppression sets. A suppression naming neither an id nor a rule never
/// applies (it would silence everything).
pub fn suppression_for<'s>(
    finding: &Finding,
    suppressions: &'s [Suppression],
    now: DateTime<Utc>,
) -> Option<&'s Suppression> {
    suppressions.iter().find(|s| {
        if s.until <= now {
            return false;
        }
        match (&s.finding_id, s.rule) {
            (Some(id), _) => *id == finding.finding_id,
            (None, Some(rule)) => rule == finding.rule && subject_matches(&s.subject, &finding.subject),
            (None, None) => false,
        }
    })
}

/// Every field set in `pattern` equals the finding's.
fn subject_matches(pattern: &Subject, subject: &Subject) -> bool {
    let pairs = [
        (&pattern.okta_user_id, &subject.okta_user_id),
        (&pattern.okta_login, &subject.okta_login),
        (&pattern.idc_user_id, &subject.idc_user_id),
        (&pattern.idc_user_name, &subject.idc_user_name),
        (&pattern.account_id, &subject.account_id),
        (&pattern.permission_set_arn, &subject.permission_set_arn),
        (&pattern.group_id, &subject.group_id),
        (&pattern.app_id, &subject.app_id),
        (&pattern.key_id, &subject.key_id),
        (&pattern.saml_provider_arn, &subject.saml_provider_arn),
    ];
    pairs.iter().all(|(want, have)| {
        want.as_ref()
            .is_none_or(|w| have.as_ref().is_some_and(|h| h.eq_ignore_ascii_case(w)))
    })
}

/// This run's findings with their lifecycle: `Open` (first seen kept) when the previous run had them unresolved,
/// `New` otherwise, `Suppressed` when an unexpired suppression matches; and every finding the previous run had
/// unresolved that this run did not find, as `Resolved` (last seen kept). Findings the previous run already
/// reported resolved are not carried again. Order: this run's (as given), then the resolved ones by id.
pub fn reviewed_findings(
    findings: Vec<Finding>,
    previous: Option<&ReviewState>,
    suppressions: &[Suppression],
    now: DateTime<Utc>,
) -> Vec<ReviewedFinding> {
    let before: HashMap<&FindingId, &ReviewedFinding> = previous
        .map(|state| {
            state
                .findings
                .iter()
                .filter(|f| f.status != FindingStatus::Resolved)
                .map(|f| (&f.finding.finding_id, f))
                .collect()
        })
        .unwrap_or_default();
    let found: HashSet<&FindingId> = findings.iter().map(|f| &f.finding_id).collect();
    let mut resolved: Vec<ReviewedFinding> = before
        .values()
        .filter(|f| !found.contains(&f.finding.finding_id))
        .map(|f| ReviewedFinding {
            status: FindingStatus::Resolved,
            controls: controls_of(&f.finding),
            ..(*f).clone()
        })
        .collect();
    drop(found);
    resolved.sort_by(|a, b| a.finding.finding_id.cmp(&b.finding.finding_id));
    // The findings are moved in, not copied, from the end of their list, which is shrunk as it empties: the two
    // lists are never both whole in memory (at 14,000 findings each is ~8 MiB; the new one's reserved room is only
    // memory once written).
    let mut findings = findings;
    let mut reviewed: Vec<ReviewedFinding> = Vec::with_capacity(findings.len().saturating_add(resolved.len()));
    while let Some(finding) = findings.pop() {
        let earlier = before.get(&finding.finding_id);
        let status = match suppression_for(&finding, suppressions, now) {
            Some(s) => FindingStatus::Suppressed {
                owner: s.owner.clone(),
                reason: s.reason.clone(),
                until: s.until,
            },
            None if earlier.is_some() => FindingStatus::Open,
            None => FindingStatus::New,
        };
        let first_seen = earlier.map_or(now, |e| e.first_seen);
        let controls = controls_of(&finding);
        reviewed.push(ReviewedFinding {
            finding,
            status,
            first_seen,
            last_seen: now,
            controls,
        });
        if findings.capacity() > 64 && findings.len() < findings.capacity() / 2 {
            findings.shrink_to_fit();
        }
    }
    reviewed.reverse();
    reviewed.extend(resolved);
    reviewed
}

fn controls_of(finding: &Finding) -> Vec<String> {
    finding.rule.controls().iter().map(|c| (*c).to_owned()).collect()
}

/// The key two runs' access rows are compared by — who, where, what, and through which group — hashed: a set of
/// 8-byte hashes of the previous run's rows, not a copy of them. Two different keys hashing alike (64-bit SipHash,
/// ~3 in 10^9 for two runs of 324,000 rows) would hide that one change from the diff, nothing else.
fn access_key(row: &AccessView<'_>) -> u64 {
    use std::hash::{Hash, Hasher};
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    (
        row.idc_user_id.as_str(),
        row.account_id.as_str(),
        row.permission_set_arn.as_str(),
        row.via_group,
    )
        .hash(&mut hasher);
    hasher.finish()
}

/// What changed since `previous`: access rows added and removed, findings new (not unresolved in the previous
/// run, whatever their suppression) and resolved. A first run lists no access as added (every row is new).
pub fn diff(previous: Option<&ReviewState>, access: &AccessTable, findings: &[ReviewedFinding]) -> ReviewDiff {
    let Some(previous) = previous else {
        return ReviewDiff {
            previous_run: None,
            access_added: Vec::new(),
            access_removed: Vec::new(),
            findings_new: findings
                .iter()
                .filter(|f| f.status != FindingStatus::Resolved)
                .map(|f| f.finding.finding_id.clone())
                .collect(),
            findings_resolved: Vec::new(),
        };
    };
    let before: HashSet<u64> = previous.access.iter().map(|r| access_key(&r)).collect();
    let now: HashSet<u64> = access.iter().map(|r| access_key(&r)).collect();
    let open_before: HashSet<&FindingId> = previous
        .findings
        .iter()
        .filter(|f| f.status != FindingStatus::Resolved)
        .map(|f| &f.finding.finding_id)
        .collect();
    ReviewDiff {
        previous_run: Some(previous.run_id.clone()),
        access_added: access
            .iter()
            .filter(|r| !before.contains(&access_key(r)))
            .map(|r| r.to_row())
            .collect(),
        access_removed: previous
            .access
            .iter()
            .filter(|r| !now.contains(&access_key(r)))
            .map(|r| r.to_row())
            .collect(),
        findings_new: findings
            .iter()
            .filter(|f| f.status != FindingStatus::Resolved && !open_before.contains(&f.finding.finding_id))
            .map(|f| f.finding.finding_id.clone())
            .collect(),
        findings_resolved: findings
            .iter()
            .filter(|f| f.status == FindingStatus::Resolved)
            .map(|f| f.finding.finding_id.clone())
            .collect(),
    }
}

/// One run's inputs, judged.
#[derive(Debug, Clone)]
pub struct RunInput<'a> {
    pub run_id: String,
    pub kind: ReviewKind,
    pub now: DateTime<Utc>,
    pub period_start: DateTime<Utc>,
    /// The rules' findings on this run's snapshot with their lifecycle (`reviewed_findings`; made by the caller
    /// before the access table, so the move from findings to reviewed findings does not hold both at once beside
    /// the table).
    pub findings: Vec<ReviewedFinding>,
    pub access: AccessTable,
    /// The state lifecycle is read from (the latest run of either kind).
    pub previous: Option<&'a ReviewState>,
    /// The state the diff is against: the previous quarterly run for a quarterly review, the latest run for a
    /// daily one.
    pub diff_base: Option<&'a ReviewState>,
    pub suppressions: &'a [Suppression],
    pub inventory: InventoryStats,
}

/// The run's report: lifecycle, suppression and diff applied. The deprovisions of the period are left empty
/// here (the verdict archive fills them).
pub fn review_report(input: RunInput<'_>) -> ReviewReport {
    let findings = input.findings;
    let mut diff = diff(input.diff_base, &input.access, &findings);
    if let (Some(previous), Some(base)) = (input.previous, input.diff_base)
        && previous.run_id != base.run_id
    {
        // Findings resolved since the diff's base run but before the latest: the lifecycle has them no more.
        let now_open: HashSet<&FindingId> = findings
            .iter()
            .filter(|f| f.status != FindingStatus::Resolved)
            .map(|f| &f.finding.finding_id)
            .collect();
        let mut resolved: HashSet<FindingId> = diff.findings_resolved.iter().cloned().collect();
        resolved.extend(
            base.findings
                .iter()
                .filter(|f| f.status != FindingStatus::Resolved && !now_open.contains(&f.finding.finding_id))
                .map(|f| f.finding.finding_id.clone()),
        );
        let mut resolved: Vec<FindingId> = resolved.into_iter().collect();
        resolved.sort();
        diff.findings_resolved = resolved;
    }
    ReviewReport {
        schema_version: REVIEW_SCHEMA_VERSION,
        run_id: input.run_id,
        kind: input.kind,
        generated_at: input.now,
        period_start: input.period_start,
        period_end: input.now,
        findings,
        access: input.access,
        deprovisions: Vec::new(),
        diff,
        inventory: input.inventory,
        completeness: Vec::new(),
    }
}

/// A notice that a finding is resolved: the finding as last seen, at `info`, with an id of its own
/// (`Subject::resolves`) so a subscriber deduplicating by id never drops it.
pub fn resolution_notice(reviewed: &ReviewedFinding, run_id: &str, now: DateTime<Utc>) -> Finding {
    let original = &reviewed.finding;
    let subject = Subject {
        resolves: Some(original.finding_id.to_string()),
        ..original.subject.clone()
    };
    let mut evidence = vec![
        Evidence::new(
            "access-review",
            format!(
                "not found by review run {run_id}; first seen {}, last seen {}, severity was {}",
                reviewed.first_seen.to_rfc3339(),
                reviewed.last_seen.to_rfc3339(),
                original.severity
            ),
        )
        .reference(original.finding_id.to_string()),
    ];
    evidence.extend(original.evidence.iter().cloned());
    Finding::new(
        original.rule,
        Severity::Info,
        format!("Resolved: {}", original.title),
        subject,
        now,
    )
    .with_evidence(evidence)
    .with_remedy("Nothing to do: the state this finding reported is gone.")
}

/// What a run publishes to SNS. Quarterly: every new and open finding, and a notice per resolved one. Daily:
/// only what changed since `previous` (the state the run's lifecycle was read from) — new findings, findings whose
/// suppression ended (never published while it held), and a notice per resolved one. Suppressed findings are
/// never published (the report lists them as suppressed).
pub fn to_publish(report: &ReviewReport, previous: Option<&ReviewState>) -> Vec<Finding> {
    let suppressed_before: HashSet<&FindingId> = previous
        .map(|state| {
            state
                .findings
                .iter()
                .filter(|f| matches!(f.status, FindingStatus::Suppressed { .. }))
                .map(|f| &f.finding.finding_id)
                .collect()
        })
        .unwrap_or_default();
    report
        .findings
        .iter()
        .filter_map(|f| match (&f.status, report.kind) {
            (FindingStatus::New, _) | (FindingStatus::Open, ReviewKind::Quarterly) => Some(f.finding.clone()),
            (FindingStatus::Open, ReviewKind::Daily) => suppressed_before
                .contains(&f.finding.finding_id)
                .then(|| f.finding.clone()),
            (FindingStatus::Resolved, _) => Some(resolution_notice(f, &report.run_id, report.generated_at)),
            (FindingStatus::Suppressed { .. }, _) => None,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{OrgSnapshot, Rule};
    use crate::rules::{Policy, evaluate};
    use chrono::Duration;

    fn demo() -> OrgSnapshot {
        serde_json::from_str(include_str!("../../../events/demo/org.json")).expect("the demo org parses")
    }

    fn at(hours: i64) -> DateTime<Utc> {
        demo().collected_at + Duration::hours(hours)
    }

    fn run(
        kind: ReviewKind,
        id: &str,
        findings: &[Finding],
        previous: Option<&ReviewState>,
        suppressions: &[Suppression],
        now: DateTime<Utc>,
    ) -> ReviewReport {
        review_report(RunInput {
            run_id: id.into(),
            kind,
            now,
            period_start: now - Duration::days(1),
            findings: reviewed_findings(findings.to_vec(), previous, suppressions, now),
            access: AccessTable::default(),
            previous,
            diff_base: previous,
            suppressions,
            inventory: InventoryStats::default(),
        })
    }

    fn status_of(report: &ReviewReport, rule: Rule) -> Vec<&FindingStatus> {
        report
            .findings
            .iter()
            .filter(|f| f.finding.rule == rule)
            .map(|f| &f.status)
            .collect()
    }

    #[test]
    fn a_finding_is_new_then_open_with_its_first_seen_kept_then_resolved() {
        let snapshot = demo();
        let findings = evaluate(&snapshot, &Policy::at(snapshot.collected_at));
        let first = run(ReviewKind::Daily, "r1", &findings, None, &[], at(0));
        assert!(first.findings.iter().all(|f| f.status == FindingStatus::New));
        assert_eq!(to_publish(&first, None).len(), findings.len());

        let second = run(
            ReviewKind::Daily,
            "r2",
            &findings,
            Some(&ReviewState::of(&first)),
            &[],
            at(24),
        );
        assert!(second.findings.iter().all(|f| f.status == FindingStatus::Open));
        assert!(
            second
                .findings
                .iter()
                .all(|f| f.first_seen == at(0) && f.last_seen == at(24))
        );
        assert!(
            to_publish(&second, Some(&ReviewState::of(&first))).is_empty(),
            "a daily run publishes only changes"
        );
        assert!(second.diff.findings_new.is_empty() && second.diff.findings_resolved.is_empty());

        let fewer: Vec<Finding> = findings
            .iter()
            .filter(|f| f.rule != Rule::DirectUserAssignment)
            .cloned()
            .collect();
        let third = run(
            ReviewKind::Daily,
            "r3",
            &fewer,
            Some(&ReviewState::of(&second)),
            &[],
            at(48),
        );
        let resolved: Vec<_> = third
            .findings
            .iter()
            .filter(|f| f.status == FindingStatus::Resolved)
            .collect();
        assert_eq!(resolved.len(), 1);
        assert_eq!(resolved[0].finding.rule, Rule::DirectUserAssignment);
        assert_eq!((resolved[0].first_seen, resolved[0].last_seen), (at(0), at(24)));
        let published = to_publish(&third, Some(&ReviewState::of(&second)));
        assert_eq!(published.len(), 1);
        assert_eq!(published[0].severity, Severity::Info);
        assert!(published[0].title.starts_with("Resolved: "));
        assert_ne!(published[0].finding_id, resolved[0].finding.finding_id);
        assert_eq!(third.diff.findings_resolved, [resolved[0].finding.finding_id.clone()]);

        let fourth = run(
            ReviewKind::Quarterly,
            "r4",
            &fewer,
            Some(&ReviewState::of(&third)),
            &[],
            at(72),
        );
        assert!(
            fourth.findings.iter().all(|f| f.status == FindingStatus::Open),
            "resolved once, not again"
        );
        assert_eq!(
            to_publish(&fourth, Some(&ReviewState::of(&third))).len(),
            fewer.len(),
            "a quarterly run publishes everything open"
        );
    }

    #[test]
    fn a_suppressed_finding_is_reported_as_suppressed_until_its_end_date() {
        let snapshot = demo();
        let findings = evaluate(&snapshot, &Policy::at(snapshot.collected_at));
        let suppression = Suppression {
            owner: "secops@acme.example".into(),
            reason: "break-glass, reviewed".into(),
            until: at(36),
            finding_id: None,
            rule: Some(Rule::DirectUserAssignment),
            subject: Subject {
                okta_login: Some("CAROL.DIAZ@acme.example".into()),
                ..Subject::default()
            },
        };
        let first = run(
            ReviewKind::Daily,
            "r1",
            &findings,
            None,
            std::slice::from_ref(&suppression),
            at(0),
        );
        assert_eq!(first.findings.len(), findings.len(), "never dropped");
        assert!(matches!(
            status_of(&first, Rule::DirectUserAssignment)[..],
            [FindingStatus::Suppressed { owner, .. }] if owner == "secops@acme.example"
        ));
        assert!(
            to_publish(&first, None)
                .iter()
                .all(|f| f.rule != Rule::DirectUserAssignment)
        );
        assert!(
            status_of(&first, Rule::OrphanedIdcUser)
                .iter()
                .all(|s| **s == FindingStatus::New)
        );

        let expired = run(
            ReviewKind::Daily,
            "r2",
            &findings,
            Some(&ReviewState::of(&first)),
            std::slice::from_ref(&suppression),
            at(48),
        );
        assert_eq!(status_of(&expired, Rule::DirectUserAssignment), [&FindingStatus::Open]);
        let published = to_publish(&expired, Some(&ReviewState::of(&first)));
        assert_eq!(
            published.iter().map(|f| f.rule).collect::<Vec<_>>(),
            [Rule::DirectUserAssignment],
            "a daily run publishes a finding whose suppression ended, and nothing else"
        );
    }

    #[test]
    fn a_suppression_without_an_id_or_a_rule_matches_nothing() {
        let snapshot = demo();
        let findings = evaluate(&snapshot, &Policy::at(snapshot.collected_at));
        let everything = Suppression {
            owner: "x".into(),
            reason: "y".into(),
            until: at(100),
            finding_id: None,
            rule: None,
            subject: Subject::default(),
        };
        assert!(
            findings
                .iter()
                .all(|f| suppression_for(f, std::slice::from_ref(&everything), at(0)).is_none())
        );
        let by_id = Suppression {
            finding_id: Some(findings[0].finding_id.clone()),
            ..everything
        };
        assert!(suppression_for(&findings[0], std::slice::from_ref(&by_id), at(0)).is_some());
        assert!(suppression_for(&findings[1], std::slice::from_ref(&by_id), at(0)).is_none());
    }

    #[test]
    fn the_diff_names_access_added_and_removed() {
        let snapshot = demo();
        let links = crate::domain::IdentityLinks::build(&snapshot.okta, &snapshot.idc, &Default::default());
        let table = crate::rules::access::access_rows(&snapshot, &links);
        let rows: Vec<_> = table.iter().map(|r| r.to_row()).collect();
        assert!(rows.len() > 2);
        let previous = ReviewState {
            schema_version: REVIEW_SCHEMA_VERSION,
            run_id: "q1".into(),
            kind: ReviewKind::Quarterly,
            generated_at: at(0),
            findings: Vec::new(),
            access: rows[1..].iter().cloned().collect(),
        };
        let mut now_rows = rows.clone();
        let removed = now_rows.pop().expect("a row");
        let now_table: AccessTable = now_rows.into_iter().collect();
        let d = diff(Some(&previous), &now_table, &[]);
        assert_eq!(d.previous_run.as_deref(), Some("q1"));
        assert_eq!(d.access_added, [rows[0].clone()]);
        assert_eq!(d.access_removed, [removed]);
        // Against itself: nothing added or removed.
        let same = diff(Some(&previous), &previous.access, &[]);
        assert!(same.access_added.is_empty() && same.access_removed.is_empty());
        // A first run has nothing to compare with: it lists no row as added (the report's table has them all).
        let first = diff(None, &table, &[]);
        assert_eq!(first.previous_run, None);
        assert!(first.access_added.is_empty() && first.access_removed.is_empty());
    }

    #[test]
    fn a_state_file_in_the_row_list_format_reads_and_writes_back_the_same() {
        // The format every earlier run wrote (and still writes): each access row with all its strings.
        let old = serde_json::json!({
            "schema_version": 1,
            "run_id": "quarterly-20260901T060000Z",
            "kind": "quarterly",
            "generated_at": "2026-09-01T06:00:00Z",
            "findings": [],
            "access": [
                {"idc_user_id": "u-1", "user_name": "ann@example.com", "idc_status": "ENABLED",
                 "okta_login": "ann@example.com", "okta_status": "ACTIVE", "account_id": "111111111111",
                 "permission_set_arn": "arn:aws:sso:::permissionSet/ssoins-1/ps-1",
                 "permission_set_name": "Admin", "via_group": "admins",
                 "last_sign_in": "2026-08-30T10:00:00Z", "last_sign_in_source": "okta-last-login"},
                {"idc_user_id": "u-1", "user_name": "ann@example.com", "idc_status": "ENABLED",
                 "okta_login": "ann@example.com", "okta_status": "ACTIVE", "account_id": "222222222222",
                 "permission_set_arn": "arn:aws:sso:::permissionSet/ssoins-1/ps-1",
                 "permission_set_name": "Admin",
                 "last_sign_in": "2026-08-30T10:00:00Z", "last_sign_in_source": "okta-last-login"},
                {"idc_user_id": "u-2", "user_name": "bob@example.com", "idc_status": "DISABLED",
                 "account_id": "111111111111",
                 "permission_set_arn": "arn:aws:sso:::permissionSet/ssoins-1/ps-2",
                 "permission_set_name": "ReadOnly", "via_group": "admins"}
            ]
        });
        let state: ReviewState = serde_json::from_value(old.clone()).expect("the old format reads");
        assert_eq!(state.access.len(), 3);
        let bob = state.access.get(2).expect("bob's row");
        assert_eq!(bob.user_name, "bob@example.com");
        assert_eq!((bob.okta_login, bob.via_group), (None, Some("admins")));
        let ann_direct = state.access.get(1).expect("ann's direct row");
        assert_eq!(ann_direct.via_group, None);
        assert_eq!(ann_direct.account_id.as_str(), "222222222222");
        assert_eq!(
            serde_json::to_value(&state).expect("encodes"),
            old,
            "written back unchanged"
        );
        // A state without access (older still) reads as an empty table.
        let mut bare = old.clone();
        bare.as_object_mut().expect("an object").remove("access");
        let bare: ReviewState = serde_json::from_value(bare).expect("reads");
        assert!(bare.access.is_empty());
    }
}
