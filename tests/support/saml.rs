//! Real SAML signing certificates and metadata for the cert-monitor tests: self-signed RSA-SHA256 certificates shaped
//! like Okta's (subject `…, O=Okta, OU=SSOProvider, CN=<org>`), generated with rcgen; metadata documents like the
//! ones Okta publishes for an app (prefixed `md:`/`ds:`) and like Identity Center's own (default namespace).

use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};

use base64::Engine;
use chrono::{DateTime, Utc};
use rcgen::{CertificateParams, DistinguishedName, DnType, KeyPair, PKCS_RSA_SHA256, SerialNumber};
use sha2::{Digest, Sha256};

/// A generated certificate: its DER, base64 (as `x5c` and metadata carry it) and fingerprint.
#[derive(Debug, Clone)]
pub struct TestCert {
    pub base64: String,
    pub sha256: String,
    pub not_after: DateTime<Utc>,
}

/// One RSA key signs every test certificate (RSA key generation is slow); serials keep the certificates apart.
fn key() -> &'static KeyPair {
    static KEY: OnceLock<KeyPair> = OnceLock::new();
    KEY.get_or_init(|| KeyPair::generate_for(&PKCS_RSA_SHA256).expect("an RSA key"))
}

/// An Okta-like signing certificate valid from `not_before` to `not_after` (whole seconds).
pub fn certificate(org: &str, not_before: DateTime<Utc>, not_after: DateTime<Utc>) -> TestCert {
    static SERIAL: AtomicU64 = AtomicU64::new(1_000);
    // rcgen's time type is not re-exported by name: built from its own epoch, in whole seconds.
    let offset = |time: DateTime<Utc>| {
        let epoch = rcgen::date_time_ymd(1970, 1, 1);
        let seconds = std::time::Duration::from_secs(time.timestamp().unsigned_abs());
        if time.timestamp() >= 0 {
            epoch + seconds
        } else {
            epoch - seconds
        }
    };
    let mut params = CertificateParams::new(Vec::<String>::new()).expect("certificate parameters");
    let mut name = DistinguishedName::new();
    name.push(DnType::CountryName, "US");
    name.push(DnType::StateOrProvinceName, "California");
    name.push(DnType::LocalityName, "San Francisco");
    name.push(DnType::OrganizationName, "Okta");
    name.push(DnType::OrganizationalUnitName, "SSOProvider");
    name.push(DnType::CommonName, org);
    params.distinguished_name = name;
    params.serial_number = Some(SerialNumber::from(SERIAL.fetch_add(1, Ordering::Relaxed)));
    params.not_before = offset(not_before);
    params.not_after = offset(not_after);
    let der = params
        .self_signed(key())
        .expect("a self-signed certificate")
        .der()
        .to_vec();
    TestCert {
        base64: base64::engine::general_purpose::STANDARD.encode(&der),
        sha256: Sha256::digest(&der).iter().map(|b| format!("{b:02x}")).collect(),
        not_after: DateTime::<Utc>::from_timestamp(not_after.timestamp(), 0).expect("time"),
    }
}

/// Base64 wrapped at 64 columns, as Okta's metadata prints it.
fn wrapped(base64: &str) -> String {
    base64
        .as_bytes()
        .chunks(64)
        .map(|line| String::from_utf8_lossy(line).into_owned())
        .collect::<Vec<_>>()
        .join("\n")
}

/// The metadata Okta publishes for a SAML app ("Identity Provider metadata"), one signing KeyDescriptor per
/// certificate (a rotation in progress lists both).
pub fn okta_metadata(app_key: &str, certificates: &[&str]) -> String {
    let keys: String = certificates
        .iter()
        .map(|c| {
            format!(
                "<md:KeyDescriptor use=\"signing\"><ds:KeyInfo xmlns:ds=\"http://www.w3.org/2000/09/xmldsig#\">\
                 <ds:X509Data><ds:X509Certificate>{}</ds:X509Certificate></ds:X509Data></ds:KeyInfo></md:KeyDescriptor>",
                wrapped(c)
            )
        })
        .collect();
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?><md:EntityDescriptor \
         xmlns:md=\"urn:oasis:names:tc:SAML:2.0:metadata\" entityID=\"http://www.okta.com/{app_key}\">\
         <md:IDPSSODescriptor WantAuthnRequestsSigned=\"false\" \
         protocolSupportEnumeration=\"urn:oasis:names:tc:SAML:2.0:protocol\">{keys}\
         <md:NameIDFormat>urn:oasis:names:tc:SAML:1.1:nameid-format:unspecified</md:NameIDFormat>\
         <md:NameIDFormat>urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress</md:NameIDFormat>\
         <md:SingleSignOnService Binding=\"urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST\" \
         Location=\"https://acme.okta.com/app/amazon_aws/{app_key}/sso/saml\"/>\
         <md:SingleSignOnService Binding=\"urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect\" \
         Location=\"https://acme.okta.com/app/amazon_aws/{app_key}/sso/saml\"/>\
         </md:IDPSSODescriptor></md:EntityDescriptor>"
    )
}

/// Federation metadata of another identity provider (Microsoft Entra ID's shape: `entityID` its tenant's issuer),
/// trusted by an IAM SAML provider beside Okta's.
pub fn other_idp_metadata(certificate: &str) -> String {
    format!(
        "<?xml version=\"1.0\" encoding=\"utf-8\"?><EntityDescriptor ID=\"_5f2d8f0e-1c8b-4a5e-9d5e-0c6c1f2b3a4d\" \
         entityID=\"https://sts.windows.net/72f988bf-86f1-41af-91ab-2d7cd011db47/\" \
         xmlns=\"urn:oasis:names:tc:SAML:2.0:metadata\"><IDPSSODescriptor \
         protocolSupportEnumeration=\"urn:oasis:names:tc:SAML:2.0:protocol\"><KeyDescriptor use=\"signing\">\
         <KeyInfo xmlns=\"http://www.w3.org/2000/09/xmldsig#\"><X509Data><X509Certificate>{}</X509Certificate>\
         </X509Data></KeyInfo></KeyDescriptor>\
         <SingleLogoutService Binding=\"urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect\" \
         Location=\"https://login.microsoftonline.com/72f988bf-86f1-41af-91ab-2d7cd011db47/saml2\"/>\
         <NameIDFormat>urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress</NameIDFormat>\
         <SingleSignOnService Binding=\"urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect\" \
         Location=\"https://login.microsoftonline.com/72f988bf-86f1-41af-91ab-2d7cd011db47/saml2\"/>\
         <SingleSignOnService Binding=\"urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST\" \
         Location=\"https://login.microsoftonline.com/72f988bf-86f1-41af-91ab-2d7cd011db47/saml2\"/>\
         </IDPSSODescriptor></EntityDescriptor>",
        wrapped(certificate)
    )
}

/// The metadata of Identity Center's own provider in an account it serves (`AWSSSO_<id>_DO_NOT_DELETE`).
pub fn identity_center_metadata(certificate: &str) -> String {
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?><EntityDescriptor xmlns=\"urn:oasis:names:tc:SAML:2.0:metadata\" \
         entityID=\"https://portal.sso.us-east-1.amazonaws.com/saml/assertion/MTExMTIyMjIzMzMzX2lucy0xYTJiM2M0ZDVlNmY3YThi\">\
         <IDPSSODescriptor protocolSupportEnumeration=\"urn:oasis:names:tc:SAML:2.0:protocol\">\
         <KeyDescriptor use=\"signing\"><ds:KeyInfo xmlns:ds=\"http://www.w3.org/2000/09/xmldsig#\"><ds:X509Data>\
         <ds:X509Certificate>{}</ds:X509Certificate></ds:X509Data></ds:KeyInfo></KeyDescriptor>\
         <NameIDFormat>urn:oasis:names:tc:SAML:2.0:nameid-format:persistent</NameIDFormat>\
         <SingleSignOnService Binding=\"urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST\" \
         Location=\"https://portal.sso.us-east-1.amazonaws.com/saml/assertion/MTExMTIyMjIzMzMz\"/>\
         </IDPSSODescriptor></EntityDescriptor>",
        wrapped(certificate)
    )
}
