//! The `documented` scenario (cases taken from Google's documentation, shaped after the
//! discovery documents) and variants of it, replayed end to end: each documented fix of
//! docs/semantics-gcp.md in both directions at the inventory level. The rule-level checks are in
//! the root crate's `tests/gcp_semantics.rs`.

mod common;

use cloudscan_gcp::normalize::GCP_PUBLIC_CIDRS;
use cloudscan_inventory::{CoverageStatus, UsedBy};
use common::*;

const POOL: &str = "acme-docs.svc.id.goog";
const DEPLOYER: &str = "principal://iam.googleapis.com/projects/300000000003/locations/global/workloadIdentityPools/acme-docs.svc.id.goog/subject/ns/ops/sa/deployer";

fn workloads(inv: &cloudscan_inventory::Inventory, id: &str) -> Vec<(String, String, String)> {
    let mut out: Vec<(String, String, String)> = inv
        .identity(id)
        .unwrap_or_else(|| panic!("no identity {id}"))
        .used_by
        .iter()
        .filter_map(|u| match u {
            UsedBy::Workload {
                cluster,
                namespace,
                service_account,
                ..
            } => Some((cluster.clone(), namespace.clone(), service_account.clone())),
            UsedBy::NodePool { .. } => None,
        })
        .collect();
    out.sort();
    out
}

fn w(c: &str, ns: &str, sa: &str) -> (String, String, String) {
    (c.to_string(), ns.to_string(), sa.to_string())
}

#[tokio::test]
async fn gcp_public_cidrs_count_as_public_only_on_a_public_endpoint() {
    let inv = replay(&scenario("documented")).await.inventory;
    assert!(inv.all_complete(), "{:?}", inv.coverage);
    let edge = cluster(&inv, "edge");
    assert_eq!(edge.endpoint.public_access, Some(true));
    assert_eq!(
        edge.endpoint.public_cidrs,
        vec!["10.0.0.0/8".to_string(), GCP_PUBLIC_CIDRS.to_string()]
    );
    assert!(edge.endpoint.source.contains("every Google Cloud VM"));
    // The same setting without a public endpoint exposes nothing.
    let inner = cluster(&inv, "inner");
    assert_eq!(inner.endpoint.public_access, Some(false));
    assert_eq!(inner.endpoint.public_cidrs, vec!["10.0.0.0/8".to_string()]);
}

#[tokio::test]
async fn inherited_bindings_and_audit_configs_are_read_along_the_ancestry() {
    let inv = replay(&scenario("documented")).await.inventory;
    // Editor granted on the folder to one Kubernetes service account.
    let deployer = inv.identity(DEPLOYER).expect("deployer");
    assert_eq!(deployer.kind, "gcp-workload-principal");
    assert_eq!(deployer.role_bindings.len(), 1);
    assert_eq!(deployer.role_bindings[0].resource, "folders/400000000002");
    assert_eq!(deployer.role_bindings[0].role, "roles/editor");
    assert!(deployer.role_bindings[0]
        .source
        .contains("folders.getIamPolicy"));
    assert_eq!(
        workloads(&inv, DEPLOYER),
        vec![w("edge", "ops", "deployer"), w("inner", "ops", "deployer")]
    );
    // Data Access logs for GKE turned on at the organization.
    for c in &inv.clusters {
        assert_eq!(c.audit_logging.audit_enabled, Some(true));
        for t in ["ADMIN_READ", "DATA_READ", "DATA_WRITE"] {
            assert!(
                c.audit_logging
                    .enabled_types
                    .contains(&format!("cloudaudit:{t}")),
                "{t}: {:?}",
                c.audit_logging
            );
        }
        assert!(c
            .audit_logging
            .source
            .contains("folders/400000000002, organizations/777777777777"));
    }
}

#[tokio::test]
async fn an_unreadable_ancestor_policy_is_reported_and_leaves_data_access_unknown() {
    let dir = copy_scenario("documented");
    let changed = edit_responses(
        dir.path(),
        "organizations.getIamPolicy",
        |_| true,
        |_| {
            serde_json::json!([google_error(
                403,
                "PERMISSION_DENIED",
                "The caller does not have permission"
            )])
        },
    );
    assert_eq!(changed, 1);
    let inv = replay(dir.path()).await.inventory;
    let (status, detail) = coverage(&inv, "cloudresourcemanager", "global");
    assert_eq!(status, CoverageStatus::Partial, "{detail}");
    assert!(detail.contains("organizations/777777777777"), "{detail}");
    for c in &inv.clusters {
        // Writes are still audited; whether reads are is not known.
        assert_eq!(c.audit_logging.audit_enabled, Some(true));
        assert!(!c
            .audit_logging
            .disabled_types
            .iter()
            .any(|t| t.starts_with("cloudaudit:DATA")));
        assert!(c
            .audit_logging
            .source
            .contains("not read: organizations/777777777777"));
    }
    // The folder's grant is still read.
    assert!(inv.identity(DEPLOYER).is_some());
}

#[tokio::test]
async fn every_documented_workload_principal_form_is_kept() {
    let inv = replay(&scenario("documented")).await.inventory;
    let edge = cluster(&inv, "edge");
    assert_eq!(edge.workload_identity.issuer.as_deref(), Some(POOL));
    // serviceAccount:POOL[ns/ksa]
    assert_eq!(
        workloads(&inv, "reader@acme-docs.iam.gserviceaccount.com"),
        vec![w("edge", "apps", "reader"), w("inner", "apps", "reader")]
    );
    // principal://…/subject/ns/NS/sa/KSA
    assert_eq!(
        workloads(&inv, "live@acme-docs.iam.gserviceaccount.com"),
        vec![w("edge", "apps", "live"), w("inner", "apps", "live")]
    );
    // allUsers holding Workload Identity User: every workload of every cluster.
    assert_eq!(
        workloads(&inv, "open@acme-docs.iam.gserviceaccount.com"),
        vec![w("edge", "*", "*"), w("inner", "*", "*")]
    );
    // principalSet://…/kubernetes.cluster/URL: every workload of that cluster only.
    assert_eq!(
        workloads(&inv, "fleet@acme-docs.iam.gserviceaccount.com"),
        vec![w("edge", "*", "*")]
    );
    // allAuthenticatedUsers holding a project role: a principal every workload can act as.
    let public = inv
        .identity("allAuthenticatedUsers")
        .expect("public member");
    assert_eq!(public.name, "allAuthenticatedUsers");
    assert_eq!(public.role_bindings[0].role, "roles/storage.objectViewer");
    assert_eq!(
        workloads(&inv, "allAuthenticatedUsers"),
        vec![w("edge", "*", "*"), w("inner", "*", "*")]
    );
}

#[tokio::test]
async fn a_deleted_custom_role_grants_nothing() {
    let inv = replay(&scenario("documented")).await.inventory;
    let old = inv
        .role_definition("projects/acme-docs/roles/secretReaderOld")
        .expect("deleted role");
    assert_eq!(old.deleted, Some(true));
    assert_eq!(old.permissions.as_deref(), Some(&[][..]));
    assert!(old.source.contains("deleted"));
    let live = inv
        .role_definition("projects/acme-docs/roles/secretReader")
        .expect("live role");
    assert_ne!(live.deleted, Some(true));
    assert!(live
        .permissions
        .as_ref()
        .is_some_and(|p| p.contains(&"secretmanager.versions.access".to_string())));
}
