//! The GCP rows of docs/semantics-gcp.md at the rule level: `cloudscan gcp --replay` on the
//! bundled `documented` scenario (cases from Google's documentation) and on `insecure`, each
//! documented fix in both directions.

use serde_json::Value;
use std::collections::BTreeSet;
use std::path::PathBuf;

fn findings(scenario: &str) -> Vec<Value> {
    findings_in(
        &PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("mocks/gcp")
            .join(scenario),
    )
}

mod support;

fn findings_in(dir: &std::path::Path) -> Vec<Value> {
    let (_, report) = support::replay_report("gcp", dir, &[]);
    assert_eq!(report["scan"]["complete"], true, "{:#}", report["coverage"]);
    report["findings"].as_array().cloned().unwrap_or_default()
}

fn fired(findings: &[Value], rule: &str) -> BTreeSet<String> {
    findings
        .iter()
        .filter(|f| f["rule_id"] == rule)
        .filter_map(|f| f["resource"].as_str().map(str::to_string))
        .collect()
}

fn set(items: &[&str]) -> BTreeSet<String> {
    items.iter().map(|s| s.to_string()).collect()
}

const CLUSTERS: &str = "https://container.googleapis.com/v1/projects/acme-docs/locations";
const SA: &str = "@acme-docs.iam.gserviceaccount.com";

#[test]
fn gcp_public_cidrs_make_a_public_endpoint_public_but_not_a_private_one() {
    let f = findings("documented");
    let edge = format!("{CLUSTERS}/us-east1/clusters/edge");
    assert_eq!(fired(&f, "api-endpoint-public"), set(&[&edge]));
    let finding = f
        .iter()
        .find(|x| x["rule_id"] == "api-endpoint-public")
        .expect("finding");
    // Public, but not the whole internet.
    assert_eq!(finding["severity"], "medium");
    assert!(finding["message"]
        .as_str()
        .unwrap_or_default()
        .contains("gcpPublicCidrsAccessEnabled"));
}

#[test]
fn gke_never_reports_kubernetes_audit_logs_missing() {
    // Admin Activity audit logs (Kubernetes writes) cannot be turned off, with or without Data
    // Access logs (insecure: none anywhere in the ancestry; documented: on at the organization).
    for scenario in ["insecure", "documented", "hardened"] {
        assert_eq!(
            fired(&findings(scenario), "audit-logging-disabled"),
            BTreeSet::new(),
            "{scenario}"
        );
    }
}

#[test]
fn inherited_editor_deleted_roles_and_every_principal_form_decide_identity_findings() {
    let f = findings("documented");
    let deployer = "principal://iam.googleapis.com/projects/300000000003/locations/global/workloadIdentityPools/acme-docs.svc.id.goog/subject/ns/ops/sa/deployer";
    // Editor inherited from the folder makes the Kubernetes service account an administrator.
    assert_eq!(fired(&f, "identity-admin-access"), set(&[deployer]));
    // The live custom role reads secrets; the deleted one with the same permissions does not.
    assert_eq!(
        fired(&f, "identity-secrets-access"),
        set(&[&format!("live{SA}")])
    );
    // allAuthenticatedUsers holding Storage Object Viewer: every workload reads objects.
    assert_eq!(
        fired(&f, "identity-storage-access"),
        set(&["allAuthenticatedUsers"])
    );
    // allUsers, a cluster-wide principal set and the public principal are too broad; the
    // single-KSA forms (serviceAccount:POOL[ns/ksa], principal://…/sa/KSA) are not.
    assert_eq!(
        fired(&f, "workload-identity-trust-too-broad"),
        set(&[
            "allAuthenticatedUsers",
            &format!("fleet{SA}"),
            &format!("open{SA}")
        ])
    );
    let fleet = f
        .iter()
        .find(|x| {
            x["rule_id"] == "workload-identity-trust-too-broad"
                && x["resource"] == format!("fleet{SA}")
        })
        .expect("fleet");
    let message = fleet["message"].as_str().unwrap_or_default();
    assert!(message.contains("cluster `edge`"), "{message}");
    assert!(!message.contains("cluster `inner`"), "{message}");
}

/// Node OAuth scopes cap what a node-only service account can do through the node's token
/// (Compute Engine "Service accounts": access scopes limit the API methods an instance's token
/// may call, whatever IAM roles the account has). `gke-nodes@` is Editor; with `cloud-platform`
/// on one of its pools it is an administrator, with only the default narrow scopes on every pool
/// it is not.
#[test]
fn node_oauth_scopes_cap_what_a_node_identity_can_do() {
    let sa = "gke-nodes@acme-insecure.iam.gserviceaccount.com";
    let before = findings("insecure");
    assert!(fired(&before, "identity-admin-access").contains(sa));

    let tmp = tempfile::tempdir().expect("tempdir");
    let src = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("mocks/gcp/insecure");
    cloudscan_collect::testkit::copy_dir(&src, tmp.path()).expect("copy");
    let narrow = serde_json::json!([
        "https://www.googleapis.com/auth/devstorage.read_only",
        "https://www.googleapis.com/auth/logging.write",
        "https://www.googleapis.com/auth/monitoring"
    ]);
    let n = cloudscan_collect::testkit::edit_responses(
        tmp.path(),
        "projects.locations.clusters.list",
        cloudscan_collect::testkit::any,
        |responses| {
            let mut responses = responses.clone();
            if let Some(clusters) = responses[0]["json"]["clusters"].as_array_mut() {
                for c in clusters {
                    if let Some(pools) = c["nodePools"].as_array_mut() {
                        for p in pools {
                            if p["config"]["serviceAccount"] == sa {
                                p["config"]["oauthScopes"] = narrow.clone();
                            }
                        }
                    }
                }
            }
            responses
        },
    )
    .expect("edit");
    assert_eq!(n, 1);
    let after = findings_in(tmp.path());
    assert!(
        !fired(&after, "identity-admin-access").contains(sa),
        "{:#?}",
        fired(&after, "identity-admin-access")
    );
    // The same Editor grant through an unlimited token (the other pool) still is admin.
    assert!(fired(&after, "identity-admin-access")
        .contains("123456789012-compute@developer.gserviceaccount.com"));
}
