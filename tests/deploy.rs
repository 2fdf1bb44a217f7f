//! The scheduled deployment (`deploy/`): the Kubernetes manifests run cloudscan with the hardened
//! settings of the 4Cs (non-root, RuntimeDefault seccomp, no privilege escalation, no
//! capabilities, read-only root filesystem with an emptyDir for temporary files, a dedicated
//! service account for workload identity, the history database on a volume), the container
//! build is a multi-stage static build on distroless `nonroot`, and the arguments the manifests
//! pass are accepted by the real binary: each cloud's scan is run against its bundled replay
//! scenario, followed by the rendering steps, with the manifests' paths mapped into a temp dir.

use serde::Deserialize;
use serde_json::Value as Json;
use serde_yaml::Value;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Every YAML document of every `*.yaml` file in `dir` (not recursive), with its file name.
fn documents(dir: &Path) -> Vec<(String, Value)> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .expect("read_dir")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|x| x == "yaml" || x == "yml"))
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no manifests in {}", dir.display());
    let mut out = Vec::new();
    for file in files {
        let text = std::fs::read_to_string(&file).expect("read");
        for doc in serde_yaml::Deserializer::from_str(&text) {
            let value = Value::deserialize(doc)
                .unwrap_or_else(|e| panic!("{}: invalid YAML: {e}", file.display()));
            if !value.is_null() {
                out.push((file.display().to_string(), value));
            }
        }
    }
    out
}

fn manifests() -> Vec<(String, Value)> {
    documents(&root().join("deploy/kubernetes"))
}

fn of_kind<'a>(docs: &'a [(String, Value)], kind: &str) -> Vec<&'a Value> {
    docs.iter()
        .map(|(_, d)| d)
        .filter(|d| d["kind"].as_str() == Some(kind))
        .collect()
}

fn cronjob(docs: &[(String, Value)]) -> &Value {
    let jobs = of_kind(docs, "CronJob");
    assert_eq!(jobs.len(), 1, "exactly one CronJob");
    jobs[0]
}

fn pod_spec(cronjob: &Value) -> &Value {
    &cronjob["spec"]["jobTemplate"]["spec"]["template"]["spec"]
}

/// Every container of the pod: init containers first, in order.
fn all_containers(pod: &Value) -> Vec<&Value> {
    let mut out = Vec::new();
    for key in ["initContainers", "containers"] {
        if let Some(list) = pod[key].as_sequence() {
            out.extend(list.iter());
        }
    }
    out
}

fn strings(value: &Value) -> Vec<String> {
    value
        .as_sequence()
        .map(|s| {
            s.iter()
                .map(|v| v.as_str().expect("a string").to_string())
                .collect()
        })
        .unwrap_or_default()
}

/// The volume mounted at `path` in `container`.
fn volume_at<'a>(pod: &'a Value, container: &Value, path: &str) -> Option<&'a Value> {
    let mount = container["volumeMounts"]
        .as_sequence()?
        .iter()
        .find(|m| m["mountPath"].as_str() == Some(path))?;
    let name = mount["name"].as_str()?;
    pod["volumes"]
        .as_sequence()?
        .iter()
        .find(|v| v["name"].as_str() == Some(name))
}

/// The value following `flag` in `args`.
fn flag<'a>(args: &'a [String], flag: &str) -> Option<&'a str> {
    args.iter()
        .position(|a| a == flag)
        .and_then(|i| args.get(i + 1))
        .map(String::as_str)
}

#[test]
fn the_cronjob_runs_every_container_hardened() {
    let docs = manifests();
    let job = cronjob(&docs);
    let pod = pod_spec(job);

    // Pod level.
    let psc = &pod["securityContext"];
    assert_eq!(psc["runAsNonRoot"].as_bool(), Some(true));
    assert!(psc["runAsUser"].as_u64().is_some_and(|u| u > 0));
    assert!(psc["runAsGroup"].as_u64().is_some_and(|g| g > 0));
    assert!(
        psc["fsGroup"].as_u64().is_some_and(|g| g > 0),
        "fsGroup makes the PVC writable"
    );
    assert_eq!(
        psc["seccompProfile"]["type"].as_str(),
        Some("RuntimeDefault")
    );
    assert_eq!(pod["restartPolicy"].as_str(), Some("Never"));
    assert_eq!(pod["hostNetwork"].as_bool(), None);
    assert_eq!(pod["hostPID"].as_bool(), None);

    let containers = all_containers(pod);
    assert!(containers.len() >= 2);
    assert!(
        pod["initContainers"]
            .as_sequence()
            .is_some_and(|s| !s.is_empty()),
        "the scan runs as an init container"
    );
    let pvc_names: Vec<&str> = of_kind(&docs, "PersistentVolumeClaim")
        .iter()
        .filter_map(|p| p["metadata"]["name"].as_str())
        .collect();
    for c in &containers {
        let name = c["name"].as_str().expect("container name");
        let sc = &c["securityContext"];
        // Container settings, or the pod's where the field is pod-level too.
        let non_root = sc["runAsNonRoot"]
            .as_bool()
            .or(psc["runAsNonRoot"].as_bool());
        assert_eq!(non_root, Some(true), "{name}: runAsNonRoot");
        if let Some(uid) = sc["runAsUser"].as_u64() {
            assert!(uid > 0, "{name}: runAsUser");
        }
        let seccomp = sc["seccompProfile"]["type"]
            .as_str()
            .or(psc["seccompProfile"]["type"].as_str());
        assert_eq!(seccomp, Some("RuntimeDefault"), "{name}: seccompProfile");
        assert_eq!(
            sc["allowPrivilegeEscalation"].as_bool(),
            Some(false),
            "{name}: allowPrivilegeEscalation"
        );
        assert_ne!(sc["privileged"].as_bool(), Some(true), "{name}: privileged");
        assert_eq!(
            strings(&sc["capabilities"]["drop"]),
            vec!["ALL"],
            "{name}: capabilities.drop"
        );
        assert!(
            sc["capabilities"]["add"].is_null(),
            "{name}: capabilities.add"
        );
        assert_eq!(
            sc["readOnlyRootFilesystem"].as_bool(),
            Some(true),
            "{name}: readOnlyRootFilesystem"
        );

        // Temporary files on an emptyDir at /tmp, and TMPDIR pointing there.
        let tmp = volume_at(pod, c, "/tmp").unwrap_or_else(|| panic!("{name}: nothing at /tmp"));
        assert!(
            tmp["emptyDir"].is_mapping(),
            "{name}: /tmp is not an emptyDir"
        );
        let env: BTreeMap<&str, &str> = c["env"]
            .as_sequence()
            .map(|e| {
                e.iter()
                    .filter_map(|v| Some((v["name"].as_str()?, v["value"].as_str()?)))
                    .collect()
            })
            .unwrap_or_default();
        assert_eq!(env.get("TMPDIR").copied(), Some("/tmp"), "{name}: TMPDIR");

        // The history database on the PVC.
        let args = strings(&c["args"]);
        let store = flag(&args, "--store").unwrap_or_else(|| panic!("{name}: no --store"));
        let dir = Path::new(store).parent().expect("store dir");
        let volume = volume_at(pod, c, dir.to_str().expect("utf-8"))
            .unwrap_or_else(|| panic!("{name}: nothing mounted at {}", dir.display()));
        let claim = volume["persistentVolumeClaim"]["claimName"]
            .as_str()
            .unwrap_or_else(|| panic!("{name}: {} is not a PVC", dir.display()));
        assert!(pvc_names.contains(&claim), "{name}: no PVC named {claim}");
        // Reports are written next to the database (a read-only root filesystem elsewhere).
        if let Some(out) = flag(&args, "-o").or(flag(&args, "--output")) {
            assert!(Path::new(out).starts_with(dir), "{name}: -o {out}");
        }

        // A pinned image.
        let image = c["image"].as_str().expect("image");
        let last = image.rsplit('/').next().unwrap_or(image);
        let tag = last.split_once(':').map(|(_, t)| t);
        assert!(
            image.contains('@') || tag.is_some_and(|t| t != "latest"),
            "{name}: image {image} is not pinned"
        );
        assert!(
            c["resources"]["limits"]["memory"].is_string(),
            "{name}: memory limit"
        );
        assert!(
            c["resources"]["requests"]["cpu"].is_string(),
            "{name}: cpu request"
        );
    }

    // The first step scans (a cloud subcommand) and keeps the scan in the history database;
    // the others render it.
    let steps: Vec<Vec<String>> = containers.iter().map(|c| strings(&c["args"])).collect();
    assert!(["aws", "gcp", "azure"].contains(&steps[0][0].as_str()));
    assert!(!steps[0]
        .iter()
        .any(|a| a == "--allow-incomplete" || a == "--fail-on"));
    assert!(steps[1..].iter().all(|s| s[0] == "report"));
}

#[test]
fn the_cronjob_is_scheduled_safely_under_a_dedicated_identity() {
    let docs = manifests();
    let job = cronjob(&docs);
    let spec = &job["spec"];
    assert!(spec["schedule"].is_string());
    assert_eq!(spec["concurrencyPolicy"].as_str(), Some("Forbid"));
    for field in [
        "startingDeadlineSeconds",
        "successfulJobsHistoryLimit",
        "failedJobsHistoryLimit",
    ] {
        assert!(spec[field].as_u64().is_some(), "{field}");
    }
    let job_spec = &spec["jobTemplate"]["spec"];
    assert!(job_spec["backoffLimit"].as_u64().is_some());
    assert!(job_spec["activeDeadlineSeconds"]
        .as_u64()
        .is_some_and(|s| s > 0));

    let template = &job_spec["template"];
    let pod = &template["spec"];
    assert_eq!(pod["automountServiceAccountToken"].as_bool(), Some(false));
    assert_eq!(
        template["metadata"]["labels"]["azure.workload.identity/use"].as_str(),
        Some("true")
    );

    // The service account: the pod's, in the same namespace, with the three annotations.
    let namespace = job["metadata"]["namespace"].as_str().expect("namespace");
    assert!(of_kind(&docs, "Namespace")
        .iter()
        .any(|n| n["metadata"]["name"].as_str() == Some(namespace)));
    let sa_name = pod["serviceAccountName"]
        .as_str()
        .expect("serviceAccountName");
    assert_ne!(sa_name, "default");
    let sa = of_kind(&docs, "ServiceAccount")
        .into_iter()
        .find(|s| {
            s["metadata"]["name"].as_str() == Some(sa_name)
                && s["metadata"]["namespace"].as_str() == Some(namespace)
        })
        .unwrap_or_else(|| panic!("no ServiceAccount {namespace}/{sa_name}"));
    for annotation in [
        "eks.amazonaws.com/role-arn",
        "iam.gke.io/gcp-service-account",
        "azure.workload.identity/client-id",
    ] {
        assert!(
            sa["metadata"]["annotations"][annotation]
                .as_str()
                .is_some_and(|v| !v.is_empty()),
            "{annotation}"
        );
    }
    // Every namespaced object lives in the namespace.
    for (file, doc) in &docs {
        let kind = doc["kind"].as_str().unwrap_or("");
        if !["Namespace", "Kustomization"].contains(&kind) {
            assert_eq!(
                doc["metadata"]["namespace"].as_str(),
                Some(namespace),
                "{file}: {kind}"
            );
        }
    }

    // The waivers come from the ConfigMap, mounted where --config points.
    let scan = &pod["initContainers"][0];
    let args = strings(&scan["args"]);
    let config = flag(&args, "--config").expect("--config");
    let dir = Path::new(config).parent().expect("config dir");
    let volume = volume_at(pod, scan, dir.to_str().expect("utf-8")).expect("config volume");
    let cm_name = volume["configMap"]["name"].as_str().expect("a ConfigMap");
    let cm = of_kind(&docs, "ConfigMap")
        .into_iter()
        .find(|c| c["metadata"]["name"].as_str() == Some(cm_name))
        .expect("the ConfigMap");
    let file = Path::new(config).file_name().and_then(|f| f.to_str());
    assert!(cm["data"][file.expect("file name")].is_string());
}

// ---------------------------------------------------------------------------------------------
// The container build

struct Stage {
    from: String,
    lines: Vec<String>,
}

/// The Dockerfile's stages, with continuation lines joined and comments dropped.
fn stages() -> Vec<Stage> {
    let text = std::fs::read_to_string(root().join("deploy/Dockerfile")).expect("Dockerfile");
    let mut logical = Vec::new();
    let mut current = String::new();
    for line in text.lines() {
        let trimmed = line.trim();
        if trimmed.starts_with('#') || (trimmed.is_empty() && current.is_empty()) {
            continue;
        }
        if let Some(head) = trimmed.strip_suffix('\\') {
            current.push_str(head);
            current.push(' ');
        } else {
            current.push_str(trimmed);
            logical.push(std::mem::take(&mut current));
        }
    }
    let args: BTreeMap<String, String> = logical
        .iter()
        .filter_map(|l| l.strip_prefix("ARG "))
        .filter_map(|a| a.split_once('='))
        .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
        .collect();
    let mut out: Vec<Stage> = Vec::new();
    for line in logical {
        if line.to_ascii_uppercase().starts_with("FROM ") {
            let mut image = line[5..]
                .split_whitespace()
                .next()
                .unwrap_or("")
                .to_string();
            for (k, v) in &args {
                image = image.replace(&format!("${{{k}}}"), v);
            }
            out.push(Stage {
                from: image,
                lines: Vec::new(),
            });
        } else if let Some(stage) = out.last_mut() {
            stage.lines.push(line);
        }
    }
    out
}

#[test]
fn the_image_is_a_static_binary_on_distroless_nonroot() {
    let stages = stages();
    assert!(stages.len() >= 2, "a multi-stage build");
    let builder = &stages[0];
    let runtime = stages.last().expect("final stage");

    // Builder: the project's toolchain or newer, the musl target, a locked release build.
    let image_version = builder
        .from
        .strip_prefix("rust:")
        .and_then(|t| t.split('-').next())
        .expect("a rust:<version> builder");
    let manifest = std::fs::read_to_string(root().join("Cargo.toml")).expect("Cargo.toml");
    let rust_version = manifest
        .lines()
        .find_map(|l| l.strip_prefix("rust-version = "))
        .map(|v| v.trim_matches('"').to_string())
        .expect("rust-version");
    let parse = |v: &str| -> Vec<u32> { v.split('.').map(|p| p.parse().unwrap_or(0)).collect() };
    assert!(
        parse(image_version) >= parse(&rust_version),
        "builder {image_version} older than rust-version {rust_version}"
    );
    let builder_text = builder.lines.join("\n");
    assert!(builder_text.contains("x86_64-unknown-linux-musl"));
    assert!(builder_text.contains("musl-tools"));
    let build = builder
        .lines
        .iter()
        .find(|l| l.contains("cargo build"))
        .expect("cargo build");
    for flag in ["--release", "--locked", "--target"] {
        assert!(build.contains(flag), "cargo build without {flag}");
    }

    // Runtime: distroless static, nonroot, the binary as entrypoint.
    assert!(
        runtime.from.starts_with("gcr.io/distroless/static") && runtime.from.ends_with(":nonroot"),
        "{}",
        runtime.from
    );
    let user = runtime
        .lines
        .iter()
        .filter_map(|l| l.strip_prefix("USER "))
        .next_back()
        .expect("USER in the final stage")
        .trim()
        .to_string();
    let uid = user.split(':').next().unwrap_or("");
    assert!(!["", "0", "root"].contains(&uid), "USER {user} is root");
    assert!(runtime
        .lines
        .iter()
        .any(|l| l.starts_with("COPY --from=builder")));
    assert!(runtime
        .lines
        .iter()
        .any(|l| l.starts_with("ENTRYPOINT [\"/usr/local/bin/cloudscan\"]")));
    assert!(runtime
        .lines
        .iter()
        .any(|l| l.contains("org.opencontainers.image.source")
            || l.contains("org.opencontainers.image.title")));

    // The build context leaves out what must not be sent to the daemon.
    let ignore =
        std::fs::read_to_string(root().join("deploy/Dockerfile.dockerignore")).expect("ignore");
    for entry in ["target", ".git", "node_modules"] {
        assert!(
            ignore.lines().any(|l| l.trim_matches('/').ends_with(entry)),
            "{entry} is not ignored"
        );
    }
    // A static musl build needs no OpenSSL: TLS is rustls everywhere.
    let lock = std::fs::read_to_string(root().join("Cargo.lock")).expect("Cargo.lock");
    assert!(!lock.contains("name = \"openssl-sys\""));
    assert!(!lock.contains("name = \"native-tls\""));
}

// ---------------------------------------------------------------------------------------------
// The manifests' arguments, run by the real binary

/// The scan arguments of the base manifests (AWS) and of each overlay, by cloud.
fn scan_args() -> BTreeMap<String, Vec<String>> {
    let mut out = BTreeMap::new();
    let docs = manifests();
    let base = strings(&pod_spec(cronjob(&docs))["initContainers"][0]["args"]);
    out.insert(format!("base:{}", base[0]), base);
    let overlays = root().join("deploy/overlays");
    for entry in std::fs::read_dir(&overlays).expect("overlays") {
        let dir = entry.expect("entry").path();
        for (file, doc) in documents(&dir) {
            for patch in doc["patches"].as_sequence().into_iter().flatten() {
                let ops: Value =
                    serde_yaml::from_str(patch["patch"].as_str().expect("inline patch"))
                        .unwrap_or_else(|e| panic!("{file}: {e}"));
                for op in ops.as_sequence().into_iter().flatten() {
                    if op["path"].as_str()
                        == Some("/spec/jobTemplate/spec/template/spec/initContainers/0/args")
                    {
                        let args = strings(&op["value"]);
                        let name = dir.file_name().and_then(|n| n.to_str()).unwrap_or("");
                        assert_eq!(args[0], name, "{file}: overlay {name} scans {}", args[0]);
                        out.insert(format!("overlay:{name}"), args);
                    }
                }
            }
        }
    }
    out
}

/// Runs cloudscan with an empty environment: no ambient credentials, profiles or endpoints.
fn cloudscan(args: &[String], home: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_cloudscan"))
        .args(args)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("HOME", home)
        .env("TMPDIR", home)
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("AWS_CONFIG_FILE", home.join("no-config"))
        .env("AWS_SHARED_CREDENTIALS_FILE", home.join("no-credentials"))
        .output()
        .expect("run cloudscan")
}

/// The manifests' arguments with their in-pod paths mapped into `work` and the placeholder scope
/// (`--project`, `--subscription`, `--region`) replaced by the replay scenario's.
fn localize(args: &[String], work: &Path, scenario: &Json) -> Vec<String> {
    let state = work.join("state");
    let config = work.join("config");
    let mut out: Vec<String> = args
        .iter()
        .map(|a| {
            a.replace("/var/lib/cloudscan", state.to_str().expect("utf-8"))
                .replace("/etc/cloudscan", config.to_str().expect("utf-8"))
        })
        .collect();
    let scope = |key: &str| -> String {
        scenario[key]
            .as_array()
            .map(|v| {
                v.iter()
                    .filter_map(|s| s.as_str())
                    .collect::<Vec<_>>()
                    .join(",")
            })
            .unwrap_or_default()
    };
    for (flag, key) in [
        ("--project", "projects"),
        ("--subscription", "subscriptions"),
        ("--region", "regions"),
    ] {
        if let Some(i) = out.iter().position(|a| a == flag) {
            let value = scope(key);
            assert!(!value.is_empty(), "the scenario has no {key}");
            out[i + 1] = value;
        }
    }
    out
}

#[test]
fn the_manifests_arguments_run_against_each_clouds_replay() {
    let docs = manifests();
    let pod = pod_spec(cronjob(&docs));
    let renders: Vec<Vec<String>> = all_containers(pod)[1..]
        .iter()
        .map(|c| strings(&c["args"]))
        .collect();
    let toml = of_kind(&docs, "ConfigMap")[0]["data"]["cloudscan.toml"]
        .as_str()
        .expect("cloudscan.toml")
        .to_string();
    let all = scan_args();
    for cloud in ["aws", "gcp", "azure"] {
        assert!(
            all.keys().any(|k| k.ends_with(&format!(":{cloud}"))),
            "no scan arguments for {cloud}"
        );
    }

    for (variant, args) in &all {
        let cloud = args[0].clone();
        let scenario_dir = root().join("mocks").join(&cloud).join("insecure");
        let scenario: Json = serde_json::from_str(
            &std::fs::read_to_string(scenario_dir.join("scenario.json")).expect("scenario"),
        )
        .expect("json");
        let work = tempfile::tempdir().expect("tempdir");
        std::fs::create_dir_all(work.path().join("state")).expect("state dir");
        std::fs::create_dir_all(work.path().join("config")).expect("config dir");
        std::fs::write(work.path().join("config/cloudscan.toml"), &toml).expect("config");

        let mut scan = localize(args, work.path(), &scenario);
        scan.splice(
            1..1,
            [
                "--replay".to_string(),
                scenario_dir.to_str().expect("utf-8").to_string(),
            ],
        );
        // Two scheduled runs: the second one is compared with the first in the history.
        for run in 1..=2 {
            let out = cloudscan(&scan, work.path());
            let stderr = String::from_utf8_lossy(&out.stderr);
            assert_eq!(
                out.status.code(),
                Some(0),
                "{variant} run {run}: {scan:?}\n{stderr}"
            );
            assert!(!stderr.contains("panicked"), "{stderr}");
        }
        let state = work.path().join("state");
        assert!(state.join("history.db").is_file(), "{variant}: no history");
        let report: Json = serde_json::from_str(
            &std::fs::read_to_string(state.join("latest.json")).expect("latest.json"),
        )
        .expect("the JSON report");
        assert!(report.is_object(), "{variant}");
        assert!(
            report.to_string().contains("\"findings\""),
            "{variant}: no findings in the report"
        );

        let history = cloudscan(
            &[
                "history".to_string(),
                "--store".to_string(),
                state
                    .join("history.db")
                    .to_str()
                    .expect("utf-8")
                    .to_string(),
                "--format".to_string(),
                "json".to_string(),
            ],
            work.path(),
        );
        assert_eq!(history.status.code(), Some(0), "{variant}: history");
        let scans: Json = serde_json::from_slice(&history.stdout).expect("history json");
        assert_eq!(
            scans.as_array().map(Vec::len),
            Some(2),
            "{variant}: {scans}"
        );

        // The rendering steps, from the stored scan.
        for render in &renders {
            let render = localize(render, work.path(), &scenario);
            let out = cloudscan(&render, work.path());
            assert_eq!(
                out.status.code(),
                Some(0),
                "{variant}: {render:?}\n{}",
                String::from_utf8_lossy(&out.stderr)
            );
            let file = flag(&render, "-o").expect("-o");
            assert!(Path::new(file).is_file(), "{variant}: {file} not written");
            if render.iter().any(|a| a == "sarif") {
                let text = std::fs::read_to_string(file).expect("sarif");
                serde_json::from_str::<Json>(&text).expect("SARIF is JSON");
            }
        }
    }
}
