//! Reading SAML signing certificates: X.509 (DER, base64 in Okta's `x5c` and in metadata) and SAML 2.0 metadata
//! documents (every signing `X509Certificate`). Pure functions over text: no I/O, and no input can make them panic.

mod metadata;
mod x509;

pub use metadata::{MetadataError, entity_id, signing_certificates};
pub use x509::{CertificateError, read_base64, read_der};

use crate::domain::certificate::CertReading;

/// A base64 certificate, read, or why it could not be.
pub fn reading(base64_der: &str) -> CertReading {
    match read_base64(base64_der) {
        Ok(certificate) => CertReading::Read(certificate),
        Err(error) => CertReading::Malformed(error.to_string()),
    }
}

/// Every signing certificate of a metadata document, each read; `Err`: the document could not be read.
pub fn metadata_readings(xml: &str) -> Result<Vec<CertReading>, MetadataError> {
    Ok(signing_certificates(xml)?.iter().map(|c| reading(c)).collect())
}
