//! Handlers: turn a trigger's payload into domain calls and the result into the trigger's answer.
//! The functions in `functions/*` only build adapters and call these.

pub mod access_review;
pub mod cert_monitor;
pub mod identity_center_watch;
pub mod okta_hook;
pub mod propagation_check;
pub mod revoke;
pub mod system_log_sweep;
