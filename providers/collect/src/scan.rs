//! What every adapter's `scan` takes and gives: collection options, progress events, output.

use cloudscan_inventory::Inventory;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

/// How a scan collects, the same for every cloud (the scope selection is the adapter's own).
#[derive(Debug, Clone, Default)]
pub struct CollectOptions {
    /// Serve every API call from this fixture directory (no network, no real credentials).
    pub replay: Option<PathBuf>,
    /// Record every API call of a live scan into this directory (scrubbed).
    pub record: Option<PathBuf>,
    /// How many API calls may run at once (0 = 16).
    pub concurrency: usize,
    /// Attempts per API call: throttled and transient failures back off and retry (0 = 5).
    pub max_attempts: u32,
    /// The longest one API call may take, retries included (None = the adapter's default).
    pub call_timeout: Option<Duration>,
    /// Scan only the scopes (accounts, projects, subscriptions) of this shard (`--shard I/N`).
    pub shard: Option<Shard>,
}

/// One part of a scan split over several processes (`--shard I/N`, e.g. one Kubernetes Indexed
/// Job pod each). Every scope belongs to exactly one shard, decided by a stable hash of its id, so
/// the split does not depend on which other scopes a shard happens to list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shard {
    /// 0-based.
    pub index: u32,
    pub count: u32,
}

impl Shard {
    /// Parses `I/N` with `0 <= I < N`.
    pub fn parse(text: &str) -> Result<Shard, String> {
        let (i, n) = text
            .split_once('/')
            .ok_or_else(|| format!("shard {text:?}: expected I/N, e.g. 0/4"))?;
        let index: u32 = i
            .trim()
            .parse()
            .map_err(|_| format!("shard {text:?}: index {i:?} is not a number"))?;
        let count: u32 = n
            .trim()
            .parse()
            .map_err(|_| format!("shard {text:?}: count {n:?} is not a number"))?;
        if count == 0 || index >= count {
            return Err(format!(
                "shard {text:?}: the index must be at least 0 and less than the count"
            ));
        }
        Ok(Shard { index, count })
    }

    /// Whether `scope` (an account, project or subscription id) belongs to this shard.
    pub fn selects(&self, scope: &str) -> bool {
        // FNV-1a, 64 bit: stable across runs, platforms and versions (unlike std's hasher).
        let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
        for b in scope.trim().to_ascii_lowercase().bytes() {
            hash ^= u64::from(b);
            hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
        }
        hash % u64::from(self.count) == u64::from(self.index)
    }
}

impl std::fmt::Display for Shard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

impl CollectOptions {
    pub const DEFAULT_CONCURRENCY: usize = 16;
    pub const DEFAULT_ATTEMPTS: u32 = 5;
    /// Default time one API attempt may take (live).
    pub const DEFAULT_CALL_TIMEOUT: Duration = Duration::from_secs(60);

    pub fn concurrency(&self) -> usize {
        if self.concurrency == 0 {
            Self::DEFAULT_CONCURRENCY
        } else {
            self.concurrency
        }
    }

    pub fn attempts(&self) -> u32 {
        if self.max_attempts == 0 {
            Self::DEFAULT_ATTEMPTS
        } else {
            self.max_attempts
        }
    }

    pub fn call_timeout(&self) -> Duration {
        self.call_timeout.unwrap_or(Self::DEFAULT_CALL_TIMEOUT)
    }

    /// `--replay` and `--record` exclude each other.
    pub fn check(&self) -> Result<(), String> {
        if self.replay.is_some() && self.record.is_some() {
            return Err("--replay and --record cannot be used together".to_string());
        }
        Ok(())
    }
}

/// Progress events, for a progress display.
#[derive(Debug, Clone, PartialEq)]
pub enum Progress {
    /// Credentials are usable. `principal`: who the scan runs as, when known (an ARN, a service
    /// account email, a client id); `method`: how the credentials were found, when it matters.
    Authenticated {
        cloud: &'static str,
        principal: Option<String>,
        method: Option<String>,
    },
    /// What will be scanned: `scopes` of kind `unit` (`region`, `project`, `subscription`), and
    /// how many collectors will report `Done`.
    Plan {
        unit: &'static str,
        scopes: Vec<String>,
        tasks: usize,
    },
    /// A collector finished.
    Done { task: String, ok: bool },
    /// Something the user must know before trusting the scan (an endpoint override is active).
    /// Shown whether or not the progress display is on.
    Warning(String),
}

pub type ProgressFn = Arc<dyn Fn(Progress) + Send + Sync>;

/// A progress callback that ignores every event.
pub fn quiet() -> ProgressFn {
    Arc::new(|_| {})
}

/// The result of a scan.
#[derive(Debug)]
pub struct ScanOutput {
    pub inventory: Inventory,
    /// Number of distinct requests written when recording.
    pub recorded: Option<usize>,
}

#[cfg(test)]
mod shard_tests {
    use super::Shard;

    #[test]
    fn parses_and_rejects() {
        assert_eq!(Shard::parse("1/4"), Ok(Shard { index: 1, count: 4 }));
        for bad in ["4/4", "0/0", "x/2", "1", "-1/2", "1/"] {
            assert!(Shard::parse(bad).is_err(), "{bad} accepted");
        }
    }

    #[test]
    fn every_scope_in_exactly_one_shard() {
        let scopes: Vec<String> = (0..500)
            .map(|i| format!("{:012}", 100_000_000_000u64 + i * 7919))
            .collect();
        let count = 4;
        let mut sizes = [0usize; 4];
        for s in &scopes {
            let owners: Vec<u32> = (0..count)
                .filter(|&i| Shard { index: i, count }.selects(s))
                .collect();
            assert_eq!(owners.len(), 1, "{s} owned by {owners:?}");
            sizes[owners[0] as usize] += 1;
        }
        // A stable hash spreads 500 ids roughly evenly.
        assert!(sizes.iter().all(|&n| (80..=170).contains(&n)), "{sizes:?}");
    }
}
