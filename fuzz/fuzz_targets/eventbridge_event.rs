//! identity-center-watch's readers: an EventBridge event (`read_event`: CloudTrail API calls, AWS Health's SCIM
//! token notice) and the CloudTrail record reader both it and the checker use (`aws::parse_cloudtrail_record`),
//! then the watch's rules over what was read.
//!
//! Contract: no panic; a record the reader accepts keeps the eventID/eventName/eventSource it was given.
#![no_main]
#![forbid(unsafe_code)]

use chrono::{DateTime, Utc};
use libfuzzer_sys::fuzz_target;
use serde_json::Value;
use shared::handlers::identity_center_watch::{ReadEvent, read_event};
use shared::rules::identity_center_events::{WatchPolicy, evaluate};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    if let Ok(event) = shared::aws::parse_cloudtrail_record(text) {
        let record: Value = serde_json::from_str(text).expect("a record that parsed is JSON");
        assert_eq!(record["eventID"].as_str(), Some(event.event_id.as_str()));
        assert_eq!(record["eventName"].as_str(), Some(event.event_name.as_str()));
        assert_eq!(record["eventSource"].as_str(), Some(event.event_source.as_str()));
    }
    let Ok(envelope) = serde_json::from_str::<Value>(text) else {
        return;
    };
    // An event as EventBridge sends it, and the same bytes as a bare CloudTrail record's detail.
    let wrapped = serde_json::json!({
        "detail-type": "AWS API Call via CloudTrail", "source": "aws.sso", "detail": envelope.clone(),
    });
    let now: DateTime<Utc> = "2026-11-20T09:30:00Z".parse().expect("a time");
    let policy = WatchPolicy::default();
    for value in [&envelope, &wrapped] {
        if let ReadEvent::Event(event) = read_event(value) {
            let _ = evaluate(&event, &policy, now);
        }
    }
});
