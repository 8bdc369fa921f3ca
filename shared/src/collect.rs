//! Builds an org snapshot from the three read ports. All I/O of an audit happens here or in publishing.

use chrono::{DateTime, Duration, Utc};

use crate::domain::deprovision::watched_event_types;
use crate::domain::{
    ActivityEvent, IdcSide, IdentityLinks, LinkPolicy, OktaAppId, OktaSide, OrgSnapshot, SNAPSHOT_SCHEMA_VERSION,
};
use crate::error::Result;
use crate::ports::{ActivityLog, ActivityQuery, Directory, IdentityCenter, LogQuery, LookupAttribute};

/// The access portal's event source: `Federate` (console) and `GetRoleCredentials` (CLI) carry the user id.
pub const PORTAL_EVENT_SOURCE: &str = "sso.amazonaws.com";

#[derive(Debug, Clone)]
pub struct CollectOptions {
    pub org_url: String,
    pub app_id: OktaAppId,
    /// How Okta people are linked to Identity Center users.
    pub links: LinkPolicy,
    /// How far back to read CloudTrail activity (LookupEvents keeps 90 days).
    pub activity_window: Duration,
}

/// Reads both sides and the activity that matters into one snapshot.
pub async fn collect_snapshot(
    directory: &impl Directory,
    identity_center: &impl IdentityCenter,
    activity_log: &impl ActivityLog,
    options: &CollectOptions,
    now: DateTime<Utc>,
) -> Result<OrgSnapshot> {
    let (okta, idc) = tokio::try_join!(collect_okta(directory, options, now), collect_idc(identity_center))?;
    let activity = collect_activity(activity_log, &okta, &idc, options, now).await?;
    Ok(OrgSnapshot {
        schema_version: SNAPSHOT_SCHEMA_VERSION,
        collected_at: now,
        okta,
        idc,
        activity,
        // The access review's inactivity rule says how far back the activity reaches (issue 10).
        activity_since: Some(now - options.activity_window),
    })
}

async fn collect_okta(directory: &impl Directory, options: &CollectOptions, now: DateTime<Utc>) -> Result<OktaSide> {
    let log = LogQuery {
        since: now - options.activity_window,
        until: now,
        event_types: watched_event_types(),
    };
    let (users, groups, app, deprovisions) = tokio::try_join!(
        directory.users(),
        directory.groups(),
        directory.app(&options.app_id),
        directory.system_log(&log)
    )?;
    Ok(OktaSide {
        org_url: options.org_url.clone(),
        users,
        groups,
        app,
        deprovisions,
    })
}

async fn collect_idc(identity_center: &impl IdentityCenter) -> Result<IdcSide> {
    let (users, groups, permission_sets, accounts) = tokio::try_join!(
        identity_center.users(),
        identity_center.groups(),
        identity_center.permission_sets(),
        identity_center.accounts(),
    )?;
    let assignments = identity_center.assignments(&accounts).await?;
    Ok(IdcSide {
        instance: identity_center.instance().clone(),
        users,
        groups,
        permission_sets,
        accounts,
        assignments,
    })
}

/// Portal activity in the window, plus role-session activity of every person Okta has deprovisioned or suspended
/// (looked up by user name, the role session name), deduplicated by CloudTrail event id.
async fn collect_activity(
    activity_log: &impl ActivityLog,
    okta: &OktaSide,
    idc: &IdcSide,
    options: &CollectOptions,
    now: DateTime<Utc>,
) -> Result<Vec<ActivityEvent>> {
    let start = now - options.activity_window;
    let mut queries = vec![ActivityQuery::new(
        LookupAttribute::EventSource(PORTAL_EVENT_SOURCE.to_owned()),
        start,
        now,
    )];
    let links = IdentityLinks::build(okta, idc, &options.links);
    for user in okta
        .users
        .iter()
        .filter(|u| u.status.is_deprovisioned() || u.status == crate::domain::OktaUserStatus::Suspended)
    {
        if let Some(idc_user) = links.idc_user_for(&user.id) {
            let since = user.status_changed.map_or(start, |t| t.max(start));
            queries.push(ActivityQuery::new(
                LookupAttribute::Username(idc_user.user_name.clone()),
                since,
                now,
            ));
        }
    }
    let mut events: Vec<ActivityEvent> = Vec::new();
    for query in &queries {
        let read = activity_log.lookup(query).await?;
        if !read.complete {
            tracing::warn!(
                pages = query.max_pages,
                "CloudTrail read stopped at its page cap: the snapshot's activity is partial"
            );
        }
        events.extend(read.events);
    }
    events.sort_by(|a, b| {
        a.event_time
            .cmp(&b.event_time)
            .then_with(|| a.event_id.cmp(&b.event_id))
    });
    events.dedup_by(|a, b| a.event_id == b.event_id);
    Ok(events)
}
