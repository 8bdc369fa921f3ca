//! The review's inventory at scale: seeds a moto org (bulk, through the launcher's test-only SeedOrgForTest), an
//! Okta fake of the same people, and runs `inventory::collect_snapshot` through a local front that enforces each
//! AWS family's documented TPS (AWS throttling errors past it) and adds a latency to every call. Prints calls made
//! vs the minimum for the shape, wall time vs the calls ÷ TPS bound, peak RSS, and the rules' time.
//!
//! ```text
//! cargo run --release -p integration-tests --bin review-bench -- [--scale 1.0] [--latency-ms 50]
//!     [--users 10000] [--groups 1000] [--accounts 200] [--permission-sets 50] [--assignments 20000]
//! ```
//! `--scale` multiplies users, groups, accounts and assignments (not permission sets). Needs moto like the tests
//! (`DEPROV_MOTO_PYTHON` or the workspace `.venv`).
//!
//! `--rules-only` seeds nothing: it generates the same shape in memory (`shared::generated_org`) and times the
//! review's own work on it — `rules::evaluate`, `access_rows`, the whole `review_snapshot` and rendering the report
//! files — with this process's peak RSS after each step (the process holds nothing else: the review's own share).
#![forbid(unsafe_code)]

use std::collections::{BTreeMap, HashMap};
use std::time::{Duration as StdDuration, Instant};

use aws_sdk_organizations::types::OrganizationFeatureSet;
use chrono::{Duration, Utc};
use integration_tests::aws_front::{AwsFront, documented_limits};
use integration_tests::moto::{self, MotoAccount};
use integration_tests::okta_fake::{OktaFake, api_token};
use serde_json::{Value, json};
use shared::aws::{CloudTrailActivityLog, IdentityCenterClient};
use shared::domain::review::{InventoryStats, ReviewKind};
use shared::domain::{
    IdcGroupId, IdcInstance, IdentityLinks, IdentityStoreId, InstanceArn, LinkPolicy, OktaAppId, Principal,
};
use shared::generated_org::{self, APP_ID as APP, Assignee, GROUP_ASSIGNMENTS_PER_PAIR, OrgShape};
use shared::handlers::access_review::{AccessReviewConfig, History, review_snapshot};
use shared::inventory::{self, CollectOptions, ShardBudget};
use shared::okta::OktaClient;
use shared::rate_limit::{ApiFamily, RateLimits};
use shared::review_report::{ReportFiles, StagingDir};
use shared::rules::{Policy, ReviewPolicy, evaluate};

#[derive(Debug, Clone)]
struct Shape {
    org: OrgShape,
    latency: StdDuration,
}

impl std::ops::Deref for Shape {
    type Target = OrgShape;
    fn deref(&self) -> &OrgShape {
        &self.org
    }
}

fn arg(args: &[String], name: &str) -> Option<String> {
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1).cloned())
}

fn shape() -> Shape {
    let args: Vec<String> = std::env::args().collect();
    let number = |name: &str, default: f64| -> f64 {
        arg(&args, name)
            .map(|v| v.parse().unwrap_or_else(|_| panic!("{name} wants a number, not {v}")))
            .unwrap_or(default)
    };
    let scale = number("--scale", 1.0);
    let scaled = |name: &str, default: f64| ((number(name, default) * scale).round() as usize).max(1);
    let full = OrgShape::FULL;
    Shape {
        org: OrgShape {
            users: scaled("--users", full.users as f64),
            groups: scaled("--groups", full.groups as f64),
            accounts: scaled("--accounts", full.accounts as f64),
            permission_sets: number("--permission-sets", full.permission_sets as f64).max(1.0) as usize,
            assignments: scaled("--assignments", full.assignments as f64),
        },
        latency: StdDuration::from_millis(number("--latency-ms", 50.0) as u64),
    }
}

fn pairs(shape: &Shape) -> Vec<(usize, usize)> {
    shape.org.pairs()
}

#[tokio::main]
async fn main() {
    let shape = shape();
    eprintln!("shape: {shape:?}");
    if std::env::args().any(|a| a == "--rules-only") {
        rules_only(&shape);
        return;
    }
    let started = Instant::now();
    let account = MotoAccount::new().await;
    let (instance, accounts, user_ids, group_ids, members) = seed(&account, &shape).await;
    let okta = OktaFake::start(generated_org::okta_side(&shape.org, &user_ids, &group_ids), vec![]).await;
    eprintln!("seeded in {:.1} s", started.elapsed().as_secs_f64());

    let front = AwsFront::start(moto::endpoint(), shape.latency, &documented_limits()).await;
    // Production's retry (standard, 3 attempts), pointed at the front.
    let config = account
        .sdk_config()
        .clone()
        .into_builder()
        .endpoint_url(front.url())
        .retry_config(aws_config::retry::RetryConfig::standard().with_max_attempts(3))
        .build();
    let limits = RateLimits::default();
    let gates = limits.gates();
    let identity_center = IdentityCenterClient::gated(&config, instance.clone(), &gates);
    let activity = CloudTrailActivityLog::gated(&config, &gates);
    let mut okta_config = okta.client_config(api_token());
    // The fake's client pages by 2 and times out after 2 s to test paging and faults; here, Okta's own maxima and
    // the production timeout.
    okta_config.page_size = 10_000;
    okta_config.timeout = StdDuration::from_secs(30);
    let directory = OktaClient::new(okta_config).expect("Okta client").gated(gates.clone());
    let options = CollectOptions {
        org_url: "https://acme.okta.com".into(),
        app_id: OktaAppId::parse(APP).expect("id"),
        links: LinkPolicy::default(),
        activity_window: Duration::days(1),
    };

    let rss_before = peak_rss_kib();
    let now = Utc::now();
    let run = Instant::now();
    let snapshot = inventory::collect_snapshot(
        &directory,
        &identity_center,
        &activity,
        &options,
        now,
        ShardBudget::documented(),
    )
    .await
    .expect("the inventory");
    let wall = run.elapsed();
    let rss_after = peak_rss_kib();

    let rows = effective_rows(&snapshot);
    let rules_started = Instant::now();
    let findings = evaluate(&snapshot, &Policy::at(now));
    let rules = rules_started.elapsed();
    let review_started = Instant::now();
    let report = review_snapshot(
        &snapshot,
        &review_config(),
        ReviewKind::Quarterly,
        &History::default(),
        now,
        InventoryStats::default(),
    );
    let staging = StagingDir::create(&report.run_id).expect("a staging directory");
    let files = ReportFiles::render(&report, staging.path()).expect("the report renders");
    let review = review_started.elapsed();
    let rss_review = peak_rss_kib();

    // What the front saw (AWS) and what the gates let through (Okta, and AWS for a cross-check).
    let traffic = front.traffic();
    let gate_calls: BTreeMap<String, u64> = gates.calls().into_iter().collect();
    let minimum = minimum_calls(&shape, &accounts, &members);
    println!("# review-bench");
    println!(
        "shape: {} users, {} groups, {} accounts, {} permission sets, {} assignments ({} pairs), {} ms a call",
        shape.users,
        shape.groups,
        shape.accounts,
        shape.permission_sets,
        snapshot.idc.assignments.len(),
        pairs(&shape).len(),
        shape.latency.as_millis()
    );
    println!();
    println!("| family | calls | minimum | × min | throttled | peak in flight | rate /s | calls ÷ rate (s) |");
    println!("|---|---|---|---|---|---|---|---|");
    let mut bound = 0.0f64;
    let mut all_calls = 0u64;
    let mut all_minimum = 0u64;
    for family in ApiFamily::ALL {
        let name = family.name();
        let (calls, throttled, peak) = match traffic.get(name) {
            Some(t) => (t.total(), t.throttled.to_string(), t.peak_in_flight.to_string()),
            None => (gate_calls.get(name).copied().unwrap_or(0), "-".into(), "-".into()),
        };
        let min = minimum.get(name).copied().unwrap_or(0);
        if calls == 0 && min == 0 {
            continue;
        }
        let rate = limits.limit(family).per_second;
        let seconds = calls as f64 / rate;
        bound = bound.max(seconds);
        all_calls += calls;
        all_minimum += min;
        println!(
            "| {name} | {calls} | {min} | {:.2} | {throttled} | {peak} | {rate:.2} | {seconds:.1} |",
            calls as f64 / (min.max(1)) as f64
        );
    }
    println!();
    println!(
        "calls: {all_calls} made, {all_minimum} minimum ({:.3}× the minimum)",
        all_calls as f64 / all_minimum.max(1) as f64
    );
    println!(
        "wall: {:.1} s; bound (the busiest family's calls ÷ its rate): {bound:.1} s ({:.2}× the bound)",
        wall.as_secs_f64(),
        wall.as_secs_f64() / bound.max(1e-9)
    );
    println!(
        "peak RSS of the process: {:.1} MiB before the run (moto client, Okta fake with its org, front), {:.1} MiB after",
        rss_before as f64 / 1024.0,
        rss_after as f64 / 1024.0
    );
    println!(
        "rules: {} findings over {} effective-access rows in {:.3} s",
        findings.len(),
        rows,
        rules.as_secs_f64()
    );
    println!(
        "review (rules, access rows, lifecycle, the report files: {:.1} MiB): {:.2} s; peak RSS after it {:.1} MiB",
        files.files.iter().map(|f| f.bytes).sum::<u64>() as f64 / 1048576.0,
        review.as_secs_f64(),
        rss_review as f64 / 1024.0
    );
    let mut per_op: BTreeMap<&str, u64> = BTreeMap::new();
    for t in traffic.values() {
        for (op, n) in &t.calls {
            *per_op.entry(op.as_str()).or_default() += n;
        }
    }
    eprintln!("AWS calls by operation: {per_op:?}");
    eprintln!("gate calls: {gate_calls:?}");
}

/// The fewest calls this shape allows: every list at its largest page, per set then per pair.
fn minimum_calls(shape: &Shape, accounts: &[String], members: &[Vec<usize>]) -> BTreeMap<&'static str, u64> {
    let pages = |n: usize, page: usize| n.div_ceil(page).max(1) as u64;
    let pairs = pairs(shape);
    let mut per_set: HashMap<usize, usize> = HashMap::new();
    for (set, _) in &pairs {
        *per_set.entry(*set).or_default() += 1;
    }
    let per_pair = GROUP_ASSIGNMENTS_PER_PAIR + 1;
    let mut min = BTreeMap::new();
    min.insert(
        "identitystore",
        pages(shape.users, 100) + pages(shape.groups, 100) + members.iter().map(|m| pages(m.len(), 100)).sum::<u64>(),
    );
    min.insert(
        "sso-admin",
        pages(shape.permission_sets, 100)
            + shape.permission_sets as u64
            + (0..shape.permission_sets)
                .map(|s| pages(per_set.get(&s).copied().unwrap_or(0), 100))
                .sum::<u64>()
            + pairs.len() as u64 * pages(per_pair, 100),
    );
    // ListAccounts: the management account and the members, 20 a page.
    min.insert("organizations", pages(accounts.len() + 1, 20));
    // One LookupEvents per event source (portal, SCIM), one page each here (no events seeded).
    min.insert("cloudtrail", 2);
    // Users: the plain list (200 a page) and the DEPROVISIONED filter (one page here).
    min.insert("okta-users", pages(shape.users, 200) + 1);
    // The app, its users (500 a page), push mappings (1,000), keys, and the app's assigned groups (200).
    min.insert(
        "okta-apps",
        1 + pages(shape.users, 500) + pages(shape.groups, 1000) + 1 + 1,
    );
    // Every group (10,000 a page), then the members of each pushed group (1,000 a page).
    min.insert(
        "okta-groups",
        pages(shape.groups, 10_000) + members.iter().map(|m| pages(m.len(), 1000)).sum::<u64>(),
    );
    // The window's System Log (one page here).
    min.insert("okta-logs", 1);
    min
}

/// Effective-access rows: per assignment, one per member of a group (or the one user).
fn effective_rows(snapshot: &shared::domain::OrgSnapshot) -> usize {
    let sizes: HashMap<&IdcGroupId, usize> = snapshot.idc.groups.iter().map(|g| (&g.id, g.members.len())).collect();
    snapshot
        .idc
        .assignments
        .iter()
        .map(|a| match &a.principal {
            Principal::User(_) => 1,
            Principal::Group(g) => sizes.get(g).copied().unwrap_or(0),
        })
        .sum()
}

fn peak_rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1).and_then(|n| n.parse().ok()))
        })
        .unwrap_or(0)
}

type Seeded = (IdcInstance, Vec<String>, Vec<String>, Vec<String>, Vec<Vec<usize>>);

async fn seed(account: &MotoAccount, shape: &Shape) -> Seeded {
    let config = account.sdk_config();
    let organizations = aws_sdk_organizations::Client::new(config);
    organizations
        .create_organization()
        .feature_set(OrganizationFeatureSet::All)
        .send()
        .await
        .expect("CreateOrganization");
    let mut accounts = Vec::with_capacity(shape.accounts);
    for n in 0..shape.accounts {
        let status = organizations
            .create_account()
            .account_name(format!("bench-{n}"))
            .email(format!("aws+bench-{n}@example.com"))
            .send()
            .await
            .expect("CreateAccount")
            .create_account_status
            .expect("a status");
        accounts.push(status.account_id.expect("an account id"));
    }
    let listed = aws_sdk_ssoadmin::Client::new(config)
        .list_instances()
        .send()
        .await
        .expect("ListInstances");
    let metadata = listed.instances().first().expect("an instance");
    let instance = IdcInstance {
        instance_arn: InstanceArn::parse(metadata.instance_arn().expect("arn")).expect("arn"),
        identity_store_id: IdentityStoreId::parse(metadata.identity_store_id().expect("id")).expect("id"),
    };
    let members = shape.members();
    let users: Vec<Value> = (0..shape.users)
        .map(|n| json!({"UserName": generated_org::login(n)}))
        .collect();
    let groups: Vec<Value> = members
        .iter()
        .enumerate()
        .map(|(n, m)| json!({"DisplayName": format!("aws-team-{n:04}"), "Members": m}))
        .collect();
    let sets: Vec<Value> = (0..shape.permission_sets)
        .map(|n| json!({"Name": format!("Set{n:02}"), "SessionDuration": "PT4H"}))
        .collect();
    let assignments: Vec<Value> = shape
        .assignments()
        .into_iter()
        .map(|(set, account, who)| {
            let (kind, principal) = match who {
                Assignee::Group(g) => ("GROUP", g),
                Assignee::User(u) => ("USER", u),
            };
            json!({"AccountId": accounts[account], "PermissionSet": set, "PrincipalType": kind, "Principal": principal})
        })
        .collect();
    let answer = account
        .call_json(
            "sso",
            "SWBExternalService.SeedOrgForTest",
            &json!({
                "IdentityStoreId": instance.identity_store_id.as_str(),
                "InstanceArn": instance.instance_arn.as_str(),
                "Users": users, "Groups": groups, "PermissionSets": sets, "Assignments": assignments,
            }),
        )
        .await;
    let strings = |key: &str| -> Vec<String> {
        answer[key]
            .as_array()
            .expect("ids")
            .iter()
            .map(|v| v.as_str().expect("an id").to_owned())
            .collect()
    };
    (instance, accounts, strings("UserIds"), strings("GroupIds"), members)
}

/// The review's settings for the bench: the defaults, with `Set00` privileged (so the large-group rule runs).
fn review_config() -> AccessReviewConfig {
    AccessReviewConfig {
        org_url: "https://acme.okta.com".into(),
        app_id: OktaAppId::parse(APP).expect("id"),
        links: LinkPolicy::default(),
        review: ReviewPolicy {
            privileged_permission_sets: ["Set00".to_owned()].into(),
            ..ReviewPolicy::default()
        },
        activity_window: Duration::days(1),
    }
}

/// The CPU time this thread has run (Linux `/proc/thread-self/schedstat`), in seconds; 0 where unreadable.
fn cpu_seconds() -> f64 {
    std::fs::read_to_string("/proc/thread-self/schedstat")
        .ok()
        .and_then(|s| s.split_whitespace().next().and_then(|n| n.parse::<u64>().ok()))
        .map_or(0.0, |ns| ns as f64 / 1e9)
}

fn mib(kib: u64) -> f64 {
    kib as f64 / 1024.0
}

/// The review's own work on the shape generated in memory: nothing seeded, no fake, no front in the process.
fn rules_only(shape: &Shape) {
    let now = Utc::now();
    let rss_start = peak_rss_kib();
    let snapshot = generated_org::snapshot(&shape.org, now);
    let rss_snapshot = peak_rss_kib();
    let config = review_config();
    let mut policy = Policy::at(now);
    policy.review = config.review.clone();

    let (started, cpu) = (Instant::now(), cpu_seconds());
    let findings = evaluate(&snapshot, &policy);
    let (rules, rules_cpu) = (started.elapsed(), cpu_seconds() - cpu);
    let findings_json = {
        struct Count(usize);
        impl std::io::Write for Count {
            fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
                self.0 += buf.len();
                Ok(buf.len())
            }
            fn flush(&mut self) -> std::io::Result<()> {
                Ok(())
            }
        }
        let mut count = Count(0);
        serde_json::to_writer(&mut count, &findings).map_or(0, |()| count.0)
    };
    drop(findings);
    let rss_evaluate = peak_rss_kib();
    let (started, cpu) = (Instant::now(), cpu_seconds());
    let links = IdentityLinks::build(&snapshot.okta, &snapshot.idc, &config.links);
    let rows = shared::rules::access::access_rows(&snapshot, &links);
    let (access, access_cpu) = (started.elapsed(), cpu_seconds() - cpu);
    let row_count = rows.len();
    drop(rows);
    drop(links);
    let rss_rules = peak_rss_kib();

    let (started, cpu) = (Instant::now(), cpu_seconds());
    let report = review_snapshot(
        &snapshot,
        &config,
        ReviewKind::Quarterly,
        &History::default(),
        now,
        InventoryStats::default(),
    );
    let (review, review_cpu) = (started.elapsed(), cpu_seconds() - cpu);
    let rss_review = peak_rss_kib();
    let (started, cpu) = (Instant::now(), cpu_seconds());
    let staging = StagingDir::create(&report.run_id).expect("a staging directory");
    let files = ReportFiles::render(&report, staging.path()).expect("the report renders");
    let (render, render_cpu) = (started.elapsed(), cpu_seconds() - cpu);
    let rss_render = peak_rss_kib();

    println!("# review-bench --rules-only");
    println!(
        "shape: {} users, {} groups, {} accounts, {} permission sets, {} assignments; {} effective-access rows \
         (the shape says {})",
        shape.users,
        shape.groups,
        shape.accounts,
        shape.permission_sets,
        snapshot.idc.assignments.len(),
        row_count,
        shape.effective_rows()
    );
    println!("(wall time, and in brackets the CPU time of this thread: on a loaded machine the wall is the longer)");
    println!(
        "rules::evaluate: {:.3} s [{rules_cpu:.3} s CPU], {} findings; access_rows: {:.3} s [{access_cpu:.3} s CPU]",
        rules.as_secs_f64(),
        report.findings.len(),
        access.as_secs_f64()
    );
    println!(
        "review_snapshot (rules, access rows, lifecycle, diff): {:.3} s [{review_cpu:.3} s CPU]; rendering the \
         files: {:.3} s [{render_cpu:.3} s CPU]",
        review.as_secs_f64(),
        render.as_secs_f64()
    );
    for f in &files.files {
        println!("  {}: {:.1} MiB", f.name, f.bytes as f64 / 1048576.0);
    }
    let per_rule: Vec<String> = shared::review_report::counts_per_rule(&report)
        .into_iter()
        .map(|(rule, c)| format!("{rule} {}", c.total()))
        .collect();
    println!("findings per rule: {}", per_rule.join(", "));
    println!(
        "the rules' findings: {:.1} MiB as JSON",
        findings_json as f64 / 1048576.0
    );
    println!(
        "peak RSS: {:.1} MiB at start, {:.1} MiB with the snapshot, {:.1} MiB after the rules, {:.1} MiB after the \
         access rows, {:.1} MiB after review_snapshot, {:.1} MiB after rendering",
        mib(rss_start),
        mib(rss_snapshot),
        mib(rss_evaluate),
        mib(rss_rules),
        mib(rss_review),
        mib(rss_render)
    );
}
