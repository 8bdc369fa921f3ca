//! SAML 2.0 metadata (`EntityDescriptor`, as Okta publishes it and IAM stores it): the base64 text of every
//! `X509Certificate` under a `KeyDescriptor` used for signing (or with no `use`, which means both). Elements are
//! matched by local name, whatever prefix the document binds the namespaces to (`md:`, `ds:`, none).

use quick_xml::Reader;
use quick_xml::events::Event;

/// A document with more certificates than this is not metadata any IdP publishes.
const MAX_CERTIFICATES: usize = 64;

#[derive(Debug, thiserror::Error)]
pub enum MetadataError {
    #[error("not well-formed XML at byte {position}: {reason}")]
    Xml { position: u64, reason: String },
    #[error("not SAML metadata: the root element is {0}, not EntityDescriptor or EntitiesDescriptor")]
    NotMetadata(String),
    #[error("the metadata holds no signing X509Certificate")]
    NoCertificate,
    #[error("the metadata holds more than {MAX_CERTIFICATES} certificates")]
    TooMany,
}

/// The root `EntityDescriptor`'s `entityID` (the IdP's issuer), if the document has one.
pub fn entity_id(xml: &str) -> Option<String> {
    let mut reader = Reader::from_str(xml);
    loop {
        match reader.read_event().ok()? {
            Event::Start(element) | Event::Empty(element) => {
                return element
                    .attributes()
                    .flatten()
                    .find(|a| a.key.local_name().as_ref() == "entityID")
                    .map(|a| a.value.as_ref().to_owned());
            }
            Event::Eof => return None,
            _ => {}
        }
    }
}

/// The base64 text of each signing certificate, in document order.
pub fn signing_certificates(xml: &str) -> Result<Vec<String>, MetadataError> {
    let mut reader = Reader::from_str(xml);
    let mut depth: usize = 0;
    let mut root_seen = false;
    // Inside a KeyDescriptor use="encryption": its certificates do not sign.
    let mut encryption_depth: Option<usize> = None;
    // Inside a KeyDescriptor at all: a certificate elsewhere (in the metadata's own <ds:Signature>) is not one
    // the provider trusts for assertions.
    let mut key_descriptor_depth: Option<usize> = None;
    let mut in_certificate = false;
    let mut text = String::new();
    let mut found = Vec::new();
    loop {
        let event = reader.read_event().map_err(|error| MetadataError::Xml {
            position: reader.error_position(),
            reason: error.to_string(),
        })?;
        match event {
            Event::Start(element) => {
                depth = depth.saturating_add(1);
                let name = element.local_name();
                let name = name.as_ref();
                if !root_seen {
                    root_seen = true;
                    if name != "EntityDescriptor" && name != "EntitiesDescriptor" {
                        return Err(MetadataError::NotMetadata(name.to_owned()));
                    }
                }
                if name == "KeyDescriptor" && key_descriptor_depth.is_none() {
                    key_descriptor_depth = Some(depth);
                }
                if name == "KeyDescriptor" && encryption_depth.is_none() {
                    let encryption = element
                        .attributes()
                        .flatten()
                        .any(|a| a.key.local_name().as_ref() == "use" && a.value.as_ref() == "encryption");
                    if encryption {
                        encryption_depth = Some(depth);
                    }
                }
                if name == "X509Certificate" {
                    in_certificate = true;
                    text.clear();
                }
            }
            Event::Empty(element) if !root_seen => {
                let name = element.local_name();
                return Err(MetadataError::NotMetadata(name.as_ref().to_owned()));
            }
            Event::Text(content) if in_certificate => {
                text.push_str(&content.xml10_content());
            }
            Event::End(element) => {
                if element.local_name().as_ref() == "X509Certificate" && in_certificate {
                    in_certificate = false;
                    if encryption_depth.is_none() && key_descriptor_depth.is_some() {
                        if found.len() == MAX_CERTIFICATES {
                            return Err(MetadataError::TooMany);
                        }
                        found.push(std::mem::take(&mut text));
                    }
                }
                if encryption_depth == Some(depth) {
                    encryption_depth = None;
                }
                if key_descriptor_depth == Some(depth) {
                    key_descriptor_depth = None;
                }
                depth = depth.saturating_sub(1);
            }
            Event::Eof => break,
            _ => {}
        }
    }
    if !root_seen {
        return Err(MetadataError::NotMetadata("absent".into()));
    }
    if found.is_empty() {
        return Err(MetadataError::NoCertificate);
    }
    Ok(found)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_certificate_of_the_metadatas_own_signature_is_not_a_trusted_key_and_the_entity_id_is_read() {
        let xml = r#"<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" entityID="https://sts.windows.net/t/">
<ds:Signature xmlns:ds="http://www.w3.org/2000/09/xmldsig#"><ds:KeyInfo><ds:X509Data><ds:X509Certificate>SIGNER</ds:X509Certificate></ds:X509Data></ds:KeyInfo></ds:Signature>
<md:IDPSSODescriptor><md:KeyDescriptor use="signing"><ds:KeyInfo xmlns:ds="http://www.w3.org/2000/09/xmldsig#"><ds:X509Data><ds:X509Certificate>KEY</ds:X509Certificate></ds:X509Data></ds:KeyInfo></md:KeyDescriptor></md:IDPSSODescriptor>
</md:EntityDescriptor>"#;
        assert_eq!(signing_certificates(xml).unwrap(), ["KEY"]);
        assert_eq!(entity_id(xml).as_deref(), Some("https://sts.windows.net/t/"));
    }

    const OKTA_LIKE: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" entityID="http://www.okta.com/exk1">
  <md:IDPSSODescriptor WantAuthnRequestsSigned="false" protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol">
    <md:KeyDescriptor use="signing">
      <ds:KeyInfo xmlns:ds="http://www.w3.org/2000/09/xmldsig#"><ds:X509Data><ds:X509Certificate>QUJD
REVG</ds:X509Certificate></ds:X509Data></ds:KeyInfo>
    </md:KeyDescriptor>
    <md:KeyDescriptor use="encryption">
      <ds:KeyInfo xmlns:ds="http://www.w3.org/2000/09/xmldsig#"><ds:X509Data><ds:X509Certificate>RU5D</ds:X509Certificate></ds:X509Data></ds:KeyInfo>
    </md:KeyDescriptor>
    <md:KeyDescriptor>
      <KeyInfo xmlns="http://www.w3.org/2000/09/xmldsig#"><X509Data><X509Certificate>R0hJ</X509Certificate></X509Data></KeyInfo>
    </md:KeyDescriptor>
  </md:IDPSSODescriptor>
</md:EntityDescriptor>"#;

    #[test]
    fn signing_certificates_under_any_prefix_encryption_ones_left_out() {
        assert_eq!(
            signing_certificates(OKTA_LIKE).expect("metadata"),
            ["QUJD\nREVG", "R0hJ"]
        );
    }

    #[test]
    fn malformed_documents_are_errors() {
        assert!(matches!(
            signing_certificates("<md:EntityDescriptor><oops></md:EntityDescriptor>"),
            Err(MetadataError::Xml { .. })
        ));
        assert!(matches!(
            signing_certificates("<html><body/></html>"),
            Err(MetadataError::NotMetadata(_))
        ));
        assert!(matches!(signing_certificates(""), Err(MetadataError::NotMetadata(_))));
        assert!(matches!(
            signing_certificates("<EntityDescriptor/>"),
            Err(MetadataError::NotMetadata(_))
        ));
        assert!(matches!(
            signing_certificates("<EntityDescriptor><IDPSSODescriptor/></EntityDescriptor>"),
            Err(MetadataError::NoCertificate)
        ));
    }
}
