//! The scanner's own least privilege: every request the adapter makes while scanning each bundled
//! scenario maps to an entry of `cloudscan_gcp::operations::OPERATIONS`, and the permissions of
//! those entries are exactly the `includedPermissions` of `policies/gcp/cloudscan-role.json`.
//!
//! The requests are observed, not assumed: each scenario is served by the loopback fixture server
//! and scanned as a *live* scan (ADC from GOOGLE_APPLICATION_CREDENTIALS, base URL from
//! CLOUDSCAN_GCP_BASE_URL) with recording on; the recording holds every distinct request sent.
//! Its own test binary, with one test, because it sets process environment variables.

mod common;

use cloudscan_gcp::operations::{self, OPERATIONS};
use cloudscan_gcp::{scan, ScanOptions};
use common::*;
use serde_json::Value;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

/// The folder of `mocks/gcp/organization` whose folders.list is denied.
const DENIED_FOLDER: &str = "folders/410000000002";

fn mocks() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../mocks/gcp")
}

fn role_permissions() -> BTreeSet<String> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../policies/gcp/cloudscan-role.json");
    let role: Value =
        serde_json::from_str(&std::fs::read_to_string(&path).expect("role file")).expect("json");
    for field in ["title", "description", "stage"] {
        assert!(role[field].is_string(), "{field} is missing from the role");
    }
    let list: Vec<String> = role["includedPermissions"]
        .as_array()
        .expect("includedPermissions")
        .iter()
        .map(|p| p.as_str().expect("a permission is a string").to_string())
        .collect();
    let set: BTreeSet<String> = list.iter().cloned().collect();
    assert_eq!(set.len(), list.len(), "duplicate permissions in the role");
    set
}

/// Serves `dir` on the loopback server, scans it live with recording on, and returns the
/// (method, service, path) of every request the adapter sent.
async fn requests_of(dir: &Path, opts: ScanOptions) -> Vec<(String, String, String)> {
    let (server, _) = cloudscan_gcp::fixture::serve(dir).await.expect("server");
    std::env::set_var("CLOUDSCAN_GCP_BASE_URL", server.base_url());
    let recording = tempfile::tempdir().expect("tempdir");
    let out = scan(
        &ScanOptions {
            collect: cloudscan_gcp::CollectOptions {
                record: Some(recording.path().to_path_buf()),
                concurrency: 4,
                max_attempts: 2,
                ..Default::default()
            },
            ..opts
        },
        quiet(),
    )
    .await
    .expect("live scan against the fixture server");
    // Complete coverage: no call was refused or missing from the fixture, except the folder of
    // the organization scenario whose folders.list is denied on purpose.
    let incomplete: Vec<_> = out
        .inventory
        .coverage
        .iter()
        .filter(|c| c.status != cloudscan_inventory::CoverageStatus::Complete)
        .collect();
    assert!(
        incomplete
            .iter()
            .all(|c| c.scope == DENIED_FOLDER && c.service == "cloudresourcemanager/tree"),
        "{}: {:#?}",
        dir.display(),
        incomplete
    );
    drop(server);
    let requests =
        cloudscan_collect::testkit::recorded_requests(recording.path()).expect("recording");
    assert!(
        !requests.is_empty(),
        "nothing recorded for {}",
        dir.display()
    );
    requests
        .into_iter()
        .map(|r| (r.method, r.service, r.path))
        .collect()
}

/// A copy of `insecure` where `projects.search` (the `--all-projects` discovery) finds its
/// project, so that the search is exercised too.
fn with_project_search() -> tempfile::TempDir {
    let dir = copy_scenario("insecure");
    let project: Value = serde_json::from_str(
        &std::fs::read_to_string(
            dir.path()
                .join("exchanges/cloudresourcemanager/global/projects_get-00d39cda.json"),
        )
        .expect("projects.get exchange"),
    )
    .expect("json");
    let exchange = serde_json::json!({
        "request": {"service": "cloudresourcemanager", "region": "global",
                    "operation": "projects.search", "method": "GET",
                    "path": "/v3/projects:search", "params": {"pageSize": "500"}},
        "responses": [{"status": 200, "headers": {"content-type": "application/json"},
                       "json": {"projects": [project["responses"][0]["json"].clone()]}}]
    });
    std::fs::write(
        dir.path()
            .join("exchanges/cloudresourcemanager/global/projects_search-test.json"),
        serde_json::to_string_pretty(&exchange).expect("ser"),
    )
    .expect("write");
    dir
}

#[tokio::test]
async fn the_role_grants_exactly_the_permissions_of_the_calls_made() {
    let work = tempfile::tempdir().expect("tempdir");
    let key =
        cloudscan_gcp::throwaway_service_account_key("http://127.0.0.1:9/token").expect("key");
    let key_file = work.path().join("sa.json");
    std::fs::write(&key_file, key.to_string()).expect("write key");
    std::env::set_var("GOOGLE_APPLICATION_CREDENTIALS", &key_file);
    for var in [
        "HTTPS_PROXY",
        "https_proxy",
        "HTTP_PROXY",
        "http_proxy",
        "ALL_PROXY",
        "all_proxy",
        "CLOUDSCAN_GCP_CONTAINER_URL",
        "CLOUDSCAN_GCP_CRM_URL",
        "CLOUDSCAN_GCP_IAM_URL",
        "CLOUDSCAN_GCP_COMPUTE_URL",
    ] {
        std::env::remove_var(var);
    }

    // Every bundled scenario, with the projects it records.
    let mut requests = Vec::new();
    let mut scenarios = 0;
    for entry in std::fs::read_dir(mocks()).expect("mocks/gcp") {
        let dir = entry.expect("entry").path();
        let Ok(text) = std::fs::read_to_string(dir.join("scenario.json")) else {
            continue;
        };
        let meta: Value = serde_json::from_str(&text).expect("scenario.json");
        let strings = |field: &str| -> Vec<String> {
            meta[field]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|p| p.as_str().map(str::to_string))
                .collect()
        };
        // A project scan, or an organization / folder scan (the tree listings).
        let opts = ScanOptions {
            projects: strings("projects"),
            organizations: strings("organizations"),
            folders: strings("folders"),
            ..Default::default()
        };
        assert!(
            !opts.projects.is_empty() || !opts.organizations.is_empty() || !opts.folders.is_empty(),
            "{}: scenario.json names no project, organization or folder",
            dir.display()
        );
        requests.extend(requests_of(&dir, opts).await);
        scenarios += 1;
    }
    assert!(scenarios >= 2, "the bundled scenarios were not found");
    // And the --all-projects discovery.
    let search = with_project_search();
    requests.extend(
        requests_of(
            search.path(),
            ScanOptions {
                all_projects: true,
                ..Default::default()
            },
        )
        .await,
    );

    let mut used_operations = BTreeSet::new();
    let mut used_permissions = BTreeSet::new();
    for (method, service, path) in &requests {
        let Some(op) = operations::find(service, method, path) else {
            panic!(
                "{service} {method} {path} is in no entry of operations::OPERATIONS: \
                 a new API call must come with its permission"
            );
        };
        used_operations.insert(op.name);
        used_permissions.extend(op.permission.map(str::to_string));
    }

    // The role holds exactly what the calls need.
    assert_eq!(used_permissions, role_permissions());
    // The table holds nothing the role lacks (entries not exercised by a scenario included).
    let table: BTreeSet<String> = operations::permissions()
        .into_iter()
        .map(str::to_string)
        .collect();
    assert_eq!(table, role_permissions());
    // Every entry is exercised, except a custom role defined on an organization (none in the
    // bundled projects; it needs the same iam.roles.get as a project's custom role).
    let unexercised: BTreeSet<&str> = OPERATIONS
        .iter()
        .map(|o| o.name)
        .filter(|n| !used_operations.contains(n))
        .collect();
    assert_eq!(unexercised, BTreeSet::from(["organizations.roles.get"]));
}

#[test]
fn every_operation_is_a_read() {
    for op in OPERATIONS {
        let read = match op.method {
            "GET" => true,
            // The getIamPolicy custom methods are POSTs that only read a policy.
            "POST" => op.path.ends_with(":getIamPolicy") && op.name.ends_with(".getIamPolicy"),
            _ => false,
        };
        assert!(
            read,
            "{} {} {} is not a read",
            op.service, op.method, op.path
        );
        if let Some(permission) = op.permission {
            let verb = permission.rsplit('.').next().unwrap_or("");
            assert!(
                ["get", "list", "getIamPolicy"].contains(&verb),
                "{permission} is not a read permission"
            );
        }
    }
    for permission in role_permissions() {
        assert!(
            !permission.starts_with("secretmanager.") && !permission.starts_with("storage.objects"),
            "{permission} reads data"
        );
    }
}
