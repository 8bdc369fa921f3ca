//! The AWS side of the rate limits: an SDK HTTP client that sends each request through its family's gate
//! (`rate_limit::Gate`). Every request the SDK sends — each page, each retry attempt — passes it once, so the
//! standard retry mode and the limiter compose without either knowing of the other.

use aws_config::SdkConfig;
use aws_config::stalled_stream_protection::StalledStreamProtectionConfig;
use aws_smithy_http_client::tls;
use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::http::{
    HttpClient, HttpConnector, HttpConnectorFuture, HttpConnectorSettings, SharedHttpClient, SharedHttpConnector,
};
use aws_smithy_runtime_api::client::orchestrator::HttpRequest;
use aws_smithy_runtime_api::client::runtime_components::{RuntimeComponents, RuntimeComponentsBuilder};
use aws_smithy_types::config_bag::ConfigBag;

use crate::rate_limit::{ApiFamily, Gates};

/// An `SdkConfig` whose HTTP client passes every request through `family`'s gate: build one family's SDK clients
/// from it. The HTTP client `config` already has (a test's counting client, say) is kept underneath.
///
/// Upload stall protection is off for these clients: a request waiting at its gate has not started sending its
/// body, which the SDK's upload monitor reads as a stalled upload (0 B/s) and fails after its 5 s grace. The
/// requests are small JSON bodies; download stall protection (an answer that stops coming) stays on.
pub fn gated_config(config: &SdkConfig, gates: &Gates, family: ApiFamily) -> SdkConfig {
    let inner = config.http_client().unwrap_or_else(default_http_client);
    config
        .clone()
        .into_builder()
        .stalled_stream_protection(
            StalledStreamProtectionConfig::enabled()
                .upload_enabled(false)
                .download_enabled(true)
                .build(),
        )
        .http_client(GatedHttpClient {
            inner,
            gates: gates.clone(),
            family,
        })
        .build()
}

/// The client the SDK would pick itself (hyper with rustls on aws-lc).
fn default_http_client() -> SharedHttpClient {
    aws_smithy_http_client::Builder::new()
        .tls_provider(tls::Provider::Rustls(tls::rustls_provider::CryptoMode::AwsLc))
        .build_https()
}

#[derive(Debug, Clone)]
struct GatedHttpClient {
    inner: SharedHttpClient,
    gates: Gates,
    family: ApiFamily,
}

impl HttpClient for GatedHttpClient {
    fn http_connector(&self, settings: &HttpConnectorSettings, components: &RuntimeComponents) -> SharedHttpConnector {
        SharedHttpConnector::new(GatedConnector {
            inner: self.inner.http_connector(settings, components),
            gates: self.gates.clone(),
            family: self.family,
        })
    }

    fn validate_base_client_config(
        &self,
        components: &RuntimeComponentsBuilder,
        config: &ConfigBag,
    ) -> Result<(), BoxError> {
        self.inner.validate_base_client_config(components, config)
    }

    fn validate_final_config(&self, components: &RuntimeComponents, config: &ConfigBag) -> Result<(), BoxError> {
        self.inner.validate_final_config(components, config)
    }
}

#[derive(Debug)]
struct GatedConnector {
    inner: SharedHttpConnector,
    gates: Gates,
    family: ApiFamily,
}

impl HttpConnector for GatedConnector {
    fn call(&self, request: HttpRequest) -> HttpConnectorFuture {
        let inner = self.inner.clone();
        let gates = self.gates.clone();
        let family = self.family;
        HttpConnectorFuture::new(async move {
            let _pass = gates.of(family).enter().await;
            inner.call(request).await
        })
    }
}
