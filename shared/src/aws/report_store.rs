//! The `ReportStore` port over S3: a run's files under `reviews/<run_id>/` in one bucket (`REPORT_BUCKET`), the
//! manifest last, each streamed from the file the run rendered, each object sent with its SHA-256 (`x-amz-checksum-sha256`) so S3 refuses bytes that are not the
//! ones the manifest names; with object lock (mode and days) when the bucket has it enabled.

use aws_config::SdkConfig;
use aws_sdk_s3 as s3;
use base64::Engine;
use chrono::{DateTime, Duration, Utc};
use s3::primitives::{ByteStream, DateTime as SmithyDateTime};
use s3::types::{ChecksumAlgorithm, ObjectLockMode};

use crate::config::{Env, optional};
use crate::error::{Error, Result};
use crate::ports::ReportStore;
use crate::review_report::{MANIFEST_NAME, ReportFiles, ReportLocation, check_run_id};

const SERVICE: &str = "s3";
/// The folder every run's report goes under.
pub const REPORT_PREFIX: &str = "reviews";
/// S3 object lock allows at most 100 years; a review's evidence needs far less.
const MAX_LOCK_DAYS: u32 = 36_500;

/// How long written reports are locked against change and deletion (S3 object lock). The bucket must have object
/// lock enabled; S3 refuses the writes otherwise, which is the loud failure wanted for a setting that is wrong.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ObjectLock {
    /// `GOVERNANCE` (users with a special permission may still delete) or `COMPLIANCE` (nobody can).
    pub compliance: bool,
    pub days: u32,
}

impl ObjectLock {
    fn mode(&self) -> ObjectLockMode {
        if self.compliance {
            ObjectLockMode::Compliance
        } else {
            ObjectLockMode::Governance
        }
    }

    fn until(&self, now: DateTime<Utc>) -> DateTime<Utc> {
        now + Duration::days(i64::from(self.days))
    }
}

/// Where the review's report goes: `REPORT_BUCKET`, and optional object lock (`REPORT_OBJECT_LOCK_MODE` =
/// `GOVERNANCE` | `COMPLIANCE` with `REPORT_OBJECT_LOCK_DAYS` = 1..36500; both or neither).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReportStoreSettings {
    pub bucket: String,
    pub object_lock: Option<ObjectLock>,
}

impl ReportStoreSettings {
    pub fn from_env(env: &impl Env) -> Result<Self> {
        let bucket = crate::config::required(env, "REPORT_BUCKET")?;
        let mode = optional(env, "REPORT_OBJECT_LOCK_MODE");
        let days = optional(env, "REPORT_OBJECT_LOCK_DAYS");
        let object_lock = match (mode, days) {
            (None, None) => None,
            (Some(mode), Some(days)) => {
                let compliance = match mode.to_ascii_uppercase().as_str() {
                    "COMPLIANCE" => true,
                    "GOVERNANCE" => false,
                    _ => {
                        return Err(Error::config(
                            "REPORT_OBJECT_LOCK_MODE",
                            "must be GOVERNANCE or COMPLIANCE",
                        ));
                    }
                };
                let days = days
                    .parse::<u32>()
                    .ok()
                    .filter(|d| (1..=MAX_LOCK_DAYS).contains(d))
                    .ok_or_else(|| {
                        Error::config(
                            "REPORT_OBJECT_LOCK_DAYS",
                            format!("must be a whole number from 1 to {MAX_LOCK_DAYS}"),
                        )
                    })?;
                Some(ObjectLock { compliance, days })
            }
            (Some(_), None) => return Err(Error::config("REPORT_OBJECT_LOCK_DAYS", "is not set (the mode is)")),
            (None, Some(_)) => return Err(Error::config("REPORT_OBJECT_LOCK_MODE", "is not set (the days are)")),
        };
        Ok(Self { bucket, object_lock })
    }
}

/// Writes reports to one bucket.
#[derive(Debug, Clone)]
pub struct S3ReportStore {
    client: s3::Client,
    settings: ReportStoreSettings,
}

impl S3ReportStore {
    pub fn new(config: &SdkConfig, settings: ReportStoreSettings) -> Self {
        Self {
            client: s3::Client::new(config),
            settings,
        }
    }

    /// The key a run's file has.
    pub fn key(run_id: &str, name: &str) -> String {
        format!("{REPORT_PREFIX}/{run_id}/{name}")
    }
}

impl ReportStore for S3ReportStore {
    /// One PutObject per file, in order, the manifest last: a manifest in the bucket means every file it names
    /// was written (and checked by S3 against its SHA-256) before it. A failed write ends the store with the error;
    /// writing the run again replaces its objects (unless they are locked: then S3 keeps a new version).
    async fn store(&self, files: &ReportFiles) -> Result<ReportLocation> {
        check_run_id(&files.run_id)?;
        let now = Utc::now();
        for file in &files.files {
            let key = Self::key(&files.run_id, file.name);
            // The hash computed while the file was rendered: S3 checks the uploaded bytes against it.
            let checksum = base64::engine::general_purpose::STANDARD.encode(file.sha256);
            // Streamed from the disk (the SDK reads it in chunks and knows its length): the run never holds a
            // whole file in memory.
            let body = ByteStream::from_path(&file.path).await.map_err(|e| Error::Io {
                path: file.path.display().to_string(),
                source: std::io::Error::other(e),
            })?;
            let mut put = self
                .client
                .put_object()
                .bucket(&self.settings.bucket)
                .key(&key)
                .content_type(file.content_type)
                // Object lock needs the algorithm named (x-amz-sdk-checksum-algorithm) beside the value.
                .checksum_algorithm(ChecksumAlgorithm::Sha256)
                .checksum_sha256(checksum)
                .body(body);
            if let Some(lock) = self.settings.object_lock {
                put = put
                    .object_lock_mode(lock.mode())
                    .object_lock_retain_until_date(SmithyDateTime::from_secs(lock.until(now).timestamp()));
            }
            put.send().await.map_err(|e| Error::aws(SERVICE, "PutObject", e))?;
            tracing::info!(bucket = %self.settings.bucket, key = %key, bytes = file.bytes, "report file written");
        }
        let base = format!("s3://{}/{REPORT_PREFIX}/{}/", self.settings.bucket, files.run_id);
        Ok(ReportLocation {
            index: format!("{base}index.html"),
            manifest: format!("{base}{MANIFEST_NAME}"),
            base,
        })
    }
}
