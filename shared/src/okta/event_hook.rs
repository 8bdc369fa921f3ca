//! Okta event hook deliveries on the wire: the envelope around System Log `LogEvent`s, parsed defensively.
//! One malformed event never sinks the batch: it is reported by position (and uuid, if it has one).

use serde::Deserialize;

use super::wire::LogEvent;
use crate::domain::OktaLogEvent;

pub const ENVELOPE_EVENT_TYPE: &str = "com.okta.event_hook";

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct WireEnvelope {
    event_type: String,
    event_id: String,
    data: WireData,
}

#[derive(Debug, Deserialize)]
struct WireData {
    events: Vec<serde_json::Value>,
}

/// A delivery, with the events that parsed and the ones that did not.
#[derive(Debug)]
pub struct HookDelivery {
    /// The batch id (`eventId`): the same on Okta's retry of this delivery.
    pub delivery_id: String,
    pub events: Vec<OktaLogEvent>,
    pub malformed: Vec<MalformedEvent>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MalformedEvent {
    pub position: usize,
    pub uuid: Option<String>,
    pub reason: String,
}

/// Why a body is not an event hook delivery at all.
#[derive(Debug, thiserror::Error)]
pub enum EnvelopeError {
    /// Says where and what kind of problem, never the offending text (it may hold names or emails).
    #[error("body is not a JSON event hook envelope ({category} at line {line}, column {column})")]
    NotAnEnvelope {
        category: &'static str,
        line: usize,
        column: usize,
    },
    #[error("eventType is {0:?}, expected \"com.okta.event_hook\"")]
    WrongEventType(String),
}

pub fn parse_delivery(body: &[u8]) -> Result<HookDelivery, EnvelopeError> {
    let envelope: WireEnvelope = serde_json::from_slice(body).map_err(|e| EnvelopeError::NotAnEnvelope {
        category: match e.classify() {
            serde_json::error::Category::Io => "unreadable",
            serde_json::error::Category::Syntax => "not JSON",
            serde_json::error::Category::Data => "wrong shape",
            serde_json::error::Category::Eof => "cut short",
        },
        line: e.line(),
        column: e.column(),
    })?;
    if envelope.event_type != ENVELOPE_EVENT_TYPE {
        return Err(EnvelopeError::WrongEventType(
            envelope.event_type.chars().take(64).collect(),
        ));
    }
    let mut events = Vec::with_capacity(envelope.data.events.len());
    let mut malformed = Vec::new();
    for (position, value) in envelope.data.events.into_iter().enumerate() {
        let uuid = value
            .get("uuid")
            .and_then(|u| u.as_str())
            .map(|u| u.chars().take(64).collect());
        // The same System Log shape `GET /api/v1/logs` answers, read by the same type.
        match serde_json::from_value::<LogEvent>(value) {
            Ok(event) => events.push(OktaLogEvent::from(event)),
            Err(e) => malformed.push(MalformedEvent {
                position,
                uuid,
                reason: reason_without_values(&e),
            }),
        }
    }
    Ok(HookDelivery {
        delivery_id: envelope.event_id.chars().take(128).collect(),
        events,
        malformed,
    })
}

/// serde's messages can quote the offending value (a name, an email): keep only what names the field.
fn reason_without_values(error: &serde_json::Error) -> String {
    let message = error.to_string();
    if message.starts_with("missing field") {
        message
    } else {
        "a field has the wrong type or value".to_owned()
    }
}
