//! The Kubernetes adapter's response handling (`providers/kube/src/objects.rs`, `context.rs`):
//! the input's first byte picks the kind (ServiceAccounts, Pods, Nodes, NetworkPolicies, the
//! aws-auth ConfigMap), the rest is the response body as the API server (or a recording) sends
//! it. As the client does: the body is parsed as JSON and pruned to the fields cloudscan reads
//! (`Kind::prune`, what a recording holds), the pruned page is parsed into the `k8s-openapi`
//! types (`parse_page`, or the ConfigMap) and converted into inventory facts, which the rules
//! then read (with the `full` feature, the default). The body text also goes through the
//! context parsing and API-server matching.
//!
//! Checked besides "no panic": pruning is idempotent (a replay prunes the recorded, already
//! pruned body again and must parse what the live scan parsed).
#![no_main]
use cloudscan_inventory::{Cluster, Inventory, KubeCluster, Provider};
use cloudscan_kube::objects::{self, Kind};
use k8s_openapi::api::core::v1::{ConfigMap, Node, Pod, ServiceAccount};
use k8s_openapi::api::networking::v1::NetworkPolicy;
use libfuzzer_sys::fuzz_target;
use serde_json::Value;

fuzz_target!(|data: &[u8]| {
    let Some((&selector, body)) = data.split_first() else {
        return;
    };
    let kind = Kind::ALL[usize::from(selector) % Kind::ALL.len()];
    // The client reads the body as text (invalid UTF-8 replaced), then parses it.
    let text = String::from_utf8_lossy(body);

    // Contexts: `--kube-context NAME[=CLUSTER]` and API-server URLs from the same text.
    let server = cloudscan_kube::normalize_server(&text);
    let cluster = Cluster {
        id: "arn:aws:eks:us-east-1:111122223333:cluster/prod".to_string(),
        name: "prod".to_string(),
        scope: "111122223333".to_string(),
        region: "us-east-1".to_string(),
        api_endpoints: vec![text.to_string()],
        ..Default::default()
    };
    if let Ok(spec) = cloudscan_kube::ContextSpec::parse(&text) {
        let _ = cloudscan_kube::match_context(
            &text,
            spec.cluster.as_deref(),
            std::slice::from_ref(&cluster),
        );
    }
    if let Some(server) = &server {
        let _ = cloudscan_kube::normalize_server(server);
        let _ = cloudscan_kube::match_context(server, None, std::slice::from_ref(&cluster));
    }

    let Ok(raw) = serde_json::from_str::<Value>(&text) else {
        return;
    };
    let pruned = kind.prune(&raw);
    assert_eq!(
        kind.prune(&pruned),
        pruned,
        "pruning {kind:?} is not idempotent: a replay would parse something else"
    );

    let mut facts = KubeCluster {
        cluster: cluster.name.clone(),
        cluster_id: cluster.id.clone(),
        context: "fuzz".to_string(),
        server: server.unwrap_or_default(),
        matched_by: "endpoint".to_string(),
        aws_auth_state: "not-read".to_string(),
        ..Default::default()
    };
    match kind {
        Kind::ServiceAccounts => {
            if let Ok(page) = objects::parse_page::<ServiceAccount>(&pruned) {
                facts.service_accounts = page.items.iter().map(objects::service_account).collect();
                facts.complete.push(kind.resource().to_string());
            }
        }
        Kind::Pods => {
            if let Ok(page) = objects::parse_page::<Pod>(&pruned) {
                facts.pods = page.items.iter().map(objects::pod).collect();
                facts.complete.push(kind.resource().to_string());
            }
        }
        Kind::Nodes => {
            if let Ok(page) = objects::parse_page::<Node>(&pruned) {
                facts.nodes = page.items.iter().map(objects::node).collect();
                facts.complete.push(kind.resource().to_string());
            }
        }
        Kind::NetworkPolicies => {
            if let Ok(page) = objects::parse_page::<NetworkPolicy>(&pruned) {
                facts.network_policies = page.items.iter().map(objects::network_policy).collect();
                facts.complete.push(kind.resource().to_string());
            }
        }
        Kind::AwsAuth => {
            if let Ok(cm) = serde_json::from_value::<ConfigMap>(pruned) {
                facts.aws_auth = Some(objects::aws_auth(&cm));
                facts.aws_auth_state = "read".to_string();
            }
        }
    }
    let inventory = Inventory {
        provider: Provider::Aws,
        clusters: vec![cluster],
        kubernetes: vec![facts],
        ..Inventory::new(Provider::Aws)
    };
    rules(&inventory);
});

/// The rules on what was read (the Kubernetes rules join these facts to the cluster): with the
/// `full` feature (the default) only, since the rules live in the binary crate.
#[cfg(feature = "full")]
fn rules(inventory: &Inventory) {
    let findings = cloudscan::rules::evaluate(inventory);
    let _ = findings.len();
}

#[cfg(not(feature = "full"))]
fn rules(inventory: &Inventory) {
    let _ = serde_json::to_string(inventory);
}
