#![forbid(unsafe_code)]

use lambda_runtime::{Error, LambdaEvent, service_fn};
use shared::config::ProcessEnv;
use shared::handlers::access_review::{AccessReviewSettings, ProductionPorts, kind_of};

#[tokio::main]
async fn main() -> Result<(), Error> {
    lambda_runtime::tracing::init_default_subscriber();
    let settings = &AccessReviewSettings::from_env(&ProcessEnv)?;
    let sdk = shared::aws::load_sdk_config().await;
    let ports = &ProductionPorts::connect(settings, &sdk).await?;
    lambda_runtime::run(service_fn(|event: LambdaEvent<serde_json::Value>| async move {
        // The schedule's input: {"kind": "quarterly"} or {"kind": "daily"}.
        let kind = kind_of(&event.payload).map_err(lambda_runtime::Diagnostic::from)?;
        ports
            .handle(&settings.config, kind, chrono::Utc::now())
            .await
            .map(|report| {
                serde_json::json!({
                    "run_id": report.run_id,
                    "findings": report.findings.len(),
                    "access_rows": report.access.len(),
                    "findings_new": report.diff.findings_new.len(),
                    "findings_resolved": report.diff.findings_resolved.len(),
                })
            })
            .map_err(lambda_runtime::Diagnostic::from) // errorType: the cause's stable name (Error::kind)
    }))
    .await
}
