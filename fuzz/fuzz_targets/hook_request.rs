//! The okta-hook's request entry, as AWS drives it: a Lambda function URL event (JSON, body plain or base64) →
//! `okta_hook::handle_event` (its own event decoding, `aws::function_url`) with an in-memory queue.
//!
//! Input: starting with `{`, the bytes are a whole function URL event (the seeds: events/okta-hook). Otherwise the
//! rest is read by `arbitrary` as a request (method, secret header in any spelling, extra headers, body, base64 or
//! not) and wrapped in an event, so the fuzzer also reaches past the secret check.
//!
//! Contract: no panic on any JSON event (nothing is sanitised); the answer is function URL response JSON with one
//! of the documented statuses and a JSON body; an event that does not decode is a 400; a 200 needs a held secret
//! in an `authorization` header; only an accepted POST queues jobs, and the answer counts exactly those.
#![no_main]
#![forbid(unsafe_code)]

use std::sync::OnceLock;

use base64::Engine;
use chrono::{DateTime, Duration, Utc};
use libfuzzer_sys::arbitrary::{self, Arbitrary, Unstructured};
use libfuzzer_sys::fuzz_target;
use secrecy::SecretString;
use serde_json::{Value, json};
use shared::aws::function_url;
use shared::domain::OktaAppId;
use shared::handlers::okta_hook::{self, HookConfig, OktaHook};
use shared::hook_secret::{HookSecret, SecretTiming, SourcedSecret};
use shared::in_memory::{RecordingJobQueue, RecordingMetrics};

/// What the fuzzed hook holds: two values, as during a rotation (the seeds carry the second).
const NEW_SECRET: &str = "brand-new-secret";
const OLD_SECRET: &str = "test-hook-secret-not-for-production";

#[derive(Debug, Arbitrary)]
enum Method {
    Get,
    Post,
    Other(String),
}

#[derive(Debug, Arbitrary)]
enum Presented {
    Missing,
    New,
    Old,
    /// A held value with something before or after it.
    Padded(bool, String, String),
    Other(String),
}

#[derive(Debug, Arbitrary)]
struct Shaped {
    method: Method,
    /// Case pattern of the header name (`authorization`, `Authorization`, `AUTHORIZATION`, …).
    header_case: u16,
    presented: Presented,
    challenge: Option<String>,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
    base64: bool,
}

fn template() -> &'static Value {
    static TEMPLATE: OnceLock<Value> = OnceLock::new();
    TEMPLATE.get_or_init(|| {
        serde_json::from_str(include_str!("../../events/okta-hook/user-deactivated.json")).expect("a fixture")
    })
}

fn spelled(name: &str, pattern: u16) -> String {
    name.chars()
        .enumerate()
        .map(|(i, c)| {
            if pattern >> (i % 16) & 1 == 1 {
                c.to_ascii_uppercase()
            } else {
                c
            }
        })
        .collect()
}

fn event_of(shaped: Shaped) -> Vec<u8> {
    let mut event = template().clone();
    let mut headers = serde_json::Map::new();
    for (name, value) in shaped.headers {
        headers.insert(name, Value::String(value));
    }
    let secret = match shaped.presented {
        Presented::Missing => None,
        Presented::New => Some(NEW_SECRET.to_owned()),
        Presented::Old => Some(OLD_SECRET.to_owned()),
        Presented::Padded(new, before, after) => {
            Some(format!("{before}{}{after}", if new { NEW_SECRET } else { OLD_SECRET }))
        }
        Presented::Other(other) => Some(other),
    };
    if let Some(secret) = secret {
        headers.insert(spelled("authorization", shaped.header_case), Value::String(secret));
    }
    if let Some(challenge) = shaped.challenge {
        headers.insert(okta_hook::VERIFICATION_HEADER.into(), Value::String(challenge));
    }
    let method = match shaped.method {
        Method::Get => "GET".to_owned(),
        Method::Post => "POST".to_owned(),
        Method::Other(other) => other,
    };
    let body = if shaped.base64 {
        base64::engine::general_purpose::STANDARD.encode(&shaped.body)
    } else {
        String::from_utf8_lossy(&shaped.body).into_owned()
    };
    event["headers"] = Value::Object(headers);
    event["requestContext"]["http"]["method"] = Value::String(method);
    event["isBase64Encoded"] = Value::Bool(shaped.base64);
    event["body"] = Value::String(body);
    serde_json::to_vec(&event).expect("a JSON value serialises")
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

fn now() -> DateTime<Utc> {
    "2026-11-20T09:12:50Z".parse().expect("a time")
}

fuzz_target!(|data: &[u8]| {
    let event = match data.split_first() {
        Some((b'{', _)) => data.to_vec(),
        Some((_, rest)) => match Shaped::arbitrary_take_rest(Unstructured::new(rest)) {
            Ok(shaped) => event_of(shaped),
            Err(_) => return,
        },
        None => return,
    };
    // lambda_runtime hands the hook any JSON value; bytes that are not JSON never reach it.
    let Ok(event) = serde_json::from_slice::<Value>(&event) else {
        return;
    };
    // Nothing is sanitised: any event, whatever AWS would write, must be answered without a panic.
    let decodes = function_url::decode_request(event.clone()).is_ok();
    let carries_held_secret = event["headers"].as_object().is_some_and(|headers| {
        headers.iter().any(|(name, value)| {
            name.eq_ignore_ascii_case("authorization")
                && (value.as_str() == Some(NEW_SECRET) || value.as_str() == Some(OLD_SECRET))
        })
    });
    let method = event["requestContext"]["http"]["method"]
        .as_str()
        .unwrap_or_default()
        .to_owned();

    let hook = OktaHook::new(
        HookConfig {
            auth_header: "authorization".into(),
            propagation_window: Duration::seconds(900),
            aws_app_id: Some(OktaAppId::parse("0oa1awsidc00000001").expect("an app id")),
        },
        HookSecret::new(
            SourcedSecret::Plain(SecretString::from(format!("{NEW_SECRET}\n{OLD_SECRET}\n"))),
            SecretTiming::default(),
        ),
        RecordingMetrics::default(),
    );
    let queue = RecordingJobQueue::default();
    let answer = runtime().block_on(okta_hook::handle_event(&queue, &hook, event, now()));

    let status = answer["statusCode"].as_u64().expect("a status code");
    assert!([200, 400, 401, 405, 413].contains(&status), "status {status}");
    if !decodes {
        assert_eq!(status, 400, "an event that does not decode is a 400");
    }
    assert_eq!(answer["isBase64Encoded"], json!(false));
    assert_eq!(answer["headers"]["content-type"], json!("application/json"));
    let body: Value =
        serde_json::from_str(answer["body"].as_str().expect("a text body")).expect("every answer is JSON");
    let queued = queue.jobs().len();
    if status == 200 {
        assert!(carries_held_secret, "200 without a held secret");
        assert!(method == "GET" || method == "POST");
    }
    if status == 200 && method == "POST" {
        assert_eq!(body["queued"], json!(queued), "the answer counts what was queued");
    } else {
        assert_eq!(queued, 0, "only an accepted POST queues jobs ({status})");
    }
    assert_eq!(hook.metrics.lines().len(), 1, "one HookAnswers line per request");
});
