//! The local test world.
