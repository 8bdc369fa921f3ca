//! The local test world.

pub mod okta_fake;
