//! Notifiers for local runs: findings as JSON lines on stdout, or as a JSON array in a file.

use std::io::Write;
use std::path::PathBuf;
use std::sync::Mutex;

use crate::domain::Finding;
use crate::error::{Error, Result};
use crate::ports::Notifier;

/// Writes each finding as one JSON line to stdout.
#[derive(Debug, Default)]
pub struct StdoutNotifier {
    lock: Mutex<()>,
}

impl Notifier for StdoutNotifier {
    async fn publish(&self, findings: &[Finding]) -> Result<()> {
        let lines = findings
            .iter()
            .map(serde_json::to_string)
            .collect::<Result<Vec<_>, _>>()
            .map_err(|source| Error::Decode {
                what: "finding",
                source,
            })?;
        let _guard = self.lock.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let mut out = std::io::stdout().lock();
        for line in lines {
            writeln!(out, "{line}").map_err(|source| Error::Io {
                path: "stdout".into(),
                source,
            })?;
        }
        Ok(())
    }
}

/// Appends findings to a JSON array kept in a file (created if missing).
#[derive(Debug)]
pub struct FileNotifier {
    path: PathBuf,
    lock: Mutex<()>,
}

impl FileNotifier {
    pub fn new(path: impl Into<PathBuf>) -> Self {
        Self {
            path: path.into(),
            lock: Mutex::new(()),
        }
    }

    fn io(&self, source: std::io::Error) -> Error {
        Error::Io {
            path: self.path.display().to_string(),
            source,
        }
    }
}

impl Notifier for FileNotifier {
    async fn publish(&self, findings: &[Finding]) -> Result<()> {
        let _guard = self.lock.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let mut all: Vec<Finding> = match std::fs::read(&self.path) {
            Ok(bytes) if !bytes.is_empty() => serde_json::from_slice(&bytes).map_err(|source| Error::Decode {
                what: "findings file",
                source,
            })?,
            Ok(_) => Vec::new(),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
            Err(e) => return Err(self.io(e)),
        };
        all.extend_from_slice(findings);
        let text = serde_json::to_vec_pretty(&all).map_err(|source| Error::Decode {
            what: "findings",
            source,
        })?;
        // Write beside, then rename: a crash never leaves half a file.
        let partial = self.path.with_extension("partial");
        std::fs::write(&partial, text).map_err(|e| self.io(e))?;
        std::fs::rename(&partial, &self.path).map_err(|e| self.io(e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{Rule, Severity, Subject};

    fn finding(n: u32) -> Finding {
        Finding::new(
            Rule::OrphanedIdcUser,
            Severity::Low,
            format!("finding {n}"),
            Subject {
                idc_user_id: Some(format!("u-{n}")),
                ..Subject::default()
            },
            chrono::DateTime::UNIX_EPOCH,
        )
    }

    #[tokio::test]
    async fn the_file_notifier_appends_to_a_json_array() {
        let dir = std::env::temp_dir().join(format!("deprov-notify-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("findings.json");
        let _ = std::fs::remove_file(&path);
        let notifier = FileNotifier::new(&path);
        notifier.publish(&[finding(1)]).await.unwrap();
        notifier.publish(&[finding(2), finding(3)]).await.unwrap();
        let back: Vec<Finding> = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
        assert_eq!(
            back.iter().map(|f| f.title.as_str()).collect::<Vec<_>>(),
            ["finding 1", "finding 2", "finding 3"]
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[tokio::test]
    async fn the_file_notifier_refuses_to_overwrite_a_file_it_cannot_read() {
        let dir = std::env::temp_dir().join(format!("deprov-notify-bad-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("findings.json");
        std::fs::write(&path, b"not json").unwrap();
        let err = FileNotifier::new(&path).publish(&[finding(1)]).await.unwrap_err();
        assert!(matches!(err, Error::Decode { .. }), "{err:?}");
        assert_eq!(std::fs::read(&path).unwrap(), b"not json");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
