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
  cloudscan azure --subscription SUB               scan AKS in one subscription
  cloudscan azure --replay mocks/azure/insecure    the same, on recorded fixtures
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
    #[arg(long = "project", value_name = "PROJECT", value_delimiter = ',', required_unless_present_any = ["all_projects", "replay"])]
    pub projects: Vec<String>,

    /// Scan every project the credentials can list
    #[arg(long, conflicts_with = "projects")]
    pub all_projects: bool,

    #[command(flatten)]
    pub collect: CollectArgs,

    #[command(flatten)]
    pub output: OutputArgs,
}

#[derive(Args, Debug)]
#[command(after_help = AFTER_HELP)]
pub struct AzureArgs {
    /// Subscription id to scan; repeat or comma-separate
    #[arg(long = "subscription", value_name = "ID", value_delimiter = ',', required_unless_present_any = ["all_subscriptions", "replay"])]
    pub subscriptions: Vec<String>,

    /// Scan every enabled subscription the credentials can see
    #[arg(long, conflicts_with = "subscriptions")]
    pub all_subscriptions: bool,

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
}

#[derive(Args, Debug)]
pub struct ScanArgs {
    /// An inventory written by `--save-inventory`
    #[arg(long, value_name = "FILE")]
    pub inventory: PathBuf,

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
pub struct HistoryArgs {
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
    #[arg(long, value_name = "ARN")]
    pub identity: Option<String>,

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
        Command::Aws(args) => scan(&args.collect, &args.output, providers::aws(&args)),
        Command::Gcp(args) => scan(&args.collect, &args.output, providers::gcp(&args)),
        Command::Azure(args) => scan(&args.collect, &args.output, providers::azure(&args)),
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

/// A provider scan through the pipeline.
fn scan(collect: &CollectArgs, output: &OutputArgs, scan: assess::ScanFn<'_>) -> u8 {
    let collector = assess::Collector {
        replay: collect.replay.is_some(),
        record: collect.record.as_deref(),
        save_inventory: collect.save_inventory.as_deref(),
        progress: !output.no_progress,
        scan,
    };
    assess::run(assess::Source::Collect(collector), &output.options())
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
        }
    }
}
