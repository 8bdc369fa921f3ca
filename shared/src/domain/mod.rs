//! Domain types: pure data, no I/O, no SDK types.

pub mod activity;
pub mod activity_record;
pub mod archived_verdict;
pub mod certificate;
pub mod deprovision;
pub mod episode;
pub mod finding;
pub mod idc;
pub mod idc_event;
pub mod idc_index;
pub mod identity;
pub mod ids;
pub mod okta;
pub mod review;
pub mod snapshot;

pub use activity::ActivityEvent;
pub use deprovision::{DeprovisionKind, JobSource, VerificationJob};
pub use finding::{Evidence, Finding, FindingId, Rule, Severity, Subject};
pub use idc::{
    AccountAssignment, EffectiveAssignment, ExternalId, IdcGroup, IdcInstance, IdcUser, IdcUserStatus, PermissionSet,
    Principal,
};
pub use idc_event::{ApiCall, RequestFields, ScimTokenNotice, WatchEvent};
pub use idc_index::IdcIndex;
pub use identity::{
    IdentityLinks, LinkBasis, LinkCandidate, LinkKey, LinkPolicy, LinkedAccount, LoginMapping, PersonLinks,
    PersonRecord, RememberedLink, link_candidates,
};
pub use ids::{
    AccountId, IdcGroupId, IdcUserId, IdentityStoreId, InstanceArn, OktaAppId, OktaEventId, OktaGroupId, OktaLogin,
    OktaUserId, PermissionSetArn,
};
pub use okta::{
    AppUser, AppUserStatus, GroupPushMapping, LogTarget, OktaApp, OktaGroup, OktaLogEvent, OktaUser, OktaUserStatus,
    PushMappingStatus, SigningKey, SyncState,
};
pub use snapshot::{IdcSide, OktaSide, OrgSnapshot, Provisioning, SNAPSHOT_SCHEMA_VERSION};
