//! Counts the AWS API calls made through one `SdkConfig`, by operation, at the HTTP layer: every request the
//! SDK sends (each page, each retry) passes the counting connector once. The operation is read from the request
//! as the protocols name it: the `X-Amz-Target` header (JSON protocols) or the `Action` form field (query protocol).

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use aws_smithy_http_client::tls;
use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::http::{
    HttpClient, HttpConnector, HttpConnectorFuture, HttpConnectorSettings, SharedHttpClient, SharedHttpConnector,
};
use aws_smithy_runtime_api::client::orchestrator::HttpRequest;
use aws_smithy_runtime_api::client::runtime_components::{RuntimeComponents, RuntimeComponentsBuilder};
use aws_smithy_types::config_bag::ConfigBag;

type Counts = Arc<Mutex<BTreeMap<String, usize>>>;
type Sent = Arc<Mutex<Vec<SentCall>>>;

/// One request as it left: its operation, the access key and Region of its credential scope (SigV4
/// `Credential=<key>/<date>/<region>/<service>/aws4_request`), and when.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SentCall {
    pub operation: String,
    pub access_key_id: String,
    pub region: String,
    pub at: std::time::Instant,
}

/// How many calls of each operation, at one moment.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SdkCalls(BTreeMap<String, usize>);

impl SdkCalls {
    /// Calls of one operation, e.g. `ListAccountAssignments`.
    pub fn of(&self, operation: &str) -> usize {
        self.0.get(operation).copied().unwrap_or(0)
    }

    pub fn total(&self) -> usize {
        self.0.values().sum()
    }

    /// Every operation called, with its count.
    pub fn by_operation(&self) -> &BTreeMap<String, usize> {
        &self.0
    }

    /// The calls made after `earlier` was taken.
    pub fn since(&self, earlier: &SdkCalls) -> SdkCalls {
        SdkCalls(
            self.0
                .iter()
                .map(|(operation, count)| (operation.clone(), count - earlier.of(operation)))
                .filter(|(_, count)| *count > 0)
                .collect(),
        )
    }
}

/// An HTTP client that counts the requests it passes on to another.
#[derive(Debug, Clone)]
pub struct CountingHttpClient {
    inner: SharedHttpClient,
    counts: Counts,
    sent: Sent,
}

/// Wraps the client the SDK uses by default (hyper 1.x with rustls on aws-lc).
impl Default for CountingHttpClient {
    fn default() -> Self {
        let inner = aws_smithy_http_client::Builder::new()
            .tls_provider(tls::Provider::Rustls(tls::rustls_provider::CryptoMode::AwsLc))
            .build_https();
        Self {
            inner,
            counts: Counts::default(),
            sent: Sent::default(),
        }
    }
}

impl CountingHttpClient {
    /// Every request sent so far, in the order sent.
    pub fn sent(&self) -> Vec<SentCall> {
        self.sent
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .clone()
    }

    pub fn calls(&self) -> SdkCalls {
        SdkCalls(
            self.counts
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner())
                .clone(),
        )
    }
}

impl HttpClient for CountingHttpClient {
    fn http_connector(&self, settings: &HttpConnectorSettings, components: &RuntimeComponents) -> SharedHttpConnector {
        SharedHttpConnector::new(CountingConnector {
            inner: self.inner.http_connector(settings, components),
            counts: self.counts.clone(),
            sent: self.sent.clone(),
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
struct CountingConnector {
    inner: SharedHttpConnector,
    counts: Counts,
    sent: Sent,
}

impl HttpConnector for CountingConnector {
    fn call(&self, request: HttpRequest) -> HttpConnectorFuture {
        let operation = operation(&request);
        *self
            .counts
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .entry(operation.clone())
            .or_default() += 1;
        let scope = request
            .headers()
            .get("authorization")
            .and_then(|value| value.split_once("Credential="))
            .map(|(_, rest)| rest.split(['/', ',']).map(str::to_owned).collect::<Vec<_>>())
            .unwrap_or_default();
        self.sent
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .push(SentCall {
                operation,
                access_key_id: scope.first().cloned().unwrap_or_default(),
                region: scope.get(2).cloned().unwrap_or_default(),
                at: std::time::Instant::now(),
            });
        self.inner.call(request)
    }
}

/// `AWSIdentityStore.ListUsers` → `ListUsers`; a query-protocol body `Action=PublishBatch&…` → `PublishBatch`.
fn operation(request: &HttpRequest) -> String {
    if let Some(target) = request.headers().get("x-amz-target") {
        return target.rsplit('.').next().unwrap_or(target).to_owned();
    }
    let body = request.body().bytes().map(String::from_utf8_lossy).unwrap_or_default();
    body.split('&')
        .find_map(|pair| pair.strip_prefix("Action="))
        .unwrap_or("unknown")
        .to_owned()
}
