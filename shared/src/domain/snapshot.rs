//! Everything the rules look at, collected in one place: both sides of the org and recent activity.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::activity::ActivityEvent;
use super::idc::{AccountAssignment, IdcGroup, IdcInstance, IdcUser, PermissionSet};
use super::ids::{AccountId, PermissionSetArn};
use super::okta::{OktaApp, OktaGroup, OktaLogEvent, OktaUser};

pub const SNAPSHOT_SCHEMA_VERSION: u32 = 1;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OrgSnapshot {
    pub schema_version: u32,
    pub collected_at: DateTime<Utc>,
    pub okta: OktaSide,
    pub idc: IdcSide,
    /// CloudTrail activity in the window the snapshot covers.
    #[serde(default)]
    pub activity: Vec<ActivityEvent>,
    /// Where `activity` starts: the earliest time its CloudTrail read covers (`None`: not known, e.g. an older
    /// snapshot file). The access review's inactivity rule says how far back it could see.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub activity_since: Option<DateTime<Utc>>,
    /// `false`: a CloudTrail read stopped at its page or time cap. The reads go newest first, so the activity is
    /// whole only from `activity_since` on, which is then the latest of the capped reads' earliest events, not the
    /// window's start. A snapshot file without the field was read whole.
    #[serde(default = "read_whole", skip_serializing_if = "is_whole")]
    pub activity_complete: bool,
    /// Each user's latest sign-in or role credentials in identity-center-watch's activity record, and since when
    /// the record reaches (`None`: no record read).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recorded_uses: Option<super::activity_record::RecordedUses>,
}

fn read_whole() -> bool {
    true
}

fn is_whole(complete: &bool) -> bool {
    *complete
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OktaSide {
    /// `https://{yourOktaDomain}`
    pub org_url: String,
    pub users: Vec<OktaUser>,
    #[serde(default)]
    pub groups: Vec<OktaGroup>,
    pub app: OktaApp,
    /// System Log deprovisioning events in the snapshot's window, replayed through the propagation verdict.
    #[serde(default)]
    pub deprovisions: Vec<OktaLogEvent>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IdcSide {
    pub instance: IdcInstance,
    pub users: Vec<IdcUser>,
    #[serde(default)]
    pub groups: Vec<IdcGroup>,
    #[serde(default)]
    pub permission_sets: Vec<PermissionSet>,
    /// Accounts the organization has (whether or not anything is provisioned to them).
    #[serde(default)]
    pub accounts: Vec<AccountId>,
    #[serde(default)]
    pub assignments: Vec<AccountAssignment>,
    /// Per permission set, the accounts it is provisioned to (assigned there or not), in permission-set order.
    #[serde(default)]
    pub provisioned: Vec<Provisioning>,
}

/// The accounts one permission set is provisioned to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Provisioning {
    pub permission_set_arn: PermissionSetArn,
    pub accounts: Vec<AccountId>,
}
