//! `node-identity-host-network-only`: where the cluster was read, the only pods that reach a
//! node pool's identity are pods on the host network.

use super::{FindingBuilder, Rule, RuleContext, RuleMeta};
use crate::finding::Severity;
use crate::finding::{Evidence, Finding};
use cloudscan_access::exposure::cluster::describe_workloads;
use cloudscan_access::exposure::{PodReach, Route};

pub struct NodeIdentityHostNetworkOnly;

static META: RuleMeta = RuleMeta {
    id: "node-identity-host-network-only",
    title: "Node identity reachable from pods only through the host network",
    severity: Severity::Low,
    layer: "cloud",
    description: "Where the cluster's API was read, the pods that can act as a node pool's \
identity are all pods with `hostNetwork: true`: the pool's metadata settings (IMDSv2 with hop \
limit 1, GKE_METADATA) or NetworkPolicies keep every other pod out. Host-network pods share the \
node's network namespace, so they reach the metadata service like any node process: neither a \
hop limit nor a NetworkPolicy applies to them. Low: they are usually node agents (CNI, proxy, \
log and metrics daemons) that hold node-level access anyway; the finding lists them so that \
every host-network workload is a known, deliberate one, since any pod allowed to set \
`hostNetwork` inherits the node identity.",
    remediation: "Keep `hostNetwork` to the node agents that need it: enforce the Pod Security \
Standards `baseline` level (which forbids host namespaces) on every namespace except the system \
ones, and review the workloads listed. Give node agents that call cloud APIs their own workload \
identity where the platform allows it.",
    references: &[
        "https://kubernetes.io/docs/concepts/security/pod-security-standards/",
        "https://kubernetes.io/docs/concepts/services-networking/network-policies/",
        "https://docs.aws.amazon.com/eks/latest/best-practices/identity-and-access-management.html",
    ],
};

impl Rule for NodeIdentityHostNetworkOnly {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check(&self, ctx: &RuleContext<'_>, out: &mut Vec<Finding>) {
        let noun = ctx.inventory.provider.vocabulary().node_identity;
        for identity in &ctx.inventory.identities {
            let Some(facts) = ctx.access.identities.get(&identity.id) else {
                continue;
            };
            for e in &facts.exposures {
                let (Route::NodePool { pool, pods }, Some(observed)) = (&e.route, &e.observed)
                else {
                    continue;
                };
                if !observed.only_host_network() {
                    continue;
                }
                let others = match pods {
                    PodReach::NotShown => {
                        "the pool's metadata settings keep other pods out".to_string()
                    }
                    _ if !observed.blocked.is_empty() => format!(
                        "NetworkPolicy {} keeps the other pods out ({})",
                        observed.blocked_by.join(", "),
                        cloudscan_access::exposure::cluster::CNI_CAVEAT
                    ),
                    _ => "no other pod runs on the pool".to_string(),
                };
                let scope = ctx
                    .inventory
                    .clusters
                    .iter()
                    .find(|c| c.name == e.cluster)
                    .map(|c| (c.scope.clone(), c.region.clone()))
                    .unwrap_or_else(|| (identity.scope.clone(), String::new()));
                out.push(
                    FindingBuilder::new(
                        &META,
                        &scope.0,
                        &identity.id,
                        format!(
                            "{noun} `{}` of node pool `{pool}` in cluster `{}` is reachable from pods only through the host network: {} pod(s) of {} run with hostNetwork, which neither the hop limit nor NetworkPolicy restricts; {others}",
                            identity.name,
                            e.cluster,
                            observed.pods(),
                            describe_workloads(&observed.reach)
                        ),
                    )
                    .region(&scope.1)
                    .cluster(&e.cluster)
                    .node_pool(pool)
                    .discriminator(&format!("{}/{pool}", e.cluster))
                    .evidence(Evidence::new(
                        format!("kubernetes context `{}` pods", observed.context),
                        "spec.hostNetwork = true, spec.nodeName on the pool",
                        observed.workloads(),
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

    fn inventory(tokens_required: bool, host_pods: bool) -> Inventory {
        let mut pods = vec![
            serde_json::json!({"namespace": "a", "name": "app", "node": "n1",
            "workload": {"kind": "Deployment", "namespace": "a", "name": "app"}}),
        ];
        if host_pods {
            pods.push(serde_json::json!({"namespace": "kube-system", "name": "cni", "node": "n1", "host_network": true,
                "workload": {"kind": "DaemonSet", "namespace": "kube-system", "name": "cni"}}));
        }
        serde_json::from_value(serde_json::json!({
            "provider": "aws",
            "clusters": [{"id": "arn:c", "name": "c", "scope": "1", "region": "r",
                "node_pools": [{"name": "p", "identity": "arn:aws:iam::1:role/node",
                    "metadata": [{"level": "instance", "resource": "i", "tokens_required": tokens_required, "hop_limit": 1}]}]}],
            "identities": [{"id": "arn:aws:iam::1:role/node", "name": "node", "kind": "aws-role", "scope": "1",
                "used_by": [{"kind": "node_pool", "cluster": "c", "pool": "p"}]}],
            "kubernetes": [{"cluster": "c", "cluster_id": "arn:c", "context": "ctx",
                "complete": ["pods", "nodes", "networkpolicies"],
                "nodes": [{"name": "n1", "pool": "p"}], "pods": pods}]
        }))
        .expect("valid inventory")
    }

    #[test]
    fn only_host_network_pods_reaching_a_node_identity_is_low() {
        let f = run(&NodeIdentityHostNetworkOnly, &inventory(true, true));
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].severity, Severity::Low);
        assert!(
            f[0].message.contains("daemonset kube-system/cni"),
            "{}",
            f[0].message
        );
        // IMDSv1: the ordinary pod reaches it too.
        assert!(run(&NodeIdentityHostNetworkOnly, &inventory(false, true)).is_empty());
        // No host-network pod: no pod reaches it.
        assert!(run(&NodeIdentityHostNetworkOnly, &inventory(true, false)).is_empty());
    }
}
