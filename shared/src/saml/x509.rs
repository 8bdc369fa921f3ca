//! One X.509 certificate: notBefore, notAfter, subject, SHA-256 fingerprint.

use base64::Engine;
use chrono::{DateTime, Utc};
use sha2::{Digest, Sha256};

use crate::domain::certificate::Certificate;

#[derive(Debug, thiserror::Error)]
pub enum CertificateError {
    #[error("not base64")]
    Base64(#[source] base64::DecodeError),
    #[error("not a DER X.509 certificate: {0}")]
    Der(String),
    #[error("bytes after the certificate")]
    Trailing,
    #[error("validity time out of range")]
    Time,
}

/// Base64 of DER, as `x5c` entries and metadata carry it; whitespace (metadata wraps lines) is ignored.
pub fn read_base64(text: &str) -> Result<Certificate, CertificateError> {
    let compact: String = text.chars().filter(|c| !c.is_whitespace()).collect();
    let der = base64::engine::general_purpose::STANDARD
        .decode(compact.as_bytes())
        .map_err(CertificateError::Base64)?;
    read_der(&der)
}

pub fn read_der(der: &[u8]) -> Result<Certificate, CertificateError> {
    let (rest, certificate) =
        x509_parser::parse_x509_certificate(der).map_err(|error| CertificateError::Der(error.to_string()))?;
    if !rest.is_empty() {
        return Err(CertificateError::Trailing);
    }
    let validity = certificate.validity();
    let time = |t: &x509_parser::time::ASN1Time| {
        DateTime::<Utc>::from_timestamp(t.timestamp(), 0).ok_or(CertificateError::Time)
    };
    Ok(Certificate {
        sha256: Sha256::digest(der).iter().map(|b| format!("{b:02x}")).collect(),
        subject: certificate.subject().to_string(),
        not_before: time(&validity.not_before)?,
        not_after: time(&validity.not_after)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn garbage_is_an_error_not_a_panic() {
        assert!(matches!(read_base64("MIIDfake!!"), Err(CertificateError::Base64(_))));
        assert!(read_base64("MIIDfakeCertificateForTestsOnly").is_err());
        assert!(matches!(
            read_der(&[0x30, 0x82, 0xff, 0xff]),
            Err(CertificateError::Der(_))
        ));
        assert!(matches!(read_der(&[]), Err(CertificateError::Der(_))));
    }
}
