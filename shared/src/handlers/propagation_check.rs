//! The propagation checker: for each verification job, once its window is over, place it in the person's episode,
//! observe Okta, Identity Center and CloudTrail, let `rules::propagation::judge` decide, publish through the
//! ledger (once per episode), and re-queue what is not final yet. Also the System Log sweep.
//!
//! Every record runs inside a time budget and the invocation's deadline: work that cannot finish is failed back to
//! the queue (partial batch response) before Lambda would cut it off, and a panic in one record fails that record
//! alone.

use std::hash::{BuildHasher, Hasher};
use std::panic::AssertUnwindSafe;

use aws_lambda_events::sqs::{SqsBatchResponse, SqsEvent};
use chrono::{DateTime, Duration, Utc};
use futures_util::FutureExt;
use tokio::time::Instant;

use crate::collect::PORTAL_EVENT_SOURCE;
use crate::config::{Env, optional, required, seconds};
use crate::domain::activity::SCIM_EVENT_SOURCE;
use crate::domain::activity::SESSION_EVENT_NAMES;
use crate::domain::activity::{HeldPermissionSet, Reach};
use crate::domain::activity_record::RecordKey;
use crate::domain::archived_verdict::ArchivedVerdict;
use crate::domain::deprovision::Watch;
use crate::domain::deprovision::{
    FUTURE_SKEW, GroupUnassignment, MAX_QUEUE_DELAY_SECONDS, QueuedWork, job_from_status,
};
use crate::domain::episode::VerdictScope;
use crate::domain::{
    ActivityEvent, DeprovisionKind, EffectiveAssignment, Finding, IdcGroupId, IdcUser, JobSource, LinkPolicy,
    OktaAppId, PersonLinks, PersonRecord, Principal, RememberedLink, VerificationJob, link_candidates,
};
use crate::error::{Error, Result};
use crate::handlers::system_log_sweep::{SweepConfig, SweepReport};
use crate::ports::{
    ActivityLog, ActivityQuery, Directory, IdentityCenter, JobQueue, LogQuery, LookupAttribute, Notifier, OrgActivity,
    ScheduledJob, UseQuery, VerdictLedger,
};
use crate::rules::propagation::{
    AccountSeen, Observation, OrgWatch, PropagationPolicy, SCIM_CLOCK_SKEW, Verdict, WatchStep,
    activity_after_deprovision, is_back_in_okta, judge, lists_access, nothing_to_verify, watch_gave_up, watch_step,
    watch_until,
};

/// CloudTrail delivers events within about 5 minutes on average, not guaranteed (historically 15): the follow-up
/// look for use of AWS comes this long after a final verdict.
pub const FOLLOW_UP_DELAY_SECONDS: i32 = 900;

/// Each watch look reads a little before where the last one's source had caught up (the reported set drops repeats).
const WATCH_OVERLAP: Duration = Duration::minutes(1);

/// A chain counter this high means a loop, not a slow SCIM: the record is failed back (and dead-lettered).
pub const MAX_ATTEMPTS: u32 = 10_000;

/// How long the ledger remembers a published verdict and an episode: longer than any job can live on the queue
/// (4 days) and than the longest max window.
const LEDGER_RETENTION_DAYS: i64 = 14;
/// Links are kept longer: a person deprovisioned again months later is still linked.
const LINK_RETENTION_DAYS: i64 = 400;
/// `SCIM_SILENT_AFTER_HOURS` by default.
const DEFAULT_SCIM_SILENT_HOURS: i64 = 4;
/// A deprovision noted as waiting for its SCIM call is forgotten after this, as long as the ledger keeps the item
/// (the silent stretch's finding keeps its id: that is the last SCIM call before it).
const AWAITED_SCIM_MAX_DAYS: i64 = LEDGER_RETENTION_DAYS;
/// A claim whose job died (crash, timeout) is free again after this: longer than the function's timeout (300 s),
/// shorter than the queue's visibility timeout (1800 s), so the redelivered message can publish.
const LEDGER_LEASE_SECONDS: i64 = 600;
/// A chain that has not beaten for its re-check interval plus this is taken as dead.
const CHAIN_STALE_MARGIN: Duration = Duration::minutes(5);
/// The invocation's last seconds are kept for answering the batch.
const DEADLINE_MARGIN: std::time::Duration = std::time::Duration::from_secs(3);
/// The first record of a batch runs if at least this much time is left, even when its budget is larger.
const MIN_FIRST_RECORD_TIME: std::time::Duration = std::time::Duration::from_secs(10);

/// The checker's rules of engagement, from `propagation-check`'s settings.
#[derive(Debug, Clone)]
pub struct CheckConfig {
    pub aws_app_id: OktaAppId,
    /// How Okta people are linked to Identity Center users (login mapping, SCIM external id issuer).
    pub links: LinkPolicy,
    pub propagation_window: Duration,
    pub max_window: Duration,
    /// Time between re-checks of a deprovision that has not propagated yet.
    pub recheck_interval: Duration,
    /// How far back the sweep's first run reads the System Log (later runs go on from the stored cursor).
    pub sweep_lookback: Duration,
    /// At most this many System Log pages per sweep run; the next run continues from the cursor.
    pub sweep_max_pages: usize,
    /// All of one record's calls (Okta, Identity Center, CloudTrail) must end within this.
    pub record_budget: std::time::Duration,
    /// At most this many LookupEvents pages per CloudTrail read.
    pub cloudtrail_max_pages: usize,
    /// `scim-silent`: a deprovision waiting this long with no SCIM call at all since is a finding (checked with
    /// each sweep).
    pub scim_silent_after: Duration,
}

/// The ports the checker uses, built once per cold start. `org`: the org-wide activity source (`()`: none, member
/// accounts are not watched and findings say so).
#[derive(Debug)]
pub struct CheckPorts<D, I, A, N, Q, L, O = ()> {
    pub directory: D,
    pub identity_center: I,
    pub activity: A,
    pub notifier: N,
    pub queue: Q,
    pub ledger: L,
    pub org: O,
}

/// What one check did.
#[derive(Debug, Clone, PartialEq)]
pub enum CheckOutcome {
    /// Not final yet: queued again, to be checked after `delay_seconds`.
    Requeued {
        delay_seconds: i32,
        attempt: u32,
        published: Vec<Finding>,
        /// The job as queued again (episode and chain token set).
        next: Box<VerificationJob>,
    },
    /// Final: these findings were published.
    Published {
        findings: Vec<Finding>,
        latency_seconds: Option<i64>,
    },
    /// A group unassigned from the app: one job queued per member.
    Expanded { jobs_queued: usize },
    /// Nothing to verify, and why.
    NothingToVerify(&'static str),
}

/// A token no other chain has: the owner of ledger claims and of an episode's chain.
fn new_chain_token(job: &VerificationJob, now: DateTime<Utc>) -> String {
    let random = std::collections::hash_map::RandomState::new().build_hasher().finish();
    let nanos = now.timestamp_nanos_opt().unwrap_or_default();
    format!("{}:{nanos:x}:{random:016x}", job.okta_event_id)
}

impl<D, I, A, N, Q, L, O> CheckPorts<D, I, A, N, Q, L, O>
where
    D: Directory,
    I: IdentityCenter,
    A: ActivityLog,
    N: Notifier,
    Q: JobQueue,
    L: VerdictLedger,
    O: OrgActivity,
{
    /// Handles one trigger payload: an SQS batch of jobs (partial batch response) or a scheduled sweep.
    /// `deadline` is the invocation's (Lambda's context deadline).
    pub async fn handle_trigger(
        &self,
        config: &CheckConfig,
        payload: serde_json::Value,
        now: DateTime<Utc>,
        deadline: Instant,
    ) -> Result<serde_json::Value> {
        if payload.get("Records").is_some() {
            let event: SqsEvent = serde_json::from_value(payload).map_err(|source| Error::Decode {
                what: "SQS event",
                source,
            })?;
            let response = self.check_batch(config, event, now, deadline).await;
            return serde_json::to_value(response).map_err(|source| Error::Decode {
                what: "batch response",
                source,
            });
        }
        let report = self.sweep(config, now).await?;
        let silent = self.scim_heartbeat(config, now).await?;
        let mut answer = serde_json::to_value(report).map_err(|source| Error::Decode {
            what: "sweep report",
            source,
        })?;
        if let Some(fields) = answer.as_object_mut() {
            fields.insert(
                "scim_silent_published".into(),
                serde_json::Value::Bool(silent.is_some()),
            );
        }
        Ok(answer)
    }

    /// The `scim-silent` heartbeat, run with each sweep (see `scim_heartbeat`).
    pub async fn scim_heartbeat(&self, config: &CheckConfig, now: DateTime<Utc>) -> Result<Option<Finding>> {
        scim_heartbeat(
            &self.activity,
            &self.ledger,
            &self.notifier,
            config.scim_silent_after,
            now,
        )
        .await
    }

    /// Checks every message; the ones that fail (bad body, API errors, out of time, a panic) are reported back for
    /// redelivery, and reach the dead-letter queue after the queue's maxReceiveCount. Nothing is dropped. A record
    /// is started only if its whole budget fits before the deadline.
    pub async fn check_batch(
        &self,
        config: &CheckConfig,
        event: SqsEvent,
        now: DateTime<Utc>,
        deadline: Instant,
    ) -> SqsBatchResponse {
        let mut response = SqsBatchResponse::default();
        let last_start = deadline.checked_sub(DEADLINE_MARGIN).unwrap_or(deadline);
        for (index, message) in event.records.into_iter().enumerate() {
            let id = message.message_id.clone().unwrap_or_default();
            let left = last_start.saturating_duration_since(Instant::now());
            // A budget larger than the whole invocation still lets the first record run, within what is left.
            let budget = config.record_budget.min(left);
            let fits = left >= config.record_budget || (index == 0 && left >= MIN_FIRST_RECORD_TIME);
            if !fits {
                tracing::warn!(message_id = %id, left_ms = left.as_millis() as u64,
                    "not started: its budget does not fit before the invocation deadline; back to the queue");
                response.add_failure(id);
                continue;
            }
            let work = match message.body.as_deref().map(serde_json::from_str::<QueuedWork>) {
                Some(Ok(work)) => work,
                Some(Err(e)) => {
                    tracing::error!(message_id = %id, line = e.line(), column = e.column(), category = ?e.classify(),
                        "queued message is not valid JSON of a job");
                    response.add_failure(id);
                    continue;
                }
                None => {
                    tracing::error!(message_id = %id, "queued message has no body");
                    response.add_failure(id);
                    continue;
                }
            };
            if let Some(date) = work.date_out_of_range(now) {
                // Not from the hook or the sweep: kept (redelivered, then dead-lettered), never run.
                tracing::error!(message_id = %id, work = %work.key(), date,
                    "queued work dated far from now (more than 400 days): refused; it goes to the dead-letter queue");
                response.add_failure(id);
                continue;
            }
            let run = AssertUnwindSafe(self.run(config, &work, now)).catch_unwind();
            match tokio::time::timeout(budget, run).await {
                Ok(Ok(Ok(outcome))) => log_outcome(&work, &outcome),
                Ok(Ok(Err(e))) => {
                    tracing::error!(message_id = %id, work = %work.key(), error = %e.causes(), error_kind = e.kind(),
                        "check failed; the message will be redelivered");
                    response.add_failure(id);
                }
                Ok(Err(_panic)) => {
                    tracing::error!(message_id = %id, work = %work.key(), "check panicked; the message will be redelivered");
                    response.add_failure(id);
                }
                Err(_elapsed) => {
                    tracing::error!(message_id = %id, work = %work.key(), budget_s = budget.as_secs(),
                        "check outran its time budget; the message will be redelivered");
                    response.add_failure(id);
                }
            }
        }
        response
    }

    async fn run(&self, config: &CheckConfig, work: &QueuedWork, now: DateTime<Utc>) -> Result<CheckOutcome> {
        match work {
            QueuedWork::Verify(job) => self.check(config, job, now).await,
            QueuedWork::GroupUnassignment(unassignment) => self.expand(config, unassignment, now).await,
        }
    }

    /// A group unassigned from the AWS app: one app-unassignment job per member Okta lists now (every page).
    pub async fn expand(
        &self,
        config: &CheckConfig,
        unassignment: &GroupUnassignment,
        now: DateTime<Utc>,
    ) -> Result<CheckOutcome> {
        if unassignment
            .app_id
            .as_ref()
            .is_some_and(|app| app != &config.aws_app_id)
        {
            return Ok(CheckOutcome::NothingToVerify(
                "a group unassigned from another Okta app",
            ));
        }
        let Some(members) = self.directory.group_members(&unassignment.unassigned_group_id).await? else {
            // Unassigned and deleted: whose access should have ended cannot be read from Okta. Said, once.
            let finding = crate::rules::propagation::group_unassignment_unverifiable(unassignment, now);
            let key = format!("verdict#{}", finding.subject.episode_id.clone().unwrap_or_default());
            let owner = format!("expand:{}", unassignment.okta_event_id);
            let published = std::slice::from_ref(&finding);
            return self
                .publish_once(
                    &key,
                    &owner,
                    now,
                    self.notifier.publish(published),
                    vec![finding.clone()],
                    None,
                )
                .await;
        };
        let jobs: Vec<VerificationJob> = members
            .into_iter()
            .map(|member| unassignment.job_for_member(member, config.propagation_window))
            .collect();
        let scheduled = ScheduledJob::until_due(&jobs, now);
        for chunk in scheduled.chunks(500) {
            self.queue.enqueue(chunk).await?;
        }
        Ok(CheckOutcome::Expanded {
            jobs_queued: scheduled.len(),
        })
    }

    /// One job: wait for the window, join the person's episode, observe, judge, publish once, re-queue if not final.
    pub async fn check(&self, config: &CheckConfig, job: &VerificationJob, now: DateTime<Utc>) -> Result<CheckOutcome> {
        if job.attempt >= MAX_ATTEMPTS {
            return Err(Error::Invalid {
                what: "verification job",
                value: job.key(),
                reason: "its re-check counter is exhausted: a loop, not a slow SCIM",
            });
        }
        if job.published > now + FUTURE_SKEW || job.check_after > job.published + config.max_window + FUTURE_SKEW {
            // Waiting would re-queue it every 900 s forever: refuse it, loudly.
            tracing::error!(event_uuid = %job.okta_event_id, published = %job.published,
                "a job dated in the future beyond the clock-skew allowance: dropped, check the sender's clock");
            return Ok(CheckOutcome::NothingToVerify("the Okta event is dated in the future"));
        }
        if job.app_id.as_ref().is_some_and(|app| app != &config.aws_app_id) {
            return Ok(CheckOutcome::NothingToVerify("the event is about another Okta app"));
        }
        if now < job.check_after {
            // A window longer than SQS's 900 s delay: wait some more.
            let delay = job.delay_from(now);
            return self.requeue(job.clone(), delay, Vec::new()).await;
        }
        if job.follow_up {
            return self.follow_up(config, job, now).await;
        }
        let token = job.chain_token.clone().unwrap_or_else(|| new_chain_token(job, now));
        let scope = VerdictScope::of(job);
        let episode_key = scope.episode_key(job);
        let keep = now + Duration::days(LEDGER_RETENTION_DAYS);
        let episode_id = match &job.episode_id {
            Some(id) => id.clone(),
            None => {
                let episode = self
                    .ledger
                    .place_in_episode(&episode_key, job, config.max_window, keep)
                    .await?;
                if episode.is_past_incident(job, config.max_window) {
                    tracing::warn!(event_uuid = %job.okta_event_id, episode = %episode.episode_id,
                        "an event older than the person's current episode, delivered late: not judged now");
                    return Ok(CheckOutcome::NothingToVerify(
                        "an event of a past incident (the person has a newer episode)",
                    ));
                }
                episode.episode_id
            }
        };
        let stale_before = now - config.recheck_interval - CHAIN_STALE_MARGIN;
        let verdict_key = format!("verdict#{episode_id}#{}", scope_name(&scope));
        let job = VerificationJob {
            episode_id: Some(episode_id.clone()),
            chain_token: Some(token.clone()),
            ..job.clone()
        };
        if !self
            .ledger
            .hold_chain(&episode_id, &token, job.chain_step, now, stale_before)
            .await?
        {
            return self.watch(config, job, &verdict_key).await;
        }
        // From here the job holds the chain: if it fails (Okta or AWS answering errors), it lets the chain go, so the
        // redelivered message (or another job of the episode) checks at once instead of watching a dead chain until
        // it goes stale (re-check interval + 5 min). A job killed outright (crash, time budget) leaves it to that.
        let held: Result<CheckOutcome> = async {
            if self.ledger.is_published(&verdict_key).await? {
                self.ledger.close_episode(&episode_key, &episode_id, now).await?;
                return Ok(CheckOutcome::NothingToVerify(
                    "the episode's verdict is already published",
                ));
            }
            // This job holds the chain at the next step: its re-queued successor (and its claims) carry that step.
            let job = VerificationJob {
                chain_step: job.chain_step.saturating_add(1),
                ..job
            };
            let owner = format!("{token}#{}", job.chain_step);
            let remembered = self.ledger.recall_links(&job.okta_user_id).await?;
            let mut seen = self.observe(config, &job, &remembered, now).await?;
            seen.episode_id = Some(episode_id.clone());
            self.remember(&job, &seen, &remembered, now).await?;
            self.read_org(config, &job, &episode_id, &mut seen, now).await?;
            let early = self.report_activity(&job, &seen, now).await?;

            let policy = PropagationPolicy {
                max_window: config.max_window,
            };
            match judge(&job, &seen, policy, now) {
                Verdict::NothingToVerify(reason) => {
                    if reason.starts_with("Okta has no record") {
                        println!("{}", crate::metrics::count("DeprovisionsNotLinked", job.kind, now));
                    }
                    self.ledger.let_chain_go(&episode_id, &token).await?;
                    Ok(CheckOutcome::NothingToVerify(reason))
                }
                Verdict::NotYet { .. } => {
                    if job.kind != DeprovisionKind::Suspended && seen.scim_events.is_empty() {
                        // No SCIM call yet: the heartbeat measures from the earliest such deprovision.
                        self.ledger.await_scim(&episode_id, job.published, keep).await?;
                    }
                    let deadline = job.published + config.max_window;
                    let delay = config
                        .recheck_interval
                        .min(deadline - now)
                        .num_seconds()
                        .clamp(1, MAX_QUEUE_DELAY_SECONDS);
                    let next = VerificationJob {
                        attempt: job.attempt.saturating_add(1),
                        ..job.clone()
                    };
                    self.requeue(next, i32::try_from(delay).unwrap_or(1), early).await
                }
                Verdict::Final {
                    findings,
                    latency_seconds,
                } => {
                    let work = self.publish_final(&job, &findings, latency_seconds, seen.org_watch.as_ref(), now);
                    let outcome = self
                        .publish_once(&verdict_key, &owner, now, work, findings.clone(), latency_seconds)
                        .await?;
                    if matches!(outcome, CheckOutcome::NothingToVerify(_)) {
                        // Another job's claim (a crashed holder whose lease has not run out): wait for it, or for its
                        // lease to end, rather than closing an episode whose verdict may never come.
                        return self.watch(config, job, &verdict_key).await;
                    }
                    self.ledger.close_episode(&episode_key, &episode_id, now).await?;
                    let propagated = !seen.scim_events.is_empty()
                        || findings
                            .iter()
                            .any(|f| f.rule == crate::domain::Rule::PropagationVerified);
                    if propagated && job.attempt > 0 {
                        // It may have been noted as waiting at an earlier check (a verdict at the first check never is).
                        self.ledger.scim_arrived(std::slice::from_ref(&episode_id)).await?;
                    }
                    Ok(outcome)
                }
            }
        }
        .await;
        if held.is_err()
            && let Err(release) = self.ledger.let_chain_go(&episode_id, &token).await
        {
            tracing::warn!(episode = %episode_id, error = %release.causes(), "chain not let go; it goes stale instead");
        }
        held
    }

    /// Another job holds the episode's chain (a duplicate delivery, the sweep's copy, a related event, or a second
    /// copy of this very step). Nothing is observed; the job waits and looks again until the verdict is out — or the
    /// chain has gone quiet (its holder died or was dead-lettered), when the next look takes it over. So no job
    /// ends while the episode still has no verdict and no live chain.
    async fn watch(&self, config: &CheckConfig, job: VerificationJob, verdict_key: &str) -> Result<CheckOutcome> {
        if self.ledger.is_published(verdict_key).await? {
            return Ok(CheckOutcome::NothingToVerify(
                "the episode's verdict is already published",
            ));
        }
        let next = VerificationJob {
            attempt: job.attempt.saturating_add(1),
            // Not in the chain: a watcher takes it over only once it is stale, as a new holder.
            chain_step: 0,
            ..job
        };
        let delay = config.recheck_interval.num_seconds().clamp(1, MAX_QUEUE_DELAY_SECONDS);
        tracing::info!(work = %next.key(), "another job is checking this episode; watching it");
        self.requeue(next, i32::try_from(delay).unwrap_or(1), Vec::new()).await
    }

    /// The look after a final verdict, for use of AWS CloudTrail had not delivered yet: only events the episode
    /// has not reported.
    async fn follow_up(&self, config: &CheckConfig, job: &VerificationJob, now: DateTime<Utc>) -> Result<CheckOutcome> {
        if let Some(watch) = job.watch
            && self.org.watches()
        {
            return self.watch_look(config, job, watch, now).await;
        }
        let remembered = self.ledger.recall_links(&job.okta_user_id).await?;
        let mut seen = self.observe(config, job, &remembered, now).await?;
        seen.episode_id = Some(job.episode_id.clone().unwrap_or_else(|| job.key()));
        let findings = self.report_activity(job, &seen, now).await?;
        if findings.is_empty() {
            return Ok(CheckOutcome::NothingToVerify("no new use of AWS after the deprovision"));
        }
        Ok(CheckOutcome::Published {
            findings,
            latency_seconds: None,
        })
    }

    /// One look of the watch after the verdict (issue 8 §3): the org-wide source asked about the recorded reach,
    /// from where the previous look's source had caught up; new use published as a new revision of the episode's
    /// activity finding; then looked at again — until the last session can have ended and the source has caught
    /// up past that, or the bound (`MAX_SESSION + MAX_SOURCE_LAG` after the deprovision) is reached.
    async fn watch_look(
        &self,
        config: &CheckConfig,
        job: &VerificationJob,
        watch: Watch,
        now: DateTime<Utc>,
    ) -> Result<CheckOutcome> {
        let episode_id = job.episode_id.clone().unwrap_or_else(|| job.key());
        let okta_status_now = self
            .directory
            .user(job.okta_user_id.as_str())
            .await?
            .as_ref()
            .map(crate::domain::OktaUser::effective_status);
        let Some(reach) = self.ledger.recorded_reach(&episode_id).await?.filter(|r| !r.is_empty()) else {
            tracing::warn!(episode = %episode_id, "no reach recorded for the episode: the watch cannot look");
            return Ok(CheckOutcome::NothingToVerify(
                "no reach recorded for the episode: nothing to watch",
            ));
        };
        let read = self
            .org
            .use_of_aws(&UseQuery {
                reach: reach.clone(),
                start: watch.read_from - WATCH_OVERLAP,
                end: now,
                budget: config.record_budget / 4,
            })
            .await?;
        // A read cut short (page cap, budget, an account not read, no account to read) counts as not caught up: the
        // next look reads the same stretch again (the reported set keeps findings single), and a gap that never
        // fills ends at the bound as an unverifiable finding — never as "over, no use of AWS".
        let complete = read.is_whole(&reach);
        let caught_up_to = read.trusted_to(&reach, watch.read_from);
        let events: Vec<ActivityEvent> = read.events.into_iter().filter(|e| reach.names(e)).collect();
        let reach = self.widen_reach(&episode_id, reach, &events, now).await?;
        let until = watch_until(job, &reach, &events, Some(watch.until));
        let read_from = caught_up_to.min(now).max(watch.read_from);
        let seen = Observation {
            okta_status_now,
            activity: events,
            activity_incomplete: !complete,
            episode_id: Some(episode_id.clone()),
            reach,
            org_watch: Some(OrgWatch::Watched {
                source: self.org.source(),
                caught_up_to,
                until,
            }),
            ..Observation::default()
        };
        let findings = self.report_activity(job, &seen, now).await?;
        let next = Watch { until, read_from };
        match watch_step(job, &next, caught_up_to, now) {
            WatchStep::GoOn if !okta_status_now.is_some_and(is_back_in_okta) => {
                let wait = if now < until {
                    (until - now).num_seconds()
                } else {
                    config.recheck_interval.num_seconds()
                };
                let next = VerificationJob {
                    attempt: job.attempt.saturating_add(1),
                    watch: Some(next),
                    ..job.clone()
                };
                let delay = i32::try_from(wait.clamp(60, MAX_QUEUE_DELAY_SECONDS)).unwrap_or(60);
                self.requeue(next, delay, findings).await
            }
            step => {
                let mut findings = findings;
                if step == WatchStep::GaveUp {
                    tracing::warn!(episode = %episode_id, source = self.org.source(), caught_up_to = %caught_up_to,
                        until = %until, "the watch stops at its bound: the source had not caught up to its end");
                    let gave_up = watch_gave_up(job, &seen, self.org.source(), caught_up_to, until, now);
                    self.notifier.publish(std::slice::from_ref(&gave_up)).await?;
                    findings.push(gave_up);
                }
                if findings.is_empty() {
                    return Ok(CheckOutcome::NothingToVerify(match step {
                        WatchStep::GaveUp => "the watch stopped at its bound; the source had not caught up",
                        _ if okta_status_now.is_some_and(is_back_in_okta) => "the person is active in Okta again",
                        _ => "the watch is over: the last session has ended, with no new use of AWS",
                    }));
                }
                Ok(CheckOutcome::Published {
                    findings,
                    latency_seconds: None,
                })
            }
        }
    }

    /// The chain's look at the org-wide source (issue 8 §2): the person's reach — linked accounts, the AWS accounts
    /// and permission sets of their effective access (read at the episode's first check, before SCIM removes it),
    /// the accounts their portal activity names — merged into the ledger's, then every use of AWS by them after
    /// the deprovision, added to what this account's CloudTrail showed.
    async fn read_org(
        &self,
        config: &CheckConfig,
        job: &VerificationJob,
        episode_id: &str,
        seen: &mut Observation,
        now: DateTime<Utc>,
    ) -> Result<()> {
        if job.kind == DeprovisionKind::GroupRemoved || seen.accounts.is_empty() {
            return Ok(());
        }
        if !self.org.watches() {
            // Nothing to ask: no org-wide read of assignments, no reach kept; the findings say what was not watched.
            seen.org_watch = Some(OrgWatch::NotConfigured);
            return Ok(());
        }
        let recorded = self.ledger.recorded_reach(episode_id).await?;
        let mut held: Vec<EffectiveAssignment> = seen.accounts.iter().flat_map(|a| a.access.clone()).collect();
        if recorded.is_none() {
            // The first check: what the person could reach, before SCIM takes it away.
            for account in seen.accounts.iter().filter(|a| a.access.is_empty()) {
                let groups = self.identity_center.groups_of(&account.user).await?;
                held.extend(self.effective_access(&account.user, &groups).await?);
            }
        }
        let mut reach = Reach {
            accounts: held.iter().map(|a| a.account_id.clone()).collect(),
            permission_sets: held
                .iter()
                .map(|a| HeldPermissionSet {
                    arn: a.permission_set_arn.clone(),
                    name: a.permission_set_name.clone(),
                    session_seconds: a
                        .session_duration
                        .as_deref()
                        .and_then(crate::domain::idc::parse_iso8601_time_duration),
                })
                .collect(),
            ..Reach::default()
        }
        .merged(&seen.reach());
        reach.accounts.extend(session_accounts(&seen.activity, &reach));
        let reach = self.ledger.record_reach(episode_id, &reach, self.keep(now)).await?;
        let read = self
            .org
            .use_of_aws(&UseQuery {
                reach: reach.clone(),
                start: job.published,
                end: now,
                budget: config.record_budget / 4,
            })
            .await?;
        seen.activity_incomplete |= !read.complete;
        // The watch's first look reads again from the deprovision if this read was cut short.
        let caught_up_to = read.trusted_to(&reach, job.published);
        for event in read.events.into_iter().filter(|e| reach.names(e)) {
            if !seen.activity.iter().any(|known| known.event_id == event.event_id) {
                seen.activity.push(event);
            }
        }
        let reach = self.widen_reach(episode_id, reach, &seen.activity, now).await?;
        seen.org_watch = Some(OrgWatch::Watched {
            source: self.org.source(),
            caught_up_to,
            until: watch_until(job, &reach, &seen.activity, None),
        });
        seen.reach = reach;
        Ok(())
    }

    /// The reach with the accounts newly seen in portal activity recorded (unchanged, and no write, if none).
    async fn widen_reach(
        &self,
        episode_id: &str,
        reach: Reach,
        events: &[ActivityEvent],
        now: DateTime<Utc>,
    ) -> Result<Reach> {
        let new = session_accounts(events, &reach);
        if new.is_empty() {
            return Ok(reach);
        }
        let wider = Reach {
            accounts: new,
            ..Reach::default()
        };
        self.ledger.record_reach(episode_id, &wider, self.keep(now)).await
    }

    fn keep(&self, now: DateTime<Utc>) -> DateTime<Utc> {
        now + Duration::days(LEDGER_RETENTION_DAYS)
    }

    /// Keeps the person's strong links for later looks, when they changed.
    async fn remember(
        &self,
        job: &VerificationJob,
        seen: &Observation,
        remembered: &[RememberedLink],
        now: DateTime<Utc>,
    ) -> Result<()> {
        let links = PersonLinks {
            accounts: seen
                .accounts
                .iter()
                .map(|a| crate::domain::LinkedAccount {
                    user: a.user.id.clone(),
                    basis: a.basis,
                    remembered: a.remembered,
                })
                .collect(),
            dangling: Vec::new(),
        }
        .to_remember(|id| id);
        if links.is_empty() || links.as_slice() == remembered {
            return Ok(());
        }
        self.ledger
            .remember_links(&job.okta_user_id, &links, now + Duration::days(LINK_RETENTION_DAYS))
            .await
    }

    /// Use of AWS after the deprovision that the episode has not reported yet: published at once (high), and
    /// marked reported so no re-check, duplicate chain or follow-up repeats it.
    async fn report_activity(
        &self,
        job: &VerificationJob,
        seen: &Observation,
        now: DateTime<Utc>,
    ) -> Result<Vec<Finding>> {
        let Some(episode_id) = seen.episode_id.as_deref() else {
            return Ok(Vec::new());
        };
        let reported = self.ledger.reported_events(episode_id).await?;
        let Some(report) = activity_after_deprovision(job, seen, &reported, now) else {
            return Ok(Vec::new());
        };
        self.notifier.publish(std::slice::from_ref(&report.finding)).await?;
        self.ledger
            .mark_reported(
                episode_id,
                &report.event_ids,
                now + Duration::days(LEDGER_RETENTION_DAYS),
            )
            .await?;
        Ok(vec![report.finding])
    }

    /// Runs `work` (the publishing of a final result) once per `key`: another job for the same episode finds the
    /// key taken and publishes nothing. If `work` fails, the key is released; if the function dies mid-way, the
    /// claim's lease runs out before the message is redelivered. Either way the retry publishes.
    async fn publish_once(
        &self,
        key: &str,
        owner: &str,
        now: DateTime<Utc>,
        work: impl std::future::Future<Output = Result<()>>,
        findings: Vec<Finding>,
        latency_seconds: Option<i64>,
    ) -> Result<CheckOutcome> {
        let lease_until = now + Duration::seconds(LEDGER_LEASE_SECONDS);
        let keep_until = now + Duration::days(LEDGER_RETENTION_DAYS);
        if !self.ledger.claim(key, owner, now, lease_until, keep_until).await? {
            return Ok(CheckOutcome::NothingToVerify(
                "already published (or being published) by another job",
            ));
        }
        if let Err(e) = work.await {
            // Give the key back at once; if even that fails, the lease runs out before the message comes back.
            if let Err(release) = self.ledger.release(key, owner).await {
                tracing::warn!(ledger_key = key, error = %release.causes(), "ledger key not released; its lease will expire");
            }
            return Err(e);
        }
        self.ledger.complete(key, owner).await?;
        Ok(CheckOutcome::Published {
            findings,
            latency_seconds,
        })
    }

    /// A final verdict: the follow-up look queued first, then the findings, then the latency metric.
    async fn publish_final(
        &self,
        job: &VerificationJob,
        findings: &[Finding],
        latency_seconds: Option<i64>,
        org_watch: Option<&OrgWatch>,
        now: DateTime<Utc>,
    ) -> Result<()> {
        if job.kind != DeprovisionKind::GroupRemoved {
            // With an org-wide source the follow-up carries the watch on, look after look, until the last session
            // can have ended; without one it is a single look at this account's CloudTrail.
            let watch = match org_watch {
                Some(OrgWatch::Watched {
                    caught_up_to, until, ..
                }) => Some(Watch {
                    until: *until,
                    read_from: (*caught_up_to).min(now),
                }),
                _ => None,
            };
            let follow_up = VerificationJob {
                follow_up: true,
                watch,
                ..job.clone()
            };
            self.queue
                .enqueue(&[ScheduledJob::after(follow_up, FOLLOW_UP_DELAY_SECONDS)])
                .await?;
        }
        // Kept for the access review before it goes out: a failed write fails the verdict, whose retry writes both.
        let episode = job.episode_id.clone().unwrap_or_else(|| job.key());
        if let Some(verdict) = ArchivedVerdict::from_final(job, &episode, findings, latency_seconds, now) {
            self.notifier.archive_verdict(&verdict).await?;
        }
        if !findings.is_empty() {
            self.notifier.publish(findings).await?;
        }
        if let Some(seconds) = latency_seconds {
            println!("{}", crate::metrics::propagation_latency(job.kind, seconds, now));
        }
        if findings
            .iter()
            .any(|f| f.rule == crate::domain::Rule::PropagationUnverifiable)
        {
            println!("{}", crate::metrics::count("DeprovisionsUnverifiable", job.kind, now));
        }
        Ok(())
    }

    async fn requeue(&self, job: VerificationJob, delay_seconds: i32, published: Vec<Finding>) -> Result<CheckOutcome> {
        let attempt = job.attempt;
        self.queue
            .enqueue(&[ScheduledJob::after(job.clone(), delay_seconds)])
            .await?;
        Ok(CheckOutcome::Requeued {
            delay_seconds,
            attempt,
            published,
            next: Box::new(job),
        })
    }

    /// The System Log sweep, from the cursor kept in the ledger's table: deprovisions the hook missed (Okta's
    /// hooks are best effort and capped per day) are queued with the same keys as the hook's, so a deprovision
    /// seen by both joins one episode.
    pub async fn sweep(&self, config: &CheckConfig, now: DateTime<Utc>) -> Result<SweepReport> {
        let sweep = SweepConfig {
            aws_app_id: config.aws_app_id.clone(),
            propagation_window: config.propagation_window,
            first_run_lookback: config.sweep_lookback,
            max_pages: config.sweep_max_pages,
        };
        let cursor = self.ledger.sweep_cursor(&config.aws_app_id);
        crate::handlers::system_log_sweep::sweep(&self.directory, &self.queue, &cursor, &sweep, now).await
    }
}

impl<D, I, A, N, Q, L, O> CheckPorts<D, I, A, N, Q, L, O>
where
    D: Directory,
    I: IdentityCenter,
    A: ActivityLog,
    O: OrgActivity,
{
    /// Everything `judge` needs, read from Okta, Identity Center and CloudTrail — Okta first, and nothing more
    /// when Okta already says there is nothing to verify (one Okta call for a group that is not pushed).
    pub async fn observe(
        &self,
        config: &CheckConfig,
        job: &VerificationJob,
        remembered: &[RememberedLink],
        now: DateTime<Utc>,
    ) -> Result<Observation> {
        let mut seen = Observation::default();
        if job.kind == DeprovisionKind::GroupRemoved {
            let Some(group) = &job.group_id else {
                return Ok(seen);
            };
            seen.removed_group = self.directory.group_push_target(&config.aws_app_id, group).await?;
            if seen.removed_group.is_none() {
                return Ok(seen);
            }
            seen.readded = self.directory.user_groups(&job.okta_user_id).await?.contains(group);
        }
        let okta_user = self.directory.user(job.okta_user_id.as_str()).await?;
        seen.okta_status_now = okta_user.as_ref().map(crate::domain::OktaUser::effective_status);
        let app_user = self.directory.app_user(&config.aws_app_id, &job.okta_user_id).await?;
        seen.reassigned =
            job.kind == DeprovisionKind::AppUnassigned && app_user.as_ref().is_some_and(|a| a.is_assigned());
        if nothing_to_verify(job, &seen).is_some() {
            return Ok(seen);
        }

        // Who is who: Okta's own record first (the app user, or the username the unassignment event named).
        let recorded = app_user.or_else(|| {
            job.app_user_name.as_ref().map(|name| crate::domain::AppUser {
                user_id: job.okta_user_id.clone(),
                external_id: None,
                user_name: Some(name.clone()),
                status: crate::domain::AppUserStatus::Unknown,
                sync_state: None,
                last_sync: None,
            })
        });
        let mut logins: Vec<String> = job.login.iter().cloned().collect();
        if let Some(user) = &okta_user {
            logins.push(user.login.to_string());
            logins.extend(user.email.clone());
        }
        let person = PersonRecord {
            okta_user_id: &job.okta_user_id,
            logins: &logins,
            app_user: recorded.as_ref(),
            remembered,
        };
        seen.okta_says_provisioned = person.says_provisioned();
        let mut answers = Vec::new();
        for candidate in link_candidates(&person, &config.links) {
            let found = self.identity_center.find_user(&candidate.key).await?;
            answers.push((candidate, found));
        }
        let links = PersonLinks::resolve(answers, |u: &IdcUser| &u.id);
        seen.dangling = links.dangling;
        for linked in links.accounts {
            let groups = self.identity_center.groups_of(&linked.user).await?;
            let mut account = AccountSeen::new(linked.user, linked.basis);
            account.remembered = linked.remembered;
            account.in_removed_group = seen.removed_group.as_ref().is_some_and(|g| groups.contains(g));
            let policy = PropagationPolicy {
                max_window: config.max_window,
            };
            if lists_access(job, &account, policy, now) {
                account.access = self.effective_access(&account.user, &groups).await?;
            }
            seen.accounts.push(account);
        }
        if seen.accounts.is_empty() {
            return Ok(seen);
        }
        self.read_cloudtrail(config, job, &mut seen, now).await?;
        Ok(seen)
    }

    /// SCIM writes to the person's accounts since the event, and their use of AWS: each read bounded in pages
    /// and time; a read cut short is said in the findings.
    async fn read_cloudtrail(
        &self,
        config: &CheckConfig,
        job: &VerificationJob,
        seen: &mut Observation,
        now: DateTime<Utc>,
    ) -> Result<()> {
        let ids: Vec<_> = seen.accounts.iter().map(|a| a.user.id.clone()).collect();
        // The activity record first (one keyed read per account): used when it holds a SCIM write to the accounts;
        // without one, CloudTrail is read too (EventBridge delivers to the record best effort).
        let keys: Vec<RecordKey> = seen
            .accounts
            .iter()
            .flat_map(|a| {
                [
                    RecordKey::UserId(a.user.id.to_string()),
                    RecordKey::UserName(a.user.user_name.clone()),
                ]
            })
            .collect();
        if let Some(recorded) = self.activity.recorded(&keys, job.published - SCIM_CLOCK_SKEW).await? {
            let scim: Vec<ActivityEvent> = recorded
                .events
                .iter()
                .filter(|e| e.is_scim() && e.target_user_id.as_ref().is_some_and(|id| ids.contains(id)))
                .cloned()
                .collect();
            if !scim.is_empty() {
                seen.activity_incomplete |= !recorded.complete;
                seen.scim_events = scim;
                seen.activity = recorded
                    .events
                    .into_iter()
                    .filter(|e| !e.is_scim() && e.event_time >= job.published)
                    .filter(|e| seen.accounts.iter().any(|a| e.is_by(&a.user.id, &a.user.user_name)))
                    .collect();
                // The record keeps sign-ins and role credentials, not the calls made with a role session already
                // handed out. An org-wide source reads those in every account of the person's reach; without one,
                // this account's event history is still read for them (one bounded query per user name).
                if !self.org.watches() && job.kind != DeprovisionKind::GroupRemoved {
                    let sessions = self.role_sessions(config, seen, job, now).await?;
                    seen.activity.extend(sessions);
                }
                return Ok(());
            }
        }
        let budget = config.record_budget / 4;
        let bounded =
            |attribute, start| ActivityQuery::new(attribute, start, now).bounded(config.cloudtrail_max_pages, budget);
        let scim = self
            .activity
            .lookup(&bounded(
                LookupAttribute::EventSource(SCIM_EVENT_SOURCE.into()),
                job.published - SCIM_CLOCK_SKEW,
            ))
            .await?;
        seen.activity_incomplete |= !scim.complete;
        seen.scim_events = scim
            .events
            .into_iter()
            .filter(|e| e.target_user_id.as_ref().is_some_and(|id| ids.contains(id)))
            .collect();
        if job.kind == DeprovisionKind::GroupRemoved {
            return Ok(());
        }
        // By event name, not by the portal's event source: every sso-admin call (this checker's own reads, a
        // review's thousands) is logged under that source and would fill the page cap. Each name gets half of
        // what one read of the source had.
        let mut activity: Vec<ActivityEvent> = Vec::new();
        for name in SESSION_EVENT_NAMES {
            let query = ActivityQuery::new(LookupAttribute::EventName(name.into()), job.published, now)
                .bounded(config.cloudtrail_max_pages, budget / 2);
            let portal = self.activity.lookup(&query).await?;
            seen.activity_incomplete |= !portal.complete;
            activity.extend(
                portal
                    .events
                    .into_iter()
                    .filter(|e| e.event_source == PORTAL_EVENT_SOURCE),
            );
        }
        activity.retain(|e| seen.accounts.iter().any(|a| e.is_by(&a.user.id, &a.user.user_name)));
        activity.extend(self.role_sessions(config, seen, job, now).await?);
        seen.activity = activity;
        Ok(())
    }

    /// Calls made in this account under each linked user name (role sessions are named after it) since the
    /// deprovision: one bounded LookupEvents read per name.
    async fn role_sessions(
        &self,
        config: &CheckConfig,
        seen: &mut Observation,
        job: &VerificationJob,
        now: DateTime<Utc>,
    ) -> Result<Vec<ActivityEvent>> {
        let names: Vec<String> = seen.accounts.iter().map(|a| a.user.user_name.clone()).collect();
        let mut found = Vec::new();
        for name in names {
            let query = ActivityQuery::new(LookupAttribute::Username(name), job.published, now)
                .bounded(config.cloudtrail_max_pages, config.record_budget / 4);
            let sessions = self.activity.lookup(&query).await?;
            seen.activity_incomplete |= !sessions.complete;
            found.extend(sessions.events);
        }
        found.retain(|e| seen.accounts.iter().any(|a| e.is_by(&a.user.id, &a.user.user_name)));
        Ok(found)
    }

    /// Direct assignments plus those of every group the user is still in.
    async fn effective_access(
        &self,
        user: &IdcUser,
        groups: &[crate::domain::IdcGroupId],
    ) -> Result<Vec<EffectiveAssignment>> {
        let mut principals = vec![Principal::User(user.id.clone())];
        principals.extend(groups.iter().cloned().map(Principal::Group));
        let mut held = self.identity_center.assignments_for(&principals).await?;
        // Direct assignments first, then each group's in the order of `groups`.
        held.sort_by_key(|a| principals.iter().position(|p| p == &a.principal));
        let mut access: Vec<EffectiveAssignment> = held
            .into_iter()
            .map(|a| {
                let via_group = match &a.principal {
                    Principal::User(_) => None,
                    Principal::Group(group) => Some(group.clone()),
                };
                effective(a, via_group)
            })
            .collect();
        if !access.is_empty() {
            let sets = self.identity_center.permission_sets().await?;
            for a in &mut access {
                if let Some(set) = sets.iter().find(|s| s.arn == a.permission_set_arn) {
                    a.permission_set_name = Some(set.name.clone());
                    a.session_duration = set.session_duration.clone();
                }
            }
        }
        Ok(access)
    }

    /// The job for a person's latest deprovision, for an on-demand check: the System Log event around their
    /// status change if Okta still has it, else one made from their status. `None` if Okta has them active.
    pub async fn latest_deprovision(
        &self,
        login: &str,
        since: Option<DateTime<Utc>>,
        now: DateTime<Utc>,
    ) -> Result<Option<VerificationJob>> {
        let Some(user) = self.directory.user(login).await? else {
            return Err(Error::Invalid {
                what: "Okta login",
                value: login.chars().take(64).collect(),
                reason: "Okta has no such user",
            });
        };
        let user = crate::domain::OktaUser {
            status_changed: since.or(user.status_changed).or(Some(now)),
            ..user
        };
        let Some(from_status) = job_from_status(&user, JobSource::OnDemand) else {
            return Ok(None);
        };
        let at = from_status.published;
        let query = LogQuery {
            since: at - Duration::minutes(10),
            until: (at + Duration::minutes(10)).min(now),
            event_types: vec!["user.lifecycle.deactivate".into(), "user.lifecycle.suspend".into()],
        };
        let found = self
            .directory
            .system_log(&query)
            .await?
            .into_iter()
            .filter(|e| e.target("User").is_some_and(|t| t.id == user.id.as_str()))
            .max_by_key(|e| e.published);
        if let Some(event) = found
            && let Ok(job) =
                crate::domain::deprovision::job_for(&event, from_status.kind, Duration::zero(), JobSource::OnDemand)
        {
            return Ok(Some(job));
        }
        Ok(Some(from_status))
    }
}

/// The accounts portal calls by the person handed role sessions out for, that the reach does not name yet.
fn session_accounts(events: &[ActivityEvent], reach: &Reach) -> Vec<crate::domain::AccountId> {
    let mut found: Vec<crate::domain::AccountId> = events
        .iter()
        .filter(|e| e.hands_out_session() && reach.names(e))
        .filter_map(|e| e.target_account_id.as_deref())
        .filter_map(|id| crate::domain::AccountId::parse(id).ok())
        .filter(|id| !reach.accounts.contains(id))
        .collect();
    found.sort();
    found.dedup();
    found
}

fn scope_name(scope: &VerdictScope) -> String {
    match scope {
        VerdictScope::Deprovision => "deprovision".into(),
        VerdictScope::Suspension => "suspension".into(),
        VerdictScope::GroupRemoval(group) => format!("group:{group}"),
    }
}

fn effective(a: crate::domain::AccountAssignment, via_group: Option<IdcGroupId>) -> EffectiveAssignment {
    EffectiveAssignment {
        account_id: a.account_id,
        permission_set_arn: a.permission_set_arn,
        permission_set_name: None,
        session_duration: None,
        via_group,
    }
}

fn log_outcome(work: &QueuedWork, outcome: &CheckOutcome) {
    let key = work.key();
    match outcome {
        CheckOutcome::Requeued {
            delay_seconds, attempt, ..
        } => tracing::info!(work = %key, delay_seconds, attempt, "not propagated yet; re-queued"),
        CheckOutcome::Published {
            findings,
            latency_seconds,
        } => {
            let ids: Vec<&str> = findings.iter().map(|f| f.finding_id.as_str()).collect();
            tracing::info!(work = %key, ?latency_seconds, finding_ids = ?ids, "verdict published")
        }
        CheckOutcome::Expanded { jobs_queued } => {
            tracing::info!(work = %key, jobs_queued, "group unassignment expanded into member jobs")
        }
        CheckOutcome::NothingToVerify(reason) => tracing::info!(work = %key, reason, "nothing to verify"),
    }
}

/// `propagation-check`'s settings, from its environment (validated at cold start, errors name the variable).
#[derive(Debug)]
pub struct PropagationCheckSettings {
    pub okta: crate::config::OktaSettings,
    pub topic_arn: String,
    pub queue_url: String,
    /// DynamoDB table of the ledger: verdicts, episodes, reported events, links (`VERDICT_TABLE_NAME`).
    pub verdict_table: String,
    /// Both set, or neither (then the instance is discovered with ListInstances).
    pub idc_instance: Option<crate::domain::IdcInstance>,
    /// identity-center-watch's activity record (`ACTIVITY_TABLE_NAME`), read before CloudTrail when set.
    pub activity_table: Option<String>,
    /// Where final verdicts are kept for the access review (`VERDICT_ARCHIVE_BUCKET`); none kept when unset.
    pub verdict_archive_bucket: Option<String>,
    /// How many checker instances may run at once (the SQS event source's maximum concurrency plus the sweep):
    /// each spaces its LookupEvents calls so that together they stay within 2 per second.
    pub lookup_events_sharers: u32,
    /// The org-wide activity source (`ACTIVITY_SOURCE` and its settings; unset: none, member accounts are not
    /// watched).
    pub activity_source: crate::aws::OrgActivitySettings,
    pub check: CheckConfig,
}

impl PropagationCheckSettings {
    pub fn from_env(env: &impl Env) -> Result<Self> {
        let okta = crate::config::OktaSettings::from_env(env)?;
        let idc_instance = crate::config::idc_instance_from_env(env)?;
        let max_window = seconds(env, "MAX_PROPAGATION_WINDOW_SECONDS", 3600, 86_400)?;
        let record_budget = at_least(
            seconds(env, "RECORD_BUDGET_SECONDS", 120, 840)?,
            10,
            "RECORD_BUDGET_SECONDS",
        )?;
        let sharers = match optional(env, "LOOKUP_EVENTS_SHARERS") {
            None => 3,
            Some(text) => text
                .parse::<u32>()
                .ok()
                .filter(|n| (1..=100).contains(n))
                .ok_or_else(|| Error::config("LOOKUP_EVENTS_SHARERS", "must be a whole number from 1 to 100"))?,
        };
        let check = CheckConfig {
            aws_app_id: okta.app_id.clone(),
            links: crate::config::link_policy_from_env(env)?,
            propagation_window: seconds(env, "PROPAGATION_WINDOW_SECONDS", 900, 86_400)?,
            max_window,
            recheck_interval: at_least(
                seconds(env, "RECHECK_INTERVAL_SECONDS", 300, 900)?,
                60,
                "RECHECK_INTERVAL_SECONDS",
            )?,
            sweep_lookback: seconds(env, "SWEEP_LOOKBACK_SECONDS", 1200, 86_400 * 7)?,
            sweep_max_pages: match optional(env, "SWEEP_MAX_PAGES") {
                None => 20,
                Some(text) => text
                    .parse::<usize>()
                    .ok()
                    .filter(|n| (1..=1000).contains(n))
                    .ok_or_else(|| Error::config("SWEEP_MAX_PAGES", "must be a whole number from 1 to 1000"))?,
            },
            record_budget: record_budget.to_std().unwrap_or(std::time::Duration::from_secs(120)),
            cloudtrail_max_pages: 20,
            scim_silent_after: match optional(env, "SCIM_SILENT_AFTER_HOURS") {
                None => Duration::hours(DEFAULT_SCIM_SILENT_HOURS),
                Some(text) => text
                    .parse::<i64>()
                    .ok()
                    .filter(|h| (1..=168).contains(h))
                    .map(Duration::hours)
                    .ok_or_else(|| Error::config("SCIM_SILENT_AFTER_HOURS", "must be a whole number from 1 to 168"))?,
            },
        };
        if check.max_window < check.propagation_window {
            return Err(Error::config(
                "MAX_PROPAGATION_WINDOW_SECONDS",
                "must not be shorter than PROPAGATION_WINDOW_SECONDS",
            ));
        }
        Ok(Self {
            okta,
            topic_arn: required(env, "FINDINGS_TOPIC_ARN")?,
            queue_url: required(env, "VERIFY_QUEUE_URL")?,
            verdict_table: required(env, "VERDICT_TABLE_NAME")?,
            idc_instance,
            activity_table: optional(env, "ACTIVITY_TABLE_NAME"),
            verdict_archive_bucket: optional(env, "VERDICT_ARCHIVE_BUCKET"),
            lookup_events_sharers: sharers,
            activity_source: crate::aws::OrgActivitySettings::from_env(env)?,
            check,
        })
    }
}

/// The `scim-silent` heartbeat, run with each sweep: the deprovisions noted as waiting for their SCIM call
/// (ledger) against the latest SCIM call the activity record saw. A silent stretch is published once (claimed in
/// the ledger under its finding id), however many sweeps see it. Deprovisions a later SCIM call answered, or
/// older than 14 days, are forgotten. No record configured: no heartbeat (`None`).
pub async fn scim_heartbeat(
    activity: &impl ActivityLog,
    ledger: &impl VerdictLedger,
    notifier: &impl Notifier,
    silent_after: Duration,
    now: DateTime<Utc>,
) -> Result<Option<Finding>> {
    let heartbeat = activity.scim_heartbeat().await?;
    if heartbeat.record_since.is_none() {
        return Ok(None);
    }
    let awaiting = ledger.awaiting_scim().await?;
    let oldest_kept = now - Duration::days(AWAITED_SCIM_MAX_DAYS);
    let (forget, waiting): (Vec<_>, Vec<_>) = awaiting
        .into_iter()
        .partition(|(_, at)| *at < oldest_kept || heartbeat.last_scim_call.is_some_and(|last| *at <= last));
    if !forget.is_empty() {
        let ids: Vec<String> = forget.into_iter().map(|(id, _)| id).collect();
        ledger.scim_arrived(&ids).await?;
    }
    let times: Vec<DateTime<Utc>> = waiting.iter().map(|(_, at)| *at).collect();
    let Some(finding) = crate::rules::identity_center_events::scim_silent(
        heartbeat.last_scim_call,
        crate::rules::identity_center_events::earliest_unanswered(&times, &heartbeat),
        now,
        silent_after,
    ) else {
        return Ok(None);
    };
    let key = format!("scim-silent#{}", finding.finding_id.as_str());
    let owner = format!("heartbeat:{:x}", now.timestamp_nanos_opt().unwrap_or_default());
    let lease = now + Duration::seconds(LEDGER_LEASE_SECONDS);
    let keep = now + Duration::days(LEDGER_RETENTION_DAYS);
    if !ledger.claim(&key, &owner, now, lease, keep).await? {
        tracing::info!(finding_id = %finding.finding_id.as_str(), waiting = waiting.len(),
            "SCIM is still silent; its finding is already published");
        return Ok(None);
    }
    if let Err(e) = notifier.publish(std::slice::from_ref(&finding)).await {
        ledger.release(&key, &owner).await?;
        return Err(e);
    }
    ledger.complete(&key, &owner).await?;
    tracing::warn!(finding_id = %finding.finding_id.as_str(), waiting = waiting.len(),
        "SCIM is silent: finding published");
    Ok(Some(finding))
}

/// A setting below its floor is a configuration error (never silently raised).
fn at_least(value: Duration, floor: i64, var: &'static str) -> Result<Duration> {
    if value < Duration::seconds(floor) {
        return Err(Error::config(var, format!("must be at least {floor} seconds")));
    }
    Ok(value)
}

/// The production ports.
pub type ProductionPorts = CheckPorts<
    crate::okta::OktaClient,
    crate::aws::IdentityCenterClient,
    crate::aws::RecordFirst<Option<crate::aws::DynamoDbActivityRecord>, crate::aws::CloudTrailActivityLog>,
    crate::ports::ArchivingNotifier<crate::aws::SnsNotifier, Option<crate::aws::S3VerdictArchive>>,
    crate::aws::SqsJobQueue,
    crate::aws::DynamoDbVerdictLedger,
    crate::aws::OrgActivitySource,
>;

/// The production read ports, without a notifier, queue or ledger: what on-demand checks and snapshots need.
pub type ReadPorts = CheckPorts<
    crate::okta::OktaClient,
    crate::aws::IdentityCenterClient,
    crate::aws::CloudTrailActivityLog,
    (),
    (),
    (),
>;

impl ReadPorts {
    /// Okta credentials read, the Identity Center instance given or found (ListInstances). `sharers`: how many
    /// instances share LookupEvents' 2 per second.
    pub async fn connect_readers(
        okta: &crate::config::OktaSettings,
        idc_instance: Option<&crate::domain::IdcInstance>,
        sdk: &aws_config::SdkConfig,
        sharers: u32,
    ) -> Result<Self> {
        let directory = crate::okta::OktaClient::new(okta.client_config(sdk).await?)?;
        let identity_center = match idc_instance {
            Some(instance) => crate::aws::IdentityCenterClient::new(sdk, instance.clone()),
            None => crate::aws::IdentityCenterClient::discover(sdk).await?,
        };
        let spacing = std::time::Duration::from_millis(500).saturating_mul(sharers.max(1));
        let activity = crate::aws::CloudTrailActivityLog::with_spacing(sdk, spacing);
        Ok(CheckPorts {
            directory,
            identity_center,
            activity,
            notifier: (),
            queue: (),
            ledger: (),
            org: (),
        })
    }
}

impl ProductionPorts {
    /// Builds every adapter once, at cold start.
    pub async fn connect(settings: &PropagationCheckSettings, sdk: &aws_config::SdkConfig) -> Result<Self> {
        let readers = ReadPorts::connect_readers(
            &settings.okta,
            settings.idc_instance.as_ref(),
            sdk,
            settings.lookup_events_sharers,
        )
        .await?;
        Ok(Self {
            directory: readers.directory,
            identity_center: readers.identity_center,
            activity: crate::aws::RecordFirst {
                // Only read here: how long entries are kept is identity-center-watch's setting.
                record: settings
                    .activity_table
                    .as_ref()
                    .map(|table| crate::aws::DynamoDbActivityRecord::new(sdk, table.clone(), Duration::days(400))),
                cloudtrail: readers.activity,
            },
            notifier: crate::ports::ArchivingNotifier {
                notifier: crate::aws::SnsNotifier::new(sdk, settings.topic_arn.clone()),
                archive: settings
                    .verdict_archive_bucket
                    .as_ref()
                    .map(|bucket| crate::aws::S3VerdictArchive::new(sdk, bucket.clone())),
            },
            queue: crate::aws::SqsJobQueue::new(sdk, settings.queue_url.clone()),
            ledger: crate::aws::DynamoDbVerdictLedger::new(sdk, settings.verdict_table.clone()),
            // The slot for the production adapters: `OrgActivitySource` gains a variant per `ACTIVITY_SOURCE`.
            org: crate::aws::OrgActivitySource::new(sdk, &settings.activity_source),
        })
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    fn env(pairs: &[(&str, &str)]) -> impl Env + use<> {
        let map: HashMap<String, String> = pairs.iter().map(|(k, v)| ((*k).into(), (*v).into())).collect();
        move |name: &str| map.get(name).cloned()
    }

    fn checker_env(skip: &str) -> impl Env + use<> {
        checker_env_with(skip, &[])
    }

    fn checker_env_with(skip: &str, extra: &[(&'static str, &'static str)]) -> impl Env + use<> {
        let all = [
            ("OKTA_ORG_URL", "https://acme.okta.com"),
            ("OKTA_APP_ID", "0oa1awsidc00000001"),
            ("OKTA_API_TOKEN", "token"),
            ("FINDINGS_TOPIC_ARN", "arn:aws:sns:us-east-1:111122223333:findings"),
            (
                "VERIFY_QUEUE_URL",
                "https://sqs.us-east-1.amazonaws.com/111122223333/verify",
            ),
            ("VERDICT_TABLE_NAME", "verdicts"),
        ];
        let mut kept: Vec<(&str, &str)> = all.into_iter().filter(|(k, _)| *k != skip).collect();
        kept.extend_from_slice(extra);
        env(&kept)
    }

    #[test]
    fn checker_settings_name_each_missing_variable() {
        assert!(PropagationCheckSettings::from_env(&checker_env("")).is_ok());
        for var in [
            "OKTA_ORG_URL",
            "OKTA_APP_ID",
            "FINDINGS_TOPIC_ARN",
            "VERIFY_QUEUE_URL",
            "VERDICT_TABLE_NAME",
        ] {
            let err = PropagationCheckSettings::from_env(&checker_env(var)).unwrap_err();
            assert!(err.to_string().contains(var), "{var}: {err}");
        }
        let err = PropagationCheckSettings::from_env(&checker_env("OKTA_API_TOKEN")).unwrap_err();
        assert!(err.to_string().contains("OKTA_CREDENTIALS_SECRET_ARN"), "{err}");
    }

    #[test]
    fn the_issuer_reaches_the_link_policy_and_budgets_are_validated() {
        let issuer = ("IDC_EXTERNAL_ID_ISSUER", "https://scim.example/okta");
        let settings = PropagationCheckSettings::from_env(&checker_env_with("", &[issuer])).unwrap();
        assert_eq!(
            settings.check.links.scim_issuer.as_deref(),
            Some("https://scim.example/okta")
        );
        assert_eq!(settings.lookup_events_sharers, 3);
        let zero = ("LOOKUP_EVENTS_SHARERS", "0");
        let err = PropagationCheckSettings::from_env(&checker_env_with("", &[issuer, zero])).unwrap_err();
        assert!(err.to_string().contains("LOOKUP_EVENTS_SHARERS"), "{err}");
    }
}
