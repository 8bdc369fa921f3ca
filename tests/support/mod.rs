//! The local test world.
#![forbid(unsafe_code)]

pub mod aws_front;
pub mod cloudtrail;
pub mod lambda_runtime;
pub mod ledger;
pub mod log_check;
pub mod member_trail;
pub mod moto;
pub mod okta_fake;
pub mod org_trail;
pub mod queues;
pub mod saml;
pub mod sandbox;
pub mod sdk_calls;
pub mod seed;
