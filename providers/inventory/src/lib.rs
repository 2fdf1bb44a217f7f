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

    /// Finds a role definition by its name (`roles/editor`, `projects/p/roles/custom`).
    pub fn role_definition(&self, name: &str) -> Option<&RoleDefinition> {
        self.role_definitions.iter().find(|r| r.name == name)
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
    /// The parsed JSON document; None when it could not be decoded.
    pub document: Option<serde_json::Value>,
    /// Why the document could not be decoded.
    pub error: Option<String>,
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
