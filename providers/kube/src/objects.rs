//! The kinds cloudscan reads, what it keeps of each, and their conversion into inventory facts.
//!
//! Every response is first cut down to the fields cloudscan reads ([`Kind::prune`]); that cut
//! is what a recording holds and what is parsed, live or replayed. So container specs,
//! environment values, command lines, `last-applied-configuration` annotations and every other
//! field that may carry a secret never reach the disk, and replay parses exactly what a live
//! scan parsed. Parsing goes through the `k8s-openapi` types.

use cloudscan_inventory::{
    AwsAuth, AwsAuthMapping, KubeEgressRule, KubeIpBlock, KubeLabelSelector, KubeNetworkPolicy,
    KubeNode, KubePeer, KubePod, KubePort, KubeSelectorRequirement, KubeServiceAccount,
    KubeWorkload,
};
use k8s_openapi::api::core::v1::{ConfigMap, Node, Pod, ServiceAccount};
use k8s_openapi::api::networking::v1::NetworkPolicy;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use serde_json::{json, Map, Value};
use std::collections::BTreeMap;

/// The ServiceAccount annotations that bind a workload identity.
pub const IDENTITY_ANNOTATIONS: &[&str] = &[
    "eks.amazonaws.com/role-arn",
    "iam.gke.io/gcp-service-account",
    "azure.workload.identity/client-id",
];

/// The node labels that name a node pool.
pub const POOL_LABELS: &[&str] = &[
    "eks.amazonaws.com/nodegroup",
    "cloud.google.com/gke-nodepool",
    "kubernetes.azure.com/agentpool",
];

/// The pod label Azure workload identity's webhook acts on.
pub const AZURE_USE_LABEL: &str = "azure.workload.identity/use";

/// A kind cloudscan reads, with the one call it makes for it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    ServiceAccounts,
    Pods,
    Nodes,
    NetworkPolicies,
    AwsAuth,
}

impl Kind {
    /// Every kind, in reading order.
    pub const ALL: [Kind; 5] = [
        Kind::ServiceAccounts,
        Kind::Pods,
        Kind::Nodes,
        Kind::NetworkPolicies,
        Kind::AwsAuth,
    ];

    /// The API group (`""` for core).
    pub fn group(self) -> &'static str {
        match self {
            Kind::NetworkPolicies => "networking.k8s.io",
            _ => "",
        }
    }

    /// The resource (plural) name, as RBAC names it.
    pub fn resource(self) -> &'static str {
        match self {
            Kind::ServiceAccounts => "serviceaccounts",
            Kind::Pods => "pods",
            Kind::Nodes => "nodes",
            Kind::NetworkPolicies => "networkpolicies",
            Kind::AwsAuth => "configmaps",
        }
    }

    /// The RBAC verb of the call.
    pub fn verb(self) -> &'static str {
        match self {
            Kind::AwsAuth => "get",
            _ => "list",
        }
    }

    /// The one object a `get` names (RBAC `resourceNames`).
    pub fn resource_name(self) -> Option<&'static str> {
        match self {
            Kind::AwsAuth => Some("aws-auth"),
            _ => None,
        }
    }

    /// The request path (all namespaces for lists).
    pub fn path(self) -> &'static str {
        match self {
            Kind::ServiceAccounts => "/api/v1/serviceaccounts",
            Kind::Pods => "/api/v1/pods",
            Kind::Nodes => "/api/v1/nodes",
            Kind::NetworkPolicies => "/apis/networking.k8s.io/v1/networkpolicies",
            Kind::AwsAuth => "/api/v1/namespaces/kube-system/configmaps/aws-auth",
        }
    }

    /// The operation name in recordings and coverage (`pods.list`).
    pub fn operation(self) -> &'static str {
        match self {
            Kind::ServiceAccounts => "serviceaccounts.list",
            Kind::Pods => "pods.list",
            Kind::Nodes => "nodes.list",
            Kind::NetworkPolicies => "networkpolicies.list",
            Kind::AwsAuth => "configmaps.get",
        }
    }

    /// Cuts a response body down to the fields cloudscan reads. An error body (`kind: Status`)
    /// keeps its code, reason and message.
    pub fn prune(self, body: &Value) -> Value {
        if body.get("kind").and_then(Value::as_str) == Some("Status") {
            return pick(
                body,
                &["kind", "apiVersion", "status", "code", "reason", "message"],
            );
        }
        match self {
            Kind::AwsAuth => prune_aws_auth(body),
            _ => {
                let items: Vec<Value> = body
                    .get("items")
                    .and_then(Value::as_array)
                    .map(|items| items.iter().map(|i| self.prune_item(i)).collect())
                    .unwrap_or_default();
                let mut meta = Map::new();
                if let Some(m) = body.get("metadata") {
                    for k in ["continue", "resourceVersion"] {
                        if let Some(v) = m.get(k) {
                            meta.insert(k.to_string(), v.clone());
                        }
                    }
                }
                json!({"metadata": meta, "items": items})
            }
        }
    }

    fn prune_item(self, item: &Value) -> Value {
        let meta = item.get("metadata").cloned().unwrap_or(Value::Null);
        let name_ns = pick(&meta, &["name", "namespace"]);
        match self {
            Kind::ServiceAccounts => {
                let mut m = name_ns;
                let annotations = keep_keys(meta.get("annotations"), IDENTITY_ANNOTATIONS);
                if !annotations.is_empty() {
                    m["annotations"] = Value::Object(annotations);
                }
                json!({"metadata": m})
            }
            Kind::Pods => {
                let mut m = name_ns;
                if let Some(labels) = meta.get("labels").filter(|l| l.is_object()) {
                    m["labels"] = labels.clone();
                }
                if let Some(owners) = meta.get("ownerReferences").and_then(Value::as_array) {
                    m["ownerReferences"] = Value::Array(
                        owners
                            .iter()
                            .map(|o| pick(o, &["apiVersion", "kind", "name", "uid", "controller"]))
                            .collect(),
                    );
                }
                let spec = item.get("spec").cloned().unwrap_or(Value::Null);
                let mut s = pick(&spec, &["serviceAccountName", "nodeName", "hostNetwork"]);
                // Required by the type; the containers themselves are never kept.
                s["containers"] = json!([]);
                let status = pick(
                    &item.get("status").cloned().unwrap_or(Value::Null),
                    &["phase"],
                );
                json!({"metadata": m, "spec": s, "status": status})
            }
            Kind::Nodes => {
                let mut m = pick(&meta, &["name"]);
                let labels = keep_keys(meta.get("labels"), POOL_LABELS);
                if !labels.is_empty() {
                    m["labels"] = Value::Object(labels);
                }
                json!({"metadata": m})
            }
            Kind::NetworkPolicies => {
                json!({"metadata": name_ns, "spec": item.get("spec").cloned().unwrap_or(json!({"podSelector": {}}))})
            }
            Kind::AwsAuth => prune_aws_auth(item),
        }
    }
}

fn prune_aws_auth(body: &Value) -> Value {
    let meta = pick(
        &body.get("metadata").cloned().unwrap_or(Value::Null),
        &["name", "namespace"],
    );
    let data = keep_keys(body.get("data"), &["mapRoles", "mapUsers"]);
    json!({"metadata": meta, "data": data})
}

/// The listed fields of an object (absent ones left out).
fn pick(value: &Value, keys: &[&str]) -> Value {
    let mut out = Map::new();
    for k in keys {
        if let Some(v) = value.get(*k) {
            out.insert((*k).to_string(), v.clone());
        }
    }
    Value::Object(out)
}

fn keep_keys(map: Option<&Value>, keys: &[&str]) -> Map<String, Value> {
    let mut out = Map::new();
    if let Some(Value::Object(m)) = map {
        for (k, v) in m {
            if keys.contains(&k.as_str()) {
                out.insert(k.clone(), v.clone());
            }
        }
    }
    out
}

/// One page of a list, parsed: the items and the continuation token.
pub struct Page<T> {
    pub items: Vec<T>,
    pub continue_token: Option<String>,
}

/// Parses a pruned list page into `k8s-openapi` objects.
pub fn parse_page<T>(body: &Value) -> Result<Page<T>, String>
where
    T: k8s_openapi::ListableResource + serde::de::DeserializeOwned,
{
    let list: k8s_openapi::List<T> =
        serde_json::from_value(body.clone()).map_err(|e| e.to_string())?;
    Ok(Page {
        items: list.items,
        continue_token: list.metadata.continue_.filter(|c| !c.is_empty()),
    })
}

fn labels(l: Option<&BTreeMap<String, String>>) -> BTreeMap<String, String> {
    l.cloned().unwrap_or_default()
}

pub fn service_account(sa: &ServiceAccount) -> KubeServiceAccount {
    let annotations = sa
        .metadata
        .annotations
        .as_ref()
        .map(|a| {
            a.iter()
                .filter(|(k, _)| IDENTITY_ANNOTATIONS.contains(&k.as_str()))
                .map(|(k, v)| (k.clone(), v.trim().to_string()))
                .collect()
        })
        .unwrap_or_default();
    KubeServiceAccount {
        namespace: sa.metadata.namespace.clone().unwrap_or_default(),
        name: sa.metadata.name.clone().unwrap_or_default(),
        annotations,
    }
}

/// The workload that owns a pod: its controller owner, with a ReplicaSet that carries the
/// pod's `pod-template-hash` as a name suffix read as its Deployment (the Deployment
/// controller names ReplicaSets `<deployment>-<pod-template-hash>`), without reading
/// ReplicaSets.
pub fn workload(pod: &Pod) -> KubeWorkload {
    let namespace = pod.metadata.namespace.clone().unwrap_or_default();
    let name = pod.metadata.name.clone().unwrap_or_default();
    let owners = pod.metadata.owner_references.as_deref().unwrap_or_default();
    let owner = owners
        .iter()
        .find(|o| o.controller == Some(true))
        .or(owners.first());
    let Some(owner) = owner else {
        return KubeWorkload {
            kind: "Pod".to_string(),
            namespace,
            name,
        };
    };
    if owner.kind == "ReplicaSet" {
        let hash = pod
            .metadata
            .labels
            .as_ref()
            .and_then(|l| l.get("pod-template-hash"));
        if let Some(deployment) = hash
            .and_then(|h| owner.name.strip_suffix(h.as_str()))
            .and_then(|n| n.strip_suffix('-'))
            .filter(|n| !n.is_empty())
        {
            return KubeWorkload {
                kind: "Deployment".to_string(),
                namespace,
                name: deployment.to_string(),
            };
        }
    }
    KubeWorkload {
        kind: owner.kind.clone(),
        namespace,
        name: owner.name.clone(),
    }
}

pub fn pod(p: &Pod) -> KubePod {
    let spec = p.spec.as_ref();
    KubePod {
        namespace: p.metadata.namespace.clone().unwrap_or_default(),
        name: p.metadata.name.clone().unwrap_or_default(),
        // The API server defaults it to `default`.
        service_account: spec
            .and_then(|s| s.service_account_name.clone())
            .filter(|s| !s.is_empty())
            .unwrap_or_else(|| "default".to_string()),
        node: spec
            .and_then(|s| s.node_name.clone())
            .filter(|n| !n.is_empty()),
        host_network: spec.and_then(|s| s.host_network).unwrap_or(false),
        labels: labels(p.metadata.labels.as_ref()),
        workload: workload(p),
        phase: p.status.as_ref().and_then(|s| s.phase.clone()),
    }
}

pub fn node(n: &Node) -> KubeNode {
    let labels = labels(n.metadata.labels.as_ref());
    let found = POOL_LABELS
        .iter()
        .find_map(|l| labels.get(*l).map(|v| (l.to_string(), v.clone())));
    KubeNode {
        name: n.metadata.name.clone().unwrap_or_default(),
        pool: found.as_ref().map(|(_, v)| v.clone()),
        pool_label: found.map(|(l, _)| l),
    }
}

fn selector(s: Option<&LabelSelector>) -> KubeLabelSelector {
    let Some(s) = s else {
        return KubeLabelSelector::default();
    };
    KubeLabelSelector {
        match_labels: labels(s.match_labels.as_ref()),
        match_expressions: s
            .match_expressions
            .as_deref()
            .unwrap_or_default()
            .iter()
            .map(|r| KubeSelectorRequirement {
                key: r.key.clone(),
                operator: r.operator.clone(),
                values: r.values.clone().unwrap_or_default(),
            })
            .collect(),
    }
}

pub fn network_policy(np: &NetworkPolicy) -> KubeNetworkPolicy {
    let spec = np.spec.as_ref();
    KubeNetworkPolicy {
        namespace: np.metadata.namespace.clone().unwrap_or_default(),
        name: np.metadata.name.clone().unwrap_or_default(),
        pod_selector: selector(spec.and_then(|s| s.pod_selector.as_ref())),
        policy_types: spec
            .and_then(|s| s.policy_types.clone())
            .unwrap_or_default(),
        egress: spec.and_then(|s| s.egress.as_ref()).map(|rules| {
            rules
                .iter()
                .map(|r| KubeEgressRule {
                    to: r
                        .to
                        .as_deref()
                        .unwrap_or_default()
                        .iter()
                        .map(|peer| KubePeer {
                            ip_block: peer.ip_block.as_ref().map(|b| KubeIpBlock {
                                cidr: b.cidr.clone(),
                                except: b.except.clone().unwrap_or_default(),
                            }),
                            selects_pods: peer.pod_selector.is_some()
                                || peer.namespace_selector.is_some(),
                        })
                        .collect(),
                    ports: r
                        .ports
                        .as_deref()
                        .unwrap_or_default()
                        .iter()
                        .map(|p| KubePort {
                            protocol: p.protocol.clone(),
                            port: p.port.as_ref().map(|v| match v {
                                IntOrString::Int(i) => i.to_string(),
                                IntOrString::String(s) => s.clone(),
                            }),
                            end_port: p.end_port,
                        })
                        .collect(),
                })
                .collect()
        }),
    }
}

#[derive(serde::Deserialize)]
struct RawMapping {
    #[serde(default)]
    rolearn: Option<String>,
    #[serde(default)]
    userarn: Option<String>,
    #[serde(default)]
    username: Option<String>,
    #[serde(default)]
    groups: Vec<String>,
}

/// Parses `mapRoles` and `mapUsers` (YAML lists inside the ConfigMap's data). A part that does
/// not parse is kept as an error: its mappings are unknown.
pub fn aws_auth(cm: &ConfigMap) -> AwsAuth {
    let mut out = AwsAuth::default();
    let data = cm.data.clone().unwrap_or_default();
    for (key, roles) in [("mapRoles", true), ("mapUsers", false)] {
        let Some(text) = data.get(key) else {
            continue;
        };
        match serde_yaml::from_str::<Option<Vec<RawMapping>>>(text) {
            Ok(list) => {
                for m in list.unwrap_or_default() {
                    let arn = if roles { m.rolearn } else { m.userarn };
                    let Some(arn) = arn.map(|a| a.trim().to_string()).filter(|a| !a.is_empty())
                    else {
                        out.errors.push(format!(
                            "an entry of {key} has no {}",
                            if roles { "rolearn" } else { "userarn" }
                        ));
                        continue;
                    };
                    let mapping = AwsAuthMapping {
                        arn,
                        username: m.username,
                        groups: m.groups,
                    };
                    if roles {
                        out.map_roles.push(mapping);
                    } else {
                        out.map_users.push(mapping);
                    }
                }
            }
            Err(e) => out
                .errors
                .push(format!("{key} is not a YAML list of mappings: {e}")),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pruning_drops_everything_that_may_hold_a_secret() {
        let raw = json!({"kind": "PodList", "apiVersion": "v1", "metadata": {"continue": "t", "resourceVersion": "1"},
            "items": [{"metadata": {"name": "p", "namespace": "n", "labels": {"app": "x", "pod-template-hash": "abc"},
                "annotations": {"kubectl.kubernetes.io/last-applied-configuration": "{\"env\":\"hunter2\"}"},
                "ownerReferences": [{"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "web-abc", "uid": "u", "controller": true}]},
              "spec": {"serviceAccountName": "sa", "nodeName": "n1", "hostNetwork": true,
                "containers": [{"name": "c", "image": "i", "env": [{"name": "DB_PASSWORD", "value": "hunter2"}], "args": ["--token=s3cr3t"]}]},
              "status": {"phase": "Running", "podIP": "10.0.0.1"}}]});
        let pruned = Kind::Pods.prune(&raw);
        let text = pruned.to_string();
        for secret in ["hunter2", "s3cr3t", "last-applied", "podIP", "image"] {
            assert!(!text.contains(secret), "{secret} kept: {text}");
        }
        let page: Page<Pod> = parse_page(&pruned).expect("parses");
        assert_eq!(page.continue_token.as_deref(), Some("t"));
        let p = pod(&page.items[0]);
        assert!(p.host_network);
        assert_eq!(p.service_account, "sa");
        assert_eq!(p.node.as_deref(), Some("n1"));
        assert_eq!(p.workload.to_string(), "deployment n/web");
    }

    #[test]
    fn service_accounts_keep_only_identity_annotations() {
        let raw = json!({"items": [{"metadata": {"name": "a", "namespace": "n", "annotations": {
            "eks.amazonaws.com/role-arn": "arn:aws:iam::1:role/r", "other": "x"}}, "secrets": [{"name": "tok"}]}]});
        let pruned = Kind::ServiceAccounts.prune(&raw);
        assert!(!pruned.to_string().contains("other"));
        assert!(!pruned.to_string().contains("tok"));
        let page: Page<ServiceAccount> = parse_page(&pruned).expect("parses");
        let sa = service_account(&page.items[0]);
        assert_eq!(sa.annotations.len(), 1);
    }

    #[test]
    fn aws_auth_mappings_parse_and_bad_parts_are_errors() {
        let cm: ConfigMap = serde_json::from_value(json!({"metadata": {"name": "aws-auth"}, "data": {
            "mapRoles": "- rolearn: arn:aws:iam::1:role/admin\n  username: admin\n  groups:\n    - system:masters\n- username: x\n",
            "mapUsers": "not: [a list"}})).expect("configmap");
        let a = aws_auth(&cm);
        assert_eq!(a.map_roles.len(), 1);
        assert_eq!(a.map_roles[0].groups, vec!["system:masters".to_string()]);
        assert_eq!(a.errors.len(), 2, "{:?}", a.errors);
    }

    #[test]
    fn owners_without_a_matching_hash_stay_replicasets() {
        let p: Pod = serde_json::from_value(json!({"metadata": {"name": "x", "namespace": "n",
            "ownerReferences": [{"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "rs", "uid": "u", "controller": true}]}}))
        .expect("pod");
        assert_eq!(workload(&p).kind, "ReplicaSet");
        let bare: Pod =
            serde_json::from_value(json!({"metadata": {"name": "x", "namespace": "n"}}))
                .expect("pod");
        assert_eq!(workload(&bare).to_string(), "pod n/x");
    }
}
