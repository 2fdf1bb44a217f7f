//! The bundled scenarios, replayed end to end through google-cloud-auth and reqwest against the
//! 127.0.0.1 fixture server.

mod common;

use cloudscan_inventory::{CoverageStatus, KeyState, UsedBy, WorkloadBinding};
use common::*;

const CLOUD_PLATFORM: &str = "https://www.googleapis.com/auth/cloud-platform";
const DEFAULT_SA: &str = "123456789012-compute@developer.gserviceaccount.com";
const NODES_SA: &str = "gke-nodes@acme-insecure.iam.gserviceaccount.com";
const PAYMENTS_SA: &str = "payments@acme-insecure.iam.gserviceaccount.com";

fn binding(ns: &str, sa: &str, identity: &str) -> WorkloadBinding {
    WorkloadBinding {
        namespace: ns.into(),
        service_account: sa.into(),
        identity: identity.into(),
        mechanism: "gke-workload-identity".into(),
        target_identity: None,
        session_policy: None,
    }
}

#[tokio::test]
async fn insecure_scenario_has_every_insecure_fact() {
    let out = replay(&scenario("insecure")).await;
    let inv = out.inventory;
    assert_eq!(
        inv.caller.as_deref(),
        Some(cloudscan_gcp::REPLAY_CLIENT_EMAIL)
    );
    assert_eq!(inv.scopes.len(), 1);
    assert_eq!(inv.scopes[0].id, "acme-insecure");
    assert_eq!(inv.scopes[0].name.as_deref(), Some("ACME insecure"));
    let names: Vec<&str> = inv.clusters.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(names, vec!["prod-public", "staging-wi"]);
    assert_eq!(inv.regions, vec!["europe-west1-b", "us-central1"]);

    // api-endpoint-public: open to the internet, and a public office range.
    let prod = cluster(&inv, "prod-public");
    assert_eq!(prod.region, "us-central1");
    assert_eq!(prod.endpoint.public_access, Some(true));
    assert_eq!(prod.endpoint.private_access, Some(true));
    assert_eq!(prod.endpoint.public_cidrs, vec!["0.0.0.0/0"]);
    assert!(prod
        .endpoint
        .source
        .contains("ipEndpointsConfig.authorizedNetworksConfig"));
    assert!(prod.endpoint.source.contains("any address may connect"));
    let staging = cluster(&inv, "staging-wi");
    assert_eq!(staging.endpoint.public_access, Some(true));
    assert_eq!(staging.endpoint.public_cidrs, vec!["203.0.113.0/24"]);
    assert!(staging
        .endpoint
        .source
        .contains("masterAuthorizedNetworksConfig"));

    // secrets-encryption-disabled: off, and a key GKE cannot use.
    assert_eq!(prod.secrets_encryption.enabled, Some(false));
    assert!(prod.secrets_encryption.key.is_none());
    assert_eq!(staging.secrets_encryption.enabled, Some(true));
    let key = staging.secrets_encryption.key.as_ref().expect("key");
    assert_eq!(
        key.id,
        "projects/acme-insecure/locations/europe-west1/keyRings/gke/cryptoKeys/etcd"
    );
    assert_eq!(key.state, Some(KeyState::Unavailable));
    assert_eq!(
        key.raw_state.as_deref(),
        Some("CURRENT_STATE_ENCRYPTION_ERROR")
    );

    // No Data Access logs for GKE in the auditConfigs of the project, its folder or its
    // organization (all read): Kubernetes reads are not audited. Writes are: GKE sends them to
    // the Admin Activity log, which cannot be turned off, so the Kubernetes audit log is on
    // (documented fix of `audit-logging-disabled`, see docs/semantics-gcp.md).
    for c in [prod, staging] {
        assert_eq!(c.audit_logging.audit_enabled, Some(true), "{}", c.name);
        for t in ["ADMIN_READ", "DATA_READ", "DATA_WRITE"] {
            assert!(c
                .audit_logging
                .disabled_types
                .contains(&format!("cloudaudit:{t}")));
        }
        assert!(c
            .audit_logging
            .enabled_types
            .contains(&"cloudaudit:ADMIN_ACTIVITY".to_string()));
        assert!(c
            .audit_logging
            .source
            .contains("Admin Activity audit log, always on"));
        assert!(c
            .audit_logging
            .source
            .contains("folders/400000000001, organizations/555555555555"));
    }
    assert!(prod
        .audit_logging
        .disabled_types
        .contains(&"APISERVER".to_string()));
    assert!(staging
        .audit_logging
        .enabled_types
        .contains(&"APISERVER".to_string()));

    // node-metadata-exposed: the metadata mode of every pool.
    let modes: Vec<(&str, &str, Option<bool>)> = inv
        .clusters
        .iter()
        .flat_map(|c| c.node_pools.iter())
        .map(|p| {
            let m = &p.metadata[0];
            (
                p.name.as_str(),
                m.mode.as_deref().unwrap_or(""),
                m.tokens_required,
            )
        })
        .collect();
    assert_eq!(
        modes,
        vec![
            ("default-pool", "GCE_METADATA", None),
            ("apps", "GKE_METADATA", None),
            ("legacy", "GCE_METADATA", None),
        ]
    );
    assert!(pool(prod, "default-pool").metadata[0]
        .source
        .contains("unset and no workload identity"));

    // workload-identity-disabled on prod-public; bindings on staging-wi.
    assert_eq!(prod.workload_identity.enabled, Some(false));
    assert!(prod.workload_identity.bindings.is_empty());
    assert_eq!(staging.workload_identity.enabled, Some(true));
    assert_eq!(
        staging.workload_identity.issuer.as_deref(),
        Some("acme-insecure.svc.id.goog")
    );
    let principal = "principal://iam.googleapis.com/projects/123456789012/locations/global/workloadIdentityPools/acme-insecure.svc.id.goog/subject/ns/batch/sa/runner";
    let mut got = staging.workload_identity.bindings.clone();
    got.sort_by(|a, b| a.namespace.cmp(&b.namespace));
    assert_eq!(
        got,
        vec![
            binding("batch", "runner", principal),
            binding("billing", "*", PAYMENTS_SA),
            binding("payments", "api", PAYMENTS_SA),
        ]
    );

    // local-auth-enabled: legacy ABAC and a client certificate.
    assert_eq!(prod.auth.local_auth_enabled, Some(true));
    assert!(prod.auth.details.iter().any(|d| d.contains("legacyAbac")));
    assert!(prod
        .auth
        .details
        .iter()
        .any(|d| d.contains("clientCertificate")));
    assert_eq!(staging.auth.local_auth_enabled, Some(false));

    // node-default-service-account facts.
    let default_pool = pool(prod, "default-pool");
    assert_eq!(default_pool.identity.as_deref(), Some(DEFAULT_SA));
    assert_eq!(default_pool.default_service_account, Some(true));
    assert_eq!(default_pool.oauth_scopes, vec![CLOUD_PLATFORM]);
    let apps = pool(staging, "apps");
    assert_eq!(apps.identity.as_deref(), Some(NODES_SA));
    assert_eq!(apps.default_service_account, Some(false));
    assert_eq!(apps.oauth_scopes, vec![CLOUD_PLATFORM]);
    assert_eq!(
        apps.boot_disk_kms_key.as_deref(),
        Some("projects/acme-insecure/locations/europe-west1/keyRings/gke/cryptoKeys/disks")
    );

    // Identities: who uses them, what they are granted.
    let default_identity = inv.identity(DEFAULT_SA).expect("default SA");
    assert_eq!(default_identity.kind, "gcp-service-account");
    assert_eq!(
        default_identity.used_by,
        vec![UsedBy::NodePool {
            cluster: "prod-public".into(),
            pool: "default-pool".into()
        }]
    );
    assert!(default_identity
        .role_bindings
        .iter()
        .any(|b| b.role == "roles/editor" && b.resource == "projects/acme-insecure"));
    let nodes = inv.identity(NODES_SA).expect("nodes SA");
    assert_eq!(nodes.used_by.len(), 2);
    let roles: Vec<(&str, &str)> = nodes
        .role_bindings
        .iter()
        .map(|b| (b.resource.as_str(), b.role.as_str()))
        .collect();
    assert!(roles.contains(&(
        "projects/acme-insecure/serviceAccounts/payments@acme-insecure.iam.gserviceaccount.com",
        "roles/iam.serviceAccountTokenCreator"
    )));
    let conditional = nodes
        .role_bindings
        .iter()
        .find(|b| b.role == "projects/acme-insecure/roles/nodeDebugger")
        .expect("custom role binding");
    assert_eq!(
        conditional
            .condition
            .as_ref()
            .and_then(|c| c.title.as_deref()),
        Some("business hours")
    );
    // The payments SA is on the second page of serviceAccounts.list.
    let payments = inv.identity(PAYMENTS_SA).expect("payments SA from page 2");
    assert!(payments.used_by.contains(&UsedBy::Workload {
        cluster: "staging-wi".into(),
        namespace: "payments".into(),
        service_account: "api".into(),
        mechanism: "gke-workload-identity".into(),
    }));
    let trust = payments
        .trust
        .as_ref()
        .and_then(|t| t.document.as_ref())
        .expect("policy");
    assert_eq!(
        trust["bindings"][1]["role"],
        "roles/iam.workloadIdentityUser"
    );
    let direct = inv.identity(principal).expect("direct principal");
    assert_eq!(direct.kind, "gcp-workload-principal");
    assert_eq!(direct.role_bindings[0].role, "roles/storage.objectViewer");

    // Role definitions, predefined and custom.
    let editor = inv.role_definition("roles/editor").expect("editor");
    assert!(!editor.custom);
    assert!(editor
        .permissions
        .as_ref()
        .is_some_and(|p| p.contains(&"iam.serviceAccounts.actAs".to_string())));
    let custom = inv
        .role_definition("projects/acme-insecure/roles/nodeDebugger")
        .expect("custom role");
    assert!(custom.custom);
    // Eight bound in the project, two more in its folder and organization policies.
    assert_eq!(inv.role_definitions.len(), 10);

    // Node disks (both pages of disks.aggregatedList; the bastion disk is not a node's).
    let mut volumes: Vec<(&str, &str, Option<&str>)> = inv
        .volumes
        .iter()
        .map(|v| {
            (
                v.node_pool.as_deref().unwrap_or(""),
                v.region.as_str(),
                v.key.as_deref(),
            )
        })
        .collect();
    volumes.sort();
    assert_eq!(
        volumes,
        vec![
            ("apps", "europe-west1-b", Some("projects/acme-insecure/locations/europe-west1/keyRings/gke/cryptoKeys/disks/cryptoKeyVersions/1")),
            ("default-pool", "us-central1-a", None),
            ("legacy", "europe-west1-b", None),
        ]
    );
    assert!(inv.volumes.iter().all(|v| v.encrypted == Some(true)));
    assert_eq!(default_pool.nodes.len(), 1);
    assert!(default_pool.nodes[0]
        .id
        .ends_with("/instances/gke-prod-public-default-pool-1a2b3c4d-x7k2"));

    // Everything was read.
    let mut services: Vec<(&str, &str, CoverageStatus)> = inv
        .coverage
        .iter()
        .map(|c| (c.service.as_str(), c.region.as_str(), c.status))
        .collect();
    services.sort_by_key(|s| s.0);
    assert_eq!(
        services,
        vec![
            ("cloudresourcemanager", "global", CoverageStatus::Complete),
            ("compute", "global", CoverageStatus::Complete),
            ("container", "global", CoverageStatus::Complete),
            ("iam", "global", CoverageStatus::Complete),
        ]
    );
    assert!(inv.coverage.iter().all(|c| c.scope == "acme-insecure"));
}

#[tokio::test]
async fn hardened_scenario_has_none_of_them() {
    let inv = replay(&scenario("hardened")).await.inventory;
    assert!(inv.all_complete(), "{:?}", inv.coverage);
    assert_eq!(inv.clusters.len(), 1);
    let c = cluster(&inv, "prod-private");
    assert_eq!(c.endpoint.public_access, Some(false));
    assert_eq!(c.endpoint.public_cidrs, vec!["10.10.0.0/16"]);
    assert_eq!(c.secrets_encryption.enabled, Some(true));
    let key = c.secrets_encryption.key.as_ref().expect("key");
    assert_eq!(key.state, None);
    assert_eq!(key.raw_state.as_deref(), Some("CURRENT_STATE_ENCRYPTED"));
    assert_eq!(c.audit_logging.audit_enabled, Some(true));
    assert_eq!(c.workload_identity.enabled, Some(true));
    assert_eq!(
        c.workload_identity.bindings,
        vec![binding(
            "orders",
            "api",
            "orders@acme-hardened.iam.gserviceaccount.com"
        )]
    );
    assert_eq!(c.auth.local_auth_enabled, Some(false));
    for p in &c.node_pools {
        assert_eq!(p.default_service_account, Some(false));
        assert!(!p.oauth_scopes.iter().any(|s| s == CLOUD_PLATFORM));
        for m in &p.metadata {
            assert_eq!(m.mode.as_deref(), Some("GKE_METADATA"));
        }
    }
    assert!(inv
        .volumes
        .iter()
        .all(|v| v.encrypted == Some(true) && v.key.is_some()));
    assert_eq!(inv.volumes.len(), 1);
    assert_eq!(
        inv.audit_trails[0].management_events,
        Some(cloudscan_inventory::ManagementEvents::All)
    );
}
