//! The access review's result: what a quarterly (or daily light) run found, in the shape its report files, its
//! SNS summary and the next run's diff are made from. Rules fill it (`rules`), the review handler orchestrates,
//! the report renderers only read it.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::finding::{Finding, FindingId};
use super::ids::{AccountId, IdcUserId, PermissionSetArn};

pub const REVIEW_SCHEMA_VERSION: u32 = 1;

/// Which run: the full quarterly review, or the daily light run of the same rules (publishes only changes).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReviewKind {
    Quarterly,
    Daily,
}

/// One effective access: a person can reach an account with a permission set (directly or through a group).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccessRow {
    pub idc_user_id: IdcUserId,
    pub user_name: String,
    /// The Identity Center `UserStatus` (`ENABLED`, `DISABLED`, `UNKNOWN`).
    pub idc_status: String,
    /// The linked Okta person's login and status, when linked.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub okta_login: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub okta_status: Option<String>,
    pub account_id: AccountId,
    pub permission_set_arn: PermissionSetArn,
    pub permission_set_name: String,
    /// The Identity Center group the access comes through (`None`: a direct user assignment).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub via_group: Option<String>,
    /// The last sign-in known, and where it was read (`okta-last-login`, `activity-record`, `cloudtrail`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_sign_in: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_sign_in_source: Option<String>,
}

/// Where a finding stands across runs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum FindingStatus {
    /// Not found by the previous run.
    New,
    /// Found by the previous run too.
    Open,
    /// Found by the previous run, not by this one.
    Resolved,
    /// Found, and suppressed by the review's suppression list: reported as suppressed, never dropped.
    Suppressed {
        owner: String,
        reason: String,
        until: DateTime<Utc>,
    },
}

/// A finding with its lifecycle.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReviewedFinding {
    pub finding: Finding,
    pub status: FindingStatus,
    pub first_seen: DateTime<Utc>,
    pub last_seen: DateTime<Utc>,
    /// The compliance controls the rule evidences (e.g. `SOC2 CC6.2`, `ISO27001 5.18`).
    #[serde(default)]
    pub controls: Vec<String>,
}

/// One deprovision of the period and its verdict: the timely-removal evidence auditors ask for.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DeprovisionRecord {
    pub okta_event_id: String,
    pub event_type: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub login: Option<String>,
    pub published: DateTime<Utc>,
    /// The SCIM call that carried it to Identity Center, when seen.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scim_call_at: Option<DateTime<Utc>>,
    /// The Identity Center state at the verdict (`DISABLED`, `deleted`, `ENABLED`, …).
    pub final_state: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub latency_seconds: Option<i64>,
    /// The verdict's finding (rule id and finding id).
    pub rule: String,
    pub finding_id: FindingId,
}

/// What changed since the previous run.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ReviewDiff {
    /// The previous run's id (`None`: this is the first run).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub previous_run: Option<String>,
    pub access_added: Vec<AccessRow>,
    pub access_removed: Vec<AccessRow>,
    pub findings_new: Vec<FindingId>,
    pub findings_resolved: Vec<FindingId>,
}

/// How the inventory was read: calls per API family, for the report and the bench.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct InventoryStats {
    /// (API family, calls made), e.g. ("sso-admin", 1234).
    pub calls: Vec<(String, u64)>,
    pub wall_millis: u64,
}

/// One review run's result.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReviewReport {
    pub schema_version: u32,
    /// Unique per run; the report's S3 prefix.
    pub run_id: String,
    pub kind: ReviewKind,
    pub generated_at: DateTime<Utc>,
    /// The period the deprovisions and activity cover.
    pub period_start: DateTime<Utc>,
    pub period_end: DateTime<Utc>,
    pub findings: Vec<ReviewedFinding>,
    pub access: Vec<AccessRow>,
    pub deprovisions: Vec<DeprovisionRecord>,
    pub diff: ReviewDiff,
    #[serde(default)]
    pub inventory: InventoryStats,
    /// Each bounded read the run made and whether it read all it was asked for (a verdict the review cannot
    /// reach is part of its result, not a log line). Empty in a report written before this field.
    #[serde(default)]
    pub completeness: Vec<ReadCompleteness>,
}

/// One bounded read of a review run: what it read and whether it stopped at its cap (calls, records or time).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReadCompleteness {
    /// `cloudtrail`, `activity-record`, `verdict-archive`.
    pub source: String,
    /// `false`: stopped at a cap; what it covers is in `detail`.
    pub complete: bool,
    /// Records read (events, users' last uses, verdicts).
    pub records: u64,
    /// What the read covers, or where it stopped and what that leaves unseen.
    pub detail: String,
}

impl ReadCompleteness {
    /// The source read from the snapshot: the CloudTrail activity (and how far back it really reaches) and,
    /// when one was read, the activity record's last uses.
    pub fn of_snapshot(snapshot: &super::OrgSnapshot) -> Vec<Self> {
        let since = snapshot
            .activity_since
            .map_or_else(|| "the start of the snapshot's activity".to_owned(), |t| t.to_rfc3339());
        let mut reads = vec![Self {
            source: "cloudtrail".into(),
            complete: snapshot.activity_complete,
            records: u64::try_from(snapshot.activity.len()).unwrap_or(u64::MAX),
            detail: if snapshot.activity_complete {
                format!("portal sign-ins and SCIM calls read since {since}")
            } else {
                format!(
                    "stopped at its page or time cap: read back only to {since} (newest first); older activity in \
                     the window is not seen"
                )
            },
        }];
        if let Some(recorded) = &snapshot.recorded_uses {
            reads.push(Self {
                source: "activity-record".into(),
                complete: recorded.complete,
                records: u64::try_from(recorded.events.len()).unwrap_or(u64::MAX),
                detail: if recorded.complete {
                    format!("every user's last use read, since {}", recorded.since.to_rfc3339())
                } else {
                    "stopped at its call or time cap: some users' recorded last uses are not read".to_owned()
                },
            });
        }
        reads
    }

    /// One line for the report's summary: `source: N record(s), complete` or `…, INCOMPLETE — detail`.
    pub fn line(&self) -> String {
        if self.complete {
            format!(
                "{}: {} record(s), complete ({})",
                self.source, self.records, self.detail
            )
        } else {
            format!(
                "{}: {} record(s), INCOMPLETE — {}",
                self.source, self.records, self.detail
            )
        }
    }
}

/// What a review run leaves for the next one (`state/latest.json` in `REPORT_BUCKET`): its findings with their
/// lifecycle, and the effective access it saw.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReviewState {
    pub schema_version: u32,
    pub run_id: String,
    pub kind: ReviewKind,
    pub generated_at: DateTime<Utc>,
    pub findings: Vec<ReviewedFinding>,
    #[serde(default)]
    pub access: Vec<AccessRow>,
}

impl ReviewState {
    /// The state a finished run leaves.
    pub fn of(report: &ReviewReport) -> Self {
        Self {
            schema_version: REVIEW_SCHEMA_VERSION,
            run_id: report.run_id.clone(),
            kind: report.kind,
            generated_at: report.generated_at,
            findings: report.findings.clone(),
            access: report.access.clone(),
        }
    }
}

/// An accepted finding: reported as `Suppressed` (never dropped) until `until`. It matches by `finding_id`, or
/// by `rule` and every field set in `subject` (a rule with an empty subject: every finding of the rule).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Suppression {
    pub owner: String,
    pub reason: String,
    pub until: DateTime<Utc>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub finding_id: Option<FindingId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rule: Option<super::finding::Rule>,
    #[serde(default)]
    pub subject: super::finding::Subject,
}

/// The suppression list's config object (`config/suppressions.json` in `REPORT_BUCKET` by default).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SuppressionList {
    #[serde(default)]
    pub suppressions: Vec<Suppression>,
}
