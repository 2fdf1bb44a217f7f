//! One evaluator for role-based clouds (GCP role bindings, Azure role assignments): every grant
//! of an identity times the capability classes and escalation paths of the cloud's spec file
//! (`policies/<cloud>/capabilities.json`). What differs per cloud is only how one grant maps to
//! operations and how far it reaches; that is the [`RoleGrant`] trait, implemented in
//! [`crate::gcp`] and [`crate::azure`].
//!
//! Conditions on a grant cannot be decided at scan time: a capability or path that depends on
//! one is "allowed when <condition>", for capabilities and escalation paths alike.

use crate::capability::{
    push_unique, AccessProfile, HeldCapability, OpenPath, Reach, WildcardGrant,
};
use crate::reason::{GrantReason, Granted};
use serde::Deserialize;

/// Which half of a cloud's operations a permission belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Plane {
    /// Management operations (GCP permissions, Azure `actions`).
    Control,
    /// Data operations (Azure `dataActions`).
    Data,
}

/// A capability class of a role-based cloud.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RbacClass {
    pub id: String,
    pub title: String,
    /// Control-plane operations that grant the class (GCP spells the key `any_permission`).
    #[serde(default, alias = "any_permission")]
    pub any_operation: Vec<String>,
    /// Data-plane operations that grant the class.
    #[serde(default)]
    pub any_data_operation: Vec<String>,
}

/// A privilege-escalation path: every step is a control-plane operation.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RbacPath {
    pub id: String,
    pub title: String,
    pub all_of: Vec<String>,
}

/// The capability file of a role-based cloud.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RbacSpec {
    pub format: u32,
    pub cloud: String,
    /// Roles that make their holder an administrator of the scope (GCP).
    #[serde(default)]
    pub admin_roles: Vec<String>,
    /// Actions that make a role an administrator role (Azure).
    #[serde(default)]
    pub admin_actions: Vec<String>,
    pub classes: Vec<RbacClass>,
    pub escalation_paths: Vec<RbacPath>,
}

impl RbacSpec {
    /// Parses a capability file.
    pub fn from_json(text: &str) -> Result<RbacSpec, serde_json::Error> {
        serde_json::from_str(text)
    }
}

/// One grant of a role to an identity, as a cloud defines it.
pub trait RoleGrant {
    /// The grant as a typed reason (role, scope, condition).
    fn reason(&self) -> GrantReason;
    /// Every resource of a kind below the scope, or only some.
    fn reach(&self) -> Reach;
    /// The condition limiting the grant, if any.
    fn condition(&self) -> Option<&str>;
    /// Why the role's permissions are not known, if they are not.
    fn unreadable(&self) -> Option<&'static str>;
    /// Whether the role allows `operation` on `plane` (after any deny that covers the grant's
    /// whole scope).
    fn allows(&self, operation: &str, plane: Plane) -> bool;
    /// How far the grant reaches for one operation: less than [`RoleGrant::reach`] when a deny
    /// covers part of the scope.
    fn reach_for(&self, _operation: &str, _plane: Plane) -> Reach {
        self.reach()
    }
    /// The operations or role to cite when the grant makes its holder an administrator of
    /// its scope (`None`: it does not).
    fn admin(&self, spec: &RbacSpec) -> Option<Vec<String>>;
    /// Wildcard grants the role carries (custom roles with `*`).
    fn wildcards(&self) -> Vec<WildcardGrant> {
        Vec::new()
    }
}

/// The access profile of an identity from its role grants, and the grants whose role could not
/// be read. `admin_title` names what an administrator grant is in this cloud.
pub fn profile<G: RoleGrant>(
    spec: &RbacSpec,
    admin_title: &str,
    grants: &[G],
) -> (AccessProfile, Vec<String>) {
    let mut profile = AccessProfile::default();
    let mut unreadable = Vec::new();
    let mut admin_grants = Vec::new();
    for g in grants {
        if let Some(why) = g.unreadable() {
            unreadable.push(format!("{}: {why}", g.reason()));
        }
        if let Some(actions) = g.admin(spec).filter(|_| g.reach() == Reach::All) {
            admin_grants.push(Held {
                reach: Reach::All,
                operations: actions,
                reason: g.reason(),
                condition: g.condition().map(str::to_string),
            });
        }
        profile.wildcard_grants.extend(g.wildcards());
    }
    profile.admin = combine(("admin", admin_title), admin_grants);
    for class in &spec.classes {
        let mut held = Vec::new();
        for g in grants {
            let granted: Vec<&String> = class
                .any_operation
                .iter()
                .filter(|op| g.allows(op, Plane::Control))
                .chain(
                    class
                        .any_data_operation
                        .iter()
                        .filter(|op| g.allows(op, Plane::Data)),
                )
                .collect();
            if granted.is_empty() {
                continue;
            }
            let reach = class
                .any_operation
                .iter()
                .filter(|op| g.allows(op, Plane::Control))
                .map(|op| g.reach_for(op, Plane::Control))
                .chain(
                    class
                        .any_data_operation
                        .iter()
                        .filter(|op| g.allows(op, Plane::Data))
                        .map(|op| g.reach_for(op, Plane::Data)),
                )
                .max()
                .unwrap_or(Reach::Some);
            held.push(Held {
                reach,
                operations: granted.into_iter().cloned().collect(),
                reason: g.reason(),
                condition: g.condition().map(str::to_string),
            });
        }
        profile
            .capabilities
            .extend(combine((&class.id, &class.title), held));
    }
    for path in &spec.escalation_paths {
        if let Some(open) = open_path(path, grants) {
            profile.escalation_paths.push(open);
        }
    }
    (profile, unreadable)
}

/// One grant of a capability: how far it reaches, the operations it allows, why, and under
/// which condition.
struct Held {
    reach: Reach,
    operations: Vec<String>,
    reason: GrantReason,
    condition: Option<String>,
}

/// The capability that a set of grants gives. When any grant is unconditional, the capability
/// is held without a condition, as far as the unconditional grants reach (a conditional grant
/// never widens an unconditional answer, and never attaches its condition to it); only when
/// every grant is conditional is it "allowed when" one of their conditions holds. Every grant is
/// cited.
fn combine((id, title): (&str, &str), grants: Vec<Held>) -> Option<HeldCapability> {
    if grants.is_empty() {
        return None;
    }
    let unconditional: Vec<&Held> = grants.iter().filter(|g| g.condition.is_none()).collect();
    let (reach, allowed_when) = if unconditional.is_empty() {
        let mut conditions: Vec<&str> = Vec::new();
        for g in &grants {
            if let Some(c) = &g.condition {
                push_unique(&mut conditions, c);
            }
        }
        let when = if conditions.len() == 1 {
            conditions[0].to_string()
        } else {
            format!("({})", conditions.join(") or ("))
        };
        (grants.iter().map(|g| g.reach).max(), Some(when))
    } else {
        (unconditional.iter().map(|g| g.reach).max(), None)
    };
    let mut held = HeldCapability {
        id: id.to_string(),
        title: title.to_string(),
        reach: reach.unwrap_or(Reach::Some),
        actions: Vec::new(),
        granted_by: Vec::new(),
        allowed_when,
    };
    for g in grants {
        for op in &g.operations {
            if !held.actions.contains(op) {
                held.actions.push(op.clone());
            }
            Granted::credit(&mut held.granted_by, g.reason.clone(), op);
        }
    }
    Some(held)
}

/// A path is open when every step is granted. A step granted by at least one unconditional
/// grant is unconditional; otherwise it holds when one of its grants' conditions does. The path
/// holds when all of its steps do.
fn open_path<G: RoleGrant>(path: &RbacPath, grants: &[G]) -> Option<OpenPath> {
    let mut granted_by = Vec::new();
    let mut step_conditions: Vec<String> = Vec::new();
    for step in &path.all_of {
        let granting: Vec<&G> = grants
            .iter()
            .filter(|g| g.allows(step, Plane::Control))
            .collect();
        if granting.is_empty() {
            return None;
        }
        for g in &granting {
            Granted::credit(&mut granted_by, g.reason(), step);
        }
        let mut alternatives: Vec<&str> = Vec::new();
        let mut unconditional = false;
        for g in &granting {
            match g.condition() {
                Some(c) => push_unique(&mut alternatives, c),
                None => unconditional = true,
            }
        }
        if unconditional || alternatives.is_empty() {
            continue;
        }
        let condition = if alternatives.len() == 1 {
            alternatives[0].to_string()
        } else {
            format!("({})", alternatives.join(") or ("))
        };
        push_unique(&mut step_conditions, condition);
    }
    Some(OpenPath {
        id: path.id.clone(),
        title: path.title.clone(),
        steps: path.all_of.clone(),
        granted_by,
        allowed_when: (!step_conditions.is_empty()).then(|| step_conditions.join(" and ")),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::reason::{RoleGrantKind, RoleRef};

    struct Fake {
        ops: Vec<&'static str>,
        condition: Option<&'static str>,
        scope: &'static str,
    }

    impl RoleGrant for Fake {
        fn reason(&self) -> GrantReason {
            GrantReason::Role(RoleRef {
                kind: RoleGrantKind::Assignment,
                role: "r".into(),
                scope: self.scope.into(),
                condition: self.condition.map(str::to_string),
            })
        }
        fn reach(&self) -> Reach {
            Reach::All
        }
        fn condition(&self) -> Option<&str> {
            self.condition
        }
        fn unreadable(&self) -> Option<&'static str> {
            None
        }
        fn allows(&self, operation: &str, _: Plane) -> bool {
            self.ops.contains(&operation)
        }
        fn admin(&self, _: &RbacSpec) -> Option<Vec<String>> {
            None
        }
    }

    fn spec() -> RbacSpec {
        RbacSpec::from_json(
            r#"{"format": 1, "cloud": "test", "classes": [],
                "escalation_paths": [{"id": "p", "title": "P", "all_of": ["a", "b"]}]}"#,
        )
        .expect("spec")
    }

    #[test]
    fn escalation_paths_keep_the_conditions_of_their_grants() {
        let grants = [
            Fake {
                ops: vec!["a"],
                condition: Some("c1"),
                scope: "s1",
            },
            Fake {
                ops: vec!["b"],
                condition: Some("c2"),
                scope: "s2",
            },
        ];
        let (p, _) = profile(&spec(), "admin", &grants);
        assert_eq!(
            p.escalation_paths[0].allowed_when.as_deref(),
            Some("c1 and c2")
        );
        assert_eq!(p.escalation_paths[0].granted_by.len(), 2);
    }

    #[test]
    fn an_unconditional_grant_of_a_step_makes_it_unconditional() {
        let grants = [
            Fake {
                ops: vec!["a", "b"],
                condition: Some("c1"),
                scope: "s1",
            },
            Fake {
                ops: vec!["a"],
                condition: None,
                scope: "s2",
            },
            Fake {
                ops: vec!["b"],
                condition: Some("c3"),
                scope: "s3",
            },
        ];
        let (p, _) = profile(&spec(), "admin", &grants);
        assert_eq!(
            p.escalation_paths[0].allowed_when.as_deref(),
            Some("(c1) or (c3)")
        );
        // One grant that holds both steps is cited once.
        assert_eq!(p.escalation_paths[0].granted_by.len(), 3);
        assert_eq!(p.escalation_paths[0].granted_by[0].allows, vec!["a", "b"]);
    }

    fn class_spec() -> RbacSpec {
        RbacSpec::from_json(
            r#"{"format": 1, "cloud": "test",
                "classes": [{"id": "secrets-read", "title": "S", "any_operation": ["read"]}],
                "escalation_paths": []}"#,
        )
        .expect("spec")
    }

    #[test]
    fn an_unconditional_grant_drops_the_condition_of_a_capability() {
        let conditional = Fake {
            ops: vec!["read"],
            condition: Some("request.time < x"),
            scope: "s1",
        };
        let plain = Fake {
            ops: vec!["read"],
            condition: None,
            scope: "s2",
        };
        // Only a conditional grant: allowed when its condition holds.
        let (p, _) = profile(&class_spec(), "admin", std::slice::from_ref(&conditional));
        assert_eq!(
            p.capabilities[0].allowed_when.as_deref(),
            Some("request.time < x")
        );
        // An unconditional grant beside it, in either order: no condition, both cited.
        for grants in [
            [conditional, plain],
            [
                Fake {
                    ops: vec!["read"],
                    condition: None,
                    scope: "s2",
                },
                Fake {
                    ops: vec!["read"],
                    condition: Some("request.time < x"),
                    scope: "s1",
                },
            ],
        ] {
            let (p, _) = profile(&class_spec(), "admin", &grants);
            assert_eq!(p.capabilities[0].allowed_when, None);
            assert_eq!(p.capabilities[0].granted_by.len(), 2);
        }
        // Two conditional grants: either condition.
        let grants = [
            Fake {
                ops: vec!["read"],
                condition: Some("c1"),
                scope: "s1",
            },
            Fake {
                ops: vec!["read"],
                condition: Some("c2"),
                scope: "s2",
            },
        ];
        let (p, _) = profile(&class_spec(), "admin", &grants);
        assert_eq!(
            p.capabilities[0].allowed_when.as_deref(),
            Some("(c1) or (c2)")
        );
    }
}
