//! The report model: the document every output format renders and the history store keeps.
//!
//! Its structs are the public JSON format (`schema_version`, written by [`super::json`]),
//! decoupled from the internal types: a change here is a change of the format. They are owned
//! and deserializable so a stored scan can be rendered again in any format
//! (`cloudscan report --scan ID --format html`). Closed sets (severity, provider, mode, coverage
//! status) are enums that serialize to the same lowercase words the format has always used.
//!
//! v2 (over v1): findings carry `status` (open or waived), `waiver` and `change` (new or open
//! since the previous scan); severity counts in `summary` count open findings only; new
//! top-level `waivers`, `diff`, `frameworks`, `trend` and `scan.clusters`, `scan.id`.
//!
//! Later additions within v2 are additive and default when absent (documents stored before them
//! still load): `frameworks[].waived`, and `scopes` (per scope of the estate: open findings by
//! severity, waived findings and coverage state, worst first).

use super::Mode;
use crate::finding::{Evidence, Finding, Severity};
use cloudscan_inventory::{CoverageStatus, Inventory, Provider};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::time::SystemTime;

pub const REPORT_SCHEMA: &str = "cloudscan.report/v2";

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ReportDocument {
    pub schema_version: String,
    pub tool: Tool,
    pub scan: ScanMeta,
    pub summary: Summary,
    pub coverage: Vec<CoverageEntry>,
    pub findings: Vec<FindingEntry>,
    /// Waivers that no longer apply (expired) or match nothing (stale).
    #[serde(default)]
    pub waivers: WaiverNotes,
    /// Changes since the previous stored scan of each scope; absent when no history was used.
    #[serde(default)]
    pub diff: Option<DiffDoc>,
    /// Framework controls (CIS benchmarks, 4C Cloud layer) and their status in this scan.
    #[serde(default)]
    pub frameworks: Vec<FrameworkDoc>,
    /// Open findings per severity across the stored scans of these scopes, oldest first
    /// (including this scan); empty when no history was used.
    #[serde(default)]
    pub trend: Vec<TrendPoint>,
    /// Per scope (account, project, subscription): open findings per severity, waived
    /// findings and whether it was read completely; worst first. Absent from documents stored
    /// before it existed (they get it when they are recounted).
    #[serde(default)]
    pub scopes: Vec<ScopeSummary>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Tool {
    pub name: String,
    pub version: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ScanMeta {
    /// The id of this scan in the history store, when it was stored.
    #[serde(default)]
    pub id: Option<i64>,
    /// aws, gcp or azure.
    pub provider: Provider,
    /// live, replay or inventory.
    pub mode: Mode,
    pub scopes: Vec<ScopeEntry>,
    pub caller: Option<String>,
    pub regions: Vec<String>,
    #[serde(default)]
    pub clusters: Vec<ClusterEntry>,
    /// RFC 3339, UTC, seconds.
    pub started_at: String,
    pub finished_at: String,
    pub duration_ms: u64,
    /// True when every collector read everything it tried.
    pub complete: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ScopeEntry {
    pub id: String,
    pub name: Option<String>,
    pub partition: Option<String>,
}

/// How completely a scope was read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ScopeCoverage {
    /// Nothing was read: the scope could not be entered (a member role that cannot be
    /// assumed, a suspended account); `reason` says why.
    NotScanned,
    /// Some calls failed or are unsupported: an absence of findings proves nothing.
    Incomplete,
    Complete,
}

impl ScopeCoverage {
    pub fn as_str(self) -> &'static str {
        match self {
            ScopeCoverage::NotScanned => "not scanned",
            ScopeCoverage::Incomplete => "incomplete",
            ScopeCoverage::Complete => "complete",
        }
    }
}

/// One scope of the report: what the summary of an estate shows per account, project or
/// subscription.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ScopeSummary {
    pub id: String,
    pub name: Option<String>,
    /// Where the scope sits in its organization, root first (`Root/Workloads/Restricted`), when
    /// the inventory has it.
    #[serde(default)]
    pub path: Option<String>,
    /// Open (not waived) findings per severity.
    pub critical: usize,
    pub high: usize,
    pub medium: usize,
    pub low: usize,
    pub info: usize,
    pub waived: usize,
    pub coverage: ScopeCoverage,
    /// Coverage entries of the scope that are not complete (failed, partial or unsupported
    /// calls), scope-wide ones included.
    pub incomplete_calls: usize,
    /// Why the scope was not scanned (`coverage` is `not_scanned`).
    #[serde(default)]
    pub reason: Option<String>,
}

impl ScopeSummary {
    /// The coverage state (`complete`, `incomplete`, `not scanned`) and what it rests on.
    pub fn coverage_parts(&self) -> (&'static str, Option<String>) {
        match self.coverage {
            ScopeCoverage::Complete => ("complete", None),
            ScopeCoverage::Incomplete => (
                "incomplete",
                Some(format!("{} call(s) not read fully", self.incomplete_calls)),
            ),
            ScopeCoverage::NotScanned => (
                "not scanned",
                Some(
                    self.reason
                        .clone()
                        .unwrap_or_else(|| "no reason recorded".to_string()),
                ),
            ),
        }
    }

    /// `incomplete: 3 call(s) not read fully`, `not scanned: REASON` or `complete`.
    pub fn coverage_text(&self) -> String {
        match self.coverage_parts() {
            (state, Some(detail)) => format!("{state}: {detail}"),
            (state, None) => state.to_string(),
        }
    }

    /// `ID (name, Root/OU)`, or as much of it as is known.
    pub fn label(&self) -> String {
        let extra: Vec<&str> = [self.name.as_deref(), self.path.as_deref()]
            .into_iter()
            .flatten()
            .collect();
        if extra.is_empty() {
            self.id.clone()
        } else {
            format!("{} ({})", self.id, extra.join(", "))
        }
    }
}

impl ScopeSummary {
    /// Open findings of every severity.
    pub fn open(&self) -> usize {
        self.critical + self.high + self.medium + self.low + self.info
    }

    /// No open or waived finding, and read completely: nothing to say about it.
    pub fn clean(&self) -> bool {
        self.open() == 0 && self.waived == 0 && self.coverage == ScopeCoverage::Complete
    }

    /// Sort key, worst first: more findings of a higher severity, then worse coverage, then id.
    fn rank(&self) -> impl Ord + '_ {
        (
            std::cmp::Reverse((self.critical, self.high, self.medium, self.low, self.info)),
            self.coverage,
            std::cmp::Reverse(self.incomplete_calls),
            &self.id,
        )
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ClusterEntry {
    pub name: String,
    /// ARN / full resource name / Azure id.
    pub id: String,
    pub scope: String,
    pub region: String,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Summary {
    /// Every finding, open and waived.
    pub findings: usize,
    /// Open (not waived) findings per severity.
    pub critical: usize,
    pub high: usize,
    pub medium: usize,
    pub low: usize,
    pub info: usize,
    #[serde(default)]
    pub waived: usize,
    /// Waivers in force for this scan: of its cloud and not expired (matching or not).
    #[serde(default)]
    pub waivers: usize,
    /// New since the previous scan (only with history).
    #[serde(default)]
    pub new: usize,
    /// Fixed since the previous scan (only with history).
    #[serde(default)]
    pub fixed: usize,
    pub coverage_complete: usize,
    pub coverage_incomplete: usize,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CoverageEntry {
    pub scope: String,
    pub service: String,
    pub region: String,
    /// complete, partial, unsupported or failed.
    pub status: CoverageStatus,
    pub detail: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum FindingStatus {
    #[default]
    Open,
    Waived,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Change {
    /// Not in the previous scan of this scope.
    New,
    /// Also in the previous scan of this scope.
    Open,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct FindingEntry {
    pub rule_id: String,
    pub title: String,
    /// critical, high, medium, low or info.
    pub severity: Severity,
    pub resource: String,
    pub scope: String,
    pub region: Option<String>,
    pub cluster: Option<String>,
    pub node_pool: Option<String>,
    pub message: String,
    pub evidence: Vec<Evidence>,
    pub remediation: String,
    pub compliance: Vec<String>,
    pub fingerprint: String,
    #[serde(default)]
    pub status: FindingStatus,
    #[serde(default)]
    pub waiver: Option<WaiverRef>,
    /// Only with history: new or still open since the previous scan of the scope.
    #[serde(default)]
    pub change: Option<Change>,
}

/// The waiver that applies to a finding.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WaiverRef {
    pub rule: String,
    pub resource: String,
    pub reason: String,
    pub owner: String,
    /// YYYY-MM-DD; the waiver applies through this day (UTC).
    pub expires: String,
    /// Where the waiver is written: `cloudscan.toml:12`.
    pub location: String,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct WaiverNotes {
    /// Waivers past their expiry date that would otherwise match findings (those findings are open).
    pub expired: Vec<WaiverNote>,
    /// Waivers (not expired) that match no finding of this scan.
    pub stale: Vec<WaiverNote>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct WaiverNote {
    pub waiver: WaiverRef,
    /// How many findings the waiver matches (0 for stale).
    pub matches: usize,
    pub message: String,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct DiffDoc {
    /// The scan each scope was compared with (none: first scan of the scope).
    pub baselines: Vec<Baseline>,
    pub new: usize,
    pub open: usize,
    /// In the baseline, not in this scan, and this scan read the scope completely.
    pub fixed: Vec<GoneFinding>,
    /// In the baseline, not in this scan, but this scan could not read the scope completely:
    /// not counted as fixed.
    pub unverified: Vec<GoneFinding>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Baseline {
    pub scope: String,
    pub scan_id: Option<i64>,
    pub started_at: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct GoneFinding {
    pub fingerprint: String,
    pub rule_id: String,
    pub title: String,
    pub severity: Severity,
    pub resource: String,
    pub scope: String,
    pub cluster: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct FrameworkDoc {
    /// e.g. `cis-eks-1.8`, `4c-cloud`.
    pub id: String,
    pub title: String,
    pub passed: usize,
    pub failed: usize,
    /// Controls whose only findings are waived (an accepted risk, not a pass). Absent from
    /// documents stored before it existed.
    #[serde(default)]
    pub waived: usize,
    pub not_assessed: usize,
    pub controls: Vec<ControlDoc>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ControlStatus {
    Passed,
    Failed,
    /// Every finding of the control is waived: the weakness is there, as an accepted risk.
    Waived,
    NotAssessed,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ControlDoc {
    /// e.g. `5.4.1`.
    pub id: String,
    pub title: String,
    pub status: ControlStatus,
    /// Why: the failing findings' count, what passed, or why it could not be assessed.
    pub reason: String,
    /// The rules that assess the control.
    pub rules: Vec<String>,
    /// Fingerprints of the open findings that fail it.
    pub findings: Vec<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TrendPoint {
    pub scan_id: i64,
    pub started_at: String,
    pub critical: usize,
    pub high: usize,
    pub medium: usize,
    pub low: usize,
    pub info: usize,
    pub waived: usize,
}

pub fn rfc3339(t: std::time::SystemTime) -> String {
    humantime::format_rfc3339_seconds(t).to_string()
}

impl ReportDocument {
    /// The document of a finished scan: its inventory and the rules' findings, without waivers,
    /// diff, frameworks or trend (the pipeline in [`crate::assess`] adds those).
    pub fn new(
        inventory: &Inventory,
        findings: &[Finding],
        mode: Mode,
        started_at: SystemTime,
        finished_at: SystemTime,
    ) -> ReportDocument {
        let inv = inventory;
        let incomplete = inv
            .coverage
            .iter()
            .filter(|c| c.status != CoverageStatus::Complete)
            .count();
        let mut doc = ReportDocument {
            schema_version: REPORT_SCHEMA.to_string(),
            tool: Tool {
                name: "cloudscan".to_string(),
                version: env!("CARGO_PKG_VERSION").to_string(),
            },
            scan: ScanMeta {
                id: None,
                provider: inv.provider,
                mode,
                scopes: inv
                    .scopes
                    .iter()
                    .map(|s| ScopeEntry {
                        id: s.id.clone(),
                        name: s.name.clone(),
                        partition: s.partition.clone(),
                    })
                    .collect(),
                caller: inv.caller.clone(),
                regions: inv.regions.clone(),
                clusters: inv
                    .clusters
                    .iter()
                    .map(|c| ClusterEntry {
                        name: c.name.clone(),
                        id: c.id.clone(),
                        scope: c.scope.clone(),
                        region: c.region.clone(),
                    })
                    .collect(),
                started_at: rfc3339(started_at),
                finished_at: rfc3339(finished_at),
                duration_ms: finished_at
                    .duration_since(started_at)
                    .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
                    .unwrap_or(0),
                complete: incomplete == 0,
            },
            summary: Summary::default(),
            coverage: inv
                .coverage
                .iter()
                .map(|c| CoverageEntry {
                    scope: c.scope.clone(),
                    service: c.service.clone(),
                    region: c.region.clone(),
                    status: c.status,
                    detail: c.detail.clone(),
                })
                .collect(),
            findings: findings.iter().map(FindingEntry::from).collect(),
            waivers: WaiverNotes::default(),
            diff: None,
            frameworks: Vec::new(),
            trend: Vec::new(),
            scopes: scope_entries(inv),
        };
        doc.summary.coverage_complete = inv.coverage.len() - incomplete;
        doc.summary.coverage_incomplete = incomplete;
        doc.recount();
        doc
    }

    /// Recomputes the finding counts of `summary` from `findings` and `diff`.
    pub fn recount(&mut self) {
        let s = &mut self.summary;
        s.findings = self.findings.len();
        s.critical = 0;
        s.high = 0;
        s.medium = 0;
        s.low = 0;
        s.info = 0;
        s.waived = 0;
        s.new = 0;
        for f in &self.findings {
            if f.status == FindingStatus::Waived {
                s.waived += 1;
                continue;
            }
            if f.change == Some(Change::New) {
                s.new += 1;
            }
            match f.severity {
                Severity::Critical => s.critical += 1,
                Severity::High => s.high += 1,
                Severity::Medium => s.medium += 1,
                Severity::Low => s.low += 1,
                Severity::Info => s.info += 1,
            }
        }
        s.fixed = self.diff.as_ref().map(|d| d.fixed.len()).unwrap_or(0);
        self.recount_scopes();
    }

    /// Recomputes `scopes`: every scope of the scan, of a coverage entry or of a finding gets
    /// an entry (names, paths and not-scanned reasons already known are kept), with its counts
    /// and coverage state; sorted worst first.
    fn recount_scopes(&mut self) {
        let mut by_id: BTreeMap<String, ScopeSummary> = std::mem::take(&mut self.scopes)
            .into_iter()
            .map(|s| (s.id.clone(), s))
            .collect();
        let names = self
            .scan
            .scopes
            .iter()
            .map(|s| (s.id.as_str(), s.name.as_ref()));
        for (id, name) in names {
            let entry = by_id
                .entry(id.to_string())
                .or_insert_with(|| ScopeSummary::empty(id));
            if entry.name.is_none() {
                entry.name = name.cloned();
            }
        }
        let ids = self
            .coverage
            .iter()
            .map(|c| c.scope.as_str())
            .chain(self.findings.iter().map(|f| f.scope.as_str()));
        for id in ids.filter(|id| !id.is_empty()) {
            by_id
                .entry(id.to_string())
                .or_insert_with(|| ScopeSummary::empty(id));
        }
        // Scope-wide coverage (no scope) concerns every scope: it is counted in each.
        let everywhere = self
            .coverage
            .iter()
            .filter(|c| c.scope.is_empty() && c.status != CoverageStatus::Complete)
            .count();
        for entry in by_id.values_mut() {
            entry.critical = 0;
            entry.high = 0;
            entry.medium = 0;
            entry.low = 0;
            entry.info = 0;
            entry.waived = 0;
            entry.incomplete_calls = everywhere;
        }
        for c in &self.coverage {
            if c.status == CoverageStatus::Complete {
                continue;
            }
            if let Some(entry) = by_id.get_mut(&c.scope) {
                entry.incomplete_calls += 1;
            }
        }
        for f in &self.findings {
            let Some(entry) = by_id.get_mut(&f.scope) else {
                continue;
            };
            if f.status == FindingStatus::Waived {
                entry.waived += 1;
                continue;
            }
            match f.severity {
                Severity::Critical => entry.critical += 1,
                Severity::High => entry.high += 1,
                Severity::Medium => entry.medium += 1,
                Severity::Low => entry.low += 1,
                Severity::Info => entry.info += 1,
            }
        }
        for entry in by_id.values_mut() {
            entry.coverage = if entry.reason.is_some() {
                ScopeCoverage::NotScanned
            } else if entry.incomplete_calls > 0 {
                ScopeCoverage::Incomplete
            } else {
                ScopeCoverage::Complete
            };
        }
        let mut scopes: Vec<ScopeSummary> = by_id.into_values().collect();
        scopes.sort_by(|a, b| a.rank().cmp(&b.rank()));
        self.scopes = scopes;
    }

    /// The open (not waived) findings.
    pub fn open(&self) -> impl Iterator<Item = &FindingEntry> {
        self.findings
            .iter()
            .filter(|f| f.status == FindingStatus::Open)
    }

    /// Parses a stored or saved report document, checking its schema version.
    pub fn from_json(text: &str) -> Result<ReportDocument, String> {
        let doc: ReportDocument = serde_json::from_str(text).map_err(|e| {
            format!(
                "not a cloudscan report: {e} (line {}, column {})",
                e.line(),
                e.column()
            )
        })?;
        if doc.schema_version != REPORT_SCHEMA {
            return Err(format!(
                "report schema `{}` is not `{REPORT_SCHEMA}`",
                doc.schema_version
            ));
        }
        let mut doc = doc;
        if doc.scopes.is_empty() {
            // Stored before the per-scope summary existed: derived from the scan, coverage and
            // findings (without organization paths or not-scanned reasons).
            doc.recount_scopes();
        }
        Ok(doc)
    }
}

impl ScopeSummary {
    fn empty(id: &str) -> ScopeSummary {
        ScopeSummary {
            id: id.to_string(),
            name: None,
            path: None,
            critical: 0,
            high: 0,
            medium: 0,
            low: 0,
            info: 0,
            waived: 0,
            coverage: ScopeCoverage::Complete,
            incomplete_calls: 0,
            reason: None,
        }
    }
}

/// The scopes an inventory knows, before counting: the scanned ones with their names, and the
/// members of its organization, with their OU path and, when they were not scanned, why.
fn scope_entries(inv: &Inventory) -> Vec<ScopeSummary> {
    let mut entries: Vec<ScopeSummary> = inv
        .scopes
        .iter()
        .map(|s| ScopeSummary {
            name: s.name.clone(),
            ..ScopeSummary::empty(&s.id)
        })
        .collect();
    let Some(org) = &inv.organization else {
        return entries;
    };
    for account in &org.accounts {
        // The levels above the account: the root and each OU.
        let path: Vec<&str> = account
            .path
            .iter()
            .filter(|n| n.kind != "account")
            .map(|n| n.name.as_deref().unwrap_or(n.id.as_str()))
            .collect();
        let path = (!path.is_empty()).then(|| path.join("/"));
        let reason = if account.scanned {
            None
        } else {
            Some(
                account
                    .not_scanned_reason
                    .clone()
                    .unwrap_or_else(|| "not scanned (no reason recorded)".to_string()),
            )
        };
        match entries.iter_mut().find(|e| e.id == account.id) {
            Some(entry) => {
                entry.path = path;
                if entry.name.is_none() {
                    entry.name = account.name.clone();
                }
                entry.reason = reason;
            }
            None => entries.push(ScopeSummary {
                name: account.name.clone(),
                path,
                reason,
                ..ScopeSummary::empty(&account.id)
            }),
        }
    }
    entries
}

impl From<&Finding> for FindingEntry {
    /// An open finding, as the rules reported it.
    fn from(f: &Finding) -> FindingEntry {
        FindingEntry {
            rule_id: f.rule_id.clone(),
            title: f.title.clone(),
            severity: f.severity,
            resource: f.resource.clone(),
            scope: f.scope.clone(),
            region: f.region.clone(),
            cluster: f.cluster.clone(),
            node_pool: f.node_pool.clone(),
            message: f.message.clone(),
            evidence: f.evidence.clone(),
            remediation: f.remediation.clone(),
            compliance: f.compliance.clone(),
            fingerprint: f.fingerprint.clone(),
            status: FindingStatus::Open,
            waiver: None,
            change: None,
        }
    }
}
