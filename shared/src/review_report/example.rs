//! A small review report with every part filled, for the renderers' tests, the browser test and offline runs. Its
//! names include the hostile ones a report must survive: markup, a formula, quotes, commas and line breaks, as
//! anyone who can edit an Okta profile or an AWS group could set them.

use chrono::{DateTime, Duration, TimeZone, Utc};

use crate::domain::review::{
    AccessRow, DeprovisionRecord, FindingStatus, InventoryStats, REVIEW_SCHEMA_VERSION, ReviewDiff, ReviewKind,
    ReviewReport, ReviewedFinding,
};
use crate::domain::{AccountId, Finding, IdcUserId, PermissionSetArn, Rule, Severity, Subject};

/// The hostile user name the example carries (markup that would run a script if it were not escaped).
pub const HOSTILE_NAME: &str = "<img src=x onerror=alert(1)>\"mal|lory\"";
/// The formula-injection login the example carries.
pub const FORMULA_LOGIN: &str = "=HYPERLINK(\"http://evil.example\",\"click\")";

fn at(day: u32, hour: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 9, day, hour, 0, 0)
        .single()
        .expect("example dates exist")
}

fn row(user: &str, id: &str, login: Option<&str>, account: &str, ps: &str, group: Option<&str>, day: u32) -> AccessRow {
    AccessRow {
        idc_user_id: IdcUserId::parse(id).expect("example ids parse"),
        user_name: user.to_owned(),
        idc_status: "ENABLED".to_owned(),
        okta_login: login.map(str::to_owned),
        okta_status: login.map(|_| "ACTIVE".to_owned()),
        account_id: AccountId::parse(account).expect("example accounts parse"),
        permission_set_arn: PermissionSetArn::parse(format!(
            "arn:aws:sso:::permissionSet/ssoins-7223a0b1c2d3e4f5/ps-{}",
            ps.to_lowercase()
        ))
        .expect("example ARNs parse"),
        permission_set_name: ps.to_owned(),
        via_group: group.map(str::to_owned),
        last_sign_in: Some(at(day, 9)),
        last_sign_in_source: Some("okta-last-login".to_owned()),
    }
}

fn reviewed(finding: Finding, status: FindingStatus, controls: &[&str], first_day: u32) -> ReviewedFinding {
    ReviewedFinding {
        finding,
        status,
        first_seen: at(first_day, 6),
        last_seen: at(30, 6),
        controls: controls.iter().map(|c| (*c).to_owned()).collect(),
    }
}

/// The example: 4 access rows (one direct, one hostile), 4 findings (new, open, resolved, suppressed), 2
/// deprovisions (verified with latency, overdue), and a diff against a previous run.
pub fn example_report() -> ReviewReport {
    let prod = "111122223333";
    let dev = "444455556666";
    let access = vec![
        row(
            "jane.doe@example.com",
            "9067c3e1a2-jane",
            Some("jane.doe@example.com"),
            prod,
            "Developer",
            Some("aws-production-developers"),
            28,
        ),
        row(
            "sam.ops@example.com",
            "9067c3e1a2-sam",
            Some("sam.ops@example.com"),
            prod,
            "Operations",
            None,
            3,
        ),
        row(
            HOSTILE_NAME,
            "9067c3e1a2-mallory",
            Some(FORMULA_LOGIN),
            dev,
            "ReadOnly",
            Some("Engineers, \"all\"\nof them"),
            15,
        ),
        row(
            "ben.bill@example.com",
            "9067c3e1a2-ben",
            None,
            dev,
            "BillingViewer",
            Some("aws-billing"),
            20,
        ),
    ];
    let direct = Finding::new(
        Rule::DirectUserAssignment,
        Severity::Medium,
        "sam.ops@example.com has Operations on 111122223333 directly, not through a pushed group",
        Subject {
            idc_user_id: Some("9067c3e1a2-sam".into()),
            idc_user_name: Some("sam.ops@example.com".into()),
            account_id: Some(prod.into()),
            permission_set_arn: Some("arn:aws:sso:::permissionSet/ssoins-7223a0b1c2d3e4f5/ps-operations".into()),
            ..Subject::default()
        },
        at(30, 6),
    )
    .with_remedy("Assign Operations through an Okta-pushed group and remove the direct assignment.");
    let orphan = Finding::new(
        Rule::OrphanedIdcUser,
        Severity::High,
        format!("Identity Center user {HOSTILE_NAME} has no Okta person"),
        Subject {
            idc_user_id: Some("9067c3e1a2-mallory".into()),
            idc_user_name: Some(HOSTILE_NAME.into()),
            ..Subject::default()
        },
        at(30, 6),
    )
    .with_remedy("Delete the user in Identity Center, or link it to its Okta person.");
    let enabled = Finding::new(
        Rule::DeprovisionedUserEnabled,
        Severity::Critical,
        "old.leaver@example.com is DEPROVISIONED in Okta, ENABLED in Identity Center",
        Subject {
            okta_user_id: Some("00u1leaver".into()),
            okta_login: Some("old.leaver@example.com".into()),
            ..Subject::default()
        },
        at(2, 6),
    );
    let suppressed = Finding::new(
        Rule::DirectUserAssignment,
        Severity::Medium,
        "break-glass has AdministratorAccess on 444455556666 directly",
        Subject {
            idc_user_id: Some("9067c3e1a2-breakglass".into()),
            idc_user_name: Some("break-glass".into()),
            account_id: Some(dev.into()),
            ..Subject::default()
        },
        at(30, 6),
    );
    let resolved_id = enabled.finding_id.clone();
    let new_id = orphan.finding_id.clone();
    let findings = vec![
        reviewed(orphan, FindingStatus::New, &["SOC2 CC6.2", "ISO27001 5.18"], 30),
        reviewed(direct, FindingStatus::Open, &["SOC2 CC6.3"], 1),
        reviewed(enabled, FindingStatus::Resolved, &["SOC2 CC6.2", "ISO27001 5.18"], 1),
        reviewed(
            suppressed,
            FindingStatus::Suppressed {
                owner: "secops@example.com".into(),
                reason: "break-glass account, reviewed monthly".into(),
                until: at(30, 0) + Duration::days(60),
            },
            &["SOC2 CC6.3"],
            1,
        ),
    ];
    let verified = Finding::new(
        Rule::PropagationVerified,
        Severity::Info,
        "x",
        Subject {
            okta_user_id: Some("00u1quit".into()),
            episode_id: Some("ep-1".into()),
            ..Subject::default()
        },
        at(12, 10),
    );
    let overdue = Finding::new(
        Rule::PropagationOverdue,
        Severity::High,
        "x",
        Subject {
            okta_user_id: Some("00u1late".into()),
            episode_id: Some("ep-2".into()),
            ..Subject::default()
        },
        at(20, 12),
    );
    let deprovisions = vec![
        DeprovisionRecord {
            okta_event_id: "ab62c0bc-2837-11eb-9823-9fb8f750c5a9".into(),
            event_type: "user.lifecycle.deactivate".into(),
            login: Some("quit.person@example.com".into()),
            published: at(12, 9),
            scim_call_at: Some(at(12, 9) + Duration::seconds(42)),
            final_state: "DISABLED".into(),
            latency_seconds: Some(42),
            rule: Rule::PropagationVerified.as_str().into(),
            finding_id: verified.finding_id,
        },
        DeprovisionRecord {
            okta_event_id: "cd73d1cd-2837-11eb-9823-9fb8f750c5a9".into(),
            event_type: "application.user_membership.remove".into(),
            login: Some("late.person@example.com".into()),
            published: at(20, 11),
            scim_call_at: None,
            final_state: "ENABLED".into(),
            latency_seconds: None,
            rule: Rule::PropagationOverdue.as_str().into(),
            finding_id: overdue.finding_id,
        },
    ];
    let diff = ReviewDiff {
        previous_run: Some("2026-q2".into()),
        access_added: vec![access[0].clone()],
        access_removed: vec![row(
            "old.leaver@example.com",
            "9067c3e1a2-leaver",
            None,
            prod,
            "Developer",
            Some("aws-production-developers"),
            1,
        )],
        findings_new: vec![new_id],
        findings_resolved: vec![resolved_id],
    };
    ReviewReport {
        schema_version: REVIEW_SCHEMA_VERSION,
        run_id: "2026-q3".into(),
        kind: ReviewKind::Quarterly,
        generated_at: at(30, 6),
        period_start: at(1, 0) - Duration::days(62),
        period_end: at(30, 6),
        findings,
        access: access.into_iter().collect(),
        deprovisions,
        diff,
        inventory: InventoryStats {
            calls: vec![("sso-admin".into(), 12), ("identitystore".into(), 7)],
            wall_millis: 1234,
        },
        completeness: Vec::new(),
    }
}
