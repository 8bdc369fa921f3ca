//! The one integration-test binary.

// CloudTrailActivityLog against LookupEvents served by the moto launcher.
mod activity_log;
// IdentityCenterClient against an org seeded into moto.
mod identity_center;
// SnsNotifier, read back through an SQS queue subscribed to the topic in moto.
mod sns_notifier;
