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

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("create dir");
    for entry in std::fs::read_dir(from).expect("read dir") {
        let entry = entry.expect("entry");
        let target = to.join(entry.file_name());
        if entry.path().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).expect("copy");
        }
    }
}

/// A private copy of a bundled scenario.
pub fn copy_scenario(name: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    copy_dir(&scenario(name), dir.path());
    dir
}

fn exchange_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("read dir") {
        let path = entry.expect("entry").path();
        if path.is_dir() {
            exchange_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "json") {
            out.push(path);
        }
    }
}

/// Rewrites the `responses` of every exchange whose operation is `operation` and whose params
/// satisfy `select`; returns how many were changed.
pub fn edit_responses(
    dir: &Path,
    operation: &str,
    select: impl Fn(&serde_json::Value) -> bool,
    responses: impl Fn(&serde_json::Value) -> serde_json::Value,
) -> usize {
    let mut files = Vec::new();
    exchange_files(&dir.join("exchanges"), &mut files);
    let mut changed = 0;
    for file in files {
        let text = std::fs::read_to_string(&file).expect("read");
        let mut exchange: serde_json::Value = serde_json::from_str(&text).expect("json");
        if exchange["request"]["operation"] != operation || !select(&exchange["request"]["params"])
        {
            continue;
        }
        let new = responses(&exchange["responses"]);
        exchange["responses"] = new;
        std::fs::write(&file, exchange.to_string()).expect("write");
        changed += 1;
    }
    changed
}

pub fn any(_: &serde_json::Value) -> bool {
    true
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
