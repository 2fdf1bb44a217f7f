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

/// The same coverage gap in several scopes (an estate where every member denies
/// `s3:GetBucketPolicy`): what the human formats show as one row instead of one per scope. JSON
/// and SARIF keep every entry.
#[derive(Debug, Clone)]
pub struct GapGroup<'a> {
    pub service: &'a str,
    pub region: &'a str,
    pub status: CoverageStatus,
    /// The shared detail: the whole detail when every entry has the same one, else what they
    /// share ([`gap_reason`]: calls, failure kinds, codes, permissions).
    pub reason: String,
    /// The scopes, in the order their entries come, each once.
    pub scopes: Vec<&'a str>,
    /// The entries grouped, in document order.
    pub entries: Vec<&'a CoverageEntry>,
}

impl GapGroup<'_> {
    /// Whether the group stands for several scopes (else its entries are shown as they are).
    pub fn shared(&self) -> bool {
        self.scopes.len() > 1
    }

    /// `3 scopes: a, b, c` or `200 scopes: a, b, c and 197 more` (`first` named).
    pub fn scopes_text(&self, first: usize) -> String {
        let named: Vec<&str> = self.scopes.iter().take(first).copied().collect();
        let more = self.scopes.len().saturating_sub(named.len());
        let mut text = format!("{} scopes: {}", self.scopes.len(), named.join(", "));
        if more > 0 {
            text.push_str(&format!(" and {more} more"));
        }
        text
    }
}

/// How many scopes a grouped row names in the table and Markdown formats (HTML names all).
pub const GROUP_SCOPES_NAMED: usize = 3;

/// The failure words a collector error carries after its call (`FailureKind::describe`).
fn failure_kinds() -> [&'static str; 10] {
    use cloudscan_collect::error::FailureKind as K;
    [
        K::AccessDenied,
        K::Unsupported,
        K::Throttled,
        K::NotFound,
        K::Malformed,
        K::Credentials,
        K::Server,
        K::Network,
        K::NotRecorded,
        K::Other,
    ]
    .map(K::describe)
}

/// What a coverage detail says apart from the scope's own resources: each `; `-separated error
/// `CALL (TARGET): KIND (CODE): needs PERMISSION: MESSAGE` becomes `CALL: KIND (CODE): needs
/// PERMISSION` (the target and the cloud's message name the scope's resources and principals);
/// any other part (`and 3 more`, a note) stays as it is.
pub fn gap_reason(detail: &str) -> String {
    detail
        .split("; ")
        .map(|part| reason_of_part(part).unwrap_or_else(|| part.to_string()))
        .collect::<Vec<_>>()
        .join("; ")
}

fn reason_of_part(part: &str) -> Option<String> {
    let mut kinds = failure_kinds();
    // `error` is a prefix of nothing else, but check the longer words first anyway.
    kinds.sort_by_key(|k| std::cmp::Reverse(k.len()));
    for (at, _) in part.match_indices(": ") {
        let head = part.get(..at)?;
        let rest = part.get(at + 2..)?;
        let Some(kind) = kinds.iter().find(|k| {
            rest.strip_prefix(**k)
                .is_some_and(|after| after.is_empty() || after.starts_with([' ', ':']))
        }) else {
            continue;
        };
        let call = strip_target(head);
        let mut out = format!("{call}: {kind}");
        let mut tail = rest.get(kind.len()..).unwrap_or("");
        if let Some(code) = tail.strip_prefix(" (") {
            if let Some(end) = code.find(')') {
                out.push_str(&format!(" ({})", code.get(..end).unwrap_or("")));
                tail = code.get(end + 1..).unwrap_or("");
            }
        }
        if let Some(permission) = tail.strip_prefix(": needs ") {
            let end = permission.find(": ").unwrap_or(permission.len());
            out.push_str(&format!(": needs {}", permission.get(..end).unwrap_or("")));
        }
        return Some(out);
    }
    None
}

/// `iam GetRole (arn:...)` → `iam GetRole`: the parenthesized target at the end, if any.
fn strip_target(head: &str) -> &str {
    if !head.ends_with(')') {
        return head;
    }
    let mut depth = 0usize;
    for (i, c) in head.char_indices().rev() {
        match c {
            ')' => depth += 1,
            '(' => {
                depth = depth.saturating_sub(1);
                if depth == 0 {
                    return head.get(..i).map(str::trim_end).unwrap_or(head);
                }
            }
            _ => {}
        }
    }
    head
}

/// The incomplete coverage entries grouped by service, region, status and [`gap_reason`], in the
/// order their first entries come. A group of one scope holds that scope's entries unchanged, so
/// a report of one scope renders as it always did.
pub fn gap_groups(coverage: &[CoverageEntry]) -> Vec<GapGroup<'_>> {
    grouped(coverage).0
}

/// The groups, and for each incomplete entry (in document order) the entry and its group.
#[allow(clippy::type_complexity)]
fn grouped(coverage: &[CoverageEntry]) -> (Vec<GapGroup<'_>>, Vec<(&CoverageEntry, usize)>) {
    let mut groups: Vec<GapGroup<'_>> = Vec::new();
    let mut members = Vec::new();
    let mut index: BTreeMap<(&str, &str, u8, String), usize> = BTreeMap::new();
    for c in coverage
        .iter()
        .filter(|c| c.status != CoverageStatus::Complete)
    {
        let reason = c.detail.as_deref().map(gap_reason).unwrap_or_default();
        let key = (
            c.service.as_str(),
            c.region.as_str(),
            c.status.severity(),
            reason.clone(),
        );
        let at = *index.entry(key).or_insert_with(|| {
            groups.push(GapGroup {
                service: &c.service,
                region: &c.region,
                status: c.status,
                reason,
                scopes: Vec::new(),
                entries: Vec::new(),
            });
            groups.len() - 1
        });
        if let Some(g) = groups.get_mut(at) {
            if !g.scopes.contains(&c.scope.as_str()) {
                g.scopes.push(&c.scope);
            }
            g.entries.push(c);
        }
        members.push((c, at));
    }
    for g in &mut groups {
        // Every entry says the same: show it whole.
        if let Some(first) = g.entries.first().and_then(|c| c.detail.as_deref()) {
            if g.entries.iter().all(|c| c.detail.as_deref() == Some(first)) {
                g.reason = first.to_string();
            }
        }
    }
    (groups, members)
}

/// One row of a coverage-gap listing: an entry as it is, or the group of a gap several scopes
/// share.
#[derive(Debug, Clone)]
pub enum GapRow<'a> {
    Entry(&'a CoverageEntry),
    Shared(GapGroup<'a>),
}

/// The incomplete entries in document order, those of a gap shared by several scopes replaced by
/// one row where the first of them was. Without a shared gap (always, in a report of one scope)
/// this is every incomplete entry as it is, in the same order.
pub fn gap_rows(coverage: &[CoverageEntry]) -> Vec<GapRow<'_>> {
    let (groups, members) = grouped(coverage);
    let mut groups: Vec<Option<GapGroup<'_>>> = groups.into_iter().map(Some).collect();
    let mut rows = Vec::new();
    for (c, at) in members {
        let Some(slot) = groups.get_mut(at) else {
            continue;
        };
        match slot {
            Some(g) if g.shared() => {
                if let Some(g) = slot.take() {
                    rows.push(GapRow::Shared(g));
                }
            }
            // A later entry of a shared group already shown.
            None => {}
            Some(_) => rows.push(GapRow::Entry(c)),
        }
    }
    rows
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

    /// The rows of the coverage-gap listings of the human formats: in a report of several
    /// scopes, a gap they share is one row ([`gap_rows`]); in a report of one scope, every
    /// incomplete entry as it is (entries of its ancestors, such as a GCP folder, included).
    pub fn gap_rows(&self) -> Vec<GapRow<'_>> {
        if self.scopes.len() > 1 {
            gap_rows(&self.coverage)
        } else {
            self.coverage
                .iter()
                .filter(|c| c.status != CoverageStatus::Complete)
                .map(GapRow::Entry)
                .collect()
        }
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

/// Reports for the tests of the formats: an estate whose accounts share coverage gaps.
#[cfg(test)]
pub(crate) mod test_docs {
    use super::*;
    use cloudscan_inventory::{Coverage, Scope};

    /// The denial of `s3:GetBucketPolicy` in account `id`: its bucket and principal in the text.
    pub fn bucket_policy_denied(id: &str) -> String {
        format!(
            "s3 GetBucketPolicy (arn:aws:s3:::logs-{id}): access denied (AccessDenied): needs \
             s3:GetBucketPolicy: User: arn:aws:sts::{id}:assumed-role/cloudscan/scan is not \
             authorized to perform: s3:GetBucketPolicy"
        )
    }

    /// `n` AWS accounts (`100000000000` + i), each with a complete `eks` entry and the same
    /// `s3` denial in us-east-1 (with its own bucket in the detail); the first also throttled on
    /// `kms`, the second denied `s3` in eu-west-1 and failed (not partial) on `kms`.
    pub fn estate(n: usize) -> ReportDocument {
        let mut inventory = Inventory::new(Provider::Aws);
        let entry =
            |scope: &str, service: &str, region: &str, status, detail: Option<String>| Coverage {
                scope: scope.to_string(),
                service: service.to_string(),
                region: region.to_string(),
                status,
                detail,
            };
        for i in 0..n {
            let id = format!("{}", 100_000_000_000u64 + i as u64);
            inventory.scopes.push(Scope {
                id: id.clone(),
                name: None,
                partition: Some("aws".to_string()),
            });
            inventory.coverage.push(entry(
                &id,
                "eks",
                "us-east-1",
                CoverageStatus::Complete,
                None,
            ));
            inventory.coverage.push(entry(
                &id,
                "s3",
                "us-east-1",
                CoverageStatus::Partial,
                Some(bucket_policy_denied(&id)),
            ));
            if i == 0 {
                inventory.coverage.push(entry(
                    &id,
                    "kms",
                    "us-east-1",
                    CoverageStatus::Partial,
                    Some(format!(
                        "kms GetKeyPolicy (arn:aws:kms:us-east-1:{id}:key/k): throttled \
                         (retries exhausted) (ThrottlingException): Rate exceeded"
                    )),
                ));
            }
            if i == 1 {
                inventory.coverage.push(entry(
                    &id,
                    "s3",
                    "eu-west-1",
                    CoverageStatus::Partial,
                    Some(bucket_policy_denied(&id)),
                ));
                inventory.coverage.push(entry(
                    &id,
                    "kms",
                    "us-east-1",
                    CoverageStatus::Failed,
                    Some(format!(
                        "kms ListKeys (us-east-1): access denied (AccessDeniedException): needs \
                         kms:ListKeys: User: arn:aws:sts::{id}:assumed-role/cloudscan/scan"
                    )),
                ));
            }
        }
        let now = std::time::SystemTime::now();
        ReportDocument::new(&inventory, &[], super::super::Mode::Replay, now, now)
    }
}

#[cfg(test)]
mod tests {
    use super::test_docs::{bucket_policy_denied, estate};
    use super::*;

    #[test]
    fn a_gap_reason_keeps_the_call_kind_code_and_permission_and_drops_targets_and_messages() {
        assert_eq!(
            gap_reason(&bucket_policy_denied("111111111111")),
            "s3 GetBucketPolicy: access denied (AccessDenied): needs s3:GetBucketPolicy"
        );
        assert_eq!(
            gap_reason(&bucket_policy_denied("111111111111")),
            gap_reason(&bucket_policy_denied("222222222222"))
        );
        // Several errors, a note, nested parentheses in the target, a kind with parentheses.
        assert_eq!(
            gap_reason(
                "containerservice managedClusters.list (/subscriptions/s (x)): throttled (retries \
                 exhausted) (HTTP 429 TooManyRequests): Too many requests; iam GetRole (r): \
                 malformed response: no Arn; and 2 more"
            ),
            "containerservice managedClusters.list: throttled (retries exhausted) (HTTP 429 \
             TooManyRequests); iam GetRole: malformed response; and 2 more"
        );
        // Text that is not a collector error stays as it is.
        assert_eq!(
            gap_reason("not scanned: cannot assume the member role"),
            "not scanned: cannot assume the member role"
        );
        // A kind word inside another word is not a kind.
        assert_eq!(gap_reason("x: errors everywhere"), "x: errors everywhere");
    }

    #[test]
    fn the_same_gap_in_many_scopes_is_one_group_and_distinct_gaps_stay_apart() {
        let doc = estate(200);
        let groups = gap_groups(&doc.coverage);
        let shared: Vec<&GapGroup<'_>> = groups.iter().filter(|g| g.shared()).collect();
        assert_eq!(shared.len(), 1, "{groups:#?}");
        let s3 = shared[0];
        assert_eq!((s3.service, s3.region), ("s3", "us-east-1"));
        assert_eq!(s3.status, CoverageStatus::Partial);
        assert_eq!(s3.scopes.len(), 200);
        assert_eq!(s3.entries.len(), 200);
        assert_eq!(
            s3.reason,
            "s3 GetBucketPolicy: access denied (AccessDenied): needs s3:GetBucketPolicy"
        );
        assert_eq!(
            s3.scopes_text(3),
            "200 scopes: 100000000000, 100000000001, 100000000002 and 197 more"
        );
        // Another region, another status and another call are groups of their own.
        let single: Vec<(&str, &str, &str)> = groups
            .iter()
            .filter(|g| !g.shared())
            .map(|g| (g.service, g.region, g.status.as_str()))
            .collect();
        assert_eq!(
            single,
            [
                ("kms", "us-east-1", "partial"),
                ("s3", "eu-west-1", "partial"),
                ("kms", "us-east-1", "failed")
            ]
        );
        // Rows: the shared gap once, where its first entry was; the rest as they are.
        let rows = gap_rows(&doc.coverage);
        assert_eq!(rows.len(), 4);
        assert!(matches!(&rows[0], GapRow::Shared(g) if g.scopes.len() == 200));
        assert!(rows[1..].iter().all(|r| matches!(r, GapRow::Entry(_))));
    }

    #[test]
    fn identical_details_are_shown_whole_and_one_scope_is_never_grouped() {
        let mut doc = estate(3);
        for c in &mut doc.coverage {
            if c.service == "s3" {
                c.detail = Some("s3 ListBuckets: access denied (AccessDenied)".to_string());
            }
        }
        let groups = gap_groups(&doc.coverage);
        let s3 = groups.iter().find(|g| g.shared()).expect("a shared gap");
        assert_eq!(s3.reason, "s3 ListBuckets: access denied (AccessDenied)");
        assert_eq!(
            s3.scopes_text(3),
            "3 scopes: 100000000000, 100000000001, 100000000002"
        );

        // One scope: every incomplete entry is its own row, in order, even two alike.
        let one = estate(1);
        let mut coverage = one.coverage.clone();
        coverage.extend(one.coverage.iter().filter(|c| c.service == "s3").cloned());
        let rows = gap_rows(&coverage);
        let expected: Vec<&CoverageEntry> = coverage
            .iter()
            .filter(|c| c.status != CoverageStatus::Complete)
            .collect();
        assert_eq!(rows.len(), expected.len());
        for (row, c) in rows.iter().zip(expected) {
            assert!(matches!(row, GapRow::Entry(e) if std::ptr::eq(*e, c)));
        }
    }

    #[test]
    fn a_report_of_one_scope_groups_nothing_even_entries_of_its_ancestors() {
        // One project whose folder has the same gap under its own name.
        let mut doc = estate(1);
        assert_eq!(doc.scopes.len(), 1);
        let mut folder = doc
            .coverage
            .iter()
            .find(|c| c.service == "s3")
            .cloned()
            .expect("s3 gap");
        folder.scope = "folders/1".to_string();
        doc.coverage.push(folder);
        let incomplete: Vec<&CoverageEntry> = doc
            .coverage
            .iter()
            .filter(|c| c.status != CoverageStatus::Complete)
            .collect();
        let rows = doc.gap_rows();
        assert_eq!(rows.len(), incomplete.len());
        for (row, c) in rows.iter().zip(incomplete) {
            assert!(matches!(row, GapRow::Entry(e) if std::ptr::eq(*e, c)));
        }
        // The same entries in a report of two scopes are one row.
        let mut two = estate(2);
        two.coverage
            .retain(|c| c.service == "s3" && c.region == "us-east-1");
        assert!(matches!(two.gap_rows().as_slice(), [GapRow::Shared(g)] if g.scopes.len() == 2));
    }
}
