//! How hard to try: attempts, backoff, and how long to wait for Okta's rate-limit window to reset.

use std::time::Duration;

use chrono::{DateTime, Utc};

/// Bounds every request: a request is sent at most `max_attempts` times and never pauses longer than `max_wait`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Attempts per request, the first included. 0 counts as 1.
    pub max_attempts: u32,
    /// The pause after the first 5xx, timeout or failed connection; doubled after each further one.
    pub base_backoff: Duration,
    /// The longest single pause, whether backing off or waiting for a rate-limit reset.
    pub max_wait: Duration,
    /// Added to the wait for `X-Rate-Limit-Reset`: Okta's own SDKs add 1 s for clock differences between the
    /// servers that write `Date` and `X-Rate-Limit-Reset`.
    pub reset_margin: Duration,
}

impl Default for RetryPolicy {
    /// 5 attempts, backoff from 500 ms, waits of at most 61 s (Okta's windows are about 60 s), 1 s margin.
    fn default() -> Self {
        Self {
            max_attempts: 5,
            base_backoff: Duration::from_millis(500),
            max_wait: Duration::from_secs(61),
            reset_margin: Duration::from_secs(1),
        }
    }
}

/// A reset further ahead than this is not a rate-limit window: the header is wrong, so back off instead.
const PLAUSIBLE_RESET: chrono::TimeDelta = chrono::TimeDelta::hours(1);

impl RetryPolicy {
    pub(crate) fn attempts(&self) -> u32 {
        self.max_attempts.max(1)
    }

    /// The pause after failed attempt `attempt` (1-based): `base_backoff × 2^(attempt−1)`, at most `max_wait`.
    pub(crate) fn backoff(&self, attempt: u32) -> Duration {
        let factor = 2u32.saturating_pow(attempt.saturating_sub(1));
        self.base_backoff.saturating_mul(factor).min(self.max_wait)
    }

    /// The pause after a 429 on attempt `attempt`: until `X-Rate-Limit-Reset` (epoch seconds) as seen from the
    /// answer's `Date` (Okta's clock; `now` when absent), plus the margin. Backoff when the reset is missing,
    /// unreadable or implausibly far; never more than `max_wait`.
    pub(crate) fn rate_limit_wait(
        &self,
        reset: Option<&str>,
        date: Option<&str>,
        now: DateTime<Utc>,
        attempt: u32,
    ) -> Duration {
        let Some(reset) = reset
            .and_then(|value| value.trim().parse::<i64>().ok())
            .and_then(|seconds| DateTime::<Utc>::from_timestamp(seconds, 0))
        else {
            return self.backoff(attempt);
        };
        let server_now = date
            .and_then(|value| DateTime::parse_from_rfc2822(value.trim()).ok())
            .map_or(now, |date| date.with_timezone(&Utc));
        let until_reset = reset - server_now;
        if until_reset > PLAUSIBLE_RESET {
            return self.backoff(attempt);
        }
        let until_reset = until_reset.to_std().unwrap_or(Duration::ZERO);
        (until_reset + self.reset_margin).min(self.max_wait)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy() -> RetryPolicy {
        RetryPolicy {
            max_attempts: 4,
            base_backoff: Duration::from_millis(100),
            max_wait: Duration::from_secs(30),
            reset_margin: Duration::from_secs(1),
        }
    }

    fn at(seconds: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(seconds, 0).unwrap()
    }

    #[test]
    fn backoff_doubles_and_stops_at_max_wait() {
        let policy = policy();
        assert_eq!(policy.backoff(1), Duration::from_millis(100));
        assert_eq!(policy.backoff(2), Duration::from_millis(200));
        assert_eq!(policy.backoff(3), Duration::from_millis(400));
        assert_eq!(policy.backoff(40), Duration::from_secs(30));
    }

    #[test]
    fn waits_until_the_reset_seen_from_okta_clock_plus_the_margin() {
        // Okta's Date says 1_700_000_000; our clock is 5 s behind: Okta's clock wins.
        let date = "Tue, 14 Nov 2023 22:13:20 GMT";
        let wait = policy().rate_limit_wait(Some("1700000010"), Some(date), at(1_699_999_995), 1);
        assert_eq!(wait, Duration::from_secs(11));
    }

    #[test]
    fn uses_the_local_clock_without_a_date_header() {
        let wait = policy().rate_limit_wait(Some("1700000003"), None, at(1_700_000_000), 1);
        assert_eq!(wait, Duration::from_secs(4));
    }

    #[test]
    fn a_reset_already_past_waits_only_the_margin() {
        let wait = policy().rate_limit_wait(Some("1699999990"), None, at(1_700_000_000), 1);
        assert_eq!(wait, Duration::from_secs(1));
    }

    #[test]
    fn a_missing_or_absurd_reset_falls_back_to_backoff() {
        let policy = policy();
        let now = at(1_700_000_000);
        assert_eq!(policy.rate_limit_wait(None, None, now, 2), Duration::from_millis(200));
        assert_eq!(
            policy.rate_limit_wait(Some("soon"), None, now, 1),
            Duration::from_millis(100)
        );
        assert_eq!(
            policy.rate_limit_wait(Some("1800000000"), None, now, 1),
            Duration::from_millis(100)
        );
    }

    #[test]
    fn a_distant_but_plausible_reset_is_capped_by_max_wait() {
        let wait = policy().rate_limit_wait(Some("1700000600"), None, at(1_700_000_000), 1);
        assert_eq!(wait, Duration::from_secs(30));
    }

    #[test]
    fn zero_attempts_still_means_one() {
        let policy = RetryPolicy {
            max_attempts: 0,
            ..policy()
        };
        assert_eq!(policy.attempts(), 1);
    }
}
