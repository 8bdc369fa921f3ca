//! The Okta event hook target, behind a Lambda function URL.
//!
//! GET  with `x-okta-verification-challenge` → `{"verification": "<value>"}` (one-time verification).
//! POST an event hook delivery → one delayed verification job per deprovision on the queue → 200.
//! Both need the shared secret in the configured header (compared in constant time). Okta waits 3 s, retries
//! once on 5xx and never on 4xx, so: 401 wrong secret, 400 malformed, 413 too large, 405 wrong method, and 503
//! when the queue did not take every job (Okta's retry then gets a second chance; job keys are stable).

use chrono::{DateTime, Duration, Utc};
use lambda_http::http::{HeaderValue, Method, StatusCode, header};
use lambda_http::{Body, Request, Response};
use secrecy::{ExposeSecret, SecretString};
use serde_json::json;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::config::OktaHookSettings;
use crate::domain::deprovision::select_jobs;
use crate::domain::{JobSource, OktaAppId};
use crate::okta::event_hook::parse_delivery;
use crate::ports::JobQueue;

/// Okta's deliveries are small; anything larger than this is refused with 413 before parsing.
pub const MAX_BODY_BYTES: usize = 1024 * 1024;

pub const VERIFICATION_HEADER: &str = "x-okta-verification-challenge";

#[derive(Debug)]
pub struct HookConfig {
    /// Lower-case name of the header carrying the shared secret.
    pub auth_header: String,
    pub secret: SecretString,
    pub propagation_window: Duration,
    pub aws_app_id: Option<OktaAppId>,
}

impl HookConfig {
    pub fn new(settings: &OktaHookSettings, secret: SecretString) -> Self {
        Self {
            auth_header: settings.auth_header.clone(),
            secret,
            propagation_window: settings.propagation_window,
            aws_app_id: settings.aws_app_id.clone(),
        }
    }

    /// Compares digests in constant time, so neither the content nor the length of the secret leaks by timing.
    /// The secret may hold several values, one per line, each accepted: rotation without a window of 401s (add the
    /// new value, switch Okta to it, then drop the old one).
    fn accepts(&self, presented: Option<&HeaderValue>) -> bool {
        let Some(presented) = presented else { return false };
        let presented = Sha256::digest(presented.as_bytes());
        let mut accepted = subtle::Choice::from(0);
        for value in self
            .secret
            .expose_secret()
            .lines()
            .map(str::trim)
            .filter(|v| !v.is_empty())
        {
            accepted |= presented.ct_eq(&Sha256::digest(value.as_bytes()));
        }
        accepted.into()
    }
}

/// Answers one request. Never fails: every problem becomes a status code and a short JSON error.
pub async fn handle(
    queue: &impl JobQueue,
    config: &HookConfig,
    request: Request,
    now: DateTime<Utc>,
) -> Response<Body> {
    let method = request.method().clone();
    if method != Method::GET && method != Method::POST {
        return answer(
            StatusCode::METHOD_NOT_ALLOWED,
            json!({"error": "use GET (verification) or POST (events)"}),
        );
    }
    if !config.accepts(request.headers().get(config.auth_header.as_str())) {
        tracing::warn!(method = %method, "okta hook request refused: missing or wrong shared secret");
        return answer(StatusCode::UNAUTHORIZED, json!({"error": "unauthorized"}));
    }
    if method == Method::GET {
        return verification(&request);
    }
    let body = request.body().as_ref();
    if body.len() > MAX_BODY_BYTES {
        tracing::warn!(bytes = body.len(), "okta hook delivery refused: body too large");
        return answer(
            StatusCode::PAYLOAD_TOO_LARGE,
            json!({"error": "body larger than 1 MiB"}),
        );
    }
    deliver(queue, config, body, now).await
}

fn verification(request: &Request) -> Response<Body> {
    match request.headers().get(VERIFICATION_HEADER).map(|v| v.to_str()) {
        Some(Ok(challenge)) if !challenge.is_empty() && challenge.len() <= 1024 => {
            tracing::info!("okta hook verification answered");
            answer(StatusCode::OK, json!({ "verification": challenge }))
        }
        _ => answer(
            StatusCode::BAD_REQUEST,
            json!({"error": "GET needs the x-okta-verification-challenge header"}),
        ),
    }
}

async fn deliver(queue: &impl JobQueue, config: &HookConfig, body: &[u8], now: DateTime<Utc>) -> Response<Body> {
    let delivery = match parse_delivery(body) {
        Ok(delivery) => delivery,
        Err(e) => {
            tracing::warn!(error = %e, "okta hook delivery refused: malformed");
            return answer(
                StatusCode::BAD_REQUEST,
                json!({"error": "malformed event hook delivery"}),
            );
        }
    };
    for bad in &delivery.malformed {
        tracing::warn!(
            delivery_id = %delivery.delivery_id,
            position = bad.position,
            event_uuid = bad.uuid.as_deref().unwrap_or("-"),
            reason = %bad.reason,
            "okta event skipped: malformed (the System Log sweep will find it if it mattered)"
        );
    }
    let selection = select_jobs(
        &delivery.events,
        config.aws_app_id.as_ref(),
        config.propagation_window,
        JobSource::EventHook,
    );
    for unusable in &selection.unusable {
        tracing::warn!(
            delivery_id = %delivery.delivery_id,
            event_uuid = %unusable.okta_event_id,
            event_type = %unusable.event_type,
            reason = unusable.reason,
            "deprovisioning event without a usable user"
        );
    }
    let scheduled = selection.scheduled(now);
    if !scheduled.is_empty()
        && let Err(e) = queue.enqueue(&scheduled).await
    {
        tracing::error!(delivery_id = %delivery.delivery_id, jobs = scheduled.len(), error = %e.causes(), error_kind = e.kind(), "verification jobs not queued; asking Okta to retry");
        return answer(
            StatusCode::SERVICE_UNAVAILABLE,
            json!({"error": "could not queue the verification jobs"}),
        );
    }
    for job in &selection.jobs {
        tracing::info!(delivery_id = %delivery.delivery_id, event_uuid = %job.okta_event_id,
            okta_user_id = %job.okta_user_id, kind = ?job.kind, "verification job queued");
    }
    tracing::info!(
        delivery_id = %delivery.delivery_id,
        events = delivery.events.len() + delivery.malformed.len(),
        queued = selection.jobs.len(),
        ignored = selection.irrelevant,
        malformed = delivery.malformed.len() + selection.unusable.len(),
        "okta hook delivery accepted"
    );
    answer(
        StatusCode::OK,
        json!({
            "queued": selection.jobs.len(),
            "ignored": selection.irrelevant,
            "malformed": delivery.malformed.len() + selection.unusable.len(),
        }),
    )
}

fn answer(status: StatusCode, body: serde_json::Value) -> Response<Body> {
    let mut response = Response::new(Body::Text(body.to_string()));
    *response.status_mut() = status;
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    if status == StatusCode::METHOD_NOT_ALLOWED {
        response
            .headers_mut()
            .insert(header::ALLOW, HeaderValue::from_static("GET, POST"));
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::DeprovisionKind;
    use crate::in_memory::RecordingJobQueue;

    macro_rules! fixture {
        ($name:literal) => {
            lambda_http::request::from_str(include_str!(concat!("../../../events/okta-hook/", $name)))
                .expect("fixture is a function URL event")
        };
    }

    fn config() -> HookConfig {
        HookConfig {
            auth_header: "authorization".into(),
            secret: SecretString::from("test-hook-secret-not-for-production"),
            propagation_window: Duration::seconds(900),
            aws_app_id: Some(OktaAppId::parse("0oa1awsidc00000001").unwrap()),
        }
    }

    fn now() -> DateTime<Utc> {
        "2026-11-20T09:12:50Z".parse().unwrap()
    }

    fn body(response: &Response<Body>) -> serde_json::Value {
        serde_json::from_slice(response.body().as_ref()).unwrap()
    }

    #[tokio::test]
    async fn answers_the_verification_challenge() {
        let queue = RecordingJobQueue::default();
        let response = handle(&queue, &config(), fixture!("verification.json"), now()).await;
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(
            body(&response),
            json!({"verification": "Me_rShK8JHsTnbyYrWXCEoMGbM_zsZ6k0hLPZ_Pg"})
        );
    }

    #[tokio::test]
    async fn a_deactivation_becomes_one_job_delayed_to_the_end_of_the_window() {
        let queue = RecordingJobQueue::default();
        let response = handle(&queue, &config(), fixture!("user-deactivated.json"), now()).await;
        assert_eq!(response.status(), StatusCode::OK);
        let scheduled = queue.jobs();
        assert_eq!(scheduled.len(), 1);
        let job = scheduled[0].job.verification().expect("a verification job");
        assert_eq!(job.kind, DeprovisionKind::Deactivated);
        assert_eq!(job.okta_user_id.as_str(), "00u3m90rxKjGQ0G6L1d6");
        assert_eq!(job.login.as_deref(), Some("john.doe@acme.example"));
        // Published 09:12:44.862, window 15 min, now 09:12:50 → 894 s left.
        assert_eq!(scheduled[0].delay_seconds, 894);
    }

    #[tokio::test]
    async fn base64_bodies_are_read_like_text_ones() {
        let queue = RecordingJobQueue::default();
        let response = handle(&queue, &config(), fixture!("user-deactivated-base64.json"), now()).await;
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(queue.jobs().len(), 1);
    }

    #[tokio::test]
    async fn a_mixed_batch_queues_only_deprovisions_and_counts_the_rest() {
        let queue = RecordingJobQueue::default();
        let response = handle(&queue, &config(), fixture!("mixed-batch.json"), now()).await;
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(body(&response), json!({"queued": 3, "ignored": 5, "malformed": 2}));
        let kinds: Vec<_> = queue
            .jobs()
            .iter()
            .filter_map(|j| j.job.verification().map(|job| job.kind))
            .collect();
        assert_eq!(
            kinds,
            [
                DeprovisionKind::Deactivated,
                DeprovisionKind::PushFailed,
                DeprovisionKind::AppUnassigned
            ]
        );
    }

    #[tokio::test]
    async fn a_wrong_or_missing_secret_is_refused_and_queues_nothing() {
        for request in [fixture!("wrong-secret.json"), fixture!("missing-secret.json")] {
            let queue = RecordingJobQueue::default();
            let response = handle(&queue, &config(), request, now()).await;
            assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
            assert!(queue.jobs().is_empty());
        }
    }

    #[tokio::test]
    async fn the_verification_get_needs_the_secret_too() {
        let mut request: Request = fixture!("verification.json");
        request.headers_mut().remove("authorization");
        let response = handle(&RecordingJobQueue::default(), &config(), request, now()).await;
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    }

    #[tokio::test]
    async fn a_secret_being_rotated_accepts_the_old_and_the_new_value_and_nothing_else() {
        let mut config = config();
        config.secret = SecretString::from("brand-new-secret\ntest-hook-secret-not-for-production\n");
        let queue = RecordingJobQueue::default();
        let response = handle(&queue, &config, fixture!("user-deactivated.json"), now()).await;
        assert_eq!(response.status(), StatusCode::OK, "the old value still works");
        let mut request: Request = fixture!("user-deactivated.json");
        request
            .headers_mut()
            .insert("authorization", HeaderValue::from_static("brand-new-secret"));
        assert_eq!(
            handle(&queue, &config, request, now()).await.status(),
            StatusCode::OK,
            "the new value works"
        );
        for wrong in ["", "brand-new-secret\ntest-hook-secret-not-for-production", "brand"] {
            let mut request: Request = fixture!("user-deactivated.json");
            request.headers_mut().insert(
                "authorization",
                HeaderValue::from_str(&wrong.replace('\n', " ")).unwrap(),
            );
            assert_eq!(
                handle(&queue, &config, request, now()).await.status(),
                StatusCode::UNAUTHORIZED,
                "{wrong:?}"
            );
        }
    }

    #[tokio::test]
    async fn the_secret_header_name_is_configurable() {
        let mut config = config();
        config.auth_header = "x-deprov-secret".into();
        let mut request: Request = fixture!("user-deactivated.json");
        let secret = request.headers_mut().remove("authorization").unwrap();
        request.headers_mut().insert("X-Deprov-Secret", secret);
        let response = handle(&RecordingJobQueue::default(), &config, request, now()).await;
        assert_eq!(response.status(), StatusCode::OK);
    }

    #[tokio::test]
    async fn malformed_bodies_get_400_and_wrong_methods_405() {
        let queue = RecordingJobQueue::default();
        for request in [fixture!("malformed-json.json"), fixture!("not-an-event-hook.json")] {
            let response = handle(&queue, &config(), request, now()).await;
            assert_eq!(response.status(), StatusCode::BAD_REQUEST);
            assert!(body(&response)["error"].is_string());
        }
        let response = handle(&queue, &config(), fixture!("wrong-method.json"), now()).await;
        assert_eq!(response.status(), StatusCode::METHOD_NOT_ALLOWED);
        assert_eq!(response.headers()[header::ALLOW], "GET, POST");
        assert!(queue.jobs().is_empty());
    }

    #[tokio::test]
    async fn a_body_over_one_mebibyte_gets_413() {
        let mut request: Request = fixture!("user-deactivated.json");
        *request.body_mut() = Body::Text(" ".repeat(MAX_BODY_BYTES + 1));
        let queue = RecordingJobQueue::default();
        let response = handle(&queue, &config(), request, now()).await;
        assert_eq!(response.status(), StatusCode::PAYLOAD_TOO_LARGE);
    }

    #[tokio::test]
    async fn a_queue_failure_answers_503_so_okta_retries() {
        let queue = RecordingJobQueue::default();
        queue.refuse(true);
        let response = handle(&queue, &config(), fixture!("user-deactivated.json"), now()).await;
        assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
    }

    #[tokio::test]
    async fn a_retried_delivery_gives_the_same_job_keys() {
        let queue = RecordingJobQueue::default();
        handle(&queue, &config(), fixture!("user-deactivated.json"), now()).await;
        handle(
            &queue,
            &config(),
            fixture!("user-deactivated.json"),
            now() + Duration::seconds(4),
        )
        .await;
        let keys: Vec<_> = queue.jobs().iter().map(|j| j.job.key()).collect();
        assert_eq!(keys.len(), 2);
        assert_eq!(keys[0], keys[1]);
    }
}
