//! Every ARM call the adapter makes, with the Azure RBAC action it needs.
//!
//! This table is the single source of `policies/azure/cloudscan-role.json`: the least-privilege
//! test replays every bundled scenario, maps each request to an entry here (a request that maps
//! to none fails the test) and compares the actions with the role definition. The client uses
//! it to name the missing action when a call is denied.

/// One ARM operation, as the adapter calls it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Operation {
    /// `service operation`, as in fixtures and coverage (`containerservice managedClusters.list`).
    pub name: &'static str,
    /// The HTTP method (the adapter only sends GET).
    pub method: &'static str,
    /// The ARM path. `{name}` stands for one non-empty path segment; literal segments compare
    /// case-insensitively, as ARM does.
    pub path: &'static str,
    /// The RBAC action (control plane; the adapter needs no data action).
    pub action: &'static str,
}

const fn op(name: &'static str, path: &'static str, action: &'static str) -> Operation {
    Operation {
        name,
        method: "GET",
        path,
        action,
    }
}

/// Every call of the adapter.
pub const OPERATIONS: &[Operation] = &[
    // `--all-subscriptions` only.
    op(
        "resources subscriptions.list",
        "/subscriptions",
        "Microsoft.Resources/subscriptions/read",
    ),
    // `--management-group` only: every group and subscription below a group, and each
    // subscription's state.
    op(
        "management descendants.list",
        "/providers/Microsoft.Management/managementGroups/{group}/descendants",
        "Microsoft.Management/managementGroups/descendants/read",
    ),
    op(
        "resources subscriptions.get",
        "/subscriptions/{subscription}",
        "Microsoft.Resources/subscriptions/read",
    ),
    op(
        "containerservice managedClusters.list",
        "/subscriptions/{subscription}/providers/Microsoft.ContainerService/managedClusters",
        "Microsoft.ContainerService/managedClusters/read",
    ),
    op(
        "authorization roleAssignments.list",
        "/subscriptions/{subscription}/providers/Microsoft.Authorization/roleAssignments",
        "Microsoft.Authorization/roleAssignments/read",
    ),
    // Deny assignments at, above and below the subscription (they subtract from role grants).
    op(
        "authorization denyAssignments.list",
        "/subscriptions/{subscription}/providers/Microsoft.Authorization/denyAssignments",
        "Microsoft.Authorization/denyAssignments/read",
    ),
    op(
        "authorization roleDefinitions.get",
        "/subscriptions/{subscription}/providers/Microsoft.Authorization/roleDefinitions/{id}",
        "Microsoft.Authorization/roleDefinitions/read",
    ),
    // A definition named at the tenant (built-in roles, custom roles listed from above the
    // subscription) or at the management group its assignable scopes name.
    op(
        "authorization roleDefinitions.get",
        "/providers/Microsoft.Authorization/roleDefinitions/{id}",
        "Microsoft.Authorization/roleDefinitions/read",
    ),
    op(
        "authorization roleDefinitions.get",
        "/providers/Microsoft.Management/managementGroups/{group}/providers/Microsoft.Authorization/roleDefinitions/{id}",
        "Microsoft.Authorization/roleDefinitions/read",
    ),
    op(
        "managedidentity userAssignedIdentities.list",
        "/subscriptions/{subscription}/providers/Microsoft.ManagedIdentity/userAssignedIdentities",
        "Microsoft.ManagedIdentity/userAssignedIdentities/read",
    ),
    op(
        "managedidentity federatedIdentityCredentials.list",
        "/subscriptions/{subscription}/resourceGroups/{group}/providers/Microsoft.ManagedIdentity/userAssignedIdentities/{identity}/federatedIdentityCredentials",
        "Microsoft.ManagedIdentity/userAssignedIdentities/federatedIdentityCredentials/read",
    ),
    // The subscription's activity-log export.
    op(
        "insights diagnosticSettings.list",
        "/subscriptions/{subscription}/providers/Microsoft.Insights/diagnosticSettings",
        "Microsoft.Insights/diagnosticSettings/read",
    ),
    // An AKS cluster's control-plane (audit) log export.
    op(
        "insights diagnosticSettings.list",
        "/subscriptions/{subscription}/resourceGroups/{group}/providers/Microsoft.ContainerService/managedClusters/{cluster}/providers/Microsoft.Insights/diagnosticSettings",
        "Microsoft.Insights/diagnosticSettings/read",
    ),
    op(
        "compute diskEncryptionSets.get",
        "/subscriptions/{subscription}/resourceGroups/{group}/providers/Microsoft.Compute/diskEncryptionSets/{name}",
        "Microsoft.Compute/diskEncryptionSets/read",
    ),
];

/// The table entry of a request, by HTTP method and (unencoded) ARM path.
pub fn find(method: &str, path: &str) -> Option<&'static Operation> {
    OPERATIONS
        .iter()
        .find(|o| o.method.eq_ignore_ascii_case(method) && matches(o.path, path))
}

/// Every action of the table, sorted and deduplicated.
pub fn actions() -> std::collections::BTreeSet<&'static str> {
    OPERATIONS.iter().map(|o| o.action).collect()
}

/// Whether `path` fits `template` (see [`Operation::path`]).
pub fn matches(template: &str, path: &str) -> bool {
    let want: Vec<&str> = template.split('/').collect();
    let got: Vec<&str> = path.trim_end_matches('/').split('/').collect();
    want.len() == got.len()
        && want.iter().zip(&got).all(|(w, g)| {
            if w.starts_with('{') && w.ends_with('}') {
                !g.is_empty()
            } else {
                w.eq_ignore_ascii_case(g)
            }
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn templates_match_arm_paths_case_insensitively() {
        let name = |p| find("GET", p).map(|o| o.name);
        assert_eq!(
            name("/subscriptions/s/resourcegroups/rg/providers/microsoft.compute/diskEncryptionSets/d"),
            Some("compute diskEncryptionSets.get")
        );
        assert_eq!(
            find(
                "GET",
                "/subscriptions/s/providers/Microsoft.Insights/diagnosticSettings"
            )
            .map(|o| o.action),
            Some("Microsoft.Insights/diagnosticSettings/read")
        );
        assert_eq!(
            name("/subscriptions/s/providers/Microsoft.KeyVault/vaults"),
            None
        );
        assert_eq!(
            find(
                "GET",
                "/providers/Microsoft.Management/managementGroups/mg-1/descendants"
            )
            .map(|o| o.action),
            Some("Microsoft.Management/managementGroups/descendants/read")
        );
        assert_eq!(
            name("/providers/Microsoft.Management/managementGroups/mg/providers/Microsoft.Authorization/roleDefinitions/r"),
            Some("authorization roleDefinitions.get")
        );
        assert_eq!(
            name("/subscriptions/s"),
            Some("resources subscriptions.get")
        );
        assert_eq!(
            name("/subscriptions//providers/Microsoft.ContainerService/managedClusters"),
            None
        );
        assert_eq!(
            find(
                "POST",
                "/subscriptions/s/providers/Microsoft.ContainerService/managedClusters"
            ),
            None
        );
    }
}
