//! The Okta event hook envelope and its System Log events (`okta::event_hook::parse_delivery`), then the job
//! selection the hook runs over what parsed (`select_jobs`, `scheduled`: the date arithmetic on `published`).
//!
//! Contract: no panic; on `Ok`, every event of `data.events` is either parsed or reported malformed, positions
//! are in range and increasing, and every scheduled delay is one SQS accepts (0..=900 s).
#![no_main]
#![forbid(unsafe_code)]

use chrono::{DateTime, Duration, Utc};
use libfuzzer_sys::fuzz_target;
use shared::domain::deprovision::{MAX_QUEUE_DELAY_SECONDS, select_jobs};
use shared::domain::{JobSource, OktaAppId};
use shared::okta::event_hook::parse_delivery;

fuzz_target!(|data: &[u8]| {
    let Ok(delivery) = parse_delivery(data) else { return };
    // The count, read as a plain JSON value. serde_json skips a field the envelope ignores without checking its
    // UTF-8, which a `Value` does not: such a body is accepted by the parser and the count is not checked.
    let total = serde_json::from_slice::<serde_json::Value>(data)
        .ok()
        .and_then(|v| v.pointer("/data/events").and_then(|e| e.as_array()).map(Vec::len));
    if let Some(total) = total {
        assert_eq!(delivery.events.len() + delivery.malformed.len(), total);
    }
    let total = delivery.events.len() + delivery.malformed.len();
    let mut last = None;
    for bad in &delivery.malformed {
        assert!(bad.position < total);
        assert!(last.is_none_or(|p| p < bad.position));
        last = Some(bad.position);
        assert!(bad.uuid.as_ref().is_none_or(|u| u.chars().count() <= 64));
    }
    let app = OktaAppId::parse("0oa1awsidc00000001").expect("an app id");
    let now: DateTime<Utc> = "2026-11-20T09:12:50Z".parse().expect("a time");
    for window in [Duration::zero(), Duration::seconds(900), Duration::seconds(86_400)] {
        for aws_app in [None, Some(&app)] {
            let selection = select_jobs(&delivery.events, aws_app, window, JobSource::EventHook);
            for job in selection.scheduled(now) {
                assert!((0..=MAX_QUEUE_DELAY_SECONDS).contains(&i64::from(job.delay_seconds)));
            }
        }
    }
});
