//! Capability questions for Google Cloud identities: role bindings (at project level or on one
//! resource) times the permissions of each role. A binding on the project (or on a folder or the
//! organization above it) reaches every resource of the kind; a binding on one resource (a
//! bucket, a service account, ...) reaches some. IAM Conditions stay unknown: the answer is
//! "allowed when <expression>".
//!
//! When the identity is only used through the OAuth tokens of GKE nodes, the node pools' access
//! scopes limit those tokens too: a permission counts only if one of the scopes admits its API
//! (Compute Engine "Service accounts: access scopes"; GKE "Harden your cluster: use least
//! privilege service accounts"). [`token_scopes`] works out that limit from the inventory and
//! [`profile_with_token`] applies it.

use crate::capability::{AccessProfile, Reach};
use crate::rbac::{Plane, RbacSpec, RoleGrant};
use crate::reason::{GrantReason, RoleGrantKind, RoleRef};
use cloudscan_inventory::{Identity, Inventory, UsedBy};
use std::collections::{BTreeSet, HashMap};
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

/// How far a binding reaches: every resource below a project, folder or organization (short
/// `projects/P` or full `//cloudresourcemanager.googleapis.com/projects/P` names); some resources
/// for a binding on anything else (one bucket, one service account, one secret).
fn reach_of(resource: &str) -> Reach {
    let short = resource
        .strip_prefix("//cloudresourcemanager.googleapis.com/")
        .unwrap_or(resource);
    let parts: Vec<&str> = short.split('/').collect();
    if parts.len() == 2
        && !parts[1].is_empty()
        && matches!(parts[0], "projects" | "folders" | "organizations")
    {
        Reach::All
    } else {
        Reach::Some
    }
}

/// The scope that puts no limit on a token (IAM alone decides).
pub const CLOUD_PLATFORM: &str = "https://www.googleapis.com/auth/cloud-platform";
const SCOPE_PREFIX: &str = "https://www.googleapis.com/auth/";

/// Whether a permission only reads (its verb is `get…` or `list…`).
fn read_only(permission: &str) -> bool {
    permission
        .rsplit('.')
        .next()
        .is_some_and(|verb| verb.starts_with("get") || verb.starts_with("list"))
}

/// Whether an OAuth access scope admits a call that needs `permission`; `None` for a scope this
/// table does not know (then the token is treated as unlimited: never assume a limit).
///
/// From Google's "OAuth 2.0 Scopes for Google APIs" list: each API's own scopes, read-only ones
/// only for reads. Kubernetes objects (`container.pods.*`, `container.secrets.*`, ...) are
/// reached through the cluster's API server, which accepts a Google token carrying
/// `userinfo.email`, so that scope admits them too.
pub fn scope_admits(scope: &str, permission: &str) -> Option<bool> {
    let name = scope.strip_prefix(SCOPE_PREFIX).unwrap_or(scope);
    let service = permission.split('.').next().unwrap_or_default();
    let kubernetes_object = service == "container"
        && !permission.starts_with("container.clusters.")
        && !permission.starts_with("container.operations.");
    Some(match name {
        "cloud-platform" => true,
        "cloud-platform.read-only" => read_only(permission),
        "userinfo.email" => kubernetes_object,
        "devstorage.full_control" | "devstorage.read_write" => service == "storage",
        "devstorage.read_only" => service == "storage" && read_only(permission),
        "compute" => service == "compute",
        "compute.readonly" => service == "compute" && read_only(permission),
        "logging.admin" => service == "logging",
        "logging.read" => service == "logging" && read_only(permission),
        "logging.write" => permission == "logging.logEntries.create",
        "monitoring" => service == "monitoring",
        "monitoring.read" => service == "monitoring" && read_only(permission),
        "monitoring.write" => service == "monitoring" && permission.ends_with(".create"),
        "servicecontrol" => {
            service == "servicemanagement"
                && (permission.ends_with(".services.report")
                    || permission.ends_with(".services.check"))
        }
        "service.management" => service == "servicemanagement",
        "service.management.readonly" => service == "servicemanagement" && read_only(permission),
        "trace.append" => service == "cloudtrace" && permission.ends_with(".patch"),
        "trace.readonly" => service == "cloudtrace" && read_only(permission),
        "pubsub" => service == "pubsub",
        "datastore" => service == "datastore",
        "bigquery" => service == "bigquery",
        "sqlservice.admin" => service == "cloudsql",
        "source.read_only" => service == "source" && read_only(permission),
        "source.read_write" => service == "source",
        "cloud-platform.projects" => service == "resourcemanager",
        _ => return None,
    })
}

/// The scopes every token of the identity carries, when all of them are node tokens with a
/// known, limited set of scopes; `None` when some use of the identity is not limited (a
/// workload acting as it through Workload Identity gets a `cloud-platform` token; a pool with
/// `cloud-platform`, with an unknown scope or with no scope listed).
pub fn token_scopes(inv: &Inventory, identity: &Identity) -> Option<Vec<String>> {
    if identity.used_by.is_empty() {
        return None;
    }
    let mut scopes: BTreeSet<String> = BTreeSet::new();
    for u in &identity.used_by {
        let UsedBy::NodePool { cluster, pool } = u else {
            return None;
        };
        let pool = inv
            .clusters
            .iter()
            .filter(|c| &c.name == cluster)
            .flat_map(|c| c.node_pools.iter())
            .find(|p| &p.name == pool)?;
        if pool.oauth_scopes.is_empty() {
            return None;
        }
        for s in &pool.oauth_scopes {
            // An unknown scope (None) may admit anything.
            if scope_admits(s, "").is_none() || s == CLOUD_PLATFORM {
                return None;
            }
            scopes.insert(s.clone());
        }
    }
    Some(scopes.into_iter().collect())
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
    /// The access scopes of every token of the identity (`None`: not limited).
    token: Option<&'a [String]>,
}

impl Granted<'_> {
    fn token_admits(&self, permission: &str) -> bool {
        self.token.is_none_or(|scopes| {
            scopes
                .iter()
                .any(|s| scope_admits(s, permission).unwrap_or(true))
        })
    }
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
            && self.token_admits(operation)
    }

    /// Owner or Editor make an administrator only through an unlimited token.
    fn admin(&self, _: &RbacSpec) -> Option<Vec<String>> {
        (self.admin_role && self.token.is_none()).then(|| vec![self.binding.role.to_string()])
    }
}

/// The access profile of an identity from its bindings and the permissions of each role
/// (a role missing from `permissions` could not be read; it is listed in the returned
/// `unreadable`).
pub fn profile(
    bindings: &[Binding<'_>],
    permissions: &HashMap<&str, &[String]>,
) -> (AccessProfile, Vec<String>) {
    profile_with_token(bindings, permissions, None)
}

/// [`profile`] for an identity whose every token carries only `token` scopes (see
/// [`token_scopes`]); `None` is no limit.
pub fn profile_with_token(
    bindings: &[Binding<'_>],
    permissions: &HashMap<&str, &[String]>,
    token: Option<&[String]>,
) -> (AccessProfile, Vec<String>) {
    // A cloud-platform token is limited by IAM alone.
    let token = token.filter(|scopes| !scopes.iter().any(|s| s == CLOUD_PLATFORM));
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
            token,
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

    fn editor_perms() -> Vec<String> {
        [
            "container.secrets.get",
            "secretmanager.versions.access",
            "storage.objects.get",
            "storage.objects.create",
            "compute.instances.setMetadata",
            "iam.serviceAccountKeys.create",
        ]
        .iter()
        .map(|p| p.to_string())
        .collect()
    }

    fn held(p: &AccessProfile, id: &str) -> bool {
        p.capabilities.iter().any(|c| c.id == id)
    }

    const EDITOR_ON_PROJECT: Binding<'static> = Binding {
        resource: "projects/p",
        role: "roles/editor",
        condition: None,
    };

    #[test]
    fn node_oauth_scopes_limit_what_the_token_can_do() {
        let perms = editor_perms();
        let map: HashMap<&str, &[String]> = HashMap::from([("roles/editor", perms.as_slice())]);
        let bindings = [EDITOR_ON_PROJECT];
        // Editor with only devstorage.read_only: reads objects, nothing else; not an admin.
        let read_only = vec![format!("{SCOPE_PREFIX}devstorage.read_only")];
        let (p, _) = profile_with_token(&bindings, &map, Some(&read_only));
        assert!(p.admin.is_none());
        assert!(held(&p, "object-read"));
        assert!(!held(&p, "object-write"));
        assert!(!held(&p, "secrets-read"));
        assert!(!held(&p, "compute-write"));
        assert!(p.escalation_paths.is_empty(), "{:?}", p.escalation_paths);
        // The same grant with cloud-platform (or no known limit) is everything.
        let full = vec![CLOUD_PLATFORM.to_string()];
        for token in [Some(full.as_slice()), None] {
            let (p, _) = profile_with_token(&bindings, &map, token);
            assert!(p.admin.is_some());
            assert!(held(&p, "secrets-read"));
            assert!(held(&p, "object-write"));
            assert!(!p.escalation_paths.is_empty());
        }
        // read_write and compute scopes admit their own APIs only.
        let rw = vec![
            format!("{SCOPE_PREFIX}devstorage.read_write"),
            format!("{SCOPE_PREFIX}compute"),
        ];
        let (p, _) = profile_with_token(&bindings, &map, Some(&rw));
        assert!(held(&p, "object-write"));
        assert!(held(&p, "compute-write"));
        assert!(!held(&p, "secrets-read"));
    }

    #[test]
    fn scope_table_admits_only_its_api_and_knows_its_limits() {
        let s = |n: &str| format!("{SCOPE_PREFIX}{n}");
        assert_eq!(
            scope_admits(&s("devstorage.read_only"), "storage.objects.get"),
            Some(true)
        );
        assert_eq!(
            scope_admits(&s("devstorage.read_only"), "storage.objects.create"),
            Some(false)
        );
        assert_eq!(
            scope_admits(&s("logging.write"), "secretmanager.versions.access"),
            Some(false)
        );
        assert_eq!(
            scope_admits(&s("userinfo.email"), "container.secrets.get"),
            Some(true)
        );
        assert_eq!(
            scope_admits(&s("userinfo.email"), "container.clusters.update"),
            Some(false)
        );
        assert_eq!(
            scope_admits(&s("cloud-platform.read-only"), "storage.objects.list"),
            Some(true)
        );
        assert_eq!(
            scope_admits(&s("some.new.scope"), "storage.objects.get"),
            None
        );
    }

    fn inventory(pools: serde_json::Value, used_by: serde_json::Value) -> (Inventory, Identity) {
        let inv: Inventory = serde_json::from_value(serde_json::json!({
            "provider": "gcp",
            "clusters": [{"id": "c", "name": "c", "node_pools": pools}],
            "identities": [{"id": "n@p.iam.gserviceaccount.com", "name": "n",
                            "kind": "gcp-service-account", "used_by": used_by}]
        }))
        .expect("inventory");
        let identity = inv.identities[0].clone();
        (inv, identity)
    }

    #[test]
    fn token_scopes_are_the_union_of_node_pools_and_unlimited_for_workloads() {
        let read_only = format!("{SCOPE_PREFIX}devstorage.read_only");
        let logging = format!("{SCOPE_PREFIX}logging.write");
        let pools = serde_json::json!([
            {"name": "a", "oauth_scopes": [read_only]},
            {"name": "b", "oauth_scopes": [logging]},
            {"name": "full", "oauth_scopes": [CLOUD_PLATFORM]},
            {"name": "odd", "oauth_scopes": [format!("{SCOPE_PREFIX}some.new.scope")]},
            {"name": "none", "oauth_scopes": []}
        ]);
        let node = |p: &str| serde_json::json!({"kind": "node_pool", "cluster": "c", "pool": p});
        let (inv, id) = inventory(pools.clone(), serde_json::json!([node("a"), node("b")]));
        assert_eq!(
            token_scopes(&inv, &id),
            Some(vec![read_only.clone(), logging.clone()])
        );
        for other in ["full", "odd", "none"] {
            let (inv, id) = inventory(pools.clone(), serde_json::json!([node("a"), node(other)]));
            assert_eq!(token_scopes(&inv, &id), None, "{other}");
        }
        let workload = serde_json::json!({"kind": "workload", "cluster": "c", "namespace": "n",
            "service_account": "s", "mechanism": "gke-workload-identity"});
        let (inv, id) = inventory(pools, serde_json::json!([node("a"), workload]));
        assert_eq!(token_scopes(&inv, &id), None);
    }

    #[test]
    fn a_grant_on_one_resource_reaches_some_resources_only() {
        assert_eq!(reach_of("projects/p"), Reach::All);
        assert_eq!(reach_of("folders/123"), Reach::All);
        assert_eq!(reach_of("organizations/456"), Reach::All);
        assert_eq!(
            reach_of("//cloudresourcemanager.googleapis.com/projects/p"),
            Reach::All
        );
        for one in [
            "//storage.googleapis.com/projects/_/buckets/b",
            "projects/_/buckets/b",
            "projects/p/secrets/s",
            "projects/p/serviceAccounts/sa@p.iam.gserviceaccount.com",
            "projects/",
        ] {
            assert_eq!(reach_of(one), Reach::Some, "{one}");
        }
        // Editor bound on one bucket: object access on some buckets, and no administrator.
        let perms = editor_perms();
        let map: HashMap<&str, &[String]> = HashMap::from([("roles/editor", perms.as_slice())]);
        let bucket = [Binding {
            resource: "//storage.googleapis.com/projects/_/buckets/b",
            role: "roles/editor",
            condition: None,
        }];
        let (p, _) = profile(&bucket, &map);
        assert!(p.admin.is_none());
        let read = p
            .capabilities
            .iter()
            .find(|c| c.id == "object-read")
            .expect("object-read");
        assert_eq!(read.reach, Reach::Some);
    }
}
