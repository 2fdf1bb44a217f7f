//! Client-side rate limits: one token bucket per service (AWS: per service, `aws:ec2`, and per
//! member account in an organization scan, `aws:ec2/123456789012`; GCP and Azure: per API
//! host, `container.googleapis.com`, `management.azure.com`), an optional overall cap
//! (`--max-rps`), and adaptive backoff: a throttling answer halves the bucket's rate, each
//! success wins back 1% of its ceiling. A throttling storm thus slows a scan down; the retries
//! (`--max-attempts`, `Retry-After`) keep it from losing data.
//!
//! The defaults follow the providers' published limits where they exist (see [`default_limit`]
//! and docs/scale.md). The limits are off until [`RateLimits::configure`] turns them on: the CLI
//! does so for live scans; replays and library callers that do not ask run unlimited.

use std::collections::HashMap;
use std::sync::{Mutex, OnceLock};
use std::time::Duration;
use tokio::time::Instant;

/// A bucket's refill rate (tokens a second) and size.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Limit {
    pub rate: f64,
    pub burst: f64,
}

const fn limit(rate: f64, burst: f64) -> Limit {
    Limit { rate, burst }
}

/// The default bucket of a key (`aws:<service>` or an API host).
///
/// - `aws:ec2`: EC2 documents a token bucket per account and region for non-mutating actions
///   (`Describe*`): 100 tokens, refilled at 20 a second.
/// - `aws:sts`: STS documents a request quota of several hundred requests a second per account
///   and region; 100/s stays well under it.
/// - `aws:kms`: KMS documents per-operation quotas in the thousands a second for `DescribeKey`;
///   100/s stays well under it.
/// - `management.azure.com`: Azure Resource Manager's token-bucket throttling allows subscription
///   reads in a bucket of 250 refilled at 25 a second.
/// - IAM, EKS, CloudTrail, Organizations and the Google APIs publish no per-second number for
///   the reads cloudscan makes (Google's quotas are per minute and per project): conservative
///   values, lowered further by throttling answers if they are still too high.
pub fn default_limit(key: &str) -> Limit {
    // `aws:iam/123456789012`: a member account's own bucket has its service's default.
    let key = if key.starts_with("aws:") {
        key.split('/').next().unwrap_or(key)
    } else {
        key
    };
    match key {
        "aws:ec2" => limit(20.0, 100.0),
        "aws:sts" => limit(100.0, 100.0),
        "aws:kms" => limit(100.0, 100.0),
        "aws:iam" => limit(20.0, 40.0),
        "aws:eks" => limit(50.0, 100.0),
        "aws:cloudtrail" => limit(10.0, 20.0),
        "aws:organizations" => limit(10.0, 20.0),
        "management.azure.com" => limit(25.0, 250.0),
        "login.microsoftonline.com" => limit(20.0, 20.0),
        k if k.ends_with(".googleapis.com") => limit(20.0, 50.0),
        k if k.starts_with("aws:") => limit(20.0, 40.0),
        // A sovereign cloud or an emulator behind an endpoint override.
        _ => limit(25.0, 100.0),
    }
}

/// The lowest rate adaptive backoff goes down to (one call every 2 s).
const FLOOR: f64 = 0.5;

#[derive(Debug)]
struct Bucket {
    ceiling: f64,
    rate: f64,
    burst: f64,
    /// May go negative: callers reserve tokens ahead and wait for them.
    tokens: f64,
    at: Instant,
}

impl Bucket {
    fn new(l: Limit) -> Self {
        let rate = l.rate.max(FLOOR);
        Bucket {
            ceiling: rate,
            rate,
            burst: l.burst.max(1.0),
            tokens: l.burst.max(1.0),
            at: Instant::now(),
        }
    }

    fn refill(&mut self, now: Instant) {
        let dt = now.saturating_duration_since(self.at).as_secs_f64();
        self.tokens = (self.tokens + dt * self.rate).min(self.burst);
        self.at = now;
    }

    /// Takes a token; returns how long the caller must wait for it.
    fn reserve(&mut self, now: Instant) -> Duration {
        self.refill(now);
        self.tokens -= 1.0;
        if self.tokens >= 0.0 {
            Duration::ZERO
        } else {
            Duration::from_secs_f64((-self.tokens / self.rate).min(3600.0))
        }
    }
}

#[derive(Debug, Default)]
struct Inner {
    enabled: bool,
    overall: Option<Bucket>,
    buckets: HashMap<String, Bucket>,
    throttled: u64,
}

/// The process's rate limits.
#[derive(Debug, Default)]
pub struct RateLimits {
    inner: Mutex<Inner>,
}

/// The limits every client of the process shares.
pub fn global() -> &'static RateLimits {
    static GLOBAL: OnceLock<RateLimits> = OnceLock::new();
    GLOBAL.get_or_init(RateLimits::default)
}

impl RateLimits {
    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Turns the limits on or off, with an overall cap of `max_rps` calls a second (None: no
    /// overall cap). Resets every bucket.
    pub fn configure(&self, enabled: bool, max_rps: Option<f64>) {
        let mut inner = self.lock();
        inner.enabled = enabled;
        inner.overall = max_rps
            .filter(|r| r.is_finite() && *r > 0.0)
            .map(|r| Bucket::new(limit(r, r.max(1.0))));
        inner.buckets.clear();
        inner.throttled = 0;
    }

    /// Waits until a call to `key` may start.
    pub async fn acquire(&self, key: &str) {
        let wait = {
            let mut inner = self.lock();
            if !inner.enabled {
                return;
            }
            let now = Instant::now();
            let own = inner
                .buckets
                .entry(key.to_string())
                .or_insert_with(|| Bucket::new(default_limit(key)))
                .reserve(now);
            let overall = inner
                .overall
                .as_mut()
                .map(|b| b.reserve(now))
                .unwrap_or_default();
            own.max(overall)
        };
        if !wait.is_zero() {
            tokio::time::sleep(wait).await;
        }
    }

    /// A throttling answer from `key`: halve its rate (not below one call every 2 s) and drop
    /// the tokens saved up.
    pub fn throttled(&self, key: &str) {
        let mut inner = self.lock();
        if !inner.enabled {
            return;
        }
        inner.throttled += 1;
        if let Some(b) = inner.buckets.get_mut(key) {
            b.rate = (b.rate * 0.5).max(FLOOR);
            b.tokens = b.tokens.min(0.0);
        }
    }

    /// A successful answer from `key`: win back 1% of the ceiling.
    pub fn succeeded(&self, key: &str) {
        let mut inner = self.lock();
        if !inner.enabled {
            return;
        }
        if let Some(b) = inner.buckets.get_mut(key) {
            if b.rate < b.ceiling {
                b.rate = (b.rate + b.ceiling * 0.01).min(b.ceiling);
            }
        }
    }

    /// The current rate of `key`'s bucket, when it exists.
    pub fn rate(&self, key: &str) -> Option<f64> {
        self.lock().buckets.get(key).map(|b| b.rate)
    }

    /// Throttling answers seen since [`configure`](Self::configure).
    pub fn throttled_count(&self) -> u64 {
        self.lock().throttled
    }
}

/// The bucket key of an AWS operation named `service:Operation`.
pub fn aws_key(operation: &str) -> String {
    let service = operation.split(':').next().unwrap_or(operation);
    format!("aws:{service}")
}

/// The bucket key of a URL: its host (`container.googleapis.com`), with the port when it has one.
pub fn host_key(url: &str) -> String {
    match reqwest::Url::parse(url) {
        Ok(u) => match (u.host_str(), u.port()) {
            (Some(h), Some(p)) => format!("{h}:{p}"),
            (Some(h), None) => h.to_string(),
            _ => String::new(),
        },
        Err(_) => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn a_bucket_spaces_calls_after_its_burst() {
        let limits = RateLimits::default();
        limits.configure(true, None);
        let start = tokio::time::Instant::now();
        // aws:cloudtrail: 20 at once, then 10 a second.
        for _ in 0..40 {
            limits.acquire("aws:cloudtrail").await;
        }
        let took = start.elapsed().as_secs_f64();
        assert!((1.9..2.2).contains(&took), "{took}");
    }

    #[tokio::test(start_paused = true)]
    async fn the_overall_cap_applies_across_services() {
        let limits = RateLimits::default();
        limits.configure(true, Some(5.0));
        let start = tokio::time::Instant::now();
        for i in 0..15 {
            let key = if i % 2 == 0 { "aws:eks" } else { "aws:kms" };
            limits.acquire(key).await;
        }
        let took = start.elapsed().as_secs_f64();
        assert!((1.9..2.2).contains(&took), "{took}");
    }

    #[test]
    fn throttling_halves_and_success_recovers_slowly() {
        let limits = RateLimits::default();
        limits.configure(true, None);
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build();
        let Ok(rt) = rt else { return };
        rt.block_on(limits.acquire("aws:eks"));
        assert_eq!(limits.rate("aws:eks"), Some(50.0));
        limits.throttled("aws:eks");
        limits.throttled("aws:eks");
        assert_eq!(limits.rate("aws:eks"), Some(12.5));
        for _ in 0..10 {
            limits.succeeded("aws:eks");
        }
        assert_eq!(limits.rate("aws:eks"), Some(17.5));
        for _ in 0..1000 {
            limits.succeeded("aws:eks");
        }
        assert_eq!(limits.rate("aws:eks"), Some(50.0));
        for _ in 0..100 {
            limits.throttled("aws:eks");
        }
        assert_eq!(limits.rate("aws:eks"), Some(FLOOR));
        assert_eq!(limits.throttled_count(), 102);
    }

    #[tokio::test(start_paused = true)]
    async fn off_by_default() {
        let limits = RateLimits::default();
        let start = tokio::time::Instant::now();
        for _ in 0..1000 {
            limits.acquire("aws:cloudtrail").await;
        }
        assert_eq!(start.elapsed(), Duration::ZERO);
    }

    #[test]
    fn keys() {
        assert_eq!(aws_key("eks:DescribeCluster"), "aws:eks");
        assert_eq!(
            host_key("https://container.googleapis.com/v1/x"),
            "container.googleapis.com"
        );
        assert_eq!(
            host_key("http://127.0.0.1:8080/subscriptions"),
            "127.0.0.1:8080"
        );
        assert_eq!(
            default_limit("aws:ec2"),
            Limit {
                rate: 20.0,
                burst: 100.0
            }
        );
        assert_eq!(
            default_limit("aws:iam/210000000001"),
            default_limit("aws:iam")
        );
    }
}
