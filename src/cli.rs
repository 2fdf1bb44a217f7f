//! The command line: argument definitions and dispatch. `main` calls [`run`] and exits with the
//! code it returns.
//!
//! A scan command maps its arguments onto the pipeline ([`crate::assess`]): the output flags
//! become [`assess::Options`], the collect flags an [`assess::Collector`] whose scan function
//! (one per cloud, in `cli/providers.rs`) calls the provider adapter. The other commands live in
//! `cli/commands.rs`.

mod commands;
mod providers;

use crate::assess::{self, FailOn};
use crate::clouds::Provider;
use clap::{Args, Parser, Subcommand, ValueEnum};
use std::path::PathBuf;
use std::process::ExitCode;

/// Exit codes (defined with the pipeline that decides them).
pub use crate::assess::exit;
/// The report formats (defined with the renderers).
pub use crate::report::Format;

const AFTER_HELP: &str = "\
Exit codes: 0 clean, 1 findings at or above --fail-on, 2 tool error (bad flags, no credentials,
unreadable input), 3 scan incomplete (some API could not be read; see the coverage table).

Examples:
  cloudscan aws --profile prod                     scan every enabled region of an account
  cloudscan aws --region eu-west-1 --fail-on high  gate a pipeline on high findings
  cloudscan aws --replay mocks/aws/insecure        scan recorded fixtures, no credentials needed
  cloudscan aws --profile prod --record ./rec      record a scrubbed copy of a live scan
  cloudscan gcp --project my-project               scan GKE in one project (application default credentials)
  cloudscan gcp --replay mocks/gcp/insecure        the same, on recorded fixtures
  cloudscan gcp --organization 123456789012        every ACTIVE project below an organization (--folder ID: below a folder)
  cloudscan azure --subscription SUB               scan AKS in one subscription
  cloudscan azure --replay mocks/azure/insecure    the same, on recorded fixtures
  cloudscan azure --management-group mg-platform,mg-workloads
                                                   every enabled subscription below two management groups
  cloudscan aws --profile prod --store --format html -o report.html
                                                   keep history; the report shows what is new and fixed
  cloudscan aws --profile prod --store --fail-on high --new-only
                                                   gate a pipeline on new high findings only
  cloudscan history                                list stored scans
  cloudscan diff                                   the newest stored scan against the one before it
  cloudscan report --scan 12 --format sarif        render a stored scan in another format
  cloudscan scan --inventory inv.json --format json
  cloudscan access --inventory inv.json --capability secrets-read
                                                   who can read secrets, and which pods can become them
  cloudscan rules node-metadata-exposed            explain one rule";

#[derive(Parser, Debug)]
#[command(
    name = "cloudscan",
    version,
    about = "Audit the cloud layer under Kubernetes clusters (EKS, GKE, AKS)",
    long_about = "cloudscan audits the Cloud layer under managed Kubernetes: node identities and \
what pods can do through them, workload identity bindings, API server exposure, secrets and volume \
encryption, and audit logging. It makes read-only API calls only, and every finding carries the \
evidence that proves it. Anything it could not read is reported as incomplete coverage, never as \
a pass.",
    after_help = AFTER_HELP
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Scan an AWS account: EKS clusters, node groups, node and workload roles, encryption, logging
    Aws(AwsArgs),
    /// Scan Google Cloud projects: GKE clusters, node pools and service accounts, IAM bindings,
    /// Workload Identity, encryption, audit configuration
    Gcp(GcpArgs),
    /// Scan Azure subscriptions: AKS clusters, kubelet and workload identities, role assignments,
    /// encryption, diagnostic settings
    Azure(AzureArgs),
    /// Re-run the rules on an inventory saved with --save-inventory (offline)
    Scan(ScanArgs),
    /// Who can reach what: identities holding a capability (secrets-read, object-read,
    /// object-write, iam-write, compute-write, admin, privilege-escalation, or a path id) and the
    /// node pools and service accounts that can become them; or what one identity can do
    Access(AccessArgs),
    /// List the rules, or explain one in full
    Rules(RulesArgs),
    /// IAM policy tools
    Iam(IamArgs),
    /// List the scans kept in the history database (`--store`)
    History(HistoryArgs),
    /// New, fixed and still-open findings between two stored scans (default: the newest scan
    /// against the previous scan of the same scopes)
    Diff(DiffArgs),
    /// Render a stored scan again, in any format
    Report(ReportArgs),
}

#[derive(Args, Debug)]
#[command(after_help = AFTER_HELP)]
pub struct AwsArgs {
    /// Named profile from ~/.aws/config (SSO, assume-role, web identity, credential_process all
    /// work); default: the standard chain (environment, profile, SSO, container, instance)
    #[arg(long, value_name = "NAME", conflicts_with = "replay")]
    pub profile: Option<String>,

    /// Region to scan; repeat or comma-separate. Default: every region enabled for the account
    #[arg(long = "region", value_name = "REGION", value_delimiter = ',')]
    pub regions: Vec<String>,

    /// Scan every ACTIVE account of the caller's AWS organization (run from the management or a
    /// delegated-administrator account): the caller's account with its own credentials, every
    /// other through --member-role. Also reads the OU tree, SCPs and RCPs, and the S3, KMS and
    /// Secrets Manager resource policies of each scanned account
    #[arg(long, requires = "member_role")]
    pub organization: bool,

    /// The role to assume in each member account (`arn:PARTITION:iam::ACCOUNT:role/NAME`)
    #[arg(long, value_name = "NAME", requires = "organization")]
    pub member_role: Option<String>,

    /// The external id the member role's trust policy requires
    #[arg(long, value_name = "ID", requires = "organization")]
    pub external_id: Option<String>,

    /// Scan only these accounts of the organization; repeat or comma-separate
    #[arg(
        long,
        value_name = "ID",
        value_delimiter = ',',
        requires = "organization"
    )]
    pub accounts: Vec<String>,

    /// Never scan these accounts of the organization; repeat or comma-separate
    #[arg(
        long,
        value_name = "ID",
        value_delimiter = ',',
        requires = "organization"
    )]
    pub exclude_accounts: Vec<String>,

    /// How many accounts are scanned at once (every account's calls also share --concurrency)
    #[arg(long, value_name = "N", default_value_t = 4, value_parser = clap::value_parser!(u16).range(1..), requires = "organization")]
    pub max_accounts: u16,

    #[command(flatten)]
    pub collect: CollectArgs,

    #[command(flatten)]
    pub output: OutputArgs,
}

#[derive(Args, Debug)]
#[command(after_help = AFTER_HELP)]
pub struct GcpArgs {
    /// Project id to scan; repeat or comma-separate
    #[arg(long = "project", value_name = "PROJECT", value_delimiter = ',', required_unless_present_any = ["all_projects", "organizations", "folders", "replay"])]
    pub projects: Vec<String>,

    /// Scan every project the credentials can list
    #[arg(long, conflicts_with = "projects")]
    pub all_projects: bool,

    /// Scan every ACTIVE project below this organization, recursively through its folders
    /// (`folders.list`, `projects.list`; a node that cannot be listed leaves the scan incomplete,
    /// exit 3); ID or organizations/ID; repeat or comma-separate.
    /// Example: cloudscan gcp --organization 123456789012 --exclude-projects sandbox-1
    #[arg(
        long = "organization",
        value_name = "ID",
        value_delimiter = ',',
        conflicts_with_all = ["projects", "all_projects"]
    )]
    pub organizations: Vec<String>,

    /// Scan every ACTIVE project below this folder, recursively; ID or folders/ID; repeat or
    /// comma-separate. Example: cloudscan gcp --folder 456789012345 --shard 0/4
    #[arg(
        long = "folder",
        value_name = "ID",
        value_delimiter = ',',
        conflicts_with_all = ["projects", "all_projects"]
    )]
    pub folders: Vec<String>,

    /// Never scan these projects (project ids) of --organization, --folder or --all-projects;
    /// repeat or comma-separate
    #[arg(long, value_name = "PROJECT", value_delimiter = ',')]
    pub exclude_projects: Vec<String>,

    #[command(flatten)]
    pub collect: CollectArgs,

    #[command(flatten)]
    pub output: OutputArgs,
}

#[derive(Args, Debug)]
#[command(after_help = AFTER_HELP)]
pub struct AzureArgs {
    /// Subscription id to scan; repeat or comma-separate
    #[arg(long = "subscription", value_name = "ID", value_delimiter = ',', required_unless_present_any = ["all_subscriptions", "management_groups", "replay"])]
    pub subscriptions: Vec<String>,

    /// Scan every enabled subscription the credentials can see
    #[arg(long, conflicts_with = "subscriptions")]
    pub all_subscriptions: bool,

    /// Scan every enabled subscription below this management group, at any depth (name or
    /// /providers/Microsoft.Management/managementGroups/NAME); repeat or comma-separate. A group
    /// that cannot be read, or a subscription that is not Enabled, leaves the scan incomplete
    #[arg(
        long = "management-group",
        value_name = "ID",
        value_delimiter = ',',
        conflicts_with_all = ["subscriptions", "all_subscriptions"]
    )]
    pub management_groups: Vec<String>,

    #[command(flatten)]
    pub collect: CollectArgs,

    #[command(flatten)]
    pub output: OutputArgs,
}

/// How a provider scan collects: live or from fixtures, recording, limits, saved inventory.
#[derive(Args, Debug)]
pub struct CollectArgs {
    /// Scan recorded API fixtures in DIR instead of the cloud (no credentials, no network)
    #[arg(long, value_name = "DIR", conflicts_with = "record")]
    pub replay: Option<PathBuf>,

    /// Record every API response of this live scan into DIR (credentials, signatures, tokens and
    /// secret values scrubbed), for --replay later
    #[arg(long, value_name = "DIR")]
    pub record: Option<PathBuf>,

    /// Maximum API calls in flight at once
    #[arg(long, value_name = "N", default_value_t = 16, value_parser = clap::value_parser!(u16).range(1..=256))]
    pub concurrency: u16,

    /// Attempts per API call; throttled calls back off and retry (honouring Retry-After)
    #[arg(long, value_name = "N", default_value_t = 5, value_parser = clap::value_parser!(u32).range(1..=20))]
    pub max_attempts: u32,

    /// Seconds one API call attempt may take before it is abandoned (and retried)
    #[arg(long, value_name = "SECONDS", default_value_t = 60, value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub call_timeout: u64,

    /// Write the normalized inventory to FILE (re-run rules later with `cloudscan scan`)
    #[arg(long, value_name = "FILE")]
    pub save_inventory: Option<PathBuf>,

    /// Inside a Kubernetes pod, scan even when no workload identity is configured (the scan then
    /// runs as the node's cloud identity); refused by default
    #[arg(long, env = "CLOUDSCAN_ALLOW_NODE_IDENTITY")]
    pub allow_node_identity: bool,

    /// Scan only shard I of N of the scopes (accounts, projects, subscriptions; each scope is in
    /// exactly one shard). `auto/N` takes I from JOB_COMPLETION_INDEX (a Kubernetes Indexed Job)
    #[arg(long, value_name = "I/N", env = "CLOUDSCAN_SHARD", value_parser = parse_shard)]
    pub shard: Option<cloudscan_collect::scan::Shard>,

    /// At most N API calls a second overall, on top of the per-service limits (docs/scale.md)
    #[arg(long, value_name = "N", value_parser = parse_rps)]
    pub max_rps: Option<f64>,

    #[command(flatten)]
    pub kube: KubeArgs,
}

/// The Cluster side (docs/kubernetes.md): read the scanned clusters' own Kubernetes API,
/// read-only, and join it to the cloud. Without any of these flags nothing is read.
#[derive(Args, Debug, Clone, Default)]
pub struct KubeArgs {
    /// Read clusters through this kubeconfig: every context whose API server is a scanned
    /// cluster's endpoint (or only the --kube-context ones). Default with --kube-context:
    /// $KUBECONFIG or ~/.kube/config
    #[arg(long, value_name = "PATH", help_heading = "Kubernetes")]
    pub kubeconfig: Option<PathBuf>,

    /// Read this kubeconfig context; repeat. NAME=CLUSTER names the scanned cluster it is (name,
    /// ARN or resource id) when its server is not the cluster's endpoint (tunnel, proxy); a
    /// context that matches no scanned cluster is reported as incomplete coverage
    #[arg(long = "kube-context", value_name = "NAME[=CLUSTER]", value_parser = cloudscan_kube::ContextSpec::parse, help_heading = "Kubernetes")]
    pub kube_contexts: Vec<cloudscan_kube::ContextSpec>,

    /// Inside the cluster (the CronJob): read it with the pod's own service account. CLUSTER
    /// names the scanned cluster (name, ARN or resource id): the in-cluster API address is not
    /// the cloud endpoint
    #[arg(long, value_name = "CLUSTER", help_heading = "Kubernetes")]
    pub kube_in_cluster: Option<String>,

    /// Read the Kubernetes side from a recording (mocks/kube/<scenario>, or the `kubernetes`
    /// folder of a --record DIR) instead of live API servers
    #[arg(long, value_name = "DIR", conflicts_with_all = ["kubeconfig", "kube_in_cluster", "record"], help_heading = "Kubernetes")]
    pub kube_replay: Option<PathBuf>,
}

/// `--shard I/N`, or `auto/N` with I from `JOB_COMPLETION_INDEX`.
fn parse_shard(text: &str) -> Result<cloudscan_collect::scan::Shard, String> {
    shard_from(text, std::env::var("JOB_COMPLETION_INDEX").ok().as_deref())
}

/// [`parse_shard`] with the job index given.
pub fn shard_from(
    text: &str,
    job_index: Option<&str>,
) -> Result<cloudscan_collect::scan::Shard, String> {
    match text.trim().split_once('/') {
        Some((i, n)) if i.trim().eq_ignore_ascii_case("auto") => {
            let index = job_index.map(str::trim).filter(|v| !v.is_empty()).ok_or_else(|| {
                format!("shard {text:?}: `auto` takes the index from JOB_COMPLETION_INDEX, which is not set")
            })?;
            cloudscan_collect::scan::Shard::parse(&format!("{index}/{}", n.trim()))
                .map_err(|e| format!("{e} (index from JOB_COMPLETION_INDEX)"))
        }
        _ => cloudscan_collect::scan::Shard::parse(text),
    }
}

fn parse_rps(text: &str) -> Result<f64, String> {
    match text.trim().parse::<f64>() {
        Ok(n) if n.is_finite() && n > 0.0 => Ok(n),
        _ => Err(format!(
            "{text:?} is not a positive number of calls a second"
        )),
    }
}

#[derive(Args, Debug)]
pub struct ScanArgs {
    /// An inventory written by `--save-inventory`, or a folder of them (every `*.json` in it).
    /// Repeat it, or give a folder, to merge the inventories of `--shard` runs into one scan
    #[arg(long, value_name = "FILE|DIR", required = true, num_args = 1..)]
    pub inventory: Vec<PathBuf>,

    #[command(flatten)]
    pub output: OutputArgs,
}

#[derive(Args, Debug)]
pub struct OutputArgs {
    /// Output format
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,

    /// Write the report to FILE instead of standard output
    #[arg(long, short = 'o', value_name = "FILE")]
    pub output: Option<PathBuf>,

    /// Exit with code 1 when a finding at or above this severity exists
    /// (info, low, medium, high, critical, or never)
    #[arg(long, value_name = "SEVERITY", default_value = "never", value_parser = FailOn::parse)]
    pub fail_on: FailOn,

    /// Do not turn an incomplete scan into exit code 3 (the report still shows the gaps)
    #[arg(long)]
    pub allow_incomplete: bool,

    /// No progress display on standard error
    #[arg(long)]
    pub no_progress: bool,

    /// Keep this scan in the history database at PATH (default with no PATH: the user's data
    /// directory, ~/.local/share/cloudscan/history.db on Linux). The report then shows new,
    /// fixed and still-open findings since the previous scan of each scope, and the trend
    #[arg(long, value_name = "PATH", num_args = 0..=1, default_missing_value = "", env = "CLOUDSCAN_STORE")]
    pub store: Option<PathBuf>,

    /// With --fail-on: only findings that are new since the previous stored scan fail the run
    #[arg(long, requires = "store")]
    pub new_only: bool,

    /// After storing this scan, keep only the newest N scans of each scope set in the history
    /// (older ones and their reports are deleted and the file shrinks)
    #[arg(long, value_name = "N", requires = "store", value_parser = clap::value_parser!(u32).range(1..))]
    pub keep: Option<u32>,

    /// Accept waivers that match every resource of their rule (`*`) or expire more than a year
    /// ahead (refused otherwise)
    #[arg(long)]
    pub allow_broad_waivers: bool,

    /// Configuration with waivers (default: ./cloudscan.toml when it exists)
    #[arg(long, value_name = "FILE", env = "CLOUDSCAN_CONFIG")]
    pub config: Option<PathBuf>,

    /// Show only this framework's controls and the findings that map to them
    /// (cis-eks-1.8, cis-gke-1.9, cis-aks-1.8, 4c-cloud); --fail-on then gates on those findings
    #[arg(long, value_name = "ID")]
    pub framework: Option<String>,
}

/// Formats of the listing commands (access, rules, history).
#[derive(Debug, Clone, Copy, ValueEnum, PartialEq, Eq)]
pub enum ListFormat {
    /// Human-readable
    Table,
    /// JSON
    Json,
}

#[derive(Args, Debug)]
pub struct StoreArgs {
    /// The history database (default: ~/.local/share/cloudscan/history.db on Linux)
    #[arg(long, value_name = "PATH", env = "CLOUDSCAN_STORE")]
    pub store: Option<PathBuf>,
}

#[derive(Args, Debug)]
#[command(args_conflicts_with_subcommands = true)]
pub struct HistoryArgs {
    #[command(subcommand)]
    pub command: Option<HistoryCommand>,

    #[command(flatten)]
    pub store: StoreArgs,

    /// Only scans of this provider (aws, gcp, azure)
    #[arg(long, value_name = "NAME")]
    pub provider: Option<String>,

    /// Only scans that covered this scope (account, project or subscription id)
    #[arg(long, value_name = "ID")]
    pub scope: Option<String>,

    /// At most this many scans, newest first
    #[arg(long, value_name = "N", default_value_t = 50)]
    pub limit: usize,

    /// Output format (table or json)
    #[arg(long, value_enum, default_value_t = ListFormat::Table)]
    pub format: ListFormat,
}

#[derive(Subcommand, Debug)]
pub enum HistoryCommand {
    /// Delete old scans (and their stored reports) and shrink the database
    Prune(PruneArgs),
}

#[derive(Args, Debug)]
#[command(group(clap::ArgGroup::new("retention").required(true).multiple(true)))]
pub struct PruneArgs {
    #[command(flatten)]
    pub store: StoreArgs,

    /// Keep the newest N scans of each scope set (provider and exact set of scopes)
    #[arg(long, value_name = "N", group = "retention", value_parser = clap::value_parser!(u32).range(1..))]
    pub keep: Option<u32>,

    /// Delete scans that started longer ago than this (e.g. 90d, 12weeks, 1y)
    #[arg(long, value_name = "DURATION", group = "retention", value_parser = humantime::parse_duration)]
    pub older_than: Option<std::time::Duration>,

    /// Output format (table or json)
    #[arg(long, value_enum, default_value_t = ListFormat::Table)]
    pub format: ListFormat,
}

#[derive(Args, Debug)]
pub struct DiffArgs {
    #[command(flatten)]
    pub store: StoreArgs,

    /// The baseline scan id (default: the previous scan of the same scopes as --to)
    #[arg(long, value_name = "SCAN")]
    pub from: Option<i64>,

    /// The scan to compare (default: the newest)
    #[arg(long, value_name = "SCAN")]
    pub to: Option<i64>,

    /// Output format
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,

    /// Exit with code 1 when a new finding at or above this severity exists
    #[arg(long, value_name = "SEVERITY", default_value = "never", value_parser = FailOn::parse)]
    pub fail_on: FailOn,
}

#[derive(Args, Debug)]
pub struct ReportArgs {
    #[command(flatten)]
    pub store: StoreArgs,

    /// The scan to render (default: the newest)
    #[arg(long, value_name = "SCAN")]
    pub scan: Option<i64>,

    /// Output format
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,

    /// Write the report to FILE instead of standard output
    #[arg(long, short = 'o', value_name = "FILE")]
    pub output: Option<PathBuf>,

    /// Show only this framework's controls and the findings that map to them
    #[arg(long, value_name = "ID")]
    pub framework: Option<String>,
}

#[derive(Args, Debug)]
pub struct AccessArgs {
    /// An inventory written by `--save-inventory` (AWS, GCP or Azure)
    #[arg(long, value_name = "FILE")]
    pub inventory: PathBuf,

    /// List every identity holding this capability
    #[arg(long, value_name = "ID", conflicts_with = "identity")]
    pub capability: Option<String>,

    /// Show what this identity (role ARN) can do and who can use it
    #[arg(long, value_name = "ARN", conflicts_with = "from")]
    pub identity: Option<String>,

    /// Print the role chains from this role ARN or node pool (`CLUSTER/POOL`) to the identities
    /// holding `--capability` (every capability when not given)
    #[arg(long, value_name = "ROLE_ARN|CLUSTER/POOL")]
    pub from: Option<String>,

    /// The most `sts:AssumeRole` / Pod Identity hops a chain may take
    #[arg(long, value_name = "N", default_value_t = cloudscan_access::chain::DEFAULT_MAX_DEPTH)]
    pub max_depth: usize,

    /// Output format
    #[arg(long, value_enum, default_value_t = ListFormat::Table)]
    pub format: ListFormat,
}

#[derive(Args, Debug)]
pub struct RulesArgs {
    /// Explain this rule (description, remediation, references, compliance)
    pub id: Option<String>,

    /// Output format
    #[arg(long, value_enum, default_value_t = ListFormat::Table)]
    pub format: ListFormat,
}

#[derive(Args, Debug)]
pub struct IamArgs {
    #[command(subcommand)]
    pub command: IamCommand,
}

#[derive(Subcommand, Debug)]
pub enum IamCommand {
    /// Evaluate AWS policy cases from JSON Lines (one case per line; `-` for standard input)
    Simulate {
        /// JSON Lines file of cases
        #[arg(long, value_name = "FILE")]
        batch: PathBuf,
    },
}

/// Parses the command line and runs it.
pub fn run() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let code = if e.use_stderr() {
                exit::ERROR
            } else {
                exit::OK
            };
            let _ = e.print();
            return ExitCode::from(code);
        }
    };
    let code = match cli.command {
        Command::Aws(args) => {
            let explicit = args.profile.is_some();
            match node_identity(Provider::Aws, explicit, &args.collect) {
                Ok(()) => scan(&args.collect, &args.output, providers::aws(&args)),
                Err(code) => code,
            }
        }
        Command::Gcp(args) => match node_identity(Provider::Gcp, false, &args.collect) {
            Ok(()) => scan(&args.collect, &args.output, providers::gcp(&args)),
            Err(code) => code,
        },
        Command::Azure(args) => match node_identity(Provider::Azure, false, &args.collect) {
            Ok(()) => scan(&args.collect, &args.output, providers::azure(&args)),
            Err(code) => code,
        },
        Command::Scan(args) => assess::run(
            assess::Source::Saved(&args.inventory),
            &args.output.options(),
        ),
        Command::Access(args) => commands::access(args),
        Command::Rules(args) => commands::rules(args),
        Command::Iam(IamArgs {
            command: IamCommand::Simulate { batch },
        }) => commands::simulate(&batch),
        Command::History(args) => commands::history(args),
        Command::Diff(args) => commands::diff(args),
        Command::Report(args) => commands::report(args),
    };
    ExitCode::from(code)
}

/// A live scan from inside a pod without workload identity is refused (`crate::guard`); a replay
/// is not a scan of anything.
fn node_identity(cloud: Provider, explicit: bool, collect: &CollectArgs) -> Result<(), u8> {
    if collect.replay.is_some() {
        return Ok(());
    }
    crate::guard::check_node_identity(cloud, explicit, collect.allow_node_identity, |name| {
        std::env::var_os(name)
    })
    .map_err(assess::fail)
}

/// A provider scan through the pipeline.
fn scan(collect: &CollectArgs, output: &OutputArgs, scan: assess::ScanFn<'_>) -> u8 {
    let scan = assess::with_kubernetes(scan, collect.kube_options());
    let collector = assess::Collector {
        replay: collect.replay.is_some(),
        record: collect.record.as_deref(),
        save_inventory: collect.save_inventory.as_deref(),
        progress: !output.no_progress,
        scan,
    };
    assess::run(assess::Source::Collect(collector), &output.options())
}

impl CollectArgs {
    /// The Kubernetes adapter's options (a recording goes to `<--record DIR>/kubernetes`).
    fn kube_options(&self) -> cloudscan_kube::KubeOptions {
        cloudscan_kube::KubeOptions {
            kubeconfig: self.kube.kubeconfig.clone(),
            contexts: self.kube.kube_contexts.clone(),
            in_cluster: self.kube.kube_in_cluster.clone(),
            replay: self.kube.kube_replay.clone(),
            record: self.record.as_deref().map(cloudscan_kube::recording_dir),
            max_attempts: self.max_attempts,
            call_timeout: Some(std::time::Duration::from_secs(self.call_timeout)),
        }
    }
}

impl OutputArgs {
    /// The pipeline's view of the output flags.
    fn options(&self) -> assess::Options {
        assess::Options {
            format: self.format,
            output: self.output.clone(),
            gate: assess::Gate {
                fail_on: self.fail_on,
                new_only: self.new_only,
                allow_incomplete: self.allow_incomplete,
            },
            store: self.store.clone(),
            config: self.config.clone(),
            framework: self.framework.clone(),
            keep: self.keep.and_then(|n| usize::try_from(n).ok()),
            allow_broad_waivers: self.allow_broad_waivers,
        }
    }
}
