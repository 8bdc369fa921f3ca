#![forbid(unsafe_code)]

use lambda_runtime::{Error, LambdaEvent, service_fn};
use shared::config::ProcessEnv;
use shared::handlers::access_review::{AccessReviewSettings, ProductionPorts, ReviewInvocation};

#[tokio::main]
async fn main() -> Result<(), Error> {
    lambda_runtime::tracing::init_default_subscriber();
    let settings = &AccessReviewSettings::from_env(&ProcessEnv)?;
    let sdk = shared::aws::load_sdk_config().await;
    // One gate per API family for every client, for the life of the process (calls are counted per invocation).
    let gates = &settings.rate_limits.gates();
    let ports = &ProductionPorts::connect(settings, &sdk, gates).await?;
    lambda_runtime::run(service_fn(|event: LambdaEvent<serde_json::Value>| async move {
        // The schedule's {"kind": "quarterly"|"daily"}, or a state machine step {"mode": "plan"|"shard"|"merge", …}.
        let invocation = ReviewInvocation::parse(&event.payload).map_err(lambda_runtime::Diagnostic::from)?;
        ports
            .serve(
                &settings.config,
                &invocation,
                settings.shard_budget(),
                Some(gates),
                chrono::Utc::now(),
            )
            .await
            .map_err(lambda_runtime::Diagnostic::from) // errorType: the cause's stable name (Error::kind)
    }))
    .await
}
