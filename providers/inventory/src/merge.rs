//! Merging inventories saved by the shards of one scan (`--shard I/N`, one `--save-inventory`
//! each) into the inventory of the whole estate, so that the rules and the access stage (role
//! chains, trust across accounts) see everything at once.
//!
//! Every list is deduplicated by its id: a fact two shards both saw (a predefined role, the
//! organization, a tenant-level coverage entry) is kept once when both copies are equal; two
//! different facts with the same id are an error that names both files. The organization is the
//! exception: the shards of an organization scan each record the whole organization, and an
//! account is scanned in the merge when one shard scanned it.

use crate::{Inventory, Provider, INVENTORY_SCHEMA};
use std::collections::HashMap;

/// Why inventories cannot be merged.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MergeError {
    #[error("no inventory to merge")]
    Empty,
    #[error("`{first}` is a {first_provider} inventory and `{second}` a {second_provider} one: shards of one scan are of one cloud")]
    Provider {
        first: String,
        first_provider: &'static str,
        second: String,
        second_provider: &'static str,
    },
    #[error("`{first}` and `{second}` disagree about {what} `{id}`: they are not shards of one scan (or one of them is out of date)")]
    Conflict {
        what: &'static str,
        id: String,
        first: String,
        second: String,
    },
}

/// Adds `items` of the inventory named `source` to `out`, keeping one copy per key.
fn add<T: PartialEq>(
    what: &'static str,
    out: &mut Vec<T>,
    seen: &mut HashMap<String, (usize, usize)>,
    items: Vec<T>,
    source: usize,
    names: &[String],
    key: impl Fn(&T) -> String,
) -> Result<(), MergeError> {
    for item in items {
        let k = key(&item);
        match seen.get(&k) {
            Some(&(at, from)) => {
                if out.get(at) != Some(&item) {
                    return Err(MergeError::Conflict {
                        what,
                        id: k,
                        first: names.get(from).cloned().unwrap_or_default(),
                        second: names.get(source).cloned().unwrap_or_default(),
                    });
                }
            }
            None => {
                seen.insert(k, (out.len(), source));
                out.push(item);
            }
        }
    }
    Ok(())
}

/// How `cloudscan aws --organization --shard I/N` says an account is another shard's
/// (`providers/aws/src/org.rs`, `select`).
const OTHER_SHARD: &str = "scanned by another shard";

/// Adds what `other` knows about the organization to `have`. The shards of one organization
/// scan read the same organization and differ only in which accounts each scanned: an account
/// is scanned when any shard scanned it, and otherwise keeps the reason of the shard it belonged
/// to (not "scanned by another shard"). False when the two differ in anything else.
fn combine_organizations(have: &mut crate::Organization, other: crate::Organization) -> bool {
    let strip = |o: &crate::Organization| {
        let mut o = o.clone();
        for a in &mut o.accounts {
            a.scanned = false;
            a.not_scanned_reason = None;
        }
        o
    };
    if strip(have) != strip(&other) {
        return false;
    }
    for (mine, theirs) in have.accounts.iter_mut().zip(other.accounts) {
        if mine.scanned {
            continue;
        }
        let other_shard =
            |r: &Option<String>| r.as_deref().is_some_and(|r| r.starts_with(OTHER_SHARD));
        if theirs.scanned {
            mine.scanned = true;
            mine.not_scanned_reason = None;
        } else if other_shard(&mine.not_scanned_reason) && !other_shard(&theirs.not_scanned_reason)
        {
            mine.not_scanned_reason = theirs.not_scanned_reason;
        }
    }
    true
}

/// Merges named inventories (the name is how errors refer to each, e.g. its file). One
/// inventory is returned as it is.
pub fn merge(inventories: Vec<(String, Inventory)>) -> Result<Inventory, MergeError> {
    let names: Vec<String> = inventories.iter().map(|(n, _)| n.clone()).collect();
    let mut iter = inventories.into_iter().enumerate();
    let Some((_, (_, first))) = iter.next() else {
        return Err(MergeError::Empty);
    };
    let provider: Provider = first.provider;
    let mut out = Inventory::new(provider);
    out.schema_version = INVENTORY_SCHEMA.to_string();
    let mut seen: [HashMap<String, (usize, usize)>; 13] = Default::default();
    let mut regions = std::collections::BTreeSet::new();
    let mut organization: Option<(crate::Organization, usize)> = None;
    for (i, (_, inv)) in std::iter::once((0, (String::new(), first))).chain(iter) {
        if inv.provider != provider {
            return Err(MergeError::Provider {
                first: names.first().cloned().unwrap_or_default(),
                first_provider: provider.as_str(),
                second: names.get(i).cloned().unwrap_or_default(),
                second_provider: inv.provider.as_str(),
            });
        }
        if out.caller.is_none() {
            out.caller = inv.caller.clone();
        }
        regions.extend(inv.regions);
        let [scopes, clusters, identities, oidc, enc, volumes, trails, coverage, roles, azure_roles, policies, blocks, kube] =
            &mut seen;
        add(
            "scope",
            &mut out.scopes,
            scopes,
            inv.scopes,
            i,
            &names,
            |s| s.id.clone(),
        )?;
        add(
            "cluster",
            &mut out.clusters,
            clusters,
            inv.clusters,
            i,
            &names,
            |c| c.id.clone(),
        )?;
        add(
            "identity",
            &mut out.identities,
            identities,
            inv.identities,
            i,
            &names,
            |x| x.id.clone(),
        )?;
        add(
            "OIDC provider",
            &mut out.oidc_providers,
            oidc,
            inv.oidc_providers,
            i,
            &names,
            |x| x.id.clone(),
        )?;
        add(
            "encryption default",
            &mut out.encryption_defaults,
            enc,
            inv.encryption_defaults,
            i,
            &names,
            |x| format!("{} {} {}", x.scope, x.region, x.resource),
        )?;
        add(
            "volume",
            &mut out.volumes,
            volumes,
            inv.volumes,
            i,
            &names,
            |x| x.id.clone(),
        )?;
        add(
            "audit trail",
            &mut out.audit_trails,
            trails,
            inv.audit_trails,
            i,
            &names,
            |x| format!("{} {} {}", x.scope, x.region, x.id),
        )?;
        // Coverage entries are not facts with ids: equal entries are kept once, the others all
        // (the worst status of a service wins when it is read).
        add(
            "coverage entry",
            &mut out.coverage,
            coverage,
            inv.coverage,
            i,
            &names,
            |x| serde_json::to_string(x).unwrap_or_default(),
        )?;
        add(
            "role definition",
            &mut out.role_definitions,
            roles,
            inv.role_definitions,
            i,
            &names,
            |x| x.name.clone(),
        )?;
        add(
            "Azure role definition",
            &mut out.azure_role_definitions,
            azure_roles,
            inv.azure_role_definitions,
            i,
            &names,
            |x| x.id.to_ascii_lowercase(),
        )?;
        add(
            "resource policy",
            &mut out.resource_policies,
            policies,
            inv.resource_policies,
            i,
            &names,
            |x| x.arn.clone(),
        )?;
        add(
            "account Block Public Access",
            &mut out.account_public_access_blocks,
            blocks,
            inv.account_public_access_blocks,
            i,
            &names,
            |x| x.scope.clone(),
        )?;
        // What each shard read from its clusters' Kubernetes APIs (one entry per cluster and
        // context). Dropping it would leave the Kubernetes coverage complete with no facts.
        add(
            "Kubernetes cluster",
            &mut out.kubernetes,
            kube,
            inv.kubernetes,
            i,
            &names,
            |x| format!("{} {}", x.cluster_id, x.context),
        )?;
        if let Some(org) = inv.organization {
            match &mut organization {
                None => organization = Some((org, i)),
                Some((have, from)) => {
                    if !combine_organizations(have, org.clone()) {
                        return Err(MergeError::Conflict {
                            what: "organization",
                            id: org.id.clone(),
                            first: names.get(*from).cloned().unwrap_or_default(),
                            second: names.get(i).cloned().unwrap_or_default(),
                        });
                    }
                }
            }
        }
    }
    out.regions = regions.into_iter().collect();
    out.organization = organization.map(|(o, _)| o);
    out.scopes.sort_by(|a, b| a.id.cmp(&b.id));
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Cluster, Coverage, CoverageStatus, Identity, Scope};

    fn inv(scope: &str) -> Inventory {
        let mut i = Inventory::new(Provider::Azure);
        i.scopes.push(Scope {
            id: scope.to_string(),
            ..Default::default()
        });
        i.regions.push("global".to_string());
        i.clusters.push(Cluster {
            id: format!("/subscriptions/{scope}/c"),
            name: "c".to_string(),
            scope: scope.to_string(),
            ..Default::default()
        });
        i.identities.push(Identity {
            id: format!("/subscriptions/{scope}/id"),
            scope: scope.to_string(),
            ..Default::default()
        });
        i.coverage.push(Coverage {
            scope: "tenant".to_string(),
            service: "resources".to_string(),
            region: "global".to_string(),
            status: CoverageStatus::Complete,
            detail: None,
        });
        i
    }

    #[test]
    fn merges_and_dedupes() {
        let merged = merge(vec![
            ("b.json".into(), inv("s2")),
            ("a.json".into(), inv("s1")),
        ]);
        let Ok(m) = merged else {
            panic!("{merged:?}");
        };
        assert_eq!(
            m.scopes.iter().map(|s| s.id.as_str()).collect::<Vec<_>>(),
            ["s1", "s2"]
        );
        assert_eq!(m.clusters.len(), 2);
        assert_eq!(m.identities.len(), 2);
        assert_eq!(m.coverage.len(), 1, "the equal tenant entry is kept once");
        assert_eq!(m.regions, ["global"]);
        // A shard saved twice merges to itself.
        let same = merge(vec![("a".into(), inv("s1")), ("a2".into(), inv("s1"))]);
        assert_eq!(same.map(|m| m.clusters.len()), Ok(1));
    }

    #[test]
    fn conflicting_duplicates_name_both_files() {
        let mut other = inv("s1");
        other.clusters[0].version = Some("1.99".to_string());
        let e = merge(vec![
            ("one.json".into(), inv("s1")),
            ("two.json".into(), other),
        ]);
        let text = e.err().map(|e| e.to_string()).unwrap_or_default();
        assert!(
            text.contains("one.json") && text.contains("two.json"),
            "{text}"
        );
        assert!(text.contains("cluster `/subscriptions/s1/c`"), "{text}");
    }

    #[test]
    fn one_cloud_only() {
        let aws = Inventory::new(Provider::Aws);
        let e = merge(vec![("x".into(), inv("s1")), ("y".into(), aws)]);
        assert!(matches!(e, Err(MergeError::Provider { .. })), "{e:?}");
        assert_eq!(merge(Vec::new()), Err(MergeError::Empty));
    }
}
