//! The okta-hook's shared secret, held by a warm function and read again so that a rotation takes effect without
//! a redeploy or a window of 401s (Okta never retries a 4xx).
//!
//! The secret holds one or more accepted values, one per line. Rotation: add the new value on a new line, switch
//! Okta to it, then drop the old line. A warm instance sees each step within the TTL:
//! - a value older than `ttl` is read again before it is used;
//! - a presented secret that matches no held value triggers one read at once (Okta already switched, this instance
//!   has not seen the new line yet) — at most one per `min_reread_interval`, so wrong secrets cannot hammer
//!   Secrets Manager;
//! - a read that fails keeps the last good value (logged with its cause, never the secret); with no value ever
//!   read, the answer is "unavailable" (the hook answers 503, which Okta retries once).
//!
//! Time is passed in by the caller (`now`), and the store is a port, so tests drive both.

use std::time::Duration as StdDuration;

use chrono::{DateTime, Duration, Utc};
use secrecy::{ExposeSecret, SecretString};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use tokio::sync::Mutex;

use crate::aws::SecretsManagerSecret;
use crate::config::SecretSource;
use crate::error::Result;
use crate::ports::SecretStore;

/// `OKTA_HOOK_SECRET_TTL_SECONDS`' default.
pub const DEFAULT_TTL_SECONDS: i64 = 300;

/// How often the secret is read again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SecretTiming {
    /// A value read longer ago than this is read again before it is used.
    pub ttl: Duration,
    /// Once a value is held, no two reads are closer than this: a mismatch, or a re-read after a failed one, waits.
    pub min_reread_interval: Duration,
    /// While no value was ever read (each request answered "unavailable"), the spacing of further attempts.
    pub unread_retry_interval: Duration,
    /// One read's time budget (Okta waits 3 s for the whole answer).
    pub read_timeout: StdDuration,
}

impl Default for SecretTiming {
    fn default() -> Self {
        Self {
            ttl: Duration::seconds(DEFAULT_TTL_SECONDS),
            min_reread_interval: Duration::seconds(30),
            unread_retry_interval: Duration::seconds(5),
            read_timeout: StdDuration::from_millis(1500),
        }
    }
}

impl SecretTiming {
    pub fn with_ttl(ttl: Duration) -> Self {
        Self { ttl, ..Self::default() }
    }
}

/// What a presented secret is worth.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SecretCheck {
    /// It equals one of the held values.
    Accepted,
    /// Missing, or it equals none of them (after the one re-read a mismatch may trigger).
    Refused,
    /// No value could ever be read: nothing can be accepted yet.
    Unavailable,
}

/// The shared secret of one warm instance, read again on a TTL and on a (rate-limited) mismatch.
#[derive(Debug)]
pub struct HookSecret<S> {
    store: S,
    timing: SecretTiming,
    held: Mutex<Held>,
}

#[derive(Debug, Default)]
struct Held {
    /// The last good value and when it was read.
    value: Option<(SecretString, DateTime<Utc>)>,
    /// When the last read, good or failed, began.
    attempted_at: Option<DateTime<Utc>>,
}

impl Held {
    /// Why the value must be read before this request is judged, if it must.
    fn due(&self, now: DateTime<Utc>, timing: &SecretTiming) -> Option<&'static str> {
        match &self.value {
            None => spaced(self.attempted_at, now, timing.unread_retry_interval).then_some("never read"),
            Some((_, read_at)) => (at_least(*read_at, now, timing.ttl)
                && spaced(self.attempted_at, now, timing.min_reread_interval))
            .then_some("ttl"),
        }
    }
}

/// `now` is at least `interval` after `since` — or before it (the clock went back: better read once too many).
fn at_least(since: DateTime<Utc>, now: DateTime<Utc>, interval: Duration) -> bool {
    let age = now.signed_duration_since(since);
    age >= interval || age < Duration::zero()
}

fn spaced(last: Option<DateTime<Utc>>, now: DateTime<Utc>, interval: Duration) -> bool {
    last.is_none_or(|at| at_least(at, now, interval))
}

impl<S: SecretStore> HookSecret<S> {
    /// Holds nothing until the first read (`load`, or the first `check`).
    pub fn new(store: S, timing: SecretTiming) -> Self {
        Self {
            store,
            timing,
            held: Mutex::new(Held::default()),
        }
    }

    pub fn timing(&self) -> &SecretTiming {
        &self.timing
    }

    /// Reads the secret now (at cold start). `false` when no value is held afterwards: requests are then answered
    /// "unavailable" until a read succeeds (the failure is logged).
    pub async fn load(&self, now: DateTime<Utc>) -> bool {
        let mut held = self.held.lock().await;
        self.read(&mut held, now, "cold start").await;
        held.value.is_some()
    }

    /// Judges the secret presented in a request, reading the store first when the held value is due, and once more
    /// on a mismatch when the rate limit allows.
    pub async fn check(&self, presented: Option<&[u8]>, now: DateTime<Utc>) -> SecretCheck {
        let mut held = self.held.lock().await;
        if let Some(reason) = held.due(now, &self.timing) {
            self.read(&mut held, now, reason).await;
        }
        let Some((value, _)) = &held.value else {
            return SecretCheck::Unavailable;
        };
        // Nothing presented: no read could change the answer.
        let Some(presented) = presented else {
            return SecretCheck::Refused;
        };
        if accepts(value, presented) {
            return SecretCheck::Accepted;
        }
        if !spaced(held.attempted_at, now, self.timing.min_reread_interval) {
            return SecretCheck::Refused;
        }
        self.read(&mut held, now, "mismatch").await;
        match &held.value {
            Some((value, _)) if accepts(value, presented) => SecretCheck::Accepted,
            _ => SecretCheck::Refused,
        }
    }

    /// One bounded read; a good value replaces the held one, anything else keeps it.
    async fn read(&self, held: &mut Held, now: DateTime<Utc>, reason: &'static str) {
        held.attempted_at = Some(now);
        let kept = held.value.is_some();
        match tokio::time::timeout(self.timing.read_timeout, self.store.read()).await {
            Ok(Ok(secret)) => {
                let values = values(&secret).count();
                if values == 0 {
                    tracing::error!(
                        reason,
                        kept_last_good = kept,
                        "okta hook secret read, but it holds no value (one per line expected); not used"
                    );
                    return;
                }
                tracing::info!(reason, values, "okta hook secret read");
                held.value = Some((secret, now));
            }
            Ok(Err(error)) => tracing::error!(
                reason,
                kept_last_good = kept,
                error = %error.causes(),
                error_kind = error.kind(),
                "okta hook secret could not be read"
            ),
            Err(_) => tracing::error!(
                reason,
                kept_last_good = kept,
                timeout_ms = u64::try_from(self.timing.read_timeout.as_millis()).unwrap_or(u64::MAX),
                "okta hook secret could not be read: timed out"
            ),
        }
    }
}

/// The accepted values: each non-empty line, trimmed.
fn values(secret: &SecretString) -> impl Iterator<Item = &str> {
    secret.expose_secret().lines().map(str::trim).filter(|v| !v.is_empty())
}

/// Compares digests in constant time, so neither the content nor the length of a value leaks by timing; every
/// value is compared, whichever matches.
fn accepts(secret: &SecretString, presented: &[u8]) -> bool {
    let presented = Sha256::digest(presented);
    let mut accepted = subtle::Choice::from(0);
    for value in values(secret) {
        accepted |= presented.ct_eq(&Sha256::digest(value.as_bytes()));
    }
    accepted.into()
}

/// The secret where its `SecretSource` says: Secrets Manager (read again each time) or a plain value (local runs).
#[derive(Debug)]
pub enum SourcedSecret {
    SecretsManager(SecretsManagerSecret),
    Plain(SecretString),
}

impl SourcedSecret {
    pub fn new(source: &SecretSource, sdk: &aws_config::SdkConfig) -> Self {
        match source {
            SecretSource::SecretsManager { secret_id } => {
                Self::SecretsManager(SecretsManagerSecret::new(sdk, secret_id))
            }
            SecretSource::Plain(value) => Self::Plain(value.clone()),
        }
    }
}

impl SecretStore for SourcedSecret {
    async fn read(&self) -> Result<SecretString> {
        match self {
            Self::SecretsManager(secret) => secret.read().await,
            Self::Plain(value) => Ok(value.clone()),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;
    use crate::error::Error;

    /// A secret whose value the test sets (`None`: reads fail), counting reads.
    #[derive(Debug, Default)]
    struct FakeStore {
        value: std::sync::Mutex<Option<String>>,
        reads: AtomicUsize,
        delay: Option<StdDuration>,
    }

    impl FakeStore {
        fn holding(value: &str) -> Self {
            let store = Self::default();
            store.set(Some(value));
            store
        }

        fn set(&self, value: Option<&str>) {
            *self.value.lock().unwrap() = value.map(str::to_owned);
        }

        fn reads(&self) -> usize {
            self.reads.load(Ordering::SeqCst)
        }
    }

    impl SecretStore for &FakeStore {
        async fn read(&self) -> Result<SecretString> {
            self.reads.fetch_add(1, Ordering::SeqCst);
            let value = self.value.lock().unwrap().clone();
            if let Some(delay) = self.delay {
                tokio::time::sleep(delay).await;
            }
            value.map(SecretString::from).ok_or_else(|| Error::AwsContract {
                service: "secretsmanager",
                operation: "GetSecretValue",
                problem: "ThrottlingException: Rate exceeded".into(),
            })
        }
    }

    fn t0() -> DateTime<Utc> {
        "2026-11-20T09:00:00Z".parse().unwrap()
    }

    fn at(seconds: i64) -> DateTime<Utc> {
        t0() + Duration::seconds(seconds)
    }

    fn holder(store: &FakeStore) -> HookSecret<&FakeStore> {
        HookSecret::new(store, SecretTiming::default())
    }

    #[tokio::test]
    async fn a_value_added_is_accepted_on_a_warm_instance_within_the_ttl() {
        let store = FakeStore::holding("old-value");
        let secret = holder(&store);
        assert!(secret.load(t0()).await);
        store.set(Some("old-value\nnew-value"));
        // Still inside the mismatch spacing after the cold-start read: this instance has not seen the new line.
        assert_eq!(secret.check(Some(b"new-value"), at(10)).await, SecretCheck::Refused);
        // The TTL is up: read again, and the new value is in.
        assert_eq!(secret.check(Some(b"new-value"), at(300)).await, SecretCheck::Accepted);
        assert_eq!(secret.check(Some(b"old-value"), at(301)).await, SecretCheck::Accepted);
        assert_eq!(store.reads(), 2, "the cold-start read and one on the TTL");
    }

    #[tokio::test]
    async fn a_value_dropped_is_refused_after_the_ttl() {
        let store = FakeStore::holding("old-value\nnew-value");
        let secret = holder(&store);
        assert!(secret.load(t0()).await);
        store.set(Some("new-value"));
        assert_eq!(secret.check(Some(b"old-value"), at(299)).await, SecretCheck::Accepted);
        assert_eq!(secret.check(Some(b"old-value"), at(300)).await, SecretCheck::Refused);
        assert_eq!(secret.check(Some(b"new-value"), at(301)).await, SecretCheck::Accepted);
        assert_eq!(store.reads(), 2);
    }

    #[tokio::test]
    async fn a_mismatch_rereads_once_not_once_per_request() {
        let store = FakeStore::holding("old-value");
        let secret = holder(&store);
        assert!(secret.load(t0()).await);
        // Okta switched to a value this instance has not read yet: the first request with it triggers a read.
        store.set(Some("old-value\nnew-value"));
        assert_eq!(secret.check(Some(b"new-value"), at(60)).await, SecretCheck::Accepted);
        assert_eq!(store.reads(), 2);
        // A burst of wrong secrets: no read until the spacing has passed, then one.
        for second in 61..90 {
            for _ in 0..10 {
                assert_eq!(secret.check(Some(b"guess"), at(second)).await, SecretCheck::Refused);
            }
        }
        assert_eq!(store.reads(), 2, "a burst of mismatches within 30 s reads nothing");
        assert_eq!(secret.check(Some(b"guess"), at(90)).await, SecretCheck::Refused);
        assert_eq!(secret.check(Some(b"guess"), at(91)).await, SecretCheck::Refused);
        assert_eq!(store.reads(), 3, "one read per 30 s of mismatches");
    }

    #[tokio::test]
    async fn a_missing_secret_header_never_triggers_a_read() {
        let store = FakeStore::holding("old-value");
        let secret = holder(&store);
        assert!(secret.load(t0()).await);
        assert_eq!(secret.check(None, at(100)).await, SecretCheck::Refused);
        assert_eq!(store.reads(), 1);
    }

    #[tokio::test]
    async fn a_failed_reread_keeps_the_last_good_value_and_waits_before_trying_again() {
        let store = FakeStore::holding("old-value");
        let secret = holder(&store);
        assert!(secret.load(t0()).await);
        store.set(None);
        assert_eq!(secret.check(Some(b"old-value"), at(300)).await, SecretCheck::Accepted);
        assert_eq!(store.reads(), 2, "the TTL read was tried");
        for second in 301..330 {
            assert_eq!(
                secret.check(Some(b"old-value"), at(second)).await,
                SecretCheck::Accepted
            );
        }
        assert_eq!(store.reads(), 2, "a failing store is not asked on every request");
        store.set(Some("new-value"));
        assert_eq!(secret.check(Some(b"old-value"), at(330)).await, SecretCheck::Refused);
        assert_eq!(store.reads(), 3);
    }

    #[tokio::test]
    async fn a_secret_never_read_is_unavailable_until_a_read_succeeds() {
        let store = FakeStore::default();
        let secret = holder(&store);
        assert!(!secret.load(t0()).await);
        assert_eq!(secret.check(Some(b"old-value"), at(1)).await, SecretCheck::Unavailable);
        assert_eq!(secret.check(None, at(2)).await, SecretCheck::Unavailable);
        assert_eq!(store.reads(), 1, "retries are spaced even while nothing is held");
        store.set(Some("old-value"));
        assert_eq!(secret.check(Some(b"old-value"), at(5)).await, SecretCheck::Accepted);
        assert_eq!(store.reads(), 2);
    }

    #[tokio::test]
    async fn a_secret_without_any_value_is_not_taken() {
        let store = FakeStore::holding("old-value");
        let secret = holder(&store);
        assert!(secret.load(t0()).await);
        store.set(Some(" \n\n"));
        assert_eq!(secret.check(Some(b"old-value"), at(300)).await, SecretCheck::Accepted);
        let empty = FakeStore::holding("\n");
        assert!(!holder(&empty).load(t0()).await);
    }

    #[tokio::test]
    async fn a_read_that_outruns_its_budget_counts_as_failed() {
        let store = FakeStore {
            delay: Some(StdDuration::from_millis(500)),
            ..FakeStore::holding("old-value")
        };
        let timing = SecretTiming {
            read_timeout: StdDuration::from_millis(20),
            ..SecretTiming::default()
        };
        let secret = HookSecret::new(&store, timing);
        assert!(!secret.load(t0()).await);
        assert_eq!(secret.check(Some(b"old-value"), at(1)).await, SecretCheck::Unavailable);
    }

    #[tokio::test]
    async fn several_values_each_accepted_and_nothing_else() {
        let store = FakeStore::holding("brand-new-secret\n  test-hook-secret \n");
        let secret = holder(&store);
        assert!(secret.load(t0()).await);
        for good in ["brand-new-secret", "test-hook-secret"] {
            assert_eq!(
                secret.check(Some(good.as_bytes()), at(1)).await,
                SecretCheck::Accepted,
                "{good}"
            );
        }
        for wrong in ["", "brand", "brand-new-secret test-hook-secret", " test-hook-secret "] {
            assert_eq!(
                secret.check(Some(wrong.as_bytes()), at(1)).await,
                SecretCheck::Refused,
                "{wrong:?}"
            );
        }
    }

    #[tokio::test]
    async fn a_clock_that_went_back_reads_again() {
        let store = FakeStore::holding("old-value");
        let secret = holder(&store);
        assert!(secret.load(t0()).await);
        store.set(Some("new-value"));
        assert_eq!(secret.check(Some(b"new-value"), at(-3600)).await, SecretCheck::Accepted);
    }
}
