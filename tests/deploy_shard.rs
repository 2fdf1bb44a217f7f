//! The sharded deployment (`deploy/kubernetes/sharded`): the collect CronJob's Job is Indexed
//! with per-index retries and a pod failure policy, its shard count matches `--shard auto/N`, each
//! pod saves its own inventory where the reduce reads them, every pod is hardened like the base
//! CronJob, and the real binary accepts the manifests' arguments: every index's collect is run
//! against the synthetic estate with `JOB_COMPLETION_INDEX` set, then the reduce merges them.

use serde::Deserialize;
use serde_yaml::Value;
use std::path::{Path, PathBuf};
use std::process::Command;

fn dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("deploy/kubernetes/sharded")
}

fn load(name: &str) -> Value {
    let text = std::fs::read_to_string(dir().join(name)).expect("read manifest");
    let mut docs = serde_yaml::Deserializer::from_str(&text);
    let doc = docs.next().expect("one document");
    Value::deserialize(doc).expect("YAML")
}

fn strings(v: &Value) -> Vec<String> {
    v.as_sequence()
        .map(|s| {
            s.iter()
                .filter_map(|x| x.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

fn hardened(pod: &Value) {
    assert_eq!(pod["restartPolicy"].as_str(), Some("Never"));
    assert_eq!(pod["automountServiceAccountToken"].as_bool(), Some(false));
    assert_eq!(pod["serviceAccountName"].as_str(), Some("cloudscan"));
    assert_eq!(pod["securityContext"]["runAsNonRoot"].as_bool(), Some(true));
    for c in pod["containers"].as_sequence().expect("containers") {
        let s = &c["securityContext"];
        assert_eq!(s["allowPrivilegeEscalation"].as_bool(), Some(false));
        assert_eq!(s["readOnlyRootFilesystem"].as_bool(), Some(true));
        assert_eq!(s["runAsNonRoot"].as_bool(), Some(true));
        assert_eq!(strings(&s["capabilities"]["drop"]), ["ALL"]);
        assert_eq!(s["seccompProfile"]["type"].as_str(), Some("RuntimeDefault"));
        assert!(c["resources"]["limits"]["memory"].as_str().is_some());
    }
}

/// The value after `flag` in `args`.
fn after<'a>(args: &'a [String], flag: &str) -> &'a str {
    let i = args
        .iter()
        .position(|a| a == flag)
        .unwrap_or_else(|| panic!("{flag} missing in {args:?}"));
    args.get(i + 1).map(String::as_str).unwrap_or_default()
}

#[test]
fn the_indexed_job_and_the_reduce_fit_together() {
    let collect = load("indexed-job.yaml");
    let reduce = load("indexed-job-reduce.yaml");
    assert_eq!(collect["kind"].as_str(), Some("CronJob"));
    assert_eq!(reduce["kind"].as_str(), Some("CronJob"));
    let job = &collect["spec"]["jobTemplate"]["spec"];
    assert_eq!(job["completionMode"].as_str(), Some("Indexed"));
    let n = job["completions"].as_u64().expect("completions");
    assert!(job["backoffLimitPerIndex"].as_u64().is_some());
    assert!(job["maxFailedIndexes"].as_u64().is_some_and(|m| m < n));
    let rules = job["podFailurePolicy"]["rules"]
        .as_sequence()
        .expect("rules");
    let fail_index = rules
        .iter()
        .find(|r| r["action"].as_str() == Some("FailIndex"))
        .expect("a FailIndex rule");
    assert_eq!(
        fail_index["onExitCodes"]["containerName"].as_str(),
        Some("collect")
    );
    assert_eq!(fail_index["onExitCodes"]["operator"].as_str(), Some("In"));
    assert_eq!(
        fail_index["onExitCodes"]["values"]
            .as_sequence()
            .map(|v| v.len()),
        Some(1)
    );
    assert_eq!(
        fail_index["onExitCodes"]["values"][0].as_u64(),
        Some(2),
        "exit 2: the tool could not run"
    );
    assert!(rules.iter().any(|r| r["action"].as_str() == Some("Ignore")
        && r["onPodConditions"][0]["type"].as_str() == Some("DisruptionTarget")));
    // The reduce starts after the collect's deadline.
    let deadline = job["activeDeadlineSeconds"].as_u64().expect("deadline");
    let hour = |cj: &Value| -> u64 {
        cj["spec"]["schedule"]
            .as_str()
            .and_then(|s| s.split(' ').nth(1))
            .and_then(|h| h.parse().ok())
            .expect("hour")
    };
    assert!((hour(&reduce) - hour(&collect)) * 3600 > deadline);

    let pod = &job["template"]["spec"];
    hardened(pod);
    hardened(&reduce["spec"]["jobTemplate"]["spec"]["template"]["spec"]);
    let args = strings(&pod["containers"][0]["args"]);
    assert_eq!(after(&args, "--shard"), format!("auto/{n}"));
    let saved = after(&args, "--save-inventory");
    assert!(saved.contains("$(JOB_COMPLETION_INDEX)"), "{saved}");
    let rargs = strings(
        &reduce["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"][0]["args"],
    );
    assert_eq!(rargs.first().map(String::as_str), Some("scan"));
    let shards = after(&rargs, "--inventory");
    assert_eq!(Path::new(saved).parent(), Some(Path::new(shards)));

    // The real binary runs both steps: each index against the synthetic estate, then the reduce.
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let spec = cloudscan_estate::Spec {
        subscriptions: 5,
        ..Default::default()
    }
    .normalized();
    let server = rt
        .block_on(cloudscan_estate::Server::start(spec, Default::default(), 0))
        .expect("estate");
    let tmp = tempfile::tempdir().expect("tempdir");
    let base = tmp.path().display().to_string();
    let shards_dir = tmp.path().join("shards").display().to_string();
    let map = |a: &str| -> String {
        for (from, to) in [
            ("/shards", shards_dir.as_str()),
            ("/var/lib/cloudscan", base.as_str()),
            ("/etc/cloudscan", base.as_str()),
            ("/tmp", base.as_str()),
        ] {
            if let Some(rest) = a.strip_prefix(from) {
                return format!("{to}{rest}");
            }
        }
        a.to_string()
    };
    std::fs::create_dir_all(tmp.path().join("shards")).expect("mkdir");
    for i in 0..n {
        let args: Vec<String> = args
            .iter()
            .map(|a| map(&a.replace("$(JOB_COMPLETION_INDEX)", &i.to_string())))
            .collect();
        let out = Command::new(env!("CARGO_BIN_EXE_cloudscan"))
            .env_clear()
            .env("HOME", tmp.path())
            .env("JOB_COMPLETION_INDEX", i.to_string())
            .env("AZURE_TENANT_ID", cloudscan_estate::azure::TENANT)
            .env("AZURE_CLIENT_ID", "estate")
            .env("AZURE_CLIENT_SECRET", "estate")
            .env("AZURE_AUTHORITY_HOST", server.base_url())
            .env("CLOUDSCAN_AZURE_ARM_URL", server.base_url())
            .args(&args)
            .output()
            .expect("collect");
        assert_eq!(
            out.status.code(),
            Some(0),
            "index {i}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    std::fs::write(tmp.path().join("cloudscan.toml"), "").expect("config");
    let rargs: Vec<String> = rargs.iter().map(|a| map(a)).collect();
    let out = Command::new(env!("CARGO_BIN_EXE_cloudscan"))
        .env("HOME", tmp.path())
        .args(&rargs)
        .output()
        .expect("reduce");
    assert_eq!(
        out.status.code(),
        Some(0),
        "reduce: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(tmp.path().join("latest.json")).expect("report"),
    )
    .expect("json");
    assert_eq!(
        report["scan"]["scopes"].as_array().map(|s| s.len()),
        Some(5),
        "{}",
        report["scan"]
    );
    assert!(tmp.path().join("history.db").exists());
}
