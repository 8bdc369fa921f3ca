use lambda_runtime::{Error, LambdaEvent, service_fn};
use shared::config::{ProcessEnv, PropagationCheckSettings};
use shared::handlers::propagation_check::CheckPorts;

#[tokio::main]
async fn main() -> Result<(), Error> {
    lambda_runtime::tracing::init_default_subscriber();
    let settings = PropagationCheckSettings::from_env(&ProcessEnv)?;
    let sdk = shared::aws::load_sdk_config().await;
    let ports = CheckPorts::connect(&settings, &sdk).await?;
    lambda_runtime::run(service_fn(|event: LambdaEvent<serde_json::Value>| async {
        ports
            .handle_trigger(&settings.check, event.payload, chrono::Utc::now())
            .await
            .map_err(lambda_runtime::Diagnostic::from) // errorType: the cause's stable name (Error::kind)
    }))
    .await
}
