//! SAML 2.0 metadata documents (`saml::signing_certificates`, `entity_id`, `metadata_readings`): XML as IAM's
//! GetSAMLProvider returns it, every signing certificate read.
//!
//! Contract: no panic; the readings are one per signing certificate the document lists.
#![no_main]
#![forbid(unsafe_code)]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(xml) = std::str::from_utf8(data) else { return };
    let _ = shared::saml::entity_id(xml);
    let listed = shared::saml::signing_certificates(xml);
    let readings = shared::saml::metadata_readings(xml);
    match (listed, readings) {
        (Ok(listed), Ok(readings)) => assert_eq!(listed.len(), readings.len()),
        (Err(_), Err(_)) => {}
        (listed, readings) => panic!(
            "the two readers disagree: {:?} / {:?}",
            listed.is_ok(),
            readings.is_ok()
        ),
    }
});
