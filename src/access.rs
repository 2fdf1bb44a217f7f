//! The bridge between the inventory and the access engine: for every identity that nodes or
//! workloads can use, what it can do (capability classes, escalation paths, wildcard grants),
//! and, in words, who can use it.

use cloudscan_access::capability::{AccessProfile, Analyzer};
use cloudscan_access::catalog::{Capabilities, Catalog};
use cloudscan_access::{Identity as EngineIdentity, NamedPolicy, Policy};
use cloudscan_inventory::{Identity, Inventory, Provider, UsedBy};
use std::collections::BTreeMap;

/// Who can act as an identity, as a finding states it.
#[derive(Debug, Clone, PartialEq)]
pub struct User {
    pub text: String,
    /// Reachable from pods: a workload binding, or a node pool whose metadata service pods can
    /// reach.
    pub pods: bool,
    pub cluster: String,
    pub node_pool: Option<String>,
}

/// What one identity can do, and who can use it.
#[derive(Debug, Clone)]
pub struct IdentityFacts {
    pub profile: AccessProfile,
    pub users: Vec<User>,
    /// Policy documents that could not be parsed: the profile may miss what they grant.
    pub unreadable: Vec<String>,
}

/// Access facts for an inventory, by identity id.
#[derive(Debug, Clone, Default)]
pub struct AccessFacts {
    pub identities: BTreeMap<String, IdentityFacts>,
}

impl AccessFacts {
    /// Analyzes every AWS identity used by a node pool or a workload.
    pub fn for_inventory(inv: &Inventory) -> AccessFacts {
        Self::analyze(inv, |i| !i.used_by.is_empty())
    }

    /// Analyzes the identities `keep` selects.
    pub fn analyze(inv: &Inventory, keep: impl Fn(&Identity) -> bool) -> AccessFacts {
        let mut facts = AccessFacts::default();
        match inv.provider {
            Provider::Aws => {}
            Provider::Gcp => return Self::analyze_gcp(inv, keep),
            Provider::Azure => return Self::analyze_azure(inv, keep),
        }
        let (Ok(caps), Ok(catalog)) = (Capabilities::try_bundled(), Catalog::try_bundled()) else {
            return facts;
        };
        for identity in inv.identities.iter().filter(|i| keep(i)) {
            let (engine, unreadable) = engine_identity(identity);
            let profile = Analyzer::new(&engine).profile(caps, catalog);
            facts.identities.insert(
                identity.id.clone(),
                IdentityFacts {
                    profile,
                    users: users(inv, identity),
                    unreadable,
                },
            );
        }
        facts
    }
}

impl AccessFacts {
    /// GCP: role bindings of each identity times the permissions of each role.
    fn analyze_gcp(inv: &Inventory, keep: impl Fn(&Identity) -> bool) -> AccessFacts {
        let mut facts = AccessFacts::default();
        let permissions: std::collections::HashMap<&str, &[String]> = inv
            .role_definitions
            .iter()
            .filter_map(|r| r.permissions.as_deref().map(|p| (r.name.as_str(), p)))
            .collect();
        for identity in inv.identities.iter().filter(|i| keep(i)) {
            let bindings: Vec<cloudscan_access::gcp::Binding<'_>> = identity
                .role_bindings
                .iter()
                .map(|b| cloudscan_access::gcp::Binding {
                    resource: &b.resource,
                    role: &b.role,
                    condition: b.condition.as_ref().map(|c| c.expression.as_str()),
                })
                .collect();
            let (profile, unreadable) = cloudscan_access::gcp::profile(&bindings, &permissions);
            facts.identities.insert(
                identity.id.clone(),
                IdentityFacts {
                    profile,
                    users: users(inv, identity),
                    unreadable,
                },
            );
        }
        facts
    }
}

impl AccessFacts {
    /// Azure: role assignments of each identity times their role definitions.
    fn analyze_azure(inv: &Inventory, keep: impl Fn(&Identity) -> bool) -> AccessFacts {
        use cloudscan_access::azure::{Assignment, Permission};
        let mut facts = AccessFacts::default();
        for identity in inv.identities.iter().filter(|i| keep(i)) {
            let assignments: Vec<Assignment<'_>> = identity
                .role_assignments
                .iter()
                .map(|a| {
                    let def = inv
                        .azure_role_definitions
                        .iter()
                        .find(|d| d.id.eq_ignore_ascii_case(&a.role_definition_id));
                    Assignment {
                        scope: &a.scope,
                        role_name: a
                            .role_name
                            .as_deref()
                            .or(def.and_then(|d| d.role_name.as_deref()))
                            .unwrap_or(&a.role_definition_id),
                        custom: def.and_then(|d| d.custom).unwrap_or(false),
                        permissions: def.and_then(|d| d.permissions.as_ref()).map(|ps| {
                            ps.iter()
                                .map(|p| Permission {
                                    actions: &p.actions,
                                    not_actions: &p.not_actions,
                                    data_actions: &p.data_actions,
                                    not_data_actions: &p.not_data_actions,
                                })
                                .collect()
                        }),
                        condition: a.condition.as_deref(),
                    }
                })
                .collect();
            let (profile, unreadable) = cloudscan_access::azure::profile(&assignments);
            facts.identities.insert(
                identity.id.clone(),
                IdentityFacts {
                    profile,
                    users: users(inv, identity),
                    unreadable,
                },
            );
        }
        facts
    }
}

/// The engine's view of an inventory identity: parsed identity policies and boundary.
pub fn engine_identity(identity: &Identity) -> (EngineIdentity, Vec<String>) {
    let mut unreadable = Vec::new();
    let mut parse = |doc: &cloudscan_inventory::PolicyDoc| -> Option<NamedPolicy> {
        let label = format!("{} {}", doc.kind, doc.name);
        match &doc.document {
            Some(value) => match Policy::from_value(value) {
                Ok(policy) => Some(NamedPolicy::new(label, policy)),
                Err(e) => {
                    unreadable.push(format!("{label}: {e}"));
                    None
                }
            },
            None => {
                unreadable.push(format!(
                    "{label}: {}",
                    doc.error.as_deref().unwrap_or("not collected")
                ));
                None
            }
        }
    };
    let policies = identity.policies.iter().filter_map(&mut parse).collect();
    let boundary = identity.boundary.as_ref().and_then(&mut parse);
    (
        EngineIdentity {
            principal: identity.id.clone(),
            policies,
            boundary,
        },
        unreadable,
    )
}

/// Who can act as `identity`, worded for a finding.
pub fn users(inv: &Inventory, identity: &Identity) -> Vec<User> {
    identity
        .used_by
        .iter()
        .map(|u| match u {
            UsedBy::NodePool { cluster, pool } => {
                let exposure = inv
                    .clusters
                    .iter()
                    .find(|c| &c.name == cluster)
                    .and_then(|c| c.node_pools.iter().find(|p| &p.name == pool))
                    .map(|p| {
                        let mut why = Vec::new();
                        for m in &p.metadata {
                            if m.endpoint_enabled == Some(false) {
                                continue;
                            }
                            if m.tokens_required == Some(false) {
                                why.push("IMDSv1 allowed".to_string());
                            }
                            if let Some(h) = m.hop_limit.filter(|h| *h > 1) {
                                why.push(format!("IMDS hop limit {h}"));
                            }
                            if m.mode.as_deref() == Some("GCE_METADATA") {
                                why.push("GCE metadata server".to_string());
                            }
                        }
                        why.sort();
                        why.dedup();
                        why
                    })
                    .unwrap_or_default();
                if exposure.is_empty() && inv.provider == Provider::Azure {
                    // AKS has no per-pool metadata protection: IMDS answers any pod unless a
                    // network policy blocks 169.254.169.254.
                    User {
                        text: format!(
                            "every pod on node pool `{pool}` in cluster `{cluster}` (AKS nodes serve IMDS to pods unless a network policy blocks it)"
                        ),
                        pods: true,
                        cluster: cluster.clone(),
                        node_pool: Some(pool.clone()),
                    }
                } else if exposure.is_empty() {
                    User {
                        text: format!(
                            "processes on the nodes of node pool `{pool}` in cluster `{cluster}` (pods are not shown to reach the metadata service)"
                        ),
                        pods: false,
                        cluster: cluster.clone(),
                        node_pool: Some(pool.clone()),
                    }
                } else {
                    User {
                        text: format!(
                            "every pod on node pool `{pool}` in cluster `{cluster}` ({})",
                            exposure.join(", ")
                        ),
                        pods: true,
                        cluster: cluster.clone(),
                        node_pool: Some(pool.clone()),
                    }
                }
            }
            UsedBy::Workload {
                cluster,
                namespace,
                service_account,
                mechanism,
            } => User {
                text: format!(
                    "service account `{namespace}/{service_account}` in cluster `{cluster}` ({mechanism})"
                ),
                pods: true,
                cluster: cluster.clone(),
                node_pool: None,
            },
        })
        .collect()
}
