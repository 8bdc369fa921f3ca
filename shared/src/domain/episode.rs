//! Episodes: the Okta events of one offboarding of one person (deactivate, suspend, push failure,
//! delete.initiated, unassignment — within the maximum window) are one incident with one verdict. Re-checks and
//! duplicate deliveries join the episode; a later incident starts a new one, so its findings get new ids.
//! Pure: the ledger stores episodes, this decides who joins.

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

use super::deprovision::{DeprovisionKind, VerificationJob};

/// What one verdict is about. A suspension and a deactivation of the same offboarding are two questions (a
/// policy one and a propagation one), each answered once; a group removal is its own question per group.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum VerdictScope {
    /// Deactivation, deletion, app unassignment, push failure: did the person lose AWS access?
    Deprovision,
    /// Suspension: Okta keeps assignments; is the person still enabled?
    Suspension,
    /// Out of one Okta group: did the pushed membership go?
    GroupRemoval(String),
}

impl VerdictScope {
    pub fn of(job: &VerificationJob) -> Self {
        match job.kind {
            DeprovisionKind::Suspended => Self::Suspension,
            DeprovisionKind::GroupRemoved => {
                Self::GroupRemoval(job.group_id.as_ref().map(ToString::to_string).unwrap_or_default())
            }
            _ => Self::Deprovision,
        }
    }

    /// The ledger key of the person's episode in this scope: `episode#<okta user>#<scope>`.
    pub fn episode_key(&self, job: &VerificationJob) -> String {
        let scope = match self {
            Self::Deprovision => "deprovision".to_owned(),
            Self::Suspension => "suspension".to_owned(),
            Self::GroupRemoval(group) => format!("group:{group}"),
        };
        format!("episode#{}#{scope}", job.okta_user_id)
    }
}

/// An episode as the ledger holds it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EpisodeState {
    /// The key of the job that opened it (`<event uuid>:<okta user id>`): part of every finding id.
    pub episode_id: String,
    pub first_event: DateTime<Utc>,
    pub last_event: DateTime<Utc>,
    /// When its verdict was published: events after that are a new incident.
    pub closed_at: Option<DateTime<Utc>>,
}

impl EpisodeState {
    pub fn open(job: &VerificationJob) -> Self {
        Self {
            episode_id: job.key(),
            first_event: job.published,
            last_event: job.published,
            closed_at: None,
        }
    }

    /// Does an event published at `at` belong to this episode? Within `window` of its events (either side: Okta
    /// delivers out of order), and not after its verdict.
    pub fn admits(&self, at: DateTime<Utc>, window: Duration) -> bool {
        let after_verdict = self.closed_at.is_some_and(|closed| at > closed);
        !after_verdict && at >= self.first_event - window && at <= self.last_event + window
    }

    /// The episode after `job` arrived: joined (its span widened), a new one, or — for an event older than the
    /// person's current episode (a past incident, delivered late) — the current one unchanged: a late event never
    /// replaces a live episode. See `is_past_incident`.
    pub fn admit(existing: Option<&Self>, job: &VerificationJob, window: Duration) -> Self {
        match existing {
            Some(episode) if episode.admits(job.published, window) => Self {
                first_event: episode.first_event.min(job.published),
                last_event: episode.last_event.max(job.published),
                ..episode.clone()
            },
            Some(episode) if job.published < episode.first_event => episode.clone(),
            _ => Self::open(job),
        }
    }

    /// `job` is an event of an incident before this episode: nothing to verify now.
    pub fn is_past_incident(&self, job: &VerificationJob, window: Duration) -> bool {
        !self.admits(job.published, window) && job.published < self.first_event
    }
}

/// Groups jobs into episodes the way the ledger would, for a snapshot's replay: per person and scope, in time
/// order. Returns each episode's first job (the one judged) with the episode id.
pub fn episodes_of(jobs: &[VerificationJob], window: Duration) -> Vec<(VerificationJob, String)> {
    let mut sorted: Vec<&VerificationJob> = jobs.iter().collect();
    sorted.sort_by_key(|j| j.published);
    let mut open: Vec<(String, EpisodeState, VerificationJob)> = Vec::new();
    let mut done: Vec<(VerificationJob, String)> = Vec::new();
    for job in sorted {
        let key = VerdictScope::of(job).episode_key(job);
        match open.iter_mut().find(|(k, _, _)| k == &key) {
            Some((_, episode, _)) if episode.admits(job.published, window) => {
                *episode = EpisodeState::admit(Some(episode), job, window);
            }
            Some(slot) => {
                let (_, episode, first) = std::mem::replace(slot, (key, EpisodeState::open(job), job.clone()));
                done.push((first, episode.episode_id));
            }
            None => open.push((key, EpisodeState::open(job), job.clone())),
        }
    }
    done.extend(open.into_iter().map(|(_, episode, first)| (first, episode.episode_id)));
    done
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{JobSource, OktaEventId, OktaUserId};

    fn job(uuid: &str, kind: DeprovisionKind, minutes: i64) -> VerificationJob {
        let at: DateTime<Utc> = "2026-11-20T09:00:00Z".parse().unwrap();
        VerificationJob {
            okta_event_id: OktaEventId::parse(uuid).unwrap(),
            event_type: "user.lifecycle.deactivate".into(),
            kind,
            published: at + Duration::minutes(minutes),
            okta_user_id: OktaUserId::parse("00u1").unwrap(),
            login: None,
            app_id: None,
            group_id: None,
            check_after: at,
            source: JobSource::EventHook,
            attempt: 0,
            follow_up: false,
            watch: None,
            app_user_name: None,
            episode_id: None,
            chain_token: None,
            chain_step: 0,
        }
    }

    #[test]
    fn events_of_one_offboarding_join_and_a_later_incident_opens_a_new_episode() {
        let window = Duration::minutes(60);
        let deactivate = job("e1", DeprovisionKind::Deactivated, 0);
        let episode = EpisodeState::admit(None, &deactivate, window);
        assert_eq!(episode.episode_id, deactivate.key());
        let push_failed = job("e2", DeprovisionKind::PushFailed, 3);
        let joined = EpisodeState::admit(Some(&episode), &push_failed, window);
        assert_eq!(joined.episode_id, episode.episode_id);
        let earlier = job("e0", DeprovisionKind::DeleteInitiated, -10);
        assert!(
            joined.admits(earlier.published, window),
            "out of order, still the same offboarding"
        );
        let months_later = job("e9", DeprovisionKind::Deactivated, 60 * 24 * 90);
        assert_ne!(
            EpisodeState::admit(Some(&joined), &months_later, window).episode_id,
            episode.episode_id
        );
    }

    #[test]
    fn a_late_event_of_a_past_incident_never_replaces_the_live_episode() {
        let window = Duration::minutes(60);
        let live = EpisodeState::open(&job("e5", DeprovisionKind::Deactivated, 60 * 24 * 30));
        let old = job("e1", DeprovisionKind::Deactivated, 0);
        let after = EpisodeState::admit(Some(&live), &old, window);
        assert_eq!(after, live);
        assert!(after.is_past_incident(&old, window));
    }

    #[test]
    fn an_event_after_the_verdict_is_a_new_incident() {
        let window = Duration::minutes(60);
        let mut episode = EpisodeState::open(&job("e1", DeprovisionKind::Deactivated, 0));
        episode.closed_at = Some(episode.first_event + Duration::minutes(15));
        assert!(episode.admits(episode.first_event + Duration::minutes(10), window));
        assert!(!episode.admits(episode.first_event + Duration::minutes(20), window));
    }

    #[test]
    fn a_snapshot_groups_jobs_per_person_and_scope() {
        let jobs = [
            job("e1", DeprovisionKind::Deactivated, 0),
            job("e2", DeprovisionKind::PushFailed, 2),
            job("e3", DeprovisionKind::DeleteInitiated, 30),
            job("e4", DeprovisionKind::Suspended, 1),
            job("e5", DeprovisionKind::Deactivated, 60 * 24 * 30),
        ];
        let episodes = episodes_of(&jobs, Duration::minutes(60));
        let ids: Vec<&str> = episodes.iter().map(|(_, id)| id.as_str()).collect();
        assert_eq!(ids.len(), 3, "{ids:?}");
        assert!(ids.contains(&"e1:00u1") && ids.contains(&"e4:00u1") && ids.contains(&"e5:00u1"));
    }
}
