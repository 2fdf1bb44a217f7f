//! The Azure fixes of issue 11 on the `spec-cases` scenarios (REST shapes of the published
//! specs), each in both directions: the documented case, and the same fixture edited back to
//! the ordinary case. docs/semantics-azure.md names these tests.

mod common;

use cloudscan_inventory::{CoverageStatus, Inventory};
use common::*;
use serde_json::Value;

fn spec_case(name: &str) -> std::path::PathBuf {
    mocks().join("spec-cases").join(name)
}

fn copy_case(name: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    cloudscan_collect::testkit::copy_dir(&spec_case(name), dir.path()).expect("copy");
    dir
}

fn path_has(fragment: &'static str) -> impl Fn(&Value) -> bool {
    move |r: &Value| r["path"].as_str().is_some_and(|p| p.contains(fragment))
}

/// Rewrites every cluster of the (single-page) cluster lists with `f`.
fn edit_clusters(dir: &std::path::Path, f: impl Fn(&mut Value)) {
    let n = edit_responses(
        dir,
        "managedClusters.list",
        |_| true,
        |responses| {
            let mut responses = responses.clone();
            for r in responses.as_array_mut().into_iter().flatten() {
                for c in r["json"]["value"].as_array_mut().into_iter().flatten() {
                    f(c);
                }
            }
            responses
        },
    );
    assert!(n > 0);
}

fn gaps(inv: &Inventory, service: &str) -> Vec<String> {
    inv.coverage
        .iter()
        .filter(|c| c.service == service && c.status != CoverageStatus::Complete)
        .filter_map(|c| c.detail.clone())
        .collect()
}

// --- apiServerAccessProfile.authorizedIPRanges: 0.0.0.0/32 -------------------------------------

#[tokio::test]
async fn azure_authorized_ranges_0_0_0_0_32_is_the_clusters_own_egress_not_a_public_range() {
    let inv = replay(&spec_case("complete")).await.inventory;
    assert!(inv.all_complete(), "{:#?}", inv.coverage);
    let egress = &cluster(&inv, "egress-only").endpoint;
    assert_eq!(egress.public_access, Some(true));
    assert!(egress.public_cidrs.is_empty(), "{egress:?}");
    assert!(egress.source.contains("0.0.0.0/32"));
    let mixed = &cluster(&inv, "mixed").endpoint;
    assert_eq!(mixed.public_cidrs, vec!["198.51.100.0/24".to_string()]);

    // The other direction: without the special value, an empty list is the whole internet.
    let dir = copy_case("complete");
    edit_clusters(dir.path(), |c| {
        if c["name"] == "egress-only" {
            c["properties"]["apiServerAccessProfile"]["authorizedIPRanges"] = serde_json::json!([]);
        }
    });
    let inv = replay(dir.path()).await.inventory;
    assert_eq!(
        cluster(&inv, "egress-only").endpoint.public_cidrs,
        vec!["0.0.0.0/0".to_string()]
    );
}

// --- Ephemeral OS disks --------------------------------------------------------------------------

#[tokio::test]
async fn azure_ephemeral_os_disks_are_encrypted_only_with_encryption_at_host() {
    let inv = replay(&spec_case("complete")).await.inventory;
    let disk = |pool: &str| {
        inv.volumes
            .iter()
            .find(|v| v.node_pool.as_deref() == Some(pool))
            .map(|v| v.encrypted)
    };
    assert_eq!(disk("eph"), Some(Some(false)));
    assert_eq!(disk("ephhost"), Some(Some(true)));
    // osDiskType unset and no host encryption: AKS chose by VM size; unknown.
    assert_eq!(disk("auto"), Some(None));
    // Managed OS disks are always encrypted at rest: nothing to assess.
    assert_eq!(disk("system"), None);

    // The other direction: encryption at host turned on for `eph` and `auto`.
    let dir = copy_case("complete");
    edit_clusters(dir.path(), |c| {
        for p in c["properties"]["agentPoolProfiles"]
            .as_array_mut()
            .into_iter()
            .flatten()
        {
            p["enableEncryptionAtHost"] = Value::Bool(true);
        }
    });
    let inv = replay(dir.path()).await.inventory;
    assert!(inv.volumes.iter().all(|v| v.encrypted == Some(true)));
    assert_eq!(inv.volumes.len(), 3);
}

// --- Role assignments in another scanned subscription -------------------------------------------

#[tokio::test]
async fn azure_role_assignments_in_another_scanned_subscription_are_kept() {
    let inv = replay(&spec_case("complete")).await.inventory;
    let mixed = identity(&inv, "mixed-agentpool");
    assert_eq!(
        mixed
            .role_assignments
            .iter()
            .map(|a| (a.scope.as_str(), a.role_name.as_deref()))
            .collect::<Vec<_>>(),
        vec![(
            "/subscriptions/44444444-4444-4444-4444-444444444444",
            Some("Contributor")
        )]
    );
    // Its definition was read (in subscription 4444), so the grant is known.
    let def = inv
        .azure_role_definitions
        .iter()
        .find(|d| {
            d.id.eq_ignore_ascii_case(&mixed.role_assignments[0].role_definition_id)
        })
        .expect("definition read");
    assert!(def.permissions.is_some());

    // The other direction: subscription 4444 not scanned, its assignments are not seen.
    let opts = cloudscan_azure::ScanOptions {
        subscriptions: vec!["33333333-3333-3333-3333-333333333333".to_string()],
        collect: cloudscan_azure::CollectOptions {
            replay: Some(spec_case("complete")),
            ..Default::default()
        },
        ..Default::default()
    };
    let inv = cloudscan_azure::scan(&opts, quiet())
        .await
        .expect("scan")
        .inventory;
    assert!(identity(&inv, "mixed-agentpool")
        .role_assignments
        .is_empty());
}

// --- Deleted or missing role definitions --------------------------------------------------------

#[tokio::test]
async fn azure_a_deleted_role_definition_grants_nothing_and_is_unknown() {
    let inv = replay(&spec_case("gaps")).await.inventory;
    let kubelet = identity(&inv, "gap-aks-agentpool");
    let deleted = kubelet
        .role_assignments
        .iter()
        .find(|a| {
            a.role_definition_id
                .ends_with("9f1e2d3c-0000-4000-8000-000000000051")
        })
        .expect("the assignment stays");
    assert_eq!(deleted.role_name, None);
    let def = inv
        .azure_role_definitions
        .iter()
        .find(|d| d.id.eq_ignore_ascii_case(&deleted.role_definition_id))
        .expect("recorded as unread");
    assert!(def.permissions.is_none());
    assert!(def
        .error
        .as_deref()
        .is_some_and(|e| e.contains("RoleDefinitionDoesNotExist")));
    assert!(gaps(&inv, "authorization")
        .iter()
        .any(|g| g.contains("RoleDefinitionDoesNotExist")));

    // The other direction: the role that exists is read with its permissions.
    let blob = inv
        .azure_role_definitions
        .iter()
        .find(|d| d.role_name.as_deref() == Some("Storage Blob Data Contributor"))
        .expect("blob role");
    assert!(blob.permissions.as_ref().is_some_and(|p| !p.is_empty()));
    assert!(blob.error.is_none());
}

#[tokio::test]
async fn azure_a_role_definition_without_permissions_is_unknown_not_empty() {
    let dir = copy_case("gaps");
    let n = edit_responses(
        dir.path(),
        "roleDefinitions.get",
        path_has("ba92f5b4-2d11-453d-a403-e96b0029c9fe"),
        |responses| {
            let mut responses = responses.clone();
            for r in responses.as_array_mut().into_iter().flatten() {
                if let Some(p) = r["json"]["properties"].as_object_mut() {
                    p.remove("permissions");
                }
            }
            responses
        },
    );
    assert_eq!(n, 1);
    let inv = replay(dir.path()).await.inventory;
    let blob = inv
        .azure_role_definitions
        .iter()
        .find(|d| d.role_name.as_deref() == Some("Storage Blob Data Contributor"))
        .expect("blob role");
    assert!(blob.permissions.is_none());
    assert!(blob.error.is_some());
}

// --- Federated credentials when a cluster list failed -------------------------------------------

#[tokio::test]
async fn azure_an_issuer_is_unknown_not_foreign_when_a_cluster_list_failed() {
    let inv = replay(&spec_case("gaps")).await.inventory;
    let wi = identity(&inv, "wi-elsewhere");
    let names = |v: &[cloudscan_inventory::FederatedCredential]| {
        v.iter().map(|f| f.name.clone()).collect::<Vec<_>>()
    };
    assert_eq!(names(&wi.federated_credentials), vec!["gap-local"]);
    assert_eq!(
        wi.federated_credentials[0].cluster.as_deref(),
        Some("gap-aks")
    );
    assert_eq!(
        names(&wi.federated_credentials_issuer_unknown),
        vec!["maybe-6666"]
    );
    assert!(gaps(&inv, "managedidentity")
        .iter()
        .any(|g| g.contains("maybe-6666") && g.contains("66666666")));

    // The other direction: every cluster list answered, the issuer is foreign.
    let dir = copy_case("gaps");
    let n = edit_responses(
        dir.path(),
        "managedClusters.list",
        path_has("66666666"),
        |_| {
            serde_json::json!([{"status": 200, "headers": {"content-type": "application/json"},
                                "json": {"value": []}}])
        },
    );
    assert_eq!(n, 1);
    let inv = replay(dir.path()).await.inventory;
    let wi = identity(&inv, "wi-elsewhere");
    assert!(wi.federated_credentials_issuer_unknown.is_empty());
    let foreign = wi
        .federated_credentials
        .iter()
        .find(|f| f.name == "maybe-6666")
        .expect("listed");
    assert_eq!(foreign.cluster, None);
    assert!(gaps(&inv, "managedidentity").is_empty());
}

// --- Inherited access: deny assignments and groups ----------------------------------------------

#[tokio::test]
async fn azure_deny_assignments_apply_to_their_principals_and_groups_are_coverage_gaps() {
    let inv = replay(&spec_case("gaps")).await.inventory;
    let names = |name: &str| -> Vec<String> {
        identity(&inv, name)
            .deny_assignments
            .iter()
            .map(|d| d.name.clone())
            .collect()
    };
    // The write deny names everyone; the delete deny excludes the kubelet identity.
    let kubelet = names("gap-aks-agentpool");
    assert_eq!(
        kubelet,
        vec!["Deny writes to the managed application's data".to_string()],
        "{kubelet:?}"
    );
    let wi = names("wi-elsewhere");
    assert!(
        wi.iter().any(|n| n == "Deny deletes except the kubelet"),
        "{wi:?}"
    );
    // Unconditional deny assignments are subtracted by the access stage: no gap for them.
    let auth = gaps(&inv, "authorization");
    assert!(
        !auth.iter().any(|g| g.starts_with("deny assignment")),
        "{auth:#?}"
    );
    assert!(auth
        .iter()
        .any(|g| g.contains("to groups") && g.contains("e0000000-0000-4000-8000-000000000053")));

    // A deny assignment with a condition may or may not apply: a named gap, not subtracted.
    let dir = copy_case("gaps");
    let n = edit_responses(
        dir.path(),
        "denyAssignments.list",
        |_| true,
        |responses| {
            let mut r = responses.clone();
            if let Some(items) = r[0]["json"]["value"].as_array_mut() {
                for item in items {
                    item["properties"]["condition"] = serde_json::Value::String(
                        "@Resource[Microsoft.Storage/storageAccounts:name] StringEquals 'x'"
                            .to_string(),
                    );
                    item["properties"]["conditionVersion"] =
                        serde_json::Value::String("2.0".to_string());
                }
            }
            r
        },
    );
    assert!(n >= 1);
    let inv = replay(dir.path()).await.inventory;
    let auth = gaps(&inv, "authorization");
    let conditional: Vec<&String> = auth
        .iter()
        .filter(|g| g.starts_with("deny assignment") && g.contains("`gap-aks-agentpool`"))
        .collect();
    assert_eq!(conditional.len(), 1, "{auth:#?}");
    assert!(conditional[0].contains("whether it applies is unknown"));

    // The other direction: no deny assignment and no group assignment, no such gap.
    let inv = replay(&spec_case("complete")).await.inventory;
    assert!(gaps(&inv, "authorization").is_empty());
    let dir = copy_case("gaps");
    edit_responses(
        dir.path(),
        "denyAssignments.list",
        |_| true,
        |_| {
            serde_json::json!([{"status": 200, "headers": {"content-type": "application/json"},
                            "json": {"value": []}}])
        },
    );
    let inv = replay(dir.path()).await.inventory;
    assert!(!gaps(&inv, "authorization")
        .iter()
        .any(|g| g.starts_with("deny assignment")));
    // A deny list that cannot be read is a gap too.
    let dir = copy_case("complete");
    edit_responses(
        dir.path(),
        "denyAssignments.list",
        |_| true,
        |_| {
            serde_json::json!([arm_error(
                403,
                "AuthorizationFailed",
                "no denyAssignments/read"
            )])
        },
    );
    let inv = replay(dir.path()).await.inventory;
    assert!(gaps(&inv, "authorization")
        .iter()
        .any(|g| g.contains("deny assignments not listed")));
}
