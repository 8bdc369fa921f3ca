use lambda_http::{Error, Request, service_fn};
use shared::aws::SqsJobQueue;
use shared::config::{OktaHookSettings, ProcessEnv};
use shared::handlers::okta_hook::{self, HookConfig};

#[tokio::main]
async fn main() -> Result<(), Error> {
    lambda_http::tracing::init_default_subscriber();
    let settings = OktaHookSettings::from_env(&ProcessEnv)?;
    let sdk = shared::aws::load_sdk_config().await;
    let secret = settings.secret.resolve(&sdk).await?;
    let queue = SqsJobQueue::new(&sdk, settings.queue_url.clone());
    let config = HookConfig::new(&settings, secret);
    lambda_http::run(service_fn(|request: Request| async {
        Ok::<_, Error>(okta_hook::handle(&queue, &config, request, chrono::Utc::now()).await)
    }))
    .await
}
