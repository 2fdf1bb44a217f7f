//! The Cluster side end to end: the `cloudscan` binary replays a cloud scenario and a
//! Kubernetes recording (mocks/kube/*), the real kube-rs client reading the loopback replay
//! server over plain http, and the joined findings: pods listed by workload, pods a
//! NetworkPolicy keeps from the metadata address removed (hostNetwork pods kept), broken
//! workload-identity bindings, `system:masters` reachable from pods, and contexts that cannot
//! be matched reported as incomplete coverage.

mod support;

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Output;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Runs cloudscan with an empty environment: no credentials, no kubeconfig.
fn cloudscan(args: &[&str], home: &Path) -> Output {
    support::output_with_timeout(
        &mut support::isolated_command(args, &[], home),
        std::time::Duration::from_secs(300),
        "cloudscan",
    )
}

struct Run {
    code: i32,
    report: Value,
    stderr: String,
}

fn run(cloud: &str, args: &[&str]) -> Run {
    let tmp = tempfile::tempdir().expect("tempdir");
    let out = tmp.path().join("report.json");
    let mut all = vec![cloud, "--format", "json", "--no-progress", "-o"];
    let out_text = out.to_str().expect("utf-8").to_string();
    all.push(&out_text);
    all.extend_from_slice(args);
    let output = cloudscan(&all, tmp.path());
    let text = std::fs::read_to_string(&out).unwrap_or_default();
    Run {
        code: output.status.code().unwrap_or(-1),
        report: serde_json::from_str(&text).unwrap_or(Value::Null),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

fn path(rel: &str) -> String {
    root().join(rel).display().to_string()
}

fn findings<'a>(report: &'a Value, rule: &str) -> Vec<&'a Value> {
    report["findings"]
        .as_array()
        .map(|f| f.iter().filter(|f| f["rule_id"] == rule).collect())
        .unwrap_or_default()
}

fn kube_coverage(report: &Value) -> Vec<&Value> {
    report["coverage"]
        .as_array()
        .map(|c| c.iter().filter(|c| c["service"] == "kubernetes").collect())
        .unwrap_or_default()
}

fn message(f: &Value) -> &str {
    f["message"].as_str().unwrap_or_default()
}

fn aws_joined(extra: &[&str]) -> Run {
    let mut args = vec![
        "--replay".to_string(),
        path("mocks/aws/insecure"),
        "--kube-replay".to_string(),
        path("mocks/kube/aws-insecure"),
    ];
    args.extend(extra.iter().map(|s| s.to_string()));
    let refs: Vec<&str> = args.iter().map(String::as_str).collect();
    run("aws", &refs)
}

#[test]
fn aws_every_context_is_matched_and_read_completely() {
    let r = aws_joined(&[]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let cov = kube_coverage(&r.report);
    assert_eq!(cov.len(), 3, "{cov:?}");
    for c in &cov {
        assert_eq!(c["status"], "complete", "{c}");
    }
    let details: Vec<&str> = cov.iter().filter_map(|c| c["detail"].as_str()).collect();
    let all = details.join("\n");
    assert!(
        all.contains("cluster `staging-legacy` through context `staging` (matched by endpoint)"),
        "{all}"
    );
    assert!(
        all.contains(
            "cluster `prod-private` through context `prod-private-tunnel` (matched by named)"
        ),
        "{all}"
    );
    assert!(all.contains("aws-auth (absent)"), "{all}");
}

#[test]
fn aws_node_role_reach_lists_pods_by_workload_and_applies_networkpolicy() {
    let r = aws_joined(&[]);
    let f = findings(&r.report, "identity-secrets-access");
    let node = f
        .iter()
        .find(|f| f["resource"] == "arn:aws:iam::123456789012:role/eks-node-public")
        .expect("eks-node-public secrets finding");
    let m = message(node);
    // Exact pods of the IMDSv1 pool, by workload, hostNetwork counted.
    let general = m
        .split("every pod on node pool `general`")
        .nth(1)
        .and_then(|s| s.split("every pod on node pool `workers`").next())
        .unwrap_or_default();
    assert!(
        general.contains("as read through kubernetes context `prod-public`"),
        "{m}"
    );
    // 2 payments + 3 frontend + 1 ci + 2 aws-node + 2 kube-proxy + 1 node-exporter = 11;
    // the finished migrate pod is not counted, the 2 batch pods are kept out.
    assert!(general.contains("11 pod(s) of"), "{general}");
    assert!(general.contains("(5 with hostNetwork)"), "{general}");
    for w in [
        "deployments payments/api, web/frontend",
        "job ci/deployer-28871234",
        "daemonsets kube-system/aws-node, kube-system/kube-proxy, restricted/node-exporter",
    ] {
        assert!(general.contains(w), "{w} missing: {general}");
    }
    // The NetworkPolicy of `restricted` removes batch but not the hostNetwork node-exporter.
    let (reach, kept) = general
        .split_once("(5 with hostNetwork)")
        .unwrap_or((general, ""));
    assert!(!reach.contains("restricted/batch"), "{reach}");
    assert!(reach.contains("restricted/node-exporter"), "{reach}");
    assert!(general.contains("2 pod(s) of deployment restricted/batch kept out by NetworkPolicy restricted/deny-metadata"), "{general}");
    assert!(
        kept.contains("network plugin enforces NetworkPolicy"),
        "{kept}"
    );
    // The policy of `web` selects no frontend pod: they stay.
    assert!(!general.contains("web/isolate-other"), "{general}");
}

#[test]
fn aws_system_masters_role_reachable_from_pods_is_critical() {
    let r = aws_joined(&[]);
    let f = findings(&r.report, "cluster-admin-reachable-from-pods");
    assert_eq!(f.len(), 1, "{f:?}");
    assert_eq!(f[0]["severity"], "critical");
    assert_eq!(
        f[0]["resource"],
        "arn:aws:iam::123456789012:role/ci-deployer"
    );
    let m = message(f[0]);
    assert!(m.contains("`system:masters`"), "{m}");
    assert!(m.contains("kube-system/aws-auth data.mapRoles[1]"), "{m}");
    assert!(m.contains("job ci/deployer-28871234"), "{m}");
    let ev = serde_json::to_string(&f[0]["evidence"]).unwrap_or_default();
    assert!(
        ev.contains("configmap kube-system/aws-auth") && ev.contains("system:masters"),
        "{ev}"
    );
}

#[test]
fn aws_broken_irsa_annotation_and_trust_broader_than_use() {
    let r = aws_joined(&[]);
    let f = findings(&r.report, "workload-identity-binding-mismatch");
    let broken: Vec<&&Value> = f.iter().filter(|f| f["severity"] == "medium").collect();
    assert_eq!(broken.len(), 1, "{f:?}");
    let m = message(broken[0]);
    assert!(m.starts_with("service account `web/frontend` in cluster `prod-public` is annotated `eks.amazonaws.com/role-arn: arn:aws:iam::123456789012:role/app-irsa`"), "{m}");
    assert!(m.contains("3 pod(s) of deployment web/frontend"), "{m}");
    // payments/api names app-irsa too, and is admitted: no finding, in either cluster.
    assert!(
        !f.iter().any(|f| message(f).contains("`payments/api`")),
        "{f:?}"
    );
    // ci-deployer trusts ci/* where only ci/deployer uses it.
    let broader: Vec<&&Value> = f.iter().filter(|f| f["severity"] == "low").collect();
    assert!(
        broader
            .iter()
            .any(|f| message(f).contains("`ci/*` in cluster `prod-public`")
                && message(f).contains("only ci/deployer use it")),
        "{broader:?}"
    );
}

#[test]
fn aws_node_identities_reached_only_from_host_network_pods() {
    let r = aws_joined(&[]);
    let f = findings(&r.report, "node-identity-host-network-only");
    let got: Vec<(String, String)> = f
        .iter()
        .map(|f| {
            (
                f["resource"].as_str().unwrap_or_default().to_string(),
                f["node_pool"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect();
    assert_eq!(
        got,
        vec![
            (
                "arn:aws:iam::123456789012:role/eks-node-private".to_string(),
                "system".to_string()
            ),
            (
                "arn:aws:iam::123456789012:role/eks-node-public".to_string(),
                "workers".to_string()
            ),
        ],
        "{f:?}"
    );
    assert!(f.iter().all(|f| f["severity"] == "low"));
    let private = message(f[0]);
    assert!(
        private.contains("daemonsets kube-system/aws-node, kube-system/kube-proxy"),
        "{private}"
    );
    assert!(
        private.contains("metadata settings keep other pods out"),
        "{private}"
    );
    let staging = message(f[1]);
    assert!(
        staging.contains("NetworkPolicy default/default-deny-egress keeps the other pods out"),
        "{staging}"
    );
    // The IMDSv1 pool has ordinary pods reaching it: no such finding there.
    assert!(!f.iter().any(|f| f["node_pool"] == "general"));
}

#[test]
fn an_ambiguous_endpoint_is_incomplete_coverage_not_a_guess() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let copy = tmp.path().join("kube");
    cloudscan_collect::testkit::copy_dir(&root().join("mocks/kube/aws-insecure"), &copy)
        .expect("copy");
    // Drop the naming of prod-public: its endpoint is also prod-private's in this recording.
    let scenario_path = copy.join("scenario.json");
    let mut scenario: Value =
        serde_json::from_str(&std::fs::read_to_string(&scenario_path).expect("read"))
            .expect("json");
    if let Some(c) = scenario["contexts"][0].as_object_mut() {
        c.remove("cluster");
    }
    std::fs::write(&scenario_path, scenario.to_string()).expect("write");
    let r = run(
        "aws",
        &[
            "--replay",
            &path("mocks/aws/insecure"),
            "--kube-replay",
            copy.to_str().expect("utf-8"),
        ],
    );
    assert_eq!(r.code, 3, "{}", r.stderr);
    let cov = kube_coverage(&r.report);
    let failed: Vec<&&Value> = cov.iter().filter(|c| c["status"] == "failed").collect();
    assert_eq!(failed.len(), 1, "{cov:?}");
    let detail = failed[0]["detail"].as_str().unwrap_or_default();
    assert!(
        detail.contains("is the endpoint of 2 scanned clusters"),
        "{detail}"
    );
    assert!(
        detail.contains("--kube-context prod-public=CLUSTER"),
        "{detail}"
    );
    // Nothing of prod-public is joined: its critical finding is gone.
    assert!(findings(&r.report, "cluster-admin-reachable-from-pods").is_empty());
}

#[test]
fn a_named_cluster_that_was_not_scanned_is_incomplete_coverage() {
    let r = aws_joined(&["--kube-context", "staging=no-such-cluster"]);
    assert_eq!(r.code, 3, "{}", r.stderr);
    let cov = kube_coverage(&r.report);
    assert_eq!(cov.len(), 1, "{cov:?}");
    assert_eq!(cov[0]["status"], "failed");
    assert!(cov[0]["detail"]
        .as_str()
        .unwrap_or_default()
        .contains("`no-such-cluster` is no scanned cluster"));
    // --allow-incomplete still reports everything else.
    let r = aws_joined(&[
        "--kube-context",
        "staging=no-such-cluster",
        "--allow-incomplete",
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(!r.report["findings"]
        .as_array()
        .map(Vec::is_empty)
        .unwrap_or(true));
}

#[test]
fn a_context_missing_from_the_recording_is_a_clear_error() {
    let r = aws_joined(&["--kube-context", "nope"]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(
        r.stderr.contains("context `nope` is not in the recording"),
        "{}",
        r.stderr
    );
}

#[test]
fn a_forbidden_list_is_partial_coverage_and_nothing_is_concluded_from_it() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let copy = tmp.path().join("kube");
    cloudscan_collect::testkit::copy_dir(&root().join("mocks/kube/aws-insecure"), &copy)
        .expect("copy");
    let forbidden = serde_json::json!([{"status": 403, "headers": {"content-type": "application/json"},
        "json": {"kind": "Status", "apiVersion": "v1", "status": "Failure", "reason": "Forbidden", "code": 403,
            "message": "networkpolicies.networking.k8s.io is forbidden: User \"x\" cannot list resource"}}]);
    let changed = cloudscan_collect::testkit::edit_responses(
        &copy,
        "networkpolicies.list",
        |req| req["region"] == "prod-public",
        |_| forbidden.clone(),
    )
    .expect("edit");
    assert_eq!(changed, 1);
    let r = run(
        "aws",
        &[
            "--replay",
            &path("mocks/aws/insecure"),
            "--kube-replay",
            copy.to_str().expect("utf-8"),
        ],
    );
    assert_eq!(r.code, 3, "{}", r.stderr);
    let cov = kube_coverage(&r.report);
    let partial: Vec<&&Value> = cov.iter().filter(|c| c["status"] == "partial").collect();
    assert_eq!(partial.len(), 1, "{cov:?}");
    let detail = partial[0]["detail"].as_str().unwrap_or_default();
    assert!(
        detail.contains("access denied") && detail.contains("needs list networkpolicies"),
        "{detail}"
    );
    // Without the policies, no pod is taken as kept out.
    let f = findings(&r.report, "identity-secrets-access");
    let m = f
        .iter()
        .find(|f| f["resource"] == "arn:aws:iam::123456789012:role/eks-node-public")
        .map(|f| message(f))
        .unwrap_or_default();
    assert!(m.contains("13 pod(s) of"), "{m}");
    assert!(
        m.contains("NetworkPolicies were not read completely"),
        "{m}"
    );
}

#[test]
fn gke_reach_broken_annotation_and_host_network_only_pool() {
    let r = run(
        "gcp",
        &[
            "--replay",
            &path("mocks/gcp/insecure"),
            "--kube-replay",
            &path("mocks/kube/gke-insecure"),
        ],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    let cov = kube_coverage(&r.report);
    assert_eq!(cov.len(), 1);
    assert!(cov[0]["detail"].as_str().unwrap_or_default().contains("cluster `staging-wi` through context `gke_acme-insecure_europe-west1-b_staging-wi` (matched by endpoint)"));
    // Node SA of the GCE_METADATA pool: billing reaches it, batch is kept out.
    let admin = findings(&r.report, "identity-admin-access");
    let nodes = admin
        .iter()
        .find(|f| f["resource"] == "gke-nodes@acme-insecure.iam.gserviceaccount.com")
        .map(|f| message(f))
        .unwrap_or_default();
    let legacy = nodes.split("node pool `legacy`").nth(1).unwrap_or_default();
    assert!(legacy.contains("deployment billing/invoicer"), "{nodes}");
    assert!(
        legacy.contains(
            "1 pod(s) of deployment batch/worker kept out by NetworkPolicy batch/deny-metadata"
        ),
        "{nodes}"
    );
    // Broken GKE binding: batch/worker names the payments service account.
    let f = findings(&r.report, "workload-identity-binding-mismatch");
    let broken: Vec<&&Value> = f.iter().filter(|f| f["severity"] == "medium").collect();
    assert_eq!(broken.len(), 1, "{f:?}");
    assert!(
        message(broken[0]).contains("`batch/worker`"),
        "{}",
        message(broken[0])
    );
    assert!(
        message(broken[0]).contains("acme-insecure.svc.id.goog[batch/worker]"),
        "{}",
        message(broken[0])
    );
    assert!(
        f.iter().any(|f| f["severity"] == "low"
            && message(f).contains("`billing/*`")
            && message(f).contains("only billing/invoicer use it")),
        "{f:?}"
    );
    // The GKE_METADATA pool: only host-network pods reach the node service account.
    let host = findings(&r.report, "node-identity-host-network-only");
    assert_eq!(host.len(), 1, "{host:?}");
    assert_eq!(host[0]["node_pool"], "apps");
    assert!(
        message(host[0]).contains("daemonset kube-system/fluentbit-gke"),
        "{}",
        message(host[0])
    );
    assert!(
        message(host[0]).contains("node kube-system/gke-staging-wi-apps"),
        "{}",
        message(host[0])
    );
}

#[test]
fn a_saved_inventory_keeps_the_cluster_side() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let inv = tmp.path().join("inventory.json");
    let first = run(
        "gcp",
        &[
            "--replay",
            &path("mocks/gcp/insecure"),
            "--kube-replay",
            &path("mocks/kube/gke-insecure"),
            "--save-inventory",
            inv.to_str().expect("utf-8"),
        ],
    );
    assert_eq!(first.code, 0, "{}", first.stderr);
    let again = run("scan", &["--inventory", inv.to_str().expect("utf-8")]);
    assert_eq!(again.code, 0, "{}", again.stderr);
    let messages = |r: &Run| -> Vec<String> {
        r.report["findings"]
            .as_array()
            .map(|f| f.iter().map(|f| message(f).to_string()).collect())
            .unwrap_or_default()
    };
    assert!(!findings(&again.report, "workload-identity-binding-mismatch").is_empty());
    assert_eq!(messages(&first), messages(&again));
}
