//! The okta-hook's request entry, as AWS drives it: a Lambda function URL event (JSON, body plain or base64) →
//! `lambda_http`'s request → `okta_hook::handle` with an in-memory queue.
//!
//! Input: starting with `{`, the bytes are a whole function URL event (the seeds: events/okta-hook). Otherwise the
//! rest is read by `arbitrary` as a request (method, secret header in any spelling, extra headers, body, base64 or
//! not) and wrapped in an event, so the fuzzer also reaches past the secret check.
//!
//! Contract: no panic; the answer is one of the documented statuses with a JSON body; a 200 needs a held secret
//! in an `authorization` header; only an accepted POST queues jobs, and the answer counts exactly those.
#![no_main]
#![forbid(unsafe_code)]

use std::sync::OnceLock;

use base64::Engine;
use chrono::{DateTime, Duration, Utc};
use lambda_http::Request;
use libfuzzer_sys::arbitrary::{self, Arbitrary, Unstructured};
use libfuzzer_sys::fuzz_target;
use secrecy::SecretString;
use serde_json::{Value, json};
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
    let Ok(mut raw) = serde_json::from_slice::<Value>(&event) else {
        return;
    };
    // AWS writes the event, and some of it no caller controls: with `isBase64Encoded` the body is always valid
    // base64; `host` and `requestContext.domainName` are the function URL's domain (AWS routes by it — UNVERIFIED
    // that no other Host header reaches the function) and `x-forwarded-proto` is https. lambda_http panics on
    // anything else (aws_lambda_events' base64 body decoder; `Url::parse(..).unwrap()` on scheme + host + path
    // when it builds the URI), before the hook sees the request, so those are set as AWS sets them.
    if raw["isBase64Encoded"] == Value::Bool(true)
        && raw["body"]
            .as_str()
            .is_some_and(|b| base64::engine::general_purpose::STANDARD.decode(b).is_err())
    {
        return;
    }
    if let Some(headers) = raw.get_mut("headers").and_then(Value::as_object_mut) {
        headers.retain(|name, _| !name.eq_ignore_ascii_case("host") && !name.eq_ignore_ascii_case("x-forwarded-proto"));
        headers.insert("host".into(), template()["headers"]["host"].clone());
        headers.insert("x-forwarded-proto".into(), Value::String("https".into()));
    }
    if let Some(context) = raw.get_mut("requestContext").and_then(Value::as_object_mut) {
        // lambda_http's fallback when no host header came.
        context.insert("domainName".into(), template()["requestContext"]["domainName"].clone());
    }
    // An HTTP request's path starts with `/` (UNVERIFIED that AWS never passes another request target on);
    // lambda_http appends it to the host, where `x:1x` would read as a bad port.
    if let Some(path) = raw.get_mut("rawPath")
        && let Some(text) = path.as_str()
        && !text.starts_with('/')
    {
        *path = Value::String(format!("/{text}"));
    }
    // A query of characters a URI cannot hold: lambda_http's request builder panics (`expect`) on it. Whether AWS
    // passes such a query on is UNVERIFIED (see the README's Fuzzing section); the hook reads no query, so it is
    // dropped here.
    if raw["rawQueryString"]
        .as_str()
        .is_some_and(|q| !q.bytes().all(|b| b.is_ascii_graphic() && !b"\"<>\\^`{|}".contains(&b)))
    {
        raw["rawQueryString"] = Value::String(String::new());
    }
    let text = raw.to_string();
    // What AWS would refuse to deliver is not the hook's to answer.
    let Ok(request): Result<Request, _> = lambda_http::request::from_str(&text) else {
        return;
    };
    let carries_held_secret = request
        .headers()
        .get_all("authorization")
        .iter()
        .any(|v| v.as_bytes() == NEW_SECRET.as_bytes() || v.as_bytes() == OLD_SECRET.as_bytes());
    let method = request.method().clone();

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
    let response = runtime().block_on(okta_hook::handle(&queue, &hook, request, now()));

    let status = response.status().as_u16();
    assert!([200, 400, 401, 405, 413].contains(&status), "status {status}");
    let body: Value = serde_json::from_slice(response.body().as_ref()).expect("every answer is JSON");
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
