//! One error type for the core, by cause. Sources are kept, never flattened into strings.
//!
//! For a log line or a Lambda error, `Error::causes` renders the error and every cause under it, and
//! `Error::kind` names the cause with a stable type name (`AwsAccessDenied`, `OktaRefused`, …). Neither ever
//! quotes a payload: AWS errors carry the service's error code and message, JSON errors their category and
//! position, HTTP client errors their kind (not their URL, whose query can hold a login).

use std::fmt;

use aws_sdk_ssoadmin::error::SdkError;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;

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

    /// An AWS API call failed (after the SDK's own retries): how, in `failure`; the SDK's error in `source`.
    #[error("AWS {service} {operation} failed: {failure}")]
    Aws {
        service: &'static str,
        operation: &'static str,
        failure: AwsFailure,
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

    #[error("could not decode {what}")]
    Decode {
        what: &'static str,
        #[source]
        source: serde_json::Error,
    },

    /// The inventory's shards do not add up to its plan (one missing, repeated, or from another plan).
    #[error("inventory: {0}")]
    Inventory(String),
}

/// How an AWS call failed, as the SDK reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AwsFailure {
    /// The service answered with an error: its code (e.g. `AccessDeniedException`) and message.
    Service { code: String, message: Option<String> },
    /// No answer in time (the SDK's operation or attempt timeout).
    Timeout { detail: String },
    /// The request could not be sent, or no answer came back (connection, DNS, TLS, I/O).
    Dispatch { detail: String },
    /// An answer came that could not be read. Its detail is left out: it can quote the answer.
    Response,
    /// The request could not be built (a missing parameter, no credentials); nothing was sent.
    Construction { detail: String },
    /// A kind of failure this SDK version did not have when this was written.
    Other { detail: String },
}

impl fmt::Display for AwsFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Service {
                code,
                message: Some(message),
            } => write!(f, "{code}: {message}"),
            Self::Service { code, message: None } => f.write_str(code),
            Self::Timeout { detail } => write!(f, "timed out: {detail}"),
            Self::Dispatch { detail } => write!(f, "request not sent or no answer: {detail}"),
            Self::Response => f.write_str("the answer could not be read"),
            Self::Construction { detail } => write!(f, "request not built: {detail}"),
            Self::Other { detail } => f.write_str(detail),
        }
    }
}

impl AwsFailure {
    /// The stable type name of this failure (see `Error::kind`).
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Service { code, .. } => match code.as_str() {
                "AccessDeniedException" | "AccessDenied" | "AuthorizationError" | "UnauthorizedOperation" => {
                    "AwsAccessDenied"
                }
                "ThrottlingException"
                | "Throttling"
                | "ThrottledException"
                | "TooManyRequestsException"
                | "RequestLimitExceeded"
                | "RequestThrottled"
                | "RequestThrottledException"
                | "ProvisionedThroughputExceededException"
                | "SlowDown" => "AwsThrottled",
                "ExpiredToken"
                | "ExpiredTokenException"
                | "InvalidClientTokenId"
                | "UnrecognizedClientException"
                | "InvalidSignatureException"
                | "SignatureDoesNotMatch" => "AwsCredentialsRejected",
                "ResourceNotFoundException" | "NotFoundException" | "NotFound" => "AwsNotFound",
                _ => "AwsServiceError",
            },
            Self::Timeout { .. } => "AwsTimeout",
            Self::Dispatch { .. } => "AwsUnreachable",
            Self::Response => "AwsUnreadableAnswer",
            Self::Construction { .. } => "AwsRequestNotBuilt",
            Self::Other { .. } => "AwsError",
        }
    }
}

/// An error the AWS SDK returns, which can say how the call failed.
pub trait AwsCause: std::error::Error + Send + Sync + 'static {
    fn failure(&self) -> AwsFailure;
}

impl<E, R> AwsCause for SdkError<E, R>
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    R: fmt::Debug + Send + Sync + 'static,
{
    fn failure(&self) -> AwsFailure {
        // Below the SdkError: its context (e.g. ConnectorError), then that context's causes.
        let detail = || Causes::below(self).to_string();
        match self {
            SdkError::ServiceError(_) => AwsFailure::Service {
                code: bounded(self.code().unwrap_or("an error without a code")),
                message: self.message().map(bounded),
            },
            SdkError::TimeoutError(_) => AwsFailure::Timeout { detail: detail() },
            SdkError::DispatchFailure(failure) if failure.is_timeout() => AwsFailure::Timeout { detail: detail() },
            SdkError::DispatchFailure(_) => AwsFailure::Dispatch { detail: detail() },
            SdkError::ResponseError(_) => AwsFailure::Response,
            SdkError::ConstructionFailure(_) => AwsFailure::Construction { detail: detail() },
            _ => AwsFailure::Other {
                detail: bounded(&self.to_string()),
            },
        }
    }
}

/// A request builder's own error (a required field left unset): nothing was sent.
impl AwsCause for aws_smithy_types::error::operation::BuildError {
    fn failure(&self) -> AwsFailure {
        AwsFailure::Construction {
            detail: bounded(&self.to_string()),
        }
    }
}

/// The longest AWS error message or detail kept, in characters: a message is one sentence, never a document.
const DETAIL_MAX_CHARS: usize = 300;

/// `text` on one line, at most `DETAIL_MAX_CHARS` characters.
fn bounded(text: &str) -> String {
    let mut kept: String = text
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .take(DETAIL_MAX_CHARS)
        .collect();
    if text.chars().nth(DETAIL_MAX_CHARS).is_some() {
        kept.push('…');
    }
    kept
}

impl Error {
    /// An AWS call's failure, with how it failed read from the SDK's error (code and message of a service
    /// error; timeout; dispatch or construction failure; unreadable answer). The error itself is kept as the source.
    pub fn aws<E: AwsCause>(service: &'static str, operation: &'static str, source: E) -> Self {
        Self::Aws {
            service,
            operation,
            failure: source.failure(),
            source: Box::new(source),
        }
    }

    /// The same error without the service's message (its code stays): for calls whose message can quote what
    /// was sent, such as a login or email looked up in the identity store.
    pub fn without_service_message(mut self) -> Self {
        if let Self::Aws {
            failure: AwsFailure::Service { message, .. },
            ..
        } = &mut self
        {
            *message = None;
        }
        self
    }

    pub fn config(var: &'static str, reason: impl Into<String>) -> Self {
        Self::Config {
            var,
            reason: reason.into(),
        }
    }

    /// A stable name of the cause, for alarms and Lambda's `errorType`: `Config`, `Invalid`, `OktaRefused` (and
    /// the other `OktaError::kind`s), `AwsAccessDenied`, `AwsThrottled`, `AwsTimeout` (and the other
    /// `AwsFailure::kind`s), `AwsContract`, `NotDelivered`, `Io`, `Decode`.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Config { .. } => "Config",
            Self::Invalid { .. } => "Invalid",
            Self::Okta(okta) => okta.kind(),
            Self::Aws { failure, .. } => failure.kind(),
            Self::AwsContract { .. } => "AwsContract",
            Self::NotDelivered { .. } => "NotDelivered",
            Self::ClaimLost { .. } => "LedgerClaimLost",
            Self::Io { .. } => "Io",
            Self::Decode { .. } => "Decode",
            Self::Inventory(_) => "InventoryIncomplete",
        }
    }

    /// This error and every cause under it, one line (`a: b: c`), for logs: `error = %e.causes()`.
    pub fn causes(&self) -> Causes<'_> {
        Causes::of(self)
    }
}

/// Lambda's error for an invocation: `errorType` the cause's stable name, `errorMessage` the error with its causes.
impl From<Error> for lambda_runtime::Diagnostic {
    fn from(error: Error) -> Self {
        Self {
            error_type: error.kind().to_owned(),
            error_message: error.causes().to_string(),
        }
    }
}

/// An error and its causes as one line, `a: b: c`, quoting no payload: a JSON error shows its category and
/// position (its message can quote the input), an HTTP client error its kind (its message names the URL, query
/// included), and an `Error::Aws` stops the walk (its message already says what the SDK's errors below would).
#[derive(Debug, Clone, Copy)]
pub struct Causes<'a> {
    first: Option<&'a (dyn std::error::Error + 'static)>,
}

/// How deep `Causes` walks: real chains are 2-5 deep; a cycle or a runaway chain stops here.
const CAUSES_MAX_DEPTH: usize = 8;

impl<'a> Causes<'a> {
    /// `error` and its causes.
    pub fn of(error: &'a (dyn std::error::Error + 'static)) -> Self {
        Self { first: Some(error) }
    }

    /// The causes of `error`, without `error` itself.
    fn below(error: &'a (dyn std::error::Error + 'static)) -> Self {
        Self { first: error.source() }
    }
}

impl fmt::Display for Causes<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut next = self.first;
        let mut depth = 0;
        while let Some(error) = next {
            if depth == CAUSES_MAX_DEPTH {
                return f.write_str(": …");
            }
            if depth > 0 {
                f.write_str(": ")?;
            }
            depth += 1;
            if let Some(json) = error.downcast_ref::<serde_json::Error>() {
                return write!(
                    f,
                    "JSON {:?} error at line {} column {}",
                    json.classify(),
                    json.line(),
                    json.column()
                );
            }
            if let Some(http) = error.downcast_ref::<reqwest::Error>() {
                f.write_str(http_error_kind(http))?;
            } else {
                write!(f, "{}", bounded(&error.to_string()))?;
            }
            if matches!(error.downcast_ref::<Error>(), Some(Error::Aws { .. })) {
                return Ok(());
            }
            next = error.source();
        }
        Ok(())
    }
}

fn http_error_kind(error: &reqwest::Error) -> &'static str {
    if error.is_timeout() {
        "HTTP request timed out"
    } else if error.is_connect() {
        "HTTP connection failed"
    } else if error.is_decode() {
        "HTTP answer could not be decoded"
    } else if error.is_body() {
        "HTTP body error"
    } else if error.is_redirect() {
        "HTTP redirect error"
    } else if error.is_builder() {
        "HTTP request could not be built"
    } else if error.is_request() {
        "HTTP request failed"
    } else {
        "HTTP error"
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use aws_sdk_ssoadmin::error::{ConnectorError, ErrorMetadata};
    use aws_sdk_ssoadmin::operation::list_account_assignments::ListAccountAssignmentsError;
    use aws_sdk_ssoadmin::types::error::AccessDeniedException;

    use super::*;
    use crate::okta::OktaError;

    type Sdk = SdkError<ListAccountAssignmentsError, ()>;

    const DENIED: &str = "User: arn:aws:sts::210987654321:assumed-role/deprov-audit-check/lambda is not authorized \
                          to perform: sso:ListAccountAssignmentsForPrincipal";

    fn failed(sdk: Sdk) -> Error {
        Error::aws("sso-admin", "ListAccountAssignments", sdk)
    }

    fn service_error(code: &str, message: &str) -> Sdk {
        let meta = ErrorMetadata::builder().code(code).message(message).build();
        SdkError::service_error(ListAccountAssignmentsError::generic(meta), ())
    }

    #[test]
    fn a_message_that_can_quote_a_login_is_dropped_and_the_code_kept() {
        let error = failed(service_error(
            "ValidationException",
            "bob@acme.example is not a valid value",
        ))
        .without_service_message();
        assert!(!error.causes().to_string().contains("bob@"), "{}", error.causes());
        assert!(error.causes().to_string().contains("ValidationException"));
        assert_eq!(error.kind(), "AwsServiceError");
    }

    #[test]
    fn a_service_error_names_its_code_and_message_and_its_kind() {
        let modeled = ListAccountAssignmentsError::AccessDeniedException(
            AccessDeniedException::builder()
                .message(DENIED)
                .meta(
                    ErrorMetadata::builder()
                        .code("AccessDeniedException")
                        .message(DENIED)
                        .build(),
                )
                .build(),
        );
        let error = failed(SdkError::service_error(modeled, ()));
        assert_eq!(
            error.to_string(),
            format!("AWS sso-admin ListAccountAssignments failed: AccessDeniedException: {DENIED}")
        );
        assert_eq!(error.kind(), "AwsAccessDenied");
        assert_eq!(
            error.causes().to_string(),
            error.to_string(),
            "the SDK's own layers add nothing"
        );

        for (code, kind) in [
            ("ThrottlingException", "AwsThrottled"),
            ("TooManyRequestsException", "AwsThrottled"),
            ("ExpiredTokenException", "AwsCredentialsRejected"),
            ("ResourceNotFoundException", "AwsNotFound"),
            ("ValidationException", "AwsServiceError"),
        ] {
            let error = failed(service_error(code, "Rate exceeded"));
            assert_eq!(error.kind(), kind, "{code}");
            assert!(
                error.to_string().ends_with(&format!("failed: {code}: Rate exceeded")),
                "{error}"
            );
        }
    }

    #[test]
    fn a_service_message_is_kept_on_one_bounded_line() {
        let long = format!("line one\nline two {}", "x".repeat(2000));
        let error = failed(service_error("InternalServerException", &long));
        let text = error.to_string();
        assert!(!text.contains('\n'), "{text}");
        assert!(text.ends_with('…'), "{text}");
        assert!(text.chars().count() < 400, "{}", text.chars().count());
    }

    #[test]
    fn timeouts_dispatch_construction_and_response_failures_say_which() {
        let timeout = failed(Sdk::timeout_error(
            "operation timeout (all attempts including retries) occurred after 6s",
        ));
        assert_eq!(timeout.kind(), "AwsTimeout");
        assert!(
            timeout
                .to_string()
                .ends_with("failed: timed out: operation timeout (all attempts including retries) occurred after 6s"),
            "{timeout}"
        );

        let refused = failed(Sdk::dispatch_failure(ConnectorError::io(
            "tcp connect error: Connection refused".into(),
        )));
        assert_eq!(refused.kind(), "AwsUnreachable");
        assert!(
            refused
                .to_string()
                .contains("request not sent or no answer: io error: tcp connect error: Connection refused"),
            "{refused}"
        );

        let connect_timeout = failed(Sdk::dispatch_failure(ConnectorError::timeout(
            "HTTP connect timeout".into(),
        )));
        assert_eq!(connect_timeout.kind(), "AwsTimeout");

        let unbuilt = failed(Sdk::construction_failure("no credentials in the provider chain"));
        assert_eq!(unbuilt.kind(), "AwsRequestNotBuilt");
        assert!(
            unbuilt
                .to_string()
                .ends_with("request not built: no credentials in the provider chain"),
            "{unbuilt}"
        );

        let unreadable = failed(Sdk::response_error(
            "unexpected token: ValueString(\"bob.martin@acme.example\")",
            (),
        ));
        assert_eq!(unreadable.kind(), "AwsUnreadableAnswer");
        assert!(
            unreadable.to_string().ends_with("failed: the answer could not be read"),
            "{unreadable}"
        );
        assert!(
            !unreadable.causes().to_string().contains("bob"),
            "{}",
            unreadable.causes()
        );

        let missing = aws_smithy_types::error::operation::BuildError::missing_field("user_id", "needed");
        let unbuilt = Error::aws("identitystore", "GetUserId", missing);
        assert_eq!(unbuilt.kind(), "AwsRequestNotBuilt");
        assert!(unbuilt.to_string().contains("user_id"), "{unbuilt}");
    }

    #[test]
    fn every_other_cause_has_its_own_kind() {
        let refused = Error::Okta(OktaError::Refused {
            path: "/api/v1/apps/0oa1awsidc00000001/users".into(),
            status: 403,
            code: "E0000006".into(),
            summary: "You do not have permission to perform the requested action".into(),
        });
        assert_eq!(refused.kind(), "OktaRefused");
        assert!(
            refused.causes().to_string().contains("HTTP 403 E0000006"),
            "{}",
            refused.causes()
        );
        let cases = [
            (Error::config("VERDICT_TABLE_NAME", "is not set"), "Config"),
            (
                Error::Invalid {
                    what: "Okta login",
                    value: "x".into(),
                    reason: "Okta has no such user",
                },
                "Invalid",
            ),
            (
                Error::Okta(OktaError::RateLimited {
                    path: "/api/v1/logs".into(),
                    attempts: 4,
                }),
                "OktaRateLimited",
            ),
            (
                Error::AwsContract {
                    service: "sso-admin",
                    operation: "ListInstances",
                    problem: "no instance".into(),
                },
                "AwsContract",
            ),
            (
                Error::NotDelivered {
                    finding_ids: vec!["f-1".into()],
                    reason: "SNS refused".into(),
                },
                "NotDelivered",
            ),
            (
                Error::Io {
                    path: "out.json".into(),
                    source: std::io::Error::other("disk full"),
                },
                "Io",
            ),
        ];
        for (error, kind) in cases {
            assert_eq!(error.kind(), kind, "{error}");
        }
    }

    #[test]
    fn causes_walk_the_chain_but_quote_no_json_input() {
        let io = Error::Io {
            path: "findings.json".into(),
            source: std::io::Error::other("disk full"),
        };
        assert_eq!(
            io.causes().to_string(),
            "could not read or write findings.json: disk full"
        );

        let source = serde_json::from_str::<u32>("\"bob.martin@acme.example\"").expect_err("a string is no number");
        let decode = Error::Decode {
            what: "verification job",
            source,
        };
        let text = decode.causes().to_string();
        assert_eq!(
            text,
            "could not decode verification job: JSON Data error at line 1 column 25"
        );
        assert!(!text.contains("bob"), "{text}");
    }

    #[tokio::test]
    async fn an_http_client_error_shows_its_kind_not_its_url() {
        // Port 9 (discard) on loopback: nothing listens, the connection is refused at once.
        let source = reqwest::get("http://127.0.0.1:9/api/v1/users?search=profile.login%20eq%20%22bob%22")
            .await
            .expect_err("nothing listens on port 9");
        let error = Error::Okta(OktaError::Transport {
            path: "/api/v1/users".into(),
            attempts: 3,
            source,
        });
        assert_eq!(error.kind(), "OktaUnreachable");
        let text = error.causes().to_string();
        assert!(
            text.starts_with("Okta request to /api/v1/users could not be sent (attempt 3): HTTP connection failed"),
            "{text}"
        );
        assert!(!text.contains("bob") && !text.contains("search"), "{text}");
    }

    #[test]
    fn a_lambda_error_carries_the_kind_as_its_type_and_the_causes_as_its_message() {
        let diagnostic = lambda_runtime::Diagnostic::from(failed(service_error("AccessDeniedException", DENIED)));
        assert_eq!(diagnostic.error_type, "AwsAccessDenied");
        assert_eq!(
            diagnostic.error_message,
            format!("AWS sso-admin ListAccountAssignments failed: AccessDeniedException: {DENIED}")
        );
    }
}
