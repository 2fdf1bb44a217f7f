//! `node-metadata-exposed`: pods can reach the node's cloud identity through the metadata service.

use super::{cite, FindingBuilder, Rule, RuleContext, RuleMeta};
use crate::finding::{Finding, Severity};

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
pod. IMDSv1 allowed and GCE_METADATA are high; IMDSv2 with a hop limit above 1 is medium. A \
launch template version that leaves `HttpTokens` or `HttpPutResponseHopLimit` unset is reported \
as not known, at medium: its nodes inherit the value from the AMI (`ImdsSupport`) or the \
account's instance metadata defaults, which the scan does not read, and the inherited value may \
be IMDSv1 (high) or IMDSv2 with a hop limit of 2 (medium); medium because the exposure is \
possible but not shown.",
    remediation: "EKS: require IMDSv2 and set the hop limit to 1 in the node group's launch \
template (`MetadataOptions: {HttpTokens: required, HttpPutResponseHopLimit: 1}`), then roll the \
nodes; fix running instances with `aws ec2 modify-instance-metadata-options`. GKE: enable \
Workload Identity and set the node pool's metadata mode to GKE_METADATA \
(`gcloud container node-pools update POOL --workload-metadata=GKE_METADATA`). Give workloads \
their own identity (IRSA, EKS Pod Identity, GKE Workload Identity) instead of the node's.",
    references: &[
        "https://docs.aws.amazon.com/eks/latest/best-practices/identity-and-access-management.html",
        "https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/configuring-instance-metadata-options.html",
        "https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_LaunchTemplateInstanceMetadataOptionsRequest.html",
    ],
};

impl Rule for NodeMetadataExposed {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check(&self, ctx: &RuleContext<'_>, out: &mut Vec<Finding>) {
        for m in &ctx.access.metadata {
            let why: Vec<String> = m.weaknesses.iter().map(|w| w.explain()).collect();
            out.push(
                FindingBuilder::new(
                    &META,
                    &m.scope,
                    &m.resource,
                    format!(
                        "pods on node pool `{}` of cluster `{}` can obtain {} from the metadata service of {}: {}",
                        m.pool,
                        m.cluster,
                        m.identity,
                        m.nodes,
                        why.join(" and ")
                    ),
                )
                .severity(if m.is_direct() {
                    Severity::High
                } else {
                    Severity::Medium
                })
                .region(&m.region)
                .cluster(&m.cluster)
                .node_pool(&m.pool)
                .evidences(m.evidence.iter().cloned().map(cite).collect())
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
        // lt-2 sets no metadata option: inherited, not known (medium), never a pass.
        assert_eq!(
            got,
            vec![
                ("i-1", Severity::High),
                ("i-2", Severity::Medium),
                ("lt-2", Severity::Medium)
            ]
        );
        assert!(f[0].message.contains("arn:aws:iam::1:role/node"));
        assert!(f[2].message.contains("not known"), "{}", f[2].message);
    }

    #[test]
    fn each_deciding_field_flips_the_finding() {
        let resources = |settings: serde_json::Value| -> Vec<(String, Severity)> {
            run(
                &NodeMetadataExposed,
                &inventory(serde_json::json!([settings])),
            )
            .into_iter()
            .map(|f| (f.resource, f.severity))
            .collect()
        };
        let one = |s: Severity| vec![("x".to_string(), s)];
        let inst = |t: bool, h: u32| serde_json::json!({"level": "instance", "resource": "x", "tokens_required": t, "hop_limit": h});
        // HttpTokens: optional -> high; required -> none.
        assert_eq!(resources(inst(false, 1)), one(Severity::High));
        assert_eq!(resources(inst(true, 1)), vec![]);
        // HttpPutResponseHopLimit: 2 -> medium; 1 -> none.
        assert_eq!(resources(inst(true, 2)), one(Severity::Medium));
        // HttpEndpoint disabled -> none even with IMDSv1.
        assert_eq!(
            resources(serde_json::json!({"level": "instance", "resource": "x",
                "tokens_required": false, "hop_limit": 2, "endpoint_enabled": false})),
            vec![]
        );
        // Launch template: unset -> medium (unknown); set to required/1 -> none.
        assert_eq!(
            resources(serde_json::json!({"level": "launch-template", "resource": "x"})),
            one(Severity::Medium)
        );
        assert_eq!(
            resources(
                serde_json::json!({"level": "launch-template", "resource": "x",
                "tokens_required": true, "hop_limit": 1})
            ),
            vec![]
        );
        // GKE mode: GCE_METADATA -> high; GKE_METADATA -> none.
        assert_eq!(
            resources(
                serde_json::json!({"level": "node-pool", "resource": "x", "mode": "GCE_METADATA"})
            ),
            one(Severity::High)
        );
        assert_eq!(
            resources(
                serde_json::json!({"level": "node-pool", "resource": "x", "mode": "GKE_METADATA"})
            ),
            vec![]
        );
    }
}
