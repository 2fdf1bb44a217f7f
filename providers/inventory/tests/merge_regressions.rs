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
