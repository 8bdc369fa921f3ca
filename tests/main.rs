//! The one integration-test binary.

// The Okta adapter against the local Okta fake.
mod okta_directory;
