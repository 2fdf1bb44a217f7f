//! `workload-identity-trust-too-broad`: a workload identity's trust lets more workloads in than
//! the one it was made for.

use super::{cite, FindingBuilder, Rule, RuleContext, RuleMeta};
use crate::finding::{Finding, Severity};
use cloudscan_access::trust::Breadth;

pub struct WorkloadIdentityTrustTooBroad;

static META: RuleMeta = RuleMeta {
    id: "workload-identity-trust-too-broad",
    title: "Workload identity trust is not scoped to one service account",
    severity: Severity::High,
    layer: "cloud",
    description: "IRSA: a role trusting a cluster's OIDC provider without a `sub` condition can \
be assumed by any service account of that cluster (any pod with a projected token); a `StringLike` \
wildcard in `sub` admits every matching namespace or account; a missing `aud` condition accepts \
tokens minted for other audiences; a provider whose issuer belongs to no scanned cluster is \
trust in a cluster nobody audits. EKS Pod Identity: a role trusting `pods.eks.amazonaws.com` \
without conditions on the session tags (`aws:RequestTag/kubernetes-namespace`, \
`kubernetes-service-account`, `eks-cluster-arn` or `eks-cluster-name`) can be bound by any Pod \
Identity association in the account. GKE: `roles/iam.workloadIdentityUser` granted to a whole \
namespace (principalSet), a wildcard, `allUsers` or `allAuthenticatedUsers`. AKS: a federated \
credential whose issuer is no scanned cluster's, or whose subject is not one dedicated service \
account.",
    remediation: "IRSA: add `StringEquals` conditions on `ISSUER:sub` = \
`system:serviceaccount:NAMESPACE:NAME` and `ISSUER:aud` = `sts.amazonaws.com`. Pod Identity: add \
`StringEquals` conditions on `aws:RequestTag/eks-cluster-arn`, `kubernetes-namespace` and \
`kubernetes-service-account`. Delete OIDC providers of clusters that no longer exist.",
    references: &[
        "https://docs.aws.amazon.com/eks/latest/userguide/associate-service-account-role.html",
        "https://docs.aws.amazon.com/eks/latest/userguide/pod-id-abac.html",
    ],
};

impl Rule for WorkloadIdentityTrustTooBroad {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check(&self, ctx: &RuleContext<'_>, out: &mut Vec<Finding>) {
        for issue in &ctx.access.trust {
            let Some(identity) = ctx.inventory.identity(&issue.identity) else {
                continue;
            };
            out.push(
                FindingBuilder::new(
                    &META,
                    &identity.scope,
                    &identity.id,
                    format!(
                        "{} `{}` {} too broadly: {}",
                        identity.noun(),
                        identity.name,
                        issue.trusted,
                        issue.why.join("; ")
                    ),
                )
                .severity(match issue.breadth {
                    Breadth::Open => Severity::High,
                    Breadth::Loose => Severity::Medium,
                })
                .discriminator(&issue.discriminator)
                .evidence(cite(issue.evidence.clone()))
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

    fn inventory(trust: serde_json::Value) -> Inventory {
        serde_json::from_value(serde_json::json!({
            "provider": "aws",
            "clusters": [{"id": "c", "name": "c", "region": "us-east-1",
                "workload_identity": {"issuer": "https://oidc.eks.us-east-1.amazonaws.com/id/AB"}}],
            "coverage": [{"scope": "1", "service": "eks", "region": "us-east-1", "status": "complete"}],
            "identities": [{"id": "arn:aws:iam::1:role/r", "name": "r", "scope": "1", "kind": "aws-role",
                "trust": {"kind": "trust", "name": "trust", "document": trust}}]
        }))
        .expect("valid inventory")
    }

    fn irsa(condition: serde_json::Value, id: &str) -> serde_json::Value {
        serde_json::json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow",
            "Principal": {"Federated": format!("arn:aws:iam::1:oidc-provider/oidc.eks.us-east-1.amazonaws.com/id/{id}")},
            "Action": "sts:AssumeRoleWithWebIdentity", "Condition": condition}]})
    }

    #[test]
    fn scoped_irsa_trust_is_fine() {
        let trust = irsa(
            serde_json::json!({"StringEquals": {
                "oidc.eks.us-east-1.amazonaws.com/id/AB:sub": "system:serviceaccount:a:b",
                "oidc.eks.us-east-1.amazonaws.com/id/AB:aud": "sts.amazonaws.com"}}),
            "AB",
        );
        assert!(run(&WorkloadIdentityTrustTooBroad, &inventory(trust)).is_empty());
    }

    #[test]
    fn missing_sub_wildcards_missing_aud_and_foreign_issuers_fire() {
        let f = run(
            &WorkloadIdentityTrustTooBroad,
            &inventory(irsa(serde_json::json!({}), "AB")),
        );
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].severity, Severity::High);
        assert!(f[0].message.contains("no `sub`") && f[0].message.contains("no `aud`"));

        let wild = irsa(
            serde_json::json!({"StringLike": {
                "oidc.eks.us-east-1.amazonaws.com/id/AB:sub": "system:serviceaccount:*:*"},
                "StringEquals": {"oidc.eks.us-east-1.amazonaws.com/id/AB:aud": "sts.amazonaws.com"}}),
            "AB",
        );
        let f = run(&WorkloadIdentityTrustTooBroad, &inventory(wild));
        assert_eq!(f[0].severity, Severity::Medium);
        assert!(f[0].message.contains("wildcards"));

        let foreign = irsa(
            serde_json::json!({"StringEquals": {
                "oidc.eks.us-east-1.amazonaws.com/id/ZZ:sub": "system:serviceaccount:a:b",
                "oidc.eks.us-east-1.amazonaws.com/id/ZZ:aud": "sts.amazonaws.com"}}),
            "ZZ",
        );
        let f = run(&WorkloadIdentityTrustTooBroad, &inventory(foreign));
        assert!(f[0].message.contains("belongs to no cluster"));
    }

    #[test]
    fn pod_identity_trust_needs_session_tag_conditions() {
        let open = serde_json::json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow",
            "Principal": {"Service": "pods.eks.amazonaws.com"},
            "Action": ["sts:AssumeRole", "sts:TagSession"]}]});
        assert_eq!(
            run(&WorkloadIdentityTrustTooBroad, &inventory(open)).len(),
            1
        );
        let scoped = serde_json::json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow",
            "Principal": {"Service": "pods.eks.amazonaws.com"},
            "Action": ["sts:AssumeRole", "sts:TagSession"],
            "Condition": {"StringEquals": {"aws:RequestTag/kubernetes-namespace": "payments"}}}]});
        assert!(run(&WorkloadIdentityTrustTooBroad, &inventory(scoped)).is_empty());
    }
}
