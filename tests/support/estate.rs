//! The synthetic estate (`mocks/estate`) in integration tests: a runtime to serve it from, the
//! real binary pointed at it with the estate's AWS credentials only, and the exit a finished
//! scan has.

use std::path::Path;
use std::process::{Command, Output};

/// A two-thread runtime for an estate server.
pub fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime")
}

/// `cloudscan aws --no-progress` against the estate at `base`, with the estate's test
/// credentials and nothing of the machine's AWS configuration ([`super::isolated_command`]).
pub fn aws(base: &str, home: &Path) -> Command {
    super::isolated_command(
        &["aws", "--no-progress"],
        &[
            ("AWS_ACCESS_KEY_ID", "AKIDESTATETEST".to_string()),
            ("AWS_SECRET_ACCESS_KEY", "estate".to_string()),
            ("AWS_REGION", "us-east-1".to_string()),
            ("AWS_ENDPOINT_URL", base.to_string()),
        ],
        home,
    )
}

/// Asserts the scan finished with its whole scope read: exit 0 (no finding at the threshold) or
/// 1 (findings), never 3 (incomplete) or an error; `what` and cloudscan's stderr name it.
pub fn assert_scanned(out: &Output, what: &str) {
    let code = out.status.code();
    assert!(
        matches!(code, Some(0 | 1)),
        "{what}: exit {code:?}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
