#![forbid(unsafe_code)]

use lambda_http::{Error, Request, service_fn};
use shared::aws::SqsJobQueue;
use shared::config::ProcessEnv;
use shared::handlers::okta_hook::{self, OktaHook, OktaHookSettings};
use shared::hook_secret::SourcedSecret;
use shared::metrics::StdoutMetrics;

#[tokio::main]
async fn main() -> Result<(), Error> {
    lambda_http::tracing::init_default_subscriber();
    let settings = OktaHookSettings::from_env(&ProcessEnv)?;
    let sdk = shared::aws::load_sdk_config().await;
    let queue = SqsJobQueue::new(&sdk, settings.queue_url.clone());
    let hook = OktaHook::from_settings(&settings, SourcedSecret::new(&settings.secret, &sdk), StdoutMetrics);
    // A secret unreadable now is logged and read again on a later request; until then the hook answers 503.
    hook.secret.load(chrono::Utc::now()).await;
    lambda_http::run(service_fn(|request: Request| async {
        Ok::<_, Error>(okta_hook::handle(&queue, &hook, request, chrono::Utc::now()).await)
    }))
    .await
}
