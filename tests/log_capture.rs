//! Every log line of the deprovision path's end-to-end flows, captured: okta-hook (verification, a wrong secret,
//! a malformed body, a malformed and an unusable event, the real delivery) → SQS in moto → the checker (an Okta
//! 500 and a truncated answer on the way, the redelivery, the verdicts out through SNS in moto) → the System Log
//! sweep. The flows are seeded with recognisable values; the test fails if any line carries a secret (the hook
//! secret, a wrong one presented, the Okta API token), an e-mail or login, a person's name, an IP address from
//! the event, or a whole payload (hook envelope, Okta event, queued job, SQS record).
//!
//! The capture is the same `tracing` fmt layer the functions install (`init_default_subscriber`), at INFO for
//! dependencies and TRACE for the core crate (stricter than Lambda's default INFO), set for this test's thread
//! (the test runtime is single-threaded, so every task the flows spawn logs into it); the hook's EMF lines are
//! read through its metric sink.
//!
//! The rule is `integration_tests::log_check::LogCheck` (seeded canaries, anything shaped like an e-mail, the keys
//! of Okta, SQS, job, CloudTrail/EventBridge and SAML payloads), and it is applied to every function binary the
//! suite runs too: `lambda_runtime::spawn_function` captures the real process's stdout and stderr (JSON tracing
//! lines and EMF lines, what CloudWatch Logs would get, at `info,shared=trace`) and each binary test checks it,
//! failure paths included — okta-hook (a wrong secret, a cut body), propagation-check (an undecodable event),
//! identity-center-watch (every sample, a body that is not JSON, one that is no event), access-review (Okta 500s
//! in a shard and the merge, a login as the mode) and cert-monitor (Okta's key list cut short).

use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::{Duration as StdDuration, Instant};

use chrono::{Duration, Utc};
use integration_tests::log_check::LogCheck;
use integration_tests::okta_fake::{self, Fault};
use integration_tests::queues::{EventSourceMapping, drain, subscribed_topic};
use lambda_http::http::StatusCode;
use serde_json::json;
use shared::aws::SnsNotifier;
use shared::handlers::okta_hook::handle;
use shared::handlers::propagation_check::CheckPorts;

use crate::burst::{crowd, delivery, hook, hook_event, invoke_once, person, quick_config};

const HOOK_SECRET: &str = "canary-secret-4f1d9a2b7c3e";
const WRONG_SECRET: &str = "canary-secret-wrong-88e1";
const LOGIN: &str = "canary.person@example.com";
const OTHER_LOGIN: &str = "canary.other@example.com";
const ADMIN_LOGIN: &str = "canary.admin@example.com";
const CLIENT_IP: &str = "203.0.113.77";

#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Captured {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap_or_else(|p| p.into_inner())).into_owned()
    }
}

impl Write for Captured {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// What no log line of these flows may hold: the generic detectors plus the values seeded.
fn check() -> LogCheck {
    LogCheck::new()
        .forbid("the hook secret", HOOK_SECRET)
        .forbid("a wrong secret presented", WRONG_SECRET)
        .forbid("any canary secret", "canary-secret")
        .forbid("the Okta API token", okta_fake::API_TOKEN)
        .forbid("a login's local part", "canary.person")
        .forbid("a login's local part", "canary.other")
        .forbid("the actor's login", "canary.admin")
        .forbid("an e-mail domain", "@example.com")
        .forbid("a name", "Canary Person")
        .forbid("a name", "Canary Other")
        .forbid("the client IP", CLIENT_IP)
}

#[test]
fn the_detector_finds_canaries_payload_markers_and_e_mail_shapes_and_passes_ids() {
    use integration_tests::log_check::email_address;
    assert_eq!(
        email_address(r#"{"login":"bob.martin+aws@acme.example.com"}"#),
        Some("bob.martin+aws@acme.example.com")
    );
    assert_eq!(email_address("user=a@b.io."), Some("a@b.io"));
    assert_eq!(
        email_address("role/x @ 12:00, crate@1.2.3, git@host, @example.com"),
        None
    );
    let check = LogCheck::new().forbid("a secret", "s3cr3t");
    let lines = "ok line\nkey s3cr3t\n{\"receiptHandle\":\"x\"}\nmail carol@example.org\nmessage_id=m-1";
    let found = check.leaks(lines);
    assert_eq!(found.len(), 3, "{found:#?}");
    assert!(found[0].starts_with("a secret"), "{found:?}");
    assert!(found[1].starts_with("an SQS record"), "{found:?}");
    assert!(
        found[2].starts_with("an e-mail address (\"carol@example.org\")"),
        "{found:?}"
    );
    assert_eq!(check.assert_clean("clean", "ok\nmessage_id=m-1 finding_id=f-2"), 2);
    for marker in [
        "<md:EntityDescriptor>",
        "-----BEGIN CERTIFICATE-----",
        r#"{"userIdentity":{}}"#,
        r#"{"okta_event_id":"e"}"#,
        "com.okta.event_hook",
    ] {
        assert_eq!(check.leaks(marker).len(), 1, "{marker}");
    }
}

#[tokio::test]
async fn no_log_line_of_the_hook_check_and_sweep_flows_carries_a_secret_a_login_or_a_payload() {
    let captured = Captured::default();
    let writer = captured.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::new("info,shared=trace"))
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .finish();
    let _capture = tracing::subscriber::set_default(subscriber);
    // tracing-core computes a callsite's interest from the *registering thread's* default while only one
    // dispatcher exists: other tests' threads (no subscriber) would then switch this capture's callsites off. A
    // second live dispatcher makes every (re)computation ask all of them.
    let _second = tracing::Dispatch::new(tracing_subscriber::registry());

    let start = Utc::now();
    // The max window (90 s) ends a few seconds from now, so the one still enabled gets its overdue verdict soon.
    let published = start - Duration::seconds(80);
    let canary = person(0, LOGIN.into(), "Canary Person".into(), published);
    let other = person(3, OTHER_LOGIN.into(), "Canary Other".into(), published);
    assert!(other.enabled_in_idc && !canary.enabled_in_idc);
    let crowd = crowd(vec![canary, other], 2, 200).await;
    let (topic_arn, findings_queue) = subscribed_topic(&crowd.account, "findings", "findings-read", true).await;
    let ports = CheckPorts {
        directory: crowd.ports.directory,
        identity_center: crowd.ports.identity_center,
        activity: crowd.ports.activity,
        notifier: SnsNotifier::new(crowd.account.sdk_config(), topic_arn),
        queue: crowd.ports.queue,
        ledger: crowd.ports.ledger,
        org: crowd.ports.org,
    };
    let config = quick_config(Duration::seconds(90));
    // Callsites registered before the second dispatcher existed: their interest computed again, with the capture in.
    tracing::callsite::rebuild_interest_cache();
    let mapping = EventSourceMapping::new(&crowd.account, &crowd.queue_url);
    let hook = hook(HOOK_SECRET);
    let events: Vec<serde_json::Value> = crowd
        .people
        .iter()
        .flat_map(|p| p.events.iter().map(|e| hook_event(e, &p.name)))
        .map(|mut event| {
            event["actor"]["alternateId"] = json!(ADMIN_LOGIN);
            event["client"]["ipAddress"] = json!(CLIENT_IP);
            event
        })
        .collect();

    // okta-hook: the verification, a wrong secret, a body cut short, a malformed event and an unusable one.
    let mut verification = delivery("d-verify", &[], HOOK_SECRET);
    *verification.method_mut() = lambda_http::http::Method::GET;
    verification.headers_mut().insert(
        "x-okta-verification-challenge",
        "challenge-for-the-canary".parse().expect("a header"),
    );
    let answer = handle(&ports.queue, &hook, verification, Utc::now()).await;
    assert_eq!(answer.status(), StatusCode::OK);
    let answer = handle(
        &ports.queue,
        &hook,
        delivery("d-wrong", &events, WRONG_SECRET),
        Utc::now(),
    )
    .await;
    assert_eq!(answer.status(), StatusCode::UNAUTHORIZED);
    let mut cut = delivery("d-cut", &events, HOOK_SECRET);
    let whole = String::from_utf8_lossy(cut.body().as_ref()).into_owned();
    *cut.body_mut() = lambda_http::Body::Text(whole[..whole.len() / 2].to_owned());
    let answer = handle(&ports.queue, &hook, cut, Utc::now()).await;
    assert_eq!(answer.status(), StatusCode::BAD_REQUEST);
    let mut malformed = events[0].clone();
    malformed["published"] = json!(LOGIN);
    malformed["uuid"] = json!("0badbad0-2837-11eb-9823-000000000001");
    let mut unusable = events[0].clone();
    unusable["target"][0]["type"] = json!("AppUser");
    unusable["uuid"] = json!("0badbad0-2837-11eb-9823-000000000002");
    let answer = handle(
        &ports.queue,
        &hook,
        delivery("d-odd", &[malformed, unusable], HOOK_SECRET),
        Utc::now(),
    )
    .await;
    assert_eq!(answer.status(), StatusCode::OK);
    let answer = handle(
        &ports.queue,
        &hook,
        delivery("d-real", &events, HOOK_SECRET),
        Utc::now(),
    )
    .await;
    assert_eq!(answer.status(), StatusCode::OK);

    // The checker meets a 500 and a truncated answer from Okta first: failed back, redelivered, judged.
    crowd.okta.fail_next("/api/v1/users/", 1, Fault::ServerError);
    crowd.okta.fail_next("/api/v1/apps/", 1, Fault::Truncated);
    let mut failed_back = 0;
    let started = Instant::now();
    let mut idle_since = Instant::now();
    let mut swept = false;
    let mut findings_out = 0;
    loop {
        match invoke_once(&ports, &mapping, &config, Utc::now()).await {
            Some((_, failed)) => {
                failed_back += failed;
                idle_since = Instant::now();
            }
            None => tokio::time::sleep(StdDuration::from_millis(200)).await,
        }
        if !swept {
            let report = ports.sweep(&config, Utc::now()).await.expect("a sweep");
            assert_eq!(report.jobs_queued, 4, "the System Log's four deprovisions");
            swept = true;
        }
        findings_out += drain(&crowd.account, &findings_queue).await.len();
        if findings_out >= 2 && idle_since.elapsed() > StdDuration::from_secs(3) {
            break;
        }
        assert!(
            started.elapsed() < StdDuration::from_secs(60),
            "the flows did not settle: {findings_out} findings out, {failed_back} failed back; log:\n{}",
            captured.text()
        );
    }
    assert!(failed_back >= 1, "Okta's faults failed a record back");
    drop(_capture);

    let lines = captured.text();
    let check = check();
    check.assert_clean("the flows' tracing lines", &lines);
    check.assert_clean("the hook's metric lines", &hook.metrics.lines().join("\n"));
    // The capture did see the flows (a test that cannot fail proves nothing): ids instead of people.
    for expected in [
        "okta hook verification answered",
        "okta hook request refused",
        "okta event skipped: malformed",
        "deprovisioning event without a usable user",
        "verification job queued",
        "00u1burst0000000000",
        "check failed; the message will be redelivered",
        "verdict published",
        "findings published",
    ] {
        assert!(lines.contains(expected), "no {expected:?} in the capture:\n{lines}");
    }
    println!("log capture: {} lines, no leak", lines.lines().count());
}
