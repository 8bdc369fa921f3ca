#![forbid(unsafe_code)]

use lambda_runtime::{Error, LambdaEvent, service_fn};
use shared::config::ProcessEnv;
use shared::handlers::cert_monitor::{CertMonitorPorts, CertMonitorSettings};

#[tokio::main]
async fn main() -> Result<(), Error> {
    lambda_runtime::tracing::init_default_subscriber();
    let settings = &CertMonitorSettings::from_env(&ProcessEnv)?;
    let sdk = shared::aws::load_sdk_config().await;
    let ports = &CertMonitorPorts::connect(settings, &sdk).await?;
    lambda_runtime::run(service_fn(|_event: LambdaEvent<serde_json::Value>| async move {
        ports
            .handle(&settings.config, chrono::Utc::now())
            .await
            .map(|report| serde_json::json!({ "findings": report.findings.len() }))
            .map_err(lambda_runtime::Diagnostic::from) // errorType: the cause's stable name (Error::kind)
    }))
    .await
}
