//! The bridge from the inventory to the access engine: for every identity that nodes or
//! workloads can use, what it can do (capability classes, escalation paths, wildcard grants)
//! and who can use it; plus the inventory-wide exposure facts (metadata settings that let pods
//! through, too-broad workload trust). Rules and reports read these facts; none of them asks
//! which cloud the inventory is from.

use crate::capability::{AccessProfile, Analyzer, ADMIN_PROBES};
use crate::catalog::{Capabilities, Catalog};
use crate::exposure::{exposures, metadata_exposures, Exposure, MetadataExposure};
use crate::trust::{trust_issues, TrustIssue};
use crate::{NamedPolicy, Policy};
use cloudscan_inventory::{Coverage, CoverageStatus, Identity, Inventory, PolicyDoc, Provider};
use std::collections::{BTreeMap, HashMap};

/// How an identity's permissions were decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Basis {
    /// By evaluating its policy documents; "administrator" means every one of `probes` is
    /// allowed on every resource.
    PolicyEvaluation { probes: &'static [&'static str] },
    /// From the roles granted to it at each scope.
    RoleGrants,
}

/// What one identity can do, and who can use it.
#[derive(Debug, Clone)]
pub struct IdentityFacts {
    pub profile: AccessProfile,
    pub basis: Basis,
    /// Who can act as the identity.
    pub exposures: Vec<Exposure>,
    /// Policy documents or roles that could not be read: the profile may miss what they grant.
    pub unreadable: Vec<String>,
}

impl IdentityFacts {
    /// Whether any pod can act as the identity.
    pub fn pods(&self) -> bool {
        self.exposures.iter().any(Exposure::pods)
    }
}

/// Access facts for an inventory.
#[derive(Debug, Clone, Default)]
pub struct AccessFacts {
    /// By identity id: the analyzed identities.
    pub identities: BTreeMap<String, IdentityFacts>,
    /// Metadata settings through which pods can obtain a node identity.
    pub metadata: Vec<MetadataExposure>,
    /// Workload identities whose trust admits more than one service account.
    pub trust: Vec<TrustIssue>,
}

impl AccessFacts {
    /// Analyzes every identity used by a node pool or a workload.
    pub fn for_inventory(inv: &Inventory) -> AccessFacts {
        Self::analyze(inv, |i| !i.used_by.is_empty())
    }

    /// Analyzes the identities `keep` selects.
    pub fn analyze(inv: &Inventory, keep: impl Fn(&Identity) -> bool) -> AccessFacts {
        // Who can use each identity, once; the trust analysis and the profiles read it.
        let exposed: BTreeMap<&str, Vec<Exposure>> = inv
            .identities
            .iter()
            .map(|i| (i.id.as_str(), exposures(inv, &i.used_by)))
            .collect();
        let mut facts = AccessFacts {
            metadata: metadata_exposures(inv),
            trust: trust_issues(inv, &exposed),
            ..Default::default()
        };
        let mut evaluator = Evaluator::new(inv);
        for identity in inv.identities.iter().filter(|i| keep(i)) {
            let Some((profile, basis, unreadable)) = evaluator.profile(inv, identity) else {
                continue;
            };
            facts.identities.insert(
                identity.id.clone(),
                IdentityFacts {
                    profile,
                    basis,
                    exposures: exposed
                        .get(identity.id.as_str())
                        .cloned()
                        .unwrap_or_default(),
                    unreadable,
                },
            );
        }
        facts
    }
}

/// Picks the evaluation an identity's grants call for.
struct Evaluator<'a> {
    aws: Option<(&'static Capabilities, &'static Catalog)>,
    permissions: HashMap<&'a str, &'a [String]>,
}

impl<'a> Evaluator<'a> {
    fn new(inv: &'a Inventory) -> Self {
        Evaluator {
            aws: match (Capabilities::try_bundled(), Catalog::try_bundled()) {
                (Ok(c), Ok(k)) => Some((c, k)),
                _ => None,
            },
            permissions: inv
                .role_definitions
                .iter()
                .filter_map(|r| r.permissions.as_deref().map(|p| (r.name.as_str(), p)))
                .collect(),
        }
    }

    fn profile(
        &mut self,
        inv: &Inventory,
        identity: &Identity,
    ) -> Option<(AccessProfile, Basis, Vec<String>)> {
        match inv.provider {
            Provider::Aws => {
                let (caps, catalog) = self.aws?;
                let (engine, unreadable) = engine_identity(identity);
                let profile = Analyzer::new(&engine).profile(caps, catalog);
                Some((
                    profile,
                    Basis::PolicyEvaluation {
                        probes: ADMIN_PROBES,
                    },
                    unreadable,
                ))
            }
            Provider::Gcp => {
                let bindings: Vec<crate::gcp::Binding<'_>> = identity
                    .role_bindings
                    .iter()
                    .map(|b| crate::gcp::Binding {
                        resource: &b.resource,
                        role: &b.role,
                        condition: b.condition.as_ref().map(|c| c.expression.as_str()),
                    })
                    .collect();
                // A node-only identity acts through the node's token: its OAuth scopes cap
                // what the roles allow.
                let token = crate::gcp::token_scopes(inv, identity);
                let (profile, unreadable) =
                    crate::gcp::profile_with_token(&bindings, &self.permissions, token.as_deref());
                Some((profile, Basis::RoleGrants, unreadable))
            }
            Provider::Azure => {
                let (profile, unreadable) =
                    crate::azure::profile(&azure_assignments(inv, identity));
                Some((profile, Basis::RoleGrants, unreadable))
            }
        }
    }
}

/// An Azure identity's role assignments with their role definitions.
fn azure_assignments<'a>(
    inv: &'a Inventory,
    identity: &'a Identity,
) -> Vec<crate::azure::Assignment<'a>> {
    use crate::azure::{Assignment, Deny, Permission};
    let block = |p: &'a cloudscan_inventory::AzurePermission| Permission {
        actions: &p.actions,
        not_actions: &p.not_actions,
        data_actions: &p.data_actions,
        not_data_actions: &p.not_data_actions,
    };
    // A conditional deny may or may not apply: it is a coverage gap, not subtracted.
    let denies: Vec<Deny<'a>> = identity
        .deny_assignments
        .iter()
        .filter(|d| d.condition.is_none())
        .map(|d| Deny {
            name: &d.name,
            scope: &d.scope,
            applies_to_children: d.applies_to_children,
            permissions: d.permissions.iter().map(block).collect(),
        })
        .collect();
    identity
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
                permissions: def
                    .and_then(|d| d.permissions.as_ref())
                    .map(|ps| ps.iter().map(block).collect()),
                condition: a.condition.as_deref(),
                denies: denies.clone(),
            }
        })
        .collect()
}

/// The engine's view of an inventory identity: parsed identity policies and boundary, and the
/// documents that could not be parsed.
pub fn engine_identity(identity: &Identity) -> (crate::PolicyIdentity, Vec<String>) {
    let mut unreadable = Vec::new();
    let mut parse = |doc: &PolicyDoc| -> Option<NamedPolicy> {
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
        crate::PolicyIdentity {
            principal: identity.id.clone(),
            policies,
            boundary,
        },
        unreadable,
    )
}

/// Policy documents of the analyzed AWS identities (those [`AccessFacts::for_inventory`]
/// selects) that the engine cannot read, one coverage entry each: documents the policy parser
/// rejects, and documents the adapter could not decode or collect (`document` unset, with the
/// adapter's reason).
///
/// Such a document may grant or deny anything, so the identity's permissions are not known:
/// the scan is incomplete (service `iam`, status partial), and the entry names the identity,
/// the document and the error.
pub fn unreadable_policy_coverage(inv: &Inventory) -> Vec<Coverage> {
    if inv.provider != Provider::Aws {
        return Vec::new();
    }
    let mut out = Vec::new();
    for identity in inv.identities.iter().filter(|i| !i.used_by.is_empty()) {
        let docs = identity.policies.iter().chain(identity.boundary.as_ref());
        for doc in docs {
            let problem = match &doc.document {
                Some(value) => match Policy::from_value(value) {
                    Ok(_) => continue,
                    Err(e) => format!("could not be parsed: {e}"),
                },
                None => format!(
                    "could not be read: {}",
                    doc.error.as_deref().unwrap_or("not collected")
                ),
            };
            out.push(Coverage {
                scope: identity.scope.clone(),
                service: "iam".to_string(),
                region: "global".to_string(),
                status: CoverageStatus::Partial,
                detail: Some(format!(
                    "policy document `{} {}`{} of `{}` {problem}; what it grants or denies is unknown, so the access analysis of this identity is incomplete",
                    doc.kind,
                    doc.name,
                    doc.arn
                        .as_deref()
                        .map(|a| format!(" ({a})"))
                        .unwrap_or_default(),
                    identity.id
                )),
            });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use cloudscan_inventory::UsedBy;
    use serde_json::json;

    fn inventory(document: serde_json::Value, used: bool) -> Inventory {
        let mut inv = Inventory {
            provider: Provider::Aws,
            ..Default::default()
        };
        inv.identities.push(Identity {
            id: "arn:aws:iam::111122223333:role/node".to_string(),
            scope: "111122223333".to_string(),
            used_by: if used {
                vec![UsedBy::NodePool {
                    cluster: "c".to_string(),
                    pool: "p".to_string(),
                }]
            } else {
                Vec::new()
            },
            policies: vec![PolicyDoc {
                kind: "inline".to_string(),
                name: "extra".to_string(),
                document: Some(document),
                ..Default::default()
            }],
            ..Default::default()
        });
        inv
    }

    #[test]
    fn a_rejected_document_is_a_coverage_gap() {
        // `Effect: Maybe` is not a policy the parser accepts.
        let bad = json!({"Version": "2012-10-17", "Statement": [
            {"Effect": "Maybe", "Action": "s3:GetObject", "Resource": "*"}]});
        let gaps = unreadable_policy_coverage(&inventory(bad.clone(), true));
        assert_eq!(gaps.len(), 1);
        assert_eq!(gaps[0].status, CoverageStatus::Partial);
        assert_eq!(gaps[0].service, "iam");
        let detail = gaps[0].detail.clone().unwrap_or_default();
        assert!(detail.contains("inline extra"), "{detail}");
        assert!(detail.contains("role/node"), "{detail}");
        assert!(detail.contains("could not be parsed"), "{detail}");
        // An identity nobody uses is not analyzed: no gap.
        assert!(unreadable_policy_coverage(&inventory(bad, false)).is_empty());
    }

    #[test]
    fn an_undecodable_document_is_a_coverage_gap() {
        let mut inv = inventory(json!({}), true);
        inv.identities[0].policies[0].document = None;
        inv.identities[0].policies[0].error = Some("invalid JSON at line 1".to_string());
        let gaps = unreadable_policy_coverage(&inv);
        assert_eq!(gaps.len(), 1);
        let detail = gaps[0].detail.clone().unwrap_or_default();
        assert!(
            detail.contains("could not be read: invalid JSON"),
            "{detail}"
        );
    }

    #[test]
    fn a_valid_document_is_no_gap() {
        let good = json!({"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}]});
        assert!(unreadable_policy_coverage(&inventory(good, true)).is_empty());
    }
}
