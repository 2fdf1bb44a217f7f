//! `cloudscan gcp` and `cloudscan azure` end to end on the bundled recorded scenarios
//! (google-cloud-auth / reqwest against a loopback server that serves the fixtures; for Azure the
//! token exchange included).

use serde_json::Value;
use std::collections::BTreeSet;
use std::path::PathBuf;

mod support;

fn run(cloud: &str, scenario: &str, extra: &[&str]) -> (i32, Value) {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("mocks")
        .join(cloud)
        .join(scenario);
    support::replay_report(cloud, &dir, extra)
}

fn rules(report: &Value) -> BTreeSet<String> {
    report["findings"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|f| f["rule_id"].as_str().map(str::to_string))
        .collect()
}

/// The insecure scenario fires exactly `expected`, with evidence, and only this cloud's
/// benchmark ids; the hardened one fires nothing.
fn check(cloud: &str, expected: &[&str], foreign_benchmarks: &[&str]) {
    let (code, report) = run(cloud, "insecure", &["--fail-on", "high"]);
    assert_eq!(code, 1);
    assert_eq!(report["scan"]["provider"], cloud);
    assert_eq!(report["scan"]["complete"], true, "{:#}", report["coverage"]);
    let expected: BTreeSet<String> = expected.iter().map(|s| s.to_string()).collect();
    assert_eq!(rules(&report), expected);
    for f in report["findings"].as_array().expect("findings") {
        assert!(!f["evidence"].as_array().expect("evidence").is_empty());
        for id in f["compliance"].as_array().expect("compliance") {
            let id = id.as_str().unwrap_or("");
            assert!(
                !foreign_benchmarks.iter().any(|b| id.starts_with(b)),
                "{id}"
            );
        }
    }

    let (code, report) = run(cloud, "hardened", &["--fail-on", "info"]);
    assert_eq!(rules(&report), BTreeSet::new(), "{:#}", report["findings"]);
    assert_eq!(code, 0);
}

const SHARED: &[&str] = &[
    "api-endpoint-public",
    "identity-admin-access",
    "identity-privilege-escalation",
    "identity-secrets-access",
    "local-auth-enabled",
    "secrets-encryption-disabled",
    "workload-identity-disabled",
    "workload-identity-trust-too-broad",
];

#[test]
fn gke_scenarios_fire_every_gcp_rule_and_nothing_when_hardened() {
    // No `audit-logging-disabled`: GKE writes Kubernetes API writes to the Admin Activity audit
    // log, which cannot be disabled (docs/semantics-gcp.md).
    let mut expected = SHARED.to_vec();
    expected.extend([
        "identity-storage-access",
        "node-default-service-account",
        "node-metadata-exposed",
    ]);
    check(
        "gcp",
        &expected,
        &["CIS EKS", "CIS AKS", "CIS AWS", "CIS Azure"],
    );
}

#[test]
fn aks_scenarios_fire_every_azure_rule_and_nothing_when_hardened() {
    let mut expected = SHARED.to_vec();
    expected.extend([
        "audit-logging-disabled",
        "cloud-audit-trail-missing",
        "identity-storage-access",
        "identity-wildcard-grant",
    ]);
    check(
        "azure",
        &expected,
        &["CIS EKS", "CIS GKE", "CIS AWS", "CIS GCP"],
    );
}
