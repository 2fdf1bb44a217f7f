//! Retries: capped exponential backoff with jitter, and a bounded `Retry-After`.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// Retries of throttled (429) and transient (5xx, network) failures.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RetryPolicy {
    /// Attempts in all (1 = no retry).
    pub max_attempts: u32,
    /// The first backoff; doubled each attempt, plus up to 50% jitter, never above `cap`.
    pub base: Duration,
    pub cap: Duration,
    /// The longest wait a `Retry-After` header may impose.
    pub max_retry_after: Duration,
}

impl RetryPolicy {
    /// Live scans: 0.5 s doubling to 32 s; a server may ask for up to 60 s between attempts.
    pub fn live(max_attempts: u32) -> Self {
        RetryPolicy {
            max_attempts: max_attempts.max(1),
            base: Duration::from_millis(500),
            cap: Duration::from_secs(32),
            max_retry_after: Duration::from_secs(60),
        }
    }

    /// Replays: fast backoff; a recorded `Retry-After` is still honoured, up to 2 s.
    pub fn replay(max_attempts: u32) -> Self {
        RetryPolicy {
            max_attempts: max_attempts.max(1),
            base: Duration::from_millis(5),
            cap: Duration::from_millis(50),
            max_retry_after: Duration::from_secs(2),
        }
    }

    /// How long to wait before attempt `attempt + 1` (attempts count from 1). A `Retry-After`
    /// wins over the backoff, bounded by `max_retry_after`.
    pub fn delay(&self, attempt: u32, retry_after: Option<Duration>) -> Duration {
        if let Some(after) = retry_after {
            return after.min(self.max_retry_after);
        }
        let factor = 1u32
            .checked_shl(attempt.saturating_sub(1))
            .unwrap_or(u32::MAX);
        let capped = self.base.saturating_mul(factor).min(self.cap);
        let jitter = capped.mul_f64(jitter_fraction() * 0.5);
        capped.saturating_add(jitter).min(self.cap)
    }
}

/// A fraction in [0, 1), different on every call (a splitmix64 sequence seeded by the clock), so
/// that concurrent callers throttled together do not retry together.
fn jitter_fraction() -> f64 {
    static STATE: AtomicU64 = AtomicU64::new(0);
    let seed = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(0);
    let mut z = STATE
        .fetch_add(0x9E37_79B9_7F4A_7C15, Ordering::Relaxed)
        .wrapping_add(seed);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^= z >> 31;
    (z >> 11) as f64 / (1u64 << 53) as f64
}

/// Parses `Retry-After` in its delay-seconds form, never failing on a hostile value: negative,
/// not a number or an HTTP date gives None (the backoff applies); a huge value is capped at
/// `max`.
pub fn parse_retry_after(value: &str, max: Duration) -> Option<Duration> {
    let seconds = value.trim().parse::<f64>().ok()?;
    if !seconds.is_finite() || seconds < 0.0 {
        return None;
    }
    if seconds >= max.as_secs_f64() {
        return Some(max);
    }
    Some(Duration::try_from_secs_f64(seconds).unwrap_or(max).min(max))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_is_exponential_capped_and_honours_retry_after() {
        let p = RetryPolicy {
            max_attempts: 5,
            base: Duration::from_millis(100),
            cap: Duration::from_millis(300),
            max_retry_after: Duration::from_secs(2),
        };
        for _ in 0..50 {
            let d = p.delay(1, None);
            assert!(d >= Duration::from_millis(100) && d <= Duration::from_millis(150));
        }
        assert!(p.delay(2, None) >= Duration::from_millis(200));
        assert_eq!(p.delay(10, None), Duration::from_millis(300));
        assert_eq!(p.delay(u32::MAX, None), Duration::from_millis(300));
        assert_eq!(
            p.delay(1, Some(Duration::from_secs(1))),
            Duration::from_secs(1)
        );
        assert_eq!(
            p.delay(1, Some(Duration::from_secs(90))),
            Duration::from_secs(2)
        );
    }

    #[test]
    fn hostile_retry_after_values_never_panic() {
        let max = Duration::from_secs(60);
        assert_eq!(parse_retry_after("3", max), Some(Duration::from_secs(3)));
        assert_eq!(
            parse_retry_after(" 0.5 ", max),
            Some(Duration::from_millis(500))
        );
        for huge in ["1e20", "1e308", "18446744073709551616", "9999999999999"] {
            assert_eq!(parse_retry_after(huge, max), Some(max), "{huge}");
        }
        for bad in [
            "-1",
            "NaN",
            "inf",
            "-inf",
            "",
            "Wed, 21 Oct 2015 07:28:00 GMT",
            "1e400",
        ] {
            assert_eq!(parse_retry_after(bad, max), None, "{bad}");
        }
    }

    #[test]
    fn jitter_spreads() {
        let values: std::collections::BTreeSet<u64> = (0..100)
            .map(|_| (jitter_fraction() * 1000.0) as u64)
            .collect();
        assert!(values.len() > 50);
        assert!(values.iter().all(|v| *v < 1000));
    }
}
