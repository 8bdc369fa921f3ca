//! AWS adapters: Identity Center (identity store + sso-admin + Organizations), CloudTrail, SNS.
