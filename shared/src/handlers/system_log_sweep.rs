//! The System Log sweep: the backstop for deprovisions the event hook never delivered (Okta's hooks are best
//! effort and capped per day). Each run polls the System Log from where the previous run stopped (a cursor kept in
//! the ledger table), queues a verification job per deprovision, and only then moves the cursor on — so a run that
//! fails is read again by the next, and no event is read by two runs that both succeed.

use chrono::{DateTime, Duration, Utc};
use serde::Serialize;

use crate::domain::JobSource;
use crate::domain::OktaAppId;
use crate::domain::deprovision::{select_jobs, watched_event_types};
use crate::error::{Error, Result};
use crate::ports::{Directory, JobQueue, LogCursor, SweepCursor};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SweepConfig {
    /// Deprovisions about other apps are not queued.
    pub aws_app_id: OktaAppId,
    /// A job is checked this long after its event.
    pub propagation_window: Duration,
    /// The first run (no stored cursor) reads events published this long before it.
    pub first_run_lookback: Duration,
    /// At most this many System Log pages per run (at least 1); a run that reaches it leaves the rest to the next.
    pub max_pages: usize,
}

/// What one run did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SweepReport {
    pub events_read: usize,
    pub jobs_queued: usize,
    pub unusable: usize,
    /// `true`: read up to now. `false`: stopped at the page cap; the next run continues from the saved cursor.
    pub caught_up: bool,
    /// `false` on a first run, which started from the lookback.
    pub resumed: bool,
}

/// One run: load the cursor (none: `now - first_run_lookback`), poll at most `max_pages`, queue the jobs, then save
/// the cursor. If the queue refuses, nothing is saved and the error is returned: the next run reads the same
/// events again, and their jobs carry the same keys, so what a partial enqueue already queued is harmless.
pub async fn sweep(
    directory: &impl Directory,
    queue: &impl JobQueue,
    cursor: &impl SweepCursor,
    config: &SweepConfig,
    now: DateTime<Utc>,
) -> Result<SweepReport> {
    let stored = cursor.load().await?;
    let resumed = stored.is_some();
    let from = match stored {
        Some(stored) => LogCursor::Next(stored),
        None => LogCursor::Since(
            now.checked_sub_signed(config.first_run_lookback)
                .ok_or_else(|| Error::Invalid {
                    what: "sweep lookback",
                    value: config.first_run_lookback.to_string(),
                    reason: "reaches before the earliest representable time",
                })?,
        ),
    };
    let poll = directory
        .poll_system_log(&from, &watched_event_types(), config.max_pages)
        .await?;
    let selection = select_jobs(
        &poll.events,
        Some(&config.aws_app_id),
        config.propagation_window,
        JobSource::SystemLogSweep,
    );
    let scheduled = selection.scheduled(now);
    if !scheduled.is_empty() {
        queue.enqueue(&scheduled).await?;
    }
    cursor.save(&poll.next).await?;
    for unusable in &selection.unusable {
        tracing::warn!(event_uuid = %unusable.okta_event_id, event_type = %unusable.event_type,
            reason = unusable.reason, "System Log deprovision without a usable user");
    }
    let report = SweepReport {
        events_read: poll.events.len(),
        jobs_queued: scheduled.len(),
        unusable: selection.unusable.len(),
        caught_up: poll.complete,
        resumed,
    };
    if !report.caught_up {
        tracing::warn!(
            max_pages = config.max_pages,
            events_read = report.events_read,
            "System Log sweep stopped at its page cap; the next run continues from the saved cursor"
        );
    }
    tracing::info!(
        events_read = report.events_read,
        jobs_queued = report.jobs_queued,
        unusable = report.unusable,
        caught_up = report.caught_up,
        resumed = report.resumed,
        "System Log sweep done"
    );
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{LogTarget, OktaApp, OktaEventId, OktaLogEvent, OktaSide};
    use crate::in_memory::{FAKE_LOG_PAGE, FakeDirectory, InMemorySweepCursor, RecordingJobQueue};

    const APP: &str = "0oa1awsidc00000001";

    fn now() -> DateTime<Utc> {
        "2026-11-20T10:00:00Z".parse().expect("time")
    }

    fn config() -> SweepConfig {
        SweepConfig {
            aws_app_id: OktaAppId::parse(APP).expect("app id"),
            propagation_window: Duration::minutes(15),
            first_run_lookback: Duration::hours(1),
            max_pages: 3,
        }
    }

    /// A deactivation of user `00u…{n}`, published `minutes_ago` before `now()`.
    fn deactivation(n: usize, minutes_ago: i64) -> OktaLogEvent {
        OktaLogEvent {
            uuid: OktaEventId::parse(format!("00000000-0000-4000-8000-{n:012}")).expect("uuid"),
            event_type: "user.lifecycle.deactivate".into(),
            published: now() - Duration::minutes(minutes_ago),
            outcome: Some("SUCCESS".into()),
            targets: vec![LogTarget {
                id: format!("00u{n:017}"),
                kind: "User".into(),
                alternate_id: None,
            }],
        }
    }

    fn directory(log: Vec<OktaLogEvent>) -> FakeDirectory {
        FakeDirectory {
            okta: OktaSide {
                org_url: "https://acme.okta.com".into(),
                users: vec![],
                groups: vec![],
                app: OktaApp {
                    id: OktaAppId::parse(APP).expect("id"),
                    label: "AWS IAM Identity Center".into(),
                    app_users: vec![],
                    group_push_mappings: vec![],
                    signing_keys: vec![],
                },
                deprovisions: vec![],
            },
            log,
        }
    }

    fn keys(queue: &RecordingJobQueue) -> Vec<String> {
        queue.jobs().iter().map(|j| j.job.key()).collect()
    }

    #[tokio::test]
    async fn the_first_run_reads_the_lookback_and_the_next_only_what_came_after() {
        let (queue, cursor) = (RecordingJobQueue::default(), InMemorySweepCursor::default());
        let mut okta = directory(vec![deactivation(1, 120), deactivation(2, 30)]);
        let first = sweep(&okta, &queue, &cursor, &config(), now()).await.expect("a sweep");
        assert_eq!((first.events_read, first.jobs_queued, first.resumed), (1, 1, false));
        assert!(first.caught_up);
        // Stored later, though published before the first run: a polling read still finds it.
        okta.log.extend([deactivation(3, 5), deactivation(4, 45)]);
        let second = sweep(&okta, &queue, &cursor, &config(), now() + Duration::minutes(15))
            .await
            .expect("a sweep");
        assert_eq!((second.events_read, second.jobs_queued, second.resumed), (2, 2, true));
        let third = sweep(&okta, &queue, &cursor, &config(), now() + Duration::minutes(30))
            .await
            .expect("a sweep");
        assert_eq!(third.events_read, 0);
        assert_eq!(keys(&queue).len(), 3, "{:?}", keys(&queue));
    }

    #[tokio::test]
    async fn a_run_whose_enqueue_fails_keeps_the_cursor_and_the_next_run_queues_its_slice() {
        let (queue, cursor) = (RecordingJobQueue::default(), InMemorySweepCursor::default());
        let mut okta = directory(vec![deactivation(1, 30)]);
        sweep(&okta, &queue, &cursor, &config(), now()).await.expect("a sweep");
        let before = cursor.stored();
        okta.log.push(deactivation(2, 10));
        queue.refuse(true);
        let failed = sweep(&okta, &queue, &cursor, &config(), now()).await;
        assert!(failed.is_err(), "{failed:?}");
        assert_eq!(cursor.stored(), before, "a failed run leaves the cursor where it was");
        assert_eq!(cursor.saves(), 1);
        queue.refuse(false);
        let caught_up = sweep(&okta, &queue, &cursor, &config(), now()).await.expect("a sweep");
        assert_eq!(caught_up.jobs_queued, 1);
        assert_eq!(keys(&queue).len(), 2);
    }

    #[tokio::test]
    async fn a_run_at_its_page_cap_is_not_caught_up_and_the_next_continues() {
        let (queue, cursor) = (RecordingJobQueue::default(), InMemorySweepCursor::default());
        let log: Vec<OktaLogEvent> = (1..=FAKE_LOG_PAGE + 1).map(|n| deactivation(n, 30)).collect();
        let okta = directory(log);
        let capped = SweepConfig {
            max_pages: 1,
            ..config()
        };
        let first = sweep(&okta, &queue, &cursor, &capped, now()).await.expect("a sweep");
        assert_eq!((first.events_read, first.caught_up), (FAKE_LOG_PAGE, false));
        let second = sweep(&okta, &queue, &cursor, &capped, now()).await.expect("a sweep");
        assert_eq!((second.events_read, second.caught_up), (1, true));
        let mut queued = keys(&queue);
        queued.dedup();
        assert_eq!(queued.len(), FAKE_LOG_PAGE + 1);
    }
}
