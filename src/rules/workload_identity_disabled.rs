//! `workload-identity-disabled`: workloads have no identity of their own and fall back to the node's.

use super::{cite, FindingBuilder, Rule, RuleContext, RuleMeta};
use crate::finding::{Evidence, Finding, Severity};

pub struct WorkloadIdentityDisabled;

static META: RuleMeta = RuleMeta {
    id: "workload-identity-disabled",
    title: "Cluster has no workload identity",
    severity: Severity::Medium,
    layer: "cloud",
    description: "Without workload identity, every workload that needs cloud access uses the \
node identity, so every pod gets the union of all workloads' permissions. EKS: neither IRSA (an \
IAM OIDC provider for the cluster's issuer) nor EKS Pod Identity associations; fires only when \
both were read (IAM and EKS), otherwise the coverage says what is unknown. GKE: no \
`workloadIdentityConfig.workloadPool` on the cluster.",
    remediation: "EKS: create an IAM OIDC provider for the cluster's issuer \
(`eksctl utils associate-iam-oidc-provider --cluster NAME --approve`) or install the EKS Pod \
Identity Agent add-on. GKE: enable Workload Identity \
(`gcloud container clusters update C --workload-pool=PROJECT.svc.id.goog`) and set node pools \
to GKE_METADATA. Then give each workload its own narrowly scoped identity.",
    references: &[
        "https://docs.aws.amazon.com/eks/latest/userguide/iam-roles-for-service-accounts.html",
        "https://docs.aws.amazon.com/eks/latest/userguide/pod-identities.html",
        "https://cloud.google.com/kubernetes-engine/docs/how-to/workload-identity",
    ],
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
            let words = ctx.inventory.provider.vocabulary();
            let message = format!(
                "cluster `{}` has {}: workloads can only use the {}",
                c.name, words.workload_identity_missing, words.node_identity
            );
            let evidence: Vec<Evidence> = ctx
                .inventory
                .provider
                .workload_identity_evidence(wi)
                .into_iter()
                .map(cite)
                .collect();
            out.push(
                FindingBuilder::new(&META, &c.scope, &c.id, message)
                    .region(&c.region)
                    .cluster(&c.name)
                    .evidences(evidence)
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
