//! Without a Kubernetes flag the scan is the cloud scan: no Kubernetes call, no `kubernetes`
//! facts or coverage in the inventory or the report, none of the joined rules, no pod-level
//! wording. (The JSON reports of the bundled scenarios were compared byte for byte, timestamps
//! aside, with the build before the Kubernetes side: see docs/kubernetes.md.)

use serde_json::Value;
use std::path::PathBuf;

const JOINED_RULES: &[&str] = &[
    "cluster-admin-reachable-from-pods",
    "workload-identity-binding-mismatch",
    "node-identity-host-network-only",
];

#[test]
fn without_kubernetes_flags_nothing_of_the_cluster_side_appears() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    for (cloud, scenario) in [
        ("aws", "mocks/aws/insecure"),
        ("gcp", "mocks/gcp/insecure"),
        ("azure", "mocks/azure/insecure"),
    ] {
        let tmp = tempfile::tempdir().expect("tempdir");
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_cloudscan"))
            .arg(cloud)
            .arg("--replay")
            .arg(root.join(scenario))
            .args(["--format", "json", "--no-progress", "-o"])
            .arg(tmp.path().join("report.json"))
            .arg("--save-inventory")
            .arg(tmp.path().join("inventory.json"))
            .env_clear()
            .env("HOME", tmp.path())
            // A kubeconfig in the environment is not read without a flag.
            .env("KUBECONFIG", root.join("mocks/kube/does-not-exist"))
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .output()
            .expect("run cloudscan");
        assert_eq!(
            out.status.code(),
            Some(0),
            "{cloud}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let inventory: Value = serde_json::from_str(
            &std::fs::read_to_string(tmp.path().join("inventory.json")).expect("inventory"),
        )
        .expect("json");
        assert!(
            inventory.get("kubernetes").is_none(),
            "{cloud}: kubernetes facts without a flag"
        );
        let text = std::fs::read_to_string(tmp.path().join("report.json")).expect("report");
        let report: Value = serde_json::from_str(&text).expect("json");
        let coverage = report["coverage"].as_array().expect("coverage");
        assert!(
            coverage.iter().all(|c| c["service"] != "kubernetes"),
            "{cloud}"
        );
        let findings = report["findings"].as_array().expect("findings");
        assert!(!findings.is_empty(), "{cloud}: the scenario has findings");
        for f in findings {
            assert!(
                !JOINED_RULES.contains(&f["rule_id"].as_str().unwrap_or_default()),
                "{cloud}: {f}"
            );
        }
        assert!(
            !text.contains("kubernetes context"),
            "{cloud}: pod-level wording without a flag"
        );
    }
}
