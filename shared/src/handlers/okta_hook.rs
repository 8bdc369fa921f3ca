//! The Okta event hook target, behind a Lambda function URL.
//!
//! GET  with `x-okta-verification-challenge` → `{"verification": "<value>"}` (one-time verification).
//! POST an event hook delivery → one delayed verification job per deprovision on the queue → 200.
//! Both need the shared secret in the configured header (compared in constant time, re-read on a TTL so a rotation
//! reaches warm instances: `hook_secret`). Okta waits 3 s, retries once on 5xx and never on 4xx, so: 401 wrong
//! secret, 400 malformed (the delivery, or the function URL event itself: `aws::function_url`), 413 too large, 405 wrong method, and 503 when the queue did not take every job or the
//! secret was never readable (Okta's retry then gets a second chance; job keys are stable).
//!
//! Every answer is counted: one `HookAnswers` EMF line per request, by status (`metrics::hook_answer`). Refusals
//! are logged at most once per reason per minute per instance, with the number left unlogged since.

use std::sync::Mutex;

use chrono::{DateTime, Duration, Utc};
use lambda_http::http::{HeaderValue, Method, StatusCode, header};
use lambda_http::{Body, Request, Response};
use serde_json::json;

use crate::aws::function_url;
use crate::config::{Env, SecretSource, optional, required, seconds};
use crate::domain::deprovision::select_jobs;
use crate::domain::{JobSource, OktaAppId};
use crate::error::{Error, Result};
use crate::hook_secret::{DEFAULT_TTL_SECONDS, HookSecret, SecretCheck, SecretTiming};
use crate::metrics::{MetricSink, hook_answer};
use crate::okta::event_hook::parse_delivery;
use crate::ports::{JobQueue, SecretStore};

/// Okta's deliveries are small; anything larger than this is refused with 413 before parsing.
pub const MAX_BODY_BYTES: usize = 1024 * 1024;

pub const VERIFICATION_HEADER: &str = "x-okta-verification-challenge";

/// At most one WARN line per refusal reason in this long, per instance.
const REFUSAL_LOG_INTERVAL_SECONDS: i64 = 60;

/// `okta-hook`'s settings, from the environment.
#[derive(Debug)]
pub struct OktaHookSettings {
    pub queue_url: String,
    pub secret: SecretSource,
    /// How long a read secret is used before it is read again (`OKTA_HOOK_SECRET_TTL_SECONDS`).
    pub secret_ttl: Duration,
    /// Lower-case header name Okta sends the secret in.
    pub auth_header: String,
    pub propagation_window: Duration,
    /// When set, app events about other apps are ignored.
    pub aws_app_id: Option<OktaAppId>,
}

impl OktaHookSettings {
    pub fn from_env(env: &impl Env) -> Result<Self> {
        let auth_header = optional(env, "OKTA_HOOK_AUTH_HEADER").unwrap_or_else(|| "authorization".into());
        if !auth_header
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        {
            return Err(Error::config("OKTA_HOOK_AUTH_HEADER", "must be an HTTP header name"));
        }
        let aws_app_id = optional(env, "OKTA_APP_ID")
            .map(|id| OktaAppId::parse(id).map_err(|_| Error::config("OKTA_APP_ID", "must be an Okta app id (0oa…)")))
            .transpose()?;
        Ok(Self {
            queue_url: required(env, "VERIFY_QUEUE_URL")?,
            secret: SecretSource::from_env(env, "OKTA_HOOK_SECRET_ARN", "OKTA_HOOK_SECRET")?,
            secret_ttl: seconds(env, "OKTA_HOOK_SECRET_TTL_SECONDS", DEFAULT_TTL_SECONDS, 3600)?,
            auth_header: auth_header.to_ascii_lowercase(),
            propagation_window: seconds(env, "PROPAGATION_WINDOW_SECONDS", 900, 86_400)?,
            aws_app_id,
        })
    }
}

/// What the hook needs besides its secret.
#[derive(Debug, Clone)]
pub struct HookConfig {
    /// Lower-case name of the header carrying the shared secret.
    pub auth_header: String,
    pub propagation_window: Duration,
    pub aws_app_id: Option<OktaAppId>,
}

impl HookConfig {
    pub fn new(settings: &OktaHookSettings) -> Self {
        Self {
            auth_header: settings.auth_header.clone(),
            propagation_window: settings.propagation_window,
            aws_app_id: settings.aws_app_id.clone(),
        }
    }
}

/// One warm hook instance: its configuration, its secret holder, where its metrics go, and its refusal log.
#[derive(Debug)]
pub struct OktaHook<S, M> {
    pub config: HookConfig,
    pub secret: HookSecret<S>,
    pub metrics: M,
    refusals: RefusalLog,
}

impl<S: SecretStore, M: MetricSink> OktaHook<S, M> {
    pub fn new(config: HookConfig, secret: HookSecret<S>, metrics: M) -> Self {
        Self {
            config,
            secret,
            metrics,
            refusals: RefusalLog::default(),
        }
    }

    /// From the function's settings: the secret from `store`, read again every `secret_ttl`.
    pub fn from_settings(settings: &OktaHookSettings, store: S, metrics: M) -> Self {
        Self::new(
            HookConfig::new(settings),
            HookSecret::new(store, SecretTiming::with_ttl(settings.secret_ttl)),
            metrics,
        )
    }

    /// Logs a refusal unless one like it was logged within the last minute (then only counts it).
    fn refused(&self, refusal: Refusal, now: DateTime<Utc>, detail: &str) {
        if let Some(unlogged) = self.refusals.admit(refusal, now) {
            tracing::warn!(
                status = refusal.status().as_u16(),
                reason = refusal.reason(),
                detail,
                unlogged_since_last = unlogged,
                "okta hook request refused (logged once a minute per reason; the HookAnswers metric counts each)"
            );
        }
    }
}

/// Why a request was refused: one log budget each.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Refusal {
    MethodNotAllowed,
    Unauthorized,
    SecretUnavailable,
    TooLarge,
    Malformed,
}

impl Refusal {
    const ALL: [Refusal; 5] = [
        Refusal::MethodNotAllowed,
        Refusal::Unauthorized,
        Refusal::SecretUnavailable,
        Refusal::TooLarge,
        Refusal::Malformed,
    ];

    fn index(self) -> usize {
        self as usize
    }

    fn status(self) -> StatusCode {
        match self {
            Self::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            Self::Unauthorized => StatusCode::UNAUTHORIZED,
            Self::SecretUnavailable => StatusCode::SERVICE_UNAVAILABLE,
            Self::TooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            Self::Malformed => StatusCode::BAD_REQUEST,
        }
    }

    fn reason(self) -> &'static str {
        match self {
            Self::MethodNotAllowed => "method not allowed",
            Self::Unauthorized => "missing or wrong shared secret",
            Self::SecretUnavailable => "shared secret never read",
            Self::TooLarge => "body too large",
            Self::Malformed => "malformed request",
        }
    }
}

/// Per reason: when a line was last logged, and how many refusals were counted without a line since.
#[derive(Debug, Default)]
struct RefusalLog {
    slots: Mutex<[(Option<DateTime<Utc>>, u64); Refusal::ALL.len()]>,
}

impl RefusalLog {
    /// `Some(unlogged)`: log this one now; `unlogged` refusals of this reason went without a line since the last.
    /// `None`: a line was logged less than a minute ago; this one is only counted.
    fn admit(&self, refusal: Refusal, now: DateTime<Utc>) -> Option<u64> {
        let mut slots = self.slots.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let (logged_at, unlogged) = &mut slots[refusal.index()];
        let due = logged_at.is_none_or(|at| {
            let age = now.signed_duration_since(at);
            age >= Duration::seconds(REFUSAL_LOG_INTERVAL_SECONDS) || age < Duration::zero()
        });
        if due {
            *logged_at = Some(now);
            Some(std::mem::take(unlogged))
        } else {
            *unlogged = unlogged.saturating_add(1);
            None
        }
    }
}

/// Answers one function URL event with the function URL response JSON (`aws::function_url`), and counts the
/// answer. An event that does not decode into a request (a body marked base64 that is not, a bad host, path,
/// query, method or header) is answered 400 like any malformed request: nothing is queued.
pub async fn handle_event<S: SecretStore, M: MetricSink>(
    queue: &impl JobQueue,
    hook: &OktaHook<S, M>,
    event: serde_json::Value,
    now: DateTime<Utc>,
) -> serde_json::Value {
    let response = match function_url::decode_request(event) {
        Ok(request) => respond(queue, hook, &request, now).await,
        Err(e) => {
            hook.refused(Refusal::Malformed, now, &e.to_string());
            answer(
                StatusCode::BAD_REQUEST,
                json!({"error": "malformed function URL request"}),
            )
        }
    };
    hook.metrics.emit(&hook_answer(response.status().as_u16(), now));
    function_url::encode_response(response)
}

/// Answers one request and counts the answer (one `HookAnswers` EMF line). Never fails: every problem becomes a
/// status code and a short JSON error.
pub async fn handle<S: SecretStore, M: MetricSink>(
    queue: &impl JobQueue,
    hook: &OktaHook<S, M>,
    request: Request,
    now: DateTime<Utc>,
) -> Response<Body> {
    let response = respond(queue, hook, &request, now).await;
    hook.metrics.emit(&hook_answer(response.status().as_u16(), now));
    response
}

async fn respond<S: SecretStore, M: MetricSink>(
    queue: &impl JobQueue,
    hook: &OktaHook<S, M>,
    request: &Request,
    now: DateTime<Utc>,
) -> Response<Body> {
    let method = request.method();
    if method != Method::GET && method != Method::POST {
        hook.refused(Refusal::MethodNotAllowed, now, method.as_str());
        return answer(
            StatusCode::METHOD_NOT_ALLOWED,
            json!({"error": "use GET (verification) or POST (events)"}),
        );
    }
    let presented = request
        .headers()
        .get(hook.config.auth_header.as_str())
        .map(HeaderValue::as_bytes);
    match hook.secret.check(presented, now).await {
        SecretCheck::Accepted => {}
        SecretCheck::Refused => {
            hook.refused(Refusal::Unauthorized, now, method.as_str());
            return answer(StatusCode::UNAUTHORIZED, json!({"error": "unauthorized"}));
        }
        SecretCheck::Unavailable => {
            hook.refused(Refusal::SecretUnavailable, now, method.as_str());
            return answer(
                StatusCode::SERVICE_UNAVAILABLE,
                json!({"error": "the shared secret could not be read yet"}),
            );
        }
    }
    if method == Method::GET {
        return verification(hook, request, now);
    }
    let body = request.body().as_ref();
    if body.len() > MAX_BODY_BYTES {
        hook.refused(Refusal::TooLarge, now, &format!("{} bytes", body.len()));
        return answer(
            StatusCode::PAYLOAD_TOO_LARGE,
            json!({"error": "body larger than 1 MiB"}),
        );
    }
    deliver(queue, hook, body, now).await
}

fn verification<S: SecretStore, M: MetricSink>(
    hook: &OktaHook<S, M>,
    request: &Request,
    now: DateTime<Utc>,
) -> Response<Body> {
    match request.headers().get(VERIFICATION_HEADER).map(|v| v.to_str()) {
        Some(Ok(challenge)) if !challenge.is_empty() && challenge.len() <= 1024 => {
            tracing::info!("okta hook verification answered");
            answer(StatusCode::OK, json!({ "verification": challenge }))
        }
        _ => {
            hook.refused(Refusal::Malformed, now, "GET without a usable verification challenge");
            answer(
                StatusCode::BAD_REQUEST,
                json!({"error": "GET needs the x-okta-verification-challenge header"}),
            )
        }
    }
}

async fn deliver<S: SecretStore, M: MetricSink>(
    queue: &impl JobQueue,
    hook: &OktaHook<S, M>,
    body: &[u8],
    now: DateTime<Utc>,
) -> Response<Body> {
    let config = &hook.config;
    let delivery = match parse_delivery(body) {
        Ok(delivery) => delivery,
        Err(e) => {
            hook.refused(Refusal::Malformed, now, &e.to_string());
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
        queued = scheduled.len(),
        ignored = selection.irrelevant,
        malformed = delivery.malformed.len() + selection.unusable.len(),
        "okta hook delivery accepted"
    );
    answer(
        StatusCode::OK,
        json!({
            "queued": scheduled.len(),
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
    use std::collections::HashMap;

    use secrecy::SecretString;

    use super::*;
    use crate::domain::DeprovisionKind;
    use crate::hook_secret::SourcedSecret;
    use crate::in_memory::{RecordingJobQueue, RecordingMetrics};

    macro_rules! fixture {
        ($name:literal) => {
            crate::aws::function_url::decode_request(
                serde_json::from_str(include_str!(concat!("../../../events/okta-hook/", $name))).unwrap(),
            )
            .expect("fixture is a function URL event")
        };
    }

    type TestHook = OktaHook<SourcedSecret, RecordingMetrics>;

    fn hook_with_secret(secret: &str) -> TestHook {
        OktaHook::new(
            HookConfig {
                auth_header: "authorization".into(),
                propagation_window: Duration::seconds(900),
                aws_app_id: Some(OktaAppId::parse("0oa1awsidc00000001").unwrap()),
            },
            HookSecret::new(
                SourcedSecret::Plain(SecretString::from(secret.to_owned())),
                SecretTiming::default(),
            ),
            RecordingMetrics::default(),
        )
    }

    fn config() -> TestHook {
        hook_with_secret("test-hook-secret-not-for-production")
    }

    /// The `Status` of each EMF line the hook produced.
    fn answered(hook: &TestHook) -> Vec<String> {
        hook.metrics
            .lines()
            .iter()
            .map(|line| {
                let line: serde_json::Value = serde_json::from_str(line).unwrap();
                assert_eq!(
                    line["_aws"]["CloudWatchMetrics"][0]["Metrics"][0]["Name"],
                    "HookAnswers"
                );
                assert_eq!(line["HookAnswers"], 1);
                line["Status"].as_str().unwrap().to_owned()
            })
            .collect()
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
    async fn a_group_unassigned_from_the_app_is_queued_at_once_for_the_checker_to_expand() {
        let queue = RecordingJobQueue::default();
        let response = handle(&queue, &config(), fixture!("group-unassigned-from-app.json"), now()).await;
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(body(&response)["queued"], 1);
        let scheduled = queue.jobs();
        assert_eq!(scheduled.len(), 1);
        assert_eq!(scheduled[0].delay_seconds, 0, "its members are read from Okta now");
        let crate::domain::deprovision::QueuedWork::GroupUnassignment(work) = &scheduled[0].job else {
            panic!("a group unassignment: {:?}", scheduled[0].job)
        };
        assert_eq!(work.unassigned_group_id.as_str(), "00g1devs0000000001");
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
        let config = hook_with_secret("brand-new-secret\ntest-hook-secret-not-for-production\n");
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

    const SECRET: &str = "test-hook-secret-not-for-production";

    /// The deactivation fixture as AWS would deliver it with exactly `headers` (name → value), through the same
    /// function URL event decoding the function runs.
    fn delivered_with(headers: &[(&str, &str)]) -> Request {
        let mut event: serde_json::Value =
            serde_json::from_str(include_str!("../../../events/okta-hook/user-deactivated.json")).unwrap();
        event["headers"] = headers
            .iter()
            .map(|(name, value)| ((*name).to_owned(), json!(value)))
            .collect::<serde_json::Map<_, _>>()
            .into();
        crate::aws::function_url::decode_request(event.clone()).unwrap()
    }

    /// Every wrong value of every length up to well past the secret's, plus long ones: a prefix, the secret with
    /// anything after or before it, one byte off at each position, padding, case, a scheme in front, a repeat.
    fn wrong_secrets() -> Vec<String> {
        let mut wrong: Vec<String> = Vec::new();
        for len in 0..=SECRET.len() * 2 + 1 {
            wrong.push("a".repeat(len));
            wrong.push(SECRET.chars().cycle().skip(1).take(len).collect());
            if len < SECRET.len() {
                wrong.push(SECRET[..len].to_owned());
            } else if len > SECRET.len() {
                wrong.push(format!("{SECRET}{}", "x".repeat(len - SECRET.len())));
                wrong.push(format!("{}{SECRET}", "x".repeat(len - SECRET.len())));
            }
        }
        for position in 0..SECRET.len() {
            let mut bytes = SECRET.as_bytes().to_vec();
            bytes[position] ^= 0x01;
            wrong.push(String::from_utf8(bytes).unwrap());
        }
        wrong.extend([
            format!("{SECRET} "),
            format!(" {SECRET}x"),
            format!("\t{SECRET}"),
            SECRET.to_ascii_uppercase(),
            format!("Bearer {SECRET}"),
            format!("SSWS {SECRET}"),
            format!("{SECRET},{SECRET}"),
            format!("wrong,{SECRET}"),
            "x".repeat(1024),
            SECRET.repeat(256),
        ]);
        wrong.retain(|w| w != SECRET);
        wrong
    }

    #[tokio::test]
    async fn wrong_secrets_of_every_length_are_refused_and_queue_nothing() {
        let hook = config();
        let queue = RecordingJobQueue::default();
        let wrong = wrong_secrets();
        assert!(wrong.len() > 200, "{} wrong values", wrong.len());
        for value in &wrong {
            let response = handle(&queue, &hook, delivered_with(&[("authorization", value)]), now()).await;
            assert_eq!(
                response.status(),
                StatusCode::UNAUTHORIZED,
                "{} bytes: {value:?}",
                value.len()
            );
            assert_eq!(
                body(&response),
                json!({"error": "unauthorized"}),
                "says nothing about the value"
            );
        }
        assert!(queue.jobs().is_empty());
        // The same hook still takes the right one: the refusals did not lock it out.
        let response = handle(&queue, &hook, delivered_with(&[("authorization", SECRET)]), now()).await;
        assert_eq!(response.status(), StatusCode::OK);
    }

    #[tokio::test]
    async fn the_secret_header_is_matched_in_every_spelling_of_its_name_and_nowhere_else() {
        let spellings = [
            "authorization",
            "Authorization",
            "AUTHORIZATION",
            "aUtHoRiZaTiOn",
            "authorizatioN",
        ];
        for name in spellings {
            let queue = RecordingJobQueue::default();
            let right = handle(&queue, &config(), delivered_with(&[(name, SECRET)]), now()).await;
            assert_eq!(right.status(), StatusCode::OK, "{name}: the right secret");
            for value in ["wrong", "", &SECRET[1..], &format!("{SECRET}!")] {
                let response = handle(&queue, &config(), delivered_with(&[(name, value)]), now()).await;
                assert_eq!(response.status(), StatusCode::UNAUTHORIZED, "{name}: {value:?}");
            }
            assert_eq!(queue.jobs().len(), 1, "{name}: only the right secret queued");
        }
        // The right value under any other header is no secret at all.
        for name in [
            "x-okta-secret",
            "authorisation",
            "authorization-x",
            "x-authorization",
            "proxy-authorization",
            VERIFICATION_HEADER,
            "cookie",
        ] {
            let queue = RecordingJobQueue::default();
            let response = handle(&queue, &config(), delivered_with(&[(name, SECRET)]), now()).await;
            assert_eq!(response.status(), StatusCode::UNAUTHORIZED, "{name}");
            assert!(queue.jobs().is_empty());
        }
    }

    #[tokio::test]
    async fn a_configured_header_name_is_matched_in_every_spelling_and_authorization_no_longer_counts() {
        let settings = OktaHookSettings::from_env(&env(&[
            ("VERIFY_QUEUE_URL", "q"),
            ("OKTA_HOOK_SECRET", SECRET),
            ("OKTA_HOOK_AUTH_HEADER", "X-Deprov-Secret"),
        ]))
        .unwrap();
        assert_eq!(settings.auth_header, "x-deprov-secret");
        let mut hook = config();
        hook.config.auth_header = settings.auth_header;
        for name in ["x-deprov-secret", "X-Deprov-Secret", "X-DEPROV-SECRET"] {
            let response = handle(
                &RecordingJobQueue::default(),
                &hook,
                delivered_with(&[(name, SECRET)]),
                now(),
            )
            .await;
            assert_eq!(response.status(), StatusCode::OK, "{name}");
            for value in ["", "x", &SECRET[..SECRET.len() - 1]] {
                let response = handle(
                    &RecordingJobQueue::default(),
                    &hook,
                    delivered_with(&[(name, value)]),
                    now(),
                )
                .await;
                assert_eq!(response.status(), StatusCode::UNAUTHORIZED, "{name}: {value:?}");
            }
        }
        let response = handle(
            &RecordingJobQueue::default(),
            &hook,
            delivered_with(&[("authorization", SECRET)]),
            now(),
        )
        .await;
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    }

    #[tokio::test]
    async fn a_base64_body_over_one_mebibyte_once_decoded_gets_413_and_one_at_the_cap_is_read() {
        use base64::Engine;
        let mut event: serde_json::Value =
            serde_json::from_str(include_str!("../../../events/okta-hook/user-deactivated-base64.json")).unwrap();
        let encode = |bytes: &[u8]| base64::engine::general_purpose::STANDARD.encode(bytes);
        let queue = RecordingJobQueue::default();
        event["body"] = json!(encode(&vec![b' '; MAX_BODY_BYTES + 1]));
        let request = crate::aws::function_url::decode_request(event.clone()).unwrap();
        let response = handle(&queue, &config(), request, now()).await;
        assert_eq!(response.status(), StatusCode::PAYLOAD_TOO_LARGE);
        assert_eq!(body(&response), json!({"error": "body larger than 1 MiB"}));
        // At the cap the body is read (and, being only spaces, is not an envelope).
        event["body"] = json!(encode(&vec![b' '; MAX_BODY_BYTES]));
        let request = crate::aws::function_url::decode_request(event.clone()).unwrap();
        assert_eq!(
            handle(&queue, &config(), request, now()).await.status(),
            StatusCode::BAD_REQUEST
        );
        assert!(queue.jobs().is_empty());
    }

    /// The deactivation event with `change` applied, answered through `handle_event` as the function runs it.
    async fn event_answer(change: impl FnOnce(&mut serde_json::Value)) -> (serde_json::Value, TestHook, usize) {
        let mut event: serde_json::Value =
            serde_json::from_str(include_str!("../../../events/okta-hook/user-deactivated.json")).unwrap();
        change(&mut event);
        let queue = RecordingJobQueue::default();
        let hook = config();
        let answer = handle_event(&queue, &hook, event, now()).await;
        let queued = queue.jobs().len();
        (answer, hook, queued)
    }

    #[tokio::test]
    async fn a_well_formed_event_is_answered_as_function_url_response_json() {
        let (answer, hook, queued) = event_answer(|_| {}).await;
        assert_eq!(answer["statusCode"], 200);
        assert_eq!(answer["headers"]["content-type"], "application/json");
        assert_eq!(answer["isBase64Encoded"], false);
        let body: serde_json::Value = serde_json::from_str(answer["body"].as_str().unwrap()).unwrap();
        assert_eq!(body["queued"], 1);
        assert_eq!(queued, 1);
        assert_eq!(answered(&hook), ["200"]);
    }

    /// The four event shapes on which lambda_http 1.3's decoding panicked (README "Fuzzing"), and other fields no
    /// request can hold: each a 400 with the hook's JSON error, counted, nothing queued.
    #[tokio::test]
    async fn events_that_are_no_http_request_get_400_and_queue_nothing() {
        type Change = fn(&mut serde_json::Value);
        let hostile: [(&str, Change); 9] = [
            ("body marked base64 that is not", |e| {
                e["isBase64Encoded"] = json!(true);
                e["body"] = json!("{not base64}");
            }),
            ("host that is not a URI host", |e| e["headers"]["host"] = json!("a b/c")),
            ("domainName that is not a host", |e| {
                e["headers"].as_object_mut().unwrap().remove("host");
                e["requestContext"]["domainName"] = json!("x:y:z");
            }),
            ("path without a leading slash", |e| e["rawPath"] = json!("x:1x")),
            ("query a URI cannot hold", |e| {
                e["rawQueryString"] = json!("a=\"<b>\" c")
            }),
            ("method that is no method", |e| {
                e["requestContext"]["http"]["method"] = json!("PO ST")
            }),
            ("header value with a newline", |e| e["headers"]["x-a"] = json!("1\r\n2")),
            ("header name with a space", |e| e["headers"]["x a"] = json!("1")),
            ("no requestContext", |e| {
                e.as_object_mut().unwrap().remove("requestContext");
            }),
        ];
        for (what, change) in hostile {
            let (answer, hook, queued) = event_answer(change).await;
            assert_eq!(answer["statusCode"], 400, "{what}");
            let body: serde_json::Value = serde_json::from_str(answer["body"].as_str().unwrap()).unwrap();
            assert_eq!(body, json!({"error": "malformed function URL request"}), "{what}");
            assert_eq!(queued, 0, "{what}");
            assert_eq!(answered(&hook), ["400"], "{what}");
        }
    }

    #[tokio::test]
    async fn a_huge_body_without_the_secret_is_refused_before_it_is_read() {
        let mut request = delivered_with(&[("authorization", "wrong")]);
        *request.body_mut() = Body::Text("{".repeat(MAX_BODY_BYTES * 4));
        let response = handle(&RecordingJobQueue::default(), &config(), request, now()).await;
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    }

    #[tokio::test]
    async fn the_secret_header_name_is_configurable() {
        let mut config = config();
        config.config.auth_header = "x-deprov-secret".into();
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

    #[tokio::test]
    async fn every_answer_is_counted_by_status_once() {
        let hook = config();
        let queue = RecordingJobQueue::default();
        handle(&queue, &hook, fixture!("user-deactivated.json"), now()).await;
        handle(&queue, &hook, fixture!("wrong-secret.json"), now()).await;
        handle(&queue, &hook, fixture!("malformed-json.json"), now()).await;
        handle(&queue, &hook, fixture!("wrong-method.json"), now()).await;
        let mut large: Request = fixture!("user-deactivated.json");
        *large.body_mut() = Body::Text(" ".repeat(MAX_BODY_BYTES + 1));
        handle(&queue, &hook, large, now()).await;
        queue.refuse(true);
        handle(&queue, &hook, fixture!("user-deactivated.json"), now()).await;
        assert_eq!(answered(&hook), ["200", "401", "400", "405", "413", "503"]);
    }

    #[tokio::test]
    async fn a_secret_that_was_never_read_answers_503_and_is_counted() {
        let hook = OktaHook::new(
            config().config,
            HookSecret::new(FailingStore, SecretTiming::default()),
            RecordingMetrics::default(),
        );
        let queue = RecordingJobQueue::default();
        let response = handle(&queue, &hook, fixture!("user-deactivated.json"), now()).await;
        assert_eq!(
            response.status(),
            StatusCode::SERVICE_UNAVAILABLE,
            "Okta retries a 5xx, never a 401"
        );
        assert!(queue.jobs().is_empty());
        let line: serde_json::Value = serde_json::from_str(&hook.metrics.lines()[0]).unwrap();
        assert_eq!(line["Status"], "503");
    }

    #[derive(Debug)]
    struct FailingStore;

    impl SecretStore for FailingStore {
        async fn read(&self) -> Result<SecretString> {
            Err(Error::AwsContract {
                service: "secretsmanager",
                operation: "GetSecretValue",
                problem: "AccessDeniedException".into(),
            })
        }
    }

    #[test]
    fn refusals_are_logged_once_a_minute_per_reason_with_the_count_left_unlogged() {
        let log = RefusalLog::default();
        assert_eq!(log.admit(Refusal::Unauthorized, now()), Some(0));
        for second in 1..60 {
            assert_eq!(
                log.admit(Refusal::Unauthorized, now() + Duration::seconds(second)),
                None
            );
        }
        // Another reason has a budget of its own.
        assert_eq!(log.admit(Refusal::Malformed, now() + Duration::seconds(30)), Some(0));
        assert_eq!(
            log.admit(Refusal::Unauthorized, now() + Duration::seconds(60)),
            Some(59)
        );
        assert_eq!(log.admit(Refusal::Unauthorized, now() + Duration::seconds(61)), None);
        assert_eq!(
            log.admit(Refusal::Unauthorized, now() + Duration::seconds(200)),
            Some(1)
        );
    }

    #[test]
    fn refusal_reasons_index_their_own_slot() {
        for (i, refusal) in Refusal::ALL.iter().enumerate() {
            assert_eq!(refusal.index(), i);
        }
    }

    fn env(pairs: &[(&str, &str)]) -> impl Env + use<> {
        let map: HashMap<String, String> = pairs.iter().map(|(k, v)| ((*k).into(), (*v).into())).collect();
        move |name: &str| map.get(name).cloned()
    }

    #[test]
    fn hook_settings_name_the_missing_variable() {
        let err = OktaHookSettings::from_env(&env(&[("OKTA_HOOK_SECRET", "s")])).unwrap_err();
        assert!(err.to_string().contains("VERIFY_QUEUE_URL"), "{err}");
        let err = OktaHookSettings::from_env(&env(&[("VERIFY_QUEUE_URL", "q")])).unwrap_err();
        assert!(err.to_string().contains("OKTA_HOOK_SECRET_ARN"), "{err}");
    }

    #[test]
    fn hook_settings_have_defaults_and_validate_the_window() {
        let ok = OktaHookSettings::from_env(&env(&[("VERIFY_QUEUE_URL", "q"), ("OKTA_HOOK_SECRET", "s")])).unwrap();
        assert_eq!(ok.auth_header, "authorization");
        assert_eq!(ok.propagation_window, Duration::seconds(900));
        assert_eq!(ok.secret_ttl, Duration::seconds(300));
        let bad = env(&[
            ("VERIFY_QUEUE_URL", "q"),
            ("OKTA_HOOK_SECRET", "s"),
            ("PROPAGATION_WINDOW_SECONDS", "-5"),
        ]);
        let err = OktaHookSettings::from_env(&bad).unwrap_err();
        assert!(err.to_string().contains("PROPAGATION_WINDOW_SECONDS"), "{err}");
    }

    #[test]
    fn the_secret_ttl_is_configurable_and_bounded() {
        let with = |ttl: &str| {
            OktaHookSettings::from_env(&env(&[
                ("VERIFY_QUEUE_URL", "q"),
                ("OKTA_HOOK_SECRET", "s"),
                ("OKTA_HOOK_SECRET_TTL_SECONDS", ttl),
            ]))
        };
        assert_eq!(with("60").unwrap().secret_ttl, Duration::seconds(60));
        for bad in ["-1", "3601", "5m"] {
            let err = with(bad).unwrap_err();
            assert!(err.to_string().contains("OKTA_HOOK_SECRET_TTL_SECONDS"), "{bad}: {err}");
        }
    }

    #[test]
    fn the_secrets_manager_arn_wins_over_a_plain_secret() {
        let both = env(&[
            ("VERIFY_QUEUE_URL", "q"),
            ("OKTA_HOOK_SECRET", "s"),
            ("OKTA_HOOK_SECRET_ARN", "arn:x"),
        ]);
        let settings = OktaHookSettings::from_env(&both).unwrap();
        assert!(matches!(settings.secret, SecretSource::SecretsManager { ref secret_id } if secret_id == "arn:x"));
    }
}
