//! Identifiers that parse: a value of one of these types has been checked once, at the edge.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::error::Error;

macro_rules! identifier {
    ($(#[$doc:meta])* $name:ident, $what:literal, $check:expr) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(try_from = "String", into = "String")]
        pub struct $name(String);

        impl $name {
            /// Parses `value`, or says what is wrong with it.
            pub fn parse(value: impl Into<String>) -> Result<Self, Error> {
                let value: String = value.into();
                let check: fn(&str) -> Result<(), &'static str> = $check;
                match check(&value) {
                    Ok(()) => Ok(Self(value)),
                    Err(reason) => Err(Error::Invalid { what: $what, value: printable(&value), reason }),
                }
            }

            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl TryFrom<String> for $name {
            type Error = Error;
            fn try_from(value: String) -> Result<Self, Error> {
                Self::parse(value)
            }
        }

        impl From<$name> for String {
            fn from(value: $name) -> String {
                value.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }
    };
}

/// At most 64 characters of a rejected value go into an error message, never more.
fn printable(value: &str) -> String {
    value.chars().take(64).collect()
}

fn okta_id(value: &str) -> Result<(), &'static str> {
    if value.is_empty() || value.len() > 64 {
        return Err("must be 1 to 64 characters");
    }
    if !value.chars().all(|c| c.is_ascii_alphanumeric()) {
        return Err("must be letters and digits only");
    }
    Ok(())
}

fn identity_store_object_id(value: &str) -> Result<(), &'static str> {
    if value.is_empty() || value.len() > 47 {
        return Err("must be 1 to 47 characters");
    }
    if !value.chars().all(|c| c.is_ascii_alphanumeric() || c == '-') {
        return Err("must be letters, digits and '-' only");
    }
    Ok(())
}

fn login(value: &str) -> Result<(), &'static str> {
    if value.trim().is_empty() {
        return Err("must not be empty");
    }
    if value.len() > 256 {
        return Err("must be at most 256 characters");
    }
    if value.chars().any(char::is_control) {
        return Err("must not contain control characters");
    }
    Ok(())
}

identifier!(
    /// An Okta user id (`00u…`).
    OktaUserId,
    "Okta user id",
    okta_id
);
identifier!(
    /// An Okta group id (`00g…`).
    OktaGroupId,
    "Okta group id",
    okta_id
);
identifier!(
    /// An Okta app instance id (`0oa…`).
    OktaAppId,
    "Okta app id",
    okta_id
);
identifier!(
    /// An Okta login (usually an email address, but Okta does not require one).
    OktaLogin,
    "Okta login",
    login
);
identifier!(
    /// An Identity Center (identity store) user id.
    IdcUserId,
    "Identity Center user id",
    identity_store_object_id
);
identifier!(
    /// An Identity Center (identity store) group id.
    IdcGroupId,
    "Identity Center group id",
    identity_store_object_id
);
identifier!(
    /// An Okta System Log event uuid: the identity of one deprovisioning.
    OktaEventId,
    "Okta event id",
    |value| {
        if value.is_empty() || value.len() > 128 {
            return Err("must be 1 to 128 characters");
        }
        if !value.chars().all(|c| c.is_ascii_alphanumeric() || "-_.@".contains(c)) {
            return Err("must be letters, digits and -_.@ only");
        }
        Ok(())
    }
);
identifier!(
    /// A 12-digit AWS account id.
    AccountId,
    "AWS account id",
    |value| {
        if value.len() == 12 && value.chars().all(|c| c.is_ascii_digit()) {
            Ok(())
        } else {
            Err("must be exactly 12 digits")
        }
    }
);
identifier!(
    /// `arn:aws:sso:::permissionSet/ssoins-…/ps-…`
    PermissionSetArn,
    "permission set ARN",
    |value| {
        if value.starts_with("arn:") && value.contains(":permissionSet/") && value.len() <= 1224 {
            Ok(())
        } else {
            Err("must look like arn:aws:sso:::permissionSet/ssoins-…/ps-…")
        }
    }
);
identifier!(
    /// `arn:aws:sso:::instance/ssoins-…`
    InstanceArn,
    "Identity Center instance ARN",
    |value| {
        if value.starts_with("arn:") && value.contains(":instance/") && value.len() <= 1224 {
            Ok(())
        } else {
            Err("must look like arn:aws:sso:::instance/ssoins-…")
        }
    }
);
identifier!(
    /// `d-…`: the identity store behind an Identity Center instance.
    IdentityStoreId,
    "identity store id",
    |value| {
        if value.is_empty() || value.len() > 36 {
            return Err("must be 1 to 36 characters");
        }
        if !value.chars().all(|c| c.is_ascii_alphanumeric() || c == '-') {
            return Err("must be letters, digits and '-' only");
        }
        Ok(())
    }
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn account_ids_are_twelve_digits() {
        assert!(AccountId::parse("111122223333").is_ok());
        assert!(AccountId::parse("11112222333").is_err());
        assert!(AccountId::parse("11112222333x").is_err());
    }

    #[test]
    fn okta_ids_reject_path_characters() {
        assert!(OktaUserId::parse("00u3m90rxKjGQ0G6L1d6").is_ok());
        assert!(OktaUserId::parse("../admin").is_err());
        assert!(OktaUserId::parse("").is_err());
    }

    #[test]
    fn rejected_values_are_cut_short_in_errors() {
        let long = "x".repeat(500);
        let message = AccountId::parse(long).map(|_| ()).unwrap_err().to_string();
        assert!(message.len() < 200, "{message}");
    }

    #[test]
    fn identifiers_deserialize_through_their_parser() {
        let ok: Result<AccountId, _> = serde_json::from_str("\"111122223333\"");
        assert!(ok.is_ok());
        let bad: Result<AccountId, _> = serde_json::from_str("\"12\"");
        assert!(bad.is_err());
    }
}
