//! `cloudscan azure` end to end on the bundled recorded AKS scenarios (reqwest against a
//! loopback server that serves the fixtures, token exchange included).

use serde_json::Value;
use std::collections::BTreeSet;
use std::path::PathBuf;
use std::process::Command;

fn run(scenario: &str, extra: &[&str]) -> (i32, Value) {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("mocks/azure")
        .join(scenario);
    let tmp = tempfile::tempdir().expect("tempdir");
    let out = tmp.path().join("report.json");
    let output = Command::new(env!("CARGO_BIN_EXE_cloudscan"))
        .args(["azure", "--replay"])
        .arg(&dir)
        .args(["--format", "json", "--no-progress", "-o"])
        .arg(&out)
        .args(extra)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("HOME", tmp.path())
        .output()
        .expect("run cloudscan");
    let text = std::fs::read_to_string(&out).unwrap_or_else(|e| {
        panic!(
            "no report ({e}): {}",
            String::from_utf8_lossy(&output.stderr)
        )
    });
    (
        output.status.code().unwrap_or(-1),
        serde_json::from_str(&text).expect("json report"),
    )
}

fn rules(report: &Value) -> BTreeSet<String> {
    report["findings"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|f| f["rule_id"].as_str().map(str::to_string))
        .collect()
}

#[test]
fn insecure_aks_subscription_fires_every_azure_rule() {
    let (code, report) = run("insecure", &["--fail-on", "high"]);
    assert_eq!(code, 1);
    assert_eq!(report["scan"]["provider"], "azure");
    assert_eq!(report["scan"]["complete"], true, "{:#}", report["coverage"]);
    let expected: BTreeSet<String> = [
        "api-endpoint-public",
        "audit-logging-disabled",
        "cloud-audit-trail-missing",
        "identity-admin-access",
        "identity-privilege-escalation",
        "identity-secrets-access",
        "identity-storage-access",
        "identity-wildcard-grant",
        "local-auth-enabled",
        "secrets-encryption-disabled",
        "workload-identity-disabled",
        "workload-identity-trust-too-broad",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    assert_eq!(rules(&report), expected);
    for f in report["findings"].as_array().expect("findings") {
        assert!(!f["evidence"].as_array().expect("evidence").is_empty());
        // Only AKS/Azure benchmark ids on Azure findings.
        for id in f["compliance"].as_array().expect("compliance") {
            let id = id.as_str().unwrap_or("");
            assert!(
                !id.starts_with("CIS EKS") && !id.starts_with("CIS GKE"),
                "{id}"
            );
        }
    }
}

#[test]
fn hardened_aks_subscription_fires_nothing() {
    let (code, report) = run("hardened", &["--fail-on", "info"]);
    assert_eq!(rules(&report), BTreeSet::new(), "{:#}", report["findings"]);
    assert_eq!(code, 0);
}
