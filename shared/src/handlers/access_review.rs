//! access-review: on a schedule (quarterly; and a daily light run), collect the org (Okta, Identity Center,
//! CloudTrail activity), let the rules judge it, give each finding its lifecycle from the previous run's state and
//! the suppression list (both in `REPORT_BUCKET`), publish to SNS — the quarterly run every new and open finding,
//! the daily run only what changed (new findings, resolution notices) — and save the state for the next run.
//!
//! The state is saved only after publishing succeeded: a run whose publish failed leaves the previous state, so
//! the next run finds the same findings new again and publishes them (ids are stable; duplicates collapse).

use chrono::{DateTime, Duration, Utc};

use crate::collect::{CollectOptions, collect_snapshot};
use crate::config::{Env, OktaSettings, idc_instance_from_env, link_policy_from_env, optional, required};
use crate::domain::review::{InventoryStats, ReadCompleteness, ReviewKind, ReviewReport, ReviewState, SuppressionList};
use crate::domain::{IdcInstance, IdentityLinks, LinkPolicy, OktaAppId, OrgSnapshot};
use crate::error::{Error, Result};
use crate::inventory::{
    DEFAULT_SHARD_SECONDS, InventoryPlan, InventoryStep, MAX_SHARD_SECONDS, Shard, ShardBudget, ShardResult,
    collect_base, collect_shard, merge, plan_key, shard_key, shards_key,
};
use crate::ports::{
    ActivityLog, ArchivedPeriod, Directory, IdentityCenter, InventoryWorkStore, Notifier, ReportStore,
    ReviewStateStore, StateSlot, VerdictArchive,
};
use crate::rate_limit::{Gates, RateLimits};
use crate::review_report::{ReportFiles, StagingDir, summary_finding};
use crate::rules::lifecycle::{RunInput, review_report, reviewed_findings, to_publish};
use crate::rules::{Policy, ReviewPolicy, evaluate};

/// What one review judges by, besides the org.
#[derive(Debug, Clone)]
pub struct AccessReviewConfig {
    pub org_url: String,
    pub app_id: OktaAppId,
    pub links: LinkPolicy,
    pub review: ReviewPolicy,
    /// How far back CloudTrail activity is read (`REVIEW_ACTIVITY_DAYS`, 1–90; LookupEvents keeps 90 days).
    pub activity_window: Duration,
}

/// The function's settings: `OKTA_*` (as every function), `IDC_INSTANCE_ARN`/`IDENTITY_STORE_ID` (optional),
/// `LOGIN_MAPPING`, `IDC_EXTERNAL_ID_ISSUER`, `FINDINGS_TOPIC_ARN`, `REPORT_BUCKET` (state and suppressions),
/// `REVIEW_SUPPRESSIONS_KEY` (default `config/suppressions.json`), `REVIEW_INACTIVE_DAYS` (default 90),
/// `REVIEW_ACTIVITY_DAYS` (default 30), `PRIVILEGED_PERMISSION_SETS` (names or ARNs, comma-separated: the same
/// variable identity-center-watch reads), `REVIEW_LARGE_GROUP_MEMBERS` (default 10); the report files go to
/// `REPORT_BUCKET` under `reviews/<run_id>/` (`REPORT_OBJECT_LOCK_MODE`/`_DAYS` optional, see
/// `ReportStoreSettings`); the period's deprovisions are read from `VERDICT_ARCHIVE_BUCKET` (the checker's
/// variable; unset: none listed). `API_RATE_LIMITS` (`family=per-second[/in-flight]`, comma-separated; unset: the
/// documented rates, `rate_limit::ApiFamily::documented_per_second`) limits every client the run builds;
/// `REVIEW_SHARD_SECONDS` (default `inventory::DEFAULT_SHARD_SECONDS`, at most `MAX_SHARD_SECONDS`) sizes a sharded
/// run's shards: that many seconds of sso-admin calls at its configured rate (`AccessReviewSettings::shard_budget`).
#[derive(Debug)]
pub struct AccessReviewSettings {
    pub okta: OktaSettings,
    pub idc_instance: Option<IdcInstance>,
    pub topic_arn: String,
    pub report_bucket: String,
    pub suppressions_key: String,
    pub report_store: crate::aws::ReportStoreSettings,
    pub verdict_archive_bucket: Option<String>,
    /// `ACTIVITY_TABLE_NAME`: identity-center-watch's activity record, read for last sign-ins older than
    /// CloudTrail's window (`None`: Okta lastLogin and CloudTrail only).
    pub activity_table: Option<String>,
    pub rate_limits: RateLimits,
    pub shard_seconds: u64,
    pub config: AccessReviewConfig,
}

/// At most this many verdicts are listed in one report (a quarter of a large org's leavers, with room).
pub const MAX_DEPROVISION_RECORDS: usize = 10_000;

fn whole_number(env: &impl Env, name: &'static str, default: i64, range: std::ops::RangeInclusive<i64>) -> Result<i64> {
    match optional(env, name) {
        None => Ok(default),
        Some(text) => text.parse::<i64>().ok().filter(|n| range.contains(n)).ok_or_else(|| {
            Error::config(
                name,
                format!("must be a whole number from {} to {}", range.start(), range.end()),
            )
        }),
    }
}

/// The hygiene rules' policy from `REVIEW_INACTIVE_DAYS`, `PRIVILEGED_PERMISSION_SETS` and
/// `REVIEW_LARGE_GROUP_MEMBERS` (the function and the CLI read the same variables).
pub fn review_policy_from_env(env: &impl Env) -> Result<ReviewPolicy> {
    Ok(ReviewPolicy {
        inactive_after: Duration::days(whole_number(env, "REVIEW_INACTIVE_DAYS", 90, 1..=3650)?),
        privileged_permission_sets: optional(env, "PRIVILEGED_PERMISSION_SETS")
            .map(|list| {
                list.split(',')
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                    .map(str::to_owned)
                    .collect()
            })
            .unwrap_or_default(),
        large_group_members: usize::try_from(whole_number(env, "REVIEW_LARGE_GROUP_MEMBERS", 10, 1..=1_000_000)?)
            .map_err(|_| Error::config("REVIEW_LARGE_GROUP_MEMBERS", "out of range"))?,
    })
}

/// `REVIEW_ACTIVITY_DAYS` (default 30, at most LookupEvents' 90).
pub fn activity_window_from_env(env: &impl Env) -> Result<Duration> {
    Ok(Duration::days(whole_number(env, "REVIEW_ACTIVITY_DAYS", 30, 1..=90)?))
}

/// `API_RATE_LIMITS`: the documented rates, changed where it says (the function and the CLI read it).
pub fn rate_limits_from_env(env: &impl Env) -> Result<RateLimits> {
    RateLimits::parse(&optional(env, "API_RATE_LIMITS").unwrap_or_default())
        .map_err(|e| Error::config("API_RATE_LIMITS", e.to_string()))
}

impl AccessReviewSettings {
    pub fn from_env(env: &impl Env) -> Result<Self> {
        let okta = OktaSettings::from_env(env)?;
        let review = review_policy_from_env(env)?;
        let config = AccessReviewConfig {
            org_url: okta.org_url.to_string().trim_end_matches('/').to_owned(),
            app_id: okta.app_id.clone(),
            links: link_policy_from_env(env)?,
            review,
            activity_window: activity_window_from_env(env)?,
        };
        Ok(Self {
            idc_instance: idc_instance_from_env(env)?,
            topic_arn: required(env, "FINDINGS_TOPIC_ARN")?,
            report_bucket: required(env, "REPORT_BUCKET")?,
            suppressions_key: optional(env, "REVIEW_SUPPRESSIONS_KEY")
                .unwrap_or_else(|| crate::aws::DEFAULT_SUPPRESSIONS_KEY.to_owned()),
            report_store: crate::aws::ReportStoreSettings::from_env(env)?,
            verdict_archive_bucket: optional(env, "VERDICT_ARCHIVE_BUCKET"),
            activity_table: optional(env, "ACTIVITY_TABLE_NAME"),
            rate_limits: rate_limits_from_env(env)?,
            shard_seconds: u64::try_from(whole_number(
                env,
                "REVIEW_SHARD_SECONDS",
                i64::try_from(DEFAULT_SHARD_SECONDS).unwrap_or(600),
                1..=i64::try_from(MAX_SHARD_SECONDS).unwrap_or(840),
            )?)
            .map_err(|_| Error::config("REVIEW_SHARD_SECONDS", "out of range"))?,
            okta,
            config,
        })
    }

    /// What one shard may hold: `shard_seconds` of calls at the sso-admin rate the run's clients are limited to.
    pub fn shard_budget(&self) -> ShardBudget {
        ShardBudget::at_rate(
            self.rate_limits
                .limit(crate::rate_limit::ApiFamily::SsoAdmin)
                .per_second,
            self.shard_seconds,
        )
    }
}

/// Which run an invocation is: the schedule's input `{"kind": "daily"}` or `{"kind": "quarterly"}` (the
/// default, also for an on-demand invocation with no input).
pub fn kind_of(event: &serde_json::Value) -> Result<ReviewKind> {
    match event.get("kind") {
        None | Some(serde_json::Value::Null) => Ok(ReviewKind::Quarterly),
        Some(kind) => serde_json::from_value(kind.clone()).map_err(|_| Error::Invalid {
            what: "review kind",
            value: rejected(kind, &["daily", "quarterly"]),
            reason: "must be \"daily\" or \"quarterly\"",
        }),
    }
}

/// A rejected field of an invocation, for its error: a value from `known` quoted, anything else only described.
/// The payload is the caller's and could hold anything (a login), and Lambda logs every error message.
fn rejected(value: &serde_json::Value, known: &[&str]) -> String {
    use serde_json::Value;
    match value {
        Value::String(s) if known.contains(&s.as_str()) => s.clone(),
        Value::String(s) => format!("a string of {} characters", s.chars().count()),
        Value::Null => "null".into(),
        Value::Bool(_) => "a boolean".into(),
        Value::Number(_) => "a number".into(),
        Value::Array(_) => "an array".into(),
        Value::Object(_) => "an object".into(),
    }
}

/// The run's id: its kind and start, to the second (the report's S3 prefix).
pub fn run_id(kind: ReviewKind, now: DateTime<Utc>) -> String {
    let kind = match kind {
        ReviewKind::Quarterly => "quarterly",
        ReviewKind::Daily => "daily",
    };
    format!("{kind}-{}", now.format("%Y%m%dT%H%M%SZ"))
}

/// What the previous runs left: the latest state (lifecycle), the base of the diff, the suppression list.
#[derive(Debug, Clone, Default)]
pub struct History {
    pub latest: Option<ReviewState>,
    pub quarterly: Option<ReviewState>,
    pub suppressions: SuppressionList,
}

/// Judges a snapshot as one review run: the rules, the effective access, lifecycle, suppression and diff. Pure;
/// the handler and the CLI share it.
pub fn review_snapshot(
    snapshot: &OrgSnapshot,
    config: &AccessReviewConfig,
    kind: ReviewKind,
    history: &History,
    now: DateTime<Utc>,
    inventory: InventoryStats,
) -> ReviewReport {
    let mut policy = Policy::at(now);
    policy.links = config.links.clone();
    policy.review = config.review.clone();
    // The findings' lifecycle first, the access table after: the review's peak memory is lower that way.
    let findings = reviewed_findings(
        evaluate(snapshot, &policy),
        history.latest.as_ref(),
        &history.suppressions.suppressions,
        now,
    );
    let links = IdentityLinks::build(&snapshot.okta, &snapshot.idc, &config.links);
    let access = crate::rules::access::access_rows(snapshot, &links);
    drop(links);
    if !access.is_complete() {
        tracing::warn!("the effective access table is full: some access rows are left out of the report");
    }
    let diff_base = match kind {
        ReviewKind::Quarterly => history.quarterly.as_ref(),
        ReviewKind::Daily => history.latest.as_ref(),
    };
    let period_start = diff_base.map_or_else(
        || match kind {
            ReviewKind::Quarterly => now - Duration::days(91),
            ReviewKind::Daily => now - Duration::days(1),
        },
        |base| base.generated_at,
    );
    let mut report = review_report(RunInput {
        run_id: run_id(kind, now),
        kind,
        now,
        period_start,
        findings,
        access,
        previous: history.latest.as_ref(),
        diff_base,
        suppressions: &history.suppressions.suppressions,
        inventory,
    });
    report.completeness = ReadCompleteness::of_snapshot(snapshot);
    report
}

/// The ports one review run uses. `verdicts` is any `VerdictArchive`: `Option<_>` (`None`: no deprovisions listed)
/// or `()` for none.
#[derive(Debug)]
pub struct AccessReviewPorts<D, I, A, N, S, R, V> {
    pub directory: D,
    pub identity_center: I,
    pub activity: A,
    pub notifier: N,
    pub state: S,
    pub reports: R,
    pub verdicts: V,
}

/// The production ports.
pub type ProductionPorts = AccessReviewPorts<
    crate::okta::OktaClient,
    crate::aws::IdentityCenterClient,
    crate::aws::RecordFirst<Option<crate::aws::DynamoDbActivityRecord>, crate::aws::CloudTrailActivityLog>,
    crate::aws::SnsNotifier,
    crate::aws::S3ReviewState,
    crate::aws::S3ReportStore,
    Option<crate::aws::S3VerdictArchive>,
>;

/// The review's three readers, every client behind its family's gate in `gates` (share them with nothing that
/// outlives the run's accounting, see `RunMeter`). The function and the CLI build them here.
#[derive(Debug)]
pub struct GatedReaders {
    pub directory: crate::okta::OktaClient,
    pub identity_center: crate::aws::IdentityCenterClient,
    pub activity: crate::aws::CloudTrailActivityLog,
}

impl GatedReaders {
    /// Okta credentials read, the Identity Center instance given or found (ListInstances, the one call not gated:
    /// it runs once, before the gates' accounting starts).
    pub async fn connect(
        okta: &OktaSettings,
        idc_instance: Option<&IdcInstance>,
        sdk: &aws_config::SdkConfig,
        gates: &Gates,
    ) -> Result<Self> {
        let directory = crate::okta::OktaClient::new(okta.client_config(sdk).await?)?.gated(gates.clone());
        let instance = match idc_instance {
            Some(instance) => instance.clone(),
            None => crate::aws::IdentityCenterClient::discover(sdk)
                .await?
                .instance()
                .clone(),
        };
        Ok(Self {
            directory,
            identity_center: crate::aws::IdentityCenterClient::gated(sdk, instance, gates),
            activity: crate::aws::CloudTrailActivityLog::gated(sdk, gates),
        })
    }
}

impl ProductionPorts {
    /// Builds every adapter once, at cold start; the readers pass `gates`.
    pub async fn connect(settings: &AccessReviewSettings, sdk: &aws_config::SdkConfig, gates: &Gates) -> Result<Self> {
        let readers = GatedReaders::connect(&settings.okta, settings.idc_instance.as_ref(), sdk, gates).await?;
        Ok(Self {
            directory: readers.directory,
            identity_center: readers.identity_center,
            activity: crate::aws::RecordFirst {
                // Only read (latest use per user): the retention given here is the writer's business.
                record: settings
                    .activity_table
                    .as_ref()
                    .map(|table| crate::aws::DynamoDbActivityRecord::new(sdk, table.clone(), Duration::days(400))),
                cloudtrail: readers.activity,
            },
            notifier: crate::aws::SnsNotifier::new(sdk, settings.topic_arn.clone()),
            state: crate::aws::S3ReviewState::new(
                sdk,
                settings.report_bucket.clone(),
                settings.suppressions_key.clone(),
            ),
            reports: crate::aws::S3ReportStore::new(sdk, settings.report_store.clone()),
            verdicts: settings
                .verdict_archive_bucket
                .as_ref()
                .map(|bucket| crate::aws::S3VerdictArchive::new(sdk, bucket.clone())),
        })
    }
}

impl<D, I, A, N, S, R, V> AccessReviewPorts<D, I, A, N, S, R, V>
where
    D: Directory,
    I: IdentityCenter,
    A: ActivityLog,
    N: Notifier,
    S: ReviewStateStore,
    R: ReportStore,
    V: VerdictArchive,
{
    /// The previous runs' state and the suppression list.
    pub async fn history(&self, kind: ReviewKind) -> Result<History> {
        let quarterly = async {
            match kind {
                ReviewKind::Quarterly => self.state.load(StateSlot::Quarterly).await,
                ReviewKind::Daily => Ok(None),
            }
        };
        let (latest, quarterly, suppressions) =
            tokio::try_join!(self.state.load(StateSlot::Latest), quarterly, self.state.suppressions())?;
        Ok(History {
            latest,
            quarterly,
            suppressions,
        })
    }

    /// One run: collect, judge, list the period's deprovisions, write the report files, publish (the quarterly run
    /// adds the one summary finding linking the report; the daily run writes its report but publishes only what
    /// changed), then save the state.
    pub async fn handle(
        &self,
        config: &AccessReviewConfig,
        kind: ReviewKind,
        now: DateTime<Utc>,
    ) -> Result<ReviewReport> {
        self.handle_metered(config, kind, now, &RunMeter::start(None)).await
    }

    /// `handle`, with the inventory's calls per family read from `meter`'s gates.
    pub async fn handle_metered(
        &self,
        config: &AccessReviewConfig,
        kind: ReviewKind,
        now: DateTime<Utc>,
        meter: &RunMeter<'_>,
    ) -> Result<ReviewReport> {
        let options = collect_options(config);
        let (snapshot, history) = tokio::try_join!(
            collect_snapshot(&self.directory, &self.identity_center, &self.activity, &options, now),
            self.history(kind)
        )?;
        self.conclude(config, kind, now, &snapshot, &history, meter.stats())
            .await
    }

    /// Everything after the inventory, for the one-process run and a sharded run's merge alike: judge, list the
    /// period's deprovisions, write the report files, publish, save the state.
    async fn conclude(
        &self,
        config: &AccessReviewConfig,
        kind: ReviewKind,
        now: DateTime<Utc>,
        snapshot: &OrgSnapshot,
        history: &History,
        inventory: InventoryStats,
    ) -> Result<ReviewReport> {
        let mut report = review_snapshot(snapshot, config, kind, history, now, inventory);
        // The archive refuses a period longer than MAX_PERIOD_DAYS (a previous quarterly run long ago): read the
        // most recent part of it.
        let archive_start = report
            .period_start
            .max(report.period_end - Duration::days(crate::aws::MAX_PERIOD_DAYS));
        let archived = self
            .verdicts
            .period(archive_start, report.period_end, MAX_DEPROVISION_RECORDS)
            .await?;
        if !archived.complete {
            tracing::warn!(
                run_id = %report.run_id,
                listed = archived.verdicts.len(),
                "the verdict archive read is not complete: the report says so"
            );
        }
        let configured = self.verdicts.configured();
        report
            .completeness
            .push(archive_completeness(&archived, configured, MAX_DEPROVISION_RECORDS));
        report.deprovisions = archived.records();
        let mut publish = to_publish(&report, history.latest.as_ref());
        // Rendered into a directory of the run's own (removed when `staging` drops), one file at a time, then
        // stored from there: the files are never all in memory.
        let staging = StagingDir::create(&report.run_id)?;
        let files = ReportFiles::render(&report, staging.path())?;
        let location = self.reports.store(&files).await?;
        drop(staging);
        if kind == ReviewKind::Quarterly {
            publish.push(summary_finding(&report, &location, now));
        }
        self.notifier.publish(&publish).await?;
        // Borrowed from the report: no copy of its findings and access rows.
        let state = report.state();
        self.state.save(StateSlot::Latest, &state).await?;
        if kind == ReviewKind::Quarterly {
            self.state.save(StateSlot::Quarterly, &state).await?;
        }
        tracing::info!(
            run_id = %report.run_id,
            findings = report.findings.len(),
            published = publish.len(),
            access_rows = report.access.len(),
            access_added = report.diff.access_added.len(),
            access_removed = report.diff.access_removed.len(),
            deprovisions = report.deprovisions.len(),
            report = %location.index,
            "access review done"
        );
        Ok(report)
    }
}

/// The verdict archive read as the report states it: records read and whether the period may hold more (the read
/// stopped at `max_records`), or that there is no archive to read.
fn archive_completeness(archived: &ArchivedPeriod, configured: bool, max_records: usize) -> ReadCompleteness {
    ReadCompleteness {
        source: "verdict-archive".into(),
        complete: archived.complete,
        records: u64::try_from(archived.verdicts.len()).unwrap_or(u64::MAX),
        detail: if !configured {
            "no verdict archive configured (VERDICT_ARCHIVE_BUCKET unset): the period's deprovisions are not listed"
                .to_owned()
        } else if archived.complete {
            "every deprovision verdict of the period read".to_owned()
        } else {
            format!("stopped at {max_records} records: the period may hold more deprovisions than listed")
        },
    }
}

fn collect_options(config: &AccessReviewConfig) -> CollectOptions {
    CollectOptions {
        org_url: config.org_url.clone(),
        app_id: config.app_id.clone(),
        links: config.links.clone(),
        activity_window: config.activity_window,
    }
}

/// One invocation's share of the gates' counters (they outlive it in a warm Lambda) and its wall time: the
/// report's `InventoryStats`. Without gates (clients not gated) no calls are counted.
#[derive(Debug)]
pub struct RunMeter<'a> {
    gates: Option<&'a Gates>,
    before: Vec<(String, u64)>,
    started: std::time::Instant,
}

impl<'a> RunMeter<'a> {
    pub fn start(gates: Option<&'a Gates>) -> Self {
        Self {
            gates,
            before: gates.map(Gates::calls).unwrap_or_default(),
            started: std::time::Instant::now(),
        }
    }

    /// The calls per family since the start, and the time since.
    pub fn stats(&self) -> InventoryStats {
        let mut calls = self.gates.map(|g| g.calls_since(&self.before)).unwrap_or_default();
        calls.sort();
        InventoryStats {
            calls,
            wall_millis: u64::try_from(self.started.elapsed().as_millis()).unwrap_or(u64::MAX),
        }
    }
}

/// A sharded run's stats: every step's calls per family added up, and the steps' times added (the time spent
/// reading, not the execution's elapsed time, which includes Step Functions' own). Pure.
pub fn combined_stats(parts: impl IntoIterator<Item = InventoryStats>) -> InventoryStats {
    let mut calls: std::collections::BTreeMap<String, u64> = std::collections::BTreeMap::new();
    let mut wall_millis = 0u64;
    for part in parts {
        wall_millis = wall_millis.saturating_add(part.wall_millis);
        for (family, n) in part.calls {
            let total = calls.entry(family).or_default();
            *total = total.saturating_add(n);
        }
    }
    InventoryStats {
        calls: calls.into_iter().collect(),
        wall_millis,
    }
}

/// What one invocation of the function is: the schedule's one-process run (`{"kind": …}`), or a step of the
/// state machine (`{"mode": "plan"|"shard"|"merge", …}`, `inventory::InventoryStep`, as
/// statemachine/access-review.asl.json sends them).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReviewInvocation {
    Run(ReviewKind),
    Plan { run_id: String, kind: ReviewKind },
    Shard { run_id: String, shard: Shard },
    Merge { run_id: String, kind: ReviewKind },
}

impl ReviewInvocation {
    /// Reads the payload: a `mode` makes it a step (its `run_id` checked to be one key segment, its `kind` a review
    /// kind); no `mode`, the schedule's run (`kind_of`). Pure; errors quote at most the mode, never the payload.
    pub fn parse(event: &serde_json::Value) -> Result<Self> {
        let Some(mode) = event.get("mode") else {
            return kind_of(event).map(Self::Run);
        };
        let step: InventoryStep = serde_json::from_value(event.clone()).map_err(|_| Error::Invalid {
            what: "inventory step",
            value: rejected(mode, &["plan", "shard", "merge"]),
            reason: "must be {\"mode\": \"plan\"|\"shard\"|\"merge\", \"run_id\", …} as the state machine sends",
        })?;
        let kind_named = |kind: String| kind_of(&serde_json::json!({ "kind": kind }));
        Ok(match step {
            InventoryStep::Plan { run_id, kind } => Self::Plan {
                run_id: checked_run_id(run_id)?,
                kind: kind_named(kind)?,
            },
            InventoryStep::Shard { run_id, shard } => Self::Shard {
                run_id: checked_run_id(run_id)?,
                shard,
            },
            InventoryStep::Merge { run_id, kind } => Self::Merge {
                run_id: checked_run_id(run_id)?,
                kind: kind_named(kind)?,
            },
        })
    }
}

/// A step's `run_id` (the execution's name) becomes an S3 key segment (`inventory/<run_id>/`): 1–80 of
/// `A-Z a-z 0-9 - _ .`, not only dots — so it cannot leave the prefix. Execution names Step Functions or the
/// scheduler generate are UUIDs.
fn checked_run_id(run_id: String) -> Result<String> {
    let fits = (1..=80).contains(&run_id.len())
        && run_id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
        && !run_id.chars().all(|c| c == '.');
    if fits {
        Ok(run_id)
    } else {
        Err(Error::Invalid {
            what: "inventory run id",
            value: rejected(&serde_json::Value::String(run_id), &[]),
            reason: "must be 1-80 of A-Z a-z 0-9 - _ . (an execution name)",
        })
    }
}

/// The function's answer to a run (the one-process run, or a sharded run's merge).
pub fn run_summary(report: &ReviewReport) -> serde_json::Value {
    serde_json::json!({
        "run_id": report.run_id,
        "findings": report.findings.len(),
        "access_rows": report.access.len(),
        "findings_new": report.diff.findings_new.len(),
        "findings_resolved": report.diff.findings_resolved.len(),
    })
}

/// The plan step's object (`inventory::plan_key`): the plan and what reading it cost.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct PlanRecord {
    pub plan: InventoryPlan,
    pub inventory: InventoryStats,
}

/// A shard step's object (`inventory::shard_key`): its result and what reading it cost.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct ShardRecord {
    pub result: ShardResult,
    pub inventory: InventoryStats,
}

fn encode(value: &impl serde::Serialize, what: &'static str) -> Result<Vec<u8>> {
    serde_json::to_vec(value).map_err(|source| Error::Decode { what, source })
}

fn decode<T: serde::de::DeserializeOwned>(bytes: &[u8], what: &'static str) -> Result<T> {
    serde_json::from_slice(bytes).map_err(|source| Error::Decode { what, source })
}

/// The state machine's steps. The work objects live in the state's bucket (`InventoryWorkStore`).
impl<D, I, A, N, S, R, V> AccessReviewPorts<D, I, A, N, S, R, V>
where
    D: Directory,
    I: IdentityCenter,
    A: ActivityLog,
    N: Notifier,
    S: ReviewStateStore + InventoryWorkStore,
    R: ReportStore,
    V: VerdictArchive,
{
    /// Serves one invocation and gives the function's answer: a run → `run_summary`; plan → `{"run_id",
    /// "shards_key"}` (what the ASL's Plan step selects); shard → `{"result_key"}`; merge → `run_summary`.
    /// `budget`: what the plan packs into one shard. `gates`: the ones the ports' clients pass, for the calls per
    /// family (`None`: not counted).
    pub async fn serve(
        &self,
        config: &AccessReviewConfig,
        invocation: &ReviewInvocation,
        budget: ShardBudget,
        gates: Option<&Gates>,
        now: DateTime<Utc>,
    ) -> Result<serde_json::Value> {
        let meter = RunMeter::start(gates);
        match invocation {
            ReviewInvocation::Run(kind) => self
                .handle_metered(config, *kind, now, &meter)
                .await
                .map(|report| run_summary(&report)),
            ReviewInvocation::Plan { run_id, .. } => {
                self.plan_step(run_id, budget, &meter).await?;
                Ok(serde_json::json!({ "run_id": run_id, "shards_key": shards_key(run_id) }))
            }
            ReviewInvocation::Shard { run_id, shard } => {
                let key = self.shard_step(run_id, shard, &meter).await?;
                Ok(serde_json::json!({ "result_key": key }))
            }
            ReviewInvocation::Merge { run_id, kind } => self
                .merge_step(config, *kind, run_id, now, &meter)
                .await
                .map(|report| run_summary(&report)),
        }
    }

    /// Plans the shards (the sets, their provisioned accounts, packed into `budget`s) and writes the plan
    /// (`plan_key`) and the shard list (`shards_key`: a JSON array, the Distributed Map's items).
    pub async fn plan_step(&self, run_id: &str, budget: ShardBudget, meter: &RunMeter<'_>) -> Result<InventoryPlan> {
        let plan = crate::inventory::plan(&self.identity_center, budget).await?;
        let record = PlanRecord {
            plan,
            inventory: meter.stats(),
        };
        self.state
            .put_work(&plan_key(run_id), encode(&record, "the inventory plan")?)
            .await?;
        self.state
            .put_work(&shards_key(run_id), encode(&record.plan.shards, "the shard list")?)
            .await?;
        tracing::info!(
            run_id,
            permission_sets = record.plan.permission_sets.len(),
            shards = record.plan.shards.len(),
            "inventory plan written"
        );
        Ok(record.plan)
    }

    /// Collects one shard and writes its result (`shard_key`); answers the key. Run again, it replaces it.
    pub async fn shard_step(&self, run_id: &str, shard: &Shard, meter: &RunMeter<'_>) -> Result<String> {
        let result = collect_shard(&self.identity_center, shard).await?;
        let key = shard_key(run_id, shard.index);
        let record = ShardRecord {
            result,
            inventory: meter.stats(),
        };
        self.state.put_work(&key, encode(&record, "a shard's result")?).await?;
        tracing::info!(
            run_id,
            shard = shard.index,
            of = shard.of,
            provisioned_pairs = shard.estimated_calls(),
            "inventory shard collected"
        );
        Ok(key)
    }

    /// Reads the plan and every shard's result (a missing one fails the run before any other read: never a
    /// smaller review), collects the base beside the history, merges, then concludes as the one-process run.
    pub async fn merge_step(
        &self,
        config: &AccessReviewConfig,
        kind: ReviewKind,
        run_id: &str,
        now: DateTime<Utc>,
        meter: &RunMeter<'_>,
    ) -> Result<ReviewReport> {
        let plan_at = plan_key(run_id);
        let plan: PlanRecord = match self.state.get_work(&plan_at).await? {
            Some(bytes) => decode(&bytes, "the inventory plan")?,
            None => return Err(Error::Inventory(format!("run {run_id} has no plan ({plan_at})"))),
        };
        let mut stats = vec![plan.inventory];
        let mut results = Vec::with_capacity(plan.plan.shards.len());
        for shard in &plan.plan.shards {
            if let Some(bytes) = self.state.get_work(&shard_key(run_id, shard.index)).await? {
                let record: ShardRecord = decode(&bytes, "a shard's result")?;
                stats.push(record.inventory);
                results.push(record.result);
            }
        }
        crate::inventory::check_complete(&plan.plan, &mut results)?;
        let options = collect_options(config);
        let (base, history) = tokio::try_join!(
            collect_base(&self.directory, &self.identity_center, &self.activity, &options, now),
            self.history(kind)
        )?;
        let snapshot = merge(plan.plan, base, results)?;
        stats.push(meter.stats());
        self.conclude(config, kind, now, &snapshot, &history, combined_stats(stats))
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_snapshot_and_archive_reads_are_in_the_report_with_what_they_could_not_see() {
        let now = Utc::now();
        let mut snapshot = crate::generated_org::snapshot(
            &crate::generated_org::OrgShape {
                users: 20,
                groups: 4,
                accounts: 2,
                permission_sets: 2,
                assignments: 8,
            },
            now,
        );
        snapshot.activity_since = Some(now - Duration::hours(2));
        snapshot.activity_complete = false;
        snapshot.recorded_uses = Some(crate::domain::activity_record::RecordedUses {
            since: now - Duration::days(200),
            events: vec![],
            complete: false,
        });
        let reads = ReadCompleteness::of_snapshot(&snapshot);
        let sources: Vec<(&str, bool)> = reads.iter().map(|r| (r.source.as_str(), r.complete)).collect();
        assert_eq!(sources, [("cloudtrail", false), ("activity-record", false)]);
        assert!(
            reads[0].detail.contains(&(now - Duration::hours(2)).to_rfc3339()),
            "{}",
            reads[0].detail
        );

        let capped = ArchivedPeriod {
            verdicts: vec![],
            complete: false,
        };
        let read = archive_completeness(&capped, true, 7);
        assert!(!read.complete);
        assert!(read.detail.contains("stopped at 7 records"), "{}", read.detail);
        let none = archive_completeness(&capped, false, 7);
        assert!(!none.complete);
        assert!(none.detail.contains("no verdict archive configured"), "{}", none.detail);
        let whole = ArchivedPeriod {
            verdicts: vec![],
            complete: true,
        };
        assert!(archive_completeness(&whole, true, 7).complete);
        assert!(!().configured() && !None::<()>.configured());
    }

    fn env(vars: &'static [(&'static str, &'static str)]) -> impl Fn(&str) -> Option<String> {
        move |name| vars.iter().find(|(k, _)| *k == name).map(|(_, v)| (*v).to_owned())
    }

    const BASE: &[(&str, &str)] = &[
        ("OKTA_ORG_URL", "https://acme.okta.com"),
        ("OKTA_APP_ID", "0oa1awsidc00000001"),
        ("OKTA_API_TOKEN", "x"),
        ("FINDINGS_TOPIC_ARN", "arn:aws:sns:eu-west-1:111122223333:findings"),
        ("REPORT_BUCKET", "reports"),
        (
            "PRIVILEGED_PERMISSION_SETS",
            "Operations, arn:aws:sso:::permissionSet/ssoins-1/ps-2",
        ),
    ];

    #[test]
    fn settings_have_defaults_and_name_the_variable_that_is_wrong() {
        let settings = AccessReviewSettings::from_env(&env(BASE)).expect("valid");
        assert_eq!(settings.config.review.inactive_after, Duration::days(90));
        assert_eq!(settings.config.review.large_group_members, 10);
        assert_eq!(settings.config.review.privileged_permission_sets.len(), 2);
        assert_eq!(settings.suppressions_key, "config/suppressions.json");
        assert_eq!(settings.config.activity_window, Duration::days(30));
        assert_eq!(settings.shard_seconds, DEFAULT_SHARD_SECONDS);
        assert_eq!(settings.shard_budget(), ShardBudget::documented());
        assert_eq!(settings.rate_limits, RateLimits::default());
        const BAD: &[(&str, &str)] = &[
            ("OKTA_ORG_URL", "https://acme.okta.com"),
            ("OKTA_APP_ID", "0oa1awsidc00000001"),
            ("OKTA_API_TOKEN", "x"),
            ("FINDINGS_TOPIC_ARN", "arn:aws:sns:eu-west-1:111122223333:findings"),
            ("REPORT_BUCKET", "reports"),
            ("REVIEW_ACTIVITY_DAYS", "91"),
        ];
        let error = AccessReviewSettings::from_env(&env(BAD)).expect_err("over 90 days");
        assert!(error.to_string().contains("REVIEW_ACTIVITY_DAYS"), "{error}");
        const NO_BUCKET: &[(&str, &str)] = &[
            ("OKTA_ORG_URL", "https://acme.okta.com"),
            ("OKTA_APP_ID", "0oa1awsidc00000001"),
            ("OKTA_API_TOKEN", "x"),
            ("FINDINGS_TOPIC_ARN", "arn:aws:sns:eu-west-1:111122223333:findings"),
        ];
        let error = AccessReviewSettings::from_env(&env(NO_BUCKET)).expect_err("no bucket");
        assert!(error.to_string().contains("REPORT_BUCKET"), "{error}");
    }

    #[test]
    fn the_schedule_input_says_which_run() {
        assert_eq!(
            kind_of(&serde_json::json!({"kind": "daily"})).ok(),
            Some(ReviewKind::Daily)
        );
        assert_eq!(kind_of(&serde_json::json!({})).ok(), Some(ReviewKind::Quarterly));
        assert!(kind_of(&serde_json::json!({"kind": "weekly"})).is_err());
    }

    #[test]
    fn an_invocation_is_the_schedules_run_or_a_state_machine_step() {
        use serde_json::json;
        assert_eq!(
            ReviewInvocation::parse(&json!({"kind": "daily"})).ok(),
            Some(ReviewInvocation::Run(ReviewKind::Daily))
        );
        assert_eq!(
            ReviewInvocation::parse(&json!({"mode": "plan", "run_id": "3f2a-b1", "kind": "quarterly"})).ok(),
            Some(ReviewInvocation::Plan {
                run_id: "3f2a-b1".into(),
                kind: ReviewKind::Quarterly
            })
        );
        let shard = json!({"index": 1, "of": 2, "work": []});
        assert_eq!(
            ReviewInvocation::parse(&json!({"mode": "shard", "run_id": "r1", "shard": shard})).ok(),
            Some(ReviewInvocation::Shard {
                run_id: "r1".into(),
                shard: Shard {
                    index: 1,
                    of: 2,
                    work: vec![]
                }
            })
        );
        assert_eq!(
            ReviewInvocation::parse(&json!({"mode": "merge", "run_id": "r1", "kind": "daily"})).ok(),
            Some(ReviewInvocation::Merge {
                run_id: "r1".into(),
                kind: ReviewKind::Daily
            })
        );
        for bad in [
            json!({"mode": "sweep", "run_id": "r1"}),
            json!({"mode": "plan", "run_id": "r1", "kind": "weekly"}),
            json!({"mode": "plan", "run_id": "../state", "kind": "daily"}),
            json!({"mode": "merge", "run_id": "..", "kind": "daily"}),
            json!({"mode": "merge", "run_id": "", "kind": "daily"}),
            json!({"mode": "shard", "run_id": "r1"}),
        ] {
            let error = ReviewInvocation::parse(&bad).expect_err("refused");
            assert_eq!(error.kind(), "Invalid", "{bad}: {error}");
        }
    }

    #[test]
    fn a_refused_invocation_quotes_a_known_name_and_describes_anything_else() {
        for (bad, shown) in [
            (
                serde_json::json!({"mode": "bob@acme.example", "run_id": "r1"}),
                "a string of 16 characters",
            ),
            (
                serde_json::json!({"mode": "plan", "run_id": "bob@acme.example", "kind": "daily"}),
                "a string of 16 characters",
            ),
            (
                serde_json::json!({"kind": "bob@acme.example"}),
                "a string of 16 characters",
            ),
            (serde_json::json!({"mode": 7, "run_id": "r1"}), "a number"),
            (serde_json::json!({"mode": "shard", "run_id": "r1"}), "\"shard\""),
        ] {
            let error = ReviewInvocation::parse(&bad).expect_err("refused").to_string();
            assert!(error.contains(shown), "{bad}: {error}");
            assert!(!error.contains("bob"), "{bad}: {error}");
        }
    }

    #[test]
    fn a_sharded_runs_calls_add_up_per_family() {
        let part = |calls: &[(&str, u64)], wall_millis| InventoryStats {
            calls: calls.iter().map(|(f, n)| ((*f).to_owned(), *n)).collect(),
            wall_millis,
        };
        let total = combined_stats([
            part(&[("sso-admin", 3)], 10),
            part(&[("sso-admin", 40), ("identitystore", 2)], 200),
            part(&[("okta-users", 1)], u64::MAX),
        ]);
        assert_eq!(
            total.calls,
            [
                ("identitystore".to_owned(), 2),
                ("okta-users".to_owned(), 1),
                ("sso-admin".to_owned(), 43)
            ]
        );
        assert_eq!(total.wall_millis, u64::MAX, "saturates");
    }

    #[test]
    fn the_rate_limits_setting_is_checked() {
        const LIMITS: &[(&str, &str)] = &[("API_RATE_LIMITS", "sso-admin=10/4")];
        let limits = rate_limits_from_env(&env(LIMITS)).expect("valid");
        assert_eq!(limits.limit(crate::rate_limit::ApiFamily::SsoAdmin).per_second, 10.0);
        const BAD: &[(&str, &str)] = &[("API_RATE_LIMITS", "sso=10")];
        let error = rate_limits_from_env(&env(BAD)).expect_err("no such family");
        assert!(error.to_string().contains("API_RATE_LIMITS"), "{error}");
        assert_eq!(rate_limits_from_env(&env(&[])).expect("unset"), RateLimits::default());
    }
}
