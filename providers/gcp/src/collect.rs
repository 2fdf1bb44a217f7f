//! Collectors: read-only Google API calls, decoded at once into small raw records that follow the
//! REST JSON (proto3 JSON: default values are omitted, so every field is optional). Every list
//! method that pages is followed through `nextPageToken`.

use crate::client::{Api, Service};
use crate::error::{CollectError, FailureKind};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use tokio::sync::OnceCell;

fn decode<T: DeserializeOwned>(
    value: serde_json::Value,
    operation: &str,
    target: &str,
    what: &str,
) -> Result<T, CollectError> {
    serde_json::from_value(value).map_err(|e| {
        CollectError::new(
            operation,
            target,
            FailureKind::Malformed,
            format!("unexpected {what}: {e}"),
        )
    })
}

/// Decodes a resource, which has a `name` (every Google resource does: an answer without one is
/// not the documented resource).
fn decode_named<T: DeserializeOwned>(
    value: serde_json::Value,
    operation: &str,
    target: &str,
    what: &str,
) -> Result<T, CollectError> {
    if !has_name(&value) {
        return Err(CollectError::new(
            operation,
            target,
            FailureKind::Malformed,
            format!("the {what} has no `name`"),
        ));
    }
    decode(value, operation, target, what)
}

/// Whether a resource object carries a non-empty `name`.
fn has_name(value: &serde_json::Value) -> bool {
    value
        .get("name")
        .and_then(|n| n.as_str())
        .is_some_and(|n| !n.is_empty())
}

/// Decodes each element of `items` on its own, so one odd item does not hide the others. A
/// resource (an object) without a `name` is an error too.
fn decode_each<T: DeserializeOwned>(
    items: Option<&serde_json::Value>,
    operation: &str,
    target: &str,
    what: &str,
    errors: &mut Vec<CollectError>,
) -> Vec<T> {
    let Some(items) = items else {
        return Vec::new();
    };
    let Some(array) = items.as_array() else {
        errors.push(CollectError::new(
            operation,
            target,
            FailureKind::Malformed,
            format!("`{what}` is not a list"),
        ));
        return Vec::new();
    };
    let mut out = Vec::new();
    for item in array {
        if item.is_object() && !has_name(item) {
            errors.push(CollectError::new(
                operation,
                target,
                FailureKind::Malformed,
                format!("a {what} entry has no `name`"),
            ));
            continue;
        }
        match serde_json::from_value::<T>(item.clone()) {
            Ok(v) => out.push(v),
            Err(e) => errors.push(CollectError::new(
                operation,
                target,
                FailureKind::Malformed,
                format!("unexpected {what} entry: {e}"),
            )),
        }
    }
    out
}

// ---------------------------------------------------------------------------------------------
// Resource Manager

/// `google.cloud.resourcemanager.v3.Project`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct RawProject {
    /// `projects/PROJECT_NUMBER`.
    pub name: String,
    pub project_id: String,
    pub display_name: Option<String>,
    pub parent: Option<String>,
    pub state: Option<String>,
}

impl RawProject {
    pub fn number(&self) -> Option<String> {
        self.name
            .strip_prefix("projects/")
            .filter(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
            .map(str::to_string)
    }
}

pub async fn project(api: &Api, project: &str) -> Result<RawProject, CollectError> {
    let target = format!("projects/{project}");
    let value = api
        .call(
            Service::ResourceManager,
            reqwest::Method::GET,
            &format!("/v3/projects/{project}"),
            &[],
            None,
            &target,
        )
        .await?;
    decode_named(
        value,
        "cloudresourcemanager projects.get",
        &target,
        "project",
    )
}

/// Every active project the caller can see (`--all-projects`).
pub async fn search_projects(api: &Api) -> (Vec<RawProject>, Vec<CollectError>) {
    let (pages, error) = api
        .pages(
            Service::ResourceManager,
            "/v3/projects:search",
            // Google documents no largest page ("the server can return fewer projects than
            // requested"); 500 asks for few pages, and a smaller answer pages on.
            &[("pageSize", "500")],
            "projects",
        )
        .await;
    let mut errors: Vec<CollectError> = error.into_iter().collect();
    let mut out = Vec::new();
    for page in &pages {
        let projects: Vec<RawProject> = decode_each(
            page.get("projects"),
            "cloudresourcemanager projects.search",
            "projects",
            "project",
            &mut errors,
        );
        out.extend(projects.into_iter().filter(|p| {
            p.state
                .as_deref()
                .is_none_or(|s| s == crate::schema::PROJECT_ACTIVE)
        }));
    }
    out.sort_by(|a, b| a.project_id.cmp(&b.project_id));
    out.dedup_by(|a, b| a.project_id == b.project_id);
    (out, errors)
}

/// What one `folders.list` + `projects.list` pair returned for a parent (an organization or a
/// folder): its direct child folders and projects, and the errors of either listing.
#[derive(Debug, Clone, Default)]
pub struct Children {
    pub folders: Vec<RawFolder>,
    pub projects: Vec<RawProject>,
    pub errors: Vec<CollectError>,
}

/// Decodes the pages of `folders.list` (`folders[]`) under `parent`.
pub fn folders_of_pages(
    pages: &[serde_json::Value],
    parent: &str,
    errors: &mut Vec<CollectError>,
) -> Vec<RawFolder> {
    let mut out = Vec::new();
    for page in pages {
        if !page.is_object() {
            errors.push(CollectError::new(
                "cloudresourcemanager folders.list",
                parent,
                FailureKind::Malformed,
                "a page is not a JSON object",
            ));
            continue;
        }
        out.extend(decode_each::<RawFolder>(
            page.get("folders"),
            "cloudresourcemanager folders.list",
            parent,
            "folder",
            errors,
        ));
    }
    out
}

/// Decodes the pages of `projects.list` (`projects[]`) under `parent`.
pub fn projects_of_pages(
    pages: &[serde_json::Value],
    parent: &str,
    errors: &mut Vec<CollectError>,
) -> Vec<RawProject> {
    let mut out = Vec::new();
    for page in pages {
        if !page.is_object() {
            errors.push(CollectError::new(
                "cloudresourcemanager projects.list",
                parent,
                FailureKind::Malformed,
                "a page is not a JSON object",
            ));
            continue;
        }
        out.extend(decode_each::<RawProject>(
            page.get("projects"),
            "cloudresourcemanager projects.list",
            parent,
            "project",
            errors,
        ));
    }
    out
}

/// The direct children of `parent` (`organizations/ID` or `folders/ID`): `folders.list` (ACTIVE
/// folders only, the default) and `projects.list` with `showDeleted=true`, so that projects
/// pending deletion are seen (and reported as not scanned) rather than silently missing. Both
/// listings run concurrently and follow every page.
pub async fn children(api: &Api, parent: &str) -> Children {
    let folder_params = [("parent", parent)];
    let project_params = [("parent", parent), ("showDeleted", "true")];
    let ((folder_pages, folder_error), (project_pages, project_error)) = tokio::join!(
        api.pages(
            Service::ResourceManager,
            "/v3/folders",
            &folder_params,
            parent
        ),
        api.pages(
            Service::ResourceManager,
            "/v3/projects",
            &project_params,
            parent
        ),
    );
    let mut errors: Vec<CollectError> = folder_error.into_iter().collect();
    errors.extend(project_error);
    let folders = folders_of_pages(&folder_pages, parent, &mut errors);
    let projects = projects_of_pages(&project_pages, parent, &mut errors);
    Children {
        folders,
        projects,
        errors,
    }
}

/// `google.iam.v1.Policy`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(default, rename_all = "camelCase")]
pub struct Policy {
    pub version: Option<i64>,
    pub bindings: Vec<Binding>,
    pub audit_configs: Vec<AuditConfig>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(default, rename_all = "camelCase")]
pub struct Binding {
    pub role: String,
    pub members: Vec<String>,
    pub condition: Option<Expr>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(default, rename_all = "camelCase")]
pub struct Expr {
    pub expression: String,
    pub title: Option<String>,
    pub description: Option<String>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(default, rename_all = "camelCase")]
pub struct AuditConfig {
    pub service: String,
    pub audit_log_configs: Vec<AuditLogConfig>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(default, rename_all = "camelCase")]
pub struct AuditLogConfig {
    pub log_type: String,
    pub exempted_members: Vec<String>,
}

/// The project's allow policy with conditional bindings and audit configs (policy version 3).
pub async fn project_policy(api: &Api, project: &str) -> Result<Policy, CollectError> {
    let target = format!("projects/{project}");
    let value = api
        .call(
            Service::ResourceManager,
            reqwest::Method::POST,
            &format!("/v3/projects/{project}:getIamPolicy"),
            &[],
            Some(serde_json::json!({"options": {"requestedPolicyVersion": 3}})),
            &target,
        )
        .await?;
    decode(
        value,
        "cloudresourcemanager projects.getIamPolicy",
        &target,
        "policy",
    )
}

/// `google.cloud.resourcemanager.v3.Folder`: a step of a project's ancestry.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct RawFolder {
    /// `folders/FOLDER_ID`.
    pub name: String,
    /// `folders/ID` or `organizations/ID`.
    pub parent: Option<String>,
    pub display_name: Option<String>,
    pub state: Option<String>,
}

/// Whether `resource` is `folders/ID` or `organizations/ID` with a numeric id.
pub fn is_ancestor_name(resource: &str) -> bool {
    match resource.split_once('/') {
        Some(("folders" | "organizations", id)) => {
            !id.is_empty() && id.bytes().all(|b| b.is_ascii_digit())
        }
        _ => false,
    }
}

/// `folders.get`: the folder's parent, to walk a project's ancestry.
pub async fn folder(api: &Api, folder: &str) -> Result<RawFolder, CollectError> {
    if !folder.starts_with("folders/") || !is_ancestor_name(folder) {
        return Err(CollectError::new(
            "cloudresourcemanager folders.get",
            folder,
            FailureKind::Other,
            "not a folder name cloudscan can look up",
        ));
    }
    let value = api
        .call(
            Service::ResourceManager,
            reqwest::Method::GET,
            &format!("/v3/{folder}"),
            &[],
            None,
            folder,
        )
        .await?;
    decode_named(value, "cloudresourcemanager folders.get", folder, "folder")
}

/// The allow policy (with audit configs) of a folder or an organization, read-only.
pub async fn ancestor_policy(api: &Api, resource: &str) -> Result<Policy, CollectError> {
    let kind = resource.split('/').next().unwrap_or_default();
    let operation = format!("cloudresourcemanager {kind}.getIamPolicy");
    if !is_ancestor_name(resource) {
        return Err(CollectError::new(
            &operation,
            resource,
            FailureKind::Other,
            "not a folder or organization name",
        ));
    }
    let value = api
        .call(
            Service::ResourceManager,
            reqwest::Method::POST,
            &format!("/v3/{resource}:getIamPolicy"),
            &[],
            Some(serde_json::json!({"options": {"requestedPolicyVersion": 3}})),
            resource,
        )
        .await?;
    decode(value, &operation, resource, "policy")
}

// ---------------------------------------------------------------------------------------------
// GKE

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct Enabled {
    pub enabled: Option<bool>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct CidrBlock {
    pub display_name: Option<String>,
    pub cidr_block: String,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct AuthorizedNetworks {
    pub enabled: Option<bool>,
    pub cidr_blocks: Vec<CidrBlock>,
    pub gcp_public_cidrs_access_enabled: Option<bool>,
    pub private_endpoint_enforcement_enabled: Option<bool>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct PrivateClusterConfig {
    pub enable_private_nodes: Option<bool>,
    pub enable_private_endpoint: Option<bool>,
    pub private_endpoint: Option<String>,
    pub public_endpoint: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct IpEndpointsConfig {
    pub enabled: Option<bool>,
    pub enable_public_endpoint: Option<bool>,
    pub global_access: Option<bool>,
    pub authorized_networks_config: Option<AuthorizedNetworks>,
    pub public_endpoint: Option<String>,
    pub private_endpoint: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct DnsEndpointConfig {
    pub endpoint: Option<String>,
    pub allow_external_traffic: Option<bool>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct ControlPlaneEndpointsConfig {
    pub dns_endpoint_config: Option<DnsEndpointConfig>,
    pub ip_endpoints_config: Option<IpEndpointsConfig>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct ClientCertificateConfig {
    pub issue_client_certificate: Option<bool>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct MasterAuth {
    pub username: Option<String>,
    pub password: Option<String>,
    pub client_certificate_config: Option<ClientCertificateConfig>,
    pub client_certificate: Option<String>,
    pub client_key: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct DatabaseEncryption {
    pub state: Option<String>,
    pub key_name: Option<String>,
    pub current_state: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct ComponentConfig {
    pub enable_components: Vec<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct LoggingConfig {
    pub component_config: Option<ComponentConfig>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct WorkloadIdentityConfig {
    pub workload_pool: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct WorkloadMetadataConfig {
    pub mode: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct NodeConfig {
    pub service_account: Option<String>,
    pub oauth_scopes: Vec<String>,
    pub workload_metadata_config: Option<WorkloadMetadataConfig>,
    pub boot_disk_kms_key: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct RawNodePool {
    pub name: String,
    pub self_link: Option<String>,
    pub version: Option<String>,
    pub status: Option<String>,
    pub config: Option<NodeConfig>,
    pub instance_group_urls: Vec<String>,
}

/// `google.container.v1.Cluster`, the fields cloudscan reads.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct RawCluster {
    pub name: String,
    pub location: String,
    pub self_link: Option<String>,
    pub id: Option<String>,
    pub current_master_version: Option<String>,
    pub resource_labels: BTreeMap<String, String>,
    pub autopilot: Option<Enabled>,
    pub master_authorized_networks_config: Option<AuthorizedNetworks>,
    pub private_cluster_config: Option<PrivateClusterConfig>,
    pub control_plane_endpoints_config: Option<ControlPlaneEndpointsConfig>,
    pub master_auth: Option<MasterAuth>,
    pub legacy_abac: Option<Enabled>,
    pub database_encryption: Option<DatabaseEncryption>,
    pub logging_config: Option<LoggingConfig>,
    pub logging_service: Option<String>,
    pub workload_identity_config: Option<WorkloadIdentityConfig>,
    pub node_pools: Vec<RawNodePool>,
    /// The API server's public IP address (`endpoint`).
    pub endpoint: Option<String>,
}

/// Every cluster of the project in all locations (`locations/-`; the method does not page), and
/// the zones that did not answer (`missingZones`).
pub async fn clusters(
    api: &Api,
    project: &str,
) -> Result<(Vec<RawCluster>, Vec<String>, Vec<CollectError>), CollectError> {
    let target = format!("projects/{project}");
    let operation = "container projects.locations.clusters.list";
    let value = api
        .call(
            Service::Container,
            reqwest::Method::GET,
            &format!("/v1/projects/{project}/locations/-/clusters"),
            &[],
            None,
            &target,
        )
        .await?;
    if !value.is_object() {
        return Err(CollectError::new(
            operation,
            &target,
            FailureKind::Malformed,
            "the response is not a JSON object",
        ));
    }
    let mut errors = Vec::new();
    let clusters = decode_each(
        value.get("clusters"),
        operation,
        &target,
        "cluster",
        &mut errors,
    );
    let missing: Vec<String> = decode_each(
        value.get("missingZones"),
        operation,
        &target,
        "missingZones",
        &mut errors,
    );
    Ok((clusters, missing, errors))
}

// ---------------------------------------------------------------------------------------------
// IAM

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct RawServiceAccount {
    pub name: String,
    pub project_id: String,
    pub unique_id: Option<String>,
    pub email: String,
    pub display_name: Option<String>,
    pub disabled: Option<bool>,
}

pub async fn service_accounts(
    api: &Api,
    project: &str,
) -> (Vec<RawServiceAccount>, Vec<CollectError>) {
    let target = format!("projects/{project}");
    let (pages, error) = api
        .pages(
            Service::Iam,
            &format!("/v1/projects/{project}/serviceAccounts"),
            &[("pageSize", "100")],
            &target,
        )
        .await;
    let mut errors: Vec<CollectError> = error.into_iter().collect();
    let mut out = Vec::new();
    for page in &pages {
        out.extend(decode_each::<RawServiceAccount>(
            page.get("accounts"),
            "iam projects.serviceAccounts.list",
            &target,
            "service account",
            &mut errors,
        ));
    }
    out.retain(|sa| !sa.email.is_empty());
    (out, errors)
}

/// The IAM policy of one service account: who can act as it.
pub async fn service_account_policy(
    api: &Api,
    project: &str,
    email: &str,
) -> Result<Policy, CollectError> {
    let value = api
        .call(
            Service::Iam,
            reqwest::Method::POST,
            &format!("/v1/projects/{project}/serviceAccounts/{email}:getIamPolicy"),
            &[("options.requestedPolicyVersion", "3".to_string())],
            None,
            email,
        )
        .await?;
    decode(
        value,
        "iam projects.serviceAccounts.getIamPolicy",
        email,
        "policy",
    )
}

/// `google.iam.admin.v1.Role`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct RawRole {
    pub name: String,
    pub title: Option<String>,
    pub stage: Option<String>,
    pub included_permissions: Vec<String>,
    pub deleted: Option<bool>,
}

/// Role definitions fetched once per run, shared by every project (concurrent lookups of the
/// same role wait for one request).
type RoleCell = Arc<OnceCell<Result<RawRole, CollectError>>>;

#[derive(Debug, Clone, Default)]
pub struct RoleCache {
    cells: Arc<Mutex<HashMap<String, RoleCell>>>,
}

impl RoleCache {
    pub async fn get(&self, api: &Api, role: &str) -> Result<RawRole, CollectError> {
        let cell = {
            let mut cells = self
                .cells
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner());
            cells.entry(role.to_string()).or_default().clone()
        };
        cell.get_or_init(|| fetch_role(api, role)).await.clone()
    }

    /// Every role looked up so far, with its result.
    pub fn snapshot(&self) -> BTreeMap<String, Result<RawRole, CollectError>> {
        let cells = self
            .cells
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        cells
            .iter()
            .filter_map(|(k, cell)| cell.get().map(|r| (k.clone(), r.clone())))
            .collect()
    }
}

/// `roles/X` (predefined), `projects/P/roles/X` or `organizations/O/roles/X` (custom).
async fn fetch_role(api: &Api, role: &str) -> Result<RawRole, CollectError> {
    let valid = role.split('/').all(|s| !s.is_empty())
        && (role.starts_with("roles/")
            || role.starts_with("projects/")
            || role.starts_with("organizations/"));
    if !valid {
        return Err(CollectError::new(
            "iam roles.get",
            role,
            FailureKind::Other,
            "not a role name cloudscan can look up",
        ));
    }
    let value = api
        .call(
            Service::Iam,
            reqwest::Method::GET,
            &format!("/v1/{role}"),
            &[],
            None,
            role,
        )
        .await?;
    let operation = if role.starts_with("projects/") {
        "iam projects.roles.get"
    } else if role.starts_with("organizations/") {
        "iam organizations.roles.get"
    } else {
        "iam roles.get"
    };
    decode_named(value, operation, role, "role")
}

// ---------------------------------------------------------------------------------------------
// Compute

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct DiskEncryptionKey {
    pub kms_key_name: Option<String>,
    pub sha256: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct RawDisk {
    pub name: String,
    pub id: Option<String>,
    pub zone: Option<String>,
    pub region: Option<String>,
    pub self_link: Option<String>,
    pub users: Vec<String>,
    pub labels: BTreeMap<String, String>,
    pub disk_encryption_key: Option<DiskEncryptionKey>,
}

/// Every disk of the project (aggregated over zones and regions), and the scopes that could not
/// be read (`unreachables`, or per-scope warnings other than "no results").
pub async fn disks(api: &Api, project: &str) -> (Vec<RawDisk>, Vec<String>, Vec<CollectError>) {
    let target = format!("projects/{project}");
    let operation = "compute disks.aggregatedList";
    let (pages, error) = api
        .pages(
            Service::Compute,
            &format!("/compute/v1/projects/{project}/aggregated/disks"),
            &[("maxResults", "500"), ("returnPartialSuccess", "true")],
            &target,
        )
        .await;
    let mut errors: Vec<CollectError> = error.into_iter().collect();
    let mut disks = Vec::new();
    let mut unreachable = Vec::new();
    for page in &pages {
        if let Some(list) = page.get("unreachables").and_then(|u| u.as_array()) {
            unreachable.extend(list.iter().filter_map(|u| u.as_str().map(str::to_string)));
        }
        let Some(items) = page.get("items") else {
            continue;
        };
        let Some(items) = items.as_object() else {
            errors.push(CollectError::new(
                operation,
                &target,
                FailureKind::Malformed,
                "`items` is not a map of scopes",
            ));
            continue;
        };
        for (scope, scoped) in items {
            if let Some(code) = scoped
                .get("warning")
                .and_then(|w| w.get("code"))
                .and_then(|c| c.as_str())
            {
                if code != crate::schema::NO_RESULTS_ON_PAGE {
                    unreachable.push(format!("{scope} ({code})"));
                }
            }
            disks.extend(decode_each::<RawDisk>(
                scoped.get("disks"),
                operation,
                &target,
                "disk",
                &mut errors,
            ));
        }
    }
    unreachable.sort();
    unreachable.dedup();
    (disks, unreachable, errors)
}
