//! The Okta app's SAML signing certificate: when it expires, nobody signs in to AWS.

use crate::domain::{Evidence, Finding, OrgSnapshot, Rule, Severity, Subject};

use super::Policy;

/// Days before expiry at which a key becomes low, medium and high; an expired key is critical.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KeyExpiryThresholds {
    pub low_days: i64,
    pub medium_days: i64,
    pub high_days: i64,
}

impl Default for KeyExpiryThresholds {
    fn default() -> Self {
        Self {
            low_days: 90,
            medium_days: 30,
            high_days: 7,
        }
    }
}

impl KeyExpiryThresholds {
    pub fn severity(&self, days_left: i64) -> Option<Severity> {
        match days_left {
            d if d < 0 => Some(Severity::Critical),
            d if d <= self.high_days => Some(Severity::High),
            d if d <= self.medium_days => Some(Severity::Medium),
            d if d <= self.low_days => Some(Severity::Low),
            _ => None,
        }
    }
}

pub(super) fn signing_keys_expiring(snapshot: &OrgSnapshot, policy: &Policy) -> Vec<Finding> {
    let app = &snapshot.okta.app;
    app.signing_keys
        .iter()
        .filter(|k| k.active)
        .filter_map(|key| {
            let days_left = (key.expires_at - policy.now).num_days();
            let left = key.expires_at - policy.now;
            let severity = policy
                .key_expiry
                .severity(if left.num_seconds() < 0 { -1 } else { days_left })?;
            let title = if left.num_seconds() < 0 {
                format!(
                    "The Okta app's active SAML signing key {} expired on {}",
                    key.kid,
                    key.expires_at.date_naive()
                )
            } else {
                format!(
                    "The Okta app's active SAML signing key {} expires in {days_left} day(s), on {}",
                    key.kid,
                    key.expires_at.date_naive()
                )
            };
            Some(
                Finding::new(
                    Rule::SigningKeyExpiring,
                    severity,
                    title,
                    Subject {
                        app_id: Some(app.id.to_string()),
                        key_id: Some(key.kid.clone()),
                        ..Subject::default()
                    },
                    policy.now,
                )
                .with_evidence([Evidence::new(
                    "okta",
                    format!(
                        "GET /api/v1/apps/{}/credentials/keys: kid {} expiresAt {}",
                        app.id, key.kid, key.expires_at
                    ),
                )
                .reference(key.kid.clone())])
                .with_remedy(
                    "Generate a new signing key for the app in Okta, download its metadata, upload the new \
                     certificate to IAM Identity Center (Settings → Identity source → Manage authentication) and \
                     only then activate it in Okta, so sign-in never breaks.",
                ),
            )
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thresholds_step_up_as_expiry_nears() {
        let t = KeyExpiryThresholds::default();
        assert_eq!(t.severity(200), None);
        assert_eq!(t.severity(90), Some(Severity::Low));
        assert_eq!(t.severity(30), Some(Severity::Medium));
        assert_eq!(t.severity(7), Some(Severity::High));
        assert_eq!(t.severity(0), Some(Severity::High));
        assert_eq!(t.severity(-1), Some(Severity::Critical));
    }
}
