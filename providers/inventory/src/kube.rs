//! What cloudscan reads from a cluster's own Kubernetes API (`providers/kube`), joined to one
//! scanned cloud cluster: the service accounts and their workload-identity annotations, the pods
//! (where they run, under which service account, whether on the host network, which workload
//! owns them), the nodes and their node pools, the network policies, and the `aws-auth`
//! mappings. Only the fields the access stage reads are kept; Secrets are never read.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// One cluster as read through a kubeconfig context (or in-cluster configuration).
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(default)]
pub struct KubeCluster {
    /// The scanned cloud cluster this is (its `Cluster::name`).
    pub cluster: String,
    /// Its `Cluster::id` (ARN, self link, resource id).
    pub cluster_id: String,
    /// The kubeconfig context read (`in-cluster` inside a pod).
    pub context: String,
    /// The API server URL of the context.
    pub server: String,
    /// How the context was matched to the cluster: `endpoint` or `named`.
    pub matched_by: String,
    pub service_accounts: Vec<KubeServiceAccount>,
    pub pods: Vec<KubePod>,
    pub nodes: Vec<KubeNode>,
    pub network_policies: Vec<KubeNetworkPolicy>,
    /// `kube-system/aws-auth` (EKS); None when not read or absent (`aws_auth_state` says which).
    pub aws_auth: Option<AwsAuth>,
    /// `read`, `absent` (the API said 404), `not-read` (not an EKS cluster, or the read failed:
    /// coverage says why).
    pub aws_auth_state: String,
    /// Which kinds were listed completely (`serviceaccounts`, `pods`, `nodes`,
    /// `networkpolicies`); a kind not listed here is not known, and nothing is concluded from
    /// its absence.
    pub complete: Vec<String>,
}

impl KubeCluster {
    /// Whether `kind` was listed completely.
    pub fn is_complete(&self, kind: &str) -> bool {
        self.complete.iter().any(|k| k == kind)
    }

    /// Where the facts come from, for evidence (`kubernetes context \`ctx\``).
    pub fn source(&self, what: &str) -> String {
        format!("kubernetes context `{}` {what}", self.context)
    }
}

/// A Kubernetes ServiceAccount (only its identity-related annotations are kept).
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(default)]
pub struct KubeServiceAccount {
    pub namespace: String,
    pub name: String,
    /// Workload-identity annotations (`eks.amazonaws.com/role-arn`,
    /// `iam.gke.io/gcp-service-account`, `azure.workload.identity/client-id`).
    pub annotations: BTreeMap<String, String>,
}

/// The workload that owns a pod.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq, PartialOrd, Ord)]
#[serde(default)]
pub struct KubeWorkload {
    /// `Deployment` (inferred from a ReplicaSet owner), `ReplicaSet`, `DaemonSet`,
    /// `StatefulSet`, `Job`, `Node` (static pods) or `Pod` (no owner).
    pub kind: String,
    pub namespace: String,
    pub name: String,
}

impl std::fmt::Display for KubeWorkload {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} {}/{}",
            self.kind.to_ascii_lowercase(),
            self.namespace,
            self.name
        )
    }
}

/// A pod, as far as the access stage needs it.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(default)]
pub struct KubePod {
    pub namespace: String,
    pub name: String,
    pub service_account: String,
    /// The node it is scheduled on (None: not scheduled yet).
    pub node: Option<String>,
    pub host_network: bool,
    pub labels: BTreeMap<String, String>,
    pub workload: KubeWorkload,
    /// `Running`, `Pending`, `Succeeded`, `Failed`.
    pub phase: Option<String>,
}

/// A node and the node pool its labels name.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(default)]
pub struct KubeNode {
    pub name: String,
    /// From `eks.amazonaws.com/nodegroup`, `cloud.google.com/gke-nodepool` or
    /// `kubernetes.azure.com/agentpool`.
    pub pool: Option<String>,
    /// The label the pool came from.
    pub pool_label: Option<String>,
}

/// A NetworkPolicy (networking.k8s.io/v1), the parts that decide egress.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(default)]
pub struct KubeNetworkPolicy {
    pub namespace: String,
    pub name: String,
    pub pod_selector: KubeLabelSelector,
    /// As written; empty means the API default (`Ingress`, plus `Egress` when `egress` is set).
    pub policy_types: Vec<String>,
    /// The egress rules; None when the policy has no `egress` field.
    pub egress: Option<Vec<KubeEgressRule>>,
}

/// One egress rule: traffic to any of `to` (every destination when empty) on any of `ports`
/// (every port when empty).
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(default)]
pub struct KubeEgressRule {
    pub to: Vec<KubePeer>,
    pub ports: Vec<KubePort>,
}

/// A destination of an egress rule.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(default)]
pub struct KubePeer {
    pub ip_block: Option<KubeIpBlock>,
    /// Pod or namespace selectors select pods, never an address outside the pod network.
    pub selects_pods: bool,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(default)]
pub struct KubeIpBlock {
    pub cidr: String,
    pub except: Vec<String>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(default)]
pub struct KubePort {
    /// `TCP` (the default), `UDP`, `SCTP`.
    pub protocol: Option<String>,
    /// A number, or a named port (then which number it is depends on the destination).
    pub port: Option<String>,
    pub end_port: Option<i32>,
}

/// A label selector (`matchLabels` and `matchExpressions`).
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(default)]
pub struct KubeLabelSelector {
    pub match_labels: BTreeMap<String, String>,
    pub match_expressions: Vec<KubeSelectorRequirement>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(default)]
pub struct KubeSelectorRequirement {
    pub key: String,
    /// `In`, `NotIn`, `Exists`, `DoesNotExist`.
    pub operator: String,
    pub values: Vec<String>,
}

impl KubeLabelSelector {
    /// Whether the selector selects an object with these labels (an empty selector selects
    /// everything). An unknown operator selects nothing (the API server rejects it anyway).
    pub fn matches(&self, labels: &BTreeMap<String, String>) -> bool {
        self.match_labels
            .iter()
            .all(|(k, v)| labels.get(k) == Some(v))
            && self.match_expressions.iter().all(|r| {
                let value = labels.get(&r.key);
                match r.operator.as_str() {
                    "In" => value.is_some_and(|v| r.values.contains(v)),
                    "NotIn" => value.is_none_or(|v| !r.values.contains(v)),
                    "Exists" => value.is_some(),
                    "DoesNotExist" => value.is_none(),
                    _ => false,
                }
            })
    }
}

/// The `mapRoles` (and `mapUsers`) of `kube-system/aws-auth`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(default)]
pub struct AwsAuth {
    pub map_roles: Vec<AwsAuthMapping>,
    pub map_users: Vec<AwsAuthMapping>,
    /// Why a part could not be parsed (the mappings then may be incomplete).
    pub errors: Vec<String>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(default)]
pub struct AwsAuthMapping {
    /// `rolearn` or `userarn`.
    pub arn: String,
    pub username: Option<String>,
    pub groups: Vec<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn selectors_follow_the_kubernetes_semantics() {
        let labels: BTreeMap<String, String> = [("app".to_string(), "x".to_string())].into();
        assert!(KubeLabelSelector::default().matches(&labels));
        let req = |op: &str, values: &[&str]| KubeLabelSelector {
            match_expressions: vec![KubeSelectorRequirement {
                key: "app".into(),
                operator: op.into(),
                values: values.iter().map(|v| v.to_string()).collect(),
            }],
            ..Default::default()
        };
        assert!(req("In", &["x", "y"]).matches(&labels));
        assert!(!req("NotIn", &["x"]).matches(&labels));
        assert!(req("Exists", &[]).matches(&labels));
        assert!(!req("DoesNotExist", &[]).matches(&labels));
        assert!(!req("Bogus", &[]).matches(&labels));
        assert!(req("NotIn", &["x"]).matches(&BTreeMap::new()));
    }
}
