//! The org-wide activity source the checker is built with, chosen by `ACTIVITY_SOURCE` at cold start: Athena over
//! the organization trail, CloudTrail Lake, or LookupEvents in each member account — or none (member accounts are
//! not watched, and the findings say so).

use aws_config::SdkConfig;

use crate::config::Env;
use crate::error::{Error, Result};
use crate::ports::{OrgActivity, UseQuery, UseRead};

use super::{AthenaActivity, AthenaSettings, LakeActivity, LakeSettings, MemberActivitySettings, MemberLookupActivity};

/// The chosen source's settings, read and checked from the environment at cold start.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OrgActivitySettings {
    /// `ACTIVITY_SOURCE` unset or `none`.
    None,
    Athena(AthenaSettings),
    Lake(LakeSettings),
    MemberLookup(MemberActivitySettings),
}

impl OrgActivitySettings {
    /// The source `ACTIVITY_SOURCE` names, with its own settings. An unknown name, or a known one whose settings are
    /// missing, is a configuration error naming the variable (never a silent "not watched").
    pub fn from_env(env: &impl Env) -> Result<Self> {
        match crate::config::optional(env, "ACTIVITY_SOURCE")
            .as_deref()
            .map(str::trim)
        {
            None | Some("") | Some("none") => Ok(Self::None),
            Some("athena") => Ok(Self::Athena(AthenaSettings::from_env(env)?)),
            Some("cloudtrail-lake") => Ok(Self::Lake(LakeSettings::from_env(env)?)),
            Some("member-lookup") => Ok(Self::MemberLookup(MemberActivitySettings::from_env(env)?)),
            Some(_) => Err(Error::config(
                "ACTIVITY_SOURCE",
                "must be one of none, athena, cloudtrail-lake, member-lookup",
            )),
        }
    }
}

#[derive(Debug)]
pub enum OrgActivitySource {
    None,
    Athena(AthenaActivity),
    Lake(LakeActivity),
    // Boxed: the member-lookup adapter (clients and credentials per account) is far larger than the others.
    MemberLookup(Box<MemberLookupActivity>),
}

impl OrgActivitySource {
    /// Builds the configured adapter once, at cold start.
    pub fn new(sdk: &SdkConfig, settings: &OrgActivitySettings) -> Self {
        match settings {
            OrgActivitySettings::None => Self::None,
            OrgActivitySettings::Athena(s) => Self::Athena(AthenaActivity::new(sdk, s.clone())),
            OrgActivitySettings::Lake(s) => Self::Lake(LakeActivity::new(sdk, s.clone())),
            OrgActivitySettings::MemberLookup(s) => {
                Self::MemberLookup(Box::new(MemberLookupActivity::new(sdk, s.clone())))
            }
        }
    }
}

impl OrgActivity for OrgActivitySource {
    fn source(&self) -> &'static str {
        match self {
            Self::None => ().source(),
            Self::Athena(a) => a.source(),
            Self::Lake(a) => a.source(),
            Self::MemberLookup(a) => a.source(),
        }
    }

    async fn use_of_aws(&self, query: &UseQuery) -> Result<UseRead> {
        match self {
            Self::None => ().use_of_aws(query).await,
            Self::Athena(a) => a.use_of_aws(query).await,
            Self::Lake(a) => a.use_of_aws(query).await,
            Self::MemberLookup(a) => a.use_of_aws(query).await,
        }
    }

    fn watches(&self) -> bool {
        match self {
            Self::None => ().watches(),
            Self::Athena(a) => a.watches(),
            Self::Lake(a) => a.watches(),
            Self::MemberLookup(a) => a.watches(),
        }
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

    #[test]
    fn no_source_unless_one_is_named() {
        assert_eq!(
            OrgActivitySettings::from_env(&env(&[])).ok(),
            Some(OrgActivitySettings::None)
        );
        assert_eq!(
            OrgActivitySettings::from_env(&env(&[("ACTIVITY_SOURCE", "none")])).ok(),
            Some(OrgActivitySettings::None)
        );
    }

    #[test]
    fn an_unknown_source_or_a_source_without_its_settings_is_refused() {
        let unknown = OrgActivitySettings::from_env(&env(&[("ACTIVITY_SOURCE", "splunk")]));
        assert!(unknown.is_err_and(|e| e.to_string().contains("ACTIVITY_SOURCE")));
        assert!(OrgActivitySettings::from_env(&env(&[("ACTIVITY_SOURCE", "athena")])).is_err());
        assert!(OrgActivitySettings::from_env(&env(&[("ACTIVITY_SOURCE", "cloudtrail-lake")])).is_err());
    }

    #[test]
    fn athena_is_chosen_with_its_table() {
        let chosen = OrgActivitySettings::from_env(&env(&[
            ("ACTIVITY_SOURCE", "athena"),
            ("ATHENA_DATABASE", "cloudtrail"),
            ("ATHENA_TABLE", "org_trail"),
            ("ATHENA_WORKGROUP", "deprov-audit"),
        ]));
        assert!(matches!(chosen, Ok(OrgActivitySettings::Athena(_))), "{chosen:?}");
    }
}
