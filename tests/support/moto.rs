//! moto, the AWS test world: one server per test process (started through `moto_launcher.py`, which closes the
//! gaps in `reference/moto-gaps.md`), and an isolated AWS account per test.
//!
//! The server reads its stdin and exits at EOF; the pipe is held open by this process, so moto dies with it.
//! Each `MotoAccount` enters a fresh account through STS AssumeRole: moto keeps every service's state per account,
//! so tests run in parallel without sharing anything.

use std::collections::hash_map::RandomState;
use std::fs::File;
use std::hash::{BuildHasher, Hasher};
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc;
use std::time::Duration;

use aws_config::retry::RetryConfig;
use aws_config::sts::AssumeRoleProvider;
use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_sdk_sns::config::{Credentials, ProvideCredentials, SharedCredentialsProvider};
use serde_json::{Value, json};
use shared::domain::AccountId;

use crate::sdk_calls::{CountingHttpClient, SdkCalls};

pub const REGION: &str = "us-east-1";
const INSTALL_HINT: &str = "the integration tests need moto: run `scripts/test-all` (it creates .venv and installs \
     tests/requirements.txt), or set DEPROV_MOTO_PYTHON to a Python that has moto[server]==5.2.5";
/// Importing moto takes a few seconds, longer while cargo builds on the same cores.
const STARTUP_TIMEOUT: Duration = Duration::from_secs(90);
const CLOUDTRAIL_TARGET: &str = "com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101";

struct Server {
    endpoint: String,
    /// Never dropped: its stdin pipe closes when this process ends, and the launcher exits then.
    _process: Child,
}

/// The moto endpoint (`http://127.0.0.1:PORT`), starting the server on first use.
pub fn endpoint() -> &'static str {
    static SERVER: OnceLock<Server> = OnceLock::new();
    &SERVER.get_or_init(start).endpoint
}

fn workspace_root() -> &'static Path {
    let tests = Path::new(env!("CARGO_MANIFEST_DIR"));
    tests.parent().unwrap_or(tests)
}

/// `$DEPROV_MOTO_PYTHON`, else the workspace's `.venv/bin/python`: the test world's Python (moto, cfn-lint and
/// aws-sam-translator).
pub fn python() -> PathBuf {
    if let Some(python) = std::env::var_os("DEPROV_MOTO_PYTHON") {
        return python.into();
    }
    let venv = workspace_root().join(".venv/bin/python");
    if !venv.exists() {
        panic!(
            "no Python with moto: {} does not exist and DEPROV_MOTO_PYTHON is not set; {INSTALL_HINT}",
            venv.display()
        );
    }
    venv
}

fn start() -> Server {
    let python = python();
    let launcher = Path::new(env!("CARGO_MANIFEST_DIR")).join("support/moto_launcher.py");
    let log_path = std::env::temp_dir().join(format!("deprov-audit-moto-{}.log", std::process::id()));
    let log = File::create(&log_path).expect("create the moto log file");
    let mut process = Command::new(&python)
        .arg(&launcher)
        .args(["--host", "127.0.0.1", "--port", "0"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(log)
        .spawn()
        .unwrap_or_else(|e| panic!("could not run {}: {e}; {INSTALL_HINT}", python.display()));
    let stdout = process.stdout.take().expect("the launcher's stdout is piped");
    let (ready, ready_line) = mpsc::channel();
    std::thread::spawn(move || {
        let mut line = String::new();
        let _ = BufReader::new(stdout).read_line(&mut line);
        let _ = ready.send(line);
    });
    match ready_line.recv_timeout(STARTUP_TIMEOUT) {
        Ok(line) if line.starts_with("ready http://") => Server {
            endpoint: line["ready ".len()..].trim().to_owned(),
            _process: process,
        },
        outcome => {
            let outcome = match outcome {
                Ok(line) if line.is_empty() => "it exited before it was ready".to_owned(),
                Ok(line) => format!("it said {line:?}"),
                Err(_) => format!("no ready line within {STARTUP_TIMEOUT:?}"),
            };
            let _ = process.kill();
            let log = std::fs::read_to_string(&log_path).unwrap_or_default();
            let tail: Vec<&str> = log.lines().rev().take(15).collect();
            let tail: Vec<&str> = tail.into_iter().rev().collect();
            panic!(
                "moto did not start with {}: {outcome}; {INSTALL_HINT}\n--- {} ---\n{}",
                python.display(),
                log_path.display(),
                tail.join("\n")
            )
        }
    }
}

/// A 12-digit account id no other test of this process has: a random base, counted up.
fn fresh_account_id() -> AccountId {
    static BASE: OnceLock<u64> = OnceLock::new();
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let base = *BASE.get_or_init(|| RandomState::new().build_hasher().finish());
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    let id = 100_000_000_000 + base.wrapping_add(n) % 900_000_000_000;
    AccountId::parse(id.to_string()).expect("twelve digits")
}

/// One AWS account of its own in moto, for one test.
#[derive(Debug)]
pub struct MotoAccount {
    id: AccountId,
    config: SdkConfig,
    http_client: CountingHttpClient,
    access_key_id: String,
    http: reqwest::Client,
}

impl MotoAccount {
    /// Enters a fresh account through STS AssumeRole (the role need not exist in moto).
    pub async fn new() -> Self {
        Self::enter(fresh_account_id()).await
    }

    /// Enters the account `id` through STS AssumeRole: e.g. a member account `OrgSeed` created, to act as it.
    pub async fn enter(id: AccountId) -> Self {
        Self::enter_as(id, "deprov-audit-test").await
    }

    /// Enters the account `id` as a session of the role `role_name` there: e.g. as a function's role, whose name a
    /// member account's trust policy matches (the role need not exist).
    pub async fn enter_as(id: AccountId, role_name: &str) -> Self {
        let base = aws_config::defaults(BehaviorVersion::latest())
            .endpoint_url(endpoint())
            .region(Region::new(REGION))
            .credentials_provider(Credentials::new("testing", "testing", None, None, "moto"))
            // The SDK would retry moto's 500s ("not implemented"), turning a clear failure into a slow one.
            .retry_config(RetryConfig::disabled())
            .load()
            .await;
        let credentials = AssumeRoleProvider::builder(format!("arn:aws:iam::{id}:role/{role_name}"))
            .session_name("integration-test")
            .configure(&base)
            .build()
            .await
            .provide_credentials()
            .await
            .expect("STS AssumeRole in moto");
        let access_key_id = credentials.access_key_id().to_owned();
        let http_client = CountingHttpClient::default();
        let config = base
            .into_builder()
            .credentials_provider(SharedCredentialsProvider::new(credentials))
            .http_client(http_client.clone())
            .build();
        Self {
            id,
            config,
            http_client,
            access_key_id,
            http: reqwest::Client::new(),
        }
    }

    pub fn id(&self) -> &AccountId {
        &self.id
    }

    /// The SDK configuration for this account: moto's endpoint, us-east-1, no retries.
    pub fn sdk_config(&self) -> &SdkConfig {
        &self.config
    }

    /// This account's credentials, for a process configured by environment (`AWS_ACCESS_KEY_ID`, …).
    pub async fn credentials(&self) -> Credentials {
        self.config
            .credentials_provider()
            .expect("a credentials provider")
            .provide_credentials()
            .await
            .expect("the assumed-role credentials")
    }

    /// Every request sent through `sdk_config()` (or a config built from it) so far, with its time.
    pub fn sent_calls(&self) -> Vec<crate::sdk_calls::SentCall> {
        self.http_client.sent()
    }

    /// The AWS API calls made through `sdk_config()` so far (take one before and one after, then `since`).
    pub fn sdk_calls(&self) -> SdkCalls {
        self.http_client.calls()
    }

    /// A JSON-protocol call the SDK cannot make (moto's test-only actions, fields the API model lacks).
    /// moto reads the account from the access key and the service from the credential scope; it does not check
    /// the signature, so none is computed.
    pub async fn call_json(&self, service: &str, target: &str, body: &Value) -> Value {
        self.call_json_in(REGION, service, target, body).await
    }

    /// `call_json` in another Region (moto keeps each service's state per account and Region, read from the
    /// credential scope).
    pub async fn call_json_in(&self, region: &str, service: &str, target: &str, body: &Value) -> Value {
        let authorization = format!(
            "AWS4-HMAC-SHA256 Credential={}/20260101/{region}/{service}/aws4_request, SignedHeaders=host, Signature=0",
            self.access_key_id
        );
        let response = self
            .http
            .post(format!("{}/", endpoint()))
            .header("Content-Type", "application/x-amz-json-1.1")
            .header("X-Amz-Target", target)
            .header("Authorization", authorization)
            .body(body.to_string())
            .send()
            .await
            .unwrap_or_else(|e| panic!("{target} could not reach moto: {e}"));
        let status = response.status();
        let text = response.text().await.expect("read moto's answer");
        assert!(status.is_success(), "{target} answered {status}: {text}");
        serde_json::from_str(if text.is_empty() { "{}" } else { &text }).expect("moto answers JSON")
    }

    /// An S3 REST call (path style) as this account: creating a bucket, putting an object (no SDK for S3 in the
    /// test world). Like `call_json`, unsigned: moto reads the account from the access key.
    pub async fn call_s3(&self, method: reqwest::Method, path: &str, body: Vec<u8>) {
        let authorization = format!(
            "AWS4-HMAC-SHA256 Credential={}/20260101/{REGION}/s3/aws4_request, SignedHeaders=host, Signature=0",
            self.access_key_id
        );
        let response = self
            .http
            .request(method, format!("{}/{}", endpoint(), path.trim_start_matches('/')))
            .header("Authorization", authorization)
            .header("x-amz-content-sha256", "UNSIGNED-PAYLOAD")
            .body(body)
            .send()
            .await
            .unwrap_or_else(|e| panic!("S3 {path} could not reach moto: {e}"));
        let status = response.status();
        let text = response.text().await.unwrap_or_default();
        assert!(status.is_success(), "S3 {path} answered {status}: {text}");
    }

    /// Adds events to this account's CloudTrail history (LookupEvents shape; `EventTime` in epoch seconds).
    pub async fn seed_lookup_events(&self, events: &[Value]) {
        self.seed_lookup_events_in(REGION, events).await
    }

    /// Adds events to this account's CloudTrail history in `region`.
    pub async fn seed_lookup_events_in(&self, region: &str, events: &[Value]) {
        let target = format!("{CLOUDTRAIL_TARGET}.SeedLookupEventsForTest");
        let answer = self
            .call_json_in(region, "cloudtrail", &target, &json!({ "Events": events }))
            .await;
        assert_eq!(answer, json!({ "Seeded": events.len() }));
    }

    /// Makes the next `count` LookupEvents calls of this account fail with ThrottlingException.
    pub async fn throttle_lookup_events(&self, count: u32) {
        let target = format!("{CLOUDTRAIL_TARGET}.ThrottleLookupEventsForTest");
        self.call_json("cloudtrail", &target, &json!({ "Count": count })).await;
    }
}
