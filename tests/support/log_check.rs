//! The one rule for what no log line may carry (issue 13): a secret, an e-mail address or login, a person's name,
//! or a whole payload. Used on the in-process tracing capture (tests/log_capture.rs) and on every function
//! binary's real output (`lambda_runtime::FunctionProcess`: tracing lines and EMF metric lines).
//!
//! Generic detectors need no canary: anything shaped like an e-mail address (`local@domain.tld`), and the keys
//! and markers of the payloads the functions read (Okta hook envelopes and events, SQS records, queued jobs,
//! CloudTrail records and EventBridge envelopes, SAML metadata and certificates). A test adds the values it
//! seeded: secrets, logins' local parts, names, addresses.

/// Markers of a whole payload in a line: (what it is, the text).
const PAYLOAD_MARKERS: &[(&str, &str)] = &[
    ("an Okta hook envelope", "com.okta.event_hook"),
    ("an Okta event", "\"eventType\""),
    ("an Okta event", "alternateId"),
    ("an Okta event", "displayName"),
    ("an Okta event", "\"legacyEventType\""),
    ("an SQS record", "receiptHandle"),
    ("an SQS record", "\"eventSourceARN\""),
    // A job's own key (the logs name the event `event_uuid`, and an `okta_user_id` is an id, allowed).
    ("a queued job", "\"okta_event_id\""),
    ("a CloudTrail record", "userIdentity"),
    ("a CloudTrail record", "requestParameters"),
    ("a CloudTrail record", "responseElements"),
    ("an EventBridge envelope", "\"detail-type\""),
    ("SAML metadata", "EntityDescriptor"),
    ("SAML metadata", "X509Certificate"),
    ("a certificate", "BEGIN CERTIFICATE"),
    ("an Okta signing key", "\"x5c\""),
];

/// What a test's logs must not hold: the generic detectors plus the values it seeded.
#[derive(Debug, Clone, Default)]
pub struct LogCheck {
    forbidden: Vec<(String, String)>,
}

impl LogCheck {
    /// The generic detectors alone.
    pub fn new() -> Self {
        Self::default()
    }

    /// Also forbids `text` (a secret, a login's local part, a name, an address), described as `what`.
    pub fn forbid(mut self, what: &str, text: impl Into<String>) -> Self {
        let text = text.into();
        assert!(!text.is_empty(), "an empty canary matches every line");
        self.forbidden.push((what.to_owned(), text));
        self
    }

    /// Every leak in `lines`, one entry per (line, cause), with the line.
    pub fn leaks(&self, lines: &str) -> Vec<String> {
        let mut found = Vec::new();
        for line in lines.lines() {
            for (what, text) in &self.forbidden {
                if line.contains(text.as_str()) {
                    found.push(format!("{what} ({text:?}) in: {line}"));
                }
            }
            for (what, text) in PAYLOAD_MARKERS {
                if line.contains(text) {
                    found.push(format!("{what} ({text:?}) in: {line}"));
                }
            }
            if let Some(address) = email_address(line) {
                found.push(format!("an e-mail address ({address:?}) in: {line}"));
            }
        }
        found
    }

    /// Fails, naming `source` and every leaking line, if `lines` leak; otherwise returns how many lines were read.
    pub fn assert_clean(&self, source: &str, lines: &str) -> usize {
        let found = self.leaks(lines);
        assert!(
            found.is_empty(),
            "{source}: {} leaking line(s):\n{}",
            found.len(),
            found.join("\n")
        );
        lines.lines().count()
    }
}

fn local_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || "._%+-".contains(c)
}

fn domain_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '-' || c == '.'
}

/// The first `local@domain.tld` in `line` (a dotted domain ending in two or more letters), if any.
pub fn email_address(line: &str) -> Option<&str> {
    for (at, _) in line.match_indices('@') {
        let before = &line[..at];
        let local_start = before
            .char_indices()
            .rev()
            .take_while(|(_, c)| local_char(*c))
            .last()
            .map_or(at, |(i, _)| i);
        let after = &line[at + 1..];
        let domain_len = after.find(|c: char| !domain_char(c)).unwrap_or(after.len());
        let domain = after[..domain_len].trim_end_matches('.');
        let tld = domain.rsplit('.').next().unwrap_or("");
        let dotted = domain.contains('.') && !domain.starts_with('.');
        if local_start < at && dotted && tld.len() >= 2 && tld.chars().all(|c| c.is_ascii_alphabetic()) {
            return Some(&line[local_start..at + 1 + domain.len()]);
        }
    }
    None
}
