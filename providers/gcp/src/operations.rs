//! Every Google API call the adapter makes, with the IAM permission it needs.
//!
//! This table is the single source of `policies/gcp/cloudscan-role.json`: the least-privilege
//! test replays every bundled scenario, maps each request to an entry here (a request that maps
//! to none fails the test) and compares the permissions with the role file. The client uses it
//! to name the missing permission when a call is denied.

/// One REST method of a Google API, as the adapter calls it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Operation {
    /// The service name used in fixtures and coverage (`container`, `iam`, ...).
    pub service: &'static str,
    /// The REST method name (`projects.locations.clusters.list`).
    pub name: &'static str,
    /// The HTTP method.
    pub method: &'static str,
    /// The path under the service's base URL. `{name}` stands for one non-empty path segment
    /// (or the part of a segment before a literal suffix such as `:getIamPolicy`).
    pub path: &'static str,
    /// The IAM permission the call needs; `None` when it needs none.
    pub permission: Option<&'static str>,
}

const fn op(
    service: &'static str,
    name: &'static str,
    method: &'static str,
    path: &'static str,
    permission: Option<&'static str>,
) -> Operation {
    Operation {
        service,
        name,
        method,
        path,
        permission,
    }
}

/// Every call of the adapter. `getIamPolicy` is a POST that only reads a policy.
pub const OPERATIONS: &[Operation] = &[
    op(
        "cloudresourcemanager",
        "projects.get",
        "GET",
        "/v3/projects/{project}",
        Some("resourcemanager.projects.get"),
    ),
    // `--all-projects`: the method itself needs no permission but only returns the projects on
    // which the caller has resourcemanager.projects.get.
    op(
        "cloudresourcemanager",
        "projects.search",
        "GET",
        "/v3/projects:search",
        Some("resourcemanager.projects.get"),
    ),
    // `--organization` / `--folder`: the tree below, one level at a time (each method checks
    // its permission on the parent).
    op(
        "cloudresourcemanager",
        "folders.list",
        "GET",
        "/v3/folders",
        Some("resourcemanager.folders.list"),
    ),
    op(
        "cloudresourcemanager",
        "projects.list",
        "GET",
        "/v3/projects",
        Some("resourcemanager.projects.list"),
    ),
    op(
        "cloudresourcemanager",
        "projects.getIamPolicy",
        "POST",
        "/v3/projects/{project}:getIamPolicy",
        Some("resourcemanager.projects.getIamPolicy"),
    ),
    // The project's ancestry: inherited role bindings and audit configs (read-only).
    op(
        "cloudresourcemanager",
        "folders.get",
        "GET",
        "/v3/folders/{folder}",
        Some("resourcemanager.folders.get"),
    ),
    op(
        "cloudresourcemanager",
        "folders.getIamPolicy",
        "POST",
        "/v3/folders/{folder}:getIamPolicy",
        Some("resourcemanager.folders.getIamPolicy"),
    ),
    op(
        "cloudresourcemanager",
        "organizations.getIamPolicy",
        "POST",
        "/v3/organizations/{organization}:getIamPolicy",
        Some("resourcemanager.organizations.getIamPolicy"),
    ),
    op(
        "container",
        "projects.locations.clusters.list",
        "GET",
        "/v1/projects/{project}/locations/{location}/clusters",
        Some("container.clusters.list"),
    ),
    op(
        "iam",
        "projects.serviceAccounts.list",
        "GET",
        "/v1/projects/{project}/serviceAccounts",
        Some("iam.serviceAccounts.list"),
    ),
    op(
        "iam",
        "projects.serviceAccounts.getIamPolicy",
        "POST",
        "/v1/projects/{project}/serviceAccounts/{email}:getIamPolicy",
        Some("iam.serviceAccounts.getIamPolicy"),
    ),
    // Predefined roles are public: roles.get on `roles/X` needs no permission.
    op("iam", "roles.get", "GET", "/v1/roles/{role}", None),
    op(
        "iam",
        "projects.roles.get",
        "GET",
        "/v1/projects/{project}/roles/{role}",
        Some("iam.roles.get"),
    ),
    // A custom role defined on the organization: iam.roles.get must be granted there (a role
    // bound on the project does not reach it; the call then fails with 403 and is reported).
    op(
        "iam",
        "organizations.roles.get",
        "GET",
        "/v1/organizations/{organization}/roles/{role}",
        Some("iam.roles.get"),
    ),
    op(
        "compute",
        "disks.aggregatedList",
        "GET",
        "/compute/v1/projects/{project}/aggregated/disks",
        Some("compute.disks.list"),
    ),
];

/// The table entry of a request, by service, HTTP method and (unencoded) path.
pub fn find(service: &str, method: &str, path: &str) -> Option<&'static Operation> {
    OPERATIONS.iter().find(|o| {
        o.service == service && o.method.eq_ignore_ascii_case(method) && matches(o.path, path)
    })
}

/// Every permission of the table, sorted and deduplicated.
pub fn permissions() -> std::collections::BTreeSet<&'static str> {
    OPERATIONS.iter().filter_map(|o| o.permission).collect()
}

/// Whether `path` fits `template` (see [`Operation::path`]).
pub fn matches(template: &str, path: &str) -> bool {
    let want: Vec<&str> = template.split('/').collect();
    let got: Vec<&str> = path.split('/').collect();
    want.len() == got.len()
        && want.iter().zip(&got).all(|(w, g)| match w.find('{') {
            None => w == g,
            Some(open) => {
                let close = w[open..].find('}').map_or(w.len(), |c| open + c + 1);
                let (prefix, suffix) = (&w[..open], &w[close..]);
                g.len() > prefix.len() + suffix.len()
                    && g.starts_with(prefix)
                    && g.ends_with(suffix)
                    // The placeholder never swallows a custom method (`p:getIamPolicy`).
                    && !g[prefix.len()..g.len() - suffix.len()].contains(':')
            }
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn templates_match_one_segment_per_placeholder() {
        let find_name = |s, m, p| find(s, m, p).map(|o| o.name);
        assert_eq!(
            find_name(
                "iam",
                "POST",
                "/v1/projects/p/serviceAccounts/a@p.iam.gserviceaccount.com:getIamPolicy"
            ),
            Some("projects.serviceAccounts.getIamPolicy")
        );
        assert_eq!(
            find_name("cloudresourcemanager", "GET", "/v3/projects/p"),
            Some("projects.get")
        );
        assert_eq!(
            find_name("cloudresourcemanager", "GET", "/v3/projects:search"),
            Some("projects.search")
        );
        assert_eq!(
            find_name("cloudresourcemanager", "GET", "/v3/projects"),
            Some("projects.list")
        );
        assert_eq!(
            find_name("cloudresourcemanager", "GET", "/v3/folders"),
            Some("folders.list")
        );
        assert_eq!(
            find_name("cloudresourcemanager", "GET", "/v3/projects/p:getIamPolicy"),
            None
        );
        assert_eq!(
            find_name(
                "cloudresourcemanager",
                "POST",
                "/v3/projects/p:setIamPolicy"
            ),
            None
        );
        assert_eq!(find_name("iam", "GET", "/v1/roles/"), None);
        assert_eq!(find_name("iam", "GET", "/v1/roles/a/b"), None);
        assert_eq!(
            find("container", "GET", "/v1/projects/p/locations/-/clusters")
                .and_then(|o| o.permission),
            Some("container.clusters.list")
        );
    }
}
