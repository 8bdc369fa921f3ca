//! deprov-audit core: proves that Okta deprovisioning reaches AWS IAM Identity Center.
//!
//! collect (adapters, I/O) → evaluate (pure rules over domain types) → publish (adapters, I/O).
//! A rule never calls an API; a handler never decides. The CLI, the Lambdas and the tests run this one engine.
#![forbid(unsafe_code)]

pub mod aws;
pub mod collect;
pub mod config;
pub mod domain;
pub mod error;
#[cfg(any(test, feature = "in-memory"))]
pub mod generated_org;
pub mod handlers;
pub mod hook_secret;
#[cfg(any(test, feature = "in-memory"))]
pub mod in_memory;
pub mod inventory;
pub mod metrics;
pub mod notify;
pub mod okta;
pub mod ports;
pub mod rate_limit;
pub mod report;
pub mod review_report;
pub mod rules;
pub mod saml;

pub use error::{Error, Result};
