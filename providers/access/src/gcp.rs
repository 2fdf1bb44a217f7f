//! Capability questions for Google Cloud identities: role bindings (at project level or on one
//! resource) times the permissions of each role. A binding on the project reaches every resource
//! of the kind; a binding on one resource reaches some. IAM Conditions stay unknown: the answer
//! is "allowed when <expression>".

use crate::capability::{AccessProfile, HeldCapability, OpenPath, Reach};
use serde::Deserialize;
use std::collections::HashMap;
use std::sync::OnceLock;

/// One role binding of an identity.
#[derive(Debug, Clone)]
pub struct Binding<'a> {
    /// Where the binding is: `projects/P`, `organizations/O`, `folders/F`, or one resource.
    pub resource: &'a str,
    pub role: &'a str,
    /// The IAM Condition expression, if any.
    pub condition: Option<&'a str>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Spec {
    #[allow(dead_code)]
    format: u32,
    #[allow(dead_code)]
    cloud: String,
    admin_roles: Vec<String>,
    classes: Vec<ClassSpec>,
    escalation_paths: Vec<PathSpec>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ClassSpec {
    id: String,
    title: String,
    any_permission: Vec<String>,
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
        serde_json::from_str(include_str!("../../../policies/gcp/capabilities.json")).ok()
    })
    .as_ref()
}

fn reach_of(resource: &str) -> Reach {
    let parts: Vec<&str> = resource.split('/').collect();
    if parts.len() == 2 && matches!(parts[0], "projects" | "folders" | "organizations") {
        Reach::All
    } else {
        Reach::Some
    }
}

/// Whether the bundled GCP capability file loaded (a test asserts it).
pub fn spec_loaded() -> bool {
    spec().is_some()
}

/// The access profile of an identity from its bindings and the permissions of each role
/// (`None` permissions: the role definition could not be read; that binding is skipped and
/// listed in the returned `unreadable`).
pub fn profile(
    bindings: &[Binding<'_>],
    permissions: &HashMap<&str, &[String]>,
) -> (AccessProfile, Vec<String>) {
    let mut profile = AccessProfile::default();
    let mut unreadable = Vec::new();
    let Some(spec) = spec() else {
        unreadable.push("policies/gcp/capabilities.json could not be loaded".to_string());
        return (profile, unreadable);
    };
    let label = |b: &Binding<'_>| format!("{} on {}", b.role, b.resource);
    for b in bindings {
        if !permissions.contains_key(b.role) && !spec.admin_roles.iter().any(|r| r == b.role) {
            unreadable.push(format!("{}: role permissions unknown", label(b)));
        }
        if spec.admin_roles.iter().any(|r| r == b.role) && reach_of(b.resource) == Reach::All {
            let held = profile.admin.get_or_insert_with(|| HeldCapability {
                id: "admin".to_string(),
                title: "Owner or Editor on the project".to_string(),
                reach: Reach::All,
                actions: vec![b.role.to_string()],
                statements: Vec::new(),
                allowed_when: b.condition.map(str::to_string),
            });
            held.statements.push(label(b));
        }
    }
    let has = |b: &Binding<'_>, perm: &str| {
        permissions
            .get(b.role)
            .is_some_and(|perms| perms.iter().any(|p| p == perm))
    };
    for class in &spec.classes {
        let mut held: Option<HeldCapability> = None;
        for b in bindings {
            let granted: Vec<&String> = class.any_permission.iter().filter(|p| has(b, p)).collect();
            if granted.is_empty() {
                continue;
            }
            HeldCapability::record_grant(
                &mut held,
                (&class.id, &class.title),
                reach_of(b.resource),
                granted,
                label(b),
                b.condition,
            );
        }
        profile.capabilities.extend(held);
    }
    for path in &spec.escalation_paths {
        let mut statements = Vec::new();
        let mut condition = None;
        let open = path.all_of.iter().all(|perm| {
            let grants: Vec<&Binding<'_>> = bindings.iter().filter(|b| has(b, perm)).collect();
            for b in &grants {
                let l = label(b);
                if !statements.contains(&l) {
                    statements.push(l);
                }
                if let Some(c) = b.condition {
                    condition.get_or_insert_with(|| c.to_string());
                }
            }
            !grants.is_empty()
        });
        if open {
            profile.escalation_paths.push(OpenPath {
                id: path.id.clone(),
                title: path.title.clone(),
                steps: path.all_of.clone(),
                statements,
                allowed_when: condition,
            });
        }
    }
    (profile, unreadable)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn project_bindings_reach_all_and_resource_bindings_some() {
        assert!(spec_loaded());
        let viewer = vec!["storage.objects.get".to_string()];
        let creator = vec!["iam.serviceAccounts.getAccessToken".to_string()];
        let perms: HashMap<&str, &[String]> = HashMap::from([
            ("roles/storage.objectViewer", viewer.as_slice()),
            ("roles/iam.serviceAccountTokenCreator", creator.as_slice()),
        ]);
        let bindings = [
            Binding {
                resource: "projects/p",
                role: "roles/storage.objectViewer",
                condition: None,
            },
            Binding {
                resource: "projects/p/serviceAccounts/sa@p.iam.gserviceaccount.com",
                role: "roles/iam.serviceAccountTokenCreator",
                condition: Some("request.time < timestamp('2030-01-01T00:00:00Z')"),
            },
            Binding {
                resource: "projects/p",
                role: "roles/editor",
                condition: None,
            },
        ];
        let (p, unreadable) = profile(&bindings, &perms);
        assert!(p.admin.is_some());
        assert_eq!(unreadable, Vec::<String>::new());
        let read = p
            .capabilities
            .iter()
            .find(|c| c.id == "object-read")
            .expect("object-read");
        assert_eq!(read.reach, Reach::All);
        let path = p
            .escalation_paths
            .iter()
            .find(|x| x.id == "gcp-token-creator")
            .expect("token creator");
        assert!(path.allowed_when.is_some());
    }
}
