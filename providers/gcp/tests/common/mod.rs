//! Helpers shared by the integration tests: scenario paths, copies that a test can edit, and a
//! replayed scan (real reqwest client, real google-cloud-auth token, 127.0.0.1 fixture server).

#![allow(dead_code)]

use cloudscan_gcp::{scan, ProgressFn, ScanOptions, ScanOutput};
use cloudscan_inventory::{Cluster, CoverageStatus, Inventory, NodePool};
use std::path::{Path, PathBuf};
use std::sync::Arc;

pub fn scenario(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../mocks/gcp")
        .join(name)
}

pub fn quiet() -> ProgressFn {
    Arc::new(|_| {})
}

pub async fn replay(dir: &Path) -> ScanOutput {
    let opts = ScanOptions {
        collect: cloudscan_gcp::CollectOptions {
            replay: Some(dir.to_path_buf()),
            concurrency: 4,
            max_attempts: 3,
            ..Default::default()
        },
        ..Default::default()
    };
    match scan(&opts, quiet()).await {
        Ok(out) => out,
        Err(e) => panic!("replay of {} failed: {e}", dir.display()),
    }
}

/// A private copy of a bundled scenario.
pub fn copy_scenario(name: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    cloudscan_collect::testkit::copy_dir(&scenario(name), dir.path()).expect("copy");
    dir
}

#[allow(unused_imports)]
pub use cloudscan_collect::testkit::any;

/// Rewrites the `responses` of every exchange whose operation is `operation` and whose params
/// satisfy `select`; returns how many were changed.
pub fn edit_responses(
    dir: &Path,
    operation: &str,
    select: impl Fn(&serde_json::Value) -> bool,
    responses: impl Fn(&serde_json::Value) -> serde_json::Value,
) -> usize {
    cloudscan_collect::testkit::edit_responses(dir, operation, |r| select(&r["params"]), responses)
        .expect("edit")
}

pub fn google_error(status: u16, rpc: &str, message: &str) -> serde_json::Value {
    serde_json::json!({
        "status": status,
        "headers": {"content-type": "application/json; charset=UTF-8"},
        "json": {"error": {"code": status, "message": message, "status": rpc}}
    })
}

pub fn cluster<'a>(inv: &'a Inventory, name: &str) -> &'a Cluster {
    inv.clusters
        .iter()
        .find(|c| c.name == name)
        .unwrap_or_else(|| panic!("no cluster {name}"))
}

pub fn pool<'a>(c: &'a Cluster, name: &str) -> &'a NodePool {
    c.node_pools
        .iter()
        .find(|p| p.name == name)
        .unwrap_or_else(|| panic!("no pool {name} in {}", c.name))
}

pub fn coverage(inv: &Inventory, service: &str, region: &str) -> (CoverageStatus, String) {
    let entry = inv
        .coverage
        .iter()
        .find(|c| c.service == service && c.region == region)
        .unwrap_or_else(|| panic!("no coverage for {service} {region}: {:?}", inv.coverage));
    (entry.status, entry.detail.clone().unwrap_or_default())
}
