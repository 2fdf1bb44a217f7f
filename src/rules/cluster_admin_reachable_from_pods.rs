//! `cluster-admin-reachable-from-pods`: a cloud identity that pods can act as is mapped into
//! `system:masters` by the cluster's `aws-auth` ConfigMap, so those pods are cluster-admin.

use super::{FindingBuilder, Rule, RuleContext, RuleMeta};
use crate::finding::{Evidence, Finding, Severity};
use cloudscan_access::exposure::cluster::admin_mappings;

pub struct ClusterAdminReachableFromPods;

static META: RuleMeta = RuleMeta {
    id: "cluster-admin-reachable-from-pods",
    title: "Pods can act as a cloud identity that is cluster-admin",
    severity: Severity::Critical,
    layer: "cloud",
    description: "The cluster's `kube-system/aws-auth` ConfigMap maps a cloud role into the \
`system:masters` group, which Kubernetes binds to cluster-admin in a way RBAC cannot revoke, \
and pods can act as that role (the node role through the metadata service, or a workload \
identity). Any of those pods can then take the role's credentials and administer the whole \
cluster: read every Secret, run privileged pods on every node. A Cloud-layer weakness reached \
from the Cluster layer. Critical when ordinary pods reach the role; high when only pods on the \
host network do (they run with node privileges already). EKS access entries are not checked \
here: EKS refuses `system:` groups in them, and access-policy associations \
(`AmazonEKSClusterAdminPolicy`) are not collected yet.",
    remediation: "Remove the `system:masters` group from the mapping (use a group bound to a \
narrow ClusterRole, or an EKS access entry with a scoped access policy), and give the role to \
no workload: node roles should never be cluster-admin, and a CI or deployer role should be \
assumed from outside the cluster or through a dedicated, narrowly trusted identity.",
    references: &[
        "https://docs.aws.amazon.com/eks/latest/userguide/auth-configmap.html",
        "https://kubernetes.io/docs/reference/access-authn-authz/rbac/#user-facing-roles",
        "https://docs.aws.amazon.com/eks/latest/best-practices/identity-and-access-management.html",
    ],
};

impl Rule for ClusterAdminReachableFromPods {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check(&self, ctx: &RuleContext<'_>, out: &mut Vec<Finding>) {
        for m in admin_mappings(ctx.inventory) {
            let Some(id) = &m.identity else {
                continue;
            };
            let Some(facts) = ctx.access.identities.get(id) else {
                continue;
            };
            let host_only = !facts.pods()
                && facts
                    .exposures
                    .iter()
                    .any(|e| e.observed.as_ref().is_some_and(|o| o.host_network() > 0));
            if !facts.pods() && !host_only {
                continue;
            }
            let who: Vec<String> = facts.exposures.iter().map(ToString::to_string).collect();
            let name = ctx
                .inventory
                .identity(id)
                .map(|i| format!("{} `{}`", i.noun(), i.name))
                .unwrap_or_else(|| format!("`{id}`"));
            out.push(
                FindingBuilder::new(
                    &META,
                    &m.scope,
                    id,
                    format!(
                        "{name} is mapped into `system:masters` (cluster-admin) of cluster `{}` by {}, and {} can act as it: {}",
                        m.cluster,
                        m.source,
                        if host_only { "pods on the host network" } else { "pods" },
                        who.join("; ")
                    ),
                )
                .severity(if host_only {
                    Severity::High
                } else {
                    Severity::Critical
                })
                .region(&m.region)
                .cluster(&m.cluster)
                .discriminator(&m.cluster)
                .evidence(Evidence::new(
                    format!("kubernetes context `{}` configmap kube-system/aws-auth", m.context),
                    m.source.trim_start_matches("kube-system/aws-auth "),
                    serde_json::json!({"rolearn": m.mapped, "username": m.username, "groups": m.groups}),
                ))
                .evidence(Evidence::new("inventory used_by", "who can use it", who))
                .build(),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::test_support::run;
    use cloudscan_inventory::Inventory;

    fn inventory(groups: &[&str], tokens_required: bool) -> Inventory {
        serde_json::from_value(serde_json::json!({
            "provider": "aws",
            "clusters": [{"id": "arn:c", "name": "c", "scope": "1", "region": "r",
                "node_pools": [{"name": "p", "identity": "arn:aws:iam::1:role/path/node",
                    "metadata": [{"level": "instance", "resource": "i", "tokens_required": tokens_required, "hop_limit": 1}]}]}],
            "identities": [{"id": "arn:aws:iam::1:role/path/node", "name": "node", "kind": "aws-role", "scope": "1",
                "used_by": [{"kind": "node_pool", "cluster": "c", "pool": "p"}]}],
            "kubernetes": [{"cluster": "c", "cluster_id": "arn:c", "context": "ctx",
                "complete": ["pods", "nodes", "networkpolicies", "serviceaccounts"],
                "nodes": [{"name": "n1", "pool": "p"}],
                "pods": [{"namespace": "a", "name": "x", "service_account": "default", "node": "n1",
                    "workload": {"kind": "Deployment", "namespace": "a", "name": "web"}}],
                "aws_auth": {"map_roles": [{"arn": "arn:aws:iam::1:role/node", "groups": groups}]}}]
        }))
        .expect("valid inventory")
    }

    #[test]
    fn a_masters_mapping_reachable_from_pods_is_critical() {
        let f = run(
            &ClusterAdminReachableFromPods,
            &inventory(&["system:masters"], false),
        );
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].severity, Severity::Critical);
        assert!(
            f[0].message.contains("deployment a/web"),
            "{}",
            f[0].message
        );
        // Not system:masters: nothing.
        assert!(run(
            &ClusterAdminReachableFromPods,
            &inventory(&["system:nodes"], false)
        )
        .is_empty());
        // Pods do not reach the role (IMDSv2, hop limit 1) and no host-network pod: nothing.
        assert!(run(
            &ClusterAdminReachableFromPods,
            &inventory(&["system:masters"], true)
        )
        .is_empty());
    }
}
