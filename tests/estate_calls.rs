//! API calls against the minimum the collected facts need (issue 13: "API calls within 10% of
//! the minimum"), counted by the synthetic estate (`mocks/estate`) while the real binary scans
//! it with the real clients: the Organizations reading of an organization scan and a whole GCP
//! scan (every folder's and the organization's allow policy read once per run, however many
//! projects sit below them and however many run at once) take exactly the minimum.

mod support;

use cloudscan_estate::{Behaviour, Server, Spec};
use std::collections::BTreeMap;
use support::estate::{assert_scanned, runtime};

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
    let out = support::estate::aws(server.base_url(), home.path())
        .args([
            "--organization",
            "--member-role",
            "cloudscan-scan",
            "--format",
            "json",
            "-o",
            "/dev/null",
        ])
        .output()
        .expect("run");
    assert_scanned(&out, "aws --organization");
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
    let out = support::isolated_command(
        &["gcp"],
        &[
            ("GOOGLE_APPLICATION_CREDENTIALS", key.display().to_string()),
            ("CLOUDSCAN_GCP_BASE_URL", server.base_url().to_string()),
        ],
        home.path(),
    )
    .args([
        "--all-projects",
        "--no-progress",
        "--format",
        "json",
        "-o",
        "/dev/null",
    ])
    .output()
    .expect("run");
    assert_scanned(&out, "gcp --all-projects");
    let minimum = cloudscan_estate::minimum_gcp(&spec);
    let (counted, least) = calls_of(&server.stats().calls, &minimum, "gcp:");
    assert_eq!(counted, least);
    assert_eq!(counted.get("gcp:organizations.getIamPolicy"), Some(&1));
    let folders = cloudscan_estate::gcp::used_folders(&spec);
    assert!(folders >= 2, "the projects sit under folders");
    assert_eq!(counted.get("gcp:folders.get"), Some(&folders));
    assert_eq!(counted.get("gcp:folders.getIamPolicy"), Some(&folders));
}
