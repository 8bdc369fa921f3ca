//! The access review's report files, made from one `ReviewReport`: JSON (the report itself, for machines), CSV
//! (one row per effective access), Markdown, and a self-contained HTML page (sortable, filterable tables; no
//! network). Pure: rendering reads the report and returns bytes; `ReportStore` adapters write them (S3 under
//! `reviews/<run_id>/`, or a local directory for the CLI), each with `manifest.json` naming every file's SHA-256.
//! `summary_finding` is the one SNS finding that links a stored report.

mod csv;
#[cfg(any(test, feature = "in-memory"))]
pub mod example;
mod html;
mod local;
mod markdown;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::domain::review::{FindingStatus, ReviewKind, ReviewReport, ReviewedFinding};
use crate::domain::{Evidence, Finding, Rule, Severity, Subject};
use crate::error::{Error, Result};

pub use self::csv::{access_csv, write_access_csv};
pub use self::html::{html_page, write_html_page};
pub use self::local::{DirectoryReportStore, StagingDir, write_to_directory};
pub use self::markdown::markdown;

pub const MANIFEST_SCHEMA_VERSION: u32 = 1;
/// The manifest's file name, beside the files it lists.
pub const MANIFEST_NAME: &str = "manifest.json";

/// One rendered file of a report, on disk (rendered straight into a directory, never held whole in memory).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReportFile {
    /// A plain file name (no directory part), the same in S3 and on disk.
    pub name: &'static str,
    pub content_type: &'static str,
    /// Where it was written.
    pub path: PathBuf,
    /// Its size.
    pub bytes: u64,
    /// Its SHA-256, computed as it was written.
    pub sha256: [u8; 32],
}

impl ReportFile {
    /// The file's SHA-256, lowercase hex (what the manifest records).
    pub fn sha256_hex(&self) -> String {
        hex(&self.sha256)
    }
}

/// One file as the manifest lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ManifestEntry {
    pub name: String,
    pub content_type: String,
    pub bytes: u64,
    /// Lowercase hex.
    pub sha256: String,
}

/// `manifest.json`: what the run wrote, so a reader (an auditor) can check every file is the one the run made.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manifest {
    pub schema_version: u32,
    pub run_id: String,
    pub generated_at: DateTime<Utc>,
    pub files: Vec<ManifestEntry>,
}

/// Every file of a run's report as written into one directory, the manifest last (a store copies them in this
/// order, so a manifest that is there means every file it lists was written before it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReportFiles {
    pub run_id: String,
    /// The directory the files are in.
    pub dir: PathBuf,
    pub files: Vec<ReportFile>,
}

impl ReportFiles {
    /// Renders the four files and their manifest into `dir` (created if missing; files of the same names
    /// replaced), one at a time, each streamed through a SHA-256 as it is written: the run holds one file's write
    /// buffer, not the files (at 324,000 access rows they are ~300 MiB). Fails on a run id that cannot name a
    /// folder, or on a write.
    pub fn render(report: &ReviewReport, dir: &Path) -> Result<Self> {
        check_run_id(&report.run_id)?;
        std::fs::create_dir_all(dir).map_err(io_error(dir))?;
        let mut files = Vec::with_capacity(5);
        // Compact: the file is for machines, and at 300,000 access rows the indentation alone is ~40 % of its
        // bytes.
        files.push(write_file(dir, "report.json", "application/json", |w| {
            serde_json::to_writer(w, report).map_err(std::io::Error::other)
        })?);
        files.push(write_file(
            dir,
            "access.csv",
            "text/csv; charset=utf-8; header=present",
            |w| write_access_csv(report, w),
        )?);
        files.push(write_file(dir, "report.md", "text/markdown; charset=utf-8", |w| {
            std::io::Write::write_all(w, markdown(report).as_bytes())
        })?);
        files.push(write_file(dir, "index.html", "text/html; charset=utf-8", |w| {
            write_html_page(report, w)
        })?);
        let manifest = Manifest {
            schema_version: MANIFEST_SCHEMA_VERSION,
            run_id: report.run_id.clone(),
            generated_at: report.generated_at,
            files: files
                .iter()
                .map(|f| ManifestEntry {
                    name: f.name.to_owned(),
                    content_type: f.content_type.to_owned(),
                    bytes: f.bytes,
                    sha256: f.sha256_hex(),
                })
                .collect(),
        };
        files.push(write_file(dir, MANIFEST_NAME, "application/json", |w| {
            serde_json::to_writer_pretty(w, &manifest).map_err(std::io::Error::other)
        })?);
        Ok(Self {
            run_id: report.run_id.clone(),
            dir: dir.to_path_buf(),
            files,
        })
    }
}

/// An I/O error on `path`, its cause kept.
pub(crate) fn io_error(path: &Path) -> impl FnOnce(std::io::Error) -> Error + use<> {
    let path = path.display().to_string();
    move |source| Error::Io { path, source }
}

/// Writes one file through `render`, hashing and counting the bytes on their way to the disk.
fn write_file(
    dir: &Path,
    name: &'static str,
    content_type: &'static str,
    render: impl FnOnce(&mut HashingWriter<std::io::BufWriter<std::fs::File>>) -> std::io::Result<()>,
) -> Result<ReportFile> {
    let path = dir.join(name);
    let file = std::fs::File::create(&path).map_err(io_error(&path))?;
    let mut writer = HashingWriter {
        inner: std::io::BufWriter::with_capacity(256 * 1024, file),
        hasher: Sha256::new(),
        bytes: 0,
    };
    render(&mut writer).map_err(io_error(&path))?;
    std::io::Write::flush(&mut writer).map_err(io_error(&path))?;
    let HashingWriter { inner, hasher, bytes } = writer;
    let file = inner.into_inner().map_err(|e| io_error(&path)(e.into_error()))?;
    file.sync_all().map_err(io_error(&path))?;
    Ok(ReportFile {
        name,
        content_type,
        path,
        bytes,
        sha256: hasher.finalize().into(),
    })
}

/// A writer that hashes (SHA-256) and counts what passes through it.
struct HashingWriter<W> {
    inner: W,
    hasher: Sha256,
    bytes: u64,
}

impl<W: std::io::Write> std::io::Write for HashingWriter<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.inner.write(buf)?;
        let written = buf.get(..n).unwrap_or(buf);
        self.hasher.update(written);
        self.bytes = self
            .bytes
            .saturating_add(u64::try_from(written.len()).unwrap_or(u64::MAX));
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

/// A run id names a folder (`reviews/<run_id>/`, or a directory on disk): letters, digits, `.`, `_`, `-` and `:`,
/// 1 to 128 characters, not starting with a dot. Nothing else can climb out of the prefix (`/`, `..`).
pub fn check_run_id(run_id: &str) -> Result<()> {
    let fine = !run_id.is_empty()
        && run_id.len() <= 128
        && !run_id.starts_with('.')
        && run_id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-' | ':'));
    if fine {
        Ok(())
    } else {
        Err(Error::Invalid {
            what: "review run id",
            value: run_id.chars().take(64).collect(),
            reason: "must be 1-128 of A-Z a-z 0-9 . _ - : and not start with a dot",
        })
    }
}

/// Where a store put a run's report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReportLocation {
    /// The folder: `s3://bucket/reviews/<run_id>/`, or a local directory.
    pub base: String,
    /// The HTML page, the one to open.
    pub index: String,
    pub manifest: String,
}

/// Findings per rule: (rule, total, new, open, resolved, suppressed), rules in their stable order.
pub fn counts_per_rule(report: &ReviewReport) -> Vec<(Rule, StatusCounts)> {
    let mut counts: BTreeMap<Rule, StatusCounts> = BTreeMap::new();
    for f in &report.findings {
        counts.entry(f.finding.rule).or_default().add(&f.status);
    }
    counts.into_iter().collect()
}

/// Findings per compliance control (a finding evidencing two controls counts for both); controls sorted.
pub fn counts_per_control(report: &ReviewReport) -> Vec<(String, StatusCounts)> {
    let mut counts: BTreeMap<String, StatusCounts> = BTreeMap::new();
    for f in &report.findings {
        for control in &f.controls {
            counts.entry(control.clone()).or_default().add(&f.status);
        }
    }
    counts.into_iter().collect()
}

/// How many findings are in each lifecycle state.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct StatusCounts {
    pub new: usize,
    pub open: usize,
    pub resolved: usize,
    pub suppressed: usize,
}

impl StatusCounts {
    fn add(&mut self, status: &FindingStatus) {
        let slot = match status {
            FindingStatus::New => &mut self.new,
            FindingStatus::Open => &mut self.open,
            FindingStatus::Resolved => &mut self.resolved,
            FindingStatus::Suppressed { .. } => &mut self.suppressed,
        };
        *slot = slot.saturating_add(1);
    }

    pub fn of(findings: &[ReviewedFinding]) -> Self {
        let mut counts = Self::default();
        for f in findings {
            counts.add(&f.status);
        }
        counts
    }

    pub fn total(&self) -> usize {
        self.new
            .saturating_add(self.open)
            .saturating_add(self.resolved)
            .saturating_add(self.suppressed)
    }
}

/// A finding's lifecycle state as one word (`new`, `open`, `resolved`, `suppressed`).
pub fn status_word(status: &FindingStatus) -> &'static str {
    match status {
        FindingStatus::New => "new",
        FindingStatus::Open => "open",
        FindingStatus::Resolved => "resolved",
        FindingStatus::Suppressed { .. } => "suppressed",
    }
}

/// The person or thing a finding is about, in one line for a table cell.
fn finding_subject(finding: &Finding) -> String {
    let s = &finding.subject;
    let mut parts: Vec<String> = Vec::new();
    if let Some(person) = s.okta_login.as_deref().or(s.idc_user_name.as_deref()) {
        parts.push(person.to_owned());
    }
    if let Some(account) = &s.account_id {
        parts.push(format!("account {account}"));
    }
    if let Some(ps) = &s.permission_set_arn {
        parts.push(format!("permission set {}", ps.rsplit('/').next().unwrap_or(ps)));
    }
    if let Some(group) = &s.group_id {
        parts.push(format!("group {group}"));
    }
    parts.join(", ")
}

fn kind_word(kind: ReviewKind) -> &'static str {
    match kind {
        ReviewKind::Quarterly => "quarterly",
        ReviewKind::Daily => "daily",
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The one SNS finding a review run publishes about itself: its counts and where its report is. Info severity:
/// each finding the review found goes out on its own with its own severity; this one only links the evidence, so a
/// subscriber paging on `high` is not paged twice. Its id is the run's (one summary per run, a re-publish collapses).
/// The report's completeness in one line, for the summaries: `complete (…)` or `INCOMPLETE: …` naming each read
/// that stopped at its cap and what that leaves unseen.
pub fn completeness_line(report: &ReviewReport) -> String {
    if report.completeness.is_empty() {
        return "not recorded".to_owned();
    }
    let incomplete: Vec<String> = report
        .completeness
        .iter()
        .filter(|r| !r.complete)
        .map(|r| r.line())
        .collect();
    if incomplete.is_empty() {
        let reads: Vec<String> = report
            .completeness
            .iter()
            .map(|r| format!("{} {} record(s)", r.source, r.records))
            .collect();
        format!("complete ({})", reads.join(", "))
    } else {
        format!("INCOMPLETE: {}", incomplete.join("; "))
    }
}

pub fn summary_finding(report: &ReviewReport, location: &ReportLocation, now: DateTime<Utc>) -> Finding {
    let counts = StatusCounts::of(&report.findings);
    let open_by_severity: Vec<String> = [
        Severity::Critical,
        Severity::High,
        Severity::Medium,
        Severity::Low,
        Severity::Info,
    ]
    .iter()
    .filter_map(|severity| {
        let n = report
            .findings
            .iter()
            .filter(|f| matches!(f.status, FindingStatus::New | FindingStatus::Open) && f.finding.severity == *severity)
            .count();
        (n > 0).then(|| format!("{n} {severity}"))
    })
    .collect();
    let subject = Subject {
        burst_id: Some(format!("access-review:{}", report.run_id)),
        ..Subject::default()
    };
    let title = format!(
        "Access review {} ({}): {} finding(s) ({} new, {} open, {} resolved, {} suppressed), {} effective access row(s)",
        report.run_id,
        kind_word(report.kind),
        counts.total(),
        counts.new,
        counts.open,
        counts.resolved,
        counts.suppressed,
        report.access.len()
    );
    let title = if report.completeness.iter().any(|r| !r.complete) {
        format!("{title} — INCOMPLETE reads, see the evidence")
    } else {
        title
    };
    let verified = report
        .deprovisions
        .iter()
        .filter(|d| d.rule == Rule::PropagationVerified.as_str())
        .count();
    let mut evidence = vec![
        Evidence::new("access-review", format!("report: {}", location.index)).reference(location.base.clone()),
        Evidence::new(
            "access-review",
            format!("manifest (SHA-256 of each file): {}", location.manifest),
        )
        .reference(location.manifest.clone()),
        Evidence::new(
            "access-review",
            format!(
                "open findings by severity: {}",
                if open_by_severity.is_empty() {
                    "none".to_owned()
                } else {
                    open_by_severity.join(", ")
                }
            ),
        ),
        Evidence::new(
            "access-review",
            format!(
                "period {} to {}: {} deprovision(s), {} verified",
                report.period_start.to_rfc3339(),
                report.period_end.to_rfc3339(),
                report.deprovisions.len(),
                verified
            ),
        ),
        Evidence::new(
            "access-review",
            format!(
                "since the previous run: {} access added, {} removed, {} finding(s) new, {} resolved",
                report.diff.access_added.len(),
                report.diff.access_removed.len(),
                report.diff.findings_new.len(),
                report.diff.findings_resolved.len()
            ),
        ),
    ];
    evidence.push(Evidence::new(
        "access-review",
        format!("completeness: {}", completeness_line(report)),
    ));
    evidence.extend(
        report
            .completeness
            .iter()
            .map(|read| Evidence::new("access-review", format!("read {}", read.line()))),
    );
    for (rule, c) in counts_per_rule(report) {
        evidence.push(Evidence::new(
            "access-review",
            format!(
                "{rule}: {} ({} new, {} open, {} resolved, {} suppressed)",
                c.total(),
                c.new,
                c.open,
                c.resolved,
                c.suppressed
            ),
        ));
    }
    Finding::new(Rule::AccessReviewSummary, Severity::Info, title, subject, now)
        .with_evidence(evidence)
        .with_remedy(format!(
            "Review the report at {} (index.html, access.csv, report.md, report.json) and check it against {}.",
            location.base, location.manifest
        ))
}

#[cfg(test)]
pub(crate) mod tests;
