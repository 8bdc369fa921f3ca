//! Client-side rate limits, one per API family: each family's calls pass one gate that lets at most `tps` calls
//! start per second and at most `in_flight` run at once. The families are independent (each has its own quota at
//! the provider), so they run in parallel; within a family several calls are in flight, so a run takes
//! calls ÷ TPS and not calls × latency.
//!
//! The gate sits below retries: the AWS SDK's standard retry (see `aws::load_sdk_config`) and the Okta
//! transport's retry send every attempt through it, so a retried call is counted like any other. Never the SDK's
//! *adaptive* retry mode as well: measured on a throttling front, one early throttle slowed it to a crawl.

use std::fmt;
use std::num::NonZeroU32;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};
use tokio::sync::{Semaphore, SemaphorePermit};

/// An API family: the unit a provider's quota applies to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ApiFamily {
    IdentityStore,
    SsoAdmin,
    Organizations,
    CloudTrail,
    /// `GET /api/v1/users*`.
    OktaUsers,
    /// `GET /api/v1/groups*`.
    OktaGroups,
    /// `GET /api/v1/apps*` (app users, app groups, push mappings, keys).
    OktaApps,
    /// `GET /api/v1/logs`.
    OktaLogs,
    /// Any other Okta path.
    OktaOther,
}

impl ApiFamily {
    pub const ALL: [ApiFamily; 9] = [
        Self::IdentityStore,
        Self::SsoAdmin,
        Self::Organizations,
        Self::CloudTrail,
        Self::OktaUsers,
        Self::OktaGroups,
        Self::OktaApps,
        Self::OktaLogs,
        Self::OktaOther,
    ];

    /// The name used in settings (`API_RATE_LIMITS`), logs and `InventoryStats`.
    pub fn name(self) -> &'static str {
        match self {
            Self::IdentityStore => "identitystore",
            Self::SsoAdmin => "sso-admin",
            Self::Organizations => "organizations",
            Self::CloudTrail => "cloudtrail",
            Self::OktaUsers => "okta-users",
            Self::OktaGroups => "okta-groups",
            Self::OktaApps => "okta-apps",
            Self::OktaLogs => "okta-logs",
            Self::OktaOther => "okta-other",
        }
    }

    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|f| f.name() == name)
    }

    /// The Okta rate-limit bucket an API path counts against.
    pub fn of_okta_path(path: &str) -> Self {
        let under = |prefix: &str| path == prefix || path.starts_with(&format!("{prefix}/"));
        if under("/api/v1/logs") {
            Self::OktaLogs
        } else if under("/api/v1/apps") {
            Self::OktaApps
        } else if under("/api/v1/groups") {
            Self::OktaGroups
        } else if under("/api/v1/users") {
            Self::OktaUsers
        } else {
            Self::OktaOther
        }
    }

    /// The documented rate, in calls per second.
    ///
    /// - identitystore, sso-admin: "a collective throttle maximum of 20 transactions per second" each (IAM Identity
    ///   Center User Guide, Quotas).
    /// - CloudTrail LookupEvents: "limited to two per second, per account, per Region".
    /// - Organizations: UNVERIFIED (AWS publishes no per-call figure for ListAccounts); 5/s is conservative and the
    ///   inventory makes one call per 20 accounts.
    /// - Okta: the historical per-minute Workforce table (removed from Okta's docs, now only in the Admin Console:
    ///   indicative), halved because one API token or OAuth app may use 50% of a bucket by default: users 600,
    ///   groups 500, apps 100, logs 120, other 1200 per minute.
    pub fn documented_per_second(self) -> f64 {
        match self {
            Self::IdentityStore | Self::SsoAdmin => 20.0,
            Self::Organizations => 5.0,
            Self::CloudTrail => 2.0,
            Self::OktaUsers => okta_share(600.0),
            Self::OktaGroups => okta_share(500.0),
            Self::OktaApps => okta_share(100.0),
            Self::OktaLogs => okta_share(120.0),
            Self::OktaOther => okta_share(1200.0),
        }
    }
}

/// One API token's default share (50 %) of an Okta bucket of `per_minute` calls, per second.
fn okta_share(per_minute: f64) -> f64 {
    per_minute * OKTA_TOKEN_SHARE / 60.0
}

const OKTA_TOKEN_SHARE: f64 = 0.5;

impl fmt::Display for ApiFamily {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Calls in flight per family unless configured: enough to keep a 20 TPS quota busy at ~50-100 ms a call, few
/// enough that a family never bursts past its rate.
pub const DEFAULT_IN_FLIGHT: u32 = 8;

/// One family's limit.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FamilyLimit {
    /// Calls started per second (may be below 1: Okta buckets are per minute).
    pub per_second: f64,
    pub in_flight: u32,
}

/// The limits of every family. `Default`: the documented rates (`ApiFamily::documented_per_second`).
#[derive(Debug, Clone, PartialEq)]
pub struct RateLimits {
    limits: Vec<(ApiFamily, FamilyLimit)>,
}

impl Default for RateLimits {
    fn default() -> Self {
        Self {
            limits: ApiFamily::ALL
                .into_iter()
                .map(|family| {
                    (
                        family,
                        FamilyLimit {
                            per_second: family.documented_per_second(),
                            in_flight: DEFAULT_IN_FLIGHT,
                        },
                    )
                })
                .collect(),
        }
    }
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error(
    "rate limits: {0} (expected e.g. `sso-admin=20,identitystore=20/8,okta-apps=0.8`: family=per-second[/in-flight])"
)]
pub struct RateLimitsError(String);

impl RateLimits {
    pub fn limit(&self, family: ApiFamily) -> FamilyLimit {
        self.limits.iter().find(|(f, _)| *f == family).map_or(
            FamilyLimit {
                per_second: family.documented_per_second(),
                in_flight: DEFAULT_IN_FLIGHT,
            },
            |(_, limit)| *limit,
        )
    }

    pub fn with(mut self, family: ApiFamily, limit: FamilyLimit) -> Self {
        self.limits.retain(|(f, _)| *f != family);
        self.limits.push((family, limit));
        self
    }

    /// The documented rates, changed where `spec` says: `family=per_second[/in_flight]`, comma-separated (the
    /// `API_RATE_LIMITS` setting). Empty: the documented rates.
    pub fn parse(spec: &str) -> Result<Self, RateLimitsError> {
        let mut limits = Self::default();
        for item in spec.split(',').map(str::trim).filter(|item| !item.is_empty()) {
            let (name, value) = item
                .split_once('=')
                .ok_or_else(|| RateLimitsError(format!("`{item}` has no `=`")))?;
            let family = ApiFamily::from_name(name.trim())
                .ok_or_else(|| RateLimitsError(format!("`{}` is not an API family", name.trim())))?;
            let (rate, in_flight) = match value.split_once('/') {
                Some((rate, in_flight)) => (rate, Some(in_flight)),
                None => (value, None),
            };
            let per_second: f64 = rate
                .trim()
                .parse()
                .ok()
                .filter(|r: &f64| r.is_finite() && *r > 0.0 && *r <= 100_000.0)
                .ok_or_else(|| RateLimitsError(format!("`{}` is not a rate between 0 and 100000", rate.trim())))?;
            let in_flight = match in_flight {
                None => DEFAULT_IN_FLIGHT,
                Some(n) => n
                    .trim()
                    .parse()
                    .ok()
                    .filter(|n| (1..=1000).contains(n))
                    .ok_or_else(|| RateLimitsError(format!("`{}` is not an in-flight count 1..=1000", n.trim())))?,
            };
            limits = limits.with(family, FamilyLimit { per_second, in_flight });
        }
        Ok(limits)
    }

    /// One gate per family, to share between every client of a run.
    pub fn gates(&self) -> Gates {
        Gates(Arc::new(
            ApiFamily::ALL
                .into_iter()
                .map(|family| Gate::new(family, self.limit(family)))
                .collect(),
        ))
    }
}

/// The gates of every family (cheap to clone: shared).
#[derive(Debug, Clone)]
pub struct Gates(Arc<Vec<Gate>>);

impl Gates {
    pub fn of(&self, family: ApiFamily) -> &Gate {
        // Every family has a gate (built from `ApiFamily::ALL`).
        self.0.iter().find(|g| g.family == family).unwrap_or(&self.0[0])
    }

    /// The calls each family's gate let through so far (every attempt counts), families with none left out.
    pub fn calls(&self) -> Vec<(String, u64)> {
        self.0
            .iter()
            .map(|g| (g.family.name().to_owned(), g.calls.load(Ordering::Relaxed)))
            .filter(|(_, n)| *n > 0)
            .collect()
    }

    /// The calls let through since `before` (an earlier `calls()`), per family, families with none left out:
    /// one run's share when the gates outlive it (a warm Lambda's gates serve every invocation).
    pub fn calls_since(&self, before: &[(String, u64)]) -> Vec<(String, u64)> {
        self.calls()
            .into_iter()
            .map(|(name, now)| {
                let earlier = before.iter().find(|(n, _)| *n == name).map_or(0, |(_, c)| *c);
                (name, now.saturating_sub(earlier))
            })
            .filter(|(_, n)| *n > 0)
            .collect()
    }

    /// No limit at all (tests of other things, and the CLI's offline runs).
    pub fn unlimited() -> Self {
        RateLimits {
            limits: ApiFamily::ALL
                .into_iter()
                .map(|f| {
                    (
                        f,
                        FamilyLimit {
                            per_second: 100_000.0,
                            in_flight: 1000,
                        },
                    )
                })
                .collect(),
        }
        .gates()
    }
}

/// One family's gate: a GCRA rate limiter (no burst: calls start evenly spaced) and a cap on calls in flight.
pub struct Gate {
    family: ApiFamily,
    rate: DefaultDirectRateLimiter,
    in_flight: Semaphore,
    calls: AtomicU64,
}

impl fmt::Debug for Gate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Gate")
            .field("family", &self.family)
            .field("free_slots", &self.in_flight.available_permits())
            .finish()
    }
}

impl Gate {
    fn new(family: ApiFamily, limit: FamilyLimit) -> Self {
        let period = Duration::from_secs_f64(1.0 / limit.per_second.clamp(1e-3, 1e6));
        let quota = Quota::with_period(period.max(Duration::from_nanos(1)))
            .unwrap_or_else(|| Quota::per_second(NonZeroU32::MIN))
            .allow_burst(NonZeroU32::MIN);
        Self {
            family,
            rate: RateLimiter::direct(quota),
            in_flight: Semaphore::new(usize::try_from(limit.in_flight.max(1)).unwrap_or(1)),
            calls: AtomicU64::new(0),
        }
    }

    pub fn family(&self) -> ApiFamily {
        self.family
    }

    /// Waits for a free slot, then for the call's turn; the call runs while the returned pass is held.
    pub async fn enter(&self) -> Pass<'_> {
        // The semaphore is never closed.
        let permit = self.in_flight.acquire().await.ok();
        self.rate.until_ready().await;
        self.calls.fetch_add(1, Ordering::Relaxed);
        Pass { _permit: permit }
    }
}

/// A call's slot in its family: dropped when the call has its answer.
#[derive(Debug)]
pub struct Pass<'a> {
    _permit: Option<SemaphorePermit<'a>>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Instant;

    #[test]
    fn the_setting_changes_only_the_families_it_names() {
        let limits = RateLimits::parse("sso-admin=10/4, okta-apps=0.5").unwrap();
        assert_eq!(
            limits.limit(ApiFamily::SsoAdmin),
            FamilyLimit {
                per_second: 10.0,
                in_flight: 4
            }
        );
        assert_eq!(limits.limit(ApiFamily::OktaApps).per_second, 0.5);
        assert_eq!(limits.limit(ApiFamily::IdentityStore).per_second, 20.0);
        assert_eq!(RateLimits::parse("").unwrap(), RateLimits::default());
        for bad in [
            "sso-admin",
            "nope=1",
            "sso-admin=0",
            "sso-admin=x",
            "sso-admin=1/0",
            "cloudtrail=inf",
        ] {
            assert!(RateLimits::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn okta_paths_count_against_their_bucket() {
        assert_eq!(ApiFamily::of_okta_path("/api/v1/logs"), ApiFamily::OktaLogs);
        assert_eq!(ApiFamily::of_okta_path("/api/v1/apps/0oa1/users"), ApiFamily::OktaApps);
        assert_eq!(
            ApiFamily::of_okta_path("/api/v1/groups/00g1/users"),
            ApiFamily::OktaGroups
        );
        assert_eq!(ApiFamily::of_okta_path("/api/v1/users"), ApiFamily::OktaUsers);
        assert_eq!(ApiFamily::of_okta_path("/api/v1/usersx"), ApiFamily::OktaOther);
        assert_eq!(ApiFamily::of_okta_path("/oauth2/v1/token"), ApiFamily::OktaOther);
    }

    #[tokio::test]
    async fn a_gate_spaces_calls_at_its_rate_and_caps_those_in_flight() {
        let gates = RateLimits::default()
            .with(
                ApiFamily::SsoAdmin,
                FamilyLimit {
                    per_second: 50.0,
                    in_flight: 2,
                },
            )
            .gates();
        let gate = gates.of(ApiFamily::SsoAdmin);
        let started = Instant::now();
        let running = std::sync::atomic::AtomicUsize::new(0);
        let peak = std::sync::atomic::AtomicUsize::new(0);
        let call = || async {
            let _pass = gate.enter().await;
            let now = running.fetch_add(1, std::sync::atomic::Ordering::SeqCst) + 1;
            peak.fetch_max(now, std::sync::atomic::Ordering::SeqCst);
            tokio::time::sleep(Duration::from_millis(5)).await;
            running.fetch_sub(1, std::sync::atomic::Ordering::SeqCst);
        };
        futures_util::future::join_all((0..21).map(|_| call())).await;
        let elapsed = started.elapsed();
        // 21 calls at 50/s: the first at once, the last 20 periods (400 ms) later.
        assert!(elapsed >= Duration::from_millis(380), "{elapsed:?}");
        assert!(elapsed < Duration::from_millis(1500), "{elapsed:?}");
        assert!(peak.load(std::sync::atomic::Ordering::SeqCst) <= 2);
    }

    #[tokio::test]
    async fn calls_since_counts_only_the_later_calls() {
        let gates = Gates::unlimited();
        drop(gates.of(ApiFamily::SsoAdmin).enter().await);
        let before = gates.calls();
        for _ in 0..3 {
            drop(gates.of(ApiFamily::SsoAdmin).enter().await);
        }
        drop(gates.of(ApiFamily::OktaUsers).enter().await);
        let mut since = gates.calls_since(&before);
        since.sort();
        assert_eq!(since, [("okta-users".to_owned(), 1), ("sso-admin".to_owned(), 3)]);
        assert!(gates.calls_since(&gates.calls()).is_empty());
    }
}
