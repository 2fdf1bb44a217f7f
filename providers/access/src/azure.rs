//! Capability questions for Azure identities: role assignments at a scope times their role
//! definitions. Within one role, `notActions` subtract from `actions` (and `notDataActions`
//! from `dataActions`); across roles grants add up. An assignment at a management group,
//! subscription or resource group reaches every resource below it; one on a single resource,
//! some. Assignment conditions stay unknown: "allowed when <condition>".

use crate::capability::{AccessProfile, HeldCapability, OpenPath, Reach, WildcardGrant};
use crate::matcher::Glob;
use serde::Deserialize;
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
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Spec {
    #[allow(dead_code)]
    format: u32,
    #[allow(dead_code)]
    cloud: String,
    admin_actions: Vec<String>,
    classes: Vec<ClassSpec>,
    escalation_paths: Vec<PathSpec>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ClassSpec {
    id: String,
    title: String,
    /// Control-plane operations (granted by `actions`).
    any_operation: Vec<String>,
    /// Data-plane operations (granted only by `dataActions`).
    any_data_operation: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct PathSpec {
    id: String,
    title: String,
    all_of: Vec<String>,
}

fn spec() -> Option<&'static Spec> {
    static SPEC: OnceLock<Option<Spec>> = OnceLock::new();
    SPEC.get_or_init(|| {
        serde_json::from_str(include_str!("../../../policies/azure/capabilities.json")).ok()
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

/// Whether one permission block allows a control-plane `operation` (`data`: a data action).
fn block_allows(p: &Permission<'_>, operation: &str, data: bool) -> bool {
    if data {
        matches_any(p.data_actions, operation) && !matches_any(p.not_data_actions, operation)
    } else {
        matches_any(p.actions, operation) && !matches_any(p.not_actions, operation)
    }
}

fn reach_of(scope: &str) -> Reach {
    let lower = scope.to_ascii_lowercase();
    let parts: Vec<&str> = lower.trim_matches('/').split('/').collect();
    match parts.as_slice() {
        ["subscriptions", _] | ["subscriptions", _, "resourcegroups", _] => Reach::All,
        ["providers", "microsoft.management", "managementgroups", _] => Reach::All,
        [] | [""] => Reach::All,
        _ => Reach::Some,
    }
}

/// The access profile of an identity from its role assignments.
pub fn profile(assignments: &[Assignment<'_>]) -> (AccessProfile, Vec<String>) {
    let mut profile = AccessProfile::default();
    let mut unreadable = Vec::new();
    let Some(spec) = spec() else {
        unreadable.push("policies/azure/capabilities.json could not be loaded".to_string());
        return (profile, unreadable);
    };
    let label = |a: &Assignment<'_>| format!("{} at {}", a.role_name, a.scope);
    let allows = |a: &Assignment<'_>, op: &str, data: bool| {
        a.permissions
            .as_ref()
            .is_some_and(|ps| ps.iter().any(|p| block_allows(p, op, data)))
    };
    for a in assignments {
        let Some(perms) = &a.permissions else {
            unreadable.push(format!("{}: role definition not read", label(a)));
            continue;
        };
        let admin = perms
            .iter()
            .any(|p| p.actions.iter().any(|x| spec.admin_actions.contains(x)));
        if admin && reach_of(a.scope) == Reach::All {
            let held = profile.admin.get_or_insert_with(|| HeldCapability {
                id: "admin".to_string(),
                title: "Owner, Contributor or `*` at subscription or resource group scope"
                    .to_string(),
                reach: Reach::All,
                actions: vec!["*".to_string()],
                statements: Vec::new(),
                allowed_when: a.condition.map(str::to_string),
            });
            held.statements.push(label(a));
        }
        if a.custom {
            for (i, p) in perms.iter().enumerate() {
                let wild: Vec<String> = p
                    .actions
                    .iter()
                    .chain(p.data_actions.iter())
                    .filter(|x| *x == "*" || x.ends_with("/*"))
                    .cloned()
                    .collect();
                if !wild.is_empty() {
                    profile.wildcard_grants.push(WildcardGrant {
                        policy: format!("custom role {}", a.role_name),
                        statement: i,
                        sid: None,
                        actions: wild,
                    });
                }
            }
        }
    }
    for class in &spec.classes {
        let mut held: Option<HeldCapability> = None;
        for a in assignments {
            let granted: Vec<&String> = class
                .any_operation
                .iter()
                .filter(|op| allows(a, op, false))
                .chain(
                    class
                        .any_data_operation
                        .iter()
                        .filter(|op| allows(a, op, true)),
                )
                .collect();
            if granted.is_empty() {
                continue;
            }
            HeldCapability::record_grant(
                &mut held,
                (&class.id, &class.title),
                reach_of(a.scope),
                granted,
                label(a),
                a.condition,
            );
        }
        profile.capabilities.extend(held);
    }
    for path in &spec.escalation_paths {
        let mut statements = Vec::new();
        let open = path.all_of.iter().all(|op| {
            let grants: Vec<String> = assignments
                .iter()
                .filter(|a| allows(a, op, false))
                .map(&label)
                .collect();
            let any = !grants.is_empty();
            statements.extend(grants);
            any
        });
        if open {
            profile.escalation_paths.push(OpenPath {
                id: path.id.clone(),
                title: path.title.clone(),
                steps: path.all_of.clone(),
                statements,
                allowed_when: None,
            });
        }
    }
    (profile, unreadable)
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
