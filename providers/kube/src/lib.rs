//! cloudscan's Kubernetes adapter: the Cluster side of the boundary.
//!
//! After a cloud scan, [`collect`] reads the Kubernetes API of the scanned clusters it is given
//! access to (kubeconfig contexts, in-cluster configuration, or a recording), read-only:
//! ServiceAccounts, Pods, Nodes, NetworkPolicies and, on EKS, the `kube-system/aws-auth`
//! ConfigMap. Never Secrets. Each context is matched to one scanned cluster by its API server
//! endpoint, or named explicitly (`--kube-context NAME=CLUSTER`); never by context name alone.
//! A context that is unmatched, ambiguous or unreadable is incomplete coverage, never a failed
//! run. The facts land in `Inventory::kubernetes`, where the access stage joins them to the
//! cloud side.

pub mod client;
pub mod context;
pub mod fixture;
pub mod objects;

pub use context::{match_context, normalize_server, ContextSpec, Match};

use client::{Answer, Api};
use cloudscan_collect::fixture::{FixtureError, Scenario};
use cloudscan_collect::rest::{ReplayServer, RetryPolicy};
use cloudscan_collect::scan::{Progress, ProgressFn};
use cloudscan_collect::{CollectError, Recorder};
use cloudscan_inventory::{Coverage, CoverageStatus, Inventory, KubeCluster, Provider};
use fixture::{KubeParams, RecordedContext};
use k8s_openapi::api::core::v1::{ConfigMap, Node, Pod, ServiceAccount};
use k8s_openapi::api::networking::v1::NetworkPolicy;
use objects::Kind;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// The coverage service of everything read from a Kubernetes API.
pub const SERVICE: &str = "kubernetes";

/// Where the Kubernetes side comes from, and how it is read.
#[derive(Debug, Clone, Default)]
pub struct KubeOptions {
    /// `--kubeconfig PATH` (default: `$KUBECONFIG` or `~/.kube/config` when contexts are given).
    pub kubeconfig: Option<PathBuf>,
    /// `--kube-context`; empty: every context of the kubeconfig whose server is a scanned
    /// cluster's endpoint.
    pub contexts: Vec<ContextSpec>,
    /// `--kube-in-cluster CLUSTER`: the pod's own service account, for this scanned cluster.
    pub in_cluster: Option<String>,
    /// `--kube-replay DIR`: a Kubernetes recording instead of live API servers.
    pub replay: Option<PathBuf>,
    /// Record what was read into this directory (`<--record DIR>/kubernetes`).
    pub record: Option<PathBuf>,
    pub max_attempts: u32,
    pub call_timeout: Option<Duration>,
}

impl KubeOptions {
    /// Whether any Kubernetes source was asked for; without one the scan is the cloud's only.
    pub fn is_active(&self) -> bool {
        self.kubeconfig.is_some()
            || !self.contexts.is_empty()
            || self.in_cluster.is_some()
            || self.replay.is_some()
    }
}

/// What stops the Kubernetes side before it starts (a bad recording, an unwritable record
/// folder). Everything about one context is coverage instead.
#[derive(Debug, thiserror::Error)]
pub enum KubeError {
    #[error("--kube-replay: {0}")]
    Replay(FixtureError),
    #[error("--kube-replay: context `{0}` is not in the recording (its contexts: {1})")]
    UnknownReplayContext(String, String),
    #[error("recording the Kubernetes API: {0}")]
    Record(FixtureError),
    #[error("--kube-replay and recording cannot be used together")]
    ReplayAndRecord,
}

/// One API to read: a context and how to reach it.
struct Target {
    context: String,
    server: String,
    named: Option<String>,
    /// Asked for by name (an unmatched one is then a coverage gap, not skipped).
    explicit: bool,
    config: Result<kube::Config, String>,
}

/// Reads the Kubernetes side for the clusters of `inventory` and adds it (facts and coverage).
/// Returns how many exchanges were recorded, when recording.
pub async fn collect(
    opts: &KubeOptions,
    inventory: &mut Inventory,
    progress: &ProgressFn,
) -> Result<Option<usize>, KubeError> {
    if !opts.is_active() {
        return Ok(None);
    }
    if opts.replay.is_some() && opts.record.is_some() {
        return Err(KubeError::ReplayAndRecord);
    }
    // Several rustls crypto providers are compiled into the binary; kube's client asks for the
    // process default. An earlier install (by anything else) is kept.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let mut gaps: Vec<Coverage> = Vec::new();
    let scope = inventory
        .scopes
        .first()
        .map(|s| s.id.clone())
        .unwrap_or_else(|| "*".to_string());
    let gap = |context: &str, status: CoverageStatus, detail: String| Coverage {
        scope: scope.clone(),
        service: SERVICE.to_string(),
        region: format!("context {context}"),
        status,
        detail: Some(detail),
    };

    // Keep the replay server alive for the whole read.
    let mut _server: Option<ReplayServer> = None;
    let mut targets: Vec<Target> = Vec::new();
    if let Some(dir) = &opts.replay {
        let (server, scenario) = fixture::serve(dir).await.map_err(KubeError::Replay)?;
        let recorded = &scenario.params.contexts;
        let wanted: Vec<(usize, &RecordedContext, Option<String>)> = if opts.contexts.is_empty() {
            recorded
                .iter()
                .enumerate()
                .map(|(i, c)| (i, c, None))
                .collect()
        } else {
            let mut out = Vec::new();
            for spec in &opts.contexts {
                let Some((i, c)) = recorded
                    .iter()
                    .enumerate()
                    .find(|(_, c)| c.name == spec.name)
                else {
                    let names: Vec<&str> = recorded.iter().map(|c| c.name.as_str()).collect();
                    return Err(KubeError::UnknownReplayContext(
                        spec.name.clone(),
                        names.join(", "),
                    ));
                };
                out.push((i, c, spec.cluster.clone()));
            }
            out
        };
        for (i, c, named) in wanted {
            let url = format!("{}/c{i}", server.base_url());
            targets.push(Target {
                context: c.name.clone(),
                server: c.server.clone(),
                named: named.or_else(|| c.cluster.clone()),
                explicit: true,
                config: url
                    .parse::<http::Uri>()
                    .map(kube::Config::new)
                    .map_err(|e| e.to_string()),
            });
        }
        _server = Some(server);
    } else {
        if let Some(cluster) = &opts.in_cluster {
            let config = kube::Config::incluster().map_err(|e| {
                format!(
                    "in-cluster configuration: {}",
                    cloudscan_collect::error::error_chain(&e)
                )
            });
            targets.push(Target {
                context: "in-cluster".to_string(),
                server: config
                    .as_ref()
                    .map(|c| c.cluster_url.to_string())
                    .unwrap_or_default(),
                named: Some(cluster.clone()),
                explicit: true,
                config,
            });
        }
        if opts.kubeconfig.is_some() || !opts.contexts.is_empty() {
            match kubeconfig_targets(opts).await {
                Ok(t) => targets.extend(t),
                Err(detail) => gaps.push(gap("*", CoverageStatus::Failed, detail)),
            }
        }
    }

    let recorder = opts.record.as_ref().map(|_| Recorder::new(fixture::PATHS));
    let retry = if opts.replay.is_some() {
        RetryPolicy::replay(opts.max_attempts.max(1))
    } else {
        RetryPolicy::live(opts.max_attempts.max(1))
    };
    let call_timeout = opts.call_timeout.unwrap_or(Duration::from_secs(60));
    // No `Plan`/`Done` events: the cloud scan's progress bar is already complete; what each
    // context gave is in its coverage entry.

    let mut read: Vec<KubeCluster> = Vec::new();
    let mut recorded_contexts: Vec<RecordedContext> = Vec::new();
    for target in targets {
        let index = match match_context(
            &target.server,
            target.named.as_deref(),
            &inventory.clusters,
        ) {
            Match::Endpoint(i) | Match::Named(i) => i,
            Match::NoCluster if !target.explicit => {
                progress(Progress::Warning(format!(
                    "kubernetes context `{}` ({}) is the API server of no scanned cluster: not read",
                    target.context, target.server
                )));
                continue;
            }
            other => {
                gaps.push(gap(
                    &target.context,
                    CoverageStatus::Failed,
                    unmatched(&target.context, &target.server, &other),
                ));
                continue;
            }
        };
        let Some(cluster) = inventory.clusters.get(index) else {
            continue;
        };
        let matched_by = if target.named.is_some() {
            "named"
        } else {
            "endpoint"
        };
        if let Some(earlier) = read.iter().find(|k| k.cluster_id == cluster.id) {
            progress(Progress::Warning(format!(
                "kubernetes context `{}` is cluster `{}`, already read through context `{}`: not read again",
                target.context, cluster.name, earlier.context
            )));
            continue;
        }
        let (cluster_name, cluster_id, cluster_scope, cluster_region) = (
            cluster.name.clone(),
            cluster.id.clone(),
            cluster.scope.clone(),
            cluster.region.clone(),
        );
        let coverage = |status: CoverageStatus, detail: String| Coverage {
            scope: cluster_scope.clone(),
            service: SERVICE.to_string(),
            region: cluster_region.clone(),
            status,
            detail: Some(detail),
        };
        let mut config = match target.config {
            Ok(c) => c,
            Err(e) => {
                gaps.push(coverage(
                    CoverageStatus::Failed,
                    format!(
                        "cluster `{cluster_name}` through context `{}`: cannot configure the client: {e}",
                        target.context
                    ),
                ));
                continue;
            }
        };
        // Retries are ours (bounded, honouring Retry-After), not the client's.
        config.default_retry = false;
        config.read_timeout = Some(call_timeout);
        let client = match kube::Client::try_from(config) {
            Ok(c) => c,
            Err(e) => {
                gaps.push(coverage(
                    CoverageStatus::Failed,
                    format!(
                        "cluster `{cluster_name}` through context `{}`: cannot build the client: {}",
                        target.context,
                        cloudscan_collect::error::error_chain(&e)
                    ),
                ));
                continue;
            }
        };
        let api = Api {
            client,
            context: target.context.clone(),
            recorder: recorder.clone(),
            retry,
            call_timeout,
        };
        let mut facts = KubeCluster {
            cluster: cluster_name.clone(),
            cluster_id,
            context: target.context.clone(),
            server: target.server.clone(),
            matched_by: matched_by.to_string(),
            aws_auth_state: "not-read".to_string(),
            ..Default::default()
        };
        let errors = read_cluster(&api, inventory.provider, &mut facts).await;
        let status = if errors.is_empty() {
            CoverageStatus::Complete
        } else if facts.complete.is_empty() && facts.aws_auth_state == "not-read" {
            errors
                .first()
                .map(CollectError::coverage_status)
                .unwrap_or(CoverageStatus::Failed)
        } else {
            CoverageStatus::Partial
        };
        let mut detail = format!(
            "cluster `{cluster_name}` through context `{}` (matched by {matched_by}): read {}",
            target.context,
            if facts.complete.is_empty() {
                "nothing".to_string()
            } else {
                facts.complete.join(", ")
            }
        );
        if facts.aws_auth_state != "not-read" {
            detail.push_str(&format!(", aws-auth ({})", facts.aws_auth_state));
        }
        for e in errors.iter().take(3) {
            detail.push_str(&format!("; {e}"));
        }
        gaps.push(coverage(status, detail));
        recorded_contexts.push(RecordedContext {
            name: target.context.clone(),
            server: target.server.clone(),
            cluster: target.named.clone(),
        });
        read.push(facts);
    }

    inventory.kubernetes.extend(read);
    inventory.coverage.extend(gaps);

    match (recorder, &opts.record) {
        (Some(recorder), Some(dir)) => {
            let scenario = Scenario::recorded(
                "Kubernetes API read by cloudscan".to_string(),
                KubeParams {
                    contexts: recorded_contexts,
                },
            );
            recorder
                .write(dir, &scenario)
                .map(Some)
                .map_err(KubeError::Record)
        }
        _ => Ok(None),
    }
}

fn unmatched(context: &str, server: &str, m: &Match) -> String {
    match m {
        Match::NoCluster => format!(
            "kubernetes context `{context}`: its API server `{server}` is the endpoint of no scanned cluster; name the cluster with --kube-context {context}=CLUSTER if it is reached through a tunnel or proxy"
        ),
        Match::Ambiguous(ids) => format!(
            "kubernetes context `{context}`: its API server `{server}` is the endpoint of {} scanned clusters ({}); name one with --kube-context {context}=CLUSTER",
            ids.len(),
            ids.join(", ")
        ),
        Match::UnknownCluster(c) => format!(
            "kubernetes context `{context}`: `{c}` is no scanned cluster (give its name, ARN or resource id)"
        ),
        Match::AmbiguousName(c, ids) => format!(
            "kubernetes context `{context}`: `{c}` names {} scanned clusters ({}); give its ARN or resource id",
            ids.len(),
            ids.join(", ")
        ),
        Match::Endpoint(_) | Match::Named(_) => String::new(),
    }
}

/// The contexts of the kubeconfig to read.
async fn kubeconfig_targets(opts: &KubeOptions) -> Result<Vec<Target>, String> {
    let kubeconfig = match &opts.kubeconfig {
        Some(path) => kube::config::Kubeconfig::read_from(path).map_err(|e| {
            format!(
                "cannot read kubeconfig `{}`: {}",
                path.display(),
                cloudscan_collect::error::error_chain(&e)
            )
        })?,
        None => kube::config::Kubeconfig::read().map_err(|e| {
            format!(
                "cannot read the default kubeconfig ($KUBECONFIG or ~/.kube/config): {}",
                cloudscan_collect::error::error_chain(&e)
            )
        })?,
    };
    let specs: Vec<(ContextSpec, bool)> = if opts.contexts.is_empty() {
        kubeconfig
            .contexts
            .iter()
            .map(|c| {
                (
                    ContextSpec {
                        name: c.name.clone(),
                        cluster: None,
                    },
                    false,
                )
            })
            .collect()
    } else {
        opts.contexts.iter().map(|c| (c.clone(), true)).collect()
    };
    let mut out = Vec::new();
    for (spec, explicit) in specs {
        let server = kubeconfig
            .contexts
            .iter()
            .find(|c| c.name == spec.name)
            .and_then(|c| c.context.as_ref())
            .and_then(|ctx| kubeconfig.clusters.iter().find(|c| c.name == ctx.cluster))
            .and_then(|c| c.cluster.as_ref())
            .and_then(|c| c.server.clone());
        let config = match &server {
            None => Err(format!(
                "context `{}` is not in the kubeconfig, or its cluster has no server",
                spec.name
            )),
            Some(_) => kube::Config::from_custom_kubeconfig(
                kubeconfig.clone(),
                &kube::config::KubeConfigOptions {
                    context: Some(spec.name.clone()),
                    cluster: None,
                    user: None,
                },
            )
            .await
            .map_err(|e| cloudscan_collect::error::error_chain(&e)),
        };
        out.push(Target {
            context: spec.name.clone(),
            server: server.unwrap_or_default(),
            named: spec.cluster.clone(),
            explicit,
            config,
        });
    }
    Ok(out)
}

/// Reads every kind of one cluster into `facts`; returns the errors.
async fn read_cluster(api: &Api, provider: Provider, facts: &mut KubeCluster) -> Vec<CollectError> {
    let mut errors = Vec::new();
    match api
        .list(Kind::ServiceAccounts, |b| {
            objects::parse_page::<ServiceAccount>(b).map(|p| (p.items, p.continue_token))
        })
        .await
    {
        Ok(items) => {
            facts.service_accounts = items.iter().map(objects::service_account).collect();
            facts
                .complete
                .push(Kind::ServiceAccounts.resource().to_string());
        }
        Err(e) => errors.push(e),
    }
    match api
        .list(Kind::Pods, |b| {
            objects::parse_page::<Pod>(b).map(|p| (p.items, p.continue_token))
        })
        .await
    {
        Ok(items) => {
            facts.pods = items.iter().map(objects::pod).collect();
            facts.complete.push(Kind::Pods.resource().to_string());
        }
        Err(e) => errors.push(e),
    }
    match api
        .list(Kind::Nodes, |b| {
            objects::parse_page::<Node>(b).map(|p| (p.items, p.continue_token))
        })
        .await
    {
        Ok(items) => {
            facts.nodes = items.iter().map(objects::node).collect();
            facts.complete.push(Kind::Nodes.resource().to_string());
        }
        Err(e) => errors.push(e),
    }
    match api
        .list(Kind::NetworkPolicies, |b| {
            objects::parse_page::<NetworkPolicy>(b).map(|p| (p.items, p.continue_token))
        })
        .await
    {
        Ok(items) => {
            facts.network_policies = items.iter().map(objects::network_policy).collect();
            facts
                .complete
                .push(Kind::NetworkPolicies.resource().to_string());
        }
        Err(e) => errors.push(e),
    }
    if provider == Provider::Aws {
        match api.get(Kind::AwsAuth, &BTreeMap::new()).await {
            Ok(Answer::Ok(body)) => match serde_json::from_value::<ConfigMap>(body) {
                Ok(cm) => {
                    facts.aws_auth = Some(objects::aws_auth(&cm));
                    facts.aws_auth_state = "read".to_string();
                }
                Err(e) => errors.push(CollectError::malformed(
                    "kubernetes configmaps.get",
                    &api.context,
                    e.to_string(),
                )),
            },
            Ok(Answer::NotFound) => facts.aws_auth_state = "absent".to_string(),
            Err(e) => errors.push(e),
        }
    }
    errors
}

/// The kinds, verbs and names this adapter reads, as RBAC rules (group, resource, verb, name):
/// what `deploy/kubernetes/clusterrole.yaml` must grant, and no more.
pub fn rbac_needs() -> Vec<(
    &'static str,
    &'static str,
    &'static str,
    Option<&'static str>,
)> {
    Kind::ALL
        .iter()
        .map(|k| (k.group(), k.resource(), k.verb(), k.resource_name()))
        .collect()
}

/// Where a recording of the Kubernetes side goes when the cloud scan records into `dir`.
pub fn recording_dir(dir: &Path) -> PathBuf {
    dir.join(SERVICE)
}
