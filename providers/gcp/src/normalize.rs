//! Turns the raw GCP records into the cloud-neutral inventory. Pure and synchronous.

use crate::collect::{
    Binding, Policy, RawCluster, RawDisk, RawNodePool, RawProject, RawRole, RawServiceAccount,
};
use crate::schema::{
    CURRENT_DECRYPTED, CURRENT_ERROR_STATES, DECRYPTED_STATE, ENCRYPTED_STATES, GCE_METADATA,
    GKE_METADATA, LOG_COMPONENTS, MODE_UNSPECIFIED,
};
use cloudscan_inventory::{
    AuditLogging, AuditTrail, BindingCondition, Cluster, ClusterAuth, Coverage, Endpoint, Identity,
    Inventory, KeyRef, KeyState, ManagementEvents, MetadataSetting, Node, NodePool, PolicyDoc,
    Provider, RoleBinding, RoleDefinition, Scope, SecretsEncryption, UsedBy, Volume,
    WorkloadBinding, WorkloadIdentity,
};
use std::collections::{BTreeMap, BTreeSet};

/// Everything collected in one project. `None` means "could not be collected" (see coverage).
#[derive(Debug, Default, Clone)]
pub struct ProjectScan {
    pub id: String,
    pub project: Option<RawProject>,
    pub clusters: Option<Vec<RawCluster>>,
    pub policy: Option<Policy>,
    pub service_accounts: Option<Vec<RawServiceAccount>>,
    /// Service account email → its IAM policy (only the ones that could be read).
    pub sa_policies: BTreeMap<String, Policy>,
    pub disks: Option<Vec<RawDisk>>,
    /// The project's folders and organization, nearest first, with their IAM policies.
    pub ancestors: Vec<Ancestor>,
    /// Every ancestor and its policy were read, up to the organization (or a parentless folder).
    pub ancestry_complete: bool,
}

/// A folder or organization above a project: its IAM policy is inherited by the project.
#[derive(Debug, Default, Clone)]
pub struct Ancestor {
    /// `folders/ID` or `organizations/ID`.
    pub resource: String,
    /// `None`: could not be read (`error` says why).
    pub policy: Option<Policy>,
    pub error: Option<String>,
}

/// Everything the collectors gathered.
#[derive(Debug, Default, Clone)]
pub struct RawScan {
    pub caller: Option<String>,
    pub projects: Vec<ProjectScan>,
    /// Role name → definition, or why it could not be read.
    pub roles: BTreeMap<String, Result<RawRole, String>>,
    pub coverage: Vec<Coverage>,
}

pub const WORKLOAD_IDENTITY_USER: &str = "roles/iam.workloadIdentityUser";
pub const TOKEN_CREATOR: &str = "roles/iam.serviceAccountTokenCreator";
pub const MECHANISM: &str = "gke-workload-identity";
const CLUSTERS_LIST: &str = "container projects.locations.clusters.list";
const GET_IAM_POLICY: &str = "cloudresourcemanager projects.getIamPolicy";
const SA_GET_IAM_POLICY: &str = "iam projects.serviceAccounts.getIamPolicy";

/// How `endpoint.public_cidrs` names the public addresses of Google Cloud
/// (`gcpPublicCidrsAccessEnabled`): not a CIDR, so the rules count it as public (an allow-list
/// entry they cannot parse is never called safe) but not as the whole internet.
pub const GCP_PUBLIC_CIDRS: &str = "Google Cloud public IP addresses (gcpPublicCidrsAccessEnabled)";

/// The email of a project's Compute Engine default service account.
pub fn default_compute_sa(project_number: &str) -> String {
    format!("{project_number}-compute@developer.gserviceaccount.com")
}

/// Who a principal identifier admits among Kubernetes workloads: a pool (`*`: any pool),
/// namespace and Kubernetes service account (`*`: all), and optionally one cluster (its
/// `projects/P/locations/L/clusters/C` path).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorkloadMember {
    pub pool: String,
    pub namespace: String,
    pub ksa: String,
    pub cluster: Option<String>,
}

/// The public principals of IAM (`allUsers`: anyone; `allAuthenticatedUsers`: any Google
/// account or service account, so any workload with any Google credential).
pub const PUBLIC_MEMBERS: &[&str] = &["allUsers", "allAuthenticatedUsers"];

/// `projects/P/locations/L/clusters/C` from a cluster URL or resource name (the v1 `zones/Z`
/// form of zonal clusters is read as `locations/Z`).
fn cluster_path(url: &str) -> Option<String> {
    let start = url.find("projects/")?;
    let parts: Vec<&str> = url[start..].split('/').collect();
    match parts.as_slice() {
        ["projects", p, "locations" | "zones", l, "clusters", c]
            if !p.is_empty() && !l.is_empty() && !c.is_empty() =>
        {
            Some(format!("projects/{p}/locations/{l}/clusters/{c}"))
        }
        _ => None,
    }
}

/// Parses every documented principal identifier that can stand for Kubernetes workloads
/// (IAM "Principal identifiers"; GKE "Workload Identity Federation for GKE"):
///
/// - `serviceAccount:POOL[NAMESPACE/KSA]` (the legacy form, for impersonation);
/// - `principal://iam.googleapis.com/projects/N/locations/global/workloadIdentityPools/POOL/subject/ns/NAMESPACE/sa/KSA`;
/// - `principalSet://…/workloadIdentityPools/POOL/namespace/NAMESPACE`;
/// - `principalSet://…/workloadIdentityPools/POOL/kubernetes.cluster/https://container.googleapis.com/v1/projects/P/locations/L/clusters/C`;
/// - `principalSet://…/workloadIdentityPools/POOL/*` (every identity of the pool);
/// - `principalSet://…/workloadIdentityPools/POOL/group/G` and `…/attribute.NAME/VALUE` (the
///   generic pool forms of the policy schema): which workloads they admit depends on the pool's
///   attribute mapping, which is not read, so they count as the whole pool (never narrower than
///   the truth);
/// - `allUsers`, `allAuthenticatedUsers` (everyone, so every workload of every pool).
pub fn parse_workload_member(member: &str) -> Option<WorkloadMember> {
    let any = |cluster: Option<String>, pool: &str| WorkloadMember {
        pool: pool.to_string(),
        namespace: "*".to_string(),
        ksa: "*".to_string(),
        cluster,
    };
    if PUBLIC_MEMBERS.contains(&member) {
        return Some(any(None, "*"));
    }
    if let Some(rest) = member.strip_prefix("serviceAccount:") {
        let (pool, subject) = rest.split_once('[')?;
        let subject = subject.strip_suffix(']')?;
        let (namespace, ksa) = subject.split_once('/')?;
        if pool.is_empty() || namespace.is_empty() || ksa.is_empty() || ksa.contains('/') {
            return None;
        }
        return Some(WorkloadMember {
            pool: pool.to_string(),
            namespace: namespace.to_string(),
            ksa: ksa.to_string(),
            cluster: None,
        });
    }
    let (set, rest) = match (
        member.strip_prefix("principal://"),
        member.strip_prefix("principalSet://"),
    ) {
        (Some(rest), _) => (false, rest),
        (_, Some(rest)) => (true, rest),
        _ => return None,
    };
    let rest = rest.strip_prefix("iam.googleapis.com/projects/")?;
    let (number, rest) = rest.split_once('/')?;
    if number.is_empty() {
        return None;
    }
    let rest = rest.strip_prefix("locations/global/workloadIdentityPools/")?;
    let (pool, tail) = rest.split_once('/')?;
    if pool.is_empty() {
        return None;
    }
    if set {
        if let Some(url) = tail.strip_prefix("kubernetes.cluster/") {
            return cluster_path(url).map(|c| any(Some(c), pool));
        }
        let generic = tail.split_once('/').is_some_and(|(kind, value)| {
            (kind == "group"
                || kind
                    .strip_prefix("attribute.")
                    .is_some_and(|a| !a.is_empty()))
                && !value.is_empty()
        });
        if generic {
            return Some(any(None, pool));
        }
    }
    let parts: Vec<&str> = tail.split('/').collect();
    let (namespace, ksa) = match (set, parts.as_slice()) {
        (false, ["subject", "ns", ns, "sa", sa]) => (*ns, *sa),
        (true, ["namespace", ns]) => (*ns, "*"),
        (true, ["*"]) => ("*", "*"),
        _ => return None,
    };
    if namespace.is_empty() || ksa.is_empty() {
        return None;
    }
    Some(WorkloadMember {
        pool: pool.to_string(),
        namespace: namespace.to_string(),
        ksa: ksa.to_string(),
        cluster: None,
    })
}

/// A GKE workload identity member as `(pool, namespace, kubernetes service account)`, with `*`
/// where the member covers a whole namespace, cluster or pool (see [`parse_workload_member`]).
pub fn workload_member(member: &str) -> Option<(String, String, String)> {
    parse_workload_member(member).map(|m| (m.pool, m.namespace, m.ksa))
}

/// A plain service account member (`serviceAccount:EMAIL`, not a workload identity member).
fn service_account_member(member: &str) -> Option<&str> {
    member
        .strip_prefix("serviceAccount:")
        .filter(|email| !email.contains('[') && email.contains('@'))
}

fn condition(b: &Binding) -> Option<BindingCondition> {
    b.condition.as_ref().map(|c| BindingCondition {
        title: c.title.clone(),
        expression: c.expression.clone(),
        description: c.description.clone(),
    })
}

/// A grant that lets a Kubernetes service account act as a cloud identity.
#[derive(Debug, Clone)]
struct WorkloadGrant {
    pool: String,
    namespace: String,
    ksa: String,
    /// Only this cluster (`projects/P/locations/L/clusters/C`), when the member names one.
    cluster: Option<String>,
    /// The GSA email, or the principal itself for direct (SA-less) grants.
    identity: String,
}

fn project_number(p: &ProjectScan) -> Option<String> {
    if let Some(n) = p.project.as_ref().and_then(RawProject::number) {
        return Some(n);
    }
    p.service_accounts.as_ref().and_then(|sas| {
        sas.iter().find_map(|sa| {
            sa.email
                .strip_suffix("-compute@developer.gserviceaccount.com")
                .filter(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
                .map(str::to_string)
        })
    })
}

/// The audit-config service names that cover GKE and the Kubernetes API it serves.
pub const GKE_AUDIT_SERVICES: &[&str] = &["container.googleapis.com", "allServices"];

pub use crate::schema::DATA_ACCESS_LOG_TYPES;

/// Which Data Access audit log types are on for GKE, from auditConfigs
/// (`container.googleapis.com` or `allServices`). The effective configuration of a project is
/// the union of its own and its ancestors' (Cloud Audit Logs: "Configure Data Access audit
/// logs").
fn gke_audit_types<'a>(policies: impl IntoIterator<Item = &'a Policy>) -> BTreeSet<String> {
    policies
        .into_iter()
        .flat_map(|p| p.audit_configs.iter())
        .filter(|c| GKE_AUDIT_SERVICES.contains(&c.service.as_str()))
        .flat_map(|c| c.audit_log_configs.iter().map(|l| l.log_type.clone()))
        .collect()
}

fn all_services_types<'a>(policies: impl IntoIterator<Item = &'a Policy>) -> BTreeSet<String> {
    policies
        .into_iter()
        .flat_map(|p| p.audit_configs.iter())
        .filter(|c| c.service == "allServices")
        .flat_map(|c| c.audit_log_configs.iter().map(|l| l.log_type.clone()))
        .collect()
}

fn policy_document(policy: &Policy) -> Option<serde_json::Value> {
    serde_json::to_value(policy).ok()
}

fn non_empty(s: &Option<String>) -> Option<&str> {
    s.as_deref().filter(|v| !v.trim().is_empty())
}

fn cluster_id(project: &str, rc: &RawCluster) -> String {
    rc.self_link.clone().unwrap_or_else(|| {
        format!(
            "https://container.googleapis.com/v1/projects/{project}/locations/{}/clusters/{}",
            rc.location, rc.name
        )
    })
}

/// API-server exposure, from the newer `controlPlaneEndpointsConfig` first and the legacy
/// `privateClusterConfig` / `masterAuthorizedNetworksConfig` second.
pub fn endpoint(rc: &RawCluster) -> Endpoint {
    let ip = rc
        .control_plane_endpoints_config
        .as_ref()
        .and_then(|c| c.ip_endpoints_config.as_ref());
    let pcc = rc.private_cluster_config.as_ref();
    let mut notes: Vec<String> = Vec::new();
    let (public, public_from) = if ip.and_then(|i| i.enabled) == Some(false) {
        (
            false,
            "controlPlaneEndpointsConfig.ipEndpointsConfig.enabled = false (DNS endpoint only)",
        )
    } else if let Some(p) = ip.and_then(|i| i.enable_public_endpoint) {
        (
            p,
            "controlPlaneEndpointsConfig.ipEndpointsConfig.enablePublicEndpoint",
        )
    } else if pcc.and_then(|p| p.enable_private_endpoint) == Some(true) {
        (false, "privateClusterConfig.enablePrivateEndpoint")
    } else {
        (
            true,
            "no private-endpoint setting: the public IP endpoint is on (GKE default)",
        )
    };
    let private_endpoint = ip
        .and_then(|i| non_empty(&i.private_endpoint))
        .or_else(|| pcc.and_then(|p| non_empty(&p.private_endpoint)));
    let (networks, networks_from) = match ip.and_then(|i| i.authorized_networks_config.as_ref()) {
        Some(n) => (
            Some(n),
            "controlPlaneEndpointsConfig.ipEndpointsConfig.authorizedNetworksConfig",
        ),
        None => (
            rc.master_authorized_networks_config.as_ref(),
            "masterAuthorizedNetworksConfig",
        ),
    };
    let mut cidrs = Vec::new();
    match networks {
        Some(n) if n.enabled == Some(true) => {
            cidrs.extend(
                n.cidr_blocks
                    .iter()
                    .map(|b| b.cidr_block.clone())
                    .filter(|c| !c.is_empty()),
            );
            // Every Google Cloud VM with an external address (any customer's) may connect:
            // public exposure, though not the whole internet.
            if n.gcp_public_cidrs_access_enabled == Some(true) && public {
                cidrs.push(GCP_PUBLIC_CIDRS.to_string());
                notes.push(
                    "gcpPublicCidrsAccessEnabled: the public IP addresses of every Google Cloud VM may also connect"
                        .to_string(),
                );
            }
        }
        _ if public => {
            cidrs.push("0.0.0.0/0".to_string());
            notes.push(format!(
                "{networks_from} not enabled on a public endpoint: any address may connect"
            ));
        }
        _ => {}
    }
    if let Some(dns) = rc
        .control_plane_endpoints_config
        .as_ref()
        .and_then(|c| c.dns_endpoint_config.as_ref())
    {
        if dns.allow_external_traffic == Some(true) {
            notes.push(
                "dnsEndpointConfig.allowExternalTraffic: the DNS endpoint is reachable from the internet (IAM-authenticated)"
                    .to_string(),
            );
        }
    }
    let mut source =
        format!("{CLUSTERS_LIST} cluster.{networks_from}; public endpoint from {public_from}");
    if !notes.is_empty() {
        source.push_str(&format!(" ({})", notes.join("; ")));
    }
    Endpoint {
        public_access: Some(public),
        private_access: private_endpoint.map(|_| true),
        public_cidrs: cidrs,
        source,
    }
}

fn secrets_encryption(rc: &RawCluster) -> SecretsEncryption {
    let source = format!("{CLUSTERS_LIST} cluster.databaseEncryption");
    let Some(de) = &rc.database_encryption else {
        return SecretsEncryption {
            enabled: None,
            key: None,
            source: format!("{source} (absent: state unknown)"),
        };
    };
    let key_name = non_empty(&de.key_name).map(str::to_string);
    let state = de.state.as_deref().unwrap_or("UNKNOWN");
    let enabled = match state {
        s if ENCRYPTED_STATES.contains(&s) => Some(key_name.is_some()),
        s if s == DECRYPTED_STATE => Some(false),
        _ => match de.current_state.as_deref() {
            Some(s) if s == CURRENT_DECRYPTED => Some(false),
            _ => None,
        },
    };
    // The KMS key itself is not described (no Cloud KMS call): GKE's currentState is the only
    // signal, and an *_ERROR state means the control plane cannot use the key.
    let key = key_name.filter(|_| enabled == Some(true)).map(|id| KeyRef {
        id,
        state: match de.current_state.as_deref() {
            Some(s) if CURRENT_ERROR_STATES.contains(&s) || s.ends_with("_ERROR") => {
                Some(KeyState::Unavailable)
            }
            _ => None,
        },
        raw_state: de.current_state.clone(),
    });
    SecretsEncryption {
        enabled,
        key,
        source: format!("{source} (state {state})"),
    }
}

fn auth(rc: &RawCluster) -> ClusterAuth {
    let mut details = Vec::new();
    if rc.legacy_abac.as_ref().and_then(|a| a.enabled) == Some(true) {
        details.push("legacyAbac.enabled = true (legacy ABAC authorizer)".to_string());
    }
    let ma = rc.master_auth.clone().unwrap_or_default();
    if non_empty(&ma.client_certificate).is_some() {
        details.push(
            "masterAuth.clientCertificate is set (a legacy client certificate was issued)"
                .to_string(),
        );
    } else if ma
        .client_certificate_config
        .as_ref()
        .and_then(|c| c.issue_client_certificate)
        == Some(true)
    {
        details
            .push("masterAuth.clientCertificateConfig.issueClientCertificate = true".to_string());
    }
    if non_empty(&ma.username).is_some() || non_empty(&ma.password).is_some() {
        details.push("masterAuth.username/password are set (basic authentication)".to_string());
    }
    ClusterAuth {
        mode: None,
        local_auth_enabled: Some(!details.is_empty()),
        details,
        access_entries: Vec::new(),
    }
}

/// Every policy that decides a project's audit configuration: its own and its ancestors' that
/// could be read.
fn audit_policies(p: &ProjectScan) -> impl Iterator<Item = &Policy> {
    p.policy
        .iter()
        .chain(p.ancestors.iter().filter_map(|a| a.policy.as_ref()))
}

/// Kubernetes API audit logging of a GKE cluster.
///
/// GKE writes the API server's audit entries to the project's Cloud Audit Logs: requests that
/// change objects (create, update, patch, delete) go to the Admin Activity log, which is always
/// written and cannot be disabled or excluded; reads (get, list, watch) go to the Data Access
/// log, which is written only for the ADMIN_READ / DATA_READ / DATA_WRITE types enabled in the
/// audit configs of the project or an ancestor (GKE "Audit policy", "GKE audit logging
/// information"). So the Kubernetes audit log is always on (`audit_enabled = true`, whatever
/// the cluster's `loggingConfig`, which governs component and workload logs only); the Data
/// Access types are reported as enabled or disabled types, and stay out of both lists when
/// they cannot be known.
fn audit_logging(rc: &RawCluster, p: &ProjectScan) -> AuditLogging {
    let mut enabled: BTreeSet<String> = BTreeSet::new();
    let mut disabled: BTreeSet<String> = BTreeSet::new();
    let logging_off = rc.logging_service.as_deref() == Some("none");
    match &rc.logging_config {
        Some(cfg) if !logging_off => {
            let on: BTreeSet<String> = cfg
                .component_config
                .as_ref()
                .map(|c| c.enable_components.iter().cloned().collect())
                .unwrap_or_default();
            for c in LOG_COMPONENTS {
                if !on.contains(*c) {
                    disabled.insert(c.to_string());
                }
            }
            enabled.extend(on);
        }
        _ if logging_off => {
            disabled.extend(LOG_COMPONENTS.iter().map(|c| c.to_string()));
        }
        _ => {}
    }
    enabled.insert("cloudaudit:ADMIN_ACTIVITY".to_string());
    let types = gke_audit_types(audit_policies(p));
    // A type found on is on whatever else is unread (configs only add up); a type not found is
    // off only when every policy of the ancestry was read.
    let all_read = p.policy.is_some() && p.ancestry_complete;
    for t in DATA_ACCESS_LOG_TYPES {
        let name = format!("cloudaudit:{t}");
        if types.contains(*t) {
            enabled.insert(name);
        } else if all_read {
            disabled.insert(name);
        }
    }
    let unread: Vec<String> = p
        .ancestors
        .iter()
        .filter(|a| a.policy.is_none())
        .map(|a| a.resource.clone())
        .collect();
    let mut source = format!(
        "Kubernetes API writes are in the Admin Activity audit log, always on; reads need Data Access logs (auditConfigs of {} in {GET_IAM_POLICY}",
        GKE_AUDIT_SERVICES.join(" or ")
    );
    if !p.ancestors.is_empty() {
        let read: Vec<&str> = p
            .ancestors
            .iter()
            .filter(|a| a.policy.is_some())
            .map(|a| a.resource.as_str())
            .collect();
        if !read.is_empty() {
            source.push_str(&format!(
                " and the inherited policies of {}",
                read.join(", ")
            ));
        }
    }
    source.push(')');
    if p.policy.is_none() {
        source.push_str("; the project IAM policy could not be read: Data Access logging unknown");
    }
    if !unread.is_empty() {
        source.push_str(&format!(
            "; not read: {} (Data Access types found off may be on there)",
            unread.join(", ")
        ));
    } else if !p.ancestry_complete && p.policy.is_some() {
        source.push_str("; the ancestry could not be walked to the organization");
    }
    source.push_str(&format!(
        " + {CLUSTERS_LIST} cluster.loggingConfig.componentConfig.enableComponents"
    ));
    AuditLogging {
        enabled_types: enabled.into_iter().collect(),
        disabled_types: disabled.into_iter().collect(),
        audit_enabled: Some(true),
        source,
    }
}

/// The instance-name prefixes of a node pool's VMs, from its managed instance groups
/// (`…/instanceGroupManagers/gke-CLUSTER-POOL-HASH-grp` → `gke-CLUSTER-POOL-HASH-`).
fn pool_instance_prefixes(pool: &RawNodePool) -> Vec<String> {
    pool.instance_group_urls
        .iter()
        .filter_map(|u| u.rsplit('/').next())
        .map(|name| {
            let base = name.strip_suffix("-grp").unwrap_or(name);
            format!("{base}-")
        })
        .filter(|p| p.len() > 1)
        .collect()
}

fn last_segment(url: &str) -> &str {
    url.rsplit('/').next().unwrap_or(url)
}

/// The zone or region of a disk, from its URL.
fn disk_location(d: &RawDisk) -> String {
    d.zone
        .as_deref()
        .or(d.region.as_deref())
        .map(last_segment)
        .unwrap_or("global")
        .to_string()
}

/// Role bindings by holder, workload identity grants, and the principals that are not service
/// accounts, gathered from every policy read.
#[derive(Default)]
struct Grants {
    grants: Vec<WorkloadGrant>,
    bindings: BTreeMap<String, Vec<RoleBinding>>,
    /// member -> project
    principals: BTreeMap<String, String>,
}

impl Grants {
    fn bind(&mut self, holder: &str, binding: RoleBinding) {
        let list = self.bindings.entry(holder.to_string()).or_default();
        if !list.contains(&binding) {
            list.push(binding);
        }
    }

    fn grant(&mut self, m: &WorkloadMember, identity: &str) {
        let grant = WorkloadGrant {
            pool: m.pool.clone(),
            namespace: m.namespace.clone(),
            ksa: m.ksa.clone(),
            cluster: m.cluster.clone(),
            identity: identity.to_string(),
        };
        if !self.grants.iter().any(|g| {
            g.pool == grant.pool
                && g.namespace == grant.namespace
                && g.ksa == grant.ksa
                && g.cluster == grant.cluster
                && g.identity == grant.identity
        }) {
            self.grants.push(grant);
        }
    }

    /// A policy of the resource hierarchy (project, folder, organization): it holds on every
    /// resource of the project below it.
    fn hierarchy_policy(
        &mut self,
        resource: &str,
        source: &str,
        policy: &Policy,
        project: &str,
        project_sas: &[&str],
    ) {
        for b in &policy.bindings {
            for member in &b.members {
                let binding = RoleBinding {
                    resource: resource.to_string(),
                    role: b.role.clone(),
                    member: member.clone(),
                    condition: condition(b),
                    source: source.to_string(),
                };
                if let Some(email) = service_account_member(member) {
                    self.bind(email, binding);
                } else if let Some(m) = parse_workload_member(member) {
                    // A direct grant to Kubernetes workloads (or to everyone).
                    self.principals
                        .entry(member.clone())
                        .or_insert_with(|| project.to_string());
                    self.bind(member, binding);
                    self.grant(&m, member);
                    // Impersonation granted on the project or above: every service account of
                    // the project.
                    if b.role == WORKLOAD_IDENTITY_USER || b.role == TOKEN_CREATOR {
                        for sa in project_sas {
                            self.grant(&m, sa);
                        }
                    }
                }
            }
        }
    }

    /// A service account's own policy: who can act as it.
    fn service_account_policy(&mut self, project: &str, email: &str, policy: &Policy) {
        let resource = format!("projects/{project}/serviceAccounts/{email}");
        for b in &policy.bindings {
            for member in &b.members {
                let binding = RoleBinding {
                    resource: resource.clone(),
                    role: b.role.clone(),
                    member: member.clone(),
                    condition: condition(b),
                    source: SA_GET_IAM_POLICY.to_string(),
                };
                if let Some(holder) = service_account_member(member) {
                    self.bind(holder, binding);
                } else if let Some(m) = parse_workload_member(member) {
                    if b.role == WORKLOAD_IDENTITY_USER || b.role == TOKEN_CREATOR {
                        self.grant(&m, email);
                    } else {
                        self.principals
                            .entry(member.clone())
                            .or_insert_with(|| project.to_string());
                        self.bind(member, binding);
                    }
                }
            }
        }
    }
}

pub fn normalize(raw: RawScan) -> Inventory {
    let mut inventory = Inventory::new(Provider::Gcp);
    inventory.caller = raw.caller.clone();

    // Workload identity grants and role bindings from every policy read: the project's, those
    // it inherits from its folders and organization, and each service account's.
    let mut g = Grants::default();
    for p in &raw.projects {
        let project_sas: Vec<&str> = p
            .service_accounts
            .iter()
            .flatten()
            .map(|sa| sa.email.as_str())
            .collect();
        if let Some(policy) = &p.policy {
            let resource = format!("projects/{}", p.id);
            g.hierarchy_policy(&resource, GET_IAM_POLICY, policy, &p.id, &project_sas);
        }
        for a in &p.ancestors {
            if let Some(policy) = &a.policy {
                let source = format!(
                    "cloudresourcemanager {}.getIamPolicy (inherited by projects/{})",
                    a.resource.split('/').next().unwrap_or_default(),
                    p.id
                );
                g.hierarchy_policy(&a.resource, &source, policy, &p.id, &project_sas);
            }
        }
        for (email, policy) in &p.sa_policies {
            g.service_account_policy(&p.id, email, policy);
        }
    }
    let Grants {
        grants,
        mut bindings,
        principals,
    } = g;

    let mut used_by: BTreeMap<String, Vec<UsedBy>> = BTreeMap::new();
    let mut node_sas: BTreeMap<String, String> = BTreeMap::new(); // email -> project
    let mut regions: BTreeSet<String> = BTreeSet::new();

    for p in &raw.projects {
        let project = p.id.as_str();
        inventory.scopes.push(Scope {
            id: p.id.clone(),
            name: p.project.as_ref().and_then(|rp| rp.display_name.clone()),
            partition: None,
        });
        let number = project_number(p);
        let default_sa = number.as_deref().map(default_compute_sa);

        // Node disks, to find nodes and volumes.
        let disks: &[RawDisk] = p.disks.as_deref().unwrap_or(&[]);

        for rc in p.clusters.iter().flatten() {
            regions.insert(rc.location.clone());
            let id = cluster_id(project, rc);
            let pool_name = rc
                .workload_identity_config
                .as_ref()
                .and_then(|w| non_empty(&w.workload_pool))
                .map(str::to_string);
            let autopilot = rc.autopilot.as_ref().and_then(|a| a.enabled) == Some(true);
            let mut cluster = Cluster {
                id: id.clone(),
                name: rc.name.clone(),
                scope: p.id.clone(),
                region: rc.location.clone(),
                version: rc.current_master_version.clone(),
                endpoint: endpoint(rc),
                api_endpoints: rc.endpoint.iter().map(|e| format!("https://{e}")).collect(),
                secrets_encryption: secrets_encryption(rc),
                audit_logging: audit_logging(rc, p),
                auth: auth(rc),
                tags: rc
                    .resource_labels
                    .iter()
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect(),
                ..Default::default()
            };

            // Workload identity.
            let mut wi_bindings: Vec<WorkloadBinding> = Vec::new();
            if let Some(pool) = &pool_name {
                let this = format!(
                    "projects/{project}/locations/{}/clusters/{}",
                    rc.location, rc.name
                );
                for g in grants.iter().filter(|g| {
                    (&g.pool == pool || g.pool == "*")
                        && g.cluster.as_deref().is_none_or(|c| c == this)
                }) {
                    let b = WorkloadBinding {
                        namespace: g.namespace.clone(),
                        service_account: g.ksa.clone(),
                        identity: g.identity.clone(),
                        mechanism: MECHANISM.to_string(),
                        target_identity: None,
                        session_policy: None,
                    };
                    if !wi_bindings.contains(&b) {
                        wi_bindings.push(b);
                    }
                }
            }
            for b in &wi_bindings {
                used_by
                    .entry(b.identity.clone())
                    .or_default()
                    .push(b.user(&rc.name));
            }
            cluster.workload_identity = WorkloadIdentity {
                issuer: pool_name.clone(),
                provider_registered: Some(pool_name.is_some()),
                pod_identity_associations: None,
                enabled: Some(pool_name.is_some() || autopilot),
                bindings: wi_bindings,
            };

            // Node pools.
            for np in &rc.node_pools {
                let config = np.config.clone().unwrap_or_default();
                let configured = non_empty(&config.service_account).map(str::to_string);
                let is_default = match configured.as_deref() {
                    None | Some("default") => true,
                    Some(email) => {
                        default_sa.as_deref() == Some(email)
                            || email.ends_with("-compute@developer.gserviceaccount.com")
                    }
                };
                let identity = match configured.as_deref() {
                    None | Some("default") => default_sa.clone(),
                    Some(email) => Some(email.to_string()),
                };
                let sa_source = match configured.as_deref() {
                    None => "config.serviceAccount unset: the Compute Engine default service account",
                    Some("default") => "config.serviceAccount = \"default\": the Compute Engine default service account",
                    Some(_) => "config.serviceAccount",
                };
                let (mode, mode_source) = match config
                    .workload_metadata_config
                    .as_ref()
                    .and_then(|w| non_empty(&w.mode))
                    .filter(|m| *m != MODE_UNSPECIFIED)
                {
                    Some(m) => (m.to_string(), "config.workloadMetadataConfig.mode".to_string()),
                    None if autopilot => (
                        GKE_METADATA.to_string(),
                        "Autopilot cluster: the GKE metadata server is always on".to_string(),
                    ),
                    None if pool_name.is_some() => (
                        GKE_METADATA.to_string(),
                        "config.workloadMetadataConfig unset: the cluster's workload identity default (GKE_METADATA)".to_string(),
                    ),
                    None => (
                        GCE_METADATA.to_string(),
                        "config.workloadMetadataConfig unset and no workload identity: GCE_METADATA".to_string(),
                    ),
                };
                let pool_id = np
                    .self_link
                    .clone()
                    .unwrap_or_else(|| format!("{id}/nodePools/{}", np.name));
                let exposed = mode == GCE_METADATA;
                let mut pool = NodePool {
                    name: np.name.clone(),
                    id: Some(pool_id.clone()),
                    kind: "managed".to_string(),
                    identity: identity.clone(),
                    oauth_scopes: config.oauth_scopes.clone(),
                    default_service_account: Some(is_default),
                    boot_disk_kms_key: non_empty(&config.boot_disk_kms_key).map(str::to_string),
                    source: format!(
                        "{CLUSTERS_LIST} cluster.nodePools[{}].{sa_source}; config.oauthScopes",
                        np.name
                    ),
                    ..Default::default()
                };
                pool.metadata.push(MetadataSetting {
                    level: "node-pool".to_string(),
                    resource: pool_id.clone(),
                    // GCE_METADATA serves the node service account's token to any pod that
                    // sends `Metadata-Flavor: Google`; the rule reads `mode`.
                    tokens_required: None,
                    hop_limit: None,
                    endpoint_enabled: None,
                    mode: Some(mode.clone()),
                    source: format!(
                        "{CLUSTERS_LIST} cluster.nodePools[{}].{mode_source}{}",
                        np.name,
                        if exposed {
                            " (pods can read the node service account token from the Compute Engine metadata server)"
                        } else {
                            ""
                        }
                    ),
                });
                // Nodes and their disks.
                let prefixes = pool_instance_prefixes(np);
                let belongs = |d: &RawDisk| -> bool {
                    let labelled = d.labels.get("goog-k8s-cluster-name") == Some(&rc.name)
                        && d.labels.get("goog-k8s-node-pool-name") == Some(&np.name);
                    labelled
                        || d.users.iter().any(|u| {
                            let name = last_segment(u);
                            prefixes.iter().any(|p| name.starts_with(p.as_str()))
                        })
                };
                let mut seen_nodes = BTreeSet::new();
                for d in disks.iter().filter(|d| belongs(d)) {
                    for user in &d.users {
                        if seen_nodes.insert(user.clone()) {
                            pool.nodes.push(Node {
                                id: user.clone(),
                                region: disk_location(d),
                                identity: identity.clone(),
                                state: None,
                            });
                        }
                    }
                    let key = d.disk_encryption_key.as_ref().and_then(|k| {
                        non_empty(&k.kms_key_name).map(str::to_string).or_else(|| {
                            non_empty(&k.sha256).map(|_| "customer-supplied key (CSEK)".to_string())
                        })
                    });
                    inventory.volumes.push(Volume {
                        id: d.self_link.clone().unwrap_or_else(|| {
                            format!(
                                "projects/{project}/zones/{}/disks/{}",
                                disk_location(d),
                                d.name
                            )
                        }),
                        scope: p.id.clone(),
                        region: disk_location(d),
                        // Compute Engine encrypts every disk at rest: with Google-managed keys
                        // unless diskEncryptionKey names a Cloud KMS key (CMEK) or a CSEK.
                        encrypted: Some(true),
                        key,
                        attached_to: d.users.clone(),
                        cluster: Some(rc.name.clone()),
                        node_pool: Some(np.name.clone()),
                    });
                }
                if let Some(sa) = &identity {
                    node_sas.insert(sa.clone(), p.id.clone());
                    used_by
                        .entry(sa.clone())
                        .or_default()
                        .push(UsedBy::NodePool {
                            cluster: rc.name.clone(),
                            pool: np.name.clone(),
                        });
                }
                cluster.node_pools.push(pool);
            }
            inventory.clusters.push(cluster);
        }

        // Cloud Audit Logs: Admin Activity is always on; ADMIN_READ on allServices adds reads.
        if p.policy.is_some() {
            let all = all_services_types(audit_policies(p));
            inventory.audit_trails.push(AuditTrail {
                id: format!("projects/{project}/auditConfigs"),
                name: "Cloud Audit Logs".to_string(),
                scope: p.id.clone(),
                region: "global".to_string(),
                multi_region: Some(true),
                logging: Some(true),
                management_events: Some(if all.contains("ADMIN_READ") {
                    ManagementEvents::All
                } else {
                    ManagementEvents::WriteOnly
                }),
                organization_trail: Some(false),
                encrypted_with: None,
            });
        }
    }

    // Identities: every service account listed, then the ones only seen in use or in bindings.
    let mut listed: BTreeSet<String> = BTreeSet::new();
    for p in &raw.projects {
        for sa in p.service_accounts.iter().flatten() {
            if !listed.insert(sa.email.clone()) {
                continue;
            }
            let trust = p.sa_policies.get(&sa.email).map(|policy| PolicyDoc {
                kind: "iam-policy".to_string(),
                name: format!("IAM policy of {}", sa.email),
                document: policy_document(policy).map(Into::into),
                ..Default::default()
            });
            let trust = trust.or_else(|| {
                Some(PolicyDoc {
                    kind: "iam-policy".to_string(),
                    name: format!("IAM policy of {}", sa.email),
                    error: Some("the service account's IAM policy was not collected".to_string()),
                    ..Default::default()
                })
            });
            inventory.identities.push(Identity {
                id: sa.email.clone(),
                name: sa
                    .display_name
                    .clone()
                    .filter(|n| !n.is_empty())
                    .unwrap_or_else(|| sa.email.split('@').next().unwrap_or(&sa.email).to_string()),
                kind: "gcp-service-account".to_string(),
                scope: p.id.clone(),
                used_by: used_by.remove(&sa.email).unwrap_or_default(),
                trust,
                role_bindings: bindings.remove(&sa.email).unwrap_or_default(),
                disabled: Some(sa.disabled == Some(true)),
                ..Default::default()
            });
        }
    }
    for (member, project) in &principals {
        inventory.identities.push(Identity {
            id: member.clone(),
            name: if PUBLIC_MEMBERS.contains(&member.as_str()) {
                member.clone()
            } else {
                workload_member(member)
                    .map(|(_, ns, ksa)| format!("{ns}/{ksa}"))
                    .unwrap_or_else(|| member.clone())
            },
            kind: "gcp-workload-principal".to_string(),
            scope: project.clone(),
            used_by: used_by.remove(member).unwrap_or_default(),
            role_bindings: bindings.remove(member).unwrap_or_default(),
            ..Default::default()
        });
    }
    let leftover: BTreeSet<String> = used_by.keys().chain(bindings.keys()).cloned().collect();
    for email in leftover {
        let scope = node_sas.get(&email).cloned().unwrap_or_else(|| {
            // `sa@PROJECT.iam.gserviceaccount.com`; other forms keep an empty scope.
            email
                .split('@')
                .nth(1)
                .and_then(|d| d.strip_suffix(".iam.gserviceaccount.com"))
                .unwrap_or_default()
                .to_string()
        });
        inventory.identities.push(Identity {
            name: email.split('@').next().unwrap_or(&email).to_string(),
            kind: "gcp-service-account".to_string(),
            scope,
            used_by: used_by.remove(&email).unwrap_or_default(),
            role_bindings: bindings.remove(&email).unwrap_or_default(),
            id: email,
            ..Default::default()
        });
    }

    for (name, role) in &raw.roles {
        let custom = !name.starts_with("roles/");
        inventory.role_definitions.push(match role {
            // A deleted custom role stays in bindings for 7 days but grants nothing ("Deleting a
            // custom role": bindings that refer to it are inactive).
            Ok(r) if r.deleted == Some(true) => RoleDefinition {
                name: name.clone(),
                title: r.title.clone(),
                stage: r.stage.clone(),
                custom,
                deleted: Some(true),
                permissions: Some(Vec::new()),
                error: None,
                source: "iam roles.get deleted = true: the role grants no permission".to_string(),
            },
            Ok(r) => RoleDefinition {
                name: name.clone(),
                title: r.title.clone(),
                stage: r.stage.clone(),
                custom,
                deleted: r.deleted,
                permissions: Some(r.included_permissions.clone()),
                error: None,
                source: "iam roles.get includedPermissions".to_string(),
            },
            Err(e) => RoleDefinition {
                name: name.clone(),
                custom,
                error: Some(e.clone()),
                source: "iam roles.get".to_string(),
                ..Default::default()
            },
        });
    }

    inventory.regions = regions.into_iter().collect();
    inventory.coverage = raw.coverage;
    inventory
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn workload_identity_members_are_parsed() {
        assert_eq!(
            workload_member("serviceAccount:acme.svc.id.goog[payments/api]"),
            Some(("acme.svc.id.goog".into(), "payments".into(), "api".into()))
        );
        assert_eq!(
            workload_member("principal://iam.googleapis.com/projects/123/locations/global/workloadIdentityPools/acme.svc.id.goog/subject/ns/batch/sa/runner"),
            Some(("acme.svc.id.goog".into(), "batch".into(), "runner".into()))
        );
        assert_eq!(
            workload_member("principalSet://iam.googleapis.com/projects/123/locations/global/workloadIdentityPools/acme.svc.id.goog/namespace/jobs"),
            Some(("acme.svc.id.goog".into(), "jobs".into(), "*".into()))
        );
        assert_eq!(
            workload_member("serviceAccount:a@acme.iam.gserviceaccount.com"),
            None
        );
        assert_eq!(workload_member("user:a@example.com"), None);
        assert_eq!(
            workload_member("serviceAccount:acme.svc.id.goog[broken"),
            None
        );
    }

    #[test]
    fn public_endpoint_without_authorized_networks_is_open() {
        let rc: RawCluster = serde_json::from_value(serde_json::json!({
            "name": "c", "location": "us-central1"
        }))
        .expect("cluster");
        let e = endpoint(&rc);
        assert_eq!(e.public_access, Some(true));
        assert_eq!(e.public_cidrs, vec!["0.0.0.0/0".to_string()]);
        assert!(e.source.contains("any address"));

        let private: RawCluster = serde_json::from_value(serde_json::json!({
            "name": "c", "location": "us-central1",
            "privateClusterConfig": {"enablePrivateEndpoint": true, "privateEndpoint": "10.0.0.2"},
            "masterAuthorizedNetworksConfig": {"enabled": true, "cidrBlocks": [{"cidrBlock": "10.0.0.0/8"}]}
        }))
        .expect("cluster");
        let e = endpoint(&private);
        assert_eq!(e.public_access, Some(false));
        assert_eq!(e.private_access, Some(true));
        assert_eq!(e.public_cidrs, vec!["10.0.0.0/8".to_string()]);
    }

    #[test]
    fn new_endpoint_config_wins_over_legacy_fields() {
        let rc: RawCluster = serde_json::from_value(serde_json::json!({
            "name": "c", "location": "us-central1",
            "privateClusterConfig": {"enablePrivateEndpoint": true},
            "controlPlaneEndpointsConfig": {"ipEndpointsConfig": {
                "enabled": true, "enablePublicEndpoint": true,
                "authorizedNetworksConfig": {"enabled": true, "cidrBlocks": [{"cidrBlock": "198.51.100.0/24"}]}
            }}
        }))
        .expect("cluster");
        let e = endpoint(&rc);
        assert_eq!(e.public_access, Some(true));
        assert_eq!(e.public_cidrs, vec!["198.51.100.0/24".to_string()]);
        assert!(e.source.contains("ipEndpointsConfig"));
    }

    const WIF: &str =
        "iam.googleapis.com/projects/123/locations/global/workloadIdentityPools/acme.svc.id.goog";

    fn m(pool: &str, ns: &str, ksa: &str, cluster: Option<&str>) -> Option<WorkloadMember> {
        Some(WorkloadMember {
            pool: pool.into(),
            namespace: ns.into(),
            ksa: ksa.into(),
            cluster: cluster.map(str::to_string),
        })
    }

    #[test]
    fn every_documented_workload_principal_form_is_parsed() {
        let pool = "acme.svc.id.goog";
        assert_eq!(
            parse_workload_member(&format!("principalSet://{WIF}/kubernetes.cluster/https://container.googleapis.com/v1/projects/acme/locations/us-east1/clusters/edge")),
            m(pool, "*", "*", Some("projects/acme/locations/us-east1/clusters/edge"))
        );
        assert_eq!(
            parse_workload_member(&format!("principalSet://{WIF}/kubernetes.cluster/https://container.googleapis.com/v1/projects/acme/zones/us-east1-b/clusters/z")),
            m(pool, "*", "*", Some("projects/acme/locations/us-east1-b/clusters/z"))
        );
        assert_eq!(
            parse_workload_member(&format!("principalSet://{WIF}/*")),
            m(pool, "*", "*", None)
        );
        assert_eq!(
            parse_workload_member(&format!("principalSet://{WIF}/namespace/jobs")),
            m(pool, "jobs", "*", None)
        );
        assert_eq!(
            parse_workload_member(&format!("principal://{WIF}/subject/ns/batch/sa/runner")),
            m(pool, "batch", "runner", None)
        );
        // Generic pool forms: the attribute mapping is not read, so the whole pool.
        for generic in ["group/admins", "attribute.kubernetes_namespace/jobs"] {
            assert_eq!(
                parse_workload_member(&format!("principalSet://{WIF}/{generic}")),
                m(pool, "*", "*", None),
                "{generic}"
            );
        }
        for public in ["allUsers", "allAuthenticatedUsers"] {
            assert_eq!(parse_workload_member(public), m("*", "*", "*", None));
        }
        // Not workload principals, or malformed: refused.
        for other in [
            "user:a@example.com".to_string(),
            "group:g@example.com".to_string(),
            "domain:example.com".to_string(),
            "deleted:serviceAccount:a@acme.iam.gserviceaccount.com?uid=1".to_string(),
            format!("principal://{WIF}/namespace/jobs"),
            format!("principalSet://{WIF}/subject/ns/batch/sa/runner"),
            format!("principalSet://{WIF}/kubernetes.cluster/not-a-cluster"),
            format!("principal://{WIF}/group/admins"),
            format!("principalSet://{WIF}/attribute./x"),
            format!("principal://{WIF}/subject/ns//sa/runner"),
            "principal://iam.googleapis.com/projects/123/locations/global/workloadIdentityPools//subject/ns/a/sa/b".to_string(),
            "serviceAccount:acme.svc.id.goog[a/b/c]".to_string(),
        ] {
            assert_eq!(parse_workload_member(&other), None, "{other}");
        }
    }

    #[test]
    fn gcp_public_cidrs_are_public_exposure_on_a_public_endpoint_only() {
        let with = |public: bool| -> RawCluster {
            serde_json::from_value(serde_json::json!({
                "name": "c", "location": "us-central1",
                "controlPlaneEndpointsConfig": {"ipEndpointsConfig": {
                    "enabled": true, "enablePublicEndpoint": public,
                    "authorizedNetworksConfig": {"enabled": true,
                        "cidrBlocks": [{"cidrBlock": "10.0.0.0/8"}],
                        "gcpPublicCidrsAccessEnabled": true}}}
            }))
            .expect("cluster")
        };
        let e = endpoint(&with(true));
        assert_eq!(
            e.public_cidrs,
            vec!["10.0.0.0/8".to_string(), GCP_PUBLIC_CIDRS.to_string()]
        );
        let e = endpoint(&with(false));
        assert_eq!(e.public_access, Some(false));
        assert_eq!(e.public_cidrs, vec!["10.0.0.0/8".to_string()]);
        // The legacy field says the same.
        let legacy: RawCluster = serde_json::from_value(serde_json::json!({
            "name": "c", "location": "us-central1",
            "masterAuthorizedNetworksConfig": {"enabled": true,
                "gcpPublicCidrsAccessEnabled": true}
        }))
        .expect("cluster");
        assert_eq!(
            endpoint(&legacy).public_cidrs,
            vec![GCP_PUBLIC_CIDRS.to_string()]
        );
    }

    #[test]
    fn a_deleted_custom_role_grants_nothing_and_a_live_one_does() {
        let role = |deleted: Option<bool>| RawRole {
            name: "projects/p/roles/r".into(),
            included_permissions: vec!["secretmanager.versions.access".into()],
            deleted,
            ..Default::default()
        };
        for (deleted, granted) in [(Some(true), false), (Some(false), true), (None, true)] {
            let raw = RawScan {
                roles: BTreeMap::from([("projects/p/roles/r".to_string(), Ok(role(deleted)))]),
                ..Default::default()
            };
            let inv = normalize(raw);
            let def = &inv.role_definitions[0];
            assert_eq!(
                def.permissions.as_ref().is_some_and(|p| !p.is_empty()),
                granted,
                "{deleted:?}"
            );
        }
    }

    #[test]
    fn kubernetes_writes_are_audited_whatever_the_audit_configs_say() {
        let rc: RawCluster = serde_json::from_value(serde_json::json!({
            "name": "c", "location": "us-central1", "loggingService": "none"
        }))
        .expect("cluster");
        let on = Policy {
            audit_configs: vec![crate::collect::AuditConfig {
                service: "container.googleapis.com".into(),
                audit_log_configs: vec![crate::collect::AuditLogConfig {
                    log_type: "DATA_READ".into(),
                    ..Default::default()
                }],
            }],
            ..Default::default()
        };
        // Data Access for GKE from the organization; none in the project.
        let inherited = ProjectScan {
            policy: Some(Policy::default()),
            ancestors: vec![Ancestor {
                resource: "organizations/1".into(),
                policy: Some(on),
                error: None,
            }],
            ancestry_complete: true,
            ..Default::default()
        };
        let a = audit_logging(&rc, &inherited);
        assert_eq!(a.audit_enabled, Some(true));
        assert!(a
            .enabled_types
            .contains(&"cloudaudit:DATA_READ".to_string()));
        assert!(a
            .disabled_types
            .contains(&"cloudaudit:DATA_WRITE".to_string()));
        // Nothing anywhere, even cluster logging off: writes are still audited.
        let none = ProjectScan {
            policy: Some(Policy::default()),
            ancestry_complete: true,
            ..Default::default()
        };
        let a = audit_logging(&rc, &none);
        assert_eq!(a.audit_enabled, Some(true));
        assert!(a
            .disabled_types
            .contains(&"cloudaudit:DATA_READ".to_string()));
        // An unread project policy: Data Access unknown (in neither list).
        let unread = ProjectScan::default();
        let a = audit_logging(&rc, &unread);
        assert_eq!(a.audit_enabled, Some(true));
        assert!(!a
            .enabled_types
            .iter()
            .chain(&a.disabled_types)
            .any(|t| t.starts_with("cloudaudit:DATA")));
    }
}
