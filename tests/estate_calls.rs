//! API calls against the minimum the collected facts need (issue 13: "API calls within 10% of
//! the minimum"), counted by the synthetic estate (`mocks/estate`) while the real binary scans
//! it with the real clients: the Organizations reading of an organization scan and a whole GCP
//! scan (every folder's and the organization's allow policy read once per run, however many
//! projects sit below them and however many run at once) take exactly the minimum.

use cloudscan_estate::{Behaviour, Server, Spec};
use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Command, Output};

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime")
}

fn ok(out: &Output, what: &str) {
    let code = out.status.code();
    assert!(
        matches!(code, Some(0 | 1)),
        "{what}: exit {code:?}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn cloudscan(home: &Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_cloudscan"));
    cmd.env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("HOME", home);
    cmd
}

/// The calls of `prefix` (`organizations:`, `gcp:`) the server counted, and the minimum's.
fn calls_of(
    counted: &BTreeMap<String, u64>,
    minimum: &BTreeMap<String, u64>,
    prefix: &str,
) -> (BTreeMap<String, u64>, BTreeMap<String, u64>) {
    let pick = |m: &BTreeMap<String, u64>| {
        m.iter()
            .filter(|(k, n)| k.starts_with(prefix) && **n > 0)
            .map(|(k, n)| (k.clone(), *n))
            .collect()
    };
    (pick(counted), pick(minimum))
}

/// An organization scan of 90 accounts (the estate's 4 OUs of 22 or 23 accounts: two pages of
/// `ListAccountsForParent` each, 20 a page) reads the organization in exactly the minimum's
/// Organizations calls: per parent, page and policy, never per account.
#[test]
fn an_organization_scan_reads_the_organization_in_the_minimum_calls() {
    let spec = Spec {
        seed: 11,
        accounts: 90,
        roles: 12,
        regions: 1,
        clusters: 1,
        nodegroups: 1,
        nodes: 1,
        ..Default::default()
    }
    .normalized();
    let rt = runtime();
    let server = rt
        .block_on(Server::start(spec.clone(), Behaviour::default(), 0))
        .expect("estate server");
    let home = tempfile::tempdir().expect("tempdir");
    let out = cloudscan(home.path())
        .env("AWS_ACCESS_KEY_ID", "AKIDESTATETEST")
        .env("AWS_SECRET_ACCESS_KEY", "estate")
        .env("AWS_REGION", "us-east-1")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("AWS_CONFIG_FILE", "/nonexistent")
        .env("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent")
        .env("AWS_ENDPOINT_URL", server.base_url())
        .args([
            "aws",
            "--organization",
            "--member-role",
            "cloudscan-scan",
            "--no-progress",
            "--format",
            "json",
            "-o",
            "/dev/null",
        ])
        .output()
        .expect("run");
    ok(&out, "aws --organization");
    let minimum = cloudscan_estate::minimum_aws(&spec, spec.accounts);
    let (counted, least) = calls_of(&server.stats().calls, &minimum, "organizations:");
    assert_eq!(counted, least);
    // 90 accounts, and yet: DescribeOrganization, ListRoots, the tree (5 parents: OUs once each,
    // accounts once on the root and twice on each OU), ListPolicies, 2 x ListTargetsForPolicy,
    // 2 x DescribePolicy.
    assert_eq!(
        counted.values().sum::<u64>(),
        1 + 1 + 5 + (1 + 4 * 2) + 1 + 2 + 2
    );
    // Every member was assumed once.
    assert_eq!(
        server.stats().calls.get("sts:AssumeRole"),
        Some(&u64::from(spec.accounts - 1))
    );
}

/// A GCP scan of every project below folders (the projects scanned at once): each call at its
/// minimum, one `folders.get` and one `folders.getIamPolicy` per folder and one
/// `organizations.getIamPolicy`, not one per project.
#[test]
fn a_gcp_scan_reads_each_ancestor_once_and_takes_the_minimum() {
    let spec = Spec {
        seed: 5,
        projects: 9,
        gke_clusters: 1,
        service_accounts: 2,
        folders: 2,
        ..Default::default()
    }
    .normalized();
    let rt = runtime();
    let server = rt
        .block_on(Server::start(spec.clone(), Behaviour::default(), 0))
        .expect("estate server");
    let home = tempfile::tempdir().expect("tempdir");
    let key = home.path().join("sa.json");
    let sa = cloudscan_gcp::throwaway_service_account_key(&format!("{}/token", server.base_url()))
        .expect("service-account key");
    std::fs::write(&key, sa.to_string()).expect("write key");
    let out = cloudscan(home.path())
        .env("GOOGLE_APPLICATION_CREDENTIALS", &key)
        .env("CLOUDSCAN_GCP_BASE_URL", server.base_url())
        .args([
            "gcp",
            "--all-projects",
            "--no-progress",
            "--format",
            "json",
            "-o",
            "/dev/null",
        ])
        .output()
        .expect("run");
    ok(&out, "gcp --all-projects");
    let minimum = cloudscan_estate::minimum_gcp(&spec);
    let (counted, least) = calls_of(&server.stats().calls, &minimum, "gcp:");
    assert_eq!(counted, least);
    assert_eq!(counted.get("gcp:organizations.getIamPolicy"), Some(&1));
    let folders = cloudscan_estate::gcp::used_folders(&spec);
    assert!(folders >= 2, "the projects sit under folders");
    assert_eq!(counted.get("gcp:folders.get"), Some(&folders));
    assert_eq!(counted.get("gcp:folders.getIamPolicy"), Some(&folders));
}
