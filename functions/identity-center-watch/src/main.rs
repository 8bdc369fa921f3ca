#![forbid(unsafe_code)]

use lambda_runtime::{Error, LambdaEvent, service_fn};
use shared::config::ProcessEnv;
use shared::handlers::identity_center_watch::{IdentityCenterWatch, IdentityCenterWatchSettings};

#[tokio::main]
async fn main() -> Result<(), Error> {
    lambda_runtime::tracing::init_default_subscriber();
    let settings = IdentityCenterWatchSettings::from_env(&ProcessEnv)?;
    let sdk = shared::aws::load_sdk_config().await;
    let watch = &IdentityCenterWatch::connect(&settings, &sdk).await?;
    lambda_runtime::run(service_fn(|event: LambdaEvent<serde_json::Value>| async move {
        watch
            .handle_trigger(event.payload, chrono::Utc::now())
            .await
            .map_err(lambda_runtime::Diagnostic::from)
    }))
    .await
}
