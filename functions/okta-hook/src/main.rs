#![forbid(unsafe_code)]

use lambda_runtime::{Error, LambdaEvent, service_fn};
use shared::aws::SqsJobQueue;
use shared::config::ProcessEnv;
use shared::handlers::okta_hook::{self, OktaHook, OktaHookSettings};
use shared::hook_secret::SourcedSecret;
use shared::metrics::StdoutMetrics;

#[tokio::main]
async fn main() -> Result<(), Error> {
    lambda_runtime::tracing::init_default_subscriber();
    let settings = OktaHookSettings::from_env(&ProcessEnv)?;
    let sdk = shared::aws::load_sdk_config().await;
    let queue = SqsJobQueue::new(&sdk, settings.queue_url.clone());
    let hook = OktaHook::from_settings(&settings, SourcedSecret::new(&settings.secret, &sdk), StdoutMetrics);
    // A secret unreadable now is logged and read again on a later request; until then the hook answers 503.
    hook.secret.load(chrono::Utc::now()).await;
    // The function URL event is decoded by the hook (aws::function_url): a hostile one is a 400, not a panic.
    lambda_runtime::run(service_fn(|event: LambdaEvent<serde_json::Value>| async {
        Ok::<_, Error>(okta_hook::handle_event(&queue, &hook, event.payload, chrono::Utc::now()).await)
    }))
    .await
}
