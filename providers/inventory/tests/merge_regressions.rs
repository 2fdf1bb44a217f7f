//! Regressions found by the hostile-input sweep of issue 15 (`fuzz_inventory_merge`): a merge
//! must keep every fact of every shard.

use cloudscan_inventory::{
    merge, Coverage, CoverageStatus, Inventory, KubeCluster, KubeServiceAccount, Provider, Scope,
};

fn shard(account: &str, cluster: &str) -> Inventory {
    let mut inv = Inventory::new(Provider::Aws);
    inv.scopes.push(Scope {
        id: account.to_string(),
        ..Default::default()
    });
    inv.coverage.push(Coverage {
        scope: account.to_string(),
        service: "kubernetes".to_string(),
        region: "us-east-1".to_string(),
        status: CoverageStatus::Complete,
        detail: None,
    });
    inv.kubernetes.push(KubeCluster {
        cluster: cluster.to_string(),
        cluster_id: format!("arn:aws:eks:us-east-1:{account}:cluster/{cluster}"),
        context: cluster.to_string(),
        server: format!("https://{cluster}.eks.amazonaws.com"),
        matched_by: "endpoint".to_string(),
        service_accounts: vec![KubeServiceAccount {
            namespace: "default".to_string(),
            name: "app".to_string(),
            annotations: [(
                "eks.amazonaws.com/role-arn".to_string(),
                format!("arn:aws:iam::{account}:role/app"),
            )]
            .into(),
        }],
        aws_auth_state: "absent".to_string(),
        complete: vec!["serviceaccounts".to_string()],
        ..Default::default()
    });
    inv
}

/// The merge dropped `Inventory::kubernetes` (added after the merge was written): a sharded
/// scan with `--kube-replay`/`--kubeconfig` kept its complete Kubernetes coverage and lost every
/// Kubernetes fact, so the Kubernetes rules saw nothing and reported nothing.
#[test]
fn merging_shards_keeps_their_kubernetes_facts() {
    let a = shard("111111111111", "prod");
    let b = shard("222222222222", "staging");
    let merged = merge(vec![
        ("a.json".to_string(), a.clone()),
        ("b.json".to_string(), b.clone()),
    ]);
    let Ok(merged) = merged else {
        panic!("{merged:?}");
    };
    assert_eq!(
        merged.kubernetes,
        [a.kubernetes[0].clone(), b.kubernetes[0].clone()]
    );

    // One shard saved twice merges to itself; one cluster read differently by two shards is a
    // conflict that names both files.
    let twice = merge(vec![
        ("a.json".to_string(), a.clone()),
        ("a2.json".to_string(), a.clone()),
    ]);
    assert_eq!(twice.map(|m| m.kubernetes), Ok(a.kubernetes.clone()));
    let mut changed = a.clone();
    changed.kubernetes[0].aws_auth_state = "read".to_string();
    let conflict = merge(vec![
        ("a.json".to_string(), a),
        ("other.json".to_string(), changed),
    ]);
    let text = conflict.err().map(|e| e.to_string()).unwrap_or_default();
    assert!(
        text.contains("a.json") && text.contains("other.json") && text.contains("Kubernetes"),
        "{text}"
    );
}

/// `cloudscan aws --organization --shard I/N`: each shard records the whole organization, with
/// the accounts of the other shards as not scanned ("scanned by another shard than I/N"). The
/// merge compared the organizations whole, so the shards of one organization scan could never
/// be merged (`scan --inventory shard-*.json` failed: "disagree about organization").
#[test]
fn the_shards_of_an_organization_scan_merge_with_every_account_s_own_state() {
    use cloudscan_inventory::{OrgAccount, Organization};
    let account = |id: &str, scanned: bool, reason: Option<&str>| OrgAccount {
        id: id.to_string(),
        status: Some("ACTIVE".to_string()),
        scanned,
        not_scanned_reason: reason.map(str::to_string),
        ..Default::default()
    };
    let org = |accounts: Vec<OrgAccount>| Organization {
        id: "o-abc".to_string(),
        management_account: Some("111111111111".to_string()),
        accounts,
        ..Default::default()
    };
    let other0 = Some("scanned by another shard than 0/2 (--shard)");
    let other1 = Some("scanned by another shard than 1/2 (--shard)");
    let denied = Some("cannot assume the member role: access denied");
    let mut shard0 = Inventory::new(Provider::Aws);
    shard0.organization = Some(org(vec![
        account("111111111111", true, None),
        account("222222222222", false, other0),
        account("333333333333", false, denied),
        account("444444444444", false, other0),
    ]));
    let mut shard1 = Inventory::new(Provider::Aws);
    shard1.organization = Some(org(vec![
        account("111111111111", false, other1),
        account("222222222222", true, None),
        account("333333333333", false, other1),
        account(
            "444444444444",
            false,
            Some("the account is SUSPENDED, not ACTIVE"),
        ),
    ]));
    let merged = merge(vec![
        ("shard-0.json".to_string(), shard0.clone()),
        ("shard-1.json".to_string(), shard1.clone()),
    ]);
    let Ok(merged) = merged else {
        panic!("{merged:?}");
    };
    let accounts = merged.organization.map(|o| o.accounts).unwrap_or_default();
    let state: Vec<(bool, Option<&str>)> = accounts
        .iter()
        .map(|a| (a.scanned, a.not_scanned_reason.as_deref()))
        .collect();
    assert_eq!(
        state,
        [
            (true, None),
            (true, None),
            (false, denied),
            (false, Some("the account is SUSPENDED, not ACTIVE")),
        ]
    );

    // Two different organizations (another account, another policy ...) still conflict.
    let mut other = shard1;
    if let Some(o) = other.organization.as_mut() {
        o.accounts.push(account("555555555555", true, None));
    }
    let conflict = merge(vec![
        ("shard-0.json".to_string(), shard0),
        ("other.json".to_string(), other),
    ]);
    assert!(
        conflict
            .err()
            .is_some_and(|e| e.to_string().contains("organization `o-abc`")),
        "different organizations are a conflict"
    );
}
