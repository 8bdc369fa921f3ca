//! SAML signing certificates on both sides of the federation: the keys Okta signs assertions with, and the
//! certificates AWS trusts (IAM SAML providers' metadata). What the cert-monitor rules read.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::{AccountId, OktaAppId, SigningKey};

/// An X.509 certificate, reduced to what the rules use.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Certificate {
    /// SHA-256 of the DER encoding, lowercase hex: the certificate's identity on both sides.
    pub sha256: String,
    /// The subject's distinguished name, as text (e.g. `CN=dev-123456, O=Okta, …`).
    pub subject: String,
    pub not_before: DateTime<Utc>,
    pub not_after: DateTime<Utc>,
}

/// What reading one certificate gave: the certificate, or why it could not be read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CertReading {
    Read(Certificate),
    /// The text was not base64 of a DER X.509 certificate; the reason, never the bytes.
    Malformed(String),
}

impl CertReading {
    pub fn certificate(&self) -> Option<&Certificate> {
        match self {
            Self::Read(certificate) => Some(certificate),
            Self::Malformed(_) => None,
        }
    }
}

/// One Okta signing key with its certificate read (the first `x5c` entry: the key's own certificate).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OktaKeyCertificate {
    pub key: SigningKey,
    /// `None`: Okta sent no `x5c` for the key (only `expiresAt` can be checked then).
    pub certificate: Option<CertReading>,
}

/// An Okta app's signing keys, each with its certificate.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OktaAppCertificates {
    pub app_id: OktaAppId,
    #[serde(default)]
    pub label: String,
    pub keys: Vec<OktaKeyCertificate>,
}

impl OktaAppCertificates {
    /// The key the app signs with now (`credentials.signing.kid`).
    pub fn active(&self) -> Option<&OktaKeyCertificate> {
        self.keys.iter().find(|k| k.key.active)
    }
}

/// An Okta app's signing keys as the Directory reads them (`GET /api/v1/apps/{id}` for the label and the active
/// kid, `…/credentials/keys` for the keys with their `x5c`), without the app's users.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AppSigningKeys {
    pub app_id: OktaAppId,
    #[serde(default)]
    pub label: String,
    pub keys: Vec<SigningKey>,
}

/// An IAM SAML provider of one account, with every signing certificate its metadata holds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SamlProvider {
    pub account_id: AccountId,
    pub arn: String,
    /// IAM's `ValidUntil`: when IAM stops accepting the provider, not the certificate's expiry.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub valid_until: Option<DateTime<Utc>>,
    /// Each `X509Certificate` of the metadata's signing key descriptors, read; `Err`: the metadata itself could
    /// not be read (the reason).
    pub certificates: Result<Vec<CertReading>, String>,
    /// The metadata's `entityID`: the IdP this provider trusts (Okta's is `http://www.okta.com/<app key>`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub entity_id: Option<String>,
}

impl SamlProvider {
    /// The provider's name: the last segment of its ARN (`arn:aws:iam::123456789012:saml-provider/Okta`).
    pub fn name(&self) -> &str {
        self.arn.rsplit('/').next().unwrap_or(&self.arn)
    }

    /// Identity Center's own provider (`AWSSSO_<id>_DO_NOT_DELETE`), created in each account it serves: it holds
    /// Identity Center's certificate, not Okta's, so it is never compared with Okta's keys.
    pub fn is_identity_center_own(&self) -> bool {
        let name = self.name();
        name.starts_with("AWSSSO_") && name.ends_with("_DO_NOT_DELETE")
    }

    /// The provider trusts another identity provider (its metadata's entityID is not Okta's): it is never
    /// compared with Okta's keys, only its certificates' expiry is checked. UNVERIFIED beyond what Okta's own
    /// metadata shows: Okta writes entityIDs as `http://www.okta.com/<externalKey>` (custom domains keep it).
    pub fn is_other_idp(&self) -> bool {
        self.entity_id.as_deref().is_some_and(|id| {
            let id = id.to_ascii_lowercase();
            !(id.starts_with("http://www.okta.com/") || id.starts_with("https://www.okta.com/"))
        })
    }

    /// The certificates that were read.
    pub fn read_certificates(&self) -> impl Iterator<Item = &Certificate> {
        self.certificates.iter().flatten().filter_map(CertReading::certificate)
    }

    pub fn trusts(&self, sha256: &str) -> bool {
        self.read_certificates().any(|c| c.sha256 == sha256)
    }
}

/// An account whose SAML providers could not be listed (its role could not be assumed, or IAM refused); no
/// account: the organization's account list could not be read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UnreadAccount {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account_id: Option<AccountId>,
    /// The error with its causes.
    pub reason: String,
}

/// Everything the cert-monitor rules judge: both sides, as collected at `collected_at`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CertInventory {
    pub collected_at: DateTime<Utc>,
    pub okta: Vec<OktaAppCertificates>,
    pub aws: Vec<SamlProvider>,
    #[serde(default)]
    pub unread_accounts: Vec<UnreadAccount>,
    /// Okta apps whose signing keys could not be read (the error with its causes).
    #[serde(default)]
    pub unread_apps: Vec<(OktaAppId, String)>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn provider(arn: &str) -> SamlProvider {
        SamlProvider {
            account_id: AccountId::parse("123456789012").expect("account id"),
            arn: arn.into(),
            valid_until: None,
            certificates: Ok(Vec::new()),
            entity_id: None,
        }
    }

    #[test]
    fn identity_center_providers_are_told_apart_by_name() {
        assert!(
            provider("arn:aws:iam::123456789012:saml-provider/AWSSSO_1a2b3c4d5e6f7a8b_DO_NOT_DELETE")
                .is_identity_center_own()
        );
        assert!(!provider("arn:aws:iam::123456789012:saml-provider/Okta").is_identity_center_own());
        assert!(!provider("arn:aws:iam::123456789012:saml-provider/AWSSSO_keep").is_identity_center_own());
        assert_eq!(provider("arn:aws:iam::123456789012:saml-provider/Okta").name(), "Okta");
    }
}
