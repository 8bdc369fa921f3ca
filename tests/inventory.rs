//! The review's inventory on a moto-seeded org and the Okta fake: the fewest calls per family, the same snapshot
//! sharded (each shard through JSON, as the Distributed Map passes it via S3) as in one run, and the calls kept
//! under each family's rate, several in flight, on a front that throttles like AWS.

use std::time::{Duration as StdDuration, Instant};

use chrono::{Duration, Utc};
use integration_tests::aws_front::{AwsFront, FrontLimit};
use integration_tests::moto::{self, MotoAccount};
use integration_tests::okta_fake::{OktaFake, api_token};
use integration_tests::seed::{OrgSeed, SeededOrg};
use shared::aws::{CloudTrailActivityLog, IdentityCenterClient};
use shared::domain::{
    GroupPushMapping, LinkPolicy, OktaApp, OktaAppId, OktaGroup, OktaGroupId, OktaLogin, OktaSide, OktaUser,
    OktaUserId, OktaUserStatus, PushMappingStatus,
};
use shared::inventory::{self, CollectOptions, ShardBudget, ShardResult};
use shared::okta::OktaClient;
use shared::rate_limit::{ApiFamily, FamilyLimit, RateLimits};

const APP: &str = "0oa1awsidc00000001";

fn okta_user(id: &str, login: &str) -> OktaUser {
    OktaUser {
        id: OktaUserId::parse(id).expect("id"),
        login: OktaLogin::parse(login).expect("login"),
        email: Some(login.into()),
        status: OktaUserStatus::Active,
        transitioning_to_status: None,
        status_changed: None,
        last_login: None,
    }
}

fn okta_group(id: &str, name: &str, members: &[&str]) -> OktaGroup {
    OktaGroup {
        id: OktaGroupId::parse(id).expect("id"),
        name: name.into(),
        members: members.iter().map(|m| OktaUserId::parse(*m).expect("id")).collect(),
    }
}

/// Three permission sets on three accounts; one Okta group pushed, one assigned to the app, one unrelated.
async fn seeded() -> (MotoAccount, SeededOrg, OktaFake) {
    let account = MotoAccount::new().await;
    let org = OrgSeed::new()
        .user("alice@acme.example")
        .user("bob@acme.example")
        .disabled_user("carol@acme.example")
        .group("aws-production-developers", &["alice@acme.example", "bob@acme.example"])
        .group("aws-readonly", &["carol@acme.example"])
        .permission_set("Developer", "PT8H")
        .permission_set("ReadOnly", "PT4H")
        .permission_set("Operations", "PT1H")
        .assign_group("aws-production-developers", "Developer", "production")
        .assign_group("aws-production-developers", "Developer", "staging")
        .assign_group("aws-readonly", "ReadOnly", "production")
        .assign_group("aws-readonly", "ReadOnly", "staging")
        .assign_group("aws-readonly", "ReadOnly", "sandbox")
        .assign_user("bob@acme.example", "Operations", "production")
        .seed(&account)
        .await;
    let pushed = org.group("aws-production-developers").clone();
    let okta = OktaFake::start(
        OktaSide {
            org_url: "https://acme.okta.com".into(),
            users: vec![
                okta_user("00u1alice", "alice@acme.example"),
                okta_user("00u1bob", "bob@acme.example"),
            ],
            groups: vec![
                okta_group("00g1pushed", "aws-production-developers", &["00u1alice", "00u1bob"]),
                okta_group("00g1assigned", "aws-users", &["00u1alice"]),
                okta_group("00g1unrelated", "everyone-in-marketing", &["00u1bob"]),
            ],
            app: OktaApp {
                id: OktaAppId::parse(APP).expect("id"),
                label: "AWS IAM Identity Center".into(),
                app_users: vec![],
                group_push_mappings: vec![GroupPushMapping {
                    id: "gpm1".into(),
                    source_group_id: OktaGroupId::parse("00g1pushed").expect("id"),
                    target_group_id: Some(pushed),
                    status: PushMappingStatus::Active,
                    error_summary: None,
                    last_push: None,
                }],
                signing_keys: vec![],
            },
            deprovisions: vec![],
        },
        vec![],
    )
    .await;
    okta.assign_groups_to_app(["00g1assigned"]);
    (account, org, okta)
}

fn options() -> CollectOptions {
    CollectOptions {
        org_url: "https://acme.okta.com".into(),
        app_id: OktaAppId::parse(APP).expect("id"),
        links: LinkPolicy::default(),
        activity_window: Duration::days(1),
    }
}

#[tokio::test]
async fn shard_and_merge_equal_the_single_run_with_the_fewest_calls() {
    let (account, org, okta) = seeded().await;
    let now = Utc::now();
    let directory = OktaClient::new(okta.client_config(api_token())).expect("client");
    let identity_center = IdentityCenterClient::new(account.sdk_config(), org.instance.clone());
    let activity = CloudTrailActivityLog::new(account.sdk_config());

    let before = account.sdk_calls();
    let single = inventory::collect_snapshot(
        &directory,
        &identity_center,
        &activity,
        &options(),
        now,
        ShardBudget::documented(),
    )
    .await
    .expect("one run");
    let calls = account.sdk_calls().since(&before);

    // Per permission set, then per provisioned pair: no per-account listing.
    assert_eq!(calls.of("ListPermissionSets"), 1);
    assert_eq!(calls.of("DescribePermissionSet"), 3);
    assert_eq!(calls.of("ListAccountsForProvisionedPermissionSet"), 3);
    assert_eq!(
        calls.of("ListAccountAssignments"),
        2 + 3 + 1,
        "one per (set, account) pair"
    );
    assert_eq!(calls.of("ListPermissionSetsProvisionedToAccount"), 0);
    assert_eq!(calls.of("ListUsers"), 1);
    assert_eq!(calls.of("ListGroups"), 1);
    assert_eq!(calls.of("ListGroupMemberships"), 2, "one per group");
    assert_eq!(
        calls.of("LookupEvents"),
        3,
        "one query per portal session event name and one for SCIM, no call per leaver"
    );
    // Okta: only the groups the app uses have their members read.
    assert_eq!(okta.requests("/api/v1/groups/00g1pushed/users"), 1);
    assert_eq!(okta.requests("/api/v1/groups/00g1assigned/users"), 1);
    assert_eq!(okta.requests("/api/v1/groups/00g1unrelated/users"), 0);
    let names: Vec<&str> = single.okta.groups.iter().map(|g| g.name.as_str()).collect();
    assert_eq!(names.len(), 2, "{names:?}");
    assert!(!names.contains(&"everyone-in-marketing"), "{names:?}");

    assert_eq!(single.idc.assignments.len(), 6);
    assert_eq!(single.idc.provisioned.len(), 3);
    let readonly = org.permission_set("ReadOnly");
    let provisioned = single
        .idc
        .provisioned
        .iter()
        .find(|p| &p.permission_set_arn == readonly)
        .expect("ReadOnly provisioned");
    assert_eq!(provisioned.accounts.len(), 3);

    // The same org, two pairs a shard: ReadOnly's three accounts split across shards; each shard's result
    // crosses a process boundary as JSON. The plan reads the provisioned accounts once, the shards only pairs.
    let before = account.sdk_calls();
    let plan = inventory::plan(&identity_center, ShardBudget::calls(2))
        .await
        .expect("plan");
    let calls = account.sdk_calls().since(&before);
    assert_eq!(calls.of("ListAccountsForProvisionedPermissionSet"), 3);
    assert_eq!(calls.of("ListAccountAssignments"), 0);
    assert_eq!(plan.shards.len(), 3, "six pairs in shards of two: {:?}", plan.shards);
    assert!(plan.shards.iter().all(|s| s.estimated_calls() == 2));
    let readonly_shards = plan
        .shards
        .iter()
        .filter(|s| s.work.iter().any(|w| &w.permission_set_arn == readonly))
        .count();
    assert_eq!(
        readonly_shards, 2,
        "a set larger than the room left continues in the next shard"
    );
    let before = account.sdk_calls();
    let plan: inventory::InventoryPlan =
        serde_json::from_str(&serde_json::to_string(&plan).expect("encode")).expect("decode");
    let mut results = Vec::new();
    for shard in plan.shards.iter().rev() {
        let result = inventory::collect_shard(&identity_center, shard).await.expect("shard");
        let text = serde_json::to_string(&result).expect("encode");
        results.push(serde_json::from_str::<ShardResult>(&text).expect("decode"));
    }
    let base = inventory::collect_base(&directory, &identity_center, &activity, &options(), now)
        .await
        .expect("base");
    let calls = account.sdk_calls().since(&before);
    assert_eq!(
        calls.of("ListAccountAssignments"),
        6,
        "the shards: one per pair, as the single run"
    );
    assert_eq!(
        calls.of("ListAccountsForProvisionedPermissionSet"),
        0,
        "read in the plan only"
    );
    let sharded = inventory::merge(plan.clone(), base.clone(), results.clone()).expect("merged");
    assert_eq!(sharded, single);

    results.pop();
    let error = inventory::merge(plan, base, results).expect_err("a shard is missing");
    assert!(error.to_string().contains("missing"), "{error}");
}

#[tokio::test]
async fn the_inventory_keeps_each_family_under_its_rate_with_calls_in_flight() {
    // Enough groups that membership reads dominate: 30 groups, 30 ListGroupMemberships calls.
    let mut seed = OrgSeed::new()
        .user("alice@acme.example")
        .permission_set("Developer", "PT8H");
    let names: Vec<String> = (0..30).map(|n| format!("team-{n:02}")).collect();
    for name in &names {
        seed = seed.group(name, &["alice@acme.example"]);
    }
    for (n, name) in names.iter().enumerate().take(6) {
        seed = seed.assign_group(name, "Developer", &format!("account-{n}"));
    }
    let account = MotoAccount::new().await;
    let org = seed.seed(&account).await;

    // 20 TPS per family and 50 ms a call, as the issue measures; the client limits itself to the same rate.
    let latency = StdDuration::from_millis(50);
    let limits = [
        ("identitystore", FrontLimit::tps(20.0)),
        ("sso-admin", FrontLimit::tps(20.0)),
        ("organizations", FrontLimit::tps(20.0)),
    ];
    let front = AwsFront::start(moto::endpoint(), latency, &limits).await;
    let config = account
        .sdk_config()
        .clone()
        .into_builder()
        .endpoint_url(front.url())
        .build();
    let gates = RateLimits::default()
        .with(
            ApiFamily::Organizations,
            FamilyLimit {
                per_second: 20.0,
                in_flight: 8,
            },
        )
        .gates();
    let identity_center = IdentityCenterClient::gated(&config, org.instance.clone(), &gates);

    let started = Instant::now();
    let (groups, sets) = tokio::try_join!(shared::ports::IdentityCenter::groups(&identity_center), async {
        let plan = inventory::plan(&identity_center, ShardBudget::documented()).await?;
        inventory::collect_shard(&identity_center, &plan.shards[0]).await
    })
    .expect("inventory through the front");
    let elapsed = started.elapsed();
    assert_eq!(groups.len(), 30);
    assert_eq!(sets.assignments.len(), 6);

    let traffic = front.traffic();
    let store = &traffic["identitystore"];
    assert_eq!(store.throttled, 0, "never past the rate: {traffic:?}");
    assert_eq!(traffic["sso-admin"].throttled, 0, "{traffic:?}");
    assert_eq!(store.total(), 31, "ListGroups + one ListGroupMemberships per group");
    assert!(store.peak_in_flight >= 2, "several calls in flight: {store:?}");
    // 31 identitystore calls at 20/s cannot take less than 30 periods; one at a time they take 31 × ≥50 ms.
    assert!(elapsed >= StdDuration::from_millis(1400), "{elapsed:?}");
    let calls = gates.calls();
    assert!(
        calls.contains(&("identitystore".to_owned(), 31)),
        "the gate counts every call: {calls:?}"
    );
}

#[tokio::test]
async fn a_client_without_its_limit_is_throttled_by_the_front() {
    // The control for the test above: the front does refuse calls past the rate, as AWS does.
    let mut seed = OrgSeed::new().user("alice@acme.example");
    for n in 0..30 {
        seed = seed.group(&format!("team-{n:02}"), &["alice@acme.example"]);
    }
    let account = MotoAccount::new().await;
    let org = seed.seed(&account).await;
    let front = AwsFront::start(
        moto::endpoint(),
        StdDuration::from_millis(50),
        &[("identitystore", FrontLimit::tps(5.0))],
    )
    .await;
    let config = account
        .sdk_config()
        .clone()
        .into_builder()
        .endpoint_url(front.url())
        .build();
    // Unlimited gates, and no SDK retry (the test account's config): the first refused call fails the read.
    let identity_center =
        IdentityCenterClient::gated(&config, org.instance.clone(), &shared::rate_limit::Gates::unlimited());
    let error = shared::ports::IdentityCenter::groups(&identity_center)
        .await
        .expect_err("throttled");
    assert_eq!(error.kind(), "AwsThrottled", "{error}");
    assert!(front.traffic()["identitystore"].throttled >= 1);
}

/// Fills a step's payload template as Step Functions would: each `key.$` takes the value of its path.
pub(crate) fn instantiate(template: &serde_json::Value, paths: &[(&str, serde_json::Value)]) -> serde_json::Value {
    let object = template.as_object().expect("a payload object");
    let mut filled = serde_json::Map::new();
    for (key, value) in object {
        match key.strip_suffix(".$") {
            Some(name) => {
                let path = value.as_str().expect("a path");
                let found = paths
                    .iter()
                    .find(|(p, _)| *p == path)
                    .unwrap_or_else(|| panic!("no value for {path}"));
                filled.insert(name.to_owned(), found.1.clone());
            }
            None => {
                filled.insert(key.clone(), value.clone());
            }
        }
    }
    serde_json::Value::Object(filled)
}

fn function_names(value: &serde_json::Value, found: &mut Vec<String>) {
    match value {
        serde_json::Value::Object(map) => {
            for (key, inner) in map {
                if key == "FunctionName" {
                    found.push(inner.as_str().expect("a name").to_owned());
                }
                function_names(inner, found);
            }
        }
        serde_json::Value::Array(items) => items.iter().for_each(|i| function_names(i, found)),
        _ => {}
    }
}

#[test]
fn the_state_machine_runs_the_templates_access_review_function_in_each_inventory_step() {
    use shared::inventory::{InventoryStep, Shard};
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the workspace");
    let template = std::fs::read_to_string(root.join("template.yaml")).expect("template.yaml");
    let definition: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(root.join("statemachine/access-review.asl.json")).expect("the definition"),
    )
    .expect("JSON");

    // Every Lambda the definition invokes is the one substitution, which the template binds to its function.
    let mut names = Vec::new();
    function_names(&definition, &mut names);
    assert_eq!(names.len(), 3, "plan, shard, merge: {names:?}");
    assert!(names.iter().all(|n| n == "${AccessReviewFunctionArn}"), "{names:?}");
    let machine = template
        .split("\n  AccessReviewStateMachine:\n")
        .nth(1)
        .expect("the state machine resource")
        .split("\n\n")
        .next()
        .expect("its block");
    assert!(machine.contains("Type: AWS::Serverless::StateMachine"), "{machine}");
    assert!(
        machine.contains("DefinitionUri: statemachine/access-review.asl.json"),
        "{machine}"
    );
    assert!(
        machine.contains("AccessReviewFunctionArn: !GetAtt AccessReviewFunction.Arn"),
        "{machine}"
    );
    assert!(machine.contains("ReportBucket: !Ref ReportBucket"), "{machine}");
    assert!(
        machine.contains("FunctionName: !Ref AccessReviewFunction"),
        "invoke permission: {machine}"
    );
    let function = template
        .split("\n  AccessReviewFunction:\n")
        .nth(1)
        .expect("the function resource")
        .split("\n\n")
        .next()
        .expect("its block");
    assert!(function.contains("Type: AWS::Serverless::Function"), "{function}");
    assert!(function.contains("Binary: access-review"), "{function}");
    assert!(
        root.join("functions/access-review/Cargo.toml").exists(),
        "the function's crate"
    );
    assert!(template.contains("\n  ReportBucket:\n    Type: AWS::S3::Bucket"));
    // The function reads and writes the run's work objects; the state machine's ItemReader reads them.
    assert!(
        function.contains("- !Sub \"${ReportBucket.Arn}/inventory/*\""),
        "inventory/ in the function's S3 policy: {function}"
    );
    assert!(
        machine.contains("Resource: !Sub \"${ReportBucket.Arn}/inventory/*\""),
        "{machine}"
    );
    // ReviewSharded moves both schedules from the function to the state machine, with the same input.
    let schedule_states = |block: &str, enabled_when_sharded: &str| {
        block
            .matches(&format!("State: !If [ReviewShardedOn, {enabled_when_sharded}]"))
            .count()
    };
    assert_eq!(schedule_states(function, "DISABLED, ENABLED"), 2, "{function}");
    assert_eq!(schedule_states(machine, "ENABLED, DISABLED"), 2, "{machine}");
    for input in [r#"Input: '{"kind": "quarterly"}'"#, r#"Input: '{"kind": "daily"}'"#] {
        assert!(function.contains(input) && machine.contains(input), "{input}");
    }
    assert!(template.contains("ReviewShardedOn: !Equals [!Ref ReviewSharded, \"true\"]"));
    assert!(function.contains("API_RATE_LIMITS: !Ref ApiRateLimits"), "{function}");
    assert!(
        function.contains("REVIEW_SHARD_SECONDS: !Ref ReviewShardSeconds"),
        "{function}"
    );
    // A shard is planned for ReviewShardSeconds of calls: the default and the most allowed fit in the function's
    // timeout, with room.
    assert!(function.contains("Timeout: 900"), "{function}");
    let parameter = template
        .split("\n  ReviewShardSeconds:\n")
        .nth(1)
        .expect("the ReviewShardSeconds parameter")
        .split("\n  ApiRateLimits:\n")
        .next()
        .expect("its block");
    assert!(
        parameter.contains(&format!("Default: {}", inventory::DEFAULT_SHARD_SECONDS)),
        "{parameter}"
    );
    assert!(
        parameter.contains(&format!("MaxValue: {}", inventory::MAX_SHARD_SECONDS)),
        "{parameter}"
    );

    // A Distributed Map over the plan's shard list in the report bucket, one shard at a time.
    let states = &definition["States"];
    let map = &states["Shards"];
    assert_eq!(map["ItemProcessor"]["ProcessorConfig"]["Mode"], "DISTRIBUTED");
    assert_eq!(map["ItemReader"]["Resource"], "arn:aws:states:::s3:getObject");
    assert_eq!(map["ItemReader"]["Parameters"]["Bucket"], "${ReportBucket}");
    assert_eq!(map["MaxConcurrency"], 1);
    // Each step retries the function's transient errorTypes (Error::kind), never an incomplete inventory.
    for step in [
        &states["Plan"],
        &map["ItemProcessor"]["States"]["Shard"],
        &states["Merge"],
    ] {
        let retried: Vec<&str> = step["Retry"]
            .as_array()
            .expect("a Retry list")
            .iter()
            .flat_map(|r| {
                r["ErrorEquals"]
                    .as_array()
                    .expect("errors")
                    .iter()
                    .filter_map(|e| e.as_str())
            })
            .collect();
        assert!(
            retried.contains(&"AwsThrottled") && retried.contains(&"OktaRateLimited"),
            "{retried:?}"
        );
        assert!(
            !retried.contains(&"InventoryIncomplete") && !retried.contains(&"States.ALL"),
            "{retried:?}"
        );
    }
    assert_eq!(states["Plan"]["Next"], "Shards");
    assert_eq!(map["Next"], "Merge");

    // The payloads each step sends are the steps the function reads.
    let shard = Shard {
        index: 0,
        of: 1,
        work: vec![],
    };
    let shard_json = serde_json::to_value(&shard).expect("encode");
    let values = [
        ("$$.Execution.Name", serde_json::json!("run-1")),
        ("$.kind", serde_json::json!("quarterly")),
        ("$.plan.run_id", serde_json::json!("run-1")),
        ("$$.Map.Item.Value", shard_json),
    ];
    let step = |payload: &serde_json::Value| -> InventoryStep {
        serde_json::from_value(instantiate(payload, &values)).expect("an inventory step")
    };
    assert_eq!(
        step(&states["Plan"]["Parameters"]["Payload"]),
        InventoryStep::Plan {
            run_id: "run-1".into(),
            kind: "quarterly".into()
        }
    );
    assert_eq!(
        step(&map["ItemSelector"]),
        InventoryStep::Shard {
            run_id: "run-1".into(),
            shard
        }
    );
    assert_eq!(
        step(&states["Merge"]["Parameters"]["Payload"]),
        InventoryStep::Merge {
            run_id: "run-1".into(),
            kind: "quarterly".into()
        }
    );
    assert_eq!(
        map["ItemProcessor"]["States"]["Shard"]["Parameters"]["Payload.$"], "$",
        "a shard invocation gets the item as selected"
    );
}
