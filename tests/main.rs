//! The one integration-test binary.
#![forbid(unsafe_code)]

// hook → SQS (visibility timeout, DLQ) → checker as Lambda's event source mapping drives it: a checker killed mid-batch;
// a burst of deliveries with duplicates, out of order, the sweep alongside (one verdict per episode).
mod burst;
// CloudTrailActivityLog against LookupEvents served by the moto launcher.
mod activity_log;
// AthenaActivity: its query run in DuckDB over org-trail log files in moto S3, behind moto's Athena API.
mod athena_activity;
// The access review: rules, lifecycle, suppression, diff; state in moto S3, findings on moto SNS read back.
mod access_review;
// The sharded review: plan → each shard → merge through the handler, as the state machine sends them; the CLI's
// review --report-dir.
mod access_review_sharded;
// collect_snapshot over every real adapter, then the rules on the snapshot.
mod collect;
// cert-monitor: the Okta fake serving keys with real x5c, moto IAM serving SAML providers, deploy and member accounts.
mod cert_monitor;
// The propagation-check binary's Lambda errors: a stable errorType, the causes, no payload.
mod function_errors;
// Every log line of the hook → queue → check → SNS and sweep flows, and the rule every binary run checks its
// captured output with: no secret, login, e-mail, name or payload.
mod log_capture;
// IdentityCenterClient and the propagation checker in a delegated administrator account of an org in moto.
mod delegated_admin;
// IdentityCenterClient against an org seeded into moto.
mod identity_center;
// MemberLookupActivity: member accounts' LookupEvents in moto through a role assumed there, per Region.
mod member_activity;
// LakeActivity: its query run in DuckDB over events seeded into a CloudTrail Lake store in the moto launcher.
mod lake_activity;
// The review's inventory: fewest calls, shard + merge = one run, rate limits on a front that throttles like AWS.
mod inventory;
// template.yaml's grants per function against the AWS operations its code can call (both directions); the member
// role templates' trust and actions.
mod least_privilege;
// The Okta adapter against the local Okta fake.
mod okta_directory;
// identity-center-watch with events/identity-center-watch/, findings to SNS in moto and read back.
mod identity_center_watch;
// The okta-hook handler with events/okta-hook/ against SQS in moto, and the built binary via the runtime API.
mod okta_hook;
// The review's HTML report in headless Chromium over WebDriver: renders, sorts, filters.
mod report_browser;
// The review's report files and the verdict archive in S3 (moto), the summary finding through SNS.
mod review_report;
// The propagation checker against moto Identity Center + SQS, the Okta fake and an in-memory CloudTrail.
mod propagation_check;
// deprov-audit revoke: the plan, apply and the built binary against moto sso-admin and the Okta fake.
mod revoke;
// The local sandbox: the demo org seeded, its printed env running hook → queue → checker → a finding on SNS.
mod sandbox;
// SnsNotifier, read back through an SQS queue subscribed to the topic in moto.
mod sns_notifier;
// The System Log sweep with its cursor in DynamoDB, against the Okta fake's polling queries and SQS in moto.
mod system_log_sweep;
