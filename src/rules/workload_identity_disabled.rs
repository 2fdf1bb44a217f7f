//! `workload-identity-disabled`: workloads have no identity of their own and fall back to the node's.

use super::{FindingBuilder, Rule, RuleContext, RuleMeta};
use crate::finding::{Evidence, Finding, Severity};

pub struct WorkloadIdentityDisabled;

static META: RuleMeta = RuleMeta {
    id: "workload-identity-disabled",
    title: "Cluster has no workload identity",
    severity: Severity::Medium,
    layer: "cloud",
    description: "Without IRSA (an IAM OIDC provider for the cluster's issuer) or EKS Pod \
Identity associations, every workload that needs cloud access uses the node role, so every pod \
gets the union of all workloads' permissions. Fires only when both were read: the OIDC providers \
(IAM) and the Pod Identity associations (EKS); if either could not be read the coverage says so.",
    remediation: "Create an IAM OIDC provider for the cluster's issuer \
(`eksctl utils associate-iam-oidc-provider --cluster NAME --approve`) or install the EKS Pod \
Identity Agent add-on, then give each workload its own narrowly scoped role.",
    references: &[
        "https://docs.aws.amazon.com/eks/latest/userguide/iam-roles-for-service-accounts.html",
        "https://docs.aws.amazon.com/eks/latest/userguide/pod-identities.html",
    ],
    compliance: &["CIS EKS 1.8 5.2.1", "4C Cloud: workload identity"],
};

impl Rule for WorkloadIdentityDisabled {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check(&self, ctx: &RuleContext<'_>, out: &mut Vec<Finding>) {
        for c in &ctx.inventory.clusters {
            let wi = &c.workload_identity;
            if wi.enabled != Some(false) {
                continue;
            }
            out.push(
                FindingBuilder::new(
                    &META,
                    &c.scope,
                    &c.id,
                    format!(
                        "cluster `{}` has neither an IAM OIDC provider for its issuer nor Pod Identity associations: workloads can only use the node role",
                        c.name
                    ),
                )
                .region(&c.region)
                .cluster(&c.name)
                .evidence(Evidence::new(
                    "eks:DescribeCluster cluster.identity.oidc",
                    "issuer",
                    wi.issuer.clone(),
                ))
                .evidence(Evidence::new(
                    "iam:ListOpenIDConnectProviders",
                    "provider for issuer",
                    wi.provider_registered,
                ))
                .evidence(Evidence::new(
                    "eks:ListPodIdentityAssociations",
                    "associations",
                    wi.pod_identity_associations,
                ))
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

    fn inventory(enabled: Option<bool>) -> Inventory {
        serde_json::from_value(serde_json::json!({"clusters": [{
            "id": "c", "name": "c", "workload_identity": {"enabled": enabled}
        }]}))
        .expect("valid inventory")
    }

    #[test]
    fn fires_only_when_known_disabled() {
        assert_eq!(
            run(&WorkloadIdentityDisabled, &inventory(Some(false))).len(),
            1
        );
        assert!(run(&WorkloadIdentityDisabled, &inventory(Some(true))).is_empty());
        assert!(run(&WorkloadIdentityDisabled, &inventory(None)).is_empty());
    }
}
