//! A front that answers like AWS in front of moto: a local HTTP proxy between the SDK and moto that enforces each
//! API family's TPS (a token bucket per family; over it, the call is refused with the family's throttling error,
//! as AWS does) and adds a fixed latency to every call. What the review's inventory is measured against: calls
//! per family, throttled calls, the most calls in flight at once.
//!
//! `throttle_next` makes a family refuse its next calls whatever the rate (AWS throttling an account's other
//! callers too): what the SDK's retries and the checker's batch response are tested against.
//!
//! Families are read from the JSON protocol's `X-Amz-Target` prefix: `AWSIdentityStore.` (identitystore),
//! `SWBExternalService.` (sso-admin), `AWSOrganizationsV20161128.` (organizations),
//! `CloudTrail_20131101.` (cloudtrail). Anything else (STS) passes unlimited.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use tokio::task::JoinHandle;

/// A family's rate at the front, and the burst its bucket holds.
#[derive(Debug, Clone, Copy)]
pub struct FrontLimit {
    pub per_second: f64,
    /// Tokens the bucket holds when full (AWS does not publish its burst; a quarter second's worth, at least 2,
    /// keeps a client that spaces its calls at the rate from being throttled by network jitter alone).
    pub burst: f64,
}

impl FrontLimit {
    pub fn tps(per_second: f64) -> Self {
        Self {
            per_second,
            burst: (per_second / 4.0).max(2.0),
        }
    }
}

/// What the front saw of one family.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FamilyTraffic {
    /// Calls answered by moto (not throttled), by operation.
    pub calls: BTreeMap<String, u64>,
    pub throttled: u64,
    pub peak_in_flight: usize,
}

impl FamilyTraffic {
    pub fn total(&self) -> u64 {
        self.calls.values().sum()
    }
}

#[derive(Debug)]
struct Bucket {
    limit: FrontLimit,
    tokens: f64,
    at: Instant,
}

impl Bucket {
    fn take(&mut self, now: Instant) -> bool {
        let refill = now.duration_since(self.at).as_secs_f64() * self.limit.per_second;
        self.tokens = (self.tokens + refill).min(self.limit.burst);
        self.at = now;
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

#[derive(Debug)]
struct Family {
    name: &'static str,
    target_prefix: &'static str,
    throttle_code: &'static str,
    bucket: Mutex<Bucket>,
    traffic: Mutex<FamilyTraffic>,
    in_flight: AtomicUsize,
    /// Calls still to refuse whatever the bucket holds (`throttle_next`).
    forced: AtomicUsize,
}

#[derive(Debug)]
struct FrontState {
    upstream: String,
    latency: Duration,
    families: Vec<Family>,
    http: reqwest::Client,
}

/// A running front; stops when dropped.
#[derive(Debug)]
pub struct AwsFront {
    url: String,
    state: Arc<FrontState>,
    server: JoinHandle<()>,
}

impl Drop for AwsFront {
    fn drop(&mut self) {
        self.server.abort();
    }
}

/// The families and their documented rates (see `shared::rate_limit::ApiFamily::documented_per_second`).
pub fn documented_limits() -> Vec<(&'static str, FrontLimit)> {
    vec![
        ("identitystore", FrontLimit::tps(20.0)),
        ("sso-admin", FrontLimit::tps(20.0)),
        ("organizations", FrontLimit::tps(5.0)),
        ("cloudtrail", FrontLimit::tps(2.0)),
    ]
}

impl AwsFront {
    /// Listens on a local port, forwarding to `upstream` (moto's endpoint) after `latency`, enforcing `limits`
    /// (family name → limit; families not named pass unlimited).
    pub async fn start(upstream: &str, latency: Duration, limits: &[(&'static str, FrontLimit)]) -> Self {
        let known: [(&'static str, &'static str, &'static str); 4] = [
            ("identitystore", "AWSIdentityStore.", "ThrottlingException"),
            ("sso-admin", "SWBExternalService.", "ThrottlingException"),
            (
                "organizations",
                "AWSOrganizationsV20161128.",
                "TooManyRequestsException",
            ),
            ("cloudtrail", "CloudTrail_20131101.", "ThrottlingException"),
        ];
        let now = Instant::now();
        let families = known
            .into_iter()
            .map(|(name, target_prefix, throttle_code)| {
                let limit = limits
                    .iter()
                    .find(|(n, _)| *n == name)
                    .map_or(FrontLimit::tps(1e9), |(_, l)| *l);
                Family {
                    name,
                    target_prefix,
                    throttle_code,
                    bucket: Mutex::new(Bucket {
                        limit,
                        tokens: limit.burst,
                        at: now,
                    }),
                    traffic: Mutex::default(),
                    in_flight: AtomicUsize::new(0),
                    forced: AtomicUsize::new(0),
                }
            })
            .collect();
        let state = Arc::new(FrontState {
            upstream: upstream.trim_end_matches('/').to_owned(),
            latency,
            families,
            http: reqwest::Client::builder()
                .pool_max_idle_per_host(64)
                .build()
                .expect("an HTTP client"),
        });
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind the AWS front to a local port");
        let url = format!("http://{}", listener.local_addr().expect("the front's address"));
        let router = Router::new().fallback(forward).with_state(state.clone());
        let server = tokio::spawn(async move {
            let _ = axum::serve(listener, router).await;
        });
        Self { url, state, server }
    }

    /// The endpoint to give the SDK (`endpoint_url`).
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The family's next `calls` calls are refused with its throttling error, whatever its rate.
    pub fn throttle_next(&self, family: &str, calls: usize) {
        let family = self
            .state
            .families
            .iter()
            .find(|f| f.name == family)
            .unwrap_or_else(|| panic!("no family {family} at the front"));
        family.forced.store(calls, Ordering::SeqCst);
    }

    /// What each family saw so far, by family name.
    pub fn traffic(&self) -> BTreeMap<&'static str, FamilyTraffic> {
        self.state
            .families
            .iter()
            .map(|f| (f.name, lock(&f.traffic).clone()))
            .collect()
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

async fn forward(
    State(state): State<Arc<FrontState>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let target = headers
        .get("x-amz-target")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned();
    // The SDK sends `CloudTrail_20131101.LookupEvents`; moto's test-only actions the long form.
    let short = target
        .strip_prefix("com.amazonaws.cloudtrail.v20131101.")
        .unwrap_or(&target);
    let family = state.families.iter().find(|f| short.starts_with(f.target_prefix));
    let operation = target.rsplit('.').next().unwrap_or("unknown").to_owned();
    if let Some(family) = family {
        let forced = family
            .forced
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |left| left.checked_sub(1))
            .is_ok();
        let admitted = !forced && lock(&family.bucket).take(Instant::now());
        if !admitted {
            lock(&family.traffic).throttled += 1;
            tokio::time::sleep(state.latency).await;
            let body = serde_json::json!({"__type": family.throttle_code, "message": "Rate exceeded"});
            return (
                StatusCode::BAD_REQUEST,
                [
                    ("content-type", "application/x-amz-json-1.1"),
                    ("x-amzn-errortype", family.throttle_code),
                ],
                body.to_string(),
            )
                .into_response();
        }
        let now = family.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
        let mut traffic = lock(&family.traffic);
        traffic.peak_in_flight = traffic.peak_in_flight.max(now);
        *traffic.calls.entry(operation).or_default() += 1;
    }
    tokio::time::sleep(state.latency).await;
    let answer = relay(&state, method, &uri, &headers, body).await;
    if let Some(family) = family {
        family.in_flight.fetch_sub(1, Ordering::SeqCst);
    }
    answer
}

async fn relay(state: &FrontState, method: Method, uri: &Uri, headers: &HeaderMap, body: Bytes) -> Response {
    let path = uri.path_and_query().map_or("/", |p| p.as_str());
    let mut request = state.http.request(method, format!("{}{path}", state.upstream));
    for (name, value) in headers {
        if name != "host" && name != "content-length" {
            request = request.header(name, value);
        }
    }
    match request.body(body).send().await {
        Ok(upstream) => {
            let status = upstream.status();
            let mut response = Response::builder().status(status.as_u16());
            for (name, value) in upstream.headers() {
                if name != "content-length" && name != "transfer-encoding" && name != "connection" {
                    response = response.header(name, value);
                }
            }
            let bytes = upstream.bytes().await.unwrap_or_default();
            response
                .body(Body::from(bytes))
                .unwrap_or_else(|_| StatusCode::BAD_GATEWAY.into_response())
        }
        Err(e) => (StatusCode::BAD_GATEWAY, format!("front could not reach moto: {e}")).into_response(),
    }
}
