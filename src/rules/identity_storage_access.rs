//! `identity-storage-access`: an identity used by nodes or workloads can read or write every bucket.

use super::identity::{analyzed, IdentityIssue};
use super::{Rule, RuleContext, RuleMeta};
use crate::finding::{Evidence, Finding, Severity};
use cloudscan_access::capability::Reach;

pub struct IdentityStorageAccess;

static META: RuleMeta = RuleMeta {
    id: "identity-storage-access",
    title: "Node or workload identity can read or write every bucket",
    severity: Severity::High,
    layer: "cloud",
    description: "An identity that nodes or workloads can use may read (`s3:GetObject`) or write \
(`s3:PutObject`, `s3:DeleteObject`) objects in every bucket of the account: backups, logs, \
Terraform state, data lakes. Decided by policy evaluation on `arn:aws:s3:::*/*`, so `s3:*`, \
`s3:Get*`, `*` and NotAction grants all count and Deny statements are honoured. Bucket policies \
and S3 Block Public Access are not read yet: a bucket policy can still deny. GCP: \
`storage.objects.*` permissions bound on the project.",
    remediation: "Scope object access to the buckets and prefixes the workload needs \
(`arn:aws:s3:::app-bucket/app/*`), and take S3 permissions off node roles.",
    references: &[
        "https://docs.aws.amazon.com/AmazonS3/latest/userguide/security-best-practices.html",
    ],
};

impl Rule for IdentityStorageAccess {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check(&self, ctx: &RuleContext<'_>, out: &mut Vec<Finding>) {
        for (identity, all) in analyzed(ctx) {
            for id in ["object-read", "object-write"] {
                let everywhere = |p: &cloudscan_access::capability::AccessProfile| {
                    p.capabilities
                        .iter()
                        .any(|c| c.id == id && c.reach == Reach::All)
                };
                // Users that can do everything are reported as identity-admin-access; users
                // whose session policy keeps them from it are not listed.
                let Some(facts) = all.narrowed(|p| p.admin.is_none() && everywhere(p)) else {
                    continue;
                };
                let facts = facts.as_ref();
                let Some(cap) = facts
                    .profile
                    .capabilities
                    .iter()
                    .find(|c| c.id == id && c.reach == Reach::All)
                else {
                    continue;
                };
                let verb = if cap.id == "object-read" {
                    "read"
                } else {
                    "write"
                };
                out.push(
                    IdentityIssue {
                        meta: &META,
                        identity,
                        facts,
                        what: format!(
                            "can {verb} objects in every bucket ({})",
                            cap.actions.join(", ")
                        ),
                        reasons: &cap.granted_by,
                        allowed_when: cap.allowed_when.as_deref(),
                        reachable: Severity::High,
                        unreachable: Severity::Medium,
                        discriminator: &cap.id,
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
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::identity::{allow, aws_role_with};
    use crate::rules::test_support::run;
    use serde_json::json;

    #[test]
    fn get_object_on_every_bucket_fires_and_one_bucket_does_not() {
        let all = allow(json!("s3:GetObject"), json!("arn:aws:s3:::*/*"));
        assert_eq!(
            run(&IdentityStorageAccess, &aws_role_with(all, None)).len(),
            1
        );
        let one = allow(json!("s3:GetObject"), json!("arn:aws:s3:::app-bucket/*"));
        assert!(run(&IdentityStorageAccess, &aws_role_with(one, None)).is_empty());
        // A Deny on every object flips it back.
        let denied = json!({"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Action": "s3:*", "Resource": "*"},
            {"Effect": "Deny", "Action": "s3:*", "Resource": "arn:aws:s3:::*/*"}]});
        assert!(run(&IdentityStorageAccess, &aws_role_with(denied, None)).is_empty());
    }
}
