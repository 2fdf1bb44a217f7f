//! `cloudscan-estate`: serves a synthetic estate on 127.0.0.1, or prints the minimum number of
//! API calls a scan of it needs. A test and benchmark tool; not part of cloudscan.

use clap::{Args, Parser, Subcommand};
use cloudscan_estate::{Behaviour, Server, Spec};
use std::io::Write;
use std::path::PathBuf;
use std::time::Duration;

#[derive(Parser)]
#[command(
    name = "cloudscan-estate",
    about = "A synthetic cloud estate on loopback"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the estate until SIGINT/SIGTERM or --max-seconds; print the URL on the first line.
    Serve {
        #[command(flatten)]
        spec: SpecArgs,
        /// Added to every answer, in milliseconds.
        #[arg(long, default_value_t = 0)]
        latency_ms: u64,
        /// Service-side rate limit per account/subscription and service (GCP: per service) (calls a second).
        #[arg(long)]
        rate_limit: Option<f64>,
        /// Throttle every N-th call of each service (a throttling storm).
        #[arg(long)]
        throttle_every: Option<u64>,
        /// 0 = any free port.
        #[arg(long, default_value_t = 0)]
        port: u16,
        /// Write the call counts (JSON) here on exit.
        #[arg(long)]
        stats_file: Option<PathBuf>,
        /// Stop by itself after this long.
        #[arg(long, default_value_t = 3600)]
        max_seconds: u64,
    },
    /// Print the minimum API calls a scan of the estate needs (JSON, per operation).
    Minimum {
        #[command(flatten)]
        spec: SpecArgs,
        /// aws, azure or gcp.
        #[arg(long, default_value = "aws")]
        cloud: String,
    },
}

#[derive(Args, Clone)]
struct SpecArgs {
    #[arg(long, default_value_t = 1)]
    seed: u64,
    #[arg(long, default_value_t = 1)]
    accounts: u32,
    /// IAM roles per account.
    #[arg(long, default_value_t = 50)]
    roles: u32,
    #[arg(long, default_value_t = 2)]
    regions: u32,
    /// EKS clusters per account.
    #[arg(long, default_value_t = 2)]
    clusters: u32,
    #[arg(long, default_value_t = 2)]
    nodegroups: u32,
    /// Instances per node group.
    #[arg(long, default_value_t = 2)]
    nodes: u32,
    #[arg(long, default_value_t = 2)]
    subscriptions: u32,
    /// AKS clusters per subscription.
    #[arg(long, default_value_t = 2)]
    aks_clusters: u32,
    /// Managed identities per subscription.
    #[arg(long, default_value_t = 4)]
    identities: u32,
    /// GCP projects.
    #[arg(long, default_value_t = 2)]
    projects: u32,
    /// GKE clusters per project.
    #[arg(long, default_value_t = 2)]
    gke_clusters: u32,
    /// User-managed service accounts per project.
    #[arg(long, default_value_t = 4)]
    service_accounts: u32,
    /// Top-level GCP folders (each with one subfolder).
    #[arg(long, default_value_t = 2)]
    folders: u32,
}

impl SpecArgs {
    fn spec(&self) -> Spec {
        Spec {
            seed: self.seed,
            accounts: self.accounts,
            roles: self.roles,
            regions: self.regions,
            clusters: self.clusters,
            nodegroups: self.nodegroups,
            nodes: self.nodes,
            subscriptions: self.subscriptions,
            aks_clusters: self.aks_clusters,
            identities: self.identities,
            projects: self.projects,
            gke_clusters: self.gke_clusters,
            service_accounts: self.service_accounts,
            folders: self.folders,
        }
        .normalized()
    }
}

fn main() {
    let cli = Cli::parse();
    let code = match cli.command {
        Command::Minimum { spec, cloud } => {
            let spec = spec.spec();
            let m = match cloud.as_str() {
                "aws" => cloudscan_estate::minimum_aws(&spec, spec.accounts),
                "azure" => cloudscan_estate::minimum_azure(&spec, spec.subscriptions, true),
                "gcp" => cloudscan_estate::minimum_gcp(&spec),
                other => {
                    eprintln!("--cloud {other:?}: expected aws, azure or gcp");
                    std::process::exit(2);
                }
            };
            let total: u64 = m.values().sum();
            println!("{}", serde_json::json!({"calls": m, "total_calls": total}));
            0
        }
        Command::Serve {
            spec,
            latency_ms,
            rate_limit,
            throttle_every,
            port,
            stats_file,
            max_seconds,
        } => {
            let runtime = match tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
            {
                Ok(rt) => rt,
                Err(e) => {
                    eprintln!("cannot start the runtime: {e}");
                    std::process::exit(2);
                }
            };
            runtime.block_on(serve(
                spec.spec(),
                Behaviour {
                    latency: Duration::from_millis(latency_ms),
                    rate_limit,
                    throttle_every,
                    session_duration: None,
                },
                port,
                stats_file,
                max_seconds,
            ))
        }
    };
    std::process::exit(code);
}

async fn serve(
    spec: Spec,
    behaviour: Behaviour,
    port: u16,
    stats_file: Option<PathBuf>,
    max_seconds: u64,
) -> i32 {
    let server = match Server::start(spec, behaviour, port).await {
        Ok(s) => s,
        Err(e) => {
            eprintln!("cannot listen on 127.0.0.1:{port}: {e}");
            return 2;
        }
    };
    println!("{}", server.base_url());
    let _ = std::io::stdout().flush();
    let term = async {
        #[cfg(unix)]
        {
            if let Ok(mut s) =
                tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
            {
                s.recv().await;
                return;
            }
        }
        std::future::pending::<()>().await
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = term => {}
        _ = tokio::time::sleep(Duration::from_secs(max_seconds)) => {}
    }
    if let Some(path) = stats_file {
        let text = server.stats().to_json().to_string();
        if let Err(e) = std::fs::write(&path, text) {
            eprintln!("cannot write {}: {e}", path.display());
            return 2;
        }
    }
    0
}
