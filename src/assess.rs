//! The assessment pipeline: the one path every scan takes, whatever the cloud and wherever the
//! inventory comes from (`cloudscan aws|gcp|azure`, live or replayed, or `cloudscan scan
//! --inventory`).
//!
//! ```text
//! Source ──> Inventory ──> rules ──> ReportDocument ──> waivers ──> frameworks ──> history
//!   (collect or load)                                              (diff, trend, save)
//!        ──> framework narrowing ──> render (report::Format) ──> exit code
//! ```
//!
//! Everything the report needs besides the inventory (waiver configuration, framework, history
//! store) is read and checked by [`Prepared::new`] before a scan starts, so a bad flag fails in a
//! second instead of after a long scan. Errors are messages for the user; [`run`] prints them and
//! returns [`exit::ERROR`].

use crate::finding::Severity;
use crate::frameworks::Framework;
use crate::history::Store;
use crate::progress;
use crate::report::model::{ReportDocument, TrendPoint};
use crate::report::{self, Format, Mode};
use crate::waivers::{Config, Day};
use cloudscan_inventory::Inventory;
use std::io::Write;
use std::path::{Path, PathBuf};
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

/// How many scans the trend chart shows.
const TREND_SCANS: usize = 30;

/// The `--fail-on` threshold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailOn {
    Never,
    At(Severity),
}

impl FailOn {
    /// `never` (or `none`), or a severity name; any case.
    pub fn parse(s: &str) -> Result<FailOn, String> {
        if s.eq_ignore_ascii_case("never") || s.eq_ignore_ascii_case("none") {
            return Ok(FailOn::Never);
        }
        s.parse::<Severity>().map(FailOn::At)
    }

    /// Whether a finding of this severity fails the run.
    pub fn fails(self, severity: Severity) -> bool {
        match self {
            FailOn::Never => false,
            FailOn::At(threshold) => severity >= threshold,
        }
    }
}

/// What the report of a scan should be: the output flags, free of any argument parser.
#[derive(Debug, Clone)]
pub struct Options {
    pub format: Format,
    /// Write the report here instead of standard output.
    pub output: Option<PathBuf>,
    pub gate: Gate,
    /// The history database (`--store`); an empty path means the default location.
    pub store: Option<PathBuf>,
    /// The waiver configuration (`--config`); `None`: `./cloudscan.toml` when it exists.
    pub config: Option<PathBuf>,
    /// Narrow the report to this framework's controls and findings.
    pub framework: Option<String>,
    /// After storing the scan, keep only the newest N scans of each scope set (`--keep`).
    pub keep: Option<usize>,
    /// Accept waivers that match every resource of their rule or expire more than a year ahead.
    pub allow_broad_waivers: bool,
}

/// What turns a finished report into an exit code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Gate {
    pub fail_on: FailOn,
    /// Only findings new since the previous stored scan fail the run.
    pub new_only: bool,
    /// An incomplete scan does not become exit code 3.
    pub allow_incomplete: bool,
}

/// Where the inventory of a scan comes from.
pub enum Source<'a> {
    /// Inventories written by `--save-inventory`, or folders of them (`cloudscan scan
    /// --inventory FILE|DIR ...`): several are merged into one (the shards of one scan).
    Saved(&'a [PathBuf]),
    /// A provider scan, live or replayed.
    Collect(Collector<'a>),
}

/// A provider scan, as the pipeline runs it: inside an async runtime, with a progress display.
pub struct Collector<'a> {
    /// Replaying fixtures rather than calling the cloud.
    pub replay: bool,
    /// Where the scan records its API exchanges (for the closing note).
    pub record: Option<&'a Path>,
    /// Write the normalized inventory here.
    pub save_inventory: Option<&'a Path>,
    /// Show progress on standard error (only when it is a terminal).
    pub progress: bool,
    pub scan: ScanFn<'a>,
}

/// Collects and normalizes one cloud: the adapter call, with its options already mapped.
pub type ScanFn<'a> =
    Box<dyn FnOnce(&tokio::runtime::Runtime, progress::Display) -> Result<Collected, String> + 'a>;

/// What a provider scan returns.
pub struct Collected {
    pub inventory: Inventory,
    /// How many API exchanges were recorded (`--record`).
    pub recorded: Option<usize>,
}

/// Runs a scan end to end and returns the process exit code; errors are printed.
pub fn run(source: Source<'_>, options: &Options) -> u8 {
    match scan_and_report(source, options) {
        Ok(code) => code,
        Err(message) => fail(message),
    }
}

/// Prints an error and returns [`exit::ERROR`].
pub fn fail(message: impl std::fmt::Display) -> u8 {
    eprintln!("error: {message}");
    exit::ERROR
}

fn scan_and_report(source: Source<'_>, options: &Options) -> Result<u8, String> {
    let (inventory, mode, started_at, prepared) = match source {
        Source::Saved(paths) => {
            let started_at = SystemTime::now();
            let prepared = Prepared::new(options)?;
            (
                load_inventories(paths)?,
                Mode::Inventory,
                started_at,
                prepared,
            )
        }
        Source::Collect(collector) => {
            // Bad configuration or an unknown framework fail before a scan (an unusable store
            // fails after it: see `Prepared::new`).
            let prepared = Prepared::new(options)?;
            let mode = if collector.replay {
                Mode::Replay
            } else {
                Mode::Live
            };
            let (inventory, started_at) = collect(collector)?;
            (inventory, mode, started_at, prepared)
        }
    };
    prepared.finish(&inventory, mode, started_at)
}

/// Runs a provider scan with a progress display, then the closing note of `--record` and the
/// `--save-inventory` file. Returns the inventory and when the scan started.
fn collect(collector: Collector<'_>) -> Result<(Inventory, SystemTime), String> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the async runtime: {e}"))?;
    let progress = progress::Display::new(
        collector.progress && std::io::IsTerminal::is_terminal(&std::io::stderr()),
    );
    let started_at = SystemTime::now();
    let result = (collector.scan)(&runtime, progress.clone());
    progress.finish();
    let Collected {
        mut inventory,
        recorded,
    } = result?;
    // Accounts collected apart hold their own copies of the same managed and trust policies.
    inventory.share_identical_documents();
    if let (Some(dir), Some(n)) = (collector.record, recorded) {
        eprintln!("recorded {n} API exchange(s) into {}", dir.display());
    }
    if let Some(path) = collector.save_inventory {
        // Managed policy documents once each, referenced by ARN and version; written as it is
        // serialized, without a copy of the inventory or of its text.
        inventory.with_policy_documents_shared(|saved| save_inventory(path, saved))?;
    }
    Ok((inventory, started_at))
}

/// Writes an inventory as pretty-printed JSON with a final newline, streamed to the file.
fn save_inventory(path: &Path, inventory: &Inventory) -> Result<(), String> {
    cloudscan_collect::files::write_atomic_with(path, |file| {
        let mut out = std::io::BufWriter::with_capacity(1 << 16, file);
        serde_json::to_writer_pretty(&mut out, inventory)?;
        out.write_all(b"\n")?;
        out.flush()
    })
    .map_err(|e| e.to_string())
}

/// Reads saved inventories (files, or folders whose `*.json` files are all inventories) and
/// merges them into one: the shards of one scan (`--shard I/N`) become the estate again.
pub fn load_inventories(paths: &[PathBuf]) -> Result<Inventory, String> {
    let mut files = Vec::new();
    for path in paths {
        if path.is_dir() {
            let entries = std::fs::read_dir(path)
                .map_err(|e| format!("cannot read folder `{}`: {e}", path.display()))?;
            let mut found: Vec<PathBuf> = entries
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.is_file() && p.extension().is_some_and(|x| x == "json"))
                .collect();
            if found.is_empty() {
                return Err(format!(
                    "folder `{}` holds no inventory (*.json)",
                    path.display()
                ));
            }
            found.sort();
            files.extend(found);
        } else {
            files.push(path.clone());
        }
    }
    files.dedup();
    if let [one] = files.as_slice() {
        return load_inventory(one);
    }
    let mut loaded = Vec::with_capacity(files.len());
    for f in &files {
        let inventory = read_inventory(f)?;
        // A shard that drew no scope (more shards than scopes) saved an empty inventory: it
        // adds nothing, and is not an unknown gap.
        let empty = inventory.scopes.is_empty()
            && inventory.coverage.is_empty()
            && inventory.clusters.is_empty()
            && inventory.identities.is_empty();
        if !empty {
            let mut inventory = inventory;
            mark_unknown_coverage(&mut inventory, f);
            loaded.push((f.display().to_string(), inventory));
        }
    }
    if loaded.is_empty() {
        return Err(format!(
            "none of the {} inventories holds a scope (account, project or subscription)",
            files.len()
        ));
    }
    let mut merged = cloudscan_inventory::merge(loaded)
        .map_err(|e| format!("cannot merge the inventories: {e}"))?;
    // Shards hold their own copies of the same managed and trust policies.
    merged.share_identical_documents();
    Ok(merged)
}

/// Reads a saved inventory, with an error that names the file, line and column.
pub fn load_inventory(path: &Path) -> Result<Inventory, String> {
    let mut inventory = read_inventory(path)?;
    mark_unknown_coverage(&mut inventory, path);
    Ok(inventory)
}

/// [`load_inventory`] without marking an inventory that holds no coverage data.
fn read_inventory(path: &Path) -> Result<Inventory, String> {
    let file = std::fs::File::open(path)
        .map_err(|e| format!("cannot read inventory `{}`: {e}", path.display()))?;
    // Parsed as it is read: the text of a large inventory is never held whole.
    let reader = std::io::BufReader::with_capacity(1 << 16, file);
    let inventory: Inventory = serde_json::from_reader(reader).map_err(|e| {
        if e.is_io() {
            format!("cannot read inventory `{}`: {e}", path.display())
        } else {
            format!(
                "`{}` is not a cloudscan inventory: {e} (line {}, column {})",
                path.display(),
                e.line(),
                e.column()
            )
        }
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
    let mut inventory = inventory;
    inventory.resolve_shared_policies();
    inventory.share_identical_documents();
    Ok(inventory)
}

/// An inventory that says nothing about what was read (no coverage entry: hand-written, or cut
/// down) cannot vouch for the absence of anything: it is reported as incomplete, never as a
/// complete scan.
fn mark_unknown_coverage(inventory: &mut Inventory, path: &Path) {
    if inventory.coverage.is_empty() {
        let scope = inventory
            .scopes
            .first()
            .map(|s| s.id.clone())
            .unwrap_or_else(|| "*".to_string());
        inventory.coverage.push(cloudscan_inventory::Coverage {
            scope,
            service: "inventory".to_string(),
            region: "global".to_string(),
            status: cloudscan_inventory::CoverageStatus::Partial,
            detail: Some(format!(
                "`{}` holds no coverage data: which APIs were read completely is unknown, so no \
                 absence of a finding is proven",
                path.display()
            )),
        });
    }
}

/// Runs the rules on an inventory: the report document before waivers, frameworks and history.
pub fn evaluate(inventory: &Inventory, mode: Mode, started_at: SystemTime) -> ReportDocument {
    let findings = crate::rules::evaluate(inventory);
    let mut doc = ReportDocument::new(inventory, &findings, mode, started_at, SystemTime::now());
    append_access_coverage(&mut doc, inventory);
    doc
}

// --- Access-engine coverage (issue 11) -------------------------------------------------------

/// Appends the coverage gaps the access engine knows of (policy documents it cannot read)
/// to the report: an unknown document makes the scan incomplete rather than a silent pass.
fn append_access_coverage(doc: &mut ReportDocument, inventory: &Inventory) {
    let gaps = cloudscan_access::bridge::unreadable_policy_coverage(inventory);
    for c in gaps {
        if c.status != cloudscan_inventory::CoverageStatus::Complete {
            doc.summary.coverage_incomplete += 1;
            doc.scan.complete = false;
        } else {
            doc.summary.coverage_complete += 1;
        }
        doc.coverage.push(crate::report::model::CoverageEntry {
            scope: c.scope,
            service: c.service,
            region: c.region,
            status: c.status,
            detail: c.detail,
        });
    }
}

#[cfg(test)]
mod access_coverage_tests {
    use super::*;
    use cloudscan_inventory::{CoverageStatus, Identity, PolicyDoc, Provider, UsedBy};

    fn inventory(document: serde_json::Value) -> Inventory {
        let mut inv = Inventory::new(Provider::Aws);
        inv.identities.push(Identity {
            id: "arn:aws:iam::111122223333:role/node".to_string(),
            scope: "111122223333".to_string(),
            used_by: vec![UsedBy::NodePool {
                cluster: "c".to_string(),
                pool: "p".to_string(),
            }],
            policies: vec![PolicyDoc {
                kind: "inline".to_string(),
                name: "extra".to_string(),
                document: Some(document.into()),
                ..Default::default()
            }],
            ..Default::default()
        });
        inv
    }

    fn gate() -> Gate {
        Gate {
            fail_on: FailOn::Never,
            new_only: false,
            allow_incomplete: false,
        }
    }

    #[test]
    fn a_policy_the_parser_rejects_makes_the_scan_incomplete() {
        let bad = serde_json::json!({"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*", "Bogus": 1}]});
        let doc = evaluate(&inventory(bad), Mode::Inventory, SystemTime::now());
        assert!(!doc.scan.complete);
        assert_eq!(doc.summary.coverage_incomplete, 1);
        let gap = doc
            .coverage
            .iter()
            .find(|c| c.status == CoverageStatus::Partial && c.service == "iam");
        let detail = gap.and_then(|c| c.detail.clone()).unwrap_or_default();
        assert!(detail.contains("inline extra"), "{detail}");
        assert!(detail.contains("could not be parsed"), "{detail}");
        assert_eq!(exit_code(&doc, gate()), exit::INCOMPLETE);
    }

    #[test]
    fn a_policy_the_parser_accepts_leaves_the_scan_complete() {
        let good = serde_json::json!({"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}]});
        let doc = evaluate(&inventory(good), Mode::Inventory, SystemTime::now());
        assert!(doc.scan.complete);
        assert_eq!(doc.summary.coverage_incomplete, 0);
        assert_eq!(exit_code(&doc, gate()), exit::OK);
    }
}

// --- The Cluster side (issue 14) -------------------------------------------------------------

/// Wraps a provider scan so that, once the cloud inventory is collected, the scanned clusters'
/// own Kubernetes API is read and joined to it (`cloudscan_kube::collect`: facts in
/// `Inventory::kubernetes`, one coverage entry per context). Without a Kubernetes source the
/// scan is returned as it is, so a scan without Kubernetes flags is exactly the cloud scan.
pub fn with_kubernetes<'a>(scan: ScanFn<'a>, kube: cloudscan_kube::KubeOptions) -> ScanFn<'a> {
    if !kube.is_active() {
        return scan;
    }
    Box::new(move |rt, progress| {
        let mut collected = scan(rt, progress.clone())?;
        let callback =
            std::sync::Arc::new(move |e| progress.event(e)) as cloudscan_collect::scan::ProgressFn;
        let recorded = rt
            .block_on(cloudscan_kube::collect(
                &kube,
                &mut collected.inventory,
                &callback,
            ))
            .map_err(|e| e.to_string())?;
        if let Some(n) = recorded {
            collected.recorded = Some(collected.recorded.unwrap_or(0) + n);
        }
        Ok(collected)
    })
}

// ----------------------------------------------------------------------------------------------

/// What a report needs besides the inventory, read and checked before scanning.
pub struct Prepared {
    options: Options,
    framework: Option<&'static Framework>,
    config: Config,
    store: Option<Store>,
    /// Why the history database (`--store`) could not be opened: the scan still runs and its
    /// report is written, then this error ends the run with [`exit::ERROR`].
    store_error: Option<String>,
}

impl Prepared {
    /// Resolves the framework, reads the waiver configuration and opens the history store.
    pub fn new(options: &Options) -> Result<Prepared, String> {
        let framework = options
            .framework
            .as_deref()
            .map(crate::frameworks::find)
            .transpose()?;
        let config = load_config(options.config.as_deref(), options.allow_broad_waivers)?;
        // A history database that cannot be opened (a directory in its place, a damaged file,
        // no permission) does not stop the scan: it is announced now and is the run's error
        // after the report is written.
        let (store, store_error) = match options.store.as_deref().map(|store| {
            crate::history::resolve(store)
                .and_then(|path| Store::open(&path).map_err(|e| e.to_string()))
        }) {
            Some(Ok(store)) => (Some(store), None),
            Some(Err(e)) => {
                eprintln!("warning: {e}: the scan goes on, but it will not be stored in the history (exit code {})", exit::ERROR);
                (None, Some(e))
            }
            None => (None, None),
        };
        Ok(Prepared {
            options: options.clone(),
            framework,
            config,
            store,
            store_error,
        })
    }

    /// Rules, document, waivers, frameworks, history, narrowing, render; the exit code.
    pub fn finish(
        mut self,
        inventory: &Inventory,
        mode: Mode,
        started_at: SystemTime,
    ) -> Result<u8, String> {
        let mut doc = evaluate(inventory, mode, started_at);
        crate::waivers::apply(&mut doc, &self.config, Day::today());
        doc.frameworks = crate::frameworks::assess(&doc, None);
        // The report is written whatever happens to the history: a database error (a full
        // volume, a locked or damaged file) is reported after it, with exit code 2.
        let history_error = self.store_error.take().or_else(|| {
            self.store
                .as_mut()
                .and_then(|store| record_history(store, &mut doc, self.options.keep).err())
        });
        for note in doc.waivers.expired.iter().chain(&doc.waivers.stale) {
            eprintln!("warning: {}", note.message);
        }
        if let Some(fw) = self.framework {
            crate::frameworks::restrict(&mut doc, fw);
        }
        emit(
            self.options.output.as_deref(),
            &report::render(&doc, self.options.format),
        )?;
        if let Some(e) = history_error {
            return Err(format!(
                "{e} (the report was written; this scan is not in the history)"
            ));
        }
        let code = exit_code(&doc, self.options.gate);
        if code == exit::INCOMPLETE {
            eprintln!(
                "warning: scan incomplete: {} service/region(s) could not be read fully (see coverage); exit code {}",
                doc.summary.coverage_incomplete,
                exit::INCOMPLETE
            );
        }
        Ok(code)
    }
}

/// Reads `--config`, or `./cloudscan.toml` when it exists; no file means no waivers. Broad
/// waivers (every resource of a rule, or an expiry more than a year ahead) are refused unless
/// `allow_broad`. In CI (the `CI` variable set), an implicit `./cloudscan.toml` is announced on
/// standard error: a pull request can add one.
fn load_config(path: Option<&Path>, allow_broad: bool) -> Result<Config, String> {
    let default = Path::new(crate::waivers::DEFAULT_CONFIG);
    let implicit = path.is_none();
    let path = match path {
        Some(p) => p,
        None if default.is_file() => default,
        None => return Ok(Config::default()),
    };
    let known: Vec<&str> = crate::rules::registry()
        .iter()
        .map(|r| r.meta().id)
        .collect();
    let config = Config::load(path, &known).map_err(|e| e.to_string())?;
    if implicit && crate::waivers::in_ci(|name| std::env::var_os(name)) {
        eprintln!(
            "note: CI is set: loaded {} waiver(s) from ./{} in the working directory (not named with --config)",
            config.waivers.len(),
            crate::waivers::DEFAULT_CONFIG
        );
    }
    if !allow_broad {
        config
            .check_guards(Day::today())
            .map_err(|e| e.to_string())?;
    }
    Ok(config)
}

/// Marks findings new or open against the previous scan of each scope, adds the trend (ending
/// with this scan) and stores the scan (which gives the document its id).
/// With `keep`, older scans beyond the newest `keep` of each scope set are pruned after.
fn record_history(
    store: &mut Store,
    doc: &mut ReportDocument,
    keep: Option<usize>,
) -> Result<(), String> {
    store
        .diff_with_previous(doc, None)
        .and_then(|()| store.trend(doc, TREND_SCANS - 1))
        .and_then(|mut trend| {
            trend.push(trend_point(doc));
            doc.trend = trend;
            store.save(doc)
        })
        .map_err(|e| e.to_string())?;
    if let Some(keep) = keep {
        let pruned = store
            .prune(crate::history::Retention {
                keep: Some(keep),
                older_than: None,
            })
            .map_err(|e| format!("pruning the history (--keep {keep}): {e}"))?;
        if pruned.scans > 0 {
            eprintln!(
                "history: pruned {} older scan(s) (--keep {keep}); {} -> {} bytes",
                pruned.scans, pruned.bytes_before, pruned.bytes_after
            );
        }
    }
    Ok(())
}

/// This scan as a trend point (its id is filled in when it is stored).
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

/// The exit code of a finished report: [`exit::INCOMPLETE`] for an incomplete scan (unless
/// allowed), else [`exit::FINDINGS`] when an open finding (a new one, with `new_only`) reaches
/// `fail_on`, else [`exit::OK`].
pub fn exit_code(doc: &ReportDocument, gate: Gate) -> u8 {
    if !doc.scan.complete && !gate.allow_incomplete {
        return exit::INCOMPLETE;
    }
    let failing = doc
        .open()
        .any(|f| gate.fail_on.fails(f.severity) && (!gate.new_only || crate::history::is_new(f)));
    if failing {
        exit::FINDINGS
    } else {
        exit::OK
    }
}

/// Writes a report to `path`, or to standard output.
pub fn emit(path: Option<&Path>, text: &str) -> Result<(), String> {
    match path {
        Some(path) => write_file(path, text),
        None => {
            let mut stdout = std::io::stdout().lock();
            stdout
                .write_all(text.as_bytes())
                .and_then(|_| stdout.flush())
                .map_err(|e| {
                    if cloudscan_collect::files::is_no_space(&e) {
                        "no space left on device writing standard output".to_string()
                    } else {
                        format!("cannot write the report to standard output: {e}")
                    }
                })
        }
    }
}

/// Writes a report or an inventory: atomically, mode 0600, never through a symlink
/// (`cloudscan_collect::files`).
pub fn write_file(path: &Path, text: &str) -> Result<(), String> {
    cloudscan_collect::files::write_atomic(path, text.as_bytes()).map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::model::{Change, FindingEntry, FindingStatus};
    use cloudscan_inventory::{Coverage, CoverageStatus, Provider};

    fn doc(
        complete: bool,
        findings: &[(Severity, FindingStatus, Option<Change>)],
    ) -> ReportDocument {
        let mut inventory = Inventory::new(Provider::Gcp);
        inventory.coverage.push(Coverage {
            scope: "p".to_string(),
            service: "container".to_string(),
            region: "global".to_string(),
            status: if complete {
                CoverageStatus::Complete
            } else {
                CoverageStatus::Failed
            },
            detail: None,
        });
        let now = SystemTime::now();
        let mut doc = ReportDocument::new(&inventory, &[], Mode::Inventory, now, now);
        for (i, (severity, status, change)) in findings.iter().enumerate() {
            let finding = crate::finding::Finding {
                rule_id: "api-endpoint-public".to_string(),
                title: String::new(),
                severity: *severity,
                resource: format!("r{i}"),
                scope: "p".to_string(),
                region: None,
                cluster: None,
                node_pool: None,
                message: String::new(),
                evidence: Vec::new(),
                remediation: String::new(),
                compliance: Vec::new(),
                fingerprint: format!("f{i}"),
            };
            let mut entry = FindingEntry::from(&finding);
            entry.status = *status;
            entry.change = *change;
            doc.findings.push(entry);
        }
        doc.recount();
        doc
    }

    fn gate(fail_on: &str, new_only: bool, allow_incomplete: bool) -> Gate {
        Gate {
            fail_on: FailOn::parse(fail_on).unwrap(),
            new_only,
            allow_incomplete,
        }
    }

    #[test]
    fn fail_on_parses_never_and_severities() {
        assert_eq!(FailOn::parse("NONE"), Ok(FailOn::Never));
        assert_eq!(FailOn::parse("never"), Ok(FailOn::Never));
        assert_eq!(FailOn::parse("High"), Ok(FailOn::At(Severity::High)));
        assert!(FailOn::parse("severe").is_err());
        assert!(FailOn::At(Severity::High).fails(Severity::Critical));
        assert!(!FailOn::At(Severity::High).fails(Severity::Medium));
        assert!(!FailOn::Never.fails(Severity::Critical));
    }

    #[test]
    fn open_findings_at_the_threshold_fail_waived_ones_do_not() {
        let open = doc(true, &[(Severity::High, FindingStatus::Open, None)]);
        assert_eq!(exit_code(&open, gate("high", false, false)), exit::FINDINGS);
        assert_eq!(exit_code(&open, gate("critical", false, false)), exit::OK);
        assert_eq!(exit_code(&open, gate("never", false, false)), exit::OK);
        let waived = doc(true, &[(Severity::Critical, FindingStatus::Waived, None)]);
        assert_eq!(exit_code(&waived, gate("info", false, false)), exit::OK);
    }

    #[test]
    fn new_only_looks_at_new_findings() {
        let old = doc(
            true,
            &[(Severity::Critical, FindingStatus::Open, Some(Change::Open))],
        );
        assert_eq!(exit_code(&old, gate("high", true, false)), exit::OK);
        assert_eq!(exit_code(&old, gate("high", false, false)), exit::FINDINGS);
        let new = doc(
            true,
            &[(Severity::Critical, FindingStatus::Open, Some(Change::New))],
        );
        assert_eq!(exit_code(&new, gate("high", true, false)), exit::FINDINGS);
    }

    #[test]
    fn an_incomplete_scan_wins_unless_allowed() {
        let d = doc(false, &[(Severity::Critical, FindingStatus::Open, None)]);
        assert_eq!(exit_code(&d, gate("high", false, false)), exit::INCOMPLETE);
        assert_eq!(exit_code(&d, gate("never", false, false)), exit::INCOMPLETE);
        assert_eq!(exit_code(&d, gate("high", false, true)), exit::FINDINGS);
        assert_eq!(exit_code(&d, gate("never", false, true)), exit::OK);
    }
}
