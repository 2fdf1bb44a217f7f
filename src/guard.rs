//! The node-identity guard: inside a Kubernetes pod, a live scan refuses to run on the node's
//! cloud identity when no workload identity is configured for the pod (`--allow-node-identity`
//! overrides).
//!
//! A scanner that silently falls back to the node identity reports what the *node* can read and,
//! worse, needs the node to hold the read-everything permissions it audits. So the deployment
//! binds a workload identity, and this guard makes a missing binding (an annotation forgotten in
//! an overlay) a clear error instead of a scan under the wrong identity.
//!
//! In a pod means `KUBERNETES_SERVICE_HOST` is set (the kubelet sets it in every container).
//! Workload identity is recognised by what its admission webhooks or the manifests put in the
//! environment:
//!
//! | cloud | workload identity | explicit credentials (also accepted) |
//! | --- | --- | --- |
//! | AWS | `AWS_WEB_IDENTITY_TOKEN_FILE` (IRSA), `AWS_CONTAINER_CREDENTIALS_FULL_URI` (EKS Pod Identity) | `AWS_ACCESS_KEY_ID`, `AWS_PROFILE` or `--profile` |
//! | GCP | `CLOUDSCAN_WORKLOAD_IDENTITY` (set by the GKE overlay: GKE's metadata server looks the same with or without Workload Identity, so the environment cannot tell) | `GOOGLE_APPLICATION_CREDENTIALS` |
//! | Azure | `AZURE_FEDERATED_TOKEN_FILE` (Azure Workload Identity) | `AZURE_CLIENT_SECRET` |

use crate::clouds::Provider;
use std::ffi::OsString;

/// The variables that show workload identity (or explicit credentials) for `provider`.
pub fn markers(provider: Provider) -> &'static [&'static str] {
    match provider {
        Provider::Aws => &[
            "AWS_WEB_IDENTITY_TOKEN_FILE",
            "AWS_CONTAINER_CREDENTIALS_FULL_URI",
            "AWS_ACCESS_KEY_ID",
            "AWS_PROFILE",
        ],
        Provider::Gcp => &[
            "CLOUDSCAN_WORKLOAD_IDENTITY",
            "GOOGLE_APPLICATION_CREDENTIALS",
        ],
        Provider::Azure => &["AZURE_FEDERATED_TOKEN_FILE", "AZURE_CLIENT_SECRET"],
    }
}

/// Checks a live scan of `provider`: Ok outside a pod, with a workload-identity marker, with
/// explicit credentials (`explicit`, e.g. `--profile`), or with `allow`; else the error to print
/// (exit code 2). `var` reads the environment.
pub fn check_node_identity(
    provider: Provider,
    explicit: bool,
    allow: bool,
    var: impl Fn(&str) -> Option<OsString>,
) -> Result<(), String> {
    let set = |name: &str| var(name).is_some_and(|v| !v.is_empty());
    if allow || explicit || !set("KUBERNETES_SERVICE_HOST") {
        return Ok(());
    }
    let names = markers(provider);
    if names.iter().any(|n| set(n)) {
        return Ok(());
    }
    let how = match provider {
        Provider::Aws => {
            "annotate the service account with eks.amazonaws.com/role-arn (IRSA) or create an EKS \
             Pod Identity association"
        }
        Provider::Gcp => {
            "annotate the service account with iam.gke.io/gcp-service-account and set \
             CLOUDSCAN_WORKLOAD_IDENTITY=gke in the pod (deploy/overlays/gcp does both)"
        }
        Provider::Azure => {
            "label the pod azure.workload.identity/use=true and annotate the service account with \
             azure.workload.identity/client-id"
        }
    };
    Err(format!(
        "refusing to scan {} from inside a Kubernetes pod without workload identity: the scan \
         would run as the node's cloud identity (none of {} is set). Fix: {how}; or pass \
         --allow-node-identity to scan as the node on purpose",
        provider.as_str(),
        names.join(", ")
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn env(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<OsString> {
        let map: HashMap<String, OsString> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), OsString::from(v)))
            .collect();
        move |name| map.get(name).cloned()
    }

    const POD: (&str, &str) = ("KUBERNETES_SERVICE_HOST", "10.0.0.1");

    #[test]
    fn outside_a_pod_anything_goes() {
        for p in crate::clouds::ALL {
            assert!(check_node_identity(p, false, false, env(&[])).is_ok());
        }
    }

    #[test]
    fn in_a_pod_without_markers_every_cloud_refuses() {
        for p in crate::clouds::ALL {
            let e = check_node_identity(p, false, false, env(&[POD])).err();
            let e = e.unwrap_or_default();
            assert!(e.contains("--allow-node-identity"), "{e}");
            assert!(e.contains(markers(p)[0]), "{e}");
            // An empty marker is not a marker.
            let empty = [POD, (markers(p)[0], "")];
            assert!(check_node_identity(p, false, false, env(&empty)).is_err());
            // The override and explicit credentials pass.
            assert!(check_node_identity(p, false, true, env(&[POD])).is_ok());
            assert!(check_node_identity(p, true, false, env(&[POD])).is_ok());
        }
    }

    #[test]
    fn each_cloud_accepts_its_own_markers_only() {
        let cases = [
            (
                Provider::Aws,
                "AWS_WEB_IDENTITY_TOKEN_FILE",
                "/var/run/secrets/eks.amazonaws.com/serviceaccount/token",
            ),
            (
                Provider::Aws,
                "AWS_CONTAINER_CREDENTIALS_FULL_URI",
                "http://169.254.170.23/v1/credentials",
            ),
            (Provider::Gcp, "CLOUDSCAN_WORKLOAD_IDENTITY", "gke"),
            (
                Provider::Azure,
                "AZURE_FEDERATED_TOKEN_FILE",
                "/var/run/secrets/azure/tokens/azure-identity-token",
            ),
        ];
        for (provider, name, value) in cases {
            assert!(
                check_node_identity(provider, false, false, env(&[POD, (name, value)])).is_ok(),
                "{name}"
            );
            for other in crate::clouds::ALL.into_iter().filter(|p| *p != provider) {
                assert!(
                    check_node_identity(other, false, false, env(&[POD, (name, value)])).is_err(),
                    "{name} must not vouch for {}",
                    other.as_str()
                );
            }
        }
    }
}
