//! Raw ARM facts → the cloud-neutral inventory.

use crate::collect::{self, DiagnosticSetting};
use cloudscan_inventory::{
    AuditLogging, AuditTrail, AzurePermission, AzureRoleDefinition, Cluster, ClusterAuth, Coverage,
    CoverageStatus, Endpoint, FederatedCredential, Identity, Inventory, KeyRef, ManagementEvents,
    NodePool, Provider, RoleAssignment, Scope, SecretsEncryption, UsedBy, Volume, WorkloadBinding,
    WorkloadIdentity,
};
use std::collections::{BTreeMap, BTreeSet};

pub const MECHANISM: &str = "azure-workload-identity";

// Enum values of the REST specs that the normalizer compares against (each is checked against the
// spec by tests/azure_spec_shapes.rs through `SPEC_ENUM_VALUES`).
/// `PublicNetworkAccess` (containerservice).
pub const PUBLIC_NETWORK_ACCESS_DISABLED: &str = "Disabled";
/// `OSDiskType` (containerservice).
pub const OS_DISK_EPHEMERAL: &str = "Ephemeral";
/// `OSDiskType` (containerservice).
pub const OS_DISK_MANAGED: &str = "Managed";
/// `PrincipalType` (authorization).
pub const PRINCIPAL_GROUP: &str = "Group";
/// The `type` of a custom role definition (a string in the spec, documented values `BuiltInRole`
/// and `CustomRole`).
pub const ROLE_TYPE_CUSTOM: &str = "CustomRole";

/// (shape set, enum, value) for every enum value above that the spec declares as an enum.
pub const SPEC_ENUM_VALUES: &[(&str, &str, &str)] = &[
    (
        "containerservice@2025-07-01",
        "PublicNetworkAccess",
        PUBLIC_NETWORK_ACCESS_DISABLED,
    ),
    (
        "containerservice@2025-07-01",
        "OSDiskType",
        OS_DISK_EPHEMERAL,
    ),
    ("containerservice@2025-07-01", "OSDiskType", OS_DISK_MANAGED),
    ("authorization@2022-04-01", "PrincipalType", PRINCIPAL_GROUP),
];

/// The special authorized IP range that allows only the cluster's own outbound public IP
/// (https://learn.microsoft.com/azure/aks/api-server-authorized-ip-ranges).
pub const ONLY_CLUSTER_EGRESS: &str = "0.0.0.0/32";
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
    /// Deny assignments at, above and below the subscription.
    pub deny_assignments: Option<Vec<collect::DenyAssignment>>,
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
        .is_some_and(|v| v.eq_ignore_ascii_case(PUBLIC_NETWORK_ACCESS_DISABLED));
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
    let all: Vec<String> = access
        .authorized_ip_ranges
        .unwrap_or_default()
        .into_iter()
        .map(|r| r.trim().to_string())
        .filter(|r| !r.is_empty())
        .collect();
    // `0.0.0.0/32` is no range: it asks AKS to allow only the cluster's own outbound IP, which
    // AKS adds to every authorized list itself.
    let egress_only = all.iter().any(|r| r == ONLY_CLUSTER_EGRESS);
    let ranges: Vec<String> = all
        .into_iter()
        .filter(|r| r != ONLY_CLUSTER_EGRESS)
        .collect();
    if ranges.is_empty() && egress_only {
        Endpoint {
            public_access: Some(true),
            private_access: Some(false),
            public_cidrs: Vec::new(),
            source: "properties.apiServerAccessProfile.authorizedIPRanges = [0.0.0.0/32]: only the cluster's own outbound IP may reach the public endpoint".to_string(),
        }
    } else if ranges.is_empty() {
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
            source: if egress_only {
                "properties.apiServerAccessProfile.authorizedIPRanges (0.0.0.0/32 is the cluster's own outbound IP, not a range)".to_string()
            } else {
                "properties.apiServerAccessProfile.authorizedIPRanges".to_string()
            },
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

/// The permission blocks of a definition; `None` when the definition carries none (then what it
/// grants is unknown, not nothing).
fn permissions(def: &collect::RoleDefinition) -> Option<Vec<AzurePermission>> {
    let blocks = def.properties.permissions.as_ref()?;
    Some(blocks.iter().map(permission_block).collect())
}

/// One `permissions[]` block (of a role definition or a deny assignment).
fn permission_block(p: &collect::Permission) -> AzurePermission {
    AzurePermission {
        actions: p.actions.clone().unwrap_or_default(),
        not_actions: p.not_actions.clone().unwrap_or_default(),
        data_actions: p.data_actions.clone().unwrap_or_default(),
        not_data_actions: p.not_data_actions.clone().unwrap_or_default(),
    }
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
    // Subscriptions whose cluster list failed: an issuer that matches no scanned cluster may be
    // one of theirs.
    let unlisted: Vec<&str> = subs
        .iter()
        .filter(|s| s.clusters.is_none())
        .map(|s| s.id.as_str())
        .collect();

    // Identities of every subscription, by lower-cased resource id: role assignments of one
    // subscription may name an identity of another.
    let mut identities: BTreeMap<String, Identity> = BTreeMap::new();
    for sub in &subs {
        inventory.scopes.push(Scope {
            id: sub.id.clone(),
            name: sub.name.clone(),
            partition: None,
        });
        for mi in sub.identities.iter().flatten() {
            identities
                .entry(mi.id.to_lowercase())
                .or_insert_with(|| Identity {
                    id: mi.id.clone(),
                    name: mi.name.clone(),
                    kind: IDENTITY_KIND.to_string(),
                    scope: sub.id.clone(),
                    principal_id: mi.properties.principal_id.clone(),
                    client_id: mi.properties.client_id.clone(),
                    ..Default::default()
                });
        }
    }

    for sub in &subs {
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
                            target_identity: None,
                            session_policy: None,
                        });
                }
                let credential = FederatedCredential {
                    id: fic.id.clone(),
                    name: fic.name.clone(),
                    issuer: fic.properties.issuer.clone(),
                    subject: fic.properties.subject.clone(),
                    audiences: fic.properties.audiences.clone().unwrap_or_default(),
                    cluster: cluster.clone(),
                    source: "managedidentity federatedIdentityCredentials.list".to_string(),
                };
                if cluster.is_none() && !unlisted.is_empty() && aks_issuer(&credential) {
                    inventory.coverage.push(Coverage {
                        scope: sub.id.clone(),
                        service: "managedidentity".to_string(),
                        region: "global".to_string(),
                        status: CoverageStatus::Partial,
                        detail: Some(format!(
                            "federated credential `{}` of `{}`: whether its issuer `{}` is a scanned cluster's is unknown (the cluster list of {} failed); not reported as foreign",
                            credential.name,
                            identity.name,
                            credential.issuer,
                            unlisted.join(", ")
                        )),
                    });
                    identity
                        .federated_credentials_issuer_unknown
                        .push(credential);
                } else {
                    identity.federated_credentials.push(credential);
                }
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
                if let Some(volume) = os_disk(sub, c, pool) {
                    inventory.volumes.push(volume);
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
                api_endpoints: p
                    .fqdn
                    .iter()
                    .chain(&p.private_fqdn)
                    .map(|h| format!("https://{h}:443"))
                    .collect(),
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
    }

    // Role assignments of the identities found, in every scanned subscription (an assignment
    // above the subscriptions, at a management group, is listed by each of them: once), and the
    // definitions they use.
    let mut seen_assignments = BTreeSet::new();
    // By the subscription that lists them.
    let mut group_assignments: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    // The scanned subscriptions that list each assignment (by lower-cased id): an assignment
    // above them is listed, and applies, in every one.
    let mut listed_by: BTreeMap<String, Vec<&str>> = BTreeMap::new();
    for sub in &subs {
        for ra in sub.role_assignments.iter().flatten() {
            let by = listed_by.entry(ra.id.to_lowercase()).or_default();
            if !by.contains(&sub.id.as_str()) {
                by.push(sub.id.as_str());
            }
        }
    }
    for sub in &subs {
        for ra in sub.role_assignments.iter().flatten() {
            if !seen_assignments.insert(ra.id.to_lowercase()) {
                continue;
            }
            if ra
                .properties
                .principal_type
                .as_deref()
                .is_some_and(|t| t.eq_ignore_ascii_case(PRINCIPAL_GROUP))
            {
                group_assignments
                    .entry(sub.id.clone())
                    .or_default()
                    .insert(ra.id.clone());
            }
            let principal = ra.properties.principal_id.to_lowercase();
            let role = definition_of(&subs, sub, &ra.properties.role_definition_id);
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
                    source: assignment_source(
                        &ra.properties.scope,
                        &sub.id,
                        listed_by
                            .get(&ra.id.to_lowercase())
                            .map(Vec::as_slice)
                            .unwrap_or_default(),
                    ),
                });
            }
        }
    }
    for sub in &subs {
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
                        .map(|t| t.eq_ignore_ascii_case(ROLE_TYPE_CUSTOM)),
                    assignable_scopes: d.properties.assignable_scopes.clone().unwrap_or_default(),
                    permissions: permissions(d),
                    error: d.properties.permissions.is_none().then(|| {
                        "the role definition has no `permissions`: what it grants is unknown"
                            .to_string()
                    }),
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
    }
    attach_deny_assignments(&subs, &mut identities);
    let scanned: Vec<&Identity> = identities.values().collect();
    inventory
        .coverage
        .extend(inherited_gaps(&subs, &scanned, &group_assignments));

    // The activity log export.
    for sub in &subs {
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
    }

    inventory.identities.extend(identities.into_values());
    inventory.regions = regions.into_iter().collect();
    inventory
}

/// Where an assignment comes from. `roleAssignments.list` at a subscription without `$filter`
/// returns the assignments at, above and below it
/// (https://learn.microsoft.com/azure/role-based-access-control/role-assignments-list-rest): one
/// at a management group or the root is inherited by every subscription below it, so the
/// source names the level and every scanned subscription that lists it.
pub fn assignment_source(scope: &str, sub: &str, listed_by: &[&str]) -> String {
    const LIST: &str = "authorization roleAssignments.list";
    let lower = scope.trim_end_matches('/').to_ascii_lowercase();
    let level = if lower.is_empty() {
        Some("the root management group scope `/`".to_string())
    } else if lower.starts_with(&collect::MANAGEMENT_GROUP_PREFIX.to_ascii_lowercase()) {
        Some(format!(
            "management group `{}`",
            collect::group_name(scope).unwrap_or_else(|| scope.to_string())
        ))
    } else {
        None
    };
    let listers = if listed_by.is_empty() {
        sub.to_string()
    } else {
        listed_by.join(", ")
    };
    match level {
        Some(level) => format!(
            "{LIST} (inherited from {level}: applies to every subscription below it; listed by the scanned subscription(s) {listers})"
        ),
        None => format!("{LIST} (at or below subscription {sub})"),
    }
}

/// A role definition as read for `sub`, or for another scanned subscription (built-in roles
/// have the same GUID everywhere, but their ids name the subscription they were read in).
fn definition_of<'a>(
    subs: &'a [SubscriptionScan],
    sub: &'a SubscriptionScan,
    id: &str,
) -> Option<&'a collect::RoleDefinition> {
    let key = id.to_lowercase();
    std::iter::once(sub)
        .chain(subs.iter())
        .find_map(|s| s.role_definitions.get(&key))
        .and_then(|r| r.as_ref().ok())
}

/// Whether a credential looks like one for a Kubernetes workload (an AKS issuer or a service
/// account subject): only those can be a scanned cluster's.
fn aks_issuer(fic: &FederatedCredential) -> bool {
    fic.issuer.contains(".oic.prod-aks.azure.com")
        || fic.subject.starts_with("system:serviceaccount:")
}

/// The everyone principal of deny assignments (`SystemDefined`, all principals).
pub const EVERYONE: &str = "00000000-0000-0000-0000-000000000000";

/// Whether a deny assignment names `principal` (directly or as everyone) and does not exclude
/// it.
fn denies(deny: &collect::DenyAssignment, principal: &str) -> bool {
    let is = |p: &collect::Principal| {
        p.id.as_deref()
            .is_some_and(|id| id.eq_ignore_ascii_case(principal) || id == EVERYONE)
    };
    let excluded = deny
        .properties
        .exclude_principals
        .iter()
        .flatten()
        .any(|p| {
            p.id.as_deref()
                .is_some_and(|id| id.eq_ignore_ascii_case(principal))
        });
    !excluded && deny.properties.principals.iter().flatten().any(is)
}

/// Records on each identity the deny assignments that name it (once each, whichever
/// subscription listed them). The access stage subtracts them.
fn attach_deny_assignments(subs: &[SubscriptionScan], identities: &mut BTreeMap<String, Identity>) {
    let mut seen = BTreeSet::new();
    for deny in subs
        .iter()
        .flat_map(|s| s.deny_assignments.iter().flatten())
    {
        if !seen.insert(deny.id.to_lowercase()) {
            continue;
        }
        for identity in identities.values_mut() {
            let Some(principal) = identity.principal_id.as_deref() else {
                continue;
            };
            if !denies(deny, principal) {
                continue;
            }
            let p = &deny.properties;
            identity
                .deny_assignments
                .push(cloudscan_inventory::AzureDenyAssignment {
                    id: deny.id.clone(),
                    name: p
                        .deny_assignment_name
                        .clone()
                        .unwrap_or_else(|| deny.name.clone()),
                    scope: p.scope.clone(),
                    applies_to_children: !p.do_not_apply_to_child_scopes.unwrap_or(false),
                    permissions: p
                        .permissions
                        .iter()
                        .flatten()
                        .map(permission_block)
                        .collect(),
                    condition: p.condition.clone().filter(|c| !c.trim().is_empty()),
                });
        }
    }
}

/// The answers the access stage cannot decide from ARM alone, as coverage gaps: deny
/// assignments that apply to a scanned identity (capability answers are computed from role
/// assignments only), role assignments to groups (ARM does not list group members; Microsoft
/// Graph does), and deny assignments that could not be listed.
fn inherited_gaps(
    subs: &[SubscriptionScan],
    identities: &[&Identity],
    groups: &BTreeMap<String, BTreeSet<String>>,
) -> Vec<Coverage> {
    const ANSWERS: &str = "admin, capabilities (secrets-read, object-read, object-write, iam-write, compute-write) and escalation paths";
    let gap = |scope: &str, detail: String| Coverage {
        scope: scope.to_string(),
        service: "authorization".to_string(),
        region: "global".to_string(),
        status: CoverageStatus::Partial,
        detail: Some(detail),
    };
    let mut out = Vec::new();
    let mut seen = BTreeSet::new();
    let principals: Vec<(&str, &str)> = identities
        .iter()
        .filter(|i| !i.used_by.is_empty())
        .filter_map(|i| i.principal_id.as_deref().map(|p| (i.name.as_str(), p)))
        .collect();
    for sub in subs {
        let Some(list) = &sub.deny_assignments else {
            if !principals.is_empty() {
                out.push(gap(
                    &sub.id,
                    format!("deny assignments not listed: the {ANSWERS} of the scanned identities ignore any deny assignment and may overstate their access"),
                ));
            }
            continue;
        };
        for deny in list {
            if !seen.insert(deny.id.to_lowercase()) {
                continue;
            }
            let denied: Vec<String> = deny
                .properties
                .permissions
                .iter()
                .flatten()
                .flat_map(|p| {
                    p.actions
                        .iter()
                        .flatten()
                        .chain(p.data_actions.iter().flatten())
                        .cloned()
                })
                .collect();
            // Subtracted by the access stage, except when a condition decides whether it
            // applies (unknown at scan time).
            let Some(condition) = deny
                .properties
                .condition
                .as_deref()
                .filter(|c| !c.trim().is_empty())
            else {
                continue;
            };
            for (name, principal) in &principals {
                if !denies(deny, principal) {
                    continue;
                }
                out.push(gap(
                    &sub.id,
                    format!(
                        "deny assignment `{}` at `{}` denies `{}` to `{}` when `{condition}`: whether it applies is unknown, so its {ANSWERS} ignore it and may overstate its access",
                        deny.properties
                            .deny_assignment_name
                            .as_deref()
                            .unwrap_or(&deny.name),
                        deny.properties.scope,
                        denied.join(", "),
                        name
                    ),
                ));
            }
        }
    }
    for (sub, ids) in groups {
        if principals.is_empty() {
            break;
        }
        out.push(gap(
            sub,
            format!(
                "{} role assignment(s) to groups ({}): ARM does not list group members (Microsoft Graph does), so the {ANSWERS} of the scanned identities miss any role they hold through a group",
                ids.len(),
                ids.iter().cloned().collect::<Vec<_>>().join(", ")
            ),
        ));
    }
    out
}

/// The OS disk of an agent pool's nodes, as a volume. Managed OS disks are Azure managed disks,
/// always encrypted at rest (server-side encryption, platform key or the cluster's disk
/// encryption set). Ephemeral OS disks live on the VM host's local or cache storage, which
/// server-side encryption does not cover: only encryption at host
/// (`enableEncryptionAtHost`) encrypts them. When `osDiskType` is absent AKS chose by VM
/// size: unknown, unless encryption at host covers either kind.
fn os_disk(
    sub: &SubscriptionScan,
    c: &collect::ManagedCluster,
    pool: &collect::AgentPool,
) -> Option<Volume> {
    let at_host = pool.enable_encryption_at_host == Some(true);
    let kind = pool.os_disk_type.as_deref();
    let ephemeral = kind.is_some_and(|k| k.eq_ignore_ascii_case(OS_DISK_EPHEMERAL));
    let managed = kind.is_some_and(|k| k.eq_ignore_ascii_case(OS_DISK_MANAGED));
    if managed {
        // Nothing to assess: managed disks cannot be unencrypted.
        return None;
    }
    let encrypted = if at_host {
        Some(true)
    } else if ephemeral {
        Some(false)
    } else {
        None
    };
    Some(Volume {
        id: format!("{}/agentPools/{}/osDisk", c.id, pool.name),
        scope: sub.id.clone(),
        region: c.location.clone(),
        encrypted,
        key: None,
        attached_to: vec![format!(
            "{}/{} (osDiskType {}, enableEncryptionAtHost {})",
            c.name,
            pool.name,
            kind.unwrap_or("not set"),
            pool.enable_encryption_at_host
                .map(|b| b.to_string())
                .unwrap_or_else(|| "not set".to_string())
        )],
        cluster: Some(c.name.clone()),
        node_pool: Some(pool.name.clone()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn assignments_above_the_subscription_say_they_are_inherited() {
        let mg = assignment_source(
            "/providers/Microsoft.Management/managementGroups/mg-platform",
            "s1",
            &["s1", "s2"],
        );
        assert!(
            mg.contains("inherited from management group `mg-platform`"),
            "{mg}"
        );
        assert!(mg.contains("s1, s2"), "{mg}");
        let root = assignment_source("/", "s1", &["s1"]);
        assert!(root.contains("root management group scope `/`"), "{root}");
        let here = assignment_source("/subscriptions/s1/resourceGroups/rg", "s1", &["s1"]);
        assert_eq!(
            here,
            "authorization roleAssignments.list (at or below subscription s1)"
        );
    }

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
