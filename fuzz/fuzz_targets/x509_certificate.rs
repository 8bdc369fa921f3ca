//! X.509 certificates (`saml::read_der`, and `read_base64` as Okta's `x5c` and metadata carry them).
//!
//! Contract: no panic; a certificate that reads has the SHA-256 of exactly its bytes, and its base64 reads the
//! same.
#![no_main]
#![forbid(unsafe_code)]

use base64::Engine;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = shared::saml::read_base64(text);
        let _ = shared::saml::reading(text);
    }
    if let Ok(certificate) = shared::saml::read_der(data) {
        assert_eq!(certificate.sha256.len(), 64);
        let again = shared::saml::read_base64(&base64::engine::general_purpose::STANDARD.encode(data))
            .expect("the base64 of a readable certificate reads");
        assert_eq!(again, certificate);
    }
});
