//! `workload-identity-trust-too-broad`: a workload identity's trust lets more workloads in than
//! the one it was made for.

use super::{FindingBuilder, Rule, RuleContext, RuleMeta};
use crate::finding::{Evidence, Finding, Severity};
use cloudscan_access::policy::{
    ActionElement, Effect, PrincipalElement, PrincipalKind, Principals,
};
use cloudscan_access::Policy;
use cloudscan_inventory::{Identity, Inventory, Provider};

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
        let inv = ctx.inventory;
        match inv.provider {
            Provider::Aws => {}
            Provider::Azure => return azure_credentials(inv, out),
            Provider::Gcp => return gcp_bindings(inv, out),
        }
        for identity in &inv.identities {
            let Some(doc) = identity.trust.as_ref().and_then(|t| t.document.as_ref()) else {
                continue;
            };
            let Ok(trust) = Policy::from_value(doc) else {
                continue;
            };
            for (index, s) in trust.statements.iter().enumerate() {
                if s.effect != Effect::Allow {
                    continue;
                }
                let Some(PrincipalElement::Principal(Principals::Map(map))) = &s.principal else {
                    continue;
                };
                let statement = doc
                    .get("Statement")
                    .and_then(|st| st.get(index).or(Some(st)))
                    .cloned()
                    .unwrap_or_default();
                for (kind, values) in map {
                    for value in values {
                        let problems = match kind {
                            PrincipalKind::Federated if value.contains(":oidc-provider/") => {
                                irsa_problems(inv, value, s)
                            }
                            PrincipalKind::Service if value == "pods.eks.amazonaws.com" => {
                                pod_identity_problems(s)
                            }
                            _ => continue,
                        };
                        if problems.is_empty() {
                            continue;
                        }
                        let severity = problems
                            .iter()
                            .map(|p| p.0)
                            .max()
                            .unwrap_or(Severity::Medium);
                        let why: Vec<&str> = problems.iter().map(|p| p.1.as_str()).collect();
                        out.push(finding(
                            identity,
                            index,
                            value,
                            severity,
                            &why,
                            statement.clone(),
                        ));
                    }
                }
            }
        }
    }
}

/// GCP: Workload Identity grants to a whole namespace or pool, or to everyone.
fn gcp_bindings(inv: &Inventory, out: &mut Vec<Finding>) {
    use cloudscan_inventory::UsedBy;
    for identity in &inv.identities {
        let mut why = Vec::new();
        for u in &identity.used_by {
            if let UsedBy::Workload {
                cluster,
                namespace,
                service_account,
                ..
            } = u
            {
                if namespace == "*" || service_account == "*" {
                    why.push(format!(
                        "every service account matching `{namespace}/{service_account}` in cluster `{cluster}` can act as it"
                    ));
                }
            }
        }
        for b in &identity.role_bindings {
            let public = b.member == "allUsers" || b.member == "allAuthenticatedUsers";
            let impersonation = b.role == "roles/iam.workloadIdentityUser"
                || b.role == "roles/iam.serviceAccountTokenCreator";
            if public && impersonation {
                why.push(format!("`{}` holds {} on it", b.member, b.role));
            }
        }
        if why.is_empty() {
            continue;
        }
        out.push(
            FindingBuilder::new(
                &META,
                &identity.scope,
                &identity.id,
                format!(
                    "service account `{}` is bound too broadly: {}",
                    identity.name,
                    why.join("; ")
                ),
            )
            .severity(Severity::Medium)
            .evidence(Evidence::new(
                "iam serviceAccounts.getIamPolicy bindings (roles/iam.workloadIdentityUser)",
                "members",
                why.clone(),
            ))
            .build(),
        );
    }
}

/// Azure: federated identity credentials whose issuer is no scanned cluster's, or whose subject
/// is not one Kubernetes service account.
fn azure_credentials(inv: &Inventory, out: &mut Vec<Finding>) {
    for identity in &inv.identities {
        for fic in &identity.federated_credentials {
            let k8s_issuer = fic.issuer.contains(".oic.prod-aks.azure.com")
                || fic.subject.starts_with("system:serviceaccount:");
            if !k8s_issuer {
                continue; // CI systems and other federations are out of this rule's scope
            }
            let mut why = Vec::new();
            if fic.cluster.is_none() {
                why.push(format!(
                    "the issuer `{}` belongs to no scanned cluster",
                    fic.issuer
                ));
            }
            let parts: Vec<&str> = fic.subject.split(':').collect();
            let exact = parts.len() == 4
                && parts[0] == "system"
                && parts[1] == "serviceaccount"
                && parts[3] != "default";
            if !exact {
                why.push(format!(
                    "the subject `{}` is not one dedicated service account",
                    fic.subject
                ));
            }
            if why.is_empty() {
                continue;
            }
            out.push(
                FindingBuilder::new(
                    &META,
                    &identity.scope,
                    &identity.id,
                    format!(
                        "managed identity `{}` trusts federated credential `{}` too broadly: {}",
                        identity.name,
                        fic.name,
                        why.join("; ")
                    ),
                )
                .severity(Severity::Medium)
                .discriminator(&fic.id)
                .evidence(Evidence::new(
                    &fic.source,
                    "issuer, subject",
                    serde_json::json!({"issuer": fic.issuer, "subject": fic.subject, "audiences": fic.audiences}),
                ))
                .build(),
            );
        }
    }
}

fn finding(
    identity: &Identity,
    index: usize,
    principal: &str,
    severity: Severity,
    why: &[&str],
    statement: serde_json::Value,
) -> Finding {
    FindingBuilder::new(
        &META,
        &identity.scope,
        &identity.id,
        format!(
            "role `{}` trusts `{principal}` too broadly: {}",
            identity.name,
            why.join("; ")
        ),
    )
    .severity(severity)
    .discriminator(&format!("{index}:{principal}"))
    .evidence(Evidence::new(
        "iam:GetAccountAuthorizationDetails RoleDetailList[].AssumeRolePolicyDocument",
        format!("Statement[{index}]"),
        statement,
    ))
    .build()
}

/// Conditions on a key (any non-negated operator): (operator text, values).
fn conditions_on<'a>(
    s: &'a cloudscan_access::policy::Statement,
    key: &str,
) -> Vec<(&'a str, Vec<&'a str>)> {
    s.conditions
        .iter()
        .filter(|c| c.key_lower == key.to_ascii_lowercase() && !c.op_text.contains("Not"))
        .map(|c| {
            (
                c.op_text.as_str(),
                c.values.iter().map(|v| v.text()).collect(),
            )
        })
        .collect()
}

fn irsa_problems(
    inv: &Inventory,
    provider: &str,
    s: &cloudscan_access::policy::Statement,
) -> Vec<(Severity, String)> {
    let mut out = Vec::new();
    let web_identity = match &s.action {
        ActionElement::Action(a) => a
            .iter()
            .any(|p| p.matches("sts", "AssumeRoleWithWebIdentity")),
        ActionElement::NotAction(_) => true,
    };
    if !web_identity {
        return out;
    }
    let host = provider
        .split_once(":oidc-provider/")
        .map(|(_, h)| h)
        .unwrap_or(provider);
    let subs = conditions_on(s, &format!("{host}:sub"));
    if subs.is_empty() {
        out.push((
            Severity::High,
            "no `sub` condition: every service account of the cluster can assume it".to_string(),
        ));
    } else {
        for (op, values) in &subs {
            let wild: Vec<&&str> = values
                .iter()
                .filter(|v| op.contains("Like") && (v.contains('*') || v.contains('?')))
                .collect();
            if !wild.is_empty() {
                out.push((
                    Severity::Medium,
                    format!(
                        "`sub` matched with {op} wildcards ({})",
                        wild.iter()
                            .map(|v| v.to_string())
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                ));
            }
        }
    }
    if conditions_on(s, &format!("{host}:aud")).is_empty() {
        out.push((
            Severity::Medium,
            "no `aud` condition: tokens minted for any audience are accepted".to_string(),
        ));
    }
    // A provider of a region that was scanned completely, whose issuer no cluster has.
    let region = host
        .strip_prefix("oidc.eks.")
        .and_then(|r| r.split('.').next())
        .unwrap_or("");
    let scanned = inv.is_complete("eks", region);
    let known = inv.clusters.iter().any(|c| {
        c.workload_identity
            .issuer
            .as_deref()
            .is_some_and(|i| i.trim_start_matches("https://") == host)
    });
    if scanned && !known {
        out.push((
            Severity::Medium,
            format!("the issuer `{host}` belongs to no cluster found in {region}"),
        ));
    }
    out
}

fn pod_identity_problems(s: &cloudscan_access::policy::Statement) -> Vec<(Severity, String)> {
    const SCOPING: &[&str] = &[
        "aws:requesttag/kubernetes-namespace",
        "aws:requesttag/kubernetes-service-account",
        "aws:requesttag/eks-cluster-arn",
        "aws:requesttag/eks-cluster-name",
    ];
    let scoped = s
        .conditions
        .iter()
        .any(|c| SCOPING.contains(&c.key_lower.as_str()) && !c.op_text.contains("Not"));
    if scoped {
        Vec::new()
    } else {
        vec![(
            Severity::Medium,
            "no condition on the Pod Identity session tags: any Pod Identity association in the account can use it".to_string(),
        )]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::test_support::run;

    fn inventory(trust: serde_json::Value) -> Inventory {
        serde_json::from_value(serde_json::json!({
            "provider": "aws",
            "clusters": [{"id": "c", "name": "c", "region": "us-east-1",
                "workload_identity": {"issuer": "https://oidc.eks.us-east-1.amazonaws.com/id/AB"}}],
            "coverage": [{"scope": "1", "service": "eks", "region": "us-east-1", "status": "complete"}],
            "identities": [{"id": "arn:aws:iam::1:role/r", "name": "r", "scope": "1",
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
