//! Sharding and throttling over the synthetic estate (`mocks/estate`), with the real binary and
//! the real HTTP clients: N shard processes (`--shard auto/N` with `JOB_COMPLETION_INDEX` set, as
//! in a Kubernetes Indexed Job) each save their inventory; `cloudscan scan --inventory DIR`
//! merges them; the merged report has exactly the findings of one unsharded run (Azure
//! subscriptions and GCP projects). A throttling storm (every sixth call of each service refused
//! with 429 / `Throttling` / `RESOURCE_EXHAUSTED`, `Retry-After: 1`) costs time, never data: the
//! AWS, Azure and GCP inventories equal the unthrottled ones.

mod support;

use cloudscan_estate::{Behaviour, Server, Spec};
use serde_json::Value;
use std::path::Path;
use std::process::Command;
use std::time::Duration;
use support::estate::{assert_scanned, runtime};

fn spec() -> Spec {
    Spec {
        seed: 7,
        accounts: 1,
        roles: 40,
        regions: 2,
        clusters: 3,
        nodegroups: 2,
        nodes: 2,
        subscriptions: 6,
        aks_clusters: 3,
        identities: 5,
        projects: 7,
        gke_clusters: 3,
        service_accounts: 4,
        folders: 2,
    }
    .normalized()
}

/// `cloudscan` with only the estate's Azure credentials and endpoints in its environment.
fn azure(base: &str) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_cloudscan"));
    cmd.env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("HOME", std::env::temp_dir())
        .env("AZURE_TENANT_ID", cloudscan_estate::azure::TENANT)
        .env("AZURE_CLIENT_ID", "estate-client")
        .env("AZURE_CLIENT_SECRET", "estate-secret")
        .env("AZURE_AUTHORITY_HOST", base)
        .env("CLOUDSCAN_AZURE_ARM_URL", base)
        .args(["azure", "--all-subscriptions", "--no-progress"]);
    cmd
}

/// A throw-away service-account key file for `base` (google-cloud-auth signs its JWTs with
/// it), kept for the test process.
fn gcp_key(base: &str) -> std::path::PathBuf {
    static DIR: std::sync::OnceLock<tempfile::TempDir> = std::sync::OnceLock::new();
    let dir = DIR.get_or_init(|| tempfile::tempdir().expect("tempdir"));
    let name: String = base.chars().filter(char::is_ascii_digit).collect();
    let path = dir.path().join(format!("sa-{name}.json"));
    if !path.exists() {
        let key = cloudscan_gcp::throwaway_service_account_key(&format!("{base}/token"))
            .expect("service-account key");
        std::fs::write(&path, key.to_string()).expect("write key");
    }
    path
}

/// `cloudscan gcp --all-projects` with only the estate's service-account key and base URL.
fn gcp(base: &str) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_cloudscan"));
    cmd.env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("HOME", std::env::temp_dir())
        .env("GOOGLE_APPLICATION_CREDENTIALS", gcp_key(base))
        .env("CLOUDSCAN_GCP_BASE_URL", base)
        .args(["gcp", "--all-projects", "--no-progress"]);
    cmd
}

/// `cloudscan aws` against the estate at `base`.
fn aws(base: &str) -> Command {
    support::estate::aws(base, &std::env::temp_dir())
}

fn read(path: &Path) -> Value {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Every finding, as a sorted list of its identity and content.
fn findings(report: &Value) -> Vec<String> {
    let mut out: Vec<String> = report["findings"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|f| {
                    format!(
                        "{} {} {} {} {} {}",
                        f["fingerprint"],
                        f["rule_id"],
                        f["severity"],
                        f["resource"],
                        f["scope"],
                        f["message"]
                    )
                })
                .collect()
        })
        .unwrap_or_default();
    out.sort();
    out
}

#[test]
fn shards_merged_equal_one_run() {
    let want: Vec<String> = (0..spec().subscriptions)
        .map(|s| spec().subscription_id(s))
        .collect();
    sharded_equals_one_run(azure, want, true);
}

#[test]
fn gcp_projects_sharded_3_ways_merge_to_one_run() {
    let want: Vec<String> = (0..spec().projects).map(|p| spec().project_id(p)).collect();
    sharded_equals_one_run(gcp, want, false);
}

/// Runs one unsharded scan and 3 shard processes (`--shard auto/3`, `JOB_COMPLETION_INDEX`)
/// against one estate server; every scope must be in exactly one shard, and the merged
/// inventories must give the single run's findings. With `conflicts`, also checks that a
/// conflicting duplicate is an error naming both files.
fn sharded_equals_one_run(cloud: fn(&str) -> Command, want_scopes: Vec<String>, conflicts: bool) {
    let rt = runtime();
    let server = rt
        .block_on(Server::start(spec(), Behaviour::default(), 0))
        .expect("estate server");
    let base = server.base_url().to_string();
    let dir = tempfile::tempdir().expect("tempdir");
    let single = dir.path().join("single.json");
    let out = cloud(&base)
        .args(["--format", "json", "-o"])
        .arg(&single)
        .output()
        .expect("run");
    assert_scanned(&out, "single run");

    let shards = dir.path().join("shards");
    std::fs::create_dir_all(&shards).expect("mkdir");
    let n = 3;
    let children: Vec<_> = (0..n)
        .map(|i| {
            cloud(&base)
                .env("JOB_COMPLETION_INDEX", i.to_string())
                .args(["--shard", &format!("auto/{n}"), "--format", "json", "-o"])
                .arg(dir.path().join(format!("report-{i}.json")))
                .arg("--save-inventory")
                .arg(shards.join(format!("shard-{i}.json")))
                .spawn()
                .expect("spawn shard")
        })
        .collect();
    for (i, child) in children.into_iter().enumerate() {
        let out = child.wait_with_output().expect("wait");
        assert_scanned(&out, &format!("shard {i}"));
    }
    // Every scope is in exactly one shard, and no shard is empty here.
    let mut scopes: Vec<String> = Vec::new();
    for i in 0..n {
        let inv = read(&shards.join(format!("shard-{i}.json")));
        let mine = inv["scopes"].as_array().cloned().unwrap_or_default();
        assert!(!mine.is_empty(), "shard {i} has no scope");
        for s in mine {
            scopes.push(s["id"].as_str().unwrap_or_default().to_string());
        }
    }
    scopes.sort();
    let mut want = want_scopes;
    want.sort();
    assert_eq!(scopes, want);

    let merged = dir.path().join("merged.json");
    let out = Command::new(env!("CARGO_BIN_EXE_cloudscan"))
        .args(["scan", "--no-progress", "--format", "json", "-o"])
        .arg(&merged)
        .arg("--inventory")
        .arg(&shards)
        .output()
        .expect("scan");
    assert_scanned(&out, "merged scan");
    let (one, all) = (read(&single), read(&merged));
    let (one, all) = (findings(&one), findings(&all));
    assert!(
        one.len() > 20,
        "the estate should yield findings: {}",
        one.len()
    );
    assert_eq!(one, all, "merged shards differ from one run");
    if !conflicts {
        return;
    }

    // A file and a folder mix; a conflicting duplicate is an error naming both files.
    let mut inv = read(&shards.join("shard-0.json"));
    if let Some(c) = inv["clusters"].as_array_mut().and_then(|c| c.first_mut()) {
        c["version"] = Value::String("9.99".to_string());
        let bad = dir.path().join("stale.json");
        std::fs::write(&bad, inv.to_string()).expect("write");
        let out = Command::new(env!("CARGO_BIN_EXE_cloudscan"))
            .args(["scan", "--no-progress", "--format", "json", "--inventory"])
            .arg(&shards)
            .arg("--inventory")
            .arg(&bad)
            .output()
            .expect("scan");
        assert_eq!(out.status.code(), Some(2));
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            err.contains("stale.json") && err.contains("shard-0.json"),
            "{err}"
        );
    }
}

#[test]
fn shard_auto_needs_the_job_index() {
    let out = Command::new(env!("CARGO_BIN_EXE_cloudscan"))
        .env_remove("JOB_COMPLETION_INDEX")
        .env_remove("CLOUDSCAN_SHARD")
        .args(["azure", "--all-subscriptions", "--shard", "auto/4"])
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("JOB_COMPLETION_INDEX"));
    let out = Command::new(env!("CARGO_BIN_EXE_cloudscan"))
        .env("JOB_COMPLETION_INDEX", "4")
        .args(["azure", "--all-subscriptions", "--shard", "auto/4"])
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(2), "index 4 of 4 is out of range");
}

/// Saves the inventory of one scan against a server with `behaviour`; returns it and the
/// server's call counts.
fn inventory_under(
    behaviour: Behaviour,
    cloud: fn(&str) -> Command,
    dir: &Path,
    name: &str,
) -> (Value, cloudscan_estate::Stats) {
    let rt = runtime();
    let small = Spec {
        subscriptions: 2,
        regions: 1,
        clusters: 2,
        projects: 3,
        gke_clusters: 2,
        ..spec()
    }
    .normalized();
    let server = rt
        .block_on(Server::start(small, behaviour, 0))
        .expect("estate server");
    let path = dir.join(format!("{name}.json"));
    let out = cloud(server.base_url())
        .args([
            "--format",
            "json",
            "-o",
            "/dev/null",
            "--max-attempts",
            "8",
            "--save-inventory",
        ])
        .arg(&path)
        .output()
        .expect("run");
    assert_scanned(&out, name);
    (read(&path), server.stats())
}

/// The inventory with each top-level list sorted.
fn canonical(inventory: &Value) -> Value {
    let mut out = inventory.clone();
    if let Some(map) = out.as_object_mut() {
        for v in map.values_mut() {
            if let Some(list) = v.as_array_mut() {
                list.sort_by_key(|x| x.to_string());
            }
        }
    }
    out
}

#[test]
fn a_throttling_storm_costs_time_not_data() {
    let dir = tempfile::tempdir().expect("tempdir");
    let storm = Behaviour {
        latency: Duration::ZERO,
        rate_limit: None,
        throttle_every: Some(6),
        session_duration: None,
    };
    for (cloud, name) in [
        (azure as fn(&str) -> Command, "azure"),
        (aws, "aws"),
        (gcp, "gcp"),
    ] {
        let started = std::time::Instant::now();
        let (calm, calm_stats) = inventory_under(
            Behaviour::default(),
            cloud,
            dir.path(),
            &format!("{name}-calm"),
        );
        let (stormy, stats) =
            inventory_under(storm.clone(), cloud, dir.path(), &format!("{name}-storm"));
        assert_eq!(calm_stats.total_throttled(), 0);
        assert!(
            stats.total_throttled() * 8 >= calm_stats.total_calls(),
            "{name}: the storm throttled {} of {} calls",
            stats.total_throttled(),
            stats.total_calls()
        );
        assert!(calm["coverage"].as_array().is_some_and(|c| !c.is_empty()));
        // The same facts; the order of some lists follows the order answers came in.
        assert_eq!(
            canonical(&calm),
            canonical(&stormy),
            "{name}: the throttled scan collected something else"
        );
        eprintln!("{name}: calm + storm scans in {:?}", started.elapsed());
    }
}
