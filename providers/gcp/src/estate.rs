//! `--organization ID` / `--folder ID`: every project below, found by walking the Resource
//! Manager tree one level at a time (`folders.list` and `projects.list` on each node, the nodes
//! of a level concurrently), and the tree kept for the inventory.
//!
//! What the walk guarantees, whatever the API answers:
//! - at most [`MAX_FOLDER_DEPTH`] folder levels below a root (Resource Manager allows 10); a
//!   deeper folder is not walked and is reported;
//! - a folder listed under itself or under one of its descendants (a cycle) is not walked again
//!   and is reported; a folder reached twice another way (two overlapping roots) is walked once;
//! - a node whose listing fails is a failure of that node (the projects found elsewhere are still
//!   returned); each listing follows its pages under the shared page guard (repeated tokens, page
//!   cap);
//! - a project is returned once, under the first node that listed it.

use crate::collect::{is_ancestor_name, Children, RawProject};
use crate::error::{CollectError, FailureKind};
use crate::schema::{FOLDER_ACTIVE, PROJECT_ACTIVE};
use futures::future::{join_all, BoxFuture};
use std::collections::BTreeSet;

/// The deepest folder nesting below a root that is walked (Resource Manager's limit is 10).
pub const MAX_FOLDER_DEPTH: usize = 10;

/// One node of a project's path: `organizations/ID` or `folders/ID`, with its display name
/// when the listing gave one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TreeNode {
    pub name: String,
    pub display_name: Option<String>,
}

/// A project found below a root, with the nodes from the root down to its parent.
#[derive(Debug, Clone)]
pub struct FoundProject {
    pub project: RawProject,
    pub path: Vec<TreeNode>,
}

impl FoundProject {
    /// Whether the project is scanned: ACTIVE (or no state given; proto3 JSON omits nothing for
    /// a set enum, so a missing state is unusual but not a reason to skip).
    pub fn active(&self) -> bool {
        self.project
            .state
            .as_deref()
            .is_none_or(|s| s == PROJECT_ACTIVE)
    }
}

/// A node that could not be (fully) listed, and why.
#[derive(Debug, Clone)]
pub struct NodeFailure {
    /// `organizations/ID` or `folders/ID`.
    pub node: String,
    pub errors: Vec<CollectError>,
}

/// The result of a walk.
#[derive(Debug, Clone, Default)]
pub struct Walk {
    /// Every project found (any state), sorted by project id.
    pub projects: Vec<FoundProject>,
    /// Nodes that could not be listed, or whose children could not be walked.
    pub failures: Vec<NodeFailure>,
    /// Every node listed successfully or not, roots included.
    pub nodes: usize,
}

/// Normalizes a root given on the command line: `123`, `organizations/123` (for
/// `--organization`) or `folders/123` (for `--folder`).
pub fn root_name(kind: &str, id: &str) -> Result<String, String> {
    let id = id.trim();
    let bare = id.strip_prefix(&format!("{kind}/")).unwrap_or(id);
    let name = format!("{kind}/{bare}");
    if is_ancestor_name(&name) {
        Ok(name)
    } else {
        Err(format!(
            "`{id}` is not a {} id (digits, or {kind}/DIGITS)",
            kind.trim_end_matches('s')
        ))
    }
}

/// Lists the direct children of one node.
pub type Lister<'a> = dyn Fn(String) -> BoxFuture<'a, Children> + Send + Sync + 'a;

/// Walks the tree below `roots`, level by level; `list` returns a node's direct children.
pub async fn walk(roots: &[String], list: &Lister<'_>) -> Walk {
    let mut out = Walk::default();
    let mut walked: BTreeSet<String> = BTreeSet::new();
    let mut seen_projects: BTreeSet<String> = BTreeSet::new();
    let mut frontier: Vec<Vec<TreeNode>> = Vec::new();
    for root in roots {
        if walked.insert(root.clone()) {
            frontier.push(vec![TreeNode {
                name: root.clone(),
                display_name: None,
            }]);
        }
    }
    while !frontier.is_empty() {
        let listings = join_all(frontier.iter().map(|path| {
            let node = path.last().map(|n| n.name.clone()).unwrap_or_default();
            list(node)
        }))
        .await;
        out.nodes += frontier.len();
        let mut next = Vec::new();
        for (path, children) in frontier.into_iter().zip(listings) {
            let node = path.last().map(|n| n.name.clone()).unwrap_or_default();
            let mut errors = children.errors;
            for project in children.projects {
                if project.project_id.is_empty() {
                    errors.push(CollectError::new(
                        "cloudresourcemanager projects.list",
                        &node,
                        FailureKind::Malformed,
                        format!("the project `{}` has no `projectId`", project.name),
                    ));
                    continue;
                }
                if seen_projects.insert(project.project_id.clone()) {
                    out.projects.push(FoundProject {
                        project,
                        path: path.clone(),
                    });
                }
            }
            for folder in children.folders {
                if !folder.name.starts_with("folders/") || !is_ancestor_name(&folder.name) {
                    errors.push(CollectError::new(
                        "cloudresourcemanager folders.list",
                        &node,
                        FailureKind::Malformed,
                        format!("a folder is named `{}`, not folders/ID", folder.name),
                    ));
                    continue;
                }
                if folder.state.as_deref().is_some_and(|s| s != FOLDER_ACTIVE) {
                    // Only listed with showDeleted, which the walk does not ask for; its projects
                    // are pending deletion with it.
                    continue;
                }
                if let Some(at) = path.iter().position(|n| n.name == folder.name) {
                    let chain: Vec<&str> = path[at..].iter().map(|n| n.name.as_str()).collect();
                    errors.push(CollectError::new(
                        "cloudresourcemanager folders.list",
                        &node,
                        FailureKind::Malformed,
                        format!(
                            "{} is listed below itself ({} → {}): a cycle, not walked again",
                            folder.name,
                            chain.join(" → "),
                            folder.name
                        ),
                    ));
                    continue;
                }
                // The root is level 0; its child folders level 1.
                if path.len() > MAX_FOLDER_DEPTH {
                    errors.push(CollectError::new(
                        "cloudresourcemanager folders.list",
                        &node,
                        FailureKind::Malformed,
                        format!(
                            "{} is more than {MAX_FOLDER_DEPTH} folder levels below {} \
                             (Resource Manager allows {MAX_FOLDER_DEPTH}): not walked",
                            folder.name,
                            path.first().map(|n| n.name.as_str()).unwrap_or_default()
                        ),
                    ));
                    continue;
                }
                if !walked.insert(folder.name.clone()) {
                    continue;
                }
                let mut child = path.clone();
                child.push(TreeNode {
                    name: folder.name,
                    display_name: folder.display_name.filter(|d| !d.is_empty()),
                });
                next.push(child);
            }
            if !errors.is_empty() {
                out.failures.push(NodeFailure { node, errors });
            }
        }
        frontier = next;
    }
    out.projects
        .sort_by(|a, b| a.project.project_id.cmp(&b.project.project_id));
    out.failures.sort_by(|a, b| a.node.cmp(&b.node));
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::collect::{folders_of_pages, projects_of_pages};
    use serde_json::{json, Value};
    use std::collections::BTreeMap;

    /// A fake tree: node → (folders.list pages, projects.list pages), decoded by the same
    /// functions the live listing uses.
    fn lister(tree: BTreeMap<String, (Vec<Value>, Vec<Value>)>) -> impl Fn(String) -> Children {
        move |node: String| {
            let Some((folders, projects)) = tree.get(&node) else {
                return Children {
                    errors: vec![CollectError::new(
                        "cloudresourcemanager folders.list",
                        &node,
                        FailureKind::AccessDenied,
                        "denied",
                    )],
                    ..Default::default()
                };
            };
            let mut errors = Vec::new();
            let folders = folders_of_pages(folders, &node, &mut errors);
            let projects = projects_of_pages(projects, &node, &mut errors);
            Children {
                folders,
                projects,
                errors,
            }
        }
    }

    fn run(roots: &[&str], tree: BTreeMap<String, (Vec<Value>, Vec<Value>)>) -> Walk {
        let list = lister(tree);
        let boxed = move |node: String| -> BoxFuture<'static, Children> {
            let children = list(node);
            Box::pin(async move { children })
        };
        let roots: Vec<String> = roots.iter().map(|r| r.to_string()).collect();
        futures::executor::block_on(walk(&roots, &boxed))
    }

    fn folder(id: &str, parent: &str) -> Value {
        json!({"name": format!("folders/{id}"), "parent": parent, "displayName": format!("f{id}"), "state": "ACTIVE"})
    }

    fn project(id: &str, parent: &str, state: &str) -> Value {
        json!({"name": format!("projects/{}", id.len()), "projectId": id, "parent": parent, "state": state})
    }

    fn ids(w: &Walk) -> Vec<&str> {
        w.projects
            .iter()
            .map(|p| p.project.project_id.as_str())
            .collect()
    }

    #[test]
    fn every_level_is_walked_and_projects_keep_their_path() {
        let tree = BTreeMap::from([
            (
                "organizations/1".to_string(),
                (
                    vec![
                        json!({"folders": [folder("10", "organizations/1")], "nextPageToken": "t"}),
                        json!({"folders": [folder("11", "organizations/1")]}),
                    ],
                    vec![json!({"projects": [project("top", "organizations/1", "ACTIVE")]})],
                ),
            ),
            (
                "folders/10".to_string(),
                (
                    vec![json!({"folders": [folder("12", "folders/10")]})],
                    vec![json!({})],
                ),
            ),
            ("folders/11".to_string(), (vec![json!({})], vec![json!({})])),
            (
                "folders/12".to_string(),
                (
                    vec![json!({})],
                    vec![json!({"projects": [
                        project("deep", "folders/12", "ACTIVE"),
                        project("gone", "folders/12", "DELETE_REQUESTED")]})],
                ),
            ),
        ]);
        let w = run(&["organizations/1"], tree);
        assert_eq!(ids(&w), ["deep", "gone", "top"]);
        assert!(w.failures.is_empty(), "{:?}", w.failures);
        assert_eq!(w.nodes, 4);
        let deep = &w.projects[0];
        let path: Vec<&str> = deep.path.iter().map(|n| n.name.as_str()).collect();
        assert_eq!(path, ["organizations/1", "folders/10", "folders/12"]);
        assert_eq!(deep.path[2].display_name.as_deref(), Some("f12"));
        assert!(deep.active());
        assert!(!w.projects[1].active());
    }

    #[test]
    fn a_cycle_is_reported_and_walked_once() {
        let tree = BTreeMap::from([
            (
                "folders/1".to_string(),
                (
                    vec![json!({"folders": [folder("2", "folders/1")]})],
                    vec![json!({"projects": [project("a", "folders/1", "ACTIVE")]})],
                ),
            ),
            (
                "folders/2".to_string(),
                (
                    // folders/1 again, below its own child.
                    vec![json!({"folders": [folder("1", "folders/2"), folder("2", "folders/2")]})],
                    vec![
                        json!({"projects": [project("a", "folders/2", "ACTIVE"), project("b", "folders/2", "ACTIVE")]}),
                    ],
                ),
            ),
        ]);
        let w = run(&["folders/1"], tree);
        assert_eq!(ids(&w), ["a", "b"]);
        assert_eq!(w.nodes, 2);
        assert_eq!(w.failures.len(), 1);
        assert_eq!(w.failures[0].node, "folders/2");
        let text: Vec<String> = w.failures[0].errors.iter().map(|e| e.to_string()).collect();
        assert_eq!(text.len(), 2, "{text:?}");
        assert!(
            text[0].contains("folders/1 is listed below itself"),
            "{text:?}"
        );
        assert!(
            text[1].contains("folders/2 is listed below itself"),
            "{text:?}"
        );
        // The project listed under both folders keeps the first path.
        assert_eq!(w.projects[0].path.len(), 1);
    }

    #[test]
    fn nesting_deeper_than_the_limit_is_refused() {
        // A chain of 14 folders, each the only child of the one before.
        let mut tree = BTreeMap::new();
        for i in 0..14 {
            tree.insert(
                format!("folders/{}", 100 + i),
                (
                    vec![json!({"folders": [folder(&(101 + i).to_string(), "x")]})],
                    vec![json!({"projects": [project(&format!("p{i}"), "x", "ACTIVE")]})],
                ),
            );
        }
        let w = run(&["organizations/9"], {
            tree.insert(
                "organizations/9".to_string(),
                (
                    vec![json!({"folders": [folder("100", "organizations/9")]})],
                    vec![json!({})],
                ),
            );
            tree
        });
        // The root and 10 folder levels are listed, no more.
        assert_eq!(w.nodes, 1 + MAX_FOLDER_DEPTH);
        assert_eq!(w.projects.len(), MAX_FOLDER_DEPTH);
        assert_eq!(w.failures.len(), 1);
        let text = w.failures[0].errors[0].to_string();
        assert!(
            text.contains("more than 10 folder levels below organizations/9"),
            "{text}"
        );
    }

    #[test]
    fn malformed_pages_and_denied_nodes_fail_that_node_only() {
        let tree = BTreeMap::from([
            (
                "organizations/1".to_string(),
                (
                    vec![json!({"folders": [
                        folder("2", "organizations/1"),
                        {"displayName": "no name"},
                        {"name": "projects/5"},
                        folder("3", "organizations/1")]})],
                    vec![
                        json!({"projects": {"not": "a list"}}),
                        json!("not an object"),
                        json!({"projects": [project("ok", "organizations/1", "ACTIVE"), {"name": "projects/7"}]}),
                    ],
                ),
            ),
            // folders/2 is not in the tree: its listing is denied.
            (
                "folders/3".to_string(),
                (
                    vec![json!({})],
                    vec![json!({"projects": [project("three", "folders/3", "ACTIVE")]})],
                ),
            ),
        ]);
        let w = run(&["organizations/1"], tree);
        assert_eq!(ids(&w), ["ok", "three"]);
        let failed: Vec<&str> = w.failures.iter().map(|f| f.node.as_str()).collect();
        assert_eq!(failed, ["folders/2", "organizations/1"]);
        let org: Vec<String> = w.failures[1].errors.iter().map(|e| e.to_string()).collect();
        assert_eq!(org.len(), 5, "{org:?}");
        assert!(org.iter().any(|e| e.contains("has no `name`")), "{org:?}");
        assert!(org.iter().any(|e| e.contains("not folders/ID")), "{org:?}");
        assert!(org.iter().any(|e| e.contains("is not a list")), "{org:?}");
        assert!(
            org.iter().any(|e| e.contains("not a JSON object")),
            "{org:?}"
        );
        assert!(org.iter().any(|e| e.contains("no `projectId`")), "{org:?}");
    }

    #[test]
    fn roots_are_parsed_from_ids_or_names() {
        assert_eq!(
            root_name("organizations", "123").as_deref(),
            Ok("organizations/123")
        );
        assert_eq!(
            root_name("folders", " folders/45 ").as_deref(),
            Ok("folders/45")
        );
        assert!(root_name("folders", "organizations/1").is_err());
        assert!(root_name("organizations", "acme").is_err());
        assert!(root_name("folders", "").is_err());
    }
}
