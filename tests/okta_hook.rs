//! The okta-hook handler driven with the function-URL events in `events/okta-hook/`, queuing to SQS in moto;
//! and the built `okta-hook` binary answering through the Lambda runtime API.

use std::time::Duration as StdDuration;

use chrono::{DateTime, Duration, Utc};
use integration_tests::lambda_runtime::{LambdaRuntime, Outcome, spawn_function};
use integration_tests::log_check::LogCheck;
use integration_tests::moto::{MotoAccount, endpoint};
use integration_tests::queues::{bodies, count_all, create_queue, drain};
use lambda_http::Request;
use lambda_http::http::StatusCode;
use secrecy::SecretString;
use serde_json::{Value, json};
use shared::aws::{SecretsManagerSecret, SqsJobQueue};
use shared::domain::OktaAppId;
use shared::handlers::okta_hook::{HookConfig, OktaHook, handle};
use shared::hook_secret::{HookSecret, SecretTiming, SourcedSecret};
use shared::in_memory::RecordingMetrics;

const SECRET: &str = "test-hook-secret-not-for-production";

fn fixture_text(name: &str) -> String {
    let path = format!("{}/../events/okta-hook/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn fixture(name: &str) -> Request {
    lambda_http::request::from_str(&fixture_text(name)).expect("a function URL event")
}

fn hook_config(window_seconds: i64) -> HookConfig {
    HookConfig {
        auth_header: "authorization".into(),
        propagation_window: Duration::seconds(window_seconds),
        aws_app_id: Some(OktaAppId::parse("0oa1awsidc00000001").expect("app id")),
    }
}

/// A hook whose secret is the plain `SECRET` (as in a local run).
fn config(window_seconds: i64) -> OktaHook<SourcedSecret, RecordingMetrics> {
    OktaHook::new(
        hook_config(window_seconds),
        HookSecret::new(
            SourcedSecret::Plain(SecretString::from(SECRET)),
            SecretTiming::default(),
        ),
        RecordingMetrics::default(),
    )
}

/// The deactivate fixture's `published`.
fn published() -> DateTime<Utc> {
    "2026-11-20T09:12:44.862Z".parse().expect("time")
}

fn json_body(response: &lambda_http::Response<lambda_http::Body>) -> Value {
    serde_json::from_slice(response.body().as_ref()).expect("a JSON answer")
}

async fn hook_world() -> (MotoAccount, String, SqsJobQueue) {
    let account = MotoAccount::new().await;
    let queue_url = create_queue(&account, "verify").await;
    let queue = SqsJobQueue::new(account.sdk_config(), queue_url.clone());
    (account, queue_url, queue)
}

#[tokio::test]
async fn a_deactivation_lands_on_the_queue_with_its_job() {
    let (account, queue_url, queue) = hook_world().await;
    let response = handle(&queue, &config(0), fixture("user-deactivated.json"), published()).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(json_body(&response)["queued"], 1);
    let jobs = bodies(&drain(&account, &queue_url).await);
    assert_eq!(jobs.len(), 1);
    let job = &jobs[0];
    assert_eq!(job["okta_event_id"], "ab62c0bc-2837-11eb-9823-9fb8f750c5a9");
    assert_eq!(job["event_type"], "user.lifecycle.deactivate");
    assert_eq!(job["kind"], "deactivated");
    assert_eq!(job["okta_user_id"], "00u3m90rxKjGQ0G6L1d6");
    assert_eq!(job["login"], "john.doe@acme.example");
    assert_eq!(job["published"], "2026-11-20T09:12:44.862Z");
    assert_eq!(job["source"], "event-hook");
}

#[tokio::test]
async fn jobs_are_held_back_until_the_window_ends() {
    let (account, queue_url, queue) = hook_world().await;
    // A 900 s window, answered 898 s after the event: SQS must hold the job for the last 2 s.
    let now = published() + Duration::seconds(898);
    let response = handle(&queue, &config(900), fixture("user-deactivated.json"), now).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert!(
        drain(&account, &queue_url).await.is_empty(),
        "visible before its delay ran out"
    );
    assert_eq!(count_all(&account, &queue_url).await, 1, "but on the queue");
    tokio::time::sleep(StdDuration::from_millis(2500)).await;
    assert_eq!(drain(&account, &queue_url).await.len(), 1);
}

#[tokio::test]
async fn a_mixed_batch_queues_each_deprovision_once() {
    let (account, queue_url, queue) = hook_world().await;
    // An hour on: every event's window is over, so each job is visible at once.
    let response = handle(
        &queue,
        &config(0),
        fixture("mixed-batch.json"),
        published() + Duration::hours(1),
    )
    .await;
    assert_eq!(json_body(&response), json!({"queued": 3, "ignored": 5, "malformed": 2}));
    let mut kinds: Vec<String> = bodies(&drain(&account, &queue_url).await)
        .iter()
        .map(|j| j["kind"].as_str().unwrap_or("").into())
        .collect();
    kinds.sort();
    assert_eq!(kinds, ["app-unassigned", "deactivated", "push-failed"]);
}

#[tokio::test]
async fn suspend_unassign_and_group_removal_each_become_a_job() {
    let (account, queue_url, queue) = hook_world().await;
    for (name, kind) in [
        ("user-suspended.json", "suspended"),
        ("app-unassigned.json", "app-unassigned"),
        ("group-membership-removed.json", "group-removed"),
    ] {
        let response = handle(&queue, &config(0), fixture(name), published() + Duration::hours(1)).await;
        assert_eq!(response.status(), StatusCode::OK, "{name}");
        let jobs = bodies(&drain(&account, &queue_url).await);
        assert_eq!(jobs.len(), 1, "{name}");
        assert_eq!(jobs[0]["kind"], kind, "{name}");
    }
}

#[tokio::test]
async fn a_wrong_secret_gets_401_and_queues_nothing() {
    let (account, queue_url, queue) = hook_world().await;
    for name in ["wrong-secret.json", "missing-secret.json"] {
        let response = handle(&queue, &config(0), fixture(name), published()).await;
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED, "{name}");
    }
    assert_eq!(count_all(&account, &queue_url).await, 0);
}

#[tokio::test]
async fn the_verification_challenge_is_echoed() {
    let (_account, _queue_url, queue) = hook_world().await;
    let response = handle(&queue, &config(0), fixture("verification.json"), published()).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        json_body(&response),
        json!({"verification": "Me_rShK8JHsTnbyYrWXCEoMGbM_zsZ6k0hLPZ_Pg"})
    );
}

#[tokio::test]
async fn malformed_deliveries_get_400_and_queue_nothing() {
    let (account, queue_url, queue) = hook_world().await;
    for name in ["malformed-json.json", "not-an-event-hook.json"] {
        let response = handle(&queue, &config(0), fixture(name), published()).await;
        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{name}");
    }
    assert_eq!(count_all(&account, &queue_url).await, 0);
}

#[tokio::test]
async fn a_queue_that_refuses_the_jobs_gets_okta_a_5xx_to_retry_on() {
    let account = MotoAccount::new().await;
    let missing = format!("{}/{}/no-such-queue", endpoint(), account.id());
    let queue = SqsJobQueue::new(account.sdk_config(), missing);
    let response = handle(&queue, &config(0), fixture("user-deactivated.json"), published()).await;
    assert!(response.status().is_server_error(), "{}", response.status());
}

/// A request from the deactivate fixture, presenting `secret`.
fn presenting(secret: &str) -> Request {
    let mut request = fixture("user-deactivated.json");
    request
        .headers_mut()
        .insert("authorization", secret.parse().expect("a header value"));
    request
}

async fn put_secret_value(client: &aws_sdk_secretsmanager::Client, arn: &str, value: &str) {
    client
        .put_secret_value()
        .secret_id(arn)
        .secret_string(value)
        .send()
        .await
        .expect("PutSecretValue in moto");
}

/// The rotation README describes, against Secrets Manager in moto, on one warm hook whose clock the test drives:
/// add the new value beside the old → the new one is accepted; drop the old → it is refused. And a 401 is counted.
#[tokio::test]
async fn a_rotated_secret_is_accepted_and_an_old_one_refused_on_a_warm_hook() {
    let (account, queue_url, queue) = hook_world().await;
    let secrets = aws_sdk_secretsmanager::Client::new(account.sdk_config());
    let arn = secrets
        .create_secret()
        .name("deprov-audit/okta-hook")
        .secret_string("old-hook-secret")
        .send()
        .await
        .expect("CreateSecret in moto")
        .arn
        .expect("an ARN");
    let timing = SecretTiming::default();
    let hook = OktaHook::new(
        hook_config(0),
        HookSecret::new(SecretsManagerSecret::new(account.sdk_config(), &arn), timing),
        RecordingMetrics::default(),
    );
    let t0 = published() + Duration::hours(1);
    assert!(hook.secret.load(t0).await, "the cold-start read");
    let status = |response: lambda_http::Response<lambda_http::Body>| response.status();

    assert_eq!(
        status(handle(&queue, &hook, presenting("old-hook-secret"), t0).await),
        StatusCode::OK
    );
    assert_eq!(
        status(handle(&queue, &hook, presenting("new-hook-secret"), t0).await),
        StatusCode::UNAUTHORIZED,
        "not in the secret yet"
    );

    // Step 1 of the rotation: a new version holding both values (Okta still sends the old one).
    put_secret_value(&secrets, &arn, "old-hook-secret\nnew-hook-secret").await;
    let t1 = t0 + timing.ttl;
    assert_eq!(
        status(handle(&queue, &hook, presenting("new-hook-secret"), t1).await),
        StatusCode::OK
    );
    assert_eq!(
        status(handle(&queue, &hook, presenting("old-hook-secret"), t1).await),
        StatusCode::OK
    );

    // Step 3: the old value dropped; within one TTL this warm instance refuses it.
    put_secret_value(&secrets, &arn, "new-hook-secret").await;
    let t2 = t1 + timing.ttl;
    let refused = handle(&queue, &hook, presenting("old-hook-secret"), t2).await;
    assert_eq!(refused.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(json_body(&refused), json!({"error": "unauthorized"}));
    assert_eq!(
        status(handle(&queue, &hook, presenting("new-hook-secret"), t2).await),
        StatusCode::OK
    );

    assert_eq!(
        drain(&account, &queue_url).await.len(),
        4,
        "one job per accepted delivery"
    );
    let answers: Vec<Value> = hook
        .metrics
        .lines()
        .iter()
        .map(|line| serde_json::from_str(line).expect("an EMF line is JSON"))
        .collect();
    let statuses: Vec<&str> = answers.iter().map(|a| a["Status"].as_str().unwrap_or("")).collect();
    assert_eq!(statuses, ["200", "401", "200", "200", "401", "200"]);
    let unauthorized = &answers[4];
    assert_eq!(unauthorized["HookAnswers"], 1);
    assert_eq!(unauthorized["_aws"]["Timestamp"], t2.timestamp_millis());
    assert_eq!(
        unauthorized["_aws"]["CloudWatchMetrics"],
        json!([{
            "Namespace": "DeprovAudit",
            "Dimensions": [["Status"]],
            "Metrics": [{"Name": "HookAnswers", "Unit": "Count"}],
        }])
    );
}

/// The real `okta-hook` binary, configured by environment like a deployed function, answering through the
/// Lambda runtime API: verification, then a delivery whose job lands in moto.
#[tokio::test]
async fn the_built_binary_answers_through_the_lambda_runtime_api() {
    let (account, queue_url, _queue) = hook_world().await;
    let credentials = account.credentials().await;
    let runtime = LambdaRuntime::start().await;
    let function = spawn_function(
        "okta-hook",
        &runtime,
        &[
            ("VERIFY_QUEUE_URL", queue_url.clone()),
            ("OKTA_HOOK_SECRET", SECRET.into()),
            ("PROPAGATION_WINDOW_SECONDS", "0".into()),
            ("AWS_ENDPOINT_URL", endpoint().into()),
            ("AWS_REGION", "us-east-1".into()),
            ("AWS_ACCESS_KEY_ID", credentials.access_key_id().into()),
            ("AWS_SECRET_ACCESS_KEY", credentials.secret_access_key().into()),
            (
                "AWS_SESSION_TOKEN",
                credentials.session_token().unwrap_or_default().into(),
            ),
        ],
    );
    let within = StdDuration::from_secs(30);
    let Some(Outcome::Response(verified)) = runtime.invoke(&fixture_text("verification.json"), within).await else {
        panic!("no answer to the verification event")
    };
    assert_eq!(verified["statusCode"], 200);
    let body: Value = serde_json::from_str(verified["body"].as_str().expect("a body")).expect("JSON");
    assert_eq!(body["verification"], "Me_rShK8JHsTnbyYrWXCEoMGbM_zsZ6k0hLPZ_Pg");

    let Some(Outcome::Response(delivered)) = runtime.invoke(&fixture_text("user-deactivated.json"), within).await
    else {
        panic!("no answer to the delivery")
    };
    assert_eq!(delivered["statusCode"], 200);
    let jobs = bodies(&drain(&account, &queue_url).await);
    assert_eq!(jobs.len(), 1);
    assert_eq!(jobs[0]["okta_user_id"], "00u3m90rxKjGQ0G6L1d6");

    // A body marked base64 that is not (lambda_http's decoder panicked on it: an invocation error) and a path
    // without its leading '/': answered 400 with the hook's JSON error, nothing queued, the process still serving.
    for hostile in [
        json!({"isBase64Encoded": true, "body": "{not base64}"}),
        json!({"rawPath": "x:1x"}),
    ] {
        let mut event: Value = serde_json::from_str(&fixture_text("user-deactivated.json")).expect("JSON");
        for (field, value) in hostile.as_object().expect("an object") {
            event[field] = value.clone();
        }
        let Some(Outcome::Response(refused)) = runtime.invoke(&event.to_string(), within).await else {
            panic!("no answer (or an invocation error) for {hostile}")
        };
        assert_eq!(refused["statusCode"], 400, "{hostile}");
        assert_eq!(refused["headers"]["content-type"], "application/json");
        let body: Value = serde_json::from_str(refused["body"].as_str().expect("a body")).expect("JSON");
        assert_eq!(body, json!({"error": "malformed function URL request"}));
    }
    let Some(Outcome::Response(again)) = runtime.invoke(&fixture_text("user-deactivated.json"), within).await else {
        panic!("no answer to the delivery after the hostile events")
    };
    assert_eq!(again["statusCode"], 200);
    assert_eq!(
        bodies(&drain(&account, &queue_url).await).len(),
        1,
        "only the well-formed delivery queued"
    );

    // The failure paths, so their log lines are in the output checked below: a wrong secret, a body cut short.
    for (name, status) in [("wrong-secret.json", 401), ("malformed-json.json", 400)] {
        let Some(Outcome::Response(answer)) = runtime.invoke(&fixture_text(name), within).await else {
            panic!("no answer to {name}")
        };
        assert_eq!(answer["statusCode"], status, "{name}");
    }
    let output = function.finish().await;
    let lines = LogCheck::new()
        .forbid("the hook secret", SECRET)
        .forbid("the wrong secret presented", "guessed-secret")
        .assert_clean("okta-hook", &output);
    // The EMF lines and the log lines were captured (the check read something): one metric line per answer.
    assert_eq!(output.matches("\"HookAnswers\":1").count(), 7, "{output}");
    assert!(output.contains("okta hook request refused"), "{output}");
    assert!(lines >= 5, "{output}");
}
