//! The GCP side of the estate: the Resource Manager v3, GKE v1, IAM v1 and Compute v1 reads
//! the adapter makes, under `/{service}` of the server (the layout of `CLOUDSCAN_GCP_BASE_URL`),
//! and the OAuth token exchange. Shapes follow the discovery documents
//! (`cloudresourcemanager.v3`, `container.v1`, `iam.v1`, `compute.v1`).
//!
//! The estate: one organization; `folders` top-level folders, each with one subfolder; projects
//! round-robin over the folders (one in four directly under the organization); per project GKE
//! clusters (Workload Identity on every other one; private, authorized-range or public API
//! servers; two node pools, one on the node service account with the minimal scopes, one in
//! four on the default compute service account with `cloud-platform`), a boot disk per node pool,
//! service accounts (some with Workload Identity bindings), and allow policies on the project,
//! its folders and the organization.

use crate::http::{Req, Resp};
use crate::spec::Spec;
use serde_json::{json, Value};

/// The services served, by the first path segment.
pub const SERVICES: [&str; 4] = ["cloudresourcemanager", "container", "iam", "compute"];

/// Resource Manager list pages: the server's default and the most a page may hold (Google
/// documents neither; these are the estate's).
pub const CRM_PAGE_DEFAULT: usize = 100;
pub const CRM_PAGE_MAX: usize = 500;
/// `serviceAccounts.list`: "The default is 20, and the maximum is 100."
pub const SA_PAGE_DEFAULT: usize = 20;
pub const SA_PAGE_MAX: usize = 100;
/// `disks.aggregatedList`: `maxResults` 0..=500, default 500.
pub const DISK_PAGE_MAX: usize = 500;
/// Node pools per GKE cluster.
pub const NODE_POOLS: u32 = 2;

const LOCATIONS: [&str; 4] = ["us-central1", "europe-west1", "us-east1", "asia-northeast1"];
const MIN_SCOPES: [&str; 4] = [
    "https://www.googleapis.com/auth/devstorage.read_only",
    "https://www.googleapis.com/auth/logging.write",
    "https://www.googleapis.com/auth/monitoring",
    "https://www.googleapis.com/auth/servicecontrol",
];
const CLOUD_PLATFORM: &str = "https://www.googleapis.com/auth/cloud-platform";

/// Whether a request is for the GCP side (a Google service path or the token exchange).
pub fn is_gcp(req: &Req) -> bool {
    let first = req.path.trim_start_matches('/').split('/').next();
    first.is_some_and(|s| SERVICES.contains(&s)) || is_token(req)
}

fn is_token(req: &Req) -> bool {
    req.method == "POST" && (req.path == "/token" || req.path == "/oauth2/token")
}

/// The predefined roles the estate binds: (name, title, permissions). Permission lists are
/// trimmed to the ones that matter for cloudscan's questions.
pub const ROLES: [(&str, &str, &[&str]); 12] = [
    (
        "roles/owner",
        "Owner",
        &[
            "compute.instances.setMetadata",
            "container.secrets.get",
            "iam.serviceAccountKeys.create",
            "iam.serviceAccounts.actAs",
            "resourcemanager.projects.setIamPolicy",
            "secretmanager.versions.access",
        ],
    ),
    (
        "roles/editor",
        "Editor",
        &[
            "compute.disks.create",
            "compute.instances.setMetadata",
            "container.clusters.get",
            "container.secrets.get",
            "iam.serviceAccountKeys.create",
            "iam.serviceAccounts.actAs",
            "storage.buckets.get",
        ],
    ),
    (
        "roles/container.admin",
        "Kubernetes Engine Admin",
        &[
            "container.clusters.create",
            "container.clusters.delete",
            "container.clusters.get",
            "container.clusters.list",
            "container.clusters.update",
            "container.secrets.get",
        ],
    ),
    (
        "roles/container.defaultNodeServiceAccount",
        "Kubernetes Engine Default Node Service Account",
        &[
            "autoscaling.sites.writeMetrics",
            "logging.logEntries.create",
            "monitoring.metricDescriptors.create",
            "monitoring.metricDescriptors.list",
            "monitoring.timeSeries.create",
            "resourcemanager.projects.get",
        ],
    ),
    (
        "roles/storage.objectViewer",
        "Storage Object Viewer",
        &[
            "resourcemanager.projects.get",
            "resourcemanager.projects.list",
            "storage.objects.get",
            "storage.objects.list",
        ],
    ),
    (
        "roles/secretmanager.secretAccessor",
        "Secret Manager Secret Accessor",
        &[
            "resourcemanager.projects.get",
            "resourcemanager.projects.list",
            "secretmanager.versions.access",
        ],
    ),
    (
        "roles/iam.workloadIdentityUser",
        "Workload Identity User",
        &[
            "iam.serviceAccounts.get",
            "iam.serviceAccounts.getAccessToken",
            "iam.serviceAccounts.getOpenIdToken",
            "iam.serviceAccounts.list",
        ],
    ),
    (
        "roles/iam.serviceAccountTokenCreator",
        "Service Account Token Creator",
        &[
            "iam.serviceAccounts.get",
            "iam.serviceAccounts.getAccessToken",
            "iam.serviceAccounts.getOpenIdToken",
            "iam.serviceAccounts.implicitDelegation",
            "iam.serviceAccounts.list",
            "iam.serviceAccounts.signBlob",
            "iam.serviceAccounts.signJwt",
        ],
    ),
    (
        "roles/iam.serviceAccountUser",
        "Service Account User",
        &[
            "iam.serviceAccounts.actAs",
            "iam.serviceAccounts.get",
            "iam.serviceAccounts.list",
        ],
    ),
    (
        "roles/resourcemanager.folderViewer",
        "Folder Viewer",
        &[
            "resourcemanager.folders.get",
            "resourcemanager.folders.list",
        ],
    ),
    (
        "roles/resourcemanager.organizationAdmin",
        "Organization Administrator",
        &[
            "resourcemanager.folders.getIamPolicy",
            "resourcemanager.organizations.get",
            "resourcemanager.organizations.getIamPolicy",
            "resourcemanager.organizations.setIamPolicy",
            "resourcemanager.projects.getIamPolicy",
            "resourcemanager.projects.setIamPolicy",
        ],
    ),
    (
        "roles/logging.viewer",
        "Logs Viewer",
        &["logging.logEntries.list", "logging.logs.list"],
    ),
];

/// The custom role some projects define and bind (`projects/P/roles/estateDebugger`).
pub const CUSTOM_ROLE: &str = "estateDebugger";
const CUSTOM_PERMISSIONS: [&str; 3] = [
    "container.pods.exec",
    "container.pods.get",
    "container.pods.list",
];

/// Whether project `p` defines and binds the custom role.
pub fn has_custom_role(p: u32) -> bool {
    p % 4 == 3
}

/// Whether cluster `k` of a project has Workload Identity.
pub fn has_workload_identity(k: u32) -> bool {
    k.is_multiple_of(2)
}

/// The operation name of a request, for counting (`gcp:projects.search`).
pub fn operation(req: &Req) -> String {
    if is_token(req) {
        return "gcp:token".to_string();
    }
    let segs: Vec<&str> = req.path.trim_matches('/').split('/').collect();
    let post = req.method == "POST";
    let name = match segs.as_slice() {
        ["cloudresourcemanager", "v3", "projects:search"] => "projects.search",
        ["cloudresourcemanager", "v3", "projects"] => "projects.list",
        ["cloudresourcemanager", "v3", "folders"] => "folders.list",
        ["cloudresourcemanager", "v3", "projects", id] if post && id.ends_with(":getIamPolicy") => {
            "projects.getIamPolicy"
        }
        ["cloudresourcemanager", "v3", "folders", id] if post && id.ends_with(":getIamPolicy") => {
            "folders.getIamPolicy"
        }
        ["cloudresourcemanager", "v3", "organizations", id]
            if post && id.ends_with(":getIamPolicy") =>
        {
            "organizations.getIamPolicy"
        }
        ["cloudresourcemanager", "v3", "projects", _] => "projects.get",
        ["cloudresourcemanager", "v3", "folders", _] => "folders.get",
        ["cloudresourcemanager", "v3", "organizations", _] => "organizations.get",
        ["container", "v1", "projects", _, "locations", _, "clusters"] => "clusters.list",
        ["iam", "v1", "projects", _, "serviceAccounts"] => "serviceAccounts.list",
        ["iam", "v1", "projects", _, "serviceAccounts", e]
            if post && e.ends_with(":getIamPolicy") =>
        {
            "serviceAccounts.getIamPolicy"
        }
        ["iam", "v1", "roles", _] => "roles.get",
        ["iam", "v1", "projects", _, "roles", _] => "projects.roles.get",
        ["compute", "compute", "v1", "projects", _, "aggregated", "disks"] => {
            "disks.aggregatedList"
        }
        _ => "unknown",
    };
    format!("gcp:{name}")
}

/// The throttling bucket of a request: per service. Google charges API quotas to the caller's
/// (quota) project per API, not to the project a call reads, so one scanner shares one bucket
/// per service over every project it reads.
pub fn bucket(req: &Req) -> String {
    let service = req
        .path
        .trim_start_matches('/')
        .split('/')
        .next()
        .unwrap_or("token");
    format!("gcp/{service}")
}

/// A `google.rpc.Status` error.
pub fn error(status: u16, code: &str, message: &str) -> Resp {
    Resp::json(&json!({"error": {"code": status, "message": message, "status": code}}))
        .status(status)
}

pub fn throttle() -> Resp {
    error(
        429,
        "RESOURCE_EXHAUSTED",
        "Quota exceeded for quota metric 'Read requests' and limit 'Read requests per minute'.",
    )
    .with_header("retry-after", "1")
}

fn not_found(what: &str) -> Resp {
    error(404, "NOT_FOUND", &format!("{what} not found."))
}

/// Answers one GCP request; `op` is [`operation`]'s name.
pub fn handle(spec: &Spec, req: &Req, op: &str) -> Resp {
    if op == "gcp:token" {
        return Resp::json(
            &json!({"access_token": "estate-gcp-token", "expires_in": 3599, "token_type": "Bearer"}),
        );
    }
    let bearer = req
        .header("authorization")
        .and_then(|v| v.strip_prefix("Bearer "))
        .is_some_and(|t| !t.trim().is_empty());
    if !bearer {
        return error(
            401,
            "UNAUTHENTICATED",
            "Request is missing required authentication credential.",
        );
    }
    let segs: Vec<&str> = req.path.trim_matches('/').split('/').collect();
    let arg = |i: usize| segs.get(i).copied().unwrap_or_default();
    let strip = |s: &str| s.split(':').next().unwrap_or_default().to_string();
    let project = |i: usize| {
        let id = strip(arg(i));
        spec.project_index(&id).ok_or(id)
    };
    match op {
        "gcp:projects.search" => {
            let all: Vec<Value> = (0..spec.projects).map(|p| project_json(spec, p)).collect();
            crm_page(req, "projects", all)
        }
        "gcp:projects.list" => {
            let Some(parent) = req.query("parent").filter(|p| !p.is_empty()) else {
                return error(400, "INVALID_ARGUMENT", "parent is required.");
            };
            let children: Vec<Value> = (0..spec.projects)
                .filter(|p| spec.project_parent(*p) == parent)
                .map(|p| project_json(spec, p))
                .collect();
            if children.is_empty() && !ancestor_exists(spec, parent) {
                return error(
                    403,
                    "PERMISSION_DENIED",
                    "The caller does not have permission",
                );
            }
            crm_page(req, "projects", children)
        }
        "gcp:folders.list" => {
            let Some(parent) = req.query("parent").filter(|p| !p.is_empty()) else {
                return error(400, "INVALID_ARGUMENT", "parent is required.");
            };
            if !ancestor_exists(spec, parent) {
                return error(
                    403,
                    "PERMISSION_DENIED",
                    "The caller does not have permission",
                );
            }
            let children: Vec<Value> = (0..spec.folder_count())
                .filter(|f| spec.folder_parent(*f) == parent)
                .map(|f| folder_json(spec, f))
                .collect();
            crm_page(req, "folders", children)
        }
        "gcp:projects.get" => match project(3) {
            Ok(p) => Resp::json(&project_json(spec, p)),
            Err(id) => error(
                403,
                "PERMISSION_DENIED",
                &format!("Permission denied on resource project {id} (or it may not exist)."),
            ),
        },
        "gcp:projects.getIamPolicy" => match project(3) {
            Ok(p) => Resp::json(&project_policy(spec, p)),
            Err(id) => error(
                403,
                "PERMISSION_DENIED",
                &format!("Permission denied on resource project {id} (or it may not exist)."),
            ),
        },
        "gcp:folders.get" => match spec.folder_index(&strip(arg(3))) {
            Some(f) => Resp::json(&folder_json(spec, f)),
            None => error(
                403,
                "PERMISSION_DENIED",
                "The caller does not have permission",
            ),
        },
        "gcp:folders.getIamPolicy" => match spec.folder_index(&strip(arg(3))) {
            Some(f) => Resp::json(&folder_policy(spec, f)),
            None => error(
                403,
                "PERMISSION_DENIED",
                "The caller does not have permission",
            ),
        },
        "gcp:organizations.get" if strip(arg(3)) == spec.gcp_org() => Resp::json(&json!({
            "name": format!("organizations/{}", spec.gcp_org()),
            "displayName": "estate.example",
            "directoryCustomerId": "C0estate",
            "state": "ACTIVE",
            "createTime": "2020-01-01T00:00:00Z",
            "updateTime": "2020-01-01T00:00:00Z",
            "etag": "W/\"estate-org\"",
        })),
        "gcp:organizations.getIamPolicy" if strip(arg(3)) == spec.gcp_org() => {
            Resp::json(&org_policy(spec))
        }
        "gcp:clusters.list" => match project(3) {
            Ok(p) => {
                let location = arg(5);
                let clusters: Vec<Value> = (0..spec.gke_clusters)
                    .filter(|k| location == "-" || cluster_location(*k) == location)
                    .map(|k| cluster_json(spec, p, k))
                    .collect();
                Resp::json(&json!({ "clusters": clusters }))
            }
            Err(id) => not_found(&format!("Project \"{id}\"")),
        },
        "gcp:serviceAccounts.list" => match project(3) {
            Ok(p) => sa_page(spec, req, p),
            Err(id) => not_found(&format!("Project {id}")),
        },
        "gcp:serviceAccounts.getIamPolicy" => {
            let email = strip(arg(5));
            match project(3) {
                Ok(p) => match sa_index(spec, p, &email) {
                    Some(i) => Resp::json(&sa_policy(spec, p, i)),
                    None => not_found(&format!(
                        "Service account projects/-/serviceAccounts/{email}"
                    )),
                },
                Err(id) => not_found(&format!("Project {id}")),
            }
        }
        "gcp:roles.get" => {
            let name = format!("roles/{}", arg(3));
            match ROLES.iter().find(|(n, _, _)| *n == name) {
                Some((n, title, perms)) => Resp::json(&json!({
                    "name": n, "title": title, "description": format!("{title} (permissions trimmed by the estate)"),
                    "includedPermissions": perms, "stage": "GA", "etag": "AA==",
                })),
                None => not_found(&format!("Role {name}")),
            }
        }
        "gcp:projects.roles.get" => match project(3) {
            Ok(p) if has_custom_role(p) && arg(5) == CUSTOM_ROLE => Resp::json(&json!({
                "name": format!("projects/{}/roles/{CUSTOM_ROLE}", spec.project_id(p)),
                "title": "Estate debugger", "description": "exec into pods",
                "includedPermissions": CUSTOM_PERMISSIONS, "stage": "GA", "etag": "BwYestate=",
            })),
            _ => not_found(&format!("Role {}", req.path)),
        },
        "gcp:disks.aggregatedList" => match project(4) {
            Ok(p) => disks_page(spec, req, p),
            Err(id) => not_found(&format!("The resource 'projects/{id}'")),
        },
        _ => not_found(&format!("Method {} {}", req.method, req.path)),
    }
}

fn ancestor_exists(spec: &Spec, parent: &str) -> bool {
    if let Some(org) = parent.strip_prefix("organizations/") {
        return org == spec.gcp_org();
    }
    parent
        .strip_prefix("folders/")
        .is_some_and(|f| spec.folder_index(f).is_some())
}

/// One page of a Resource Manager list: `pageToken` is the offset (`o123`).
fn crm_page(req: &Req, field: &str, items: Vec<Value>) -> Resp {
    token_page(
        req,
        field,
        items,
        "pageSize",
        CRM_PAGE_DEFAULT,
        CRM_PAGE_MAX,
    )
}

fn token_page(
    req: &Req,
    field: &str,
    items: Vec<Value>,
    size_param: &str,
    default: usize,
    max: usize,
) -> Resp {
    let size = match req.query(size_param).map(str::parse::<usize>) {
        None => default,
        Some(Ok(0)) => default,
        Some(Ok(n)) => n.min(max),
        Some(Err(_)) => {
            return error(
                400,
                "INVALID_ARGUMENT",
                &format!("Invalid value for {size_param}"),
            )
        }
    };
    let start = match req.query("pageToken").filter(|t| !t.is_empty()) {
        None => 0,
        Some(t) => match t.strip_prefix('o').and_then(|n| n.parse::<usize>().ok()) {
            Some(n) if n <= items.len() => n,
            _ => return error(400, "INVALID_ARGUMENT", "Invalid page token."),
        },
    };
    let total = items.len();
    let page: Vec<Value> = items.into_iter().skip(start).take(size).collect();
    let mut v = json!({});
    if !page.is_empty() {
        v[field] = json!(page);
    }
    if start + size < total {
        v["nextPageToken"] = json!(format!("o{}", start + size));
    }
    Resp::json(&v)
}

fn project_json(spec: &Spec, p: u32) -> Value {
    json!({
        "name": format!("projects/{}", spec.project_number(p)),
        "parent": spec.project_parent(p),
        "projectId": spec.project_id(p),
        "state": "ACTIVE",
        "displayName": format!("Estate project {p}"),
        "createTime": "2024-03-01T10:00:00.000Z",
        "updateTime": "2024-03-01T10:00:00.000Z",
        "etag": format!("W/\"{:016x}\"", crate::spec::mix(spec.seed, &[30, u64::from(p)])),
        "labels": {"env": if p.is_multiple_of(2) { "prod" } else { "dev" }},
    })
}

fn folder_json(spec: &Spec, f: u32) -> Value {
    json!({
        "name": format!("folders/{}", spec.folder_id(f)),
        "parent": spec.folder_parent(f),
        "displayName": format!("estate-folder-{f:03}"),
        "state": "ACTIVE",
        "createTime": "2023-01-10T09:00:00.000Z",
        "updateTime": "2023-01-10T09:00:00.000Z",
        "etag": format!("W/\"{:016x}\"", crate::spec::mix(spec.seed, &[31, u64::from(f)])),
    })
}

fn pool(spec: &Spec, p: u32) -> String {
    format!("{}.svc.id.goog", spec.project_id(p))
}

fn default_sa(spec: &Spec, p: u32) -> String {
    format!(
        "{}-compute@developer.gserviceaccount.com",
        spec.project_number(p)
    )
}

fn nodes_sa(spec: &Spec, p: u32) -> String {
    format!("gke-nodes@{}.iam.gserviceaccount.com", spec.project_id(p))
}

fn app_sa(spec: &Spec, p: u32, i: u32) -> String {
    format!("app-{i:04}@{}.iam.gserviceaccount.com", spec.project_id(p))
}

/// The service accounts of a project, in list order: the default compute one, the node one,
/// then `service_accounts` application ones.
fn sa_email(spec: &Spec, p: u32, i: u32) -> String {
    match i {
        0 => default_sa(spec, p),
        1 => nodes_sa(spec, p),
        n => app_sa(spec, p, n - 2),
    }
}

fn sa_count(spec: &Spec) -> u32 {
    spec.service_accounts + 2
}

fn sa_index(spec: &Spec, p: u32, email: &str) -> Option<u32> {
    match email {
        e if e == default_sa(spec, p) => Some(0),
        e if e == nodes_sa(spec, p) => Some(1),
        e => {
            let rest = e.strip_prefix("app-")?;
            let (n, domain) = rest.split_once('@')?;
            let n: u32 = n.parse().ok()?;
            (n < spec.service_accounts
                && domain == format!("{}.iam.gserviceaccount.com", spec.project_id(p)))
            .then_some(n + 2)
        }
    }
}

fn sa_page(spec: &Spec, req: &Req, p: u32) -> Resp {
    let pid = spec.project_id(p);
    let accounts: Vec<Value> = (0..sa_count(spec))
        .map(|i| {
            let email = sa_email(spec, p, i);
            let unique = format!(
                "1{:020}",
                crate::spec::mix(spec.seed, &[32, u64::from(p), u64::from(i)])
            );
            let name = match i {
                0 => "Compute Engine default service account".to_string(),
                1 => "GKE nodes".to_string(),
                n => format!("application {}", n - 2),
            };
            json!({
                "name": format!("projects/{pid}/serviceAccounts/{email}"),
                "projectId": pid,
                "uniqueId": unique,
                "email": email,
                "displayName": name,
                "etag": "MDEwMjE5MjA=",
                "oauth2ClientId": unique,
            })
        })
        .collect();
    token_page(
        req,
        "accounts",
        accounts,
        "pageSize",
        SA_PAGE_DEFAULT,
        SA_PAGE_MAX,
    )
}

/// Who can act as a service account: application accounts are Workload Identity targets
/// (every other one, from one namespace); one in five is impersonable by the CI group.
fn sa_policy(spec: &Spec, p: u32, i: u32) -> Value {
    let mut bindings = Vec::new();
    if i >= 2 {
        let n = i - 2;
        if n.is_multiple_of(2) {
            bindings.push(
                json!({"role": "roles/iam.workloadIdentityUser", "members": [
                format!("serviceAccount:{}[ns-{}/app-{n:04}]", pool(spec, p), n % 5)]}),
            );
        }
        if n % 5 == 1 {
            bindings.push(json!({"role": "roles/iam.serviceAccountTokenCreator", "members": ["group:ci@estate.example"]}));
        }
        if n % 7 == 3 {
            bindings.push(json!({"role": "roles/iam.serviceAccountUser", "members": [
                format!("serviceAccount:{}", nodes_sa(spec, p))]}));
        }
    }
    if bindings.is_empty() {
        json!({"etag": "ACAB"})
    } else {
        json!({"version": 1, "etag": "BwYestateSA=", "bindings": bindings})
    }
}

fn project_policy(spec: &Spec, p: u32) -> Value {
    let pid = spec.project_id(p);
    let mut bindings = vec![
        json!({"role": "roles/container.admin", "members": ["group:platform@estate.example"]}),
        json!({"role": "roles/container.defaultNodeServiceAccount", "members": [format!("serviceAccount:{}", nodes_sa(spec, p))]}),
        json!({"role": "roles/owner", "members": [format!("user:owner-{}@estate.example", p % 7)]}),
    ];
    if p.is_multiple_of(3) {
        // The default compute service account keeps its Editor grant.
        bindings.push(json!({"role": "roles/editor", "members": [format!("serviceAccount:{}", default_sa(spec, p))]}));
    }
    if spec.service_accounts > 0 {
        bindings.push(json!({"role": "roles/secretmanager.secretAccessor", "members": [format!("serviceAccount:{}", app_sa(spec, p, 0))]}));
    }
    if p.is_multiple_of(2) {
        // A Kubernetes service account granted directly through the Workload Identity pool.
        bindings.push(json!({"role": "roles/storage.objectViewer", "members": [format!(
            "principal://iam.googleapis.com/projects/{}/locations/global/workloadIdentityPools/{pid}.svc.id.goog/subject/ns/apps/sa/reader",
            spec.project_number(p))]}));
    }
    if has_custom_role(p) {
        bindings.push(json!({"role": format!("projects/{pid}/roles/{CUSTOM_ROLE}"), "members": [format!("serviceAccount:{}", nodes_sa(spec, p))],
            "condition": {"title": "business hours", "expression": "request.time.getHours('UTC') < 18"}}));
    }
    let mut policy = json!({"version": 3, "etag": "BwYestateP=", "bindings": bindings});
    if p.is_multiple_of(2) {
        policy["auditConfigs"] = json!([{"service": "allServices", "auditLogConfigs": [
            {"logType": "ADMIN_READ"}, {"logType": "DATA_READ"}, {"logType": "DATA_WRITE"}]}]);
    }
    policy
}

fn folder_policy(_spec: &Spec, f: u32) -> Value {
    let mut bindings = vec![
        json!({"role": "roles/resourcemanager.folderViewer", "members": ["group:auditors@estate.example"]}),
    ];
    if f.is_multiple_of(2) {
        bindings.push(json!({"role": "roles/iam.serviceAccountTokenCreator", "members": [format!("group:sre-{f}@estate.example")]}));
    }
    if f % 3 == 1 {
        bindings.push(
            json!({"role": "roles/logging.viewer", "members": ["group:auditors@estate.example"]}),
        );
    }
    json!({"version": 1, "etag": "BwYestateF=", "bindings": bindings})
}

fn org_policy(_spec: &Spec) -> Value {
    json!({"version": 1, "etag": "BwYestateO=", "bindings": [
        {"role": "roles/resourcemanager.organizationAdmin", "members": ["group:gcp-admins@estate.example"]}],
        "auditConfigs": [{"service": "allServices", "auditLogConfigs": [{"logType": "ADMIN_READ"}]}]})
}

pub fn cluster_location(k: u32) -> &'static str {
    LOCATIONS[k as usize % LOCATIONS.len()]
}

fn cluster_name(k: u32) -> String {
    format!("gke-{k:03}")
}

fn pool_name(n: u32) -> &'static str {
    if n == 0 {
        "system"
    } else {
        "apps"
    }
}

/// A node pool's service account and scopes: pool 1 ("apps") of one cluster in four runs on the
/// default compute service account with `cloud-platform`.
fn pool_identity(spec: &Spec, p: u32, k: u32, n: u32) -> (String, Vec<&'static str>) {
    if n == 1 && k % 4 == 3 {
        ("default".to_string(), vec![CLOUD_PLATFORM])
    } else {
        (nodes_sa(spec, p), MIN_SCOPES.to_vec())
    }
}

fn instance_suffix(spec: &Spec, p: u32, k: u32, n: u32) -> String {
    format!(
        "{:08x}",
        crate::spec::mix(spec.seed, &[33, u64::from(p), u64::from(k), u64::from(n)]) & 0xffff_ffff
    )
}

fn disk_key(spec: &Spec, p: u32, k: u32) -> Option<String> {
    (k % 3 != 2).then(|| {
        format!(
            "projects/{}/locations/{}/keyRings/gke/cryptoKeys/disks",
            spec.project_id(p),
            cluster_location(k)
        )
    })
}

fn cluster_json(spec: &Spec, p: u32, k: u32) -> Value {
    let pid = spec.project_id(p);
    let num = spec.project_number(p);
    let loc = cluster_location(k);
    let name = cluster_name(k);
    let link = format!(
        "https://container.googleapis.com/v1/projects/{pid}/locations/{loc}/clusters/{name}"
    );
    let public_ip = format!("34.{}.{}.{}", 64 + p % 128, k % 250, 2 + (p / 128) % 250);
    let private_ip = format!("10.{}.{}.2", p % 250, k % 250);
    let wi = has_workload_identity(k);
    let pools: Vec<Value> = (0..NODE_POOLS)
        .map(|n| {
            let (sa, scopes) = pool_identity(spec, p, k, n);
            let suffix = instance_suffix(spec, p, k, n);
            let mut config = json!({
                "machineType": "e2-standard-4", "diskSizeGb": 100, "oauthScopes": scopes,
                "serviceAccount": sa, "imageType": "COS_CONTAINERD", "diskType": "pd-balanced",
                "metadata": {"disable-legacy-endpoints": "true"},
            });
            if wi {
                config["workloadMetadataConfig"] = json!({"mode": "GKE_METADATA"});
            }
            if let Some(key) = disk_key(spec, p, k) {
                config["bootDiskKmsKey"] = json!(key);
            }
            json!({
                "name": pool_name(n), "config": config, "initialNodeCount": 1, "locations": [format!("{loc}-a")],
                "selfLink": format!("{link}/nodePools/{}", pool_name(n)), "version": "1.30.5-gke.1014001",
                "instanceGroupUrls": [format!("https://www.googleapis.com/compute/v1/projects/{pid}/zones/{loc}-a/instanceGroupManagers/gke-{name}-{}-{suffix}-grp", pool_name(n))],
                "status": "RUNNING", "management": {"autoUpgrade": true, "autoRepair": true},
            })
        })
        .collect();
    let mut c = json!({
        "name": name, "location": loc, "selfLink": link, "status": "RUNNING",
        "id": format!("{:032x}", u128::from(crate::spec::mix(spec.seed, &[34, u64::from(p), u64::from(k)]))),
        "currentMasterVersion": "1.30.5-gke.1014001", "currentNodeVersion": "1.30.5-gke.1014001",
        "createTime": "2024-06-01T15:00:00+00:00", "network": "default", "subnetwork": "default",
        "releaseChannel": {"channel": "REGULAR"},
        "resourceLabels": {"env": if k.is_multiple_of(2) { "prod" } else { "dev" }, "team": format!("team-{}", k % 5)},
        "masterAuth": {"clusterCaCertificate": "LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0tCk1JSUVMRENDQXBTZ0F3SUJBZ0lRRmFrZUNB", "clientCertificateConfig": {}},
        "legacyAbac": {},
        "loggingService": "logging.googleapis.com/kubernetes",
        "loggingConfig": {"componentConfig": {"enableComponents": ["SYSTEM_COMPONENTS", "APISERVER", "WORKLOADS"]}},
        "monitoringService": "monitoring.googleapis.com/kubernetes",
        "nodePools": pools,
    });
    c["databaseEncryption"] = if k % 2 == 1 {
        json!({"state": "ENCRYPTED", "keyName": format!("projects/{pid}/locations/{loc}/keyRings/gke/cryptoKeys/etcd"), "currentState": "CURRENT_STATE_ENCRYPTED"})
    } else {
        json!({"state": "DECRYPTED", "currentState": "CURRENT_STATE_DECRYPTED"})
    };
    if wi {
        c["workloadIdentityConfig"] = json!({"workloadPool": pool(spec, p)});
    }
    let dns = format!(
        "gke-{:012x}-{num}.{loc}.gke.goog",
        crate::spec::mix(spec.seed, &[35, u64::from(p), u64::from(k)]) & 0xffff_ffff_ffff
    );
    match k % 3 {
        // Private endpoint only.
        0 => {
            c["privateClusterConfig"] = json!({"enablePrivateNodes": true, "enablePrivateEndpoint": true,
                "masterIpv4CidrBlock": "172.16.0.0/28", "privateEndpoint": private_ip, "publicEndpoint": public_ip});
            c["masterAuthorizedNetworksConfig"] = json!({"enabled": true, "cidrBlocks": [{"displayName": "corp", "cidrBlock": "10.0.0.0/8"}],
                "privateEndpointEnforcementEnabled": true});
            c["controlPlaneEndpointsConfig"] = json!({"dnsEndpointConfig": {"endpoint": dns},
                "ipEndpointsConfig": {"enabled": true, "enablePublicEndpoint": false, "globalAccess": false,
                    "authorizedNetworksConfig": {"enabled": true, "cidrBlocks": [{"displayName": "corp", "cidrBlock": "10.0.0.0/8"}], "privateEndpointEnforcementEnabled": true},
                    "privateEndpoint": private_ip, "publicEndpoint": public_ip}});
            c["endpoint"] = json!(private_ip);
        }
        // Public endpoint behind an authorized office range.
        1 => {
            let nets = json!({"enabled": true, "cidrBlocks": [{"displayName": "office", "cidrBlock": "203.0.113.0/24"}]});
            c["privateClusterConfig"] = json!({"enablePrivateNodes": true, "privateEndpoint": private_ip, "publicEndpoint": public_ip});
            c["masterAuthorizedNetworksConfig"] = nets.clone();
            c["controlPlaneEndpointsConfig"] = json!({"dnsEndpointConfig": {"endpoint": dns},
                "ipEndpointsConfig": {"enabled": true, "enablePublicEndpoint": true, "globalAccess": false,
                    "authorizedNetworksConfig": nets, "privateEndpoint": private_ip, "publicEndpoint": public_ip}});
            c["endpoint"] = json!(public_ip);
        }
        // Public endpoint open to the internet.
        _ => {
            c["controlPlaneEndpointsConfig"] = json!({"dnsEndpointConfig": {"endpoint": dns},
                "ipEndpointsConfig": {"enabled": true, "enablePublicEndpoint": true, "globalAccess": false,
                    "authorizedNetworksConfig": {}, "privateEndpoint": private_ip, "publicEndpoint": public_ip}});
            c["endpoint"] = json!(public_ip);
        }
    }
    c
}

/// The disks of a project: one boot disk per node pool, in the pool's zone.
fn disks_of(spec: &Spec, p: u32) -> Vec<(String, Value)> {
    let pid = spec.project_id(p);
    let mut out = Vec::new();
    for k in 0..spec.gke_clusters {
        let zone = format!("{}-a", cluster_location(k));
        for n in 0..NODE_POOLS {
            let name = format!(
                "gke-{}-{}-{}-n000",
                cluster_name(k),
                pool_name(n),
                instance_suffix(spec, p, k, n)
            );
            let zone_link =
                format!("https://www.googleapis.com/compute/v1/projects/{pid}/zones/{zone}");
            let mut d = json!({
                "kind": "compute#disk",
                "id": format!("{}", crate::spec::mix(spec.seed, &[36, u64::from(p), u64::from(k), u64::from(n)]) >> 1),
                "name": name, "sizeGb": "100", "zone": zone_link, "status": "READY",
                "selfLink": format!("{zone_link}/disks/{name}"),
                "type": format!("{zone_link}/diskTypes/pd-balanced"),
                "users": [format!("{zone_link}/instances/{name}")],
                "labels": {"goog-gke-node": "", "goog-k8s-cluster-name": cluster_name(k), "goog-k8s-node-pool-name": pool_name(n)},
            });
            if let Some(key) = disk_key(spec, p, k) {
                d["diskEncryptionKey"] =
                    json!({"kmsKeyName": format!("{key}/cryptoKeyVersions/1")});
            }
            out.push((format!("zones/{zone}"), d));
        }
    }
    out
}

/// Disks of a project per page (`maxResults`, at most 500), grouped by zone as
/// `aggregatedList` returns them.
fn disks_page(spec: &Spec, req: &Req, p: u32) -> Resp {
    let size = match req.query("maxResults").map(str::parse::<usize>) {
        None => DISK_PAGE_MAX,
        Some(Ok(n)) if n <= DISK_PAGE_MAX => n.max(1),
        _ => {
            return error(
                400,
                "INVALID_ARGUMENT",
                "Invalid value for field 'maxResults'",
            )
        }
    };
    let all = disks_of(spec, p);
    let start = match req.query("pageToken").filter(|t| !t.is_empty()) {
        None => 0,
        Some(t) => match t.strip_prefix('o').and_then(|n| n.parse::<usize>().ok()) {
            Some(n) if n <= all.len() => n,
            _ => {
                return error(
                    400,
                    "INVALID_ARGUMENT",
                    "Invalid value for field 'pageToken'",
                )
            }
        },
    };
    let total = all.len();
    let pid = spec.project_id(p);
    let mut items = serde_json::Map::new();
    for (scope, disk) in all.into_iter().skip(start).take(size) {
        let entry = items.entry(scope).or_insert_with(|| json!({"disks": []}));
        if let Some(list) = entry.get_mut("disks").and_then(Value::as_array_mut) {
            list.push(disk);
        }
    }
    if items.is_empty() {
        items.insert(
            "global".to_string(),
            json!({"warning": {"code": "NO_RESULTS_ON_PAGE", "message": "There are no results for scope 'global' on this page."}}),
        );
    }
    let mut v = json!({
        "kind": "compute#diskAggregatedList",
        "id": format!("projects/{pid}/aggregated/disks"),
        "items": items,
        "selfLink": format!("https://www.googleapis.com/compute/v1/projects/{pid}/aggregated/disks"),
    });
    if start + size < total {
        v["nextPageToken"] = json!(format!("o{}", start + size));
    }
    Resp::json(&v)
}

/// Every role a full scan reads: the predefined roles bound anywhere, plus each project's
/// custom role.
pub fn bound_roles(spec: &Spec) -> (u64, u64) {
    let mut predefined = std::collections::BTreeSet::new();
    let mut custom = 0u64;
    let mut add = |policy: &Value| {
        for b in policy["bindings"].as_array().into_iter().flatten() {
            if let Some(r) = b["role"].as_str() {
                if r.starts_with("roles/") {
                    predefined.insert(r.to_string());
                }
            }
        }
    };
    for p in 0..spec.projects {
        add(&project_policy(spec, p));
        for i in 0..sa_count(spec) {
            add(&sa_policy(spec, p, i));
        }
        if has_custom_role(p) {
            custom += 1;
        }
    }
    let folders = folder_set(spec);
    for f in &folders {
        add(&folder_policy(spec, *f));
    }
    if spec.projects > 0 {
        add(&org_policy(spec));
    }
    (predefined.len() as u64, custom)
}

/// The folders some project sits under (directly or through a subfolder).
pub fn used_folders(spec: &Spec) -> u64 {
    folder_set(spec).len() as u64
}

fn folder_set(spec: &Spec) -> std::collections::BTreeSet<u32> {
    let mut folders = std::collections::BTreeSet::new();
    for p in 0..spec.projects {
        let mut parent = spec.project_parent(p);
        while let Some(id) = parent.strip_prefix("folders/") {
            let Some(f) = spec.folder_index(id) else {
                break;
            };
            if !folders.insert(f) {
                break;
            }
            parent = spec.folder_parent(f);
        }
    }
    folders
}

/// Disks per project.
pub fn disks_per_project(spec: &Spec) -> u64 {
    u64::from(spec.gke_clusters) * u64::from(NODE_POOLS)
}

/// Service accounts per project (default compute, node, application ones).
pub fn service_accounts_per_project(spec: &Spec) -> u64 {
    u64::from(sa_count(spec))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn get(path: &str, query: &[(&str, &str)]) -> Req {
        Req {
            method: "GET".into(),
            path: path.into(),
            raw_path: path.into(),
            query: query
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            headers: vec![("authorization".into(), "Bearer t.t.t".into())],
            body: Vec::new(),
        }
    }

    fn call(spec: &Spec, req: &Req) -> (u16, Value) {
        let op = operation(req);
        let r = handle(spec, req, &op);
        (
            r.status,
            serde_json::from_str(&r.body).unwrap_or(Value::Null),
        )
    }

    /// Every page of a list, following `nextPageToken`.
    fn list(spec: &Spec, path: &str, parent: &str, field: &str) -> Vec<String> {
        let mut out = Vec::new();
        let mut token = String::new();
        loop {
            let mut q = vec![("parent", parent), ("pageSize", "2")];
            if !token.is_empty() {
                q.push(("pageToken", token.as_str()));
            }
            let (status, v) = call(spec, &get(path, &q));
            assert_eq!(status, 200, "{path} {parent}: {v}");
            for item in v[field].as_array().into_iter().flatten() {
                out.push(item["name"].as_str().unwrap_or_default().to_string());
            }
            match v["nextPageToken"].as_str() {
                Some(t) => token = t.to_string(),
                None => return out,
            }
        }
    }

    #[test]
    fn walking_folders_list_and_projects_list_finds_every_project_once() {
        let spec = Spec {
            projects: 23,
            folders: 3,
            ..Default::default()
        }
        .normalized();
        let org = format!("organizations/{}", spec.gcp_org());
        let mut parents = vec![org];
        let mut projects = Vec::new();
        let mut folders = 0;
        while let Some(parent) = parents.pop() {
            for f in list(
                &spec,
                "/cloudresourcemanager/v3/folders",
                &parent,
                "folders",
            ) {
                folders += 1;
                parents.push(f);
            }
            projects.extend(list(
                &spec,
                "/cloudresourcemanager/v3/projects",
                &parent,
                "projects",
            ));
        }
        assert_eq!(folders, 6);
        projects.sort();
        let mut want: Vec<String> = (0..23)
            .map(|p| format!("projects/{}", spec.project_number(p)))
            .collect();
        want.sort();
        assert_eq!(projects, want);
        // A made-up page token or parent is refused.
        let (status, _) = call(
            &spec,
            &get(
                "/cloudresourcemanager/v3/projects",
                &[("parent", "folders/1"), ("pageToken", "x")],
            ),
        );
        assert_eq!(status, 403);
        let (status, _) = call(
            &spec,
            &get(
                "/cloudresourcemanager/v3/projects:search",
                &[("pageToken", "o999")],
            ),
        );
        assert_eq!(status, 400);
    }

    #[test]
    fn requests_are_named_and_ids_read_back() {
        let spec = Spec {
            projects: 5,
            ..Default::default()
        }
        .normalized();
        for p in 0..5 {
            assert_eq!(spec.project_index(&spec.project_id(p)), Some(p));
            assert_eq!(spec.project_index(&spec.project_number(p)), Some(p));
        }
        assert_eq!(spec.project_index("estate-p000005"), None);
        for f in 0..spec.folder_count() {
            assert_eq!(spec.folder_index(&spec.folder_id(f)), Some(f));
        }
        let mut post = get(
            "/iam/v1/projects/estate-p000001/serviceAccounts/app-0000@estate-p000001.iam.gserviceaccount.com:getIamPolicy",
            &[],
        );
        post.method = "POST".into();
        assert_eq!(operation(&post), "gcp:serviceAccounts.getIamPolicy");
        let (status, v) = call(&spec, &post);
        assert_eq!(status, 200);
        assert_eq!(v["bindings"][0]["role"], "roles/iam.workloadIdentityUser");
        let disks = get(
            "/compute/compute/v1/projects/estate-p000002/aggregated/disks",
            &[("maxResults", "3")],
        );
        assert_eq!(operation(&disks), "gcp:disks.aggregatedList");
        let (status, v) = call(&spec, &disks);
        assert_eq!(status, 200);
        assert_eq!(v["nextPageToken"], "o3");
        let mut anonymous = get(
            "/container/v1/projects/estate-p000000/locations/-/clusters",
            &[],
        );
        anonymous.headers.clear();
        assert_eq!(call(&spec, &anonymous).0, 401);
    }
}
