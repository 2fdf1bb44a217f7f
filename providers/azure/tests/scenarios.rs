//! The bundled scenarios, replayed through the loopback server (token exchange included).

mod common;

use cloudscan_inventory::{CoverageStatus, ManagementEvents, Provider, UsedBy};
use common::*;

const INSECURE_SUB: &str = "11111111-1111-1111-1111-111111111111";
const CONTRIBUTOR: &str = "b24988ac-6180-42a0-ab88-20f7382dd24c";

#[tokio::test]
async fn insecure_scenario_has_every_fact() {
    let inv = replay(&mocks().join("insecure")).await.inventory;
    assert_eq!(inv.provider, Provider::Azure);
    assert_eq!(inv.scopes.len(), 1);
    assert_eq!(inv.scopes[0].id, INSECURE_SUB);
    assert!(inv.all_complete(), "{:#?}", inv.coverage);
    for service in [
        "containerservice",
        "authorization",
        "managedidentity",
        "insights",
        "compute",
    ] {
        assert!(inv.is_complete(service, "global"), "{service}");
    }
    // Both clusters: one per page of the nextLink-paged list.
    assert_eq!(inv.clusters.len(), 2);
    assert_eq!(inv.regions, vec!["eastus", "westeurope"]);

    let prod = cluster(&inv, "prod-public");
    // api-endpoint-public: open to the internet.
    assert_eq!(prod.endpoint.public_access, Some(true));
    assert_eq!(prod.endpoint.public_cidrs, vec!["0.0.0.0/0"]);
    assert!(prod.endpoint.source.contains("authorizedIPRanges"));
    // secrets-encryption-disabled.
    assert_eq!(prod.secrets_encryption.enabled, Some(false));
    // audit-logging-disabled: no diagnostic setting at all.
    assert_eq!(prod.audit_logging.audit_enabled, Some(false));
    assert!(prod.audit_logging.source.contains("no diagnostic setting"));
    // workload-identity-disabled.
    assert_eq!(prod.workload_identity.enabled, Some(false));
    assert_eq!(prod.workload_identity.issuer, None);
    // local-auth-enabled.
    assert_eq!(prod.auth.local_auth_enabled, Some(true));
    assert!(prod
        .auth
        .details
        .iter()
        .any(|d| d.contains("disableLocalAccounts = false")));
    assert!(prod
        .auth
        .details
        .iter()
        .any(|d| d.contains("aadProfile is absent")));
    assert_eq!(prod.auth.mode.as_deref(), Some("local"));
    assert_eq!(prod.version.as_deref(), Some("1.32.7"));
    // The kubelet identity is every pool's identity.
    let kubelet_id = "/subscriptions/11111111-1111-1111-1111-111111111111/resourceGroups/MC_rg-prod_prod-public_eastus/providers/Microsoft.ManagedIdentity/userAssignedIdentities/prod-public-agentpool";
    assert_eq!(prod.node_pools.len(), 2);
    for pool in &prod.node_pools {
        assert_eq!(pool.identity.as_deref(), Some(kubelet_id));
        assert_eq!(pool.kind, "managed");
        assert!(pool.metadata.is_empty());
    }

    let staging = cluster(&inv, "staging-wi");
    assert_eq!(staging.endpoint.public_access, Some(true));
    assert_eq!(staging.endpoint.public_cidrs, vec!["203.0.113.0/24"]);
    assert_eq!(staging.secrets_encryption.enabled, Some(false));
    assert_eq!(staging.audit_logging.audit_enabled, Some(false));
    assert_eq!(
        staging.audit_logging.enabled_types,
        vec!["guard", "kube-apiserver"]
    );
    assert_eq!(
        staging.audit_logging.disabled_types,
        vec!["kube-audit", "kube-audit-admin"]
    );
    assert_eq!(staging.auth.local_auth_enabled, Some(true));
    assert_eq!(staging.auth.mode.as_deref(), Some("entra-kubernetes-rbac"));
    assert_eq!(staging.workload_identity.enabled, Some(true));
    let bindings = &staging.workload_identity.bindings;
    assert_eq!(bindings.len(), 1);
    assert_eq!(bindings[0].namespace, "payments");
    assert_eq!(bindings[0].service_account, "api");
    assert_eq!(bindings[0].mechanism, "azure-workload-identity");
    assert!(bindings[0]
        .identity
        .ends_with("/userAssignedIdentities/payments-api"));
    // The disk encryption set's key.
    assert!(staging.node_pools[0]
        .boot_disk_kms_key
        .as_deref()
        .is_some_and(|k| k.contains("acme-kv.vault.azure.net/keys/aks-disks")));

    // Kubelet identity with Contributor at subscription scope.
    let kubelet = identity(&inv, "prod-public-agentpool");
    assert_eq!(kubelet.kind, "azure-managed-identity");
    assert_eq!(
        kubelet.principal_id.as_deref(),
        Some("a0000000-0000-4000-8000-000000000001")
    );
    assert_eq!(
        kubelet.used_by,
        vec![
            UsedBy::NodePool {
                cluster: "prod-public".into(),
                pool: "nodepool1".into()
            },
            UsedBy::NodePool {
                cluster: "prod-public".into(),
                pool: "apps".into()
            },
        ]
    );
    assert_eq!(kubelet.role_assignments.len(), 1);
    let ra = &kubelet.role_assignments[0];
    assert_eq!(ra.scope, format!("/subscriptions/{INSECURE_SUB}"));
    assert_eq!(ra.role_name.as_deref(), Some("Contributor"));
    assert!(ra.role_definition_id.ends_with(CONTRIBUTOR));
    let contributor = inv
        .azure_role_definitions
        .iter()
        .find(|d| d.name == CONTRIBUTOR)
        .expect("Contributor read");
    assert_eq!(contributor.custom, Some(false));
    let perms = contributor.permissions.as_ref().expect("permissions");
    assert_eq!(perms[0].actions, vec!["*"]);
    assert!(perms[0]
        .not_actions
        .contains(&"Microsoft.Authorization/*/Write".to_string()));

    // A custom role with `*`, held by the workload identity at resource-group scope.
    let payments = identity(&inv, "payments-api");
    assert_eq!(payments.role_assignments.len(), 1);
    assert_eq!(
        payments.role_assignments[0].scope,
        format!("/subscriptions/{INSECURE_SUB}/resourceGroups/rg-apps")
    );
    assert_eq!(
        payments.role_assignments[0].role_name.as_deref(),
        Some("acme-ops-everything")
    );
    let custom = inv
        .azure_role_definitions
        .iter()
        .find(|d| d.role_name.as_deref() == Some("acme-ops-everything"))
        .expect("custom role read");
    assert_eq!(custom.custom, Some(true));
    let perms = custom.permissions.as_ref().expect("permissions");
    assert_eq!(perms[0].actions, vec!["*"]);
    assert_eq!(perms[0].data_actions, vec!["*"]);
    assert!(payments.used_by.contains(&UsedBy::Workload {
        cluster: "staging-wi".into(),
        namespace: "payments".into(),
        service_account: "api".into(),
        mechanism: "azure-workload-identity".into(),
    }));
    // The credential omits the issuer's trailing slash and still matches.
    assert_eq!(payments.federated_credentials.len(), 1);
    assert_eq!(
        payments.federated_credentials[0].cluster.as_deref(),
        Some("staging-wi")
    );

    // Federated credentials with foreign issuers are kept, unmatched, and bind no workload.
    let deployer = identity(&inv, "ci-deployer");
    assert_eq!(deployer.federated_credentials.len(), 2);
    assert!(deployer
        .federated_credentials
        .iter()
        .all(|f| f.cluster.is_none()));
    assert!(deployer.federated_credentials.iter().any(|f| f.issuer
        == "https://token.actions.githubusercontent.com"
        && f.subject == "repo:acme/app:ref:refs/heads/main"));
    assert!(deployer.used_by.is_empty());
    assert_eq!(
        deployer.role_assignments[0].role_name.as_deref(),
        Some("Reader")
    );

    // The human's Owner assignment is not an identity of the scan; its role was not read.
    assert_eq!(inv.azure_role_definitions.len(), 7);
    assert_eq!(inv.identities.len(), 4);

    // cloud-audit-trail-missing facts: the activity log was read and is not exported.
    assert!(inv.audit_trails.is_empty());
    assert_eq!(
        inv.coverage_of("insights", "global"),
        Some(CoverageStatus::Complete)
    );
}

#[tokio::test]
async fn hardened_scenario_has_no_finding_facts() {
    let inv = replay(&mocks().join("hardened")).await.inventory;
    assert!(inv.all_complete(), "{:#?}", inv.coverage);
    // The cluster came from the second page after an empty first page.
    assert_eq!(inv.clusters.len(), 1);
    let c = cluster(&inv, "prod-private");
    assert_eq!(c.endpoint.public_access, Some(false));
    assert_eq!(c.endpoint.private_access, Some(true));
    assert!(c.endpoint.public_cidrs.is_empty());
    assert_eq!(c.secrets_encryption.enabled, Some(true));
    assert!(c
        .secrets_encryption
        .key
        .as_ref()
        .is_some_and(|k| k.id.contains("acme-kms.vault.azure.net/keys/etcd")));
    assert!(c.secrets_encryption.source.contains("Private"));
    assert_eq!(c.audit_logging.audit_enabled, Some(true));
    assert!(c
        .audit_logging
        .enabled_types
        .contains(&"kube-audit-admin".to_string()));
    assert_eq!(c.workload_identity.enabled, Some(true));
    assert_eq!(c.workload_identity.bindings.len(), 1);
    assert_eq!(c.auth.local_auth_enabled, Some(false));
    assert_eq!(c.auth.mode.as_deref(), Some("entra-azure-rbac"));
    assert!(c
        .auth
        .details
        .iter()
        .any(|d| d.contains("enableAzureRBAC = true")));

    // Activity log exported: an audit trail that qualifies.
    assert_eq!(inv.audit_trails.len(), 1);
    let t = &inv.audit_trails[0];
    assert_eq!(t.multi_region, Some(true));
    assert_eq!(t.logging, Some(true));
    assert_eq!(t.management_events, Some(ManagementEvents::All));

    // No broad grants, no custom wildcard role, no foreign issuer.
    for id in &inv.identities {
        for ra in &id.role_assignments {
            assert!(
                !ra.role_definition_id.ends_with(CONTRIBUTOR),
                "{} has Contributor",
                id.name
            );
            assert!(
                ra.scope.contains("/providers/"),
                "{} at {}",
                id.name,
                ra.scope
            );
        }
        for f in &id.federated_credentials {
            assert!(f.cluster.is_some(), "{} trusts {}", id.name, f.issuer);
        }
    }
    for d in &inv.azure_role_definitions {
        assert_eq!(d.custom, Some(false));
        for p in d.permissions.iter().flatten() {
            assert!(!p.actions.iter().any(|a| a == "*"));
            assert!(!p.data_actions.iter().any(|a| a == "*"));
        }
    }
}

#[tokio::test]
async fn the_inventory_round_trips_through_json() {
    let inv = replay(&mocks().join("insecure")).await.inventory;
    let text = serde_json::to_string(&inv).expect("serialize");
    let back: cloudscan_inventory::Inventory = serde_json::from_str(&text).expect("deserialize");
    assert_eq!(inv, back);
}
