//! Raw ARM facts → the cloud-neutral inventory.

use crate::collect::{self, DiagnosticSetting};
use cloudscan_inventory::{
    AuditLogging, AuditTrail, AzurePermission, AzureRoleDefinition, Cluster, ClusterAuth, Endpoint,
    FederatedCredential, Identity, Inventory, KeyRef, ManagementEvents, NodePool, Provider,
    RoleAssignment, Scope, SecretsEncryption, UsedBy, WorkloadBinding, WorkloadIdentity,
};
use std::collections::{BTreeMap, BTreeSet};

pub const MECHANISM: &str = "azure-workload-identity";
pub const IDENTITY_KIND: &str = "azure-managed-identity";

/// What was read in one subscription. `None` / `Err` = could not be read (coverage says why).
#[derive(Debug, Clone, Default)]
pub struct SubscriptionScan {
    pub id: String,
    pub name: Option<String>,
    pub clusters: Option<Vec<collect::ManagedCluster>>,
    /// By lower-cased cluster id.
    pub cluster_diagnostics: BTreeMap<String, Result<Vec<DiagnosticSetting>, String>>,
    pub activity_log: Option<Vec<DiagnosticSetting>>,
    pub role_assignments: Option<Vec<collect::RoleAssignment>>,
    /// By lower-cased role definition id.
    pub role_definitions: BTreeMap<String, Result<collect::RoleDefinition, String>>,
    pub identities: Option<Vec<collect::ManagedIdentity>>,
    /// By lower-cased identity id.
    pub federated: BTreeMap<String, Vec<collect::FederatedCredential>>,
    /// By lower-cased disk encryption set id.
    pub disk_encryption_sets: BTreeMap<String, Result<collect::DiskEncryptionSet, String>>,
}

/// Issuers are compared exactly, except for a trailing slash (AKS issuer URLs end with `/`, and
/// credentials are often written without it).
pub fn issuer_key(issuer: &str) -> String {
    issuer.trim().trim_end_matches('/').to_string()
}

/// The GUID at the end of a role definition id.
pub fn role_guid(id: &str) -> String {
    id.rsplit('/').next().unwrap_or(id).to_lowercase()
}

fn last_segment(id: &str) -> String {
    id.trim_end_matches('/')
        .rsplit('/')
        .next()
        .unwrap_or(id)
        .to_string()
}

/// `system:serviceaccount:NS:SA` → (NS, SA).
pub fn service_account(subject: &str) -> Option<(String, String)> {
    let rest = subject.strip_prefix("system:serviceaccount:")?;
    let (ns, sa) = rest.split_once(':')?;
    if ns.is_empty() || sa.is_empty() || sa.contains(':') {
        return None;
    }
    Some((ns.to_string(), sa.to_string()))
}

const AUDIT_CATEGORIES: &[&str] = &["kube-audit", "kube-audit-admin"];
const AUDIT_GROUPS: &[&str] = &["audit", "allLogs"];

fn audit_logging(diag: Option<&Result<Vec<DiagnosticSetting>, String>>) -> AuditLogging {
    const SOURCE: &str = "insights diagnosticSettings.list (cluster) properties.logs";
    let settings = match diag {
        Some(Ok(s)) => s,
        Some(Err(e)) => {
            return AuditLogging {
                source: format!("{SOURCE}: not read ({e})"),
                ..Default::default()
            }
        }
        None => {
            return AuditLogging {
                source: format!("{SOURCE}: not read"),
                ..Default::default()
            }
        }
    };
    let mut on = BTreeSet::new();
    let mut off = BTreeSet::new();
    let mut audit = false;
    for s in settings {
        let sends = s.properties.has_destination();
        for log in s.properties.logs.iter().flatten() {
            let name = log
                .category
                .clone()
                .or_else(|| log.category_group.clone())
                .unwrap_or_default();
            if name.is_empty() {
                continue;
            }
            if log.enabled == Some(true) && sends {
                let is_audit =
                    log.category.as_deref().is_some_and(|c| {
                        AUDIT_CATEGORIES.iter().any(|a| a.eq_ignore_ascii_case(c))
                    }) || log
                        .category_group
                        .as_deref()
                        .is_some_and(|g| AUDIT_GROUPS.iter().any(|a| a.eq_ignore_ascii_case(g)));
                audit |= is_audit;
                on.insert(name);
            } else {
                off.insert(name);
            }
        }
    }
    let off: BTreeSet<String> = off.difference(&on).cloned().collect();
    AuditLogging {
        enabled_types: on.into_iter().collect(),
        disabled_types: off.into_iter().collect(),
        audit_enabled: Some(audit),
        source: if settings.is_empty() {
            format!("{SOURCE}: the cluster has no diagnostic setting")
        } else {
            SOURCE.to_string()
        },
    }
}

fn endpoint(p: &collect::ClusterProperties) -> Endpoint {
    let access = p.api_server_access_profile.clone().unwrap_or_default();
    let private = access.enable_private_cluster == Some(true);
    let network_disabled = p
        .public_network_access
        .as_deref()
        .is_some_and(|v| v.eq_ignore_ascii_case("Disabled"));
    if private || network_disabled {
        return Endpoint {
            public_access: Some(false),
            private_access: Some(private),
            public_cidrs: Vec::new(),
            source: if private {
                "properties.apiServerAccessProfile.enablePrivateCluster = true".to_string()
            } else {
                "properties.publicNetworkAccess = Disabled".to_string()
            },
        };
    }
    let ranges: Vec<String> = access
        .authorized_ip_ranges
        .unwrap_or_default()
        .into_iter()
        .filter(|r| !r.trim().is_empty())
        .collect();
    if ranges.is_empty() {
        Endpoint {
            public_access: Some(true),
            private_access: Some(false),
            public_cidrs: vec!["0.0.0.0/0".to_string()],
            source: "properties.apiServerAccessProfile.authorizedIPRanges (none set on a public cluster: AKS accepts every address)".to_string(),
        }
    } else {
        Endpoint {
            public_access: Some(true),
            private_access: Some(false),
            public_cidrs: ranges,
            source: "properties.apiServerAccessProfile.authorizedIPRanges".to_string(),
        }
    }
}

fn secrets(p: &collect::ClusterProperties) -> SecretsEncryption {
    let kms = p
        .security_profile
        .as_ref()
        .and_then(|s| s.azure_key_vault_kms.clone())
        .unwrap_or_default();
    const SOURCE: &str = "properties.securityProfile.azureKeyVaultKms";
    if kms.enabled == Some(true) {
        SecretsEncryption {
            enabled: Some(true),
            key: kms.key_id.map(|id| KeyRef {
                id,
                state: None,
                raw_state: None,
            }),
            source: match kms.key_vault_network_access {
                Some(access) => format!("{SOURCE} (keyVaultNetworkAccess {access})"),
                None => SOURCE.to_string(),
            },
        }
    } else {
        SecretsEncryption {
            enabled: Some(false),
            key: None,
            source: SOURCE.to_string(),
        }
    }
}

fn auth(p: &collect::ClusterProperties) -> ClusterAuth {
    let local = p.disable_local_accounts != Some(true);
    let mut details = Vec::new();
    if local {
        details.push(match p.disable_local_accounts {
            Some(false) => "properties.disableLocalAccounts = false: the static local cluster-admin credential (az aks get-credentials --admin) works".to_string(),
            _ => "properties.disableLocalAccounts is not set (default false): the static local cluster-admin credential (az aks get-credentials --admin) works".to_string(),
        });
    }
    let mode = match &p.aad_profile {
        None => {
            details.push(
                "properties.aadProfile is absent: no Microsoft Entra ID integration".to_string(),
            );
            "local"
        }
        Some(aad) if aad.enable_azure_rbac == Some(true) => {
            details.push("properties.aadProfile.enableAzureRBAC = true: Kubernetes authorization through Azure RBAC".to_string());
            "entra-azure-rbac"
        }
        Some(aad) => {
            details.push(format!(
                "properties.aadProfile (managed {}): Microsoft Entra ID authentication with Kubernetes RBAC",
                aad.managed.map(|m| m.to_string()).unwrap_or_else(|| "unset".into())
            ));
            "entra-kubernetes-rbac"
        }
    };
    if p.enable_rbac == Some(false) {
        details.push("properties.enableRBAC = false: Kubernetes RBAC is off".to_string());
    }
    ClusterAuth {
        mode: Some(mode.to_string()),
        local_auth_enabled: Some(local),
        details,
        access_entries: Vec::new(),
    }
}

fn permissions(def: &collect::RoleDefinition) -> Vec<AzurePermission> {
    def.properties
        .permissions
        .iter()
        .flatten()
        .map(|p| AzurePermission {
            actions: p.actions.clone().unwrap_or_default(),
            not_actions: p.not_actions.clone().unwrap_or_default(),
            data_actions: p.data_actions.clone().unwrap_or_default(),
            not_data_actions: p.not_data_actions.clone().unwrap_or_default(),
        })
        .collect()
}

/// Builds the inventory of every scanned subscription.
pub fn normalize(subs: Vec<SubscriptionScan>, caller: Option<String>) -> Inventory {
    let mut inventory = Inventory::new(Provider::Azure);
    inventory.caller = caller;
    let mut regions = BTreeSet::new();
    // Issuers of every scanned cluster (all subscriptions): a credential may trust a cluster of
    // another subscription.
    let mut issuers: BTreeMap<String, String> = BTreeMap::new();
    for sub in &subs {
        for c in sub.clusters.iter().flatten() {
            if let Some(url) = c
                .properties
                .oidc_issuer_profile
                .as_ref()
                .filter(|o| o.enabled == Some(true))
                .and_then(|o| o.issuer_url.as_deref())
            {
                issuers.insert(issuer_key(url), c.name.clone());
            }
        }
    }

    for sub in subs {
        inventory.scopes.push(Scope {
            id: sub.id.clone(),
            name: sub.name.clone(),
            partition: None,
        });
        // Identities by lower-cased resource id.
        let mut identities: BTreeMap<String, Identity> = BTreeMap::new();
        for mi in sub.identities.iter().flatten() {
            identities.insert(
                mi.id.to_lowercase(),
                Identity {
                    id: mi.id.clone(),
                    name: mi.name.clone(),
                    kind: IDENTITY_KIND.to_string(),
                    scope: sub.id.clone(),
                    principal_id: mi.properties.principal_id.clone(),
                    client_id: mi.properties.client_id.clone(),
                    ..Default::default()
                },
            );
        }

        // Federated credentials and the workload bindings they make.
        let mut bindings: BTreeMap<String, Vec<WorkloadBinding>> = BTreeMap::new();
        for (identity_key, creds) in &sub.federated {
            let Some(identity) = identities.get_mut(identity_key) else {
                continue;
            };
            for fic in creds {
                let cluster = issuers.get(&issuer_key(&fic.properties.issuer)).cloned();
                if let (Some(cluster), Some((ns, sa))) =
                    (&cluster, service_account(&fic.properties.subject))
                {
                    identity.used_by.push(UsedBy::Workload {
                        cluster: cluster.clone(),
                        namespace: ns.clone(),
                        service_account: sa.clone(),
                        mechanism: MECHANISM.to_string(),
                    });
                    bindings
                        .entry(cluster.clone())
                        .or_default()
                        .push(WorkloadBinding {
                            namespace: ns,
                            service_account: sa,
                            identity: identity.id.clone(),
                            mechanism: MECHANISM.to_string(),
                        });
                }
                identity.federated_credentials.push(FederatedCredential {
                    id: fic.id.clone(),
                    name: fic.name.clone(),
                    issuer: fic.properties.issuer.clone(),
                    subject: fic.properties.subject.clone(),
                    audiences: fic.properties.audiences.clone().unwrap_or_default(),
                    cluster,
                    source: "managedidentity federatedIdentityCredentials.list".to_string(),
                });
            }
        }

        for c in sub.clusters.iter().flatten() {
            let p = &c.properties;
            regions.insert(c.location.clone());
            let kubelet = p
                .identity_profile
                .as_ref()
                .and_then(|m| m.get("kubeletidentity"))
                .cloned();
            let kubelet_id = kubelet.as_ref().and_then(|k| k.resource_id.clone());
            if let (Some(k), Some(id)) = (&kubelet, &kubelet_id) {
                let entry = identities
                    .entry(id.to_lowercase())
                    .or_insert_with(|| Identity {
                        id: id.clone(),
                        name: last_segment(id),
                        kind: IDENTITY_KIND.to_string(),
                        scope: sub.id.clone(),
                        ..Default::default()
                    });
                if entry.principal_id.is_none() {
                    entry.principal_id = k.object_id.clone();
                }
                if entry.client_id.is_none() {
                    entry.client_id = k.client_id.clone();
                }
            }
            let des = p.disk_encryption_set_id.as_ref().map(|id| {
                match sub.disk_encryption_sets.get(&id.to_lowercase()) {
                    Some(Ok(set)) => set
                        .properties
                        .active_key
                        .as_ref()
                        .and_then(|k| k.key_url.clone())
                        .unwrap_or_else(|| id.clone()),
                    _ => id.clone(),
                }
            });
            let mut pools = Vec::new();
            for pool in p.agent_pool_profiles.iter().flatten() {
                if let Some(id) = &kubelet_id {
                    if let Some(identity) = identities.get_mut(&id.to_lowercase()) {
                        identity.used_by.push(UsedBy::NodePool {
                            cluster: c.name.clone(),
                            pool: pool.name.clone(),
                        });
                    }
                }
                pools.push(NodePool {
                    name: pool.name.clone(),
                    id: Some(format!("{}/agentPools/{}", c.id, pool.name)),
                    kind: "managed".to_string(),
                    identity: kubelet_id.clone(),
                    boot_disk_kms_key: des.clone(),
                    source: if kubelet_id.is_some() {
                        "properties.identityProfile.kubeletidentity".to_string()
                    } else {
                        "properties.identityProfile has no kubeletidentity".to_string()
                    },
                    ..Default::default()
                });
            }
            let oidc = p.oidc_issuer_profile.clone().unwrap_or_default();
            let issuer = oidc
                .issuer_url
                .clone()
                .filter(|_| oidc.enabled == Some(true));
            let wi_on = p
                .security_profile
                .as_ref()
                .and_then(|s| s.workload_identity.as_ref())
                .and_then(|w| w.enabled)
                == Some(true);
            let cluster = Cluster {
                id: c.id.clone(),
                name: c.name.clone(),
                scope: sub.id.clone(),
                region: c.location.clone(),
                version: p
                    .current_kubernetes_version
                    .clone()
                    .or_else(|| p.kubernetes_version.clone()),
                endpoint: endpoint(p),
                secrets_encryption: secrets(p),
                audit_logging: audit_logging(sub.cluster_diagnostics.get(&c.id.to_lowercase())),
                workload_identity: WorkloadIdentity {
                    issuer: issuer.clone(),
                    provider_registered: None,
                    pod_identity_associations: None,
                    enabled: Some(wi_on && issuer.is_some()),
                    bindings: bindings.remove(&c.name).unwrap_or_default(),
                },
                auth: auth(p),
                node_pools: pools,
                tags: c.tags.clone().unwrap_or_default().into_iter().collect(),
            };
            inventory.clusters.push(cluster);
        }

        // Role assignments of the identities found, and the definitions they use.
        for ra in sub.role_assignments.iter().flatten() {
            let principal = ra.properties.principal_id.to_lowercase();
            let role = sub
                .role_definitions
                .get(&ra.properties.role_definition_id.to_lowercase())
                .and_then(|r| r.as_ref().ok());
            for identity in identities.values_mut() {
                if identity.principal_id.as_deref().map(str::to_lowercase)
                    != Some(principal.clone())
                {
                    continue;
                }
                identity.role_assignments.push(RoleAssignment {
                    id: ra.id.clone(),
                    scope: ra.properties.scope.clone(),
                    role_definition_id: ra.properties.role_definition_id.clone(),
                    role_name: role.and_then(|r| r.properties.role_name.clone()),
                    principal_id: ra.properties.principal_id.clone(),
                    principal_type: ra.properties.principal_type.clone(),
                    condition: ra.properties.condition.clone().filter(|c| !c.is_empty()),
                    source: "authorization roleAssignments.list (subscription and below)"
                        .to_string(),
                });
            }
        }
        for (id, def) in &sub.role_definitions {
            let already = inventory
                .azure_role_definitions
                .iter()
                .any(|d| d.id.eq_ignore_ascii_case(id));
            if already {
                continue;
            }
            inventory.azure_role_definitions.push(match def {
                Ok(d) => AzureRoleDefinition {
                    id: d.id.clone(),
                    name: d.name.clone(),
                    role_name: d.properties.role_name.clone(),
                    custom: d
                        .properties
                        .role_type
                        .as_deref()
                        .map(|t| t.eq_ignore_ascii_case("CustomRole")),
                    assignable_scopes: d.properties.assignable_scopes.clone().unwrap_or_default(),
                    permissions: Some(permissions(d)),
                    error: None,
                    source: "authorization roleDefinitions.get".to_string(),
                },
                Err(e) => AzureRoleDefinition {
                    id: id.clone(),
                    name: role_guid(id),
                    error: Some(e.clone()),
                    source: "authorization roleDefinitions.get".to_string(),
                    ..Default::default()
                },
            });
        }

        // The activity log export.
        for s in sub.activity_log.iter().flatten() {
            let logs = s.properties.logs.clone().unwrap_or_default();
            let enabled = |category: &str| {
                logs.iter().any(|l| {
                    l.enabled == Some(true)
                        && l.category
                            .as_deref()
                            .is_some_and(|c| c.eq_ignore_ascii_case(category))
                })
            };
            let group = logs.iter().any(|l| {
                l.enabled == Some(true)
                    && l.category_group
                        .as_deref()
                        .is_some_and(|g| AUDIT_GROUPS.iter().any(|a| a.eq_ignore_ascii_case(g)))
            });
            let administrative = enabled("Administrative") || group;
            let exported = s.properties.has_destination();
            inventory.audit_trails.push(AuditTrail {
                id: s.id.clone(),
                name: s.name.clone(),
                scope: sub.id.clone(),
                region: "global".to_string(),
                multi_region: Some(true),
                logging: Some(exported && logs.iter().any(|l| l.enabled == Some(true))),
                management_events: Some(if administrative && exported {
                    ManagementEvents::All
                } else {
                    ManagementEvents::None
                }),
                organization_trail: Some(false),
                encrypted_with: None,
            });
        }

        inventory.identities.extend(identities.into_values());
    }
    inventory.regions = regions.into_iter().collect();
    inventory
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subjects_and_issuers_parse() {
        assert_eq!(
            service_account("system:serviceaccount:payments:api"),
            Some(("payments".into(), "api".into()))
        );
        assert_eq!(service_account("repo:org/x:ref:refs/heads/main"), None);
        assert_eq!(
            issuer_key("https://eastus.oic.prod-aks.azure.com/T/C/"),
            issuer_key("https://eastus.oic.prod-aks.azure.com/T/C")
        );
        assert_eq!(
            role_guid("/providers/Microsoft.Authorization/roleDefinitions/ABC"),
            "abc"
        );
    }
}
