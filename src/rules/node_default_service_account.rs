//! `node-default-service-account`: GKE nodes run as the Compute Engine default service account or
//! with the `cloud-platform` scope.

use super::{FindingBuilder, Rule, RuleContext, RuleMeta};
use crate::finding::{Evidence, Finding, Severity};

pub struct NodeDefaultServiceAccount;

static META: RuleMeta = RuleMeta {
    id: "node-default-service-account",
    title: "Nodes run as the default service account or with full API scope",
    severity: Severity::High,
    layer: "cloud",
    description: "The Compute Engine default service account is granted Editor on the project \
in most projects, and every pod that reaches the node's metadata server can use it. The \
`cloud-platform` OAuth scope removes the last limit on what the node's token may call: the node \
service account's IAM roles become the only boundary. Either is a finding; both together, on a \
pool that also serves the metadata server to pods, is the classic path from one compromised pod \
to the whole project.",
    remediation: "Create a dedicated, minimally privileged service account for each node pool \
(roles/container.defaultNodeServiceAccount, plus image pull access) and recreate the pool with \
it (`gcloud container node-pools create ... --service-account SA`); use Workload Identity for \
workloads that need Google APIs instead of broad node scopes.",
    references: &[
        "https://cloud.google.com/kubernetes-engine/docs/how-to/hardening-your-cluster#use_least_privilege_sa",
        "https://cloud.google.com/compute/docs/access/service-accounts#default_service_account",
    ],
};

impl Rule for NodeDefaultServiceAccount {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check(&self, ctx: &RuleContext<'_>, out: &mut Vec<Finding>) {
        let words = ctx.inventory.provider.vocabulary().node_access;
        for c in &ctx.inventory.clusters {
            for pool in &c.node_pools {
                let default_sa = pool.default_service_account == Some(true);
                let full_scope = words
                    .full_scope
                    .is_some_and(|full| pool.oauth_scopes.iter().any(|s| s == full));
                if !default_sa && !full_scope {
                    continue;
                }
                let mut why = Vec::new();
                if default_sa {
                    why.push(format!("runs as {}", words.default_identity));
                }
                if full_scope {
                    why.push(format!("has {}", words.full_scope_name));
                }
                let resource = pool
                    .id
                    .clone()
                    .unwrap_or_else(|| format!("{}/nodePools/{}", c.id, pool.name));
                out.push(
                    FindingBuilder::new(
                        &META,
                        &c.scope,
                        &resource,
                        format!(
                            "node pool `{}` of cluster `{}` {} (service account `{}`)",
                            pool.name,
                            c.name,
                            why.join(" and "),
                            pool.identity.as_deref().unwrap_or("unknown")
                        ),
                    )
                    .severity(if default_sa && full_scope {
                        Severity::High
                    } else {
                        Severity::Medium
                    })
                    .region(&c.region)
                    .cluster(&c.name)
                    .node_pool(&pool.name)
                    .evidence(Evidence::new(
                        &pool.source,
                        words.identity_field,
                        pool.identity.clone(),
                    ))
                    .evidence(Evidence::new(
                        &pool.source,
                        words.scopes_field,
                        pool.oauth_scopes.clone(),
                    ))
                    .build(),
                );
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::test_support::run;
    use cloudscan_inventory::Inventory;

    const CLOUD_PLATFORM: &str = "https://www.googleapis.com/auth/cloud-platform";

    #[test]
    fn default_account_and_full_scope_fire() {
        let inv: Inventory = serde_json::from_value(serde_json::json!({"provider": "gcp", "clusters": [{
            "id": "c", "name": "c", "node_pools": [
                {"name": "both", "default_service_account": true, "oauth_scopes": [CLOUD_PLATFORM]},
                {"name": "scope", "default_service_account": false, "oauth_scopes": [CLOUD_PLATFORM]},
                {"name": "fine", "default_service_account": false,
                 "oauth_scopes": ["https://www.googleapis.com/auth/logging.write"]},
                {"name": "unknown"}
            ]
        }]}))
        .expect("valid inventory");
        let got: Vec<(Option<String>, Severity)> = run(&NodeDefaultServiceAccount, &inv)
            .into_iter()
            .map(|f| (f.node_pool, f.severity))
            .collect();
        assert_eq!(
            got,
            vec![
                (Some("both".into()), Severity::High),
                (Some("scope".into()), Severity::Medium)
            ]
        );
    }
}
