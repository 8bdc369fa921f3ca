//! The one integration-test binary.

// IdentityCenterClient against an org seeded into moto.
mod identity_center;
