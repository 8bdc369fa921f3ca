//! A fake Lambda Runtime API (the interface a deployed function's bootstrap talks to), so a test can run a
//! function's real binary the way Lambda does: the binary polls `…/invocation/next`, and posts its answer to
//! `…/invocation/{id}/response` (or `/error`).

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path as UrlPath, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use tokio::sync::Notify;

const API: &str = "/2018-06-01/runtime";

#[derive(Debug, Default)]
struct Invocations {
    pending: Mutex<VecDeque<(String, String)>>,
    answers: Mutex<Vec<(String, Outcome)>>,
    arrived: Notify,
    answered: Notify,
}

/// What the function answered for one invocation.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    Response(serde_json::Value),
    Error(serde_json::Value),
}

/// The runtime API server plus the function process it serves.
#[derive(Debug)]
pub struct LambdaRuntime {
    address: SocketAddr,
    invocations: Arc<Invocations>,
    next_id: Mutex<u64>,
    server: tokio::task::JoinHandle<()>,
}

impl LambdaRuntime {
    pub async fn start() -> Self {
        let invocations = Arc::new(Invocations::default());
        let app = Router::new()
            .route(&format!("{API}/invocation/next"), get(next))
            .route(&format!("{API}/invocation/{{id}}/response"), post(response))
            .route(&format!("{API}/invocation/{{id}}/error"), post(error))
            .route(&format!("{API}/init/error"), post(init_error))
            .with_state(invocations.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind a loopback port");
        let address = listener.local_addr().expect("local address");
        let server = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Self {
            address,
            invocations,
            next_id: Mutex::new(0),
            server,
        }
    }

    /// `host:port` for `AWS_LAMBDA_RUNTIME_API`.
    pub fn api(&self) -> String {
        self.address.to_string()
    }

    /// Hands `event` to the function and waits (bounded) for its answer.
    pub async fn invoke(&self, event: &str, within: Duration) -> Option<Outcome> {
        let id = {
            let mut next = self.next_id.lock().expect("lock");
            *next += 1;
            format!("00000000-0000-4000-8000-{:012}", *next)
        };
        self.invocations
            .pending
            .lock()
            .expect("lock")
            .push_back((id.clone(), event.to_owned()));
        self.invocations.arrived.notify_one();
        tokio::time::timeout(within, async {
            loop {
                let answered = self.invocations.answered.notified();
                if let Some((_, outcome)) = self
                    .invocations
                    .answers
                    .lock()
                    .expect("lock")
                    .iter()
                    .find(|(i, _)| *i == id)
                {
                    return outcome.clone();
                }
                answered.await;
            }
        })
        .await
        .ok()
    }
}

impl Drop for LambdaRuntime {
    fn drop(&mut self) {
        self.server.abort();
    }
}

async fn next(State(invocations): State<Arc<Invocations>>) -> Response {
    loop {
        let arrived = invocations.arrived.notified();
        if let Some((id, event)) = invocations.pending.lock().expect("lock").pop_front() {
            let mut headers = HeaderMap::new();
            let deadline = chrono::Utc::now().timestamp_millis() + 30_000;
            headers.insert(
                "lambda-runtime-aws-request-id",
                HeaderValue::from_str(&id).expect("ascii id"),
            );
            headers.insert("lambda-runtime-deadline-ms", HeaderValue::from(deadline));
            headers.insert(
                "lambda-runtime-invoked-function-arn",
                HeaderValue::from_static("arn:aws:lambda:us-east-1:000000000000:function:under-test"),
            );
            headers.insert(
                "lambda-runtime-trace-id",
                HeaderValue::from_static("Root=1-00000000-000000000000000000000000"),
            );
            return (StatusCode::OK, headers, event).into_response();
        }
        arrived.await;
    }
}

fn record(invocations: &Invocations, id: String, outcome: Outcome) -> StatusCode {
    invocations.answers.lock().expect("lock").push((id, outcome));
    invocations.answered.notify_waiters();
    StatusCode::ACCEPTED
}

async fn response(State(i): State<Arc<Invocations>>, UrlPath(id): UrlPath<String>, body: Bytes) -> StatusCode {
    let value = serde_json::from_slice(&body).unwrap_or(serde_json::Value::Null);
    record(&i, id, Outcome::Response(value))
}

async fn error(State(i): State<Arc<Invocations>>, UrlPath(id): UrlPath<String>, body: Bytes) -> StatusCode {
    let value = serde_json::from_slice(&body).unwrap_or(serde_json::Value::Null);
    record(&i, id, Outcome::Error(value))
}

async fn init_error(State(i): State<Arc<Invocations>>, body: Bytes) -> StatusCode {
    let value = serde_json::from_slice(&body).unwrap_or(serde_json::Value::Null);
    record(&i, "init".into(), Outcome::Error(value))
}

/// A function's built binary (`target/<profile>/<name>`), beside this binary: a test binary's own folder is
/// `target/<profile>/deps`, a bin's (the sandbox) is `target/<profile>`.
pub fn function_binary(name: &str) -> PathBuf {
    let exe = std::env::current_exe().expect("test binary path");
    let folder = exe.parent().expect("the binary's folder");
    let dir = if folder.file_name().is_some_and(|f| f == "deps") {
        folder.parent().expect("target profile folder")
    } else {
        folder
    };
    let binary = dir.join(name);
    assert!(
        binary.exists(),
        "{} is not built: `cargo test --workspace` (or `cargo build -p {name}`) builds it",
        binary.display()
    );
    binary
}

/// At most this much of a function's output is kept (a sandbox's checker runs for hours); what follows is dropped.
const OUTPUT_CAP: usize = 16 << 20;

/// A function process started by [`spawn_function`], its stdout and stderr captured: the tracing lines and the
/// EMF metric lines, exactly what Lambda would hand to CloudWatch Logs. stderr is echoed to the test's stderr
/// too. The child is killed when this drops.
#[derive(Debug)]
pub struct FunctionProcess {
    child: tokio::process::Child,
    output: Arc<Mutex<Vec<u8>>>,
    readers: Vec<tokio::task::JoinHandle<()>>,
}

impl FunctionProcess {
    /// What the process has written so far, stdout and stderr line by line in arrival order.
    pub fn output(&self) -> String {
        String::from_utf8_lossy(&self.output.lock().unwrap_or_else(|p| p.into_inner())).into_owned()
    }

    /// Stops the process and returns everything it wrote (both pipes read to their end).
    pub async fn finish(mut self) -> String {
        let _ = self.child.start_kill();
        let _ = self.child.wait().await;
        for reader in self.readers.drain(..) {
            let _ = tokio::time::timeout(Duration::from_secs(5), reader).await;
        }
        self.output()
    }
}

/// Reads `pipe` line by line into `output` (whole lines, so the two pipes never interleave inside one).
fn capture<R>(pipe: R, output: Arc<Mutex<Vec<u8>>>, echo: bool) -> tokio::task::JoinHandle<()>
where
    R: tokio::io::AsyncRead + Unpin + Send + 'static,
{
    use tokio::io::AsyncBufReadExt;
    tokio::spawn(async move {
        let mut reader = tokio::io::BufReader::new(pipe);
        let mut line = Vec::new();
        loop {
            line.clear();
            match reader.read_until(b'\n', &mut line).await {
                Ok(0) | Err(_) => break,
                Ok(_) => {}
            }
            if echo {
                eprint!("{}", String::from_utf8_lossy(&line));
            }
            let mut kept = output.lock().unwrap_or_else(|p| p.into_inner());
            if kept.len() + line.len() <= OUTPUT_CAP {
                kept.extend_from_slice(&line);
            }
        }
    })
}

/// Starts a function binary against the runtime, with `env` on top of a clean Lambda-like environment: JSON logs
/// (as the template sets), INFO for dependencies and TRACE for the core crate — stricter than a deployed
/// function's INFO, so a leak check over [`FunctionProcess::output`] sees every line the code can write.
pub fn spawn_function(name: &str, runtime: &LambdaRuntime, env: &[(&str, String)]) -> FunctionProcess {
    let mut command = tokio::process::Command::new(function_binary(name));
    command
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("AWS_LAMBDA_RUNTIME_API", runtime.api())
        .env("AWS_LAMBDA_FUNCTION_NAME", name)
        .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "256")
        .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
        .env("AWS_LAMBDA_LOG_STREAM_NAME", "test")
        .env("AWS_LAMBDA_LOG_GROUP_NAME", format!("/aws/lambda/{name}"))
        .env("AWS_LAMBDA_LOG_FORMAT", "JSON")
        .env("AWS_LAMBDA_LOG_LEVEL", "INFO")
        .env("RUST_LOG", "info,shared=trace")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    for (key, value) in env {
        command.env(key, value);
    }
    let mut child = command.spawn().expect("start the function binary");
    let output = Arc::new(Mutex::new(Vec::new()));
    let mut readers = Vec::new();
    if let Some(stdout) = child.stdout.take() {
        readers.push(capture(stdout, output.clone(), false));
    }
    if let Some(stderr) = child.stderr.take() {
        readers.push(capture(stderr, output.clone(), true));
    }
    FunctionProcess { child, output, readers }
}
