//! AWS Organizations normalization (`providers/aws/src/org.rs`): what the collector read (roots,
//! accounts, the parent of every account and OU, OU names, the policies attached to each
//! target, the policies' `Content`), as a JSON object, built into the organization facts
//! (`org::build`: every account's path to the root, the SCP and RCP levels, each policy document
//! decoded), the account selection of an organization scan (`org::select` with `--accounts`,
//! `--exclude-accounts` and `--shard` from the input), then the access stage on an inventory
//! that holds the organization (SCP and RCP guardrails on the identities' permissions).
//!
//! The raw records are the output of the SDK's deserializers (not instrumented); what is fuzzed
//! is everything cloudscan does with their values: ids that loop, point nowhere or nest too
//! deep, policy contents that are not JSON, URL-encoded, or lack a Statement.
#![no_main]
use cloudscan_aws::org::{self, AccountFilter, RawAccount, RawOrg, RawOrgPolicy, RawRoot};
use cloudscan_collect::scan::Shard;
use libfuzzer_sys::fuzz_target;
use serde::Deserialize;
use std::collections::BTreeMap;

#[derive(Deserialize, Default)]
#[serde(default)]
struct Input {
    id: String,
    management_account: Option<String>,
    roots: Vec<Root>,
    accounts: Vec<Account>,
    /// child -> [parent, "root" | "ou"]
    parents: BTreeMap<String, (String, String)>,
    ou_names: BTreeMap<String, Option<String>>,
    /// [target, policy type, [policy ids]]
    attachments: Vec<(String, String, Vec<String>)>,
    policies: Vec<Policy>,
    /// The organization scan's filters.
    only: Vec<String>,
    exclude: Vec<String>,
    shard: Option<String>,
    /// An identity policy the guardrails apply to (access stage).
    identity_policy: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct Root {
    id: String,
    name: Option<String>,
    enabled_types: Vec<String>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct Account {
    id: String,
    name: Option<String>,
    status: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct Policy {
    id: String,
    arn: Option<String>,
    name: String,
    policy_type: String,
    aws_managed: bool,
    content: Option<String>,
    error: Option<String>,
}

fuzz_target!(|data: &[u8]| {
    let Ok(input) = serde_json::from_slice::<Input>(data) else {
        return;
    };
    let raw = RawOrg {
        id: input.id,
        management_account: input.management_account,
        roots: input
            .roots
            .into_iter()
            .map(|r| RawRoot {
                id: r.id,
                name: r.name,
                enabled_types: r.enabled_types,
            })
            .collect(),
        accounts: input
            .accounts
            .into_iter()
            .map(|a| RawAccount {
                id: a.id,
                name: a.name,
                status: a.status,
            })
            .collect(),
        parents: input.parents,
        ou_names: input.ou_names,
        attachments: input
            .attachments
            .into_iter()
            .map(|(target, kind, ids)| ((target, kind), ids))
            .collect(),
        policies: input
            .policies
            .into_iter()
            .map(|p| {
                (
                    p.id.clone(),
                    RawOrgPolicy {
                        id: p.id,
                        arn: p.arn,
                        name: p.name,
                        policy_type: p.policy_type,
                        aws_managed: p.aws_managed,
                        content: p.content,
                        error: p.error,
                    },
                )
            })
            .collect(),
    };
    for p in raw.policies.values() {
        if let Some(content) = &p.content {
            let _ = org::decode_org_policy(content);
        }
    }
    let (organization, errors) = org::build(&raw);
    // Every account is in the facts, with a path that ends at itself; a known path starts at a
    // root. An account whose path is unknown has no guardrail levels (never an empty "none").
    assert_eq!(organization.accounts.len(), raw.accounts.len());
    for (account, built) in raw.accounts.iter().zip(&organization.accounts) {
        assert_eq!(
            built.path.last().map(|n| n.id.as_str()),
            Some(account.id.as_str())
        );
        let known = org::path_of(&raw, &account.id).is_some();
        if !known {
            assert!(built.scps.is_none() && built.rcps.is_none());
        }
        if let Some(levels) = &built.scps {
            assert_eq!(levels.len(), built.path.len());
        }
    }
    let _ = errors.len();

    let shard = match input.shard.as_deref().map(Shard::parse) {
        Some(Ok(shard)) => Some(shard),
        Some(Err(_)) => return,
        None => None,
    };
    let filter = AccountFilter {
        only: input.only,
        exclude: input.exclude,
        shard,
    };
    let selection = org::select(&organization.accounts, &filter);
    assert!(
        selection.scan.len() + selection.skipped.len() == organization.accounts.len(),
        "every listed account is scanned or skipped"
    );

    // The access stage with the organization's guardrails over one role in one account.
    let scope = organization
        .accounts
        .first()
        .map(|a| a.id.clone())
        .unwrap_or_default();
    let mut inventory = cloudscan_inventory::Inventory::new(cloudscan_inventory::Provider::Aws);
    inventory.scopes.push(cloudscan_inventory::Scope {
        id: scope.clone(),
        ..Default::default()
    });
    if let Some(doc) = input
        .identity_policy
        .as_deref()
        .and_then(|d| serde_json::from_str::<serde_json::Value>(d).ok())
    {
        inventory.identities.push(cloudscan_inventory::Identity {
            id: format!("arn:aws:iam::{scope}:role/r"),
            name: "r".to_string(),
            kind: "role".to_string(),
            scope,
            policies: vec![cloudscan_inventory::PolicyDoc {
                kind: "inline".to_string(),
                name: "p".to_string(),
                document: Some(doc.into()),
                ..Default::default()
            }],
            ..Default::default()
        });
    }
    inventory.organization = Some(organization);
    let facts = cloudscan_access::AccessFacts::for_inventory(&inventory);
    let _ = format!("{facts:?}");
});
