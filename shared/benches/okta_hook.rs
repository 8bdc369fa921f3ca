//! How long the hook takes to turn a 100-event delivery into verification jobs (parse + select).
//! Target: well under 5 ms, inside Okta's 3 s budget with the queue call. Run: `cargo bench -p shared`.
#![forbid(unsafe_code)]

use std::hint::black_box;

use chrono::Duration;
use criterion::{Criterion, criterion_group, criterion_main};
use shared::domain::deprovision::select_jobs;
use shared::domain::{JobSource, OktaAppId};
use shared::okta::event_hook::parse_delivery;

/// A delivery of 100 events built from the mixed-batch fixture (deprovisions and noise), with unique uuids.
fn hundred_event_delivery() -> Vec<u8> {
    let fixture: serde_json::Value =
        serde_json::from_str(include_str!("../../events/okta-hook/mixed-batch.json")).expect("fixture parses");
    let body: serde_json::Value =
        serde_json::from_str(fixture["body"].as_str().expect("fixture has a body")).expect("body parses");
    let samples = body["data"]["events"].as_array().expect("events").clone();
    let events: Vec<serde_json::Value> = (0..100)
        .map(|i| {
            let mut event = samples[i % samples.len()].clone();
            event["uuid"] = format!("bench-{i:04}-2837-11eb-9823-9fb8f750c5a9").into();
            event
        })
        .collect();
    let mut delivery = body;
    delivery["data"]["events"] = events.into();
    serde_json::to_vec(&delivery).expect("serialises")
}

fn parse_and_select(c: &mut Criterion) {
    let body = hundred_event_delivery();
    let app = OktaAppId::parse("0oa1awsidc00000001").expect("app id");
    c.bench_function("okta_hook parse+select, 100 events", |b| {
        b.iter(|| {
            let delivery = parse_delivery(black_box(&body)).expect("delivery parses");
            select_jobs(
                &delivery.events,
                Some(&app),
                Duration::seconds(900),
                JobSource::EventHook,
            )
        })
    });
}

criterion_group!(benches, parse_and_select);
criterion_main!(benches);
