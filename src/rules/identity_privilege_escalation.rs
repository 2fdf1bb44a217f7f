//! `identity-privilege-escalation`: an identity used by nodes or workloads holds a known
//! privilege-escalation path.

use super::identity::{analyzed, IdentityIssue};
use super::{Rule, RuleContext, RuleMeta};
use crate::finding::{Evidence, Finding, Severity};
use cloudscan_access::Granted;

pub struct IdentityPrivilegeEscalation;

static META: RuleMeta = RuleMeta {
    id: "identity-privilege-escalation",
    title: "Node or workload identity can escalate its privileges",
    severity: Severity::High,
    layer: "cloud",
    description: "An identity that nodes or workloads can use holds every permission of a \
documented privilege-escalation technique (policies/aws/capabilities.json: 47 paths from Rhino \
Security Labs, PMapper, pathfinding.cloud and EKS specifics), e.g. `iam:PassRole` with \
`ec2:RunInstances`, `iam:CreatePolicyVersion`, `iam:AttachRolePolicy`. Each step is decided by \
policy evaluation on at least one resource of its kind.",
    remediation: "Remove the IAM write and PassRole permissions from node and workload roles; \
if a workload really needs to pass a role, scope `iam:PassRole` to that role's ARN with an \
`iam:PassedToService` condition.",
    references: &[
        "https://rhinosecuritylabs.com/aws/aws-privilege-escalation-methods-mitigation/",
        "https://docs.aws.amazon.com/IAM/latest/UserGuide/id_roles_use_passrole.html",
    ],
};

impl Rule for IdentityPrivilegeEscalation {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check(&self, ctx: &RuleContext<'_>, out: &mut Vec<Finding>) {
        for (identity, all) in analyzed(ctx) {
            let Some(facts) = all.narrowed(|p| p.admin.is_none() && !p.escalation_paths.is_empty())
            else {
                continue;
            };
            let facts = facts.as_ref();
            let paths = &facts.profile.escalation_paths;
            let mut reasons: Vec<Granted> = Vec::new();
            for p in paths {
                for g in &p.granted_by {
                    for step in &g.allows {
                        Granted::credit(&mut reasons, g.by.clone(), step);
                    }
                }
            }
            let names: Vec<String> = paths
                .iter()
                .map(|p| format!("{} ({})", p.id, p.steps.join(" + ")))
                .collect();
            out.push(
                IdentityIssue {
                    meta: &META,
                    identity,
                    facts,
                    what: format!(
                        "holds {} privilege-escalation path(s): {}",
                        paths.len(),
                        names.join("; ")
                    ),
                    reasons: &reasons,
                    allowed_when: paths.iter().find_map(|p| p.allowed_when.as_deref()),
                    reachable: Severity::High,
                    unreachable: Severity::Medium,
                    discriminator: "",
                    extra: vec![Evidence::new("access engine", "open paths", names.clone())],
                }
                .build(),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::identity::{allow, aws_role_with};
    use crate::rules::test_support::run;
    use serde_json::json;

    #[test]
    fn pass_role_with_run_instances_fires_and_pass_role_alone_does_not() {
        let both = allow(json!(["iam:PassRole", "ec2:RunInstances"]), json!("*"));
        assert!(!run(&IdentityPrivilegeEscalation, &aws_role_with(both, None)).is_empty());
        let one = allow(json!(["iam:PassRole"]), json!("*"));
        assert!(run(&IdentityPrivilegeEscalation, &aws_role_with(one, None)).is_empty());
        let attach = allow(json!("iam:AttachRolePolicy"), json!("*"));
        assert!(!run(&IdentityPrivilegeEscalation, &aws_role_with(attach, None)).is_empty());
        let read = allow(json!("iam:GetRole"), json!("*"));
        assert!(run(&IdentityPrivilegeEscalation, &aws_role_with(read, None)).is_empty());
    }
}
