//! `workload-identity-binding-mismatch`: the Cluster side and the Cloud side of a workload
//! identity disagree. A service account's annotation names an identity whose trust does not
//! admit it (a broken binding), or a trust admits a pattern of service accounts wider than the
//! ones the cluster shows using it. Needs the cluster's API (`--kubeconfig`, `--kube-replay`).

use super::{FindingBuilder, Rule, RuleContext, RuleMeta};
use crate::finding::{Evidence, Finding, Severity};
use cloudscan_access::exposure::cluster::{broader_than_used, broken_bindings, describe_workloads};

pub struct WorkloadIdentityBindingMismatch;

static META: RuleMeta = RuleMeta {
    id: "workload-identity-binding-mismatch",
    title: "Workload identity annotation and cloud trust disagree",
    severity: Severity::Medium,
    layer: "cloud",
    description: "Joins the cluster's ServiceAccounts to the cloud's trust. A broken binding \
(medium): a ServiceAccount annotated `eks.amazonaws.com/role-arn`, `iam.gke.io/gcp-service-account` \
or `azure.workload.identity/client-id` names an identity whose trust does not admit that service \
account of that cluster (no IRSA trust statement for its subject, no \
roles/iam.workloadIdentityUser grant to its Workload Identity principal, no federated credential \
for its issuer and subject), or an identity that does not exist in a scanned scope whose \
identities were read completely. Its pods cannot get the identity; the usual quick fix, widening \
the trust, opens the identity to more workloads than the one meant. Trust broader than use \
(low): a trust admits a pattern of service accounts (`ns/*`) while the cluster shows only some \
annotated service accounts using it; the finding names them, so the trust can be narrowed to \
exactly those (the width itself is reported by `workload-identity-trust-too-broad`). Only what \
the scan proves is reported: an identity outside the scanned scopes, or a trust that was not \
read, gives no finding.",
    remediation: "Broken binding: correct the annotation to the identity meant for the \
workload, or add exactly this service account to that identity's trust (IRSA: \
`StringEquals ISSUER:sub = system:serviceaccount:NS:NAME`; GKE: grant roles/iam.workloadIdentityUser \
to `serviceAccount:PROJECT.svc.id.goog[NS/NAME]`; AKS: a federated credential for the cluster's \
issuer with subject `system:serviceaccount:NS:NAME`). Trust broader than use: replace the \
pattern with the service accounts listed.",
    references: &[
        "https://docs.aws.amazon.com/eks/latest/userguide/associate-service-account-role.html",
        "https://cloud.google.com/kubernetes-engine/docs/how-to/workload-identity",
        "https://azure.github.io/azure-workload-identity/docs/topics/service-account-labels-and-annotations.html",
    ],
};

impl Rule for WorkloadIdentityBindingMismatch {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check(&self, ctx: &RuleContext<'_>, out: &mut Vec<Finding>) {
        for b in broken_bindings(ctx.inventory) {
            let cluster_id = ctx
                .inventory
                .clusters
                .iter()
                .find(|c| c.name == b.cluster && c.scope == b.scope)
                .map(|c| c.id.clone())
                .unwrap_or_else(|| b.cluster.clone());
            let resource = format!(
                "{cluster_id}/namespaces/{}/serviceaccounts/{}",
                b.namespace, b.service_account
            );
            let pods: usize = b.pods.iter().map(|w| w.pods).sum();
            let users = if pods == 0 {
                "no running pod uses it".to_string()
            } else {
                format!(
                    "{pods} pod(s) of {} run under it",
                    describe_workloads(&b.pods)
                )
            };
            out.push(
                FindingBuilder::new(
                    &META,
                    &b.scope,
                    &resource,
                    format!(
                        "service account `{}/{}` in cluster `{}` is annotated `{}: {}`, but {}; {users}, and they cannot get that identity",
                        b.namespace, b.service_account, b.cluster, b.annotation, b.value, b.why
                    ),
                )
                .region(&b.region)
                .cluster(&b.cluster)
                .discriminator(&b.annotation)
                .evidence(Evidence::new(
                    format!(
                        "kubernetes context `{}` serviceaccount {}/{}",
                        b.context, b.namespace, b.service_account
                    ),
                    format!("metadata.annotations[{}]", b.annotation),
                    b.value.clone(),
                ))
                .evidence(Evidence::new(
                    "cloud trust",
                    "admits this service account",
                    serde_json::json!({"identity": b.identity, "admitted": false, "why": b.why}),
                ))
                .evidence(Evidence::new(
                    format!("kubernetes context `{}` pods", b.context),
                    "spec.serviceAccountName",
                    b.pods
                        .iter()
                        .map(|w| format!("{} ({} pod(s))", w.workload, w.pods))
                        .collect::<Vec<_>>(),
                ))
                .build(),
            );
        }
        for t in broader_than_used(ctx.inventory) {
            let used = if t.used_by.is_empty() {
                "no service account of the cluster is annotated with it".to_string()
            } else {
                format!("only {} use it (annotated)", t.used_by.join(", "))
            };
            let name = ctx
                .inventory
                .identity(&t.identity)
                .map(|i| format!("{} `{}`", i.noun(), i.name))
                .unwrap_or_else(|| format!("`{}`", t.identity));
            out.push(
                FindingBuilder::new(
                    &META,
                    &t.scope,
                    &t.identity,
                    format!(
                        "{name} admits every service account matching `{}` in cluster `{}` ({}), but {used}; its trust is broader than its use",
                        t.admitted, t.cluster, t.mechanism
                    ),
                )
                .severity(Severity::Low)
                .region(&t.region)
                .cluster(&t.cluster)
                .discriminator(&format!("{}:{}", t.cluster, t.admitted))
                .evidence(Evidence::new(
                    "cloud trust (workload identity binding)",
                    "admits",
                    t.admitted.clone(),
                ))
                .evidence(Evidence::new(
                    format!("kubernetes context `{}` serviceaccounts", t.context),
                    "annotated with this identity",
                    t.used_by.clone(),
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

    fn inventory(sa: &str, role: &str) -> Inventory {
        serde_json::from_value(serde_json::json!({
            "provider": "aws",
            "scopes": [{"id": "1"}],
            "coverage": [{"scope": "1", "service": "iam", "region": "global", "status": "complete"}],
            "clusters": [{"id": "arn:c", "name": "c", "scope": "1", "region": "r",
                "workload_identity": {"bindings": [
                    {"namespace": "a", "service_account": "b", "identity": "arn:aws:iam::1:role/app", "mechanism": "irsa"},
                    {"namespace": "ci", "service_account": "*", "identity": "arn:aws:iam::1:role/ci", "mechanism": "irsa"}]}}],
            "identities": [
                {"id": "arn:aws:iam::1:role/app", "name": "app", "kind": "aws-role", "scope": "1",
                 "trust": {"kind": "trust", "name": "trust", "document": {"Version": "2012-10-17", "Statement": []}}},
                {"id": "arn:aws:iam::1:role/ci", "name": "ci", "kind": "aws-role", "scope": "1"}],
            "kubernetes": [{"cluster": "c", "cluster_id": "arn:c", "context": "ctx",
                "complete": ["serviceaccounts", "pods"],
                "service_accounts": [{"namespace": "a", "name": sa,
                    "annotations": {"eks.amazonaws.com/role-arn": role}}]}]
        }))
        .expect("valid inventory")
    }

    #[test]
    fn broken_bindings_are_medium_and_admitted_ones_are_silent() {
        let f = run(
            &WorkloadIdentityBindingMismatch,
            &inventory("x", "arn:aws:iam::1:role/app"),
        );
        let broken: Vec<&Finding> = f
            .iter()
            .filter(|f| f.severity == Severity::Medium)
            .collect();
        assert_eq!(broken.len(), 1, "{f:?}");
        assert!(broken[0].message.contains("`a/x`"));
        // The admitted service account: no broken binding.
        let f = run(
            &WorkloadIdentityBindingMismatch,
            &inventory("b", "arn:aws:iam::1:role/app"),
        );
        assert!(f.iter().all(|f| f.severity != Severity::Medium), "{f:?}");
        // A role that does not exist in the completely read account: broken.
        let f = run(
            &WorkloadIdentityBindingMismatch,
            &inventory("b", "arn:aws:iam::1:role/gone"),
        );
        assert!(f
            .iter()
            .any(|f| f.severity == Severity::Medium && f.message.contains("does not exist")));
        // A role of an account that was not scanned: unknown, no finding.
        let f = run(
            &WorkloadIdentityBindingMismatch,
            &inventory("b", "arn:aws:iam::2:role/x"),
        );
        assert!(f.iter().all(|f| f.severity != Severity::Medium), "{f:?}");
        // ci/* is trusted while no service account of the cluster uses it: low.
        assert!(f
            .iter()
            .any(|f| f.severity == Severity::Low && f.message.contains("`ci/*`")));
    }
}
