//! The local sandbox's seeding (`scripts/sandbox`): the demo org in moto and the Okta fake, linked as SCIM would
//! have left them, and the environment it prints enough for both functions to run the event path on it — the
//! hook queues Bob's deactivation (`events/sandbox/bob-deactivated.json`), the checker, handed the job as the
//! relay hands it, publishes Bob's propagation-overdue finding to the topic the sandbox prints from.

use std::collections::BTreeMap;

use integration_tests::moto::MotoAccount;
use integration_tests::queues::drain;
use integration_tests::sandbox::{self, DEMO_ORG};
use shared::aws::SqsJobQueue;
use shared::domain::{IdcUserStatus, OrgSnapshot};
use shared::handlers::okta_hook::{self, OktaHook, OktaHookSettings};
use shared::handlers::propagation_check::{CheckPorts, PropagationCheckSettings};
use shared::hook_secret::SourcedSecret;
use shared::in_memory::RecordingMetrics;

const BOB: &str = "bob.martin@acme.example";

#[tokio::test]
async fn the_sandbox_runs_bobs_deactivation_from_the_hook_to_a_published_finding() {
    let snapshot: OrgSnapshot = serde_json::from_str(DEMO_ORG).expect("the demo org");
    let account = MotoAccount::new().await;
    let sandbox = sandbox::seed(&account, &snapshot).await;

    // Okta's app user for Bob names the Identity Center user moto created, which is enabled, as in the demo.
    let bob_idc = sandbox.org.user(BOB);
    let bob_app_user = sandbox
        .okta_side
        .app
        .app_users
        .iter()
        .find(|u| u.user_id.as_str() == "00u1bob00000000002")
        .expect("Bob's app user");
    assert_eq!(bob_app_user.external_id.as_deref(), Some(bob_idc.as_str()));
    let demo_bob = snapshot
        .idc
        .users
        .iter()
        .find(|u| u.user_name == BOB)
        .expect("Bob in the demo");
    assert_eq!(demo_bob.status, IdcUserStatus::Enabled);
    assert_ne!(demo_bob.id.as_str(), bob_idc.as_str(), "moto's ids, not the demo's");

    let credentials = account.credentials().await;
    let env: BTreeMap<String, String> = sandbox
        .env(
            &account,
            credentials.access_key_id(),
            credentials.secret_access_key(),
            credentials.session_token().unwrap_or_default(),
        )
        .into_iter()
        .collect();
    let env = |name: &str| env.get(name).cloned();

    // The hook, configured only from the printed environment.
    let hook_settings = OktaHookSettings::from_env(&env).expect("the hook's settings from the sandbox env");
    let queue = SqsJobQueue::new(account.sdk_config(), hook_settings.queue_url.clone());
    let hook = OktaHook::from_settings(
        &hook_settings,
        SourcedSecret::new(&hook_settings.secret, account.sdk_config()),
        RecordingMetrics::default(),
    );
    let event = std::fs::read_to_string(format!(
        "{}/../events/sandbox/bob-deactivated.json",
        env!("CARGO_MANIFEST_DIR")
    ))
    .expect("the sandbox's hook event");
    let request = lambda_http::request::from_str(&event).expect("a function URL event");
    let response = okta_hook::handle(&queue, &hook, request, chrono::Utc::now()).await;
    let answer: serde_json::Value = serde_json::from_slice(response.body().as_ref()).expect("JSON");
    assert_eq!(response.status().as_u16(), 200, "{answer}");
    assert_eq!(answer["queued"], 1, "{answer}");

    // The relay's batch, to the checker configured only from the printed environment.
    let jobs = drain(&account, &sandbox.verify_queue_url).await;
    assert_eq!(
        jobs.len(),
        1,
        "no SCIM window in the sandbox: the job is visible at once"
    );
    let batch = sandbox::sqs_event(&jobs, "arn:aws:sqs:us-east-1:123456789012:deprov-audit-verify");
    let check_settings = PropagationCheckSettings::from_env(&env).expect("the checker's settings from the sandbox env");
    let ports = CheckPorts::connect(&check_settings, account.sdk_config())
        .await
        .expect("the checker's ports");
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(120);
    let outcome = ports
        .handle_trigger(&check_settings.check, batch, chrono::Utc::now(), deadline)
        .await
        .expect("the checker answers the batch");
    assert_eq!(outcome["batchItemFailures"], serde_json::json!([]), "{outcome}");

    let published: Vec<serde_json::Value> = drain(&account, &sandbox.findings_tap_url)
        .await
        .iter()
        .map(|m| serde_json::from_str(m.body().expect("a body")).expect("a finding"))
        .collect();
    let overdue = published
        .iter()
        .find(|f| f["rule"] == "propagation-overdue")
        .unwrap_or_else(|| panic!("Bob's deprovision is days old and he is still enabled: {published:?}"));
    assert_eq!(overdue["severity"], "high");
    assert_eq!(overdue["subject"]["idc_user_id"], bob_idc.as_str());
    assert_eq!(
        overdue["subject"]["okta_event_id"],
        "9d1f3c2a-2837-11eb-9823-9fb8f750c5a9"
    );
}
