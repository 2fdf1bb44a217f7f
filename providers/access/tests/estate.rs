//! The estate: organization guardrails, resource policies and role chains, over inventories
//! built directly (engine tests).

use cloudscan_access::bridge::{AccessFacts, AccessOptions};
use cloudscan_access::capability::Reach;
use cloudscan_access::chain::{describe, HopKind};
use cloudscan_inventory::Inventory;
use proptest::prelude::*;
use serde_json::{json, Value};

const A: &str = "111111111111";
const B: &str = "222222222222";
const MGMT: &str = "999999999999";

fn role(account: &str, name: &str) -> String {
    format!("arn:aws:iam::{account}:role/{name}")
}

fn allow(action: &str, resource: &str) -> Value {
    json!({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": action, "Resource": resource}]})
}

fn trust(principal: Value) -> Value {
    json!({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"AWS": principal}, "Action": "sts:AssumeRole"}]})
}

fn identity(arn: &str, policies: Vec<Value>, trust_doc: Option<Value>, node: bool) -> Value {
    let account = arn.split(':').nth(4).unwrap_or_default();
    let mut v = json!({"id": arn, "name": arn.rsplit('/').next(), "kind": "aws-role",
        "scope": account,
        "policies": policies.into_iter().enumerate().map(|(i, d)| json!(
            {"kind": "inline", "name": format!("p{i}"), "document": d})).collect::<Vec<_>>()});
    if let Some(t) = trust_doc {
        v["trust"] = json!({"kind": "trust", "name": "trust", "document": t});
    }
    if node {
        v["used_by"] = json!([{"kind": "node_pool", "cluster": "c", "pool": "p"}]);
    }
    v
}

fn cluster() -> Value {
    json!({"name": "c", "scope": A, "node_pools": [{"name": "p", "identity": role(A, "node"),
        "metadata": [{"level": "instance", "resource": "i-1", "tokens_required": false,
            "hop_limit": 2, "source": "ec2:DescribeInstances"}]}]})
}

fn inventory(identities: Vec<Value>, extra: Value) -> Inventory {
    let mut v = json!({"provider": "aws", "schema_version": "cloudscan.inventory/v1",
        "clusters": [cluster()], "identities": identities});
    if let (Some(obj), Some(more)) = (v.as_object_mut(), extra.as_object()) {
        for (k, x) in more {
            obj.insert(k.clone(), x.clone());
        }
    }
    match serde_json::from_value(v) {
        Ok(inv) => inv,
        Err(e) => panic!("test inventory: {e}"),
    }
}

/// An organization where account A sits under OU `ou-prod`, whose extra SCP is `scp`.
fn org(scp: Value) -> Value {
    let accounts: Vec<Value> = [A, B]
        .iter()
        .map(|a| {
            json!({"id": a, "path": [
                {"id": "r-1", "kind": "root"}, {"id": "ou-prod", "name": "Prod", "kind": "ou"},
                {"id": a, "kind": "account"}],
            "scps": [["p-FullAWSAccess"], ["p-FullAWSAccess", "p-guard"], ["p-FullAWSAccess"]],
            "rcps": [[], [], []], "scanned": true})
        })
        .collect();
    json!({"organization": {"id": "o-1", "management_account": MGMT,
        "enabled_policy_types": ["SERVICE_CONTROL_POLICY", "RESOURCE_CONTROL_POLICY"],
        "accounts": accounts,
        "policies": [
            {"id": "p-FullAWSAccess", "name": "FullAWSAccess", "kind": "scp", "aws_managed": true,
             "document": allow("*", "*")},
            {"id": "p-guard", "name": "Guard", "kind": "scp", "document": scp}]}})
}

fn deny(action: &str) -> Value {
    json!({"Version": "2012-10-17", "Statement": [
        {"Sid": "NoIt", "Effect": "Deny", "Action": action, "Resource": "*"}]})
}

fn exposures_of(facts: &AccessFacts, id: &str) -> Vec<String> {
    facts
        .identities
        .get(id)
        .map(|f| f.exposures.iter().map(describe).collect())
        .unwrap_or_default()
}

fn held(facts: &AccessFacts, id: &str, cap: &str) -> Option<Reach> {
    facts.identities.get(id).and_then(|f| {
        f.profile
            .capabilities
            .iter()
            .find(|c| c.id == cap)
            .map(|c| c.reach)
    })
}

// --- guardrails --------------------------------------------------------------------------------

#[test]
fn an_scp_deny_removes_the_capability_and_says_which_scp() {
    let node = role(A, "node");
    let ids = vec![identity(
        &node,
        vec![allow("secretsmanager:GetSecretValue", "*")],
        None,
        true,
    )];
    let free = AccessFacts::for_inventory(&inventory(ids.clone(), json!({})));
    assert_eq!(held(&free, &node, "secrets-read"), Some(Reach::All));
    let guarded =
        AccessFacts::for_inventory(&inventory(ids, org(deny("secretsmanager:GetSecretValue"))));
    assert_eq!(held(&guarded, &node, "secrets-read"), None);
    let stops = &guarded.identities[&node].profile.guardrail_stops;
    assert_eq!(stops.len(), 1, "{stops:?}");
    let text = stops[0].to_string();
    assert!(text.contains("Guard (p-guard) at ou Prod"), "{text}");
    assert!(text.contains("secrets-read"), "{text}");
}

#[test]
fn the_management_account_and_unknown_guardrails_are_not_limited() {
    let mgmt = role(MGMT, "node");
    let ids = vec![identity(
        &mgmt,
        vec![allow("secretsmanager:GetSecretValue", "*")],
        None,
        true,
    )];
    let facts = AccessFacts::for_inventory(&inventory(ids, org(deny("secretsmanager:*"))));
    assert_eq!(held(&facts, &mgmt, "secrets-read"), Some(Reach::All));
    // Unknown attachments: evaluated as before, and the summary says they were not read.
    let node = role(A, "node");
    let mut o = org(deny("secretsmanager:*"));
    o["organization"]["accounts"][0]["scps"] = Value::Null;
    let ids = vec![identity(
        &node,
        vec![allow("secretsmanager:GetSecretValue", "*")],
        None,
        true,
    )];
    let facts = AccessFacts::for_inventory(&inventory(ids, o));
    assert_eq!(held(&facts, &node, "secrets-read"), Some(Reach::All));
    let summary = facts.identities[&node]
        .profile
        .guardrails
        .as_ref()
        .map(ToString::to_string)
        .unwrap_or_default();
    assert!(summary.contains("SCPs not read"), "{summary}");
}

#[test]
fn a_narrowing_scp_leaves_some_reach_and_says_so() {
    let node = role(A, "node");
    let scp = json!({"Version": "2012-10-17", "Statement": [{"Effect": "Deny",
        "Action": "s3:GetObject*", "Resource": "arn:aws:s3:::prod-*/*"}]});
    let ids = vec![identity(
        &node,
        vec![allow("s3:GetObject", "*")],
        None,
        true,
    )];
    let facts = AccessFacts::for_inventory(&inventory(ids, org(scp)));
    assert_eq!(held(&facts, &node, "object-read"), Some(Reach::Some));
    let stop = &facts.identities[&node].profile.guardrail_stops[0];
    assert_eq!(stop.remaining, Some(Reach::Some));
}

// --- role chains -------------------------------------------------------------------------------

fn chain_inventory(scp: Option<Value>) -> (Inventory, String, String) {
    let node = role(A, "node");
    let admin = role(B, "admin");
    let ids = vec![
        identity(&node, vec![allow("sts:AssumeRole", "*")], None, true),
        identity(
            &admin,
            vec![allow("*", "*")],
            Some(trust(json!(node))),
            false,
        ),
    ];
    let extra = scp.map(org).unwrap_or_else(|| json!({}));
    (inventory(ids, extra), node, admin)
}

#[test]
fn a_cross_account_chain_exposes_the_target_with_every_hop() {
    let (inv, node, admin) = chain_inventory(None);
    let facts = AccessFacts::for_inventory(&inv);
    let who = exposures_of(&facts, &admin);
    assert_eq!(who.len(), 1, "{who:?}");
    assert!(
        who[0].starts_with("every pod on node pool `p` in cluster `c`"),
        "{who:?}"
    );
    assert!(
        who[0].contains(&format!(
            "`{node}` (account {A}) → sts:AssumeRole → `{admin}` (account {B})"
        )),
        "{who:?}"
    );
    assert!(facts.identities[&admin].profile.admin.is_some());
}

#[test]
fn cross_account_needs_both_sides() {
    let node = role(A, "node");
    let admin = role(B, "admin");
    // Trust admits node, but node's policies do not allow sts:AssumeRole.
    let ids = vec![
        identity(&node, vec![allow("s3:ListBucket", "*")], None, true),
        identity(
            &admin,
            vec![allow("*", "*")],
            Some(trust(json!(node))),
            false,
        ),
    ];
    let facts = AccessFacts::for_inventory(&inventory(ids, json!({})));
    assert!(!facts.identities.contains_key(&admin));
    // Policy allows, trust admits another account only.
    let ids = vec![
        identity(&node, vec![allow("sts:AssumeRole", "*")], None, true),
        identity(&admin, vec![allow("*", "*")], Some(trust(json!(B))), false),
    ];
    let facts = AccessFacts::for_inventory(&inventory(ids, json!({})));
    assert!(!facts.identities.contains_key(&admin));
}

#[test]
fn same_account_trust_naming_the_role_grants_alone_and_naming_the_account_needs_policy() {
    let node = role(A, "node");
    let target = role(A, "target");
    let ids = vec![
        identity(&node, vec![allow("s3:ListBucket", "*")], None, true),
        identity(
            &target,
            vec![allow("*", "*")],
            Some(trust(json!(node))),
            false,
        ),
    ];
    let facts = AccessFacts::for_inventory(&inventory(ids, json!({})));
    assert!(facts.identities.contains_key(&target));
    let ids = vec![
        identity(&node, vec![allow("s3:ListBucket", "*")], None, true),
        identity(
            &target,
            vec![allow("*", "*")],
            Some(trust(json!(format!("arn:aws:iam::{A}:root")))),
            false,
        ),
    ];
    let facts = AccessFacts::for_inventory(&inventory(ids, json!({})));
    assert!(!facts.identities.contains_key(&target));
}

#[test]
fn an_scp_denying_assume_role_cuts_the_chain_and_says_so() {
    let (inv, node, admin) = chain_inventory(Some(deny("sts:AssumeRole")));
    let facts = AccessFacts::for_inventory(&inv);
    assert!(!facts.identities.contains_key(&admin));
    let cut = facts.chains.cut(&node);
    assert_eq!(cut.len(), 1);
    assert_eq!(cut[0].to, admin);
    assert!(
        cut[0].by.iter().any(|b| b.contains("Guard (p-guard)")),
        "{cut:?}"
    );
}

#[test]
fn pod_identity_target_is_an_edge() {
    let assoc = role(A, "assoc");
    let target = role(B, "target");
    let mut inv = inventory(
        vec![
            identity(&assoc, vec![], None, false),
            identity(
                &target,
                vec![allow("secretsmanager:GetSecretValue", "*")],
                None,
                false,
            ),
        ],
        json!({}),
    );
    inv.clusters[0].workload_identity.bindings.push(
        serde_json::from_value(json!({"namespace": "ns", "service_account": "sa",
            "identity": assoc, "mechanism": "pod-identity", "target_identity": target}))
        .unwrap_or_default(),
    );
    let facts = AccessFacts::for_inventory(&inv);
    let e = &facts.identities[&target].exposures;
    assert_eq!(e.len(), 1);
    assert_eq!(e[0].via[0].kind, HopKind::PodIdentityTarget);
    assert!(describe(&e[0]).contains("service account `ns/sa`"));
    assert_eq!(held(&facts, &target, "secrets-read"), Some(Reach::All));
}

/// A ring of `n` roles in one account, each trusting the previous one by ARN; the node role
/// is the first.
fn ring(n: usize) -> (Inventory, Vec<String>) {
    let names: Vec<String> = (0..n).map(|i| role(A, &format!("r{i}"))).collect();
    let ids = names
        .iter()
        .enumerate()
        .map(|(i, r)| {
            let prev = &names[(i + n - 1) % n];
            identity(
                r,
                vec![allow("sts:AssumeRole", "*")],
                Some(trust(json!(prev))),
                i == 0,
            )
        })
        .collect();
    (inventory(ids, json!({})), names)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    /// In a cycle of any length, every role within the depth bound is reached exactly once,
    /// by the shortest path, and none beyond it.
    #[test]
    fn chains_are_cycle_safe_and_bounded(n in 2usize..9, depth in 0usize..7) {
        let (inv, names) = ring(n);
        let facts = AccessFacts::analyze_with(
            &inv,
            AccessOptions { max_depth: depth, chain_sources: Vec::new() },
            |_, exposed| exposed,
        );
        for (i, r) in names.iter().enumerate() {
            let e = facts.identities.get(r).map(|f| f.exposures.clone()).unwrap_or_default();
            if i == 0 {
                prop_assert_eq!(e.len(), 1);
                prop_assert!(e[0].via.is_empty());
            } else if i <= depth {
                prop_assert_eq!(e.len(), 1);
                prop_assert_eq!(e[0].via.len(), i);
            } else {
                prop_assert!(e.is_empty());
            }
        }
        let paths = facts.chains.paths_from(&names[0], depth);
        prop_assert_eq!(paths.len(), depth.min(n - 1));
    }
}

// --- resource policies -------------------------------------------------------------------------

fn bucket(account: &str, principal: Value, restrict: Option<bool>) -> Value {
    json!({"arn": "arn:aws:s3:::data", "kind": "s3-bucket", "scope": account,
        "state": "attached", "source": "s3:GetBucketPolicy",
        "public_access_block": restrict.map(|r| json!({"restrict_public_buckets": r})),
        "policy": {"kind": "resource", "name": "bucket policy", "document": {
            "Version": "2012-10-17", "Statement": [{"Sid": "Read", "Effect": "Allow",
                "Principal": principal, "Action": "s3:GetObject",
                "Resource": "arn:aws:s3:::data/*"}]}}})
}

#[test]
fn same_account_bucket_policy_grants_alone_with_the_statement_as_evidence() {
    let node = role(A, "node");
    let ids = vec![identity(
        &node,
        vec![allow("ec2:DescribeInstances", "*")],
        None,
        true,
    )];
    let inv = inventory(
        ids,
        json!({"resource_policies": [bucket(A, json!({"AWS": node}), None)]}),
    );
    let facts = AccessFacts::for_inventory(&inv);
    assert_eq!(held(&facts, &node, "object-read"), Some(Reach::Some));
    let g = &facts.identities[&node].profile.resource_grants[0];
    assert_eq!(g.resource, "arn:aws:s3:::data");
    assert!(g
        .granted_by
        .iter()
        .any(|r| r.to_string().contains("bucket policy of arn:aws:s3:::data")));
}

#[test]
fn cross_account_bucket_policy_needs_the_identity_side() {
    let node = role(A, "node");
    let rp = json!({"resource_policies": [bucket(B, json!({"AWS": node}), None)]});
    let ids = vec![identity(
        &node,
        vec![allow("ec2:DescribeInstances", "*")],
        None,
        true,
    )];
    let facts = AccessFacts::for_inventory(&inventory(ids, rp.clone()));
    assert_eq!(held(&facts, &node, "object-read"), None);
    let ids = vec![identity(
        &node,
        vec![allow("s3:GetObject", "arn:aws:s3:::data/*")],
        None,
        true,
    )];
    let facts = AccessFacts::for_inventory(&inventory(ids, rp));
    assert_eq!(held(&facts, &node, "object-read"), Some(Reach::Some));
    assert_eq!(facts.identities[&node].profile.resource_grants.len(), 1);
}

#[test]
fn block_public_access_restricts_a_public_bucket_policy_to_the_owner_account() {
    let node = role(A, "node");
    let ids = vec![identity(
        &node,
        vec![allow("s3:GetObject", "arn:aws:s3:::data/*")],
        None,
        true,
    )];
    let grants = |restrict: Option<bool>, account_bpa: Value| {
        let mut extra = json!({"resource_policies": [bucket(B, json!("*"), restrict)]});
        extra["account_public_access_blocks"] = account_bpa;
        AccessFacts::for_inventory(&inventory(ids.clone(), extra)).identities[&node]
            .profile
            .resource_grants
            .len()
    };
    let acct = |r: bool| {
        json!([{"scope": B, "state": "set", "source": "s3control",
        "settings": {"restrict_public_buckets": r}}])
    };
    assert_eq!(grants(Some(false), acct(false)), 1);
    assert_eq!(grants(Some(true), acct(false)), 0);
    assert_eq!(grants(Some(false), acct(true)), 0);
    // Unknown: no grant claimed, and the profile says it is not known.
    let mut extra = json!({"resource_policies": [bucket(B, json!("*"), None)]});
    extra["account_public_access_blocks"] = json!([]);
    let facts = AccessFacts::for_inventory(&inventory(ids.clone(), extra));
    assert!(facts.identities[&node].profile.resource_grants.is_empty());
    assert!(!facts.identities[&node].profile.unknown_resources.is_empty());
}

fn key(principal: Value) -> Value {
    json!({"arn": format!("arn:aws:kms:us-east-1:{A}:key/k1"), "kind": "kms-key", "scope": A,
        "state": "attached", "source": "kms:GetKeyPolicy",
        "policy": {"kind": "resource", "name": "key policy", "document": {
            "Version": "2012-10-17", "Statement": [{"Effect": "Allow",
                "Principal": {"AWS": principal}, "Action": "kms:*", "Resource": "*"}]}}})
}

#[test]
fn a_key_policy_that_does_not_allow_the_account_keeps_iam_from_granting_every_key() {
    let node = role(A, "node");
    let ids = vec![identity(&node, vec![allow("kms:Decrypt", "*")], None, true)];
    let default = AccessFacts::for_inventory(&inventory(
        ids.clone(),
        json!({"resource_policies": [key(json!(format!("arn:aws:iam::{A}:root")))]}),
    ));
    assert_eq!(held(&default, &node, "secrets-read"), Some(Reach::All));
    let closed = AccessFacts::for_inventory(&inventory(
        ids,
        json!({"resource_policies": [key(json!(role(A, "other")))]}),
    ));
    assert_eq!(held(&closed, &node, "secrets-read"), Some(Reach::Some));
    // A key policy naming the role grants it that key without any IAM policy.
    let ids = vec![identity(
        &node,
        vec![allow("ec2:DescribeInstances", "*")],
        None,
        true,
    )];
    let named = AccessFacts::for_inventory(&inventory(
        ids,
        json!({"resource_policies": [key(json!(node))]}),
    ));
    assert_eq!(held(&named, &node, "secrets-read"), Some(Reach::Some));
}

#[test]
fn an_unknown_resource_policy_is_said_not_guessed() {
    let node = role(A, "node");
    let ids = vec![identity(
        &node,
        vec![allow("ec2:DescribeInstances", "*")],
        None,
        true,
    )];
    let rp = json!({"resource_policies": [{"arn": format!("arn:aws:secretsmanager:us-east-1:{A}:secret:s"),
        "kind": "secretsmanager-secret", "scope": A, "state": "unknown",
        "source": "secretsmanager:GetResourcePolicy"}]});
    let facts = AccessFacts::for_inventory(&inventory(ids, rp));
    let p = &facts.identities[&node].profile;
    assert!(p.capabilities.iter().all(|c| c.id != "secrets-read"));
    assert!(
        p.unknown_resources.iter().any(|u| u.contains("secret:s")),
        "{:?}",
        p.unknown_resources
    );
}

#[test]
fn an_rcp_keeping_out_other_organizations_does_not_limit_members() {
    let node = role(A, "node");
    let mut o = org(allow("*", "*"));
    o["organization"]["policies"]
        .as_array_mut()
        .expect("policies")
        .push(
            json!({"id": "p-rcp", "name": "OrgOnly", "kind": "rcp", "document": {
            "Version": "2012-10-17", "Statement": [{"Effect": "Deny", "Principal": "*",
                "Action": "s3:*", "Resource": "*", "Condition": {
                    "StringNotEqualsIfExists": {"aws:PrincipalOrgID": "o-1"}}}]}}),
        );
    o["organization"]["accounts"][0]["rcps"] = json!([["p-rcp"], [], []]);
    let ids = vec![identity(
        &node,
        vec![allow("s3:GetObject", "*")],
        None,
        true,
    )];
    let facts = AccessFacts::for_inventory(&inventory(ids.clone(), o.clone()));
    let read = facts.identities[&node]
        .profile
        .capabilities
        .iter()
        .find(|c| c.id == "object-read")
        .cloned()
        .expect("object-read");
    assert_eq!(read.reach, Reach::All);
    assert_eq!(
        read.allowed_when, None,
        "the principal's organization is known"
    );
    // The same RCP with another organization id denies the member's own reads.
    let mut other = o;
    other["organization"]["policies"][2]["document"]["Statement"][0]["Condition"] =
        json!({"StringNotEqualsIfExists": {"aws:PrincipalOrgID": "o-other"}});
    let facts = AccessFacts::for_inventory(&inventory(ids, other));
    assert_eq!(held(&facts, &node, "object-read"), None);
    assert!(facts.identities[&node]
        .profile
        .guardrail_stops
        .iter()
        .any(|s| s.to_string().contains("OrgOnly (p-rcp) at root r-1")));
}

#[test]
fn a_pod_identity_target_whose_trust_refuses_the_association_role_gives_nothing() {
    let assoc = role(A, "assoc");
    let target = role(B, "target");
    let build = |trusted: &str| {
        let mut inv = inventory(
            vec![
                identity(&assoc, vec![allow("sts:AssumeRole", "*")], None, false),
                identity(
                    &target,
                    vec![allow("secretsmanager:GetSecretValue", "*")],
                    Some(trust(json!(trusted))),
                    false,
                ),
            ],
            json!({}),
        );
        inv.clusters[0].workload_identity.bindings.push(
            serde_json::from_value(json!({"namespace": "ns", "service_account": "sa",
                "identity": assoc, "mechanism": "pod-identity", "target_identity": target}))
            .unwrap_or_default(),
        );
        AccessFacts::for_inventory(&inv)
    };
    let admitted = build(&assoc);
    let hop = &admitted.identities[&target].exposures[0].via[0];
    assert_eq!(hop.kind, HopKind::PodIdentityTarget);
    assert!(!hop.granted_by.is_empty(), "the trust statement is cited");
    let refused = build(&role(A, "someone-else"));
    assert!(!refused.identities.contains_key(&target));
}
