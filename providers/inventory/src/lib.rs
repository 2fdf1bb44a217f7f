//! The cloud-neutral inventory that every cloudscan provider normalizes into.
//!
//! Rules, the access engine and the reports read only these types; no cloud SDK type crosses this
//! boundary. The inventory is plain serde data so a scan can be saved (`--save-inventory`) and the
//! rules re-run offline (`cloudscan scan --inventory FILE`).
//!
//! Conventions:
//! - `Option<T>` means "not known" (the API did not say, or the collector failed): rules must not
//!   treat an unknown as secure or insecure. Coverage says why it is unknown.
//! - Fields missing from a saved inventory take their default (empty / unknown), so older or
//!   hand-written inventories load; unknown fields are ignored.
//! - Every fact that a rule can cite carries enough context (resource id, region, API field) to be
//!   quoted as evidence.

use serde::{Deserialize, Serialize};

mod kube;
pub use kube::*;
pub mod merge;
pub use merge::{merge, MergeError};

/// The version of the inventory format; bumped on any incompatible change.
pub const INVENTORY_SCHEMA: &str = "cloudscan.inventory/v1";

/// A whole scan of one provider: one or more scopes (accounts, projects, subscriptions).
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(default)]
pub struct Inventory {
    pub schema_version: String,
    pub provider: Provider,
    /// Who ran the scan (the caller identity ARN or principal), if known.
    pub caller: Option<String>,
    pub scopes: Vec<Scope>,
    /// The regions or locations that were scanned.
    pub regions: Vec<String>,
    pub clusters: Vec<Cluster>,
    pub identities: Vec<Identity>,
    /// Workload identity providers registered in the scope (AWS IAM OIDC providers).
    pub oidc_providers: Vec<OidcProvider>,
    pub encryption_defaults: Vec<EncryptionDefault>,
    pub volumes: Vec<Volume>,
    pub audit_trails: Vec<AuditTrail>,
    pub coverage: Vec<Coverage>,
    /// Role definitions (GCP predefined and custom roles) that bindings in `Identity::role_bindings`
    /// refer to, with their permissions.
    #[serde(default)]
    pub role_definitions: Vec<RoleDefinition>,
    /// Azure RBAC role definitions (built-in and custom) that `Identity::role_assignments` refer
    /// to, with their actions / notActions / dataActions / notDataActions.
    #[serde(default)]
    pub azure_role_definitions: Vec<AzureRoleDefinition>,
    /// AWS Organizations facts (accounts with their OU paths, SCPs and RCPs) when the scan read
    /// them; None when it did not (then no guardrail is known, and coverage says why).
    #[serde(default)]
    pub organization: Option<Organization>,
    /// Resource-based policies of resources identities may reach (S3 buckets, KMS keys, Secrets
    /// Manager secrets).
    #[serde(default)]
    pub resource_policies: Vec<ResourcePolicy>,
    /// Account-level S3 Block Public Access settings, one per scanned account that was read.
    #[serde(default)]
    pub account_public_access_blocks: Vec<AccountPublicAccessBlock>,
    /// What was read from the clusters' Kubernetes APIs (`--kubeconfig`, `--kube-context`,
    /// `--kube-in-cluster`, `--kube-replay`); empty when no cluster was read.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub kubernetes: Vec<KubeCluster>,
    /// Managed policy documents stored once in a saved inventory (see
    /// [`Inventory::share_policy_documents`]); empty in memory after
    /// [`Inventory::resolve_shared_policies`].
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub shared_policies: Vec<SharedPolicy>,
}

/// A managed policy version's document, stored once and referred to by ARN and version.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(default)]
pub struct SharedPolicy {
    pub arn: String,
    pub version: Option<String>,
    pub document: Document,
}

impl Default for Document {
    fn default() -> Document {
        Document::new(serde_json::Value::Null)
    }
}

impl Inventory {
    /// An empty inventory for `provider`.
    pub fn new(provider: Provider) -> Self {
        Inventory {
            schema_version: INVENTORY_SCHEMA.to_string(),
            provider,
            ..Default::default()
        }
    }

    /// The coverage status of one service in one region (or `global`), if it was attempted.
    /// When a service was collected in several pieces, the worst status wins.
    pub fn coverage_of(&self, service: &str, region: &str) -> Option<CoverageStatus> {
        self.coverage
            .iter()
            .filter(|c| c.service == service && c.region == region)
            .map(|c| c.status)
            .max_by_key(|s| s.severity())
    }

    /// True when `service` in `region` was collected completely, so the absence of a resource
    /// there is a fact, not a gap.
    pub fn is_complete(&self, service: &str, region: &str) -> bool {
        self.coverage_of(service, region) == Some(CoverageStatus::Complete)
    }

    /// True when every coverage entry is complete.
    pub fn all_complete(&self) -> bool {
        self.coverage
            .iter()
            .all(|c| c.status == CoverageStatus::Complete)
    }

    /// Finds an identity by its id (ARN, email or resource id).
    pub fn identity(&self, id: &str) -> Option<&Identity> {
        self.identities.iter().find(|i| i.id == id)
    }

    /// Moves every managed policy document (identity policies and boundaries with an ARN) into
    /// [`Inventory::shared_policies`], once per ARN and version, leaving the identity's
    /// [`PolicyDoc`] without its document. A document that differs from the one already stored
    /// for its ARN and version stays where it is. For saving: 2,000 roles attached to the same
    /// few managed policies then carry each document once.
    pub fn share_policy_documents(&mut self) {
        self.share_policy_documents_tracked();
    }

    /// Runs `f` (a save) on the inventory with its managed policy documents shared as
    /// [`Inventory::share_policy_documents`] does, then puts every moved document back where it
    /// was: the inventory is as before, without the copy a clone would cost.
    pub fn with_policy_documents_shared<R>(&mut self, f: impl FnOnce(&Inventory) -> R) -> R {
        let before = self.shared_policies.len();
        let moved = self.share_policy_documents_tracked();
        let result = f(self);
        for (at, slot, shared) in moved {
            let document = self.shared_policies.get(shared).map(|p| p.document.clone());
            let Some(identity) = self.identities.get_mut(at) else {
                continue;
            };
            let doc = match slot {
                Some(i) => identity.policies.get_mut(i),
                None => identity.boundary.as_mut(),
            };
            if let Some(doc) = doc {
                doc.document = document;
            }
        }
        self.shared_policies.truncate(before);
        result
    }

    /// [`Inventory::share_policy_documents`], returning where each moved document was: the
    /// identity's index, the policy's index (None: the boundary) and the shared entry's index.
    fn share_policy_documents_tracked(&mut self) -> Vec<(usize, Option<usize>, usize)> {
        use std::collections::HashMap;
        let mut moved = Vec::new();
        let mut index: HashMap<(String, Option<String>), usize> = self
            .shared_policies
            .iter()
            .enumerate()
            .map(|(i, p)| ((p.arn.clone(), p.version.clone()), i))
            .collect();
        let shared = &mut self.shared_policies;
        for (at, identity) in self.identities.iter_mut().enumerate() {
            let slots = identity
                .policies
                .iter_mut()
                .enumerate()
                .map(|(i, d)| (Some(i), d))
                .chain(identity.boundary.as_mut().map(|d| (None, d)));
            for (slot, doc) in slots {
                let (Some(arn), Some(document)) = (doc.arn.as_ref(), doc.document.as_ref()) else {
                    continue;
                };
                if doc.error.is_some() {
                    continue;
                }
                let key = (arn.clone(), doc.version.clone());
                match index.get(&key) {
                    Some(&i) => {
                        if shared.get(i).is_some_and(|p| &p.document == document) {
                            doc.document = None;
                            moved.push((at, slot, i));
                        }
                    }
                    None => {
                        let i = shared.len();
                        index.insert(key, i);
                        shared.push(SharedPolicy {
                            arn: arn.clone(),
                            version: doc.version.clone(),
                            document: document.clone(),
                        });
                        doc.document = None;
                        moved.push((at, slot, i));
                    }
                }
            }
        }
        moved
    }

    /// The inverse of [`Inventory::share_policy_documents`], after loading: every policy
    /// without a document (and without an error) whose ARN and version are shared gets the
    /// shared document. Inventories saved before sharing have no shared policies and are
    /// unchanged.
    pub fn resolve_shared_policies(&mut self) {
        use std::collections::HashMap;
        if self.shared_policies.is_empty() {
            return;
        }
        let table: HashMap<(&str, Option<&str>), &Document> = self
            .shared_policies
            .iter()
            .map(|p| ((p.arn.as_str(), p.version.as_deref()), &p.document))
            .collect();
        for identity in &mut self.identities {
            for doc in identity
                .policies
                .iter_mut()
                .chain(identity.boundary.as_mut())
            {
                if doc.document.is_some() || doc.error.is_some() {
                    continue;
                }
                let Some(arn) = doc.arn.as_deref() else {
                    continue;
                };
                if let Some(d) = table.get(&(arn, doc.version.as_deref())) {
                    doc.document = Some((*d).clone());
                }
            }
        }
        self.shared_policies.clear();
    }

    /// Makes equal policy documents one shared [`Document`]: the trust, identity and boundary
    /// documents of every identity, and resource policies. 100,000 roles
    /// that carry a few hundred distinct managed policies and trust policies then hold each of
    /// those once in memory. Documents that differ stay apart; nothing is dropped or changed.
    pub fn share_identical_documents(&mut self) {
        let mut interner = DocumentInterner::default();
        for identity in &mut self.identities {
            for doc in identity
                .trust
                .iter_mut()
                .chain(identity.policies.iter_mut())
                .chain(identity.boundary.iter_mut())
            {
                interner.intern(doc);
            }
        }
        for rp in &mut self.resource_policies {
            if let Some(doc) = rp.policy.as_mut() {
                interner.intern(doc);
            }
        }
    }

    /// Finds a role definition by its name (`roles/editor`, `projects/p/roles/custom`).
    pub fn role_definition(&self, name: &str) -> Option<&RoleDefinition> {
        self.role_definitions.iter().find(|r| r.name == name)
    }
}

/// Equal documents made one: candidates by a hash of the compact JSON text (keys are sorted,
/// so equal values give equal text), then compared as values.
#[derive(Default)]
pub struct DocumentInterner {
    seen: std::collections::HashMap<u64, Vec<Document>>,
    text: Vec<u8>,
}

impl DocumentInterner {
    /// Replaces the policy's document by an equal one seen before, or remembers it.
    pub fn intern(&mut self, doc: &mut PolicyDoc) {
        if let Some(d) = doc.document.as_mut() {
            self.intern_document(d);
        }
    }

    /// Replaces `document` by an equal one seen before, or remembers it.
    pub fn intern_document(&mut self, document: &mut Document) {
        use std::hash::{Hash, Hasher};
        self.text.clear();
        if serde_json::to_writer(&mut self.text, document.value()).is_err() {
            return;
        }
        let mut hasher = std::collections::hash_map::DefaultHasher::new();
        self.text.hash(&mut hasher);
        let candidates = self.seen.entry(hasher.finish()).or_default();
        match candidates.iter().find(|c| *c == document) {
            Some(same) => *document = same.clone(),
            None => candidates.push(document.clone()),
        }
    }
}

#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize, PartialEq, Eq, Hash)]
#[serde(rename_all = "lowercase")]
pub enum Provider {
    #[default]
    Aws,
    Gcp,
    Azure,
}

impl Provider {
    pub fn as_str(self) -> &'static str {
        match self {
            Provider::Aws => "aws",
            Provider::Gcp => "gcp",
            Provider::Azure => "azure",
        }
    }
}

/// An AWS account, GCP project or Azure subscription.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(default)]
pub struct Scope {
    pub id: String,
    pub name: Option<String>,
    /// AWS partition (`aws`, `aws-us-gov`, `aws-cn`); None elsewhere.
    pub partition: Option<String>,
}

/// A managed Kubernetes cluster.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(default)]
pub struct Cluster {
    /// The provider's resource id (EKS cluster ARN, GKE self link, AKS resource id).
    pub id: String,
    pub name: String,
    pub scope: String,
    pub region: String,
    pub version: Option<String>,
    pub endpoint: Endpoint,
    pub secrets_encryption: SecretsEncryption,
    pub audit_logging: AuditLogging,
    pub workload_identity: WorkloadIdentity,
    pub auth: ClusterAuth,
    pub node_pools: Vec<NodePool>,
    pub tags: Vec<(String, String)>,
    /// The API server URLs the provider reports (EKS `endpoint`, GKE `endpoint`, AKS `fqdn` and
    /// `privateFQDN`), to match kubeconfig contexts to this cluster.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub api_endpoints: Vec<String>,
}

/// How the Kubernetes API server can be reached.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(default)]
pub struct Endpoint {
    /// The public endpoint is enabled. None when the API did not say.
    pub public_access: Option<bool>,
    pub private_access: Option<bool>,
    /// CIDRs allowed to reach the public endpoint; empty with `public_access` means unrestricted
    /// only if the provider documents that (normalizers fill the provider default explicitly).
    pub public_cidrs: Vec<String>,
    /// Which API field the CIDRs came from, for evidence.
    pub source: String,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(default)]
pub struct SecretsEncryption {
    /// Envelope encryption of Kubernetes secrets with a customer-managed key is configured.
    pub enabled: Option<bool>,
    pub key: Option<KeyRef>,
    pub source: String,
}

/// A reference to a KMS key and what is known of its state.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(default)]
pub struct KeyRef {
    pub id: String,
    /// Normalized state; None when the key could not be described.
    pub state: Option<KeyState>,
    /// The provider's raw state string (e.g. `PendingDeletion`).
    pub raw_state: Option<String>,
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum KeyState {
    Enabled,
    Disabled,
    PendingDeletion,
    PendingImport,
    Unavailable,
    Other,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(default)]
pub struct AuditLogging {
    /// Control-plane log types that are on.
    pub enabled_types: Vec<String>,
    /// Control-plane log types known to be off.
    pub disabled_types: Vec<String>,
    /// Whether the Kubernetes audit log specifically is on. None when unknown.
    pub audit_enabled: Option<bool>,
    pub source: String,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(default)]
pub struct WorkloadIdentity {
    /// The cluster's OIDC issuer URL (EKS) or workload pool (GKE).
    pub issuer: Option<String>,
    /// An identity provider for the issuer is registered with the cloud IAM (IRSA usable).
    pub provider_registered: Option<bool>,
    /// EKS Pod Identity associations exist (Some(false) = listed and none found).
    pub pod_identity_associations: Option<usize>,
    /// Overall: can workloads get their own cloud identity? None when not determinable.
    pub enabled: Option<bool>,
    /// The individual bindings from Kubernetes service accounts to cloud identities.
    pub bindings: Vec<WorkloadBinding>,
}

/// One Kubernetes service account (or pattern) that can act as a cloud identity.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(default)]
pub struct WorkloadBinding {
    pub namespace: String,
    pub service_account: String,
    pub identity: String,
    /// `irsa`, `pod-identity`, `gke-workload-identity`, `azure-workload-identity`.
    pub mechanism: String,
    /// EKS Pod Identity `targetRoleArn`: the role the association's role (`identity`) is used to
    /// assume, often in another account; the workload ends up acting as this role.
    #[serde(default)]
    pub target_identity: Option<String>,
    /// EKS Pod Identity session policy (`policy` of the association): the pods get the
    /// permissions of the role they end up with (`target_identity` when set, else `identity`)
    /// intersected with this policy. `document` is None (with `error`) when it could not be
    /// decoded; then it narrows nothing.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session_policy: Option<PolicyDoc>,
}

impl WorkloadBinding {
    /// The workload this binding lets use its identity, in cluster `cluster`.
    pub fn user(&self, cluster: &str) -> UsedBy {
        UsedBy::Workload {
            cluster: cluster.to_string(),
            namespace: self.namespace.clone(),
            service_account: self.service_account.clone(),
            mechanism: self.mechanism.clone(),
        }
    }
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(default)]
pub struct ClusterAuth {
    /// EKS `accessConfig.authenticationMode` (API, API_AND_CONFIG_MAP, CONFIG_MAP) or equivalent.
    pub mode: Option<String>,
    /// Static or legacy credentials are accepted (AKS local accounts, GKE client certificates /
    /// basic auth / legacy ABAC, EKS CONFIG_MAP-only).
    pub local_auth_enabled: Option<bool>,
    /// What exactly is legacy or local, for evidence.
    pub details: Vec<String>,
    /// Access entries (EKS) or equivalent cluster-admin grants to cloud principals.
    pub access_entries: Vec<AccessEntry>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(default)]
pub struct AccessEntry {
    pub principal: String,
    pub kind: Option<String>,
    pub username: Option<String>,
    pub groups: Vec<String>,
}

/// A group of nodes sharing one configuration (EKS node group, GKE node pool, AKS agent pool), or
/// the self-managed nodes of a cluster.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(default)]
pub struct NodePool {
    pub name: String,
    pub id: Option<String>,
    /// `managed` or `self-managed`.
    pub kind: String,
    /// The cloud identity every process on these nodes can use (role ARN, SA email, identity id).
    pub identity: Option<String>,
    /// Metadata-service protection as configured at each level that sets it.
    pub metadata: Vec<MetadataSetting>,
    /// The individual nodes found.
    pub nodes: Vec<Node>,
    /// Launch template reference (EKS), if any.
    pub launch_template: Option<String>,
    /// OAuth scopes granted to the nodes' service account (GKE); they cap what its tokens can do.
    #[serde(default)]
    pub oauth_scopes: Vec<String>,
    /// The nodes run as the provider's default compute identity (GKE: the Compute Engine default
    /// service account, `PROJECT_NUMBER-compute@developer.gserviceaccount.com`). None = unknown.
    #[serde(default)]
    pub default_service_account: Option<bool>,
    /// Customer-managed key that encrypts the nodes' boot disks (GKE `bootDiskKmsKey`).
    #[serde(default)]
    pub boot_disk_kms_key: Option<String>,
    /// Where the pool's identity facts came from, for evidence.
    #[serde(default)]
    pub source: String,
}

/// Metadata-service (IMDS) settings at one level: a node group default, a launch template version,
/// or an instance.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(default)]
pub struct MetadataSetting {
    /// `launch-template`, `instance`, `node-pool`.
    pub level: String,
    /// The resource the setting lives on (launch template id + version, instance id).
    pub resource: String,
    /// Session tokens are required (IMDSv2 only). None = not set here (inherits a default).
    pub tokens_required: Option<bool>,
    pub hop_limit: Option<u32>,
    pub endpoint_enabled: Option<bool>,
    /// GKE metadata server mode (`GKE_METADATA`, `GCE_METADATA`).
    pub mode: Option<String>,
    pub source: String,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(default)]
pub struct Node {
    pub id: String,
    pub region: String,
    pub identity: Option<String>,
    pub state: Option<String>,
}

/// A cloud identity software can act as.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(default)]
pub struct Identity {
    /// ARN, service account email or managed identity resource id.
    pub id: String,
    pub name: String,
    /// `aws-role`, `gcp-service-account`, `azure-managed-identity`.
    pub kind: String,
    pub scope: String,
    /// Who can act as this identity.
    pub used_by: Vec<UsedBy>,
    /// The raw trust document (AWS trust policy JSON, ...), decoded.
    pub trust: Option<PolicyDoc>,
    pub policies: Vec<PolicyDoc>,
    /// AWS permission boundary.
    pub boundary: Option<PolicyDoc>,
    /// Instance profiles (AWS) that carry this role.
    pub instance_profiles: Vec<String>,
    /// Role bindings that grant this identity a role (GCP: project and service-account policies).
    #[serde(default)]
    pub role_bindings: Vec<RoleBinding>,
    /// The identity is disabled (GCP service accounts).
    #[serde(default)]
    pub disabled: Option<bool>,
    /// The Entra object (principal) id that role assignments name (Azure managed identities).
    #[serde(default)]
    pub principal_id: Option<String>,
    /// The application (client) id workloads present (Azure managed identities).
    #[serde(default)]
    pub client_id: Option<String>,
    /// Azure RBAC role assignments held by this identity, at any scope the scan could see.
    #[serde(default)]
    pub role_assignments: Vec<RoleAssignment>,
    /// Federated identity credentials that let external tokens act as this identity (Azure
    /// workload identity), including those whose issuer is no scanned cluster's.
    #[serde(default)]
    pub federated_credentials: Vec<FederatedCredential>,
    // Azure: federated credentials whose issuer could not be matched because a cluster list of
    // the scan failed. Whether they trust a scanned cluster is unknown (not foreign); the
    // coverage names them.
    #[serde(default)]
    pub federated_credentials_issuer_unknown: Vec<FederatedCredential>,
    // Azure: deny assignments that name this identity (directly or as everyone, not excluded).
    // The access stage subtracts what they deny from the role assignments they cover.
    #[serde(default)]
    pub deny_assignments: Vec<AzureDenyAssignment>,
}

/// An Azure deny assignment that applies to an identity.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(default)]
pub struct AzureDenyAssignment {
    /// The deny assignment's resource id.
    pub id: String,
    /// Its display name (`denyAssignmentName`) or, without one, its name.
    pub name: String,
    /// The scope it denies at (and below, unless `applies_to_children` is false).
    pub scope: String,
    pub applies_to_children: bool,
    /// What it denies: `actions`/`dataActions` minus `notActions`/`notDataActions`.
    pub permissions: Vec<AzurePermission>,
    /// A condition limits it (then whether it applies is unknown).
    pub condition: Option<String>,
}

/// One Azure RBAC role assignment.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(default)]
pub struct RoleAssignment {
    /// The assignment's resource id.
    pub id: String,
    /// Where it applies (`/subscriptions/s`, `/subscriptions/s/resourceGroups/rg`, a resource id);
    /// inherited by everything below.
    pub scope: String,
    /// The full role definition id as the assignment names it.
    pub role_definition_id: String,
    /// The role's name (`Contributor`) when the definition was read.
    pub role_name: Option<String>,
    pub principal_id: String,
    /// `ServicePrincipal`, `User`, `Group`, `ForeignGroup`.
    pub principal_type: Option<String>,
    /// An ABAC condition limits the assignment; rules must treat it as "allowed when …".
    pub condition: Option<String>,
    pub source: String,
}

/// An Azure RBAC role definition.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(default)]
pub struct AzureRoleDefinition {
    /// The definition id as assignments name it (`/subscriptions/s/providers/Microsoft.Authorization/roleDefinitions/GUID`).
    pub id: String,
    /// The GUID (the same in every subscription for built-in roles).
    pub name: String,
    /// `Contributor`, `Owner`, or the custom role's name.
    pub role_name: Option<String>,
    /// `CustomRole` (true) or `BuiltInRole` (false); None when unknown.
    pub custom: Option<bool>,
    pub assignable_scopes: Vec<String>,
    /// The permission blocks; effective control-plane access is actions minus not_actions, and
    /// likewise for data actions. NotActions is not a deny. None when the role was not read.
    pub permissions: Option<Vec<AzurePermission>>,
    /// Why the definition could not be read.
    pub error: Option<String>,
    pub source: String,
}

/// One `permissions[]` block of an Azure role definition.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(default)]
pub struct AzurePermission {
    pub actions: Vec<String>,
    pub not_actions: Vec<String>,
    pub data_actions: Vec<String>,
    pub not_data_actions: Vec<String>,
}

/// A federated identity credential (Azure workload identity) on a managed identity.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(default)]
pub struct FederatedCredential {
    pub id: String,
    pub name: String,
    /// The token issuer trusted (an AKS cluster's OIDC issuer URL, GitHub Actions, ...).
    pub issuer: String,
    /// The token subject trusted (`system:serviceaccount:NS:SA`).
    pub subject: String,
    pub audiences: Vec<String>,
    /// The scanned cluster whose OIDC issuer this is; None when the issuer is no scanned cluster's.
    pub cluster: Option<String>,
    pub source: String,
}

/// One role granted to an identity by an allow policy (GCP IAM binding).
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(default)]
pub struct RoleBinding {
    /// The resource whose policy holds the binding (`projects/p`,
    /// `projects/p/serviceAccounts/sa@p.iam.gserviceaccount.com`).
    pub resource: String,
    /// The role name; its permissions are in `Inventory::role_definitions`.
    pub role: String,
    /// The member string that matched this identity (`serviceAccount:…`, `principal://…`).
    pub member: String,
    /// An IAM condition limits the binding; rules must treat it as "allowed when …".
    pub condition: Option<BindingCondition>,
    /// The API call the binding came from, for evidence.
    pub source: String,
}

/// An IAM Condition (CEL expression) on a binding.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(default)]
pub struct BindingCondition {
    pub title: Option<String>,
    pub expression: String,
    pub description: Option<String>,
}

/// A role and its permissions (GCP predefined or custom role).
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(default)]
pub struct RoleDefinition {
    /// `roles/editor`, `projects/p/roles/x`, `organizations/o/roles/x`.
    pub name: String,
    pub title: Option<String>,
    /// `GA`, `BETA`, `ALPHA`, `DEPRECATED`, `DISABLED`, `EAP`.
    pub stage: Option<String>,
    pub custom: bool,
    pub deleted: Option<bool>,
    /// The permissions; None when the role could not be read (coverage says why).
    pub permissions: Option<Vec<String>>,
    pub error: Option<String>,
    pub source: String,
}

/// Who can become an identity.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum UsedBy {
    /// Every process on the nodes of this pool (and every pod that reaches the metadata service).
    NodePool { cluster: String, pool: String },
    /// A Kubernetes service account (namespace and name may be patterns).
    Workload {
        cluster: String,
        namespace: String,
        service_account: String,
        mechanism: String,
    },
}

/// A policy document attached to an identity, decoded from the wire form.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(default)]
pub struct PolicyDoc {
    /// `inline`, `managed`, `boundary`, `trust`, `role-binding`.
    pub kind: String,
    pub name: String,
    /// Managed policy ARN, if any.
    pub arn: Option<String>,
    /// Managed policy default version.
    pub version: Option<String>,
    /// The parsed JSON document; None when it could not be decoded. Shared: identities with
    /// the same document (a managed policy, a common trust policy) hold one copy.
    pub document: Option<Document>,
    /// Why the document could not be decoded.
    pub error: Option<String>,
}

/// A decoded policy document, shared rather than copied: cloning it (or the [`PolicyDoc`] that
/// holds it) costs a reference count, and [`Inventory::share_identical_documents`] makes equal
/// documents one. It reads as the [`serde_json::Value`] it holds (`Deref`) and is saved and
/// loaded as that value, so the inventory format is unchanged.
#[derive(Clone, PartialEq)]
pub struct Document(std::sync::Arc<serde_json::Value>);

impl Document {
    /// Wraps a decoded document.
    pub fn new(value: serde_json::Value) -> Document {
        Document(std::sync::Arc::new(value))
    }

    /// The document as a JSON value.
    pub fn value(&self) -> &serde_json::Value {
        &self.0
    }

    /// Whether both hold the same allocation (not only equal values): shared documents are
    /// parsed once by the access stage.
    pub fn ptr_eq(a: &Document, b: &Document) -> bool {
        std::sync::Arc::ptr_eq(&a.0, &b.0)
    }

    /// An address that identifies the shared allocation while it lives (a cache key).
    pub fn addr(&self) -> usize {
        std::sync::Arc::as_ptr(&self.0) as usize
    }
}

impl std::ops::Deref for Document {
    type Target = serde_json::Value;
    fn deref(&self) -> &serde_json::Value {
        &self.0
    }
}

impl AsRef<serde_json::Value> for Document {
    fn as_ref(&self) -> &serde_json::Value {
        &self.0
    }
}

impl From<serde_json::Value> for Document {
    fn from(value: serde_json::Value) -> Document {
        Document::new(value)
    }
}

impl PartialEq<serde_json::Value> for Document {
    fn eq(&self, other: &serde_json::Value) -> bool {
        *self.0 == *other
    }
}

impl std::fmt::Debug for Document {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

impl Serialize for Document {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.0.serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for Document {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        serde_json::Value::deserialize(deserializer).map(Document::new)
    }
}

/// An IAM OIDC identity provider (IRSA) or equivalent.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(default)]
pub struct OidcProvider {
    pub id: String,
    /// The issuer URL without scheme (`oidc.eks.us-east-1.amazonaws.com/id/XXXX`).
    pub url: String,
    pub client_ids: Vec<String>,
}

/// A region-level default for volume encryption.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(default)]
pub struct EncryptionDefault {
    pub scope: String,
    pub region: String,
    /// The resource id used in findings (e.g. `arn:aws:ec2:us-east-1:123:ebs-encryption-by-default`).
    pub resource: String,
    pub enabled: Option<bool>,
    pub key: Option<String>,
    pub source: String,
}

/// A node or persistent volume.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(default)]
pub struct Volume {
    pub id: String,
    pub scope: String,
    pub region: String,
    pub encrypted: Option<bool>,
    pub key: Option<String>,
    /// Instances the volume is attached to.
    pub attached_to: Vec<String>,
    pub cluster: Option<String>,
    pub node_pool: Option<String>,
}

/// An account-level audit trail (CloudTrail trail, audit config, activity log export).
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(default)]
pub struct AuditTrail {
    pub id: String,
    pub name: String,
    pub scope: String,
    /// Home region.
    pub region: String,
    pub multi_region: Option<bool>,
    pub logging: Option<bool>,
    /// Captures management events for both reads and writes.
    pub management_events: Option<ManagementEvents>,
    pub organization_trail: Option<bool>,
    pub encrypted_with: Option<String>,
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum ManagementEvents {
    All,
    ReadOnly,
    WriteOnly,
    None,
}

/// What was collected, and what was not.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(default)]
pub struct Coverage {
    pub scope: String,
    pub service: String,
    /// A region, or `global`.
    pub region: String,
    pub status: CoverageStatus,
    /// What failed and why (error code and message), or what was skipped.
    pub detail: Option<String>,
}

#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize, PartialEq, Eq, Hash)]
#[serde(rename_all = "lowercase")]
pub enum CoverageStatus {
    #[default]
    Complete,
    /// Some items of the service could not be read.
    Partial,
    /// The API is not available here (not implemented by an emulator, not enabled, ...).
    Unsupported,
    /// Nothing could be read.
    Failed,
}

impl CoverageStatus {
    /// Orders statuses from best to worst.
    pub fn severity(self) -> u8 {
        match self {
            CoverageStatus::Complete => 0,
            CoverageStatus::Partial => 1,
            CoverageStatus::Unsupported => 2,
            CoverageStatus::Failed => 3,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            CoverageStatus::Complete => "complete",
            CoverageStatus::Partial => "partial",
            CoverageStatus::Unsupported => "unsupported",
            CoverageStatus::Failed => "failed",
        }
    }
}

/// A fact to cite as evidence: where it comes from, the field, and its value.
#[derive(Debug, Clone, PartialEq)]
pub struct Cited {
    pub source: String,
    pub field: String,
    pub value: serde_json::Value,
}

impl Cited {
    pub fn new(
        source: impl Into<String>,
        field: impl Into<String>,
        value: impl Into<serde_json::Value>,
    ) -> Cited {
        Cited {
            source: source.into(),
            field: field.into(),
            value: value.into(),
        }
    }
}

/// How one cloud names the things rules talk about, so that rules carry no cloud's wording and
/// a new cloud adds its words here instead of in every rule.
#[derive(Debug, Clone, Copy)]
pub struct Vocabulary {
    /// The identity every process on a node can use (`node role`).
    pub node_identity: &'static str,
    /// Why pods reach the nodes' metadata service when no setting of the pool says so, on
    /// platforms that serve it to pods by default.
    pub metadata_open_by_default: Option<&'static str>,
    /// What a cluster without workload identity lacks.
    pub workload_identity_missing: &'static str,
    /// Where a customer-managed key's state is read: (source, field); `None`: the secrets
    /// encryption source itself.
    pub key_state: Option<(&'static str, &'static str)>,
    /// The account-wide audit trail; `None` when the cloud always records management events.
    pub audit_trail: Option<AuditTrailTerms>,
    /// Volume encryption wording.
    pub volumes: VolumeTerms,
    /// The API fields of the cluster endpoint facts (public access, private access, CIDRs).
    pub endpoint_fields: [&'static str; 3],
    /// The API field naming the key that encrypts Kubernetes secrets.
    pub secrets_key_field: &'static str,
    /// How node pools' identities and API scopes are named.
    pub node_access: NodeAccessTerms,
}

/// How a cloud names a node pool's identity settings.
#[derive(Debug, Clone, Copy)]
pub struct NodeAccessTerms {
    /// The provider's default compute identity, as a noun phrase.
    pub default_identity: &'static str,
    /// The API scope that lets node tokens call every API, if the cloud has such scopes.
    pub full_scope: Option<&'static str>,
    /// Its name in a sentence.
    pub full_scope_name: &'static str,
    /// The API fields of the pool's identity and scopes.
    pub identity_field: &'static str,
    pub scopes_field: &'static str,
}

/// How a cloud's account-wide audit trail is named.
#[derive(Debug, Clone, Copy)]
pub struct AuditTrailTerms {
    /// The coverage service whose complete read makes a missing trail a fact.
    pub coverage_service: &'static str,
    /// Where trails are read, for evidence.
    pub source: &'static str,
    /// The scope has no trail at all.
    pub none: &'static str,
    /// Trails exist but none qualifies; `{n}` is the number of trails.
    pub none_qualifies: &'static str,
}

/// How a cloud names volume encryption facts.
#[derive(Debug, Clone, Copy)]
pub struct VolumeTerms {
    /// The region-level default (`EBS encryption by default`).
    pub default_setting: &'static str,
    /// Its API field.
    pub default_field: &'static str,
    /// Where volumes are read, for evidence.
    pub volume_source: &'static str,
    pub encrypted_field: &'static str,
    pub attachment_source: &'static str,
    pub attachment_field: &'static str,
}

impl Provider {
    /// This cloud's words for the facts rules cite.
    pub fn vocabulary(self) -> &'static Vocabulary {
        const VOLUMES_AWS: VolumeTerms = VolumeTerms {
            default_setting: "EBS encryption by default",
            default_field: "EbsEncryptionByDefault",
            volume_source: "ec2:DescribeVolumes volume",
            encrypted_field: "Encrypted",
            attachment_source: "ec2:DescribeVolumes volume.attachmentSet",
            attachment_field: "InstanceId",
        };
        const VOLUMES_OTHER: VolumeTerms = VolumeTerms {
            default_setting: "disk encryption by default",
            default_field: "encryption by default",
            volume_source: "disk",
            encrypted_field: "encrypted",
            attachment_source: "disk attachments",
            attachment_field: "instance",
        };
        static AWS: Vocabulary = Vocabulary {
            node_identity: "node role",
            metadata_open_by_default: None,
            workload_identity_missing:
                "neither an IAM OIDC provider for its issuer nor Pod Identity associations",
            key_state: Some(("kms:DescribeKey KeyMetadata", "KeyState")),
            audit_trail: Some(AuditTrailTerms {
                coverage_service: "cloudtrail",
                source: "cloudtrail:DescribeTrails + GetTrailStatus + GetEventSelectors",
                none: "the account has no CloudTrail trail",
                none_qualifies: "none of its {n} trail(s) is multi-region, logging and recording all management events",
            }),
            volumes: VOLUMES_AWS,
            endpoint_fields: [
                "endpointPublicAccess",
                "endpointPrivateAccess",
                "publicAccessCidrs",
            ],
            secrets_key_field: "encryptionConfig[].provider.keyArn",
            node_access: NodeAccessTerms {
                default_identity: "the default node role",
                full_scope: None,
                full_scope_name: "full API access",
                identity_field: "nodeRole",
                scopes_field: "scopes",
            },
        };
        static GCP: Vocabulary = Vocabulary {
            node_identity: "node service account",
            metadata_open_by_default: None,
            workload_identity_missing: "no workload identity",
            key_state: None,
            // Admin Activity audit logs are always on.
            audit_trail: None,
            volumes: VOLUMES_OTHER,
            endpoint_fields: [
                "public endpoint",
                "private endpoint",
                "authorized public ranges",
            ],
            secrets_key_field: "databaseEncryption.keyName",
            node_access: NodeAccessTerms {
                default_identity: "the Compute Engine default service account",
                full_scope: Some("https://www.googleapis.com/auth/cloud-platform"),
                full_scope_name: "the cloud-platform scope",
                identity_field: "serviceAccount",
                scopes_field: "oauthScopes",
            },
        };
        static AZURE: Vocabulary = Vocabulary {
            node_identity: "kubelet identity",
            metadata_open_by_default: Some(
                "AKS nodes serve IMDS to pods unless a network policy blocks it",
            ),
            workload_identity_missing: "no workload identity",
            key_state: None,
            audit_trail: Some(AuditTrailTerms {
                coverage_service: "insights",
                source: "Microsoft.Insights diagnosticSettings (subscription)",
                none: "the subscription exports its activity log nowhere (no diagnostic setting)",
                none_qualifies: "no diagnostic setting exports the Administrative activity log",
            }),
            volumes: VOLUMES_OTHER,
            endpoint_fields: [
                "public endpoint",
                "private endpoint",
                "authorized public ranges",
            ],
            secrets_key_field: "securityProfile.azureKeyVaultKms.keyId",
            node_access: NodeAccessTerms {
                default_identity: "the default kubelet identity",
                full_scope: None,
                full_scope_name: "full API access",
                identity_field: "identityProfile.kubeletidentity",
                scopes_field: "scopes",
            },
        };
        match self {
            Provider::Aws => &AWS,
            Provider::Gcp => &GCP,
            Provider::Azure => &AZURE,
        }
    }

    /// The resource id that stands for a whole scope in findings (the account root, the
    /// subscription, the project).
    pub fn scope_resource(self, scope: &Scope) -> String {
        match self {
            Provider::Aws => format!(
                "arn:{}:iam::{}:root",
                scope.partition.as_deref().unwrap_or("aws"),
                scope.id
            ),
            Provider::Azure => format!("/subscriptions/{}", scope.id),
            Provider::Gcp => format!("projects/{}", scope.id),
        }
    }

    /// Evidence for a cluster's workload identity facts, in this cloud's API terms.
    pub fn workload_identity_evidence(self, wi: &WorkloadIdentity) -> Vec<Cited> {
        match self {
            Provider::Aws => vec![
                Cited::new(
                    "eks:DescribeCluster cluster.identity.oidc",
                    "issuer",
                    wi.issuer.clone(),
                ),
                Cited::new(
                    "iam:ListOpenIDConnectProviders",
                    "provider for issuer",
                    wi.provider_registered,
                ),
                Cited::new(
                    "eks:ListPodIdentityAssociations",
                    "associations",
                    wi.pod_identity_associations,
                ),
            ],
            Provider::Gcp | Provider::Azure => vec![Cited::new(
                "cluster configuration",
                "workload identity pool",
                wi.issuer.clone(),
            )],
        }
    }
}

/// Which nodes a [`MetadataSetting`] governs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MetadataLevel {
    /// A launch template version: nodes launched from it.
    LaunchTemplate,
    /// A node pool: every node of the pool.
    NodePool,
    /// One instance.
    Instance,
}

impl MetadataSetting {
    /// The level as a type (`level` is kept as text in the saved format; anything unknown is
    /// treated as one instance, the narrowest claim).
    pub fn level_kind(&self) -> MetadataLevel {
        match self.level.as_str() {
            "launch-template" => MetadataLevel::LaunchTemplate,
            "node-pool" => MetadataLevel::NodePool,
            _ => MetadataLevel::Instance,
        }
    }
}

impl PolicyDoc {
    /// Whether the document is an AWS-style trust policy (who may assume the identity), as
    /// opposed to a permissions policy or a role-based allow policy.
    pub fn is_trust_policy(&self) -> bool {
        self.kind == "trust"
    }
}

impl Identity {
    /// What the identity is called in a sentence (`role`, `service account`).
    pub fn noun(&self) -> &'static str {
        match self.kind.as_str() {
            "aws-role" => "role",
            "gcp-service-account" => "service account",
            "azure-managed-identity" => "managed identity",
            "gcp-workload-principal" => "workload principal",
            _ => "identity",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn worst_coverage_wins() {
        let mut inv = Inventory::new(Provider::Aws);
        for status in [CoverageStatus::Complete, CoverageStatus::Failed] {
            inv.coverage.push(Coverage {
                scope: "1".into(),
                service: "eks".into(),
                region: "us-east-1".into(),
                status,
                detail: None,
            });
        }
        assert_eq!(
            inv.coverage_of("eks", "us-east-1"),
            Some(CoverageStatus::Failed)
        );
        assert!(!inv.is_complete("eks", "us-east-1"));
        assert_eq!(inv.coverage_of("eks", "us-west-2"), None);
    }

    #[test]
    fn shared_policies_round_trip_and_old_inventories_load() {
        let mut inv = Inventory::new(Provider::Aws);
        let managed = |doc: serde_json::Value| PolicyDoc {
            kind: "managed".into(),
            name: "ReadOnly".into(),
            arn: Some("arn:aws:iam::aws:policy/ReadOnlyAccess".into()),
            version: Some("v9".into()),
            document: Some(doc.into()),
            error: None,
        };
        let doc = serde_json::json!({"Version": "2012-10-17", "Statement": []});
        for i in 0..3 {
            inv.identities.push(Identity {
                id: format!("arn:aws:iam::1:role/r{i}"),
                policies: vec![managed(doc.clone())],
                boundary: Some(managed(doc.clone())),
                ..Default::default()
            });
        }
        // A document that differs for the same ARN and version stays inline.
        inv.identities[2].policies[0].document = Some(serde_json::json!({"Statement": []}).into());
        let original = inv.clone();
        let mut saved = inv.clone();
        saved.share_policy_documents();
        assert_eq!(saved.shared_policies.len(), 1);
        assert!(saved.identities[0].policies[0].document.is_none());
        assert!(saved.identities[2].policies[0].document.is_some());
        let text = serde_json::to_string(&saved).expect("serialize");
        let mut back: Inventory = serde_json::from_str(&text).expect("deserialize");
        back.resolve_shared_policies();
        assert_eq!(back, original);
        // An inventory without the table (older format) loads unchanged.
        let old = serde_json::to_string(&original).expect("serialize");
        assert!(!old.contains("shared_policies"));
        let mut back: Inventory = serde_json::from_str(&old).expect("deserialize");
        back.resolve_shared_policies();
        assert_eq!(back, original);
    }

    fn policy(kind: &str, arn: Option<&str>, doc: serde_json::Value) -> PolicyDoc {
        PolicyDoc {
            kind: kind.into(),
            name: kind.into(),
            arn: arn.map(Into::into),
            version: arn.map(|_| "v1".into()),
            document: Some(doc.into()),
            error: None,
        }
    }

    /// Two roles with the same managed policy and trust policy, a third whose managed policy
    /// under the same ARN and version differs, each with its own inline policy; decoded apart
    /// (no document shared yet).
    fn three_roles() -> Inventory {
        let arn = "arn:aws:iam::aws:policy/ReadOnlyAccess";
        let read = serde_json::json!({"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Action": ["s3:Get*", "s3:List*"], "Resource": "*"}]});
        let other = serde_json::json!({"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Action": "s3:Get*", "Resource": "*"}]});
        let trust = serde_json::json!({"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"},
             "Action": "sts:AssumeRole"}]});
        let mut inv = Inventory::new(Provider::Aws);
        for (i, managed) in [&read, &read, &other].into_iter().enumerate() {
            inv.identities.push(Identity {
                id: format!("arn:aws:iam::1:role/r{i}"),
                trust: Some(policy("trust", None, trust.clone())),
                policies: vec![
                    policy("managed", Some(arn), managed.clone()),
                    policy(
                        "inline",
                        None,
                        serde_json::json!({"Statement": [{"Effect": "Allow",
                            "Action": "sqs:*", "Resource": format!("arn:aws:sqs:*:1:q{i}")}]}),
                    ),
                ],
                boundary: (i == 1).then(|| policy("boundary", Some(arn), read.clone())),
                ..Default::default()
            });
        }
        inv
    }

    fn doc_of(inv: &Inventory, identity: usize, policy: usize) -> &Document {
        let doc = inv
            .identities
            .get(identity)
            .and_then(|i| i.policies.get(policy))
            .and_then(|p| p.document.as_ref());
        match doc {
            Some(d) => d,
            None => panic!("identity {identity} has no document {policy}"),
        }
    }

    #[test]
    fn identical_documents_are_shared_and_different_ones_stay_apart() {
        let mut inv = three_roles();
        let original = inv.clone();
        assert!(!Document::ptr_eq(doc_of(&inv, 0, 0), doc_of(&inv, 1, 0)));
        inv.share_identical_documents();
        // Nothing changed in value.
        assert_eq!(inv, original);
        // The same managed policy is one allocation for both roles and the boundary.
        assert!(Document::ptr_eq(doc_of(&inv, 0, 0), doc_of(&inv, 1, 0)));
        let boundary = inv.identities[1]
            .boundary
            .as_ref()
            .and_then(|b| b.document.as_ref());
        assert!(boundary.is_some_and(|b| Document::ptr_eq(b, doc_of(&inv, 0, 0))));
        // A different document under the same ARN and version stays its own.
        assert!(!Document::ptr_eq(doc_of(&inv, 0, 0), doc_of(&inv, 2, 0)));
        assert_ne!(doc_of(&inv, 0, 0), doc_of(&inv, 2, 0));
        // The same trust policy is shared by all three; the inline policies differ.
        let trusts: Vec<&Document> = inv
            .identities
            .iter()
            .filter_map(|i| i.trust.as_ref().and_then(|t| t.document.as_ref()))
            .collect();
        assert_eq!(trusts.len(), 3);
        assert!(trusts.windows(2).all(|w| Document::ptr_eq(w[0], w[1])));
        assert!(!Document::ptr_eq(doc_of(&inv, 0, 1), doc_of(&inv, 1, 1)));
        // Three inline, two managed and one trust document remain distinct.
        let mut distinct: Vec<usize> = inv
            .identities
            .iter()
            .flat_map(|i| i.trust.iter().chain(&i.policies).chain(&i.boundary))
            .filter_map(|p| p.document.as_ref().map(Document::addr))
            .collect();
        distinct.sort_unstable();
        distinct.dedup();
        assert_eq!(distinct.len(), 6);
    }

    #[test]
    fn saving_with_shared_documents_keeps_the_inventory_and_every_document() {
        let mut inv = three_roles();
        inv.share_identical_documents();
        let original = inv.clone();
        // What the save writes: the same text as sharing a copy of the inventory.
        let mut copy = inv.clone();
        copy.share_policy_documents();
        let expected = serde_json::to_string_pretty(&copy).expect("serialize");
        let text = inv.with_policy_documents_shared(|saved| {
            assert_eq!(saved.shared_policies.len(), 1);
            serde_json::to_string_pretty(saved).expect("serialize")
        });
        assert_eq!(text, expected);
        // The inventory is as before: every document back in place, no shared table left.
        assert_eq!(inv, original);
        assert!(inv.shared_policies.is_empty());
        assert!(Document::ptr_eq(doc_of(&inv, 0, 0), doc_of(&inv, 1, 0)));
        // Loading the saved text gives every document back, shared again.
        let mut back: Inventory = serde_json::from_str(&text).expect("deserialize");
        back.resolve_shared_policies();
        back.share_identical_documents();
        assert_eq!(back, original);
        assert!(Document::ptr_eq(doc_of(&back, 0, 0), doc_of(&back, 1, 0)));
        assert!(!Document::ptr_eq(doc_of(&back, 0, 0), doc_of(&back, 2, 0)));
        let documents = |inv: &Inventory| {
            inv.identities
                .iter()
                .flat_map(|i| i.trust.iter().chain(&i.policies).chain(&i.boundary))
                .filter(|p| p.document.is_some())
                .count()
        };
        assert_eq!(documents(&back), 3 * 3 + 1);
    }

    #[test]
    fn inventory_round_trips_through_json() {
        let mut inv = Inventory::new(Provider::Aws);
        inv.identities.push(Identity {
            id: "arn:aws:iam::1:role/r".into(),
            used_by: vec![UsedBy::NodePool {
                cluster: "c".into(),
                pool: "p".into(),
            }],
            ..Default::default()
        });
        let text = serde_json::to_string(&inv).expect("serialize");
        let back: Inventory = serde_json::from_str(&text).expect("deserialize");
        assert_eq!(inv, back);
    }
}

/// An AWS organization as seen by the scan.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(default)]
pub struct Organization {
    /// `o-...`.
    pub id: String,
    pub management_account: Option<String>,
    /// The policy types enabled on the root: `SERVICE_CONTROL_POLICY`, `RESOURCE_CONTROL_POLICY`.
    /// An SCP or RCP that is attached while its type is not enabled has no effect.
    pub enabled_policy_types: Vec<String>,
    /// Every account listed (members that were not scanned included), with its place in the tree.
    pub accounts: Vec<OrgAccount>,
    /// SCPs and RCPs, stored once; accounts refer to them by id at each level.
    pub policies: Vec<OrgPolicy>,
}

impl Organization {
    /// The account with this id.
    pub fn account(&self, id: &str) -> Option<&OrgAccount> {
        self.accounts.iter().find(|a| a.id == id)
    }

    /// The policy with this id.
    pub fn policy(&self, id: &str) -> Option<&OrgPolicy> {
        self.policies.iter().find(|p| p.id == id)
    }
}

/// One account of an organization and the guardrails over it.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(default)]
pub struct OrgAccount {
    pub id: String,
    pub name: Option<String>,
    /// `ACTIVE`, `SUSPENDED`, `PENDING_CLOSURE` (the `Status`/`State` the API returned).
    pub status: Option<String>,
    /// The path from the root to the account: the root, each OU, then the account itself.
    pub path: Vec<OrgNode>,
    /// SCP ids attached at each level of `path` (same length and order); None when the
    /// attachments of this account could not be read (guardrails unknown).
    pub scps: Option<Vec<Vec<String>>>,
    /// RCP ids attached at each level of `path`; None when unknown or not collected.
    pub rcps: Option<Vec<Vec<String>>>,
    /// Whether the account was scanned, and if not, why.
    pub scanned: bool,
    pub not_scanned_reason: Option<String>,
}

/// A level of an organization tree.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(default)]
pub struct OrgNode {
    /// `r-...`, `ou-...` or the account id.
    pub id: String,
    pub name: Option<String>,
    /// `root`, `ou` or `account`.
    pub kind: String,
}

/// A service control policy or resource control policy.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(default)]
pub struct OrgPolicy {
    /// `p-...` (AWS managed: `p-FullAWSAccess`, `RCPFullAWSAccess`).
    pub id: String,
    pub arn: Option<String>,
    pub name: String,
    /// `scp` or `rcp`.
    pub kind: String,
    pub aws_managed: bool,
    /// The decoded document; None when it could not be read or decoded (`error` says why).
    pub document: Option<serde_json::Value>,
    pub error: Option<String>,
}

/// A resource-based policy (S3 bucket policy, KMS key policy, Secrets Manager resource policy).
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(default)]
pub struct ResourcePolicy {
    /// The resource ARN (`arn:aws:s3:::bucket`, key ARN, secret ARN).
    pub arn: String,
    /// `s3-bucket`, `kms-key`, `secretsmanager-secret`.
    pub kind: String,
    /// The account that owns the resource.
    pub scope: String,
    /// None for global resources (S3 bucket names are global; the bucket's region is kept when known).
    pub region: Option<String>,
    /// `attached`, `none` (the resource has no policy; the API said so) or `unknown` (could not
    /// be read: `policy.error` or coverage says why).
    pub state: String,
    /// The policy, when `state` is `attached` (its `document` is None when it could not be decoded).
    pub policy: Option<PolicyDoc>,
    /// Bucket-level Block Public Access (S3 only); None when not set or not read.
    pub public_access_block: Option<PublicAccessBlock>,
    /// Where the facts came from, for evidence (`s3:GetBucketPolicy`, ...).
    pub source: String,
}

/// S3 Block Public Access settings; each None when not known.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(default)]
pub struct PublicAccessBlock {
    pub block_public_acls: Option<bool>,
    pub ignore_public_acls: Option<bool>,
    pub block_public_policy: Option<bool>,
    pub restrict_public_buckets: Option<bool>,
}

/// The account-level Block Public Access of one account.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(default)]
pub struct AccountPublicAccessBlock {
    pub scope: String,
    /// None when the account has no configuration (every setting off) or it could not be read;
    /// `state` tells which.
    pub settings: Option<PublicAccessBlock>,
    /// `set`, `none` or `unknown`.
    pub state: String,
    pub source: String,
}
