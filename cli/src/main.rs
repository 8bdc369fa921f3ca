//! `deprov-audit`: run the auditor's checks from a terminal — on the demo org, on a snapshot file, or live.
#![forbid(unsafe_code)]

use std::collections::HashSet;
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use chrono::{DateTime, Duration, Utc};
use clap::{Parser, Subcommand, ValueEnum};
use indicatif::{ProgressBar, ProgressStyle};
use shared::collect::{CollectOptions, collect_snapshot};
use shared::config::{OktaSettings, ProcessEnv, idc_instance_from_env, link_policy_from_env};
use shared::domain::review::{InventoryStats, ReviewKind};
use shared::domain::{Finding, LinkPolicy, OrgSnapshot};
use shared::handlers::access_review::{
    AccessReviewConfig, GatedReaders, History, RunMeter, activity_window_from_env, rate_limits_from_env,
    review_policy_from_env, review_snapshot,
};
use shared::handlers::propagation_check::{CheckConfig, ReadPorts};
use shared::ports::{ActivityQuery, VerdictLedger};
use shared::rate_limit::Gates;
use shared::review_report;
use shared::rules::propagation::{PropagationPolicy, Verdict, activity_after_deprovision, judge};
use shared::rules::{Policy, evaluate};

/// The demo org: an Okta + Identity Center org with the deprovisioning failures the auditor exists to catch.
const DEMO_ORG: &str = include_str!("../../events/demo/org.json");
/// The demo org's SAML certificates (an AWS Account Federation app and IAM SAML providers), as `certs --out` saves them.
const DEMO_CERTS: &str = include_str!("../../events/demo/certs.json");

#[derive(Debug, Parser)]
#[command(
    name = "deprov-audit",
    version,
    about = "Prove that Okta deprovisioning reaches AWS IAM Identity Center"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run every rule on the embedded demo org (events/demo/org.json) and print the findings; with
    /// `--report-dir`, also write the access review's report files (JSON, CSV, Markdown, HTML, manifest) there.
    Demo {
        #[arg(long, value_enum, default_value_t = Format::Table)]
        format: Format,
        #[arg(long)]
        report_dir: Option<PathBuf>,
    },
    /// Check live, now, whether one person's Okta deprovision reached IAM Identity Center (Okta and AWS
    /// credentials from the environment: see the README's configuration table).
    Verify {
        /// The person's Okta login (or Okta user id).
        #[arg(long)]
        login: String,
        /// When the deprovision happened, if not the Okta status change (RFC 3339).
        #[arg(long)]
        since: Option<DateTime<Utc>>,
        #[arg(long, value_enum, default_value_t = Format::Table)]
        format: Format,
    },
    /// Collect a live org snapshot (Okta, Identity Center, CloudTrail activity) into a JSON file for `review`.
    Snapshot {
        #[arg(long)]
        out: PathBuf,
        /// Days of CloudTrail activity to include (LookupEvents keeps 90).
        #[arg(long, default_value_t = 7)]
        activity_days: i64,
    },
    /// Check the SAML signing certificates live (Okta app keys, IAM SAML providers of this account and of
    /// CERT_MONITOR_MEMBER_ACCOUNT_IDS through CERT_MONITOR_MEMBER_ROLE_NAME), or judge a saved inventory.
    Certs {
        /// Judge this inventory file (as written by `--out`) as of when it was collected; nothing is read live.
        #[arg(long, conflicts_with = "out")]
        inventory: Option<PathBuf>,
        /// Also write what was read live to this file.
        #[arg(long)]
        out: Option<PathBuf>,
        #[arg(long, value_enum, default_value_t = Format::Table)]
        format: Format,
    },
    /// End a deprovisioned person's live role sessions: an explicit Deny on their Identity Center user ids in the
    /// inline policy of each permission set they hold (or held), re-provisioned to its accounts. A dry run unless
    /// --apply; run by a person only (never by a function). Exit codes: 0 done (or planned), 1 error, 2 refused or
    /// declined, 3 some permission set left alone or not done.
    Revoke(RevokeArgs),
    /// The access review: every rule, live (Okta, Identity Center and CloudTrail from the environment, with a
    /// progress display on a terminal), or on an org snapshot file (as written by `snapshot`). Policy from
    /// REVIEW_INACTIVE_DAYS, PRIVILEGED_PERMISSION_SETS, REVIEW_LARGE_GROUP_MEMBERS, REVIEW_ACTIVITY_DAYS.
    Review {
        /// Judge this snapshot file as of when it was collected; nothing is read live.
        #[arg(long, conflicts_with = "out")]
        snapshot: Option<PathBuf>,
        /// Live: also save what was read as a snapshot file.
        #[arg(long)]
        out: Option<PathBuf>,
        /// Also write the report files (JSON, CSV, Markdown, HTML and the SHA-256 manifest) into this directory,
        /// as the function writes them to S3 (a quarterly review with no previous run; no verdict archive is read,
        /// so no deprovisions are listed).
        #[arg(long, value_name = "DIR")]
        report_dir: Option<PathBuf>,
        #[arg(long, value_enum, default_value_t = Format::Table)]
        format: Format,
    },
}

#[derive(Debug, clap::Args)]
struct RevokeArgs {
    /// The person's Okta login (or Okta user id).
    #[arg(long)]
    login: String,
    /// A permission set to deny them on too (repeatable): once SCIM has removed their assignments, the sets they
    /// held are no longer listed.
    #[arg(long = "permission-set", value_name = "ARN")]
    permission_sets: Vec<String>,
    /// Also deny Identity Center users linked only by login or email (a guess).
    #[arg(long)]
    include_weak_links: bool,
    /// Change the permission sets (without it: print the plan, change nothing).
    #[arg(long)]
    apply: bool,
    /// Apply without asking (also when stdin is not a terminal).
    #[arg(long, requires = "apply")]
    yes: bool,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum Format {
    /// A table for people.
    Table,
    /// A JSON array of findings, in the shape published to SNS.
    Json,
}

#[tokio::main]
async fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Revoke(args) => return revoke(&args).await,
        Command::Demo { format, report_dir } => demo(format, report_dir.as_deref()),
        Command::Review {
            snapshot: Some(snapshot),
            report_dir,
            format,
            ..
        } => match std::fs::read_to_string(&snapshot) {
            Ok(text) => review(&text, &snapshot.display().to_string(), report_dir.as_deref(), format),
            Err(e) => Err(format!("cannot read {}: {e}", snapshot.display())),
        },
        Command::Review {
            snapshot: None,
            out,
            report_dir,
            format,
        } => live_review(out.as_deref(), report_dir.as_deref(), format).await,
        Command::Verify { login, since, format } => verify(&login, since, format).await,
        Command::Snapshot { out, activity_days } => snapshot(&out, activity_days).await,
        Command::Certs { inventory, out, format } => certs(inventory.as_deref(), out.as_deref(), format).await,
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("deprov-audit: {message}");
            ExitCode::FAILURE
        }
    }
}

/// The demo org's snapshot rules and its certificates, in one list.
fn demo(format: Format, report_dir: Option<&Path>) -> Result<(), String> {
    let snapshot: OrgSnapshot =
        serde_json::from_str(DEMO_ORG).map_err(|e| format!("the demo org is not a valid org snapshot: {e}"))?;
    let certs: shared::domain::certificate::CertInventory = serde_json::from_str(DEMO_CERTS)
        .map_err(|e| format!("the demo certificates are not a valid inventory: {e}"))?;
    // The demo's review policy: Operations is privileged, and three members make a group large (a real org sets
    // PRIVILEGED_PERMISSION_SETS and REVIEW_LARGE_GROUP_MEMBERS, default 10).
    let mut policy = Policy::at(snapshot.collected_at);
    policy.review.privileged_permission_sets = ["Operations".to_owned()].into();
    policy.review.large_group_members = 3;
    let mut findings = judge_snapshot(&snapshot, &policy, report_dir)?;
    findings.extend(shared::handlers::cert_monitor::judge(
        &certs,
        &shared::rules::KeyExpiryThresholds::default(),
        certs.collected_at,
    ));
    shared::rules::sort_findings(&mut findings);
    print_findings(&findings, format)
}

/// The snapshot's findings as of when it was collected, and with `report_dir` the review's report files written
/// there first (the demo and `review --snapshot` alike).
fn judge_snapshot(snapshot: &OrgSnapshot, policy: &Policy, report_dir: Option<&Path>) -> Result<Vec<Finding>, String> {
    if let Some(dir) = report_dir {
        write_report(dir, snapshot, policy, snapshot.collected_at, InventoryStats::default())?;
    }
    Ok(evaluate(snapshot, policy))
}

/// Evaluates a snapshot as of the moment it was collected, so the same file always gives the same findings.
fn review(snapshot_json: &str, name: &str, report_dir: Option<&Path>, format: Format) -> Result<(), String> {
    let snapshot: OrgSnapshot =
        serde_json::from_str(snapshot_json).map_err(|e| format!("{name} is not a valid org snapshot: {e}"))?;
    let mut policy = Policy::at(snapshot.collected_at);
    policy.review = review_policy_from_env(&ProcessEnv).map_err(|e| e.to_string())?;
    // How Okta people are linked to Identity Center users, as the live review and the function read it: a
    // snapshot of an org linked by e-mail judged with the default links would find orphans that are not.
    policy.links = link_policy_from_env(&ProcessEnv).map_err(|e| e.to_string())?;
    let findings = judge_snapshot(&snapshot, &policy, report_dir)?;
    print_findings(&findings, format)
}

/// The review's report files for `--report-dir`: the function's `review_snapshot` (a quarterly run with no
/// history), rendered and written with its manifest; says on stderr where the page is.
fn write_report(
    dir: &Path,
    snapshot: &OrgSnapshot,
    policy: &Policy,
    now: DateTime<Utc>,
    inventory: InventoryStats,
) -> Result<(), String> {
    let config = AccessReviewConfig {
        org_url: snapshot.okta.org_url.trim_end_matches('/').to_owned(),
        app_id: snapshot.okta.app.id.clone(),
        links: policy.links.clone(),
        review: policy.review.clone(),
        activity_window: activity_window_from_env(&ProcessEnv).map_err(|e| e.to_string())?,
    };
    let report = review_snapshot(
        snapshot,
        &config,
        ReviewKind::Quarterly,
        &History::default(),
        now,
        inventory,
    );
    // Rendered straight into the directory, one file at a time.
    let location = review_report::write_to_directory(dir, &report).map_err(|e| chain(&e))?;
    eprintln!("report written: {} (manifest {})", location.index, location.manifest);
    Ok(())
}

/// A spinner on stderr when it is a terminal; hidden (nothing drawn) when it is not, so piped output stays clean.
fn progress() -> ProgressBar {
    if !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new_spinner();
    if let Ok(style) = ProgressStyle::with_template("{spinner} [{elapsed}] {msg}") {
        bar.set_style(style);
    }
    bar.enable_steady_tick(std::time::Duration::from_millis(120));
    bar
}

/// The access review, live: collect (Okta, Identity Center, CloudTrail), judge, print.
async fn live_review(out: Option<&Path>, report_dir: Option<&Path>, format: Format) -> Result<(), String> {
    let review = review_policy_from_env(&ProcessEnv).map_err(|e| e.to_string())?;
    let activity_window = activity_window_from_env(&ProcessEnv).map_err(|e| e.to_string())?;
    let bar = progress();
    bar.set_message("connecting to Okta and IAM Identity Center");
    let (ports, okta, links, gates) = connect_gated().await?;
    let meter = RunMeter::start(Some(&gates));
    let options = CollectOptions {
        org_url: okta.org_url.to_string().trim_end_matches('/').to_owned(),
        app_id: okta.app_id.clone(),
        links: links.clone(),
        activity_window,
    };
    bar.set_message(format!(
        "reading Okta, Identity Center and {} days of CloudTrail activity",
        activity_window.num_days()
    ));
    let now = Utc::now();
    let collected = collect_snapshot(&ports.directory, &ports.identity_center, &ports.activity, &options, now).await;
    let inventory = meter.stats();
    let snapshot = match collected {
        Ok(snapshot) => snapshot,
        Err(e) => {
            bar.abandon_with_message("collection failed");
            return Err(chain(&e));
        }
    };
    if let Some(out) = out {
        bar.set_message(format!("writing {}", out.display()));
        let text = serde_json::to_string_pretty(&snapshot).map_err(|e| format!("cannot encode the snapshot: {e}"))?;
        std::fs::write(out, text).map_err(|e| format!("cannot write {}: {e}", out.display()))?;
    }
    bar.set_message(format!(
        "judging {} Okta users, {} Identity Center users, {} assignments",
        snapshot.okta.users.len(),
        snapshot.idc.users.len(),
        snapshot.idc.assignments.len()
    ));
    let mut policy = Policy::at(now);
    policy.links = links.clone();
    policy.review = review;
    if let Some(dir) = report_dir {
        write_report(dir, &snapshot, &policy, now, inventory.clone())?;
    }
    let findings = evaluate(&snapshot, &policy);
    let identity = shared::domain::IdentityLinks::build(&snapshot.okta, &snapshot.idc, &links);
    let access = shared::rules::access::access_rows(&snapshot, &identity);
    bar.finish_and_clear();
    eprintln!(
        "{} findings; {} effective access rows ({} Okta users, {} Identity Center users, {} assignments, {} activity events)",
        findings.len(),
        access.len(),
        snapshot.okta.users.len(),
        snapshot.idc.users.len(),
        snapshot.idc.assignments.len(),
        snapshot.activity.len()
    );
    eprintln!("{}", calls_line(&inventory));
    print_findings(&findings, format)
}

/// "calls: sso-admin 12, identitystore 40, … in 3.2 s" — what the inventory cost, per API family.
fn calls_line(inventory: &InventoryStats) -> String {
    let families: Vec<String> = inventory.calls.iter().map(|(f, n)| format!("{f} {n}")).collect();
    format!(
        "calls: {} in {:.1} s",
        families.join(", "),
        inventory.wall_millis as f64 / 1000.0
    )
}

/// The review's readers from the environment, every client behind its API family's gate (`API_RATE_LIMITS`, as
/// the function reads it).
async fn connect_gated() -> Result<(GatedReaders, OktaSettings, LinkPolicy, Gates), String> {
    let okta = OktaSettings::from_env(&ProcessEnv).map_err(|e| e.to_string())?;
    let instance = idc_instance_from_env(&ProcessEnv).map_err(|e| e.to_string())?;
    let links = link_policy_from_env(&ProcessEnv).map_err(|e| e.to_string())?;
    let gates = rate_limits_from_env(&ProcessEnv).map_err(|e| e.to_string())?.gates();
    let sdk = shared::aws::load_sdk_config().await;
    let ports = GatedReaders::connect(&okta, instance.as_ref(), &sdk, &gates)
        .await
        .map_err(|e| chain(&e))?;
    Ok((ports, okta, links, gates))
}

/// Okta, Identity Center and CloudTrail, from the environment; links as the Lambdas link (`LOGIN_MAPPING`,
/// `IDC_EXTERNAL_ID_ISSUER`).
async fn connect() -> Result<(ReadPorts, OktaSettings, LinkPolicy, aws_config::SdkConfig), String> {
    let okta = OktaSettings::from_env(&ProcessEnv).map_err(|e| e.to_string())?;
    let instance = idc_instance_from_env(&ProcessEnv).map_err(|e| e.to_string())?;
    let links = link_policy_from_env(&ProcessEnv).map_err(|e| e.to_string())?;
    let sdk = shared::aws::load_sdk_config().await;
    let ports = ReadPorts::connect_readers(&okta, instance.as_ref(), &sdk, 1)
        .await
        .map_err(|e| chain(&e))?;
    Ok((ports, okta, links, sdk))
}

/// The same observation and verdict as the propagation-check function, final now (no waiting for windows).
async fn verify(login: &str, since: Option<DateTime<Utc>>, format: Format) -> Result<(), String> {
    let (ports, okta, links, sdk) = connect().await?;
    let now = Utc::now();
    let Some(job) = ports
        .latest_deprovision(login, since, now)
        .await
        .map_err(|e| chain(&e))?
    else {
        println!("{login} is active in Okta: there is no deprovision to verify");
        return Ok(());
    };
    let config = CheckConfig {
        aws_app_id: okta.app_id.clone(),
        links,
        propagation_window: Duration::zero(),
        max_window: Duration::zero(),
        recheck_interval: Duration::minutes(5),
        sweep_lookback: Duration::zero(),
        sweep_max_pages: 20,
        record_budget: std::time::Duration::from_secs(600),
        cloudtrail_max_pages: ActivityQuery::DEFAULT_MAX_PAGES,
        scim_silent_after: chrono::Duration::hours(4),
    };
    let remembered = remembered_links(&sdk, &job.okta_user_id).await?;
    let seen = ports
        .observe(&config, &job, &remembered, now)
        .await
        .map_err(|e| chain(&e))?;
    let verdict = judge(
        &job,
        &seen,
        PropagationPolicy {
            max_window: Duration::zero(),
        },
        now,
    );
    eprintln!(
        "{} {} at {} (Okta event {}): {}",
        job.okta_user_id,
        job.event_type,
        job.published.to_rfc3339(),
        job.okta_event_id,
        match &verdict {
            Verdict::Final {
                latency_seconds: Some(s),
                ..
            } => format!("verdict reached; SCIM latency {s} s"),
            Verdict::Final { .. } => "verdict reached".to_owned(),
            Verdict::NotYet { .. } => "not propagated yet".to_owned(),
            Verdict::NothingToVerify(reason) => format!("nothing to verify: {reason}"),
        }
    );
    let mut findings = match verdict {
        Verdict::Final { findings, .. } | Verdict::NotYet { findings } => findings,
        Verdict::NothingToVerify(_) => return Ok(()),
    };
    findings.extend(activity_after_deprovision(&job, &seen, &HashSet::new(), now).map(|r| r.finding));
    print_findings(&findings, format)
}

/// The links the checker remembered for the person, when its ledger table is named: so the CLI and the Lambda
/// link one person the same way even after Okta stopped serving the app user record.
async fn remembered_links(
    sdk: &aws_config::SdkConfig,
    okta_user: &shared::domain::OktaUserId,
) -> Result<Vec<shared::domain::RememberedLink>, String> {
    match std::env::var("VERDICT_TABLE_NAME").ok().filter(|t| !t.is_empty()) {
        Some(table) => shared::aws::DynamoDbVerdictLedger::new(sdk, table)
            .recall_links(okta_user)
            .await
            .map_err(|e| chain(&e)),
        None => Ok(Vec::new()),
    }
}

/// Exit codes of `revoke`.
const REFUSED: u8 = 2;
const INCOMPLETE: u8 = 3;

async fn revoke(args: &RevokeArgs) -> ExitCode {
    match revoke_run(args).await {
        Ok(code) => code,
        Err(message) => {
            eprintln!("deprov-audit: {message}");
            ExitCode::FAILURE
        }
    }
}

/// Plans (always) and applies (when asked, by a person) the session-revoking Deny for one person.
async fn revoke_run(args: &RevokeArgs) -> Result<ExitCode, String> {
    use shared::handlers::revoke::{RevokeRequest, apply, plan, render_applied, render_plan};
    use std::io::IsTerminal;
    let named = args
        .permission_sets
        .iter()
        .map(|arn| shared::domain::PermissionSetArn::parse(arn).map_err(|e| format!("--permission-set: {e}")))
        .collect::<Result<Vec<_>, _>>()?;
    let (ports, okta, links, sdk) = connect().await?;
    let person = shared::ports::Directory::user(&ports.directory, &args.login)
        .await
        .map_err(|e| chain(&e))?
        .ok_or_else(|| format!("Okta has no user {}", args.login))?;
    let remembered = remembered_links(&sdk, &person.id).await?;
    let request = RevokeRequest {
        person: &person,
        app_id: &okta.app_id,
        links: &links,
        remembered: &remembered,
        named_sets: &named,
        include_weak_links: args.include_weak_links,
    };
    // The Identity Center client is also the permission-set editor: its write calls are made only below, on --apply.
    let editor = &ports.identity_center;
    let planned = plan(&ports.directory, &ports.identity_center, editor, &request)
        .await
        .map_err(|e| chain(&e))?;
    print!("{}", render_plan(&planned, args.apply));
    let incomplete = if planned.has_problems() {
        ExitCode::from(INCOMPLETE)
    } else {
        ExitCode::SUCCESS
    };
    if !planned.has_changes() {
        println!("nothing to change: nothing written");
        return Ok(incomplete);
    }
    if !args.apply {
        println!("dry run: run again with --apply to change these permission sets");
        return Ok(incomplete);
    }
    if !args.yes {
        if !std::io::stdin().is_terminal() {
            eprintln!(
                "deprov-audit: revoke --apply changes permission sets and is run by a person: stdin is not a terminal; \
                 add --yes to apply anyway"
            );
            return Ok(ExitCode::from(REFUSED));
        }
        eprint!("Apply these changes? Type yes: ");
        let mut answer = String::new();
        std::io::stdin()
            .read_line(&mut answer)
            .map_err(|e| format!("cannot read the answer: {e}"))?;
        if answer.trim() != "yes" {
            eprintln!("not applied");
            return Ok(ExitCode::from(REFUSED));
        }
    }
    let applied = apply(editor, &planned, shared::ports::ProvisionWait::default()).await;
    print!("{}", render_applied(&applied));
    if applied.iter().all(|(_, a)| a.is_done()) {
        Ok(incomplete)
    } else {
        Ok(ExitCode::from(INCOMPLETE))
    }
}

async fn snapshot(out: &std::path::Path, activity_days: i64) -> Result<(), String> {
    if !(1..=90).contains(&activity_days) {
        return Err("--activity-days must be 1 to 90 (CloudTrail LookupEvents keeps 90 days)".into());
    }
    let (ports, okta, links, gates) = connect_gated().await?;
    let meter = RunMeter::start(Some(&gates));
    let options = CollectOptions {
        org_url: okta.org_url.to_string().trim_end_matches('/').to_owned(),
        app_id: okta.app_id.clone(),
        links,
        activity_window: Duration::days(activity_days),
    };
    let snapshot = collect_snapshot(
        &ports.directory,
        &ports.identity_center,
        &ports.activity,
        &options,
        Utc::now(),
    )
    .await
    .map_err(|e| chain(&e))?;
    let text = serde_json::to_string_pretty(&snapshot).map_err(|e| format!("cannot encode the snapshot: {e}"))?;
    std::fs::write(out, text).map_err(|e| format!("cannot write {}: {e}", out.display()))?;
    eprintln!(
        "wrote {}: {} Okta users, {} Identity Center users, {} assignments, {} activity events",
        out.display(),
        snapshot.okta.users.len(),
        snapshot.idc.users.len(),
        snapshot.idc.assignments.len(),
        snapshot.activity.len()
    );
    eprintln!("{}", calls_line(&meter.stats()));
    Ok(())
}

/// The cert-monitor's collect and judge, without publishing: live from the environment, or on a saved inventory.
async fn certs(
    inventory: Option<&std::path::Path>,
    out: Option<&std::path::Path>,
    format: Format,
) -> Result<(), String> {
    use shared::domain::certificate::CertInventory;
    use shared::handlers::cert_monitor::{CertMonitorSettings, collect, connect_readers, judge};
    let thresholds = shared::rules::KeyExpiryThresholds::default();
    let inventory = match inventory {
        Some(path) => {
            let text = std::fs::read_to_string(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
            serde_json::from_str::<CertInventory>(&text)
                .map_err(|e| format!("{} is not a certificate inventory: {e}", path.display()))?
        }
        None => {
            let settings = CertMonitorSettings::from_env(&ProcessEnv).map_err(|e| e.to_string())?;
            let sdk = shared::aws::load_sdk_config().await;
            let (directory, providers) = connect_readers(&settings, &sdk).await.map_err(|e| chain(&e))?;
            let read = collect(&directory, &providers, &settings.config, Utc::now())
                .await
                .map_err(|e| chain(&e))?;
            if let Some(out) = out {
                let text =
                    serde_json::to_string_pretty(&read).map_err(|e| format!("cannot encode the inventory: {e}"))?;
                std::fs::write(out, text).map_err(|e| format!("cannot write {}: {e}", out.display()))?;
            }
            read
        }
    };
    eprintln!(
        "{} Okta app(s), {} SAML provider(s), {} account(s) unread",
        inventory.okta.len(),
        inventory.aws.len(),
        inventory.unread_accounts.len()
    );
    print_findings(&judge(&inventory, &thresholds, inventory.collected_at), format)
}

/// An error and its causes, one line, quoting no payload.
fn chain(error: &shared::Error) -> String {
    error.causes().to_string()
}

fn print_findings(findings: &[Finding], format: Format) -> Result<(), String> {
    match format {
        Format::Table => print!("{}", shared::report::findings_table(findings)),
        Format::Json => {
            let text = serde_json::to_string_pretty(findings).map_err(|e| format!("cannot encode findings: {e}"))?;
            println!("{text}");
        }
    }
    Ok(())
}
