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
use crate::domain::review::{InventoryStats, ReviewKind, ReviewReport, ReviewState, SuppressionList};
use crate::domain::{IdcInstance, IdentityLinks, LinkPolicy, OktaAppId, OrgSnapshot};
use crate::error::{Error, Result};
use crate::ports::{
    ActivityLog, Directory, IdentityCenter, Notifier, ReportStore, ReviewStateStore, StateSlot, VerdictArchive,
};
use crate::review_report::{ReportFiles, summary_finding};
use crate::rules::lifecycle::{RunInput, review_report, to_publish};
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
/// variable; unset: none listed).
#[derive(Debug)]
pub struct AccessReviewSettings {
    pub okta: OktaSettings,
    pub idc_instance: Option<IdcInstance>,
    pub topic_arn: String,
    pub report_bucket: String,
    pub suppressions_key: String,
    pub report_store: crate::aws::ReportStoreSettings,
    pub verdict_archive_bucket: Option<String>,
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
            okta,
            config,
        })
    }
}

/// Which run an invocation is: the schedule's input `{"kind": "daily"}` or `{"kind": "quarterly"}` (the
/// default, also for an on-demand invocation with no input).
pub fn kind_of(event: &serde_json::Value) -> Result<ReviewKind> {
    match event.get("kind") {
        None | Some(serde_json::Value::Null) => Ok(ReviewKind::Quarterly),
        Some(kind) => serde_json::from_value(kind.clone()).map_err(|_| Error::Invalid {
            what: "review kind",
            value: kind.to_string().chars().take(32).collect(),
            reason: "must be \"daily\" or \"quarterly\"",
        }),
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
    let findings = evaluate(snapshot, &policy);
    let links = IdentityLinks::build(&snapshot.okta, &snapshot.idc, &config.links);
    let access = crate::rules::access::access_rows(snapshot, &links);
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
    review_report(RunInput {
        run_id: run_id(kind, now),
        kind,
        now,
        period_start,
        findings: &findings,
        access,
        previous: history.latest.as_ref(),
        diff_base,
        suppressions: &history.suppressions.suppressions,
        inventory,
    })
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
    crate::aws::CloudTrailActivityLog,
    crate::aws::SnsNotifier,
    crate::aws::S3ReviewState,
    crate::aws::S3ReportStore,
    Option<crate::aws::S3VerdictArchive>,
>;

impl ProductionPorts {
    /// Builds every adapter once, at cold start.
    pub async fn connect(settings: &AccessReviewSettings, sdk: &aws_config::SdkConfig) -> Result<Self> {
        let readers = super::propagation_check::ReadPorts::connect_readers(
            &settings.okta,
            settings.idc_instance.as_ref(),
            sdk,
            1,
        )
        .await?;
        Ok(Self {
            directory: readers.directory,
            identity_center: readers.identity_center,
            activity: readers.activity,
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
        let started = std::time::Instant::now();
        let options = CollectOptions {
            org_url: config.org_url.clone(),
            app_id: config.app_id.clone(),
            links: config.links.clone(),
            activity_window: config.activity_window,
        };
        let (snapshot, history) = tokio::try_join!(
            collect_snapshot(&self.directory, &self.identity_center, &self.activity, &options, now),
            self.history(kind)
        )?;
        let inventory = InventoryStats {
            calls: Vec::new(),
            wall_millis: u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
        };
        let mut report = review_snapshot(&snapshot, config, kind, &history, now, inventory);
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
            // The report has no field for it: the log says so (no archive configured, or the read hit its cap).
            tracing::warn!(
                run_id = %report.run_id,
                listed = archived.verdicts.len(),
                "the verdict archive read is not complete: the report's deprovisions may be missing some"
            );
        }
        report.deprovisions = archived.records();
        let mut publish = to_publish(&report, history.latest.as_ref());
        let files = ReportFiles::render(&report)?;
        let location = self.reports.store(&files).await?;
        if kind == ReviewKind::Quarterly {
            publish.push(summary_finding(&report, &location, now));
        }
        self.notifier.publish(&publish).await?;
        let state = ReviewState::of(&report);
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

#[cfg(test)]
mod tests {
    use super::*;

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
}
