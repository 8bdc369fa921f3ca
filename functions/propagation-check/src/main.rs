#![forbid(unsafe_code)]

use lambda_runtime::{Error, LambdaEvent, service_fn};
use shared::config::ProcessEnv;
use shared::handlers::propagation_check::{CheckPorts, PropagationCheckSettings};

#[tokio::main]
async fn main() -> Result<(), Error> {
    lambda_runtime::tracing::init_default_subscriber();
    let settings = &PropagationCheckSettings::from_env(&ProcessEnv)?;
    let sdk = shared::aws::load_sdk_config().await;
    let ports = &CheckPorts::connect(settings, &sdk).await?;
    lambda_runtime::run(service_fn(|event: LambdaEvent<serde_json::Value>| async move {
        let left = event
            .context
            .deadline()
            .duration_since(std::time::SystemTime::now())
            .unwrap_or_default();
        let deadline = tokio::time::Instant::now() + left;
        ports
            .handle_trigger(&settings.check, event.payload, chrono::Utc::now(), deadline)
            .await
            .map_err(lambda_runtime::Diagnostic::from) // errorType: the cause's stable name (Error::kind)
    }))
    .await
}
