//! Capability questions for Google Cloud identities: role bindings (at project level or on one
//! resource) times the permissions of each role. A binding on the project reaches every resource
//! of the kind; a binding on one resource reaches some. IAM Conditions stay unknown: the answer
//! is "allowed when <expression>".

use crate::capability::{AccessProfile, Reach};
use crate::rbac::{Plane, RbacSpec, RoleGrant};
use crate::reason::{GrantReason, RoleGrantKind, RoleRef};
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

/// What an administrator binding is called in findings.
const ADMIN_TITLE: &str = "Owner or Editor on the project";

fn spec() -> Option<&'static RbacSpec> {
    static SPEC: OnceLock<Option<RbacSpec>> = OnceLock::new();
    SPEC.get_or_init(|| {
        RbacSpec::from_json(include_str!("../../../policies/gcp/capabilities.json")).ok()
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

/// A binding with the permissions of its role (`None`: the role could not be read).
struct Granted<'a> {
    binding: &'a Binding<'a>,
    permissions: Option<&'a [String]>,
    admin_role: bool,
}

impl RoleGrant for Granted<'_> {
    fn reason(&self) -> GrantReason {
        GrantReason::Role(RoleRef {
            kind: RoleGrantKind::Binding,
            role: self.binding.role.to_string(),
            scope: self.binding.resource.to_string(),
            condition: self.binding.condition.map(str::to_string),
        })
    }

    fn reach(&self) -> Reach {
        reach_of(self.binding.resource)
    }

    fn condition(&self) -> Option<&str> {
        self.binding.condition
    }

    fn unreadable(&self) -> Option<&'static str> {
        (self.permissions.is_none() && !self.admin_role).then_some("role permissions unknown")
    }

    fn allows(&self, operation: &str, plane: Plane) -> bool {
        plane == Plane::Control
            && self
                .permissions
                .is_some_and(|perms| perms.iter().any(|p| p == operation))
    }

    fn admin(&self, _: &RbacSpec) -> Option<Vec<String>> {
        self.admin_role.then(|| vec![self.binding.role.to_string()])
    }
}

/// The access profile of an identity from its bindings and the permissions of each role
/// (a role missing from `permissions` could not be read; it is listed in the returned
/// `unreadable`).
pub fn profile(
    bindings: &[Binding<'_>],
    permissions: &HashMap<&str, &[String]>,
) -> (AccessProfile, Vec<String>) {
    let Some(spec) = spec() else {
        return (
            AccessProfile::default(),
            vec!["policies/gcp/capabilities.json could not be loaded".to_string()],
        );
    };
    let grants: Vec<Granted<'_>> = bindings
        .iter()
        .map(|b| Granted {
            binding: b,
            permissions: permissions.get(b.role).copied(),
            admin_role: spec.admin_roles.iter().any(|r| r == b.role),
        })
        .collect();
    crate::rbac::profile(spec, ADMIN_TITLE, &grants)
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
