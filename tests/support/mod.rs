//! The local test world.

pub mod cloudtrail;
pub mod moto;
pub mod sdk_calls;
pub mod seed;
