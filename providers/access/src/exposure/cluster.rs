//! Exact reach where a cluster's Kubernetes API was read (`Inventory::kubernetes`): which pods,
//! by workload, run on a node pool and reach its identity through the metadata service, which
//! of them a NetworkPolicy keeps out, and which pods run under a service account bound to a
//! workload identity.
//!
//! NetworkPolicy semantics (Kubernetes documentation, "Network Policies"):
//! - a pod is isolated for egress when some policy in its namespace selects it (`podSelector`)
//!   and lists `Egress` in `policyTypes` (without `policyTypes`, a policy is an egress policy
//!   when it has egress rules); an isolated pod may send only what some selecting policy's
//!   egress rules allow, the union of them all;
//! - a rule with no `to` allows every destination, and no `ports` every port; an `ipBlock`
//!   allows its CIDR minus its `except` ranges; pod and namespace selectors select pods, never
//!   an address such as the metadata service's;
//! - NetworkPolicy does not apply to pods on the host network (`hostNetwork: true`): they always
//!   reach the node's metadata service, whatever the pool's hop limit, as any node process does;
//! - enforcement is the network plugin's: cloudscan cannot see whether the plugin enforces
//!   NetworkPolicy, so pods a policy keeps out are removed from the reach with that caveat.

use cloudscan_inventory::{
    Inventory, KubeCluster, KubeEgressRule, KubeNetworkPolicy, KubePod, KubeWorkload, Provider,
};
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::net::IpAddr;

/// The instance metadata address of every cloud.
pub const METADATA_V4: &str = "169.254.169.254";
/// The IPv6 instance metadata address of EC2 (Nitro instances).
pub const METADATA_V6_AWS: &str = "fd00:ec2::254";
/// The metadata service's port.
pub const METADATA_PORT: i32 = 80;
/// The pod label Azure workload identity's webhook acts on.
pub const AZURE_USE_LABEL: &str = "azure.workload.identity/use";
/// How many workloads a sentence names before "and N more".
const NAMED: usize = 8;

/// The caveat every exclusion by NetworkPolicy carries.
pub const CNI_CAVEAT: &str =
    "only if the cluster's network plugin enforces NetworkPolicy, which cloudscan cannot see";

/// Pods of one workload.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct WorkloadPods {
    pub workload: KubeWorkload,
    pub pods: usize,
    pub host_network: usize,
}

/// What a cluster's API showed about who reaches one identity.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Observed {
    /// The kubeconfig context read.
    pub context: String,
    /// Pods that can act as the identity, by workload.
    pub reach: Vec<WorkloadPods>,
    /// Pods a NetworkPolicy keeps away from the metadata service, by workload.
    pub blocked: Vec<WorkloadPods>,
    /// Those policies (`namespace/name`).
    pub blocked_by: Vec<String>,
    /// Caveats, one sentence each.
    pub notes: Vec<String>,
}

impl Observed {
    /// How many pods reach the identity.
    pub fn pods(&self) -> usize {
        self.reach.iter().map(|w| w.pods).sum()
    }

    /// How many of them run on the host network.
    pub fn host_network(&self) -> usize {
        self.reach.iter().map(|w| w.host_network).sum()
    }

    /// Some pods reach the identity, and every one of them is on the host network.
    pub fn only_host_network(&self) -> bool {
        self.pods() > 0 && self.pods() == self.host_network()
    }

    /// The workloads reaching the identity, as `kind namespace/name` strings.
    pub fn workloads(&self) -> Vec<String> {
        self.reach.iter().map(|w| w.workload.to_string()).collect()
    }
}

/// `deployments a/x, b/y; daemonset kube-system/aws-node` (at most [`NAMED`] names).
pub fn describe_workloads(list: &[WorkloadPods]) -> String {
    let mut by_kind: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for w in list.iter().take(NAMED) {
        by_kind
            .entry(w.workload.kind.to_ascii_lowercase())
            .or_default()
            .push(format!("{}/{}", w.workload.namespace, w.workload.name));
    }
    let mut parts: Vec<String> = by_kind
        .into_iter()
        .map(|(kind, names)| {
            let noun = if names.len() > 1 {
                format!("{kind}s")
            } else {
                kind
            };
            format!("{noun} {}", names.join(", "))
        })
        .collect();
    if list.len() > NAMED {
        parts.push(format!("and {} more workload(s)", list.len() - NAMED));
    }
    parts.join("; ")
}

fn count(list: &[WorkloadPods]) -> usize {
    list.iter().map(|w| w.pods).sum()
}

impl fmt::Display for Observed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "; as read through kubernetes context `{}`: ",
            self.context
        )?;
        let n = self.pods();
        if n == 0 {
            write!(f, "no running pod")?;
        } else {
            write!(f, "{n} pod(s) of {}", describe_workloads(&self.reach))?;
            let host = self.host_network();
            if host > 0 {
                write!(f, " ({host} with hostNetwork)")?;
            }
        }
        if !self.blocked.is_empty() {
            write!(
                f,
                "; {} pod(s) of {} kept out by NetworkPolicy {} ({CNI_CAVEAT})",
                count(&self.blocked),
                describe_workloads(&self.blocked),
                self.blocked_by.join(", ")
            )?;
        }
        for note in &self.notes {
            write!(f, "; {note}")?;
        }
        Ok(())
    }
}

/// Groups pods by workload, in workload order.
#[derive(Default)]
struct Tally(BTreeMap<KubeWorkload, (usize, usize)>);

impl Tally {
    fn add(&mut self, pod: &KubePod) {
        let e = self.0.entry(pod.workload.clone()).or_default();
        e.0 += 1;
        if pod.host_network {
            e.1 += 1;
        }
    }

    fn into_list(self) -> Vec<WorkloadPods> {
        self.0
            .into_iter()
            .map(|(workload, (pods, host_network))| WorkloadPods {
                workload,
                pods,
                host_network,
            })
            .collect()
    }
}

/// The cluster facts read for cluster `name`.
pub fn cluster<'a>(inv: &'a Inventory, name: &str) -> Option<&'a KubeCluster> {
    inv.kubernetes.iter().find(|k| k.cluster == name)
}

/// Whether a pod runs (or will run): scheduled pods that have not finished.
fn active(pod: &KubePod) -> bool {
    !matches!(pod.phase.as_deref(), Some("Succeeded") | Some("Failed"))
}

/// The metadata addresses of a cloud.
pub fn metadata_addresses(provider: Provider) -> Vec<IpAddr> {
    let mut out: Vec<IpAddr> = METADATA_V4.parse().into_iter().collect();
    if provider == Provider::Aws {
        out.extend(METADATA_V6_AWS.parse::<IpAddr>());
    }
    out
}

/// Pods on the nodes of `pool` that reach its identity. `by_setting`: the pool's metadata
/// settings let pods (not only node processes) through. None when the cluster was not read, or
/// its pods or nodes were not listed completely.
pub fn node_pool_reach(
    inv: &Inventory,
    cluster_name: &str,
    pool: &str,
    by_setting: bool,
) -> Option<Observed> {
    let kc = cluster(inv, cluster_name)?;
    if !kc.is_complete("pods") || !kc.is_complete("nodes") {
        return None;
    }
    let endpoint_off = inv
        .clusters
        .iter()
        .find(|c| c.name == cluster_name)
        .and_then(|c| c.node_pools.iter().find(|p| p.name == pool))
        .is_some_and(|p| {
            !p.metadata.is_empty() && p.metadata.iter().all(|m| m.endpoint_enabled == Some(false))
        });
    let nodes: BTreeSet<&str> = kc
        .nodes
        .iter()
        .filter(|n| n.pool.as_deref() == Some(pool))
        .map(|n| n.name.as_str())
        .collect();
    let policies_known = kc.is_complete("networkpolicies");
    let targets = metadata_addresses(inv.provider);
    let mut reach = Tally::default();
    let mut blocked = Tally::default();
    let mut blocked_by: BTreeSet<String> = BTreeSet::new();
    for pod in kc.pods.iter().filter(|p| active(p)) {
        if !pod.node.as_deref().is_some_and(|n| nodes.contains(n)) || endpoint_off {
            continue;
        }
        if pod.host_network {
            reach.add(pod);
            continue;
        }
        if !by_setting {
            continue;
        }
        if policies_known {
            if let Egress::Blocked(policies) = egress(&kc.network_policies, pod, &targets) {
                blocked.add(pod);
                blocked_by.extend(policies);
                continue;
            }
        }
        reach.add(pod);
    }
    let mut notes = Vec::new();
    if !policies_known && by_setting {
        notes.push(
            "NetworkPolicies were not read completely, so no pod is taken as kept out".to_string(),
        );
    }
    let unlabelled = kc.nodes.iter().filter(|n| n.pool.is_none()).count();
    if unlabelled > 0 {
        notes.push(format!(
            "{unlabelled} node(s) carry no node-pool label; their pods are not counted here"
        ));
    }
    Some(Observed {
        context: kc.context.clone(),
        reach: reach.into_list(),
        blocked: blocked.into_list(),
        blocked_by: blocked_by.into_iter().collect(),
        notes,
    })
}

/// `*` and `?` wildcards, as workload bindings write namespace and service-account patterns.
pub fn glob(pattern: &str, text: &str) -> bool {
    fn go(p: &[char], t: &[char]) -> bool {
        match (p.first(), t.first()) {
            (None, None) => true,
            (Some('*'), _) => go(&p[1..], t) || (!t.is_empty() && go(p, &t[1..])),
            (Some('?'), Some(_)) => go(&p[1..], &t[1..]),
            (Some(a), Some(b)) if a == b => go(&p[1..], &t[1..]),
            _ => false,
        }
    }
    let p: Vec<char> = pattern.chars().collect();
    let t: Vec<char> = text.chars().collect();
    go(&p, &t)
}

/// Pods running under a service account (pattern) bound to a workload identity. Azure
/// workload identity reaches only pods labelled `azure.workload.identity/use: "true"` (its
/// webhook injects the token into those); the others are named in a note. None when the
/// cluster was not read or its pods were not listed completely.
pub fn workload_reach(
    inv: &Inventory,
    cluster_name: &str,
    namespace: &str,
    service_account: &str,
    mechanism: &str,
) -> Option<Observed> {
    let kc = cluster(inv, cluster_name)?;
    if !kc.is_complete("pods") {
        return None;
    }
    let mut reach = Tally::default();
    let mut unlabelled = 0usize;
    for pod in kc.pods.iter().filter(|p| active(p)) {
        if !glob(namespace, &pod.namespace) || !glob(service_account, &pod.service_account) {
            continue;
        }
        if mechanism == "azure-workload-identity"
            && pod.labels.get(AZURE_USE_LABEL).map(String::as_str) != Some("true")
        {
            unlabelled += 1;
            continue;
        }
        reach.add(pod);
    }
    let mut notes = Vec::new();
    if unlabelled > 0 {
        notes.push(format!(
            "{unlabelled} more pod(s) run under it without the label `{AZURE_USE_LABEL}: \"true\"`, so the webhook does not give them the token"
        ));
    }
    Some(Observed {
        context: kc.context.clone(),
        reach: reach.into_list(),
        notes,
        ..Default::default()
    })
}

/// What the NetworkPolicies of a pod's namespace let it send to the metadata service.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Egress {
    /// No egress policy selects the pod: everything is allowed.
    NotIsolated,
    /// Some selecting policy allows one of the addresses (these policies).
    Allowed(Vec<String>),
    /// Policies select the pod and none allows any of the addresses.
    Blocked(Vec<String>),
}

/// Whether a policy is an egress policy.
pub fn is_egress_policy(p: &KubeNetworkPolicy) -> bool {
    if p.policy_types.is_empty() {
        p.egress.as_ref().is_some_and(|e| !e.is_empty())
    } else {
        p.policy_types.iter().any(|t| t == "Egress")
    }
}

/// The egress verdict for `pod` towards any of `targets` on the metadata port.
pub fn egress(policies: &[KubeNetworkPolicy], pod: &KubePod, targets: &[IpAddr]) -> Egress {
    if pod.host_network {
        return Egress::NotIsolated;
    }
    let selecting: Vec<&KubeNetworkPolicy> = policies
        .iter()
        .filter(|p| p.namespace == pod.namespace && is_egress_policy(p))
        .filter(|p| p.pod_selector.matches(&pod.labels))
        .collect();
    if selecting.is_empty() {
        return Egress::NotIsolated;
    }
    let name = |p: &&KubeNetworkPolicy| format!("{}/{}", p.namespace, p.name);
    let allowing: Vec<String> = selecting
        .iter()
        .filter(|p| {
            p.egress
                .as_deref()
                .unwrap_or_default()
                .iter()
                .any(|r| rule_allows(r, targets))
        })
        .map(name)
        .collect();
    if allowing.is_empty() {
        Egress::Blocked(selecting.iter().map(name).collect())
    } else {
        Egress::Allowed(allowing)
    }
}

/// Whether one egress rule allows TCP to any target on the metadata port.
fn rule_allows(rule: &KubeEgressRule, targets: &[IpAddr]) -> bool {
    let port_ok = rule.ports.is_empty()
        || rule.ports.iter().any(|p| {
            let tcp = p
                .protocol
                .as_deref()
                .is_none_or(|proto| proto.eq_ignore_ascii_case("TCP"));
            let port = match p.port.as_deref() {
                None => true,
                Some(text) => match text.parse::<i32>() {
                    Ok(n) => {
                        n == METADATA_PORT
                            || p.end_port
                                .is_some_and(|end| n <= METADATA_PORT && METADATA_PORT <= end)
                    }
                    // A named port is resolved against the destination pod's ports; for an
                    // address outside the pod network it is not known: taken as allowing.
                    Err(_) => true,
                },
            };
            tcp && port
        });
    if !port_ok {
        return false;
    }
    if rule.to.is_empty() {
        return true;
    }
    rule.to.iter().any(|peer| {
        let Some(block) = &peer.ip_block else {
            return false;
        };
        targets.iter().any(|addr| {
            // A range that cannot be parsed is taken as allowing (never as blocking).
            let inside = cidr_contains(&block.cidr, *addr).unwrap_or(true);
            let excepted = block
                .except
                .iter()
                .any(|e| cidr_contains(e, *addr).unwrap_or(false));
            inside && !excepted
        })
    })
}

/// Whether `cidr` contains `addr`; None when `cidr` is not a CIDR. Families never mix.
pub fn cidr_contains(cidr: &str, addr: IpAddr) -> Option<bool> {
    let (net, bits) = cidr.trim().split_once('/')?;
    let net: IpAddr = net.parse().ok()?;
    let bits: u32 = bits.parse().ok()?;
    match (net, addr) {
        (IpAddr::V4(n), IpAddr::V4(a)) if bits <= 32 => {
            let mask = if bits == 0 {
                0
            } else {
                u32::MAX << (32 - bits)
            };
            Some(u32::from(n) & mask == u32::from(a) & mask)
        }
        (IpAddr::V6(n), IpAddr::V6(a)) if bits <= 128 => {
            let mask = if bits == 0 {
                0
            } else {
                u128::MAX << (128 - bits)
            };
            Some(u128::from(n) & mask == u128::from(a) & mask)
        }
        (IpAddr::V4(_), IpAddr::V6(_)) | (IpAddr::V6(_), IpAddr::V4(_)) => Some(false),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use cloudscan_inventory::{KubeIpBlock, KubeLabelSelector, KubePeer, KubePort};

    fn pod(ns: &str, labels: &[(&str, &str)], host: bool) -> KubePod {
        KubePod {
            namespace: ns.into(),
            name: "p".into(),
            labels: labels
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            host_network: host,
            ..Default::default()
        }
    }

    fn policy(ns: &str, types: &[&str], egress: Option<Vec<KubeEgressRule>>) -> KubeNetworkPolicy {
        KubeNetworkPolicy {
            namespace: ns.into(),
            name: "np".into(),
            pod_selector: KubeLabelSelector::default(),
            policy_types: types.iter().map(|t| t.to_string()).collect(),
            egress,
        }
    }

    fn block(cidr: &str, except: &[&str]) -> KubePeer {
        KubePeer {
            ip_block: Some(KubeIpBlock {
                cidr: cidr.into(),
                except: except.iter().map(|e| e.to_string()).collect(),
            }),
            selects_pods: false,
        }
    }

    fn rule(to: Vec<KubePeer>, ports: Vec<KubePort>) -> KubeEgressRule {
        KubeEgressRule { to, ports }
    }

    #[test]
    fn egress_follows_the_networkpolicy_semantics() {
        let aws = metadata_addresses(Provider::Aws);
        let p = pod("a", &[("app", "x")], false);
        // No policy, or an ingress-only one: not isolated.
        assert_eq!(egress(&[], &p, &aws), Egress::NotIsolated);
        assert_eq!(
            egress(&[policy("a", &["Ingress"], None)], &p, &aws),
            Egress::NotIsolated
        );
        // Another namespace's policy does not select it.
        assert_eq!(
            egress(&[policy("b", &["Egress"], Some(vec![]))], &p, &aws),
            Egress::NotIsolated
        );
        // Egress with no rule: deny all.
        assert!(matches!(
            egress(&[policy("a", &["Egress"], Some(vec![]))], &p, &aws),
            Egress::Blocked(_)
        ));
        // 0.0.0.0/0 except the metadata address: blocked (no IPv6 allowed either).
        let except = rule(vec![block("0.0.0.0/0", &["169.254.169.254/32"])], vec![]);
        assert!(matches!(
            egress(
                &[policy("a", &["Egress"], Some(vec![except.clone()]))],
                &p,
                &aws
            ),
            Egress::Blocked(_)
        ));
        // ... but a second policy allowing ::/0 lets the IPv6 metadata address through on AWS.
        let v6 = policy(
            "a",
            &["Egress"],
            Some(vec![rule(vec![block("::/0", &[])], vec![])]),
        );
        assert!(matches!(
            egress(
                &[
                    policy("a", &["Egress"], Some(vec![except.clone()])),
                    v6.clone()
                ],
                &p,
                &aws
            ),
            Egress::Allowed(_)
        ));
        // ... which is not the metadata address elsewhere.
        let gcp = metadata_addresses(Provider::Gcp);
        assert!(matches!(
            egress(
                &[policy("a", &["Egress"], Some(vec![except])), v6],
                &p,
                &gcp
            ),
            Egress::Blocked(_)
        ));
        // Empty `to`: every destination.
        assert!(matches!(
            egress(
                &[policy("a", &["Egress"], Some(vec![rule(vec![], vec![])]))],
                &p,
                &aws
            ),
            Egress::Allowed(_)
        ));
        // Port 53 only: metadata (80) blocked; a named port is not known, taken as allowing.
        let dns = KubePort {
            protocol: Some("UDP".into()),
            port: Some("53".into()),
            end_port: None,
        };
        assert!(matches!(
            egress(
                &[policy(
                    "a",
                    &["Egress"],
                    Some(vec![rule(vec![], vec![dns])])
                )],
                &p,
                &aws
            ),
            Egress::Blocked(_)
        ));
        let named = KubePort {
            protocol: None,
            port: Some("http".into()),
            end_port: None,
        };
        assert!(matches!(
            egress(
                &[policy(
                    "a",
                    &["Egress"],
                    Some(vec![rule(vec![], vec![named])])
                )],
                &p,
                &aws
            ),
            Egress::Allowed(_)
        ));
        let range = KubePort {
            protocol: None,
            port: Some("1".into()),
            end_port: Some(1024),
        };
        assert!(matches!(
            egress(
                &[policy(
                    "a",
                    &["Egress"],
                    Some(vec![rule(vec![], vec![range])])
                )],
                &p,
                &aws
            ),
            Egress::Allowed(_)
        ));
        // A pod selector peer never matches the metadata address.
        let pods_only = KubePeer {
            ip_block: None,
            selects_pods: true,
        };
        assert!(matches!(
            egress(
                &[policy(
                    "a",
                    &["Egress"],
                    Some(vec![rule(vec![pods_only], vec![])])
                )],
                &p,
                &aws
            ),
            Egress::Blocked(_)
        ));
        // No policyTypes: an egress policy only when it has egress rules.
        assert_eq!(
            egress(&[policy("a", &[], Some(vec![]))], &p, &aws),
            Egress::NotIsolated
        );
        assert!(matches!(
            egress(
                &[policy(
                    "a",
                    &[],
                    Some(vec![rule(vec![block("10.0.0.0/8", &[])], vec![])])
                )],
                &p,
                &aws
            ),
            Egress::Blocked(_)
        ));
        // hostNetwork pods are never isolated.
        let host = pod("a", &[], true);
        assert_eq!(
            egress(&[policy("a", &["Egress"], Some(vec![]))], &host, &aws),
            Egress::NotIsolated
        );
    }

    #[test]
    fn cidrs_and_globs() {
        let a: IpAddr = "169.254.169.254".parse().expect("ip");
        assert_eq!(cidr_contains("169.254.0.0/16", a), Some(true));
        assert_eq!(cidr_contains("169.254.169.254/32", a), Some(true));
        assert_eq!(cidr_contains("10.0.0.0/8", a), Some(false));
        assert_eq!(cidr_contains("0.0.0.0/0", a), Some(true));
        assert_eq!(cidr_contains("::/0", a), Some(false));
        assert_eq!(cidr_contains("bogus", a), None);
        assert!(glob("*", "x") && glob("ci", "ci") && glob("c?", "ci") && glob("a*z", "abcz"));
        assert!(!glob("ci", "cd") && !glob("a*z", "abc"));
    }
}

// --- The joined picture: annotations against cloud trust, and cluster-admin mappings -------------

/// The annotation that binds a service account to a cloud identity, and its mechanism.
pub const ANNOTATIONS: &[(&str, &str)] = &[
    ("eks.amazonaws.com/role-arn", "irsa"),
    ("iam.gke.io/gcp-service-account", "gke-workload-identity"),
    (
        "azure.workload.identity/client-id",
        "azure-workload-identity",
    ),
];

/// A service account whose workload-identity annotation names an identity whose trust does not
/// admit it.
#[derive(Debug, Clone, PartialEq)]
pub struct BrokenBinding {
    pub scope: String,
    pub region: String,
    pub cluster: String,
    pub context: String,
    pub namespace: String,
    pub service_account: String,
    pub annotation: String,
    /// The annotation's value (role ARN, service account email, client id).
    pub value: String,
    /// The identity it resolves to, when the scan found it.
    pub identity: Option<String>,
    /// Why the binding does not work, as a sentence.
    pub why: String,
    /// The pods running under the service account.
    pub pods: Vec<WorkloadPods>,
}

/// A workload-identity trust that admits a pattern of service accounts, and the service
/// accounts of the cluster that actually use it.
#[derive(Debug, Clone, PartialEq)]
pub struct BroaderThanUsed {
    pub scope: String,
    pub region: String,
    pub cluster: String,
    pub context: String,
    pub identity: String,
    pub mechanism: String,
    /// `namespace/service-account` as the trust admits it (with wildcards).
    pub admitted: String,
    /// The annotated service accounts matching it (`namespace/name`).
    pub used_by: Vec<String>,
}

/// The identity an annotation value names: role ARN (by account and role name, as `aws-auth`
/// and IRSA write it without a path), service account email, or managed identity client id.
fn resolve<'a>(
    inv: &'a Inventory,
    mechanism: &str,
    value: &str,
) -> Option<&'a cloudscan_inventory::Identity> {
    inv.identities.iter().find(|i| match mechanism {
        "irsa" => same_role(&i.id, value),
        "gke-workload-identity" => i.id.eq_ignore_ascii_case(value),
        _ => i
            .client_id
            .as_deref()
            .is_some_and(|c| c.eq_ignore_ascii_case(value)),
    })
}

/// Two IAM role ARNs name the same role (account and role name; the path may be left out).
pub fn same_role(a: &str, b: &str) -> bool {
    fn parts(arn: &str) -> Option<(&str, &str)> {
        let rest = arn.strip_prefix("arn:")?;
        let mut it = rest.splitn(5, ':');
        let _partition = it.next()?;
        let service = it.next()?;
        let _region = it.next()?;
        let account = it.next()?;
        let resource = it.next()?;
        if service != "iam" && service != "sts" {
            return None;
        }
        let name = resource.rsplit('/').next()?;
        Some((account, name))
    }
    match (parts(a.trim()), parts(b.trim())) {
        (Some(x), Some(y)) => x == y,
        _ => a.trim() == b.trim(),
    }
}

/// The scope (account, project) an annotation value belongs to, when it says.
fn value_scope(mechanism: &str, value: &str) -> Option<String> {
    match mechanism {
        "irsa" => value.split(':').nth(4).map(str::to_string),
        "gke-workload-identity" => value
            .split_once('@')
            .and_then(|(_, d)| d.strip_suffix(".iam.gserviceaccount.com"))
            .map(str::to_string),
        _ => None,
    }
}

fn pods_of(kc: &KubeCluster, namespace: &str, service_account: &str) -> Vec<WorkloadPods> {
    let mut t = Tally::default();
    for pod in kc.pods.iter().filter(|p| active(p)) {
        if pod.namespace == namespace && pod.service_account == service_account {
            t.add(pod);
        }
    }
    t.into_list()
}

/// Every annotated service account of every read cluster whose annotation names an identity
/// whose trust does not admit it. Only what the scan can prove: the identity was found and its
/// trust read, or it does not exist in a scope whose identities were read completely.
pub fn broken_bindings(inv: &Inventory) -> Vec<BrokenBinding> {
    let mut out = Vec::new();
    for kc in &inv.kubernetes {
        if !kc.is_complete("serviceaccounts") {
            continue;
        }
        let Some(cluster) = inv.clusters.iter().find(|c| c.id == kc.cluster_id) else {
            continue;
        };
        for sa in &kc.service_accounts {
            for (annotation, mechanism) in ANNOTATIONS {
                let Some(value) = sa.annotations.get(*annotation) else {
                    continue;
                };
                let identity = resolve(inv, mechanism, value);
                let admitted = cluster.workload_identity.bindings.iter().any(|b| {
                    b.mechanism == *mechanism
                        && identity.is_some_and(|i| i.id == b.identity)
                        && glob(&b.namespace, &sa.namespace)
                        && glob(&b.service_account, &sa.name)
                });
                if admitted {
                    continue;
                }
                let subject = format!("system:serviceaccount:{}:{}", sa.namespace, sa.name);
                let why = match identity {
                    Some(i) => match *mechanism {
                        "irsa" if i.trust.as_ref().and_then(|t| t.document.as_ref()).is_none() => continue,
                        "irsa" => format!(
                            "the trust policy of role `{}` does not let `{subject}` of cluster `{}` assume it with its web identity token (no statement for this cluster's OIDC provider matches the subject)",
                            i.id, cluster.name
                        ),
                        "gke-workload-identity" => format!(
                            "`{}` grants roles/iam.workloadIdentityUser to no principal matching `{}.svc.id.goog[{}/{}]`",
                            i.id,
                            cluster.scope,
                            sa.namespace,
                            sa.name
                        ),
                        _ => format!(
                            "managed identity `{}` has no federated credential for the OIDC issuer of cluster `{}` with subject `{subject}`",
                            i.id, cluster.name
                        ),
                    },
                    None => {
                        // Absent only counts where the identities of its scope were read fully.
                        let scanned = value_scope(mechanism, value)
                            .is_some_and(|s| inv.scopes.iter().any(|x| x.id == s));
                        let complete = inv
                            .coverage
                            .iter()
                            .filter(|c| c.service == "iam")
                            .all(|c| c.status == cloudscan_inventory::CoverageStatus::Complete)
                            && inv.coverage.iter().any(|c| c.service == "iam");
                        if !(scanned && complete) {
                            continue;
                        }
                        format!(
                            "`{value}` does not exist in the scanned {} (its identities were read completely)",
                            value_scope(mechanism, value).unwrap_or_default()
                        )
                    }
                };
                out.push(BrokenBinding {
                    scope: cluster.scope.clone(),
                    region: cluster.region.clone(),
                    cluster: cluster.name.clone(),
                    context: kc.context.clone(),
                    namespace: sa.namespace.clone(),
                    service_account: sa.name.clone(),
                    annotation: annotation.to_string(),
                    value: value.clone(),
                    identity: identity.map(|i| i.id.clone()),
                    why,
                    pods: pods_of(kc, &sa.namespace, &sa.name),
                });
            }
        }
    }
    out
}

/// Workload-identity trusts that admit a pattern (`ns/*`, `*/*`) where the read cluster shows
/// which annotated service accounts use the identity.
pub fn broader_than_used(inv: &Inventory) -> Vec<BroaderThanUsed> {
    let mut out = Vec::new();
    for kc in &inv.kubernetes {
        if !kc.is_complete("serviceaccounts") {
            continue;
        }
        let Some(cluster) = inv.clusters.iter().find(|c| c.id == kc.cluster_id) else {
            continue;
        };
        for b in &cluster.workload_identity.bindings {
            let wild = |s: &str| s.contains('*') || s.contains('?');
            if !(wild(&b.namespace) || wild(&b.service_account)) {
                continue;
            }
            let Some(annotation) = ANNOTATIONS
                .iter()
                .find(|(_, m)| *m == b.mechanism)
                .map(|(a, _)| *a)
            else {
                continue;
            };
            let used_by: Vec<String> = kc
                .service_accounts
                .iter()
                .filter(|sa| {
                    glob(&b.namespace, &sa.namespace) && glob(&b.service_account, &sa.name)
                })
                .filter(|sa| {
                    sa.annotations.get(annotation).is_some_and(|v| {
                        resolve(inv, &b.mechanism, v).is_some_and(|i| i.id == b.identity)
                    })
                })
                .map(|sa| format!("{}/{}", sa.namespace, sa.name))
                .collect();
            out.push(BroaderThanUsed {
                scope: cluster.scope.clone(),
                region: cluster.region.clone(),
                cluster: cluster.name.clone(),
                context: kc.context.clone(),
                identity: b.identity.clone(),
                mechanism: b.mechanism.clone(),
                admitted: format!("{}/{}", b.namespace, b.service_account),
                used_by,
            });
        }
    }
    out
}

/// A cloud identity mapped into a Kubernetes group that holds cluster-admin.
#[derive(Debug, Clone, PartialEq)]
pub struct AdminMapping {
    pub scope: String,
    pub region: String,
    pub cluster: String,
    pub context: String,
    /// The ARN as the mapping writes it.
    pub mapped: String,
    /// The scanned identity it is (path-insensitive), if found.
    pub identity: Option<String>,
    pub username: Option<String>,
    pub groups: Vec<String>,
    /// Where the mapping lives (`kube-system/aws-auth mapRoles[i]`).
    pub source: String,
}

/// The group every member of which is cluster-admin (bound by the bootstrap policy and not
/// removable through RBAC).
pub const MASTERS: &str = "system:masters";

/// `aws-auth` role mappings into `system:masters`, in every read cluster.
pub fn admin_mappings(inv: &Inventory) -> Vec<AdminMapping> {
    let mut out = Vec::new();
    for kc in &inv.kubernetes {
        let Some(auth) = &kc.aws_auth else {
            continue;
        };
        let Some(cluster) = inv.clusters.iter().find(|c| c.id == kc.cluster_id) else {
            continue;
        };
        for (i, m) in auth.map_roles.iter().enumerate() {
            if !m.groups.iter().any(|g| g == MASTERS) {
                continue;
            }
            out.push(AdminMapping {
                scope: cluster.scope.clone(),
                region: cluster.region.clone(),
                cluster: cluster.name.clone(),
                context: kc.context.clone(),
                mapped: m.arn.clone(),
                identity: inv
                    .identities
                    .iter()
                    .find(|id| same_role(&id.id, &m.arn))
                    .map(|id| id.id.clone()),
                username: m.username.clone(),
                groups: m.groups.clone(),
                source: format!("kube-system/aws-auth data.mapRoles[{i}]"),
            });
        }
    }
    out
}
