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
