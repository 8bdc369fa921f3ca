//! The propagation-check binary through the Lambda runtime API, failing an invocation: Lambda is answered an
//! error whose `errorType` is the cause's stable name (`shared::Error::kind`) and whose `errorMessage` carries
//! the causes, quoting nothing of the payload.

use std::time::Duration;

use integration_tests::lambda_runtime::{LambdaRuntime, Outcome, spawn_function};
use integration_tests::log_check::LogCheck;

#[tokio::test]
async fn a_failed_invocation_answers_lambda_the_causes_stable_type_name() {
    let runtime = LambdaRuntime::start().await;
    // Nothing is called before the payload is decoded: AWS and Okta point nowhere.
    let function = spawn_function(
        "propagation-check",
        &runtime,
        &[
            ("OKTA_ORG_URL", "https://acme.okta.com".into()),
            ("OKTA_APP_ID", "0oa1awsidc00000001".into()),
            ("OKTA_API_TOKEN", "00-test-token-not-for-production".into()),
            (
                "FINDINGS_TOPIC_ARN",
                "arn:aws:sns:us-east-1:123456789012:findings".into(),
            ),
            ("VERIFY_QUEUE_URL", "http://127.0.0.1:9/123456789012/verify".into()),
            ("VERDICT_TABLE_NAME", "verdicts".into()),
            (
                "IDC_INSTANCE_ARN",
                "arn:aws:sso:::instance/ssoins-0000000000000001".into(),
            ),
            ("IDENTITY_STORE_ID", "d-0000000001".into()),
            ("AWS_ENDPOINT_URL", "http://127.0.0.1:9".into()),
            ("AWS_REGION", "us-east-1".into()),
            ("AWS_ACCESS_KEY_ID", "testing".into()),
            ("AWS_SECRET_ACCESS_KEY", "testing".into()),
        ],
    );
    let event = r#"{"Records": "bob.martin@acme.example"}"#;
    let outcome = runtime.invoke(event, Duration::from_secs(30)).await;
    let Some(Outcome::Error(error)) = outcome else {
        panic!("expected an invocation error, got {outcome:?}")
    };
    assert_eq!(error["errorType"], "Decode", "{error}");
    let message = error["errorMessage"].as_str().expect("an errorMessage");
    assert!(
        message.starts_with("could not decode SQS event: JSON Data error"),
        "{message}"
    );
    assert!(!message.contains("bob"), "no payload in the error: {message}");
    // The process's own output (what CloudWatch Logs would get) quotes neither the payload nor the token.
    let output = function.finish().await;
    LogCheck::new()
        .forbid("the payload's login", "bob.martin")
        .forbid("the Okta API token", "00-test-token-not-for-production")
        .assert_clean("propagation-check", &output);
}
