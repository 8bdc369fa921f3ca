//! The local sandbox (README "Try the event path on a laptop"): moto and the Okta fake seeded with the demo org,
//! the queue, topic and table the functions need, and what `cargo lambda watch` cannot stand in for:
//!
//! - the SQS event source: jobs on the verification queue are handed, as a Lambda SQS batch, to the built
//!   `propagation-check` binary, which this process runs behind a Lambda runtime API of its own
//!   (`lambda_runtime::LambdaRuntime`: each invocation gets a 30 s deadline). Not through `cargo lambda watch`:
//!   cargo-lambda 1.9.2's runtime sends `Lambda-Runtime-Deadline-Ms: 600000` (1970), so the checker sees no time
//!   left and hands every job back, as it would on Lambda. `batchItemFailures` stay on the queue, the rest are
//!   deleted;
//! - a subscriber: every finding published to the findings topic is printed.
//!
//! ```text
//! cargo build -p propagation-check && cargo run -p integration-tests --bin sandbox -- [--env-file .sandbox.env]
//! ```
//! Runs until stopped (Ctrl-C); moto and the checker stop with it. Needs moto like the tests (`DEPROV_MOTO_PYTHON`
//! or the workspace `.venv`).
#![forbid(unsafe_code)]

use std::io::Write;
use std::time::Duration;

use aws_sdk_sqs::types::{MessageSystemAttributeName, QueueAttributeName};
use integration_tests::lambda_runtime::{LambdaRuntime, Outcome, spawn_function};
use integration_tests::moto::{self, MotoAccount};
use integration_tests::sandbox::{self, Sandbox};
use serde_json::Value;
use shared::domain::{AccountId, OrgSnapshot};

/// moto's usual account id: the sandbox's, so its ARNs read like every moto example's.
const ACCOUNT: &str = "123456789012";
/// One invocation of the checker may take this long before the relay gives up on it (the job comes back).
const INVOKE_TIMEOUT: Duration = Duration::from_secs(120);

struct Args {
    env_file: String,
}

fn args() -> Result<Args, String> {
    let mut args = Args {
        env_file: ".sandbox.env".into(),
    };
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        let value = |it: &mut dyn Iterator<Item = String>| it.next().ok_or(format!("{arg} needs a value"));
        match arg.as_str() {
            "--env-file" => args.env_file = value(&mut it)?,
            other => return Err(format!("unknown argument {other} (--env-file PATH)")),
        }
    }
    Ok(args)
}

#[tokio::main]
async fn main() -> Result<(), String> {
    let args = args()?;
    let snapshot: OrgSnapshot =
        serde_json::from_str(sandbox::DEMO_ORG).map_err(|e| format!("the demo org does not parse: {e}"))?;
    eprintln!("starting moto at {} …", moto::endpoint());
    let account_id = AccountId::parse(ACCOUNT).map_err(|e| e.to_string())?;
    let account = MotoAccount::enter(account_id).await;
    let sandbox = sandbox::seed(&account, &snapshot).await;
    let credentials = account.credentials().await;
    let env = sandbox.env(
        &account,
        credentials.access_key_id(),
        credentials.secret_access_key(),
        credentials.session_token().unwrap_or_default(),
    );
    let mut file = String::new();
    for (key, value) in &env {
        file.push_str(&format!("export {key}='{value}'\n"));
    }
    std::fs::write(&args.env_file, &file).map_err(|e| format!("cannot write {}: {e}", args.env_file))?;
    print_summary(&sandbox, &snapshot, &args, &file);

    let runtime = LambdaRuntime::start().await;
    let checker_env: Vec<(&str, String)> = env.iter().map(|(k, v)| (k.as_str(), v.clone())).collect();
    // Killed when this process ends (kill_on_drop), like moto, whose stdin this process holds.
    let _checker = spawn_function("propagation-check", &runtime, &checker_env);
    // Both loop until the process is stopped (Ctrl-C).
    tokio::try_join!(relay(&account, &sandbox, &runtime), tap(&account, &sandbox)).map(|_| ())
}

fn print_summary(sandbox: &Sandbox, snapshot: &OrgSnapshot, args: &Args, env: &str) {
    let idc = &snapshot.idc;
    println!(
        "sandbox ready: the demo org in moto ({} Identity Center users, {} groups, {} permission sets, {} \
         assignments) and the Okta fake at {} ({} users)",
        idc.users.len(),
        idc.groups.len(),
        idc.permission_sets.len(),
        idc.assignments.len(),
        sandbox.okta.url(),
        sandbox.okta_side.users.len(),
    );
    println!(
        "environment written to {} (source it in the shell of `cargo lambda watch`):\n{env}",
        args.env_file
    );
    println!(
        "relaying {} to propagation-check (run by the sandbox); findings print below. Ctrl-C stops.",
        sandbox::VERIFY_QUEUE
    );
    let _ = std::io::stdout().flush();
}

/// The SQS event source mapping: each batch on the verification queue goes to propagation-check, as Lambda
/// delivers it; what the checker reports failed stays on the queue (back after the visibility timeout).
async fn relay(account: &MotoAccount, sandbox: &Sandbox, runtime: &LambdaRuntime) -> Result<(), String> {
    let sqs = aws_sdk_sqs::Client::new(account.sdk_config());
    let queue_arn = sqs
        .get_queue_attributes()
        .queue_url(&sandbox.verify_queue_url)
        .attribute_names(QueueAttributeName::QueueArn)
        .send()
        .await
        .map_err(|e| format!("GetQueueAttributes: {e}"))?
        .attributes
        .and_then(|mut a| a.remove(&QueueAttributeName::QueueArn))
        .unwrap_or_default();
    loop {
        let received = match sqs
            .receive_message()
            .queue_url(&sandbox.verify_queue_url)
            .max_number_of_messages(10)
            .wait_time_seconds(2)
            .message_system_attribute_names(MessageSystemAttributeName::All)
            .send()
            .await
        {
            Ok(received) => received,
            Err(e) => {
                eprintln!("relay: ReceiveMessage failed ({e}); retrying in 5 s");
                tokio::time::sleep(Duration::from_secs(5)).await;
                continue;
            }
        };
        let messages = received.messages.unwrap_or_default();
        if messages.is_empty() {
            continue;
        }
        let event = sandbox::sqs_event(&messages, &queue_arn).to_string();
        eprintln!(
            "relay: {} job(s) from {} → propagation-check",
            messages.len(),
            sandbox::VERIFY_QUEUE
        );
        let failed: Vec<String> = match runtime.invoke(&event, INVOKE_TIMEOUT).await {
            Some(Outcome::Response(answer)) => answer["batchItemFailures"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|f| f["itemIdentifier"].as_str().map(str::to_owned))
                .collect(),
            Some(Outcome::Error(error)) => {
                eprintln!("relay: propagation-check failed: {error}; the jobs come back in 30 s");
                continue;
            }
            None => {
                eprintln!("relay: propagation-check did not answer within {INVOKE_TIMEOUT:?}; the jobs come back");
                continue;
            }
        };
        for message in &messages {
            let id = message.message_id().unwrap_or_default();
            if failed.iter().any(|f| f == id) {
                eprintln!("relay: job {id} failed back to the queue");
                continue;
            }
            let Some(handle) = message.receipt_handle() else {
                continue;
            };
            if let Err(e) = sqs
                .delete_message()
                .queue_url(&sandbox.verify_queue_url)
                .receipt_handle(handle)
                .send()
                .await
            {
                eprintln!("relay: DeleteMessage {id} failed: {e}");
            }
        }
    }
}

/// The findings topic's subscriber: prints each finding as one line, then its JSON.
async fn tap(account: &MotoAccount, sandbox: &Sandbox) -> Result<(), String> {
    let sqs = aws_sdk_sqs::Client::new(account.sdk_config());
    loop {
        let received = match sqs
            .receive_message()
            .queue_url(&sandbox.findings_tap_url)
            .max_number_of_messages(10)
            .wait_time_seconds(2)
            .send()
            .await
        {
            Ok(received) => received,
            Err(e) => {
                eprintln!("findings: ReceiveMessage failed ({e}); retrying in 5 s");
                tokio::time::sleep(Duration::from_secs(5)).await;
                continue;
            }
        };
        for message in received.messages.unwrap_or_default() {
            let body = message.body().unwrap_or_default();
            match serde_json::from_str::<Value>(body) {
                Ok(finding) => {
                    println!(
                        "FINDING {} {}: {}\n{}",
                        finding["severity"].as_str().unwrap_or("?").to_uppercase(),
                        finding["rule"].as_str().unwrap_or("?"),
                        finding["title"].as_str().unwrap_or("?"),
                        serde_json::to_string_pretty(&finding).unwrap_or_default()
                    );
                }
                Err(_) => println!("FINDING (not JSON) {body}"),
            }
            let _ = std::io::stdout().flush();
            if let Some(handle) = message.receipt_handle() {
                let _ = sqs
                    .delete_message()
                    .queue_url(&sandbox.findings_tap_url)
                    .receipt_handle(handle)
                    .send()
                    .await;
            }
        }
    }
}
