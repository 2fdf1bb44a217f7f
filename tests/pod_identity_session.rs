//! EKS Pod Identity session policies end to end: a copy of the bundled `insecure` recording,
//! replayed through the real AWS SDK, where the `DescribePodIdentityAssociation` responses carry
//! a `policy` (the session policy the association sets on the pods' session).
//!
//! The copy has two associations in cluster `prod-private`: `payments/api` → `app-pod-identity`
//! (whose inline policy is widened here to read every secret, so its only user is that
//! association), and a second one, `batch/worker` → `eks-node-public` (a node role that node
//! pools of other clusters also use, so other paths reach it).

mod support;

use cloudscan_collect::testkit::{copy_dir, edit_responses};
use serde_json::{json, Value};
use std::path::{Path, PathBuf};

const APP_ROLE: &str = "arn:aws:iam::123456789012:role/app-pod-identity";
const NODE_ROLE: &str = "arn:aws:iam::123456789012:role/eks-node-public";
const BATCH: &str = "service account `batch/worker` in cluster `prod-private` (pod-identity)";
const PAYMENTS: &str = "service account `payments/api` in cluster `prod-private` (pod-identity)";
const EKS_DIR: &str = "exchanges/eks/us-east-1";
const BATCH_ID: &str = "a-prod-pri01batchwork";

fn insecure() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("mocks/aws/insecure")
}

/// The policy of both associations, as the API returns it (a JSON string), or none.
#[derive(Clone, Copy)]
enum Session<'a> {
    None,
    Json(&'a Value),
    Raw(&'a str),
}

/// The edited copy of the recording, with `session` on both associations.
fn recording(session: Session<'_>) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    copy_dir(&insecure(), dir.path()).expect("copy the recording");
    let eks = dir.path().join(EKS_DIR);
    // `app-pod-identity` reads every secret (its recorded policy is scoped to `payments/*`).
    let iam = dir
        .path()
        .join("exchanges/iam/us-east-1/GetAccountAuthorizationDetails-b98acd89.json");
    let text = std::fs::read_to_string(&iam).expect("read the IAM exchange");
    let scoped = "<PolicyName>payments-secrets</PolicyName><PolicyDocument>%7B%22Version%22%3A%20%222012-10-17%22%2C%20%22Statement%22%3A%20%5B%7B%22Effect%22%3A%20%22Allow%22%2C%20%22Action%22%3A%20%22secretsmanager%3AGetSecretValue%22%2C%20%22Resource%22%3A%20%22arn%3Aaws%3Asecretsmanager%3Aus-east-1%3A123456789012%3Asecret%3Apayments/%2A%22%7D%5D%7D</PolicyDocument>";
    assert_eq!(
        text.matches(scoped).count(),
        1,
        "the recorded payments policy"
    );
    let every_secret = scoped.replace(
        "arn%3Aaws%3Asecretsmanager%3Aus-east-1%3A123456789012%3Asecret%3Apayments/%2A",
        "%2A",
    );
    std::fs::write(&iam, text.replace(scoped, &every_secret)).expect("write the IAM exchange");
    // A second association in the listing, and its description.
    let listed = edit_responses(
        dir.path(),
        "ListPodIdentityAssociations",
        |r| r["path"] == "/clusters/prod-private/pod-identity-associations",
        |responses| {
            let mut responses = responses.clone();
            if let Some(list) = responses[0]["json"]["associations"].as_array_mut() {
                list.push(json!({
                    "clusterName": "prod-private", "namespace": "batch",
                    "serviceAccount": "worker", "associationId": BATCH_ID,
                    "associationArn": format!(
                        "arn:aws:eks:us-east-1:123456789012:podidentityassociation/prod-private/{BATCH_ID}")
                }));
            }
            responses
        },
    )
    .expect("edit the listing");
    assert_eq!(listed, 1);
    let recorded = eks.join("DescribePodIdentityAssociation-prod-private-0.json");
    let mut batch: Value =
        serde_json::from_str(&std::fs::read_to_string(&recorded).expect("read")).expect("json");
    batch["request"]["path"] = json!(format!(
        "/clusters/prod-private/pod-identity-associations/{BATCH_ID}"
    ));
    let association = &mut batch["responses"][0]["json"]["association"];
    association["namespace"] = json!("batch");
    association["serviceAccount"] = json!("worker");
    association["roleArn"] = json!(NODE_ROLE);
    association["associationId"] = json!(BATCH_ID);
    std::fs::write(
        eks.join("DescribePodIdentityAssociation-prod-private-1.json"),
        batch.to_string(),
    )
    .expect("write the second association");
    let policy = match session {
        Session::None => return dir,
        Session::Json(v) => v.to_string(),
        Session::Raw(s) => s.to_string(),
    };
    let described = edit_responses(
        dir.path(),
        "DescribePodIdentityAssociation",
        cloudscan_collect::testkit::any,
        |responses| {
            let mut responses = responses.clone();
            let a = &mut responses[0]["json"]["association"];
            a["policy"] = json!(policy);
            // The API requires session tags off with a policy.
            a["disableSessionTags"] = json!(true);
            responses
        },
    )
    .expect("edit the associations");
    assert_eq!(described, 2);
    dir
}

fn scan(dir: &Path) -> Value {
    let (code, report) = support::replay_report("aws", dir, &[]);
    assert_eq!(code, 0, "the replay is complete: {}", report["coverage"]);
    report
}

fn findings<'a>(report: &'a Value, rule: &str, resource: &str) -> Vec<&'a Value> {
    report["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .filter(|f| f["rule_id"] == rule && f["resource"] == resource)
        .collect()
}

/// Rule, resource, severity and message of every identity finding.
fn identity_findings(report: &Value) -> Vec<(String, String, String, String)> {
    let mut out: Vec<_> = report["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .filter(|f| {
            f["rule_id"]
                .as_str()
                .is_some_and(|r| r.starts_with("identity-"))
        })
        .map(|f| {
            let s = |k: &str| f[k].as_str().unwrap_or_default().to_string();
            (s("rule_id"), s("resource"), s("severity"), s("message"))
        })
        .collect();
    out.sort();
    out
}

fn who(f: &Value) -> Vec<String> {
    f["evidence"]
        .as_array()
        .expect("evidence")
        .iter()
        .find(|e| e["field"] == "who can use it")
        .and_then(|e| e["value"].as_array())
        .map(|v| {
            v.iter()
                .filter_map(|x| x.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

fn session_evidence<'a>(f: &'a Value, field: &str) -> Vec<&'a Value> {
    f["evidence"]
        .as_array()
        .expect("evidence")
        .iter()
        .filter(|e| {
            e["field"] == field
                && e["source"]
                    .as_str()
                    .is_some_and(|s| s.starts_with("session policy of pod identity association"))
        })
        .collect()
}

#[test]
fn a_narrow_session_policy_removes_what_only_its_pods_had_and_says_why_where_others_keep_it() {
    let baseline = scan(recording(Session::None).path());
    // Without a session policy: the association is the only user of app-pod-identity's
    // secrets, and one of three users of the node role's.
    let app = findings(&baseline, "identity-secrets-access", APP_ROLE);
    assert_eq!(app.len(), 1, "{}", baseline["findings"]);
    assert_eq!(who(app[0]), vec![PAYMENTS.to_string()]);
    let node = findings(&baseline, "identity-secrets-access", NODE_ROLE);
    assert_eq!(node.len(), 1);
    assert!(
        who(node[0]).contains(&BATCH.to_string()),
        "{:?}",
        who(node[0])
    );
    assert!(session_evidence(node[0], "narrows").is_empty());

    let only_one_bucket = json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow",
        "Action": "s3:GetObject", "Resource": "arn:aws:s3:::reports-bucket/*"}]});
    let narrowed = scan(recording(Session::Json(&only_one_bucket)).path());
    // app-pod-identity's secrets came only through the association: gone.
    assert!(findings(&narrowed, "identity-secrets-access", APP_ROLE).is_empty());
    // The node role still reaches secrets and every bucket from its node pools: reported,
    // without the association's pods, and the evidence names the session policy.
    for (rule, count) in [
        ("identity-secrets-access", 1),
        ("identity-storage-access", 2),
        ("identity-privilege-escalation", 1),
    ] {
        let before = findings(&baseline, rule, NODE_ROLE);
        let after = findings(&narrowed, rule, NODE_ROLE);
        assert_eq!((before.len(), after.len()), (count, count), "{rule}");
        for (b, a) in before.iter().zip(&after) {
            assert!(who(b).contains(&BATCH.to_string()), "{rule}: {:?}", who(b));
            let remaining: Vec<String> = who(b).into_iter().filter(|w| w != BATCH).collect();
            assert_eq!(who(a), remaining, "{rule}");
            assert!(!a["message"]
                .as_str()
                .unwrap_or_default()
                .contains("batch/worker"));
            let notes = session_evidence(a, "narrows");
            assert_eq!(notes.len(), 1, "{rule}: {}", a["evidence"]);
            assert_eq!(notes[0]["value"]["user"], BATCH);
            let summary = notes[0]["value"]["summary"].as_str().unwrap_or_default();
            assert!(
                summary.contains("batch/worker in cluster prod-private does not allow it"),
                "{summary}"
            );
        }
    }
    // Everything else is as before.
    let others = |r: &Value| {
        identity_findings(r)
            .into_iter()
            .filter(|(_, res, _, _)| res != APP_ROLE && res != NODE_ROLE)
            .collect::<Vec<_>>()
    };
    assert_eq!(others(&baseline), others(&narrowed));
}

#[test]
fn a_session_policy_allowing_everything_changes_nothing() {
    let baseline = scan(recording(Session::None).path());
    let everything = json!({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "*", "Resource": "*"}]});
    let open = scan(recording(Session::Json(&everything)).path());
    assert_eq!(identity_findings(&baseline), identity_findings(&open));
    assert_eq!(
        findings(&open, "identity-secrets-access", APP_ROLE).len(),
        1,
        "the association still reads every secret"
    );
    for f in open["findings"].as_array().expect("findings") {
        assert!(session_evidence(f, "narrows").is_empty(), "{f}");
    }
}

#[test]
fn an_undecodable_session_policy_changes_nothing_and_says_so() {
    let baseline = scan(recording(Session::None).path());
    let broken = scan(
        recording(Session::Raw(
            "{\"Version\": \"2012-10-17\", \"Statement\": [",
        ))
        .path(),
    );
    assert_eq!(identity_findings(&baseline), identity_findings(&broken));
    let app = findings(&broken, "identity-secrets-access", APP_ROLE);
    assert_eq!(app.len(), 1);
    let notes = session_evidence(app[0], "not evaluated (unreadable)");
    assert_eq!(notes.len(), 1, "{}", app[0]["evidence"]);
    assert_eq!(notes[0]["value"]["user"], PAYMENTS);
    let why = notes[0]["value"]["unreadable"].as_str().unwrap_or_default();
    assert!(why.contains("not valid JSON"), "{why}");
    let node = findings(&broken, "identity-secrets-access", NODE_ROLE);
    assert_eq!(node.len(), 1);
    assert!(who(node[0]).contains(&BATCH.to_string()));
    assert_eq!(
        session_evidence(node[0], "not evaluated (unreadable)").len(),
        1
    );
}

/// Runs `cloudscan access --inventory FILE ARGS` and returns its standard output.
fn access(inventory: &Path, args: &[&str]) -> String {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_cloudscan"))
        .arg("access")
        .arg("--inventory")
        .arg(inventory)
        .args(args)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .output()
        .expect("run cloudscan access");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn the_access_command_does_not_list_users_a_session_policy_keeps_from_a_capability() {
    let only_one_bucket = json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow",
        "Action": "s3:GetObject", "Resource": "arn:aws:s3:::reports-bucket/*"}]});
    let dir = recording(Session::Json(&only_one_bucket));
    let saved = tempfile::tempdir().expect("tempdir");
    let inventory = saved.path().join("inventory.json");
    let inv_arg = inventory.to_string_lossy().into_owned();
    let (code, _) = support::replay_report("aws", dir.path(), &["--save-inventory", &inv_arg]);
    assert_eq!(code, 0);

    // Text: the node role reads secrets; batch/worker's pods do not get that through it.
    let text = access(&inventory, &["--capability", "secrets-read"]);
    let node_block = text
        .split("\n\n")
        .find(|b| b.starts_with(NODE_ROLE))
        .unwrap_or_else(|| panic!("the node role holds secrets-read: {text}"));
    assert!(
        !node_block.contains(&format!("used by: {BATCH}")),
        "{node_block}"
    );
    assert!(
        node_block.contains(&format!(
            "not through: {BATCH}: session policy of pod identity association batch/worker"
        )),
        "{node_block}"
    );
    // The association's role reads secrets only through the association, which the session
    // policy keeps from it: still a holder (the role's policies allow it), with no user.
    let app_block = text
        .split("\n\n")
        .find(|b| b.starts_with(APP_ROLE))
        .unwrap_or_else(|| panic!("app-pod-identity holds secrets-read: {text}"));
    assert!(
        !app_block.contains("used by: service account"),
        "{app_block}"
    );
    assert!(
        app_block.contains(&format!("not through: {PAYMENTS}")),
        "{app_block}"
    );

    // JSON: the same split, in its own field.
    let json_out: Value = serde_json::from_str(&access(
        &inventory,
        &["--capability", "secrets-read", "--format", "json"],
    ))
    .expect("json");
    let holders = json_out
        .as_array()
        .cloned()
        .unwrap_or_else(|| json_out["holders"].as_array().cloned().unwrap_or_default());
    let node = holders
        .iter()
        .find(|h| h["identity"] == NODE_ROLE)
        .unwrap_or_else(|| panic!("{json_out}"));
    assert!(!node["used_by"]
        .as_array()
        .expect("used_by")
        .contains(&json!(BATCH)));
    assert_eq!(
        node["kept_out_by_session_policy"].as_array().map(Vec::len),
        Some(1),
        "{node}"
    );

    // One identity: each user's session says what it leaves.
    let one = access(&inventory, &["--identity", NODE_ROLE]);
    assert!(
        one.contains("limited by session policy of pod identity association batch/worker"),
        "{one}"
    );
    // Without the policy nothing is kept out.
    let plain = recording(Session::None);
    let (code, _) = support::replay_report("aws", plain.path(), &["--save-inventory", &inv_arg]);
    assert_eq!(code, 0);
    let text = access(&inventory, &["--capability", "secrets-read"]);
    assert!(!text.contains("not through:"), "{text}");
    assert!(text.contains(&format!("used by: {BATCH}")), "{text}");
}
