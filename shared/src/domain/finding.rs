//! The one shape every rule reports in, on SNS and in reports.

use std::fmt;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

pub const FINDING_SCHEMA_VERSION: u32 = 1;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Info,
    Low,
    Medium,
    High,
    Critical,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Info => "info",
            Self::Low => "low",
            Self::Medium => "medium",
            Self::High => "high",
            Self::Critical => "critical",
        }
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Every rule the auditor has. The kebab-case name is the stable `rule` value subscribers filter on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Rule {
    /// Deactivated in Okta, still ENABLED in Identity Center.
    DeprovisionedUserEnabled,
    /// Suspended in Okta (assignments kept, so SCIM does not disable), still ENABLED in Identity Center.
    SuspendedStillEnabled,
    /// A permission set assigned to a user directly rather than through a pushed group.
    DirectUserAssignment,
    /// An Identity Center user no Okta user accounts for.
    OrphanedIdcUser,
    /// Someone used AWS after Okta deprovisioned them.
    ActivityAfterDeprovision,
    /// A deprovision did not reach Identity Center within the maximum window.
    PropagationOverdue,
    /// A deprovision reached Identity Center: the evidence record, with its latency.
    PropagationVerified,
    /// Okta says the person was provisioned, but no Identity Center account links to them: no verdict possible.
    PropagationUnverifiable,
    /// A SAML signing certificate (Okta's active key, or one an IAM SAML provider trusts) expires soon.
    SamlCertExpiring,
    /// A SAML signing certificate has expired.
    SamlCertExpired,
    /// An IAM SAML provider trusts no certificate of the Okta app's active signing key: sign-in fails.
    SamlCertDrift,
    /// Okta holds a newer signing key that an IAM SAML provider does not trust yet: activating it would lock out.
    SamlCertRotationPending,
    /// A certificate or metadata document that could not be read, so it cannot be checked.
    SamlCertUnreadable,
    /// A user, group or membership in the identity store written by someone other than SCIM (console, API).
    ManualIdentityChange,
    /// SCIM calls from the identity provider failing: one finding per error code and hour.
    ScimError,
    /// The Identity Center identity source (directory or external IdP) was changed.
    IdentitySourceChanged,
    /// A permission set created or updated with sessions longer than policy allows.
    PermissionSetSessionTooLong,
    /// A permission set on the privileged list assigned to a user or group on an account.
    PrivilegedPermissionSetAssigned,
    /// AWS Health: the SCIM bearer token expires soon; provisioning stops when it does.
    ScimTokenExpiring,
    /// Okta deprovisioned people who need a SCIM call, and no SCIM call arrived for hours: provisioning is down.
    ScimSilent,
    /// An Identity Center group holds account assignments but has no members (access waiting for whoever is added).
    GroupAssignedWithoutMembers,
    /// An Identity Center group no Okta group push mapping targets: its membership is kept outside Okta.
    IdcGroupNotPushed,
    /// A permission set assigned to nobody on any account (provisioned or not): unreviewed standing access policy.
    PermissionSetUnassigned,
    /// A person with AWS access who has not signed in for longer than the review's inactivity limit.
    InactiveUser,
    /// A permission set on the privileged list reachable through a group with many members.
    PrivilegedViaLargeGroup,
    /// An Okta AWS app user whose provisioning is in syncState ERROR: Okta's changes do not reach AWS.
    AppUserSyncError,
    /// An Okta group push mapping in ERROR: Okta does not push membership changes (removals included).
    GroupPushError,
    /// Deactivated in Okta and disabled in Identity Center, but still assigned (directly or through a group): a
    /// re-enable — by hand or by a mistaken SCIM push — restores the access at once.
    DeprovisionedUserStillAssigned,
    /// An access review run: its counts and where its report is (one per run; the review's findings go out on
    /// their own).
    AccessReviewSummary,
}

impl Rule {
    pub const ALL: [Rule; 29] = [
        Rule::DeprovisionedUserEnabled,
        Rule::SuspendedStillEnabled,
        Rule::DirectUserAssignment,
        Rule::OrphanedIdcUser,
        Rule::ActivityAfterDeprovision,
        Rule::PropagationOverdue,
        Rule::PropagationVerified,
        Rule::PropagationUnverifiable,
        Rule::SamlCertExpiring,
        Rule::SamlCertExpired,
        Rule::SamlCertDrift,
        Rule::SamlCertRotationPending,
        Rule::SamlCertUnreadable,
        Rule::ManualIdentityChange,
        Rule::ScimError,
        Rule::IdentitySourceChanged,
        Rule::PermissionSetSessionTooLong,
        Rule::PrivilegedPermissionSetAssigned,
        Rule::ScimTokenExpiring,
        Rule::ScimSilent,
        Rule::GroupAssignedWithoutMembers,
        Rule::IdcGroupNotPushed,
        Rule::PermissionSetUnassigned,
        Rule::InactiveUser,
        Rule::PrivilegedViaLargeGroup,
        Rule::AppUserSyncError,
        Rule::GroupPushError,
        Rule::DeprovisionedUserStillAssigned,
        Rule::AccessReviewSummary,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::DeprovisionedUserEnabled => "deprovisioned-user-enabled",
            Self::SuspendedStillEnabled => "suspended-still-enabled",
            Self::DirectUserAssignment => "direct-user-assignment",
            Self::OrphanedIdcUser => "orphaned-idc-user",
            Self::ActivityAfterDeprovision => "activity-after-deprovision",
            Self::PropagationOverdue => "propagation-overdue",
            Self::PropagationVerified => "propagation-verified",
            Self::PropagationUnverifiable => "propagation-unverifiable",
            Self::SamlCertExpiring => "saml-cert-expiring",
            Self::SamlCertExpired => "saml-cert-expired",
            Self::SamlCertDrift => "saml-cert-drift",
            Self::SamlCertRotationPending => "saml-cert-rotation-pending",
            Self::SamlCertUnreadable => "saml-cert-unreadable",
            Self::ManualIdentityChange => "manual-identity-change",
            Self::ScimError => "scim-error",
            Self::IdentitySourceChanged => "identity-source-changed",
            Self::PermissionSetSessionTooLong => "permission-set-session-too-long",
            Self::PrivilegedPermissionSetAssigned => "privileged-permission-set-assigned",
            Self::ScimTokenExpiring => "scim-token-expiring",
            Self::ScimSilent => "scim-silent",
            Self::GroupAssignedWithoutMembers => "group-assigned-without-members",
            Self::IdcGroupNotPushed => "idc-group-not-pushed",
            Self::PermissionSetUnassigned => "permission-set-unassigned",
            Self::InactiveUser => "inactive-user",
            Self::PrivilegedViaLargeGroup => "privileged-via-large-group",
            Self::AppUserSyncError => "app-user-sync-error",
            Self::GroupPushError => "group-push-error",
            Self::DeprovisionedUserStillAssigned => "deprovisioned-user-still-assigned",
            Self::AccessReviewSummary => "access-review-summary",
        }
    }

    /// The compliance controls a finding of this rule is evidence for, as an access review's report counts them:
    /// SOC 2 CC6.2 (access removed when no longer authorized: registration and de-registration), CC6.3 (access
    /// granted, changed and removed by role, least privilege), CC6.1 (logical access security infrastructure:
    /// sign-in, federation trust), ISO/IEC 27001:2022 Annex A 5.18 (access rights provisioned, reviewed,
    /// removed), 5.16 (identity management), 8.2 (privileged access rights), 8.5 (secure authentication).
    pub fn controls(self) -> &'static [&'static str] {
        const REMOVAL: &[&str] = &["SOC2 CC6.2", "ISO27001 5.18"];
        const REMOVAL_AND_ROLES: &[&str] = &["SOC2 CC6.2", "SOC2 CC6.3", "ISO27001 5.18"];
        const ROLES: &[&str] = &["SOC2 CC6.3", "ISO27001 5.18"];
        const IDENTITY: &[&str] = &["SOC2 CC6.2", "ISO27001 5.16", "ISO27001 5.18"];
        const PRIVILEGED: &[&str] = &["SOC2 CC6.3", "ISO27001 5.18", "ISO27001 8.2"];
        const AUTHENTICATION: &[&str] = &["SOC2 CC6.1", "ISO27001 8.5"];
        match self {
            Self::DeprovisionedUserEnabled
            | Self::SuspendedStillEnabled
            | Self::PropagationOverdue
            | Self::PropagationVerified
            | Self::PropagationUnverifiable
            | Self::AppUserSyncError
            | Self::GroupPushError
            | Self::ScimError
            | Self::ScimTokenExpiring
            | Self::ScimSilent
            | Self::DeprovisionedUserStillAssigned => REMOVAL,
            Self::ActivityAfterDeprovision | Self::InactiveUser => REMOVAL_AND_ROLES,
            Self::DirectUserAssignment
            | Self::GroupAssignedWithoutMembers
            | Self::PermissionSetUnassigned
            | Self::IdcGroupNotPushed => ROLES,
            Self::OrphanedIdcUser | Self::ManualIdentityChange | Self::IdentitySourceChanged => IDENTITY,
            Self::PrivilegedPermissionSetAssigned
            | Self::PrivilegedViaLargeGroup
            | Self::PermissionSetSessionTooLong => PRIVILEGED,
            Self::SamlCertExpiring
            | Self::SamlCertExpired
            | Self::SamlCertDrift
            | Self::SamlCertRotationPending
            | Self::SamlCertUnreadable => AUTHENTICATION,
            Self::AccessReviewSummary => REMOVAL_AND_ROLES,
        }
    }
}

impl fmt::Display for Rule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What a finding is about. Every field that is set is part of the finding's identity.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Subject {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub okta_user_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub okta_login: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub idc_user_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub idc_user_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub permission_set_arn: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub app_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key_id: Option<String>,
    /// An IAM SAML provider (its ARN).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub saml_provider_arn: Option<String>,
    /// A certificate's SHA-256 fingerprint (hex): a rotated certificate is a new finding, the same one is not.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub certificate_sha256: Option<String>,
    /// The threshold a finding was raised at (`90d`, `30d`, `7d`, `expired`): crossing the next one pages again,
    /// the daily run at the same one does not.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub threshold: Option<String>,
    /// The Okta System Log event (uuid) a propagation verdict is about (not part of the identity: the episode is).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub okta_event_id: Option<String>,
    /// The episode (one offboarding of one person) a checker finding belongs to: a later incident is a new
    /// finding, re-checks and duplicate jobs of this one are not.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub episode_id: Option<String>,
    /// For a report of use of AWS: the first CloudTrail event it reports. Each report of new use is its own
    /// finding (a subscriber deduplicating by id never drops one); re-checks never repeat an event.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_event_id: Option<String>,
    /// For a rule that groups many events into one finding: the group (e.g. a SCIM error code and its hour), so
    /// one broken push is one finding.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub burst_id: Option<String>,
    /// For a notice that a finding is resolved (the access review's daily run): the id of the finding it resolves.
    /// Part of the identity, so the notice never shares the open finding's id (a subscriber deduplicating by id
    /// would drop it) and a repeated notice of one resolution collapses.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resolves: Option<String>,
}

impl Subject {
    /// The subject's identity as text: field names and values in a fixed order.
    /// The login and user name are left out: both can change while the person stays the same.
    fn identity(&self) -> String {
        let parts = [
            ("okta_user_id", &self.okta_user_id),
            ("idc_user_id", &self.idc_user_id),
            ("account_id", &self.account_id),
            ("permission_set_arn", &self.permission_set_arn),
            ("group_id", &self.group_id),
            ("app_id", &self.app_id),
            ("key_id", &self.key_id),
            ("saml_provider_arn", &self.saml_provider_arn),
            ("certificate_sha256", &self.certificate_sha256),
            ("threshold", &self.threshold),
            ("episode_id", &self.episode_id),
            ("first_event_id", &self.first_event_id),
            ("burst_id", &self.burst_id),
            ("resolves", &self.resolves),
        ];
        parts
            .iter()
            .filter_map(|(name, value)| value.as_ref().map(|v| format!("{name}={v}")))
            .collect::<Vec<_>>()
            .join("|")
    }
}

/// One observation behind a finding: where it came from, what it was, when.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Evidence {
    /// `okta`, `identity-center`, `cloudtrail`.
    pub source: String,
    pub observation: String,
    /// An id the reader can look up at the source: Okta event uuid, CloudTrail event id, assignment.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reference: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_at: Option<DateTime<Utc>>,
}

impl Evidence {
    pub fn new(source: &str, observation: impl Into<String>) -> Self {
        Self {
            source: source.to_owned(),
            observation: observation.into(),
            reference: None,
            observed_at: None,
        }
    }

    pub fn reference(mut self, reference: impl Into<String>) -> Self {
        self.reference = Some(reference.into());
        self
    }

    pub fn at(mut self, at: DateTime<Utc>) -> Self {
        self.observed_at = Some(at);
        self
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct FindingId(String);

impl FindingId {
    /// `sha256(rule | subject identity)`, hex: the same rule on the same subject always gets the same id,
    /// so retries, duplicate deliveries and re-runs collapse downstream.
    pub fn derive(rule: Rule, subject: &Subject) -> Self {
        let digest = Sha256::digest(format!("{}|{}", rule.as_str(), subject.identity()).as_bytes());
        Self(digest.iter().map(|b| format!("{b:02x}")).collect())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for FindingId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Finding {
    pub schema_version: u32,
    pub finding_id: FindingId,
    pub rule: Rule,
    pub severity: Severity,
    pub title: String,
    pub subject: Subject,
    pub evidence: Vec<Evidence>,
    pub detected_at: DateTime<Utc>,
    pub remedy: String,
    /// Set when evidence was cut to keep a message under the SNS size limit.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub evidence_truncated: bool,
    /// For a finding that is updated in place (one id, published again as more is found, e.g. the use of AWS an
    /// episode's watch finds): grows with every update, so a subscriber tells a new revision (same id, higher
    /// revision: replace) from a redelivery (same id, same revision: drop). `None`: never updated.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revision: Option<u64>,
}

impl Finding {
    pub fn new(
        rule: Rule,
        severity: Severity,
        title: impl Into<String>,
        subject: Subject,
        detected_at: DateTime<Utc>,
    ) -> Self {
        Self {
            schema_version: FINDING_SCHEMA_VERSION,
            finding_id: FindingId::derive(rule, &subject),
            rule,
            severity,
            title: title.into(),
            subject,
            evidence: Vec::new(),
            detected_at,
            remedy: String::new(),
            evidence_truncated: false,
            revision: None,
        }
    }

    pub fn with_evidence(mut self, evidence: impl IntoIterator<Item = Evidence>) -> Self {
        self.evidence.extend(evidence);
        self
    }

    pub fn with_remedy(mut self, remedy: impl Into<String>) -> Self {
        self.remedy = remedy.into();
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn subject(user: &str) -> Subject {
        Subject {
            okta_user_id: Some(user.into()),
            okta_login: Some(format!("{user}@example.com")),
            ..Subject::default()
        }
    }

    #[test]
    fn the_same_rule_on_the_same_subject_gets_the_same_id() {
        let a = FindingId::derive(Rule::DirectUserAssignment, &subject("00u1"));
        let b = FindingId::derive(Rule::DirectUserAssignment, &subject("00u1"));
        assert_eq!(a, b);
        assert_eq!(a.as_str().len(), 64);
    }

    #[test]
    fn ids_differ_by_rule_and_by_subject() {
        let a = FindingId::derive(Rule::DirectUserAssignment, &subject("00u1"));
        assert_ne!(a, FindingId::derive(Rule::OrphanedIdcUser, &subject("00u1")));
        assert_ne!(a, FindingId::derive(Rule::DirectUserAssignment, &subject("00u2")));
    }

    #[test]
    fn a_renamed_login_keeps_the_id() {
        let mut renamed = subject("00u1");
        renamed.okta_login = Some("new.name@example.com".into());
        assert_eq!(
            FindingId::derive(Rule::DeprovisionedUserEnabled, &subject("00u1")),
            FindingId::derive(Rule::DeprovisionedUserEnabled, &renamed)
        );
    }

    #[test]
    fn every_rule_evidences_a_control_and_every_rule_is_listed_once() {
        let mut names: Vec<&str> = Rule::ALL.iter().map(|r| r.as_str()).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), Rule::ALL.len());
        for rule in Rule::ALL {
            assert!(!rule.controls().is_empty(), "{rule}");
        }
        assert!(Rule::DeprovisionedUserEnabled.controls().contains(&"SOC2 CC6.2"));
        assert!(Rule::PrivilegedViaLargeGroup.controls().contains(&"ISO27001 8.2"));
    }

    #[test]
    fn the_readme_findings_tables_list_every_rule() {
        let readme = include_str!("../../../README.md");
        for rule in Rule::ALL {
            assert!(
                readme.contains(&format!("| `{}` |", rule.as_str())),
                "README lacks {rule}"
            );
        }
    }

    #[test]
    fn a_resolution_notice_has_an_id_of_its_own() {
        let open = subject("00u1");
        let notice = Subject {
            resolves: Some(FindingId::derive(Rule::InactiveUser, &open).to_string()),
            ..open.clone()
        };
        assert_ne!(
            FindingId::derive(Rule::InactiveUser, &open),
            FindingId::derive(Rule::InactiveUser, &notice)
        );
    }

    #[test]
    fn rule_names_match_their_serde_form() {
        for rule in Rule::ALL {
            assert_eq!(serde_json::to_value(rule).unwrap(), serde_json::json!(rule.as_str()));
        }
    }
}
