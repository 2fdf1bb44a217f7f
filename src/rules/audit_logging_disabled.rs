//! `audit-logging-disabled`: the control plane does not ship Kubernetes audit logs.

use super::{FindingBuilder, Rule, RuleContext, RuleMeta};
use crate::finding::{Evidence, Finding, Severity};

pub struct AuditLoggingDisabled;

static META: RuleMeta = RuleMeta {
    id: "audit-logging-disabled",
    title: "Kubernetes audit logs not collected",
    severity: Severity::Medium,
    layer: "cloud",
    description: "Without the control plane's audit log you cannot tell who read which secret, \
who created a privileged pod or when a stolen token was used; incident response starts blind. \
Every logging entry of the cluster is read (EKS returns enabled and disabled types as separate \
entries), not only the first.",
    remediation: "Enable the `audit` (and `authenticator`) control-plane log types \
(`aws eks update-cluster-config --logging '{\"clusterLogging\":[{\"types\":[\"audit\",\"authenticator\"],\"enabled\":true}]}'`) \
and keep the CloudWatch log group for your retention period.",
    references: &["https://docs.aws.amazon.com/eks/latest/userguide/control-plane-logs.html"],
};

impl Rule for AuditLoggingDisabled {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check(&self, ctx: &RuleContext<'_>, out: &mut Vec<Finding>) {
        for c in &ctx.inventory.clusters {
            let log = &c.audit_logging;
            if log.audit_enabled != Some(false) {
                continue;
            }
            let on = if log.enabled_types.is_empty() {
                "no control-plane log type is enabled".to_string()
            } else {
                format!("only {} are enabled", log.enabled_types.join(", "))
            };
            out.push(
                FindingBuilder::new(
                    &META,
                    &c.scope,
                    &c.id,
                    format!(
                        "cluster `{}` does not record Kubernetes audit logs ({on})",
                        c.name
                    ),
                )
                .region(&c.region)
                .cluster(&c.name)
                .evidence(Evidence::new(
                    &log.source,
                    "enabled types",
                    log.enabled_types.clone(),
                ))
                .evidence(Evidence::new(
                    &log.source,
                    "disabled types",
                    log.disabled_types.clone(),
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

    fn inventory(audit: Option<bool>, enabled: &[&str]) -> Inventory {
        serde_json::from_value(serde_json::json!({"clusters": [{
            "id": "c", "name": "c", "audit_logging": {"audit_enabled": audit, "enabled_types": enabled}
        }]}))
        .expect("valid inventory")
    }

    #[test]
    fn fires_only_when_audit_is_known_off() {
        let f = run(&AuditLoggingDisabled, &inventory(Some(false), &["api"]));
        assert_eq!(f.len(), 1);
        assert!(f[0].message.contains("only api are enabled"));
        assert!(run(&AuditLoggingDisabled, &inventory(Some(true), &["audit"])).is_empty());
        assert!(run(&AuditLoggingDisabled, &inventory(None, &[])).is_empty());
    }
}
