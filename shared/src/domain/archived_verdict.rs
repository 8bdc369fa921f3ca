//! One final verdict of the checker as the verdict archive keeps it, for the access review's list of the period's
//! deprovisions (the timely-removal evidence auditors ask for).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::deprovision::VerificationJob;
use super::finding::{Finding, Rule};
use super::review::DeprovisionRecord;

/// A final verdict: the episode it closes, when it was reached, and the record the review lists.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ArchivedVerdict {
    pub episode_id: String,
    pub verdict_at: DateTime<Utc>,
    #[serde(flatten)]
    pub record: DeprovisionRecord,
}

impl ArchivedVerdict {
    /// The verdict the checker reached for `job`: its one verdict finding (verified, overdue, suspended still
    /// enabled, unverifiable) made into the review's record. `None` when the findings hold no verdict (a final
    /// result with nothing to report).
    pub fn from_final(
        job: &VerificationJob,
        episode_id: &str,
        findings: &[Finding],
        latency_seconds: Option<i64>,
        now: DateTime<Utc>,
    ) -> Option<Self> {
        let verdict = findings.iter().find(|f| {
            matches!(
                f.rule,
                Rule::PropagationVerified
                    | Rule::PropagationOverdue
                    | Rule::SuspendedStillEnabled
                    | Rule::PropagationUnverifiable
            )
        })?;
        // The SCIM call the verified finding names (its CloudTrail evidence with a time): a verified verdict
        // without one has no latency either.
        let scim_call_at = (verdict.rule == Rule::PropagationVerified)
            .then(|| {
                verdict
                    .evidence
                    .iter()
                    .find(|e| e.source == "cloudtrail" && e.observation.starts_with("SCIM "))
                    .and_then(|e| e.observed_at)
            })
            .flatten();
        // The checker's rules decide the final state; the record says it in the words an auditor reads.
        let final_state = match verdict.rule {
            Rule::PropagationVerified => "access removed (no linked account can sign in or holds the access)",
            Rule::PropagationOverdue => "still ENABLED after the maximum window",
            Rule::SuspendedStillEnabled => "ENABLED (suspended in Okta: assignments kept)",
            _ => "unverifiable (no Identity Center account linked)",
        };
        Some(Self {
            episode_id: episode_id.to_owned(),
            verdict_at: now,
            record: DeprovisionRecord {
                okta_event_id: job.okta_event_id.to_string(),
                event_type: job.event_type.clone(),
                login: job.login.clone(),
                published: job.published,
                scim_call_at,
                final_state: final_state.to_owned(),
                latency_seconds,
                rule: verdict.rule.as_str().to_owned(),
                finding_id: verdict.finding_id.clone(),
            },
        })
    }
}
