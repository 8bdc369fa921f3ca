//! Okta: the management API client (the `Directory` adapter) and event hook deliveries.

pub mod event_hook;

/// Everything that can go wrong talking to Okta.
#[derive(Debug, thiserror::Error)]
pub enum OktaError {
    #[error("Okta request to {path} could not be sent")]
    Transport {
        path: String,
        #[source]
        source: reqwest::Error,
    },
}
