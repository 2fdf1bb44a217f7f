//! History, diffs, waivers and exit codes, through the real binary: scans of the bundled AWS
//! recording, saved as an inventory and changed between runs the way an account changes between
//! nights (a cluster made private, encryption turned off, a collector failing).

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

const BIN: &str = env!("CARGO_BIN_EXE_cloudscan");
const ACCOUNT: &str = "123456789012";

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn run(args: &[&str], cwd: &Path) -> Output {
    Command::new(BIN)
        .args(args)
        .current_dir(cwd)
        .env_remove("CLOUDSCAN_STORE")
        .env_remove("CLOUDSCAN_CONFIG")
        .output()
        .expect("run cloudscan")
}

fn code(out: &Output) -> i32 {
    out.status.code().unwrap_or(-1)
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn json(out: &Output) -> Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "stdout is not JSON ({e}); stderr: {}\n{}",
            stderr(out),
            String::from_utf8_lossy(&out.stdout)
        )
    })
}

/// The inventory of the bundled insecure AWS recording.
fn base_inventory(dir: &Path) -> Value {
    let path = dir.join("base.json");
    let out = run(
        &[
            "aws",
            "--replay",
            root().join("mocks/aws/insecure").to_str().unwrap(),
            "--no-progress",
            "--save-inventory",
            path.to_str().unwrap(),
            "--format",
            "json",
        ],
        dir,
    );
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn cluster<'a>(inv: &'a mut Value, name: &str) -> &'a mut Value {
    inv["clusters"]
        .as_array_mut()
        .unwrap()
        .iter_mut()
        .find(|c| c["name"] == name)
        .unwrap_or_else(|| panic!("no cluster {name}"))
}

/// Scans an inventory with the history store and returns (exit code, report, stderr).
fn scan(dir: &Path, inv: &Value, name: &str, extra: &[&str]) -> (i32, Value, String) {
    let path = dir.join(format!("{name}.json"));
    std::fs::write(&path, serde_json::to_string(inv).unwrap()).unwrap();
    let store = dir.join("history.db");
    let mut args = vec![
        "scan",
        "--inventory",
        path.to_str().unwrap(),
        "--store",
        store.to_str().unwrap(),
        "--format",
        "json",
    ];
    args.extend_from_slice(extra);
    let out = run(&args, dir);
    (code(&out), json(&out), stderr(&out))
}

fn has(findings: &Value, rule: &str, resource_suffix: &str) -> bool {
    findings
        .as_array()
        .unwrap()
        .iter()
        .any(|f| f["rule_id"] == rule && f["resource"].as_str().unwrap().ends_with(resource_suffix))
}

#[test]
fn history_tracks_new_fixed_and_open_findings_across_scans() {
    let dir = tempfile::tempdir().unwrap();
    let base = base_inventory(dir.path());

    // Night 1: the account as recorded. First scan of the scope: everything is new.
    let (rc, r1, err) = scan(dir.path(), &base, "n1", &[]);
    assert_eq!(rc, 0, "{err}");
    let total = r1["summary"]["findings"].as_u64().unwrap();
    assert_eq!(total, 24);
    assert_eq!(r1["scan"]["id"], 1);
    assert_eq!(r1["summary"]["new"], total);
    assert_eq!(r1["summary"]["fixed"], 0);
    assert_eq!(r1["diff"]["baselines"][0]["scope"], ACCOUNT);
    assert_eq!(r1["diff"]["baselines"][0]["scan_id"], Value::Null);

    // Night 2: prod-public loses its public endpoint (fixes api-endpoint-public there) and
    // prod-private loses secrets encryption (a new finding).
    let mut n2 = base.clone();
    cluster(&mut n2, "prod-public")["endpoint"]["public_access"] = Value::Bool(false);
    cluster(&mut n2, "prod-private")["secrets_encryption"] = serde_json::json!({"enabled": false, "key": null, "source": "eks:DescribeCluster cluster.encryptionConfig"});
    let (rc, r2, err) = scan(dir.path(), &n2, "n2", &[]);
    assert_eq!(rc, 0, "{err}");
    assert_eq!(r2["scan"]["id"], 2);
    assert_eq!(r2["diff"]["baselines"][0]["scan_id"], 1);
    assert_eq!(r2["summary"]["new"], 1, "{}", r2["diff"]);
    assert_eq!(r2["summary"]["fixed"], 1);
    assert_eq!(r2["diff"]["open"], total - 1);
    let fixed = &r2["diff"]["fixed"][0];
    assert_eq!(fixed["rule_id"], "api-endpoint-public");
    assert!(fixed["resource"]
        .as_str()
        .unwrap()
        .ends_with("cluster/prod-public"));
    let new: Vec<&Value> = r2["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["change"] == "new")
        .collect();
    assert_eq!(new.len(), 1);
    assert_eq!(new[0]["rule_id"], "secrets-encryption-disabled");
    assert!(new[0]["resource"]
        .as_str()
        .unwrap()
        .ends_with("cluster/prod-private"));
    // The trend holds both scans, oldest first, this one last.
    let trend = r2["trend"].as_array().unwrap();
    assert_eq!(trend.len(), 2);
    assert_eq!(trend[0]["scan_id"], 1);
    assert_eq!(trend[1]["scan_id"], 2);

    // Night 3: nothing changed: nothing new, nothing fixed, everything still open.
    let (rc, r3, _) = scan(dir.path(), &n2, "n3", &[]);
    assert_eq!(rc, 0);
    assert_eq!(r3["summary"]["new"], 0);
    assert_eq!(r3["summary"]["fixed"], 0);
    assert_eq!(r3["diff"]["open"], r3["summary"]["findings"]);

    // Night 4: prod-private is encrypted again, but EKS could not be read in us-east-1. The
    // finding that disappeared is not re-assessed, so it is not counted as fixed.
    let mut n4 = base.clone();
    cluster(&mut n4, "prod-public")["endpoint"]["public_access"] = Value::Bool(false);
    for c in n4["coverage"].as_array_mut().unwrap() {
        if c["service"] == "eks" && c["region"] == "us-east-1" {
            c["status"] = "failed".into();
            c["detail"] = "eks:ListClusters: AccessDeniedException".into();
        }
    }
    let (rc, r4, err) = scan(dir.path(), &n4, "n4", &[]);
    assert_eq!(rc, 3, "an incomplete scan exits 3: {err}");
    assert_eq!(r4["summary"]["fixed"], 0);
    let unverified = r4["diff"]["unverified"].as_array().unwrap();
    assert!(
        has(
            &r4["diff"]["unverified"],
            "secrets-encryption-disabled",
            "cluster/prod-private"
        ),
        "{unverified:?}"
    );

    // `history` lists the four scans, newest first, with their counts.
    let store = dir.path().join("history.db");
    let out = run(
        &[
            "history",
            "--store",
            store.to_str().unwrap(),
            "--format",
            "json",
        ],
        dir.path(),
    );
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let list = json(&out);
    let ids: Vec<i64> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["id"].as_i64().unwrap())
        .collect();
    assert_eq!(ids, [4, 3, 2, 1]);
    assert_eq!(list[2]["new"], 1);
    assert_eq!(list[2]["fixed"], 1);
    assert_eq!(list[0]["complete"], false);
    assert_eq!(list[3]["scopes"], serde_json::json!([ACCOUNT]));
    let table = run(&["history", "--store", store.to_str().unwrap()], dir.path());
    let text = String::from_utf8_lossy(&table.stdout);
    assert!(
        text.contains("(incomplete)") && text.lines().count() == 5,
        "{text}"
    );

    // `diff` between any two stored scans; default: newest against the one before.
    let out = run(
        &[
            "diff",
            "--store",
            store.to_str().unwrap(),
            "--from",
            "1",
            "--to",
            "3",
            "--format",
            "json",
        ],
        dir.path(),
    );
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let d = json(&out);
    assert_eq!(d["diff"]["new"], 1);
    assert_eq!(d["diff"]["fixed"].as_array().unwrap().len(), 1);
    assert_eq!(d["new"][0]["rule_id"], "secrets-encryption-disabled");
    let out = run(
        &[
            "diff",
            "--store",
            store.to_str().unwrap(),
            "--fail-on",
            "high",
        ],
        dir.path(),
    );
    // Scan 4 against scan 3: nothing new, so the gate passes.
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert!(String::from_utf8_lossy(&out.stdout).contains("scan 4"));
    let out = run(
        &[
            "diff",
            "--store",
            store.to_str().unwrap(),
            "--from",
            "1",
            "--to",
            "2",
            "--fail-on",
            "high",
        ],
        dir.path(),
    );
    assert_eq!(code(&out), 1, "a new high finding fails the diff gate");
    let out = run(
        &["diff", "--store", store.to_str().unwrap(), "--from", "99"],
        dir.path(),
    );
    assert_eq!(code(&out), 2);
    assert!(stderr(&out).contains("no scan 99"), "{}", stderr(&out));

    // `report` renders a stored scan again: the same document.
    let out = run(
        &[
            "report",
            "--store",
            store.to_str().unwrap(),
            "--scan",
            "2",
            "--format",
            "json",
        ],
        dir.path(),
    );
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert_eq!(json(&out), r2);
    let out = run(
        &["report", "--store", store.to_str().unwrap(), "--scan", "99"],
        dir.path(),
    );
    assert_eq!(code(&out), 2);
    assert!(stderr(&out).contains("no scan 99"), "{}", stderr(&out));
}

#[test]
fn new_only_gates_on_new_findings() {
    let dir = tempfile::tempdir().unwrap();
    let base = base_inventory(dir.path());
    let gate = ["--fail-on", "high", "--new-only"];
    // The first scan of a scope: everything is new, and there are high findings.
    let (rc, _, _) = scan(dir.path(), &base, "a", &gate);
    assert_eq!(rc, 1);
    // Same findings again: nothing new, the gate passes although high findings are open...
    let (rc, r, _) = scan(dir.path(), &base, "b", &gate);
    assert_eq!(rc, 0);
    assert!(r["summary"]["high"].as_u64().unwrap() > 0);
    // ...while the plain gate still fails.
    let (rc, _, _) = scan(dir.path(), &base, "c", &["--fail-on", "high"]);
    assert_eq!(rc, 1);
    // A new medium finding does not trip a high gate; a new high one does.
    let mut changed = base.clone();
    cluster(&mut changed, "prod-private")["audit_logging"]["audit_enabled"] = Value::Bool(false);
    let (rc, r, _) = scan(dir.path(), &changed, "d", &gate);
    assert_eq!(r["summary"]["new"], 1, "{}", r["diff"]);
    assert_eq!(rc, 0, "only a medium finding is new");
    let mut worse = changed.clone();
    cluster(&mut worse, "prod-private")["endpoint"] = serde_json::json!({"public_access": true, "private_access": false, "public_cidrs": ["0.0.0.0/0"], "source": "test"});
    let (rc, r, _) = scan(dir.path(), &worse, "e", &gate);
    assert_eq!(r["summary"]["new"], 1, "{}", r["diff"]);
    assert_eq!(rc, 1);
    // --new-only without a store is a usage error.
    let out = run(
        &[
            "scan",
            "--inventory",
            dir.path().join("a.json").to_str().unwrap(),
            "--new-only",
        ],
        dir.path(),
    );
    assert_eq!(code(&out), 2);
    assert!(stderr(&out).contains("--store"), "{}", stderr(&out));
}

#[test]
fn waivers_match_expire_and_go_stale() {
    let dir = tempfile::tempdir().unwrap();
    let base = base_inventory(dir.path());
    let config = dir.path().join("cloudscan.toml");
    std::fs::write(
        &config,
        format!(
            r#"# accepted risks
[[waiver]]
rule = "identity-admin-access"
resource = "arn:aws:iam::{ACCOUNT}:role/ci-*"
reason = "CI deployer is admin by design until SEC-42 lands"
owner = "platform@example.com"
expires = 2999-12-31

[[waiver]]
rule = "api-endpoint-public"
resource = "arn:aws:eks:*:{ACCOUNT}:cluster/staging-*"
reason = "staging behind the office range"
owner = "platform@example.com"
expires = 2020-01-31

[[waiver]]
rule = "local-auth-enabled"
resource = "arn:aws:eks:*:{ACCOUNT}:cluster/does-not-exist"
reason = "old cluster"
owner = "platform@example.com"
expires = 2999-01-01

[[waiver]]
rule = "local-auth-enabled"
resource = "*"
reason = "GKE-only exception"
owner = "platform@example.com"
expires = 2999-01-01
provider = "gcp"
"#
        ),
    )
    .unwrap();
    // ./cloudscan.toml is read by default (the command runs in `dir`). Its expiries in 2999 and
    // the `*` waiver are broad: accepted on purpose here (tests/hardening.rs checks the guard).
    let (rc, r, err) = scan(
        dir.path(),
        &base,
        "w",
        &["--fail-on", "critical", "--allow-broad-waivers"],
    );
    // The only critical finding is waived: the critical gate passes.
    assert_eq!(rc, 0, "{err}");
    assert_eq!(r["summary"]["critical"], 0);
    assert_eq!(r["summary"]["waived"], 1);
    // In force: the two AWS waivers that have not expired (matching or not); not the expired
    // one, not the GCP one.
    assert_eq!(r["summary"]["waivers"], 2);
    assert_eq!(
        r["summary"]["findings"], 24,
        "waived findings stay in the report"
    );
    let waived: Vec<&Value> = r["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["status"] == "waived")
        .collect();
    assert_eq!(waived.len(), 1);
    assert_eq!(waived[0]["rule_id"], "identity-admin-access");
    assert_eq!(waived[0]["waiver"]["owner"], "platform@example.com");
    assert_eq!(waived[0]["waiver"]["expires"], "2999-12-31");
    assert_eq!(waived[0]["waiver"]["location"], "cloudscan.toml:2");
    // The expired waiver no longer applies, and says so.
    let expired = r["waivers"]["expired"].as_array().unwrap();
    assert_eq!(expired.len(), 1);
    assert_eq!(expired[0]["matches"], 1);
    assert!(has(
        &r["findings"],
        "api-endpoint-public",
        "cluster/staging-legacy"
    ));
    assert!(err.contains("expired on 2020-01-31"), "{err}");
    // The waiver that matches nothing is stale; the GCP-only one is not this scan's business.
    let stale = r["waivers"]["stale"].as_array().unwrap();
    assert_eq!(stale.len(), 1, "{stale:?}");
    assert_eq!(stale[0]["waiver"]["location"], "cloudscan.toml:16");
    assert!(err.contains("matches no finding"), "{err}");
    // The table report shows the waived finding with its reason.
    let out = run(
        &[
            "scan",
            "--inventory",
            dir.path().join("w.json").to_str().unwrap(),
            "--allow-broad-waivers",
        ],
        dir.path(),
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("(2 waiver(s) in force)"), "{text}");
    assert!(
        text.contains("WAIVED (1)") && text.contains("SEC-42"),
        "{text}"
    );

    // A broken configuration stops the run before scanning, pointing at the line.
    let bad = dir.path().join("bad.toml");
    std::fs::write(
        &bad,
        "[[waiver]]\nrule = \"identity-admin-access\"\nresource = \"*\"\nreason = \"r\"\nowner = \"o\"\nexpires = \"soon\"\n",
    )
    .unwrap();
    let out = run(
        &[
            "scan",
            "--inventory",
            dir.path().join("w.json").to_str().unwrap(),
            "--config",
            bad.to_str().unwrap(),
        ],
        dir.path(),
    );
    assert_eq!(code(&out), 2);
    assert!(
        stderr(&out).contains("bad.toml:6:11: `expires` must be a date"),
        "{}",
        stderr(&out)
    );
}

/// Reads the store directly: every scan complete (its findings all there) and the file sound.
fn check_store(path: &Path) -> usize {
    let conn = rusqlite::Connection::open(path).unwrap();
    let integrity: String = conn
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .unwrap();
    assert_eq!(integrity, "ok");
    let mut stmt = conn
        .prepare("SELECT id, report, (SELECT count(*) FROM findings WHERE scan_id = scans.id) FROM scans")
        .unwrap();
    let rows: Vec<(i64, String, i64)> = stmt
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    for (id, report, n) in &rows {
        let doc: Value = serde_json::from_str(report)
            .unwrap_or_else(|e| panic!("scan {id}: stored report unreadable: {e}"));
        assert_eq!(doc["scan"]["id"], *id);
        assert_eq!(
            doc["findings"].as_array().unwrap().len() as i64,
            *n,
            "scan {id}"
        );
    }
    rows.len()
}

#[test]
fn concurrent_writers_and_killed_scans_leave_a_sound_store() {
    let dir = tempfile::tempdir().unwrap();
    let base = base_inventory(dir.path());
    let inv = dir.path().join("inv.json");
    std::fs::write(&inv, serde_json::to_string(&base).unwrap()).unwrap();
    let store = dir.path().join("nested/dir/history.db");
    let args = |store: &Path| {
        vec![
            "scan".to_string(),
            "--inventory".into(),
            inv.to_str().unwrap().into(),
            "--store".into(),
            store.to_str().unwrap().into(),
            "--format".into(),
            "json".into(),
        ]
    };
    // Eight writers at once, on a database none of them has created yet.
    let children: Vec<_> = (0..8)
        .map(|_| {
            Command::new(BIN)
                .args(args(&store))
                .current_dir(dir.path())
                .stdout(Stdio::null())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    for child in children {
        let out = child.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    assert_eq!(check_store(&store), 8);

    // Scans killed at different moments: each leaves all of its scan or none of it.
    for delay_ms in [5u64, 20, 40, 60, 80, 120, 160, 240] {
        let mut child = Command::new(BIN)
            .args(args(&store))
            .current_dir(dir.path())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(std::time::Duration::from_millis(delay_ms));
        let _ = child.kill();
        let _ = child.wait();
    }
    let n = check_store(&store);
    assert!((8..=16).contains(&n), "{n} scans");
    // The store still takes scans and diffs them against the last complete one.
    let out = run(
        &args(&store).iter().map(String::as_str).collect::<Vec<_>>(),
        dir.path(),
    );
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let r = json(&out);
    assert_eq!(r["summary"]["new"], 0);
    assert_eq!(check_store(&store), n + 1);
}

// --- Retention and a failing history (issue 15) -------------------------------------------------

fn scan_count(db: &Path) -> i64 {
    let conn = rusqlite::Connection::open(db).unwrap();
    conn.query_row("SELECT count(*) FROM scans", [], |r| r.get(0))
        .unwrap()
}

fn db_size(db: &Path) -> u64 {
    let wal = PathBuf::from(format!("{}-wal", db.display()));
    std::fs::metadata(db).map(|m| m.len()).unwrap_or(0)
        + std::fs::metadata(wal).map(|m| m.len()).unwrap_or(0)
}

#[test]
fn prune_keeps_the_newest_scans_per_scope_set_and_shrinks_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let base = base_inventory(dir.path());
    let db = dir.path().join("history.db");
    let db_arg = db.to_str().unwrap().to_string();
    // A second scope set: the same account under another id.
    let mut other = base.clone();
    let text = serde_json::to_string(&other)
        .unwrap()
        .replace(ACCOUNT, "210987654321");
    other = serde_json::from_str(&text).unwrap();
    for i in 0..6 {
        let (rc, _, err) = scan(dir.path(), &base, &format!("a{i}"), &[]);
        assert_eq!(rc, 0, "{err}");
    }
    for i in 0..2 {
        let (rc, _, err) = scan(dir.path(), &other, &format!("b{i}"), &[]);
        assert_eq!(rc, 0, "{err}");
    }
    assert_eq!(scan_count(&db), 8);
    let before = db_size(&db);

    // Neither --keep nor --older-than: a usage error.
    let out = run(&["history", "prune", "--store", &db_arg], dir.path());
    assert_eq!(code(&out), 2, "{}", stderr(&out));

    let out = run(
        &[
            "history", "prune", "--store", &db_arg, "--keep", "2", "--format", "json",
        ],
        dir.path(),
    );
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let pruned = json(&out);
    assert_eq!(pruned["scans"], 4, "{pruned}");
    assert_eq!(scan_count(&db), 4);
    let after = db_size(&db);
    assert!(
        after < before,
        "the database did not shrink: {before} -> {after} bytes"
    );
    assert_eq!(pruned["bytes_after"].as_u64(), Some(after));
    // The newest two of the first account remain, with their findings; the store is sound.
    let listed = json(&run(
        &[
            "history", "--store", &db_arg, "--format", "json", "--scope", ACCOUNT,
        ],
        dir.path(),
    ));
    let ids: Vec<i64> = listed
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["id"].as_i64().unwrap())
        .collect();
    assert_eq!(ids, vec![6, 5]);
    assert_eq!(check_store(&db), 4);
    // A diff across the pruned range still works from the scans that are left.
    let out = run(
        &["diff", "--store", &db_arg, "--from", "5", "--to", "6"],
        dir.path(),
    );
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let out = run(&["report", "--store", &db_arg, "--scan", "1"], dir.path());
    assert_eq!(code(&out), 2);
    assert!(stderr(&out).contains("no scan 1"), "{}", stderr(&out));

    // --keep on a scan prunes right after storing it.
    let (rc, _, err) = scan(dir.path(), &base, "a6", &["--keep", "1"]);
    assert_eq!(rc, 0, "{err}");
    assert!(err.contains("pruned 3 older scan(s)"), "{err}");
    assert_eq!(scan_count(&db), 2, "one scan of each scope set");
    // --keep without --store is a usage error.
    let out = run(
        &[
            "scan",
            "--inventory",
            dir.path().join("a6.json").to_str().unwrap(),
            "--keep",
            "1",
        ],
        dir.path(),
    );
    assert_eq!(code(&out), 2);

    // --older-than: every scan started more than a second ago.
    std::thread::sleep(std::time::Duration::from_millis(2100));
    let out = run(
        &["history", "prune", "--store", &db_arg, "--older-than", "1s"],
        dir.path(),
    );
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert!(String::from_utf8_lossy(&out.stdout).contains("pruned 2 scan(s)"));
    assert_eq!(scan_count(&db), 0);
}

#[test]
fn the_report_is_written_when_the_history_cannot_be_saved() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let base = base_inventory(dir.path());
    let (rc, _, err) = scan(dir.path(), &base, "first", &[]);
    assert_eq!(rc, 0, "{err}");
    let db = dir.path().join("history.db");
    // The database opens but refuses every new scan, as a full volume or a damaged file does
    // (root ignores file modes, so a read-only file would not do here).
    rusqlite::Connection::open(&db)
        .unwrap()
        .execute_batch(
            "CREATE TRIGGER refuse BEFORE INSERT ON scans BEGIN
                 SELECT RAISE(ABORT, 'database or disk is full (simulated)');
             END;",
        )
        .unwrap();
    let inv = dir.path().join("first.json");
    let report = dir.path().join("out/report.json");
    let out = run(
        &[
            "scan",
            "--inventory",
            inv.to_str().unwrap(),
            "--store",
            db.to_str().unwrap(),
            "--format",
            "json",
            "-o",
            report.to_str().unwrap(),
        ],
        dir.path(),
    );
    let err = stderr(&out);
    assert_eq!(code(&out), 2, "{err}");
    assert!(
        err.contains("database or disk is full (simulated)"),
        "{err}"
    );
    assert!(err.contains("the report was written"), "{err}");
    let doc: Value = serde_json::from_str(&std::fs::read_to_string(&report).unwrap()).unwrap();
    assert_eq!(doc["summary"]["findings"], 24);
    assert_eq!(doc["scan"]["id"], Value::Null, "not stored, so no id");
    let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&report), 0o600);
    assert_eq!(mode(&dir.path().join("out")), 0o700);
    assert_eq!(scan_count(&db), 1);
}

#[test]
fn a_new_history_database_is_private_and_never_a_symlink() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let base = base_inventory(dir.path());
    let inv = dir.path().join("i.json");
    std::fs::write(&inv, serde_json::to_string(&base).unwrap()).unwrap();
    let db = dir.path().join("state/cloudscan/history.db");
    let out = run(
        &[
            "scan",
            "--inventory",
            inv.to_str().unwrap(),
            "--store",
            db.to_str().unwrap(),
        ],
        dir.path(),
    );
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&db), 0o600);
    assert_eq!(mode(&dir.path().join("state")), 0o700);
    assert_eq!(mode(&dir.path().join("state/cloudscan")), 0o700);
    let wal = PathBuf::from(format!("{}-wal", db.display()));
    if wal.exists() {
        assert_eq!(
            mode(&wal),
            0o600,
            "SQLite gives the WAL the database's mode"
        );
    }
    // A symlink where the database should be is refused, and its target left alone.
    let target = dir.path().join("elsewhere.db");
    std::fs::write(&target, "").unwrap();
    let link = dir.path().join("link.db");
    std::os::unix::fs::symlink(&target, &link).unwrap();
    let out = run(
        &[
            "scan",
            "--inventory",
            inv.to_str().unwrap(),
            "--store",
            link.to_str().unwrap(),
        ],
        dir.path(),
    );
    assert_eq!(code(&out), 2);
    assert!(
        stderr(&out).contains("symbolic link") && stderr(&out).contains("link.db"),
        "{}",
        stderr(&out)
    );
    assert_eq!(std::fs::metadata(&target).unwrap().len(), 0);

    // A database left readable by others (an older cloudscan) is made private on the next scan.
    std::fs::set_permissions(&db, std::fs::Permissions::from_mode(0o644)).unwrap();
    let out = run(
        &[
            "scan",
            "--inventory",
            inv.to_str().unwrap(),
            "--store",
            db.to_str().unwrap(),
        ],
        dir.path(),
    );
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert_eq!(mode(&db), 0o600);
}

// --- The estate: several scopes in one scan -------------------------------------------------

const OTHER: &str = "210987654321";

/// The bundled insecure account as a second account: every id rewritten to `OTHER`.
fn other_account(base: &Value) -> Value {
    let text = serde_json::to_string(base).unwrap().replace(ACCOUNT, OTHER);
    serde_json::from_str(&text).unwrap()
}

/// Scans several inventories as one estate (`scan --inventory A B ...`) with the history store;
/// (exit code, report, stderr).
fn estate_scan(dir: &Path, invs: &[&Value], name: &str, extra: &[&str]) -> (i32, Value, String) {
    let store = dir.join("history.db");
    let paths: Vec<String> = invs
        .iter()
        .enumerate()
        .map(|(i, inv)| {
            let path = dir.join(format!("{name}-{i}.json"));
            std::fs::write(&path, serde_json::to_string(inv).unwrap()).unwrap();
            path.to_str().unwrap().to_string()
        })
        .collect();
    let mut args = vec!["scan", "--inventory"];
    args.extend(paths.iter().map(String::as_str));
    args.extend_from_slice(&["--store", store.to_str().unwrap(), "--format", "json"]);
    args.extend_from_slice(extra);
    let out = run(&args, dir);
    (code(&out), json(&out), stderr(&out))
}

/// The report's per-scope summary entry of `scope`.
fn scope_summary<'a>(report: &'a Value, scope: &str) -> &'a Value {
    report["scopes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["id"] == scope)
        .unwrap_or_else(|| panic!("no scope {scope} in {}", report["scopes"]))
}

fn findings_of<'a>(report: &'a Value, scope: &str) -> Vec<&'a Value> {
    report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["scope"] == scope)
        .collect()
}

fn fail_eks(inv: &mut Value) {
    for c in inv["coverage"].as_array_mut().unwrap() {
        if c["service"] == "eks" && c["region"] == "us-east-1" {
            c["status"] = "failed".into();
            c["detail"] = "eks:ListClusters: AccessDeniedException".into();
        }
    }
}

#[test]
fn history_of_a_two_account_estate_is_kept_per_scope() {
    let dir = tempfile::tempdir().unwrap();
    let a = base_inventory(dir.path());
    let b = other_account(&a);

    // Scan 1: both accounts; each is a first scan of its scope.
    let (rc, r1, err) = estate_scan(dir.path(), &[&a, &b], "s1", &[]);
    assert_eq!(rc, 0, "{err}");
    assert_eq!(r1["summary"]["findings"], 48, "24 findings per account");
    let baselines = r1["diff"]["baselines"].as_array().unwrap();
    assert_eq!(baselines.len(), 2);
    assert!(baselines.iter().all(|b| b["scan_id"].is_null()));
    for scope in [ACCOUNT, OTHER] {
        let s = scope_summary(&r1, scope);
        assert_eq!(s["coverage"], "complete");
        assert_eq!(findings_of(&r1, scope).len(), 24);
        let open: u64 = ["critical", "high", "medium", "low", "info"]
            .iter()
            .map(|k| s[*k].as_u64().unwrap())
            .sum();
        assert_eq!(open, 24, "{s}");
    }

    // Scan 2: account B is missing from the scan (not scanned tonight). Its findings are not
    // "fixed": the diff compares the scopes this scan covered, and only A was covered.
    let (rc, r2, err) = estate_scan(dir.path(), &[&a], "s2", &[]);
    assert_eq!(rc, 0, "{err}");
    assert_eq!(r2["summary"]["fixed"], 0, "{}", r2["diff"]);
    assert_eq!(r2["diff"]["unverified"].as_array().unwrap().len(), 0);
    assert_eq!(r2["diff"]["open"], 24);
    assert_eq!(r2["diff"]["baselines"][0]["scan_id"], 1);

    // Scan 3: both again. A: prod-public made private (fixed, A read completely). B: EKS could
    // not be read and prod-public's finding is gone too, so it is not re-assessed, not fixed.
    let mut a3 = a.clone();
    cluster(&mut a3, "prod-public")["endpoint"]["public_access"] = Value::Bool(false);
    let mut b3 = b.clone();
    cluster(&mut b3, "prod-public")["endpoint"]["public_access"] = Value::Bool(false);
    fail_eks(&mut b3);
    let (rc, r3, err) = estate_scan(dir.path(), &[&a3, &b3], "s3", &[]);
    assert_eq!(
        rc, 3,
        "one scope incomplete: the estate is incomplete: {err}"
    );
    // Each scope is compared with its own previous scan: A with scan 2, B with scan 1.
    let base_of = |scope: &str| {
        r3["diff"]["baselines"]
            .as_array()
            .unwrap()
            .iter()
            .find(|b| b["scope"] == scope)
            .map(|b| b["scan_id"].clone())
            .unwrap()
    };
    assert_eq!(base_of(ACCOUNT), 2);
    assert_eq!(base_of(OTHER), 1);
    let fixed = r3["diff"]["fixed"].as_array().unwrap();
    assert_eq!(fixed.len(), 1, "{fixed:?}");
    assert_eq!(fixed[0]["scope"], ACCOUNT);
    assert_eq!(fixed[0]["rule_id"], "api-endpoint-public");
    let unverified = r3["diff"]["unverified"].as_array().unwrap();
    assert!(!unverified.is_empty());
    assert!(
        unverified.iter().all(|f| f["scope"] == OTHER),
        "{unverified:?}"
    );
    assert!(has(
        &r3["diff"]["unverified"],
        "api-endpoint-public",
        "cluster/prod-public"
    ));
    assert_eq!(scope_summary(&r3, ACCOUNT)["coverage"], "complete");
    let b_summary = scope_summary(&r3, OTHER);
    assert_eq!(b_summary["coverage"], "incomplete");
    assert!(b_summary["incomplete_calls"].as_u64().unwrap() >= 1);

    // `cloudscan diff` of the stored scans says the same, per scope, and the table names the
    // gone finding of B as not re-assessed.
    let store = dir.path().join("history.db");
    let out = run(
        &[
            "diff",
            "--store",
            store.to_str().unwrap(),
            "--from",
            "1",
            "--to",
            "3",
            "--format",
            "json",
        ],
        dir.path(),
    );
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let d = json(&out);
    assert_eq!(d["diff"]["fixed"].as_array().unwrap().len(), 1, "{d}");
    assert_eq!(d["diff"]["fixed"][0]["scope"], ACCOUNT);
    assert!(d["diff"]["unverified"]
        .as_array()
        .unwrap()
        .iter()
        .all(|f| f["scope"] == OTHER));
    let out = run(
        &[
            "diff",
            "--store",
            store.to_str().unwrap(),
            "--from",
            "1",
            "--to",
            "3",
        ],
        dir.path(),
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("1 fixed"), "{text}");
    assert!(text.contains("not re-assessed"), "{text}");

    // `history --scope` lists the scans of one scope: B was not in scan 2.
    let ids = |scope: &str| -> Vec<i64> {
        let out = run(
            &[
                "history",
                "--store",
                store.to_str().unwrap(),
                "--scope",
                scope,
                "--format",
                "json",
            ],
            dir.path(),
        );
        assert_eq!(code(&out), 0, "{}", stderr(&out));
        json(&out)
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["id"].as_i64().unwrap())
            .collect()
    };
    assert_eq!(ids(ACCOUNT), vec![3, 2, 1]);
    assert_eq!(ids(OTHER), vec![3, 1]);

    // A stored estate report renders again with its per-scope summary.
    let out = run(
        &[
            "report",
            "--store",
            store.to_str().unwrap(),
            "--scan",
            "3",
            "--format",
            "table",
        ],
        dir.path(),
    );
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("SCOPES (2)"), "{text}");
    assert!(text.contains(&format!("== SCOPE {OTHER}")), "{text}");
}

#[test]
fn fail_on_gates_the_whole_estate() {
    let dir = tempfile::tempdir().unwrap();
    let a = base_inventory(dir.path());
    let b = other_account(&a);
    // The gate looks at every scope's findings.
    let high = ["--fail-on", "high"];
    let (rc, r, err) = estate_scan(dir.path(), &[&a, &b], "g1", &high);
    assert_eq!(rc, 1, "{err}");
    assert!(scope_summary(&r, OTHER)["high"].as_u64().unwrap() > 0);

    // Only B has a finding at the threshold: the estate still fails. The one critical finding
    // of the account is the admin role ci-deployer; A without that role has none.
    let mut a_clean = a.clone();
    a_clean["identities"]
        .as_array_mut()
        .unwrap()
        .retain(|i| !i["id"].as_str().unwrap().ends_with(":role/ci-deployer"));
    let critical = ["--fail-on", "critical"];
    let (rc, r, err) = estate_scan(dir.path(), &[&a_clean], "only-a", &critical);
    assert_eq!(rc, 0, "A alone passes a critical gate: {err}");
    assert_eq!(r["summary"]["critical"], 0);
    let (rc, r, err) = estate_scan(dir.path(), &[&a_clean, &b], "g2", &critical);
    assert_eq!(rc, 1, "B's critical finding fails the estate: {err}");
    assert_eq!(scope_summary(&r, ACCOUNT)["critical"], 0);
    assert_eq!(scope_summary(&r, OTHER)["critical"], 1);
    // Worst first: B leads the summary.
    assert_eq!(r["scopes"][0]["id"], OTHER);

    // One scope incomplete: 3 wins over 1, unless --allow-incomplete.
    let mut b_gap = b.clone();
    fail_eks(&mut b_gap);
    let (rc, r, err) = estate_scan(dir.path(), &[&a, &b_gap], "g3", &high);
    assert_eq!(rc, 3, "{err}");
    assert_eq!(scope_summary(&r, OTHER)["coverage"], "incomplete");
    assert_eq!(scope_summary(&r, ACCOUNT)["coverage"], "complete");
    let mut allow = high.to_vec();
    allow.push("--allow-incomplete");
    let (rc, _, err) = estate_scan(dir.path(), &[&a, &b_gap], "g4", &allow);
    assert_eq!(rc, 1, "{err}");
    let (rc, _, err) = estate_scan(
        dir.path(),
        &[&a, &b_gap],
        "g5",
        &["--fail-on", "never", "--allow-incomplete"],
    );
    assert_eq!(rc, 0, "{err}");
}

#[test]
fn new_only_gates_each_scope_against_its_own_previous_scan() {
    let dir = tempfile::tempdir().unwrap();
    let a = base_inventory(dir.path());
    let b = other_account(&a);
    let gate = ["--fail-on", "high", "--new-only"];
    // First scan of both scopes: everything is new.
    let (rc, _, err) = estate_scan(dir.path(), &[&a, &b], "n1", &gate);
    assert_eq!(rc, 1, "{err}");
    // Same again: nothing new in either scope.
    let (rc, r, err) = estate_scan(dir.path(), &[&a, &b], "n2", &gate);
    assert_eq!(rc, 0, "{err}");
    assert_eq!(r["summary"]["new"], 0);
    // A new high finding in B only (prod-private's endpoint opened to the internet): exit 1,
    // and the one new finding is B's.
    let mut b3 = b.clone();
    cluster(&mut b3, "prod-private")["endpoint"] = serde_json::json!({"public_access": true, "private_access": false, "public_cidrs": ["0.0.0.0/0"], "source": "test"});
    let (rc, r, err) = estate_scan(dir.path(), &[&a, &b3], "n3", &gate);
    assert_eq!(rc, 1, "{err}");
    let new: Vec<&Value> = r["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["change"] == "new")
        .collect();
    assert_eq!(new.len(), 1, "{new:?}");
    assert_eq!(new[0]["scope"], OTHER);
    // A scope seen for the first time brings only new findings: a third account added to the
    // estate trips the gate although A and B are unchanged.
    let c = serde_json::from_str::<Value>(
        &serde_json::to_string(&a)
            .unwrap()
            .replace(ACCOUNT, "333333333333"),
    )
    .unwrap();
    let (rc, r, err) = estate_scan(dir.path(), &[&a, &b3, &c], "n4", &gate);
    assert_eq!(rc, 1, "{err}");
    assert!(r["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["change"] == "new")
        .all(|f| f["scope"] == "333333333333"));
}

#[test]
fn a_history_database_that_cannot_be_opened_does_not_stop_the_scan() {
    let dir = tempfile::tempdir().unwrap();
    let base = base_inventory(dir.path());
    let inv = dir.path().join("i.json");
    std::fs::write(&inv, serde_json::to_string(&base).unwrap()).unwrap();
    // A directory where the database should be, and a file that is not a database.
    let as_dir = dir.path().join("dir.db");
    std::fs::create_dir(&as_dir).unwrap();
    let corrupt = dir.path().join("corrupt.db");
    std::fs::write(&corrupt, vec![0x5au8; 8192]).unwrap();
    for (store, name) in [(&as_dir, "dir.db"), (&corrupt, "corrupt.db")] {
        let report = dir.path().join(format!("report-{name}.json"));
        let out = run(
            &[
                "scan",
                "--inventory",
                inv.to_str().unwrap(),
                "--store",
                store.to_str().unwrap(),
                "--format",
                "json",
                "-o",
                report.to_str().unwrap(),
            ],
            dir.path(),
        );
        let err = stderr(&out);
        assert_eq!(code(&out), 2, "the history error is the run's error: {err}");
        assert!(err.contains(name), "the error names the database: {err}");
        assert!(err.contains("the report was written"), "{err}");
        // The scan ran and its report is complete, just not stored.
        let doc: Value = serde_json::from_str(&std::fs::read_to_string(&report).unwrap()).unwrap();
        assert_eq!(doc["summary"]["findings"], 24);
        assert_eq!(doc["scan"]["id"], Value::Null);
        assert_eq!(doc["diff"], Value::Null);
    }
    // The corrupt file is left as it was.
    assert_eq!(std::fs::read(&corrupt).unwrap(), vec![0x5au8; 8192]);
}
