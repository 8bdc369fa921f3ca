//! The report written to a local directory (the CLI's `review --out DIR`, the demo): the same files and manifest
//! as in S3; and the staging directory a run renders into before a store copies the files out.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use super::{MANIFEST_NAME, ReportFiles, ReportLocation, check_run_id, io_error};
use crate::domain::review::ReviewReport;
use crate::error::Result;
use crate::ports::ReportStore;

/// Renders every file straight into `dir` (created if missing), the manifest last; existing files of the same
/// names are replaced.
pub fn write_to_directory(dir: &Path, report: &ReviewReport) -> Result<ReportLocation> {
    let files = ReportFiles::render(report, dir)?;
    Ok(location(&files.dir))
}

fn location(dir: &Path) -> ReportLocation {
    ReportLocation {
        base: dir.display().to_string(),
        index: dir.join("index.html").display().to_string(),
        manifest: dir.join(MANIFEST_NAME).display().to_string(),
    }
}

/// A `ReportStore` over a local folder: each run in `<root>/<run_id>/`, as S3 has `reviews/<run_id>/`.
#[derive(Debug, Clone)]
pub struct DirectoryReportStore {
    pub root: PathBuf,
}

impl ReportStore for DirectoryReportStore {
    /// Copies the rendered files into `<root>/<run_id>/` in order, the manifest last (nothing to copy when they
    /// were rendered there).
    async fn store(&self, files: &ReportFiles) -> Result<ReportLocation> {
        check_run_id(&files.run_id)?;
        let dir = self.root.join(&files.run_id);
        std::fs::create_dir_all(&dir).map_err(io_error(&dir))?;
        for file in &files.files {
            let to = dir.join(file.name);
            if to != file.path {
                std::fs::copy(&file.path, &to).map_err(io_error(&to))?;
            }
        }
        Ok(location(&dir))
    }
}

/// A directory of the run's own under the system's temporary directory (Lambda's `/tmp`, sized by the
/// function's `EphemeralStorage`), removed with everything in it when dropped — after the store, or on an error.
#[derive(Debug)]
pub struct StagingDir {
    path: PathBuf,
}

impl StagingDir {
    /// `<tmp>/deprov-review-<run_id>-<pid>-<n>`: unique per call, so runs in one process (tests) never share one.
    pub fn create(run_id: &str) -> Result<Self> {
        static NEXT: AtomicU64 = AtomicU64::new(0);
        check_run_id(run_id)?;
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let path = std::env::temp_dir().join(format!("deprov-review-{run_id}-{}-{n}", std::process::id()));
        std::fs::create_dir_all(&path).map_err(io_error(&path))?;
        Ok(Self { path })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for StagingDir {
    fn drop(&mut self) {
        if let Err(error) = std::fs::remove_dir_all(&self.path) {
            tracing::warn!(path = %self.path.display(), %error, "the report's staging directory was not removed");
        }
    }
}
