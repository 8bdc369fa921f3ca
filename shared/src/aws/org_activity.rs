//! The org-wide activity source the checker is built with, chosen by `ACTIVITY_SOURCE` at cold start.
//!
//! The slot for the production adapters (Athena over the organization trail, CloudTrail Lake, per-account
//! LookupEvents): each becomes a variant here, built in `OrgActivitySource::from_settings`, and dispatched in the
//! `OrgActivity` impl below. Until then only `None` exists: no source configured, member accounts not watched
//! (the findings say so).

use crate::error::{Error, Result};
use crate::ports::{OrgActivity, UseQuery, UseRead};

#[derive(Debug)]
pub enum OrgActivitySource {
    /// `ACTIVITY_SOURCE` unset or `none`.
    None,
}

impl OrgActivitySource {
    /// The source `ACTIVITY_SOURCE` names. Unknown names are a configuration error naming the variable (never a
    /// silent "not watched").
    pub fn from_setting(name: Option<&str>) -> Result<Self> {
        match name.map(str::trim) {
            None | Some("") | Some("none") => Ok(Self::None),
            Some(_) => Err(Error::config(
                "ACTIVITY_SOURCE",
                "must be `none` (this build has no other org-wide activity source yet)",
            )),
        }
    }
}

impl OrgActivity for OrgActivitySource {
    fn source(&self) -> &'static str {
        match self {
            Self::None => ().source(),
        }
    }

    async fn use_of_aws(&self, query: &UseQuery) -> Result<UseRead> {
        match self {
            Self::None => ().use_of_aws(query).await,
        }
    }

    fn watches(&self) -> bool {
        match self {
            Self::None => ().watches(),
        }
    }
}
