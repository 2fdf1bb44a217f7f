//! `node-metadata-exposed`: pods can reach the node's cloud identity through the metadata service.

use super::{FindingBuilder, Rule, RuleContext, RuleMeta};
use crate::finding::{Evidence, Finding, Severity};
use cloudscan_inventory::Provider;

pub struct NodeMetadataExposed;

static META: RuleMeta = RuleMeta {
    id: "node-metadata-exposed",
    title: "Pods can reach the node identity through the metadata service",
    severity: Severity::High,
    layer: "cloud",
    description: "Any pod that can call the instance metadata service gets the node's \
credentials and acts as the node identity. On EKS, IMDSv1 (session tokens optional) answers any \
GET, including from pods and from SSRF bugs, and IMDSv2 with a response hop limit above 1 still \
lets the token response reach pods on the pod network; checked per launch template version (what \
new nodes get) and per running instance (what nodes have now). On GKE, a node pool that does not \
run the GKE metadata server (`GKE_METADATA`) serves the node service account's token to every \
pod. IMDSv1 allowed and GCE_METADATA are high; IMDSv2 with a hop limit above 1 is medium.",
    remediation: "EKS: require IMDSv2 and set the hop limit to 1 in the node group's launch \
template (`MetadataOptions: {HttpTokens: required, HttpPutResponseHopLimit: 1}`), then roll the \
nodes; fix running instances with `aws ec2 modify-instance-metadata-options`. GKE: enable \
Workload Identity and set the node pool's metadata mode to GKE_METADATA \
(`gcloud container node-pools update POOL --workload-metadata=GKE_METADATA`). Give workloads \
their own identity (IRSA, EKS Pod Identity, GKE Workload Identity) instead of the node's.",
    references: &[
        "https://docs.aws.amazon.com/eks/latest/best-practices/identity-and-access-management.html",
        "https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/configuring-instance-metadata-options.html",
    ],
};

impl Rule for NodeMetadataExposed {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check(&self, ctx: &RuleContext<'_>, out: &mut Vec<Finding>) {
        for c in &ctx.inventory.clusters {
            for pool in &c.node_pools {
                for m in &pool.metadata {
                    if m.endpoint_enabled == Some(false) {
                        continue;
                    }
                    let v1 = m.tokens_required == Some(false);
                    let hops = m.hop_limit.filter(|h| *h > 1);
                    let gce = m.mode.as_deref() == Some("GCE_METADATA");
                    if !v1 && hops.is_none() && !gce {
                        continue;
                    }
                    let mut why = Vec::new();
                    if gce {
                        why.push(
                            "the pool uses the GCE metadata server, not GKE_METADATA".to_string(),
                        );
                    }
                    if v1 {
                        why.push("IMDSv1 is allowed (session tokens optional)".to_string());
                    }
                    if let Some(h) = hops {
                        why.push(format!("the hop limit is {h}"));
                    }
                    let kind = match ctx.inventory.provider {
                        Provider::Aws => "node role",
                        Provider::Gcp => "node service account",
                        Provider::Azure => "kubelet identity",
                    };
                    let identity = pool
                        .identity
                        .as_deref()
                        .map(|r| format!("{kind} `{r}`"))
                        .unwrap_or_else(|| "the node identity".to_string());
                    let what = match m.level.as_str() {
                        "launch-template" => "nodes launched from this template",
                        "node-pool" => "every node of the pool",
                        _ => "this node",
                    };
                    out.push(
                        FindingBuilder::new(
                            &META,
                            &c.scope,
                            &m.resource,
                            format!(
                                "pods on node pool `{}` of cluster `{}` can obtain {identity} from the metadata service of {what}: {}",
                                pool.name,
                                c.name,
                                why.join(" and ")
                            ),
                        )
                        .severity(if v1 || gce { Severity::High } else { Severity::Medium })
                        .region(&c.region)
                        .cluster(&c.name)
                        .node_pool(&pool.name)
                        .evidences(if gce {
                            vec![Evidence::new(&m.source, "workloadMetadataConfig.mode", "GCE_METADATA")]
                        } else {
                            vec![
                                Evidence::new(
                                    &m.source,
                                    "HttpTokens",
                                    match m.tokens_required {
                                        Some(true) => "required",
                                        Some(false) => "optional",
                                        None => "not set",
                                    },
                                ),
                                Evidence::new(&m.source, "HttpPutResponseHopLimit", m.hop_limit),
                            ]
                        })
                        .build(),
                    );
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::test_support::run;
    use cloudscan_inventory::Inventory;

    fn inventory(settings: serde_json::Value) -> Inventory {
        serde_json::from_value(serde_json::json!({"clusters": [{
            "id": "c", "name": "c", "node_pools": [{"name": "ng", "identity": "arn:aws:iam::1:role/node",
                "metadata": settings}]
        }]}))
        .expect("valid inventory")
    }

    #[test]
    fn imdsv1_is_high_and_hop_limit_is_medium() {
        let f = run(
            &NodeMetadataExposed,
            &inventory(serde_json::json!([
                {"level": "instance", "resource": "i-1", "tokens_required": false, "hop_limit": 1},
                {"level": "instance", "resource": "i-2", "tokens_required": true, "hop_limit": 2},
                {"level": "launch-template", "resource": "lt-1", "tokens_required": true, "hop_limit": 1},
                {"level": "instance", "resource": "i-3", "tokens_required": false, "endpoint_enabled": false},
                {"level": "launch-template", "resource": "lt-2"}
            ])),
        );
        let got: Vec<(&str, Severity)> = f
            .iter()
            .map(|f| (f.resource.as_str(), f.severity))
            .collect();
        assert_eq!(
            got,
            vec![("i-1", Severity::High), ("i-2", Severity::Medium)]
        );
        assert!(f[0].message.contains("arn:aws:iam::1:role/node"));
    }
}
