//! Test helpers: copy a bundled scenario, edit its recorded responses, replay it.
#![allow(dead_code)]

use cloudscan_azure::{scan, Progress, ProgressFn, ScanOptions, ScanOutput};
use cloudscan_inventory::{Cluster, CoverageStatus, Identity, Inventory};
use std::path::{Path, PathBuf};
use std::sync::Arc;

pub fn mocks() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../mocks/azure")
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("mkdir");
    for entry in std::fs::read_dir(from).expect("read_dir") {
        let entry = entry.expect("entry");
        let target = to.join(entry.file_name());
        if entry.path().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).expect("copy");
        }
    }
}

pub fn copy_scenario(name: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    copy_dir(&mocks().join(name), dir.path());
    dir
}

fn json_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("read_dir") {
        let path = entry.expect("entry").path();
        if path.is_dir() {
            json_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "json") {
            out.push(path);
        }
    }
}

/// Rewrites the `responses` of every exchange whose operation is `operation` and whose request
/// satisfies `filter`; returns how many were edited.
pub fn edit_responses(
    dir: &Path,
    operation: &str,
    filter: impl Fn(&serde_json::Value) -> bool,
    edit: impl Fn(&serde_json::Value) -> serde_json::Value,
) -> usize {
    let mut files = Vec::new();
    json_files(&dir.join("exchanges"), &mut files);
    let mut n = 0;
    for file in files {
        let text = std::fs::read_to_string(&file).expect("read");
        let mut exchange: serde_json::Value = serde_json::from_str(&text).expect("json");
        if exchange["request"]["operation"] != operation || !filter(&exchange["request"]) {
            continue;
        }
        exchange["responses"] = edit(&exchange["responses"]);
        std::fs::write(&file, serde_json::to_string_pretty(&exchange).expect("ser"))
            .expect("write");
        n += 1;
    }
    n
}

pub fn any(_: &serde_json::Value) -> bool {
    true
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
