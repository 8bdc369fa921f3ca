//! Builds an org snapshot from the three read ports: the inventory (`crate::inventory`) run in one process. All
//! I/O of an audit happens there or in publishing.

use chrono::{DateTime, Utc};

use crate::domain::OrgSnapshot;
use crate::error::Result;
use crate::inventory::ShardBudget;
pub use crate::inventory::{CollectOptions, PORTAL_EVENT_SOURCE};
use crate::ports::{ActivityLog, Directory, IdentityCenter};

/// Reads both sides and the activity that matters into one snapshot (`inventory::collect_snapshot`, shards of
/// `ShardBudget::documented()`: in one process the shards' size changes nothing but how the work is cut).
pub async fn collect_snapshot(
    directory: &impl Directory,
    identity_center: &impl IdentityCenter,
    activity_log: &impl ActivityLog,
    options: &CollectOptions,
    now: DateTime<Utc>,
) -> Result<OrgSnapshot> {
    crate::inventory::collect_snapshot(
        directory,
        identity_center,
        activity_log,
        options,
        now,
        ShardBudget::documented(),
    )
    .await
}
