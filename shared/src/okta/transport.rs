//! One HTTP exchange with Okta, sent again as the retry policy allows: after a 429 wait for the rate-limit
//! reset, after a 5xx, a timeout or a failed connection back off. Anything else is the caller's to read.

use std::time::Duration;

use chrono::Utc;
use reqwest::header::{DATE, HeaderMap};
use reqwest::{RequestBuilder, StatusCode};

use super::OktaError;
use super::retry::RetryPolicy;
use crate::rate_limit::{ApiFamily, Gates};

const RATE_LIMIT_RESET: &str = "x-rate-limit-reset";

#[derive(Debug)]
pub(crate) struct Transport {
    http: reqwest::Client,
    retry: RetryPolicy,
    /// Each attempt passes its rate-limit bucket's gate (`ApiFamily::of_okta_path`); `None`: not limited here
    /// (Okta's 429 and X-Rate-Limit-Reset still are).
    gates: Option<Gates>,
}

/// A whole answer: read to the end inside the retry loop, so a body that times out is retried too.
#[derive(Debug)]
pub(crate) struct Answer {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Vec<u8>,
}

impl Transport {
    pub fn new(timeout: Duration, retry: RetryPolicy) -> Result<Self, OktaError> {
        let http = reqwest::Client::builder()
            .timeout(timeout)
            .user_agent(concat!("deprov-audit/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(OktaError::HttpClient)?;
        Ok(Self {
            http,
            retry,
            gates: None,
        })
    }

    pub fn set_gates(&mut self, gates: Gates) {
        self.gates = Some(gates);
    }

    /// Sends what `build` makes (built afresh for every attempt) until Okta answers anything but a 429 or a 5xx,
    /// or the attempts run out. `path` names the request in logs and errors.
    pub async fn send(
        &self,
        path: &str,
        build: impl Fn(&reqwest::Client) -> Result<RequestBuilder, OktaError>,
    ) -> Result<Answer, OktaError> {
        let attempts = self.retry.attempts();
        let mut attempt = 0;
        loop {
            attempt += 1;
            let last = attempt >= attempts;
            let answer = {
                let _pass = match &self.gates {
                    Some(gates) => Some(gates.of(ApiFamily::of_okta_path(path)).enter().await),
                    None => None,
                };
                exchange(build(&self.http)?).await
            };
            let wait = match answer {
                Ok(None) => {
                    tracing::warn!(
                        path,
                        attempt,
                        limit = MAX_ANSWER_BYTES,
                        "Okta answer too large: refused"
                    );
                    return Err(OktaError::TooLarge {
                        path: path.to_owned(),
                        limit: MAX_ANSWER_BYTES,
                    });
                }
                Ok(Some(answer)) if answer.status == StatusCode::TOO_MANY_REQUESTS => {
                    if last {
                        tracing::warn!(path, status = 429, attempt, "Okta rate limit: giving up");
                        return Err(OktaError::RateLimited {
                            path: path.to_owned(),
                            attempts: attempt,
                        });
                    }
                    self.retry.rate_limit_wait(
                        header(&answer.headers, RATE_LIMIT_RESET),
                        header(&answer.headers, DATE.as_str()),
                        Utc::now(),
                        attempt,
                    )
                }
                Ok(Some(answer)) if answer.status.is_server_error() => {
                    if last {
                        tracing::warn!(
                            path,
                            status = answer.status.as_u16(),
                            attempt,
                            "Okta unavailable: giving up"
                        );
                        return Err(OktaError::Unavailable {
                            path: path.to_owned(),
                            status: answer.status.as_u16(),
                            attempts: attempt,
                        });
                    }
                    self.retry.backoff(attempt)
                }
                Ok(Some(answer)) => {
                    tracing::debug!(path, status = answer.status.as_u16(), attempt, "Okta answered");
                    return Ok(answer);
                }
                Err(source) if (source.is_timeout() || source.is_connect()) && !last => self.retry.backoff(attempt),
                Err(source) => {
                    tracing::warn!(path, attempt, timeout = source.is_timeout(), "Okta request failed");
                    return Err(OktaError::Transport {
                        path: path.to_owned(),
                        attempts: attempt,
                        source,
                    });
                }
            };
            tracing::info!(
                path,
                attempt,
                wait_ms = wait.as_millis() as u64,
                "retrying Okta request"
            );
            tokio::time::sleep(wait).await;
        }
    }
}

/// The most of one Okta answer read: its largest pages (200 users, 1,000 System Log events) are a few MiB; an
/// answer past this is refused, not buffered.
pub const MAX_ANSWER_BYTES: usize = 32 * 1024 * 1024;

/// One request and its answer, the body read chunk by chunk up to [`MAX_ANSWER_BYTES`] (`None`: larger).
async fn exchange(request: RequestBuilder) -> Result<Option<Answer>, reqwest::Error> {
    let mut response = request.send().await?;
    let status = response.status();
    let headers = response.headers().clone();
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await? {
        if body.len().saturating_add(chunk.len()) > MAX_ANSWER_BYTES {
            return Ok(None);
        }
        body.extend_from_slice(&chunk);
    }
    Ok(Some(Answer { status, headers, body }))
}

fn header<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|value| value.to_str().ok())
}
