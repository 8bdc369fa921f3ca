//! The report written to a local directory (the CLI's `review --out DIR`, the demo): the same files and manifest
//! as in S3.

use std::path::{Path, PathBuf};

use super::{MANIFEST_NAME, ReportFiles, ReportLocation, check_run_id};
use crate::error::{Error, Result};
use crate::ports::ReportStore;

/// Writes every file into `dir` (created if missing), the manifest last; existing files of the same names are
/// replaced.
pub fn write_to_directory(dir: &Path, files: &ReportFiles) -> Result<ReportLocation> {
    let io = |path: &Path| {
        let path = path.display().to_string();
        move |source| Error::Io { path, source }
    };
    std::fs::create_dir_all(dir).map_err(io(dir))?;
    for file in &files.files {
        let path = dir.join(file.name);
        std::fs::write(&path, &file.bytes).map_err(io(&path))?;
    }
    Ok(ReportLocation {
        base: dir.display().to_string(),
        index: dir.join("index.html").display().to_string(),
        manifest: dir.join(MANIFEST_NAME).display().to_string(),
    })
}

/// A `ReportStore` over a local folder: each run in `<root>/<run_id>/`, as S3 has `reviews/<run_id>/`.
#[derive(Debug, Clone)]
pub struct DirectoryReportStore {
    pub root: PathBuf,
}

impl ReportStore for DirectoryReportStore {
    async fn store(&self, files: &ReportFiles) -> Result<ReportLocation> {
        check_run_id(&files.run_id)?;
        write_to_directory(&self.root.join(&files.run_id), files)
    }
}
