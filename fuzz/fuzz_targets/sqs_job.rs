//! The propagation checker's SQS entry: a Lambda SQS event whose one message body is the fuzz input, through
//! `handle_trigger` (the SQS event's own decoding, the job parser, then the whole check) over in-memory ports
//! seeded with the demo org (events/demo/org.json). The crash was here: one job body with an extreme
//! counter panicked the checker. libFuzzer's panic hook aborts even on a panic the checker's `catch_unwind`
//! would have caught, so such a panic is found, not hidden.
//!
//! Contract: no panic; a body that is not a job is reported back as a batch item failure; a job that parses
//! round-trips through its JSON unchanged.
#![no_main]
#![forbid(unsafe_code)]

use std::sync::OnceLock;

use chrono::{DateTime, Duration, Utc};
use libfuzzer_sys::fuzz_target;
use serde_json::{Value, json};
use shared::domain::deprovision::QueuedWork;
use shared::domain::{LinkPolicy, OktaAppId, OrgSnapshot};
use shared::handlers::propagation_check::{CheckConfig, CheckPorts};
use shared::in_memory::{
    FakeActivityLog, FakeDirectory, FakeIdentityCenter, InMemoryVerdictLedger, RecordingJobQueue, RecordingNotifier,
};

fn snapshot() -> &'static OrgSnapshot {
    static SNAPSHOT: OnceLock<OrgSnapshot> = OnceLock::new();
    SNAPSHOT.get_or_init(|| serde_json::from_str(include_str!("../../events/demo/org.json")).expect("the demo org"))
}

fn runtime() -> &'static tokio::runtime::Runtime {
    static RUNTIME: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RUNTIME.get_or_init(|| {
        tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()
            .expect("a runtime")
    })
}

fn config() -> CheckConfig {
    CheckConfig {
        aws_app_id: OktaAppId::parse("0oa1awsidc00000001").expect("an app id"),
        links: LinkPolicy::default(),
        propagation_window: Duration::minutes(15),
        max_window: Duration::minutes(60),
        recheck_interval: Duration::minutes(5),
        sweep_lookback: Duration::minutes(20),
        sweep_max_pages: 2,
        record_budget: std::time::Duration::from_secs(30),
        cloudtrail_max_pages: 2,
        scim_silent_after: Duration::hours(4),
    }
}

fuzz_target!(|data: &[u8]| {
    let body = String::from_utf8_lossy(data);
    let work = serde_json::from_str::<QueuedWork>(&body);
    if let Ok(work) = &work {
        let again: QueuedWork = serde_json::from_str(&serde_json::to_string(work).expect("a job serialises"))
            .expect("a job's own JSON reads back");
        assert_eq!(&again, work, "round trip");
        let _ = work.key();
    }
    let snapshot = snapshot();
    let ports = CheckPorts {
        directory: FakeDirectory {
            okta: snapshot.okta.clone(),
            log: Vec::new(),
        },
        identity_center: FakeIdentityCenter::new(snapshot.idc.clone()),
        activity: FakeActivityLog::default(),
        notifier: RecordingNotifier::default(),
        queue: RecordingJobQueue::default(),
        ledger: InMemoryVerdictLedger::default(),
        org: (),
    };
    let payload = json!({"Records": [{"messageId": "m-1", "eventSource": "aws:sqs", "body": body}]});
    let now: DateTime<Utc> = "2026-11-20T09:30:00Z".parse().expect("a time");
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(300);
    let answer = runtime()
        .block_on(ports.handle_trigger(&config(), payload, now, deadline))
        .expect("an SQS event always gets a batch response");
    let failures: Vec<&str> = answer["batchItemFailures"]
        .as_array()
        .map(|f| f.iter().filter_map(|i| i["itemIdentifier"].as_str()).collect())
        .unwrap_or_default();
    assert!(failures.iter().all(|id| *id == "m-1"));
    if work.is_err() {
        assert_eq!(failures, ["m-1"], "a body that is not a job goes back to the queue");
    }
    let _: &Value = &answer;
});
