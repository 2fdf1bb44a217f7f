//! `identity-wildcard-grant`: a policy reachable by nodes or workloads allows a wildcard action on
//! every resource.

use super::identity::{analyzed, IdentityIssue};
use super::{Rule, RuleContext, RuleMeta};
use crate::finding::{Evidence, Finding, Severity};

pub struct IdentityWildcardGrant;

static META: RuleMeta = RuleMeta {
    id: "identity-wildcard-grant",
    title: "Wildcard grant in a node or workload policy",
    severity: Severity::Medium,
    layer: "cloud",
    description: "An Allow statement grants `*`, `service:*` or a NotAction list on \
`Resource: \"*\"` in a policy that nodes or workloads can use. Wildcards grant every action the \
service adds in the future and hide what the workload really needs.",
    remediation: "List the actions the workload calls (CloudTrail or IAM Access Analyzer policy \
generation shows them) and the resources it calls them on.",
    references: &[
        "https://docs.aws.amazon.com/IAM/latest/UserGuide/access-analyzer-policy-generation.html",
    ],
};

impl Rule for IdentityWildcardGrant {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check(&self, ctx: &RuleContext<'_>, out: &mut Vec<Finding>) {
        for (identity, facts) in analyzed(ctx) {
            for g in &facts.profile.wildcard_grants {
                let statement = format!(
                    "{} statement {}{}",
                    g.policy,
                    g.statement,
                    g.sid
                        .as_deref()
                        .map(|s| format!(" ({s})"))
                        .unwrap_or_default()
                );
                out.push(
                    IdentityIssue {
                        meta: &META,
                        identity,
                        facts,
                        what: format!(
                            "is granted the wildcard {} by {statement}",
                            g.actions.join(", ")
                        ),
                        reasons: &[],
                        allowed_when: None,
                        reachable: Severity::Medium,
                        unreachable: Severity::Low,
                        discriminator: &statement,
                        extra: vec![
                            Evidence::new(
                                &g.policy,
                                format!("Statement[{}]", g.statement),
                                serde_json::json!({"policy": g.policy, "statement": g.statement, "sid": g.sid}),
                            ),
                            Evidence::new(&g.policy, "Action", g.actions.clone()),
                        ],
                    }
                    .build(),
                );
            }
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
    fn service_star_on_star_fires_and_a_listed_action_does_not() {
        let wild = allow(json!("s3:*"), json!("*"));
        assert!(!run(&IdentityWildcardGrant, &aws_role_with(wild, None)).is_empty());
        let listed = allow(json!("s3:GetObject"), json!("*"));
        assert!(run(&IdentityWildcardGrant, &aws_role_with(listed, None)).is_empty());
        let not_action = json!({"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "NotAction": "iam:*", "Resource": "*"}]});
        assert!(!run(&IdentityWildcardGrant, &aws_role_with(not_action, None)).is_empty());
    }
}
