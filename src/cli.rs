//! The command line. `main` calls [`run`] and exits with the code it returns.

use crate::finding::{Finding, Severity};
use crate::report::model::{Change, FindingEntry, ReportDocument, TrendPoint};
use crate::report::{self, Mode};
use crate::rules;
use clap::{Args, Parser, Subcommand, ValueEnum};
use cloudscan_inventory::Inventory;
use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::SystemTime;

/// Exit codes. Distinct so a pipeline can tell "found problems" from "could not scan".
pub mod exit {
    /// Scan complete, no finding at or above `--fail-on`.
    pub const OK: u8 = 0;
    /// Findings at or above `--fail-on`.
    pub const FINDINGS: u8 = 1;
    /// The tool could not run: bad flags, no credentials, unreadable input.
    pub const ERROR: u8 = 2;
    /// The scan finished but some collectors failed (see the coverage table); takes precedence
    /// over FINDINGS unless `--allow-incomplete` is given.
    pub const INCOMPLETE: u8 = 3;
}

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
    #[arg(long, value_name = "SEVERITY", default_value = "never", value_parser = parse_fail_on)]
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

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailOn {
    Never,
    At(Severity),
}

fn parse_fail_on(s: &str) -> Result<FailOn, String> {
    if s.eq_ignore_ascii_case("never") || s.eq_ignore_ascii_case("none") {
        return Ok(FailOn::Never);
    }
    s.parse::<Severity>().map(FailOn::At)
}

#[derive(Debug, Clone, Copy, ValueEnum, PartialEq, Eq)]
pub enum Format {
    /// Findings grouped by severity, coverage per service, summary
    Table,
    /// The versioned JSON report (schema cloudscan.report/v2)
    Json,
    /// SARIF 2.1.0, for code-scanning dashboards
    Sarif,
    /// Markdown: summary, changes, findings, framework controls
    Markdown,
    /// One self-contained HTML file: summary, charts, trend, findings, frameworks
    Html,
}

/// Formats of the listing commands (access, rules, history).
#[derive(Debug, Clone, Copy, ValueEnum, PartialEq, Eq)]
pub enum ListFormat {
    /// Human-readable
    Table,
    /// JSON
    Json,
}

/// Where the history database is: `--store PATH`, or the default path for a bare `--store`.
fn store_path(store: &Path) -> Result<PathBuf, String> {
    if store.as_os_str().is_empty() {
        crate::history::default_path().ok_or_else(|| {
            "no data directory is known for this user (HOME unset?): give --store PATH".to_string()
        })
    } else {
        Ok(store.to_path_buf())
    }
}

#[derive(Args, Debug)]
pub struct StoreArgs {
    /// The history database (default: ~/.local/share/cloudscan/history.db on Linux)
    #[arg(long, value_name = "PATH", env = "CLOUDSCAN_STORE")]
    pub store: Option<PathBuf>,
}

impl StoreArgs {
    fn open(&self) -> Result<crate::history::Store, String> {
        let path = store_path(self.store.as_deref().unwrap_or(Path::new("")))?;
        if !path.exists() {
            return Err(format!(
                "no history database at `{}`: scan with --store first",
                path.display()
            ));
        }
        crate::history::Store::open(&path).map_err(|e| e.to_string())
    }
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
    #[arg(long, value_name = "SEVERITY", default_value = "never", value_parser = parse_fail_on)]
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
        Command::Aws(args) => run_aws(args),
        Command::Gcp(args) => run_gcp(args),
        Command::Azure(args) => run_azure(args),
        Command::Scan(args) => run_scan(args),
        Command::Access(args) => run_access(args),
        Command::Rules(args) => run_rules(args),
        Command::Iam(IamArgs {
            command: IamCommand::Simulate { batch },
        }) => run_simulate(&batch),
        Command::History(args) => run_history(args),
        Command::Diff(args) => run_diff(args),
        Command::Report(args) => run_report(args),
    };
    ExitCode::from(code)
}

fn fail(message: impl std::fmt::Display) -> u8 {
    eprintln!("error: {message}");
    exit::ERROR
}

fn runtime() -> Result<tokio::runtime::Runtime, u8> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| fail(format!("cannot start the async runtime: {e}")))
}

/// Runs one provider scan with a progress display, then the common ending (record note, saved
/// inventory, rules, report, exit code).
fn run_provider<E: std::fmt::Display>(
    out: &OutputArgs,
    collect: &CollectArgs,
    scan: impl FnOnce(
        &tokio::runtime::Runtime,
        crate::progress::Display,
    ) -> Result<(Inventory, Option<usize>), E>,
) -> u8 {
    // Bad configuration, an unknown framework or an unusable store fail before a long scan.
    let prepared = match Prepared::new(out) {
        Ok(p) => p,
        Err(e) => return fail(e),
    };
    let runtime = match runtime() {
        Ok(rt) => rt,
        Err(code) => return code,
    };
    let progress =
        crate::progress::Display::new(!out.no_progress && std::io::stderr().is_terminal());
    let started_at = SystemTime::now();
    let result = scan(&runtime, progress.clone());
    progress.finish();
    match result {
        Ok((inventory, recorded)) => conclude(
            &inventory,
            recorded,
            Scanned {
                replay: collect.replay.is_some(),
                record: collect.record.as_deref(),
                save_inventory: collect.save_inventory.as_deref(),
                started_at,
            },
            out,
            prepared,
        ),
        Err(e) => fail(e),
    }
}

fn run_aws(args: AwsArgs) -> u8 {
    let opts = cloudscan_aws::ScanOptions {
        profile: args.profile.clone(),
        regions: args.regions.clone(),
        replay: args.collect.replay.clone(),
        record: args.collect.record.clone(),
        concurrency: usize::from(args.collect.concurrency),
        max_attempts: args.collect.max_attempts,
    };
    run_provider(&args.output, &args.collect, |rt, progress| {
        let callback = Arc::new(move |e| progress.aws(e)) as cloudscan_aws::ProgressFn;
        rt.block_on(cloudscan_aws::scan(&opts, callback))
            .map(|o| (o.inventory, o.recorded))
    })
}

fn run_gcp(args: GcpArgs) -> u8 {
    let opts = cloudscan_gcp::ScanOptions {
        projects: args.projects.clone(),
        all_projects: args.all_projects,
        replay: args.collect.replay.clone(),
        record: args.collect.record.clone(),
        concurrency: usize::from(args.collect.concurrency),
        max_attempts: args.collect.max_attempts,
    };
    run_provider(&args.output, &args.collect, |rt, progress| {
        let callback = Arc::new(move |e| progress.gcp(e)) as cloudscan_gcp::ProgressFn;
        rt.block_on(cloudscan_gcp::scan(&opts, callback))
            .map(|o| (o.inventory, o.recorded))
    })
}

fn run_azure(args: AzureArgs) -> u8 {
    let opts = cloudscan_azure::ScanOptions {
        subscriptions: args.subscriptions.clone(),
        all_subscriptions: args.all_subscriptions,
        replay: args.collect.replay.clone(),
        record: args.collect.record.clone(),
        concurrency: usize::from(args.collect.concurrency),
        max_attempts: args.collect.max_attempts,
    };
    run_provider(&args.output, &args.collect, |rt, progress| {
        let callback = Arc::new(move |e| progress.azure(e)) as cloudscan_azure::ProgressFn;
        rt.block_on(cloudscan_azure::scan(&opts, callback))
            .map(|o| (o.inventory, o.recorded))
    })
}

/// How a provider scan ran, for the common ending.
struct Scanned<'a> {
    replay: bool,
    record: Option<&'a Path>,
    save_inventory: Option<&'a Path>,
    started_at: SystemTime,
}

fn conclude(
    inventory: &Inventory,
    recorded: Option<usize>,
    scanned: Scanned<'_>,
    out: &OutputArgs,
    prepared: Prepared,
) -> u8 {
    if let (Some(dir), Some(n)) = (scanned.record, recorded) {
        eprintln!("recorded {n} API exchange(s) into {}", dir.display());
    }
    if let Some(path) = scanned.save_inventory {
        let text = serde_json::to_string_pretty(inventory).unwrap_or_default();
        if let Err(e) = write_file(path, &(text + "\n")) {
            return fail(e);
        }
    }
    let mode = if scanned.replay {
        Mode::Replay
    } else {
        Mode::Live
    };
    finish(inventory, mode, scanned.started_at, out, prepared)
}

fn run_scan(args: ScanArgs) -> u8 {
    let started_at = SystemTime::now();
    let prepared = match Prepared::new(&args.output) {
        Ok(p) => p,
        Err(e) => return fail(e),
    };
    let inventory = match load_inventory(&args.inventory) {
        Ok(inv) => inv,
        Err(e) => return fail(e),
    };
    finish(
        &inventory,
        Mode::Inventory,
        started_at,
        &args.output,
        prepared,
    )
}

/// Reads a saved inventory, with an error that names the file, line and column.
pub fn load_inventory(path: &Path) -> Result<Inventory, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read inventory `{}`: {e}", path.display()))?;
    let inventory: Inventory = serde_json::from_str(&text).map_err(|e| {
        format!(
            "`{}` is not a cloudscan inventory: {e} (line {}, column {})",
            path.display(),
            e.line(),
            e.column()
        )
    })?;
    if !inventory
        .schema_version
        .starts_with("cloudscan.inventory/v1")
    {
        return Err(format!(
            "`{}` has schema_version `{}`; this cloudscan reads `{}`",
            path.display(),
            inventory.schema_version,
            cloudscan_inventory::INVENTORY_SCHEMA
        ));
    }
    Ok(inventory)
}

/// What a report needs besides the inventory, read and checked before scanning.
struct Prepared {
    framework: Option<&'static crate::frameworks::Framework>,
    config: crate::waivers::Config,
    store: Option<crate::history::Store>,
}

impl Prepared {
    fn new(out: &OutputArgs) -> Result<Prepared, String> {
        let framework = out
            .framework
            .as_deref()
            .map(crate::frameworks::find)
            .transpose()?;
        let config = load_config(out.config.as_deref())?;
        let store = match out.store.as_deref() {
            Some(store) => {
                Some(crate::history::Store::open(&store_path(store)?).map_err(|e| e.to_string())?)
            }
            None => None,
        };
        Ok(Prepared {
            framework,
            config,
            store,
        })
    }
}

fn finish(
    inventory: &Inventory,
    mode: Mode,
    started_at: SystemTime,
    out: &OutputArgs,
    prepared: Prepared,
) -> u8 {
    let Prepared {
        framework,
        config,
        mut store,
    } = prepared;
    let findings: Vec<Finding> = rules::evaluate(inventory);
    let mut doc = ReportDocument::new(inventory, &findings, mode, started_at, SystemTime::now());
    crate::waivers::apply(&mut doc, &config, crate::waivers::Day::today());
    doc.frameworks = crate::frameworks::assess(&doc, None);
    if let Some(store) = &mut store {
        let stored = store
            .diff_with_previous(&mut doc, None)
            .and_then(|()| store.trend(&doc, TREND_SCANS - 1))
            .and_then(|mut trend| {
                trend.push(trend_point(&doc));
                doc.trend = trend;
                store.save(&mut doc)
            });
        if let Err(e) = stored {
            return fail(e);
        }
    }
    for note in doc.waivers.expired.iter().chain(&doc.waivers.stale) {
        eprintln!("warning: {}", note.message);
    }
    if let Some(fw) = framework {
        crate::frameworks::restrict(&mut doc, fw);
    }
    if let Err(e) = emit(out.output.as_deref(), &render(&doc, out.format)) {
        return fail(e);
    }
    let failing = match out.fail_on {
        FailOn::Never => false,
        FailOn::At(threshold) => doc
            .open()
            .any(|f| severity_of(f) >= threshold && (!out.new_only || crate::history::is_new(f))),
    };
    if !doc.scan.complete && !out.allow_incomplete {
        eprintln!(
            "warning: scan incomplete: {} service/region(s) could not be read fully (see coverage); exit code {}",
            doc.summary.coverage_incomplete,
            exit::INCOMPLETE
        );
        return exit::INCOMPLETE;
    }
    if failing {
        exit::FINDINGS
    } else {
        exit::OK
    }
}

/// How many scans the trend chart shows.
const TREND_SCANS: usize = 30;

fn trend_point(doc: &ReportDocument) -> TrendPoint {
    let s = &doc.summary;
    TrendPoint {
        scan_id: 0,
        started_at: doc.scan.started_at.clone(),
        critical: s.critical,
        high: s.high,
        medium: s.medium,
        low: s.low,
        info: s.info,
        waived: s.waived,
    }
}

fn severity_of(f: &FindingEntry) -> Severity {
    f.severity
}

/// Reads `--config`, or `./cloudscan.toml` when it exists; no file means no waivers.
fn load_config(path: Option<&Path>) -> Result<crate::waivers::Config, String> {
    let default = Path::new(crate::waivers::DEFAULT_CONFIG);
    let path = match path {
        Some(p) => p,
        None if default.is_file() => default,
        None => return Ok(crate::waivers::Config::default()),
    };
    let known: Vec<&str> = rules::registry().iter().map(|r| r.meta().id).collect();
    crate::waivers::Config::load(path, &known).map_err(|e| e.to_string())
}

fn render(doc: &ReportDocument, format: Format) -> String {
    match format {
        Format::Table => report::table::render(doc),
        Format::Json => report::json::render(doc),
        Format::Sarif => report::sarif::render(doc),
        Format::Markdown => report::markdown::render(doc),
        Format::Html => report::html::render(doc),
    }
}

fn run_history(args: HistoryArgs) -> u8 {
    let store = match args.store.open() {
        Ok(s) => s,
        Err(e) => return fail(e),
    };
    let entries = match store.list(args.provider.as_deref(), args.scope.as_deref(), args.limit) {
        Ok(e) => e,
        Err(e) => return fail(e),
    };
    let text = match args.format {
        ListFormat::Json => serde_json::to_string_pretty(&entries).unwrap_or_default() + "\n",
        ListFormat::Table => {
            let mut s = format!(
                "{:>5}  {:<20}  {:<6}  {:<8}  {:<28}  {:>4} {:>4} {:>4} {:>4} {:>4}  {:>6}  {:>4}  {:>5}\n",
                "scan", "started", "cloud", "mode", "scopes", "crit", "high", "med", "low", "info", "waived", "new", "fixed"
            );
            for e in &entries {
                s.push_str(&format!(
                    "{:>5}  {:<20}  {:<6}  {:<8}  {:<28}  {:>4} {:>4} {:>4} {:>4} {:>4}  {:>6}  {:>4}  {:>5}{}\n",
                    e.id,
                    e.started_at,
                    e.provider,
                    e.mode,
                    e.scopes.join(","),
                    e.critical,
                    e.high,
                    e.medium,
                    e.low,
                    e.info,
                    e.waived,
                    e.new,
                    e.fixed,
                    if e.complete { "" } else { "  (incomplete)" }
                ));
            }
            if entries.is_empty() {
                s.push_str("no scans match\n");
            }
            s
        }
    };
    match emit(None, &text) {
        Ok(()) => exit::OK,
        Err(e) => fail(e),
    }
}

fn run_diff(args: DiffArgs) -> u8 {
    let store = match args.store.open() {
        Ok(s) => s,
        Err(e) => return fail(e),
    };
    let to = match args.to.map(Ok).unwrap_or_else(|| store.latest()) {
        Ok(id) => id,
        Err(e) => return fail(e),
    };
    let from = match args.from {
        Some(id) => id,
        None => match store.previous_of(to) {
            Ok(Some(id)) => id,
            Ok(None) => {
                return fail(format!(
                    "scan {to} is the first stored scan of its scopes: nothing to compare it with"
                ))
            }
            Err(e) => return fail(e),
        },
    };
    let doc = match store.diff_scans(from, to) {
        Ok(d) => d,
        Err(e) => return fail(e),
    };
    let text = match args.format {
        Format::Table => render_diff_table(&doc, from, to),
        Format::Json => {
            serde_json::to_string_pretty(&serde_json::json!({
                "schema_version": "cloudscan.diff/v1",
                "from": from,
                "to": to,
                "diff": doc.diff,
                "new": doc.open().filter(|f| crate::history::is_new(f)).collect::<Vec<_>>(),
            }))
            .unwrap_or_default()
                + "\n"
        }
        other => render(&doc, other),
    };
    if let Err(e) = emit(None, &text) {
        return fail(e);
    }
    let failing = match args.fail_on {
        FailOn::Never => false,
        FailOn::At(threshold) => doc
            .open()
            .any(|f| crate::history::is_new(f) && severity_of(f) >= threshold),
    };
    if failing {
        exit::FINDINGS
    } else {
        exit::OK
    }
}

fn render_diff_table(doc: &ReportDocument, from: i64, to: i64) -> String {
    let mut s = String::new();
    let Some(diff) = &doc.diff else {
        return s;
    };
    s.push_str(&format!(
        "scan {to} ({}) against scan {from}: {} new, {} fixed, {} still open",
        doc.scan.started_at,
        diff.new,
        diff.fixed.len(),
        diff.open
    ));
    if !diff.unverified.is_empty() {
        s.push_str(&format!(
            ", {} not re-assessed (scope not read completely)",
            diff.unverified.len()
        ));
    }
    s.push_str("\n\n");
    for f in doc.open().filter(|f| crate::history::is_new(f)) {
        s.push_str(&format!(
            "  new    {:<8} {:<34} {}\n",
            f.severity, f.rule_id, f.resource
        ));
    }
    for f in &diff.fixed {
        s.push_str(&format!(
            "  fixed  {:<8} {:<34} {}\n",
            f.severity, f.rule_id, f.resource
        ));
    }
    for f in &diff.unverified {
        s.push_str(&format!(
            "  ?      {:<8} {:<34} {} (not re-assessed)\n",
            f.severity, f.rule_id, f.resource
        ));
    }
    for f in doc.open().filter(|f| f.change == Some(Change::Open)) {
        s.push_str(&format!(
            "  open   {:<8} {:<34} {}\n",
            f.severity, f.rule_id, f.resource
        ));
    }
    s
}

fn run_report(args: ReportArgs) -> u8 {
    let framework = match args.framework.as_deref().map(crate::frameworks::find) {
        Some(Err(e)) => return fail(e),
        Some(Ok(fw)) => Some(fw),
        None => None,
    };
    let store = match args.store.open() {
        Ok(s) => s,
        Err(e) => return fail(e),
    };
    let id = match args.scan.map(Ok).unwrap_or_else(|| store.latest()) {
        Ok(id) => id,
        Err(e) => return fail(e),
    };
    let mut doc = match store.load(id) {
        Ok(d) => d,
        Err(e) => return fail(e),
    };
    if let Some(fw) = framework {
        crate::frameworks::restrict(&mut doc, fw);
    }
    match emit(args.output.as_deref(), &render(&doc, args.format)) {
        Ok(()) => exit::OK,
        Err(e) => fail(e),
    }
}

fn emit(path: Option<&Path>, text: &str) -> Result<(), String> {
    match path {
        Some(path) => write_file(path, text),
        None => {
            let mut stdout = std::io::stdout().lock();
            stdout
                .write_all(text.as_bytes())
                .and_then(|_| stdout.flush())
                .map_err(|e| format!("cannot write the report: {e}"))
        }
    }
}

fn write_file(path: &Path, text: &str) -> Result<(), String> {
    std::fs::write(path, text).map_err(|e| format!("cannot write `{}`: {e}", path.display()))
}

fn run_access(args: AccessArgs) -> u8 {
    let inventory = match load_inventory(&args.inventory) {
        Ok(inv) => inv,
        Err(e) => return fail(e),
    };
    let facts = match &args.identity {
        Some(id) => crate::access::AccessFacts::analyze(&inventory, |i| &i.id == id),
        None => crate::access::AccessFacts::analyze(&inventory, |_| true),
    };
    let text = if let Some(id) = &args.identity {
        let Some(f) = facts.identities.get(id) else {
            return fail(format!(
                "no identity `{id}` in `{}`",
                args.inventory.display()
            ));
        };
        match args.format {
            ListFormat::Table => report::access::render_identity(id, f),
            ListFormat::Json => {
                let holders: Vec<_> = [
                    "admin",
                    "secrets-read",
                    "object-read",
                    "object-write",
                    "iam-write",
                    "compute-write",
                    "privilege-escalation",
                ]
                .iter()
                .flat_map(|c| report::access::holders(&inventory, &facts, c))
                .collect();
                serde_json::to_string_pretty(&holders).unwrap_or_default() + "\n"
            }
        }
    } else {
        let capability = args.capability.as_deref().unwrap_or("admin");
        let holders = report::access::holders(&inventory, &facts, capability);
        match args.format {
            ListFormat::Table => report::access::render_holders(capability, &holders),
            ListFormat::Json => serde_json::to_string_pretty(&holders).unwrap_or_default() + "\n",
        }
    };
    match emit(None, &text) {
        Ok(()) => exit::OK,
        Err(e) => fail(e),
    }
}

fn run_rules(args: RulesArgs) -> u8 {
    let registry = rules::registry();
    let selected: Vec<_> = match &args.id {
        Some(id) => match rules::find(id) {
            Some(rule) => vec![rule],
            None => {
                let known: Vec<&str> = registry.iter().map(|r| r.meta().id).collect();
                return fail(format!("no rule `{id}`; known rules: {}", known.join(", ")));
            }
        },
        None => registry,
    };
    let text = match args.format {
        ListFormat::Json => {
            // The metadata, plus the controls each rule assesses (from policies/frameworks).
            let metas: Vec<serde_json::Value> = selected
                .iter()
                .map(|r| {
                    let m = r.meta();
                    let mut value = serde_json::to_value(m).unwrap_or_default();
                    if let Some(obj) = value.as_object_mut() {
                        let controls: Vec<serde_json::Value> = crate::frameworks::controls_of(m.id)
                            .into_iter()
                            .map(|(f, c)| {
                                serde_json::json!({
                                    "framework": f.id,
                                    "provider": f.provider,
                                    "control": c.id,
                                    "title": c.title,
                                    "id": f.compliance_id(c),
                                    "note": c.note,
                                })
                            })
                            .collect();
                        obj.insert(
                            "compliance".to_string(),
                            serde_json::json!(crate::frameworks::compliance_ids(m.id, None)),
                        );
                        obj.insert("controls".to_string(), serde_json::json!(controls));
                    }
                    value
                })
                .collect();
            serde_json::to_string_pretty(&metas).unwrap_or_default() + "\n"
        }
        ListFormat::Table if args.id.is_some() => {
            let mut s = String::new();
            for rule in &selected {
                let m = rule.meta();
                s.push_str(&format!(
                    "{} ({}, default severity {})\n{}\n\n{}\n\nRemediation: {}\n\nCompliance:\n",
                    m.id, m.layer, m.severity, m.title, m.description, m.remediation,
                ));
                let controls = crate::frameworks::controls_of(m.id);
                if controls.is_empty() {
                    s.push_str("  (no framework control)\n");
                }
                for (f, c) in controls {
                    s.push_str(&format!("  {}: {} {}\n", f.id, c.id, c.title));
                }
                s.push_str("References:\n");
                for r in m.references {
                    s.push_str(&format!("  {r}\n"));
                }
            }
            s
        }
        ListFormat::Table => {
            let mut s = String::new();
            for rule in &selected {
                let m = rule.meta();
                s.push_str(&format!("{:<30} {:<8} {}\n", m.id, m.severity, m.title));
            }
            s.push_str("\n`cloudscan rules ID` explains one rule.\n");
            s
        }
    };
    match emit(None, &text) {
        Ok(()) => exit::OK,
        Err(e) => fail(e),
    }
}

fn run_simulate(batch: &Path) -> u8 {
    let stdout = std::io::stdout();
    let result = if batch == Path::new("-") {
        cloudscan_access::simulate::run_batch(std::io::stdin().lock(), stdout.lock())
    } else {
        match std::fs::File::open(batch) {
            Ok(file) => {
                cloudscan_access::simulate::run_batch(std::io::BufReader::new(file), stdout.lock())
            }
            Err(e) => return fail(format!("cannot read `{}`: {e}", batch.display())),
        }
    };
    match result {
        Ok(stats) => {
            eprintln!(
                "{} case(s): {} allowed, {} implicitly denied, {} explicitly denied, {} invalid",
                stats.cases,
                stats.allowed,
                stats.implicitly_denied,
                stats.explicitly_denied,
                stats.errors
            );
            exit::OK
        }
        Err(e) => fail(format!("cannot run the batch: {e}")),
    }
}
