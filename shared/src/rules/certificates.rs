//! SAML signing certificates, before they lock everyone out: Okta's active signing key and the certificates IAM
//! SAML providers trust expire (`saml-cert-expiring` at 90/30/7 days, `saml-cert-expired`); a provider that trusts
//! none of Okta's active key fails every sign-in (`saml-cert-drift`); a newer Okta key AWS does not trust yet
//! must be uploaded before it is activated (`saml-cert-rotation-pending`); what cannot be read cannot be checked
//! (`saml-cert-unreadable`).
//!
//! Ids are stable per (certificate, threshold): the daily run at the same threshold repeats the same id (and
//! collapses downstream), crossing the next threshold or rotating the certificate gives a new one.
//!
//! Identity Center's own providers (`AWSSSO_*_DO_NOT_DELETE`) hold Identity Center's certificate, not Okta's:
//! they are never compared with Okta's keys (no drift, no rotation), and their certificates' expiry is reported
//! at `info` only (AWS manages them).

use chrono::{DateTime, Utc};

use crate::domain::certificate::{
    CertInventory, CertReading, Certificate, OktaAppCertificates, OktaKeyCertificate, SamlProvider,
};
use crate::domain::{Evidence, Finding, OrgSnapshot, Rule, Severity, Subject};

use super::Policy;

/// Days before expiry at which a certificate becomes low, medium and high; an expired one is critical.
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

/// Where a certificate stands against the thresholds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Standing {
    pub severity: Severity,
    /// `90d`, `30d`, `7d` (the threshold crossed) or `expired`: part of the finding's id.
    pub threshold: String,
    /// Whole days left (negative once expired).
    pub days_left: i64,
}

impl KeyExpiryThresholds {
    /// Whole days left → severity. Negative: expired.
    pub fn severity(&self, days_left: i64) -> Option<Severity> {
        match days_left {
            d if d < 0 => Some(Severity::Critical),
            d if d <= self.high_days => Some(Severity::High),
            d if d <= self.medium_days => Some(Severity::Medium),
            d if d <= self.low_days => Some(Severity::Low),
            _ => None,
        }
    }

    /// `None` while the expiry is further away than the low threshold.
    pub fn standing(&self, expires: DateTime<Utc>, now: DateTime<Utc>) -> Option<Standing> {
        let left = expires.signed_duration_since(now);
        let days_left = if left < chrono::Duration::zero() {
            -1
        } else {
            left.num_days()
        };
        let severity = self.severity(days_left)?;
        let threshold = match severity {
            Severity::Critical => "expired".to_owned(),
            Severity::High => format!("{}d", self.high_days),
            Severity::Medium => format!("{}d", self.medium_days),
            _ => format!("{}d", self.low_days),
        };
        Some(Standing {
            severity,
            threshold,
            days_left: left.num_days(),
        })
    }
}

const ROTATE_REMEDY: &str = "Generate a new signing key for the app in Okta (Applications → the app → Sign On → \
    SAML Signing Certificates), download its metadata, upload the new certificate to AWS first (IAM Identity Center: \
    Settings → Identity source → Manage authentication; classic federation: UpdateSAMLProvider in each account), and \
    only then activate the key in Okta, so sign-in never breaks.";
const DRIFT_REMEDY: &str = "Download the metadata of the Okta app's active signing key (Sign On → View SAML setup \
    instructions / Identity Provider metadata) and update this IAM SAML provider with it (UpdateSAMLProvider), or \
    roll Okta back to the key AWS trusts: until then every federated sign-in through this provider fails.";
const PENDING_REMEDY: &str = "Add the new key's certificate to this IAM SAML provider (update its metadata with \
    both certificates) before the key is activated in Okta; activating it first locks everyone out.";
const UNREADABLE_REMEDY: &str = "Check the certificate or metadata at its source (Okta's key store or the IAM SAML \
    provider): until it reads as X.509 / SAML metadata, its expiry and drift cannot be checked.";

/// The snapshot rule: the Okta app's active signing key, its certificate's notAfter (`x5c`), else `expiresAt`.
pub(super) fn signing_keys_expiring(snapshot: &OrgSnapshot, policy: &Policy) -> Vec<Finding> {
    let app = okta_app_certificates(
        &snapshot.okta.app.id,
        &snapshot.okta.app.label,
        &snapshot.okta.app.signing_keys,
    );
    okta_key_findings(&app, &policy.key_expiry, policy.now)
}

/// An app's keys with each one's certificate read from its `x5c` (the first entry: the key's own certificate).
pub fn okta_app_certificates(
    app_id: &crate::domain::OktaAppId,
    label: &str,
    keys: &[crate::domain::SigningKey],
) -> OktaAppCertificates {
    OktaAppCertificates {
        app_id: app_id.clone(),
        label: label.to_owned(),
        keys: keys
            .iter()
            .map(|key| OktaKeyCertificate {
                certificate: key.x5c.first().map(|text| crate::saml::reading(text)),
                key: key.clone(),
            })
            .collect(),
    }
}

/// Every cert-monitor finding over both sides, most severe first.
pub fn evaluate_certificates(
    inventory: &CertInventory,
    thresholds: &KeyExpiryThresholds,
    now: DateTime<Utc>,
) -> Vec<Finding> {
    let mut findings = Vec::new();
    for app in &inventory.okta {
        findings.extend(okta_key_findings(app, thresholds, now));
    }
    for provider in &inventory.aws {
        let mut found = provider_findings(provider, &inventory.okta, thresholds, now);
        if !inventory.unread_apps.is_empty() {
            // An app whose keys could not be read may be the one this provider serves: a drift not tied to an
            // app by a key the provider trusts would be a guess (the unreadable-app finding says why).
            found.retain(|f| f.rule != Rule::SamlCertDrift || attributed_by_trust(provider, &inventory.okta));
        }
        findings.extend(found);
    }
    let mut seen = std::collections::HashSet::new();
    findings.retain(|f| seen.insert(f.finding_id.clone()));
    super::sort_findings(&mut findings);
    findings
}

/// A signing key of an Okta app whose certificate cannot be checked.
fn unreadable_key(
    app: &OktaAppCertificates,
    key: &OktaKeyCertificate,
    severity: Severity,
    title: String,
    now: DateTime<Utc>,
) -> Finding {
    Finding::new(
        Rule::SamlCertUnreadable,
        severity,
        title,
        Subject {
            app_id: Some(app.app_id.to_string()),
            key_id: Some(key.key.kid.clone()),
            ..Subject::default()
        },
        now,
    )
    .with_evidence([okta_evidence(app, key)])
    .with_remedy(UNREADABLE_REMEDY)
}

/// Okta's side: the active key's expiry (its certificate's notAfter; `expiresAt` when Okta sent no readable
/// certificate), and an unreadable certificate of any key.
pub fn okta_key_findings(
    app: &OktaAppCertificates,
    thresholds: &KeyExpiryThresholds,
    now: DateTime<Utc>,
) -> Vec<Finding> {
    let mut findings = Vec::new();
    for key in &app.keys {
        if let Some(CertReading::Malformed(reason)) = &key.certificate {
            let severity = if key.key.active {
                Severity::High
            } else {
                Severity::Medium
            };
            let title = format!(
                "The certificate (x5c) of Okta app {}'s signing key {} cannot be read: {reason}",
                app.app_id, key.key.kid
            );
            findings.push(unreadable_key(app, key, severity, title, now));
        }
    }
    let Some(active) = app.active() else {
        return findings;
    };
    if active.certificate.is_none() {
        // No x5c for the active key: its expiry falls back to expiresAt, but drift cannot be checked. Said.
        let title = format!(
            "Okta sent no certificate (x5c) for app {}'s active signing key {}: AWS's trust in it cannot be checked",
            app.app_id, active.key.kid
        );
        findings.push(unreadable_key(app, active, Severity::High, title, now));
    }
    let certificate = active.certificate.as_ref().and_then(CertReading::certificate);
    let expires = certificate.map_or(active.key.expires_at, |c| c.not_after);
    let Some(standing) = thresholds.standing(expires, now) else {
        return findings;
    };
    let what = format!(
        "The Okta app {}'s active SAML signing key {}",
        app_name(app),
        active.key.kid
    );
    findings.push(
        expiry_finding(&what, expires, &standing)
            .subject(Subject {
                app_id: Some(app.app_id.to_string()),
                key_id: Some(active.key.kid.clone()),
                certificate_sha256: certificate.map(|c| c.sha256.clone()),
                threshold: Some(standing.threshold.clone()),
                ..Subject::default()
            })
            .finding(now)
            .with_evidence([okta_evidence(app, active)])
            .with_remedy(ROTATE_REMEDY),
    );
    findings
}

/// AWS's side, for one provider.
fn provider_findings(
    provider: &SamlProvider,
    apps: &[OktaAppCertificates],
    thresholds: &KeyExpiryThresholds,
    now: DateTime<Utc>,
) -> Vec<Finding> {
    let mut findings = Vec::new();
    let provider_subject = || Subject {
        account_id: Some(provider.account_id.to_string()),
        saml_provider_arn: Some(provider.arn.clone()),
        ..Subject::default()
    };
    let readings = match &provider.certificates {
        Ok(readings) => readings,
        Err(reason) => {
            findings.push(
                Finding::new(
                    Rule::SamlCertUnreadable,
                    if provider.is_identity_center_own() {
                        Severity::Info
                    } else {
                        Severity::High
                    },
                    format!(
                        "The metadata of IAM SAML provider {} cannot be read: {reason}",
                        provider.arn
                    ),
                    provider_subject(),
                    now,
                )
                .with_evidence([provider_evidence(provider, None)])
                .with_remedy(UNREADABLE_REMEDY),
            );
            return findings;
        }
    };
    for (index, reading) in readings.iter().enumerate() {
        if let CertReading::Malformed(reason) = reading {
            findings.push(
                Finding::new(
                    Rule::SamlCertUnreadable,
                    if provider.is_identity_center_own() {
                        Severity::Info
                    } else {
                        Severity::High
                    },
                    format!(
                        "Certificate {} of IAM SAML provider {}'s metadata cannot be read: {reason}",
                        index.saturating_add(1),
                        provider.arn
                    ),
                    Subject {
                        threshold: Some(format!("certificate-{}", index.saturating_add(1))),
                        ..provider_subject()
                    },
                    now,
                )
                .with_evidence([provider_evidence(provider, None)])
                .with_remedy(UNREADABLE_REMEDY),
            );
        }
    }

    if provider.is_identity_center_own() {
        for certificate in provider.read_certificates() {
            if let Some(mut standing) = thresholds.standing(certificate.not_after, now) {
                standing.severity = Severity::Info;
                let what = format!(
                    "Identity Center's own SAML provider {} (managed by AWS) trusts a certificate that",
                    provider.arn
                );
                findings.push(provider_expiry(provider, certificate, &what, &standing, now));
            }
        }
        return findings;
    }

    if provider.is_other_idp() {
        // Another IdP's provider (Entra, ADFS, Google…): Okta's keys say nothing about it, so no drift and no pending
        // rotation. Which of its certificates that IdP signs with is unknown: the one valid longest is judged (an
        // expired certificate kept beside a current one is a rotation's leftover, not a lock-out).
        if let Some(certificate) = provider.read_certificates().max_by_key(|c| c.not_after)
            && let Some(standing) = thresholds.standing(certificate.not_after, now)
        {
            let what = format!(
                "IAM SAML provider {} (another identity provider) trusts a certificate that",
                provider.arn
            );
            findings.push(provider_expiry(provider, certificate, &what, &standing, now));
        }
        return findings;
    }

    let app = attributed_app(provider, apps);
    let active = app
        .and_then(|a| a.active())
        .and_then(|k| k.certificate.as_ref()?.certificate().map(|c| (k, c)));
    let trusts_active = active.is_some_and(|(_, c)| provider.trusts(&c.sha256));
    for certificate in provider.read_certificates() {
        // A certificate kept beside the active one (a rotation's leftover) signs nothing: its expiry is harmless.
        let leftover = trusts_active && active.is_some_and(|(_, c)| c.sha256 != certificate.sha256);
        if leftover {
            continue;
        }
        if let Some(standing) = thresholds.standing(certificate.not_after, now) {
            let what = format!("IAM SAML provider {} trusts a signing certificate that", provider.arn);
            findings.push(provider_expiry(provider, certificate, &what, &standing, now));
        }
    }

    let readable = provider.read_certificates().next().is_some();
    match (app, active) {
        (Some(app), Some((key, certificate))) if readable && !trusts_active => findings.push(
            Finding::new(
                Rule::SamlCertDrift,
                Severity::Critical,
                format!(
                    "IAM SAML provider {} does not trust the Okta app {}'s active signing key {}: sign-in through it fails",
                    provider.arn,
                    app_name(app),
                    key.key.kid
                ),
                Subject {
                    app_id: Some(app.app_id.to_string()),
                    key_id: Some(key.key.kid.clone()),
                    certificate_sha256: Some(certificate.sha256.clone()),
                    ..provider_subject()
                },
                now,
            )
            .with_evidence([okta_evidence(app, key), provider_evidence(provider, None)])
            .with_remedy(DRIFT_REMEDY),
        ),
        (None, _) if readable && !apps.is_empty() => findings.push(
            Finding::new(
                Rule::SamlCertDrift,
                Severity::Critical,
                format!(
                    "IAM SAML provider {} trusts no certificate of any monitored Okta app's signing keys",
                    provider.arn
                ),
                provider_subject(),
                now,
            )
            .with_evidence([provider_evidence(provider, None)])
            .with_remedy(DRIFT_REMEDY),
        ),
        _ => {}
    }

    if let (Some(app), Some((active_key, active_cert))) = (app, active) {
        for key in app.keys.iter().filter(|k| !k.key.active) {
            let Some(newer) = key.certificate.as_ref().and_then(CertReading::certificate) else {
                continue;
            };
            let is_newer = match (key.key.created, active_key.key.created) {
                (Some(created), Some(active_created)) => created > active_created,
                _ => newer.not_before > active_cert.not_before,
            };
            if !is_newer || newer.not_after <= now || provider.trusts(&newer.sha256) {
                continue;
            }
            findings.push(
                Finding::new(
                    Rule::SamlCertRotationPending,
                    Severity::Medium,
                    format!(
                        "The Okta app {} holds a newer signing key {} that IAM SAML provider {} does not trust yet",
                        app_name(app),
                        key.key.kid,
                        provider.arn
                    ),
                    Subject {
                        app_id: Some(app.app_id.to_string()),
                        key_id: Some(key.key.kid.clone()),
                        certificate_sha256: Some(newer.sha256.clone()),
                        ..provider_subject()
                    },
                    now,
                )
                .with_evidence([okta_evidence(app, key), provider_evidence(provider, None)])
                .with_remedy(PENDING_REMEDY),
            );
        }
    }
    findings
}

/// Does the provider trust any key of a monitored app (rather than being attributed to the only app)?
fn attributed_by_trust(provider: &SamlProvider, apps: &[OktaAppCertificates]) -> bool {
    apps.iter().any(|app| {
        app.keys
            .iter()
            .filter_map(|k| k.certificate.as_ref()?.certificate())
            .any(|c| provider.trusts(&c.sha256))
    })
}

/// The app a provider serves: the one any of whose keys it trusts; with one app monitored, that app (a provider
/// trusting none of its keys has drifted from it).
fn attributed_app<'a>(provider: &SamlProvider, apps: &'a [OktaAppCertificates]) -> Option<&'a OktaAppCertificates> {
    apps.iter()
        .find(|app| {
            app.keys
                .iter()
                .filter_map(|k| k.certificate.as_ref()?.certificate())
                .any(|c| provider.trusts(&c.sha256))
        })
        .or(match apps {
            [only] => Some(only),
            _ => None,
        })
}

fn provider_expiry(
    provider: &SamlProvider,
    certificate: &Certificate,
    what: &str,
    standing: &Standing,
    now: DateTime<Utc>,
) -> Finding {
    expiry_finding(what, certificate.not_after, standing)
        .subject(Subject {
            account_id: Some(provider.account_id.to_string()),
            saml_provider_arn: Some(provider.arn.clone()),
            certificate_sha256: Some(certificate.sha256.clone()),
            threshold: Some(standing.threshold.clone()),
            ..Subject::default()
        })
        .finding(now)
        .with_evidence([provider_evidence(provider, Some(certificate))])
        .with_remedy(ROTATE_REMEDY)
}

/// An expiry finding waiting for its subject.
struct Expiry {
    rule: Rule,
    severity: Severity,
    title: String,
    subject: Subject,
}

impl Expiry {
    fn subject(mut self, subject: Subject) -> Self {
        self.subject = subject;
        self
    }

    fn finding(self, now: DateTime<Utc>) -> Finding {
        Finding::new(self.rule, self.severity, self.title, self.subject, now)
    }
}

fn expiry_finding(what: &str, expires: DateTime<Utc>, standing: &Standing) -> Expiry {
    let expired = standing.threshold == "expired";
    Expiry {
        rule: if expired {
            Rule::SamlCertExpired
        } else {
            Rule::SamlCertExpiring
        },
        severity: standing.severity,
        title: if expired {
            format!("{what} expired on {}", expires.date_naive())
        } else {
            format!(
                "{what} expires in {} day(s), on {}",
                standing.days_left,
                expires.date_naive()
            )
        },
        subject: Subject::default(),
    }
}

fn app_name(app: &OktaAppCertificates) -> String {
    if app.label.is_empty() {
        app.app_id.to_string()
    } else {
        format!("{} ({})", app.label, app.app_id)
    }
}

fn okta_evidence(app: &OktaAppCertificates, key: &OktaKeyCertificate) -> Evidence {
    let certificate = match &key.certificate {
        Some(CertReading::Read(c)) => format!(
            "; certificate sha256 {} subject {} valid {} to {}",
            c.sha256, c.subject, c.not_before, c.not_after
        ),
        Some(CertReading::Malformed(reason)) => format!("; certificate unreadable: {reason}"),
        None => "; no x5c".to_owned(),
    };
    Evidence::new(
        "okta",
        format!(
            "GET /api/v1/apps/{}/credentials/keys: kid {} {}expiresAt {}{certificate}",
            app.app_id,
            key.key.kid,
            if key.key.active { "(active) " } else { "" },
            key.key.expires_at
        ),
    )
    .reference(key.key.kid.clone())
}

fn provider_evidence(provider: &SamlProvider, certificate: Option<&Certificate>) -> Evidence {
    let trusted: Vec<String> = provider
        .read_certificates()
        .map(|c| format!("{} (notAfter {})", c.sha256, c.not_after))
        .collect();
    let focus = certificate
        .map(|c| {
            format!(
                "; certificate {} subject {} valid {} to {}",
                c.sha256, c.subject, c.not_before, c.not_after
            )
        })
        .unwrap_or_default();
    let valid_until = provider
        .valid_until
        .map(|v| format!("; ValidUntil {v}"))
        .unwrap_or_default();
    Evidence::new(
        "iam",
        format!(
            "GetSAMLProvider {} in account {}: trusts [{}]{valid_until}{focus}",
            provider.arn,
            provider.account_id,
            trusted.join(", ")
        ),
    )
    .reference(provider.arn.clone())
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

    #[test]
    fn standing_names_the_threshold_crossed() {
        let t = KeyExpiryThresholds::default();
        let now = DateTime::<Utc>::from_timestamp(1_800_000_000, 0).expect("time");
        let day = chrono::Duration::days(1);
        let at = |days: i64| {
            t.standing(now + day * days as i32 + chrono::Duration::hours(1), now)
                .map(|s| s.threshold)
        };
        assert_eq!(at(91), None);
        assert_eq!(at(90).as_deref(), Some("90d"));
        assert_eq!(at(31).as_deref(), Some("90d"));
        assert_eq!(at(30).as_deref(), Some("30d"));
        assert_eq!(at(7).as_deref(), Some("7d"));
        assert_eq!(at(0).as_deref(), Some("7d"));
        assert_eq!(
            t.standing(now - chrono::Duration::seconds(1), now)
                .map(|s| (s.threshold, s.severity)),
            Some(("expired".to_owned(), Severity::Critical))
        );
    }
}
