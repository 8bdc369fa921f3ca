//! AWS adapters: Identity Center (identity store + sso-admin + Organizations), CloudTrail, SNS, SQS, Secrets Manager.

mod job_queue;
mod secrets;

pub use job_queue::SqsJobQueue;
pub use secrets::secret_string;
