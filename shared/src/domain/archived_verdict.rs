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

#[cfg(test)]
mod tests {
    use chrono::Duration;

    use super::*;
    use crate::domain::deprovision::{DeprovisionKind, JobSource};
    use crate::domain::{Evidence, OktaEventId, OktaUserId, Severity, Subject};

    fn job() -> VerificationJob {
        let published: DateTime<Utc> = "2026-11-20T09:12:44Z".parse().expect("time");
        VerificationJob {
            okta_event_id: OktaEventId::parse("ab62c0bc-2837-11eb-9823-9fb8f750c5a9").expect("uuid"),
            event_type: "user.lifecycle.deactivate".into(),
            kind: DeprovisionKind::Deactivated,
            published,
            okta_user_id: OktaUserId::parse("00u1bob00000000002").expect("id"),
            login: Some("bob@acme.example".into()),
            app_id: None,
            group_id: None,
            check_after: published + Duration::minutes(15),
            source: JobSource::EventHook,
            attempt: 0,
            follow_up: false,
            app_user_name: None,
            episode_id: Some("ep-1".into()),
            chain_token: None,
            chain_step: 0,
            watch: None,
        }
    }

    #[test]
    fn a_verified_verdict_keeps_its_scim_call_and_latency() {
        let job = job();
        let scim_at = job.published + Duration::seconds(212);
        let finding = Finding::new(
            Rule::PropagationVerified,
            Severity::Info,
            "ok",
            Subject::default(),
            scim_at,
        )
        .with_evidence([
            Evidence::new("okta", "deactivated").at(job.published),
            Evidence::new("cloudtrail", "SCIM PatchUser on the user")
                .reference("scim-1")
                .at(scim_at),
        ]);
        let now = job.published + Duration::minutes(15);
        let verdict = ArchivedVerdict::from_final(&job, "ep-1", std::slice::from_ref(&finding), Some(212), now)
            .expect("a verdict");
        assert_eq!(verdict.episode_id, "ep-1");
        assert_eq!(verdict.verdict_at, now);
        assert_eq!(verdict.record.scim_call_at, Some(scim_at));
        assert_eq!(verdict.record.latency_seconds, Some(212));
        assert_eq!(verdict.record.finding_id, finding.finding_id);
        assert_eq!(verdict.record.rule, "propagation-verified");
        assert_eq!(verdict.record.published, job.published);
        // The stored form flattens the record and reads back the same.
        let json = serde_json::to_value(&verdict).expect("json");
        assert_eq!(json["okta_event_id"], "ab62c0bc-2837-11eb-9823-9fb8f750c5a9");
        assert_eq!(serde_json::from_value::<ArchivedVerdict>(json).expect("back"), verdict);
    }

    #[test]
    fn an_overdue_verdict_has_no_scim_call_and_findings_without_a_verdict_give_none() {
        let job = job();
        let overdue = Finding::new(
            Rule::PropagationOverdue,
            Severity::High,
            "late",
            Subject::default(),
            job.published,
        )
        .with_evidence([Evidence::new("cloudtrail", "SCIM PatchUser on another user").at(job.published)]);
        let verdict = ArchivedVerdict::from_final(&job, "ep-1", &[overdue], None, job.published).expect("a verdict");
        assert_eq!(
            verdict.record.scim_call_at, None,
            "only a verified verdict names its SCIM call"
        );
        assert!(verdict.record.final_state.contains("ENABLED"));
        let activity = Finding::new(
            Rule::ActivityAfterDeprovision,
            Severity::High,
            "use",
            Subject::default(),
            job.published,
        );
        assert!(ArchivedVerdict::from_final(&job, "ep-1", &[activity], None, job.published).is_none());
        assert!(ArchivedVerdict::from_final(&job, "ep-1", &[], None, job.published).is_none());
    }
}
