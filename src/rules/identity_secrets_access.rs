//! `identity-secrets-access`: an identity used by nodes or workloads can read secrets scope-wide.

use super::identity::{analyzed, IdentityIssue};
use super::{Rule, RuleContext, RuleMeta};
use crate::finding::{Evidence, Finding, Severity};
use cloudscan_access::capability::{AccessProfile, HeldCapability, Reach};

pub struct IdentitySecretsAccess;

static META: RuleMeta = RuleMeta {
    id: "identity-secrets-access",
    title: "Node or workload identity can read secrets account-wide",
    severity: Severity::High,
    layer: "cloud",
    description: "An identity that nodes or workloads can use may read every secret of its kind: \
`secretsmanager:GetSecretValue` on every secret, `ssm:GetParameter*` on every parameter, or \
`kms:Decrypt` on every key (a key policy the scan read must let the identity or its account use \
the key; keys whose policy was not read are assumed to have the default key policy, which lets \
IAM policies grant access). Organization SCPs and RCPs are applied when the scan read them. \
GCP: `secretmanager.versions.access` bound on the project. Only grants on all resources fire; \
a grant scoped to some secrets is least privilege working.",
    remediation: "Scope secret reads to the workload's own secrets by ARN prefix \
(`arn:aws:secretsmanager:REGION:ACCOUNT:secret:payments/*`) and give each workload its own role.",
    references: &[
        "https://docs.aws.amazon.com/secretsmanager/latest/userguide/auth-and-access_examples.html",
    ],
};

impl Rule for IdentitySecretsAccess {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check(&self, ctx: &RuleContext<'_>, out: &mut Vec<Finding>) {
        for (identity, all) in analyzed(ctx) {
            // Users that can do everything are reported as identity-admin-access; users whose
            // session policy keeps them from reading secrets are not listed.
            let Some(facts) = all.narrowed(|p| p.admin.is_none() && secrets_read(p).is_some())
            else {
                continue;
            };
            let facts = facts.as_ref();
            let Some(cap) = facts
                .profile
                .capabilities
                .iter()
                .find(|c| c.id == "secrets-read" && c.reach == Reach::All)
            else {
                continue;
            };
            out.push(
                IdentityIssue {
                    meta: &META,
                    identity,
                    facts,
                    what: format!(
                        "can read secrets on every resource of their kind ({})",
                        cap.actions.join(", ")
                    ),
                    reasons: &cap.granted_by,
                    allowed_when: cap.allowed_when.as_deref(),
                    reachable: Severity::High,
                    unreachable: Severity::Medium,
                    discriminator: "",
                    extra: vec![Evidence::new(
                        "access engine",
                        "actions",
                        cap.actions.clone(),
                    )],
                }
                .build(),
            );
        }
    }
}

/// The secrets-read capability on every resource, when the profile holds it.
fn secrets_read(p: &AccessProfile) -> Option<&HeldCapability> {
    p.capabilities
        .iter()
        .find(|c| c.id == "secrets-read" && c.reach == Reach::All)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::identity::{allow, aws_role_with};
    use crate::rules::test_support::run;
    use serde_json::json;

    #[test]
    fn get_secret_value_on_every_secret_fires_and_a_prefix_does_not() {
        let all = allow(json!("secretsmanager:GetSecretValue"), json!("*"));
        assert_eq!(
            run(&IdentitySecretsAccess, &aws_role_with(all, None)).len(),
            1
        );
        let scoped = allow(
            json!("secretsmanager:GetSecretValue"),
            json!("arn:aws:secretsmanager:us-east-1:111122223333:secret:payments/*"),
        );
        assert!(run(&IdentitySecretsAccess, &aws_role_with(scoped, None)).is_empty());
    }
}
