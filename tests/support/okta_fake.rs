//! A local Okta org: a real HTTP server (axum on 127.0.0.1, an ephemeral port) that speaks the parts of Okta's
//! management API the auditor reads, with Okta's shapes and habits, seeded from domain types.
//!
//! - `GET /api/v1/users` (the plain list leaves DEPROVISIONED out; `filter` takes `status eq "…"` and
//!   `profile.login eq "…"`), `GET /api/v1/users/{id, login or login shortname}`, `…/{id}/groups`
//! - `GET /api/v1/apps/{id}/users/{userId}`: the app user (404 `E0000007` when the user is not assigned)
//! - `GET /api/v1/groups`, `GET /api/v1/groups/{id}/users`
//! - `GET /api/v1/apps` (the one app), `GET /api/v1/apps/{id}`, `…/users`, `…/groups` (the groups assigned to the
//!   app: `assign_groups_to_app`), `…/group-push/mappings`, `…/credentials/keys`
//! - `GET /api/v1/logs` with `since`, `until`, `after`, `limit`, `filter` (`eventType eq "…"` joined by `or`): with
//!   `until` a bounded query (ordered by `published`); without, Okta's polling query (ordered by when the fake
//!   stored the event: `append_log` adds events later, as Okta stores delayed ones), whose `after` cursor is a
//!   position in the log and whose next link is on every page, the last (empty) one included. `since` and `after`
//!   are mutually exclusive (400), so next links drop `since`.
//! - `POST /oauth2/v1/token`: client credentials with a `private_key_jwt` assertion, checked against the
//!   service app's public key (signature, `aud`, `iss` = `sub` = client id, `exp` at most 1 h ahead, `jti` once)
//!
//! Lists page with `limit` and an `after` cursor and answer `Link` headers (`rel="self"`, `rel="next"`), one per
//! header as Okta does. The System Log offers a next link on every page, as Okta's polling queries do. Every
//! answer carries `X-Rate-Limit-Limit/Remaining/Reset`. `/api/` wants `SSWS {API_TOKEN}` or a Bearer token this
//! fake issued; anything else gets 401 `E0000011`. Faults (429 with a reset, 500, slowness, a truncated body) are
//! injected per path prefix, and requests are counted per path.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, Query, Request, State};
use axum::http::header::{AUTHORIZATION, DATE, LINK};
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode, Uri};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use chrono::{DateTime, SecondsFormat, Utc};
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use secrecy::SecretString;
use serde::Deserialize;
use serde_json::{Value, json};
use shared::domain::{
    AppUser, GroupPushMapping, OktaApp, OktaGroup, OktaLogEvent, OktaSide, OktaUser, OktaUserStatus, SigningKey,
};
use shared::okta::{Credentials, OktaConfig, RetryPolicy, ServiceApp};
use tokio::task::JoinHandle;
use url::Url;

/// The SSWS API token the fake accepts.
pub const API_TOKEN: &str = "00fakeOktaApiTokenForTests0000000000000000";
/// The service app's client id.
pub const CLIENT_ID: &str = "0oafakeserviceapp0001";
/// The `kid` of the service app's registered key.
pub const KEY_ID: &str = "test-service-app-key";
/// The service app's private key (test-only, see tests/fixtures/README.md).
pub const SERVICE_APP_PRIVATE_KEY: &str = include_str!("../fixtures/okta-service-app.key.pem");
const SERVICE_APP_PUBLIC_KEY: &str = include_str!("../fixtures/okta-service-app.pub.pem");
/// A private key the fake has never seen.
pub const UNREGISTERED_PRIVATE_KEY: &str = include_str!("../fixtures/okta-unregistered.key.pem");

const GRANTED_SCOPES: [&str; 4] = ServiceApp::READ_SCOPES;
const RATE_LIMIT: u64 = 600;
const CREATED: &str = "2023-01-09T15:00:00.000Z";

/// What the next answers for a path prefix do instead of (or before) answering.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// 429 `E0000047` with `X-Rate-Limit-Reset` this many seconds after the answer's `Date`.
    RateLimited { reset_in_secs: u64 },
    /// 500 `E0000009`.
    ServerError,
    /// Sleeps this long, then answers normally.
    Slow(Duration),
    /// Answers normally, but only the first half of the body (a connection cut mid-answer, a proxy's truncation).
    Truncated,
    /// A 200 whose body is this many bytes of JSON array (a broken proxy, a hostile endpoint), sent in chunks.
    Huge(usize),
}

/// A running fake; the server stops when this is dropped.
#[derive(Debug)]
pub struct OktaFake {
    url: Url,
    state: Arc<FakeState>,
    server: JoinHandle<()>,
}

#[derive(Debug)]
struct FakeState {
    base: Url,
    users: Vec<OktaUser>,
    groups: Vec<OktaGroup>,
    /// Each user's and each group's position by id, and each user's groups: built once, so a page costs its own
    /// records and not a scan of the whole org per record (the bench's org has 10,000 users).
    user_at: HashMap<String, usize>,
    group_at: HashMap<String, usize>,
    groups_of: HashMap<String, Vec<usize>>,
    app: OktaApp,
    /// The groups assigned to the app (`GET /api/v1/apps/{id}/groups`).
    app_groups: Mutex<Vec<String>>,
    /// In the order stored: the seeded events by `published`, then whatever `append_log` added.
    log: Mutex<Vec<OktaLogEvent>>,
    /// The uuid of every System Log event answered, in order, repeats included.
    served_log: Mutex<Vec<String>>,
    service_app_key: DecodingKey,
    faults: Mutex<Vec<(String, usize, Fault)>>,
    requests: Mutex<HashMap<String, usize>>,
    issued_tokens: Mutex<HashSet<String>>,
    used_assertions: Mutex<HashSet<String>>,
}

impl Drop for OktaFake {
    fn drop(&mut self) {
        self.server.abort();
    }
}

impl OktaFake {
    /// Serves `okta` (users, groups, the app) and `log` on the current tokio runtime.
    pub async fn start(okta: OktaSide, mut log: Vec<OktaLogEvent>) -> Self {
        log.sort_by_key(|event| event.published);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind the Okta fake to a local port");
        let address = listener.local_addr().expect("the Okta fake's address");
        let url = Url::parse(&format!("http://{address}/")).expect("the Okta fake's URL");
        let user_at = okta
            .users
            .iter()
            .enumerate()
            .map(|(i, u)| (u.id.to_string(), i))
            .collect();
        let group_at = okta
            .groups
            .iter()
            .enumerate()
            .map(|(i, g)| (g.id.to_string(), i))
            .collect();
        let mut groups_of: HashMap<String, Vec<usize>> = HashMap::new();
        for (i, group) in okta.groups.iter().enumerate() {
            for member in &group.members {
                groups_of.entry(member.to_string()).or_default().push(i);
            }
        }
        let state = Arc::new(FakeState {
            base: url.clone(),
            users: okta.users,
            groups: okta.groups,
            user_at,
            group_at,
            groups_of,
            app: okta.app,
            app_groups: Mutex::default(),
            log: Mutex::new(log),
            served_log: Mutex::default(),
            service_app_key: DecodingKey::from_rsa_pem(SERVICE_APP_PUBLIC_KEY.as_bytes())
                .expect("the service app's public key fixture"),
            faults: Mutex::default(),
            requests: Mutex::default(),
            issued_tokens: Mutex::default(),
            used_assertions: Mutex::default(),
        });
        let router = Router::new()
            .route("/api/v1/users", get(list_users))
            .route("/api/v1/users/{id}", get(get_user))
            .route("/api/v1/users/{id}/groups", get(list_user_groups))
            .route("/api/v1/groups", get(list_groups))
            .route("/api/v1/groups/{id}/users", get(list_group_users))
            .route("/api/v1/apps", get(list_apps))
            .route("/api/v1/apps/{id}", get(get_app))
            .route("/api/v1/apps/{id}/users", get(list_app_users))
            .route("/api/v1/apps/{id}/users/{user_id}", get(get_app_user))
            .route("/api/v1/apps/{id}/groups", get(list_app_groups))
            .route("/api/v1/apps/{id}/group-push/mappings", get(list_push_mappings))
            .route("/api/v1/apps/{id}/credentials/keys", get(list_app_keys))
            .route("/api/v1/logs", get(list_log_events))
            .route("/oauth2/v1/token", post(issue_token))
            .fallback(|| async {
                okta_error(
                    StatusCode::NOT_FOUND,
                    "E0000022",
                    "The endpoint does not support the provided HTTP method",
                )
            })
            .layer(middleware::from_fn_with_state(state.clone(), okta_edge))
            .with_state(state.clone());
        let server = tokio::spawn(async move {
            let _ = axum::serve(listener, router).await;
        });
        Self { url, state, server }
    }

    /// `http://127.0.0.1:{port}/`
    pub fn url(&self) -> Url {
        self.url.clone()
    }

    /// A client config for this fake: pages of 2 (so a handful of records spans many pages), a 2 s timeout, and
    /// fast retries (3 attempts, 10 ms backoff, no reset margin, waits of at most 2 s).
    pub fn client_config(&self, credentials: Credentials) -> OktaConfig {
        OktaConfig {
            page_size: 2,
            timeout: Duration::from_secs(2),
            retry: RetryPolicy {
                max_attempts: 3,
                base_backoff: Duration::from_millis(10),
                max_wait: Duration::from_secs(2),
                reset_margin: Duration::ZERO,
            },
            ..OktaConfig::new(self.url(), credentials)
        }
    }

    /// Assigns these Okta groups to the app (their members get the app through the group).
    pub fn assign_groups_to_app<'a>(&self, group_ids: impl IntoIterator<Item = &'a str>) {
        lock(&self.state.app_groups).extend(group_ids.into_iter().map(str::to_owned));
    }

    /// The next `times` requests whose path starts with `path_prefix` meet `fault`.
    pub fn fail_next(&self, path_prefix: &str, times: usize, fault: Fault) {
        lock(&self.state.faults).push((path_prefix.to_owned(), times, fault));
    }

    /// Stores `events` after everything already in the log, whatever their `published` (Okta stores some events
    /// late): a polling query from an earlier cursor answers them next.
    pub fn append_log(&self, events: impl IntoIterator<Item = OktaLogEvent>) {
        lock(&self.state.log).extend(events);
    }

    /// The uuid of every System Log event the fake answered so far, in order, repeats included.
    pub fn served_log_events(&self) -> Vec<String> {
        lock(&self.state.served_log).clone()
    }

    /// How many requests reached exactly `path` (faulted ones included).
    pub fn requests(&self, path: &str) -> usize {
        lock(&self.state.requests).get(path).copied().unwrap_or(0)
    }

    /// How many requests reached a path starting with `prefix`.
    pub fn requests_under(&self, prefix: &str) -> usize {
        lock(&self.state.requests)
            .iter()
            .filter(|(path, _)| path.starts_with(prefix))
            .map(|(_, count)| count)
            .sum()
    }
}

/// The API token the fake accepts, as client credentials.
pub fn api_token() -> Credentials {
    Credentials::ApiToken(SecretString::from(API_TOKEN.to_owned()))
}

/// The fake's service app, signing its assertions with `private_key_pem`.
pub fn service_app(private_key_pem: &str) -> Credentials {
    Credentials::ServiceApp(ServiceApp::new(
        CLIENT_ID,
        SecretString::from(private_key_pem.to_owned()),
        Some(KEY_ID.to_owned()),
    ))
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

// ---------------------------------------------------------------------------------------------------------------
// The edge: counting, faults, authentication, rate-limit headers.

async fn okta_edge(State(state): State<Arc<FakeState>>, request: Request, next: Next) -> Response {
    let path = request.uri().path().to_owned();
    let seen = {
        let mut requests = lock(&state.requests);
        let count = requests.entry(path.clone()).or_default();
        *count += 1;
        *count as u64
    };
    match take_fault(&state, &path) {
        Some(Fault::RateLimited { reset_in_secs }) => return rate_limited(reset_in_secs),
        Some(Fault::ServerError) => {
            return with_rate_limit_headers(
                okta_error(StatusCode::INTERNAL_SERVER_ERROR, "E0000009", "Internal Server Error"),
                seen,
            );
        }
        Some(Fault::Slow(delay)) => tokio::time::sleep(delay).await,
        Some(Fault::Truncated) => return truncated(next.run(request).await).await,
        Some(Fault::Huge(bytes)) => return huge(bytes),
        None => {}
    }
    if path.starts_with("/api/") && !authorized(&state, request.headers()) {
        return with_rate_limit_headers(
            okta_error(StatusCode::UNAUTHORIZED, "E0000011", "Invalid token provided"),
            seen,
        );
    }
    with_rate_limit_headers(next.run(request).await, seen)
}

/// `answer` with its status and headers, but only the first half of its body.
async fn truncated(answer: Response) -> Response {
    let (mut parts, body) = answer.into_parts();
    let bytes = axum::body::to_bytes(body, usize::MAX).await.unwrap_or_default();
    parts.headers.remove(axum::http::header::CONTENT_LENGTH);
    let half = bytes.slice(..bytes.len() / 2);
    Response::from_parts(parts, axum::body::Body::from(half))
}

/// A 200 of `bytes` bytes: `[` then spaces, streamed (no Content-Length).
fn huge(bytes: usize) -> Response {
    const CHUNK: usize = 64 * 1024;
    let chunks = (0..bytes.div_ceil(CHUNK)).map(move |i| {
        let len = CHUNK.min(bytes - i * CHUNK);
        let mut chunk = vec![b' '; len];
        if i == 0 && len > 0 {
            chunk[0] = b'[';
        }
        Ok::<_, std::convert::Infallible>(axum::body::Bytes::from(chunk))
    });
    Response::new(axum::body::Body::from_stream(futures_util::stream::iter(chunks)))
}

fn take_fault(state: &FakeState, path: &str) -> Option<Fault> {
    let mut faults = lock(&state.faults);
    let (_, left, fault) = faults
        .iter_mut()
        .find(|(prefix, left, _)| *left > 0 && path.starts_with(prefix.as_str()))?;
    *left -= 1;
    Some(*fault)
}

fn authorized(state: &FakeState, headers: &HeaderMap) -> bool {
    let Some(value) = headers.get(AUTHORIZATION).and_then(|v| v.to_str().ok()) else {
        return false;
    };
    match value.split_once(' ') {
        Some(("SSWS", token)) => token == API_TOKEN,
        Some(("Bearer", token)) => lock(&state.issued_tokens).contains(token),
        _ => false,
    }
}

fn with_rate_limit_headers(mut response: Response, seen: u64) -> Response {
    let headers = response.headers_mut();
    let reset = Utc::now().timestamp() + 60;
    headers.insert(rate_limit_header("limit"), number(RATE_LIMIT));
    headers.insert(
        rate_limit_header("remaining"),
        number(RATE_LIMIT.saturating_sub(seen % RATE_LIMIT)),
    );
    headers.insert(rate_limit_header("reset"), number(reset.max(0) as u64));
    response
}

/// 429 as Okta sends it: `E0000047`, remaining 0, and a reset `reset_in_secs` after the answer's own `Date`.
fn rate_limited(reset_in_secs: u64) -> Response {
    let now = Utc::now();
    let mut response = okta_error(
        StatusCode::TOO_MANY_REQUESTS,
        "E0000047",
        "API call exceeded rate limit due to too many requests.",
    );
    let headers = response.headers_mut();
    headers.insert(DATE, http_date(now));
    headers.insert(rate_limit_header("limit"), number(RATE_LIMIT));
    headers.insert(rate_limit_header("remaining"), number(0));
    headers.insert(
        rate_limit_header("reset"),
        number(now.timestamp().max(0) as u64 + reset_in_secs),
    );
    response
}

fn rate_limit_header(which: &str) -> HeaderName {
    HeaderName::try_from(format!("x-rate-limit-{which}")).expect("a valid header name")
}

fn number(value: u64) -> HeaderValue {
    HeaderValue::from(value)
}

fn http_date(at: DateTime<Utc>) -> HeaderValue {
    HeaderValue::from_str(&at.format("%a, %d %b %Y %H:%M:%S GMT").to_string()).expect("an HTTP date")
}

fn okta_error(status: StatusCode, code: &str, summary: &str) -> Response {
    let body = json!({
        "errorCode": code,
        "errorSummary": summary,
        "errorLink": code,
        "errorId": "oaeFakeErrorId0000000000",
        "errorCauses": [],
    });
    (status, axum::Json(body)).into_response()
}

fn not_found(id: &str, kind: &str) -> Response {
    okta_error(
        StatusCode::NOT_FOUND,
        "E0000007",
        &format!("Not found: Resource not found: {id} ({kind})"),
    )
}

// ---------------------------------------------------------------------------------------------------------------
// Paging: `limit` and an `after` cursor (the last record's key), with `Link` headers.

type Params = Query<HashMap<String, String>>;

struct Listing<'a> {
    /// Each record's cursor key, in order.
    keys: Vec<String>,
    /// The record at a position, built only when its page is answered.
    record: Box<dyn Fn(usize) -> Value + 'a>,
    default_limit: usize,
    max_limit: usize,
    /// The System Log offers a next link on every page, even the last (empty) one.
    always_next: bool,
    /// Parameters the next link leaves out (the System Log's `since`, exclusive with `after`).
    dropped_from_next: &'static [&'static str],
}

impl<'a> Listing<'a> {
    /// (cursor key, record) pairs, built in full: for short lists.
    fn new(records: Vec<(String, Value)>, default_limit: usize, max_limit: usize) -> Self {
        let (keys, values): (Vec<String>, Vec<Value>) = records.into_iter().unzip();
        Self::lazy(
            keys,
            move |i| values.get(i).cloned().unwrap_or(Value::Null),
            default_limit,
            max_limit,
        )
    }

    /// Keys, and the record at a position built only for the page answered: for the org-sized lists.
    fn lazy(keys: Vec<String>, record: impl Fn(usize) -> Value + 'a, default_limit: usize, max_limit: usize) -> Self {
        Self {
            keys,
            record: Box::new(record),
            default_limit,
            max_limit,
            always_next: false,
            dropped_from_next: &[],
        }
    }

    fn with_next_on_every_page(self) -> Self {
        Self {
            always_next: true,
            dropped_from_next: &["since"],
            ..self
        }
    }
}

fn list_answer(state: &FakeState, uri: &Uri, params: &HashMap<String, String>, listing: Listing) -> Response {
    match list_page(state, uri, params, &listing) {
        Ok(page) => (page.headers, axum::Json(page.records)).into_response(),
        Err(refused) => refused.into_response(),
    }
}

/// One page of a list (each record's key and the records) and its `Link` headers.
struct Page {
    headers: HeaderMap,
    keys: Vec<String>,
    records: Vec<Value>,
}

/// A request Okta refuses with 400: its `errorCode` and `errorSummary`.
#[derive(Debug, Clone, Copy)]
struct BadRequest(&'static str, &'static str);

const INVALID_LIMIT: BadRequest = BadRequest("E0000001", "Api validation failed: limit");
const INVALID_AFTER: BadRequest = BadRequest("E0000001", "Api validation failed: after");

impl IntoResponse for BadRequest {
    fn into_response(self) -> Response {
        okta_error(StatusCode::BAD_REQUEST, self.0, self.1)
    }
}

/// The page `limit` and `after` ask for, and its `Link` headers; or the 400 Okta answers to a bad one.
fn list_page(
    state: &FakeState,
    uri: &Uri,
    params: &HashMap<String, String>,
    listing: &Listing<'_>,
) -> Result<Page, BadRequest> {
    let limit = page_limit(params, listing.default_limit, listing.max_limit)?;
    let start = match params.get("after") {
        None => 0,
        Some(after) => match listing.keys.iter().position(|key| key == after) {
            Some(position) => position + 1,
            None => return Err(INVALID_AFTER),
        },
    };
    let end = start.saturating_add(limit).min(listing.keys.len());
    let keys: Vec<String> = listing.keys.get(start..end).unwrap_or_default().to_vec();
    let records: Vec<Value> = (start..end).map(|i| (listing.record)(i)).collect();
    let more = end < listing.keys.len();
    let cursor = keys.last().cloned().or_else(|| params.get("after").cloned());

    let current = state.base.join(&uri.to_string()).expect("the request's own URL");
    let mut headers = HeaderMap::new();
    headers.append(LINK, link(&current, "self"));
    if let Some(cursor) = cursor.filter(|_| more || listing.always_next) {
        headers.append(LINK, next_link(&current, &cursor, listing.dropped_from_next));
    }
    Ok(Page { headers, keys, records })
}

fn page_limit(params: &HashMap<String, String>, default_limit: usize, max_limit: usize) -> Result<usize, BadRequest> {
    match params.get("limit").map(|limit| limit.parse::<usize>()) {
        None => Ok(default_limit),
        Some(Ok(limit)) if limit >= 1 => Ok(limit.min(max_limit)),
        Some(_) => Err(INVALID_LIMIT),
    }
}

/// `current` with `after=cursor` in place of its own `after`, and without the `dropped` parameters.
fn next_link(current: &Url, cursor: &str, dropped: &[&str]) -> HeaderValue {
    let mut next = current.clone();
    let kept: Vec<(String, String)> = current
        .query_pairs()
        .filter(|(name, _)| name != "after" && !dropped.contains(&name.as_ref()))
        .map(|(n, v)| (n.into_owned(), v.into_owned()))
        .collect();
    next.query_pairs_mut()
        .clear()
        .extend_pairs(kept)
        .append_pair("after", cursor);
    link(&next, "next")
}

fn link(url: &Url, rel: &str) -> HeaderValue {
    HeaderValue::from_str(&format!("<{url}>; rel=\"{rel}\"")).expect("a Link header")
}

/// `attribute eq "value"` (the operator in any case), with the value a JSON string.
fn equality(expression: &str) -> Option<(&str, String)> {
    let mut words = expression.trim().splitn(3, ' ');
    let attribute = words.next()?;
    let operator = words.next()?;
    let literal = words.next()?;
    if !operator.eq_ignore_ascii_case("eq") {
        return None;
    }
    Some((attribute, serde_json::from_str::<String>(literal.trim()).ok()?))
}

fn invalid_filter() -> Response {
    okta_error(StatusCode::BAD_REQUEST, "E0000031", "Invalid search criteria.")
}

// ---------------------------------------------------------------------------------------------------------------
// Users and groups.

async fn list_users(State(state): State<Arc<FakeState>>, uri: Uri, Query(params): Params) -> Response {
    let selected: Vec<&OktaUser> = match params.get("filter") {
        None => state
            .users
            .iter()
            .filter(|u| u.status != OktaUserStatus::Deprovisioned)
            .collect(),
        Some(filter) => match equality(filter) {
            Some(("status", status)) => state.users.iter().filter(|u| status_name(u.status) == status).collect(),
            Some(("profile.login", login)) => state.users.iter().filter(|u| u.login.as_str() == login).collect(),
            _ => return invalid_filter(),
        },
    };
    let keys = selected.iter().map(|u| u.id.to_string()).collect();
    let listing = Listing::lazy(keys, |i| user_json(&state, selected[i]), 200, 200);
    list_answer(&state, &uri, &params, listing)
}

/// By id, login, or login shortname (the part before `@`), as Okta's getUser resolves it.
async fn get_user(State(state): State<Arc<FakeState>>, Path(id): Path<String>) -> Response {
    let found = state.users.iter().find(|u| {
        let login = u.login.as_str();
        u.id.as_str() == id
            || login.eq_ignore_ascii_case(&id)
            || login
                .split_once('@')
                .is_some_and(|(short, _)| short.eq_ignore_ascii_case(&id))
    });
    match found {
        Some(user) => axum::Json(user_json(&state, user)).into_response(),
        None => not_found(&id, "User"),
    }
}

async fn list_groups(State(state): State<Arc<FakeState>>, uri: Uri, Query(params): Params) -> Response {
    let keys = state.groups.iter().map(|g| g.id.to_string()).collect();
    let listing = Listing::lazy(keys, |i| group_json(&state, &state.groups[i]), 10_000, 10_000);
    list_answer(&state, &uri, &params, listing)
}

async fn list_group_users(
    State(state): State<Arc<FakeState>>,
    Path(id): Path<String>,
    uri: Uri,
    Query(params): Params,
) -> Response {
    let Some(group) = state.group_at.get(&id).and_then(|&i| state.groups.get(i)) else {
        return not_found(&id, "UserGroup");
    };
    let members: Vec<&OktaUser> = group
        .members
        .iter()
        .filter_map(|member| state.user_at.get(member.as_str()).and_then(|&i| state.users.get(i)))
        .collect();
    let keys = members.iter().map(|u| u.id.to_string()).collect();
    let listing = Listing::lazy(keys, |i| user_json(&state, members[i]), 1000, 10_000);
    list_answer(&state, &uri, &params, listing)
}

/// `GET /api/v1/users/{id}/groups`: the user's groups, paged (Okta documents no `limit` maximum here; 200 used).
async fn list_user_groups(
    State(state): State<Arc<FakeState>>,
    Path(id): Path<String>,
    uri: Uri,
    Query(params): Params,
) -> Response {
    if !state.user_at.contains_key(&id) {
        return not_found(&id, "User");
    }
    let groups: Vec<&OktaGroup> = state
        .groups_of
        .get(&id)
        .into_iter()
        .flatten()
        .filter_map(|&i| state.groups.get(i))
        .collect();
    let keys = groups.iter().map(|g| g.id.to_string()).collect();
    let listing = Listing::lazy(keys, |i| group_json(&state, groups[i]), 200, 10_000);
    list_answer(&state, &uri, &params, listing)
}

fn status_name(status: OktaUserStatus) -> String {
    serde_json::to_value(status)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default()
}

/// A user as Okta writes one; first and last name made up from the login (`jane.doe@…` → Jane Doe).
fn user_json(state: &FakeState, user: &OktaUser) -> Value {
    let local = user.login.as_str().split('@').next().unwrap_or_default();
    let mut names = local.split(['.', '_', '-']).map(capitalized);
    let first = names.next().unwrap_or_default();
    let last = names.next_back().unwrap_or_else(|| "User".to_owned());
    json!({
        "id": user.id,
        "status": user.status,
        "transitioningToStatus": user.transitioning_to_status,
        "created": CREATED,
        "activated": CREATED,
        "statusChanged": user.status_changed.map(okta_time),
        "lastLogin": user.last_login.map(okta_time),
        "lastUpdated": user.status_changed.map_or_else(|| CREATED.to_owned(), okta_time),
        "passwordChanged": null,
        "type": {"id": "otyfake0000000000001"},
        "profile": {
            "firstName": first,
            "lastName": last,
            "mobilePhone": null,
            "secondEmail": null,
            "login": user.login,
            "email": user.email,
        },
        "credentials": {"provider": {"type": "OKTA", "name": "OKTA"}},
        "_links": {"self": {"href": href(state, &["api", "v1", "users", user.id.as_str()])}},
    })
}

fn group_json(state: &FakeState, group: &OktaGroup) -> Value {
    json!({
        "id": group.id,
        "created": CREATED,
        "lastUpdated": CREATED,
        "lastMembershipUpdated": CREATED,
        "objectClass": ["okta:user_group"],
        "type": "OKTA_GROUP",
        "profile": {"name": group.name, "description": null},
        "_links": {
            "users": {"href": href(state, &["api", "v1", "groups", group.id.as_str(), "users"])},
            "apps": {"href": href(state, &["api", "v1", "groups", group.id.as_str(), "apps"])},
        },
    })
}

fn capitalized(word: &str) -> String {
    let mut chars = word.chars();
    chars
        .next()
        .map(|c| c.to_uppercase().chain(chars).collect())
        .unwrap_or_default()
}

fn okta_time(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Millis, true)
}

fn href(state: &FakeState, segments: &[&str]) -> String {
    let mut url = state.base.clone();
    if let Ok(mut path) = url.path_segments_mut() {
        path.pop_if_empty().extend(segments);
    }
    url.to_string()
}

// ---------------------------------------------------------------------------------------------------------------
// The app.

fn the_app<'a>(state: &'a FakeState, id: &str) -> Option<&'a OktaApp> {
    (state.app.id.as_str() == id).then_some(&state.app)
}

/// A list that hangs off the app, or `E0000007` for another app id.
fn app_list<'s>(
    state: &'s FakeState,
    id: &str,
    uri: &Uri,
    params: &HashMap<String, String>,
    listing: impl FnOnce(&'s OktaApp) -> Listing<'s>,
) -> Response {
    match the_app(state, id) {
        Some(app) => list_answer(state, uri, params, listing(app)),
        None => not_found(id, "AppInstance"),
    }
}

async fn get_app(State(state): State<Arc<FakeState>>, Path(id): Path<String>) -> Response {
    let Some(app) = the_app(&state, &id) else {
        return not_found(&id, "AppInstance");
    };
    axum::Json(app_json(&state, app)).into_response()
}

/// `GET /api/v1/apps?filter=status eq "ACTIVE"`: the one app (it is active), in one page.
async fn list_apps(State(state): State<Arc<FakeState>>) -> Response {
    axum::Json(vec![app_json(&state, &state.app)]).into_response()
}

/// The app as Okta's Apps API answers it; `name` is the catalog app's (the IAM Identity Center app's, or the AWS
/// Account Federation app's for any other label).
fn app_json(state: &FakeState, app: &OktaApp) -> Value {
    let name = if app.label.contains("Identity Center") {
        "amazon_aws_sso"
    } else {
        "amazon_aws"
    };
    let active = app
        .signing_keys
        .iter()
        .find(|key| key.active)
        .map(|key| key.kid.clone());
    json!({
        "id": app.id,
        "name": name,
        "label": app.label,
        "status": "ACTIVE",
        "created": CREATED,
        "lastUpdated": CREATED,
        "signOnMode": "SAML_2_0",
        "features": ["PUSH_NEW_USERS", "PUSH_PROFILE_UPDATES", "PUSH_USER_DEACTIVATION", "GROUP_PUSH"],
        "credentials": {
            "userNameTemplate": {"template": "${source.login}", "type": "BUILT_IN"},
            "signing": {"kid": active},
        },
        "_links": {
            "users": {"href": href(state, &["api", "v1", "apps", app.id.as_str(), "users"])},
            "groups": {"href": href(state, &["api", "v1", "apps", app.id.as_str(), "groups"])},
        },
    })
}

async fn list_app_users(
    State(state): State<Arc<FakeState>>,
    Path(id): Path<String>,
    uri: Uri,
    Query(params): Params,
) -> Response {
    let fake: &FakeState = &state;
    app_list(fake, &id, &uri, &params, |app| {
        let keys = app.app_users.iter().map(|u| u.user_id.to_string()).collect();
        Listing::lazy(keys, move |i| app_user_json(fake, app, &app.app_users[i]), 50, 500)
    })
}

/// One app user by Okta user id; a user not assigned to the app is `E0000007`, as Okta answers.
async fn get_app_user(State(state): State<Arc<FakeState>>, Path((id, user_id)): Path<(String, String)>) -> Response {
    let Some(app) = the_app(&state, &id) else {
        return not_found(&id, "AppInstance");
    };
    match app.app_users.iter().find(|u| u.user_id.as_str() == user_id) {
        Some(app_user) => axum::Json(app_user_json(&state, app, app_user)).into_response(),
        None => not_found(&user_id, "AppUser"),
    }
}

fn app_user_json(state: &FakeState, app: &OktaApp, app_user: &AppUser) -> Value {
    let login = state
        .user_at
        .get(app_user.user_id.as_str())
        .and_then(|&i| state.users.get(i))
        .map(|u| u.login.to_string());
    json!({
        "id": app_user.user_id,
        "externalId": app_user.external_id,
        "created": CREATED,
        "lastUpdated": CREATED,
        "scope": "USER",
        "status": app_user.status,
        "statusChanged": CREATED,
        "passwordChanged": null,
        "syncState": app_user.sync_state,
        "lastSync": app_user.last_sync.map(okta_time),
        "credentials": {"userName": app_user.user_name},
        "profile": {"email": login},
        "_links": {
            "app": {"href": href(state, &["api", "v1", "apps", app.id.as_str()])},
            "user": {"href": href(state, &["api", "v1", "users", app_user.user_id.as_str()])},
        },
    })
}

/// `GET /api/v1/apps/{id}/groups` (`ApplicationGroupAssignment`s; limit default 20, maximum 200).
async fn list_app_groups(
    State(state): State<Arc<FakeState>>,
    Path(id): Path<String>,
    uri: Uri,
    Query(params): Params,
) -> Response {
    let assigned = lock(&state.app_groups).clone();
    app_list(&state, &id, &uri, &params, |_| {
        let records = assigned
            .iter()
            .enumerate()
            .map(|(priority, group)| {
                let record = json!({"id": group, "priority": priority, "lastUpdated": CREATED, "profile": {}});
                (group.clone(), record)
            })
            .collect();
        Listing::new(records, 20, 200)
    })
}

async fn list_push_mappings(
    State(state): State<Arc<FakeState>>,
    Path(id): Path<String>,
    uri: Uri,
    Query(params): Params,
) -> Response {
    // `sourceGroupId` narrows the list to the mappings of one Okta group, as Okta's API does.
    let source = params.get("sourceGroupId").cloned();
    app_list(&state, &id, &uri, &params, |app| {
        let records = app
            .group_push_mappings
            .iter()
            .filter(|m| source.as_deref().is_none_or(|s| m.source_group_id.as_str() == s))
            .map(|m| (m.id.clone(), push_mapping_json(&state, app, m)));
        Listing::new(records.collect(), 100, 1000)
    })
}

fn push_mapping_json(state: &FakeState, app: &OktaApp, mapping: &GroupPushMapping) -> Value {
    json!({
        "id": mapping.id,
        "sourceGroupId": mapping.source_group_id,
        "targetGroupId": mapping.target_group_id,
        "status": mapping.status,
        "errorSummary": mapping.error_summary,
        "lastPush": mapping.last_push.map(okta_time),
        "created": CREATED,
        "lastUpdated": CREATED,
        "_links": {
            "app": {"href": href(state, &["api", "v1", "apps", app.id.as_str()])},
            "sourceGroup": {"href": href(state, &["api", "v1", "groups", mapping.source_group_id.as_str()])},
        },
    })
}

/// Not paged by Okta: one array.
async fn list_app_keys(State(state): State<Arc<FakeState>>, Path(id): Path<String>) -> Response {
    let Some(app) = the_app(&state, &id) else {
        return not_found(&id, "AppInstance");
    };
    axum::Json(app.signing_keys.iter().map(key_json).collect::<Vec<_>>()).into_response()
}

fn key_json(key: &SigningKey) -> Value {
    json!({
        "kid": key.kid,
        "kty": "RSA",
        "use": "sig",
        "created": key.created.map(okta_time),
        "lastUpdated": key.created.map(okta_time),
        "expiresAt": okta_time(key.expires_at),
        "x5c": key.x5c,
        "x5t#S256": "fakeThumbprint",
        "e": "AQAB",
        "n": "fakeModulus",
    })
}

// ---------------------------------------------------------------------------------------------------------------
// The System Log.

/// With `until`: a bounded query, events published in `[since, until)` by `published` (`since` defaults to 7 days
/// before `until`; after an `after` cursor, the cursor is where the query resumes). Without: a polling query.
async fn list_log_events(State(state): State<Arc<FakeState>>, uri: Uri, Query(params): Params) -> Response {
    if params.contains_key("since") && params.contains_key("after") {
        return okta_error(
            StatusCode::BAD_REQUEST,
            "E0000001",
            "Api validation failed: since and after cannot be used together",
        );
    }
    let time = |name: &str| {
        params
            .get(name)
            .map(|value| DateTime::parse_from_rfc3339(value).map(|t| t.with_timezone(&Utc)))
    };
    let since = match time("since") {
        None => None,
        Some(Ok(since)) => Some(since),
        Some(Err(_)) => return okta_error(StatusCode::BAD_REQUEST, "E0000001", "Api validation failed: since"),
    };
    let types = match log_filter(&params) {
        Ok(types) => types,
        Err(refused) => return refused.into_response(),
    };
    let wanted = |e: &OktaLogEvent| types.as_ref().is_none_or(|types| types.contains(&e.event_type));
    let log = lock(&state.log).clone();
    let until = match time("until") {
        None => return poll_log(&state, &uri, &params, &log, since, wanted),
        Some(Ok(until)) => until,
        Some(Err(_)) => return okta_error(StatusCode::BAD_REQUEST, "E0000001", "Api validation failed: until"),
    };
    let resumed = params.contains_key("after");
    let since = since.unwrap_or(until - chrono::TimeDelta::days(7));
    let mut events: Vec<&OktaLogEvent> = log
        .iter()
        .filter(|e| (resumed || e.published >= since) && e.published < until)
        .filter(|e| wanted(e))
        .collect();
    events.sort_by_key(|e| e.published);
    let records = events
        .into_iter()
        .map(|e| (e.uuid.to_string(), log_event_json(e)))
        .collect();
    let listing = Listing::new(records, 100, 1000).with_next_on_every_page();
    match list_page(&state, &uri, &params, &listing) {
        Ok(page) => {
            lock(&state.served_log).extend(page.keys);
            (page.headers, axum::Json(page.records)).into_response()
        }
        Err(refused) => refused.into_response(),
    }
}

/// The `eventType eq "…"` clauses of `filter` joined by `or`; `None` without a filter.
fn log_filter(params: &HashMap<String, String>) -> Result<Option<Vec<String>>, BadRequest> {
    let Some(filter) = params.get("filter") else {
        return Ok(None);
    };
    filter
        .split(" or ")
        .map(|clause| {
            equality(clause)
                .filter(|(attribute, _)| *attribute == "eventType")
                .map(|(_, t)| t)
        })
        .collect::<Option<Vec<String>>>()
        .map(Some)
        .ok_or(BadRequest("E0000031", "Invalid search criteria."))
}

/// Okta's polling query (no `until`): events in the order stored, from `since` (default 7 days ago) on the first
/// page, then from the `after` cursor, which here is a position in the log: everything before it has been looked
/// at. Every page has a next link, the last (empty) one included, and the next link of a caught-up page names
/// the same position — so a client that stores it reads events appended later, and nothing twice.
fn poll_log(
    state: &FakeState,
    uri: &Uri,
    params: &HashMap<String, String>,
    log: &[OktaLogEvent],
    since: Option<DateTime<Utc>>,
    wanted: impl Fn(&OktaLogEvent) -> bool,
) -> Response {
    let limit = match page_limit(params, 100, 1000) {
        Ok(limit) => limit,
        Err(refused) => return refused.into_response(),
    };
    let (start, since) = match params.get("after") {
        None => (
            0,
            Some(since.unwrap_or_else(|| Utc::now() - chrono::TimeDelta::days(7))),
        ),
        Some(after) => match after.parse::<usize>() {
            Ok(position) if position <= log.len() => (position, None),
            _ => return INVALID_AFTER.into_response(),
        },
    };
    let mut position = start;
    let mut page: Vec<&OktaLogEvent> = Vec::new();
    for event in log.iter().skip(start) {
        if page.len() == limit {
            break;
        }
        position += 1;
        if wanted(event) && since.is_none_or(|since| event.published >= since) {
            page.push(event);
        }
    }
    lock(&state.served_log).extend(page.iter().map(|e| e.uuid.to_string()));
    let current = state.base.join(&uri.to_string()).expect("the request's own URL");
    let mut headers = HeaderMap::new();
    headers.append(LINK, link(&current, "self"));
    headers.append(LINK, next_link(&current, &position.to_string(), &["since"]));
    let body: Vec<Value> = page.into_iter().map(log_event_json).collect();
    (headers, axum::Json(body)).into_response()
}

fn log_event_json(event: &OktaLogEvent) -> Value {
    let targets: Vec<Value> = event
        .targets
        .iter()
        .map(|t| json!({"id": t.id, "type": t.kind, "alternateId": t.alternate_id, "displayName": t.alternate_id, "detailEntry": null}))
        .collect();
    json!({
        "uuid": event.uuid,
        "published": okta_time(event.published),
        "eventType": event.event_type,
        "version": "0",
        "severity": "INFO",
        "legacyEventType": null,
        "displayMessage": event.event_type,
        "actor": {"id": "00ufakeadmin00000001", "type": "User", "alternateId": "okta.admin@example.com", "displayName": "Okta Admin"},
        "client": {"ipAddress": "198.51.100.7", "userAgent": {"rawUserAgent": "fake"}},
        "outcome": {"result": event.outcome, "reason": null},
        "target": targets,
        "transaction": {"type": "WEB", "id": "fakeTransaction", "detail": {}},
        "debugContext": {"debugData": {}},
        "authenticationContext": {"authenticationStep": 0, "externalSessionId": "fakeSession"},
        "securityContext": {},
        "request": {"ipChain": []},
    })
}

// ---------------------------------------------------------------------------------------------------------------
// The org authorization server's token endpoint.

#[derive(Deserialize)]
struct AssertionClaims {
    exp: i64,
    #[serde(default)]
    jti: Option<String>,
}

async fn issue_token(State(state): State<Arc<FakeState>>, body: Bytes) -> Response {
    let form: HashMap<String, String> = url::form_urlencoded::parse(&body).into_owned().collect();
    let field = |name: &str| form.get(name).map(String::as_str).unwrap_or_default();
    if field("grant_type") != "client_credentials" {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "unsupported_grant_type",
            "The authorization grant type is not supported.",
        );
    }
    if field("client_assertion_type") != "urn:ietf:params:oauth:client-assertion-type:jwt-bearer" {
        return oauth_error(
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            "Client authentication failed.",
        );
    }
    let token_url = format!("{}oauth2/v1/token", state.base);
    let mut validation = Validation::new(Algorithm::RS256);
    validation.set_audience(&[token_url]);
    validation.set_issuer(&[CLIENT_ID]);
    validation.sub = Some(CLIENT_ID.to_owned());
    validation.set_required_spec_claims(&["exp", "iss", "sub", "aud"]);
    validation.leeway = 0;
    let claims =
        match jsonwebtoken::decode::<AssertionClaims>(field("client_assertion"), &state.service_app_key, &validation) {
            Ok(token) => token.claims,
            Err(error) => {
                let description = format!("The client_assertion token is invalid: {:?}", error.kind());
                return oauth_error(StatusCode::UNAUTHORIZED, "invalid_client", &description);
            }
        };
    if claims.exp - Utc::now().timestamp() > 3600 {
        return oauth_error(
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            "The client_assertion token has an expiration too far into the future.",
        );
    }
    if let Some(jti) = claims.jti
        && !lock(&state.used_assertions).insert(jti)
    {
        return oauth_error(
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            "The client_assertion token has already been used.",
        );
    }
    let scope = field("scope");
    let refused: Vec<&str> = scope
        .split_whitespace()
        .filter(|s| !GRANTED_SCOPES.contains(s))
        .collect();
    if scope.trim().is_empty() || !refused.is_empty() {
        let description = format!("The following scopes are not allowed: {}", refused.join(" "));
        return oauth_error(StatusCode::BAD_REQUEST, "invalid_scope", &description);
    }
    let access_token = {
        let mut issued = lock(&state.issued_tokens);
        let token = format!("fakeAccessToken{:04}", issued.len() + 1);
        issued.insert(token.clone());
        token
    };
    axum::Json(json!({
        "token_type": "Bearer",
        "expires_in": 3600,
        "access_token": access_token,
        "scope": scope,
    }))
    .into_response()
}

fn oauth_error(status: StatusCode, error: &str, description: &str) -> Response {
    (
        status,
        axum::Json(json!({"error": error, "error_description": description})),
    )
        .into_response()
}
