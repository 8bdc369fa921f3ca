//! The sharded access review (issue 10 §4) through the function's handler: the payloads
//! statemachine/access-review.asl.json sends — Plan, one Shard per item of the list Plan wrote (the Distributed
//! Map's ItemReader), Merge — on the seeded org of `access_review`, the work objects in moto S3. The result is the
//! one-process run's; a missing shard result fails the merge before anything is published. Then the CLI's
//! `review --report-dir` (the built binary), live against the same org.

use chrono::{DateTime, Utc};
use serde_json::{Value, json};
use shared::domain::review::ReviewReport;
use shared::handlers::access_review::{ReviewInvocation, ShardRecord};
use shared::inventory::{ShardBudget, shard_key, shards_key};
use shared::ports::{ReviewStateStore, StateSlot};
use shared::review_report::Manifest;

use super::access_review::{World, world};
use super::inventory::instantiate;
use integration_tests::queues::{bodies, drain};

fn definition() -> Value {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the workspace")
        .join("statemachine/access-review.asl.json");
    serde_json::from_str(&std::fs::read_to_string(path).expect("the definition")).expect("JSON")
}

async fn object(world: &World, key: &str) -> Option<Vec<u8>> {
    let got = aws_sdk_s3::Client::new(world.account.sdk_config())
        .get_object()
        .bucket(&world.bucket)
        .key(key)
        .send()
        .await;
    match got {
        Ok(output) => Some(output.body.collect().await.expect("body").into_bytes().to_vec()),
        Err(e) if e.as_service_error().is_some_and(|e| e.is_no_such_key()) => None,
        Err(e) => panic!("GetObject {key}: {e:?}"),
    }
}

/// The report the run wrote (`reviews/<run_id>/report.json`), as an auditor would read it.
async fn written_report(world: &World, summary: &Value) -> ReviewReport {
    let run_id = summary["run_id"].as_str().expect("the run id");
    let bytes = object(world, &format!("reviews/{run_id}/report.json"))
        .await
        .expect("report.json written");
    serde_json::from_slice(&bytes).expect("a review report")
}

async fn serve(
    world: &World,
    payload: &Value,
    budget: ShardBudget,
    now: DateTime<Utc>,
) -> shared::error::Result<Value> {
    let invocation = ReviewInvocation::parse(payload).expect("a payload the function reads");
    world
        .ports
        .serve(&world.config, &invocation, budget, Some(&world.gates), now)
        .await
}

/// Plan as the state machine runs it: the answer through the Plan state's ResultSelector, then the Map's items
/// read from where the ItemReader reads them (the answer's key, in the bucket the definition names).
async fn plan(world: &World, run_id: &str, now: DateTime<Utc>) -> (Value, Vec<Value>) {
    let definition = definition();
    let states = &definition["States"];
    let payload = instantiate(
        &states["Plan"]["Parameters"]["Payload"],
        &[("$$.Execution.Name", json!(run_id)), ("$.kind", json!("quarterly"))],
    );
    let answer = serve(world, &payload, ShardBudget::calls(1), now).await.expect("plan");
    let selected = instantiate(
        &states["Plan"]["ResultSelector"],
        &[
            ("$.Payload.run_id", answer["run_id"].clone()),
            ("$.Payload.shards_key", answer["shards_key"].clone()),
        ],
    );
    assert_eq!(selected["run_id"], run_id);
    assert_eq!(selected["shards_key"], shards_key(run_id));
    assert_eq!(
        states["Shards"]["ItemReader"]["Parameters"]["Key.$"],
        "$.plan.shards_key"
    );
    let items: Vec<Value> = serde_json::from_slice(
        &object(world, selected["shards_key"].as_str().expect("a key"))
            .await
            .expect("the shard list"),
    )
    .expect("a JSON array (ItemReader InputType JSON)");
    (selected, items)
}

async fn shard(world: &World, plan: &Value, item: &Value, now: DateTime<Utc>) -> Value {
    let definition = definition();
    let map = &definition["States"]["Shards"];
    let payload = instantiate(
        &map["ItemSelector"],
        &[
            ("$.plan.run_id", plan["run_id"].clone()),
            ("$$.Map.Item.Value", item.clone()),
        ],
    );
    let answer = serve(world, &payload, ShardBudget::calls(1), now)
        .await
        .expect("a shard");
    instantiate(
        &map["ItemProcessor"]["States"]["Shard"]["ResultSelector"],
        &[("$.Payload.result_key", answer["result_key"].clone())],
    )
}

fn merge_payload(plan: &Value) -> Value {
    instantiate(
        &definition()["States"]["Merge"]["Parameters"]["Payload"],
        &[
            ("$.plan.run_id", plan["run_id"].clone()),
            ("$.kind", json!("quarterly")),
        ],
    )
}

fn findings(report: &ReviewReport) -> Vec<(String, String)> {
    let mut found: Vec<(String, String)> = report
        .findings
        .iter()
        .map(|f| {
            (
                f.finding.finding_id.as_str().to_owned(),
                f.finding.rule.as_str().to_owned(),
            )
        })
        .collect();
    found.sort();
    found
}

#[tokio::test]
async fn plan_then_each_shard_then_merge_gives_the_single_runs_findings_access_and_calls() {
    let now = Utc::now();
    let world = world("review-sharded", now).await;
    let run_id = "5e1c0d3a-sharded-1";

    let (plan, items) = plan(&world, run_id, now).await;
    assert_eq!(items.len(), 4, "four (set, account) pairs, one per shard: {items:?}");
    for (index, item) in items.iter().enumerate() {
        let result = shard(&world, &plan, item, now).await;
        assert_eq!(result["result_key"], shard_key(run_id, index));
        let record: ShardRecord = serde_json::from_slice(
            &object(&world, &shard_key(run_id, index))
                .await
                .expect("the shard's result"),
        )
        .expect("a shard record");
        assert_eq!(record.result.shard.index, index);
    }
    let merged = serve(&world, &merge_payload(&plan), ShardBudget::calls(1), now)
        .await
        .expect("merge");
    let sharded = written_report(&world, &merged).await;
    assert_eq!(merged["findings"], sharded.findings.len());
    assert_eq!(merged["access_rows"], sharded.access.len());
    let published = bodies(&drain(&world.account, &world.queue_url).await);
    assert_eq!(
        published.len(),
        sharded.findings.len() + 1,
        "every finding and the summary, once"
    );

    // The one-process run on the same org (the schedule's payload), through the same gates.
    let single_summary = serve(&world, &json!({"kind": "quarterly"}), ShardBudget::calls(1), now)
        .await
        .expect("the single run");
    let single = written_report(&world, &single_summary).await;

    assert!(!sharded.findings.is_empty());
    assert_eq!(findings(&sharded), findings(&single));
    assert!(!sharded.access.is_empty());
    assert_eq!(sharded.access, single.access);
    // Calls per family: the steps' calls add up to the single run's (the same reads, cut differently).
    assert_eq!(sharded.inventory.calls, single.inventory.calls);
    let families: Vec<&str> = single.inventory.calls.iter().map(|(f, _)| f.as_str()).collect();
    for family in [
        "identitystore",
        "sso-admin",
        "organizations",
        "cloudtrail",
        "okta-users",
        "okta-apps",
    ] {
        assert!(families.contains(&family), "{family} counted: {families:?}");
    }
}

#[tokio::test]
async fn a_missing_shard_result_fails_the_merge_and_nothing_is_published() {
    let now = Utc::now();
    let world = world("review-shard-lost", now).await;
    let run_id = "5e1c0d3a-lost-1";
    let (plan, items) = plan(&world, run_id, now).await;
    assert_eq!(items.len(), 4);
    for item in [&items[0], &items[2], &items[3]] {
        shard(&world, &plan, item, now).await;
    }
    let error = serve(&world, &merge_payload(&plan), ShardBudget::calls(1), now)
        .await
        .expect_err("a shard is missing");
    assert_eq!(error.kind(), "InventoryIncomplete", "{error}");
    assert!(error.to_string().contains("shard 1 of 4 is missing"), "{error}");
    assert!(bodies(&drain(&world.account, &world.queue_url).await).is_empty());
    assert!(world.ports.state.load(StateSlot::Latest).await.expect("read").is_none());

    // Once the shard is collected (the Map's retry), the same merge succeeds.
    shard(&world, &plan, &items[1], now).await;
    let merged = serve(&world, &merge_payload(&plan), ShardBudget::calls(1), now)
        .await
        .expect("merge");
    assert!(merged["findings"].as_u64().is_some_and(|n| n > 0), "{merged}");

    // A merge of a run that was never planned is an error too, not an empty review.
    let error = serve(
        &world,
        &json!({"mode": "merge", "run_id": "never-planned", "kind": "quarterly"}),
        ShardBudget::calls(1),
        now,
    )
    .await
    .expect_err("no plan");
    assert!(error.to_string().contains("has no plan"), "{error}");
}

/// `deprov-audit review --report-dir DIR`, the built binary, live against the seeded org (moto + the Okta fake):
/// the four files and a manifest whose SHA-256s are the files', and the calls per family in report.json.
#[tokio::test]
async fn the_cli_review_writes_the_report_files_and_a_manifest_of_their_hashes() {
    use sha2::Digest;
    let now = Utc::now();
    let world = world("review-cli", now).await;
    let credentials = world.account.credentials().await;
    let dir = TempDir::new("review-cli");
    let output = tokio::process::Command::new(integration_tests::lambda_runtime::function_binary("deprov-audit"))
        .args(["review", "--report-dir"])
        .arg(&dir.0)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("OKTA_ORG_URL", world.okta.url().to_string())
        .env("OKTA_APP_ID", world.config.app_id.as_str())
        .env("OKTA_API_TOKEN", integration_tests::okta_fake::API_TOKEN)
        .env("IDC_INSTANCE_ARN", world.org.instance.instance_arn.as_str())
        .env("IDENTITY_STORE_ID", world.org.instance.identity_store_id.as_str())
        .env("AWS_ENDPOINT_URL", integration_tests::moto::endpoint())
        .env("AWS_REGION", "us-east-1")
        .env("AWS_ACCESS_KEY_ID", credentials.access_key_id())
        .env("AWS_SECRET_ACCESS_KEY", credentials.secret_access_key())
        .env("AWS_SESSION_TOKEN", credentials.session_token().unwrap_or_default())
        .env("PRIVILEGED_PERMISSION_SETS", "Operations")
        .env("REVIEW_LARGE_GROUP_MEMBERS", "3")
        .env("API_RATE_LIMITS", "sso-admin=50,identitystore=50")
        .stdin(std::process::Stdio::null())
        .output()
        .await
        .expect("run deprov-audit");
    let stderr = String::from_utf8_lossy(&output.stderr).to_string();
    assert_eq!(output.status.code(), Some(0), "{stderr}");
    assert!(stderr.contains("calls: ") && stderr.contains("sso-admin"), "{stderr}");

    let manifest: Manifest =
        serde_json::from_slice(&std::fs::read(dir.0.join("manifest.json")).expect("manifest.json"))
            .expect("a manifest");
    let mut names: Vec<&str> = manifest.files.iter().map(|f| f.name.as_str()).collect();
    names.sort_unstable();
    assert_eq!(names, ["access.csv", "index.html", "report.json", "report.md"]);
    for entry in &manifest.files {
        let bytes = std::fs::read(dir.0.join(&entry.name)).expect("a listed file");
        assert_eq!(entry.bytes, bytes.len() as u64, "{}", entry.name);
        assert_eq!(entry.sha256, hex(&sha2::Sha256::digest(&bytes)), "{}", entry.name);
    }
    let report: ReviewReport =
        serde_json::from_slice(&std::fs::read(dir.0.join("report.json")).expect("report.json")).expect("report");
    assert_eq!(manifest.run_id, report.run_id);
    assert!(!report.findings.is_empty());
    assert!(
        report.inventory.calls.iter().any(|(f, n)| f == "sso-admin" && *n > 0),
        "{:?}",
        report.inventory.calls
    );
    let csv = std::fs::read_to_string(dir.0.join("access.csv")).expect("access.csv");
    assert_eq!(
        csv.lines().count(),
        report.access.len() + 1,
        "a header and one row per access"
    );
}

/// `deprov-audit demo --report-dir` writes the demo org's review report files beside its printed findings.
#[tokio::test]
async fn the_demo_prints_the_reviews_findings_and_writes_its_report_files() {
    let dir = TempDir::new("demo-report");
    let output = tokio::process::Command::new(integration_tests::lambda_runtime::function_binary("deprov-audit"))
        .args(["demo", "--format", "json", "--report-dir"])
        .arg(&dir.0)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .stdin(std::process::Stdio::null())
        .output()
        .await
        .expect("run deprov-audit");
    let stderr = String::from_utf8_lossy(&output.stderr).to_string();
    assert_eq!(output.status.code(), Some(0), "{stderr}");
    assert!(stderr.contains("report written"), "{stderr}");
    let printed: Vec<Value> = serde_json::from_slice(&output.stdout).expect("the findings as JSON");
    let report: ReviewReport =
        serde_json::from_slice(&std::fs::read(dir.0.join("report.json")).expect("report.json")).expect("report");
    for rule in ["inactive-user", "privileged-via-large-group"] {
        assert!(printed.iter().any(|f| f["rule"] == rule), "{rule} printed");
        assert!(
            report.findings.iter().any(|f| f.finding.rule.as_str() == rule),
            "{rule} in the report"
        );
    }
    let manifest: Manifest =
        serde_json::from_slice(&std::fs::read(dir.0.join("manifest.json")).expect("manifest.json"))
            .expect("a manifest");
    assert_eq!(manifest.files.len(), 4);
    let html = std::fs::read_to_string(dir.0.join("index.html")).expect("index.html");
    assert!(html.contains("inactive-user"));
}

/// A directory of its own under the system's temp dir, removed when dropped.
struct TempDir(std::path::PathBuf);

impl TempDir {
    fn new(name: &str) -> Self {
        let dir = std::env::temp_dir().join(format!("deprov-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        Self(dir)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The built access-review binary through the Lambda runtime API: its wiring reads a state machine step (the
/// plan writes the shard list; its answer is what the Plan state selects) and refuses an unknown mode by errorType.
#[tokio::test]
async fn the_function_binary_serves_a_plan_step_and_refuses_an_unknown_mode() {
    use integration_tests::lambda_runtime::{LambdaRuntime, Outcome, spawn_function};
    let now = Utc::now();
    let world = world("review-binary", now).await;
    let credentials = world.account.credentials().await;
    let runtime = LambdaRuntime::start().await;
    let function = spawn_function(
        "access-review",
        &runtime,
        &[
            ("OKTA_ORG_URL", world.okta.url().to_string()),
            ("OKTA_APP_ID", world.config.app_id.as_str().to_owned()),
            ("OKTA_API_TOKEN", integration_tests::okta_fake::API_TOKEN.to_owned()),
            ("IDC_INSTANCE_ARN", world.org.instance.instance_arn.as_str().to_owned()),
            (
                "IDENTITY_STORE_ID",
                world.org.instance.identity_store_id.as_str().to_owned(),
            ),
            (
                "FINDINGS_TOPIC_ARN",
                "arn:aws:sns:us-east-1:123456789012:unused".to_owned(),
            ),
            ("REPORT_BUCKET", world.bucket.clone()),
            // Two seconds at 1 call a second: shards of two (set, account) pairs.
            ("REVIEW_SHARD_SECONDS", "2".to_owned()),
            ("API_RATE_LIMITS", "sso-admin=1/8".to_owned()),
            ("AWS_ENDPOINT_URL", integration_tests::moto::endpoint().to_owned()),
            ("AWS_REGION", "us-east-1".to_owned()),
            ("AWS_ACCESS_KEY_ID", credentials.access_key_id().to_owned()),
            ("AWS_SECRET_ACCESS_KEY", credentials.secret_access_key().to_owned()),
            (
                "AWS_SESSION_TOKEN",
                credentials.session_token().unwrap_or_default().to_owned(),
            ),
        ],
    );
    let within = std::time::Duration::from_secs(60);
    let plan = json!({"mode": "plan", "run_id": "binary-run-1", "kind": "quarterly"});
    let Some(Outcome::Response(answer)) = runtime.invoke(&plan.to_string(), within).await else {
        panic!("no answer to the plan step")
    };
    assert_eq!(answer["run_id"], "binary-run-1");
    assert_eq!(answer["shards_key"], shards_key("binary-run-1"));
    let items: Vec<Value> = serde_json::from_slice(
        &object(&world, &shards_key("binary-run-1"))
            .await
            .expect("the shard list"),
    )
    .expect("a JSON array");
    let pairs: Vec<usize> = items
        .iter()
        .map(|i| {
            i["work"].as_array().map_or(0, |work| {
                work.iter().map(|w| w["accounts"].as_array().map_or(0, Vec::len)).sum()
            })
        })
        .collect();
    assert_eq!(
        pairs,
        [2, 2],
        "REVIEW_SHARD_SECONDS=2 at sso-admin=1: two pairs a shard, over four"
    );

    let Some(Outcome::Error(error)) = runtime
        .invoke(&json!({"mode": "sweep", "run_id": "r"}).to_string(), within)
        .await
    else {
        panic!("no error for an unknown mode")
    };
    assert_eq!(error["errorType"], "Invalid", "{error}");

    // The steps that read Okta, failing: a shard and the merge while Okta answers 500s (retries included). The
    // seeded logins (alice@acme.example, …) are e-mails: the check below finds any in the output.
    world
        .okta
        .fail_next("/api/v1/", 200, integration_tests::okta_fake::Fault::ServerError);
    let shard = json!({"mode": "shard", "run_id": "binary-run-1", "shard": items[0]});
    let shard_outcome = runtime.invoke(&shard.to_string(), within).await;
    let merge = json!({"mode": "merge", "run_id": "binary-run-1", "kind": "quarterly"});
    let merge_outcome = runtime.invoke(&merge.to_string(), within).await;
    assert!(
        matches!(shard_outcome, Some(Outcome::Error(_))) || matches!(merge_outcome, Some(Outcome::Error(_))),
        "Okta's 500s fail a step: {shard_outcome:?} {merge_outcome:?}"
    );
    // An unparseable step whose mode is a login: refused, and quoted nowhere.
    let odd = json!({"mode": "canary.reviewer@acme.example", "run_id": "r"});
    let Some(Outcome::Error(refused)) = runtime.invoke(&odd.to_string(), within).await else {
        panic!("no error for a login as the mode")
    };
    assert_eq!(refused["errorType"], "Invalid", "{refused}");
    let output = function.finish().await;
    let lines = integration_tests::log_check::LogCheck::new()
        .forbid("the Okta API token", integration_tests::okta_fake::API_TOKEN)
        .forbid("a login's local part", "canary.reviewer")
        .assert_clean("access-review", &output);
    assert!(lines > 0, "the check read the output");
    eprintln!("access-review output ({lines} lines):\n{output}");
}
