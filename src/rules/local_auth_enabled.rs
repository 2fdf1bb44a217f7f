//! `local-auth-enabled`: the cluster accepts static or legacy credentials.

use super::{FindingBuilder, Rule, RuleContext, RuleMeta};
use crate::finding::{Evidence, Finding, Severity};

pub struct LocalAuthEnabled;

static META: RuleMeta = RuleMeta {
    id: "local-auth-enabled",
    title: "Cluster relies on legacy or local authentication",
    severity: Severity::Medium,
    layer: "cloud",
    description: "On EKS, the `CONFIG_MAP` authentication mode maps IAM principals to Kubernetes \
users only through the `aws-auth` ConfigMap: anyone who can edit one ConfigMap in kube-system \
controls who is cluster-admin, the mapping is invisible to the cloud's IAM tooling and typos lock \
everyone out. Access entries (`API` or `API_AND_CONFIG_MAP`) are managed and audited through the \
EKS API.",
    remediation: "Switch the cluster to `API_AND_CONFIG_MAP`, migrate the `aws-auth` mappings to \
access entries, then to `API` (`aws eks update-cluster-config --access-config authenticationMode=API`).",
    references: &["https://docs.aws.amazon.com/eks/latest/userguide/grant-k8s-access.html"],
};

impl Rule for LocalAuthEnabled {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check(&self, ctx: &RuleContext<'_>, out: &mut Vec<Finding>) {
        for c in &ctx.inventory.clusters {
            if c.auth.local_auth_enabled != Some(true) {
                continue;
            }
            let mut b = FindingBuilder::new(
                &META,
                &c.scope,
                &c.id,
                format!(
                    "cluster `{}` authenticates through legacy/local mechanisms: {}",
                    c.name,
                    c.auth.details.join("; ")
                ),
            )
            .region(&c.region)
            .cluster(&c.name);
            for d in &c.auth.details {
                b = b.evidence(Evidence::new(
                    "cluster authentication",
                    "setting",
                    d.clone(),
                ));
            }
            out.push(b.build());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::test_support::run;
    use cloudscan_inventory::Inventory;

    fn inventory(local: Option<bool>) -> Inventory {
        serde_json::from_value(serde_json::json!({"clusters": [{
            "id": "c", "name": "c", "auth": {"mode": "CONFIG_MAP", "local_auth_enabled": local,
                "details": ["accessConfig.authenticationMode = CONFIG_MAP"]}
        }]}))
        .expect("valid inventory")
    }

    #[test]
    fn fires_only_when_known_enabled() {
        let f = run(&LocalAuthEnabled, &inventory(Some(true)));
        assert_eq!(f.len(), 1);
        assert!(!f[0].evidence.is_empty());
        assert!(run(&LocalAuthEnabled, &inventory(Some(false))).is_empty());
        assert!(run(&LocalAuthEnabled, &inventory(None)).is_empty());
    }
}
