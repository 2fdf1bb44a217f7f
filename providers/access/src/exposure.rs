//! Who can use an identity: the node pools whose processes (and, when the metadata service
//! answers them, pods) can act as it, and the Kubernetes service accounts bound to it. Computed
//! once per inventory; the identity rules, the metadata rule and the `access` report read it.

use crate::{NamedPolicy, Policy};
use cloudscan_inventory::{
    Cited, Cluster, Identity, Inventory, MetadataLevel, MetadataSetting, NodePool, PolicyDoc,
    UsedBy, WorkloadBinding,
};
use std::fmt;
use std::sync::Arc;

/// The Cluster side: what a cluster's own API shows about who reaches an identity.
pub mod cluster;

/// A setting of the metadata service that lets pods obtain the node's credentials.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MetadataWeakness {
    /// The pool serves the node's metadata server to pods instead of a workload-aware one
    /// (GKE `GCE_METADATA`).
    NodeMetadataServer,
    /// Session tokens are optional (IMDSv1).
    TokensOptional,
    /// The token response travels more than one hop, so it reaches the pod network.
    HopLimit(u32),
    /// A launch template version leaves this metadata option (`HttpTokens` or
    /// `HttpPutResponseHopLimit`) unset, so new nodes inherit it from the AMI (`ImdsSupport`)
    /// or the account's instance metadata defaults (`ModifyInstanceMetadataDefaults`), neither
    /// of which the scan reads: the value nodes get is not known, and it may be IMDSv1 or a hop
    /// limit of 2 (EC2 User Guide, "Configure the Instance Metadata Service options", order of
    /// precedence).
    NotSet(&'static str),
}

impl MetadataWeakness {
    /// Short form, for "who can use it".
    pub fn short(&self) -> String {
        match self {
            MetadataWeakness::NodeMetadataServer => "GCE metadata server".to_string(),
            MetadataWeakness::TokensOptional => "IMDSv1 allowed".to_string(),
            MetadataWeakness::HopLimit(h) => format!("IMDS hop limit {h}"),
            MetadataWeakness::NotSet(field) => format!("IMDS {field} inherited, not known"),
        }
    }

    /// Sentence form, for a finding's message.
    pub fn explain(&self) -> String {
        match self {
            MetadataWeakness::NodeMetadataServer => {
                "the pool uses the GCE metadata server, not GKE_METADATA".to_string()
            }
            MetadataWeakness::TokensOptional => {
                "IMDSv1 is allowed (session tokens optional)".to_string()
            }
            MetadataWeakness::HopLimit(h) => format!("the hop limit is {h}"),
            MetadataWeakness::NotSet(field) => format!(
                "the launch template does not set {field}, so nodes inherit it from the AMI or the account default and its value is not known (it may allow pods through)"
            ),
        }
    }

    /// Any pod (and any SSRF bug) gets the credentials with one plain request, rather than only
    /// pods that can complete a token exchange across hops.
    pub fn is_direct(&self) -> bool {
        !matches!(
            self,
            MetadataWeakness::HopLimit(_) | MetadataWeakness::NotSet(_)
        )
    }
}

/// The weaknesses of one metadata setting, most direct first (none if the endpoint is off).
pub fn weaknesses(m: &MetadataSetting) -> Vec<MetadataWeakness> {
    let mut out = Vec::new();
    if m.endpoint_enabled == Some(false) {
        return out;
    }
    if m.mode.as_deref() == Some("GCE_METADATA") {
        out.push(MetadataWeakness::NodeMetadataServer);
    }
    if m.tokens_required == Some(false) {
        out.push(MetadataWeakness::TokensOptional);
    }
    if let Some(h) = m.hop_limit.filter(|h| *h > 1) {
        out.push(MetadataWeakness::HopLimit(h));
    }
    // Unknown is never a pass: a launch template version that leaves an option unset gives
    // nodes a value the scan cannot see. (Instances always report their effective options, and
    // GKE node pools are judged by `mode`.)
    if m.level_kind() == MetadataLevel::LaunchTemplate && m.mode.is_none() {
        if m.tokens_required.is_none() {
            out.push(MetadataWeakness::NotSet("HttpTokens"));
        }
        if m.hop_limit.is_none() && m.tokens_required != Some(false) {
            out.push(MetadataWeakness::NotSet("HttpPutResponseHopLimit"));
        }
    }
    out
}

/// The setting's fields behind its weaknesses, for evidence.
fn setting_evidence(m: &MetadataSetting, found: &[MetadataWeakness]) -> Vec<Cited> {
    if found.contains(&MetadataWeakness::NodeMetadataServer) {
        return vec![Cited::new(
            &m.source,
            "workloadMetadataConfig.mode",
            "GCE_METADATA",
        )];
    }
    vec![
        Cited::new(
            &m.source,
            "HttpTokens",
            match m.tokens_required {
                Some(true) => "required",
                Some(false) => "optional",
                None => "not set",
            },
        ),
        match m.hop_limit {
            Some(h) => Cited::new(&m.source, "HttpPutResponseHopLimit", h),
            None if found
                .iter()
                .any(|w| matches!(w, MetadataWeakness::NotSet(_))) =>
            {
                Cited::new(&m.source, "HttpPutResponseHopLimit", "not set")
            }
            None => Cited::new(&m.source, "HttpPutResponseHopLimit", m.hop_limit),
        },
    ]
}

/// How pods on a node pool reach its identity.
#[derive(Debug, Clone, PartialEq)]
pub enum PodReach {
    /// Settings of the pool let pods through (sorted by their short form, once each).
    Settings(Vec<MetadataWeakness>),
    /// The platform serves the metadata service to pods unless something blocks it.
    PlatformDefault(&'static str),
    /// No setting shows pods reaching the metadata service.
    NotShown,
}

/// How one user reaches an identity.
#[derive(Debug, Clone, PartialEq)]
pub enum Route {
    /// The processes on a node pool's nodes (and pods, per `pods`).
    NodePool { pool: String, pods: PodReach },
    /// A Kubernetes service account bound to the identity (namespace and name may be
    /// patterns); `mechanism` names the binding (`irsa`, `gke-workload-identity`, ...).
    Workload {
        namespace: String,
        service_account: String,
        mechanism: String,
    },
}

/// Who can act as an identity, in one cluster.
#[derive(Debug, Clone, PartialEq)]
pub struct Exposure {
    pub cluster: String,
    pub route: Route,
    /// The role-chain hops from the identity this route uses to the identity the exposure is
    /// about (empty: the route uses it directly). Built by [`crate::chain`].
    pub via: Vec<crate::chain::Hop>,
    /// What the cluster's own API showed, when it was read (`--kubeconfig`, `--kube-replay`):
    /// the pods that reach the identity by workload, and those a NetworkPolicy keeps out.
    pub observed: Option<cluster::Observed>,
    /// The session policy that limits the session this user gets of the identity (an EKS Pod
    /// Identity association's `policy`); None: the user gets the identity's full permissions.
    pub session: Option<Arc<SessionPolicy>>,
}

/// The session policy of an EKS Pod Identity association: the association's pods get the
/// permissions of the role they end up with intersected with it (EKS API Reference,
/// `CreatePodIdentityAssociation` `policy`). With a `targetRoleArn` it limits the target
/// role's session only, not the association role's.
#[derive(Debug, Clone, PartialEq)]
pub struct SessionPolicy {
    /// Which association sets it (`pod identity association NS/SA in cluster C`).
    pub source: String,
    /// The parsed policy, or why it could not be read: an unreadable policy narrows nothing.
    pub policy: Result<NamedPolicy, String>,
}

impl SessionPolicy {
    /// The session policy of an association's inventory document.
    pub fn from_doc(doc: &PolicyDoc) -> SessionPolicy {
        let source = format!("session policy of {}", doc.name);
        let policy = match &doc.document {
            Some(value) => Policy::from_value(value)
                .map(|p| NamedPolicy::new(source.clone(), p))
                .map_err(|e| format!("it could not be parsed: {e}")),
            None => Err(format!(
                "it could not be decoded: {}",
                doc.error.as_deref().unwrap_or("not collected")
            )),
        };
        SessionPolicy { source, policy }
    }
}

impl Exposure {
    /// Whether pods can act as the identity.
    pub fn pods(&self) -> bool {
        match &self.route {
            Route::NodePool { pods, .. } => !matches!(pods, PodReach::NotShown),
            Route::Workload { .. } => true,
        }
    }

    /// The node pool, for a node-pool route.
    pub fn node_pool(&self) -> Option<&str> {
        match &self.route {
            Route::NodePool { pool, .. } => Some(pool),
            Route::Workload { .. } => None,
        }
    }
}

impl fmt::Display for Exposure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.fmt_route(f)?;
        match &self.observed {
            Some(observed) => write!(f, "{observed}"),
            None => Ok(()),
        }
    }
}

impl Exposure {
    fn fmt_route(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let cluster = &self.cluster;
        match &self.route {
            Route::NodePool { pool, pods } => match pods {
                PodReach::Settings(found) => {
                    let why: Vec<String> = found.iter().map(MetadataWeakness::short).collect();
                    let unknown_only = found
                        .iter()
                        .all(|w| matches!(w, MetadataWeakness::NotSet(_)));
                    write!(
                        f,
                        "{}every pod on node pool `{pool}` in cluster `{cluster}` ({})",
                        if unknown_only { "possibly " } else { "" },
                        why.join(", ")
                    )
                }
                PodReach::PlatformDefault(why) => write!(
                    f,
                    "every pod on node pool `{pool}` in cluster `{cluster}` ({why})"
                ),
                PodReach::NotShown => write!(
                    f,
                    "processes on the nodes of node pool `{pool}` in cluster `{cluster}` (pods are not shown to reach the metadata service)"
                ),
            },
            Route::Workload {
                namespace,
                service_account,
                mechanism,
            } => write!(
                f,
                "service account `{namespace}/{service_account}` in cluster `{cluster}` ({mechanism})"
            ),
        }
    }
}

fn find_pool<'a>(inv: &'a Inventory, cluster: &str, pool: &str) -> Option<&'a NodePool> {
    inv.clusters
        .iter()
        .find(|c| c.name == cluster)
        .and_then(|c| c.node_pools.iter().find(|p| p.name == pool))
}

/// How pods on `pool` reach the pool's identity.
fn pod_reach(inv: &Inventory, pool: Option<&NodePool>) -> PodReach {
    let mut found: Vec<MetadataWeakness> = pool
        .map(|p| p.metadata.iter().flat_map(weaknesses).collect())
        .unwrap_or_default();
    found.sort_by_key(MetadataWeakness::short);
    found.dedup();
    if !found.is_empty() {
        return PodReach::Settings(found);
    }
    match inv.provider.vocabulary().metadata_open_by_default {
        Some(why) => PodReach::PlatformDefault(why),
        None => PodReach::NotShown,
    }
}

/// Everyone who can act as the identity `used_by` lists, with how pods reach it.
pub fn exposures(inv: &Inventory, used_by: &[UsedBy]) -> Vec<Exposure> {
    used_by
        .iter()
        .map(|u| match u {
            UsedBy::NodePool { cluster, pool } => {
                let pods = pod_reach(inv, find_pool(inv, cluster, pool));
                Exposure {
                    cluster: cluster.clone(),
                    observed: cluster::node_pool_reach(
                        inv,
                        cluster,
                        pool,
                        !matches!(pods, PodReach::NotShown),
                    ),
                    route: Route::NodePool {
                        pool: pool.clone(),
                        pods,
                    },
                    via: Vec::new(),
                    session: None,
                }
            }
            UsedBy::Workload {
                cluster,
                namespace,
                service_account,
                mechanism,
            } => Exposure {
                cluster: cluster.clone(),
                observed: cluster::workload_reach(
                    inv,
                    cluster,
                    namespace,
                    service_account,
                    mechanism,
                ),
                route: Route::Workload {
                    namespace: namespace.clone(),
                    service_account: service_account.clone(),
                    mechanism: mechanism.clone(),
                },
                via: Vec::new(),
                session: None,
            },
        })
        .collect()
}

/// The session policy a Pod Identity binding sets on the session of `role`: the target role's
/// when the binding has a `targetRoleArn` (the association role's session is not limited), the
/// association role's otherwise.
pub fn binding_session(b: &WorkloadBinding, role: &str) -> Option<Arc<SessionPolicy>> {
    let doc = b.session_policy.as_ref()?;
    let acting = b
        .target_identity
        .as_deref()
        .filter(|t| !t.is_empty())
        .unwrap_or(&b.identity);
    (b.mechanism == "pod-identity" && acting == role)
        .then(|| Arc::new(SessionPolicy::from_doc(doc)))
}

/// [`exposures`] of one identity, with the session policies its Pod Identity associations set.
pub fn identity_exposures(inv: &Inventory, identity: &Identity) -> Vec<Exposure> {
    let mut out = exposures(inv, &identity.used_by);
    for e in &mut out {
        let Route::Workload {
            namespace,
            service_account,
            mechanism,
        } = &e.route
        else {
            continue;
        };
        if mechanism != "pod-identity" {
            continue;
        }
        e.session = inv
            .clusters
            .iter()
            .filter(|c| c.name == e.cluster)
            .flat_map(|c| &c.workload_identity.bindings)
            .filter(|b| {
                &b.namespace == namespace
                    && &b.service_account == service_account
                    && b.identity == identity.id
            })
            .find_map(|b| binding_session(b, &identity.id));
    }
    out
}

/// One metadata setting through which pods can obtain a node identity.
#[derive(Debug, Clone, PartialEq)]
pub struct MetadataExposure {
    pub scope: String,
    pub region: String,
    pub cluster: String,
    pub pool: String,
    /// The resource the setting lives on (launch template version, instance, node pool).
    pub resource: String,
    /// The node identity, as a phrase (`node role \`arn\``, or `the node identity`).
    pub identity: String,
    /// Which nodes the setting governs, as a phrase.
    pub nodes: &'static str,
    pub weaknesses: Vec<MetadataWeakness>,
    pub evidence: Vec<Cited>,
}

impl MetadataExposure {
    /// Whether any weakness is direct (see [`MetadataWeakness::is_direct`]).
    pub fn is_direct(&self) -> bool {
        self.weaknesses.iter().any(MetadataWeakness::is_direct)
    }
}

/// Every metadata setting of every node pool that lets pods reach the node identity.
pub fn metadata_exposures(inv: &Inventory) -> Vec<MetadataExposure> {
    let noun = inv.provider.vocabulary().node_identity;
    let mut out = Vec::new();
    for c in &inv.clusters {
        for pool in &c.node_pools {
            for m in &pool.metadata {
                let found = weaknesses(m);
                if found.is_empty() {
                    continue;
                }
                out.push(metadata_exposure(c, pool, m, noun, found));
            }
        }
    }
    out
}

fn metadata_exposure(
    c: &Cluster,
    pool: &NodePool,
    m: &MetadataSetting,
    noun: &str,
    found: Vec<MetadataWeakness>,
) -> MetadataExposure {
    MetadataExposure {
        scope: c.scope.clone(),
        region: c.region.clone(),
        cluster: c.name.clone(),
        pool: pool.name.clone(),
        resource: m.resource.clone(),
        identity: pool
            .identity
            .as_deref()
            .map(|r| format!("{noun} `{r}`"))
            .unwrap_or_else(|| "the node identity".to_string()),
        nodes: match m.level_kind() {
            MetadataLevel::LaunchTemplate => "nodes launched from this template",
            MetadataLevel::NodePool => "every node of the pool",
            MetadataLevel::Instance => "this node",
        },
        evidence: setting_evidence(m, &found),
        weaknesses: found,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use cloudscan_inventory::Provider;

    #[test]
    fn node_pool_exposure_names_the_settings_once_and_sorted() {
        let mut inv: Inventory = serde_json::from_value(serde_json::json!({"clusters": [{
            "name": "c", "node_pools": [{"name": "p", "metadata": [
                {"tokens_required": false, "hop_limit": 2},
                {"tokens_required": false}]}]}]}))
        .expect("inventory");
        let used = [UsedBy::NodePool {
            cluster: "c".into(),
            pool: "p".into(),
        }];
        let e = exposures(&inv, &used);
        assert!(e[0].pods());
        assert_eq!(
            e[0].to_string(),
            "every pod on node pool `p` in cluster `c` (IMDS hop limit 2, IMDSv1 allowed)"
        );
        inv.clusters[0].node_pools[0].metadata.clear();
        assert!(!exposures(&inv, &used)[0].pods());
        inv.provider = Provider::Azure;
        assert!(exposures(&inv, &used)[0].pods());
    }

    fn lt(tokens: Option<bool>, hop: Option<u32>) -> MetadataSetting {
        MetadataSetting {
            level: "launch-template".to_string(),
            resource: "lt-1".to_string(),
            tokens_required: tokens,
            hop_limit: hop,
            source:
                "ec2:DescribeLaunchTemplateVersions lt version 1 launchTemplateData.metadataOptions"
                    .to_string(),
            ..Default::default()
        }
    }

    #[test]
    fn a_launch_template_without_metadata_options_is_unknown_not_safe() {
        // Nothing set: both options are inherited.
        assert_eq!(
            weaknesses(&lt(None, None)),
            vec![
                MetadataWeakness::NotSet("HttpTokens"),
                MetadataWeakness::NotSet("HttpPutResponseHopLimit")
            ]
        );
        // Setting them flips it: required + 1 is no weakness.
        assert!(weaknesses(&lt(Some(true), Some(1))).is_empty());
        // Tokens required, hop limit inherited (an AMI with ImdsSupport v2.0 gives 2).
        assert_eq!(
            weaknesses(&lt(Some(true), None)),
            vec![MetadataWeakness::NotSet("HttpPutResponseHopLimit")]
        );
        // Tokens inherited, hop limit set to 1.
        assert_eq!(
            weaknesses(&lt(None, Some(1))),
            vec![MetadataWeakness::NotSet("HttpTokens")]
        );
        // Endpoint disabled: nothing to reach, known.
        let mut off = lt(None, None);
        off.endpoint_enabled = Some(false);
        assert!(weaknesses(&off).is_empty());
        // An instance reports its effective options; an unset field there is not "inherited".
        let mut instance = lt(None, None);
        instance.level = "instance".to_string();
        assert!(weaknesses(&instance).is_empty());
        // Unknown is not direct (medium, not high).
        assert!(!MetadataWeakness::NotSet("HttpTokens").is_direct());
    }

    #[test]
    fn an_unknown_launch_template_exposure_says_possibly() {
        let mut inv: Inventory = serde_json::from_value(serde_json::json!({"provider": "aws",
            "clusters": [{"name": "c", "node_pools": [{"name": "p"}]}]}))
        .expect("inventory");
        inv.clusters[0].node_pools[0]
            .metadata
            .push(lt(None, Some(1)));
        let used = [UsedBy::NodePool {
            cluster: "c".into(),
            pool: "p".into(),
        }];
        let e = exposures(&inv, &used);
        assert!(e[0].pods());
        assert_eq!(
            e[0].to_string(),
            "possibly every pod on node pool `p` in cluster `c` (IMDS HttpTokens inherited, not known)"
        );
        let m = metadata_exposures(&inv);
        assert_eq!(m.len(), 1);
        assert!(!m[0].is_direct());
        inv.clusters[0].node_pools[0].metadata[0] = lt(Some(true), Some(1));
        assert!(metadata_exposures(&inv).is_empty());
        assert!(!exposures(&inv, &used)[0].pods());
    }
}
