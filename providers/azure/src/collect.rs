//! The ARM calls and the raw shapes they return (only the fields the normalizer reads; every
//! field is optional because ARM omits defaults and sometimes sends `null`).

use crate::client::Arm;
use crate::error::{CollectError, FailureKind};
use serde::Deserialize;
use std::collections::BTreeMap;

pub const AKS_API: &str = "2025-07-01";
pub const AUTHORIZATION_API: &str = "2022-04-01";
pub const MSI_API: &str = "2024-11-30";
pub const INSIGHTS_API: &str = "2021-05-01-preview";
pub const COMPUTE_DES_API: &str = "2024-03-02";
pub const SUBSCRIPTIONS_API: &str = "2022-12-01";
/// `Microsoft.Management` (management groups): the api-version of azure-mgmt-managementgroups
/// 1.0.0, the pinned spec wheel.
pub const MANAGEMENT_GROUPS_API: &str = "2021-04-01";

/// The ARM id prefix of a management group.
pub const MANAGEMENT_GROUP_PREFIX: &str = "/providers/Microsoft.Management/managementGroups/";

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct Subscription {
    pub subscription_id: String,
    pub display_name: Option<String>,
    pub state: Option<String>,
}

/// One entity below a management group (`managementGroups.getDescendants`): a management group
/// or a subscription, with its parent group.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct Descendant {
    pub id: String,
    /// The group's name or the subscription's id.
    pub name: String,
    /// `Microsoft.Management/managementGroups` or `Microsoft.Management/managementGroups/subscriptions`
    /// (the spec's own example says `/subscriptions`).
    #[serde(rename = "type")]
    pub kind: Option<String>,
    pub properties: DescendantProperties,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct DescendantProperties {
    pub display_name: Option<String>,
    pub parent: Option<DescendantParent>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct DescendantParent {
    pub id: Option<String>,
}

impl Descendant {
    /// Whether the entity is a subscription (else a management group).
    pub fn is_subscription(&self) -> bool {
        let kind = self.kind.as_deref().unwrap_or("").to_ascii_lowercase();
        kind.ends_with("/subscriptions") || kind == "subscriptions"
    }

    /// The subscription id (`name`, else the last segment of `id`).
    pub fn subscription_id(&self) -> String {
        if !self.name.trim().is_empty() {
            return self.name.trim().to_string();
        }
        self.id
            .trim_end_matches('/')
            .rsplit('/')
            .next()
            .unwrap_or("")
            .to_string()
    }

    /// The parent group's name, from `properties.parent.id`.
    pub fn parent_group(&self) -> Option<String> {
        let id = self.properties.parent.as_ref()?.id.as_deref()?;
        group_name(id)
    }
}

/// The name of a management group from its ARM id (or the name itself).
pub fn group_name(id_or_name: &str) -> Option<String> {
    let text = id_or_name.trim().trim_end_matches('/');
    let lower = text.to_ascii_lowercase();
    let prefix = MANAGEMENT_GROUP_PREFIX.to_ascii_lowercase();
    let name = if lower.starts_with(&prefix) {
        text.get(prefix.len()..)?
    } else {
        text
    };
    valid_group_name(name).then(|| name.to_string())
}

/// A management group name ARM accepts: 1-90 letters, digits, `-`, `_`, `(`, `)`, `.`, not
/// ending with `.` (https://learn.microsoft.com/azure/governance/management-groups/create-management-group-rest-api).
pub fn valid_group_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 90
        && !name.ends_with('.')
        && name != "."
        && name != ".."
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_().".contains(c))
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct ManagedCluster {
    pub id: String,
    pub name: String,
    pub location: String,
    pub tags: Option<BTreeMap<String, String>>,
    pub properties: ClusterProperties,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct ClusterProperties {
    pub kubernetes_version: Option<String>,
    pub current_kubernetes_version: Option<String>,
    pub api_server_access_profile: Option<ApiServerAccessProfile>,
    pub public_network_access: Option<String>,
    pub disable_local_accounts: Option<bool>,
    #[serde(rename = "enableRBAC")]
    pub enable_rbac: Option<bool>,
    pub aad_profile: Option<AadProfile>,
    pub identity_profile: Option<BTreeMap<String, UserAssignedIdentity>>,
    pub service_principal_profile: Option<ServicePrincipalProfile>,
    pub oidc_issuer_profile: Option<OidcIssuerProfile>,
    pub security_profile: Option<SecurityProfile>,
    #[serde(rename = "diskEncryptionSetID")]
    pub disk_encryption_set_id: Option<String>,
    pub agent_pool_profiles: Option<Vec<AgentPool>>,
    /// The API server's host names (public and private).
    pub fqdn: Option<String>,
    #[serde(rename = "privateFQDN")]
    pub private_fqdn: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct ApiServerAccessProfile {
    #[serde(rename = "authorizedIPRanges")]
    pub authorized_ip_ranges: Option<Vec<String>>,
    pub enable_private_cluster: Option<bool>,
    #[serde(rename = "enablePrivateClusterPublicFQDN")]
    pub enable_private_cluster_public_fqdn: Option<bool>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct AadProfile {
    pub managed: Option<bool>,
    #[serde(rename = "enableAzureRBAC")]
    pub enable_azure_rbac: Option<bool>,
    #[serde(rename = "adminGroupObjectIDs")]
    pub admin_group_object_ids: Option<Vec<String>>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct UserAssignedIdentity {
    pub resource_id: Option<String>,
    pub client_id: Option<String>,
    pub object_id: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct ServicePrincipalProfile {
    pub client_id: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct OidcIssuerProfile {
    pub enabled: Option<bool>,
    #[serde(rename = "issuerURL")]
    pub issuer_url: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct SecurityProfile {
    pub workload_identity: Option<Toggle>,
    pub azure_key_vault_kms: Option<KeyVaultKms>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct Toggle {
    pub enabled: Option<bool>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct KeyVaultKms {
    pub enabled: Option<bool>,
    pub key_id: Option<String>,
    pub key_vault_network_access: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct AgentPool {
    pub name: String,
    pub mode: Option<String>,
    pub enable_encryption_at_host: Option<bool>,
    #[serde(rename = "enableNodePublicIP")]
    pub enable_node_public_ip: Option<bool>,
    /// `Managed` or `Ephemeral` (`OSDiskType`); absent: AKS picks Ephemeral when the VM size
    /// allows it, Managed otherwise.
    pub os_disk_type: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct RoleAssignment {
    pub id: String,
    pub name: String,
    pub properties: RoleAssignmentProperties,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct RoleAssignmentProperties {
    pub scope: String,
    pub role_definition_id: String,
    pub principal_id: String,
    pub principal_type: Option<String>,
    pub condition: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct RoleDefinition {
    pub id: String,
    pub name: String,
    pub properties: RoleDefinitionProperties,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct RoleDefinitionProperties {
    pub role_name: Option<String>,
    #[serde(rename = "type")]
    pub role_type: Option<String>,
    pub assignable_scopes: Option<Vec<String>>,
    pub permissions: Option<Vec<Permission>>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct Permission {
    pub actions: Option<Vec<String>>,
    pub not_actions: Option<Vec<String>>,
    pub data_actions: Option<Vec<String>>,
    pub not_data_actions: Option<Vec<String>>,
}

/// A deny assignment (read-only: Azure creates them for managed applications, deployment stacks
/// and Blueprints). Its permissions are denied to its principals, except the excluded ones, at
/// its scope and (unless `doNotApplyToChildScopes`) below.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct DenyAssignment {
    pub id: String,
    pub name: String,
    pub properties: DenyAssignmentProperties,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct DenyAssignmentProperties {
    pub deny_assignment_name: Option<String>,
    pub permissions: Option<Vec<Permission>>,
    pub scope: String,
    pub do_not_apply_to_child_scopes: Option<bool>,
    pub principals: Option<Vec<Principal>>,
    pub exclude_principals: Option<Vec<Principal>>,
    pub condition: Option<String>,
}

/// A principal of a deny assignment.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct Principal {
    pub id: Option<String>,
    #[serde(rename = "type")]
    pub principal_type: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct ManagedIdentity {
    pub id: String,
    pub name: String,
    pub location: Option<String>,
    pub properties: ManagedIdentityProperties,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct ManagedIdentityProperties {
    pub client_id: Option<String>,
    pub principal_id: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct FederatedCredential {
    pub id: String,
    pub name: String,
    pub properties: FederatedCredentialProperties,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct FederatedCredentialProperties {
    pub issuer: String,
    pub subject: String,
    pub audiences: Option<Vec<String>>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct DiagnosticSetting {
    pub id: String,
    pub name: String,
    pub properties: DiagnosticProperties,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct DiagnosticProperties {
    pub workspace_id: Option<String>,
    pub storage_account_id: Option<String>,
    pub event_hub_authorization_rule_id: Option<String>,
    pub event_hub_name: Option<String>,
    pub logs: Option<Vec<DiagnosticLog>>,
}

impl DiagnosticProperties {
    /// The setting sends its logs somewhere (a workspace, a storage account or an event hub).
    pub fn has_destination(&self) -> bool {
        [
            &self.workspace_id,
            &self.storage_account_id,
            &self.event_hub_authorization_rule_id,
        ]
        .iter()
        .any(|d| d.as_deref().is_some_and(|s| !s.is_empty()))
    }
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct DiagnosticLog {
    pub category: Option<String>,
    pub category_group: Option<String>,
    pub enabled: Option<bool>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct DiskEncryptionSet {
    pub id: String,
    pub properties: DiskEncryptionSetProperties,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct DiskEncryptionSetProperties {
    pub encryption_type: Option<String>,
    pub active_key: Option<ActiveKey>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct ActiveKey {
    pub key_url: Option<String>,
}

/// Whether an ARM resource carries its (non-empty) `id`.
fn has_id(value: &serde_json::Value) -> bool {
    value
        .get("id")
        .and_then(|v| v.as_str())
        .is_some_and(|v| !v.trim().is_empty())
}

/// Decodes one ARM resource read with GET: an answer without an `id` is not the resource.
fn decode_resource<T: serde::de::DeserializeOwned>(
    value: serde_json::Value,
    operation: &str,
    id: &str,
    what: &str,
) -> Result<T, CollectError> {
    let malformed =
        |message: String| CollectError::new(operation, id, FailureKind::Malformed, message);
    if !has_id(&value) {
        return Err(malformed(format!("the {what} has no `id`")));
    }
    serde_json::from_value(value).map_err(|e| {
        malformed(format!(
            "the {what} does not have the documented shape: {e}"
        ))
    })
}

/// Decodes list items; an item without an `id` or that does not have the documented shape is
/// an error, the others are kept.
fn decode<T: serde::de::DeserializeOwned>(
    items: Vec<serde_json::Value>,
    path: &str,
    target: &str,
) -> (Vec<T>, Vec<CollectError>) {
    let key = crate::fixture::describe(path);
    let operation = format!("{} {}", key.0, key.1);
    let mut out = Vec::new();
    let mut errors = Vec::new();
    for (i, item) in items.into_iter().enumerate() {
        if !has_id(&item) {
            errors.push(CollectError::new(
                &operation,
                target,
                FailureKind::Malformed,
                format!("item {i} has no `id` (every ARM resource has one)"),
            ));
            continue;
        }
        match serde_json::from_value(item) {
            Ok(v) => out.push(v),
            Err(e) => errors.push(CollectError::new(
                &operation,
                target,
                FailureKind::Malformed,
                format!("item {i} does not have the documented shape: {e}"),
            )),
        }
    }
    (out, errors)
}

/// One list call, decoded. `Err` when nothing could be listed.
pub type Listed<T> = (Vec<T>, Vec<CollectError>);

async fn list<T: serde::de::DeserializeOwned>(
    arm: &Arm,
    path: &str,
    api: &str,
    target: &str,
) -> Result<Listed<T>, CollectError> {
    let (items, error) = arm.list(path, api, target).await;
    match error {
        // Nothing read: the whole list is unknown.
        Some(e) if items.is_empty() => Err(e),
        error => {
            let (out, mut errors) = decode(items, path, target);
            errors.extend(error);
            Ok((out, errors))
        }
    }
}

pub async fn subscriptions(arm: &Arm) -> Result<Listed<Subscription>, CollectError> {
    list(arm, "/subscriptions", SUBSCRIPTIONS_API, "tenant").await
}

/// Every entity below a management group, at any depth (one paged list).
pub async fn descendants(arm: &Arm, group: &str) -> Result<Listed<Descendant>, CollectError> {
    let id = format!("{MANAGEMENT_GROUP_PREFIX}{group}");
    list(
        arm,
        &format!("{id}/descendants"),
        MANAGEMENT_GROUPS_API,
        &id,
    )
    .await
}

/// One subscription (its `state`).
pub async fn subscription(arm: &Arm, sub: &str) -> Result<Subscription, CollectError> {
    let path = format!("/subscriptions/{sub}");
    let value = arm.get(&path, SUBSCRIPTIONS_API, &path).await?;
    decode_resource(value, "resources subscriptions.get", &path, "subscription")
}

/// Lists the resources of type `resource` (`Microsoft.X/type`) in a subscription.
async fn list_in_subscription<T: serde::de::DeserializeOwned>(
    arm: &Arm,
    sub: &str,
    resource: &str,
    api: &str,
) -> Result<Listed<T>, CollectError> {
    let scope = format!("/subscriptions/{sub}");
    list(arm, &format!("{scope}/providers/{resource}"), api, &scope).await
}

pub async fn clusters(arm: &Arm, sub: &str) -> Result<Listed<ManagedCluster>, CollectError> {
    list_in_subscription(
        arm,
        sub,
        "Microsoft.ContainerService/managedClusters",
        AKS_API,
    )
    .await
}

pub async fn role_assignments(
    arm: &Arm,
    sub: &str,
) -> Result<Listed<RoleAssignment>, CollectError> {
    list_in_subscription(
        arm,
        sub,
        "Microsoft.Authorization/roleAssignments",
        AUTHORIZATION_API,
    )
    .await
}

pub async fn deny_assignments(
    arm: &Arm,
    sub: &str,
) -> Result<Listed<DenyAssignment>, CollectError> {
    list_in_subscription(
        arm,
        sub,
        "Microsoft.Authorization/denyAssignments",
        AUTHORIZATION_API,
    )
    .await
}

pub async fn role_definition(arm: &Arm, id: &str) -> Result<RoleDefinition, CollectError> {
    let value = arm.get(id, AUTHORIZATION_API, id).await?;
    decode_resource(
        value,
        "authorization roleDefinitions.get",
        id,
        "role definition",
    )
}

pub async fn identities(arm: &Arm, sub: &str) -> Result<Listed<ManagedIdentity>, CollectError> {
    list_in_subscription(
        arm,
        sub,
        "Microsoft.ManagedIdentity/userAssignedIdentities",
        MSI_API,
    )
    .await
}

pub async fn federated_credentials(
    arm: &Arm,
    identity_id: &str,
) -> Result<Listed<FederatedCredential>, CollectError> {
    let path = format!("{identity_id}/federatedIdentityCredentials");
    list(arm, &path, MSI_API, identity_id).await
}

/// Diagnostic settings of a resource (an AKS cluster) or, with `/subscriptions/S`, of the
/// subscription's activity log.
pub async fn diagnostic_settings(
    arm: &Arm,
    resource: &str,
) -> Result<Listed<DiagnosticSetting>, CollectError> {
    let path = format!("{resource}/providers/Microsoft.Insights/diagnosticSettings");
    list(arm, &path, INSIGHTS_API, resource).await
}

pub async fn disk_encryption_set(arm: &Arm, id: &str) -> Result<DiskEncryptionSet, CollectError> {
    let value = arm.get(id, COMPUTE_DES_API, id).await?;
    decode_resource(
        value,
        "compute diskEncryptionSets.get",
        id,
        "disk encryption set",
    )
}
