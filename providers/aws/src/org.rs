//! AWS Organizations: the accounts of the organization, each account's place in the tree (root,
//! OUs, account) and the service and resource control policies attached at every level.
//!
//! Collection ([`collect`]) reads each fact once and pays per parent and per policy, never per
//! account: the tree is walked from the roots (`ListOrganizationalUnitsForParent` and
//! `ListAccountsForParent` on each root and OU give every OU's name and every account with its
//! parent and status), the policies of each enabled type are listed once (`ListPolicies`) with
//! the targets of each (`ListTargetsForPolicy`), and each attached policy is described once.
//! Building ([`build`]) is pure and turns the raw records into [`Organization`].

use crate::collect::{call, every_page, Limiter, FAN_OUT};
use crate::error::CollectError;
use crate::normalize::decode_policy;
use aws_sdk_organizations::types::PolicyType;
use cloudscan_collect::scan::Shard;
use cloudscan_inventory::{OrgAccount, OrgNode, OrgPolicy, Organization};
use futures::stream::{self, StreamExt};
use std::collections::{BTreeMap, BTreeSet};

pub const SCP: &str = "SERVICE_CONTROL_POLICY";
pub const RCP: &str = "RESOURCE_CONTROL_POLICY";

/// AWS allows five levels of OUs under the root; a longer chain is a loop or a broken answer.
const MAX_DEPTH: usize = 8;

/// The largest page the Organizations list calls return (`MaxResults` 1 to 20).
const PAGE: i32 = 20;

#[derive(Debug, Clone, Default)]
pub struct RawRoot {
    pub id: String,
    pub name: Option<String>,
    /// Policy types whose status is ENABLED.
    pub enabled_types: Vec<String>,
}

#[derive(Debug, Clone, Default)]
pub struct RawAccount {
    pub id: String,
    pub name: Option<String>,
    pub status: Option<String>,
}

#[derive(Debug, Clone, Default)]
pub struct RawOrgPolicy {
    pub id: String,
    pub arn: Option<String>,
    pub name: String,
    /// The API's policy type (`SERVICE_CONTROL_POLICY`, ...).
    pub policy_type: String,
    pub aws_managed: bool,
    /// The `Content` string, when DescribePolicy answered.
    pub content: Option<String>,
    /// Why the policy could not be described.
    pub error: Option<String>,
}

/// Everything read from Organizations.
#[derive(Debug, Clone, Default)]
pub struct RawOrg {
    pub id: String,
    pub management_account: Option<String>,
    pub roots: Vec<RawRoot>,
    pub accounts: Vec<RawAccount>,
    /// Child (account or OU id) -> (parent id, `root` or `ou`).
    pub parents: BTreeMap<String, (String, String)>,
    /// OU id -> name (None when DescribeOrganizationalUnit failed).
    pub ou_names: BTreeMap<String, Option<String>>,
    /// (target id, policy type) -> attached policy ids. A missing key: could not be read.
    pub attachments: BTreeMap<(String, String), Vec<String>>,
    pub policies: BTreeMap<String, RawOrgPolicy>,
}

/// Reads the organization. `Err` when it cannot be read at all (DescribeOrganization, ListRoots,
/// or the walk of the tree failed: an OU or root whose children cannot be listed hides accounts,
/// and an account the scan does not know of is neither scanned nor reported): then no guardrail
/// is known. Otherwise the errors of the parts that could not be read (a policy type whose
/// attachments stay unknown, a policy whose content is unknown).
pub async fn collect(
    client: &aws_sdk_organizations::Client,
    limiter: &Limiter,
) -> Result<(RawOrg, Vec<CollectError>), CollectError> {
    let out = call!(
        limiter,
        "organizations:DescribeOrganization",
        client.describe_organization().send()
    )
    .map_err(needs("organizations:DescribeOrganization"))?;
    let org = out.organization().ok_or_else(|| {
        CollectError::malformed(
            "organizations:DescribeOrganization",
            "",
            "the response has no Organization",
        )
    })?;
    let mut raw = RawOrg {
        id: org.id().unwrap_or_default().to_string(),
        management_account: org.master_account_id().map(str::to_string),
        ..Default::default()
    };

    let roots = every_page(
        client.list_roots().into_paginator().send(),
        limiter,
        "organizations:ListRoots",
        |p| p.next_token(),
    )
    .await
    .map_err(needs("organizations:ListRoots"))?;
    for page in roots {
        for root in page.roots() {
            let Some(id) = root.id() else { continue };
            raw.roots.push(RawRoot {
                id: id.to_string(),
                name: root.name().map(str::to_string),
                enabled_types: root
                    .policy_types()
                    .iter()
                    .filter(|t| t.status().is_some_and(|s| s.as_str() == "ENABLED"))
                    .filter_map(|t| t.r#type().map(|t| t.as_str().to_string()))
                    .collect(),
            });
        }
    }

    let mut errors = Vec::new();
    walk_tree(client, limiter, &mut raw, &mut errors).await?;

    // The control policies of every enabled type, each with its targets.
    let mut targets: Vec<String> = raw.roots.iter().map(|r| r.id.clone()).collect();
    targets.extend(raw.ou_names.keys().cloned());
    targets.extend(raw.accounts.iter().map(|a| a.id.clone()));
    for kind in [SCP, RCP] {
        let enabled = raw
            .roots
            .iter()
            .any(|r| r.enabled_types.iter().any(|t| t == kind));
        if !enabled {
            // A policy type that is not enabled has nothing attached (disabling a type detaches
            // its policies) and no effect.
            for t in &targets {
                raw.attachments
                    .insert((t.clone(), kind.to_string()), Vec::new());
            }
            continue;
        }
        match policy_targets(client, limiter, kind).await {
            Ok((policies, mut errs)) => {
                let complete = errs.is_empty();
                errors.append(&mut errs);
                let mut attached: BTreeMap<&str, Vec<String>> = BTreeMap::new();
                for (policy, on) in &policies {
                    for target in on {
                        attached
                            .entry(target.as_str())
                            .or_default()
                            .push(policy.id.clone());
                    }
                }
                if complete {
                    // Every policy's targets are known: a target no policy names has none.
                    for t in &targets {
                        let mut ids = attached.get(t.as_str()).cloned().unwrap_or_default();
                        ids.sort();
                        ids.dedup();
                        raw.attachments.insert((t.clone(), kind.to_string()), ids);
                    }
                }
                // Only the policies attached somewhere in the tree matter (and are described).
                let known: BTreeSet<&str> = targets.iter().map(String::as_str).collect();
                for (policy, on) in policies {
                    if on.iter().any(|t| known.contains(t.as_str())) {
                        raw.policies.entry(policy.id.clone()).or_insert(policy);
                    }
                }
            }
            // Listing a type that is not enabled: nothing of it is attached.
            Err(e) if e.code.as_deref() == Some("PolicyTypeNotEnabledException") => {
                for t in &targets {
                    raw.attachments
                        .insert((t.clone(), kind.to_string()), Vec::new());
                }
            }
            Err(mut e) => {
                e.target = kind.to_string();
                errors.push(e);
            }
        }
    }

    // Each policy once.
    let ids: Vec<String> = raw.policies.keys().cloned().collect();
    let described: Vec<(String, Result<Option<String>, CollectError>)> = stream::iter(ids)
        .map(|id| async move {
            let result = call!(
                limiter,
                "organizations:DescribePolicy",
                client.describe_policy().policy_id(&id).send()
            )
            .map(|out| out.policy().and_then(|p| p.content()).map(str::to_string));
            (id, result)
        })
        .buffer_unordered(FAN_OUT)
        .collect()
        .await;
    for (id, result) in described {
        let Some(policy) = raw.policies.get_mut(&id) else {
            continue;
        };
        match result {
            Ok(Some(content)) => policy.content = Some(content),
            Ok(None) => {
                policy.error = Some("DescribePolicy returned no Content".to_string());
            }
            Err(mut e) => {
                e.target = id.clone();
                let e = e.with_permission(Some("organizations:DescribePolicy"));
                policy.error = Some(e.to_string());
                errors.push(e);
            }
        }
    }
    Ok((raw, errors))
}

/// Names the permission a denied call needs (AWS's permission is the call's own name).
fn needs(permission: &'static str) -> impl Fn(CollectError) -> CollectError {
    move |e| e.with_permission(Some(permission))
}

/// The children of one root or OU: its OUs (id, name) and its accounts.
type Children = (Vec<(String, Option<String>)>, Vec<RawAccount>);

/// Walks the tree from the roots, level by level: `ListOrganizationalUnitsForParent` and
/// `ListAccountsForParent` on every root and OU. Fills the accounts, every account's and OU's
/// parent and the OU names. A parent whose children cannot be listed is an `Err` (the accounts
/// below it would be missing, not merely unknown). A child listed twice (under two parents, or
/// an OU that is its own ancestor) is a broken answer: an account listed under two parents
/// keeps no parent (its path, and so its guardrails, stay unknown), and an OU is walked once.
async fn walk_tree(
    client: &aws_sdk_organizations::Client,
    limiter: &Limiter,
    raw: &mut RawOrg,
    errors: &mut Vec<CollectError>,
) -> Result<(), CollectError> {
    let mut walked: BTreeSet<String> = raw.roots.iter().map(|r| r.id.clone()).collect();
    let mut frontier: Vec<(String, String)> = raw
        .roots
        .iter()
        .map(|r| (r.id.clone(), "root".to_string()))
        .collect();
    let mut accounts: BTreeMap<String, RawAccount> = BTreeMap::new();
    let mut ambiguous: BTreeSet<String> = BTreeSet::new();
    // The root's children, then five levels of OUs at most (AWS's limit); MAX_DEPTH leaves room.
    for _ in 0..=MAX_DEPTH {
        if frontier.is_empty() {
            break;
        }
        let listed: Vec<(String, String, Result<Children, CollectError>)> = stream::iter(frontier)
            .map(|(parent, kind)| async move {
                let result = children(client, limiter, &parent).await;
                (parent, kind, result)
            })
            .buffer_unordered(FAN_OUT)
            .collect()
            .await;
        let mut next = Vec::new();
        for (parent, kind, result) in listed {
            let (ous, found) = result?;
            for (ou, name) in ous {
                if !walked.insert(ou.clone()) {
                    errors.push(CollectError::malformed(
                        "organizations:ListOrganizationalUnitsForParent",
                        &parent,
                        format!("OU {ou} is listed twice in the tree"),
                    ));
                    raw.parents.remove(&ou);
                    continue;
                }
                raw.parents
                    .insert(ou.clone(), (parent.clone(), kind.clone()));
                raw.ou_names.insert(ou.clone(), name);
                next.push((ou, "ou".to_string()));
            }
            for account in found {
                if accounts.contains_key(&account.id) {
                    let same = (parent.clone(), kind.clone());
                    if raw.parents.get(&account.id) == Some(&same) {
                        // Listed twice by the same parent: the same fact.
                        continue;
                    }
                    if ambiguous.insert(account.id.clone()) {
                        errors.push(CollectError::malformed(
                            "organizations:ListAccountsForParent",
                            &parent,
                            format!("account {} is listed under two parents", account.id),
                        ));
                    }
                    continue;
                }
                raw.parents
                    .insert(account.id.clone(), (parent.clone(), kind.clone()));
                accounts.insert(account.id.clone(), account);
            }
        }
        frontier = next;
    }
    if let Some((ou, _)) = frontier.first() {
        return Err(CollectError::malformed(
            "organizations:ListOrganizationalUnitsForParent",
            ou,
            format!("the OU tree is deeper than {MAX_DEPTH} levels"),
        ));
    }
    for id in &ambiguous {
        raw.parents.remove(id);
    }
    raw.accounts = accounts.into_values().collect();
    Ok(())
}

/// Every page of a root's or OU's child OUs and accounts.
async fn children(
    client: &aws_sdk_organizations::Client,
    limiter: &Limiter,
    parent: &str,
) -> Result<Children, CollectError> {
    let target = |op: &'static str| {
        move |mut e: CollectError| {
            e.target = parent.to_string();
            e.with_permission(Some(op))
        }
    };
    let ou_pages = every_page(
        client
            .list_organizational_units_for_parent()
            .parent_id(parent)
            .max_results(PAGE)
            .into_paginator()
            .send(),
        limiter,
        "organizations:ListOrganizationalUnitsForParent",
        |p| p.next_token(),
    )
    .await
    .map_err(target("organizations:ListOrganizationalUnitsForParent"))?;
    let account_pages = every_page(
        client
            .list_accounts_for_parent()
            .parent_id(parent)
            .max_results(PAGE)
            .into_paginator()
            .send(),
        limiter,
        "organizations:ListAccountsForParent",
        |p| p.next_token(),
    )
    .await
    .map_err(target("organizations:ListAccountsForParent"))?;
    let ous = ou_pages
        .iter()
        .flat_map(|p| p.organizational_units())
        .filter_map(|u| Some((u.id()?.to_string(), u.name().map(str::to_string))))
        .collect();
    let accounts = account_pages
        .iter()
        .flat_map(|p| p.accounts())
        .filter_map(|a| {
            Some(RawAccount {
                id: a.id()?.to_string(),
                name: a.name().map(str::to_string),
                // `State` replaces the deprecated `Status`; either is kept as the API said it.
                status: a
                    .state()
                    .map(|s| s.as_str().to_string())
                    .or_else(|| a.status().map(|s| s.as_str().to_string())),
            })
        })
        .collect();
    Ok((ous, accounts))
}

/// The policies of one type, each with the ids of the roots, OUs and accounts it is attached
/// to (`ListPolicies`, then `ListTargetsForPolicy` per policy). `Err` when the policies cannot be
/// listed; the errors of policies whose targets could not be listed otherwise (those policies
/// are left out, and the caller must then treat the type's attachments as unknown).
async fn policy_targets(
    client: &aws_sdk_organizations::Client,
    limiter: &Limiter,
    kind: &str,
) -> Result<(Vec<(RawOrgPolicy, Vec<String>)>, Vec<CollectError>), CollectError> {
    let pages = every_page(
        client
            .list_policies()
            .filter(PolicyType::from(kind))
            .max_results(PAGE)
            .into_paginator()
            .send(),
        limiter,
        "organizations:ListPolicies",
        |p| p.next_token(),
    )
    .await
    .map_err(needs("organizations:ListPolicies"))?;
    let mut seen = BTreeSet::new();
    let policies: Vec<RawOrgPolicy> = pages
        .iter()
        .flat_map(|p| p.policies())
        .filter_map(|p| {
            Some(RawOrgPolicy {
                id: p.id()?.to_string(),
                arn: p.arn().map(str::to_string),
                name: p.name().unwrap_or_default().to_string(),
                policy_type: p
                    .r#type()
                    .map(|t| t.as_str().to_string())
                    .unwrap_or_else(|| kind.to_string()),
                aws_managed: p.aws_managed(),
                content: None,
                error: None,
            })
        })
        .filter(|p| seen.insert(p.id.clone()))
        .collect();
    let listed: Vec<(RawOrgPolicy, Result<Vec<String>, CollectError>)> = stream::iter(policies)
        .map(|policy| async move {
            let result = every_page(
                client
                    .list_targets_for_policy()
                    .policy_id(&policy.id)
                    .max_results(PAGE)
                    .into_paginator()
                    .send(),
                limiter,
                "organizations:ListTargetsForPolicy",
                |p| p.next_token(),
            )
            .await
            .map(|pages| {
                pages
                    .iter()
                    .flat_map(|p| p.targets())
                    .filter_map(|t| t.target_id().map(str::to_string))
                    .collect()
            })
            .map_err(|mut e| {
                e.target = policy.id.clone();
                e.with_permission(Some("organizations:ListTargetsForPolicy"))
            });
            (policy, result)
        })
        .buffer_unordered(FAN_OUT)
        .collect()
        .await;
    let mut out = Vec::new();
    let mut errors = Vec::new();
    for (policy, result) in listed {
        match result {
            Ok(targets) => out.push((policy, targets)),
            Err(e) => errors.push(e),
        }
    }
    out.sort_by(|a, b| a.0.id.cmp(&b.0.id));
    Ok((out, errors))
}

/// Decodes an SCP or RCP `Content` (a JSON policy document).
pub fn decode_org_policy(content: &str) -> Result<serde_json::Value, String> {
    let value = decode_policy(content)?;
    if value.get("Statement").is_none() {
        return Err("the document has no Statement".to_string());
    }
    Ok(value)
}

/// The path from the root to `account` (root first), or None when a parent is unknown, the
/// chain loops or is too deep.
pub fn path_of(raw: &RawOrg, account: &str) -> Option<Vec<OrgNode>> {
    let mut nodes = vec![OrgNode {
        id: account.to_string(),
        name: raw
            .accounts
            .iter()
            .find(|a| a.id == account)
            .and_then(|a| a.name.clone()),
        kind: "account".to_string(),
    }];
    let mut seen = BTreeSet::from([account.to_string()]);
    let mut current = account.to_string();
    for _ in 0..=MAX_DEPTH {
        let (parent, kind) = raw.parents.get(&current)?;
        if !seen.insert(parent.clone()) {
            return None;
        }
        let name = if kind == "root" {
            raw.roots
                .iter()
                .find(|r| &r.id == parent)
                .and_then(|r| r.name.clone())
        } else {
            raw.ou_names.get(parent).cloned().flatten()
        };
        nodes.push(OrgNode {
            id: parent.clone(),
            name,
            kind: kind.clone(),
        });
        if kind == "root" {
            nodes.reverse();
            return Some(nodes);
        }
        current = parent.clone();
    }
    None
}

/// The policies of one type attached at each level of `path`; None when any level is unknown.
fn levels(raw: &RawOrg, path: &[OrgNode], policy_type: &str) -> Option<Vec<Vec<String>>> {
    path.iter()
        .map(|node| {
            raw.attachments
                .get(&(node.id.clone(), policy_type.to_string()))
                .cloned()
        })
        .collect()
}

/// Builds the organization facts. Every account starts as not scanned; the scan marks the
/// accounts it scanned. Returns the policies whose content could not be decoded as errors.
pub fn build(raw: &RawOrg) -> (Organization, Vec<CollectError>) {
    let mut errors = Vec::new();
    let mut org = Organization {
        id: raw.id.clone(),
        management_account: raw.management_account.clone(),
        enabled_policy_types: raw
            .roots
            .first()
            .map(|r| r.enabled_types.clone())
            .unwrap_or_default(),
        ..Default::default()
    };
    org.enabled_policy_types.sort();
    for a in &raw.accounts {
        let path = path_of(raw, &a.id);
        let (scps, rcps) = match &path {
            Some(p) => (levels(raw, p, SCP), levels(raw, p, RCP)),
            None => (None, None),
        };
        org.accounts.push(OrgAccount {
            id: a.id.clone(),
            name: a.name.clone(),
            status: a.status.clone(),
            path: path.unwrap_or_else(|| {
                vec![OrgNode {
                    id: a.id.clone(),
                    name: a.name.clone(),
                    kind: "account".to_string(),
                }]
            }),
            scps,
            rcps,
            scanned: false,
            not_scanned_reason: None,
        });
    }
    for p in raw.policies.values() {
        let kind = match p.policy_type.as_str() {
            SCP => "scp",
            RCP => "rcp",
            other => other,
        };
        let mut policy = OrgPolicy {
            id: p.id.clone(),
            arn: p.arn.clone(),
            name: p.name.clone(),
            kind: kind.to_string(),
            aws_managed: p.aws_managed,
            document: None,
            error: p.error.clone(),
        };
        if let Some(content) = &p.content {
            match decode_org_policy(content) {
                Ok(doc) => policy.document = Some(doc),
                Err(e) => {
                    let message = format!("the policy content cannot be used: {e}");
                    errors.push(CollectError::malformed(
                        "organizations:DescribePolicy",
                        &p.id,
                        message.clone(),
                    ));
                    policy.error = Some(message);
                }
            }
        }
        org.policies.push(policy);
    }
    (org, errors)
}

/// Which accounts of the organization an organization scan covers.
#[derive(Debug, Clone, Default)]
pub struct AccountFilter {
    /// Only these (empty: all).
    pub only: Vec<String>,
    pub exclude: Vec<String>,
    pub shard: Option<Shard>,
}

/// The decision for the listed accounts.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Selection {
    /// Accounts to scan, in id order.
    pub scan: Vec<String>,
    /// (account, why not scanned, whether that leaves the scan incomplete).
    pub skipped: Vec<(String, String, bool)>,
    /// Accounts asked for with `--accounts` that the organization does not list.
    pub unknown: Vec<String>,
}

/// Chooses the accounts to scan: this shard's, narrowed by `--accounts` / `--exclude-accounts`,
/// and ACTIVE. An account that is wanted but not ACTIVE is skipped and leaves the scan
/// incomplete; one left out on purpose does not.
pub fn select(accounts: &[OrgAccount], filter: &AccountFilter) -> Selection {
    let mut out = Selection::default();
    for a in accounts {
        let id = a.id.as_str();
        if let Some(shard) = filter.shard.filter(|s| !s.selects(id)) {
            out.skipped.push((
                id.to_string(),
                format!("scanned by another shard than {shard} (--shard)"),
                false,
            ));
        } else if !filter.only.is_empty() && !filter.only.iter().any(|o| o == id) {
            out.skipped
                .push((id.to_string(), "not in --accounts".to_string(), false));
        } else if filter.exclude.iter().any(|x| x == id) {
            out.skipped.push((
                id.to_string(),
                "excluded by --exclude-accounts".to_string(),
                false,
            ));
        } else if let Some(status) = a.status.as_deref().filter(|s| *s != "ACTIVE") {
            out.skipped.push((
                id.to_string(),
                format!("the account is {status}, not ACTIVE"),
                true,
            ));
        } else {
            out.scan.push(id.to_string());
        }
    }
    out.scan.sort();
    for wanted in &filter.only {
        let in_shard = filter.shard.is_none_or(|s| s.selects(wanted));
        if in_shard && !accounts.iter().any(|a| &a.id == wanted) && !out.unknown.contains(wanted) {
            out.unknown.push(wanted.clone());
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn raw() -> RawOrg {
        let mut raw = RawOrg {
            id: "o-abc".into(),
            management_account: Some("111111111111".into()),
            roots: vec![RawRoot {
                id: "r-root".into(),
                name: Some("Root".into()),
                enabled_types: vec![SCP.into()],
            }],
            accounts: vec![
                RawAccount {
                    id: "111111111111".into(),
                    name: Some("mgmt".into()),
                    status: Some("ACTIVE".into()),
                },
                RawAccount {
                    id: "222222222222".into(),
                    name: Some("prod".into()),
                    status: Some("ACTIVE".into()),
                },
            ],
            ..Default::default()
        };
        raw.parents
            .insert("111111111111".into(), ("r-root".into(), "root".into()));
        raw.parents
            .insert("222222222222".into(), ("ou-b".into(), "ou".into()));
        raw.parents
            .insert("ou-b".into(), ("ou-a".into(), "ou".into()));
        raw.parents
            .insert("ou-a".into(), ("r-root".into(), "root".into()));
        raw.ou_names.insert("ou-a".into(), Some("Workloads".into()));
        raw.ou_names.insert("ou-b".into(), Some("Prod".into()));
        for t in ["r-root", "ou-a", "ou-b", "111111111111", "222222222222"] {
            raw.attachments
                .insert((t.into(), SCP.into()), vec!["p-FullAWSAccess".into()]);
            raw.attachments.insert((t.into(), RCP.into()), vec![]);
        }
        raw.attachments.insert(
            ("ou-b".into(), SCP.into()),
            vec!["p-deny".into(), "p-FullAWSAccess".into()],
        );
        raw
    }

    #[test]
    fn paths_run_from_the_root_to_the_account() {
        let raw = raw();
        let path = path_of(&raw, "222222222222").expect("path");
        let ids: Vec<&str> = path.iter().map(|n| n.id.as_str()).collect();
        assert_eq!(ids, ["r-root", "ou-a", "ou-b", "222222222222"]);
        let kinds: Vec<&str> = path.iter().map(|n| n.kind.as_str()).collect();
        assert_eq!(kinds, ["root", "ou", "ou", "account"]);
        assert_eq!(path[1].name.as_deref(), Some("Workloads"));
        assert_eq!(path[3].name.as_deref(), Some("prod"));
        let (org, errors) = build(&raw);
        assert!(errors.is_empty());
        let prod = org.account("222222222222").expect("prod");
        let scps = prod.scps.clone().expect("scps known");
        assert_eq!(scps.len(), 4);
        assert_eq!(scps[2], ["p-deny", "p-FullAWSAccess"]);
        assert_eq!(prod.rcps.clone().expect("rcps").len(), 4);
        assert_eq!(org.enabled_policy_types, [SCP]);
    }

    #[test]
    fn unknown_parent_or_loop_leaves_the_guardrails_unknown() {
        let mut raw = raw();
        raw.parents.remove("ou-a");
        assert!(path_of(&raw, "222222222222").is_none());
        let (org, _) = build(&raw);
        let prod = org.account("222222222222").expect("prod");
        assert_eq!(prod.scps, None);
        assert_eq!(prod.path.len(), 1);
        // A loop between two OUs.
        raw.parents
            .insert("ou-a".into(), ("ou-b".into(), "ou".into()));
        assert!(path_of(&raw, "222222222222").is_none());
        // One level whose attachments could not be read makes that account's SCPs unknown.
        let mut raw = self::raw();
        raw.attachments
            .remove(&("ou-a".to_string(), SCP.to_string()));
        let (org, _) = build(&raw);
        assert_eq!(
            org.account("222222222222").and_then(|a| a.scps.clone()),
            None
        );
        assert!(org
            .account("111111111111")
            .and_then(|a| a.scps.clone())
            .is_some());
    }

    #[test]
    fn malformed_policy_content_is_an_error_not_a_document() {
        let mut raw = raw();
        for (id, content) in [
            (
                "p-FullAWSAccess",
                r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}"#,
            ),
            ("p-deny", "{not json"),
            ("p-list", "[1,2]"),
            ("p-nostmt", r#"{"Version":"2012-10-17"}"#),
        ] {
            raw.policies.insert(
                id.into(),
                RawOrgPolicy {
                    id: id.into(),
                    name: id.into(),
                    policy_type: SCP.into(),
                    content: Some(content.into()),
                    ..Default::default()
                },
            );
        }
        let (org, errors) = build(&raw);
        assert_eq!(errors.len(), 3, "{errors:?}");
        let good = org.policy("p-FullAWSAccess").expect("policy");
        assert!(good.document.is_some() && good.error.is_none());
        assert_eq!(good.kind, "scp");
        for bad in ["p-deny", "p-list", "p-nostmt"] {
            let p = org.policy(bad).expect("policy");
            assert!(p.document.is_none(), "{bad}");
            assert!(
                p.error
                    .as_deref()
                    .is_some_and(|e| e.contains("cannot be used")),
                "{bad}"
            );
        }
        assert!(errors
            .iter()
            .all(|e| e.operation == "organizations:DescribePolicy"));
    }

    fn account(id: &str, status: &str) -> OrgAccount {
        OrgAccount {
            id: id.into(),
            status: Some(status.into()),
            ..Default::default()
        }
    }

    #[test]
    fn accounts_are_filtered_by_list_exclusion_status_and_shard() {
        let accounts = vec![
            account("111111111111", "ACTIVE"),
            account("222222222222", "ACTIVE"),
            account("333333333333", "SUSPENDED"),
            account("444444444444", "ACTIVE"),
        ];
        let all = select(&accounts, &AccountFilter::default());
        assert_eq!(all.scan, ["111111111111", "222222222222", "444444444444"]);
        assert_eq!(
            all.skipped,
            [(
                "333333333333".to_string(),
                "the account is SUSPENDED, not ACTIVE".to_string(),
                true
            )]
        );
        let some = select(
            &accounts,
            &AccountFilter {
                only: vec![
                    "222222222222".into(),
                    "444444444444".into(),
                    "999999999999".into(),
                ],
                exclude: vec!["444444444444".into()],
                shard: None,
            },
        );
        assert_eq!(some.scan, ["222222222222"]);
        assert_eq!(some.unknown, ["999999999999"]);
        // Left out on purpose: not incomplete.
        assert!(some.skipped.iter().all(|(_, _, incomplete)| !incomplete));
        // Shards split the accounts with no overlap and nothing lost.
        let mut union = Vec::new();
        for index in 0..3 {
            let s = select(
                &accounts,
                &AccountFilter {
                    shard: Some(Shard { index, count: 3 }),
                    ..Default::default()
                },
            );
            union.extend(s.scan.clone());
            union.extend(
                s.skipped
                    .iter()
                    .filter(|(_, r, _)| !r.contains("shard"))
                    .map(|(id, _, _)| id.clone()),
            );
        }
        union.sort();
        assert_eq!(
            union,
            [
                "111111111111",
                "222222222222",
                "333333333333",
                "444444444444"
            ]
        );
    }
}
