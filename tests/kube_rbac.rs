//! The Kubernetes calls cloudscan makes are exactly what `deploy/kubernetes/clusterrole.yaml`
//! grants: a scan through a real kubeconfig (bearer token, plain http to the loopback server of
//! the `providers/collect` toolkit, the real kube-rs client) is recorded, and the recorded
//! requests, as RBAC (API group, resource, verb, resource name), equal the ClusterRole's rules.
//! The same recording holds no credential and no field that may carry a secret, and replays to
//! the same facts.

use cloudscan_kube::{ContextSpec, KubeOptions};
use serde_json::Value;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::time::Duration;

type Grant = (String, String, String, Option<String>);

const TOKEN: &str = "kubeconfig-bearer-s3cr3t-4711";
const ENV_SECRET: &str = "hunter2-env-value";

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The inventory of the bundled AWS scenario, as the binary saves it.
fn aws_inventory(tmp: &Path) -> cloudscan_inventory::Inventory {
    let inv = tmp.join("inventory.json");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_cloudscan"))
        .args(["aws", "--replay"])
        .arg(root().join("mocks/aws/insecure"))
        .args(["--format", "json", "--no-progress", "-o"])
        .arg(tmp.join("report.json"))
        .arg("--save-inventory")
        .arg(&inv)
        .env_clear()
        .env("HOME", tmp)
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .output()
        .expect("run cloudscan");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_str(&std::fs::read_to_string(inv).expect("inventory")).expect("json")
}

/// The ClusterRole's rules, expanded to one grant per (group, resource, verb, name).
fn clusterrole() -> BTreeSet<Grant> {
    let text = std::fs::read_to_string(root().join("deploy/kubernetes/clusterrole.yaml"))
        .expect("clusterrole.yaml");
    let mut out = BTreeSet::new();
    let mut found = false;
    for doc in serde_yaml::Deserializer::from_str(&text) {
        let value: serde_yaml::Value = serde::Deserialize::deserialize(doc).expect("yaml");
        if value["kind"].as_str() != Some("ClusterRole") {
            continue;
        }
        found = true;
        let strings = |v: &serde_yaml::Value| -> Vec<String> {
            v.as_sequence()
                .map(|s| {
                    s.iter()
                        .filter_map(|x| x.as_str().map(str::to_string))
                        .collect()
                })
                .unwrap_or_default()
        };
        for rule in value["rules"].as_sequence().expect("rules") {
            let names = strings(&rule["resourceNames"]);
            for group in strings(&rule["apiGroups"]) {
                for resource in strings(&rule["resources"]) {
                    for verb in strings(&rule["verbs"]) {
                        assert!(
                            verb == "get" || verb == "list",
                            "{verb}: read-only verbs only"
                        );
                        assert_ne!(resource, "secrets", "Secrets are never read");
                        if names.is_empty() {
                            out.insert((group.clone(), resource.clone(), verb.clone(), None));
                        }
                        for n in &names {
                            out.insert((
                                group.clone(),
                                resource.clone(),
                                verb.clone(),
                                Some(n.clone()),
                            ));
                        }
                    }
                }
            }
        }
    }
    assert!(found, "no ClusterRole in clusterrole.yaml");
    out
}

/// A recorded request as the RBAC grant it needs.
fn grant(method: &str, path: &str) -> Grant {
    let parts: Vec<&str> = path.trim_matches('/').split('/').collect();
    assert_eq!(method, "GET", "{method} {path}: read-only calls only");
    match parts.as_slice() {
        ["api", "v1", resource] => (String::new(), resource.to_string(), "list".into(), None),
        ["apis", group, _, resource] => {
            (group.to_string(), resource.to_string(), "list".into(), None)
        }
        ["api", "v1", "namespaces", _, resource, name] => (
            String::new(),
            resource.to_string(),
            "get".into(),
            Some(name.to_string()),
        ),
        _ => panic!("unexpected call {method} {path}"),
    }
}

fn kubeconfig(dir: &Path, base: &str, contexts: &[&str]) -> PathBuf {
    let mut text = String::from("apiVersion: v1\nkind: Config\nclusters:\n");
    for (i, c) in contexts.iter().enumerate() {
        text.push_str(&format!(
            "- name: {c}\n  cluster:\n    server: {base}/c{i}\n"
        ));
    }
    text.push_str(&format!(
        "users:\n- name: reader\n  user:\n    token: {TOKEN}\ncontexts:\n"
    ));
    for c in contexts {
        text.push_str(&format!(
            "- name: {c}\n  context:\n    cluster: {c}\n    user: reader\n"
        ));
    }
    let path = dir.join("kubeconfig");
    std::fs::write(&path, text).expect("kubeconfig");
    path
}

#[test]
fn recorded_calls_equal_the_clusterrole_and_the_recording_is_clean() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let inventory = aws_inventory(tmp.path());
    // Serve a copy of the bundled recording with the fields a live API server also returns and
    // that may hold secrets: container env values and the last-applied annotation.
    let served = tmp.path().join("served");
    cloudscan_collect::testkit::copy_dir(&root().join("mocks/kube/aws-insecure"), &served)
        .expect("copy");
    let changed = cloudscan_collect::testkit::edit_responses(
        &served,
        "pods.list",
        cloudscan_collect::testkit::any,
        |responses| {
            let mut r = responses.clone();
            if let Some(items) = r[0]["json"]["items"].as_array_mut() {
                for item in items {
                    item["spec"]["containers"] = serde_json::json!([{"name": "app", "image": "x",
                        "env": [{"name": "DB_PASSWORD", "value": ENV_SECRET}]}]);
                    item["metadata"]["annotations"] = serde_json::json!({
                        "kubectl.kubernetes.io/last-applied-configuration": ENV_SECRET});
                }
            }
            r
        },
    )
    .expect("edit");
    assert_eq!(changed, 3);

    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let record = tmp.path().join("recording");
    let live = runtime.block_on(async {
        let (server, _) = cloudscan_kube::fixture::serve(&served)
            .await
            .expect("serve");
        let contexts = ["prod-public", "prod-private-tunnel", "staging"];
        let config = kubeconfig(tmp.path(), server.base_url(), &contexts);
        let spec = |s: &str| ContextSpec::parse(s).expect("spec");
        let opts = KubeOptions {
            kubeconfig: Some(config),
            contexts: vec![
                spec("prod-public=arn:aws:eks:us-east-1:123456789012:cluster/prod-public"),
                spec("prod-private-tunnel=prod-private"),
                spec("staging=staging-legacy"),
            ],
            record: Some(record.clone()),
            max_attempts: 2,
            call_timeout: Some(Duration::from_secs(20)),
            ..Default::default()
        };
        let mut inv = inventory.clone();
        let n = cloudscan_kube::collect(&opts, &mut inv, &cloudscan_collect::scan::quiet())
            .await
            .expect("collect");
        assert_eq!(n, Some(15), "5 calls per context");
        inv
    });
    assert_eq!(live.kubernetes.len(), 3);
    assert!(live
        .coverage
        .iter()
        .filter(|c| c.service == "kubernetes")
        .all(|c| c.status == cloudscan_inventory::CoverageStatus::Complete));

    // The calls, as RBAC, are the ClusterRole, and the adapter's own list of needs.
    let requests = cloudscan_collect::testkit::recorded_requests(&record).expect("requests");
    assert_eq!(requests.len(), 15);
    let used: BTreeSet<Grant> = requests.iter().map(|r| grant(&r.method, &r.path)).collect();
    assert_eq!(used, clusterrole());
    let needs: BTreeSet<Grant> = cloudscan_kube::rbac_needs()
        .into_iter()
        .map(|(g, r, v, n)| {
            (
                g.to_string(),
                r.to_string(),
                v.to_string(),
                n.map(str::to_string),
            )
        })
        .collect();
    assert_eq!(used, needs);

    // No credential, no env value, no annotation beyond the identity ones.
    let text = cloudscan_collect::testkit::all_exchanges_text(&record)
        + &std::fs::read_to_string(record.join("scenario.json")).unwrap_or_default();
    assert!(text.contains("system:masters"), "the recording was read");
    for leak in [TOKEN, ENV_SECRET, "last-applied", "DB_PASSWORD", "Bearer"] {
        assert!(!text.contains(leak), "{leak} recorded");
    }

    // The recording replays to the same facts.
    let replayed = runtime.block_on(async {
        let opts = KubeOptions {
            replay: Some(record.clone()),
            max_attempts: 2,
            ..Default::default()
        };
        let mut inv = inventory.clone();
        cloudscan_kube::collect(&opts, &mut inv, &cloudscan_collect::scan::quiet())
            .await
            .expect("replay");
        inv
    });
    let strip = |inv: &cloudscan_inventory::Inventory| -> Value {
        serde_json::to_value(&inv.kubernetes).expect("json")
    };
    assert_eq!(strip(&live), strip(&replayed));
}
