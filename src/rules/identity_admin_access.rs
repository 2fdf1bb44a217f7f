//! `identity-admin-access`: an identity used by nodes or workloads can do anything.

use super::identity::{analyzed, IdentityIssue};
use super::{Rule, RuleContext, RuleMeta};
use crate::access::Basis;
use crate::finding::{Evidence, Finding, Severity};

pub struct IdentityAdminAccess;

static META: RuleMeta = RuleMeta {
    id: "identity-admin-access",
    title: "Node or workload identity is an administrator",
    severity: Severity::Critical,
    layer: "cloud",
    description: "An identity that nodes or workloads can use is allowed every action on every \
resource (AWS: AdministratorAccess, `*:*`, or NotAction constructs that amount to it; GCP: \
roles/owner or roles/editor on the project, its folders or organization, capped by the node's \
OAuth scopes when only nodes use it; Azure: a role whose actions hold `*` and whose notActions \
leave the administrative operations, such as Owner or Contributor, at a management group or \
subscription). One compromised pod, or one SSRF bug on a node whose metadata service pods can \
reach, owns the whole account, project or subscription. AWS: decided by evaluating the \
identity's policies (Deny, boundary and conditions included) for a privileged action in each \
major service, on every resource. A grant on a resource group or one resource is not this \
finding (it may be another: escalation, secrets, storage).",
    remediation: "Replace the identity's policies with the few actions the workload needs on the \
resources it needs; give nodes only the EKS worker policies and move workload permissions to IRSA \
or Pod Identity roles.",
    references: &[
        "https://docs.aws.amazon.com/eks/latest/best-practices/identity-and-access-management.html",
        "https://docs.aws.amazon.com/IAM/latest/UserGuide/best-practices.html#grant-least-privilege",
    ],
};

impl Rule for IdentityAdminAccess {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check(&self, ctx: &RuleContext<'_>, out: &mut Vec<Finding>) {
        for (identity, all) in analyzed(ctx) {
            // Users whose session policy keeps them from everything are not listed.
            let Some(facts) = all.narrowed(|p| p.admin.is_some()) else {
                continue;
            };
            let facts = facts.as_ref();
            let Some(admin) = &facts.profile.admin else {
                continue;
            };
            let (what, extra) = match facts.basis {
                Basis::PolicyEvaluation { probes } => (
                    "can perform every action on every resource".to_string(),
                    vec![Evidence::new(
                        "access engine",
                        "allowed on every resource",
                        probes.to_vec(),
                    )],
                ),
                Basis::RoleGrants => {
                    let grants: Vec<String> =
                        admin.granted_by.iter().map(ToString::to_string).collect();
                    (format!("holds {}", grants.join(", ")), Vec::new())
                }
            };
            out.push(
                IdentityIssue {
                    meta: &META,
                    identity,
                    facts,
                    what,
                    reasons: &admin.granted_by,
                    allowed_when: admin.allowed_when.as_deref(),
                    reachable: Severity::Critical,
                    unreachable: Severity::High,
                    discriminator: "",
                    extra,
                }
                .build(),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::finding::Severity;
    use crate::rules::identity::{allow, aws_role_with};
    use crate::rules::test_support::run;
    use serde_json::json;

    #[test]
    fn action_star_on_star_fires_and_one_service_or_a_boundary_does_not() {
        let admin = allow(json!("*"), json!("*"));
        let f = run(&IdentityAdminAccess, &aws_role_with(admin.clone(), None));
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].severity, Severity::Critical);
        // Action narrowed to one service: not administrator.
        assert!(run(
            &IdentityAdminAccess,
            &aws_role_with(allow(json!("s3:*"), json!("*")), None)
        )
        .is_empty());
        // A boundary that caps the grant: not administrator.
        let capped = aws_role_with(admin, Some(allow(json!("s3:GetObject"), json!("*"))));
        assert!(run(&IdentityAdminAccess, &capped).is_empty());
    }
}
