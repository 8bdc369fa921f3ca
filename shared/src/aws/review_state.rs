//! The `ReviewStateStore` port over S3: the access review's state (`state/latest.json`, `state/quarterly.json`)
//! and its suppression list (`config/suppressions.json` by default) as JSON objects in `REPORT_BUCKET`; also the
//! `InventoryWorkStore` port (a sharded run's plan and shard results under `inventory/<run_id>/`).

use aws_config::SdkConfig;
use aws_sdk_s3 as s3;
use s3::primitives::ByteStream;

use crate::domain::review::{ReviewState, ReviewStateRef, SuppressionList};
use crate::error::{Error, Result};
use crate::ports::{InventoryWorkStore, ReviewStateStore, StateSlot};
use crate::review_report::{StagingDir, io_error};

const SERVICE: &str = "s3";
/// A state or list larger than this is refused rather than read into memory (a 100k-row review is ~40 MB).
const MAX_OBJECT_BYTES: i64 = 256 * 1024 * 1024;
pub const DEFAULT_SUPPRESSIONS_KEY: &str = "config/suppressions.json";

#[derive(Debug, Clone)]
pub struct S3ReviewState {
    client: s3::Client,
    bucket: String,
    suppressions_key: String,
}

impl S3ReviewState {
    pub fn new(config: &SdkConfig, bucket: impl Into<String>, suppressions_key: impl Into<String>) -> Self {
        Self {
            client: s3::Client::new(config),
            bucket: bucket.into(),
            suppressions_key: suppressions_key.into(),
        }
    }

    pub fn key(slot: StateSlot) -> &'static str {
        match slot {
            StateSlot::Latest => "state/latest.json",
            StateSlot::Quarterly => "state/quarterly.json",
        }
    }

    /// The object's bytes, or `None` when it does not exist.
    async fn read(&self, key: &str) -> Result<Option<Vec<u8>>> {
        let output = match self.client.get_object().bucket(&self.bucket).key(key).send().await {
            Ok(output) => output,
            Err(error) if error.as_service_error().is_some_and(|e| e.is_no_such_key()) => return Ok(None),
            Err(error) => return Err(Error::aws(SERVICE, "GetObject", error)),
        };
        if output.content_length().is_some_and(|n| n > MAX_OBJECT_BYTES) {
            return Err(Error::AwsContract {
                service: SERVICE,
                operation: "GetObject",
                problem: format!("{key} is larger than {MAX_OBJECT_BYTES} bytes"),
            });
        }
        let body = output.body.collect().await.map_err(|e| Error::AwsContract {
            service: SERVICE,
            operation: "GetObject",
            problem: format!("{key}: body not read: {e}"),
        })?;
        Ok(Some(body.into_bytes().to_vec()))
    }

    async fn write(&self, key: &str, body: Vec<u8>) -> Result<()> {
        self.client
            .put_object()
            .bucket(&self.bucket)
            .key(key)
            .content_type("application/json")
            .body(ByteStream::from(body))
            .send()
            .await
            .map_err(|e| Error::aws(SERVICE, "PutObject", e))?;
        Ok(())
    }
}

/// The sharded review's work objects live beside the state, in the same bucket (under `inventory/`).
impl InventoryWorkStore for S3ReviewState {
    async fn put_work(&self, key: &str, body: Vec<u8>) -> Result<()> {
        self.write(key, body).await
    }

    async fn get_work(&self, key: &str) -> Result<Option<Vec<u8>>> {
        self.read(key).await
    }
}

impl ReviewStateStore for S3ReviewState {
    async fn load(&self, slot: StateSlot) -> Result<Option<ReviewState>> {
        let Some(bytes) = self.read(Self::key(slot)).await? else {
            return Ok(None);
        };
        serde_json::from_slice(&bytes)
            .map(Some)
            .map_err(|source| Error::Decode {
                what: "the access review's saved state",
                source,
            })
    }

    /// Serialized into a file of its own and uploaded from it: at 324,000 access rows the state is ~120 MiB of
    /// JSON, never held in memory.
    async fn save(&self, slot: StateSlot, state: &ReviewStateRef<'_>) -> Result<()> {
        let staging = StagingDir::create(state.run_id)?;
        let path = staging.path().join("state.json");
        let io = |source| io_error(&path)(source);
        let file = std::fs::File::create(&path).map_err(io)?;
        let mut writer = std::io::BufWriter::with_capacity(256 * 1024, file);
        serde_json::to_writer(&mut writer, state).map_err(|source| Error::Decode {
            what: "the access review's state",
            source,
        })?;
        std::io::Write::flush(&mut writer).map_err(io)?;
        drop(writer);
        let body = ByteStream::from_path(&path)
            .await
            .map_err(|e| io(std::io::Error::other(e)))?;
        self.client
            .put_object()
            .bucket(&self.bucket)
            .key(Self::key(slot))
            .content_type("application/json")
            .body(body)
            .send()
            .await
            .map_err(|e| Error::aws(SERVICE, "PutObject", e))?;
        Ok(())
    }

    async fn suppressions(&self) -> Result<SuppressionList> {
        let Some(bytes) = self.read(&self.suppressions_key).await? else {
            return Ok(SuppressionList::default());
        };
        serde_json::from_slice(&bytes).map_err(|source| Error::Decode {
            what: "the access review's suppression list",
            source,
        })
    }
}
