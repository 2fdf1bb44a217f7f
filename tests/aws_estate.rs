//! Organization scans (`cloudscan aws --organization`): end to end against moto seeded with an
//! organization (tests/moto/seed_organization.py), recorded and replayed; and the bundled
//! recording `mocks/aws/organization`, which adds what moto cannot do (a member whose role cannot
//! be assumed, an SCP whose content is not a policy).

mod support;

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;
use support::{output_with_timeout, repo_root, tail, MotoServer, MOTO_ACCOUNT};

const SCAN_TIMEOUT: Duration = Duration::from_secs(300);
const EXIT_INCOMPLETE: i32 = 3;
const MEMBER_ROLE: &str = "cloudscan-scan";
/// The secret value the seed stores: it must never be read.
const SECRET_VALUE: &str = "not-a-real-secret";

/// Runs cloudscan with only the given environment (plus PATH and a throw-away HOME).
fn cloudscan(args: &[&str], env: &[(&str, String)], home: &Path) -> (i32, String) {
    support::cloudscan_isolated(args, env, home, SCAN_TIMEOUT)
}

fn moto_env(moto: &MotoServer) -> Vec<(&'static str, String)> {
    vec![
        ("AWS_ACCESS_KEY_ID", "testing".to_string()),
        ("AWS_SECRET_ACCESS_KEY", "testing".to_string()),
        ("AWS_REGION", "us-east-1".to_string()),
        ("AWS_ENDPOINT_URL", moto.endpoint()),
        ("NO_PROXY", "127.0.0.1".to_string()),
    ]
}

/// The venv python next to moto (it has boto3).
fn moto_python() -> PathBuf {
    let server = std::env::var_os("CLOUDSCAN_MOTO_SERVER")
        .filter(|p| !p.is_empty())
        .map(PathBuf::from)
        .unwrap_or_else(|| repo_root().join("target/moto-venv/bin/moto_server"));
    server
        .parent()
        .map(|bin| bin.join("python"))
        .expect("moto_server has a parent directory")
}

/// Runs tests/moto/seed_organization.py; returns its manifest.
fn seed_organization(moto: &MotoServer, work: &Path) -> Value {
    let manifest = work.join("org-manifest.json");
    let mut cmd = Command::new(moto_python());
    cmd.arg(repo_root().join("tests/moto/seed_organization.py"))
        .arg("--endpoint")
        .arg(moto.endpoint())
        .arg("--manifest")
        .arg(&manifest)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", work)
        .env("AWS_CONFIG_FILE", work.join("no-aws-config"))
        .env(
            "AWS_SHARED_CREDENTIALS_FILE",
            work.join("no-aws-credentials"),
        )
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("NO_PROXY", "127.0.0.1")
        .env("PYTHONDONTWRITEBYTECODE", "1");
    let out = output_with_timeout(&mut cmd, Duration::from_secs(180), "seed_organization.py");
    assert!(
        out.status.success(),
        "seeding the organization failed:\n{}\n{}\nmoto log:\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
        tail(moto.log(), 30)
    );
    read_json(&manifest)
}

fn read_json(path: &Path) -> Value {
    let text = std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{} is not JSON: {e}", path.display()))
}

fn arr<'a>(v: &'a Value, what: &str) -> &'a [Value] {
    v.as_array()
        .map(Vec::as_slice)
        .unwrap_or_else(|| panic!("{what} is not an array: {v}"))
}

fn org_account<'a>(inv: &'a Value, id: &str) -> &'a Value {
    arr(&inv["organization"]["accounts"], "organization.accounts")
        .iter()
        .find(|a| a["id"] == id)
        .unwrap_or_else(|| panic!("account {id} not in organization.accounts"))
}

fn path_ids(account: &Value) -> Vec<String> {
    arr(&account["path"], "path")
        .iter()
        .map(|n| n["id"].as_str().unwrap_or_default().to_string())
        .collect()
}

/// Coverage entries of one scope that are not complete.
fn incomplete<'a>(inv: &'a Value, scope: &str) -> Vec<&'a Value> {
    arr(&inv["coverage"], "coverage")
        .iter()
        .filter(|c| c["scope"] == scope && c["status"] != "complete")
        .collect()
}

fn scopes(inv: &Value) -> Vec<String> {
    let mut s: Vec<String> = arr(&inv["scopes"], "scopes")
        .iter()
        .filter_map(|s| s["id"].as_str().map(str::to_string))
        .collect();
    s.sort();
    s
}

fn files_under(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("read_dir").flatten() {
        let p = entry.path();
        if p.is_dir() {
            files_under(&p, out);
        } else {
            out.push(p);
        }
    }
}

/// `ASIA` followed by 16 upper-case letters or digits: a temporary access key id.
fn has_session_key_id(text: &str) -> bool {
    text.match_indices("ASIA").any(|(i, _)| {
        text[i + 4..]
            .chars()
            .take(16)
            .filter(|c| c.is_ascii_uppercase() || c.is_ascii_digit())
            .count()
            == 16
    })
}

/// `cloudscan aws --replay DIR --organization --member-role ...`, saving the inventory in `tmp`:
/// the exit code, the JSON report and the saved inventory.
fn replay_organization(dir: &Path, tmp: &Path) -> (i32, Value, Value) {
    let inv_path = tmp.join("inventory.json");
    let (code, report) = support::replay_report(
        "aws",
        dir,
        &[
            "--organization",
            "--member-role",
            MEMBER_ROLE,
            "--save-inventory",
            inv_path.to_str().expect("utf-8"),
        ],
    );
    (code, report, read_json(&inv_path))
}

/// The inventory's coverage entries of the `organizations` service.
fn org_coverage(inv: &Value) -> Vec<&Value> {
    arr(&inv["coverage"], "coverage")
        .iter()
        .filter(|c| c["service"] == "organizations")
        .collect()
}

#[test]
fn moto_organization_scan_records_and_replays() {
    let mut moto = MotoServer::start();
    let work = tempfile::tempdir().expect("tempdir");
    let manifest = seed_organization(&moto, work.path());
    let account = |name: &str| {
        manifest["accounts"][name]
            .as_str()
            .unwrap_or_else(|| panic!("manifest has no account {name}"))
            .to_string()
    };
    let (prod, shared, sandbox, closed) = (
        account("prod"),
        account("shared"),
        account("sandbox"),
        account("closed"),
    );
    let ou = |name: &str| manifest["ous"][name].as_str().expect("ou id").to_string();
    let policy = |name: &str| {
        manifest["policies"][name]
            .as_str()
            .expect("policy id")
            .to_string()
    };

    let recording = work.path().join("recording");
    let inv_path = work.path().join("inventory.json");
    let report_path = work.path().join("report.json");
    let args = |inv: &Path, report: &Path| -> Vec<String> {
        [
            "aws",
            "--organization",
            "--member-role",
            MEMBER_ROLE,
            "--region",
            "us-east-1",
            "--format",
            "json",
            "--no-progress",
            "-o",
            report.to_str().expect("utf-8"),
            "--save-inventory",
            inv.to_str().expect("utf-8"),
        ]
        .iter()
        .map(|s| s.to_string())
        .collect()
    };
    let mut live_args = args(&inv_path, &report_path);
    live_args.extend(["--record".to_string(), recording.display().to_string()]);
    let live_refs: Vec<&str> = live_args.iter().map(String::as_str).collect();
    let (code, stderr) = cloudscan(&live_refs, &moto_env(&moto), work.path());
    let context = format!(
        "cloudscan stderr:\n{stderr}\nmoto log:\n{}",
        tail(moto.log(), 20)
    );
    assert_eq!(code, EXIT_INCOMPLETE, "exit code; {context}");
    let inv = read_json(&inv_path);

    // Every ACTIVE account was scanned, each under its own scope; the closed one was not.
    let mut want = vec![
        MOTO_ACCOUNT.to_string(),
        prod.clone(),
        shared.clone(),
        sandbox.clone(),
    ];
    want.sort();
    assert_eq!(scopes(&inv), want, "scopes; {context}");
    let prod_scope = arr(&inv["scopes"], "scopes")
        .iter()
        .find(|s| s["id"] == prod.as_str())
        .expect("prod scope");
    assert_eq!(
        prod_scope["name"], "prod",
        "scopes are named after their accounts"
    );
    let org = &inv["organization"];
    assert!(
        org["id"].as_str().is_some_and(|id| id.starts_with("o-")),
        "{org}"
    );
    assert_eq!(org["management_account"], MOTO_ACCOUNT);
    let mut types: Vec<&str> = arr(&org["enabled_policy_types"], "types")
        .iter()
        .filter_map(Value::as_str)
        .collect();
    types.sort_unstable();
    assert_eq!(types, ["RESOURCE_CONTROL_POLICY", "SERVICE_CONTROL_POLICY"]);
    assert_eq!(arr(&org["accounts"], "accounts").len(), 5);

    // The suspended account: listed, not scanned, its scope incomplete with the reason.
    let closed_account = org_account(&inv, &closed);
    assert_eq!(closed_account["status"], "SUSPENDED");
    assert_eq!(closed_account["scanned"], false);
    assert!(
        closed_account["not_scanned_reason"]
            .as_str()
            .is_some_and(|r| r.contains("SUSPENDED")),
        "{closed_account}"
    );
    let closed_gaps = incomplete(&inv, &closed);
    assert!(
        closed_gaps.len() == 1
            && closed_gaps[0]["status"] == "failed"
            && closed_gaps[0]["detail"]
                .as_str()
                .is_some_and(|d| d.contains("SUSPENDED")),
        "{closed_gaps:?}"
    );

    // OU paths, root first, and the SCP / RCP ids at each level.
    let sandbox_account = org_account(&inv, &sandbox);
    assert_eq!(sandbox_account["scanned"], true);
    assert_eq!(
        path_ids(sandbox_account),
        [
            ou("Root"),
            ou("Workloads"),
            ou("Restricted"),
            sandbox.clone()
        ]
    );
    let names: Vec<&str> = arr(&sandbox_account["path"], "path")
        .iter()
        .filter_map(|n| n["name"].as_str())
        .collect();
    assert_eq!(names, ["Root", "Workloads", "Restricted", "sandbox"]);
    let scps = arr(&sandbox_account["scps"], "scps");
    assert_eq!(scps.len(), 4);
    for (level, ids) in scps.iter().enumerate() {
        let ids: Vec<&str> = arr(ids, "level").iter().filter_map(Value::as_str).collect();
        assert!(ids.contains(&"p-FullAWSAccess"), "level {level}: {ids:?}");
        assert_eq!(
            ids.contains(&policy("deny-iam-users").as_str()),
            level == 2,
            "deny-iam-users is attached to Restricted only; level {level}: {ids:?}"
        );
    }
    let rcps = arr(&sandbox_account["rcps"], "rcps");
    assert!(arr(&rcps[1], "rcp level")
        .iter()
        .any(|p| p == &Value::String(policy("deny-external-s3"))));
    assert_eq!(path_ids(org_account(&inv, MOTO_ACCOUNT)).len(), 2);
    let scp_doc = arr(&org["policies"], "policies")
        .iter()
        .find(|p| p["id"] == policy("deny-iam-users").as_str())
        .expect("deny-iam-users stored");
    assert_eq!(scp_doc["kind"], "scp");
    assert_eq!(scp_doc["document"]["Statement"][0]["Effect"], "Deny");
    let rcp_doc = arr(&org["policies"], "policies")
        .iter()
        .find(|p| p["id"] == policy("deny-external-s3").as_str())
        .expect("deny-external-s3 stored");
    assert_eq!(rcp_doc["kind"], "rcp");

    // Identities and clusters carry their own account as scope.
    let identity = |arn: String| {
        arr(&inv["identities"], "identities")
            .iter()
            .find(|i| i["id"] == arn.as_str())
            .unwrap_or_else(|| panic!("identity {arn} missing"))
            .clone()
    };
    assert_eq!(
        identity(format!("arn:aws:iam::{prod}:role/eks-node"))["scope"],
        prod.as_str()
    );
    let admin = identity(format!("arn:aws:iam::{shared}:role/admin"));
    assert_eq!(admin["scope"], shared.as_str());
    assert!(admin["trust"]
        .to_string()
        .contains(&format!("{prod}:role/eks-node")));
    let cluster = arr(&inv["clusters"], "clusters")
        .iter()
        .find(|c| c["name"] == "prod")
        .expect("cluster prod");
    assert_eq!(cluster["scope"], prod.as_str());

    // Resource policies.
    let resource = |arn: &str| {
        arr(&inv["resource_policies"], "resource_policies")
            .iter()
            .find(|r| r["arn"] == arn)
            .unwrap_or_else(|| panic!("no resource policy for {arn}"))
            .clone()
    };
    let bucket = resource(&format!("arn:aws:s3:::prod-data-{prod}"));
    assert_eq!(bucket["kind"], "s3-bucket");
    assert_eq!(bucket["scope"], prod.as_str());
    assert_eq!(bucket["state"], "attached");
    let statement = &bucket["policy"]["document"]["Statement"][0];
    assert_eq!(statement["Action"], "s3:GetObject");
    assert_eq!(
        statement["Principal"]["AWS"],
        format!("arn:aws:iam::{shared}:role/admin")
    );
    assert_eq!(bucket["public_access_block"]["block_public_policy"], true);
    assert_eq!(
        bucket["public_access_block"]["restrict_public_buckets"],
        false
    );
    let logs = resource(&format!("arn:aws:s3:::prod-logs-{prod}"));
    assert_eq!(logs["state"], "none");
    assert_eq!(logs["public_access_block"], Value::Null);
    let key = arr(&inv["resource_policies"], "resource_policies")
        .iter()
        .find(|r| r["kind"] == "kms-key" && r["scope"] == prod.as_str())
        .expect("the customer-managed key of prod");
    assert_eq!(key["state"], "attached");
    assert!(key["policy"]["document"]
        .to_string()
        .contains("SharedAdminDecrypts"));
    let secret = resource(manifest["secret"].as_str().expect("secret arn"));
    assert_eq!(secret["kind"], "secretsmanager-secret");
    assert_eq!(secret["state"], "attached");
    assert!(secret["policy"]["document"]
        .to_string()
        .contains("GetSecretValue"));
    let blocks = arr(&inv["account_public_access_blocks"], "blocks");
    let block = |scope: &str| {
        blocks
            .iter()
            .find(|b| b["scope"] == scope)
            .unwrap_or_else(|| panic!("no account Block Public Access for {scope}"))
    };
    assert_eq!(block(&shared)["state"], "set");
    assert_eq!(block(&shared)["settings"]["restrict_public_buckets"], true);
    assert_eq!(block(&prod)["state"], "none");

    // Only the suspended account (and moto's missing EKS APIs) leave gaps.
    for scope in [
        MOTO_ACCOUNT,
        prod.as_str(),
        shared.as_str(),
        sandbox.as_str(),
    ] {
        let gaps: Vec<&Value> = incomplete(&inv, scope)
            .into_iter()
            .filter(|c| {
                let s = c["service"].as_str().unwrap_or_default();
                !(s.contains("pod-identity") || s.contains("access-entries"))
            })
            .collect();
        assert!(gaps.is_empty(), "{scope}: {gaps:#?}\n{context}");
    }

    // The recording: one folder per member, no credentials, no secret value.
    for member in [&prod, &shared, &sandbox] {
        assert!(
            recording
                .join("accounts")
                .join(member)
                .join("scenario.json")
                .is_file(),
            "no member recording for {member}"
        );
    }
    assert!(!recording.join("accounts").join(&closed).exists());
    let mut files = Vec::new();
    files_under(&recording, &mut files);
    let mut assume_role_seen = 0;
    for f in &files {
        let text = std::fs::read_to_string(f).expect("read recording");
        assert!(
            !text.contains(SECRET_VALUE),
            "{} holds the secret value",
            f.display()
        );
        assert!(
            !has_session_key_id(&text),
            "{} holds an access key id",
            f.display()
        );
        if text.contains("AssumeRoleResponse") {
            assume_role_seen += 1;
            assert!(
                text.contains("<SecretAccessKey>REDACTED</SecretAccessKey>"),
                "{text}"
            );
            assert!(
                text.contains("<SessionToken>REDACTED</SessionToken>"),
                "{text}"
            );
        }
    }
    assert_eq!(assume_role_seen, 3, "one AssumeRole per member");
    let inv_text = std::fs::read_to_string(&inv_path).expect("inventory");
    assert!(!inv_text.contains(SECRET_VALUE));

    // Replay without moto: the same inventory and the same findings.
    moto.stop();
    let inv2 = work.path().join("inventory-replay.json");
    let report2 = work.path().join("report-replay.json");
    let mut replay_args = args(&inv2, &report2);
    replay_args.extend(["--replay".to_string(), recording.display().to_string()]);
    let replay_refs: Vec<&str> = replay_args.iter().map(String::as_str).collect();
    let (code2, stderr2) = cloudscan(&replay_refs, &[], work.path());
    assert_eq!(code2, EXIT_INCOMPLETE, "replay exit code: {stderr2}");
    assert_eq!(
        read_json(&inv2),
        inv,
        "the replay saved a different inventory"
    );
    let findings = |p: &Path| {
        let mut f: Vec<String> = arr(&read_json(p)["findings"], "findings")
            .iter()
            .map(|f| format!("{} {} {}", f["rule_id"], f["scope"], f["resource"]))
            .collect();
        f.sort();
        f
    };
    assert_eq!(findings(&report2), findings(&report_path));
}

fn organization_fixture() -> PathBuf {
    repo_root().join("mocks/aws/organization")
}

/// The bundled recording: the moto organization with the `sandbox` member's AssumeRole denied
/// and the `deny-iam-users` SCP's content replaced by text that is not a policy.
#[test]
fn recorded_organization_with_a_denied_member_is_incomplete_not_failed() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let (code, report, inv) = replay_organization(&organization_fixture(), tmp.path());
    assert_eq!(code, EXIT_INCOMPLETE, "{report:#}");
    let denied: Vec<&Value> = arr(&inv["organization"]["accounts"], "accounts")
        .iter()
        .filter(|a| {
            a["status"] == "ACTIVE"
                && a["scanned"] == false
                && a["not_scanned_reason"]
                    .as_str()
                    .is_some_and(|r| r.contains("AccessDenied") && r.contains("sts:AssumeRole"))
        })
        .collect();
    assert_eq!(
        denied.len(),
        1,
        "one ACTIVE member whose role cannot be assumed"
    );
    let denied_id = denied[0]["id"].as_str().expect("id");
    assert!(!scopes(&inv).contains(&denied_id.to_string()));
    let gaps = incomplete(&inv, denied_id);
    assert!(
        gaps.len() == 1
            && gaps[0]["status"] == "failed"
            && gaps[0]["detail"]
                .as_str()
                .is_some_and(|d| d.contains("cannot assume the member role")),
        "{gaps:#?}"
    );
    // Its guardrails are still known (they come from the management account).
    assert_eq!(arr(&denied[0]["scps"], "scps").len(), 4);
    // The other members were scanned.
    assert_eq!(scopes(&inv).len(), 3, "{:?}", scopes(&inv));
    // The SCP with broken content: kept with the error, no document; organizations coverage partial.
    let broken: Vec<&Value> = arr(&inv["organization"]["policies"], "policies")
        .iter()
        .filter(|p| p["error"].is_string())
        .collect();
    assert_eq!(broken.len(), 1, "{broken:#?}");
    assert_eq!(broken[0]["document"], Value::Null);
    let org_cov = org_coverage(&inv);
    assert_eq!(org_cov.len(), 1);
    assert_eq!(org_cov[0]["status"], "partial");
    assert!(org_cov[0]["detail"]
        .as_str()
        .is_some_and(|d| d.contains("DescribePolicy")));
    // The report lists the denied member's gap.
    assert!(report["coverage"].to_string().contains(denied_id));
}

/// Without --organization the same recording scans the caller's account only, as before.
#[test]
fn without_organization_only_the_caller_is_scanned() {
    let (_, report) = support::replay_report("aws", &organization_fixture(), &[]);
    let scopes: Vec<&str> = arr(&report["scan"]["scopes"], "scan.scopes")
        .iter()
        .filter_map(|s| s["id"].as_str())
        .collect();
    assert_eq!(scopes, [MOTO_ACCOUNT]);
}

/// A caller that cannot read Organizations: its own account is scanned, and the coverage says the
/// guardrails are unknown (the recording with DescribeOrganization answering AccessDenied).
#[test]
fn unreadable_organization_scans_the_caller_and_says_guardrails_are_unknown() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path().join("org");
    cloudscan_collect::testkit::copy_dir(&organization_fixture(), &dir).expect("copy fixture");
    let mut edited = 0;
    let mut files = Vec::new();
    files_under(&dir.join("exchanges"), &mut files);
    for f in files {
        let mut ex = read_json(&f);
        if ex["request"]["operation"] == "DescribeOrganization" {
            ex["responses"] = serde_json::json!([{
                "status": 400,
                "headers": {"content-type": "application/x-amz-json-1.1"},
                "json": {
                    "__type": "AccessDeniedException",
                    "Message": "You don't have permissions to access this resource."
                }
            }]);
            std::fs::write(&f, ex.to_string()).expect("write");
            edited += 1;
        }
    }
    assert_eq!(edited, 1);
    let (code, _, inv) = replay_organization(&dir, tmp.path());
    assert_eq!(code, EXIT_INCOMPLETE);
    assert_eq!(inv["organization"], Value::Null);
    assert_eq!(scopes(&inv), [MOTO_ACCOUNT]);
    let org_cov = org_coverage(&inv);
    assert_eq!(org_cov.len(), 1, "{org_cov:#?}");
    assert_eq!(org_cov[0]["scope"], MOTO_ACCOUNT);
    assert_eq!(org_cov[0]["status"], "failed");
    let detail = org_cov[0]["detail"].as_str().unwrap_or_default();
    assert!(
        detail.contains("guardrails")
            && detail.contains("unknown")
            && detail.contains("AccessDenied"),
        "{detail}"
    );
}

/// A copy of the bundled organization recording with every `operation` exchange that `pick`
/// selects answering Organizations' AccessDenied; returns the copy and how many were edited.
fn organization_with_denied(
    tmp: &Path,
    operation: &str,
    pick: impl Fn(&Value) -> bool,
) -> (PathBuf, usize) {
    let dir = tmp.join("org");
    cloudscan_collect::testkit::copy_dir(&organization_fixture(), &dir).expect("copy fixture");
    let mut edited = 0;
    let mut files = Vec::new();
    files_under(&dir.join("exchanges"), &mut files);
    for f in files {
        let mut ex = read_json(&f);
        if ex["request"]["operation"] == operation && pick(&ex["request"]) {
            ex["responses"] = serde_json::json!([{
                "status": 400,
                "headers": {"content-type": "application/x-amz-json-1.1"},
                "json": {
                    "__type": "AccessDeniedException",
                    "Message": "You don't have permissions to access this resource."
                }
            }]);
            std::fs::write(&f, ex.to_string()).expect("write");
            edited += 1;
        }
    }
    (dir, edited)
}

/// The tree walk (`ListOrganizationalUnitsForParent` / `ListAccountsForParent` per root and OU)
/// denied under one OU: the accounts below it cannot be known, so the organization is unreadable
/// (never a scan that silently leaves accounts out); the coverage names the denied permission.
#[test]
fn a_denied_tree_listing_makes_the_organization_unreadable_and_names_the_permission() {
    let tmp = tempfile::tempdir().expect("tempdir");
    // The first OU's accounts (ou-...; the root's listing, r-..., stays readable).
    let (dir, edited) = organization_with_denied(tmp.path(), "ListAccountsForParent", |req| {
        req["body"]["ParentId"]
            .as_str()
            .is_some_and(|p| p.starts_with("ou-"))
    });
    assert!(edited >= 1);
    let (code, _, inv) = replay_organization(&dir, tmp.path());
    assert_eq!(code, EXIT_INCOMPLETE);
    assert_eq!(inv["organization"], Value::Null);
    assert_eq!(scopes(&inv), [MOTO_ACCOUNT]);
    let org_cov = org_coverage(&inv);
    assert_eq!(org_cov.len(), 1, "{org_cov:#?}");
    assert_eq!(org_cov[0]["status"], "failed");
    let detail = org_cov[0]["detail"].as_str().unwrap_or_default();
    assert!(
        detail.contains("needs organizations:ListAccountsForParent")
            && detail.contains("guardrails"),
        "{detail}"
    );
}

/// One policy whose targets cannot be listed: where that policy type applies is unknown, so
/// every account's levels of that type are unknown (never "none attached"); the other type is
/// still known, and the accounts are still scanned.
#[test]
fn a_policy_whose_targets_cannot_be_listed_leaves_its_type_unknown() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let (dir, edited) = organization_with_denied(tmp.path(), "ListTargetsForPolicy", |req| {
        req["body"]["PolicyId"] == "p-RCPFullAWSAccess"
    });
    assert_eq!(edited, 1);
    let (code, _, inv) = replay_organization(&dir, tmp.path());
    assert_eq!(code, EXIT_INCOMPLETE);
    let accounts = arr(&inv["organization"]["accounts"], "accounts");
    assert_eq!(accounts.len(), 5);
    for a in accounts {
        assert_eq!(a["rcps"], Value::Null, "{a:#}");
        assert_eq!(
            arr(&a["scps"], "scps").len(),
            arr(&a["path"], "path").len(),
            "{a:#}"
        );
    }
    assert_eq!(scopes(&inv).len(), 3, "{:?}", scopes(&inv));
    let org_cov = org_coverage(&inv);
    assert_eq!(org_cov.len(), 1, "{org_cov:#?}");
    assert_eq!(org_cov[0]["status"], "partial");
    assert!(org_cov[0]["detail"]
        .as_str()
        .is_some_and(|d| d.contains("needs organizations:ListTargetsForPolicy")));
}

/// The report of an organization scan summarizes each account (issue 12, item 5): counts per
/// severity, coverage state and OU path, worst first, in JSON, table, Markdown and HTML.
#[test]
fn the_organization_report_summarizes_each_account() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let fixture = organization_fixture();
    let org = ["--organization", "--member-role", MEMBER_ROLE];
    let (code, report) = support::replay_report("aws", &fixture, &org);
    assert_eq!(code, EXIT_INCOMPLETE, "{report:#}");
    let summaries = arr(&report["scopes"], "scopes");
    // management, prod, shared scanned; sandbox (role denied) and closed (suspended) not.
    assert_eq!(summaries.len(), 5, "{summaries:#?}");
    let by_name = |name: &str| {
        summaries
            .iter()
            .find(|s| s["name"] == name)
            .unwrap_or_else(|| panic!("no scope named {name}: {summaries:#?}"))
    };
    let sandbox = by_name("sandbox");
    assert_eq!(sandbox["coverage"], "not_scanned");
    assert_eq!(sandbox["path"], "Root/Workloads/Restricted");
    assert!(sandbox["reason"]
        .as_str()
        .is_some_and(|r| r.contains("sts:AssumeRole")));
    let closed = by_name("closed");
    assert_eq!(closed["coverage"], "not_scanned");
    assert!(closed["reason"]
        .as_str()
        .is_some_and(|r| r.contains("SUSPENDED")));
    assert_eq!(by_name("prod")["path"], "Root/Workloads");
    // moto lacks two EKS APIs in prod: incomplete, with the number of calls.
    assert_eq!(by_name("prod")["coverage"], "incomplete");
    assert_eq!(by_name("prod")["incomplete_calls"], 2);
    assert_eq!(by_name("shared")["coverage"], "complete");
    // The per-scope counts add up to the summary and to the findings of each scope.
    for key in ["critical", "high", "medium", "low", "info", "waived"] {
        let sum: u64 = summaries.iter().map(|s| s[key].as_u64().unwrap_or(0)).sum();
        assert_eq!(Some(sum), report["summary"][key].as_u64(), "{key}");
    }
    for s in summaries {
        let n = arr(&report["findings"], "findings")
            .iter()
            .filter(|f| f["scope"] == s["id"])
            .count() as u64;
        let open: u64 = ["critical", "high", "medium", "low", "info"]
            .iter()
            .map(|k| s[*k].as_u64().unwrap_or(0))
            .sum();
        assert_eq!(n, open + s["waived"].as_u64().unwrap_or(0), "{s}");
    }
    // Worst first: no scope has more findings of a higher severity than the one before it.
    let key = |s: &Value| {
        ["critical", "high", "medium", "low", "info"].map(|k| s[k].as_u64().unwrap_or(0))
    };
    for pair in summaries.windows(2) {
        assert!(key(&pair[0]) >= key(&pair[1]), "{pair:#?}");
    }

    // The table: the summary block, then findings grouped by scope.
    let table = tmp.path().join("report.txt");
    let mut args = vec![
        "aws",
        "--replay",
        fixture.to_str().expect("utf-8"),
        "--no-progress",
        "-o",
        table.to_str().expect("utf-8"),
    ];
    args.extend_from_slice(&org);
    let (code, stderr) = cloudscan(&args, &[], tmp.path());
    assert_eq!(code, EXIT_INCOMPLETE, "{stderr}");
    let text = std::fs::read_to_string(&table).expect("table report");
    assert!(
        text.contains(
            "SCOPES (5): 3 with open findings, 2 incomplete, 2 not scanned, 0 clean and complete"
        ),
        "{text}"
    );
    let sandbox_id = sandbox["id"].as_str().expect("id");
    let row = |id: &str| {
        text.lines()
            .position(|l| l.starts_with(&format!("│ {id} ")))
            .unwrap_or_else(|| panic!("no summary row for {id}:\n{text}"))
    };
    let first = summaries[0]["id"].as_str().expect("id");
    assert!(row(first) < row(sandbox_id));
    assert!(
        text.contains("NOT SCANNED: cannot assume the member role"),
        "{text}"
    );
    assert!(text.contains(&format!("== SCOPE {first} (")), "{text}");
    assert!(!text.contains(&format!("== SCOPE {sandbox_id}")), "{text}");

    // Markdown and HTML carry the same summary.
    for (format, file) in [("markdown", "report.md"), ("html", "report.html")] {
        let path = tmp.path().join(file);
        let mut args = vec![
            "aws",
            "--replay",
            fixture.to_str().expect("utf-8"),
            "--no-progress",
            "--format",
            format,
            "-o",
            path.to_str().expect("utf-8"),
        ];
        args.extend_from_slice(&org);
        let (code, stderr) = cloudscan(&args, &[], tmp.path());
        assert_eq!(code, EXIT_INCOMPLETE, "{stderr}");
        let text = std::fs::read_to_string(&path).expect("report");
        match format {
            "markdown" => {
                assert!(text.contains("## Scopes\n"), "{text}");
                assert!(
                    text.contains(&format!(
                        "| {sandbox_id} | sandbox, Root/Workloads/Restricted |"
                    )),
                    "{text}"
                );
            }
            _ => {
                assert!(text.contains("<section id=\"scopes\""), "{text}");
                // Every summary row links to a <details> block of that scope.
                for s in summaries {
                    let id = s["id"].as_str().expect("id");
                    let block = format!("data-scope=\"{id}\"");
                    let at = text
                        .find(&block)
                        .unwrap_or_else(|| panic!("no block for {id}"));
                    let open = text[..at].rfind("<details").expect("details");
                    let anchor_start = text[open..].find("id=\"").expect("id") + open + 4;
                    let anchor_len = text[anchor_start..].find('"').expect("end");
                    let anchor = &text[anchor_start..anchor_start + anchor_len];
                    assert!(
                        text.contains(&format!("<a href=\"#{anchor}\">{id}</a>")),
                        "{id}"
                    );
                }
            }
        }
    }
}
