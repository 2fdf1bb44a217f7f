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
