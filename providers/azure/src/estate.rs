//! `--management-group`: the subscriptions below management groups, at any depth.
//!
//! One paged `managementGroups.getDescendants` per group lists every management group and
//! subscription below it, each with its parent group (the descendants list is flat and paged by
//! `nextLink`, where `GET managementGroups/{id}?$expand=children&$recurse=true` returns the whole
//! tree in one unpaged body). Each subscription's `state` is then read with `subscriptions.get`:
//! `Enabled`, `Warned` and `PastDue` subscriptions are scanned (Azure keeps a warned or past-due
//! subscription's resources running and usable: it is live estate), and `Disabled` or `Deleted`
//! ones (resources deallocated) are a failed `subscription` coverage entry that says so, as a
//! suspended AWS account is. A group that cannot be read is a failed `management` coverage entry naming the action the
//! call needs; the other groups are still scanned.

use crate::client::Arm;
use crate::collect::{self, Descendant, MANAGEMENT_GROUP_PREFIX};
use crate::error::{CollectError, FailureKind};
use cloudscan_collect::coverage::CoverageLog;
use cloudscan_collect::scan::{Progress, ProgressFn, Shard};
use cloudscan_inventory::{Coverage, CoverageStatus};
use futures::future::join_all;
use std::collections::BTreeMap;

/// The subscription state assumed when `subscriptions.get` gives none (`SubscriptionState`).
pub const ENABLED: &str = "Enabled";

/// The subscription states whose resources run and are scanned: `Warned` and `PastDue` are
/// billing states of a subscription that is still active.
pub const SCANNED_STATES: [&str; 3] = [ENABLED, "Warned", "PastDue"];

/// What the management groups hold.
#[derive(Debug, Default)]
pub struct Below {
    /// Enabled subscriptions to scan (this shard's), in id order.
    pub scan: Vec<String>,
    /// Display names of the subscriptions to scan.
    pub names: BTreeMap<String, Option<String>>,
    /// The groups read (complete or not), the subscriptions not scanned and why.
    pub coverage: Vec<Coverage>,
}

/// One subscription found below a group: its id and the group path from the scanned group
/// down to its parent (`root/platform`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Found {
    pub id: String,
    pub path: String,
}

/// The subscriptions among `items` (the descendants of `group`), each with its group path.
/// A subscription whose parent chain does not lead back to `group` keeps the parent it names.
pub fn subscriptions_below(group: &str, items: &[Descendant]) -> Vec<Found> {
    let parents: BTreeMap<String, String> = items
        .iter()
        .filter(|d| !d.is_subscription())
        .filter_map(|d| Some((d.name.to_lowercase(), d.parent_group()?)))
        .collect();
    let mut out = Vec::new();
    for d in items.iter().filter(|d| d.is_subscription()) {
        let id = d.subscription_id();
        if id.is_empty() || !id.chars().all(|c| c.is_ascii_alphanumeric() || c == '-') {
            continue;
        }
        let mut chain = Vec::new();
        let mut at = d.parent_group();
        // Bounded: a malformed answer could name a cycle.
        while let Some(name) = at.take() {
            if chain.len() > items.len()
                || chain.iter().any(|c: &String| c.eq_ignore_ascii_case(&name))
            {
                break;
            }
            let up = if name.eq_ignore_ascii_case(group) {
                None
            } else {
                parents.get(&name.to_lowercase()).cloned()
            };
            chain.push(name);
            at = up;
        }
        if chain
            .last()
            .is_none_or(|top| !top.eq_ignore_ascii_case(group))
        {
            chain.push(group.to_string());
        }
        chain.reverse();
        out.push(Found {
            id,
            path: chain.join("/"),
        });
    }
    out
}

/// Whether a descendant is a management group (`Microsoft.Management/managementGroups`; the
/// spec's examples also write `/providers/Microsoft.Management/managementGroups`).
fn is_group(d: &Descendant) -> bool {
    d.kind.as_deref().is_some_and(|k| {
        k.to_ascii_lowercase()
            .trim_end_matches('/')
            .ends_with("microsoft.management/managementgroups")
    })
}

/// The descendants that are neither a management group nor a subscription (no `type`, or one
/// the API does not document): what they hold is unknown, so each is an error of the group's
/// listing rather than a group whose subscriptions silently go unscanned.
pub fn unknown_descendants(group: &str, items: &[Descendant]) -> Vec<CollectError> {
    items
        .iter()
        .filter(|d| !d.is_subscription() && !is_group(d))
        .map(|d| {
            let what = match d.kind.as_deref() {
                None | Some("") => "has no `type`".to_string(),
                Some(kind) => format!("has the type `{kind}`"),
            };
            CollectError::new(
                "management descendants.list",
                &format!("{MANAGEMENT_GROUP_PREFIX}{group}"),
                FailureKind::Malformed,
                format!(
                    "the descendant `{}` {what}, neither a management group nor a subscription: not scanned",
                    d.id
                ),
            )
        })
        .collect()
}

/// Lists the descendants of every group, keeps this shard's subscriptions, and reads their
/// states.
pub async fn below_groups(
    arm: &Arm,
    groups: &[String],
    shard: Option<Shard>,
    progress: &ProgressFn,
) -> Below {
    let mut below = Below::default();
    let listed = join_all(groups.iter().map(|g| collect::descendants(arm, g))).await;
    // By lower-cased subscription id: the first group path found.
    let mut found: BTreeMap<String, Found> = BTreeMap::new();
    for (group, result) in groups.iter().zip(listed) {
        let mut log = CoverageLog::new(&format!("{MANAGEMENT_GROUP_PREFIX}{group}"));
        match result {
            Ok((items, mut errors)) => {
                errors.extend(unknown_descendants(group, &items));
                progress(Progress::Done {
                    task: format!("management {group}"),
                    ok: errors.is_empty(),
                });
                log.record("management", "global", &errors, true);
                for f in subscriptions_below(group, &items) {
                    found.entry(f.id.to_lowercase()).or_insert(f);
                }
            }
            Err(e) => {
                progress(Progress::Done {
                    task: format!("management {group}"),
                    ok: false,
                });
                log.record("management", "global", &[e], false);
            }
        }
        below.coverage.extend(log.into_entries());
    }
    // `--shard I/N` splits the subscriptions found (each in exactly one shard).
    let mine: Vec<Found> = found
        .into_values()
        .filter(|f| shard.is_none_or(|s| s.selects(&f.id)))
        .collect();
    let states = join_all(mine.iter().map(|f| collect::subscription(arm, &f.id))).await;
    for (f, state) in mine.into_iter().zip(states) {
        let mut log = CoverageLog::new(&f.id);
        match state {
            Ok(s) => {
                let state = s.state.clone().unwrap_or_else(|| ENABLED.to_string());
                if SCANNED_STATES.iter().any(|x| state.eq_ignore_ascii_case(x)) {
                    below.names.insert(f.id.clone(), s.display_name.clone());
                    below.scan.push(f.id);
                    continue;
                }
                log.push(
                    "subscription",
                    "global",
                    CoverageStatus::Failed,
                    Some(format!(
                        "not scanned: the subscription{} below management group {} is {state}, not {} (resources subscriptions.get properties.state)",
                        s.display_name
                            .as_deref()
                            .map(|n| format!(" `{n}`"))
                            .unwrap_or_default(),
                        f.path,
                        SCANNED_STATES.join(", ")
                    )),
                );
            }
            Err(e) => {
                log.push(
                    "subscription",
                    "global",
                    e.coverage_status(),
                    Some(format!(
                        "not scanned: the state of the subscription below management group {} could not be read: {e}",
                        f.path
                    )),
                );
            }
        }
        below.coverage.extend(log.into_entries());
    }
    below.scan.sort();
    below
}

#[cfg(test)]
mod tests {
    use super::*;

    fn item(kind: &str, name: &str, parent: &str) -> Descendant {
        serde_json::from_value(serde_json::json!({
            "id": format!("/x/{name}"), "name": name, "type": kind,
            "properties": {"parent": {"id": format!("{MANAGEMENT_GROUP_PREFIX}{parent}")}}
        }))
        .expect("descendant")
    }

    const MG: &str = "Microsoft.Management/managementGroups";
    const SUB: &str = "Microsoft.Management/managementGroups/subscriptions";

    #[test]
    fn subscriptions_carry_their_group_path_at_any_depth() {
        let items = vec![
            item(MG, "workloads", "root"),
            item(MG, "dev", "workloads"),
            item(SUB, "s-1", "dev"),
            item(SUB, "s-2", "root"),
            item("/subscriptions", "s-3", "workloads"),
        ];
        let found = subscriptions_below("root", &items);
        let paths: Vec<(&str, &str)> = found
            .iter()
            .map(|f| (f.id.as_str(), f.path.as_str()))
            .collect();
        assert_eq!(
            paths,
            [
                ("s-1", "root/workloads/dev"),
                ("s-2", "root"),
                ("s-3", "root/workloads")
            ]
        );
    }

    #[test]
    fn a_cycle_or_a_bad_id_does_not_hang_or_escape() {
        let items = vec![
            item(MG, "a", "b"),
            item(MG, "b", "a"),
            item(SUB, "s-1", "a"),
            item(SUB, "../x", "a"),
        ];
        let found = subscriptions_below("root", &items);
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].id, "s-1");
        assert!(found[0].path.starts_with("root/"), "{}", found[0].path);
    }

    #[test]
    fn a_descendant_without_a_known_type_is_an_error_not_a_group() {
        let mut untyped = item(SUB, "s-9", "root");
        untyped.kind = None;
        let items = vec![
            item(MG, "dev", "root"),
            item(SUB, "s-1", "dev"),
            untyped,
            item("Microsoft.Resources/resourceGroups", "rg", "root"),
        ];
        let errors = unknown_descendants("root", &items);
        let text: Vec<String> = errors.iter().map(|e| e.to_string()).collect();
        assert_eq!(text.len(), 2, "{text:?}");
        assert!(text[0].contains("management descendants.list"), "{text:?}");
        assert!(text[0].contains("`/x/s-9` has no `type`"), "{text:?}");
        assert!(
            text[1].contains("has the type `Microsoft.Resources/resourceGroups`"),
            "{text:?}"
        );
        assert!(errors.iter().all(|e| e.kind == FailureKind::Malformed));
        // The typed ones are still found.
        let found = subscriptions_below("root", &items);
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].path, "root/dev");
    }

    #[test]
    fn group_names_and_ids_are_checked() {
        assert_eq!(
            collect::group_name("mg-platform").as_deref(),
            Some("mg-platform")
        );
        assert_eq!(
            collect::group_name("/providers/Microsoft.Management/managementGroups/Contoso (EU)")
                .as_deref(),
            None
        );
        assert_eq!(
            collect::group_name("/providers/microsoft.management/managementgroups/root.1/")
                .as_deref(),
            Some("root.1")
        );
        for bad in ["", "a/b", "..", "x?y", "end.", "a b"] {
            assert_eq!(collect::group_name(bad), None, "{bad}");
        }
    }
}
