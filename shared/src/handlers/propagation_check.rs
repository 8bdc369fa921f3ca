//! The propagation checker: for each verification job, once its window is over, observe Okta, Identity Center
//! and CloudTrail, let `rules::propagation::judge` decide, publish, and re-queue what is not final yet.
//! Also the System Log sweep that enqueues deprovisions the event hook never delivered.

use aws_lambda_events::sqs::{SqsBatchResponse, SqsEvent};
use chrono::{DateTime, Duration, Utc};
use serde_json::json;

use crate::collect::PORTAL_EVENT_SOURCE;
use crate::domain::activity::SCIM_EVENT_SOURCE;
use crate::domain::deprovision::{MAX_QUEUE_DELAY_SECONDS, select_jobs, watched_event_types};
use crate::domain::{
    ActivityEvent, DeprovisionKind, EffectiveAssignment, Finding, IdcUser, JobSource, LoginMapping, OktaAppId,
    Principal, VerificationJob,
};
use crate::error::{Error, Result};
use crate::ports::{
    ActivityLog, ActivityQuery, Directory, IdentityCenter, JobQueue, LogQuery, LookupAttribute, Notifier, ScheduledJob,
    UserLookup, VerdictLedger,
};
use crate::rules::propagation::{
    Observation, PropagationPolicy, RemovedGroup, SCIM_CLOCK_SKEW, Verdict, follow_up_findings, judge,
};

/// CloudTrail delivers events within about 5 minutes on average, not guaranteed (historically 15): the follow-up
/// look for use of AWS comes this long after a final verdict.
pub const FOLLOW_UP_DELAY_SECONDS: i64 = 900;

#[derive(Debug, Clone)]
pub struct CheckConfig {
    pub aws_app_id: OktaAppId,
    pub login_mapping: LoginMapping,
    /// The issuer of the `ExternalIds` SCIM gives Identity Center users. When set, a user not found by login is
    /// looked up by (issuer, Okta user id) as a last resort.
    pub external_id_issuer: Option<String>,
    pub propagation_window: Duration,
    pub max_window: Duration,
    /// Time between re-checks of a deprovision that has not propagated yet.
    pub recheck_interval: Duration,
    /// How far back each sweep reads the System Log (the schedule interval plus an overlap).
    pub sweep_lookback: Duration,
}

/// The ports the checker uses, built once per cold start.
#[derive(Debug)]
pub struct CheckPorts<D, I, A, N, Q, L> {
    pub directory: D,
    pub identity_center: I,
    pub activity: A,
    pub notifier: N,
    pub queue: Q,
    pub ledger: L,
}

/// How long the ledger remembers a published verdict: longer than any job can live on the queue (4 days).
const LEDGER_RETENTION_DAYS: i64 = 14;
/// A claim whose job died (crash, timeout) is free again after this: longer than the function's timeout (300 s),
/// shorter than the queue's visibility timeout (1800 s), so the redelivered message can publish.
const LEDGER_LEASE_SECONDS: i64 = 600;

/// What one check did.
#[derive(Debug, Clone, PartialEq)]
pub enum CheckOutcome {
    /// Not final yet: queued again, to be checked after `delay_seconds`.
    Requeued {
        delay_seconds: i32,
        attempt: u32,
        published: Vec<Finding>,
    },
    /// Final: these findings were published.
    Published {
        findings: Vec<Finding>,
        latency_seconds: Option<i64>,
    },
    /// Nothing to verify, and why.
    NothingToVerify(&'static str),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SweepReport {
    pub events_read: usize,
    pub jobs_queued: usize,
    pub unusable: usize,
}

impl<D, I, A, N, Q, L> CheckPorts<D, I, A, N, Q, L>
where
    D: Directory,
    I: IdentityCenter,
    A: ActivityLog,
    N: Notifier,
    Q: JobQueue,
    L: VerdictLedger,
{
    /// Handles one trigger payload: an SQS batch of jobs (partial batch response) or a scheduled sweep.
    pub async fn handle_trigger(
        &self,
        config: &CheckConfig,
        payload: serde_json::Value,
        now: DateTime<Utc>,
    ) -> Result<serde_json::Value> {
        if payload.get("Records").is_some() {
            let event: SqsEvent = serde_json::from_value(payload).map_err(|source| Error::Decode {
                what: "SQS event",
                source,
            })?;
            let response = self.check_batch(config, event, now).await;
            return serde_json::to_value(response).map_err(|source| Error::Decode {
                what: "batch response",
                source,
            });
        }
        let report = self.sweep(config, now).await?;
        Ok(json!({"events_read": report.events_read, "jobs_queued": report.jobs_queued, "unusable": report.unusable}))
    }

    /// Checks every message; the ones that fail (bad body, API errors) are reported back for redelivery, and
    /// reach the dead-letter queue after the queue's maxReceiveCount. Nothing is dropped.
    pub async fn check_batch(&self, config: &CheckConfig, event: SqsEvent, now: DateTime<Utc>) -> SqsBatchResponse {
        let mut response = SqsBatchResponse::default();
        for message in event.records {
            let id = message.message_id.clone().unwrap_or_default();
            let job = match message.body.as_deref().map(serde_json::from_str::<VerificationJob>) {
                Some(Ok(job)) => job,
                Some(Err(e)) => {
                    tracing::error!(message_id = %id, line = e.line(), column = e.column(), category = ?e.classify(),
                        "verification job is not valid JSON of a job");
                    response.add_failure(id);
                    continue;
                }
                None => {
                    tracing::error!(message_id = %id, "verification job message has no body");
                    response.add_failure(id);
                    continue;
                }
            };
            match self.check(config, &job, now).await {
                Ok(outcome) => log_outcome(&job, &outcome),
                Err(e) => {
                    tracing::error!(message_id = %id, event_uuid = %job.okta_event_id, okta_user_id = %job.okta_user_id,
                        error = %e.causes(), error_kind = e.kind(), "check failed; the message will be redelivered");
                    response.add_failure(id);
                }
            }
        }
        response
    }

    /// One job: wait for the window, observe, judge, publish, re-queue if not final.
    pub async fn check(&self, config: &CheckConfig, job: &VerificationJob, now: DateTime<Utc>) -> Result<CheckOutcome> {
        if now < job.check_after {
            // A window longer than SQS's 900 s delay: wait some more.
            return self.requeue(job.clone(), job.delay_from(now), Vec::new()).await;
        }
        let seen = self.observe(config, job, now).await?;
        if job.follow_up {
            let findings = follow_up_findings(job, &seen, now);
            if findings.is_empty() {
                return Ok(CheckOutcome::NothingToVerify("no use of AWS after the deprovision"));
            }
            let key = format!("follow-up#{}", job.key());
            return self
                .publish_once(&key, now, self.notifier.publish(&findings), findings.clone(), None)
                .await;
        }
        let policy = PropagationPolicy {
            max_window: config.max_window,
        };
        match judge(job, &seen, policy, now) {
            Verdict::NothingToVerify(reason) => Ok(CheckOutcome::NothingToVerify(reason)),
            Verdict::NotYet { findings } => {
                if !findings.is_empty() {
                    self.notifier.publish(&findings).await?;
                }
                let deadline = job.published + config.max_window;
                let delay = config
                    .recheck_interval
                    .min(deadline - now)
                    .num_seconds()
                    .clamp(1, MAX_QUEUE_DELAY_SECONDS);
                let mut next = job.clone();
                next.attempt += 1;
                self.requeue(next, i32::try_from(delay).unwrap_or(1), findings).await
            }
            Verdict::Final {
                findings,
                latency_seconds,
            } => {
                let key = format!("verdict#{}", job.key());
                let work = self.publish_final(job, &findings, latency_seconds, now);
                self.publish_once(&key, now, work, findings.clone(), latency_seconds)
                    .await
            }
        }
    }

    /// Runs `work` (the publishing of a final result) once per `key`: another job for the same deprovision (the
    /// hook's and the sweep's, or a redelivered message) finds the key taken and publishes nothing. If `work`
    /// fails, the key is released; if the function dies mid-way, the claim's lease runs out before the message is
    /// redelivered. Either way the retry publishes.
    async fn publish_once(
        &self,
        key: &str,
        now: DateTime<Utc>,
        work: impl std::future::Future<Output = Result<()>>,
        findings: Vec<Finding>,
        latency_seconds: Option<i64>,
    ) -> Result<CheckOutcome> {
        let lease_until = now + Duration::seconds(LEDGER_LEASE_SECONDS);
        let keep_until = now + Duration::days(LEDGER_RETENTION_DAYS);
        if !self.ledger.claim(key, now, lease_until, keep_until).await? {
            return Ok(CheckOutcome::NothingToVerify(
                "already published (or being published) by another job",
            ));
        }
        if let Err(e) = work.await {
            // Give the key back at once; if even that fails, the lease runs out before the message comes back.
            if let Err(release) = self.ledger.release(key).await {
                tracing::warn!(ledger_key = key, error = %release.causes(), "ledger key not released; its lease will expire");
            }
            return Err(e);
        }
        self.ledger.complete(key).await?;
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
        now: DateTime<Utc>,
    ) -> Result<()> {
        if job.kind != DeprovisionKind::GroupRemoved {
            let follow_up = VerificationJob {
                follow_up: true,
                ..job.clone()
            };
            let delay = i32::try_from(FOLLOW_UP_DELAY_SECONDS).unwrap_or(900);
            self.queue
                .enqueue(&[ScheduledJob {
                    job: follow_up,
                    delay_seconds: delay,
                }])
                .await?;
        }
        if !findings.is_empty() {
            self.notifier.publish(findings).await?;
        }
        if let Some(seconds) = latency_seconds {
            println!("{}", crate::metrics::propagation_latency(job.kind, seconds, now));
        }
        Ok(())
    }

    async fn requeue(&self, job: VerificationJob, delay_seconds: i32, published: Vec<Finding>) -> Result<CheckOutcome> {
        let attempt = job.attempt;
        self.queue.enqueue(&[ScheduledJob { job, delay_seconds }]).await?;
        Ok(CheckOutcome::Requeued {
            delay_seconds,
            attempt,
            published,
        })
    }

    /// Reads the System Log for deprovisions in the lookback window and queues a job for each, so one the hook
    /// missed (Okta hooks are best effort and capped per day) is still verified. Jobs carry the same keys as
    /// the hook's, so a deprovision seen by both yields the same finding ids.
    pub async fn sweep(&self, config: &CheckConfig, now: DateTime<Utc>) -> Result<SweepReport> {
        let query = LogQuery {
            since: now - config.sweep_lookback,
            until: now,
            event_types: watched_event_types(),
        };
        let events = self.directory.system_log(&query).await?;
        let selection = select_jobs(
            &events,
            Some(&config.aws_app_id),
            config.propagation_window,
            JobSource::SystemLogSweep,
        );
        let scheduled = ScheduledJob::until_due(&selection.jobs, now);
        if !scheduled.is_empty() {
            self.queue.enqueue(&scheduled).await?;
        }
        for unusable in &selection.unusable {
            tracing::warn!(event_uuid = %unusable.okta_event_id, event_type = %unusable.event_type,
                reason = unusable.reason, "System Log deprovision without a usable user");
        }
        let report = SweepReport {
            events_read: events.len(),
            jobs_queued: scheduled.len(),
            unusable: selection.unusable.len(),
        };
        tracing::info!(
            events_read = report.events_read,
            jobs_queued = report.jobs_queued,
            "System Log sweep done"
        );
        Ok(report)
    }
}

impl<D, I, A, N, Q, L> CheckPorts<D, I, A, N, Q, L>
where
    D: Directory,
    I: IdentityCenter,
    A: ActivityLog,
{
    /// Everything `judge` needs, read from Okta, Identity Center and CloudTrail.
    pub async fn observe(
        &self,
        config: &CheckConfig,
        job: &VerificationJob,
        now: DateTime<Utc>,
    ) -> Result<Observation> {
        let okta_user = self.directory.user(job.okta_user_id.as_str()).await?;
        let mut logins: Vec<String> = job.login.iter().cloned().collect();
        if let Some(user) = &okta_user {
            logins.push(user.login.to_string());
            logins.extend(user.email.clone());
        }
        // The account SCIM provisioned (by external id) first, then the logins.
        let mut lookups: Vec<UserLookup> = config
            .external_id_issuer
            .iter()
            .map(|issuer| UserLookup::ExternalId {
                issuer: issuer.clone(),
                id: job.okta_user_id.to_string(),
            })
            .collect();
        lookups.extend(login_lookups(config.login_mapping, &logins));
        let idc_user = self.find_idc_user(&lookups).await?;
        let mut seen = Observation {
            okta_status_now: okta_user.map(|u| u.status),
            ..Observation::default()
        };
        let Some(user) = idc_user else { return Ok(seen) };

        let groups = self.identity_center.groups_of(&user).await?;
        seen.access = self.effective_access(&user, &groups).await?;
        if let (DeprovisionKind::GroupRemoved, Some(group)) = (job.kind, &job.group_id) {
            let target = self.directory.group_push_target(&config.aws_app_id, group).await?;
            seen.removed_group = target.map(|idc_group_id| RemovedGroup {
                still_member: groups.contains(&idc_group_id),
                idc_group_id,
            });
        }
        let since = job.published - SCIM_CLOCK_SKEW;
        seen.scim_events = self
            .lookup(LookupAttribute::EventSource(SCIM_EVENT_SOURCE.into()), since, now)
            .await?
            .into_iter()
            .filter(|e| e.target_user_id.as_ref() == Some(&user.id))
            .collect();
        let mut activity = self
            .lookup(
                LookupAttribute::EventSource(PORTAL_EVENT_SOURCE.into()),
                job.published,
                now,
            )
            .await?;
        activity.extend(
            self.lookup(LookupAttribute::Username(user.user_name.clone()), job.published, now)
                .await?,
        );
        activity.retain(|e| e.is_by(&user.id, &user.user_name));
        seen.activity = activity;
        seen.idc_user = Some(user);
        Ok(seen)
    }

    async fn lookup(
        &self,
        attribute: LookupAttribute,
        start: DateTime<Utc>,
        end: DateTime<Utc>,
    ) -> Result<Vec<ActivityEvent>> {
        self.activity.lookup(&ActivityQuery { attribute, start, end }).await
    }

    /// Every lookup is tried, since they can find different accounts (an old one by login, the provisioned one
    /// by external id): a user who can still sign in wins, else the first found.
    async fn find_idc_user(&self, lookups: &[UserLookup]) -> Result<Option<IdcUser>> {
        let mut found: Vec<IdcUser> = Vec::new();
        for lookup in lookups {
            if let Some(user) = self.identity_center.find_user(lookup).await?
                && !found.iter().any(|u| u.id == user.id)
            {
                found.push(user);
            }
        }
        let enabled = found.iter().position(|u| u.status.can_sign_in());
        Ok(enabled
            .map(|i| found.swap_remove(i))
            .or_else(|| found.into_iter().next()))
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
        let kind = match user.status {
            crate::domain::OktaUserStatus::Deprovisioned => DeprovisionKind::Deactivated,
            crate::domain::OktaUserStatus::Suspended => DeprovisionKind::Suspended,
            _ => return Ok(None),
        };
        let at = since.or(user.status_changed).unwrap_or(now);
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
            && let Ok(job) = crate::domain::deprovision::job_for(&event, kind, Duration::zero(), JobSource::OnDemand)
        {
            return Ok(Some(job));
        }
        let okta_event_id = crate::domain::OktaEventId::parse(format!("status-{}", user.id))?;
        Ok(Some(VerificationJob {
            okta_event_id,
            event_type: format!("status {}", user.status.as_str()),
            kind,
            published: at,
            okta_user_id: user.id.clone(),
            login: Some(user.login.to_string()),
            app_id: None,
            group_id: None,
            check_after: at,
            source: JobSource::OnDemand,
            attempt: 0,
            follow_up: false,
        }))
    }
}

/// The mapped attribute first, then the other one, for every login Okta knows the person by; no repeats.
fn login_lookups(mapping: LoginMapping, logins: &[String]) -> Vec<UserLookup> {
    let mut lookups: Vec<UserLookup> = Vec::new();
    for login in logins {
        let (first, second) = match mapping {
            LoginMapping::UserName => (UserLookup::UserName(login.clone()), UserLookup::Email(login.clone())),
            LoginMapping::Email => (UserLookup::Email(login.clone()), UserLookup::UserName(login.clone())),
        };
        for lookup in [first, second] {
            if !lookups.contains(&lookup) {
                lookups.push(lookup);
            }
        }
    }
    lookups
}

fn effective(a: crate::domain::AccountAssignment, via_group: Option<crate::domain::IdcGroupId>) -> EffectiveAssignment {
    EffectiveAssignment {
        account_id: a.account_id,
        permission_set_arn: a.permission_set_arn,
        permission_set_name: None,
        session_duration: None,
        via_group,
    }
}

fn log_outcome(job: &VerificationJob, outcome: &CheckOutcome) {
    let (event_uuid, user) = (job.okta_event_id.as_str(), job.okta_user_id.as_str());
    match outcome {
        CheckOutcome::Requeued {
            delay_seconds, attempt, ..
        } => {
            tracing::info!(
                event_uuid,
                okta_user_id = user,
                delay_seconds,
                attempt,
                "not propagated yet; re-queued"
            )
        }
        CheckOutcome::Published {
            findings,
            latency_seconds,
        } => {
            let ids: Vec<&str> = findings.iter().map(|f| f.finding_id.as_str()).collect();
            tracing::info!(event_uuid, okta_user_id = user, ?latency_seconds, finding_ids = ?ids, "verdict published")
        }
        CheckOutcome::NothingToVerify(reason) => {
            tracing::info!(event_uuid, okta_user_id = user, reason, "nothing to verify")
        }
    }
}

/// The production ports.
pub type ProductionPorts = CheckPorts<
    crate::okta::OktaClient,
    crate::aws::IdentityCenterClient,
    crate::aws::CloudTrailActivityLog,
    crate::aws::SnsNotifier,
    crate::aws::SqsJobQueue,
    crate::aws::DynamoDbVerdictLedger,
>;

/// The production read ports, without a notifier or queue: what on-demand checks and snapshots need.
pub type ReadPorts = CheckPorts<
    crate::okta::OktaClient,
    crate::aws::IdentityCenterClient,
    crate::aws::CloudTrailActivityLog,
    (),
    (),
    (),
>;

impl ReadPorts {
    /// Okta credentials read, the Identity Center instance given or found (ListInstances).
    pub async fn connect_readers(
        okta: &crate::config::OktaSettings,
        idc_instance: Option<&crate::domain::IdcInstance>,
        sdk: &aws_config::SdkConfig,
    ) -> Result<Self> {
        let directory = crate::okta::OktaClient::new(okta.client_config(sdk).await?)?;
        let identity_center = match idc_instance {
            Some(instance) => crate::aws::IdentityCenterClient::new(sdk, instance.clone()),
            None => crate::aws::IdentityCenterClient::discover(sdk).await?,
        };
        let activity = crate::aws::CloudTrailActivityLog::new(sdk);
        Ok(CheckPorts {
            directory,
            identity_center,
            activity,
            notifier: (),
            queue: (),
            ledger: (),
        })
    }
}

impl ProductionPorts {
    /// Builds every adapter once, at cold start.
    pub async fn connect(
        settings: &crate::config::PropagationCheckSettings,
        sdk: &aws_config::SdkConfig,
    ) -> Result<Self> {
        let readers = ReadPorts::connect_readers(&settings.okta, settings.idc_instance.as_ref(), sdk).await?;
        Ok(Self {
            directory: readers.directory,
            identity_center: readers.identity_center,
            activity: readers.activity,
            notifier: crate::aws::SnsNotifier::new(sdk, settings.topic_arn.clone()),
            queue: crate::aws::SqsJobQueue::new(sdk, settings.queue_url.clone()),
            ledger: crate::aws::DynamoDbVerdictLedger::new(sdk, settings.verdict_table.clone()),
        })
    }
}
