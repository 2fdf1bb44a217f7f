//! Whose workloads a workload identity trusts, and where that trust is wider than one service
//! account: IRSA and EKS Pod Identity trust policies, GKE Workload Identity bindings, Azure
//! federated identity credentials. Computed once per inventory for the trust rule.

use crate::exposure::{Exposure, Route};
use crate::policy::{
    ActionElement, Effect, PrincipalElement, PrincipalKind, Principals, Statement,
};
use crate::Policy;
use cloudscan_inventory::{Cited, Identity, Inventory};
use std::collections::BTreeMap;

/// How wide a trust problem is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Breadth {
    /// Admits more workloads than intended under some conditions (a wildcard, a foreign issuer).
    Loose,
    /// Admits every workload of a cluster.
    Open,
}

/// One too-broad trust of an identity.
#[derive(Debug, Clone, PartialEq)]
pub struct TrustIssue {
    /// The identity's id.
    pub identity: String,
    /// What is trusted, as a phrase completing "<identity> ... too broadly"
    /// (``trusts `arn:...` ``, `is bound`).
    pub trusted: String,
    pub breadth: Breadth,
    /// Why, one entry per problem.
    pub why: Vec<String>,
    /// Tells two issues of one identity apart.
    pub discriminator: String,
    pub evidence: Cited,
}

/// Every too-broad trust in the inventory; `exposed` is who can use each identity, by id.
pub fn trust_issues(inv: &Inventory, exposed: &BTreeMap<&str, Vec<Exposure>>) -> Vec<TrustIssue> {
    let mut out = Vec::new();
    for identity in &inv.identities {
        trust_policy_issues(inv, identity, &mut out);
        let exposures = exposed
            .get(identity.id.as_str())
            .map(Vec::as_slice)
            .unwrap_or_default();
        binding_issues(identity, exposures, &mut out);
        federated_issues(identity, &mut out);
    }
    out
}

/// The identity's trust policy document, when its trust is one (AWS roles).
fn trust_policy(identity: &Identity) -> Option<&serde_json::Value> {
    identity
        .trust
        .as_ref()
        .filter(|t| t.is_trust_policy())
        .and_then(|t| t.document.as_deref())
}

/// IRSA and Pod Identity statements of a role's trust policy.
fn trust_policy_issues(inv: &Inventory, identity: &Identity, out: &mut Vec<TrustIssue>) {
    let Some(doc) = trust_policy(identity) else {
        return;
    };
    let Ok(trust) = Policy::from_value(doc) else {
        return;
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
                let Some(breadth) = problems.iter().map(|p| p.0).max() else {
                    continue;
                };
                out.push(TrustIssue {
                    identity: identity.id.clone(),
                    trusted: format!("trusts `{value}`"),
                    breadth,
                    why: problems.into_iter().map(|p| p.1).collect(),
                    discriminator: format!("{index}:{value}"),
                    evidence: Cited::new(
                        "iam:GetAccountAuthorizationDetails RoleDetailList[].AssumeRolePolicyDocument",
                        format!("Statement[{index}]"),
                        statement.clone(),
                    ),
                });
            }
        }
    }
}

/// Conditions on a key (any non-negated operator): (operator text, values).
fn conditions_on<'a>(s: &'a Statement, key: &str) -> Vec<(&'a str, Vec<&'a str>)> {
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

fn irsa_problems(inv: &Inventory, provider: &str, s: &Statement) -> Vec<(Breadth, String)> {
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
            Breadth::Open,
            "no `sub` condition: every service account of the cluster can assume it".to_string(),
        ));
    } else {
        for (op, values) in &subs {
            let wild: Vec<&str> = values
                .iter()
                .copied()
                .filter(|v| op.contains("Like") && (v.contains('*') || v.contains('?')))
                .collect();
            if !wild.is_empty() {
                out.push((
                    Breadth::Loose,
                    format!("`sub` matched with {op} wildcards ({})", wild.join(", ")),
                ));
            }
        }
    }
    if conditions_on(s, &format!("{host}:aud")).is_empty() {
        out.push((
            Breadth::Loose,
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
            Breadth::Loose,
            format!("the issuer `{host}` belongs to no cluster found in {region}"),
        ));
    }
    out
}

fn pod_identity_problems(s: &Statement) -> Vec<(Breadth, String)> {
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
            Breadth::Loose,
            "no condition on the Pod Identity session tags: any Pod Identity association in the account can use it".to_string(),
        )]
    }
}

/// Identities whose workload trust is a role binding rather than a trust policy (GKE Workload
/// Identity): bindings to a whole namespace or pool, or to everyone.
fn binding_issues(identity: &Identity, exposures: &[Exposure], out: &mut Vec<TrustIssue>) {
    if identity.trust.as_ref().is_some_and(|t| t.is_trust_policy()) {
        return; // judged statement by statement above
    }
    let mut why = Vec::new();
    for e in exposures {
        if let Route::Workload {
            namespace,
            service_account,
            ..
        } = &e.route
        {
            let cluster = &e.cluster;
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
        return;
    }
    out.push(TrustIssue {
        identity: identity.id.clone(),
        trusted: "is bound".to_string(),
        breadth: Breadth::Loose,
        evidence: Cited::new(
            "iam serviceAccounts.getIamPolicy bindings (roles/iam.workloadIdentityUser)",
            "members",
            why.clone(),
        ),
        why,
        discriminator: String::new(),
    });
}

/// Federated identity credentials whose issuer is no scanned cluster's, or whose subject is
/// not one Kubernetes service account.
fn federated_issues(identity: &Identity, out: &mut Vec<TrustIssue>) {
    for fic in &identity.federated_credentials {
        let k8s_issuer = fic.issuer.contains(".oic.prod-aks.azure.com")
            || fic.subject.starts_with("system:serviceaccount:");
        if !k8s_issuer {
            continue; // CI systems and other federations are out of scope
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
        out.push(TrustIssue {
            identity: identity.id.clone(),
            trusted: format!("trusts federated credential `{}`", fic.name),
            breadth: Breadth::Loose,
            why,
            discriminator: fic.id.clone(),
            evidence: Cited::new(
                &fic.source,
                "issuer, subject",
                serde_json::json!({"issuer": fic.issuer, "subject": fic.subject, "audiences": fic.audiences}),
            ),
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn trust_issues(inv: &Inventory) -> Vec<TrustIssue> {
        let exposed = inv
            .identities
            .iter()
            .map(|i| (i.id.as_str(), crate::exposure::exposures(inv, &i.used_by)))
            .collect();
        super::trust_issues(inv, &exposed)
    }

    fn inventory(identities: serde_json::Value) -> Inventory {
        serde_json::from_value(serde_json::json!({
            "clusters": [{"id": "c", "name": "c", "region": "us-east-1",
                "workload_identity": {"issuer": "https://oidc.eks.us-east-1.amazonaws.com/id/AB"}}],
            "coverage": [{"scope": "1", "service": "eks", "region": "us-east-1", "status": "complete"}],
            "identities": identities
        }))
        .expect("valid inventory")
    }

    #[test]
    fn an_irsa_trust_without_sub_is_open_and_names_its_statement() {
        let inv = inventory(
            serde_json::json!([{"id": "r", "trust": {"kind": "trust", "document":
            {"Version": "2012-10-17", "Statement": [{"Effect": "Allow",
                "Principal": {"Federated": "arn:aws:iam::1:oidc-provider/oidc.eks.us-east-1.amazonaws.com/id/AB"},
                "Action": "sts:AssumeRoleWithWebIdentity"}]}}}]),
        );
        let issues = trust_issues(&inv);
        assert_eq!(issues.len(), 1);
        assert_eq!(issues[0].breadth, Breadth::Open);
        assert_eq!(issues[0].evidence.field, "Statement[0]");
        assert_eq!(
            issues[0].why.len(),
            2,
            "no sub and no aud: {:?}",
            issues[0].why
        );
    }

    #[test]
    fn wildcard_workload_bindings_count_only_where_no_trust_policy_decides() {
        let used_by = serde_json::json!([{"kind": "workload", "cluster": "c", "namespace": "ci",
            "service_account": "*", "mechanism": "m"}]);
        // A role binding (no trust policy): the wildcard binding is the issue.
        let bound = inventory(serde_json::json!([{"id": "sa", "used_by": used_by,
            "trust": {"kind": "iam-policy", "document": {"bindings": []}}}]));
        let issues = trust_issues(&bound);
        assert_eq!(issues.len(), 1);
        assert_eq!(issues[0].trusted, "is bound");
        // A trust policy: judged statement by statement, not by the derived binding.
        let scoped = inventory(serde_json::json!([{"id": "r", "used_by": used_by,
            "trust": {"kind": "trust", "document": {"Version": "2012-10-17", "Statement": []}}}]));
        assert!(trust_issues(&scoped).is_empty());
    }

    #[test]
    fn federated_credentials_need_a_scanned_issuer_and_one_service_account() {
        let inv = inventory(serde_json::json!([{"id": "mi", "federated_credentials": [
            {"id": "f1", "name": "ok", "issuer": "https://eastus.oic.prod-aks.azure.com/t/u/",
             "subject": "system:serviceaccount:payments:api", "cluster": "c"},
            {"id": "f2", "name": "default", "issuer": "https://eastus.oic.prod-aks.azure.com/t/x/",
             "subject": "system:serviceaccount:payments:default"},
            {"id": "f3", "name": "ci", "issuer": "https://token.actions.githubusercontent.com",
             "subject": "repo:acme/app:ref:refs/heads/main"}]}]));
        let issues = trust_issues(&inv);
        assert_eq!(issues.len(), 1);
        assert_eq!(issues[0].discriminator, "f2");
        assert_eq!(issues[0].why.len(), 2);
    }
}
