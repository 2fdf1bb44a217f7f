//! Capability questions for Azure identities: role assignments at a scope times their role
//! definitions. Within one role, `notActions` subtract from `actions` (and `notDataActions`
//! from `dataActions`); across roles grants add up
//! (https://learn.microsoft.com/azure/role-based-access-control/role-definitions#notactions).
//! An assignment at the root, a management group or a subscription reaches every resource of a
//! kind; one at a resource group or on a single resource, some (the resource group is one part
//! of the subscription). Assignment conditions stay unknown: "allowed when <condition>".
//!
//! Administrator: a role whose `actions` hold `*` and whose `notActions` leave every one of
//! [`ADMIN_PROBES`] (Contributor-like: it removes only role management, as Contributor does),
//! at a scope that reaches every resource. Owner-equivalence (role assignment writes) is the
//! `azure-role-assignment-write` escalation path, not the admin answer.

use crate::capability::{AccessProfile, Reach, WildcardGrant};
use crate::matcher::Glob;
use crate::rbac::{Plane, RbacSpec, RoleGrant};
use crate::reason::{GrantReason, RoleGrantKind, RoleRef};
use std::sync::OnceLock;

/// One permission block of a role definition.
#[derive(Debug, Clone, Default)]
pub struct Permission<'a> {
    pub actions: &'a [String],
    pub not_actions: &'a [String],
    pub data_actions: &'a [String],
    pub not_data_actions: &'a [String],
}

/// One role assignment with its role's permissions (`None`: the definition was not read).
#[derive(Debug, Clone)]
pub struct Assignment<'a> {
    pub scope: &'a str,
    pub role_name: &'a str,
    pub custom: bool,
    pub permissions: Option<Vec<Permission<'a>>>,
    pub condition: Option<&'a str>,
    /// The deny assignments that name the assignment's principal (unconditional ones; a
    /// conditional deny stays a coverage gap).
    pub denies: Vec<Deny<'a>>,
}

/// A deny assignment that applies to the principal: what it denies, where.
/// Deny assignments take precedence over role assignments
/// (https://learn.microsoft.com/azure/role-based-access-control/deny-assignments).
#[derive(Debug, Clone)]
pub struct Deny<'a> {
    pub name: &'a str,
    pub scope: &'a str,
    /// False with `doNotApplyToChildScopes`: only the scope itself is denied.
    pub applies_to_children: bool,
    pub permissions: Vec<Permission<'a>>,
}

/// `scope` in ARM's lower-case form, without a trailing `/` (the root is empty).
fn norm(scope: &str) -> String {
    scope.trim_end_matches('/').to_ascii_lowercase()
}

/// Whether `outer` is `inner` or one of its ancestors.
fn at_or_above(outer: &str, inner: &str) -> bool {
    let (o, i) = (norm(outer), norm(inner));
    o.is_empty() || i == o || i.starts_with(&format!("{o}/"))
}

impl Deny<'_> {
    fn denies(&self, operation: &str, plane: Plane) -> bool {
        self.permissions
            .iter()
            .any(|p| block_allows(p, operation, plane))
    }

    /// Denies `operation` everywhere an assignment at `scope` grants it.
    fn covers(&self, scope: &str, operation: &str, plane: Plane) -> bool {
        self.denies(operation, plane)
            && at_or_above(self.scope, scope)
            && (self.applies_to_children || norm(self.scope) == norm(scope))
    }

    /// Denies `operation` on part of what an assignment at `scope` grants.
    fn narrows(&self, scope: &str, operation: &str, plane: Plane) -> bool {
        self.denies(operation, plane)
            && !at_or_above(self.scope, scope)
            && at_or_above(scope, self.scope)
    }
}

/// What an administrator assignment is called in findings.
const ADMIN_TITLE: &str = "Owner, Contributor or `*` at management group or subscription scope";

/// Control-plane operations every administrator of a scope holds: create and change compute,
/// network, storage, Key Vault and AKS, read storage keys and cluster admin credentials, attach
/// identities, deploy templates. A `*` role whose `notActions` remove any of them is not an
/// administrator (its other grants are still answered class by class).
pub const ADMIN_PROBES: &[&str] = &[
    "Microsoft.Compute/virtualMachines/write",
    "Microsoft.Compute/virtualMachines/runCommand/action",
    "Microsoft.Network/networkSecurityGroups/write",
    "Microsoft.Storage/storageAccounts/write",
    "Microsoft.Storage/storageAccounts/listKeys/action",
    "Microsoft.KeyVault/vaults/write",
    "Microsoft.ContainerService/managedClusters/write",
    "Microsoft.ContainerService/managedClusters/listClusterAdminCredential/action",
    "Microsoft.ManagedIdentity/userAssignedIdentities/assign/action",
    "Microsoft.Resources/deployments/write",
];

fn spec() -> Option<&'static RbacSpec> {
    static SPEC: OnceLock<Option<RbacSpec>> = OnceLock::new();
    SPEC.get_or_init(|| {
        RbacSpec::from_json(include_str!("../../../policies/azure/capabilities.json")).ok()
    })
    .as_ref()
}

/// Whether the bundled Azure capability file loaded.
pub fn spec_loaded() -> bool {
    spec().is_some()
}

fn matches_any(patterns: &[String], operation: &str) -> bool {
    patterns
        .iter()
        .any(|p| Glob::new(p).matches(operation, true))
}

/// Whether one permission block allows `operation` on `plane`.
fn block_allows(p: &Permission<'_>, operation: &str, plane: Plane) -> bool {
    match plane {
        Plane::Data => {
            matches_any(p.data_actions, operation) && !matches_any(p.not_data_actions, operation)
        }
        Plane::Control => {
            matches_any(p.actions, operation) && !matches_any(p.not_actions, operation)
        }
    }
}

fn reach_of(scope: &str) -> Reach {
    let lower = scope.to_ascii_lowercase();
    let parts: Vec<&str> = lower.trim_matches('/').split('/').collect();
    match parts.as_slice() {
        ["subscriptions", _] => Reach::All,
        ["providers", "microsoft.management", "managementgroups", _] => Reach::All,
        [] | [""] => Reach::All,
        _ => Reach::Some,
    }
}

impl RoleGrant for Assignment<'_> {
    fn reason(&self) -> GrantReason {
        GrantReason::Role(RoleRef {
            kind: RoleGrantKind::Assignment,
            role: self.role_name.to_string(),
            scope: self.scope.to_string(),
            condition: self.condition.map(str::to_string),
        })
    }

    fn reach(&self) -> Reach {
        reach_of(self.scope)
    }

    fn condition(&self) -> Option<&str> {
        self.condition
    }

    fn unreadable(&self) -> Option<&'static str> {
        self.permissions
            .is_none()
            .then_some("role definition not read")
    }

    fn allows(&self, operation: &str, plane: Plane) -> bool {
        self.permissions
            .as_ref()
            .is_some_and(|ps| ps.iter().any(|p| block_allows(p, operation, plane)))
            && !self
                .denies
                .iter()
                .any(|d| d.covers(self.scope, operation, plane))
    }

    /// A deny assignment below the assignment's scope leaves the operation on some resources
    /// only.
    fn reach_for(&self, operation: &str, plane: Plane) -> Reach {
        if self
            .denies
            .iter()
            .any(|d| d.narrows(self.scope, operation, plane))
        {
            Reach::Some
        } else {
            self.reach()
        }
    }
    fn admin(&self, spec: &RbacSpec) -> Option<Vec<String>> {
        let star = self.permissions.as_ref().is_some_and(|ps| {
            ps.iter()
                .any(|p| p.actions.iter().any(|x| spec.admin_actions.contains(x)))
        });
        let admin = star
            && ADMIN_PROBES.iter().all(|op| {
                self.allows(op, Plane::Control) && self.reach_for(op, Plane::Control) == Reach::All
            });
        admin.then(|| vec!["*".to_string()])
    }

    fn wildcards(&self) -> Vec<WildcardGrant> {
        let (true, Some(perms)) = (self.custom, &self.permissions) else {
            return Vec::new();
        };
        let mut out = Vec::new();
        for (i, p) in perms.iter().enumerate() {
            let wild: Vec<String> = p
                .actions
                .iter()
                .chain(p.data_actions.iter())
                .filter(|x| *x == "*" || x.ends_with("/*"))
                .cloned()
                .collect();
            if !wild.is_empty() {
                out.push(WildcardGrant {
                    policy: format!("custom role {}", self.role_name),
                    statement: i,
                    sid: None,
                    actions: wild,
                });
            }
        }
        out
    }
}

/// The access profile of an identity from its role assignments.
pub fn profile(assignments: &[Assignment<'_>]) -> (AccessProfile, Vec<String>) {
    let Some(spec) = spec() else {
        return (
            AccessProfile::default(),
            vec!["policies/azure/capabilities.json could not be loaded".to_string()],
        );
    };
    crate::rbac::profile(spec, ADMIN_TITLE, assignments)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(v: &[&str]) -> Vec<String> {
        v.iter().map(|x| x.to_string()).collect()
    }

    #[test]
    fn contributor_is_admin_but_cannot_write_role_assignments() {
        assert!(spec_loaded());
        let actions = s(&["*"]);
        let not_actions = s(&[
            "Microsoft.Authorization/*/Write",
            "Microsoft.Authorization/*/Delete",
        ]);
        let none: Vec<String> = Vec::new();
        let a = Assignment {
            scope: "/subscriptions/1",
            role_name: "Contributor",
            custom: false,
            permissions: Some(vec![Permission {
                actions: &actions,
                not_actions: &not_actions,
                data_actions: &none,
                not_data_actions: &none,
            }]),
            condition: None,
            denies: Vec::new(),
        };
        let (p, _) = profile(std::slice::from_ref(&a));
        assert!(p.admin.is_some());
        assert!(!p
            .escalation_paths
            .iter()
            .any(|x| x.id == "azure-role-assignment-write"));
        assert!(p
            .escalation_paths
            .iter()
            .any(|x| x.id == "azure-vm-run-command"));
        // listKeys is a control-plane action Contributor holds: secrets on all accounts.
        let secrets = p
            .capabilities
            .iter()
            .find(|c| c.id == "secrets-read")
            .expect("secrets");
        assert_eq!(secrets.reach, Reach::All);
        // Blob data actions are not granted by `actions: *`.
        assert!(!p.capabilities.iter().any(|c| c.id == "object-read"));
    }

    #[test]
    fn a_custom_star_role_on_one_resource_is_a_wildcard_reaching_some() {
        let star = s(&["*"]);
        let none: Vec<String> = Vec::new();
        let a = Assignment {
            scope:
                "/subscriptions/1/resourceGroups/rg/providers/Microsoft.Storage/storageAccounts/x",
            role_name: "everything",
            custom: true,
            permissions: Some(vec![Permission {
                actions: &star,
                not_actions: &none,
                data_actions: &star,
                not_data_actions: &none,
            }]),
            condition: None,
            denies: Vec::new(),
        };
        let (p, _) = profile(std::slice::from_ref(&a));
        assert!(p.admin.is_none());
        assert_eq!(p.wildcard_grants.len(), 1);
        let read = p
            .capabilities
            .iter()
            .find(|c| c.id == "object-read")
            .expect("blobs");
        assert_eq!(read.reach, Reach::Some);
    }
}

#[cfg(test)]
mod condition_tests {
    use super::*;

    #[test]
    fn a_conditional_assignment_opens_its_escalation_path_only_under_its_condition() {
        let actions = vec!["Microsoft.Authorization/roleAssignments/write".to_string()];
        let none: Vec<String> = Vec::new();
        let condition = "@Resource[Microsoft.Authorization/roleAssignments:RoleDefinitionId] \
ForAnyOfAnyValues:GuidEquals {acdd72a7-3385-48ef-bd42-f606fba81ae7}";
        let a = Assignment {
            scope: "/subscriptions/1/resourceGroups/rg",
            role_name: "Role Based Access Control Administrator",
            custom: false,
            permissions: Some(vec![Permission {
                actions: &actions,
                not_actions: &none,
                data_actions: &none,
                not_data_actions: &none,
            }]),
            condition: Some(condition),
            denies: Vec::new(),
        };
        let (p, _) = profile(std::slice::from_ref(&a));
        let path = p
            .escalation_paths
            .iter()
            .find(|x| x.id == "azure-role-assignment-write")
            .expect("role assignment write");
        assert_eq!(path.allowed_when.as_deref(), Some(condition));
        assert_eq!(path.granted_by.len(), 1);
    }
}

/// The Azure rows of docs/semantics-azure.md: `notActions` and scope reach.
#[cfg(test)]
mod semantics_azure_tests {
    use super::*;

    fn s(v: &[&str]) -> Vec<String> {
        v.iter().map(|x| x.to_string()).collect()
    }

    fn profile_of(scope: &str, actions: &[String], not_actions: &[String]) -> AccessProfile {
        let none: Vec<String> = Vec::new();
        let a = Assignment {
            scope,
            role_name: "role",
            custom: true,
            permissions: Some(vec![Permission {
                actions,
                not_actions,
                data_actions: &none,
                not_data_actions: &none,
            }]),
            condition: None,
            denies: Vec::new(),
        };
        profile(std::slice::from_ref(&a)).0
    }

    /// Contributor's documented notActions (built-in role reference): `*` minus role management
    /// is still an administrator of its scope, but not Owner-equivalent.
    #[test]
    fn star_minus_role_management_is_admin_but_not_owner() {
        let star = s(&["*"]);
        let contributor_not = s(&[
            "Microsoft.Authorization/*/Delete",
            "Microsoft.Authorization/*/Write",
            "Microsoft.Authorization/elevateAccess/Action",
            "Microsoft.Blueprint/blueprintAssignments/write",
            "Microsoft.Blueprint/blueprintAssignments/delete",
            "Microsoft.Compute/galleries/share/action",
            "Microsoft.Purview/consents/write",
            "Microsoft.Purview/consents/delete",
            "Microsoft.Resources/deploymentStacks/manageDenySetting/action",
            "Microsoft.Subscription/cancel/action",
            "Microsoft.Subscription/enable/action",
        ]);
        let p = profile_of("/subscriptions/1", &star, &contributor_not);
        assert!(p.admin.is_some());
        assert!(!p
            .escalation_paths
            .iter()
            .any(|x| x.id == "azure-role-assignment-write"));
        // Owner: the same `*` without notActions also writes role assignments.
        let owner = profile_of("/subscriptions/1", &star, &[]);
        assert!(owner.admin.is_some());
        assert!(owner
            .escalation_paths
            .iter()
            .any(|x| x.id == "azure-role-assignment-write"));
    }

    /// `*` whose notActions remove what an administrator holds (compute, storage, Key Vault) is
    /// not an administrator; what it still grants is answered class by class.
    #[test]
    fn star_whose_not_actions_remove_admin_operations_is_not_admin() {
        let star = s(&["*"]);
        let not = s(&[
            "Microsoft.Compute/*",
            "Microsoft.Storage/*",
            "Microsoft.KeyVault/*",
            "Microsoft.ContainerService/*",
        ]);
        let p = profile_of("/subscriptions/1", &star, &not);
        assert!(p.admin.is_none());
        assert!(!p.capabilities.iter().any(|c| c.id == "compute-write"));
        assert!(!p.capabilities.iter().any(|c| c.id == "secrets-read"));
        // Role management is still there.
        assert!(p.capabilities.iter().any(|c| c.id == "iam-write"));
        assert!(p
            .escalation_paths
            .iter()
            .any(|x| x.id == "azure-role-assignment-write"));
        // notActions are case-insensitive, like actions.
        let lower = s(&["microsoft.compute/*"]);
        assert!(profile_of("/subscriptions/1", &star, &lower)
            .admin
            .is_none());
    }

    /// An assignment at a resource group or on one resource reaches some resources; at a
    /// subscription, a management group or the root, every resource of a kind.
    #[test]
    fn reach_follows_the_assignment_scope() {
        let star = s(&["*"]);
        for (scope, reach) in [
            ("/", Reach::All),
            (
                "/providers/Microsoft.Management/managementGroups/mg",
                Reach::All,
            ),
            ("/subscriptions/1", Reach::All),
            ("/subscriptions/1/resourceGroups/rg", Reach::Some),
            ("/subscriptions/1/resourcegroups/RG/", Reach::Some),
            (
                "/subscriptions/1/resourceGroups/rg/providers/Microsoft.KeyVault/vaults/v",
                Reach::Some,
            ),
        ] {
            let p = profile_of(scope, &star, &[]);
            let secrets = p
                .capabilities
                .iter()
                .find(|c| c.id == "secrets-read")
                .expect("secrets");
            assert_eq!(secrets.reach, reach, "{scope}");
            assert_eq!(p.admin.is_some(), reach == Reach::All, "{scope}");
        }
    }
}

#[cfg(test)]
mod deny_tests {
    use super::*;

    fn s(v: &[&str]) -> Vec<String> {
        v.iter().map(|x| x.to_string()).collect()
    }

    /// Storage Blob Data Reader-like data actions at a subscription, and a deny of blob reads.
    fn profile_with(deny_scope: &str, children: bool, not_data: &[&str]) -> AccessProfile {
        let none: Vec<String> = Vec::new();
        let read = s(&["Microsoft.Storage/storageAccounts/blobServices/containers/blobs/read"]);
        let deny_data = s(&["Microsoft.Storage/*"]);
        let deny_not = s(not_data);
        let a = Assignment {
            scope: "/subscriptions/1",
            role_name: "Storage Blob Data Reader",
            custom: false,
            permissions: Some(vec![Permission {
                actions: &none,
                not_actions: &none,
                data_actions: &read,
                not_data_actions: &none,
            }]),
            condition: None,
            denies: vec![Deny {
                name: "locked",
                scope: deny_scope,
                applies_to_children: children,
                permissions: vec![Permission {
                    actions: &none,
                    not_actions: &none,
                    data_actions: &deny_data,
                    not_data_actions: &deny_not,
                }],
            }],
        };
        profile(std::slice::from_ref(&a)).0
    }

    fn object_read(p: &AccessProfile) -> Option<Reach> {
        p.capabilities
            .iter()
            .find(|c| c.id == "object-read")
            .map(|c| c.reach)
    }

    #[test]
    fn a_deny_at_or_above_the_grant_removes_it() {
        assert_eq!(
            object_read(&profile_with("/subscriptions/1", true, &[])),
            None
        );
        assert_eq!(object_read(&profile_with("/", true, &[])), None);
        // Only the scope itself, which is the grant's scope.
        assert_eq!(
            object_read(&profile_with("/subscriptions/1", false, &[])),
            None
        );
    }

    #[test]
    fn a_deny_below_the_grant_leaves_some_resources() {
        assert_eq!(
            object_read(&profile_with(
                "/subscriptions/1/resourceGroups/rg",
                true,
                &[]
            )),
            Some(Reach::Some)
        );
    }

    #[test]
    fn a_deny_that_does_not_cover_the_operation_changes_nothing() {
        // notDataActions exclude blob reads from the deny.
        let p = profile_with(
            "/subscriptions/1",
            true,
            &["Microsoft.Storage/storageAccounts/blobServices/containers/blobs/read"],
        );
        assert_eq!(object_read(&p), Some(Reach::All));
        // A deny in another subscription does not apply here.
        assert_eq!(
            object_read(&profile_with("/subscriptions/2", true, &[])),
            Some(Reach::All)
        );
        // A deny at a parent that does not apply to child scopes.
        assert_eq!(
            object_read(&profile_with("/", false, &[])),
            Some(Reach::All)
        );
    }
}
