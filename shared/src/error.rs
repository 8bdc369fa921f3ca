//! One error type for the core, by cause. Sources are kept, never flattened into strings.

pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A configuration variable is missing or wrong; the message names it.
    #[error("configuration: {var} {reason}")]
    Config { var: &'static str, reason: String },

    /// A value from outside failed to parse into a domain type.
    #[error("invalid {what} {value:?}: {reason}")]
    Invalid {
        what: &'static str,
        value: String,
        reason: &'static str,
    },

    #[error(transparent)]
    Okta(#[from] crate::okta::OktaError),

    /// An AWS API call failed (after the SDK's own retries).
    #[error("AWS {service} {operation} failed")]
    Aws {
        service: &'static str,
        operation: &'static str,
        #[source]
        source: BoxError,
    },

    /// An AWS API answered, but not with what its contract promises.
    #[error("AWS {service} {operation}: {problem}")]
    AwsContract {
        service: &'static str,
        operation: &'static str,
        problem: String,
    },

    /// Findings that could not be delivered (ids listed, nothing dropped silently).
    #[error("{} finding(s) not delivered: {reason}", finding_ids.len())]
    NotDelivered { finding_ids: Vec<String>, reason: String },

    #[error("could not read or write {path}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },

    /// The ledger claim this job worked under was taken over (its lease ran out): it must not mark the key.
    #[error("ledger claim on {key} was lost to another job")]
    ClaimLost { key: String },

    /// The work could not finish before the invocation's deadline; it goes back to the queue.
    #[error("{what} did not finish before the invocation deadline")]
    OutOfTime { what: &'static str },

    #[error("could not decode {what}")]
    Decode {
        what: &'static str,
        #[source]
        source: serde_json::Error,
    },
}

impl Error {
    pub fn aws<E>(service: &'static str, operation: &'static str, source: E) -> Self
    where
        E: std::error::Error + Send + Sync + 'static,
    {
        Self::Aws {
            service,
            operation,
            source: Box::new(source),
        }
    }

    pub fn config(var: &'static str, reason: impl Into<String>) -> Self {
        Self::Config {
            var,
            reason: reason.into(),
        }
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// An error and every cause behind it, on one line (`a: b: c`): what logs print, so the cause is never dropped.
#[derive(Debug)]
pub struct Chain<'a>(pub &'a (dyn std::error::Error + 'static));

impl std::fmt::Display for Chain<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.0)?;
        let mut source = self.0.source();
        while let Some(cause) = source {
            write!(f, ": {cause}")?;
            source = cause.source();
        }
        Ok(())
    }
}
