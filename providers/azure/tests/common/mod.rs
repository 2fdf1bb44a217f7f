//! Test helpers: copy a bundled scenario, edit its recorded responses, replay it.
#![allow(dead_code)]

use cloudscan_azure::{scan, Progress, ProgressFn, ScanOptions, ScanOutput};
use cloudscan_inventory::{Cluster, CoverageStatus, Identity, Inventory};
use std::path::{Path, PathBuf};
use std::sync::Arc;

pub fn mocks() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../mocks/azure")
}

#[allow(unused_imports)]
pub use cloudscan_collect::testkit::any;

pub fn copy_scenario(name: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    cloudscan_collect::testkit::copy_dir(&mocks().join(name), dir.path()).expect("copy");
    dir
}

/// Rewrites the `responses` of every exchange whose operation is `operation` and whose request
/// satisfies `filter`; returns how many were edited.
pub fn edit_responses(
    dir: &Path,
    operation: &str,
    filter: impl Fn(&serde_json::Value) -> bool,
    edit: impl Fn(&serde_json::Value) -> serde_json::Value,
) -> usize {
    cloudscan_collect::testkit::edit_responses(dir, operation, filter, edit).expect("edit")
}

pub fn arm_error(status: u16, code: &str, message: &str) -> serde_json::Value {
    serde_json::json!({"status": status, "headers": {"content-type": "application/json"},
        "json": {"error": {"code": code, "message": message}}})
}

pub fn quiet() -> ProgressFn {
    Arc::new(|_: Progress| {})
}

pub async fn replay(dir: &Path) -> ScanOutput {
    let opts = ScanOptions {
        collect: cloudscan_azure::CollectOptions {
            replay: Some(dir.to_path_buf()),
            ..Default::default()
        },
        ..Default::default()
    };
    scan(&opts, quiet()).await.expect("replay scan")
}

pub fn coverage(inv: &Inventory, service: &str) -> (CoverageStatus, String) {
    let status = inv.coverage_of(service, "global").expect("coverage entry");
    let detail = inv
        .coverage
        .iter()
        .filter(|c| c.service == service)
        .filter_map(|c| c.detail.clone())
        .collect::<Vec<_>>()
        .join(" | ");
    (status, detail)
}

pub fn cluster<'a>(inv: &'a Inventory, name: &str) -> &'a Cluster {
    inv.clusters
        .iter()
        .find(|c| c.name == name)
        .unwrap_or_else(|| panic!("no cluster {name}"))
}

pub fn identity<'a>(inv: &'a Inventory, name: &str) -> &'a Identity {
    inv.identities
        .iter()
        .find(|i| i.name == name)
        .unwrap_or_else(|| panic!("no identity {name}"))
}
